package io.consulconnect.jca;

import io.consulconnect.jni.NativeBridge;
import io.consulconnect.jni.TlsBridge;
import java.security.Security;

/**
 * The JVM-level installation: makes every {@code KeyManagerFactory} and
 * {@code TrustManagerFactory} created with the JVM's default algorithms (as Jetty, and so
 * Trino's HTTPS server and internal HTTP clients, create theirs) hand out live Consul
 * Connect managers for key and trust stores that hold this node's Consul material, and the
 * JDK's own managers for every other store.
 *
 * <p>{@link #install} registers {@link ConnectProvider} and sets the security properties
 * {@code ssl.KeyManagerFactory.algorithm} and {@code ssl.TrustManagerFactory.algorithm} to
 * {@value #ALGORITHM}; the algorithms they named before (normally {@code SunX509} and
 * {@code PKIX}) serve every store that is not ours. It must run before the application
 * builds its TLS contexts: Trino builds its HTTP server and clients before it loads any
 * plugin, hence the {@code -javaagent} ({@link io.consulconnect.agent.ConnectAgent}).
 *
 * <p>What counts as ours: a key store with a key entry whose certificate carries this
 * identity's SPIFFE id, and a trust store with at least one of this identity's Consul roots
 * ({@link ConnectMaterial#isRoot}). For those, the key manager presents the current leaf at
 * every handshake, and the trust manager verifies peers against the current roots and, as a
 * client, checks that the server is one of the expected services ({@link ConnectConfig#EXPECT},
 * by default this node's own service) in place of host-name verification.
 */
public final class ConnectJvm {
    /** Algorithm name of the selective factories. */
    public static final String ALGORITHM = "ConsulConnectSelective";

    static final String KEY_MANAGER_PROPERTY = "ssl.KeyManagerFactory.algorithm";
    static final String TRUST_MANAGER_PROPERTY = "ssl.TrustManagerFactory.algorithm";
    private static final String JDK_KEY_MANAGERS = "SunX509";
    private static final String JDK_TRUST_MANAGERS = "PKIX";

    private static volatile ConnectConfig config;
    private static volatile String jdkKeyManagers = JDK_KEY_MANAGERS;
    private static volatile String jdkTrustManagers = JDK_TRUST_MANAGERS;

    private ConnectJvm() {}

    /**
     * Opens this node's identity, waits up to {@link ConnectConfig#readyTimeout()} for it
     * (with {@code consul.pem.directory} set, the PEM files exist when this returns), and
     * makes the selective factories the JVM's defaults.
     *
     * @param settings the node's settings
     * @return the SPIFFE id and serial now presented, for a log line
     * @throws IllegalArgumentException for a malformed setting
     * @throws io.consulconnect.ConnectFailureException when no identity arrives in time
     */
    public static synchronized String install(ConnectConfig settings) {
        ConnectMaterial material = Identities.ready(settings);
        ConnectMaterial.Generation g = material.current();
        if (g == null) {
            throw new IllegalStateException("no Consul Connect identity to install");
        }
        // A malformed consulconnect.expect fails here, not in a handshake.
        String expected = expected(settings, g);
        config = settings;
        ConnectProvider.install();
        jdkKeyManagers = previous(KEY_MANAGER_PROPERTY, JDK_KEY_MANAGERS);
        jdkTrustManagers = previous(TRUST_MANAGER_PROPERTY, JDK_TRUST_MANAGERS);
        Security.setProperty(KEY_MANAGER_PROPERTY, ALGORITHM);
        Security.setProperty(TRUST_MANAGER_PROPERTY, ALGORITHM);
        return g.spiffeId + " (serial " + g.serial + ", expected peers " + expected + ")";
    }

    private static String previous(String property, String jdkDefault) {
        String current = Security.getProperty(property);
        if (current == null || current.isBlank() || current.equals(ALGORITHM)
                || current.equals(ConnectProvider.ALGORITHM)) {
            return jdkDefault;
        }
        return current.trim();
    }

    /** The settings installed, else those of the system properties (read once). */
    static ConnectConfig config() {
        ConnectConfig c = config;
        if (c == null) {
            synchronized (ConnectJvm.class) {
                c = config;
                if (c == null) {
                    c = ConnectConfig.fromSystemProperties();
                    config = c;
                }
            }
        }
        return c;
    }

    /** The node's identity (opened and awaited on first use when not installed). */
    static ConnectMaterial material() {
        return Identities.ready(config());
    }

    /** The algorithm for key stores that are not ours. */
    static String jdkKeyManagerAlgorithm() {
        return jdkKeyManagers;
    }

    /** The algorithm for trust stores that are not ours. */
    static String jdkTrustManagerAlgorithm() {
        return jdkTrustManagers;
    }

    /**
     * A trust manager for a store that holds our roots: live roots; as a client, the
     * expected services; as a server, any verified service of the trust domain (the
     * application authorizes its clients itself, as Trino's certificate authenticator does).
     */
    static ConnectTrustManager trustManager(ConnectMaterial material) {
        ConnectMaterial.Generation g = material.current();
        String expected = g == null ? null : expected(config(), g);
        // Trino's Jetty server and clients keep the JDK's 24 h session timeout: the guard ends
        // resumption when the peer's chain expires or our roots/leaf change.
        return new ConnectTrustManager(material, expected, null,
                new SessionGuard(material, config().resumableLifetime()));
    }

    /** {@link ConnectConfig#EXPECT} when set, else the service of our own leaf. */
    private static String expected(ConnectConfig settings, ConnectMaterial.Generation g) {
        String configured = settings.expect();
        if (configured != null) {
            return TlsBridge.normalizeExpected(configured);
        }
        return NativeBridge.parseServiceSpiffeId(g.spiffeId).service();
    }
}
