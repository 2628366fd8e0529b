//! Identity sources: where leaf and roots come from.
//!
//! Consul documents the agent's leaf/roots endpoints as deprecated (to be replaced by a
//! proxyless gRPC integration), so nothing downstream depends on them: a source only
//! fetches and decodes material and hands it to the publisher (`super::publisher`), which
//! alone decides what gets published. Two sources exist: the agent API and PEM files
//! written by another tool.

use crate::error::{CertificateError, Error, Result};
use crate::identity::Root;
use crate::x509;
use rustls::pki_types::CertificateDer;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use zeroize::Zeroizing;

/// Decoded but not yet validated roots.
#[derive(Clone, Debug)]
pub struct RootsMaterial {
    /// Trust domain as announced by the source.
    pub trust_domain: String,
    /// The roots.
    pub roots: Vec<Root>,
}

/// Decoded but not yet validated leaf.
pub struct LeafMaterial {
    /// Leaf first, then intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 private key.
    pub key_pkcs8: Zeroizing<Vec<u8>>,
}

/// What a source reports.
pub enum SourceEvent {
    /// New roots.
    Roots(RootsMaterial),
    /// A new leaf.
    Leaf(LeafMaterial),
    /// Roots and leaf that belong together (files source), and where the publisher's
    /// verdict on them goes.
    Both(RootsMaterial, LeafMaterial, oneshot::Sender<Verdict>),
    /// A successful check that found nothing new on this channel.
    Unchanged(Channel),
    /// A failed fetch on this channel; the last good material stays in service.
    Failed(Channel, Error),
}

/// What the publisher made of material sent with a [`SourceEvent::Both`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Accepted (published, or the same as what is published).
    Accepted,
    /// Rejected for good: sending it again would change nothing.
    Rejected,
    /// Rejected because it is not valid yet; worth sending again from this time on.
    NotYet(SystemTime),
}

/// Which stream of material an event is about, so that a success on one stream never
/// hides a failure on another in the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// CA roots.
    Roots,
    /// The leaf certificate and key.
    Leaf,
    /// Roots and leaf together (files source).
    Files,
    /// The core's own checks: PEM files, leaf expiry.
    Local,
}

/// Channels a running source uses.
pub struct SourceContext {
    /// Where events go.
    pub events: mpsc::Sender<SourceEvent>,
    /// Flips to `true` when the handle closes.
    pub shutdown: watch::Receiver<bool>,
    /// Notified when the publisher wants the leaf fetched again now (near expiry).
    pub refresh: Arc<Notify>,
}

/// A boxed future run on the library runtime.
pub type SourceTask = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A provider of leaf and roots.
pub trait IdentitySource: Send + 'static {
    /// The task that watches the source until shutdown.
    fn run(self: Box<Self>, ctx: SourceContext) -> SourceTask;
}

/// Retry delays: exponential from 200 ms to 5 s with jitter, forever.
pub(crate) fn backoff() -> impl Iterator<Item = Duration> {
    use backon::BackoffBuilder;
    backon::ExponentialBuilder::new()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(Duration::from_secs(5))
        .with_jitter()
        .without_max_times()
        .build()
}

/// Waits `delay`, or returns `false` early when shutdown is signalled.
pub(crate) async fn sleep_or_shutdown(
    delay: Duration,
    shutdown: &mut watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(delay) => true,
        _ = shutdown.wait_for(|closed| *closed) => false,
    }
}

/// Decodes one root (PEM certificate and PEM intermediates).
pub(crate) fn decode_root(
    id: &str,
    cert_pem: &str,
    intermediates_pem: &[String],
    active: bool,
) -> Result<Root> {
    let cert = x509::certs_from_pem(cert_pem.as_bytes(), "CA root")?
        .into_iter()
        .next()
        .ok_or_else(|| CertificateError::NoCertificateBlock {
            what: "CA root".into(),
        })?;
    let mut intermediates = Vec::new();
    for pem in intermediates_pem {
        intermediates.extend(x509::certs_from_pem(pem.as_bytes(), "CA intermediate")?);
    }
    Ok(Root {
        id: id.to_string(),
        cert,
        intermediates,
        active,
    })
}

/// Decodes a leaf (PEM chain + PEM key in any encoding Consul uses).
pub(crate) fn decode_leaf(chain_pem: &[u8], key_pem: &[u8]) -> Result<LeafMaterial> {
    let chain = x509::certs_from_pem(chain_pem, "leaf certificate")?;
    let key = x509::key_from_pem(key_pem, "leaf private key")?;
    Ok(LeafMaterial {
        chain,
        key_pkcs8: x509::to_pkcs8(&key)?,
    })
}
