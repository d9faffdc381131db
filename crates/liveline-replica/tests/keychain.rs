//! The device token in a real OS keychain: a private session bus with gnome-keyring's Secret Service (installed by
//! `scripts/setup.sh`), then the same keychain gone, as when it is locked or the desktop has none.
//!
//! One test in its own binary: it points this process at its own bus (`DBUS_SESSION_BUS_ADDRESS`).
#![cfg(all(target_os = "linux", feature = "keychain"))]

use liveline_replica::replica::Credentials;
use liveline_replica::vault::token_path;
use liveline_replica::Replica;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
struct Kid(Child);
impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn creds() -> Credentials {
    Credentials {
        server: "http://127.0.0.1:1".into(),
        token: "keychain-token-7f3a9c".into(),
        device_id: "0190d2a4-0000-7000-8000-0000000000aa".into(),
        user_id: "u1".into(),
        team_id: "t1".into(),
        email: "a@example.com".into(),
    }
}

#[test]
fn the_token_goes_to_the_keychain_where_there_is_one_and_to_the_sealed_file_when_it_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scripts/dbus-session.conf"
    );
    let mut bus = Command::new("dbus-daemon")
        .args(["--config-file", conf, "--print-address=1", "--nofork"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("dbus-daemon runs (scripts/setup.sh installs dbus-daemon)");
    let mut address = String::new();
    BufReader::new(bus.stdout.take().unwrap())
        .read_line(&mut address)
        .unwrap();
    let _bus = Kid(bus);
    let address = address.trim().to_string();
    assert!(!address.is_empty(), "the bus printed its address");
    let keyring_home = tmp.path().join("keyring-home");
    std::fs::create_dir_all(keyring_home.join("run")).unwrap();
    let mut daemon = Command::new("gnome-keyring-daemon")
        .args(["--unlock", "--components=secrets", "--foreground"])
        .env("DBUS_SESSION_BUS_ADDRESS", &address)
        .env("XDG_DATA_HOME", keyring_home.join("data"))
        .env("XDG_RUNTIME_DIR", keyring_home.join("run"))
        .env_remove("DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("gnome-keyring-daemon runs (scripts/setup.sh installs gnome-keyring)");
    // The new login keyring's password, then end of input: it is created unlocked.
    daemon
        .stdin
        .take()
        .unwrap()
        .write_all(b"test-password")
        .unwrap();
    let daemon = Kid(daemon);
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", &address);
    std::env::remove_var("LIVELINE_VAULT");
    std::env::set_var("LIVELINE_KEY_DIR", tmp.path().join("key"));

    // Once the Secret Service is on the bus, a sign-in keeps the token there, not in a file.
    let path = tmp.path().join("device.sqlite3");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut r = loop {
        let mut r = Replica::open(&path).unwrap();
        r.set_credentials(&creds()).unwrap();
        if r.vault_kind() == "keychain" {
            break r;
        }
        r.sign_out(false).unwrap();
        assert!(
            Instant::now() < deadline,
            "the Secret Service never took the token"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        !token_path(&path).exists(),
        "the token went to a file as well"
    );
    drop(r);
    let again = Replica::open(&path).unwrap();
    assert_eq!(again.credentials().unwrap(), Some(creds()));
    assert_eq!(again.vault_kind(), "keychain");
    drop(again);

    // Signing out removes it from the keychain.
    r = Replica::open(&path).unwrap();
    r.sign_out(false).unwrap();
    drop(r);
    assert_eq!(Replica::open(&path).unwrap().credentials().unwrap(), None);

    // The keychain gone (stopped, as locked or absent would be): a sign-in keeps the token in the sealed file and
    // is found there after a restart.
    drop(daemon);
    let other = tmp.path().join("other.sqlite3");
    let mut r = Replica::open(&other).unwrap();
    r.set_credentials(&creds()).unwrap();
    assert_eq!(r.vault_kind(), "encrypted_file");
    assert!(token_path(&other).exists());
    drop(r);
    let r = Replica::open(&other).unwrap();
    assert_eq!(r.credentials().unwrap(), Some(creds()));
    assert_eq!(r.vault_kind(), "encrypted_file");
}
