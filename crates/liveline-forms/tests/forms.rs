//! Form definitions checked and records validated, through the crate's public API.

use liveline_forms::builtin;
use liveline_forms::{Ctx, Form, Values};
use liveline_types::codes;
use liveline_types::forms::{
    Choice, FieldDef, FieldInput, FieldKind, FormDef, FormulaResult, Money, Text, Value,
};
use liveline_types::FieldError;
use std::collections::BTreeMap;

fn text(s: &str) -> FieldInput {
    FieldInput::Text(s.into())
}

fn input(pairs: Vec<(&str, FieldInput)>) -> BTreeMap<String, FieldInput> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn row(pairs: &[(&str, &str)]) -> BTreeMap<String, FieldInput> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), text(v)))
        .collect()
}

fn ctx_for<'a>(roles: &'a [String], tz: &'a jiff::tz::TimeZone) -> Ctx<'a> {
    static MEMBERS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| vec!["rep-1".into(), "lead-1".into()]);
    Ctx {
        roles,
        members: &MEMBERS,
        tz,
    }
}

/// Validates `input` over `previous` as a sales rep in Shanghai.
fn check(
    form: &FormDef,
    input: BTreeMap<String, FieldInput>,
    previous: &Values,
) -> Result<Values, Vec<FieldError>> {
    check_as(form, input, previous, &["sales_rep"])
}

fn check_as(
    form: &FormDef,
    input: BTreeMap<String, FieldInput>,
    previous: &Values,
    roles: &[&str],
) -> Result<Values, Vec<FieldError>> {
    let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    Form::compile(form).expect("definition is valid").validate(
        &input,
        previous,
        &ctx_for(&roles, &tz),
    )
}

/// The (field, code) pairs of a refusal, for assertions that read like the screen.
fn faults(r: Result<Values, Vec<FieldError>>) -> Vec<(String, String)> {
    r.expect_err("refused")
        .into_iter()
        .map(|e| (e.field, e.error.code))
        .collect()
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_string(), code.to_string())
}

fn money(amount: &str, currency: &str) -> Value {
    Value::Money(Money {
        amount: amount.parse().unwrap(),
        currency: currency.into(),
    })
}

fn order_input(
    lines: Vec<BTreeMap<String, FieldInput>>,
    currency: &str,
) -> BTreeMap<String, FieldInput> {
    input(vec![
        ("customer", text("cust-1")),
        ("sales_rep", text("rep-1")),
        ("currency", text(currency)),
        ("lines", FieldInput::Rows(lines)),
        ("ship_to_name", text("Ana Souza")),
        ("ship_to_address", text("Rua A 1, São Paulo")),
        ("ship_to_country", text("br")),
        ("ship_to_phone", text("11 91234 5678")),
        ("payment_method", text("paypal")),
    ])
}

#[test]
fn every_built_in_form_and_flow_is_valid() {
    let forms = builtin::forms();
    for f in &forms {
        Form::compile(f).unwrap_or_else(|e| panic!("{}: {e:?}", f.id));
    }
    for flow in builtin::flows() {
        let form = forms
            .iter()
            .find(|f| f.id == flow.form)
            .expect("flow's form is built in");
        liveline_forms::Flow::compile(&flow, &Form::compile(form).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e:?}", flow.id));
    }
}

#[test]
fn an_order_computes_line_totals_and_its_total_exactly() {
    let lines = vec![
        row(&[("sku", "sku-1"), ("quantity", "3"), ("unit_price", "19.99")]),
        row(&[("sku", "sku-2"), ("quantity", "1"), ("unit_price", "0.10")]),
        row(&[("sku", "sku-3"), ("quantity", "7"), ("unit_price", "0.20")]),
    ];
    let v = check(
        &builtin::order_form(),
        order_input(lines, "USD"),
        &Values::new(),
    )
    .unwrap();
    let Some(Value::Rows(rows)) = v.get("lines") else {
        panic!("{v:?}")
    };
    assert_eq!(rows[0]["line_total"], money("59.97", "USD"));
    assert_eq!(rows[2]["line_total"], money("1.40", "USD"));
    assert_eq!(v["total"], money("61.47", "USD"));
    // The phone was read with the destination country.
    assert_eq!(v["ship_to_phone"], Value::Text("+5511912345678".into()));
    assert_eq!(v["ship_to_country"], Value::Text("BR".into()));
}

