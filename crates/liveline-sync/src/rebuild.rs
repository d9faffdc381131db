//! The device's rebuild after a refusal: the document without the refused changes and everything that depends on them.

use automerge::{AutoCommit, ChangeHash};
use std::collections::HashSet;

use crate::proto::Hash;

/// Rebuilds `doc` without `refused` and their dependents. Returns the new document and every dropped hash
/// (the refused ones plus their dependents), so the caller can clear them from its pending queue.
pub fn rebuild_without(doc: &mut AutoCommit, refused: &[Hash]) -> (AutoCommit, Vec<Hash>) {
    let mut dropped: HashSet<ChangeHash> = refused.iter().map(|h| ChangeHash(*h)).collect();
    let mut keep = Vec::new();
    // get_changes returns a causal order: a change's dependencies come before it.
    for c in doc.get_changes(&[]) {
        if c.deps().iter().any(|d| dropped.contains(d)) {
            dropped.insert(c.hash());
        }
        if !dropped.contains(&c.hash()) {
            keep.push(c);
        }
    }
    let mut fresh = AutoCommit::new().with_actor(doc.get_actor().clone());
    fresh
        .apply_changes(keep)
        .expect("changes taken from a valid document");
    let mut gone: Vec<Hash> = dropped.into_iter().map(|h| h.0).collect();
    gone.sort();
    (fresh, gone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::{transaction::Transactable, ReadDoc, ROOT};

    #[test]
    fn refused_change_and_its_dependents_go_other_changes_stay() {
        let mut other = AutoCommit::new().with_actor(automerge::ActorId::from(&[2u8; 16][..]));
        other.put(ROOT, "team", "t1").unwrap();
        other.commit();
        let mut doc = other
            .fork()
            .with_actor(automerge::ActorId::from(&[1u8; 16][..]));
        doc.put(ROOT, "team", "t2").unwrap();
        let bad = doc.commit().unwrap();
        doc.put(ROOT, "notes", "after").unwrap();
        doc.commit();
        let (mut fresh, gone) = rebuild_without(&mut doc, &[bad.0]);
        assert_eq!(gone.len(), 2);
        assert_eq!(
            fresh.get(ROOT, "team").unwrap().unwrap().0.to_string(),
            "\"t1\""
        );
        assert!(fresh.get(ROOT, "notes").unwrap().is_none());
        assert_eq!(fresh.get_heads(), other.get_heads());
    }
}
