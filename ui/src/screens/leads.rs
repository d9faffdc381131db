//! Leads list: debounced search, filters (status, channel, live session, owner), paging with "Load more",
//! a total count, and the empty states.

use crate::api;
use crate::errors::error_alert;
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use crate::state::{AppState, Screen};
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{AppError, Channel, LeadQuery, LeadStatus, LeadView};
use std::time::Duration;

const PAGE: u32 = 50;
const DEBOUNCE: Duration = Duration::from_millis(250);

/// A filter `<select>` bound to one signal, with an "All" first option.
fn filter_select(
    i18n: I18n,
    id: &'static str,
    label: impl Fn() -> String + Send + Sync + 'static,
    value: RwSignal<String>,
    options: impl Fn() -> Vec<(String, String)> + Send + Sync + 'static,
) -> AnyView {
    let current = Memo::new(move |_| value.get());
    view! {
        <div class="filter">
            <label for=id>{label}</label>
            <select id=id on:change=move |ev| value.set(event_target_value(&ev))>
                <option value="" prop:selected=move || current.get().is_empty()>
                    {t!(i18n, leads.all)}
                </option>
                {move || {
                    options()
                        .into_iter()
                        .map(|(v, text)| {
                            let selected_value = v.clone();
                            view! {
                                <option value=v prop:selected=move || current.get() == selected_value>
                                    {text}
                                </option>
                            }
                        })
                        .collect_view()
                }}
            </select>
        </div>
    }
    .into_any()
}

fn lead_row(i18n: I18n, lead: LeadView, unassigned: Signal<String>) -> impl IntoView {
    let app = AppState::get();
    let id = lead.id.clone();
    let open_id = lead.id.clone();
    let LeadView {
        buyer_name,
        company,
        country,
        phone,
        status,
        channel,
        owner,
        owner_name,
        pending,
        ..
    } = lead;
    let status_class = format!("chip status-{status}");
    let member_name = move |user_id: &str| {
        app.session
            .with(|s| {
                s.as_ref()
                    .and_then(|s| s.members.iter().find(|m| m.id == user_id))
                    .map(|m| m.name.clone())
            })
            .unwrap_or_else(|| user_id.to_string())
    };
    let has_owner = !owner.is_empty();
    view! {
        <li>
            <button
                type="button"
                class="lead-item"
                data-id=id
                on:click=move |_| app.screen.set(Screen::Detail(open_id.clone()))
            >
                <span class="lead-line">
                    <span class="lead-name">{buyer_name}</span>
                    <span class=status_class>
                        {
                            let status = status.clone();
                            move || labels::status_name(i18n, &status)
                        }
                    </span>
                </span>
                <span class="lead-line lead-sub">
                    {(!company.is_empty()).then(|| view! { <span class="lead-company">{company}</span> })}
                    {
                        let country = country.clone();
                        (!country.is_empty())
                            .then(move || {
                                view! {
                                    <span class="lead-country">
                                        {move || labels::country_name(i18n.get_locale(), &country)}
                                    </span>
                                }
                            })
                    }
                    {(!phone.is_empty()).then(|| view! { <span class="lead-phone">{phone}</span> })}
                </span>
                <span class="lead-line lead-meta">
                    <span class="lead-channel">
                        {
                            let channel = channel.clone();
                            move || labels::channel_name(i18n, &channel)
                        }
                    </span>
                    <span class="lead-owner" class:muted=!has_owner>
                        {move || {
                            if !has_owner {
                                unassigned.get()
                            } else if !owner_name.is_empty() {
                                owner_name.clone()
                            } else {
                                member_name(&owner)
                            }
                        }}
                    </span>
                    {pending
                        .then(|| {
                            view! {
                                <span class="pending-marker" title=move || t_string!(i18n, leads.not_synced)>
                                    {t!(i18n, leads.not_synced)}
                                </span>
                            }
                        })}
                </span>
            </button>
        </li>
    }
}

/// Every lead the list's filters match, page by page; `progress` follows (read so far, of how many).
async fn all_leads(
    mut q: LeadQuery,
    progress: RwSignal<Option<(u64, u64)>>,
) -> Result<Vec<LeadView>, AppError> {
    // The replica answers at most 500 a page.
    const PAGE_MAX: u32 = 500;
    q.limit = PAGE_MAX;
    q.offset = 0;
    let mut out = Vec::new();
    loop {
        let page = api::list_leads(&q).await?;
        let n = page.leads.len() as u32;
        out.extend(page.leads);
        progress.set(Some((out.len() as u64, page.total)));
        if n < PAGE_MAX || out.len() as u64 >= page.total {
            return Ok(out);
        }
        q.offset += n;
    }
}

