package io.consulconnect.jca;

import io.consulconnect.jni.TlsBridge;
import java.net.Socket;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * Trusts exactly the peers the Rust core verifies against the current Consul roots of one
 * identity: the same verification the Trino authenticator uses (chain to a current root,
 * validity, one Connect service SPIFFE id, our trust domain), done once, in native code.
 *
 * <p><b>Client side</b> (checking a server): the server must also be the expected identity
 * given when this trust manager was made (a service name, a SPIFFE id, or {@code *}), the way
 * Consul's Go {@code connect} package checks the service it dials. Connect certificates name
 * a service, not a host, so this check takes the place of host-name verification: the JDK
 * leaves endpoint identification to an {@link X509ExtendedTrustManager}, and this one answers
 * an {@code HTTPS} endpoint-identification request with the SPIFFE identity check, never with
 * "accept". Without an expected identity every server is refused.
 *
 * <p><b>Server side</b> (checking a client): a verified service of the trust domain that the
 * {@link PeerAuthorizer} accepts: by default the Consul intention check of the core's
 * authorizer ({@link ConnectConfig#INTENTIONS}).
 *
 * <p>The verified peer is recorded in the handshake session ({@link ConnectPeer#of}), which
 * also keeps the JDK from issuing stateless tickets for it; a resumed session skips this
 * trust manager, so the session is handed to a {@link SessionGuard} that invalidates it when
 * its leaf expires, its resumable lifetime ends or the identity's generation changes.
 */
public final class ConnectTrustManager extends X509ExtendedTrustManager {
    private static final X509Certificate[] NONE = new X509Certificate[0];

    private final ConnectMaterial material;
    private final String expected;
    private final PeerAuthorizer authorizer;
    private final SessionGuard guard;

    /**
     * @param material the identity whose roots decide
     * @param expected canonical expected server identity, or null (then this trust manager
     *     refuses every server)
     * @param authorizer server-side check after verification, or null
     * @param guard ends the resumability of the sessions verified here, or null
     */
    ConnectTrustManager(ConnectMaterial material, String expected, PeerAuthorizer authorizer, SessionGuard guard) {
        this.material = material;
        this.expected = expected;
        this.authorizer = authorizer;
        this.guard = guard;
    }

    /**
     * The server identity this trust manager expects.
     *
     * @return canonical form, or null when none was configured
     */
    public String expected() {
        return expected;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, false, null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain, false, session(socket));
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain, false, engine == null ? null : engine.getHandshakeSession());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        verify(chain, true, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        verify(chain, true, session(socket));
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        verify(chain, true, engine == null ? null : engine.getHandshakeSession());
    }

    /** The current Consul roots (the CAs a server names in its certificate request). */
    @Override
    public X509Certificate[] getAcceptedIssuers() {
        try {
            ConnectMaterial.Generation g = material.current();
            return g == null ? NONE : g.roots.clone();
        } catch (RuntimeException e) {
            return NONE; // the check itself then fails with the reason
        }
    }

    /**
     * Verifies a chain as this trust manager does in a handshake.
     *
     * @param chain the peer's chain, leaf first
     * @param clientSide true when we are the client (the peer is a server)
     * @param session the handshake session to record the peer in, or null
     * @return the verified peer
     * @throws CertificateException with the reason when the peer is refused
     */
    ConnectPeer verify(X509Certificate[] chain, boolean clientSide, SSLSession session) throws CertificateException {
        ConnectPeer peer;
        try {
            // An empty chain is refused by the core like any other unusable one.
            byte[][] der = chain == null ? new byte[0][] : encode(chain);
            peer = TlsBridge.verifyPeer(material.identity().handle(), der, clientSide, clientSide ? expected : null);
        } catch (PeerRefusedException e) {
            RefusalLog.refused(clientSide, session, e.getMessage());
            throw e;
        } catch (RuntimeException e) {
            // Closed identity, bad argument, native failure: fail closed, with the reason.
            throw new CertificateException("Consul Connect could not verify the peer: " + e.getMessage(), e);
        }
        if (!clientSide && authorizer != null) {
            try {
                authorizer.authorize(peer, chain.clone());
            } catch (RuntimeException e) {
                throw new CertificateException("Consul Connect could not authorize " + peer.spiffeId() + ": " + e, e);
            }
        }
        if (session != null) {
            session.putValue(ConnectPeer.SESSION_KEY, peer);
            if (clientSide && expected != null) {
                session.putValue(ConnectPeer.EXPECTED_KEY, expected);
            }
            if (guard != null) {
                guard.register(session, chain);
            }
        }
        return peer;
    }

    private static SSLSession session(Socket socket) {
        return socket instanceof SSLSocket s ? s.getHandshakeSession() : null;
    }

    static byte[][] encode(X509Certificate[] chain) throws CertificateEncodingException {
        byte[][] der = new byte[chain.length][];
        for (int i = 0; i < chain.length; i++) {
            der[i] = chain[i].getEncoded();
        }
        return der;
    }
}
