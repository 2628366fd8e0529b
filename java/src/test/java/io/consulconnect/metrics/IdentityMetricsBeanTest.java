package io.consulconnect.metrics;

import static io.consulconnect.metrics.MetricsBeans.SERVER;
import static io.consulconnect.metrics.MetricsBeans.await;
import static io.consulconnect.metrics.MetricsBeans.count;
import static io.consulconnect.metrics.MetricsBeans.nameOf;
import static io.consulconnect.metrics.MetricsBeans.read;
import static io.consulconnect.metrics.MetricsBeans.text;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.identity.IdentitySnapshot;
import io.consulconnect.testing.ConsulDevAgent;
import io.consulconnect.testing.ForgedCa;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import javax.management.ObjectName;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * The {@code io.consulconnect:type=Identity} bean against a real Consul dev agent: every
 * attribute read through the platform MBean server, and seen to move with a CA rotation,
 * an unreachable agent and a leaf running out.
 */
public class IdentityMetricsBeanTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    @Test
    public void everyAttributeDescribesTheLeafAndMovesWithACaRotation() throws Exception {
        ObjectName name;
        try (ConnectIdentity identity = ConnectIdentity.open(Map.of("consul.address", consul.address(),
                "consul.service", "metrics-rotating", "consul.request-timeout", "2s"))) {
            identity.awaitReady(Duration.ofSeconds(30));
            name = nameOf("Identity", identity.handle());
            assertEquals(new ObjectName("io.consulconnect:type=Identity,name=metrics-rotating"), name);
            IdentitySnapshot snap = identity.snapshot().orElseThrow();
            snap.destroyKey();
            Map<String, Object> before = read(name);
            Instant now = Instant.now();

            assertEquals(identity.handle(), before.get("Handle"));
            assertEquals("metrics-rotating", before.get("Service"));
            assertEquals(snap.spiffeId(), before.get("SpiffeId"));
            assertEquals(snap.serial(), before.get("Serial"));
            assertEquals(snap.notBefore(), Instant.parse((String) before.get("NotBefore")));
            Instant notAfter = Instant.parse((String) before.get("NotAfter"));
            assertEquals(snap.notAfter(), notAfter);
            long toExpiry = (Long) before.get("SecondsToExpiry");
            assertTrue(before.toString(), Math.abs(toExpiry - Duration.between(now, notAfter).toSeconds()) <= 5);
            assertEquals(false, before.get("InExpiryAlarm"));
            assertEquals(false, before.get("LeafExpired"));
            long generation = (Long) before.get("Generation");
            assertTrue(before.toString(), generation >= 1 && generation <= identity.generation());
            assertEquals(snap.rootIds().size(), before.get("RootsCount"));
            assertEquals(snap.activeRootId(), before.get("ActiveRootId"));
            Instant lastSuccess = Instant.parse((String) before.get("LastSuccess"));
            assertFalse(before.toString(), lastSuccess.isAfter(Instant.now()));
            long age = (Long) before.get("LastSuccessAgeSeconds");
            assertTrue(before.toString(), age >= 0 && age <= Duration.between(lastSuccess, Instant.now()).toSeconds() + 1);
            assertEquals("", before.get("LastError"));
            assertEquals("", before.get("LastErrorTime"));
            for (String endpoint : new String[] {"Leaf", "Roots", "Authorize", "Intentions"}) {
                assertEquals(endpoint, 0L, before.get("AgentErrors" + endpoint));
            }

            consul.rotateCa();
            // Consul re-issues leaves after a CA rotation with up to 30 s of jitter, plus load.
            await("a new serial and active root after the CA rotation", Duration.ofSeconds(60),
                    () -> !text(name, "Serial").equals(before.get("Serial"))
                            && !text(name, "ActiveRootId").equals(before.get("ActiveRootId")));
            await("both rotations counted", Duration.ofSeconds(10),
                    () -> count(name, "LeafRotations") > (Long) before.get("LeafRotations")
                            && count(name, "RootsRotations") > (Long) before.get("RootsRotations"));
            Map<String, Object> after = read(name);
            assertTrue(after.toString(), (Long) after.get("Generation") > generation);
            assertTrue("old root kept during rotation: " + after, (Integer) after.get("RootsCount") >= 2);
            assertNotEquals(before.get("NotAfter"), after.get("NotAfter"));
            assertTrue(after.toString(), ((String) after.get("SpiffeId")).endsWith("/svc/metrics-rotating"));
            assertEquals("", after.get("LastError"));
        }
        assertFalse("unregistered at close", SERVER.isRegistered(name));
    }

    @Test
    public void anUnreachableAgentShowsInLastErrorAndTheAgentErrors() throws Exception {
        Instant opened = Instant.now().minusSeconds(1);
        try (ConnectIdentity identity = ConnectIdentity.open(Map.of("consul.address", "http://127.0.0.1:1",
                "consul.service", "metrics-unreachable", "consul.request-timeout", "1s"))) {
            ObjectName name = nameOf("Identity", identity.handle());
            await("errors of both watchers counted", Duration.ofSeconds(20),
                    () -> count(name, "AgentErrorsLeaf") >= 1 && count(name, "AgentErrorsRoots") >= 1
                            && !text(name, "LastError").isEmpty());
            Map<String, Object> m = read(name);
            assertTrue(m.toString(), ((String) m.get("LastError")).contains("127.0.0.1:1"));
            Instant at = Instant.parse((String) m.get("LastErrorTime"));
            assertTrue(m.toString(), !at.isBefore(opened) && !at.isAfter(Instant.now()));
            assertEquals("metrics-unreachable", m.get("Service"));
            assertEquals("", m.get("LastSuccess"));
            assertEquals(-1L, m.get("LastSuccessAgeSeconds"));
            assertEquals("", m.get("SpiffeId"));
            assertEquals("", m.get("Serial"));
            assertEquals("", m.get("NotBefore"));
            assertEquals("", m.get("NotAfter"));
            assertEquals(0L, m.get("SecondsToExpiry"));
            assertEquals(false, m.get("InExpiryAlarm"));
            assertEquals(false, m.get("LeafExpired"));
            assertEquals(0L, m.get("Generation"));
            assertEquals(0, m.get("RootsCount"));
            assertEquals("", m.get("ActiveRootId"));
            // No authorizer runs: nothing asked the agent to authorize or for intentions.
            assertEquals(0L, m.get("AgentErrorsAuthorize"));
            assertEquals(0L, m.get("AgentErrorsIntentions"));
            long leafErrors = (Long) m.get("AgentErrorsLeaf");
            await("the watchers keep retrying", Duration.ofSeconds(20), () -> count(name, "AgentErrorsLeaf") > leafErrors);
        }
    }

    @Test
    public void aLeafRunningOutRaisesTheAlarmThenExpires() throws Exception {
        Path dir = Files.createTempDirectory("pcc-metrics-files");
        ForgedCa ca = new ForgedCa(dir.resolve("ca"), "RSA");
        String spiffeId = "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/metrics-files";
        // Valid for a day, 20 s of it left: deep in the last 10% of its lifetime.
        ForgedCa.Leaf leaf = ca.leaf(spiffeId, "-86380S");
        Path key = Files.writeString(dir.resolve("key.pem"), ForgedCa.pem("PRIVATE KEY", leaf.key().getEncoded()));
        Path chain = Files.writeString(dir.resolve("chain.pem"), ForgedCa.pem("CERTIFICATE", leaf.certificate().getEncoded()));
        Path roots = Files.writeString(dir.resolve("roots.pem"), ForgedCa.pem("CERTIFICATE", ca.certificate().getEncoded()));
        // No consul.service: the bean is named "identity", even when the leaf (of service
        // metrics-files) is loaded before the beans are registered.
        try (ConnectIdentity identity = ConnectIdentity.open(Map.of("consul.identity.source", "files",
                "consul.identity.files.key", key.toString(), "consul.identity.files.chain", chain.toString(),
                "consul.identity.files.roots", roots.toString(), "consul.address", "http://127.0.0.1:1"))) {
            identity.awaitReady(Duration.ofSeconds(10));
            ObjectName name = nameOf("Identity", identity.handle());
            assertEquals("identity", name.getKeyProperty("name"));
            Map<String, Object> m = read(name);
            // No service configured: the Service attribute is the leaf's (the bean's name is not).
            assertEquals("metrics-files", m.get("Service"));
            assertEquals(spiffeId, m.get("SpiffeId"));
            assertEquals(leaf.certificate().getNotAfter().toInstant(), Instant.parse((String) m.get("NotAfter")));
            assertEquals(leaf.certificate().getNotBefore().toInstant(), Instant.parse((String) m.get("NotBefore")));
            long left = (Long) m.get("SecondsToExpiry");
            assertTrue(m.toString(), left > 0 && left <= 20);
            assertEquals(m.toString(), true, m.get("InExpiryAlarm"));
            assertEquals(false, m.get("LeafExpired"));
            assertEquals(1, m.get("RootsCount"));

            // The countdown is computed at each read; the publisher marks the leaf expired
            // on its next once-a-second check.
            await("the countdown reaches zero", Duration.ofSeconds(40), () -> count(name, "SecondsToExpiry") < 0);
            assertEquals(true, SERVER.getAttribute(name, "InExpiryAlarm"));
            await("the leaf is marked expired", Duration.ofSeconds(5),
                    () -> (Boolean) SERVER.getAttribute(name, "LeafExpired"));
            Map<String, Object> expired = read(name);
            assertTrue(expired.toString(), (Long) expired.get("SecondsToExpiry") < 0);
            assertEquals(true, expired.get("InExpiryAlarm"));
            assertEquals("the expired leaf stays in service", spiffeId, expired.get("SpiffeId"));
            assertTrue(expired.toString(), !((String) expired.get("LastError")).isEmpty());
        }
    }
}
