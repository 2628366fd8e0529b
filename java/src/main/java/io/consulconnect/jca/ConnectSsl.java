package io.consulconnect.jca;

import java.security.KeyManagementException;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import javax.net.ssl.SSLContext;

/**
 * {@code SSLContext}s for one Connect service, in code:
 *
 * <pre>{@code
 * SSLContext server = ConnectSsl.forService("trino").properties(settings).server();
 * SSLContext client = ConnectSsl.forService("web").properties(settings).client("trino");
 * }</pre>
 *
 * <p>Every context of the same settings shares one native identity. Contexts present the
 * current leaf and trust the current roots across rotations; nothing needs rebuilding.
 */
public final class ConnectSsl {
    private ConnectSsl() {}

    /**
     * Starts a builder for the service this process is.
     *
     * @param service the Consul service name ({@code consul.service})
     * @return the builder
     */
    public static Builder forService(String service) {
        return new Builder(Objects.requireNonNull(service, "service"));
    }

    /** Builds contexts for one service. */
    public static final class Builder {
        private final String service;
        private ConnectConfig config;
        private PeerAuthorizer authorizer;

        private Builder(String service) {
            this.service = service;
            this.config = ConnectConfig.of(Map.of()).withService(service);
        }

        /**
         * The settings: {@code consul.*} keys of the native core (address, token, TLS to the
         * agent, ...) and {@code consulconnect.*} keys of {@link ConnectConfig}. Replaces
         * earlier settings.
         *
         * @param settings the keys; {@code consul.service}, if present, must be this service
         * @return this builder
         */
        public Builder properties(Map<String, String> settings) {
            Map<String, String> copy = new TreeMap<>(settings);
            String other = copy.remove("consul.service");
            if (other != null && !other.trim().equals(service)) {
                throw new IllegalArgumentException("consul.service is `" + other + "` but this builder is for `"
                        + service + "`");
            }
            config = ConnectConfig.of(copy).withService(service);
            return this;
        }

        /**
         * How long {@link #server()} and {@link #client(String)} wait for the first identity
         * (default 30 s; zero: do not wait).
         *
         * @param timeout the timeout
         * @return this builder
         */
        public Builder readyTimeout(Duration timeout) {
            config = config.withReadyTimeout(timeout);
            return this;
        }

        /**
         * How long TLS sessions may be resumed (default 10 minutes).
         *
         * @param timeout the timeout, at least one second
         * @return this builder
         */
        public Builder sessionTimeout(Duration timeout) {
            if (timeout.toSeconds() < 1) {
                throw new IllegalArgumentException("session timeout must be at least 1s");
            }
            config = config.withSessionTimeout(timeout);
            return this;
        }

        /**
         * Whether servers accept only clients that Consul intentions allow to reach this
         * service (default true, as Consul's own Connect-native SDK does); false accepts any
         * verified service of the trust domain. See {@link ConnectConfig#INTENTIONS}.
         *
         * @param check whether to check intentions
         * @return this builder
         */
        public Builder intentions(boolean check) {
            config = config.withIntentions(check);
            return this;
        }

        /**
         * A server-side check of verified clients in place of the intention check.
         *
         * @param authorizer the check, or null for the default (see {@link #intentions})
         * @return this builder
         */
        public Builder authorizer(PeerAuthorizer authorizer) {
            this.authorizer = authorizer;
            return this;
        }

        /**
         * A context for accepting connections: presents this service's leaf, requires client
         * certificates, verifies them and checks Consul intentions (see {@link #intentions}).
         * Used as a client it refuses every server (it expects none); use
         * {@link #client(String)} for that.
         *
         * @return an initialised context
         * @throws io.consulconnect.ConnectFailureException when no identity arrives
         *     within the ready timeout
         */
        public SSLContext server() {
            ConnectConfig c = config.withExpect(null);
            if (authorizer == null && c.intentions()) {
                // Start the decision cache and intentions watch now: a missing target fails here.
                new ConnectIntentions(Identities.ready(c).identity()).start();
            }
            return context(c);
        }

        /**
         * A context for connecting to {@code expected}: presents this service's leaf and
         * accepts only a server that verifies and is that identity.
         *
         * @param expected a service name (in this service's namespace and partition, any
         *     datacenter), a service SPIFFE id, or {@code *} for any service of the trust domain
         * @return an initialised context
         * @throws IllegalArgumentException when {@code expected} is none of these
         * @throws io.consulconnect.ConnectFailureException when no identity arrives
         *     within the ready timeout
         */
        public SSLContext client(String expected) {
            return context(config.withExpect(Objects.requireNonNull(expected, "expected")));
        }

        /**
         * A host-name verifier for {@code HttpsURLConnection} that accepts a session only when
         * its server is {@code expected} (see {@link ConnectHostnameVerifier}).
         *
         * @param expected as for {@link #client(String)}
         * @return the verifier
         */
        public ConnectHostnameVerifier hostnameVerifier(String expected) {
            return new ConnectHostnameVerifier(trustManager(expected));
        }

        /** @return a key manager presenting this service's current leaf */
        public ConnectKeyManager keyManager() {
            return Identities.keyManager(config);
        }

        /**
         * A trust manager verifying peers against the current roots.
         *
         * @param expected the server identity expected on the client side, or null (then it
         *     refuses every server)
         * @return the trust manager
         */
        public ConnectTrustManager trustManager(String expected) {
            return Identities.trustManager(config.withExpect(expected), authorizer);
        }

        private SSLContext context(ConnectConfig c) {
            ConnectSslContextSpi spi = new ConnectSslContextSpi(Identities.keyManager(c),
                    Identities.trustManager(c, authorizer), c.resumableLifetime());
            SSLContext context = new ConnectSslContext(spi);
            try {
                context.init(null, null, null);
            } catch (KeyManagementException e) {
                throw new IllegalStateException(e.getMessage(), e);
            }
            return context;
        }
    }

    /** Gives the builder's SPI an {@code SSLContext} face (the constructor is protected). */
    private static final class ConnectSslContext extends SSLContext {
        ConnectSslContext(ConnectSslContextSpi spi) {
            super(spi, ConnectProvider.instance(), ConnectProvider.ALGORITHM);
        }
    }
}
