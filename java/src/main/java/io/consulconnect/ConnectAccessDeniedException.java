package io.consulconnect;

/**
 * A client certificate was refused: it did not verify against the Consul roots, or Consul's
 * intentions do not allow it. Thrown by native code. The same refusal on a TLS path is a
 * {@code PeerRefusedException}; both are a {@link ConnectRefusal}.
 */
public class ConnectAccessDeniedException extends ConnectFailureException implements ConnectRefusal {
    private static final long serialVersionUID = 1L;

    /** Stable, machine-readable reason, e.g. {@code denied} or {@code unknown-issuer}. */
    private final String code;

    /**
     * Creates the exception; native code calls this constructor.
     *
     * @param code stable reason code
     * @param message the reason, written for an operator (includes Consul's reason)
     */
    public ConnectAccessDeniedException(String code, String message) {
        super(message);
        this.code = code;
    }

    /**
     * The stable reason code.
     *
     * @return e.g. {@code denied}, {@code intention-has-http-permissions}, {@code expired}
     */
    @Override
    public String code() {
        return code;
    }
}
