//! `motcua hall …` end to end, on SQLite and PostgreSQL (when MOTCUA_TEST_PG_URL is set): the
//! halls of the shipped catalog, numbers taken at the desk, the fair call order, "no one
//! waiting", refusal outside office hours (exit 2, nothing written), `intake --ticket` linking
//! the dossier, the report; and processes killed with SIGKILL while thirty others take numbers:
//! every number printed is in the log, and the day's numbers have no gap and no duplicate; and
//! the desk's counter panel posted to a real server, read back by the command line.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::desk::Db;
use crate::support::*;

fn hall_at_the_desk(db: &Db) {
    let list = db.ok(&["hall", "list", "--on", "2026-03-10"]);
    let hcc = list["halls"].as_array().unwrap().iter().find(|h| h["code"] == "HCC").unwrap().clone();
    assert_eq!(hcc["priority_rule"]["rule"], "ratio");
    assert!(hcc["areas"].as_array().unwrap().iter().any(|a| a["letter"] == "A"));
    assert!(hcc["counters"].as_array().unwrap().iter().any(|c| c["number"] == 1));

    let take = |extra: &[&str], at: &str| {
        let mut args = vec!["hall", "ticket", "--hall", "HCC", "--area", "A", "--at", at];
        args.extend_from_slice(extra);
        db.ok(&args)
    };
    assert_eq!(take(&[], "2026-03-10T08:00")["number"], "A-001");
    assert_eq!(take(&[], "2026-03-10T08:01")["number"], "A-002");
    let p = take(&["--priority", "pregnant"], "2026-03-10T08:02");
    assert_eq!((p["number"].as_str(), p["priority"].as_str()), (Some("A-003"), Some("pregnant")));

    // The first priority ticket first, then two ordinary (2 : 1).
    let call = |counter: &str, at: &str| {
        db.ok(&["hall", "call", "--hall", "HCC", "--counter", counter, "--at", at, "--by", "desk.an"])
    };
    let c = call("1", "2026-03-10T08:05");
    assert_eq!((c["called"]["number"].as_str(), c["called"]["lane"].as_str()), (Some("A-003"), Some("priority")));
    assert_eq!(c["called"]["counter"], 1);
    assert_eq!(call("2", "2026-03-10T08:06")["called"]["number"], "A-001");
    assert_eq!(call("3", "2026-03-10T08:07")["called"]["number"], "A-002");
    let none = call("1", "2026-03-10T08:08");
    assert_eq!((none["called"].clone(), none["message"].as_str()), (Value::Null, Some("no one waiting")));
    let plain = db.run(&["hall", "call", "--hall", "HCC", "--counter", "1", "--at", "2026-03-10T08:08"]);
    assert!(plain.stdout.contains("no one waiting"), "{}", plain.stdout);

    // Outside office hours, on a day off, an unknown area: exit 2, nothing written.
    db.run(&["hall", "ticket", "--hall", "HCC", "--area", "A", "--at", "2026-03-10T12:00"])
        .assert_user_error("office hours");
    db.run(&["hall", "ticket", "--hall", "HCC", "--area", "A", "--at", "2026-03-14T09:00"])
        .assert_user_error("non-working day");
    db.run(&["hall", "ticket", "--hall", "HCC", "--area", "Z", "--at", "2026-03-10T09:00"])
        .assert_user_error("no area Z");
    let queue = db.ok(&["hall", "queue", "--hall", "HCC", "--day", "2026-03-10"]);
    assert_eq!(queue["tickets"].as_array().unwrap().len(), 3);

    // Served; the dossier received from the ticket is linked to it.
    db.ok(&["hall", "finish", "A-003", "--hall", "HCC", "--at", "2026-03-10T08:15"]);
    let d = db.ok(&[
        "intake",
        "--procedure",
        "1.001193",
        "--agency",
        "000.00.02.H17",
        "--applicant",
        "Trần Thị Bình",
        "--ticket",
        "A-003",
        "--at",
        "2026-03-10T08:16",
    ]);
    let code = d["code"].as_str().unwrap().to_string();
    let shown = db.ok(&["hall", "show", "HCC-260310-A-003"]);
    assert_eq!(shown["dossiers"], serde_json::json!([code]));
    assert_eq!(shown["wait_seconds"], 180);
    assert_eq!(shown["service_seconds"], 600);
    // A ticket that does not exist: nothing received.
    db.run(&[
        "intake",
        "--procedure",
        "1.001193",
        "--agency",
        "000.00.02.H17",
        "--applicant",
        "Trần Văn Cường",
        "--ticket",
        "A-099",
        "--at",
        "2026-03-10T08:17",
    ])
    .assert_user_error("no ticket A-099");

    // The report.
    let r = db.run(&[
        "hall",
        "report",
        "--hall",
        "HCC",
        "--from",
        "2026-03-10",
        "--to",
        "2026-03-10",
        "--by",
        "area",
        "--format",
        "json",
    ]);
    let r: Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!((r["total"]["issued"].as_u64(), r["total"]["served"].as_u64()), (Some(3), Some(1)));
    assert_eq!(r["rows"][0]["key"], "HCC/A");
    let csv = db.run(&["hall", "report", "--from", "2026-03-10", "--to", "2026-03-10", "--format", "csv"]);
    assert!(csv.stdout.starts_with("key,issued,served"), "{}", csv.stdout);
}

