//! `motcua watchlist`: cases planted with the desk's commands are counted against the officer
//! the rules name; on simulated data the list the binary reads from the aggregates equals the
//! one core builds from a replay of the log; CSV with a byte-order mark; bad filters exit 2.

use motcua::config::Config;
use motcua::input;
use motcua_core::Domain;
use motcua_core::watchlist::{WatchBy, WatchList, WatchQuery};
use serde_json::Value;

use crate::desk::Db;
use crate::support::*;

fn domain() -> Domain {
    Config::load(&config_dir()).unwrap().domain().unwrap()
}

/// The list core builds from a replay of the whole log, as JSON.
fn reference(db: &Db, q: &WatchQuery) -> Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let d = domain();
    rt.block_on(async {
        let store = motcua_store::open(&db.url).await.unwrap();
        let facts = motcua_store::watchlist::replayed_facts(&store, &d).await.unwrap();
        let list = WatchList::build(q, facts, |a| motcua_store::watchlist::agency_name(&d, a));
        serde_json::to_value(&list).unwrap()
    })
}

fn row<'a>(v: &'a Value, key: &str) -> &'a Value {
    v["rows"].as_array().unwrap().iter().find(|r| r["key"] == key).unwrap_or_else(|| panic!("no row {key}: {v}"))
}

/// A ping-pong, a silent department and a ward officer late three times, keyed in with `--at`
/// and `--by`; then the list by officer and by agency, its CSV, and the filters it refuses.
fn planted(db: &Db) {
    let intake = |agency: &str, procedure: &str, at: &str, by: &str| -> String {
        let v = db
            .run(&[
                "intake",
                "--procedure",
                procedure,
                "--agency",
                agency,
                "--applicant",
                "Nguyễn Văn An",
                "--at",
                at,
                "--by",
                by,
                "--json",
            ])
            .json();
        v["code"].as_str().unwrap().to_string()
    };
    let act = |args: &[&str], at: &str, by: &str| {
        let mut all = args.to_vec();
        all.extend(["--at", at, "--by", by]);
        let run = db.run(&all);
        assert_eq!(run.code, 0, "{all:?}: {}", run.stderr);
    };
    // The ping-pong: the centre's desk2 sends it back to the department.
    let a = intake("000.00.02.H17", "1.004628", "2025-03-03T08:00", "desk1");
    act(&["transfer", &a, "--to", "000.00.12.H17"], "2025-03-03T08:30", "desk1");
    act(&["accept", &a], "2025-03-03T09:00", "tp1");
    act(&["transfer", &a, "--to", "000.00.02.H17"], "2025-03-04T09:00", "tp1");
    act(&["accept", &a], "2025-03-04T09:30", "desk2");
    act(&["transfer", &a, "--to", "000.00.12.H17"], "2025-03-04T10:00", "desk2");
    act(&["accept", &a], "2025-03-04T10:30", "tp2");
    act(&["resolve", &a], "2025-03-05T09:00", "tp2");
    // The silent department.
    let b = intake("000.00.02.H17", "1.004628", "2025-03-03T08:00", "desk1");
    act(&["transfer", &b, "--to", "000.00.12.H17"], "2025-03-03T08:30", "desk1");
    act(&["accept", &b], "2025-03-03T09:00", "tp3");
    // Three late ward dossiers (three working days each).
    let mut late = Vec::new();
    for (day, done) in [("03", "07"), ("04", "10"), ("05", "11")] {
        let x = intake("000.00.41.H17", "1.001022", &format!("2025-03-{day}T09:00"), "ward1");
        act(&["accept", &x], &format!("2025-03-{day}T09:05"), "ward1");
        act(&["resolve", &x], &format!("2025-03-{done}T10:00"), "ward1");
        late.push(x);
    }
    late.sort();

    let base = ["watchlist", "--from", "2025-03-01", "--to", "2025-03-31", "--as-of", "2025-03-31T23:00"];
    let mut args = base.to_vec();
    args.extend(["--by", "officer", "--format", "json"]);
    let v = db.run(&args).json();
    assert_eq!(row(&v, "desk2")["signals"]["bounce"]["count"], 1);
    assert_eq!(row(&v, "ward1")["signals"]["late"]["count"], 3);
    // The codes behind a count: `--dossiers --signal KIND --key ROW`.
    let drill = |kind: &str, key: Option<&str>| {
        let mut args = base.to_vec();
        args.extend(["--by", "officer", "--format", "json", "--dossiers", "--signal", kind]);
        if let Some(k) = key {
            args.extend(["--key", k]);
        }
        db.run(&args).json()
    };
    assert_eq!(drill("bounce", Some("desk2"))["dossiers"], serde_json::json!([a]));
    assert_eq!(drill("extra_handoffs", Some("desk2"))["dossiers"], serde_json::json!([a]));
    assert_eq!(drill("silent_holder", Some("tp3"))["dossiers"], serde_json::json!([b]));
    let officers = v["late_officers"].as_array().unwrap();
    assert_eq!(officers.len(), 1, "{v}");
    assert_eq!((officers[0]["officer"].as_str(), officers[0]["late"]["count"].as_u64()), (Some("ward1"), Some(3)));
    let ward1 = drill("late", Some("ward1"));
    assert_eq!((ward1["dossiers"].clone(), ward1["total"].as_u64()), (serde_json::json!(late), Some(3)));
    let mut args = base.to_vec();
    args.extend(["--by", "officer", "--dossiers", "--signal", "late", "--key", "ward1"]);
    let table = db.run(&args);
    assert_eq!(table.stdout.lines().collect::<Vec<_>>(), [late[0].as_str(), &late[1], &late[2], "(3 hồ sơ)"]);
    args.extend(["--format", "csv", "--lang", "en"]);
    assert_eq!(db.run(&args).stdout, format!("\u{feff}code\r\n{}\r\n", late.join("\r\n")));
    let mut args = base.to_vec();
    args.extend(["--dossiers", "--signal", "late_twice"]);
    let refused = db.run(&args);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains("--signal \"late_twice\": expected one of bounce,"), "{}", refused.stderr);
    let q = WatchQuery {
        from: input::date("2025-03-01").unwrap(),
        to: input::date("2025-03-31").unwrap(),
        as_of: input::instant("2025-03-31T23:00").unwrap(),
        by: WatchBy::Officer,
        agency: None,
    };
    assert_eq!(v, reference(db, &q), "the aggregates equal a replay through core");

    // Every event keyed in with --at is backdated, counted on the day it was recorded (today).
    let today = motcua_core::calendar::to_local(chrono::Utc::now()).date().to_string();
    let v = db.run(&["watchlist", "--from", &today, "--to", &today, "--by", "officer", "--format", "json"]).json();
    assert_eq!(row(&v, "tp1")["backdated"]["events"], 2, "tp1 accepted once and transferred once");
    // Nine keyed with --at, and the apologies three of its late finishes recorded with them (at
    // the finish's stated instant, so backdated as the finish is).
    assert_eq!(row(&v, "ward1")["backdated"]["events"], 12);

    // The table and the CSV.
    let table = db.run(&base);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("Chỉ thị 34-CT/TU") && table.stdout.contains("ward1"), "{}", table.stdout);
    let mut args = base.to_vec();
    args.extend(["--format", "csv"]);
    let csv = db.run(&args);
    assert!(csv.stdout.starts_with("\u{feff}Mã,Tên,Số hồ sơ có dấu hiệu,"), "{}", csv.stdout);
    assert!(csv.stdout.lines().any(|l| l.starts_with("000.00.41.H17,")), "{}", csv.stdout);
    args.extend(["--lang", "en", "--sort", "late"]);
    let csv = db.run(&args);
    assert!(csv.stdout.starts_with("\u{feff}key,name,flagged,bounce,"), "{}", csv.stdout);
    let second = csv.stdout.lines().nth(1).unwrap();
    assert!(second.starts_with("000.00.41.H17,"), "sorted by late, the ward first: {second}");

    // Filters it refuses: exit 2, a clear line.
    let mut bad = base.to_vec();
    bad.extend(["--sort", "name"]);
    db.run(&bad).assert_user_error("--sort \"name\"");
    let mut bad = base.to_vec();
    bad.extend(["--agency", "000.00.99.H17"]);
    db.run(&bad).assert_user_error("000.00.99.H17");
    db.run(&["watchlist", "--from", "2025-03-31", "--to", "2025-03-01"]).assert_user_error("is after");
}

