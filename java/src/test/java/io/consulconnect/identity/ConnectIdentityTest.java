package io.consulconnect.identity;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectFailureException;
import io.consulconnect.testing.ConsulDevAgent;
import java.io.ByteArrayInputStream;
import java.security.KeyFactory;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.ClassRule;
import org.junit.Test;

/** The JNI identity surface against a real Consul dev agent. */
public class ConnectIdentityTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    private static Map<String, String> props(String service) {
        return Map.of("consul.address", consul.address(), "consul.service", service,
                "consul.request-timeout", "2s");
    }

    @Test
    public void snapshotCarriesAVerifiableLeafAndItsKey() throws Exception {
        try (ConnectIdentity identity = ConnectIdentity.open(props("trino"))) {
            long ready = identity.awaitReady(Duration.ofSeconds(30));
            IdentitySnapshot snap = identity.snapshot().orElseThrow();
            assertTrue(ready >= 1);
            assertTrue(snap.generation() >= ready);
            assertEquals(snap.generation(), identity.generation());
            assertTrue(snap.spiffeId(), snap.spiffeId().endsWith("/svc/trino"));
            assertTrue(snap.spiffeId().startsWith("spiffe://" + snap.trustDomain() + "/"));
            assertTrue(snap.notAfter().isAfter(Instant.now()));
            assertTrue(snap.rootIds().contains(snap.activeRootId()));
            assertEquals(snap.roots().size(), snap.rootIds().size());

            CertificateFactory cf = CertificateFactory.getInstance("X.509");
            X509Certificate leaf = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(snap.chain().get(0)));
            X509Certificate root = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(snap.roots().get(0)));
            leaf.verify(root.getPublicKey());
            assertEquals(new java.math.BigInteger(snap.serial().replace(":", ""), 16), leaf.getSerialNumber());

            // The key is PKCS#8 and belongs to the leaf: sign with it, verify with the cert.
            var key = KeyFactory.getInstance(leaf.getPublicKey().getAlgorithm())
                    .generatePrivate(new PKCS8EncodedKeySpec(snap.keyPkcs8()));
            var signer = java.security.Signature.getInstance("SHA256withECDSA");
            signer.initSign(key);
            signer.update(new byte[] {1, 2, 3});
            byte[] signature = signer.sign();
            var verifier = java.security.Signature.getInstance("SHA256withECDSA");
            verifier.initVerify(leaf);
            verifier.update(new byte[] {1, 2, 3});
            assertTrue(verifier.verify(signature));
            snap.destroyKey();
            assertArrayEquals(new byte[snap.keyPkcs8().length], snap.keyPkcs8());
            assertFalse("key must not show in toString", snap.toString().contains("keyPkcs8"));

            IdentityStatus status = identity.status();
            assertEquals(snap.generation(), status.generation());
            assertTrue(status.lastSuccess().isPresent());
            assertFalse(status.lastError().isPresent());
            assertTrue(status.nextExpiry().get().isAfter(Instant.now().plus(Duration.ofHours(1))));
        }
    }

    @Test
    public void sameConfigurationSharesOneNativeIdentity() {
        ConnectIdentity a = ConnectIdentity.open(props("shared"));
        try (ConnectIdentity b = ConnectIdentity.open(props("shared"));
                ConnectIdentity c = ConnectIdentity.open(props("other"))) {
            assertEquals(a.handle(), b.handle());
            assertNotEquals(a.handle(), c.handle());
            a.close();
            // b still holds a reference: the shared watchers keep running.
            b.awaitReady(Duration.ofSeconds(30));
            assertThrows(IllegalStateException.class, a::generation);
        } finally {
            a.close();
        }
    }

    @Test
    public void caRotationReachesTheSnapshot() throws Exception {
        try (ConnectIdentity identity = ConnectIdentity.open(props("rotating"))) {
            identity.awaitReady(Duration.ofSeconds(30));
            IdentitySnapshot before = identity.snapshot().orElseThrow();
            consul.rotateCa();
            // Consul re-issues leaves after a CA rotation with up to 30 s of jitter, plus load.
            Instant deadline = Instant.now().plusSeconds(60);
            IdentitySnapshot after = before;
            while (Instant.now().isBefore(deadline)
                    && (after.activeRootId().equals(before.activeRootId()) || after.serial().equals(before.serial()))) {
                Thread.sleep(50);
                after = identity.snapshot().orElseThrow();
            }
            assertNotEquals(before.activeRootId(), after.activeRootId());
            assertNotEquals(before.serial(), after.serial());
            assertTrue(after.generation() > before.generation());
            assertTrue("old root kept during rotation", after.rootIds().contains(before.activeRootId()));
            assertTrue(identity.status().rootsRotations() >= 1);
        }
    }

    @Test
    public void unknownKeyIsRejectedByName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ConnectIdentity.open(Map.of("consul.adress", "http://127.0.0.1:1")));
        assertTrue(e.getMessage(), e.getMessage().contains("consul.adress"));
    }

    @Test
    public void unreachableAgentTimesOutWithTheReason() {
        try (ConnectIdentity identity = ConnectIdentity.open(Map.of(
                "consul.address", "http://127.0.0.1:1", "consul.service", "trino", "consul.request-timeout", "1s"))) {
            ConnectFailureException e = assertThrows(ConnectFailureException.class,
                    () -> identity.awaitReady(Duration.ofSeconds(2)));
            assertTrue(e.getMessage(), e.getMessage().contains("127.0.0.1:1"));
            assertTrue(identity.status().lastError().isPresent());
        }
    }

    @Test
    public void closedOrForgedHandlesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> io.consulconnect.jni.NativeBridge.generation(987654321L));
        assertThrows(IllegalArgumentException.class, () -> io.consulconnect.jni.NativeBridge.snapshot(-1L));
        assertThrows(IllegalArgumentException.class, () -> io.consulconnect.jni.NativeBridge.open(null, null));
        assertThrows(IllegalArgumentException.class,
                () -> io.consulconnect.jni.NativeBridge.open(new String[] {"a"}, new String[0]));
        assertThrows(IllegalArgumentException.class,
                () -> io.consulconnect.jni.NativeBridge.open(new String[] {null}, new String[] {"x"}));
    }
}