/// The lead list as a sheet: the columns a team keeps, headers and codes in the viewer's language.
pub(crate) fn leads_table(i18n: I18n, leads: &[LeadView]) -> liveline_types::sheets::ExportTable {
    use crate::export::text;
    use liveline_types::sheets::Cell;
    let keys = [
        "buyer_name",
        "company",
        "country",
        "phone",
        "email",
        "channel",
        "live_session",
        "product_interest",
        "quantity",
        "status",
        "owner",
        "notes",
    ];
    let mut headers: Vec<String> = keys.iter().map(|k| labels::field_label(i18n, k)).collect();
    headers.push(t_string!(i18n, dash.captured_col).to_string());
    let locale = i18n.get_locale_untracked();
    let rows = leads
        .iter()
        .map(|l| {
            vec![
                text(&l.buyer_name),
                text(&l.company),
                text(&labels::country_name(locale, &l.country)),
                text(&l.phone),
                text(&l.email),
                text(&labels::channel_name(i18n, &l.channel)),
                text(&l.live_session_title),
                text(&l.product_interest),
                l.quantity.map(Cell::Int).unwrap_or(Cell::Empty),
                text(&labels::status_name(i18n, &l.status)),
                text(&l.owner_name),
                text(&l.notes),
                Cell::Time(l.created_at),
            ]
        })
        .collect();
    liveline_types::sheets::ExportTable {
        title: t_string!(i18n, leads.title).to_string(),
        headers,
        rows,
        tz: String::new(),
    }
}

