//! Settings, from a properties map (what Trino hands a plugin) and Consul's usual
//! environment variables; a property always wins over the environment.
//!
//! Every key we accept is listed in [`KEYS`]; an unknown key or a malformed value fails
//! at start with a message naming the key, so a typo never silently disables a check.

use crate::consul::token::{read_token_file, TokenSource};
use crate::error::{Error, Result};
use crate::secret::Secret;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// Agent address (`CONSUL_HTTP_ADDR`): `http://host:port`, `https://host:port`,
/// `unix:///path/to/socket` or a bare `host:port`.
pub const ADDRESS: &str = "consul.address";
/// ACL token (`CONSUL_HTTP_TOKEN`).
pub const TOKEN: &str = "consul.token";
/// File holding the ACL token (`CONSUL_HTTP_TOKEN_FILE`).
pub const TOKEN_FILE: &str = "consul.token-file";
/// CA bundle that signs the agent's HTTPS certificate (`CONSUL_CACERT`).
pub const TLS_CA_FILE: &str = "consul.tls.ca-file";
/// Client certificate presented to the agent (`CONSUL_CLIENT_CERT`).
pub const TLS_CERT_FILE: &str = "consul.tls.cert-file";
/// Key of the client certificate (`CONSUL_CLIENT_KEY`).
pub const TLS_KEY_FILE: &str = "consul.tls.key-file";
/// Name expected in the agent's HTTPS certificate (`CONSUL_TLS_SERVER_NAME`).
pub const TLS_SERVER_NAME: &str = "consul.tls.server-name";
/// The Connect service this node is (its leaf certificate names it).
pub const SERVICE: &str = "consul.service";
/// Enterprise namespace (`CONSUL_NAMESPACE`).
pub const NAMESPACE: &str = "consul.namespace";
/// Enterprise admin partition (`CONSUL_PARTITION`).
pub const PARTITION: &str = "consul.partition";
/// Timeout of a single non-blocking agent request.
pub const REQUEST_TIMEOUT: &str = "consul.request-timeout";
/// `wait` of blocking queries (Consul caps it at 10 minutes).
pub const WATCH_WAIT: &str = "consul.watch.wait";
/// `agent` (default) or `files`.
pub const IDENTITY_SOURCE: &str = "consul.identity.source";
/// Files source: PEM private key.
pub const FILES_KEY: &str = "consul.identity.files.key";
/// Files source: PEM leaf certificate followed by its intermediates.
pub const FILES_CHAIN: &str = "consul.identity.files.chain";
/// Files source: PEM CA roots.
pub const FILES_ROOTS: &str = "consul.identity.files.roots";
/// Files source: how often the files are checked for changes.
pub const FILES_POLL_INTERVAL: &str = "consul.identity.files.poll-interval";
/// Directory where the key+chain and roots PEM files for Trino's HTTPS server go.
pub const PEM_DIRECTORY: &str = "consul.pem.directory";
/// Service that clients must be allowed to reach (defaults to `consul.service`).
pub const AUTHZ_TARGET: &str = "consul.authz.target";
/// Maximum number of cached authorization decisions.
pub const AUTHZ_CACHE_SIZE: &str = "consul.authz.cache-size";
/// How long a decision is reused without asking Consul again.
pub const AUTHZ_CACHE_TTL: &str = "consul.authz.cache-ttl";
/// How long a cached *allow* may still be served while Consul cannot be asked.
pub const AUTHZ_MAX_STALE: &str = "consul.authz.max-stale";
/// Principal returned to Trino: `qualified` (default), `service` or `spiffe-id`.
pub const AUTHZ_PRINCIPAL: &str = "consul.authz.principal";
/// Groups given to Trino (from Trino 480 on): `identity` (default; the groups of the
/// verified Connect identity) or `none`.
pub const AUTHZ_GROUPS: &str = "consul.authz.groups";
/// Where decisions come from: `agent` (default; the agent's authorize endpoint) or
/// `local` (the watched intentions, evaluated in process).
pub const AUTHZ_DECISIONS: &str = "consul.authz.decisions";
/// With local decisions: how long the last intentions list stays in force once the watch
/// cannot reach the agent.
pub const AUTHZ_INTENTIONS_MAX_AGE: &str = "consul.authz.intentions-max-age";

/// Default of [`FILES_POLL_INTERVAL`]: three small files read four times a second cost
/// nothing measurable, and a rotation reaches the next handshake well within a second.
pub const FILES_POLL_INTERVAL_DEFAULT: Duration = Duration::from_millis(250);

