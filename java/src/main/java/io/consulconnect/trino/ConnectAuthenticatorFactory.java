package io.consulconnect.trino;

import io.consulconnect.ConnectFailureException;
import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.consulconnect.jni.NativeLibrary;
import io.consulconnect.jca.ConnectConfig;
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
 * it. With no key at all, the node's JVM-level settings are used (the file named by the
 * system property {@value ConnectConfig#PROPERTIES_FILE}, which the {@code -javaagent} sets):
 * then the authenticator shares the JVM-level part's identity, one set of watchers per node.
 */
public final class ConnectAuthenticatorFactory implements CertificateAuthenticatorFactory {
    /** The name operators put in {@code certificate-authenticator.name}. */
    public static final String NAME = "consul-connect";

    private static final Logger LOG = Logger.getLogger(ConnectAuthenticatorFactory.class.getName());
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(15);

    /** Creates the factory. */
    public ConnectAuthenticatorFactory() {}

    @Override
    public String getName() {
        return NAME;
    }

    @Override
    public CertificateAuthenticator create(Map<String, String> config) {
        ConnectIdentity identity = ConnectIdentity.open(config.isEmpty() ? jvmSettings() : config);
        LOG.info(NativeLibrary.isShared()
                ? "consul-connect: the authenticator uses the JVM-level native library (one per JVM)"
                        + (config.isEmpty() ? " and shares its identity and watchers" : "")
                : "consul-connect: the authenticator loaded its own copy of the native library "
                        + "(no JVM-level part of the same version is installed)");
        try {
            NativeBridge.startAuthorization(identity.handle());
        } catch (RuntimeException e) {
            identity.close();
            throw e;
        }
        try {
            identity.awaitReady(STARTUP_WAIT);
        } catch (ConnectFailureException e) {
            // Not fatal: until the roots arrive every client is denied (fail closed), and
            // the watchers keep trying.
            LOG.warning("consul-connect: no Consul identity yet, clients are denied until it arrives: " + e.getMessage());
        }
        return new ConnectAuthenticator(identity);
    }

    private static Map<String, String> jvmSettings() {
        if (System.getProperty(ConnectConfig.PROPERTIES_FILE) == null) {
            throw new IllegalArgumentException("consul-connect: etc/certificate-authenticator.properties has no "
                    + "consul.* settings and no JVM-level settings exist (system property "
                    + ConnectConfig.PROPERTIES_FILE + ", set by the -javaagent line in etc/jvm.config)");
        }
        return ConnectConfig.fromSystemProperties().consulProperties();
    }
}
