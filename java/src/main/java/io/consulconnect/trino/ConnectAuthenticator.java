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
 * principal is the client's service name (or SPIFFE ID). Every failure is a deny.
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
            throw deny(certificates, e.getMessage());
        } catch (IllegalArgumentException e) {
            throw deny(certificates, "invalid client certificate: " + e.getMessage());
        } catch (ConnectFailureException | IllegalStateException e) {
            throw deny(certificates, "cannot authorize: " + e.getMessage());
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

    private AccessDeniedException deny(List<X509Certificate> certificates, String reason) {
        denyLog.denied(certificates, reason);
        return new AccessDeniedException("Consul Connect: " + reason);
    }
}
