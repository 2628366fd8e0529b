package io.consulconnect.bench;

import io.consulconnect.ConnectDecision;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.consulconnect.testing.ConsulDevAgent;
import io.consulconnect.trino.ConnectAuthenticatorFactory;
import io.trino.spi.security.CertificateAuthenticator;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Authentication cost through Java against a real Consul agent: the authenticator's cached
 * path (including certificate encoding and the JNI crossing), the uncached path (chain
 * verification plus an authorize call to the agent), and the plain way — a Java HTTP call
 * to the agent's authorize endpoint per request — for comparison. Median and p99 over
 * batches. Run with {@code gradle benchmark -Pbench=AuthBenchmark}.
 */
public final class AuthBenchmark {
    private AuthBenchmark() {}

    /**
     * Entry point.
     *
     * @param args ignored
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        try (ConsulDevAgent consul = ConsulDevAgent.start()) {
            consul.intention("web", "trino", true);
            // Decisions for a target other than the configured one are never cached.
            consul.intention("web", "reports", true);
            Map<String, String> config = Map.of("consul.address", consul.address(), "consul.service", "trino",
                    "consul.authz.cache-ttl", "10m");
            CertificateAuthenticator auth = new ConnectAuthenticatorFactory().create(config);
            String[] leaf = consul.leaf("web");
            List<X509Certificate> chain = List.of((X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(leaf[0].getBytes(StandardCharsets.US_ASCII))));
            String uri = chain.get(0).getSubjectAlternativeNames().iterator().next().get(1).toString();

            // Cached path: per-call times from batches of 1000 calls.
            for (int i = 0; i < 300_000; i++) {
                auth.authenticate(chain);
            }
            double[] cached = new double[2000];
            for (int b = 0; b < cached.length; b++) {
                long t = System.nanoTime();
                for (int i = 0; i < 1000; i++) {
                    auth.authenticate(chain);
                }
                cached[b] = (System.nanoTime() - t) / 1000.0;
            }
            report("cached authenticate() through JNI, ns/call (batches of 1000)", cached);

            // Single-call latency of the cached path (includes timer overhead ~20 ns).
            double[] single = new double[200_000];
            for (int i = 0; i < single.length; i++) {
                long t = System.nanoTime();
                auth.authenticate(chain);
                single[i] = System.nanoTime() - t;
            }
            report("cached authenticate(), single calls, ns", single);

            // Uncached: a target other than the configured one is always decided fresh
            // (chain verification + an authorize call to the agent).
            try (ConnectIdentity identity = ConnectIdentity.open(config)) {
                byte[][] der = {chain.get(0).getEncoded()};
                for (int i = 0; i < 200; i++) {
                    NativeBridge.authorizeDetailed(identity.handle(), der, "reports");
                }
                double[] fresh = new double[2000];
                for (int i = 0; i < fresh.length; i++) {
                    long t = System.nanoTime();
                    ConnectDecision a = NativeBridge.authorizeDetailed(identity.handle(), der, "reports");
                    fresh[i] = (System.nanoTime() - t) / 1000.0;
                    if (!a.allowed()) {
                        throw new IllegalStateException(a.toString());
                    }
                }
                report("uncached (verify + agent authorize), µs", fresh);
            }

            // The plain way: a Java HTTP call to the agent per request (no verification).
            HttpClient http = HttpClient.newHttpClient();
            String body = "{\"Target\":\"trino\",\"ClientCertURI\":\"" + uri + "\",\"ClientCertSerial\":\"" + leaf[2] + "\"}";
            HttpRequest request = HttpRequest.newBuilder(URI.create(consul.address() + "/v1/agent/connect/authorize"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            for (int i = 0; i < 200; i++) {
                http.send(request, HttpResponse.BodyHandlers.ofString());
            }
            double[] plain = new double[2000];
            for (int i = 0; i < plain.length; i++) {
                long t = System.nanoTime();
                HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
                plain[i] = (System.nanoTime() - t) / 1000.0;
                if (!r.body().replace(" ", "").contains("\"Authorized\":true")) {
                    throw new IllegalStateException(r.body());
                }
            }
            report("plain Java HTTP authorize call per request, µs", plain);
        }
    }

    private static void report(String what, double[] samples) {
        double[] s = samples.clone();
        Arrays.sort(s);
        System.out.printf("%s: median %.1f, p99 %.1f, max %.1f (n=%d)%n", what, s[s.length / 2],
                s[(int) (s.length * 0.99)], s[s.length - 1], s.length);
    }
}
