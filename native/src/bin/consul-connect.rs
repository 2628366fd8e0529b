//! `consul-connect`: writes a node's Connect identity (key + chain, CA roots) as PEM
//! files for Trino's HTTPS server, once (`fetch`) or continuously (`watch`).
//!
//! Exit codes: 0 success, 2 usage or configuration error, 3 no valid identity from
//! Consul in time, 4 the files could not be written, 1 anything else.

use clap::{Args, Parser, Subcommand};
use consul_connect::config::{self, Settings};
use consul_connect::Error;
use consul_connect::Identity;
use consul_connect::PemSink;
use consul_connect::Snapshot;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

const EXIT_INTERNAL: u8 = 1;
const EXIT_CONFIG: u8 = 2;
const EXIT_NOT_READY: u8 = 3;
const EXIT_WRITE: u8 = 4;

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
                  Exit codes: 0 success, 2 usage or configuration error, 3 no valid identity \
                  from Consul in time, 4 files could not be written, 1 internal error."
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
