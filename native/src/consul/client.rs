//! HTTP client for the local Consul agent's Connect endpoints.
//!
//! reqwest with rustls (ring provider) over TCP, TLS or a Unix socket. Blocking queries
//! follow Consul's protocol: `index` from the previous `X-Consul-Index`, `wait` bounded,
//! and a client timeout a little above `wait` (Consul adds up to wait/16 of jitter).
//! Responses are size-capped and validated before anything downstream sees them.

use crate::config::{AgentAddress, AgentSettings};
use crate::consul::token::TokenSource;
use crate::error::{clip, Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Largest response body accepted from the agent.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// A response body together with the `X-Consul-Index` it was served at.
#[derive(Clone, Debug)]
pub struct Indexed<T> {
    /// The decoded body.
    pub value: T,
    /// Raft index for the next blocking query.
    pub index: u64,
}

/// One CA root from `/v1/agent/connect/ca/roots`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct CaRoot {
    /// Consul's id of the root (SHA-1 fingerprint in colon-hex form).
    #[serde(rename = "ID")]
    pub id: String,
    /// Human-readable name.
    #[serde(default)]
    pub name: String,
    /// PEM of the root certificate.
    pub root_cert: String,
    /// PEM intermediates that chain to this root (e.g. cross-signed during rotation).
    #[serde(default)]
    pub intermediate_certs: Option<Vec<String>>,
    /// Whether this root signs new leaves.
    #[serde(default)]
    pub active: bool,
}

/// `/v1/agent/connect/ca/roots`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct CaRoots {
    /// ID of the active root.
    #[serde(rename = "ActiveRootID")]
    pub active_root_id: String,
    /// The cluster's SPIFFE trust domain.
    pub trust_domain: String,
    /// All roots currently trusted.
    pub roots: Vec<CaRoot>,
}

/// `/v1/agent/connect/ca/leaf/<service>`.
#[derive(Clone, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LeafCert {
    /// Serial number in colon-hex form.
    pub serial_number: String,
    /// PEM leaf certificate (possibly followed by intermediates).
    #[serde(rename = "CertPEM")]
    pub cert_pem: String,
    /// PEM private key (never logged).
    #[serde(rename = "PrivateKeyPEM")]
    pub private_key_pem: String,
    /// Service name.
    pub service: String,
    /// SPIFFE id of the service.
    #[serde(rename = "ServiceURI")]
    pub service_uri: String,
}

impl std::fmt::Debug for LeafCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeafCert")
            .field("serial_number", &self.serial_number)
            .field("service", &self.service)
            .field("service_uri", &self.service_uri)
            .field("private_key_pem", &"<redacted>")
            .finish()
    }
}

impl Drop for LeafCert {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        self.private_key_pem.zeroize();
    }
}

/// Body of `POST /v1/agent/connect/authorize`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeRequest {
    /// Destination service name.
    pub target: String,
    /// Client's SPIFFE id.
    #[serde(rename = "ClientCertURI")]
    pub client_cert_uri: String,
    /// Client's serial in colon-hex.
    pub client_cert_serial: String,
}

/// Answer of `POST /v1/agent/connect/authorize`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizeResponse {
    /// Whether the connection is allowed.
    pub authorized: bool,
    /// Consul's explanation.
    #[serde(default)]
    pub reason: String,
}

/// One intention as listed by `/v1/connect/intentions/match` (only the fields the library
/// reads; the rest of Consul's answer is ignored). Consul leaves out the empty ones.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Intention {
    /// Legacy intention id (only intentions created through the old API have one).
    #[serde(default, rename = "ID")]
    pub id: String,
    /// Source service name (`*` for any).
    #[serde(default)]
    pub source_name: String,
    /// Source namespace (`default` on Consul CE, `*` for any).
    #[serde(default, rename = "SourceNS")]
    pub source_ns: String,
    /// Source admin partition (empty: `default`).
    #[serde(default)]
    pub source_partition: String,
    /// Source cluster peer (empty: this cluster).
    #[serde(default)]
    pub source_peer: String,
    /// Source sameness group (Enterprise).
    #[serde(default)]
    pub source_sameness_group: String,
    /// Destination service name.
    #[serde(default)]
    pub destination_name: String,
    /// Destination namespace.
    #[serde(default, rename = "DestinationNS")]
    pub destination_ns: String,
    /// Destination admin partition (empty: `default`).
    #[serde(default)]
    pub destination_partition: String,
    /// `allow` or `deny`; empty for an intention with HTTP permissions.
    #[serde(default)]
    pub action: String,
    /// Layer-7 (HTTP) permissions; empty for a plain layer-4 intention.
    #[serde(default)]
    pub permissions: Option<Vec<serde_json::Value>>,
    /// Consul's precedence (higher wins).
    #[serde(default)]
    pub precedence: i64,
}

