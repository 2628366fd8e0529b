package io.consulconnect.bench;

import io.consulconnect.ConnectAnswer;
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
import java.security.Principal;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * What Trino pays per request for Consul Connect authentication, through its
 * {@code CertificateAuthenticator} as Trino calls it (certificate encoding, the JNI crossing,
 * the native decision), against a real Consul dev agent. SampleTime: every benchmark
 * reports percentiles of single calls. Run all with {@code bash tests/bench/jmh.sh}, which
 * also prints the ratios between the decision paths.
 *
 * <ul>
 *   <li>{@code cachedAllow} / {@code cachedAllowTwoThreads}: an allowed client whose
 *       decision is cached (every request of a Trino coordinator after its first); two
 *       threads share the authenticator and the certificate, as Trino's request threads do.
 *   <li>{@code cachedDeny}: a client denied by an intention, cached; the refusal Trino gets
 *       (an exception) included.
 *   <li>{@code cold}: nothing cached: chain verification against the roots and a decision
 *       from the configured source ({@code consul.authz.decisions}): {@code agent} (an HTTP
 *       call to the agent's authorize endpoint) or {@code local} (intentions evaluated in
 *       process). Each call presents another of {@link Cold#CHAINS} leaves of distinct
 *       services into a cache far smaller than that, so every call is a miss.
 *   <li>{@code plainHttpAuthorize}: the simplest alternative a plugin could do — one Java HTTP
 *       call to the agent's authorize endpoint per request, no verification at all.
 * </ul>
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class AuthenticateBenchmark {

    /** A Consul dev agent with intentions: web → trino allowed, evil → trino denied. */
    @State(Scope.Benchmark)
    public static class Agent {
        ConsulDevAgent consul;
        CertificateAuthenticator authenticator;
        List<X509Certificate> web;
        List<X509Certificate> evil;
        HttpClient http;
        HttpRequest plainRequest;
        ConnectIdentity identity;
        long handle;
        byte[] webDer;

        /** Starts the agent and one authenticator with a long decision TTL, warmed. */
        @Setup(Level.Trial)
        public void start() throws Exception {
            consul = ConsulDevAgent.start();
            consul.intention("web", "trino", true);
            consul.intention("evil", "trino", false);
            authenticator = new ConnectAuthenticatorFactory().create(settings("agent", "10m", "1000"));
            web = chain(consul.leaf("web")[0]);
            evil = chain(consul.leaf("evil")[0]);
            authenticator.authenticate(web);
            identity = ConnectIdentity.open(settings("agent", "10m", "1000"));
            handle = identity.handle();
            webDer = web.get(0).getEncoded();
            String uri = web.get(0).getSubjectAlternativeNames().iterator().next().get(1).toString();
            String body = "{\"Target\":\"trino\",\"ClientCertURI\":\"" + uri + "\",\"ClientCertSerial\":\""
                    + consul.leaf("web")[2] + "\"}";
            http = HttpClient.newHttpClient();
            plainRequest = HttpRequest.newBuilder(URI.create(consul.address() + "/v1/agent/connect/authorize"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        }

        Map<String, String> settings(String decisions, String ttl, String cacheSize) {
            Map<String, String> settings = new HashMap<>();
            settings.put("consul.address", consul.address());
            settings.put("consul.service", "trino");
            settings.put("consul.authz.cache-ttl", ttl);
            settings.put("consul.authz.cache-size", cacheSize);
            if (!"agent".equals(decisions)) {
                settings.put("consul.authz.decisions", decisions);
            }
            return settings;
        }

        /** Stops the agent. */
        @TearDown(Level.Trial)
        public void stop() {
            identity.close();
            consul.close();
        }
    }

    /** Leaves of {@link #CHAINS} distinct services, all allowed, for decisions never cached. */
    @State(Scope.Benchmark)
    public static class Cold {
        static final int CHAINS = 256;

        @Param({"agent", "local"})
        public String decisions;

        CertificateAuthenticator authenticator;
        List<List<X509Certificate>> chains = new ArrayList<>();
        int next;

        /** Issues the leaves and an authenticator whose cache holds 4 decisions. */
        @Setup(Level.Trial)
        public void start(Agent agent) throws Exception {
            agent.consul.intention("*", "trino", true);
            for (int i = 0; i < CHAINS; i++) {
                chains.add(chain(agent.consul.leaf("client-" + i)[0]));
            }
            authenticator = new ConnectAuthenticatorFactory().create(agent.settings(decisions, "10m", "4"));
            // Local decisions need the intentions list and the default answer first.
            for (long end = System.nanoTime() + 30_000_000_000L; ; Thread.sleep(100)) {
                try {
                    authenticator.authenticate(chains.get(0));
                    break;
                } catch (Exception notYet) {
                    if (System.nanoTime() > end) {
                        throw notYet;
                    }
                }
            }
            for (List<X509Certificate> c : chains) {
                authenticator.authenticate(c);
            }
        }

        List<X509Certificate> next() {
            next = (next + 1) % CHAINS;
            return chains.get(next);
        }
    }

    /**
     * A cached allow, one thread.
     *
     * @param agent the agent state
     * @return the principal
     */
    @Benchmark
    public Principal cachedAllow(Agent agent) {
        return agent.authenticator.authenticate(agent.web);
    }

    /**
     * A cached allow, two threads on one authenticator and one certificate.
     *
     * @param agent the agent state
     * @return the principal
     */
    @Benchmark
    @Threads(2)
    public Principal cachedAllowTwoThreads(Agent agent) {
        return agent.authenticator.authenticate(agent.web);
    }

    /**
     * A cached deny (an intention denies {@code evil}), the refusal included.
     *
     * @param agent the agent state
     * @return the refusal
     */
    @Benchmark
    public Object cachedDeny(Agent agent) {
        try {
            return agent.authenticator.authenticate(agent.evil);
        } catch (Exception refused) { // Trino's checked AuthenticationException, thrown undeclared
            return refused;
        }
    }

    /**
     * Part of {@code cachedAllow}: the certificate encoding Trino's authenticator does
     * ({@code getEncoded()} copies the DER bytes).
     *
     * @param agent the agent state
     * @return the encoded chain
     * @throws Exception never
     */
    @Benchmark
    public byte[] partEncode(Agent agent) throws Exception {
        return agent.web.get(0).getEncoded();
    }

    /**
     * Part of {@code cachedAllow}: the native call alone, on an encoded certificate.
     *
     * @param agent the agent state
     * @return the answer
     */
    @Benchmark
    public ConnectAnswer partNative(Agent agent) {
        return NativeBridge.authenticate(agent.handle, agent.webDer);
    }

    /**
     * The floor of any native call: one JNI crossing, the handle lookup and an atomic read.
     *
     * @param agent the agent state
     * @return the snapshot generation
     */
    @Benchmark
    public long partCrossing(Agent agent) {
        return NativeBridge.generation(agent.handle);
    }

    /**
     * A decision with nothing cached: chain verification and the decision source.
     *
     * @param cold the leaves and their authenticator
     * @return the principal
     */
    @Benchmark
    public Principal cold(Cold cold) {
        return cold.authenticator.authenticate(cold.next());
    }

    /**
     * One Java HTTP call to the agent's authorize endpoint, no verification.
     *
     * @param agent the agent state
     * @return the answer's body
     * @throws Exception if the call fails
     */
    @Benchmark
    public String plainHttpAuthorize(Agent agent) throws Exception {
        String body = agent.http.send(agent.plainRequest, HttpResponse.BodyHandlers.ofString()).body();
        if (!body.replace(" ", "").contains("\"Authorized\":true")) {
            throw new IllegalStateException(body);
        }
        return body;
    }

    static List<X509Certificate> chain(String pem) throws Exception {
        return List.of((X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII))));
    }
}
