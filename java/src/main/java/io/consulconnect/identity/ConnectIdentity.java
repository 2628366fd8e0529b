package io.consulconnect.identity;

import io.consulconnect.jni.NativeBridge;
import io.consulconnect.jni.NativeLog;
import io.consulconnect.metrics.MetricsRegistration;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A live Consul Connect identity held by the native core: the leaf and roots it watches,
 * kept current across rotations. Opening the same properties twice in one JVM shares one
 * set of native watchers; each instance must be closed once.
 *
 * <p>Each native identity has JMX metrics beans ({@code io.consulconnect:type=Identity,...}
 * and {@code type=Authorization}, see {@link MetricsRegistration}) from its first open until
 * its last close.
 */
public final class ConnectIdentity implements AutoCloseable {
    /**
     * Orders opening and closing with the (un)registration of their beans, so that a close
     * dropping the last reference unregisters before an open of the same service registers.
     */
    private static final Object LIFECYCLE = new Object();

    private final long handle;
    private final AtomicBoolean closed = new AtomicBoolean();

    private ConnectIdentity(long handle) {
        this.handle = handle;
    }

    /**
     * Starts (or joins) the watchers for these properties and registers their metrics
     * beans (a failure to register is logged, never thrown). Returns at once.
     *
     * @param properties {@code consul.*} settings; Consul's environment variables fill in
     *     what is not set
     * @return the identity
     * @throws IllegalArgumentException for an unknown key or a malformed value
     */
    public static ConnectIdentity open(Map<String, String> properties) {
        Objects.requireNonNull(properties, "properties");
        String[] keys = new String[properties.size()];
        String[] values = new String[properties.size()];
        int i = 0;
        for (Map.Entry<String, String> e : properties.entrySet()) {
            keys[i] = e.getKey();
            values[i] = e.getValue();
            i++;
        }
        // The native core's log lines go to java.util.logging from the first identity on.
        NativeLog.start();
        synchronized (LIFECYCLE) {
            long handle = NativeBridge.open(keys, values);
            MetricsRegistration.register(handle, properties.get("consul.service"));
            return new ConnectIdentity(handle);
        }
    }

    /**
     * Waits for the first snapshot. Returns its generation, not the snapshot: a snapshot
     * carries a copy of the private key, which its holder must
     * {@linkplain IdentitySnapshot#destroyKey() zero}; callers that only wait must not get one
     * to drop.
     *
     * @param timeout how long to wait
     * @return the generation of the first snapshot
     * @throws io.consulconnect.ConnectFailureException on timeout, with the last error
     */
    public long awaitReady(Duration timeout) {
        return NativeBridge.waitReady(handle(), timeout.toMillis());
    }

    /**
     * Generation of the current snapshot; one atomic read in native code.
     *
     * @return the generation, 0 before the first snapshot
     */
    public long generation() {
        return NativeBridge.generation(handle());
    }

    /**
     * The current snapshot.
     *
     * @return the snapshot, empty before the first one
     */
    public Optional<IdentitySnapshot> snapshot() {
        return Optional.ofNullable(NativeBridge.snapshot(handle()));
    }

    /**
     * Watcher health.
     *
     * @return the status
     */
    public IdentityStatus status() {
        return NativeBridge.status(handle());
    }

    /**
     * The native handle, for other classes of this plugin that call the bridge directly.
     *
     * @return the handle
     * @throws IllegalStateException once closed
     */
    public long handle() {
        if (closed.get()) {
            throw new IllegalStateException("identity is closed");
        }
        return handle;
    }

    /**
     * Releases this reference; the last one stops the native watchers and unregisters the
     * metrics beans. Idempotent.
     */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            synchronized (LIFECYCLE) {
                if (NativeBridge.close(handle) == 0) {
                    MetricsRegistration.unregister(handle);
                }
            }
        }
    }
}
