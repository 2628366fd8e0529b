package io.consulconnect.metrics;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import javax.management.MBeanAttributeInfo;
import javax.management.MBeanServer;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;
import javax.management.openmbean.TabularData;

/**
 * Reads the metrics beans the way a JMX client (Trino's jmx connector, jconsole) does:
 * through the platform MBean server, every attribute by its name.
 */
final class MetricsBeans {
    static final MBeanServer SERVER = ManagementFactory.getPlatformMBeanServer();

    /** Every attribute of {@code type=Identity}, by the name JMX clients see. */
    static final List<String> IDENTITY_ATTRIBUTES = List.of("Handle", "Service", "SpiffeId", "Serial", "NotBefore",
            "NotAfter", "SecondsToExpiry", "InExpiryAlarm", "LeafExpired", "Generation", "LeafRotations",
            "RootsRotations", "RootsCount", "ActiveRootId", "LastSuccess", "LastError", "LastErrorTime",
            "LastSuccessAgeSeconds", "AgentErrorsLeaf", "AgentErrorsRoots", "AgentErrorsAuthorize",
            "AgentErrorsIntentions");

    /** Every attribute of {@code type=Authorization}. */
    static final List<String> AUTHORIZATION_ATTRIBUTES = List.of("Handle", "Started", "Target", "DecisionSource", "Allowed", "Denied",
            "DeniedByReason", "DeniedByIntention", "DeniedAgentUnavailable", "DeniedCertificate", "CacheHits",
            "CacheMisses", "CacheSize", "CacheCapacity", "CacheEvictions", "StaleAllowsServed", "IntentionsEpoch",
            "IntentionsWatchError", "AgentCalls", "AgentCallErrors", "AgentCallLatencyP50Micros",
            "AgentCallLatencyP90Micros", "AgentCallLatencyP99Micros", "AgentCallLatencyMaxMicros");

    /** Every deny code, in the native library's order. */
    static final List<String> DENY_CODES = List.of("empty-chain", "chain-too-long", "malformed",
            "unused-certificate", "wrong-order", "no-roots", "no-spiffe-id", "multiple-uris", "not-a-service",
            "foreign-trust-domain", "expired", "not-yet-valid", "unknown-issuer", "bad-signature", "chain-invalid",
            "invalid-target", "denied", "intention-has-http-permissions", "agent-unavailable");

    private MetricsBeans() {}

    /** Every bean of the {@code io.consulconnect} domain. */
    static Set<ObjectName> all() throws Exception {
        return SERVER.queryNames(new ObjectName("io.consulconnect:*"), null);
    }

    /** The beans (of any type) whose {@code Handle} is {@code handle}. */
    static List<ObjectName> ofHandle(long handle) throws Exception {
        List<ObjectName> out = new ArrayList<>();
        for (ObjectName name : all()) {
            Object value;
            try {
                value = SERVER.getAttribute(name, "Handle");
            } catch (javax.management.AttributeNotFoundException e) {
                continue; // not one of ours
            }
            if (Long.valueOf(handle).equals(value)) {
                out.add(name);
            }
        }
        return out;
    }

    /** The one bean of {@code type} ({@code Identity} or {@code Authorization}) of a handle. */
    static ObjectName nameOf(String type, long handle) throws Exception {
        List<ObjectName> found = new ArrayList<>();
        for (ObjectName name : ofHandle(handle)) {
            if (type.equals(name.getKeyProperty("type"))) {
                found.add(name);
            }
        }
        assertEquals("beans of type " + type + " for handle " + handle + ": " + found, 1, found.size());
        return found.get(0);
    }

    /**
     * Reads every attribute of a bean by name, after checking that the bean has exactly the
     * expected attributes (so a renamed or missing getter fails here). A map attribute
     * (open type {@link TabularData}) comes back as a {@code Map<String, Long>}.
     */
    static Map<String, Object> read(ObjectName name) throws Exception {
        List<String> expected = "Identity".equals(name.getKeyProperty("type")) ? IDENTITY_ATTRIBUTES
                : AUTHORIZATION_ATTRIBUTES;
        Set<String> present = new TreeSet<>();
        for (MBeanAttributeInfo info : SERVER.getMBeanInfo(name).getAttributes()) {
            assertTrue(info.getName() + " readable", info.isReadable());
            present.add(info.getName());
        }
        assertEquals("attributes of " + name, new TreeSet<>(expected), present);
        Map<String, Object> values = new LinkedHashMap<>();
        for (String attribute : expected) {
            Object value = SERVER.getAttribute(name, attribute);
            values.put(attribute, value instanceof TabularData t ? counts(t) : value);
        }
        return values;
    }

    /** One attribute as a number. */
    static long count(ObjectName name, String attribute) throws Exception {
        return ((Number) SERVER.getAttribute(name, attribute)).longValue();
    }

    /** One attribute as a string. */
    static String text(ObjectName name, String attribute) throws Exception {
        return (String) SERVER.getAttribute(name, attribute);
    }

    /** The {@code DeniedByReason} map of an authorization bean, read through JMX. */
    static Map<String, Long> deniedByReason(ObjectName name) throws Exception {
        return counts((TabularData) SERVER.getAttribute(name, "DeniedByReason"));
    }

    /** An MXBean {@code Map<String, Long>}: rows of (key, value), in key order. */
    static Map<String, Long> counts(TabularData table) {
        Map<String, Long> out = new java.util.TreeMap<>();
        for (Object row : table.values()) {
            CompositeData data = (CompositeData) row;
            out.put((String) data.get("key"), (Long) data.get("value"));
        }
        return out;
    }

    /** A check that throws with its values on failure. */
    interface Check {
        boolean ok() throws Exception;
    }

    /** Polls {@code condition} every 50 ms until it holds, failing with {@code message} after {@code timeout}. */
    static void await(String message, Duration timeout, Check condition) throws Exception {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.ok()) {
            if (System.nanoTime() > end) {
                fail(message + " (waited " + timeout + ")");
            }
            Thread.sleep(50);
        }
    }
}
