package io.consulconnect.trino;

import io.trino.spi.Plugin;
import io.trino.spi.security.CertificateAuthenticatorFactory;
import java.util.List;

/**
 * The Trino plugin: contributes the {@code consul-connect} certificate authenticator.
 * Registered through {@code META-INF/services/io.trino.spi.Plugin}.
 */
public final class ConnectPlugin implements Plugin {
    /** Creates the plugin; Trino's plugin manager calls this through the service loader. */
    public ConnectPlugin() {}

    @Override
    public Iterable<CertificateAuthenticatorFactory> getCertificateAuthenticatorFactories() {
        return List.of(new ConnectAuthenticatorFactory());
    }
}
