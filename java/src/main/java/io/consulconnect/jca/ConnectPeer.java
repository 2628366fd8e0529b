package io.consulconnect.jca;

import java.util.Optional;
import javax.net.ssl.SSLSession;

/**
 * The Connect identity of a TLS peer, as verified by {@link ConnectTrustManager} (the native
 * core builds it with this constructor).
 *
 * @param spiffeId canonical SPIFFE id, e.g. {@code spiffe://<td>/ns/default/dc/dc1/svc/web}
 * @param trustDomain SPIFFE trust domain
 * @param partition admin partition ({@code default} on Consul CE)
 * @param namespace namespace ({@code default} on Consul CE)
 * @param datacenter datacenter that issued the certificate
 * @param service service name
 * @param serial the leaf's serial number in Consul's colon-hex form
 */
public record ConnectPeer(
        String spiffeId,
        String trustDomain,
        String partition,
        String namespace,
        String datacenter,
        String service,
        String serial) {

    /** {@link SSLSession} value under which the trust manager records the verified peer. */
    public static final String SESSION_KEY = "io.consulconnect.jca.peer";

    /**
     * {@link SSLSession} value under which a client-side trust manager records the expected
     * identity (canonical form) it checked the server against.
     */
    static final String EXPECTED_KEY = "io.consulconnect.jca.expected";

    /**
     * The peer our trust manager verified for this session (also for sessions resumed from
     * it). Empty when the session was not verified by a {@link ConnectTrustManager}.
     *
     * @param session a TLS session, e.g. {@code SSLSocket.getSession()}
     * @return the verified peer
     */
    public static Optional<ConnectPeer> of(SSLSession session) {
        return session != null && session.getValue(SESSION_KEY) instanceof ConnectPeer peer
                ? Optional.of(peer)
                : Optional.empty();
    }
}
