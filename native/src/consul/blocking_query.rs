//! The one blocking-query loop: every watch of the agent's HTTP API (the roots, the leaf,
//! the intentions for our service) runs through [`run`].
//!
//! Consul's blocking queries: the first request is plain; each later one passes the index
//! of the last answer and is held by Consul until that index moves or `wait` passes. The
//! index is reset (next request plain) when it goes backwards or is zero, as Consul's
//! documentation says. On a failure the loop reports it, waits with jittered backoff
//! ([`crate::identity::source::backoff`]) and asks again; whether the index survives a failure is the
//! watch's choice ([`AfterFailure`]). A `refresh` notification drops the blocking query and
//! asks plainly at once (the leaf near expiry). Shutdown ends the loop at any await.

use crate::error::{Error, Result};
use crate::identity::source::{backoff, sleep_or_shutdown};
use std::future::Future;
use tokio::sync::{watch, Notify};

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

/// Runs a watch until shutdown or until `handle` returns `false`.
///
/// `fetch(index)` makes one request (blocking when `index` is set) and decodes it;
/// `handle` receives every outcome, in order, and is awaited before the next request.
pub(crate) async fn run<M, F, H>(
    mut shutdown: watch::Receiver<bool>,
    refresh: Option<&Notify>,
    after_failure: AfterFailure,
    mut fetch: impl FnMut(Option<u64>) -> F,
    mut handle: impl FnMut(Outcome<M>) -> H,
) where
    F: Future<Output = Result<(M, u64)>>,
    H: Future<Output = bool>,
{
    let mut index = None;
    let mut delays = backoff();
    loop {
        let got = tokio::select! {
            got = fetch(index) => got,
            _ = async {
                match refresh {
                    Some(notify) => notify.notified().await,
                    None => std::future::pending().await,
                }
            } => {
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
        run(
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
}
