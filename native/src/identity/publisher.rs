//! The publishing rules, in one place:
//! - a leaf is published only after its private key matches the certificate, its single
//!   SPIFFE id names our service in the roots' trust domain, it is within its validity
//!   period, and its chain verifies against a current root;
//! - roots are published when they decode and are non-empty;
//! - any failure keeps the last good leaf and roots in service and is recorded in the status;
//! - a leaf that is not valid yet on this node's clock (the clock is behind the CA's, or
//!   a files-source leaf is dated a little ahead) is kept and evaluated again when it
//!   becomes valid ([`recheck_time`]); the files source re-sends such a set itself, told by
//!   the [`Verdict`] on its event;
//! - a leaf that nears expiry without being renewed triggers an active fetch and a loud
//!   status error; an expired leaf is never written to the PEM files.

use super::pem_sink::PemSink;
use super::snapshot::{Leaf, Roots, Snapshot, Store};
use super::source::{Channel, LeafMaterial, RootsMaterial, SourceEvent, Verdict};
use crate::error::{CertificateError, Error, Result};
use crate::x509::{self, Usage};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch, Notify};

/// Fraction of the leaf lifetime left at which a missing renewal becomes an alarm.
/// Consul's agent renews leaves between 60% and 90% of their lifetime.
const RENEWAL_ALARM_FRACTION: f64 = 0.1;

/// Whether a leaf valid from `not_before` to `not_after` (seconds) is in its renewal
/// alarm window at `now_s`: less than [`RENEWAL_ALARM_FRACTION`] of its lifetime left, or
/// expired.
pub(crate) fn in_renewal_alarm(not_before: i64, not_after: i64, now_s: i64) -> bool {
    let lifetime = (not_after - not_before).max(1) as f64;
    let left = (not_after - now_s) as f64;
    left / lifetime < RENEWAL_ALARM_FRACTION
}

/// Longest wait before a leaf rejected as not valid yet is evaluated again, even when its
/// notBefore is further away: the node's clock may be corrected meanwhile.
const RECHECK_MAX: Duration = Duration::from_secs(30);

/// Wait before evaluating again a chain one of whose CA certificates is not valid yet
/// (the error does not say until when).
const RECHECK_CHAIN: Duration = Duration::from_secs(5);

/// Applies the publishing rules to what a source reports.
pub(super) struct Publisher {
    store: Arc<Store>,
    service: Option<String>,
    sink: Option<PemSink>,
    roots: Option<Arc<Roots>>,
    leaf: Option<Arc<Leaf>>,
    /// The source's latest leaf when it could not be accepted yet: it arrived before any
    /// roots or before the roots that sign it (evaluated again when roots change), or it
    /// is not valid yet (evaluated again at `recheck_at` as well).
    pending_leaf: Option<LeafMaterial>,
    /// When to evaluate `pending_leaf` again on the clock (a leaf not valid yet).
    recheck_at: Option<SystemTime>,
    refresh: Arc<Notify>,
    last_alarm: Option<SystemTime>,
    /// The alarm state last logged for the current leaf: `Some(false)` renewal overdue,
    /// `Some(true)` expired.
    alarmed: Option<bool>,
    /// What the last publication held, to log what changed.
    published: Option<(Arc<Leaf>, Arc<Roots>)>,
    /// Open problems per channel. A problem is cleared only by a success on its own
    /// channel; a rejected material (`sticky`) only by new material, not by the source
    /// confirming that the rejected material is still what it has.
    errors: BTreeMap<Channel, Problem>,
}

struct Problem {
    at: SystemTime,
    message: String,
    sticky: bool,
}

impl Publisher {
    /// A publisher into `store` (and `sink`) for `service`; `refresh` asks the source for
    /// an active fetch.
    pub(super) fn new(
        store: Arc<Store>,
        service: Option<String>,
        sink: Option<PemSink>,
        refresh: Arc<Notify>,
    ) -> Publisher {
        Publisher {
            store,
            service,
            sink,
            roots: None,
            leaf: None,
            pending_leaf: None,
            recheck_at: None,
            refresh,
            last_alarm: None,
            alarmed: None,
            published: None,
            errors: BTreeMap::new(),
        }
    }

