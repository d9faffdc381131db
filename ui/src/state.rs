//! App-wide reactive state (session, current screen, sync status, live sessions, list filters, capture draft)
//! and the background work that keeps it fresh (session check, 700 ms sync-status polling).

use crate::api;
use crate::form::FormState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{LiveSessionView, Notice, SessionView, SyncState, SyncStatus, TaskCounts};
use std::time::Duration;

/// Which screen is shown when signed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    Capture,
    Leads,
    Detail(String),
    Refused,
    Settings,
    Team,
    Tasks,
    Rules,
    /// Orders and other records with an approval flow.
    Records,
    /// One record; `id: None` creates one of `form`.
    Record {
        form: String,
        id: Option<String>,
    },
    /// The form builder and flow designer (admins).
    Forms,
    /// Managers' dashboards.
    Dashboards,
    /// Import leads from a spreadsheet.
    Import,
}

/// Search text and filters of the lead list; kept here so they survive a visit to a lead's detail.
#[derive(Clone, Copy)]
pub struct ListState {
    /// What is typed in the search box.
    pub search_input: RwSignal<String>,
    /// The search actually applied (debounced).
    pub search: RwSignal<String>,
    pub status: RwSignal<String>,
    pub channel: RwSignal<String>,
    pub live_session: RwSignal<String>,
    pub owner: RwSignal<String>,
}

impl ListState {
    fn new() -> Self {
        Self {
            search_input: RwSignal::new(String::new()),
            search: RwSignal::new(String::new()),
            status: RwSignal::new(String::new()),
            channel: RwSignal::new(String::new()),
            live_session: RwSignal::new(String::new()),
            owner: RwSignal::new(String::new()),
        }
    }

    /// True when any search text or filter is set.
    pub fn filtered(&self) -> bool {
        !(self.search.get().trim().is_empty()
            && self.status.get().is_empty()
            && self.channel.get().is_empty()
            && self.live_session.get().is_empty()
            && self.owner.get().is_empty())
    }

    pub fn clear(&self) {
        for s in [
            self.search_input,
            self.search,
            self.status,
            self.channel,
            self.live_session,
            self.owner,
        ] {
            s.set(String::new());
        }
    }
}

#[derive(Clone, Copy)]
pub struct AppState {
    pub session: RwSignal<Option<SessionView>>,
    /// Why the local data could not be read at start (for example a damaged database), shown on sign-in.
    pub storage_error: RwSignal<Option<liveline_types::AppError>>,
    /// False until the first `session` answer (or failure) arrived.
    pub session_known: RwSignal<bool>,
    pub screen: RwSignal<Screen>,
    pub sync: RwSignal<SyncStatus>,
    pub live_sessions: RwSignal<Vec<LiveSessionView>>,
    /// Bumped whenever local data may have changed (saves, sync progress), so lists reload.
    pub data_epoch: RwSignal<u64>,
    /// The capture form's draft, kept while switching screens.
    pub capture: FormState,
    pub list: ListState,
    /// The task center's tab (`overdue`, `today`, `upcoming`, `done`) and scope (`mine`, `team`).
    pub task_tab: RwSignal<String>,
    pub task_scope: RwSignal<String>,
    /// The signed-in user's task counts, for the tabs and the badge.
    pub task_counts: RwSignal<TaskCounts>,
    /// Tasks that arrived for this user and are announced on screen.
    pub notices: RwSignal<Vec<Notice>>,
    /// The team's lead form as published (the capture form draws the fields an admin added from it).
    pub lead_form: RwSignal<Option<liveline_types::forms::FormDef>>,
    /// The form whose records the records list shows.
    pub record_form: RwSignal<String>,
}

fn signed_out_status() -> SyncStatus {
    SyncStatus {
        state: SyncState::SignedOut,
        pending: 0,
        refused: 0,
        received: 0,
        applied: 0,
        last_error: None,
    }
}

impl AppState {
    pub fn new() -> Self {
        Self {
            session: RwSignal::new(None),
            storage_error: RwSignal::new(None),
            session_known: RwSignal::new(false),
            screen: RwSignal::new(Screen::Capture),
            sync: RwSignal::new(signed_out_status()),
            live_sessions: RwSignal::new(Vec::new()),
            data_epoch: RwSignal::new(0),
            capture: FormState::new_capture(),
            list: ListState::new(),
            task_tab: RwSignal::new("today".into()),
            task_scope: RwSignal::new("mine".into()),
            task_counts: RwSignal::new(TaskCounts::default()),
            notices: RwSignal::new(Vec::new()),
            lead_form: RwSignal::new(None),
            record_form: RwSignal::new("live_order".into()),
        }
    }

