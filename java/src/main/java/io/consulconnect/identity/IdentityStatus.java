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

    static IdentityStatus fromNative(Object[] raw) {
        return new IdentityStatus(
                (Long) raw[0],
                time((Long) raw[1]),
                Optional.ofNullable((String) raw[2]),
                time((Long) raw[3]),
                time((Long) raw[4]),
                (Long) raw[5],
                (Long) raw[6],
                (Boolean) raw[7]);
    }

    private static Optional<Instant> time(long millis) {
        return millis < 0 ? Optional.empty() : Optional.of(Instant.ofEpochMilli(millis));
    }
}
