//! The Liveline sync server as a library: HTTP sign-in, the authenticated sync WebSocket, and the fan-out hub.
//!
//! `launch` takes a bound listener and a shutdown future, so tests run the real server in-process on port 0.

mod admin;
pub mod auth;
pub mod automation;
pub mod demo;
pub mod logs;
pub mod notify;
pub mod session;
pub mod store;
mod ws;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use liveline_types::{codes, AppError};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::broadcast;

pub use store::{SqliteStore, Store};

/// Where and how the server runs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub demo: bool,
    /// What one user's devices together may push, in KiB per second, and in one burst (a device back online after a day sends its
    /// queue within the burst; one that keeps pushing faster is slowed down, never refused).
    pub push_kib_per_s: u32,
    pub push_burst_kib: u32,
    /// Addresses of the reverse proxies in front of the server (a TLS terminator): for a request from one of them,
    /// the client's address is read from `X-Forwarded-For`; from anyone else the header is ignored.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Hosts webhooks may reach although they resolve inside the operator's network (an on-premises ERP), by name
    /// as written in the hook's URL. Every other internal address is refused, when a hook is saved and when sent.
    pub webhook_allow_hosts: Vec<String>,
}

/// 1 MiB/s per user, 16 MiB at once: a phone's day of leads is a few hundred KiB.
pub const PUSH_KIB_PER_S: u32 = 1024;
pub const PUSH_BURST_KIB: u32 = 16 * 1024;

impl Settings {
    pub fn new(data_dir: impl Into<PathBuf>) -> Settings {
        Settings {
            data_dir: data_dir.into(),
            demo: false,
            push_kib_per_s: PUSH_KIB_PER_S,
            push_burst_kib: PUSH_BURST_KIB,
            trusted_proxies: Vec::new(),
            webhook_allow_hosts: Vec::new(),
        }
    }
}

/// Rare news for every connection; each checks whether it is meant. (Log progress goes through `Pokes`, which
/// wakes only the connections holding the bucket.)
#[derive(Clone, Debug)]
pub(crate) enum Signal {
    Revoked {
        device_id: String,
    },
    /// A user's roles or teams changed: their connections re-subscribe.
    AccessChanged {
        user_id: String,
    },
    /// The server is stopping: sessions finish what they are doing and close.
    Shutdown,
}

/// One connection's wake-up: the buckets that moved since it last looked.
#[derive(Default)]
pub(crate) struct Wake {
    pub(crate) dirty: std::sync::Mutex<std::collections::HashSet<String>>,
    pub(crate) notify: tokio::sync::Notify,
}

/// Which connections hold which bucket, so a commit wakes only those (with 2,000 devices of 20 teams, waking every
/// connection for every commit is what limits fan-out).
#[derive(Default)]
pub(crate) struct Pokes {
    by_bucket: std::sync::Mutex<std::collections::HashMap<String, Vec<(u64, Arc<Wake>)>>>,
    next: std::sync::atomic::AtomicU64,
}

