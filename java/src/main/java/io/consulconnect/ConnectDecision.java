package io.consulconnect;

/**
 * The full answer of one authorization: what was decided, why, and about whom. A deny is
 * an answer, not an exception. Built by the native core (the JNI bridge constructs it).
 *
 * @param allowed whether the client may connect
 * @param code {@code "allowed"}, or the deny reason's stable code (the same codes as
 *     {@link ConnectRefusal#code()}, e.g. {@code "denied"}, {@code "unknown-issuer"},
 *     {@code "malformed"})
 * @param reason human-readable reason: Consul's for an allow, the deny reason's message
 *     for a deny
 * @param consulReason Consul's own reason text when Consul decided; null otherwise
 * @param spiffeId the client's SPIFFE id when its chain verified; null otherwise
 * @param service the client's service identity when its chain verified; null otherwise
 * @param principal the Trino principal this client maps to when its chain verified
 *     (check {@code allowed} first); null otherwise
 * @param origin where the answer came from: {@code fresh}, {@code shared} (an identical
 *     request decided at the same time), {@code cache} or {@code stale-cache} (a cached
 *     allow served past its TTL while no decision can be had)
 */
public record ConnectDecision(
        boolean allowed,
        String code,
        String reason,
        String consulReason,
        String spiffeId,
        ServiceIdentity service,
        String principal,
        String origin) {}
