//! Cheap clock readings for the cached-decision path.
//!
//! A cached decision is checked against two clocks on every request: the monotonic clock
//! (its TTL) and the wall clock (its certificates' `not_after`). A precise reading costs
//! about 20-25 ns here (`clock_gettime` through the vDSO), more than the rest of a cache
//! hit's arithmetic; Linux's coarse clocks cost a few nanoseconds and lag the precise ones
//! by at most one scheduler tick (1-10 ms). Both uses tolerate that: TTLs are seconds
//! long, and certificate validity is in whole seconds. Everything else (misses,
//! verification, deadlines of new entries) reads the precise clocks.

use std::sync::LazyLock;
use std::time::{Duration, Instant, SystemTime};

/// A reading of the coarse monotonic clock, as an [`Instant`]: within one tick of
/// [`Instant::now`] (the anchor's own lag can put it up to a tick ahead). Both come from
/// the same kernel timeline (`CLOCK_MONOTONIC` and `CLOCK_MONOTONIC_COARSE`), so one
/// precise reading taken once anchors every later coarse one; without a coarse clock, the
/// precise one.
#[inline]
pub fn coarse_instant() -> Instant {
    static ANCHOR: LazyLock<Option<(Instant, Duration)>> =
        LazyLock::new(|| Some((Instant::now(), coarse(CoarseClock::Monotonic)?)));
    match (*ANCHOR, coarse(CoarseClock::Monotonic)) {
        // A coarse reading a tick behind the anchor's precise one would go back in
        // time: never before the anchor.
        (Some((instant, at)), Some(now)) => instant + now.saturating_sub(at),
        _ => Instant::now(),
    }
}

/// The wall clock in whole seconds since the epoch (0 before it), from the coarse clock.
#[inline]
pub fn wall_seconds() -> i64 {
    match coarse(CoarseClock::Realtime) {
        Some(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        None => crate::x509::unix_seconds(SystemTime::now()),
    }
}

#[derive(Clone, Copy)]
enum CoarseClock {
    Monotonic,
    Realtime,
}

#[cfg(target_os = "linux")]
#[inline]
fn coarse(clock: CoarseClock) -> Option<Duration> {
    let id = match clock {
        CoarseClock::Monotonic => libc::CLOCK_MONOTONIC_COARSE,
        CoarseClock::Realtime => libc::CLOCK_REALTIME_COARSE,
    };
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec and `id` a clock Linux defines.
    if unsafe { libc::clock_gettime(id, &mut ts) } != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(not(target_os = "linux"))]
fn coarse(_clock: CoarseClock) -> Option<Duration> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_readings_follow_the_precise_clocks_within_a_tick() {
        for _ in 0..1000 {
            let before = Instant::now();
            let coarse = coarse_instant();
            let after = Instant::now();
            // Within a tick (10 ms at HZ=100) either way.
            assert!(coarse.saturating_duration_since(after) < Duration::from_millis(20));
            assert!(before.saturating_duration_since(coarse) < Duration::from_millis(20));
        }
        let wall = crate::x509::unix_seconds(SystemTime::now());
        assert!(
            (wall - wall_seconds()).abs() <= 1,
            "{wall} vs {}",
            wall_seconds()
        );
    }

    #[test]
    fn coarse_instants_never_go_back() {
        let mut last = coarse_instant();
        for _ in 0..100_000 {
            let now = coarse_instant();
            assert!(now >= last);
            last = now;
        }
    }
}
