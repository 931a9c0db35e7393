//! `import`, `export`, `recompute` and `migrate` through the real binary.

use crate::desk::Db;
use crate::support::*;

#[test]
fn export_then_import_round_trips() {
    let a = Db::sqlite();
    let run = a.run(&["simulate", "--dossiers", "300", "--seed", "3", "--from", "2025-04-01", "--to", "2025-04-30"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dir = tempfile::tempdir().unwrap();
    for format in ["jsonl", "csv"] {
        let file = dir.path().join(format!("log.{format}"));
        let run = a.run(&["export", "--format", format, "--output", file.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let b = Db::sqlite();
        let v = b.run(&["import", file.to_str().unwrap(), "--json"]).json();
        assert_eq!(v["rejected"], 0, "{v}");
        assert_eq!(v["imported"], v["rows"]);
        assert_eq!(b.event_count(), a.event_count());
        let report = |db: &Db| {
            db.run(&[
                "report",
                "--from",
                "2025-04-01",
                "--to",
                "2025-05-31",
                "--as-of",
                "2025-05-31T23:59:59+07:00",
                "--format",
                "json",
            ])
            .json()
        };
        assert_eq!(report(&a)["total"], report(&b)["total"], "{format}");
    }
    // The national portal's records: one per received dossier, local yyyyMMddHHmmss dates.
    let run = a.run(&["export", "--format", "dvcqg"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let first: serde_json::Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
    assert!(first["MaHoSo"].as_str().unwrap().contains("-2504"), "{first}");
    assert_eq!(first["NgayTiepNhan"].as_str().unwrap().len(), 14);
    assert!(first["TrangThaiHoSo"].is_number() || first["TrangThaiHoSo"].is_string());
}

#[test]
fn a_bad_row_is_reported_with_its_line_and_the_rest_is_imported() {
    let db = Db::sqlite();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("desk.jsonl");
    let code = "000.00.02.H17-250303-0001";
    let intake = format!(
        r#"{{"code":"{code}","at":"2025-03-03T09:00:00+07:00","type":"received","intake":{{"code":"{code}","procedure":"1.004628","agency":"000.00.02.H17","applicant":{{"name":"Phan Văn Khải"}}}}}}"#
    );
    let lines = [
        intake,
        format!(r#"{{"code":"{code}","at":"2025-03-03T10:00:00+07:00","type":"transferred","to":"000.00.12.H17"}}"#),
        format!(r#"{{"code":"{code}","at":"not a time","type":"accepted"}}"#),
        format!(r#"{{"code":"{code}","at":"2025-03-03T11:00:00+07:00","type":"resolved","outcome":"approved"}}"#),
        format!(r#"{{"code":"{code}","at":"2025-03-03T11:30:00+07:00","type":"accepted"}}"#),
        r#"{"code":"000.00.02.H17-250303-0002","at":"2025-03-03T09:00:00+07:00","type":"transferred","to":"000.00.12.H17"}"#.to_string(),
    ];
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let run = db.run(&["import", file.to_str().unwrap()]);
    run.assert_user_error("3 of 6 rows were rejected");
    assert!(run.stderr.contains("line 3:"), "{}", run.stderr);
    assert!(
        run.stderr.contains("line 4: rejected: the transfer to 000.00.12.H17 has not been accepted yet"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 6: dossier 000.00.02.H17-250303-0002 does not exist"), "{}", run.stderr);
    assert!(
        run.stdout.contains("6 rows read: 3 events imported, 0 already present, 3 rows rejected"),
        "{}",
        run.stdout
    );
    assert_eq!(db.event_count(), 3);
    let s = db.ok(&["show", code, "--as-of", "2025-03-04T00:00:00+07:00"]);
    assert_eq!(s["status"], 4);
    assert!(s["handoffs"][0]["accepted_at"].is_string());
    db.run(&["import", "/nonexistent/file.jsonl"]).assert_user_error("cannot open");
    db.run(&["import", file.to_str().unwrap(), "--format", "xml"]).assert_user_error("unknown format");
}

#[test]
fn recompute_after_a_calendar_correction_shows_then_applies() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config_copy(tmp.path());
    let db = Db::sqlite();
    let run = |args: &[&str]| motcua_with(&config, Some(&db.url), args);
    let v = run(&[
        "intake",
        "--procedure",
        "1.004628",
        "--agency",
        "000.00.02.H17",
        "--applicant",
        "A",
        "--at",
        "2025-03-03T09:00:00+07:00",
        "--json",
    ])
    .json();
    assert_eq!(v["due_at"], "2025-03-17T09:00:00+07:00");
    let code = v["code"].as_str().unwrap().to_string();
    let clean = run(&["recompute", "--dry-run"]);
    assert!(clean.stdout.contains("up to date"), "{}", clean.stdout);
    // The administrator adds a day off on Friday 7/3/2025.
    let year = config.join("calendars/vn/2025.toml");
    let text =
        std::fs::read_to_string(&year).unwrap() + "\n[[day_off]]\ndate = \"2025-03-07\"\nname = \"Nghỉ bù (sửa)\"\n";
    std::fs::write(&year, text).unwrap();
    let before = db.event_count();
    let dry = run(&["recompute", "--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains(&code) && dry.stdout.contains("2025-03-18"), "{}", dry.stdout);
    assert!(dry.stdout.contains("nothing was written"), "{}", dry.stdout);
    let s = run(&["show", &code, "--json", "--as-of", "2025-03-04T00:00:00+07:00"]).json();
    assert_eq!(s["due_at"], "2025-03-18T09:00:00+07:00", "show replays with the current calendar");
    let rep = |as_of: &str| {
        run(&["report", "--from", "2025-03-01", "--to", "2025-03-31", "--as-of", as_of, "--format", "json"]).json()
    };
    assert_eq!(rep("2025-03-17T12:00:00+07:00")["total"]["overdue"], 1, "projection still has the old due date");
    let applied = run(&["recompute"]);
    assert_eq!(applied.code, 0, "{}", applied.stderr);
    assert_eq!(rep("2025-03-17T12:00:00+07:00")["total"]["overdue"], 0);
    assert_eq!(db.event_count(), before, "recompute never touches the log");
    assert!(run(&["recompute", "--dry-run"]).stdout.contains("up to date"));
}

#[test]
fn migrate_creates_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("sub/dir/motcua.db").display());
    let run = motcua_with(&config_dir(), Some(&url), &["migrate"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(dir.path().join("sub/dir/motcua.db").exists());
    let run = motcua_with(&config_dir(), Some("mysql://x"), &["migrate"]);
    run.assert_user_error("unsupported database URL");
}
