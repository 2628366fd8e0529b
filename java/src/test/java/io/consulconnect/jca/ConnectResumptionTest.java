package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.consulconnect.testing.ConsulDevAgent;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * A resumed TLS session skips the trust manager and the authorizer: our server contexts must
 * not resume a session past the decision TTL, nor across a change of the identity's roots
 * generation (issue 13, item 2). The client is a plain JDK context that resumes whatever the
 * server lets it. TLS 1.3 (PSK tickets), the JDK's default; its TLS 1.2 client did not resume
 * against this server in these tests, so there is nothing to show there.
 */
public class ConnectResumptionTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    private static Map<String, String> props(String cacheTtl) {
        Map<String, String> p = new HashMap<>(Map.of("consul.address", consul.address(), "consul.request-timeout",
                "2s"));
        if (cacheTtl != null) {
            p.put("consul.authz.cache-ttl", cacheTtl);
        }
        return p;
    }

    private static ConnectMaterial material(String service) {
        return Identities.ready(ConnectConfig.of(props(null)).withService(service));
    }

    /** A JDK client with web's current leaf, trusting any server, resuming what it can. */
    private static SSLContext webClient() throws Exception {
        return TlsFixtures.staticPeer(TlsFixtures.freeze(material("web")));
    }

    @Test
    public void aRevokedIntentionIsNotResumedPastTheDecisionTtl() throws Exception {
        consul.intention("web", "trino", true);
        SSLContext trino = ConnectSsl.forService("trino").properties(props("2s")).server();
        for (String protocol : new String[] {"TLSv1.3"}) {
            consul.intention("web", "trino", true);
            Thread.sleep(2_500); // the allow decision of the last round expires
            SSLContext web = webClient();
            try (LoopbackServer server = new LoopbackServer(trino)) {
                LoopbackServer.Seen first = LoopbackServer.connectResuming(web, server.port(), protocol);
                assertTrue(protocol + ": " + first.error(), first.ok());
                LoopbackServer.Seen accepted = server.next();
                assertTrue(protocol + ": " + accepted.error(), accepted.ok());

                consul.intention("web", "trino", false);
                Thread.sleep(2_500); // past the decision TTL, hence past the session lifetime

                LoopbackServer.connectResuming(web, server.port(), protocol);
                LoopbackServer.Seen second = server.next();
                assertFalse(protocol + ": the revoked client was let in (session resumed?)", second.ok());
                PeerRefusedException refused = TlsFixtures.cause(second.error(), PeerRefusedException.class);
                assertNotNull(protocol + ": " + second.error(), refused);
                assertEquals(refused.getMessage(), "denied", refused.code());
            }
        }
        consul.intention("web", "trino", true);
        assertEquals("session lifetime capped at the decision TTL", 2,
                trino.getServerSessionContext().getSessionTimeout());
    }

    @Test
    public void aRevokedIntentionEndsResumptionWithinSeconds() throws Exception {
        // A decision TTL of 10 minutes: only the intentions epoch can end the session.
        consul.intention("web", "trino", true);
        SSLContext trino = ConnectSsl.forService("trino").properties(props("10m")).server();
        SSLContext web = webClient();
        try (LoopbackServer server = new LoopbackServer(trino)) {
            assertTrue(LoopbackServer.connectResuming(web, server.port(), "TLSv1.3").ok());
            assertTrue(server.next().ok());
            consul.intention("web", "trino", false);
            Thread.sleep(3_000); // the intentions watch (≈1 s) and one sweep (1 s)
            LoopbackServer.connectResuming(web, server.port(), "TLSv1.3");
            LoopbackServer.Seen second = server.next();
            assertFalse("the revoked client resumed its session", second.ok());
            PeerRefusedException refused = TlsFixtures.cause(second.error(), PeerRefusedException.class);
            assertNotNull(String.valueOf(second.error()), refused);
            assertEquals(refused.getMessage(), "denied", refused.code());
        } finally {
            consul.intention("web", "trino", true);
        }
    }

    @Test
    public void aNewRootsGenerationEndsResumption() throws Exception {
        AtomicInteger checks = new AtomicInteger();
        SSLContext trino = ConnectSsl.forService("trino").properties(props(null))
                .authorizer((peer, chain) -> checks.incrementAndGet()).server();
        SSLContext web = webClient();
        try (LoopbackServer server = new LoopbackServer(trino)) {
            for (String protocol : new String[] {"TLSv1.3"}) {
                int before = checks.get();
                assertTrue(LoopbackServer.connectResuming(web, server.port(), protocol).ok());
                assertTrue(server.next().ok());
                assertTrue(LoopbackServer.connectResuming(web, server.port(), protocol).ok());
                assertTrue(server.next().ok());
                assertEquals(protocol + ": the second connection resumes (one check for two)", before + 1,
                        checks.get());
            }

            long generation = material("trino").identity().generation();
            consul.rotateCa();
            Instant deadline = Instant.now().plusSeconds(60);
            while (material("trino").identity().generation() == generation && Instant.now().isBefore(deadline)) {
                Thread.sleep(100);
            }
            assertTrue("the roots generation changed", material("trino").identity().generation() != generation);
            Thread.sleep(1_500); // the guard notices within a second

            for (String protocol : new String[] {"TLSv1.3"}) {
                int before = checks.get();
                LoopbackServer.Seen client = LoopbackServer.connectResuming(web, server.port(), protocol);
                LoopbackServer.Seen seen = server.next();
                assertTrue(protocol + ": " + seen.error(), seen.ok());
                assertTrue(protocol + ": " + client.error(), client.ok());
                assertEquals(protocol + ": a full handshake after the roots changed", before + 1, checks.get());
            }
        }
    }
}
