//! Starts a real Consul agent on 127.0.0.1 with free ports, waits until its Connect CA
//! answers, and stops it on drop (also when the test panics).
//!
//! The binary comes from `CONSUL_BIN` or from `tests/scripts/ensure-consul.sh`, which
//! builds the pinned version once and caches it outside the repository.

use std::io::Read;
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How the agent keeps its state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `consul agent -dev`: in-memory, new CA and trust domain on every start.
    Dev,
    /// A single bootstrapped server with a data directory: state (CA, trust domain,
    /// intentions) survives a restart.
    Persistent,
    /// `consul agent -dev` with ACLs on and `default_policy = "deny"` (so the default
    /// intention action is deny too). [`Consul::request`] sends [`MANAGEMENT_TOKEN`];
    /// [`Consul::request_as`] sends another token.
    Acl,
    /// `consul agent -dev` with ACLs off and `default_intention_policy = "deny"`: the
    /// agent's own default intention answer, which wins over the ACL default.
    IntentionDefaultDeny,
}

/// The bootstrap (`initial_management`) token of a [`Mode::Acl`] agent.
pub const MANAGEMENT_TOKEN: &str = "6b1f9d52-3c4e-4a7b-9f20-8d5e1c7a0b31";

/// A running Consul agent.
pub struct Consul {
    child: Option<Child>,
    mode: Mode,
    ports: Ports,
    dir: tempfile::TempDir,
    binary: PathBuf,
}

#[derive(Clone, Copy, Debug)]
struct Ports {
    http: u16,
    serf_lan: u16,
    serf_wan: u16,
    server: u16,
}

/// Path of the pinned Consul binary (built once per machine).
pub fn consul_binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(bin) = std::env::var("CONSUL_BIN") {
            return PathBuf::from(bin);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scripts/ensure-consul.sh");
        let out = Command::new("bash")
            .arg(&script)
            .stderr(Stdio::inherit())
            .output()
            .expect("run ensure-consul.sh");
        assert!(out.status.success(), "ensure-consul.sh failed");
        let stdout = String::from_utf8(out.stdout).expect("utf-8 path");
        PathBuf::from(stdout.lines().last().expect("binary path").trim())
    })
    .clone()
}

/// `N` distinct ports, each free on 127.0.0.1 for both TCP and UDP (serf uses both). The
/// sockets are held until all are chosen: the kernel may hand a just-released port out
/// again, and two of the agent's listeners on one port stop it at start.
fn free_ports<const N: usize>() -> [u16; N] {
    let mut held = Vec::with_capacity(N);
    let mut ports = [0; N];
    for port in ports.iter_mut() {
        *port = loop {
            let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp");
            let candidate = tcp.local_addr().expect("addr").port();
            if let Ok(udp) = UdpSocket::bind(("127.0.0.1", candidate)) {
                held.push((tcp, udp));
                break candidate;
            }
        };
    }
    ports
}

impl Consul {
    /// Starts a dev agent.
    pub fn start() -> Consul {
        Self::start_mode(Mode::Dev)
    }

    /// Starts an agent in the given mode.
    pub fn start_mode(mode: Mode) -> Consul {
        let [http, serf_lan, serf_wan, server] = free_ports();
        let ports = Ports {
            http,
            serf_lan,
            serf_wan,
            server,
        };
        let mut consul = Consul {
            child: None,
            mode,
            ports,
            dir: tempfile::tempdir().expect("tempdir"),
            binary: consul_binary(),
        };
        consul.spawn();
        consul
    }