impl Pokes {
    pub(crate) fn id(&self) -> u64 {
        self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Registers connection `id` for exactly `buckets` (replacing what it held).
    pub(crate) fn hold(&self, id: u64, buckets: &[String], wake: &Arc<Wake>) {
        let mut map = self.by_bucket.lock().unwrap();
        map.retain(|_, v| {
            v.retain(|(c, _)| *c != id);
            !v.is_empty()
        });
        for b in buckets {
            map.entry(b.clone()).or_default().push((id, wake.clone()));
        }
    }

    pub(crate) fn release(&self, id: u64) {
        self.hold(id, &[], &Arc::default());
    }

    /// A commit moved `bucket`: wake the connections holding it.
    pub(crate) fn poke(&self, bucket: &str) {
        let map = self.by_bucket.lock().unwrap();
        if let Some(conns) = map.get(bucket) {
            for (_, w) in conns {
                w.dirty.lock().unwrap().insert(bucket.to_string());
                w.notify.notify_one();
            }
        }
    }
}

pub struct Shared<S: Store> {
    pub store: S,
    pub(crate) hub: broadcast::Sender<Signal>,
    pub(crate) pokes: Pokes,
    /// Sign-in attempts per e-mail and client address together (a password cannot be guessed at speed, and
    /// someone else's failures never lock the account's holder out), and per client address (a whole team behind
    /// one venue's NAT signs in at the start of a stream, so this one is wider).
    pub(crate) sign_in_per_pair: RateLimiter,
    pub(crate) sign_in_per_ip: RateLimiter,
    pub(crate) trusted_proxies: Vec<std::net::IpAddr>,
    /// Open sync connections per device and per user, and new ones per user a minute (a reconnect loop).
    pub(crate) conns: std::sync::Arc<Mutex<ConnCounts>>,
    pub(crate) connects_per_user: RateLimiter,
    /// Team switches per user: each one re-subscribes all of the user's connections.
    pub(crate) team_switch_per_user: RateLimiter,
    pub(crate) webhook_allow_hosts: notify::AllowedHosts,
    /// Pushed KiB per user (all their devices together), and the most one push may take at once (a larger frame
    /// waits for a full burst).
    pub(crate) push_per_user: RateLimiter,
    pub(crate) push_burst_kib: NonZeroU32,
}

pub(crate) type RateLimiter = governor::DefaultKeyedRateLimiter<String>;

/// Sign-in attempts allowed per minute for one e-mail from one client address (a burst of this many, then one
/// every 6 s).
pub const SIGN_IN_PER_EMAIL_MINUTE: u32 = 10;
/// Sync connections one device may hold open at once (the app holds one; a reconnect may overlap the old one).
pub const CONNECTIONS_PER_DEVICE: usize = 8;
/// Sync connections one user may hold open at once, over all their devices.
pub const CONNECTIONS_PER_USER: usize = 16;
/// New sync connections per user: a burst (a team's devices coming back online), then one a second.
pub const CONNECTS_PER_USER_MINUTE: u32 = 60;
pub const CONNECTS_PER_USER_BURST: u32 = 30;

#[derive(Default)]
pub(crate) struct ConnCounts {
    by_device: HashMap<String, usize>,
    by_user: HashMap<String, usize>,
}

/// One open sync connection's place in the counts, given back when dropped.
pub(crate) struct ConnSlot {
    counts: std::sync::Arc<Mutex<ConnCounts>>,
    device: String,
    user: String,
}

impl ConnSlot {
    /// A place for a new connection of `device` (of `user`), unless either is at its limit.
    pub(crate) fn take(
        counts: &std::sync::Arc<Mutex<ConnCounts>>,
        device: &str,
        user: &str,
    ) -> Option<ConnSlot> {
        let mut c = counts.lock().unwrap_or_else(|p| p.into_inner());
        let d = c.by_device.get(device).copied().unwrap_or(0);
        let u = c.by_user.get(user).copied().unwrap_or(0);
        if d >= CONNECTIONS_PER_DEVICE || u >= CONNECTIONS_PER_USER {
            return None;
        }
        *c.by_device.entry(device.to_string()).or_default() += 1;
        *c.by_user.entry(user.to_string()).or_default() += 1;
        Some(ConnSlot {
            counts: counts.clone(),
            device: device.to_string(),
            user: user.to_string(),
        })
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut guard = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let c = &mut *guard;
        for (map, key) in [
            (&mut c.by_device, &self.device),
            (&mut c.by_user, &self.user),
        ] {
            if let Some(n) = map.get_mut(key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(key);
                }
            }
        }
    }
}

/// Team switches allowed per minute for one user (a person switches a few times a day).
pub const TEAM_SWITCH_PER_MINUTE: u32 = 10;
/// Sign-in attempts allowed per minute from one client address.
pub const SIGN_IN_PER_IP_MINUTE: u32 = 60;

fn limiter(per_minute: u32) -> RateLimiter {
    governor::RateLimiter::keyed(governor::Quota::per_minute(
        NonZeroU32::new(per_minute).expect("non-zero"),
    ))
}

fn non_zero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least 1")
}

pub type AppState<S> = Arc<Shared<S>>;

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Opens the store, seeds the demo team when asked, and serves until `shutdown` resolves. Every acknowledged
/// change is already committed, so a shutdown at any point loses none.
pub async fn launch(
    settings: Settings,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = tokio::task::spawn_blocking(move || open_state(&settings)).await??;
    serve(state, listener, shutdown).await
}

/// Refuses to start on a data folder it cannot write, naming it (SQLite alone would say "readonly database" or
/// fail at the first push).
fn writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".liveline-write-check");
    std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::write(&probe, b"ok"))
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            anyhow::anyhow!(
                "the data folder {} cannot be written ({e}); the server keeps every change there, so it needs a \
                 writable folder with free space (--data-dir or LIVELINE_DATA_DIR)",
                dir.display()
            )
        })
}

/// Serves an already opened store.
pub async fn serve<S: Store>(
    state: AppState<S>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "sync server listening");
    let hub = state.hub.clone();
    let shutdown = async move {
        shutdown.await;
        let _ = hub.send(Signal::Shutdown);
    };
    let sweeper = tokio::spawn(sweep_forever(state.clone()));
    let app = router(state);
    // Small sync frames go out at once (Nagle's algorithm with delayed acks would hold some for ~40 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    served?;
    tracing::info!("sync server stopped");
    Ok(())
}

