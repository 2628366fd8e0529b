//! Waiting in the integration tests: one polling loop, which looks every 20 ms until a
//! limit.

use std::time::{Duration, Instant};

/// How often a condition is looked at.
const EVERY: Duration = Duration::from_millis(20);

/// Calls `probe` every 20 ms until it gives a value, and returns that value; `None` when
/// `limit` passes first.
pub fn poll<T>(limit: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(value) = probe() {
            return Some(value);
        }
        let waited = start.elapsed();
        if waited >= limit {
            return None;
        }
        std::thread::sleep(EVERY.min(limit - waited));
    }
}

/// Whether `cond` comes to hold within `limit` (for callers that word their own failure).
pub fn holds_within(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    poll(limit, || cond().then_some(())).is_some()
}

/// Fails the test unless `cond` comes to hold within `limit`; returns the time it took.
pub fn eventually(limit: Duration, what: &str, cond: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    assert!(
        holds_within(limit, cond),
        "timed out after {limit:?} waiting for: {what}"
    );
    start.elapsed()
}
