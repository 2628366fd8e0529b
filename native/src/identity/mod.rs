//! A node's identity: its Connect leaf and the CA roots, watched at a source, checked by
//! the publishing rules, published as a snapshot readers load lock-free, and written as
//! PEM files.
//!
//! - [`source`]: what a source reports, and the source trait; [`agent_source`] (the local
//!   agent's leaf and roots endpoints) and [`files_source`] (PEM files another tool writes);
//! - [`publisher`]: the publishing rules, the one place that decides what goes live;
//! - [`snapshot`]: the published material and the watchers' status;
//! - [`pem_sink`]: the atomically written PEM files for Trino;
//! - this file: [`Identity`], the handle that runs a source and a publisher.

pub(crate) mod agent_source;
pub(crate) mod files_source;
mod pem_sink;
mod publisher;
mod snapshot;
pub(crate) mod source;

pub use pem_sink::{PemSink, Written, KEY_CHAIN_FILE, ROOTS_FILE};
pub use snapshot::{Leaf, Root, Roots, Snapshot, Status, Store};

use crate::config::{Settings, SourceKind};
use crate::consul::AgentClient;
use crate::error::{Error, Result};
use crate::runtime::{self, SharedRuntime};
use crate::x509::LeafInfo;
use agent_source::AgentSource;
use files_source::FilesSource;
use publisher::Publisher;
use source::{IdentitySource, SourceContext};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::{mpsc, watch, Notify};

/// What an operator watches about an identity ([`Identity::metrics`]).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// The configured service, else the current leaf's.
    pub service: Option<String>,
    /// The current leaf, once there is one.
    pub leaf: Option<LeafInfo>,
    /// Seconds until the leaf expires (negative once it has; 0 without a leaf).
    pub seconds_to_expiry: i64,
    /// Less than a tenth of the leaf's lifetime is left (or it expired): Consul should
    /// have renewed it long before (its agent renews between 60 % and 90 %).
    pub in_expiry_alarm: bool,
    /// The watchers' status (generation, rotations, last success and error).
    pub status: Status,
    /// Number of CA roots trusted.
    pub roots_count: usize,
    /// Consul's id of the active root.
    pub active_root_id: Option<String>,
    /// Failed agent requests by endpoint, in the order of [`crate::consul::ENDPOINTS`].
    pub agent_errors: [u64; 4],
}

/// A running identity: watchers on the library runtime plus the published snapshot.
/// Dropping or closing the handle stops its watchers; the runtime stops with the last handle.
pub struct Identity {
    store: Arc<Store>,
    shutdown: watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    agent: AgentClient,
    settings: Settings,
    // Declared last: dropped after the tasks are aborted.
    runtime: Arc<SharedRuntime>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("generation", &self.store.generation())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Starts watching. Returns at once; use [`Identity::wait_ready`] to wait for the
    /// first snapshot.
    pub fn open(settings: Settings) -> Result<Identity> {
        let runtime = runtime::shared()?;
        // The agent client is also what authorization uses, so it exists for the files
        // source too (building it opens no connection).
        let agent = AgentClient::new(&settings.agent)?;
        let source: Box<dyn IdentitySource> = match &settings.identity {
            SourceKind::Agent => {
                let service = settings
                    .service
                    .clone()
                    .ok_or_else(|| Error::config(crate::config::SERVICE, "is required"))?;
                Box::new(AgentSource::new(agent.clone(), service))
            }
            SourceKind::Files {
                key,
                chain,
                roots,
                poll_interval,
            } => Box::new(FilesSource::new(
                key.clone(),
                chain.clone(),
                roots.clone(),
                *poll_interval,
            )),
        };
        let sink = settings
            .pem_directory
            .as_ref()
            .map(PemSink::new)
            .transpose()?;
        let store = Arc::new(Store::new());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (events, events_rx) = mpsc::channel(16);
        let refresh = Arc::new(Notify::new());
        let publisher = Publisher::new(
            store.clone(),
            settings.service.clone(),
            sink,
            refresh.clone(),
        );
        let handle = runtime.handle();
        let source_task = handle.spawn(source.run(SourceContext {
            events,
            shutdown: shutdown_rx.clone(),
            refresh,
        }));
        let publisher_task = handle.spawn(publisher.run(events_rx, shutdown_rx));
        Ok(Identity {
            store,
            shutdown,
            tasks: Mutex::new(vec![source_task, publisher_task]),
            agent,
            settings,
            runtime,
        })
    }

    /// The store readers use.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The current snapshot, if any (lock-free).
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.store.load()
    }

    /// Status of the watchers; a token file that cannot be re-read is reported as the
    /// last error while it lasts (unless a later error is open).
    pub fn status(&self) -> Status {
        let mut status = self.store.status();
        if let Some((at, message)) = self.agent.token_error() {
            if status
                .last_error
                .as_ref()
                .is_none_or(|(seen, _)| *seen <= at)
            {
                status.last_error = Some((at, message));
            }
        }
        status
    }

    /// What an operator watches, as of `now` (one snapshot load, one status copy).
    pub fn metrics(&self, now: SystemTime) -> Metrics {
        let snapshot = self.store.load();
        let leaf = snapshot.as_ref().map(|s| s.leaf.info.clone());
        let now_s = crate::x509::unix_seconds(now);
        let (seconds_to_expiry, in_expiry_alarm) = match &leaf {
            Some(info) => (
                info.not_after - now_s,
                publisher::in_renewal_alarm(info.not_before, info.not_after, now_s),
            ),
            None => (0, false),
        };
        let roots = snapshot.as_ref().map(|s| s.roots.clone());
        Metrics {
            service: self
                .settings
                .service
                .clone()
                .or_else(|| leaf.as_ref().map(|l| l.id.service.clone())),
            leaf,
            seconds_to_expiry,
            in_expiry_alarm,
            status: self.status(),
            roots_count: roots.as_ref().map_or(0, |r| r.roots.len()),
            active_root_id: roots
                .as_ref()
                .and_then(|r| r.active())
                .map(|r| r.id.clone()),
            agent_errors: self.agent.errors(),
        }
    }

    /// The settings the handle was opened with.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The agent client (for authorization).
    pub fn agent(&self) -> &AgentClient {
        &self.agent
    }

    /// The runtime the watchers run on.
    pub fn runtime(&self) -> &tokio::runtime::Handle {
        self.runtime.handle()
    }

    /// Blocks until a snapshot exists or `timeout` passes; the error then carries the
    /// last failure so an operator sees why.
    pub fn wait_ready(&self, timeout: Duration) -> Result<Arc<Snapshot>> {
        let mut changes = self.store.subscribe();
        let store = self.store.clone();
        let waited = self.runtime.handle().block_on(async move {
            tokio::time::timeout(timeout, changes.wait_for(|g| *g > 0))
                .await
                .map(|r| r.is_ok())
        });
        match (waited, store.load()) {
            (_, Some(snapshot)) => Ok(snapshot),
            _ => Err(Error::NotReady(match store.status().last_error {
                Some((_, e)) => format!("no valid identity after {timeout:?}; last error: {e}"),
                None => format!("no identity received after {timeout:?}"),
            })),
        }
    }

    /// Stops the watchers. Idempotent; the last snapshot stays readable.
    pub fn close(&self) {
        self.shutdown.send_replace(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        for task in tasks {
            task.abort();
        }
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        self.close();
    }
}
