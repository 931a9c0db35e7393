//! The desk's command line on a real SQLite file (and PostgreSQL when MOTCUA_TEST_PG_URL is set):
//! every command, the rejections (exit 2, nothing written), `show` and `report`.

use serde_json::Value;

use crate::support::*;

const CENTRE: &str = "000.00.02.H17";
const TOURISM: &str = "000.00.12.H17";
const TRAVEL_LICENCE: &str = "1.004628"; // 10 working days, centre → department → centre

/// A fresh database for one test: a SQLite file in a temp dir.
pub struct Db {
    _dir: tempfile::TempDir,
    pub url: String,
    /// (server URL, database name) of a PostgreSQL database to drop afterwards.
    pg: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some((base, name)) = self.pg.take() else { return };
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
        rt.block_on(async {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(&base).await {
                let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await;
            }
        });
    }
}

impl Db {
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("motcua.db").display());
        Self { _dir: dir, url, pg: None }
    }

    /// A SQLite file at `path` (a folder the caller owns, e.g. on a small file system).
    pub fn sqlite_at(path: &std::path::Path) -> Self {
        Self { _dir: tempfile::tempdir().unwrap(), url: format!("sqlite://{}", path.display()), pg: None }
    }

    /// A fresh PostgreSQL database on the server of MOTCUA_TEST_PG_URL, dropped afterwards;
    /// `None` (and a note) when the variable is unset.
    pub fn pg(test: &str) -> Option<Self> {
        let Ok(base) = std::env::var("MOTCUA_TEST_PG_URL") else {
            eprintln!("{test}: MOTCUA_TEST_PG_URL is not set; PostgreSQL half skipped");
            return None;
        };
        let name = format!("motcua_e2e_{}_{}", std::process::id(), test);
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&base).await.unwrap();
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut conn).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        });
        let url = match base.rfind('/') {
            Some(i) => format!("{}/{name}", &base[..i]),
            None => panic!("MOTCUA_TEST_PG_URL has no database part: {base}"),
        };
        Some(Self { _dir: tempfile::tempdir().unwrap(), url, pg: Some((base, name)) })
    }

    pub fn run(&self, args: &[&str]) -> Run {
        motcua_with(&config_dir(), Some(&self.url), args)
    }

    /// Runs one SQL statement on the database directly (to damage a projection that a
    /// recovery command must then repair).
    pub fn sql(&self, q: &str) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            use sqlx::Connection;
            if self.pg.is_some() {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query(q).execute(&mut conn).await.unwrap();
            } else {
                let path = self.url.trim_start_matches("sqlite://");
                let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{path}")).await.unwrap();
                sqlx::query(q).execute(&mut conn).await.unwrap();
            }
        });
    }

    pub fn ok(&self, args: &[&str]) -> Value {
        let run = self.run(&[args, &["--json"]].concat());
        run.json()
    }

    /// Events in the log, through the export command (no test-only access).
    pub fn event_count(&self) -> usize {
        let run = self.run(&["export", "--format", "jsonl"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout.lines().filter(|l| !l.trim().is_empty()).count()
    }
}

fn intake(db: &Db, at: &str) -> String {
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Trần Thị Bình",
        "--email",
        "binh@example.vn",
        "--id-number",
        "048190000123",
        "--at",
        at,
        "--by",
        "desk.an",
    ]);
    v["code"].as_str().unwrap().to_string()
}

