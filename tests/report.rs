//! `report` equals what core computes from the event log, on simulated data, for several periods
//! and `--as-of` instants, on SQLite (and PostgreSQL when MOTCUA_TEST_PG_URL is set).

use std::collections::BTreeMap;

use motcua::config::Config;
use motcua::input;
use motcua_core::analysis::{Counts, count_dossier};
use motcua_core::{Domain, DossierCode, Event};
use motcua_store::Store;
use motcua_store::report::period;
use serde_json::Value;

use crate::desk::Db;
use crate::support::*;

fn domain() -> Domain {
    Config::load(&config_dir()).unwrap().domain().unwrap()
}

/// Every dossier's log, read back through the store's paged scan.
fn logs(url: &str) -> BTreeMap<DossierCode, Vec<Event>> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = motcua_store::open(url).await.unwrap();
        let mut out: BTreeMap<DossierCode, Vec<Event>> = BTreeMap::new();
        let mut after = 0;
        loop {
            let page = store.events_after(after, 5000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = last.id;
            for e in page {
                out.entry(e.code).or_default().push(e.event);
            }
        }
        out
    })
}

/// Core's figures: replay every log up to p1, count with `count_dossier`, group by lead agency.
fn reference(
    domain: &Domain,
    logs: &BTreeMap<DossierCode, Vec<Event>>,
    from: &str,
    to: &str,
    as_of: &str,
) -> (BTreeMap<String, Counts>, Counts) {
    let (p0, p1) = period(input::date(from).unwrap(), input::date(to).unwrap(), input::instant(as_of).unwrap());
    let mut rows: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for events in logs.values() {
        let d = domain.replay_until(events.iter(), p1).unwrap();
        let Ok(procedure) = domain.procedure_of(&d) else { continue };
        let Some(receiving) = d.receiving_agency.as_ref() else { continue };
        let lead = domain.lead_agency(procedure, receiving).to_string();
        count_dossier(rows.entry(lead).or_default(), &d, p0, p1, domain.classify);
        count_dossier(&mut total, &d, p0, p1, domain.classify);
    }
    rows.retain(|_, c| *c != Counts::default());
    (rows, total)
}

fn counts_of(v: &Value) -> Counts {
    let n = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} missing in {v}"));
    Counts {
        received: n("received"),
        finished: n("finished"),
        early: n("early"),
        on_time: n("on_time"),
        late: n("late"),
        in_time: n("in_time"),
        overdue: n("overdue"),
        waiting: n("waiting_for_citizen"),
        national: motcua_core::Ratio::new(n("national_on_time"), n("national_population")),
    }
}

fn check(db: &Db, domain: &Domain, logs: &BTreeMap<DossierCode, Vec<Event>>, from: &str, to: &str, as_of: &str) {
    let v =
        db.run(&["report", "--from", from, "--to", to, "--as-of", as_of, "--by", "agency", "--format", "json"]).json();
    let (rows, total) = reference(domain, logs, from, to, as_of);
    let got_total = counts_of(&v["total"]);
    assert_eq!(got_total, total, "total for {from}..{to} as of {as_of}");
    let got: BTreeMap<String, Counts> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), counts_of(r)))
        .filter(|(_, c)| *c != Counts::default())
        .collect();
    assert_eq!(got, rows, "rows for {from}..{to} as of {as_of}");
    // Rates are the counts' rates.
    let rate = v["total"]["on_time_rate_national"].as_f64().unwrap();
    assert!((rate - total.on_time_rate_national()).abs() < 1e-12);
    assert!((v["total"]["progress_score"].as_f64().unwrap() - 20.0 * rate).abs() < 1e-9);
    // By month, the months' figures are each a period of their own and the total is the whole.
    let m =
        db.run(&["report", "--from", from, "--to", to, "--as-of", as_of, "--by", "month", "--format", "json"]).json();
    assert_eq!(counts_of(&m["total"]), total);
}

