package io.consulconnect.metrics;

import java.util.Map;

/**
 * The authorizer of one native identity: decisions, decision cache, intentions watch and
 * the agent calls behind them. Registered as
 * {@code io.consulconnect:type=Authorization,name=<service>}. Every read of an attribute
 * (other than {@code Handle}) is one native call and never starts the authorizer: until it
 * runs, {@code Started} is false and every count 0. Counts are since the identity was opened.
 */
public interface AuthorizationMXBean {
    /** @return the native handle these values are read from */
    long getHandle();

    /** @return whether the authorizer runs */
    boolean isStarted();

    /** @return the service clients are authorized for, "" when not started */
    String getTarget();

    /** @return who decides for a client not in the cache: "agent" or "local", "" when not started */
    String getDecisionSource();

    /** @return allow answers (cache hits included) */
    long getAllowed();

    /** @return deny answers (cache hits included) */
    long getDenied();

    /** @return deny answers by reason code, every code (zeros included) */
    Map<String, Long> getDeniedByReason();

    /** @return denies by Consul's intentions (codes denied, intention-has-http-permissions) */
    long getDeniedByIntention();

    /** @return denies for lack of an answer from the agent (code agent-unavailable) */
    long getDeniedAgentUnavailable();

    /** @return denies of the presented certificates (every other code) */
    long getDeniedCertificate();

    /** @return answers served from the decision cache */
    long getCacheHits();

    /** @return answers not served from the cache */
    long getCacheMisses();

    /** @return decisions cached now */
    long getCacheSize();

    /** @return most decisions the cache holds */
    long getCacheCapacity();

    /** @return decisions evicted for room */
    long getCacheEvictions();

    /** @return cached allows served past their TTL while the agent could not answer */
    long getStaleAllowsServed();

    /** @return the invalidation epoch: grows with every intentions change */
    long getIntentionsEpoch();

    /** @return the intentions watch's error, "" while it is fine */
    String getIntentionsWatchError();

    /** @return authorize calls to the agent */
    long getAgentCalls();

    /** @return authorize calls to the agent that failed */
    long getAgentCallErrors();

    /** @return median latency of the agent's authorize calls, microseconds (0 when none) */
    long getAgentCallLatencyP50Micros();

    /** @return 90th percentile of that latency, microseconds */
    long getAgentCallLatencyP90Micros();

    /** @return 99th percentile of that latency, microseconds */
    long getAgentCallLatencyP99Micros();

    /** @return slowest agent authorize call, microseconds */
    long getAgentCallLatencyMaxMicros();
}
