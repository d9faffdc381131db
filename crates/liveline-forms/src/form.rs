//! Form definitions checked and compiled, and records validated against them.
//!
//! `Form::compile` refuses a definition that could not work (a formula naming a missing field, formulas reading
//! each other in a circle, a select with no options) with errors naming the field. A compiled form validates
//! what a person typed: every field normalised (phone to E.164, money to its currency's minor unit, date-times to
//! UTC), formulas computed in dependency order, required fields checked only while visible. A record keeps the
//! values of fields an admin removed, and fields added as required bind a record only when it is next saved.

use crate::formula::{Env, Expr, ExprError};
use liveline_domain::lead::{email_ok, normalize_phone};
use liveline_domain::Role;
use liveline_types::countries::COUNTRIES;
use liveline_types::forms::{
    FieldDef, FieldInput, FieldKind, FormDef, FormulaResult, Money, Value,
};
use liveline_types::{codes, AppError, FieldError};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

pub type Values = BTreeMap<String, Value>;

/// What validation needs to know about the person saving and their team.
pub struct Ctx<'a> {
    /// The saver's role codes in the record's team.
    pub roles: &'a [String],
    /// User ids of the record's team, for user fields.
    pub members: &'a [String],
    /// The saver's time zone, for date-times typed without one.
    pub tz: &'a jiff::tz::TimeZone,
}

pub(crate) fn fault(field: &str, code: &str) -> FieldError {
    FieldError {
        field: field.to_string(),
        error: AppError::new(code),
    }
}

fn fault_with(field: &str, code: &str, key: &str, value: impl Into<String>) -> FieldError {
    FieldError {
        field: field.to_string(),
        error: AppError::new(code).with(key, value),
    }
}

/// An expression's fault as a definition error on `field`.
pub(crate) fn expr_fault(field: &str, e: ExprError) -> FieldError {
    match e {
        ExprError::UnknownField(name) => {
            fault_with(field, codes::DEF_EXPR_UNKNOWN_FIELD, "name", name)
        }
        ExprError::Syntax(d) | ExprError::Eval(d) => {
            fault_with(field, codes::DEF_EXPR_SYNTAX, "detail", d)
        }
        ExprError::WrongType => fault_with(field, codes::DEF_EXPR_SYNTAX, "detail", "wrong type"),
    }
}

/// A formula ready to run: where its value goes and what it reads.
#[derive(Clone, Debug)]
struct Formula {
    key: String,
    expr: Expr,
    result: FormulaResult,
}

/// A checked form definition with its expressions compiled, ready to validate records.
#[derive(Clone, Debug)]
pub struct Form {
    pub def: FormDef,
    /// Top-level formulas, each after the ones it reads.
    formulas: Vec<Formula>,
    /// Per sub-table key: its row formulas in dependency order.
    row_formulas: BTreeMap<String, Vec<Formula>>,
    /// `visible_if` per field key.
    visible_if: BTreeMap<String, Expr>,
}

