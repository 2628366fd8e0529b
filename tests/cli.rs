//! The `consul-connect` command-line tool against a real Consul agent: `fetch` writes the
//! files once, `watch` follows a CA rotation until SIGTERM, errors have distinct exit codes.

mod common;

use common::consul::Consul;
use common::wait::{eventually, poll};
use consul_connect::x509;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_consul-connect");

fn tool() -> Command {
    let mut cmd = Command::new(BIN);
    // The tests must not pick up a developer's own Consul settings.
    for var in [
        "CONSUL_HTTP_ADDR",
        "CONSUL_HTTP_TOKEN",
        "CONSUL_HTTP_TOKEN_FILE",
        "CONSUL_CACERT",
        "CONSUL_HTTP_SSL",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// `consul-connect <command> --service trino --address <address> <extra…> --dir <dir>`.
fn for_trino(command: &str, address: &str, extra: &[&str], dir: &Path) -> Command {
    let mut cmd = tool();
    cmd.args([command, "--service", "trino", "--address", address])
        .args(extra)
        .arg("--dir")
        .arg(dir);
    cmd
}

fn leaf_serial(dir: &Path) -> Option<String> {
    let text = std::fs::read(dir.join("consul-connect.pem")).ok()?;
    let chain = x509::certs_from_pem(&text, "chain").ok()?;
    Some(x509::leaf_info(&chain[0]).ok()?.serial)
}

#[test]
fn help_and_usage_errors() {
    let out = tool().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fetch") && text.contains("watch") && text.contains("Exit codes"),
        "{text}"
    );
    let out = tool().args(["fetch", "--help"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--dir"));

    // Missing --dir, unknown option: usage errors, exit 2.
    assert_eq!(tool().arg("fetch").output().unwrap().status.code(), Some(2));
    assert_eq!(
        tool()
            .args(["fetch", "--dir", "/tmp", "--bogus"])
            .output()
            .unwrap()
            .status
            .code(),
        Some(2)
    );
    // Unknown property: configuration error naming the key, exit 2.
    let dir = tempfile::tempdir().unwrap();
    let out = tool()
        .args(["fetch", "--dir"])
        .arg(dir.path())
        .args(["-D", "consul.servce=trino"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("consul.servce"));
}

#[test]
fn fetch_writes_the_files_once() {
    let consul = Consul::start();
    let dir = tempfile::tempdir().unwrap();
    let props = dir.path().join("certificate-authenticator.properties");
    // The same file Trino reads, including Trino's own key, is accepted as --config.
    std::fs::write(&props, format!("certificate-authenticator.name=consul-connect\nconsul.address={}\nconsul.service=trino\n", consul.http_addr())).unwrap();
    let pem = dir.path().join("tls");
    let out = tool()
        .args(["fetch", "--config"])
        .arg(&props)
        .arg("--dir")
        .arg(&pem)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("/svc/trino"), "{stdout}");
    for name in ["consul-connect.pem", "consul-connect-roots.pem"] {
        let mode = std::fs::metadata(pem.join(name))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{name}");
    }
    let serial = leaf_serial(&pem).expect("a parsable key+chain file");
    assert!(stdout.contains(&serial), "{stdout}");
}

#[test]
fn fetch_failures_have_distinct_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 1: no identity in time, exit 3, and the message names the agent.
    let out = for_trino(
        "fetch",
        "http://127.0.0.1:1",
        &["--timeout", "1s"],
        dir.path(),
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("http://127.0.0.1:1"), "{err}");

    // The directory is not a directory: configuration error, exit 2.
    let consul = Consul::start();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    let out = for_trino("fetch", &consul.http_addr(), &[], &file)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The key file's place is taken by a non-empty directory, so the atomic rename
    // fails: exit 4, and the message names the file.
    let file = dir.path().join("blocked");
    std::fs::create_dir_all(file.join("consul-connect.pem").join("occupied")).unwrap();
    let out = for_trino("fetch", &consul.http_addr(), &[], &file)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("consul-connect.pem"), "{err}");
}

#[test]
fn watch_follows_a_ca_rotation_and_stops_on_sigterm() {
    let consul = Consul::start();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Reaped(
        for_trino("watch", &consul.http_addr(), &[], dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let first =
        poll(Duration::from_secs(30), || leaf_serial(dir.path())).expect("watch wrote no files");
    consul.rotate_ca("ec", 384);
    // Consul re-issues leaves after a CA rotation with up to 30 s of jitter, plus load.
    eventually(
        Duration::from_secs(60),
        "watch follows the rotation",
        || leaf_serial(dir.path()).as_deref() != Some(first.as_str()),
    );
    // SAFETY: kill(2) on our own child.
    unsafe { kill(child.0.id() as i32, 15) };
    let status = poll(Duration::from_secs(10), || child.0.try_wait().unwrap())
        .expect("watch did not stop on SIGTERM");
    assert_eq!(status.code(), Some(0));
}

/// A child process that is killed if the test ends early (a failed assertion).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}
