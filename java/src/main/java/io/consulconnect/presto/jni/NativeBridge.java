package io.consulconnect.presto.jni;

/**
 * The JNI entry points of the Rust core. Loading this class loads the native library.
 *
 * <p>Every method converts Rust errors into Java exceptions: invalid arguments become
 * {@link IllegalArgumentException}, everything else (agent failures, internal errors and
 * panics) becomes {@link io.consulconnect.presto.ConsulConnectException}. Nothing unwinds
 * across the JNI edge.
 */
public final class NativeBridge {
    static {
        NativeLibrary.load();
    }

    private NativeBridge() {}

    /**
     * The version of the native library, as written in its Cargo.toml.
     *
     * @return the crate version, e.g. {@code "0.1.0"}
     */
    public static native String version();

    /**
     * Splits a Consul service SPIFFE ID such as
     * {@code spiffe://<trust-domain>/ap/<partition>/ns/<namespace>/dc/<datacenter>/svc/<service>}
     * (the {@code /ap/<partition>} part is optional and defaults to {@code default}).
     *
     * @param uri the SPIFFE ID
     * @return {@code {trustDomain, partition, namespace, datacenter, service}}
     * @throws IllegalArgumentException if {@code uri} is null, not a SPIFFE ID, or not the ID
     *     of a Consul service (for example an agent ID); the message says which
     */
    public static native String[] parseServiceSpiffeId(String uri);

    /**
     * Panics inside Rust, for tests only: proves a panic surfaces as an exception and leaves
     * the JVM running.
     *
     * @param message text carried by the panic
     * @throws io.consulconnect.presto.ConsulConnectException always; its message contains
     *     {@code "panic"} and {@code message}
     */
    public static native void panicForTest(String message);
}
