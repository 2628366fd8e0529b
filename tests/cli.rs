//! The `consul-connect` command-line tool against a real Consul agent: `fetch` writes the
//! files once, `watch` follows a CA rotation until SIGTERM, `status` checks the files, errors
//! have distinct exit codes.

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
        text.contains("fetch")
            && text.contains("watch")
            && text.contains("status")
            && text.contains("Exit codes")
            && text.contains("7  status"),
        "{text}"
    );
    let out = tool().args(["fetch", "--help"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--dir"));
    let out = tool().args(["status", "--help"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("--min-remaining") && text.contains("--json"),
        "{text}"
    );

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

/// `consul-connect status --dir <dir> <extra…>`: exit code and stdout.
fn status(dir: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let out = tool()
        .arg("status")
        .arg("--dir")
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `status --json`: the exit code and the parsed object, whose `exit_code` must agree.
fn status_json(dir: &Path, extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let (code, stdout) = status(dir, &[&["--json"], extra].concat());
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(json["exit_code"].as_i64().map(|c| c as i32), code, "{json}");
    (code, json)
}

/// Writes the two files as `fetch` does: key + chain, and the roots.
fn write_files(dir: &Path, key: &str, chain: &str, roots: &str) {
    std::fs::write(dir.join("consul-connect.pem"), format!("{key}{chain}")).unwrap();
    std::fs::write(dir.join("consul-connect-roots.pem"), roots).unwrap();
}

#[test]
fn status_checks_fetched_files() {
    let consul = Consul::start();
    let dir = tempfile::tempdir().unwrap();
    let out = for_trino("fetch", &consul.http_addr(), &[], dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let serial = leaf_serial(dir.path()).unwrap();

    // Fresh files: ok, with the default threshold (10% of the leaf's lifetime).
    let (code, text) = status(dir.path(), &[]);
    assert_eq!(code, Some(0), "{text}");
    for want in [
        "status:      ok",
        "trino",
        "/svc/trino",
        serial.as_str(),
        "not after",
        "roots:       1",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    let (code, json) = status_json(dir.path(), &[]);
    assert_eq!(code, Some(0));
    assert_eq!(json["status"], "ok");
    assert_eq!(json["service"], "trino");
    assert_eq!(json["serial"], serial.as_str());
    assert!(
        json["spiffe_id"].as_str().unwrap().ends_with("/svc/trino"),
        "{json}"
    );
    assert!(json["problems"].as_array().unwrap().is_empty(), "{json}");
    let lifetime = json["lifetime_seconds"].as_i64().unwrap();
    let remaining = json["remaining_seconds"].as_i64().unwrap();
    assert!(remaining > 0 && remaining <= lifetime, "{json}");
    assert_eq!(
        json["min_remaining_seconds"].as_i64().unwrap(),
        lifetime / 10
    );
    let roots = json["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 1, "{json}");
    assert!(
        roots[0]["not_after"].as_str().unwrap().ends_with('Z'),
        "{json}"
    );
    assert!(
        roots[0]["uris"][0]
            .as_str()
            .unwrap()
            .starts_with("spiffe://"),
        "{json}"
    );

    // A threshold beyond the leaf's remaining lifetime (Consul's default TTL: 72h): expiring.
    let (code, json) = status_json(dir.path(), &["--min-remaining", "100d"]);
    assert_eq!(code, Some(6));
    assert_eq!(json["status"], "expiring");
    assert_eq!(json["min_remaining_seconds"], 100 * 86400);
    let (code, text) = status(dir.path(), &["--min-remaining", "1h 30m"]);
    assert_eq!(code, Some(0), "{text}");
    // A malformed threshold is a usage error.
    let (code, _) = status(dir.path(), &["--min-remaining", "soon"]);
    assert_eq!(code, Some(2));
}

#[test]
fn status_exit_codes_for_bad_files() {
    use consul_connect::testing::{Ca, LeafSpec};
    use std::time::SystemTime;
    let hour = Duration::from_secs(3600);
    let now = SystemTime::now();
    let ca = Ca::new("Test CA");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Valid files of the test CA: ok; the root is listed by subject.
    let (chain, key) = ca.leaf_pem(LeafSpec::service("web"));
    write_files(d, &key, &chain, &ca.pem);
    let (code, text) = status(d, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("CN=Test CA") && text.contains("service:     web"),
        "{text}"
    );

    // Expired: exit 7, status "expired", remaining negative.
    let (chain, key) = ca.leaf_pem(LeafSpec::service("web").valid(now - 2 * hour, now - hour));
    write_files(d, &key, &chain, &ca.pem);
    let (code, json) = status_json(d, &[]);
    assert_eq!(code, Some(7), "{json}");
    assert_eq!(json["status"], "expired");
    assert!(json["remaining_seconds"].as_i64().unwrap() < 0, "{json}");
    assert!(
        json["problems"][0].as_str().unwrap().contains("expired"),
        "{json}"
    );

    // Not valid yet: exit 7 too.
    let (chain, key) = ca.leaf_pem(LeafSpec::service("web").valid(now + hour, now + 2 * hour));
    write_files(d, &key, &chain, &ca.pem);
    let (code, json) = status_json(d, &[]);
    assert_eq!(code, Some(7), "{json}");
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .contains("not valid yet"),
        "{json}"
    );

    // Invalid (exit 5): roots of another CA, a key of another leaf, garbage, missing files.
    let (chain, key) = ca.leaf_pem(LeafSpec::service("web"));
    let other = Ca::new("Other CA");
    write_files(d, &key, &chain, &other.pem);
    let (code, json) = status_json(d, &[]);
    assert_eq!(code, Some(5), "{json}");
    assert_eq!(json["status"], "invalid");
    assert_eq!(json["service"], "web", "{json}");
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .contains("does not chain"),
        "{json}"
    );

    let (_, other_key) = ca.leaf_pem(LeafSpec::service("web"));
    write_files(d, &other_key, &chain, &ca.pem);
    let (code, json) = status_json(d, &[]);
    assert_eq!(code, Some(5), "{json}");
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .contains("does not match"),
        "{json}"
    );

    write_files(d, "", &chain, &ca.pem);
    let (code, text) = status(d, &[]);
    assert_eq!(code, Some(5), "{text}");

    write_files(d, "garbage", "", "more garbage");
    let (code, json) = status_json(d, &[]);
    assert_eq!(code, Some(5), "{json}");
    assert_eq!(json["problems"].as_array().unwrap().len(), 2, "{json}");
    assert!(json["service"].is_null(), "{json}");

    let empty = tempfile::tempdir().unwrap();
    let (code, json) = status_json(empty.path(), &[]);
    assert_eq!(code, Some(5), "{json}");
    assert!(
        json["problems"][0]
            .as_str()
            .unwrap()
            .contains("consul-connect.pem"),
        "{json}"
    );
    let (code, _) = status(&empty.path().join("nowhere"), &[]);
    assert_eq!(code, Some(5));

    // Usage: --dir is required.
    assert_eq!(
        tool().arg("status").output().unwrap().status.code(),
        Some(2)
    );
}
