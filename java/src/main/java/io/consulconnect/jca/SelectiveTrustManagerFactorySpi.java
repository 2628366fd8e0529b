package io.consulconnect.jca;

import java.security.InvalidAlgorithmParameterException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.NoSuchAlgorithmException;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.CertPathTrustManagerParameters;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;

/**
 * {@code TrustManagerFactory.getInstance("ConsulConnectSelective")}: for a trust store
 * holding this node's Consul roots, a {@link ConnectTrustManager} that verifies peers against
 * the current roots and checks a server's SPIFFE identity in place of its host name; for any
 * other trust store (a connector's, LDAP's, the JDK's {@code cacerts}), the JDK's own trust
 * managers, exactly as the JDK's default algorithm would build them. See {@link ConnectJvm}.
 *
 * <p>A store that mixes Consul roots with other certificates is taken over (the others are
 * not trusted, and a warning says so once): whoever points a store at the Consul roots file
 * wants Consul's rules for it.
 */
public final class SelectiveTrustManagerFactorySpi extends TrustManagerFactorySpi {
    private static final System.Logger LOG = System.getLogger(SelectiveTrustManagerFactorySpi.class.getName());
    private static final AtomicBoolean ANNOUNCED = new AtomicBoolean();
    private static final AtomicBoolean WARNED_MIXED = new AtomicBoolean();

    private volatile TrustManager[] managers;

    /** Creates an uninitialised factory (the provider calls this). */
    public SelectiveTrustManagerFactorySpi() {}

    @Override
    protected void engineInit(KeyStore store) throws KeyStoreException {
        if (store != null) {
            ConnectMaterial material;
            try {
                material = ConnectJvm.material();
            } catch (RuntimeException e) {
                throw new KeyStoreException("Consul Connect trust manager: " + e.getMessage(), e);
            }
            ConsulStores.Trusted trusted = ConsulStores.trusted(store, material);
            if (trusted.ours()) {
                takeOver(material, trusted.others());
                return;
            }
        }
        try {
            TrustManagerFactory jdk = TrustManagerFactory.getInstance(ConnectJvm.jdkTrustManagerAlgorithm());
            jdk.init(store);
            managers = jdk.getTrustManagers();
        } catch (NoSuchAlgorithmException e) {
            throw new KeyStoreException(e.getMessage(), e);
        }
    }

    @Override
    protected void engineInit(ManagerFactoryParameters spec) throws InvalidAlgorithmParameterException {
        try {
            if (spec instanceof ConnectConfig config) {
                managers = new TrustManager[] {Identities.trustManager(config, null)};
                return;
            }
            // PKIX parameters (revocation checking, as Jetty builds them when CRLs or OCSP are
            // configured) over our roots: Consul publishes no CRLs or OCSP, so the Consul
            // rules apply as for a plain store.
            if (spec instanceof CertPathTrustManagerParameters cp && cp.getParameters() instanceof PKIXParameters p) {
                ConnectMaterial material = ConnectJvm.material();
                int consul = 0;
                for (TrustAnchor anchor : p.getTrustAnchors()) {
                    if (material.isRoot(anchor.getTrustedCert())) {
                        consul++;
                    }
                }
                if (consul > 0) {
                    takeOver(material, p.getTrustAnchors().size() - consul);
                    return;
                }
            }
            TrustManagerFactory jdk = TrustManagerFactory.getInstance(ConnectJvm.jdkTrustManagerAlgorithm());
            jdk.init(spec);
            managers = jdk.getTrustManagers();
        } catch (NoSuchAlgorithmException | RuntimeException e) {
            throw new InvalidAlgorithmParameterException("Consul Connect trust manager: " + e.getMessage(), e);
        }
    }

    private void takeOver(ConnectMaterial material, int others) {
        if (others > 0 && WARNED_MIXED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "consul-connect: a trust store holds Consul roots and " + others
                    + " other certificate(s); the others are not trusted: peers are verified against the live "
                    + "Consul roots only");
        }
        ConnectTrustManager tm = ConnectJvm.trustManager(material);
        if (ANNOUNCED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.INFO, "consul-connect: a trust store holding the Consul roots now verifies "
                    + "peers against the live Consul roots; servers must be " + tm.expected()
                    + " (SPIFFE identity instead of host name)");
        }
        managers = new TrustManager[] {tm};
    }

    @Override
    protected TrustManager[] engineGetTrustManagers() {
        TrustManager[] tm = managers;
        if (tm == null) {
            throw new IllegalStateException("TrustManagerFactory " + ConnectJvm.ALGORITHM + " is not initialised");
        }
        return tm.clone();
    }
}
