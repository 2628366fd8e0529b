package io.consulconnect.metrics;

import static io.consulconnect.metrics.MetricsBeans.DENY_CODES;
import static io.consulconnect.metrics.MetricsBeans.SERVER;
import static io.consulconnect.metrics.MetricsBeans.await;
import static io.consulconnect.metrics.MetricsBeans.count;
import static io.consulconnect.metrics.MetricsBeans.deniedByReason;
import static io.consulconnect.metrics.MetricsBeans.nameOf;
import static io.consulconnect.metrics.MetricsBeans.read;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectDecision;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.consulconnect.testing.ConsulDevAgent;
import io.consulconnect.testing.ForgedCa;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import javax.management.ObjectName;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * The {@code io.consulconnect:type=Authorization} bean against a real Consul dev agent:
 * intentions allow {@code web} and deny {@code evil} to reach each target of this class.
 */
public class AuthorizationMetricsBeanTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    private static final String[] TARGETS = {"metrics-idle", "metrics-authz", "metrics-forged", "metrics-epoch", "metrics-small"};

    @BeforeClass
    public static void intentions() throws Exception {
        for (String target : TARGETS) {
            consul.intention("web", target, true);
            consul.intention("warm", target, true);
            consul.intention("evil", target, false);
        }
    }

    private static ConnectIdentity open(String service, Map<String, String> extra) {
        Map<String, String> props = new HashMap<>(Map.of("consul.address", consul.address(), "consul.service", service,
                "consul.request-timeout", "2s", "consul.authz.cache-ttl", "10m"));
        props.putAll(extra);
        ConnectIdentity identity = ConnectIdentity.open(props);
        try {
            identity.awaitReady(Duration.ofSeconds(30));
            return identity;
        } catch (RuntimeException e) {
            identity.close();
            throw e;
        }
    }

    /** The DER leaf Consul issues for {@code service}, as a one-certificate chain. */
    private static byte[][] chain(String service) throws Exception {
        String pem = consul.leaf(service)[0];
        return new byte[][] {CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))).getEncoded()};
    }

    /**
     * Starts the authorizer and waits until decisions are cached (the intentions watch's
     * first answer drops decisions made before it).
     */
    private static void startAndWarm(long handle) throws Exception {
        NativeBridge.startAuthorization(handle);
        byte[][] warm = chain("warm");
        await("a cached decision", Duration.ofSeconds(15),
                () -> NativeBridge.authorizeDetailed(handle, warm, null).origin().equals("cache"));
    }

    @Test
    public void beforeTheAuthorizerStartsEveryCountIsZeroAndReadingDoesNotStartIt() throws Exception {
        try (ConnectIdentity identity = open("metrics-idle", Map.of())) {
            ObjectName name = nameOf("Authorization", identity.handle());
            assertEquals(new ObjectName("io.consulconnect:type=Authorization,name=metrics-idle"), name);
            for (int i = 0; i < 2; i++) {
                Map<String, Object> m = read(name);
                assertEquals(identity.handle(), m.get("Handle"));
                assertEquals(false, m.get("Started"));
                assertEquals("", m.get("Target"));
                assertEquals("", m.get("DecisionSource"));
                assertEquals("", m.get("IntentionsWatchError"));
                for (Map.Entry<String, Object> e : m.entrySet()) {
                    if (e.getValue() instanceof Long && !e.getKey().equals("Handle")) {
                        assertEquals(e.getKey(), 0L, e.getValue());
                    }
                }
                @SuppressWarnings("unchecked")
                Map<String, Long> byReason = (Map<String, Long>) m.get("DeniedByReason");
                assertEquals(new TreeSet<>(DENY_CODES), byReason.keySet());
                assertTrue(byReason.toString(), byReason.values().stream().allMatch(v -> v == 0L));
            }
            assertEquals("reading never starts the authorizer", 0L, NativeBridge.decisionEpoch(identity.handle()));
            NativeBridge.startAuthorization(identity.handle());
            await("started", Duration.ofSeconds(5), () -> (Boolean) SERVER.getAttribute(name, "Started"));
            assertEquals("metrics-idle", SERVER.getAttribute(name, "Target"));
            assertEquals("agent", SERVER.getAttribute(name, "DecisionSource"));
        }
        try (ConnectIdentity identity = open("metrics-local", Map.of("consul.authz.decisions", "local"))) {
            ObjectName name = nameOf("Authorization", identity.handle());
            NativeBridge.startAuthorization(identity.handle());
            await("started", Duration.ofSeconds(5), () -> (Boolean) SERVER.getAttribute(name, "Started"));
            assertEquals("local", SERVER.getAttribute(name, "DecisionSource"));
        }
    }

    @Test
    public void decisionsCacheAndAgentCallsAreCounted() throws Exception {
        try (ConnectIdentity identity = open("metrics-authz", Map.of("consul.authz.cache-size", "123"))) {
            long h = identity.handle();
            ObjectName name = nameOf("Authorization", h);
            ObjectName identityName = nameOf("Identity", h);
            startAndWarm(h);
            Map<String, Object> before = read(name);
            assertEquals(true, before.get("Started"));
            assertEquals("metrics-authz", before.get("Target"));
            // The bound the sharded cache really keeps: the setting rounded up to whole shards.
            long capacity = (Long) before.get("CacheCapacity");
            assertTrue(before.toString(), capacity >= 123 && capacity < 123 + 8);
            assertEquals(before.toString(), (Long) before.get("CacheHits") + (Long) before.get("CacheMisses"),
                    (Long) before.get("Allowed") + (Long) before.get("Denied"));

            byte[][] web = chain("web");
            byte[][] evil = chain("evil");
            assertEquals("web", NativeBridge.authorize(h, web)); // fresh: asks the agent
            ConnectDecision again = NativeBridge.authorizeDetailed(h, web, null);
            assertEquals("cache", again.origin());
            ConnectDecision no = NativeBridge.authorizeDetailed(h, evil, null);
            assertEquals("denied", no.code());
            assertEquals("denied", NativeBridge.authorizeDetailed(h, evil, null).code());

            Map<String, Object> after = read(name);
            assertEquals(after.toString(), (Long) before.get("Allowed") + 2, after.get("Allowed"));
            assertEquals(after.toString(), (Long) before.get("Denied") + 2, after.get("Denied"));
            @SuppressWarnings("unchecked")
            Map<String, Long> byReason = (Map<String, Long>) after.get("DeniedByReason");
            assertEquals(new TreeSet<>(DENY_CODES), byReason.keySet());
            assertEquals(byReason.toString(), Long.valueOf(2), byReason.get("denied"));
            assertEquals(2L, after.get("DeniedByIntention"));
            assertEquals(0L, after.get("DeniedCertificate"));
            assertEquals(0L, after.get("DeniedAgentUnavailable"));
            long hits = (Long) after.get("CacheHits") - (Long) before.get("CacheHits");
            long misses = (Long) after.get("CacheMisses") - (Long) before.get("CacheMisses");
            assertEquals(after.toString(), 4, hits + misses);
            assertTrue(after.toString(), hits >= 1 && misses >= 2);
            long calls = (Long) after.get("AgentCalls") - (Long) before.get("AgentCalls");
            assertTrue(after.toString(), calls >= 2 && calls <= misses);
            assertEquals(before.get("AgentCallErrors"), after.get("AgentCallErrors"));
            long p50 = (Long) after.get("AgentCallLatencyP50Micros");
            long p90 = (Long) after.get("AgentCallLatencyP90Micros");
            long p99 = (Long) after.get("AgentCallLatencyP99Micros");
            long max = (Long) after.get("AgentCallLatencyMaxMicros");
            assertTrue(after.toString(), 0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max && max < 30_000_000L);
            assertTrue(after.toString(), (Long) after.get("CacheSize") >= 3); // warm, web, evil
            assertTrue(after.toString(), (Long) after.get("CacheSize") <= capacity);
            assertEquals(0L, after.get("CacheEvictions"));
            assertEquals(0L, after.get("StaleAllowsServed"));
            assertEquals("", after.get("IntentionsWatchError"));
            assertEquals(0L, MetricsBeans.count(identityName, "AgentErrorsAuthorize"));
            assertEquals(0L, MetricsBeans.count(identityName, "AgentErrorsIntentions"));
        }
    }

    @Test
    public void aSmallCacheCountsEvictions() throws Exception {
        try (ConnectIdentity identity = open("metrics-small", Map.of("consul.authz.cache-size", "1"))) {
            long h = identity.handle();
            ObjectName name = nameOf("Authorization", h);
            startAndWarm(h);
            long capacity = count(name, "CacheCapacity");
            assertTrue("at least one entry per shard: " + capacity, capacity >= 1 && capacity <= 16);
            long evictions = count(name, "CacheEvictions");
            // More distinct allowed clients than the cache holds (Consul's dev agent allows by default).
            for (int i = 0; i <= capacity; i++) {
                assertTrue(NativeBridge.authorizeDetailed(h, chain("metrics-client-" + i), null).allowed());
            }
            Map<String, Object> m = read(name);
            assertTrue(m.toString(), (Long) m.get("CacheEvictions") >= evictions + 1);
            assertTrue(m.toString(), (Long) m.get("CacheSize") <= capacity);
        }
    }

    @Test
    public void anIntentionChangeMovesTheEpoch() throws Exception {
        try (ConnectIdentity identity = open("metrics-epoch", Map.of())) {
            long h = identity.handle();
            ObjectName name = nameOf("Authorization", h);
            startAndWarm(h);
            long epoch = count(name, "IntentionsEpoch");
            assertEquals(NativeBridge.decisionEpoch(h), epoch);
            consul.intention("flip", "metrics-epoch", false);
            await("the epoch grows with the intention change", Duration.ofSeconds(10),
                    () -> count(name, "IntentionsEpoch") > epoch);
        }
    }

    @Test
    public void aChainOfAnUnknownIssuerIsACertificateDenial() throws Exception {
        try (ConnectIdentity identity = open("metrics-forged", Map.of())) {
            long h = identity.handle();
            ObjectName name = nameOf("Authorization", h);
            startAndWarm(h);
            String trustDomain = identity.snapshot().orElseThrow().trustDomain();
            ForgedCa ca = new ForgedCa(Files.createTempDirectory("pcc-metrics-forged"), "EC");
            byte[][] forged = {ca.leaf("spiffe://" + trustDomain + "/ns/default/dc/dc1/svc/web").certificate().getEncoded()};
            Map<String, Object> before = read(name);

            ConnectDecision answer = NativeBridge.authorizeDetailed(h, forged, null);
            assertEquals(answer.toString(), "unknown-issuer", answer.code());

            Map<String, Object> after = read(name);
            assertEquals(Long.valueOf(1), deniedByReason(name).get("unknown-issuer"));
            assertEquals((Long) before.get("DeniedCertificate") + 1, after.get("DeniedCertificate"));
            assertEquals((Long) before.get("Denied") + 1, after.get("Denied"));
            assertEquals(before.get("DeniedByIntention"), after.get("DeniedByIntention"));
            assertEquals(before.get("Allowed"), after.get("Allowed"));
            assertEquals("a bad chain never reaches the agent", before.get("AgentCalls"), after.get("AgentCalls"));
        }
        assertFalse(MetricsBeans.all().toString(),
                SERVER.isRegistered(new ObjectName("io.consulconnect:type=Authorization,name=metrics-forged")));
    }
}
