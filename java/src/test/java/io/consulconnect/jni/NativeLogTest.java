package io.consulconnect.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.identity.ConnectIdentity;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.Test;

public class NativeLogTest {
    private static final String TOKEN = "secret-token-123";

    /** Collects every record logged under {@link NativeLog#LOGGER} while open. */
    private static final class Capture extends Handler implements AutoCloseable {
        private final Logger logger = Logger.getLogger(NativeLog.LOGGER);
        private final List<LogRecord> records = new ArrayList<>();

        Capture() {
            logger.addHandler(this);
        }

        @Override
        public synchronized void publish(LogRecord record) {
            records.add(record);
            notifyAll();
        }

        synchronized List<LogRecord> records() {
            return new ArrayList<>(records);
        }

        /** The first record matching, waiting up to {@code millis}; null if none came. */
        synchronized LogRecord await(Predicate<LogRecord> wanted, long millis) throws InterruptedException {
            long deadline = System.nanoTime() + millis * 1_000_000L;
            while (true) {
                for (LogRecord r : records) {
                    if (wanted.test(r)) {
                        return r;
                    }
                }
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0) {
                    return null;
                }
                wait(left);
            }
        }

        @Override
        public void flush() {}

        @Override
        public void close() {
            logger.removeHandler(this);
        }
    }

    private static int closedPort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    @Test(timeout = 60_000)
    public void anUnreachableAgentIsLoggedThroughJulWithoutTheToken() throws Exception {
        int port = closedPort();
        String address = "127.0.0.1:" + port;
        try (Capture capture = new Capture()) {
            LogRecord failure;
            ConnectIdentity identity = ConnectIdentity.open(Map.of(
                    "consul.address", "http://" + address, "consul.service", "trino",
                    "consul.token", TOKEN, "consul.request-timeout", "1s"));
            try {
                failure = capture.await(r -> r.getLevel().intValue() >= Level.WARNING.intValue()
                        && r.getMessage().contains("Consul agent") && r.getMessage().contains(address), 15_000);
            } finally {
                identity.close();
            }
            assertNotNull("no native WARNING/SEVERE about the agent at " + address + " within 15 s; got "
                    + messages(capture.records()), failure);
            assertEquals(NativeLog.LOGGER + ".identity.publisher", failure.getLoggerName());
            assertTrue(failure.getMessage(), failure.getMessage().startsWith("consul-connect: "));
            for (LogRecord r : capture.records()) {
                assertFalse(r.getMessage(), r.getMessage().contains(TOKEN));
                assertTrue(r.getLoggerName(), r.getLoggerName().startsWith(NativeLog.LOGGER));
            }
        }
        Thread drainer = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals(NativeLog.THREAD_NAME)).findFirst().orElse(null);
        assertNotNull("no " + NativeLog.THREAD_NAME + " thread", drainer);
        assertTrue("the drain thread must not keep the JVM alive", drainer.isDaemon());
    }

    private static List<String> messages(List<LogRecord> records) {
        List<String> out = new ArrayList<>();
        for (LogRecord r : records) {
            out.add(r.getLevel() + " " + r.getLoggerName() + ": " + r.getMessage());
        }
        return out;
    }

    @Test
    public void recordsGoToTheTargetsLoggerEscapedAtTheMappedLevel() {
        try (Capture capture = new Capture()) {
            NativeLog.publish("2\tconsul_connect::authz::local\tfirst\nforged line\tand a tab");
            NativeLog.publish("5\tconsul_connect::consul::token\ttrace");
            NativeLog.publish("1\trustls::conn\tforeign");
            NativeLog.publish("not a record");
            List<LogRecord> records = capture.records();
            assertEquals(messages(records).toString(), 3, records.size());
            assertEquals(Level.WARNING, records.get(0).getLevel());
            assertEquals(NativeLog.LOGGER + ".authz.local", records.get(0).getLoggerName());
            assertEquals("first\\nforged line\\tand a tab", records.get(0).getMessage());
            // FINER: not published at the default level (INFO), so not captured.
            assertEquals(Level.SEVERE, records.get(1).getLevel());
            assertEquals(NativeLog.LOGGER + ".rustls.conn", records.get(1).getLoggerName());
            assertEquals(Level.WARNING, records.get(2).getLevel());
            assertTrue(records.get(2).getMessage(), records.get(2).getMessage().contains("unreadable"));
        }
    }

    @Test
    public void levelsMapBothWays() {
        assertEquals(0, NativeLog.nativeLevel(Level.OFF));
        assertEquals(1, NativeLog.nativeLevel(Level.SEVERE));
        assertEquals(2, NativeLog.nativeLevel(Level.WARNING));
        assertEquals(3, NativeLog.nativeLevel(Level.INFO));
        assertEquals(4, NativeLog.nativeLevel(Level.CONFIG));
        assertEquals(4, NativeLog.nativeLevel(Level.FINE));
        assertEquals(5, NativeLog.nativeLevel(Level.FINER));
        assertEquals(5, NativeLog.nativeLevel(Level.FINEST));
        assertEquals(5, NativeLog.nativeLevel(Level.ALL));
        assertEquals(Level.SEVERE, NativeLog.javaLevel(1));
        assertEquals(Level.WARNING, NativeLog.javaLevel(2));
        assertEquals(Level.INFO, NativeLog.javaLevel(3));
        assertEquals(Level.FINE, NativeLog.javaLevel(4));
        assertEquals(Level.FINER, NativeLog.javaLevel(5));
    }

    @Test
    public void theLevelIsInheritedFromTheNearestAncestorWithOne() {
        Logger parent = Logger.getLogger("io.consulconnect.test.levels");
        Logger child = Logger.getLogger("io.consulconnect.test.levels.child");
        parent.setLevel(Level.FINE);
        try {
            assertEquals(Level.FINE, NativeLog.effectiveLevel(child));
            child.setLevel(Level.SEVERE);
            assertEquals(Level.SEVERE, NativeLog.effectiveLevel(child));
        } finally {
            parent.setLevel(null);
            child.setLevel(null);
        }
    }

    @Test
    public void loggerNames() {
        assertEquals(NativeLog.LOGGER + ".identity.publisher", NativeLog.loggerName("consul_connect::identity::publisher"));
        assertEquals(NativeLog.LOGGER, NativeLog.loggerName("consul_connect"));
        assertEquals(NativeLog.LOGGER + ".log_bridge", NativeLog.loggerName("consul_connect::log_bridge"));
        assertEquals(NativeLog.LOGGER + ".a_b.c", NativeLog.loggerName("a b::c"));
    }

    @Test
    public void drainLogRejectsBadArguments() {
        assertThrows(IllegalArgumentException.class, () -> NativeBridge.drainLog(6, 0));
        assertThrows(IllegalArgumentException.class, () -> NativeBridge.drainLog(-1, 0));
        assertThrows(IllegalArgumentException.class, () -> NativeBridge.drainLog(3, -1));
    }
}
