//! Foreign-function edges: JNI for Java, a C ABI for everything else.
//!
//! Nothing here holds state or logic of its own. Every exported function catches panics
//! and turns every error into an exception (JNI) or a status code plus message (C).

pub mod c;
pub mod jni;

/// Extracts a readable message from a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}
