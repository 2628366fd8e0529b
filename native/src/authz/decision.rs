//! Where authorization decisions come from.
//!
//! Consul documents the agent's authorize endpoint as deprecated, so callers only see the
//! [`DecisionSource`] trait: [`AgentDecisionSource`] asks
//! `POST /v1/agent/connect/authorize`; [`super::LocalDecisionSource`] evaluates the
//! watched intentions in process, as Envoy does with RBAC (`consul.authz.decisions`).

use super::verify::Peer;
use crate::consul::{AgentClient, AuthorizeRequest};
use crate::error::{Error, Result};
use crate::runtime::{self, SharedRuntime};
use std::sync::Arc;
use std::time::Duration;

/// What a decision source is asked.
#[derive(Clone, Copy, Debug)]
pub struct DecisionRequest<'a> {
    /// The destination service (ours).
    pub target: &'a str,
    /// The verified client.
    pub peer: &'a Peer,
}

/// A decision source's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Intentions allow the connection.
    Allow {
        /// The source's explanation (Consul's `Reason`).
        reason: String,
    },
    /// Intentions deny the connection.
    Deny {
        /// The source's explanation (Consul's `Reason`).
        reason: String,
    },
    /// The matching intention has HTTP (layer-7) permissions, which a layer-4 check
    /// cannot honour, so the connection is denied.
    DenyHttpPermissions {
        /// The source's explanation (Consul's `Reason`).
        reason: String,
    },
}

/// A provider of authorization decisions.
///
/// `decide` is blocking and must return within a bounded time (its own timeout); an
/// `Err` means "no decision" and is never turned into an allow by the caller.
pub trait DecisionSource: Send + Sync + 'static {
    /// Short name for logs and status.
    fn name(&self) -> &'static str;

    /// Decides whether `request.peer` may connect to `request.target`.
    fn decide(&self, request: &DecisionRequest<'_>) -> Result<Verdict>;
}

/// Prefix of Consul's reason when the matching intention is a layer-7 one
/// (`agent/connect_auth.go`: "Matched L7 intention: …"); the endpoint then answers deny.
const L7_REASON_PREFIX: &str = "Matched L7 intention";

/// Decisions from the local agent's `POST /v1/agent/connect/authorize`.
///
/// The HTTP call runs on the library runtime; the calling thread waits for it with a
/// timeout, so a hung agent costs a caller at most `timeout`. Must not be called from a
/// thread of the library runtime itself.
pub struct AgentDecisionSource {
    agent: AgentClient,
    timeout: Duration,
    runtime: Arc<SharedRuntime>,
}

impl std::fmt::Debug for AgentDecisionSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentDecisionSource")
            .field("agent", &self.agent)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AgentDecisionSource {
    /// A source asking `agent`; a caller waits at most `timeout` for one answer (use the
    /// agent's request timeout).
    pub fn new(agent: AgentClient, timeout: Duration) -> Result<Self> {
        Ok(AgentDecisionSource {
            agent,
            timeout,
            runtime: runtime::shared()?,
        })
    }
}

/// Maps Consul's answer to a verdict.
pub(crate) fn verdict(authorized: bool, reason: String) -> Verdict {
    if authorized {
        Verdict::Allow { reason }
    } else if reason.starts_with(L7_REASON_PREFIX) {
        Verdict::DenyHttpPermissions { reason }
    } else {
        Verdict::Deny { reason }
    }
}

impl DecisionSource for AgentDecisionSource {
    fn name(&self) -> &'static str {
        "agent"
    }

    fn decide(&self, request: &DecisionRequest<'_>) -> Result<Verdict> {
        const ENDPOINT: &str = "/v1/agent/connect/authorize";
        let body = AuthorizeRequest {
            target: request.target.to_string(),
            client_cert_uri: request.peer.spiffe_id.clone(),
            client_cert_serial: request.peer.serial.clone(),
        };
        let agent = self.agent.clone();
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        self.runtime.handle().spawn(async move {
            // The receiver may have given up already; nothing to do then.
            let _ = tx.send(agent.authorize(&body).await);
        });
        // A little slack over the HTTP client's own timeout, which normally fires first
        // and yields a precise message.
        let answer = match rx.recv_timeout(self.timeout + Duration::from_millis(250)) {
            Ok(answer) => answer?,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                return Err(Error::agent(
                    ENDPOINT,
                    format!("no answer within {:?}", self.timeout),
                ))
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(Error::agent(ENDPOINT, "the background runtime stopped"))
            }
        };
        // The agent's text goes into deny messages and logs: bounded and escaped.
        Ok(verdict(
            answer.authorized,
            crate::error::clip(&answer.reason),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consul_reasons_map_to_verdicts() {
        assert!(matches!(verdict(true, "ok".into()), Verdict::Allow { .. }));
        assert!(matches!(
            verdict(
                false,
                "Matched L4 intention: default/evil => default/trino (Precedence: 9, Action: DENY)"
                    .into()
            ),
            Verdict::Deny { .. }
        ));
        assert!(matches!(
            verdict(
                false,
                "Matched L7 intention: default/l7 => default/trino (Precedence: 9, Permissions: 1)"
                    .into()
            ),
            Verdict::DenyHttpPermissions { .. }
        ));
    }
}
