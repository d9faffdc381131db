//! The test kit: a real sync server in-process on a loopback port, and devices with real SQLite replicas.
//! Integration tests, end-to-end tests and the benchmarks all drive Liveline through it.

pub mod sim;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use liveline_replica::{sign_in, Replica, SyncClient, SyncHandle};
use liveline_sync_server::{open_state, serve, AppState, Settings, SqliteStore};
use liveline_types::{LeadInput, LeadQuery, LeadView, SaveOutcome, TaskQuery, TaskView};
use tokio::sync::oneshot;

pub struct TestServer {
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub state: AppState<SqliteStore>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn start(dir: &Path) -> Self {
        Self::start_on(dir, "127.0.0.1:0".parse().unwrap()).await
    }

    /// Starts on `addr` (port 0 for any), retrying briefly while a previous server's port is released.
    pub async fn start_on(dir: &Path, addr: SocketAddr) -> Self {
        Self::start_with(dir, addr, |_| {}).await
    }

    /// Starts with the demo team and settings changed by `f`.
    pub async fn start_with(dir: &Path, addr: SocketAddr, f: impl FnOnce(&mut Settings)) -> Self {
        // The tests' webhook receivers listen on loopback, as an on-premises ERP would inside the network: the
        // operator allows that host by name (the webhook attack test starts a server without it).
        let mut settings = Settings {
            demo: true,
            webhook_allow_hosts: vec!["127.0.0.1".into()],
            ..Settings::new(dir)
        };
        f(&mut settings);
        let state = open_state(&settings).expect("server store opens");
        let mut tries = 0;
        let listener = loop {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) if tries < 50 => {
                    tries += 1;
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => panic!("bind {addr}: {e}"),
            }
        };
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let s = state.clone();
        let task = tokio::spawn(async move {
            serve(s, listener, async move {
                let _ = rx.await;
            })
            .await
            .expect("server runs");
        });
        TestServer {
            addr,
            dir: dir.to_path_buf(),
            state,
            stop: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server the way a signal does, and waits until it has.
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("server stops")
            .unwrap();
    }
}

pub struct Device {
    pub replica: Arc<Mutex<Replica>>,
    pub sync: Option<SyncHandle>,
    pub path: PathBuf,
}

impl Device {
    /// A device signed in as `email` (demo password) with its own replica file in `dir`.
    pub async fn sign_in(server: &TestServer, dir: &Path, email: &str) -> Device {
        let path = dir.join(format!("{}.sqlite3", email.replace('@', "_")));
        let mut replica = Replica::open(&path).expect("replica opens");
        let creds = sign_in(&server.url(), email, "demo", "test")
            .await
            .expect("sign-in works");
        replica.set_credentials(&creds).unwrap();
        Device {
            replica: Arc::new(Mutex::new(replica)),
            sync: None,
            path,
        }
    }

    /// A device signed in as `email`, online and caught up.
    pub async fn ready(server: &TestServer, dir: &Path, email: &str) -> Device {
        let mut d = Device::sign_in(server, dir, email).await;
        d.online();
        d.synced().await;
        d
    }

    pub fn online(&mut self) {
        if self.sync.is_none() {
            self.sync = Some(SyncClient::spawn(self.replica.clone()));
        }
    }

    pub async fn offline(&mut self) {
        if let Some(s) = self.sync.take() {
            s.stop().await;
        }
    }

    pub async fn synced(&self) {
        self.synced_within(Duration::from_secs(30)).await
    }

    pub async fn synced_within(&self, limit: Duration) {
        let s = self.sync.as_ref().expect("device is online");
        if let Err(status) = s.wait_synced(limit).await {
            panic!("device did not sync: {status:?}");
        }
    }

    /// Tells the sync client there is something to send (the shell does this after every save).
    pub fn nudge(&self) {
        if let Some(s) = &self.sync {
            s.nudge();
        }
    }

