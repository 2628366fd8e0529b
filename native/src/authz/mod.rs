//! Authorization of client certificates: verification against the current Consul roots,
//! a decision from Consul intentions, a decision cache, and a fail-closed policy.
//!
//! ```text
//! authorize(chain) ──hit──────────────────────────────▶ cached answer      (~100 ns)
//!        │ miss
//!        ▼  single flight per (target, chain)
//!   verify_peer(chain, roots) ──fail──▶ deny (specific reason)
//!        │ ok
//!        ▼
//!   DecisionSource::decide ──error──▶ recent allow within max-stale? serve it : deny
//!        │ verdict
//!        ▼
//!   cache (TTL, roots generation, intentions epoch) ──▶ answer
//! ```
//!
//! Rules:
//! - **Fail closed.** Nothing is allowed unless the chain verified against the current
//!   roots and a decision source (or a cached decision of it) said allow. Every error is a
//!   deny with its own [`DenyReason`]; no path turns an error into an allow.
//! - **Fresh decisions.** A cached decision is used only while its TTL runs, its chain is
//!   valid (its `not_after` is compared with the wall clock on every hit), the roots are those it was verified against and the intentions for the target
//!   have not changed since it was asked for (a blocking-query watch of the intentions
//!   that match the target bumps an epoch on every change; see `intentions.rs`).
//! - **Bounded staleness.** When no decision can be had (agent unreachable, timing out or
//!   answering nonsense), an *allow* that expired less than `max-stale` ago is served
//!   again, unless roots or intentions changed since. Denies are cached briefly; failures
//!   to get a decision only for a second, and never in place of a servable allow.
//! - **One call per identity.** Concurrent identical misses wait for one decision.
//!
//! Entry points: [`Authorizer::from_identity`] for the usual setup, [`AuthorizerBuilder`]
//! to choose the decision source (the agent's authorize endpoint, or local evaluation of
//! the watched intentions: `local.rs`), and [`verify_peer`] for verification alone (e.g. a JCA
//! trust manager).

mod cache;
mod decision;
mod intentions;
mod local;
mod metrics;
mod reason;
mod verify;

pub use decision::{AgentDecisionSource, DecisionRequest, DecisionSource, Verdict};
pub use local::{DefaultPolicy, IntentionList, LocalDecisionSource, LocalStatus};
pub use metrics::Counters;
pub use reason::DenyReason;
pub(crate) use verify::{check_count, check_size};
pub use verify::{verify_peer, Peer, MAX_CHAIN_LEN};

use crate::clock;
use crate::config::{AuthzSettings, DecisionMode, PrincipalForm, AUTHZ_TARGET};
use crate::consul::AgentClient;
use crate::error::{clip, Error, Result};
use crate::identity::Identity;
use crate::identity::{Snapshot, Store};
use crate::runtime::{self, SharedRuntime};
use crate::spiffe::ServiceId;
use crate::x509::{unix_seconds, Usage};
use cache::{DecisionCache, Entry, Flights, Join};
use intentions::Invalidation;
use metrics::Metrics;
use std::any::Any;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// Longest a deny is cached (shorter when the TTL is shorter).
pub const DENY_TTL: Duration = Duration::from_secs(5);
/// Longest a failure to get a decision is cached as a deny.
pub const ERROR_TTL: Duration = Duration::from_secs(1);
/// While a stale allow is being served, how often the decision source is tried again.
pub const STALE_RETRY: Duration = Duration::from_secs(1);

/// Where an answer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Decided for this call (verification and, if it passed, the decision source).
    Fresh,
    /// Decided for an identical request running at the same time (single flight).
    Shared,
    /// A cached decision within its TTL.
    Cache,
    /// A cached allow past its TTL, served because no decision can be had right now
    /// (within `consul.authz.max-stale`).
    StaleCache,
}

