//! The small tokio runtime the library owns.
//!
//! One runtime per process, shared by every open handle: two worker threads (named
//! `consul-connect-*`) are plenty for a handful of long-polling HTTP requests. It is
//! created by the first handle and shut down when the last handle is closed or dropped.

use crate::error::{Error, Result};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Owns the runtime; dropping the last `Arc` shuts it down.
pub struct SharedRuntime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl SharedRuntime {
    /// A handle for spawning tasks.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        match &self.runtime {
            Some(rt) => rt.handle(),
            None => unreachable!("runtime is only taken in drop"),
        }
    }
}

impl Drop for SharedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                // Dropped from inside a runtime (should not happen): never block there.
                rt.shutdown_background();
            } else {
                rt.shutdown_timeout(Duration::from_secs(2));
            }
        }
    }
}

static SHARED: Mutex<Weak<SharedRuntime>> = Mutex::new(Weak::new());

/// Number of worker threads the runtime runs.
pub const WORKER_THREADS: usize = 2;

/// The process-wide runtime, created on first use.
pub fn shared() -> Result<Arc<SharedRuntime>> {
    let mut slot = SHARED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(rt) = slot.upgrade() {
        return Ok(rt);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
        .max_blocking_threads(2)
        .thread_name("consul-connect")
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?;
    let rt = Arc::new(SharedRuntime {
        runtime: Some(runtime),
    });
    *slot = Arc::downgrade(&rt);
    Ok(rt)
}
