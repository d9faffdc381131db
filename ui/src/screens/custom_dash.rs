//! Custom dashboards: the team's own boards of widgets (a measure of the lead funnel per group of a dimension,
//! filtered, drawn as bars, a line, a funnel or a table). Sales leads, managers and admins compose and arrange
//! them (drag a widget by its title, or use its arrows); each edit is saved at once and reaches the team by sync.

use super::dashboards::{duration, funnel_stages, percent, row_name, stage_name};
use crate::api;
use crate::charts;
use crate::i18n::*;
use crate::labels::I18n;
use crate::platform;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::metrics::{
    ChartKind, DashboardEdit, DashboardQuery, DashboardView, Dim, DrillQuery, Filter, FunnelTable,
    Measure, PeriodSpec, Stage, WidgetSpec,
};
use liveline_types::AppError;

/// The dimensions a widget can group by, in the order the picker lists them.
const DIMS: [Dim; 12] = [
    Dim::Session,
    Dim::Channel,
    Dim::Rep,
    Dim::Team,
    Dim::Country,
    Dim::Product,
    Dim::Status,
    Dim::Host,
    Dim::Platform,
    Dim::Week,
    Dim::Day,
    Dim::All,
];

pub fn dim_name(i18n: I18n, d: Dim) -> String {
    match d {
        Dim::All => t_string!(i18n, dash.dim_all),
        Dim::Session => t_string!(i18n, dash.dim_session),
        Dim::Host => t_string!(i18n, dash.dim_host),
        Dim::Platform => t_string!(i18n, dash.dim_platform),
        Dim::Channel => t_string!(i18n, dash.dim_channel),
        Dim::Rep => t_string!(i18n, dash.dim_rep),
        Dim::Team => t_string!(i18n, dash.dim_team),
        Dim::Country => t_string!(i18n, dash.dim_country),
        Dim::Product => t_string!(i18n, dash.dim_product),
        Dim::Status => t_string!(i18n, dash.dim_status),
        Dim::Week => t_string!(i18n, dash.dim_week),
        Dim::Day => t_string!(i18n, dash.dim_day),
    }
    .to_string()
}

fn measure_name(i18n: I18n, m: Measure) -> String {
    match m {
        Measure::Count => t_string!(i18n, dash.measure_count),
        Measure::Conversion => t_string!(i18n, dash.measure_conversion),
        Measure::ContactP50 => t_string!(i18n, dash.measure_contact_p50),
        Measure::ContactP90 => t_string!(i18n, dash.measure_contact_p90),
    }
    .to_string()
}

fn chart_name(i18n: I18n, c: ChartKind) -> String {
    match c {
        ChartKind::Bar => t_string!(i18n, dash.chart_bar),
        ChartKind::Line => t_string!(i18n, dash.chart_line),
        ChartKind::Funnel => t_string!(i18n, dash.chart_funnel),
        ChartKind::Table => t_string!(i18n, dash.chart_table),
    }
    .to_string()
}

/// A measure's value as a person reads it.
fn shown(i18n: I18n, m: Measure, v: Option<f64>) -> String {
    match m {
        Measure::Count => v
            .map(|v| platform::group_digits(v as u64))
            .unwrap_or_else(|| "0".into()),
        Measure::Conversion => percent(v),
        Measure::ContactP50 | Measure::ContactP90 => duration(i18n, v.map(|v| v as i64)),
    }
}

/// Saves one edit; the answer (or the refusal, shown above the board) reloads the list.
fn save(
    id: Option<String>,
    edit: DashboardEdit,
    failure: RwSignal<Option<AppError>>,
    version: RwSignal<u64>,
    chosen: RwSignal<Option<String>>,
) {
    spawn_local(async move {
        match api::dashboard_edit(id.as_deref(), &edit).await {
            Ok(d) => {
                failure.set(None);
                if matches!(edit, DashboardEdit::Delete) {
                    chosen.set(None);
                } else {
                    chosen.set(Some(d.id));
                }
            }
            Err(e) => failure.set(Some(e)),
        }
        version.update(|v| *v += 1);
    });
}

