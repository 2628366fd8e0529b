package io.consulconnect.jca;

import io.consulconnect.ConnectAccessDeniedException;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

/**
 * The Consul intention check for verified clients, done by the core's authorizer (the one the
 * Trino authenticator uses): Consul's authorize decision for this identity's target service
 * ({@code consul.authz.target}, else {@code consul.service}), cached, invalidated when the
 * intentions change, failing closed when no decision can be had.
 */
final class ConnectIntentions implements PeerAuthorizer {
    private final ConnectIdentity identity;

    ConnectIntentions(ConnectIdentity identity) {
        this.identity = identity;
    }

    /** Starts the decision cache and intentions watch now, failing early without a target. */
    ConnectIntentions start() {
        NativeBridge.startAuthorization(identity.handle());
        return this;
    }

    @Override
    public void authorize(ConnectPeer client, X509Certificate[] chain) throws CertificateException {
        try {
            NativeBridge.authorize(identity.handle(), ConnectTrustManager.encode(chain));
        } catch (ConnectAccessDeniedException e) {
            throw new PeerRefusedException(e.code(), "Consul Connect refused the client " + client.spiffeId() + ": "
                    + e.getMessage());
        }
    }
}