/// A decision and what it is about; shared by every answer that reuses it. An
/// [`Authorization`] dereferences to it, and [`Authorizer::cached`] lends it.
#[derive(Debug)]
pub struct Decision {
    allowed: bool,
    peer: Option<Arc<Peer>>,
    /// Consul's reason for an allow, the deny reason's message otherwise.
    reason: String,
    consul_reason: Option<String>,
    deny: Option<DenyReason>,
    /// What a foreign-language layer built from this decision (the JNI layer's Java
    /// answer), made on first use and reused by every answer that shares the decision.
    attachment: OnceLock<Box<dyn Any + Send + Sync>>,
}

/// The name the authorizer's internals use for a [`Decision`].
pub(crate) type Outcome = Decision;

impl Decision {
    fn allow(peer: Arc<Peer>, consul_reason: String) -> Decision {
        Decision {
            allowed: true,
            peer: Some(peer),
            reason: consul_reason.clone(),
            consul_reason: Some(consul_reason),
            deny: None,
            attachment: OnceLock::new(),
        }
    }

    fn deny(
        reason: DenyReason,
        peer: Option<Arc<Peer>>,
        consul_reason: Option<String>,
    ) -> Decision {
        Decision {
            allowed: false,
            peer,
            reason: reason.to_string(),
            consul_reason,
            deny: Some(reason),
            attachment: OnceLock::new(),
        }
    }

    /// Whether the client may connect.
    pub fn is_allowed(&self) -> bool {
        self.allowed
    }

    /// The verified client, when its chain verified (also for denies by intention or for
    /// lack of a decision). `None` when verification failed: an unverified identity is
    /// never reported.
    pub fn peer(&self) -> Option<&Peer> {
        self.peer.as_deref()
    }

    /// The client's service identity (service, namespace, datacenter, partition, trust
    /// domain), when verified.
    pub fn service_id(&self) -> Option<&ServiceId> {
        self.peer().map(|p| &p.id)
    }

    /// The client's SPIFFE id, when verified.
    pub fn spiffe_id(&self) -> Option<&str> {
        self.peer().map(|p| p.spiffe_id.as_str())
    }

    /// Human-readable reason: Consul's for an allow, the deny reason's message for a
    /// deny (which includes Consul's reason when Consul denied).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Consul's own `Reason` text, when the decision came from Consul.
    pub fn consul_reason(&self) -> Option<&str> {
        self.consul_reason.as_deref()
    }

    /// Why the request was denied; `None` for an allow.
    pub fn deny_reason(&self) -> Option<&DenyReason> {
        self.deny.as_ref()
    }

    /// The principal name to hand to Trino: the qualified service name, the bare service
    /// name or the full SPIFFE id.
    /// Present whenever the chain verified, whatever the decision: check
    /// [`Decision::is_allowed`] first. `None` when the chain did not verify.
    pub fn principal(&self, form: PrincipalForm) -> Option<&str> {
        self.peer().map(|p| match form {
            PrincipalForm::Qualified => p.user.as_str(),
            PrincipalForm::Service => p.id.service.as_str(),
            PrincipalForm::SpiffeId => p.spiffe_id.as_str(),
        })
    }

    /// The value of type `T` attached to this decision, made by `make` on first use: a
    /// foreign-language layer's rendering of the decision (built once, then shared by
    /// every answer that reuses the decision, cached ones included). Two threads may both
    /// make one the first time; one is kept. `Ok(None)` when a value of another type is
    /// attached already.
    pub fn attachment<T: Any + Send + Sync, E>(
        &self,
        make: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<Option<&T>, E> {
        if self.attachment.get().is_none() {
            // Losing the race drops our value: the first one stays.
            let _ = self.attachment.set(Box::new(make()?));
        }
        Ok(self.attached())
    }

    /// The value of type `T` attached to this decision, if one was made
    /// ([`attachment`](Self::attachment)); never makes one.
    #[inline]
    pub fn attached<T: Any + Send + Sync>(&self) -> Option<&T> {
        self.attachment.get().and_then(|a| a.downcast_ref::<T>())
    }
}

/// The answer to one authorization request: a [`Decision`] (to which it dereferences)
/// and where it came from.
#[derive(Clone, Debug)]
pub struct Authorization {
    outcome: Arc<Decision>,
    origin: Origin,
}

impl std::ops::Deref for Authorization {
    type Target = Decision;

