//! The sync client: one authenticated WebSocket to the server, reconnecting with backoff, that pushes pending
//! changes, applies what the server sends, and publishes the sync state the UI shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use liveline_sync::{decode, encode, ClientMsg, ServerMsg, MAX_FRAME};
use liveline_types::{codes, AppError, SyncState, SyncStatus};
use rand::Rng;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

use crate::now_ms;
use crate::replica::{Credentials, Replica};
use crate::session::{ClientSession, Next};

/// Signs in on the server and returns the device's credentials. Wrong credentials and an unreachable server come
/// back as distinct codes.
pub async fn sign_in(
    server: &str,
    email: &str,
    password: &str,
    device_name: &str,
) -> Result<Credentials, AppError> {
    let server = server.trim().trim_end_matches('/').to_string();
    let base = crate::admin::base_url(&server);
    let resp = reqwest::Client::new()
        .post(format!("{base}/v1/sign-in"))
        .timeout(Duration::from_secs(20))
        .json(&serde_json::json!({ "email": email, "password": password, "device_name": device_name }))
        .send()
        .await
        .map_err(|_| AppError::new(codes::SERVER_UNREACHABLE).with("server", server.clone()))?;
    let resp = crate::admin::refusal(resp).await?;
    #[derive(serde::Deserialize)]
    struct Answer {
        token: String,
        device_id: String,
        user_id: String,
        team_id: String,
    }
    let a: Answer = resp
        .json()
        .await
        .map_err(|_| AppError::new(codes::SERVER_ERROR))?;
    Ok(Credentials {
        server: base,
        token: a.token,
        device_id: a.device_id,
        user_id: a.user_id,
        team_id: a.team_id,
        email: email.trim().to_lowercase(),
    })
}

/// Bytes exchanged on the sync socket (frames' payloads), for benchmarks and diagnostics.
#[derive(Default, Debug)]
pub struct Traffic {
    pub sent: AtomicU64,
    pub received: AtomicU64,
}

/// A running sync client.
pub struct SyncHandle {
    status: watch::Receiver<SyncStatus>,
    status_tx: Arc<watch::Sender<SyncStatus>>,
    nudge: Arc<Notify>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    pub traffic: Arc<Traffic>,
}

impl SyncHandle {
    /// Tells the client that there are new local changes to push.
    pub fn nudge(&self) {
        // Whoever looks next sees that something is on its way, before the client task has pushed it.
        self.status_tx.send_modify(|s| {
            s.pending += 1;
            if s.state == SyncState::Synced {
                s.state = SyncState::Syncing;
            }
        });
        self.nudge.notify_one();
    }

    pub fn status(&self) -> SyncStatus {
        self.status.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Waits until the client is connected, caught up and has nothing pending.
    pub async fn wait_synced(&self, limit: Duration) -> Result<(), SyncStatus> {
        let mut rx = self.status.clone();
        let ok = tokio::time::timeout(limit, async {
            rx.wait_for(|s| s.state == SyncState::Synced).await.is_ok()
        })
        .await
        .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(self.status())
        }
    }

    /// Stops the client and closes its connection.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

pub struct SyncClient;

/// Resolves once a stop was asked for (the guard of `wait_for` is not held across an await).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await.map(|_| ());
}

enum End {
    /// Try again after a pause.
    Retry(AppError),
    /// Do not retry: the device was refused (revoked, signed out).
    Fatal(AppError),
    Stopped,
}

type Shared = Arc<Mutex<Replica>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn with<T: Send + 'static>(
    replica: &Shared,
    f: impl FnOnce(&mut Replica) -> crate::replica::Result<T> + Send + 'static,
) -> Result<T, AppError> {
    let r = replica.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = lock(&r);
        f(&mut guard).map_err(|e| e.to_app_error())
    })
    .await
    .map_err(|_| AppError::new(codes::STORAGE))?
}

