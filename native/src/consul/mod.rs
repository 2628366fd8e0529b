//! The local Consul agent's HTTP API: the client ([`client`]: one request per endpoint,
//! tokens never logged) and the one blocking-query loop every watch runs on
//! ([`blocking_query`]).

pub(crate) mod blocking_query;
pub(crate) mod client;

pub use client::{AgentClient, AuthorizeRequest, CaRoots, ENDPOINTS};