    fn deref(&self) -> &Decision {
        &self.outcome
    }
}

impl Authorization {
    fn denied(
        reason: DenyReason,
        peer: Option<Arc<Peer>>,
        consul_reason: Option<String>,
        origin: Origin,
    ) -> Authorization {
        Authorization {
            outcome: Arc::new(Decision::deny(reason, peer, consul_reason)),
            origin,
        }
    }

    /// A deny decided before any verification: the chain could not even be read (no
    /// certificate, too many, one empty or oversized), as the JNI layer finds while
    /// copying it. The same answer [`Authorizer::authorize`] gives for that chain.
    pub fn refused(reason: DenyReason) -> Authorization {
        Authorization::denied(reason, None, None, Origin::Fresh)
    }

    /// Where the answer came from.
    pub fn origin(&self) -> Origin {
        self.origin
    }

    /// Whether the answer was served from the cache (fresh or stale).
    pub fn from_cache(&self) -> bool {
        matches!(self.origin, Origin::Cache | Origin::StaleCache)
    }
}

/// Counters and health of an [`Authorizer`].
#[derive(Clone, Debug)]
pub struct AuthzStatus {
    /// Cached decisions held (including expired ones not yet evicted).
    pub entries: usize,
    /// Upper bound of cached decisions.
    pub capacity: usize,
    /// Current invalidation epoch (grows with every intentions change).
    pub epoch: u64,
    /// Calls made to the decision source.
    pub source_calls: u64,
    /// Stale allows served while no decision could be had.
    pub stale_served: u64,
    /// Live cached decisions dropped to make room for new ones (the cache is too small
    /// when this grows steadily).
    pub evictions: u64,
    /// Answers, cache use and decision-source calls since the start.
    pub counters: Counters,
    /// The decision source's name: `agent` or `local` for the usual setup
    /// (`consul.authz.decisions`).
    pub decision_source: &'static str,
    /// Whether the intentions for the target are watched.
    pub watching: bool,
    /// Consul's index of the watched intentions, once known.
    pub intentions_index: Option<u64>,
    /// The watch's last failure, cleared by its next success.
    pub intentions_error: Option<String>,
}

/// Builds an [`Authorizer`].
pub struct AuthorizerBuilder {
    store: Arc<Store>,
    target: String,
    settings: AuthzSettings,
    decision_timeout: Duration,
    source: Option<Arc<dyn DecisionSource>>,
    watch: Option<AgentClient>,
    local: bool,
}

impl AuthorizerBuilder {
    /// Starts a builder: roots come from `store`, clients must be allowed to reach `target`.
    pub fn new(store: Arc<Store>, target: impl Into<String>) -> Self {
        AuthorizerBuilder {
            store,
            target: target.into(),
            settings: AuthzSettings::default(),
            decision_timeout: Duration::from_secs(10),
            source: None,
            watch: None,
            local: false,
        }
    }

    /// Cache size, TTL, staleness bound and principal form (the target is set by
    /// [`AuthorizerBuilder::new`]).
    pub fn settings(mut self, settings: &AuthzSettings) -> Self {
        self.settings = settings.clone();
        self
    }

    /// How long a request waits for a decision another request is fetching; use the
    /// decision source's own timeout (default 10 s).
    pub fn decision_timeout(mut self, timeout: Duration) -> Self {
        self.decision_timeout = timeout;
        self
    }

    /// The decision source (required).
    pub fn source(mut self, source: Arc<dyn DecisionSource>) -> Self {
        self.source = Some(source);
        self
    }

    /// Watch the intentions for the target through `agent`, dropping cached decisions
    /// when they change. Without a watch, decisions are reused for their TTL.
    pub fn watch_intentions(mut self, agent: AgentClient) -> Self {
        self.watch = Some(agent);
        self
    }

