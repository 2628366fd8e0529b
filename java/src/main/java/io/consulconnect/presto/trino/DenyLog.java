package io.consulconnect.presto.trino;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.logging.Logger;

/**
 * Writes refused clients to the server log (Trino answers the client only "Unauthorized"),
 * so an operator can see who was refused and why. Bounded: at most {@link #BURST} lines per
 * {@link #WINDOW_NANOS}, then one line saying how many were left out, so a flood of bad
 * clients cannot flood the log.
 */
final class DenyLog {
    private static final Logger LOG = Logger.getLogger(ConsulConnectAuthenticator.class.getName());
    private static final int BURST = 20;
    private static final long WINDOW_NANOS = 10_000_000_000L;

    private long windowStart = System.nanoTime();
    private int written;
    private int suppressed;

    /**
     * Logs one refusal.
     *
     * @param certificates the chain the client presented (may be empty)
     * @param reason why it was refused
     */
    void denied(List<X509Certificate> certificates, String reason) {
        String line;
        synchronized (this) {
            long now = System.nanoTime();
            if (now - windowStart > WINDOW_NANOS) {
                if (suppressed > 0) {
                    LOG.warning("consul-connect: " + suppressed + " more refusals were not logged");
                }
                windowStart = now;
                written = 0;
                suppressed = 0;
            }
            if (written >= BURST) {
                suppressed++;
                return;
            }
            written++;
        }
        line = "consul-connect: denied " + describe(certificates) + ": " + reason;
        LOG.warning(line);
    }

    /** The client's SPIFFE URI (for the log only; nothing is decided from it here). */
    private static String describe(List<X509Certificate> certificates) {
        if (certificates == null || certificates.isEmpty()) {
            return "a client without a certificate";
        }
        try {
            Collection<List<?>> names = certificates.get(0).getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> name : names) {
                    if (Integer.valueOf(6).equals(name.get(0))) {
                        return String.valueOf(name.get(1));
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // fall through
        }
        return "a client certificate without a URI (" + certificates.get(0).getSubjectX500Principal() + ")";
    }
}
