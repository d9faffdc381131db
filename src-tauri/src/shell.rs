//! The shell's state: the replica (or why it could not open), and the running sync client.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use liveline_replica::replica::Credentials;
use liveline_replica::{Replica, SyncClient, SyncHandle};
use liveline_types::{codes, AppError, SyncState, SyncStatus};

/// Shows an OS notification (title, body); set up by the app with its notification plugin.
pub type Notifier = Box<dyn Fn(&str, &str) -> Result<(), String> + Send + Sync>;

pub struct Shell {
    path: PathBuf,
    pub default_server: String,
    replica: Mutex<Result<Arc<Mutex<Replica>>, AppError>>,
    sync: tokio::sync::Mutex<Option<SyncHandle>>,
    notifier: Mutex<Option<Arc<Notifier>>>,
    /// Set while an import runs in the background (one at a time).
    pub importing: std::sync::atomic::AtomicBool,
}

fn open(path: &std::path::Path) -> Result<Arc<Mutex<Replica>>, AppError> {
    match Replica::open(path) {
        Ok(r) => Ok(Arc::new(Mutex::new(r))),
        Err(e) => {
            tracing::error!(error = %e, path = %path.display(), "local database could not be opened");
            Err(e.to_app_error())
        }
    }
}

impl Shell {
    pub fn open(data_dir: PathBuf, default_server: String) -> Self {
        let path = data_dir.join("liveline.sqlite3");
        let replica = open(&path);
        Shell {
            path,
            default_server,
            replica: Mutex::new(replica),
            sync: tokio::sync::Mutex::new(None),
            notifier: Mutex::new(None),
            importing: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Where files being imported are kept until their import is done or cleared.
    pub fn imports_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(|d| d.join("imports"))
            .unwrap_or_else(|| PathBuf::from("imports"))
    }

    pub fn set_notifier(&self, n: Notifier) {
        *self.notifier.lock().unwrap() = Some(Arc::new(n));
    }

    /// Shows an OS notification off the UI thread. Where the system has no notification service the failure is
    /// logged; the app's own banner still shows the news.
    pub async fn notify(&self, title: String, body: String) {
        let Some(n) = self.notifier.lock().unwrap().clone() else {
            return;
        };
        let shown = tauri::async_runtime::spawn_blocking(move || n(&title, &body)).await;
        if let Ok(Err(e)) = shown {
            tracing::info!(error = %e, "OS notification not shown");
        }
    }

    pub fn replica(&self) -> Result<Arc<Mutex<Replica>>, AppError> {
        self.replica.lock().unwrap().clone()
    }

    /// Runs `f` on the replica off the UI thread.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Replica) -> liveline_replica::replica::Result<T> + Send + 'static,
    ) -> Result<T, AppError> {
        let r = self.replica()?;
        tauri::async_runtime::spawn_blocking(move || {
            let mut g = r.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut g).map_err(|e| e.to_app_error())
        })
        .await
        .map_err(|_| AppError::new(codes::STORAGE))?
    }

    /// Starts syncing when signed in; does nothing otherwise.
    pub async fn start_sync(&self) {
        let Ok(replica) = self.replica() else { return };
        let signed_in = self
            .with(|r| r.credentials())
            .await
            .ok()
            .flatten()
            .is_some();
        let mut sync = self.sync.lock().await;
        if let Some(old) = sync.take() {
            old.stop().await;
        }
        if signed_in {
            *sync = Some(SyncClient::spawn(replica.clone()));
            drop(sync);
            self.warm_dashboards(replica);
        }
    }

    /// For those who have dashboards (sales leads, managers, admins), reads the facts the dashboards count once,
    /// in the background, so the first dashboard opened answers at once rather than after reading every lead.
    fn warm_dashboards(&self, replica: Arc<Mutex<Replica>>) {
        tauri::async_runtime::spawn_blocking(move || {
            let r = replica.lock().unwrap_or_else(|p| p.into_inner());
            if r.session().ok().flatten().is_some_and(|s| s.reads_team()) {
                if let Err(e) = r.facts() {
                    tracing::warn!(error = %e, "dashboard facts not read ahead");
                }
            }
        });
    }

    pub async fn stop_sync(&self) {
        if let Some(old) = self.sync.lock().await.take() {
            old.stop().await;
        }
    }

    pub async fn nudge(&self) {
        if let Some(s) = self.sync.lock().await.as_ref() {
            s.nudge();
        }
    }

    pub async fn status(&self) -> Result<SyncStatus, AppError> {
        if let Some(s) = self.sync.lock().await.as_ref() {
            return Ok(s.status());
        }
        let (signed_in, pending, refused) = self
            .with(|r| {
                Ok((
                    r.credentials()?.is_some(),
                    r.pending_count()?,
                    r.refused_count()?,
                ))
            })
            .await?;
        let state = if signed_in {
            SyncState::Offline
        } else {
            SyncState::SignedOut
        };
        Ok(SyncStatus {
            state,
            pending,
            refused,
            received: 0,
            applied: 0,
            last_error: None,
        })
    }

    pub async fn signed_in(&self, creds: Credentials) -> Result<(), AppError> {
        self.stop_sync().await;
        self.with(move |r| r.set_credentials(&creds)).await?;
        self.start_sync().await;
        Ok(())
    }

    /// Drops the local database (damaged, or on request) and starts empty; the next sign-in fetches everything.
    pub async fn reset(&self) -> Result<(), AppError> {
        self.stop_sync().await;
        let mut slot = self.replica.lock().unwrap();
        *slot = Err(AppError::new(codes::STORAGE));
        Replica::destroy(&self.path)
            .map_err(|e| AppError::new(codes::STORAGE).with("detail", e.to_string()))?;
        *slot = open(&self.path);
        slot.as_ref().map(|_| ()).map_err(|e| e.clone())
    }
}
