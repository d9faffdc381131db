//! The fields of a form definition, drawn from the definition an admin published: one control per field type,
//! order lines as a table, each field's error beside it. Used by the capture form (fields an admin added to the
//! lead form), the record screen (orders, proposals) and the form builder's preview.

use crate::errors::error_text;
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::state::AppState;
use leptos::prelude::*;
use liveline_types::forms::{FieldDef, FieldInput, FieldKind, Text};
use liveline_types::{AppError, FieldError};
use std::collections::BTreeMap;

/// A text in the current language (the other one when this one is empty).
pub fn text_of(i18n: I18n, t: &Text) -> String {
    let (first, second) = match i18n.get_locale() {
        Locale::zh_CN => (&t.zh, &t.en),
        Locale::en => (&t.en, &t.zh),
    };
    if first.is_empty() {
        second.clone()
    } else {
        first.clone()
    }
}

/// What a form holds while it is edited: values as typed, and the field errors of the last save.
#[derive(Clone, Copy)]
pub struct Draft {
    pub values: RwSignal<BTreeMap<String, FieldInput>>,
    pub errors: RwSignal<Vec<FieldError>>,
}

impl Default for Draft {
    fn default() -> Self {
        Self::new()
    }
}

/// Where a value lives: a field of the record, or a cell of a table field.
#[derive(Clone, Debug, PartialEq)]
enum Slot {
    Top(String),
    Cell(String, usize, String),
}

impl Slot {
    /// The error path the engine uses (`lines[1].quantity`) and the element id suffix.
    fn path(&self) -> String {
        match self {
            Slot::Top(k) => k.clone(),
            Slot::Cell(k, i, c) => format!("{k}[{i}].{c}"),
        }
    }
    fn id(&self, prefix: &str) -> String {
        match self {
            Slot::Top(k) => format!("{prefix}-{k}"),
            Slot::Cell(k, i, c) => format!("{prefix}-{k}-{i}-{c}"),
        }
    }
}

impl Draft {
    pub fn new() -> Self {
        Self {
            values: RwSignal::new(BTreeMap::new()),
            errors: RwSignal::new(Vec::new()),
        }
    }

    fn get(&self, slot: &Slot) -> Option<FieldInput> {
        self.values.with(|v| match slot {
            Slot::Top(k) => v.get(k).cloned(),
            Slot::Cell(k, i, c) => match v.get(k) {
                Some(FieldInput::Rows(rows)) => rows.get(*i).and_then(|r| r.get(c)).cloned(),
                _ => None,
            },
        })
    }

    fn put(&self, slot: &Slot, value: Option<FieldInput>) {
        self.values.update(|v| match slot {
            Slot::Top(k) => match value {
                Some(x) => {
                    v.insert(k.clone(), x);
                }
                None => {
                    v.remove(k);
                }
            },
            Slot::Cell(k, i, c) => {
                if let Some(FieldInput::Rows(rows)) = v.get_mut(k) {
                    if let Some(row) = rows.get_mut(*i) {
                        match value {
                            Some(x) => {
                                row.insert(c.clone(), x);
                            }
                            None => {
                                row.remove(c);
                            }
                        }
                    }
                }
            }
        });
        let path = slot.path();
        if self
            .errors
            .with_untracked(|es| es.iter().any(|e| e.field == path))
        {
            self.errors.update(|es| es.retain(|e| e.field != path));
        }
    }

    fn text(&self, slot: &Slot) -> String {
        match self.get(slot) {
            Some(FieldInput::Text(s)) => s,
            Some(FieldInput::Money { amount, .. }) => amount,
            _ => String::new(),
        }
    }

    fn set_text(&self, slot: &Slot, s: String) {
        self.put(slot, (!s.is_empty()).then_some(FieldInput::Text(s)));
    }

    fn error(&self, path: &str) -> Option<AppError> {
        self.errors
            .with(|es| es.iter().find(|e| e.field == path).map(|e| e.error.clone()))
    }

    fn rows(&self, key: &str) -> usize {
        self.values.with(|v| match v.get(key) {
            Some(FieldInput::Rows(r)) => r.len(),
            _ => 0,
        })
    }
}

fn kind_code(kind: &FieldKind) -> &'static str {
    match kind {
        FieldKind::Text => "text",
        FieldKind::LongText => "long_text",
        FieldKind::Number { .. } => "number",
        FieldKind::Money => "money",
        FieldKind::Phone => "phone",
        FieldKind::Email => "email",
        FieldKind::Select { .. } => "select",
        FieldKind::MultiSelect { .. } => "multi_select",
        FieldKind::Country => "country",
        FieldKind::Date => "date",
        FieldKind::DateTime => "date_time",
        FieldKind::User => "user",
        FieldKind::Link { .. } => "link",
        FieldKind::SubTable { .. } => "sub_table",
        FieldKind::Formula { .. } => "formula",
        FieldKind::Attachment => "attachment",
    }
}

