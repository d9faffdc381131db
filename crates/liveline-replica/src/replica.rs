//! The local replica: documents, their pending changes, bucket cursors and the materialized `leads` and
//! `live_sessions` tables, all in one SQLite file. Every local edit and every merged remote change updates the
//! document, the queue and the rows in one transaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use automerge::{ActorId, AutoCommit, ChangeHash};
use include_dir::{include_dir, Dir};
use liveline_domain::doc::uuid_bytes;
use liveline_domain::{validate_lead, DocKind, Lead, LiveSession, RecordMeta, ValidationContext};
use liveline_sync::{rebuild_without, Cursor, Entry, EntryOp, Hash, PendingChange};
use liveline_types::{
    codes, AppError, FieldError, LeadInput, LeadPage, LeadQuery, LeadView, LiveSessionView,
    MemberView, RefusedEditView, SaveOutcome, SessionView, TeamView,
};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use rusqlite_migration::Migrations;

static MIGRATIONS: Dir = include_dir!("$CARGO_MANIFEST_DIR/../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum ReplicaError {
    #[error("the local database is damaged: {0}")]
    Corrupt(String),
    #[error("database: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("document {0}: {1}")]
    Doc(String, String),
    #[error("not signed in")]
    NotSignedIn,
    #[error("no record {0}")]
    NotFound(String),
    #[error("the data folder cannot be written: {0}")]
    ReadOnly(String),
    /// The request itself is wrong (a dashboard's period); the error names what to fix.
    #[error("invalid request: {}", .0.code)]
    Invalid(AppError),
    #[error("{0}")]
    Vault(#[from] crate::vault::VaultError),
}

/// What a failed write means for the person holding the device: a full disk, a folder it may not write, or else.
pub fn storage_code(e: &rusqlite::Error) -> Option<&'static str> {
    use rusqlite::ErrorCode::*;
    match e.sqlite_error_code()? {
        DiskFull => Some(codes::STORAGE_FULL),
        ReadOnly | CannotOpen | PermissionDenied => Some(codes::STORAGE_READ_ONLY),
        _ => None,
    }
}

impl ReplicaError {
    pub fn to_app_error(&self) -> AppError {
        match self {
            ReplicaError::Corrupt(_) => AppError::new(codes::STORAGE_CORRUPT),
            ReplicaError::NotSignedIn => AppError::new(codes::NOT_SIGNED_IN),
            ReplicaError::NotFound(id) => AppError::new(codes::NOT_FOUND).with("id", id.clone()),
            ReplicaError::ReadOnly(_) => AppError::new(codes::STORAGE_READ_ONLY),
            ReplicaError::Invalid(e) => e.clone(),
            ReplicaError::Vault(e) => AppError::new(codes::VAULT).with("detail", e.to_string()),
            ReplicaError::Db(e) if storage_code(e).is_some() => {
                AppError::new(storage_code(e).expect("checked"))
            }
            other => AppError::new(codes::STORAGE).with("detail", other.to_string()),
        }
    }
}

pub type Result<T> = std::result::Result<T, ReplicaError>;

/// The local replica of one device.
pub struct Replica {
    pub(crate) conn: Connection,
    path: PathBuf,
    /// The team's lead form compiled, with the published document's bytes it came from (`None`: the built-in
    /// one): a capture compiles it only when an admin published a new version.
    #[allow(clippy::type_complexity)]
    pub(crate) lead_form: std::sync::Mutex<
        Option<(
            Option<Vec<u8>>,
            std::sync::Arc<(liveline_types::forms::FormDef, liveline_forms::Form)>,
        )>,
    >,
    /// The dashboards' facts, with the database's change counters they were read at: a dashboard reads the
    /// leads and tasks again only after something was written.
    pub(crate) facts: std::sync::Mutex<Option<(i64, std::sync::Arc<crate::dashboards::Facts>)>>,
    /// The running import's parsed file and the phones and e-mails it checks duplicates against.
    #[cfg(feature = "sheets")]
    pub(crate) import_cache: std::sync::Mutex<Option<crate::sheets::ImportCache>>,
    /// Where the device token is kept (never in the database), and the token as last read or written there
    /// (`None`: not read yet), so a save does not ask the keychain each time.
    vault: crate::vault::Vault,
    token: std::sync::Mutex<Option<Option<String>>>,
}

/// Stores (or with `None` removes) the device token in the vault, and remembers it.
fn put_token(
    vault: &crate::vault::Vault,
    cache: &std::sync::Mutex<Option<Option<String>>>,
    token: Option<&str>,
) -> Result<()> {
    let mut t = cache.lock().unwrap_or_else(|p| p.into_inner());
    match token {
        Some(v) => vault.store(v)?,
        None => vault.clear()?,
    }
    *t = Some(token.map(str::to_string));
    Ok(())
}

/// What the device knows of its sign-in: the token in its vault, the rest in `meta`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Credentials {
    pub server: String,
    pub token: String,
    pub device_id: String,
    pub user_id: String,
    pub team_id: String,
    pub email: String,
}

const LEAD_COLUMNS: &str = "id, team, buyer_name, company, country, phone, email, contact_kind, contact, channel, \
    live_session, product_interest, quantity, notes, status, owner, created_by, created_at, updated_at, \
    assigned_rule, assigned_rule_name, assigned_at, duplicate_of, first_contact_at, contacts, language, extra";

fn hash_of(h: &ChangeHash) -> Hash {
    h.0
}