#[test]
fn intake_prints_code_and_due_date() {
    let db = Db::sqlite();
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Lê Văn C",
        "--at",
        "2025-03-03T09:00:00+07:00",
    ]);
    assert_eq!(v["code"], "000.00.02.H17-250303-0001");
    assert_eq!(v["status"], 2);
    assert_eq!(v["due_at"], "2025-03-17T09:00:00+07:00");
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Lê Văn D",
        "--at",
        "2025-03-03T10:00:00+07:00",
    ]);
    assert_eq!(v["code"], "000.00.02.H17-250303-0002", "sequence per agency per day");
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Lê Văn E",
        "--at",
        "2025-03-04T10:00:00+07:00",
    ]);
    assert_eq!(v["code"], "000.00.02.H17-250304-0001", "a new day restarts the sequence");
    // Text output names the code and the due date.
    let run = db.run(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "X",
        "--at",
        "2025-03-04T11:00:00+07:00",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("000.00.02.H17-250304-0002") && run.stdout.contains("due: 2025-03-18T11:00:00+07:00"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_dossier_from_intake_to_return() {
    lifecycle(&Db::sqlite());
}

#[test]
fn a_dossier_from_intake_to_return_on_postgres() {
    if let Some(db) = Db::pg("lifecycle") {
        lifecycle(&db);
    }
}

fn lifecycle(db: &Db) {
    let code = intake(db, "2025-03-03T09:00:00+07:00");
    db.ok(&["transfer", &code, "--to", TOURISM, "--at", "2025-03-03T10:00:00+07:00"]);
    db.ok(&["accept", &code, "--at", "2025-03-03T14:00:00+07:00", "--by", "tourism.lan"]);
    db.ok(&[
        "request-supplement",
        &code,
        "--reason",
        "Thiếu bản sao giấy phép",
        "--document",
        "Giấy phép kinh doanh",
        "--at",
        "2025-03-05T09:00:00+07:00",
    ]);
    let v = db.ok(&["supplement", &code, "--at", "2025-03-07T09:00:00+07:00"]);
    assert_eq!(v["due_at"], "2025-03-21T09:00:00+07:00", "restart: 10 working days from the supplement");
    assert_eq!(v["original_due_at"], "2025-03-17T09:00:00+07:00");
    db.ok(&["request-payment", &code, "--reason", "Phí thẩm định", "--at", "2025-03-10T09:00:00+07:00"]);
    let v = db.ok(&["paid", &code, "--method", "cash", "--at", "2025-03-10T10:00:00+07:00"]);
    assert_eq!(v["due_at"], "2025-03-21T10:00:00+07:00", "payment waits pause: +60 working minutes");
    // A day off is not an appointment: refused with the next working day named, or moved there
    // on request and said so.
    let saturday = ["reschedule", &code, "--to", "2025-03-22", "--reason", "Cần xác minh thực tế"];
    db.run(&[&saturday[..], &["--at", "2025-03-20T09:00:00+07:00"]].concat())
        .assert_user_error("2025-03-22 is not a working day; the next working day is 2025-03-24");
    let moved =
        db.run(&[&saturday[..], &["--next-working-day", "--at", "2025-03-20T09:00:00+07:00", "--json"]].concat());
    assert!(
        moved.stderr.contains(
            "22/03/2025 is not a working day; the new appointment is moved to the next working day, 24/03/2025 17:00"
        ),
        "{}",
        moved.stderr
    );
    assert_eq!(moved.json()["rescheduled_to"], "2025-03-24T17:00:00+07:00");
    db.ok(&["transfer", &code, "--to", CENTRE, "--at", "2025-03-24T09:00:00+07:00"]);
    db.ok(&["accept", &code, "--at", "2025-03-24T09:30:00+07:00"]);
    let v = db.ok(&["resolve", &code, "--at", "2025-03-24T10:00:00+07:00"]);
    assert_eq!(v["status"], 9);
    let v = db.ok(&["return", &code, "--at", "2025-03-25T08:00:00+07:00"]);
    assert_eq!(v["status"], 10);

    let s = db.ok(&["show", &code, "--as-of", "2025-04-01T00:00:00+07:00"]);
    assert_eq!(s["code"], code);
    assert_eq!(s["status"], 10);
    assert_eq!(s["status_name"], "returned");
    assert_eq!(s["received_at"], "2025-03-03T09:00:00+07:00");
    assert_eq!(s["start_at"], "2025-03-07T09:00:00+07:00");
    assert_eq!(s["due_at"], "2025-03-21T10:00:00+07:00");
    assert_eq!(s["original_due_at"], "2025-03-17T09:00:00+07:00");
    assert_eq!(s["rescheduled_to"], "2025-03-24T17:00:00+07:00");
    assert_eq!(s["finished_at"], "2025-03-24T10:00:00+07:00");
    assert_eq!(s["returned_at"], "2025-03-25T08:00:00+07:00");
    assert_eq!(s["timeliness"], "late");
    assert_eq!(s["overdue"], false);
    // Fri 21/3 10:00 → Mon 24/3 10:00 = one working day.
    assert_eq!(s["late_working_minutes"], 450);
    assert_eq!(s["holder"], CENTRE);
    assert_eq!(s["supplement_count"], 1);
    assert_eq!(s["handoffs"].as_array().unwrap().len(), 2);
    assert_eq!(s["handoffs"][0]["delay_working_minutes"], 120, "10:00 → 14:00 over lunch");
    let dwell = s["dwell"].as_array().unwrap();
    assert_eq!(dwell.len(), 3);
    assert_eq!(dwell[1]["agency"], TOURISM);
    assert_eq!(dwell[1]["budget_minutes"], 9 * 450);
    assert_eq!(s["attribution"][0]["agency"], TOURISM);
    assert_eq!(s["bounces"], 0);
    assert!(s["explanation"].as_array().unwrap().len() >= 6, "{}", s["explanation"]);
    assert!(s["signals"].to_string().contains("supplement asked for papers not in the procedure"), "{}", s["signals"]);

    // As of an earlier instant: open, holder the department, in time.
    let s = db.ok(&["show", &code, "--as-of", "2025-03-04T12:00:00+07:00"]);
    assert_eq!(s["status"], 4);
    assert_eq!(s["holder"], TOURISM);
    assert_eq!(s["timeliness"], Value::Null);
    assert_eq!(s["overdue"], false);
    assert_eq!(s["due_at"], "2025-03-17T09:00:00+07:00");
    let text = db.run(&["show", &code]);
    assert!(text.stdout.contains("control sheet:"), "{}", text.stdout);

    // Waiting for the citizen a month past its due date: neither in time nor overdue.
    let waiting = intake(db, "2025-03-03T09:00:00+07:00");
    db.ok(&["transfer", &waiting, "--to", TOURISM, "--at", "2025-03-03T10:00:00+07:00"]);
    db.ok(&["accept", &waiting, "--at", "2025-03-03T14:00:00+07:00"]);
    db.ok(&["request-supplement", &waiting, "--reason", "Thiếu tờ khai", "--at", "2025-03-04T09:00:00+07:00"]);
    let s = db.ok(&["show", &waiting, "--as-of", "2025-04-15T09:00:00+07:00"]);
    assert_eq!((s["state"].as_str(), s["overdue"].as_bool()), (Some("waiting_for_citizen"), Some(false)), "{s}");
    assert!(s["remaining_working_minutes"].as_i64().unwrap() > 0, "{s}");
    let text = db.run(&["show", &waiting, "--as-of", "2025-04-15T09:00:00+07:00"]);
    assert!(text.stdout.contains("state:         waiting_for_citizen"), "{}", text.stdout);
    assert!(text.stdout.contains("overdue: false"), "{}", text.stdout);
}

#[test]
fn withdraw_and_stop_finish_a_dossier() {
    let db = Db::sqlite();
    let a = intake(&db, "2025-03-03T09:00:00+07:00");
    let v = db.ok(&["withdraw", &a, "--reason", "Công dân rút hồ sơ", "--at", "2025-03-04T09:00:00+07:00"]);
    assert_eq!(v["status"], 7);
    let b = intake(&db, "2025-03-03T10:00:00+07:00");
    db.ok(&["accept", &b, "--at", "2025-03-03T10:30:00+07:00"]);
    db.ok(&["request-supplement", &b, "--reason", "Thiếu giấy tờ", "--at", "2025-03-04T09:00:00+07:00"]);
    let v = db.ok(&["stop", &b, "--reason", "Quá hạn bổ sung", "--at", "2025-03-20T09:00:00+07:00"]);
    assert_eq!(v["status"], 8);
    let s = db.ok(&["show", &b, "--as-of", "2025-03-21T00:00:00+07:00"]);
    assert_eq!(s["finished_at"], "2025-03-20T09:00:00+07:00");
    assert_eq!(s["timeliness"], "early", "time waiting for the citizen is not held against the agency");
    db.run(&["return", &b]).assert_user_error("cannot apply `returned` to a dossier in status 8");
}

#[test]
fn online_submission_accepted_or_refused() {
    let db = Db::sqlite();
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Online",
        "--channel",
        "online",
        "--at",
        "2025-03-01T21:00:00+07:00",
    ]);
    assert_eq!(v["status"], 1);
    assert_eq!(v["due_at"], Value::Null);
    let code = v["code"].as_str().unwrap().to_string();
    let v = db.ok(&["accept-online", &code, "--at", "2025-03-03T08:00:00+07:00"]);
    assert_eq!(v["status"], 2);
    assert_eq!(v["due_at"], "2025-03-17T08:00:00+07:00");
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Online 2",
        "--channel",
        "online",
        "--at",
        "2025-03-02T21:00:00+07:00",
    ]);
    let code = v["code"].as_str().unwrap().to_string();
    let v = db.ok(&["refuse-online", &code, "--reason", "Sai thủ tục", "--at", "2025-03-03T08:00:00+07:00"]);
    assert_eq!(v["status"], 3);
}

