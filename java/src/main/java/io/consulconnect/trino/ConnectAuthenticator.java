package io.consulconnect.trino;

import io.consulconnect.ConnectAnswer;
import io.consulconnect.ConnectFailureException;
import io.consulconnect.ConnectUser;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.trino.spi.security.AccessDeniedException;
import io.trino.spi.security.BasicPrincipal;
import io.trino.spi.security.CertificateAuthenticator;
import io.trino.spi.security.Identity;
import java.security.Principal;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Trino's view of Consul Connect authorization: the client's chain is verified against
 * the current Consul roots and authorized by Consul intentions in the native core; the
 * user is the client's service, qualified by namespace and partition where not default (or
 * as {@code consul.authz.principal} says), with the identity's groups on Trino 480 and
 * later. Every failure is a deny, answered with 401 ({@link TrinoRefusal}); the client
 * learns the reason's code only, the server log the full reason ({@link DenyLog}).
 */
public final class ConnectAuthenticator implements CertificateAuthenticator {
    private final ConnectIdentity identity;
    private final DenyLog denyLog = new DenyLog();
    private final CertificateEncodings encodings = new CertificateEncodings();

    ConnectAuthenticator(ConnectIdentity identity) {
        this.identity = identity;
    }

    @Override
    public Principal authenticate(List<X509Certificate> certificates) throws AccessDeniedException {
        return new BasicPrincipal(allowed(certificates).user());
    }

    /**
     * Trino 480 and later call this instead of {@link #authenticate} and keep the groups:
     * the user (as {@code authenticate} returns it) and the groups of the verified Connect
     * identity ({@code consul.authz.groups}). Deliberately without {@code @Override}: the
     * method does not exist in the SPI before 480, where this one is simply never called.
     *
     * @param certificates the client's chain, leaf first
     * @return the authenticated identity
     * @throws AccessDeniedException (or Trino's authentication exception, see
     *     {@link TrinoRefusal}) when the client is refused
     */
    public Optional<Identity> createAuthenticatedIdentity(List<X509Certificate> certificates) {
        ConnectUser user = allowed(certificates);
        return Optional.of(Identity.forUser(user.user())
                .withPrincipal(new BasicPrincipal(user.user()))
                .withGroups(Set.copyOf(user.groups()))
                .build());
    }

    /** The allowed client's user and groups; every failure is a refusal. */
    private ConnectUser allowed(List<X509Certificate> certificates) {
        ConnectAnswer answer;
        try {
            answer = certificates != null && certificates.size() == 1
                    ? NativeBridge.authenticate(identity.handle(), encoded(certificates.get(0)))
                    : NativeBridge.authenticate(identity.handle(), encode(certificates));
        } catch (IllegalArgumentException e) {
            throw deny(certificates, "invalid-certificate", "invalid client certificate: " + e.getMessage());
        } catch (ConnectFailureException | IllegalStateException e) {
            throw deny(certificates, "unavailable", "cannot authorize: " + e.getMessage());
        }
        if (answer.allowed()) {
            return answer.user();
        }
        throw deny(certificates, answer.code(), answer.reason());
    }

    private byte[][] encode(List<X509Certificate> certificates) {
        if (certificates == null) {
            return new byte[0][]; // refused by the core like any empty chain (empty-chain)
        }
        byte[][] chain = new byte[certificates.size()][];
        for (int i = 0; i < chain.length; i++) {
            chain[i] = encoded(certificates.get(i));
        }
        return chain;
    }

    private byte[] encoded(X509Certificate certificate) {
        if (certificate == null) {
            throw new IllegalArgumentException("null certificate in the chain");
        }
        try {
            return encodings.of(certificate);
        } catch (CertificateEncodingException e) {
            throw new IllegalArgumentException("unreadable certificate: " + e.getMessage(), e);
        }
    }

    /**
     * Logs the full reason for the operator and gives the client only the reason's code:
     * the reason can name intentions, the trust domain or the agent's errors, which are not
     * the client's to learn.
     */
    private RuntimeException deny(List<X509Certificate> certificates, String code, String reason) {
        denyLog.denied(certificates, code, reason);
        return TrinoRefusal.refuse("Consul Connect refused the client certificate (" + code + ")");
    }
}
