//! One device's sync connection: authenticate the upgrade, answer `Hello` with snapshots and log pages per bucket,
//! judge pushes, and forward what other devices committed to the buckets this device holds.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use liveline_sync::{decode, encode, ClientMsg, Cursor, ServerMsg, MAX_FRAME};
use liveline_types::{codes, AppError};
use tokio::sync::{broadcast, mpsc};

use crate::session::{Pager, Session};
use crate::store::{DeviceAuth, Store};
use crate::{now_ms, AppState, Signal};

/// How many `Hello`s one connection may say within [`HELLO_WINDOW`] (the app says one per connection).
const HELLOS_PER_WINDOW: usize = 2;
const HELLO_WINDOW: std::time::Duration = std::time::Duration::from_secs(10);

/// How much a socket read asks for at once. tungstenite zero-fills this much on every read attempt (128 KiB by
/// default, which cost the server a sixth of its time in memset with 50 busy devices); sync frames are small, and a
/// larger frame still arrives whole, over several reads.
const READ_BUFFER: usize = 8 * 1024;

pub(crate) async fn upgrade<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let device = match crate::authenticate(&state, &headers).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    // A few connections per device and per user, opened at a bounded rate: one account opening sockets in a loop
    // cannot crowd out others.
    let slot = state
        .connects_per_user
        .check_key(&device.user_id)
        .ok()
        .and_then(|_| crate::ConnSlot::take(&state.conns, &device.device_id, &device.user_id));
    let Some(slot) = slot else {
        tracing::info!(device = %device.device_id, "too many connections refused");
        return crate::ApiError(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            AppError::new(codes::RATE_LIMITED),
        )
        .into_response();
    };
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .read_buffer_size(READ_BUFFER)
        .on_upgrade(move |socket| async move {
            session(state, device, socket).await;
            drop(slot);
        })
}

struct Conn<S: Store> {
    state: AppState<S>,
    session: Session,
    out: mpsc::Sender<Vec<u8>>,
    live: bool,
    /// When the device last said `Hello` on this connection (a client says it once; a loop of them is refused).
    hellos: Vec<std::time::Instant>,
    /// This connection's registration for pokes of the buckets it holds.
    id: u64,
    wake: std::sync::Arc<crate::Wake>,
}

async fn session<S: Store>(state: AppState<S>, device: DeviceAuth, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut rx) = mpsc::channel::<Vec<u8>>(32);
    let writer = tokio::spawn(async move {
        // Frames queued together go out in one write (and one system call) rather than one each.
        'out: while let Some(frame) = rx.recv().await {
            if sink.feed(Message::Binary(frame.into())).await.is_err() {
                break;
            }
            while let Ok(frame) = rx.try_recv() {
                if sink.feed(Message::Binary(frame.into())).await.is_err() {
                    break 'out;
                }
            }
            if sink.flush().await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut hub = state.hub.subscribe();
    let st = state.clone();
    let opened =
        tokio::task::spawn_blocking(move || Session::open(&st.store, device, now_ms())).await;
    let session = match opened {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "storage error opening a sync session");
            let _ = out
                .send(encode(&ServerMsg::Error {
                    error: AppError::new(codes::SERVER_STORAGE),
                    fatal: false,
                }))
                .await;
            drop(out);
            let _ = writer.await;
            return;
        }
        Err(_) => return,
    };
    tracing::info!(device = %session.device.device_id, user = %session.device.user_id, "device connected");
    let id = state.pokes.id();
    let mut conn = Conn {
        state,
        session,
        out,
        live: false,
        hellos: Vec::new(),
        id,
        wake: std::sync::Arc::default(),
    };

    loop {
        tokio::select! {
            msg = stream.next() => {
                let ok = match msg {
                    Some(Ok(Message::Binary(bytes))) => conn.on_frame(&bytes).await,
                    Some(Ok(Message::Text(_))) => conn.send(&ServerMsg::Error { error: AppError::new(codes::BAD_MESSAGE), fatal: false }).await,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => false,
                    Some(Ok(_)) => true,
                };
                if !ok { break; }
            }
            _ = conn.wake.notify.notified() => {
                if conn.live {
                    let dirty: Vec<String> = conn.wake.dirty.lock().unwrap().drain().collect();
                    let mut ok = true;
                    for b in dirty {
                        let pager = conn.session.catch_up(&b);
                        ok = ok && conn.run(pager).await;
                    }
                    if !ok { break; }
                }
            }
            sig = hub.recv() => {
                let ok = match sig {
                    Ok(Signal::Revoked { device_id }) if device_id == conn.session.device.device_id => {
                        conn.revoked().await
                    }
                    Ok(Signal::AccessChanged { user_id }) if user_id == conn.session.device.user_id => {
                        conn.access_changed().await
                    }
                    Ok(Signal::Shutdown) => false,
                    Ok(_) => true,
                    // News was missed (the connection was busy while many signals passed): whatever it was, the
                    // device's revocation and its user's memberships are read again, and the device re-subscribes.
                    Err(broadcast::error::RecvError::Lagged(_)) => conn.missed_news().await,
                    Err(broadcast::error::RecvError::Closed) => false,
                };
                if !ok { break; }
            }
        }
    }
    tracing::info!(device = %conn.session.device.device_id, "device disconnected");
    conn.state.pokes.release(conn.id);
    drop(conn);
    let _ = writer.await;
}

