//! Any interleaving of decisions taken on several devices, merged in any order, replays to one state.

use liveline_forms::builtin;
use liveline_forms::{Flow, Form, People, Status, Values};
use liveline_types::forms::{Act, Decision, Money, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

const USERS: [&str; 6] = ["rep", "lead", "boss", "fin1", "fin2", "wh"];

fn team() -> BTreeMap<String, Vec<String>> {
    [
        "sales_rep",
        "sales_lead",
        "manager",
        "finance",
        "finance",
        "warehouse",
    ]
    .iter()
    .zip(USERS)
    .map(|(r, u)| (u.to_string(), vec![r.to_string()]))
    .collect()
}

#[derive(Clone, Debug)]
enum Step {
    /// Device dev lets user user try act act on what the device holds.
    Decide { dev: usize, user: usize, act: u8 },
    /// Device from's log reaches device to.
    Merge { from: usize, to: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..3usize, 0..USERS.len(), 0..8u8).prop_map(|(dev, user, act)| Step::Decide { dev, user, act }),
        1 => (0..3usize, 0..3usize).prop_map(|(from, to)| Step::Merge { from, to }),
    ]
}

fn act(n: u8, other: &str) -> Act {
    match n {
        0 => Act::Submit,
        1 | 2 => Act::Approve,
        3 => Act::Reject { to: None },
        4 => Act::Reject {
            to: Some("sales".into()),
        },
        5 => Act::Transfer { to: other.into() },
        6 => Act::AddApprover { user: other.into() },
        _ => Act::Withdraw,
    }
}

fn union(logs: &[Vec<Decision>]) -> Vec<Decision> {
    let mut all: Vec<Decision> = Vec::new();
    for d in logs.iter().flatten() {
        if !all.iter().any(|x| x.id == d.id) {
            all.push(d.clone());
        }
    }
    all
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    #[test]
    fn devices_converge_whatever_the_interleaving(
        steps in prop::collection::vec(step(), 1..80),
        large in any::<bool>(),
        shuffle_seed in any::<u64>(),
    ) {
        let form = Form::compile(&builtin::order_form()).unwrap();
        let flow = Flow::compile(&builtin::order_flow(), &form).unwrap();
        let roles = team();
        let people = People { roles: &roles };
        let values = Values::from([
            ("sales_rep".to_string(), Value::Text("rep".into())),
            ("currency".to_string(), Value::Text("USD".into())),
            ("total".to_string(), Value::Money(Money { amount: if large { 6000.into() } else { 10.into() }, currency: "USD".into() })),
            ("tracking_no".to_string(), Value::Text("1Z".into())),
        ]);
        let mut logs: Vec<Vec<Decision>> = vec![Vec::new(); 3];
        for (i, s) in steps.iter().enumerate() {
            match *s {
                Step::Decide { dev, user, act: a } => {
                    let st = flow.replay(&logs[dev], &people, &values);
                    let other = USERS[(user + 1) % USERS.len()];
                    let stamp = (format!("{dev}-{i}"), format!("dev{dev}"), 1_000 * i as i64 + dev as i64);
                    if let Ok(d) = flow.decide(&form, &st, &values, USERS[user], act(a, other), (&stamp.0, &stamp.1, stamp.2), "") {
                        logs[dev].push(d);
                    }
                }
                Step::Merge { from, to } => {
                    let merged = union(&[logs[to].clone(), logs[from].clone()]);
                    logs[to] = merged;
                }
            }
        }
        // Every device ends with every decision, each in the order it happened to receive them.
        let mut ends = Vec::new();
        for dev in 0..3 {
            let mut log = logs[dev].clone();
            for other in &logs {
                log = union(&[log, other.clone()]);
            }
            ends.push(flow.replay(&log, &people, &values));
        }
        prop_assert_eq!(&ends[0], &ends[1]);
        prop_assert_eq!(&ends[1], &ends[2]);
        // Any other order, with a decision delivered twice, gives the same state.
        let mut all = union(&logs);
        let mut seed = shuffle_seed;
        for i in (1..all.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            all.swap(i, (seed >> 33) as usize % (i + 1));
        }
        if let Some(first) = all.first().cloned() {
            all.push(first);
        }
        let st = flow.replay(&all, &people, &values);
        prop_assert_eq!(&st, &ends[0]);
        // The state makes sense: a finished flow waits for nobody; every stay but the current one has ended;
        // nodes are entered in step order.
        match st.status {
            Status::Running => prop_assert!(st.waiting.is_some()),
            _ => prop_assert!(st.waiting.is_none()),
        }
        let open = st.visits.iter().filter(|v| v.left_ms.is_none()).count();
        prop_assert_eq!(open, usize::from(st.waiting.is_some()));
        prop_assert!(st.visits.windows(2).all(|w| w[0].step < w[1].step));
        // Every finished order passed the warehouse and told the ERP once.
        if st.status == Status::Approved {
            prop_assert!(st.visits.iter().any(|v| v.node == "warehouse"));
            prop_assert_eq!(st.visits.last().map(|v| v.node.as_str()), Some("notify"));
            prop_assert_eq!(st.effects.len(), 1);
        }
    }
}