#[test]
fn yen_totals_round_to_whole_yen() {
    let lines = vec![row(&[
        ("sku", "sku-1"),
        ("quantity", "3"),
        ("unit_price", "333.33"),
    ])];
    let v = check(
        &builtin::order_form(),
        order_input(lines, "JPY"),
        &Values::new(),
    )
    .unwrap();
    assert_eq!(v["total"], money("1000", "JPY"));
}

#[test]
fn a_bad_line_is_named_by_its_row_and_column() {
    let lines = vec![
        row(&[("sku", "sku-1"), ("quantity", "2"), ("unit_price", "5")]),
        row(&[
            ("sku", "sku-2"),
            ("quantity", "two"),
            ("unit_price", "5.123"),
        ]),
        row(&[("quantity", "1"), ("unit_price", "1")]),
    ];
    assert_eq!(
        faults(check(
            &builtin::order_form(),
            order_input(lines, "USD"),
            &Values::new()
        )),
        vec![
            pair("lines[1].quantity", codes::NUMBER_INVALID),
            pair("lines[1].unit_price", codes::NUMBER_SCALE)
        ]
    );
    // With the row's numbers fixed, the missing SKU of the third row is named.
    let lines = vec![row(&[("quantity", "1"), ("unit_price", "1")])];
    assert_eq!(
        faults(check(
            &builtin::order_form(),
            order_input(lines, "USD"),
            &Values::new()
        )),
        vec![pair("lines[0].sku", codes::REQUIRED)]
    );
}

#[test]
fn an_order_without_lines_or_with_a_foreign_field_is_refused() {
    let mut i = order_input(vec![], "USD");
    i.insert("discount_code".into(), text("X"));
    assert_eq!(
        faults(check(&builtin::order_form(), i, &Values::new())),
        vec![pair("discount_code", codes::FIELD_UNKNOWN)]
    );
    let i = order_input(vec![], "USD");
    assert_eq!(
        faults(check(&builtin::order_form(), i, &Values::new())),
        vec![pair("lines", codes::REQUIRED)]
    );
}

#[test]
fn profit_and_margin_of_a_product_proposal() {
    let m = |a: &str| FieldInput::Money {
        amount: a.into(),
        currency: "USD".into(),
    };
    let i = input(vec![
        ("product", text("Silk scarf")),
        ("supplier", text("Hangzhou Silk Co")),
        ("price", m("25.00")),
        ("cost", m("12.40")),
        ("shipping", m("3.15")),
        ("platform_fee", m("1.25")),
        ("category_lead", text("lead-1")),
    ]);
    let v = check_as(
        &builtin::product_selection_form(),
        i,
        &Values::new(),
        &["sales_lead"],
    )
    .unwrap();
    assert_eq!(v["profit"], money("8.20", "USD"));
    assert_eq!(v["margin"], Value::Number("32.8".parse().unwrap()));
}

#[test]
fn money_of_two_currencies_in_one_formula_is_refused_naming_both() {
    let i = input(vec![
        ("product", text("Silk scarf")),
        ("supplier", text("Hangzhou Silk Co")),
        (
            "price",
            FieldInput::Money {
                amount: "25".into(),
                currency: "USD".into(),
            },
        ),
        (
            "cost",
            FieldInput::Money {
                amount: "80".into(),
                currency: "cny".into(),
            },
        ),
        ("category_lead", text("lead-1")),
    ]);
    // The cost is hidden from reps: a sales lead fills it.
    let errs = check_as(
        &builtin::product_selection_form(),
        i,
        &Values::new(),
        &["sales_lead"],
    )
    .unwrap_err();
    assert_eq!(errs[0].field, "profit");
    assert_eq!(errs[0].error.code, codes::CURRENCY_MIXED);
    assert_eq!(errs[0].error.args["other"], "CNY");
    assert_eq!(errs[0].error.args["name"], "cost");
}

