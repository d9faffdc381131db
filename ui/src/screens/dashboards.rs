//! Managers' dashboards, computed on the device from what it holds (offline too): the lead funnel per live
//! session, channel, rep and team; who waits for a first contact and whose follow-ups are overdue; how long each
//! approval step takes. Any period in the viewer's time zone; every number opens the leads behind it.

use super::custom_dash::CustomBoards;
use crate::api;
use crate::charts;
use crate::errors::error_alert;
use crate::export::{self, text};
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use liveline_types::metrics::{
    DashboardQuery, Dim, DrillQuery, FunnelRow, FunnelTable, PeriodSpec, ResponseBoard, Stage,
    StepRow,
};
use liveline_types::sheets::{Cell, ExportTable};
use liveline_types::AppError;
use plotters::style::RGBColor;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Board {
    Sessions,
    Channels,
    Reps,
    Teams,
    Hosts,
    Platforms,
    Response,
    Approvals,
    Custom,
}

const BOARDS: [Board; 9] = [
    Board::Sessions,
    Board::Channels,
    Board::Reps,
    Board::Teams,
    Board::Hosts,
    Board::Platforms,
    Board::Response,
    Board::Approvals,
    Board::Custom,
];

impl Board {
    fn key(self) -> &'static str {
        match self {
            Board::Sessions => "sessions",
            Board::Channels => "channels",
            Board::Reps => "reps",
            Board::Teams => "teams",
            Board::Hosts => "hosts",
            Board::Platforms => "platforms",
            Board::Response => "response",
            Board::Approvals => "approvals",
            Board::Custom => "custom",
        }
    }
    fn dim(self) -> Option<Dim> {
        match self {
            Board::Sessions => Some(Dim::Session),
            Board::Channels => Some(Dim::Channel),
            Board::Reps => Some(Dim::Rep),
            Board::Teams => Some(Dim::Team),
            Board::Hosts => Some(Dim::Host),
            Board::Platforms => Some(Dim::Platform),
            _ => None,
        }
    }
    fn name(self, i18n: I18n) -> String {
        match self {
            Board::Sessions => t_string!(i18n, dash.tab_sessions),
            Board::Channels => t_string!(i18n, dash.tab_channels),
            Board::Reps => t_string!(i18n, dash.tab_reps),
            Board::Teams => t_string!(i18n, dash.tab_teams),
            Board::Response => t_string!(i18n, dash.tab_response),
            Board::Hosts => t_string!(i18n, dash.tab_hosts),
            Board::Platforms => t_string!(i18n, dash.tab_platforms),
            Board::Approvals => t_string!(i18n, dash.tab_approvals),
            Board::Custom => t_string!(i18n, dash.tab_custom),
        }
        .to_string()
    }
}

pub fn stage_name(i18n: I18n, s: Stage) -> String {
    match s {
        Stage::Captured => t_string!(i18n, dash.stage_captured),
        Stage::Assigned => t_string!(i18n, dash.stage_assigned),
        Stage::ContactedInSla => t_string!(i18n, dash.stage_contacted_in_sla),
        Stage::Contacted => t_string!(i18n, dash.stage_contacted),
        Stage::Qualified => t_string!(i18n, dash.stage_qualified),
        Stage::Quoted => t_string!(i18n, dash.stage_quoted),
        Stage::Won => t_string!(i18n, dash.stage_won),
        Stage::Lost => t_string!(i18n, dash.stage_lost),
    }
    .to_string()
}

/// The funnel chart's steps (lost stands beside them, not under them) with a row's counts.
pub(crate) fn funnel_stages(i18n: I18n, row: &FunnelRow) -> Vec<(String, u64)> {
    [
        Stage::Captured,
        Stage::Assigned,
        Stage::Contacted,
        Stage::Qualified,
        Stage::Quoted,
        Stage::Won,
    ]
    .into_iter()
    .map(|s| (stage_name(i18n, s), row.count(s)))
    .collect()
}

