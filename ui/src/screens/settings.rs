//! Settings: who is signed in, re-sync from the server, and sign out (optionally erasing local data).

use crate::api;
use crate::errors::error_alert;
use crate::i18n::*;
use crate::labels;
use crate::platform;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::AppError;

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
