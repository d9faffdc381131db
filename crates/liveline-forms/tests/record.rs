//! Three people on three devices take an order through its flow, partly offline, over real automerge documents.

use automerge::AutoCommit;
use liveline_forms::builtin;
use liveline_forms::flow::Outcome;
use liveline_forms::record::{append_decision, decisions, read_values, write_values};
use liveline_forms::{Ctx, Flow, Form, People, State, Status, Values};
use liveline_types::codes;
use liveline_types::forms::{Act, FieldInput, FieldKind, Money, Value};
use std::collections::BTreeMap;

fn team() -> BTreeMap<String, Vec<String>> {
    [
        ("rep", "sales_rep"),
        ("fin1", "finance"),
        ("fin2", "finance"),
        ("wh", "warehouse"),
    ]
    .into_iter()
    .map(|(u, r)| (u.to_string(), vec![r.to_string()]))
    .collect()
}

struct Device {
    doc: AutoCommit,
    user: &'static str,
    roles: Vec<String>,
    clock: i64,
}

struct World {
    form: Form,
    flow: Flow,
    team: BTreeMap<String, Vec<String>>,
}

impl World {
    fn state(&self, d: &Device) -> State {
        self.flow.replay(
            &decisions(&d.doc),
            &People { roles: &self.team },
            &read_values(&d.doc),
        )
    }

    fn edit(&self, d: &mut Device, input: Vec<(&str, FieldInput)>) -> Result<(), Vec<String>> {
        let members: Vec<String> = self.team.keys().cloned().collect();
        let tz = jiff::tz::TimeZone::UTC;
        let before = read_values(&d.doc);
        let input: BTreeMap<String, FieldInput> =
            input.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let after = self
            .form
            .validate(
                &input,
                &before,
                &Ctx {
                    roles: &d.roles,
                    members: &members,
                    tz: &tz,
                },
            )
            .map_err(|e| {
                e.into_iter()
                    .map(|e| format!("{} {}", e.field, e.error.code))
                    .collect::<Vec<_>>()
            })?;
        write_values(
            &mut d.doc,
            &self.form.def.id,
            self.form.def.version,
            &before,
            &after,
        )
        .unwrap();
        d.doc.commit();
        Ok(())
    }

    fn act(&self, d: &mut Device, act: Act) -> Result<(), String> {
        d.clock += 1_000;
        let st = self.state(d);
        let values = read_values(&d.doc);
        let id = format!("{}-{}", d.user, d.clock);
        let dec = self
            .flow
            .decide(
                &self.form,
                &st,
                &values,
                d.user,
                act,
                (&id, d.user, d.clock),
                "",
            )
            .map_err(|e| e.code)?;
        append_decision(&mut d.doc, &dec).unwrap();
        d.doc.commit();
        Ok(())
    }
}

fn device(doc: &mut AutoCommit, user: &'static str, role: &str, n: u8) -> Device {
    let mut doc = doc.fork().with_actor(automerge::ActorId::from(vec![n; 16]));
    doc.commit();
    Device {
        doc,
        user,
        roles: vec![role.to_string()],
        clock: i64::from(n) * 100,
    }
}

fn sync(a: &mut Device, b: &mut Device) {
    a.doc.merge(&mut b.doc).unwrap();
    b.doc.merge(&mut a.doc).unwrap();
}

fn text(s: &str) -> FieldInput {
    FieldInput::Text(s.into())
}

fn line(sku: &str, qty: &str, price: &str) -> BTreeMap<String, FieldInput> {
    [("sku", sku), ("quantity", qty), ("unit_price", price)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), text(v)))
        .collect()
}

