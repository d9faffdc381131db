//! The lead form shared by Capture and Lead detail: its state (`FormState`, one signal per `LeadInput` field)
//! and the `LeadForm` component that edits and saves it, showing each field's error beside it.

use crate::api;
use crate::errors::error_text;
use crate::fields::{Draft, Fields};
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::platform;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::forms::FieldInput;
use liveline_types::{
    AppError, Channel, ContactKind, FieldError, LeadInput, LeadStatus, LeadView, SaveOutcome,
};
use std::collections::BTreeMap;

/// The `LeadInput` field names, in form order; element ids are `lead-<field>`.
pub const FIELDS: [&str; 15] = [
    "buyer_name",
    "company",
    "country",
    "phone",
    "email",
    "contact_kind",
    "contact",
    "channel",
    "live_session",
    "product_interest",
    "language",
    "quantity",
    "notes",
    "status",
    "owner",
];

fn input_field<'a>(input: &'a mut LeadInput, name: &str) -> Option<&'a mut String> {
    Some(match name {
        "buyer_name" => &mut input.buyer_name,
        "company" => &mut input.company,
        "country" => &mut input.country,
        "phone" => &mut input.phone,
        "email" => &mut input.email,
        "contact_kind" => &mut input.contact_kind,
        "contact" => &mut input.contact,
        "channel" => &mut input.channel,
        "live_session" => &mut input.live_session,
        "product_interest" => &mut input.product_interest,
        "language" => &mut input.language,
        "quantity" => &mut input.quantity,
        "notes" => &mut input.notes,
        "status" => &mut input.status,
        "owner" => &mut input.owner,
        _ => return None,
    })
}

/// A blank capture form: status `new`, WhatsApp as the messaging app.
pub fn blank_input() -> LeadInput {
    LeadInput {
        status: LeadStatus::New.code().to_string(),
        contact_kind: ContactKind::Whatsapp.code().to_string(),
        ..LeadInput::default()
    }
}

/// Everything a lead form shows: the values as typed, the field errors of the last save, and save progress.
#[derive(Clone, Copy)]
pub struct FormState {
    values: [RwSignal<String>; FIELDS.len()],
    /// Field errors from the last `Invalid` answer.
    pub errors: RwSignal<Vec<FieldError>>,
    /// An error that is not about one field (the save itself failed).
    pub failure: RwSignal<Option<AppError>>,
    /// The buyer name of the last successful save, for the confirmation.
    pub saved_name: RwSignal<Option<String>>,
    pub saving: RwSignal<bool>,
    /// Values of the fields an admin added to the lead form.
    pub extra: RwSignal<BTreeMap<String, FieldInput>>,
}

impl FormState {
    pub fn new(input: &LeadInput) -> Self {
        let state = Self {
            values: std::array::from_fn(|_| RwSignal::new(String::new())),
            errors: RwSignal::new(Vec::new()),
            failure: RwSignal::new(None),
            saved_name: RwSignal::new(None),
            saving: RwSignal::new(false),
            extra: RwSignal::new(BTreeMap::new()),
        };
        state.load(input);
        state
    }

    pub fn new_capture() -> Self {
        Self::new(&blank_input())
    }

    /// The signal of one field (see [`FIELDS`]).
    pub fn field(&self, name: &str) -> RwSignal<String> {
        let i = FIELDS
            .iter()
            .position(|f| *f == name)
            .unwrap_or_else(|| panic!("unknown lead field {name}"));
        self.values[i]
    }

    /// The current values, without tracking.
    pub fn to_input(&self) -> LeadInput {
        let mut input = LeadInput::default();
        for (name, sig) in FIELDS.iter().zip(self.values) {
            if let (Some(slot), Some(v)) = (input_field(&mut input, name), sig.try_get_untracked())
            {
                *slot = v;
            }
        }
        input.extra = self.extra.try_get_untracked().unwrap_or_default();
        input
    }

    /// Replaces every value.
    pub fn load(&self, input: &LeadInput) {
        let mut input = input.clone();
        for (name, sig) in FIELDS.iter().zip(self.values) {
            if let Some(slot) = input_field(&mut input, name) {
                sig.set(std::mem::take(slot));
            }
        }
        self.extra.set(input.extra);
    }

