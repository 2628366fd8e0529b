package io.consulconnect.jca;

import java.net.InetAddress;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * Child JVM of {@link ConnectJavaSecurityTest}: plain JDK code that knows nothing of this
 * library. It uses the JVM's default SSLContext, which the {@code java.security} file points
 * at the ConsulConnect factories, connects to the port in {@code args[0]} and prints what it
 * verified.
 */
public final class JavaSecurityChild {
    private JavaSecurityChild() {}

    public static void main(String[] args) throws Exception {
        System.out.println("KMF " + KeyManagerFactory.getDefaultAlgorithm());
        System.out.println("TMF " + TrustManagerFactory.getDefaultAlgorithm());
        SSLContext context = SSLContext.getDefault();
        try (SSLSocket s = (SSLSocket) context.getSocketFactory()
                .createSocket(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0]))) {
            s.startHandshake();
            if (s.getInputStream().read() != '1') {
                throw new IllegalStateException("no byte from the server");
            }
            // Only a Connect trust manager records this value.
            System.out.println("PEER " + ConnectPeer.of(s.getSession()).map(ConnectPeer::spiffeId).orElse("none"));
        }
    }
}
