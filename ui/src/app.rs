//! The application shell: i18n provider, header (team, sync badge, refused indicator, language switch),
//! navigation (top tabs on desktop, bottom bar on phones) and screen switching.

use crate::i18n::*;
use crate::labels::I18n;
use crate::platform;
use crate::screens::{
    capture::Capture, dashboards::Dashboards, detail::Detail, forms::Forms, import::Import,
    leads::Leads, records::RecordScreen, records::Records, refused::Refused, rules::Rules,
    settings::Settings, sign_in::SignIn, tasks::Tasks, team::Team,
};
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use liveline_types::{SyncState, SyncStatus};
use std::str::FromStr;

/// localStorage key of the chosen language.
const LANG_KEY: &str = "liveline.lang";

#[component]
pub fn App() -> impl IntoView {
    view! {
        <I18nContextProvider>
            <Root />
        </I18nContextProvider>
    }
}

fn restore_language(i18n: I18n) {
    if let Some(saved) = platform::storage_get(LANG_KEY).and_then(|s| Locale::from_str(&s).ok()) {
        i18n.set_locale(saved);
        // The provider applies the browser's language in its first effect; apply the saved choice after it.
        Effect::new(move |_| i18n.set_locale(saved));
    }
}

#[component]
fn Root() -> impl IntoView {
    let i18n = use_i18n();
    restore_language(i18n);

    let app = AppState::new();
    provide_context(app);
    app.start();

    let signed_in = Memo::new(move |_| app.session.with(|s| s.is_some()));
    let known = Memo::new(move |_| app.session_known.get());

    let body = move || {
        if !known.get() {
            view! { <p class="splash muted">{t!(i18n, loading)}</p> }.into_any()
        } else if signed_in.get() {
            view! {
                <Nav />
                <Notices />
                <main id="main" class="main">
                    <Screens />
                </main>
            }
            .into_any()
        } else {
            view! {
                <main id="main" class="main">
                    <SignIn />
                </main>
            }
            .into_any()
        }
    };

    view! {
        <div class="app" class:signed-in=move || signed_in.get()>
            <Header />
            {body}
        </div>
    }
}

#[component]
fn Screens() -> impl IntoView {
    let app = AppState::get();
    move || match app.screen.get() {
        Screen::Capture => view! { <Capture /> }.into_any(),
        Screen::Leads => view! { <Leads /> }.into_any(),
        Screen::Detail(id) => view! { <Detail id=id /> }.into_any(),
        Screen::Refused => view! { <Refused /> }.into_any(),
        Screen::Settings => view! { <Settings /> }.into_any(),
        Screen::Team => view! { <Team /> }.into_any(),
        Screen::Tasks => view! { <Tasks /> }.into_any(),
        Screen::Rules => view! { <Rules /> }.into_any(),
        Screen::Records => view! { <Records /> }.into_any(),
        Screen::Dashboards => view! { <Dashboards /> }.into_any(),
        Screen::Import => view! { <Import /> }.into_any(),
        Screen::Record { form, id } => view! { <RecordScreen form=form id=id /> }.into_any(),
        Screen::Forms => view! { <Forms /> }.into_any(),
    }
}

/// Tasks that just arrived for this user, announced at the top until opened or dismissed.
#[component]
fn Notices() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    // Each new arrival also becomes an OS notification, worded in the user's language.
    Effect::new(move |announced: Option<usize>| {
        let list = app.notices.get();
        let from = announced.unwrap_or(0).min(list.len());
        for n in &list[from..] {
            let title = t_string!(
                i18n,
                notice.new_task,
                title = crate::labels::task_type_name(i18n, &n.task_type)
            )
            .to_string();
            let body = if n.linked_title.is_empty() {
                n.title.clone()
            } else {
                n.linked_title.clone()
            };
            leptos::task::spawn_local(async move {
                let _ = crate::api::notify(&title, &body).await;
            });
        }
        list.len()
    });
    move || {
        let list = app.notices.get();
        let first = list.first().cloned()?;
        let more = list.len().saturating_sub(1);
        let title = if first.linked_title.is_empty() || first.linked_title == first.title {
            first.title.clone()
        } else {
            format!("{} · {}", first.title, first.linked_title)
        };
        let kind = first.task_type.clone();
        Some(view! {
            <div class="toast" id="notice" role="alert" data-task=first.task_id.clone()>
                <span class="toast-text">
                    {move || {
                        let what = format!("{} — {}", crate::labels::task_type_name(i18n, &kind), title);
                        t_string!(i18n, notice.new_task, title = what).to_string()
                    }}
                    {(more > 0).then(|| format!(" (+{more})"))}
                </span>
                <button type="button" class="primary" id="notice-open" on:click=move |_| {
                    app.notices.set(Vec::new());
                    app.task_tab.set("today".into());
                    app.screen.set(Screen::Tasks);
                }>{t!(i18n, notice.open)}</button>
                <button type="button" class="secondary" id="notice-dismiss"
                    on:click=move |_| app.notices.set(Vec::new())>{t!(i18n, notice.dismiss)}</button>
            </div>
        })
    }
}

