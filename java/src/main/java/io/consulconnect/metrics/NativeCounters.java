package io.consulconnect.metrics;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** Turns the parallel name/count arrays the native code passes into an ordered map. */
final class NativeCounters {
    private NativeCounters() {}

    /**
     * @param names counter names (null: none)
     * @param counts counts, parallel to {@code names}
     * @return an unmodifiable map in the order of {@code names}
     * @throws IllegalArgumentException when the arrays differ in length or a name is null
     */
    static Map<String, Long> of(String[] names, long[] counts) {
        int n = names == null ? 0 : names.length;
        int m = counts == null ? 0 : counts.length;
        if (n != m) {
            throw new IllegalArgumentException(n + " counter names but " + m + " counts");
        }
        Map<String, Long> map = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            if (names[i] == null) {
                throw new IllegalArgumentException("counter name " + i + " is null");
            }
            map.put(names[i], counts[i]);
        }
        return Collections.unmodifiableMap(map);
    }
}
