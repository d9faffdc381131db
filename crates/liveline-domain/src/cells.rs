//! Text that a spreadsheet would take for a formula (OWASP's CSV injection advice): a buyer named `=HYPERLINK(…)`
//! typed on a phone must reach a manager's Excel as the text it is, in every export.

/// Whether a spreadsheet program would read `s` as a formula or a command: it starts with `=`, `+`, `-`, `@`, a
/// tab or a carriage return.
pub fn looks_like_formula(s: &str) -> bool {
    matches!(
        s.as_bytes().first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    )
}

/// A CSV field that opens as text: one that looks like a formula gets a leading apostrophe, which Excel and
/// LibreOffice show as the mark of a text cell.
pub fn csv_text(s: &str) -> std::borrow::Cow<'_, str> {
    if looks_like_formula(s) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_spreadsheet_would_run_is_written_as_text() {
        for s in [
            "=1+1",
            "+86 138",
            "-2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "=HYPERLINK(\"http://x\")",
        ] {
            assert!(looks_like_formula(s), "{s:?}");
            assert_eq!(csv_text(s), format!("'{s}"));
        }
        for s in ["Ana", "", "1=1", " =x", "王磊"] {
            assert!(!looks_like_formula(s), "{s:?}");
            assert_eq!(csv_text(s), s);
        }
    }
}
