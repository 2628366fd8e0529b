package io.consulconnect.metrics;

/**
 * The state of one native identity: its leaf, roots, watcher health and agent errors.
 * Registered as {@code io.consulconnect:type=Identity,name=<service>}. Every read of an
 * attribute (other than {@code Handle}) is one native call; times are ISO-8601 instants in
 * UTC, and absent values are empty strings.
 */
public interface IdentityMXBean {
    /** @return the native handle these values are read from */
    long getHandle();

    /** @return the configured Consul service, else the current leaf's service, "" when neither */
    String getService();

    /** @return SPIFFE id of the leaf in service, "" before the first leaf */
    String getSpiffeId();

    /** @return serial of the leaf in service (colon-hex), "" before the first leaf */
    String getSerial();

    /** @return start of the leaf's validity, "" before the first leaf */
    String getNotBefore();

    /** @return end of the leaf's validity, "" before the first leaf */
    String getNotAfter();

    /** @return seconds until the leaf expires: negative once expired, 0 without a leaf */
    long getSecondsToExpiry();

    /** @return true when less than 10% of the leaf's lifetime is left, or it has expired */
    boolean isInExpiryAlarm();

    /** @return true when the leaf in service has expired */
    boolean isLeafExpired();

    /** @return generation of the current snapshot, 0 before the first */
    long getGeneration();

    /** @return leaf changes published after the first */
    long getLeafRotations();

    /** @return roots changes published after the first */
    long getRootsRotations();

    /** @return CA roots in service */
    int getRootsCount();

    /** @return id of the active root, "" before the first roots */
    String getActiveRootId();

    /** @return when material was last fetched and accepted, "" never */
    String getLastSuccess();

    /** @return seconds since {@link #getLastSuccess()}, -1 when never */
    long getLastSuccessAgeSeconds();

    /** @return the most recent error (cleared by the next success), "" when none */
    String getLastError();

    /** @return when {@link #getLastError()} happened, "" when none */
    String getLastErrorTime();

    /** @return failed agent requests for the leaf since open */
    long getAgentErrorsLeaf();

    /** @return failed agent requests for the roots since open */
    long getAgentErrorsRoots();

    /** @return failed agent authorize requests since open */
    long getAgentErrorsAuthorize();

    /** @return failed agent requests of the intentions watch since open */
    long getAgentErrorsIntentions();
}