    /// Decide locally: the intentions watch (required, see
    /// [`AuthorizerBuilder::watch_intentions`]) feeds a [`LocalDecisionSource`], which
    /// becomes the decision source and keeps the last list in force for
    /// `consul.authz.intentions-max-age` once the watch fails.
    pub fn local_decisions(mut self) -> Self {
        self.local = true;
        self
    }

    /// Builds the authorizer and starts the intentions watch, if requested.
    pub fn build(mut self) -> Result<Authorizer> {
        if !valid_service_name(&self.target) {
            return Err(Error::config(
                AUTHZ_TARGET,
                format!(
                    "`{}` is not a valid Consul service name",
                    clip(&self.target)
                ),
            ));
        }
        let local = match (self.local, &self.watch) {
            (false, _) => None,
            (true, None) => {
                return Err(Error::InvalidArgument(
                    "local decisions need the intentions watch".into(),
                ))
            }
            (true, Some(agent)) => {
                let state = Arc::new(local::LocalState::new(&self.target, agent));
                self.source = Some(Arc::new(LocalDecisionSource::fed(
                    state.clone(),
                    self.settings.intentions_max_age,
                )));
                Some(state)
            }
        };
        let source = self.source.ok_or_else(|| {
            Error::InvalidArgument("an authorizer needs a decision source".into())
        })?;
        let s = &self.settings;
        let inner = Arc::new(Inner {
            store: self.store,
            source,
            target: self.target,
            principal: s.principal,
            identity_groups: s.identity_groups,
            ttl: s.cache_ttl,
            deny_ttl: s.cache_ttl.min(DENY_TTL),
            error_ttl: s.cache_ttl.min(ERROR_TTL),
            stale_retry: s.cache_ttl.min(STALE_RETRY),
            max_stale: s.max_stale,
            wait_timeout: self.decision_timeout + Duration::from_secs(1),
            cache: DecisionCache::new(s.cache_size),
            flights: Flights::default(),
            invalidation: Arc::new(Invalidation::default()),
            metrics: Metrics::default(),
        });
        let watch = match self.watch {
            None => None,
            Some(agent) => Some(Watch::start(
                agent,
                inner.target.clone(),
                Arc::downgrade(&inner.invalidation),
                local,
            )?),
        };
        Ok(Authorizer { inner, watch })
    }
}

/// Authorizes client certificate chains for one target service. Cheap to share across
/// threads (`&self` everywhere); closing or dropping it stops its intentions watch.
pub struct Authorizer {
    inner: Arc<Inner>,
    watch: Option<Watch>,
}

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("target", &self.inner.target)
            .field("source", &self.inner.source.name())
            .field("watching", &self.watch.is_some())
            .finish_non_exhaustive()
    }
}

struct Watch {
    shutdown: tokio::sync::watch::Sender<bool>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    _runtime: Arc<SharedRuntime>,
}

impl Watch {
    /// Starts the intentions watch for `target` on the library runtime.
    fn start(
        agent: AgentClient,
        target: String,
        invalidation: std::sync::Weak<Invalidation>,
        local: Option<Arc<local::LocalState>>,
    ) -> Result<Watch> {
        let runtime = runtime::shared()?;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let task = runtime.handle().spawn(intentions::watch_intentions(
            agent,
            target,
            invalidation,
            local,
            shutdown_rx,
        ));
        Ok(Watch {
            shutdown,
            task: Mutex::new(Some(task)),
            _runtime: runtime,
        })
    }