/// What a row's key means to a person: a channel or status in the viewer's language, a country's name, or the
/// name the device knows (a session's title, a rep's name); an empty key says what is missing.
pub(crate) fn row_name(i18n: I18n, dim: Dim, row: &FunnelRow) -> String {
    if row.key.is_empty() {
        return match dim {
            Dim::Rep => t_string!(i18n, dash.unassigned),
            Dim::Session => t_string!(i18n, dash.no_session),
            Dim::All => t_string!(i18n, dash.total),
            _ => t_string!(i18n, dash.unknown),
        }
        .to_string();
    }
    match dim {
        Dim::Channel => labels::channel_name(i18n, &row.key),
        Dim::Status => labels::status_name(i18n, &row.key),
        Dim::Country => labels::country_name(i18n.get_locale(), &row.key),
        _ => row.label.clone(),
    }
}

/// A duration as a person says it: minutes, hours or days.
pub(crate) fn duration(i18n: I18n, ms: Option<i64>) -> String {
    let Some(ms) = ms else {
        return t_string!(i18n, dash.none).to_string();
    };
    let min = ms as f64 / 60_000.0;
    if min < 90.0 {
        t_string!(i18n, dash.minutes, n = format!("{min:.0}")).to_string()
    } else if min < 48.0 * 60.0 {
        t_string!(i18n, dash.hours, n = format!("{:.1}", min / 60.0)).to_string()
    } else {
        t_string!(i18n, dash.days, n = format!("{:.1}", min / 1440.0)).to_string()
    }
}

pub(crate) fn percent(share: Option<f64>) -> String {
    share
        .map(|s| format!("{:.0}%", s * 100.0))
        .unwrap_or_else(|| "—".into())
}

/// Which number was opened.
#[derive(Clone, Debug, PartialEq)]
struct Opened {
    query: DrillQuery,
    what: String,
}

