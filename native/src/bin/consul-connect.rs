//! `consul-connect`: writes a node's Connect identity (key + chain, CA roots) as PEM
//! files for Trino's HTTPS server, once (`fetch`) or continuously (`watch`), and checks
//! files written earlier (`status`, a liveness/readiness probe or Consul script check).
//!
//! Exit codes: 0 success, 2 usage or configuration error, 3 no valid identity from
//! Consul in time, 4 the files could not be written, 5 (`status`) files missing, garbage,
//! key not matching the leaf or chain not leading to the roots, 6 (`status`) leaf expiring
//! soon, 7 (`status`) leaf expired or not valid yet, 1 anything else.

use clap::{Args, Parser, Subcommand};
use consul_connect::config::{self, Settings};
use consul_connect::Error;
use consul_connect::Identity;
use consul_connect::PemSink;
use consul_connect::Snapshot;
use consul_connect::{x509, KEY_CHAIN_FILE, ROOTS_FILE};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

const EXIT_INTERNAL: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_NOT_READY: u8 = 3;
const EXIT_WRITE: u8 = 4;
const EXIT_INVALID: u8 = 5;
const EXIT_EXPIRING: u8 = 6;
const EXIT_EXPIRED: u8 = 7;

#[derive(Parser)]
#[command(
    name = "consul-connect",
    version,
    about = "Writes a Consul Connect identity (leaf key + chain, CA roots) as PEM files for Trino",
    after_help = "Files written into the directory (mode 0600, replaced atomically):\n  \
                  consul-connect.pem        private key (PKCS#8) + leaf certificate + intermediates\n  \
                  consul-connect-roots.pem  every CA root Consul currently lists\n\n\
                  Consul's environment variables (CONSUL_HTTP_ADDR, CONSUL_HTTP_TOKEN, \
                  CONSUL_HTTP_TOKEN_FILE, CONSUL_CACERT, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, \
                  CONSUL_TLS_SERVER_NAME, CONSUL_NAMESPACE, CONSUL_PARTITION) apply where no \
                  option or property sets the value.\n\n\
                  Exit codes:\n  \
                  0  success (status: the files are valid and not expiring)\n  \
                  1  internal error\n  \
                  2  usage or configuration error\n  \
                  3  no valid identity from Consul in time (fetch, watch)\n  \
                  4  the files could not be written (fetch, watch)\n  \
                  5  status: a file is missing or unreadable, not PEM, the key does not match \
                  the leaf, or the chain does not lead to a root of the roots file\n  \
                  6  status: the leaf expires within --min-remaining\n  \
                  7  status: the leaf has expired or is not valid yet"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fetch the identity, write the files once and exit (run it before Trino starts).
    Fetch(Common),
    /// Keep the files current across leaf and CA rotations until SIGTERM or SIGINT.
    Watch(Common),
    /// Check the files in --dir (a probe or Consul script check): print the leaf and the
    /// roots, exit non-zero when the files are unusable or the leaf expires soon.
    #[command(
        after_help = "Exit codes: 0 ok; 5 invalid (a file missing, unreadable or not PEM, the \
                            key not matching the leaf, the chain not leading to a root of the \
                            roots file); 6 expiring (less than --min-remaining left); 7 expired \
                            or not valid yet; 2 usage error; 1 internal error. With --json, \
                            `status` is ok, invalid, expiring or expired and `exit_code` the \
                            exit code."
    )]
    Status(StatusArgs),
}

#[derive(Args)]
struct StatusArgs {
    /// Directory holding the files `fetch` or `watch` write.
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Exit 6 when less than this is left of the leaf's validity, e.g. 1h or 30m; 0 checks
    /// expiry only [default: 10% of the leaf's lifetime, 7.2h for Consul's 72h leaves].
    #[arg(long, value_name = "DURATION", value_parser = min_remaining_arg)]
    min_remaining: Option<Duration>,
    /// Print one JSON object (the same fields, plus `status` and `exit_code`).
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
struct Common {
    /// Directory for the PEM files (created if missing).
    #[arg(long, value_name = "DIR")]
    dir: PathBuf,
    /// Connect service name of this node (consul.service).
    #[arg(long)]
    service: Option<String>,
    /// Agent address: http://host:port, https://host:port or unix:///path (consul.address).
    #[arg(long)]
    address: Option<String>,
    /// File holding the ACL token (consul.token-file); prefer it over CONSUL_HTTP_TOKEN.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A properties file with consul.* keys, e.g. Trino's certificate-authenticator.properties.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Any consul.* property, as key=value (repeatable; wins over --config).
    #[arg(short = 'D', long = "property", value_name = "KEY=VALUE")]
    properties: Vec<String>,
    /// How long to wait for the first valid identity, e.g. 30s or 2m.
    #[arg(long, default_value = "60s", value_parser = timeout_arg)]
    timeout: Duration,
}

/// `--timeout`, with the grammar of every duration setting.
fn timeout_arg(value: &str) -> Result<Duration, String> {
    config::parse_duration("--timeout", value).map_err(|e| e.to_string())
}

/// `--min-remaining`, with the grammar of every duration setting (zero allowed).
fn min_remaining_arg(value: &str) -> Result<Duration, String> {
    config::parse_duration_allowing_zero("--min-remaining", value).map_err(|e| e.to_string())
}

/// A failure with its exit code.
struct Failure(u8, String);

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::Config { .. } | Error::InvalidArgument(_) | Error::SpiffeId { .. } => {
                EXIT_CONFIG
            }
            Error::NotReady(_) | Error::Agent { .. } | Error::Certificate(_) => EXIT_NOT_READY,
            Error::Io { .. } => EXIT_WRITE,
            _ => EXIT_INTERNAL,
        };
        Failure(code, e.to_string())
    }
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Fetch(args) => fetch(args),
        Command::Watch(args) => watch(args),
        Command::Status(args) => return status(&args),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            eprintln!("consul-connect: error: {message}");
            ExitCode::from(code)
        }
    }
}

