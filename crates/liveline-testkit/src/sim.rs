//! The deterministic simulator: several devices and the server's sync logic in one thread, driven by one seed.
//!
//! Devices are real replicas (SQLite files) running the same `ClientSession` as the app; the server is the real
//! store running the same `Session` as the WebSocket handler, with the automations. Only the sockets are the
//! harness's: every frame is encoded and decoded with the real codec and waits in a connection's queue until the
//! seed's random schedule delivers it. The schedule interleaves connections, cuts them (a lost frame ends a TCP
//! connection, and what followed it is lost too), delivers frames twice, keeps a closed connection's last pushes
//! arriving at the server after the device reconnected, takes devices offline and online, crashes devices (their
//! in-memory state dropped, reopened from their files) and restarts the server from its store. Time is the
//! harness's clock, passed to every save, push and escalation sweep.
//!
//! After the faults the harness heals (everyone online, nothing lost any more) and checks the invariants:
//! every device holds exactly the documents of its buckets, each identical to the server's (same change heads) and
//! materialized into identical rows on every device holding it; every change a device committed is on the server
//! or was refused and sits in its author's refused-edits inbox; no upload queue is left. During the run, every
//! page a device receives must come from a bucket the server gives its user.
//!
//! Document ids and automerge's change timestamps come from the machine (uuid v7, wall clock); they do not change
//! what is decided, so a seed replays the same schedule, faults and outcome.

use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use automerge::{AutoCommit, ChangeHash};
use liveline_replica::replica::Credentials;
use liveline_replica::{ClientSession, Next, Replica};
use liveline_sync::{decode, encode, ClientMsg, Hash, ServerMsg};
use liveline_sync_server::session::{Pager, Session};
use liveline_sync_server::store::DeviceAuth;
use liveline_sync_server::{open_state, sweep, AppState, Settings, SqliteStore, Store};
use liveline_types::{LeadInput, SaveOutcome, TaskAction, TaskInput};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The command that replays one seed.
pub fn replay_command(seed: u64) -> String {
    format!(
        "LIVELINE_SIM_SEED={seed} cargo test -p liveline-testkit --test it -- sim::replay --nocapture"
    )
}

/// What one run did, for the test's summary line.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub seed: u64,
    pub local_changes: usize,
    pub delivered: usize,
    pub duplicated: usize,
    pub cut: usize,
    pub device_crashes: usize,
    pub server_restarts: usize,
    pub refused: usize,
    pub docs: usize,
}

struct Dev {
    name: &'static str,
    auth: DeviceAuth,
    path: PathBuf,
    replica: Option<Replica>,
    link: Option<usize>,
    online: bool,
    /// Every change this device committed locally: (document, hash).
    committed: Vec<(String, Hash)>,
}

/// One connection: frames each way, and each side's session while that side still has it open.
struct Link {
    dev: usize,
    up: VecDeque<Vec<u8>>,
    down: VecDeque<Vec<u8>>,
    client: Option<ClientSession>,
    server: Option<Session>,
    /// The server side answered `Hello`: pokes reach it.
    live: bool,
    /// Buckets that moved since the server side last caught this connection up.
    dirty: BTreeSet<String>,
}

pub struct Sim {
    rng: StdRng,
    dir: PathBuf,
    state: Option<AppState<SqliteStore>>,
    devs: Vec<Dev>,
    links: Vec<Link>,
    now: i64,
    report: Report,
    leads_made: u32,
}

const USERS: [(&str, &str, &str); 5] = [
    ("a1", "t1", "assistant"),
    ("r1", "t1", "sales_rep"),
    ("r2", "t1", "sales_rep"),
    ("l1", "t1", "sales_lead"),
    ("o1", "t2", "assistant"),
];

fn device_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{:012x}", i + 1)
}

type R<T> = Result<T, String>;

fn fail(seed: u64, what: impl std::fmt::Display) -> String {
    format!("seed {seed}: {what}\nreplay: {}", replay_command(seed))
}

