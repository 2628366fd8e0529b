//! Where the ACL token sent to the agent comes from: a fixed value (`consul.token`,
//! `CONSUL_HTTP_TOKEN`) or a file (`consul.token-file`, `CONSUL_HTTP_TOKEN_FILE`) that is
//! re-read whenever it changes, so that an operator (or Vault, or a Consul agent's own
//! token rotation) can replace the token without restarting Trino.
//!
//! The file is checked with one `metadata()` call per request (device, inode, size,
//! modification and change times): cheap next to an HTTP request, and it sees both an
//! in-place rewrite and the atomic "write a temporary file, rename it over" pattern. A file
//! that cannot be read, or is empty, keeps the last good token in use and records an error
//! that names the file (never the token); the next request tries again.

use crate::error::{Error, Result};
use crate::secret::Secret;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

/// Largest ACL token file read (a token is a 36-character UUID; a few KiB leave room for
/// a trailing newline and future formats).
pub const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Reads a token file: trimmed, bounded, not empty. `key` names the setting in errors.
pub fn read_token_file(key: &str, path: &Path) -> Result<Secret> {
    // The file's text is the token: zeroed when dropped, like the `Secret` made of it.
    // Read at most MAX_TOKEN_FILE + 1 bytes: `/dev/zero` or a huge file is refused, not
    // read until memory runs out.
    let shown = path.display();
    let mut text = zeroize::Zeroizing::new(String::new());
    std::fs::File::open(path)
        .and_then(|f| {
            use std::io::Read;
            f.take(MAX_TOKEN_FILE + 1).read_to_string(&mut text)
        })
        .map_err(|e| Error::config(key, format!("cannot read token file {shown}: {e}")))?;
    if text.len() as u64 > MAX_TOKEN_FILE {
        return Err(Error::config(
            key,
            format!("token file {shown} is larger than {MAX_TOKEN_FILE} bytes"),
        ));
    }
    let token = text.trim();
    if token.is_empty() {
        return Err(Error::config(key, format!("token file {shown} is empty")));
    }
    Ok(Secret::new(token.to_string()))
}

/// What identifies one version of the file without reading it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

struct FileState {
    /// The last token read successfully.
    token: Secret,
    /// The version of the file `token` was read from (`None`: read it again).
    stamp: Option<Stamp>,
    /// Why the last attempt to re-read the file failed, and when, if it did.
    error: Option<(SystemTime, String)>,
}

/// A token file and the last good token read from it.
struct TokenFile {
    path: PathBuf,
    /// The setting that named the file, for error messages.
    key: String,
    state: Mutex<FileState>,
}

impl TokenFile {
    fn current(&self) -> Secret {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = std::fs::metadata(&self.path).map(|m| Stamp::of(&m));
        if let Ok(stamp) = &stamp {
            if state.stamp == Some(*stamp) {
                return state.token.clone();
            }
        }
        let read = stamp
            .map_err(|e| {
                Error::config(
                    &self.key,
                    format!("cannot read token file {}: {e}", self.path.display()),
                )
            })
            .and_then(|stamp| read_token_file(&self.key, &self.path).map(|t| (t, stamp)));
        match read {
            Ok((token, stamp)) => {
                if state.error.take().is_some() || token != state.token {
                    log::info!(
                        "consul-connect: read a new ACL token from {}",
                        self.path.display()
                    );
                }
                state.token = token;
                state.stamp = Some(stamp);
            }
            Err(e) => {
                let message = format!("{e}; still using the last token read from it");
                if state.error.as_ref().is_none_or(|(_, m)| *m != message) {
                    log::warn!("consul-connect: {message}");
                    state.error = Some((SystemTime::now(), message));
                }
                state.stamp = None;
            }
        }
        state.token.clone()
    }

    fn error(&self) -> Option<(SystemTime, String)> {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .error
            .clone()
    }
}

/// The ACL token of an agent client (cheap to clone: clones share one file state).
#[derive(Clone, Default)]
pub struct TokenSource(Option<Source>);

#[derive(Clone)]
enum Source {
    Fixed(Secret),
    File(Arc<TokenFile>),
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("TokenSource(none)"),
            Some(Source::Fixed(_)) => f.write_str("TokenSource(<redacted>)"),
            Some(Source::File(file)) => write!(f, "TokenSource(file {})", file.path.display()),
        }
    }
}

