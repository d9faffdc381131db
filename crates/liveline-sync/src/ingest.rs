//! The server's judgement of changes a device pushed to one document: decode, bind to the device's actor,
//! order by dependencies, apply one by one and check the write policy after each.
//!
//! Pure: the caller loads the document before and stores the outcome; nothing here touches a disk or a socket.

use automerge::{
    legacy, ActorId, AutoCommit, Change, ChangeHash, ExpandedChange, ObjId, ReadDoc, ROOT,
};
use liveline_domain::policy::{check_server_fields, server_fields, top_values, Principal};
use liveline_domain::{check_write, DocKind, RecordMeta};
use liveline_types::{codes, AppError};

use crate::proto::Hash;

/// What happened to a push for one document.
#[derive(Debug, Default)]
pub struct IngestOutcome {
    /// Changes now in the document, in the order applied, with their bytes for the log.
    pub accepted: Vec<(Hash, Vec<u8>)>,
    /// Changes the document already had (a resend after a lost ack): acknowledged again, stored once.
    pub duplicates: Vec<Hash>,
    /// Refused changes, with the field and reason. Changes that depend on a refused one are refused with it.
    pub refused: Vec<(Vec<Hash>, String, AppError)>,
    /// Changes held back because they depend on changes the server does not have.
    pub missing: Vec<(Vec<Hash>, Vec<Hash>)>,
    /// The document after the accepted changes (unchanged when none were accepted).
    pub doc: Option<AutoCommit>,
    /// The document's placement before and after.
    pub meta_before: Option<RecordMeta>,
    pub meta_after: Option<RecordMeta>,
    /// Top-level fields the accepted changes touched, sorted (for the audit log).
    pub changed_fields: Vec<String>,
    /// The document's saved bytes as checked (they load again), and its heads then: the caller stores these
    /// bytes instead of saving again, unless it changed the document since.
    pub saved: Option<(Vec<ChangeHash>, Vec<u8>)>,
}

fn hash_of(h: &ChangeHash) -> Hash {
    h.0
}

/// Whether a change encodes its operations the way automerge itself would. A document keeps its changes in its own
/// columnar form and recomputes their hashes on load: a change whose bytes say the same thing differently (found
/// by fuzzing: well-formed, checksummed, applied without complaint) would make the stored document fail to load
/// with mismatching heads, for every device, for good.
///
/// automerge 0.12 panics while expanding some malformed changes (an operation naming an actor the change does not
/// list); such a change is not canonical either, and the panic must not reach the server's write.
fn canonical(c: &Change) -> Option<ExpandedChange> {
    guarded(|| {
        let expanded = c.decode();
        (Change::from(expanded.clone()).hash() == c.hash()).then_some(expanded)
    })
    .flatten()
}