impl Sim {
    /// A fresh team on a fresh store in `dir`: an assistant, two reps and a sales lead in team t1, an assistant in
    /// team t2, one device each.
    pub fn new(seed: u64, dir: &Path) -> R<Sim> {
        let err = |e: &dyn std::fmt::Display| fail(seed, e);
        let settings = Settings::new(dir.join("server"));
        let state = open_state(&settings).map_err(|e| err(&e))?;
        let store = &state.store;
        store.create_team("t1", "Team One").map_err(|e| err(&e))?;
        store.create_team("t2", "Team Two").map_err(|e| err(&e))?;
        let now = 1_796_000_000_000i64;
        let mut devs = Vec::new();
        for (i, (user, team, role)) in USERS.iter().enumerate() {
            store
                .create_user(user, team, &format!("{user}@sim.test"), user, role, "-")
                .map_err(|e| err(&e))?;
            let token = format!("sim-token-{user}");
            let hash = liveline_sync_server::auth::token_hash(&token);
            store
                .add_device(&device_id(i), user, "sim", &hash, now)
                .map_err(|e| err(&e))?;
            let (auth, _) = store
                .device_by_token(&hash)
                .map_err(|e| err(&e))?
                .ok_or_else(|| err(&"device not found"))?;
            let creds = Credentials {
                server: "http://sim".into(),
                token,
                device_id: device_id(i),
                user_id: user.to_string(),
                team_id: team.to_string(),
                email: format!("{user}@sim.test"),
            };
            let path = dir.join(format!("{user}.sqlite3"));
            let mut replica = Replica::open(&path).map_err(|e| err(&e))?;
            replica.set_credentials(&creds).map_err(|e| err(&e))?;
            devs.push(Dev {
                name: user,
                auth,
                path,
                replica: Some(replica),
                link: None,
                online: true,
                committed: Vec::new(),
            });
        }
        Ok(Sim {
            rng: StdRng::seed_from_u64(seed),
            dir: dir.to_path_buf(),
            state: Some(state),
            devs,
            links: Vec::new(),
            now,
            report: Report {
                seed,
                ..Default::default()
            },
            leads_made: 0,
        })
    }

    fn fail(&self, what: impl std::fmt::Display) -> String {
        fail(self.report.seed, what)
    }

    /// Runs `steps` random steps with faults, heals, and checks the invariants.
    pub fn run(mut self, steps: usize) -> R<Report> {
        for _ in 0..steps {
            self.now += self.rng.gen_range(0..1500);
            self.step()?;
        }
        self.heal()?;
        self.check()?;
        Ok(self.report)
    }

    fn step(&mut self) -> R<()> {
        let roll = self.rng.gen_range(0..100);
        match roll {
            0..=29 => self.local_op(),
            30..=54 => self.deliver_up(),
            55..=79 => self.deliver_down(),
            80..=86 => self.wake_one(),
            87..=90 => {
                // Go offline or online.
                let d = self.rng.gen_range(0..self.devs.len());
                self.devs[d].online = !self.devs[d].online;
                if !self.devs[d].online {
                    self.close_client(d);
                }
                self.connect_all()
            }
            91..=92 => {
                self.connect_all()?;
                Ok(())
            }
            93..=94 => self.crash_device(),
            95 => self.restart_server(),
            96 => self.escalate(),
            97 => self.change_role(),
            _ => {
                // The server notices a connection the device closed (until then its frames still arrive).
                let closed: Vec<usize> = (0..self.links.len())
                    .filter(|&l| self.links[l].client.is_none() && self.links[l].server.is_some())
                    .collect();
                if let Some(&l) = pick(&mut self.rng, &closed) {
                    self.links[l].server = None;
                    self.links[l].up.clear();
                }
                Ok(())
            }
        }
    }

    fn store(&self) -> &SqliteStore {
        &self.state.as_ref().expect("server is up").store
    }

    // ---- devices -------------------------------------------------------------------------------------------

