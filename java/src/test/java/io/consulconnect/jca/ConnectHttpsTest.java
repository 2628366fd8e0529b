package io.consulconnect.jca;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsExchange;
import com.sun.net.httpserver.HttpsServer;
import io.consulconnect.testing.ConsulDevAgent;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import javax.net.ssl.HttpsURLConnection;
import javax.net.ssl.SSLContext;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * JDK HTTPS clients reach a Connect server by address; the SPIFFE identity check replaces the
 * host-name check, which is never simply switched off.
 */
public class ConnectHttpsTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();
    private static HttpsServer trino;
    private static HttpsServer api;

    @BeforeClass
    public static void start() throws Exception {
        trino = server("trino");
        api = server("api");
    }

    @AfterClass
    public static void stop() {
        for (HttpsServer s : new HttpsServer[] {trino, api}) {
            if (s != null) {
                s.stop(0);
            }
        }
    }

    private static Map<String, String> props() {
        return Map.of("consul.address", consul.address(), "consul.request-timeout", "2s");
    }

    /** An HTTPS server answering with the SPIFFE id of the verified client. */
    private static HttpsServer server(String service) throws IOException {
        HttpsServer server = HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 16);
        // The default configurator applies the context's default parameters: client auth required.
        server.setHttpsConfigurator(new HttpsConfigurator(ConnectSsl.forService(service).properties(props()).server()));
        server.createContext("/", exchange -> {
            String who = ConnectPeer.of(((HttpsExchange) exchange).getSSLSession())
                    .map(ConnectPeer::spiffeId).orElse("unverified");
            byte[] body = (service + " sees " + who).getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        return server;
    }

    private static URI uri(HttpsServer server) {
        return URI.create("https://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    private static SSLContext web(String expected) {
        return ConnectSsl.forService("web").properties(props()).client(expected);
    }

    @Test
    public void httpClientReachesTrinoByAddress() throws Exception {
        HttpClient client = HttpClient.newBuilder().sslContext(web("trino")).build();
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(uri(trino)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, response.statusCode());
        assertTrue(response.body(), response.body().matches("trino sees spiffe://.*/svc/web"));
    }

    @Test
    public void httpClientRefusesAnotherServiceAtTheSameKindOfAddress() {
        HttpClient client = HttpClient.newBuilder().sslContext(web("trino")).build();
        IOException e = assertThrows(IOException.class, () -> client.send(HttpRequest.newBuilder(uri(api)).build(),
                HttpResponse.BodyHandlers.ofString()));
        PeerRefusedException refused = TlsFixtures.cause(e, PeerRefusedException.class);
        assertNotNull(String.valueOf(e), refused);
        assertEquals("unexpected-identity", refused.code());
    }

    @Test
    public void httpsUrlConnectionWithTheDefaultHostnameVerifier() throws Exception {
        HttpsURLConnection c = (HttpsURLConnection) new URL(uri(trino).toString()).openConnection();
        c.setSSLSocketFactory(web("trino").getSocketFactory());
        assertEquals(200, c.getResponseCode());
        assertTrue(new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8).endsWith("/svc/web"));

        HttpsURLConnection wrong = (HttpsURLConnection) new URL(uri(api).toString()).openConnection();
        wrong.setSSLSocketFactory(web("trino").getSocketFactory());
        IOException e = assertThrows(IOException.class, wrong::getResponseCode);
        assertNotNull(String.valueOf(e), TlsFixtures.cause(e, PeerRefusedException.class));
    }

    @Test
    public void httpsUrlConnectionWithTheConnectHostnameVerifier() throws Exception {
        ConnectSsl.Builder web = ConnectSsl.forService("web").properties(props());
        HttpsURLConnection c = (HttpsURLConnection) new URL(uri(trino).toString()).openConnection();
        c.setSSLSocketFactory(web.client("trino").getSocketFactory());
        c.setHostnameVerifier(web.hostnameVerifier("trino"));
        assertEquals(200, c.getResponseCode());
        c.getInputStream().readAllBytes();

        // A verifier expecting another service refuses the same verified trino session.
        HttpsURLConnection other = (HttpsURLConnection) new URL(uri(trino).toString()).openConnection();
        other.setSSLSocketFactory(web.client("*").getSocketFactory());
        other.setHostnameVerifier(web.hostnameVerifier("api"));
        IOException e = assertThrows(IOException.class, other::getResponseCode);
        assertTrue(e.getMessage(), e.getMessage().contains("HTTPS hostname"));
    }
}
