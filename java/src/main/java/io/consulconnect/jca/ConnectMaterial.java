package io.consulconnect.jca;

import io.consulconnect.Certificates;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.identity.IdentitySnapshot;
import java.io.ByteArrayInputStream;
import java.security.GeneralSecurityException;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

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
        /** The leaf's SPIFFE id. */
        final String spiffeId;
        /** The trust domain of the roots. */
        final String trustDomain;
        /** The generation before this one (its own {@code previous} is dropped). */
        final Generation previous;

        Generation(long generation, X509Certificate[] chain, PrivateKey key, X509Certificate[] roots, String serial,
                String spiffeId, String trustDomain, Generation previous) {
            this.generation = generation;
            this.alias = ALIAS_PREFIX + generation;
            this.chain = chain;
            this.key = key;
            this.keyAlgorithm = key.getAlgorithm();
            this.roots = roots;
            this.serial = serial;
            this.spiffeId = spiffeId;
            this.trustDomain = trustDomain;
            this.previous = previous;
        }

        Generation withoutPrevious() {
            return previous == null
                    ? this
                    : new Generation(generation, chain, key, roots, serial, spiffeId, trustDomain, null);
        }
    }

    private static final System.Logger LOG = System.getLogger(ConnectMaterial.class.getName());

    private final ConnectIdentity identity;
    private volatile Generation current;
    /** A generation the JDK could not use; not retried. */
    private volatile long unusable = -1;
    /** The last generation presented in a handshake as client / as server (one log line each). */
    private volatile long presentedAsClient = -1;
    private volatile long presentedAsServer = -1;
    /** DER of every root any generation of this identity listed (a few per CA rotation). */
    private final Set<ByteBuffer> rootsSeen = ConcurrentHashMap.newKeySet();

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

    /**
     * Notes that a key manager chose {@code alias} for a handshake; the first handshake of a
     * generation on each side is logged (one line per rotation, never per handshake).
     *
     * @param alias the alias chosen
     * @param client true when this end is the TLS client
     */
    void presenting(String alias, boolean client) {
        long last = client ? presentedAsClient : presentedAsServer;
        Generation g = current();
        if (g == null || !g.alias.equals(alias) || g.generation == last) {
            return;
        }
        synchronized (this) {
            if (client ? presentedAsClient == g.generation : presentedAsServer == g.generation) {
                return;
            }
            if (client) {
                presentedAsClient = g.generation;
            } else {
                presentedAsServer = g.generation;
            }
        }
        LOG.log(System.Logger.Level.INFO, "consul-connect: presenting leaf serial " + g.serial + " of " + g.spiffeId
                + " (generation " + g.generation + ") as TLS " + (client ? "client" : "server"));
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
                    s.spiffeId(), s.trustDomain(), g == null ? null : g.withoutPrevious());
            for (byte[] root : s.roots()) {
                rootsSeen.add(ByteBuffer.wrap(root.clone()));
            }
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

    /**
     * Whether a certificate is one of this identity's Consul roots: one that a snapshot of
     * this identity listed (current or earlier), or a CA certificate naming exactly the
     * trust domain ({@code spiffe://<trust-domain>}), as every Consul CA root does.
     *
     * @param cert a certificate from a trust store
     * @return true for a Consul root of this identity
     */
    boolean isRoot(X509Certificate cert) {
        Generation g = current();
        if (g == null || cert == null) {
            return false;
        }
        try {
            if (rootsSeen.contains(ByteBuffer.wrap(cert.getEncoded()))) {
                return true;
            }
        } catch (java.security.cert.CertificateEncodingException e) {
            return false;
        }
        return cert.getBasicConstraints() >= 0
                && Certificates.uris(cert).contains("spiffe://" + g.trustDomain);
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