#[test]
fn an_order_through_its_flow_on_three_devices_converges() {
    let form = Form::compile(&builtin::order_form()).unwrap();
    let world = World {
        flow: Flow::compile(&builtin::order_flow(), &form).unwrap(),
        form,
        team: team(),
    };
    let mut origin = AutoCommit::new();
    let mut rep = device(&mut origin, "rep", "sales_rep", 1);
    let mut fin = device(&mut origin, "fin1", "finance", 2);
    let mut fin2 = device(&mut origin, "fin2", "finance", 3);

    world
        .edit(
            &mut rep,
            vec![
                ("customer", text("cust-1")),
                ("sales_rep", text("rep")),
                ("currency", text("USD")),
                (
                    "lines",
                    FieldInput::Rows(vec![line("sku-1", "2", "10"), line("sku-2", "1", "4.50")]),
                ),
                ("ship_to_name", text("Ana")),
                ("ship_to_address", text("Rua A 1")),
                ("ship_to_country", text("BR")),
                ("payment_method", text("paypal")),
            ],
        )
        .unwrap();
    world.act(&mut rep, Act::Submit).unwrap();
    world.act(&mut rep, Act::Approve).unwrap();
    sync(&mut rep, &mut fin);
    sync(&mut rep, &mut fin2);
    assert_eq!(world.state(&fin).waiting.unwrap().node, "finance");

    // Offline: the rep changes line 1's quantity, finance changes line 2's price; both finance users decide.
    let mut lines = vec![line("sku-1", "3", "10"), line("sku-2", "1", "4.50")];
    world
        .edit(&mut rep, vec![("lines", FieldInput::Rows(lines.clone()))])
        .unwrap();
    lines = vec![line("sku-1", "2", "10"), line("sku-2", "1", "5.00")];
    world
        .edit(&mut fin, vec![("lines", FieldInput::Rows(lines))])
        .unwrap();
    world.act(&mut fin, Act::Approve).unwrap();
    world.act(&mut fin2, Act::Reject { to: None }).unwrap();

    sync(&mut rep, &mut fin);
    sync(&mut fin, &mut fin2);
    sync(&mut rep, &mut fin2);

    // One state, one trail, on every device.
    let states: Vec<State> = [&rep, &fin, &fin2].iter().map(|d| world.state(d)).collect();
    assert_eq!(states[0], states[1]);
    assert_eq!(states[1], states[2]);
    assert_eq!(
        states[0].status,
        Status::Returned,
        "the rejection beats the approval made at the same step"
    );
    let superseded: Vec<(&str, &str)> = states[0]
        .superseded()
        .map(|e| match &e.outcome {
            Outcome::Superseded(code) => (e.decision.actor.as_str(), *code),
            Outcome::Applied => unreachable!(),
        })
        .collect();
    assert_eq!(superseded, vec![("fin1", codes::FLOW_NOT_PENDING)]);

    // Both line edits survived the merge, cell by cell; the rep saves again and the totals follow.
    let v = read_values(&rep.doc);
    let Value::Rows(rows) = &v["lines"] else {
        panic!()
    };
    assert_eq!(rows[0]["quantity"], Value::Number(3.into()));
    assert_eq!(
        rows[1]["unit_price"],
        Value::Number("5.00".parse().unwrap())
    );
    world
        .edit(&mut rep, vec![("promised", text("Free gift wrap"))])
        .unwrap();
    let v = read_values(&rep.doc);
    assert_eq!(
        v["total"],
        Value::Money(Money {
            amount: "35.00".parse().unwrap(),
            currency: "USD".into()
        })
    );

    // Resubmitted, approved through to shipping; the warehouse's number is on every device.
    world.act(&mut rep, Act::Submit).unwrap();
    world.act(&mut rep, Act::Approve).unwrap();
    sync(&mut rep, &mut fin);
    world.act(&mut fin, Act::Approve).unwrap();
    let mut wh = device(&mut fin.doc, "wh", "warehouse", 4);
    assert_eq!(
        world.act(&mut wh, Act::Approve),
        Err(codes::FLOW_REQUIRES.into())
    );
    world
        .edit(&mut wh, vec![("tracking_no", text("1Z999"))])
        .unwrap();
    world.act(&mut wh, Act::Approve).unwrap();
    sync(&mut wh, &mut rep);
    sync(&mut rep, &mut fin2);
    for d in [&rep, &fin2, &wh] {
        let st = world.state(d);
        assert_eq!(st.status, Status::Approved);
        assert_eq!(
            read_values(&d.doc)["tracking_no"],
            Value::Text("1Z999".into())
        );
    }
    // The document saves and loads again with everything in it.
    let loaded = AutoCommit::load(&rep.doc.save()).unwrap();
    assert_eq!(read_values(&loaded), read_values(&rep.doc));
    assert_eq!(decisions(&loaded).len(), decisions(&rep.doc).len());
}

