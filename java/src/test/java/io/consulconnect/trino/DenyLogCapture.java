package io.consulconnect.trino;

import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/** Collects what {@link DenyLog} writes while open. */
final class DenyLogCapture extends Handler implements AutoCloseable {
    private final Logger logger = Logger.getLogger(ConnectAuthenticator.class.getName());
    private final List<String> lines = new ArrayList<>();

    DenyLogCapture() {
        logger.addHandler(this);
    }

    @Override
    public synchronized void publish(LogRecord record) {
        lines.add(record.getMessage());
    }

    /** @return the last line written, or "" */
    synchronized String last() {
        return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {
        logger.removeHandler(this);
    }
}
