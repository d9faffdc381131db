//! Refused edits: what the server did not accept, with the reason, the time, the content to copy, and Dismiss.

use crate::api;
use crate::errors::{error_alert, error_text};
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::{AppError, RefusedEditView};

fn refused_item(
    i18n: I18n,
    item: RefusedEditView,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let app = AppState::get();
    // None: not tried, Some(true): copied, Some(false): failed.
    let copied = RwSignal::new(None::<bool>);
    let busy = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let RefusedEditView {
        id,
        title,
        path,
        error,
        content,
        at,
        ..
    } = item;
    let to_copy = content.clone();
    let copy = move |_| {
        let text = to_copy.clone();
        spawn_local(async move {
            let ok = platform::copy_text(&text).await.is_ok();
            copied.set(Some(ok));
        });
    };
    let dismiss = move |_| {
        busy.set(true);
        spawn_local(async move {
            let result = api::dismiss_refused(id).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    reload();
                    app.bump_data();
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let field_path = path.clone();
    view! {
        <li class="refused-item card" data-id=id.to_string()>
            <h2 class="refused-title">{title}</h2>
            <dl class="refused-facts">
                <dt>{t!(i18n, refused.field)}</dt>
                <dd>
                    <code>{path}</code>
                    {move || {
                        let label = labels::field_label(i18n, &field_path);
                        (label != field_path).then(|| format!(" · {label}"))
                    }}
                </dd>
                <dt>{t!(i18n, refused.reason)}</dt>
                <dd class="refused-reason">{move || error_text(i18n, &error)}</dd>
                <dt>{t!(i18n, refused.time)}</dt>
                <dd>
                    {move || platform::format_time(at, labels::lang_tag(i18n.get_locale()))}
                </dd>
            </dl>
            <pre class="refused-content">{content}</pre>
            <div class="row-actions">
                <button type="button" class="secondary copy" on:click=copy>
                    {move || {
                        if copied.get() == Some(true) {
                            t_string!(i18n, refused.copied)
                        } else {
                            t_string!(i18n, refused.copy)
                        }
                    }}
                </button>
                <button
                    type="button"
                    class="secondary dismiss"
                    disabled=move || busy.get()
                    on:click=dismiss
                >
                    {t!(i18n, refused.dismiss)}
                </button>
            </div>
            {move || {
                (copied.get() == Some(false))
                    .then(|| view! { <p class="form-error">{t!(i18n, refused.copy_failed)}</p> })
            }}
            {error_alert(i18n, failure)}
        </li>
    }
}

#[component]
pub fn Refused() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let items = RwSignal::new(Vec::<RefusedEditView>::new());
    let loaded = RwSignal::new(false);
    let failure = RwSignal::new(None::<AppError>);
    let request = StoredValue::new(0u64);

    let reload = move || {
        let ticket = request.get_value() + 1;
        request.set_value(ticket);
        spawn_local(async move {
            let result = api::refused_edits().await;
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
            loaded.set(true);
        });
    };

    // Load now, and again whenever the number of refused edits changes.
    let refused_count = Memo::new(move |_| app.sync.with(|s| s.refused));
    Effect::new(move |_| {
        refused_count.track();
        reload();
    });

    view! {
        <section class="screen refused">
            <h1>{t!(i18n, refused.title)}</h1>
            {error_alert(i18n, failure)}
            {move || {
                if !loaded.get() {
                    view! { <p class="muted">{t!(i18n, loading)}</p> }.into_any()
                } else if items.with(|i| i.is_empty()) {
                    view! {
                        <div class="empty" id="refused-empty">
                            <p>{t!(i18n, refused.empty)}</p>
                        </div>
                    }
                        .into_any()
                } else {
                    view! { <p class="muted">{t!(i18n, refused.intro)}</p> }.into_any()
                }
            }}
            <ul class="refused-list">
                <For
                    each=move || items.get()
                    key=|item| item.id
                    children=move |item| refused_item(i18n, item, reload)
                />
            </ul>
        </section>
    }
}