    fn stop(&self) {
        self.shutdown.send_replace(true);
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Inner {
    store: Arc<Store>,
    source: Arc<dyn DecisionSource>,
    target: String,
    principal: PrincipalForm,
    identity_groups: bool,
    ttl: Duration,
    deny_ttl: Duration,
    error_ttl: Duration,
    stale_retry: Duration,
    max_stale: Duration,
    wait_timeout: Duration,
    cache: DecisionCache,
    flights: Flights,
    invalidation: Arc<Invalidation>,
    metrics: Metrics,
}

impl Authorizer {
    /// The usual setup: roots from the identity's store, decisions from its agent's
    /// authorize endpoint (`consul.authz.decisions=agent`) or from the watched intentions
    /// (`local`), the intentions for the target watched through the same agent,
    /// cache and principal settings from `consul.authz.*`. The target is
    /// `consul.authz.target`, or else `consul.service`.
    pub fn from_identity(identity: &Identity) -> Result<Authorizer> {
        let settings = identity.settings();
        let target = settings
            .authz
            .target
            .clone()
            .or_else(|| settings.service.clone())
            .ok_or_else(|| {
                Error::config(AUTHZ_TARGET, "is required when consul.service is not set")
            })?;
        let timeout = settings.agent.request_timeout;
        let builder = AuthorizerBuilder::new(identity.store().clone(), target)
            .settings(&settings.authz)
            .decision_timeout(timeout)
            .watch_intentions(identity.agent().clone());
        match settings.authz.decisions {
            DecisionMode::Agent => builder
                .source(Arc::new(AgentDecisionSource::new(
                    identity.agent().clone(),
                    timeout,
                )?))
                .build(),
            DecisionMode::Local => builder.local_decisions().build(),
        }
    }

    /// A builder (see [`AuthorizerBuilder`]).
    pub fn builder(store: Arc<Store>, target: impl Into<String>) -> AuthorizerBuilder {
        AuthorizerBuilder::new(store, target)
    }

    /// The configured target service.
    pub fn target(&self) -> &str {
        &self.inner.target
    }

    /// The configured principal form.
    pub fn principal_form(&self) -> PrincipalForm {
        self.inner.principal
    }

    /// The groups for an answer: the verified identity's ([`ServiceId::groups`]) unless
    /// `consul.authz.groups=none`; empty when the chain did not verify.
    pub fn groups<'a>(&self, answer: &'a Decision) -> &'a [String] {
        match answer.peer() {
            Some(p) if self.inner.identity_groups => &p.groups,
            _ => &[],
        }
    }

