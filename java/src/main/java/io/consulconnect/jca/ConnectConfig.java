package io.consulconnect.jca;

import io.consulconnect.jni.NativeBridge;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import javax.net.ssl.ManagerFactoryParameters;

/**
 * What the provider needs: the {@code consul.*} properties of the identity (passed to the
 * native core unchanged, which rejects unknown keys) and a few {@code consulconnect.*}
 * settings of the JCA layer.
 *
 * <p>{@link #fromSystemProperties()} is what {@code KeyManagerFactory.getInstance("ConsulConnect")}
 * and friends use when they are initialised without parameters (as the JDK's default
 * {@code SSLContext} does under a {@code java.security} file): the file named by the system
 * property {@value #PROPERTIES_FILE}, overridden entry by entry by system properties of the
 * same names. Pass an instance to {@code init(ManagerFactoryParameters)} to configure a factory
 * in code instead.
 *
 * <table>
 * <caption>Settings of the JCA layer</caption>
 * <tr><th>key</th><th>meaning</th><th>default</th></tr>
 * <tr><td>{@value #EXPECT}</td><td>the server a client must reach: service name, SPIFFE id, or
 * {@code *} for any service of the trust domain</td><td>none: every server is refused</td></tr>
 * <tr><td>{@value #READY_TIMEOUT}</td><td>how long factory initialisation waits for the first
 * identity</td><td>30s</td></tr>
 * <tr><td>{@value #INTENTIONS}</td><td>{@code true}: as a server, accept only clients that
 * Consul intentions allow to reach this service ({@code consul.authz.target}, else
 * {@code consul.service}); {@code false}: any verified service of the trust domain</td>
 * <td>true</td></tr>
 * <tr><td>{@value #SESSION_TIMEOUT}</td><td>lifetime of resumable TLS sessions of our
 * {@code SSLContext}s (resumption skips certificate checks)</td><td>10m</td></tr>
 * </table>
 */
public final class ConnectConfig implements ManagerFactoryParameters {
    /** System property naming a properties file with {@code consul.*} and {@code consulconnect.*} keys. */
    public static final String PROPERTIES_FILE = "consulconnect.properties";
    /** Expected server identity for client connections. */
    public static final String EXPECT = "consulconnect.expect";
    /** How long factory initialisation waits for the first identity. */
    public static final String READY_TIMEOUT = "consulconnect.ready-timeout";
    /** Session lifetime of our SSLContexts. */
    public static final String SESSION_TIMEOUT = "consulconnect.session-timeout";
    /** Whether servers check Consul intentions for verified clients. */
    public static final String INTENTIONS = "consulconnect.intentions";

    /**
     * The defaults of this layer's settings, as the README's table writes them
     * ({@code ConnectConfigTest} compares the two).
     */
    static final Map<String, String> DEFAULTS = Map.of(READY_TIMEOUT, "30s", SESSION_TIMEOUT, "10m", INTENTIONS,
            "true");

    private static final String CONSUL_PREFIX = "consul.";
    /** The core's decision cache TTL setting (its default is the core's). */
    private static final String AUTHZ_CACHE_TTL = "consul.authz.cache-ttl";
    private static final Set<String> OWN_KEYS = Set.of(EXPECT, READY_TIMEOUT, SESSION_TIMEOUT, INTENTIONS);

    private final Map<String, String> consul;
    private final String expect;
    private final Duration readyTimeout;
    private final Duration sessionTimeout;
    private final boolean intentions;

    private ConnectConfig(Map<String, String> consul, String expect, Duration readyTimeout, Duration sessionTimeout,
            boolean intentions) {
        this.consul = Collections.unmodifiableMap(new TreeMap<>(consul));
        this.expect = expect;
        this.readyTimeout = readyTimeout;
        this.sessionTimeout = sessionTimeout;
        this.intentions = intentions;
    }

