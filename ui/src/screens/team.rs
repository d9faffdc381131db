//! Team administration (admins only, online): members and their roles, inviting, devices with revocation,
//! group-bot webhooks, and the audit log with CSV export. The server enforces every rule; this screen shows its answers.

use crate::api;
use crate::errors::error_text;
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{
    AdminDeviceView, AdminUserView, AppError, AuditEntryView, AuditQuery, InviteRequest,
    WebhookInput, WebhookView, ROLE_CODES,
};

/// Checkboxes for the roles, bound to a list of codes.
#[component]
fn RolePicker(id: String, roles: RwSignal<Vec<String>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="role-picker" id=id.clone()>
            {ROLE_CODES
                .iter()
                .map(|code| {
                    let code = *code;
                    let box_id = format!("{id}-{code}");
                    let for_id = box_id.clone();
                    view! {
                        <label class="check-row" for=for_id>
                            <input
                                type="checkbox"
                                id=box_id
                                prop:checked=move || roles.with(|r| r.iter().any(|c| c == code))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    roles
                                        .update(|r| {
                                            r.retain(|c| c != code);
                                            if on {
                                                r.push(code.to_string());
                                            }
                                        })
                                }
                            />
                            <span>{move || labels::role_name(i18n, code)}</span>
                        </label>
                    }
                })
                .collect_view()}
        </div>
    }
}

#[component]
fn MemberRow(user: AdminUserView, failure: RwSignal<Option<AppError>>) -> impl IntoView {
    let i18n = use_i18n();
    let roles = RwSignal::new(user.roles.clone());
    let saved = RwSignal::new(user.roles.clone());
    let editing = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let id = StoredValue::new(user.id.clone());
    let save = move |_| {
        busy.set(true);
        failure.set(None);
        let wanted = roles.get_untracked();
        spawn_local(async move {
            let result = api::admin_set_roles(&id.get_value(), &wanted).await;
            busy.set(false);
            match result {
                Ok(u) => {
                    saved.set(u.roles);
                    editing.set(false);
                }
                Err(e) => {
                    roles.set(saved.get_untracked());
                    failure.set(Some(e));
                }
            }
        });
    };
    view! {
        <li class="member-row" data-id=user.id.clone()>
            <div class="member-line">
                <span class="member-name">{user.name.clone()}</span>
                <span class="muted member-email">{user.email.clone()}</span>
            </div>
            <div class="member-line">
                <span class="member-roles">
                    {move || labels::role_name(i18n, &saved.get().join(","))}
                </span>
                <span class="muted">
                    {move || t_string!(i18n, team.devices_n, n = user.active_devices.to_string()).to_string()}
                </span>
                <button
                    type="button"
                    class="secondary small"
                    id=format!("roles-edit-{}", user.id)
                    on:click=move |_| editing.update(|e| *e = !*e)
                >
                    {t!(i18n, team.edit_roles)}
                </button>
            </div>
            {move || {
                editing
                    .get()
                    .then(|| {
                        view! {
                            <div class="member-edit">
                                <RolePicker id=format!("roles-{}", id.get_value()) roles=roles />
                                <button
                                    type="button"
                                    id=format!("roles-save-{}", id.get_value())
                                    disabled=move || busy.get()
                                    on:click=save
                                >
                                    {t!(i18n, team.save_roles)}
                                </button>
                            </div>
                        }
                    })
            }}
        </li>
    }
}

