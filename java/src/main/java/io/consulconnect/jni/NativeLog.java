package io.consulconnect.jni;

import io.consulconnect.LogText;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Forwards the native core's log lines to java.util.logging, where Trino writes them to its
 * server log: one daemon thread, {@value #THREAD_NAME}, drains the native queue
 * ({@link NativeBridge#drainLog}) and logs each record to the logger
 * {@value #LOGGER}{@code .<module>}, the module being the Rust target without the crate
 * name, {@code ::} written as dots ({@code io.consulconnect.native.identity.publisher},
 * {@code io.consulconnect.native.authz.local}; other crates' warnings under their crate name,
 * e.g. {@code io.consulconnect.native.rustls.conn}; the drop report under
 * {@code io.consulconnect.native.log_bridge}).
 *
 * <p>The native level follows the effective level of the logger {@value #LOGGER} (read
 * before every drain, so a change applies within a second): SEVERE error, WARNING warn,
 * INFO info, CONFIG and FINE debug, FINER, FINEST and ALL trace, OFF nothing. Native levels
 * map back as error SEVERE, warn WARNING, info INFO, debug FINE, trace FINER. Messages are
 * escaped with {@link LogText#printable}.
 *
 * <p>One thread per copy of these classes (per class loader); copies that share one native
 * library share its queue, and each record is logged by whichever copy drained it.
 */
public final class NativeLog {
    /** The logger whose level sets the native level; records go to its children. */
    public static final String LOGGER = "io.consulconnect.native";
    /** The name of the draining thread. */
    public static final String THREAD_NAME = "consul-connect-native-log";

    private static final Logger ROOT = Logger.getLogger(LOGGER);
    private static final String OWN_CRATE = "consul_connect";
    private static final long WAIT_MILLIS = 1_000;
    private static final long PAUSE_MILLIS = 5_000;
    private static final AtomicBoolean STARTED = new AtomicBoolean();

    private NativeLog() {}

    /**
     * Starts forwarding, once per class loader copy; later calls return at once. The first
     * drain runs on the caller's thread, so the native logger is installed before the
     * caller's identity starts and its first lines are kept. Never throws.
     */
    public static void start() {
        if (!STARTED.compareAndSet(false, true)) {
            return;
        }
        try {
            drain(0);
        } catch (RuntimeException | LinkageError e) {
            ROOT.log(Level.WARNING, "consul-connect: cannot forward native log lines; retrying in the background", e);
        }
        Thread thread = new Thread(NativeLog::run, THREAD_NAME);
        thread.setDaemon(true);
        thread.start();
    }

    /** The thread's loop: never ends, never dies; a failure is logged once per streak. */
    private static void run() {
        boolean failing = false;
        while (true) {
            try {
                drain(WAIT_MILLIS);
                failing = false;
            } catch (Throwable e) {
                if (!failing) {
                    ROOT.log(Level.WARNING, "consul-connect: forwarding native log lines failed; retrying", e);
                    failing = true;
                }
                pause();
            }
        }
    }

    private static void pause() {
        try {
            Thread.sleep(PAUSE_MILLIS);
        } catch (InterruptedException e) {
            // Nobody but the JVM's end interrupts this daemon thread: keep going.
            Thread.interrupted();
        }
    }

    private static void drain(long waitMillis) {
        for (String record : NativeBridge.drainLog(nativeLevel(effectiveLevel(ROOT)), waitMillis)) {
            publish(record);
        }
    }

    /** Logs one {@code <level>\t<target>\t<message>} record. */
    static void publish(String record) {
        String[] parts = record.split("\t", 3);
        if (parts.length < 3 || parts[0].length() != 1) {
            ROOT.warning("consul-connect: unreadable native log record: " + LogText.printable(record));
            return;
        }
        // The Rust target stands as the source class (what JUL's SimpleFormatter prints).
        Logger.getLogger(loggerName(parts[1])).logp(javaLevel(parts[0].charAt(0) - '0'), LogText.printable(parts[1]),
                null, LogText.printable(parts[2]));
    }

    /**
     * The logger of a Rust target: {@value #LOGGER} plus the target without this crate's
     * name, {@code ::} written as dots, other characters than letters, digits, {@code _}
     * and {@code .} as {@code _}.
     */
    static String loggerName(String target) {
        String module = target.equals(OWN_CRATE) ? ""
                : target.startsWith(OWN_CRATE + "::") ? target.substring(OWN_CRATE.length() + 2) : target;
        StringBuilder name = new StringBuilder(LOGGER.length() + 1 + module.length()).append(LOGGER);
        if (!module.isEmpty()) {
            name.append('.');
            String dotted = module.replace("::", ".");
            for (int i = 0; i < dotted.length(); i++) {
                char c = dotted.charAt(i);
                boolean plain = c == '.' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                        || (c >= '0' && c <= '9');
                name.append(plain ? c : '_');
            }
        }
        return name.toString();
    }

    /** The level of the first of this logger and its ancestors that has one (INFO if none). */
    static Level effectiveLevel(Logger logger) {
        for (Logger l = logger; l != null; l = l.getParent()) {
            if (l.getLevel() != null) {
                return l.getLevel();
            }
        }
        return Level.INFO;
    }

    /** The native level (0 off … 5 trace) for a JUL level. */
    static int nativeLevel(Level level) {
        int value = level.intValue();
        if (value == Level.OFF.intValue()) {
            return 0;
        }
        if (value >= Level.SEVERE.intValue()) {
            return 1;
        }
        if (value >= Level.WARNING.intValue()) {
            return 2;
        }
        if (value >= Level.INFO.intValue()) {
            return 3;
        }
        if (value >= Level.FINE.intValue()) {
            return 4;
        }
        return 5;
    }

    /** The JUL level for a native level (1 error … 5 trace). */
    static Level javaLevel(int nativeLevel) {
        return switch (nativeLevel) {
            case 1 -> Level.SEVERE;
            case 2 -> Level.WARNING;
            case 3 -> Level.INFO;
            case 4 -> Level.FINE;
            default -> Level.FINER;
        };
    }
}
