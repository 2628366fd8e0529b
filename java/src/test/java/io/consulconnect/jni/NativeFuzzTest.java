package io.consulconnect.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectFailureException;
import io.consulconnect.identity.IdentitySnapshot;
import io.consulconnect.jca.PeerRefusedException;
import io.consulconnect.testing.ConsulDevAgent;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.AfterClass;
import org.junit.BeforeClass;
import org.junit.ClassRule;
import org.junit.Test;

/**
 * Pushes over a million random and mutated inputs through every public native method of
 * {@link NativeBridge} and {@link TlsBridge} (garbage and mutated DER, large arrays, nulls,
 * odd strings with non-ASCII and control characters and unpaired surrogates, negative,
 * huge and closed handles): the JVM must stay up and every call must return or throw one
 * of the documented exceptions ({@link IllegalArgumentException},
 * {@link ConnectFailureException} and its subclass
 * {@link io.consulconnect.ConnectAccessDeniedException}, {@link PeerRefusedException}).
 * A panic in the native code (a {@code ConnectFailureException} saying so) or any other
 * {@link Throwable} fails the test. Fixed seed; prints the calls per method.
 */
public class NativeFuzzTest {
    @ClassRule
    public static final ConsulDevAgent consul = ConsulDevAgent.rule();

    private static final long SEED = 0x13_F0_22_ED_5EEDL;
    private static final int CALLS = 1_000_000;
    /** Handles that are never open: 0, negative, huge. */
    private static final long[] BAD_HANDLES = {0, -1, -2, Long.MIN_VALUE, Long.MAX_VALUE, 1L << 40, -(1L << 33)};
    private static final String TD = "11111111-2222-3333-4444-555555555555.consul";
    private static final String[] STRINGS = {
        "", " ", "*", "web", "trino", "db,web", "*,web", " web , trino ", "web,", ",", "-", "a.b_c-d",
        "spiffe://" + TD + "/ns/default/dc/dc1/svc/web",
        "spiffe://" + TD + "/ap/part/ns/default/dc/dc1/svc/web",
        "SPIFFE://" + TD.toUpperCase() + "/ns/default/dc/dc1/svc/web",
        "spiffe://" + TD + "/agent/client/dc/dc1/id/node", "spiffe://td/gateway/mesh/dc/dc1",
        "spiffe://", "spiffe:///ns//dc//svc/", "http://127.0.0.1:8500", "https://[::1]:8501", "unix:///tmp/c.sock",
        "unix://relative", "127.0.0.1:1", "10s", "1.5m", "500ms", "1h 30m", "0s", "0", "365d", "366d",
        "1e308s", "99999999999999999999999999h", ".5s", "5.s", "NaNs", "-1s", "true", "FALSE", "yes", "1",
        "service-name", "spiffe-id", "agent", "files", "\u0000", "\n", "\r\n\t", "\u007f", "\u00e9t\u00e9",
        "\u65e5\u672c", "\ud83d\ude00", "\ud800", "\udfff", "\uffff", "\u202e", "%00", "%2F", "../../etc/passwd",
    };
    private static final String[] KEYS = {
        "consul.address", "consul.token", "consul.tls.ca-file", "consul.tls.cert-file", "consul.tls.key-file",
        "consul.tls.server-name", "consul.service", "consul.namespace", "consul.partition",
        "consul.request-timeout", "consul.watch.wait", "consul.identity.source", "consul.identity.files.key",
        "consul.identity.files.chain", "consul.identity.files.roots", "consul.identity.files.poll-interval",
        "consul.authz.target", "consul.authz.cache-size", "consul.authz.cache-ttl", "consul.authz.max-stale",
        "consul.authz.principal", "consul.unknown", "", "consul.address\u0000",
    };

    private static long liveHandle;
    private static long deadHandle;
    private static long closedHandle;
    private static final List<byte[]> validDer = new ArrayList<>();
    private static final byte[] big = new byte[1 << 20];

    private final Random rnd = new Random(SEED);
    private final Map<String, long[]> counts = new TreeMap<>();
    private final List<String> failures = new ArrayList<>();

