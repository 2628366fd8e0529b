package io.consulconnect.metrics;

import static io.consulconnect.metrics.MetricsBeans.await;
import static io.consulconnect.metrics.MetricsBeans.count;
import static io.consulconnect.metrics.MetricsBeans.nameOf;
import static io.consulconnect.metrics.MetricsBeans.read;
import static io.consulconnect.metrics.MetricsBeans.text;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectDecision;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.consulconnect.testing.ConsulDevAgent;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import javax.management.ObjectName;
import org.junit.Test;

/**
 * The agent goes away under a running identity and authorizer: the errors, the stale allows
 * and the agent-unavailable denials show in both beans.
 */
public class AgentLossMetricsTest {
    private static byte[][] chain(ConsulDevAgent consul, String service) throws Exception {
        String pem = consul.leaf(service)[0];
        return new byte[][] {CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))).getEncoded()};
    }

    @Test
    public void losingTheAgentShowsInErrorsStaleAllowsAndDenials() throws Exception {
        ConsulDevAgent consul = ConsulDevAgent.start();
        try {
            consul.intention("web", "metrics-loss", true);
            consul.intention("api", "metrics-loss", true);
            try (ConnectIdentity identity = ConnectIdentity.open(Map.of("consul.address", consul.address(),
                    "consul.service", "metrics-loss", "consul.request-timeout", "1s",
                    "consul.authz.cache-ttl", "1s", "consul.authz.max-stale", "5m"))) {
                identity.awaitReady(Duration.ofSeconds(30));
                long h = identity.handle();
                ObjectName id = nameOf("Identity", h);
                ObjectName authz = nameOf("Authorization", h);
                NativeBridge.startAuthorization(h);
                byte[][] web = chain(consul, "web");
                byte[][] api = chain(consul, "api");
                await("web allowed and cached", Duration.ofSeconds(15),
                        () -> NativeBridge.authorizeDetailed(h, web, null).origin().equals("cache"));
                Map<String, Object> healthy = read(id);
                assertEquals(healthy.toString(), "", healthy.get("LastError"));
                assertEquals("", text(authz, "IntentionsWatchError"));
                assertEquals(0L, count(authz, "StaleAllowsServed"));
                long callErrors = count(authz, "AgentCallErrors");

                consul.close();
                Instant lost = Instant.now();

                // Past the TTL, the cached allow is served stale while the agent cannot answer.
                await("a stale allow served", Duration.ofSeconds(20), () -> {
                    assertEquals("web", NativeBridge.authorize(h, web));
                    return count(authz, "StaleAllowsServed") >= 1;
                });
                // A client without a cached allow is refused: nobody can decide.
                ConnectDecision answer = NativeBridge.authorizeDetailed(h, api, null);
                assertEquals(answer.toString(), "agent-unavailable", answer.code());

                Map<String, Object> a = read(authz);
                assertTrue(a.toString(), (Long) a.get("DeniedAgentUnavailable") >= 1);
                @SuppressWarnings("unchecked")
                Map<String, Long> byReason = (Map<String, Long>) a.get("DeniedByReason");
                assertEquals(a.get("DeniedAgentUnavailable"), byReason.get("agent-unavailable"));
                assertEquals(0L, a.get("DeniedByIntention"));
                assertEquals(0L, a.get("DeniedCertificate"));
                assertTrue(a.toString(), (Long) a.get("AgentCallErrors") > callErrors);
                assertTrue(a.toString(), (Long) a.get("Allowed") >= 2);

                await("the watchers report the lost agent", Duration.ofSeconds(30),
                        () -> !text(id, "LastError").isEmpty() && count(id, "AgentErrorsLeaf") >= 1
                                && count(id, "AgentErrorsRoots") >= 1 && count(id, "AgentErrorsIntentions") >= 1
                                && !text(authz, "IntentionsWatchError").isEmpty());
                Map<String, Object> m = read(id);
                assertTrue(m.toString(), (Long) m.get("AgentErrorsAuthorize") >= 1);
                Instant at = Instant.parse((String) m.get("LastErrorTime"));
                assertTrue(m.toString(), !at.isBefore(lost.minusSeconds(1)));
                // The leaf in service stays, and the time since the last success grows.
                assertEquals(healthy.get("Serial"), m.get("Serial"));
                assertEquals(false, m.get("LeafExpired"));
                long age = (Long) m.get("LastSuccessAgeSeconds");
                await("the last success ages", Duration.ofSeconds(10),
                        () -> count(id, "LastSuccessAgeSeconds") >= Math.max(age + 1, 2));
            }
        } finally {
            consul.close();
        }
    }
}