#[component]
pub fn CustomBoards(
    period: Memo<PeriodSpec>,
    open: Callback<(DrillQuery, String)>,
) -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let version = RwSignal::new(0u64);
    let chosen = RwSignal::new(None::<String>);
    let failure = RwSignal::new(None::<AppError>);
    let creating = RwSignal::new(false);
    let new_title = RwSignal::new(String::new());
    let boards = LocalResource::new(move || {
        version.track();
        app.data_epoch.track();
        api::dashboards_custom()
    });
    let current = Memo::new(move |_| {
        let list = boards.get().and_then(|r| r.ok()).unwrap_or_default();
        let want = chosen.get();
        list.iter()
            .find(|d| Some(&d.id) == want.as_ref())
            .or(list.first())
            .cloned()
    });
    let create = move || {
        let title = new_title.get_untracked();
        creating.set(false);
        new_title.set(String::new());
        save(
            None,
            DashboardEdit::Create { title },
            failure,
            version,
            chosen,
        );
    };
    view! {
        <div class="custom-head">
            {move || {
                let list = boards.get().and_then(|r| r.ok()).unwrap_or_default();
                (!list.is_empty()).then(|| view! {
                    <label class="field inline">{t!(i18n, dash.custom_pick)}
                        <select id="custom-pick" on:change=move |ev| chosen.set(Some(event_target_value(&ev)))>
                            {list.into_iter().map(|d| {
                                let sel = current.get_untracked().map(|c| c.id == d.id).unwrap_or(false);
                                view! { <option value=d.id.clone() selected=sel>{d.title.clone()}</option> }
                            }).collect_view()}
                        </select>
                    </label>
                })
            }}
            <button type="button" class="secondary" id="custom-new" on:click=move |_| creating.update(|c| *c = !*c)>
                {t!(i18n, dash.custom_new)}
            </button>
        </div>
        {move || creating.get().then(|| view! {
            <form class="custom-create" on:submit=move |ev| { ev.prevent_default(); create(); }>
                <label class="field">{t!(i18n, dash.custom_title)}
                    <input id="custom-title-new" maxlength="80" prop:value=move || new_title.get()
                        on:input=move |ev| new_title.set(event_target_value(&ev)) />
                </label>
                <button type="submit" class="primary" id="custom-create">{t!(i18n, dash.custom_create)}</button>
            </form>
        })}
        {move || failure.get().map(|e| view! {
            <p class="form-error" role="alert" id="custom-error">{crate::errors::error_text(i18n, &e)}</p>
        })}
        {move || match current.get() {
            None => view! { <p class="empty-state" id="custom-empty">{t!(i18n, dash.custom_empty)}</p> }.into_any(),
            Some(d) => board(i18n, d, period, open, failure, version, chosen).into_any(),
        }}
    }
}