    @BeforeClass
    public static void open() throws Exception {
        consul.intention("web", "trino", true);
        liveHandle = NativeBridge.open(new String[] {"consul.address", "consul.service"},
                new String[] {consul.address(), "trino"});
        NativeBridge.waitReady(liveHandle, 30_000);
        deadHandle = NativeBridge.open(new String[] {"consul.address", "consul.service", "consul.request-timeout"},
                new String[] {"http://127.0.0.1:1", "trino", "200ms"});
        closedHandle = NativeBridge.open(new String[] {"consul.address", "consul.service"},
                new String[] {"http://127.0.0.1:2", "fuzz-closed"});
        NativeBridge.close(closedHandle);
        for (String service : new String[] {"web", "trino"}) {
            String pem = consul.leaf(service)[0];
            for (Certificate c : CertificateFactory.getInstance("X.509")
                    .generateCertificates(new ByteArrayInputStream(pem.getBytes(StandardCharsets.US_ASCII)))) {
                validDer.add(c.getEncoded());
            }
        }
        new Random(SEED).nextBytes(big);
    }

    @AfterClass
    public static void close() {
        NativeBridge.close(liveHandle);
        NativeBridge.close(deadHandle);
    }

    @FunctionalInterface
    private interface Call {
        Object run() throws Exception;
    }

    private void call(String method, Call body) {
        counts.computeIfAbsent(method, m -> new long[1])[0]++;
        try {
            Object result = body.run();
            if (result instanceof IdentitySnapshot snapshot) {
                snapshot.destroyKey();
            }
        } catch (IllegalArgumentException | PeerRefusedException expected) {
            // documented
        } catch (ConnectFailureException e) {
            if (String.valueOf(e.getMessage()).contains("(panic)")) {
                fail(method, e);
            }
        } catch (Throwable t) {
            fail(method, t);
        }
    }

    private void fail(String method, Throwable t) {
        if (failures.size() < 20) {
            failures.add(method + ": " + t);
        }
    }

