//! Forms and flows, for admins: the form builder (add, reorder, edit, remove fields; preview at phone and
//! desktop width; publish) and the flow designer (every step of a flow in one vertical list with its branches,
//! approvers, time limits; edit and publish). Publishing runs the same checks the server makes; every fault is
//! shown beside the field or step it names, and nothing is published while there is one.

use crate::api;
use crate::errors::{error_alert, error_text};
use crate::fields::{kind_name, kind_of, text_of, Draft, Fields};
use crate::i18n::*;
use crate::labels::{self, I18n};
use crate::screens::records::node_lines;
use crate::state::AppState;
use leptos::prelude::*;
use leptos::task::spawn_local;
use liveline_types::forms::{
    Approver, Choice, FieldDef, FieldKind, FlowDef, FormDef, LinkTarget, NodeKind, OnTimeout, Sign,
    Text,
};
use liveline_types::{AppError, FieldError, ROLE_CODES};

/// The field types the builder offers for a new field.
const NEW_KINDS: [&str; 14] = [
    "text",
    "long_text",
    "number",
    "money",
    "phone",
    "email",
    "select",
    "multi_select",
    "country",
    "date",
    "date_time",
    "user",
    "link",
    "attachment",
];

fn new_kind(code: &str, options: &str) -> FieldKind {
    let choices = || {
        options
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let mut parts = l.split('=').map(str::trim);
                let code = parts.next().unwrap_or_default().to_string();
                let en = parts.next().unwrap_or(&code).to_string();
                let zh = parts.next().unwrap_or(&en).to_string();
                Choice {
                    code,
                    label: Text { en, zh },
                }
            })
            .collect()
    };
    match code {
        "long_text" => FieldKind::LongText,
        "number" => FieldKind::Number { scale: 2 },
        "money" => FieldKind::Money,
        "phone" => FieldKind::Phone,
        "email" => FieldKind::Email,
        "select" => FieldKind::Select { options: choices() },
        "multi_select" => FieldKind::MultiSelect { options: choices() },
        "country" => FieldKind::Country,
        "date" => FieldKind::Date,
        "date_time" => FieldKind::DateTime,
        "user" => FieldKind::User,
        "link" => FieldKind::Link {
            to: LinkTarget::Customer,
        },
        "attachment" => FieldKind::Attachment,
        _ => FieldKind::Text,
    }
}

/// Faults named by field (`key`, `lines[0].x`) or step (`node:<id>`) as lines, each naming what it is about.
fn fault_lines(i18n: I18n, errors: &[FieldError]) -> Vec<String> {
    errors.iter().map(|e| fault_text(i18n, e)).collect()
}

fn fault_text(i18n: I18n, e: &FieldError) -> String {
    let what = e.field.trim_start_matches("node:").to_string();
    let mut err = e.error.clone();
    if err.code.starts_with("def.") {
        // The definition messages name the field or step themselves.
        err.args.entry("field".into()).or_insert(what);
        error_text(i18n, &err)
    } else if what.is_empty() {
        error_text(i18n, &err)
    } else {
        format!("{what}: {}", error_text(i18n, &err))
    }
}

fn faults_of(errors: RwSignal<Vec<FieldError>>, name: &str) -> Vec<FieldError> {
    errors.with(|es| {
        es.iter()
            .filter(|e| {
                let top = e.field.trim_start_matches("node:");
                top == name
                    || top.starts_with(&format!("{name}["))
                    || top.starts_with(&format!("{name}."))
            })
            .cloned()
            .collect()
    })
}

/// A definition the forms screen edits.
trait Definition: Clone + PartialEq + Send + Sync + 'static {
    fn id(&self) -> &str;
    fn version(&self) -> u32;
    fn name(&self) -> &Text;
}

impl Definition for FormDef {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn name(&self) -> &Text {
        &self.name
    }
}

impl Definition for FlowDef {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u32 {
        self.version
    }
    fn name(&self) -> &Text {
        &self.name
    }
}

