//! What the authorizer counts, for operators (the JNI layer's `authorizationMetrics`, read
//! by the JMX beans one call per read; nothing polls).
//!
//! The cached path writes only counters of its own thread: one [`ThreadLocal`] lookup and
//! two plain stores, no locked instruction and no cache line another thread writes, so
//! threads authorizing at the same time do not slow each other down. Readers sum every
//! thread's counters; a thread's counts stay after it ends. Everything else (evictions,
//! decision-source calls and their latency) happens on the miss path, where a shared
//! atomic or a short lock costs nothing next to verification and an HTTP call.

use super::{Authorization, DenyReason};
use hdrhistogram::Histogram;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use thread_local::ThreadLocal;

const CODES: usize = DenyReason::CODES.len();

/// The longest decision-source call the histogram tells apart (longer ones count as this).
const LATENCY_MAX_MICROS: u64 = 3_600_000_000;

/// Counters of one thread; only that thread writes them. Aligned to whole cache lines (and
/// the adjacent line the prefetcher pairs with it): `thread_local` keeps the values of
/// consecutive threads side by side.
#[derive(Default)]
#[repr(align(128))]
struct PerThread {
    allowed: AtomicU64,
    hits: AtomicU64,
    misses: AtomicU64,
    denied: [AtomicU64; CODES],
}

/// Adds one to a counter only the calling thread writes. A load and a store, not a
/// read-modify-write instruction: with a single writer no count is lost, and readers on
/// other threads see every store whole (the value is one aligned atomic word).
#[inline]
fn bump(counter: &AtomicU64) {
    counter.store(
        counter.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// The authorizer's counters.
pub(crate) struct Metrics {
    threads: ThreadLocal<PerThread>,
    source_calls: AtomicU64,
    source_errors: AtomicU64,
    stale_served: AtomicU64,
    /// Decision-source call latency in microseconds (a lock per call on the miss path);
    /// `None` only if hdrhistogram refused the constant bounds.
    latency: Mutex<Option<Histogram<u64>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            threads: ThreadLocal::new(),
            source_calls: AtomicU64::new(0),
            source_errors: AtomicU64::new(0),
            stale_served: AtomicU64::new(0),
            // Two significant digits from 1 µs to an hour: a few kilobytes, fixed.
            latency: Mutex::new(Histogram::new_with_bounds(1, LATENCY_MAX_MICROS, 2).ok()),
        }
    }
}

impl Metrics {
    /// Counts one answer: allowed or denied by its code, from the cache or not.
    #[inline]
    pub(crate) fn answered(&self, answer: &Authorization) {
        self.counted(answer.deny_reason(), answer.from_cache());
    }

    /// Counts one answer: allowed or denied (by reason), from the cache or not.
    #[inline]
    pub(crate) fn counted(&self, deny: Option<&DenyReason>, cached: bool) {
        let mine = self.threads.get_or_default();
        match deny {
            None => bump(&mine.allowed),
            Some(reason) => bump(&mine.denied[reason.index()]),
        }
        bump(if cached { &mine.hits } else { &mine.misses });
    }