/// The fields a change writes, if it is an everyday field edit written the way automerge itself writes one on the
/// document at its dependencies: only puts and deletes of top-level fields, each replacing exactly the values its
/// author saw there (or the one it wrote just before, in the same change), each delete deleting something, the
/// author's own earlier changes all behind its dependencies, and its counters following on from them.
///
/// Such a change cannot leave a document that fails to load; for anything else, the document is saved and loaded
/// again before the change is accepted. The fuzz-found change that broke loading replaced a value of another field.
fn plain_field_edit(
    doc: &mut AutoCommit,
    c: &Change,
    expanded: &ExpandedChange,
) -> Option<Vec<String>> {
    let deps = c.deps();
    let max_op = deps
        .iter()
        .map(|d| doc.get_change_meta_by_hash(d).map(|m| m.max_op))
        .try_fold(0u64, |m, op| op.map(|op| m.max(op)));
    if max_op.map(|m| m + 1) != Some(expanded.start_op.get()) {
        return None;
    }
    // The author's own earlier changes must all be behind its dependencies, or counters following on from them may
    // repeat an operation id the author already used.
    let actor = c.actor_id();
    if doc
        .get_changes_meta(deps)
        .iter()
        .any(|m| m.actor.as_ref() == actor)
    {
        return None;
    }
    let mut written: std::collections::HashMap<&str, Vec<(u64, ActorId)>> = Default::default();
    for (i, op) in expanded.operations.iter().enumerate() {
        let (legacy::ObjectId::Root, legacy::Key::Map(key), false) = (&op.obj, &op.key, op.insert)
        else {
            return None;
        };
        let put = match op.action {
            legacy::OpType::Put(_) => true,
            // A delete is stored only as the end of what it deletes: one that deletes nothing leaves an operation
            // the saved document cannot account for.
            legacy::OpType::Delete if !op.pred.is_empty() => false,
            _ => return None,
        };
        let mut expected: Vec<(u64, ActorId)> = match written.get(key.as_str()) {
            Some(ids) => ids.clone(),
            None => match doc.get_all_at(ROOT, key.as_str(), deps) {
                Ok(values) => values
                    .into_iter()
                    .filter_map(|(_, id)| match id {
                        ObjId::Id(counter, actor, _) => Some((counter, actor)),
                        ObjId::Root => None,
                    })
                    .collect(),
                Err(_) => return None,
            },
        };
        let mut pred: Vec<(u64, ActorId)> = op.pred.iter().map(|p| (p.0, p.1.clone())).collect();
        pred.sort();
        expected.sort();
        if pred != expected {
            return None;
        }
        let id = (expanded.start_op.get() + i as u64, actor.clone());
        written.insert(key.as_str(), if put { vec![id] } else { Vec::new() });
    }
    Some(written.into_keys().map(str::to_string).collect())
}

/// The document saved, if those bytes load again (what the server stores must be readable by everyone).
fn loads_again(doc: &mut AutoCommit) -> Option<Vec<u8>> {
    let bytes = doc.save_nocompress();
    guarded(|| AutoCommit::load(&bytes).is_ok())
        .unwrap_or(false)
        .then_some(bytes)
}

/// Whether the document has this change (read from its change graph: `get_change_by_hash` would rebuild the
/// change from the document's operations).
fn has(doc: &mut AutoCommit, hash: &ChangeHash) -> bool {
    doc.get_change_meta_by_hash(hash).is_some()
}

/// Runs `f`, turning a panic inside automerge on hostile input into `None`.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).ok()
}

