//! One device's sync connection: authenticate the upgrade, answer `Hello` with snapshots and log pages per bucket,
//! judge pushes, and forward what other devices committed to the buckets this device holds.

use std::collections::HashMap;

use automerge::ActorId;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use liveline_domain::doc::uuid_bytes;
use liveline_domain::policy::Principal;
use liveline_domain::{DocKind, Lead, RecordMeta};
use liveline_sync::{decode, encode, ingest, ClientMsg, Cursor, ServerMsg, MAX_FRAME, PAGE};
use liveline_types::{codes, AppError};
use tokio::sync::{broadcast, mpsc};

use crate::automation::Automations;
use crate::store::{AuditNote, DeviceAuth, DocCommit, Store};
use crate::{now_ms, AppState, Signal};

pub(crate) async fn upgrade<S: Store>(
    State(state): State<AppState<S>>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let device = match crate::authenticate(&state, &headers).await {
        Ok(d) => d,
        Err(e) => return e.into_response(),
    };
    ws.max_message_size(MAX_FRAME)
        .max_frame_size(MAX_FRAME)
        .on_upgrade(move |socket| session(state, device, socket))
}

struct Conn<S: Store> {
    state: AppState<S>,
    device: DeviceAuth,
    principal: Principal,
    /// The automerge actors this connection may push changes of: this device's and the user's earlier devices'.
    actors: Vec<ActorId>,
    out: mpsc::Sender<Vec<u8>>,
    cursors: HashMap<String, u64>,
    live: bool,
    /// This connection's registration for pokes of the buckets it holds.
    id: u64,
    wake: std::sync::Arc<crate::Wake>,
}

async fn session<S: Store>(state: AppState<S>, device: DeviceAuth, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (out, mut rx) = mpsc::channel::<Vec<u8>>(32);
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let mut hub = state.hub.subscribe();
    let principal = device.principal();
    {
        let st = state.clone();
        let id = device.device_id.clone();
        let _ = tokio::task::spawn_blocking(move || st.store.touch_device(&id, now_ms())).await;
    }
    let actor_of = |id: &str| uuid_bytes::parse(id).map(|b| ActorId::from(&b[..]));
    let mut actors: Vec<ActorId> = actor_of(&device.device_id).into_iter().collect();
    {
        let st = state.clone();
        let user = device.user_id.clone();
        if let Ok(Ok(ids)) = tokio::task::spawn_blocking(move || st.store.user_devices(&user)).await
        {
            actors.extend(ids.iter().filter_map(|id| actor_of(id)));
        }
    }
    tracing::info!(device = %device.device_id, user = %device.user_id, "device connected");
    let state_pokes_id = state.pokes.id();
    let mut conn = Conn {
        state,
        device,
        principal,
        actors,
        out,
        cursors: HashMap::new(),
        live: false,
        id: state_pokes_id,
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
                        if conn.cursors.contains_key(&b) {
                            ok = ok && conn.catch_up(&b).await;
                        }
                    }
                    if !ok { break; }
                }
            }
            sig = hub.recv() => {
                let ok = match sig {
                    Ok(Signal::Revoked { device_id }) if device_id == conn.device.device_id => {
                        tracing::info!(device = %device_id, "revoked device disconnected");
                        let _ = conn.send(&ServerMsg::Error { error: AppError::new(codes::DEVICE_REVOKED), fatal: true }).await;
                        false
                    }
                    Ok(Signal::AccessChanged { user_id }) if user_id == conn.device.user_id => {
                        conn.access_changed().await
                    }
                    Ok(Signal::Shutdown) => false,
                    Ok(_) => true,
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let buckets: Vec<String> = conn.cursors.keys().cloned().collect();
                        let mut ok = true;
                        for b in buckets { ok = ok && conn.catch_up(&b).await; }
                        ok
                    }
                    Err(broadcast::error::RecvError::Closed) => false,
                };
                if !ok { break; }
            }
        }
    }
    tracing::info!(device = %conn.device.device_id, "device disconnected");
    conn.state.pokes.release(conn.id);
    drop(conn);
    let _ = writer.await;
}

impl<S: Store> Conn<S> {
    async fn send(&self, msg: &ServerMsg) -> bool {
        self.out.send(encode(msg)).await.is_ok()
    }

