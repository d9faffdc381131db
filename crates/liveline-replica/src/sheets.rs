//! Excel in and out. Import reads `.xlsx`, `.xls` (calamine) and `.csv` (csv) files as such teams keep them:
//! the first sheet, a header row in Chinese or English, merged cells meaning "the same for every row below";
//! each row becomes a lead through the same validation as the capture form, committed in chunks with the job's
//! progress. Export writes any table to `.xlsx` (rust_xlsxwriter). Nothing here parses a file format by hand.

use crate::forms::LeadChecker;
use crate::replica::{build_new_lead, insert_new_lead, NewLead, Replica, ReplicaError, Result};
use liveline_domain::{validate_lead, Lead, ValidationContext};
use liveline_types::countries::COUNTRIES;
use liveline_types::forms::{FieldInput, Text};
use liveline_types::sheets::{
    Cell, ExportTable, ImportField, ImportIssue, ImportPreview, ImportProgress,
};
use liveline_types::{codes, AppError, FieldError, LeadInput};
use rusqlite::{params, OptionalExtension};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Files larger than this are refused before they are read.
pub const MAX_IMPORT_BYTES: u64 = 50 * 1024 * 1024;
/// Rows committed together (with the job's progress).
pub const CHUNK: usize = 1_000;
/// Rows a worker checks and builds before handing them to the writer.
const BATCH: usize = 100;
/// Threads that check rows and build documents (the writer is a third).
const WORKERS: usize = 2;
/// Rows shown under the headers when mapping.
const SAMPLES: usize = 5;

/// The first sheet as text: the header row and the rows under it.
#[derive(Debug, Default)]
pub struct Table {
    pub headers: Vec<String>,
    /// (row number as the spreadsheet shows it, cells).
    pub rows: Vec<(u64, Vec<String>)>,
    /// Cells that hold a formula: (index into `rows`, column).
    pub formulas: HashSet<(usize, usize)>,
}

fn invalid(code: &str) -> ReplicaError {
    ReplicaError::Invalid(AppError::new(code))
}

fn unreadable(detail: impl Into<String>) -> ReplicaError {
    ReplicaError::Invalid(AppError::new(codes::IMPORT_UNREADABLE).with("detail", detail.into()))
}

/// A spreadsheet column's letters (0 -> A, 27 -> AB).
pub fn column_name(mut c: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (c % 26) as u8);
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

fn cell_text(d: &calamine::Data) -> String {
    use calamine::Data;
    match d {
        Data::Empty => String::new(),
        // Phone numbers typed into a number cell come back as floats: keep their digits.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::String(s) => s.trim().to_string(),
        // A date cell holds a serial number of days; written out as the date (and time, when it has one) it is.
        Data::DateTime(d) if d.is_datetime() => {
            let (y, mo, day, h, mi, sec, _) = d.to_ymd_hms_milli();
            if (h, mi, sec) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{day:02}")
            } else {
                format!("{y:04}-{mo:02}-{day:02}T{h:02}:{mi:02}:{sec:02}")
            }
        }
        Data::DateTimeIso(s) => s.strip_suffix("T00:00:00").unwrap_or(s).to_string(),
        other => other.to_string().trim().to_string(),
    }
}

/// A date typed as text, as `YYYY-MM-DD` when it is written year first (`2026/3/5`, `2026.03.05`,
/// `2026年3月5日`, with a time after it for a date-time field); None when it is not, or could be read two ways
/// (`05/03/2026`): the form then refuses it by name rather than guess.
pub fn date_text(s: &str, with_time: bool) -> Option<String> {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) if with_time => (d, Some(t.trim())),
        Some(_) => return None,
        None => (s, None),
    };
    let parts: Vec<&str> = date
        .trim_end_matches('日')
        .split(['-', '/', '.', '年', '月'])
        .collect();
    let [y, m, d] = parts[..] else {
        return None;
    };
    if y.len() != 4
        || [y, m, d]
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let date = jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?).ok()?;
    match time {
        None => Some(date.to_string()),
        Some(t) => {
            let t: jiff::civil::Time = t.parse().ok()?;
            Some(date.to_datetime(t).to_string())
        }
    }
}

