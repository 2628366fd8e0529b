package io.consulconnect.jni;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.channels.Channels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.CodeSource;
import java.util.EnumSet;
import java.util.Locale;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * Loads the bundled {@code consul_connect} native library, once per JVM where it can.
 *
 * <p>The library ships inside the jar as {@code /native/<platform>/libconsul_connect.so}.
 * The JVM binds a loaded library to one class loader, and Trino gives every plugin its own.
 * When this jar is also on the system class path (the JVM-level part,
 * {@code -javaagent:presto-consul-connect.jar}), a copy of these classes in another class
 * loader does not load a second library: it asks the system class loader's copy to bind its
 * {@code native} methods to the library already loaded there (JNI {@code RegisterNatives}),
 * so the whole JVM has one handle registry and each identity one set of watchers. Otherwise
 * each load extracts the library to its own private temporary file (mode 0600, in a new
 * directory of mode 0700)
 * and loads that file.
 *
 * <p>For development, the system property {@value #OVERRIDE_PROPERTY} may name an absolute
 * path to a library to load instead of the bundled one.
 */
public final class NativeLibrary {
    /** System property naming an absolute path to load instead of the bundled library. */
    public static final String OVERRIDE_PROPERTY = "consulconnect.native.library";

    static final String LIBRARY_FILE_NAME = "libconsul_connect.so";

    private static boolean loaded;
    /** True when this copy's natives are bound to the system class loader's library. */
    private static boolean shared;

    private NativeLibrary() {}

    /**
     * Whether this class loader's bridge classes use the library of the system class
     * loader's copy of this jar (see the class comment).
     *
     * @return true when shared; false when this copy loaded a library of its own
     */
    public static synchronized boolean isShared() {
        load();
        return shared;
    }

    /**
     * Binds the {@code native} methods of another class loader's copy of the bridge classes
     * to the library this copy loaded. Called through reflection by {@link #load()} of that
     * copy; not for other callers.
     *
     * @param nativeBridge the other copy's {@code NativeBridge} class
     * @param tlsBridge the other copy's {@code TlsBridge} class
     * @throws UnsatisfiedLinkError if the classes do not match this library's methods
     */
    public static void shareWith(Class<?> nativeBridge, Class<?> tlsBridge) {
        load();
        registerNatives(nativeBridge, tlsBridge);
    }

    private static native void registerNatives(Class<?> nativeBridge, Class<?> tlsBridge);

    /**
     * Loads the native library if this class loader has not loaded it yet.
     *
     * @throws UnsatisfiedLinkError if there is no library for this platform or it cannot be loaded
     */
    public static synchronized void load() {
        if (loaded) {
            return;
        }
        String override = System.getProperty(OVERRIDE_PROPERTY);
        if (shareSystemCopy()) {
            shared = true;
        } else if (override != null && !override.isBlank()) {
            System.load(override);
        } else {
            loadBundled();
        }
        loaded = true;
    }

    /**
     * Binds this copy's natives to the system class loader's library, when the system class
     * loader has a copy of this jar of the same version and this class is not that copy.
     *
     * @return true when bound; false when this copy must load a library of its own
     */
    private static boolean shareSystemCopy() {
        ClassLoader system = ClassLoader.getSystemClassLoader();
        if (NativeLibrary.class.getClassLoader() == system) {
            return false;
        }
        Class<?> systemCopy;
        try {
            systemCopy = Class.forName(NativeLibrary.class.getName(), false, system);
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
        if (systemCopy == NativeLibrary.class || !sameVersion(systemCopy)) {
            return false;
        }
        try {
            Method share = systemCopy.getMethod("shareWith", Class.class, Class.class);
            share.invoke(null, NativeBridge.class, TlsBridge.class);
            return true;
        } catch (InvocationTargetException e) {
            throw linkError("Could not bind to the consul_connect native library of the system class loader",
                    e.getCause());
        } catch (ReflectiveOperationException e) {
            throw linkError("Could not bind to the consul_connect native library of the system class loader", e);
        }
    }

    /**
     * Same jar version (both absent counts as the same: a build without a manifest). Read
     * from the manifest of the jar each class came from, not from its {@link Package}: a
     * package is defined by whichever class of it a loader loads first, which may come from
     * another class path entry without a manifest.
     */
    private static boolean sameVersion(Class<?> systemCopy) {
        String ours = jarVersion(NativeLibrary.class);
        String theirs = jarVersion(systemCopy);
        return ours == null ? theirs == null : ours.equals(theirs);
    }

    /** {@code Implementation-Version} of the jar a class was loaded from; null if none. */
    private static String jarVersion(Class<?> c) {
        CodeSource source = c.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
            return null;
        }
        try (JarFile jar = new JarFile(new File(source.getLocation().toURI()))) {
            Manifest manifest = jar.getManifest();
            return manifest == null ? null : manifest.getMainAttributes().getValue(Attributes.Name.IMPLEMENTATION_VERSION);
        } catch (IOException | URISyntaxException | IllegalArgumentException e) {
            return null; // a directory or something else that is not a jar
        }
    }

    private static void loadBundled() {
        String osName = System.getProperty("os.name");
        String osArch = System.getProperty("os.arch");
        String resource = resourcePath(platform(osName, osArch));
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("The consul_connect native library for os.name="
                        + osName + ", os.arch=" + osArch + " is missing: resource " + resource
                        + " is not on the class path (set -D" + OVERRIDE_PROPERTY
                        + "=<absolute path> to load a library built elsewhere)");
            }
            Path file = extract(in, Path.of(System.getProperty("java.io.tmpdir")));
            try {
                System.load(file.toAbsolutePath().toString());
            } finally {
                // Once mapped, the file is no longer needed; on Linux this leaves nothing
                // behind even if the JVM is killed. deleteOnExit covers a failed delete.
                for (Path p : new Path[] {file, file.getParent()}) {
                    if (!deleteQuietly(p)) {
                        p.toFile().deleteOnExit();
                    }
                }
            }
        } catch (IOException e) {
            throw linkError("Could not extract the consul_connect native library " + resource
                    + " to a temporary file in " + System.getProperty("java.io.tmpdir"), e);
        }
    }

    /**
     * Writes the library to a new file only this user can reach: a fresh directory with
     * owner-only permissions (0700) holding a file created with 0600 and written through
     * the very handle that created it, so no other local user can swap the file between
     * writing and {@code System.load}.
     *
     * @param in the library's bytes
     * @param parent where to create the private directory (the JVM's temporary directory)
     * @return the written file
     * @throws IOException when it cannot be written
     */
    static Path extract(InputStream in, Path parent) throws IOException {
        Path dir = Files.createTempDirectory(parent, "consul_connect-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path file = dir.resolve(LIBRARY_FILE_NAME);
        try (OutputStream out = Channels.newOutputStream(Files.newByteChannel(file,
                EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"))))) {
            in.transferTo(out);
            return file;
        } catch (IOException | RuntimeException e) {
            deleteQuietly(file);
            deleteQuietly(dir);
            throw e;
        }
    }

    private static boolean deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static UnsatisfiedLinkError linkError(String message, Throwable cause) {
        UnsatisfiedLinkError error = new UnsatisfiedLinkError(message + ": " + cause);
        error.initCause(cause);
        return error;
    }

    /**
     * The platform folder holding the library for a JVM reporting these properties.
     *
     * @param osName the {@code os.name} system property
     * @param osArch the {@code os.arch} system property
     * @return {@code linux-x86_64} or {@code linux-aarch64}
     * @throws UnsatisfiedLinkError if no library is built for this platform
     */
    static String platform(String osName, String osArch) {
        String os = osName == null ? "" : osName.toLowerCase(Locale.ROOT);
        String arch = osArch == null ? "" : osArch.toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            if (arch.equals("amd64") || arch.equals("x86_64")) {
                return "linux-x86_64";
            }
            if (arch.equals("aarch64")) {
                return "linux-aarch64";
            }
        }
        throw new UnsatisfiedLinkError("No consul_connect native library is built for os.name="
                + osName + ", os.arch=" + osArch + " (supported: linux-x86_64, linux-aarch64;"
                + " set -D" + OVERRIDE_PROPERTY + "=<absolute path> to load your own build)");
    }

    /** The class path resource holding the library for a platform folder. */
    static String resourcePath(String platform) {
        return "/native/" + platform + "/" + LIBRARY_FILE_NAME;
    }
}