    async fn storage_error(&self, e: impl std::fmt::Display) -> bool {
        tracing::error!(error = %e, device = %self.device.device_id, "storage error");
        self.send(&ServerMsg::Error {
            error: AppError::new(codes::STORAGE),
            fatal: false,
        })
        .await
    }

    async fn on_frame(&mut self, bytes: &[u8]) -> bool {
        match decode::<ClientMsg>(bytes) {
            Err(e) => {
                tracing::warn!(device = %self.device.device_id, error = %e, "bad frame");
                self.send(&ServerMsg::Error {
                    error: e.to_app_error(),
                    fatal: false,
                })
                .await
            }
            Ok(ClientMsg::Ping) => self.send(&ServerMsg::Pong).await,
            Ok(ClientMsg::Hello { cursors }) => self.hello(cursors).await,
            Ok(ClientMsg::Push { docs }) => self.push(docs).await,
        }
    }

    async fn hello(&mut self, cursors: Vec<Cursor>) -> bool {
        let members = match self.state.store.members(&self.device.team_id) {
            Ok(m) => m,
            Err(e) => return self.storage_error(e).await,
        };
        let buckets = self.principal.subscriptions();
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
        if !self.send(&welcome).await {
            return false;
        }
        // Wake this connection when one of its buckets moves (registered before catching up, so nothing committed
        // meanwhile is missed; a poke for what catching up already sent costs one empty read).
        self.state.pokes.hold(self.id, &buckets, &self.wake);
        // The server decides the buckets; cursors for anything else the client names are ignored.
        self.cursors = buckets
            .iter()
            .map(|b| {
                (
                    b.clone(),
                    cursors
                        .iter()
                        .find(|c| &c.bucket == b)
                        .map(|c| c.seq)
                        .unwrap_or(0),
                )
            })
            .collect();
        for b in &buckets {
            if self.cursors[b] == 0 && !self.snapshot(b).await {
                return false;
            }
            if !self.catch_up(b).await {
                return false;
            }
        }
        self.live = true;
        true
    }

    /// Sends every document of a bucket in pages; the cursor becomes the log position taken before the first page,
    /// so anything committed while paging is sent again from the log (applying it twice changes nothing).
    async fn snapshot(&mut self, bucket: &str) -> bool {
        let store = &self.state.store;
        let (upto, total) = match (store.high_water(bucket), store.bucket_size(bucket)) {
            (Ok(h), Ok(t)) => (h, t),
            (Err(e), _) | (_, Err(e)) => return self.storage_error(e).await,
        };
        if upto == 0 {
            return true;
        }
        let mut after = String::new();
        loop {
            let page = match self.state.store.snapshot_page(bucket, &after, PAGE) {
                Ok(p) => p,
                Err(e) => return self.storage_error(e).await,
            };
            let last = page.len() < PAGE;
            after = page.last().map(|d| d.0.clone()).unwrap_or_default();
            let msg = ServerMsg::Snapshot {
                bucket: bucket.to_string(),
                docs: page,
                upto,
                last,
                total,
            };
            if !self.send(&msg).await {
                return false;
            }
            if last {
                break;
            }
        }
        self.cursors.insert(bucket.to_string(), upto);
        true
    }

    /// Sends the bucket's log after the device's cursor, in pages, then `CaughtUp`.
    async fn catch_up(&mut self, bucket: &str) -> bool {
        let mut cursor = self.cursors.get(bucket).copied().unwrap_or(0);
        loop {
            let entries = match self.state.store.read_log(bucket, cursor, PAGE) {
                Ok(e) => e,
                Err(e) => return self.storage_error(e).await,
            };
            let Some(last) = entries.last() else { break };
            let upto = last.seq;
            let full = entries.len() == PAGE;
            if !self
                .send(&ServerMsg::Changes {
                    bucket: bucket.to_string(),
                    entries,
                    upto,
                })
                .await
            {
                return false;
            }
            cursor = upto;
            if !full {
                break;
            }
        }
        self.cursors.insert(bucket.to_string(), cursor);
        self.send(&ServerMsg::CaughtUp {
            bucket: bucket.to_string(),
            seq: cursor,
        })
        .await
    }

