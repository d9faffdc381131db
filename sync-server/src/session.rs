//! One device's sync session without the socket: what the server answers to each message a device sends, and
//! the pages it sends when a bucket moves. `ws.rs` carries its messages over a WebSocket; the deterministic
//! simulator (`liveline-testkit::sim`) calls it directly, so both run the same judgement and paging.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::{ActorId, AutoCommit, ChangeHash};
use liveline_domain::doc::uuid_bytes;
use liveline_domain::policy::{Principal, Role};
use liveline_domain::{DocKind, RecordMeta};
use liveline_sync::{ingest, Cursor, DocChanges, IngestOutcome, ServerMsg, PAGE};
use liveline_types::{codes, AppError};

use crate::automation::Automations;
use crate::automation::Event;
use crate::store::{AuditNote, DeviceAuth, DocCommit, Result, Store};

pub struct Session {
    pub device: DeviceAuth,
    pusher: Pusher,
    /// Where the device stands in each bucket it holds (ordered, so paging runs the same way every time).
    cursors: BTreeMap<String, u64>,
}

/// What a push produced: replies for the pushing device, webhook events to send after the commit, and the
/// buckets whose log moved (whose holders must be woken).
pub struct Pushed {
    pub replies: Vec<ServerMsg>,
    pub events: Vec<Event>,
    pub touched: Vec<String>,
}

/// The next step of bringing a device up to date in one bucket.
pub struct Pager {
    bucket: String,
    /// A snapshot in progress: the log position it covers, its size, and the last document sent.
    snapshot: Option<(u64, u64, String)>,
    /// The last log page was not full: the next step is `CaughtUp`, without another read.
    drained: bool,
    done: bool,
}

impl Session {
    /// A session for an authenticated device; the user's earlier devices' actors are accepted too.
    pub fn open<S: Store>(store: &S, device: DeviceAuth, now: i64) -> Result<Self> {
        // Last-seen is a courtesy for the admin's device list: a server that cannot write (a full disk) still serves
        // reads.
        if let Err(e) = store.touch_device(&device.device_id, now) {
            tracing::warn!(device = %device.device_id, error = %e, "last-seen not recorded");
        }
        let actor_of = |id: &str| uuid_bytes::parse(id).map(|b| ActorId::from(&b[..]));
        let mut actors: Vec<ActorId> = actor_of(&device.device_id).into_iter().collect();
        actors.extend(
            store
                .user_devices(&device.user_id)?
                .iter()
                .filter_map(|id| actor_of(id)),
        );
        Ok(Session {
            pusher: Pusher(Arc::new((
                device.principal(),
                actors,
                device.device_id.clone(),
            ))),
            device,
            cursors: BTreeMap::new(),
        })
    }

    /// What judges this session's pushes; cheap to clone and `'static`, so a push can run on a blocking thread.
    pub fn pusher(&self) -> Pusher {
        self.pusher.clone()
    }

    /// The buckets this session holds now.
    pub fn buckets(&self) -> Vec<String> {
        self.cursors.keys().cloned().collect()
    }

    pub fn holds(&self, bucket: &str) -> bool {
        self.cursors.contains_key(bucket)
    }

    pub fn cursor_list(&self) -> Vec<Cursor> {
        self.cursors
            .iter()
            .map(|(bucket, seq)| Cursor {
                bucket: bucket.clone(),
                seq: *seq,
            })
            .collect()
    }

