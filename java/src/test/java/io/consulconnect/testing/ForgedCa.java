package io.consulconnect.testing;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A CA that Consul has never seen, made with the JDK's keytool, issuing leaves with a SPIFFE
 * URI and both TLS usages: chains of an unknown issuer, or material for the files identity
 * source. (No records here: Gradle 4.4.1's test scanner cannot read them.)
 */
public final class ForgedCa {
    private final Path dir;
    private final String keyAlgorithm;
    private final X509Certificate certificate;
    private int leaves;

    /** A leaf certificate and its key. */
    public static final class Leaf {
        private final X509Certificate certificate;
        private final PrivateKey key;

        Leaf(X509Certificate certificate, PrivateKey key) {
            this.certificate = certificate;
            this.key = key;
        }

        /** @return the leaf */
        public X509Certificate certificate() {
            return certificate;
        }

        /** @return its private key */
        public PrivateKey key() {
            return key;
        }
    }

    /**
     * Makes the CA.
     *
     * @param dir where the key stores go
     * @param keyAlgorithm {@code EC} (P-256) or {@code RSA} (2048 bits), for the CA and its leaves
     * @throws Exception if keytool fails
     */
    public ForgedCa(Path dir, String keyAlgorithm) throws Exception {
        this.dir = Files.createDirectories(dir);
        this.keyAlgorithm = keyAlgorithm;
        keytool(withKey("-genkeypair", "-keystore", file("ca.p12"), "-alias", "ca", "-dname", "CN=Forged Connect CA",
                "-ext", "bc:c", "-validity", "2"));
        keytool("-exportcert", "-keystore", file("ca.p12"), "-alias", "ca", "-rfc", "-file", file("ca.crt"));
        certificate = certificate(dir.resolve("ca.crt"));
    }

    /** @return the CA's certificate */
    public X509Certificate certificate() {
        return certificate;
    }

    /**
     * A leaf valid from now for one day.
     *
     * @param spiffeUri its URI SAN
     * @return the leaf and its key
     * @throws Exception if keytool fails
     */
    public Leaf leaf(String spiffeUri) throws Exception {
        return leaf(spiffeUri, null);
    }

    /**
     * A leaf valid for one day from {@code startdate}.
     *
     * @param spiffeUri its URI SAN
     * @param startdate keytool's relative start, e.g. {@code -86370S} (expires in 30 s), or null for now
     * @return the leaf and its key
     * @throws Exception if keytool fails
     */
    public Leaf leaf(String spiffeUri, String startdate) throws Exception {
        String n = "leaf" + (++leaves);
        keytool(withKey("-genkeypair", "-keystore", file(n + ".p12"), "-alias", "leaf", "-dname", "CN=forged",
                "-validity", "2"));
        keytool("-certreq", "-keystore", file(n + ".p12"), "-alias", "leaf", "-file", file(n + ".csr"));
        List<String> gencert = new ArrayList<>(List.of("-gencert", "-keystore", file("ca.p12"), "-alias", "ca",
                "-infile", file(n + ".csr"), "-outfile", file(n + ".crt"), "-rfc", "-validity", "1",
                "-ext", "san=uri:" + spiffeUri, "-ext", "eku=serverAuth,clientAuth",
                "-ext", "ku=digitalSignature," + (keyAlgorithm.equals("EC") ? "keyAgreement" : "keyEncipherment")));
        if (startdate != null) {
            gencert.addAll(List.of("-startdate", startdate));
        }
        keytool(gencert.toArray(new String[0]));
        KeyStore ks = KeyStore.getInstance("PKCS12");
        try (var in = Files.newInputStream(dir.resolve(n + ".p12"))) {
            ks.load(in, "changeit".toCharArray());
        }
        return new Leaf(certificate(dir.resolve(n + ".crt")), (PrivateKey) ks.getKey("leaf", "changeit".toCharArray()));
    }

    /**
     * PEM text of DER blocks.
     *
     * @param label the PEM label, e.g. {@code CERTIFICATE}
     * @param blocks the DER blocks
     * @return the PEM text
     */
    public static String pem(String label, byte[]... blocks) {
        StringBuilder out = new StringBuilder();
        for (byte[] block : blocks) {
            out.append("-----BEGIN ").append(label).append("-----\n")
                    .append(Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(block))
                    .append("\n-----END ").append(label).append("-----\n");
        }
        return out.toString();
    }

    /**
     * Runs the JDK's keytool on PKCS#12 stores with the password {@code changeit}.
     *
     * @param args its arguments
     * @throws Exception if it fails
     */
    public static void keytool(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "keytool").toString());
        command.addAll(List.of(args));
        command.addAll(List.of("-storetype", "PKCS12", "-storepass", "changeit", "-noprompt"));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("keytool " + String.join(" ", args) + " failed: " + out);
        }
    }

    private String[] withKey(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(keyAlgorithm.equals("EC") ? List.of("-keyalg", "EC", "-groupname", "secp256r1")
                : List.of("-keyalg", "RSA", "-keysize", "2048"));
        return all.toArray(new String[0]);
    }

    private String file(String name) {
        return dir.resolve(name).toString();
    }

    private static X509Certificate certificate(Path pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readString(pem).getBytes(StandardCharsets.US_ASCII)));
    }
}
