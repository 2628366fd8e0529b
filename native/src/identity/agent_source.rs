//! The agent source: `/v1/agent/connect/ca/roots` and `/v1/agent/connect/ca/leaf/<service>`,
//! a plain first fetch and then blocking queries from the returned index.

use super::source::{
    decode_leaf, decode_root, Channel, IdentitySource, RootsMaterial, SourceContext, SourceEvent,
    SourceTask,
};
use crate::consul::blocking_query::{self, AfterFailure, Outcome};
use crate::consul::{AgentClient, CaRoots};
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
    fn run(self: Box<Self>, ctx: SourceContext) -> SourceTask {
        Box::pin(async move {
            let agent = &self.agent;
            let service = self.service.as_str();
            let roots = watch_channel(
                &ctx,
                Channel::Roots,
                SourceEvent::Roots,
                |index| async move {
                    let got = agent.roots(index).await?;
                    Ok((decode_roots(&got.value)?, got.index))
                },
            );
            let leaf = watch_channel(&ctx, Channel::Leaf, SourceEvent::Leaf, |index| async move {
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

/// One identity channel (roots or leaf) on the shared blocking-query loop: every answer
/// becomes an event for the publisher (`Unchanged` when the index did not move), every
/// failure a `Failed` event; the index is reset after a failure, so the answer after an
/// outage is always re-evaluated. The leaf also answers the publisher's refresh request
/// (near expiry) by dropping its blocking query and fetching plainly.
async fn watch_channel<M, Fut>(
    ctx: &SourceContext,
    channel: Channel,
    changed: fn(M) -> SourceEvent,
    fetch: impl FnMut(Option<u64>) -> Fut,
) where
    Fut: std::future::Future<Output = Result<(M, u64)>>,
{
    let refresh = (channel == Channel::Leaf).then_some(&*ctx.refresh);
    let events = &ctx.events;
    blocking_query::run(
        ctx.shutdown.clone(),
        refresh,
        AfterFailure::ResetIndex,
        fetch,
        |outcome| {
            let event = match outcome {
                Outcome::Failed(e) => SourceEvent::Failed(channel, e),
                answer if !answer.changed() => SourceEvent::Unchanged(channel),
                Outcome::Answer { material, .. } => changed(material),
            };
            async move { events.send(event).await.is_ok() }
        },
    )
    .await;
}

pub(crate) fn decode_roots(roots: &CaRoots) -> Result<RootsMaterial> {
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
