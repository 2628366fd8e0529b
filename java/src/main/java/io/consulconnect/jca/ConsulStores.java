package io.consulconnect.jca;

import io.consulconnect.Certificates;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.Collections;

/** Recognises key and trust stores that hold this node's Consul Connect material. */
final class ConsulStores {
    private ConsulStores() {}

    /**
     * Whether a key store has a key entry for this identity: its certificate carries the
     * identity's SPIFFE id (any generation: the file may predate a rotation).
     *
     * @param store the key store
     * @param material the identity
     * @return true when the store is ours
     * @throws KeyStoreException when the store cannot be read
     */
    static boolean holdsLeaf(KeyStore store, ConnectMaterial material) throws KeyStoreException {
        ConnectMaterial.Generation g = material.current();
        if (store == null || g == null) {
            return false;
        }
        String spiffeId = Certificates.canonical(g.spiffeId);
        for (String alias : Collections.list(store.aliases())) {
            if (!store.isKeyEntry(alias)) {
                continue;
            }
            Certificate[] chain = store.getCertificateChain(alias);
            if (chain != null && chain.length > 0 && chain[0] instanceof X509Certificate leaf
                    && Certificates.uris(leaf).contains(spiffeId)) {
                return true;
            }
        }
        return false;
    }

    /** What a trust store holds: how many of our Consul roots and how many other certificates. */
    record Trusted(int consulRoots, int others) {
        boolean ours() {
            return consulRoots > 0;
        }
    }

    /**
     * Counts the trusted certificates of a store that are this identity's Consul roots.
     *
     * @param store the trust store
     * @param material the identity
     * @return the counts
     * @throws KeyStoreException when the store cannot be read
     */
    static Trusted trusted(KeyStore store, ConnectMaterial material) throws KeyStoreException {
        int consul = 0;
        int others = 0;
        if (store == null) {
            return new Trusted(0, 0);
        }
        for (String alias : Collections.list(store.aliases())) {
            Certificate cert = store.getCertificate(alias);
            if (cert instanceof X509Certificate x && material.isRoot(x)) {
                consul++;
            } else if (cert != null) {
                others++;
            }
        }
        return new Trusted(consul, others);
    }
}
