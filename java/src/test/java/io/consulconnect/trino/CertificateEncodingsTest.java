package io.consulconnect.trino;

import static org.junit.Assert.assertArrayEquals;
import static org.junit.Assert.assertSame;
import static org.junit.Assert.assertTrue;

import java.io.ByteArrayInputStream;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;
import org.junit.Test;

/** The per-object memory of certificate encodings the authenticator uses. */
public class CertificateEncodingsTest {

    /** The JDK's own trusted CA certificates: a hundred-odd distinct certificates. */
    private static List<X509Certificate> jdkCertificates() throws Exception {
        TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        factory.init((KeyStore) null);
        for (var manager : factory.getTrustManagers()) {
            if (manager instanceof X509TrustManager x509) {
                List<X509Certificate> all = new ArrayList<>();
                Collections.addAll(all, x509.getAcceptedIssuers());
                return all;
            }
        }
        throw new AssertionError("no X.509 trust manager");
    }

    private static X509Certificate parse(byte[] der) throws Exception {
        return (X509Certificate) CertificateFactory.getInstance("X.509")
                .generateCertificate(new ByteArrayInputStream(der));
    }

    @Test
    public void theSameObjectIsEncodedOnceAndEveryObjectGetsItsOwnEncoding() throws Exception {
        List<X509Certificate> certificates = jdkCertificates();
        assertTrue("certificates: " + certificates.size(), certificates.size() > 64);
        CertificateEncodings encodings = new CertificateEncodings();
        X509Certificate first = certificates.get(0);
        byte[] once = encodings.of(first);
        assertArrayEquals(first.getEncoded(), once);
        assertSame(once, encodings.of(first));

        // Far more certificates than slots, so slots collide and are replaced: each object
        // always gets exactly its own encoding.
        for (int pass = 0; pass < 3; pass++) {
            for (X509Certificate c : certificates) {
                assertArrayEquals(c.getEncoded(), encodings.of(c));
            }
        }
        // (The JDK's CertificateFactory hands out one object per distinct encoding it has
        // parsed recently, so equal certificates are usually the same object anyway.)
        assertSame(first, parse(first.getEncoded()));
    }
}
