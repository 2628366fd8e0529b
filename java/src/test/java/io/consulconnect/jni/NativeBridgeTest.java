package io.consulconnect.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ServiceIdentity;
import java.util.Locale;
import org.junit.Test;

public class NativeBridgeTest {
    /** Set by build.gradle from [package] version in Cargo.toml. */
    private static final String EXPECTED_VERSION_PROPERTY = "consulconnect.test.expectedVersion";

    @Test
    public void versionMatchesCargoToml() {
        String expected = System.getProperty(EXPECTED_VERSION_PROPERTY);
        assertNotNull("system property " + EXPECTED_VERSION_PROPERTY + " is not set", expected);
        assertEquals(expected, NativeBridge.version());
    }

    @Test
    public void parsesServiceIdWithoutPartitionAsDefaultPartition() {
        ServiceIdentity id = NativeBridge.parseServiceSpiffeId(
                "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web");
        assertEquals(new ServiceIdentity(
                "11111111-2222-3333-4444-555555555555.consul", "default", "default", "dc1", "web"), id);
    }

    @Test
    public void parsesServiceIdWithPartition() {
        ServiceIdentity id = NativeBridge.parseServiceSpiffeId(
                "spiffe://td.consul/ap/part1/ns/ns1/dc/dc2/svc/api");
        assertEquals("td.consul", id.trustDomain());
        assertEquals("part1", id.partition());
        assertEquals("ns1", id.namespace());
        assertEquals("dc2", id.datacenter());
        assertEquals("api", id.service());
    }

    @Test
    public void rejectsNull() {
        assertRejected(null, "null");
    }

    @Test
    public void rejectsEmpty() {
        assertRejected("", "empty");
    }

    @Test
    public void rejectsNonSpiffeUri() {
        assertRejected("http://x", "spiffe");
    }

    @Test
    public void rejectsAgentId() {
        assertRejected("spiffe://td/agent/client/dc/dc1/id/node", "agent");
    }

    @Test
    public void settingDefaultsComeFromTheCore() {
        String ttl = NativeBridge.settingDefault("consul.authz.cache-ttl");
        assertNotNull(ttl);
        assertTrue(ttl, NativeBridge.parseDuration("consul.authz.cache-ttl", ttl, false) > 0);
        assertEquals("http://127.0.0.1:8500", NativeBridge.settingDefault("consul.address"));
        assertEquals(null, NativeBridge.settingDefault("consul.no-such-key"));
    }

    @Test
    public void theShippedLibraryHasNoTestExports() {
        // The deliberate panic exists only in the test build (cargo feature test-exports),
        // which NativeTestHooksTest loads; the bundled library must not carry it.
        assertThrows(UnsatisfiedLinkError.class, () -> NativeTestHooks.panicForTest("boom"));
    }

    /** Asserts the id is rejected with a message naming the problem (by a keyword). */
    private static void assertRejected(String uri, String problemKeyword) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> NativeBridge.parseServiceSpiffeId(uri));
        String message = e.getMessage();
        assertNotNull("no message for " + uri, message);
        assertTrue("message for " + uri + " should mention '" + problemKeyword + "': " + message,
                message.toLowerCase(Locale.ROOT).contains(problemKeyword));
    }
}
