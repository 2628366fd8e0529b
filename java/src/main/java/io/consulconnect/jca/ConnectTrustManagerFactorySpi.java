package io.consulconnect.jca;

import java.security.InvalidAlgorithmParameterException;
import java.security.KeyStore;
import java.security.KeyStoreException;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactorySpi;

/**
 * {@code TrustManagerFactory.getInstance("ConsulConnect")}: one {@link ConnectTrustManager}.
 * {@code init(KeyStore)} ignores the key store (trust comes from the Consul roots) and reads
 * {@link ConnectConfig#fromSystemProperties()}, which is what the JDK's default
 * {@code SSLContext} calls under {@code ssl.TrustManagerFactory.algorithm=ConsulConnect};
 * {@code init(ManagerFactoryParameters)} takes a {@link ConnectConfig}.
 */
public final class ConnectTrustManagerFactorySpi extends TrustManagerFactorySpi {
    private volatile ConnectTrustManager trustManager;

    /** Creates an uninitialised factory (the provider calls this). */
    public ConnectTrustManagerFactorySpi() {}

    @Override
    protected void engineInit(KeyStore ignored) throws KeyStoreException {
        try {
            trustManager = Identities.trustManager(ConnectConfig.fromSystemProperties(), null);
        } catch (RuntimeException e) {
            throw new KeyStoreException("Consul Connect trust manager: " + e.getMessage(), e);
        }
    }

    @Override
    protected void engineInit(ManagerFactoryParameters spec) throws InvalidAlgorithmParameterException {
        if (!(spec instanceof ConnectConfig config)) {
            throw new InvalidAlgorithmParameterException("expected a " + ConnectConfig.class.getName());
        }
        try {
            trustManager = Identities.trustManager(config, null);
        } catch (RuntimeException e) {
            throw new InvalidAlgorithmParameterException("Consul Connect trust manager: " + e.getMessage(), e);
        }
    }

    @Override
    protected TrustManager[] engineGetTrustManagers() {
        ConnectTrustManager tm = trustManager;
        if (tm == null) {
            throw new IllegalStateException("TrustManagerFactory ConsulConnect is not initialised");
        }
        return new TrustManager[] {tm};
    }
}
