//! `replica-writer PATH COUNT`: saves leads into the replica at PATH as fast as it can and prints each saved id
//! on its own line once `save_lead` returned. The crash trials kill it with SIGKILL mid-write and then check that
//! every printed lead is in the reopened replica.

use std::io::Write;

use liveline_replica::replica::Credentials;
use liveline_replica::{now_ms, Replica};
use liveline_types::{LeadInput, SaveOutcome};

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: replica-writer PATH COUNT");
    let count: u64 = args
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(1_000_000);
    let mut replica = Replica::open(std::path::Path::new(&path)).expect("replica opens");
    if replica.credentials().expect("readable").is_none() {
        replica
            .set_credentials(&Credentials {
                server: "http://127.0.0.1:9".into(),
                token: "offline".into(),
                device_id: "5a1e5a1e-0000-4000-8000-000000000001".into(),
                user_id: "u-writer".into(),
                team_id: "demo".into(),
                email: "writer@demo.liveline".into(),
            })
            .expect("credentials saved");
    }
    let stdout = std::io::stdout();
    for i in 0..count {
        let input = LeadInput {
            buyer_name: format!("Crash Buyer {i}"),
            country: "MX".into(),
            phone: format!("55{:08}", 10_000_000 + i % 90_000_000),
            channel: "tiktok_live".into(),
            notes: "x".repeat((i % 7) as usize * 200),
            ..Default::default()
        };
        match replica
            .save_lead(None, &input, now_ms())
            .expect("save works")
        {
            SaveOutcome::Saved { lead } => {
                let mut out = stdout.lock();
                let _ = writeln!(out, "{}", lead.id);
                let _ = out.flush();
            }
            SaveOutcome::Invalid { errors } => panic!("invalid: {errors:?}"),
        }
    }
}