fn state_code(state: SyncState) -> &'static str {
    match state {
        SyncState::SignedOut => "signed_out",
        SyncState::Offline => "offline",
        SyncState::Syncing => "syncing",
        SyncState::Synced => "synced",
    }
}

fn badge_text(i18n: I18n, s: &SyncStatus) -> String {
    let n = |v: u64| platform::group_digits(v);
    match s.state {
        SyncState::SignedOut => t_string!(i18n, sync.signed_out).to_string(),
        SyncState::Offline if s.pending > 0 => {
            t_string!(i18n, sync.offline_unsent, n = n(s.pending)).to_string()
        }
        SyncState::Offline => t_string!(i18n, sync.offline).to_string(),
        SyncState::Syncing if s.received > 0 => {
            t_string!(i18n, sync.downloading, n = n(s.received)).to_string()
        }
        SyncState::Syncing if s.pending > 0 => {
            t_string!(i18n, sync.syncing_pending, n = n(s.pending)).to_string()
        }
        SyncState::Syncing => t_string!(i18n, sync.syncing).to_string(),
        SyncState::Synced => t_string!(i18n, sync.synced).to_string(),
    }
}

#[component]
fn Header() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let team = move || {
        app.session
            .with(|s| s.as_ref().map(|s| s.team_name.clone()))
            .unwrap_or_default()
    };
    let refused = Memo::new(move |_| app.sync.with(|s| s.refused));
    let switch_language = move |_| {
        let next = match i18n.get_locale_untracked() {
            Locale::en => Locale::zh_CN,
            Locale::zh_CN => Locale::en,
        };
        i18n.set_locale(next);
        platform::storage_set(LANG_KEY, next.as_str());
    };
    let badge_title = move || {
        app.sync
            .with(|s| s.last_error.clone())
            .map(|e| crate::errors::error_text(i18n, &e))
    };

    view! {
        <header class="topbar">
            <div class="brand">
                <span class="logo" aria-hidden="true"></span>
                <span class="app-name">{t!(i18n, app_name)}</span>
                <span class="team-name" id="team-name">{team}</span>
            </div>
            <div class="header-actions">
                {move || {
                    (refused.get() > 0 && app.session.with(|s| s.is_some()))
                        .then(|| {
                            view! {
                                <button
                                    type="button"
                                    id="refused-indicator"
                                    class="refused-indicator"
                                    on:click=move |_| app.screen.set(Screen::Refused)
                                >
                                    {move || {
                                        t_string!(
                                            i18n, sync.refused_indicator, n = platform::group_digits(refused.get())
                                        )
                                            .to_string()
                                    }}
                                </button>
                            }
                        })
                }}
                <span
                    id="sync-badge"
                    class="sync-badge"
                    role="status"
                    aria-live="polite"
                    data-state=move || app.sync.with(|s| state_code(s.state))
                    title=badge_title
                >
                    <span class="dot" aria-hidden="true"></span>
                    <span class="badge-text">{move || app.sync.with(|s| badge_text(i18n, s))}</span>
                </span>
                <button
                    type="button"
                    id="lang-switch"
                    class="lang-switch"
                    data-lang=move || i18n.get_locale().as_str()
                    title=move || t_string!(i18n, lang_switch_title)
                    on:click=switch_language
                >
                    {t!(i18n, lang_switch)}
                </button>
            </div>
        </header>
    }
}

/// An icon for the bottom bar (simple strokes, inherits the text color).
fn icon(path: &'static str) -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            width="24"
            height="24"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
        >
            <path d=path />
        </svg>
    }
}