    /// Answers `Hello`: the `Welcome` naming the buckets the server decides this device holds, and one pager per
    /// bucket to run in order. Cursors for anything else the client names are ignored.
    ///
    /// The user's roles and teams, and the team the device works in, are read again here, not taken from the
    /// sign-in: a change made between the connection's authentication and its `Hello` (or while the connection was
    /// busy) is never missed.
    pub fn hello<S: Store>(
        &mut self,
        store: &S,
        cursors: &[Cursor],
    ) -> Result<(ServerMsg, Vec<Pager>)> {
        self.set_memberships(store.memberships(&self.device.user_id)?);
        // The team the device works in, read again too: the user may have moved this device to another team.
        if let Some((id, name)) = store.device_team(&self.device.device_id)? {
            self.device.team_id = id;
            self.device.team_name = name;
        }
        let members = store.members(&self.device.team_id)?;
        let buckets = self.pusher.0 .0.subscriptions();
        let d = &self.device;
        let welcome = ServerMsg::Welcome {
            user_id: d.user_id.clone(),
            user_name: d.user_name.clone(),
            role: d.roles_here(),
            team_id: d.team_id.clone(),
            team_name: d.team_name.clone(),
            device_id: d.device_id.clone(),
            buckets: buckets.clone(),
            members,
        };
        self.cursors = buckets
            .iter()
            .map(|b| {
                let seq = cursors
                    .iter()
                    .find(|c| &c.bucket == b)
                    .map(|c| c.seq)
                    .unwrap_or(0);
                (b.clone(), seq)
            })
            .collect();
        let pagers = buckets
            .into_iter()
            .map(|bucket| {
                let fresh = self.cursors[&bucket] == 0;
                Pager {
                    bucket,
                    snapshot: fresh.then(|| (u64::MAX, 0, String::new())),
                    drained: false,
                    done: false,
                }
            })
            .collect();
        Ok((welcome, pagers))
    }

    /// A pager that sends the bucket's log after the device's cursor (a bucket moved).
    pub fn catch_up(&self, bucket: &str) -> Pager {
        Pager {
            bucket: bucket.to_string(),
            snapshot: None,
            drained: false,
            done: !self.cursors.contains_key(bucket),
        }
    }

    /// The next message of a pager, or `None` when it is done. A device with nothing of a bucket gets a snapshot
    /// (each document's saved bytes, in pages) whose cursor is the log position taken before the first page, so
    /// anything committed while paging is sent again from the log (applying it twice changes nothing); then the
    /// log after its cursor in pages, then `CaughtUp`.
    pub fn next<S: Store>(&mut self, store: &S, pager: &mut Pager) -> Result<Option<ServerMsg>> {
        if pager.done {
            return Ok(None);
        }
        let bucket = pager.bucket.clone();
        if let Some((upto, total, after)) = pager.snapshot.as_mut() {
            if *upto == u64::MAX {
                *upto = store.high_water(&bucket)?;
                *total = store.bucket_size(&bucket)?;
            }
            if *upto > 0 {
                let mut page = store.snapshot_page(&bucket, after, PAGE)?;
                let cut = liveline_sync::cut_page(&mut page, |(id, bytes)| id.len() + bytes.len());
                let last = page.len() < PAGE && !cut;
                *after = page.last().map(|d| d.0.clone()).unwrap_or_default();
                let msg = ServerMsg::Snapshot {
                    bucket: bucket.clone(),
                    docs: page,
                    upto: *upto,
                    last,
                    total: *total,
                };
                if last {
                    let upto = *upto;
                    self.cursors.insert(bucket, upto);
                    pager.snapshot = None;
                }
                return Ok(Some(msg));
            }
            pager.snapshot = None;
        }
        let cursor = self.cursors.get(&bucket).copied().unwrap_or(0);
        let mut entries = if pager.drained {
            Vec::new()
        } else {
            store.read_log(&bucket, cursor, PAGE)?
        };
        let cut = liveline_sync::cut_page(&mut entries, liveline_sync::Entry::size);
        if let Some(last) = entries.last() {
            let upto = last.seq;
            pager.drained = entries.len() < PAGE && !cut;
            self.cursors.insert(bucket.clone(), upto);
            return Ok(Some(ServerMsg::Changes {
                bucket,
                entries,
                upto,
            }));
        }
        pager.done = true;
        Ok(Some(ServerMsg::CaughtUp {
            bucket,
            seq: cursor,
        }))
    }

    fn set_memberships(&mut self, memberships: Vec<liveline_domain::policy::Membership>) {
        self.device.memberships = memberships;
        let (_, actors, device_id) = &*self.pusher.0;
        self.pusher = Pusher(Arc::new((
            self.device.principal(),
            actors.clone(),
            device_id.clone(),
        )));
    }
}

/// Locks taken by a push for the documents it touches, by a hash of their ids. Striped: two documents may share a
/// lock, which only makes their pushes take turns.
static TURNS: [Mutex<()>; 64] = [const { Mutex::new(()) }; 64];

