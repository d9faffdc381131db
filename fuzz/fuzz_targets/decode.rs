//! The sync message decoder: any bytes from the network decode to a message or a precise error, never a panic,
//! and whatever decodes encodes back to bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use liveline_sync::{decode, encode, ClientMsg, ServerMsg, MAX_FRAME};

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = decode::<ClientMsg>(data) {
        let again = encode(&msg);
        assert_eq!(decode::<ClientMsg>(&again).expect("re-encoded message decodes"), msg);
    }
    if let Ok(msg) = decode::<ServerMsg>(data) {
        let again = encode(&msg);
        if again.len() <= MAX_FRAME {
            assert_eq!(decode::<ServerMsg>(&again).expect("re-encoded message decodes"), msg);
        }
    }
});
