package io.consulconnect.jca;

import java.security.InvalidAlgorithmParameterException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactorySpi;
import javax.net.ssl.ManagerFactoryParameters;

/**
 * {@code KeyManagerFactory.getInstance("ConsulConnect")}: one {@link ConnectKeyManager}.
 * {@code init(KeyStore, char[])} ignores its arguments (the key comes from Consul) and reads
 * {@link ConnectConfig#fromSystemProperties()}, which is what the JDK's default
 * {@code SSLContext} calls under {@code ssl.KeyManagerFactory.algorithm=ConsulConnect};
 * {@code init(ManagerFactoryParameters)} takes a {@link ConnectConfig}.
 */
public final class ConnectKeyManagerFactorySpi extends KeyManagerFactorySpi {
    private volatile ConnectKeyManager keyManager;

    /** Creates an uninitialised factory (the provider calls this). */
    public ConnectKeyManagerFactorySpi() {}

    @Override
    protected void engineInit(KeyStore ignored, char[] ignoredPassword) throws KeyStoreException {
        try {
            keyManager = Identities.keyManager(ConnectConfig.fromSystemProperties());
        } catch (RuntimeException e) {
            throw new KeyStoreException("Consul Connect key manager: " + e.getMessage(), e);
        }
    }

    @Override
    protected void engineInit(ManagerFactoryParameters spec) throws InvalidAlgorithmParameterException {
        if (!(spec instanceof ConnectConfig config)) {
            throw new InvalidAlgorithmParameterException("expected a " + ConnectConfig.class.getName());
        }
        try {
            keyManager = Identities.keyManager(config);
        } catch (RuntimeException e) {
            throw new InvalidAlgorithmParameterException("Consul Connect key manager: " + e.getMessage(), e);
        }
    }

    @Override
    protected KeyManager[] engineGetKeyManagers() {
        ConnectKeyManager km = keyManager;
        if (km == null) {
            throw new IllegalStateException("KeyManagerFactory ConsulConnect is not initialised");
        }
        return new KeyManager[] {km};
    }
}
