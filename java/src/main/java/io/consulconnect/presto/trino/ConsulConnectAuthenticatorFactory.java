package io.consulconnect.presto.trino;

import io.consulconnect.presto.ConsulConnectException;
import io.consulconnect.presto.identity.ConnectIdentity;
import io.consulconnect.presto.jni.NativeBridge;
import io.trino.spi.security.CertificateAuthenticator;
import io.trino.spi.security.CertificateAuthenticatorFactory;
import java.time.Duration;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Builds the {@code consul-connect} authenticator from the properties of Trino's
 * {@code etc/certificate-authenticator.properties} (every key but
 * {@code certificate-authenticator.name}). The keys are the core's {@code consul.*}
 * settings; an unknown key or malformed value stops Trino at start with a message naming
 * it.
 */
public final class ConsulConnectAuthenticatorFactory implements CertificateAuthenticatorFactory {
    /** The name operators put in {@code certificate-authenticator.name}. */
    public static final String NAME = "consul-connect";

    private static final Logger LOG = Logger.getLogger(ConsulConnectAuthenticatorFactory.class.getName());
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(15);

    /** Creates the factory. */
    public ConsulConnectAuthenticatorFactory() {}

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public CertificateAuthenticator create(Map<String, String> config) {
        ConnectIdentity identity = ConnectIdentity.open(config);
        try {
            NativeBridge.startAuthorization(identity.handle());
        } catch (RuntimeException e) {
            identity.close();
            throw e;
        }
        try {
            identity.awaitReady(STARTUP_WAIT);
        } catch (ConsulConnectException e) {
            // Not fatal: until the roots arrive every client is denied (fail closed), and
            // the watchers keep trying.
            LOG.warning("consul-connect: no Consul identity yet, clients are denied until it arrives: " + e.getMessage());
        }
        return new ConsulConnectAuthenticator(identity);
    }
}