/// The defaults of the keys that have a literal one, as the README's table writes them.
/// `readme_documents_every_key_and_these_defaults` ties the three together: README,
/// this list, and the values the code uses when a key is absent.
pub const DEFAULTS: &[(&str, &str)] = &[
    (ADDRESS, "http://127.0.0.1:8500"),
    (REQUEST_TIMEOUT, "10s"),
    (WATCH_WAIT, "5m"),
    (IDENTITY_SOURCE, "agent"),
    (FILES_POLL_INTERVAL, "250ms"),
    (AUTHZ_CACHE_SIZE, "10000"),
    (AUTHZ_CACHE_TTL, "60s"),
    (AUTHZ_MAX_STALE, "30s"),
    (AUTHZ_PRINCIPAL, "qualified"),
    (AUTHZ_GROUPS, "identity"),
    (AUTHZ_DECISIONS, "agent"),
    (AUTHZ_INTENTIONS_MAX_AGE, "10m"),
];

/// Every key the library accepts.
pub const KEYS: &[&str] = &[
    ADDRESS,
    TOKEN,
    TOKEN_FILE,
    TLS_CA_FILE,
    TLS_CERT_FILE,
    TLS_KEY_FILE,
    TLS_SERVER_NAME,
    SERVICE,
    NAMESPACE,
    PARTITION,
    REQUEST_TIMEOUT,
    WATCH_WAIT,
    IDENTITY_SOURCE,
    FILES_KEY,
    FILES_CHAIN,
    FILES_ROOTS,
    FILES_POLL_INTERVAL,
    PEM_DIRECTORY,
    AUTHZ_TARGET,
    AUTHZ_CACHE_SIZE,
    AUTHZ_CACHE_TTL,
    AUTHZ_MAX_STALE,
    AUTHZ_PRINCIPAL,
    AUTHZ_GROUPS,
    AUTHZ_DECISIONS,
    AUTHZ_INTENTIONS_MAX_AGE,
];

/// Where the agent listens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AgentAddress {
    /// Plain HTTP or HTTPS base URL, e.g. `http://127.0.0.1:8500`.
    Http(url::Url),
    /// A Unix domain socket path.
    Unix(PathBuf),
}

impl AgentAddress {
    /// Parses the forms Consul's own tools accept. `https_default` is `CONSUL_HTTP_SSL`.
    pub fn parse(key: &str, value: &str, https_default: bool) -> Result<Self> {
        let value = value.trim();
        if value.is_empty() {
            return Err(Error::config(key, "is empty"));
        }
        if let Some(path) = value.strip_prefix("unix://") {
            if !path.starts_with('/') {
                return Err(Error::config(
                    key,
                    "unix:// needs an absolute socket path, e.g. unix:///var/run/consul.sock",
                ));
            }
            return Ok(AgentAddress::Unix(PathBuf::from(path)));
        }
        let with_scheme = if value.contains("://") {
            value.to_string()
        } else if https_default {
            format!("https://{value}")
        } else {
            format!("http://{value}")
        };
        let url = url::Url::parse(&with_scheme)
            .map_err(|e| Error::config(key, format!("`{value}` is not an address: {e}")))?;
        if url.scheme() != "http" && url.scheme() != "https" {
            return Err(Error::config(
                key,
                format!(
                    "scheme `{}` is not supported (use http, https or unix)",
                    url.scheme()
                ),
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Error::config(key, format!("`{value}` has no host")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::config(
                key,
                "must not carry user info; use consul.token",
            ));
        }
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(Error::config(
                key,
                "must be scheme://host:port without path or query",
            ));
        }
        Ok(AgentAddress::Http(url))
    }

    /// True for `https://` addresses.
    pub fn is_https(&self) -> bool {
        matches!(self, AgentAddress::Http(u) if u.scheme() == "https")
    }
}

/// How to reach and authenticate to the local Consul agent.
#[derive(Clone, Debug)]
pub struct AgentSettings {
    /// Agent address.
    pub address: AgentAddress,
    /// ACL token, if any (never printed); a token file is re-read when it changes.
    pub token: TokenSource,
    /// CA bundle for an HTTPS agent; system roots when absent.
    pub ca_file: Option<PathBuf>,
    /// Client certificate for an HTTPS agent that verifies clients.
    pub cert_file: Option<PathBuf>,
    /// Key of the client certificate.
    pub key_file: Option<PathBuf>,
    /// Server name to verify instead of the address's host.
    pub server_name: Option<String>,
    /// Enterprise namespace.
    pub namespace: Option<String>,
    /// Enterprise admin partition.
    pub partition: Option<String>,
    /// Timeout of one non-blocking request.
    pub request_timeout: Duration,
    /// `wait` of blocking queries.
    pub watch_wait: Duration,
}

impl Default for AgentSettings {
    fn default() -> Self {
        AgentSettings {
            address: AgentAddress::Http(
                url::Url::parse("http://127.0.0.1:8500").expect("static URL parses"),
            ),
            token: TokenSource::default(),
            ca_file: None,
            cert_file: None,
            key_file: None,
            server_name: None,
            namespace: None,
            partition: None,
            request_timeout: Duration::from_secs(10),
            watch_wait: Duration::from_secs(300),
        }
    }
}

/// Where the node's identity comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// The local agent's leaf and roots endpoints.
    Agent,
    /// PEM files written by another tool.
    Files {
        /// Private key.
        key: PathBuf,
        /// Leaf certificate followed by intermediates.
        chain: PathBuf,
        /// CA roots.
        roots: PathBuf,
        /// How often to look for changes.
        poll_interval: Duration,
    },
}