    pub fn capture(&self, input: &LeadInput) -> LeadView {
        let out = self
            .replica
            .lock()
            .unwrap()
            .save_lead(None, input, liveline_replica::now_ms())
            .unwrap();
        if let Some(s) = &self.sync {
            s.nudge();
        }
        match out {
            SaveOutcome::Saved { lead } => lead,
            SaveOutcome::Invalid { errors } => panic!("invalid lead: {errors:?}"),
        }
    }

    pub fn edit(&self, id: &str, f: impl FnOnce(&mut LeadInput)) -> LeadView {
        let mut input = self.lead(id).to_input();
        f(&mut input);
        let out = self
            .replica
            .lock()
            .unwrap()
            .save_lead(Some(id), &input, liveline_replica::now_ms())
            .unwrap();
        if let Some(s) = &self.sync {
            s.nudge();
        }
        match out {
            SaveOutcome::Saved { lead } => lead,
            SaveOutcome::Invalid { errors } => panic!("invalid edit: {errors:?}"),
        }
    }

    pub fn lead(&self, id: &str) -> LeadView {
        self.replica.lock().unwrap().get_lead(id).unwrap()
    }

    pub fn find(&self, search: &str) -> Vec<LeadView> {
        let q = LeadQuery {
            search: search.into(),
            limit: 500,
            ..Default::default()
        };
        self.replica.lock().unwrap().list_leads(&q).unwrap().leads
    }

    /// Waits until a lead matching `search` is in this device's list (sync delivers it), and returns the matches.
    pub async fn wait_for(&self, search: &str) -> Vec<LeadView> {
        for _ in 0..200 {
            let found = self.find(search);
            if !found.is_empty() {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{search:?} never arrived on this device");
    }

    pub fn count(&self) -> u64 {
        self.replica.lock().unwrap().lead_count().unwrap()
    }

    /// The task center's list: `scope` `mine` or `team`, `when` a tab (`overdue`, `today`, `upcoming`, `done`)
    /// or empty for every open task.
    pub fn tasks(&self, scope: &str, when: &str) -> Vec<TaskView> {
        let q = TaskQuery {
            scope: scope.into(),
            when: when.into(),
            limit: 1000,
            ..Default::default()
        };
        self.replica
            .lock()
            .unwrap()
            .list_tasks(&q, liveline_replica::now_ms())
            .unwrap()
    }

    /// Every task this device holds about one record, open or not.
    pub fn tasks_of(&self, linked_id: &str) -> Vec<TaskView> {
        let r = self.replica.lock().unwrap();
        let mut out = Vec::new();
        for when in ["", "done"] {
            let q = TaskQuery {
                scope: "team".into(),
                when: when.into(),
                linked_id: linked_id.into(),
                limit: 1000,
                ..Default::default()
            };
            out.extend(r.list_tasks(&q, liveline_replica::now_ms()).unwrap());
        }
        out
    }

    /// This device's bearer token, for calling the HTTP API as its user.
    pub fn token(&self) -> String {
        self.replica
            .lock()
            .unwrap()
            .credentials()
            .unwrap()
            .unwrap()
            .token
    }
}

/// Polls `f` until it answers (sync delivers what it waits for), for up to 15 s; panics naming `what` otherwise.
pub async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..300 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what}: never happened");
}

pub fn lead(name: &str) -> LeadInput {
    LeadInput {
        buyer_name: name.into(),
        country: "US".into(),
        phone: "(201) 555-0123".into(),
        channel: "tiktok_live".into(),
        ..Default::default()
    }
}

/// A hand-crafted sync client on a real WebSocket: it sends exactly the frames a test builds, for testing what the
/// server does with input no well-behaved device would send.
pub mod raw {
    use futures_util::StreamExt;

    /// Sends without the `SinkExt` import at every call site.
    #[allow(async_fn_in_trait)]
    pub trait WsExt {
        async fn send_msg(&mut self, m: tokio_tungstenite::tungstenite::Message);
    }
    impl WsExt for Ws {
        async fn send_msg(&mut self, m: tokio_tungstenite::tungstenite::Message) {
            use futures_util::SinkExt;
            self.send(m).await.expect("send");
        }
    }
    use liveline_sync::{decode, encode, ClientMsg, DocChanges, ServerMsg};
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    use tokio_tungstenite::tungstenite::Message;

