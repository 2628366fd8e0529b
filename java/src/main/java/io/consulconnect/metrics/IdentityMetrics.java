package io.consulconnect.metrics;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;

/**
 * One reading of a native identity's state, taken in a single native call.
 *
 * @param service the configured Consul service, else the service the current leaf names;
 *     empty when neither exists
 * @param spiffeId SPIFFE id of the leaf in service, empty before the first leaf
 * @param serial serial of the leaf in service (Consul's colon-hex form), empty before the first leaf
 * @param notBefore start of the leaf's validity
 * @param notAfter end of the leaf's validity
 * @param secondsToExpiry seconds until {@code notAfter} at the time of the reading: negative
 *     once expired, 0 without a leaf
 * @param inExpiryAlarm less than 10% of the leaf's lifetime is left (the renewal alarm), or
 *     it has expired
 * @param leafExpired whether the leaf in service has expired
 * @param generation generation of the current snapshot (0 before the first)
 * @param leafRotations leaf changes published after the first
 * @param rootsRotations roots changes published after the first
 * @param rootsCount number of CA roots in service
 * @param activeRootId id of the active root, empty before the first roots
 * @param lastSuccess when material was last fetched and accepted
 * @param lastError the most recent error, cleared by the next success
 * @param lastErrorAt when {@code lastError} happened
 * @param agentErrors failed agent requests since open, by endpoint ({@code leaf},
 *     {@code roots}, {@code authorize}, {@code intentions}), of the agent client this
 *     identity shares with its authorizer
 */
public record IdentityMetrics(
        Optional<String> service,
        Optional<String> spiffeId,
        Optional<String> serial,
        Optional<Instant> notBefore,
        Optional<Instant> notAfter,
        long secondsToExpiry,
        boolean inExpiryAlarm,
        boolean leafExpired,
        long generation,
        long leafRotations,
        long rootsRotations,
        int rootsCount,
        Optional<String> activeRootId,
        Optional<Instant> lastSuccess,
        Optional<String> lastError,
        Optional<Instant> lastErrorAt,
        Map<String, Long> agentErrors) {

    /**
     * Called by the native library (its {@code ffi/jni/protocol.rs}), which checks this
     * signature when it calls. Absent strings are null, absent times -1; the endpoint names
     * and counts are parallel arrays.
     */
    static IdentityMetrics fromNative(
            String service,
            String spiffeId,
            String serial,
            long notBeforeMillis,
            long notAfterMillis,
            long secondsToExpiry,
            boolean inExpiryAlarm,
            boolean leafExpired,
            long generation,
            long leafRotations,
            long rootsRotations,
            int rootsCount,
            String activeRootId,
            long lastSuccessMillis,
            String lastError,
            long lastErrorMillis,
            String[] agentEndpoints,
            long[] agentErrors) {
        return new IdentityMetrics(
                Optional.ofNullable(service),
                Optional.ofNullable(spiffeId),
                Optional.ofNullable(serial),
                time(notBeforeMillis),
                time(notAfterMillis),
                secondsToExpiry,
                inExpiryAlarm,
                leafExpired,
                generation,
                leafRotations,
                rootsRotations,
                rootsCount,
                Optional.ofNullable(activeRootId),
                time(lastSuccessMillis),
                Optional.ofNullable(lastError),
                time(lastErrorMillis),
                NativeCounters.of(agentEndpoints, agentErrors));
    }

    /**
     * Failed agent requests to one endpoint since open.
     *
     * @param endpoint {@code leaf}, {@code roots}, {@code authorize} or {@code intentions}
     * @return the count, 0 for an endpoint the native library did not report
     */
    public long agentErrors(String endpoint) {
        return agentErrors.getOrDefault(endpoint, 0L);
    }

    private static Optional<Instant> time(long millis) {
        return millis < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(millis));
    }
}
