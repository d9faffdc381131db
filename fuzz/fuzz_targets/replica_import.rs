//! The device's import of remote changes: pages of log entries and snapshot documents with arbitrary bytes, real
//! changes out of order and documents that are not records. The replica answers with an error or applies the
//! whole page; it never panics, the SQLite file stays sound, and the bucket's cursor moves only with a page that
//! was applied (a refused page is asked for again, never skipped).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use liveline_fuzz::{chunks, material, Material};
use liveline_replica::Replica;
use liveline_sync::{Entry, EntryOp};

static MATERIAL: OnceLock<Material> = OnceLock::new();
const DOC: &str = "0190a0b0-0000-7000-8000-000000000001";

fuzz_target!(|data: &[u8]| {
    let m = MATERIAL.get_or_init(material);
    let Some((&mode, rest)) = data.split_first() else { return };
    let dir = std::env::temp_dir().join(format!("liveline-fuzz-{}", std::process::id()));
    let path = dir.join("replica.db");
    let _ = Replica::destroy(&path);
    let mut r = Replica::open(&path).expect("replica opens");
    // A document the device already holds from an earlier page.
    r.apply_changes(
        "team:t1",
        &[Entry { seq: 1, doc: DOC.into(), op: EntryOp::Doc(m.saved.clone()) }],
        1,
    )
    .expect("a real document applies");
    let mut entries = Vec::new();
    for (i, chunk) in chunks(rest).into_iter().enumerate() {
        let doc = if chunk.first().is_some_and(|b| b & 1 == 1) {
            DOC.to_string()
        } else {
            format!("0190a0b0-0000-7000-8000-00000000000{}", i % 10)
        };
        let op = match (mode >> (i % 4 * 2)) & 3 {
            0 => EntryOp::Change(chunk.to_vec()),
            1 => EntryOp::Doc(chunk.to_vec()),
            2 => EntryOp::Remove,
            _ => EntryOp::Change(if chunk.len() % 2 == 0 { m.edit2.clone() } else { m.edit.clone() }),
        };
        entries.push(Entry { seq: 2 + i as u64, doc, op });
    }
    let upto = 1 + entries.len() as u64;
    let applied = if mode & 0x80 != 0 {
        let docs: Vec<(String, Vec<u8>)> = entries
            .iter()
            .filter_map(|e| match &e.op {
                EntryOp::Doc(b) | EntryOp::Change(b) => Some((e.doc.clone(), b.clone())),
                EntryOp::Remove => None,
            })
            .collect();
        r.apply_snapshot("team:t1", &docs, upto, true).is_ok()
    } else {
        r.apply_changes("team:t1", &entries, upto).is_ok()
    };
    let cursor = r
        .cursors()
        .expect("cursors read")
        .into_iter()
        .find(|c| c.bucket == "team:t1")
        .map(|c| c.seq);
    assert_eq!(cursor, Some(if applied { upto } else { 1 }), "cursor and page disagree");
    // Whatever happened, the replica is sound and still answers.
    r.lead_count().expect("the replica still answers");
    drop(r);
    let conn = rusqlite::Connection::open(&path).expect("reopens");
    let check: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).expect("check runs");
    assert_eq!(check, "ok");
});