#[test]
fn lines_added_on_one_device_and_edited_on_another_both_survive() {
    let form = Form::compile(&builtin::order_form()).unwrap();
    let world = World {
        flow: Flow::compile(&builtin::order_flow(), &form).unwrap(),
        form,
        team: team(),
    };
    let mut origin = AutoCommit::new();
    let mut a = device(&mut origin, "rep", "sales_rep", 1);
    let mut b = device(&mut origin, "fin1", "finance", 2);
    let base = vec![line("sku-1", "1", "10"), line("sku-2", "1", "20")];
    world
        .edit(
            &mut a,
            vec![
                ("customer", text("cust-1")),
                ("sales_rep", text("rep")),
                ("currency", text("EUR")),
                ("lines", FieldInput::Rows(base.clone())),
                ("ship_to_name", text("Jan")),
                ("ship_to_address", text("Damrak 1")),
                ("ship_to_country", text("NL")),
                ("payment_method", text("bank_transfer")),
            ],
        )
        .unwrap();
    sync(&mut a, &mut b);
    // Apart: A adds two lines, B changes the second line's quantity.
    let mut more = base.clone();
    more.push(line("sku-3", "2", "1.25"));
    more.push(line("sku-4", "1", "0.75"));
    world
        .edit(&mut a, vec![("lines", FieldInput::Rows(more))])
        .unwrap();
    world
        .edit(
            &mut b,
            vec![(
                "lines",
                FieldInput::Rows(vec![line("sku-1", "1", "10"), line("sku-2", "4", "20")]),
            )],
        )
        .unwrap();
    sync(&mut a, &mut b);
    let Value::Rows(rows) = &read_values(&a.doc)["lines"] else {
        panic!()
    };
    let got: Vec<(String, String)> = rows
        .iter()
        .map(|r| match (&r["sku"], &r["quantity"]) {
            (Value::Text(s), Value::Number(q)) => (s.clone(), q.to_string()),
            other => panic!("{other:?}"),
        })
        .collect();
    let want: Vec<(String, String)> = [
        ("sku-1", "1"),
        ("sku-2", "4"),
        ("sku-3", "2"),
        ("sku-4", "1"),
    ]
    .iter()
    .map(|(s, q)| (s.to_string(), q.to_string()))
    .collect();
    assert_eq!(got, want);
    assert_eq!(read_values(&a.doc), read_values(&b.doc));
    // Removing the last two lines leaves the first two, on both devices.
    world
        .edit(
            &mut a,
            vec![(
                "lines",
                FieldInput::Rows(vec![line("sku-1", "1", "10"), line("sku-2", "4", "20")]),
            )],
        )
        .unwrap();
    sync(&mut a, &mut b);
    let v = read_values(&b.doc);
    let Value::Rows(rows) = &v["lines"] else {
        panic!()
    };
    assert_eq!(rows.len(), 2);
    assert_eq!(
        v["total"],
        Value::Money(Money {
            amount: "90.00".parse().unwrap(),
            currency: "EUR".into()
        })
    );
}