/// Takes the locks of these documents, in one order (so two pushes never wait on each other crosswise).
fn doc_turns<'a>(ids: impl Iterator<Item = &'a str>) -> Vec<MutexGuard<'static, ()>> {
    let mut stripes: Vec<usize> = ids
        .map(|id| {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            std::hash::Hash::hash(id, &mut h);
            (std::hash::Hasher::finish(&h) % TURNS.len() as u64) as usize
        })
        .collect();
    stripes.sort_unstable();
    stripes.dedup();
    stripes
        .into_iter()
        .map(|i| TURNS[i].lock().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

/// One document's push judged on the document as it was: its heads then (`None`: it did not exist), and the
/// outcome.
struct Judged {
    heads: Option<Vec<ChangeHash>>,
    out: IngestOutcome,
}

impl Judged {
    fn is_part(&self) -> bool {
        let kind = |m: &Option<RecordMeta>| m.as_ref().map(|m| m.kind);
        kind(&self.out.meta_after) == Some(DocKind::RecordPart)
            || kind(&self.out.meta_before) == Some(DocKind::RecordPart)
            || self.out.refused.iter().any(|r| r.1 == "record")
    }

    /// `load` reads a committed document (the team's published form, for a record's field rules).
    fn of(
        doc_id: &str,
        mut before: Option<AutoCommit>,
        changes: &[Vec<u8>],
        principal: &Principal,
        actors: &[ActorId],
        load: &dyn Fn(&str) -> Option<AutoCommit>,
    ) -> Judged {
        let heads = before.as_mut().map(|b| b.get_heads());
        let values_before = before.as_ref().map(liveline_forms::record::read_values);
        let mut out = ingest(before, changes, principal, actors);
        // A document lives at the id its kind allows: nobody takes a team's form, flow, rules or part id first.
        if let Some(Err((path, error))) = out
            .doc
            .as_ref()
            .map(|d| liveline_forms::ids::check(doc_id, d))
        {
            refuse_accepted(&mut out, path, error);
        }
        check_record_writes(doc_id, values_before, &mut out, principal, load);
        check_stored_values(&mut out);
        Judged { heads, out }
    }
}

/// A record's field rules, held on the server: every value a push changes must be one the pusher's roles may write
/// in the team's form as it is now (a rep may not fill the warehouse's tracking number). A push that breaks one is
/// refused whole, naming the field; its author's device takes the change back.
fn check_record_writes(
    doc_id: &str,
    before: Option<liveline_forms::Values>,
    out: &mut IngestOutcome,
    principal: &Principal,
    load: &dyn Fn(&str) -> Option<AutoCommit>,
) {
    use liveline_domain::doc::read_str;
    use liveline_forms::{builtin, defs, Form};
    let Some(doc) = out.doc.as_ref() else { return };
    let Some(meta) = out.meta_after.as_ref() else {
        return;
    };
    if !matches!(meta.kind, DocKind::Record | DocKind::RecordPart) {
        return;
    }
    let part = meta.kind == DocKind::RecordPart;
    let (Some(team), form_id) = (read_str(doc, "team"), read_str(doc, "form")) else {
        return;
    };
    let form_id = form_id.unwrap_or_default();
    let def = defs::published(DocKind::FormDef, &team, &form_id, load)
        .and_then(|d| defs::read(&d))
        .or_else(|| builtin::forms().into_iter().find(|f| f.id == form_id));
    let after = liveline_forms::record::read_values(doc);
    let verdict = match def.map(|d| Form::compile(&d)) {
        Some(Ok(form)) => {
            let roles: Vec<String> = principal
                .memberships
                .iter()
                .filter(|m| m.team == team)
                .flat_map(|m| m.roles.iter().map(|r| r.code().to_string()))
                .collect();
            let readers = part.then(|| Role::join(&meta.readers));
            let placed = if part {
                check_part_placement(doc_id, out, &form, &form_id, load)
            } else {
                Ok(())
            };
            placed.and_then(|_| {
                liveline_forms::record::check_writes(
                    &form,
                    readers.as_deref(),
                    &before.unwrap_or_default(),
                    &after,
                    &roles,
                )
            })
        }
        // Values under a form the team does not have (or cannot use) are not stored, nor a part without one.
        _ if !after.is_empty() || part => Err((
            "form".to_string(),
            AppError::new(codes::DEF_FLOW_FORM).with("form", form_id),
        )),
        _ => Ok(()),
    };
    if let Err((path, error)) = verdict {
        refuse_accepted(out, path, error);
    }
}

/// What a device stores is the server's to check, whatever the app would have let through: a lead, task or live
/// session holds only its kind's fields (`field.unknown`), and a lead's changed fields hold what the capture form
/// could have stored, refused with the code the form shows (`lead.phone.invalid`, `field.required`, …).
fn check_stored_values(out: &mut IngestOutcome) {
    let (Some(doc), Some(meta)) = (out.doc.as_ref(), out.meta_after.as_ref()) else {
        return;
    };
    let Some(keys) = liveline_domain::doc::allowed_keys(meta.kind) else {
        return;
    };
    if let Some(k) = out.changed_fields.iter().find(|k| !keys.contains(k)) {
        let (path, e) = (
            k.clone(),
            AppError::new(codes::FIELD_UNKNOWN).with("field", k.clone()),
        );
        return refuse_accepted(out, path, e);
    }
    if meta.kind != DocKind::Lead {
        return;
    }
    let verdict = match liveline_domain::Lead::load(doc) {
        Ok(lead) => lead
            .check_stored(&out.changed_fields)
            .map_err(|e| (e.field, e.error)),
        // A lead that does not read as one (a number where a text goes) no device could show.
        Err(_) => Err((String::new(), AppError::new(codes::VALUE_SHAPE))),
    };
    if let Err((path, error)) = verdict {
        refuse_accepted(out, path, error);
    }
}

/// Refuses every change ingestion accepted, naming the field and reason; the document stays as it was.
fn refuse_accepted(out: &mut IngestOutcome, path: String, error: AppError) {
    if out.accepted.is_empty() {
        return;
    }
    let hashes: Vec<_> = out.accepted.drain(..).map(|a| a.0).collect();
    out.refused.push((hashes, path, error));
    out.doc = None;
    out.saved = None;
    out.meta_after = out.meta_before.clone();
    out.changed_fields.clear();
}

/// A record's hidden part must stay with its record: the record exists in the same team with the same form, the
/// part's readers are a set of readers the form has, and the people it names are people the record names (the
/// server then names them all). A part that names another record, or people its record does not, would reach
/// devices the record does not.
fn check_part_placement(
    doc_id: &str,
    out: &IngestOutcome,
    form: &liveline_forms::Form,
    form_id: &str,
    load: &dyn Fn(&str) -> Option<AutoCommit>,
) -> std::result::Result<(), (String, AppError)> {
    use liveline_domain::doc::read_str;
    let (Some(doc), Some(meta)) = (out.doc.as_ref(), out.meta_after.as_ref()) else {
        return Ok(());
    };
    let refuse = |path: &str, code: &str| Err((path.to_string(), AppError::new(code)));
    let record = read_str(doc, "record").unwrap_or_default();
    let Some(parent) = load(&record) else {
        return refuse("record", codes::NOT_VISIBLE);
    };
    let Ok(parent_meta) = RecordMeta::read(&parent) else {
        return refuse("record", codes::NOT_VISIBLE);
    };
    if parent_meta.kind != DocKind::Record
        || parent_meta.team != meta.team
        || read_str(&parent, "form").as_deref() != Some(form_id)
    {
        return refuse("record", codes::NOT_VISIBLE);
    }
    // The part's id follows from its record and readers: one part per record and readers, on every device.
    if liveline_forms::record::part_id(&record, &Role::join(&meta.readers)) != doc_id {
        return refuse("record", codes::NOT_VISIBLE);
    }
    if !form.hidden_parts().contains_key(&Role::join(&meta.readers)) {
        return refuse("readers", codes::READERS_CHANGE_FORBIDDEN);
    }
    let named = liveline_domain::policy::record_people(&parent_meta);
    if meta.staff.iter().any(|p| !named.contains(p)) {
        return refuse("people", codes::SERVER_FIELD);
    }
    Ok(())
}

/// Judges one device's pushes: the user (with memberships), the automerge actors it may push changes of (this
/// device's and the user's earlier devices'), and the device id for the audit log.
#[derive(Clone)]
pub struct Pusher(Arc<(Principal, Vec<ActorId>, String)>);

impl Pusher {
    /// Judges a push and commits what is accepted (with the automations it sets off) in one write. `now` is the
    /// server's clock, passed in so a simulation can run on its own time.
    ///
    /// Each document is judged first on its latest committed state, outside the writer (pushes to different
    /// documents are judged side by side); inside, the judgement stands if the document has not moved since and is
    /// made again otherwise, so the writer is held only for the automations and the commit.
    pub fn push<S: Store>(&self, store: &S, docs: Vec<DocChanges>, now: i64) -> Result<Pushed> {
        let (principal, actors, device_id) = &*self.0;
        // Two pushes to one document take turns from here to their commit, so the judgement made outside the
        // writer does not go stale in the writer's queue (when it does all the same, through an automation or the
        // sweep, it is made again inside).
        let _turns = doc_turns(docs.iter().map(|d| d.doc.as_str()));
        let judged: Vec<(DocChanges, Option<Judged>)> = docs
            .into_iter()
            .map(|d| {
                let early = if liveline_forms::ids::canonical(&d.doc).is_some() {
                    store.latest_doc(&d.doc).ok().map(|before| {
                        Judged::of(&d.doc, before, &d.changes, principal, actors, &|id| {
                            store.latest_doc(id).ok().flatten()
                        })
                    })
                } else {
                    None
                };
                (d, early)
            })
            .collect();
        // Parts sent in this push, as judged on the committed state: a decision on their record in the same push
        // was taken on these values (the category lead fills the cost, then approves).
        let pushed_parts: std::collections::HashMap<String, AutoCommit> = judged
            .iter()
            .filter_map(|(d, j)| {
                let j = j.as_ref()?;
                j.is_part()
                    .then(|| j.out.doc.clone().map(|doc| (d.doc.clone(), doc)))
                    .flatten()
            })
            .collect();
        let ((replies, events), touched) = store.write(
            |reader| {
                let mut commits = Vec::new();
                let mut replies = Vec::new();
                // Revoked while this push waited (the news may not have reached the connection): nothing is
                // stored, and the device is told so for good.
                if reader.device_revoked(device_id).unwrap_or(true) {
                    replies.push(ServerMsg::Error {
                        error: AppError::new(codes::DEVICE_REVOKED),
                        fatal: true,
                    });
                    return (commits, (replies, Vec::new()));
                }
                let mut auto = Automations::new(reader, now);
                for (d, early) in judged {
                    if liveline_forms::ids::canonical(&d.doc).is_none() {
                        let (path, error) = liveline_forms::ids::bad_id(&d.doc);
                        replies.push(ServerMsg::Refused {
                            doc: d.doc.chars().take(64).collect(),
                            hashes: Vec::new(),
                            path,
                            error,
                        });
                        continue;
                    }
                    let j = match (early, auto.heads(&d.doc)) {
                        // A record's part is judged against its record, which may come in this same push: again
                        // here, where the record as this write stores it is seen.
                        (Some(j), Ok(heads)) if j.heads == heads && !j.is_part() => j,
                        _ => {
                            let before = auto.load(&d.doc).ok().flatten();
                            let reader = &auto;
                            Judged::of(&d.doc, before, &d.changes, principal, actors, &|id| {
                                reader.load(id).ok().flatten()
                            })
                        }
                    };
                    let (created, mut out) = (j.heads.is_none(), j.out);
                    // Every decision a record gains is worked out again by its flow, here where the write's view
                    // of the record's parts and the team is seen.
                    let record = out.meta_after.as_ref().map(|m| m.kind) == Some(DocKind::Record);
                    let flow_fields = ["decisions", "form", "flow", "flow_version"];
                    let touches_flow = out.changed_fields.iter().any(|f| flow_fields.contains(&f.as_str()));
                    if let (true, true, Some(doc)) = (record, touches_flow, out.doc.as_mut()) {
                        let hashes: Vec<_> = out.accepted.iter().map(|a| a.0).collect();
                        match auto.judge_decisions(&d.doc, doc, &hashes, &pushed_parts) {
                            Ok(Ok(())) => {}
                            Ok(Err((path, error))) => refuse_accepted(&mut out, path, error),
                            Err(e) => {
                                tracing::error!(doc = %d.doc, error = %e, "judging a record's decisions failed");
                                refuse_accepted(&mut out, String::new(), e.to_app_error());
                            }
                        }
                    }
                    // A lead is given only to a member of its team.
                    let owner = out
                        .meta_after
                        .as_ref()
                        .filter(|m| m.kind == DocKind::Lead && !m.owner.is_empty())
                        .filter(|_| out.changed_fields.iter().any(|f| f == "owner"))
                        .map(|m| (m.team.clone(), m.owner.clone()));
                    if let Some((team, owner)) = owner {
                        match auto.is_member(&team, &owner) {
                            Ok(true) => {}
                            Ok(false) => refuse_accepted(
                                &mut out,
                                "owner".into(),
                                AppError::new(codes::OWNER_UNKNOWN),
                            ),
                            Err(e) => refuse_accepted(&mut out, "owner".into(), e.to_app_error()),
                        }
                    }
                    // The automations need only who owned a lead before (`None`: it is new).
                    let owner_before = out
                        .meta_before
                        .as_ref()
                        .filter(|m| m.kind == DocKind::Lead)
                        .map(|m| m.owner.clone());
                    let mut acked = out.duplicates.clone();
                    acked.extend(out.accepted.iter().map(|a| a.0));
                    if !acked.is_empty() {
                        replies.push(ServerMsg::Ack {
                            doc: d.doc.clone(),
                            hashes: acked,
                        });
                    }
                    for (hashes, path, error) in out.refused {
                        tracing::info!(doc = %d.doc, code = %error.code, path = %path, "change refused");
                        replies.push(ServerMsg::Refused {
                            doc: d.doc.clone(),
                            hashes,
                            path,
                            error,
                        });
                    }
                    for (hashes, missing) in out.missing {
                        replies.push(ServerMsg::MissingDeps {
                            doc: d.doc.clone(),
                            hashes,
                            missing,
                        });
                    }
                    let saved = out.saved;
                    if let (Some(mut doc), Some(meta)) = (out.doc, out.meta_after) {
                        let mut changes: Vec<Vec<u8>> =
                            out.accepted.into_iter().map(|a| a.1).collect();
                        let mut assignment = None;
                        let mut index = None;
                        if meta.kind == DocKind::Lead {
                            match auto.after_lead(
                                &d.doc,
                                &mut doc,
                                owner_before.as_deref(),
                                &principal.user_id,
                            ) {
                                Ok(o) => {
                                    changes.extend(o.change);
                                    assignment = o.assignment;
                                    index = o.index;
                                    commits.extend(o.extra);
                                }
                                // The lead is stored all the same; only the automation is missed.
                                Err(e) => {
                                    tracing::error!(doc = %d.doc, error = %e, "lead automation failed")
                                }
                            }
                        }
                        if meta.kind == DocKind::Record {
                            match auto.after_record(&d.doc, &mut doc) {
                                Ok(o) => {
                                    changes.extend(o.change);
                                    commits.extend(o.extra);
                                }
                                // The record is stored all the same; its approvers are placed on its next change.
                                Err(e) => {
                                    tracing::error!(doc = %d.doc, error = %e, "record automation failed")
                                }
                            }
                        }
                        if meta.kind == DocKind::RecordPart {
                            match auto.after_part(&mut doc) {
                                Ok(c) => changes.extend(c),
                                Err(e) => {
                                    tracing::error!(doc = %d.doc, error = %e, "placing a record's part failed")
                                }
                            }
                        }
                        let audit = AuditNote {
                            user_id: principal.user_id.clone(),
                            created,
                            fields: out.changed_fields,
                        };
                        let c = DocCommit::of_saved(&d.doc, &mut doc, changes, Some(audit), saved, index);
                        if let Some(mut c) = c {
                            c.assignment = assignment;
                            commits.push(c);
                            auto.wrote(&d.doc, &doc);
                        }
                    }
                }
                let events = std::mem::take(&mut auto.events);
                (commits, (replies, events))
            },
            Some(device_id),
            now,
        )?;
        Ok(Pushed {
            replies,
            events,
            touched: touched.into_iter().map(|(b, _)| b).collect(),
        })
    }
}