    /// Counts one decision-source call that took `took` and succeeded or not.
    pub(crate) fn source_called(&self, took: Duration, ok: bool) {
        self.source_calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.source_errors.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        if let Some(h) = self
            .latency
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            h.saturating_record(micros.clamp(1, LATENCY_MAX_MICROS));
        }
    }

    /// Counts one stale allow served.
    pub(crate) fn stale_served(&self) {
        self.stale_served.fetch_add(1, Ordering::Relaxed);
    }

    /// Decision-source calls so far.
    pub(crate) fn source_calls(&self) -> u64 {
        self.source_calls.load(Ordering::Relaxed)
    }

    /// Stale allows served so far.
    pub(crate) fn stale_count(&self) -> u64 {
        self.stale_served.load(Ordering::Relaxed)
    }

    /// The sums over every thread, and the latency percentiles.
    pub(crate) fn counters(&self) -> Counters {
        let mut c = Counters::default();
        for t in self.threads.iter() {
            c.allowed += t.allowed.load(Ordering::Relaxed);
            c.cache_hits += t.hits.load(Ordering::Relaxed);
            c.cache_misses += t.misses.load(Ordering::Relaxed);
            for (sum, n) in c.denied_by_code.iter_mut().zip(&t.denied) {
                *sum += n.load(Ordering::Relaxed);
            }
        }
        c.source_calls = self.source_calls.load(Ordering::Relaxed);
        c.source_errors = self.source_errors.load(Ordering::Relaxed);
        c.stale_served = self.stale_served.load(Ordering::Relaxed);
        let latency = self.latency.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(latency) = latency.as_ref().filter(|h| !h.is_empty()) {
            c.latency_p50_micros = latency.value_at_quantile(0.50);
            c.latency_p90_micros = latency.value_at_quantile(0.90);
            c.latency_p99_micros = latency.value_at_quantile(0.99);
            c.latency_max_micros = latency.max();
        }
        c
    }
}

/// Counter totals since the authorizer started.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Answers that allowed.
    pub allowed: u64,
    /// Answers that denied, by [`DenyReason::index`] (codes in [`DenyReason::CODES`]).
    pub denied_by_code: [u64; CODES],
    /// Answers served from the cache (fresh or, during an outage, stale).
    pub cache_hits: u64,
    /// Answers decided for the call (or shared with an identical call), refusals before
    /// the cache included: `cache_hits + cache_misses` is every answer.
    pub cache_misses: u64,
    /// Stale allows served while no decision could be had.
    pub stale_served: u64,
    /// Calls to the decision source (the agent's authorize endpoint).
    pub source_calls: u64,
    /// Of those, the ones that failed (no decision).
    pub source_errors: u64,
    /// Decision-source call latency percentiles and maximum, in microseconds (0 before
    /// the first call).
    pub latency_p50_micros: u64,
    /// 90th percentile.
    pub latency_p90_micros: u64,
    /// 99th percentile.
    pub latency_p99_micros: u64,
    /// Maximum.
    pub latency_max_micros: u64,
}

impl Counters {
    /// Every denial, whatever its reason.
    pub fn denied(&self) -> u64 {
        self.denied_by_code.iter().sum()
    }

    /// Denials with this code (0 for a code that does not exist).
    pub fn denied_with(&self, code: &str) -> u64 {
        DenyReason::CODES
            .iter()
            .position(|c| *c == code)
            .map_or(0, |i| self.denied_by_code[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_from_many_threads_add_up_and_outlive_their_threads() {
        let metrics = std::sync::Arc::new(Metrics::default());
        let allow = Authorization::refused(DenyReason::EmptyChain);
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (m, a) = (metrics.clone(), allow.clone());
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        m.answered(&a);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread");
        }
        let c = metrics.counters();
        assert_eq!(c.denied_with("empty-chain"), 80_000);
        assert_eq!(c.denied(), 80_000);
        assert_eq!(c.cache_misses, 80_000);
        assert_eq!((c.allowed, c.cache_hits), (0, 0));
    }

    #[test]
    fn latency_percentiles_come_from_the_calls() {
        let metrics = Metrics::default();
        assert_eq!(metrics.counters().latency_max_micros, 0);
        for ms in 1..=100 {
            metrics.source_called(Duration::from_millis(ms), ms != 7);
        }
        // An absurd duration is clamped, not lost.
        metrics.source_called(Duration::from_secs(1_000_000), true);
        let c = metrics.counters();
        assert_eq!((c.source_calls, c.source_errors), (101, 1));
        let near = |v: u64, want: u64| v.abs_diff(want) * 100 <= want;
        assert!(near(c.latency_p50_micros, 51_000), "{c:?}");
        assert!(near(c.latency_p99_micros, 100_000), "{c:?}");
        assert!(near(c.latency_max_micros, LATENCY_MAX_MICROS), "{c:?}");
    }
}
