package io.consulconnect.bench;

import io.consulconnect.jca.ConnectConfig;
import io.consulconnect.jca.ConnectJvm;
import io.consulconnect.jca.PemStores;
import io.consulconnect.testing.ConsulDevAgent;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Full TLS 1.3 mutual handshakes per second of a TLS client built the way Trino's internal
 * HTTP clients build theirs (airlift: Jetty 12's {@code SslContextFactory.Client} with the
 * node's PEM key store and trust store), in one JVM and run, alternating rounds:
 *
 * <ul>
 *   <li><b>JDK</b>: the JDK's SunX509 and PKIX managers over the PEM stores, host-name
 *       verification off (the setup before the JVM-level part: static material);</li>
 *   <li><b>ours</b>: the JVM's default algorithms after {@link ConnectJvm#install}, i.e. the
 *       live Consul key manager and the SPIFFE-checking trust manager, host-name
 *       verification on.</li>
 * </ul>
 * The server is the same for both: the JDK's managers over trino's leaf, client certificate
 * required. Run with {@code gradle benchmark -Pbench=JettyHandshakeBenchmark} (5 rounds of
 * 10 s each per client; arguments: seconds, rounds).
 */
public final class JettyHandshakeBenchmark {
    private JettyHandshakeBenchmark() {}

    /**
     * Entry point.
     *
     * @param args seconds per round, rounds
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        try (ConsulDevAgent consul = ConsulDevAgent.start()) {
            Path tls = Files.createTempDirectory("pcc-bench").resolve("tls");
            String installed = ConnectJvm.install(ConnectConfig.of(Map.of("consul.address", consul.address(),
                    "consul.service", "trino", "consul.pem.directory", tls.toString())));
            System.out.println("installed: " + installed);
            KeyStore keys = PemStores.keyStore(tls.resolve("consul-connect.pem"));
            KeyStore roots = PemStores.trustStore(tls.resolve("consul-connect-roots.pem"));

            SSLContext serverContext = SSLContext.getInstance("TLS");
            KeyManagerFactory skm = KeyManagerFactory.getInstance("SunX509");
            skm.init(keys, new char[0]);
            TrustManagerFactory stm = TrustManagerFactory.getInstance("PKIX");
            stm.init(roots);
            serverContext.init(skm.getKeyManagers(), stm.getTrustManagers(), new SecureRandom());

            SslContextFactory.Client jdk = client(keys, roots, "SunX509", "PKIX", null);
            SslContextFactory.Client ours = client(keys, roots, KeyManagerFactory.getDefaultAlgorithm(),
                    TrustManagerFactory.getDefaultAlgorithm(), "HTTPS");
            try (SSLServerSocket server = (SSLServerSocket) serverContext.getServerSocketFactory()
                    .createServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
                server.setNeedClientAuth(true);
                AtomicBoolean running = new AtomicBoolean(true);
                Thread acceptor = new Thread(() -> serve(server, running), "bench-server");
                acceptor.setDaemon(true);
                acceptor.start();
                List<Double> jdkRates = new ArrayList<>();
                List<Double> ourRates = new ArrayList<>();
                round(jdk, server.getLocalPort(), 2); // warm-up
                round(ours, server.getLocalPort(), 2);
                for (int r = 0; r < rounds; r++) {
                    jdkRates.add(round(jdk, server.getLocalPort(), seconds));
                    ourRates.add(round(ours, server.getLocalPort(), seconds));
                    System.out.printf("round %d: JDK %.1f/s, ours %.1f/s%n", r + 1, jdkRates.get(r), ourRates.get(r));
                }
                double j = median(jdkRates);
                double o = median(ourRates);
                System.out.printf("median full handshakes/s: JDK managers (host names unchecked) %.1f, "
                        + "ours (live leaf, SPIFFE check) %.1f, ratio ours/JDK %.2f%n", j, o, o / j);
                running.set(false);
            } finally {
                jdk.stop();
                ours.stop();
            }
        }
    }

    private static SslContextFactory.Client client(KeyStore keys, KeyStore roots, String kmf, String tmf,
            String endpointIdentification) throws Exception {
        SslContextFactory.Client f = new SslContextFactory.Client();
        f.setKeyStore(keys);
        f.setKeyStorePassword("");
        f.setTrustStore(roots);
        f.setTrustStorePassword("");
        f.setKeyManagerFactoryAlgorithm(kmf);
        f.setTrustManagerFactoryAlgorithm(tmf);
        f.setEndpointIdentificationAlgorithm(endpointIdentification);
        f.start();
        return f;
    }

    /** Handshakes per second of one client for {@code seconds}, each on a new connection. */
    private static double round(SslContextFactory.Client client, int port, int seconds) throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long start = System.nanoTime();
        int n = 0;
        while (System.nanoTime() < end) {
            try (SSLSocket s = (SSLSocket) client.getSslContext().getSocketFactory()
                    .createSocket(InetAddress.getLoopbackAddress(), port)) {
                s.setTcpNoDelay(true);
                SSLParameters p = s.getSSLParameters();
                client.customize(p);
                s.setSSLParameters(p);
                s.startHandshake();
                if (s.getInputStream().read() != '1') {
                    throw new IllegalStateException("no byte from the server");
                }
                s.getSession().invalidate(); // the next connection does a full handshake
            }
            n++;
        }
        return n / ((System.nanoTime() - start) / 1e9);
    }

    private static void serve(SSLServerSocket server, AtomicBoolean running) {
        while (running.get()) {
            try (SSLSocket s = (SSLSocket) server.accept()) {
                s.setTcpNoDelay(true);
                s.startHandshake();
                s.getOutputStream().write('1');
                s.getOutputStream().flush();
                s.getSession().invalidate();
            } catch (Exception e) {
                if (running.get()) {
                    System.err.println("server: " + e);
                }
            }
        }
    }

    private static double median(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(sorted.size() / 2);
    }
}