impl Replica {
    /// Opens the replica at `path`, creating and migrating it. A damaged file is reported as
    /// [`ReplicaError::Corrupt`], so the app can offer to start over from the server.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ReplicaError::ReadOnly(e.to_string()))?;
        }
        // A folder that cannot be written is not damage: offering to erase the data would be wrong.
        let corrupt = |e: rusqlite::Error| match storage_code(&e) {
            Some(_) => ReplicaError::Db(e),
            None => ReplicaError::Corrupt(e.to_string()),
        };
        let mut conn = Connection::open(path).map_err(corrupt)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(corrupt)?;
        // WAL with NORMAL: a committed save survives the app being killed or crashing (the WAL is written before
        // commit returns); only an OS crash or power cut before the next checkpoint could roll back the newest
        // saves. FULL would add an fsync to every capture (p99 3 ms here against 0.5 ms).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        // Checkpoint the WAL every ~16 MB instead of every 4 MB, so fewer saves pay for a checkpoint.
        conn.pragma_update(None, "wal_autocheckpoint", 4000)?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let check: String = conn
            .query_row("PRAGMA quick_check", [], |r| r.get(0))
            .map_err(corrupt)?;
        if check != "ok" {
            return Err(ReplicaError::Corrupt(check));
        }
        Migrations::from_directory(&MIGRATIONS)?.to_latest(&mut conn)?;
        // An import that was running when the app last closed waits to be resumed or cleared.
        conn.execute(
            "UPDATE import_jobs SET status = 'interrupted' WHERE status = 'running'",
            [],
        )?;
        let vault = crate::vault::Vault::for_replica(path);
        // A replica from before the vault kept the token in `meta`: it moves to the vault, once.
        let old_token: Option<String> = conn
            .query_row("SELECT value FROM meta WHERE key = 'token'", [], |r| {
                r.get(0)
            })
            .optional()?;
        if let Some(t) = old_token {
            vault.store(&t)?;
            conn.execute("DELETE FROM meta WHERE key = 'token'", [])?;
        }
        Ok(Self {
            conn,
            path: path.to_path_buf(),
            lead_form: std::sync::Mutex::new(None),
            facts: std::sync::Mutex::new(None),
            #[cfg(feature = "sheets")]
            import_cache: std::sync::Mutex::new(None),
            vault,
            token: std::sync::Mutex::new(None),
        })
    }

    /// Where this device keeps its token: `keychain` or `encrypted_file`.
    pub fn vault_kind(&self) -> &'static str {
        self.vault.kind()
    }

    fn token(&self) -> Result<Option<String>> {
        let mut t = self.token.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_none() {
            *t = Some(self.vault.load()?);
        }
        Ok(t.clone().flatten())
    }

    fn set_token(&self, token: Option<&str>) -> Result<()> {
        put_token(&self.vault, &self.token, token)
    }

    /// Deletes the replica's files and its device token, for a fresh start from the server.
    pub fn destroy(path: &Path) -> std::io::Result<()> {
        if let Err(e) = crate::vault::Vault::for_replica(path).clear() {
            tracing::warn!(error = %e, "the device token could not be removed");
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            match std::fs::remove_file(PathBuf::from(p)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    // ---- sign-in -----------------------------------------------------------------------------------------------

    pub(crate) fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    fn set_meta(tx: &Transaction<'_>, key: &str, value: &str) -> Result<()> {
        tx.execute("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2", [
            key, value,
        ])?;
        Ok(())
    }

    /// Stores a fresh sign-in. A different user than before starts from an empty replica. The same user keeps what
    /// the device holds (whichever of their teams it was working in): the server's buckets say what stays.
    pub fn set_credentials(&mut self, c: &Credentials) -> Result<()> {
        let previous = self.credentials()?;
        let tx = self.conn.transaction()?;
        if previous.as_ref().is_some_and(|p| p.user_id != c.user_id) {
            wipe(&tx)?;
        }
        for (k, v) in [
            ("server", &c.server),
            ("device_id", &c.device_id),
            ("user_id", &c.user_id),
            ("team_id", &c.team_id),
            ("email", &c.email),
        ] {
            Self::set_meta(&tx, k, v)?;
        }
        // The token goes to the vault before the sign-in is committed: a device is never left signed in without it.
        put_token(&self.vault, &self.token, Some(&c.token))?;
        tx.commit()?;
        Ok(())
    }

    pub fn credentials(&self) -> Result<Option<Credentials>> {
        let Some(token) = self.token()? else {
            return Ok(None);
        };
        Ok(Some(Credentials {
            server: self.meta("server")?.unwrap_or_default(),
            token,
            device_id: self.meta("device_id")?.unwrap_or_default(),
            user_id: self.meta("user_id")?.unwrap_or_default(),
            team_id: self.meta("team_id")?.unwrap_or_default(),
            email: self.meta("email")?.unwrap_or_default(),
        }))
    }

    /// Forgets the sign-in; with `wipe`, every local record too.
    pub fn sign_out(&mut self, wipe_data: bool) -> Result<()> {
        self.set_token(None)?;
        if wipe_data {
            let tx = self.conn.transaction()?;
            wipe(&tx)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Stores what the server said about this device's user and the team it works in (which changes when the user
    /// moves the device to another of their teams: the records held stay, since the buckets say what is held).
    pub fn apply_welcome(
        &mut self,
        user_name: &str,
        role: &str,
        team: (&str, &str),
        members: &[MemberView],
        buckets: &[String],
    ) -> Result<()> {
        let (team_id, team_name) = team;
        let tx = self.conn.transaction()?;
        if !team_id.is_empty() {
            Self::set_meta(&tx, "team_id", team_id)?;
        }
        Self::set_meta(&tx, "user_name", user_name)?;
        Self::set_meta(&tx, "role", role)?;
        Self::set_meta(&tx, "team_name", team_name)?;
        tx.execute("DELETE FROM members", [])?;
        for m in members {
            tx.execute(
                "INSERT INTO members (id, name, role) VALUES (?1, ?2, ?3)",
                params![m.id, m.name, m.role],
            )?;
        }
        // Buckets the server no longer grants: forget their cursor and purge documents held by no other bucket.
        let held: Vec<String> = {
            let mut st = tx.prepare("SELECT bucket FROM cursors")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for b in held.iter().filter(|b| !buckets.contains(b)) {
            let docs: Vec<String> = {
                let mut st = tx.prepare("SELECT doc_id FROM doc_buckets WHERE bucket = ?1")?;
                let rows = st.query_map([b], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for d in docs {
                leave_bucket(&tx, b, &d)?;
            }
            tx.execute("DELETE FROM cursors WHERE bucket = ?1", [b])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The server moved this device to another team (`PUT /v1/me/team` answered): new records go there at once.
    /// The members shown are the new team's once the connection's next `Welcome` brings them; until then none.
    /// A `Welcome` that came first already did all of this.
    pub fn set_team(&mut self, team: &TeamView) -> Result<()> {
        if self.meta("team_id")?.as_deref() == Some(team.id.as_str()) {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        Self::set_meta(&tx, "team_id", &team.id)?;
        Self::set_meta(&tx, "team_name", &team.name)?;
        Self::set_meta(&tx, "role", &team.role)?;
        tx.execute("DELETE FROM members", [])?;
        tx.commit()?;
        Ok(())
    }

    /// Keeps the user's teams as the server last listed them, for showing them offline.
    pub fn set_teams(&mut self, teams: &[TeamView]) -> Result<()> {
        let json = serde_json::to_string(teams)
            .map_err(|e| ReplicaError::Doc("teams".into(), e.to_string()))?;
        let tx = self.conn.transaction()?;
        Self::set_meta(&tx, "teams", &json)?;
        tx.commit()?;
        Ok(())
    }

    /// The user's teams as last listed by the server, `current` being the one this device works in now.
    pub fn teams(&self) -> Result<Vec<TeamView>> {
        let here = self.meta("team_id")?.unwrap_or_default();
        let mut teams: Vec<TeamView> = self
            .meta("teams")?
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default();
        for t in &mut teams {
            t.current = t.id == here;
        }
        Ok(teams)
    }

    pub fn session(&self) -> Result<Option<SessionView>> {
        let Some(c) = self.credentials()? else {
            return Ok(None);
        };
        Ok(Some(SessionView {
            server: c.server,
            user_id: c.user_id,
            user_name: self.meta("user_name")?.unwrap_or_default(),
            email: c.email,
            role: self.meta("role")?.unwrap_or_default(),
            team_id: c.team_id,
            team_name: self.meta("team_name")?.unwrap_or_default(),
            device_id: c.device_id,
            members: self.members()?,
            vault: self.vault.kind().to_string(),
        }))
    }

    pub fn members(&self) -> Result<Vec<MemberView>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT id, name, role FROM members ORDER BY name")?;
        let rows = st.query_map([], |r| {
            Ok(MemberView {
                id: r.get(0)?,
                name: r.get(1)?,
                role: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub(crate) fn actor(&self) -> Result<(ActorId, Credentials)> {
        let c = self.credentials()?.ok_or(ReplicaError::NotSignedIn)?;
        let bytes = uuid_bytes::parse(&c.device_id).ok_or(ReplicaError::NotSignedIn)?;
        Ok((ActorId::from(&bytes[..]), c))
    }

    // ---- leads -------------------------------------------------------------------------------------------------

    /// Checks a lead form without saving.
    pub fn validate_lead(&self, input: &LeadInput) -> Result<Vec<FieldError>> {
        let (members, sessions) = self.validation_lists()?;
        let ctx = ValidationContext {
            members: &members,
            live_sessions: &sessions,
        };
        let mut errors = validate_lead(input, &ctx).err().unwrap_or_default();
        for e in self
            .lead_extras(input, &BTreeMap::new())?
            .err()
            .unwrap_or_default()
        {
            if !errors.iter().any(|d| d.field == e.field) {
                errors.push(e);
            }
        }
        Ok(errors)
    }

    /// The added fields' stored values of a lead (JSON by key).
    fn stored_extra(&self, id: &str) -> Result<BTreeMap<String, String>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT extra FROM leads WHERE id = ?1", [id], |r| r.get(0))
            .optional()?;
        Ok(json
            .and_then(|j| serde_json::from_str(&j).ok())
            .unwrap_or_default())
    }

    pub(crate) fn validation_lists(&self) -> Result<(Vec<String>, Vec<String>)> {
        let ids = |sql: &str| -> Result<Vec<String>> {
            let mut st = self.conn.prepare_cached(sql)?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        };
        Ok((
            ids("SELECT id FROM members")?,
            ids("SELECT id FROM live_sessions")?,
        ))
    }

    /// Saves a new lead (`id` = None) or an edit. Invalid input saves nothing and names each field to fix.
    /// When this returns `Saved`, the lead, its pending change and its row are committed to disk.
    pub fn save_lead(
        &mut self,
        id: Option<&str>,
        input: &LeadInput,
        now: i64,
    ) -> Result<SaveOutcome> {
        let (members, sessions) = self.validation_lists()?;
        let ctx = ValidationContext {
            members: &members,
            live_sessions: &sessions,
        };
        let stored = match id {
            Some(id) => self.stored_extra(id)?,
            None => BTreeMap::new(),
        };
        let (fields, extra) = match (
            validate_lead(input, &ctx),
            self.lead_extras(input, &stored)?,
        ) {
            (Ok(f), Ok(extra)) => (f, extra),
            (domain, form) => {
                // The domain's word on its own fields first; the form adds what the domain does not check.
                let mut errors = domain.err().unwrap_or_default();
                for e in form.err().unwrap_or_default() {
                    if !errors.iter().any(|d| d.field == e.field) {
                        errors.push(e);
                    }
                }
                return Ok(SaveOutcome::Invalid { errors });
            }
        };
        let (actor, creds) = self.actor()?;
        let tx = self.conn.transaction()?;
        let doc_id = match id {
            None => {
                // A capture: the new document's one change, built and stored the way an import stores its rows.
                let mut lead = Lead::create(fields, &creds.team_id, &creds.user_id, now);
                lead.extra = extra;
                let new = build_new_lead(&actor, uuid::Uuid::now_v7().to_string(), lead);
                insert_new_lead(&tx, &new)?;
                new.id
            }
            Some(id) => {
                let mut doc =
                    load_doc(&tx, id)?.ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
                doc.set_actor(actor);
                let mut lead = Lead::load(&doc)
                    .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
                lead.set(fields, now);
                lead.extra = extra;
                commit_local(&tx, id, &mut doc, &lead)?;
                id.to_string()
            }
        };
        tx.commit()?;
        Ok(SaveOutcome::Saved {
            lead: self.get_lead(&doc_id)?,
        })
    }

    pub fn get_lead(&self, id: &str) -> Result<LeadView> {
        let sql = format!("{} WHERE l.id = ?1", lead_select());
        let mut st = self.conn.prepare_cached(&sql)?;
        st.query_row([id], lead_row)
            .optional()?
            .ok_or_else(|| ReplicaError::NotFound(id.to_string()))
    }

    /// The lead list: search by name, phone or company; filter by status, channel, session, owner; newest first.
    pub fn list_leads(&self, q: &LeadQuery) -> Result<LeadPage> {
        let mut cond = Vec::new();
        let mut args: Vec<String> = Vec::new();
        let search = q.search.trim();
        if !search.is_empty() {
            let like = format!(
                "%{}%",
                search
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            // Phones are stored in E.164: match the typed digits without a national trunk prefix (`0…`).
            let digits: String = search.chars().filter(|c| c.is_ascii_digit()).collect();
            let digits = digits.trim_start_matches('0').to_string();
            args.push(like.clone());
            let n = args.len();
            let mut c = format!(
                "(l.buyer_name LIKE ?{n} ESCAPE '\\' OR l.company LIKE ?{n} ESCAPE '\\' OR l.phone LIKE ?{n} ESCAPE '\\'"
            );
            if digits.len() >= 3 {
                args.push(format!("%{digits}%"));
                c.push_str(&format!(" OR l.phone LIKE ?{}", args.len()));
            }
            c.push(')');
            cond.push(c);
        }
        for (col, v) in [
            ("status", &q.status),
            ("channel", &q.channel),
            ("live_session", &q.live_session),
            ("owner", &q.owner),
        ] {
            if !v.is_empty() {
                args.push(v.clone());
                cond.push(format!("l.{col} = ?{}", args.len()));
            }
        }
        let filter = if cond.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", cond.join(" AND "))
        };
        let total: u64 = self.conn.query_row(
            &format!("SELECT COUNT(*) FROM leads l{filter}"),
            rusqlite::params_from_iter(&args),
            |r| r.get(0),
        )?;
        let limit = if q.limit == 0 { 50 } else { q.limit.min(500) };
        let sql = format!(
            "{}{filter} ORDER BY l.created_at DESC, l.id LIMIT {limit} OFFSET {}",
            lead_select(),
            q.offset
        );
        let mut st = self.conn.prepare_cached(&sql)?;
        let rows = st.query_map(rusqlite::params_from_iter(&args), lead_row)?;
        Ok(LeadPage {
            leads: rows.collect::<rusqlite::Result<Vec<_>>>()?,
            total,
        })
    }

    pub fn lead_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM leads", [], |r| r.get(0))?)
    }

    /// The live sessions of the team the device works in (a user in several teams captures into one at a time).
    pub fn live_sessions(&self) -> Result<Vec<LiveSessionView>> {
        let team = self.meta("team_id")?.unwrap_or_default();
        let mut st = self.conn.prepare_cached(
            "SELECT id, title, platform, host, starts_at, ends_at FROM live_sessions
             WHERE team = ?1 OR team = '' ORDER BY starts_at DESC",
        )?;
        let rows = st.query_map([team], |r| {
            Ok(LiveSessionView {
                id: r.get(0)?,
                title: r.get(1)?,
                platform: r.get(2)?,
                host: r.get(3)?,
                starts_at: r.get(4)?,
                ends_at: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn current_live_session(&self, now: i64) -> Result<Option<LiveSessionView>> {
        let all = self.live_sessions()?;
        Ok(liveline_domain::live_session::current(&all, now).cloned())
    }

    /// The saved bytes of a document, as any automerge implementation loads them.
    pub fn doc_bytes(&self, id: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT bytes FROM docs WHERE id = ?1", [id], |r| r.get(0))
            .optional()?)
    }

    pub fn doc_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM docs", [], |r| r.get(0))?)
    }

    // ---- sync --------------------------------------------------------------------------------------------------

    pub fn cursors(&self) -> Result<Vec<Cursor>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT bucket, seq FROM cursors ORDER BY bucket")?;
        let rows = st.query_map([], |r| {
            Ok(Cursor {
                bucket: r.get(0)?,
                seq: r.get::<_, i64>(1)? as u64,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn pending_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM pending", [], |r| r.get(0))?)
    }

    /// Pending changes in the order they were made.
    pub fn pending(&self, limit: usize) -> Result<Vec<PendingChange>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT doc_id, hash, bytes FROM pending ORDER BY id LIMIT ?1")?;
        let rows = st.query_map([limit as i64], |r| {
            let h: Vec<u8> = r.get(1)?;
            let mut hash = [0u8; 32];
            hash.copy_from_slice(&h[..32.min(h.len())]);
            Ok(PendingChange {
                doc: r.get(0)?,
                hash,
                // A change queued deflated by an earlier version goes out as automerge encodes it.
                bytes: liveline_sync::bounds::uncompressed(r.get(2)?),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// The pending changes of one document, in the order they were made (uses the `pending_by_doc` index).
    pub fn pending_for(&self, doc: &str) -> Result<Vec<Hash>> {
        queued_hashes(&self.conn, doc)
    }

    /// The server stored these changes: they leave the queue.
    pub fn ack(&mut self, doc: &str, hashes: &[Hash]) -> Result<()> {
        let tx = self.conn.transaction()?;
        dequeue(&tx, doc, hashes)?;
        tx.commit()?;
        Ok(())
    }

    /// A page of a bucket's snapshot: merge each document in; after the last page the cursor moves to `upto`.
    pub fn apply_snapshot(
        &mut self,
        bucket: &str,
        docs: &[(String, Vec<u8>)],
        upto: u64,
        last: bool,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        for (id, bytes) in docs {
            merge_doc(&tx, bucket, id, bytes)?;
        }
        if last {
            set_cursor(&tx, bucket, upto)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// A page of a bucket's log: apply every entry, then move the cursor, in one transaction.
    pub fn apply_changes(&mut self, bucket: &str, entries: &[Entry], upto: u64) -> Result<()> {
        let tx = self.conn.transaction()?;
        // Tasks that become this user's in this page are announced (not those a first sync brings).
        let mut ids: Vec<&str> = entries.iter().map(|e| e.doc.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        let owners_before = crate::work::task_owners(&tx, &ids)?;
        // Group consecutive changes per document so each document is loaded and saved once per page.
        let mut batch: BTreeMap<&str, Vec<automerge::Change>> = BTreeMap::new();
        let flush = |tx: &Transaction<'_>,
                     batch: &mut BTreeMap<&str, Vec<automerge::Change>>|
         -> Result<()> {
            for (id, changes) in std::mem::take(batch) {
                apply_doc_changes(tx, bucket, id, changes)?;
            }
            Ok(())
        };
        for e in entries {
            match &e.op {
                EntryOp::Change(bytes) => match automerge::Change::from_bytes(bytes.clone()) {
                    Ok(c) => batch.entry(e.doc.as_str()).or_default().push(c),
                    Err(err) => {
                        tracing::warn!(doc = %e.doc, error = %err, "undecodable change from server skipped")
                    }
                },
                EntryOp::Doc(bytes) => {
                    flush(&tx, &mut batch)?;
                    merge_doc(&tx, bucket, &e.doc, bytes)?;
                }
                EntryOp::Remove => {
                    flush(&tx, &mut batch)?;
                    leave_bucket(&tx, bucket, &e.doc)?;
                }
            }
        }
        flush(&tx, &mut batch)?;
        crate::work::note_arrivals(&tx, &ids, &owners_before, crate::now_ms())?;
        set_cursor(&tx, bucket, upto)?;
        tx.commit()?;
        Ok(())
    }

    /// The server refused `hashes`: rebuild the document without them (and what depends on them), drop them from
    /// the queue, and keep what they wrote in the refused-edits inbox.
    pub fn refuse(
        &mut self,
        doc_id: &str,
        hashes: &[Hash],
        path: &str,
        error: &AppError,
        now: i64,
    ) -> Result<Vec<Hash>> {
        let tx = self.conn.transaction()?;
        let queued = queued_hashes(&tx, doc_id)?;
        let orphan: Option<(String, String)> = tx
            .query_row(
                "SELECT title, content FROM orphans WHERE doc_id = ?1",
                [doc_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (title, content, dropped) = match load_doc(&tx, doc_id)? {
            // The device no longer holds the document: its queued edits chain on each other, so all of them go.
            None => {
                let Some((title, content)) = orphan else {
                    tx.commit()?;
                    return Ok(Vec::new());
                };
                (title, content, queued.clone())
            }
            Some(mut doc) => {
                let known: Vec<Hash> = hashes
                    .iter()
                    .copied()
                    .filter(|h| doc.get_change_by_hash(&ChangeHash(*h)).is_some())
                    .collect();
                if !hashes.is_empty()
                    && known.is_empty()
                    && !hashes.iter().any(|h| queued.contains(h))
                {
                    // Already handled (the same refusal twice): nothing more to drop or to show.
                    tx.commit()?;
                    return Ok(Vec::new());
                }
                let (title, content) = describe(&doc, doc_id);
                let kind = read_kind(&tx, doc_id)?;
                let (mut fresh, mut dropped) = rebuild_without(&mut doc, &known);
                if fresh.get_heads().is_empty() {
                    // The refused change created the document: nothing of it remains.
                    purge(&tx, doc_id)?;
                } else {
                    store_doc(&tx, doc_id, kind, &mut fresh)?;
                }
                // Refused changes leave the queue even when the document no longer has them.
                dropped.extend(hashes.iter().filter(|h| queued.contains(h)));
                dropped.sort_unstable();
                dropped.dedup();
                (title, content, dropped)
            }
        };
        dequeue(&tx, doc_id, &dropped)?;
        let args = serde_json::to_string(&error.args).unwrap_or_else(|_| "{}".into());
        tx.execute(
            "INSERT INTO refused (doc_id, title, path, code, args, content, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![doc_id, title, path, error.code, args, content, now],
        )?;
        tx.commit()?;
        Ok(dropped)
    }

    /// The server lacks dependencies of `hashes`. If we still have them pending they will be sent again; if not,
    /// the changes can never be accepted and go to the inbox like a refusal.
    pub fn missing_deps(
        &mut self,
        doc_id: &str,
        hashes: &[Hash],
        missing: &[Hash],
        now: i64,
    ) -> Result<bool> {
        let pending = self.pending_for(doc_id)?;
        if missing.iter().all(|m| pending.contains(m)) {
            return Ok(true);
        }
        self.refuse(
            doc_id,
            hashes,
            "",
            &AppError::new(codes::MISSING_DEPENDENCY),
            now,
        )?;
        Ok(false)
    }

    pub fn refused_edits(&self) -> Result<Vec<RefusedEditView>> {
        let mut st = self.conn.prepare_cached(
            "SELECT id, doc_id, title, path, code, args, content, at FROM refused ORDER BY id DESC",
        )?;
        let rows = st.query_map([], |r| {
            let args: String = r.get(5)?;
            Ok(RefusedEditView {
                id: r.get(0)?,
                doc_id: r.get(1)?,
                title: r.get(2)?,
                path: r.get(3)?,
                error: AppError {
                    code: r.get(4)?,
                    args: serde_json::from_str(&args).unwrap_or_default(),
                },
                content: r.get(6)?,
                at: r.get(7)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    pub fn refused_count(&self) -> Result<u64> {
        Ok(self
            .conn
            .query_row("SELECT COUNT(*) FROM refused", [], |r| r.get(0))?)
    }

    pub fn dismiss_refused(&mut self, id: i64) -> Result<()> {
        self.conn
            .execute("DELETE FROM refused WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Writes a raw local change to a lead document as a device would, bypassing form validation. For tests and
    /// tools that need to make edits the server will judge (for example moving a lead to another team).
    pub fn edit_lead_raw(&mut self, id: &str, edit: impl FnOnce(&mut Lead)) -> Result<()> {
        let (actor, _) = self.actor()?;
        let tx = self.conn.transaction()?;
        let mut doc = load_doc(&tx, id)?.ok_or_else(|| ReplicaError::NotFound(id.to_string()))?;
        doc.set_actor(actor);
        let mut lead = Lead::load(&doc).map_err(|e| ReplicaError::Doc(id.into(), e.to_string()))?;
        edit(&mut lead);
        commit_local(&tx, id, &mut doc, &lead)?;
        tx.commit()?;
        Ok(())
    }
}

/// Writes `lead` into its document as one local change, queues the change and refreshes the row, in `tx`.
fn commit_local(tx: &Transaction<'_>, id: &str, doc: &mut AutoCommit, lead: &Lead) -> Result<()> {
    lead.save_into(doc)
        .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
    commit_change(tx, id, DocKind::Lead, doc)
}

/// Commits what was written into `doc` as one local change: queued for the server, document and row stored.
pub(crate) fn commit_change(
    tx: &Transaction<'_>,
    id: &str,
    kind: DocKind,
    doc: &mut AutoCommit,
) -> Result<()> {
    if doc.commit().is_some() {
        // Queued as automerge encodes it, never deflated: the server refuses compressed chunks unparsed.
        let change = doc.get_last_local_change().expect("just committed");
        tx.execute(
            "INSERT INTO pending (doc_id, hash, bytes) VALUES (?1, ?2, ?3)",
            params![id, &hash_of(&change.hash())[..], change.raw_bytes()],
        )?;
        store_doc(tx, id, kind, doc)?;
    }
    Ok(())
}

fn wipe(tx: &Transaction<'_>) -> Result<()> {
    for t in [
        "members",
        "docs",
        "doc_buckets",
        "pending",
        "cursors",
        "leads",
        "live_sessions",
        "refused",
        "tasks",
        "notices",
        "orphans",
        "import_issues",
        "import_jobs",
    ] {
        tx.execute(&format!("DELETE FROM {t}"), [])?;
    }
    tx.execute(
        "DELETE FROM meta WHERE key IN ('user_name', 'role', 'team_name')",
        [],
    )?;
    Ok(())
}

fn lead_select() -> String {
    let cols: Vec<String> = LEAD_COLUMNS.split(", ").map(|c| format!("l.{c}")).collect();
    format!(
        "SELECT {}, COALESCE(s.title, ''), COALESCE(m.name, ''), EXISTS (SELECT 1 FROM pending p WHERE p.doc_id = l.id)
         FROM leads l LEFT JOIN live_sessions s ON s.id = l.live_session LEFT JOIN members m ON m.id = l.owner",
        cols.join(", ")
    )
}

fn lead_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LeadView> {
    Ok(LeadView {
        id: r.get(0)?,
        team: r.get(1)?,
        buyer_name: r.get(2)?,
        company: r.get(3)?,
        country: r.get(4)?,
        phone: r.get(5)?,
        email: r.get(6)?,
        contact_kind: r.get(7)?,
        contact: r.get(8)?,
        channel: r.get(9)?,
        live_session: r.get(10)?,
        product_interest: r.get(11)?,
        quantity: r.get(12)?,
        notes: r.get(13)?,
        status: r.get(14)?,
        owner: r.get(15)?,
        created_by: r.get(16)?,
        created_at: r.get(17)?,
        updated_at: r.get(18)?,
        assigned_rule: r.get(19)?,
        assigned_rule_name: r.get(20)?,
        assigned_at: r.get(21)?,
        duplicate_of: r.get(22)?,
        contacts: {
            let json: String = r.get(24)?;
            serde_json::from_str(&json).unwrap_or_default()
        },
        language: r.get(25)?,
        extra: {
            let json: String = r.get(26)?;
            let stored: BTreeMap<String, String> = serde_json::from_str(&json).unwrap_or_default();
            let tz = jiff::tz::TimeZone::system();
            stored
                .iter()
                .filter_map(|(k, v)| {
                    let v = serde_json::from_str(v).ok()?;
                    Some((k.clone(), liveline_forms::form::as_input(&v, &tz)))
                })
                .collect()
        },
        live_session_title: r.get(27)?,
        owner_name: r.get(28)?,
        pending: r.get(29)?,
    })
}

pub(crate) fn load_doc(tx: &rusqlite::Connection, id: &str) -> Result<Option<AutoCommit>> {
    let bytes: Option<Vec<u8>> = tx
        .query_row("SELECT bytes FROM docs WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    match bytes {
        None => Ok(None),
        Some(b) => AutoCommit::load(&b)
            .map(Some)
            .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string())),
    }
}

fn read_kind(tx: &Transaction<'_>, id: &str) -> Result<DocKind> {
    let k: Option<String> = tx
        .query_row("SELECT kind FROM docs WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    Ok(k.and_then(|k| DocKind::from_code(&k))
        .unwrap_or(DocKind::Lead))
}

fn set_cursor(tx: &Transaction<'_>, bucket: &str, seq: u64) -> Result<()> {
    tx.execute(
        "INSERT INTO cursors (bucket, seq) VALUES (?1, ?2) ON CONFLICT (bucket) DO UPDATE SET seq = MAX(seq, ?2)",
        params![bucket, seq as i64],
    )?;
    Ok(())
}

/// Saves a document and refreshes its materialized row.
fn store_doc(tx: &Transaction<'_>, id: &str, kind: DocKind, doc: &mut AutoCommit) -> Result<()> {
    let bytes = doc.save();
    store_doc_bytes(tx, id, kind, doc, &bytes)
}

/// Stores `bytes` (the saved form of `doc`) and refreshes the materialized row.
fn store_doc_bytes(
    tx: &Transaction<'_>,
    id: &str,
    kind: DocKind,
    doc: &AutoCommit,
    bytes: &[u8],
) -> Result<()> {
    tx.execute(
        "INSERT INTO docs (id, kind, bytes) VALUES (?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET kind = ?2, bytes = ?3",
        params![id, kind.code(), bytes],
    )?;
    materialize(tx, id, kind, doc)
}

fn materialize(tx: &Transaction<'_>, id: &str, kind: DocKind, doc: &AutoCommit) -> Result<()> {
    match kind {
        DocKind::Lead => {
            let l =
                Lead::load(doc).map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
            insert_lead_row(tx, id, &l)?;
        }
        DocKind::Task => crate::work::materialize_task(tx, id, doc)?,
        // The rules, forms, flows and form records are read from their documents when needed.
        DocKind::AssignmentRules
        | DocKind::FormDef
        | DocKind::FlowDef
        | DocKind::Record
        | DocKind::RecordPart
        | DocKind::Dashboard => {}
        DocKind::LiveSession => {
            let s: LiveSession = autosurgeon::hydrate(doc)
                .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
            tx.execute(
                "INSERT OR REPLACE INTO live_sessions (id, title, platform, host, starts_at, ends_at, team)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, s.title, s.platform, s.host, s.starts_at, s.ends_at, s.team],
            )?;
        }
    }
    Ok(())
}

fn remember_bucket(tx: &Transaction<'_>, bucket: &str, id: &str) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO doc_buckets (bucket, doc_id) VALUES (?1, ?2)",
        params![bucket, id],
    )?;
    Ok(())
}

/// Merges a whole document from the server into the local one (or stores it when new).
fn merge_doc(tx: &Transaction<'_>, bucket: &str, id: &str, bytes: &[u8]) -> Result<()> {
    // The bytes come from the server over the authenticated socket and are the server's own saved document;
    // skipping the recomputation of every change hash makes a first sync several times faster.
    let mut remote = match AutoCommit::load_unverified_heads(bytes) {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(doc = %id, error = %e, "undecodable document from server skipped");
            return Ok(());
        }
    };
    let Ok(meta) = RecordMeta::read(&remote) else {
        tracing::warn!(doc = %id, "document without kind or team from server skipped");
        return Ok(());
    };
    remember_bucket(tx, bucket, id)?;
    match load_doc(tx, id)? {
        Some(mut local) => {
            local
                .merge(&mut remote)
                .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
            store_doc(tx, id, meta.kind, &mut local)
        }
        None => {
            let queued: Vec<automerge::Change> = {
                let mut st =
                    tx.prepare_cached("SELECT bytes FROM pending WHERE doc_id = ?1 ORDER BY id")?;
                let rows = st.query_map([id], |r| r.get::<_, Vec<u8>>(0))?;
                rows.filter_map(|b| b.ok().and_then(|b| automerge::Change::from_bytes(b).ok()))
                    .collect()
            };
            if queued.is_empty() {
                // A document new to this device is kept exactly as the server saved it.
                return store_doc_bytes(tx, id, meta.kind, &remote, bytes);
            }
            // It comes back while edits made before it went away are still queued: they go back in, so the next
            // local edit follows them (a new change with their sequence numbers would clash once they are stored).
            remote
                .apply_changes(queued)
                .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
            tx.execute("DELETE FROM orphans WHERE doc_id = ?1", [id])?;
            store_doc(tx, id, meta.kind, &mut remote)
        }
    }
}

fn apply_doc_changes(
    tx: &Transaction<'_>,
    bucket: &str,
    id: &str,
    changes: Vec<automerge::Change>,
) -> Result<()> {
    let mut doc = load_doc(tx, id)?.unwrap_or_default();
    doc.apply_changes(changes)
        .map_err(|e| ReplicaError::Doc(id.to_string(), e.to_string()))?;
    let Ok(meta) = RecordMeta::read(&doc) else {
        // The server's log is in dependency order, so this only happens with a damaged entry: skip, keep the rest.
        tracing::warn!(doc = %id, "changes that do not make a record skipped");
        return Ok(());
    };
    remember_bucket(tx, bucket, id)?;
    store_doc(tx, id, meta.kind, &mut doc)
}

/// The document left `bucket`; when no other bucket holds it, the device forgets it.
fn leave_bucket(tx: &Transaction<'_>, bucket: &str, id: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM doc_buckets WHERE bucket = ?1 AND doc_id = ?2",
        params![bucket, id],
    )?;
    let still: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM doc_buckets WHERE doc_id = ?1)",
        [id],
        |r| r.get(0),
    )?;
    if !still {
        purge(tx, id)?;
    }
    Ok(())
}

/// Forgets a document. Local edits of it the server has not answered stay queued (the server decides whether they
/// were made in time); what they wrote is kept aside for the refused-edits inbox, so no edit disappears unseen.
fn purge(tx: &Transaction<'_>, id: &str) -> Result<()> {
    let pending: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM pending WHERE doc_id = ?1)",
        [id],
        |r| r.get(0),
    )?;
    if pending {
        if let Some(doc) = load_doc(tx, id)? {
            let (title, content) = describe(&doc, id);
            tx.execute(
                "INSERT INTO orphans (doc_id, title, content) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (doc_id) DO UPDATE SET title = ?2, content = ?3",
                params![id, title, content],
            )?;
        }
    }
    for sql in [
        "DELETE FROM docs WHERE id = ?1",
        "DELETE FROM leads WHERE id = ?1",
        "DELETE FROM live_sessions WHERE id = ?1",
        "DELETE FROM tasks WHERE id = ?1",
        "DELETE FROM notices WHERE task_id = ?1",
        "DELETE FROM doc_buckets WHERE doc_id = ?1",
    ] {
        tx.execute(sql, [id])?;
    }
    Ok(())
}

/// A record's title and readable content, for the refused-edits inbox.
fn describe(doc: &AutoCommit, id: &str) -> (String, String) {
    match Lead::load(doc) {
        Ok(l) => (l.buyer_name.clone(), l.summary()),
        Err(_) => match liveline_domain::Task::load(doc) {
            Ok(t) => (t.title.clone(), t.title),
            Err(_) => (id.to_string(), String::new()),
        },
    }
}

/// The hashes of a document's changes waiting for the server, in the order they were made.
fn queued_hashes(conn: &Connection, doc: &str) -> Result<Vec<Hash>> {
    let mut st = conn.prepare_cached("SELECT hash FROM pending WHERE doc_id = ?1 ORDER BY id")?;
    let rows = st.query_map([doc], |r| {
        let h: Vec<u8> = r.get(0)?;
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&h[..32.min(h.len())]);
        Ok(hash)
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Removes answered changes from the queue; a set-aside document with nothing left queued is forgotten.
fn dequeue(tx: &Transaction<'_>, doc: &str, hashes: &[Hash]) -> Result<()> {
    for h in hashes {
        tx.execute(
            "DELETE FROM pending WHERE doc_id = ?1 AND hash = ?2",
            params![doc, &h[..]],
        )?;
    }
    tx.execute(
        "DELETE FROM orphans WHERE doc_id = ?1 AND NOT EXISTS (SELECT 1 FROM pending WHERE doc_id = ?1)",
        [doc],
    )?;
    Ok(())
}

/// Writes a lead's materialized row.
fn insert_lead_row(tx: &Transaction<'_>, id: &str, l: &Lead) -> Result<()> {
    let mut st = tx.prepare_cached(&format!(
            "INSERT OR REPLACE INTO leads ({LEAD_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)"
        ))?;
    let contacts = serde_json::to_string(&l.view(id).contacts).unwrap_or_else(|_| "[]".into());
    st.execute(params![
        id,
        l.team,
        l.buyer_name,
        l.company,
        l.country,
        l.phone,
        l.email,
        l.contact_kind,
        l.contact,
        l.channel,
        l.live_session,
        l.product_interest,
        l.quantity,
        l.notes,
        l.status,
        l.owner,
        l.created_by,
        l.created_at,
        l.updated_at,
        l.assigned_rule,
        l.assigned_rule_name,
        l.assigned_at,
        l.duplicate_of,
        l.first_contact_at(),
        contacts,
        l.language,
        serde_json::to_string(&l.extra).unwrap_or_else(|_| "{}".into())
    ])?;
    Ok(())
}

/// A new lead built away from the database (on another thread, for an import): its document's one change.
pub(crate) struct NewLead {
    pub id: String,
    pub lead: Lead,
    hash: Hash,
    change: Vec<u8>,
}

/// Writes `lead` as the first change of a new document by `actor`.
pub(crate) fn build_new_lead(actor: &ActorId, id: String, lead: Lead) -> NewLead {
    // Seconds, as automerge stamps a commit.
    let time = lead.created_at / 1000;
    let change = lead.new_change(actor, time);
    // The change as encoded, not deflated: deflating a lead's few hundred bytes took a third of the time to build
    // it, and saved about a hundred bytes.
    NewLead {
        hash: hash_of(&change.hash()),
        change: change.raw_bytes().to_vec(),
        id,
        lead,
    }
}

/// Stores a new lead: its change queued for the server, the document (a document of one change loads like a
/// saved one, so the change's bytes are stored as they are) and its row.
pub(crate) fn insert_new_lead(tx: &Transaction<'_>, n: &NewLead) -> Result<()> {
    tx.prepare_cached("INSERT INTO pending (doc_id, hash, bytes) VALUES (?1, ?2, ?3)")?
        .execute(params![n.id, &n.hash[..], n.change])?;
    tx.prepare_cached("INSERT INTO docs (id, kind, bytes) VALUES (?1, ?2, ?3)")?
        .execute(params![n.id, DocKind::Lead.code(), n.change])?;
    insert_lead_row(tx, &n.id, &n.lead)
}
