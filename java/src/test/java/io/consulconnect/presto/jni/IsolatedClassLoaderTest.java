package io.consulconnect.presto.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotSame;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import org.junit.Test;

/**
 * Trino gives each plugin its own class loader; the JVM binds a native library file to one
 * loader only. Each loader must therefore get a working copy of its own.
 */
public class IsolatedClassLoaderTest {
    @Test
    public void eachClassLoaderLoadsItsOwnCopy() throws Exception {
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
