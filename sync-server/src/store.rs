//! The server's storage behind a small trait, with the embedded SQLite engine.
//!
//! One writer connection judges and commits pushes under a lock, so a document is never read and written by two
//! pushes at once; readers use their own connections (WAL). An acknowledged change is committed with
//! `synchronous=FULL` before the ack leaves.

use std::path::Path;
use std::sync::Mutex;

use std::collections::HashMap;

use automerge::{AutoCommit, ChangeHash};
use include_dir::{include_dir, Dir};
use liveline_domain::assign::Load;
use liveline_domain::policy::{Membership, Principal, Role};
use liveline_domain::{buckets_for, DocKind, Lead, RecordMeta, Task};
use liveline_sync::{Entry, EntryOp};
use liveline_types::{
    codes, AdminDeviceView, AdminUserView, AppError, AuditEntryView, AuditQuery, MemberView,
};
use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::Migrations;

static MIGRATIONS: Dir = include_dir!("$CARGO_MANIFEST_DIR/migrations/sqlite");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
}

impl StoreError {
    /// What a device is told: the server could not store it (the device keeps it and sends it again).
    pub fn to_app_error(&self) -> AppError {
        AppError::new(codes::SERVER_STORAGE)
    }
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// Reader connections the store lends out at once.
pub const MAX_READERS: usize = 8;

/// A stored document's bytes, loaded (a document that does not load counts as absent, as it always has).
fn hydrate(bytes: Option<Vec<u8>>) -> Option<AutoCommit> {
    bytes.and_then(|b| AutoCommit::load(&b).ok())
}

/// Locks a mutex of the store. A panic while it was held (automerge on hostile input, say) does not make it
/// unusable: a SQLite transaction rolls back when dropped, and the caches are filled only after a commit.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An authenticated device and its user.
#[derive(Clone, Debug)]
pub struct DeviceAuth {
    pub device_id: String,
    pub user_id: String,
    pub user_name: String,
    pub email: String,
    /// The team a new device starts in (the user's first team).
    pub team_id: String,
    pub team_name: String,
    /// Every team the user belongs to, with the roles held there.
    pub memberships: Vec<Membership>,
}

impl DeviceAuth {
    pub fn principal(&self) -> Principal {
        Principal {
            user_id: self.user_id.clone(),
            memberships: self.memberships.clone(),
        }
    }

    /// The roles in the device's team, as the comma-separated codes the device shows.
    pub fn roles_here(&self) -> String {
        Role::join(self.principal().roles_in(&self.team_id))
    }

    pub fn is_admin_of(&self, team: &str) -> bool {
        self.principal().roles_in(team).contains(&Role::Admin)
    }
}

/// Who made an accepted push, for the audit log.
#[derive(Clone, Debug)]
pub struct AuditNote {
    pub user_id: String,
    pub created: bool,
    pub fields: Vec<String>,
}

/// What one accepted push writes for one document.
pub struct DocCommit {
    pub doc_id: String,
    pub meta: RecordMeta,
    pub bytes: Vec<u8>,
    pub changes: Vec<Vec<u8>>,
    /// `None` for the server's own writes (seeding, placement upgrades).
    pub audit: Option<AuditNote>,
    /// The fields the automations look up, kept in `lead_index` / `task_index`.
    pub index: DocIndex,
    /// A rule gave this lead to someone: `(rule, user)`, recorded in `assignments`.
    pub assignment: Option<(String, String)>,
    /// The document itself, kept in the store's cache once committed (the next push to it skips loading).
    pub doc: Option<AutoCommit>,
}

impl DocCommit {
    /// The commit of `doc` as it is now, with `changes` to log; `None` when the document is not a record.
    pub fn of(
        doc_id: &str,
        doc: &mut AutoCommit,
        changes: Vec<Vec<u8>>,
        audit: Option<AuditNote>,
    ) -> Option<DocCommit> {
        Self::of_saved(doc_id, doc, changes, audit, None, None)
    }

    /// Like [`DocCommit::of`], reusing `saved` (heads, bytes) when the document still has those heads, and `index`
    /// when the caller already read it from the document as it is.
    pub fn of_saved(
        doc_id: &str,
        doc: &mut AutoCommit,
        changes: Vec<Vec<u8>>,
        audit: Option<AuditNote>,
        saved: Option<(Vec<automerge::ChangeHash>, Vec<u8>)>,
        index: Option<DocIndex>,
    ) -> Option<DocCommit> {
        let meta = RecordMeta::read(doc).ok()?;
        let bytes = match saved {
            Some((heads, bytes)) if heads == doc.get_heads() => bytes,
            _ => doc.save_nocompress(),
        };
        Some(DocCommit {
            doc_id: doc_id.to_string(),
            index: index.unwrap_or_else(|| DocIndex::of(meta.kind, doc)),
            meta,
            bytes,
            changes,
            audit,
            assignment: None,
            doc: Some(doc.clone()),
        })
    }
}

/// What the server's lookups need from a record, beyond its placement.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum DocIndex {
    #[default]
    None,
    Lead {
        open: bool,
        phone: String,
        email: String,
        created_at: i64,
    },
    Task {
        task_type: String,
        open: bool,
        due_at: i64,
        snoozed_until: i64,
        escalated_at: i64,
    },
    /// A form record: when its waiting step's time limit passes (0: none), as the server last wrote it.
    Record { due_at: i64 },
}

impl DocIndex {
    pub fn of_lead(l: &Lead) -> DocIndex {
        DocIndex::Lead {
            open: liveline_types::LeadStatus::is_open_code(&l.status),
            phone: l.phone.clone(),
            email: l.email.to_lowercase(),
            created_at: l.created_at,
        }
    }