    /// `http://127.0.0.1:<port>`.
    pub fn http_addr(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.http)
    }

    /// The agent's log so far.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(self.dir.path().join("consul.log")) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }

    fn spawn(&mut self) {
        if let Err(log) = self.try_spawn() {
            panic!("consul exited early:\n{log}");
        }
    }

    /// Starts the agent and waits until it answers; `Err` with its log when it exited first.
    fn try_spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("consul.log"))
            .expect("log file");
        self.child = Some(self.command(log).spawn().expect("start consul"));
        self.wait_ready()
    }

    /// The agent's command line, its output going to `log`.
    fn command(&self, log: std::fs::File) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("agent");
        match self.mode {
            Mode::Dev => {
                cmd.arg("-dev");
            }
            Mode::IntentionDefaultDeny => {
                cmd.arg("-dev")
                    .arg("-hcl=default_intention_policy = \"deny\"");
            }
            Mode::Persistent => {
                let data = self.dir.path().join("data");
                cmd.args(["-server", "-bootstrap-expect=1", "-ui=false"])
                    .arg(format!("-data-dir={}", data.display()))
                    .arg("-hcl=connect { enabled = true }");
            }
            Mode::Acl => {
                cmd.arg("-dev").arg(format!(
                    "-hcl=acl {{\n  enabled = true\n  default_policy = \"deny\"\n  \
                     enable_token_persistence = false\n  \
                     tokens {{ initial_management = \"{MANAGEMENT_TOKEN}\" }}\n}}"
                ));
            }
        }
        cmd.args([
            "-bind=127.0.0.1",
            "-client=127.0.0.1",
            "-advertise=127.0.0.1",
            "-node=pcc-test",
            "-log-level=warn",
            "-dns-port=-1",
            "-grpc-port=-1",
            "-grpc-tls-port=-1",
            "-disable-host-node-id",
        ])
        .arg(format!("-http-port={}", self.ports.http))
        .arg(format!("-serf-lan-port={}", self.ports.serf_lan))
        .arg(format!("-serf-wan-port={}", self.ports.serf_wan))
        .arg(format!("-server-port={}", self.ports.server))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
        cmd
    }

    /// Waits until the agent answers; `Err` with its log when it exited first.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let roots = format!("{}/v1/agent/connect/ca/roots", self.http_addr());
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("({status}) {}", self.log()));
                }
            }
            // The roots need no ACL token; with ACLs, also wait for the management token.
            let roots_ready = http_get(&roots).is_ok_and(|body| body.contains("\"RootCert\""));
            let acl_ready = self.mode != Mode::Acl
                || http_request_with_token(
                    "GET",
                    &format!("{}/v1/acl/token/self", self.http_addr()),
                    None,
                    Some(MANAGEMENT_TOKEN),
                )
                .is_ok_and(|(status, _)| status == 200);
            if roots_ready && acl_ready {
                return Ok(());
            }
            if Instant::now() > deadline {
                panic!("consul did not become ready in 60s:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the agent (SIGKILL-free: SIGTERM first, then kill after 10s).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe {
                libc_kill(child.id() as i32, 15);
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the agent again on the same ports (same state in [`Mode::Persistent`]). While
    /// it was down, another process may have taken one of its ports for a moment (they
    /// come from the ephemeral range, which outgoing connections use too): a start that
    /// fails to bind is tried again for up to 30 s.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.try_spawn() {
                Ok(()) => return,
                Err(log) if log.contains("address already in use") && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_secs(1));
                }
                Err(log) => panic!("consul exited early:\n{log}"),
            }
        }
    }

    /// Issues an HTTP request against the agent and returns (status, body).
    /// In [`Mode::Acl`], with the management token.
    pub fn request(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        let token = (self.mode == Mode::Acl).then_some(MANAGEMENT_TOKEN);
        self.request_as(token, method, path, body)
    }

    /// Issues an HTTP request with `token` (none: no `X-Consul-Token` header).
    pub fn request_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> (u16, String) {
        http_request_with_token(
            method,
            &format!("{}{}", self.http_addr(), path),
            body,
            token,
        )
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// [`Mode::Acl`]: creates an ACL policy `name` with these HCL `rules` and a token
    /// carrying only it (both with the management token); returns the token's secret.
    pub fn create_token(&self, name: &str, rules: &str) -> String {
        let policy = serde_json::json!({ "Name": name, "Rules": rules }).to_string();
        let (status, text) = self.request("PUT", "/v1/acl/policy", Some(&policy));
        assert_eq!(status, 200, "creating policy {name}: {text}");
        let token = serde_json::json!({
            "Description": format!("test token with policy {name}"),
            "Policies": [{ "Name": name }],
        })
        .to_string();
        let (status, text) = self.request("PUT", "/v1/acl/token", Some(&token));
        assert_eq!(status, 200, "creating token for {name}: {text}");
        let token: serde_json::Value = serde_json::from_str(&text).expect("token JSON");
        token["SecretID"].as_str().expect("SecretID").to_string()
    }

    /// [`Mode::Acl`]: deletes the token whose secret is `secret` (looked up by its
    /// accessor, as an operator revoking it would).
    pub fn revoke_token(&self, secret: &str) {
        let (status, text) = self.request_as(Some(secret), "GET", "/v1/acl/token/self", None);
        assert_eq!(status, 200, "reading the token to revoke: {text}");
        let token: serde_json::Value = serde_json::from_str(&text).expect("token JSON");
        let accessor = token["AccessorID"].as_str().expect("AccessorID");
        let (status, text) = self.request("DELETE", &format!("/v1/acl/token/{accessor}"), None);
        assert_eq!(status, 200, "revoking the token: {text}");
    }
}