impl SyncClient {
    /// Starts syncing `replica` with the server it is signed in to.
    pub fn spawn(replica: Shared) -> SyncHandle {
        let initial = SyncStatus {
            state: SyncState::Offline,
            pending: 0,
            refused: 0,
            received: 0,
            applied: 0,
            last_error: None,
        };
        let (status_tx, status) = watch::channel(initial);
        let status_tx = Arc::new(status_tx);
        let nudge = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        let traffic = Arc::new(Traffic::default());
        let task = tokio::spawn(run(
            replica,
            status_tx.clone(),
            nudge.clone(),
            stop_rx,
            traffic.clone(),
        ));
        SyncHandle {
            status,
            status_tx,
            nudge,
            stop,
            task,
            traffic,
        }
    }
}

async fn run(
    replica: Shared,
    status: Arc<watch::Sender<SyncStatus>>,
    nudge: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
    traffic: Arc<Traffic>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let mut conn = Conn {
            replica: replica.clone(),
            status: &status,
            session: Arc::default(),
            connected: false,
            traffic: traffic.clone(),
        };
        let end = conn.session(&nudge, &mut stop).await;
        let was_connected = conn.connected;
        let (pending, refused) = with(&replica, |r| Ok((r.pending_count()?, r.refused_count()?)))
            .await
            .unwrap_or((0, 0));
        let offline = |e: Option<AppError>| SyncStatus {
            state: SyncState::Offline,
            pending,
            refused,
            received: 0,
            applied: 0,
            last_error: e,
        };
        match end {
            End::Stopped => {
                status.send_replace(offline(None));
                return;
            }
            End::Fatal(e) => {
                tracing::warn!(code = %e.code, "sync stopped by the server");
                status.send_replace(offline(Some(e)));
                stopped(&mut stop).await;
                return;
            }
            End::Retry(e) => {
                status.send_replace(offline(Some(e)));
                if was_connected {
                    backoff = Duration::from_millis(200);
                }
                let jitter = rand::thread_rng().gen_range(0..=backoff.as_millis() as u64 / 2);
                let pause = backoff + Duration::from_millis(jitter);
                backoff = (backoff * 2).min(Duration::from_secs(10));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stopped(&mut stop) => return,
                }
            }
        }
    }
}

struct Conn<'a> {
    replica: Shared,
    status: &'a watch::Sender<SyncStatus>,
    session: Arc<Mutex<ClientSession>>,
    connected: bool,
    traffic: Arc<Traffic>,
}

type Sink = futures_util::stream::SplitSink<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    Message,
>;

fn ws_url(server: &str) -> String {
    let s = server.trim_end_matches('/');
    let s = s
        .replacen("https://", "wss://", 1)
        .replacen("http://", "ws://", 1);
    format!("{s}/v1/sync")
}