/// Simulated data: the list the binary reads equals core's replay, by agency and by officer,
/// over the period and as of an instant inside it.
fn simulated(db: &Db) {
    let run = db.run(&["simulate", "--dossiers", "1200", "--seed", "5", "--from", "2025-04-01", "--to", "2025-04-30"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (by, as_of) in [("agency", "2025-05-31T23:00"), ("officer", "2025-04-18T10:30")] {
        let v = db
            .run(&[
                "watchlist",
                "--from",
                "2025-04-01",
                "--to",
                "2025-05-31",
                "--by",
                by,
                "--as-of",
                as_of,
                "--format",
                "json",
            ])
            .json();
        let q = WatchQuery {
            from: input::date("2025-04-01").unwrap(),
            to: input::date("2025-05-31").unwrap(),
            as_of: input::instant(as_of).unwrap(),
            by: by.parse().unwrap(),
            agency: None,
        };
        assert_eq!(v, reference(db, &q), "by {by} as of {as_of}");
        assert!(v["total"]["signals"]["late"]["count"].as_u64().unwrap() > 0, "{v}");
    }
}

#[test]
fn watchlist_counts_planted_cases_and_equals_a_replay_on_sqlite() {
    let db = Db::sqlite();
    planted(&db);
    simulated(&db);
}

#[test]
fn watchlist_counts_planted_cases_and_equals_a_replay_on_postgres() {
    if let Some(db) = Db::pg("watchlist") {
        planted(&db);
        simulated(&db);
    }
}
