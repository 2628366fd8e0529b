package io.consulconnect.trino;

import io.consulconnect.Certificates;
import io.consulconnect.LogBudget;
import io.consulconnect.LogText;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.logging.Logger;

/**
 * Writes refused clients to the server log (Trino answers the client only "Unauthorized"),
 * so an operator can see who was refused and why. Bounded ({@link LogBudget}): at most 20
 * lines per ten seconds, then one line saying how many were left out, so a flood of bad
 * clients cannot flood the log.
 */
final class DenyLog {
    private static final Logger LOG = Logger.getLogger(ConnectAuthenticator.class.getName());
    private final LogBudget budget = new LogBudget(20, 10_000_000_000L, "refusals");

    /**
     * Logs one refusal.
     *
     * @param certificates the chain the client presented (may be empty)
     * @param code the reason's code (what the client is told)
     * @param reason why it was refused, in full
     */
    void denied(List<X509Certificate> certificates, String code, String reason) {
        if (budget.allow(LOG::warning)) {
            LOG.warning("consul-connect: denied " + describe(certificates) + " (" + code + "): "
                    + LogText.printable(reason));
        }
    }

    /** The client's SPIFFE URI (for the log only; nothing is decided from it here). */
    private static String describe(List<X509Certificate> certificates) {
        if (certificates == null || certificates.isEmpty()) {
            return "a client without a certificate";
        }
        if (certificates.get(0) == null) {
            return "a client with a null certificate";
        }
        // What the certificate claims, before or without verification: escaped, never trusted.
        List<String> uris = Certificates.uris(certificates.get(0));
        if (!uris.isEmpty()) {
            return LogText.printable(String.join(",", uris));
        }
        return "a client certificate without a URI ("
                + LogText.printable(certificates.get(0).getSubjectX500Principal().toString()) + ")";
    }
}
