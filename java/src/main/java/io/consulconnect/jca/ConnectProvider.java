package io.consulconnect.jca;

import java.security.Provider;
import java.security.Security;
import java.util.function.Supplier;

/**
 * The JCA provider {@value #NAME}: a {@code KeyManagerFactory}, a {@code TrustManagerFactory}
 * and an {@code SSLContext}, all under the algorithm name {@value #ALGORITHM}, holding the
 * current Consul Connect leaf and roots across rotations; and a selective
 * {@code KeyManagerFactory} and {@code TrustManagerFactory} ({@value ConnectJvm#ALGORITHM})
 * that take over only the key and trust stores holding this node's Consul material and leave
 * every other store to the JDK (see {@link ConnectJvm}).
 *
 * <p>Install it with one line, {@link #install()}, or list it in a {@code java.security} file
 * ({@code security.provider.N=io.consulconnect.jca.ConnectProvider}) together with
 * {@code ssl.KeyManagerFactory.algorithm=ConsulConnect} and
 * {@code ssl.TrustManagerFactory.algorithm=ConsulConnect} to make it back the JVM's default
 * {@code SSLContext}. Settings: {@link ConnectConfig}.
 */
public final class ConnectProvider extends Provider {
    private static final long serialVersionUID = 1L;

    /** Provider name. */
    public static final String NAME = "ConsulConnect";
    /** Algorithm name of all three services. */
    public static final String ALGORITHM = "ConsulConnect";

    private static final class Holder {
        static final ConnectProvider INSTANCE = new ConnectProvider();
    }

    /** Creates the provider (the JDK calls this for a {@code java.security} entry). */
    public ConnectProvider() {
        super(NAME, version(), "Consul Connect mTLS: key and trust managers holding the current Consul "
                + "leaf and CA roots (KeyManagerFactory, TrustManagerFactory, SSLContext " + ALGORITHM + ")");
        putService(new Factory(this, "KeyManagerFactory", ConnectKeyManagerFactorySpi.class,
                ConnectKeyManagerFactorySpi::new));
        putService(new Factory(this, "TrustManagerFactory", ConnectTrustManagerFactorySpi.class,
                ConnectTrustManagerFactorySpi::new));
        putService(new Factory(this, "SSLContext", ConnectSslContextSpi.class, ConnectSslContextSpi::new));
        putService(new Factory(this, "KeyManagerFactory", ConnectJvm.ALGORITHM, SelectiveKeyManagerFactorySpi.class,
                SelectiveKeyManagerFactorySpi::new));
        putService(new Factory(this, "TrustManagerFactory", ConnectJvm.ALGORITHM,
                SelectiveTrustManagerFactorySpi.class, SelectiveTrustManagerFactorySpi::new));
    }

    /**
     * Registers the provider with the JVM (lowest preference, so it never replaces another
     * provider's algorithms) unless a provider of this name is registered already.
     *
     * @return the registered provider
     */
    public static synchronized Provider install() {
        Provider installed = Security.getProvider(NAME);
        if (installed != null) {
            return installed;
        }
        Security.addProvider(instance());
        return instance();
    }

    /** @return a shared instance, installed or not (for {@link ConnectSsl}) */
    static ConnectProvider instance() {
        return Holder.INSTANCE;
    }

    private static String version() {
        String v = ConnectProvider.class.getPackage().getImplementationVersion();
        return v == null ? "0" : v;
    }

    /** A service that instantiates its SPI directly (no reflection). */
    private static final class Factory extends Service {
        private final Supplier<Object> spi;

        Factory(Provider provider, String type, Class<?> implementation, Supplier<Object> spi) {
            this(provider, type, ALGORITHM, implementation, spi);
        }

        Factory(Provider provider, String type, String algorithm, Class<?> implementation, Supplier<Object> spi) {
            super(provider, type, algorithm, implementation.getName(), null, null);
            this.spi = spi;
        }

        @Override
        public Object newInstance(Object constructorParameter) {
            return spi.get();
        }
    }
}
