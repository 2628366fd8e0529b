//! The current identity: leaf, roots and trust domain, published as one immutable value
//! behind an atomic pointer swap. Readers never block and never see a half-updated state.

use crate::x509::LeafInfo;
use arc_swap::ArcSwapOption;
use rustls::pki_types::CertificateDer;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;
use zeroize::Zeroizing;

/// A verified leaf: certificate chain (leaf first) and its private key.
pub struct Leaf {
    /// DER certificates, leaf first, then intermediates.
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 DER private key (zeroed on drop).
    pub key_pkcs8: Zeroizing<Vec<u8>>,
    /// Parsed facts about the leaf.
    pub info: LeafInfo,
}

impl std::fmt::Debug for Leaf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Leaf")
            .field("info", &self.info)
            .field("chain_len", &self.chain.len())
            .field("key", &"<redacted>")
            .finish()
    }
}

/// One trusted CA root.
#[derive(Clone, Debug)]
pub struct Root {
    /// Consul's id of the root (empty for the files source).
    pub id: String,
    /// DER of the root certificate.
    pub cert: CertificateDer<'static>,
    /// DER intermediates that chain to this root.
    pub intermediates: Vec<CertificateDer<'static>>,
    /// Whether this root signs new leaves.
    pub active: bool,
}

/// All trusted roots (during a CA rotation, old and new).
#[derive(Clone, Debug)]
pub struct Roots {
    /// SPIFFE trust domain, lower-cased.
    pub trust_domain: String,
    /// The roots.
    pub roots: Vec<Root>,
}

impl Roots {
    /// Root certificates, for chain verification.
    pub fn certs(&self) -> Vec<CertificateDer<'static>> {
        self.roots.iter().map(|r| r.cert.clone()).collect()
    }

    /// Every root's intermediates, for chain verification.
    pub fn intermediates(&self) -> Vec<CertificateDer<'static>> {
        self.roots
            .iter()
            .flat_map(|r| r.intermediates.iter().cloned())
            .collect()
    }

    /// The active root, if one is marked.
    pub fn active(&self) -> Option<&Root> {
        self.roots.iter().find(|r| r.active)
    }
}

/// One published state. Immutable; a change makes a new `Snapshot` with a higher generation.
#[derive(Debug)]
pub struct Snapshot {
    /// Increases by one with every publication.
    pub generation: u64,
    /// Current leaf.
    pub leaf: Arc<Leaf>,
    /// Current roots.
    pub roots: Arc<Roots>,
}

/// Health of the identity watchers.
#[derive(Clone, Debug, Default)]
pub struct Status {
    /// Generation of the current snapshot (0 before the first).
    pub generation: u64,
    /// When material was last fetched and accepted (or found unchanged).
    pub last_success: Option<SystemTime>,
    /// The most recent error and when it happened; cleared by the next success.
    pub last_error: Option<(SystemTime, String)>,
    /// End of validity of the current leaf.
    pub next_expiry: Option<SystemTime>,
    /// Number of leaf changes published (after the first).
    pub leaf_rotations: u64,
    /// Number of roots changes published (after the first).
    pub roots_rotations: u64,
    /// Whether the current leaf has expired (material is kept, but it is no longer usable).
    pub leaf_expired: bool,
}

/// Holds the current snapshot and status; shared by the watchers and all readers.
#[derive(Default)]
pub struct Store {
    current: ArcSwapOption<Snapshot>,
    generation: AtomicU64,
    status: Mutex<Status>,
    changed: Option<tokio::sync::watch::Sender<u64>>,
}

impl Store {
    /// A new empty store.
    pub fn new() -> Self {
        let (tx, _) = tokio::sync::watch::channel(0);
        Store {
            changed: Some(tx),
            ..Store::default()
        }
    }

    /// The current snapshot (lock-free).
    pub fn load(&self) -> Option<Arc<Snapshot>> {
        self.current.load_full()
    }

    /// Generation of the current snapshot (a single atomic read).
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Publishes a new leaf/roots pair and returns its generation.
    ///
    /// One writer (the publisher task) calls this. The order is deliberate: the snapshot
    /// is stored first, then the generation counter (Release, read with Acquire by
    /// [`Store::generation`]). A reader that sees generation N therefore finds a snapshot
    /// of generation N or later with [`Store::load`]; bumping the counter first would let
    /// it find snapshot N-1 (the test below catches that order within milliseconds). The
    /// other way round, a reader that loaded snapshot N may briefly still read N-1 from
    /// `generation()`: it only ever sees the counter lag, which costs a cache miss at most.
    pub fn publish(&self, leaf: Arc<Leaf>, roots: Arc<Roots>) -> u64 {
        let generation = self.generation() + 1;
        self.current.store(Some(Arc::new(Snapshot {
            generation,
            leaf,
            roots,
        })));
        self.generation.store(generation, Ordering::Release);
        self.update_status(|s| s.generation = generation);
        if let Some(tx) = &self.changed {
            tx.send_replace(generation);
        }
        generation
    }

    /// Subscribes to generation changes.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        match &self.changed {
            Some(tx) => tx.subscribe(),
            None => tokio::sync::watch::channel(0).1,
        }
    }

    /// A copy of the status.
    pub fn status(&self) -> Status {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies `f` to the status.
    pub fn update_status(&self, f: impl FnOnce(&mut Status)) {
        let mut status = self.status.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut status);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Ca;
    use std::sync::atomic::AtomicBool;

    /// A reader that has seen generation N finds a snapshot of generation N or later,
    /// however it races with the publisher.
    #[test]
    fn a_reader_never_finds_a_snapshot_older_than_the_generation_it_saw() {
        let ca = Ca::new("ca");
        let (leaf, roots) = (Arc::new(ca.own_leaf("trino")), Arc::new(ca.roots()));
        let store = Arc::new(Store::new());
        let done = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..2)
            .map(|_| {
                let (store, done) = (store.clone(), done.clone());
                std::thread::spawn(move || {
                    let mut checks = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        let seen = store.generation();
                        let found = store.load().map_or(0, |s| s.generation);
                        assert!(
                            found >= seen,
                            "saw generation {seen}, found snapshot {found}"
                        );
                        checks += 1;
                    }
                    checks
                })
            })
            .collect();
        for _ in 0..200_000 {
            store.publish(leaf.clone(), roots.clone());
        }
        done.store(true, Ordering::Relaxed);
        for reader in readers {
            assert!(reader.join().expect("reader") > 0);
        }
        assert_eq!(store.generation(), 200_000);
        assert_eq!(store.load().unwrap().generation, 200_000);
    }
}