#[test]
fn hall_at_the_desk_on_sqlite() {
    hall_at_the_desk(&Db::sqlite());
}

#[test]
fn hall_at_the_desk_on_postgres() {
    if let Some(db) = Db::pg("hall_desk") {
        hall_at_the_desk(&db);
    }
}

/// Thirty processes take numbers of area B at once; every third is killed with SIGKILL soon
/// after it starts. Every number a process printed is in the log, and the numbers of the day
/// run from 1 without a gap or a duplicate.
fn kill_9_loses_no_issued_ticket(db: &Db) {
    db.ok(&["hall", "list"]); // the database made and migrated before the rush
    let mut children = Vec::new();
    for i in 0..30 {
        let child = Command::new(env!("CARGO_BIN_EXE_motcua"))
            .env_remove("MOTCUA_DATABASE_URL")
            .env_remove("MOTCUA_CONFIG")
            .args(["--config", config_dir().to_str().unwrap(), "--db", &db.url])
            .args(["hall", "ticket", "--hall", "HCC", "--area", "B", "--at", "2026-03-10T09:00", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push((i, child));
    }
    std::thread::sleep(std::time::Duration::from_millis(40));
    let mut printed = Vec::new();
    let mut killed = 0;
    for (i, mut child) in children {
        if i % 3 == 0 && child.kill().is_ok() {
            killed += 1;
        }
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            printed.push(v["number"].as_str().unwrap().to_string());
        }
    }
    assert!(killed > 0 || printed.len() == 30);
    let queue = db.ok(&["hall", "queue", "--hall", "HCC", "--day", "2026-03-10"]);
    let mut numbers: Vec<String> =
        queue["tickets"].as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap().to_string()).collect();
    for p in &printed {
        assert!(numbers.contains(p), "{p} was printed but is not in the log");
    }
    numbers.sort();
    let expected: Vec<String> = (1..=numbers.len()).map(|n| format!("B-{n:03}")).collect();
    assert_eq!(numbers, expected, "no gap, no duplicate");
    assert!(numbers.len() >= printed.len());
}

#[test]
fn kill_9_loses_no_issued_ticket_on_sqlite() {
    kill_9_loses_no_issued_ticket(&Db::sqlite());
}

#[test]
fn kill_9_loses_no_issued_ticket_on_postgres() {
    if let Some(db) = Db::pg("hall_kill") {
        kill_9_loses_no_issued_ticket(&db);
    }
}

/// The desk's counter panel through the real server on each backend (its clock started on a
/// working morning): a desk officer's session posts the panel's forms — sign in at counter 3,
/// call, recall twice, no-show, call, start, finish, "no one waiting", sign out — and receives a
/// dossier from the served ticket by the intake form's ticket field; the command line reads
/// every step back from the database.
fn counter_panel_through_the_server(db: &Db) {
    use crate::server::{Server, add_staff};
    add_staff(db, "desk.an", "desk", &["000.00.02.H17"], "mật-khẩu-dài");
    for at in ["2026-03-10T08:00", "2026-03-10T08:01"] {
        db.ok(&["hall", "ticket", "--hall", "HCC", "--area", "A", "--at", at]);
    }
    let server = Server::start_with(db, &config_dir(), &["--clock-from", "2026-03-10T09:00:00+07:00", "--no-worker"]);
    let show = |n: &str| db.ok(&["hall", "show", &format!("HCC-260310-A-{n}")]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let c = reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build();
        let c = c.unwrap();
        let login = serde_json::json!({"username": "desk.an", "password": "mật-khẩu-dài"});
        let session: Value =
            c.post(server.url("/api/v1/session")).json(&login).send().await.unwrap().json().await.unwrap();
        let csrf = session["csrf_token"].as_str().unwrap().to_string();
        let post = |fields: Vec<(&'static str, String)>| {
            let mut form = fields;
            form.push(("_csrf", csrf.clone()));
            let r = c.post(server.url("/counter")).form(&form).send();
            async move {
                let r = r.await.unwrap();
                (r.status().as_u16(), r.headers().get("location").map(|l| l.to_str().unwrap().to_string()))
            }
        };
        let step = |s: &str, ticket: &str| vec![("step", s.to_string()), ("ticket", format!("HCC-260310-A-{ticket}"))];
        let at3 = |s: &str| vec![("step", s.to_string()), ("place", "HCC/3".to_string())];
        assert_eq!(post(at3("sign-in")).await, (303, Some("/queue#counter".into())));
        assert_eq!(post(at3("call")).await.0, 303);
        let t = show("001");
        assert_eq!(
            (t["status"].as_str(), t["counter"].as_u64(), t["called_by"].as_str()),
            (Some("called"), Some(3), Some("desk.an"))
        );
        assert_eq!(post(step("no-show", "001")).await.0, 409, "before the hall's recalls: refused");
        for _ in 0..2 {
            let mut recall = step("recall", "001");
            recall.push(("place", "HCC/3".into()));
            assert_eq!(post(recall).await.0, 303);
        }
        assert_eq!(post(step("no-show", "001")).await.0, 303);
        assert_eq!(show("001")["status"], "no_show");
        post(at3("call")).await;
        post(step("start", "002")).await;
        assert_eq!(show("002")["status"], "serving");
        post(step("finish", "002")).await;
        assert_eq!(show("002")["status"], "done");
        assert_eq!(post(at3("call")).await, (303, Some("/queue?counter_note=none#counter".into())));

        // The intake form with the ticket's number: the dossier is linked to the ticket.
        let intake = [
            ("_csrf", csrf.as_str()),
            ("procedure", "1.001193"),
            ("agency", "000.00.02.H17"),
            ("applicant", "Trần Thị Bình"),
            ("ticket", "A-002"),
        ];
        let r = c.post(server.url("/intake")).form(&intake).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 303);
        let receipt = r.headers()["location"].to_str().unwrap().to_string();
        let dossiers = show("002")["dossiers"].clone();
        assert_eq!(receipt, format!("/dossiers/{}/receipt", dossiers[0].as_str().unwrap()));
        let signed_in = || async {
            let halls: Value = c.get(server.url("/api/v1/halls")).send().await.unwrap().json().await.unwrap();
            let hcc = halls["halls"].as_array().unwrap().iter().find(|h| h["code"] == "HCC").unwrap().clone();
            hcc["counters"].as_array().unwrap().iter().find(|c| c["number"] == 3).unwrap()["signed_in"].clone()
        };
        assert_eq!(signed_in().await, "desk.an");
        assert_eq!(post(at3("sign-out")).await.0, 303);
        assert_eq!(signed_in().await, Value::Null);
    });
    assert_eq!(show("001")["recalls"], 2);
}

