//! The pre-parse bounds on a pushed change (`liveline_sync::bounds`): any bytes, never a panic, and what passes
//! them is a change automerge parses with no more operations than the bounds allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liveline_sync::bounds::{check, Limits, LIMITS};

fuzz_target!(|data: &[u8]| {
    // Narrow limits, so the fuzzer reaches them with small inputs.
    let narrow = Limits {
        bytes: LIMITS.bytes,
        ops: 64,
        value: 256,
    };
    if check(data, &narrow).is_ok() {
        if let Ok(c) = automerge::Change::from_bytes(data.to_vec()) {
            assert!(c.len() as u64 <= narrow.ops, "{} operations passed", c.len());
        }
    }
    let _ = check(data, &LIMITS);
    let _ = liveline_sync::bounds::unparsed_hash(data);
});