fn board(
    i18n: I18n,
    d: DashboardView,
    period: Memo<PeriodSpec>,
    open: Callback<(DrillQuery, String)>,
    failure: RwSignal<Option<AppError>>,
    version: RwSignal<u64>,
    chosen: RwSignal<Option<String>>,
) -> impl IntoView {
    let id = StoredValue::new(d.id.clone());
    let dragging = RwSignal::new(None::<String>);
    let edit = move |e: DashboardEdit| save(Some(id.get_value()), e, failure, version, chosen);
    let ids: Vec<String> = d.widgets.iter().map(|w| w.id.clone()).collect();
    let n = d.widgets.len();
    let title = RwSignal::new(d.title.clone());
    let drop_on = move |before: Option<String>| {
        if let Some(w) = dragging.get_untracked() {
            dragging.set(None);
            if before.as_ref() != Some(&w) {
                edit(DashboardEdit::MoveWidget { id: w, before });
            }
        }
    };
    view! {
        <div class="custom-title-row">
            <input id="custom-title" class="title-input" maxlength="80" aria-label=move || t_string!(i18n, dash.custom_title)
                prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))
                on:change=move |_| edit(DashboardEdit::Rename { title: title.get_untracked() }) />
            <span class="muted">{t!(i18n, dash.custom_by, name = d.created_by_name.clone())}</span>
            <button type="button" class="danger secondary" id="custom-delete" on:click=move |_| edit(DashboardEdit::Delete)>
                {t!(i18n, dash.custom_delete)}
            </button>
        </div>
        {if n == 0 {
            view! { <p class="empty-state" id="widgets-empty">{t!(i18n, dash.widgets_empty)}</p> }.into_any()
        } else {
            view! {
                <p class="muted">{t!(i18n, dash.drag_hint)}</p>
                <div class="widgets" id="widgets">
                    {d.widgets.into_iter().enumerate().map(|(i, w)| {
                        let up = (i > 0).then(|| ids[i - 1].clone());
                        // Down: before the widget after the next one, or last.
                        let down = (i + 1 < n).then(|| ids.get(i + 2).cloned());
                        widget(i18n, w, period, open, dragging, up, down, edit, drop_on)
                    }).collect_view()}
                    <div class="drop-end" id="drop-end"
                        class:armed=move || dragging.get().is_some()
                        on:dragover=move |ev| ev.prevent_default()
                        on:drop=move |ev| { ev.prevent_default(); drop_on(None); }>
                        {t!(i18n, dash.drop_end)}
                    </div>
                </div>
            }.into_any()
        }}
        {widget_form(i18n, edit)}
    }
}

#[allow(clippy::too_many_arguments)]
fn widget(
    i18n: I18n,
    w: WidgetSpec,
    period: Memo<PeriodSpec>,
    open: Callback<(DrillQuery, String)>,
    dragging: RwSignal<Option<String>>,
    up: Option<String>,
    down: Option<Option<String>>,
    edit: impl Fn(DashboardEdit) + Copy + 'static,
    drop_on: impl Fn(Option<String>) + Copy + 'static,
) -> impl IntoView {
    let app = AppState::get();
    let spec = StoredValue::new(w.clone());
    let table = LocalResource::new(move || {
        let w = spec.get_value();
        let period = period.get();
        app.data_epoch.track();
        async move {
            api::dashboard(&DashboardQuery {
                dim: Some(w.dim),
                period,
                filters: w.filters.clone(),
            })
            .await
        }
    });
    let wid = w.id.clone();
    let wid2 = w.id.clone();
    let (idu, idd, idr) = (w.id.clone(), w.id.clone(), w.id.clone());
    let subtitle = {
        let mut s = measure_name(i18n, w.measure);
        if w.measure.uses_stage() {
            s = format!("{s} · {}", stage_name(i18n, w.stage));
        }
        s = format!("{s} · {}", dim_name(i18n, w.dim));
        for f in &w.filters {
            let key = liveline_types::metrics::FunnelRow {
                key: f.key.clone(),
                label: f.key.clone(),
                ..Default::default()
            };
            s = format!(
                "{s} · {}: {}",
                dim_name(i18n, f.dim),
                row_name(i18n, f.dim, &key)
            );
        }
        s
    };
    view! {
        <figure class="chart widget" data-id=w.id.clone()
            class:dragging=move || dragging.get().as_deref() == Some(wid.as_str())
            on:dragover=move |ev| ev.prevent_default()
            on:drop=move |ev| { ev.prevent_default(); drop_on(Some(wid2.clone())); }>
            <figcaption class="widget-head" draggable="true"
                on:dragstart=move |ev| {
                    if let Some(dt) = ev.data_transfer() {
                        let _ = dt.set_data("text/plain", &spec.get_value().id);
                        dt.set_effect_allowed("move");
                    }
                    dragging.set(Some(spec.get_value().id));
                }
                on:dragend=move |_| dragging.set(None)>
                <span class="grip" aria-hidden="true">"⠿"</span>
                <strong class="widget-title">{w.title.clone()}</strong>
                <span class="widget-tools">
                    <button type="button" class="icon move-up" disabled=up.is_none()
                        title=move || t_string!(i18n, dash.w_up) aria-label=move || t_string!(i18n, dash.w_up)
                        on:click=move |_| if let Some(b) = up.clone() { edit(DashboardEdit::MoveWidget { id: idu.clone(), before: Some(b) }) }>"↑"</button>
                    <button type="button" class="icon move-down" disabled=down.is_none()
                        title=move || t_string!(i18n, dash.w_down) aria-label=move || t_string!(i18n, dash.w_down)
                        on:click=move |_| if let Some(b) = down.clone() { edit(DashboardEdit::MoveWidget { id: idd.clone(), before: b }) }>"↓"</button>
                    <button type="button" class="icon remove-widget"
                        title=move || t_string!(i18n, dash.w_remove) aria-label=move || t_string!(i18n, dash.w_remove)
                        on:click=move |_| edit(DashboardEdit::RemoveWidget { id: idr.clone() })>"✕"</button>
                </span>
            </figcaption>
            <p class="muted widget-sub">{subtitle}</p>
            {move || match table.get() {
                None => view! { <p class="muted">{t!(i18n, dash.counting)}</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{crate::errors::error_text(i18n, &e)}</p> }.into_any(),
                Some(Ok(t)) => draw(i18n, &spec.get_value(), t, period, open).into_any(),
            }}
        </figure>
    }
}

