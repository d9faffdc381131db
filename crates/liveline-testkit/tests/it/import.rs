//! Excel in and out on a real device of a real server: workbooks made here (a Chinese header, merged cells, bad
//! phones, a missing name, a formula, duplicates, 10,000 rows), imported through the same checks as the capture
//! form; the report lists exactly the bad rows; a reimport imports nothing twice; an import cut short resumes;
//! bad files are refused by name; an exported table reads back with the same numbers.

use calamine::Reader;
use liveline_replica::sheets::{read_table, write_xlsx};
use liveline_replica::{now_ms, Replica};
use liveline_testkit::{eventually, Device, TestServer};
use liveline_types::sheets::{Cell, ExportTable, ImportProgress};
use liveline_types::{codes, LeadInput};
use rust_xlsxwriter::{Format, Workbook};
use std::path::{Path, PathBuf};

fn team_book(dir: &Path) -> PathBuf {
    let mut book = Workbook::new();
    let s = book.add_worksheet();
    let headers = ["姓名", "公司", "国家", "手机号", "邮箱", "渠道", "备注"];
    for (c, h) in headers.iter().enumerate() {
        s.write_string(0, c as u16, *h).unwrap();
    }
    // Sheet rows 2..=11 (1-based, as the spreadsheet shows them).
    let rows: [[&str; 7]; 10] = [
        [
            "李明 Li Ming",
            "Acme GmbH",
            "德国",
            "030 901830",
            "li@acme.de",
            "",
            "展会客户",
        ],
        [
            "Anna Schmidt",
            "",
            "DE",
            "030 901831",
            "anna@example.de",
            "",
            "",
        ],
        ["Bad Phone", "", "US", "12345", "", "", ""],
        ["", "", "MX", "55 1234 5001", "", "Facebook", "no name"],
        ["Formula Row", "", "US", "", "", "Facebook", ""],
        ["Already Held", "", "DE", "030 901899", "", "Facebook", ""],
        ["Same As Row 2", "", "DE", "030 901830", "", "Facebook", ""],
        [
            "Carlos Ruiz",
            "",
            "Mexico",
            "55 1234 5002",
            "",
            "Facebook",
            "",
        ],
        ["", "", "", "", "", "", ""],
        ["Zoe Martin", "", "法国", "", "zoe@example.fr", "其他", ""],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if !v.is_empty() {
                s.write_string(r as u32 + 1, c as u16, *v).unwrap();
            }
        }
    }
    // The channel written once for the first three buyers, merged down as such sheets do.
    s.merge_range(1, 5, 3, 5, "TikTok", &Format::new()).unwrap();
    // A phone computed by a formula: refused, not guessed at.
    s.write_formula(5, 3, "=\"+1 202 555 0199\"").unwrap();
    let path = dir.join("buyers.xlsx");
    book.save(&path).unwrap();
    path
}

/// Runs an import to its end, then asks the sync client to send what it wrote, as the app's import command does
/// after each step.
fn run(dev: &Device, job: &str) -> ImportProgress {
    loop {
        let p = dev
            .replica
            .lock()
            .unwrap()
            .import_step(job, now_ms())
            .unwrap();
        if p.status != "running" {
            dev.nudge();
            return p;
        }
    }
}