#[test]
fn illegal_writes_exit_2_and_write_nothing() {
    illegal_writes(&Db::sqlite());
}

#[test]
fn illegal_writes_exit_2_and_write_nothing_on_postgres() {
    if let Some(db) = Db::pg("illegal") {
        illegal_writes(&db);
    }
}

fn illegal_writes(db: &Db) {
    let code = intake(db, "2025-03-03T09:00:00+07:00");
    let before = db.event_count();
    assert_eq!(before, 1);
    // Core's transition errors.
    db.run(&["resolve", &code, "--at", "2025-03-03T10:00:00+07:00"])
        .assert_user_error("cannot apply `resolved` to a dossier in status 2");
    db.run(&["return", &code, "--at", "2025-03-03T10:00:00+07:00"]).assert_user_error("cannot apply");
    // Unknown code / agency / procedure.
    db.run(&["transfer", "000.00.02.H17-250303-0999", "--to", TOURISM]).assert_user_error("does not exist");
    db.run(&["transfer", &code, "--to", "000.99.99.H17", "--at", "2025-03-03T10:00:00+07:00"])
        .assert_user_error("unknown agency 000.99.99.H17");
    db.run(&["intake", "--procedure", "9.999999", "--agency", CENTRE, "--applicant", "X"])
        .assert_user_error("unknown procedure 9.999999");
    db.run(&["intake", "--procedure", TRAVEL_LICENCE, "--agency", "000.00.99.H17", "--applicant", "X"])
        .assert_user_error("unknown agency");
    // Earlier than the last event.
    db.run(&["transfer", &code, "--to", TOURISM, "--at", "2025-03-03T08:00:00+07:00"])
        .assert_user_error("earlier than the dossier's last event");
    // Malformed values.
    db.run(&["transfer", "not-a-code", "--to", TOURISM]).assert_user_error("invalid dossier code");
    db.run(&["transfer", &code, "--to", TOURISM, "--at", "tomorrow"]).assert_user_error("invalid instant");
    db.run(&["intake", "--procedure", TRAVEL_LICENCE, "--agency", CENTRE, "--applicant", "X", "--email", "nope"])
        .assert_user_error("invalid e-mail");
    db.run(&["intake", "--procedure", TRAVEL_LICENCE, "--agency", CENTRE, "--applicant", "X", "--phone", "12"])
        .assert_user_error("invalid phone");
    db.run(&["intake", "--procedure", TRAVEL_LICENCE, "--agency", CENTRE, "--applicant", "X", "--channel", "fax"])
        .assert_user_error("invalid channel");
    db.run(&["intake", "--procedure", TRAVEL_LICENCE, "--agency", CENTRE, "--applicant", " "])
        .assert_user_error("--applicant must not be empty");
    db.run(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "X",
        "--at",
        "2020-01-02T09:00:00+07:00",
    ])
    .assert_user_error("outside the calendar");
    // Never dated in the future, not even by the operator.
    db.run(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "X",
        "--at",
        "2035-01-01T09:00:00+07:00",
    ])
    .assert_user_error("never dated in the future");
    db.run(&["transfer", &code, "--to", TOURISM, "--at", "2099-01-05T09:00:00+07:00"])
        .assert_user_error("never dated in the future");
    db.run(&["reschedule", &code, "--to", "2025-03-10", "--reason", "x", "--at", "2025-03-03T10:00:00+07:00"])
        .assert_user_error("not after the due date");
    db.run(&["reschedule", &code, "--to", "someday", "--reason", "x"]).assert_user_error("invalid date");
    db.run(&["stop", &code, "--reason", ""]).assert_user_error("--reason must not be empty");
    db.run(&["resolve", &code, "--refused"]).assert_user_error("a refusal needs --reason");
    assert_eq!(db.event_count(), before, "a rejected command wrote something");
    let s = db.ok(&["show", &code, "--as-of", "2025-03-04T00:00:00+07:00"]);
    assert_eq!(s["status"], 2);
}

