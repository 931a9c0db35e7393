//! A desk officer in headless Chromium (Debian's `chromium` and `chromium-driver`, installed by
//! .ci/run): log in, receive a dossier, print the receipt, find it again with the work queue's
//! search box (a name without its accents, a phone number), take the dossier to "returned"
//! through the dossier page (resolve and return each confirmed on a confirmation page, which
//! writes nothing until confirmed), then open the public lookup from the receipt's QR link and
//! rate the service (no star chosen until the citizen chooses). Screenshots go to
//! target/test-artifacts/.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use crate::desk::Db;
use crate::server::{Server, add_staff};
use crate::support::repo;

const WARD: &str = "000.00.41.H17";
/// The city's one-stop centre, whose hall is HCC.
const CENTRE: &str = "000.00.02.H17";
const BIRTH_REGISTRATION: &str = "1.001193";

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|n| std::env::split_paths(&path).map(|d| d.join(n)).find(|p| p.is_file()))
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn artifacts() -> PathBuf {
    let dir = repo().join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Clicks something that loads a new page and waits until the old document is gone, so the
/// next look at the page cannot catch the one before (an element present on both pages would
/// otherwise be found at once and go stale under the reader).
async fn click(c: &Client, css: &str) {
    c.execute("window.motcuaOldPage = true", vec![]).await.unwrap();
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).click().await.unwrap();
    let started = Instant::now();
    loop {
        let old = c.execute("return window.motcuaOldPage === true && document.readyState", vec![]).await;
        if matches!(old, Ok(serde_json::Value::Bool(false))) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "{css}: no new page after 15 s");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}")).text().await.unwrap()
}

/// Submits the action form `name` on the dossier page.
async fn act(c: &Client, name: &str) {
    click(c, &format!("#action-{name} button[type=submit]")).await;
    c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
}

/// Logs `username` in through the login page in `lang` and waits for the logged-in header.
async fn log_in(c: &Client, server: &Server, lang: &str, username: &str, password: &str) {
    c.goto(&server.url(&format!("/login?lang={lang}"))).await.unwrap();
    c.wait().for_element(Locator::Css("#login-form")).await.unwrap();
    fill(c, "#username", username).await;
    fill(c, "#password", password).await;
    click(c, "#login-submit").await;
    c.wait().for_element(Locator::Css("header #logout")).await.unwrap();
}