/// What the form builder and the flow designer share: the team's definitions, the one chosen and its working
/// copy, the faults of the last publish, and the list's shape (bumped when items are added, moved or removed, so
/// typing into a label redraws nothing and the input keeps its focus).
struct Editor<T: Definition> {
    defs: RwSignal<Vec<T>>,
    selected: RwSignal<String>,
    working: RwSignal<Option<T>>,
    errors: RwSignal<Vec<FieldError>>,
    failure: RwSignal<Option<AppError>>,
    published: RwSignal<Option<u32>>,
    busy: RwSignal<bool>,
    editing: RwSignal<Option<usize>>,
    shape: RwSignal<u32>,
}

impl<T: Definition> Clone for Editor<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T: Definition> Copy for Editor<T> {}

impl<T: Definition> Editor<T> {
    fn new(selected: &str) -> Self {
        Self {
            defs: RwSignal::new(Vec::new()),
            selected: RwSignal::new(selected.to_string()),
            working: RwSignal::new(None),
            errors: RwSignal::new(Vec::new()),
            failure: RwSignal::new(None),
            published: RwSignal::new(None),
            busy: RwSignal::new(false),
            editing: RwSignal::new(None),
            shape: RwSignal::new(0),
        }
    }

    fn reshape(self) {
        self.shape.update(|n| *n += 1);
    }

    /// Loads the team's definitions and starts a working copy of the chosen one.
    fn load<F, Fut>(self, fetch: F)
    where
        F: Fn() -> Fut + 'static,
        Fut: std::future::Future<Output = Result<Vec<T>, AppError>> + 'static,
    {
        let request = fetch();
        spawn_local(async move {
            match request.await {
                Ok(list) => {
                    let id = self.selected.get_untracked();
                    self.working
                        .set(list.iter().find(|f| f.id() == id).cloned());
                    self.defs.set(list);
                    self.reshape();
                }
                Err(e) => self.failure.set(Some(e)),
            }
        });
    }

    fn select(self, id: String) {
        self.working.set(
            self.defs
                .with_untracked(|d| d.iter().find(|f| f.id() == id).cloned()),
        );
        self.selected.set(id);
        self.reshape();
        self.errors.set(Vec::new());
        self.published.set(None);
        self.editing.set(None);
    }

    /// The chosen definition as published, and whether the working copy differs from it.
    fn original(self) -> (Memo<Option<T>>, Memo<bool>) {
        let original = Memo::new(move |_| {
            let id = self.selected.get();
            self.defs.with(|d| d.iter().find(|f| f.id() == id).cloned())
        });
        let dirty = Memo::new(move |_| self.working.get() != original.get());
        (original, dirty)
    }

