//! Where a device keeps its token (the secret that lets it sync as its user): in the OS keychain where there is
//! one (Secret Service on Linux desktops, Keychain on macOS, Credential Manager on Windows), else in a file next to
//! the replica, encrypted (ChaCha20-Poly1305) with a key kept outside the data folder and bound to this machine.
//!
//! The replica's database never holds the token: a copied data folder (a backup, a synced folder, a lost disk
//! image) does not sign anyone in. The token itself is never logged; errors name the store, never the secret.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Written at the start of a token file, before the nonce and the sealed token.
const MAGIC: &[u8; 4] = b"LLV1";

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the keychain refused: {0}")]
    Keychain(String),
    #[error("the token file at {0}: {1}")]
    File(PathBuf, std::io::Error),
}

/// A device token's store: the keychain where the desktop offers one, with the sealed file as the fallback for a
/// keychain that is locked, refuses, or is not there at all (the token is then kept in the file, and found there).
#[derive(Debug)]
pub struct Vault {
    /// The keychain account naming this replica (`None`: no keychain is tried).
    #[cfg(feature = "keychain")]
    keychain: Option<String>,
    /// The sealed file and its key's file (made once per user and machine, outside the data folder).
    file: PathBuf,
    key_path: PathBuf,
    /// Where the token was last found or put.
    in_keychain: std::sync::atomic::AtomicBool,
}

impl Vault {
    /// The store for the replica at `replica`: `LIVELINE_VAULT=file` keeps to the sealed file; otherwise the
    /// keychain is tried first where the desktop can offer one (on Linux, a session bus for the Secret Service).
    pub fn for_replica(replica: &Path) -> Vault {
        Vault::with_key(replica, default_key_path())
    }

    /// Like [`Vault::for_replica`], sealing with the key at `key_path`.
    pub fn with_key(replica: &Path, key_path: PathBuf) -> Vault {
        #[cfg(feature = "keychain")]
        let keychain = {
            let desktop = !cfg!(target_os = "linux")
                || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
            let wanted = std::env::var("LIVELINE_VAULT").as_deref() != Ok("file");
            (desktop && wanted).then(|| {
                let place =
                    std::fs::canonicalize(replica).unwrap_or_else(|_| replica.to_path_buf());
                let digest = Sha256::digest(place.to_string_lossy().as_bytes());
                format!("device-token-{}", hex(&digest[..8]))
            })
        };
        Vault {
            #[cfg(feature = "keychain")]
            keychain,
            file: token_path(replica),
            key_path,
            in_keychain: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Where the token is: `keychain` or `encrypted_file` (what the settings screen says).
    pub fn kind(&self) -> &'static str {
        if self.in_keychain.load(std::sync::atomic::Ordering::Relaxed) {
            "keychain"
        } else {
            "encrypted_file"
        }
    }

    fn placed(&self, keychain: bool) {
        self.in_keychain
            .store(keychain, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn store(&self, token: &str) -> Result<(), VaultError> {
        #[cfg(feature = "keychain")]
        if let Some(account) = &self.keychain {
            match entry(account).and_then(|e| {
                e.set_password(token)
                    .map_err(|e| VaultError::Keychain(e.to_string()))
            }) {
                Ok(()) => {
                    self.placed(true);
                    // No older copy stays behind in the file.
                    return self.clear_file();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "the keychain did not take the device token; it goes to the encrypted file")
                }
            }
        }
        self.store_file(token)?;
        self.placed(false);
        Ok(())
    }

    /// The stored token; `None` when there is none, or when it cannot be opened here (a file copied from another
    /// machine or user): the device then signs in again.
    pub fn load(&self) -> Result<Option<String>, VaultError> {
        #[cfg(feature = "keychain")]
        if let Some(account) = &self.keychain {
            match entry(account).and_then(|e| match e.get_password() {
                Ok(t) => Ok(Some(t)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(VaultError::Keychain(e.to_string())),
            }) {
                Ok(Some(t)) => {
                    self.placed(true);
                    return Ok(Some(t));
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "the keychain could not be read; looking in the encrypted file")
                }
            }
        }
        self.placed(false);
        self.load_file()
    }

    /// Removes the token from both places.
    pub fn clear(&self) -> Result<(), VaultError> {
        #[cfg(feature = "keychain")]
        if let Some(account) = &self.keychain {
            match entry(account).map(|e| e.delete_credential()) {
                Ok(Ok(())) | Ok(Err(keyring::Error::NoEntry)) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "the keychain entry could not be removed"),
                Err(e) => tracing::warn!(error = %e, "the keychain entry could not be removed"),
            }
        }
        self.placed(false);
        self.clear_file()
    }

    fn store_file(&self, token: &str) -> Result<(), VaultError> {
        let cipher = cipher(&self.key_path)?;
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), token.as_bytes())
            .map_err(|_| {
                VaultError::File(self.file.clone(), std::io::Error::other("sealing failed"))
            })?;
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        write_private(&self.file, &bytes).map_err(|e| VaultError::File(self.file.clone(), e))
    }

    fn load_file(&self) -> Result<Option<String>, VaultError> {
        let path = &self.file;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(VaultError::File(path.clone(), e)),
        };
        if bytes.len() < MAGIC.len() + 12 || &bytes[..4] != MAGIC {
            tracing::warn!(file = %path.display(), "the token file is not one this app wrote; signing in again");
            return Ok(None);
        }
        let (nonce, sealed) = bytes[4..].split_at(12);
        match cipher(&self.key_path)?.decrypt(Nonce::from_slice(nonce), sealed) {
            Ok(t) => Ok(String::from_utf8(t).ok()),
            Err(_) => {
                tracing::warn!(file = %path.display(), "the token file was sealed on another machine or by another user; signing in again");
                Ok(None)
            }
        }
    }

    fn clear_file(&self) -> Result<(), VaultError> {
        match std::fs::remove_file(&self.file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(VaultError::File(self.file.clone(), e)),
        }
    }
}

