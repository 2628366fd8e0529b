package io.consulconnect.soak;

import io.consulconnect.testing.ConsulDevAgent;
import io.consulconnect.trino.ConnectAuthenticatorFactory;
import io.trino.spi.security.AccessDeniedException;
import io.trino.spi.security.CertificateAuthenticator;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.Principal;
import java.security.cert.X509Certificate;
import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.stream.Stream;

/**
 * Soak of the authorizer (issue 13, not part of CI): 64 threads authenticate through the
 * real Trino path ({@link ConnectAuthenticatorFactory} → {@link CertificateAuthenticator})
 * against a real Consul dev agent, with allowed, flipping, always-denied and invalid
 * identities, while one intention flips every 5–10 s and the CA rotates every few minutes.
 * An oracle checks every answer; the run fails on any false allow. Run by
 * {@code bash tests/soak/authz-soak.sh [minutes]} (see README, "Soak of the authorizer").
 *
 * <p>Settings (environment): {@code PCC_AUTHZ_SOAK_MINUTES} (60, or the first argument),
 * {@code PCC_AUTHZ_SOAK_THREADS} (64), {@code PCC_AUTHZ_SOAK_GRACE_MS} (2000),
 * {@code PCC_AUTHZ_SOAK_ROTATE_S} (120), {@code PCC_AUTHZ_SOAK_REPORT_S} (30).
 */
public final class AuthzSoak {
    /** Identity classes; the first three are Consul-issued leaves of the soak's own agent. */
    enum Kind {
        WEB("web", "allowed"), API("api", "flipping"), EVIL("evil", "denied"),
        FOREIGN("foreign", "invalid: leaf of another Consul"),
        SELF_SIGNED("self", "invalid: self-signed, our SPIFFE id"),
        PADDED("padded", "invalid: web leaf + unrelated cert"),
        EXPIRED("expired", "invalid: expired, signed by the current root"),
        FORGED("forged", "invalid: signed by a fake CA named as the root");

        final String label;
        final String what;

        Kind(String label, String what) {
            this.label = label;
            this.what = what;
        }

        boolean invalid() {
            return ordinal() >= FOREIGN.ordinal();
        }
    }

    /** One intention change of api → trino: the state is unknown between start and end. */
    static final class Flip {
        final boolean allow;
        final long putStart;
        long putEnd = Long.MAX_VALUE; // guarded by the timeline lock

        Flip(boolean allow, long putStart) {
            this.allow = allow;
            this.putStart = putStart;
        }
    }

    private static final Logger QUIET = Logger.getLogger("io.consulconnect.trino.ConnectAuthenticator");
    private static final long STALL_NS = 1_000_000_000L;
    private static final int[] WEIGHTS = {30, 30, 10, 6, 6, 6, 6, 6}; // per Kind, sum 100

    private final long graceNs;
    private long reportS;
    private final long t0 = System.nanoTime();
    private final List<AtomicReference<List<X509Certificate>>> chains = new ArrayList<>();
    private final Object timelineLock = new Object();
    private final List<Flip> timeline = new ArrayList<>();
    private volatile boolean running = true;

    private final LongAdder[] allows = adders();
    private final LongAdder[] denies = adders();
    private final LongAdder decisions = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final AtomicLong falseAllows = new AtomicLong();
    private final LongAdder graceAllows = new LongAdder();
    private final LongAdder graceDenies = new LongAdder();
    private final LongAdder flipOverlap = new LongAdder();
    private final LongAdder webDenies = new LongAdder();
    private final LongAdder apiUnexpectedDenies = new LongAdder();
    private final AtomicLong maxDenyLagNs = new AtomicLong();
    private final AtomicLong maxAllowLagNs = new AtomicLong();
    private final LongAdder stalls = new LongAdder();
    private final AtomicLong maxLatencyNs = new AtomicLong();
    private final AtomicLong intervalMaxNs = new AtomicLong();
    private final LongAdder[] histogram = new LongAdder[40]; // bucket i: latency < 2^i µs
    private final AtomicLong printedProblems = new AtomicLong();
    private AtomicLongArray inflight;
    private volatile int rotations;
    private volatile int flips;
    private volatile int leafChanges;
    private volatile String lastDenyReason = "";

