//! The one blocking-query loop: every watch of the agent's HTTP API (the roots, the leaf,
//! the intentions for our service) runs through [`run`].
//!
//! Consul's blocking queries: the first request is plain; each later one passes the index
//! of the last answer and is held by Consul until that index moves or `wait` passes. The
//! index is reset (next request plain) when it goes backwards or is zero, as Consul's
//! documentation says. On a failure the loop reports it, waits with jittered backoff
//! ([`crate::identity::source::backoff`]) and asks again; whether the index survives a failure is the
//! watch's choice ([`AfterFailure`]). A `refresh` notification drops the blocking query and
//! asks plainly at once (the leaf near expiry). Requests that come back at once are
//! rate-limited ([`MIN_QUERY_INTERVAL`]). Shutdown ends the loop at any await.

use crate::error::{Error, Result};
use crate::identity::source::{backoff, sleep_or_shutdown};
use std::future::Future;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

/// What happens to the index when a request fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AfterFailure {
    /// Ask plainly next time (the answer then counts as a change).
    ResetIndex,
    /// Resume from the last index: if Consul's index did not move meanwhile, nothing changed.
    KeepIndex,
}

/// One outcome of a request, handed to the watch.
pub(crate) enum Outcome<M> {
    /// Consul answered.
    Answer {
        /// The decoded answer.
        material: M,
        /// The index the answer carries.
        index: u64,
        /// The index before this answer (`None` for a plain request).
        previous: Option<u64>,
    },
    /// The request (or decoding its answer) failed.
    Failed(Error),
}

impl<M> Outcome<M> {
    /// Whether an answer moved the index (a plain request's answer always does).
    pub(crate) fn changed(&self) -> bool {
        matches!(self, Outcome::Answer { index, previous, .. } if *previous != Some(*index))
    }
}

/// Next index after an answer: reset when it goes backwards or is zero.
pub(crate) fn next_index(previous: Option<u64>, got: u64) -> Option<u64> {
    match previous {
        Some(p) if got < p => None,
        _ if got == 0 => None,
        _ => Some(got),
    }
}

/// Shortest time between the starts of two successive requests of one watch.
///
/// A blocking query normally returns when its index moves or after `wait`; one that comes
/// back at once every time (an index that keeps going backwards, an agent or proxy that
/// ignores `wait`) would otherwise make the loop spin against the agent. Consul's
/// documentation asks clients to rate-limit such queries; an answer that took at least
/// this long is followed at once, a quicker one only when this much time has passed since
/// its request started. A real change is still seen: the next request carries the index.
pub(crate) const MIN_QUERY_INTERVAL: Duration = Duration::from_secs(1);

/// Runs a watch until shutdown or until `handle` returns `false`.
///
/// `fetch(index)` makes one request (blocking when `index` is set) and decodes it;
/// `handle` receives every outcome, in order, and is awaited before the next request.
/// Successive answered requests start at least [`MIN_QUERY_INTERVAL`] apart (a refresh
/// request cuts that wait short); failures wait out the backoff instead.
pub(crate) async fn run<M, F, H>(
    shutdown: watch::Receiver<bool>,
    refresh: Option<&Notify>,
    after_failure: AfterFailure,
    fetch: impl FnMut(Option<u64>) -> F,
    handle: impl FnMut(Outcome<M>) -> H,
) where
    F: Future<Output = Result<(M, u64)>>,
    H: Future<Output = bool>,
{
    run_spaced(
        MIN_QUERY_INTERVAL,
        shutdown,
        refresh,
        after_failure,
        fetch,
        handle,
    )
    .await
}

