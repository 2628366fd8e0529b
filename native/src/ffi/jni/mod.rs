//! The JNI edge: `marshal` (argument readers, result builders, the panic guard) and the
//! exports, one file per Java class: [`bridge`] (`NativeBridge`), [`tls`] (`TlsBridge`),
//! [`share`] (`NativeLibrary.registerNatives`: one native library per JVM). No logic of
//! their own.

pub mod bridge;
pub(crate) mod marshal;
pub mod share;
pub mod tls;