/// The control for one value. `enabled` false draws it read-only.
fn control(
    i18n: I18n,
    draft: Draft,
    prefix: &'static str,
    slot: Slot,
    f: &FieldDef,
    enabled: bool,
) -> AnyView {
    let id = slot.id(prefix);
    let path = slot.path();
    let invalid = {
        let path = path.clone();
        Memo::new(move |_| draft.error(&path).is_some())
    };
    let aria = move || if invalid.get() { "true" } else { "false" };
    let slot = StoredValue::new(slot);
    let text_id = id.clone();
    let text_input = move |ty: &'static str, mode: &'static str| {
        view! {
            <input
                id=text_id.clone()
                type=ty
                inputmode=mode
                autocomplete="off"
                disabled=!enabled
                aria-invalid=aria
                prop:value=move || draft.text(&slot.get_value())
                on:input=move |ev| draft.set_text(&slot.get_value(), event_target_value(&ev))
            />
        }
        .into_any()
    };
    match &f.kind {
        FieldKind::Text | FieldKind::Link { .. } | FieldKind::Attachment => {
            text_input("text", "text")
        }
        FieldKind::Phone => text_input("tel", "tel"),
        FieldKind::Email => text_input("email", "email"),
        FieldKind::Number { .. } => text_input("text", "decimal"),
        FieldKind::Date => text_input("date", "text"),
        FieldKind::DateTime => text_input("datetime-local", "text"),
        FieldKind::LongText => view! {
            <textarea
                id=id
                rows="3"
                disabled=!enabled
                aria-invalid=aria
                prop:value=move || draft.text(&slot.get_value())
                on:input=move |ev| draft.set_text(&slot.get_value(), event_target_value(&ev))
            ></textarea>
        }
        .into_any(),
        FieldKind::Money => {
            let parts = move || match draft.get(&slot.get_value()) {
                Some(FieldInput::Money { amount, currency }) => (amount, currency),
                _ => (String::new(), String::new()),
            };
            let set = move |amount: Option<String>, currency: Option<String>| {
                let (a, c) = parts();
                let (a, c) = (amount.unwrap_or(a), currency.unwrap_or(c));
                let v = (!a.is_empty() || !c.is_empty()).then_some(FieldInput::Money {
                    amount: a,
                    currency: c,
                });
                draft.put(&slot.get_value(), v);
            };
            view! {
                <div class="money">
                    <input
                        id=id.clone()
                        type="text"
                        inputmode="decimal"
                        disabled=!enabled
                        aria-invalid=aria
                        prop:value=move || parts().0
                        on:input=move |ev| set(Some(event_target_value(&ev)), None)
                    />
                    <input
                        id=format!("{id}-currency")
                        class="currency"
                        type="text"
                        maxlength="3"
                        placeholder="USD"
                        disabled=!enabled
                        prop:value=move || parts().1
                        on:input=move |ev| set(None, Some(event_target_value(&ev).to_uppercase()))
                    />
                </div>
            }
            .into_any()
        }
        FieldKind::Select { options } => {
            let options = options.clone();
            let current = Memo::new(move |_| draft.text(&slot.get_value()));
            view! {
                <select
                    id=id
                    disabled=!enabled
                    aria-invalid=aria
                    on:change=move |ev| draft.set_text(&slot.get_value(), event_target_value(&ev))
                >
                    <option value="" prop:selected=move || current.get().is_empty()>
                        {move || t_string!(i18n, field.choose).to_string()}
                    </option>
                    {options
                        .into_iter()
                        .map(|o| {
                            let code = o.code.clone();
                            let code2 = o.code.clone();
                            view! {
                                <option value=code prop:selected=move || current.get() == code2>
                                    {move || text_of(i18n, &o.label)}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            }
            .into_any()
        }
        FieldKind::MultiSelect { options } => {
            let chosen = move || match draft.get(&slot.get_value()) {
                Some(FieldInput::Many(l)) => l,
                _ => Vec::new(),
            };
            view! {
                <div class="choices" id=id.clone()>
                    {options
                        .iter()
                        .cloned()
                        .map(|o| {
                            let code = o.code.clone();
                            let code2 = o.code.clone();
                            view! {
                                <label class="choice">
                                    <input
                                        type="checkbox"
                                        id=format!("{id}-{}", o.code)
                                        disabled=!enabled
                                        prop:checked=move || chosen().contains(&code)
                                        on:change=move |_| {
                                            let mut l = chosen();
                                            if let Some(i) = l.iter().position(|c| *c == code2) {
                                                l.remove(i);
                                            } else {
                                                l.push(code2.clone());
                                            }
                                            draft
                                                .put(
                                                    &slot.get_value(),
                                                    (!l.is_empty()).then_some(FieldInput::Many(l)),
                                                );
                                        }
                                    />
                                    {move || text_of(i18n, &o.label)}
                                </label>
                            }
                        })
                        .collect_view()}
                </div>
            }
            .into_any()
        }
        FieldKind::Country | FieldKind::User => {
            let is_country = matches!(f.kind, FieldKind::Country);
            let app = AppState::get();
            let current = Memo::new(move |_| draft.text(&slot.get_value()));
            let options = move || {
                let mut out: Vec<(String, String)> =
                    vec![(String::new(), t_string!(i18n, field.choose).to_string())];
                if is_country {
                    out.extend(
                        labels::sorted_countries(i18n.get_locale())
                            .iter()
                            .map(|(c, n)| (c.to_string(), n.to_string())),
                    );
                } else {
                    app.session.with(|s| {
                        if let Some(s) = s {
                            out.extend(s.members.iter().map(|m| (m.id.clone(), m.name.clone())));
                        }
                    });
                }
                out
            };
            view! {
                <select
                    id=id
                    disabled=!enabled
                    aria-invalid=aria
                    on:change=move |ev| draft.set_text(&slot.get_value(), event_target_value(&ev))
                >
                    {move || {
                        options()
                            .into_iter()
                            .map(|(v, label)| {
                                let v2 = v.clone();
                                view! {
                                    <option value=v prop:selected=move || current.get() == v2>
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
        FieldKind::Formula { .. } => view! {
            <output id=id class="computed">
                {move || {
                    let v = draft.text(&slot.get_value());
                    if v.is_empty() { t_string!(i18n, rec.computed).to_string() } else { v }
                }}
            </output>
        }
        .into_any(),
        FieldKind::SubTable { columns } => {
            table(i18n, draft, prefix, f.key.clone(), columns.clone(), enabled)
        }
    }
}

/// Order lines: one row per line, a cell per column, each cell's error in it.
fn table(
    i18n: I18n,
    draft: Draft,
    prefix: &'static str,
    key: String,
    columns: Vec<FieldDef>,
    enabled: bool,
) -> AnyView {
    let columns: Vec<FieldDef> = columns.into_iter().filter(|c| !c.removed).collect();
    let count = {
        let key = key.clone();
        Memo::new(move |_| draft.rows(&key))
    };
    let heads = columns.clone();
    let key_add = key.clone();
    let add = move |_| {
        draft.values.update(|v| match v.get_mut(&key_add) {
            Some(FieldInput::Rows(rows)) => rows.push(BTreeMap::new()),
            _ => {
                v.insert(key_add.clone(), FieldInput::Rows(vec![BTreeMap::new()]));
            }
        });
    };
    let body = move || {
        let n = count.get();
        if n == 0 {
            return view! { <p class="muted">{t!(i18n, rec.no_rows)}</p> }.into_any();
        }
        (0..n)
            .map(|i| {
                let key_rm = key.clone();
                let cells = columns
                    .iter()
                    .map(|c| {
                        let slot = Slot::Cell(key.clone(), i, c.key.clone());
                        let path = slot.path();
                        let err = Memo::new(move |_| draft.error(&path));
                        let label = c.label.clone();
                        view! {
                            <td data-label=move || text_of(i18n, &label)>
                                {control(i18n, draft, prefix, slot, c, enabled)}
                                {move || {
                                    err.get()
                                        .map(|e| view! { <p class="field-error" role="alert">{error_text(i18n, &e)}</p> })
                                }}
                            </td>
                        }
                    })
                    .collect_view();
                view! {
                    <tr>
                        {cells}
                        <td class="row-actions">
                            <button
                                type="button"
                                class="link danger"
                                disabled=!enabled
                                on:click=move |_| {
                                    draft.values.update(|v| {
                                        if let Some(FieldInput::Rows(rows)) = v.get_mut(&key_rm) {
                                            if i < rows.len() {
                                                rows.remove(i);
                                            }
                                        }
                                    });
                                    draft.errors.set(Vec::new());
                                }
                            >
                                {t!(i18n, rec.remove_row)}
                            </button>
                        </td>
                    </tr>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <div class="lines">
            <table class="lines-table">
                <thead>
                    <tr>
                        {heads
                            .into_iter()
                            .map(|c| view! { <th>{move || text_of(i18n, &c.label)}</th> })
                            .collect_view()}
                        <th></th>
                    </tr>
                </thead>
                <tbody>{body}</tbody>
            </table>
            <button type="button" class="secondary" id=format!("{prefix}-add-row") disabled=!enabled on:click=add>
                {t!(i18n, rec.add_row)}
            </button>
        </div>
    }
    .into_any()
}

/// One field with its label, help, control and error.
fn field_view(
    i18n: I18n,
    draft: Draft,
    prefix: &'static str,
    f: FieldDef,
    enabled: bool,
) -> AnyView {
    let key = f.key.clone();
    let wide = matches!(
        f.kind,
        FieldKind::LongText | FieldKind::SubTable { .. } | FieldKind::MultiSelect { .. }
    );
    let error = {
        let key = key.clone();
        Memo::new(move |_| draft.error(&key))
    };
    let label = f.label.clone();
    let help = f.help.clone();
    let required = f.required && !matches!(f.kind, FieldKind::Formula { .. });
    let id = format!("{prefix}-{key}");
    let err_id = format!("{prefix}-{key}-error");
    view! {
        <div
            class="field"
            class:wide=wide
            class:has-error=move || error.with(|e| e.is_some())
            data-field=key.clone()
            data-kind=kind_code(&f.kind)
        >
            <label for=id>
                {move || text_of(i18n, &label)}
                {required.then(|| view! { <span class="req" aria-hidden="true">" *"</span> })}
            </label>
            {control(i18n, draft, prefix, Slot::Top(key.clone()), &f, enabled)}
            {(!help.en.is_empty() || !help.zh.is_empty())
                .then(|| view! { <p class="hint">{move || text_of(i18n, &help)}</p> })}
            {move || {
                error
                    .get()
                    .map(|e| {
                        view! {
                            <p class="field-error" id=err_id.clone() role="alert">
                                {error_text(i18n, &e)}
                            </p>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}

/// The live fields of `fields` (removed ones are hidden; their data stays in the record). `writable`: the keys
/// this user may change, `None` for all; `locked` draws every field read-only.
#[component]
pub fn Fields(
    #[prop(into)] fields: Signal<Vec<FieldDef>>,
    draft: Draft,
    prefix: &'static str,
    #[prop(optional, into)] writable: Option<Signal<Vec<String>>>,
    #[prop(optional, into)] locked: Option<Signal<bool>>,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        let locked = locked.map(|l| l.get()).unwrap_or(false);
        let writable = writable.map(|w| w.get());
        fields
            .get()
            .into_iter()
            .filter(|f| !f.removed)
            .map(|f| {
                let enabled = !locked && writable.as_ref().is_none_or(|w| w.contains(&f.key));
                field_view(i18n, draft, prefix, f, enabled)
            })
            .collect_view()
    }
}

/// Errors of fields not drawn here (a field since removed, a path the form does not know), as lines of text.
pub fn stray_errors(i18n: I18n, draft: Draft, fields: &[FieldDef]) -> Vec<String> {
    draft.errors.with(|es| {
        es.iter()
            .filter(|e| {
                let top = e.field.split(['[', '.']).next().unwrap_or("");
                !fields.iter().any(|f| f.key == top && !f.removed)
            })
            .map(|e| {
                if e.field.is_empty() {
                    error_text(i18n, &e.error)
                } else {
                    format!("{}: {}", e.field, error_text(i18n, &e.error))
                }
            })
            .collect()
    })
}

/// The type names for the form builder.
pub fn kind_name(i18n: I18n, code: &str) -> String {
    match code {
        "text" => t_string!(i18n, builder.t_text),
        "long_text" => t_string!(i18n, builder.t_long_text),
        "number" => t_string!(i18n, builder.t_number),
        "money" => t_string!(i18n, builder.t_money),
        "phone" => t_string!(i18n, builder.t_phone),
        "email" => t_string!(i18n, builder.t_email),
        "select" => t_string!(i18n, builder.t_select),
        "multi_select" => t_string!(i18n, builder.t_multi_select),
        "country" => t_string!(i18n, builder.t_country),
        "date" => t_string!(i18n, builder.t_date),
        "date_time" => t_string!(i18n, builder.t_date_time),
        "user" => t_string!(i18n, builder.t_user),
        "link" => t_string!(i18n, builder.t_link),
        "sub_table" => t_string!(i18n, builder.t_sub_table),
        "formula" => t_string!(i18n, builder.t_formula),
        _ => t_string!(i18n, builder.t_attachment),
    }
    .to_string()
}

pub fn kind_of(f: &FieldDef) -> &'static str {
    kind_code(&f.kind)
}