    pub fn of(kind: DocKind, doc: &AutoCommit) -> DocIndex {
        match kind {
            DocKind::Lead => match Lead::load(doc) {
                Ok(l) => DocIndex::of_lead(&l),
                Err(_) => DocIndex::None,
            },
            DocKind::Task => match Task::load(doc) {
                Ok(t) => DocIndex::Task {
                    open: t.is_open(),
                    task_type: t.task_type,
                    due_at: t.due_at,
                    snoozed_until: t.snoozed_until,
                    escalated_at: t.escalated_at,
                },
                Err(_) => DocIndex::None,
            },
            DocKind::Record => DocIndex::Record {
                due_at: match automerge::ReadDoc::get(doc, automerge::ROOT, "due_at") {
                    Ok(Some((automerge::Value::Scalar(s), _))) => s.as_i64().unwrap_or(0),
                    _ => 0,
                },
            },
            _ => DocIndex::None,
        }
    }
}

/// A group-bot webhook of a team.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookRow {
    pub id: String,
    /// `wecom`, `dingtalk`, `feishu` or `generic`.
    pub kind: String,
    pub url: String,
    pub secret: String,
}

/// A user row, for sign-in.
pub struct UserRow {
    pub id: String,
    pub team_id: String,
    pub password_hash: String,
}

