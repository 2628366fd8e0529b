package io.consulconnect.bench;

import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.identity.IdentitySnapshot;
import io.consulconnect.jca.ConnectKeyManager;
import io.consulconnect.jca.ConnectSsl;
import io.consulconnect.jca.ConnectTrustManager;
import io.consulconnect.testing.ConsulDevAgent;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Handshake cost of the JCA provider against a real Consul agent, in one JVM and run:
 *
 * <ol>
 *   <li>full TLS 1.3 mutual handshakes per second over loopback, sequential, with our
 *       provider on both ends versus a PKCS#12 key store and trust store holding the same
 *       certificates and roots, read by the JDK's default factories (SunX509 + PKIX) and by
 *       PKIX + PKIX; rounds alternate, the median is reported;</li>
 *   <li>what our managers add per handshake, in isolation;</li>
 *   <li>after CA rotations, the time from the moment the agent serves trino's new leaf (seen by
 *       a blocking query of the harness's own) to our identity publishing it and to the first
 *       handshake presenting it, with a client handshaking back to back.</li>
 * </ol>
 *
 * <p>Run with {@code gradle benchmark -Pbench=SslHandshakeBenchmark} (10 s rounds, 5 rounds, 3
 * rotations; run the class directly to pass other numbers as arguments).
 */
public final class SslHandshakeBenchmark {
    private SslHandshakeBenchmark() {}

    /**
     * Entry point.
     *
     * @param args seconds per round, rounds, rotations
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        int rotations = args.length > 2 ? Integer.parseInt(args[2]) : 3;
        try (ConsulDevAgent consul = ConsulDevAgent.start()) {
            Map<String, String> props = Map.of("consul.address", consul.address());
            ConnectSsl.Builder trinoSsl = ConnectSsl.forService("trino").properties(props);
            ConnectSsl.Builder webSsl = ConnectSsl.forService("web").properties(props);
            SSLContext ourServer = trinoSsl.server();
            SSLContext ourClient = webSsl.client("trino");
            // The same identities the contexts use (shared native watchers), for their material.
            ConnectIdentity trino = ConnectIdentity.open(Map.of("consul.address", consul.address(),
                    "consul.service", "trino"));
            ConnectIdentity web = ConnectIdentity.open(Map.of("consul.address", consul.address(),
                    "consul.service", "web"));
            trino.awaitReady(Duration.ofSeconds(30));
            IdentitySnapshot trinoSnap = trino.snapshot().orElseThrow();
            web.awaitReady(Duration.ofSeconds(30));
            IdentitySnapshot webSnap = web.snapshot().orElseThrow();

            Map<String, SSLContext[]> setups = new java.util.LinkedHashMap<>();
            setups.put("ConsulConnect", new SSLContext[] {ourServer, ourClient});
            for (String kmf : new String[] {KeyManagerFactory.getDefaultAlgorithm(), "PKIX"}) {
                setups.put("PKCS#12 " + kmf + "+PKIX", new SSLContext[] {
                    pkcs12(trinoSnap, kmf), pkcs12(webSnap, kmf)});
            }
            System.out.printf("leaf key %s, %d root(s), %d core(s), JDK %s; %d x %d s rounds%n",
                    certificate(trinoSnap.chain().get(0)).getPublicKey().getAlgorithm(), trinoSnap.roots().size(),
                    Runtime.getRuntime().availableProcessors(), System.getProperty("java.vm.version"), rounds,
                    seconds);

            Map<String, List<Double>> rates = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, SSLContext[]> e : setups.entrySet()) {
                handshakesPerSecond(e.getValue()[0], e.getValue()[1], seconds); // warm-up
                rates.put(e.getKey(), new ArrayList<>());
            }
            for (int r = 0; r < rounds; r++) {
                StringBuilder line = new StringBuilder("round " + (r + 1) + ":");
                for (Map.Entry<String, SSLContext[]> e : setups.entrySet()) {
                    double rate = handshakesPerSecond(e.getValue()[0], e.getValue()[1], seconds);
                    rates.get(e.getKey()).add(rate);
                    line.append(String.format("  %s %.0f/s", e.getKey(), rate));
                }
                System.out.println(line);
            }
            double ours = median(rates.get("ConsulConnect"));
            for (Map.Entry<String, List<Double>> e : rates.entrySet()) {
                double m = median(e.getValue());
                System.out.printf("median %-26s %6.0f handshakes/s  (ConsulConnect / this = %.2f)%n", e.getKey(), m,
                        ours / m);
            }

            managerCosts(trinoSsl, webSnap);

            for (int i = 0; i < rotations; i++) {
                // Consul ignores a CA configuration equal to the current one: alternate the key
                // size (the dev agent starts with P-256) so that every round makes a new root.
                rotation(consul, i % 2 == 0 ? 384 : 256, trino, ourServer, ourClient);
            }
            trino.close();
            web.close();
        }
    }

    /** A static peer: PKCS#12 key store with the snapshot's chain and key, trust store with its roots. */
    private static SSLContext pkcs12(IdentitySnapshot s, String kmfAlgorithm) throws Exception {
        X509Certificate[] chain = new X509Certificate[s.chain().size()];
        for (int i = 0; i < chain.length; i++) {
            chain[i] = certificate(s.chain().get(i));
        }
        PrivateKey key = KeyFactory.getInstance(chain[0].getPublicKey().getAlgorithm())
                .generatePrivate(new PKCS8EncodedKeySpec(s.keyPkcs8().clone()));
        char[] password = "changeit".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("leaf", key, password, chain);
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (int i = 0; i < s.roots().size(); i++) {
            trust.setCertificateEntry("root" + i, certificate(s.roots().get(i)));
        }
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(kmfAlgorithm);
        kmf.init(keys, password);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    private static X509Certificate certificate(byte[] der) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    /** Sequential full handshakes (new connection each, no resumption) for {@code seconds}. */
    private static double handshakesPerSecond(SSLContext server, SSLContext client, int seconds) throws Exception {
        try (Server s = new Server(server)) {
            long start = System.nanoTime();
            long end = start + seconds * 1_000_000_000L;
            long n = 0;
            while (System.nanoTime() < end) {
                handshake(client, s.port());
                n++;
            }
            return n / ((System.nanoTime() - start) / 1e9);
        }
    }

    /** One connection: handshake, read the server's byte, forget the session; the server leaf's serial. */
    private static String handshake(SSLContext client, int port) throws IOException {
        try (SSLSocket s = (SSLSocket) client.getSocketFactory().createSocket(InetAddress.getLoopbackAddress(), port)) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(30_000);
            s.startHandshake();
            if (s.getInputStream().read() != '1') {
                throw new IOException("no byte from the server");
            }
            X509Certificate leaf = (X509Certificate) s.getSession().getPeerCertificates()[0];
            s.getSession().invalidate();
            return serial(leaf);
        }
    }