/// The list for `destination` out of a decoded `/v1/connect/intentions/match` answer
/// (Consul answers a map from each destination asked for to its list).
pub(crate) fn match_list(
    mut all: std::collections::HashMap<String, Vec<Intention>>,
    destination: &str,
) -> Result<Vec<Intention>> {
    all.remove(destination).ok_or_else(|| {
        Error::agent(
            "/v1/connect/intentions/match",
            format!("answer does not list destination `{}`", clip(destination)),
        )
    })
}

/// The agent endpoints whose failures are counted, in the order of [`AgentClient::errors`].
pub const ENDPOINTS: [&str; 4] = ["leaf", "roots", "authorize", "intentions"];

/// An endpoint of [`ENDPOINTS`].
#[derive(Clone, Copy, Debug)]
enum Endpoint {
    Leaf = 0,
    Roots = 1,
    Authorize = 2,
    Intentions = 3,
}

/// A client for one agent.
#[derive(Clone)]
pub struct AgentClient {
    /// Failed requests per endpoint (shared by every clone: the identity's watchers and
    /// its authorizer use one client).
    errors: Arc<[std::sync::atomic::AtomicU64; 4]>,
    http: reqwest::Client,
    base: String,
    /// The agent address as configured, for error messages.
    shown: String,
    token: TokenSource,
    namespace: Option<String>,
    partition: Option<String>,
    request_timeout: Duration,
    watch_wait: Duration,
}

impl std::fmt::Debug for AgentClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl AgentClient {
    /// Builds a client from settings (reads the agent TLS files once).
    pub fn new(settings: &AgentSettings) -> Result<Self> {
        let tls = tls_config(settings)?;
        let mut builder = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .connect_timeout(settings.request_timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .no_proxy()
            // Never follow a redirect: reqwest would re-send the request, X-Consul-Token
            // included, to whatever host the redirect names. A 3xx is an error instead
            // (see `read_body`).
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("presto-consul-connect/", env!("CARGO_PKG_VERSION")));
        let base = match &settings.address {
            AgentAddress::Http(url) => match (&settings.server_name, url.scheme()) {
                // CONSUL_TLS_SERVER_NAME: connect to the configured address but verify the
                // certificate against this name (reqwest derives SNI/verification from the URL host).
                (Some(name), "https") => {
                    let port = url.port_or_known_default().unwrap_or(443);
                    let host = url.host_str().unwrap_or_default();
                    let addrs: Vec<std::net::SocketAddr> =
                        std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
                            .map_err(|e| {
                                Error::config(
                                    "consul.address",
                                    format!("cannot resolve {host}: {e}"),
                                )
                            })?
                            .collect();
                    builder = builder.resolve_to_addrs(name, &addrs);
                    format!("https://{name}:{port}")
                }
                _ => url.as_str().trim_end_matches('/').to_string(),
            },
            AgentAddress::Unix(path) => {
                builder = builder.unix_socket(path.clone());
                "http://consul-agent".to_string()
            }
        };
        let http = builder
            .build()
            .map_err(|e| Error::agent(&base, format!("cannot build HTTP client: {e}")))?;
        let shown = match &settings.address {
            AgentAddress::Http(url) => url.as_str().trim_end_matches('/').to_string(),
            AgentAddress::Unix(path) => format!("unix://{}", path.display()),
        };
        Ok(AgentClient {
            errors: Arc::default(),
            http,
            base,
            shown,
            token: settings.token.clone(),
            namespace: settings.namespace.clone(),
            partition: settings.partition.clone(),
            request_timeout: settings.request_timeout,
            watch_wait: settings.watch_wait,
        })
    }

    /// The namespace and partition every request is scoped to (`consul.namespace`,
    /// `consul.partition`), when set.
    pub(crate) fn scope(&self) -> (Option<&str>, Option<&str>) {
        (self.namespace.as_deref(), self.partition.as_deref())
    }