    /// An admin changed this user's roles or teams: read them again and send a new `Welcome`. The device drops
    /// buckets it no longer holds (and their documents); new buckets arrive as snapshots.
    async fn access_changed(&mut self) -> bool {
        let st = self.state.clone();
        let user = self.device.user_id.clone();
        let found = tokio::task::spawn_blocking(move || st.store.memberships(&user)).await;
        let memberships = match found {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => return self.storage_error(e).await,
            Err(e) => return self.storage_error(e).await,
        };
        tracing::info!(device = %self.device.device_id, "access changed; re-subscribing");
        self.device.memberships = memberships;
        self.principal = self.device.principal();
        let cursors = self
            .cursors
            .iter()
            .map(|(bucket, seq)| Cursor {
                bucket: bucket.clone(),
                seq: *seq,
            })
            .collect();
        self.hello(cursors).await
    }

    async fn push(&mut self, docs: Vec<liveline_sync::DocChanges>) -> bool {
        let state = self.state.clone();
        let principal = self.principal.clone();
        let actors = self.actors.clone();
        let device_id = self.device.device_id.clone();
        let now = now_ms();
        let result = tokio::task::spawn_blocking(move || {
            state.store.write(
                |reader| {
                    let mut commits = Vec::new();
                    let mut replies = Vec::new();
                    let mut auto = Automations::new(reader, now);
                    for d in docs {
                        if uuid_bytes::parse(&d.doc).is_none() {
                            let hashes = Vec::new();
                            let error = AppError::new(codes::BAD_MESSAGE).with("doc", d.doc.chars().take(64).collect::<String>());
                            replies.push(ServerMsg::Refused { doc: d.doc, hashes, path: String::new(), error });
                            continue;
                        }
                        let before = auto.load(&d.doc).ok().flatten();
                        let created = before.is_none();
                        // Only a lead's previous state is needed (by the automations); other kinds skip the hydration.
                        let lead_before = before
                            .as_ref()
                            .filter(|b| RecordMeta::read(b).is_ok_and(|m| m.kind == DocKind::Lead))
                            .and_then(|b| Lead::load(b).ok());
                        let out = ingest(before, &d.changes, &principal, &actors);
                        let mut acked = out.duplicates.clone();
                        acked.extend(out.accepted.iter().map(|a| a.0));
                        if !acked.is_empty() {
                            replies.push(ServerMsg::Ack { doc: d.doc.clone(), hashes: acked });
                        }
                        for (hashes, path, error) in out.refused {
                            tracing::info!(doc = %d.doc, code = %error.code, path = %path, "change refused");
                            replies.push(ServerMsg::Refused { doc: d.doc.clone(), hashes, path, error });
                        }
                        for (hashes, missing) in out.missing {
                            replies.push(ServerMsg::MissingDeps { doc: d.doc.clone(), hashes, missing });
                        }
                        if let (Some(mut doc), Some(meta)) = (out.doc, out.meta_after) {
                            let mut changes: Vec<Vec<u8>> = out.accepted.into_iter().map(|a| a.1).collect();
                            let mut assignment = None;
                            if meta.kind == DocKind::Lead {
                                match auto.after_lead(&d.doc, &mut doc, lead_before.as_ref(), &principal.user_id) {
                                    Ok(o) => {
                                        changes.extend(o.change);
                                        assignment = o.assignment;
                                        commits.extend(o.extra);
                                    }
                                    // The lead is stored all the same; only the automation is missed.
                                    Err(e) => tracing::error!(doc = %d.doc, error = %e, "lead automation failed"),
                                }
                            }
                            let audit = AuditNote {
                                user_id: principal.user_id.clone(),
                                created,
                                fields: out.changed_fields,
                            };
                            if let Some(mut c) = DocCommit::of(&d.doc, &mut doc, changes, Some(audit)) {
                                c.assignment = assignment;
                                commits.push(c);
                                auto.wrote(&d.doc, &doc);
                            }
                        }
                    }
                    let events = std::mem::take(&mut auto.events);
                    (commits, (replies, events))
                },
                Some(&device_id),
                now,
            )
        })
        .await;
        let ((replies, events), touched) = match result {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return self.storage_error(e).await,
            Err(e) => return self.storage_error(e).await,
        };
        for r in &replies {
            if !self.send(r).await {
                return false;
            }
        }
        for (bucket, _) in touched {
            self.state.pokes.poke(&bucket);
        }
        crate::notify::deliver(&self.state, events);
        true
    }
}
