package io.consulconnect.jca;

import java.security.InvalidAlgorithmParameterException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import java.security.NoSuchAlgorithmException;
import java.security.UnrecoverableKeyException;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;

/**
 * {@code KeyManagerFactory.getInstance("ConsulConnectSelective")}: for a key store holding
 * this node's Consul leaf, a {@link ConnectKeyManager} that presents the current leaf at
 * every handshake; for any other key store (or none), the JDK's own key managers, exactly as
 * the JDK's default algorithm would build them. See {@link ConnectJvm}.
 */
public final class SelectiveKeyManagerFactorySpi extends KeyManagerFactorySpi {
    private static final System.Logger LOG = System.getLogger(SelectiveKeyManagerFactorySpi.class.getName());
    private static final AtomicBoolean ANNOUNCED = new AtomicBoolean();

    private volatile KeyManager[] managers;

    /** Creates an uninitialised factory (the provider calls this). */
    public SelectiveKeyManagerFactorySpi() {}

    @Override
    protected void engineInit(KeyStore store, char[] password)
            throws KeyStoreException, NoSuchAlgorithmException, UnrecoverableKeyException {
        ConnectMaterial material = null;
        if (store != null) {
            try {
                material = ConnectJvm.material();
            } catch (RuntimeException e) {
                throw new KeyStoreException("Consul Connect key manager: " + e.getMessage(), e);
            }
        }
        if (material != null && ConsulStores.holdsLeaf(store, material)) {
            if (ANNOUNCED.compareAndSet(false, true)) {
                LOG.log(System.Logger.Level.INFO, "consul-connect: a key store holding this node's Consul leaf "
                        + "now presents the live Consul leaf (rotations reach the next handshake)");
            }
            managers = new KeyManager[] {new ConnectKeyManager(material)};
            return;
        }
        KeyManagerFactory jdk = KeyManagerFactory.getInstance(ConnectJvm.jdkKeyManagerAlgorithm());
        jdk.init(store, password);
        managers = jdk.getKeyManagers();
    }

    @Override
    protected void engineInit(ManagerFactoryParameters spec) throws InvalidAlgorithmParameterException {
        if (spec instanceof ConnectConfig config) {
            try {
                managers = new KeyManager[] {Identities.keyManager(config)};
            } catch (RuntimeException e) {
                throw new InvalidAlgorithmParameterException("Consul Connect key manager: " + e.getMessage(), e);
            }
            return;
        }
        try {
            KeyManagerFactory jdk = KeyManagerFactory.getInstance(ConnectJvm.jdkKeyManagerAlgorithm());
            jdk.init(spec);
            managers = jdk.getKeyManagers();
        } catch (NoSuchAlgorithmException e) {
            throw new InvalidAlgorithmParameterException(e.getMessage(), e);
        }
    }

    @Override
    protected KeyManager[] engineGetKeyManagers() {
        KeyManager[] km = managers;
        if (km == null) {
            throw new IllegalStateException("KeyManagerFactory " + ConnectJvm.ALGORITHM + " is not initialised");
        }
        return km.clone();
    }
}