/// Reads the first sheet of a workbook or CSV file. `name` gives the format by its extension.
pub fn read_table(path: &Path, name: &str) -> Result<Table> {
    let size = std::fs::metadata(path)
        .map_err(|e| unreadable(e.to_string()))?
        .len();
    if size > MAX_IMPORT_BYTES {
        return Err(ReplicaError::Invalid(
            AppError::new(codes::IMPORT_TOO_LARGE)
                .with("max_mb", (MAX_IMPORT_BYTES >> 20).to_string()),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let ext = name.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    let (grid, formulas) = if ext == "csv" {
        (read_csv(&bytes)?, HashSet::new())
    } else {
        read_workbook(bytes)?
    };
    // The header is the first row with something in it; empty rows below are skipped.
    let Some(h) = grid.iter().position(|r| r.iter().any(|c| !c.is_empty())) else {
        return Err(invalid(codes::IMPORT_EMPTY));
    };
    let width = grid.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut headers = grid[h].clone();
    headers.resize(width, String::new());
    let mut by_row: HashMap<usize, Vec<usize>> = HashMap::new();
    for (r, c) in &formulas {
        by_row.entry(*r).or_default().push(*c);
    }
    let mut rows = Vec::new();
    let mut formula_cells = HashSet::new();
    for (i, r) in grid.iter().enumerate().skip(h + 1) {
        if r.iter().all(|c| c.is_empty()) {
            continue;
        }
        for c in by_row.get(&i).into_iter().flatten() {
            formula_cells.insert((rows.len(), *c));
        }
        let mut cells = r.clone();
        cells.resize(width, String::new());
        rows.push((i as u64 + 1, cells));
    }
    if rows.is_empty() {
        return Err(invalid(codes::IMPORT_EMPTY));
    }
    Ok(Table {
        headers,
        rows,
        formulas: formula_cells,
    })
}

fn read_csv(bytes: &[u8]) -> Result<Vec<Vec<String>>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| unreadable("the CSV file is not UTF-8 text; save it as CSV UTF-8"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut grid = Vec::new();
    for rec in rd.records() {
        let rec = rec.map_err(|e| unreadable(e.to_string()))?;
        grid.push(rec.iter().map(|c| c.trim().to_string()).collect());
    }
    Ok(grid)
}

/// The first sheet of an Excel workbook, with merged regions filled from their first cell, and where formulas are.
#[allow(clippy::type_complexity)]
fn read_workbook(bytes: Vec<u8>) -> Result<(Vec<Vec<String>>, HashSet<(usize, usize)>)> {
    // Where the formulas are takes a second pass over the sheet: it runs on another thread meanwhile.
    std::thread::scope(|s| {
        let formulas = s.spawn(|| formula_cells(&bytes));
        let grid = read_values(&bytes)?;
        let formulas = formulas.join().unwrap_or_default();
        Ok((grid, formulas))
    })
}

/// The cells of the first sheet that hold a formula (none when the sheet cannot be read: the values pass says why).
fn formula_cells(bytes: &[u8]) -> HashSet<(usize, usize)> {
    use calamine::Reader;
    let mut formulas = HashSet::new();
    let Ok(mut book) = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)) else {
        return formulas;
    };
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return formulas;
    };
    if let Ok(f) = book.worksheet_formula(&sheet) {
        if let Some((fr, fc)) = f.start() {
            for (r, c, v) in f.used_cells() {
                if !v.is_empty() {
                    formulas.insert((fr as usize + r, fc as usize + c));
                }
            }
        }
    }
    formulas
}

/// The first sheet's values, merged regions filled from their first cell.
fn read_values(bytes: &[u8]) -> Result<Vec<Vec<String>>> {
    use calamine::{Reader, Sheets};
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| unreadable(e.to_string()))?;
    let Some(sheet) = book.sheet_names().first().cloned() else {
        return Err(invalid(codes::IMPORT_EMPTY));
    };
    let range = book
        .worksheet_range(&sheet)
        .map_err(|e| unreadable(e.to_string()))?;
    let Some((r0, c0)) = range.start() else {
        return Err(invalid(codes::IMPORT_EMPTY));
    };
    let (r0, c0) = (r0 as usize, c0 as usize);
    // Absolute sheet coordinates, so row numbers match what the spreadsheet shows.
    let mut grid: Vec<Vec<String>> = vec![Vec::new(); r0];
    for row in range.rows() {
        let mut cells = vec![String::new(); c0];
        cells.extend(row.iter().map(cell_text));
        grid.push(cells);
    }
    let merged = match &mut book {
        Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(&sheet).unwrap_or_default(),
        Sheets::Xls(x) => x.merge_cells_by_sheet_name(&sheet).unwrap_or_default(),
        _ => Vec::new(),
    };
    for m in merged {
        let (top, left) = (m.start.0 as usize, m.start.1 as usize);
        let Some(value) = grid.get(top).and_then(|r| r.get(left)).cloned() else {
            continue;
        };
        for r in top..=(m.end.0 as usize).min(grid.len().saturating_sub(1)) {
            for c in left..=m.end.1 as usize {
                let row = &mut grid[r];
                if row.len() <= c {
                    row.resize(c + 1, String::new());
                }
                if row[c].is_empty() {
                    row[c] = value.clone();
                }
            }
        }
    }
    Ok(grid)
}

