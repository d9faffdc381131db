//! Capture screen: the lead form for a new buyer, pre-filled with the live session in progress,
//! cleared after each save except for channel and live session.

use crate::api;
use crate::form::LeadForm;
use crate::i18n::*;
use crate::platform;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{Channel, LeadView};

#[component]
pub fn Capture() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let form = app.capture;

    app.load_live_sessions();
    let session_field = form.field("live_session");
    if session_field.get_untracked().is_empty() {
        spawn_local(async move {
            if let Ok(Some(live)) = api::current_live_session().await {
                // Only if the assistant has not picked one meanwhile.
                if session_field
                    .try_get_untracked()
                    .is_some_and(|v| v.is_empty())
                {
                    session_field.set(live.id.clone());
                    let channel = form.field("channel");
                    if channel.get_untracked().is_empty() {
                        if let Some(c) = Channel::from_code(&live.platform) {
                            channel.set(c.code().to_string());
                        }
                    }
                }
                app.live_sessions.update(|list| {
                    if !list.iter().any(|s| s.id == live.id) {
                        list.push(live);
                    }
                });
            }
        });
    }

    let on_saved = Callback::new(move |_lead: LeadView| {
        form.clear_for_next();
        app.bump_data();
        platform::focus("lead-buyer_name");
    });

    view! {
        <section class="screen capture">
            <h1>{t!(i18n, form.capture_title)}</h1>
            <LeadForm state=form on_saved=on_saved />
        </section>
    }
}
