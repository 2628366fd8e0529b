//! The agent source: `/v1/agent/connect/ca/roots` and `/v1/agent/connect/ca/leaf/<service>`,
//! a plain first fetch and then blocking queries from the returned index.

use super::{
    backoff, decode_leaf, decode_root, sleep_or_shutdown, Channel, IdentitySource, RootsMaterial,
    SourceContext, SourceEvent, SourceTask,
};
use crate::agent::{AgentClient, CaRoots};
use crate::error::Result;

/// Watches leaf and roots through the local agent.
pub struct AgentSource {
    agent: AgentClient,
    service: String,
}

impl AgentSource {
    /// A source for `service`'s leaf.
    pub fn new(agent: AgentClient, service: String) -> Self {
        AgentSource { agent, service }
    }
}

impl IdentitySource for AgentSource {
    fn name(&self) -> &'static str {
        "agent"
    }

    fn run(self: Box<Self>, ctx: SourceContext) -> SourceTask {
        Box::pin(async move {
            let agent = &self.agent;
            let service = self.service.as_str();
            let roots = watch(
                &ctx,
                Channel::Roots,
                SourceEvent::Roots,
                |index| async move {
                    let got = agent.roots(index).await?;
                    Ok((decode_roots(&got.value)?, got.index))
                },
            );
            let leaf = watch(&ctx, Channel::Leaf, SourceEvent::Leaf, |index| async move {
                let got = agent.leaf(service, index).await?;
                let material = decode_leaf(
                    got.value.cert_pem.as_bytes(),
                    got.value.private_key_pem.as_bytes(),
                )?;
                Ok((material, got.index))
            });
            tokio::join!(roots, leaf);
        })
    }
}

/// Next index after a response: Consul says to reset when the index goes backwards
/// (e.g. the agent restarted with a fresh state) or is zero.
fn next_index(previous: Option<u64>, got: u64) -> Option<u64> {
    match previous {
        Some(p) if got < p => None,
        _ if got == 0 => None,
        _ => Some(got),
    }
}

/// One blocking-query watch, shared by the roots and the leaf: a plain first fetch, then
/// blocking queries from the returned index (reset when it goes backwards), a `Failed`
/// event and jittered backoff on errors, `Unchanged` when the index did not move. The
/// leaf watch also answers the publisher's refresh request (near expiry) by dropping its
/// blocking query and fetching plainly.
async fn watch<M, Fut>(
    ctx: &SourceContext,
    channel: Channel,
    changed: fn(M) -> SourceEvent,
    mut fetch: impl FnMut(Option<u64>) -> Fut,
) where
    Fut: std::future::Future<Output = Result<(M, u64)>>,
{
    let follow_refresh = channel == Channel::Leaf;
    let mut shutdown = ctx.shutdown.clone();
    let mut index = None;
    let mut delays = backoff();
    loop {
        let got = tokio::select! {
            got = fetch(index) => got,
            _ = ctx.refresh.notified(), if follow_refresh => { index = None; continue; }
            _ = shutdown.wait_for(|c| *c) => return,
        };
        let event = match got {
            Ok((material, got_index)) => {
                delays = backoff();
                let unchanged = index == Some(got_index);
                index = next_index(index, got_index);
                if unchanged {
                    SourceEvent::Unchanged(channel)
                } else {
                    changed(material)
                }
            }
            Err(e) => {
                index = None;
                let _ = ctx.events.send(SourceEvent::Failed(channel, e)).await;
                let delay = delays.next().unwrap_or_default();
                if !sleep_or_shutdown(delay, &mut shutdown).await {
                    return;
                }
                continue;
            }
        };
        if ctx.events.send(event).await.is_err() {
            return;
        }
    }
}

fn decode_roots(roots: &CaRoots) -> Result<RootsMaterial> {
    let decoded = roots
        .roots
        .iter()
        .map(|r| {
            decode_root(
                &r.id,
                &r.root_cert,
                r.intermediate_certs.as_deref().unwrap_or_default(),
                r.active && r.id == roots.active_root_id,
            )
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(RootsMaterial {
        trust_domain: roots.trust_domain.to_ascii_lowercase(),
        roots: decoded,
    })
}

#[cfg(test)]
mod tests {
    use super::next_index;

    #[test]
    fn index_resets_when_it_goes_backwards_or_is_zero() {
        assert_eq!(next_index(None, 5), Some(5));
        assert_eq!(next_index(Some(5), 7), Some(7));
        assert_eq!(next_index(Some(5), 5), Some(5));
        assert_eq!(next_index(Some(9), 3), None);
        assert_eq!(next_index(Some(9), 0), None);
    }
}
