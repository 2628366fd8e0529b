package io.consulconnect.trino;

import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;

/**
 * The DER encoding of each certificate object Trino hands the authenticator, kept for the
 * object: Jetty keeps a TLS session's certificate objects and passes the same ones with
 * every request of the session, and {@code getEncoded()} copies the whole encoding each
 * time it is called. A small table, indexed by identity hash, remembers the encodings of
 * the last certificate objects seen; a certificate is immutable, so its object's encoding
 * never changes. The encodings handed out are shared and must not be modified (the
 * native core only reads them). Nothing here decides anything: a certificate not in the
 * table is simply encoded again.
 */
final class CertificateEncodings {
    /** Table size, a power of two: one entry per recent certificate object, about. */
    private static final int SLOTS = 64;

    /** Immutable (final fields), so a slot read without a lock is always whole. */
    private record Slot(X509Certificate certificate, byte[] der) {}

    /** Written and read without locks: a lost write only costs a later re-encoding. */
    private final Slot[] slots = new Slot[SLOTS];

    /**
     * The DER encoding of {@code certificate}; shared, do not modify.
     *
     * @param certificate a certificate Trino received from the client
     * @return its encoding
     * @throws CertificateEncodingException if it cannot be encoded
     */
    byte[] of(X509Certificate certificate) throws CertificateEncodingException {
        int index = System.identityHashCode(certificate) & (SLOTS - 1);
        Slot slot = slots[index];
        if (slot != null && slot.certificate() == certificate) {
            return slot.der();
        }
        byte[] der = certificate.getEncoded();
        slots[index] = new Slot(certificate, der);
        return der;
    }
}