/// Builds the settings: --config file, then -D properties, then the dedicated options.
fn settings(args: &Common) -> Result<Settings, Failure> {
    let mut props = BTreeMap::new();
    if let Some(path) = &args.config {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // The Java properties format, as the JVM reads the same file (escapes, line
        // continuations, `key value` / `key: value` forms).
        let read = java_properties::read(std::io::BufReader::new(file)).map_err(|e| {
            Failure(
                EXIT_CONFIG,
                format!("{} is not a readable properties file: {e}", path.display()),
            )
        })?;
        for (key, value) in read {
            // Trino's key in certificate-authenticator.properties and the JCA layer's
            // consulconnect.* keys (in the JVM-level file) are not the tool's.
            if key != "certificate-authenticator.name" && !key.starts_with("consulconnect.") {
                props.insert(key, value);
            }
        }
    }
    for pair in &args.properties {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Failure(EXIT_CONFIG, format!("--property `{pair}` is not KEY=VALUE")))?;
        props.insert(key.trim().to_string(), value.trim().to_string());
    }
    let mut set = |key: &str, value: Option<String>| {
        if let Some(value) = value {
            props.insert(key.to_string(), value);
        }
    };
    set(config::SERVICE, args.service.clone());
    set(config::ADDRESS, args.address.clone());
    set(
        config::TOKEN_FILE,
        args.token_file.as_ref().map(|p| p.display().to_string()),
    );
    set(config::PEM_DIRECTORY, Some(args.dir.display().to_string()));
    if !args.dir.exists() {
        std::fs::create_dir_all(&args.dir).map_err(|e| Error::io(&args.dir, e))?;
    }
    Ok(Settings::from_properties(&props)?)
}

/// Opens the identity, waits for the first snapshot and makes sure the files hold it.
fn start(args: &Common) -> Result<(Identity, PemSink), Failure> {
    let settings = settings(args)?;
    let sink = PemSink::new(&args.dir)?;
    let identity = Identity::open(settings)?;
    let snapshot = identity.wait_ready(args.timeout)?;
    // The watcher wrote the files before publishing; writing again is a no-op unless that
    // failed, and then it reports why.
    sink.write(&snapshot, SystemTime::now())?;
    report(&sink, &snapshot);
    Ok((identity, sink))
}

fn report(sink: &PemSink, snapshot: &Snapshot) {
    let info = &snapshot.leaf.info;
    let until = humantime::format_rfc3339_seconds(
        SystemTime::UNIX_EPOCH + Duration::from_secs(info.not_after.max(0) as u64),
    );
    println!(
        "generation {}: {} serial {} valid until {} -> {}; {} root(s) -> {}",
        snapshot.generation,
        info.id,
        info.serial,
        until,
        sink.key_chain_path().display(),
        snapshot.roots.roots.len(),
        sink.roots_path().display()
    );
}

fn fetch(args: Common) -> Result<(), Failure> {
    let (identity, _) = start(&args)?;
    identity.close();
    Ok(())
}

fn watch(args: Common) -> Result<(), Failure> {
    let (identity, sink) = start(&args)?;
    let store = identity.store().clone();
    let mut changes = store.subscribe();
    let runtime = identity.runtime().clone();
    let outcome: Result<(), Failure> = runtime.block_on(async {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Failure(EXIT_INTERNAL, format!("cannot handle SIGTERM: {e}")))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| Failure(EXIT_INTERNAL, format!("cannot handle SIGINT: {e}")))?;
        loop {
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return Err(Failure(EXIT_INTERNAL, "identity watcher stopped".into()));
                    }
                    if let Some(snapshot) = store.load() {
                        report(&sink, &snapshot);
                    }
                }
                _ = term.recv() => return Ok(()),
                _ = int.recv() => return Ok(()),
            }
        }
    });
    identity.close();
    outcome
}

