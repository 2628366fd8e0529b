package io.consulconnect;

import java.util.function.Consumer;

/**
 * A bound on how many lines of one kind reach the log: at most {@code burst} per window,
 * then one line saying how many were left out, so a flood of bad peers cannot flood the log.
 */
public final class LogBudget {
    private final int burst;
    private final long windowNanos;
    private final String what;
    private long windowStart = System.nanoTime();
    private int written;
    private int suppressed;

    /**
     * @param burst lines allowed per window
     * @param windowNanos the window
     * @param what the lines' subject, for the summary ("refusals", …)
     */
    public LogBudget(int burst, long windowNanos, String what) {
        this.burst = burst;
        this.windowNanos = windowNanos;
        this.what = what;
    }

    /**
     * Whether one more line may be written now. At the start of a new window, the count of
     * lines left out in the last one is handed to {@code summary} first.
     *
     * @param summary writes the "N more were not logged" line
     * @return true to write the line
     */
    public synchronized boolean allow(Consumer<String> summary) {
        long now = System.nanoTime();
        if (now - windowStart > windowNanos) {
            if (suppressed > 0) {
                summary.accept("consul-connect: " + suppressed + " more " + what + " were not logged");
            }
            windowStart = now;
            written = 0;
            suppressed = 0;
        }
        if (written >= burst) {
            suppressed++;
            return false;
        }
        written++;
        return true;
    }
}
