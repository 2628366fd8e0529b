package io.consulconnect.jca;

import io.consulconnect.jni.NativeBridge;
import java.lang.ref.WeakReference;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSession;

/**
 * Ends the resumability of the TLS sessions one trust manager verified, since a resumed
 * session runs neither the certificate verification nor the authorizer.
 *
 * <p>The JDK offers no hook when it resumes a session; what it does honour is
 * {@link SSLSession#invalidate()}: an invalidated session (and every session ticket issued
 * from it, which the JDK keeps as its children) is never resumed. Stateless TLS tickets would
 * escape that, but the JDK (17 and 25) issues them only for sessions without bound values,
 * and {@link ConnectTrustManager} binds the verified peer into every session it verifies, so
 * these sessions always get cached, invalidatable tickets. So each verified session is
 * registered here (weakly: the JDK's cache owns it) with a deadline, and invalidated:
 *
 * <ul>
 *   <li>when its deadline passes: the earliest {@code notAfter} of the peer's chain, or the
 *       resumable lifetime ({@link ConnectConfig#resumableLifetime()}, at most the decision
 *       TTL {@code consul.authz.cache-ttl}) after verification, whichever comes first; a
 *       session whose deadline is less than a second away is invalidated at once;</li>
 *   <li>when the identity's roots/leaf generation or the authorizer's intentions epoch
 *       changes (two atomic reads in native code per check), so a revoked intention ends
 *       resumption within about a second.</li>
 * </ul>
 *
 * <p>One daemon thread per JVM checks every guard each second. Our {@code SSLContext}s also
 * set the JDK's session timeout to the resumable lifetime, which bounds it exactly even
 * between two checks.
 */
final class SessionGuard {
    private static final long PERIOD_MILLIS = 1_000;
    private static final Set<WeakReference<SessionGuard>> GUARDS = ConcurrentHashMap.newKeySet();
    /** Guarded by the class lock. */
    private static ScheduledExecutorService sweeper;

    private final ConnectMaterial material;
    private final long lifetimeMillis;
    /** Registered sessions (weakly) and their deadlines, epoch millis. */
    private final Map<WeakReference<SSLSession>, Long> sessions = new ConcurrentHashMap<>();
    /** The generation and intentions epoch the registered sessions were verified under. */
    private volatile State seen = new State(-1, -1);

    private record State(long generation, long decisions) {}
    private volatile boolean enrolled;

    /**
     * @param material the identity whose generation ends sessions
     * @param lifetime how long a verified session may be resumed at most
     */
    SessionGuard(ConnectMaterial material, Duration lifetime) {
        this.material = material;
        this.lifetimeMillis = Math.max(0, lifetime.toMillis());
    }

    /**
     * Registers a session our trust manager just verified (its handshake session).
     *
     * @param session the session
     * @param chain the peer's chain
     */
    void register(SSLSession session, X509Certificate[] chain) {
        long now = System.currentTimeMillis();
        long deadline = now + lifetimeMillis;
        for (X509Certificate c : chain) {
            deadline = Math.min(deadline, c.getNotAfter().getTime());
        }
        State current = current();
        if (!seen.equals(current)) {
            invalidateAll(current);
        }
        if (deadline - now < PERIOD_MILLIS) {
            session.invalidate(); // usable for this connection, never resumed
            return;
        }
        sessions.put(new WeakReference<>(session), deadline);
        if (!enrolled) {
            enroll(this);
        }
    }

    /** Invalidates what is due; drops what is gone. */
    void sweep() {
        State current = current();
        if (!seen.equals(current)) {
            invalidateAll(current);
            return;
        }
        long now = System.currentTimeMillis();
        for (Iterator<Map.Entry<WeakReference<SSLSession>, Long>> it = sessions.entrySet().iterator(); it.hasNext();) {
            Map.Entry<WeakReference<SSLSession>, Long> e = it.next();
            SSLSession s = e.getKey().get();
            if (s == null || !s.isValid()) {
                it.remove();
            } else if (now >= e.getValue()) {
                s.invalidate();
                it.remove();
            }
        }
    }

    private State current() {
        long handle = material.identity().handle();
        return new State(NativeBridge.generation(handle), NativeBridge.decisionEpoch(handle));
    }

    private synchronized void invalidateAll(State current) {
        if (seen.equals(current)) {
            return;
        }
        seen = current;
        for (Iterator<WeakReference<SSLSession>> it = sessions.keySet().iterator(); it.hasNext();) {
            SSLSession s = it.next().get();
            if (s != null) {
                s.invalidate();
            }
            it.remove();
        }
    }

    /** @return sessions registered and not yet dropped (for tests) */
    int size() {
        return sessions.size();
    }

    private static synchronized void enroll(SessionGuard guard) {
        if (!guard.enrolled) {
            guard.enrolled = true;
            GUARDS.add(new WeakReference<>(guard));
        }
        if (sweeper == null) {
            ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "consul-connect-session-guard");
                t.setDaemon(true);
                return t;
            });
            s.scheduleWithFixedDelay(SessionGuard::sweepAll, PERIOD_MILLIS, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
            sweeper = s;
        }
    }

    private static void sweepAll() {
        for (Iterator<WeakReference<SessionGuard>> it = GUARDS.iterator(); it.hasNext();) {
            SessionGuard g = it.next().get();
            if (g == null) {
                it.remove();
                continue;
            }
            try {
                g.sweep();
            } catch (RuntimeException e) {
                // A closed identity: nothing to resume against; drop what it guarded.
                g.sessions.keySet().forEach(r -> {
                    SSLSession s = r.get();
                    if (s != null) {
                        s.invalidate();
                    }
                });
                g.sessions.clear();
            }
        }
    }
}
