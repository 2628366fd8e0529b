package io.consulconnect.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotSame;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.fail;

import java.lang.reflect.InvocationTargetException;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
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