#[component]
pub fn Dashboards() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let board = RwSignal::new(Board::Sessions);
    let preset = RwSignal::new("month".to_string());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<AppError>);
    let opened = RwSignal::new(None::<Opened>);
    // The device's time zone is filled in by the shell.
    let period = Memo::new(move |_| PeriodSpec {
        preset: preset.get(),
        from: from.get(),
        to: to.get(),
        tz: String::new(),
    });
    let ready =
        move || preset.get() != "custom" || (!from.get().is_empty() && !to.get().is_empty());

    let funnel = LocalResource::new(move || {
        let dim = board.get().dim();
        let period = period.get();
        let ok = ready();
        app.data_epoch.track();
        async move {
            let dim = dim?;
            if !ok {
                return None;
            }
            Some(
                api::dashboard(&DashboardQuery {
                    dim: Some(dim),
                    period,
                    filters: Vec::new(),
                })
                .await,
            )
        }
    });
    let days = LocalResource::new(move || {
        let period = period.get();
        let show = board.get().dim().is_some() && ready();
        app.data_epoch.track();
        async move {
            if !show {
                return None;
            }
            api::dashboard(&DashboardQuery {
                dim: Some(Dim::Day),
                period,
                filters: Vec::new(),
            })
            .await
            .ok()
        }
    });
    let response = LocalResource::new(move || {
        let show = board.get() == Board::Response;
        app.data_epoch.track();
        async move {
            if !show {
                return None;
            }
            Some(api::dashboard_response().await)
        }
    });
    let steps = LocalResource::new(move || {
        let show = board.get() == Board::Approvals && ready();
        let period = period.get();
        app.data_epoch.track();
        async move {
            if !show {
                return None;
            }
            Some(api::dashboard_approvals(&period).await)
        }
    });
    let drilled = LocalResource::new(move || {
        let o = opened.get();
        app.data_epoch.track();
        async move {
            let o = o?;
            Some(api::dashboard_drill(&o.query).await)
        }
    });
    Effect::new(move |_| {
        let e = funnel
            .get()
            .flatten()
            .and_then(|r| r.err())
            .or_else(|| steps.get().flatten().and_then(|r| r.err()));
        failure.set(e);
    });

    let open = move |dim: Dim, key: String, stage: Stage, what: String| {
        opened.set(Some(Opened {
            query: DrillQuery {
                dim,
                key,
                stage,
                period: period.get_untracked(),
                filters: Vec::new(),
            },
            what,
        }));
    };

    let open_query = Callback::new(move |(query, what): (DrillQuery, String)| {
        opened.set(Some(Opened { query, what }));
    });

    view! {
        <section class="screen dashboards">
            <div class="screen-head">
                <h1>{t!(i18n, dash.title)}</h1>
            </div>
            <div class="tabs" role="tablist">
                {BOARDS.into_iter().map(|b| view! {
                    <button type="button" role="tab" id=format!("board-{}", b.key()) class="tab"
                        class:active=move || board.get() == b
                        aria-selected=move || (board.get() == b).to_string()
                        on:click=move |_| { board.set(b); opened.set(None); }>
                        {move || b.name(i18n)}
                    </button>
                }).collect_view()}
            </div>
            {move || (board.get() != Board::Response).then(|| view! {
                <div class="period" role="group" aria-label=move || t_string!(i18n, dash.period)>
                    <div class="segmented">
                        {["today", "week", "month", "all", "custom"].into_iter().map(|p| view! {
                            <button type="button" id=format!("period-{p}") class:active=move || preset.get() == p
                                on:click=move |_| { preset.set(p.to_string()); opened.set(None); }>
                                {move || match p {
                                    "today" => t_string!(i18n, dash.period_today),
                                    "week" => t_string!(i18n, dash.period_week),
                                    "month" => t_string!(i18n, dash.period_month),
                                    "all" => t_string!(i18n, dash.period_all),
                                    _ => t_string!(i18n, dash.period_custom),
                                }}
                            </button>
                        }).collect_view()}
                    </div>
                    {move || (preset.get() == "custom").then(|| view! {
                        <label class="period-date">{t!(i18n, dash.from)}
                            <input type="date" id="period-from" prop:value=move || from.get()
                                on:change=move |ev| from.set(event_target_value(&ev)) />
                        </label>
                        <label class="period-date">{t!(i18n, dash.to)}
                            <input type="date" id="period-to" prop:value=move || to.get()
                                on:change=move |ev| to.set(event_target_value(&ev)) />
                        </label>
                    })}
                </div>
            })}
            {error_alert(i18n, failure)}
            {move || {
                let b = board.get();
                match b {
                    Board::Response => response_board(i18n, app, response.get().flatten()).into_any(),
                    Board::Custom => view! { <CustomBoards period=period open=open_query /> }.into_any(),
                    Board::Approvals => steps_board(i18n, steps.get().flatten()).into_any(),
                    _ => {
                        let table = funnel.get().flatten().and_then(|r| r.ok());
                        let per_day = days.get().flatten();
                        funnel_board(i18n, b, table, per_day, open).into_any()
                    }
                }
            }}
            {move || opened.get().map(|o| {
                let leads = drilled.get().flatten();
                drill_panel(i18n, app, o, leads, opened)
            })}
        </section>
    }
}

