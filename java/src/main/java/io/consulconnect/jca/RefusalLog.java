package io.consulconnect.jca;

import io.consulconnect.LogBudget;
import io.consulconnect.LogText;
import javax.net.ssl.SSLSession;

/**
 * Writes TLS peers our trust managers refuse to the log: the application above usually says
 * only "handshake failed" or "Failed communicating with server" (airlift does), so without
 * this an operator could not see that, say, a node's address answered with another service's
 * leaf. Bounded ({@link LogBudget}): at most 20 lines per ten seconds in this class loader,
 * then one line saying how many were left out.
 */
final class RefusalLog {
    private static final System.Logger LOG = System.getLogger(ConnectTrustManager.class.getName());
    private static final LogBudget BUDGET = new LogBudget(20, 10_000_000_000L, "refused TLS peers");

    private RefusalLog() {}

    /**
     * Logs one refused peer.
     *
     * @param clientSide true when this end is the TLS client (the peer is a server)
     * @param session the handshake session (for the peer's address), or null
     * @param reason the refusal's message
     */
    static void refused(boolean clientSide, SSLSession session, String reason) {
        if (!BUDGET.allow(line -> LOG.log(System.Logger.Level.WARNING, line))) {
            return;
        }
        String peer = session == null || session.getPeerHost() == null
                ? "a TLS " + (clientSide ? "server" : "client")
                : "the TLS " + (clientSide ? "server " : "client ") + session.getPeerHost() + ":" + session.getPeerPort();
        LOG.log(System.Logger.Level.WARNING, "consul-connect: refused " + peer + ": " + LogText.printable(reason));
    }
}
