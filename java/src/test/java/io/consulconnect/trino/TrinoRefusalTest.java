package io.consulconnect.trino;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.trino.spi.security.AccessDeniedException;
import java.lang.reflect.Constructor;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.Test;

/**
 * How a refusal is thrown: as Trino's server-side {@code AuthenticationException} when the
 * server's class loader has it (a stand-in compiled here, in its own class loader, as the
 * Trino server has it), else as {@link AccessDeniedException}. The end-to-end test
 * (tests/trino/e2e-identity.sh) shows the 401 on real Trino releases.
 */
public class TrinoRefusalTest {
    /** A class loader holding {@code io.trino.server.security.AuthenticationException} built from {@code source}. */
    private static ClassLoader serverLoader(String source) throws Exception {
        Path dir = Files.createTempDirectory("pcc-trino-server");
        Path file = dir.resolve("io/trino/server/security/AuthenticationException.java");
        Files.createDirectories(file.getParent());
        Files.writeString(file, source);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        assertEquals(0, javac.run(null, null, null, "-d", dir.toString(), file.toString()));
        return new URLClassLoader(new URL[] {dir.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
    }

    private static final String CHECKED = "package io.trino.server.security;\n"
            + "public class AuthenticationException extends Exception {\n"
            + "  public AuthenticationException(String message) { super(message); }\n}\n";

    @Test
    public void theServersAuthenticationExceptionIsThrownWithTheShortReason() throws Exception {
        Constructor<? extends Exception> found = TrinoRefusal.find(serverLoader(CHECKED));
        assertNotNull(found);
        Throwable thrown = assertThrows(Throwable.class,
                () -> TrinoRefusal.refuse(found, "Consul Connect refused the client certificate (denied)"));
        assertEquals(TrinoRefusal.AUTHENTICATION_EXCEPTION, thrown.getClass().getName());
        assertFalse(thrown instanceof RuntimeException);
        assertEquals("Consul Connect refused the client certificate (denied)", thrown.getMessage());
    }

    @Test
    public void withoutItOrWithAnUnexpectedShapeTheRefusalIsAccessDenied() throws Exception {
        // Not in this JVM's class path (a test, or a release that moved the class).
        assertNull(TrinoRefusal.find(TrinoRefusalTest.class.getClassLoader()));
        assertFalse(TrinoRefusal.unauthorized());
        // A runtime exception would be turned into a 500 by Trino: not used.
        assertNull(TrinoRefusal.find(serverLoader(CHECKED.replace("extends Exception", "extends RuntimeException"))));
        // No (String) constructor.
        assertNull(TrinoRefusal.find(serverLoader(CHECKED.replace("String message", "int code").replace("super(message)", "super()"))));
        for (Constructor<? extends Exception> none : java.util.Arrays.asList((Constructor<? extends Exception>) null)) {
            AccessDeniedException denied = assertThrows(AccessDeniedException.class,
                    () -> TrinoRefusal.refuse(none, "Consul Connect refused the client certificate (expired)"));
            assertTrue(denied.getMessage(), denied.getMessage().endsWith("(expired)"));
        }
    }

    @Test
    public void trino480sMethodHasTheSpiSignature() throws Exception {
        // Trino 480's default method: Optional<Identity> createAuthenticatedIdentity(List<X509Certificate>).
        var method = ConnectAuthenticator.class.getMethod("createAuthenticatedIdentity", List.class);
        assertEquals("java.util.Optional<io.trino.spi.security.Identity>", method.getGenericReturnType().getTypeName());
        assertEquals("java.util.List<java.security.cert.X509Certificate>",
                method.getGenericParameterTypes()[0].getTypeName());
    }
}
