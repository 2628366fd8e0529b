package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.testing.ConsulDevAgent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.ClassRule;
import org.junit.Test;

/** Real JDK TLS handshakes on loopback with certificates from a real Consul dev agent. */
public class ConnectSslTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();
    /** Another Consul: another CA and trust domain. */
    @ClassRule
    public static final ConsulDevAgent foreignConsul = ConsulDevAgent.rule();

    static Map<String, String> props(ConsulDevAgent agent) {
        return Map.of("consul.address", agent.address(), "consul.request-timeout", "2s");
    }

    private static SSLContext server(String service) {
        return ConnectSsl.forService(service).properties(props(consul)).server();
    }

    private static SSLContext client(String service, String expected) {
        return ConnectSsl.forService(service).properties(props(consul)).client(expected);
    }

    private static ConnectMaterial material(ConsulDevAgent agent, String service) {
        return Identities.ready(ConnectConfig.of(props(agent)).withService(service));
    }

    private static String spiffeId(ConsulDevAgent agent, String service) {
        return material(agent, service).identity().snapshot().orElseThrow().spiffeId();
    }

    private static void assertRefused(LoopbackServer.Seen seen, String code) {
        assertFalse("expected a refusal", seen.ok());
        PeerRefusedException refused = TlsFixtures.cause(seen.error(), PeerRefusedException.class);
        assertNotNull("no PeerRefusedException in " + seen.error(), refused);
        assertEquals(refused.getMessage(), code, refused.code());
    }

    @Test
    public void trinoAndWebCompleteMutualTls() throws Exception {
        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            LoopbackServer.Seen client = LoopbackServer.connect(client("web", "trino"), trino.port());
            LoopbackServer.Seen server = trino.next();
            assertTrue(String.valueOf(client.error()), client.ok());
            assertTrue(String.valueOf(server.error()), server.ok());

            // The server sees the client's SPIFFE id, verified, and in the certificate.
            String web = spiffeId(consul, "web");
            assertTrue(web, web.endsWith("/svc/web"));
            assertEquals(web, server.peer().spiffeId());
            assertEquals("web", server.peer().service());
            assertEquals(web, TlsFixtures.uri(server.peerChain()[0]));

            // The client verified that the server is trino.
            assertEquals("trino", client.peer().service());
            assertEquals(spiffeId(consul, "trino"), client.peer().spiffeId());
            assertEquals(material(consul, "trino").current().serial, client.peerSerial());
            assertEquals(material(consul, "web").current().serial, server.peerSerial());
        }
    }

    @Test
    public void mutualTlsOverTls12() throws Exception {
        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            LoopbackServer.Seen client = LoopbackServer.connect(client("web", "trino"), trino.port(), "TLSv1.2");
            LoopbackServer.Seen server = trino.next();
            assertTrue(String.valueOf(client.error()), client.ok());
            assertEquals("trino", client.peer().service());
            assertEquals("web", server.peer().service());
        }
    }

    @Test
    public void theServerChecksConsulIntentions() throws Exception {
        consul.intention("batch", "trino", false);
        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            assertTrue(LoopbackServer.connect(client("web", "trino"), trino.port()).ok());
            assertEquals("web", trino.next().peer().service());
            LoopbackServer.connect(client("batch", "trino"), trino.port());
            LoopbackServer.Seen denied = trino.next();
            assertRefused(denied, "denied");
            assertTrue(denied.error().toString(), TlsFixtures.cause(denied.error(), PeerRefusedException.class)
                    .getMessage().contains("/svc/batch"));
        }
        // Without the intention check, any verified service of the trust domain connects.
        SSLContext open = ConnectSsl.forService("trino").properties(props(consul)).intentions(false).server();
        try (LoopbackServer trino = new LoopbackServer(open)) {
            assertTrue(LoopbackServer.connect(client("batch", "trino"), trino.port()).ok());
            assertEquals("batch", trino.next().peer().service());
        }
    }

    @Test
    public void theServerSideAuthorizerHookRunsAfterVerification() throws Exception {
        java.util.List<ConnectPeer> asked = new java.util.concurrent.CopyOnWriteArrayList<>();
        SSLContext guarded = ConnectSsl.forService("trino").properties(props(consul)).authorizer((peer, chain) -> {
            asked.add(peer);
            if (!peer.service().equals("web")) {
                throw new PeerRefusedException("denied", peer.service() + " may not reach trino");
            }
        }).server();
        try (LoopbackServer trino = new LoopbackServer(guarded)) {
            assertTrue(LoopbackServer.connect(client("web", "trino"), trino.port()).ok());
            assertTrue(trino.next().ok());
            LoopbackServer.connect(client("api", "trino"), trino.port());
            assertRefused(trino.next(), "denied");
        }
        assertEquals(java.util.List.of("web", "api"), asked.stream().map(ConnectPeer::service).toList());
    }

    @Test
    public void aClientExpectingTrinoRefusesAnotherService() throws Exception {
        try (LoopbackServer api = new LoopbackServer(server("api"))) {
            LoopbackServer.Seen client = LoopbackServer.connect(client("web", "trino"), api.port());
            assertRefused(client, "unexpected-identity");
            assertTrue(client.error().toString(), TlsFixtures.cause(client.error(), PeerRefusedException.class)
                    .getMessage().contains("/svc/api"));
        }
    }

    @Test
    public void expectationsBySpiffeIdAndWildcard() throws Exception {
        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            assertTrue(LoopbackServer.connect(client("web", spiffeId(consul, "trino")), trino.port()).ok());
            assertTrue(LoopbackServer.connect(client("web", "*"), trino.port()).ok());
            String otherDc = spiffeId(consul, "trino").replace("/dc/dc1/", "/dc/dc9/");
            assertRefused(LoopbackServer.connect(client("web", otherDc), trino.port()), "unexpected-identity");
            // A server context used as a client expects nobody: every server is refused.
            assertRefused(LoopbackServer.connect(server("web"), trino.port()), "no-expected-identity");
        }
        assertThrows(IllegalArgumentException.class, () -> client("web", "not a service"));
    }

    @Test
    public void aForgedLeafOfOurTrustDomainIsRefusedOnBothSides() throws Exception {
        String trustDomain = material(consul, "web").identity().snapshot().orElseThrow().trustDomain();
        Path dir = Files.createTempDirectory("pcc-forged");
        TlsFixtures.Material forgedTrino = TlsFixtures.forged(dir.resolve("trino"),
                "spiffe://" + trustDomain + "/ns/default/dc/dc1/svc/trino");
        TlsFixtures.Material forgedWeb = TlsFixtures.forged(dir.resolve("web"),
                "spiffe://" + trustDomain + "/ns/default/dc/dc1/svc/web");

        // Our client refuses a forged trino.
        try (LoopbackServer impostor = new LoopbackServer(TlsFixtures.staticPeer(forgedTrino))) {
            assertRefused(LoopbackServer.connect(client("web", "trino"), impostor.port()), "unknown-issuer");
        }
        // Our server refuses a forged web (the forger trusts anything, so it gets that far).
        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            LoopbackServer.connect(TlsFixtures.staticPeer(forgedWeb), trino.port());
            assertRefused(trino.next(), "unknown-issuer");
        }
    }

    @Test
    public void aPeerOfAnotherConsulClusterIsRefusedOnBothSides() throws Exception {
        // Its own CA and trust domain: a real foreign Connect identity.
        SSLContext foreignTrino = ConnectSsl.forService("trino").properties(props(foreignConsul)).server();
        try (LoopbackServer foreign = new LoopbackServer(foreignTrino)) {
            assertRefused(LoopbackServer.connect(client("web", "trino"), foreign.port()), "foreign-trust-domain");
        }
        TlsFixtures.Material foreignWeb = TlsFixtures.freeze(material(foreignConsul, "web"));
        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            LoopbackServer.connect(TlsFixtures.staticPeer(foreignWeb), trino.port());
            assertRefused(trino.next(), "foreign-trust-domain");
        }
    }

    @Test
    public void theProviderServesTheSameIdentityToEveryFactory() throws Exception {
        ConnectProvider.install();
        ConnectProvider.install();
        assertEquals(1, java.util.Arrays.stream(java.security.Security.getProviders())
                .filter(p -> p.getName().equals(ConnectProvider.NAME)).count());

        Map<String, String> web = new HashMap<>(props(consul));
        web.put("consul.service", "web");
        web.put(ConnectConfig.EXPECT, "trino");
        ConnectConfig config = ConnectConfig.of(web);
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("ConsulConnect");
        kmf.init(config);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("ConsulConnect");
        tmf.init(config);
        SSLContext ctx = SSLContext.getInstance("ConsulConnect");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), null);
        assertEquals(ConnectProvider.NAME, ctx.getProvider().getName());

        // A second factory and the builder share the one native identity of this configuration.
        KeyManagerFactory again = KeyManagerFactory.getInstance("ConsulConnect");
        again.init(config);
        assertSame(Identities.material(config), Identities.material(ConnectConfig.of(web)));
        assertSame(Identities.material(config),
                Identities.material(ConnectConfig.of(props(consul)).withService("web")));

        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            LoopbackServer.Seen client = LoopbackServer.connect(ctx, trino.port());
            assertTrue(String.valueOf(client.error()), client.ok());
            assertEquals("trino", client.peer().service());
            assertEquals("web", trino.next().peer().service());
        }
        assertTrue(ctx.getDefaultSSLParameters().getNeedClientAuth());
    }

    @Test
    public void keyManagerServesOneAliasPerGenerationAndOnlyForItsKeyType() {
        ConnectMaterial m = material(consul, "trino");
        ConnectKeyManager km = new ConnectKeyManager(m);
        String keyType = m.current().keyAlgorithm;
        String alias = km.chooseServerAlias(keyType, null, null);
        assertEquals("consul-connect-" + m.current().generation, alias);
        assertNull(km.chooseServerAlias(keyType.equals("EC") ? "RSA" : "EC", null, null));
        assertEquals(alias, km.chooseClientAlias(new String[] {"RSASSA-PSS", keyType}, null, null));
        assertEquals(m.current().serial, TlsFixtures.consulSerial(km.getCertificateChain(alias)[0]));
        assertNotNull(km.getPrivateKey(alias));
        assertNull(km.getPrivateKey("consul-connect-0"));
        assertNull(km.getCertificateChain("other"));
    }
}