    pub fn get() -> Self {
        expect_context::<AppState>()
    }

    pub fn bump_data(&self) {
        self.data_epoch.update(|e| *e += 1);
    }

    /// Loads the session and starts polling the sync status.
    pub fn start(self) {
        self.refresh_session();
        let in_flight = StoredValue::new(false);
        let poll = move || {
            if in_flight.get_value() {
                return;
            }
            in_flight.set_value(true);
            spawn_local(async move {
                let result = api::sync_status().await;
                in_flight.try_set_value(false);
                if let Ok(status) = result {
                    self.apply_status(status);
                }
            });
        };
        poll();
        let _ = set_interval_with_handle(poll, Duration::from_millis(700));
        // Deadlines pass with time, not only with data: recount every half minute.
        let _ =
            set_interval_with_handle(move || self.refresh_task_counts(), Duration::from_secs(30));
    }

    /// Reloads the task counts (tabs and badge).
    pub fn refresh_task_counts(self) {
        if self.session.get_untracked().is_none() {
            return;
        }
        let offset = crate::screens::tasks::utc_offset();
        spawn_local(async move {
            if let Ok(c) = api::task_counts(offset).await {
                if self.task_counts.try_get_untracked().as_ref() != Some(&c) {
                    self.task_counts.set(c);
                }
            }
        });
    }

    /// Picks up tasks that arrived for this user and shows them.
    fn take_notices(self) {
        spawn_local(async move {
            if let Ok(new) = api::take_notices().await {
                if !new.is_empty() {
                    self.notices.update(|n| n.extend(new));
                }
            }
        });
    }

    fn apply_status(self, status: SyncStatus) {
        let Some(previous) = self.sync.try_get_untracked() else {
            return;
        };
        let changed_data = previous.received != status.received
            || previous.applied != status.applied
            || previous.pending != status.pending
            || (previous.state != status.state && status.state == SyncState::Synced);
        let lost_session = status.state == SyncState::SignedOut
            && previous.state != SyncState::SignedOut
            && self.session.get_untracked().is_some();
        if previous != status {
            self.sync.set(status);
        }
        if changed_data {
            self.bump_data();
            self.load_lead_form();
            self.refresh_task_counts();
            self.take_notices();
        }
        if lost_session {
            // The shell signed us out (for example the device was revoked): check again.
            self.refresh_session();
        }
    }

    /// Asks the shell who is signed in.
    pub fn refresh_session(self) {
        spawn_local(async move {
            let result = api::session().await;
            match result {
                Ok(session) => self.set_session(session),
                Err(e) => {
                    self.storage_error.set(Some(e));
                    self.set_session(None);
                }
            }
        });
    }

    /// Switches between signed-in and signed-out; on sign-in opens Capture with a fresh draft.
    pub fn set_session(self, session: Option<SessionView>) {
        let was_signed_in = self.session.try_get_untracked().flatten().is_some();
        let signed_in = session.is_some();
        self.session.set(session);
        self.session_known.set(true);
        if signed_in && !was_signed_in {
            self.capture.reset_all();
            self.list.clear();
            self.screen.set(Screen::Capture);
            self.load_live_sessions();
            self.notices.set(Vec::new());
            self.refresh_task_counts();
            self.load_lead_form();
        }
        if !signed_in {
            self.live_sessions.set(Vec::new());
        }
    }

    /// Reloads the published lead form when it changed.
    pub fn load_lead_form(self) {
        spawn_local(async move {
            if let Ok(def) = api::form_def("lead").await {
                if self.lead_form.try_get_untracked().flatten().as_ref() != Some(&def) {
                    self.lead_form.set(Some(def));
                }
            }
        });
    }

    /// Reloads the team's live sessions (for the capture form and the list filter).
    pub fn load_live_sessions(self) {
        spawn_local(async move {
            if let Ok(list) = api::live_sessions().await {
                self.live_sessions.set(list);
            }
        });
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}
