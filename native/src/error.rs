//! The crate's error type.
//!
//! Every failure the core can report is a variant here, so the FFI edge can map each kind
//! to the right Java exception (or C status code) without parsing messages. Messages are
//! written for a Trino operator: they say what was wrong and where, and never contain
//! tokens or key material.

use std::path::PathBuf;

/// Errors reported by the Consul Connect core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration key is unknown or its value is malformed.
    #[error("configuration key `{key}`: {reason}")]
    Config {
        /// The offending key (property name or environment variable).
        key: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The caller passed an argument that cannot be used (null, empty, oversized, garbage).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),

    /// A SPIFFE id is malformed or not of the expected Connect form.
    #[error("invalid SPIFFE id `{id}`: {reason}")]
    SpiffeId {
        /// The id as given (truncated when very long).
        id: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// Certificate or key material is malformed, mismatched or fails verification.
    #[error("certificate rejected: {0}")]
    Certificate(String),

    /// A request to the Consul agent failed or returned something unusable.
    #[error("Consul agent {endpoint}: {reason}")]
    Agent {
        /// The endpoint, without query string or token.
        endpoint: String,
        /// What went wrong.
        reason: String,
    },

    /// A file could not be read or written.
    #[error("file {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The handle was closed, or the background runtime is gone.
    #[error("the Consul Connect handle is closed")]
    Closed,

    /// No material is available yet (first fetch has not succeeded).
    #[error("no Consul Connect identity available yet: {0}")]
    NotReady(String),
}

impl Error {
    /// True when the error was caused by the caller's input rather than by the
    /// environment; the JNI layer maps these to `IllegalArgumentException`.
    pub fn is_invalid_argument(&self) -> bool {
        matches!(
            self,
            Error::InvalidArgument(_) | Error::SpiffeId { .. } | Error::Config { .. }
        )
    }

    /// Builds a [`Error::Config`].
    pub fn config(key: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// Builds a [`Error::Agent`].
    pub fn agent(endpoint: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Agent {
            endpoint: endpoint.into(),
            reason: reason.into(),
        }
    }

    /// Builds a [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shortens untrusted text before it goes into an error message.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 200;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
