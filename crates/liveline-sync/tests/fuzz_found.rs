//! Inputs the fuzz targets (`fuzz/`) found to break something, kept as regular tests once fixed.

use std::path::Path;

use automerge::{ActorId, AutoCommit};
use liveline_domain::policy::{Principal, Role};
use liveline_sync::ingest;
use liveline_types::codes;

/// Ingests a kept input: `changes` change files, on the kept document if there is one, as the assistant u1 whose
/// device's actor made the real changes the fuzzer started from.
fn ingest_kept(
    dir: &str,
    changes: usize,
    before: Option<AutoCommit>,
) -> liveline_sync::IngestOutcome {
    // Kept as the app sent them then (deflated when large); the app now sends them as automerge encodes them.
    let changes: Vec<Vec<u8>> = (0..changes)
        .map(|i| liveline_sync::bounds::uncompressed(fixture(dir, &format!("change-{i}.bin"))))
        .collect();
    let who = Principal::new("u1", "t1", &[Role::Assistant]);
    let actors = [ActorId::from(&[7u8; 16][..])];
    ingest(before, &changes, &who, &actors)
}

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A real edit with one byte flipped still parsed as a change with a valid checksum and applied, but the document
/// saved with it failed to load ("mismatching heads"): stored by the server, it would have broken the lead for
/// every device. Such a change is now refused, and the document stays as it was.
#[test]
fn a_change_automerge_would_not_encode_that_way_is_refused() {
    let before = AutoCommit::load(&fixture("noncanonical-change", "before.automerge")).unwrap();
    let out = ingest_kept("noncanonical-change", 2, Some(before));
    refused_whole(&out);
}

/// Nothing of the batch is accepted, the stored document is not replaced, and the device hears "bad change".
fn refused_whole(out: &liveline_sync::IngestOutcome) {
    assert!(
        out.accepted.is_empty(),
        "nothing of a batch with a bad change is accepted"
    );
    assert!(out.doc.is_none(), "the stored document is not replaced");
    assert!(
        out.refused
            .iter()
            .any(|(_, _, e)| e.code == codes::BAD_CHANGE),
        "refused as a bad change: {:?}",
        out.refused
    );
}

/// A damaged change whose operation names an actor the change does not list made automerge 0.12 panic while
/// expanding it; inside the server's write that panic would have poisoned the store's writer lock, refusing every
/// later push to everyone. Ingestion now refuses it as a bad change and carries on.
#[test]
fn a_change_that_makes_automerge_panic_is_refused_without_a_panic() {
    refused_whole(&ingest_kept("panicking-change", 3, None));
}

/// A lead created and edited, with one byte of the edit flipped: every change decodes, re-encodes the same and
/// applies, yet the saved document makes automerge 0.12 fail an assertion while loading it. Stored, it would
/// have broken the lead for every device and every later push. Ingestion now checks that what it accepts loads
/// again, and refuses it otherwise.
#[test]
fn changes_that_would_store_an_unloadable_document_are_refused() {
    refused_whole(&ingest_kept("unloadable-doc", 3, None));
}
