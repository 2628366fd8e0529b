package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.consulconnect.testing.ConsulDevAgent;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Security;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.ClassRule;
import org.junit.Test;

/** The provider selected only by a java.security file, in a JVM that never calls this library. */
public class ConnectJavaSecurityTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    @Test
    public void aJavaSecurityFileMakesTheDefaultSslContextAConnectOne() throws Exception {
        Path dir = Files.createTempDirectory("pcc-javasec");
        // Providers are read as security.provider.1, .2, ... up to the first gap: take the next number.
        int next = 1;
        while (Security.getProperty("security.provider." + next) != null) {
            next++;
        }
        Path security = dir.resolve("connect.java.security");
        Files.writeString(security, String.join("\n",
                "security.provider." + next + "=" + ConnectProvider.class.getName(),
                "ssl.KeyManagerFactory.algorithm=ConsulConnect",
                "ssl.TrustManagerFactory.algorithm=ConsulConnect", ""));
        Path settings = dir.resolve("consulconnect.properties");
        Files.writeString(settings, String.join("\n",
                "consul.address=" + consul.address(),
                "consul.service=web",
                "consulconnect.expect=trino", ""));

        String classPath = String.join(File.pathSeparator,
                codeSource(JavaSecurityChild.class), codeSource(ConnectProvider.class));
        try (LoopbackServer trino = new LoopbackServer(ConnectSsl.forService("trino")
                .properties(Map.of("consul.address", consul.address())).server())) {
            Process child = new ProcessBuilder(List.of(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Djava.security.properties=" + security,
                    "-D" + ConnectConfig.PROPERTIES_FILE + "=" + settings,
                    "-cp", classPath, JavaSecurityChild.class.getName(), Integer.toString(trino.port())))
                    .redirectErrorStream(true).start();
            String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue("child did not finish", child.waitFor(60, TimeUnit.SECONDS));
            assertEquals(out, 0, child.exitValue());
            assertTrue(out, out.contains("KMF ConsulConnect"));
            assertTrue(out, out.contains("TMF ConsulConnect"));
            assertTrue(out, out.matches("(?s).*PEER spiffe://[^ ]+/svc/trino\\R.*"));
            assertEquals("web", trino.next().peer().service());
        }
    }

    private static String codeSource(Class<?> c) throws Exception {
        return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    }
}
