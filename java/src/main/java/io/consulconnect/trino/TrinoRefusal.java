package io.consulconnect.trino;

import io.trino.spi.security.AccessDeniedException;
import io.trino.spi.security.CertificateAuthenticator;
import java.lang.reflect.Constructor;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.logging.Logger;

/**
 * The exception that makes Trino answer a refused client certificate with
 * {@code 401 Unauthorized} and our short message, on every release we support.
 *
 * <p>Trino's server-side certificate authentication ({@code
 * io.trino.server.security.CertificateAuthenticator}, unchanged from 435 to 483) turns every
 * {@link RuntimeException} of a plugin — {@link AccessDeniedException} included — into
 * {@code 500 Authentication error} with a stack trace in the body; only its own checked
 * {@code io.trino.server.security.AuthenticationException} becomes a 401 whose body is the
 * message. That class is not in the SPI, so a plugin cannot name it; but the SPI's own
 * classes are loaded by the server's class loader, which does see it. This class finds it
 * there once, by name, and throws it. If it is ever missing (a release that moved it), the
 * refusal is an {@link AccessDeniedException}: still refused, as a 500.
 *
 * <p>Upstream, mapping {@code AccessDeniedException} to 401 in the certificate path (as
 * Trino's password authentication already does) would make this class unnecessary.
 */
final class TrinoRefusal {
    private static final Logger LOG = Logger.getLogger(TrinoRefusal.class.getName());
    static final String AUTHENTICATION_EXCEPTION = "io.trino.server.security.AuthenticationException";
    private static final Constructor<? extends Exception> UNAUTHORIZED = find(CertificateAuthenticator.class.getClassLoader());
    /** The refusal thrown for each message (one per reason code; bounded all the same). */
    private static final ConcurrentMap<String, Exception> REFUSALS = new ConcurrentHashMap<>();
    private static final int MAX_REFUSALS = 64;

    private TrinoRefusal() {}

    /**
     * Trino's {@code AuthenticationException(String)} as the server's class loader has it, or
     * null when it cannot be found.
     */
    static Constructor<? extends Exception> find(ClassLoader serverLoader) {
        try {
            Class<?> type = Class.forName(AUTHENTICATION_EXCEPTION, false, serverLoader);
            if (!Exception.class.isAssignableFrom(type) || RuntimeException.class.isAssignableFrom(type)) {
                throw new ClassCastException(type + " is not a checked exception");
            }
            return type.asSubclass(Exception.class).getConstructor(String.class);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            // Not inside a Trino server (a test, another host): refusals are AccessDeniedException.
            LOG.fine("consul-connect: refusals are AccessDeniedException (no " + AUTHENTICATION_EXCEPTION + ": " + e + ")");
            return null;
        }
    }

    /** Whether refusals become 401 (Trino's authentication exception was found). */
    static boolean unauthorized() {
        return UNAUTHORIZED != null;
    }

    /**
     * Throws the refusal: Trino's authentication exception (a checked exception, thrown
     * without being declared) carrying {@code message}, else an {@link AccessDeniedException}.
     * One exception per message is made and thrown again for every refusal with that message
     * (the messages are "refused (code)", one per reason code): a refused request captures no
     * stack trace, which would cost microseconds and only ever show this authenticator. Trino
     * only reads the message of the exception; nothing mutates it.
     *
     * @param message what the client is told
     * @return never returns; declared so that callers can write {@code throw refuse(...)}
     */
    static RuntimeException refuse(String message) {
        Exception refusal = REFUSALS.get(message);
        if (refusal == null) {
            refusal = refusal(UNAUTHORIZED, message);
            if (REFUSALS.size() < MAX_REFUSALS) {
                Exception first = REFUSALS.putIfAbsent(message, refusal);
                refusal = first != null ? first : refusal;
            }
        }
        throw TrinoRefusal.<RuntimeException>sneaky(refusal);
    }

    /**
     * Throws a new refusal made with {@code unauthorized} (null: {@link AccessDeniedException}).
     *
     * @param unauthorized the constructor of Trino's authentication exception, or null
     * @param message what the client is told
     * @return never returns
     */
    static RuntimeException refuse(Constructor<? extends Exception> unauthorized, String message) {
        throw TrinoRefusal.<RuntimeException>sneaky(refusal(unauthorized, message));
    }

    private static Exception refusal(Constructor<? extends Exception> unauthorized, String message) {
        if (unauthorized != null) {
            try {
                return unauthorized.newInstance(message);
            } catch (ReflectiveOperationException | RuntimeException e) {
                // fall through to the SPI's exception
            }
        }
        return new AccessDeniedException(message);
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T sneaky(Throwable t) throws T {
        throw (T) t;
    }
}
