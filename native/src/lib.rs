//! # presto-consul-connect
//!
//! Makes a JVM service, Trino first of all, a Consul Connect *native* service: it takes its
//! TLS identity (a SPIFFE X.509 leaf) and the CA roots from the local Consul agent, verifies
//! peer certificates against those roots, and authorizes peers with Consul intentions.
//!
//! Data flows one way: **source → watch → snapshot → (sink | authz | ffi)**. The modules
//! under [`ffi`] only marshal; all logic lives in the core modules.

#![deny(missing_docs)]

pub mod agent;
pub mod authz;
pub(crate) mod blocking_query;
pub mod config;
pub mod error;
pub mod ffi;
pub mod handles;
pub mod peer;
pub mod runtime;
pub mod secret;
pub mod sink;
pub mod snapshot;
pub mod source;
pub mod spiffe;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod watch;
pub mod x509;

pub use error::{CertificateError, Error, Result};

/// The library version (the crate version).
pub fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}
