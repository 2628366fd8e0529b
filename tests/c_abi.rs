//! The C ABI: the checked-in header is what cbindgen generates now, and a small C program
//! compiled against it and the cdylib runs and gets the expected answers.

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn header_is_up_to_date() {
    let header = manifest_dir().join("native/include/consul_connect.h");
    let config = cbindgen::Config::from_file(manifest_dir().join("cbindgen.toml")).unwrap();
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(manifest_dir())
        .with_config(config)
        .generate()
        .expect("cbindgen")
        .write(&mut generated);
    let generated = String::from_utf8(generated).unwrap();
    if std::env::var_os("UPDATE_HEADER").is_some() {
        std::fs::create_dir_all(header.parent().unwrap()).unwrap();
        std::fs::write(&header, &generated).unwrap();
    }
    let current = std::fs::read_to_string(&header).unwrap_or_default();
    assert!(
        current == generated,
        "{} is stale: run `UPDATE_HEADER=1 cargo test --test c_abi` and commit it",
        header.display()
    );
    assert!(generated.contains("ccn_parse_service_spiffe_id"));
    assert!(
        !generated.contains("Java_"),
        "JNI exports must not leak into the C header"
    );
}

/// Directory holding the cdylib built for this test run (target/<profile>).
fn cdylib_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

#[test]
fn c_program_uses_the_library() {
    let lib_dir = cdylib_dir();
    if !lib_dir.join("libconsul_connect.so").exists() {
        // `cargo test` builds the library as an rlib for the tests; the cdylib appears
        // only with a plain build of the lib target.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--lib", "--quiet"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build --lib");
        assert!(status.success(), "cargo build --lib failed");
    }
    assert!(
        lib_dir.join("libconsul_connect.so").exists(),
        "cdylib not found in {}",
        lib_dir.display()
    );
    let out_dir = tempfile::tempdir().unwrap();
    let exe = out_dir.path().join("smoke");
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .arg("-std=c99")
        .arg("-Wall")
        .arg("-Werror")
        .arg(manifest_dir().join("tests/c/smoke.c"))
        .arg("-I")
        .arg(manifest_dir().join("native/include"))
        .arg("-L")
        .arg(&lib_dir)
        .arg("-lconsul_connect")
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "C compile failed");
    let out = Command::new(&exe).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "smoke failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("version={}", env!("CARGO_PKG_VERSION"))),
        "{stdout}"
    );
    assert!(stdout.contains("service=web"), "{stdout}");
    assert!(
        stdout.contains("bad=1") && stdout.contains("names a Consul agent"),
        "{stdout}"
    );
    assert!(stdout.contains("small=2"), "{stdout}");
    assert!(stdout.contains("null=1"), "{stdout}");
}