#[test]
fn counter_panel_through_the_server_on_sqlite() {
    counter_panel_through_the_server(&Db::sqlite());
}

#[test]
fn counter_panel_through_the_server_on_postgres() {
    if let Some(db) = Db::pg("hall_panel") {
        counter_panel_through_the_server(&db);
    }
}

/// The hall's screens follow the log, not one process's memory: a `motcua serve` streams to a
/// TV the numbers that the CLI — another process — issues and calls, within a second.
fn screens_see_calls_made_by_another_process(db: &Db) {
    use std::time::{Duration, Instant};

    db.ok(&["hall", "list"]);
    let server = crate::server::Server::start_with(db, &config_dir(), &["--no-worker"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = server.url("/api/v1/halls/HCC/events");
    let (tx, rx) = std::sync::mpsc::channel::<(Instant, Value)>();
    let listener = std::thread::spawn(move || {
        rt.block_on(async move {
            let mut res = reqwest::get(&url).await.unwrap();
            assert_eq!(res.status(), 200);
            let mut buf = String::new();
            while let Ok(Some(chunk)) = res.chunk().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let frame: String = buf.drain(..end + 2).collect();
                    for data in frame.lines().filter_map(|l| l.strip_prefix("data:")) {
                        let v: Value = serde_json::from_str(data.trim()).unwrap();
                        if tx.send((Instant::now(), v)).is_err() {
                            return;
                        }
                    }
                }
            }
        })
    });
    let (_, first) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first["type"], "state", "a screen first receives the full state");

    let issued = db.ok(&["hall", "ticket", "--hall", "HCC", "--area", "A", "--at", "2026-03-10T08:00"]);
    assert_eq!(issued["number"], "A-001");
    let called_at = Instant::now();
    db.ok(&["hall", "call", "--hall", "HCC", "--counter", "2", "--at", "2026-03-10T08:04"]);
    let called_done = Instant::now();
    let mut seen = Vec::new();
    let called = loop {
        let (when, v) = rx.recv_timeout(Duration::from_secs(5)).expect("the call reached the screen");
        seen.push(v["type"].as_str().unwrap_or("").to_string());
        if v["type"] == "called" {
            break (when, v);
        }
    };
    assert_eq!(seen.first().map(String::as_str), Some("issued"), "the issue came first: {seen:?}");
    assert_eq!(called.1["text"], "Mời số A-001 đến quầy 2");
    assert_eq!(called.1["ticket"]["id"], "HCC-260310-A-001");
    let late = called.0.saturating_duration_since(called_done);
    assert!(late < Duration::from_secs(1), "the call reached the screen {late:?} after the CLI returned");
    assert!(called.0 >= called_at);
    drop(server);
    drop(rx);
    let _ = listener.join();
}

#[test]
fn screens_see_calls_made_by_another_process_on_sqlite() {
    screens_see_calls_made_by_another_process(&Db::sqlite());
}

#[test]
fn screens_see_calls_made_by_another_process_on_postgres() {
    if let Some(db) = Db::pg("hall_feed") {
        screens_see_calls_made_by_another_process(&db);
    }
}