    /// The CA roots; with `index`, a blocking query that returns when they change.
    pub async fn roots(&self, index: Option<u64>) -> Result<Indexed<CaRoots>> {
        let got = self.fetch_roots(index).await;
        self.counted(Endpoint::Roots, got)
    }

    async fn fetch_roots(&self, index: Option<u64>) -> Result<Indexed<CaRoots>> {
        let got: Indexed<CaRoots> = self.get("/v1/agent/connect/ca/roots", index).await?;
        validate_roots(
            &format!("{}/v1/agent/connect/ca/roots", self.shown),
            &got.value,
        )?;
        Ok(got)
    }

    /// Failed requests per endpoint of [`ENDPOINTS`] since the client was built (every
    /// error: unreachable, refused by ACLs, timed out, an answer that is not valid).
    pub fn errors(&self) -> [u64; 4] {
        std::array::from_fn(|i| self.errors[i].load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Why the token file could not be re-read (the last good token is still sent) and
    /// since when, if it could not.
    pub fn token_error(&self) -> Option<(std::time::SystemTime, String)> {
        self.token.error()
    }

    fn counted<T>(&self, endpoint: Endpoint, result: Result<T>) -> Result<T> {
        if result.is_err() {
            self.errors[endpoint as usize].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        result
    }

    /// The leaf certificate for `service`; with `index`, a blocking query.
    pub async fn leaf(&self, service: &str, index: Option<u64>) -> Result<Indexed<LeafCert>> {
        let got = self.fetch_leaf(service, index).await;
        self.counted(Endpoint::Leaf, got)
    }

    async fn fetch_leaf(&self, service: &str, index: Option<u64>) -> Result<Indexed<LeafCert>> {
        let path = format!(
            "/v1/agent/connect/ca/leaf/{}",
            percent_encoding::utf8_percent_encode(service, percent_encoding::NON_ALPHANUMERIC)
        );
        let got: Indexed<LeafCert> = self.get(&path, index).await?;
        if got.value.cert_pem.trim().is_empty() || got.value.private_key_pem.trim().is_empty() {
            return Err(Error::agent(
                format!("{}{path}", self.shown),
                "leaf response without certificate or key",
            ));
        }
        Ok(got)
    }

    /// Asks the agent whether `req.client_cert_uri` may connect to `req.target`.
    pub async fn authorize(&self, req: &AuthorizeRequest) -> Result<AuthorizeResponse> {
        let got = self.ask_authorize(req).await;
        self.counted(Endpoint::Authorize, got)
    }

    async fn ask_authorize(&self, req: &AuthorizeRequest) -> Result<AuthorizeResponse> {
        let url = format!("{}/v1/agent/connect/authorize", self.base);
        let endpoint = &format!("{}/v1/agent/connect/authorize", self.shown);
        let resp = self
            .request(self.http.post(url).json(req), None)
            .timeout(self.request_timeout)
            .send()
            .await
            .map_err(|e| Error::agent(endpoint, describe(&e)))?;
        let (body, _) = read_body(endpoint, resp, false).await?;
        decode(endpoint, &body)
    }

    /// The intentions that apply to `destination` as a destination, most precise first
    /// (`/v1/connect/intentions/match?by=destination`); with `index`, a blocking query that
    /// returns when they change.
    pub async fn intention_match(
        &self,
        destination: &str,
        index: Option<u64>,
    ) -> Result<Indexed<Vec<Intention>>> {
        let got = self.fetch_intention_match(destination, index).await;
        self.counted(Endpoint::Intentions, got)
    }

    async fn fetch_intention_match(
        &self,
        destination: &str,
        index: Option<u64>,
    ) -> Result<Indexed<Vec<Intention>>> {
        let endpoint = format!(
            "/v1/connect/intentions/match?by=destination&name={}",
            percent_encoding::utf8_percent_encode(destination, percent_encoding::NON_ALPHANUMERIC)
        );
        let got: Indexed<std::collections::HashMap<String, Vec<Intention>>> =
            self.get(&endpoint, index).await?;
        Ok(Indexed {
            value: match_list(got.value, destination)?,
            index: got.index,
        })
    }

    /// GET with optional blocking-query index.
    async fn get<T: DeserializeOwned>(
        &self,
        endpoint: &str,
        index: Option<u64>,
    ) -> Result<Indexed<T>> {
        let url = format!("{}{}", self.base, endpoint);
        let endpoint = &format!("{}{}", self.shown, endpoint);
        let timeout = match index {
            Some(_) => self.watch_wait + self.watch_wait / 16 + self.request_timeout,
            None => self.request_timeout,
        };
        let resp = self
            .request(self.http.get(url), index)
            .timeout(timeout)
            .send()
            .await
            .map_err(|e| Error::agent(endpoint, describe(&e)))?;
        let (body, index) = read_body(endpoint, resp, true).await?;
        Ok(Indexed {
            value: decode(endpoint, &body)?,
            index: index.unwrap_or(0),
        })
    }

    fn request(
        &self,
        mut rb: reqwest::RequestBuilder,
        index: Option<u64>,
    ) -> reqwest::RequestBuilder {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(index) = index {
            query.push(("index", index.to_string()));
            query.push(("wait", format!("{}ms", self.watch_wait.as_millis())));
        }
        if let Some(ns) = &self.namespace {
            query.push(("ns", ns.clone()));
        }
        if let Some(ap) = &self.partition {
            query.push(("partition", ap.clone()));
        }
        if !query.is_empty() {
            rb = rb.query(&query);
        }
        if let Some(token) = &self.token.current() {
            // Sensitive: kept out of reqwest's and hyper's debug output (and HPACK tables).
            match reqwest::header::HeaderValue::from_str(token.expose()) {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    rb = rb.header("X-Consul-Token", value);
                }
                // Not a valid header value: the request fails with reqwest's error, which
                // does not show the value.
                Err(_) => rb = rb.header("X-Consul-Token", token.expose()),
            }
        }
        rb
    }
}

/// Reads a capped body; checks status and (when `want_index`) `X-Consul-Index`.
async fn read_body(
    endpoint: &str,
    mut resp: reqwest::Response,
    want_index: bool,
) -> Result<(Zeroizing<Vec<u8>>, Option<u64>)> {
    let status = resp.status();
    if status.is_redirection() {
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_else(|| "(no Location header)".into());
        return Err(Error::agent(
            endpoint,
            format!(
                "HTTP {status}: the agent answered with a redirect to {}, which is not followed \
                 (the ACL token is only ever sent to the configured address)",
                clip(location.trim())
            ),
        ));
    }
    let index = match resp.headers().get("X-Consul-Index") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Error::agent(endpoint, "malformed X-Consul-Index header"))?,
        ),
    };
    if resp.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Error::agent(endpoint, "response larger than 8 MiB"));
    }
    // The leaf's answer carries its private key: the body is zeroed when dropped, and grown
    // by hand so that no reallocation leaves an unzeroed copy behind.
    let mut body = Zeroizing::new(Vec::with_capacity(
        resp.content_length().map_or(0, |n| n as usize), // ≤ MAX_BODY, checked above
    ));
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::agent(endpoint, format!("reading response: {}", describe(&e))))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            return Err(Error::agent(endpoint, "response larger than 8 MiB"));
        }
        append_zeroizing(&mut body, &chunk);
    }
    if !status.is_success() {
        let text = String::from_utf8_lossy(&body);
        let hint = match status.as_u16() {
            403 if text.contains("ACL not found") => {
                " (Consul does not know the ACL token: revoked, expired or mistyped; a \
                 consul.token-file is re-read when it changes)"
            }
            403 => {
                " (the ACL token lacks a permission; the node's token needs `service \"<its service>\" \
                 { policy = \"write\", intentions = \"read\" }`, see the README's ACL policy)"
            }
            _ => "",
        };
        return Err(Error::agent(
            endpoint,
            format!("HTTP {status}{hint}: {}", clip(text.trim())),
        ));
    }
    if want_index && index.is_none_or(|i| i == 0) {
        return Err(Error::agent(
            endpoint,
            "response without a valid X-Consul-Index",
        ));
    }
    Ok((body, index))
}

