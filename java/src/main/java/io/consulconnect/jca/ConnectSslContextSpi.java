package io.consulconnect.jca;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.security.KeyManagementException;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * {@code SSLContext.getInstance("ConsulConnect")}: the JDK's own TLS implementation with our
 * key and trust managers, and two Connect rules on top:
 *
 * <ul>
 *   <li>mutual TLS: server sockets and engines of this context require a client certificate
 *       (also through {@link #engineGetDefaultSSLParameters()}, which e.g.
 *       {@code HttpsConfigurator} applies);</li>
 *   <li>sessions are resumable for {@link ConnectConfig#resumableLifetime()} only: the
 *       {@link ConnectConfig#SESSION_TIMEOUT} (default 10 minutes instead of the JDK's 24
 *       hours), at most the decision TTL ({@code consul.authz.cache-ttl}, default 60 s),
 *       since a resumed session skips the certificate checks and the authorizer. Our trust
 *       manager also invalidates the sessions it verified when the peer's leaf expires or
 *       the identity's roots/leaf generation changes ({@link SessionGuard}).</li>
 * </ul>
 *
 * <p>{@code init(null, null, random)} uses {@link ConnectConfig#fromSystemProperties()};
 * managers passed to {@code init} are used as given.
 */
public final class ConnectSslContextSpi extends SSLContextSpi {
    private final SSLContext tls;
    private final KeyManager[] presetKeyManagers;
    private final TrustManager[] presetTrustManagers;
    private final Duration presetSessionTimeout;

    /** An uninitialised context (the provider calls this). */
    public ConnectSslContextSpi() {
        this(null, null, null);
    }

    ConnectSslContextSpi(KeyManager keyManager, TrustManager trustManager, Duration sessionTimeout) {
        try {
            this.tls = SSLContext.getInstance("TLS");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no TLS SSLContext", e);
        }
        this.presetKeyManagers = keyManager == null ? null : new KeyManager[] {keyManager};
        this.presetTrustManagers = trustManager == null ? null : new TrustManager[] {trustManager};
        this.presetSessionTimeout = sessionTimeout;
    }

    @Override
    protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom random) throws KeyManagementException {
        KeyManager[] keyManagers = km != null ? km : presetKeyManagers;
        TrustManager[] trustManagers = tm != null ? tm : presetTrustManagers;
        Duration sessionTimeout = presetSessionTimeout;
        try {
            if (keyManagers == null || trustManagers == null || sessionTimeout == null) {
                ConnectConfig config = ConnectConfig.fromSystemProperties();
                if (keyManagers == null) {
                    keyManagers = new KeyManager[] {Identities.keyManager(config)};
                }
                if (trustManagers == null) {
                    trustManagers = new TrustManager[] {Identities.trustManager(config, null)};
                }
                if (sessionTimeout == null) {
                    sessionTimeout = config.resumableLifetime();
                }
            }
        } catch (RuntimeException e) {
            throw new KeyManagementException("Consul Connect SSLContext: " + e.getMessage(), e);
        }
        tls.init(keyManagers, trustManagers, random);
        int seconds = (int) Math.min(Integer.MAX_VALUE, Math.max(1, sessionTimeout.toSeconds()));
        tls.getServerSessionContext().setSessionTimeout(seconds);
        tls.getClientSessionContext().setSessionTimeout(seconds);
    }

    @Override
    protected SSLSocketFactory engineGetSocketFactory() {
        return tls.getSocketFactory();
    }

    @Override
    protected SSLServerSocketFactory engineGetServerSocketFactory() {
        return new MutualServerSocketFactory(tls.getServerSocketFactory());
    }

    @Override
    protected SSLEngine engineCreateSSLEngine() {
        return mutual(tls.createSSLEngine());
    }

    @Override
    protected SSLEngine engineCreateSSLEngine(String host, int port) {
        return mutual(tls.createSSLEngine(host, port));
    }

    @Override
    protected SSLSessionContext engineGetServerSessionContext() {
        return tls.getServerSessionContext();
    }

    @Override
    protected SSLSessionContext engineGetClientSessionContext() {
        return tls.getClientSessionContext();
    }

    @Override
    protected SSLParameters engineGetDefaultSSLParameters() {
        SSLParameters parameters = tls.getDefaultSSLParameters();
        parameters.setNeedClientAuth(true);
        return parameters;
    }

    @Override
    protected SSLParameters engineGetSupportedSSLParameters() {
        return tls.getSupportedSSLParameters();
    }

    /** Requiring a client certificate matters in server mode only; client mode ignores it. */
    private static SSLEngine mutual(SSLEngine engine) {
        engine.setNeedClientAuth(true);
        return engine;
    }

    /** The JDK's server socket factory, with client certificates required. */
    private static final class MutualServerSocketFactory extends SSLServerSocketFactory {
        private final SSLServerSocketFactory factory;

        MutualServerSocketFactory(SSLServerSocketFactory factory) {
            this.factory = factory;
        }

        private static ServerSocket mutual(ServerSocket socket) {
            ((SSLServerSocket) socket).setNeedClientAuth(true);
            return socket;
        }

        @Override
        public ServerSocket createServerSocket() throws IOException {
            return mutual(factory.createServerSocket());
        }

        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
            return mutual(factory.createServerSocket(port));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog) throws IOException {
            return mutual(factory.createServerSocket(port, backlog));
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog, InetAddress address) throws IOException {
            return mutual(factory.createServerSocket(port, backlog, address));
        }

        @Override
        public String[] getDefaultCipherSuites() {
            return factory.getDefaultCipherSuites();
        }

        @Override
        public String[] getSupportedCipherSuites() {
            return factory.getSupportedCipherSuites();
        }
    }
}