    /// The principal for an answer, in the configured form.
    pub fn principal<'a>(&self, answer: &'a Decision) -> Option<&'a str> {
        answer.principal(self.inner.principal)
    }

    /// Authorizes a presented chain (DER, leaf first) for the configured target.
    ///
    /// Blocking on a miss (at most about the decision timeout); never blocks on a cache
    /// hit. Must not be called from a thread of the library runtime.
    pub fn authorize<C: AsRef<[u8]>>(&self, chain: &[C]) -> Authorization {
        let answer = self
            .inner
            .authorize(&self.inner.target, chain, Instant::now(), None);
        self.inner.metrics.answered(&answer);
        answer
    }

    /// The hot path of foreign callers: when a cached decision for `chain` (configured
    /// target) serves right now, lends it to `f` and returns what `f` made of it; `None`
    /// otherwise (call [`Authorizer::authorize`] then). Exactly the hit of `authorize`
    /// (same checks, counted the same) without cloning the shared answer, so threads
    /// answering the same client write no shared memory; the entry the calling thread
    /// remembers is tried before the tables. `f` runs while the cache entry is held: it
    /// must not block.
    #[inline]
    pub fn cached<C: AsRef<[u8]>, R>(
        &self,
        chain: &[C],
        f: impl FnOnce(&Decision) -> R,
    ) -> Option<R> {
        let inner = &self.inner;
        verify::check_shape(chain).ok()?;
        // Coarse clocks (see `clock`): a hit may be served up to a tick (a few ms) past
        // its TTL or past its certificates' last second of validity.
        let (now, wall_s) = (clock::coarse_instant(), clock::wall_seconds());
        inner.hit(&inner.target, chain, now, wall_s, |entry| {
            inner.metrics.counted(entry.outcome.deny_reason(), true);
            f(&entry.outcome)
        })
    }

    /// Authorizes a presented chain for another target. Decisions for a target other
    /// than the configured one are never cached, because only the configured target's
    /// intentions are watched.
    pub fn authorize_for<C: AsRef<[u8]>>(&self, chain: &[C], target: &str) -> Authorization {
        let answer = self.inner.authorize(target, chain, Instant::now(), None);
        self.inner.metrics.answered(&answer);
        answer
    }

    /// A refusal decided before the chain reached the authorizer (e.g. a foreign
    /// caller's array that is too long to copy), counted like every other answer.
    pub fn refuse(&self, reason: DenyReason) -> Authorization {
        let answer = Authorization::refused(reason);
        self.inner.metrics.answered(&answer);
        answer
    }

    /// Makes every cached decision unusable (the next request of each identity asks
    /// again), exactly as an intentions change does. Entries are replaced on their next
    /// miss or evicted when their shard fills.
    pub fn invalidate(&self) {
        self.inner.invalidation.bump();
    }

    /// The current invalidation epoch (grows with every intentions change and with
    /// [`Authorizer::invalidate`]); one atomic read.
    pub fn epoch(&self) -> u64 {
        self.inner.invalidation.epoch()
    }

    /// Counters and health.
    pub fn status(&self) -> AuthzStatus {
        let watch = self.inner.invalidation.state();
        AuthzStatus {
            entries: self.inner.cache.len(),
            capacity: self.inner.cache.bound(),
            epoch: self.inner.invalidation.epoch(),
            source_calls: self.inner.metrics.source_calls(),
            stale_served: self.inner.metrics.stale_count(),
            evictions: self.inner.cache.evictions(),
            counters: self.inner.metrics.counters(),
            decision_source: self.inner.source.name(),
            watching: self.watch.is_some(),
            intentions_index: watch.index,
            intentions_error: watch.error,
        }
    }

    /// Stops the intentions watch. Idempotent. Cached decisions then live for their TTL.
    pub fn close(&self) {
        if let Some(watch) = &self.watch {
            watch.stop();
        }
    }

    /// [`Authorizer::authorize`] at a given time (tests).
    #[cfg(test)]
    fn authorize_at<C: AsRef<[u8]>>(
        &self,
        chain: &[C],
        now: Instant,
        wall: SystemTime,
    ) -> Authorization {
        let answer = self
            .inner
            .authorize(&self.inner.target, chain, now, Some(wall));
        self.inner.metrics.answered(&answer);
        answer
    }
}

impl Inner {
    #[inline]
    fn authorize<C: AsRef<[u8]>>(
        &self,
        target: &str,
        chain: &[C],
        now: Instant,
        wall: Option<SystemTime>,
    ) -> Authorization {
        if let Err(reason) = verify::check_shape(chain) {
            return Authorization::refused(reason);
        }
        // Read once per call: a hit compares it with the entry's chain `not_after`, a miss
        // verifies at it.
        let wall = wall.unwrap_or_else(SystemTime::now);
        match self.hit(target, chain, now, unix_seconds(wall), Entry::answer) {
            Some(answer) => answer,
            None => self.miss(target, chain, self.cache.hash(target, chain), now, wall),
        }
    }

    /// Applies `f` to the cached entry for the request if it serves at `now` (wall clock
    /// `wall_s`) under the current roots and intentions.
    #[inline]
    fn hit<C: AsRef<[u8]>, R>(
        &self,
        target: &str,
        chain: &[C],
        now: Instant,
        wall_s: i64,
        f: impl FnOnce(&Entry) -> R,
    ) -> Option<R> {
        let generation = self.store.generation();
        let epoch = self.invalidation.epoch();
        self.cache.serving(
            target,
            chain,
            |e| e.serves(now, wall_s, generation, epoch),
            f,
        )
    }

