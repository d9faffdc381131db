//! Shared material for the fuzz targets: real changes made the way a device makes them, so the fuzzer starts from
//! valid automerge bytes and mutates from there instead of guessing the format from nothing.

use automerge::{transaction::Transactable, ActorId, AutoCommit, ReadDoc, ROOT};
use liveline_domain::policy::{Principal, Role};
use liveline_domain::Lead;

/// The device the fuzzed pushes claim to come from, and another one.
pub fn device_actor() -> ActorId {
    ActorId::from(&[7u8; 16][..])
}
pub fn other_actor() -> ActorId {
    ActorId::from(&[9u8; 16][..])
}

pub fn assistant() -> Principal {
    Principal::new("u1", "t1", &[Role::Assistant])
}

/// A lead created by the device, then edited twice (the second edit depends on the first), and a change by
/// another actor: raw change bytes in the order they were made.
pub struct Material {
    pub create: Vec<u8>,
    pub edit: Vec<u8>,
    pub edit2: Vec<u8>,
    pub foreign: Vec<u8>,
    /// The saved document after `create` (what the server holds before the edits).
    pub saved: Vec<u8>,
}

fn last(doc: &mut AutoCommit) -> Vec<u8> {
    doc.commit();
    doc.get_last_local_change()
        .expect("a change was made")
        .raw_bytes()
        .to_vec()
}

pub fn material() -> Material {
    let mut d = AutoCommit::new().with_actor(device_actor());
    let mut lead = Lead {
        kind: "lead".into(),
        team: "t1".into(),
        buyer_name: "Ann".into(),
        created_by: "u1".into(),
        phone: "+4915112345678".into(),
        ..Default::default()
    };
    lead.save_into(&mut d).expect("lead saves");
    let create = last(&mut d);
    let saved = d.save();
    lead.notes = "wants 200 units".into();
    lead.save_into(&mut d).expect("lead saves");
    let edit = last(&mut d);
    d.put(ROOT, "status", "contacted").expect("put");
    let edit2 = last(&mut d);
    let mut o = AutoCommit::load(&saved).expect("loads").with_actor(other_actor());
    o.put(ROOT, "team", "t2").expect("put");
    let foreign = last(&mut o);
    let _ = d.get(ROOT, "team");
    Material {
        create,
        edit,
        edit2,
        foreign,
        saved,
    }
}

/// Splits fuzz input into chunks at a two-byte marker, so one input can carry several changes.
pub fn chunks(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i + 1 < data.len() {
        if data[i] == 0xFE && data[i + 1] == 0xFF {
            out.push(&data[start..i]);
            start = i + 2;
            i += 2;
        } else {
            i += 1;
        }
    }
    out.push(&data[start..]);
    out
}
