package io.consulconnect.jni;

import io.consulconnect.jca.ConnectPeer;
import java.security.cert.CertificateException;

/**
 * The JNI entry points the JCA provider ({@code io.consulconnect.jca}) needs: peer
 * verification by the Rust core, the same verification the authenticator uses. Loading this
 * class loads the native library (once per class loader, shared with {@link NativeBridge}).
 */
public final class TlsBridge {
    static {
        NativeLibrary.load();
    }

    private TlsBridge() {}

    /**
     * Verifies the certificate chain a TLS peer presented against the current Consul roots of
     * an identity: the chain must lead to a current root (through the roots' intermediates or
     * the peer's), be within its validity, carry exactly one Connect service SPIFFE id in the
     * roots' trust domain, and allow the TLS usage of the peer's role. When {@code expected}
     * is given, the peer must also be that identity.
     *
     * @param handle from {@link NativeBridge#open}
     * @param chainDer the peer's chain, leaf first (DER)
     * @param clientSide true when this end is the TLS client (the peer is a server); an
     *     expected identity is then required
     * @param expected the identity the peer must have: {@code *} (any service of the trust
     *     domain), a service name (in our own namespace and partition, any datacenter) or a
     *     full service SPIFFE id; null for no expectation (server side)
     * @return the verified peer
     * @throws CertificateException a {@code io.consulconnect.jca.PeerRefusedException}
     *     carrying the reason's code and message when the peer is refused; an empty,
     *     oversized or unparsable chain is refused like any other, with the codes the
     *     authenticator uses
     * @throws IllegalArgumentException for a null chain or element, a bad handle, or a
     *     malformed {@code expected}
     */
    public static native ConnectPeer verifyPeer(long handle, byte[][] chainDer, boolean clientSide, String expected)
            throws CertificateException;

    /**
     * The canonical form of an expected peer identity.
     *
     * @param expected {@code *}, a Consul service name or a service SPIFFE id
     * @return the canonical form (a SPIFFE id is lower-cased in its trust domain)
     * @throws IllegalArgumentException when {@code expected} is none of these
     */
    public static native String normalizeExpected(String expected);
}