pub fn report_equals_core(db: &Db) {
    let run = db.run(&["simulate", "--dossiers", "2500", "--seed", "7", "--from", "2025-01-02", "--to", "2025-02-28"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let domain = domain();
    let logs = logs(&db.url);
    assert!(logs.len() >= 2400, "{} dossiers", logs.len());
    // Whole periods, a period cut by --as-of mid-day, a period in the past seen from later
    // (dossiers changed after p1 are replayed), and one across Tết 2025.
    check(db, &domain, &logs, "2025-01-01", "2025-02-28", "2025-02-28T23:59:59+07:00");
    check(db, &domain, &logs, "2025-01-01", "2025-01-31", "2025-03-15T12:00:00+07:00");
    check(db, &domain, &logs, "2025-02-01", "2025-02-28", "2025-02-14T10:30:00+07:00");
    check(db, &domain, &logs, "2025-01-20", "2025-02-07", "2025-02-28T23:59:59+07:00");
    check(db, &domain, &logs, "2025-01-06", "2025-01-06", "2025-01-06T15:00:00+07:00");
    // The CSV and the table carry the same totals.
    let csv = db.run(&[
        "report",
        "--from",
        "2025-01-01",
        "--to",
        "2025-02-28",
        "--as-of",
        "2025-02-28T23:59:59+07:00",
        "--format",
        "csv",
    ]);
    let last = csv.stdout.lines().last().unwrap().to_string();
    let (_, total) = reference(&domain, &logs, "2025-01-01", "2025-02-28", "2025-02-28T23:59:59+07:00");
    assert!(last.starts_with(&format!("total,,{},{},", total.received, total.finished)), "{last}");
    let table =
        db.run(&["report", "--from", "2025-01-01", "--to", "2025-02-28", "--as-of", "2025-02-28T23:59:59+07:00"]);
    assert!(table.stdout.contains(&total.national.percent(1.0)), "{}", table.stdout);
}

#[test]
fn report_equals_core_on_sqlite() {
    report_equals_core(&Db::sqlite());
}

#[test]
fn report_equals_core_on_postgres() {
    if let Some(db) = Db::pg("report") {
        report_equals_core(&db);
    }
}

/// A report's or a scorecard's rows: each key with the count at `pointer` in its row.
fn keyed(v: &serde_json::Value, pointer: &str) -> Vec<(String, u64)> {
    let rows = v["rows"].as_array().unwrap();
    rows.iter()
        .map(|r| (r["key"].as_str().unwrap().to_string(), r.pointer(pointer).unwrap().as_u64().unwrap()))
        .collect()
}

/// A history across the 2025 reform on the command line: a ward that ceased on 30/6/2025
/// cannot receive after it (exit 2, nothing written); the report counts its dossiers as they
/// were, or with `--as-successors` under the ward that took most of its territory; `--agency`
/// narrows every grouping.
pub fn report_across_the_reform(db: &Db) {
    // phường Hòa Thuận Tây, split between phường Hải Châu (60 %) and phường Hòa Cường (40 %).
    const SPLIT: &str = "000.02.21.H17";
    const HAI_CHAU: &str = "000.00.41.H17";
    const WARD_PROC: &str = "1.001022";
    let intake = |agency: &str, at: &str| {
        let v =
            db.ok(&["intake", "--procedure", WARD_PROC, "--agency", agency, "--applicant", "Võ Thị Mai", "--at", at]);
        v["code"].as_str().unwrap_or_else(|| panic!("{v}")).to_string()
    };
    let old = intake(SPLIT, "2025-06-18T09:00:00+07:00");
    db.ok(&["accept", &old, "--at", "2025-06-18T09:10:00+07:00"]);
    db.ok(&["resolve", &old, "--at", "2025-06-19T09:00:00+07:00"]);
    intake(HAI_CHAU, "2025-07-07T09:00:00+07:00");
    let before = db.event_count();
    let refused = db.run(&[
        "intake",
        "--procedure",
        WARD_PROC,
        "--agency",
        SPLIT,
        "--applicant",
        "Võ Thị Mai",
        "--at",
        "2025-07-01T08:00:00+07:00",
    ]);
    refused.assert_user_error("ceased on 2025-06-30");
    assert!(refused.stderr.contains(HAI_CHAU), "the successors are named: {}", refused.stderr);
    assert_eq!(db.event_count(), before, "a refused intake writes nothing");

    let report = |extra: &[&str]| {
        let args = [
            &[
                "report",
                "--from",
                "2025-06-01",
                "--to",
                "2025-07-31",
                "--as-of",
                "2025-08-01T09:00:00+07:00",
                "--format",
                "json",
            ],
            extra,
        ]
        .concat();
        let v = db.run(&args).json();
        (keyed(&v, "/received"), counts_of(&v["total"]))
    };
    let (was, total) = report(&[]);
    assert_eq!(was, vec![(HAI_CHAU.to_string(), 1), (SPLIT.to_string(), 1)]);
    let (now, total_now) = report(&["--as-successors"]);
    assert_eq!(now, vec![(HAI_CHAU.to_string(), 2)]);
    assert_eq!(total_now, total);
    let (by_procedure, _) = report(&["--by", "procedure", "--agency", HAI_CHAU]);
    assert_eq!(by_procedure, vec![(WARD_PROC.to_string(), 1)]);
    let (by_procedure, _) = report(&["--by", "procedure", "--agency", HAI_CHAU, "--as-successors"]);
    assert_eq!(by_procedure, vec![(WARD_PROC.to_string(), 2)]);
    let (by_month, _) = report(&["--by", "month", "--agency", SPLIT]);
    assert_eq!(by_month, vec![("2025-06".to_string(), 1), ("2025-07".to_string(), 0)]);
    let table = db.run(&[
        "report",
        "--from",
        "2025-06-01",
        "--to",
        "2025-07-31",
        "--as-of",
        "2025-08-01T09:00:00+07:00",
        "--as-successors",
    ]);
    assert!(table.stdout.contains("ceased agencies under their successors of 2025-08-01"), "{}", table.stdout);
    db.run(&["report", "--as-successors", "--agency", SPLIT, "--as-of", "2025-08-01T09:00:00+07:00"])
        .assert_user_error("counted under 000.00.41.H17");
    db.run(&["report", "--agency", "000.00.99.H17"]).assert_user_error("unknown agency 000.00.99.H17");

    // The scorecard takes the same switch: 2.1's population and the finished dossiers move
    // with their dossiers, the total stays.
    let scorecard = |extra: &[&str]| {
        let args = [
            &["scorecard", "--from", "2025-06-01", "--to", "2025-07-31", "--as-of", "2025-08-01T09:00:00+07:00"][..],
            &["--format", "json"],
            extra,
        ]
        .concat();
        let v = db.run(&args).json();
        let rows = keyed(&v, "/on_time_2_1/denominator");
        (rows, v["total"]["on_time_2_1"].clone(), v["total"]["average_days_2_2"].clone())
    };
    let (was, on_time, days) = scorecard(&[]);
    assert_eq!(was, vec![(HAI_CHAU.to_string(), 1), (SPLIT.to_string(), 1)]);
    let (now, on_time_now, days_now) = scorecard(&["--as-successors"]);
    assert_eq!(now, vec![(HAI_CHAU.to_string(), 2)]);
    assert_eq!((on_time_now, days_now), (on_time, days), "the total is the same dossiers");
    let (only, ..) = scorecard(&["--as-successors", "--agency", HAI_CHAU]);
    assert_eq!(only, now);
    let table = db.run(&["scorecard", "--as-of", "2025-08-01T09:00:00+07:00", "--as-successors"]);
    assert!(table.stdout.contains("ceased agencies under their successors of 2025-08-01"), "{}", table.stdout);
    db.run(&["scorecard", "--as-successors", "--agency", SPLIT, "--as-of", "2025-08-01T09:00:00+07:00"])
        .assert_user_error("counted under 000.00.41.H17");
}

#[test]
fn report_across_the_reform_on_sqlite() {
    report_across_the_reform(&Db::sqlite());
}

#[test]
fn report_across_the_reform_on_postgres() {
    if let Some(db) = Db::pg("reform") {
        report_across_the_reform(&db);
    }
}
