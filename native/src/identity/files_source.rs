//! The files source: key, chain and roots PEM files written by another tool (Consul
//! template, Vault Agent, a SPIRE helper, cert-manager), polled for changes.
//!
//! Files are compared by content hash, so both in-place rewrites and rename-into-place
//! are seen. A half-written set (unparsable PEM, or a key that does not match the chain)
//! is reported as an error and retried on the next poll; the publisher never sees it as
//! valid because it re-checks key and chain before publishing.

use super::source::{
    decode_leaf, sleep_or_shutdown, Channel, IdentitySource, RootsMaterial, SourceContext,
    SourceEvent, SourceTask,
};
use crate::error::{Error, Result};
use crate::identity::Root;
use crate::x509;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::time::Duration;

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
            let mut last_good: Option<[u8; 32]> = None;
            loop {
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
                        if last_good == Some(digest) {
                            SourceEvent::Unchanged(Channel::Files)
                        } else {
                            match decode(&key, &chain, &roots) {
                                Ok((r, l)) => {
                                    last_good = Some(digest);
                                    SourceEvent::Both(r, l)
                                }
                                Err(e) => SourceEvent::Failed(Channel::Files, e),
                            }
                        }
                    }
                };
                if ctx.events.send(event).await.is_err() {
                    return;
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

fn decode(
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