fn counts(p: &ImportProgress) -> (u64, u64, u64, u64) {
    (p.done, p.imported, p.refused, p.duplicates)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_workbook_is_imported_with_a_report_of_exactly_the_bad_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let mut manager = Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    manager.capture(&LeadInput {
        buyer_name: "Held Before".into(),
        country: "DE".into(),
        phone: "030 901899".into(),
        channel: "facebook".into(),
        ..Default::default()
    });
    let before = manager.count();
    let book = team_book(tmp.path());

    let preview = manager
        .replica
        .lock()
        .unwrap()
        .import_open(&book, "buyers.xlsx", now_ms())
        .unwrap();
    assert_eq!(preview.rows, 9, "the empty row is skipped");
    // The Chinese headers are recognised.
    assert_eq!(
        preview.mapping,
        [
            "buyer_name",
            "company",
            "country",
            "phone",
            "email",
            "channel",
            "notes"
        ]
    );
    assert_eq!(
        preview.samples[1][5], "TikTok",
        "a merged cell counts for every row it covers"
    );
    // Without the buyer's name the import does not start.
    let mut no_name = preview.mapping.clone();
    no_name[0] = String::new();
    let err = manager
        .replica
        .lock()
        .unwrap()
        .import_start(&preview.job, &no_name)
        .unwrap_err()
        .to_app_error();
    assert_eq!(
        (err.code.as_str(), err.args["field"].as_str()),
        (codes::IMPORT_UNMAPPED, "buyer_name")
    );

    manager
        .replica
        .lock()
        .unwrap()
        .import_start(&preview.job, &preview.mapping)
        .unwrap();
    let done = run(&manager, &preview.job);
    assert_eq!(done.status, "done");
    // Imported: rows 2, 3, 9 and 11. Refused: 4 (phone), 5 (no name), 6 (formula). Duplicates: 7 (a lead the
    // device held), 8 (row 2's phone).
    assert_eq!(counts(&done), (9, 4, 3, 2));
    let report = manager
        .replica
        .lock()
        .unwrap()
        .import_issues(&preview.job)
        .unwrap();
    let got: Vec<(u64, &str, &str, &str)> = report
        .iter()
        .map(|i| {
            (
                i.row,
                i.kind.as_str(),
                i.field.as_str(),
                i.error.code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (4, "refused", "phone", codes::PHONE_INVALID),
            (5, "refused", "buyer_name", codes::REQUIRED),
            (6, "refused", "phone", codes::IMPORT_FORMULA),
            (7, "duplicate", "phone", codes::IMPORT_DUPLICATE),
            (8, "duplicate", "phone", codes::IMPORT_DUPLICATE),
        ]
    );
    assert_eq!(report[2].error.args["cell"], "D6");
    assert_eq!(
        report[0].values[0], "Bad Phone",
        "the report keeps the row as written"
    );
    assert!(
        !report[3].existing.is_empty(),
        "a duplicate names the lead it matches"
    );
    assert_eq!(manager.count(), before + 4);
    let li = manager.find("Li Ming").pop().unwrap();
    assert_eq!(
        (
            li.country.as_str(),
            li.phone.as_str(),
            li.channel.as_str(),
            li.notes.as_str()
        ),
        ("DE", "+4930901830", "tiktok_live", "展会客户")
    );
    assert_eq!(manager.find("Zoe Martin").pop().unwrap().country, "FR");

    // The imported rows are ordinary leads: they sync, and the server's rules assign them.
    let assigned = eventually("the imported leads assigned", || {
        let names = ["Li Ming", "Anna Schmidt", "Carlos Ruiz", "Zoe Martin"];
        let leads: Vec<_> = names.iter().filter_map(|n| manager.find(n).pop()).collect();
        (leads.len() == 4 && leads.iter().all(|l| !l.owner.is_empty() && !l.pending))
            .then_some(leads)
    })
    .await;
    assert_eq!(
        assigned[0].owner, "u-rep2",
        "a German buyer goes to the Europe rule's rep"
    );

    // The same file again imports nothing twice: every good row is now a duplicate.
    let again = manager
        .replica
        .lock()
        .unwrap()
        .import_open(&book, "buyers.xlsx", now_ms())
        .unwrap();
    manager
        .replica
        .lock()
        .unwrap()
        .import_start(&again.job, &again.mapping)
        .unwrap();
    let p = run(&manager, &again.job);
    assert_eq!(counts(&p), (9, 0, 3, 6));
    assert_eq!(manager.count(), before + 4);
    manager.offline().await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_rows_cut_short_by_closing_the_app_resume_without_importing_a_row_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let dev = Device::sign_in(&server, &tmp.path().join("dev"), "assistant@demo.liveline").await;
    let path = dev.replica.lock().unwrap().path().to_path_buf();
    let before = dev.count();
    let mut book = Workbook::new();
    let s = book.add_worksheet();
    for (c, h) in ["Buyer name", "Country", "Phone", "Channel"]
        .iter()
        .enumerate()
    {
        s.write_string(0, c as u16, *h).unwrap();
    }
    for i in 0..10_000u32 {
        let r = i + 1;
        s.write_string(r, 0, format!("Bulk Buyer {i}")).unwrap();
        s.write_string(r, 1, "US").unwrap();
        // Phone numbers typed as numbers, as spreadsheets keep them.
        s.write_number(
            r,
            2,
            2_025_550_000.0 + i as f64 + 100_000.0 * (i / 10_000) as f64,
        )
        .unwrap();
        s.write_string(r, 3, "tiktok_live").unwrap();
    }
    let file = tmp.path().join("bulk.xlsx");
    book.save(&file).unwrap();

    let preview = dev
        .replica
        .lock()
        .unwrap()
        .import_open(&file, "bulk.xlsx", now_ms())
        .unwrap();
    assert_eq!(
        preview.mapping,
        ["buyer_name", "country", "phone", "channel"]
    );
    dev.replica
        .lock()
        .unwrap()
        .import_start(&preview.job, &preview.mapping)
        .unwrap();
    for _ in 0..3 {
        dev.replica
            .lock()
            .unwrap()
            .import_step(&preview.job, now_ms())
            .unwrap();
    }
    // The app is closed: what was committed stays; the job waits to be resumed.
    drop(dev);
    let mut r = Replica::open(&path).unwrap();
    let cut = r.import_latest().unwrap().unwrap();
    assert_eq!(cut.status, "interrupted");
    assert_eq!(cut.done, 3 * liveline_replica::sheets::CHUNK as u64);
    assert_eq!(r.lead_count().unwrap(), before + cut.imported);
    r.import_start(&cut.job, &preview.mapping).unwrap();
    let done = loop {
        let p = r.import_step(&cut.job, now_ms()).unwrap();
        if p.status != "running" {
            break p;
        }
    };
    assert_eq!(counts(&done), (10_000, 10_000, 0, 0));
    assert_eq!(r.lead_count().unwrap(), before + 10_000);
    assert!(r.import_issues(&cut.job).unwrap().is_empty());
    let kept = r.import_clear(&cut.job).unwrap();
    assert_eq!(kept.as_deref(), Some(file.as_path()));
    assert!(r.import_latest().unwrap().is_none());
    server.stop().await;
}

#[test]
fn bad_files_are_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let code = |p: &Path, name: &str| read_table(p, name).unwrap_err().to_app_error();
    // Not a spreadsheet.
    let junk = tmp.path().join("notes.xlsx");
    std::fs::write(&junk, b"this is a text file, not a workbook").unwrap();
    assert_eq!(code(&junk, "notes.xlsx").code, codes::IMPORT_UNREADABLE);
    // An empty sheet, and a sheet with only a header.
    let mut book = Workbook::new();
    book.add_worksheet();
    let empty = tmp.path().join("empty.xlsx");
    book.save(&empty).unwrap();
    assert_eq!(code(&empty, "empty.xlsx").code, codes::IMPORT_EMPTY);
    let header_only = tmp.path().join("header.csv");
    std::fs::write(&header_only, "姓名,国家,电话\n").unwrap();
    assert_eq!(code(&header_only, "header.csv").code, codes::IMPORT_EMPTY);
    // 200 MB: refused before it is read (a sparse file, so the test does not write 200 MB).
    let big = tmp.path().join("big.xlsx");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(200 << 20)
        .unwrap();
    let e = code(&big, "big.xlsx");
    assert_eq!(
        (e.code.as_str(), e.args["max_mb"].as_str()),
        (codes::IMPORT_TOO_LARGE, "50")
    );
    // A CSV saved in a Chinese legacy encoding (GBK) rather than UTF-8 is named as such.
    let gbk = tmp.path().join("gbk.csv");
    std::fs::write(
        &gbk,
        [
            0xd0u8, 0xd5, 0xc3, 0xfb, b',', b'x', b'\n', b'a', b',', b'b', b'\n',
        ],
    )
    .unwrap();
    let e = code(&gbk, "gbk.csv");
    assert_eq!(e.code, codes::IMPORT_UNREADABLE);
    assert!(e.args["detail"].contains("UTF-8"));
    // A UTF-8 CSV with a byte-order mark, as Excel writes it, reads.
    let ok = tmp.path().join("ok.csv");
    std::fs::write(&ok, "\u{feff}姓名,国家,手机号\n王芳,CN,138 0013 8000\n").unwrap();
    let t = read_table(&ok, "ok.csv").unwrap();
    assert_eq!(t.headers, ["姓名", "国家", "手机号"]);
    assert_eq!(
        t.rows,
        [(
            2,
            vec!["王芳".to_string(), "CN".into(), "138 0013 8000".into()]
        )]
    );
}