#[test]
fn a_currency_that_does_not_exist_and_too_many_cents_are_refused() {
    let i = input(vec![(
        "price",
        FieldInput::Money {
            amount: "25".into(),
            currency: "XYZ".into(),
        },
    )]);
    let mut f = builtin::product_selection_form();
    f.fields.retain(|x| x.key == "price");
    f.fields[0].required = false;
    assert_eq!(
        faults(check(&f, i, &Values::new())),
        vec![pair("price", codes::CURRENCY_UNKNOWN)]
    );
    let i = input(vec![(
        "price",
        FieldInput::Money {
            amount: "25.5".into(),
            currency: "JPY".into(),
        },
    )]);
    assert_eq!(
        faults(check(&f, i, &Values::new())),
        vec![pair("price", codes::MONEY_SCALE)]
    );
}

#[test]
fn a_field_only_the_warehouse_writes() {
    let lines = vec![row(&[
        ("sku", "sku-1"),
        ("quantity", "1"),
        ("unit_price", "5"),
    ])];
    let saved = check(
        &builtin::order_form(),
        order_input(lines, "USD"),
        &Values::new(),
    )
    .unwrap();
    let i = input(vec![("tracking_no", text("1Z999"))]);
    assert_eq!(
        faults(check(&builtin::order_form(), i.clone(), &saved)),
        vec![pair("tracking_no", codes::FIELD_READ_ONLY)]
    );
    let shipped = check_as(&builtin::order_form(), i, &saved, &["warehouse"]).unwrap();
    assert_eq!(shipped["tracking_no"], Value::Text("1Z999".into()));
    // The rep may save the order again with the value unchanged.
    check(
        &builtin::order_form(),
        input(vec![("tracking_no", text("1Z999"))]),
        &shipped,
    )
    .unwrap();
    // A computed field is never written by a person.
    assert_eq!(
        faults(check(
            &builtin::order_form(),
            input(vec![("total", text("1"))]),
            &saved
        )),
        vec![pair("total", codes::FIELD_READ_ONLY)]
    );
}

#[test]
fn date_times_are_read_in_the_savers_zone_and_stored_in_utc() {
    let f = FormDef {
        id: "call".into(),
        name: Text::default(),
        version: 1,
        fields: vec![FieldDef::new(
            "call_at",
            Text::default(),
            FieldKind::DateTime,
        )],
    };
    let at = |s: &str| check(&f, input(vec![("call_at", text(s))]), &Values::new());
    let utc_0130 = 1_764_552_600_000; // 2025-12-01T01:30:00Z
    assert_eq!(
        at("2025-12-01T09:30").unwrap()["call_at"],
        Value::DateTime(utc_0130)
    );
    assert_eq!(
        at("2025-12-01T01:30:00Z").unwrap()["call_at"],
        Value::DateTime(utc_0130)
    );
    assert_eq!(
        at("2025-11-30T20:30[America/New_York]").unwrap()["call_at"],
        Value::DateTime(utc_0130)
    );
    assert_eq!(
        faults(at("tomorrow")),
        vec![pair("call_at", codes::DATETIME_INVALID)]
    );
}

fn b2b_form() -> FormDef {
    let mut size = FieldDef::new(
        "company_size",
        Text::new("Company size", "公司规模"),
        FieldKind::Number { scale: 0 },
    )
    .required();
    size.visible_if = Some("buyer_type == \"b2b\"".into());
    FormDef {
        id: "buyer".into(),
        name: Text::default(),
        version: 1,
        fields: vec![
            FieldDef::new(
                "buyer_type",
                Text::default(),
                FieldKind::Select {
                    options: vec![
                        Choice {
                            code: "b2b".into(),
                            label: Text::default(),
                        },
                        Choice {
                            code: "b2c".into(),
                            label: Text::default(),
                        },
                    ],
                },
            )
            .required(),
            size,
        ],
    }
}

#[test]
fn a_hidden_field_is_not_required() {
    let f = b2b_form();
    check(&f, input(vec![("buyer_type", text("b2c"))]), &Values::new()).unwrap();
    assert_eq!(
        faults(check(
            &f,
            input(vec![("buyer_type", text("b2b"))]),
            &Values::new()
        )),
        vec![pair("company_size", codes::REQUIRED)]
    );
}