/// What `status` found, printed as text or as one JSON object.
#[derive(Serialize)]
struct StatusReport {
    /// `ok`, `expiring`, `expired` (also: not valid yet) or `invalid`.
    status: &'static str,
    exit_code: u8,
    /// Every problem found, most severe first; empty when `ok`.
    problems: Vec<String>,
    key_chain_file: PathBuf,
    roots_file: PathBuf,
    service: Option<String>,
    spiffe_id: Option<String>,
    serial: Option<String>,
    /// RFC 3339, UTC.
    not_before: Option<String>,
    not_after: Option<String>,
    /// Seconds left until not-after; negative once expired.
    remaining_seconds: Option<i64>,
    /// `remaining_seconds` in words (`2days 23h 59m 10s`, `expired 5m ago`).
    remaining: Option<String>,
    lifetime_seconds: Option<i64>,
    /// The expiring threshold applied.
    min_remaining_seconds: Option<u64>,
    /// Certificates in the key+chain file: the leaf and its intermediates.
    chain_length: Option<usize>,
    roots: Vec<RootReport>,
}

#[derive(Serialize)]
struct RootReport {
    subject: String,
    /// The root's URI SANs (Consul's: `spiffe://<trust domain>`).
    uris: Vec<String>,
    serial: String,
    not_after: String,
}

/// Problems in the order of their exit code's severity.
struct Findings {
    invalid: Vec<String>,
    expired: Vec<String>,
    expiring: Vec<String>,
}

fn rfc3339(unix: i64) -> String {
    let t = if unix >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix as u64)
    } else {
        SystemTime::UNIX_EPOCH - Duration::from_secs(unix.unsigned_abs())
    };
    humantime::format_rfc3339_seconds(t).to_string()
}

fn words(seconds: i64) -> String {
    let d = humantime::format_duration(Duration::from_secs(seconds.unsigned_abs()));
    if seconds < 0 {
        format!("expired {d} ago")
    } else {
        d.to_string()
    }
}

/// Reads a file, or notes why it cannot be read.
fn read(path: &Path, findings: &mut Findings) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Some(zeroize::Zeroizing::new(bytes)),
        Err(e) => {
            findings
                .invalid
                .push(format!("cannot read {}: {e}", path.display()));
            None
        }
    }
}

/// `status`: checks the files `fetch` and `watch` write, as they are on disk now.
fn status(args: &StatusArgs) -> ExitCode {
    let now = SystemTime::now();
    let mut report = StatusReport {
        status: "ok",
        exit_code: 0,
        problems: vec![],
        key_chain_file: args.dir.join(KEY_CHAIN_FILE),
        roots_file: args.dir.join(ROOTS_FILE),
        service: None,
        spiffe_id: None,
        serial: None,
        not_before: None,
        not_after: None,
        remaining_seconds: None,
        remaining: None,
        lifetime_seconds: None,
        min_remaining_seconds: None,
        chain_length: None,
        roots: vec![],
    };
    let mut findings = Findings {
        invalid: vec![],
        expired: vec![],
        expiring: vec![],
    };
    examine(args, now, &mut report, &mut findings);
    let (status, code) = if !findings.invalid.is_empty() {
        ("invalid", EXIT_INVALID)
    } else if !findings.expired.is_empty() {
        ("expired", EXIT_EXPIRED)
    } else if !findings.expiring.is_empty() {
        ("expiring", EXIT_EXPIRING)
    } else {
        ("ok", 0)
    };
    report.status = status;
    report.exit_code = code;
    report.problems = [findings.invalid, findings.expired, findings.expiring].concat();
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                eprintln!("consul-connect: error: cannot encode the report: {e}");
                return ExitCode::from(EXIT_INTERNAL);
            }
        }
    } else {
        print_report(&report);
    }
    ExitCode::from(code)
}

