package io.consulconnect.jni;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import io.consulconnect.ConnectFailureException;
import java.util.Locale;
import org.junit.Test;

/**
 * Runs only in Gradle's {@code testNativeHooks} task, against the test build of the library
 * ({@code -Dconsulconnect.native.library=<test build>}).
 */
public class NativeTestHooksTest {
    @Test
    public void panicBecomesExceptionAndJvmSurvives() {
        for (int i = 0; i < 3; i++) {
            ConnectFailureException e = assertThrows(ConnectFailureException.class,
                    () -> NativeTestHooks.panicForTest("boom"));
            String message = e.getMessage();
            assertNotNull(message);
            assertTrue(message, message.toLowerCase(Locale.ROOT).contains("panic"));
            assertTrue(message, message.contains("boom"));
            assertEquals(System.getProperty("consulconnect.test.expectedVersion"), NativeBridge.version());
        }
    }
}
