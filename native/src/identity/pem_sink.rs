//! PEM files for Trino's own TLS (`http-server.https.keystore.path` and
//! `http-server.https.truststore.path`, reloaded every `ssl-context.refresh-time`).
//!
//! Each file is written atomically: a temporary file in the same directory (created
//! 0600), fsync, rename over the target, fsync of the directory. A reader sees the old
//! file or the new one, never a mix. Files are rewritten only when their content changes.

use crate::error::{CertificateError, Error, Result};
use crate::identity::Snapshot;
use crate::x509;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// File name of the private key followed by the certificate chain.
pub const KEY_CHAIN_FILE: &str = "consul-connect.pem";
/// File name of the CA roots.
pub const ROOTS_FILE: &str = "consul-connect-roots.pem";

/// Writes the snapshot's material into a directory.
#[derive(Clone, Debug)]
pub struct PemSink {
    dir: PathBuf,
}

/// What a write did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// The key+chain file was replaced.
    pub key_chain: bool,
    /// The roots file was replaced.
    pub roots: bool,
}

impl PemSink {
    /// A sink for `dir` (created 0700 if missing).
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(&dir, e))?;
        }
        if !dir.is_dir() {
            return Err(Error::config(
                crate::config::PEM_DIRECTORY,
                format!("{} is not a directory", dir.display()),
            ));
        }
        Ok(PemSink { dir })
    }

    /// Path of the key+chain file.
    pub fn key_chain_path(&self) -> PathBuf {
        self.dir.join(KEY_CHAIN_FILE)
    }

    /// Path of the roots file.
    pub fn roots_path(&self) -> PathBuf {
        self.dir.join(ROOTS_FILE)
    }

    /// Writes both files if their content differs from what is on disk. Refuses an
    /// expired leaf: Trino must never be handed one.
    pub fn write(&self, snapshot: &Snapshot, now: std::time::SystemTime) -> Result<Written> {
        if !snapshot.leaf.info.is_valid_at(now) {
            return Err(CertificateError::Rejected(format!(
                "not writing PEM files: leaf {} is outside its validity period",
                snapshot.leaf.info.serial
            ))
            .into());
        }
        let chain: Vec<&[u8]> = snapshot.leaf.chain.iter().map(|c| c.as_ref()).collect();
        let chain = x509::to_pem("CERTIFICATE", &chain);
        // One zeroizing buffer with room for the chain: appending never reallocates.
        let mut key_chain = x509::private_key_pem(&snapshot.leaf.key_pkcs8, chain.len());
        key_chain.push_str(&chain);
        let roots: Vec<&[u8]> = snapshot
            .roots
            .roots
            .iter()
            .map(|r| r.cert.as_ref())
            .collect();
        let roots = x509::to_pem("CERTIFICATE", &roots);
        // Roots first: a peer with a new leaf must already be trusted when we present ours.
        let wrote_roots = write_if_changed(&self.roots_path(), roots.as_bytes())?;
        let wrote_key = write_if_changed(&self.key_chain_path(), key_chain.as_bytes())?;
        Ok(Written {
            key_chain: wrote_key,
            roots: wrote_roots,
        })
    }
}

/// Atomically replaces `path` with `content` unless it already holds exactly that.
pub fn write_if_changed(path: &Path, content: &[u8]) -> Result<bool> {
    if let Ok(existing) = std::fs::read(path) {
        let same = existing == content;
        let existing = Zeroizing::new(existing);
        drop(existing);
        if same {
            return Ok(false);
        }
    }
    let dir = path
        .parent()
        .ok_or_else(|| Error::io(path, std::io::Error::other("no parent directory")))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".consul-connect-")
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(0o600))
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    tmp.write_all(content)
        .map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(dir, e))?;
    Ok(true)
}
