//! Sign-in screen: server address, e-mail and password, plus a one-tap "Try the demo team".

use crate::api;
use crate::errors::error_text;
use crate::i18n::*;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;

const DEMO_EMAIL: &str = "assistant@demo.liveline";
const DEMO_PASSWORD: &str = "demo";

#[component]
pub fn SignIn() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let server = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(app.storage_error.get_untracked());
    let reset = move |_| {
        spawn_local(async move {
            match api::resync().await {
                Ok(()) => {
                    app.storage_error.set(None);
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };

    spawn_local(async move {
        if let Ok(default) = api::default_server().await {
            if server.try_get_untracked().is_some_and(|s| s.is_empty()) {
                server.set(default);
            }
        }
    });

    let submit = move |email_value: String, password_value: String| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let server_value = server.get_untracked().trim().to_string();
        spawn_local(async move {
            let result = api::sign_in(&server_value, email_value.trim(), &password_value).await;
            busy.set(false);
            match result {
                Ok(session) => app.set_session(Some(session)),
                Err(e) => error.set(Some(e)),
            }
        });
    };

    view! {
        <section class="screen signin">
            <div class="card signin-card">
                <h1>{t!(i18n, signin.title)}</h1>
                <p class="muted">{t!(i18n, signin.intro)}</p>
                <form
                    novalidate=true
                    on:submit=move |ev| {
                        ev.prevent_default();
                        submit(email.get_untracked(), password.get_untracked());
                    }
                >
                    <div class="field">
                        <label for="signin-server">{t!(i18n, signin.server)}</label>
                        <input
                            id="signin-server"
                            type="text"
                            inputmode="url"
                            autocapitalize="off"
                            autocomplete="url"
                            spellcheck="false"
                            prop:value=move || server.get()
                            on:input=move |ev| server.set(event_target_value(&ev))
                        />
                    </div>
                    <div class="field">
                        <label for="signin-email">{t!(i18n, signin.email)}</label>
                        <input
                            id="signin-email"
                            type="email"
                            inputmode="email"
                            autocapitalize="off"
                            autocomplete="username"
                            spellcheck="false"
                            prop:value=move || email.get()
                            on:input=move |ev| email.set(event_target_value(&ev))
                        />
                    </div>
                    <div class="field">
                        <label for="signin-password">{t!(i18n, signin.password)}</label>
                        <input
                            id="signin-password"
                            type="password"
                            autocomplete="current-password"
                            prop:value=move || password.get()
                            on:input=move |ev| password.set(event_target_value(&ev))
                        />
                    </div>
                    <button
                        type="submit"
                        id="signin-submit"
                        class="primary block"
                        disabled=move || busy.get()
                    >
                        {move || {
                            if busy.get() {
                                t_string!(i18n, signin.submitting)
                            } else {
                                t_string!(i18n, signin.submit)
                            }
                        }}
                    </button>
                    {move || {
                        error
                            .get()
                            .map(|e| {
                                view! {
                                    <p class="form-error" id="signin-error" role="alert">
                                        {
                                            let e = e.clone();
                                            move || error_text(i18n, &e)
                                        }
                                    </p>
                                    {(e.code == liveline_types::codes::STORAGE_CORRUPT)
                                        .then(|| {
                                            view! {
                                                <button type="button" id="reset-local" class="secondary block" on:click=reset>
                                                    {t!(i18n, signin.reset)}
                                                </button>
                                            }
                                        })}
                                }
                            })
                    }}
                </form>
                <div class="divider">
                    <span>{t!(i18n, signin.or)}</span>
                </div>
                <button
                    type="button"
                    id="demo-signin"
                    class="secondary block"
                    disabled=move || busy.get()
                    on:click=move |_| {
                        email.set(DEMO_EMAIL.to_string());
                        password.set(DEMO_PASSWORD.to_string());
                        submit(DEMO_EMAIL.to_string(), DEMO_PASSWORD.to_string());
                    }
                >
                    {t!(i18n, signin.demo)}
                </button>
                <p class="hint center">{t!(i18n, signin.demo_hint)}</p>
            </div>
        </section>
    }
}