/// The operations the server needs from storage. SQLite implements it; other engines can.
pub trait Store: Send + Sync + 'static {
    fn create_team(&self, id: &str, name: &str) -> Result<()>;
    /// Creates a user in `team` with `roles` (comma-separated codes). Fails on a taken e-mail.
    fn create_user(
        &self,
        id: &str,
        team: &str,
        email: &str,
        name: &str,
        roles: &str,
        hash: &str,
    ) -> Result<()>;
    /// Sets a user's roles in a team; an empty list removes them from it. Returns whether the user exists.
    fn set_roles(&self, user: &str, team: &str, roles: &str) -> Result<bool>;
    fn memberships(&self, user: &str) -> Result<Vec<Membership>>;
    fn users(&self, team: &str) -> Result<Vec<AdminUserView>>;
    fn devices(&self, team: &str) -> Result<Vec<AdminDeviceView>>;
    fn touch_device(&self, device: &str, now: i64) -> Result<()>;
    fn audit(&self, team: &str, q: &AuditQuery) -> Result<Vec<AuditEntryView>>;
    /// Re-places every document by the current placement rules (after the rules changed), logging entries and
    /// removals as for any write. Returns how many documents moved.
    fn replace_all(&self, now: i64) -> Result<u64>;
    fn user_by_email(&self, email: &str) -> Result<Option<UserRow>>;
    fn add_device(
        &self,
        id: &str,
        user: &str,
        name: &str,
        token_hash: &[u8],
        now: i64,
    ) -> Result<()>;
    fn device_by_token(&self, token_hash: &[u8]) -> Result<Option<(DeviceAuth, bool)>>;
    /// Moves a device to another of its user's teams (the caller checks the membership).
    fn set_device_team(&self, device: &str, team: &str) -> Result<()>;
    /// The team a device works in now, with its name: the one it moved to while the user is still a member there,
    /// else the user's first team.
    fn device_team(&self, device: &str) -> Result<Option<(String, String)>>;
    /// Every team the user belongs to: `(id, name, roles)`, the user's first team first.
    fn teams_of(&self, user: &str) -> Result<Vec<(String, String, String)>>;
    fn revoke_device(&self, id: &str, now: i64) -> Result<bool>;
    /// Whether the device was revoked (or is unknown): a connection that missed news reads it again.
    fn device_revoked(&self, id: &str) -> Result<bool>;
    /// Every device the user ever signed in with, revoked or not.
    fn user_devices(&self, user: &str) -> Result<Vec<String>>;
    fn members(&self, team: &str) -> Result<Vec<MemberView>>;
    fn team_count(&self) -> Result<u64>;
    /// Runs `f` with exclusive write access: it may load documents and must return what to commit.
    fn write<T>(
        &self,
        f: impl FnOnce(&dyn DocReader) -> (Vec<DocCommit>, T),
        device: Option<&str>,
        now: i64,
    ) -> Result<(T, Vec<(String, u64)>)>;
    fn read_log(&self, bucket: &str, after: u64, limit: usize) -> Result<Vec<Entry>>;
    fn high_water(&self, bucket: &str) -> Result<u64>;
    fn snapshot_page(
        &self,
        bucket: &str,
        after_doc: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>>;
    fn bucket_size(&self, bucket: &str) -> Result<u64>;
    fn doc(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// The document as last committed, hydrated (from the cache where it is there), read outside any write: a
    /// push is judged on it before taking the writer, and judged again inside only if the document moved since.
    fn latest_doc(&self, id: &str) -> Result<Option<AutoCommit>> {
        Ok(hydrate(self.doc(id)?))
    }
    fn integrity_ok(&self) -> Result<bool>;
    fn webhooks(&self, team: &str) -> Result<Vec<WebhookRow>>;
    /// Replaces the team's webhooks.
    fn set_webhooks(&self, team: &str, hooks: &[WebhookRow], now: i64) -> Result<()>;
    /// Notes the outcome of a delivery (`error` empty when it went through).
    fn webhook_delivered(&self, id: &str, at: i64, error: &str) -> Result<()>;
    /// `(last_at, last_error)` of each of the team's hooks, by id.
    fn webhook_status(&self, team: &str) -> Result<Vec<(String, i64, String)>>;
}

/// Reads inside a write: documents, and what the automations look up.
pub trait DocReader {
    fn load(&self, id: &str) -> Result<Option<Vec<u8>>>;
    /// The document, hydrated (from a cache where the store keeps one).
    fn load_doc(&self, id: &str) -> Result<Option<AutoCommit>> {
        Ok(hydrate(self.load(id)?))
    }
    /// The document's heads as committed (`None`: no such document), without handing out a copy where it can.
    fn heads(&self, id: &str) -> Result<Option<Vec<ChangeHash>>> {
        Ok(self.load_doc(id)?.map(|mut d| d.get_heads()))
    }
    /// The team's assignment-rules document `(id, bytes)`, if it has one.
    fn rules_doc(&self, team: &str) -> Result<Option<(String, Vec<u8>)>>;
    /// The team's members with their roles there.
    fn team_roles(&self, team: &str) -> Result<Vec<(String, Vec<Role>)>>;
    /// Whether the device was revoked (or is unknown), as committed: a push checks it inside its write.
    fn device_revoked(&self, device: &str) -> Result<bool>;
    /// Open leads per owner and what each rule gave to whom, as committed.
    fn load_of(&self, team: &str) -> Result<Load>;
    /// The oldest other lead of the team with this phone or e-mail: `(id, owner)`.
    fn duplicate_of(
        &self,
        team: &str,
        phone: &str,
        email: &str,
        not: &str,
    ) -> Result<Option<(String, String)>>;
    /// Open first-contact tasks past their deadline at `now` and not yet escalated.
    fn overdue_tasks(&self, now: i64, limit: usize) -> Result<Vec<String>>;
    /// Form records whose waiting step's time limit has passed at `now`.
    fn overdue_records(&self, now: i64, limit: usize) -> Result<Vec<String>>;
}

pub struct SqliteStore {
    writer: Mutex<Connection>,
    /// Idle reader connections, and how many are lent out: at most [`MAX_READERS`] at once, so a burst of reads
    /// waits its turn instead of opening a connection (and a file) each.
    readers: Mutex<(Vec<Connection>, usize)>,
    reader_free: std::sync::Condvar,
    path: std::path::PathBuf,
    /// The newest log entries of each bucket, so connections woken by a commit read them from memory.
    tails: Mutex<Tails>,
    /// Recently written documents, hydrated: the next push to the same document skips loading and verifying it.
    docs: Mutex<HashMap<String, AutoCommit>>,
}

/// Log entries per bucket kept in memory after their commit. A bucket's tail holds every entry after `from`
/// (contiguously), so a read after `from` is answered from it; older reads go to SQLite.
#[derive(Default)]
struct Tails {
    by_bucket: HashMap<String, Tail>,
    entries: usize,
}

struct Tail {
    from: u64,
    entries: std::collections::VecDeque<Entry>,
}

/// Entries kept per bucket, and in all; past the total, every tail is dropped and rebuilt from new commits.
const TAIL_PER_BUCKET: usize = 256;
const TAIL_TOTAL: usize = 200_000;
/// Hydrated documents kept; past this, the cache starts over.
const DOC_CACHE: usize = 2_000;

fn open(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    Ok(conn)
}

impl SqliteStore {
    /// A copy of the document from the cache of committed documents, if it is there.
    fn cached(&self, id: &str) -> Option<AutoCommit> {
        lock(&self.docs).get(id).cloned()
    }

    /// Opens (creating if needed) the store in `dir/liveline-server.sqlite3` and migrates it forward.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = dir.join("liveline-server.sqlite3");
        let mut writer = open(&path)?;
        Migrations::from_directory(&MIGRATIONS)?.to_latest(&mut writer)?;
        let placement: Option<String> = writer
            .query_row(
                "SELECT value FROM server_meta WHERE key = 'placement'",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let store = Self {
            writer: Mutex::new(writer),
            readers: Mutex::new((Vec::new(), 0)),
            reader_free: std::sync::Condvar::new(),
            path,
            tails: Mutex::default(),
            docs: Mutex::default(),
        };
        if placement.as_deref() != Some(PLACEMENT_VERSION.to_string().as_str()) {
            let moved = store.replace_all(crate::now_ms())?;
            lock(&store.writer).execute(
                "INSERT INTO server_meta (key, value) VALUES ('placement', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = ?1",
                [PLACEMENT_VERSION.to_string()],
            )?;
            if moved > 0 {
                tracing::info!(
                    documents = moved,
                    version = PLACEMENT_VERSION,
                    "documents re-placed by the current access rules"
                );
            }
        }
        Ok(store)
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let idle = {
            let mut pool = lock(&self.readers);
            loop {
                if let Some(c) = pool.0.pop() {
                    pool.1 += 1;
                    break Some(c);
                }
                if pool.1 < MAX_READERS {
                    pool.1 += 1;
                    break None;
                }
                pool = self
                    .reader_free
                    .wait(pool)
                    .unwrap_or_else(|p| p.into_inner());
            }
        };
        // Gives the slot back (and the connection, while the pool has room), waking one waiting reader.
        let release = |conn: Option<Connection>| {
            let mut pool = lock(&self.readers);
            pool.1 -= 1;
            if let Some(c) = conn.filter(|_| pool.0.len() < MAX_READERS) {
                pool.0.push(c);
            }
            drop(pool);
            self.reader_free.notify_one();
        };
        let conn = match idle {
            Some(c) => c,
            None => match open(&self.path) {
                Ok(c) => c,
                Err(e) => {
                    release(None);
                    return Err(e);
                }
            },
        };
        let out = f(&conn);
        release(Some(conn));
        out
    }
}

struct TxReader<'a>(&'a rusqlite::Transaction<'a>, &'a SqliteStore);

