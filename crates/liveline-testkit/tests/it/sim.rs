//! The deterministic simulator over many seeds (see `liveline_testkit::sim`). CI runs 200 seeds;
//! `LIVELINE_SIM_SEEDS=10000` runs more, `LIVELINE_SIM_FIRST` moves the first seed, and a failing seed prints the
//! command that replays it alone. Seeds that once failed are kept in `KEPT` and run on every test run.

use std::path::PathBuf;

use liveline_testkit::sim::{replay_command, run_seed, Report};

/// Seeds that found a bug, kept as regular tests once it was fixed.
// 2: a rep lost access to a lead with an edit still queued, and the edit vanished unseen (now kept aside until the
// server answers it). 27, 183: when the lead came back, the rep's next edit clashed with the queued one (now put
// back first). 24, 36: a role change
// between a connection's sign-in and its Hello was missed (Hello now reads the roles again).
const KEPT: &[u64] = &[2, 24, 27, 36, 183];

/// Steps per seed: enough for every fault to happen several times in most seeds.
const STEPS: usize = 400;

fn root() -> PathBuf {
    // Memory-backed when the machine has it: the simulation is about orderings, not about the disk's speed.
    let base = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("liveline-sim-{}", std::process::id()))
}

fn env_u64(key: &str) -> Option<u64> {
    std::env::var(key).ok().and_then(|v| v.trim().parse().ok())
}

fn summary(reports: &[Report]) -> String {
    let sum = |f: fn(&Report) -> usize| reports.iter().map(f).sum::<usize>();
    format!(
        "seeds={} local_changes={} frames={} duplicated={} cut={} device_crashes={} server_restarts={} refused={} docs={}",
        reports.len(),
        sum(|r| r.local_changes),
        sum(|r| r.delivered),
        sum(|r| r.duplicated),
        sum(|r| r.cut),
        sum(|r| r.device_crashes),
        sum(|r| r.server_restarts),
        sum(|r| r.refused),
        sum(|r| r.docs),
    )
}

#[test]
fn every_seed_converges_and_loses_nothing() {
    let count = env_u64("LIVELINE_SIM_SEEDS").unwrap_or(200);
    let first = env_u64("LIVELINE_SIM_FIRST").unwrap_or(1);
    let root = root();
    let threads = 2u64;
    let results: Vec<Result<Report, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let root = root.clone();
                s.spawn(move || {
                    (first..first + count)
                        .filter(|seed| seed % threads == t)
                        .map(|seed| run_seed(seed, STEPS, &root))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("simulation thread"))
            .collect()
    });
    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let reports: Vec<Report> = results
        .iter()
        .filter_map(|r| r.as_ref().ok().cloned())
        .collect();
    println!("sim {}", summary(&reports));
    let _ = std::fs::remove_dir_all(&root);
    // The faults must really have happened, or the run proves nothing.
    let total = |f: fn(&Report) -> usize| reports.iter().map(f).sum::<usize>();
    if failures.is_empty() && count >= 50 {
        assert!(total(|r| r.cut) > 0 && total(|r| r.duplicated) > 0);
        assert!(total(|r| r.device_crashes) > 0 && total(|r| r.server_restarts) > 0);
        assert!(total(|r| r.refused) > 0, "no seed exercised a refusal");
    }
    assert!(
        failures.is_empty(),
        "{} of {count} seeds failed:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

/// `LIVELINE_SIM_SEED=N` replays one seed; without it, the kept seeds run.
#[test]
fn replay() {
    let seeds: Vec<u64> = match env_u64("LIVELINE_SIM_SEED") {
        Some(s) => vec![s],
        None => KEPT.to_vec(),
    };
    let root = root().join("replay");
    for seed in seeds {
        match run_seed(seed, STEPS, &root) {
            Ok(r) => println!("seed {seed} passed: {r:?}"),
            Err(e) => panic!("{e}"),
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    let _ = replay_command;
}