    use crate::TestServer;

    pub type Ws = tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >;

    pub async fn connect(
        server: &TestServer,
        token: Option<&str>,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut req = format!("ws://{}/v1/sync", server.addr)
            .into_client_request()
            .unwrap();
        if let Some(t) = token {
            req.headers_mut()
                .insert("authorization", format!("Bearer {t}").parse().unwrap());
        }
        tokio_tungstenite::connect_async(req)
            .await
            .map(|(ws, _)| ws)
    }

    pub async fn next(ws: &mut Ws) -> ServerMsg {
        loop {
            match ws.next().await.expect("server answers").expect("frame") {
                Message::Binary(b) => return decode(&b).expect("server frames decode"),
                _ => continue,
            }
        }
    }

    /// Reads until a message that is not part of catching up (welcome, snapshots, log pages).
    pub async fn next_reply(ws: &mut Ws) -> ServerMsg {
        loop {
            match next(ws).await {
                ServerMsg::Welcome { .. }
                | ServerMsg::Snapshot { .. }
                | ServerMsg::Changes { .. }
                | ServerMsg::CaughtUp { .. } => {}
                other => return other,
            }
        }
    }

    /// A `Push` frame of `changes` to one document.
    pub fn push(doc: &str, changes: Vec<Vec<u8>>) -> Message {
        Message::Binary(
            encode(&ClientMsg::Push {
                docs: vec![DocChanges {
                    doc: doc.into(),
                    changes,
                }],
            })
            .into(),
        )
    }

    pub fn hello() -> Message {
        Message::Binary(encode(&ClientMsg::Hello { cursors: vec![] }).into())
    }

    /// One round trip of a `Ping` on `ws` (other messages that arrive meanwhile are read and dropped).
    pub async fn round_trip(ws: &mut Ws) -> std::time::Duration {
        use futures_util::SinkExt;
        let t = std::time::Instant::now();
        let ping = Message::Binary(encode(&ClientMsg::Ping).into());
        ws.send(ping).await.expect("send");
        loop {
            if let ServerMsg::Pong = next(ws).await {
                return t.elapsed();
            }
        }
    }

    /// What a flood of `Hello`s met: connections refused at the door, and connections the server closed.
    #[derive(Default)]
    pub struct Flood {
        pub refused: std::sync::atomic::AtomicUsize,
        pub closed: std::sync::atomic::AtomicUsize,
        pub stop: std::sync::atomic::AtomicBool,
    }

    /// `sockets` connections of one account saying `Hello` as fast as their sockets take it (reading and dropping
    /// what the server sends), reconnecting when closed or refused, until `flood.stop` is set. An attack for the
    /// tests and the bench.
    pub fn hello_flood(
        server: &TestServer,
        token: &str,
        sockets: usize,
        flood: std::sync::Arc<Flood>,
    ) -> Vec<tokio::task::JoinHandle<()>> {
        use std::sync::atomic::Ordering;
        (0..sockets)
            .map(|_| {
                let (addr, token, flood) = (server.addr, token.to_string(), flood.clone());
                tokio::spawn(async move {
                    let url = format!("ws://{addr}/v1/sync");
                    while !flood.stop.load(Ordering::Relaxed) {
                        let mut req = url.as_str().into_client_request().unwrap();
                        req.headers_mut()
                            .insert("authorization", format!("Bearer {token}").parse().unwrap());
                        let Ok((ws, _)) = tokio_tungstenite::connect_async(req).await else {
                            flood.refused.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                            continue;
                        };
                        let (mut sink, mut stream) = ws.split();
                        let reader =
                            tokio::spawn(
                                async move { while let Some(Ok(_)) = stream.next().await {} },
                            );
                        while !flood.stop.load(Ordering::Relaxed) && !reader.is_finished() {
                            if futures_util::SinkExt::send(&mut sink, hello())
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                        if reader.is_finished() {
                            flood.closed.fetch_add(1, Ordering::Relaxed);
                        }
                        reader.abort();
                    }
                })
            })
            .collect()
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