/// Which principal name the authenticator hands to Trino.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalForm {
    /// The service qualified by namespace and partition where they are not `default`
    /// (`web`, `team-b/web`, `part-1/team-b/web`): unique across tenants.
    Qualified,
    /// The bare service name, e.g. `web` (services of the same name in different
    /// namespaces or partitions become the same user).
    Service,
    /// The full SPIFFE id.
    SpiffeId,
}

/// Authorization settings.
#[derive(Clone, Debug)]
pub struct AuthzSettings {
    /// Destination service clients must be allowed to reach; `None` means our service.
    pub target: Option<String>,
    /// Maximum cached decisions.
    pub cache_size: u64,
    /// Decision lifetime.
    pub cache_ttl: Duration,
    /// How long a cached allow may outlive its TTL while Consul is unreachable.
    pub max_stale: Duration,
    /// Principal form.
    pub principal: PrincipalForm,
    /// Whether allowed clients get the groups of their Connect identity.
    pub identity_groups: bool,
    /// Where decisions come from.
    pub decisions: DecisionMode,
    /// With [`DecisionMode::Local`]: how long the last intentions list stays in force
    /// while the agent cannot be reached.
    pub intentions_max_age: Duration,
}

/// Where authorization decisions come from (`consul.authz.decisions`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecisionMode {
    /// The agent's `POST /v1/agent/connect/authorize`, once per new client identity.
    Agent,
    /// The intentions for the target, watched and evaluated in process as the agent does.
    Local,
}

impl Default for AuthzSettings {
    fn default() -> Self {
        AuthzSettings {
            target: None,
            cache_size: 10_000,
            cache_ttl: Duration::from_secs(60),
            max_stale: Duration::from_secs(30),
            principal: PrincipalForm::Qualified,
            identity_groups: true,
            decisions: DecisionMode::Agent,
            intentions_max_age: Duration::from_secs(600),
        }
    }
}

/// All settings of one handle.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Agent connection.
    pub agent: AgentSettings,
    /// Our service name (required with the agent source).
    pub service: Option<String>,
    /// Identity source.
    pub identity: SourceKind,
    /// Directory for the PEM files Trino reads; none means no files are written.
    pub pem_directory: Option<PathBuf>,
    /// Authorization.
    pub authz: AuthzSettings,
}

impl Settings {
    /// Reads settings from properties and the process environment.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self> {
        Self::from_sources(props, |name| std::env::var(name).ok())
    }

    /// Reads settings from properties and an environment lookup (for tests).
    pub fn from_sources(
        props: &BTreeMap<String, String>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        if let Some(unknown) = props.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(Error::config(
                unknown.clone(),
                format!("unknown key; known keys are: {}", KEYS.join(", ")),
            ));
        }
        let sources = Sources { props, env: &env };
        let agent = sources.agent()?;
        let service = sources
            .prop(SERVICE)
            .map(|v| checked_name(SERVICE, v))
            .transpose()?;
        let identity = sources.identity(service.is_some())?;
        let authz = sources.authz()?;
        Ok(Settings {
            agent,
            service,
            identity,
            pem_directory: sources.prop(PEM_DIRECTORY).map(PathBuf::from),
            authz,
        })
    }
}

/// Where settings come from: properties first, then Consul's environment variables.
struct Sources<'a, E: Fn(&str) -> Option<String>> {
    props: &'a BTreeMap<String, String>,
    env: &'a E,
}

