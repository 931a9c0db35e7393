//! History brought in (`import`, `simulate`) is quiet and resumable, through the real binary on
//! both backends: no outbox row unless `--notify`, and then only for dossiers still inside their
//! time; dossiers already past due are left to a person (`overdue --imported`), not to the
//! worker's automatic apology; an import killed with SIGKILL at several points and run again
//! ends with exit 0 and exactly the file's log.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::desk::Db;
use crate::support::*;
use crate::worker::{SmtpSink, outbox, run_worker};

/// The instant the history arrives: ten days after the last simulated arrival.
const ARRIVAL: &str = "2025-04-10T12:00:00+07:00";

/// Every outbox row, whatever its status.
fn all_messages(db: &Db) -> Vec<Value> {
    ["pending", "sent", "dead"].iter().flat_map(|s| outbox(db, s)).collect()
}

/// A simulated month exported as JSONL (the simulation itself queues nothing), in `dir`.
fn history_file(dir: &Path, dossiers: &str) -> PathBuf {
    let src = Db::sqlite();
    let sim = src.run(&[
        "simulate",
        "--dossiers",
        dossiers,
        "--seed",
        "5",
        "--from",
        "2025-03-03",
        "--to",
        "2025-03-31",
        "--as-of",
        ARRIVAL,
        "--json",
    ]);
    assert_eq!(sim.code, 0, "{}", sim.stderr);
    assert_eq!(sim.json()["notified"], 0);
    assert!(all_messages(&src).is_empty(), "simulate queues no message by default");
    let file = dir.join("history.jsonl");
    let run = src.run(&["export", "--format", "jsonl", "--output", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    file
}

fn codes(v: &Value) -> BTreeSet<String> {
    v["dossiers"].as_array().unwrap().iter().map(|d| d["code"].as_str().unwrap().to_string()).collect()
}

fn history_is_quiet(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = history_file(dir.path(), "600");
    let v = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL, "--json"]).json();
    assert_eq!(v["rejected"], 0, "{v}");
    assert_eq!(v["imported"], v["rows"], "{v}");
    assert_eq!(v["notified"], 0, "{v}");
    assert!(all_messages(db).is_empty(), "an import queues no message by default");
    // Past due at the arrival, clock running, no apology: listed for a person.
    let imported = db.run(&["overdue", "--imported", "--as-of", ARRIVAL, "--json"]).json();
    let late = codes(&imported);
    assert!(late.len() > 5, "{imported}");
    for d in imported["dossiers"].as_array().unwrap() {
        assert!(d["late_working_minutes"].as_i64().unwrap() > 0, "{d}");
        assert!(["received", "processing"].contains(&d["status"].as_str().unwrap()), "clock running: {d}");
    }
    let one = late.iter().next().unwrap();
    let s = db.ok(&["show", one, "--as-of", ARRIVAL]);
    assert_eq!(s["state"], "overdue", "{s}");
    // …and none of them awaits the automatic apology.
    let awaiting = db.run(&["overdue", "--as-of", ARRIVAL, "--json"]).json();
    assert!(codes(&awaiting).is_empty(), "{awaiting}");
    // A worker pass at the arrival apologises for none of them.
    let smtp = SmtpSink::start();
    let print = tempfile::tempdir().unwrap();
    let r = run_worker(db, ARRIVAL, &smtp.addr(), print.path());
    assert_eq!(r["tick"]["apologies"], 0, "{r}");
    let apologies = |db: &Db| -> BTreeSet<String> {
        all_messages(db)
            .iter()
            .filter(|m| ["apology", "escalation"].contains(&m["kind"].as_str().unwrap()))
            .map(|m| m["dossier_code"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(apologies(db).is_empty());
    // Three weeks on: the deadlines that passed while motcua ran get their apology, the
    // imported overdue dossiers still do not, and are still listed.
    let later = "2025-05-02T10:00:00+07:00";
    let r = run_worker(db, later, &smtp.addr(), print.path());
    assert!(r["tick"]["apologies"].as_u64().unwrap() > 0, "{r}");
    let apologised = apologies(db);
    assert!(!apologised.is_empty());
    assert!(apologised.is_disjoint(&late), "{:?}", apologised.intersection(&late).collect::<Vec<_>>());
    let still = codes(&db.run(&["overdue", "--imported", "--as-of", later, "--json"]).json());
    assert!(!still.is_empty() && still.is_subset(&late), "{still:?}");
    let listed = db.run(&["overdue", "--imported", "--as-of", later]);
    assert!(listed.stdout.contains(still.iter().next().unwrap()) && listed.stdout.contains("left to a person"));
    assert!(db.run(&["recompute", "--dry-run"]).stdout.contains("up to date"));
}

#[test]
fn history_is_quiet_sqlite() {
    history_is_quiet(&Db::sqlite());
}

#[test]
fn history_is_quiet_postgres() {
    let Some(db) = Db::pg("history_quiet") else { return };
    history_is_quiet(&db);
}

fn notify_queues_only_the_actionable(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = history_file(dir.path(), "400");
    let v = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL, "--notify", "--json"]).json();
    assert_eq!(v["rejected"], 0, "{v}");
    let queued = all_messages(db);
    assert_eq!(v["notified"].as_u64().unwrap() as usize, queued.len(), "{v}");
    assert!(!queued.is_empty(), "--notify queues the messages of the open dossiers inside their time");
    let notified: BTreeSet<&str> = queued.iter().map(|m| m["dossier_code"].as_str().unwrap()).collect();
    for code in &notified {
        let s = db.ok(&["show", code, "--as-of", ARRIVAL]);
        assert!(["in_time", "waiting_for_citizen"].contains(&s["state"].as_str().unwrap()), "{code}: {s}");
    }
    // Every open dossier inside its time with a message implied got it; the finished ones and
    // those past due got none.
    let late = codes(&db.run(&["overdue", "--imported", "--as-of", ARRIVAL, "--json"]).json());
    assert!(!late.is_empty());
    assert!(late.iter().all(|c| !notified.contains(c.as_str())));
    // Run again: every event already present, nothing queued twice.
    let again = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL, "--notify", "--json"]).json();
    assert_eq!(again["imported"], 0, "{again}");
    assert_eq!(again["already_present"], v["rows"], "{again}");
    assert_eq!(again["notified"], 0, "{again}");
    assert_eq!(all_messages(db).len(), queued.len());
}

