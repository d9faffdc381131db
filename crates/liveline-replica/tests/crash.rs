//! Crash trials of the device replica: the real `replica-writer` process is killed with SIGKILL at a random
//! moment while it saves leads; the reopened replica passes `PRAGMA integrity_check` and holds every lead whose
//! save had returned (the writer printed its id), each with its pending change for the server.
//!
//! CI runs 5 trials; `LIVELINE_CRASH_TRIALS=100 cargo test -p liveline-replica --test crash` runs the full 100.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use liveline_replica::Replica;

fn trials() -> u32 {
    std::env::var("LIVELINE_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5)
}

/// A small deterministic generator for the kill moments (the seed is printed, so a failure can be replayed).
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn a_replica_killed_mid_write_keeps_every_save_that_returned() {
    let mut seed: u64 = std::env::var("LIVELINE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234_abcd);
    let first_seed = seed;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("phone.sqlite3");
    let mut confirmed: Vec<String> = Vec::new();
    let mut killed_after = Vec::new();
    for trial in 0..trials() {
        let mut child = Command::new(env!("CARGO_BIN_EXE_replica-writer"))
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("replica-writer starts");
        let out = child.stdout.take().unwrap();
        // Kill after a random number of confirmed saves (or a time limit), mid-way through the next ones.
        let target = 20 + next(&mut seed) % 400;
        let started = Instant::now();
        let mut lines = BufReader::new(out).lines();
        let mut seen = 0u64;
        while seen < target && started.elapsed() < Duration::from_secs(20) {
            match lines.next() {
                Some(Ok(id)) => {
                    confirmed.push(id);
                    seen += 1;
                }
                _ => break,
            }
        }
        unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
        let _ = child.wait();
        // Ids printed after the kill was decided but before it landed were saved too.
        for id in lines.map_while(Result::ok) {
            confirmed.push(id);
        }
        killed_after.push(seen);

        let r = Replica::open(&path).unwrap_or_else(|e| {
            panic!("trial {trial} (seed {first_seed}): replica does not reopen: {e}")
        });
        let ok: String = rusqlite::Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(ok, "ok", "trial {trial} (seed {first_seed})");
        for id in &confirmed {
            let lead = r.get_lead(id).unwrap_or_else(|e| {
                panic!("trial {trial} (seed {first_seed}): saved lead {id} lost: {e}")
            });
            assert!(lead.pending, "{id} keeps its change for the server");
        }
        assert_eq!(
            r.pending_count().unwrap() as usize,
            r.lead_count().unwrap() as usize,
            "every lead has exactly its one pending change"
        );
    }
    eprintln!(
        "replica crash trials: {} trials, {} confirmed saves kept, killed after {:?} saves",
        trials(),
        confirmed.len(),
        killed_after
    );
}
