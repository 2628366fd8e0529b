package io.consulconnect.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import io.consulconnect.ConnectAnswer;
import io.consulconnect.testing.ConsulDevAgent;
import java.io.ByteArrayInputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import org.junit.Test;

/**
 * Trino gives each plugin its own class loader; the JVM binds a native library file to one
 * loader only. A plugin's copy of the bridge shares the system class loader's library when
 * that loader has this jar (the JVM-level part); otherwise it loads its own.
 */
public class IsolatedClassLoaderTest {
    @Test
    public void aPluginCopySharesTheSystemLoadersLibraryAndIdentities() throws Exception {
        URL jar = NativeBridge.class.getProtectionDomain().getCodeSource().getLocation();
        // This test runs with the jar on the system class path, as -javaagent puts it there.
        assertSame(ClassLoader.getSystemClassLoader(), NativeBridge.class.getClassLoader());
        assertFalse(NativeLibrary.isShared());
        String[] keys = {"consul.address", "consul.service"};
        String[] values = {"http://127.0.0.1:1", "shared-" + System.nanoTime()};
        long ours = NativeBridge.open(keys, values);
        try (URLClassLoader plugin = isolatedLoader(jar)) {
            Class<?> library = Class.forName(NativeLibrary.class.getName(), true, plugin);
            assertNotSame(NativeLibrary.class, library);
            assertEquals(Boolean.TRUE, library.getMethod("isShared").invoke(null));
            Class<?> bridge = Class.forName(NativeBridge.class.getName(), true, plugin);
            Method open = bridge.getMethod("open", String[].class, String[].class);
            // Same properties, same native registry: the very same identity.
            long theirs = (Long) open.invoke(null, keys, values);
            assertEquals(ours, theirs);
            bridge.getMethod("close", long.class).invoke(null, theirs);
            // Exceptions come as the plugin's own classes (JNI resolves them in its loader).
            Method parse = bridge.getMethod("parseServiceSpiffeId", String.class);
            try {
                parse.invoke(null, "not a spiffe id");
                fail("parsed garbage");
            } catch (InvocationTargetException e) {
                assertEquals(IllegalArgumentException.class, e.getCause().getClass());
            }
            // So do results: a ServiceIdentity of the plugin's loader, not of ours.
            Object id = parse.invoke(null, "spiffe://td.consul/ns/default/dc/dc1/svc/web");
            assertSame(plugin, id.getClass().getClassLoader());
            assertEquals(Class.forName("io.consulconnect.ServiceIdentity", false, plugin), id.getClass());
            // A failure of the core (no agent at 127.0.0.1:1) too.
            long again = (Long) open.invoke(null, keys, values);
            try {
                bridge.getMethod("waitReady", long.class, long.class).invoke(null, again, 10L);
                fail("ready without an agent");
            } catch (InvocationTargetException e) {
                Class<?> expected = Class.forName("io.consulconnect.ConnectFailureException", false, plugin);
                assertSame(expected, e.getCause().getClass());
            } finally {
                bridge.getMethod("close", long.class).invoke(null, again);
            }
        } finally {
            NativeBridge.close(ours);
        }
    }

    /**
     * A decision's Java answer is kept with it for the bridge class that asked first; a
     * plugin's copy of the bridge asking about the same client on the same (shared) identity
     * gets an answer of its own classes, never the other loader's object.
     */
    @Test
    public void cachedAnswersAreNeverHandedToAnotherLoadersBridge() throws Exception {
        URL jar = NativeBridge.class.getProtectionDomain().getCodeSource().getLocation();
        try (ConsulDevAgent consul = ConsulDevAgent.start()) {
            consul.intention("web", "trino", true);
            String[] keys = {"consul.address", "consul.service"};
            String[] values = {consul.address(), "trino"};
            long ours = NativeBridge.open(keys, values);
            try (URLClassLoader plugin = isolatedLoader(jar)) {
                NativeBridge.waitReady(ours, 30_000);
                byte[][] web = {der(consul.leaf("web")[0])};
                Class<?> bridge = Class.forName(NativeBridge.class.getName(), true, plugin);
                Method authenticate = bridge.getMethod("authenticate", long.class, byte[][].class);
                for (int i = 0; i < 50; i++) { // cached or not: always each loader's own class
                    ConnectAnswer mine = NativeBridge.authenticate(ours, web);
                    assertTrue(mine.toString(), mine.allowed());
                    Object theirs = authenticate.invoke(null, ours, web);
                    assertSame(plugin, theirs.getClass().getClassLoader());
                    assertEquals(mine.toString(), theirs.toString());
                    Thread.sleep(20);
                }
            } finally {
                NativeBridge.close(ours);
            }
        }
    }

    private static byte[] der(String pem) throws Exception {
        return CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))).getEncoded();
    }

    @Test
    public void eachClassLoaderGetsAWorkingCopy() throws Exception {
        URL jar = NativeBridge.class.getProtectionDomain().getCodeSource().getLocation();
        String expected = NativeBridge.version();
        try (URLClassLoader first = isolatedLoader(jar);
                URLClassLoader second = isolatedLoader(jar)) {
            Class<?> bridgeA = Class.forName(NativeBridge.class.getName(), true, first);
            Class<?> bridgeB = Class.forName(NativeBridge.class.getName(), true, second);
            assertNotSame(bridgeA, bridgeB);
            assertEquals(expected, version(bridgeA));
            assertEquals(expected, version(bridgeB));
        }
    }

    private static URLClassLoader isolatedLoader(URL jar) {
        // The platform loader as parent: nothing from the test's class path leaks in.
        return new URLClassLoader(new URL[] {jar}, ClassLoader.getPlatformClassLoader());
    }

    private static String version(Class<?> bridge) throws Exception {
        Method version = bridge.getMethod("version");
        return (String) version.invoke(null);
    }
}
