package io.consulconnect.trino;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectAccessDeniedException;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.consulconnect.jca.ConnectConfig;
import io.consulconnect.testing.ConsulDevAgent;
import io.trino.spi.Plugin;
import io.trino.spi.security.AccessDeniedException;
import io.trino.spi.security.CertificateAuthenticator;
import io.trino.spi.security.CertificateAuthenticatorFactory;
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

        AccessDeniedException denied = assertThrows(AccessDeniedException.class,
                () -> auth.authenticate(chain(consul.leaf("evil")[0])));
        String message = denied.getMessage().toLowerCase(Locale.ROOT);
        assertTrue(message, message.contains("intention") && message.contains("evil") && message.contains("deny"));
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
            AccessDeniedException e = assertThrows(AccessDeniedException.class,
                    () -> auth.authenticate(chain(other.leaf("web")[0])));
            assertTrue(e.getMessage(), e.getMessage().contains("trust domain") || e.getMessage().contains("issuer"));
        }
    }

    @Test
    public void missingCertificateIsDenied() {
        CertificateAuthenticator auth = authenticator(Map.of());
        assertThrows(AccessDeniedException.class, () -> auth.authenticate(List.of()));
    }

    @Test
    public void unknownKeyFailsAtStartNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ConnectAuthenticatorFactory().create(Map.of("consul.authz.cache-tll", "1s")));
        assertTrue(e.getMessage(), e.getMessage().contains("consul.authz.cache-tll"));
    }

    @Test
    public void badInputToTheBridgeIsAnIllegalArgumentNeverACrash() throws Exception {
        try (ConnectIdentity identity = ConnectIdentity.open(Map.of(
                "consul.address", consul.address(), "consul.service", "trino"))) {
            long h = identity.handle();
            identity.awaitReady(Duration.ofSeconds(30));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, null));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, new byte[0][]));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, new byte[][] {null}));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, new byte[][] {new byte[0]}));
            assertThrows(IllegalArgumentException.class,
                    () -> NativeBridge.authorize(h, new byte[][] {"garbage".getBytes(StandardCharsets.US_ASCII)}));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, new byte[][] {new byte[1 << 20]}));
            assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorize(h, new byte[20][]));

            // The detailed answer carries the identity and Consul's reason.
            byte[][] web = {chain(consul.leaf("web")[0]).get(0).getEncoded()};
            String[] answer = NativeBridge.authorizeDetailed(h, web, null);
            assertEquals("true", answer[0]);
            assertEquals("web", answer[9]);
            assertEquals("default", answer[7]);
            assertEquals("dc1", answer[8]);
            assertTrue(answer[4].startsWith("spiffe://" + answer[5] + "/"));
            byte[][] evil = {chain(consul.leaf("evil")[0]).get(0).getEncoded()};
            String[] no = NativeBridge.authorizeDetailed(h, evil, null);
            assertEquals("false", no[0]);
            assertEquals("denied", no[1]);
            assertTrue(no[3], no[3] != null && !no[3].isEmpty());
            ConnectAccessDeniedException e = assertThrows(ConnectAccessDeniedException.class,
                    () -> NativeBridge.authorize(h, evil));
            assertEquals("denied", e.code());
        }
    }
}
