//! Process-wide registry of open identities, for the FFI layers.
//!
//! Foreign callers (JNI, C) hold a plain number, never a pointer, so a stale or forged
//! value can only fail a lookup, not touch freed memory. Opening the same configuration
//! twice returns the same handle with a reference count: several users in one JVM (the
//! authenticator, the JCA provider, other plugins) share one set of watchers.
//!
//! Lookups are lock-free (an [`ArcSwap`] of an immutable list); only open and close take a
//! mutex.

use crate::authz::Authorizer;
use crate::config::Settings;
use crate::error::{Error, Result};
use crate::identity::Identity;
use arc_swap::ArcSwap;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use zeroize::Zeroize;

/// One open identity as the FFI layers see it.
#[derive(Debug)]
pub struct Handle {
    /// The number foreign callers hold.
    pub id: u64,
    /// The running identity.
    pub identity: Identity,
    /// Authorization for this identity, started on first use.
    authorizer: OnceLock<Authorizer>,
    authorizer_init: Mutex<()>,
}

impl Handle {
    /// The authorizer's invalidation epoch (it grows with every intentions change), or 0
    /// while no authorizer runs. One atomic read; never starts the authorizer.
    pub fn decision_epoch(&self) -> u64 {
        self.started_authorizer().map_or(0, Authorizer::epoch)
    }

    /// The running authorizer, if one was started (never starts it).
    pub fn started_authorizer(&self) -> Option<&Authorizer> {
        self.authorizer.get()
    }

    /// The authorizer (decision cache + intentions watch), started on first use. Fails
    /// when no target service is configured.
    pub fn authorizer(&self) -> Result<&Authorizer> {
        if let Some(authorizer) = self.authorizer.get() {
            return Ok(authorizer);
        }
        let _init = self
            .authorizer_init
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if self.authorizer.get().is_none() {
            let _ = self
                .authorizer
                .set(Authorizer::from_identity(&self.identity)?);
        }
        self.authorizer
            .get()
            .ok_or_else(|| Error::NotReady("authorizer did not start".into()))
    }

    /// Stops the watchers of the identity and, if started, of the authorizer.
    fn close(&self) {
        if let Some(authorizer) = self.authorizer.get() {
            authorizer.close();
        }
        self.identity.close();
    }
}

struct Entry {
    handle: Arc<Handle>,
    /// SHA-256 of the properties that opened it ([`fingerprint`]): enough to share an
    /// identity between identical configurations without keeping `consul.token` in
    /// plain text for the life of the process.
    fingerprint: [u8; 32],
    refs: usize,
}

/// A digest of a property map, each key and value length-prefixed (no two maps share one).
fn fingerprint(properties: &BTreeMap<String, String>) -> [u8; 32] {
    let mut digest = Sha256::new();
    for (key, value) in properties {
        for part in [key, value] {
            digest.update((part.len() as u64).to_le_bytes());
            digest.update(part.as_bytes());
        }
    }
    digest.finalize().into()
}

#[derive(Default)]
struct Registry {
    /// Writers only (open/close).
    entries: Mutex<Vec<Entry>>,
    /// Readers: the open handles, sorted by id: a binary search over the few handles of
    /// a process costs less than hashing the id.
    lookup: ArcSwap<Vec<Arc<Handle>>>,
}

impl Registry {
    /// Runs `f` on the open handle with this id.
    #[inline]
    fn with<R>(&self, id: u64, f: impl FnOnce(&Arc<Handle>) -> Result<R>) -> Result<R> {
        let open = self.lookup.load();
        match open.binary_search_by_key(&id, |h| h.id) {
            Ok(index) => f(&open[index]),
            Err(_) => Err(Error::InvalidArgument(format!(
                "no open identity with handle {id} (closed?)"
            ))),
        }
    }
}