fn examine(args: &StatusArgs, now: SystemTime, report: &mut StatusReport, findings: &mut Findings) {
    let key_chain_path = report.key_chain_file.clone();
    let roots_path = report.roots_file.clone();
    let key_chain_text = read(&key_chain_path, findings);
    let roots_text = read(&roots_path, findings);
    let what = key_chain_path.display().to_string();

    // The key+chain file: the chain, the leaf's identity, the key.
    let chain = key_chain_text
        .as_ref()
        .and_then(|text| match x509::certs_from_pem(text, &what) {
            Ok(chain) => Some(chain),
            Err(e) => {
                findings.invalid.push(e.to_string());
                None
            }
        });
    let info = chain
        .as_ref()
        .and_then(|chain| match x509::leaf_info(&chain[0]) {
            Ok(info) => Some(info),
            Err(e) => {
                findings.invalid.push(format!("{what}: leaf: {e}"));
                None
            }
        });
    if let (Some(text), Some(chain)) = (&key_chain_text, &chain) {
        report.chain_length = Some(chain.len());
        let matched = x509::key_from_pem(text, &what)
            .and_then(|key| x509::to_pkcs8(&key))
            .and_then(|pkcs8| x509::check_key_matches(&chain[0], &pkcs8));
        if let Err(e) = matched {
            findings.invalid.push(format!("{what}: {e}"));
        }
    }

    // The roots file.
    let roots_what = roots_path.display().to_string();
    let roots =
        roots_text
            .as_ref()
            .and_then(|text| match x509::certs_from_pem(text, &roots_what) {
                Ok(roots) => Some(roots),
                Err(e) => {
                    findings.invalid.push(e.to_string());
                    None
                }
            });
    for root in roots.iter().flatten() {
        use x509_parser::prelude::FromDer;
        match x509_parser::certificate::X509Certificate::from_der(root) {
            Ok((_, cert)) => report.roots.push(RootReport {
                subject: cert.subject().to_string(),
                uris: x509::uri_sans(root).unwrap_or_default(),
                serial: x509::colon_hex(cert.raw_serial()),
                not_after: rfc3339(cert.validity().not_after.timestamp()),
            }),
            Err(e) => findings
                .invalid
                .push(format!("{roots_what}: not a certificate: {e}")),
        }
    }

    let Some(info) = info else { return };
    report.service = Some(info.id.service.clone());
    report.spiffe_id = Some(info.id.to_string());
    report.serial = Some(info.serial.clone());
    report.not_before = Some(rfc3339(info.not_before));
    report.not_after = Some(rfc3339(info.not_after));
    let now_s = x509::unix_seconds(now);
    let lifetime = info.not_after - info.not_before;
    let remaining = info.not_after - now_s;
    let threshold = args
        .min_remaining
        .unwrap_or(Duration::from_secs(lifetime.max(0) as u64 / 10));
    report.lifetime_seconds = Some(lifetime);
    report.remaining_seconds = Some(remaining);
    report.remaining = Some(words(remaining));
    report.min_remaining_seconds = Some(threshold.as_secs());

    // Whether the chain leads to a root, at a moment within the leaf's validity: an expired
    // leaf that chains is "expired", not "does not chain".
    if let (Some(chain), Some(roots)) = (&chain, &roots) {
        let at = now_s.clamp(info.not_before, info.not_after.max(info.not_before));
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(at.max(0) as u64);
        if let Err(e) = x509::verify_chain(chain, roots, &[], at, x509::Usage::Server) {
            findings.invalid.push(format!(
                "{what} does not chain to the roots in {roots_what}: {e}"
            ));
        }
    }

    if now_s < info.not_before {
        findings.expired.push(format!(
            "leaf {} is not valid yet (valid from {})",
            info.serial,
            rfc3339(info.not_before)
        ));
    } else if now_s > info.not_after {
        findings.expired.push(format!(
            "leaf {} expired at {}",
            info.serial,
            rfc3339(info.not_after)
        ));
    } else if (remaining as u64) < threshold.as_secs() {
        findings.expiring.push(format!(
            "leaf {} expires at {}, in {}, less than the minimum remaining {}",
            info.serial,
            rfc3339(info.not_after),
            words(remaining),
            humantime::format_duration(threshold)
        ));
    }
}

fn print_report(r: &StatusReport) {
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!("status:      {} (exit {})", r.status, r.exit_code);
    println!("key+chain:   {}", r.key_chain_file.display());
    println!("service:     {}", opt(&r.service));
    println!("spiffe id:   {}", opt(&r.spiffe_id));
    println!("serial:      {}", opt(&r.serial));
    println!("not before:  {}", opt(&r.not_before));
    println!("not after:   {}", opt(&r.not_after));
    println!("time left:   {}", opt(&r.remaining));
    if let Some(min) = r.min_remaining_seconds {
        println!(
            "min left:    {}",
            humantime::format_duration(Duration::from_secs(min))
        );
    }
    if let Some(n) = r.chain_length {
        println!(
            "chain:       leaf + {} intermediate(s)",
            n.saturating_sub(1)
        );
    }
    println!(
        "roots:       {} in {}",
        r.roots.len(),
        r.roots_file.display()
    );
    for root in &r.roots {
        let name = if root.subject.is_empty() {
            root.uris.join(", ")
        } else {
            root.subject.clone()
        };
        println!(
            "  - {} (serial {}, not after {})",
            name, root.serial, root.not_after
        );
    }
    for p in &r.problems {
        println!("problem:     {p}");
    }
}