    @Test
    public void everyNativeMethodSurvivesGarbage() throws Exception {
        long start = System.nanoTime();
        int opens = 0;
        int waits = 0;
        int fresh = 0;
        for (int i = 0; i < CALLS; i++) {
            int pick = rnd.nextInt(100);
            if (pick < 12) {
                String s = string();
                call("parseServiceSpiffeId", () -> {
                    var id = NativeBridge.parseServiceSpiffeId(s);
                    assertNotNull(id);
                    return id;
                });
            } else if (pick < 22) {
                String k = string();
                String v = string();
                boolean zero = rnd.nextBoolean();
                call("parseDuration", () -> {
                    long ms = NativeBridge.parseDuration(k, v, zero);
                    assertTrue(v + " -> " + ms, (zero ? ms >= 0 : ms > 0) && ms <= 365L * 24 * 3600 * 1000);
                    return ms;
                });
            } else if (pick < 28) {
                String k = string();
                String v = string();
                call("parseFlag", () -> NativeBridge.parseFlag(k, v));
            } else if (pick < 32) {
                String k = rnd.nextBoolean() ? KEYS[rnd.nextInt(KEYS.length)] : string();
                call("settingDefault", () -> NativeBridge.settingDefault(k));
            } else if (pick < 42) {
                String s = string();
                call("normalizeExpected", () -> {
                    String n = TlsBridge.normalizeExpected(s);
                    assertEquals(n, TlsBridge.normalizeExpected(n));
                    return n;
                });
            } else if (pick < 60) {
                long h = handle();
                byte[][] chain = chain();
                boolean client = rnd.nextBoolean();
                String expected = rnd.nextInt(4) == 0 ? null : string();
                call("verifyPeer", () -> TlsBridge.verifyPeer(h, chain, client, expected));
            } else if (pick < 75) {
                long h = handle();
                byte[][] chain = chain();
                call("authorize", () -> NativeBridge.authorize(h, chain));
            } else if (pick < 85) {
                long h = handle();
                byte[][] chain = chain();
                String target = rnd.nextInt(3) == 0 ? null : string();
                // An explicit target with a verifiable chain asks the agent: keep those few.
                if (target != null && h == liveHandle && chain != null && chain.length > 0 && chain[0] == validDer.get(0)
                        && fresh++ > 2_000) {
                    continue;
                }
                call("authorizeDetailed", () -> NativeBridge.authorizeDetailed(h, chain, target));
            } else if (pick < 89) {
                long h = handle();
                call("generation", () -> NativeBridge.generation(h));
            } else if (pick < 93) {
                long h = handle();
                call("snapshot", () -> NativeBridge.snapshot(h));
            } else if (pick < 96) {
                long h = handle();
                switch (rnd.nextInt(3)) {
                    case 0 -> call("status", () -> NativeBridge.status(h));
                    case 1 -> call("identityMetrics", () -> NativeBridge.identityMetrics(h));
                    default -> call("authorizationMetrics", () -> NativeBridge.authorizationMetrics(h));
                }
            } else if (pick < 97) {
                long h = handle();
                call("startAuthorization", () -> {
                    NativeBridge.startAuthorization(h);
                    return null;
                });
            } else if (pick < 98) {
                long h = handle();
                long timeout = rnd.nextBoolean() ? rnd.nextInt(3) : (rnd.nextBoolean() ? -rnd.nextInt(1000) - 1 : Long.MIN_VALUE);
                if (h == deadHandle && timeout > 0 && waits++ > 300) {
                    continue;
                }
                call("waitReady", () -> NativeBridge.waitReady(h, timeout));
            } else if (pick < 99) {
                if (opens++ > 3_000) {
                    continue;
                }
                openAndClose();
            } else {
                long h = BAD_HANDLES[rnd.nextInt(BAD_HANDLES.length)];
                long target = rnd.nextBoolean() ? h : closedHandle;
                call("close", () -> {
                    NativeBridge.close(target);
                    return null;
                });
                call("version", NativeBridge::version);
            }
        }
        long millis = (System.nanoTime() - start) / 1_000_000;
        long total = counts.values().stream().mapToLong(c -> c[0]).sum();
        StringBuilder report = new StringBuilder("NativeFuzzTest: " + total + " calls in " + millis + " ms (seed "
                + Long.toHexString(SEED) + ")\n");
        counts.forEach((m, c) -> report.append(String.format("  %-22s %9d%n", m, c[0])));
        System.out.print(report);
        Files.writeString(Path.of("build", "native-fuzz-counts.txt"), report);
        assertTrue("calls made: " + total, total >= CALLS);
        assertEquals("undocumented outcomes: " + failures, List.of(), failures);
        // The live identity still works after all that.
        assertTrue(NativeBridge.generation(liveHandle) > 0);
        assertEquals("web", NativeBridge.authorize(liveHandle, new byte[][] {validDer.get(0)}));
    }

    /** A random properties map for open(): mostly malformed; whatever opens is closed. */
    private void openAndClose() {
        int n = rnd.nextInt(5);
        boolean mismatch = rnd.nextInt(20) == 0;
        String[] keys = new String[n];
        String[] values = new String[mismatch ? n + 1 : n];
        for (int i = 0; i < n; i++) {
            keys[i] = rnd.nextInt(10) == 0 ? string() : KEYS[rnd.nextInt(KEYS.length)];
            values[i] = string();
            if (keys[i] != null && keys[i].contains("address") && rnd.nextBoolean()) {
                values[i] = "http://127.0.0.1:1"; // never a real agent
            }
        }
        if (mismatch) {
            values[n] = "x";
        }
        String[] k = rnd.nextInt(50) == 0 ? null : keys;
        String[] v = rnd.nextInt(50) == 0 ? null : values;
        long[] opened = {0};
        call("open", () -> {
            opened[0] = NativeBridge.open(k, v);
            return opened[0];
        });
        if (opened[0] != 0 && opened[0] != liveHandle && opened[0] != deadHandle) {
            long h = opened[0];
            call("close", () -> {
                NativeBridge.close(h);
                return null;
            });
        } else if (opened[0] != 0) {
            // Shared with our own handles: release the extra reference.
            NativeBridge.close(opened[0]);
        }
    }

    private long handle() {
        int r = rnd.nextInt(10);
        if (r < 5) {
            return liveHandle;
        } else if (r < 8) {
            return deadHandle;
        } else if (r < 9) {
            return closedHandle;
        }
        return BAD_HANDLES[rnd.nextInt(BAD_HANDLES.length)];
    }

