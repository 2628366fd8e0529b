package io.consulconnect.jca;

import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

/**
 * A second, server-side check after a client's chain verified: whether this client may
 * connect at all. The default is the Consul intention check of the core's authorizer
 * ({@code /v1/agent/connect/authorize} with its decision cache, see
 * {@link ConnectConfig#INTENTIONS}); {@link ConnectSsl.Builder#authorizer} puts another in its
 * place.
 */
@FunctionalInterface
public interface PeerAuthorizer {
    /**
     * Decides whether a verified client may connect.
     *
     * @param client the verified client identity
     * @param chain the chain the client presented, leaf first
     * @throws CertificateException (preferably a {@link PeerRefusedException}) to refuse
     */
    void authorize(ConnectPeer client, X509Certificate[] chain) throws CertificateException;
}
