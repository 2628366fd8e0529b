package io.consulconnect.presto.ssl;

import io.consulconnect.presto.identity.ConnectIdentity;
import io.consulconnect.presto.identity.IdentitySnapshot;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.Optional;

/**
 * The current Connect material of one identity as JCA objects (leaf chain, private key,
 * roots), shared by the key and trust managers of that identity.
 *
 * <p>Each use reads the identity's generation (one atomic read in native code) and rebuilds
 * the objects only when it changed, so a rotation is picked up by the next handshake without
 * rebuilding any {@code SSLContext}. The previous generation stays reachable by its alias, so
 * a handshake that chose an alias just before a rotation still gets a matching chain and key.
 */
final class ConnectMaterial {
    private static final String ALIAS_PREFIX = "consul-connect-";

    /** One generation's material. Immutable. */
    static final class Generation {
        final long generation;
        final String alias;
        final X509Certificate[] chain;
        final PrivateKey key;
        final String keyAlgorithm;
        final X509Certificate[] roots;
        final String serial;
        /** The generation before this one (its own {@code previous} is dropped). */
        final Generation previous;

        Generation(long generation, X509Certificate[] chain, PrivateKey key, X509Certificate[] roots, String serial,
                Generation previous) {
            this.generation = generation;
            this.alias = ALIAS_PREFIX + generation;
            this.chain = chain;
            this.key = key;
            this.keyAlgorithm = key.getAlgorithm();
            this.roots = roots;
            this.serial = serial;
            this.previous = previous;
        }

        Generation withoutPrevious() {
            return previous == null ? this : new Generation(generation, chain, key, roots, serial, null);
        }
    }

    private static final System.Logger LOG = System.getLogger(ConnectMaterial.class.getName());

    private final ConnectIdentity identity;
    private volatile Generation current;
    /** A generation the JDK could not use; not retried. */
    private volatile long unusable = -1;

    ConnectMaterial(ConnectIdentity identity) {
        this.identity = identity;
    }

    ConnectIdentity identity() {
        return identity;
    }

    /**
     * The material of the identity's current generation.
     *
     * @return the material, or null before the identity's first snapshot
     */
    Generation current() {
        Generation g = current;
        long generation = identity.generation();
        if ((g != null && g.generation == generation) || generation == unusable) {
            return g;
        }
        return refresh();
    }

    /**
     * The material a key-manager alias stands for: the current or the previous generation.
     *
     * @param alias an alias this class handed out
     * @return the material, or null for an unknown or outdated alias
     */
    Generation forAlias(String alias) {
        if (alias == null || !alias.startsWith(ALIAS_PREFIX)) {
            return null;
        }
        Generation g = current();
        if (g == null) {
            return null;
        }
        if (g.alias.equals(alias)) {
            return g;
        }
        return g.previous != null && g.previous.alias.equals(alias) ? g.previous : null;
    }

    private synchronized Generation refresh() {
        Generation g = current;
        long generation = identity.generation();
        if ((g != null && g.generation == generation) || generation == unusable) {
            return g;
        }
        Optional<IdentitySnapshot> snapshot = identity.snapshot();
        if (snapshot.isEmpty()) {
            return g;
        }
        IdentitySnapshot s = snapshot.get();
        try {
            X509Certificate[] chain = certificates(s.chain());
            PrivateKey key = PrivateKeys.fromPkcs8(s.keyPkcs8(), chain[0].getPublicKey().getAlgorithm());
            Generation next = new Generation(s.generation(), chain, key, certificates(s.roots()), s.serial(),
                    g == null ? null : g.withoutPrevious());
            current = next;
            return next;
        } catch (GeneralSecurityException | RuntimeException e) {
            // The core publishes only material whose key matches and whose chain verifies,
            // so this is a JDK that cannot read it (e.g. an unsupported curve). Keep serving
            // what we have (handshakes fail closed if there is nothing), say so once.
            unusable = s.generation();
            LOG.log(System.Logger.Level.ERROR, "consul-connect: the JDK cannot use the Consul Connect material of "
                    + "generation " + s.generation() + " (" + s.spiffeId() + "); still serving generation "
                    + (g == null ? "none" : Long.toString(g.generation)), e);
            return g;
        } finally {
            s.destroyKey();
        }
    }

    private static X509Certificate[] certificates(List<byte[]> der) throws GeneralSecurityException {
        CertificateFactory factory = CertificateFactory.getInstance("X.509");
        X509Certificate[] out = new X509Certificate[der.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der.get(i)));
        }
        return out;
    }
}