#[test]
fn old_records_survive_a_new_version_of_their_form() {
    let v1 = builtin::sample_request_form();
    let saved = check(
        &v1,
        input(vec![
            ("product", text("Silk scarf")),
            ("supplier", text("Hangzhou Silk Co")),
            ("quantity", text("2")),
            ("needed_by", text("2026-12-20")),
            ("ship_to_address", text("Studio 3, Yiwu")),
            ("reason", text("Check the colour under studio light")),
        ]),
        &Values::new(),
    )
    .unwrap();
    // Version 2: `reason` removed, a required `incoterm` added.
    let mut v2 = v1.clone();
    v2.version = 2;
    v2.fields
        .iter_mut()
        .find(|f| f.key == "reason")
        .unwrap()
        .removed = true;
    v2.fields.push(
        FieldDef::new(
            "incoterm",
            Text::new("Incoterm", "贸易术语"),
            FieldKind::Text,
        )
        .required(),
    );
    let form = Form::compile(&v2).unwrap();
    // Reading is untouched: the removed field is hidden, its data still there.
    assert!(!form.visible(&saved, &mut Vec::new()).contains("reason"));
    assert_eq!(
        saved["reason"],
        Value::Text("Check the colour under studio light".into())
    );
    // Editing asks for the new field, and keeps the removed one's data.
    let edit = input(vec![("quantity", text("3"))]);
    assert_eq!(
        faults(check(&v2, edit.clone(), &saved)),
        vec![pair("incoterm", codes::REQUIRED)]
    );
    let mut edit = edit;
    edit.insert("incoterm".into(), text("FOB"));
    let v = check(&v2, edit, &saved).unwrap();
    assert_eq!(v["reason"], saved["reason"]);
    assert_eq!(v["quantity"], Value::Number(3.into()));
    // Writing to the removed field is refused: the form no longer has it.
    assert_eq!(
        faults(check(&v2, input(vec![("reason", text("x"))]), &v)),
        vec![pair("reason", codes::FIELD_UNKNOWN)]
    );
}

/// A definition's fault: field, code and arguments.
type Fault = (String, String, Vec<(String, String)>);

/// Compiles a definition expected to be refused; each fault.
fn refused(def: &FormDef) -> Vec<Fault> {
    Form::compile(def)
        .expect_err("refused")
        .into_iter()
        .map(|e| (e.field, e.error.code, e.error.args.into_iter().collect()))
        .collect()
}

fn num(key: &str) -> FieldDef {
    FieldDef::new(key, Text::default(), FieldKind::Number { scale: 2 })
}

fn formula(key: &str, expr: &str) -> FieldDef {
    FieldDef::new(
        key,
        Text::default(),
        FieldKind::Formula {
            expr: expr.into(),
            result: FormulaResult::Number { scale: 2 },
        },
    )
}

fn form(fields: Vec<FieldDef>) -> FormDef {
    FormDef {
        id: "f".into(),
        name: Text::default(),
        version: 1,
        fields,
    }
}

fn arg(k: &str, v: &str) -> Vec<(String, String)> {
    vec![(k.to_string(), v.to_string())]
}

#[test]
fn invalid_definitions_are_refused_naming_the_fault() {
    // A formula reading a field the form does not have.
    assert_eq!(
        refused(&form(vec![
            num("price"),
            formula("profit", "price - shiping")
        ])),
        vec![(
            "profit".into(),
            codes::DEF_EXPR_UNKNOWN_FIELD.into(),
            arg("name", "shiping")
        )]
    );
    // Formulas reading each other in a circle.
    assert_eq!(
        refused(&form(vec![
            formula("a", "b + 1"),
            formula("b", "c * 2"),
            formula("c", "a")
        ])),
        vec![(
            "a".into(),
            codes::DEF_FORMULA_CYCLE.into(),
            arg("cycle", "a → b → c → a")
        )]
    );
    // A formula reading a removed field.
    let mut gone = num("cost");
    gone.removed = true;
    assert_eq!(
        refused(&form(vec![gone, formula("x", "cost")])),
        vec![(
            "x".into(),
            codes::DEF_EXPR_UNKNOWN_FIELD.into(),
            arg("name", "cost")
        )]
    );
    let mut bounds = num("n");
    bounds.min = Some(10.into());
    bounds.max = Some(1.into());
    let mut role = num("m");
    role.read = vec!["intern".into()];
    let mut default = FieldDef::new("e", Text::default(), FieldKind::Email);
    default.default = Some(Value::Text("not an address".into()));
    let nested = FieldDef::new(
        "lines",
        Text::default(),
        FieldKind::SubTable {
            columns: vec![FieldDef::new(
                "inner",
                Text::default(),
                FieldKind::SubTable {
                    columns: vec![num("q")],
                },
            )],
        },
    );
    assert_eq!(
        refused(&form(vec![
            num("Bad Key"),
            num("dup"),
            num("dup"),
            FieldDef::new("s", Text::default(), FieldKind::Select { options: vec![] }),
            FieldDef::new(
                "p",
                Text::default(),
                FieldKind::Formula {
                    expr: "1".into(),
                    result: FormulaResult::Money {
                        currency_of: "dup".into()
                    },
                }
            ),
            bounds,
            role,
            nested,
            formula("syn", "1 +"),
            default,
        ]))
        .into_iter()
        .map(|(f, c, _)| (f, c))
        .collect::<Vec<_>>(),
        vec![
            pair("Bad Key", codes::DEF_KEY_INVALID),
            pair("dup", codes::DEF_KEY_DUPLICATE),
            pair("s", codes::DEF_OPTIONS),
            pair("p", codes::DEF_CURRENCY_OF),
            pair("n", codes::DEF_BOUNDS),
            pair("m", codes::DEF_ROLE_UNKNOWN),
            pair("lines.inner", codes::DEF_SUBTABLE),
            pair("syn", codes::DEF_EXPR_SYNTAX),
        ]
    );
    // The default is checked once the rest is sound.
    let mut default = FieldDef::new("e", Text::default(), FieldKind::Email);
    default.default = Some(Value::Text("not an address".into()));
    assert_eq!(
        refused(&form(vec![default])),
        vec![(
            "e".into(),
            codes::DEF_DEFAULT.into(),
            arg("detail", codes::EMAIL_INVALID)
        )]
    );
}