#[test]
fn desk_officer_takes_a_dossier_from_intake_to_return_in_chromium() {
    let chromium = find_program(&["chromium", "chromium-browser"]).unwrap_or_else(|| {
        panic!("Debian's `chromium` is not installed: apt-get install -y chromium chromium-driver (.ci/run does)")
    });
    let chromedriver = find_program(&["chromedriver"]).unwrap_or_else(|| {
        panic!("`chromedriver` is not installed: apt-get install -y chromium-driver (.ci/run does)")
    });
    let db = Db::sqlite();
    add_staff(&db, "desk.hoa", "desk", &[WARD], "mật-khẩu-dài");
    let server = Server::start(&db);
    let port = free_port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1400", format!("--user-data-dir={}", profile.path().display()),
                ]
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let c = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session with chromium");

        // Log in.
        c.goto(&server.url("/queue")).await.unwrap();
        c.wait().for_element(Locator::Css("#login-form")).await.unwrap();
        shot(&c, "01-login").await;
        fill(&c, "#username", "desk.hoa").await;
        fill(&c, "#password", "mật-khẩu-dài").await;
        click(&c, "#login-submit").await;
        c.wait().for_element(Locator::Css("header #logout")).await.unwrap();

        // Intake → printable receipt.
        c.goto(&server.url("/intake")).await.unwrap();
        c.find(Locator::Css(&format!("#procedure option[value='{BIRTH_REGISTRATION}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        fill(&c, "#applicant", "Nguyễn Thị Hoa").await;
        fill(&c, "#id_number", "048190000777").await;
        fill(&c, "#phone", "0905123456").await;
        shot(&c, "02-intake").await;
        click(&c, "#intake-submit").await;
        c.wait().for_element(Locator::Css("#receipt")).await.unwrap();
        let code = text(&c, "#receipt-code").await;
        assert!(code.starts_with(&format!("{WARD}-")), "{code}");
        let receipt = c.source().await.unwrap();
        assert!(receipt.contains("GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ") && receipt.contains("<svg"));
        shot(&c, "03-receipt").await;
        // The page's one script ran under its Content-Security-Policy and armed the print button.
        let script = c.execute("return document.documentElement.dataset.script || null", vec![]).await.unwrap();
        assert_eq!(script, serde_json::json!("loaded"), "the script was refused by the page's policy");
        let inline =
            c.execute("return document.querySelectorAll('[onclick],[onload],a[href^=\"javascript:\"]').length", vec![]);
        assert_eq!(inline.await.unwrap(), serde_json::json!(0));
        let qr = c.find(Locator::Css("#qr-link")).await.unwrap().attr("href").await.unwrap().unwrap();
        assert!(qr.ends_with(&format!("/tra-cuu?ma={code}")), "{qr}");

        // The dossier page: accept, resolve, return.
        click(&c, "#to-dossier").await;
        c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
        assert!(c.source().await.unwrap().contains("Phiếu kiểm soát quá trình giải quyết hồ sơ"));

        // Found again from the work queue's search box, by the name typed without its accents.
        c.goto(&server.url("/queue")).await.unwrap();
        c.wait().for_element(Locator::Css("#search-form #q")).await.unwrap();
        fill(&c, "#search-form #q", "nguyen thi hoa").await;
        click(&c, "#search-form button[type=submit]").await;
        c.wait().for_element(Locator::Css("#found")).await.unwrap();
        assert_eq!(text(&c, ".pager .count").await, "1–1 trên 1");
        let row = text(&c, "#found tbody tr").await;
        assert!(row.contains(&code) && row.contains("Nguyễn Thị Hoa") && row.contains("048190000777"), "{row}");
        let typed = c.find(Locator::Css("#q")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
        assert_eq!(typed, "nguyen thi hoa", "the search box keeps what was typed");
        shot(&c, "03b-search").await;
        // By phone number, spaced as people say it, then into the dossier from the result.
        fill(&c, "#q", "0905 123 456").await;
        click(&c, "#search-form button[type=submit]").await;
        c.wait().for_element(Locator::Css("#found")).await.unwrap();
        click(&c, &format!("#found a[href='/dossiers/{code}']")).await;
        c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
        assert_eq!(text(&c, "#dossier-code").await, code);
        act(&c, "accept").await;
        // Resolve is irreversible: its button leads to a confirmation page that restates it and
        // writes nothing; "Quay lại" goes back with the dossier unchanged.
        let before = text(&c, "#status").await;
        click(&c, "#action-resolve button[type=submit]").await;
        c.wait().for_element(Locator::Css("#confirm-form")).await.unwrap();
        assert_eq!(text(&c, "#confirm-code").await, code);
        assert!(text(&c, "#consequence").await.contains("thời hạn dừng"));
        shot(&c, "04a-confirm-resolve").await;
        click(&c, "#confirm-back").await;
        c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
        assert_eq!(text(&c, "#status").await, before, "nothing written before the confirmation");
        click(&c, "#action-resolve button[type=submit]").await;
        c.wait().for_element(Locator::Css("#confirm-form")).await.unwrap();
        click(&c, "#confirm-submit").await;
        c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
        let status = text(&c, "#status").await;
        assert!(status.starts_with('9'), "resolved once confirmed: {status}");
        // Return asks too.
        click(&c, "#action-return button[type=submit]").await;
        c.wait().for_element(Locator::Css("#confirm-form")).await.unwrap();
        click(&c, "#confirm-submit").await;
        c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
        let status = text(&c, "#status").await;
        assert!(status.starts_with("10"), "returned: {status}");
        shot(&c, "04-dossier-returned").await;

        // English switch.
        click(&c, "#lang-switch").await;
        c.wait().for_element(Locator::Css("#control-sheet")).await.unwrap();
        assert!(c.source().await.unwrap().contains("Control sheet"));
        shot(&c, "05-dossier-en").await;
        click(&c, "#lang-switch").await;
        c.wait().for_element(Locator::Css("#control-sheet")).await.unwrap();

        // The public lookup from the QR link, as the citizen.
        click(&c, "#logout").await;
        c.wait().for_element(Locator::Css("#login-form")).await.unwrap();
        c.goto(&qr).await.unwrap();
        c.wait().for_element(Locator::Css("#lookup-form")).await.unwrap();
        let prefilled = c.find(Locator::Css("#code")).await.unwrap().prop("value").await.unwrap().unwrap_or_default();
        assert_eq!(prefilled, code);
        fill(&c, "#id_number", "048190000777").await;
        click(&c, "#lookup-submit").await;
        c.wait().for_element(Locator::Css("#lookup-result")).await.unwrap();
        assert_eq!(text(&c, "#lookup-status").await, "Đã trả kết quả");
        shot(&c, "06-lookup").await;
        // No star is chosen until the citizen chooses one.
        let checked = c.execute("return document.querySelectorAll('#rating-form input:checked').length", vec![]);
        assert_eq!(checked.await.unwrap(), serde_json::json!(0));
        c.find(Locator::Css("#score-4")).await.unwrap().click().await.unwrap();
        click(&c, "#rating-submit").await;
        c.wait().for_element(Locator::Css("#lookup-message")).await.unwrap();
        assert!(text(&c, "#lookup-message").await.contains("Cảm ơn"));
        shot(&c, "07-rated").await;

        // The board for the desk's TV.
        c.goto(&server.url("/bang-tin")).await.unwrap();
        c.wait().for_element(Locator::Css("#board")).await.unwrap();
        shot(&c, "08-board").await;
        c.close().await.unwrap();
    });
    drop(driver);
}

/// chromedriver on a free port, and a headless Chromium session through it (with its profile
/// directory, dropped after the session).
fn chromium_driver() -> (Driver, u16, PathBuf) {
    let chromium = find_program(&["chromium", "chromium-browser"]).unwrap_or_else(|| {
        panic!("Debian's `chromium` is not installed: apt-get install -y chromium chromium-driver (.ci/run does)")
    });
    let chromedriver = find_program(&["chromedriver"]).unwrap_or_else(|| {
        panic!("`chromedriver` is not installed: apt-get install -y chromium-driver (.ci/run does)")
    });
    let port = free_port();
    let driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    (driver, port, chromium)
}

async fn chromium_session(port: u16, chromium: &std::path::Path, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1400", format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session with chromium")
}

