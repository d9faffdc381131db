//! Assignment rules, edited by a manager in the app: ordered rules (conditions on country, channel and product
//! words; a person or a group; the way a group shares; minutes to first contact), groups with weights, the
//! fallback owner, and a dry run with a sample lead before publishing. Publishing syncs the rules to the server,
//! which runs them on every new lead.

use crate::api;
use crate::errors::{error_alert, error_text};
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::screens::tasks::team_wide;
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{
    AppError, AssignDecision, AssignRule, Channel, FieldCondition, GroupMember, LeadInput,
    RepGroup, RepSchedule, RulesConfig, CONDITION_FIELDS, CONDITION_OPS,
};

fn split_list(s: &str) -> Vec<String> {
    s.split([',', '，', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

fn new_id(prefix: &str) -> String {
    format!("{prefix}-{}", js_sys::Date::now() as u64)
}

fn strategy_name(i18n: I18n, s: &str) -> String {
    match s {
        "least_loaded" => t_string!(i18n, rules.least_loaded).to_string(),
        "weighted" => t_string!(i18n, rules.weighted).to_string(),
        _ => t_string!(i18n, rules.round_robin).to_string(),
    }
}

fn rule_card(i18n: I18n, i: usize, config: RwSignal<RulesConfig>) -> impl IntoView {
    let app = AppState::get();
    let rule = move || config.with(|c| c.rules.get(i).cloned().unwrap_or_default());
    let set = move |f: Box<dyn FnOnce(&mut AssignRule)>| {
        config.update(|c| {
            if let Some(r) = c.rules.get_mut(i) {
                f(r)
            }
        })
    };
    let count = move || config.with(|c| c.rules.len());
    let target_value = move || {
        let r = rule();
        if !r.target_group.is_empty() {
            format!("g:{}", r.target_group)
        } else {
            format!("u:{}", r.target_user)
        }
    };
    view! {
        <li class="rule card" data-rule=move || rule().id>
            <div class="rule-head">
                <span class="rule-number">{i + 1}</span>
                <input type="text" class="rule-name" aria-label=move || t_string!(i18n, rules.name)
                    prop:value=move || rule().name
                    on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |r| r.name = v)) } />
                <label class="check">
                    <input type="checkbox" prop:checked=move || rule().enabled
                        on:change=move |ev| { let v = event_target_checked(&ev); set(Box::new(move |r| r.enabled = v)) } />
                    {t!(i18n, rules.enabled)}
                </label>
            </div>
            <div class="rule-grid">
                <div class="field">
                    <label>{t!(i18n, rules.countries)}</label>
                    <input type="text" class="rule-countries" prop:value=move || rule().countries.join(", ")
                        on:change=move |ev| { let v = split_list(&event_target_value(&ev)); set(Box::new(move |r| r.countries = v)) } />
                </div>
                <div class="field">
                    <label>{t!(i18n, rules.keywords)}</label>
                    <input type="text" class="rule-keywords" prop:value=move || rule().product_keywords.join(", ")
                        on:change=move |ev| { let v = split_list(&event_target_value(&ev)); set(Box::new(move |r| r.product_keywords = v)) } />
                </div>
                <fieldset class="field channels">
                    <legend>{t!(i18n, rules.channels)}</legend>
                    {Channel::ALL.into_iter().map(|ch| {
                        let code = ch.code();
                        view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || rule().channels.iter().any(|c| c == code)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        set(Box::new(move |r| {
                                            r.channels.retain(|c| c != code);
                                            if on { r.channels.push(code.to_string()) }
                                        }))
                                    } />
                                {move || labels::channel_name(i18n, code)}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <fieldset class="field channels languages">
                    <legend>{t!(i18n, rules.languages)}</legend>
                    {liveline_types::LANGUAGES.into_iter().map(|code| view! {
                        <label class="check">
                            <input type="checkbox" prop:checked=move || rule().languages.iter().any(|c| c == code)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    set(Box::new(move |r| {
                                        r.languages.retain(|c| c != code);
                                        if on { r.languages.push(code.to_string()) }
                                    }))
                                } />
                            {move || labels::language_name(i18n, code)}
                        </label>
                    }).collect_view()}
                </fieldset>
                <div class="field conditions">
                    <label>{t!(i18n, rules.conditions)}</label>
                    {move || rule().conditions.into_iter().enumerate().map(|(ci, c)| {
                        let (f, o) = (c.field.clone(), c.op.clone());
                        let needs_value = !matches!(c.op.as_str(), "empty" | "not_empty");
                        view! {
                            <div class="condition-row">
                                <select class="condition-field" on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    set(Box::new(move |r| if let Some(c) = r.conditions.get_mut(ci) { c.field = v }))
                                }>
                                    {CONDITION_FIELDS.into_iter().map(|k| {
                                        let selected = k == f;
                                        view! { <option value=k selected=selected>{labels::field_label(i18n, k)}</option> }
                                    }).collect_view()}
                                </select>
                                <select class="condition-op" on:change=move |ev| {
                                    let v = event_target_value(&ev);
                                    set(Box::new(move |r| if let Some(c) = r.conditions.get_mut(ci) { c.op = v }))
                                }>
                                    {CONDITION_OPS.into_iter().map(|k| {
                                        let selected = k == o;
                                        view! { <option value=k selected=selected>{labels::op_name(i18n, k)}</option> }
                                    }).collect_view()}
                                </select>
                                {needs_value.then(|| view! {
                                    <input type="text" class="condition-value" aria-label=move || t_string!(i18n, rules.value)
                                        prop:value=c.value.clone()
                                        on:change=move |ev| {
                                            let v = event_target_value(&ev);
                                            set(Box::new(move |r| if let Some(c) = r.conditions.get_mut(ci) { c.value = v }))
                                        } />
                                })}
                                <button type="button" class="secondary danger" on:click=move |_| {
                                    set(Box::new(move |r| { if ci < r.conditions.len() { r.conditions.remove(ci); } }))
                                }>{t!(i18n, rules.remove)}</button>
                            </div>
                        }
                    }).collect_view()}
                    <button type="button" class="secondary add-condition" on:click=move |_| {
                        set(Box::new(|r| r.conditions.push(FieldCondition {
                            field: "quantity".into(),
                            op: "gte".into(),
                            value: "100".into(),
                        })))
                    }>{t!(i18n, rules.add_condition)}</button>
                </div>
                <fieldset class="field channels sessions">
                    <legend>{t!(i18n, rules.sessions)}</legend>
                    {move || app.live_sessions.get().into_iter().map(|s| {
                        let id = s.id.clone();
                        let id2 = s.id.clone();
                        view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || rule().live_sessions.contains(&id)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let id = id2.clone();
                                        set(Box::new(move |r| {
                                            r.live_sessions.retain(|c| *c != id);
                                            if on { r.live_sessions.push(id) }
                                        }))
                                    } />
                                {s.title.clone()}
                            </label>
                        }
                    }).collect_view()}
                </fieldset>
                <div class="field">
                    <label>{t!(i18n, rules.target)}</label>
                    <select class="rule-target" on:change=move |ev| {
                        let v = event_target_value(&ev);
                        set(Box::new(move |r| {
                            if let Some(g) = v.strip_prefix("g:") { r.target_group = g.into(); r.target_user.clear(); }
                            else if let Some(u) = v.strip_prefix("u:") { r.target_user = u.into(); r.target_group.clear(); }
                        }))
                    }>
                        <option value="u:" selected=move || target_value() == "u:">{t!(i18n, field.choose)}</option>
                        <optgroup label=move || t_string!(i18n, rules.target_group)>
                            {move || config.with(|c| c.groups.clone()).into_iter().map(|g| {
                                let v = format!("g:{}", g.id);
                                let sel = v.clone();
                                view! { <option value=v selected=move || target_value() == sel>{g.name.clone()}</option> }
                            }).collect_view()}
                        </optgroup>
                        <optgroup label=move || t_string!(i18n, rules.target_user)>
                            {move || app.session.with(|s| s.as_ref().map(|s| s.members.clone()).unwrap_or_default()).into_iter().map(|m| {
                                let v = format!("u:{}", m.id);
                                let sel = v.clone();
                                view! { <option value=v selected=move || target_value() == sel>{m.name.clone()}</option> }
                            }).collect_view()}
                        </optgroup>
                    </select>
                </div>
                <div class="field">
                    <label>{t!(i18n, rules.strategy)}</label>
                    <select class="rule-strategy" on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |r| r.strategy = v)) }>
                        {["round_robin", "least_loaded", "weighted"].into_iter().map(|s| view! {
                            <option value=s selected=move || rule().strategy == s>{move || strategy_name(i18n, s)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label>{t!(i18n, rules.sla)}</label>
                    <input type="number" min="0" max="10080" class="rule-sla" prop:value=move || rule().sla_minutes.to_string()
                        on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(-1); set(Box::new(move |r| r.sla_minutes = v)) } />
                </div>
            </div>
            <div class="row-actions">
                <button type="button" class="secondary" disabled=move || i == 0
                    on:click=move |_| config.update(|c| c.rules.swap(i, i - 1))>{t!(i18n, rules.up)}</button>
                <button type="button" class="secondary" disabled={move || i + 1 >= count()}
                    on:click=move |_| config.update(|c| c.rules.swap(i, i + 1))>{t!(i18n, rules.down)}</button>
                <button type="button" class="secondary danger"
                    on:click=move |_| config.update(|c| { c.rules.remove(i); })>{t!(i18n, rules.remove)}</button>
            </div>
        </li>
    }
}

fn group_card(i18n: I18n, i: usize, config: RwSignal<RulesConfig>) -> impl IntoView {
    let app = AppState::get();
    let group = move || config.with(|c| c.groups.get(i).cloned().unwrap_or_default());
    let set = move |f: Box<dyn FnOnce(&mut RepGroup)>| {
        config.update(|c| {
            if let Some(g) = c.groups.get_mut(i) {
                f(g)
            }
        })
    };
    view! {
        <li class="group card">
            <div class="field">
                <label>{t!(i18n, rules.group_name)}</label>
                <input type="text" class="group-name" prop:value=move || group().name
                    on:change=move |ev| { let v = event_target_value(&ev); set(Box::new(move |g| g.name = v)) } />
            </div>
            <fieldset class="field">
                <legend>{t!(i18n, rules.members)}</legend>
                {move || app.session.with(|s| s.as_ref().map(|s| s.members.clone()).unwrap_or_default()).into_iter().map(|m| {
                    let id = m.id.clone();
                    let id2 = m.id.clone();
                    let id3 = m.id.clone();
                    let member = move || group().members.into_iter().find(|x| x.user == id);
                    let member2 = member.clone();
                    let member3 = member.clone();
                    view! {
                        <div class="group-member">
                            <label class="check">
                                <input type="checkbox" prop:checked=move || member().is_some()
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        let id = id2.clone();
                                        set(Box::new(move |g| {
                                            g.members.retain(|x| x.user != id);
                                            if on { g.members.push(GroupMember { user: id, weight: 1 }) }
                                        }))
                                    } />
                                {m.name.clone()}
                            </label>
                            <input type="number" min="1" max="100" class="weight"
                                disabled=move || member2().is_none()
                                prop:value=move || member3().map(|x| x.weight).unwrap_or(1).to_string()
                                on:change=move |ev| {
                                    let w = event_target_value(&ev).parse().unwrap_or(0);
                                    let id = id3.clone();
                                    set(Box::new(move |g| { if let Some(x) = g.members.iter_mut().find(|x| x.user == id) { x.weight = w } }))
                                } />
                        </div>
                    }
                }).collect_view()}
            </fieldset>
            <button type="button" class="secondary danger"
                on:click=move |_| config.update(|c| { c.groups.remove(i); })>{t!(i18n, rules.remove)}</button>
        </li>
    }
}

