//! The decision cache and the single-flight table.
//!
//! # Why not moka
//!
//! moka's `sync::Cache` was measured first (1.2 KB key, foldhash, this machine): 154 ns
//! per hit on one thread and 354 ns per hit per thread with two threads on the same key,
//! against 119 ns / 242 ns for a plain sharded `RwLock<HashMap>`. It would also not cover
//! what the authorizer needs: a *logically* expired allow must stay readable for the
//! staleness bound, a refresh of such an entry must be single-flight (moka's `get_with`
//! only coalesces absent keys), and a lookup must not allocate a concatenated key for a
//! multi-certificate chain. Hits on the same key are the common case (every request of a
//! Trino coordinator carries the same certificate), so this cache is built for that:
//!
//! * **Sharded copy-on-write tables.** Each shard is an immutable `hashbrown::HashTable`
//!   behind an `ArcSwap`: a reader takes no lock and writes no shared memory for the table
//!   itself (arc-swap's thread-local debts), a writer clones the shard (a few dozen
//!   `Arc` items: shard count grows with capacity) under a per-shard mutex and swaps it
//!   in. Writes only happen on misses, which cost an agent round trip anyway.
//! * **One remembered entry per thread.** Each thread first tries the entry it remembers
//!   (its first live hit from the tables, kept while it serves): a length check and a byte
//!   comparison, no hash, no table, no shared write. Requests of the client a thread met
//!   first end there (with one dominant client, such as a worker's coordinator, most do);
//!   any other key costs one failed comparison on the way to the tables (different
//!   lengths, or bytes that differ early: two certificates of one CA differ in their serial
//!   numbers). The entry obeys every rule below like a table entry.
//! * **Exact keys.** Entries are keyed by the target and the exact DER bytes of every
//!   presented certificate, hashed once per call with foldhash (randomly seeded per
//!   process) over each certificate's length and signature; equality compares all
//!   bytes, so a hash collision can never make two chains share a decision. No digest is
//!   computed and no signature re-checked on a hit. Verification refuses any presented certificate outside the verified path (and such
//!   refusals are never cached), so padding a chain cannot make one identity occupy more
//!   than the few entries of its path's subsets and orders.
//! * **Wall-clock validity.** An entry carries its chain's `not_after`; every hit
//!   compares it with the current wall-clock second, so no cached answer outlives the
//!   certificates even when the monotonic deadlines drift from the wall clock.
//! * **Epoch invalidation.** An entry records the roots generation and the intentions
//!   epoch it was decided under; any change of either makes every older entry unusable at
//!   once without touching the tables.
//! * **Bounded size.** Each shard holds at most `ceil(capacity / shards)` entries. When
//!   full, dead entries are dropped first, then the oldest one.

use super::{Authorization, Origin};
use arc_swap::ArcSwap;
use hashbrown::HashTable;
use std::cell::RefCell;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};
use thread_local::ThreadLocal;

/// Target entries per shard; the shard count grows with the capacity to keep
/// copy-on-write cheap.
const ENTRIES_PER_SHARD: u64 = 32;
const MIN_SHARDS: u64 = 4;
const MAX_SHARDS: u64 = 16_384;

/// Bytes hashed from the end of each certificate (see [`DecisionCache::hash`]): the last
/// 128 bits of its signature (an ECDSA P-256 signature is about 72 bytes, RSA 256 or
/// more), which its CA drew at random.
const HASHED_TAIL: usize = 16;

/// An owned cache key: the target and the exact certificate bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Key {
    target: Box<str>,
    chain: Box<[Box<[u8]>]>,
}

impl Key {
    pub(crate) fn new<C: AsRef<[u8]>>(target: &str, chain: &[C]) -> Key {
        Key {
            target: target.into(),
            chain: chain.iter().map(|c| Box::from(c.as_ref())).collect(),
        }
    }

    pub(crate) fn matches<C: AsRef<[u8]>>(&self, target: &str, chain: &[C]) -> bool {
        *self.target == *target
            && self.chain.len() == chain.len()
            && self
                .chain
                .iter()
                .zip(chain)
                .all(|(a, b)| **a == *b.as_ref())
    }
}