#[component]
fn Nav() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let refused = Memo::new(move |_| app.sync.with(|s| s.refused));
    let current = Memo::new(move |_| match app.screen.get() {
        Screen::Capture => "capture",
        Screen::Leads | Screen::Detail(_) | Screen::Import => "leads",
        Screen::Refused => "refused",
        Screen::Settings => "settings",
        Screen::Team | Screen::Forms => "team",
        Screen::Tasks | Screen::Rules => "tasks",
        Screen::Records | Screen::Record { .. } => "records",
        Screen::Dashboards => "dashboards",
    });
    let due_now = Memo::new(move |_| app.task_counts.with(|c| c.overdue + c.today));
    let is_admin = Memo::new(move |_| {
        app.session.with(|s| {
            s.as_ref()
                .is_some_and(|s| s.role.split(',').any(|r| r == "admin"))
        })
    });
    // Dashboards are for those who read the team: sales leads, managers, admins.
    let reads_team = Memo::new(move |_| {
        app.session
            .with(|s| s.as_ref().is_some_and(|s| s.reads_team()))
    });
    let item = move |key: &'static str, target: Screen, label: AnyView, icon_path: &'static str| {
        let target = StoredValue::new(target);
        view! {
            <button
                type="button"
                id=format!("nav-{key}")
                class="nav-item"
                class:active=move || current.get() == key
                aria-current=move || (current.get() == key).then_some("page")
                on:click=move |_| app.screen.set(target.get_value())
            >
                {icon(icon_path)}
                <span class="nav-label">{label}</span>
                {(key == "refused")
                    .then_some(move || {
                        (refused.get() > 0)
                            .then(|| {
                                view! {
                                    <span class="count">{platform::group_digits(refused.get())}</span>
                                }
                            })
                    })}
                {(key == "tasks")
                    .then_some(move || {
                        (due_now.get() > 0)
                            .then(|| {
                                view! {
                                    <span class="count" id="tasks-badge">{platform::group_digits(due_now.get())}</span>
                                }
                            })
                    })}
            </button>
        }
    };
    view! {
        <nav class="nav" aria-label=move || t_string!(i18n, nav.main)>
            {item(
                "capture",
                Screen::Capture,
                view! { {t!(i18n, nav.capture)} }.into_any(),
                "M12 5v14M5 12h14",
            )}
            {item(
                "leads",
                Screen::Leads,
                view! { {t!(i18n, nav.leads)} }.into_any(),
                "M8 6h13M8 12h13M8 18h13M3 6h.01M3 12h.01M3 18h.01",
            )}
            {item(
                "tasks",
                Screen::Tasks,
                view! { {t!(i18n, nav.tasks)} }.into_any(),
                "M9 11l3 3L22 4M21 12v7a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h11",
            )}
            {item(
                "records",
                Screen::Records,
                view! { {t!(i18n, nav.records)} }.into_any(),
                "M9 5H7a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2V7a2 2 0 0 0-2-2h-2M9 5a2 2 0 0 0 2 2h2a2 2 0 0 0 2-2M9 5a2 2 0 0 1 2-2h2a2 2 0 0 1 2 2M9 14l2 2 4-4",
            )}
            {move || {
                reads_team
                    .get()
                    .then(|| {
                        item(
                            "dashboards",
                            Screen::Dashboards,
                            view! { {t!(i18n, nav.dashboards)} }.into_any(),
                            "M3 3v18h18M7 16v-5M12 16V8M17 16v-8",
                        )
                    })
            }}
            {item(
                "refused",
                Screen::Refused,
                view! { {t!(i18n, nav.refused)} }.into_any(),
                "M12 9v4M12 17h.01M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
            )}
            {move || {
                is_admin
                    .get()
                    .then(|| {
                        item(
                            "team",
                            Screen::Team,
                            view! { {t!(i18n, nav.team)} }.into_any(),
                            "M17 21v-2a4 4 0 0 0-4-4H5a4 4 0 0 0-4 4v2M9 11a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM23 21v-2a4 4 0 0 0-3-3.9M16 3.1a4 4 0 0 1 0 7.8",
                        )
                    })
            }}
            {item(
                "settings",
                Screen::Settings,
                view! { {t!(i18n, nav.settings)} }.into_any(),
                "M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19.4 15a1.7 1.7 0 0 0 .3 1.8l.1.1a2 2 0 1 1-2.8 2.8l-.1-.1a1.7 1.7 0 0 0-1.8-.3 1.7 1.7 0 0 0-1 1.5V21a2 2 0 1 1-4 0v-.1a1.7 1.7 0 0 0-1.1-1.5 1.7 1.7 0 0 0-1.8.3l-.1.1a2 2 0 1 1-2.8-2.8l.1-.1a1.7 1.7 0 0 0 .3-1.8 1.7 1.7 0 0 0-1.5-1H3a2 2 0 1 1 0-4h.1a1.7 1.7 0 0 0 1.5-1.1 1.7 1.7 0 0 0-.3-1.8l-.1-.1a2 2 0 1 1 2.8-2.8l.1.1a1.7 1.7 0 0 0 1.8.3H9a1.7 1.7 0 0 0 1-1.5V3a2 2 0 1 1 4 0v.1a1.7 1.7 0 0 0 1 1.5 1.7 1.7 0 0 0 1.8-.3l.1-.1a2 2 0 1 1 2.8 2.8l-.1.1a1.7 1.7 0 0 0-.3 1.8V9a1.7 1.7 0 0 0 1.5 1H21a2 2 0 1 1 0 4h-.1a1.7 1.7 0 0 0-1.5 1z",
            )}
        </nav>
    }
}
