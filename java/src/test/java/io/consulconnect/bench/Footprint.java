package io.consulconnect.bench;

import io.consulconnect.identity.ConnectIdentity;
import io.consulconnect.jni.NativeBridge;
import io.consulconnect.testing.ConsulDevAgent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * What the running native core adds to a JVM: OS threads and resident memory (from
 * /proc/self/status), measured after loading the library and after opening an identity
 * that watches a real Consul agent, plus the cost of the per-handshake generation check
 * and a full snapshot read through JNI. Run with {@code gradle benchmark -Pbench=Footprint}.
 */
public final class Footprint {
    private Footprint() {}

    /**
     * Entry point.
     *
     * @param args ignored
     * @throws Exception on failure
     */
    public static void main(String[] args) throws Exception {
        try (ConsulDevAgent consul = ConsulDevAgent.start()) {
            System.gc();
            long[] base = proc();
            NativeBridge.version();
            System.gc();
            long[] loaded = proc();
            try (ConnectIdentity identity = ConnectIdentity.open(Map.of(
                    "consul.address", consul.address(), "consul.service", "trino"))) {
                identity.awaitReady(Duration.ofSeconds(30));
                Thread.sleep(2000);
                System.gc();
                long[] running = proc();
                System.out.printf("threads: %d before, %d with the library loaded, %d with an identity running (+%d)%n",
                        base[0], loaded[0], running[0], running[0] - base[0]);
                System.out.printf("RSS: %d KiB before, %d KiB loaded (+%d), %d KiB running (+%d over loaded)%n",
                        base[1], loaded[1], loaded[1] - base[1], running[1], running[1] - loaded[1]);

                long handle = identity.handle();
                long sink = 0;
                for (int i = 0; i < 2_000_000; i++) {
                    sink += NativeBridge.generation(handle);
                }
                long t = System.nanoTime();
                int n = 10_000_000;
                for (int i = 0; i < n; i++) {
                    sink += NativeBridge.generation(handle);
                }
                double gen = (System.nanoTime() - t) / (double) n;
                for (int i = 0; i < 20_000; i++) {
                    sink += identity.snapshot().orElseThrow().generation();
                }
                t = System.nanoTime();
                n = 200_000;
                for (int i = 0; i < n; i++) {
                    sink += identity.snapshot().orElseThrow().generation();
                }
                double snap = (System.nanoTime() - t) / (double) n;
                System.out.printf("generation() through JNI: %.1f ns/call; full snapshot() through JNI: %.0f ns/call (%d)%n",
                        gen, snap, sink % 10);
            }
        }
    }

    /** {threads, VmRSS KiB} of this process. */
    private static long[] proc() throws Exception {
        long threads = 0;
        long rss = 0;
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Threads:")) {
                threads = Long.parseLong(line.substring(8).trim());
            } else if (line.startsWith("VmRSS:")) {
                rss = Long.parseLong(line.substring(6).replace("kB", "").trim());
            }
        }
        return new long[] {threads, rss};
    }
}
