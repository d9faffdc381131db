//! End to end in the real app window: tauri-driver with WebKitWebDriver drives the built `liveline` binary under
//! the X display the test command provides. Two app instances, each with its own data folder, sync through a
//! real server on loopback. Screenshots go to `$LIVELINE_ARTIFACTS` (default `artifacts/`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use liveline_sync_server::Store;
use liveline_testkit::{free_port, TestServer};
use serde_json::json;

struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(std::env::var("HOME").unwrap()).join(".cargo"));
    let p = home.join("bin/tauri-driver");
    if p.exists() {
        p
    } else {
        PathBuf::from("tauri-driver")
    }
}

async fn start_driver() -> Driver {
    let port = free_port();
    let native = free_port();
    let child = Command::new(tauri_driver())
        .args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tauri-driver runs (scripts/setup.sh installs it)");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Driver { child, port }
}

async fn open_app(driver: &Driver, data: &std::path::Path, server: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        json!({
            "application": env!("CARGO_BIN_EXE_liveline"),
            "args": ["--data-dir", data.to_str().unwrap(), "--server", server],
        }),
    );
    caps.insert("browserName".into(), json!("wry"));
    let c = ClientBuilder::native()
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("the app window opens under WebDriver");
    // The webview's storage outlives an instance: start every run in English, whatever the last one chose.
    wait_css(&c, "#lang-switch").await;
    c.execute(
        "window.__before_reload = true; localStorage.setItem('liveline.lang', 'en'); location.reload();",
        vec![],
    )
    .await
    .unwrap();
    // Wait for the reloaded page: an element found before the reload would go stale under the next command.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let fresh = c
            .execute(
                "return window.__before_reload === undefined && document.querySelector('#lang-switch') !== null;",
                vec![],
            )
            .await;
        if matches!(fresh, Ok(serde_json::Value::Bool(true))) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the app never came back from its reload"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    c
}