fn funnel_board(
    i18n: I18n,
    board: Board,
    table: Option<FunnelTable>,
    per_day: Option<FunnelTable>,
    open: impl Fn(Dim, String, Stage, String) + Copy + 'static,
) -> impl IntoView {
    let dim = board.dim().unwrap_or(Dim::All);
    let Some(table) = table else {
        return view! { <p class="muted" id="dash-counting">{t!(i18n, dash.counting)}</p> }
            .into_any();
    };
    if table.total.count(Stage::Captured) == 0 {
        return view! { <p class="empty-state" id="dash-empty">{t!(i18n, dash.empty)}</p> }
            .into_any();
    }
    let stages = funnel_stages(i18n, &table.total);
    let names: Vec<String> = table.rows.iter().map(|r| row_name(i18n, dim, r)).collect();
    let bars = charts::bars(
        &names,
        &[
            (
                stage_name(i18n, Stage::Captured),
                charts::ACCENT,
                table
                    .rows
                    .iter()
                    .map(|r| r.count(Stage::Captured) as f64)
                    .collect(),
            ),
            (
                stage_name(i18n, Stage::Won),
                charts::GOOD,
                table
                    .rows
                    .iter()
                    .map(|r| r.count(Stage::Won) as f64)
                    .collect(),
            ),
        ],
        &|v| format!("{v:.0}"),
    );
    let line = per_day.filter(|d| d.rows.len() > 1).map(|d| {
        let labels: Vec<String> = d.rows.iter().map(|r| r.key.clone()).collect();
        let values: Vec<f64> = d
            .rows
            .iter()
            .map(|r| r.count(Stage::Captured) as f64)
            .collect();
        charts::line(&labels, &values)
    });
    let shown = Stage::ALL;
    let cell = move |row: &FunnelRow, s: Stage, name: String| {
        let n = row.count(s);
        let key = row.key.clone();
        let (d, what) = if row.key.is_empty() && name == t_string!(i18n, dash.total) {
            (Dim::All, format!("{} · {}", name, stage_name(i18n, s)))
        } else {
            (dim, format!("{} · {}", name, stage_name(i18n, s)))
        };
        view! {
            <td class="num" data-stage=s.code()>
                <button type="button" class="drill" disabled=n == 0
                    on:click=move |_| open(d, key.clone(), s, what.clone())>
                    {platform::group_digits(n)}
                </button>
            </td>
        }
    };
    let row_view = move |row: FunnelRow, name: String, total: bool| {
        view! {
            <tr class:total=total data-key=row.key.clone()>
                <th scope="row">{name.clone()}</th>
                {shown.into_iter().map(|s| cell(&row, s, name.clone())).collect_view()}
                <td class="num">{percent(row.conversion(Stage::Won))}</td>
                <td class="num">{format!("{} / {}", duration(i18n, row.contact_p50_ms), duration(i18n, row.contact_p90_ms))}</td>
            </tr>
        }
    };
    let total = FunnelRow {
        key: String::new(),
        ..table.total.clone()
    };
    let total_name = t_string!(i18n, dash.total).to_string();
    let export = {
        let mut headers = vec![board.name(i18n)];
        headers.extend(shown.iter().map(|s| stage_name(i18n, *s)));
        headers.push(t_string!(i18n, dash.conversion).to_string());
        headers.push(format!("{} (min)", t_string!(i18n, dash.contact_time)));
        let minutes = |ms: Option<i64>| ms.map(|m| format!("{:.1}", m as f64 / 60_000.0));
        let line = |r: &FunnelRow, name: &str| {
            let mut cells = vec![Cell::Text(name.to_string())];
            cells.extend(shown.iter().map(|s| Cell::Int(r.count(*s) as i64)));
            cells.push(
                r.conversion(Stage::Won)
                    .map(Cell::Percent)
                    .unwrap_or(Cell::Empty),
            );
            cells.push(
                match (minutes(r.contact_p50_ms), minutes(r.contact_p90_ms)) {
                    (Some(a), Some(b)) => Cell::Text(format!("{a} / {b}")),
                    _ => Cell::Empty,
                },
            );
            cells
        };
        let mut rows: Vec<Vec<Cell>> = table
            .rows
            .iter()
            .zip(&names)
            .map(|(r, n)| line(r, n))
            .collect();
        rows.push(line(&total, &total_name));
        StoredValue::new(ExportTable {
            title: board.name(i18n),
            headers,
            rows,
            tz: String::new(),
        })
    };
    let saved = RwSignal::new(None::<Result<String, AppError>>);
    view! {
        <div class="dash-charts">
            <figure class="chart" id="chart-funnel">
                <figcaption>{t!(i18n, dash.funnel)}</figcaption>
                <div inner_html=charts::funnel(&stages)></div>
            </figure>
            <figure class="chart" id="chart-groups">
                <figcaption>{t!(i18n, dash.captured_won)}</figcaption>
                <div inner_html=bars></div>
            </figure>
            {line.map(|svg| view! {
                <figure class="chart" id="chart-days">
                    <figcaption>{t!(i18n, dash.per_day)}</figcaption>
                    <div inner_html=svg></div>
                </figure>
            })}
        </div>
        <div class="dash-actions">
            <p class="muted">{t!(i18n, dash.drill_hint)}</p>
            <button type="button" class="secondary" id="export-table"
                on:click=move |_| export::save(export.get_value(), saved)>{t!(i18n, imp.export)}</button>
        </div>
        {export::note(i18n, saved, "export-saved")}
        <div class="table-scroll">
            <table class="dash-table" id="dash-table">
                <thead>
                    <tr>
                        <th scope="col">{move || board.name(i18n)}</th>
                        {shown.into_iter().map(|s| view! { <th scope="col" class="num">{stage_name(i18n, s)}</th> }).collect_view()}
                        <th scope="col" class="num">{t!(i18n, dash.conversion)}</th>
                        <th scope="col" class="num">{t!(i18n, dash.contact_time)}</th>
                    </tr>
                </thead>
                <tbody>
                    {table.rows.iter().cloned().zip(names.clone()).map(|(r, n)| row_view(r, n, false)).collect_view()}
                    {row_view(total, total_name, true)}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn response_board(
    i18n: I18n,
    app: AppState,
    board: Option<Result<ResponseBoard, AppError>>,
) -> impl IntoView {
    let Some(board) = board else {
        return view! { <p class="muted">{t!(i18n, dash.counting)}</p> }.into_any();
    };
    let board = match board {
        Ok(b) => b,
        Err(e) => {
            let text = crate::errors::error_text(i18n, &e);
            return view! { <p class="form-error" role="alert">{text}</p> }.into_any();
        }
    };
    let now = js_sys::Date::now() as i64;
    let lang = labels::lang_tag(i18n.get_locale());
    let bars = (!board.overdue.is_empty()).then(|| {
        let names: Vec<String> = board.overdue.iter().map(|o| o.rep_name.clone()).collect();
        charts::bars(
            &names,
            &[(
                t_string!(i18n, dash.overdue_col).to_string(),
                RGBColor(220, 38, 38),
                board.overdue.iter().map(|o| o.overdue as f64).collect(),
            )],
            &|v| format!("{v:.0}"),
        )
    });
    let table = StoredValue::new(ExportTable {
        title: t_string!(i18n, dash.uncontacted).to_string(),
        headers: vec![
            labels::field_label(i18n, "buyer_name"),
            labels::field_label(i18n, "owner"),
            t_string!(i18n, dash.captured_col).to_string(),
        ],
        rows: board
            .uncontacted
            .iter()
            .map(|w| {
                vec![
                    text(&w.buyer_name),
                    text(&w.owner_name),
                    Cell::Time(w.captured_at),
                ]
            })
            .collect(),
        tz: String::new(),
    });
    let saved: export::Saved = RwSignal::new(None);
    view! {
        <h2>{t!(i18n, dash.uncontacted)}</h2>
        {(!board.uncontacted.is_empty()).then(|| view! {
            <div class="dash-actions">
                <button type="button" class="secondary" id="export-response"
                    on:click=move |_| export::save(table.get_value(), saved)>{t!(i18n, imp.export)}</button>
            </div>
        })}
        {export::note(i18n, saved, "export-response-saved")}
        {if board.uncontacted.is_empty() {
            view! { <p class="empty-state" id="uncontacted-empty">{t!(i18n, dash.uncontacted_empty)}</p> }.into_any()
        } else {
            view! {
                <p class="muted" id="dash-uncontacted-count">{t!(i18n, dash.uncontacted_count, n = platform::group_digits(board.uncontacted_total))}</p>
                <ul class="dash-list" id="uncontacted">
                    {board.uncontacted.into_iter().map(|w| {
                        let id = w.id.clone();
                        let owner = if w.owner.is_empty() { t_string!(i18n, dash.unassigned).to_string() } else { w.owner_name.clone() };
                        let age = duration(i18n, Some(now - w.captured_at));
                        view! {
                            <li>
                                <button type="button" class="link" on:click=move |_| app.screen.set(Screen::Detail(id.clone()))>
                                    {w.buyer_name.clone()}
                                </button>
                                <span class="muted">{owner}</span>
                                <span class="muted">{platform::format_time(w.captured_at, lang)}</span>
                                <span class="chip status-new">{t!(i18n, dash.waiting_for, age = age.clone())}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }.into_any()
        }}
        <h2>{t!(i18n, dash.overdue)}</h2>
        {match bars {
            None => view! { <p class="empty-state" id="overdue-empty">{t!(i18n, dash.overdue_empty)}</p> }.into_any(),
            Some(svg) => view! {
                <figure class="chart" id="chart-overdue"><div inner_html=svg></div></figure>
                <div class="table-scroll">
                    <table class="dash-table" id="overdue-table">
                        <thead><tr>
                            <th scope="col">{t!(i18n, dash.rep_col)}</th>
                            <th scope="col" class="num">{t!(i18n, dash.overdue_col)}</th>
                            <th scope="col">{t!(i18n, dash.oldest_col)}</th>
                        </tr></thead>
                        <tbody>
                            {board.overdue.into_iter().map(|o| view! {
                                <tr><th scope="row">{o.rep_name}</th>
                                    <td class="num">{platform::group_digits(o.overdue)}</td>
                                    <td>{platform::format_time(o.oldest_due_at, lang)}</td></tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            }.into_any(),
        }}
    }
    .into_any()
}

fn steps_board(i18n: I18n, rows: Option<Result<Vec<StepRow>, AppError>>) -> impl IntoView {
    let Some(Ok(rows)) = rows else {
        return view! { <p class="muted">{t!(i18n, dash.counting)}</p> }.into_any();
    };
    if rows.is_empty() {
        return view! { <p class="empty-state" id="steps-empty">{t!(i18n, dash.approvals_empty)}</p> }.into_any();
    }
    let text_of = move |t: &liveline_types::forms::Text| crate::fields::text_of(i18n, t);
    let names: Vec<String> = rows
        .iter()
        .map(|r| format!("{} · {}", text_of(&r.form_label), text_of(&r.node_label)))
        .collect();
    let svg = charts::bars(
        &names,
        &[
            (
                t_string!(i18n, dash.avg).to_string(),
                charts::ACCENT,
                rows.iter()
                    .map(|r| r.avg_ms.unwrap_or(0) as f64 / 3_600_000.0)
                    .collect(),
            ),
            (
                t_string!(i18n, dash.p90).to_string(),
                RGBColor(234, 88, 12),
                rows.iter()
                    .map(|r| r.p90_ms.unwrap_or(0) as f64 / 3_600_000.0)
                    .collect(),
            ),
        ],
        &|v| format!("{v:.1} h"),
    );
    let table = {
        let hours = |ms: Option<i64>| {
            ms.map(|m| Cell::Number(m as f64 / 3_600_000.0))
                .unwrap_or(Cell::Empty)
        };
        ExportTable {
            title: t_string!(i18n, dash.tab_approvals).to_string(),
            headers: vec![
                t_string!(i18n, dash.form_col).to_string(),
                t_string!(i18n, dash.step_col).to_string(),
                t_string!(i18n, dash.passed).to_string(),
                format!("{} (h)", t_string!(i18n, dash.avg)),
                format!("{} (h)", t_string!(i18n, dash.p90)),
                t_string!(i18n, dash.waiting_now).to_string(),
            ],
            rows: rows
                .iter()
                .map(|r| {
                    vec![
                        text(&text_of(&r.form_label)),
                        text(&text_of(&r.node_label)),
                        Cell::Int(r.passed as i64),
                        hours(r.avg_ms),
                        hours(r.p90_ms),
                        Cell::Int(r.waiting as i64),
                    ]
                })
                .collect(),
            tz: String::new(),
        }
    };
    let table = StoredValue::new(table);
    let saved: export::Saved = RwSignal::new(None);
    view! {
        <div class="dash-actions">
            <button type="button" class="secondary" id="export-steps"
                on:click=move |_| export::save(table.get_value(), saved)>{t!(i18n, imp.export)}</button>
        </div>
        {export::note(i18n, saved, "export-steps-saved")}
        <figure class="chart" id="chart-steps">
            <figcaption>{t!(i18n, dash.steps)}</figcaption>
            <div inner_html=svg></div>
        </figure>
        <div class="table-scroll">
            <table class="dash-table" id="steps-table">
                <thead><tr>
                    <th scope="col">{t!(i18n, dash.form_col)}</th>
                    <th scope="col">{t!(i18n, dash.step_col)}</th>
                    <th scope="col" class="num">{t!(i18n, dash.passed)}</th>
                    <th scope="col" class="num">{t!(i18n, dash.avg)}</th>
                    <th scope="col" class="num">{t!(i18n, dash.p90)}</th>
                    <th scope="col" class="num">{t!(i18n, dash.waiting_now)}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr>
                            <td>{text_of(&r.form_label)}</td>
                            <th scope="row">{text_of(&r.node_label)}</th>
                            <td class="num">{platform::group_digits(r.passed)}</td>
                            <td class="num">{duration(i18n, r.avg_ms)}</td>
                            <td class="num">{duration(i18n, r.p90_ms)}</td>
                            <td class="num">{platform::group_digits(r.waiting)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn drill_panel(
    i18n: I18n,
    app: AppState,
    o: Opened,
    leads: Option<Result<liveline_types::metrics::DrillPage, AppError>>,
    opened: RwSignal<Option<Opened>>,
) -> impl IntoView {
    let lang = labels::lang_tag(i18n.get_locale());
    let body = match leads {
        None => view! { <p class="muted">{t!(i18n, dash.counting)}</p> }.into_any(),
        Some(Err(e)) => {
            let text = crate::errors::error_text(i18n, &e);
            view! { <p class="form-error" role="alert">{text}</p> }.into_any()
        }
        Some(Ok(page)) => {
            let n = page.total as usize;
            let leads = page.leads;
            let mut table = super::leads::leads_table(i18n, &leads);
            table.title = o.what.clone();
            let table = StoredValue::new(table);
            let saved: export::Saved = RwSignal::new(None);
            view! {
                <h2 id="drill-title">{t!(i18n, dash.drill_title, n = platform::group_digits(n as u64), what = o.what.clone())}</h2>
                <button type="button" class="secondary" id="export-drill"
                    on:click=move |_| export::save(table.get_value(), saved)>{t!(i18n, imp.export)}</button>
                {export::note(i18n, saved, "export-drill-saved")}
                {(n > leads.len()).then(|| view! { <p class="muted">{t!(i18n, dash.drill_more)}</p> })}
                <ul class="dash-list" id="drill-list">
                    {leads.into_iter().map(|l| {
                        let id = l.id.clone();
                        let owner = if l.owner.is_empty() { t_string!(i18n, dash.unassigned).to_string() } else { l.owner_name.clone() };
                        view! {
                            <li data-id=l.id.clone()>
                                <button type="button" class="link" on:click=move |_| app.screen.set(Screen::Detail(id.clone()))>
                                    {l.buyer_name.clone()}
                                </button>
                                <span class="muted">{owner}</span>
                                <span class="muted">{platform::format_time(l.created_at, lang)}</span>
                                <span class=format!("chip status-{}", l.status)>{labels::status_name(i18n, &l.status)}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }
    };
    view! {
        <aside class="drill-panel" id="drill">
            <button type="button" class="secondary" id="drill-close" on:click=move |_| opened.set(None)>{t!(i18n, dash.close)}</button>
            {body}
        </aside>
    }
}