#[test]
fn an_exported_table_reads_back_with_the_same_numbers() {
    // 1 December 2026, 00:30 in Shanghai (16:30 UTC the day before).
    let at = 1_796_056_200_000i64;
    let table = ExportTable {
        title: "直播场次 Sessions".into(),
        headers: vec![
            "直播场次".into(),
            "录入".into(),
            "成交率".into(),
            "录入时间".into(),
            "金额".into(),
        ],
        rows: vec![
            vec![
                Cell::Text("#4 Fitness week".into()),
                Cell::Int(53),
                Cell::Percent(0.113),
                Cell::Time(at),
                Cell::Money {
                    amount: "1234.50".into(),
                    currency: "USD".into(),
                },
            ],
            vec![
                Cell::Text("合计".into()),
                Cell::Int(301),
                Cell::Percent(0.093),
                Cell::Empty,
                Cell::Empty,
            ],
        ],
        tz: "Asia/Shanghai".into(),
    };
    let bytes = write_xlsx(&table).unwrap();
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(book.sheet_names(), ["直播场次 Sessions"]);
    let range = book.worksheet_range("直播场次 Sessions").unwrap();
    let cell = |r: usize, c: usize| range.get((r, c)).cloned().unwrap();
    assert_eq!(cell(0, 0), calamine::Data::String("直播场次".into()));
    assert_eq!(cell(1, 1), calamine::Data::Float(53.0));
    assert_eq!(cell(2, 1), calamine::Data::Float(301.0));
    assert_eq!(cell(1, 2), calamine::Data::Float(0.113));
    assert_eq!(cell(1, 4), calamine::Data::Float(1234.5));
    // The time is written as the viewer's wall clock.
    let calamine::Data::DateTime(t) = cell(1, 3) else {
        panic!("a time cell: {:?}", cell(1, 3));
    };
    let days = t.as_f64();
    let (whole, frac) = (days.trunc(), days.fract());
    // Excel's serial 46357 is 2026-12-01.
    assert_eq!(whole, 46357.0);
    assert!(
        (frac * 24.0 * 60.0 - 30.0).abs() < 0.01,
        "00:30 in Shanghai: {days}"
    );
}

