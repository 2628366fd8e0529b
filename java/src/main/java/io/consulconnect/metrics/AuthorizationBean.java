package io.consulconnect.metrics;

import io.consulconnect.jni.NativeBridge;
import java.util.Map;

/** {@link AuthorizationMXBean} of one native handle: each getter reads the core once. */
final class AuthorizationBean implements AuthorizationMXBean {
    private final long handle;

    AuthorizationBean(long handle) {
        this.handle = handle;
    }

    private AuthorizationMetrics read() {
        return NativeBridge.authorizationMetrics(handle);
    }

    @Override
    public long getHandle() {
        return handle;
    }

    @Override
    public boolean isStarted() {
        return read().started();
    }

    @Override
    public String getTarget() {
        return read().target().orElse("");
    }

    @Override
    public String getDecisionSource() {
        return read().decisionSource().orElse("");
    }

    @Override
    public long getAllowed() {
        return read().allowed();
    }

    @Override
    public long getDenied() {
        return read().denied();
    }

    @Override
    public Map<String, Long> getDeniedByReason() {
        return read().deniedByCode();
    }

    @Override
    public long getDeniedByIntention() {
        return read().deniedByIntention();
    }

    @Override
    public long getDeniedAgentUnavailable() {
        return read().deniedAgentUnavailable();
    }

    @Override
    public long getDeniedCertificate() {
        return read().deniedCertificate();
    }

    @Override
    public long getCacheHits() {
        return read().cacheHits();
    }

    @Override
    public long getCacheMisses() {
        return read().cacheMisses();
    }

    @Override
    public long getCacheSize() {
        return read().cacheSize();
    }

    @Override
    public long getCacheCapacity() {
        return read().cacheCapacity();
    }

    @Override
    public long getCacheEvictions() {
        return read().cacheEvictions();
    }

    @Override
    public long getStaleAllowsServed() {
        return read().staleAllowsServed();
    }

    @Override
    public long getIntentionsEpoch() {
        return read().intentionsEpoch();
    }

    @Override
    public String getIntentionsWatchError() {
        return read().intentionsWatchError().orElse("");
    }

    @Override
    public long getAgentCalls() {
        return read().agentCalls();
    }

    @Override
    public long getAgentCallErrors() {
        return read().agentCallErrors();
    }

    @Override
    public long getAgentCallLatencyP50Micros() {
        return read().latencyP50Micros();
    }

    @Override
    public long getAgentCallLatencyP90Micros() {
        return read().latencyP90Micros();
    }

    @Override
    public long getAgentCallLatencyP99Micros() {
        return read().latencyP99Micros();
    }

    @Override
    public long getAgentCallLatencyMaxMicros() {
        return read().latencyMaxMicros();
    }
}
