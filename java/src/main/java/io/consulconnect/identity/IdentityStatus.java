package io.consulconnect.identity;

import java.time.Instant;
import java.util.Optional;

/**
 * Health of the identity watchers.
 *
 * @param generation generation of the current snapshot (0 before the first)
 * @param lastSuccess when material was last fetched and accepted
 * @param lastError the most recent error, cleared by the next success
 * @param lastErrorAt when {@code lastError} happened
 * @param nextExpiry end of validity of the current leaf
 * @param leafRotations leaf changes published after the first
 * @param rootsRotations roots changes published after the first
 * @param leafExpired whether the leaf in service has expired
 */
public record IdentityStatus(
        long generation,
        Optional<Instant> lastSuccess,
        Optional<String> lastError,
        Optional<Instant> lastErrorAt,
        Optional<Instant> nextExpiry,
        long leafRotations,
        long rootsRotations,
        boolean leafExpired) {

    /**
     * Called by the native library (its {@code ffi/jni/protocol.rs}), which checks this
     * signature when it calls. Absent times are -1, an absent error is null.
     */
    static IdentityStatus fromNative(
            long generation,
            long lastSuccessMillis,
            String lastError,
            long lastErrorMillis,
            long nextExpiryMillis,
            long leafRotations,
            long rootsRotations,
            boolean leafExpired) {
        return new IdentityStatus(
                generation,
                time(lastSuccessMillis),
                Optional.ofNullable(lastError),
                time(lastErrorMillis),
                time(nextExpiryMillis),
                leafRotations,
                rootsRotations,
                leafExpired);
    }

    private static Optional<Instant> time(long millis) {
        return millis < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(millis));
    }
}
