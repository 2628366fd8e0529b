package io.consulconnect.jca;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * A TLS server on a loopback port: every accepted connection completes a handshake, gets one
 * byte ("1") and is closed; what the server saw is queued for the test.
 */
final class LoopbackServer implements AutoCloseable {
    /**
     * What one side saw of one connection. (A class, not a record: Gradle 4.4.1's test scanner
     * cannot read record class files.)
     */
    static final class Seen {
        private final ConnectPeer peer;
        private final X509Certificate[] peerChain;
        private final Throwable error;

        Seen(ConnectPeer peer, X509Certificate[] peerChain, Throwable error) {
            this.peer = peer;
            this.peerChain = peerChain;
            this.error = error;
        }

        ConnectPeer peer() {
            return peer;
        }

        X509Certificate[] peerChain() {
            return peerChain;
        }

        Throwable error() {
            return error;
        }

        boolean ok() {
            return error == null;
        }

        String peerSerial() {
            return TlsFixtures.consulSerial(peerChain[0]);
        }
    }

    private final SSLServerSocket socket;
    private final ExecutorService workers = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "loopback-tls-server");
        t.setDaemon(true);
        return t;
    });
    private final BlockingQueue<Seen> seen = new LinkedBlockingQueue<>();
    private final boolean record;

    LoopbackServer(SSLContext context) throws IOException {
        this(context, true);
    }

    LoopbackServer(SSLContext context, boolean record) throws IOException {
        this.record = record;
        socket = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
        socket.setNeedClientAuth(true); // a static fixture's factory does not set it
        socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
        Thread acceptor = new Thread(this::acceptLoop, "loopback-tls-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return socket.getLocalPort();
    }

    private void acceptLoop() {
        while (!socket.isClosed()) {
            try {
                SSLSocket s = (SSLSocket) socket.accept();
                workers.execute(() -> serve(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SSLSocket s) {
        try (s) {
            s.setSoTimeout(30_000);
            s.setTcpNoDelay(true); // small TLS records must not wait for delayed ACKs
            s.startHandshake();
            SSLSession session = s.getSession();
            Seen result = new Seen(ConnectPeer.of(session).orElse(null), chain(session.getPeerCertificates()), null);
            s.getOutputStream().write('1');
            s.getOutputStream().flush();
            // Wait for the client to close, so its reading of our byte never races our close.
            try {
                s.getInputStream().read();
            } catch (IOException ignored) {
                // closed by the client
            }
            if (record) {
                seen.add(result);
            }
        } catch (IOException | RuntimeException e) {
            if (record) {
                seen.add(new Seen(null, null, e));
            }
        }
    }

    /** What the server saw of the next connection. */
    Seen next() throws InterruptedException {
        Seen s = seen.poll(30, TimeUnit.SECONDS);
        if (s == null) {
            throw new AssertionError("the server saw no connection within 30s");
        }
        return s;
    }

    /**
     * Connects with {@code client} (limited to {@code protocols} if any are given), completes
     * the handshake and reads the server's byte. The session is invalidated so the next
     * connection makes a full handshake.
     */
    static Seen connect(SSLContext client, int port, String... protocols) {
        return connect(client, port, false, protocols);
    }

    /**
     * {@link #connect(SSLContext, int, String...)}, keeping the session in the client's cache,
     * so the next connection of {@code client} offers to resume it.
     */
    static Seen connectResuming(SSLContext client, int port, String... protocols) {
        return connect(client, port, true, protocols);
    }

    private static Seen connect(SSLContext client, int port, boolean keepSession, String... protocols) {
        try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(30_000);
            s.setTcpNoDelay(true);
            if (protocols.length > 0) {
                s.setEnabledProtocols(protocols);
            }
            s.startHandshake();
            SSLSession session = s.getSession();
            InputStream in = s.getInputStream();
            // TLS 1.3: the server judges our certificate after our handshake is done; its
            // verdict (a byte or an alert) arrives with the first read.
            int b = in.read();
            if (b != '1') {
                throw new IOException("the server closed the connection without its byte");
            }
            Seen result = new Seen(ConnectPeer.of(session).orElse(null), chain(session.getPeerCertificates()), null);
            if (!keepSession) {
                session.invalidate();
            }
            return result;
        } catch (SocketTimeoutException e) {
            throw new AssertionError("TLS connection timed out", e);
        } catch (IOException | RuntimeException e) {
            return new Seen(null, null, e);
        }
    }

    private static X509Certificate[] chain(Certificate[] certs) {
        X509Certificate[] out = new X509Certificate[certs.length];
        for (int i = 0; i < certs.length; i++) {
            out[i] = (X509Certificate) certs[i];
        }
        return out;
    }

    @Override
    public void close() throws IOException {
        socket.close();
        workers.shutdownNow();
    }
}
