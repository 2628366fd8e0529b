package io.consulconnect.jca;

import java.io.InputStream;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Child JVM of {@link ConnectAgentTest}, started with {@code -javaagent}: it builds TLS clients
 * the way airlift's HTTP client does (Jetty's {@code SslContextFactory.Client} with a key store
 * and a trust store, host-name verification on) and prints what each connection saw.
 *
 * <p>Commands (args): {@code consul <pemDir> <port>} connects with the Consul PEM files
 * ({@code consul-mixed <pemDir> <port> <extraCaPem>}: plus a non-Consul CA in the trust store);
 * {@code plain <keyStore.p12> <trustStore.p12> <port>} connects with ordinary PKCS#12 stores.
 */
public final class AgentChild {
    private AgentChild() {}

    public static void main(String[] args) throws Exception {
        System.out.println("KMF " + KeyManagerFactory.getDefaultAlgorithm());
        System.out.println("TMF " + TrustManagerFactory.getDefaultAlgorithm());
        SslContextFactory.Client jetty = new SslContextFactory.Client();
        jetty.setEndpointIdentificationAlgorithm("HTTPS");
        int port;
        if (args[0].startsWith("consul")) {
            Path dir = Path.of(args[1]);
            jetty.setKeyStore(PemStores.keyStore(dir.resolve("consul-connect.pem")));
            jetty.setKeyStorePassword("");
            KeyStore trust = PemStores.trustStore(dir.resolve("consul-connect-roots.pem"));
            if (args[0].equals("consul-mixed")) {
                // A trust store with one more, non-Consul CA: still ours, the extra CA ignored.
                trust.setCertificateEntry("extra", PemStores.trustStore(Path.of(args[3])).getCertificate("cert0"));
            }
            jetty.setTrustStore(trust);
            jetty.setTrustStorePassword("");
            port = Integer.parseInt(args[2]);
        } else {
            jetty.setKeyStore(load(args[1]));
            jetty.setKeyStorePassword("changeit");
            jetty.setTrustStore(load(args[2]));
            jetty.setTrustStorePassword("changeit");
            port = Integer.parseInt(args[3]);
        }
        jetty.start();
        try {
            try (SSLSocket s = (SSLSocket) jetty.getSslContext().getSocketFactory()
                    .createSocket("localhost", port)) {
                javax.net.ssl.SSLParameters parameters = s.getSSLParameters();
                jetty.customize(parameters);
                s.setSSLParameters(parameters);
                System.out.println("ENDPOINT-ID " + s.getSSLParameters().getEndpointIdentificationAlgorithm());
                s.startHandshake();
                if (s.getInputStream().read() != '1') {
                    throw new IllegalStateException("no byte from the server");
                }
                System.out.println("CONNECTED " + s.getSession().getPeerCertificates().length);
            } catch (javax.net.ssl.SSLException e) {
                System.out.println("REFUSED " + e);
            }
        } finally {
            jetty.stop();
        }
    }

    private static KeyStore load(String file) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(file))) {
            ks.load(in, "changeit".toCharArray());
        }
        return ks;
    }
}
