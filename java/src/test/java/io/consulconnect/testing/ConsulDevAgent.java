package io.consulconnect.testing;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.rules.ExternalResource;

/**
 * A real {@code consul agent -dev} on loopback and free ports, for JUnit tests. The binary
 * comes from the {@code consulconnect.test.consulBin} system property (the build passes
 * {@code CONSUL_BIN}, which {@code tests/scripts/ensure-consul.sh} provides).
 *
 * <p>A test class gets its own agent, started before its first test and stopped after its
 * last, with
 * <pre>{@code @ClassRule public static final ConsulDevAgent consul = ConsulDevAgent.rule();}</pre>
 * Other code (benchmarks, a second agent within one test) uses {@link #start()} and
 * {@link #close()}, e.g. in try-with-resources.
 */
public final class ConsulDevAgent extends ExternalResource implements AutoCloseable {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private Process process;
    private Path dir;
    private int httpPort;

    private ConsulDevAgent() {
    }

    /**
     * An agent for a JUnit {@code @ClassRule} (or {@code @Rule}): started before the tests,
     * stopped after them, also when they fail.
     *
     * @return the agent, not running yet
     */
    public static ConsulDevAgent rule() {
        return new ConsulDevAgent();
    }

    /**
     * Starts an agent and waits until it serves the Connect CA roots.
     *
     * @return the running agent
     * @throws Exception if it does not start within a minute
     */
    public static ConsulDevAgent start() throws Exception {
        ConsulDevAgent agent = new ConsulDevAgent();
        agent.before();
        return agent;
    }

    /** Starts the agent and waits until it serves the Connect CA roots (a minute at most). */
    @Override
    protected void before() throws Exception {
        if (process != null) {
            throw new IllegalStateException("this Consul agent is already running");
        }
        String binary = System.getProperty("consulconnect.test.consulBin", System.getenv("CONSUL_BIN"));
        if (binary == null || binary.isEmpty()) {
            throw new IllegalStateException("no Consul binary: set CONSUL_BIN (tests/scripts/ensure-consul.sh prints it)");
        }
        dir = Files.createTempDirectory("pcc-consul");
        int[] ports = freePorts(4);
        httpPort = ports[0];
        ProcessBuilder pb = new ProcessBuilder(
                binary, "agent", "-dev", "-bind=127.0.0.1", "-client=127.0.0.1", "-advertise=127.0.0.1",
                "-node=pcc-junit", "-log-level=warn", "-dns-port=-1", "-grpc-port=-1", "-grpc-tls-port=-1",
                "-disable-host-node-id", "-http-port=" + httpPort, "-serf-lan-port=" + ports[1],
                "-serf-wan-port=" + ports[2], "-server-port=" + ports[3])
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("consul.log").toFile());
        process = pb.start();
        try {
            awaitReady();
        } catch (Exception e) {
            close();
            throw e;
        }
    }

    /** Stops the agent. */
    @Override
    protected void after() {
        close();
    }

    private void awaitReady() throws Exception {
        Instant deadline = Instant.now().plusSeconds(60);
        while (Instant.now().isBefore(deadline)) {
            if (!process.isAlive()) {
                throw new IllegalStateException("consul exited early:\n" + log());
            }
            try {
                if (get("/v1/agent/connect/ca/roots").contains("\"RootCert\"")) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("consul did not become ready in 60s:\n" + log());
    }

    /** @return {@code http://127.0.0.1:<port>} */
    public String address() {
        if (process == null) {
            throw new IllegalStateException("the Consul agent is not running (a @ClassRule field, or start())");
        }
        return "http://127.0.0.1:" + httpPort;
    }

    /**
     * GET against the agent.
     *
     * @param path e.g. {@code /v1/agent/connect/ca/roots}
     * @return the body of a 200 response
     * @throws IOException on any other status
     * @throws InterruptedException if interrupted
     */
    public String get(String path) throws IOException, InterruptedException {
        return send("GET", path, null);
    }

    /**
     * Sends a request to the agent.
     *
     * @param method HTTP method
     * @param path agent path
     * @param body JSON body or null
     * @return the body of a 2xx response
     * @throws IOException on any other status
     * @throws InterruptedException if interrupted
     */
    public String send(String method, String path, String body) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(address() + path))
                .timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body))
                .build();
        HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IOException(method + " " + path + " -> " + response.statusCode() + ": " + response.body());
        }
        return response.body();
    }

    /**
     * Sets the intention {@code source → destination}.
     *
     * @param source source service
     * @param destination destination service
     * @param allow allow or deny
     * @throws Exception on failure
     */
    public void intention(String source, String destination, boolean allow) throws Exception {
        send("PUT", "/v1/connect/intentions/exact?source=" + source + "&destination=" + destination,
                "{\"Action\":\"" + (allow ? "allow" : "deny") + "\"}");
    }

    /**
     * A leaf certificate for a service, as Consul issues it.
     *
     * @param service service name
     * @return {@code {certPem, privateKeyPem, serial}}
     * @throws Exception on failure
     */
    public String[] leaf(String service) throws Exception {
        String body = get("/v1/agent/connect/ca/leaf/" + service);
        return new String[] {jsonString(body, "CertPEM"), jsonString(body, "PrivateKeyPEM"),
                jsonString(body, "SerialNumber")};
    }

    /**
     * Rotates the built-in CA to a new key; Consul cross-signs and re-issues leaves.
     *
     * @throws Exception on failure
     */
    public void rotateCa() throws Exception {
        send("PUT", "/v1/connect/ca/configuration",
                "{\"Provider\":\"consul\",\"Config\":{\"PrivateKeyType\":\"ec\",\"PrivateKeyBits\":384}}");
    }

    /**
     * Reads one string field of a flat JSON object (enough for Consul's answers here).
     *
     * @param json the JSON text
     * @param field the field name
     * @return the unescaped value
     */
    public static String jsonString(String json, String field) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(field) + "\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
        if (!m.find()) {
            throw new IllegalArgumentException("no string field " + field + " in " + json);
        }
        return m.group(1).replace("\\n", "\n").replace("\\\"", "\"").replace("\\u003c", "<")
                .replace("\\u003e", ">").replace("\\u0026", "&").replace("\\/", "/").replace("\\\\", "\\");
    }

    private String log() {
        try {
            return Files.readString(dir.resolve("consul.log"), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    /**
     * Distinct free loopback ports: every socket is held until all are chosen, since the
     * kernel may hand a just-released port out again (two agent listeners on one port stop
     * the agent at start).
     */
    private static int[] freePorts(int count) throws IOException {
        java.util.List<ServerSocket> held = new java.util.ArrayList<>();
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress());
                held.add(s);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } finally {
            for (ServerSocket s : held) {
                s.close();
            }
        }
    }

    /**
     * Stops the agent (TERM, then KILL after 10 s) and deletes its directory. Closing an
     * agent that is not running does nothing.
     */
    @Override
    public void close() {
        Process stopping = process;
        if (stopping == null) {
            return;
        }
        process = null;
        stopping.destroy();
        try {
            if (!stopping.waitFor(10, java.util.concurrent.TimeUnit.SECONDS)) {
                stopping.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            stopping.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