#[component]
pub fn Leads() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let list = app.list;

    let leads = RwSignal::new(Vec::<LeadView>::new());
    let total = RwSignal::new(0u64);
    let loaded = RwSignal::new(false);
    let loading_more = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    // Answers to older requests are dropped.
    let request = StoredValue::new(0u64);
    let typing = StoredValue::new(0u64);

    let fetch = move |query: LeadQuery, append: bool| {
        let ticket = request.get_value() + 1;
        request.set_value(ticket);
        spawn_local(async move {
            let result = api::list_leads(&query).await;
            if request.try_get_value() != Some(ticket) {
                return;
            }
            loading_more.set(false);
            match result {
                Ok(page) => {
                    failure.set(None);
                    total.set(page.total);
                    if append {
                        leads.update(|l| l.extend(page.leads));
                    } else {
                        leads.set(page.leads);
                    }
                }
                Err(e) => failure.set(Some(e)),
            }
            loaded.set(true);
        });
    };

    let exporting = RwSignal::new(false);
    let export_progress = RwSignal::new(None::<(u64, u64)>);
    let exported: crate::export::Saved = RwSignal::new(None);
    let query = move || LeadQuery {
        search: list.search.get().trim().to_string(),
        status: list.status.get(),
        channel: list.channel.get(),
        live_session: list.live_session.get(),
        owner: list.owner.get(),
        limit: PAGE,
        offset: 0,
    };

    // Reload when the filters change (first page) or when local data changed (keep what is shown).
    Effect::new(move |previous: Option<LeadQuery>| {
        let q = query();
        app.data_epoch.track();
        let mut request_query = q.clone();
        if previous.as_ref() == Some(&q) {
            let shown = leads.with_untracked(|l| l.len()) as u32;
            request_query.limit = shown.max(PAGE);
        }
        fetch(request_query, false);
        q
    });

    let on_search = move |ev| {
        let text = event_target_value(&ev);
        list.search_input.set(text.clone());
        let token = typing.get_value() + 1;
        typing.set_value(token);
        set_timeout(
            move || {
                if typing.try_get_value() == Some(token) {
                    list.search.set(text);
                }
            },
            DEBOUNCE,
        );
    };

    let load_more = move |_| {
        loading_more.set(true);
        let mut q = query();
        q.offset = leads.with_untracked(|l| l.len()) as u32;
        fetch(q, true);
    };

    let unassigned = Signal::derive(move || t_string!(i18n, field.unassigned).to_string());

    let status_options = move || {
        LeadStatus::ALL
            .iter()
            .map(|s| (s.code().to_string(), labels::status_name(i18n, s.code())))
            .collect()
    };
    let channel_options = move || {
        Channel::ALL
            .iter()
            .map(|c| (c.code().to_string(), labels::channel_name(i18n, c.code())))
            .collect()
    };
    let session_options = move || {
        app.live_sessions
            .with(|s| s.iter().map(|s| (s.id.clone(), s.title.clone())).collect())
    };
    let owner_options = move || {
        app.session.with(|s| {
            s.as_ref()
                .map(|s| {
                    s.members
                        .iter()
                        .map(|m| (m.id.clone(), m.name.clone()))
                        .collect()
                })
                .unwrap_or_default()
        })
    };

    let empty_state = move || {
        if !loaded.get() || total.get() > 0 || !leads.with(|l| l.is_empty()) {
            return None;
        }
        let view = if list.filtered() {
            view! {
                <div class="empty" id="leads-empty">
                    <p>{t!(i18n, leads.no_match)}</p>
                    <button type="button" class="secondary" on:click=move |_| list.clear()>
                        {t!(i18n, leads.clear_filters)}
                    </button>
                </div>
            }
            .into_any()
        } else {
            view! {
                <div class="empty" id="leads-empty">
                    <p>{t!(i18n, leads.empty)}</p>
                    <button
                        type="button"
                        class="primary"
                        on:click=move |_| app.screen.set(Screen::Capture)
                    >
                        {t!(i18n, leads.empty_action)}
                    </button>
                </div>
            }
            .into_any()
        };
        Some(view)
    };

    view! {
        <section class="screen leads">
            <div class="screen-head">
                <h1>{t!(i18n, leads.title)}</h1>
                <p class="total" id="lead-total" aria-live="polite">
                    {move || {
                        loaded
                            .get()
                            .then(|| {
                                t_string!(i18n, leads.total, n = platform::group_digits(total.get()))
                                    .to_string()
                            })
                    }}
                </p>
                <button type="button" class="secondary" id="open-import"
                    on:click=move |_| AppState::get().screen.set(crate::state::Screen::Import)>
                    {t!(i18n, imp.open)}
                </button>
                <button type="button" class="secondary" id="export-leads" disabled=move || exporting.get()
                    on:click=move |_| {
                        exporting.set(true);
                        exported.set(None);
                        let q = query();
                        spawn_local(async move {
                            match all_leads(q, export_progress).await {
                                Ok(list) => {
                                    let table = leads_table(i18n, &list);
                                    exported.set(Some(api::export_xlsx(&table).await));
                                }
                                Err(e) => exported.set(Some(Err(e))),
                            }
                            export_progress.set(None);
                            exporting.set(false);
                        });
                    }>
                    {move || match export_progress.get() {
                        // A long list is read in pages: how far it got, so a big export does not look stuck.
                        Some((n, total)) => t_string!(i18n, imp.exporting, n = n, total = total).to_string(),
                        None => t_string!(i18n, imp.export).to_string(),
                    }}
                </button>
            </div>
            {crate::export::note(i18n, exported, "export-leads-saved")}
            <div class="search">
                <label for="lead-search" class="visually-hidden">
                    {t!(i18n, leads.search)}
                </label>
                <input
                    id="lead-search"
                    type="search"
                    autocomplete="off"
                    placeholder=move || t_string!(i18n, leads.search_placeholder)
                    prop:value=move || list.search_input.get()
                    on:input=on_search
                />
            </div>
            <div class="filters">
                {filter_select(
                    i18n,
                    "filter-status",
                    move || t_string!(i18n, field.status).to_string(),
                    list.status,
                    status_options,
                )}
                {filter_select(
                    i18n,
                    "filter-channel",
                    move || t_string!(i18n, field.channel).to_string(),
                    list.channel,
                    channel_options,
                )}
                {filter_select(
                    i18n,
                    "filter-session",
                    move || t_string!(i18n, field.live_session).to_string(),
                    list.live_session,
                    session_options,
                )}
                {filter_select(
                    i18n,
                    "filter-owner",
                    move || t_string!(i18n, field.owner).to_string(),
                    list.owner,
                    owner_options,
                )}
            </div>
            {error_alert(i18n, failure)}
            {move || (!loaded.get()).then(|| view! { <p class="muted">{t!(i18n, loading)}</p> })}
            {empty_state}
            <ul class="lead-list" id="lead-list">
                <For
                    each=move || leads.get()
                    key=|l| (l.id.clone(), l.updated_at, l.pending)
                    children=move |lead| lead_row(i18n, lead, unassigned)
                />
            </ul>
            {move || {
                (leads.with(|l| l.len() as u64) < total.get())
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                id="load-more"
                                class="secondary block"
                                disabled=move || loading_more.get()
                                on:click=load_more
                            >
                                {t!(i18n, leads.load_more)}
                            </button>
                        }
                    })
            }}
        </section>
    }
}