    private AuthzSoak(long graceNs) {
        this.graceNs = graceNs;
        for (int i = 0; i < Kind.values().length; i++) {
            chains.add(new AtomicReference<>());
        }
        for (int i = 0; i < histogram.length; i++) {
            histogram[i] = new LongAdder();
        }
    }

    /**
     * Entry point.
     *
     * @param args optional: minutes (else {@code PCC_AUTHZ_SOAK_MINUTES}, else 60)
     * @throws Exception on a setup failure
     */
    public static void main(String[] args) throws Exception {
        double minutes = args.length > 0 ? Double.parseDouble(args[0]) : Double.parseDouble(env("PCC_AUTHZ_SOAK_MINUTES", "60"));
        int threads = Integer.parseInt(env("PCC_AUTHZ_SOAK_THREADS", "64"));
        long graceMs = Long.parseLong(env("PCC_AUTHZ_SOAK_GRACE_MS", "2000"));
        long rotateS = Long.parseLong(env("PCC_AUTHZ_SOAK_ROTATE_S", "120"));
        long reportS = Long.parseLong(env("PCC_AUTHZ_SOAK_REPORT_S", "30"));
        QUIET.setLevel(Level.SEVERE); // the bounded refusal log would only repeat the counts below
        boolean pass;
        Path work = Files.createTempDirectory("pcc-authz-soak");
        try {
            pass = new AuthzSoak(graceMs * 1_000_000L).run(minutes, threads, rotateS, reportS, work);
        } finally {
            try (Stream<Path> files = Files.walk(work)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        System.exit(pass ? 0 : 1);
    }

    private boolean run(double minutes, int threads, long rotateS, long reportS, Path work) throws Exception {
        SoakCertificates certs = new SoakCertificates(work);
        this.reportS = reportS;
        log("authz soak: %.1f min, %d threads, grace G=%d ms, CA rotation every %d s, report every %d s",
                minutes, threads, graceNs / 1_000_000, rotateS, reportS);
        String foreignPem;
        try (ConsulDevAgent other = ConsulDevAgent.start()) {
            foreignPem = other.leaf("web")[0];
        }
        try (ConsulDevAgent consul = ConsulDevAgent.start()) {
            consul.intention("web", "trino", true);
            consul.intention("evil", "trino", false);
            flipApi(consul, true);
            // First rotation to a root whose key the soak holds (for the expired leaf).
            List<X509Certificate> web0 = SoakCertificates.parse(consul.leaf("web")[0]);
            String webUri = spiffeUri(web0.get(0));
            Object[] next = prepareRotation(certs, webUri, 1);
            rotate(consul, next);
            chains.get(Kind.FOREIGN.ordinal()).set(SoakCertificates.parse(foreignPem));
            X509Certificate unrelated = certs.selfSigned("spiffe://unrelated.consul/ns/default/dc/dc1/svc/web");
            chains.get(Kind.SELF_SIGNED.ordinal()).set(List.of(certs.selfSigned(webUri)));
            refreshLeaves(consul, unrelated);

            CertificateAuthenticator auth = new ConnectAuthenticatorFactory().create(
                    Map.of("consul.address", consul.address(), "consul.service", "trino"));
            awaitAllowed(auth);
            log("agent %s, trust domain URI of web %s; identities ready", consul.address(), webUri);
            for (Kind k : Kind.values()) {
                log("  %-8s %s", k.label, k.what);
            }

            inflight = new AtomicLongArray(threads);
            List<Thread> workers = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int slot = i;
                Thread t = new Thread(() -> work(auth, slot), "soak-worker-" + i);
                t.setDaemon(true);
                workers.add(t);
            }
            long start = System.nanoTime();
            long end = start + (long) (minutes * 60e9);
            workers.forEach(Thread::start);
            Thread flipper = daemon("soak-flipper", () -> {
                boolean allow = true;
                while (running) {
                    sleepMs(5000 + ThreadLocalRandom.current().nextInt(5001));
                    if (!running) {
                        break;
                    }
                    allow = !allow;
                    try {
                        flipApi(consul, allow);
                    } catch (Exception e) {
                        if (running) {
                            log("flip failed: %s", e);
                        }
                    }
                }
            });
            Thread leaves = daemon("soak-leaves", () -> {
                while (running) {
                    sleepMs(5000);
                    try {
                        refreshLeaves(consul, unrelated);
                    } catch (Exception e) {
                        if (running) {
                            log("leaf refresh failed: %s", e);
                        }
                    }
                }
            });
            Thread rotator = daemon("soak-rotator", () -> {
                int n = 1;
                while (running) {
                    try {
                        Object[] prepared = prepareRotation(certs, webUri, ++n);
                        long due = start + rotateS * 1_000_000_000L * (n - 1);
                        while (running && System.nanoTime() < due) {
                            sleepMs(200);
                        }
                        if (running) {
                            rotate(consul, prepared);
                            refreshLeaves(consul, unrelated);
                        }
                    } catch (Exception e) {
                        if (running) {
                            log("CA rotation failed: %s", e);
                        }
                        sleepMs(5000);
                    }
                }
            });

            long[] rss = {-1, 0, 0};
            int[] thr = {-1, 0, 0};
            long lastCount = 0;
            long lastT = start;
            long nextReport = start + reportS * 1_000_000_000L;
            while (System.nanoTime() < end) {
                sleepMs(Math.max(1, Math.min(1000, (Math.min(end, nextReport) - System.nanoTime()) / 1_000_000)));
                if (System.nanoTime() >= nextReport || System.nanoTime() >= end) {
                    long now = System.nanoTime();
                    long count = decisions.sum();
                    report(now, (count - lastCount) / ((now - lastT) / 1e9), rss, thr);
                    lastCount = count;
                    lastT = now;
                    nextReport += reportS * 1_000_000_000L;
                }
            }
            running = false;
            for (Thread t : workers) {
                t.join(30_000);
            }
            long stuck = workers.stream().filter(Thread::isAlive).count();
            flipper.interrupt();
            leaves.interrupt();
            rotator.interrupt();
            double seconds = (System.nanoTime() - start) / 1e9;
            long total = decisions.sum();
            boolean pass = falseAllows.get() == 0 && stuck == 0 && total > 0;
            StringBuilder perKind = new StringBuilder();
            for (Kind k : Kind.values()) {
                perKind.append(' ').append(k.label).append('=').append(allows[k.ordinal()].sum()).append('/')
                        .append(denies[k.ordinal()].sum());
            }
            log("final: allow/deny per class:%s", perKind);
            log("final: latency p50 %s p99 %s p99.9 %s max %.1f ms; stalls (>1 s) %d; worker threads stuck at end %d",
                    quantile(0.5), quantile(0.99), quantile(0.999), maxLatencyNs.get() / 1e6, stalls.sum(), stuck);
            log("final: api answers in the grace window: %d allows, %d denies; overlapping a flip's PUT: %d; "
                    + "max observed stale allow after a deny %.0f ms, stale deny after an allow %.0f ms",
                    graceAllows.sum(), graceDenies.sum(), flipOverlap.sum(), maxDenyLagNs.get() / 1e6,
                    maxAllowLagNs.get() / 1e6);
            System.out.printf("AUTHZ-SOAK SUMMARY: %s minutes=%.1f decisions=%d rate=%.0f/s false_allows=%d "
                    + "grace_allows=%d web_denies=%d api_unexpected_denies=%d errors=%d max_latency_ms=%.1f stalls=%d "
                    + "rotations=%d flips=%d leaf_changes=%d rss_mb_first/max/last=%d/%d/%d "
                    + "threads_first/max/last=%d/%d/%d%n",
                    pass ? "PASS" : "FAIL", seconds / 60, total, total / seconds, falseAllows.get(), graceAllows.sum(),
                    webDenies.sum(), apiUnexpectedDenies.sum(), errors.sum(), maxLatencyNs.get() / 1e6,
                    stalls.sum(), rotations, flips, leafChanges, rss[0], rss[1], rss[2], thr[0], thr[1], thr[2]);
            System.out.flush();
            return pass;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Workers and the oracle
    // ---------------------------------------------------------------------------------------

    private void work(CertificateAuthenticator auth, int slot) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (running) {
            Kind kind = pick(random.nextInt(100));
            List<X509Certificate> chain = chains.get(kind.ordinal()).get();
            long s = System.nanoTime();
            inflight.set(slot, s);
            Principal principal = null;
            String reason = null;
            try {
                principal = auth.authenticate(chain);
            } catch (AccessDeniedException e) {
                reason = e.getMessage();
            } catch (RuntimeException e) {
                errors.increment();
                reason = "unexpected " + e;
            }
            long e = System.nanoTime();
            inflight.set(slot, 0);
            long latency = e - s;
            decisions.increment();
            maxLatencyNs.accumulateAndGet(latency, Math::max);
            intervalMaxNs.accumulateAndGet(latency, Math::max);
            histogram[Math.min(histogram.length - 1, 64 - Long.numberOfLeadingZeros(latency / 1000))].increment();
            if (latency > STALL_NS) {
                stalls.increment();
                problem("stall: %s call took %.0f ms", kind.label, latency / 1e6);
            }
            if (principal != null) {
                allows[kind.ordinal()].increment();
                judgeAllow(kind, principal, s, e);
            } else {
                denies[kind.ordinal()].increment();
                judgeDeny(kind, reason, s, e);
            }
        }
    }

    private void judgeAllow(Kind kind, Principal principal, long s, long e) {
        if (kind.invalid() || kind == Kind.EVIL) {
            falseAllow(kind, "allowed as " + principal.getName());
            return;
        }
        String expected = kind == Kind.WEB ? "web" : "api";
        if (!expected.equals(principal.getName())) {
            falseAllow(kind, "principal " + principal.getName() + ", expected " + expected);
            return;
        }
        if (kind == Kind.API) {
            Flip last = lastFlipBefore(e);
            if (last != null && !last.allow) {
                long putEnd = putEnd(last);
                if (putEnd <= s - graceNs) {
                    falseAllow(kind, String.format("intention deny since %.3f s before the call (G %d ms)",
                            (s - putEnd) / 1e9, graceNs / 1_000_000));
                } else if (putEnd < e) {
                    graceAllows.increment();
                    maxDenyLagNs.accumulateAndGet(Math.max(0, s - putEnd), Math::max);
                } else {
                    flipOverlap.increment();
                }
            }
        }
    }

    private void judgeDeny(Kind kind, String reason, long s, long e) {
        if (kind == Kind.WEB) {
            webDenies.increment();
            lastDenyReason = reason;
        } else if (kind == Kind.API) {
            Flip last = lastFlipBefore(e);
            if (last != null && last.allow) {
                long putEnd = putEnd(last);
                if (putEnd <= s - graceNs) {
                    apiUnexpectedDenies.increment();
                    lastDenyReason = reason;
                } else if (putEnd < e) {
                    graceDenies.increment();
                    maxAllowLagNs.accumulateAndGet(Math.max(0, s - putEnd), Math::max);
                } else {
                    flipOverlap.increment();
                }
            }
        }
    }

    private void falseAllow(Kind kind, String detail) {
        falseAllows.incrementAndGet();
        problem("FALSE ALLOW: %s (%s): %s", kind.label, kind.what, detail);
    }

    private void problem(String format, Object... args) {
        if (printedProblems.incrementAndGet() <= 200) {
            log(format, args);
        }
    }

    private static Kind pick(int r) {
        Kind[] kinds = Kind.values();
        for (int i = 0; i < kinds.length; i++) {
            r -= WEIGHTS[i];
            if (r < 0) {
                return kinds[i];
            }
        }
        return Kind.WEB;
    }

    /** The last intention change of api that started before {@code e} (the call's end). */
    private Flip lastFlipBefore(long e) {
        synchronized (timelineLock) {
            for (int i = timeline.size() - 1; i >= 0; i--) {
                if (timeline.get(i).putStart < e) {
                    return timeline.get(i);
                }
            }
            return null;
        }
    }

    private long putEnd(Flip f) {
        synchronized (timelineLock) {
            return f.putEnd;
        }
    }

    // ---------------------------------------------------------------------------------------
    // Intentions, leaves, CA rotation
    // ---------------------------------------------------------------------------------------

    private void flipApi(ConsulDevAgent consul, boolean allow) throws Exception {
        Flip f;
        synchronized (timelineLock) {
            f = new Flip(allow, System.nanoTime());
            timeline.add(f);
        }
        consul.intention("api", "trino", allow);
        synchronized (timelineLock) {
            f.putEnd = System.nanoTime();
        }
        flips++;
    }

    private void refreshLeaves(ConsulDevAgent consul, X509Certificate unrelated) throws Exception {
        for (Kind k : new Kind[] {Kind.WEB, Kind.API, Kind.EVIL}) {
            List<X509Certificate> fresh = SoakCertificates.parse(consul.leaf(k.label)[0]);
            List<X509Certificate> old = chains.get(k.ordinal()).getAndSet(fresh);
            if (old != null && !old.get(0).equals(fresh.get(0))) {
                leafChanges++;
            }
        }
        List<X509Certificate> padded = new ArrayList<>(chains.get(Kind.WEB.ordinal()).get());
        padded.add(unrelated);
        chains.get(Kind.PADDED.ordinal()).set(List.copyOf(padded));
    }

    /** Next root (held key), an expired leaf it signs, a fake CA of the same name and its leaf. */
    private static Object[] prepareRotation(SoakCertificates certs, String webUri, int n) throws Exception {
        String dn = "CN=pcc soak root " + n + ",O=presto-consul-connect";
        SoakCertificates.Ca root = certs.newCa(dn);
        X509Certificate expired = certs.signedLeaf(root, webUri, "-3d", 1);
        SoakCertificates.Ca fake = certs.newCa(dn);
        X509Certificate forged = certs.signedLeaf(fake, webUri, null, 30);
        return new Object[] {root, expired, forged, n};
    }

    private void rotate(ConsulDevAgent consul, Object[] prepared) throws Exception {
        SoakCertificates.Ca root = (SoakCertificates.Ca) prepared[0];
        long t = System.nanoTime();
        consul.send("PUT", "/v1/connect/ca/configuration", "{\"Provider\":\"consul\",\"Config\":{\"PrivateKey\":\""
                + json(root.keyPem) + "\",\"RootCert\":\"" + json(root.certPem)
                + "\",\"PrivateKeyType\":\"ec\",\"PrivateKeyBits\":256}}");
        chains.get(Kind.EXPIRED.ordinal()).set(List.of((X509Certificate) prepared[1]));
        chains.get(Kind.FORGED.ordinal()).set(List.of((X509Certificate) prepared[2]));
        int listed = consul.get("/v1/agent/connect/ca/roots").split("\"RootCert\"", -1).length - 1;
        if (prepared[3] instanceof Integer && (Integer) prepared[3] > 1) {
            rotations++;
        }
        log("CA rotation to '%s' (PUT %.0f ms); roots listed: %d", root.cert.getSubjectX500Principal().getName(),
                (System.nanoTime() - t) / 1e6, listed);
    }

    private void awaitAllowed(CertificateAuthenticator auth) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            try {
                auth.authenticate(chains.get(Kind.WEB.ordinal()).get());
                return;
            } catch (AccessDeniedException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("web is not allowed after 60 s: " + e.getMessage(), e);
                }
                sleepMs(200);
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Reporting
    // ---------------------------------------------------------------------------------------

    private void report(long now, double rate, long[] rss, int[] thr) {
        long rssMb = rssKb() / 1024;
        int osThreads = osThreads();
        if (rss[0] < 0) {
            rss[0] = rssMb;
            thr[0] = osThreads;
        }
        rss[1] = Math.max(rss[1], rssMb);
        rss[2] = rssMb;
        thr[1] = Math.max(thr[1], osThreads);
        thr[2] = osThreads;
        long oldest = 0;
        for (int i = 0; i < inflight.length(); i++) {
            long s = inflight.get(i);
            if (s != 0) {
                oldest = Math.max(oldest, now - s);
            }
        }
        StringBuilder perKind = new StringBuilder();
        for (Kind k : Kind.values()) {
            perKind.append(' ').append(k.label).append(' ').append(allows[k.ordinal()].sum()).append('/')
                    .append(denies[k.ordinal()].sum());
        }
        log("t=%4ds %6.0f dec/s | allow/deny%s | FALSE-ALLOWS %d grace %d/%d | web denied %d api unexpected-deny %d"
                + " errors %d | lat max %.1f ms (last %ds %.1f ms) stalls %d oldest-inflight %.0f ms | rss %d MB"
                + " threads jvm %d os %d | flips %d rotations %d leaf-changes %d",
                (now - t0) / 1_000_000_000L, rate, perKind, falseAllows.get(), graceAllows.sum(), graceDenies.sum(),
                webDenies.sum(), apiUnexpectedDenies.sum(), errors.sum(), maxLatencyNs.get() / 1e6,
                reportS, intervalMaxNs.getAndSet(0) / 1e6, stalls.sum(), oldest / 1e6, rssMb,
                ManagementFactory.getThreadMXBean().getThreadCount(), osThreads, flips, rotations, leafChanges);
        String reason = lastDenyReason;
        if (!reason.isEmpty()) {
            log("  last unexpected deny: %s", reason);
            lastDenyReason = "";
        }
    }

    private String quantile(double q) {
        long total = 0;
        for (LongAdder a : histogram) {
            total += a.sum();
        }
        long target = (long) Math.ceil(total * q);
        long seen = 0;
        for (int i = 0; i < histogram.length; i++) {
            seen += histogram[i].sum();
            if (seen >= target && total > 0) {
                return "<" + (i == 0 ? "1 µs" : formatMicros(1L << i));
            }
        }
        return "n/a";
    }

    private static String formatMicros(long us) {
        return us < 1000 ? us + " µs" : String.format("%.1f ms", us / 1000.0);
    }

    private static long rssKb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception e) {
            // not Linux
        }
        return -1;
    }

    private static int osThreads() {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return (int) tasks.count();
        } catch (Exception e) {
            return Thread.activeCount();
        }
    }

    // ---------------------------------------------------------------------------------------
    // Helpers
    // ---------------------------------------------------------------------------------------

    private static LongAdder[] adders() {
        LongAdder[] a = new LongAdder[Kind.values().length];
        for (int i = 0; i < a.length; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    private static String spiffeUri(X509Certificate cert) throws Exception {
        for (List<?> san : cert.getSubjectAlternativeNames()) {
            if (Integer.valueOf(6).equals(san.get(0))) {
                return san.get(1).toString();
            }
        }
        throw new IllegalStateException("no URI SAN in " + cert.getSubjectX500Principal());
    }

    private static String json(String s) {
        return s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void sleepMs(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? fallback : v;
    }

    private static void log(String format, Object... args) {
        System.out.println(LocalTime.now().truncatedTo(ChronoUnit.SECONDS) + " " + String.format(format, args));
        System.out.flush();
    }
}
