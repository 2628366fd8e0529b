package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.consulconnect.testing.ForgedCa;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import javax.net.ssl.SSLContext;
import org.junit.Test;

/**
 * RSA leaves. Consul's built-in CA has the agent generate EC leaf keys whatever the CA's own
 * key type, so RSA material comes here through the files identity source (PEM files another
 * tool wrote), signed by an RSA CA made with keytool. Also: the intention check fails closed
 * when no agent can decide.
 */
public class ConnectRsaTest {
    private static final String TRUST_DOMAIN = "11111111-2222-3333-4444-555555555555.consul";

    private static Map<String, String> files(Path dir, ForgedCa ca, String service) throws Exception {
        ForgedCa.Leaf m = ca.leaf("spiffe://" + TRUST_DOMAIN + "/ns/default/dc/dc1/svc/" + service);
        Path key = dir.resolve(service + ".key");
        Path chain = dir.resolve(service + ".crt");
        Path roots = dir.resolve("roots.crt");
        Files.writeString(key, ForgedCa.pem("PRIVATE KEY", m.key().getEncoded()));
        Files.writeString(chain, ForgedCa.pem("CERTIFICATE", m.certificate().getEncoded()));
        Files.writeString(roots, ForgedCa.pem("CERTIFICATE", ca.certificate().getEncoded()));
        // No agent listens at this address: only the intention check would need one.
        return Map.of("consul.identity.source", "files", "consul.identity.files.key", key.toString(),
                "consul.identity.files.chain", chain.toString(), "consul.identity.files.roots", roots.toString(),
                "consul.address", "http://127.0.0.1:1", "consul.request-timeout", "1s");
    }

    @Test
    public void rsaLeavesCompleteMutualTls() throws Exception {
        Path dir = Files.createTempDirectory("pcc-rsa");
        ForgedCa ca = new ForgedCa(dir.resolve("ca"), "RSA");
        // No agent to ask for intentions here (with the check on, every client would be refused).
        SSLContext trino = ConnectSsl.forService("trino").properties(files(dir, ca, "trino")).intentions(false)
                .server();
        SSLContext web = ConnectSsl.forService("web").properties(files(dir, ca, "web")).client("trino");
        for (String protocol : new String[] {"TLSv1.3", "TLSv1.2"}) {
            try (LoopbackServer server = new LoopbackServer(trino)) {
                LoopbackServer.Seen client = LoopbackServer.connect(web, server.port(), protocol);
                LoopbackServer.Seen seen = server.next();
                assertTrue(protocol + ": " + client.error(), client.ok());
                assertTrue(protocol + ": " + seen.error(), seen.ok());
                assertEquals("RSA", client.peerChain()[0].getPublicKey().getAlgorithm());
                assertEquals("trino", client.peer().service());
                assertEquals("spiffe://" + TRUST_DOMAIN + "/ns/default/dc/dc1/svc/web", seen.peer().spiffeId());
            }
        }

        // With the intention check on and no agent to decide, the server fails closed.
        SSLContext checking = ConnectSsl.forService("trino").properties(files(dir, ca, "trino")).server();
        try (LoopbackServer server = new LoopbackServer(checking)) {
            assertFalse(LoopbackServer.connect(web, server.port()).ok());
            PeerRefusedException refused = TlsFixtures.cause(server.next().error(), PeerRefusedException.class);
            assertNotNull(refused);
            assertEquals(refused.getMessage(), "agent-unavailable", refused.code());
        }
    }
}