#[cfg(feature = "keychain")]
fn entry(account: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new("liveline", account).map_err(|e| VaultError::Keychain(e.to_string()))
}

#[cfg(feature = "keychain")]
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token file of the replica at `replica`: beside it, `<name>.token`.
pub fn token_path(replica: &Path) -> PathBuf {
    let mut p = replica.as_os_str().to_owned();
    p.push(".token");
    PathBuf::from(p)
}

/// The sealing key's file: `LIVELINE_KEY_DIR`, else the user's configuration folder (`$XDG_CONFIG_HOME` or
/// `~/.config`, `%APPDATA%` on Windows), never the data folder.
pub fn default_key_path() -> PathBuf {
    let dir = std::env::var_os("LIVELINE_KEY_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CONFIG_HOME").map(|d| PathBuf::from(d).join("liveline")))
        .or_else(|| std::env::var_os("APPDATA").map(|d| PathBuf::from(d).join("Liveline")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".config/liveline")))
        .unwrap_or_else(std::env::temp_dir);
    dir.join("device.key")
}

/// The cipher: the key file's 32 random bytes (made on first use) and this machine's id, hashed together.
fn cipher(key_path: &Path) -> Result<ChaCha20Poly1305, VaultError> {
    let secret = key_file(key_path).map_err(|e| VaultError::File(key_path.to_path_buf(), e))?;
    let machine = ["/etc/machine-id", "/var/lib/dbus/machine-id"]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(b"liveline device token v1");
    h.update(&secret);
    h.update(&machine);
    Ok(ChaCha20Poly1305::new(Key::from_slice(&h.finalize())))
}

/// Reads the key file, making it first if there is none. Two apps making it at once agree on one: each writes its
/// own candidate and links it into place only if none is there yet.
fn key_file(path: &Path) -> std::io::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(k) if k.len() == 32 => return Ok(k),
        Ok(_) => return Err(std::io::Error::other("the key file is damaged")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut key = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut key);
    let candidate = path.with_extension(format!("{}.new", uuid::Uuid::new_v4()));
    write_private(&candidate, &key)?;
    let linked = std::fs::hard_link(&candidate, path);
    let _ = std::fs::remove_file(&candidate);
    match linked {
        Ok(()) => Ok(key.to_vec()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path),
        Err(e) => Err(e),
    }
}

/// Writes `bytes` readable by this user only (on Unix), replacing the file whole.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4()));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_with_its_key_and_not_with_another() {
        let dir = tempfile::tempdir().unwrap();
        let v = Vault::with_key(
            &dir.path().join("replica.sqlite"),
            dir.path().join("keys/device.key"),
        );
        assert_eq!(v.load().unwrap(), None);
        v.store("tok-123").unwrap();
        assert_eq!(v.load().unwrap().as_deref(), Some("tok-123"));
        let bytes = std::fs::read(dir.path().join("replica.sqlite.token")).unwrap();
        assert!(
            !bytes.windows(7).any(|w| w == b"tok-123"),
            "the file holds the token in clear"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["replica.sqlite.token", "keys/device.key"] {
                let mode = std::fs::metadata(dir.path().join(f))
                    .unwrap()
                    .permissions()
                    .mode();
                assert_eq!(mode & 0o077, 0, "{f} is readable by others");
            }
        }
        // The data folder copied to a machine or user with another key: not signed in, no error.
        let elsewhere = Vault::with_key(
            &dir.path().join("replica.sqlite"),
            dir.path().join("other/device.key"),
        );
        assert_eq!(elsewhere.load().unwrap(), None);
        // A damaged file reads as no token.
        std::fs::write(dir.path().join("replica.sqlite.token"), b"garbage").unwrap();
        assert_eq!(v.load().unwrap(), None);
        v.store("tok-456").unwrap();
        v.clear().unwrap();
        assert_eq!(v.load().unwrap(), None);
        v.clear().unwrap();
    }

    #[test]
    fn two_apps_making_the_key_at_once_agree_on_one() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("device.key");
        let keys: Vec<Vec<u8>> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..8)
                .map(|_| s.spawn(|| key_file(&key).unwrap()))
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0] && k.len() == 32));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no candidate left behind"
        );
    }
}
