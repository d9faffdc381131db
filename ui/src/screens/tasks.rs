//! The task center: the signed-in user's to-dos in tabs (overdue, today, upcoming, done) with counts; complete,
//! snooze, give to a teammate, comment and tick a checklist; add a to-do. Managers and sales leads switch to the
//! team view: per person open, overdue and done today, the oldest open task's age, and every task.

use crate::api;
use crate::errors::error_alert;
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{AppError, TaskAction, TaskInput, TaskQuery, TaskView, TeamTaskRow};

const TABS: [&str; 4] = ["overdue", "today", "upcoming", "done"];

fn now() -> i64 {
    js_sys::Date::now() as i64
}

/// The viewer's UTC offset in minutes east of UTC.
pub fn utc_offset() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}

fn tab_label(i18n: I18n, tab: &str) -> String {
    match tab {
        "overdue" => t_string!(i18n, tasks.overdue).to_string(),
        "today" => t_string!(i18n, tasks.today).to_string(),
        "upcoming" => t_string!(i18n, tasks.upcoming).to_string(),
        _ => t_string!(i18n, tasks.done).to_string(),
    }
}

fn empty_text(i18n: I18n, tab: &str) -> String {
    match tab {
        "overdue" => t_string!(i18n, tasks.empty_overdue).to_string(),
        "today" => t_string!(i18n, tasks.empty_today).to_string(),
        "upcoming" => t_string!(i18n, tasks.empty_upcoming).to_string(),
        _ => t_string!(i18n, tasks.empty_done).to_string(),
    }
}

/// When the task is due, in words, relative to now.
fn due_text(i18n: I18n, t: &TaskView) -> String {
    let now = now();
    let tag = labels::lang_tag(i18n.get_locale());
    if t.status != "open" {
        let who = t.closed_by.clone();
        return t_string!(
            i18n,
            tasks.done_at,
            time = platform::format_time(t.closed_at, tag),
            who = member_name(&who)
        )
        .to_string();
    }
    if t.snoozed_until > now {
        return t_string!(
            i18n,
            tasks.snoozed_until,
            time = platform::format_time(t.snoozed_until, tag)
        )
        .to_string();
    }
    if t.due_at == 0 {
        return t_string!(i18n, tasks.no_deadline).to_string();
    }
    if t.due_at <= now {
        t_string!(
            i18n,
            tasks.overdue_by,
            time = labels::span(i18n, now - t.due_at)
        )
        .to_string()
    } else {
        t_string!(
            i18n,
            tasks.due_in,
            time = labels::span(i18n, t.due_at - now)
        )
        .to_string()
    }
}

fn member_name(user_id: &str) -> String {
    if user_id.is_empty() {
        return "Liveline".into();
    }
    AppState::get()
        .session
        .with_untracked(|s| {
            s.as_ref()
                .and_then(|s| s.members.iter().find(|m| m.id == user_id))
                .map(|m| m.name.clone())
        })
        .unwrap_or_else(|| user_id.to_string())
}

/// Whether the signed-in user reads the whole team (sales lead, manager, admin).
pub fn team_wide() -> bool {
    AppState::get()
        .session
        .with(|s| s.as_ref().is_some_and(|s| s.reads_team()))
}

