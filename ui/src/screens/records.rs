//! Orders and approvals: the records of each form with a flow (live orders, product-selection proposals, sample
//! requests, live scripts), those waiting for the user first; a record's screen with its fields drawn from the
//! published form, its flow at a glance, the actions the user may take, and the audit trail.

use crate::api;
use crate::errors::{error_alert, error_text};
use crate::fields::{stray_errors, text_of, Draft, Fields};
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::forms::{
    Act, ActKind, Approver, FieldInput, FieldKind, FlowDef, FlowNode, FlowView, FormDef, NodeKind,
    OnTimeout, RecordSaved, RecordSummary, RecordView, Sign, TrailEntry,
};
use liveline_types::AppError;

pub fn status_text(i18n: I18n, status: &str) -> String {
    match status {
        "draft" => t_string!(i18n, rec.status_draft),
        "running" => t_string!(i18n, rec.status_running),
        "returned" => t_string!(i18n, rec.status_returned),
        "withdrawn" => t_string!(i18n, rec.status_withdrawn),
        "approved" => t_string!(i18n, rec.status_approved),
        _ => t_string!(i18n, rec.not_started),
    }
    .to_string()
}

fn act_text(i18n: I18n, act: &Act) -> String {
    match act {
        Act::Submit => t_string!(i18n, rec.act_submit),
        Act::Approve => t_string!(i18n, rec.act_approve),
        Act::Reject { .. } => t_string!(i18n, rec.act_reject),
        Act::Transfer { .. } => t_string!(i18n, rec.act_transfer),
        Act::AddApprover { .. } => t_string!(i18n, rec.act_add_approver),
        Act::Comment => t_string!(i18n, rec.act_comment),
        Act::Withdraw => t_string!(i18n, rec.act_withdraw),
        Act::Remind => t_string!(i18n, rec.act_remind),
        Act::Escalate { .. } => t_string!(i18n, rec.act_escalate),
        Act::AutoApprove => t_string!(i18n, rec.act_auto_approve),
    }
    .to_string()
}

fn member_name(app: AppState, id: &str) -> String {
    app.session
        .with(|s| {
            s.as_ref()
                .and_then(|s| s.members.iter().find(|m| m.id == id))
                .map(|m| m.name.clone())
        })
        .unwrap_or_else(|| id.to_string())
}

/// A field's label in the form, else its key.
pub fn field_label(i18n: I18n, form: Option<&FormDef>, key: &str) -> String {
    form.and_then(|d| d.fields.iter().find(|f| f.key == key))
        .map(|f| text_of(i18n, &f.label))
        .unwrap_or_else(|| key.to_string())
}