#[component]
pub fn Team() -> impl IntoView {
    let i18n = use_i18n();
    let users = RwSignal::new(Vec::<AdminUserView>::new());
    let devices = RwSignal::new(Vec::<AdminDeviceView>::new());
    let audit = RwSignal::new(Vec::<AuditEntryView>::new());
    let loaded = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let audit_user = RwSignal::new(String::new());
    let audit_doc = RwSignal::new(String::new());
    let exported = RwSignal::new(None::<String>);

    let query = move || AuditQuery {
        user: audit_user.get_untracked(),
        doc: audit_doc.get_untracked().trim().to_string(),
        limit: 100,
        ..Default::default()
    };
    let load_audit = move || {
        let q = query();
        spawn_local(async move {
            match api::admin_audit(&q).await {
                Ok(a) => audit.set(a),
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let load = move || {
        spawn_local(async move {
            let (u, d) = (api::admin_users().await, api::admin_devices().await);
            loaded.set(true);
            match (u, d) {
                (Ok(u), Ok(d)) => {
                    users.set(u);
                    devices.set(d);
                }
                (Err(e), _) | (_, Err(e)) => failure.set(Some(e)),
            }
        });
        load_audit();
    };
    load();

    // Invite form.
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let invite_roles = RwSignal::new(vec!["sales_rep".to_string()]);
    let invite_error = RwSignal::new(None::<AppError>);
    let invited = RwSignal::new(None::<String>);
    let invite = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        invite_error.set(None);
        invited.set(None);
        let req = InviteRequest {
            email: email.get_untracked(),
            name: name.get_untracked(),
            roles: invite_roles.get_untracked(),
            password: password.get_untracked(),
        };
        spawn_local(async move {
            match api::admin_invite(&req).await {
                Ok(u) => {
                    invited.set(Some(u.email.clone()));
                    email.set(String::new());
                    name.set(String::new());
                    password.set(String::new());
                    users.update(|all| all.push(u));
                }
                // What was typed stays in the form.
                Err(e) => invite_error.set(Some(e)),
            }
        });
    };

    let revoke = move |device: String| {
        if !platform::confirm(t_string!(i18n, team.revoke_confirm)) {
            return;
        }
        spawn_local(async move {
            match api::admin_revoke(&device).await {
                Ok(()) => load(),
                Err(e) => failure.set(Some(e)),
            }
        });
    };

    let export = move |_| {
        exported.set(None);
        let q = query();
        spawn_local(async move {
            match api::admin_export_audit(&q).await {
                Ok(path) => exported.set(Some(path)),
                Err(e) => failure.set(Some(e)),
            }
        });
    };

    let user_name = move |id: &str| {
        users.with(|u| {
            u.iter()
                .find(|u| u.id == id)
                .map(|u| u.name.clone())
                .unwrap_or_else(|| id.to_string())
        })
    };

    let forms_app = crate::state::AppState::get();
    view! {
        <section class="screen team">
            <div class="screen-head">
                <h1>{t!(i18n, team.title)}</h1>
                <button
                    type="button"
                    class="secondary"
                    id="open-forms"
                    on:click=move |_| forms_app.screen.set(crate::state::Screen::Forms)
                >
                    {t!(i18n, nav.forms)}
                </button>
            </div>
            <p class="muted">{t!(i18n, team.online_note)}</p>
            {move || {
                failure
                    .get()
                    .map(|e| {
                        view! {
                            <p class="form-error" id="team-error" role="alert">
                                {move || error_text(i18n, &e)}
                            </p>
                        }
                    })
            }}
            <div class="card">
                <h2>{t!(i18n, team.members)}</h2>
                <ul class="member-list" id="member-list">
                    {move || {
                        users
                            .get()
                            .into_iter()
                            .map(|u| view! { <MemberRow user=u failure=failure /> })
                            .collect_view()
                    }}
                </ul>
                {move || {
                    (loaded.get() && users.with(|u| u.is_empty()))
                        .then(|| view! { <p class="muted">{t!(i18n, team.no_members)}</p> })
                }}
            </div>
            <form class="card" id="invite-form" on:submit=invite>
                <h2>{t!(i18n, team.invite)}</h2>
                <label for="invite-email">{t!(i18n, team.email)}</label>
                <input
                    id="invite-email"
                    type="email"
                    autocomplete="off"
                    prop:value=move || email.get()
                    on:input=move |ev| email.set(event_target_value(&ev))
                />
                <label for="invite-name">{t!(i18n, team.name)}</label>
                <input
                    id="invite-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
                <label for="invite-password">{t!(i18n, team.password)}</label>
                <input
                    id="invite-password"
                    type="password"
                    autocomplete="new-password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(event_target_value(&ev))
                />
                <p class="muted">{t!(i18n, team.password_help)}</p>
                <span class="label">{t!(i18n, team.roles)}</span>
                <RolePicker id="invite-roles".to_string() roles=invite_roles />
                <button type="submit" id="invite-submit">
                    {t!(i18n, team.invite_submit)}
                </button>
                {move || {
                    invite_error
                        .get()
                        .map(|e| {
                            view! {
                                <p class="form-error" id="invite-error" role="alert">
                                    {move || error_text(i18n, &e)}
                                </p>
                            }
                        })
                }}
                {move || {
                    invited
                        .get()
                        .map(|who| {
                            view! {
                                <p class="save-status" role="status">
                                    {move || t_string!(i18n, team.invited, who = who.clone()).to_string()}
                                </p>
                            }
                        })
                }}
            </form>
            <div class="card">
                <h2>{t!(i18n, team.devices)}</h2>
                <ul class="device-list" id="device-list">
                    {move || {
                        devices
                            .get()
                            .into_iter()
                            .map(|d| {
                                let id = d.id.clone();
                                let revoked = d.revoked_at.is_some();
                                let seen = d.last_seen;
                                view! {
                                    <li class="device-row" class:muted=revoked>
                                        <span class="device-user">{d.user_name.clone()}</span>
                                        <span class="device-name">{d.name.clone()}</span>
                                        <span class="muted">
                                            {move || match seen {
                                                Some(at) => {
                                                    t_string!(
                                                        i18n, team.last_seen, at = platform::format_time(at, labels::lang_tag(i18n.get_locale()))
                                                    )
                                                        .to_string()
                                                }
                                                None => t_string!(i18n, team.never_seen).to_string(),
                                            }}
                                        </span>
                                        {if revoked {
                                            view! {
                                                <span class="chip">{t!(i18n, team.revoked)}</span>
                                            }
                                                .into_any()
                                        } else {
                                            view! {
                                                <button
                                                    type="button"
                                                    class="danger small"
                                                    id=format!("revoke-{id}")
                                                    on:click=move |_| revoke(id.clone())
                                                >
                                                    {t!(i18n, team.revoke)}
                                                </button>
                                            }
                                                .into_any()
                                        }}
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
            </div>
            <Webhooks />
            <div class="card">
                <h2>{t!(i18n, team.audit)}</h2>
                <div class="audit-filters">
                    <label for="audit-user">{t!(i18n, team.audit_user)}</label>
                    <select
                        id="audit-user"
                        on:change=move |ev| {
                            audit_user.set(event_target_value(&ev));
                            load_audit();
                        }
                    >
                        <option value="">{t!(i18n, team.audit_everyone)}</option>
                        {move || {
                            users
                                .get()
                                .into_iter()
                                .map(|u| view! { <option value=u.id.clone()>{u.name.clone()}</option> })
                                .collect_view()
                        }}
                    </select>
                    <label for="audit-doc">{t!(i18n, team.audit_record)}</label>
                    <input
                        id="audit-doc"
                        class="mono"
                        prop:value=move || audit_doc.get()
                        on:input=move |ev| audit_doc.set(event_target_value(&ev))
                        on:change=move |_| load_audit()
                    />
                    <button type="button" class="secondary" id="audit-export" on:click=export>
                        {t!(i18n, team.export)}
                    </button>
                </div>
                {move || {
                    exported
                        .get()
                        .map(|p| {
                            view! {
                                <p class="save-status" role="status" id="audit-exported">
                                    {move || t_string!(i18n, team.exported, path = p.clone()).to_string()}
                                </p>
                            }
                        })
                }}
                <ul class="audit-list" id="audit-list">
                    {move || {
                        audit
                            .get()
                            .into_iter()
                            .map(|a| {
                                let who = user_name(&a.user_id);
                                let at = a.at;
                                let created = a.action == "created";
                                let fields = a
                                    .fields
                                    .iter()
                                    .filter(|f| !matches!(f.as_str(), "updated_at" | "created_at" | "kind" | "team"))
                                    .cloned()
                                    .collect::<Vec<_>>();
                                view! {
                                    <li class="audit-row">
                                        <span class="muted">
                                            {move || platform::format_time(at, labels::lang_tag(i18n.get_locale()))}
                                        </span>
                                        <span class="audit-who">{who}</span>
                                        <span>
                                            {move || {
                                                if created {
                                                    t_string!(i18n, team.created).to_string()
                                                } else {
                                                    t_string!(i18n, team.edited).to_string()
                                                }
                                            }}
                                        </span>
                                        <span class="audit-fields">
                                            {move || {
                                                fields
                                                    .iter()
                                                    .map(|f| labels::field_label(i18n, f))
                                                    .collect::<Vec<_>>()
                                                    .join(", ")
                                            }}
                                        </span>
                                        <span class="mono muted audit-doc">{a.doc_id.clone()}</span>
                                    </li>
                                }
                            })
                            .collect_view()
                    }}
                </ul>
                {move || {
                    (loaded.get() && audit.with(|a| a.is_empty()))
                        .then(|| view! { <p class="muted" id="audit-empty">{t!(i18n, team.audit_empty)}</p> })
                }}
            </div>
        </section>
    }
}

/// The team's group-bot webhooks: add (kind, address, signing secret), remove, and how the last delivery went.
#[component]
fn Webhooks() -> impl IntoView {
    let i18n = use_i18n();
    let hooks = RwSignal::new(Vec::<WebhookView>::new());
    let failure = RwSignal::new(None::<AppError>);
    let kind = RwSignal::new("wecom".to_string());
    let url = RwSignal::new(String::new());
    let secret = RwSignal::new(String::new());
    let load = move || {
        spawn_local(async move {
            match api::admin_webhooks().await {
                Ok(h) => hooks.set(h),
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    load();
    let save = move |list: Vec<WebhookInput>, added: bool| {
        spawn_local(async move {
            match api::admin_set_webhooks(&list).await {
                Ok(()) => {
                    failure.set(None);
                    if added {
                        url.set(String::new());
                        secret.set(String::new());
                    }
                    load();
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let current = move || -> Vec<WebhookInput> {
        hooks
            .get_untracked()
            .into_iter()
            .map(|h| WebhookInput {
                id: h.id,
                kind: h.kind,
                url: h.url,
                secret: String::new(),
            })
            .collect()
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut list = current();
        list.push(WebhookInput {
            id: String::new(),
            kind: kind.get_untracked(),
            url: url.get_untracked(),
            secret: secret.get_untracked(),
        });
        save(list, true);
    };
    view! {
        <div class="card" id="webhooks">
            <h2>{t!(i18n, hooks.title)}</h2>
            <p class="muted">{t!(i18n, hooks.intro)}</p>
            {move || hooks.with(|h| h.is_empty()).then(|| view! { <p class="muted" id="hooks-empty">{t!(i18n, hooks.empty)}</p> })}
            <ul class="audit-list">
                {move || hooks.get().into_iter().map(|h| {
                    let id = h.id.clone();
                    let status = if h.last_at == 0 {
                        t_string!(i18n, hooks.never).to_string()
                    } else if h.last_error.is_empty() {
                        t_string!(i18n, hooks.delivered, time = platform::format_time(h.last_at, labels::lang_tag(i18n.get_locale()))).to_string()
                    } else {
                        t_string!(i18n, hooks.failed, error = h.last_error.clone()).to_string()
                    };
                    view! {
                        <li class="audit-row hook-row">
                            <span class="chip">{hook_kind(i18n, &h.kind)}</span>
                            <span class="hook-url">{h.url.clone()}</span>
                            <span class="muted" class:form-error={!h.last_error.is_empty()}>{status}</span>
                            <button type="button" class="secondary danger" on:click=move |_| {
                                let list = current().into_iter().filter(|x| x.id != id).collect();
                                save(list, false);
                            }>{t!(i18n, rules.remove)}</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="inline-form" id="hook-form" on:submit=add>
                <select id="hook-kind" aria-label=move || t_string!(i18n, hooks.kind)
                    on:change=move |ev| kind.set(event_target_value(&ev))>
                    {["wecom", "dingtalk", "feishu", "generic"].into_iter().map(|k| view! {
                        <option value=k selected=move || kind.get() == k>{move || hook_kind(i18n, k)}</option>
                    }).collect_view()}
                </select>
                <input id="hook-url" type="url" placeholder="https://…" aria-label=move || t_string!(i18n, hooks.url)
                    prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                <input id="hook-secret" type="password" autocomplete="off"
                    placeholder=move || t_string!(i18n, hooks.secret)
                    prop:value=move || secret.get() on:input=move |ev| secret.set(event_target_value(&ev)) />
                <button type="submit" class="primary" id="hook-add">{t!(i18n, hooks.add)}</button>
            </form>
            {move || failure.get().map(|e| view! { <p class="form-error" role="alert" id="hook-error">{move || error_text(i18n, &e)}</p> })}
        </div>
    }
}

fn hook_kind(i18n: I18n, kind: &str) -> String {
    match kind {
        "wecom" => t_string!(i18n, hooks.wecom).to_string(),
        "dingtalk" => t_string!(i18n, hooks.dingtalk).to_string(),
        "feishu" => t_string!(i18n, hooks.feishu).to_string(),
        _ => t_string!(i18n, hooks.generic).to_string(),
    }
}