#[test]
fn notify_queues_only_the_actionable_sqlite() {
    notify_queues_only_the_actionable(&Db::sqlite());
}

#[test]
fn notify_queues_only_the_actionable_postgres() {
    let Some(db) = Db::pg("history_notify") else { return };
    notify_queues_only_the_actionable(&db);
}

/// Starts `motcua import FILE` and kills it with SIGKILL after `after`, unless it ends first
/// (then true).
fn import_killed_after(db: &Db, file: &Path, after: Duration) -> bool {
    let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
        .arg("--config")
        .arg(config_dir())
        .arg("--db")
        .arg(&db.url)
        .args(["import", file.to_str().unwrap(), "--as-of", ARRIVAL])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < after {
        if child.try_wait().unwrap().is_some() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // `Child::kill` is SIGKILL on Unix: no chance to finish the chunk or roll back.
    child.kill().unwrap();
    child.wait().unwrap();
    false
}

fn an_import_killed_at_any_point_is_run_again(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = history_file(dir.path(), "4000");
    let text = std::fs::read_to_string(&file).unwrap();
    let total = text.lines().count();
    // Killed sooner than it can finish, each run a little later than the one before: at
    // start-up, inside a group commit, between two.
    let mut partial = Vec::new();
    for k in 1..=20 {
        if import_killed_after(db, &file, Duration::from_millis(350 * k)) {
            break;
        }
        partial.push(db.event_count());
    }
    eprintln!("events in the log after each kill: {partial:?} of {total}");
    assert!(partial.windows(2).all(|w| w[0] <= w[1]), "{partial:?}");
    let inside: BTreeSet<usize> = partial.iter().copied().filter(|n| *n > 0 && *n < total).collect();
    assert!(inside.len() >= 2, "killed at two points at least part-way: {partial:?}");
    let before = db.event_count();
    let run = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL, "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("rejected"), "{}", run.stderr);
    let v = run.json();
    assert_eq!(v["rejected"], 0, "{v}");
    let already = v["already_present"].as_u64().unwrap() as usize;
    assert_eq!(already, before, "{v}");
    assert_eq!(already + v["imported"].as_u64().unwrap() as usize, total, "{v}");
    let exported = db.run(&["export", "--format", "jsonl"]);
    assert_eq!(exported.code, 0, "{}", exported.stderr);
    assert!(exported.stdout == text, "the log equals the file");
    let dry = db.run(&["recompute", "--dry-run"]);
    assert!(dry.stdout.contains("up to date"), "{}", dry.stdout);
    assert!(all_messages(db).is_empty());
    let kills = partial.len();
    crate::chaos::chaos_line(
        &format!("import killed {kills} times, run again"),
        db,
        total,
        db.event_count(),
        0,
        crate::chaos::differences(db),
    );
}

#[test]
fn an_import_killed_at_any_point_is_run_again_sqlite() {
    an_import_killed_at_any_point_is_run_again(&Db::sqlite());
}

#[test]
fn an_import_killed_at_any_point_is_run_again_postgres() {
    let Some(db) = Db::pg("history_killed") else { return };
    an_import_killed_at_any_point_is_run_again(&db);
}

/// A genuinely conflicting event is still rejected: the same dossier's event changed in the
/// file (another instant) is not "already present".
#[test]
fn a_conflicting_event_is_still_rejected() {
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.jsonl");
    let code = "000.00.02.H17-250303-0001";
    let intake = format!(
        r#"{{"code":"{code}","at":"2025-03-03T09:00:00+07:00","type":"received","intake":{{"code":"{code}","procedure":"1.004628","agency":"000.00.02.H17","applicant":{{"name":"Phan Văn Khải"}}}}}}"#
    );
    let transfer = |at: &str| format!(r#"{{"code":"{code}","at":"{at}","type":"transferred","to":"000.00.12.H17"}}"#);
    let accepted = format!(r#"{{"code":"{code}","at":"2025-03-03T11:00:00+07:00","type":"accepted"}}"#);
    std::fs::write(&file, [intake.clone(), transfer("2025-03-03T10:00:00+07:00"), accepted.clone()].join("\n"))
        .unwrap();
    let first = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(first.stdout.contains("3 events imported, 0 already present, 0 rows rejected"), "{}", first.stdout);
    std::fs::write(&file, [intake, transfer("2025-03-03T10:30:00+07:00"), accepted].join("\n")).unwrap();
    let second = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL]);
    second.assert_user_error("1 of 3 rows were rejected");
    assert!(second.stderr.contains("line 2: rejected"), "{}", second.stderr);
    assert!(second.stdout.contains("0 events imported, 2 already present, 1 rows rejected"), "{}", second.stdout);
    assert_eq!(db.event_count(), 3);
}
