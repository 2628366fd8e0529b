//! The JNI edge: `marshal` (argument readers, the panic guard), [`protocol`] (the Java
//! types results are built as) and the exports, one file per Java class: [`bridge`]
//! (`NativeBridge`), [`tls`] (`TlsBridge`), [`share`] (`NativeLibrary.registerNatives`:
//! one native library per JVM) and, with the `test-exports` feature only, [`test_hooks`]
//! (`NativeTestHooks`, a test class). No logic of their own.

pub mod bridge;
pub(crate) mod marshal;
pub(crate) mod protocol;
pub mod share;
#[cfg(feature = "test-exports")]
pub mod test_hooks;
pub mod tls;