    pub(super) async fn run(
        mut self,
        mut events: mpsc::Receiver<SourceEvent>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => self.handle(event),
                    None => return,
                },
                _ = tick.tick() => self.tick(SystemTime::now()),
                _ = shutdown.wait_for(|c| *c) => return,
            }
        }
    }

    fn handle(&mut self, event: SourceEvent) {
        let now = SystemTime::now();
        let (channel, outcome) = match event {
            SourceEvent::Unchanged(channel) => {
                if self.errors.get(&channel).is_some_and(|p| !p.sticky) {
                    self.cleared(channel);
                }
                self.store.update_status(|s| s.last_success = Some(now));
                self.sync_errors();
                return;
            }
            SourceEvent::Failed(channel, e) => {
                self.problem(channel, now, &e, false);
                return;
            }
            SourceEvent::Roots(roots) => {
                let outcome = self.accept_roots(roots).map(|changed| {
                    // A leaf that arrived before the roots that sign it (the two watches
                    // race during a CA rotation) gets another chance now.
                    match self.pending_leaf.take() {
                        Some(leaf) if changed => {
                            let accepted = self.try_leaf(leaf, now);
                            match &accepted {
                                Ok(_) => self.cleared(Channel::Leaf),
                                Err(e) => self.problem(Channel::Leaf, now, e, true),
                            }
                            accepted.unwrap_or(false) || changed
                        }
                        Some(leaf) => {
                            self.pending_leaf = Some(leaf);
                            false
                        }
                        None => changed,
                    }
                });
                (Channel::Roots, outcome)
            }
            SourceEvent::Leaf(leaf) => (Channel::Leaf, self.try_leaf(leaf, now)),
            SourceEvent::Both(roots, leaf, verdict) => {
                // Validate the pair before keeping either: a bad leaf must not leave new
                // roots in place that do not match the leaf in service.
                let previous = self.roots.clone();
                let rotations = self.store.status().roots_rotations;
                let outcome = self
                    .accept_roots(roots)
                    .and_then(|c| self.accept_leaf(&leaf, now).map(|l| c || l));
                if outcome.is_err() {
                    self.roots = previous;
                    self.store.update_status(|s| s.roots_rotations = rotations);
                }
                // The source marks the files good only when they are accepted, and sends a
                // set that is not valid yet again when it may be.
                let _ = verdict.send(match &outcome {
                    Ok(_) => Verdict::Accepted,
                    Err(e) => match recheck_time(e, now) {
                        Some(at) => Verdict::NotYet(at),
                        None => Verdict::Rejected,
                    },
                });
                (Channel::Files, outcome)
            }
        };
        match outcome {
            Ok(changed) => {
                self.cleared(channel);
                self.store.update_status(|s| s.last_success = Some(now));
                self.sync_errors();
                if changed {
                    self.publish(now);
                }
            }
            Err(e) => self.problem(channel, now, &e, true),
        }
    }

    /// Records a problem on `channel` and logs it when it is new: one line when a channel
    /// starts failing or fails differently, none for every retry that fails the same way
    /// ([`Publisher::cleared`] logs the recovery). The same rejection of material again
    /// (material kept and evaluated again) is not even re-dated.
    fn problem(&mut self, channel: Channel, at: SystemTime, error: &Error, sticky: bool) {
        let message = error.to_string();
        let open = self.errors.get(&channel);
        if sticky && open.is_some_and(|p| p.sticky && p.message == message) {
            return;
        }
        if open.is_none_or(|p| p.message != message) {
            log::warn!("consul-connect: {message}");
        }
        self.errors.insert(
            channel,
            Problem {
                at,
                message,
                sticky,
            },
        );
        self.sync_errors();
    }

    /// Closes the open problem of `channel`, if any, with one line saying so.
    fn cleared(&mut self, channel: Channel) {
        if let Some(problem) = self.errors.remove(&channel) {
            let what = match channel {
                Channel::Roots => "the CA roots are fetched again",
                Channel::Leaf => "the leaf is fetched again",
                Channel::Files => "the identity files are read again",
                Channel::Local => "the PEM files are written again",
            };
            log::info!(
                "consul-connect: recovered: {what} (the problem since {}: {})",
                humantime::format_rfc3339_seconds(problem.at),
                problem.message
            );
        }
    }

    /// Shows the most recent open problem as the status error.
    fn sync_errors(&self) {
        let latest = self
            .errors
            .values()
            .max_by_key(|p| p.at)
            .map(|p| (p.at, p.message.clone()));
        self.store.update_status(|s| s.last_error = latest);
    }

    /// Returns whether the roots differ from the current ones.
    fn accept_roots(&mut self, material: RootsMaterial) -> Result<bool> {
        if material.roots.is_empty() {
            return Err(CertificateError::Rejected("roots update without any root".into()).into());
        }
        if material.trust_domain.is_empty() {
            return Err(
                CertificateError::Rejected("roots update without a trust domain".into()).into(),
            );
        }
        let new = Roots {
            trust_domain: material.trust_domain,
            roots: material.roots,
        };
        if let Some(current) = &self.roots {
            if same_roots(current, &new) {
                return Ok(false);
            }
            self.store.update_status(|s| s.roots_rotations += 1);
        }
        if let Some(leaf) = &self.leaf {
            if let Err(e) = verify_leaf_chain(leaf, &new, SystemTime::now()) {
                log::warn!("consul-connect: current leaf no longer verifies against the new roots ({e}); waiting for a re-issued leaf");
            }
        }
        self.roots = Some(Arc::new(new));
        Ok(true)
    }

    /// Accepts a leaf, or keeps it when it may become acceptable: for the next roots
    /// update when it does not verify against the current roots (yet), and for a later
    /// look on the clock when it is not valid yet. A leaf rejected for any other reason
    /// drops the kept one: it is no longer the source's latest.
    fn try_leaf(&mut self, material: LeafMaterial, now: SystemTime) -> Result<bool> {
        self.recheck_at = None;
        if self.roots.is_none() {
            self.pending_leaf = Some(material);
            return Ok(false);
        }
        match self.accept_leaf(&material, now) {
            Ok(changed) => {
                self.pending_leaf = None;
                Ok(changed)
            }
            Err(e) => {
                self.recheck_at = recheck_time(&e, now);
                let keep = self.recheck_at.is_some()
                    || matches!(&e, Error::Certificate(CertificateError::UnknownIssuer));
                self.pending_leaf = keep.then_some(material);
                Err(e)
            }
        }
    }

    /// Evaluates a kept leaf that was not valid yet again, once its time has come.
    fn recheck(&mut self, now: SystemTime) {
        if self.recheck_at.is_none_or(|at| now < at) {
            return;
        }
        let Some(leaf) = self.pending_leaf.take() else {
            self.recheck_at = None;
            return;
        };
        match self.try_leaf(leaf, now) {
            Ok(changed) => {
                self.cleared(Channel::Leaf);
                self.sync_errors();
                if changed {
                    self.publish(now);
                }
            }
            Err(e) => self.problem(Channel::Leaf, now, &e, true),
        }
    }

    /// Validates a leaf against the current roots; returns whether it is new.
    fn accept_leaf(&mut self, material: &LeafMaterial, now: SystemTime) -> Result<bool> {
        let roots = self
            .roots
            .clone()
            .ok_or_else(|| Error::NotReady("leaf arrived before any roots".into()))?;
        let first = material.chain.first().ok_or_else(|| {
            CertificateError::Rejected("leaf update without a certificate".into())
        })?;
        let info = x509::leaf_info(first)?;
        if let Some(service) = &self.service {
            if &info.id.service != service {
                return Err(CertificateError::WrongService {
                    found: info.id.service.clone(),
                    expected: service.clone(),
                }
                .into());
            }
        }
        if info.id.trust_domain != roots.trust_domain {
            return Err(CertificateError::ForeignTrustDomain {
                found: info.id.trust_domain.clone(),
                expected: roots.trust_domain.clone(),
            }
            .into());
        }
        // The key first: a leaf kept until it becomes valid is otherwise sound.
        x509::check_key_matches(first, &material.key_pkcs8)?;
        if x509::unix_seconds(now) < info.not_before {
            return Err(CertificateError::NotValidBefore {
                serial: info.serial.to_string(),
                not_before: info.not_before,
            }
            .into());
        }
        if !info.is_valid_at(now) {
            return Err(CertificateError::OutsideValidity {
                serial: info.serial.to_string(),
            }
            .into());
        }
        let leaf = Leaf {
            chain: material.chain.clone(),
            key_pkcs8: material.key_pkcs8.clone(),
            info,
        };
        verify_leaf_chain(&leaf, &roots, now)?;
        if let Some(current) = &self.leaf {
            if current.chain == leaf.chain {
                return Ok(false);
            }
            self.store.update_status(|s| s.leaf_rotations += 1);
        }
        self.store.update_status(|s| {
            s.next_expiry = Some(
                SystemTime::UNIX_EPOCH + Duration::from_secs(leaf.info.not_after.max(0) as u64),
            );
            s.leaf_expired = false;
        });
        self.leaf = Some(Arc::new(leaf));
        self.last_alarm = None;
        self.alarmed = None;
        // An expiry alarm was about the previous leaf.
        self.errors.remove(&Channel::Local);
        Ok(true)
    }

    fn publish(&mut self, now: SystemTime) {
        let (Some(leaf), Some(roots)) = (self.leaf.clone(), self.roots.clone()) else {
            return;
        };
        // Files first, so that whoever sees the new generation (e.g. `fetch`, or a
        // test) also finds the files that belong to it.
        if let Some(sink) = &self.sink {
            let pending = Snapshot {
                generation: self.store.generation() + 1,
                leaf: leaf.clone(),
                roots: roots.clone(),
            };
            match sink.write(&pending, now) {
                Ok(_) => {
                    self.cleared(Channel::Local);
                    self.sync_errors();
                }
                Err(e) => self.problem(Channel::Local, now, &e, false),
            }
        }
        let generation = self.store.publish(leaf.clone(), roots.clone());
        log_changes(self.published.as_ref(), &leaf, &roots, generation);
        self.published = Some((leaf, roots));
    }

    /// The once-a-second checks: a kept leaf whose time has come, the current leaf's expiry.
    fn tick(&mut self, now: SystemTime) {
        self.recheck(now);
        self.check_expiry(now);
    }

    fn check_expiry(&mut self, now: SystemTime) {
        let Some(leaf) = &self.leaf else { return };
        let now_s = x509::unix_seconds(now);
        let (start, end) = (leaf.info.not_before, leaf.info.not_after);
        if now_s > end {
            let message = format!(
                "leaf {} expired; no valid identity (Consul has not issued a new leaf)",
                leaf.info.serial
            );
            self.alarm(now, message, true);
            return;
        }
        if in_renewal_alarm(start, end, now_s) {
            let message = format!(
                "leaf {} expires in {}s and has not been renewed; fetching it again",
                leaf.info.serial,
                end - now_s
            );
            self.alarm(now, message, false);
        }
    }

    /// Reports a renewal problem loudly, at most once a minute, and asks the source to
    /// fetch now.
    fn alarm(&mut self, now: SystemTime, message: String, expired: bool) {
        // The status says it at once (the once-a-second tick), the log and refetch below
        // at most once a minute.
        self.store.update_status(|s| s.leaf_expired = expired);
        let due = self
            .last_alarm
            .is_none_or(|t| now.duration_since(t).unwrap_or_default() >= Duration::from_secs(60));
        if !due {
            return;
        }
        self.last_alarm = Some(now);
        // One line when the state changes (renewal overdue, then expired); the refetch
        // below is asked for every minute.
        if self.alarmed != Some(expired) {
            self.alarmed = Some(expired);
            if expired {
                log::error!("consul-connect: {message}");
            } else {
                log::warn!("consul-connect: {message}");
            }
        }
        self.errors.insert(
            Channel::Local,
            Problem {
                at: now,
                message,
                sticky: false,
            },
        );
        self.sync_errors();
        self.refresh.notify_one();
    }
}