/// Time zones offered first; any IANA name can be typed.
const ZONES: [&str; 14] = [
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Singapore",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Moscow",
    "Africa/Lagos",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Mexico_City",
    "America/Sao_Paulo",
];

fn hhmm(minutes: i64) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

fn minutes(hhmm: &str) -> i64 {
    let mut parts = hhmm.split(':').map(|p| p.parse::<i64>().unwrap_or(-1));
    match (parts.next(), parts.next()) {
        (Some(h), Some(m)) if h >= 0 && m >= 0 => h * 60 + m,
        _ => -1,
    }
}

/// A date input's value (`YYYY-MM-DD`, local midnight) as ms since the epoch, and back.
fn date_ms(value: &str) -> i64 {
    if value.is_empty() {
        return 0;
    }
    js_sys::Date::new(&wasm_bindgen::JsValue::from_str(&format!("{value}T00:00"))).get_time() as i64
}

fn ms_date(ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    let d = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:04}-{:02}-{:02}",
        d.get_full_year(),
        d.get_month() + 1,
        d.get_date()
    )
}

fn weekday_name(i18n: I18n, day: i64) -> String {
    match day {
        1 => t_string!(i18n, weekday.mon),
        2 => t_string!(i18n, weekday.tue),
        3 => t_string!(i18n, weekday.wed),
        4 => t_string!(i18n, weekday.thu),
        5 => t_string!(i18n, weekday.fri),
        6 => t_string!(i18n, weekday.sat),
        _ => t_string!(i18n, weekday.sun),
    }
    .to_string()
}