    fn pending_hashes(r: &Replica) -> R<HashSet<(String, Hash)>> {
        Ok(r.pending(1_000_000)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| (p.doc, p.hash))
            .collect())
    }

    fn ids(path: &Path, table: &str) -> R<Vec<String>> {
        let conn = rusqlite::Connection::open(path).map_err(|e| e.to_string())?;
        let mut st = conn
            .prepare(&format!("SELECT id FROM {table} ORDER BY id"))
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| e.to_string())
    }

    /// A device edits: a new lead, an edit of a lead it holds (often the same field others edit), a forbidden
    /// edit the server must refuse, a new to-do, or an action on a task it holds.
    fn local_op(&mut self) -> R<()> {
        let running: Vec<usize> = (0..self.devs.len())
            .filter(|&d| self.devs[d].replica.is_some())
            .collect();
        let Some(&d) = pick(&mut self.rng, &running) else {
            return Ok(());
        };
        let now = self.now;
        let kind: u8 = self.rng.gen_range(0..100);
        let leads = Self::ids(&self.devs[d].path, "leads")?;
        let tasks = Self::ids(&self.devs[d].path, "tasks")?;
        let pick_lead = pick(&mut self.rng, &leads).cloned();
        let pick_task = pick(&mut self.rng, &tasks).cloned();
        let n = self.rng.gen_range(0..1000u32);
        self.leads_made += 1;
        let made = self.leads_made;
        let dev = &mut self.devs[d];
        let name = dev.name;
        let r = dev.replica.as_mut().expect("running");
        let before = Self::pending_hashes(r)?;
        let e = |e: liveline_replica::ReplicaError| format!("{name}: {e}");
        match (kind, pick_lead, pick_task) {
            (0..=34, _, _) | (35..=69, None, _) => {
                // A few phone numbers only, so returning buyers (duplicates) happen.
                let input = LeadInput {
                    buyer_name: format!("Buyer {made} of {name}"),
                    country: "US".into(),
                    phone: format!("(201) 555-01{:02}", n % 12),
                    channel: "tiktok_live".into(),
                    ..Default::default()
                };
                let out = r.save_lead(None, &input, now).map_err(e)?;
                if let SaveOutcome::Invalid { errors } = out {
                    return Err(format!("{name}: a valid lead was refused: {errors:?}"));
                }
            }
            (35..=64, Some(id), _) => {
                let mut input = r.get_lead(&id).map_err(e)?.to_input();
                match n % 3 {
                    0 => input.notes = format!("note {n} by {name}"),
                    1 => input.quantity = (n % 500).to_string(),
                    _ => input.company = format!("Company {n}"),
                }
                // An edit that no longer validates (a field changed elsewhere) is simply not saved.
                let _ = r.save_lead(Some(&id), &input, now).map_err(e)?;
            }
            (65..=69, Some(id), _) => {
                // Moving a lead to another team: the server refuses it.
                r.edit_lead_raw(&id, |l| l.team = "t2".into()).map_err(e)?;
            }
            (70..=84, _, _) | (_, _, None) => {
                let input = TaskInput {
                    title: format!("Call back {n}"),
                    due_at: now + 3_600_000,
                    ..Default::default()
                };
                let _ = r.create_task(&input, now).map_err(e)?;
            }
            (_, _, Some(id)) => {
                let action = match n % 3 {
                    0 => TaskAction::Complete,
                    1 => TaskAction::Comment {
                        text: format!("comment {n} by {name}"),
                    },
                    _ => TaskAction::Snooze {
                        until: now + 600_000,
                    },
                };
                let _ = r.task_action(&id, &action, now).map_err(e)?;
            }
        }
        let after = Self::pending_hashes(r)?;
        let fresh: Vec<(String, Hash)> = after.difference(&before).cloned().collect();
        self.report.local_changes += fresh.len();
        dev.committed.extend(fresh);
        // The app nudges its sync client after a save.
        if let Some(l) = dev.link {
            self.client_push(l)?;
        }
        Ok(())
    }

    fn client_push(&mut self, l: usize) -> R<()> {
        let d = self.links[l].dev;
        let (Some(client), Some(r)) =
            (self.links[l].client.as_mut(), self.devs[d].replica.as_ref())
        else {
            return Ok(());
        };
        for msg in client.push(r).map_err(|e| e.to_string())? {
            self.links[l].up.push_back(encode(&msg));
        }
        Ok(())
    }

    /// Opens a connection for every running, online device without one (the server must be up).
    fn connect_all(&mut self) -> R<()> {
        if self.state.is_none() {
            return Ok(());
        }
        for d in 0..self.devs.len() {
            let dev = &self.devs[d];
            if dev.link.is_some() || !dev.online || dev.replica.is_none() {
                continue;
            }
            let session = Session::open(self.store(), dev.auth.clone(), self.now)
                .map_err(|e| self.fail(format!("session opens: {e}")))?;
            let client = ClientSession::default();
            let r = dev.replica.as_ref().expect("running");
            let hello = client.hello(r).map_err(|e| e.to_string())?;
            self.links.push(Link {
                dev: d,
                up: VecDeque::from([encode(&hello)]),
                down: VecDeque::new(),
                client: Some(client),
                server: Some(session),
                live: false,
                dirty: BTreeSet::new(),
            });
            let l = self.links.len() - 1;
            self.devs[d].link = Some(l);
            self.client_push(l)?;
        }
        Ok(())
    }

    /// The device side closes its connection (it went offline or crashed); the server notices later.
    fn close_client(&mut self, d: usize) {
        if let Some(l) = self.devs[d].link.take() {
            self.links[l].client = None;
            self.links[l].down.clear();
        }
    }

    /// A lost frame: TCP gives up on the connection, and both sides see it end.
    fn cut(&mut self, l: usize) {
        self.report.cut += 1;
        let link = &mut self.links[l];
        link.client = None;
        link.server = None;
        link.up.clear();
        link.down.clear();
        if self.devs[link.dev].link == Some(l) {
            self.devs[link.dev].link = None;
        }
    }

    fn crash_device(&mut self) -> R<()> {
        let d = self.rng.gen_range(0..self.devs.len());
        if self.devs[d].replica.is_some() {
            self.report.device_crashes += 1;
            self.close_client(d);
            self.devs[d].replica = None;
        } else {
            let r = Replica::open(&self.devs[d].path)
                .map_err(|e| self.fail(format!("{} reopens: {e}", self.devs[d].name)))?;
            self.devs[d].replica = Some(r);
        }
        Ok(())
    }

    // ---- server ----------------------------------------------------------------------------------------------

    fn restart_server(&mut self) -> R<()> {
        self.report.server_restarts += 1;
        for l in 0..self.links.len() {
            let link = &mut self.links[l];
            if link.client.is_some() || link.server.is_some() {
                link.client = None;
                link.server = None;
                link.up.clear();
                link.down.clear();
                let d = link.dev;
                if self.devs[d].link == Some(l) {
                    self.devs[d].link = None;
                }
            }
        }
        self.state = None;
        let settings = Settings::new(self.dir.join("server"));
        self.state =
            Some(open_state(&settings).map_err(|e| self.fail(format!("server reopens: {e}")))?);
        Ok(())
    }

    /// An admin makes the second rep a sales lead (who reads the whole team), or a rep again (who reads only
    /// their own leads): their open connection gets a new `Welcome`, and the device must drop what it no longer
    /// may read.
    fn change_role(&mut self) -> R<()> {
        let Some(state) = self.state.clone() else {
            return Ok(());
        };
        let d = USERS.iter().position(|u| u.0 == "r2").expect("r2 exists");
        let lead_now = self.devs[d].auth.roles_here().contains("sales_lead");
        let role = if lead_now { "sales_rep" } else { "sales_lead" };
        let e = |e: liveline_sync_server::store::StoreError| fail(self.report.seed, e);
        state.store.set_roles("r2", "t1", role).map_err(e)?;
        let memberships = state.store.memberships("r2").map_err(e)?;
        self.devs[d].auth.memberships = memberships.clone();
        for l in 0..self.links.len() {
            if self.links[l].dev != d || !self.links[l].live {
                continue;
            }
            let Some(session) = self.links[l].server.as_mut() else {
                continue;
            };
            let cursors = session.cursor_list();
            let (welcome, pagers) = session
                .hello(&state.store, &cursors)
                .map_err(|e| fail(self.report.seed, format!("hello: {e}")))?;
            self.links[l].down.push_back(encode(&welcome));
            for p in pagers {
                self.run_pager(l, p)?;
            }
        }
        Ok(())
    }

    /// Half an hour passes and the server's sweep escalates overdue first-contact tasks.
    fn escalate(&mut self) -> R<()> {
        self.now += 31 * 60_000;
        let Some(state) = self.state.as_ref() else {
            return Ok(());
        };
        sweep(state, self.now).map_err(|e| self.fail(format!("sweep: {e}")))?;
        // The sweep pokes through the live registry, which the harness does not use: wake every connection.
        for link in &mut self.links {
            if let (Some(s), true) = (&link.server, link.live) {
                link.dirty.extend(s.buckets());
            }
        }
        Ok(())
    }

    /// Runs a pager to its end, queueing what it sends on the link.
    fn run_pager(&mut self, l: usize, mut pager: Pager) -> R<()> {
        let state = self.state.as_ref().expect("server is up");
        let link = &mut self.links[l];
        let Some(session) = link.server.as_mut() else {
            return Ok(());
        };
        let dev = &self.devs[link.dev];
        let allowed = dev.auth.principal().subscriptions();
        while let Some(msg) = session
            .next(&state.store, &mut pager)
            .map_err(|e| fail(self.report.seed, format!("pager: {e}")))?
        {
            // No page from a bucket the server does not give this user at the time it sends it.
            if let ServerMsg::Snapshot { bucket, .. } | ServerMsg::Changes { bucket, .. } = &msg {
                if !allowed.contains(bucket) {
                    return Err(fail(
                        self.report.seed,
                        format!(
                            "{} was sent a page of {bucket}, not one of its buckets {allowed:?}",
                            dev.name
                        ),
                    ));
                }
            }
            link.down.push_back(encode(&msg));
        }
        Ok(())
    }

    /// Takes the next frame of a ready connection, in order, one way (`up`: to the server) as the network
    /// delivers it: sometimes the connection is cut instead, sometimes the frame stays queued to arrive again.
    fn next_frame(&mut self, up: bool) -> Option<(usize, Vec<u8>)> {
        let ready: Vec<usize> = (0..self.links.len())
            .filter(|&l| {
                let k = &self.links[l];
                if up {
                    k.server.is_some() && !k.up.is_empty()
                } else {
                    k.client.is_some() && !k.down.is_empty()
                }
            })
            .collect();
        let &l = pick(&mut self.rng, &ready)?;
        if up && self.state.is_none() {
            return None;
        }
        if self.rng.gen_range(0..100) < 2 {
            self.cut(l);
            return None;
        }
        let duplicate = self.rng.gen_range(0..100) < 3;
        let link = &mut self.links[l];
        let queue = if up { &mut link.up } else { &mut link.down };
        let frame = if duplicate {
            self.report.duplicated += 1;
            queue.front().cloned()
        } else {
            queue.pop_front()
        };
        self.report.delivered += 1;
        Some((l, frame.expect("ready")))
    }

    /// The server reads the next frame of a connection.
    fn deliver_up(&mut self) -> R<()> {
        match self.next_frame(true) {
            Some((l, frame)) => self.server_receives(l, &frame),
            None => Ok(()),
        }
    }

    fn server_receives(&mut self, l: usize, frame: &[u8]) -> R<()> {
        let msg =
            decode::<ClientMsg>(frame).map_err(|e| self.fail(format!("client frame: {e}")))?;
        let state = self.state.clone().expect("server is up");
        match msg {
            ClientMsg::Hello { cursors } => {
                let session = self.links[l].server.as_mut().expect("open");
                let (welcome, pagers) = session
                    .hello(&state.store, &cursors)
                    .map_err(|e| fail(self.report.seed, format!("hello: {e}")))?;
                self.links[l].down.push_back(encode(&welcome));
                self.links[l].live = true;
                for p in pagers {
                    self.run_pager(l, p)?;
                }
            }
            ClientMsg::Push { docs } => {
                let pusher = self.links[l].server.as_ref().expect("open").pusher();
                let pushed = pusher
                    .push(&state.store, docs, self.now)
                    .map_err(|e| self.fail(format!("push: {e}")))?;
                for r in &pushed.replies {
                    if matches!(r, ServerMsg::Refused { .. }) {
                        self.report.refused += 1;
                    }
                    self.links[l].down.push_back(encode(r));
                }
                for link in &mut self.links {
                    if let (Some(s), true) = (&link.server, link.live) {
                        for b in &pushed.touched {
                            if s.holds(b) {
                                link.dirty.insert(b.clone());
                            }
                        }
                    }
                }
            }
            ClientMsg::Ping => self.links[l].down.push_back(encode(&ServerMsg::Pong)),
        }
        Ok(())
    }

    /// A poked connection catches up the buckets that moved.
    fn wake_one(&mut self) -> R<()> {
        let ready: Vec<usize> = (0..self.links.len())
            .filter(|&l| self.links[l].server.is_some() && !self.links[l].dirty.is_empty())
            .collect();
        let Some(&l) = pick(&mut self.rng, &ready) else {
            return Ok(());
        };
        self.wake(l)
    }

    fn wake(&mut self, l: usize) -> R<()> {
        if self.state.is_none() {
            return Ok(());
        }
        let dirty = std::mem::take(&mut self.links[l].dirty);
        for b in dirty {
            let pager = self.links[l].server.as_ref().expect("open").catch_up(&b);
            self.run_pager(l, pager)?;
        }
        Ok(())
    }

    /// The device reads the next frame of its connection.
    fn deliver_down(&mut self) -> R<()> {
        match self.next_frame(false) {
            Some((l, frame)) => self.device_receives(l, &frame),
            None => Ok(()),
        }
    }

    fn device_receives(&mut self, l: usize, frame: &[u8]) -> R<()> {
        let msg =
            decode::<ServerMsg>(frame).map_err(|e| self.fail(format!("server frame: {e}")))?;
        let d = self.links[l].dev;
        let now = self.now;
        let client = self.links[l].client.as_mut().expect("open");
        let r = self.devs[d]
            .replica
            .as_mut()
            .expect("a device with a link runs");
        let next = client.on_message(r, msg, now).map_err(|e| {
            fail(
                self.report.seed,
                format!("{} applies: {e}", self.devs[d].name),
            )
        })?;
        match next {
            Next::Continue => {}
            Next::Push => self.client_push(l)?,
            Next::Retry(e) => {
                return Err(self.fail(format!("server error {} for {}", e.code, self.devs[d].name)))
            }
            Next::Fatal(e) => {
                return Err(self.fail(format!("fatal {} for {}", e.code, self.devs[d].name)))
            }
        }
        Ok(())
    }

    // ---- healing and invariants ------------------------------------------------------------------------------

    /// Everyone comes back online with a sound network; frames flow until nothing moves.
    fn heal(&mut self) -> R<()> {
        if self.state.is_none() {
            self.restart_server()?;
        }
        for d in 0..self.devs.len() {
            self.devs[d].online = true;
            if self.devs[d].replica.is_none() {
                let r = Replica::open(&self.devs[d].path).map_err(|e| e.to_string())?;
                self.devs[d].replica = Some(r);
            }
        }
        // Connections the devices closed are noticed by the server.
        for link in &mut self.links {
            if link.client.is_none() {
                link.server = None;
                link.up.clear();
            }
        }
        self.connect_all()?;
        for _round in 0..10_000 {
            let mut moved = false;
            for l in 0..self.links.len() {
                while self.links[l].server.is_some() && !self.links[l].up.is_empty() {
                    let f = self.links[l].up.pop_front().expect("non-empty");
                    self.server_receives(l, &f)?;
                    moved = true;
                }
                if self.links[l].server.is_some() && !self.links[l].dirty.is_empty() {
                    self.wake(l)?;
                    moved = true;
                }
                while self.links[l].client.is_some() && !self.links[l].down.is_empty() {
                    let f = self.links[l].down.pop_front().expect("non-empty");
                    self.device_receives(l, &f)?;
                    moved = true;
                }
            }
            if !moved {
                let unsettled: Vec<&str> = self
                    .devs
                    .iter()
                    .filter(|d| {
                        let l = d.link.expect("connected");
                        !self.links[l].client.as_ref().is_some_and(|c| c.settled())
                    })
                    .map(|d| d.name)
                    .collect();
                if unsettled.is_empty() {
                    return Ok(());
                }
                return Err(self.fail(format!(
                    "sync stalled after healing: {unsettled:?} never settled"
                )));
            }
        }
        Err(self.fail("frames kept flowing after healing"))
    }

    fn check(&mut self) -> R<()> {
        let store = self.store();
        let mut rows: BTreeMap<String, (String, String)> = BTreeMap::new();
        let mut server_docs = BTreeSet::new();
        for dev in &self.devs {
            let r = dev.replica.as_ref().expect("running");
            let pending = r.pending_count().map_err(|e| e.to_string())?;
            if pending > 0 {
                return Err(self.fail(format!("{} still has {pending} changes queued", dev.name)));
            }
            // Exactly the documents of its buckets.
            let mut expected = BTreeSet::new();
            for b in dev.auth.principal().subscriptions() {
                for (id, _) in store
                    .snapshot_page(&b, "", 1_000_000)
                    .map_err(|e| e.to_string())?
                {
                    expected.insert(id);
                }
            }
            let held: BTreeSet<String> = Self::ids(&dev.path, "docs")?.into_iter().collect();
            if held != expected {
                let missing: Vec<_> = expected.difference(&held).collect();
                let extra: Vec<_> = held.difference(&expected).collect();
                return Err(self.fail(format!(
                    "{} holds the wrong documents: missing {missing:?}, not its own {extra:?}",
                    dev.name
                )));
            }
            // Each identical to the server's, and materialized the same on every device.
            for id in &held {
                let mine = heads(
                    &r.doc_bytes(id)
                        .map_err(|e| e.to_string())?
                        .unwrap_or_default(),
                );
                let server = heads(
                    &store
                        .doc(id)
                        .map_err(|e| e.to_string())?
                        .unwrap_or_default(),
                );
                if mine != server {
                    return Err(self.fail(format!(
                        "{} differs from the server on {id}: {} heads against {}",
                        dev.name,
                        mine.len(),
                        server.len()
                    )));
                }
                server_docs.insert(id.clone());
                let row = match r.get_lead(id) {
                    Ok(lead) => format!("{lead:?}"),
                    Err(_) => match r.get_task(id) {
                        Ok(task) => format!("{task:?}"),
                        Err(_) => String::new(),
                    },
                };
                match rows.get(id) {
                    Some((other, seen)) if seen != &row => {
                        return Err(self.fail(format!(
                            "row of {id} differs between {other} and {}:\n{seen}\n{row}",
                            dev.name
                        )))
                    }
                    Some(_) => {}
                    None => {
                        rows.insert(id.clone(), (dev.name.to_string(), row));
                    }
                }
            }
            // Every change it committed is on the server, or was refused and is in its inbox.
            let inbox: BTreeSet<String> = r
                .refused_edits()
                .map_err(|e| e.to_string())?
                .into_iter()
                .map(|e| e.doc_id)
                .collect();
            for (doc, hash) in &dev.committed {
                let stored = store
                    .doc(doc)
                    .map_err(|e| e.to_string())?
                    .and_then(|b| AutoCommit::load(&b).ok())
                    .is_some_and(|mut d| d.get_change_by_hash(&ChangeHash(*hash)).is_some());
                if !stored && !inbox.contains(doc) {
                    return Err(self.fail(format!(
                        "{}'s change to {doc} is neither on the server nor in its refused inbox",
                        dev.name
                    )));
                }
            }
        }
        self.report.docs = server_docs.len();
        Ok(())
    }
}

fn heads(bytes: &[u8]) -> Vec<ChangeHash> {
    let mut h = AutoCommit::load(bytes)
        .map(|mut d| d.get_heads())
        .unwrap_or_default();
    h.sort();
    h
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> Option<&'a T> {
    if items.is_empty() {
        None
    } else {
        Some(&items[rng.gen_range(0..items.len())])
    }
}

/// Runs one seed in a fresh folder under `root`.
pub fn run_seed(seed: u64, steps: usize, root: &Path) -> R<Report> {
    let dir = root.join(format!("seed-{seed}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let out = Sim::new(seed, &dir)?.run(steps);
    if out.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    out
}