impl Conn<'_> {
    async fn session(&mut self, nudge: &Notify, stop: &mut watch::Receiver<bool>) -> End {
        let creds = match with(&self.replica, |r| r.credentials()).await {
            Ok(Some(c)) => c,
            Ok(None) => return End::Fatal(AppError::new(codes::NOT_SIGNED_IN)),
            Err(e) => return End::Fatal(e),
        };
        let mut request = match ws_url(&creds.server).into_client_request() {
            Ok(r) => r,
            Err(_) => {
                return End::Fatal(
                    AppError::new(codes::SERVER_UNREACHABLE).with("server", creds.server),
                )
            }
        };
        let auth = format!("Bearer {}", creds.token)
            .parse()
            .expect("token is hex");
        request.headers_mut().insert("authorization", auth);
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_FRAME))
            .max_frame_size(Some(MAX_FRAME))
            // tungstenite zero-fills this much on every read attempt; sync frames are small.
            .read_buffer_size(8 * 1024);
        let connect = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
        let ws = tokio::select! {
            r = tokio::time::timeout(Duration::from_secs(15), connect) => r,
            _ = stopped(stop) => return End::Stopped,
        };
        let ws = match ws {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) => {
                let err = resp
                    .body()
                    .as_ref()
                    .and_then(|b| serde_json::from_slice::<AppError>(b).ok())
                    .unwrap_or_else(|| {
                        AppError::new(codes::SERVER_ERROR).with("status", resp.status().as_str())
                    });
                return if resp.status().as_u16() == 401 {
                    End::Fatal(err)
                } else {
                    End::Retry(err)
                };
            }
            _ => {
                return End::Retry(
                    AppError::new(codes::SERVER_UNREACHABLE).with("server", creds.server),
                )
            }
        };
        self.connected = true;
        let (mut sink, mut stream) = ws.split();
        self.publish(SyncState::Syncing, None).await;

        let session = self.session.clone();
        let hello = match with(&self.replica, move |r| lock(&session).hello(r)).await {
            Ok(h) => h,
            Err(e) => return End::Retry(e),
        };
        if let Err(e) = self.send(&mut sink, &hello).await {
            return e;
        }
        if let Err(e) = self.push(&mut sink).await {
            return e;
        }
        let mut ping = tokio::time::interval(Duration::from_secs(20));
        ping.tick().await;
        loop {
            tokio::select! {
                _ = stopped(stop) => {
                    let _ = sink.close().await;
                    return End::Stopped;
                }
                _ = nudge.notified() => {
                    if let Err(e) = self.push(&mut sink).await { return e; }
                }
                _ = ping.tick() => {
                    if let Err(e) = self.send(&mut sink, &ClientMsg::Ping).await { return e; }
                }
                frame = stream.next() => {
                    let bytes = match frame {
                        Some(Ok(Message::Binary(b))) => b,
                        Some(Ok(Message::Close(_))) | None | Some(Err(_)) => {
                            return End::Retry(AppError::new(codes::SERVER_UNREACHABLE).with("server", creds.server.clone()));
                        }
                        Some(Ok(_)) => continue,
                    };
                    self.traffic.received.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    let msg = match decode::<ServerMsg>(&bytes) {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "undecodable frame from server");
                            continue;
                        }
                    };
                    match self.on_message(msg, &mut sink).await {
                        Ok(()) => {}
                        Err(e) => return e,
                    }
                }
            }
        }
    }

    async fn send(&self, sink: &mut Sink, msg: &ClientMsg) -> Result<(), End> {
        let bytes = encode(msg);
        self.traffic
            .sent
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        sink.send(Message::Binary(bytes.into()))
            .await
            .map_err(|_| End::Retry(AppError::new(codes::SERVER_UNREACHABLE)))
    }

    /// Sends pending changes that are not already on their way.
    async fn push(&mut self, sink: &mut Sink) -> Result<(), End> {
        let session = self.session.clone();
        let msgs = with(&self.replica, move |r| lock(&session).push(r))
            .await
            .map_err(End::Retry)?;
        if msgs.is_empty() {
            // A nudge counted one more pending change before we looked; publish what is really there.
            self.publish(self.settled_state(), None).await;
            return Ok(());
        }
        for msg in &msgs {
            self.send(sink, msg).await?;
        }
        self.publish(SyncState::Syncing, None).await;
        Ok(())
    }

    async fn on_message(&mut self, msg: ServerMsg, sink: &mut Sink) -> Result<(), End> {
        let pong = msg == ServerMsg::Pong;
        let session = self.session.clone();
        // A replica that cannot store what arrived (a full disk, say) is tried again after a pause.
        let next = with(&self.replica, move |r| {
            lock(&session).on_message(r, msg, now_ms())
        })
        .await
        .map_err(End::Retry)?;
        match next {
            Next::Continue if pong => return Ok(()),
            Next::Continue => {}
            Next::Push => self.push(sink).await?,
            Next::Retry(e) => return Err(End::Retry(e)),
            Next::Fatal(e) => return Err(End::Fatal(e)),
        }
        self.publish(self.settled_state(), None).await;
        Ok(())
    }

    /// Synced once every bucket caught up and nothing is on its way; syncing otherwise.
    fn settled_state(&self) -> SyncState {
        if lock(&self.session).settled() {
            SyncState::Synced
        } else {
            SyncState::Syncing
        }
    }

    async fn publish(&self, mut state: SyncState, error: Option<AppError>) {
        let (pending, refused) = with(&self.replica, |r| {
            Ok((r.pending_count()?, r.refused_count()?))
        })
        .await
        .unwrap_or((0, 0));
        if state == SyncState::Synced && pending > 0 {
            state = SyncState::Syncing;
        }
        let applied = lock(&self.session).received;
        let received = if state == SyncState::Synced {
            0
        } else {
            applied
        };
        self.status.send_replace(SyncStatus {
            state,
            pending,
            refused,
            received,
            applied,
            last_error: error,
        });
    }
}
