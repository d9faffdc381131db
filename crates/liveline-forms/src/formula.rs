//! Formulas and conditions: expressions over a record's fields, parsed and evaluated by rhai with exact decimals.
//!
//! The engine takes expressions only (no statements, loops, functions or modules), every name must be a field
//! in scope when the expression is compiled (so a missing field is caught when the definition is checked), and
//! numbers are `Decimal`s: `0.1 + 0.2 == 0.3`. A field with no value counts as 0 (numbers, money) or "" (text).

use liveline_types::forms::{FieldDef, FieldKind, Value};
use rhai::{Array, Dynamic, Engine, Scope, AST};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// Why an expression cannot be used or evaluated, in terms a form builder can show next to the field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExprError {
    /// The expression names a field the form does not have.
    UnknownField(String),
    /// It does not parse; the message is rhai's, with the position.
    Syntax(String),
    /// It parsed but failed on these values (division by zero, overflow, wrong types).
    Eval(String),
    /// It gave something other than what the field needs (a number, a yes/no).
    WrongType,
}

fn engine() -> Engine {
    let mut e = Engine::new_raw();
    e.set_strict_variables(true)
        .set_max_operations(100_000)
        .set_max_expr_depths(64)
        .set_max_string_size(10_000)
        .set_max_array_size(100_000);
    e.register_fn("sum", sum);
    e.register_fn("round", |x: Decimal, dp: i64| {
        x.round_dp(dp.clamp(0, 28) as u32)
    });
    // A share that is 0 while its base is (a margin before the price is typed).
    e.register_fn("ratio", |a: Decimal, b: Decimal| {
        if b.is_zero() {
            Ok(Decimal::ZERO)
        } else {
            a.checked_div(b)
                .ok_or_else(|| Box::<rhai::EvalAltResult>::from("ratio overflows"))
        }
    });
    e.register_fn("min", |a: Decimal, b: Decimal| a.min(b));
    e.register_fn("max", |a: Decimal, b: Decimal| a.max(b));
    e.register_fn("len", |a: Array| a.len() as i64);
    e.register_fn("contains", |a: Array, x: &str| {
        a.iter()
            .any(|v| v.clone().into_immutable_string().is_ok_and(|s| s == x))
    });
    e
}

thread_local! {
    static ENGINE: Engine = engine();
}

/// `sum(rows, "column")`: the total of a sub-table column (numbers and money amounts; empty cells count 0).
fn sum(rows: Array, column: &str) -> Result<Decimal, Box<rhai::EvalAltResult>> {
    let mut total = Decimal::ZERO;
    for row in rows {
        let Some(map) = row.try_cast::<rhai::Map>() else {
            return Err(format!("sum: {column} is not a column of a sub-table").into());
        };
        match map.get(column) {
            Some(v) => {
                let d = as_decimal(v).ok_or_else(|| format!("sum: {column} is not a number"))?;
                total = total
                    .checked_add(d)
                    .ok_or_else(|| format!("sum: {column} overflows"))?;
            }
            None => return Err(format!("sum: no column {column}").into()),
        }
    }
    Ok(total)
}

fn as_decimal(v: &Dynamic) -> Option<Decimal> {
    if let Some(d) = v.clone().try_cast::<Decimal>() {
        return Some(d);
    }
    v.as_int().ok().map(Decimal::from)
}

/// An expression compiled against the names in scope, with the field names it reads.
#[derive(Clone, Debug)]
pub struct Expr {
    ast: AST,
    /// Every field name the expression reads.
    pub reads: BTreeSet<String>,
}

