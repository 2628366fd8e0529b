package io.consulconnect.jca;

import io.consulconnect.testing.ForgedCa;
import java.io.ByteArrayInputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

/** Test peers that are not ours: fixed material, permissive or PKIX trust, forged leaves. */
final class TlsFixtures {
    private TlsFixtures() {}

    /** A fixed chain and key. (Not a record: Gradle 4.4.1's test scanner cannot read those.) */
    static final class Material {
        private final X509Certificate[] chain;
        private final PrivateKey key;

        Material(X509Certificate[] chain, PrivateKey key) {
            this.chain = chain;
            this.key = key;
        }

        X509Certificate[] chain() {
            return chain;
        }

        PrivateKey key() {
            return key;
        }

        String serial() {
            return consulSerial(chain[0]);
        }
    }

    /** The current material of a live identity, frozen. */
    static Material freeze(ConnectMaterial live) {
        ConnectMaterial.Generation g = live.current();
        return new Material(g.chain.clone(), g.key);
    }

    /** A peer with fixed material that trusts whatever the other side presents. */
    static SSLContext staticPeer(Material m) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {new FixedKeyManager(m)}, new TrustManager[] {new TrustAnything()},
                new SecureRandom());
        return ctx;
    }

    /** The usual JDK setup: a PKCS#12 key store with the material and a trust store with the roots. */
    static SSLContext pkcs12Peer(Material m, X509Certificate[] roots) throws Exception {
        char[] password = "changeit".toCharArray();
        KeyStore keys = KeyStore.getInstance("PKCS12");
        keys.load(null, null);
        keys.setKeyEntry("leaf", m.key(), password, m.chain());
        KeyStore trust = KeyStore.getInstance("PKCS12");
        trust.load(null, null);
        for (int i = 0; i < roots.length; i++) {
            trust.setCertificateEntry("root" + i, roots[i]);
        }
        // The JDK's defaults (SunX509 and PKIX), as an application without a provider gets them.
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(keys, password);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), tmf.getTrustManagers(), new SecureRandom());
        return ctx;
    }

    /** A leaf for {@code spiffeUri} signed by a fresh EC CA that Consul has never seen. */
    static Material forged(Path dir, String spiffeUri) throws Exception {
        ForgedCa ca = new ForgedCa(dir, "EC");
        ForgedCa.Leaf leaf = ca.leaf(spiffeUri);
        return new Material(new X509Certificate[] {leaf.certificate(), ca.certificate()}, leaf.key());
    }

    static List<X509Certificate> pem(String text) throws Exception {
        Collection<? extends java.security.cert.Certificate> certs = CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII)));
        List<X509Certificate> out = new ArrayList<>();
        for (var c : certs) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    /** A certificate's serial in Consul's colon-hex form (leading zero bytes dropped). */
    static String consulSerial(X509Certificate cert) {
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

    /** The single URI SAN of a certificate. */
    static String uri(X509Certificate cert) throws Exception {
        for (List<?> san : cert.getSubjectAlternativeNames()) {
            if ((Integer) san.get(0) == 6) {
                return (String) san.get(1);
            }
        }
        return null;
    }

    /** The first cause of type {@code type} in a chain of causes, or null. */
    static <T extends Throwable> T cause(Throwable t, Class<T> type) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        return null;
    }

    /** Presents fixed material whatever is asked. */
    private static final class FixedKeyManager extends X509ExtendedKeyManager {
        private final Material m;

        FixedKeyManager(Material m) {
            this.m = m;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return new String[] {"fixed"};
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return "fixed";
        }

        @Override
        public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
            return "fixed";
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] {"fixed"};
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return m.key().getAlgorithm().equals(keyType) ? "fixed" : null;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return m.key().getAlgorithm().equals(keyType) ? "fixed" : null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return m.chain().clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return m.key();
        }
    }

    /** The adversary's (or a fixture's) trust: anything. Never used for the side under test. */
    private static final class TrustAnything extends X509ExtendedTrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
