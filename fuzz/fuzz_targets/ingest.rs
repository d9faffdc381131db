//! The server's change ingestion: arbitrary automerge bytes, changes with missing dependencies, changes from an
//! actor that is not the device's, mixed with real changes. Ingestion never panics, accepts nothing from a foreign
//! actor, and what it accepts loads again from its saved bytes.
#![no_main]

use std::sync::OnceLock;

use automerge::{AutoCommit, Change};
use libfuzzer_sys::fuzz_target;
use liveline_fuzz::{assistant, chunks, device_actor, material, Material};
use liveline_sync::ingest;

static MATERIAL: OnceLock<Material> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let m = MATERIAL.get_or_init(|| {
        // Panics that ingestion catches on purpose (automerge's, on hostile bytes) must not abort the run, so the
        // default hook (which only prints) replaces libfuzzer-sys's aborting one; a panic ingestion does not catch
        // still ends the run (libfuzzer-sys aborts when a panic leaves the target).
        drop(std::panic::take_hook());
        material()
    });
    let Some((&mode, rest)) = data.split_first() else { return };
    let mut changes: Vec<Vec<u8>> = Vec::new();
    // The mode's bits choose which real changes go with the fuzzed ones, and in which order.
    if mode & 1 != 0 {
        changes.push(m.create.clone());
    }
    if mode & 2 != 0 {
        changes.push(m.edit2.clone());
    }
    if mode & 4 != 0 {
        changes.push(m.edit.clone());
    }
    if mode & 8 != 0 {
        changes.push(m.foreign.clone());
    }
    for (i, chunk) in chunks(rest).into_iter().enumerate() {
        if mode & 16 != 0 && i == 0 {
            // Flip bytes of a real change: damaged bytes that still look like a change.
            let mut c = m.edit.clone();
            for (j, b) in chunk.iter().enumerate() {
                let at = (j * 7 + *b as usize) % c.len();
                c[at] ^= b;
            }
            changes.push(c);
        } else {
            changes.push(chunk.to_vec());
        }
    }
    let before = if mode & 32 != 0 {
        Some(AutoCommit::load(&m.saved).expect("material loads"))
    } else {
        None
    };
    if let Some(dir) = std::env::var_os("LIVELINE_FUZZ_DUMP") {
        // Writes the document and changes of this input, to turn a crash into a regular test.
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("dump folder");
        if let Some(b) = &before {
            std::fs::write(dir.join("before.automerge"), b.clone().save()).expect("dump");
        }
        for (i, c) in changes.iter().enumerate() {
            std::fs::write(dir.join(format!("change-{i}.bin")), c).expect("dump");
        }
    }
    let actors = [device_actor()];
    let out = ingest(before, &changes, &assistant(), &actors);
    for (_, bytes) in &out.accepted {
        let c = Change::from_bytes(bytes.clone()).expect("an accepted change decodes");
        assert_eq!(c.actor_id(), &actors[0], "a foreign actor's change was accepted");
    }
    if let Some(mut doc) = out.doc {
        let saved = doc.save();
        AutoCommit::load(&saved).expect("an accepted document loads again");
        assert!(out.meta_after.is_some(), "an accepted document has a placement");
    }
});