/// Judges `changes` (raw bytes as pushed) for the document `doc` (`None`: the server does not have it yet),
/// written by `who` through one of their devices, whose automerge actors are `actors` (the pushing device's, and
/// those of the user's earlier sign-ins: a replica signed in again still holds changes made under its old id).
pub fn ingest(
    doc: Option<AutoCommit>,
    changes: &[Vec<u8>],
    who: &Principal,
    actors: &[ActorId],
) -> IngestOutcome {
    let mut out = IngestOutcome::default();
    let existed = doc.is_some();
    let mut doc = doc.unwrap_or_default();
    let heads_before = doc.get_heads();
    out.meta_before = if existed {
        RecordMeta::read(&doc).ok()
    } else {
        None
    };

    // Decode and bind to the device; anything else is refused as a whole, since we cannot tell what it depends on.
    let mut decoded: Vec<(Change, ExpandedChange)> = Vec::with_capacity(changes.len());
    for bytes in changes {
        // Bounded before automerge sees it: no inflating, no expanding a run of 2^40 operations.
        if let Err(r) = crate::bounds::check(bytes, &crate::bounds::LIMITS) {
            let named = crate::bounds::unparsed_hash(bytes).into_iter().collect();
            out.refused
                .push((named, String::new(), AppError::new(r.code())));
            continue;
        }
        let change = Change::from_bytes(bytes.clone()).map(|c| {
            let expanded = canonical(&c);
            (c, expanded)
        });
        match change {
            Ok((_, None)) => {
                out.refused
                    .push((Vec::new(), String::new(), AppError::new(codes::BAD_CHANGE)));
            }
            Ok((c, Some(e))) if actors.contains(c.actor_id()) => decoded.push((c, e)),
            Ok((c, Some(_))) => {
                out.refused.push((
                    vec![hash_of(&c.hash())],
                    String::new(),
                    AppError::new(codes::ACTOR_MISMATCH),
                ));
            }
            Err(_) => {
                out.refused
                    .push((Vec::new(), String::new(), AppError::new(codes::BAD_CHANGE)));
            }
        }
    }
    if !out.refused.is_empty() {
        // A batch with a forged or broken change is refused whole: the rest are from the same device and chain on it.
        let all: Vec<Hash> = decoded.iter().map(|c| hash_of(&c.0.hash())).collect();
        if !all.is_empty() {
            let (_, path, err) = out.refused[0].clone();
            out.refused.push((all, path, err));
        }
        out.doc = None;
        return out;
    }

    // Drop what the document has already.
    let mut todo: Vec<(Change, ExpandedChange)> = Vec::new();
    for (c, e) in decoded {
        if has(&mut doc, &c.hash()) {
            out.duplicates.push(hash_of(&c.hash()));
        } else if !todo.iter().any(|t| t.0.hash() == c.hash()) {
            todo.push((c, e));
        }
    }
    // The fields written, while every accepted change is a plain field edit (then what is saved needs no loading
    // again, and the fields need no diff).
    let mut plain: Option<Vec<String>> = Some(Vec::new());

    // Apply in dependency order, judging each change on the document it produces.
    let mut current_meta = out.meta_before.clone();
    let mut refused_hashes: Vec<ChangeHash> = Vec::new();
    let mut progress = true;
    while progress && !todo.is_empty() {
        progress = false;
        let mut i = 0;
        while i < todo.len() {
            let ready = todo[i].0.deps().iter().all(|d| has(&mut doc, d));
            let blocked_by_refusal = todo[i].0.deps().iter().any(|d| refused_hashes.contains(d));
            if blocked_by_refusal {
                let (c, _) = todo.remove(i);
                refused_hashes.push(c.hash());
                if let Some(last) = out.refused.last_mut() {
                    last.0.push(hash_of(&c.hash()));
                }
                progress = true;
                continue;
            }
            if !ready {
                i += 1;
                continue;
            }
            let (c, expanded) = todo.remove(i);
            progress = true;
            let before_heads = doc.get_heads();
            let plain_edit = guarded(|| plain_field_edit(&mut doc, &c, &expanded)).flatten();
            // What the server alone writes, as it is before this change.
            let server_before = current_meta.as_ref().map(|m| {
                let keys = server_fields(m.kind, &m.created_by);
                (m.kind, m.created_by.clone(), top_values(&doc, keys))
            });
            // A record's decision log as it is before this change (it may only grow, by its author).
            let decisions_before = current_meta
                .as_ref()
                .filter(|m| m.kind == DocKind::Record)
                .map(|_| {
                    (
                        liveline_forms::record::decisions(&doc),
                        liveline_forms::record::edits(&doc),
                    )
                });
            let applied = guarded(|| doc.apply_changes([c.clone()]).is_ok()).unwrap_or(false);
            if !applied {
                refused_hashes.push(c.hash());
                out.refused.push((
                    vec![hash_of(&c.hash())],
                    String::new(),
                    AppError::new(codes::BAD_CHANGE),
                ));
                doc = rollback(&mut doc, &before_heads);
                continue;
            }
            let verdict = match RecordMeta::read(&doc) {
                Ok(after) => check_write(who, current_meta.as_ref(), &after)
                    .and_then(|_| match &server_before {
                        Some((kind, created_by, values)) => {
                            check_server_fields(*kind, created_by, Some(values), &doc)
                        }
                        None => check_server_fields(after.kind, &after.created_by, None, &doc),
                    })
                    .map_err(|r| (r.path, AppError::new(r.code)))
                    // A published form or flow must be one the app can use; the refusal names the fault.
                    .and_then(|_| liveline_forms::defs::check_document(after.kind, &doc))
                    // A custom dashboard must stay one the app can show.
                    .and_then(|_| match after.kind {
                        DocKind::Dashboard => liveline_domain::dashboard::check_document(&doc),
                        _ => Ok(()),
                    })
                    .and_then(|_| match after.kind {
                        DocKind::Record => {
                            let (decisions, edits) = decisions_before.clone().unwrap_or_default();
                            liveline_forms::record::check_decisions(
                                &decisions,
                                &liveline_forms::record::decisions(&doc),
                                &who.user_id,
                            )
                            .and_then(|_| {
                                liveline_forms::record::check_edits(
                                    &edits,
                                    &liveline_forms::record::edits(&doc),
                                    &who.user_id,
                                )
                            })
                        }
                        _ => Ok(()),
                    })
                    .map(|_| after),
                Err(_) => Err((String::from("kind"), AppError::new(codes::NOT_A_RECORD))),
            };
            match verdict {
                Ok(after) => {
                    current_meta = Some(after);
                    plain = plain.zip(plain_edit).map(|(mut a, b)| {
                        a.extend(b);
                        a
                    });
                    let mut c = c;
                    out.accepted
                        .push((hash_of(&c.hash()), c.bytes().into_owned()));
                }
                Err((path, err)) => {
                    refused_hashes.push(c.hash());
                    out.refused.push((vec![hash_of(&c.hash())], path, err));
                    doc = rollback(&mut doc, &before_heads);
                }
            }
        }
    }
    for (c, _) in todo {
        let missing: Vec<Hash> = c
            .deps()
            .iter()
            .filter(|d| !has(&mut doc, d))
            .map(hash_of)
            .collect();
        out.missing.push((vec![hash_of(&c.hash())], missing));
    }
    out.meta_after = current_meta;
    if !out.accepted.is_empty() {
        out.saved = if plain.is_some() {
            Some(doc.save_nocompress())
        } else {
            loads_again(&mut doc)
        }
        .map(|bytes| (doc.get_heads(), bytes));
    }
    if out
        .saved
        .as_ref()
        .is_some_and(|(_, bytes)| bytes.len() > crate::bounds::MAX_DOC_BYTES)
    {
        // A document no device could receive in one frame is not grown further.
        let hashes = out.accepted.drain(..).map(|a| a.0).collect();
        out.refused
            .push((hashes, String::new(), AppError::new(codes::DOC_TOO_LARGE)));
        out.meta_after = out.meta_before.clone();
        out.saved = None;
    } else if !out.accepted.is_empty() && out.saved.is_none() {
        // Found by fuzzing: changes that decode, re-encode the same and apply, yet leave a document automerge 0.12
        // cannot load (it fails an assertion). Stored, it would break the record for everyone; refuse them all.
        let hashes = out.accepted.drain(..).map(|a| a.0).collect();
        out.refused
            .push((hashes, String::new(), AppError::new(codes::BAD_CHANGE)));
        out.meta_after = out.meta_before.clone();
    }
    out.doc = if out.accepted.is_empty() {
        None
    } else {
        let heads_after = doc.get_heads();
        out.changed_fields = match plain {
            Some(mut fields) => {
                fields.sort();
                fields.dedup();
                fields
            }
            None => changed_fields(&mut doc, &heads_before, &heads_after),
        };
        Some(doc)
    };
    out
}

