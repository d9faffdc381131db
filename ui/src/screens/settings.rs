//! Settings: who is signed in, the team this device works in (for a user in several), re-sync from the server, and
//! sign out (optionally erasing local data).

use crate::api;
use crate::errors::error_alert;
use crate::i18n::*;
use crate::labels;
use crate::platform;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{AppError, TeamView};

#[component]
pub fn Settings() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let wipe = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let notice = RwSignal::new(false);

    let resync = move |_| {
        if !platform::confirm(t_string!(i18n, settings.resync_confirm)) {
            return;
        }
        busy.set(true);
        failure.set(None);
        notice.set(false);
        spawn_local(async move {
            let result = api::resync().await;
            busy.set(false);
            match result {
                Ok(()) => {
                    notice.set(true);
                    app.bump_data();
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };

    let sign_out = move |_| {
        let erase = wipe.get_untracked();
        if erase && !platform::confirm(t_string!(i18n, settings.wipe_confirm)) {
            return;
        }
        busy.set(true);
        failure.set(None);
        spawn_local(async move {
            let result = api::sign_out(erase).await;
            busy.set(false);
            match result {
                Ok(()) => app.set_session(None),
                Err(e) => failure.set(Some(e)),
            }
        });
    };

    // The user's teams: the device works in one at a time (new records go there).
    // `None` until the list comes.
    let teams = RwSignal::new(None::<Vec<TeamView>>);
    let chosen = RwSignal::new(String::new());
    let switched = RwSignal::new(None::<String>);
    spawn_local(async move {
        match api::my_teams().await {
            Ok(list) => {
                let here = list.iter().find(|t| t.current).map(|t| t.id.clone());
                chosen.set(here.unwrap_or_default());
                teams.set(Some(list));
            }
            Err(e) => failure.set(Some(e)),
        }
    });
    let switch_team = move |_| {
        let team = chosen.get_untracked();
        busy.set(true);
        failure.set(None);
        switched.set(None);
        spawn_local(async move {
            let result = api::switch_team(&team).await;
            busy.set(false);
            match result {
                Ok(session) => {
                    switched.set(Some(session.team_name.clone()));
                    app.set_session(Some(session));
                    // The capture form offers the new team's session in progress; what was typed stays.
                    app.capture.field("live_session").set(String::new());
                    app.load_live_sessions();
                    app.load_lead_form();
                    app.bump_data();
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let team_card = move || {
        let Some(list) = teams.get() else {
            return ().into_any();
        };
        if list.is_empty() {
            // Offline, and never listed while online.
            return view! { <p class="muted" id="team-unknown">{t!(i18n, settings.team_unknown)}</p> }
                .into_any();
        }
        if list.len() == 1 {
            return view! { <p class="muted" id="team-single">{t!(i18n, settings.team_single)}</p> }
                .into_any();
        }
        // The team the device works in is the session's: it follows a switch without another list.
        let current = move || {
            app.session
                .with(|s| s.as_ref().map(|s| s.team_id.clone()))
                .unwrap_or_default()
        };
        let options = list
            .into_iter()
            .map(|t| {
                let role = t.role.clone();
                let id = t.id.clone();
                let label = move || format!("{} · {}", t.name, labels::role_name(i18n, &role));
                view! { <option value=id.clone() selected=move || chosen.get() == id>{label}</option> }
            })
            .collect_view();
        view! {
            <p class="muted">{t!(i18n, settings.team_help)}</p>
            <label class="field" for="team-select">
                <span>{t!(i18n, settings.team_choose)}</span>
                <select
                    id="team-select"
                    prop:value=move || chosen.get()
                    on:change=move |ev| chosen.set(event_target_value(&ev))
                >
                    {options}
                </select>
            </label>
            <button
                type="button"
                id="team-switch"
                class="secondary"
                disabled=move || busy.get() || chosen.get() == current()
                on:click=switch_team
            >
                {t!(i18n, settings.team_switch)}
            </button>
        }
        .into_any()
    };

    let info = move || {
        app.session.get().map(|s| {
            let role = s.role.clone();
            let vault = s.vault.clone();
            view! {
                <dl class="facts" id="account">
                    <dt>{t!(i18n, settings.name)}</dt>
                    <dd id="account-name">{s.user_name}</dd>
                    <dt>{t!(i18n, settings.email)}</dt>
                    <dd id="account-email">{s.email}</dd>
                    <dt>{t!(i18n, settings.role)}</dt>
                    <dd id="account-role">{move || labels::role_name(i18n, &role)}</dd>
                    <dt>{t!(i18n, settings.team)}</dt>
                    <dd id="account-team">{s.team_name}</dd>
                    <dt>{t!(i18n, settings.server)}</dt>
                    <dd id="account-server" class="mono">{s.server}</dd>
                    <dt>{t!(i18n, settings.device)}</dt>
                    <dd id="account-device" class="mono">{s.device_id}</dd>
                    <dt>{t!(i18n, settings.vault)}</dt>
                    <dd id="account-vault">{move || if vault == "keychain" {
                        t_string!(i18n, settings.vault_keychain).to_string()
                    } else {
                        t_string!(i18n, settings.vault_file).to_string()
                    }}</dd>
                </dl>
            }
        })
    };

    view! {
        <section class="screen settings">
            <h1>{t!(i18n, settings.title)}</h1>
            <div class="card">
                <h2>{t!(i18n, settings.account)}</h2>
                {info}
            </div>
            <div class="card" id="team-card">
                <h2>{t!(i18n, settings.team)}</h2>
                {team_card}
                {move || {
                    switched
                        .get()
                        .map(|team| {
                            view! {
                                <p class="save-status" role="status" id="team-switched">
                                    {t!(i18n, settings.team_switched, team = team)}
                                </p>
                            }
                        })
                }}
            </div>
            <div class="card">
                <h2>{t!(i18n, settings.sync_title)}</h2>
                <p class="muted">{t!(i18n, settings.resync_help)}</p>
                <button
                    type="button"
                    id="resync"
                    class="secondary"
                    disabled=move || busy.get()
                    on:click=resync
                >
                    {t!(i18n, settings.resync)}
                </button>
                {move || {
                    notice
                        .get()
                        .then(|| {
                            view! {
                                <p class="save-status" role="status">
                                    {t!(i18n, settings.resync_started)}
                                </p>
                            }
                        })
                }}
            </div>
            <div class="card">
                <h2>{t!(i18n, settings.sign_out)}</h2>
                <label class="check-row" for="signout-wipe">
                    <input
                        type="checkbox"
                        id="signout-wipe"
                        prop:checked=move || wipe.get()
                        on:change=move |ev| wipe.set(event_target_checked(&ev))
                    />
                    <span>{t!(i18n, settings.wipe)}</span>
                </label>
                <button
                    type="button"
                    id="signout"
                    class="danger"
                    disabled=move || busy.get()
                    on:click=sign_out
                >
                    {t!(i18n, settings.sign_out)}
                </button>
            </div>
            {error_alert(i18n, failure)}
        </section>
    }
}
