package io.consulconnect;

/**
 * A failure inside the Consul Connect core: the local Consul agent could not be reached or
 * answered unexpectedly, or the native library hit an internal error (including a Rust panic,
 * which never crosses the JNI edge as anything else).
 *
 * <p>Invalid arguments are reported as {@link IllegalArgumentException} instead; this type is
 * for conditions the caller did not cause.
 */
public class ConnectFailureException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception; native code calls this constructor.
     *
     * @param message what failed, written for a Trino operator
     */
    public ConnectFailureException(String message) {
        super(message);
    }
}
