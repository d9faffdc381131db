//! Lead detail: the lead form pre-filled from `get_lead`, saved with the lead's id, with created/updated
//! times in the viewer's time zone, the creator, and a way back to the list.

use crate::api;
use crate::errors::error_text;
use crate::form::{FormState, LeadForm};
use crate::i18n::*;
use crate::labels;
use crate::platform;
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{AppError, LeadInput, LeadView};

#[component]
pub fn Detail(id: String) -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let lead = RwSignal::new(None::<LeadView>);
    let failure = RwSignal::new(None::<AppError>);
    let form = FormState::new(&LeadInput::default());

    {
        let id = id.clone();
        spawn_local(async move {
            match api::get_lead(&id).await {
                Ok(found) => {
                    form.load(&found.to_input());
                    lead.set(Some(found));
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    }

    let on_saved = Callback::new(move |saved: LeadView| {
        form.load(&saved.to_input());
        lead.set(Some(saved));
        app.bump_data();
    });

    let member_name = move |user_id: &str| {
        app.session
            .with(|s| {
                s.as_ref().and_then(|s| {
                    s.members
                        .iter()
                        .find(|m| m.id == user_id)
                        .map(|m| m.name.clone())
                })
            })
            .unwrap_or_else(|| user_id.to_string())
    };

    let meta = move || {
        lead.get().map(|l| {
            let tag = labels::lang_tag(i18n.get_locale());
            let created = platform::format_time(l.created_at, tag);
            let updated = platform::format_time(l.updated_at, tag);
            let who = member_name(&l.created_by);
            view! {
                <p class="meta" id="lead-created">
                    {t_string!(i18n, detail.created, time = created, who = who).to_string()}
                </p>
                <p class="meta" id="lead-updated">
                    {t_string!(i18n, detail.updated, time = updated).to_string()}
                    {l.pending
                        .then(|| {
                            view! {
                                <span class="pending-marker">{t!(i18n, leads.not_synced)}</span>
                            }
                        })}
                </p>
            }
        })
    };

    view! {
        <section class="screen detail">
            <button
                type="button"
                id="lead-back"
                class="link back"
                on:click=move |_| app.screen.set(Screen::Leads)
            >
                <span aria-hidden="true">"← "</span>
                {t!(i18n, detail.back)}
            </button>
            <h1>
                {move || {
                    lead.with(|l| {
                        l.as_ref()
                            .map(|l| l.buyer_name.clone())
                            .unwrap_or_else(|| t_string!(i18n, detail.title).to_string())
                    })
                }}
            </h1>
            {meta}
            {move || {
                failure
                    .get()
                    .map(|e| {
                        view! {
                            <p class="form-error" role="alert">
                                {move || error_text(i18n, &e)}
                            </p>
                        }
                    })
            }}
            {move || {
                if lead.with(|l| l.is_some()) {
                    view! { <LeadForm state=form lead_id=id.clone() on_saved=on_saved /> }.into_any()
                } else if failure.with(|f| f.is_none()) {
                    view! { <p class="muted">{t!(i18n, loading)}</p> }.into_any()
                } else {
                    ().into_any()
                }
            }}
        </section>
    }
}