impl<E: Fn(&str) -> Option<String>> Sources<'_, E> {
    fn prop(&self, key: &str) -> Option<String> {
        self.props.get(key).map(|v| v.trim().to_string())
    }

    fn env(&self, name: &str) -> Option<String> {
        (self.env)(name).filter(|v| !v.trim().is_empty())
    }

    /// The property, else the variable: (value, name of the key or variable it came from).
    fn pick(&self, key: &'static str, var: &'static str) -> Option<(String, &'static str)> {
        self.prop(key)
            .map(|v| (v, key))
            .or_else(|| self.env(var).map(|v| (v, var)))
    }

    fn agent(&self) -> Result<AgentSettings> {
        let mut agent = AgentSettings::default();
        let https_default = self
            .env("CONSUL_HTTP_SSL")
            .is_some_and(|v| parse_bool(&v) == Some(true));
        if let Some((value, from)) = self.pick(ADDRESS, "CONSUL_HTTP_ADDR") {
            agent.address = AgentAddress::parse(from, &value, https_default)?;
        }
        agent.token = read_token(
            self.prop(TOKEN),
            self.prop(TOKEN_FILE),
            self.env("CONSUL_HTTP_TOKEN"),
            self.env("CONSUL_HTTP_TOKEN_FILE"),
        )?;
        let path = |key, var| self.pick(key, var).map(|(v, _)| PathBuf::from(v));
        agent.ca_file = path(TLS_CA_FILE, "CONSUL_CACERT");
        agent.cert_file = path(TLS_CERT_FILE, "CONSUL_CLIENT_CERT");
        agent.key_file = path(TLS_KEY_FILE, "CONSUL_CLIENT_KEY");
        if agent.cert_file.is_some() != agent.key_file.is_some() {
            return Err(Error::config(
                TLS_CERT_FILE,
                format!("{TLS_CERT_FILE} and {TLS_KEY_FILE} must be set together"),
            ));
        }
        agent.server_name = self
            .pick(TLS_SERVER_NAME, "CONSUL_TLS_SERVER_NAME")
            .map(|(v, _)| v);
        agent.namespace = self
            .pick(NAMESPACE, "CONSUL_NAMESPACE")
            .map(|(v, from)| checked_name(from, v))
            .transpose()?;
        agent.partition = self
            .pick(PARTITION, "CONSUL_PARTITION")
            .map(|(v, from)| checked_name(from, v))
            .transpose()?;
        if let Some(v) = self.prop(REQUEST_TIMEOUT) {
            agent.request_timeout = parse_duration(REQUEST_TIMEOUT, &v)?;
        }
        if let Some(v) = self.prop(WATCH_WAIT) {
            agent.watch_wait = parse_duration(WATCH_WAIT, &v)?;
            if agent.watch_wait > Duration::from_secs(600) {
                return Err(Error::config(
                    WATCH_WAIT,
                    "Consul caps blocking queries at 10m",
                ));
            }
        }
        Ok(agent)
    }

    fn identity(&self, has_service: bool) -> Result<SourceKind> {
        let identity = match self.prop(IDENTITY_SOURCE).as_deref() {
            None | Some("agent") => SourceKind::Agent,
            Some("files") => {
                let need = |key: &'static str| {
                    self.prop(key).map(PathBuf::from).ok_or_else(|| {
                        Error::config(key, "is required with consul.identity.source=files")
                    })
                };
                SourceKind::Files {
                    key: need(FILES_KEY)?,
                    chain: need(FILES_CHAIN)?,
                    roots: need(FILES_ROOTS)?,
                    poll_interval: match self.prop(FILES_POLL_INTERVAL) {
                        Some(v) => parse_duration(FILES_POLL_INTERVAL, &v)?,
                        None => FILES_POLL_INTERVAL_DEFAULT,
                    },
                }
            }
            Some(other) => {
                return Err(Error::config(
                    IDENTITY_SOURCE,
                    format!("`{other}` is not `agent` or `files`"),
                ))
            }
        };
        if identity == SourceKind::Agent {
            if !has_service {
                return Err(Error::config(
                    SERVICE,
                    "is required (the Connect service name of this node)",
                ));
            }
            for key in [FILES_KEY, FILES_CHAIN, FILES_ROOTS, FILES_POLL_INTERVAL] {
                if self.props.contains_key(key) {
                    return Err(Error::config(
                        key,
                        "only applies with consul.identity.source=files",
                    ));
                }
            }
        }
        Ok(identity)
    }

    fn authz(&self) -> Result<AuthzSettings> {
        let mut authz = AuthzSettings {
            target: self
                .prop(AUTHZ_TARGET)
                .map(|v| checked_name(AUTHZ_TARGET, v))
                .transpose()?,
            ..AuthzSettings::default()
        };
        if let Some(v) = self.prop(AUTHZ_CACHE_SIZE) {
            authz.cache_size = v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=10_000_000).contains(n))
                .ok_or_else(|| {
                    Error::config(
                        AUTHZ_CACHE_SIZE,
                        format!("`{v}` is not a number between 1 and 10000000"),
                    )
                })?;
        }
        if let Some(v) = self.prop(AUTHZ_CACHE_TTL) {
            authz.cache_ttl = parse_duration(AUTHZ_CACHE_TTL, &v)?;
        }
        if let Some(v) = self.prop(AUTHZ_MAX_STALE) {
            authz.max_stale = parse_duration(AUTHZ_MAX_STALE, &v)?;
        }
        if let Some(v) = self.prop(AUTHZ_PRINCIPAL) {
            authz.principal = match v.as_str() {
                "qualified" => PrincipalForm::Qualified,
                "service" => PrincipalForm::Service,
                "spiffe-id" => PrincipalForm::SpiffeId,
                other => {
                    return Err(Error::config(
                        AUTHZ_PRINCIPAL,
                        format!("`{other}` is not `qualified`, `service` or `spiffe-id`"),
                    ))
                }
            };
        }
        if let Some(v) = self.prop(AUTHZ_GROUPS) {
            authz.identity_groups = match v.as_str() {
                "identity" => true,
                "none" => false,
                other => {
                    return Err(Error::config(
                        AUTHZ_GROUPS,
                        format!("`{other}` is not `identity` or `none`"),
                    ))
                }
            };
        }
        if let Some(v) = self.prop(AUTHZ_DECISIONS) {
            authz.decisions = match v.as_str() {
                "agent" => DecisionMode::Agent,
                "local" => DecisionMode::Local,
                other => {
                    return Err(Error::config(
                        AUTHZ_DECISIONS,
                        format!("`{other}` is not `agent` or `local`"),
                    ))
                }
            };
        }
        if let Some(v) = self.prop(AUTHZ_INTENTIONS_MAX_AGE) {
            authz.intentions_max_age = parse_duration(AUTHZ_INTENTIONS_MAX_AGE, &v)?;
        }
        Ok(authz)
    }
}

