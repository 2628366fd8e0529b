package io.consulconnect.identity;

import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * One published Connect identity: the leaf chain and its key, the CA roots, and what the
 * leaf says about itself. Immutable except for the key bytes, which {@link #destroyKey()}
 * zeroes once they have been turned into a {@link java.security.PrivateKey}.
 *
 * @param generation increases by one with every change
 * @param chain the leaf certificate first, then its intermediates (DER)
 * @param keyPkcs8 the leaf's private key (PKCS#8 DER)
 * @param roots every CA root Consul lists (DER), the active one included
 * @param rootIds Consul's ids of {@code roots}, in the same order
 * @param activeRootId the id of the active root
 * @param trustDomain the SPIFFE trust domain, e.g. {@code 1111-2222.consul}
 * @param spiffeId the leaf's SPIFFE ID
 * @param serial the leaf's serial number in colon-hex form
 * @param notBefore start of the leaf's validity
 * @param notAfter end of the leaf's validity
 */
public record IdentitySnapshot(
        long generation,
        List<byte[]> chain,
        byte[] keyPkcs8,
        List<byte[]> roots,
        List<String> rootIds,
        String activeRootId,
        String trustDomain,
        String spiffeId,
        String serial,
        Instant notBefore,
        Instant notAfter) {

    /** Overwrites the private key bytes with zeros. */
    public void destroyKey() {
        Arrays.fill(keyPkcs8, (byte) 0);
    }

    @Override
    public String toString() {
        return "IdentitySnapshot[generation=" + generation + ", spiffeId=" + spiffeId + ", serial=" + serial
                + ", notAfter=" + notAfter + ", roots=" + rootIds + ", active=" + activeRootId + "]";
    }

    /**
     * Called by the native library (its {@code ffi/jni/protocol.rs}), which checks this
     * signature when it calls.
     */
    static IdentitySnapshot fromNative(
            long generation,
            byte[][] chain,
            byte[] keyPkcs8,
            byte[][] roots,
            String[] rootIds,
            String activeRootId,
            String trustDomain,
            String spiffeId,
            String serial,
            long notBeforeMillis,
            long notAfterMillis) {
        return new IdentitySnapshot(
                generation,
                List.of(chain),
                keyPkcs8,
                List.of(roots),
                List.of(rootIds),
                activeRootId,
                trustDomain,
                spiffeId,
                serial,
                Instant.ofEpochMilli(notBeforeMillis),
                Instant.ofEpochMilli(notAfterMillis));
    }
}
