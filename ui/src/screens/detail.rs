//! Lead detail: the lead form pre-filled from `get_lead`, saved with the lead's id, with created/updated
//! times in the viewer's time zone, the creator, how it was assigned, its follow-up tasks, the contacts logged
//! with the buyer (and a form to log one), and a way back to the list.

use crate::api;
use crate::errors::error_alert;
use crate::form::{FormState, LeadForm};
use crate::i18n::*;
use crate::labels;
use crate::platform;
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{AppError, LeadInput, LeadView, TaskQuery, TaskView};

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

    // The follow-up panel is made once the lead is there, and then follows the lead's changes itself.
    let loaded = Memo::new(move |_| lead.with(|l| l.is_some()));
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
            {error_alert(i18n, failure)}
            {move || loaded.get().then(|| view! { <FollowUp lead=lead on_logged=on_saved /> })}
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

/// How the lead was assigned, its follow-up tasks, the contacts logged with the buyer, and logging a new one.
#[component]
fn FollowUp(lead: RwSignal<Option<LeadView>>, on_logged: Callback<LeadView>) -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let kind = RwSignal::new("phone".to_string());
    let note = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let logged = RwSignal::new(false);
    let tasks = RwSignal::new(Vec::<TaskView>::new());
    let id = lead.with_untracked(|l| l.as_ref().map(|l| l.id.clone()).unwrap_or_default());
    {
        let id = id.clone();
        Effect::new(move |_| {
            app.data_epoch.track();
            let id = id.clone();
            spawn_local(async move {
                let mut all = Vec::new();
                for when in ["", "done"] {
                    let q = TaskQuery {
                        scope: "team".into(),
                        when: when.into(),
                        linked_id: id.clone(),
                        ..Default::default()
                    };
                    all.extend(api::list_tasks(&q).await.unwrap_or_default());
                }
                tasks.set(all);
            });
        });
    }
    let submit = {
        let id = id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let id = id.clone();
            busy.set(true);
            spawn_local(async move {
                let result =
                    api::log_contact(&id, &kind.get_untracked(), &note.get_untracked()).await;
                busy.set(false);
                match result {
                    Ok(l) => {
                        failure.set(None);
                        note.set(String::new());
                        logged.set(true);
                        on_logged.run(l);
                    }
                    Err(e) => failure.set(Some(e)),
                }
            });
        }
    };
    let tag = move || labels::lang_tag(i18n.get_locale());
    let assigned = move || {
        lead.get().filter(|l| l.assigned_at > 0).map(|l| {
            let time = platform::format_time(l.assigned_at, tag());
            let text = match l.assigned_rule.as_str() {
                "fallback" => t_string!(i18n, contact.assigned_fallback, time = time).to_string(),
                "duplicate" => t_string!(i18n, contact.assigned_duplicate, time = time).to_string(),
                rule => {
                    let name = if l.assigned_rule_name.is_empty() {
                        rule.to_string()
                    } else {
                        l.assigned_rule_name.clone()
                    };
                    t_string!(i18n, contact.assigned, time = time, rule = name).to_string()
                }
            };
            view! { <p class="meta" id="lead-assigned">{text}</p> }
        })
    };
    let duplicate = move || {
        lead.with(|l| {
            l.as_ref()
                .map(|l| l.duplicate_of.clone())
                .unwrap_or_default()
        })
    };
    let contacts =
        move || lead.with(|l| l.as_ref().map(|l| l.contacts.clone()).unwrap_or_default());
    view! {
        <div class="follow-up card" id="follow-up">
            {assigned}
            {move || {
                let dup = duplicate();
                (!dup.is_empty()).then(|| {
                view! {
                    <p class="notice" id="lead-duplicate">
                        {t!(i18n, contact.duplicate_of)} " "
                        <button type="button" class="link" on:click=move |_| app.screen.set(Screen::Detail(dup.clone()))>
                            {t!(i18n, contact.open_earlier)}
                        </button>
                    </p>
                }
            })}}
            {move || (!tasks.with(|t| t.is_empty())).then(|| view! {
                <h2>{t!(i18n, contact.tasks)}</h2>
                <ul class="lead-tasks" id="lead-tasks">
                    {tasks.get().into_iter().map(|t| {
                        let state = if t.status == "open" { labels::task_type_name(i18n, &t.task_type) } else { t_string!(i18n, tasks.done).to_string() };
                        view! {
                            <li data-status=t.status.clone()>
                                <span class="chip">{state}</span>
                                {format!(" {} · {}", t.assignee_name, platform::format_time(if t.status == "open" { t.due_at } else { t.closed_at }, tag()))}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            })}
            <h2>{t!(i18n, contact.title)}</h2>
            {move || { let contacts = contacts(); if contacts.is_empty() {
                view! { <p class="muted" id="contacts-empty">{t!(i18n, contact.none)}</p> }.into_any()
            } else {
                view! {
                    <ul class="contacts" id="contacts">
                        {contacts.into_iter().map(|c| {
                            let who = app.session.with_untracked(|s| s.as_ref().and_then(|s| s.members.iter().find(|m| m.id == c.by)).map(|m| m.name.clone())).unwrap_or(c.by.clone());
                            let how = c.kind.clone();
                            view! {
                                <li class="contact">
                                    <span class="meta">{move || format!("{} · {} · {}", platform::format_time(c.at, tag()), labels::contact_way_name(i18n, &how), who)}</span>
                                    {(!c.note.is_empty()).then(|| view! { <p>{c.note.clone()}</p> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}}
            <form class="log-contact" id="log-contact" on:submit=submit>
                <h3>{t!(i18n, contact.log)}</h3>
                <div class="new-task-row">
                    <select id="contact-kind" aria-label=move || t_string!(i18n, contact.kind)
                        on:change=move |ev| kind.set(event_target_value(&ev))>
                        {["phone", "whatsapp", "wechat", "email", "other"].into_iter().map(|k| view! {
                            <option value=k selected=move || kind.get() == k>{move || labels::contact_way_name(i18n, k)}</option>
                        }).collect_view()}
                    </select>
                    <input id="contact-note" type="text" maxlength="5000"
                        placeholder=move || t_string!(i18n, contact.note_placeholder)
                        prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev)) />
                    <button type="submit" class="primary" id="contact-submit" disabled=move || busy.get()>{t!(i18n, contact.submit)}</button>
                </div>
                {error_alert(i18n, failure)}
                {move || logged.get().then(|| view! { <p class="saved-note" role="status" id="contact-logged">{t!(i18n, contact.logged)}</p> })}
            </form>
        </div>
    }
}