/// Appends to a zeroizing buffer without leaving the old allocation unzeroed: when it must
/// grow, the bytes move to a new buffer and the old one is zeroed as it is dropped.
fn append_zeroizing(body: &mut Zeroizing<Vec<u8>>, bytes: &[u8]) {
    let needed = body.len() + bytes.len();
    if needed > body.capacity() {
        let mut bigger = Zeroizing::new(Vec::with_capacity(needed.max(body.capacity() * 2)));
        bigger.extend_from_slice(body);
        *body = bigger;
    }
    body.extend_from_slice(bytes);
}

pub(crate) fn decode<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| Error::agent(endpoint, format!("unexpected response body: {e}")))
}

fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut text = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_connect() {
        "cannot connect".to_string()
    } else {
        "request failed".to_string()
    };
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub(crate) fn validate_roots(endpoint: &str, roots: &CaRoots) -> Result<()> {
    if roots.trust_domain.trim().is_empty() {
        return Err(Error::agent(endpoint, "roots without a trust domain"));
    }
    if roots.roots.is_empty() {
        return Err(Error::agent(endpoint, "empty roots list"));
    }
    if !roots
        .roots
        .iter()
        .any(|r| r.active && r.id == roots.active_root_id)
    {
        return Err(Error::agent(endpoint, "no root is marked active"));
    }
    Ok(())
}