    /**
     * Settings from a flat map of {@code consul.*} and {@code consulconnect.*} keys.
     *
     * @param settings the keys
     * @return the configuration
     * @throws IllegalArgumentException for a key of another prefix, an unknown
     *     {@code consulconnect.*} key or a malformed duration
     */
    public static ConnectConfig of(Map<String, String> settings) {
        Map<String, String> consul = new TreeMap<>();
        String expect = null;
        Duration ready = duration(READY_TIMEOUT, DEFAULTS.get(READY_TIMEOUT));
        Duration session = duration(SESSION_TIMEOUT, DEFAULTS.get(SESSION_TIMEOUT));
        boolean intentions = bool(INTENTIONS, DEFAULTS.get(INTENTIONS));
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String key = Objects.requireNonNull(e.getKey(), "key");
            String value = Objects.requireNonNull(e.getValue(), () -> "value of " + key).trim();
            switch (key) {
                case EXPECT -> expect = value.isEmpty() ? null : value;
                case READY_TIMEOUT -> ready = duration(key, value);
                case SESSION_TIMEOUT -> session = duration(key, value);
                case INTENTIONS -> intentions = bool(key, value);
                case PROPERTIES_FILE -> { /* names this file; not a setting */ }
                default -> {
                    if (!key.startsWith(CONSUL_PREFIX)) {
                        throw new IllegalArgumentException("unknown Consul Connect setting `" + key + "`; known: "
                                + OWN_KEYS + " and the consul.* keys");
                    }
                    consul.put(key, value);
                }
            }
        }
        if (session.toSeconds() < 1 || session.toSeconds() > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(SESSION_TIMEOUT + " must be between 1s and 68 years");
        }
        return new ConnectConfig(consul, expect, ready, session, intentions);
    }

    /**
     * Settings from the file named by {@value #PROPERTIES_FILE} (if set) and from system
     * properties starting with {@code consul.} and the {@code consulconnect.*} keys above,
     * which win over the file.
     *
     * @return the configuration
     * @throws IllegalArgumentException when the file cannot be read or a setting is malformed
     */
    public static ConnectConfig fromSystemProperties() {
        Map<String, String> settings = new TreeMap<>();
        String file = System.getProperty(PROPERTIES_FILE);
        if (file != null && !file.isBlank()) {
            Properties p = new Properties();
            try (InputStream in = Files.newInputStream(Path.of(file.trim()))) {
                p.load(in);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the Consul Connect properties file " + file
                        + " (system property " + PROPERTIES_FILE + "): " + e, e);
            }
            for (String key : p.stringPropertyNames()) {
                settings.put(key, p.getProperty(key));
            }
        }
        Properties system = System.getProperties();
        for (String key : system.stringPropertyNames()) {
            // Other consulconnect.* system properties belong to other parts (the native
            // library override, tests): only this layer's own keys are taken.
            if (key.startsWith(CONSUL_PREFIX) || OWN_KEYS.contains(key)) {
                settings.put(key, system.getProperty(key));
            }
        }
        return of(settings);
    }

    /**
     * The same configuration for another service and expected server.
     *
     * @param service the {@code consul.service} of this node
     * @return the configuration
     */
    ConnectConfig withService(String service) {
        Map<String, String> c = new TreeMap<>(consul);
        c.put("consul.service", service);
        return new ConnectConfig(c, expect, readyTimeout, sessionTimeout, intentions);
    }

    ConnectConfig withExpect(String expected) {
        return new ConnectConfig(consul, expected, readyTimeout, sessionTimeout, intentions);
    }

    ConnectConfig withReadyTimeout(Duration timeout) {
        return new ConnectConfig(consul, expect, Objects.requireNonNull(timeout), sessionTimeout, intentions);
    }

    ConnectConfig withSessionTimeout(Duration timeout) {
        return new ConnectConfig(consul, expect, readyTimeout, Objects.requireNonNull(timeout), intentions);
    }

    ConnectConfig withIntentions(boolean on) {
        return new ConnectConfig(consul, expect, readyTimeout, sessionTimeout, on);
    }

    /** @return the {@code consul.*} properties of the identity (sorted, unmodifiable) */
    public Map<String, String> consulProperties() {
        return consul;
    }

    /** @return the expected server identity as configured, or null */
    public String expect() {
        return expect;
    }

    /** @return how long factory initialisation waits for the first identity */
    public Duration readyTimeout() {
        return readyTimeout;
    }

    /** @return the session lifetime of our SSLContexts */
    public Duration sessionTimeout() {
        return sessionTimeout;
    }

    /**
     * How long the core's authorizer reuses a decision: {@code consul.authz.cache-ttl}, else
     * the core's default ({@link NativeBridge#settingDefault}).
     *
     * @return the decision TTL
     */
    public Duration decisionTtl() {
        String value = consul.get(AUTHZ_CACHE_TTL);
        return duration(AUTHZ_CACHE_TTL, value != null ? value : NativeBridge.settingDefault(AUTHZ_CACHE_TTL));
    }

    /**
     * How long a verified TLS session may be resumed: {@link #sessionTimeout()}, at most
     * {@link #decisionTtl()} (a resumed session skips verification and authorization, so it
     * must not outlive the decision that let it in).
     *
     * @return the resumable lifetime
     */
    public Duration resumableLifetime() {
        Duration ttl = decisionTtl();
        return ttl.compareTo(sessionTimeout) < 0 ? ttl : sessionTimeout;
    }

    /** @return whether servers check Consul intentions */
    public boolean intentions() {
        return intentions;
    }

    // One grammar for every setting: the core's (config.rs), through the bridge.
    private static boolean bool(String key, String value) {
        return NativeBridge.parseFlag(key, value);
    }

    private static Duration duration(String key, String value) {
        return Duration.ofMillis(NativeBridge.parseDuration(key, value, true));
    }

    @Override
    public String toString() {
        // consul.* values may hold an ACL token: print the keys only.
        return "ConnectConfig[keys=" + consul.keySet() + ", expect=" + expect + ", readyTimeout=" + readyTimeout
                + ", sessionTimeout=" + sessionTimeout + ", intentions=" + intentions + "]";
    }
}