/// Header words that name each field, in English and Chinese (compared without case, spaces or punctuation).
const SYNONYMS: &[(&str, &[&str])] = &[
    (
        "buyer_name",
        &[
            "buyer",
            "buyername",
            "name",
            "customer",
            "customername",
            "contactname",
            "fullname",
            "姓名",
            "买家",
            "买家姓名",
            "客户",
            "客户名称",
            "客户姓名",
            "联系人",
            "名字",
        ],
    ),
    (
        "company",
        &[
            "company",
            "companyname",
            "organisation",
            "organization",
            "公司",
            "公司名称",
            "单位",
        ],
    ),
    (
        "country",
        &[
            "country",
            "countryregion",
            "region",
            "国家",
            "国家地区",
            "地区",
            "国别",
        ],
    ),
    (
        "phone",
        &[
            "phone",
            "phonenumber",
            "mobile",
            "tel",
            "telephone",
            "cell",
            "电话",
            "手机",
            "手机号",
            "手机号码",
            "电话号码",
            "联系电话",
        ],
    ),
    (
        "email",
        &[
            "email",
            "mail",
            "emailaddress",
            "邮箱",
            "电子邮件",
            "电子邮箱",
            "邮件",
        ],
    ),
    ("whatsapp", &["whatsapp", "whatsappnumber", "wa"]),
    ("wechat", &["wechat", "wechatid", "微信", "微信号"]),
    (
        "channel",
        &["channel", "source", "platform", "渠道", "来源", "平台"],
    ),
    (
        "product_interest",
        &[
            "product",
            "products",
            "interest",
            "productinterest",
            "产品",
            "意向产品",
            "感兴趣产品",
            "商品",
        ],
    ),
    (
        "quantity",
        &["quantity", "qty", "amount", "数量", "意向数量"],
    ),
    ("language", &["language", "lang", "语言"]),
    (
        "notes",
        &[
            "notes", "note", "remark", "remarks", "comment", "comments", "备注", "说明",
        ],
    ),
];

fn normalize(h: &str) -> String {
    h.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect::<String>()
        .replace("必填", "")
}

/// The field each column most likely holds ("" when none), each field used once.
pub fn guess_mapping(headers: &[String], extra: &[ImportField]) -> Vec<String> {
    let mut used = HashSet::new();
    headers
        .iter()
        .map(|h| {
            let n = normalize(h);
            let hit = SYNONYMS
                .iter()
                .find(|(_, words)| words.contains(&n.as_str()))
                .map(|(k, _)| k.to_string())
                .or_else(|| {
                    extra
                        .iter()
                        .find(|f| {
                            n == normalize(&f.key)
                                || n == normalize(&f.label.en)
                                || n == normalize(&f.label.zh)
                        })
                        .map(|f| f.key.clone())
                });
            match hit {
                Some(k) if used.insert(k.clone()) => k,
                _ => String::new(),
            }
        })
        .collect()
}

/// The fields a column can go to: the lead's own, then those an admin added to the lead form.
fn base_fields() -> Vec<ImportField> {
    let f = |key: &str, en: &str, zh: &str, required: bool| ImportField {
        key: key.into(),
        label: Text::new(en, zh),
        required,
    };
    vec![
        f("buyer_name", "Buyer name", "买家姓名", true),
        f("company", "Company", "公司", false),
        f("country", "Country", "国家/地区", true),
        f("phone", "Phone", "电话", false),
        f("email", "E-mail", "邮箱", false),
        f("whatsapp", "WhatsApp", "WhatsApp", false),
        f("wechat", "WeChat", "微信", false),
        f("channel", "Channel", "渠道", false),
        f("product_interest", "Product interest", "意向产品", false),
        f("quantity", "Quantity", "数量", false),
        f("language", "Language", "语言", false),
        f("notes", "Notes", "备注", false),
    ]
}

