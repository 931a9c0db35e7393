//! The citizen's whole time and the simulated hall, end to end on SQLite and PostgreSQL (when
//! MOTCUA_TEST_PG_URL is set): a dossier received from a ticket shows the time waited in the
//! hall on the lookup (page and API) and the control sheet, apart from its statutory clock;
//! `report --hall-wait` and its API twin give "hall wait + processing" per procedure, in exact
//! minutes from fixed instants; `simulate` fills the halls (numbers without gap, two arrival
//! peaks, the documented shares, the same log from the same seed).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::desk::Db;
use crate::server::{Server, add_staff};
use crate::support::config_dir;

const CENTRE: &str = "000.00.02.H17";
const BIRTH: &str = "1.001193"; // area A of hall HCC
const ID: &str = "048190000123";

/// Takes a number, is called, and the dossier is received from it; returns the code.
fn from_ticket(db: &Db, issued: &str, counter: &str, called: &str, received: &str) -> String {
    let t = db.ok(&["hall", "ticket", "--hall", "HCC", "--area", "A", "--at", issued]);
    let c = db.ok(&["hall", "call", "--hall", "HCC", "--counter", counter, "--at", called, "--by", "desk.an"]);
    assert_eq!(c["called"]["id"], t["id"]);
    let d = db.ok(&[
        "intake",
        "--procedure",
        BIRTH,
        "--agency",
        CENTRE,
        "--applicant",
        "Trần Thị Bình",
        "--id-number",
        ID,
        "--ticket",
        t["number"].as_str().unwrap(),
        "--at",
        received,
    ]);
    d["code"].as_str().unwrap().to_string()
}

fn finish(db: &Db, code: &str, accepted: &str, resolved: &str) {
    db.ok(&["accept", code, "--at", accepted]);
    db.ok(&["resolve", code, "--at", resolved]);
}

fn citizens_whole_time(db: &Db) {
    // Number 08:05, called 08:17 (12 min), received 08:29 (24 min), finished 10:29 (120 min).
    let first = from_ticket(db, "2026-03-10T08:05", "1", "2026-03-10T08:17", "2026-03-10T08:29");
    // Number 08:06, called 08:30 (24 min), received 08:40 (34 min), finished 09:40 (60 min).
    let second = from_ticket(db, "2026-03-10T08:06", "2", "2026-03-10T08:30", "2026-03-10T08:40");
    // Received without a ticket: counted as finished, not as linked.
    let plain = db.ok(&[
        "intake",
        "--procedure",
        BIRTH,
        "--agency",
        CENTRE,
        "--applicant",
        "Lê Văn Cường",
        "--id-number",
        ID,
        "--at",
        "2026-03-10T09:00",
    ])["code"]
        .as_str()
        .unwrap()
        .to_string();
    finish(db, &first, "2026-03-10T08:45", "2026-03-10T10:29");
    finish(db, &second, "2026-03-10T08:50", "2026-03-10T09:40");
    finish(db, &plain, "2026-03-10T09:10", "2026-03-10T09:30");

    // The control sheet: the hall time beside, not inside, the statutory clock.
    let sheet = db.run(&["form", "control", &first, "--as-of", "2026-03-11T00:00"]);
    assert_eq!(sheet.code, 0, "{}", sheet.stderr);
    assert!(
        sheet.stdout.contains(
            "Thời gian chờ tại sảnh (số A-001, lấy số lúc 10/03/2026 08:05): chờ đến khi được gọi 12 phút, đến khi tiếp nhận hồ sơ 24 phút — tính riêng, không tính vào thời hạn giải quyết"
        ),
        "{}",
        sheet.stdout
    );
    assert!(sheet.stdout.contains("Thời gian nhận hồ sơ: 10/03/2026 08:29"), "the clock starts at the receipt");
    let en = db.run(&["form", "control", &second, "--lang", "en", "--as-of", "2026-03-11T00:00"]);
    assert!(en.stdout.contains("(number A-002, taken at 10/03/2026 08:06): 24 minutes until called, 34 minutes until the dossier was received"), "{}", en.stdout);
    let none = db.run(&["form", "control", &plain, "--as-of", "2026-03-11T00:00"]);
    assert!(!none.stdout.contains("sảnh"), "no ticket, no hall time: {}", none.stdout);

    // `report --hall-wait`: of 3 finished, 2 linked; medians (nearest rank) and means.
    let args = [
        "report",
        "--by",
        "procedure",
        "--hall-wait",
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-31",
        "--as-of",
        "2026-04-01T00:00:00+07:00",
        "--format",
        "json",
    ];
    let cli = db.run(&args).json();
    let want = json!({
        "key": BIRTH, "name": "Đăng ký khai sinh", "finished": 3, "linked": 2,
        "hall_wait_minutes": {"median": 24, "mean": 29.0},
        "processing_minutes": {"median": 60, "mean": 90.0},
        "whole_minutes": {"median": 94, "mean": 119.0},
    });
    assert_eq!(cli["rows"], json!([want]), "{cli}");
    assert_eq!(cli["total"]["linked"], 2);
    let table = db.run(&args[..10]);
    assert!(table.stdout.contains("24 / 29.0") && table.stdout.contains("94 / 119.0"), "{}", table.stdout);
    let csv = db.run(&[&args[..10], &["--format", "csv"]].concat()).stdout;
    assert!(csv.contains(&format!("{BIRTH},Đăng ký khai sinh,3,2,24,29.0,60,90.0,94,119.0")), "{csv}");

    // The API: the same report, and the lookup with its hall time.
    add_staff(db, "head.an", "head", &[CENTRE], "mật-khẩu-dài");
    let token = db.run(&["staff", "token", "create", "head.an", "--name", "report"]).stdout.trim().to_string();
    let server = Server::start(db);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let q = "by=procedure&hall_wait=true&from=2026-03-01&to=2026-03-31&as_of=2026-04-01T00:00:00%2B07:00";
        let r = c.get(server.url(&format!("/api/v1/report?{q}"))).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 200);
        let api: Value = r.json().await.unwrap();
        assert_eq!(api, cli, "one computation for the CLI and the API");
        let r = c.get(server.url("/api/v1/report?hall_wait=maybe")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 422);

        let look = |code: String| {
            let c = c.clone();
            let url = server.url("/api/v1/lookup");
            async move {
                let r = c.post(url).json(&json!({"code": code, "id_number": ID})).send().await.unwrap();
                assert_eq!(r.status(), 200);
                r.json::<Value>().await.unwrap()
            }
        };
        let v = look(first.clone()).await;
        let h = &v["hall_time"];
        assert_eq!(
            (&h["number"], &h["issued_at"], &h["called_at"], &h["received_at"]),
            (&json!("A-001"), &json!("10/03/2026 08:05"), &json!("10/03/2026 08:17"), &json!("10/03/2026 08:29"))
        );
        assert_eq!((h["wait_to_call_minutes"].as_i64(), h["wait_to_receipt_minutes"].as_i64()), (Some(12), Some(24)));
        assert_eq!(v["received_at"], "10/03/2026 08:29", "the statutory clock is unchanged");
        assert_eq!(v["due_at"], "11/03/2026 08:29");
        assert_eq!(look(plain.clone()).await["hall_time"], Value::Null);

        // The page: the same figures, labelled apart from the clock.
        let form = c.get(server.url("/tra-cuu")).send().await.unwrap().text().await.unwrap();
        let csrf = form.split("name=\"_csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
        let page = c
            .post(server.url("/tra-cuu"))
            .form(&[("code", second.as_str()), ("id_number", ID), ("_csrf", csrf.as_str())])
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("Thời gian chờ tại sảnh"), "{page}");
        assert!(
            page.contains("id=\"lookup-hall-to-call\">24 phút")
                && page.contains("id=\"lookup-hall-to-receipt\">34 phút")
        );
        assert!(page.contains("không tính vào thời hạn giải quyết"));
    });
}