/// `--at` keys in paper history without the server's window, and the log keeps both instants:
/// as stated and as recorded (the command's now), with the reason given; `show` lists them
/// and `report --backdated` counts them per officer.
#[test]
fn at_keys_in_paper_history_and_the_log_keeps_both_instants() {
    let db = Db::sqlite();
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Trần Thị Bình",
        "--at",
        "2025-03-03T09:00:00+07:00",
        "--by",
        "desk.an",
        "--backdate-reason",
        "Nhập lại từ sổ tiếp nhận giấy",
    ]);
    let code = v["code"].as_str().unwrap().to_string();
    db.ok(&["transfer", &code, "--to", TOURISM, "--at", "2025-03-03T10:00:00+07:00", "--by", "desk.an"]);
    // Stated now: not backdated.
    db.ok(&["accept", &code, "--by", "tourism.lan"]);
    let s = db.ok(&["show", &code]);
    let log = s["log"].as_array().unwrap();
    assert_eq!(log.len(), 3, "{s}");
    assert_eq!(log[0]["at"], "2025-03-03T09:00:00+07:00");
    assert_eq!(log[0]["backdated"], true);
    assert_eq!(log[0]["backdate_reason"], "Nhập lại từ sổ tiếp nhận giấy");
    let recorded = |e: &Value| {
        chrono::DateTime::parse_from_rfc3339(e["recorded_at"].as_str().unwrap()).unwrap().with_timezone(&chrono::Utc)
    };
    let stated = chrono::DateTime::parse_from_rfc3339("2025-03-03T10:00:00+07:00").unwrap();
    assert!(recorded(&log[1]) > stated, "recorded when the command ran, after the stated instant: {}", log[1]);
    assert!(log[1]["backdated_working_minutes"].as_i64().unwrap() > 450, "{}", log[1]);
    assert_eq!(log[2]["backdated"], false);
    assert_eq!(log[2]["at"], log[2]["recorded_at"], "without --at both instants are the command's now");
    // The text of `show` lists the recorded instant and the reason of a backdated event.
    let run = db.run(&["show", &code]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("log:") && run.stdout.contains("reason: Nhập lại từ sổ tiếp nhận giấy"),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.matches("      recorded ").count(), 2, "{}", run.stdout);
    // The backdating report of the month they were recorded in: both, under desk.an.
    let r = db.run(&["report", "--backdated", "--format", "json"]).json();
    let kinds: Vec<&str> = r["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["received", "transferred"], "{r}");
    assert_eq!(r["officers"][0]["by"], "desk.an");
    assert_eq!(r["officers"][0]["events"], 2);
    assert_eq!(r["officers"][0]["beyond_window"], 2);
    let none = db.run(&["report", "--backdated", "--officer", "tourism.lan", "--format", "json"]).json();
    assert!(none["events"].as_array().unwrap().is_empty());
}