    /// The added fields' editing state, sharing this form's errors.
    pub fn extra_draft(&self) -> Draft {
        Draft {
            values: self.extra,
            errors: self.errors,
        }
    }

    /// A blank form with no messages.
    pub fn reset_all(&self) {
        self.load(&blank_input());
        self.errors.set(Vec::new());
        self.failure.set(None);
        self.saved_name.set(None);
    }

    /// Ready for the next buyer of the same stream: blank, but channel and live session are kept.
    pub fn clear_for_next(&self) {
        let mut next = blank_input();
        next.channel = self.field("channel").get_untracked();
        next.live_session = self.field("live_session").get_untracked();
        self.load(&next);
        self.errors.set(Vec::new());
        self.failure.set(None);
    }

    /// The error of one field, tracked.
    fn error_of(&self, name: &str) -> Option<AppError> {
        self.errors.with(|errors| {
            errors
                .iter()
                .find(|e| e.field == name)
                .map(|e| e.error.clone())
        })
    }

    fn clear_error(&self, name: &str) {
        if self
            .errors
            .with_untracked(|es| es.iter().any(|e| e.field == name))
        {
            self.errors.update(|es| es.retain(|e| e.field != name));
        }
    }
}

/// Label, control slot, optional hint and the error line of one field.
fn field_frame(
    i18n: I18n,
    state: FormState,
    name: &'static str,
    required: bool,
    wide: bool,
    control: AnyView,
    hint: Option<AnyView>,
) -> AnyView {
    let error = Memo::new(move |_| state.error_of(name));
    let app = AppState::get();
    // An admin may make a foundation field required in the lead form.
    let required = Memo::new(move |_| {
        required
            || app.lead_form.with(|f| {
                f.as_ref().is_some_and(|f| {
                    f.fields
                        .iter()
                        .any(|x| x.key == name && x.required && !x.removed)
                })
            })
    });
    view! {
        <div
            class="field"
            class:wide=wide
            class:has-error=move || error.with(|e| e.is_some())
            data-field=name
        >
            <label for=format!("lead-{name}")>
                {move || labels::field_label(i18n, name)}
                {move || {
                    required.get().then(|| view! { <span class="req" aria-hidden="true">" *"</span> })
                }}
            </label>
            {control}
            {hint}
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="field-error" id=format!("lead-{name}-error") role="alert">
                                {move || error_text(i18n, &e)}
                            </p>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}

fn text_control(
    state: FormState,
    name: &'static str,
    input_type: &'static str,
    input_mode: &'static str,
    autocomplete: &'static str,
) -> AnyView {
    let value = state.field(name);
    let invalid = Memo::new(move |_| state.error_of(name).is_some());
    view! {
        <input
            id=format!("lead-{name}")
            name=name
            type=input_type
            inputmode=input_mode
            autocomplete=autocomplete
            aria-invalid=move || if invalid.get() { "true" } else { "false" }
            aria-describedby=format!("lead-{name}-error")
            prop:value=move || value.get()
            on:input=move |ev| {
                value.set(event_target_value(&ev));
                state.clear_error(name);
            }
        />
    }
    .into_any()
}

/// A `<select>` over `(value, label)` options; `options` is reactive (language, loaded lists).
fn select_control(
    state: FormState,
    name: &'static str,
    options: impl Fn() -> Vec<(String, String)> + Send + Sync + 'static,
) -> AnyView {
    let value = state.field(name);
    let current = Memo::new(move |_| value.get());
    let invalid = Memo::new(move |_| state.error_of(name).is_some());
    view! {
        <select
            id=format!("lead-{name}")
            name=name
            aria-invalid=move || if invalid.get() { "true" } else { "false" }
            aria-describedby=format!("lead-{name}-error")
            on:change=move |ev| {
                value.set(event_target_value(&ev));
                state.clear_error(name);
            }
        >
            {move || {
                options()
                    .into_iter()
                    .map(|(v, label)| {
                        let selected_value = v.clone();
                        view! {
                            <option value=v prop:selected=move || current.get() == selected_value>
                                {label}
                            </option>
                        }
                    })
                    .collect_view()
            }}
        </select>
    }
    .into_any()
}

/// The lead form. `lead_id` is `None` to create a lead, `Some(id)` to edit one.
#[component]
pub fn LeadForm(
    state: FormState,
    #[prop(optional)] lead_id: Option<String>,
    on_saved: Callback<LeadView>,
) -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let editing = lead_id.is_some();

    let save = move || {
        if state.saving.get_untracked() {
            return;
        }
        state.saving.set(true);
        state.saved_name.set(None);
        state.failure.set(None);
        let input = state.to_input();
        let id = lead_id.clone();
        spawn_local(async move {
            let result = api::save_lead(id, &input).await;
            state.saving.set(false);
            match result {
                Ok(SaveOutcome::Saved { lead }) => {
                    state.errors.set(Vec::new());
                    state.saved_name.set(Some(lead.buyer_name.clone()));
                    on_saved.try_run(lead);
                }
                Ok(SaveOutcome::Invalid { errors }) => {
                    let first = FIELDS
                        .iter()
                        .find(|f| errors.iter().any(|e| e.field == **f))
                        .map(|f| f.to_string())
                        .or_else(|| errors.first().map(|e| e.field.clone()));
                    state.errors.set(errors);
                    if let Some(f) = first {
                        platform::focus(&format!("lead-{f}"));
                    }
                }
                Err(e) => state.failure.set(Some(e)),
            }
        });
    };

    let locale = Memo::new(move |_| i18n.get_locale());
    let country_options = move || {
        let loc = locale.get();
        let choose = t_string!(i18n, field.choose).to_string();
        std::iter::once((String::new(), choose))
            .chain(
                labels::sorted_countries(loc)
                    .iter()
                    .map(|(code, name)| (code.to_string(), name.to_string())),
            )
            .collect()
    };
    let contact_kind_options = move || {
        ContactKind::ALL
            .iter()
            .map(|k| {
                (
                    k.code().to_string(),
                    labels::contact_kind_name(i18n, k.code()),
                )
            })
            .collect()
    };
    let channel_options = move || {
        std::iter::once((String::new(), t_string!(i18n, field.choose).to_string()))
            .chain(
                Channel::ALL
                    .iter()
                    .map(|c| (c.code().to_string(), labels::channel_name(i18n, c.code()))),
            )
            .collect()
    };
    let session_options = move || {
        let current = state.field("live_session").get();
        let mut options = vec![(String::new(), t_string!(i18n, field.no_session).to_string())];
        app.live_sessions.with(|sessions| {
            options.extend(sessions.iter().map(|s| (s.id.clone(), s.title.clone())));
        });
        if !current.is_empty() && !options.iter().any(|(v, _)| *v == current) {
            options.push((current.clone(), current));
        }
        options
    };
    let language_options = move || {
        std::iter::once((
            String::new(),
            t_string!(i18n, field.no_language).to_string(),
        ))
        .chain(
            liveline_types::LANGUAGES
                .iter()
                .map(|c| (c.to_string(), labels::language_name(i18n, c))),
        )
        .collect()
    };
    let status_options = move || {
        LeadStatus::ALL
            .iter()
            .map(|s| (s.code().to_string(), labels::status_name(i18n, s.code())))
            .collect()
    };
    let owner_options = move || {
        let current = state.field("owner").get();
        let mut options = vec![(String::new(), t_string!(i18n, field.unassigned).to_string())];
        app.session.with(|s| {
            if let Some(s) = s {
                options.extend(s.members.iter().map(|m| (m.id.clone(), m.name.clone())));
            }
        });
        if !current.is_empty() && !options.iter().any(|(v, _)| *v == current) {
            options.push((current.clone(), current));
        }
        options
    };

    // The fields an admin added to the lead form, drawn from the published definition.
    let extra_fields = Memo::new(move |_| {
        app.lead_form.with(|f| {
            f.as_ref()
                .map(|f| {
                    f.fields
                        .iter()
                        .filter(|x| !x.removed && !FIELDS.contains(&x.key.as_str()))
                        .cloned()
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    let extra_draft = state.extra_draft();
    let notes = state.field("notes");
    let notes_invalid = Memo::new(move |_| state.error_of("notes").is_some());
    let phone_hint = view! {
        <p class="hint" id="lead-phone-hint">{t!(i18n, field.phone_hint)}</p>
    }
    .into_any();

    // Errors about fields that are not on this form, and failures of the save itself.
    let other_errors = move || {
        let mut lines: Vec<String> = state.errors.with(|errors| {
            errors
                .iter()
                .filter(|e| !FIELDS.contains(&e.field.as_str()))
                .filter(|e| {
                    let top = e.field.split(['[', '.']).next().unwrap_or("");
                    !extra_fields.with(|fs| fs.iter().any(|f| f.key == top))
                })
                .map(|e| {
                    format!(
                        "{}: {}",
                        labels::field_label(i18n, &e.field),
                        error_text(i18n, &e.error)
                    )
                })
                .collect()
        });
        if let Some(f) = state.failure.get() {
            lines.push(error_text(i18n, &f));
        }
        (!lines.is_empty()).then(|| {
            view! {
                <div class="form-error" id="lead-form-error" role="alert">
                    {lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}
                </div>
            }
        })
    };

    view! {
        <form
            class="lead-form"
            novalidate=true
            on:submit=move |ev| {
                ev.prevent_default();
                save();
            }
        >
            <div class="form-grid">
                {field_frame(
                    i18n,
                    state,
                    "buyer_name",
                    true,
                    false,
                    text_control(state, "buyer_name", "text", "text", "off"),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "company",
                    false,
                    false,
                    text_control(state, "company", "text", "text", "off"),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "country",
                    true,
                    false,
                    select_control(state, "country", country_options),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "phone",
                    false,
                    false,
                    text_control(state, "phone", "tel", "tel", "off"),
                    Some(phone_hint),
                )}
                {field_frame(
                    i18n,
                    state,
                    "email",
                    false,
                    false,
                    text_control(state, "email", "email", "email", "off"),
                    None,
                )}
                <div class="field-pair">
                    {field_frame(
                        i18n,
                        state,
                        "contact_kind",
                        false,
                        false,
                        select_control(state, "contact_kind", contact_kind_options),
                        None,
                    )}
                    {field_frame(
                        i18n,
                        state,
                        "contact",
                        false,
                        false,
                        text_control(state, "contact", "text", "text", "off"),
                        None,
                    )}
                </div>
                <p class="hint wide contact-rule">{t!(i18n, field.contact_rule)}</p>
                {field_frame(
                    i18n,
                    state,
                    "channel",
                    true,
                    false,
                    select_control(state, "channel", channel_options),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "live_session",
                    false,
                    false,
                    select_control(state, "live_session", session_options),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "product_interest",
                    false,
                    false,
                    text_control(state, "product_interest", "text", "text", "off"),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "language",
                    false,
                    false,
                    select_control(state, "language", language_options),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "quantity",
                    false,
                    false,
                    text_control(state, "quantity", "text", "numeric", "off"),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "status",
                    false,
                    false,
                    select_control(state, "status", status_options),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "owner",
                    false,
                    false,
                    select_control(state, "owner", owner_options),
                    None,
                )}
                {field_frame(
                    i18n,
                    state,
                    "notes",
                    false,
                    true,
                    view! {
                        <textarea
                            id="lead-notes"
                            name="notes"
                            rows="3"
                            aria-invalid=move || if notes_invalid.get() { "true" } else { "false" }
                            aria-describedby="lead-notes-error"
                            prop:value=move || notes.get()
                            on:input=move |ev| {
                                notes.set(event_target_value(&ev));
                                state.clear_error("notes");
                            }
                        ></textarea>
                    }
                        .into_any(),
                    None,
                )}
                <Fields fields=extra_fields draft=extra_draft prefix="lead" />
            </div>
            {other_errors}
            <div class="form-actions">
                <button
                    type="submit"
                    id="lead-save"
                    class="primary"
                    disabled=move || state.saving.get()
                >
                    {move || {
                        if state.saving.get() {
                            t_string!(i18n, form.saving).to_string()
                        } else if editing {
                            t_string!(i18n, form.save_changes).to_string()
                        } else {
                            t_string!(i18n, form.save).to_string()
                        }
                    }}
                </button>
                {move || {
                    state
                        .saved_name
                        .get()
                        .map(|name| {
                            view! {
                                <p id="save-status" class="save-status" role="status">
                                    <span class="check" aria-hidden="true">"✓ "</span>
                                    {move || t_string!(i18n, form.saved, name = name.clone()).to_string()}
                                </p>
                            }
                        })
                }}
            </div>
        </form>
    }
}
