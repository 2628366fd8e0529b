package io.consulconnect.jni;

/**
 * Native methods that exist only in the test build of the library (cargo feature
 * {@code test-exports}, Gradle task {@code testNativeHooks}); the shipped library has none.
 */
final class NativeTestHooks {
    static {
        NativeLibrary.load();
    }

    private NativeTestHooks() {}

    /**
     * Panics inside Rust on purpose.
     *
     * @param message text carried by the panic
     * @throws io.consulconnect.ConnectFailureException always, naming the panic and
     *     {@code message}
     */
    static native void panicForTest(String message);
}
