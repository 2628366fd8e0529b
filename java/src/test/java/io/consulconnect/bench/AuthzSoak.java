package io.consulconnect.bench;

/**
 * Entry point for {@code gradle benchmark -Pbench=AuthzSoak}, which runs only classes of this
 * package: the soak of the authorizer lives in {@link io.consulconnect.soak.AuthzSoak}. Run it
 * with {@code bash tests/soak/authz-soak.sh [minutes]}.
 */
public final class AuthzSoak {
    private AuthzSoak() {}

    /**
     * Entry point.
     *
     * @param args passed on
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        io.consulconnect.soak.AuthzSoak.main(args);
    }
}