impl Expr {
    /// Compiles `src` where `names` are the fields in scope. Unknown names and syntax errors are refused here.
    pub fn compile<'a>(
        src: &str,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, ExprError> {
        let mut scope = Scope::new();
        for n in names {
            scope.push_dynamic(n.to_string(), Dynamic::UNIT);
        }
        let ast = ENGINE.with(|e| e.compile_expression_with_scope(&scope, src));
        let ast = ast.map_err(|e| match e.err_type() {
            rhai::ParseErrorType::VariableUndefined(name) => ExprError::UnknownField(name.clone()),
            _ => ExprError::Syntax(e.to_string()),
        })?;
        let mut reads = BTreeSet::new();
        ast.walk(&mut |path: &[rhai::ASTNode]| {
            if let Some(rhai::ASTNode::Expr(rhai::Expr::Variable(x, ..))) = path.last() {
                reads.insert(x.1.to_string());
            }
            true
        });
        Ok(Self { ast, reads })
    }

    fn eval(&self, env: &Env<'_>) -> Result<Dynamic, ExprError> {
        let mut scope = Scope::new();
        for name in &self.reads {
            scope.push_dynamic(name.clone(), env.get(name));
        }
        ENGINE
            .with(|e| e.eval_ast_with_scope::<Dynamic>(&mut scope, &self.ast))
            .map_err(|e| ExprError::Eval(e.to_string()))
    }

    /// Evaluates to a number (an integer result becomes a decimal).
    pub fn number(&self, env: &Env<'_>) -> Result<Decimal, ExprError> {
        as_decimal(&self.eval(env)?).ok_or(ExprError::WrongType)
    }

    /// Evaluates to yes or no.
    pub fn truth(&self, env: &Env<'_>) -> Result<bool, ExprError> {
        self.eval(env)?.as_bool().map_err(|_| ExprError::WrongType)
    }
}

/// The values an expression reads: the record's fields, and inside a sub-table its row's columns first.
pub struct Env<'a> {
    pub fields: &'a [FieldDef],
    pub values: &'a BTreeMap<String, Value>,
    /// Inside a sub-table: the row's columns and values.
    pub row: Option<(&'a [FieldDef], &'a BTreeMap<String, Value>)>,
}

impl Env<'_> {
    fn get(&self, name: &str) -> Dynamic {
        if let Some((cols, row)) = self.row {
            if let Some(f) = cols.iter().find(|f| f.key == name) {
                return dynamic(&f.kind, row.get(name));
            }
        }
        match self.fields.iter().find(|f| f.key == name) {
            Some(f) => dynamic(&f.kind, self.values.get(name)),
            None => Dynamic::UNIT,
        }
    }
}

