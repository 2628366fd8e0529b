package io.consulconnect.metrics;

import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * One reading of a native identity's authorizer, taken in a single native call. Before the
 * authorizer runs (reading never starts it) {@code started} is false and every count is 0.
 *
 * @param started whether the authorizer (decision cache and intentions watch) runs
 * @param target the service clients are authorized for, empty when not started
 * @param decisionSource who decides for a client not in the cache: {@code agent} (the agent's
 *     authorize endpoint) or {@code local} (intentions evaluated in process), as
 *     {@code consul.authz.decisions} says; empty when not started
 * @param allowed allow answers of authorize calls (cache hits included)
 * @param denied deny answers of authorize calls (cache hits included)
 * @param deniedByCode deny answers by reason code: every code, in the native library's fixed
 *     order, zeros included
 * @param cacheHits answers served from the decision cache
 * @param cacheMisses answers that were not ({@code cacheHits + cacheMisses} = answers)
 * @param cacheSize decisions cached now
 * @param cacheCapacity most decisions the cache holds
 * @param cacheEvictions decisions evicted for room
 * @param staleAllowsServed cached allows served past their TTL while the agent could not answer
 * @param intentionsEpoch the invalidation epoch: grows with every intentions change
 * @param intentionsWatchError the intentions watch's error, empty while it is fine
 * @param agentCalls authorize calls to the agent (the decision source)
 * @param agentCallErrors those that failed
 * @param latencyP50Micros median latency of those calls since open, microseconds (0 when none)
 * @param latencyP90Micros 90th percentile
 * @param latencyP99Micros 99th percentile
 * @param latencyMaxMicros slowest
 */
public record AuthorizationMetrics(
        boolean started,
        Optional<String> target,
        Optional<String> decisionSource,
        long allowed,
        long denied,
        Map<String, Long> deniedByCode,
        long cacheHits,
        long cacheMisses,
        long cacheSize,
        long cacheCapacity,
        long cacheEvictions,
        long staleAllowsServed,
        long intentionsEpoch,
        Optional<String> intentionsWatchError,
        long agentCalls,
        long agentCallErrors,
        long latencyP50Micros,
        long latencyP90Micros,
        long latencyP99Micros,
        long latencyMaxMicros) {

    /** Codes of a deny by Consul's intentions. */
    private static final Set<String> INTENTION_CODES = Set.of("denied", "intention-has-http-permissions");
    /** Code of a deny for lack of an answer from the agent. */
    private static final String AGENT_UNAVAILABLE = "agent-unavailable";

    /**
     * Called by the native library (its {@code ffi/jni/protocol.rs}), which checks this
     * signature when it calls. An absent string is null; codes and counts are parallel arrays.
     */
    static AuthorizationMetrics fromNative(
            boolean started,
            String target,
            String decisionSource,
            long allowed,
            long denied,
            String[] denyCodes,
            long[] deniedByCode,
            long cacheHits,
            long cacheMisses,
            long cacheSize,
            long cacheCapacity,
            long cacheEvictions,
            long staleAllowsServed,
            long intentionsEpoch,
            String intentionsWatchError,
            long agentCalls,
            long agentCallErrors,
            long latencyP50Micros,
            long latencyP90Micros,
            long latencyP99Micros,
            long latencyMaxMicros) {
        return new AuthorizationMetrics(
                started,
                Optional.ofNullable(target),
                Optional.ofNullable(decisionSource),
                allowed,
                denied,
                NativeCounters.of(denyCodes, deniedByCode),
                cacheHits,
                cacheMisses,
                cacheSize,
                cacheCapacity,
                cacheEvictions,
                staleAllowsServed,
                intentionsEpoch,
                Optional.ofNullable(intentionsWatchError),
                agentCalls,
                agentCallErrors,
                latencyP50Micros,
                latencyP90Micros,
                latencyP99Micros,
                latencyMaxMicros);
    }

    /**
     * Denies by Consul's intentions: codes {@code denied} and
     * {@code intention-has-http-permissions}.
     *
     * @return their sum
     */
    public long deniedByIntention() {
        return sum(code -> INTENTION_CODES.contains(code));
    }

    /**
     * Denies for lack of an answer from the agent (code {@code agent-unavailable}).
     *
     * @return the count
     */
    public long deniedAgentUnavailable() {
        return deniedByCode.getOrDefault(AGENT_UNAVAILABLE, 0L);
    }

    /**
     * Denies of the presented certificates themselves: every code but the intention and
     * agent ones (unknown issuer, expired, malformed, ...).
     *
     * @return their sum
     */
    public long deniedCertificate() {
        return sum(code -> !INTENTION_CODES.contains(code) && !code.equals(AGENT_UNAVAILABLE));
    }

    private long sum(java.util.function.Predicate<String> codes) {
        long total = 0;
        for (Map.Entry<String, Long> e : deniedByCode.entrySet()) {
            if (codes.test(e.getKey())) {
                total += e.getValue();
            }
        }
        return total;
    }
}