/// A country cell as a code: `DE`, `Germany` or `德国`.
fn country_code(v: &str) -> String {
    let t = v.trim();
    if let Some(c) = COUNTRIES
        .iter()
        .find(|c| c.0.eq_ignore_ascii_case(t) || c.1.eq_ignore_ascii_case(t) || c.2 == t)
    {
        return c.0.to_string();
    }
    t.to_string()
}

/// A channel cell as a code: the code itself or a common name.
fn channel_code(v: &str) -> String {
    let n = normalize(v);
    let code = match n.as_str() {
        "" => "other",
        "tiktok" | "tiktoklive" | "tiktok直播" => "tiktok_live",
        "alibaba" | "alibabalive" | "阿里巴巴" | "阿里国际站" | "阿里巴巴直播" => {
            "alibaba_live"
        }
        "facebook" | "fb" | "脸书" => "facebook",
        "youtube" | "油管" => "youtube",
        "instagram" | "ins" => "instagram",
        "other" | "其他" => "other",
        _ => return v.trim().replace(' ', "_").to_ascii_lowercase(),
    };
    code.to_string()
}

fn row_input(mapping: &[String], cells: &[String], dates: &HashMap<String, bool>) -> LeadInput {
    let mut input = LeadInput {
        channel: "other".into(),
        ..Default::default()
    };
    for (key, v) in mapping.iter().zip(cells) {
        let v = v.trim();
        match key.as_str() {
            "" => {}
            "buyer_name" => input.buyer_name = v.into(),
            "company" => input.company = v.into(),
            "country" => input.country = country_code(v),
            "phone" => input.phone = v.into(),
            "email" => input.email = v.into(),
            "whatsapp" | "wechat" if !v.is_empty() && input.contact.is_empty() => {
                input.contact_kind = key.clone();
                input.contact = v.into();
            }
            "whatsapp" | "wechat" => {}
            "channel" => input.channel = channel_code(v),
            "product_interest" => input.product_interest = v.into(),
            "quantity" => input.quantity = v.into(),
            "language" => input.language = v.into(),
            "notes" => input.notes = v.into(),
            extra => {
                let v = match dates.get(extra) {
                    Some(with_time) => date_text(v, *with_time).unwrap_or_else(|| v.to_string()),
                    None => v.to_string(),
                };
                input.extra.insert(extra.to_string(), FieldInput::Text(v));
            }
        }
    }
    input
}

/// The parsed file of the running job and the phones and e-mails already held, kept between chunks.
pub(crate) struct ImportCache {
    job: String,
    table: Arc<Table>,
    /// E.164 phone or lower-case e-mail -> the lead that has it.
    seen: HashMap<String, String>,
}

/// A row checked and, when valid, built into its lead's document.
enum Prepared {
    /// A lead built from the table's row `at` (its cells are copied only if it turns out a duplicate).
    Lead {
        lead: Box<NewLead>,
        at: usize,
    },
    Issue(ImportIssue),
}

/// Checks one row like the capture form (a mapped cell holding a formula is refused by its cell) and builds the
/// new lead's document. Pure: runs on any thread.
#[allow(clippy::too_many_arguments)]
fn prepare(
    table: &Table,
    i: usize,
    mapping: &[String],
    ctx: &ValidationContext<'_>,
    checker: &LeadChecker,
    actor: &automerge::ActorId,
    creds: &crate::replica::Credentials,
    now: i64,
) -> Prepared {
    let (row, cells) = &table.rows[i];
    let refused = |field: &str, error: AppError| {
        Prepared::Issue(ImportIssue {
            row: *row,
            kind: "refused".into(),
            field: field.into(),
            error,
            existing: String::new(),
            values: cells.clone(),
        })
    };
    if let Some(col) =
        (0..cells.len()).find(|c| table.formulas.contains(&(i, *c)) && !mapping[*c].is_empty())
    {
        let cell = format!("{}{}", column_name(col), row);
        return refused(
            &mapping[col],
            AppError::new(codes::IMPORT_FORMULA).with("cell", cell),
        );
    }
    let input = row_input(mapping, cells, &checker.dates);
    let (fields, extra) = match (validate_lead(&input, ctx), checker.extras(&input)) {
        (Ok(f), Ok(extra)) => (f, extra),
        (domain, form) => {
            let mut errors: Vec<FieldError> = domain.err().unwrap_or_default();
            errors.extend(form.err().unwrap_or_default());
            let e = errors.into_iter().next().unwrap_or_else(|| FieldError {
                field: String::new(),
                error: AppError::new(codes::IMPORT_UNREADABLE),
            });
            return refused(&e.field, e.error);
        }
    };
    let mut lead = Lead::create(fields, &creds.team_id, &creds.user_id, now);
    lead.extra = extra;
    Prepared::Lead {
        lead: Box::new(build_new_lead(
            actor,
            uuid::Uuid::now_v7().to_string(),
            lead,
        )),
        at: i,
    }
}