    /** Consul's colon-hex serial form. */
    private static String serial(X509Certificate cert) {
        byte[] b = cert.getSerialNumber().toByteArray();
        int i = 0;
        while (i < b.length - 1 && b[i] == 0) {
            i++;
        }
        StringBuilder out = new StringBuilder();
        for (; i < b.length; i++) {
            out.append(out.length() == 0 ? "" : ":").append(String.format("%02x", b[i] & 0xff));
        }
        return out.toString();
    }

    /** What our key and trust managers add per handshake, measured alone. */
    private static void managerCosts(ConnectSsl.Builder trinoSsl, IdentitySnapshot webSnap) throws Exception {
        ConnectKeyManager km = trinoSsl.keyManager();
        String keyType = certificate(webSnap.chain().get(0)).getPublicKey().getAlgorithm();
        int n = 500_000;
        for (int i = 0; i < n; i++) {
            km.getPrivateKey(km.chooseServerAlias(keyType, null, null));
        }
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            String alias = km.chooseServerAlias(keyType, null, null);
            km.getCertificateChain(alias);
            km.getPrivateKey(alias);
        }
        double kmNs = (System.nanoTime() - t0) / (double) n;

        ConnectTrustManager tm = trinoSsl.trustManager(null);
        X509Certificate[] chain = {certificate(webSnap.chain().get(0))};
        int m = 20_000;
        for (int i = 0; i < m; i++) {
            tm.checkClientTrusted(chain, keyType);
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < m; i++) {
            tm.checkClientTrusted(chain, keyType);
        }
        double tmUs = (System.nanoTime() - t1) / (double) m / 1000;
        System.out.printf("per handshake: key manager (generation check, alias, chain, key) %.0f ns; "
                + "trust manager (encode, JNI, Rust chain + identity check) %.1f us%n", kmNs, tmUs);
    }

    /** One CA rotation, timed as described in the class comment. */
    private static void rotation(ConsulDevAgent consul, int keyBits, ConnectIdentity trino, SSLContext server,
            SSLContext client) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        String leafUrl = consul.address() + "/v1/agent/connect/ca/leaf/trino";
        HttpResponse<String> first = http.send(HttpRequest.newBuilder(URI.create(leafUrl)).build(),
                HttpResponse.BodyHandlers.ofString());
        String oldSerial = ConsulDevAgent.jsonString(first.body(), "SerialNumber");
        String firstIndex = first.headers().firstValue("X-Consul-Index").orElseThrow();

        AtomicLong agentAt = new AtomicLong();
        AtomicLong publishedAt = new AtomicLong();
        AtomicLong handshakeAt = new AtomicLong();
        AtomicLong handshakes = new AtomicLong();
        AtomicReference<String> newSerial = new AtomicReference<>();
        AtomicBoolean stop = new AtomicBoolean();

        Thread agentWatch = new Thread(() -> {
            String index = firstIndex;
            try {
                while (!stop.get()) {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                            URI.create(leafUrl + "?index=" + index + "&wait=60s")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    long now = System.nanoTime();
                    String serial = ConsulDevAgent.jsonString(r.body(), "SerialNumber");
                    if (!serial.equals(oldSerial)) {
                        newSerial.set(serial);
                        agentAt.set(now);
                        return;
                    }
                    index = r.headers().firstValue("X-Consul-Index").orElse(index);
                }
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        // The roots change publishes a generation of its own before the new leaf: watch the serial.
        Thread publishWatch = new Thread(() -> {
            long seen = trino.generation();
            while (!stop.get()) {
                long g = trino.generation();
                if (g != seen) {
                    seen = g;
                    if (!trino.snapshot().orElseThrow().serial().equals(oldSerial)) {
                        publishedAt.set(System.nanoTime());
                        return;
                    }
                }
                Thread.onSpinWait();
            }
        });
        Thread handshaker = new Thread(() -> {
            try (Server s = new Server(server)) {
                while (!stop.get()) {
                    String serial = handshake(client, s.port());
                    long now = System.nanoTime();
                    handshakes.incrementAndGet();
                    if (!serial.equals(oldSerial)) {
                        handshakeAt.set(now);
                        return;
                    }
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
        for (Thread t : new Thread[] {agentWatch, publishWatch, handshaker}) {
            t.setDaemon(true);
            t.start();
        }
        long rotatedAt = System.nanoTime();
        consul.send("PUT", "/v1/connect/ca/configuration",
                "{\"Provider\":\"consul\",\"Config\":{\"PrivateKeyType\":\"ec\",\"PrivateKeyBits\":" + keyBits + "}}");
        handshaker.join(120_000);
        agentWatch.join(5_000);
        stop.set(true);
        publishWatch.join(5_000);
        if (handshakeAt.get() == 0 || agentAt.get() == 0 || publishedAt.get() == 0) {
            stop.set(true);
            System.out.println("rotation: no new leaf within 120 s");
            return;
        }
        System.out.printf("rotation: agent served trino's new leaf %s %.1f s after the CA change (Consul's jitter); "
                + "relative to that, our identity published it at %+.1f ms and the first handshake presented it at "
                + "%+.1f ms (%d handshakes meanwhile, none failed)%n", newSerial.get(),
                (agentAt.get() - rotatedAt) / 1e9, (publishedAt.get() - agentAt.get()) / 1e6,
                (handshakeAt.get() - agentAt.get()) / 1e6, handshakes.get());
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }

    /** Loopback TLS server: each connection gets a handshake, one byte, and is closed. */
    private static final class Server implements AutoCloseable {
        private final SSLServerSocket socket;
        private final ExecutorService workers = Executors.newFixedThreadPool(2, r -> {
            Thread t = new Thread(r, "bench-tls-server");
            t.setDaemon(true);
            return t;
        });

        Server(SSLContext context) throws IOException {
            socket = (SSLServerSocket) context.getServerSocketFactory().createServerSocket();
            socket.setNeedClientAuth(true);
            socket.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 256);
            Thread acceptor = new Thread(() -> {
                while (!socket.isClosed()) {
                    try {
                        SSLSocket s = (SSLSocket) socket.accept();
                        workers.execute(() -> serve(s));
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "bench-tls-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        int port() {
            return socket.getLocalPort();
        }

        private static void serve(SSLSocket s) {
            try (s) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(30_000);
                s.startHandshake();
                s.getOutputStream().write('1');
                s.getOutputStream().flush();
                s.getInputStream().read();
            } catch (IOException e) {
                // the client saw it too
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            workers.shutdownNow();
        }
    }
}