/// A buyer named like a formula, typed on a phone, reaches the manager's Excel as text: the cell is a string with
/// Excel's quote prefix (so editing it keeps it text), never a formula; ordinary text has no prefix.
#[test]
fn text_that_looks_like_a_formula_is_exported_as_text() {
    use std::io::Read;
    let evil = "=HYPERLINK(\"http://evil.example\",\"Ana\")";
    let table = ExportTable {
        title: "Leads".into(),
        headers: vec!["Buyer".into(), "Phone".into()],
        rows: vec![
            vec![Cell::Text(evil.into()), Cell::Text("+5511999990000".into())],
            vec![Cell::Text("Ana".into()), Cell::Text("@SUM(1)".into())],
        ],
        tz: "UTC".into(),
    };
    let bytes = write_xlsx(&table).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.clone())).unwrap();
    let mut part = |name: &str| {
        let mut s = String::new();
        zip.by_name(name).unwrap().read_to_string(&mut s).unwrap();
        s
    };
    let (sheet, styles) = (part("xl/worksheets/sheet1.xml"), part("xl/styles.xml"));
    assert!(!sheet.contains("<f>"), "a formula was written: {sheet}");
    assert!(styles.contains("quotePrefix=\"1\""), "{styles}");
    // The quote-prefixed style is the one on A2, B2 and B3, and A3 ("Ana") has none.
    let style_of = |cell: &str| {
        let at = sheet.find(&format!("r=\"{cell}\"")).unwrap();
        let tag = &sheet[at..at + sheet[at..].find('>').unwrap()];
        tag.split("s=\"")
            .nth(1)
            .map(|s| s.split('"').next().unwrap().to_string())
    };
    let prefixed = style_of("A2");
    assert!(prefixed.is_some());
    assert_eq!(style_of("B2"), prefixed);
    assert_eq!(style_of("B3"), prefixed);
    assert_ne!(style_of("A3"), prefixed);
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = book.worksheet_range("Leads").unwrap();
    assert_eq!(
        range.get((1, 0)),
        Some(&calamine::Data::String(evil.into()))
    );
}