/// A desk officer submits forms that do not check and reads why in Vietnamese on the
/// Vietnamese pages (in English after switching): an ID number of the wrong length at intake,
/// then a supplement request with no reason; the dossier's log names its events in Vietnamese.
#[test]
fn a_refused_form_is_explained_in_vietnamese_in_chromium() {
    let db = Db::sqlite();
    add_staff(&db, "desk.lan", "desk", &[WARD], "mật-khẩu-dài");
    let server = Server::start(&db);
    let (driver, port, chromium) = chromium_driver();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = chromium_session(port, &chromium, profile.path()).await;
        log_in(&c, &server, "vi", "desk.lan", "mật-khẩu-dài").await;

        // Intake with an ID number of 5 digits: refused, in Vietnamese, the form kept.
        c.goto(&server.url("/intake")).await.unwrap();
        c.find(Locator::Css(&format!("#procedure option[value='{BIRTH_REGISTRATION}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        fill(&c, "#applicant", "Phạm Thị Lan").await;
        fill(&c, "#id_number", "12345").await;
        click(&c, "#intake-submit").await;
        c.wait().for_element(Locator::Css("#intake-error")).await.unwrap();
        let error = text(&c, "#intake-error").await;
        assert_eq!(error, "Số CCCD/CMND “12345” không hợp lệ: gồm 12 chữ số (CCCD) hoặc 9 chữ số (CMND).");
        shot(&c, "10-intake-error-vi").await;

        // A good one, accepted; then a supplement request with no reason.
        fill(&c, "#id_number", "048190000888").await;
        c.find(Locator::Css(&format!("#procedure option[value='{BIRTH_REGISTRATION}']")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        click(&c, "#intake-submit").await;
        c.wait().for_element(Locator::Css("#receipt")).await.unwrap();
        click(&c, "#to-dossier").await;
        c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
        act(&c, "accept").await;
        act(&c, "request-supplement").await;
        let error = text(&c, "#action-error").await;
        assert_eq!(error, "Chưa nhập lý do.");
        shot(&c, "11-action-error-vi").await;
        let log = text(&c, "#events").await;
        assert!(log.contains("Tiếp nhận hồ sơ") && log.contains("Nhận hồ sơ"), "{log}");
        assert!(!log.contains("received") && !log.contains("accepted"), "{log}");

        // The same on the English page.
        click(&c, "#lang-switch").await;
        c.wait().for_element(Locator::Css("#dossier-code")).await.unwrap();
        act(&c, "request-supplement").await;
        assert_eq!(text(&c, "#action-error").await, "The reason must not be empty.");
        shot(&c, "12-action-error-en").await;
        c.close().await.unwrap();
    });
    drop(driver);
}

/// The chair opens the scorecard page in Chromium for the 30 days of a simulated workload as of
/// one instant: every card shows the CLI's value, points, ✓/✗ and counts for that instant, the
/// rows are the CLI's agencies, and sorting by an indicator orders them by its value.
#[test]
fn the_chairs_scorecard_shows_the_cli_figures_in_chromium() {
    use crate::metrics::{mark_shown, points_shown, scorecard_cli, scorecard_page_path, table_value};
    let db = Db::sqlite();
    let sim = db.run(&[
        "simulate",
        "--dossiers",
        "1500",
        "--seed",
        "11",
        "--from",
        "2025-01-20",
        "--to",
        "2025-03-05",
        "--as-of",
        "2025-03-05T23:59:59+07:00",
    ]);
    assert_eq!(sim.code, 0, "{}", sim.stderr);
    add_staff(&db, "chair.binh", "chair", &[], "mật-khẩu-dài");
    let (cli, table) = scorecard_cli(&db);
    let rows = cli["rows"].as_array().unwrap();
    let server = Server::start(&db);
    let (driver, port, chromium) = chromium_driver();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = chromium_session(port, &chromium, profile.path()).await;
        log_in(&c, &server, "en", "chair.binh", "mật-khẩu-dài").await;
        c.goto(&server.url(&scorecard_page_path())).await.unwrap();
        c.wait().for_element(Locator::Css("#cards")).await.unwrap();
        shot(&c, "20-scorecard").await;
        for k in motcua_core::scorecard::INDICATORS {
            let i = &cli["total"][k];
            let card = format!("#card-{k}");
            assert_eq!(text(&c, &format!("{card} .value")).await, table_value(&table, k), "{k} value");
            assert_eq!(text(&c, &format!("{card} .points")).await, points_shown(i), "{k} points");
            assert_eq!(text(&c, &format!("{card} .mark")).await, mark_shown(i), "{k} mark");
            let counts = format!("{} / {}", i["numerator"], i["denominator"]);
            assert_eq!(text(&c, &format!("{card} .counts")).await, counts, "{k} counts");
            let trend = c.find(Locator::Css(&format!("{card} svg polyline"))).await.unwrap();
            assert!(trend.attr("points").await.unwrap().is_some(), "{k}: a trend line");
        }
        let keys = |c: Client| async move {
            let mut out = Vec::new();
            for tr in c.find_all(Locator::Css("#scorecard tbody tr")).await.unwrap() {
                out.push(tr.attr("data-key").await.unwrap().unwrap());
            }
            out
        };
        let mut want: Vec<String> = rows.iter().map(|r| r["key"].as_str().unwrap().to_string()).collect();
        want.sort();
        assert_eq!(keys(c.clone()).await, want, "the CLI's rows, by key");
        // Sorted by the online share, best first (ties by key), as the CLI's values order them.
        click(&c, "#scorecard thead a[href$='sort=online_submission_3_3']").await;
        c.wait().for_element(Locator::Css("#scorecard")).await.unwrap();
        let value = |key: &str| {
            let r = rows.iter().find(|r| r["key"] == key).unwrap();
            r["online_submission_3_3"]["value"].as_f64().unwrap_or(f64::NEG_INFINITY)
        };
        want.sort_by(|a, b| value(b).total_cmp(&value(a)).then_with(|| a.cmp(b)));
        assert_eq!(keys(c.clone()).await, want, "sorted by online_submission_3_3");
        shot(&c, "21-scorecard-sorted").await;
        c.close().await.unwrap();
    });
    drop(driver);
}

/// A citizen files a petition from the public page without logging in and reads its receipt
/// (code and the due date of the next step); the ward's officer sees it in the work queue with
/// its urgency, opens it, accepts and answers it; the citizen looks it up with the code and the
/// e-mail address given, reads the answer and rates it once.
#[test]
fn a_citizen_files_a_petition_from_the_public_page_in_chromium() {
    let db = Db::sqlite();
    add_staff(&db, "cb.hai", "agency", &[WARD], "mật-khẩu-dài");
    let server = Server::start(&db);
    let (driver, port, chromium) = chromium_driver();
    let profile = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = chromium_session(port, &chromium, profile.path()).await;
        c.goto(&server.url("/tra-cuu/don?lang=vi")).await.unwrap();
        c.wait().for_element(Locator::Css("#petition-form")).await.unwrap();
        c.find(Locator::Css(&format!("#agency option[value='{WARD}']"))).await.unwrap().click().await.unwrap();
        fill(&c, "#name", "Đặng Thị Thu").await;
        fill(&c, "#email", "thu.dang@example.vn").await;
        fill(&c, "#text", "Đèn chiếu sáng đường Bạch Đằng hỏng đã hai tuần.").await;
        click(&c, "#petition-submit").await;
        c.wait().for_element(Locator::Css("#petition-receipt")).await.unwrap();
        let code = text(&c, "#petition-receipt-code").await;
        assert!(code.starts_with("PA-") && code.len() == 14, "{code}");
        let due = text(&c, "#petition-receipt-due").await;
        assert!(due.ends_with("17:00"), "the due date of the first step, at closing: {due}");
        assert!(text(&c, "#petition-message").await.contains("Đã nhận đơn"));
        shot(&c, "20-petition-receipt").await;

        // The officer: the work queue lists it with its urgency; accept, then answer.
        log_in(&c, &server, "vi", "cb.hai", "mật-khẩu-dài").await;
        c.goto(&server.url("/queue")).await.unwrap();
        c.wait().for_element(Locator::Css("#queue-petitions")).await.unwrap();
        let row = text(&c, "#queue-petitions tbody tr").await;
        assert!(row.contains(&code) && row.contains("Đặng Thị Thu"), "{row}");
        shot(&c, "21-queue-petitions").await;
        click(&c, &format!("#queue-petitions a[href='/petitions/{code}']")).await;
        c.wait().for_element(Locator::Css("#petition-accept")).await.unwrap();
        click(&c, "#petition-accept button[type=submit]").await;
        c.wait().for_element(Locator::Css("#petition-answer-form")).await.unwrap();
        assert_eq!(text(&c, "#petition-status").await, "Đã thụ lý");
        fill(&c, "#answer-text", "Đã thay bóng đèn ngày hôm nay. Cảm ơn bà đã phản ánh.").await;
        click(&c, "#petition-answer-form button[type=submit]").await;
        c.wait().for_element(Locator::Css("#petition-answer")).await.unwrap();
        assert!(text(&c, "#petition-status").await.starts_with("Đã giải quyết"));
        shot(&c, "22-petition-answered").await;
        click(&c, "#logout").await;
        c.wait().for_element(Locator::Css("#login-form")).await.unwrap();

        // The citizen: the lookup shows the answer; rate it once.
        c.goto(&server.url("/tra-cuu/don")).await.unwrap();
        c.wait().for_element(Locator::Css("#petition-lookup-form")).await.unwrap();
        fill(&c, "#lookup-code", &code).await;
        fill(&c, "#lookup-contact", "THU.DANG@example.vn").await;
        click(&c, "#petition-lookup-submit").await;
        c.wait().for_element(Locator::Css("#petition-result")).await.unwrap();
        assert!(text(&c, "#petition-answer").await.contains("Đã thay bóng đèn"));
        c.find(Locator::Css("#satisfied-yes")).await.unwrap().click().await.unwrap();
        click(&c, "#petition-rating-submit").await;
        c.wait().for_element(Locator::Css("#petition-rated")).await.unwrap();
        assert!(text(&c, "#petition-message").await.contains("Cảm ơn"));
        assert!(c.find(Locator::Css("#petition-rating-form")).await.is_err(), "rated once: no form any more");
        shot(&c, "23-petition-rated").await;
        // A wrong contact finds nothing.
        c.goto(&server.url("/tra-cuu/don")).await.unwrap();
        c.wait().for_element(Locator::Css("#petition-lookup-form")).await.unwrap();
        fill(&c, "#lookup-code", &code).await;
        fill(&c, "#lookup-contact", "khac@example.vn").await;
        click(&c, "#petition-lookup-submit").await;
        c.wait().for_element(Locator::Css("#petition-message")).await.unwrap();
        assert!(c.find(Locator::Css("#petition-result")).await.is_err());
        c.close().await.unwrap();
    });
    drop(driver);
}