    private byte[][] chain() {
        int r = rnd.nextInt(100);
        if (r == 0) {
            return null;
        } else if (r == 1) {
            return new byte[0][];
        } else if (r == 2) {
            return new byte[][] {validDer.get(0), null};
        } else if (r == 3) {
            byte[][] many = new byte[rnd.nextInt(64) + 5][];
            for (int i = 0; i < many.length; i++) {
                many[i] = validDer.get(rnd.nextInt(validDer.size()));
            }
            return many;
        } else if (r == 4) {
            return new byte[][] {big};
        } else if (r < 15) {
            // Valid chains (leaf first, or in another order).
            List<byte[]> c = new ArrayList<>();
            c.add(validDer.get(0));
            if (rnd.nextBoolean()) {
                c.add(validDer.get(rnd.nextInt(validDer.size())));
            }
            if (rnd.nextInt(4) == 0) {
                c.add(0, validDer.get(rnd.nextInt(validDer.size())));
            }
            return c.toArray(new byte[0][]);
        }
        byte[][] chain = new byte[rnd.nextInt(3) + 1][];
        for (int i = 0; i < chain.length; i++) {
            chain[i] = rnd.nextBoolean() ? mutate(validDer.get(rnd.nextInt(validDer.size()))) : bytes(rnd.nextInt(1024));
        }
        return chain;
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        rnd.nextBytes(b);
        if (n > 1 && rnd.nextBoolean()) {
            b[0] = 0x30; // a DER SEQUENCE, to get past the first byte
            b[1] = (byte) (rnd.nextBoolean() ? 0x82 : rnd.nextInt(128));
        }
        return b;
    }

    private byte[] mutate(byte[] der) {
        byte[] b;
        int kind = rnd.nextInt(4);
        if (kind == 0) {
            b = java.util.Arrays.copyOf(der, rnd.nextInt(der.length + 1)); // truncated
        } else if (kind == 1) {
            b = java.util.Arrays.copyOf(der, der.length + rnd.nextInt(64)); // padded
        } else {
            b = der.clone();
        }
        int flips = rnd.nextInt(4) + 1;
        for (int i = 0; i < flips && b.length > 0; i++) {
            b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
        }
        return b;
    }

    private String string() {
        int r = rnd.nextInt(100);
        if (r < 3) {
            return null;
        } else if (r < 40) {
            return STRINGS[rnd.nextInt(STRINGS.length)];
        } else if (r < 80) {
            StringBuilder s = new StringBuilder(STRINGS[rnd.nextInt(STRINGS.length)]);
            int edits = rnd.nextInt(4) + 1;
            for (int i = 0; i < edits; i++) {
                int at = s.length() == 0 ? 0 : rnd.nextInt(s.length() + 1);
                switch (rnd.nextInt(3)) {
                    case 0 -> s.insert(at, oddChar());
                    case 1 -> {
                        if (at < s.length()) {
                            s.deleteCharAt(at);
                        }
                    }
                    default -> {
                        if (at < s.length()) {
                            s.setCharAt(at, oddChar());
                        } else {
                            s.append(STRINGS[rnd.nextInt(STRINGS.length)]);
                        }
                    }
                }
            }
            return s.toString();
        } else if (r < 98) {
            int n = rnd.nextInt(40);
            StringBuilder s = new StringBuilder(n);
            for (int i = 0; i < n; i++) {
                s.append(oddChar());
            }
            return s.toString();
        }
        // Long strings, bounded.
        int n = 1 + rnd.nextInt(1 << 16);
        return "spiffe://" + TD + "/ns/default/dc/dc1/svc/" + "w".repeat(n);
    }

    private char oddChar() {
        return switch (rnd.nextInt(6)) {
            case 0 -> (char) rnd.nextInt(0x20); // control characters, NUL included
            case 1 -> (char) (0x80 + rnd.nextInt(0x780)); // Latin-1 supplement to Arabic
            case 2 -> (char) (0xD800 + rnd.nextInt(0x800)); // lone surrogates
            case 3 -> (char) rnd.nextInt(0x10000);
            default -> "/:.%*,-_ab0ASPIFEspife".charAt(rnd.nextInt(22));
        };
    }
}