/// The year-first ways a date is typed, and an Excel date cell, land in a date field as the date; a date that is
/// day-or-month first, or not a day at all, is refused by its field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dates_in_date_cells_and_typed_as_text() {
    use liveline_types::forms::{FieldDef, FieldInput, FieldKind, Text};
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let admin = Device::ready(&server, tmp.path(), "admin@demo.liveline").await;
    let mut def = admin.replica.lock().unwrap().form("lead").unwrap();
    def.fields.push(FieldDef::new(
        "birthday",
        Text::new("Birthday", "生日"),
        FieldKind::Date,
    ));
    assert_eq!(
        admin.replica.lock().unwrap().publish_form(&def).unwrap(),
        vec![]
    );

    let mut book = Workbook::new();
    let s = book.add_worksheet();
    for (c, h) in ["姓名", "国家", "手机号", "生日"].iter().enumerate() {
        s.write_string(0, c as u16, *h).unwrap();
    }
    let dated = Format::new().set_num_format("yyyy-mm-dd");
    let rows: [(&str, &str); 5] = [
        ("Date Cell", ""),
        ("Slashes", "1991/2/3"),
        ("Chinese Date", "1992年3月4日"),
        ("Day First", "05/03/1993"),
        ("No Such Day", "1994/02/30"),
    ];
    for (i, (name, birthday)) in rows.iter().enumerate() {
        let r = i as u32 + 1;
        s.write_string(r, 0, *name).unwrap();
        s.write_string(r, 1, "DE").unwrap();
        s.write_string(r, 2, format!("151 2345 31{i:02}")).unwrap();
        if birthday.is_empty() {
            let d = rust_xlsxwriter::ExcelDateTime::from_ymd(1990, 5, 17).unwrap();
            s.write_datetime_with_format(r, 3, &d, &dated).unwrap();
        } else {
            s.write_string(r, 3, *birthday).unwrap();
        }
    }
    let path = tmp.path().join("birthdays.xlsx");
    book.save(&path).unwrap();

    let preview = admin
        .replica
        .lock()
        .unwrap()
        .import_open(&path, "birthdays.xlsx", now_ms())
        .unwrap();
    assert_eq!(
        preview.mapping,
        ["buyer_name", "country", "phone", "birthday"]
    );
    assert_eq!(
        preview.samples[0][3], "1990-05-17",
        "a date cell reads as its date"
    );
    admin
        .replica
        .lock()
        .unwrap()
        .import_start(&preview.job, &preview.mapping)
        .unwrap();
    let done = run(&admin, &preview.job);
    assert_eq!(counts(&done), (5, 3, 2, 0));
    let report = admin
        .replica
        .lock()
        .unwrap()
        .import_issues(&preview.job)
        .unwrap();
    let got: Vec<(u64, &str, &str)> = report
        .iter()
        .map(|i| (i.row, i.field.as_str(), i.error.code.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (5, "birthday", codes::DATE_INVALID),
            (6, "birthday", codes::DATE_INVALID)
        ]
    );
    for (name, want) in [
        ("Date Cell", "1990-05-17"),
        ("Slashes", "1991-02-03"),
        ("Chinese Date", "1992-03-04"),
    ] {
        let lead = admin
            .find(name)
            .pop()
            .unwrap_or_else(|| panic!("{name} imported"));
        assert_eq!(
            lead.extra.get("birthday"),
            Some(&FieldInput::Text(want.into())),
            "{name}"
        );
    }
    server.stop().await;
}