#[test]
fn the_citizens_whole_time_on_sqlite() {
    citizens_whole_time(&Db::sqlite());
}

#[test]
fn the_citizens_whole_time_on_postgres() {
    if let Some(db) = Db::pg("hall_time") {
        citizens_whole_time(&db);
    }
}

const SIM: [&str; 12] = [
    "simulate",
    "--dossiers",
    "900",
    "--seed",
    "5",
    "--from",
    "2025-09-08",
    "--to",
    "2025-09-19",
    "--as-of",
    "2025-09-30T00:00:00+07:00",
    "--json",
];

/// Every ticket of the simulated days, per hall and day, as `hall queue` shows them.
fn queues(db: &Db) -> BTreeMap<(String, String), Vec<Value>> {
    let mut out = BTreeMap::new();
    // The working days (13 and 14 September 2025 are a weekend).
    for day in [8, 9, 10, 11, 12, 15, 16, 17, 18, 19].map(|d| format!("2025-09-{d:02}")) {
        for hall in ["HCC", "HAICHAU"] {
            let q = db.ok(&["hall", "queue", "--hall", hall, "--day", &day]);
            out.insert((hall.to_string(), day.clone()), q["tickets"].as_array().unwrap().clone());
        }
    }
    out
}

fn simulate_fills_the_halls(db: &Db) -> BTreeMap<(String, String), Vec<Value>> {
    let s = db.run(&SIM).json();
    assert_eq!(s["rejected"], 0, "{s}");
    // 10 working days, two halls.
    assert_eq!(s["hall_days"], 20, "{s}");
    assert!(s["hall_linked"].as_u64().unwrap() > 0, "dossiers received from tickets: {s}");
    let all = queues(db);
    let (mut opening, mut mid_morning, mut after_lunch) = (0, 0, 0);
    let mut tickets = 0u64;
    for ((hall, day), list) in &all {
        let mut numbers: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for t in list {
            let id = t["id"].as_str().unwrap();
            let parts: Vec<&str> = id.rsplitn(3, '-').collect();
            numbers.entry(parts[1].to_string()).or_default().push(parts[0].parse().unwrap());
            let time = &t["issued_at"].as_str().unwrap()[11..16];
            if ("07:30".."08:30").contains(&time) {
                opening += 1;
            } else if ("09:30".."10:30").contains(&time) {
                mid_morning += 1;
            } else if ("13:30".."14:30").contains(&time) {
                after_lunch += 1;
            }
            assert_ne!(t["status"], "waiting", "{hall} {day}: the day is over, nothing waits");
        }
        assert!(!list.is_empty(), "{hall} {day} has tickets");
        for (area, mut n) in numbers {
            tickets += n.len() as u64;
            n.sort_unstable();
            assert_eq!(n, (1..=n.len() as u32).collect::<Vec<_>>(), "{hall} {day} area {area}: no repeat, no gap");
        }
    }
    assert_eq!(s["hall_tickets"].as_u64(), Some(tickets));
    assert!(opening > mid_morning && after_lunch > mid_morning, "peaks: {opening} / {mid_morning} / {after_lunch}");
    // The documented shares, on the hall report (docs/simulation.md).
    let r = db
        .run(&["hall", "report", "--hall", "HCC", "--from", "2025-09-08", "--to", "2025-09-19", "--format", "json"])
        .json();
    let t = &r["total"];
    let f = |v: &Value| v.as_f64().unwrap_or(0.0);
    let rated: f64 = t["ratings"].as_object().unwrap().values().map(f).sum();
    let no_show = f(&t["no_show"]) / f(&t["issued"]);
    assert!((0.02..=0.06).contains(&no_show), "no-show share {no_show}: {t}");
    let rated = rated / f(&t["served"]);
    assert!((0.55..=0.65).contains(&rated), "rated share {rated}: {t}");
    assert!(f(&t["by_channel"]["booking"]) > 0.0 && f(&t["by_channel"]["qr"]) > f(&t["by_channel"]["desk"]), "{t}");
    all
}

