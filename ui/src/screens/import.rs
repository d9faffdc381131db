//! Import leads from a spreadsheet: choose a file, check which column goes to which field (guessed from the
//! headers, in Chinese or English), import with a progress bar, then read (and download) the rows that were not
//! imported. An import cut short by closing the app is offered to resume.

use crate::api;
use crate::errors::error_text;
use crate::fields::text_of;
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::sheets::{Cell, ExportTable, ImportIssue, ImportPreview, ImportProgress};
use liveline_types::AppError;
use std::time::Duration;

/// Rows of the report shown on screen (the download has them all).
const SHOWN: usize = 200;

/// Why a row was not imported, in the viewer's language.
fn problem(i18n: I18n, i: &ImportIssue) -> String {
    if i.kind == "duplicate" {
        return t_string!(
            i18n,
            imp.duplicate_of,
            field = labels::field_label(i18n, &i.field)
        )
        .to_string();
    }
    let reason = error_text(i18n, &i.error);
    if i.field.is_empty() {
        reason
    } else {
        format!("{}: {reason}", labels::field_label(i18n, &i.field))
    }
}

#[component]
pub fn Import() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let preview = RwSignal::new(None::<ImportPreview>);
    let mapping = RwSignal::new(Vec::<String>::new());
    let progress = RwSignal::new(None::<ImportProgress>);
    let issues = RwSignal::new(Vec::<ImportIssue>::new());
    let failure = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    let saved: crate::export::Saved = RwSignal::new(None);

    let load_issues = move |job: String| {
        spawn_local(async move {
            if let Ok(list) = api::import_issues(&job).await {
                issues.set(list);
            }
        });
    };
    // Where the latest import stands; polled while it runs.
    let refresh = move || {
        spawn_local(async move {
            match api::import_status().await {
                Ok(p) => {
                    let finished = p.as_ref().is_some_and(|p| p.status == "done")
                        && progress.get_untracked().as_ref().map(|q| q.status.as_str())
                            != Some("done");
                    if finished {
                        if let Some(p) = &p {
                            load_issues(p.job.clone());
                        }
                        app.bump_data();
                    }
                    progress.set(p);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    refresh();
    let handle = set_interval_with_handle(
        move || {
            if progress
                .get_untracked()
                .is_some_and(|p| p.status == "running")
            {
                refresh();
            }
        },
        Duration::from_millis(300),
    );
    on_cleanup(move || {
        if let Ok(h) = handle {
            h.clear();
        }
    });

    let choose = move |_| {
        failure.set(None);
        saved.set(None);
        busy.set(true);
        spawn_local(async move {
            match api::import_open("import-file").await {
                Ok(Some(p)) => {
                    mapping.set(p.mapping.clone());
                    preview.set(Some(p));
                }
                Ok(None) => {}
                Err(e) => failure.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let start = move |job: String, map: Vec<String>| {
        failure.set(None);
        spawn_local(async move {
            match api::import_start(&job, &map).await {
                Ok(p) => {
                    preview.set(None);
                    issues.set(Vec::new());
                    progress.set(Some(p));
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let clear = move |job: String| {
        spawn_local(async move {
            let _ = api::import_clear(&job).await;
            issues.set(Vec::new());
            saved.set(None);
            refresh();
        });
    };
    let download = move || {
        let Some(p) = progress.get_untracked() else {
            return;
        };
        let list = issues.get_untracked();
        let headers_of_file = list.first().map(|i| i.values.len()).unwrap_or(0);
        let mut headers = vec![
            t_string!(i18n, imp.row).to_string(),
            t_string!(i18n, imp.problem).to_string(),
        ];
        headers.extend((0..headers_of_file).map(|c| format!("{}", c + 1)));
        let rows = list
            .iter()
            .map(|i| {
                let mut r = vec![Cell::Int(i.row as i64), Cell::Text(problem(i18n, i))];
                r.extend(i.values.iter().map(|v| Cell::Text(v.clone())));
                r
            })
            .collect();
        let table = ExportTable {
            title: format!("report {}", p.file_name),
            headers,
            rows,
            tz: String::new(),
        };
        crate::export::save(table, saved);
    };

    view! {
        <section class="screen import">
            <div class="screen-head"><h1>{t!(i18n, imp.title)}</h1></div>
            <p class="muted">{t!(i18n, imp.intro)}</p>
            {move || failure.get().map(|e| view! { <p class="form-error" role="alert" id="import-error">{error_text(i18n, &e)}</p> })}
            {move || {
                let p = progress.get();
                match p {
                    Some(p) if p.status == "running" => view! {
                        <div class="import-progress" id="import-progress">
                            <p>{t!(i18n, imp.running, done = platform::group_digits(p.done), total = platform::group_digits(p.total))}</p>
                            <progress max=p.total.max(1).to_string() value=p.done.to_string()></progress>
                        </div>
                    }.into_any(),
                    Some(p) if p.status == "interrupted" => {
                        let (job, job2) = (p.job.clone(), p.job.clone());
                        view! {
                            <div class="banner warn" id="import-interrupted" role="status">
                                <p>{t!(i18n, imp.interrupted, file = p.file_name.clone(), done = platform::group_digits(p.done), total = platform::group_digits(p.total))}</p>
                                <button type="button" class="primary" id="import-resume" on:click=move |_| start(job.clone(), Vec::new())>{t!(i18n, imp.resume)}</button>
                                <button type="button" class="secondary" id="import-clear" on:click=move |_| clear(job2.clone())>{t!(i18n, imp.clear)}</button>
                            </div>
                        }.into_any()
                    }
                    Some(p) if p.status == "done" => {
                        let job = p.job.clone();
                        view! {
                            <div class="import-done" id="import-done">
                                <p class="saved" id="import-summary">{t!(i18n, imp.done, file = p.file_name.clone(), imported = platform::group_digits(p.imported), refused = platform::group_digits(p.refused), duplicates = platform::group_digits(p.duplicates))}</p>
                                {report(i18n, issues, download)}
                                {crate::export::note(i18n, saved, "import-saved")}
                                <button type="button" class="secondary" id="import-clear" on:click=move |_| clear(job.clone())>{t!(i18n, imp.again)}</button>
                            </div>
                        }.into_any()
                    }
                    _ => chooser(i18n, preview, mapping, busy, choose, start).into_any(),
                }
            }}
        </section>
    }
}

fn report(
    i18n: I18n,
    issues: RwSignal<Vec<ImportIssue>>,
    download: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    move || {
        let list = issues.get();
        if list.is_empty() {
            return view! { <p class="muted" id="import-no-issues">{t!(i18n, imp.no_issues)}</p> }
                .into_any();
        }
        let n = list.len();
        view! {
            <h2>{t!(i18n, imp.report)}</h2>
            <button type="button" class="secondary" id="import-download" on:click=move |_| download()>{t!(i18n, imp.download)}</button>
            {(n > SHOWN).then(|| view! { <p class="muted">{t!(i18n, imp.more, n = SHOWN.to_string())}</p> })}
            <div class="table-scroll">
                <table class="dash-table" id="import-report">
                    <thead><tr>
                        <th scope="col" class="num">{t!(i18n, imp.row)}</th>
                        <th scope="col">{t!(i18n, imp.problem)}</th>
                        <th scope="col">{t!(i18n, imp.values)}</th>
                    </tr></thead>
                    <tbody>
                        {list.into_iter().take(SHOWN).map(|i| view! {
                            <tr data-row=i.row.to_string() data-kind=i.kind.clone()>
                                <td class="num">{i.row}</td>
                                <td>{problem(i18n, &i)}</td>
                                <td class="muted">{i.values.iter().filter(|v| !v.is_empty()).cloned().collect::<Vec<_>>().join(" · ")}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        }
        .into_any()
    }
}

fn chooser(
    i18n: I18n,
    preview: RwSignal<Option<ImportPreview>>,
    mapping: RwSignal<Vec<String>>,
    busy: RwSignal<bool>,
    choose: impl Fn(leptos::ev::Event) + Copy + Send + Sync + 'static,
    start: impl Fn(String, Vec<String>) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for="import-file">{t!(i18n, imp.choose)}</label>
            <input type="file" id="import-file" accept=".xlsx,.xls,.csv" on:change=choose />
        </div>
        {move || busy.get().then(|| view! { <p class="muted">{t!(i18n, imp.reading)}</p> })}
        {move || preview.get().map(|p| {
            let job = p.job.clone();
            let rows = p.rows;
            let fields = p.fields.clone();
            view! {
                <p id="import-rows">{t!(i18n, imp.rows, n = platform::group_digits(p.rows), file = p.file_name.clone())}</p>
                <div class="table-scroll">
                    <table class="dash-table" id="import-mapping">
                        <thead><tr>
                            <th scope="col">{t!(i18n, imp.column)}</th>
                            <th scope="col">{t!(i18n, imp.sample)}</th>
                            <th scope="col">{t!(i18n, imp.field)}</th>
                        </tr></thead>
                        <tbody>
                            {p.headers.iter().enumerate().map(|(c, h)| {
                                let sample: Vec<String> = p.samples.iter().filter_map(|r| r.get(c)).filter(|v| !v.is_empty()).take(3).cloned().collect();
                                let fields = fields.clone();
                                view! {
                                    <tr>
                                        <th scope="row">{h.clone()}</th>
                                        <td class="muted">{sample.join(" · ")}</td>
                                        <td>
                                            <select id=format!("map-{c}") on:change=move |ev| {
                                                let v = event_target_value(&ev);
                                                mapping.update(|m| if let Some(x) = m.get_mut(c) { *x = v });
                                            }>
                                                <option value="" selected=move || mapping.with(|m| m.get(c).is_none_or(|k| k.is_empty()))>{t!(i18n, imp.skip)}</option>
                                                {fields.into_iter().map(|f| {
                                                    let key = f.key.clone();
                                                    let label = if f.required {
                                                        format!("{} ({})", text_of(i18n, &f.label), t_string!(i18n, imp.required))
                                                    } else {
                                                        text_of(i18n, &f.label)
                                                    };
                                                    view! {
                                                        <option value=f.key.clone() selected=move || mapping.with(|m| m.get(c) == Some(&key))>{label}</option>
                                                    }
                                                }).collect_view()}
                                            </select>
                                        </td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <button type="button" class="primary" id="import-start"
                    on:click=move |_| start(job.clone(), mapping.get_untracked())>
                    {t!(i18n, imp.start, n = platform::group_digits(rows))}
                </button>
            }
        })}
    }
}