/// A stored value as the expression sees it; missing numbers are 0 and missing text is "".
fn dynamic(kind: &FieldKind, v: Option<&Value>) -> Dynamic {
    match (kind, v) {
        (_, Some(Value::Number(d))) => Dynamic::from_decimal(*d),
        (_, Some(Value::Money(m))) => Dynamic::from_decimal(m.amount),
        (_, Some(Value::Text(s) | Value::Date(s))) => s.clone().into(),
        (_, Some(Value::DateTime(ms))) => Dynamic::from_int(*ms),
        (_, Some(Value::List(l))) => l
            .iter()
            .map(|s| Dynamic::from(s.clone()))
            .collect::<Array>()
            .into(),
        (FieldKind::SubTable { columns }, Some(Value::Rows(rows))) => rows
            .iter()
            .map(|r| {
                let map: rhai::Map = columns
                    .iter()
                    .map(|c| (c.key.as_str().into(), dynamic(&c.kind, r.get(&c.key))))
                    .collect();
                Dynamic::from_map(map)
            })
            .collect::<Array>()
            .into(),
        (FieldKind::Number { .. } | FieldKind::Money | FieldKind::Formula { .. }, None) => {
            Dynamic::from_decimal(Decimal::ZERO)
        }
        (FieldKind::SubTable { .. } | FieldKind::MultiSelect { .. }, _) => Array::new().into(),
        (FieldKind::DateTime, None) => Dynamic::from_int(0),
        _ => Dynamic::from(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use liveline_types::forms::{FormulaResult, Money, Text};

    fn num(key: &str) -> FieldDef {
        FieldDef::new(key, Text::default(), FieldKind::Number { scale: 2 })
    }

    fn eval(
        src: &str,
        fields: &[FieldDef],
        values: &[(&str, Value)],
    ) -> Result<Decimal, ExprError> {
        let values: BTreeMap<String, Value> = values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let e = Expr::compile(src, fields.iter().map(|f| f.key.as_str()))?;
        e.number(&Env {
            fields,
            values: &values,
            row: None,
        })
    }

    #[test]
    fn decimals_are_exact_and_empty_numbers_count_zero() {
        let f = [num("a"), num("b")];
        let d = |s: &str| Value::Number(s.parse().unwrap());
        assert_eq!(
            eval("a + b", &f, &[("a", d("0.1")), ("b", d("0.2"))]),
            Ok("0.3".parse().unwrap())
        );
        assert_eq!(
            eval("a * 100 - 1.5", &f, &[("a", d("0.07"))]),
            Ok("5.5".parse().unwrap())
        );
        assert_eq!(eval("a + b", &f, &[]), Ok(Decimal::ZERO));
    }

    #[test]
    fn money_reads_as_its_amount() {
        let f = [
            FieldDef::new("price", Text::default(), FieldKind::Money),
            num("cost"),
        ];
        let price = Value::Money(Money {
            amount: "19.99".parse().unwrap(),
            currency: "USD".into(),
        });
        assert_eq!(
            eval(
                "price - cost",
                &f,
                &[("price", price), ("cost", Value::Number(5.into()))]
            ),
            Ok("14.99".parse().unwrap())
        );
    }

    #[test]
    fn sums_a_sub_table_column() {
        let lines = FieldDef::new(
            "lines",
            Text::default(),
            FieldKind::SubTable {
                columns: vec![
                    num("qty"),
                    FieldDef::new(
                        "line_total",
                        Text::default(),
                        FieldKind::Formula {
                            expr: "qty * 2".into(),
                            result: FormulaResult::Number { scale: 2 },
                        },
                    ),
                ],
            },
        );
        let row = |t: &str| {
            BTreeMap::from([("line_total".to_string(), Value::Number(t.parse().unwrap()))])
        };
        let v = Value::Rows(vec![row("10.50"), row("4.25"), BTreeMap::new()]);
        assert_eq!(
            eval(
                "sum(lines, \"line_total\")",
                std::slice::from_ref(&lines),
                &[("lines", v)]
            ),
            Ok("14.75".parse().unwrap())
        );
        let err = eval(
            "sum(lines, \"nope\")",
            &[lines],
            &[("lines", Value::Rows(vec![row("1")]))],
        );
        assert!(
            matches!(&err, Err(ExprError::Eval(m)) if m.contains("no column nope")),
            "{err:?}"
        );
    }

    #[test]
    fn refuses_unknown_fields_and_bad_syntax_and_reports_reads() {
        assert_eq!(
            Expr::compile("price - shiping", ["price", "shipping"]).unwrap_err(),
            ExprError::UnknownField("shiping".into())
        );
        assert!(matches!(
            Expr::compile("price -", ["price"]),
            Err(ExprError::Syntax(_))
        ));
        // Statements are not expressions.
        assert!(matches!(
            Expr::compile("let x = 1; x", ["price"]),
            Err(ExprError::Syntax(_))
        ));
        let e = Expr::compile(
            "(price - cost) / max(price, 1) > 0.15 && country == \"US\"",
            ["price", "cost", "country", "x"],
        )
        .unwrap();
        assert_eq!(
            e.reads,
            BTreeSet::from(["price".into(), "cost".into(), "country".into()])
        );
    }

    #[test]
    fn division_by_zero_is_an_error_not_a_panic() {
        let f = [num("a"), num("b")];
        assert!(matches!(
            eval("a / b", &f, &[("a", Value::Number(1.into()))]),
            Err(ExprError::Eval(_))
        ));
    }
}