#[test]
fn simulate_fills_the_halls_on_sqlite_and_the_same_seed_gives_the_same_log() {
    let a = simulate_fills_the_halls(&Db::sqlite());
    let b = Db::sqlite();
    b.run(&SIM);
    assert_eq!(queues(&b), a, "the same seed, the same hall log");
}

#[test]
fn simulate_fills_the_halls_on_postgres() {
    if let Some(db) = Db::pg("hall_sim") {
        let pg = simulate_fills_the_halls(&db);
        let sqlite = Db::sqlite();
        sqlite.run(&SIM);
        assert_eq!(queues(&sqlite), pg, "both backends record the same hall days");
    }
}

/// `serve --demo` leaves today's hall with a queue: up to the seed instant inside office
/// hours, up to 45 minutes before closing once the day is over; nothing on a day off.
fn demo_hall_today(db: &Db) {
    db.run(&["migrate"]);
    let domain = motcua::config::Config::load(&config_dir()).unwrap().domain().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        use motcua_store::HallStore;
        let store = motcua_store::open(&db.url).await.unwrap();
        let at = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&chrono::Utc);
        let hcc: motcua_core::hall::HallCode = "HCC".parse().unwrap();
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2025, 9, d).unwrap();
        for (now, d) in [("2025-09-10T10:00:00+07:00", 10), ("2025-09-11T21:00:00+07:00", 11)] {
            let s = motcua::bulk::demo_hall_today(&store, &domain, 1, at(now)).await.unwrap();
            assert!(s.hall_tickets > 0, "{now}");
            let tickets = store.day_tickets(&hcc, day(d)).await.unwrap();
            let waiting = tickets.iter().filter(|t| t.status == motcua_core::hall::TicketStatus::Waiting).count();
            assert!(waiting > 0, "{now}: a queue waits for the TV");
            assert!(tickets.iter().any(|t| t.status == motcua_core::hall::TicketStatus::Done), "{now}: some served");
            assert!(tickets.iter().all(|t| t.last_event_at <= at(now)), "{now}: nothing after the seed instant");
            assert!(!store.counter_sessions(&hcc).await.unwrap().is_empty(), "{now}: counters signed in");
        }
        let s = motcua::bulk::demo_hall_today(&store, &domain, 1, at("2025-09-13T10:00:00+07:00")).await.unwrap();
        assert_eq!(s.hall_tickets, 0, "a Saturday: the hall is closed");
    });
}

#[test]
fn the_demo_leaves_todays_hall_with_a_queue_on_sqlite() {
    demo_hall_today(&Db::sqlite());
}

#[test]
fn the_demo_leaves_todays_hall_with_a_queue_on_postgres() {
    if let Some(db) = Db::pg("hall_demo") {
        demo_hall_today(&db);
    }
}
