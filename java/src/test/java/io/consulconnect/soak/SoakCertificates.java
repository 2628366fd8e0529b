package io.consulconnect.soak;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Certificates the soak makes itself, with the JDK's {@code keytool} (no internal JDK API,
 * no other tool): CA roots handed to Consul (EC P-256, PKCS#8 key), self-signed leaves,
 * and leaves signed by a given CA key with chosen dates and a chosen SPIFFE URI.
 */
final class SoakCertificates {
    private static final String PASS = "soakpass";
    private final Path dir;
    private final String keytool;
    private int counter;

    SoakCertificates(Path dir) {
        this.dir = dir;
        this.keytool = Path.of(System.getProperty("java.home"), "bin", "keytool").toString();
    }

    /** A CA: its keystore (alias {@code ca}), PEM certificate and PKCS#8 PEM key. */
    static final class Ca {
        final Path keystore;
        final String certPem;
        final String keyPem;
        final X509Certificate cert;

        Ca(Path keystore, String certPem, String keyPem, X509Certificate cert) {
            this.keystore = keystore;
            this.certPem = certPem;
            this.keyPem = keyPem;
            this.cert = cert;
        }
    }

    /**
     * A new EC P-256 CA (basicConstraints CA, keyCertSign), valid ten years.
     *
     * @param dn its subject
     */
    synchronized Ca newCa(String dn) throws Exception {
        Path ks = dir.resolve("ca-" + (++counter) + ".p12");
        run(keytool, "-genkeypair", "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", PASS,
                "-keypass", PASS, "-alias", "ca", "-keyalg", "EC", "-groupname", "secp256r1",
                "-sigalg", "SHA256withECDSA", "-dname", dn, "-validity", "3650",
                "-ext", "bc:c=ca:true", "-ext", "ku:c=keyCertSign,cRLSign");
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            store.load(in, PASS.toCharArray());
        }
        PrivateKey key = (PrivateKey) store.getKey("ca", PASS.toCharArray());
        X509Certificate cert = (X509Certificate) store.getCertificate("ca");
        return new Ca(ks, pem("CERTIFICATE", cert.getEncoded()), pem("PRIVATE KEY", key.getEncoded()), cert);
    }

    /**
     * A self-signed, non-CA leaf carrying {@code uri} as its only URI SAN.
     *
     * @param uri e.g. a SPIFFE id of the real trust domain
     */
    synchronized X509Certificate selfSigned(String uri) throws Exception {
        Path ks = dir.resolve("self-" + (++counter) + ".p12");
        run(keytool, "-genkeypair", "-keystore", ks.toString(), "-storetype", "PKCS12", "-storepass", PASS,
                "-keypass", PASS, "-alias", "leaf", "-keyalg", "EC", "-groupname", "secp256r1",
                "-dname", "CN=self-signed", "-validity", "30", "-ext", "san=uri:" + uri,
                "-ext", "eku=serverAuth,clientAuth");
        KeyStore store = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(ks)) {
            store.load(in, PASS.toCharArray());
        }
        return (X509Certificate) store.getCertificate("leaf");
    }

    /**
     * A leaf for {@code uri} signed by {@code ca}.
     *
     * @param startDate keytool's {@code -startdate} (e.g. {@code -3d}), or null for now
     * @param validityDays days of validity from the start
     */
    synchronized X509Certificate signedLeaf(Ca ca, String uri, String startDate, int validityDays) throws Exception {
        int n = ++counter;
        Path leafKs = dir.resolve("leaf-" + n + ".p12");
        Path csr = dir.resolve("leaf-" + n + ".csr");
        Path out = dir.resolve("leaf-" + n + ".pem");
        run(keytool, "-genkeypair", "-keystore", leafKs.toString(), "-storetype", "PKCS12", "-storepass", PASS,
                "-keypass", PASS, "-alias", "leaf", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=leaf");
        run(keytool, "-certreq", "-keystore", leafKs.toString(), "-storetype", "PKCS12", "-storepass", PASS,
                "-alias", "leaf", "-file", csr.toString());
        List<String> cmd = new ArrayList<>(List.of(keytool, "-gencert", "-keystore", ca.keystore.toString(),
                "-storetype", "PKCS12", "-storepass", PASS, "-alias", "ca", "-infile", csr.toString(),
                "-outfile", out.toString(), "-rfc", "-validity", Integer.toString(validityDays),
                "-ext", "san=uri:" + uri, "-ext", "eku=serverAuth,clientAuth",
                "-ext", "ku:c=digitalSignature,keyAgreement"));
        if (startDate != null) {
            cmd.add("-startdate");
            cmd.add(startDate);
        }
        run(cmd.toArray(new String[0]));
        return parse(Files.readString(out, StandardCharsets.US_ASCII)).get(0);
    }

    /** Every certificate of a PEM text, in order. */
    static List<X509Certificate> parse(String pem) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        for (Certificate c : CertificateFactory.getInstance("X.509")
                .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
            out.add((X509Certificate) c);
        }
        return out;
    }

    static String pem(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    private static void run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        byte[] output = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException("keytool timed out: " + String.join(" ", cmd));
        }
        if (p.exitValue() != 0) {
            throw new IOException("keytool failed (" + p.exitValue() + "): " + String.join(" ", cmd) + "\n"
                    + new String(output, StandardCharsets.UTF_8));
        }
    }
}
