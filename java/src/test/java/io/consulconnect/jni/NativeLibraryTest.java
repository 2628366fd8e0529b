package io.consulconnect.jni;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

    @Test
    public void theExtractedLibraryIsReachableByThisUserOnly() throws Exception {
        // Whatever the umask: a directory of its own (0700) and a file of mode 0600, so no
        // other local user can replace the library before it is loaded.
        Path parent = Files.createTempDirectory("pcc-extract");
        try {
            byte[] bytes = "not really a library".getBytes(StandardCharsets.US_ASCII);
            Path file = NativeLibrary.extract(new ByteArrayInputStream(bytes), parent);
            assertArrayEquals(bytes, Files.readAllBytes(file));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            Path dir = file.getParent();
            assertNotEquals(parent, dir);
            assertEquals(parent, dir.getParent());
            assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
            // Two loads never share a file.
            Path other = NativeLibrary.extract(new ByteArrayInputStream(bytes), parent);
            assertNotEquals(file, other);
        } finally {
            try (var walk = Files.walk(parent)) {
                walk.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
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