    /// The picker of the definition to edit with its published version, then the faults of the last publish.
    fn head(
        self,
        i18n: I18n,
        select_id: &'static str,
        version_id: &'static str,
        errors_id: &'static str,
        original: Memo<Option<T>>,
        label: impl Fn() -> String + Send + Sync + 'static,
    ) -> impl IntoView {
        let (defs, selected, errors) = (self.defs, self.selected, self.errors);
        view! {
            <div class="filters">
                <div class="filter">
                    <label for=select_id>{label}</label>
                    <select id=select_id on:change=move |ev| self.select(event_target_value(&ev))>
                        {move || defs.get().into_iter().map(|f| {
                            let id = f.id().to_string();
                            let id2 = id.clone();
                            view! { <option value=id prop:selected=move || selected.get() == id2>{move || text_of(i18n, f.name())}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <p class="muted" id=version_id>
                    {move || original.get().map(|f| t_string!(i18n, builder.version, v = f.version().to_string()).to_string())}
                </p>
            </div>
            {move || {
                let lines = errors.with(|es| fault_lines(i18n, es));
                (!lines.is_empty()).then(|| view! {
                    <div class="form-error" role="alert" id=errors_id>{lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view()}</div>
                })
            }}
        }
    }

    fn update(self, f: &dyn Fn(&mut T)) {
        self.working.update(|w| {
            if let Some(w) = w {
                f(w);
            }
        });
        self.published.set(None);
    }

    /// Publishes the working copy with `send`; on success loads again with `fetch` and runs `after`.
    fn publish<S, SFut, F, FFut>(self, send: S, fetch: F, after: impl Fn() + 'static)
    where
        S: FnOnce(T) -> SFut + 'static,
        SFut: std::future::Future<Output = Result<Vec<FieldError>, AppError>> + 'static,
        F: Fn() -> FFut + 'static,
        FFut: std::future::Future<Output = Result<Vec<T>, AppError>> + 'static,
    {
        let Some(def) = self.working.get_untracked() else {
            return;
        };
        self.busy.set(true);
        self.failure.set(None);
        let version = def.version();
        spawn_local(async move {
            let result = send(def).await;
            self.busy.set(false);
            match result {
                Ok(es) if es.is_empty() => {
                    self.errors.set(Vec::new());
                    self.published.set(Some(version + 1));
                    self.editing.set(None);
                    self.load(fetch);
                    after();
                }
                Ok(es) => self.errors.set(es),
                Err(e) => self.failure.set(Some(e)),
            }
        });
    }
}

#[component]
pub fn Forms() -> impl IntoView {
    let i18n = use_i18n();
    let tab = RwSignal::new("forms");
    view! {
        <section class="screen forms-admin">
            <h1>{t!(i18n, builder.title)}</h1>
            <div class="tabs" role="tablist">
                <button type="button" role="tab" id="tab-forms" class="tab" class:active=move || tab.get() == "forms"
                    aria-selected=move || (tab.get() == "forms").to_string() on:click=move |_| tab.set("forms")>
                    {t!(i18n, builder.forms)}
                </button>
                <button type="button" role="tab" id="tab-flows" class="tab" class:active=move || tab.get() == "flows"
                    aria-selected=move || (tab.get() == "flows").to_string() on:click=move |_| tab.set("flows")>
                    {t!(i18n, builder.flows)}
                </button>
            </div>
            {move || if tab.get() == "forms" { view! { <FormBuilder /> }.into_any() } else { view! { <FlowDesigner /> }.into_any() }}
        </section>
    }
}

#[component]
fn FormBuilder() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let ed = Editor::<FormDef>::new("lead");
    let Editor {
        working,
        errors,
        failure,
        published,
        busy,
        editing,
        shape,
        ..
    } = ed;
    let preview = RwSignal::new("phone");
    let preview_draft = Draft::new();
    let reshape = move || ed.reshape();
    ed.load(api::form_defs);
    let (original, dirty) = ed.original();
    let update = move |f: &dyn Fn(&mut FormDef)| ed.update(f);
    let publish = move || {
        ed.publish(
            |d| async move { api::publish_form(&d).await },
            api::form_defs,
            move || app.load_lead_form(),
        )
    };

    // The add-a-field panel.
    let new_key = RwSignal::new(String::new());
    let new_en = RwSignal::new(String::new());
    let new_zh = RwSignal::new(String::new());
    let new_kind_code = RwSignal::new("text".to_string());
    let new_required = RwSignal::new(false);
    let new_options = RwSignal::new(String::new());
    let add_problem = RwSignal::new(false);
    let add = move |_| {
        let key = new_key.get_untracked().trim().to_string();
        let en = new_en.get_untracked().trim().to_string();
        let zh = new_zh.get_untracked().trim().to_string();
        if key.is_empty() || (en.is_empty() && zh.is_empty()) {
            add_problem.set(true);
            return;
        }
        add_problem.set(false);
        let mut f = FieldDef::new(
            &key,
            Text { en, zh },
            new_kind(&new_kind_code.get_untracked(), &new_options.get_untracked()),
        );
        f.required = new_required.get_untracked();
        update(&|w| w.fields.push(f.clone()));
        reshape();
        for s in [new_key, new_en, new_zh, new_options] {
            s.set(String::new());
        }
        new_required.set(false);
    };

    let field_rows = move || {
        shape.track();
        let Some(def) = working.get_untracked() else {
            return view! { <p class="muted">{t!(i18n, loading)}</p> }.into_any();
        };
        let n = def.fields.len();
        def.fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| {
                let key = f.key.clone();
                let faults = {
                    let key = key.clone();
                    Memo::new(move |_| faults_of(errors, &key))
                };
                let removed = f.removed;
                let label = f.label.clone();
                let kind = kind_of(&f).to_string();
                let required = f.required;
                let hidden = f.read.clone();
                let edit_view = move || {
                    (editing.get() == Some(i)).then(|| {
                        let f = working.with_untracked(|w| w.as_ref().map(|w| w.fields[i].clone()));
                        let f = f.unwrap_or_else(|| FieldDef::new("", Text::default(), FieldKind::Text));
                        view! {
                            <div class="field-edit">
                                <div class="field">
                                    <label for=format!("fb-en-{i}")>{t!(i18n, builder.label_en)}</label>
                                    <input id=format!("fb-en-{i}") type="text" value=f.label.en.clone()
                                        on:input=move |ev| { let v = event_target_value(&ev); update(&|w| w.fields[i].label.en = v.clone()) } />
                                </div>
                                <div class="field">
                                    <label for=format!("fb-zh-{i}")>{t!(i18n, builder.label_zh)}</label>
                                    <input id=format!("fb-zh-{i}") type="text" value=f.label.zh.clone()
                                        on:input=move |ev| { let v = event_target_value(&ev); update(&|w| w.fields[i].label.zh = v.clone()) } />
                                </div>
                                <label class="check-row">
                                    <input type="checkbox" id=format!("fb-required-{i}") prop:checked=f.required
                                        on:change=move |ev| { let v = event_target_checked(&ev); update(&|w| w.fields[i].required = v) } />
                                    {t!(i18n, builder.required)}
                                </label>
                                <fieldset class="field wide roles-pick" id=format!("fb-read-{i}")>
                                    <legend>{t!(i18n, builder.read_roles)}</legend>
                                    <p class="muted">{t!(i18n, builder.read_roles_hint)}</p>
                                    <div class="check-grid">
                                        {ROLE_CODES.iter().map(|c| {
                                            let code = c.to_string();
                                            let checked = f.read.contains(&code);
                                            view! {
                                                <label class="check-row">
                                                    <input type="checkbox" id=format!("fb-read-{i}-{c}") prop:checked=checked
                                                        on:change=move |ev| {
                                                            let on = event_target_checked(&ev);
                                                            let code = code.clone();
                                                            update(&move |w| {
                                                                let read = &mut w.fields[i].read;
                                                                read.retain(|r| r != &code);
                                                                if on { read.push(code.clone()); }
                                                            });
                                                            reshape();
                                                        } />
                                                    {crate::labels::role_name(i18n, c)}
                                                </label>
                                            }
                                        }).collect_view()}
                                    </div>
                                </fieldset>
                                <button type="button" class="secondary" on:click=move |_| { editing.set(None); reshape(); }>{t!(i18n, builder.done)}</button>
                            </div>
                        }
                    })
                };
                view! {
                    <li class="builder-field" class:removed=removed class:item-error=move || !faults.get().is_empty() data-key=key.clone()>
                        <div class="builder-line">
                            <span class="builder-name">
                                <strong>{move || text_of(i18n, &label)}</strong>
                                {required.then(|| view! { <span class="req" aria-hidden="true">" *"</span> })}
                                <span class="mono muted">{format!(" {key}")}</span>
                            </span>
                            <span class="chip">{move || kind_name(i18n, &kind)}</span>
                            {removed.then(|| view! { <span class="chip muted">{t!(i18n, builder.removed_note)}</span> })}
                            {(!hidden.is_empty()).then(|| {
                                let hidden = hidden.clone();
                                let names = move || hidden.iter().map(|r| crate::labels::role_name(i18n, r)).collect::<Vec<_>>().join(" · ");
                                view! { <span class="chip hidden-chip">{t!(i18n, builder.hidden_chip)}": "{names}</span> }
                            })}
                        </div>
                        {move || faults.get().into_iter().map(|e| view! { <p class="field-error" role="alert">{fault_text(i18n, &e)}</p> }).collect_view()}
                        <div class="row-actions">
                            <button type="button" class="link" id=format!("fb-up-{i}") disabled=i == 0
                                on:click=move |_| { update(&|w| w.fields.swap(i, i - 1)); reshape(); }>{t!(i18n, builder.up)}</button>
                            <button type="button" class="link" id=format!("fb-down-{i}") disabled=i + 1 == n
                                on:click=move |_| { update(&|w| w.fields.swap(i, i + 1)); reshape(); }>{t!(i18n, builder.down)}</button>
                            <button type="button" class="link" id=format!("fb-edit-{i}")
                                on:click=move |_| editing.set(if editing.get_untracked() == Some(i) { None } else { Some(i) })>{t!(i18n, builder.edit)}</button>
                            <button type="button" class="link danger" id=format!("fb-remove-{i}")
                                on:click=move |_| { update(&|w| w.fields[i].removed = !removed); reshape(); }>
                                {if removed { t_string!(i18n, builder.restore) } else { t_string!(i18n, builder.remove) }}
                            </button>
                        </div>
                        {edit_view}
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };

    let preview_fields = Signal::derive(move || {
        working.with(|w| w.as_ref().map(|w| w.fields.clone()).unwrap_or_default())
    });

    view! {
        <div class="builder">
            {ed.head(i18n, "fb-form", "fb-version", "fb-errors", original, move || t_string!(i18n, rec.form_label).to_string())}
            <div class="builder-grid">
                <div class="card">
                    <h2>{t!(i18n, builder.fields)}</h2>
                    <ol class="builder-list" id="fb-fields">{field_rows}</ol>
                    <h3>{t!(i18n, builder.add_field)}</h3>
                    <div class="form-grid add-field">
                        <div class="field">
                            <label for="fb-new-key">{t!(i18n, builder.key)}</label>
                            <input id="fb-new-key" type="text" autocomplete="off" prop:value=move || new_key.get()
                                on:input=move |ev| new_key.set(event_target_value(&ev)) />
                        </div>
                        <div class="field">
                            <label for="fb-new-en">{t!(i18n, builder.label_en)}</label>
                            <input id="fb-new-en" type="text" prop:value=move || new_en.get()
                                on:input=move |ev| new_en.set(event_target_value(&ev)) />
                        </div>
                        <div class="field">
                            <label for="fb-new-zh">{t!(i18n, builder.label_zh)}</label>
                            <input id="fb-new-zh" type="text" prop:value=move || new_zh.get()
                                on:input=move |ev| new_zh.set(event_target_value(&ev)) />
                        </div>
                        <div class="field">
                            <label for="fb-new-kind">{t!(i18n, builder.field_type)}</label>
                            <select id="fb-new-kind" on:change=move |ev| new_kind_code.set(event_target_value(&ev))>
                                {NEW_KINDS.iter().map(|k| {
                                    let k = *k;
                                    view! { <option value=k prop:selected=move || new_kind_code.get() == k>{move || kind_name(i18n, k)}</option> }
                                }).collect_view()}
                            </select>
                        </div>
                        {move || matches!(new_kind_code.get().as_str(), "select" | "multi_select").then(|| view! {
                            <div class="field wide">
                                <label for="fb-new-options">{t!(i18n, builder.options)}</label>
                                <textarea id="fb-new-options" rows="3" prop:value=move || new_options.get()
                                    on:input=move |ev| new_options.set(event_target_value(&ev))></textarea>
                            </div>
                        })}
                        <label class="check-row">
                            <input type="checkbox" id="fb-new-required" prop:checked=move || new_required.get()
                                on:change=move |ev| new_required.set(event_target_checked(&ev)) />
                            {t!(i18n, builder.required)}
                        </label>
                    </div>
                    {move || add_problem.get().then(|| view! { <p class="field-error" role="alert">{t!(i18n, builder.key_needed)}</p> })}
                    <div class="form-actions">
                        <button type="button" class="secondary" id="fb-add" on:click=add>{t!(i18n, builder.add)}</button>
                    </div>
                </div>
                <div class="card preview-card">
                    <div class="screen-head">
                        <h2>{t!(i18n, builder.preview)}</h2>
                        <div class="segmented" role="group">
                            <button type="button" id="fb-preview-phone" class:active=move || preview.get() == "phone"
                                aria-pressed=move || (preview.get() == "phone").to_string() on:click=move |_| preview.set("phone")>{t!(i18n, builder.phone)}</button>
                            <button type="button" id="fb-preview-desktop" class:active=move || preview.get() == "desktop"
                                aria-pressed=move || (preview.get() == "desktop").to_string() on:click=move |_| preview.set("desktop")>{t!(i18n, builder.desktop)}</button>
                        </div>
                    </div>
                    <div class=move || format!("preview {}", preview.get()) id="fb-preview">
                        <div class="lead-form">
                            <div class="form-grid">
                                <Fields fields=preview_fields draft=preview_draft prefix="preview" />
                            </div>
                        </div>
                    </div>
                </div>
            </div>
            {error_alert(i18n, failure)}
            <div class="form-actions sticky-actions">
                <button type="button" class="primary" id="fb-publish" disabled=move || busy.get() || !dirty.get() on:click=move |_| publish()>
                    {move || if busy.get() { t_string!(i18n, builder.publishing) } else { t_string!(i18n, builder.publish) }}
                </button>
                {move || dirty.get().then(|| view! { <span class="muted">{t!(i18n, builder.unsaved)}</span> })}
                {move || published.get().map(|v| view! {
                    <p class="save-status" role="status" id="fb-published"><span class="check" aria-hidden="true">"✓ "</span>
                        {move || t_string!(i18n, builder.published, v = v.to_string()).to_string()}</p>
                })}
            </div>
        </div>
    }
}

/// Inserts an approval step (a manager, any one approving) after step `i`: it takes over where `i` led.
fn add_step_after(flow: &mut FlowDef, i: usize) {
    let mut n = flow.nodes.len() + 1;
    while flow.nodes.iter().any(|x| x.id == format!("step_{n}")) {
        n += 1;
    }
    let id = format!("step_{n}");
    let next = std::mem::replace(
        &mut flow.nodes[i].next,
        vec![liveline_types::forms::Edge {
            when: None,
            to: id.clone(),
        }],
    );
    flow.nodes.insert(
        i + 1,
        liveline_types::forms::FlowNode {
            id,
            label: Text {
                en: "New step".into(),
                zh: "新环节".into(),
            },
            kind: NodeKind::Approve {
                approvers: vec![Approver::Role("manager".into())],
                sign: Sign::Any,
                requires: Vec::new(),
                others_decide: false,
            },
            next,
            limit_minutes: None,
            on_timeout: OnTimeout::Nothing,
        },
    );
}

/// Removes step `i`. An unconditional way into it takes over all its ways out (conditions kept); a conditional
/// one leads where it went without a condition, or is dropped (the flow ends there).
fn remove_step(flow: &mut FlowDef, i: usize) {
    let gone = flow.nodes.remove(i);
    let onward = gone
        .next
        .iter()
        .find(|e| e.when.is_none())
        .map(|e| e.to.clone());
    if flow.start == gone.id {
        if let Some(o) = &onward {
            flow.start = o.clone();
        }
    }
    for n in flow.nodes.iter_mut() {
        let mut next = Vec::new();
        for e in std::mem::take(&mut n.next) {
            if e.to != gone.id {
                next.push(e);
            } else if e.when.is_none() {
                next.extend(gone.next.iter().cloned());
            } else if let Some(o) = &onward {
                next.push(liveline_types::forms::Edge {
                    when: e.when,
                    to: o.clone(),
                });
            }
        }
        n.next = next;
    }
}

#[component]
fn FlowDesigner() -> impl IntoView {
    let i18n = use_i18n();
    let app = AppState::get();
    let ed = Editor::<FlowDef>::new("live_order");
    let Editor {
        working,
        errors,
        failure,
        published,
        busy,
        editing,
        shape,
        ..
    } = ed;
    let reshape = move || ed.reshape();
    // The forms the flows run on, to name their fields.
    let forms = RwSignal::new(Vec::<FormDef>::new());
    spawn_local(async move {
        if let Ok(list) = api::form_defs().await {
            forms.set(list);
        }
    });
    ed.load(api::flow_defs);
    let (original, dirty) = ed.original();
    let update = move |f: &dyn Fn(&mut FlowDef)| ed.update(f);
    let publish = move || {
        ed.publish(
            |d| async move { api::publish_flow(&d).await },
            api::flow_defs,
            move || (),
        )
    };

    let nodes = move || {
        shape.track();
        let form = forms.with(|fs| {
            let id = working.with_untracked(|w| w.as_ref().map(|w| w.form.clone()));
            fs.iter().find(|f| Some(&f.id) == id.as_ref()).cloned()
        });
        let Some(flow) = working.get_untracked() else {
            return view! { <p class="muted">{t!(i18n, loading)}</p> }.into_any();
        };
        flow.nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let lines = node_lines(i18n, app, &flow, n, form.as_ref());
                let id = n.id.clone();
                let faults = {
                    let id = id.clone();
                    Memo::new(move |_| faults_of(errors, &id))
                };
                let is_start = flow.start == n.id;
                let label = n.label.clone();
                let n2 = n.clone();
                let edit_view = move || {
                    (editing.get() == Some(i)).then(|| {
                        let n = n2.clone();
                        let role = match &n.kind {
                            NodeKind::Approve { approvers, .. } => approvers.iter().find_map(|a| match a {
                                Approver::Role(r) => Some(r.clone()),
                                _ => None,
                            }),
                            _ => None,
                        };
                        let sign = match &n.kind {
                            NodeKind::Approve { sign, .. } => Some(*sign),
                            _ => None,
                        };
                        view! {
                            <div class="field-edit">
                                <div class="field">
                                    <label for=format!("fd-en-{i}")>{t!(i18n, builder.label_en)}</label>
                                    <input id=format!("fd-en-{i}") type="text" value=n.label.en.clone()
                                        on:input=move |ev| { let v = event_target_value(&ev); update(&|w| w.nodes[i].label.en = v.clone()) } />
                                </div>
                                <div class="field">
                                    <label for=format!("fd-zh-{i}")>{t!(i18n, builder.label_zh)}</label>
                                    <input id=format!("fd-zh-{i}") type="text" value=n.label.zh.clone()
                                        on:input=move |ev| { let v = event_target_value(&ev); update(&|w| w.nodes[i].label.zh = v.clone()) } />
                                </div>
                                {role.map(|r| view! {
                                    <div class="field">
                                        <label for=format!("fd-role-{i}")>{t!(i18n, builder.approvers)}</label>
                                        <select id=format!("fd-role-{i}") on:change=move |ev| {
                                            let v = event_target_value(&ev);
                                            update(&|w| if let NodeKind::Approve { approvers, .. } = &mut w.nodes[i].kind {
                                                for a in approvers.iter_mut() {
                                                    if matches!(a, Approver::Role(_)) { *a = Approver::Role(v.clone()); }
                                                }
                                            })
                                        }>
                                            {ROLE_CODES.iter().map(|c| {
                                                let c = *c;
                                                let sel = r == c;
                                                view! { <option value=c selected=sel>{move || labels::role_name(i18n, c)}</option> }
                                            }).collect_view()}
                                        </select>
                                    </div>
                                })}
                                {sign.map(|s| view! {
                                    <div class="field">
                                        <label for=format!("fd-sign-{i}")>{t!(i18n, builder.sign)}</label>
                                        <select id=format!("fd-sign-{i}") on:change=move |ev| {
                                            let v = if event_target_value(&ev) == "all" { Sign::All } else { Sign::Any };
                                            update(&|w| if let NodeKind::Approve { sign, .. } = &mut w.nodes[i].kind { *sign = v; })
                                        }>
                                            <option value="any" selected=s == Sign::Any>{t!(i18n, rec.sign_any)}</option>
                                            <option value="all" selected=s == Sign::All>{t!(i18n, rec.sign_all)}</option>
                                        </select>
                                    </div>
                                })}
                                <div class="field">
                                    <label for=format!("fd-limit-{i}")>{t!(i18n, builder.limit_minutes)}</label>
                                    <input id=format!("fd-limit-{i}") type="text" inputmode="numeric"
                                        value=n.limit_minutes.map(|m| m.to_string()).unwrap_or_default()
                                        on:input=move |ev| {
                                            let v = event_target_value(&ev).trim().parse::<u32>().ok();
                                            update(&|w| w.nodes[i].limit_minutes = v)
                                        } />
                                </div>
                                <div class="field">
                                    <label for=format!("fd-timeout-{i}")>{t!(i18n, builder.on_timeout)}</label>
                                    <select id=format!("fd-timeout-{i}") on:change=move |ev| {
                                        let v = match event_target_value(&ev).as_str() {
                                            "remind" => OnTimeout::Remind,
                                            "escalate" => OnTimeout::Escalate,
                                            "auto_approve" => OnTimeout::AutoApprove,
                                            _ => OnTimeout::Nothing,
                                        };
                                        update(&|w| w.nodes[i].on_timeout = v)
                                    }>
                                        {[("nothing", OnTimeout::Nothing), ("remind", OnTimeout::Remind), ("escalate", OnTimeout::Escalate), ("auto_approve", OnTimeout::AutoApprove)]
                                            .into_iter()
                                            .map(|(code, t)| {
                                                let sel = n.on_timeout == t;
                                                view! { <option value=code selected=sel>{move || crate::screens::records::timeout_text(i18n, t)}</option> }
                                            })
                                            .collect_view()}
                                    </select>
                                </div>
                                {n.next.iter().enumerate().filter(|(_, e)| e.when.is_some()).map(|(j, e)| view! {
                                    <div class="field wide">
                                        <label for=format!("fd-when-{i}-{j}")>{format!("→ {}", e.to)}</label>
                                        <input id=format!("fd-when-{i}-{j}") type="text" class="mono" value=e.when.clone().unwrap_or_default()
                                            on:input=move |ev| { let v = event_target_value(&ev); update(&|w| w.nodes[i].next[j].when = Some(v.clone())) } />
                                    </div>
                                }).collect_view()}
                                <div class="form-actions wrap">
                                    <button type="button" class="secondary" on:click=move |_| { editing.set(None); reshape(); }>{t!(i18n, builder.done)}</button>
                                    <button type="button" class="secondary" id=format!("fd-add-after-{i}") on:click=move |_| {
                                        update(&|w| add_step_after(w, i));
                                        editing.set(Some(i + 1));
                                        reshape();
                                    }>{t!(i18n, builder.add_step)}</button>
                                    <button type="button" class="link danger" id=format!("fd-remove-{i}") on:click=move |_| {
                                        update(&|w| remove_step(w, i));
                                        editing.set(None);
                                        reshape();
                                    }>{t!(i18n, builder.remove_step)}</button>
                                </div>
                            </div>
                        }
                    })
                };
                view! {
                    <li class="flow-node designer-node" class:item-error=move || !faults.get().is_empty() data-node=id.clone()>
                        <span class="flow-mark" aria-hidden="true">{if is_start { "▶" } else { "↓" }}</span>
                        <div class="flow-body">
                            <div class="builder-line">
                                <strong>{move || text_of(i18n, &label)}</strong>
                                <span class="mono muted">{format!(" {id}")}</span>
                                <button type="button" class="link" id=format!("fd-edit-{i}")
                                    on:click=move |_| editing.set(if editing.get_untracked() == Some(i) { None } else { Some(i) })>{t!(i18n, builder.edit)}</button>
                            </div>
                            {move || faults.get().into_iter().map(|e| view! { <p class="field-error" role="alert">{fault_text(i18n, &e)}</p> }).collect_view()}
                            {lines.into_iter().map(|l| view! { <p class="muted">{l}</p> }).collect_view()}
                            {edit_view}
                        </div>
                    </li>
                }
            })
            .collect_view()
            .into_any()
    };

    view! {
        <div class="designer">
            {ed.head(i18n, "fd-flow", "fd-version", "fd-errors", original, move || t_string!(i18n, builder.flows).to_string())}
            <div class="card">
                <h2>{t!(i18n, builder.nodes)}</h2>
                <ol class="flow-list" id="fd-nodes">{nodes}</ol>
            </div>
            {error_alert(i18n, failure)}
            <div class="form-actions sticky-actions">
                <button type="button" class="primary" id="fd-publish" disabled=move || busy.get() || !dirty.get() on:click=move |_| publish()>
                    {move || if busy.get() { t_string!(i18n, builder.publishing) } else { t_string!(i18n, builder.publish) }}
                </button>
                {move || dirty.get().then(|| view! { <span class="muted">{t!(i18n, builder.unsaved)}</span> })}
                {move || published.get().map(|v| view! {
                    <p class="save-status" role="status" id="fd-published"><span class="check" aria-hidden="true">"✓ "</span>
                        {move || t_string!(i18n, builder.published, v = v.to_string()).to_string()}</p>
                })}
            </div>
        </div>
    }
}