/// [`run`] with `min_interval` between the starts of successive answered requests.
async fn run_spaced<M, F, H>(
    min_interval: Duration,
    mut shutdown: watch::Receiver<bool>,
    refresh: Option<&Notify>,
    after_failure: AfterFailure,
    mut fetch: impl FnMut(Option<u64>) -> F,
    mut handle: impl FnMut(Outcome<M>) -> H,
) where
    F: Future<Output = Result<(M, u64)>>,
    H: Future<Output = bool>,
{
    let refreshed = || async {
        match refresh {
            Some(notify) => notify.notified().await,
            None => std::future::pending().await,
        }
    };
    let mut index = None;
    let mut delays = backoff();
    loop {
        let started = Instant::now();
        let got = tokio::select! {
            got = fetch(index) => got,
            _ = refreshed() => {
                index = None;
                continue;
            }
            _ = shutdown.wait_for(|closed| *closed) => return,
        };
        match got {
            Ok((material, got_index)) => {
                delays = backoff();
                let previous = index;
                index = next_index(previous, got_index);
                let outcome = Outcome::Answer {
                    material,
                    index: got_index,
                    previous,
                };
                if !handle(outcome).await {
                    return;
                }
                // Rate limit: an answer that came back quickly is not followed by the
                // next request before `min_interval` has passed since this one started.
                let Some(rest) = min_interval.checked_sub(started.elapsed()) else {
                    continue;
                };
                tokio::select! {
                    keep_going = sleep_or_shutdown(rest, &mut shutdown) => {
                        if !keep_going {
                            return;
                        }
                    }
                    _ = refreshed() => index = None,
                }
            }
            Err(e) => {
                if after_failure == AfterFailure::ResetIndex {
                    index = None;
                }
                if !handle(Outcome::Failed(e)).await {
                    return;
                }
                let delay = delays.next().unwrap_or_default();
                if !sleep_or_shutdown(delay, &mut shutdown).await {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};

    #[test]
    fn index_resets_when_it_goes_backwards_or_is_zero() {
        assert_eq!(next_index(None, 5), Some(5));
        assert_eq!(next_index(Some(5), 7), Some(7));
        assert_eq!(next_index(Some(5), 5), Some(5));
        assert_eq!(next_index(Some(9), 3), None);
        assert_eq!(next_index(Some(9), 0), None);
    }

    /// Replays `answers` (index, or an error) and records the indexes asked and the
    /// outcomes seen.
    async fn replay(
        answers: Vec<std::result::Result<u64, &'static str>>,
        after_failure: AfterFailure,
    ) -> (Vec<Option<u64>>, Vec<String>) {
        let (stop, shutdown) = watch::channel(false);
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let next = Arc::new(AtomicUsize::new(0));
        let total = answers.len();
        let answers = Arc::new(answers);
        run_spaced(
            Duration::ZERO,
            shutdown,
            None,
            after_failure,
            |index| {
                asked.lock().unwrap().push(index);
                let i = next.fetch_add(1, Ordering::SeqCst);
                let answer = answers[i.min(total - 1)];
                async move {
                    match answer {
                        Ok(idx) => Ok(((), idx)),
                        Err(m) => Err(Error::Agent {
                            endpoint: "/test".into(),
                            reason: m.into(),
                        }),
                    }
                }
            },
            |outcome| {
                let line = match &outcome {
                    Outcome::Answer { index, .. } => {
                        format!("{index}{}", if outcome.changed() { "*" } else { "" })
                    }
                    Outcome::Failed(_) => "err".to_string(),
                };
                seen.lock().unwrap().push(line);
                let more = seen.lock().unwrap().len() < total;
                if !more {
                    stop.send_replace(true);
                }
                async move { more }
            },
        )
        .await;
        let asked = asked.lock().unwrap().clone();
        let seen = seen.lock().unwrap().clone();
        (asked, seen)
    }

    #[tokio::test]
    async fn follows_the_index_and_applies_the_failure_rule() {
        let answers = vec![Ok(5), Ok(5), Ok(7), Err("down"), Ok(7), Ok(3)];
        let (asked, seen) = replay(answers.clone(), AfterFailure::ResetIndex).await;
        assert_eq!(asked, [None, Some(5), Some(5), Some(7), None, Some(7)]);
        assert_eq!(seen, ["5*", "5", "7*", "err", "7*", "3*"]);
        let (asked, seen) = replay(answers, AfterFailure::KeepIndex).await;
        assert_eq!(asked, [None, Some(5), Some(5), Some(7), Some(7), Some(7)]);
        assert_eq!(seen, ["5*", "5", "7*", "err", "7", "3*"]);
    }

    /// Counts the requests a watch makes in 1.5 s against an agent that answers every
    /// request at once with the index `answer(n)` for the n-th request.
    async fn requests_in_1500ms(answer: fn(usize) -> u64) -> usize {
        let (stop, shutdown) = watch::channel(false);
        let asked = Arc::new(AtomicUsize::new(0));
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            stop.send_replace(true);
        });
        run(
            shutdown,
            None,
            AfterFailure::ResetIndex,
            |_| {
                let n = asked.fetch_add(1, Ordering::SeqCst);
                // Answered at once, but still a future that yields, like a fast agent.
                async move {
                    tokio::task::yield_now().await;
                    Ok(((), answer(n)))
                }
            },
            |_| async { true },
        )
        .await;
        stopper.await.unwrap();
        asked.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn queries_that_return_at_once_are_rate_limited() {
        // The index never moves (an agent or proxy that ignores `wait`).
        let unchanged = requests_in_1500ms(|_| 5).await;
        assert!(unchanged <= 4, "{unchanged} requests in 1.5 s");
        // The index goes backwards every time (each answer resets the watch).
        let backwards = requests_in_1500ms(|n| if n % 2 == 0 { 9 } else { 3 }).await;
        assert!(backwards <= 4, "{backwards} requests in 1.5 s");
    }
}
