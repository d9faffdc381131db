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

/// A device token's store.
#[derive(Clone, Debug)]
pub enum Vault {
    /// The OS keychain, under the service `liveline` and an account naming this replica.
    #[cfg(feature = "keychain")]
    Keychain { account: String },
    /// A file sealed with a key from `key_path` (made once per user and machine, outside the data folder).
    File { path: PathBuf, key_path: PathBuf },
}

impl Vault {
    /// The store for the replica at `replica`: `LIVELINE_VAULT=file` or `keychain` chooses; otherwise the keychain
    /// where the desktop offers one (on Linux, a session bus to reach the Secret Service, answering a first look),
    /// else the sealed file.
    pub fn for_replica(replica: &Path) -> Vault {
        let file = Vault::File {
            path: token_path(replica),
            key_path: default_key_path(),
        };
        match std::env::var("LIVELINE_VAULT").as_deref() {
            Ok("file") => return file,
            #[cfg(feature = "keychain")]
            Ok("keychain") => return Vault::keychain(replica),
            _ => {}
        }
        #[cfg(feature = "keychain")]
        {
            let desktop = !cfg!(target_os = "linux")
                || std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some();
            if desktop {
                let k = Vault::keychain(replica);
                if k.load().is_ok() {
                    return k;
                }
                tracing::info!("no usable keychain; the device token goes to an encrypted file");
            }
        }
        file
    }

    #[cfg(feature = "keychain")]
    fn keychain(replica: &Path) -> Vault {
        let place = std::fs::canonicalize(replica).unwrap_or_else(|_| replica.to_path_buf());
        let digest = Sha256::digest(place.to_string_lossy().as_bytes());
        Vault::Keychain {
            account: format!("device-token-{}", hex(&digest[..8])),
        }
    }

    /// What the settings screen calls it.
    pub fn kind(&self) -> &'static str {
        match self {
            #[cfg(feature = "keychain")]
            Vault::Keychain { .. } => "keychain",
            Vault::File { .. } => "encrypted_file",
        }
    }

    pub fn store(&self, token: &str) -> Result<(), VaultError> {
        match self {
            #[cfg(feature = "keychain")]
            Vault::Keychain { account } => entry(account)?
                .set_password(token)
                .map_err(|e| VaultError::Keychain(e.to_string())),
            Vault::File { path, key_path } => {
                let cipher = cipher(key_path)?;
                let mut nonce = [0u8; 12];
                rand::thread_rng().fill_bytes(&mut nonce);
                let sealed = cipher
                    .encrypt(Nonce::from_slice(&nonce), token.as_bytes())
                    .map_err(|_| {
                        VaultError::File(path.clone(), std::io::Error::other("sealing failed"))
                    })?;
                let mut bytes = MAGIC.to_vec();
                bytes.extend_from_slice(&nonce);
                bytes.extend_from_slice(&sealed);
                write_private(path, &bytes).map_err(|e| VaultError::File(path.clone(), e))
            }
        }
    }

    /// The stored token; `None` when there is none, or when it cannot be opened here (a file copied from another
    /// machine or user): the device then signs in again.
    pub fn load(&self) -> Result<Option<String>, VaultError> {
        match self {
            #[cfg(feature = "keychain")]
            Vault::Keychain { account } => match entry(account)?.get_password() {
                Ok(t) => Ok(Some(t)),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(VaultError::Keychain(e.to_string())),
            },
            Vault::File { path, key_path } => {
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
                match cipher(key_path)?.decrypt(Nonce::from_slice(nonce), sealed) {
                    Ok(t) => Ok(String::from_utf8(t).ok()),
                    Err(_) => {
                        tracing::warn!(file = %path.display(), "the token file was sealed on another machine or by another user; signing in again");
                        Ok(None)
                    }
                }
            }
        }
    }

    pub fn clear(&self) -> Result<(), VaultError> {
        match self {
            #[cfg(feature = "keychain")]
            Vault::Keychain { account } => match entry(account)?.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(VaultError::Keychain(e.to_string())),
            },
            Vault::File { path, .. } => match std::fs::remove_file(path) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(VaultError::File(path.clone(), e)),
            },
        }
    }
}

#[cfg(feature = "keychain")]
fn entry(account: &str) -> Result<keyring::Entry, VaultError> {
    keyring::Entry::new("liveline", account).map_err(|e| VaultError::Keychain(e.to_string()))
}

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
        let v = Vault::File {
            path: dir.path().join("replica.sqlite.token"),
            key_path: dir.path().join("keys/device.key"),
        };
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
        let elsewhere = Vault::File {
            path: dir.path().join("replica.sqlite.token"),
            key_path: dir.path().join("other/device.key"),
        };
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