impl DocReader for TxReader<'_> {
    fn load(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .0
            .query_row("SELECT bytes FROM docs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?)
    }

    fn load_doc(&self, id: &str) -> Result<Option<AutoCommit>> {
        match self.1.cached(id) {
            Some(d) => Ok(Some(d)),
            None => Ok(hydrate(self.load(id)?)),
        }
    }

    fn heads(&self, id: &str) -> Result<Option<Vec<ChangeHash>>> {
        if let Some(d) = lock(&self.1.docs).get_mut(id) {
            return Ok(Some(d.get_heads()));
        }
        Ok(hydrate(self.load(id)?).map(|mut d| d.get_heads()))
    }

    fn rules_doc(&self, team: &str) -> Result<Option<(String, Vec<u8>)>> {
        // Only the team's own rules document counts (its id is fixed per team), never another copy.
        let id = liveline_domain::assign::rules_doc_id(team);
        Ok(self
            .0
            .prepare_cached(
                "SELECT id, bytes FROM docs WHERE id = ?1 AND team_id = ?2 AND kind = 'assignment_rules'",
            )?
            .query_row(params![id, team], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn device_revoked(&self, device: &str) -> Result<bool> {
        revoked_in(self.0, device)
    }

    fn team_roles(&self, team: &str) -> Result<Vec<(String, Vec<Role>)>> {
        let mut st = self.0.prepare_cached(
            "SELECT user_id, roles FROM memberships WHERE team_id = ?1 ORDER BY user_id",
        )?;
        let rows = st.query_map([team], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (u, roles) = row?;
            out.push((u, roles.split(',').filter_map(Role::from_code).collect()));
        }
        Ok(out)
    }

    fn load_of(&self, team: &str) -> Result<Load> {
        let mut load = Load::default();
        let mut st = self.0.prepare_cached(
            "SELECT owner, COUNT(*) FROM lead_index WHERE team_id = ?1 AND open = 1 AND owner != '' GROUP BY owner",
        )?;
        for row in st.query_map([team], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })? {
            let (owner, n) = row?;
            load.open_leads.insert(owner, n as u64);
        }
        let mut st = self.0.prepare_cached(
            "SELECT rule, user_id, COUNT(*), MAX(seq) FROM assignments WHERE team_id = ?1 GROUP BY rule, user_id",
        )?;
        for row in st.query_map([team], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, i64>(3)?,
            ))
        })? {
            let (rule, user, n, last) = row?;
            load.by_rule.insert((rule, user), (n as u64, last as u64));
        }
        load.seq = self
            .0
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM assignments", [], |r| {
                r.get::<_, i64>(0)
            })? as u64;
        Ok(load)
    }

    fn duplicate_of(
        &self,
        team: &str,
        phone: &str,
        email: &str,
        not: &str,
    ) -> Result<Option<(String, String)>> {
        let email = email.to_lowercase();
        Ok(self
            .0
            .prepare_cached(
                "SELECT doc_id, owner FROM lead_index
                 WHERE team_id = ?1 AND doc_id != ?4 AND ((?2 != '' AND phone = ?2) OR (?3 != '' AND email = ?3))
                 ORDER BY created_at, doc_id LIMIT 1",
            )?
            .query_row(params![team, phone, email, not], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn overdue_tasks(&self, now: i64, limit: usize) -> Result<Vec<String>> {
        let mut st = self.0.prepare_cached(
            "SELECT doc_id FROM task_index
             WHERE open = 1 AND escalated_at = 0 AND due_at > 0 AND due_at <= ?1
               AND task_type = 'first_contact'
             ORDER BY due_at LIMIT ?2",
        )?;
        let rows = st.query_map(params![now, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    fn overdue_records(&self, now: i64, limit: usize) -> Result<Vec<String>> {
        let mut st = self.0.prepare_cached(
            "SELECT doc_id FROM record_index WHERE due_at > 0 AND due_at <= ?1 ORDER BY due_at LIMIT ?2",
        )?;
        let rows = st.query_map(params![now, limit as i64], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }
}

impl Store for SqliteStore {
    fn create_team(&self, id: &str, name: &str) -> Result<()> {
        lock(&self.writer).execute(
            "INSERT INTO teams (id, name) VALUES (?1, ?2)",
            params![id, name],
        )?;
        Ok(())
    }

    fn create_user(
        &self,
        id: &str,
        team: &str,
        email: &str,
        name: &str,
        roles: &str,
        hash: &str,
    ) -> Result<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO users (id, team_id, email, name, password_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, team, email.trim().to_lowercase(), name, hash],
        )?;
        tx.execute(
            "INSERT INTO memberships (user_id, team_id, roles) VALUES (?1, ?2, ?3)",
            params![id, team, roles],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn set_roles(&self, user: &str, team: &str, roles: &str) -> Result<bool> {
        let conn = lock(&self.writer);
        let exists: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
            [user],
            |r| r.get(0),
        )?;
        if !exists {
            return Ok(false);
        }
        if roles.is_empty() {
            conn.execute(
                "DELETE FROM memberships WHERE user_id = ?1 AND team_id = ?2",
                params![user, team],
            )?;
        } else {
            conn.execute(
                "INSERT INTO memberships (user_id, team_id, roles) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id, team_id) DO UPDATE SET roles = ?3",
                params![user, team, roles],
            )?;
        }
        Ok(true)
    }

    fn memberships(&self, user: &str) -> Result<Vec<Membership>> {
        self.with_reader(|c| memberships_of(c, user))
    }

    fn users(&self, team: &str) -> Result<Vec<AdminUserView>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT u.id, u.email, u.name, m.roles,
                        (SELECT COUNT(*) FROM devices d WHERE d.user_id = u.id AND d.revoked_at IS NULL)
                 FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.team_id = ?1 ORDER BY u.name",
            )?;
            let rows = st.query_map([team], |r| {
                let roles: String = r.get(3)?;
                Ok(AdminUserView {
                    id: r.get(0)?,
                    email: r.get(1)?,
                    name: r.get(2)?,
                    roles: split_list(&roles),
                    active_devices: r.get(4)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn devices(&self, team: &str) -> Result<Vec<AdminDeviceView>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT d.id, u.id, u.name, d.name, d.created_at, d.last_seen, d.revoked_at
                 FROM devices d JOIN users u ON u.id = d.user_id JOIN memberships m ON m.user_id = u.id
                 WHERE m.team_id = ?1 ORDER BY d.revoked_at IS NOT NULL, d.created_at DESC",
            )?;
            let rows = st.query_map([team], |r| {
                Ok(AdminDeviceView {
                    id: r.get(0)?,
                    user_id: r.get(1)?,
                    user_name: r.get(2)?,
                    name: r.get(3)?,
                    created_at: r.get(4)?,
                    last_seen: r.get(5)?,
                    revoked_at: r.get(6)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn touch_device(&self, device: &str, now: i64) -> Result<()> {
        lock(&self.writer).execute(
            "UPDATE devices SET last_seen = ?2 WHERE id = ?1",
            params![device, now],
        )?;
        Ok(())
    }

    fn audit(&self, team: &str, q: &AuditQuery) -> Result<Vec<AuditEntryView>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT a.id, a.at, a.doc_id, a.kind, a.user_id, COALESCE(u.name, ''), a.device_id, a.action,
                        a.fields, a.changes
                 FROM audit a LEFT JOIN users u ON u.id = a.user_id
                 WHERE a.team_id = ?1 AND (?2 = '' OR a.doc_id = ?2) AND (?3 = '' OR a.user_id = ?3)
                   AND (?4 = 0 OR a.id < ?4) AND a.at >= ?5 AND a.at < ?6
                 ORDER BY a.id DESC LIMIT ?7",
            )?;
            let rows = st.query_map(
                params![
                    team,
                    q.doc,
                    q.user,
                    q.before_id.unwrap_or(0),
                    q.from.unwrap_or(i64::MIN),
                    q.to.unwrap_or(i64::MAX),
                    q.limit.clamp(1, 10_000) as i64
                ],
                |r| {
                    let fields: String = r.get(8)?;
                    Ok(AuditEntryView {
                        id: r.get(0)?,
                        at: r.get(1)?,
                        doc_id: r.get(2)?,
                        kind: r.get(3)?,
                        user_id: r.get(4)?,
                        user_name: r.get(5)?,
                        device_id: r.get(6)?,
                        action: r.get(7)?,
                        fields: split_list(&fields),
                        changes: r.get(9)?,
                    })
                },
            )?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn replace_all(&self, now: i64) -> Result<u64> {
        let ids: Vec<String> = self.with_reader(|c| {
            let mut st = c.prepare("SELECT id FROM docs ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })?;
        let mut moved = 0u64;
        for chunk in ids.chunks(500) {
            self.write(
                |reader| {
                    let mut commits = Vec::new();
                    for id in chunk {
                        let Ok(Some(bytes)) = reader.load(id) else {
                            continue;
                        };
                        let Ok(doc) = AutoCommit::load(&bytes) else {
                            continue;
                        };
                        let Ok(meta) = RecordMeta::read(&doc) else {
                            continue;
                        };
                        commits.push(DocCommit {
                            doc_id: id.clone(),
                            index: DocIndex::of(meta.kind, &doc),
                            meta,
                            bytes,
                            changes: Vec::new(),
                            audit: None,
                            assignment: None,
                            doc: None,
                        });
                    }
                    (commits, ())
                },
                None,
                now,
            )?;
            moved += chunk.len() as u64;
        }
        Ok(moved)
    }

    fn user_by_email(&self, email: &str) -> Result<Option<UserRow>> {
        self.with_reader(|c| {
            Ok(c.query_row(
                "SELECT id, team_id, password_hash FROM users WHERE email = ?1",
                [email.trim().to_lowercase()],
                |r| {
                    Ok(UserRow {
                        id: r.get(0)?,
                        team_id: r.get(1)?,
                        password_hash: r.get(2)?,
                    })
                },
            )
            .optional()?)
        })
    }

    fn add_device(
        &self,
        id: &str,
        user: &str,
        name: &str,
        token_hash: &[u8],
        now: i64,
    ) -> Result<()> {
        lock(&self.writer).execute(
            "INSERT INTO devices (id, user_id, name, token_hash, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![id, user, name, token_hash, now],
        )?;
        Ok(())
    }

    fn device_by_token(&self, token_hash: &[u8]) -> Result<Option<(DeviceAuth, bool)>> {
        self.with_reader(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT d.id, u.id, u.name, u.email, t.id, t.name, d.revoked_at IS NOT NULL
                     FROM devices d JOIN users u ON u.id = d.user_id JOIN teams t ON t.id = {DEVICE_TEAM}
                     WHERE d.token_hash = ?1"
                ),
                [token_hash],
                |r| {
                    Ok((
                        DeviceAuth {
                            device_id: r.get(0)?,
                            user_id: r.get(1)?,
                            user_name: r.get(2)?,
                            email: r.get(3)?,
                            team_id: r.get(4)?,
                            team_name: r.get(5)?,
                            memberships: Vec::new(),
                        },
                        r.get(6)?,
                    ))
                },
            )
            .optional()?
            .map(|(mut d, revoked)| {
                d.memberships = memberships_of(c, &d.user_id)?;
                Ok::<_, StoreError>((d, revoked))
            })
            .transpose()?)
        })
    }

    fn set_device_team(&self, device: &str, team: &str) -> Result<()> {
        lock(&self.writer).execute(
            "UPDATE devices SET team_id = ?2 WHERE id = ?1",
            params![device, team],
        )?;
        Ok(())
    }

    fn device_team(&self, device: &str) -> Result<Option<(String, String)>> {
        self.with_reader(|c| {
            Ok(c.query_row(
                &format!(
                    "SELECT t.id, t.name FROM devices d JOIN users u ON u.id = d.user_id
                     JOIN teams t ON t.id = {DEVICE_TEAM} WHERE d.id = ?1"
                ),
                [device],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
        })
    }

    fn teams_of(&self, user: &str) -> Result<Vec<(String, String, String)>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT t.id, t.name, m.roles FROM memberships m JOIN users u ON u.id = m.user_id
                 JOIN teams t ON t.id = m.team_id
                 WHERE m.user_id = ?1 ORDER BY m.team_id = u.team_id DESC, t.name, t.id",
            )?;
            let rows = st.query_map([user], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn user_devices(&self, user: &str) -> Result<Vec<String>> {
        self.with_reader(|c| {
            let mut st =
                c.prepare_cached("SELECT id FROM devices WHERE user_id = ?1 ORDER BY created_at")?;
            let rows = st.query_map([user], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn revoke_device(&self, id: &str, now: i64) -> Result<bool> {
        let n = lock(&self.writer).execute(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            params![id, now],
        )?;
        Ok(n > 0)
    }

    fn device_revoked(&self, id: &str) -> Result<bool> {
        self.with_reader(|c| revoked_in(c, id))
    }

    fn members(&self, team: &str) -> Result<Vec<MemberView>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT u.id, u.name, m.roles FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.team_id = ?1 ORDER BY u.name",
            )?;
            let rows = st.query_map([team], |r| {
                Ok(MemberView {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    role: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn team_count(&self) -> Result<u64> {
        self.with_reader(|c| Ok(c.query_row("SELECT COUNT(*) FROM teams", [], |r| r.get(0))?))
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&dyn DocReader) -> (Vec<DocCommit>, T),
        device: Option<&str>,
        now: i64,
    ) -> Result<(T, Vec<(String, u64)>)> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        let (commits, out) = f(&TxReader(&tx, self));
        let mut touched: Vec<(String, u64)> = Vec::new();
        // What this write logs, per bucket, for the in-memory tails once it is committed.
        let mut logged: Vec<(String, Entry)> = Vec::new();
        let mut hydrated: Vec<(String, AutoCommit)> = Vec::new();
        let mut stale: Vec<String> = Vec::new();
        let mut starts: HashMap<String, u64> = HashMap::new();
        for mut c in commits {
            match c.doc.take() {
                Some(d) => hydrated.push((c.doc_id.clone(), d)),
                // Stored without its hydrated form: a cached copy would now be stale.
                None => stale.push(c.doc_id.clone()),
            }
            let old: Vec<String> = {
                let mut st =
                    tx.prepare_cached("SELECT bucket FROM doc_buckets WHERE doc_id = ?1")?;
                let rows = st.query_map([&c.doc_id], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            let new = buckets_for(&c.meta);
            let mut ins_log = tx.prepare_cached(
                "INSERT INTO log (bucket, doc_id, op, bytes, device_id, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            let mut last = 0i64;
            let mut log = |b: &str, op: EntryOp, seq: i64| -> Result<()> {
                // A bucket without a tail starts one here: it holds everything after the entry before this one.
                if !starts.contains_key(b) && !lock(&self.tails).by_bucket.contains_key(b) {
                    starts.insert(b.to_string(), seq as u64 - 1);
                }
                logged.push((
                    b.to_string(),
                    Entry {
                        seq: seq as u64,
                        doc: c.doc_id.clone(),
                        op,
                    },
                ));
                Ok(())
            };
            for b in &new {
                if old.contains(b) {
                    for ch in &c.changes {
                        ins_log.execute(params![b, c.doc_id, 0, ch, device, now])?;
                        last = tx.last_insert_rowid();
                        log(b, EntryOp::Change(ch.clone()), last)?;
                    }
                } else {
                    ins_log.execute(params![b, c.doc_id, 1, c.bytes, device, now])?;
                    last = tx.last_insert_rowid();
                    log(b, EntryOp::Doc(c.bytes.clone()), last)?;
                    tx.execute(
                        "INSERT INTO doc_buckets (bucket, doc_id) VALUES (?1, ?2)",
                        params![b, c.doc_id],
                    )?;
                }
                note(&mut touched, b, last as u64);
            }
            for b in old.iter().filter(|b| !new.contains(b)) {
                ins_log.execute(params![
                    b,
                    c.doc_id,
                    2,
                    Option::<Vec<u8>>::None,
                    device,
                    now
                ])?;
                last = tx.last_insert_rowid();
                log(b, EntryOp::Remove, last)?;
                tx.execute(
                    "DELETE FROM doc_buckets WHERE bucket = ?1 AND doc_id = ?2",
                    params![b, c.doc_id],
                )?;
                note(&mut touched, b, last as u64);
            }
            tx.execute(
                "INSERT INTO docs (id, kind, team_id, owner, created_by, bytes, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (id) DO UPDATE SET kind = ?2, team_id = ?3, owner = ?4, created_by = ?5, bytes = ?6,
                   seq = MAX(seq, ?7)",
                params![c.doc_id, c.meta.kind.code(), c.meta.team, c.meta.owner, c.meta.created_by, c.bytes, last],
            )?;
            match &c.index {
                DocIndex::Lead {
                    open,
                    phone,
                    email,
                    created_at,
                } => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO lead_index (doc_id, team_id, owner, open, phone, email, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    )?
                    .execute(params![c.doc_id, c.meta.team, c.meta.owner, open, phone, email, created_at])?;
                }
                DocIndex::Task {
                    task_type,
                    open,
                    due_at,
                    snoozed_until,
                    escalated_at,
                } => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO task_index
                           (doc_id, team_id, assignee, task_type, open, due_at, snoozed_until, escalated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute(params![
                        c.doc_id,
                        c.meta.team,
                        c.meta.owner,
                        task_type,
                        open,
                        due_at,
                        snoozed_until,
                        escalated_at
                    ])?;
                }
                DocIndex::Record { due_at } => {
                    tx.prepare_cached(
                        "INSERT OR REPLACE INTO record_index (doc_id, team_id, due_at) VALUES (?1, ?2, ?3)",
                    )?
                    .execute(params![c.doc_id, c.meta.team, due_at])?;
                }
                DocIndex::None => {}
            }
            if let Some((rule, user)) = &c.assignment {
                tx.prepare_cached(
                    "INSERT INTO assignments (team_id, rule, user_id, doc_id, at) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![c.meta.team, rule, user, c.doc_id, now])?;
            }
            if let Some(a) = &c.audit {
                tx.prepare_cached(
                    "INSERT INTO audit (at, team_id, doc_id, kind, user_id, device_id, action, fields, changes)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                )?
                .execute(params![
                    now,
                    c.meta.team,
                    c.doc_id,
                    c.meta.kind.code(),
                    a.user_id,
                    device.unwrap_or_default(),
                    if a.created { "created" } else { "edited" },
                    a.fields.join(","),
                    c.changes.len() as i64
                ])?;
            }
        }
        tx.commit()?;
        // Only what is committed enters the caches (a failed write leaves them as they were).
        {
            let mut tails = lock(&self.tails);
            if tails.entries + logged.len() > TAIL_TOTAL {
                *tails = Tails::default();
                starts.clear();
            }
            for (b, from) in starts {
                tails.by_bucket.entry(b).or_insert(Tail {
                    from,
                    entries: Default::default(),
                });
            }
            for (b, e) in logged {
                let Some(tail) = tails.by_bucket.get_mut(&b) else {
                    continue;
                };
                tail.entries.push_back(e);
                let mut dropped = 0;
                while tail.entries.len() > TAIL_PER_BUCKET {
                    let first = tail.entries.pop_front().expect("non-empty");
                    tail.from = first.seq;
                    dropped += 1;
                }
                tails.entries = tails.entries + 1 - dropped;
            }
        }
        {
            let mut docs = lock(&self.docs);
            if docs.len() + hydrated.len() > DOC_CACHE {
                docs.clear();
            }
            for id in stale {
                docs.remove(&id);
            }
            docs.extend(hydrated);
        }
        Ok((out, touched))
    }

    fn read_log(&self, bucket: &str, after: u64, limit: usize) -> Result<Vec<Entry>> {
        {
            let tails = lock(&self.tails);
            if let Some(t) = tails.by_bucket.get(bucket) {
                if after >= t.from {
                    return Ok(t
                        .entries
                        .iter()
                        .filter(|e| e.seq > after)
                        .take(limit)
                        .cloned()
                        .collect());
                }
            }
        }
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT seq, doc_id, op, bytes FROM log WHERE bucket = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
            )?;
            let rows = st.query_map(params![bucket, after as i64, limit as i64], |r| {
                let op: i64 = r.get(2)?;
                let bytes: Option<Vec<u8>> = r.get(3)?;
                Ok(Entry {
                    seq: r.get::<_, i64>(0)? as u64,
                    doc: r.get(1)?,
                    op: match op {
                        0 => EntryOp::Change(bytes.unwrap_or_default()),
                        1 => EntryOp::Doc(bytes.unwrap_or_default()),
                        _ => EntryOp::Remove,
                    },
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn high_water(&self, bucket: &str) -> Result<u64> {
        self.with_reader(|c| {
            let v: Option<i64> = c.query_row(
                "SELECT MAX(seq) FROM log WHERE bucket = ?1",
                [bucket],
                |r| r.get(0),
            )?;
            Ok(v.unwrap_or(0) as u64)
        })
    }

    fn snapshot_page(
        &self,
        bucket: &str,
        after_doc: &str,
        limit: usize,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT d.id, d.bytes FROM doc_buckets b JOIN docs d ON d.id = b.doc_id
                 WHERE b.bucket = ?1 AND b.doc_id > ?2 ORDER BY b.doc_id LIMIT ?3",
            )?;
            let rows = st.query_map(params![bucket, after_doc, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn bucket_size(&self, bucket: &str) -> Result<u64> {
        self.with_reader(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM doc_buckets WHERE bucket = ?1",
                [bucket],
                |r| r.get(0),
            )?)
        })
    }

    fn doc(&self, id: &str) -> Result<Option<Vec<u8>>> {
        self.with_reader(|c| {
            Ok(
                c.query_row("SELECT bytes FROM docs WHERE id = ?1", [id], |r| r.get(0))
                    .optional()?,
            )
        })
    }

    fn latest_doc(&self, id: &str) -> Result<Option<AutoCommit>> {
        match self.cached(id) {
            Some(d) => Ok(Some(d)),
            None => Ok(hydrate(self.doc(id)?)),
        }
    }

    fn integrity_ok(&self) -> Result<bool> {
        self.with_reader(|c| {
            let s: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
            Ok(s == "ok")
        })
    }

    fn webhooks(&self, team: &str) -> Result<Vec<WebhookRow>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, kind, url, secret FROM webhooks WHERE team_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = st.query_map([team], |r| {
                Ok(WebhookRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    url: r.get(2)?,
                    secret: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn webhook_delivered(&self, id: &str, at: i64, error: &str) -> Result<()> {
        lock(&self.writer).execute(
            "UPDATE webhooks SET last_at = ?2, last_error = ?3 WHERE id = ?1",
            params![id, at, error],
        )?;
        Ok(())
    }

    fn webhook_status(&self, team: &str) -> Result<Vec<(String, i64, String)>> {
        self.with_reader(|c| {
            let mut st = c.prepare_cached(
                "SELECT id, last_at, last_error FROM webhooks WHERE team_id = ?1 ORDER BY created_at, id",
            )?;
            let rows = st.query_map([team], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    fn set_webhooks(&self, team: &str, hooks: &[WebhookRow], now: i64) -> Result<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction()?;
        tx.execute("DELETE FROM webhooks WHERE team_id = ?1", [team])?;
        // `created_at` keeps the order the admin gave.
        for (i, h) in hooks.iter().enumerate() {
            tx.execute(
                "INSERT INTO webhooks (id, team_id, kind, url, secret, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![h.id, team, h.kind, h.url, h.secret, now + i as i64],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn note(touched: &mut Vec<(String, u64)>, bucket: &str, seq: u64) {
    match touched.iter_mut().find(|(b, _)| b == bucket) {
        Some(t) => t.1 = t.1.max(seq),
        None => touched.push((bucket.to_string(), seq)),
    }
}

/// A comma-separated column as a list, empty items dropped.
fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// SQL for the team a device (`d`, of user `u`) works in: the team it moved to while the user is still a member
/// there, else the user's first team.
const DEVICE_TEAM: &str = "COALESCE((SELECT m.team_id FROM memberships m WHERE m.user_id = d.user_id AND m.team_id = d.team_id), u.team_id)";

fn revoked_in(c: &Connection, device: &str) -> Result<bool> {
    let revoked: Option<bool> = c
        .prepare_cached("SELECT revoked_at IS NOT NULL FROM devices WHERE id = ?1")?
        .query_row([device], |r| r.get(0))
        .optional()?;
    Ok(revoked.unwrap_or(true))
}

fn memberships_of(c: &Connection, user: &str) -> Result<Vec<Membership>> {
    let mut st = c.prepare_cached(
        "SELECT m.team_id, m.roles FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.user_id = ?1 ORDER BY m.team_id = u.team_id DESC, m.team_id",
    )?;
    let rows = st.query_map([user], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (team, roles) = row?;
        // A role this build does not know grants nothing.
        let roles = roles.split(',').filter_map(Role::from_code).collect();
        out.push(Membership { team, roles });
    }
    Ok(out)
}

/// The version of the placement rules (`liveline_domain::buckets_for`) the stored buckets follow. Raise it when
/// the rules change; opening the store then re-places every document. Version 3 also fills the lookup indexes;
/// version 4 the form records' time limits.
pub const PLACEMENT_VERSION: u32 = 4;

#[cfg(test)]
mod tests {
    use super::*;
    use liveline_domain::LiveSession;

    /// A store written by the first release (one role per user, live sessions only in the team bucket) opens
    /// under this one with nothing lost: roles become memberships and documents are re-placed once.
    #[test]
    fn an_older_store_upgrades_without_losing_anything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liveline-server.sqlite3");
        {
            let mut c = open(&path).unwrap();
            Migrations::from_directory(&MIGRATIONS)
                .unwrap()
                .to_version(&mut c, 1)
                .unwrap();
            c.execute_batch(
                "INSERT INTO teams VALUES ('t', 'T');
                 INSERT INTO users VALUES ('u1', 't', 'a@b.c', 'Ann', 'sales_rep', 'x');",
            )
            .unwrap();
            let mut doc = AutoCommit::new();
            let s = LiveSession {
                kind: "live_session".into(),
                team: "t".into(),
                title: "Old stream".into(),
                ..Default::default()
            };
            autosurgeon::reconcile(&mut doc, &s).unwrap();
            c.execute(
                "INSERT INTO docs VALUES ('d1', 'live_session', 't', '', '', ?1, 1)",
                [doc.save()],
            )
            .unwrap();
            c.execute_batch(
                "INSERT INTO doc_buckets VALUES ('team:t', 'd1');
                 INSERT INTO log (bucket, doc_id, op, bytes, device_id, at) VALUES ('team:t', 'd1', 1, x'', NULL, 0);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(dir.path()).unwrap();
        let m = store.memberships("u1").unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].roles, [Role::SalesRep]);
        // Reps read the team's live sessions through the kind bucket, which the upgrade filled.
        assert_eq!(store.bucket_size("kind:t:live_session").unwrap(), 1);
        assert_eq!(
            store.read_log("kind:t:live_session", 0, 10).unwrap().len(),
            1
        );
        assert_eq!(store.bucket_size("team:t").unwrap(), 1);
        assert!(store.doc("d1").unwrap().is_some());
        let log_rows = |s: &SqliteStore| s.high_water("kind:t:live_session").unwrap();
        let before = log_rows(&store);
        drop(store);
        let again = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(log_rows(&again), before, "re-placement runs once");
        assert!(again.integrity_ok().unwrap());
    }
}
