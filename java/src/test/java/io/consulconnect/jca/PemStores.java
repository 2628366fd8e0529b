package io.consulconnect.jca;

import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PEM files to in-memory key stores the way airlift's {@code PemReader} builds them for
 * Trino: a JKS key store with one key entry {@code "key"} (key + chain from one file), and a
 * JKS trust store with one certificate entry per certificate of the roots file.
 */
public final class PemStores {
    private static final Pattern BLOCK = Pattern.compile(
            "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

    private PemStores() {}

    /** Key store from a file holding a PKCS#8 key and the chain. */
    public static KeyStore keyStore(Path pem) throws Exception {
        String text = Files.readString(pem);
        PrivateKey key = null;
        List<Certificate> chain = new ArrayList<>();
        Matcher m = BLOCK.matcher(text);
        while (m.find()) {
            byte[] der = Base64.getMimeDecoder().decode(m.group(2));
            if (m.group(1).equals("PRIVATE KEY")) {
                key = key(der);
            } else if (m.group(1).equals("CERTIFICATE")) {
                chain.add(cert(der));
            }
        }
        if (key == null || chain.isEmpty()) {
            throw new IllegalArgumentException(pem + " has no PKCS#8 key or no certificate");
        }
        KeyStore store = KeyStore.getInstance("JKS");
        store.load(null, null);
        store.setKeyEntry("key", key, new char[0], chain.toArray(new Certificate[0]));
        return store;
    }

    /** Trust store from a file of certificates. */
    public static KeyStore trustStore(Path pem) throws Exception {
        KeyStore store = KeyStore.getInstance("JKS");
        store.load(null, null);
        Matcher m = BLOCK.matcher(Files.readString(pem));
        int i = 0;
        while (m.find()) {
            if (m.group(1).equals("CERTIFICATE")) {
                X509Certificate c = cert(Base64.getMimeDecoder().decode(m.group(2)));
                store.setCertificateEntry("cert" + (i++), c);
            }
        }
        return store;
    }

    private static PrivateKey key(byte[] der) throws Exception {
        for (String algorithm : List.of("EC", "RSA")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
            } catch (java.security.spec.InvalidKeySpecException e) {
                // try the next algorithm
            }
        }
        throw new IllegalArgumentException("unsupported private key");
    }

    private static X509Certificate cert(byte[] der) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }
}