/// One person's working hours: time zone, hours, days and an absence; or "always available".
fn schedule_row(
    i18n: I18n,
    user: String,
    name: String,
    config: RwSignal<RulesConfig>,
) -> impl IntoView {
    let u = user.clone();
    let schedule = move || config.with(|c| c.schedules.iter().find(|s| s.user == u).cloned());
    let u2 = user.clone();
    let set = move |f: Box<dyn FnOnce(&mut RepSchedule)>| {
        let u = u2.clone();
        config.update(move |c| {
            if let Some(s) = c.schedules.iter_mut().find(|s| s.user == u) {
                f(s)
            }
        })
    };
    let u3 = user.clone();
    let add = move |_| {
        let u = u3.clone();
        config.update(move |c| {
            c.schedules.push(RepSchedule {
                user: u,
                time_zone: "Asia/Shanghai".into(),
                work_start: 9 * 60,
                work_end: 18 * 60,
                work_days: vec![1, 2, 3, 4, 5],
                ..Default::default()
            })
        })
    };
    let u4 = user.clone();
    let clear = move |_| {
        let u = u4.clone();
        config.update(move |c| c.schedules.retain(|s| s.user != u))
    };
    let schedule2 = schedule.clone();
    view! {
        <li class="group card schedule" data-user=user.clone()>
            <strong>{name}</strong>
            {move || match schedule() {
                None => view! {
                    <p class="muted">{t!(i18n, rules.always)} " "
                        <button type="button" class="link" on:click=add.clone()>{t!(i18n, rules.set_hours)}</button>
                    </p>
                }.into_any(),
                Some(s) => {
                    let schedule = schedule2.clone();
                    let set = set.clone();
                    let (set1, set2, set3, set4, set5, set6) = (set.clone(), set.clone(), set.clone(), set.clone(), set.clone(), set.clone());
                    view! {
                        <div class="rule-grid">
                            <div class="field">
                                <label>{t!(i18n, rules.time_zone)}</label>
                                <input type="text" list="zones" class="schedule-zone" prop:value=s.time_zone.clone()
                                    on:change=move |ev| { let v = event_target_value(&ev); set1(Box::new(move |s| s.time_zone = v)) } />
                            </div>
                            <div class="field hours-pair">
                                <label>{t!(i18n, rules.from)} " – " {t!(i18n, rules.until)}</label>
                                <div class="pair">
                                    <input type="time" prop:value=hhmm(s.work_start)
                                        on:change=move |ev| { let v = minutes(&event_target_value(&ev)); set2(Box::new(move |s| s.work_start = v)) } />
                                    <input type="time" prop:value=hhmm(s.work_end)
                                        on:change=move |ev| { let v = minutes(&event_target_value(&ev)); set3(Box::new(move |s| s.work_end = v)) } />
                                </div>
                            </div>
                            <fieldset class="field channels">
                                <legend>{t!(i18n, rules.days)}</legend>
                                {(1..=7i64).map(|d| {
                                    let set = set4.clone();
                                    let schedule = schedule.clone();
                                    view! {
                                        <label class="check">
                                            <input type="checkbox" prop:checked=move || schedule().is_some_and(|s| s.work_days.contains(&d))
                                                on:change=move |ev| {
                                                    let on = event_target_checked(&ev);
                                                    set(Box::new(move |s| {
                                                        s.work_days.retain(|x| *x != d);
                                                        if on { s.work_days.push(d); s.work_days.sort(); }
                                                    }))
                                                } />
                                            {move || weekday_name(i18n, d)}
                                        </label>
                                    }
                                }).collect_view()}
                            </fieldset>
                            <div class="field hours-pair">
                                <label>{t!(i18n, rules.away)}</label>
                                <div class="pair">
                                    <input type="date" prop:value=ms_date(s.away_from)
                                        on:change=move |ev| { let v = date_ms(&event_target_value(&ev)); set5(Box::new(move |s| s.away_from = v)) } />
                                    <input type="date" prop:value=ms_date(if s.away_until > 0 { s.away_until - 86_400_000 } else { 0 })
                                        on:change=move |ev| {
                                            // The absence ends at the end of the chosen day.
                                            let v = date_ms(&event_target_value(&ev));
                                            let v = if v > 0 { v + 86_400_000 } else { 0 };
                                            set6(Box::new(move |s| s.away_until = v))
                                        } />
                                </div>
                            </div>
                        </div>
                        <button type="button" class="secondary danger" on:click=clear.clone()>{t!(i18n, rules.clear)}</button>
                    }.into_any()
                }
            }}
        </li>
    }
}

