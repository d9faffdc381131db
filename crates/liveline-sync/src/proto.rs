//! Wire messages between a device and the server, encoded with postcard in binary WebSocket frames.
//!
//! Every frame starts with the protocol version; a frame over [`MAX_FRAME`] is refused before decoding.
//! Messages only grow by adding enum variants at the end, so older peers keep decoding what they know.

use liveline_types::{AppError, MemberView};
use serde::{Deserialize, Serialize};

/// Bumped when a message changes incompatibly.
pub const PROTOCOL_VERSION: u16 = 1;
/// The largest frame either side accepts.
pub const MAX_FRAME: usize = 4 * 1024 * 1024;
/// A push is split so that each frame stays well under [`MAX_FRAME`].
pub const PUSH_BUDGET: usize = 512 * 1024;
/// Log entries or snapshot documents per page the server sends.
pub const PAGE: usize = 500;
/// What a page's documents or changes may add up to: a page is cut there (after at least one item, which the
/// bounds on changes and documents keep under [`MAX_FRAME`]), so no frame exceeds what a device accepts.
pub const PAGE_BYTES: usize = 2 * 1024 * 1024;

/// Cuts a page of `items` where their sizes pass [`PAGE_BYTES`], keeping at least one; whether it cut.
pub fn cut_page<T>(items: &mut Vec<T>, size: impl Fn(&T) -> usize) -> bool {
    let mut total = 0usize;
    let keep = items
        .iter()
        .position(|it| {
            total = total.saturating_add(size(it));
            total > PAGE_BYTES
        })
        .map_or(items.len(), |i| i.max(1));
    let cut = keep < items.len();
    items.truncate(keep);
    cut
}

impl Entry {
    /// Roughly what the entry takes in a frame.
    pub fn size(&self) -> usize {
        self.doc.len()
            + match &self.op {
                EntryOp::Change(b) | EntryOp::Doc(b) => b.len(),
                EntryOp::Remove => 0,
            }
    }
}

/// A change hash, 32 bytes.
pub type Hash = [u8; 32];

/// Where a device stands in one bucket: the last log sequence number it has applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub bucket: String,
    pub seq: u64,
}

/// Changes of one document, in the order they were made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocChanges {
    pub doc: String,
    pub changes: Vec<Vec<u8>>,
}

/// One entry of a bucket's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntryOp {
    /// One automerge change to a document the bucket already holds.
    Change(Vec<u8>),
    /// The whole document (saved bytes): it entered this bucket, or this is a snapshot.
    Doc(Vec<u8>),
    /// The document left this bucket.
    Remove,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub doc: String,
    pub op: EntryOp,
}

/// From a device to the server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMsg {
    /// First message on a connection: where the device stands in each bucket it holds.
    Hello {
        cursors: Vec<Cursor>,
    },
    /// Local changes for the server to judge.
    Push {
        docs: Vec<DocChanges>,
    },
    Ping,
}

/// From the server to a device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerMsg {
    /// Answer to `Hello`: who the device is and which buckets it now holds (the server decides).
    Welcome {
        user_id: String,
        user_name: String,
        role: String,
        team_id: String,
        team_name: String,
        device_id: String,
        buckets: Vec<String>,
        members: Vec<MemberView>,
    },
    /// A page of a bucket's snapshot for a device that has nothing of it yet; `upto` is the log position the
    /// snapshot covers, and becomes the cursor after the last page (`last`).
    Snapshot {
        bucket: String,
        docs: Vec<(String, Vec<u8>)>,
        upto: u64,
        last: bool,
        total: u64,
    },
    /// A page of a bucket's log after the device's cursor; the cursor becomes `upto` once applied.
    Changes {
        bucket: String,
        entries: Vec<Entry>,
        upto: u64,
    },
    /// The device holds everything the bucket had when this was sent.
    CaughtUp {
        bucket: String,
        seq: u64,
    },
    /// These changes are stored; they will not be lost.
    Ack {
        doc: String,
        hashes: Vec<Hash>,
    },
    /// These changes were refused and nobody else received them.
    Refused {
        doc: String,
        hashes: Vec<Hash>,
        path: String,
        error: AppError,
    },
    /// These changes depend on changes the server does not have; send those first.
    MissingDeps {
        doc: String,
        hashes: Vec<Hash>,
        missing: Vec<Hash>,
    },
    /// The connection is refused or ends; `fatal` means do not retry with the same credentials.
    Error {
        error: AppError,
        fatal: bool,
    },
    Pong,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("protocol version {0} is not supported")]
    Version(u16),
    #[error("malformed frame: {0}")]
    Malformed(String),
}