#[test]
fn a_formula_failing_on_a_record_names_its_field_and_saves_nothing() {
    let f = form(vec![num("a"), num("b"), formula("per_unit", "a / b")]);
    let r = check(
        &f,
        input(vec![("a", text("10")), ("b", text("0"))]),
        &Values::new(),
    );
    let e = r.unwrap_err();
    assert_eq!(
        (e[0].field.as_str(), e[0].error.code.as_str()),
        ("per_unit", codes::FORMULA_FAILED)
    );
    assert!(
        e[0].error.args["detail"].contains("Division by zero"),
        "{:?}",
        e[0].error.args
    );
}

#[test]
fn lead_form_as_data_reads_a_lead_like_the_capture_screen() {
    let v = check(
        &builtin::lead_form(),
        input(vec![
            ("buyer_name", text(" Maria ")),
            ("country", text("mx")),
            ("phone", text("55 1234 5678")),
            ("channel", text("tiktok_live")),
        ]),
        &Values::new(),
    )
    .unwrap();
    assert_eq!(v["phone"], Value::Text("+525512345678".into()));
    assert_eq!(v["buyer_name"], Value::Text("Maria".into()));
    assert_eq!(
        faults(check(
            &builtin::lead_form(),
            input(vec![
                ("buyer_name", text("x")),
                ("country", text("US")),
                ("channel", text("radio")),
                ("email", text("x@"))
            ]),
            &Values::new()
        )),
        vec![
            pair("email", codes::EMAIL_INVALID),
            pair("channel", codes::OPTION_UNKNOWN)
        ]
    );
}

#[test]
fn a_stored_instant_shown_in_a_zone_and_saved_again_keeps_its_value() {
    let def = FormDef {
        id: "call".into(),
        name: Text::new("Call", "通话"),
        version: 1,
        fields: vec![FieldDef::new(
            "at",
            Text::new("When", "时间"),
            FieldKind::DateTime,
        )],
    };
    let form = Form::compile(&def).unwrap();
    let tz = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
    let roles = vec!["sales_rep".to_string()];
    // 2025-12-01 09:30:05.123 UTC, and a whole minute.
    for ms in [1_764_581_405_123_i64, 1_764_581_400_000] {
        let shown = liveline_forms::form::as_input(&Value::DateTime(ms), &tz);
        if ms % 60_000 == 0 {
            assert_eq!(
                shown,
                text("2025-12-01T17:30"),
                "a whole minute is shown as the input shows it"
            );
        }
        let saved = form
            .validate(
                &input(vec![("at", shown)]),
                &Values::new(),
                &ctx_for(&roles, &tz),
            )
            .unwrap();
        assert_eq!(saved["at"], Value::DateTime(ms));
    }
}