/// The widget's chart (or table) over its funnel table; a table's numbers open the leads behind them.
fn draw(
    i18n: I18n,
    w: &WidgetSpec,
    t: FunnelTable,
    period: Memo<PeriodSpec>,
    open: Callback<(DrillQuery, String)>,
) -> impl IntoView {
    if t.total.count(Stage::Captured) == 0 {
        return view! { <p class="empty-state">{t!(i18n, dash.empty)}</p> }.into_any();
    }
    let names: Vec<String> = t.rows.iter().map(|r| row_name(i18n, w.dim, r)).collect();
    let values: Vec<Option<f64>> = t.rows.iter().map(|r| w.measure.value(r, w.stage)).collect();
    let m = w.measure;
    let fmt = move |v: f64| shown(i18n, m, Some(v));
    let sheet = {
        use liveline_types::sheets::{Cell, ExportTable};
        let cell = |v: Option<f64>| match (m, v) {
            (_, None) => Cell::Empty,
            (Measure::Count, Some(v)) => Cell::Int(v as i64),
            (Measure::Conversion, Some(v)) => Cell::Percent(v),
            (_, Some(ms)) => Cell::Number(ms / 60_000.0),
        };
        let value_header = match m {
            Measure::ContactP50 | Measure::ContactP90 => format!("{} (min)", measure_name(i18n, m)),
            _ => measure_name(i18n, m),
        };
        StoredValue::new(ExportTable {
            title: w.title.clone(),
            headers: vec![dim_name(i18n, w.dim), value_header],
            rows: names
                .iter()
                .zip(&values)
                .map(|(n, v)| vec![Cell::Text(n.clone()), cell(*v)])
                .collect(),
            tz: String::new(),
        })
    };
    let saved: crate::export::Saved = RwSignal::new(None);
    let export = view! {
        <button type="button" class="secondary small export-widget"
            on:click=move |_| crate::export::save(sheet.get_value(), saved)>{t!(i18n, imp.export)}</button>
        {crate::export::note(i18n, saved, "export-widget-saved")}
    };
    let numbers = {
        let (dim, stage, filters) = (w.dim, w.stage, w.filters.clone());
        let title = w.title.clone();
        let rows: Vec<(String, String, Option<f64>)> = t
            .rows
            .iter()
            .zip(&names)
            .zip(&values)
            .map(|((r, n), v)| (r.key.clone(), n.clone(), *v))
            .collect();
        view! {
            <table class="dash-table widget-table">
                <tbody>
                    {rows.into_iter().map(|(key, name, v)| {
                        let q = DrillQuery {
                            dim,
                            key: key.clone(),
                            stage: if m.uses_stage() { stage } else { Stage::Contacted },
                            period: period.get_untracked(),
                            filters: filters.clone(),
                        };
                        let what = format!("{title} · {name}");
                        view! {
                            <tr data-key=key>
                                <th scope="row">{name}</th>
                                <td class="num">
                                    <button type="button" class="drill" on:click=move |_| open.run((q.clone(), what.clone()))>
                                        {shown(i18n, m, v)}
                                    </button>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        }
    };
    let chart = match w.chart {
        ChartKind::Funnel => {
            let stages = funnel_stages(i18n, &t.total);
            view! { <div class="widget-chart" inner_html=charts::funnel(&stages)></div> }.into_any()
        }
        ChartKind::Bar => {
            let svg = charts::bars(
                &names,
                &[(
                    measure_name(i18n, m),
                    charts::ACCENT,
                    values.iter().map(|v| v.unwrap_or(0.0)).collect(),
                )],
                &fmt,
            );
            view! { <div class="widget-chart" inner_html=svg></div> }.into_any()
        }
        ChartKind::Line => {
            let svg = charts::line(
                &names,
                &values.iter().map(|v| v.unwrap_or(0.0)).collect::<Vec<_>>(),
            );
            view! { <div class="widget-chart" inner_html=svg></div> }.into_any()
        }
        ChartKind::Table => return view! { {numbers} {export} }.into_any(),
    };
    // Under a chart, the numbers it draws, each opening its leads.
    let chart = view! {
        {chart}
        <details class="widget-numbers">
            <summary>{t!(i18n, dash.w_numbers)}</summary>
            {numbers}
        </details>
    };
    view! { {chart} {export} }.into_any()
}

/// The form that adds a widget: a title, a measure (and the funnel step it counts), a dimension, one optional
/// filter and a chart.
fn widget_form(i18n: I18n, edit: impl Fn(DashboardEdit) + Copy + 'static) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let measure = RwSignal::new(Measure::Count);
    let stage = RwSignal::new(Stage::Captured);
    let dim = RwSignal::new(Dim::Session);
    let chart = RwSignal::new(ChartKind::Bar);
    let filter_dim = RwSignal::new(None::<Dim>);
    let filter_key = RwSignal::new(String::new());
    // The values a filter can take: the groups the device holds under the chosen dimension.
    let keys = LocalResource::new(move || {
        let d = filter_dim.get();
        async move {
            let d = d?;
            let t = api::dashboard(&DashboardQuery {
                dim: Some(d),
                period: PeriodSpec {
                    preset: "all".into(),
                    ..Default::default()
                },
                filters: Vec::new(),
            })
            .await
            .ok()?;
            Some(
                t.rows
                    .iter()
                    .map(|r| (r.key.clone(), row_name(i18n, d, r)))
                    .collect::<Vec<_>>(),
            )
        }
    });
    let add = move || {
        let filters = match filter_dim.get_untracked() {
            Some(d) if !filter_key.get_untracked().is_empty() => vec![Filter {
                dim: d,
                key: filter_key.get_untracked(),
            }],
            _ => Vec::new(),
        };
        // Unique across devices: two people adding a widget in the same millisecond get two widgets.
        let id = format!(
            "w-{}-{:08x}",
            js_sys::Date::now() as u64,
            (js_sys::Math::random() * f64::from(u32::MAX)) as u32
        );
        edit(DashboardEdit::PutWidget {
            widget: WidgetSpec {
                id,
                title: title.get_untracked(),
                measure: measure.get_untracked(),
                stage: stage.get_untracked(),
                dim: dim.get_untracked(),
                chart: chart.get_untracked(),
                filters,
            },
        });
        title.set(String::new());
    };
    view! {
        <form class="widget-form" id="widget-form" on:submit=move |ev| { ev.prevent_default(); add(); }>
            <h2>{t!(i18n, dash.add_widget)}</h2>
            <label class="field">{t!(i18n, dash.w_title)}
                <input id="w-title" maxlength="80" prop:value=move || title.get()
                    on:input=move |ev| title.set(event_target_value(&ev)) />
            </label>
            <label class="field">{t!(i18n, dash.w_measure)}
                <select id="w-measure" on:change=move |ev| if let Some(m) = Measure::from_code(&event_target_value(&ev)) { measure.set(m) }>
                    {Measure::ALL.into_iter().map(|m| view! {
                        <option value=m.code() selected=move || measure.get() == m>{move || measure_name(i18n, m)}</option>
                    }).collect_view()}
                </select>
            </label>
            {move || measure.get().uses_stage().then(|| view! {
                <label class="field">{t!(i18n, dash.w_stage)}
                    <select id="w-stage" on:change=move |ev| if let Some(s) = Stage::from_code(&event_target_value(&ev)) { stage.set(s) }>
                        {Stage::ALL.into_iter().map(|s| view! {
                            <option value=s.code() selected=move || stage.get() == s>{move || stage_name(i18n, s)}</option>
                        }).collect_view()}
                    </select>
                </label>
            })}
            <label class="field">{t!(i18n, dash.w_dim)}
                <select id="w-dim" on:change=move |ev| if let Some(d) = Dim::from_code(&event_target_value(&ev)) { dim.set(d) }>
                    {DIMS.into_iter().map(|d| view! {
                        <option value=d.code() selected=move || dim.get() == d>{move || dim_name(i18n, d)}</option>
                    }).collect_view()}
                </select>
            </label>
            <label class="field">{t!(i18n, dash.w_filter)}
                <select id="w-filter-dim" on:change=move |ev| { filter_dim.set(Dim::from_code(&event_target_value(&ev))); filter_key.set(String::new()); }>
                    <option value="" selected=move || filter_dim.get().is_none()>{move || t_string!(i18n, dash.w_filter_none)}</option>
                    {DIMS.into_iter().filter(|d| *d != Dim::All).map(|d| view! {
                        <option value=d.code() selected=move || filter_dim.get() == Some(d)>{move || dim_name(i18n, d)}</option>
                    }).collect_view()}
                </select>
            </label>
            {move || filter_dim.get().map(|_| view! {
                <label class="field">{t!(i18n, dash.w_filter_key)}
                    <select id="w-filter-key" on:change=move |ev| filter_key.set(event_target_value(&ev))>
                        <option value="" selected=move || filter_key.get().is_empty()>"—"</option>
                        {move || keys.get().flatten().unwrap_or_default().into_iter().map(|(k, name)| {
                            let k2 = k.clone();
                            view! { <option value=k selected=move || filter_key.get() == k2>{name}</option> }
                        }).collect_view()}
                    </select>
                </label>
            })}
            <label class="field">{t!(i18n, dash.w_chart)}
                <select id="w-chart" on:change=move |ev| if let Some(c) = ChartKind::from_code(&event_target_value(&ev)) { chart.set(c) }>
                    {ChartKind::ALL.into_iter().map(|c| view! {
                        <option value=c.code() selected=move || chart.get() == c>{move || chart_name(i18n, c)}</option>
                    }).collect_view()}
                </select>
            </label>
            <button type="submit" class="primary" id="w-add">{t!(i18n, dash.w_add)}</button>
        </form>
    }
}