impl DecodeError {
    pub fn to_app_error(&self) -> AppError {
        use liveline_types::codes;
        match self {
            DecodeError::TooLarge(n) => {
                AppError::new(codes::TOO_LARGE).with("bytes", n.to_string())
            }
            DecodeError::Version(v) => AppError::new(codes::VERSION).with("version", v.to_string()),
            DecodeError::Malformed(_) => AppError::new(codes::BAD_MESSAGE),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Frame<T> {
    version: u16,
    msg: T,
}

/// Encodes a message as one frame.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    postcard::to_stdvec(&Frame {
        version: PROTOCOL_VERSION,
        msg,
    })
    .expect("messages always encode")
}

/// Decodes one frame, refusing oversized frames and other versions before looking further.
pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, DecodeError> {
    if bytes.len() > MAX_FRAME {
        return Err(DecodeError::TooLarge(bytes.len()));
    }
    let (version, _) = postcard::take_from_bytes::<u16>(bytes)
        .map_err(|e| DecodeError::Malformed(e.to_string()))?;
    if version != PROTOCOL_VERSION {
        return Err(DecodeError::Version(version));
    }
    let frame: Frame<T> =
        postcard::from_bytes(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    Ok(frame.msg)
}

/// A local change waiting for the server, as the device keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingChange {
    pub doc: String,
    pub hash: Hash,
    pub bytes: Vec<u8>,
}

/// Splits pending changes (in the order they were made) into `Push` messages within [`PUSH_BUDGET`], keeping each
/// document's changes in order and together where they fit.
pub fn plan_push(pending: &[PendingChange]) -> Vec<ClientMsg> {
    let mut msgs = Vec::new();
    let mut docs: Vec<DocChanges> = Vec::new();
    let mut size = 0usize;
    for p in pending {
        if size + p.bytes.len() > PUSH_BUDGET && !docs.is_empty() {
            msgs.push(ClientMsg::Push {
                docs: std::mem::take(&mut docs),
            });
            size = 0;
        }
        size += p.bytes.len() + p.doc.len() + 8;
        match docs.iter_mut().find(|d| d.doc == p.doc) {
            Some(d) => d.changes.push(p.bytes.clone()),
            None => docs.push(DocChanges {
                doc: p.doc.clone(),
                changes: vec![p.bytes.clone()],
            }),
        }
    }
    if !docs.is_empty() {
        msgs.push(ClientMsg::Push { docs });
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let msg = ClientMsg::Hello {
            cursors: vec![Cursor {
                bucket: "team:t1".into(),
                seq: 42,
            }],
        };
        assert_eq!(decode::<ClientMsg>(&encode(&msg)).unwrap(), msg);
    }

    #[test]
    fn the_wire_format_is_stable() {
        // Captured bytes of a Hello of version 1: changing the encoding breaks deployed devices.
        let msg = ClientMsg::Hello {
            cursors: vec![Cursor {
                bucket: "team:t1".into(),
                seq: 300,
            }],
        };
        assert_eq!(
            encode(&msg),
            [1, 0, 1, 7, b't', b'e', b'a', b'm', b':', b't', b'1', 0xac, 0x02]
        );
    }

    #[test]
    fn bad_frames_are_refused_with_a_reason() {
        assert!(matches!(
            decode::<ClientMsg>(&[]),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode::<ClientMsg>(&[1, 9, 9]),
            Err(DecodeError::Malformed(_))
        ));
        assert_eq!(decode::<ClientMsg>(&[7, 0]), Err(DecodeError::Version(7)));
        let huge = vec![1u8; MAX_FRAME + 1];
        let mut sizes = vec![PAGE_BYTES, 1, 1];
        assert!(cut_page(&mut sizes, |s| *s));
        assert_eq!(sizes, [PAGE_BYTES], "the first item fills the page");
        let mut sizes = vec![PAGE_BYTES + 1, 1];
        assert!(cut_page(&mut sizes, |s| *s));
        assert_eq!(sizes, [PAGE_BYTES + 1], "one item always goes");
        let mut sizes = vec![10, 20];
        assert!(!cut_page(&mut sizes, |s| *s));
        assert_eq!(sizes, [10, 20]);
        assert_eq!(
            decode::<ClientMsg>(&huge),
            Err(DecodeError::TooLarge(MAX_FRAME + 1))
        );
    }

    #[test]
    fn push_plan_keeps_order_and_budget() {
        let p = |doc: &str, n: usize| PendingChange {
            doc: doc.into(),
            hash: [0; 32],
            bytes: vec![0; n],
        };
        let pending = [
            p("a", 10),
            p("b", 10),
            p("a", 20),
            p("c", PUSH_BUDGET - 40),
            p("c", 5),
        ];
        let plan = plan_push(&pending);
        let shape: Vec<Vec<(String, Vec<usize>)>> = plan
            .iter()
            .map(|m| match m {
                ClientMsg::Push { docs } => docs
                    .iter()
                    .map(|d| (d.doc.clone(), d.changes.iter().map(|c| c.len()).collect()))
                    .collect(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                vec![("a".into(), vec![10, 20]), ("b".into(), vec![10])],
                vec![("c".into(), vec![PUSH_BUDGET - 40, 5])],
            ]
        );
    }
}
