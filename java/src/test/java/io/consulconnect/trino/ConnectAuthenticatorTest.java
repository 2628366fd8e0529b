package io.consulconnect.trino;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectAccessDeniedException;
import io.consulconnect.ConnectAnswer;
import io.consulconnect.ConnectDecision;
import io.consulconnect.ServiceIdentity;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jca.ConnectConfig;
import io.consulconnect.jca.PeerRefusedException;
import io.consulconnect.jni.NativeBridge;
import io.consulconnect.jni.TlsBridge;
import io.consulconnect.testing.ConsulDevAgent;
import io.trino.spi.Plugin;
import io.trino.spi.security.AccessDeniedException;
import io.trino.spi.security.CertificateAuthenticator;
import io.trino.spi.security.CertificateAuthenticatorFactory;
import io.trino.spi.security.Identity;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * The {@code consul-connect} authenticator against a real Consul dev agent: intentions
 * allow {@code web} and deny {@code evil} to reach {@code trino}.
 */
public class ConnectAuthenticatorTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    @BeforeClass
    public static void intentions() throws Exception {
        consul.intention("web", "trino", true);
        consul.intention("evil", "trino", false);
        consul.intention("flipper", "trino", true);
    }

    static List<X509Certificate> chain(String pem) throws Exception {
        List<X509Certificate> certs = new ArrayList<>();
        for (var c : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
            certs.add((X509Certificate) c);
        }
        return certs;
    }

    /** The identity of service {@code trino}, ready. */
    private static ConnectIdentity trinoIdentity() {
        ConnectIdentity identity = ConnectIdentity.open(Map.of(
                "consul.address", consul.address(), "consul.service", "trino"));
        try {
            identity.awaitReady(Duration.ofSeconds(30));
            return identity;
        } catch (RuntimeException e) {
            identity.close();
            throw e;
        }
    }

    private static CertificateAuthenticator authenticator(Map<String, String> extra) {
        Map<String, String> config = new java.util.HashMap<>(Map.of(
                "consul.address", consul.address(), "consul.service", "trino", "consul.authz.cache-ttl", "10m"));
        config.putAll(extra);
        return new ConnectAuthenticatorFactory().create(config);
    }

    @Test
    public void pluginIsFoundByTheServiceLoaderUnderItsName() {
        List<String> names = new ArrayList<>();
        for (Plugin plugin : ServiceLoader.load(Plugin.class)) {
            for (CertificateAuthenticatorFactory f : plugin.getCertificateAuthenticatorFactories()) {
                names.add(f.getName());
            }
        }
        assertEquals(List.of("consul-connect"), names);
    }

    @Test
    public void allowedServiceGetsItsPrincipalAndDeniedServiceConsulsReason() throws Exception {
        CertificateAuthenticator auth = authenticator(Map.of());
        assertEquals("web", auth.authenticate(chain(consul.leaf("web")[0])).getName());
        // Cached path: same answer.
        assertEquals("web", auth.authenticate(chain(consul.leaf("web")[0])).getName());

        try (DenyLogCapture log = new DenyLogCapture()) {
            AccessDeniedException denied = assertThrows(AccessDeniedException.class,
                    () -> auth.authenticate(chain(consul.leaf("evil")[0])));
            // The client learns the code only; the operator reads Consul's reason in the log.
            assertEquals("Access Denied: Consul Connect refused the client certificate (denied)", denied.getMessage());
            String line = log.last().toLowerCase(Locale.ROOT);
            assertTrue(line, line.contains("svc/evil") && line.contains("(denied)") && line.contains("intention")
                    && line.contains("deny"));
        }
    }

    @Test
    public void trino480IdentityCarriesTheUserAndTheConnectGroups() throws Exception {
        ConnectAuthenticator auth = (ConnectAuthenticator) authenticator(Map.of());
        Identity web = auth.createAuthenticatedIdentity(chain(consul.leaf("web")[0])).orElseThrow();
        assertEquals("web", web.getUser());
        assertEquals("web", web.getPrincipal().orElseThrow().getName());
        assertEquals(Set.of("consul:service:web", "consul:namespace:default", "consul:partition:default",
                "consul:datacenter:dc1"), web.getGroups());
        AccessDeniedException denied = assertThrows(AccessDeniedException.class,
                () -> auth.createAuthenticatedIdentity(chain(consul.leaf("evil")[0])));
        assertEquals("Access Denied: Consul Connect refused the client certificate (denied)", denied.getMessage());
        assertThrows(AccessDeniedException.class, () -> auth.createAuthenticatedIdentity(List.of()));

        ConnectAuthenticator noGroups = (ConnectAuthenticator) authenticator(Map.of("consul.authz.groups", "none"));
        Identity bare = noGroups.createAuthenticatedIdentity(chain(consul.leaf("web")[0])).orElseThrow();
        assertEquals("web", bare.getUser());
        assertEquals(Set.of(), bare.getGroups());
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> authenticator(Map.of("consul.authz.groups", "everyone")));
        assertTrue(bad.getMessage(), bad.getMessage().contains("consul.authz.groups"));
    }

    @Test
    public void withoutKeysTheJvmLevelSettingsAreUsed() throws Exception {
        String previous = System.getProperty(ConnectConfig.PROPERTIES_FILE);
        try {
            System.clearProperty(ConnectConfig.PROPERTIES_FILE);
            IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
                    () -> new ConnectAuthenticatorFactory().create(Map.of()));
            assertTrue(none.getMessage(), none.getMessage().contains(ConnectConfig.PROPERTIES_FILE));

            Path file = Files.createTempFile("pcc-jvm", ".properties");
            Files.writeString(file, "consul.address=" + consul.address() + "\nconsul.service=trino\n"
                    + "consulconnect.expect=trino\n");
            System.setProperty(ConnectConfig.PROPERTIES_FILE, file.toString());
            CertificateAuthenticator auth = new ConnectAuthenticatorFactory().create(Map.of());
            assertEquals("web", auth.authenticate(chain(consul.leaf("web")[0])).getName());
            assertThrows(AccessDeniedException.class, () -> auth.authenticate(chain(consul.leaf("evil")[0])));
        } finally {
            if (previous == null) {
                System.clearProperty(ConnectConfig.PROPERTIES_FILE);
            } else {
                System.setProperty(ConnectConfig.PROPERTIES_FILE, previous);
            }
        }
    }

    @Test
    public void spiffeIdPrincipalWhenConfigured() throws Exception {
        CertificateAuthenticator auth = authenticator(Map.of("consul.authz.principal", "spiffe-id"));
        String principal = auth.authenticate(chain(consul.leaf("web")[0])).getName();
        assertTrue(principal, principal.startsWith("spiffe://") && principal.endsWith("/svc/web"));
    }

    @Test
    public void flippingTheIntentionDeniesWithoutRestart() throws Exception {
        CertificateAuthenticator auth = authenticator(Map.of());
        List<X509Certificate> flipper = chain(consul.leaf("flipper")[0]);
        assertEquals("flipper", auth.authenticate(flipper).getName());
        consul.intention("flipper", "trino", false);
        Instant deadline = Instant.now().plusSeconds(2);
        boolean denied = false;
        while (!denied && Instant.now().isBefore(deadline)) {
            try {
                auth.authenticate(flipper);
                Thread.sleep(20);
            } catch (AccessDeniedException e) {
                denied = true;
            }
        }
        assertTrue("denied within 2 s of the intention change (cache TTL is 10 min)", denied);
    }

    @Test
    public void certificateFromAnotherConsulIsDenied() throws Exception {
        CertificateAuthenticator auth = authenticator(Map.of());
        try (ConsulDevAgent other = ConsulDevAgent.start()) {
            try (DenyLogCapture log = new DenyLogCapture()) {
                AccessDeniedException e = assertThrows(AccessDeniedException.class,
                        () -> auth.authenticate(chain(other.leaf("web")[0])));
                assertTrue(e.getMessage(), e.getMessage().endsWith("(foreign-trust-domain)"));
                // Neither trust domain reaches the client; both are in the log.
                assertTrue(e.getMessage(), !e.getMessage().contains(".consul"));
                assertTrue(log.last(), log.last().contains("trust domain"));
            }
        }
    }

    @Test
    public void missingCertificateIsDenied() {
        CertificateAuthenticator auth = authenticator(Map.of());
        // The same refusal (empty-chain) the core gives any empty chain.
        try (DenyLogCapture log = new DenyLogCapture()) {
            AccessDeniedException e = assertThrows(AccessDeniedException.class, () -> auth.authenticate(List.of()));
            assertEquals("Access Denied: Consul Connect refused the client certificate (empty-chain)", e.getMessage());
            assertTrue(log.last(), log.last().contains("no peer certificate"));
        }
        // A null certificate in the list is refused like any unusable certificate (401).
        try (DenyLogCapture log = new DenyLogCapture()) {
            List<X509Certificate> withNull = new ArrayList<>();
            withNull.add(null);
            AccessDeniedException e = assertThrows(AccessDeniedException.class, () -> auth.authenticate(withNull));
            assertEquals("Access Denied: Consul Connect refused the client certificate (invalid-certificate)", e.getMessage());
            assertTrue(log.last(), log.last().contains("null certificate"));
        }
    }

    @Test
    public void unknownKeyFailsAtStartNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ConnectAuthenticatorFactory().create(Map.of("consul.authz.cache-tll", "1s")));
        assertTrue(e.getMessage(), e.getMessage().contains("consul.authz.cache-tll"));
    }

    @Test
    public void unusableChainsAreRefusedWithTheSameCodeOnBothPaths() throws Exception {
        try (ConnectIdentity identity = trinoIdentity()) {
            long h = identity.handle();
            // A null array or element is the caller's bug, on both paths.
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, null));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, new byte[][] {null}));
            assertThrows(IllegalArgumentException.class, () -> TlsBridge.verifyPeer(h, null, false, null));
            assertThrows(IllegalArgumentException.class, () -> TlsBridge.verifyPeer(h, new byte[][] {null}, false, null));

            // What a peer presents, garbage included, is refused with the reason's code: the
            // authenticator, the detailed answer and the trust manager's check agree.
            Map<String, byte[][]> unusable = new java.util.LinkedHashMap<>();
            unusable.put("empty-chain", new byte[0][]);
            unusable.put("malformed", new byte[][] {"garbage".getBytes(StandardCharsets.US_ASCII)});
            unusable.put("malformed ", new byte[][] {new byte[0]});
            unusable.put("malformed  ", new byte[][] {new byte[1 << 20]});
            unusable.put("chain-too-long", new byte[20][]); // refused on its length alone
            for (Map.Entry<String, byte[][]> e : unusable.entrySet()) {
                String code = e.getKey().trim();
                byte[][] chain = e.getValue();
                ConnectAccessDeniedException denied = assertThrows(ConnectAccessDeniedException.class,
                        () -> NativeBridge.authorize(h, chain));
                assertEquals(e.getKey(), code, denied.code());
                ConnectDecision decision = NativeBridge.authorizeDetailed(h, chain, null);
                assertEquals(false, decision.allowed());
                assertEquals(code, decision.code());
                assertEquals(denied.getMessage(), decision.reason());
                assertEquals(null, decision.service());
                PeerRefusedException refused = assertThrows(PeerRefusedException.class,
                        () -> TlsBridge.verifyPeer(h, chain, false, null));
                assertEquals(e.getKey(), code, refused.code());
                assertTrue(refused.getMessage(), refused.getMessage().contains(denied.getMessage()));
            }
        }
    }

    @Test
    public void theDetailedAnswerCarriesTheIdentityAndConsulsReason() throws Exception {
        try (ConnectIdentity identity = trinoIdentity()) {
            long h = identity.handle();
            byte[][] web = {chain(consul.leaf("web")[0]).get(0).getEncoded()};
            ConnectDecision answer = NativeBridge.authorizeDetailed(h, web, null);
            assertTrue(answer.toString(), answer.allowed());
            assertEquals("allowed", answer.code());
            assertEquals("web", answer.principal());
            ServiceIdentity id = answer.service();
            assertEquals("web", id.service());
            assertEquals("default", id.namespace());
            assertEquals("default", id.partition());
            assertEquals("dc1", id.datacenter());
            assertEquals(answer.spiffeId(), "spiffe://" + id.trustDomain() + "/ns/default/dc/dc1/svc/web");
            assertTrue(answer.origin(), List.of("fresh", "shared", "cache").contains(answer.origin()));
            // Repeats come from the cache (once the intentions watch has started: its first
            // answer invalidates decisions made before it).
            String origin = answer.origin();
            for (long end = System.nanoTime() + 10_000_000_000L; !origin.equals("cache") && System.nanoTime() < end; ) {
                Thread.sleep(50);
                origin = NativeBridge.authorizeDetailed(h, web, null).origin();
            }
            assertEquals("cache", origin);

            byte[][] evil = {chain(consul.leaf("evil")[0]).get(0).getEncoded()};
            ConnectDecision no = NativeBridge.authorizeDetailed(h, evil, null);
            assertEquals(false, no.allowed());
            assertEquals("denied", no.code());
            assertTrue(no.toString(), no.consulReason() != null && !no.consulReason().isEmpty());
            assertEquals("evil", no.service().service());
            ConnectAccessDeniedException e = assertThrows(ConnectAccessDeniedException.class,
                    () -> NativeBridge.authorize(h, evil));
            assertEquals("denied", e.code());
            // An explicit target that is not a service name is the caller's bug.
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorizeDetailed(h, web, "not a name"));
        }
    }

    @Test
    public void cachedDecisionsAnswerWithOneObjectAndRefusalsAreAnswers() throws Exception {
        try (ConnectIdentity identity = trinoIdentity()) {
            long h = identity.handle();
            byte[][] web = {chain(consul.leaf("web")[0]).get(0).getEncoded()};
            byte[][] evil = {chain(consul.leaf("evil")[0]).get(0).getEncoded()};
            ConnectAnswer first = NativeBridge.authenticate(h, web);
            assertTrue(first.toString(), first.allowed());
            assertEquals("web", first.user().user());
            assertEquals(null, first.code());
            // Once cached (after the intentions watch's first answer), every request gets the
            // very object built for the decision: nothing is allocated per request.
            for (long end = System.nanoTime() + 10_000_000_000L;
                    !NativeBridge.authorizeDetailed(h, web, null).origin().equals("cache") && System.nanoTime() < end; ) {
                Thread.sleep(50);
            }
            ConnectAnswer cached = NativeBridge.authenticate(h, web);
            assertSame(cached, NativeBridge.authenticate(h, web));
            assertSame(cached, NativeBridge.authenticate(h, web[0])); // the one-certificate form
            assertEquals(first, cached);

            // A refusal is an answer with the reason's code and the full reason.
            ConnectAnswer no = NativeBridge.authenticate(h, evil);
            assertFalse(no.allowed());
            assertEquals(null, no.user());
            assertEquals("denied", no.code());
            assertTrue(no.reason(), no.reason().contains("evil"));
            assertSame(no, NativeBridge.authenticate(h, evil));
            assertEquals("malformed", NativeBridge.authenticate(h, new byte[][] {{1, 2, 3}}).code());
            assertEquals("empty-chain", NativeBridge.authenticate(h, new byte[0][]).code());
            assertEquals("chain-too-long", NativeBridge.authenticate(h, new byte[20][]).code());
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authenticate(h, (byte[][]) null));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authenticate(h, new byte[][] {null}));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authenticate(h, (byte[]) null));
            assertEquals("malformed", NativeBridge.authenticate(h, new byte[0]).code());
            assertEquals("malformed", NativeBridge.authenticate(h, new byte[] {1, 2, 3}).code());
            // One certificate of any size: read on the stack up to 4 KiB, beyond in a
            // per-thread buffer, over the core's 64 KiB limit refused unread.
            assertEquals("malformed", NativeBridge.authenticate(h, new byte[4096]).code());
            assertEquals("malformed", NativeBridge.authenticate(h, new byte[4097]).code());
            assertEquals("malformed", NativeBridge.authenticate(h, new byte[64 * 1024 + 1]).code());
            assertEquals("malformed", NativeBridge.authenticate(h, new byte[][] {new byte[5000], web[0]}).code());
            // A hit is the exact certificate: one byte changed (same length, same signature,
            // so the same hash) is verified afresh and refused.
            byte[] forged = web[0].clone();
            forged[forged.length / 2] ^= 1;
            ConnectAnswer tampered = NativeBridge.authenticate(h, forged);
            assertFalse(tampered.toString(), tampered.allowed());
            assertSame(cached, NativeBridge.authenticate(h, web[0].clone()));

            // Through the authenticator: one refusal per code, thrown again for every
            // request it refuses (no stack trace is captured per refusal).
            CertificateAuthenticator auth = authenticator(Map.of());
            List<X509Certificate> evilChain = chain(consul.leaf("evil")[0]);
            try (DenyLogCapture log = new DenyLogCapture()) {
                AccessDeniedException once = assertThrows(AccessDeniedException.class, () -> auth.authenticate(evilChain));
                AccessDeniedException twice = assertThrows(AccessDeniedException.class, () -> auth.authenticate(evilChain));
                assertSame(once, twice);
                assertEquals("Access Denied: Consul Connect refused the client certificate (denied)", twice.getMessage());
                assertTrue(log.last(), log.last().contains("evil"));
            }
        }
    }
}