/// One cached decision. Immutable; an update replaces the whole entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) outcome: Arc<super::Outcome>,
    /// Store generation (roots) the decision was made under.
    pub(crate) generation: u64,
    /// Intentions epoch read *before* the decision was asked for.
    pub(crate) epoch: u64,
    /// Served without asking until then (never past the chain's validity).
    pub(crate) fresh_until: Instant,
    /// For allows: the latest time it may still be served while no decision can be had
    /// (never past the chain's validity). Equal to `fresh_until` for denies.
    pub(crate) stale_until: Instant,
    /// Whether this entry is a re-armed stale allow (reported as [`Origin::StaleCache`]).
    pub(crate) stale: bool,
    /// When it was stored (eviction order).
    pub(crate) stored: Instant,
    /// End of validity of the chain's verified path ([`super::Peer::chain_not_after`]),
    /// seconds since the epoch. Checked against the wall clock on every use: the
    /// `Instant` deadlines above were derived from the wall clock once, and a clock step
    /// or a suspended VM can make them outlive the certificates.
    pub(crate) not_after: i64,
}

impl Entry {
    /// Whether the entry may answer a request at `now` (wall clock: `wall_s`, seconds
    /// since the epoch) without asking anyone.
    #[inline]
    pub(crate) fn serves(&self, now: Instant, wall_s: i64, generation: u64, epoch: u64) -> bool {
        self.generation == generation
            && self.epoch == epoch
            && now < self.fresh_until
            && wall_s <= self.not_after
    }

    /// Whether the entry can be of any further use (fresh or stale-servable).
    pub(crate) fn alive(&self, now: Instant, wall_s: i64, generation: u64, epoch: u64) -> bool {
        self.generation == generation
            && self.epoch == epoch
            && now < self.stale_until
            && wall_s <= self.not_after
    }

    /// The answer this entry gives.
    #[inline]
    pub(crate) fn answer(&self) -> Authorization {
        Authorization {
            outcome: self.outcome.clone(),
            origin: if self.stale {
                Origin::StaleCache
            } else {
                Origin::Cache
            },
        }
    }
}

#[derive(Clone)]
struct Item {
    hash: u64,
    key: Arc<Key>,
    entry: Arc<Entry>,
}

/// A thread's remembered item ([`DecisionCache::serving`]), alone on its cache lines:
/// `thread_local` keeps the values of consecutive threads side by side, and every lookup
/// writes the `RefCell`'s borrow flag, which must not share a line with another thread's.
#[derive(Default)]
#[repr(align(128))]
struct Remembered(RefCell<Option<Item>>);

struct Shard {
    table: ArcSwap<HashTable<Item>>,
    write: Mutex<()>,
}

/// The bounded, sharded decision cache.
pub(crate) struct DecisionCache {
    shards: Box<[Shard]>,
    mask: u64,
    per_shard: usize,
    hasher: foldhash::fast::RandomState,
    /// Live entries dropped to make room (dead ones pruned on the way are not counted).
    evictions: std::sync::atomic::AtomicU64,
    /// Per thread: the entry [`DecisionCache::serving`] tries first. Only its thread
    /// writes it; values stay (for reuse by a later thread) until the cache is dropped.
    remembered: ThreadLocal<Remembered>,
}

impl DecisionCache {
    /// A cache holding about `capacity` entries (at least one per shard).
    pub(crate) fn new(capacity: u64) -> DecisionCache {
        let capacity = capacity.max(1);
        let shards = capacity
            .div_ceil(ENTRIES_PER_SHARD)
            .clamp(MIN_SHARDS, MAX_SHARDS)
            .next_power_of_two();
        DecisionCache {
            shards: (0..shards)
                .map(|_| Shard {
                    table: ArcSwap::from_pointee(HashTable::new()),
                    write: Mutex::new(()),
                })
                .collect(),
            mask: shards - 1,
            per_shard: usize::try_from(capacity.div_ceil(shards)).unwrap_or(usize::MAX),
            hasher: foldhash::fast::RandomState::default(),
            evictions: std::sync::atomic::AtomicU64::new(0),
            remembered: ThreadLocal::new(),
        }
    }

    /// Upper bound of entries held.
    pub(crate) fn bound(&self) -> usize {
        self.per_shard.saturating_mul(self.shards.len())
    }