impl Drop for Consul {
    fn drop(&mut self) {
        self.stop();
    }
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Minimal blocking HTTP/1.1 client for the harness (keeps test helpers free of the
/// library under test).
pub fn http_get(url: &str) -> Result<String, String> {
    let (status, body) = http_request("GET", url, None)?;
    if status == 200 {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {body}"))
    }
}

/// Sends one request with `Connection: close` and returns (status, body).
pub fn http_request(method: &str, url: &str, body: Option<&str>) -> Result<(u16, String), String> {
    http_request_with_token(method, url, body, None)
}

/// [`http_request`] with an `X-Consul-Token` header when `token` is given.
pub fn http_request_with_token(
    method: &str,
    url: &str,
    body: Option<&str>,
    token: Option<&str>,
) -> Result<(u16, String), String> {
    use std::io::Write;
    let rest = url.strip_prefix("http://").ok_or("only http:// URLs")?;
    let (host, path) = rest
        .split_once('/')
        .map(|(h, p)| (h, format!("/{p}")))
        .unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).map_err(|e| e.to_string())?;
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let body = body.unwrap_or("");
    let token = token.map_or(String::new(), |t| format!("X-Consul-Token: {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{token}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, payload) = text.split_once("\r\n\r\n").ok_or("no header end")?;
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no status")?;
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    Ok((status, payload))
}

fn dechunk(mut text: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = text.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        text = rest[n..].trim_start_matches("\r\n");
    }
    out
}

impl Consul {
    /// Rotates the built-in CA: switching the key type/size makes Consul generate a new
    /// root, keep the old one in the roots list, and re-issue every leaf.
    pub fn rotate_ca(&self, key_type: &str, bits: u32) {
        let body = format!(
            r#"{{"Provider":"consul","Config":{{"LeafCertTTL":"72h","PrivateKeyType":"{key_type}","PrivateKeyBits":{bits}}}}}"#
        );
        let (status, text) = self.request("PUT", "/v1/connect/ca/configuration", Some(&body));
        assert_eq!(status, 200, "CA rotation failed: {text}");
    }

    /// ID of the active CA root.
    pub fn active_root_id(&self) -> String {
        let (status, body) = self.request("GET", "/v1/agent/connect/ca/roots", None);
        assert_eq!(status, 200, "{body}");
        let roots: serde_json::Value = serde_json::from_str(&body).expect("roots JSON");
        roots["ActiveRootID"]
            .as_str()
            .expect("ActiveRootID")
            .to_string()
    }
}
