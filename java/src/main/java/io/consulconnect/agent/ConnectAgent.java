package io.consulconnect.agent;

import io.consulconnect.jca.ConnectConfig;
import io.consulconnect.jca.ConnectJvm;
import java.lang.instrument.Instrumentation;

/**
 * The JVM-level part, started by {@code -javaagent:presto-consul-connect-<v>.jar=<file>} in
 * Trino's {@code etc/jvm.config}, before Trino's {@code main}: it opens the node's Consul
 * identity from the properties file (the same {@code consul.*} and {@code consulconnect.*}
 * keys as everywhere), waits for it (writing {@code consul.pem.directory} first, so the
 * files Trino's configuration names exist), and installs {@link ConnectJvm}, so Trino's HTTPS
 * server and internal HTTP clients present the live leaf and check SPIFFE identities.
 *
 * <p>No class is transformed; the {@link Instrumentation} is not used. A failure stops the
 * JVM with the reason: a node without its identity could not take part in the cluster.
 */
public final class ConnectAgent {
    private ConnectAgent() {}

    /**
     * Entry point of {@code -javaagent}.
     *
     * @param args the path of the properties file; when empty, the system property
     *     {@value ConnectConfig#PROPERTIES_FILE} names it
     * @param instrumentation unused
     */
    public static void premain(String args, Instrumentation instrumentation) {
        // Trino's launcher first runs `java <jvm.config lines> -version` to learn the JDK:
        // that JVM runs no application, so it must not wait for Consul or write files.
        String command = System.getProperty("sun.java.command");
        if (command == null || command.isBlank()) {
            return;
        }
        install(args);
    }

    /**
     * The same, without instrumentation (e.g. {@code java -javaagent} replaced by a call in
     * an application's own {@code main}).
     *
     * @param args the path of the properties file, or null
     */
    public static void install(String args) {
        if (args != null && !args.isBlank()) {
            System.setProperty(ConnectConfig.PROPERTIES_FILE, args.trim());
        }
        System.Logger log = System.getLogger(ConnectAgent.class.getName());
        try {
            String identity = ConnectJvm.install(ConnectConfig.fromSystemProperties());
            log.log(System.Logger.Level.INFO, "consul-connect: JVM-level Consul Connect TLS installed for "
                    + identity);
        } catch (RuntimeException | Error e) {
            // Printed here too: the JVM's own report of a failed agent shows only a stack trace.
            System.err.println("consul-connect: cannot start: " + e.getMessage());
            throw e;
        }
    }
}
