package io.consulconnect.metrics;

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
 * A CA Consul has never seen, made with the JDK's keytool, and leaves it signs for a SPIFFE
 * URI: chains of an unknown issuer, or material for the files identity source.
 */
final class Forged {
    private final Path dir;
    private final boolean rsa;
    final X509Certificate ca;
    private int leaves;

    /**
     * @param dir where the key stores go
     * @param rsa RSA keys (as the files source reads the JDK's PKCS#8 encoding of them), else EC P-256
     */
    Forged(Path dir, boolean rsa) throws Exception {
        this.dir = Files.createDirectories(dir);
        this.rsa = rsa;
        keytool(withKey("-genkeypair", "-keystore", file("ca.p12"), "-alias", "ca", "-dname", "CN=Forged Connect CA",
                "-ext", "bc:c", "-validity", "2"));
        keytool("-exportcert", "-keystore", file("ca.p12"), "-alias", "ca", "-rfc", "-file", file("ca.crt"));
        ca = certificate(dir.resolve("ca.crt"));
    }

    /** A leaf and its key. */
    static final class Leaf {
        final X509Certificate cert;
        final PrivateKey key;

        Leaf(X509Certificate cert, PrivateKey key) {
            this.cert = cert;
            this.key = key;
        }
    }

    /**
     * A leaf valid for one day from {@code startdate}.
     *
     * @param spiffeUri its URI SAN
     * @param startdate keytool's relative start, e.g. {@code -86370S} (expires in 30 s), or null for now
     */
    Leaf leaf(String spiffeUri, String startdate) throws Exception {
        String n = "leaf" + (++leaves);
        keytool(withKey("-genkeypair", "-keystore", file(n + ".p12"), "-alias", "leaf", "-dname", "CN=forged",
                "-validity", "2"));
        keytool("-certreq", "-keystore", file(n + ".p12"), "-alias", "leaf", "-file", file(n + ".csr"));
        List<String> gencert = new ArrayList<>(List.of("-gencert", "-keystore", file("ca.p12"), "-alias", "ca",
                "-infile", file(n + ".csr"), "-outfile", file(n + ".crt"), "-rfc", "-validity", "1",
                "-ext", "san=uri:" + spiffeUri, "-ext", "eku=serverAuth,clientAuth",
                "-ext", "ku=digitalSignature," + (rsa ? "keyEncipherment" : "keyAgreement")));
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

    /** PEM text of DER blocks. */
    static String pem(String label, byte[] der) {
        return "-----BEGIN " + label + "-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + label + "-----\n";
    }

    private String[] withKey(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(rsa ? List.of("-keyalg", "RSA", "-keysize", "2048") : List.of("-keyalg", "EC", "-groupname", "secp256r1"));
        return all.toArray(new String[0]);
    }

    private String file(String name) {
        return dir.resolve(name).toString();
    }

    private static X509Certificate certificate(Path pem) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(Files.readString(pem).getBytes(StandardCharsets.US_ASCII)));
    }

    private static void keytool(String... args) throws Exception {
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
}