/// The top-level fields that differ between two versions of a document.
pub fn changed_fields(
    doc: &mut AutoCommit,
    before: &[ChangeHash],
    after: &[ChangeHash],
) -> Vec<String> {
    let mut out: Vec<String> = doc
        .diff(before, after)
        .into_iter()
        .filter_map(|p| match p.path.first() {
            Some((_, automerge::Prop::Map(k))) => Some(k.clone()),
            Some(_) => None,
            None => match p.action {
                automerge::PatchAction::PutMap { key, .. }
                | automerge::PatchAction::DeleteMap { key } => Some(key),
                _ => None,
            },
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The document as it was at `heads` (automerge cannot un-apply a change, so we fork at the heads before it).
fn rollback(doc: &mut AutoCommit, heads: &[ChangeHash]) -> AutoCommit {
    if heads.is_empty() {
        return AutoCommit::new();
    }
    doc.fork_at(heads).expect("heads taken from this document")
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use liveline_domain::{policy::Role, Lead};

    fn who() -> Principal {
        Principal::new("u1", "t1", &[Role::Assistant])
    }
    fn actor() -> ActorId {
        ActorId::from(&[7u8; 16][..])
    }
    fn lead(team: &str) -> Lead {
        Lead {
            kind: "lead".into(),
            team: team.into(),
            buyer_name: "Ann".into(),
            created_by: "u1".into(),
            ..Default::default()
        }
    }
    fn change(doc: &mut AutoCommit, l: &Lead) -> Vec<u8> {
        l.save_into(doc).unwrap();
        doc.commit();
        doc.get_last_local_change().unwrap().raw_bytes().to_vec()
    }

    #[test]
    fn a_new_lead_in_the_own_team_is_accepted() {
        let mut d = AutoCommit::new().with_actor(actor());
        let c = change(&mut d, &lead("t1"));
        let out = ingest(None, &[c], &who(), &[actor()]);
        assert_eq!(out.accepted.len(), 1);
        assert!(out.refused.is_empty());
        assert_eq!(
            Lead::load(out.doc.as_ref().unwrap()).unwrap().buyer_name,
            "Ann"
        );
    }

    #[test]
    fn moving_a_lead_to_another_team_is_refused_with_its_dependents() {
        let mut d = AutoCommit::new().with_actor(actor());
        let c1 = change(&mut d, &lead("t1"));
        let server = ingest(None, &[c1], &who(), &[actor()]).doc.unwrap();
        let c2 = change(&mut d, &lead("t2"));
        let mut l = lead("t2");
        l.notes = "after the move".into();
        let c3 = change(&mut d, &l);
        let out = ingest(Some(server), &[c2, c3], &who(), &[actor()]);
        assert!(out.accepted.is_empty());
        assert_eq!(out.refused.len(), 1);
        assert_eq!(
            out.refused[0].0.len(),
            2,
            "the dependent change goes with the refused one"
        );
        assert_eq!(out.refused[0].1, "team");
        assert_eq!(out.refused[0].2.code, codes::TEAM_CHANGE_FORBIDDEN);
        assert!(out.doc.is_none());
    }

    /// Applies `bytes` to `doc`, answering what the fast-path test said of the change beforehand.
    fn judge_plain(doc: &mut AutoCommit, bytes: &[u8]) -> Option<Vec<String>> {
        let c = Change::from_bytes(bytes.to_vec()).unwrap();
        let expanded = canonical(&c).expect("canonical");
        let plain = plain_field_edit(doc, &c, &expanded);
        doc.apply_changes([c]).unwrap();
        plain
    }

    #[test]
    fn everyday_field_edits_skip_loading_again_and_anything_else_does_not() {
        let other = ActorId::from(&[8u8; 16][..]);
        let mut a = AutoCommit::new().with_actor(actor());
        let mut server = AutoCommit::new();
        // Creating the lead makes its lists: loaded again.
        let created = change(&mut a, &lead("t1"));
        assert_eq!(judge_plain(&mut server, &created), None);
        let mut b = a.fork().with_actor(other.clone());

        // Two devices set the same field concurrently: each replaced what its author saw.
        let mut l = lead("t1");
        l.notes = "from a".into();
        let from_a = change(&mut a, &l);
        l.notes = "from b".into();
        l.status = "contacted".into();
        let from_b = change(&mut b, &l);
        assert_eq!(
            judge_plain(&mut server, &from_a),
            Some(vec!["notes".into()])
        );
        let mut fields = judge_plain(&mut server, &from_b).unwrap();
        fields.sort();
        assert_eq!(fields, ["notes", "status"]);

        // After merging, an edit replaces both conflicting values; a field written twice in one change too.
        a.merge(&mut b).unwrap();
        a.put(ROOT, "notes", "merged").unwrap();
        a.put(ROOT, "notes", "merged, then fixed").unwrap();
        a.delete(ROOT, "company").unwrap();
        a.commit();
        let merged = a.get_last_local_change().unwrap().raw_bytes().to_vec();
        let mut fields = judge_plain(&mut server, &merged).unwrap();
        fields.sort();
        assert_eq!(fields, ["company", "notes"]);

        // A contact logged (a list insert) and a nested edit go through the full check.
        let contacts = a.get(ROOT, "contacts").unwrap().unwrap().1;
        a.insert(contacts, 0, "call").unwrap();
        a.commit();
        let listed = a.get_last_local_change().unwrap().raw_bytes().to_vec();
        assert_eq!(judge_plain(&mut server, &listed), None);

        let mut server = server;
        assert!(AutoCommit::load(&server.save_nocompress()).is_ok());
    }

    #[test]
    fn the_fuzz_found_change_that_broke_loading_is_not_an_everyday_edit() {
        // It replaced the value of another field (pred 19 is `notes`, the change writes `not2s`).
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/unloadable-doc");
        let read = |i: usize| std::fs::read(format!("{dir}/change-{i}.bin")).unwrap();
        let mut doc = AutoCommit::new();
        judge_plain(&mut doc, &read(0));
        assert_eq!(judge_plain(&mut doc, &read(2)), None);
    }

    /// An edit of `notes` by `actor()` on `doc`, re-made by `forge` and encoded by automerge itself (so it passes
    /// the canonical check), as a hostile device could send it.
    fn forged(doc: &mut AutoCommit, forge: impl FnOnce(&mut ExpandedChange)) -> Vec<u8> {
        let mut d = doc.fork().with_actor(actor());
        d.put(ROOT, "notes", "honest").unwrap();
        d.commit();
        let mut e = d.get_last_local_change().unwrap().decode();
        forge(&mut e);
        e.hash = None;
        Change::from(e).raw_bytes().to_vec()
    }

    /// Whatever ingestion accepts of a forged change, the stored document loads again.
    fn stays_loadable(server: &AutoCommit, bytes: Vec<u8>) {
        let out = ingest(Some(server.clone()), &[bytes], &who(), &[actor()]);
        if let Some((_, saved)) = out.saved {
            assert!(
                AutoCommit::load(&saved).is_ok(),
                "an accepted change left an unloadable document"
            );
        }
    }

    #[test]
    fn forged_edits_that_look_everyday_go_through_the_full_check() {
        let mut a = AutoCommit::new().with_actor(actor());
        let mut server = AutoCommit::new();
        judge_plain(&mut server, &change(&mut a, &lead("t1")));

        // A delete of a field that has no value: nothing for it to end.
        let delete_nothing = forged(&mut server, |e| {
            e.operations[0].action = legacy::OpType::Delete;
            e.operations[0].key = legacy::Key::Map("nothing_here".into());
            e.operations[0].pred = Vec::new().into();
        });
        assert_eq!(judge_plain(&mut server.clone(), &delete_nothing), None);
        stays_loadable(&server, delete_nothing);

        // An edit that leaves out the author's own earlier change, with counters starting over: operation ids the
        // author already used.
        let restart = forged(&mut server, |e| {
            e.deps = Vec::new();
            e.start_op = std::num::NonZeroU64::new(1).unwrap();
            e.operations[0].pred = Vec::new().into();
        });
        assert_eq!(judge_plain(&mut server.clone(), &restart), None);
        stays_loadable(&server, restart);
    }

    #[test]
    fn the_fields_an_edit_touched_are_named() {
        let mut d = AutoCommit::new().with_actor(actor());
        let c1 = change(&mut d, &lead("t1"));
        let first = ingest(None, &[c1], &who(), &[actor()]);
        assert!(first.changed_fields.contains(&"buyer_name".to_string()));
        let mut l = lead("t1");
        l.notes = "call after 6pm".into();
        l.status = "contacted".into();
        let c2 = change(&mut d, &l);
        let out = ingest(first.doc, &[c2], &who(), &[actor()]);
        assert_eq!(out.changed_fields, ["notes", "status"]);
    }

    #[test]
    fn another_devices_actor_is_refused() {
        let mut d = AutoCommit::new().with_actor(ActorId::from(&[9u8; 16][..]));
        let c = change(&mut d, &lead("t1"));
        let out = ingest(None, &[c], &who(), &[actor()]);
        assert_eq!(out.refused[0].2.code, codes::ACTOR_MISMATCH);
        assert!(out.accepted.is_empty());
    }

    #[test]
    fn garbage_is_refused_not_stored() {
        let out = ingest(None, &[vec![1, 2, 3]], &who(), &[actor()]);
        assert_eq!(out.refused[0].2.code, codes::BAD_CHANGE);
        assert!(out.doc.is_none());
    }

    #[test]
    fn a_change_with_missing_dependencies_is_held() {
        let mut d = AutoCommit::new().with_actor(actor());
        let _c1 = change(&mut d, &lead("t1"));
        let mut l = lead("t1");
        l.company = "ACME".into();
        let c2 = change(&mut d, &l);
        let out = ingest(None, &[c2], &who(), &[actor()]);
        assert!(out.accepted.is_empty());
        assert_eq!(out.missing.len(), 1);
        assert_eq!(out.missing[0].1.len(), 1);
    }

    #[test]
    fn a_resent_change_is_a_duplicate_and_out_of_order_changes_are_sorted() {
        let mut d = AutoCommit::new().with_actor(actor());
        let c1 = change(&mut d, &lead("t1"));
        let mut l = lead("t1");
        l.company = "ACME".into();
        let c2 = change(&mut d, &l);
        let out = ingest(None, &[c2.clone(), c1.clone()], &who(), &[actor()]);
        assert_eq!(out.accepted.len(), 2);
        let out2 = ingest(out.doc, &[c1, c2], &who(), &[actor()]);
        assert_eq!(out2.duplicates.len(), 2);
        assert!(out2.accepted.is_empty());
    }

    #[test]
    fn a_device_cannot_write_what_only_the_server_writes() {
        // Forging an assignment on a new lead.
        let mut d = AutoCommit::new().with_actor(actor());
        let forged = Lead {
            assigned_rule: "r-vip".into(),
            ..lead("t1")
        };
        let c = change(&mut d, &forged);
        let out = ingest(None, &[c], &who(), &[actor()]);
        assert_eq!(out.refused[0].1, "assigned_rule");
        assert_eq!(out.refused[0].2.code, codes::SERVER_FIELD);
        // Pointing an existing lead at another task, so a logged contact would close it.
        let mut d = AutoCommit::new().with_actor(actor());
        let c1 = change(&mut d, &lead("t1"));
        let server = ingest(None, &[c1], &who(), &[actor()]).doc.unwrap();
        let c2 = change(
            &mut d,
            &Lead {
                first_task: "someone-elses-task".into(),
                ..lead("t1")
            },
        );
        let out = ingest(Some(server), &[c2], &who(), &[actor()]);
        assert_eq!(out.refused[0].1, "first_task");
        // Moving the deadline of a task the server opened; completing it is fine.
        let mut server_doc = AutoCommit::new().with_actor(ActorId::from(&[1u8; 16][..]));
        let t = liveline_domain::Task::new("t1", "first_contact", "Ann", "u1", "", 1_000, 0);
        t.save_into(&mut server_doc).unwrap();
        server_doc.commit();
        let mut mine = server_doc.fork().with_actor(actor());
        let mut later = t.clone();
        later.due_at = 9_000;
        later.save_into(&mut mine).unwrap();
        mine.commit();
        let moved = mine.get_last_local_change().unwrap().raw_bytes().to_vec();
        let out = ingest(Some(server_doc.fork()), &[moved], &who(), &[actor()]);
        assert_eq!(
            (out.refused[0].1.as_str(), out.refused[0].2.code.as_str()),
            ("due_at", codes::SERVER_FIELD)
        );
        let mut mine = server_doc.fork().with_actor(actor());
        let mut done = t.clone();
        done.close("done", "u1", 2_000);
        done.save_into(&mut mine).unwrap();
        mine.commit();
        let closed = mine.get_last_local_change().unwrap().raw_bytes().to_vec();
        let out = ingest(Some(server_doc.fork()), &[closed], &who(), &[actor()]);
        assert_eq!(out.accepted.len(), 1, "{:?}", out.refused);
    }

    #[test]
    fn a_lead_stored_before_the_server_fields_existed_stays_editable() {
        use automerge::transaction::Transactable;
        // A lead as the first release wrote it: without the fields assignment added since.
        let mut old = AutoCommit::new().with_actor(ActorId::from(&[1u8; 16][..]));
        lead("t1").save_into(&mut old).unwrap();
        for k in [
            "assigned_rule",
            "assigned_rule_name",
            "assigned_at",
            "duplicate_of",
            "first_task",
            "contacts",
            "language",
        ] {
            old.delete(automerge::ROOT, k).unwrap();
        }
        old.commit();
        let mut mine = old.fork().with_actor(actor());
        let mut l = Lead::load(&mine).unwrap();
        l.notes = "called back".into();
        l.save_into(&mut mine).unwrap();
        mine.commit();
        let edit = mine.get_last_local_change().unwrap().raw_bytes().to_vec();
        let out = ingest(Some(old), &[edit], &who(), &[actor()]);
        assert!(out.refused.is_empty(), "{:?}", out.refused);
        assert_eq!(out.accepted.len(), 1);
    }

    #[test]
    fn a_to_do_cannot_turn_into_a_task_the_server_escalates() {
        let mut d = AutoCommit::new().with_actor(actor());
        let todo = liveline_domain::Task::new("t1", "todo", "Samples", "u1", "u1", 5_000, 0);
        todo.save_into(&mut d).unwrap();
        d.commit();
        let c1 = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        let server = ingest(None, &[c1], &who(), &[actor()]).doc.unwrap();
        let mut forged = todo.clone();
        forged.task_type = "first_contact".into();
        forged.save_into(&mut d).unwrap();
        d.commit();
        let c2 = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        let out = ingest(Some(server), &[c2], &who(), &[actor()]);
        assert_eq!(out.refused[0].1, "task_type");
        // Nor can one be created as a first-contact task.
        let mut d = AutoCommit::new().with_actor(actor());
        liveline_domain::Task::new("t1", "first_contact", "Ann", "u1", "u1", 1, 0)
            .save_into(&mut d)
            .unwrap();
        d.commit();
        let c = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        let out = ingest(None, &[c], &who(), &[actor()]);
        assert_eq!(out.refused[0].1, "task_type");
    }

    #[test]
    fn a_document_without_kind_is_not_a_record() {
        let mut d = AutoCommit::new().with_actor(actor());
        use automerge::transaction::Transactable;
        d.put(automerge::ROOT, "hello", "world").unwrap();
        d.commit();
        let c = d.get_last_local_change().unwrap().raw_bytes().to_vec();
        let out = ingest(None, &[c], &who(), &[actor()]);
        assert_eq!(out.refused[0].2.code, codes::NOT_A_RECORD);
    }
}