pub fn router<S: Store>(state: AppState<S>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/sign-in", post(sign_in::<S>))
        .route("/v1/sync", get(ws::upgrade::<S>))
        .route("/v1/me", get(admin::me::<S>))
        .route("/v1/me/team", put(admin::switch_team::<S>))
        .route(
            "/v1/admin/users",
            get(admin::users::<S>).post(admin::invite::<S>),
        )
        .route("/v1/admin/users/{id}/roles", put(admin::set_roles::<S>))
        .route("/v1/admin/devices", get(admin::devices::<S>))
        .route("/v1/admin/devices/{id}/revoke", post(admin::revoke::<S>))
        .route("/v1/admin/audit", get(admin::audit::<S>))
        .route(
            "/v1/admin/webhooks",
            get(admin::webhooks::<S>).put(admin::set_webhooks::<S>),
        )
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

#[derive(Deserialize)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
    #[serde(default)]
    pub device_name: String,
}

#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SignInResponse {
    pub token: String,
    pub device_id: String,
    pub user_id: String,
    pub team_id: String,
}

/// An error as the HTTP API answers it: a status and `{code, args}`.
pub struct ApiError(pub StatusCode, pub AppError);

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        (self.0, Json(self.1)).into_response()
    }
}

/// The device behind a request's `Authorization: Bearer` token, or 401 (`auth.unauthenticated`,
/// `auth.device_revoked`).
pub(crate) async fn authenticate<S: Store>(
    state: &AppState<S>,
    headers: &HeaderMap,
) -> Result<store::DeviceAuth, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    let unauthenticated = || {
        ApiError(
            StatusCode::UNAUTHORIZED,
            AppError::new(codes::UNAUTHENTICATED),
        )
    };
    let Some(token) = token else {
        return Err(unauthenticated());
    };
    let hash = auth::token_hash(&token);
    let st = state.clone();
    match tokio::task::spawn_blocking(move || st.store.device_by_token(&hash)).await {
        Ok(Ok(Some((device, false)))) => Ok(device),
        Ok(Ok(Some((_, true)))) => Err(ApiError(
            StatusCode::UNAUTHORIZED,
            AppError::new(codes::DEVICE_REVOKED),
        )),
        Ok(Ok(None)) => Err(unauthenticated()),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "authentication storage error");
            Err(ApiError(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_app_error(),
            ))
        }
        Err(_) => Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            AppError::new(codes::SERVER_ERROR),
        )),
    }
}

/// The client's address: the peer's, or for a request from a trusted proxy the nearest address in
/// `X-Forwarded-For` that is not a trusted proxy itself (each proxy appends the address it heard from; anything
/// left of that was written by the client, so it is not believed).
pub fn client_ip(
    peer: std::net::IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().parse::<std::net::IpAddr>())
        .collect::<std::result::Result<_, _>>()
        .unwrap_or_default();
    hops.into_iter()
        .rev()
        .find(|h| !trusted.contains(h))
        .unwrap_or(peer)
}

async fn sign_in<S: Store>(
    State(state): State<AppState<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: axum::http::HeaderMap,
    Json(req): Json<SignInRequest>,
) -> Result<Json<SignInResponse>, ApiError> {
    let client = client_ip(peer.ip(), &headers, &state.trusted_proxies);
    let ip_key = client.to_string();
    let pair_key = format!("{}\u{0}{ip_key}", req.email.trim().to_lowercase());
    for l in [&state.sign_in_per_pair, &state.sign_in_per_ip] {
        if l.len() > 100_000 {
            l.retain_recent();
        }
    }
    if state.sign_in_per_ip.check_key(&ip_key).is_err()
        || state.sign_in_per_pair.check_key(&pair_key).is_err()
    {
        tracing::warn!(client = %client, "sign-in rate limited");
        return Err(ApiError(
            StatusCode::TOO_MANY_REQUESTS,
            AppError::new(codes::RATE_LIMITED),
        ));
    }
    let internal = |e: store::StoreError| {
        tracing::error!(error = %e, "sign-in storage error");
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_app_error())
    };
    let st = state.clone();
    let email = req.email.clone();
    let user = tokio::task::spawn_blocking(move || {
        let user = st.store.user_by_email(&email)?;
        let ok = user
            .as_ref()
            .map(|u| auth::verify_password(&req.password, &u.password_hash))
            .unwrap_or_else(|| {
                // Spend the same time for unknown users, so timing does not reveal who has an account.
                auth::verify_password(&req.password, demo::DUMMY_HASH.as_str());
                false
            });
        Ok::<_, store::StoreError>(if ok { user } else { None })
    })
    .await
    .map_err(|_| {
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            AppError::new(codes::SERVER_ERROR),
        )
    })?
    .map_err(internal)?;
    let Some(user) = user else {
        // The typed e-mail is not logged: it may be a password typed into the wrong box.
        tracing::info!(client = %client, "sign-in refused");
        return Err(ApiError(
            StatusCode::UNAUTHORIZED,
            AppError::new(codes::BAD_CREDENTIALS),
        ));
    };
    let (token, hash) = auth::new_token();
    let device_id = uuid::Uuid::new_v4().to_string();
    let name = if req.device_name.is_empty() {
        "device".to_string()
    } else {
        req.device_name.chars().take(80).collect()
    };
    state
        .store
        .add_device(&device_id, &user.id, &name, &hash, now_ms())
        .map_err(internal)?;
    tracing::info!(user = %user.id, device = %device_id, "device signed in");
    Ok(Json(SignInResponse {
        token,
        device_id,
        user_id: user.id,
        team_id: user.team_id,
    }))
}