impl Replica {
    fn import_fields(&self) -> Result<Vec<ImportField>> {
        let mut fields = base_fields();
        let def = self.form("lead")?;
        for f in def.fields {
            if !fields.iter().any(|b| b.key == f.key) && !is_foundation(&f.key) {
                fields.push(ImportField {
                    key: f.key.clone(),
                    label: f.label.clone(),
                    required: f.required,
                });
            }
        }
        Ok(fields)
    }

    /// Opens a file for import: reads its first sheet, guesses (or remembers) which column is which field, and
    /// keeps a job for it. The file must stay where `path` is until the import is done or cleared.
    pub fn import_open(&mut self, path: &Path, file_name: &str, now: i64) -> Result<ImportPreview> {
        let table = read_table(path, file_name)?;
        let fields = self.import_fields()?;
        let remembered: Option<(Vec<String>, Vec<String>)> = self
            .meta("import_mapping")?
            .and_then(|j| serde_json::from_str(&j).ok());
        let mapping = match remembered {
            Some((headers, mapping)) if headers == table.headers => mapping,
            _ => guess_mapping(&table.headers, &fields),
        };
        let job = uuid::Uuid::now_v7().to_string();
        self.conn.execute(
            "INSERT INTO import_jobs (id, file_name, path, mapping, status, total, next_row, imported, refused,
               duplicates, created_at)
             VALUES (?1, ?2, ?3, ?4, 'mapping', ?5, 0, 0, 0, 0, ?6)",
            params![
                job,
                file_name,
                path.to_string_lossy(),
                serde_json::to_string(&mapping).unwrap_or_default(),
                table.rows.len() as i64,
                now
            ],
        )?;
        let preview = ImportPreview {
            job: job.clone(),
            file_name: file_name.to_string(),
            headers: table.headers.clone(),
            samples: table
                .rows
                .iter()
                .take(SAMPLES)
                .map(|r| r.1.clone())
                .collect(),
            rows: table.rows.len() as u64,
            mapping,
            fields,
        };
        *self.import_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some(ImportCache {
            job,
            table: Arc::new(table),
            seen: HashMap::new(),
        });
        Ok(preview)
    }

    /// Starts (or resumes) a job with the mapping chosen (empty: the one it had): every required field must be
    /// mapped, once.
    pub fn import_start(&mut self, job: &str, mapping: &[String]) -> Result<ImportProgress> {
        let (path, file_name, kept): (String, String, String) = self
            .conn
            .query_row(
                "SELECT path, file_name, mapping FROM import_jobs WHERE id = ?1",
                [job],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
            .ok_or_else(|| ReplicaError::NotFound(job.to_string()))?;
        let stored: Vec<String> = if mapping.is_empty() {
            serde_json::from_str(&kept).unwrap_or_default()
        } else {
            mapping.to_vec()
        };
        let mapping = &stored[..];
        let fields = self.import_fields()?;
        for key in mapping.iter().filter(|k| !k.is_empty()) {
            if !fields.iter().any(|f| &f.key == key) {
                return Err(ReplicaError::Invalid(
                    AppError::new(codes::IMPORT_UNMAPPED).with("field", key.clone()),
                ));
            }
        }
        for f in fields.iter().filter(|f| f.required) {
            if !mapping.contains(&f.key) {
                return Err(ReplicaError::Invalid(
                    AppError::new(codes::IMPORT_UNMAPPED).with("field", f.key.clone()),
                ));
            }
        }
        let headers = self
            .import_table(job, Path::new(&path), &file_name)?
            .headers
            .clone();
        self.conn.execute(
            "UPDATE import_jobs SET mapping = ?2, status = 'running' WHERE id = ?1 AND status != 'done'",
            params![job, serde_json::to_string(mapping).unwrap_or_default()],
        )?;
        self.conn.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('import_mapping', ?1)",
            [serde_json::to_string(&(headers, mapping)).unwrap_or_default()],
        )?;
        self.import_progress(job)
    }

    /// The job's parsed file, read again after a restart.
    fn import_table(&self, job: &str, path: &Path, file_name: &str) -> Result<Arc<Table>> {
        let mut cache = self.import_cache.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = cache.as_ref().filter(|c| c.job == job) {
            return Ok(c.table.clone());
        }
        let table = Arc::new(read_table(path, file_name)?);
        *cache = Some(ImportCache {
            job: job.to_string(),
            table: table.clone(),
            seen: HashMap::new(),
        });
        Ok(table)
    }

    /// Imports the next chunk of a running job, committed with the job's progress. Returns where it stands; call
    /// again while `status` is `running`. Rows are checked and their documents built on two threads; the
    /// duplicate check and the writes run in order on this one.
    pub fn import_step(&mut self, job: &str, now: i64) -> Result<ImportProgress> {
        let (path, file_name, mapping, status, next): (String, String, String, String, i64) = self
            .conn
            .query_row(
                "SELECT path, file_name, mapping, status, next_row FROM import_jobs WHERE id = ?1",
                [job],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()?
            .ok_or_else(|| ReplicaError::NotFound(job.to_string()))?;
        if status != "running" {
            return self.import_progress(job);
        }
        let mapping: Vec<String> = serde_json::from_str(&mapping).unwrap_or_default();
        let table = self.import_table(job, Path::new(&path), &file_name)?;
        self.import_seen(job)?;
        let start = next as usize;
        let end = (start + CHUNK).min(table.rows.len());
        let checker = self.lead_checker()?;
        let (members, sessions) = self.validation_lists()?;
        let (actor, creds) = self.actor()?;
        let ctx = ValidationContext {
            members: &members,
            live_sessions: &sessions,
        };
        let rows: Vec<usize> = (start..end).collect();
        let batches: Vec<&[usize]> = rows.chunks(BATCH).collect();
        // A pipeline: two threads check rows and build their documents, batch by batch, while this one checks
        // each batch for duplicates and writes it, in sheet order, in the chunk's one transaction.
        let tx = self.conn.unchecked_transaction()?;
        let (mut imported, mut refused, mut dups) = (0i64, 0i64, 0i64);
        std::thread::scope(|s| -> Result<()> {
            let mut inbox = Vec::with_capacity(WORKERS);
            for w in 0..WORKERS {
                let (send, recv) = std::sync::mpsc::sync_channel::<Vec<Prepared>>(2);
                inbox.push(recv);
                let mine: Vec<&[usize]> =
                    batches.iter().skip(w).step_by(WORKERS).copied().collect();
                let (table, mapping, ctx, checker, actor, creds) =
                    (&table, &mapping, &ctx, &checker, &actor, &creds);
                s.spawn(move || {
                    for part in mine {
                        let p = part
                            .iter()
                            .map(|&i| prepare(table, i, mapping, ctx, checker, actor, creds, now))
                            .collect();
                        // The writer has stopped (a failed write): nothing more to do.
                        if send.send(p).is_err() {
                            return;
                        }
                    }
                });
            }
            for b in 0..batches.len() {
                // A worker that panicked drops its sender: the chunk fails whole rather than skip its rows.
                let prepared = inbox[b % WORKERS].recv().map_err(|_| {
                    ReplicaError::Doc(job.to_string(), "an import worker stopped".into())
                })?;
                for o in self.import_dedupe(job, &table, prepared)? {
                    match o {
                        Prepared::Lead { lead, .. } => {
                            insert_new_lead(&tx, &lead)?;
                            imported += 1;
                        }
                        Prepared::Issue(i) => {
                            if i.kind == "duplicate" {
                                dups += 1;
                            } else {
                                refused += 1;
                            }
                            tx.prepare_cached(
                                "INSERT OR REPLACE INTO import_issues (job, row, kind, field, error, existing, cells)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            )?
                            .execute(params![
                                job,
                                i.row as i64,
                                i.kind,
                                i.field,
                                serde_json::to_string(&i.error).unwrap_or_default(),
                                i.existing,
                                serde_json::to_string(&i.values).unwrap_or_default()
                            ])?;
                        }
                    }
                }
            }
            Ok(())
        })?;
        let done = end >= table.rows.len();
        tx.execute(
            "UPDATE import_jobs SET next_row = ?2, imported = imported + ?3, refused = refused + ?4,
               duplicates = duplicates + ?5, status = CASE WHEN ?6 THEN 'done' ELSE status END
             WHERE id = ?1",
            params![job, end as i64, imported, refused, dups, done],
        )?;
        tx.commit()?;
        self.import_progress(job)
    }

    /// Loads the phones and e-mails the device holds once per job (then each imported row adds its own).
    fn import_seen(&self, job: &str) -> Result<()> {
        let mut cache = self.import_cache.lock().unwrap_or_else(|p| p.into_inner());
        let Some(c) = cache.as_mut().filter(|c| c.job == job) else {
            return Ok(());
        };
        if !c.seen.is_empty() {
            return Ok(());
        }
        let mut st = self
            .conn
            .prepare("SELECT id, phone, lower(email) FROM leads")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        for row in rows {
            let (id, phone, email) = row?;
            for k in [phone, email] {
                if !k.is_empty() {
                    c.seen.entry(k).or_insert_with(|| id.clone());
                }
            }
        }
        // Marks the set as loaded even for a device with no leads.
        c.seen.insert(String::new(), String::new());
        Ok(())
    }

    /// In sheet order: a row whose phone or e-mail a lead already has (or an earlier row) becomes a duplicate.
    fn import_dedupe(
        &self,
        job: &str,
        table: &Table,
        prepared: Vec<Prepared>,
    ) -> Result<Vec<Prepared>> {
        let mut cache = self.import_cache.lock().unwrap_or_else(|p| p.into_inner());
        let seen = &mut cache
            .as_mut()
            .filter(|c| c.job == job)
            .ok_or_else(|| ReplicaError::NotFound(job.to_string()))?
            .seen;
        Ok(prepared
            .into_iter()
            .map(|p| match p {
                Prepared::Lead { lead, at } => {
                    let keys = [
                        ("phone", lead.lead.phone.clone()),
                        ("email", lead.lead.email.to_lowercase()),
                    ];
                    let hit = keys
                        .iter()
                        .filter(|(_, k)| !k.is_empty())
                        .find_map(|(f, k)| seen.get(k).map(|id| (*f, id.clone())));
                    match hit {
                        Some((field, existing)) => Prepared::Issue(ImportIssue {
                            row: table.rows[at].0,
                            kind: "duplicate".into(),
                            field: field.into(),
                            error: AppError::new(codes::IMPORT_DUPLICATE).with("field", field),
                            existing,
                            values: table.rows[at].1.clone(),
                        }),
                        None => {
                            for (_, k) in keys.into_iter().filter(|(_, k)| !k.is_empty()) {
                                seen.insert(k, lead.id.clone());
                            }
                            Prepared::Lead { lead, at }
                        }
                    }
                }
                issue => issue,
            })
            .collect())
    }

    pub fn import_progress(&self, job: &str) -> Result<ImportProgress> {
        self.conn
            .query_row(&format!("{PROGRESS} WHERE id = ?1"), [job], progress_row)
            .optional()?
            .ok_or_else(|| ReplicaError::NotFound(job.to_string()))
    }

    /// The latest job that is not cleared: one that runs, was cut short, or finished with its report.
    pub fn import_latest(&self) -> Result<Option<ImportProgress>> {
        Ok(self
            .conn
            .query_row(
                &format!("{PROGRESS} WHERE status != 'mapping' ORDER BY created_at DESC, id DESC LIMIT 1"),
                [],
                progress_row,
            )
            .optional()?)
    }

    /// Rows a job did not import, in sheet order.
    pub fn import_issues(&self, job: &str) -> Result<Vec<ImportIssue>> {
        let mut st = self.conn.prepare(
            "SELECT row, kind, field, error, existing, cells FROM import_issues WHERE job = ?1 ORDER BY row",
        )?;
        let rows = st.query_map([job], |r| {
            Ok(ImportIssue {
                row: r.get::<_, i64>(0)? as u64,
                kind: r.get(1)?,
                field: r.get(2)?,
                error: serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default(),
                existing: r.get(4)?,
                values: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// Forgets a job and its report; returns the file it kept, for the caller to delete.
    pub fn import_clear(&mut self, job: &str) -> Result<Option<PathBuf>> {
        let path: Option<String> = self
            .conn
            .query_row("SELECT path FROM import_jobs WHERE id = ?1", [job], |r| {
                r.get(0)
            })
            .optional()?;
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM import_issues WHERE job = ?1", [job])?;
        tx.execute("DELETE FROM import_jobs WHERE id = ?1", [job])?;
        tx.commit()?;
        let mut cache = self.import_cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.as_ref().is_some_and(|c| c.job == job) {
            *cache = None;
        }
        Ok(path.map(PathBuf::from))
    }
}

fn is_foundation(key: &str) -> bool {
    matches!(
        key,
        "buyer_name"
            | "company"
            | "country"
            | "phone"
            | "email"
            | "contact_kind"
            | "contact"
            | "channel"
            | "live_session"
            | "product_interest"
            | "language"
            | "quantity"
            | "notes"
            | "status"
            | "owner"
    )
}

/// A job's progress, as `progress_row` reads it.
const PROGRESS: &str =
    "SELECT id, file_name, status, total, next_row, imported, refused, duplicates FROM import_jobs";

fn progress_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ImportProgress> {
    Ok(ImportProgress {
        job: r.get(0)?,
        file_name: r.get(1)?,
        status: r.get(2)?,
        total: r.get::<_, i64>(3)? as u64,
        done: r.get::<_, i64>(4)? as u64,
        imported: r.get::<_, i64>(5)? as u64,
        refused: r.get::<_, i64>(6)? as u64,
        duplicates: r.get::<_, i64>(7)? as u64,
    })
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(title: &str) -> String {
    let s: String = title
        .chars()
        .filter(|c| !"[]:*?/\\".contains(*c))
        .take(31)
        .collect();
    if s.trim().is_empty() {
        "Liveline".into()
    } else {
        s
    }
}

/// Writes a table to an `.xlsx` workbook: bold headers, numbers as numbers, shares as percentages, times in the
/// table's time zone, money with its currency in the cell's format.
pub fn write_xlsx(t: &ExportTable) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let tz = jiff::tz::TimeZone::get(t.tz.trim()).unwrap_or(jiff::tz::TimeZone::UTC);
    let fail = |e: rust_xlsxwriter::XlsxError| unreadable(e.to_string());
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name(&t.title)).map_err(fail)?;
    let bold = Format::new().set_bold();
    let as_text = Format::new().set_quote_prefix();
    let pct = Format::new().set_num_format("0.0%");
    let when = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    for (c, h) in t.headers.iter().enumerate() {
        let head = if liveline_domain::cells::looks_like_formula(h) {
            bold.clone().set_quote_prefix()
        } else {
            bold.clone()
        };
        sheet
            .write_string_with_format(0, c as u16, h, &head)
            .map_err(fail)?;
    }
    for (r, row) in t.rows.iter().enumerate() {
        let r = r as u32 + 1;
        for (c, cell) in row.iter().enumerate() {
            let c = c as u16;
            match cell {
                // Text a spreadsheet would run as a formula stays text (quote-prefixed, as Excel marks it).
                Cell::Text(s) if liveline_domain::cells::looks_like_formula(s) => {
                    sheet
                        .write_string_with_format(r, c, s, &as_text)
                        .map_err(fail)?;
                }
                Cell::Text(s) => {
                    sheet.write_string(r, c, s).map_err(fail)?;
                }
                Cell::Int(n) => {
                    sheet.write_number(r, c, *n as f64).map_err(fail)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(r, c, *n).map_err(fail)?;
                }
                Cell::Percent(p) => {
                    sheet
                        .write_number_with_format(r, c, *p, &pct)
                        .map_err(fail)?;
                }
                Cell::Time(ms) => {
                    let Ok(ts) = jiff::Timestamp::from_millisecond(*ms) else {
                        continue;
                    };
                    let d = ts.to_zoned(tz.clone()).datetime();
                    let x =
                        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
                            .and_then(|x| {
                                x.and_hms(d.hour() as u16, d.minute() as u8, d.second() as f64)
                            })
                            .map_err(fail)?;
                    sheet
                        .write_datetime_with_format(r, c, &x, &when)
                        .map_err(fail)?;
                }
                Cell::Money { amount, currency } => match amount.parse::<f64>() {
                    Ok(v) => {
                        let code: String = currency
                            .chars()
                            .filter(|c| c.is_ascii_alphabetic())
                            .collect();
                        let f = Format::new().set_num_format(format!("#,##0.00 \"{code}\""));
                        sheet.write_number_with_format(r, c, v, &f).map_err(fail)?;
                    }
                    Err(_) => {
                        sheet
                            .write_string_with_format(
                                r,
                                c,
                                format!("{amount} {currency}"),
                                &as_text,
                            )
                            .map_err(fail)?;
                    }
                },
                Cell::Empty => {}
            }
        }
    }
    sheet.autofit();
    book.save_to_buffer().map_err(fail)
}