/// The longest duration any key accepts. Longer values mean nothing here and would
/// overflow clock arithmetic (`Instant + Duration`) further down.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// Parses a duration the way Trino and airlift write them, a decimal number and a unit
/// (`500ms`, `10s`, `10.5s`, `1.5m`, `2h`, `1d`; units `ns`, `us`, `ms`, `s`, `m`, `h`,
/// `d`), or humantime's compound form (`1h 30m`). Zero and anything longer than
/// [`MAX_DURATION`] are refused, with a message naming `key`.
pub fn parse_duration(key: &str, value: &str) -> Result<Duration> {
    let d = parse_duration_allowing_zero(key, value)?;
    if d.is_zero() {
        return Err(Error::config(key, "must be greater than zero"));
    }
    Ok(d)
}

/// [`parse_duration`], with zero allowed (for settings where zero means "do not wait").
pub fn parse_duration_allowing_zero(key: &str, value: &str) -> Result<Duration> {
    let text = value.trim();
    let d = match decimal_duration(text) {
        Some(d) => d,
        None => humantime::parse_duration(text).map_err(|e| {
            Error::config(
                key,
                format!("`{value}` is not a duration like 10s, 1.5m or 500ms: {e}"),
            )
        })?,
    };
    if d > MAX_DURATION {
        return Err(Error::config(
            key,
            format!("`{value}` is longer than the longest accepted duration, 365d"),
        ));
    }
    Ok(d)
}

/// `<decimal><unit>` (airlift's `Duration` format); `None` when `text` is not of that form.
/// A value too large for a `Duration` comes back as `Duration::MAX` (refused by the caller).
fn decimal_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(split);
    let well_formed = !number.is_empty()
        && !number.starts_with('.')
        && !number.ends_with('.')
        && number.matches('.').count() <= 1;
    if !well_formed {
        return None;
    }
    let nanos_per_unit = match unit.trim() {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3_600e9,
        "d" => 86_400e9,
        _ => return None,
    };
    let nanos = number.parse::<f64>().ok()? * nanos_per_unit;
    if !nanos.is_finite() || nanos >= u64::MAX as f64 {
        return Some(Duration::MAX);
    }
    Some(Duration::from_nanos(nanos.round() as u64))
}

/// Parses a boolean setting: `true` or `false` (any case), nothing else.
pub fn parse_flag(key: &str, value: &str) -> Result<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(Error::config(
            key,
            format!("`{value}` is not true or false"),
        )),
    }
}

