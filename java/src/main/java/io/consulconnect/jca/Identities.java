package io.consulconnect.jca;

import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.TlsBridge;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One identity per JVM (per class loader) and configuration: every factory, SSLContext and
 * builder configured with the same {@code consul.*} properties shares one
 * {@link ConnectIdentity}, hence one set of native watchers, and one {@link ConnectMaterial},
 * hence one copy of the JCA objects. They stay open for the life of the JVM, as the
 * {@code SSLContext}s using them may.
 */
final class Identities {
    private static final Map<Map<String, String>, ConnectMaterial> OPEN = new ConcurrentHashMap<>();

    private Identities() {}

    /**
     * The shared material of the identity these settings configure, opened on first use.
     *
     * @param config the settings
     * @return the material
     * @throws IllegalArgumentException for an unknown key or malformed value
     */
    static ConnectMaterial material(ConnectConfig config) {
        return OPEN.computeIfAbsent(config.consulProperties(), p -> new ConnectMaterial(ConnectIdentity.open(p)));
    }

    /**
     * {@link #material}, after waiting up to the configured ready timeout for its first
     * snapshot.
     *
     * @param config the settings
     * @return the material
     * @throws io.consulconnect.ConnectFailureException when no identity arrives in time,
     *     with the last error (agent unreachable, ACL denied, ...)
     */
    static ConnectMaterial ready(ConnectConfig config) {
        ConnectMaterial material = material(config);
        Duration timeout = config.readyTimeout();
        if (!timeout.isZero() && !timeout.isNegative() && material.current() == null) {
            material.identity().awaitReady(timeout);
        }
        return material;
    }

    static ConnectKeyManager keyManager(ConnectConfig config) {
        return new ConnectKeyManager(ready(config));
    }

    /**
     * A trust manager of the identity these settings configure.
     *
     * @param config the settings
     * @param authorizer the server-side check of verified clients; null for the default, the
     *     Consul intention check unless {@link ConnectConfig#INTENTIONS} is false
     * @return the trust manager
     */
    static ConnectTrustManager trustManager(ConnectConfig config, PeerAuthorizer authorizer) {
        String expected = config.expect() == null ? null : TlsBridge.normalizeExpected(config.expect());
        ConnectMaterial material = ready(config);
        PeerAuthorizer check = authorizer != null || !config.intentions()
                ? authorizer
                : new ConnectIntentions(material.identity());
        return new ConnectTrustManager(material, expected, check,
                new SessionGuard(material, config.resumableLifetime()));
    }
}