#[test]
fn the_server_judges_each_changed_field_and_cell_by_the_writers_roles() {
    use liveline_forms::record::check_writes;
    let mut def = builtin::order_form();
    // Cost is the warehouse's to fill on each line, in this team's form.
    if let liveline_types::forms::FieldKind::SubTable { columns } = &mut def
        .fields
        .iter_mut()
        .find(|f| f.key == "lines")
        .unwrap()
        .kind
    {
        let mut cost = liveline_types::forms::FieldDef::new(
            "cost",
            liveline_types::forms::Text::new("Cost", "成本"),
            liveline_types::forms::FieldKind::Number { scale: 2 },
        );
        cost.write = vec!["warehouse".into()];
        columns.push(cost);
    }
    let form = Form::compile(&def).unwrap();
    let rep = vec!["sales_rep".to_string()];
    let warehouse = vec!["warehouse".to_string()];
    let mut before = Values::new();
    before.insert("customer".into(), Value::Text("Atlas".into()));
    let row = |price: &str, cost: Option<&str>| {
        let mut r = BTreeMap::new();
        r.insert("sku".to_string(), Value::Text("SKU-1".into()));
        r.insert(
            "unit_price".to_string(),
            Value::Number(price.parse().unwrap()),
        );
        if let Some(c) = cost {
            r.insert("cost".to_string(), Value::Number(c.parse().unwrap()));
        }
        r
    };
    before.insert("lines".into(), Value::Rows(vec![row("9.99", None)]));

    let mut after = before.clone();
    after.insert("customer".into(), Value::Text("Atlas Imports".into()));
    after.insert("lines".into(), Value::Rows(vec![row("12.50", None)]));
    // A computed total the device wrote is not judged.
    after.insert(
        "total".into(),
        Value::Money(Money {
            amount: "12.50".parse().unwrap(),
            currency: "USD".into(),
        }),
    );
    assert_eq!(check_writes(&form, None, &before, &after, &rep), Ok(()));

    let mut tracked = before.clone();
    tracked.insert("tracking_no".into(), Value::Text("1Z".into()));
    let refusal = check_writes(&form, None, &before, &tracked, &rep).unwrap_err();
    assert_eq!(
        (refusal.0.as_str(), refusal.1.code.as_str()),
        ("tracking_no", codes::FIELD_READ_ONLY)
    );
    assert_eq!(
        check_writes(&form, None, &before, &tracked, &warehouse),
        Ok(())
    );

    let mut costed = before.clone();
    costed.insert("lines".into(), Value::Rows(vec![row("9.99", Some("4.00"))]));
    let refusal = check_writes(&form, None, &before, &costed, &rep).unwrap_err();
    assert_eq!(refusal.0, "lines[0].cost");
    // The warehouse may fill the cost cell.
    assert_eq!(
        check_writes(&form, None, &before, &costed, &warehouse),
        Ok(())
    );

    let mut unknown = before.clone();
    unknown.insert("discount_secret".into(), Value::Text("50%".into()));
    assert_eq!(
        check_writes(&form, None, &before, &unknown, &rep)
            .unwrap_err()
            .0,
        "discount_secret"
    );
}

