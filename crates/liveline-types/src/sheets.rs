//! Excel in and out: what the import screen sees of a workbook (columns, a sample, the guessed mapping), the
//! import's progress and its report; and a table the app exports (any list or dashboard table).

use crate::forms::Text;
use crate::AppError;
use serde::{Deserialize, Serialize};

/// A field a column may be imported into.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportField {
    pub key: String,
    pub label: Text,
    pub required: bool,
}

/// A workbook opened for import, before it runs.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportPreview {
    pub job: String,
    pub file_name: String,
    /// The header row's cells, as written.
    pub headers: Vec<String>,
    /// The first rows under the header, as text.
    pub samples: Vec<Vec<String>>,
    /// Data rows under the header.
    pub rows: u64,
    /// Per column: the field it goes to ("" = left out), guessed from the header or remembered from the last
    /// import of a file with the same headers.
    pub mapping: Vec<String>,
    pub fields: Vec<ImportField>,
}

/// Where an import stands. `status`: `mapping` (opened, not started), `running`, `interrupted` (the app was
/// closed while it ran: resume or clear), `done`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportProgress {
    pub job: String,
    pub file_name: String,
    pub status: String,
    pub total: u64,
    /// Rows looked at so far.
    pub done: u64,
    pub imported: u64,
    pub refused: u64,
    pub duplicates: u64,
}

/// A row that was not imported: refused (the error names the field) or a duplicate of a lead already held.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportIssue {
    /// The row's number in the sheet, as the spreadsheet program shows it.
    pub row: u64,
    /// `refused` or `duplicate`.
    pub kind: String,
    /// The field at fault (a refusal), or the field that matched (a duplicate: `phone` or `email`).
    pub field: String,
    pub error: AppError,
    /// The existing lead a duplicate matches.
    pub existing: String,
    /// The row's cells as text.
    pub values: Vec<String>,
}

/// One cell of an exported table. Times are written in the viewer's time zone; money keeps its currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Cell {
    Text(String),
    Int(i64),
    Number(f64),
    /// A share, 0.0 to 1.0, shown as a percentage.
    Percent(f64),
    /// Milliseconds since the Unix epoch.
    Time(i64),
    /// An exact decimal amount as text (`1234.50`) and its currency code.
    Money {
        amount: String,
        currency: String,
    },
    Empty,
}

/// A table to write to a workbook: headers already in the viewer's language.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExportTable {
    /// The file's base name (no extension) and the sheet's name.
    pub title: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// The viewer's IANA time zone (empty: the device's).
    #[serde(default)]
    pub tz: String,
}