static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::default);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Opens (or shares) the identity configured by `properties` plus the process
/// environment. Returns the handle id; every successful `open` needs one [`close`].
pub fn open(mut properties: BTreeMap<String, String>) -> Result<u64> {
    let print = fingerprint(&properties);
    // The settings keep the token in a zeroizing `Secret`; the caller's copy goes now.
    let settings = Settings::from_properties(&properties);
    properties.values_mut().for_each(Zeroize::zeroize);
    let mut entries = REGISTRY.entries.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(entry) = entries.iter_mut().find(|e| e.fingerprint == print) {
        entry.refs += 1;
        return Ok(entry.handle.id);
    }
    let settings = settings?;
    let identity = Identity::open(settings)?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let handle = Arc::new(Handle {
        id,
        identity,
        authorizer: OnceLock::new(),
        authorizer_init: Mutex::new(()),
    });
    entries.push(Entry {
        handle: handle.clone(),
        fingerprint: print,
        refs: 1,
    });
    REGISTRY.lookup.rcu(|open| {
        let mut open = Vec::clone(open);
        open.insert(open.partition_point(|h| h.id < id), handle.clone());
        open
    });
    Ok(id)
}

/// Releases one reference and returns how many remain; the last one stops the watchers.
/// Unknown ids are an error (a double close is a caller bug worth seeing).
pub fn close(id: u64) -> Result<usize> {
    let mut entries = REGISTRY.entries.lock().unwrap_or_else(|p| p.into_inner());
    let position = entries
        .iter()
        .position(|e| e.handle.id == id)
        .ok_or_else(|| Error::InvalidArgument(format!("no open identity with handle {id}")))?;
    entries[position].refs -= 1;
    if entries[position].refs > 0 {
        return Ok(entries[position].refs);
    }
    let entry = entries.swap_remove(position);
    REGISTRY.lookup.rcu(|open| {
        let mut open = Vec::clone(open);
        open.retain(|h| h.id != id);
        open
    });
    entry.handle.close();
    Ok(0)
}

/// The open handle with this id (lock-free).
pub fn get(id: u64) -> Result<Arc<Handle>> {
    REGISTRY.with(id, |handle| Ok(handle.clone()))
}

/// Runs `f` on the open handle without cloning its `Arc` (the cheapest lookup, for hot
/// paths).
pub fn with<R>(id: u64, f: impl FnOnce(&Handle) -> Result<R>) -> Result<R> {
    REGISTRY.with(id, |handle| f(handle))
}

#[cfg(test)]
mod tests {
    use super::fingerprint;
    use std::collections::BTreeMap;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lookups_find_each_open_handle_until_its_last_close() {
        let props = |service: &str| {
            map(&[
                (crate::config::ADDRESS, "http://127.0.0.1:1"),
                (crate::config::SERVICE, service),
            ])
        };
        let ids: Vec<u64> = ["registry-a", "registry-b", "registry-c"]
            .iter()
            .map(|s| super::open(props(s)).unwrap())
            .collect();
        let service = |id| {
            super::with(id, |h| {
                Ok(h.identity.settings().service.clone().unwrap_or_default())
            })
        };
        for (id, name) in ids.iter().zip(["registry-a", "registry-b", "registry-c"]) {
            assert_eq!(service(*id).unwrap(), name);
            assert_eq!(super::get(*id).unwrap().id, *id);
        }
        // A shared open adds a reference, not a handle.
        assert_eq!(super::open(props("registry-b")).unwrap(), ids[1]);
        assert_eq!(super::close(ids[1]).unwrap(), 1);
        assert_eq!(service(ids[1]).unwrap(), "registry-b");
        assert_eq!(super::close(ids[1]).unwrap(), 0);
        let gone = service(ids[1]).unwrap_err().to_string();
        assert!(gone.contains("closed?"), "{gone}");
        assert!(super::get(ids[1]).is_err());
        assert!(super::close(ids[1]).is_err(), "double close");
        assert_eq!(service(ids[0]).unwrap(), "registry-a");
        assert_eq!(service(ids[2]).unwrap(), "registry-c");
        assert!(service(u64::MAX).is_err());
        for id in [ids[0], ids[2]] {
            assert_eq!(super::close(id).unwrap(), 0);
        }
    }

    #[test]
    fn identical_configurations_share_and_others_do_not() {
        let a = map(&[("consul.service", "trino"), ("consul.token", "t1")]);
        assert_eq!(fingerprint(&a), fingerprint(&a.clone()));
        // Another token is another identity (it may be refused where this one is not).
        let b = map(&[("consul.service", "trino"), ("consul.token", "t2")]);
        assert_ne!(fingerprint(&a), fingerprint(&b));
        // Length prefixes: moving text between key and value changes the digest.
        assert_ne!(
            fingerprint(&map(&[("ab", "c")])),
            fingerprint(&map(&[("a", "bc")]))
        );
    }
}
