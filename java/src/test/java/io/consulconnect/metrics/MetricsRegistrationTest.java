package io.consulconnect.metrics;

import static io.consulconnect.metrics.MetricsBeans.SERVER;
import static io.consulconnect.metrics.MetricsBeans.all;
import static io.consulconnect.metrics.MetricsBeans.nameOf;
import static io.consulconnect.metrics.MetricsBeans.ofHandle;
import static io.consulconnect.metrics.MetricsBeans.read;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.management.ObjectName;
import javax.management.StandardMBean;
import org.junit.Test;

/**
 * Names and lifetime of the beans: one set per native identity, distinct names for two
 * configurations of one service, shared by every opener (class loaders included) and gone
 * after the last close. No agent is needed: the beans exist from open on.
 */
public class MetricsRegistrationTest {
    private static Map<String, String> props(String service, String timeout) {
        return Map.of("consul.address", "http://127.0.0.1:1", "consul.service", service,
                "consul.request-timeout", timeout);
    }

    private static ObjectName name(String type, String service) throws Exception {
        return new ObjectName("io.consulconnect:type=" + type + ",name=" + service);
    }

    @Test
    public void twoConfigurationsOfOneServiceGetDistinctNames() throws Exception {
        Set<ObjectName> before = all();
        ConnectIdentity first = ConnectIdentity.open(props("metrics-twin", "1s"));
        try (ConnectIdentity second = ConnectIdentity.open(props("metrics-twin", "2s"))) {
            assertNotEquals(first.handle(), second.handle());
            for (String type : new String[] {"Identity", "Authorization"}) {
                assertEquals(name(type, "metrics-twin"), nameOf(type, first.handle()));
                ObjectName other = new ObjectName("io.consulconnect:type=" + type + ",name=metrics-twin,handle="
                        + second.handle());
                assertEquals(other, nameOf(type, second.handle()));
                assertEquals(first.handle(), read(name(type, "metrics-twin")).get("Handle"));
                Map<String, Object> values = read(other);
                assertEquals(second.handle(), values.get("Handle"));
            }
            assertEquals("metrics-twin", read(nameOf("Identity", second.handle())).get("Service"));
            long firstHandle = first.handle();
            first.close();
            assertEquals(List.of(), ofHandle(firstHandle));
            assertFalse(SERVER.isRegistered(name("Identity", "metrics-twin")));
            assertEquals(2, ofHandle(second.handle()).size());
        } finally {
            first.close();
        }
        assertEquals("no bean left after the last close", before, all());
    }

    @Test
    public void theSameConfigurationIsRegisteredOnceAndStaysUntilTheLastClose() throws Exception {
        Set<ObjectName> before = all();
        ConnectIdentity a = ConnectIdentity.open(props("metrics-shared", "1s"));
        ConnectIdentity b = ConnectIdentity.open(props("metrics-shared", "1s"));
        try {
            assertEquals(a.handle(), b.handle());
            long h = a.handle();
            assertEquals(Set.of(name("Identity", "metrics-shared"), name("Authorization", "metrics-shared")),
                    new HashSet<>(ofHandle(h)));
            a.close();
            // b still holds the native identity: its beans stay, and still read it.
            assertEquals(2, ofHandle(h).size());
            assertEquals("metrics-shared", read(name("Identity", "metrics-shared")).get("Service"));
            assertEquals(false, read(name("Authorization", "metrics-shared")).get("Started"));
        } finally {
            a.close();
            b.close();
        }
        assertFalse(SERVER.isRegistered(name("Identity", "metrics-shared")));
        assertFalse(SERVER.isRegistered(name("Authorization", "metrics-shared")));
        assertEquals("no bean left after the last close", before, all());
    }

    @Test
    public void aCopyInAnotherClassLoaderSharesTheBeansOfTheSharedIdentity() throws Exception {
        Set<ObjectName> before = all();
        URL jar = NativeBridge.class.getProtectionDomain().getCodeSource().getLocation();
        Map<String, String> props = props("metrics-loaders", "1s");
        try (URLClassLoader plugin = new URLClassLoader(new URL[] {jar}, ClassLoader.getPlatformClassLoader())) {
            Class<?> theirClass = Class.forName(ConnectIdentity.class.getName(), true, plugin);
            assertNotSame(ConnectIdentity.class, theirClass);
            ConnectIdentity ours = ConnectIdentity.open(props);
            AutoCloseable theirs = (AutoCloseable) theirClass.getMethod("open", Map.class).invoke(null, props);
            try {
                Method handle = theirClass.getMethod("handle");
                assertEquals("one native identity", ours.handle(), handle.invoke(theirs));
                // Registered once (by our copy); their copy saw the same handle and left it.
                List<ObjectName> beans = ofHandle(ours.handle());
                assertEquals(Set.of(name("Identity", "metrics-loaders"), name("Authorization", "metrics-loaders")),
                        new HashSet<>(beans));
                long h = ours.handle();
                ours.close();
                // Their reference keeps the identity, and the beans our copy registered.
                assertEquals(2, ofHandle(h).size());
                assertEquals("metrics-loaders", read(name("Identity", "metrics-loaders")).get("Service"));
            } finally {
                ours.close();
                theirs.close();
            }
        }
        assertEquals("their last close removed the beans our copy registered", before, all());
    }

    @Test
    public void closeCountsTheReferencesLeftAndAClosedHandleHasNoMetrics() {
        String[] keys = {"consul.address", "consul.service"};
        String[] values = {"http://127.0.0.1:1", "metrics-refs"};
        long h = NativeBridge.open(keys, values);
        assertEquals(h, NativeBridge.open(keys, values));
        assertEquals(h, NativeBridge.open(keys, values));
        assertEquals(2, NativeBridge.close(h));
        assertEquals("metrics-refs", NativeBridge.identityMetrics(h).service().orElseThrow());
        assertEquals(1, NativeBridge.close(h));
        assertEquals(false, NativeBridge.authorizationMetrics(h).started());
        assertEquals(0, NativeBridge.close(h));
        assertThrows(IllegalArgumentException.class, () -> NativeBridge.identityMetrics(h));
        assertThrows(IllegalArgumentException.class, () -> NativeBridge.authorizationMetrics(h));
        assertThrows(IllegalArgumentException.class, () -> NativeBridge.close(h));
    }

    /** A bean of someone else under one of our names. */
    public interface ForeignMBean {
        /** @return anything */
        String getValue();
    }

    @Test
    public void aNameHeldByAnotherBeanIsLeftAlone() throws Exception {
        Set<ObjectName> before = all();
        ObjectName taken = name("Identity", "metrics-foreign");
        SERVER.registerMBean(new StandardMBean(() -> "not ours", ForeignMBean.class), taken);
        try {
            try (ConnectIdentity identity = ConnectIdentity.open(props("metrics-foreign", "1s"))) {
                assertEquals(new ObjectName("io.consulconnect:type=Identity,name=metrics-foreign,handle="
                        + identity.handle()), nameOf("Identity", identity.handle()));
                assertEquals(name("Authorization", "metrics-foreign"), nameOf("Authorization", identity.handle()));
            }
            assertTrue("the other bean stays", SERVER.isRegistered(taken));
            Set<ObjectName> left = all();
            left.remove(taken);
            assertEquals(before, left);
        } finally {
            SERVER.unregisterMBean(taken);
        }
    }
}