impl<S: Store> Conn<S> {
    async fn send(&self, msg: &ServerMsg) -> bool {
        self.out.send(encode(msg)).await.is_ok()
    }

    /// This device was revoked: it is told so (for good) and the connection ends (`false`).
    async fn revoked(&self) -> bool {
        tracing::info!(device = %self.session.device.device_id, "revoked device disconnected");
        let _ = self
            .send(&ServerMsg::Error {
                error: AppError::new(codes::DEVICE_REVOKED),
                fatal: true,
            })
            .await;
        false
    }

    async fn storage_error(&self, e: impl std::fmt::Display) -> bool {
        tracing::error!(error = %e, device = %self.session.device.device_id, "storage error");
        self.send(&ServerMsg::Error {
            error: AppError::new(codes::SERVER_STORAGE),
            fatal: false,
        })
        .await
    }

    async fn on_frame(&mut self, bytes: &[u8]) -> bool {
        match decode::<ClientMsg>(bytes) {
            Err(e) => {
                tracing::warn!(device = %self.session.device.device_id, error = %e, "bad frame");
                self.send(&ServerMsg::Error {
                    error: e.to_app_error(),
                    fatal: false,
                })
                .await
            }
            Ok(ClientMsg::Ping) => self.send(&ServerMsg::Pong).await,
            Ok(ClientMsg::Hello { cursors }) => {
                let now = std::time::Instant::now();
                self.hellos
                    .retain(|t| now.duration_since(*t) < HELLO_WINDOW);
                if self.hellos.len() >= HELLOS_PER_WINDOW {
                    tracing::info!(device = %self.session.device.device_id, "repeated Hello refused");
                    let _ = self
                        .send(&ServerMsg::Error {
                            error: AppError::new(codes::RATE_LIMITED),
                            fatal: true,
                        })
                        .await;
                    return false;
                }
                self.hellos.push(now);
                self.hello(cursors).await
            }
            Ok(ClientMsg::Push { docs }) => {
                self.throttle(bytes.len()).await && self.push(docs).await
            }
        }
    }

    /// Sends a pager's messages until it is done.
    async fn run(&mut self, mut pager: Pager) -> bool {
        loop {
            // The store's reads run off the async workers (which keep serving every other connection).
            let next =
                tokio::task::block_in_place(|| self.session.next(&self.state.store, &mut pager));
            match next {
                Ok(Some(msg)) => {
                    if !self.send(&msg).await {
                        return false;
                    }
                }
                Ok(None) => return true,
                Err(e) => return self.storage_error(e).await,
            }
        }
    }