fn task_item(
    i18n: I18n,
    task: TaskView,
    team: bool,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let app = AppState::get();
    let task = RwSignal::new(task);
    let open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let comment = RwSignal::new(String::new());
    let check = RwSignal::new(String::new());
    let act = move |action: TaskAction| {
        let id = task.with_untracked(|t| t.id.clone());
        busy.set(true);
        spawn_local(async move {
            let result = api::task_action(&id, &action).await;
            busy.set(false);
            match result {
                Ok(updated) => {
                    failure.set(None);
                    let leaves = matches!(
                        action,
                        TaskAction::Complete
                            | TaskAction::Reopen
                            | TaskAction::Snooze { .. }
                            | TaskAction::Reassign { .. }
                    );
                    task.set(updated);
                    if matches!(action, TaskAction::Comment { .. }) {
                        comment.set(String::new());
                    }
                    if matches!(action, TaskAction::AddCheck { .. }) {
                        check.set(String::new());
                    }
                    app.bump_data();
                    if leaves {
                        reload();
                    }
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let id = task.with_untracked(|t| t.id.clone());
    let members = move || {
        app.session
            .with(|s| s.as_ref().map(|s| s.members.clone()).unwrap_or_default())
    };
    view! {
        <li
            class="task-item card"
            data-id=id
            data-type=move || task.with(|t| t.task_type.clone())
            class:overdue={move || task.with(|t| t.status == "open" && t.due_at > 0 && t.due_at <= now() && t.snoozed_until <= now())}
        >
            <div class="task-head">
                <span class="chip task-type">{move || task.with(|t| labels::task_type_name(i18n, &t.task_type))}</span>
                {move || {
                    task.with(|t| match t.priority.as_str() {
                        "urgent" => Some(view! { <span class="chip urgent">{t!(i18n, tasks.priority_urgent)}</span> }.into_any()),
                        "high" => Some(view! { <span class="chip high">{t!(i18n, tasks.priority_high)}</span> }.into_any()),
                        _ => None,
                    })
                }}
                <span class="task-due">{move || task.with(|t| due_text(i18n, t))}</span>
                {move || task.with(|t| t.pending).then(|| view! { <span class="pending-marker">{t!(i18n, leads.not_synced)}</span> })}
            </div>
            <h2 class="task-title">{move || task.with(|t| t.title.clone())}</h2>
            {move || {
                team.then(|| view! {
                    <p class="muted task-assignee">
                        {task.with(|t| format!("{} · {}", t.assignee_name, t_string!(i18n, tasks.age, time = labels::span(i18n, now() - t.created_at))))}
                    </p>
                })
            }}
            <div class="row-actions">
                {move || {
                    let is_open = task.with(|t| t.status == "open");
                    if is_open {
                        view! {
                            <button type="button" class="primary task-complete" disabled=move || busy.get()
                                on:click=move |_| act(TaskAction::Complete)>{t!(i18n, tasks.complete)}</button>
                            <button type="button" class="secondary task-snooze" disabled=move || busy.get()
                                on:click=move |_| act(TaskAction::Snooze { until: now() + 3_600_000 })>{t!(i18n, tasks.snooze)}</button>
                        }.into_any()
                    } else {
                        view! {
                            <button type="button" class="secondary task-reopen" disabled=move || busy.get()
                                on:click=move |_| act(TaskAction::Reopen)>{t!(i18n, tasks.reopen)}</button>
                        }.into_any()
                    }
                }}
                {move || {
                    task.with(|t| (t.linked_kind == "lead" && !t.linked_id.is_empty()).then(|| t.linked_id.clone()))
                        .map(|lead| view! {
                            <button type="button" class="link task-lead"
                                on:click=move |_| app.screen.set(Screen::Detail(lead.clone()))>{t!(i18n, tasks.open_lead)}</button>
                        })
                }}
                <button type="button" class="link task-more" aria-expanded=move || open.get().to_string()
                    on:click=move |_| open.update(|o| *o = !*o)>
                    {move || if open.get() { t_string!(i18n, tasks.less) } else { t_string!(i18n, tasks.more) }}
                </button>
            </div>
            {error_alert(i18n, failure)}
            {move || open.get().then(|| view! {
                <div class="task-details">
                    <div class="field">
                        <label>{t!(i18n, tasks.reassign)}</label>
                        <select class="task-reassign" on:change=move |ev| {
                            let to = event_target_value(&ev);
                            if !to.is_empty() { act(TaskAction::Reassign { to }) }
                        }>
                            {move || {
                                let current = task.with(|t| t.assignee.clone());
                                members().into_iter().map(|m| {
                                    let selected = m.id == current;
                                    view! { <option value=m.id.clone() selected=selected>{m.name.clone()}</option> }
                                }).collect_view()
                            }}
                        </select>
                    </div>
                    <h3>{t!(i18n, tasks.checklist)}</h3>
                    <ul class="checklist">
                        {move || task.with(|t| t.checklist.iter().enumerate().map(|(i, c)| {
                            let done = c.done;
                            view! {
                                <li>
                                    <label>
                                        <input type="checkbox" prop:checked=done
                                            on:change=move |_| act(TaskAction::ToggleCheck { index: i as u32 }) />
                                        <span class:done=done>{c.text.clone()}</span>
                                    </label>
                                </li>
                            }
                        }).collect_view())}
                    </ul>
                    <form class="inline-form" on:submit=move |ev| {
                        ev.prevent_default();
                        act(TaskAction::AddCheck { text: check.get_untracked() });
                    }>
                        <input type="text" class="task-check-input" prop:value=move || check.get()
                            on:input=move |ev| check.set(event_target_value(&ev)) />
                        <button type="submit" class="secondary">{t!(i18n, tasks.add_check)}</button>
                    </form>
                    <h3>{t!(i18n, tasks.comment)}</h3>
                    <ul class="comments">
                        {move || task.with(|t| t.comments.iter().map(|c| {
                            let tag = labels::lang_tag(i18n.get_locale());
                            let who = if c.by_name.is_empty() { member_name(&c.by) } else { c.by_name.clone() };
                            let text = match c.text.strip_prefix("overdue:") {
                                Some(user) => t_string!(i18n, tasks.overdue_by, time = member_name(user)).to_string(),
                                None => c.text.clone(),
                            };
                            view! {
                                <li class="comment">
                                    <span class="meta">{format!("{who} · {}", platform::format_time(c.at, tag))}</span>
                                    <p>{text}</p>
                                </li>
                            }
                        }).collect_view())}
                    </ul>
                    <form class="inline-form" on:submit=move |ev| {
                        ev.prevent_default();
                        act(TaskAction::Comment { text: comment.get_untracked() });
                    }>
                        <textarea class="task-comment-input" rows="2"
                            placeholder=move || t_string!(i18n, tasks.comment_placeholder)
                            prop:value=move || comment.get()
                            on:input=move |ev| comment.set(event_target_value(&ev))></textarea>
                        <button type="submit" class="secondary task-comment-submit" disabled=move || busy.get()>
                            {t!(i18n, tasks.add_comment)}
                        </button>
                    </form>
                </div>
            })}
        </li>
    }
}

#[component]
fn NewTask(on_added: Callback<TaskView>) -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let title = RwSignal::new(String::new());
    let assignee = RwSignal::new(String::new());
    let due = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<AppError>);
    let added = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let due_at = if due.get_untracked().is_empty() {
            0
        } else {
            js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&due.get_untracked())).get_time()
                as i64
        };
        let input = TaskInput {
            title: title.get_untracked(),
            assignee: assignee.get_untracked(),
            due_at,
            ..Default::default()
        };
        spawn_local(async move {
            match api::create_task(&input).await {
                Ok(t) => {
                    failure.set(None);
                    added.set(Some(t.title.clone()));
                    title.set(String::new());
                    due.set(String::new());
                    app.bump_data();
                    on_added.run(t);
                }
                Err(e) => {
                    added.set(None);
                    failure.set(Some(e));
                }
            }
        });
    };
    view! {
        <form class="new-task card" id="new-task" on:submit=submit>
            <label for="new-task-title">{t!(i18n, tasks.new_title)}</label>
            <div class="new-task-row">
                <input id="new-task-title" type="text" maxlength="200"
                    placeholder=move || t_string!(i18n, tasks.new_placeholder)
                    prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev)) />
                <input id="new-task-due" type="datetime-local" aria-label=move || t_string!(i18n, tasks.new_due)
                    prop:value=move || due.get() on:input=move |ev| due.set(event_target_value(&ev)) />
                <select id="new-task-assignee" aria-label=move || t_string!(i18n, tasks.new_assignee)
                    on:change=move |ev| assignee.set(event_target_value(&ev))>
                    {move || {
                        let me = app.session.with(|s| s.as_ref().map(|s| s.user_id.clone()).unwrap_or_default());
                        app.session.with(|s| s.as_ref().map(|s| s.members.clone()).unwrap_or_default())
                            .into_iter()
                            .map(|m| {
                                let selected = m.id == me;
                                view! { <option value=m.id.clone() selected=selected>{m.name.clone()}</option> }
                            })
                            .collect_view()
                    }}
                </select>
                <button type="submit" class="primary">{t!(i18n, tasks.new_submit)}</button>
            </div>
            {error_alert(i18n, failure)}
            {move || added.get().map(|title| view! { <p class="saved-note" role="status">{t_string!(i18n, tasks.added, title = title).to_string()}</p> })}
        </form>
    }
}

