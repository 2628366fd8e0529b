//! # presto-consul-connect
//!
//! Makes a JVM service, Trino first of all, a Consul Connect *native* service: it takes its
//! TLS identity (a SPIFFE X.509 leaf) and the CA roots from the local Consul agent, verifies
//! peer certificates against those roots, and authorizes peers with Consul intentions.
//!
//! Data flows one way: **source → publisher → snapshot → (PEM sink | authz | ffi)**. The
//! modules under [`ffi`] only marshal; all logic lives in the core modules. Each concern has
//! one module named for it:
//!
//! | module | concern |
//! | --- | --- |
//! | `consul` | the local agent's HTTP API (`client`) and the one blocking-query loop |
//! | `identity` | sources (agent, files), the publishing rules (`publisher`), the snapshot, the PEM sink |
//! | `authz` | peer verification, decision sources, the decision cache, the intentions watch |
//! | `peer` | verification of one TLS connection's peer (trust managers) |
//! | [`config`] | the one settings grammar and every key |
//! | [`x509`] | certificate and key helpers |
//! | `log_queue` | the log bridge's bounded queue, drained by Java into java.util.logging |
//! | [`ffi`] | JNI exports and the C ABI |
//!
//! Modules are private; what other code uses is re-exported here.

#![deny(missing_docs)]

mod authz;
mod clock;
pub mod config;
mod consul;
mod error;
pub mod ffi;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod handles;
mod identity;
mod log_queue;
mod peer;
mod runtime;
mod secret;
mod spiffe;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod x509;

pub use authz::{
    verify_peer, AgentDecisionSource, Authorization, Authorizer, AuthorizerBuilder, AuthzStatus,
    Counters, Decision, DecisionRequest, DecisionSource, DefaultPolicy, DenyReason, IntentionList,
    LocalDecisionSource, LocalStatus, Origin, Peer, Verdict, MAX_CHAIN_LEN,
};
pub use consul::{AgentClient, ENDPOINTS as AGENT_ENDPOINTS};
pub use error::{CertificateError, Error, Result};
pub use identity::{
    Identity, Leaf, Metrics as IdentityMetrics, PemSink, Root, Roots, Snapshot, Status, Store,
    Written, KEY_CHAIN_FILE, ROOTS_FILE,
};
pub use spiffe::ServiceId;

/// The library version (the crate version).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
