package io.consulconnect.metrics;

import io.consulconnect.jni.NativeBridge;
import java.time.Instant;
import java.util.Optional;

/** {@link IdentityMXBean} of one native handle: each getter reads the core once. */
final class IdentityBean implements IdentityMXBean {
    private final long handle;

    IdentityBean(long handle) {
        this.handle = handle;
    }

    private IdentityMetrics read() {
        return NativeBridge.identityMetrics(handle);
    }

    @Override
    public long getHandle() {
        return handle;
    }

    @Override
    public String getService() {
        return read().service().orElse("");
    }

    @Override
    public String getSpiffeId() {
        return read().spiffeId().orElse("");
    }

    @Override
    public String getSerial() {
        return read().serial().orElse("");
    }

    @Override
    public String getNotBefore() {
        return text(read().notBefore());
    }

    @Override
    public String getNotAfter() {
        return text(read().notAfter());
    }

    @Override
    public long getSecondsToExpiry() {
        return read().secondsToExpiry();
    }

    @Override
    public boolean isInExpiryAlarm() {
        return read().inExpiryAlarm();
    }

    @Override
    public boolean isLeafExpired() {
        return read().leafExpired();
    }

    @Override
    public long getGeneration() {
        return read().generation();
    }

    @Override
    public long getLeafRotations() {
        return read().leafRotations();
    }

    @Override
    public long getRootsRotations() {
        return read().rootsRotations();
    }

    @Override
    public int getRootsCount() {
        return read().rootsCount();
    }

    @Override
    public String getActiveRootId() {
        return read().activeRootId().orElse("");
    }

    @Override
    public String getLastSuccess() {
        return text(read().lastSuccess());
    }

    @Override
    public long getLastSuccessAgeSeconds() {
        return read().lastSuccess()
                .map(t -> Math.max(0, (System.currentTimeMillis() - t.toEpochMilli()) / 1000))
                .orElse(-1L);
    }

    @Override
    public String getLastError() {
        return read().lastError().orElse("");
    }

    @Override
    public String getLastErrorTime() {
        return text(read().lastErrorAt());
    }

    @Override
    public long getAgentErrorsLeaf() {
        return read().agentErrors("leaf");
    }

    @Override
    public long getAgentErrorsRoots() {
        return read().agentErrors("roots");
    }

    @Override
    public long getAgentErrorsAuthorize() {
        return read().agentErrors("authorize");
    }

    @Override
    public long getAgentErrorsIntentions() {
        return read().agentErrors("intentions");
    }

    private static String text(Optional<Instant> time) {
        return time.map(Instant::toString).orElse("");
    }
}
