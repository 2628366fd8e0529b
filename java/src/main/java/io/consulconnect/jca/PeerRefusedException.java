package io.consulconnect.jca;

import io.consulconnect.ConnectRefusal;
import java.security.cert.CertificateException;

/**
 * A TLS peer was refused by the Consul Connect checks (thrown by the native verification
 * and by {@link PeerAuthorizer}s). The JDK aborts the handshake with it as the cause. The
 * same refusal from the authorizer is a {@code ConnectAccessDeniedException}; both are a
 * {@link ConnectRefusal}.
 */
public class PeerRefusedException extends CertificateException implements ConnectRefusal {
    private static final long serialVersionUID = 1L;

    /** Stable, machine-readable reason. */
    private final String code;

    /**
     * Creates the exception; native code calls this constructor.
     *
     * @param code stable, machine-readable reason, e.g. {@code unknown-issuer},
     *     {@code foreign-trust-domain}, {@code unexpected-identity}
     * @param message the reason, written for an operator
     */
    public PeerRefusedException(String code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * The machine-readable reason.
     *
     * @return e.g. {@code unknown-issuer}
     */
    @Override
    public String code() {
        return code;
    }
}