    #[cold]
    fn miss<C: AsRef<[u8]>>(
        &self,
        target: &str,
        chain: &[C],
        hash: u64,
        now: Instant,
        wall: SystemTime,
    ) -> Authorization {
        match self.flights.join(hash, target, chain) {
            Join::Follower(flight) => match flight.wait(self.wait_timeout) {
                Some(answer) => Authorization {
                    outcome: answer.outcome,
                    origin: Origin::Shared,
                },
                None => Authorization::denied(
                    DenyReason::AgentUnavailable(format!(
                        "no decision within {:?} (waited for an identical request's)",
                        self.wait_timeout
                    )),
                    None,
                    None,
                    Origin::Shared,
                ),
            },
            Join::Leader(guard) => {
                let answer = self.lead(target, chain, hash, guard.key(), now, wall);
                guard.complete(answer.clone());
                answer
            }
        }
    }

    /// Fetches the decision for a miss; runs once per key at a time.
    fn lead<C: AsRef<[u8]>>(
        &self,
        target: &str,
        chain: &[C],
        hash: u64,
        key: &Arc<cache::Key>,
        now: Instant,
        wall: SystemTime,
    ) -> Authorization {
        // Read the epoch before anything else: an intentions change that lands while the
        // decision is fetched then makes the new entry unusable at birth.
        let epoch = self.invalidation.epoch();
        let Some(snapshot) = self.store.load() else {
            return Authorization::denied(DenyReason::NoRoots, None, None, Origin::Fresh);
        };
        let generation = snapshot.generation;
        let now_s = unix_seconds(wall);
        let previous = self.cache.get(hash, target, chain);
        // Another leader may have stored the answer between our miss and our lead.
        if let Some(p) = &previous {
            if p.serves(now, now_s, self.store.generation(), epoch) {
                return p.answer();
            }
        }
        if !valid_service_name(target) {
            return Authorization::denied(
                DenyReason::InvalidTarget(clip(target)),
                None,
                None,
                Origin::Fresh,
            );
        }
        let cacheable = target == self.target;
        let store = |entry: Entry| {
            if cacheable {
                let (generation, epoch) = (self.store.generation(), self.invalidation.epoch());
                self.cache
                    .insert(hash, key, entry, |e| e.alive(now, now_s, generation, epoch));
            }
        };

        let peer = match self.verified_peer(chain, &snapshot, previous.as_deref(), wall) {
            Ok(peer) => peer,
            // Not cached: the cache holds decisions about verified identities, and a flood
            // of forged or garbage certificates must not evict them.
            Err(reason) => return Authorization::denied(reason, None, None, Origin::Fresh),
        };
        let valid_until =
            now + Duration::from_secs(u64::try_from(peer.chain_not_after - now_s).unwrap_or(0));

        match self.decide(target, &peer) {
            Ok(verdict) => {
                let (outcome, ttl) = self.outcome(verdict, &peer);
                let outcome = Arc::new(outcome);
                let fresh_until = (now + ttl).min(valid_until);
                let stale_until = if outcome.allowed {
                    (fresh_until + self.max_stale).min(valid_until)
                } else {
                    fresh_until
                };
                store(Entry {
                    outcome: outcome.clone(),
                    generation,
                    epoch,
                    fresh_until,
                    stale_until,
                    stale: false,
                    stored: now,
                    not_after: peer.chain_not_after,
                });
                Authorization {
                    outcome,
                    origin: Origin::Fresh,
                }
            }
            Err(error) => {
                self.no_decision(previous, generation, now, valid_until, peer, error, store)
            }
        }
    }

    /// The verified client: the previous entry's, when it verified this exact chain against
    /// the same roots and the chain is still valid; else a fresh verification.
    fn verified_peer<C: AsRef<[u8]>>(
        &self,
        chain: &[C],
        snapshot: &Snapshot,
        previous: Option<&Entry>,
        wall: SystemTime,
    ) -> std::result::Result<Arc<Peer>, DenyReason> {
        let reused = previous
            .filter(|p| p.generation == snapshot.generation)
            .and_then(|p| p.outcome.peer.clone())
            .filter(|peer| unix_seconds(wall) <= peer.chain_not_after);
        match reused {
            Some(peer) => Ok(peer),
            None => verify_peer(chain, &snapshot.roots, wall, Usage::Client).map(Arc::new),
        }
    }