/// Who decides at a node, in words.
pub fn approvers_text(
    i18n: I18n,
    app: AppState,
    list: &[Approver],
    form: Option<&FormDef>,
) -> String {
    list.iter()
        .map(|a| match a {
            Approver::User(u) => member_name(app, u),
            Approver::Role(r) => {
                t_string!(i18n, rec.approver_role, role = labels::role_name(i18n, r)).to_string()
            }
            Approver::TeamLead => t_string!(i18n, rec.approver_lead).to_string(),
            Approver::FieldUser(f) => {
                t_string!(i18n, rec.approver_field, field = field_label(i18n, form, f)).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn timeout_text(i18n: I18n, t: OnTimeout) -> String {
    match t {
        OnTimeout::Nothing => t_string!(i18n, rec.timeout_nothing),
        OnTimeout::Remind => t_string!(i18n, rec.timeout_remind),
        OnTimeout::Escalate => t_string!(i18n, rec.timeout_escalate),
        OnTimeout::AutoApprove => t_string!(i18n, rec.timeout_auto_approve),
    }
    .to_string()
}

/// One step of a flow: its name, who decides and how, its time limit, and where it goes next.
pub fn node_lines(
    i18n: I18n,
    app: AppState,
    flow: &FlowDef,
    n: &FlowNode,
    form: Option<&FormDef>,
) -> Vec<String> {
    let mut lines = Vec::new();
    match &n.kind {
        NodeKind::Approve {
            approvers,
            sign,
            requires,
            ..
        } => {
            let mut l = approvers_text(i18n, app, approvers, form);
            if approvers.len() > 1 || approvers.iter().any(|a| matches!(a, Approver::Role(_))) {
                let s = match sign {
                    Sign::All => t_string!(i18n, rec.sign_all),
                    Sign::Any => t_string!(i18n, rec.sign_any),
                };
                l = format!("{l} · {s}");
            }
            lines.push(l);
            if !requires.is_empty() {
                let names: Vec<String> = requires
                    .iter()
                    .map(|k| field_label(i18n, form, k))
                    .collect();
                lines.push(t_string!(i18n, rec.requires, fields = names.join(", ")).to_string());
            }
        }
        NodeKind::Cc { to } => lines.push(
            t_string!(i18n, rec.node_cc, who = approvers_text(i18n, app, to, form)).to_string(),
        ),
        NodeKind::Action { action } => {
            let what = match action {
                liveline_types::forms::FlowAction::SetField { field, .. } => format!("{field} ="),
                liveline_types::forms::FlowAction::CreateTask { title, .. } => text_of(i18n, title),
                liveline_types::forms::FlowAction::Webhook { hook } => format!("webhook {hook}"),
            };
            lines.push(t_string!(i18n, rec.node_action, what = what).to_string());
        }
    }
    if let Some(m) = n.limit_minutes {
        lines.push(
            t_string!(
                i18n,
                rec.limit,
                minutes = m.to_string(),
                then = timeout_text(i18n, n.on_timeout)
            )
            .to_string(),
        );
    }
    for e in &n.next {
        let to = flow
            .nodes
            .iter()
            .find(|x| x.id == e.to)
            .map(|x| text_of(i18n, &x.label))
            .unwrap_or_else(|| e.to.clone());
        let l = match &e.when {
            Some(c) => format!("{} → {to}", t_string!(i18n, rec.when, cond = c.clone())),
            None => format!("{} → {to}", t_string!(i18n, rec.then)),
        };
        lines.push(l);
    }
    if n.next.is_empty() || n.next.iter().all(|e| e.when.is_some()) {
        lines.push(t_string!(i18n, rec.ends).to_string());
    }
    lines
}

fn summary_row(i18n: I18n, r: RecordSummary) -> impl IntoView {
    let app = AppState::get();
    let form = r.form.clone();
    let id = r.id.clone();
    let status_class = format!("chip flow-{}", r.status);
    let status = r.status.clone();
    let node = r.node_label.clone();
    view! {
        <li>
            <button
                type="button"
                class="lead-item record-item"
                data-id=r.id.clone()
                on:click=move |_| app.screen.set(Screen::Record { form: form.clone(), id: Some(id.clone()) })
            >
                <span class="lead-line">
                    <span class="lead-name">{r.title.clone()}</span>
                    <span class=status_class>{move || status_text(i18n, &status)}</span>
                    {r.mine.then(|| view! { <span class="chip mine">{t!(i18n, rec.mine)}</span> })}
                </span>
                <span class="lead-line lead-sub">
                    {r.money.is_some().then(|| view! { <span class="amount">{r.amount()}</span> })}
                    {node.map(|n| view! { <span>{move || t_string!(i18n, rec.at_node, node = text_of(i18n, &n)).to_string()}</span> })}
                </span>
                <span class="lead-line lead-meta">
                    <span>{t_string!(i18n, rec.by, name = r.created_by_name.clone()).to_string()}</span>
                    {(r.updated_at > 0).then(|| view! {
                        <span>{move || platform::format_time(r.updated_at, labels::lang_tag(i18n.get_locale()))}</span>
                    })}
                    {r.pending.then(|| view! { <span class="pending-marker">{t!(i18n, rec.pending)}</span> })}
                </span>
            </button>
        </li>
    }
}

/// The list of one form's records, with the form picker and "New".
#[component]
pub fn Records() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let defs = RwSignal::new(Vec::<FormDef>::new());
    let items = RwSignal::new(None::<Vec<RecordSummary>>);
    let failure = RwSignal::new(None::<AppError>);
    spawn_local(async move {
        match api::form_defs().await {
            Ok(list) => defs.set(list.into_iter().filter(|f| f.id != "lead").collect()),
            Err(e) => failure.set(Some(e)),
        }
    });
    Effect::new(move |_| {
        let form = app.record_form.get();
        app.data_epoch.track();
        spawn_local(async move {
            match api::list_records(&form).await {
                Ok(list) => {
                    if items.try_get_untracked().flatten().as_ref() != Some(&list) {
                        items.set(Some(list));
                    }
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    });
    let form_name = Memo::new(move |_| {
        let id = app.record_form.get();
        defs.with(|d| {
            d.iter()
                .find(|f| f.id == id)
                .map(|f| text_of(i18n, &f.name))
        })
        .unwrap_or_default()
    });
    let exported: crate::export::Saved = RwSignal::new(None);
    // Finance and the warehouse act on records; those who work with buyers write them (the server holds the same).
    let can_create = Memo::new(move |_| {
        app.session.with(|s| {
            s.as_ref().is_some_and(|s| {
                s.role.split(',').any(|r| {
                    matches!(
                        r.trim(),
                        "assistant" | "sales_rep" | "sales_lead" | "manager" | "admin"
                    )
                })
            })
        })
    });
    view! {
        <section class="screen records">
            <div class="screen-head">
                <h1>{t!(i18n, rec.title)}</h1>
                {move || can_create.get().then(|| view! {
                    <button
                        type="button"
                        class="primary"
                        id="record-new"
                        on:click=move |_| app.screen.set(Screen::Record { form: app.record_form.get_untracked(), id: None })
                    >
                        {move || t_string!(i18n, rec.new, form = form_name.get()).to_string()}
                    </button>
                })}
                <button type="button" class="secondary" id="export-records"
                    disabled=move || items.with(|i| i.as_ref().is_none_or(|l| l.is_empty()))
                    on:click=move |_| {
                        let list = items.get_untracked().unwrap_or_default();
                        crate::export::save(records_table(i18n, &form_name.get_untracked(), &list), exported);
                    }>
                    {t!(i18n, imp.export)}
                </button>
            </div>
            {crate::export::note(i18n, exported, "export-records-saved")}
            <div class="filters">
                <div class="filter">
                    <label for="record-form">{t!(i18n, rec.form_label)}</label>
                    <select id="record-form" on:change=move |ev| app.record_form.set(event_target_value(&ev))>
                        {move || {
                            defs.get()
                                .into_iter()
                                .map(|f| {
                                    let id = f.id.clone();
                                    let id2 = f.id.clone();
                                    view! {
                                        <option value=id prop:selected=move || app.record_form.get() == id2>
                                            {move || text_of(i18n, &f.name)}
                                        </option>
                                    }
                                })
                                .collect_view()
                        }}
                    </select>
                </div>
            </div>
            {error_alert(i18n, failure)}
            {move || match items.get() {
                None => view! { <p class="muted">{t!(i18n, loading)}</p> }.into_any(),
                Some(list) if list.is_empty() => view! {
                    <div class="empty" id="records-empty">
                        <p>{move || t_string!(i18n, rec.empty, form = form_name.get()).to_string()}</p>
                    </div>
                }
                .into_any(),
                Some(list) => view! {
                    <ul class="lead-list" id="record-list">
                        {list.into_iter().map(|r| summary_row(i18n, r)).collect_view()}
                    </ul>
                }
                .into_any(),
            }}
        </section>
    }
}

/// The flow at a glance: every step in order, the one waiting now marked, the ones passed ticked.
fn flow_panel(i18n: I18n, app: AppState, f: FlowView, form: Option<FormDef>) -> impl IntoView {
    let current = f.node.clone();
    let visited = f.visited.clone();
    let status = f.status.clone();
    let nodes = f
        .flow
        .nodes
        .iter()
        .map(|n| {
            let is_current = current.as_deref() == Some(n.id.as_str());
            let passed = !is_current && visited.contains(&n.id);
            let lines = node_lines(i18n, app, &f.flow, n, form.as_ref());
            let label = n.label.clone();
            let waiting = is_current.then(|| {
                let mut w = vec![t_string!(i18n, rec.waiting, names = f.waiting.join(", ")).to_string()];
                if !f.approved.is_empty() {
                    w.push(t_string!(i18n, rec.approved_by, names = f.approved.join(", ")).to_string());
                }
                if let Some(due) = f.due_ms {
                    w.push(
                        t_string!(
                            i18n,
                            rec.due,
                            time = platform::format_time(due, labels::lang_tag(i18n.get_locale()))
                        )
                        .to_string(),
                    );
                }
                w
            });
            view! {
                <li class="flow-node" class:current=is_current class:passed=passed data-node=n.id.clone()>
                    <span class="flow-mark" aria-hidden="true">
                        {if passed { "✓" } else if is_current { "●" } else { "○" }}
                    </span>
                    <div class="flow-body">
                        <strong>{text_of(i18n, &label)}</strong>
                        {lines.into_iter().map(|l| view! { <p class="muted">{l}</p> }).collect_view()}
                        {waiting.map(|w| w.into_iter().map(|l| view! { <p class="flow-waiting">{l}</p> }).collect_view())}
                    </div>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="card flow-card">
            <h2>
                {t!(i18n, rec.flow)} " · " {text_of(i18n, &f.flow.name)}
                <span class=format!("chip flow-{status}") id="record-status">{status_text(i18n, &status)}</span>
            </h2>
            <ol class="flow-list">{nodes}</ol>
        </div>
    }
}

fn trail_panel(i18n: I18n, flow: &FlowDef, trail: Vec<TrailEntry>) -> impl IntoView {
    let label_of = |node: &str| {
        flow.nodes
            .iter()
            .find(|n| n.id == node)
            .map(|n| text_of(i18n, &n.label))
            .unwrap_or_default()
    };
    let tag = labels::lang_tag(i18n.get_locale());
    view! {
        <div class="card">
            <h2>{t!(i18n, rec.trail)}</h2>
            {if trail.is_empty() {
                view! { <p class="muted">{t!(i18n, rec.trail_empty)}</p> }.into_any()
            } else {
                view! {
                    <ol class="trail" id="record-trail">
                        {trail
                            .into_iter()
                            .map(|e| {
                                let node = label_of(&e.node);
                                let target = match &e.act {
                                    Some(Act::Transfer { to } | Act::AddApprover { user: to }) => format!(" → {to}"),
                                    _ => String::new(),
                                };
                                let what = match &e.act {
                                    Some(a) => act_text(i18n, a),
                                    None => t_string!(
                                        i18n,
                                        rec.edited,
                                        fields = e.changed.iter().map(|t| text_of(i18n, t)).collect::<Vec<_>>().join(", ")
                                    )
                                    .to_string(),
                                };
                                let superseded = e.superseded.is_some();
                                view! {
                                    <li class="trail-entry" class:superseded=superseded class:edit=e.act.is_none()>
                                        <span class="trail-head">
                                            <strong>{e.actor_name.clone()}</strong>
                                            " · " {what} {target}
                                            {(!node.is_empty()).then(|| format!(" · {node}"))}
                                        </span>
                                        <span class="muted">
                                            {platform::format_time(e.at_ms, tag)} " · "
                                            {t_string!(i18n, rec.from_device, device = e.device.chars().take(8).collect::<String>()).to_string()}
                                        </span>
                                        {(!e.comment.is_empty()).then(|| view! { <p class="comment">{e.comment.clone()}</p> })}
                                        {e.superseded.map(|code| {
                                            let reason = error_text(i18n, &AppError::new(&code));
                                            view! { <p class="refused-reason">{t_string!(i18n, rec.superseded, reason = reason).to_string()}</p> }
                                        })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ol>
                }
                .into_any()
            }}
        </div>
    }
}

/// A record: `id: None` for a new one of `form`.
#[component]
pub fn RecordScreen(form: String, id: Option<String>) -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let rid = RwSignal::new(id);
    let def = RwSignal::new(None::<FormDef>);
    let record = RwSignal::new(None::<RecordView>);
    let draft = Draft::new();
    // The values last loaded: a refresh replaces the draft only while the user has not edited it.
    let loaded = StoredValue::new(std::collections::BTreeMap::new());
    let failure = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let saved = RwSignal::new(false);
    let comment = RwSignal::new(String::new());
    let person = RwSignal::new(String::new());
    let back_to = RwSignal::new(String::new());
    let form_id = StoredValue::new(form);

    let apply = move |v: RecordView| {
        let untouched = draft.values.with_untracked(|d| *d == loaded.get_value());
        if untouched {
            draft.values.set(v.values.clone());
            loaded.set_value(v.values.clone());
        }
        def.set(Some(v.form.clone()));
        record.set(Some(v));
    };
    Effect::new(move |_| {
        app.data_epoch.track();
        let id = rid.get();
        spawn_local(async move {
            match id {
                Some(id) => match api::get_record(&id).await {
                    Ok(v) => {
                        if record.try_get_untracked().flatten().as_ref() != Some(&v) {
                            apply(v);
                        }
                    }
                    Err(e) => failure.set(Some(e)),
                },
                None => {
                    if def.get_untracked().is_none() {
                        match api::form_def(&form_id.get_value()).await {
                            Ok(d) => def.set(Some(d)),
                            Err(e) => failure.set(Some(e)),
                        }
                    }
                }
            }
        });
    });

    let status = Memo::new(move |_| {
        record.with(|r| {
            r.as_ref()
                .and_then(|r| r.flow.as_ref().map(|f| f.status.clone()))
                .unwrap_or_else(|| "draft".into())
        })
    });
    let is_creator = Memo::new(move |_| {
        let me = app
            .session
            .with(|s| s.as_ref().map(|s| s.user_id.clone()).unwrap_or_default());
        record.with(|r| r.as_ref().is_none_or(|r| r.created_by == me))
    });
    // While the submitter may change the record (before submitting, or after it came back), every field their
    // roles allow; while it is in approval, only the fields given to the user's roles by name (a tracking number
    // for the warehouse).
    // The user's roles here: a field hidden from all of them is neither drawn nor written (its value never reaches
    // this device; the server holds it apart).
    let my_roles = Memo::new(move |_| {
        app.session.with(|s| {
            s.as_ref()
                .map(|s| s.role.split(',').map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default()
        })
    });
    let reads = move |f: &liveline_types::forms::FieldDef| {
        f.read.is_empty() || my_roles.with(|m| f.read.iter().any(|r| m.contains(r)))
    };
    let writable = Signal::derive(move || {
        let st = status.get();
        let editing = is_creator.get() && matches!(st.as_str(), "draft" | "returned" | "withdrawn");
        record.with(|r| match r {
            None => def.with(|d| {
                d.as_ref()
                    .map(|d| {
                        d.fields
                            .iter()
                            .filter(|f| reads(f))
                            .map(|f| f.key.clone())
                            .collect()
                    })
                    .unwrap_or_default()
            }),
            Some(r) if editing => r.writable.clone(),
            Some(r) => r
                .form
                .fields
                .iter()
                .filter(|f| !f.write.is_empty() && r.writable.contains(&f.key))
                .map(|f| f.key.clone())
                .collect(),
        })
    });
    let fields = Signal::derive(move || {
        def.with(|d| {
            d.as_ref()
                .map(|d| {
                    d.fields
                        .iter()
                        .filter(|f| reads(f))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let can_save = Memo::new(move |_| !writable.with(|w| w.is_empty()));

    let save = move || {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        saved.set(false);
        failure.set(None);
        // Computed fields are shown, never sent: the engine refuses a value typed into a formula.
        let mut input = draft.values.get_untracked();
        def.with_untracked(|d| {
            if let Some(d) = d {
                for f in &d.fields {
                    match &f.kind {
                        FieldKind::Formula { .. } => {
                            input.remove(&f.key);
                        }
                        FieldKind::SubTable { columns } => {
                            if let Some(FieldInput::Rows(rows)) = input.get_mut(&f.key) {
                                for row in rows.iter_mut() {
                                    for c in columns {
                                        if matches!(c.kind, FieldKind::Formula { .. }) {
                                            row.remove(&c.key);
                                        }
                                    }
                                }
                            }
                        }
                        _ => {}
                    }
                }
            }
        });
        let id = rid.get_untracked();
        let form = form_id.get_value();
        spawn_local(async move {
            let result = api::save_record(&form, id.as_deref(), &input).await;
            busy.set(false);
            match result {
                Ok(RecordSaved::Saved { id }) => {
                    draft.errors.set(Vec::new());
                    saved.set(true);
                    loaded.set_value(draft.values.get_untracked());
                    if rid.get_untracked().as_deref() != Some(id.as_str()) {
                        rid.set(Some(id));
                    } else {
                        app.bump_data();
                    }
                }
                Ok(RecordSaved::Invalid { errors }) => {
                    if let Some(first) = errors.first() {
                        let top = first
                            .field
                            .split(['[', '.'])
                            .next()
                            .unwrap_or("")
                            .to_string();
                        platform::focus(&format!("rec-{top}"));
                    }
                    draft.errors.set(errors);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let act = move |a: Act| {
        let Some(id) = rid.get_untracked() else {
            return;
        };
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        failure.set(None);
        saved.set(false);
        let text = comment.get_untracked();
        spawn_local(async move {
            let result = api::decide(&id, &a, &text).await;
            busy.set(false);
            match result {
                Ok(v) => {
                    comment.set(String::new());
                    person.set(String::new());
                    apply(v);
                    app.bump_data();
                }
                Err(mut e) => {
                    // Name the fields still to fill by their labels.
                    if let Some(keys) = e.args.get("fields").cloned() {
                        let labels: Vec<String> = def.with_untracked(|d| {
                            keys.split(", ")
                                .map(|k| {
                                    d.as_ref()
                                        .and_then(|d| d.fields.iter().find(|f| f.key == k))
                                        .map(|f| text_of(i18n, &f.label))
                                        .unwrap_or_else(|| k.to_string())
                                })
                                .collect()
                        });
                        e.args.insert("fields".into(), labels.join(", "));
                    }
                    failure.set(Some(e));
                }
            }
        });
    };

    let can = move |k: ActKind| record.with(|r| r.as_ref().is_some_and(|r| r.can.contains(&k)));
    let any_act =
        Memo::new(move |_| record.with(|r| r.as_ref().is_some_and(|r| !r.can.is_empty())));
    let member_options = move || {
        let me = app
            .session
            .with(|s| s.as_ref().map(|s| s.user_id.clone()).unwrap_or_default());
        app.session.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.members
                        .iter()
                        .filter(|m| m.id != me)
                        .map(|m| (m.id.clone(), m.name.clone()))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };
    // Nodes the flow passed before the current one: a rejection may go back to one of them.
    let earlier = move || {
        record.with(|r| {
            r.as_ref()
                .and_then(|r| r.flow.as_ref())
                .map(|f| {
                    let mut seen = Vec::new();
                    for v in &f.visited {
                        if Some(v) != f.node.as_ref() && !seen.contains(v) {
                            if let Some(n) = f.flow.nodes.iter().find(|n| &n.id == v) {
                                if matches!(n.kind, NodeKind::Approve { .. }) {
                                    seen.push(v.clone());
                                }
                            }
                        }
                    }
                    seen.into_iter()
                        .filter_map(|v| {
                            f.flow
                                .nodes
                                .iter()
                                .find(|n| n.id == v)
                                .map(|n| (v.clone(), text_of(i18n, &n.label)))
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    };

    let actions = move || {
        any_act.get().then(|| {
            view! {
                <div class="card actions-card">
                    <div class="field">
                        <label for="record-comment">{t!(i18n, rec.comment)}</label>
                        <textarea
                            id="record-comment"
                            rows="2"
                            prop:value=move || comment.get()
                            on:input=move |ev| comment.set(event_target_value(&ev))
                        ></textarea>
                    </div>
                    <div class="form-actions wrap">
                        {can(ActKind::Submit).then(|| view! {
                            <button type="button" class="primary" id="act-submit" disabled=move || busy.get()
                                on:click=move |_| act(Act::Submit)>{t!(i18n, rec.act_submit)}</button>
                        })}
                        {can(ActKind::Approve).then(|| view! {
                            <button type="button" class="primary" id="act-approve" disabled=move || busy.get()
                                on:click=move |_| act(Act::Approve)>{t!(i18n, rec.act_approve)}</button>
                        })}
                        {can(ActKind::Reject).then(|| view! {
                            <span class="pair">
                                <select id="act-reject-to" aria-label=move || t_string!(i18n, rec.act_reject)
                                    on:change=move |ev| back_to.set(event_target_value(&ev))>
                                    <option value="">{t!(i18n, rec.to_submitter)}</option>
                                    {earlier().into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                                </select>
                                <button type="button" class="danger" id="act-reject" disabled=move || busy.get()
                                    on:click=move |_| {
                                        let to = back_to.get_untracked();
                                        act(Act::Reject { to: (!to.is_empty()).then_some(to) })
                                    }>{t!(i18n, rec.act_reject)}</button>
                            </span>
                        })}
                        {can(ActKind::Comment).then(|| view! {
                            <button type="button" class="secondary" id="act-comment" disabled=move || busy.get() || comment.get().trim().is_empty()
                                on:click=move |_| act(Act::Comment)>{t!(i18n, rec.act_comment)}</button>
                        })}
                        {can(ActKind::Withdraw).then(|| view! {
                            <button type="button" class="secondary" id="act-withdraw" disabled=move || busy.get()
                                on:click=move |_| act(Act::Withdraw)>{t!(i18n, rec.act_withdraw)}</button>
                        })}
                    </div>
                    {can(ActKind::Transfer).then(|| view! {
                        <div class="form-actions wrap">
                            <select id="act-person" aria-label=move || t_string!(i18n, rec.choose_person)
                                on:change=move |ev| person.set(event_target_value(&ev))>
                                <option value="" prop:selected=move || person.get().is_empty()>{t!(i18n, rec.choose_person)}</option>
                                {member_options().into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                            </select>
                            <button type="button" class="secondary" id="act-transfer" disabled=move || busy.get() || person.get().is_empty()
                                on:click=move |_| act(Act::Transfer { to: person.get_untracked() })>{t!(i18n, rec.act_transfer)}</button>
                            <button type="button" class="secondary" id="act-add" disabled=move || busy.get() || person.get().is_empty()
                                on:click=move |_| act(Act::AddApprover { user: person.get_untracked() })>{t!(i18n, rec.act_add_approver)}</button>
                        </div>
                    })}
                </div>
            }
        })
    };

    let title = move || {
        def.with(|d| {
            d.as_ref()
                .map(|d| text_of(i18n, &d.name))
                .unwrap_or_default()
        })
    };
    let stray = move || {
        let fs = fields.get();
        let lines = stray_errors(i18n, draft, &fs);
        (!lines.is_empty()).then(|| view! {
            <div class="form-error" role="alert">{lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}</div>
        })
    };

    view! {
        <section class="screen record">
            <button type="button" class="link back" id="record-back" on:click=move |_| app.screen.set(Screen::Records)>
                {t!(i18n, rec.back)}
            </button>
            <div class="screen-head">
                <h1>{title}</h1>
                {move || record.with(|r| r.as_ref().map(|r| {
                    view! { <span class="muted">{t_string!(i18n, rec.by, name = r.created_by_name.clone()).to_string()}</span> }
                }))}
            </div>
            {move || record.get().and_then(|r| r.flow.map(|f| flow_panel(i18n, app, f, Some(r.form))))}
            {actions}
            {error_alert(i18n, failure)}
            <form class="lead-form record-form card" novalidate=true on:submit=move |ev| { ev.prevent_default(); save(); }>
                <div class="form-grid">
                    <Fields fields=fields draft=draft prefix="rec" writable=writable />
                </div>
                {stray}
                {move || can_save.get().then(|| view! {
                    <div class="form-actions">
                        <button type="submit" class="primary" id="record-save" disabled=move || busy.get()>
                            {move || if busy.get() { t_string!(i18n, rec.saving) } else { t_string!(i18n, rec.save) }}
                        </button>
                        {move || saved.get().then(|| view! {
                            <p class="save-status" role="status" id="record-saved"><span class="check" aria-hidden="true">"✓ "</span>{t!(i18n, rec.saved)}</p>
                        })}
                    </div>
                })}
            </form>
            {move || record.get().and_then(|r| r.flow).map(|f| trail_panel(i18n, &f.flow, f.trail))}
        </section>
    }
}

/// A record list as a sheet: amounts as money in their currency, times in the viewer's zone.
fn records_table(
    i18n: I18n,
    form_name: &str,
    list: &[liveline_types::forms::RecordSummary],
) -> liveline_types::sheets::ExportTable {
    use crate::export::text;
    use liveline_types::sheets::Cell;
    let headers = vec![
        t_string!(i18n, imp.col_title).to_string(),
        t_string!(i18n, imp.col_amount).to_string(),
        t_string!(i18n, imp.col_status).to_string(),
        t_string!(i18n, imp.col_step).to_string(),
        t_string!(i18n, imp.col_by).to_string(),
        t_string!(i18n, imp.col_updated).to_string(),
    ];
    let rows = list
        .iter()
        .map(|r| {
            vec![
                text(&r.title),
                r.money
                    .as_ref()
                    .map(|m| Cell::Money {
                        amount: m.amount.to_string(),
                        currency: m.currency.clone(),
                    })
                    .unwrap_or(Cell::Empty),
                text(&status_text(i18n, &r.status)),
                r.node_label
                    .as_ref()
                    .map(|n| text(&text_of(i18n, n)))
                    .unwrap_or(Cell::Empty),
                text(&r.created_by_name),
                if r.updated_at > 0 {
                    Cell::Time(r.updated_at)
                } else {
                    Cell::Empty
                },
            ]
        })
        .collect();
    liveline_types::sheets::ExportTable {
        title: form_name.to_string(),
        headers,
        rows,
        tz: String::new(),
    }
}