/// `CONSUL_HTTP_SSL` and friends, read the way Consul's Go tools read them.
fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Service, namespace and partition names as Consul allows them.
fn checked_name(key: &str, value: String) -> Result<String> {
    let ok = !value.is_empty()
        && value.len() <= 253
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(value)
    } else {
        Err(Error::config(
            key,
            format!(
                "`{}` is not a valid Consul name (letters, digits, '-', '_', '.')",
                crate::error::clip(&value)
            ),
        ))
    }
}

fn read_token(
    prop_token: Option<String>,
    prop_file: Option<String>,
    env_token: Option<String>,
    env_file: Option<String>,
) -> Result<TokenSource> {
    let from_file = |key: &str, path: String| -> Result<TokenSource> {
        let path = PathBuf::from(path);
        let first = read_token_file(key, &path)?;
        Ok(TokenSource::file(key, path, first))
    };
    let fixed = |token| Ok(TokenSource::fixed(Some(Secret::new(token))));
    match (prop_token, prop_file) {
        (Some(_), Some(_)) => Err(Error::config(
            TOKEN,
            format!("set only one of {TOKEN} and {TOKEN_FILE}"),
        )),
        (Some(token), None) => fixed(token),
        (None, Some(path)) => from_file(TOKEN_FILE, path),
        // Like Consul's own API client, the token file wins over the token variable.
        (None, None) => match (env_file, env_token) {
            (Some(path), _) => from_file("CONSUL_HTTP_TOKEN_FILE", path),
            (None, Some(token)) => fixed(token),
            (None, None) => Ok(TokenSource::default()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn properties_win_over_environment() {
        let env = |name: &str| match name {
            "CONSUL_HTTP_ADDR" => Some("10.0.0.1:8500".to_string()),
            "CONSUL_HTTP_TOKEN" => Some("env-token".to_string()),
            _ => None,
        };
        let s = Settings::from_sources(&props(&[(SERVICE, "trino")]), env).unwrap();
        assert_eq!(
            s.agent.address,
            AgentAddress::parse("x", "http://10.0.0.1:8500", false).unwrap()
        );
        assert_eq!(s.agent.token.current().unwrap().expose(), "env-token");

        let s = Settings::from_sources(
            &props(&[
                (SERVICE, "trino"),
                (ADDRESS, "https://127.0.0.1:8501"),
                (TOKEN, "prop-token"),
            ]),
            env,
        )
        .unwrap();
        assert!(s.agent.address.is_https());
        assert_eq!(s.agent.token.current().unwrap().expose(), "prop-token");
    }

    #[test]
    fn address_forms() {
        assert!(matches!(
            AgentAddress::parse("k", "unix:///run/consul.sock", false).unwrap(),
            AgentAddress::Unix(p) if p == std::path::Path::new("/run/consul.sock")
        ));
        assert!(AgentAddress::parse("k", "127.0.0.1:8501", true)
            .unwrap()
            .is_https());
        for bad in [
            "",
            "ftp://x",
            "unix://relative",
            "http://u:p@h:1",
            "http://h:1/path",
            "http://",
        ] {
            let err = AgentAddress::parse("consul.address", bad, false)
                .unwrap_err()
                .to_string();
            assert!(err.contains("consul.address"), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_and_malformed_keys_are_named() {
        let err = Settings::from_sources(&props(&[(SERVICE, "t"), ("consul.adress", "x")]), no_env)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("consul.adress") && err.contains("unknown"),
            "{err}"
        );
        for (key, value) in [
            (REQUEST_TIMEOUT, "soon"),
            (AUTHZ_CACHE_SIZE, "-1"),
            (AUTHZ_PRINCIPAL, "user"),
            (IDENTITY_SOURCE, "vault"),
            (SERVICE, "bad name"),
            (WATCH_WAIT, "20m"),
        ] {
            let mut p = props(&[(SERVICE, "trino")]);
            p.insert(key.to_string(), value.to_string());
            let err = Settings::from_sources(&p, no_env).unwrap_err().to_string();
            assert!(err.contains(key), "{key}={value}: {err}");
        }
        let err = Settings::from_sources(&props(&[]), no_env)
            .unwrap_err()
            .to_string();
        assert!(err.contains(SERVICE), "{err}");
    }

    #[test]
    fn token_never_printed() {
        let s = Settings::from_sources(&props(&[(SERVICE, "t"), (TOKEN, "s3cr3t-token")]), no_env)
            .unwrap();
        let debug = format!("{s:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        assert!(debug.contains("<redacted>"));
    }

    #[test]
    fn token_file_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "file-token\n").unwrap();
        let path_str = path.to_str().unwrap();
        let s = Settings::from_sources(&props(&[(SERVICE, "t"), (TOKEN_FILE, path_str)]), no_env)
            .unwrap();
        assert_eq!(s.agent.token.current().unwrap().expose(), "file-token");
        let env = |n: &str| match n {
            "CONSUL_HTTP_TOKEN_FILE" => Some(path_str.to_string()),
            "CONSUL_HTTP_TOKEN" => Some("ignored".to_string()),
            _ => None,
        };
        let s = Settings::from_sources(&props(&[(SERVICE, "t")]), env).unwrap();
        assert_eq!(s.agent.token.current().unwrap().expose(), "file-token");
        let err = Settings::from_sources(
            &props(&[(SERVICE, "t"), (TOKEN, "a"), (TOKEN_FILE, path_str)]),
            no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(TOKEN_FILE), "{err}");
        let err = Settings::from_sources(
            &props(&[(SERVICE, "t"), (TOKEN_FILE, "/nonexistent/tok")]),
            no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains(TOKEN_FILE) && !err.contains("file-token"),
            "{err}"
        );
    }

    #[test]
    fn files_source_needs_its_paths() {
        let err = Settings::from_sources(
            &props(&[(IDENTITY_SOURCE, "files"), (FILES_KEY, "/k")]),
            no_env,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(FILES_CHAIN), "{err}");
        let s = Settings::from_sources(
            &props(&[
                (IDENTITY_SOURCE, "files"),
                (FILES_KEY, "/k"),
                (FILES_CHAIN, "/c"),
                (FILES_ROOTS, "/r"),
                (FILES_POLL_INTERVAL, "250ms"),
            ]),
            no_env,
        )
        .unwrap();
        assert!(
            matches!(s.identity, SourceKind::Files { poll_interval, .. } if poll_interval == Duration::from_millis(250))
        );
    }

    #[test]
    fn durations() {
        let d = |v: &str| parse_duration("k", v).unwrap();
        assert_eq!(d("10s"), Duration::from_secs(10));
        assert_eq!(d("10.00s"), Duration::from_secs(10));
        // Once read as 100 s (a text replacement of ".00"): a real decimal parser now.
        assert_eq!(d("10.000s"), Duration::from_secs(10));
        assert_eq!(d("10.5s"), Duration::from_millis(10_500));
        assert_eq!(d("1.5m"), Duration::from_secs(90));
        assert_eq!(d("500ms"), Duration::from_millis(500));
        assert_eq!(d("250 ms"), Duration::from_millis(250));
        assert_eq!(d("2h"), Duration::from_secs(7200));
        assert_eq!(d("1d"), Duration::from_secs(86_400));
        assert_eq!(d("1h 30m"), Duration::from_secs(5400));
        assert_eq!(d("365d"), MAX_DURATION);
        for (bad, says) in [
            ("0s", "greater than zero"),
            ("0.0001ns", "greater than zero"),
            ("366d", "longer than"),
            ("99999999999999999999999h", "longer than"),
            ("10", "not a duration"),
            ("1.s", "not a duration"),
            (".5s", "not a duration"),
            ("1..5s", "not a duration"),
            ("10 parsecs", "not a duration"),
            ("", "not a duration"),
        ] {
            let e = parse_duration("consul.request-timeout", bad).unwrap_err();
            assert!(e.is_invalid_argument(), "{bad}: {e}");
            let text = e.to_string();
            assert!(
                text.contains("consul.request-timeout") && text.contains(says),
                "{bad}: {text}"
            );
        }
        assert_eq!(
            parse_duration_allowing_zero("k", "0s").unwrap(),
            Duration::ZERO
        );
    }

    #[test]
    fn every_duration_setting_is_bounded_and_the_error_names_it() {
        // A longer value used to overflow `Instant` arithmetic (a panic, inside the
        // intentions watch a silent end of invalidation); each is refused at parse time.
        let files = [
            (IDENTITY_SOURCE, "files"),
            (FILES_KEY, "/k.pem"),
            (FILES_CHAIN, "/c.pem"),
            (FILES_ROOTS, "/r.pem"),
        ];
        for key in [
            REQUEST_TIMEOUT,
            WATCH_WAIT,
            AUTHZ_CACHE_TTL,
            AUTHZ_MAX_STALE,
            FILES_POLL_INTERVAL,
        ] {
            let props = |value: &str| {
                let mut p: BTreeMap<String, String> = [(SERVICE, "trino"), (key, value)]
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                if key == FILES_POLL_INTERVAL {
                    p.extend(files.iter().map(|(k, v)| (k.to_string(), v.to_string())));
                }
                p
            };
            // Consul itself caps a blocking query's wait at 10 minutes.
            let longest = if key == WATCH_WAIT { "10m" } else { "365d" };
            Settings::from_sources(&props(longest), |_| None)
                .unwrap_or_else(|e| panic!("{key}={longest}: {e}"));
            for too_long in ["366d", "100000000000h"] {
                let e = Settings::from_sources(&props(too_long), |_| None).unwrap_err();
                let text = e.to_string();
                assert!(
                    e.is_invalid_argument() && text.contains(key),
                    "{key}={too_long}: {text}"
                );
            }
        }
    }

    #[test]
    fn a_token_file_is_read_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("token");
        std::fs::write(&ok, "11111111-2222-3333-4444-555555555555\n").unwrap();
        let huge = dir.path().join("huge");
        std::fs::write(&huge, vec![b'a'; 64 * 1024 + 1]).unwrap();
        let settings = |path: &std::path::Path| {
            let props: BTreeMap<String, String> = [
                (SERVICE.to_string(), "trino".to_string()),
                (TOKEN_FILE.to_string(), path.display().to_string()),
            ]
            .into_iter()
            .collect();
            Settings::from_sources(&props, |_| None)
        };
        let read = settings(&ok).unwrap();
        assert_eq!(
            read.agent.token.current().map(|t| t.expose().to_string()),
            Some("11111111-2222-3333-4444-555555555555".to_string())
        );
        for too_big in [huge.as_path(), std::path::Path::new("/dev/zero")] {
            let e = settings(too_big).unwrap_err().to_string();
            assert!(e.contains(TOKEN_FILE) && e.contains("larger than"), "{e}");
        }
    }

    #[test]
    fn flags() {
        assert!(parse_flag("k", " TRUE ").unwrap());
        assert!(!parse_flag("k", "false").unwrap());
        for bad in ["yes", "1", "", "truee"] {
            let e = parse_flag("consulconnect.intentions", bad).unwrap_err();
            assert!(e.to_string().contains("consulconnect.intentions"), "{e}");
        }
    }

    /// Rows of the README's configuration table: (keys of the row, default cell).
    fn readme_rows() -> Vec<(Vec<String>, String)> {
        let readme = include_str!("../../README.md");
        let mut rows = Vec::new();
        for line in readme.lines().filter(|l| l.starts_with("| `consul.")) {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let mut keys = Vec::new();
            for part in cells[1].split(',') {
                let name = part.trim().trim_matches('`');
                if let Some(suffix) = name.strip_prefix('.') {
                    // `consul.identity.files.key`, `.chain`: same parent as the first key.
                    let first: &String = &keys[0];
                    let parent = &first[..first.rfind('.').unwrap()];
                    keys.push(format!("{parent}.{suffix}"));
                } else {
                    keys.push(name.to_string());
                }
            }
            rows.push((keys, cells[3].to_string()));
        }
        rows
    }

    #[test]
    fn readme_documents_every_key_and_these_defaults() {
        let rows = readme_rows();
        let documented: Vec<&String> = rows.iter().flat_map(|(k, _)| k).collect();
        for key in KEYS {
            assert!(
                documented.iter().any(|d| d == key),
                "{key} is not in the README's table"
            );
        }
        for key in &documented {
            assert!(
                KEYS.contains(&key.as_str()),
                "the README documents unknown key {key}"
            );
        }
        for (key, default) in DEFAULTS {
            let (_, cell) = rows
                .iter()
                .find(|(k, _)| k.iter().any(|k| k == key))
                .unwrap();
            assert_eq!(cell, &format!("`{default}`"), "README default of {key}");
        }
        // Setting a documented default explicitly changes nothing.
        let files = [
            (IDENTITY_SOURCE, "files"),
            (FILES_KEY, "/k"),
            (FILES_CHAIN, "/c"),
            (FILES_ROOTS, "/r"),
        ];
        for (key, default) in DEFAULTS {
            let mut base = props(&[(SERVICE, "trino")]);
            if *key == FILES_POLL_INTERVAL {
                base = props(&files);
            }
            let implicit = Settings::from_sources(&base, no_env).unwrap();
            base.insert(key.to_string(), default.to_string());
            let explicit = Settings::from_sources(&base, no_env).unwrap();
            assert_eq!(
                format!("{implicit:?}"),
                format!("{explicit:?}"),
                "{key}={default} is not the default"
            );
        }
    }
}