fn artifacts() -> PathBuf {
    let dir = std::env::var("LIVELINE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../artifacts"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    // Let the webview paint what the DOM already holds.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

const WAIT: Duration = Duration::from_secs(30);

/// The end-to-end tests take turns: each drives several app windows, and two at once would starve both.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What each end-to-end test starts from: its turn, a scratch folder, and a real server on loopback.
struct Rig {
    _turn: tokio::sync::MutexGuard<'static, ()>,
    tmp: tempfile::TempDir,
    server: TestServer,
    url: String,
}

async fn rig() -> Rig {
    if std::env::var_os("DISPLAY").is_none() {
        panic!("the end-to-end test needs an X display: run it through scripts/test.sh, which starts Xvfb");
    }
    let turn = SERIAL.lock().await;
    let tmp = tempfile::tempdir().unwrap();
    let server = TestServer::start(&tmp.path().join("server")).await;
    let url = server.url();
    Rig {
        _turn: turn,
        tmp,
        server,
        url,
    }
}

async fn wait_css(c: &Client, css: &str) -> fantoccini::elements::Element {
    match c.wait().at_most(WAIT).for_element(Locator::Css(css)).await {
        Ok(e) => e,
        Err(e) => {
            shot(c, "failed-wait").await;
            let body = c
                .execute("return document.querySelector('#main').innerText;", vec![])
                .await
                .unwrap_or_default();
            panic!("{css} never appeared: {e}; the screen shows: {body}")
        }
    }
}

async fn type_into(c: &Client, css: &str, text: &str) {
    let e = wait_css(c, css).await;
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

async fn choose(c: &Client, css: &str, value: &str) {
    wait_css(c, css).await;
    c.execute(
        "const e = document.querySelector(arguments[0]); e.value = arguments[1];
         e.dispatchEvent(new Event('input', {bubbles: true})); e.dispatchEvent(new Event('change', {bubbles: true}));",
        vec![json!(css), json!(value)],
    )
    .await
    .unwrap();
}

async fn sign_in(c: &Client, email: &str) {
    type_into(c, "#signin-email", email).await;
    type_into(c, "#signin-password", "demo").await;
    wait_css(c, "#signin-submit").await.click().await.unwrap();
    wait_css(c, "#lead-buyer_name").await;
}

/// Waits until `css` matches an element whose text contains `text`.
async fn wait_text(c: &Client, css: &str, text: &str) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        for e in c.find_all(Locator::Css(css)).await.unwrap_or_default() {
            if let Ok(t) = e.text().await {
                if t.contains(text) {
                    return t;
                }
            }
        }
        if tokio::time::Instant::now() > deadline {
            shot(c, "failed-wait").await;
            let body = c
                .execute("return document.querySelector('#main').innerText;", vec![])
                .await
                .unwrap_or_default();
            panic!("no {css} with text {text:?}; the screen shows: {body}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn badge_state(c: &Client) -> String {
    wait_css(c, "#sync-badge")
        .await
        .attr("data-state")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_with_a_bad_phone_fix_it_and_a_second_instance_sees_the_lead() {
    let Rig {
        _turn,
        tmp,
        server,
        url,
    } = rig().await;
    let driver_a = start_driver().await;
    let driver_b = start_driver().await;

    // Instance A: the streaming assistant.
    let a = open_app(&driver_a, &tmp.path().join("a"), &url).await;
    wait_css(&a, "#signin-email").await;
    shot(&a, "signin-desktop-en").await;
    sign_in(&a, "assistant@demo.liveline").await;

    type_into(&a, "#lead-buyer_name", "E2E Buyer").await;
    choose(&a, "#lead-country", "US").await;
    type_into(&a, "#lead-phone", "12345").await;
    choose(&a, "#lead-channel", "tiktok_live").await;
    wait_css(&a, "#lead-save").await.click().await.unwrap();
    let err = wait_css(&a, "#lead-phone-error")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        !err.trim().is_empty(),
        "the phone error is shown beside the field"
    );
    let kept = wait_css(&a, "#lead-buyer_name")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("E2E Buyer"),
        "nothing typed is lost on a refusal"
    );
    shot(&a, "capture-error-desktop-en").await;

    // A buyer from Germany: the demo team's rules give European buyers to Emily (rep2).
    choose(&a, "#lead-country", "DE").await;
    type_into(&a, "#lead-phone", "030 901820").await;
    wait_css(&a, "#lead-save").await.click().await.unwrap();
    wait_text(&a, "#save-status", "E2E Buyer").await;
    assert!(
        a.find(Locator::Css("#lead-phone-error")).await.is_err(),
        "the error is gone once fixed"
    );

    wait_css(&a, "#nav-leads").await.click().await.unwrap();
    let row = wait_text(&a, ".lead-item", "E2E Buyer").await;
    assert!(
        row.contains("+4930901820"),
        "the list shows the stored phone: {row}"
    );
    shot(&a, "list-desktop-en").await;

    // Instance B: a manager on another device, signed in to the same team.
    let b = open_app(&driver_b, &tmp.path().join("b"), &url).await;
    sign_in(&b, "manager@demo.liveline").await;
    wait_css(&b, "#nav-leads").await.click().await.unwrap();
    type_into(&b, "#lead-search", "E2E Buyer").await;
    wait_text(&b, ".lead-item", "E2E Buyer").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while badge_state(&b).await != "synced" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "instance B never shows synced"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shot(&b, "list-search-desktop-en").await;

    // Look at it as a phone and in Chinese too.
    a.set_window_size(390, 844).await.unwrap();
    wait_css(&a, "#nav-capture").await.click().await.unwrap();
    wait_css(&a, "#lead-buyer_name").await;
    shot(&a, "capture-phone-en").await;
    wait_css(&a, "#lang-switch").await.click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    shot(&a, "capture-phone-zh").await;
    wait_css(&a, "#nav-leads").await.click().await.unwrap();
    wait_text(&a, ".lead-item", "E2E Buyer").await;
    shot(&a, "list-phone-zh").await;
    b.set_window_size(1280, 800).await.unwrap();
    wait_css(&b, "#lang-switch").await.click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    shot(&b, "list-desktop-zh").await;
    let store = &server.state.store;
    let team_leads = store.bucket_size("team:demo").unwrap()
        - store.bucket_size("kind:demo:live_session").unwrap();
    let owned = store.bucket_size("owner:demo:u-rep1").unwrap();

    // A sales rep on a third device sees only the leads they own; the manager sees the whole team.
    let driver_c = start_driver().await;
    let c = open_app(&driver_c, &tmp.path().join("c"), &url).await;
    sign_in(&c, "rep1@demo.liveline").await;
    wait_css(&c, "#nav-leads").await.click().await.unwrap();
    wait_css(&c, ".lead-item").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while lead_total(&c).await != owned {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rep's list never shows exactly the {owned} leads they own"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        owned > 0 && owned < team_leads,
        "the demo gives rep1 some of the team's {team_leads} leads"
    );
    for owner in c.find_all(Locator::Css(".lead-owner")).await.unwrap() {
        assert_eq!(
            owner.text().await.unwrap(),
            "王磊 Wang Lei",
            "every lead the rep sees is theirs"
        );
    }
    shot(&c, "list-rep-desktop-en").await;
    type_into(&c, "#lead-search", "E2E Buyer").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while lead_total(&c).await != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rep never sees the lead the rules gave to a teammate"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let emily = store.bucket_size("owner:demo:u-rep2").unwrap();
    assert!(emily > 0, "the German buyer went to Emily");

    // The assistant captures a buyer from Mexico while the rep's app is open: the server gives it to rep1
    // (round-robin starts with them), the rep is told at once, works the task and logs the call.
    wait_css(&a, "#nav-capture").await.click().await.unwrap();
    type_into(&a, "#lead-buyer_name", "E2E Task Buyer").await;
    choose(&a, "#lead-country", "MX").await;
    type_into(&a, "#lead-phone", "55 1234 9876").await;
    choose(&a, "#lead-channel", "tiktok_live").await;
    wait_css(&a, "#lead-save").await.click().await.unwrap();
    wait_text(&a, "#save-status", "E2E Task Buyer").await;
    let notice = wait_text(&c, "#notice", "E2E Task Buyer").await;
    assert!(notice.contains("First contact"), "{notice}");
    // The same news as an OS notification, as the session's notification service received it.
    if let Ok(log) = std::env::var("LIVELINE_DBUS_LOG") {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let seen = std::fs::read_to_string(&log).unwrap_or_default();
            if seen.contains("member=Notify")
                && seen.contains("New task: First contact")
                && seen.contains("E2E Task Buyer")
            {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no OS notification reached the D-Bus session: {seen}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    shot(&c, "notice-desktop-en").await;
    wait_css(&c, "#notice-open").await.click().await.unwrap();
    // The deadline is 30 minutes away: today, unless that crosses midnight (UTC under the test display).
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let tab = if (now + 30 * 60_000) / 86_400_000 == now / 86_400_000 {
        "#tab-today"
    } else {
        "#tab-upcoming"
    };
    wait_css(&c, tab).await.click().await.unwrap();
    let item = wait_text(&c, ".task-item", "E2E Task Buyer").await;
    assert!(item.contains("due in"), "the deadline is shown: {item}");
    let badge = wait_css(&c, "#tasks-badge").await.text().await.unwrap();
    assert_ne!(badge.trim(), "0");
    shot(&c, "tasks-desktop-en").await;
    wait_css(&c, ".task-item .task-lead")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&c, "#lead-assigned", "Everyone else").await;
    type_into(
        &c,
        "#contact-note",
        "Called on WhatsApp, sending the catalogue",
    )
    .await;
    choose(&c, "#contact-kind", "whatsapp").await;
    wait_css(&c, "#contact-submit").await.click().await.unwrap();
    wait_css(&c, "#contact-logged").await;
    wait_text(&c, "#contacts", "sending the catalogue").await;
    shot(&c, "lead-contact-desktop-en").await;
    // The server closes the first-contact task; the rep sees it under Done.
    wait_css(&c, "#nav-tasks").await.click().await.unwrap();
    wait_css(&c, "#tab-done").await.click().await.unwrap();
    let done = wait_text(&c, ".task-item", "E2E Task Buyer").await;
    assert!(done.contains("王磊 Wang Lei"), "closed by the rep: {done}");
    // The tasks shown export: one row each, the type and state named, the deadline a date-time cell.
    let shown = c.find_all(Locator::Css(".task-item")).await.unwrap().len();
    wait_css(&c, "#export-tasks").await.click().await.unwrap();
    let sheet = exported(&c, "#export-tasks-saved").await;
    assert_eq!(sheet.height(), shown + 1, "a header and every task shown");
    let row = (1..sheet.height())
        .find(|r| matches!(sheet.get((*r, 3)), Some(calamine::Data::String(s)) if s.contains("E2E Task Buyer")))
        .expect("the closed first-contact task is in the export");
    assert_eq!(
        (sheet.get((row, 1)), sheet.get((row, 5))),
        (
            Some(&calamine::Data::String("First contact".into())),
            Some(&calamine::Data::String("Done".into()))
        )
    );
    assert!(matches!(
        sheet.get((row, 4)),
        Some(calamine::Data::DateTime(_))
    ));
    c.set_window_size(390, 844).await.unwrap();
    wait_css(&c, "#lang-switch").await.click().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    shot(&c, "tasks-phone-zh").await;
    a.close().await.unwrap();

    // The manager (instance B, in Chinese) opens the assignment rules and tries a sample lead from Germany.
    wait_css(&b, "#nav-tasks").await.click().await.unwrap();
    wait_css(&b, "#tasks-team").await.click().await.unwrap();
    wait_text(&b, "#team-tasks", "王磊 Wang Lei").await;
    shot(&b, "tasks-team-desktop-zh").await;
    // The team table exports in the manager's language (Chinese), one row per person shown.
    let people = b
        .find_all(Locator::Css("#team-tasks tbody tr"))
        .await
        .unwrap()
        .len();
    wait_css(&b, "#export-team-tasks")
        .await
        .click()
        .await
        .unwrap();
    let saved = wait_text(&b, "#export-team-tasks-saved", "/").await;
    let path = saved
        .rsplit_once(['：', ' '])
        .map(|(_, p)| p)
        .unwrap_or(&saved)
        .trim()
        .to_string();
    let mut book = calamine::open_workbook_auto(&path).expect("the team export opens");
    let sheet = {
        use calamine::Reader;
        let name = book.sheet_names()[0].clone();
        book.worksheet_range(&name).unwrap()
    };
    assert_eq!(sheet.height(), people + 1);
    assert!(
        (1..sheet.height())
            .any(|r| sheet.get((r, 0)) == Some(&calamine::Data::String("王磊 Wang Lei".into()))),
        "the rep's row is there"
    );
    wait_css(&b, "#open-rules").await.click().await.unwrap();
    wait_css(&b, "#rule-list .rule").await;
    choose(&b, "#dry-country", "DE").await;
    wait_css(&b, "#dry-run-submit").await.click().await.unwrap();
    wait_text(&b, "#dry-result", "Emily Chen").await;
    shot(&b, "rules-desktop-zh").await;
    b.set_window_size(390, 844).await.unwrap();
    b.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    shot(&b, "rules-phone-zh").await;

    c.close().await.unwrap();

    // An admin sees the team: members with roles, devices, and the audit log naming who created the lead.
    let d = open_app(&driver_a, &tmp.path().join("d"), &url).await;
    sign_in(&d, "admin@demo.liveline").await;
    wait_css(&d, "#nav-team").await.click().await.unwrap();
    wait_text(&d, ".member-row", "Wang Lei").await;
    wait_text(&d, ".audit-row", "Lin Xiaoyu").await;
    shot(&d, "team-desktop-en").await;
    // A refused invite says why beside the form and keeps what was typed.
    type_into(&d, "#invite-email", "new.rep@demo.liveline").await;
    type_into(&d, "#invite-name", "New Rep").await;
    type_into(&d, "#invite-password", "short").await;
    wait_css(&d, "#invite-submit").await.click().await.unwrap();
    let err = wait_css(&d, "#invite-error").await.text().await.unwrap();
    assert!(err.contains('8'), "the minimum length is named: {err}");
    let kept = wait_css(&d, "#invite-email")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(kept.as_deref(), Some("new.rep@demo.liveline"));
    type_into(&d, "#invite-password", "long enough").await;
    wait_css(&d, "#invite-submit").await.click().await.unwrap();
    wait_text(&d, ".member-row", "new.rep@demo.liveline").await;
    // Group-bot webhooks: a bad address is refused beside the form; a good one is listed, its secret never shown.
    choose(&d, "#hook-kind", "dingtalk").await;
    type_into(&d, "#hook-url", "ftp://bot.example").await;
    type_into(&d, "#hook-secret", "SECsecret").await;
    wait_css(&d, "#hook-add").await.click().await.unwrap();
    wait_text(&d, "#hook-error", "http").await;
    type_into(
        &d,
        "#hook-url",
        "http://127.0.0.1:9/robot/send?access_token=e2e",
    )
    .await;
    wait_css(&d, "#hook-add").await.click().await.unwrap();
    let row = wait_text(&d, ".hook-row", "127.0.0.1:9").await;
    assert!(!row.contains("SECsecret"), "the secret is not shown: {row}");
    d.execute(
        "document.querySelector('#webhooks').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&d, "webhooks-desktop-en").await;
    d.set_window_size(390, 844).await.unwrap();
    wait_css(&d, "#lang-switch").await.click().await.unwrap();
    d.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    shot(&d, "team-phone-zh").await;
    d.close().await.unwrap();

    b.close().await.unwrap();
    server.stop().await;
}

/// The number in the list's "N leads" line (waits while the list is loading and the line is empty).
async fn lead_total(c: &Client) -> u64 {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let text = wait_css(c, "#lead-total")
            .await
            .text()
            .await
            .unwrap_or_default();
        let digits: String = text.chars().filter(|ch| ch.is_ascii_digit()).collect();
        if let Ok(n) = digits.parse() {
            return n;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no count in {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element `css` once it is there.
async fn click(c: &Client, css: &str) {
    let e = wait_css(c, css).await;
    if e.click().await.is_err() {
        // Covered (a sticky bar, the bottom navigation): bring it to the middle of the window and try again.
        c.execute(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
            vec![json!(css)],
        )
        .await
        .unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        wait_css(c, css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("{css} cannot be clicked: {e}"));
    }
}

/// Waits until the record screen shows the flow status `text` (in English).
async fn wait_status(c: &Client, text: &str) {
    wait_text(c, "#record-status", text).await;
}

/// Opens the order whose list line contains `customer` from the Approvals list.
async fn open_order(c: &Client, customer: &str) {
    click(c, "#nav-records").await;
    wait_text(c, ".record-item", customer).await;
    c.execute(
        "for (const b of document.querySelectorAll('.record-item')) { if (b.textContent.includes(arguments[0])) { b.click(); break; } }",
        vec![json!(customer)],
    )
    .await
    .unwrap();
    wait_css(c, "#record-status").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_adds_a_lead_field_and_an_order_is_approved_after_a_rejection() {
    let Rig {
        _turn,
        tmp,
        server,
        url,
    } = rig().await;
    let driver_a = start_driver().await;
    let driver_b = start_driver().await;
    let driver_c = start_driver().await;

    // The admin adds a required "Incoterm" field to the lead form, looks at it at phone width, and publishes.
    let admin = open_app(&driver_a, &tmp.path().join("admin"), &url).await;
    sign_in(&admin, "admin@demo.liveline").await;
    click(&admin, "#nav-team").await;
    click(&admin, "#open-forms").await;
    wait_css(&admin, "#fb-fields [data-key='buyer_name']").await;
    type_into(&admin, "#fb-new-key", "incoterm").await;
    type_into(&admin, "#fb-new-en", "Incoterm").await;
    type_into(&admin, "#fb-new-zh", "贸易术语").await;
    click(&admin, "#fb-new-required").await;
    click(&admin, "#fb-add").await;
    wait_css(&admin, "#fb-fields [data-key='incoterm']").await;
    wait_css(&admin, "#preview-incoterm").await;
    // Move it up next to the company.
    for _ in 0..12 {
        let idx: usize = admin
            .execute(
                "return [...document.querySelectorAll('#fb-fields > li')].findIndex(l => l.dataset.key === 'incoterm');",
                vec![],
            )
            .await
            .unwrap()
            .as_u64()
            .unwrap() as usize;
        if idx <= 2 {
            break;
        }
        click(&admin, &format!("#fb-up-{idx}")).await;
    }
    let order: Vec<String> = serde_json::from_value(
        admin
            .execute(
                "return [...document.querySelectorAll('#fb-preview [data-field]')].map(e => e.dataset.field);",
                vec![],
            )
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        order[2], "incoterm",
        "the preview follows the new order: {order:?}"
    );
    admin
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .unwrap();
    shot(&admin, "form-builder-desktop-en").await;
    click(&admin, "#fb-publish").await;
    wait_text(&admin, "#fb-published", "version 2").await;
    wait_text(&admin, "#fb-version", "2").await;
    admin.set_window_size(390, 844).await.unwrap();
    click(&admin, "#lang-switch").await;
    click(&admin, "#fb-preview-phone").await;
    shot(&admin, "form-builder-phone-zh").await;
    click(&admin, "#tab-flows").await;
    wait_css(&admin, "#fd-nodes [data-node='finance']").await;
    shot(&admin, "flow-designer-phone-zh").await;
    admin.set_window_size(1280, 800).await.unwrap();
    click(&admin, "#lang-switch").await;
    // A faulty condition is refused, naming the step; the team keeps the published flow.
    let before = wait_css(&admin, "#fd-version").await.text().await.unwrap();
    click(&admin, "#fd-edit-0").await;
    type_into(&admin, "#fd-when-0-0", "totl > 5000").await;
    click(&admin, "#fd-publish").await;
    let err = wait_text(&admin, "#fd-errors", "sales").await;
    assert!(
        err.contains("totl"),
        "the fault names the unknown field: {err}"
    );
    admin
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .unwrap();
    shot(&admin, "flow-designer-error-desktop-en").await;
    assert_eq!(
        wait_css(&admin, "#fd-version").await.text().await.unwrap(),
        before
    );
    // Fixed, a step added and removed again, finance given 12 hours: published as version 2.
    type_into(
        &admin,
        "#fd-when-0-0",
        r#"currency == "USD" && total > 5000"#,
    )
    .await;
    click(&admin, "#fd-add-after-0").await;
    wait_css(&admin, "#fd-nodes [data-node^='step_']").await;
    click(&admin, "#fd-remove-1").await;
    let steps: u64 = admin
        .execute(
            "return document.querySelectorAll('#fd-nodes [data-node]').length;",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    assert_eq!(steps, 5, "the added step is gone again");
    click(&admin, "#fd-edit-2").await;
    type_into(&admin, "#fd-limit-2", "720").await;
    click(&admin, "#fd-publish").await;
    wait_text(&admin, "#fd-published", "version 2").await;
    admin.close().await.unwrap();

    // The assistant's capture screen, on another instance, shows the new field after sync and requires it.
    let assistant = open_app(&driver_b, &tmp.path().join("assistant"), &url).await;
    sign_in(&assistant, "assistant@demo.liveline").await;
    wait_css(&assistant, "#lead-incoterm").await;
    type_into(&assistant, "#lead-buyer_name", "Incoterm Buyer").await;
    choose(&assistant, "#lead-country", "US").await;
    type_into(&assistant, "#lead-email", "buyer@incoterm.example").await;
    choose(&assistant, "#lead-channel", "tiktok_live").await;
    click(&assistant, "#lead-save").await;
    let err = wait_css(&assistant, "#lead-incoterm-error")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        err.contains("required") || err.contains("Required"),
        "{err}"
    );
    shot(&assistant, "capture-added-field-error-desktop-en").await;
    type_into(&assistant, "#lead-incoterm", "FOB").await;
    click(&assistant, "#lead-save").await;
    wait_text(&assistant, "#save-status", "Incoterm Buyer").await;
    assistant.set_window_size(390, 844).await.unwrap();
    click(&assistant, "#lang-switch").await;
    wait_css(&assistant, "#lead-incoterm").await;
    assistant
        .execute(
            "document.querySelector('#lead-incoterm').scrollIntoView({block: 'center'});",
            vec![],
        )
        .await
        .unwrap();
    shot(&assistant, "capture-added-field-phone-zh").await;
    assistant.close().await.unwrap();

    // The rep writes an order; a bad price is named on its line and nothing is lost.
    let rep = open_app(&driver_a, &tmp.path().join("rep"), &url).await;
    sign_in(&rep, "rep1@demo.liveline").await;
    click(&rep, "#nav-records").await;
    wait_css(&rep, "#records-empty").await;
    shot(&rep, "records-empty-desktop-en").await;
    click(&rep, "#record-new").await;
    type_into(&rep, "#rec-customer", "Atlas Imports").await;
    choose(&rep, "#rec-sales_rep", "u-rep1").await;
    choose(&rep, "#rec-currency", "USD").await;
    click(&rep, "#rec-add-row").await;
    type_into(&rep, "#rec-lines-0-sku", "SKU-LAMP").await;
    type_into(&rep, "#rec-lines-0-quantity", "3").await;
    type_into(&rep, "#rec-lines-0-unit_price", "19.9x").await;
    type_into(&rep, "#rec-ship_to_name", "Ana Atlas").await;
    type_into(&rep, "#rec-ship_to_address", "1 Harbor Rd, Oakland CA").await;
    choose(&rep, "#rec-ship_to_country", "US").await;
    choose(&rep, "#rec-payment_method", "paypal").await;
    click(&rep, "#record-save").await;
    let cell = wait_css(&rep, "td .field-error")
        .await
        .text()
        .await
        .unwrap();
    assert!(cell.contains("number"), "the line's price error: {cell}");
    assert_eq!(
        wait_css(&rep, "#rec-customer")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Atlas Imports")
    );
    rep.execute(
        "document.querySelector('td .field-error').scrollIntoView({block: 'center'});",
        vec![],
    )
    .await
    .unwrap();
    shot(&rep, "order-error-desktop-en").await;
    type_into(&rep, "#rec-lines-0-unit_price", "19.99").await;
    click(&rep, "#record-save").await;
    wait_css(&rep, "#record-saved").await;
    wait_text(&rep, "#rec-total", "59.97").await;
    wait_status(&rep, "Draft").await;
    click(&rep, "#act-submit").await;
    click(&rep, "#act-approve").await;
    wait_status(&rep, "In approval").await;
    wait_text(&rep, ".flow-node.current", "Finance").await;
    wait_text(
        &rep,
        ".flow-node[data-node='finance']",
        "time limit 720 min",
    )
    .await;
    rep.execute("window.scrollTo(0, 0);", vec![]).await.unwrap();
    shot(&rep, "order-running-desktop-en").await;

    // Finance sends it back with a reason.
    let finance = open_app(&driver_b, &tmp.path().join("finance"), &url).await;
    sign_in(&finance, "finance@demo.liveline").await;
    click(&finance, "#nav-records").await;
    let line = wait_text(&finance, ".record-item", "Atlas Imports").await;
    assert!(
        line.contains("Waiting for you") && line.contains("59.97 USD"),
        "{line}"
    );
    assert!(
        finance.find(Locator::Css("#record-new")).await.is_err(),
        "finance confirms orders but does not write them"
    );
    shot(&finance, "records-finance-desktop-en").await;
    open_order(&finance, "Atlas Imports").await;
    type_into(&finance, "#record-comment", "Price on stream was 24.99").await;
    click(&finance, "#act-reject").await;
    wait_status(&finance, "Sent back").await;

    // The rep fixes the price and submits again; finance approves.
    wait_status(&rep, "Sent back").await;
    type_into(&rep, "#rec-lines-0-unit_price", "24.99").await;
    click(&rep, "#record-save").await;
    wait_text(&rep, "#rec-total", "74.97").await;
    click(&rep, "#act-submit").await;
    click(&rep, "#act-approve").await;
    wait_text(&rep, ".flow-node.current", "Finance").await;
    wait_text(&finance, ".flow-node.current", "Finance").await;
    wait_css(&finance, "#act-approve").await;
    click(&finance, "#act-approve").await;
    wait_text(&finance, ".flow-node.current", "Warehouse").await;
    finance.set_window_size(390, 844).await.unwrap();
    click(&finance, "#lang-switch").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    finance
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .unwrap();
    shot(&finance, "order-phone-zh").await;
    finance.close().await.unwrap();

    // The warehouse may not finish without a tracking number; it writes one and ships.
    let warehouse = open_app(&driver_c, &tmp.path().join("warehouse"), &url).await;
    sign_in(&warehouse, "warehouse@demo.liveline").await;
    open_order(&warehouse, "Atlas Imports").await;
    assert!(
        wait_css(&warehouse, "#rec-customer")
            .await
            .prop("disabled")
            .await
            .unwrap()
            .as_deref()
            == Some("true"),
        "the warehouse cannot change the customer"
    );
    click(&warehouse, "#act-approve").await;
    wait_text(&warehouse, ".form-error", "Tracking number").await;
    type_into(&warehouse, "#rec-tracking_no", "1Z999AA10123456784").await;
    click(&warehouse, "#record-save").await;
    wait_css(&warehouse, "#record-saved").await;
    click(&warehouse, "#act-approve").await;
    wait_status(&warehouse, "Approved").await;

    // Everyone sees the same trail: who did what, in order, the rejection with its reason.
    wait_status(&rep, "Approved").await;
    let trail = wait_css(&rep, "#record-trail").await.text().await.unwrap();
    let heads: Vec<String> = serde_json::from_value(
        rep.execute(
            "return [...document.querySelectorAll('#record-trail .trail-head')].map(e => e.textContent);",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let acts: Vec<&str> = heads
        .iter()
        .filter(|h| !h.contains("Edited"))
        .filter_map(|l| l.split(" · ").nth(1))
        .collect();
    let edits: Vec<&String> = heads.iter().filter(|h| h.contains("Edited")).collect();
    assert_eq!(edits.len(), 3, "{heads:?}");
    assert!(
        edits[1].contains("Wang Lei") && edits[1].ends_with("Edited Unit price (line 1)"),
        "{heads:?}"
    );
    assert!(
        edits[2].contains("Sun Qiang") && edits[2].ends_with("Edited Tracking number"),
        "{heads:?}"
    );
    assert_eq!(
        acts,
        [
            "Submit",
            "Approve",
            "Send back",
            "Submit",
            "Approve",
            "Approve",
            "Approve"
        ],
        "{trail}"
    );
    assert!(trail.contains("Price on stream was 24.99"), "{trail}");
    rep.execute(
        "document.querySelector('#record-trail').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&rep, "order-approved-desktop-en").await;
    // The order list exports with the amount as money in its currency.
    click(&rep, "#nav-records").await;
    wait_text(&rep, ".record-item", "74.97 USD").await;
    click(&rep, "#export-records").await;
    let sheet = exported(&rep, "#export-records-saved").await;
    assert_eq!(
        sheet.get((0, 1)),
        Some(&calamine::Data::String("Amount".into()))
    );
    let amounts: Vec<&calamine::Data> = (1..sheet.height())
        .filter_map(|r| sheet.get((r, 1)))
        .collect();
    assert!(
        amounts.contains(&&calamine::Data::Float(74.97)),
        "the order's amount is a number in the sheet: {amounts:?}"
    );
    warehouse.close().await.unwrap();
    rep.close().await.unwrap();
    server.stop().await;
}

/// Waits until the element `css`'s rendered text (`innerText`, which counts sticky row headers that WebDriver's
/// visible-text rule leaves out) contains `text`.
async fn wait_inner_text(c: &Client, css: &str, text: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = c
            .execute(
                "return document.querySelector(arguments[0])?.innerText ?? '';",
                vec![json!(css)],
            )
            .await
            .unwrap_or_default();
        if got.as_str().is_some_and(|t| t.contains(text)) {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            shot(c, "failed-wait").await;
            panic!("no {css} with text {text:?}; it shows: {got}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The number in the dashboard table's total row at `stage`.
async fn total_at(c: &Client, stage: &str) -> u64 {
    let css = format!("#dash-table tr.total td[data-stage='{stage}']");
    let text = wait_css(c, &css).await.text().await.unwrap();
    text.chars()
        .filter(|ch| ch.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or_else(|_| panic!("{css} shows no number: {text:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_sees_a_new_lead_on_the_live_session_dashboard_and_drills_into_it() {
    let Rig {
        _turn,
        tmp,
        server,
        url,
    } = rig().await;
    let driver_a = start_driver().await;
    let driver_b = start_driver().await;

    let manager = open_app(&driver_a, &tmp.path().join("manager"), &url).await;
    sign_in(&manager, "manager@demo.liveline").await;
    manager.set_window_size(1280, 900).await.unwrap();
    click(&manager, "#nav-dashboards").await;
    click(&manager, "#period-all").await;
    wait_css(&manager, "#chart-funnel svg").await;
    let demo = total_at(&manager, "captured").await;

    // The manager imports the team's spreadsheet: 3,000 buyers (a Chinese header, phones typed as numbers), one
    // with a bad phone and one without a name.
    let book_path = tmp.path().join("买家名单.xlsx");
    {
        let mut book = rust_xlsxwriter::Workbook::new();
        let s = book.add_worksheet();
        for (c, h) in ["姓名", "国家", "手机号", "渠道"].iter().enumerate() {
            s.write_string(0, c as u16, *h).unwrap();
        }
        for i in 0..3_000u32 {
            let r = i + 1;
            let name = match i {
                7 => String::new(),
                _ => format!("Sheet Buyer {i}"),
            };
            s.write_string(r, 0, name).unwrap();
            s.write_string(r, 1, "US").unwrap();
            if i == 3 {
                s.write_string(r, 2, "12345").unwrap();
            } else {
                s.write_number(r, 2, 2_025_560_000.0 + i as f64).unwrap();
            }
            s.write_string(r, 3, "facebook").unwrap();
        }
        book.save(&book_path).unwrap();
    }
    click(&manager, "#nav-leads").await;
    click(&manager, "#open-import").await;
    wait_css(&manager, "#import-file")
        .await
        .send_keys(book_path.to_str().unwrap())
        .await
        .unwrap();
    wait_text(&manager, "#import-rows", "3,000").await;
    let guessed = manager
        .execute(
            "return [0,1,2,3].map(c => document.getElementById('map-' + c).value).join(',');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        guessed,
        json!("buyer_name,country,phone,channel"),
        "the Chinese headers are recognised"
    );
    shot(&manager, "import-mapping-desktop-en").await;
    click(&manager, "#import-start").await;
    if wait_css(&manager, "#import-progress, #import-done")
        .await
        .attr("id")
        .await
        .unwrap()
        .as_deref()
        == Some("import-progress")
    {
        shot(&manager, "import-progress-desktop-en").await;
    }
    let summary = wait_text(&manager, "#import-summary", "imported").await;
    assert!(
        summary.contains("2,998 imported, 2 refused, 0 duplicates"),
        "{summary}"
    );
    wait_css(&manager, "#import-report tr[data-row='5']").await;
    wait_css(&manager, "#import-report tr[data-row='9']").await;
    let rows = manager
        .find_all(Locator::Css("#import-report tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2, "the report lists exactly the bad rows");
    let bad_phone = wait_css(&manager, "#import-report tr[data-row='5']")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        bad_phone.contains("Phone"),
        "the reason names the field: {bad_phone}"
    );
    shot(&manager, "import-report-desktop-en").await;
    click(&manager, "#import-download").await;
    let saved = wait_text(&manager, "#import-saved", "Saved to").await;
    let report_path = saved.trim_start_matches("Saved to").trim().to_string();
    let mut report =
        calamine::open_workbook_auto(&report_path).expect("the report opens as a workbook");
    use calamine::Reader;
    let sheet = report.sheet_names()[0].clone();
    let range = report.worksheet_range(&sheet).unwrap();
    assert_eq!(range.height(), 3, "a header and the two bad rows");
    assert_eq!(range.get((1, 0)), Some(&calamine::Data::Float(5.0)));
    manager.set_window_size(390, 844).await.unwrap();
    click(&manager, "#lang-switch").await;
    wait_text(&manager, "#import-summary", "导入").await;
    shot(&manager, "import-report-phone-zh").await;
    click(&manager, "#lang-switch").await;
    manager.set_window_size(1280, 900).await.unwrap();

    // The whole lead list exports (all pages), with English headers, names for codes, and capture times.
    click(&manager, "#nav-leads").await;
    let listed = lead_total(&manager).await;
    click(&manager, "#export-leads").await;
    let sheet = exported(&manager, "#export-leads-saved").await;
    assert_eq!(sheet.height() as u64, listed + 1, "a header and every lead");
    assert_eq!(
        sheet.get((0, 0)),
        Some(&calamine::Data::String("Buyer name".into()))
    );
    let row = (1..sheet.height())
        .find(|r| sheet.get((*r, 0)) == Some(&calamine::Data::String("Sheet Buyer 11".into())))
        .expect("an imported buyer is in the export");
    assert_eq!(
        (sheet.get((row, 2)), sheet.get((row, 5))),
        (
            Some(&calamine::Data::String("United States".into())),
            Some(&calamine::Data::String("Facebook".into()))
        )
    );
    assert!(
        matches!(sheet.get((row, 12)), Some(calamine::Data::DateTime(_))),
        "the capture time is a date-time cell: {:?}",
        sheet.get((row, 12))
    );

    click(&manager, "#nav-dashboards").await;
    click(&manager, "#period-all").await;
    wait_css(&manager, "#chart-funnel svg").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while total_at(&manager, "captured").await != demo + 2_998 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the imported leads never reached the dashboard"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The live-session board exports with the same numbers.
    click(&manager, "#export-table").await;
    let saved = wait_text(&manager, "#export-saved", "Saved to").await;
    let export_path = saved.trim_start_matches("Saved to").trim().to_string();
    let mut book =
        calamine::open_workbook_auto(&export_path).expect("the export opens as a workbook");
    let sheet = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&sheet).unwrap();
    let last = range.height() - 1;
    assert_eq!(
        range.get((0, 1)),
        Some(&calamine::Data::String("Captured".into()))
    );
    assert_eq!(
        range.get((last, 0)),
        Some(&calamine::Data::String("Total".into()))
    );
    assert_eq!(
        range.get((last, 1)),
        Some(&calamine::Data::Float((demo + 2_998) as f64)),
        "the exported total is the one on screen"
    );

    let before = total_at(&manager, "captured").await;
    assert!(before > 0, "the demo team's leads are counted");

    // An assistant on another device captures a buyer; the manager's board counts it without a reload.
    let assistant = open_app(&driver_b, &tmp.path().join("assistant"), &url).await;
    sign_in(&assistant, "assistant@demo.liveline").await;
    type_into(&assistant, "#lead-buyer_name", "Dashboard Buyer").await;
    choose(&assistant, "#lead-country", "DE").await;
    type_into(&assistant, "#lead-phone", "030 901821").await;
    choose(&assistant, "#lead-channel", "tiktok_live").await;
    click(&assistant, "#lead-save").await;
    wait_text(&assistant, "#save-status", "Dashboard Buyer").await;

    let deadline = tokio::time::Instant::now() + WAIT;
    while total_at(&manager, "captured").await != before + 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new lead never reached the manager's dashboard"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    shot(&manager, "dashboard-sessions-desktop-en").await;

    // The total "Captured" opens the leads behind it, newest first: the new buyer on top.
    click(
        &manager,
        "#dash-table tr.total td[data-stage='captured'] button",
    )
    .await;
    let title = wait_text(&manager, "#drill-title", "leads").await;
    let n = (before + 1).to_string();
    let grouped = format!("{},{}", &n[..n.len() - 3], &n[n.len() - 3..]);
    assert!(
        title.contains(&grouped),
        "the drill-down lists as many leads as the number said: {title}"
    );
    let first = wait_css(&manager, "#drill-list li")
        .await
        .text()
        .await
        .unwrap();
    assert!(first.contains("Dashboard Buyer"), "newest first: {first}");
    shot(&manager, "dashboard-drill-desktop-en").await;

    // Per rep: the German buyer went to Emily (the demo team's rule), whose row shows it.
    click(&manager, "#board-reps").await;
    wait_inner_text(&manager, "#dash-table", "Emily").await;
    manager
        .execute(
            "document.querySelector('#dash-table').scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    shot(&manager, "dashboard-reps-table-desktop-en").await;
    click(&manager, "#board-response").await;
    wait_css(&manager, "#uncontacted, #uncontacted-empty").await;
    // The oldest waiting leads first (the list shows the first 100 of them; the count is of all).
    wait_text(
        &manager,
        "#dash-uncontacted-count",
        "leads wait for a first contact",
    )
    .await;
    wait_css(&manager, "#uncontacted li").await;
    shot(&manager, "dashboard-response-desktop-en").await;
    click(&manager, "#board-approvals").await;
    wait_css(&manager, "#steps-table, #steps-empty").await;
    shot(&manager, "dashboard-approvals-desktop-en").await;

    // A custom range that ends before it starts is refused where the manager looks.
    click(&manager, "#board-sessions").await;
    click(&manager, "#period-custom").await;
    type_into(&manager, "#period-from", "2026-12-05").await;
    type_into(&manager, "#period-to", "2026-12-01").await;
    manager
        .execute(
            "for (const id of ['period-from', 'period-to']) { const e = document.getElementById(id);
             e.value = id === 'period-from' ? '2026-12-05' : '2026-12-01';
             e.dispatchEvent(new Event('change', {bubbles: true})); }",
            vec![],
        )
        .await
        .unwrap();
    wait_text(&manager, ".form-error", "ends before it starts").await;
    click(&manager, "#period-all").await;
    wait_css(&manager, "#chart-funnel svg").await;

    // On a phone and in Chinese.
    manager.set_window_size(390, 844).await.unwrap();
    click(&manager, "#lang-switch").await;
    click(&manager, "#board-sessions").await;
    wait_css(&manager, "#chart-funnel svg").await;
    wait_inner_text(&manager, "#dash-table", "合计").await;
    shot(&manager, "dashboard-sessions-phone-zh").await;
    click(&manager, "#board-response").await;
    wait_css(&manager, "#uncontacted").await;
    shot(&manager, "dashboard-response-phone-zh").await;
    manager.set_window_size(1280, 900).await.unwrap();
    click(&manager, "#board-sessions").await;
    wait_css(&manager, "#chart-funnel svg").await;
    shot(&manager, "dashboard-sessions-desktop-zh").await;
    click(&manager, "#lang-switch").await;
    manager.set_window_size(390, 844).await.unwrap();
    wait_css(&manager, "#chart-funnel svg").await;
    shot(&manager, "dashboard-sessions-phone-en").await;

    manager.close().await.unwrap();
    assistant.close().await.unwrap();
    server.stop().await;
}

/// The first sheet of the file an export button wrote (its path is on screen under the button, as `Saved to …`).
async fn exported(c: &Client, saved_css: &str) -> calamine::Range<calamine::Data> {
    use calamine::Reader;
    let saved = wait_text(c, saved_css, "Saved to").await;
    let path = saved.trim_start_matches("Saved to").trim().to_string();
    let mut book = calamine::open_workbook_auto(&path).expect("the export opens as a workbook");
    let sheet = book.sheet_names()[0].clone();
    book.worksheet_range(&sheet).unwrap()
}

/// The titles of the custom dashboard's widgets, in their shown order.
async fn widget_titles(c: &Client) -> Vec<String> {
    let v = c
        .execute(
            "return [...document.querySelectorAll('#widgets .widget .widget-title')].map(e => e.textContent);",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

async fn wait_titles(c: &Client, want: &[&str]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let got = widget_titles(c).await;
        if got == want {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            shot(c, "failed-wait").await;
            panic!("widgets {got:?}, expected {want:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Adds a widget through the form.
async fn add_widget(
    c: &Client,
    title: &str,
    measure: &str,
    stage: Option<&str>,
    dim: &str,
    chart: &str,
) {
    type_into(c, "#w-title", title).await;
    choose(c, "#w-measure", measure).await;
    if let Some(s) = stage {
        choose(c, "#w-stage", s).await;
    }
    choose(c, "#w-dim", dim).await;
    choose(c, "#w-chart", chart).await;
    click(c, "#w-add").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_composes_a_custom_dashboard_and_a_sales_lead_sees_it_arranged() {
    let Rig {
        _turn,
        tmp,
        server,
        url,
    } = rig().await;
    let driver_a = start_driver().await;
    let driver_b = start_driver().await;

    let manager = open_app(&driver_a, &tmp.path().join("manager"), &url).await;
    sign_in(&manager, "manager@demo.liveline").await;
    manager.set_window_size(1280, 900).await.unwrap();
    click(&manager, "#nav-dashboards").await;
    click(&manager, "#board-custom").await;
    wait_text(&manager, "#custom-empty", "No custom dashboard yet").await;
    click(&manager, "#period-all").await;
    click(&manager, "#custom-new").await;
    type_into(&manager, "#custom-title-new", "Weekly review").await;
    click(&manager, "#custom-create").await;
    wait_text(&manager, "#widgets-empty", "no widgets").await;

    add_widget(
        &manager,
        "Captured per channel",
        "count",
        Some("captured"),
        "channel",
        "bar",
    )
    .await;
    wait_titles(&manager, &["Captured per channel"]).await;
    add_widget(
        &manager,
        "Won rate per team",
        "conversion",
        Some("won"),
        "team",
        "table",
    )
    .await;
    wait_titles(&manager, &["Captured per channel", "Won rate per team"]).await;
    // A filtered widget: TikTok leads only, per country, as a table.
    type_into(&manager, "#w-title", "TikTok per country").await;
    choose(&manager, "#w-dim", "country").await;
    choose(&manager, "#w-chart", "table").await;
    choose(&manager, "#w-filter-dim", "channel").await;
    wait_css(&manager, "#w-filter-key option[value='tiktok_live']").await;
    choose(&manager, "#w-filter-key", "tiktok_live").await;
    click(&manager, "#w-add").await;
    wait_titles(
        &manager,
        &[
            "Captured per channel",
            "Won rate per team",
            "TikTok per country",
        ],
    )
    .await;
    // An empty title is refused where the manager looks, and nothing is added.
    type_into(&manager, "#w-title", " ").await;
    click(&manager, "#w-add").await;
    wait_text(&manager, "#custom-error", "title").await;
    assert_eq!(widget_titles(&manager).await.len(), 3);

    // Drag "TikTok per country" onto the first widget: it goes first.
    manager
        .execute(
            "const w = [...document.querySelectorAll('#widgets .widget')];
             const src = w[2].querySelector('.widget-head');
             src.dispatchEvent(new DragEvent('dragstart', {bubbles: true}));
             w[0].dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true}));
             w[0].dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true}));
             src.dispatchEvent(new DragEvent('dragend', {bubbles: true}));",
            vec![],
        )
        .await
        .unwrap();
    wait_titles(
        &manager,
        &[
            "TikTok per country",
            "Captured per channel",
            "Won rate per team",
        ],
    )
    .await;
    // And "Captured per channel" one down with its arrow.
    click(&manager, "#widgets .widget:nth-of-type(2) .move-down").await;
    let arranged = [
        "TikTok per country",
        "Won rate per team",
        "Captured per channel",
    ];
    wait_titles(&manager, &arranged).await;
    // The filtered table counts only TikTok leads: its rows add up to the TikTok row of the Channels board.
    wait_css(&manager, "#widgets .widget:nth-of-type(1) .widget-table tr").await;
    let summed = manager
        .execute(
            "return [...document.querySelectorAll('#widgets .widget:nth-of-type(1) .widget-table td.num')]
               .reduce((n, e) => n + Number(e.textContent.replace(/\\D/g, '')), 0);",
            vec![],
        )
        .await
        .unwrap()
        .as_u64()
        .unwrap();
    manager
        .execute("window.scrollTo(0, 0);", vec![])
        .await
        .unwrap();
    shot(&manager, "custom-dashboard-desktop-en").await;
    click(&manager, "#board-channels").await;
    let tiktok = wait_css(
        &manager,
        "#dash-table tr[data-key='tiktok_live'] td[data-stage='captured']",
    )
    .await
    .text()
    .await
    .unwrap()
    .replace(',', "");
    assert!(summed > 0);
    assert_eq!(
        summed.to_string(),
        tiktok,
        "the filtered widget counts the TikTok leads, no more"
    );
    click(&manager, "#board-custom").await;
    wait_titles(&manager, &arranged).await;
    // The widget exports with the same numbers.
    click(&manager, "#widgets .widget:nth-of-type(1) .export-widget").await;
    let sheet = exported(&manager, "#export-widget-saved").await;
    assert_eq!(
        (sheet.get((0, 0)), sheet.get((0, 1))),
        (
            Some(&calamine::Data::String("Country".into())),
            Some(&calamine::Data::String("Count".into()))
        )
    );
    let in_file: f64 = (1..sheet.height())
        .filter_map(|r| match sheet.get((r, 1)) {
            Some(calamine::Data::Float(v)) => Some(*v),
            Some(calamine::Data::Int(v)) => Some(*v as f64),
            _ => None,
        })
        .sum();
    assert_eq!(
        in_file as u64, summed,
        "the exported widget adds up like the screen"
    );

    // The sales lead's device receives it by sync, arranged the same way, and can drill into a number.
    let lead = open_app(&driver_b, &tmp.path().join("lead"), &url).await;
    sign_in(&lead, "lead@demo.liveline").await;
    lead.set_window_size(1280, 900).await.unwrap();
    click(&lead, "#nav-dashboards").await;
    click(&lead, "#board-custom").await;
    click(&lead, "#period-all").await;
    wait_titles(&lead, &arranged).await;
    assert_eq!(
        wait_css(&lead, "#custom-title")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Weekly review")
    );
    click(
        &lead,
        "#widgets .widget:nth-of-type(1) .widget-table tr button.drill",
    )
    .await;
    wait_text(&lead, "#drill-title", "TikTok per country").await;
    let drilled = lead
        .execute(
            "return [...document.querySelectorAll('#drill-list li')].length;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        drilled.as_u64().unwrap_or(0) > 0,
        "the drill-down lists the leads counted"
    );
    click(&lead, "#drill-close").await;
    // Under a bar chart, its numbers open their leads too.
    click(
        &lead,
        "#widgets .widget:nth-of-type(3) details.widget-numbers summary",
    )
    .await;
    click(
        &lead,
        "#widgets .widget:nth-of-type(3) details.widget-numbers button.drill",
    )
    .await;
    wait_text(&lead, "#drill-title", "Captured per channel").await;
    click(&lead, "#drill-close").await;

    // The lead renames it; the manager sees the new title.
    // Typed and left (the change event saves it).
    choose(&lead, "#custom-title", "周报 Weekly").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let v = wait_css(&manager, "#custom-title")
            .await
            .prop("value")
            .await
            .unwrap();
        if v.as_deref() == Some("周报 Weekly") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rename never reached the manager: {v:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Looked at: phone size in Chinese, desktop in Chinese.
    let top = "window.scrollTo(0, 0);";
    click(&lead, "#lang-switch").await;
    wait_text(&lead, "#board-custom", "自定义看板").await;
    lead.execute(top, vec![]).await.unwrap();
    shot(&lead, "custom-dashboard-desktop-zh").await;
    lead.set_window_size(390, 844).await.unwrap();
    lead.execute(top, vec![]).await.unwrap();
    shot(&lead, "custom-dashboard-phone-zh").await;
    lead.execute(
        "document.querySelector('#widget-form').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&lead, "custom-dashboard-form-phone-zh").await;
    click(&lead, "#lang-switch").await;
    lead.execute(top, vec![]).await.unwrap();
    shot(&lead, "custom-dashboard-phone-en").await;
    manager.close().await.unwrap();
    lead.close().await.unwrap();
    server.stop().await;
}

/// Whether the window has an element matching `css` now.
async fn has(c: &Client, css: &str) -> bool {
    c.find(Locator::Css(css)).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cost_hidden_from_reps_is_priced_by_the_category_lead_and_never_reaches_the_reps_window()
{
    let Rig {
        _turn,
        tmp,
        server: _server,
        url,
    } = rig().await;
    let driver_a = start_driver().await;
    let driver_b = start_driver().await;

    // The rep proposes a product: the cost, profit and margin are not on the rep's form at all.
    let rep = open_app(&driver_a, &tmp.path().join("rep"), &url).await;
    sign_in(&rep, "rep1@demo.liveline").await;
    click(&rep, "#nav-records").await;
    choose(&rep, "#record-form", "product_selection").await;
    click(&rep, "#record-new").await;
    type_into(&rep, "#rec-product", "Silk scarf").await;
    for hidden in ["#rec-cost", "#rec-profit", "#rec-margin"] {
        assert!(!has(&rep, hidden).await, "the rep's form shows {hidden}");
    }
    type_into(&rep, "#rec-supplier", "Hangzhou Silk").await;
    type_into(&rep, "#rec-price", "19.90").await;
    type_into(&rep, "#rec-price-currency", "USD").await;
    type_into(&rep, "#rec-shipping", "1.20").await;
    type_into(&rep, "#rec-shipping-currency", "USD").await;
    type_into(&rep, "#rec-platform_fee", "0.80").await;
    type_into(&rep, "#rec-platform_fee-currency", "USD").await;
    choose(&rep, "#rec-category_lead", "u-lead").await;
    click(&rep, "#record-save").await;
    wait_css(&rep, "#record-saved").await;
    click(&rep, "#act-submit").await;
    wait_status(&rep, "In approval").await;
    wait_text(&rep, ".flow-node.current", "Category lead").await;

    // The category lead prices it: a cost that leaves a thin margin, so the proposal goes on to the manager.
    let lead = open_app(&driver_b, &tmp.path().join("lead"), &url).await;
    sign_in(&lead, "lead@demo.liveline").await;
    click(&lead, "#nav-records").await;
    choose(&lead, "#record-form", "product_selection").await;
    open_order(&lead, "Silk scarf").await;
    type_into(&lead, "#rec-cost", "17.00").await;
    type_into(&lead, "#rec-cost-currency", "USD").await;
    click(&lead, "#record-save").await;
    wait_css(&lead, "#record-saved").await;
    wait_text(&lead, "#rec-profit", "0.90").await;
    wait_text(&lead, "#rec-margin", "4.5").await;
    lead.execute(
        "document.querySelector('#rec-price').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&lead, "proposal-lead-desktop-en").await;
    click(&lead, "#act-approve").await;
    wait_text(&lead, ".flow-node.current", "Manager").await;
    lead.set_window_size(390, 844).await.unwrap();
    wait_css(&lead, "#lang-switch").await.click().await.unwrap();
    wait_text(&lead, "#rec-profit", "0.90").await;
    lead.execute("window.scrollTo(0, 0);", vec![])
        .await
        .unwrap();
    shot(&lead, "proposal-lead-phone-zh").await;

    // The rep's window follows the proposal to the manager's step, which the hidden margin decided, and still shows
    // nothing of the cost.
    wait_text(&rep, ".flow-node.current", "Manager").await;
    for hidden in ["#rec-cost", "#rec-profit", "#rec-margin"] {
        assert!(!has(&rep, hidden).await, "the rep's window shows {hidden}");
    }
    let text: String = rep
        .execute("return document.querySelector('#main').innerText;", vec![])
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        !text.contains("17.00") && !text.contains("0.90"),
        "the rep's window shows the cost or the profit: {text}"
    );
    assert!(
        !has(&rep, "#refused-indicator").await && !has(&lead, "#refused-indicator").await,
        "nothing done through the app is refused"
    );
    rep.execute(
        "document.querySelector('#rec-price').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    shot(&rep, "proposal-rep-desktop-en").await;
    // Settings say where the device keeps its sign-in: no keychain under Xvfb, so the encrypted file.
    click(&rep, "#nav-settings").await;
    wait_text(
        &rep,
        "#account-vault",
        "In an encrypted file on this device",
    )
    .await;
    shot(&rep, "settings-vault-desktop-en").await;
    open_order(&rep, "Silk scarf").await;
    rep.set_window_size(390, 844).await.unwrap();
    wait_css(&rep, "#lang-switch").await.click().await.unwrap();
    wait_text(&rep, ".flow-node.current", "经理").await;
    shot(&rep, "proposal-rep-phone-zh").await;
    click(&rep, "#nav-settings").await;
    wait_text(&rep, "#account-vault", "加密文件").await;
    shot(&rep, "settings-vault-phone-zh").await;
    rep.close().await.unwrap();
    lead.close().await.unwrap();

    // The admin sees, in the form builder, which roles see the cost, and can change it there.
    let admin = open_app(&driver_a, &tmp.path().join("admin"), &url).await;
    sign_in(&admin, "admin@demo.liveline").await;
    click(&admin, "#nav-team").await;
    click(&admin, "#open-forms").await;
    choose(&admin, "#fb-form", "product_selection").await;
    let cost = wait_text(&admin, "#fb-fields [data-key='cost']", "Seen by").await;
    assert!(
        cost.contains("Finance") && !cost.contains("Sales rep"),
        "{cost}"
    );
    let idx: i64 = admin
        .execute(
            "return [...document.querySelectorAll('#fb-fields > li')].findIndex(l => l.dataset.key === 'cost');",
            vec![],
        )
        .await
        .unwrap()
        .as_i64()
        .unwrap();
    click(&admin, &format!("#fb-edit-{idx}")).await;
    let ticked: Vec<bool> = {
        let mut out = Vec::new();
        for role in ["sales_rep", "finance"] {
            let e = wait_css(&admin, &format!("#fb-read-{idx}-{role}")).await;
            out.push(e.prop("checked").await.unwrap().as_deref() == Some("true"));
        }
        out
    };
    assert_eq!(ticked, [false, true]);
    shot(&admin, "builder-hidden-field-desktop-en").await;
    admin.set_window_size(390, 844).await.unwrap();
    wait_css(&admin, "#lang-switch")
        .await
        .click()
        .await
        .unwrap();
    wait_text(&admin, "#fb-fields [data-key='cost']", "可见角色").await;
    admin
        .execute(
            "document.querySelector(arguments[0]).scrollIntoView();",
            vec![json!(format!("#fb-read-{idx}"))],
        )
        .await
        .unwrap();
    shot(&admin, "builder-hidden-field-phone-zh").await;
    admin.close().await.unwrap();
}

/// The value of a form control.
async fn value_of(c: &Client, css: &str) -> String {
    wait_css(c, css)
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_assistant_in_two_teams_switches_the_device_to_the_second_and_captures_there() {
    use liveline_sync_server::demo::{TEAM2_ID, TEAM2_SESSION, TEAM_ID};
    let Rig {
        _turn,
        tmp,
        server,
        url,
    } = rig().await;
    let driver_a = start_driver().await;
    let a = open_app(&driver_a, &tmp.path().join("a"), &url).await;
    sign_in(&a, "assistant@demo.liveline").await;
    wait_inner_text(&a, "#team-name", "Demo Trading").await;
    // Something typed before switching stays typed.
    type_into(&a, "#lead-buyer_name", "Two Teams Buyer").await;
    let first_session = value_of(&a, "#lead-live_session").await;
    assert!(!first_session.is_empty() && first_session != TEAM2_SESSION);

    click(&a, "#nav-settings").await;
    wait_css(&a, "#team-select option[value='demo-sz']").await;
    assert_eq!(value_of(&a, "#team-select").await, TEAM_ID);
    shot(&a, "settings-team-desktop-en").await;
    choose(&a, "#team-select", TEAM2_ID).await;
    click(&a, "#team-switch").await;
    wait_text(&a, "#team-switched", "Shenzhen Export").await;
    wait_inner_text(&a, "#team-name", "Shenzhen Export").await;
    shot(&a, "settings-team-switched-desktop-en").await;

    // The capture form now offers the second team's stream, and keeps the name typed before.
    click(&a, "#nav-capture").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while value_of(&a, "#lead-live_session").await != TEAM2_SESSION {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the capture form never offers the second team's live session"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(value_of(&a, "#lead-buyer_name").await, "Two Teams Buyer");
    let offered = a
        .execute(
            "return Array.from(document.querySelectorAll('#lead-live_session option')).map(o => o.value).filter(v => v);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        offered,
        json!([TEAM2_SESSION]),
        "only the second team's sessions are offered"
    );
    choose(&a, "#lead-country", "US").await;
    type_into(&a, "#lead-phone", "(201) 555-0147").await;
    choose(&a, "#lead-channel", "tiktok_live").await;
    click(&a, "#lead-save").await;
    wait_text(&a, "#save-status", "Two Teams Buyer").await;

    // The second team's manager receives it; the first team's manager never does.
    let driver_b = start_driver().await;
    let b = open_app(&driver_b, &tmp.path().join("b"), &url).await;
    sign_in(&b, "manager-sz@demo.liveline").await;
    click(&b, "#nav-leads").await;
    wait_text(&b, ".lead-item", "Two Teams Buyer").await;
    shot(&b, "second-team-manager-list-desktop-en").await;
    let sz = liveline_testkit::Device::ready(&server, tmp.path(), "manager-sz@demo.liveline").await;
    let got = sz.wait_for("Two Teams Buyer").await;
    assert_eq!(
        (got[0].team.as_str(), got[0].live_session.as_str()),
        (TEAM2_ID, TEAM2_SESSION)
    );
    let manager =
        liveline_testkit::Device::ready(&server, tmp.path(), "manager@demo.liveline").await;
    assert!(manager.find("Two Teams Buyer").is_empty());
    assert_eq!(
        manager
            .replica
            .lock()
            .unwrap()
            .session()
            .unwrap()
            .unwrap()
            .team_id,
        TEAM_ID
    );

    // Look at it as a phone and in Chinese.
    a.set_window_size(390, 844).await.unwrap();
    click(&a, "#nav-settings").await;
    wait_css(&a, "#team-select").await;
    shot(&a, "settings-team-phone-en").await;
    click(&a, "#lang-switch").await;
    wait_text(&a, "#team-card h2", "团队").await;
    shot(&a, "settings-team-phone-zh").await;
    a.set_window_size(1280, 800).await.unwrap();
    shot(&a, "settings-team-desktop-zh").await;
    server.stop().await;
}

/// The window runs only Liveline's code: an inline script or event handler injected into the page (as a buyer's
/// name carrying markup would try) does not run under the content security policy, and the page may call the
/// app's own commands but none of Tauri's core or plugin commands, which the capability file does not grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_runs_only_our_code_and_calls_only_our_commands() {
    let Rig {
        _turn,
        tmp,
        server: _server,
        url,
    } = rig().await;
    let driver = start_driver().await;
    let c = open_app(&driver, &tmp.path().join("a"), &url).await;
    wait_css(&c, "#signin-email").await;
    let injected = c
        .execute(
            r#"
            const s = document.createElement('script');
            s.textContent = 'window.__inline_ran = true;';
            document.body.appendChild(s);
            const img = document.createElement('img');
            img.setAttribute('src', 'data:,broken');
            img.setAttribute('onerror', 'window.__handler_ran = true;');
            document.body.appendChild(img);
            return true;
            "#,
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, json!(true));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let ran = c
        .execute(
            "return [window.__inline_ran === true, window.__handler_ran === true];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        ran,
        json!([false, false]),
        "injected code ran in the window"
    );
    let calls = c
        .execute_async(
            r#"
            const done = arguments[arguments.length - 1];
            const invoke = window.__TAURI__.core.invoke;
            const outcome = (p) => p.then(() => 'ok', (e) => 'refused: ' + String(e));
            Promise.all([
              outcome(invoke('session')),
              outcome(invoke('plugin:notification|notify', { options: { title: 'x' } })),
              outcome(invoke('plugin:app|version')),
              outcome(invoke('plugin:webview|create_webview_window', { options: { label: 'evil', url: 'https://example.com' } })),
            ]).then(done);
            "#,
            vec![],
        )
        .await
        .unwrap();
    let calls: Vec<String> = serde_json::from_value(calls).unwrap();
    assert_eq!(calls[0], "ok", "the app's own command");
    for refused in &calls[1..] {
        assert!(refused.starts_with("refused"), "{calls:?}");
    }
    c.close().await.unwrap();
}
