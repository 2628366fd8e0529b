package io.consulconnect;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Small, side-effect-free reads of X.509 certificates the JDK already parsed, for logging
 * and for recognising Connect material. Nothing is authorized from them: verification is
 * the native core's.
 */
public final class Certificates {
    /** {@code GeneralName} tag of a URI in a subject alternative name. */
    private static final int URI = 6;

    private Certificates() {}

    /**
     * The URI subject alternative names of a certificate, the scheme and authority
     * lower-cased as SPIFFE ids compare them.
     *
     * @param cert the certificate
     * @return the URIs, empty when there are none or the extension cannot be read
     */
    public static List<String> uris(X509Certificate cert) {
        List<String> out = new ArrayList<>();
        Collection<List<?>> names;
        try {
            names = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return out;
        }
        if (names == null) {
            return out;
        }
        for (List<?> name : names) {
            if (name.size() >= 2 && Integer.valueOf(URI).equals(name.get(0)) && name.get(1) instanceof String uri) {
                out.add(canonical(uri));
            }
        }
        return out;
    }

    /** {@code spiffe://TD/path} with the scheme and trust domain lower-cased. */
    public static String canonical(String spiffeId) {
        int start = spiffeId.indexOf("://");
        if (start < 0) {
            return spiffeId;
        }
        int slash = spiffeId.indexOf('/', start + 3);
        int end = slash < 0 ? spiffeId.length() : slash;
        return spiffeId.substring(0, end).toLowerCase(Locale.ROOT) + spiffeId.substring(end);
    }
}
