/**
 * A JCA provider for Consul Connect mutual TLS in any JVM code: key and trust managers that
 * always hold the current Consul leaf and CA roots, checked through the Rust core.
 *
 * <ul>
 *   <li>{@link io.consulconnect.jca.ConnectSsl}: build a server or client
 *       {@code SSLContext} for a service in code;</li>
 *   <li>{@link io.consulconnect.jca.ConnectProvider}: the provider
 *       ({@code KeyManagerFactory}, {@code TrustManagerFactory}, {@code SSLContext}
 *       "ConsulConnect"), installed in code or through a {@code java.security} file;</li>
 *   <li>{@link io.consulconnect.jca.ConnectPeer}: who the verified peer of a session is.</li>
 * </ul>
 *
 * <p>Peers are identified by their SPIFFE id, not by host name: clients connect by address and
 * name the service they expect to reach.
 */
package io.consulconnect.jca;