/// One INFO line per published change: a new leaf (serial, SPIFFE id, validity) and/or new
/// roots (count, active id).
fn log_changes(
    previous: Option<&(Arc<Leaf>, Arc<Roots>)>,
    leaf: &Leaf,
    roots: &Roots,
    generation: u64,
) {
    let at = |s: i64| {
        humantime::format_rfc3339_seconds(
            SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(s).unwrap_or(0)),
        )
    };
    if previous.is_none_or(|(l, _)| l.chain != leaf.chain) {
        let info = &leaf.info;
        log::info!(
            "consul-connect: new leaf {} for {}, valid from {} until {} (generation {generation})",
            info.serial,
            info.id,
            at(info.not_before),
            at(info.not_after)
        );
    }
    if previous.is_none_or(|(_, r)| !same_roots(r, roots)) {
        log::info!(
            "consul-connect: new CA roots for {}: {} root(s), active {} (generation {generation})",
            roots.trust_domain,
            roots.roots.len(),
            roots.active().map_or("none", |r| r.id.as_str())
        );
    }
}

/// When material rejected with `error` at `now` is worth evaluating again: `None` unless
/// only time can fix it (something not valid yet). Decided by the error's type.
fn recheck_time(error: &Error, now: SystemTime) -> Option<SystemTime> {
    match error {
        Error::Certificate(CertificateError::NotValidBefore { not_before, .. }) => {
            let valid_from =
                SystemTime::UNIX_EPOCH + Duration::from_secs((*not_before).max(0) as u64);
            let soonest = now + Duration::from_secs(1);
            Some(valid_from.clamp(soonest, now + RECHECK_MAX))
        }
        Error::Certificate(CertificateError::NotValidYet) => Some(now + RECHECK_CHAIN),
        _ => None,
    }
}

