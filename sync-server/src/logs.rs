//! Text logs, one line per event: a value that came from a client (a document's form name, a device name) cannot
//! hold a newline that starts a forged line of its own. JSON logs escape on their own.

use std::io::{self, Write};

/// A writer for the text log that escapes carriage returns and newlines inside an event, keeping the one that
/// ends it. The log formatter writes each event in one piece.
pub struct OneLine<W> {
    inner: W,
}

impl OneLine<io::Stdout> {
    pub fn stdout() -> Self {
        OneLine {
            inner: io::stdout(),
        }
    }
}

impl<W: Write> OneLine<W> {
    pub fn new(inner: W) -> Self {
        OneLine { inner }
    }
}

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let body = buf.strip_suffix(b"\n").unwrap_or(buf);
        let mut out = Vec::with_capacity(buf.len() + 8);
        for &b in body {
            match b {
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                _ => out.push(b),
            }
        }
        if body.len() != buf.len() {
            out.push(b'\n');
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_newline_inside_an_event_is_escaped_and_the_last_one_kept() {
        let mut w = OneLine::new(Vec::new());
        w.write_all(b"INFO change refused form=x\nERROR forged\r\n")
            .unwrap();
        w.write_all(b"INFO next\n").unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "INFO change refused form=x\\nERROR forged\\r\nINFO next\n"
        );
    }
}