#[test]
fn hidden_fields_are_kept_in_a_part_for_their_readers_and_nowhere_else() {
    use liveline_forms::record::{check_writes, part_id, split};
    let form = Form::compile(&builtin::product_selection_form()).unwrap();
    let readers = "sales_lead,finance,manager,admin";
    let parts = form.hidden_parts();
    assert_eq!(parts.keys().collect::<Vec<_>>(), vec![readers]);
    assert_eq!(
        parts[readers].iter().copied().collect::<Vec<_>>(),
        vec!["cost", "margin", "profit"]
    );
    let (rep, lead) = (
        vec!["sales_rep".to_string()],
        vec!["sales_lead".to_string()],
    );
    let (reps, leads) = (&rep, &lead);
    let usd = |a: &str| FieldInput::Money {
        amount: a.into(),
        currency: "USD".into(),
    };
    let mut input: BTreeMap<String, FieldInput> = [
        ("product", text("Silk scarf")),
        ("supplier", text("Hangzhou Silk")),
        ("price", usd("19.90")),
        ("shipping", usd("1.20")),
        ("platform_fee", usd("0.80")),
        ("category_lead", text("u-lead")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    // A rep proposes without the cost (hidden from reps, so not theirs to fill) and may not type one.
    let members = ["u-lead".to_string()];
    let rep_ctx = Ctx {
        roles: reps,
        members: &members,
        tz: &jiff::tz::TimeZone::UTC,
    };
    let proposed = form.validate(&input, &Values::new(), &rep_ctx).unwrap();
    input.insert("cost".into(), usd("9.00"));
    let refused = form.validate(&input, &Values::new(), &rep_ctx).unwrap_err();
    assert_eq!(refused[0].field, "cost");
    assert_eq!(refused[0].error.code, codes::FIELD_READ_ONLY);
    // The sales lead fills it; the profit and margin follow, and all three go to the part.
    let lead_ctx = Ctx {
        roles: leads,
        ..rep_ctx
    };
    let costed = form.validate(&input, &proposed, &lead_ctx).unwrap();
    let (record, hidden) = split(&form, &costed);
    assert!(record.contains_key("price") && !record.contains_key("cost"));
    assert!(!record.contains_key("profit") && !record.contains_key("margin"));
    assert_eq!(
        hidden[readers].get("profit"),
        Some(&Value::Money(Money {
            amount: "8.90".parse().unwrap(),
            currency: "USD".into()
        }))
    );
    // The server: a hidden value written into the record is refused, even by a role that reads it; in the part it
    // is judged like any field; a shown field written into the part is refused too.
    let refusal = check_writes(&form, None, &proposed, &costed, leads).unwrap_err();
    assert_eq!(refusal.1.code, codes::FIELD_RESTRICTED);
    let before = split(&form, &proposed).1.remove(readers).unwrap();
    let after = hidden[readers].clone();
    assert_eq!(
        check_writes(&form, Some(readers), &before, &after, leads),
        Ok(())
    );
    assert_eq!(
        check_writes(&form, Some(readers), &before, &after, reps)
            .unwrap_err()
            .1
            .code,
        codes::FIELD_READ_ONLY
    );
    let mut smuggled = after.clone();
    smuggled.insert("notes".into(), Value::Text("x".into()));
    assert_eq!(
        check_writes(&form, Some(readers), &after, &smuggled, leads),
        Err((
            "notes".into(),
            liveline_types::AppError::new(codes::FIELD_RESTRICTED)
        ))
    );
    // One part id per record and readers, the same on every device.
    let id = "0190f2a0-0000-7000-8000-000000000001";
    assert_eq!(part_id(id, readers), part_id(id, readers));
    assert_ne!(part_id(id, readers), part_id(id, "finance"));
    assert!(liveline_domain::doc::uuid_bytes::parse(&part_id(id, readers)).is_some());
}

#[test]
fn a_formula_or_condition_on_a_hidden_field_must_be_hidden_as_well() {
    let mut def = builtin::product_selection_form();
    // Margin shown to everyone would give the cost away.
    def.fields
        .iter_mut()
        .find(|f| f.key == "margin")
        .unwrap()
        .read
        .clear();
    let faults = Form::compile(&def).unwrap_err();
    assert_eq!(faults[0].field, "margin");
    assert_eq!(faults[0].error.code, codes::DEF_HIDDEN_INPUT);
    assert_eq!(
        faults[0].error.args.get("name").map(String::as_str),
        Some("profit")
    );
    // Shown only when the cost is high: the showing gives it away as well.
    let mut def = builtin::product_selection_form();
    def.fields
        .iter_mut()
        .find(|f| f.key == "notes")
        .unwrap()
        .visible_if = Some("cost > 10".into());
    let faults = Form::compile(&def).unwrap_err();
    assert_eq!(
        (faults[0].field.as_str(), faults[0].error.code.as_str()),
        ("notes", codes::DEF_HIDDEN_INPUT)
    );
}

#[test]
fn a_sub_table_column_cannot_be_hidden_on_its_own() {
    // Rows are kept in the record itself, so a column hidden from reps would still reach their devices: refused.
    let mut def = builtin::order_form();
    let lines = def
        .fields
        .iter_mut()
        .find(|f| matches!(f.kind, FieldKind::SubTable { .. }))
        .unwrap();
    let FieldKind::SubTable { columns } = &mut lines.kind else {
        unreachable!()
    };
    columns[0].read = vec!["finance".into()];
    let path = format!("{}.{}", lines.key, columns[0].key);
    let faults = Form::compile(&def).unwrap_err();
    assert!(
        faults
            .iter()
            .any(|f| f.field == path && f.error.code == codes::DEF_COLUMN_READ),
        "{faults:?}"
    );
}