fn decision_text(i18n: I18n, d: &AssignDecision) -> String {
    let who = AppState::get()
        .session
        .with_untracked(|s| {
            s.as_ref()
                .and_then(|s| s.members.iter().find(|m| m.id == d.owner))
                .map(|m| m.name.clone())
        })
        .unwrap_or_else(|| d.owner.clone());
    let mut out = if d.owner.is_empty() {
        t_string!(i18n, rules.dry_nobody).to_string()
    } else {
        let why = match d.rule.as_str() {
            "fallback" => t_string!(i18n, rules.why_fallback).to_string(),
            "duplicate" => t_string!(i18n, rules.why_duplicate).to_string(),
            _ => t_string!(i18n, rules.why_rule, rule = d.rule_name.clone()).to_string(),
        };
        t_string!(
            i18n,
            rules.dry_owner,
            who = who,
            why = why,
            n = d.sla_minutes
        )
        .to_string()
    };
    if !d.skipped.is_empty() {
        out.push(' ');
        out.push_str(&t_string!(i18n, rules.dry_skipped, rules = d.skipped.join("、")).to_string());
    }
    out
}

#[component]
pub fn Rules() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let config = RwSignal::new(RulesConfig {
        default_sla_minutes: 30,
        ..Default::default()
    });
    let loaded = RwSignal::new(false);
    let existed = RwSignal::new(false);
    let faults = RwSignal::new(Vec::<AppError>::new());
    let failure = RwSignal::new(None::<AppError>);
    let published = RwSignal::new(false);
    let sample = RwSignal::new(LeadInput {
        country: "US".into(),
        channel: "tiktok_live".into(),
        ..Default::default()
    });
    let dry = RwSignal::new(None::<AssignDecision>);

    spawn_local(async move {
        match api::get_rules().await {
            Ok(Some(c)) => {
                config.set(c);
                existed.set(true);
            }
            Ok(None) => {}
            Err(e) => failure.set(Some(e)),
        }
        loaded.set(true);
    });
    Effect::new(move |_| {
        config.track();
        published.set(false);
    });

    let publish = move |_| {
        let c = config.get_untracked();
        spawn_local(async move {
            match api::save_rules(&c).await {
                Ok(errors) => {
                    published.set(errors.is_empty());
                    faults.set(errors);
                    failure.set(None);
                    app.bump_data();
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let try_it = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let c = config.get_untracked();
        let s = sample.get_untracked();
        spawn_local(async move {
            match api::dry_run_rules(&c, &s).await {
                Ok(d) => dry.set(Some(d)),
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let editable = Memo::new(move |_| team_wide());

    view! {
        <section class="screen rules">
            <button type="button" class="link back" on:click=move |_| app.screen.set(Screen::Tasks)>
                <span aria-hidden="true">"← "</span>{t!(i18n, tasks.title)}
            </button>
            <h1>{t!(i18n, rules.title)}</h1>
            <p class="muted">{t!(i18n, rules.intro)}</p>
            {move || (!editable.get()).then(|| view! { <p class="notice">{t!(i18n, rules.read_only)}</p> })}
            {move || (loaded.get() && !existed.get() && config.with(|c| c.rules.is_empty()))
                .then(|| view! { <div class="empty" id="rules-empty"><p>{t!(i18n, rules.none)}</p></div> })}
            {error_alert(i18n, failure)}
            <ol class="rule-list" id="rule-list">
                {move || (0..config.with(|c| c.rules.len())).map(|i| rule_card(i18n, i, config)).collect_view()}
            </ol>
            <button type="button" class="secondary" id="add-rule" on:click=move |_| config.update(|c| c.rules.push(AssignRule {
                id: new_id("r"),
                name: format!("{} {}", t_string!(i18n, rules.rule), c.rules.len() + 1),
                enabled: true,
                strategy: "round_robin".into(),
                ..Default::default()
            }))>{t!(i18n, rules.add_rule)}</button>

            <h2>{t!(i18n, rules.groups)}</h2>
            <ul class="group-list">
                {move || (0..config.with(|c| c.groups.len())).map(|i| group_card(i18n, i, config)).collect_view()}
            </ul>
            <button type="button" class="secondary" id="add-group" on:click=move |_| config.update(|c| c.groups.push(RepGroup {
                id: new_id("g"),
                name: format!("{} {}", t_string!(i18n, rules.groups), c.groups.len() + 1),
                members: Vec::new(),
            }))>{t!(i18n, rules.add_group)}</button>

            <h2>{t!(i18n, rules.hours)}</h2>
            <p class="muted">{t!(i18n, rules.hours_intro)}</p>
            <datalist id="zones">{ZONES.map(|z| view! { <option value=z></option> }).collect_view()}</datalist>
            <ul class="group-list schedules" id="schedules">
                {move || app.session.with(|s| s.as_ref().map(|s| s.members.clone()).unwrap_or_default())
                    .into_iter()
                    .filter(|m| m.role.split(',').any(|r| matches!(r, "sales_rep" | "sales_lead" | "manager")))
                    .map(|m| schedule_row(i18n, m.id, m.name, config))
                    .collect_view()}
            </ul>

            <div class="card rule-settings">
                <div class="field">
                    <label for="rules-fallback">{t!(i18n, rules.fallback)}</label>
                    <select id="rules-fallback" on:change=move |ev| { let v = event_target_value(&ev); config.update(|c| c.fallback_owner = v) }>
                        <option value="" selected=move || config.with(|c| c.fallback_owner.is_empty())>{t!(i18n, rules.nobody)}</option>
                        {move || app.session.with(|s| s.as_ref().map(|s| s.members.clone()).unwrap_or_default()).into_iter().map(|m| {
                            let id = m.id.clone();
                            view! { <option value=m.id.clone() selected=move || config.with(|c| c.fallback_owner == id)>{m.name.clone()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="field">
                    <label for="rules-default-sla">{t!(i18n, rules.default_sla)}</label>
                    <input id="rules-default-sla" type="number" min="0" max="10080"
                        prop:value=move || config.with(|c| c.default_sla_minutes.to_string())
                        on:change=move |ev| { let v = event_target_value(&ev).parse().unwrap_or(-1); config.update(|c| c.default_sla_minutes = v) } />
                </div>
                <label class="check">
                    <input type="checkbox" id="rules-reassign" prop:checked=move || config.with(|c| c.reassign_when_overdue)
                        on:change=move |ev| { let v = event_target_checked(&ev); config.update(|c| c.reassign_when_overdue = v) } />
                    {t!(i18n, rules.reassign)}
                </label>
            </div>

            {move || (!faults.with(|f| f.is_empty())).then(|| view! {
                <div class="form-error" role="alert" id="rules-faults">
                    <p>{t!(i18n, rules.faults)}</p>
                    <ul>{faults.get().into_iter().map(|e| view! { <li>{move || error_text(i18n, &e)}</li> }).collect_view()}</ul>
                </div>
            })}
            {move || published.get().then(|| view! { <p class="saved-note" role="status">{t!(i18n, rules.published)}</p> })}
            <button type="button" class="primary" id="publish-rules" disabled=move || !editable.get() on:click=publish>
                {t!(i18n, rules.publish)}
            </button>

            <form class="card dry-run" id="dry-run" on:submit=try_it>
                <h2>{t!(i18n, rules.dry_run)}</h2>
                <div class="rule-grid">
                    <div class="field">
                        <label for="dry-country">{t!(i18n, field.country)}</label>
                        <input id="dry-country" type="text" maxlength="2" prop:value=move || sample.with(|s| s.country.clone())
                            on:input=move |ev| { let v = event_target_value(&ev); sample.update(|s| s.country = v) } />
                    </div>
                    <div class="field">
                        <label for="dry-channel">{t!(i18n, field.channel)}</label>
                        <select id="dry-channel" on:change=move |ev| { let v = event_target_value(&ev); sample.update(|s| s.channel = v) }>
                            {Channel::ALL.into_iter().map(|ch| view! {
                                <option value=ch.code() selected=move || sample.with(|s| s.channel == ch.code())>{move || labels::channel_name(i18n, ch.code())}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="dry-language">{t!(i18n, field.language)}</label>
                        <select id="dry-language" on:change=move |ev| { let v = event_target_value(&ev); sample.update(|s| s.language = v) }>
                            <option value="" selected=move || sample.with(|s| s.language.is_empty())>{t!(i18n, field.no_language)}</option>
                            {liveline_types::LANGUAGES.into_iter().map(|code| view! {
                                <option value=code selected=move || sample.with(|s| s.language == code)>{move || labels::language_name(i18n, code)}</option>
                            }).collect_view()}
                        </select>
                    </div>
                    <div class="field">
                        <label for="dry-quantity">{t!(i18n, field.quantity)}</label>
                        <input id="dry-quantity" type="text" inputmode="numeric" prop:value=move || sample.with(|s| s.quantity.clone())
                            on:input=move |ev| { let v = event_target_value(&ev); sample.update(|s| s.quantity = v) } />
                    </div>
                    <div class="field">
                        <label for="dry-product">{t!(i18n, field.product_interest)}</label>
                        <input id="dry-product" type="text" prop:value=move || sample.with(|s| s.product_interest.clone())
                            on:input=move |ev| { let v = event_target_value(&ev); sample.update(|s| s.product_interest = v) } />
                    </div>
                </div>
                <button type="submit" class="secondary" id="dry-run-submit">{t!(i18n, rules.dry_run_submit)}</button>
                {move || dry.get().map(|d| view! { <p class="dry-result" id="dry-result" role="status">{move || decision_text(i18n, &d)}</p> })}
            </form>
        </section>
    }
}