/// How often the server looks for overdue tasks.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

async fn sweep_forever<S: Store>(state: AppState<S>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let st = state.clone();
        match tokio::task::spawn_blocking(move || sweep(&st, now_ms())).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(tasks = n, "overdue tasks escalated"),
            Ok(Err(e)) => tracing::error!(error = %e, "escalation sweep failed"),
            _ => {}
        }
    }
}

/// Escalates every first-contact task overdue at `now` (see `automation::Automations::escalate`) and carries out
/// the time limits of approval steps that passed (`Automations::sweep_record`), pokes the devices holding what
/// changed and sends the teams' webhooks. Returns how many tasks and records it handled.
pub fn sweep<S: Store>(state: &AppState<S>, now: i64) -> store::Result<usize> {
    let ((n, events), touched) = state.store.write(
        |reader| {
            let ids = reader.overdue_tasks(now, 500).unwrap_or_else(|e| {
                tracing::error!(error = %e, "overdue tasks could not be read");
                Vec::new()
            });
            let records = reader.overdue_records(now, 500).unwrap_or_else(|e| {
                tracing::error!(error = %e, "overdue records could not be read");
                Vec::new()
            });
            let mut auto = automation::Automations::new(reader, now);
            let mut commits = Vec::new();
            for id in &ids {
                match auto.escalate(id) {
                    Ok(c) => commits.extend(c),
                    Err(e) => tracing::error!(task = %id, error = %e, "escalation failed"),
                }
            }
            // Approval steps whose time limit passed: remind, escalate or approve, as each flow says.
            for id in &records {
                match auto.sweep_record(id) {
                    Ok(c) => commits.extend(c),
                    Err(e) => tracing::error!(record = %id, error = %e, "time limit failed"),
                }
            }
            (
                commits,
                (ids.len() + records.len(), std::mem::take(&mut auto.events)),
            )
        },
        None,
        now,
    )?;
    for (bucket, _) in touched {
        state.pokes.poke(&bucket);
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        notify::deliver(state, events);
    }
    Ok(n)
}

/// Tells a user's open connections that their roles or teams changed.
pub fn access_changed<S: Store>(state: &AppState<S>, user_id: &str) {
    let _ = state.hub.send(Signal::AccessChanged {
        user_id: user_id.to_string(),
    });
}

/// Revokes a device: its token stops working and its open connection is closed at once.
pub fn revoke_device<S: Store>(state: &AppState<S>, device_id: &str) -> store::Result<bool> {
    let changed = state.store.revoke_device(device_id, now_ms())?;
    let _ = state.hub.send(Signal::Revoked {
        device_id: device_id.to_string(),
    });
    Ok(changed)
}

/// Opens the store in `settings.data_dir` as shared state, for tests and tools that need the handle.
pub fn open_state(settings: &Settings) -> anyhow::Result<AppState<SqliteStore>> {
    writable(&settings.data_dir)?;
    let store = SqliteStore::open(&settings.data_dir)?;
    let (hub, _) = broadcast::channel(4096);
    let state = Arc::new(Shared {
        store,
        hub,
        pokes: Pokes::default(),
        sign_in_per_pair: limiter(SIGN_IN_PER_EMAIL_MINUTE),
        sign_in_per_ip: limiter(SIGN_IN_PER_IP_MINUTE),
        trusted_proxies: settings.trusted_proxies.clone(),
        team_switch_per_user: limiter(TEAM_SWITCH_PER_MINUTE),
        conns: Default::default(),
        connects_per_user: governor::RateLimiter::keyed(
            governor::Quota::per_minute(non_zero(CONNECTS_PER_USER_MINUTE))
                .allow_burst(non_zero(CONNECTS_PER_USER_BURST)),
        ),
        webhook_allow_hosts: notify::AllowedHosts(Arc::new(settings.webhook_allow_hosts.clone())),
        push_per_user: governor::RateLimiter::keyed(
            governor::Quota::per_second(non_zero(settings.push_kib_per_s))
                .allow_burst(non_zero(settings.push_burst_kib)),
        ),
        push_burst_kib: non_zero(settings.push_burst_kib),
    });
    if settings.demo {
        demo::seed(&state.store)?;
    }
    Ok(state)
}
