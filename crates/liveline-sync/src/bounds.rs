//! Bounds on a pushed change, checked on its bytes before automerge parses it.
//!
//! automerge inflates a compressed change chunk whole (a 4 MiB frame of zeros inflates to gigabytes), and expands
//! a change's run-length-encoded columns op by op (a run of 2^40 copies takes hours). This walks the chunk's header
//! and columns without expanding anything: a compressed chunk is refused (`sync.compressed_change`; our clients send
//! changes as automerge encodes them, [`uncompressed`]), and so is a change with more bytes, operations or a
//! larger value than [`Limits`] allow (`sync.change_too_large`).

use liveline_types::codes;

/// What one change may hold, sized from real use with room to spare: a 50-line order is about 1,000 operations, an
/// imported lead 40, the largest text a form takes 20,000 characters.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The whole chunk, in bytes.
    pub bytes: usize,
    /// Rows of any column (operations, or the entries of a nested column such as predecessors).
    pub ops: u64,
    /// One value's bytes (a text or byte value).
    pub value: u64,
}

pub const LIMITS: Limits = Limits {
    bytes: 2 * 1024 * 1024,
    ops: 100_000,
    value: 1024 * 1024,
};

/// The largest saved document the server keeps: its snapshot still fits one frame a device accepts.
pub const MAX_DOC_BYTES: usize = 3 * 1024 * 1024;

const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
const CHANGE: u8 = 1;
const COMPRESSED: u8 = 2;

/// Why a change's bytes were refused before parsing: the code the device is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Compressed,
    TooLarge,
    /// Not a change chunk, or its header does not hold together.
    Malformed,
}

impl Refusal {
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Compressed => codes::COMPRESSED_CHANGE,
            Refusal::TooLarge => codes::CHANGE_TOO_LARGE,
            Refusal::Malformed => codes::BAD_CHANGE,
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Refusal> {
        let v = *self.b.get(self.at).ok_or(Refusal::Malformed)?;
        self.at += 1;
        Ok(v)
    }
    fn uleb(&mut self) -> Result<u64, Refusal> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Refusal::Malformed)
    }
    fn sleb(&mut self) -> Result<i64, Refusal> {
        let mut v: i64 = 0;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            if shift < 64 {
                v |= i64::from(b & 0x7f) << shift;
            }
            shift += 7;
            if b & 0x80 == 0 {
                if shift < 64 && b & 0x40 != 0 {
                    v |= -1i64 << shift;
                }
                return Ok(v);
            }
            if shift > 70 {
                return Err(Refusal::Malformed);
            }
        }
    }
    fn skip(&mut self, n: u64) -> Result<(), Refusal> {
        let end = usize::try_from(n)
            .ok()
            .and_then(|n| self.at.checked_add(n))
            .filter(|e| *e <= self.b.len())
            .ok_or(Refusal::Malformed)?;
        self.at = end;
        Ok(())
    }
    fn done(&self) -> bool {
        self.at >= self.b.len()
    }
}

/// Checks a pushed change's bytes against `limits` without expanding them.
pub fn check(bytes: &[u8], limits: &Limits) -> Result<(), Refusal> {
    if bytes.len() > limits.bytes {
        return Err(Refusal::TooLarge);
    }
    if bytes.len() < 9 || bytes[..4] != MAGIC {
        return Err(Refusal::Malformed);
    }
    match bytes[8] {
        COMPRESSED => return Err(Refusal::Compressed),
        CHANGE => {}
        _ => return Err(Refusal::Malformed),
    }
    let mut r = Reader { b: bytes, at: 9 };
    let len = r.uleb()?;
    let start = r.at;
    r.skip(len)?;
    let mut r = Reader {
        b: &bytes[start..r.at],
        at: 0,
    };
    let deps = r.uleb()?;
    r.skip(deps.checked_mul(32).ok_or(Refusal::Malformed)?)?;
    let actor = r.uleb()?;
    r.skip(actor)?;
    r.uleb()?; // seq
    r.uleb()?; // start op
    r.sleb()?; // time
    let message = r.uleb()?;
    r.skip(message)?;
    let others = r.uleb()?;
    if others > r.b.len() as u64 {
        return Err(Refusal::Malformed);
    }
    for _ in 0..others {
        let n = r.uleb()?;
        r.skip(n)?;
    }
    let columns = r.uleb()?;
    if columns > 64 {
        return Err(Refusal::Malformed);
    }
    let mut meta = Vec::with_capacity(columns as usize);
    for _ in 0..columns {
        meta.push((r.uleb()?, r.uleb()?));
    }
    for (spec, len) in meta {
        let from = r.at;
        r.skip(len)?;
        let data = Reader {
            b: &r.b[from..r.at],
            at: 0,
        };
        column(spec, data, limits)?;
    }
    Ok(())
}