    async fn hello(&mut self, cursors: Vec<Cursor>) -> bool {
        let hello = tokio::task::block_in_place(|| self.session.hello(&self.state.store, &cursors));
        let (welcome, pagers) = match hello {
            Ok(r) => r,
            Err(e) => return self.storage_error(e).await,
        };
        if !self.send(&welcome).await {
            return false;
        }
        // Wake this connection when one of its buckets moves (registered before catching up, so nothing committed
        // meanwhile is missed; a poke for what catching up already sent costs one empty read).
        self.state
            .pokes
            .hold(self.id, &self.session.buckets(), &self.wake);
        for pager in pagers {
            if !self.run(pager).await {
                return false;
            }
        }
        self.live = true;
        true
    }

    /// The connection missed signals: a revoked device is closed; otherwise it re-subscribes as after a change of
    /// access (memberships and team read again, every bucket caught up).
    async fn missed_news(&mut self) -> bool {
        if self.is_revoked().await {
            return self.revoked().await;
        }
        self.access_changed().await
    }

    async fn is_revoked(&self) -> bool {
        let st = self.state.clone();
        let device = self.session.device.device_id.clone();
        tokio::task::spawn_blocking(move || st.store.device_revoked(&device))
            .await
            .map(|r| r.unwrap_or(true))
            .unwrap_or(true)
    }

    /// An admin changed this user's roles or teams: read them again and send a new `Welcome`. The device drops
    /// buckets it no longer holds (and their documents); new buckets arrive as snapshots.
    async fn access_changed(&mut self) -> bool {
        tracing::info!(device = %self.session.device.device_id, "access changed; re-subscribing");
        let cursors = self.session.cursor_list();
        self.hello(cursors).await
    }

    /// Holds a push of `len` bytes until the user's push allowance covers it (the allowance belongs to the user,
    /// not the connection or the device: reconnecting or signing in another device does not renew it). Frames queue on the socket meanwhile. If the
    /// device is revoked or its user's access changes while it waits, the push is dropped unjudged and the
    /// connection closes (`false`): a revoked device writes nothing more, and a device whose access changed pushes
    /// again after reconnecting, judged by its new rights.
    async fn throttle(&self, len: usize) -> bool {
        let kib = u32::try_from(len.div_ceil(1024)).unwrap_or(u32::MAX).max(1);
        let burst = self.state.push_burst_kib;
        let limiter = &self.state.push_per_user;
        let device = &self.session.device.device_id;
        let key = &self.session.device.user_id;
        if let Some(n) = std::num::NonZeroU32::new(kib).filter(|n| *n <= burst) {
            if limiter.check_key_n(key, n).is_ok_and(|r| r.is_ok()) {
                return true;
            }
        }
        tracing::info!(device = %device, kib, "push slowed down: over the user's allowance");
        let mut hub = self.state.hub.subscribe();
        let user = &self.session.device.user_id;
        // A frame larger than one burst is charged a burst at a time.
        let mut left = kib;
        while let Some(n) = std::num::NonZeroU32::new(left.min(burst.get())) {
            tokio::select! {
                _ = limiter.until_key_n_ready(key, n) => left -= n.get(),
                sig = hub.recv() => match sig {
                    Ok(Signal::Revoked { device_id }) if device_id == *device => return self.revoked().await,
                    Ok(Signal::AccessChanged { user_id }) if user_id == *user => return false,
                    Ok(Signal::Shutdown) | Err(broadcast::error::RecvError::Closed) => return false,
                    // Missed news: a revoked device is closed; otherwise the device reconnects and its push is
                    // judged by its rights then.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return if self.is_revoked().await { self.revoked().await } else { false };
                    }
                    _ => {}
                },
            }
        }
        true
    }

    async fn push(&mut self, docs: Vec<liveline_sync::DocChanges>) -> bool {
        let state = self.state.clone();
        let now = now_ms();
        let pusher = self.session.pusher();
        let result =
            tokio::task::spawn_blocking(move || pusher.push(&state.store, docs, now)).await;
        let pushed = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return self.storage_error(e).await,
            Err(e) => return self.storage_error(e).await,
        };
        for r in &pushed.replies {
            if !self.send(r).await {
                return false;
            }
            if matches!(r, ServerMsg::Error { fatal: true, .. }) {
                return false;
            }
        }
        for bucket in &pushed.touched {
            self.state.pokes.poke(bucket);
        }
        crate::notify::deliver(&self.state, pushed.events);
        true
    }
}