// ---------------------------------------------------------------------------------------------
// The reception hall

/// A screenshot in target/test-artifacts/, and also in `$MOTCUA_SCREENSHOTS` when that is set
/// (how the pictures of docs/hall.md are made: `MOTCUA_SCREENSHOTS=docs/img`).
async fn doc_shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(artifacts().join(format!("{name}.png")), &png).unwrap();
    if let Some(dir) = std::env::var_os("MOTCUA_SCREENSHOTS") {
        let dir = PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
    }
}

/// Waits (at most 10 s) until the text of `css` is `want`, without reloading the page: the
/// time it took.
async fn until_text(c: &Client, css: &str, want: &str) -> Duration {
    until(c, css, want, true).await
}

/// Waits (at most 10 s) until the text of `css` is `want` (`exact`) or starts with it.
async fn until(c: &Client, css: &str, want: &str, exact: bool) -> Duration {
    let started = Instant::now();
    let js = format!("const e = document.querySelector({css:?}); return e ? e.textContent.trim() : null");
    loop {
        let got = c.execute(&js, vec![]).await.unwrap();
        if got.as_str().is_some_and(|g| if exact { g == want } else { g.starts_with(want) }) {
            return started.elapsed();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{css}: {got} after 10 s, not {want:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Whether the page loaded at `mark` is still the one shown (no reload since).
async fn same_page(c: &Client) -> bool {
    c.execute("return window.motcuaMark === true", vec![]).await.unwrap() == serde_json::json!(true)
}

async fn mark_page(c: &Client) {
    c.execute("window.motcuaMark = true", vec![]).await.unwrap();
}

async fn hidden(c: &Client, id: &str) -> bool {
    let js = format!("return document.getElementById({id:?}).hidden");
    c.execute(&js, vec![]).await.unwrap() == serde_json::json!(true)
}

/// A desk officer's step through the API with a bearer token: (status, body).
async fn hall_api(server: &Server, token: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let r = reqwest::Client::new().post(server.url(path)).bearer_auth(token).json(&body).send().await.unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or_default())
}

/// The reception hall in two headless Chromium windows, the server's clock started on a
/// working morning (Tue 10/3/2026 09:00): (a) a phone (390×844) takes a number from the QR
/// page and sees itself called, without reload, when a counter calls through the API; (b) the
/// TV shows "Mời số … đến quầy …" within a second of a call, without reload; (c) the kiosk
/// issues a number and opens its printable ticket; (d) the desk officer's counter panel signs
/// in, calls, starts, finishes and says "no one waiting", and its link receives a dossier
/// from the ticket; (e) the counter's tablet follows the finished ticket by itself and rates
/// it once, then waits for the next citizen and shows the ticket as rated; the dossier received
/// from the ticket has the ticket's rating (4 stars for "hài lòng").
#[test]
fn the_reception_hall_in_chromium() {
    let db = Db::sqlite();
    add_staff(&db, "desk.an", "desk", &[CENTRE], "mật-khẩu-dài");
    add_staff(&db, "desk.binh", "desk", &[CENTRE], "mật-khẩu-dài");
    let token = db.run(&["staff", "token", "create", "desk.binh", "--name", "quầy 2"]);
    assert_eq!(token.code, 0, "{}", token.stderr);
    let token = token.stdout.trim().to_string();
    let server = Server::start_with(
        &db,
        &crate::support::config_dir(),
        &["--clock-from", "2026-03-10T09:00:00+07:00", "--no-worker"],
    );
    let (driver, port, chromium) = chromium_driver();
    let (profile, tv_profile) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let (s, v) = hall_api(&server, &token, "/api/v1/halls/HCC/counters/2/sign-in", serde_json::json!({})).await;
        assert_eq!(s, 200, "{v}");
        let c = chromium_session(port, &chromium, profile.path()).await;
        let tv = chromium_session(port, &chromium, tv_profile.path()).await;

        // (a) The phone: the QR poster's page, a number of area A, then called by counter 2.
        c.set_window_size(390, 844).await.unwrap();
        c.goto(&server.url("/sanh/HCC/qr")).await.unwrap();
        assert!(c.source().await.unwrap().contains("/sanh/HCC/lay-so"), "the poster leads to the phone page");
        c.goto(&server.url("/sanh/HCC/lay-so")).await.unwrap();
        c.wait().for_element(Locator::Css("button[data-area='A']")).await.unwrap();
        mark_page(&c).await;
        c.find(Locator::Css("button[data-area='A']")).await.unwrap().click().await.unwrap();
        until_text(&c, "#number", "A-001").await;
        until(&c, "#where", "Còn 0 người trước bạn", false).await;
        let (s, v) = hall_api(&server, &token, "/api/v1/halls/HCC/counters/2/call", serde_json::json!({})).await;
        assert_eq!((s, v["called"]["number"].as_str()), (200, Some("A-001")), "{v}");
        until_text(&c, "#where", "Mời số A-001 đến quầy 2").await;
        assert!(same_page(&c).await, "the phone was not reloaded");
        doc_shot(&c, "hall-phone").await;
        let first = v["called"]["id"].as_str().unwrap().to_string();
        let (s, _) =
            hall_api(&server, &token, &format!("/api/v1/halls/tickets/{first}/finish"), serde_json::json!({})).await;
        assert_eq!(s, 200);

        // (b) The TV: the last call at once, the next one within a second, no reload.
        tv.set_window_size(1280, 720).await.unwrap();
        tv.goto(&server.url("/sanh/HCC/tv")).await.unwrap();
        until_text(&tv, "#calls li:first-child", "Mời số A-001 đến quầy 2").await;
        mark_page(&tv).await;
        let (s, v) = hall_api(&server, &token, "/api/v1/halls/HCC/tickets", serde_json::json!({"area": "A"})).await;
        assert_eq!((s, v["number"].as_str()), (201, Some("A-002")), "{v}");
        let (s, v) = hall_api(&server, &token, "/api/v1/halls/HCC/counters/2/call", serde_json::json!({})).await;
        assert_eq!((s, v["called"]["number"].as_str()), (200, Some("A-002")), "{v}");
        let shown = until_text(&tv, "#calls li:first-child", "Mời số A-002 đến quầy 2").await;
        assert!(shown < Duration::from_secs(1), "the TV showed the call after {shown:?}");
        assert!(same_page(&tv).await, "the TV was not reloaded");
        doc_shot(&tv, "hall-tv").await;

        // (c) The kiosk: a number of area B, and its printable ticket.
        c.set_window_size(1024, 768).await.unwrap();
        c.goto(&server.url("/sanh/HCC/kiosk")).await.unwrap();
        c.wait().for_element(Locator::Css("button[data-area='B']")).await.unwrap();
        doc_shot(&c, "hall-kiosk").await;
        // The printable ticket opens (and asks the browser to print it).
        c.find(Locator::Css("button[data-area='B']")).await.unwrap().click().await.unwrap();
        until_text(&c, ".paper .ticket", "B-001").await;
        assert!(c.current_url().await.unwrap().as_str().contains("/sanh/ve/HCC-260310-B-001"));
        assert_eq!(text(&c, "#print").await, "In phiếu");
        shot(&c, "hall-kiosk-ticket").await;

        // (d) The counter panel: sign in at counter 1, call, start, finish; no one waiting.
        c.set_window_size(1280, 900).await.unwrap();
        log_in(&c, &server, "vi", "desk.an", "mật-khẩu-dài").await;
        let (s, v) = hall_api(&server, &token, "/api/v1/halls/HCC/tickets", serde_json::json!({"area": "A"})).await;
        assert_eq!((s, v["number"].as_str()), (201, Some("A-003")), "{v}");
        let third = v["id"].as_str().unwrap().to_string();
        c.goto(&server.url("/queue")).await.unwrap();
        c.find(Locator::Css("#counter-place option[value='HCC/1']")).await.unwrap().click().await.unwrap();
        click(&c, "#counter-sign-in button[type=submit]").await;
        assert!(text(&c, "#counter-at").await.starts_with("Quầy 1"));
        click(&c, "#counter-call button[type=submit]").await;
        assert_eq!(text(&c, "#counter-ticket-number").await, "A-003");
        until_text(&tv, "#calls li:first-child", "Mời số A-003 đến quầy 1").await;
        c.execute("window.scrollTo(0, 0)", vec![]).await.unwrap();
        doc_shot(&c, "hall-counter").await;

        // (e) The tablet of counter 1 waits, then follows the ticket the panel finishes.
        tv.set_window_size(800, 1000).await.unwrap();
        tv.goto(&server.url("/sanh/HCC/quay/1/danh-gia")).await.unwrap();
        tv.wait().for_element(Locator::Css("#tablet-wait")).await.unwrap();
        mark_page(&tv).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(hidden(&tv, "tablet-rate").await, "nothing to rate yet");
        click(&c, "#counter-start button[type=submit]").await;
        assert_eq!(text(&c, "#counter-ticket-status").await, "Đang phục vụ");
        click(&c, "#counter-finish button[type=submit]").await;
        assert_eq!(text(&c, "#counter-last-number").await, "A-003");
        click(&c, "#counter-call button[type=submit]").await;
        assert_eq!(text(&c, "#counter-note").await, "Không còn ai chờ.");
        let r = reqwest::Client::new().get(server.url(&format!("/api/v1/halls/tickets/{third}")));
        let t: serde_json::Value = r.bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(
            (t["status"].as_str(), t["called_by"].as_str(), t["counter"].as_u64()),
            (Some("done"), Some("desk.an"), Some(1))
        );

        // The panel's link receives a dossier from the ticket.
        click(&c, "#counter-last-intake").await;
        let ticket = c.find(Locator::Css("#ticket")).await.unwrap().prop("value").await.unwrap();
        assert_eq!(ticket.as_deref(), Some(third.as_str()));
        fill(&c, "#applicant", "Lê Thị Quầy").await;
        fill(&c, "#id_number", "048190000555").await;
        click(&c, "#intake-submit").await;
        c.wait().for_element(Locator::Css("#receipt")).await.unwrap();
        let code = text(&c, "#receipt-code").await;
        let r = reqwest::Client::new().get(server.url(&format!("/api/v1/halls/tickets/{third}")));
        let t: serde_json::Value = r.bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(t["dossiers"], serde_json::json!([code]));

        // The tablet offers the four ratings for A-003 by itself; one is given, once.
        until_text(&tv, "#tablet-number", "A-003").await;
        assert!(!hidden(&tv, "tablet-rate").await && same_page(&tv).await);
        assert_eq!(tv.find_all(Locator::Css("#tablet-rate button[data-rating]")).await.unwrap().len(), 4);
        fill(&tv, "#tablet-comment", "Cán bộ hướng dẫn tận tình").await;
        doc_shot(&tv, "hall-tablet").await;
        tv.find(Locator::Css("button[data-rating='satisfied']")).await.unwrap().click().await.unwrap();
        until_text(&tv, "#tablet-message", "Cảm ơn ông/bà đã đánh giá số A-003.").await;
        assert!(hidden(&tv, "tablet-rate").await && !hidden(&tv, "tablet-wait").await, "waiting for the next");
        let r = reqwest::Client::new().get(server.url(&format!("/api/v1/halls/tickets/{third}")));
        let t: serde_json::Value = r.bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(t["rating"], "satisfied");
        let again = reqwest::Client::new()
            .post(server.url(&format!("/api/v1/halls/tickets/{third}/rating")))
            .json(&serde_json::json!({"rating": "dissatisfied"}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 409, "one rating per ticket");
        // The ticket's rating is the rating of the dossier received from it (4 stars).
        let lookup = serde_json::json!({"code": code, "id_number": "048190000555"});
        let r = reqwest::Client::new().post(server.url("/api/v1/lookup")).json(&lookup).send().await.unwrap();
        let d: serde_json::Value = r.json().await.unwrap();
        assert_eq!(d["rating"], 4, "{d}");
        tv.refresh().await.unwrap();
        until_text(&tv, "#tablet-message", "Số A-003 đã được đánh giá.").await;
        assert!(hidden(&tv, "tablet-rate").await, "no buttons for a rated ticket");

        tv.close().await.unwrap();
        c.close().await.unwrap();
    });
    drop(driver);
}