impl TokenSource {
    /// A fixed token, or none.
    pub fn fixed(token: Option<Secret>) -> Self {
        TokenSource(token.map(Source::Fixed))
    }

    /// A token file whose first content, `first`, was read when the settings were parsed
    /// (so that an unreadable file fails at start). `key` names the setting in errors.
    pub fn file(key: &str, path: PathBuf, first: Secret) -> Self {
        let stamp = std::fs::metadata(&path).ok().map(|m| Stamp::of(&m));
        TokenSource(Some(Source::File(Arc::new(TokenFile {
            path,
            key: key.to_string(),
            state: Mutex::new(FileState {
                token: first,
                stamp,
                error: None,
            }),
        }))))
    }

    /// The token to send now: for a file, re-read when it changed since the last request.
    pub fn current(&self) -> Option<Secret> {
        match &self.0 {
            None => None,
            Some(Source::Fixed(token)) => Some(token.clone()),
            Some(Source::File(file)) => Some(file.current()),
        }
    }

    /// Why the token file could not be re-read the last time it was tried (the last good
    /// token is still in use) and since when, if it could not.
    pub fn error(&self) -> Option<(SystemTime, String)> {
        match &self.0 {
            Some(Source::File(file)) => file.error(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(dir: &Path, text: &str) -> (PathBuf, TokenSource) {
        let path = dir.join("token");
        std::fs::write(&path, text).unwrap();
        let first = read_token_file("consul.token-file", &path).unwrap();
        (
            path.clone(),
            TokenSource::file("consul.token-file", path, first),
        )
    }

    fn now(source: &TokenSource) -> String {
        source.current().unwrap().expose().to_string()
    }

    #[test]
    fn a_rewritten_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let (path, source) = source(dir.path(), "first-token\n");
        assert_eq!(now(&source), "first-token");
        // Same length, written in place: the modification time tells.
        std::fs::write(&path, "other-token\n").unwrap();
        assert_eq!(now(&source), "other-token");
        assert!(source.error().is_none());
    }

    #[test]
    fn an_atomic_replacement_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let (path, source) = source(dir.path(), "first-token");
        let temp = dir.path().join(".token.tmp");
        std::fs::write(&temp, "renamed-token").unwrap();
        std::fs::rename(&temp, &path).unwrap();
        assert_eq!(now(&source), "renamed-token");
    }

    #[test]
    fn an_empty_or_missing_file_keeps_the_last_good_token_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let (path, source) = source(dir.path(), "good-token-1234");
        std::fs::write(&path, "  \n").unwrap();
        assert_eq!(now(&source), "good-token-1234");
        let (_, error) = source.error().unwrap();
        assert!(
            error.contains("is empty")
                && error.contains("last token")
                && error.contains("consul.token-file"),
            "{error}"
        );
        assert!(!error.contains("good-token-1234"), "{error}");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(now(&source), "good-token-1234");
        let (_, error) = source.error().unwrap();
        assert!(error.contains("cannot read token file"), "{error}");
        // Back again: recovered, error cleared.
        std::fs::write(&path, "new-token-5678").unwrap();
        assert_eq!(now(&source), "new-token-5678");
        assert!(source.error().is_none());
    }

    #[test]
    fn an_unreadable_file_keeps_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let (path, source) = source(dir.path(), "kept-token");
        // A change of permissions changes the stamp (ctime): the file is read again, which
        // fails (unless the tests run as root), and the token is kept.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        let running_as_root = std::fs::read(&path).is_ok();
        assert_eq!(now(&source), "kept-token");
        if !running_as_root {
            assert!(source.error().unwrap().1.contains("cannot read token file"));
        }
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(now(&source), "kept-token");
        assert!(source.error().is_none());
    }

    #[test]
    fn debug_never_shows_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let (_, file) = source(dir.path(), "secret-in-file");
        let fixed = TokenSource::fixed(Some(Secret::new("secret-fixed".into())));
        for shown in [format!("{file:?}"), format!("{fixed:?}")] {
            assert!(!shown.contains("secret"), "{shown}");
        }
        assert!(TokenSource::default().current().is_none());
    }
}