#[test]
fn catalog_lists_agencies_and_procedures() {
    let db = Db::sqlite();
    let v = db.ok(&["catalog"]);
    let agencies = v["agencies"].as_array().unwrap();
    assert!(agencies.len() >= 17);
    assert!(agencies.iter().any(|a| a["code"] == CENTRE && a["parent"] == "000.00.00.H17"));
    let procedures = v["procedures"].as_array().unwrap();
    assert!(procedures.len() >= 20);
    let p = procedures.iter().find(|p| p["code"] == TRAVEL_LICENCE).unwrap();
    assert_eq!(p["time_limit"], serde_json::json!({"working_days": 10}));
    assert_eq!(p["route"][1], serde_json::json!({"agency": TOURISM, "budget": {"working_days": 9}}));
    assert!(p["cutoff"].is_null());
    assert!(procedures.iter().any(|p| p["cutoff"] == "15:00"));
    // The fee schedule in VND: the JSON of the API, and a line under each procedure.
    assert_eq!(p["fee"], serde_json::json!({"kind": "fixed", "vnd": 3_000_000}));
    assert!(procedures.iter().any(|p| p["fee"]["kind"] == "options"));
    let run = db.run(&["catalog"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let at = lines.iter().position(|l| l.trim_start().starts_with(TRAVEL_LICENCE)).unwrap();
    assert_eq!(lines[at + 1].trim(), "fee: 3000000 VND", "{}", run.stdout);
    assert!(run.stdout.contains("fee: Bản 1 trang: 2000 VND; Bản 2 trang: 4000 VND"), "{}", run.stdout);
}

/// A reader that goes away (`motcua … | head -c 20`) ends the command quietly: status 0, nothing
/// on stderr, for printed output and for output written by an exporter alike.
#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    use std::process::{Command, Stdio};
    let db = Db::sqlite();
    let seeded = motcua_with(&config_dir(), Some(&db.url), &["simulate", "--dossiers", "30"]);
    assert_eq!(seeded.code, 0, "{}", seeded.stderr);
    for args in [&["catalog", "--json"][..], &["export", "--format", "jsonl"][..], &["outbox"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_motcua"))
            .arg("--config")
            .arg(config_dir())
            .arg("--db")
            .arg(&db.url)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Close the reading end before the command writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked") && !stderr.contains("Broken pipe"), "{args:?}: {stderr}");
    }
}

/// Standard input for [`motcua_raw`].
enum Stdin<'a> {
    /// Closed before the command starts (the shell's `<&-`).
    Closed,
    /// `/dev/null`.
    Empty,
    Bytes(&'a [u8]),
}

/// Runs the real binary with arguments as raw bytes (not necessarily UTF-8), extra environment
/// variables as raw bytes, and standard input closed, empty or given.
fn motcua_raw(args: &[&[u8]], env: &[(&str, &[u8])], stdin: Stdin<'_>) -> Run {
    use std::ffi::OsStr;
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    use std::process::{Command, Stdio};
    let bin = env!("CARGO_BIN_EXE_motcua");
    let mut cmd = match stdin {
        Stdin::Closed => {
            let mut c = Command::new("sh");
            c.arg("-c").arg("exec \"$0\" \"$@\" <&-").arg(bin);
            c
        }
        _ => Command::new(bin),
    };
    cmd.env_remove("MOTCUA_DATABASE_URL").env_remove("MOTCUA_CONFIG");
    cmd.args(args.iter().map(|a| OsStr::from_bytes(a)));
    for (k, v) in env {
        cmd.env(k, OsStr::from_bytes(v));
    }
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if matches!(stdin, Stdin::Bytes(_)) { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().unwrap();
    if let (Stdin::Bytes(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A command that stops reading early closes the pipe: that is its answer, not ours.
        let _ = pipe.write_all(bytes);
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit status 2 and exactly one line on stderr, `error: …` containing `needle`.
fn one_line_error(run: &Run, needle: &str) {
    run.assert_user_error(needle);
    assert_eq!(run.stderr.trim_end().lines().count(), 1, "one line: {}", run.stderr);
    assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
}

/// A valid intake row of the JSONL import format.
fn intake_row(code: &str, name: &str) -> String {
    format!(
        r#"{{"code":"{code}","at":"2025-03-03T09:00:00+07:00","type":"received","intake":{{"code":"{code}","procedure":"1.004628","agency":"000.00.02.H17","applicant":{{"name":"{name}"}}}}}}"#
    )
}

/// Bad input on the command line is explained, never a panic: exit status 2, one line on
/// stderr saying what is wrong, nothing written. Standard input closed or empty where a command
/// reads it (`staff add|reset-password --password-stdin`, `import -`), arguments and
/// variables that must be text but are not UTF-8, files that are not UTF-8 (an import file,
/// motcua.toml, a catalog or calendar file), a folder where a file is expected and the reverse,
/// a missing file. A path that is not UTF-8 is a path like any other.
#[test]
fn bad_input_is_explained_in_one_line_and_writes_nothing() {
    use std::os::unix::ffi::OsStrExt;
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let config = config_dir();
    let cfg = config.as_os_str().as_encoded_bytes();
    let base = |db: &str| -> Vec<Vec<u8>> {
        vec![b"--config".to_vec(), cfg.to_vec(), b"--db".to_vec(), db.as_bytes().to_vec()]
    };
    let run = |extra: &[&[u8]], stdin: Stdin<'_>| {
        let mut args = base(&db.url);
        args.extend(extra.iter().map(|a| a.to_vec()));
        motcua_raw(&args.iter().map(Vec::as_slice).collect::<Vec<_>>(), &[], stdin)
    };
    let add: [&[u8]; 10] = [
        b"staff",
        b"add",
        b"an.nguyen",
        b"--role",
        b"desk",
        b"--agency",
        b"000.00.02.H17",
        b"--name",
        "Nguyễn An".as_bytes(),
        b"--password-stdin",
    ];

    // Standard input closed, empty, not UTF-8: the password is refused, no account made.
    one_line_error(&run(&add, Stdin::Closed), "standard input is empty or closed");
    one_line_error(&run(&add, Stdin::Empty), "standard input is empty or closed");
    one_line_error(&run(&add, Stdin::Bytes(b"m\xe2t-kh\xe1u-123\n")), "the password is not UTF-8 text");
    let reset: [&[u8]; 4] = [b"staff", b"reset-password", b"an.nguyen", b"--password-stdin"];
    one_line_error(&run(&reset, Stdin::Closed), "standard input is empty or closed");
    assert_eq!(db.ok(&["staff", "list"])["staff"], serde_json::json!([]), "no account was made");
    let made = run(&add, Stdin::Bytes("mật-khẩu-đủ-dài\n".as_bytes()));
    assert_eq!(made.code, 0, "a UTF-8 password is taken: {}", made.stderr);

    // `import -` reads standard input: closed or empty is said, bytes that are not UTF-8 are
    // rejected row by row with their line, nothing imported.
    let import: [&[u8]; 4] = [b"import", b"--format", b"jsonl", b"-"];
    one_line_error(&run(&import, Stdin::Closed), "standard input is empty or closed: no events to import");
    one_line_error(&run(&import, Stdin::Empty), "standard input is empty or closed");
    one_line_error(&run(&[b"import", b"-"], Stdin::Empty), "give --format jsonl|csv");
    // A row saved in Latin-1 (à and â as one byte each), as an old spreadsheet might.
    let latin1: Vec<u8> = intake_row("000.00.02.H17-250303-0001", "Phàn Vân")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let r = run(&import, Stdin::Bytes(&latin1));
    r.assert_user_error("1 of 1 rows were rejected");
    assert!(r.stderr.contains("line 1: not valid UTF-8"), "{}", r.stderr);
    assert_eq!(db.event_count(), 0);

    // Arguments and variables that must be text.
    let mut bad_db = format!("sqlite://{}/caf", dir.path().display()).into_bytes();
    bad_db.extend_from_slice(b"\xe9.db");
    let r = motcua_raw(&[b"--config", cfg, b"--db", &bad_db, b"migrate"], &[], Stdin::Empty);
    one_line_error(&r, "the value of --db");
    assert!(r.stderr.contains("caf\\xE9.db") && r.stderr.contains("is not valid UTF-8"), "{}", r.stderr);
    let r = run(&[b"show", b"000.00.02.H17-250303-0001\xff"], Stdin::Empty);
    one_line_error(&r, "the argument \"000.00.02.H17-250303-0001\\xFF\" is not valid UTF-8");
    let r = run(
        &[b"intake", b"--procedure", b"1.004628", b"--agency", b"000.00.02.H17", b"--applicant", b"Tr\xe2n"],
        Stdin::Empty,
    );
    one_line_error(&r, "the value of --applicant \"Tr\\xE2n\" is not valid UTF-8");
    let r = motcua_raw(&[b"--config", cfg, b"migrate"], &[("MOTCUA_DATABASE_URL", &bad_db)], Stdin::Empty);
    one_line_error(&r, "the environment variable MOTCUA_DATABASE_URL");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "no database file was made");
    assert_eq!(db.event_count(), 0);

    // A path is any bytes: an import file whose name is not UTF-8 is read.
    let odd_name = dir.path().join(std::ffi::OsStr::from_bytes(b"s\xf4-h\xf4.jsonl"));
    std::fs::write(&odd_name, intake_row("000.00.02.H17-250303-0001", "Phan Văn Khải") + "\n").unwrap();
    let r = run(&[b"import", odd_name.as_os_str().as_bytes()], Stdin::Empty);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("1 rows read: 1 events imported"), "{}", r.stdout);
    assert_eq!(db.event_count(), 1);

    // Import files: not UTF-8 (every row said, nothing imported), a folder, missing.
    let cp1258 = dir.path().join("latin1.jsonl");
    std::fs::write(&cp1258, [latin1.clone(), b"\n".to_vec(), latin1.clone(), b"\n".to_vec()].concat()).unwrap();
    let r = db.run(&["import", cp1258.to_str().unwrap()]);
    r.assert_user_error("2 of 2 rows were rejected");
    assert!(
        r.stderr.contains("line 1: not valid UTF-8") && r.stderr.contains("line 2: not valid UTF-8"),
        "{}",
        r.stderr
    );
    one_line_error(
        &db.run(&["import", dir.path().to_str().unwrap(), "--format", "jsonl"]),
        "is a folder, not a file of events",
    );
    one_line_error(&db.run(&["import", dir.path().join("gone.jsonl").to_str().unwrap()]), "No such file or directory");
    assert_eq!(db.event_count(), 1);

    // The database: a folder given as the file, a file that is not a database; the reason
    // said once (the store's errors quote their source).
    let r = motcua_with(&config, Some(&format!("sqlite://{}", dir.path().display())), &["migrate"]);
    one_line_error(&r, "is a folder");
    assert_eq!(r.stderr.matches("is a folder").count(), 1, "{}", r.stderr);
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "ghi chú, không phải cơ sở dữ liệu\n".repeat(200)).unwrap();
    let r = motcua_with(&config, Some(&format!("sqlite://{}", notes.display())), &["migrate"]);
    one_line_error(&r, "file is not a database");
    assert_eq!(r.stderr.matches("file is not a database").count(), 1, "{}", r.stderr);

    // The configuration folder: a file, missing, or holding a file that is not UTF-8, a folder
    // in place of a file, a file missing.
    one_line_error(&motcua_with(&cp1258, Some(&db.url), &["catalog"]), "is a file, not a folder");
    one_line_error(
        &motcua_with(&dir.path().join("nowhere"), Some(&db.url), &["catalog"]),
        "cannot open the configuration folder",
    );
    let bad_cfg = |edit: &dyn Fn(&std::path::Path)| {
        let d = tempfile::tempdir().unwrap();
        let c = config_copy(d.path());
        edit(&c);
        (d, c)
    };
    let not_utf8 = |p: &std::path::Path| {
        let mut bytes = std::fs::read(p).unwrap();
        bytes.extend_from_slice(b"\n# Th\xe0nh ph\xf4\n");
        std::fs::write(p, bytes).unwrap();
    };
    for (file, needle) in [
        ("catalog/agencies.toml", "agencies.toml is not UTF-8 text"),
        ("calendars/vn/2025.toml", "2025.toml is not UTF-8 text"),
    ] {
        let (_d, c) = bad_cfg(&|c| not_utf8(&c.join(file)));
        one_line_error(&motcua_with(&c, Some(&db.url), &["catalog"]), needle);
        let (_d, c) = bad_cfg(&|c| {
            std::fs::remove_file(c.join(file)).unwrap();
            std::fs::create_dir(c.join(file)).unwrap();
        });
        one_line_error(&motcua_with(&c, Some(&db.url), &["catalog"]), "is a folder, not a file");
    }
    let (_d, c) = bad_cfg(&|c| std::fs::write(c.join("motcua.toml"), b"classify = \"date\xff\"\n").unwrap());
    one_line_error(&motcua_with(&c, Some(&db.url), &["catalog"]), "motcua.toml is not UTF-8 text");
    let (_d, c) = bad_cfg(&|c| std::fs::remove_file(c.join("catalog/procedures.toml")).unwrap());
    one_line_error(&motcua_with(&c, Some(&db.url), &["catalog"]), "cannot read");
    assert_eq!(db.event_count(), 1, "nothing written by any refused command");

    // Export to a folder.
    one_line_error(&db.run(&["export", "--output", dir.path().to_str().unwrap()]), "cannot create");
}