fn team_table(i18n: I18n, rows: Vec<TeamTaskRow>) -> impl IntoView {
    let rows: Vec<_> = rows
        .into_iter()
        .filter(|r| r.open + r.done_today > 0)
        .collect();
    if rows.is_empty() {
        return view! { <p class="empty muted">{t!(i18n, tasks.team_empty)}</p> }.into_any();
    }
    let sheet = {
        use liveline_types::sheets::Cell;
        let n = |v: u64| Cell::Int(v as i64);
        StoredValue::new(liveline_types::sheets::ExportTable {
            title: format!(
                "{} {}",
                t_string!(i18n, tasks.title),
                t_string!(i18n, tasks.team)
            ),
            headers: vec![
                t_string!(i18n, tasks.team_person).to_string(),
                t_string!(i18n, tasks.team_open).to_string(),
                t_string!(i18n, tasks.team_overdue).to_string(),
                t_string!(i18n, tasks.team_done_today).to_string(),
                format!("{} (h)", t_string!(i18n, tasks.team_oldest)),
            ],
            rows: rows
                .iter()
                .map(|r| {
                    vec![
                        Cell::Text(r.name.clone()),
                        n(r.open),
                        n(r.overdue),
                        n(r.done_today),
                        if r.open > 0 {
                            Cell::Number(r.oldest_open_ms as f64 / 3_600_000.0)
                        } else {
                            Cell::Empty
                        },
                    ]
                })
                .collect(),
            tz: String::new(),
        })
    };
    let saved: crate::export::Saved = RwSignal::new(None);
    view! {
        <button type="button" class="secondary" id="export-team-tasks"
            on:click=move |_| crate::export::save(sheet.get_value(), saved)>{t!(i18n, imp.export)}</button>
        {crate::export::note(i18n, saved, "export-team-tasks-saved")}
        <table class="team-tasks" id="team-tasks">
            <thead>
                <tr>
                    <th>{t!(i18n, tasks.team_person)}</th>
                    <th class="num">{t!(i18n, tasks.team_open)}</th>
                    <th class="num">{t!(i18n, tasks.team_overdue)}</th>
                    <th class="num">{t!(i18n, tasks.team_done_today)}</th>
                    <th class="num">{t!(i18n, tasks.team_oldest)}</th>
                </tr>
            </thead>
            <tbody>
                {rows.into_iter().map(|r| {
                    let oldest = if r.open > 0 { labels::span(i18n, r.oldest_open_ms) } else { String::new() };
                    view! {
                        <tr data-user=r.user.clone()>
                            <td>{r.name.clone()}</td>
                            <td class="num">{r.open}</td>
                            <td class="num" class:alert={r.overdue > 0}>{r.overdue}</td>
                            <td class="num">{r.done_today}</td>
                            <td class="num">{oldest}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
pub fn Tasks() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let tab = app.task_tab;
    let scope = app.task_scope;
    let items = RwSignal::new(Vec::<TaskView>::new());
    let exported: crate::export::Saved = RwSignal::new(None);
    let team_rows = RwSignal::new(Vec::<TeamTaskRow>::new());
    let loaded = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let request = StoredValue::new(0u64);
    let task_type = RwSignal::new(String::new());

    let reload = move || {
        let ticket = request.get_value() + 1;
        request.set_value(ticket);
        let query = TaskQuery {
            scope: scope.get_untracked(),
            when: tab.get_untracked(),
            task_type: task_type.get_untracked(),
            utc_offset_minutes: utc_offset(),
            limit: 300,
            ..Default::default()
        };
        let team = query.scope == "team";
        spawn_local(async move {
            let result = api::list_tasks(&query).await;
            let rows = if team {
                api::team_tasks(utc_offset()).await.ok()
            } else {
                None
            };
            if request.try_get_value() != Some(ticket) {
                return;
            }
            match result {
                Ok(list) => {
                    failure.set(None);
                    items.set(list);
                }
                Err(e) => failure.set(Some(e)),
            }
            team_rows.set(rows.unwrap_or_default());
            loaded.set(true);
        });
        app.refresh_task_counts();
    };
    Effect::new(move |_| {
        tab.track();
        scope.track();
        task_type.track();
        app.data_epoch.track();
        reload();
    });
    let on_added = Callback::new(move |_| reload());
    let counts = app.task_counts;
    let count_of = move |t: &str| {
        counts.with(|c| match t {
            "overdue" => c.overdue,
            "today" => c.today,
            "upcoming" => c.upcoming,
            _ => c.done,
        })
    };

    view! {
        <section class="screen tasks">
            <div class="screen-head">
                <h1>{t!(i18n, tasks.title)}</h1>
                {move || team_wide().then(|| view! {
                    <div class="segmented" role="tablist">
                        <button type="button" id="tasks-mine" class:active=move || scope.get() != "team"
                            on:click=move |_| scope.set("mine".into())>{t!(i18n, tasks.mine)}</button>
                        <button type="button" id="tasks-team" class:active=move || scope.get() == "team"
                            on:click=move |_| scope.set("team".into())>{t!(i18n, tasks.team)}</button>
                        <button type="button" id="open-rules" class="link"
                            on:click=move |_| app.screen.set(Screen::Rules)>{t!(i18n, tasks.rules)}</button>
                    </div>
                })}
            </div>
            {move || (scope.get() == "team").then(|| team_table(i18n, team_rows.get()))}
            <NewTask on_added=on_added />
            <div class="tabs" role="tablist">
                {TABS.into_iter().map(|t| view! {
                    <button type="button" role="tab" id=format!("tab-{t}") class="tab"
                        class:active=move || tab.get() == t
                        aria-selected=move || (tab.get() == t).to_string()
                        on:click=move |_| tab.set(t.to_string())>
                        {move || tab_label(i18n, t)}
                        {move || (scope.get() != "team" && t != "done").then(|| view! {
                            <span class="count" class:alert={t == "overdue" && count_of(t) > 0}>{platform::group_digits(count_of(t))}</span>
                        })}
                    </button>
                }).collect_view()}
            </div>
            <div class="filter task-filter">
                <label for="task-type">{t!(i18n, tasks.type_filter)}</label>
                <select id="task-type" on:change=move |ev| task_type.set(event_target_value(&ev))>
                    <option value="" selected=move || task_type.get().is_empty()>{t!(i18n, tasks.all_types)}</option>
                    {["first_contact", "overdue", "duplicate", "todo"].into_iter().map(|k| view! {
                        <option value=k selected=move || task_type.get() == k>{move || labels::task_type_name(i18n, k)}</option>
                    }).collect_view()}
                </select>
                <button type="button" class="secondary" id="export-tasks" disabled=move || items.with(|i| i.is_empty())
                    on:click=move |_| crate::export::save(tasks_table(i18n, &tab_label(i18n, &tab.get_untracked()), &items.get_untracked()), exported)>
                    {t!(i18n, imp.export)}
                </button>
            </div>
            {crate::export::note(i18n, exported, "export-tasks-saved")}
            {error_alert(i18n, failure)}
            {move || {
                if !loaded.get() {
                    view! { <p class="muted">{t!(i18n, loading)}</p> }.into_any()
                } else if items.with(|i| i.is_empty()) {
                    view! { <div class="empty" id="tasks-empty"><p>{move || empty_text(i18n, &tab.get())}</p></div> }.into_any()
                } else {
                    ().into_any()
                }
            }}
            <ul class="task-list" id="task-list">
                <For
                    each=move || items.get()
                    key=|t| (t.id.clone(), t.updated_at, t.pending)
                    children=move |t| task_item(i18n, t, scope.get_untracked() == "team", reload)
                />
            </ul>
        </section>
    }
}

/// The tasks shown as a sheet: deadlines as date-time cells in the viewer's zone, codes named.
fn tasks_table(i18n: I18n, tab: &str, list: &[TaskView]) -> liveline_types::sheets::ExportTable {
    use crate::export::text;
    use liveline_types::sheets::Cell;
    let time = |ms: i64| if ms > 0 { Cell::Time(ms) } else { Cell::Empty };
    liveline_types::sheets::ExportTable {
        title: format!("{} {tab}", t_string!(i18n, tasks.title)),
        headers: vec![
            t_string!(i18n, imp.col_task).to_string(),
            t_string!(i18n, imp.col_type).to_string(),
            t_string!(i18n, imp.col_assignee).to_string(),
            t_string!(i18n, imp.col_linked).to_string(),
            t_string!(i18n, imp.col_due).to_string(),
            t_string!(i18n, imp.col_status).to_string(),
        ],
        rows: list
            .iter()
            .map(|t| {
                vec![
                    text(&t.title),
                    text(&labels::task_type_name(i18n, &t.task_type)),
                    text(&t.assignee_name),
                    text(&t.linked_title),
                    time(t.due_at),
                    text(&labels::task_status_name(i18n, &t.status)),
                ]
            })
            .collect(),
        tz: String::new(),
    }
}
