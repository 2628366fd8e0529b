package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import io.consulconnect.agent.ConnectAgent;
import io.consulconnect.testing.ConsulDevAgent;
import io.consulconnect.testing.ForgedCa;
import java.io.File;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * The JVM-level part ({@code -javaagent}) in a child JVM that builds its TLS clients the way
 * Trino's internal HTTP clients do (Jetty's {@code SslContextFactory} with host-name
 * verification on): Consul key and trust stores get the live Consul managers and a SPIFFE
 * check instead of the host name; every other store gets the JDK's managers, unchanged.
 */
public class ConnectAgentTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();
    private static Path dir;
    private static Path settings;

    @BeforeClass
    public static void start() throws Exception {
        dir = Files.createTempDirectory("pcc-agent");
        settings = dir.resolve("consul-connect.properties");
        Files.writeString(settings, String.join("\n",
                "consul.address=" + consul.address(),
                "consul.service=trino",
                "consul.pem.directory=" + dir.resolve("tls"), ""));
    }

    private static SSLContext server(String service) {
        return ConnectSsl.forService(service).properties(Map.of("consul.address", consul.address()))
                .intentions(false).server();
    }

    @Test
    public void consulStoresPresentTheLiveLeafAndCheckTheServersService() throws Exception {
        try (LoopbackServer trino = new LoopbackServer(server("trino"))) {
            String out = child("consul", dir.resolve("tls").toString(), Integer.toString(trino.port()));
            assertTrue(out, out.contains("KMF " + ConnectJvm.ALGORITHM));
            assertTrue(out, out.contains("TMF " + ConnectJvm.ALGORITHM));
            assertTrue(out, out.contains("ENDPOINT-ID HTTPS"));
            assertTrue(out, out.contains("CONNECTED"));
            // The key store came from the PEM file the agent wrote; what the server saw is the
            // live leaf of the agent's identity, through our key manager.
            LoopbackServer.Seen seen = trino.next();
            assertTrue(String.valueOf(seen.error()), seen.ok());
            assertEquals("trino", seen.peer().service());
        }
        // Host-name verification is on, the server's leaf names no host: only the SPIFFE check
        // decides. Another service of the same CA is refused.
        try (LoopbackServer web = new LoopbackServer(server("web"))) {
            String out = child("consul", dir.resolve("tls").toString(), Integer.toString(web.port()));
            assertTrue(out, out.contains("REFUSED"));
            assertTrue(out, out.contains("not to the expected service `trino`"));
        }
    }

    @Test
    public void aTrustStoreMixingConsulRootsAndAnotherCaIsTakenOverWithAWarning() throws Exception {
        Path extra = selfSigned(Files.createDirectories(dir.resolve("mixed")), "other-ca", "dns:other.invalid");
        try (LoopbackServer trino = new LoopbackServer(server("trino"));
                LoopbackServer web = new LoopbackServer(server("web"))) {
            String out = child("consul-mixed", dir.resolve("tls").toString(), Integer.toString(trino.port()),
                    extra.toString());
            assertTrue(out, out.contains("CONNECTED"));
            assertTrue(out, out.contains("holds Consul roots and 1 other certificate(s); the others are not trusted"));
            LoopbackServer.Seen seen = trino.next();
            assertTrue(String.valueOf(seen.error()), seen.ok());
            out = child("consul-mixed", dir.resolve("tls").toString(), Integer.toString(web.port()), extra.toString());
            assertTrue(out, out.contains("not to the expected service `trino`"));
        }
    }

    @Test
    public void otherStoresStayWithTheJdk() throws Exception {
        Path plain = Files.createDirectories(dir.resolve("plain"));
        Path good = selfSigned(plain, "localhost", "dns:localhost");
        Path wrongHost = selfSigned(plain, "elsewhere", "dns:elsewhere.invalid");
        Path client = selfSigned(plain, "client", "dns:client.invalid");
        Path trust = plain.resolve("trust.p12");
        for (Path cert : List.of(good, wrongHost, client)) {
            ForgedCa.keytool("-importcert", "-keystore", trust.toString(), "-alias",
                    cert.getFileName().toString(), "-file", cert.toString());
        }
        try (LoopbackServer server = new LoopbackServer(pkcs12(plain.resolve("localhost.p12"), trust))) {
            String out = child("plain", plain.resolve("client.p12").toString(), trust.toString(),
                    Integer.toString(server.port()));
            assertTrue(out, out.contains("CONNECTED"));
        }
        // The JDK's trust manager still verifies host names for stores that are not ours.
        try (LoopbackServer server = new LoopbackServer(pkcs12(plain.resolve("elsewhere.p12"), trust))) {
            String out = child("plain", plain.resolve("client.p12").toString(), trust.toString(),
                    Integer.toString(server.port()));
            assertTrue(out, out.contains("REFUSED"));
            assertTrue(out, out.contains("No subject alternative DNS name matching localhost"));
        }
    }

    @Test
    public void theVersionProbeOfTrinosLauncherDoesNotOpenAnIdentity() throws Exception {
        // Trino's launcher runs `java <jvm.config lines> -version` first: no application, so
        // the agent must not wait for Consul there.
        Path probe = Files.createTempDirectory("pcc-probe");
        Path bad = probe.resolve("bad.properties");
        Files.writeString(bad, "consul.address=http://127.0.0.1:1\nconsul.service=trino\n"
                + "consul.pem.directory=" + probe.resolve("tls") + "\n");
        Process p = new ProcessBuilder(java(), "-javaagent:" + jar() + "=" + bad, "-version")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("probe did not finish", p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        assertFalse(Files.exists(probe.resolve("tls")));
    }

    @Test
    public void anUnreachableAgentStopsTheJvmWithTheReason() throws Exception {
        Path bad = Files.createTempDirectory("pcc-bad").resolve("bad.properties");
        Files.writeString(bad, "consul.address=http://127.0.0.1:1\nconsul.service=trino\n"
                + "consulconnect.ready-timeout=2s\n");
        Process p = new ProcessBuilder(java(), "-javaagent:" + jar() + "=" + bad, "-cp", classPath(),
                AgentChild.class.getName(), "consul", "/nonexistent", "1").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("child did not finish", p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(out, p.exitValue() != 0);
        assertTrue(out, out.contains("consul-connect: cannot start:"));
        assertTrue(out, out.contains("127.0.0.1:1"));
        assertFalse(out, out.contains("KMF "));
    }

    private static SSLContext pkcs12(Path keys, Path trust) throws Exception {
        char[] password = "changeit".toCharArray();
        KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
        kmf.init(load(keys), password);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(load(trust));
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    private static KeyStore load(Path file) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(file)) {
            ks.load(in, "changeit".toCharArray());
        }
        return ks;
    }

    /** A self-signed EC certificate in NAME.p12 (alias NAME); returns its exported cert file. */
    private static Path selfSigned(Path dir, String name, String san) throws Exception {
        Path store = dir.resolve(name + ".p12");
        Path cert = dir.resolve(name + ".crt");
        ForgedCa.keytool("-genkeypair", "-keystore", store.toString(), "-alias", name, "-keyalg", "EC",
                "-groupname", "secp256r1", "-dname", "CN=" + name, "-ext", "san=" + san, "-validity", "2");
        ForgedCa.keytool("-exportcert", "-keystore", store.toString(), "-alias", name, "-rfc", "-file",
                cert.toString());
        return cert;
    }

    private static String child(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(java(), "-javaagent:" + jar() + "=" + settings,
                "-cp", classPath(), AgentChild.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue("child did not finish: " + out, p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(out, 0, p.exitValue());
        return out;
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static String jar() throws Exception {
        return codeSource(ConnectAgent.class);
    }

    /** The test classes and Jetty (not our jar: the agent puts it on the class path itself). */
    private static String classPath() throws Exception {
        return String.join(File.pathSeparator, codeSource(AgentChild.class),
                codeSource(org.eclipse.jetty.util.ssl.SslContextFactory.class),
                codeSource(org.slf4j.LoggerFactory.class));
    }

    private static String codeSource(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
