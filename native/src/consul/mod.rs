//! The local Consul agent's HTTP API: the client ([`client`]: one request per endpoint,
//! tokens never logged), the token it sends ([`token`]: a token file is re-read when it
//! changes) and the one blocking-query loop every watch runs on
//! ([`blocking_query`]).

pub(crate) mod blocking_query;
pub(crate) mod client;
pub mod token;

pub use client::{AgentClient, AuthorizeRequest, CaRoots, ENDPOINTS};
