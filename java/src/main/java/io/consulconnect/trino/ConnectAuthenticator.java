package io.consulconnect.trino;

import io.consulconnect.ConnectAccessDeniedException;
import io.consulconnect.ConnectFailureException;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.trino.spi.security.AccessDeniedException;
import io.trino.spi.security.BasicPrincipal;
import io.trino.spi.security.CertificateAuthenticator;
import java.security.Principal;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;

/**
 * Trino's view of Consul Connect authorization: the client's chain is verified against
 * the current Consul roots and authorized by Consul intentions in the native core; the
 * principal is the client's service name (or SPIFFE ID). Every failure is a deny; the client
 * learns the reason's code only, the server log the full reason ({@link DenyLog}).
 */
public final class ConnectAuthenticator implements CertificateAuthenticator {
    private final ConnectIdentity identity;
    private final DenyLog denyLog = new DenyLog();

    ConnectAuthenticator(ConnectIdentity identity) {
        this.identity = identity;
    }

    @Override
    public Principal authenticate(List<X509Certificate> certificates) throws AccessDeniedException {
        try {
            return new BasicPrincipal(NativeBridge.authorize(identity.handle(), encode(certificates)));
        } catch (ConnectAccessDeniedException e) {
            throw deny(certificates, e.code(), e.getMessage());
        } catch (IllegalArgumentException e) {
            throw deny(certificates, "invalid-certificate", "invalid client certificate: " + e.getMessage());
        } catch (ConnectFailureException | IllegalStateException e) {
            throw deny(certificates, "unavailable", "cannot authorize: " + e.getMessage());
        }
    }

    private static byte[][] encode(List<X509Certificate> certificates) {
        if (certificates == null) {
            return new byte[0][]; // refused by the core like any empty chain (empty-chain)
        }
        byte[][] chain = new byte[certificates.size()][];
        try {
            for (int i = 0; i < chain.length; i++) {
                chain[i] = certificates.get(i).getEncoded();
            }
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("unreadable certificate: " + e.getMessage(), e);
        }
        return chain;
    }

    /**
     * Logs the full reason for the operator and gives the client only the reason's code:
     * the reason can name intentions, the trust domain or the agent's errors, which are not
     * the client's to learn.
     */
    private AccessDeniedException deny(List<X509Certificate> certificates, String code, String reason) {
        denyLog.denied(certificates, code, reason);
        return new AccessDeniedException("Consul Connect refused the client certificate (" + code + ")");
    }
}
