package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertTrue;

import io.consulconnect.testing.ConsulDevAgent;
import java.time.Instant;
import java.util.Map;
import java.util.function.Predicate;
import javax.net.ssl.SSLContext;
import org.junit.ClassRule;
import org.junit.Test;

/** Rotation under live SSLContexts (its own agent: the CA rotation changes it for good). */
public class ConnectRotationTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    private static Map<String, String> props() {
        return Map.of("consul.address", consul.address(), "consul.request-timeout", "2s");
    }

    private static ConnectMaterial material(String service) {
        return Identities.ready(ConnectConfig.of(props()).withService(service));
    }

    /** Handshakes until {@code done} holds for (client's view, server's view); 60 s at most. */
    private static LoopbackServer.Seen[] handshakeUntil(SSLContext client, LoopbackServer server,
            Predicate<LoopbackServer.Seen[]> done) throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        while (true) {
            LoopbackServer.Seen c = LoopbackServer.connect(client, server.port());
            LoopbackServer.Seen s = server.next();
            assertTrue(String.valueOf(c.error()), c.ok());
            assertTrue(String.valueOf(s.error()), s.ok());
            LoopbackServer.Seen[] both = {c, s};
            if (done.test(both) || Instant.now().isAfter(deadline)) {
                return both;
            }
            Thread.sleep(100);
        }
    }

    @Test
    public void rotationReachesHandshakesWithoutRebuildingAndOldAndNewLeavesBothConnect() throws Exception {
        SSLContext trinoServer = ConnectSsl.forService("trino").properties(props()).server();
        SSLContext webClient = ConnectSsl.forService("web").properties(props()).client("trino");
        TlsFixtures.Material oldTrino = TlsFixtures.freeze(material("trino"));
        TlsFixtures.Material oldWeb = TlsFixtures.freeze(material("web"));
        String oldRoot = material("trino").identity().snapshot().orElseThrow().activeRootId();

        try (LoopbackServer server = new LoopbackServer(trinoServer)) {
            LoopbackServer.Seen[] before = handshakeUntil(webClient, server, both -> true);
            assertEquals(oldTrino.serial(), before[0].peerSerial());
            assertEquals(oldWeb.serial(), before[1].peerSerial());

            consul.rotateCa();

            // The same SSLContexts present the new leaves once Consul has re-issued them.
            LoopbackServer.Seen[] after = handshakeUntil(webClient, server,
                    both -> !both[0].peerSerial().equals(oldTrino.serial())
                            && !both[1].peerSerial().equals(oldWeb.serial()));
            assertNotEquals("trino presents its new leaf", oldTrino.serial(), after[0].peerSerial());
            assertNotEquals("web presents its new leaf", oldWeb.serial(), after[1].peerSerial());
            assertEquals(material("trino").current().serial, after[0].peerSerial());
            assertEquals("trino", after[0].peer().service());
            assertEquals("web", after[1].peer().service());
            var snapshot = material("trino").identity().snapshot().orElseThrow();
            assertNotEquals(oldRoot, snapshot.activeRootId());
            assertTrue("old root still trusted during the overlap", snapshot.rootIds().contains(oldRoot));

            // During the overlap, peers holding old and new leaves are both accepted ...
            TlsFixtures.Material newWeb = TlsFixtures.freeze(material("web"));
            for (TlsFixtures.Material web : new TlsFixtures.Material[] {oldWeb, newWeb}) {
                LoopbackServer.connect(TlsFixtures.staticPeer(web), server.port());
                LoopbackServer.Seen seen = server.next();
                assertTrue(web.serial() + ": " + seen.error(), seen.ok());
                assertEquals(web.serial(), seen.peerSerial());
                assertEquals("web", seen.peer().service());
            }
        }
        // ... by our server and by our client.
        TlsFixtures.Material newTrino = TlsFixtures.freeze(material("trino"));
        for (TlsFixtures.Material trino : new TlsFixtures.Material[] {oldTrino, newTrino}) {
            try (LoopbackServer server = new LoopbackServer(TlsFixtures.staticPeer(trino))) {
                LoopbackServer.Seen seen = LoopbackServer.connect(webClient, server.port());
                assertTrue(trino.serial() + ": " + seen.error(), seen.ok());
                assertEquals(trino.serial(), seen.peerSerial());
                assertEquals("trino", seen.peer().service());
            }
        }
    }
}
