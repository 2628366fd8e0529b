package io.consulconnect.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import org.junit.Test;

public class NativeLibraryTest {
    @Test
    public void linuxX86_64UnderBothArchNames() {
        assertEquals("linux-x86_64", NativeLibrary.platform("Linux", "amd64"));
        assertEquals("linux-x86_64", NativeLibrary.platform("Linux", "x86_64"));
    }

    @Test
    public void linuxAarch64() {
        assertEquals("linux-aarch64", NativeLibrary.platform("Linux", "aarch64"));
    }

    @Test
    public void resourcePathIsInsideThePlatformFolder() {
        assertEquals("/native/linux-x86_64/libconsul_connect.so",
                NativeLibrary.resourcePath("linux-x86_64"));
    }

    @Test
    public void unsupportedPlatformNamesOsAndArch() {
        assertUnsupported("Mac OS X", "aarch64");
        assertUnsupported("Windows 11", "amd64");
        assertUnsupported("Linux", "ppc64le");
        assertUnsupported(null, null);
    }

    private static void assertUnsupported(String osName, String osArch) {
        UnsatisfiedLinkError error = assertThrows(UnsatisfiedLinkError.class,
                () -> NativeLibrary.platform(osName, osArch));
        String message = error.getMessage();
        assertTrue(message, message.contains("os.name=" + osName));
        assertTrue(message, message.contains("os.arch=" + osArch));
        assertTrue(message, message.contains(NativeLibrary.OVERRIDE_PROPERTY));
    }
}
