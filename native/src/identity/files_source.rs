//! The files source: key, chain and roots PEM files written by another tool (Consul
//! template, Vault Agent, a SPIRE helper, cert-manager), polled for changes.
//!
//! Files are compared by content hash, so both in-place rewrites and rename-into-place
//! are seen. A half-written set (unparsable PEM, or a key that does not match the chain)
//! is reported as an error and retried on the next poll; the publisher never sees it as
//! valid because it re-checks key and chain before publishing. A set counts as seen only
//! once the publisher has decided on it ([`Verdict`]): one that is not valid yet (a leaf
//! dated a little ahead of this node's clock) is sent again when it may be.

use super::source::{
    decode_leaf, sleep_or_shutdown, Channel, IdentitySource, RootsMaterial, SourceContext,
    SourceEvent, SourceTask, Verdict,
};
use crate::error::{Error, Result};
use crate::identity::Root;
use crate::x509;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};
use tokio::sync::oneshot;

/// Polls three PEM files.
pub struct FilesSource {
    key: PathBuf,
    chain: PathBuf,
    roots: PathBuf,
    interval: Duration,
}

impl FilesSource {
    /// A source reading `key`, `chain` and `roots` every `interval`.
    pub fn new(key: PathBuf, chain: PathBuf, roots: PathBuf, interval: Duration) -> Self {
        FilesSource {
            key,
            chain,
            roots,
            interval,
        }
    }

    fn read(&self) -> Result<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let read = |p: &PathBuf| std::fs::read(p).map_err(|e| Error::io(p, e));
        Ok((read(&self.key)?, read(&self.chain)?, read(&self.roots)?))
    }
}

impl IdentitySource for FilesSource {
    fn run(self: Box<Self>, ctx: SourceContext) -> SourceTask {
        Box::pin(async move {
            let mut shutdown = ctx.shutdown.clone();
            // The digest of the last set the publisher decided on for good (accepted, or
            // rejected for a reason time does not change): not sent again while unchanged.
            let mut settled: Option<[u8; 32]> = None;
            // A set rejected as not valid yet, and from when to send it again.
            let mut not_yet: Option<([u8; 32], SystemTime)> = None;
            loop {
                let mut verdict = None;
                let event = match self.read() {
                    Err(e) => SourceEvent::Failed(Channel::Files, e),
                    Ok((key, chain, roots)) => {
                        let digest: [u8; 32] = Sha256::new()
                            .chain_update(&key)
                            .chain_update([0])
                            .chain_update(&chain)
                            .chain_update([0])
                            .chain_update(&roots)
                            .finalize()
                            .into();
                        let waiting =
                            not_yet.is_some_and(|(d, at)| d == digest && SystemTime::now() < at);
                        if settled == Some(digest) || waiting {
                            SourceEvent::Unchanged(Channel::Files)
                        } else {
                            match decode(&key, &chain, &roots) {
                                Ok((r, l)) => {
                                    let (tx, rx) = oneshot::channel();
                                    verdict = Some((digest, rx));
                                    SourceEvent::Both(r, l, tx)
                                }
                                Err(e) => SourceEvent::Failed(Channel::Files, e),
                            }
                        }
                    }
                };
                if ctx.events.send(event).await.is_err() {
                    return;
                }
                // Files are marked good only once the publisher accepted them.
                if let Some((digest, rx)) = verdict {
                    let Ok(verdict) = rx.await else { return };
                    (settled, not_yet) = match verdict {
                        Verdict::Accepted | Verdict::Rejected => (Some(digest), None),
                        Verdict::NotYet(at) => (None, Some((digest, at))),
                    };
                }
                tokio::select! {
                    _ = ctx.refresh.notified() => {}
                    keep_going = sleep_or_shutdown(self.interval, &mut shutdown) => {
                        if !keep_going { return; }
                    }
                }
            }
        })
    }
}

pub(crate) fn decode(
    key: &[u8],
    chain: &[u8],
    roots: &[u8],
) -> Result<(RootsMaterial, super::source::LeafMaterial)> {
    let leaf = decode_leaf(chain, key)?;
    let root_certs = x509::certs_from_pem(roots, "roots file")?;
    // The trust domain is the leaf's; the publisher checks the leaf chains to these roots.
    let trust_domain = x509::leaf_info(&leaf.chain[0])?.id.trust_domain;
    let roots = root_certs
        .into_iter()
        .enumerate()
        .map(|(i, cert)| Root {
            id: format!("file-root-{i}"),
            cert,
            intermediates: Vec::new(),
            active: i == 0,
        })
        .collect();
    Ok((
        RootsMaterial {
            trust_domain,
            roots,
        },
        leaf,
    ))
}