/// rustls client configuration for talking to the agent over HTTPS.
fn tls_config(settings: &AgentSettings) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &settings.ca_file {
        Some(path) => {
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| {
                Error::config("consul.tls.ca-file", format!("{}: {e}", path.display()))
            })? {
                let cert = cert.map_err(|e| {
                    Error::config("consul.tls.ca-file", format!("{}: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    Error::config("consul.tls.ca-file", format!("{}: {e}", path.display()))
                })?;
            }
        }
        None if settings.address.is_https() => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = roots.add(cert);
            }
        }
        None => {}
    }
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config("consul.address", format!("TLS setup: {e}")))?
        .with_root_certificates(roots);
    let config = match (&settings.cert_file, &settings.key_file) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|it| it.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(|e| {
                    Error::config("consul.tls.cert-file", format!("{}: {e}", cert.display()))
                })?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                Error::config("consul.tls.key-file", format!("{}: {e}", key.display()))
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::config("consul.tls.key-file", e.to_string()))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;
    use std::collections::BTreeMap;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::Mutex;

    /// A one-shot HTTP server on loopback: every connection's request head is recorded and
    /// answered with `response`. Returns its address and the request heads received.
    fn serve(response: impl Fn() -> String + Send + 'static) -> (String, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut head = String::new();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    head.push_str(&line);
                }
                record.lock().unwrap().push(head);
                let _ = (&stream).write_all(response().as_bytes());
            }
        });
        (address, seen)
    }

    fn client(address: &str, token: &str) -> AgentClient {
        let props: BTreeMap<String, String> = [
            (crate::config::ADDRESS, address),
            (crate::config::TOKEN, token),
            (crate::config::REQUEST_TIMEOUT, "2s"),
            (crate::config::SERVICE, "trino"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        AgentClient::new(&Settings::from_sources(&props, |_| None).unwrap().agent).unwrap()
    }

    #[tokio::test]
    async fn a_redirect_is_an_error_and_the_token_never_leaves_for_its_target() {
        let token = "5f0b7a1c-redirect-test-token";
        let (elsewhere, elsewhere_seen) = serve(|| {
            "HTTP/1.1 200 OK\r\nX-Consul-Index: 7\r\nContent-Length: 2\r\n\r\n{}".to_string()
        });
        let location = format!("{elsewhere}/v1/agent/connect/ca/roots");
        let redirect = location.clone();
        let (agent, agent_seen) = serve(move || {
            format!("HTTP/1.1 307 Temporary Redirect\r\nLocation: {redirect}\r\nContent-Length: 0\r\n\r\n")
        });
        let error = client(&agent, token).roots(None).await.unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::Agent { .. }), "{error:?}");
        assert!(
            text.contains("redirect") && text.contains(&location) && text.contains("not followed"),
            "{text}"
        );
        assert!(!text.contains(token), "{text}");
        // The agent got the token; the redirect's target got nothing at all.
        assert!(agent_seen.lock().unwrap()[0].contains(token));
        std::thread::sleep(Duration::from_millis(200));
        assert!(
            elsewhere_seen.lock().unwrap().is_empty(),
            "the redirect was followed: {:?}",
            elsewhere_seen.lock().unwrap()
        );
    }

    #[test]
    fn the_token_header_is_marked_sensitive() {
        let token = "5f0b7a1c-sensitive-test-token";
        let agent = client("http://127.0.0.1:8500", token);
        let request = agent
            .request(agent.http.get("http://127.0.0.1:8500/v1/agent/self"), None)
            .build()
            .unwrap();
        let value = request.headers().get("X-Consul-Token").unwrap();
        assert_eq!(value.as_bytes(), token.as_bytes());
        assert!(value.is_sensitive());
        assert!(!format!("{request:?}").contains(token));
    }
}