fn key_ok(k: &str) -> bool {
    let mut c = k.chars();
    k.len() <= 40
        && c.next().is_some_and(|c| c.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Orders `items` (key, what it reads) so each comes after what it reads among them, or returns a cycle.
fn dependency_order(items: &[(String, BTreeSet<String>)]) -> Result<Vec<usize>, Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    fn visit(
        i: usize,
        items: &[(String, BTreeSet<String>)],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        out: &mut Vec<usize>,
    ) -> Result<(), Vec<String>> {
        match marks[i] {
            Mark::Done => return Ok(()),
            Mark::Open => {
                let from = stack.iter().position(|&s| s == i).unwrap_or(0);
                let mut cycle: Vec<String> =
                    stack[from..].iter().map(|&s| items[s].0.clone()).collect();
                cycle.push(items[i].0.clone());
                return Err(cycle);
            }
            Mark::New => {}
        }
        marks[i] = Mark::Open;
        stack.push(i);
        for r in &items[i].1 {
            if let Some(j) = items.iter().position(|(k, _)| k == r) {
                visit(j, items, marks, stack, out)?;
            }
        }
        stack.pop();
        marks[i] = Mark::Done;
        out.push(i);
        Ok(())
    }
    let mut marks = vec![Mark::New; items.len()];
    let mut out = Vec::with_capacity(items.len());
    for i in 0..items.len() {
        visit(i, items, &mut marks, &mut Vec::new(), &mut out)?;
    }
    Ok(out)
}

impl Form {
    /// Checks a definition and compiles its expressions. Every fault is reported, each naming its field.
    pub fn compile(def: &FormDef) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let live: Vec<&FieldDef> = def.fields.iter().filter(|f| !f.removed).collect();
        let top_names: Vec<&str> = live.iter().map(|f| f.key.as_str()).collect();
        let top_formula_keys: BTreeSet<&str> = live
            .iter()
            .filter(|f| matches!(f.kind, FieldKind::Formula { .. }))
            .map(|f| f.key.as_str())
            .collect();
        let mut seen = BTreeSet::new();
        for f in &def.fields {
            if !key_ok(&f.key) {
                errors.push(fault(&f.key, codes::DEF_KEY_INVALID));
            } else if !seen.insert(f.key.as_str()) {
                errors.push(fault(&f.key, codes::DEF_KEY_DUPLICATE));
            }
        }
        let mut formulas = Vec::new();
        let mut row_formulas = BTreeMap::new();
        let mut visible_if = BTreeMap::new();
        for f in &live {
            check_field(f, &f.key, &live, None, &mut errors);
            if let Some(src) = &f.visible_if {
                match Expr::compile(src, top_names.iter().copied()) {
                    Ok(e) => {
                        visible_if.insert(f.key.clone(), e);
                    }
                    Err(e) => errors.push(expr_fault(&f.key, e)),
                }
            }
            match &f.kind {
                FieldKind::Formula { expr, result } => {
                    match Expr::compile(expr, top_names.iter().copied()) {
                        Ok(e) => formulas.push(Formula {
                            key: f.key.clone(),
                            expr: e,
                            result: result.clone(),
                        }),
                        Err(e) => errors.push(expr_fault(&f.key, e)),
                    }
                }
                FieldKind::SubTable { columns } => {
                    let mut col_seen = BTreeSet::new();
                    if columns.is_empty() {
                        errors.push(fault(&f.key, codes::DEF_SUBTABLE));
                    }
                    // A row formula sees its row's columns and the record's entered (not computed) fields.
                    let names: Vec<&str> = columns
                        .iter()
                        .filter(|c| !c.removed)
                        .map(|c| c.key.as_str())
                        .chain(
                            top_names
                                .iter()
                                .copied()
                                .filter(|n| !top_formula_keys.contains(n)),
                        )
                        .collect();
                    let mut rows = Vec::new();
                    for c in columns {
                        let path = format!("{}.{}", f.key, c.key);
                        if !key_ok(&c.key) {
                            errors.push(fault(&path, codes::DEF_KEY_INVALID));
                        } else if !col_seen.insert(c.key.as_str()) {
                            errors.push(fault(&path, codes::DEF_KEY_DUPLICATE));
                        }
                        if c.removed {
                            continue;
                        }
                        if matches!(c.kind, FieldKind::SubTable { .. }) {
                            errors.push(fault(&path, codes::DEF_SUBTABLE));
                        }
                        // Rows live in the record, which everyone who reads the record reads: a hidden column
                        // would not be hidden.
                        if !c.read.is_empty() {
                            errors.push(fault(&path, codes::DEF_COLUMN_READ));
                        }
                        check_field(c, &path, &live, Some(columns), &mut errors);
                        if let FieldKind::Formula { expr, result } = &c.kind {
                            match Expr::compile(expr, names.iter().copied()) {
                                Ok(e) => rows.push(Formula {
                                    key: c.key.clone(),
                                    expr: e,
                                    result: result.clone(),
                                }),
                                Err(e) => errors.push(expr_fault(&path, e)),
                            }
                        }
                    }
                    match order(rows) {
                        Ok(rows) => {
                            row_formulas.insert(f.key.clone(), rows);
                        }
                        Err(cycle) => errors.push(cycle_fault(&f.key, cycle)),
                    }
                }
                _ => {}
            }
        }
        // A value computed from a hidden field, or a field whose showing depends on one, is hidden from at
        // least the same roles: shown to more, it would give the hidden value away.
        for f in &live {
            let mut reads: BTreeSet<&str> = BTreeSet::new();
            if let Some(e) = visible_if.get(&f.key) {
                reads.extend(e.reads.iter().map(String::as_str));
            }
            if let Some(x) = formulas.iter().find(|x| x.key == f.key) {
                reads.extend(x.expr.reads.iter().map(String::as_str));
            }
            for name in reads {
                let Some(input) = live.iter().find(|i| i.key == name) else {
                    continue;
                };
                let narrower = !input.read.is_empty()
                    && (f.read.is_empty() || f.read.iter().any(|r| !input.read.contains(r)));
                if narrower {
                    errors.push(fault_with(&f.key, codes::DEF_HIDDEN_INPUT, "name", name));
                }
            }
        }
        let formulas = match order(formulas) {
            Ok(f) => f,
            Err(cycle) => {
                errors.push(cycle_fault(&cycle[0].clone(), cycle));
                Vec::new()
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        let form = Self {
            def: def.clone(),
            formulas,
            row_formulas,
            visible_if,
        };
        // A default must be a value the field itself accepts.
        for f in &live {
            if let Some(d) = &f.default {
                let probe = Ctx {
                    roles: &[],
                    members: &[],
                    tz: &jiff::tz::TimeZone::UTC,
                };
                if let Err(e) = check_stored(f, d, &probe) {
                    errors.push(fault_with(
                        &f.key,
                        codes::DEF_DEFAULT,
                        "detail",
                        e.error.code,
                    ));
                }
            }
        }
        if errors.is_empty() {
            Ok(form)
        } else {
            Err(errors)
        }
    }

    /// Validates what a person typed, over the record's previous values (empty for a new record).
    ///
    /// `input` holds the fields the form sent; fields it leaves out keep their previous values. Returns the
    /// record's complete new values (formulas computed; removed fields' data kept) or every field error.
    pub fn validate(
        &self,
        input: &BTreeMap<String, FieldInput>,
        previous: &Values,
        ctx: &Ctx<'_>,
    ) -> Result<Values, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut values = previous.clone();
        let creating = previous.is_empty();
        for key in input.keys() {
            if !self.def.fields.iter().any(|f| &f.key == key && !f.removed) {
                errors.push(fault(key, codes::FIELD_UNKNOWN));
            }
        }
        // The country first: a phone is read with it.
        let country_key = self
            .def
            .fields
            .iter()
            .find(|f| !f.removed && f.kind == FieldKind::Country)
            .map(|f| f.key.as_str());
        let mut ordered: Vec<&FieldDef> = self.def.fields.iter().filter(|f| !f.removed).collect();
        ordered.sort_by_key(|f| f.kind != FieldKind::Country);
        for f in ordered {
            let Some(raw) = input.get(&f.key) else {
                if creating {
                    if let Some(d) = &f.default {
                        values.insert(f.key.clone(), d.clone());
                    }
                }
                continue;
            };
            if matches!(f.kind, FieldKind::Formula { .. }) {
                errors.push(fault(&f.key, codes::FIELD_READ_ONLY));
                continue;
            }
            let country = country_key.and_then(|k| match values.get(k) {
                Some(Value::Text(c)) => Some(c.clone()),
                _ => None,
            });
            match parse_field(f, &f.key, raw, country.as_deref(), ctx, &mut errors) {
                Some(v) => {
                    if !may_write(f, ctx.roles) && values.get(&f.key) != Some(&v) {
                        errors.push(fault(&f.key, codes::FIELD_READ_ONLY));
                    } else {
                        values.insert(f.key.clone(), v);
                    }
                }
                None => {
                    if !may_write(f, ctx.roles) && values.contains_key(&f.key) {
                        errors.push(fault(&f.key, codes::FIELD_READ_ONLY));
                    } else {
                        values.remove(&f.key);
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.compute(&mut values, &mut errors);
        let visible = self.visible(&values, &mut errors);
        for f in self.def.fields.iter().filter(|f| !f.removed) {
            if !visible.contains(f.key.as_str()) {
                continue;
            }
            if f.required
                && !matches!(f.kind, FieldKind::Formula { .. })
                // A field hidden from these roles is filled by those who read it.
                && may_read(f, ctx.roles)
                && !values.contains_key(&f.key)
            {
                errors.push(fault(&f.key, codes::REQUIRED));
            }
            if let (FieldKind::SubTable { columns }, Some(Value::Rows(rows))) =
                (&f.kind, values.get(&f.key))
            {
                for (i, row) in rows.iter().enumerate() {
                    for c in columns.iter().filter(|c| c.required && !c.removed) {
                        if !row.contains_key(&c.key) && !matches!(c.kind, FieldKind::Formula { .. })
                        {
                            errors
                                .push(fault(&format!("{}[{i}].{}", f.key, c.key), codes::REQUIRED));
                        }
                    }
                }
            }
        }
        if errors.is_empty() {
            Ok(values)
        } else {
            Err(errors)
        }
    }

    /// The keys of fields shown for these values (not removed, and their `visible_if` holds).
    pub fn visible(&self, values: &Values, errors: &mut Vec<FieldError>) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        for f in self.def.fields.iter().filter(|f| !f.removed) {
            let shown = match self.visible_if.get(&f.key) {
                None => true,
                Some(e) => match e.truth(&self.env(values)) {
                    Ok(b) => b,
                    Err(e) => {
                        errors.push(formula_failed(&f.key, e));
                        true
                    }
                },
            };
            if shown {
                out.insert(f.key.as_str());
            }
        }
        out
    }

    fn env<'a>(&'a self, values: &'a Values) -> Env<'a> {
        Env {
            fields: &self.def.fields,
            values,
            row: None,
        }
    }

    /// Computes every formula into `values`: row formulas of each sub-table first, then the record's.
    pub fn compute(&self, values: &mut Values, errors: &mut Vec<FieldError>) {
        for (table, formulas) in &self.row_formulas {
            let Some(FieldKind::SubTable { columns }) = self
                .def
                .fields
                .iter()
                .find(|f| &f.key == table)
                .map(|f| &f.kind)
            else {
                continue;
            };
            let Some(Value::Rows(mut rows)) = values.remove(table) else {
                continue;
            };
            for (i, row) in rows.iter_mut().enumerate() {
                for f in formulas {
                    let path = format!("{table}[{i}].{}", f.key);
                    let env = Env {
                        fields: &self.def.fields,
                        values,
                        row: Some((columns, row)),
                    };
                    match result_value(f, &env, columns) {
                        Ok(v) => {
                            row.insert(f.key.clone(), v);
                        }
                        Err(e) => errors.push(with_field(e, &path)),
                    }
                }
            }
            values.insert(table.clone(), Value::Rows(rows));
        }
        for f in &self.formulas {
            match result_value(f, &self.env(values), &[]) {
                Ok(v) => {
                    values.insert(f.key.clone(), v);
                }
                Err(e) => errors.push(with_field(e, &f.key)),
            }
        }
    }

    /// The keys of the fields these roles may read (an empty `read` list: everyone).
    pub fn readable(&self, roles: &[String]) -> BTreeSet<&str> {
        self.def
            .fields
            .iter()
            .filter(|f| may_read(f, roles))
            .map(|f| f.key.as_str())
            .collect()
    }

    /// The sets of roles that read the form's hidden fields, each as its record part's `readers` text (role codes
    /// in the domain's order, joined by commas), with the fields it holds.
    pub fn hidden_parts(&self) -> BTreeMap<String, BTreeSet<&str>> {
        let mut out: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
        for f in self.def.fields.iter().filter(|f| !f.read.is_empty()) {
            out.entry(readers_text(&f.read))
                .or_default()
                .insert(f.key.as_str());
        }
        out
    }

    /// The part a field's values are kept in (`None`: the record itself, read by everyone who reads the record).
    pub fn part_of(&self, key: &str) -> Option<String> {
        self.def
            .fields
            .iter()
            .find(|f| f.key == key && !f.read.is_empty())
            .map(|f| readers_text(&f.read))
    }

    /// The keys of the live, non-computed fields these roles may write.
    pub fn writable(&self, roles: &[String]) -> Vec<String> {
        self.def
            .fields
            .iter()
            .filter(|f| !f.removed && !matches!(f.kind, FieldKind::Formula { .. }))
            .filter(|f| may_write(f, roles))
            .map(|f| f.key.clone())
            .collect()
    }
}

/// A stored value as a form shows it for editing: numbers and dates as text, an instant in `tz` without its zone
/// (`2026-12-01T09:30`, which a save reads back in the same zone), rows cell by cell.
pub fn as_input(v: &Value, tz: &jiff::tz::TimeZone) -> FieldInput {
    match v {
        Value::Text(s) | Value::Date(s) => FieldInput::Text(s.clone()),
        Value::Number(n) => FieldInput::Text(n.to_string()),
        Value::Money(m) => FieldInput::Money {
            amount: m.amount.to_string(),
            currency: m.currency.clone(),
        },
        Value::List(l) => FieldInput::Many(l.clone()),
        // Whole minutes as a datetime-local input shows them; seconds only where the value has them, so a
        // record saved again unchanged keeps its instant.
        Value::DateTime(ms) => FieldInput::Text(
            jiff::Timestamp::from_millisecond(*ms)
                .map(|t| {
                    let format = if ms % 60_000 == 0 {
                        "%Y-%m-%dT%H:%M"
                    } else {
                        "%Y-%m-%dT%H:%M:%S%.f"
                    };
                    t.to_zoned(tz.clone()).strftime(format).to_string()
                })
                .unwrap_or_default(),
        ),
        Value::Rows(rows) => FieldInput::Rows(
            rows.iter()
                .map(|r| {
                    r.iter()
                        .map(|(k, v)| (k.clone(), as_input(v, tz)))
                        .collect()
                })
                .collect(),
        ),
    }
}

fn with_field(mut e: FieldError, field: &str) -> FieldError {
    e.field = field.to_string();
    e
}

fn formula_failed(field: &str, e: ExprError) -> FieldError {
    let detail = match e {
        ExprError::Eval(d) | ExprError::Syntax(d) => d,
        ExprError::UnknownField(n) => n,
        ExprError::WrongType => "wrong type".into(),
    };
    fault_with(field, codes::FORMULA_FAILED, "detail", detail)
}

/// A formula's value: rounded to its scale, or to its currency's minor unit; money it reads must share that currency.
fn result_value(f: &Formula, env: &Env<'_>, row_cols: &[FieldDef]) -> Result<Value, FieldError> {
    let n = f.expr.number(env).map_err(|e| formula_failed(&f.key, e))?;
    Ok(match &f.result {
        FormulaResult::Number { scale } | FormulaResult::Percent { scale } => {
            Value::Number(n.round_dp(*scale))
        }
        FormulaResult::Money { currency_of } => {
            let currency = currency_in(env, row_cols, currency_of).unwrap_or_default();
            for name in &f.expr.reads {
                if let Some(other) = currency_in(env, row_cols, name).filter(|c| *c != currency) {
                    return Err(FieldError {
                        field: f.key.clone(),
                        error: AppError::new(codes::CURRENCY_MIXED)
                            .with("currency", currency)
                            .with("other", other)
                            .with("name", name.clone()),
                    });
                }
            }
            let dp = iso_currency::Currency::from_code(&currency)
                .and_then(|c| c.exponent())
                .unwrap_or(2);
            Value::Money(Money {
                amount: n.round_dp(dp as u32),
                currency,
            })
        }
    })
}

/// The currency a money field (or a select of currency codes) holds, in the row first.
fn currency_in(env: &Env<'_>, row_cols: &[FieldDef], name: &str) -> Option<String> {
    let v = match env.row {
        Some((_, row)) if row_cols.iter().any(|c| c.key == name) => row.get(name),
        _ => env.values.get(name),
    };
    match v? {
        Value::Money(m) => Some(m.currency.clone()),
        Value::Text(code) if iso_currency::Currency::from_code(code).is_some() => {
            // Only a select field's code stands for a currency.
            let is_select = env
                .fields
                .iter()
                .chain(row_cols)
                .any(|f| f.key == name && matches!(f.kind, FieldKind::Select { .. }));
            is_select.then(|| code.clone())
        }
        _ => None,
    }
}

/// Whether these roles may write the field: its `write` list allows them (empty: everyone), and they read it (a
/// hidden field is written only by those it is shown to).
pub(crate) fn may_write(f: &FieldDef, roles: &[String]) -> bool {
    (f.write.is_empty() || f.write.iter().any(|r| roles.contains(r))) && may_read(f, roles)
}

pub(crate) fn may_read(f: &FieldDef, roles: &[String]) -> bool {
    f.read.is_empty() || f.read.iter().any(|r| roles.contains(r))
}

/// A set of role codes as a part's `readers` text: the domain's role order, no repeats; unknown codes are left out
/// (a published form has none: compiling refuses them).
pub fn readers_text(roles: &[String]) -> String {
    use liveline_domain::Role;
    let mut known: Vec<Role> = roles.iter().filter_map(|r| Role::from_code(r)).collect();
    known.sort();
    known.dedup();
    Role::join(&known)
}

/// Checks one field's definition apart from its expressions.
fn check_field(
    f: &FieldDef,
    path: &str,
    top: &[&FieldDef],
    row: Option<&[FieldDef]>,
    errors: &mut Vec<FieldError>,
) {
    match &f.kind {
        FieldKind::Select { options } | FieldKind::MultiSelect { options } => {
            if options.is_empty() {
                errors.push(fault(path, codes::DEF_OPTIONS));
            }
            let mut seen = BTreeSet::new();
            for o in options {
                if o.code.trim().is_empty() || !seen.insert(o.code.as_str()) {
                    errors.push(fault_with(
                        path,
                        codes::DEF_OPTIONS,
                        "option",
                        o.code.clone(),
                    ));
                }
            }
        }
        FieldKind::Formula {
            result: FormulaResult::Money { currency_of },
            ..
        } => {
            let holds_currency = |c: &FieldDef| {
                c.key == *currency_of
                    && !c.removed
                    && match &c.kind {
                        FieldKind::Money => true,
                        FieldKind::Select { options } => options
                            .iter()
                            .all(|o| iso_currency::Currency::from_code(&o.code).is_some()),
                        _ => false,
                    }
            };
            let found = row.is_some_and(|cols| cols.iter().any(holds_currency))
                || top.iter().any(|c| holds_currency(c));
            if !found {
                errors.push(fault_with(
                    path,
                    codes::DEF_CURRENCY_OF,
                    "name",
                    currency_of.clone(),
                ));
            }
        }
        _ => {}
    }
    if let (Some(min), Some(max)) = (f.min, f.max) {
        if min > max {
            errors.push(fault(path, codes::DEF_BOUNDS));
        }
    }
    for r in f.read.iter().chain(&f.write) {
        if Role::from_code(r).is_none() {
            errors.push(fault_with(path, codes::DEF_ROLE_UNKNOWN, "role", r.clone()));
        }
    }
}

fn order(formulas: Vec<Formula>) -> Result<Vec<Formula>, Vec<String>> {
    let items: Vec<(String, BTreeSet<String>)> = formulas
        .iter()
        .map(|f| (f.key.clone(), f.expr.reads.clone()))
        .collect();
    let idx = dependency_order(&items)?;
    let mut slots: Vec<Option<Formula>> = formulas.into_iter().map(Some).collect();
    Ok(idx.into_iter().filter_map(|i| slots[i].take()).collect())
}

fn cycle_fault(field: &str, cycle: Vec<String>) -> FieldError {
    fault_with(field, codes::DEF_FORMULA_CYCLE, "cycle", cycle.join(" → "))
}

/// Parses one field as typed; `None` when it was left empty. Errors go to `errors` under `path`.
fn parse_field(
    f: &FieldDef,
    path: &str,
    raw: &FieldInput,
    country: Option<&str>,
    ctx: &Ctx<'_>,
    errors: &mut Vec<FieldError>,
) -> Option<Value> {
    let text = match raw {
        FieldInput::Text(s) => Some(s.trim()),
        _ => None,
    };
    if text == Some("") || matches!(raw, FieldInput::Many(l) if l.is_empty()) {
        return None;
    }
    let mut fail = |code: &str| {
        errors.push(fault(path, code));
        None
    };
    let value = match (&f.kind, raw) {
        (FieldKind::Text | FieldKind::LongText | FieldKind::Attachment, FieldInput::Text(s)) => {
            let s = s.trim();
            let max = f
                .max
                .and_then(|m| usize::try_from(m.trunc().mantissa()).ok())
                .unwrap_or(if f.kind == FieldKind::LongText {
                    5000
                } else {
                    200
                });
            if s.chars().count() > max {
                errors.push(fault_with(path, codes::TOO_LONG, "max", max.to_string()));
                return None;
            }
            Value::Text(s.to_string())
        }
        (FieldKind::Number { scale }, FieldInput::Text(s)) => {
            let n = number(s.trim(), *scale, path, errors)?;
            bounds(f, n, path, errors)?;
            Value::Number(n)
        }
        (FieldKind::Money, FieldInput::Money { amount, currency }) => {
            let currency = currency.trim().to_ascii_uppercase();
            let Some(c) = iso_currency::Currency::from_code(&currency) else {
                errors.push(fault_with(
                    path,
                    codes::CURRENCY_UNKNOWN,
                    "currency",
                    currency,
                ));
                return None;
            };
            if amount.trim().is_empty() {
                return None;
            }
            let dp = c.exponent().unwrap_or(2) as u32;
            let n = match amount.trim().replace(',', "").parse::<Decimal>() {
                Ok(n) => n,
                Err(_) => return fail(codes::NUMBER_INVALID),
            };
            if n.normalize().scale() > dp {
                errors.push(fault_with(
                    path,
                    codes::MONEY_SCALE,
                    "scale",
                    dp.to_string(),
                ));
                return None;
            }
            bounds(f, n, path, errors)?;
            Value::Money(Money {
                amount: n,
                currency,
            })
        }
        (FieldKind::Phone, FieldInput::Text(s)) => match normalize_phone(s.trim(), country) {
            Ok(p) => Value::Text(p),
            Err(e) => {
                errors.push(FieldError {
                    field: path.to_string(),
                    error: e,
                });
                return None;
            }
        },
        (FieldKind::Email, FieldInput::Text(s)) => {
            if !email_ok(s.trim()) {
                return fail(codes::EMAIL_INVALID);
            }
            Value::Text(s.trim().to_string())
        }
        (FieldKind::Select { options }, FieldInput::Text(s)) => {
            if !options.iter().any(|o| o.code == s.trim()) {
                errors.push(fault_with(path, codes::OPTION_UNKNOWN, "option", s.trim()));
                return None;
            }
            Value::Text(s.trim().to_string())
        }
        (FieldKind::MultiSelect { options }, FieldInput::Many(list)) => {
            let mut out: Vec<String> = Vec::new();
            for s in list {
                if !options.iter().any(|o| o.code == s.trim()) {
                    errors.push(fault_with(path, codes::OPTION_UNKNOWN, "option", s.trim()));
                    return None;
                }
                if !out.iter().any(|o| o == s.trim()) {
                    out.push(s.trim().to_string());
                }
            }
            Value::List(out)
        }
        (FieldKind::Country, FieldInput::Text(s)) => {
            let c = s.trim().to_ascii_uppercase();
            if COUNTRIES.binary_search_by(|x| x.0.cmp(c.as_str())).is_err() {
                errors.push(fault_with(path, codes::COUNTRY_UNKNOWN, "country", c));
                return None;
            }
            Value::Text(c)
        }
        (FieldKind::Date, FieldInput::Text(s)) => match s.trim().parse::<jiff::civil::Date>() {
            Ok(d) => Value::Date(d.to_string()),
            Err(_) => return fail(codes::DATE_INVALID),
        },
        (FieldKind::DateTime, FieldInput::Text(s)) => match instant(s.trim(), ctx.tz) {
            Some(ms) => Value::DateTime(ms),
            None => return fail(codes::DATETIME_INVALID),
        },
        (FieldKind::User, FieldInput::Text(s)) => {
            if !ctx.members.iter().any(|m| m == s.trim()) {
                errors.push(fault_with(path, codes::USER_NOT_MEMBER, "user", s.trim()));
                return None;
            }
            Value::Text(s.trim().to_string())
        }
        (FieldKind::Link { .. }, FieldInput::Text(s)) => Value::Text(s.trim().to_string()),
        (FieldKind::SubTable { columns }, FieldInput::Rows(rows)) => {
            let before = errors.len();
            let mut out = Vec::with_capacity(rows.len());
            for (i, row) in rows.iter().enumerate() {
                let mut values = BTreeMap::new();
                for key in row.keys() {
                    if !columns.iter().any(|c| &c.key == key && !c.removed) {
                        errors.push(fault(&format!("{path}[{i}].{key}"), codes::FIELD_UNKNOWN));
                    }
                }
                for c in columns.iter().filter(|c| !c.removed) {
                    let Some(raw) = row.get(&c.key) else { continue };
                    let cpath = format!("{path}[{i}].{}", c.key);
                    if matches!(c.kind, FieldKind::Formula { .. }) {
                        errors.push(fault(&cpath, codes::FIELD_READ_ONLY));
                    } else if let Some(v) = parse_field(c, &cpath, raw, country, ctx, errors) {
                        values.insert(c.key.clone(), v);
                    }
                }
                // A row left wholly empty is not a row.
                if !values.is_empty() {
                    out.push(values);
                }
            }
            if errors.len() > before {
                return None;
            }
            if out.is_empty() {
                return None;
            }
            Value::Rows(out)
        }
        _ => return fail(codes::VALUE_SHAPE),
    };
    Some(value)
}

fn number(s: &str, scale: u32, path: &str, errors: &mut Vec<FieldError>) -> Option<Decimal> {
    match s.replace(',', "").parse::<Decimal>() {
        Ok(n) if n.normalize().scale() <= scale => Some(n),
        Ok(_) => {
            errors.push(fault_with(
                path,
                codes::NUMBER_SCALE,
                "scale",
                scale.to_string(),
            ));
            None
        }
        Err(_) => {
            errors.push(fault(path, codes::NUMBER_INVALID));
            None
        }
    }
}

fn bounds(f: &FieldDef, n: Decimal, path: &str, errors: &mut Vec<FieldError>) -> Option<()> {
    if f.min.is_some_and(|m| n < m) || f.max.is_some_and(|m| n > m) {
        let mut e = AppError::new(codes::NUMBER_RANGE);
        if let Some(m) = f.min {
            e = e.with("min", m.to_string());
        }
        if let Some(m) = f.max {
            e = e.with("max", m.to_string());
        }
        errors.push(FieldError {
            field: path.to_string(),
            error: e,
        });
        return None;
    }
    Some(())
}

/// An instant typed with an offset (`2026-12-01T09:30:00Z`, `…+08:00`), a zone (`…[Asia/Shanghai]`), or
/// neither (then it is read in the saver's zone). UTC milliseconds.
fn instant(s: &str, tz: &jiff::tz::TimeZone) -> Option<i64> {
    if let Ok(t) = s.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond());
    }
    if let Ok(z) = s.parse::<jiff::Zoned>() {
        return Some(z.timestamp().as_millisecond());
    }
    let civil = s.parse::<jiff::civil::DateTime>().ok()?;
    civil
        .to_zoned(tz.clone())
        .ok()
        .map(|z| z.timestamp().as_millisecond())
}

/// Checks a stored value against its field (a default, or a value set by a flow action).
pub fn check_stored(f: &FieldDef, v: &Value, ctx: &Ctx<'_>) -> Result<(), FieldError> {
    if matches!(v, Value::Rows(_)) {
        return Err(fault(&f.key, codes::VALUE_SHAPE));
    }
    let raw = as_input(v, &jiff::tz::TimeZone::UTC);
    let mut errors = Vec::new();
    match parse_field(f, &f.key, &raw, None, ctx, &mut errors) {
        _ if !errors.is_empty() => Err(errors.remove(0)),
        Some(_) => Ok(()),
        None => Err(fault(&f.key, codes::REQUIRED)),
    }
}
