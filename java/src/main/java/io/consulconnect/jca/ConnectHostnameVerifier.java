package io.consulconnect.jca;

import java.security.cert.Certificate;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.HostnameVerifier;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * A {@link HostnameVerifier} for {@code HttpsURLConnection} that checks the server's Connect
 * identity instead of the host name: it accepts a session only when the server was verified
 * as the expected service. The host name (often an IP address) is not consulted; Connect
 * certificates do not carry one.
 *
 * <p>Only needed when an application installs its own verifier: with the default one,
 * {@code HttpsURLConnection} asks the trust manager for endpoint identification, which
 * {@link ConnectTrustManager} already answers with the SPIFFE check.
 */
public final class ConnectHostnameVerifier implements HostnameVerifier {
    private final ConnectTrustManager trustManager;

    ConnectHostnameVerifier(ConnectTrustManager trustManager) {
        if (trustManager.expected() == null) {
            throw new IllegalArgumentException("a Connect host-name verifier needs an expected server identity");
        }
        this.trustManager = trustManager;
    }

    @Override
    public boolean verify(String host, SSLSession session) {
        if (session == null) {
            return false;
        }
        // Fast path: our trust manager verified this session against the same expectation.
        if (trustManager.expected().equals(session.getValue(ConnectPeer.EXPECTED_KEY))
                && ConnectPeer.of(session).isPresent()) {
            return true;
        }
        // Otherwise (a session some other trust manager accepted) verify it now, fully.
        try {
            Certificate[] peer = session.getPeerCertificates();
            X509Certificate[] chain = new X509Certificate[peer.length];
            for (int i = 0; i < peer.length; i++) {
                if (!(peer[i] instanceof X509Certificate x509)) {
                    return false;
                }
                chain[i] = x509;
            }
            trustManager.verify(chain, true, null);
            return true;
        } catch (SSLPeerUnverifiedException | CertificateException e) {
            return false;
        }
    }
}