    /// Hashes a (target, chain) pair: the target, and of each certificate its length and
    /// its last [`HASHED_TAIL`] bytes (length prefixes keep part boundaries unambiguous).
    /// A DER certificate ends with its signature, which no one but its CA can choose, so
    /// the tail tells apart any two certificates the cache can hold (only verified chains
    /// are stored) without hashing the whole kilobyte on every request; the hasher is
    /// seeded at random, and keys are still compared byte for byte, so a collision costs
    /// a comparison, never a wrong answer.
    #[inline]
    pub(crate) fn hash<C: AsRef<[u8]>>(&self, target: &str, chain: &[C]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_usize(target.len());
        h.write(target.as_bytes());
        h.write_usize(chain.len());
        for cert in chain {
            let cert = cert.as_ref();
            h.write_usize(cert.len());
            h.write(&cert[cert.len().saturating_sub(HASHED_TAIL)..]);
        }
        h.finish()
    }

    #[inline]
    fn shard(&self, hash: u64) -> &Shard {
        // hashbrown uses the low bits (bucket) and the top 7 bits (tag) of the hash;
        // take the shard from the middle.
        let index = (hash >> 32) & self.mask;
        &self.shards[index as usize]
    }

    /// Applies `f` to the entry for the key in the tables, if any, without cloning it
    /// (tests: a hash of their choosing; lookups go through [`DecisionCache::serving`]).
    #[cfg(test)]
    pub(crate) fn with<C: AsRef<[u8]>, R>(
        &self,
        hash: u64,
        target: &str,
        chain: &[C],
        f: impl FnOnce(&Entry) -> R,
    ) -> Option<R> {
        let table = self.shard(hash).table.load();
        find(&table, hash, target, chain).map(|item| f(&item.entry))
    }

    /// Applies `f` to the entry for the key if `serves` accepts it, without cloning it:
    /// the hit of every lookup. The entry this thread remembers is tried first (a length
    /// check and a byte comparison: no hash, no table); otherwise the tables answer, and
    /// a hit there becomes the thread's remembered entry when the one it had no longer
    /// serves (or it had none). So the thread keeps its first live entry for as long as
    /// that entry serves, and remembering costs two reference counts once per entry and
    /// thread, not on every change of client. A remembered entry serves by exactly the
    /// rules a table entry does (`serves`: roots generation, intentions epoch, TTL,
    /// certificates' validity); one evicted from its shard meanwhile still serves this
    /// thread until then, as it would have in the table.
    #[inline]
    pub(crate) fn serving<C: AsRef<[u8]>, R>(
        &self,
        target: &str,
        chain: &[C],
        serves: impl Fn(&Entry) -> bool,
        f: impl FnOnce(&Entry) -> R,
    ) -> Option<R> {
        // `None` only for a nested lookup on this thread (`f` reentering; none does today),
        // which goes to the tables.
        let remembered = self.remembered.get_or_default().0.try_borrow_mut().ok();
        if let Some(item) = remembered.as_deref().and_then(Option::as_ref) {
            if item.key.matches(target, chain) && serves(&item.entry) {
                return Some(f(&item.entry));
            }
        }
        let hash = self.hash(target, chain);
        let table = self.shard(hash).table.load();
        let item = find(&table, hash, target, chain).filter(|item| serves(&item.entry))?;
        if let Some(mut remembered) = remembered {
            if !remembered.as_ref().is_some_and(|r| serves(&r.entry)) {
                *remembered = Some(item.clone());
            }
        }
        Some(f(&item.entry))
    }

    /// The entry for the key, if any.
    pub(crate) fn get<C: AsRef<[u8]>>(
        &self,
        hash: u64,
        target: &str,
        chain: &[C],
    ) -> Option<Arc<Entry>> {
        let table = self.shard(hash).table.load();
        find(&table, hash, target, chain).map(|item| item.entry.clone())
    }