/// Counts a column's rows (and, for value metadata, each value's size) without expanding its runs.
fn column(spec: u64, mut r: Reader<'_>, limits: &Limits) -> Result<(), Refusal> {
    // A column's kind is its low three bits; the fourth says deflated, which automerge refuses in a change.
    let kind = spec & 0x7;
    if spec & 0x8 != 0 {
        return Err(Refusal::Malformed);
    }
    let mut rows: u64 = 0;
    let mut add = |n: u64| {
        rows = rows.saturating_add(n);
        if rows > limits.ops {
            Err(Refusal::TooLarge)
        } else {
            Ok(())
        }
    };
    match kind {
        // Raw value bytes: as many as there are, nothing to expand.
        7 => Ok(()),
        // Booleans: alternating run lengths.
        4 => {
            while !r.done() {
                add(r.uleb()?)?;
            }
            Ok(())
        }
        // Run-length encoded: group counts, actors, integers, value metadata (unsigned), deltas (signed), texts.
        0 | 1 | 2 | 3 | 5 | 6 => {
            let value = |r: &mut Reader<'_>| -> Result<(), Refusal> {
                match kind {
                    3 => r.sleb().map(drop),
                    5 => {
                        let n = r.uleb()?;
                        if n > limits.value {
                            return Err(Refusal::TooLarge);
                        }
                        r.skip(n)
                    }
                    6 => {
                        // Value metadata: the value's length in bytes, shifted past its four type bits.
                        if r.uleb()? >> 4 > limits.value {
                            return Err(Refusal::TooLarge);
                        }
                        Ok(())
                    }
                    _ => r.uleb().map(drop),
                }
            };
            while !r.done() {
                let n = r.sleb()?;
                if n > 0 {
                    add(n as u64)?;
                    value(&mut r)?;
                } else if n < 0 {
                    let n = n.unsigned_abs();
                    add(n)?;
                    for _ in 0..n {
                        value(&mut r)?;
                    }
                } else {
                    add(r.uleb()?)?;
                }
            }
            Ok(())
        }
        _ => Err(Refusal::Malformed),
    }
}

/// The hash automerge gives a change chunk (SHA-256 of its type, length and contents), worked out without parsing
/// it, so a refusal names the change and its author's device can take it back. `None` for a compressed or broken
/// chunk, whose hash is that of contents it does not show.
pub fn unparsed_hash(bytes: &[u8]) -> Option<[u8; 32]> {
    use sha2::Digest;
    if bytes.len() < 9 || bytes[..4] != MAGIC || bytes[8] != CHANGE {
        return None;
    }
    let mut r = Reader { b: bytes, at: 9 };
    let len = r.uleb().ok()?;
    let start = r.at;
    r.skip(len).ok()?;
    let mut h = sha2::Sha256::new();
    h.update([CHANGE]);
    let mut n = len;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            h.update([b]);
            break;
        }
        h.update([b | 0x80]);
    }
    h.update(&bytes[start..r.at]);
    Some(h.finalize().into())
}

/// A change's bytes as automerge encodes them, inflated if a client stored them compressed (replicas did until
/// now: their queue may still hold such changes). Only for a device's own changes; the server never inflates.
pub fn uncompressed(bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() > 8 && bytes[..4] == MAGIC && bytes[8] == COMPRESSED {
        if let Ok(c) = automerge::Change::from_bytes(bytes.clone()) {
            return c.raw_bytes().to_vec();
        }
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{AutoCommit, ROOT};

    fn change_of(f: impl FnOnce(&mut AutoCommit)) -> automerge::Change {
        let mut d = AutoCommit::new();
        f(&mut d);
        d.commit();
        d.get_last_local_change().unwrap().clone()
    }

    #[test]
    fn changes_automerge_makes_pass_and_their_compressed_form_does_not() {
        let mut c = change_of(|d| {
            d.put(ROOT, "kind", "lead").unwrap();
            d.put(ROOT, "notes", "x".repeat(5_000)).unwrap();
            let list = d
                .put_object(ROOT, "contacts", automerge::ObjType::List)
                .unwrap();
            for i in 0..200 {
                d.insert(&list, i, i as i64).unwrap();
            }
            d.put(ROOT, "done", true).unwrap();
        });
        assert_eq!(check(c.raw_bytes(), &LIMITS), Ok(()));
        let compressed = c.bytes().into_owned();
        assert_eq!(compressed[8], COMPRESSED);
        assert_eq!(check(&compressed, &LIMITS), Err(Refusal::Compressed));
        // A replica's queued compressed change goes out as automerge encodes it.
        assert_eq!(uncompressed(compressed), c.raw_bytes());
    }

    #[test]
    fn too_many_operations_or_too_large_a_value_is_refused() {
        let c = change_of(|d| {
            let list = d.put_object(ROOT, "l", automerge::ObjType::List).unwrap();
            for i in 0..300 {
                d.insert(&list, i, i as i64).unwrap();
            }
        });
        let small = Limits { ops: 100, ..LIMITS };
        assert_eq!(check(c.raw_bytes(), &small), Err(Refusal::TooLarge));
        let c = change_of(|d| d.put(ROOT, "notes", "y".repeat(2_000)).unwrap());
        let narrow = Limits {
            value: 1_000,
            ..LIMITS
        };
        assert_eq!(check(c.raw_bytes(), &narrow), Err(Refusal::TooLarge));
        let tiny = Limits {
            bytes: 100,
            ..LIMITS
        };
        assert_eq!(check(c.raw_bytes(), &tiny), Err(Refusal::TooLarge));
        // The refusal names the change as automerge does.
        assert_eq!(unparsed_hash(c.raw_bytes()), Some(c.hash().0));
    }

    #[test]
    fn garbage_and_truncated_headers_are_malformed_never_a_panic() {
        assert_eq!(check(&[], &LIMITS), Err(Refusal::Malformed));
        assert_eq!(check(&[1, 2, 3], &LIMITS), Err(Refusal::Malformed));
        let c = change_of(|d| d.put(ROOT, "a", 1).unwrap());
        let raw = c.raw_bytes();
        for cut in 9..raw.len() {
            let _ = check(&raw[..cut], &LIMITS);
        }
    }
}
