//! The Liveline sync server as a library: HTTP sign-in, the authenticated sync WebSocket, and the fan-out hub.
//!
//! `launch` takes a bound listener and a shutdown future, so tests run the real server in-process on port 0.

pub mod auth;
pub mod demo;
pub mod store;
mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
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
}

/// A bucket moved forward: connections holding it read the log from their cursor.
#[derive(Clone, Debug)]
pub(crate) enum Signal {
    Poke {
        bucket: String,
        seq: u64,
    },
    Revoked {
        device_id: String,
    },
    /// The server is stopping: sessions finish what they are doing and close.
    Shutdown,
}

pub struct Shared<S: Store> {
    pub store: S,
    pub(crate) hub: broadcast::Sender<Signal>,
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
    let app = router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    tracing::info!("sync server stopped");
    Ok(())
}

pub fn router<S: Store>(state: AppState<S>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/sign-in", post(sign_in::<S>))
        .route("/v1/sync", get(ws::upgrade::<S>))
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
pub struct ApiError(StatusCode, AppError);

impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        (self.0, Json(self.1)).into_response()
    }
}

async fn sign_in<S: Store>(
    State(state): State<AppState<S>>,
    Json(req): Json<SignInRequest>,
) -> Result<Json<SignInResponse>, ApiError> {
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
        tracing::info!(email = %req.email, "sign-in refused");
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
    std::fs::create_dir_all(&settings.data_dir)?;
    let store = SqliteStore::open(&settings.data_dir)?;
    let (hub, _) = broadcast::channel(4096);
    let state = Arc::new(Shared { store, hub });
    if settings.demo {
        demo::seed(&state.store)?;
    }
    Ok(state)
}
