package io.consulconnect.jni;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectFailureException;
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
        String[] parts = NativeBridge.parseServiceSpiffeId(
                "spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web");
        assertArrayEquals(new String[] {
                "11111111-2222-3333-4444-555555555555.consul", "default", "default", "dc1", "web"},
                parts);
    }

    @Test
    public void parsesServiceIdWithPartition() {
        String[] parts = NativeBridge.parseServiceSpiffeId(
                "spiffe://td.consul/ap/part1/ns/ns1/dc/dc2/svc/api");
        assertArrayEquals(new String[] {"td.consul", "part1", "ns1", "dc2", "api"}, parts);
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
    public void panicBecomesExceptionAndJvmSurvives() {
        for (int i = 0; i < 3; i++) {
            ConnectFailureException e = assertThrows(ConnectFailureException.class,
                    () -> NativeBridge.panicForTest("boom"));
            String message = e.getMessage();
            assertNotNull(message);
            assertTrue(message, message.toLowerCase(Locale.ROOT).contains("panic"));
            assertTrue(message, message.contains("boom"));
            assertEquals(System.getProperty(EXPECTED_VERSION_PROPERTY), NativeBridge.version());
        }
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
