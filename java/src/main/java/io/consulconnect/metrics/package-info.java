/**
 * JMX metrics of the native identities: one {@link io.consulconnect.metrics.IdentityMXBean}
 * and one {@link io.consulconnect.metrics.AuthorizationMXBean} per open native identity, in
 * the platform MBean server as {@code io.consulconnect:type=Identity,name=<service>} and
 * {@code io.consulconnect:type=Authorization,name=<service>}.
 *
 * <p>Every attribute read is one native call: nothing is polled on a timer or cached here.
 * {@link io.consulconnect.identity.ConnectIdentity} registers the beans when it opens an
 * identity and removes them when the last reference to it is closed
 * ({@link io.consulconnect.metrics.MetricsRegistration}). Trino reads them through its
 * {@code jmx} connector, e.g. {@code SELECT * FROM jmx.current."io.consulconnect:type=identity,name=trino"}.
 */
package io.consulconnect.metrics;
