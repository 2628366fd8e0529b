package io.consulconnect;

/**
 * A refusal by the Consul Connect checks: a stable, machine-readable code and a message
 * written for an operator. The same refusal reaches Java as one of two exception types, for
 * the caller each path has: {@link ConnectAccessDeniedException} (the authorizer, a runtime
 * exception) and {@code io.consulconnect.jca.PeerRefusedException} (TLS trust
 * managers, a {@code CertificateException}); code that handles both reads this interface.
 */
public interface ConnectRefusal {
    /**
     * The stable reason code (the core's {@code DenyReason} or peer refusal code).
     *
     * @return e.g. {@code denied}, {@code unknown-issuer}, {@code unexpected-identity}
     */
    String code();

    /**
     * The reason, for an operator.
     *
     * @return the message
     */
    String getMessage();
}
