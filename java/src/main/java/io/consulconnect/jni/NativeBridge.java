package io.consulconnect.jni;

import io.consulconnect.ConnectAnswer;
import io.consulconnect.ConnectDecision;
import io.consulconnect.ServiceIdentity;
import io.consulconnect.identity.IdentitySnapshot;
import io.consulconnect.identity.IdentityStatus;
import io.consulconnect.metrics.AuthorizationMetrics;
import io.consulconnect.metrics.IdentityMetrics;

/**
 * The JNI entry points of the Rust core. Loading this class loads the native library.
 *
 * <p>Every method converts Rust errors into Java exceptions: invalid arguments become
 * {@link IllegalArgumentException}, everything else (agent failures, internal errors and
 * panics) becomes {@link io.consulconnect.ConnectFailureException}. Nothing unwinds
 * across the JNI edge. Results with several fields are Java objects the native code
 * builds (its {@code ffi/jni/protocol.rs}), never arrays read by position.
 */
public final class NativeBridge {
    static {
        NativeLibrary.load();
    }

    /**
     * This copy's token: the native core keeps the Java answer it builds for a decision for
     * the copy of these classes (one per class loader) that asked, and hands it only to that
     * copy.
     */
    private static final long BRIDGE = bridgeToken();

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
     * @return the service identity it names
     * @throws IllegalArgumentException if {@code uri} is null, not a SPIFFE ID, or not the ID
     *     of a Consul service (for example an agent ID); the message says which
     */
    public static native ServiceIdentity parseServiceSpiffeId(String uri);

    /**
     * Parses a duration setting with the core's grammar, the one every duration setting
     * uses: a decimal number and a unit ({@code 500ms}, {@code 10s}, {@code 1.5m},
     * {@code 2h}, {@code 1d}) or a compound form ({@code 1h 30m}); at most 365 days.
     *
     * @param key the setting's name, for the message
     * @param value the text
     * @param allowZero whether zero is a valid value
     * @return the duration in milliseconds
     * @throws IllegalArgumentException naming {@code key} when {@code value} is not a
     *     duration, is zero (unless allowed) or is too long
     */
    public static native long parseDuration(String key, String value, boolean allowZero);

    /**
     * Parses a boolean setting with the core's grammar: {@code true} or {@code false}, any
     * case.
     *
     * @param key the setting's name, for the message
     * @param value the text
     * @return the value
     * @throws IllegalArgumentException naming {@code key} otherwise
     */
    public static native boolean parseFlag(String key, String value);

    /**
     * The documented default of a {@code consul.*} setting, from the core (the one place
     * defaults are kept).
     *
     * @param key the setting, e.g. {@code consul.authz.cache-ttl}
     * @return its default, or null when it has none
     */
    public static native String settingDefault(String key);

    /**
     * Opens the identity configured by these properties (plus Consul's environment
     * variables), or shares the one already open with exactly the same properties.
     *
     * @param keys property names ({@code consul.*})
     * @param values property values, parallel to {@code keys}
     * @return a handle for the other calls; release it with {@link #close(long)}
     * @throws IllegalArgumentException for an unknown key or malformed value (named in the
     *     message)
     */
    public static native long open(String[] keys, String[] values);

    /**
     * Releases one reference to a handle; the last one stops its watchers.
     *
     * @param handle from {@link #open}
     * @return the references to the native identity still open after this one (from any
     *     class loader); 0 when the identity is gone
     * @throws IllegalArgumentException for a handle that is not open
     */
    public static native int close(long handle);

    /**
     * Generation of the current snapshot: one atomic read, cheap enough for every handshake.
     *
     * @param handle from {@link #open}
     * @return the generation, 0 before the first snapshot
     */
    public static native long generation(long handle);

    /**
     * The authorizer's invalidation epoch: it grows with every change of the intentions for
     * the target (and every explicit invalidation). One atomic read; it never starts the
     * authorizer.
     *
     * @param handle from {@link #open}
     * @return the epoch, 0 while no authorizer runs for this handle
     */
    public static native long decisionEpoch(long handle);

    /**
     * Waits until the first snapshot exists.
     *
     * @param handle from {@link #open}
     * @param timeoutMillis how long to wait
     * @return the generation of the snapshot
     * @throws io.consulconnect.ConnectFailureException on timeout, carrying the last
     *     error (agent unreachable, ACL denied, ...)
     */
    public static native long waitReady(long handle, long timeoutMillis);

    /**
     * The current snapshot. The caller owns its key bytes and should
     * {@linkplain IdentitySnapshot#destroyKey() zero} them once used.
     *
     * @param handle from {@link #open}
     * @return the snapshot, or null before the first one
     */
    public static native IdentitySnapshot snapshot(long handle);