    /// Asks the decision source. A panicking source is a failure to decide like any other
    /// (and must not leave the followers of this flight waiting).
    fn decide(&self, target: &str, peer: &Peer) -> Result<Verdict> {
        let request = DecisionRequest { target, peer };
        let started = Instant::now();
        let verdict = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.source.decide(&request)
        }))
        .unwrap_or_else(|_| {
            Err(Error::Internal(format!(
                "the decision source `{}` panicked",
                self.source.name()
            )))
        });
        self.metrics
            .source_called(started.elapsed(), verdict.is_ok());
        verdict
    }

    /// The outcome of a verdict for `peer`, and how long it may be reused.
    fn outcome(&self, verdict: Verdict, peer: &Arc<Peer>) -> (Outcome, Duration) {
        match verdict {
            Verdict::Allow { reason } => (Outcome::allow(peer.clone(), reason), self.ttl),
            Verdict::Deny { reason } => (
                Outcome::deny(
                    DenyReason::Denied {
                        reason: reason.clone(),
                    },
                    Some(peer.clone()),
                    Some(reason),
                ),
                self.deny_ttl,
            ),
            Verdict::DenyHttpPermissions { reason } => (
                Outcome::deny(
                    DenyReason::IntentionHasHttpPermissions {
                        reason: reason.clone(),
                    },
                    Some(peer.clone()),
                    Some(reason),
                ),
                self.deny_ttl,
            ),
        }
    }

    /// No decision could be had: serve a recent allow within the staleness bound, or deny.
    #[allow(clippy::too_many_arguments)]
    fn no_decision(
        &self,
        previous: Option<Arc<Entry>>,
        generation: u64,
        now: Instant,
        valid_until: Instant,
        peer: Arc<Peer>,
        error: Error,
        store: impl Fn(Entry),
    ) -> Authorization {
        // The current epoch, not the one read before the call: an intentions change seen
        // meanwhile forbids serving anything decided before it.
        let epoch = self.invalidation.epoch();
        if let Some(p) = previous.filter(|p| {
            p.outcome.allowed
                && p.generation == generation
                && p.epoch == epoch
                && now < p.stale_until
        }) {
            self.metrics.stale_served();
            log::warn!(
                "consul-connect: serving the cached allow of {} for {:?} more at most: {error}",
                peer.spiffe_id,
                p.stale_until - now
            );
            let rearmed = Entry {
                fresh_until: (now + self.stale_retry).min(p.stale_until),
                stale: true,
                stored: now,
                ..Entry::clone(&p)
            };
            let answer = rearmed.answer();
            store(rearmed);
            return answer;
        }
        log::warn!(
            "consul-connect: denying {}: no decision from {}: {error}",
            peer.spiffe_id,
            self.source.name()
        );
        let not_after = peer.chain_not_after;
        let outcome = Arc::new(Outcome::deny(
            DenyReason::AgentUnavailable(error.to_string()),
            Some(peer),
            None,
        ));
        let until = (now + self.error_ttl).min(valid_until);
        store(Entry {
            outcome: outcome.clone(),
            generation,
            epoch,
            fresh_until: until,
            stale_until: until,
            stale: false,
            stored: now,
            not_after,
        });
        Authorization {
            outcome,
            origin: Origin::Fresh,
        }
    }
}

/// Service names as Consul allows them (letters, digits, '-', '_', '.').
fn valid_service_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

#[cfg(test)]
mod tests;

/// [`local::evaluate`] without a default, for the fuzz targets.
#[cfg(feature = "fuzzing")]
pub(crate) fn evaluate_for_fuzzing(list: &IntentionList, id: &ServiceId) -> Option<Verdict> {
    local::evaluate(list, None, id)
}
