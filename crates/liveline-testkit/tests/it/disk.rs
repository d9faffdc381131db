//! Full disks and read-only folders, on the server and on a device, on real file systems: small tmpfs mounts and
//! read-only bind mounts (the tests run as root, as CI does). What must hold: a clear error in the user's words,
//! nothing acknowledged that was not stored, nothing already saved lost, and recovery once space returns.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use liveline_replica::Replica;
use liveline_sync_server::{open_state, Settings, Store};
use liveline_testkit::{eventually, lead, Device, TestServer};
use liveline_types::{codes, LeadInput, SaveOutcome};

/// A mount that is undone when dropped.
struct Mount(PathBuf);

fn run(cmd: &[&str]) {
    let out = Command::new(cmd[0])
        .args(&cmd[1..])
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed (these tests mount file systems and need root, as in CI): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Mount {
    /// A memory file system of `size` at `path`: a disk that really fills up.
    fn tmpfs(path: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(path).unwrap();
        let opts = format!("size={size}");
        run(&[
            "mount",
            "-t",
            "tmpfs",
            "-o",
            &opts,
            "tmpfs",
            path.to_str().unwrap(),
        ]);
        Mount(path.to_path_buf())
    }

    /// `src` seen read-only at `dst`: even root cannot write there.
    fn read_only_view(src: &Path, dst: &Path) -> Mount {
        std::fs::create_dir_all(dst).unwrap();
        let (s, d) = (src.to_str().unwrap(), dst.to_str().unwrap());
        run(&["mount", "--bind", s, d]);
        let m = Mount(dst.to_path_buf());
        run(&["mount", "-o", "remount,bind,ro", d]);
        m
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Fills the file system holding `dir` to the last byte; returns the filler to delete.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let small = vec![0u8; 512];
    while f.write_all(&small).is_ok() {}
    let _ = f.sync_all();
    path
}

fn bulky(name: &str) -> LeadInput {
    let mut l = lead(name);
    l.notes = "Wants samples of the 2 kg pack before ordering; call after the stream. ".repeat(40);
    l
}

fn pending_docs(d: &Device) -> Vec<String> {
    let r = d.replica.lock().unwrap();
    let mut docs: Vec<String> = r
        .pending(100_000)
        .unwrap()
        .into_iter()
        .map(|p| p.doc)
        .collect();
    docs.dedup();
    docs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_full_disk_acknowledges_only_what_it_stored_and_catches_up_when_space_returns(
) {
    let tmp = tempfile::tempdir().unwrap();
    let disk = Mount::tmpfs(&tmp.path().join("server"), "32m");
    let server = TestServer::start(disk.path()).await;
    let devices = tmp.path().join("devices");
    let assistant = Device::ready(&server, &devices, "assistant@demo.liveline").await;
    let mut manager = Device::sign_in(
        &server,
        &tmp.path().join("manager"),
        "manager@demo.liveline",
    )
    .await;
    let filler = fill(disk.path());

    let mut status = assistant.sync.as_ref().unwrap().subscribe();
    let mut ids = Vec::new();
    for i in 0..80 {
        ids.push(
            assistant
                .capture(&bulky(&format!("Full Disk Buyer {i}")))
                .id,
        );
    }
    // The device hears why, in words for its user (not "this device's storage").
    let told = tokio::time::timeout(
        Duration::from_secs(30),
        status.wait_for(|s| {
            s.last_error
                .as_ref()
                .is_some_and(|e| e.code == codes::SERVER_STORAGE)
        }),
    )
    .await
    // The borrow of the status must end here: holding it would block the sync client's next update.
    .is_ok_and(|seen| seen.is_ok());
    assert!(
        told,
        "the device was not told the server could not store its changes"
    );
    // Nothing acknowledged that was not stored: every lead the device stopped queueing is on the server.
    let queued = pending_docs(&assistant);
    assert!(
        !queued.is_empty(),
        "the server's disk never filled up; the test proved nothing"
    );
    for id in &ids {
        if !queued.contains(id) {
            assert!(
                server.state.store.doc(id).unwrap().is_some(),
                "lead {id} left the device's queue but is not on the server"
            );
        }
    }
    // Reading still works while the disk is full: a manager's device connects and receives what was stored.
    manager.online();
    manager.synced().await;
    let stored = ids.iter().filter(|id| !queued.contains(id)).count();
    assert_eq!(manager.find("Full Disk Buyer").len(), stored);

    std::fs::remove_file(&filler).unwrap();
    // Space is back: the device's retries go through without anyone doing anything.
    eventually("every queued lead reaches the server", || {
        pending_docs(&assistant).is_empty().then_some(())
    })
    .await;
    for id in &ids {
        assert!(
            server.state.store.doc(id).unwrap().is_some(),
            "lead {id} missing"
        );
    }
    assert!(server.state.store.integrity_ok().unwrap());
    eventually("the manager sees every lead", || {
        (manager.find("Full Disk Buyer").len() == ids.len()).then_some(())
    })
    .await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_with_a_full_disk_refuses_the_save_clearly_and_keeps_everything_saved_before() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let disk = Mount::tmpfs(&tmp.path().join("device"), "6m");
    let mut assistant = Device::ready(&server, disk.path(), "assistant@demo.liveline").await;
    assistant.offline().await;
    let before = assistant.count();
    let filler = fill(disk.path());

    let mut saved = Vec::new();
    let refusal = loop {
        let out = assistant.replica.lock().unwrap().save_lead(
            None,
            &bulky(&format!("Phone Full Buyer {}", saved.len())),
            liveline_replica::now_ms(),
        );
        match out {
            Ok(SaveOutcome::Saved { lead }) => saved.push(lead.id),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(e) => break e.to_app_error(),
        }
        assert!(saved.len() < 5_000, "the device's disk never filled up");
    };
    assert_eq!(refusal.code, codes::STORAGE_FULL, "{refusal:?}");
    // Nothing half-saved: exactly the leads whose save returned are there, each whole.
    assert_eq!(assistant.count(), before + saved.len() as u64);
    for id in &saved {
        assert!(assistant.lead(id).notes.starts_with("Wants samples"));
    }

    std::fs::remove_file(&filler).unwrap();
    let again = assistant.capture(&bulky("Phone Full Buyer after"));
    assistant.online();
    assistant.synced().await;
    for id in saved.iter().chain([&again.id]) {
        assert!(
            server.state.store.doc(id).unwrap().is_some(),
            "lead {id} did not reach the server"
        );
    }
    let r = Replica::open(&assistant.path).expect("the replica reopens");
    drop(r);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_data_folders_are_named_not_mistaken_for_damage() {
    let tmp = tempfile::tempdir().unwrap();
    // The server: a store written normally, then a start on a read-only view of its folder.
    let rw = tmp.path().join("server-rw");
    let state = open_state(&Settings {
        demo: true,
        ..Settings::new(rw.clone())
    })
    .unwrap();
    drop(state);
    let ro = Mount::read_only_view(&rw, &tmp.path().join("server-ro"));
    let err = open_state(&Settings::new(ro.path().to_path_buf()))
        .err()
        .expect("a read-only folder is refused");
    let msg = err.to_string();
    assert!(
        msg.contains("cannot be written") && msg.contains(ro.path().to_str().unwrap()),
        "{msg}"
    );
    drop(ro);
    let state = open_state(&Settings::new(rw)).unwrap();
    assert!(state.store.integrity_ok().unwrap());
    assert!(
        state.store.team_count().unwrap() > 0,
        "the store is as it was"
    );

    // A device: a replica written normally, then opened from a read-only view. It must not be called damaged
    // (the app would offer to erase it).
    let dev_rw = tmp.path().join("device-rw");
    let path = dev_rw.join("replica.sqlite3");
    drop(Replica::open(&path).unwrap());
    let ro = Mount::read_only_view(&dev_rw, &tmp.path().join("device-ro"));
    let err = Replica::open(&ro.path().join("replica.sqlite3"))
        .err()
        .expect("a read-only replica folder is refused");
    assert_eq!(err.to_app_error().code, codes::STORAGE_READ_ONLY, "{err}");
    drop(ro);
    Replica::open(&path).expect("the replica is as it was");
}