    /// Stores `entry` under `key`, replacing any previous entry. When the shard is full,
    /// entries for which `alive` is false go first, then the oldest.
    pub(crate) fn insert(
        &self,
        hash: u64,
        key: &Arc<Key>,
        entry: Entry,
        alive: impl Fn(&Entry) -> bool,
    ) {
        let shard = self.shard(hash);
        let _writer = shard.write.lock().unwrap_or_else(|p| p.into_inner());
        let mut table = HashTable::clone(&shard.table.load());
        let item = Item {
            hash,
            key: key.clone(),
            entry: Arc::new(entry),
        };
        match table.find_entry(hash, |i| i.hash == hash && *i.key == **key) {
            Ok(mut existing) => *existing.get_mut() = item,
            Err(_) => {
                if table.len() >= self.per_shard {
                    table.retain(|i| alive(&i.entry));
                }
                while table.len() >= self.per_shard {
                    let Some(oldest) = table
                        .iter()
                        .min_by_key(|i| i.entry.stored)
                        .map(|i| (i.hash, i.key.clone()))
                    else {
                        break;
                    };
                    if let Ok(found) =
                        table.find_entry(oldest.0, |i| Arc::ptr_eq(&i.key, &oldest.1))
                    {
                        found.remove();
                        self.evictions
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                table.insert_unique(hash, item, |i| i.hash);
            }
        }
        shard.table.store(Arc::new(table));
    }

    /// Drops every entry.
    #[cfg(test)]
    pub(crate) fn clear(&self) {
        for shard in self.shards.iter() {
            let _writer = shard.write.lock().unwrap_or_else(|p| p.into_inner());
            shard.table.store(Arc::new(HashTable::new()));
        }
    }

    /// Number of entries held (live or not).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.table.load().len()).sum()
    }

    /// Live entries dropped to make room so far.
    pub(crate) fn evictions(&self) -> u64 {
        self.evictions.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The item for the key in a shard's table.
#[inline]
fn find<'t, C: AsRef<[u8]>>(
    table: &'t HashTable<Item>,
    hash: u64,
    target: &str,
    chain: &[C],
) -> Option<&'t Item> {
    table.find(hash, |item| {
        item.hash == hash && item.key.matches(target, chain)
    })
}

/// One decision being fetched; identical concurrent requests wait for it.
pub(crate) struct Flight {
    result: Mutex<Option<Authorization>>,
    done: Condvar,
}

impl Flight {
    /// Waits up to `timeout` for the leader's answer.
    pub(crate) fn wait(&self, timeout: Duration) -> Option<Authorization> {
        let deadline = Instant::now() + timeout;
        let mut result = self.result.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(answer) = result.as_ref() {
                return Some(answer.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            result = self
                .done
                .wait_timeout(result, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// A decision in flight: (hash, key, flight).
type FlightItem = (u64, Arc<Key>, Arc<Flight>);

/// The table of decisions in flight.
#[derive(Default)]
pub(crate) struct Flights {
    table: Mutex<HashTable<FlightItem>>,
}

/// Outcome of [`Flights::join`].
pub(crate) enum Join<'a> {
    /// Nobody is fetching this decision: the caller must, and must complete the guard.
    Leader(LeaderGuard<'a>),
    /// Another thread is fetching it: wait on the flight.
    Follower(Arc<Flight>),
}

impl Flights {
    /// Joins the flight for the key, or starts one.
    pub(crate) fn join<C: AsRef<[u8]>>(&self, hash: u64, target: &str, chain: &[C]) -> Join<'_> {
        let mut table = self.table.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, flight)) =
            table.find(hash, |(h, k, _)| *h == hash && k.matches(target, chain))
        {
            return Join::Follower(flight.clone());
        }
        let key = Arc::new(Key::new(target, chain));
        let flight = Arc::new(Flight {
            result: Mutex::new(None),
            done: Condvar::new(),
        });
        table.insert_unique(hash, (hash, key.clone(), flight.clone()), |(h, _, _)| *h);
        Join::Leader(LeaderGuard {
            flights: self,
            hash,
            key,
            flight,
            completed: false,
        })
    }

    /// Number of decisions in flight.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Held by the thread fetching a decision. Completing it (or dropping it, e.g. on a
/// panic) wakes every waiter and removes the flight.
pub(crate) struct LeaderGuard<'a> {
    flights: &'a Flights,
    hash: u64,
    key: Arc<Key>,
    flight: Arc<Flight>,
    completed: bool,
}

impl LeaderGuard<'_> {
    /// The owned key (reused for the cache entry).
    pub(crate) fn key(&self) -> &Arc<Key> {
        &self.key
    }

    /// Publishes the answer to the waiters.
    pub(crate) fn complete(mut self, answer: Authorization) {
        self.finish(answer);
    }

    fn finish(&mut self, answer: Authorization) {
        self.completed = true;
        {
            let mut table = self.flights.table.lock().unwrap_or_else(|p| p.into_inner());
            if let Ok(found) = table.find_entry(self.hash, |(_, k, _)| Arc::ptr_eq(k, &self.key)) {
                found.remove();
            }
        }
        let mut result = self.flight.result.lock().unwrap_or_else(|p| p.into_inner());
        *result = Some(answer);
        self.flight.done.notify_all();
    }
}

impl Drop for LeaderGuard<'_> {
    fn drop(&mut self) {
        if !self.completed {
            self.finish(Authorization::denied(
                super::DenyReason::AgentUnavailable(
                    "internal error: the decision fetch was abandoned".into(),
                ),
                None,
                None,
                Origin::Shared,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{DenyReason, Outcome};
    use super::*;

    fn entry(now: Instant, fresh: u64) -> Entry {
        Entry {
            outcome: Arc::new(Outcome::deny(DenyReason::NoRoots, None, None)),
            generation: 1,
            epoch: 0,
            fresh_until: now + Duration::from_secs(fresh),
            stale_until: now + Duration::from_secs(fresh),
            stale: false,
            stored: now,
            not_after: i64::MAX,
        }
    }

    #[test]
    fn keys_compare_every_byte_even_under_one_hash() {
        let cache = DecisionCache::new(100);
        let now = Instant::now();
        let a: [&[u8]; 2] = [b"leaf-a", b"intermediate"];
        let b: [&[u8]; 2] = [b"leaf-b", b"intermediate"];
        let c: [&[u8]; 1] = [b"leaf-a"];
        // Force all three into the same hash: equality alone must keep them apart.
        let hash = 42;
        for (chain, fresh) in [(&a[..], 1), (&b[..], 2), (&c[..], 3)] {
            cache.insert(
                hash,
                &Arc::new(Key::new("t", chain)),
                entry(now, fresh),
                |_| true,
            );
        }
        let freshness = |chain: &[&[u8]], target: &str| {
            cache.with(hash, target, chain, |e| e.fresh_until - now)
        };
        assert_eq!(freshness(&a, "t"), Some(Duration::from_secs(1)));
        assert_eq!(freshness(&b, "t"), Some(Duration::from_secs(2)));
        assert_eq!(freshness(&c, "t"), Some(Duration::from_secs(3)));
        assert_eq!(freshness(&a, "other"), None);
        assert_eq!(freshness(&[b"leaf-a", b"intermediatf"], "t"), None);
        assert_eq!(cache.len(), 3);
        // Replacing keeps one entry per key.
        cache.insert(hash, &Arc::new(Key::new("t", &a)), entry(now, 9), |_| true);
        assert_eq!(cache.len(), 3);
        assert_eq!(freshness(&a, "t"), Some(Duration::from_secs(9)));
    }

    #[test]
    fn hash_separates_part_boundaries() {
        let cache = DecisionCache::new(10);
        let one: [&[u8]; 1] = [b"abcd"];
        let two: [&[u8]; 2] = [b"ab", b"cd"];
        assert_ne!(cache.hash("t", &one), cache.hash("t", &two));
        assert_ne!(cache.hash("ta", &[b"b"]), cache.hash("t", &[b"ab"]));
        assert_eq!(cache.hash("t", &one), cache.hash("t", &[b"abcd".to_vec()]));
    }

    #[test]
    fn size_is_bounded_and_dead_entries_go_first() {
        let cache = DecisionCache::new(64);
        let bound = cache.bound();
        assert!((64..64 + 16).contains(&bound), "{bound}");
        let now = Instant::now();
        for i in 0..10_000u32 {
            let chain = [i.to_be_bytes()];
            let hash = cache.hash("t", &chain);
            cache.insert(
                hash,
                &Arc::new(Key::new("t", &chain)),
                entry(now, 1),
                |_| true,
            );
        }
        assert!(cache.len() <= bound, "{} > {bound}", cache.len());
        // Every live entry that had to go was counted (all 10 000 were live).
        assert_eq!(cache.evictions() as usize, 10_000 - cache.len());

        // A full shard drops dead entries before live ones.
        let small = DecisionCache::new(8);
        let per = small.per_shard;
        let hash = 7;
        let live = [b"live".to_vec()];
        small.insert(
            hash,
            &Arc::new(Key::new("t", &live)),
            entry(now, 100),
            |_| true,
        );
        let mut dead = entry(now, 0);
        dead.generation = 0;
        for i in 0..per as u32 {
            let chain = [i.to_be_bytes()];
            small.insert(hash, &Arc::new(Key::new("t", &chain)), dead.clone(), |e| {
                e.generation == 1
            });
        }
        assert!(
            small.with(hash, "t", &live, |_| ()).is_some(),
            "live entry kept"
        );
        // Dead entries pruned to make room are not evictions.
        assert_eq!(small.evictions(), 0);
        assert!(small.len() <= small.bound());
        small.clear();
        assert_eq!(small.len(), 0);
    }

    #[test]
    fn a_thread_remembers_its_first_live_entry_and_it_serves_by_the_same_rules() {
        let cache = DecisionCache::new(100);
        let now = Instant::now();
        let a: [&[u8]; 1] = [b"leaf-a"];
        let b: [&[u8]; 1] = [b"leaf-b"];
        let store = |chain: &[&[u8]], fresh| {
            let hash = cache.hash("t", chain);
            cache.insert(
                hash,
                &Arc::new(Key::new("t", chain)),
                entry(now, fresh),
                |_| true,
            );
        };
        let fresh = |e: &Entry| (e.fresh_until - now).as_secs();
        let any = |_: &Entry| true;
        store(&a, 1);
        store(&b, 2);
        assert_eq!(
            cache.serving("t", &a, any, fresh),
            Some(1),
            "from the table"
        );
        assert_eq!(
            cache.serving("t", &b, any, fresh),
            Some(2),
            "from the table"
        );
        cache.clear();
        // This thread remembers `a` (its first live hit), not the later `b`.
        assert_eq!(cache.serving("t", &a, any, fresh), Some(1), "remembered");
        assert_eq!(cache.serving("t", &b, any, fresh), None);
        // Another thread remembers nothing and finds nothing.
        std::thread::scope(|s| {
            s.spawn(|| assert_eq!(cache.serving("t", &a, any, fresh), None));
        });
        // The remembered entry is exact (target and every byte) and obeys `serves`.
        assert_eq!(cache.serving("u", &a, any, fresh), None);
        let other: [&[u8]; 1] = [b"leaf-A"];
        let longer: [&[u8]; 2] = [b"leaf-a", b"ca"];
        assert_eq!(cache.serving("t", &other, any, fresh), None);
        assert_eq!(cache.serving("t", &longer, any, fresh), None);
        assert_eq!(cache.serving("t", &a, |e| fresh(e) != 1, fresh), None);
        // Once `a` no longer serves, the next table hit replaces it.
        store(&b, 3);
        let not_a = |e: &Entry| fresh(e) != 1;
        assert_eq!(
            cache.serving("t", &b, not_a, fresh),
            Some(3),
            "from the table"
        );
        cache.clear();
        assert_eq!(cache.serving("t", &b, not_a, fresh), Some(3), "remembered");
        assert_eq!(cache.serving("t", &a, any, fresh), None, "forgotten");
    }

    #[test]
    fn entry_serving_rules() {
        let now = Instant::now();
        let e = Entry {
            not_after: 1_000,
            ..entry(now, 10)
        };
        assert!(e.serves(now, 1_000, 1, 0));
        assert!(!e.serves(now, 1_000, 2, 0), "roots changed");
        assert!(!e.serves(now, 1_000, 1, 1), "intentions changed");
        assert!(
            !e.serves(now + Duration::from_secs(10), 1_000, 1, 0),
            "expired"
        );
        assert!(!e.serves(now, 1_001, 1, 0), "chain expired (wall clock)");
        assert!(e.alive(now, 1_000, 1, 0));
        assert!(!e.alive(now, 1_001, 1, 0));
        assert_eq!(e.answer().origin(), Origin::Cache);
        let stale = Entry { stale: true, ..e };
        assert_eq!(stale.answer().origin(), Origin::StaleCache);
    }

    #[test]
    fn flights_coalesce_and_abandoned_leaders_release_waiters() {
        let flights = Flights::default();
        let chain: [&[u8]; 1] = [b"x"];
        let Join::Leader(leader) = flights.join(1, "t", &chain) else {
            panic!("first joiner leads")
        };
        let Join::Follower(flight) = flights.join(1, "t", &chain) else {
            panic!("second joiner follows")
        };
        assert!(matches!(flights.join(1, "u", &chain), Join::Leader(_)));
        assert_eq!(
            flights.len(),
            1,
            "the dropped leader for `u` removed its flight"
        );
        assert!(
            flight.wait(Duration::from_millis(10)).is_none(),
            "times out while pending"
        );
        drop(leader);
        let answer = flight.wait(Duration::from_secs(1)).expect("released");
        assert!(!answer.is_allowed());
        assert_eq!(
            answer.deny_reason().map(DenyReason::code),
            Some("agent-unavailable")
        );
        assert_eq!(flights.len(), 0);
    }
}
