package io.consulconnect.jca;

import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents the current Consul Connect leaf of one identity, on both ends of a connection.
 *
 * <p>There is one alias per snapshot generation ({@code consul-connect-<generation>}): the JDK
 * chooses an alias, then asks for its chain and key in separate calls, and a rotation between
 * those calls must not pair a new chain with an old key. Each choice costs one atomic read in
 * native code; the JCA objects are rebuilt only when the generation changed.
 *
 * <p>The peer's list of acceptable issuers is not consulted: a Connect leaf is the only
 * identity this node has, and the peer verifies it against its own Consul roots.
 */
public final class ConnectKeyManager extends X509ExtendedKeyManager {
    private static final System.Logger LOG = System.getLogger(ConnectKeyManager.class.getName());

    private final ConnectMaterial material;

    ConnectKeyManager(ConnectMaterial material) {
        this.material = material;
    }

    /** An alias chosen for a handshake: says once per generation and side which leaf this is. */
    private String chosen(String alias, boolean client) {
        if (alias == null) {
            return null;
        }
        material.presenting(alias, client);
        return alias;
    }

    private String alias(String keyType) {
        ConnectMaterial.Generation g;
        try {
            g = material.current();
        } catch (RuntimeException e) {
            // No alias fails the handshake (closed), which is all a key manager can say.
            LOG.log(System.Logger.Level.WARNING, "consul-connect: no Connect leaf to present: " + e.getMessage(), e);
            return null;
        }
        return g != null && g.keyAlgorithm.equals(keyType) ? g.alias : null;
    }

    private String alias(String[] keyTypes) {
        if (keyTypes == null) {
            return null;
        }
        for (String keyType : keyTypes) {
            String alias = alias(keyType);
            if (alias != null) {
                return alias;
            }
        }
        return null;
    }

    private String[] aliases(String keyType) {
        String alias = alias(keyType);
        return alias == null ? null : new String[] {alias};
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return aliases(keyType);
    }

    @Override
    public String chooseClientAlias(String[] keyTypes, Principal[] issuers, Socket socket) {
        return chosen(alias(keyTypes), true);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyTypes, Principal[] issuers, SSLEngine engine) {
        return chosen(alias(keyTypes), true);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return aliases(keyType);
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return chosen(alias(keyType), false);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return chosen(alias(keyType), false);
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        ConnectMaterial.Generation g = material.forAlias(alias);
        return g == null ? null : g.chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        ConnectMaterial.Generation g = material.forAlias(alias);
        return g == null ? null : g.key;
    }
}