    /**
     * Watcher status.
     *
     * @param handle from {@link #open}
     * @return the status
     */
    public static native IdentityStatus status(long handle);

    /**
     * Everything the identity's JMX bean shows, read in one call (the expiry countdown is
     * computed at the call).
     *
     * @param handle from {@link #open}
     * @return the reading
     * @throws IllegalArgumentException for a handle that is not open
     */
    public static native IdentityMetrics identityMetrics(long handle);

    /**
     * Everything the authorization JMX bean shows, read in one call. Never starts the
     * authorizer: before it runs, the reading says not started and every count is 0.
     *
     * @param handle from {@link #open}
     * @return the reading
     * @throws IllegalArgumentException for a handle that is not open
     */
    public static native AuthorizationMetrics authorizationMetrics(long handle);

    /**
     * Verifies a client chain against the current Consul roots and authorizes it for the
     * configured target service (decisions are cached). The authenticator's hot path.
     *
     * @param handle from {@link #open}
     * @param chain DER certificates, the client's leaf first
     * @return the principal (service name or SPIFFE ID, per {@code consul.authz.principal})
     * @throws io.consulconnect.ConnectAccessDeniedException when the client is denied,
     *     with the reason's code; an empty, oversized or unparsable chain is denied like
     *     any other (codes {@code empty-chain}, {@code chain-too-long}, {@code malformed})
     * @throws IllegalArgumentException for a null array or a null element (a caller bug)
     */
    public static native String authorize(long handle, byte[][] chain);

    /**
     * The Trino authenticator's call: verifies and authorizes a client chain like
     * {@link #authorize}, but a refusal is an answer, not an exception, and a cached decision
     * is answered with the same (immutable) object every time: no allocation, no exception.
     *
     * @param handle from {@link #open}
     * @param chain DER certificates, the client's leaf first
     * @return the user ({@code consul.authz.principal}) and groups ({@code consul.authz.groups})
     *     of an allowed client, or the refusal's code and reason
     * @throws IllegalArgumentException for a null array or element
     */
    public static ConnectAnswer authenticate(long handle, byte[][] chain) {
        return authenticate0(handle, null, chain, BRIDGE);
    }

    /**
     * {@link #authenticate(long, byte[][])} for a chain of one certificate, the usual chain
     * of a Connect client (two JNI calls fewer).
     *
     * @param handle from {@link #open}
     * @param certificate the client's DER certificate
     * @return as {@link #authenticate(long, byte[][])}
     * @throws IllegalArgumentException for a null certificate
     */
    public static ConnectAnswer authenticate(long handle, byte[] certificate) {
        if (certificate == null) {
            throw new IllegalArgumentException("certificate 0 of the chain is null");
        }
        return authenticate0(handle, certificate, null, BRIDGE);
    }

    /** Reads {@code certificate} when not null, else {@code chain}. */
    private static native ConnectAnswer authenticate0(long handle, byte[] certificate, byte[][] chain, long bridge);

    /** A number unique to this copy of the class (see {@code authenticate0}). */
    private static native long bridgeToken();

    /**
     * The full authorization answer. Does not throw on a deny.
     *
     * @param handle from {@link #open}
     * @param chain DER certificates, the client's leaf first
     * @param target service to authorize for; null means the configured target (cached),
     *     an explicit target is always asked fresh
     * @return the decision; a deny (an unusable chain included) is an answer, not an
     *     exception
     * @throws IllegalArgumentException for a null array or element, or a {@code target}
     *     that is not a service name
     */
    public static native ConnectDecision authorizeDetailed(long handle, byte[][] chain, String target);

    /**
     * Starts authorization for a handle now (decision cache and intentions watch), so a
     * configuration without a target service fails at start.
     *
     * @param handle from {@link #open}
     * @throws IllegalArgumentException if no target service is configured
     */
    public static native void startAuthorization(long handle);

    /**
     * The log bridge (see {@link NativeLog}, its only caller): installs the native core's
     * logger on the first call (never at library load), sets the native level, waits up to
     * {@code waitMillis} for a log record and returns the queued records (at most a bounded
     * batch, plus one WARN line saying how many were dropped when the native queue was full).
     * Each record is {@code <level>\t<target>\t<message>}: {@code level} one digit,
     * 1 error, 2 warn, 3 info, 4 debug, 5 trace; {@code target} the Rust module path (no
     * tabs); {@code message} the rest (may contain tabs and control characters: escape it
     * before logging).
     *
     * @param maxLevel the most verbose native level kept: 0 off, 1 error, 2 warn, 3 info,
     *     4 debug, 5 trace
     * @param waitMillis how long to wait for a record when none is queued
     * @return the records, empty when none came in time
     * @throws IllegalArgumentException for a level out of range or a negative wait
     */
    public static native String[] drainLog(int maxLevel, long waitMillis);
}