fn verify_leaf_chain(leaf: &Leaf, roots: &Roots, now: SystemTime) -> Result<()> {
    let anchors = roots.certs();
    let intermediates = roots.intermediates();
    x509::verify_chain(&leaf.chain, &anchors, &intermediates, now, Usage::Server)?;
    x509::verify_chain(&leaf.chain, &anchors, &intermediates, now, Usage::Client)
}

fn same_roots(a: &Roots, b: &Roots) -> bool {
    a.trust_domain == b.trust_domain
        && a.roots.len() == b.roots.len()
        && a.roots.iter().zip(&b.roots).all(|(x, y)| {
            x.cert == y.cert
                && x.intermediates == y.intermediates
                && x.active == y.active
                && x.id == y.id
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Ca, LeafSpec, TRUST_DOMAIN};

    fn publisher(store: &Arc<Store>) -> Publisher {
        Publisher::new(
            store.clone(),
            Some("trino".into()),
            None,
            Arc::new(Notify::new()),
        )
    }

    fn roots(ca: &Ca) -> RootsMaterial {
        RootsMaterial {
            trust_domain: TRUST_DOMAIN.into(),
            roots: ca.roots().roots,
        }
    }

    fn leaf(ca: &Ca, spec: LeafSpec) -> LeafMaterial {
        let leaf = ca.own_leaf_to(spec);
        LeafMaterial {
            chain: leaf.chain.clone(),
            key_pkcs8: leaf.key_pkcs8.clone(),
        }
    }

    /// The agent source's path: a leaf that is not valid yet on this node's clock (the
    /// clock is two minutes behind the CA's) is kept and published once it becomes valid,
    /// without the source sending it again.
    #[test]
    fn a_leaf_not_valid_yet_is_published_when_it_becomes_valid() {
        let ca = Ca::new("ca");
        let store = Arc::new(Store::new());
        let mut publisher = publisher(&store);
        let now = SystemTime::now();
        let starts = now + Duration::from_secs(120);
        let spec = LeafSpec::service("trino").valid(starts, starts + Duration::from_secs(3600));
        publisher.handle(SourceEvent::Roots(roots(&ca)));
        publisher.handle(SourceEvent::Leaf(leaf(&ca, spec)));
        assert!(store.load().is_none());
        let (_, error) = store.status().last_error.expect("reported");
        assert!(error.contains("not valid before"), "{error}");
        // The agent's blocking query confirms the leaf is still what it has.
        publisher.handle(SourceEvent::Unchanged(Channel::Leaf));
        publisher.tick(now + Duration::from_secs(60));
        assert!(store.load().is_none(), "published before its notBefore");
        publisher.tick(now + Duration::from_secs(125));
        let snapshot = store.load().expect("published once valid");
        assert_eq!(snapshot.leaf.info.id.service, "trino");
        assert!(store.status().last_error.is_none(), "{:?}", store.status());
    }

    /// The log lines of this process (tests share one logger; each test filters by a
    /// serial or text only it uses).
    fn captured() -> &'static std::sync::Mutex<Vec<(log::Level, String)>> {
        struct Capture;
        static LINES: std::sync::Mutex<Vec<(log::Level, String)>> =
            std::sync::Mutex::new(Vec::new());
        impl log::Log for Capture {
            fn enabled(&self, _: &log::Metadata) -> bool {
                true
            }
            fn log(&self, record: &log::Record) {
                let line = (record.level(), record.args().to_string());
                LINES.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
            fn flush(&self) {}
        }
        static INIT: std::sync::Once = std::sync::Once::new();
        INIT.call_once(|| {
            let _ = log::set_boxed_logger(Box::new(Capture));
            log::set_max_level(log::LevelFilter::Info);
        });
        &LINES
    }

    fn lines_with(text: &str) -> Vec<(log::Level, String)> {
        let lines = captured().lock().unwrap_or_else(|p| p.into_inner());
        lines
            .iter()
            .filter(|(_, l)| l.contains(text))
            .cloned()
            .collect()
    }

    /// One log line per state change, never one per retry or per tick: a new leaf and new
    /// roots when published, an agent problem when it starts and when it ends, the renewal
    /// alarm when it starts and when the leaf expires.
    #[test]
    fn one_log_line_per_state_change() {
        captured();
        let ca = Ca::new("ca");
        let store = Arc::new(Store::new());
        let mut publisher = publisher(&store);
        let now = SystemTime::now();
        let spec = LeafSpec::service("trino").valid(now, now + Duration::from_secs(1000));
        publisher.handle(SourceEvent::Roots(roots(&ca)));
        publisher.handle(SourceEvent::Leaf(leaf(&ca, spec)));
        let serial = store.load().expect("published").leaf.info.serial.clone();
        let new_leaf = lines_with(&format!("new leaf {serial}"));
        assert_eq!(new_leaf.len(), 1, "{new_leaf:?}");
        assert_eq!(new_leaf[0].0, log::Level::Info);
        assert!(new_leaf[0].1.contains("spiffe://"), "{new_leaf:?}");
        let active = store
            .load()
            .expect("published")
            .roots
            .active()
            .map(|r| r.id.clone());
        let roots_lines = lines_with(&format!("active {}", active.expect("active root")));
        assert_eq!(roots_lines.len(), 1, "{roots_lines:?}");

        // The agent fails five times the same way: one WARN; then it answers: one INFO.
        let marker = format!("agent-down-{serial}");
        for _ in 0..5 {
            let e = Error::agent(format!("http://{marker}"), "connection refused");
            publisher.handle(SourceEvent::Failed(Channel::Leaf, e));
        }
        let failing = lines_with(&marker);
        assert_eq!(failing.len(), 1, "{failing:?}");
        assert_eq!(failing[0].0, log::Level::Warn);
        publisher.handle(SourceEvent::Unchanged(Channel::Leaf));
        let recovered = lines_with(&marker);
        assert_eq!(recovered.len(), 2, "{recovered:?}");
        assert!(recovered[1]
            .1
            .starts_with("consul-connect: recovered: the leaf"));
        assert_eq!(recovered[1].0, log::Level::Info);

        // Ticks in the alarm window (95 % of the lifetime gone), minutes apart: one WARN;
        // after the expiry: one ERROR.
        for minutes in 0..3u64 {
            publisher.tick(now + Duration::from_secs(950 + 61 * minutes));
        }
        let alarm = lines_with(&format!("leaf {serial} expires in"));
        assert_eq!(alarm.len(), 1, "{alarm:?}");
        assert_eq!(alarm[0].0, log::Level::Warn);
        for minutes in 0..3u64 {
            publisher.tick(now + Duration::from_secs(1200 + 61 * minutes));
        }
        let expired = lines_with(&format!("leaf {serial} expired"));
        assert_eq!(expired.len(), 1, "{expired:?}");
        assert_eq!(expired[0].0, log::Level::Error);
        assert!(store.status().leaf_expired);
    }

    /// A leaf that arrives before the roots is still kept for them, and a newer leaf
    /// supersedes a kept one.
    #[test]
    fn a_kept_leaf_is_evaluated_when_roots_come() {
        let ca = Ca::new("ca");
        let store = Arc::new(Store::new());
        let mut publisher = publisher(&store);
        publisher.handle(SourceEvent::Leaf(leaf(&ca, LeafSpec::service("trino"))));
        assert!(store.load().is_none());
        publisher.handle(SourceEvent::Roots(roots(&ca)));
        assert_eq!(store.generation(), 1);
    }
}
