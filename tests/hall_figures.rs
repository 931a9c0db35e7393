//! The reception hall's figures, end to end on SQLite and PostgreSQL: a morning of hall HCC
//! keyed in through `motcua hall …`; the head's page `/sanh/bao-cao` shows, for every grouping,
//! the figures of `motcua hall report --format json` and downloads its CSV; a desk officer is
//! refused the page; the Prometheus series of `motcua metrics print` count the same tickets
//! and pass `promtool check metrics`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::desk::Db;
use crate::server::{Server, add_staff};
use crate::support::*;

const HEAD: (&str, &str) = ("head.hall", "mật-khẩu-trưởng-phòng");
const DESK: (&str, &str) = ("desk.hall", "mật-khẩu-một-cửa");

/// A morning of hall HCC on `day` (a working day), keyed in at the desk:
/// - A-001 (08:00, kiosk), A-002 (08:01), A-003 (08:02, priority), B-001 (08:03, qr),
///   B-002 (08:04), C-001 (08:05);
/// - counter 1 calls A-003 at 08:10 (wait 480 s) and finishes it at 08:20 (service 600 s), rated
///   very satisfied; counter 2 calls A-001 at 08:11 (660 s), finished 08:31 (1,200 s);
/// - counter 3 calls A-002 at 08:45 (2,640 s: above the 30-minute target); counter 4 calls
///   B-001 at 08:48 (2,700 s), recalls it twice, marks it no-show at 08:54;
/// - A-002 is transferred to area B at 08:55; counter 5 calls it again at 09:10 and finishes it at
///   09:25 (service 900 s from the last call); B-002 leaves at 09:30; C-001 still waits.
pub fn a_morning(db: &Db, day: &str) {
    let at = |hm: &str| format!("{day}T{hm}");
    for (area, hm, extra) in [
        ("A", "08:00", &["--channel", "kiosk"][..]),
        ("A", "08:01", &[][..]),
        ("A", "08:02", &["--priority", "elderly"][..]),
        ("B", "08:03", &["--channel", "qr"][..]),
        ("B", "08:04", &[][..]),
        ("C", "08:05", &[][..]),
    ] {
        db.ok(&[&["hall", "ticket", "--hall", "HCC", "--area", area, "--at", &at(hm)][..], extra].concat());
    }
    let call = |counter: &str, hm: &str, by: &str| {
        db.ok(&["hall", "call", "--hall", "HCC", "--counter", counter, "--at", &at(hm), "--by", by])["called"]["number"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let step = |args: &[&str], hm: &str| {
        db.ok(&[&["hall"][..], args, &["--hall", "HCC", "--at", &at(hm)][..]].concat());
    };
    assert_eq!(call("1", "08:10", "desk.an"), "A-003");
    assert_eq!(call("2", "08:11", "desk.binh"), "A-001");
    step(&["finish", "A-003"], "08:20");
    step(&["rate", "A-003", "--rating", "very_satisfied"], "08:21");
    step(&["finish", "A-001"], "08:31");
    assert_eq!(call("3", "08:45", "desk.an"), "A-002");
    assert_eq!(call("4", "08:48", "desk.cuong"), "B-001");
    step(&["recall", "B-001", "--counter", "4"], "08:50");
    step(&["recall", "B-001", "--counter", "4"], "08:52");
    step(&["no-show", "B-001"], "08:54");
    step(&["transfer", "A-002", "--area", "B"], "08:55");
    assert_eq!(call("5", "09:10", "desk.binh"), "A-002");
    step(&["finish", "A-002"], "09:25");
    step(&["left", "B-002"], "09:30");
}

/// Each row of the page's table (and `total`): field → the raw value the cell carries.
fn page_rows(html: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let table = html.split("id=\"hall-report\"").nth(1).expect("the report's table");
    let mut rows = BTreeMap::new();
    for tr in table.split("<tr data-key=\"").skip(1) {
        let (key, rest) = tr.split_once('"').unwrap();
        let row = rest.split("</tr>").next().unwrap();
        let mut cells = BTreeMap::new();
        for c in row.split(" data-f=\"").skip(1) {
            let (field, rest) = c.split_once('"').unwrap();
            let value = rest.strip_prefix(" data-v=\"").and_then(|r| r.split_once('"')).unwrap().0;
            cells.insert(field.to_string(), value.to_string());
        }
        rows.insert(key.replace("&#x2f;", "/").replace("&#47;", "/"), cells);
    }
    rows
}

/// What the page's cell `field` must carry for a tally of the CLI's JSON.
fn expected(tally: &Value, field: &str) -> String {
    let v = field.split('.').fold(tally, |v, k| &v[k]);
    match v {
        Value::Null => {
            // A channel or a rating never seen is 0; a spread of nothing is empty.
            if field.starts_with("by_channel.") || field.starts_with("ratings.") { "0".into() } else { String::new() }
        }
        Value::Number(n) if n.is_f64() => n.as_f64().unwrap().to_string(),
        other => other.to_string(),
    }
}

fn figures_agree(db: &Db, day: &str) {
    a_morning(db, day);
    add_staff(db, HEAD.0, "head", &["000.00.02.H17"], HEAD.1);
    add_staff(db, DESK.0, "desk", &["000.00.02.H17"], DESK.1);
    let cli = |by: &str, format: &str| {
        let r =
            db.run(&["hall", "report", "--hall", "HCC", "--from", day, "--to", day, "--by", by, "--format", format]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let server = Server::start_with(db, &config_dir(), &["--no-worker", "--as-of", &format!("{day}T11:00:00+07:00")]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let login = |who: (&str, &str)| {
        let c = reqwest::Client::builder().cookie_store(true).build().unwrap();
        let r = rt.block_on(
            c.post(server.url("/api/v1/session"))
                .json(&serde_json::json!({"username": who.0, "password": who.1}))
                .send(),
        );
        assert_eq!(r.unwrap().status(), 200);
        c
    };
    let head = login(HEAD);
    let get = |c: &reqwest::Client, path: &str| {
        rt.block_on(async {
            let r = c.get(server.url(path)).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    };

    for by in ["area", "counter", "officer", "day", "hall"] {
        let json: Value = serde_json::from_str(cli(by, "json").trim()).unwrap();
        let (status, html) = get(&head, &format!("/sanh/bao-cao?hall=HCC&from={day}&to={day}&by={by}"));
        assert_eq!(status, 200, "{html}");
        let page = page_rows(&html);
        let mut want: BTreeMap<String, &Value> = json["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["key"].as_str().unwrap().to_string(), &r["tally"]))
            .collect();
        want.insert("total".into(), &json["total"]);
        assert_eq!(page.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "rows by {by}");
        for (key, tally) in &want {
            let cells = &page[key];
            assert_eq!(cells.len(), 24, "{by} {key}: every figure has its cell");
            for (field, shown) in cells {
                assert_eq!(shown, &expected(tally, field), "by {by}, {key}: {field}");
            }
        }
        // The CSV link downloads the CLI's CSV.
        let link = html.split("id=\"csv\"").next().and_then(|h| h.rsplit("href=\"").next()).unwrap();
        let link = link.split('"').next().unwrap().replace("&amp;", "&").replace("&#38;", "&");
        let (status, csv) = get(&head, &link);
        assert_eq!(status, 200, "{link}");
        assert_eq!(csv, cli(by, "csv"), "CSV by {by}");
    }
    // The figures the scenario makes: 6 issued by three channels, 3 served, 1 no-show, 1 left,
    // waits 480, 660, 2640, 2700 s (p50 660, p90 2700 by nearest rank), 2 of 4 called within 30
    // minutes.
    let total = serde_json::from_str::<Value>(cli("area", "json").trim()).unwrap()["total"].clone();
    assert_eq!(
        (total["issued"].as_u64(), total["served"].as_u64(), total["no_show"].as_u64(), total["left"].as_u64()),
        (Some(6), Some(3), Some(1), Some(1))
    );
    assert_eq!(total["by_channel"], serde_json::json!({"desk": 4, "kiosk": 1, "qr": 1}));
    assert_eq!((total["waiting"]["p50"].as_i64(), total["waiting"]["p90"].as_i64()), (Some(660), Some(2700)));
    assert_eq!((total["within_target"].as_u64(), total["within_target_ratio"].as_f64()), (Some(2), Some(0.5)));
    let (_, html) = get(&head, &format!("/sanh/bao-cao?hall=HCC&from={day}&to={day}&by=area"));
    assert!(html.contains("id=\"hall-report-nav\""), "the head's navigation leads to the page");
    for lang in ["vi", "en"] {
        let (_, page) = get(&head, &format!("/sanh/bao-cao?hall=HCC&from={day}&to={day}&lang={lang}"));
        assert!(!page.contains(">hr_") && !page.contains(" hr_"), "a word missing in {lang}");
    }
    assert!(html.contains(">11:00</td>") || html.contains(">11:00</th>"), "times shown as minutes:seconds");

    // A desk officer: no link, and the page is refused.
    let desk = login(DESK);
    let (status, html) = get(&desk, &format!("/sanh/bao-cao?hall=HCC&from={day}&to={day}"));
    assert_eq!(status, 403, "{html}");
    let (_, queue) = get(&desk, "/queue");
    assert!(!queue.contains("hall-report-nav"), "no link for the desk");
    // Bad input: an error page, not a report.
    let (status, _) = get(&head, &format!("/sanh/bao-cao?hall=HCC&from={day}&to=2020-01-01"));
    assert_eq!(status, 422);
    let (status, _) = get(&head, "/sanh/bao-cao?hall=NOWHERE");
    assert_eq!(status, 404);

    // The Prometheus series of the same morning, as of 11:00.
    let text = db.run(&["metrics", "print", "--as-of", &format!("{day}T11:00:00+07:00")]).stdout;
    crate::metrics::promtool_check_metrics(&text);
    let sample = |series: &str| -> f64 {
        let line = text.lines().find(|l| l.starts_with(&format!("{series} "))).unwrap_or_else(|| panic!("{series}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    for (area, n) in [("A", 0.0), ("B", 0.0), ("C", 1.0), ("D", 0.0)] {
        assert_eq!(sample(&format!("motcua_hall_tickets_waiting{{hall=\"HCC\",area=\"{area}\"}}")), n, "{area}");
    }
    // Waits by the area of the number: A-003 480, A-001 660, A-002 2640 s; B-001 2700 s.
    let a = "hall=\"HCC\",area=\"A\"";
    let b = "hall=\"HCC\",area=\"B\"";
    for (le, n) in [("300", 0.0), ("600", 1.0), ("900", 2.0), ("2700", 3.0), ("+Inf", 3.0)] {
        assert_eq!(sample(&format!("motcua_hall_waiting_seconds_bucket{{{a},le=\"{le}\"}}")), n, "le {le}");
    }
    assert_eq!(sample(&format!("motcua_hall_waiting_seconds_bucket{{{b},le=\"1800\"}}")), 0.0);
    assert_eq!(sample(&format!("motcua_hall_waiting_seconds_bucket{{{b},le=\"2700\"}}")), 1.0);
    let waits = sample(&format!("motcua_hall_waiting_seconds_sum{{{a}}}"))
        + sample(&format!("motcua_hall_waiting_seconds_sum{{{b}}}"));
    let called = sample(&format!("motcua_hall_waiting_seconds_count{{{a}}}"))
        + sample(&format!("motcua_hall_waiting_seconds_count{{{b}}}"));
    assert_eq!(called, total["waiting"]["count"].as_f64().unwrap());
    assert_eq!(waits, total["waiting"]["mean"].as_f64().unwrap() * called, "the histograms sum the report's waits");
    assert_eq!(sample(&format!("motcua_hall_service_seconds_count{{{a}}}")), 3.0);
    assert_eq!(sample(&format!("motcua_hall_service_seconds_sum{{{a}}}")), 600.0 + 1200.0 + 900.0);
    assert_eq!(sample(&format!("motcua_hall_no_shows_total{{{b}}}")), total["no_show"].as_f64().unwrap());
    for (counter, n) in [("1", 1.0), ("2", 1.0), ("3", 1.0), ("4", 1.0), ("5", 1.0), ("6", 0.0), ("7", 0.0)] {
        assert_eq!(sample(&format!("motcua_hall_calls_total{{hall=\"HCC\",counter=\"{counter}\"}}")), n, "{counter}");
    }
    assert_eq!(sample("motcua_hall_waiting_target_seconds{hall=\"HCC\"}"), 1800.0);
    // Labels: hall, area, counter (and le) only — no ticket, number or officer.
    for l in text.lines().filter(|l| l.starts_with("motcua_hall_") && l.contains('{')) {
        let labels = l.split_once('{').and_then(|(_, r)| r.split_once('}')).map(|(l, _)| l).unwrap();
        for name in labels.split(',').filter_map(|p| p.split_once('=')).map(|(k, _)| k) {
            assert!(["hall", "area", "counter", "le"].contains(&name), "{l}");
        }
        assert!(!l.contains("desk.") && !l.contains("A-00"), "{l}");
    }
    // The next day starts from 0.
    let next = db.run(&["metrics", "print", "--as-of", &format!("{day}T23:59:59+07:00")]).stdout;
    assert!(next.contains("motcua_hall_calls_total{hall=\"HCC\",counter=\"1\"} 1\n"), "the same day");
    let tomorrow = chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap().succ_opt().unwrap();
    let next = db.run(&["metrics", "print", "--as-of", &format!("{tomorrow}T08:00:00+07:00")]).stdout;
    assert!(next.contains("motcua_hall_calls_total{hall=\"HCC\",counter=\"1\"} 0\n"), "reset at the day's change");
}

#[test]
fn hall_page_cli_and_metrics_agree_on_sqlite() {
    figures_agree(&Db::sqlite(), "2026-03-10");
}

#[test]
fn hall_page_cli_and_metrics_agree_on_postgres() {
    if let Some(db) = Db::pg("hall_figures") {
        figures_agree(&db, "2026-03-10");
    }
}
