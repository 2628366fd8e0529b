package io.consulconnect.jca;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Arrays;

/** Turns the PKCS#8 key bytes that cross JNI into a {@link PrivateKey}. */
final class PrivateKeys {
    private PrivateKeys() {}

    /**
     * Decodes a PKCS#8 key (EC or RSA: Consul issues both) and zeroes {@code pkcs8},
     * whatever the outcome. The algorithm of the certificate's public key is tried first.
     *
     * @param pkcs8 PKCS#8 DER; overwritten with zeros
     * @param certificateKeyAlgorithm the leaf's {@code getPublicKey().getAlgorithm()}
     * @return the key
     * @throws GeneralSecurityException if neither EC nor RSA can read it
     */
    static PrivateKey fromPkcs8(byte[] pkcs8, String certificateKeyAlgorithm) throws GeneralSecurityException {
        String[] order = "RSA".equals(certificateKeyAlgorithm)
                ? new String[] {"RSA", "EC"}
                : new String[] {"EC", "RSA"};
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(pkcs8);
        try {
            InvalidKeySpecException first = null;
            for (String algorithm : order) {
                try {
                    return KeyFactory.getInstance(algorithm).generatePrivate(spec);
                } catch (InvalidKeySpecException e) {
                    if (first == null) {
                        first = e;
                    }
                }
            }
            throw new InvalidKeySpecException("the Consul leaf key is neither an EC nor an RSA PKCS#8 key", first);
        } finally {
            // The spec keeps its own copy, which the JDK offers no way to clear; ours goes now.
            Arrays.fill(pkcs8, (byte) 0);
        }
    }
}
