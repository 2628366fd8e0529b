//! Invalidation of cached decisions when the intentions for our service change, and the
//! list local decisions read (`local.rs`, with `consul.authz.decisions=local`).
//!
//! A task on the library runtime runs a blocking query on
//! `/v1/connect/intentions/match?by=destination&name=<target>` and bumps the
//! authorizer's epoch whenever Consul's index for it moves (and once when the watch first
//! answers, since decisions may have been made before). Every cached decision records the
//! epoch read *before* it was asked for, so a bump makes all of them unusable at once.
//!
//! Each change is followed by a second bump a moment later: the agent's authorize
//! endpoint answers from its own intention cache, which follows the servers by a blocking
//! query of its own and may trail our watch by a few milliseconds. A decision fetched in
//! that window could still reflect the old intentions; the second bump drops it.
//!
//! When the watch fails (agent down, missing ACL permission) it retries with backoff and
//! keeps its last index: if Consul's index is unchanged when it answers again, nothing
//! changed and nothing is dropped; if it moved, everything is. While it fails, cached
//! decisions are trusted only for their TTL (and an allow for the staleness bound when
//! no decision can be had at all); local decisions keep using the last list for
//! `consul.authz.intentions-max-age`.

use super::local::{IntentionList, LocalState};
use crate::consul::blocking_query::{self, AfterFailure, Outcome};
use crate::consul::AgentClient;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::watch;

/// Delay of the second bump after a change (see the module docs).
const SETTLE: Duration = Duration::from_secs(1);

/// The epoch and the watch's health, shared by the authorizer and its watch task.
#[derive(Default)]
pub(crate) struct Invalidation {
    epoch: AtomicU64,
    state: Mutex<WatchState>,
}

/// Health of the intentions watch.
#[derive(Clone, Debug, Default)]
pub(crate) struct WatchState {
    /// Consul's index of the intentions match, once known.
    pub(crate) index: Option<u64>,
    /// The last failure, cleared by the next success.
    pub(crate) error: Option<String>,
}

impl Invalidation {
    /// The current epoch (one atomic load).
    #[inline]
    pub(crate) fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Makes every decision taken so far unusable.
    pub(crate) fn bump(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// A copy of the watch state.
    pub(crate) fn state(&self) -> WatchState {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update(&self, f: impl FnOnce(&mut WatchState)) {
        f(&mut self.state.lock().unwrap_or_else(|p| p.into_inner()));
    }
}

/// Watches the intentions for `target` until `shutdown` flips or the authorizer is gone,
/// on the shared blocking-query loop. The index survives a failure: if Consul's index has
/// not moved when the watch recovers, nothing changed and nothing is dropped.
///
/// With `local` (local decisions), every answer also replaces the list local decisions
/// read (before the epoch moves, so that no decision taken at the new epoch sees the old
/// list) and asks the agent its default answer again; a default that changes bumps the
/// epoch too.
pub(crate) async fn watch_intentions(
    agent: AgentClient,
    target: String,
    invalidation: Weak<Invalidation>,
    local: Option<Arc<LocalState>>,
    shutdown: watch::Receiver<bool>,
) {
    let mut failing = false;
    let (agent_ref, target_ref) = (&agent, target.as_str());
    blocking_query::run(
        shutdown,
        None,
        AfterFailure::KeepIndex,
        |index| async move {
            let got = agent_ref.intention_match(target_ref, index).await?;
            Ok((got.value, got.index))
        },
        |outcome| {
            let alive = match invalidation.upgrade() {
                None => false,
                Some(inv) => {
                    if let Some(local) = &local {
                        feed(local, &agent, &invalidation, &outcome);
                    }
                    observe(&inv, &invalidation, &target, &mut failing, outcome);
                    true
                }
            };
            std::future::ready(alive)
        },
    )
    .await;
}

/// Hands one outcome of the watch to local decisions, and asks the agent its default in
/// the background.
fn feed(
    local: &Arc<LocalState>,
    agent: &AgentClient,
    weak: &Weak<Invalidation>,
    outcome: &Outcome<Vec<crate::consul::client::Intention>>,
) {
    match outcome {
        Outcome::Answer {
            material, index, ..
        } => {
            let list = IntentionList::new(material, *index);
            local.answered(list, std::time::Instant::now());
            let (local, agent, weak) = (local.clone(), agent.clone(), weak.clone());
            tokio::spawn(async move {
                let Some(list) = local.list() else { return };
                if let Some(default) = local.probe_default(&agent, &list).await {
                    let allow = default.allow;
                    if local.learned_default(default) {
                        log::info!(
                            "consul-connect: the agent's answer when no intention matches is {}",
                            if allow { "allow" } else { "deny" }
                        );
                        if let Some(inv) = weak.upgrade() {
                            inv.bump();
                        }
                    }
                }
            });
        }
        Outcome::Failed(e) => local.failed(e, std::time::Instant::now()),
    }
}

/// Applies one outcome of the intentions watch to the epoch and the watch state.
fn observe(
    inv: &Invalidation,
    weak: &Weak<Invalidation>,
    target: &str,
    failing: &mut bool,
    outcome: Outcome<Vec<crate::consul::client::Intention>>,
) {
    match outcome {
        Outcome::Answer {
            index, previous, ..
        } => {
            if previous != Some(index) {
                log::debug!(
                    "consul-connect: intentions for `{target}` at index {index} (was {previous:?}); dropping cached decisions"
                );
                inv.bump();
                // The first answer only sets the baseline (decisions made before it are
                // dropped above); later ones are changes the agent may trail.
                if previous.is_some() {
                    let later = weak.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(SETTLE).await;
                        if let Some(inv) = later.upgrade() {
                            inv.bump();
                        }
                    });
                }
            }
            inv.update(|s| {
                s.index = Some(index);
                s.error = None;
            });
            if *failing {
                log::info!("consul-connect: intentions watch for `{target}` recovered");
                *failing = false;
            }
        }
        Outcome::Failed(e) => {
            if !*failing {
                log::warn!(
                    "consul-connect: cannot watch the intentions for `{target}` ({e}); cached decisions now expire by TTL only"
                );
                *failing = true;
            }
            inv.update(|s| s.error = Some(e.to_string()));
        }
    }
}
