//! The national portal's records (`export --format dvcqg`, `import --format dvcqg`) through the
//! real binary on both backends: a simulated month with desk-driven late finishes brought
//! back into a fresh database gives the same `report` and the same `show` for every dossier;
//! the import is quiet, idempotent and has a dry run; another system's record (no motcua rows,
//! optional fields missing, extra fields) imports what it can; unknown agencies and procedures
//! and a truncated line are rejected rows with their line numbers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::desk::Db;
use crate::worker::outbox;

/// The instant the history arrives.
const ARRIVAL: &str = "2025-04-10T12:00:00+07:00";
const CENTRE: &str = "000.00.02.H17";
const TOURISM: &str = "000.00.12.H17";
const TRAVEL_LICENCE: &str = "1.004628"; // 10 working days, centre → department → centre

fn all_messages(db: &Db) -> usize {
    ["pending", "sent", "dead"].iter().map(|s| outbox(db, s).len()).sum()
}

/// Two late finishes of the travel licence keyed in as history (recorded at the arrival, as the
/// simulation's are): one with the apology its result carried, one rescheduled first.
fn late_finishes() -> String {
    let intake = |code: &str, name: &str, at: &str| {
        format!(
            r#"{{"code":"{code}","at":"{at}","by":"desk.an","type":"received","intake":{{"code":"{code}","procedure":"{TRAVEL_LICENCE}","agency":"{CENTRE}","applicant":{{"name":"{name}","email":"khach@example.vn"}}}}}}"#
        )
    };
    let event =
        |code: &str, at: &str, by: &str, rest: &str| format!(r#"{{"code":"{code}","at":"{at}","by":"{by}",{rest}}}"#);
    let (late, moved, left) = ("000.00.02.H17-250324-9001", "000.00.02.H17-250324-9002", "000.00.02.H17-250324-9003");
    [
        intake(late, "Đoàn Văn Hậu", "2025-03-24T09:00:00+07:00"),
        event(late, "2025-03-24T10:00:00+07:00", "desk.an", &format!(r#""type":"transferred","to":"{TOURISM}""#)),
        event(late, "2025-03-24T10:20:00+07:00", "cv.binh", r#""type":"accepted""#),
        event(late, "2025-04-08T09:00:00+07:00", "cv.binh", &format!(r#""type":"transferred","to":"{CENTRE}""#)),
        event(late, "2025-04-08T09:30:00+07:00", "desk.an", r#""type":"accepted""#),
        event(late, "2025-04-09T10:00:00+07:00", "desk.an", r#""type":"resolved","outcome":"approved""#),
        event(
            late,
            "2025-04-09T10:00:00+07:00",
            "desk.an",
            &format!(r#""type":"apologised","responsible":"{TOURISM}","reason":"Sở Du lịch chưa gửi kết quả thẩm định""#),
        ),
        intake(moved, "Ngô Thị Lan", "2025-03-24T10:00:00+07:00"),
        event(moved, "2025-03-24T11:00:00+07:00", "desk.an", &format!(r#""type":"transferred","to":"{TOURISM}""#)),
        event(moved, "2025-03-24T13:45:00+07:00", "cv.binh", r#""type":"accepted""#),
        event(
            moved,
            "2025-04-04T09:00:00+07:00",
            "cv.binh",
            &format!(
                r#""type":"rescheduled","to":"2025-04-15T17:00:00+07:00","reason":"Cần xác minh thực tế","responsible":"{TOURISM}""#
            ),
        ),
        event(moved, "2025-04-09T09:00:00+07:00", "cv.binh", &format!(r#""type":"transferred","to":"{CENTRE}""#)),
        event(moved, "2025-04-09T09:10:00+07:00", "desk.an", r#""type":"accepted""#),
        event(moved, "2025-04-09T10:00:00+07:00", "desk.an", r#""type":"resolved","outcome":"approved""#),
        intake(left, "Hồ Văn Rời", "2025-03-24T14:00:00+07:00"),
        event(left, "2025-03-25T09:00:00+07:00", "desk.an", r#""type":"withdrawn","reason":"Công dân rút hồ sơ""#),
    ]
    .join("\n")
}

/// A simulated month, plus two late finishes (one with the apology its result carried, one
/// rescheduled first) and a withdrawal (so that every kind is there whatever the simulation
/// draws). Returns the dossiers' codes and the event types of the log.
fn source_history(src: &Db) -> (Vec<String>, BTreeSet<String>) {
    let sim = src.run(&[
        "simulate",
        "--dossiers",
        "200",
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
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("late.jsonl");
    std::fs::write(&file, late_finishes()).unwrap();
    let v = src.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL, "--json"]).json();
    assert_eq!((v["imported"].as_u64(), v["rejected"].as_u64()), (Some(16), Some(0)), "{v}");
    let log = src.run(&["export", "--format", "jsonl"]);
    assert_eq!(log.code, 0, "{}", log.stderr);
    let mut codes = BTreeSet::new();
    let mut kinds = BTreeSet::new();
    for line in log.stdout.lines() {
        let e: Value = serde_json::from_str(line).unwrap();
        codes.insert(e["code"].as_str().unwrap().to_string());
        kinds.insert(e["type"].as_str().unwrap().to_string());
        if e["type"] == "resolved" && e["outcome"] == "refused" {
            kinds.insert("resolved:refused".into());
        }
    }
    (codes.into_iter().collect(), kinds)
}

fn export_dvcqg(db: &Db, dir: &Path, name: &str) -> PathBuf {
    let file = dir.join(name);
    let run = db.run(&["export", "--format", "dvcqg", "--output", file.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    file
}

fn reports(db: &Db) -> Vec<Value> {
    ["agency", "procedure", "month"]
        .iter()
        .map(|by| {
            let args = ["report", "--from", "2025-03-01", "--to", "2025-04-10", "--as-of", ARRIVAL, "--by", by];
            db.run(&[&args[..], &["--format", "json"]].concat()).json()
        })
        .collect()
}

fn show(db: &Db, code: &str) -> Value {
    db.ok(&["show", code, "--as-of", ARRIVAL])
}

fn import(db: &Db, file: &Path, extra: &[&str]) -> Value {
    let run = db.run(
        &[&["import", file.to_str().unwrap(), "--format", "dvcqg", "--as-of", ARRIVAL][..], extra, &["--json"]]
            .concat(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn the_portal_records_round_trip(src: &Db, dst: &Db) {
    let (codes, kinds) = source_history(src);
    for kind in [
        "received",
        "registered_online",
        "refused_at_receipt",
        "transferred",
        "supplement_requested",
        "supplement_supplied",
        "payment_requested",
        "rescheduled",
        "apologised",
        "withdrawn",
        "returned",
        "resolved:refused",
    ] {
        assert!(kinds.contains(kind), "the history has {kind}: {kinds:?}");
    }
    let events = src.event_count();
    let dir = tempfile::tempdir().unwrap();
    let file = export_dvcqg(src, dir.path(), "month.dvcqg");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), codes.len(), "one record per dossier, those not yet received included");

    // A dry run writes nothing and says what would be imported.
    let dry = import(dst, &file, &["--dry-run"]);
    assert_eq!((dry["dry_run"].as_bool(), dry["rows"].as_u64()), (Some(true), Some(codes.len() as u64)), "{dry}");
    assert_eq!((dry["imported"].as_u64(), dry["rejected"].as_u64()), (Some(events as u64), Some(0)), "{dry}");
    assert_eq!(dst.event_count(), 0);

    let v = import(dst, &file, &[]);
    assert_eq!(v["imported"].as_u64(), Some(events as u64), "{v}");
    assert_eq!(
        (v["already_present"].as_u64(), v["rejected"].as_u64(), v["notified"].as_u64()),
        (Some(0), Some(0), Some(0))
    );
    assert_eq!(all_messages(dst), 0, "history is quiet");

    // The same log, dossier by dossier (the order across dossiers is the file's).
    let sorted = |db: &Db| {
        let mut lines: Vec<String> =
            db.run(&["export", "--format", "jsonl"]).stdout.lines().map(String::from).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(src), sorted(dst));
    assert_eq!(reports(src), reports(dst));
    for code in &codes {
        assert_eq!(show(src, code), show(dst, code), "{code}");
    }
    // …and the same records again.
    assert_eq!(std::fs::read_to_string(export_dvcqg(dst, dir.path(), "again.dvcqg")).unwrap(), text);

    // Run again: everything already present, exit 0; a dry run says so too.
    let again = import(dst, &file, &[]);
    assert_eq!(
        (again["imported"].as_u64(), again["already_present"].as_u64()),
        (Some(0), Some(events as u64)),
        "{again}"
    );
    let dry = import(dst, &file, &["--dry-run"]);
    assert_eq!((dry["imported"].as_u64(), dry["already_present"].as_u64()), (Some(0), Some(events as u64)), "{dry}");
    assert!(dst.run(&["recompute", "--dry-run"]).stdout.contains("up to date"));
}

#[test]
fn the_portal_records_round_trip_sqlite() {
    the_portal_records_round_trip(&Db::sqlite(), &Db::sqlite());
}

#[test]
fn the_portal_records_round_trip_postgres() {
    let (Some(src), Some(dst)) = (Db::pg("dvcqg_src"), Db::pg("dvcqg_dst")) else { return };
    the_portal_records_round_trip(&src, &dst);
}

/// What another system's record says that motcua reads back: status, dates, applicant,
/// supplements, and the agencies in order.
fn portal_facts(r: &Value) -> Value {
    let rows: Vec<Value> = r["QuaTrinhXuLy"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|q| q.get("SuKienMotcua").is_none())
        .map(|q| serde_json::json!([q["PhongBanXuLy"], q["NgayBatDau"], q["TrangThai"]]))
        .collect();
    let supplements: Vec<Value> = r["DanhSachHoSoBoSung"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            serde_json::json!([s["NgayBoSung"], s["NgayTiepNhanBoSung"], s["NoiDungBoSung"], s["DanhSachGiayToBoSung"]])
        })
        .collect();
    let status = match &r["TrangThaiHoSo"] {
        Value::Number(n) => n.to_string(),
        v => v.as_str().unwrap().to_string(),
    };
    serde_json::json!({
        "code": r["MaHoSo"], "procedure": r["MaTTHC"], "channel": r["KenhThucHien"], "applicant": r["ChuHoSo"],
        "status": status, "received": r["NgayTiepNhan"], "finished": r["NgayKetThucXuLy"],
        "returned": r["NgayTra"], "new_date": r["NgayHenTraMoi"], "supplements": supplements, "rows": rows,
    })
}

fn a_record_from_another_system_imports_what_it_can(db: &Db) {
    let src = Db::sqlite();
    let (codes, _) = source_history(&src);
    let dir = tempfile::tempdir().unwrap();
    let file = export_dvcqg(&src, dir.path(), "month.dvcqg");
    // As another system would write them: no motcua rows, optional fields missing, fields
    // motcua does not know, the status as a number.
    let mut foreign = Vec::new();
    let mut expected = BTreeMap::new();
    for line in std::fs::read_to_string(&file).unwrap().lines() {
        let mut r: Value = serde_json::from_str(line).unwrap();
        let o = r.as_object_mut().unwrap();
        for key in ["TenTTHC", "Email", "SoDienThoai", "DiaChiChuHoSo", "LoaiDoiTuong", "DonViXuLy", "NgayHenTra"] {
            o.remove(key);
        }
        o.insert("MaDinhDanhHoSo".into(), "DN-0001".into());
        let status: u64 = o["TrangThaiHoSo"].as_str().unwrap().parse().unwrap();
        o.insert("TrangThaiHoSo".into(), status.into());
        let rows = o["QuaTrinhXuLy"].as_array_mut().unwrap();
        rows.retain(|q| q.get("SuKienMotcua").is_none());
        for q in rows.iter_mut() {
            let q = q.as_object_mut().unwrap();
            q.remove("ChucDanh");
            q.remove("NgayKetThucTheoQuyDinh");
            q.insert("GhiChu".into(), "đồng bộ".into());
        }
        expected.insert(o["MaHoSo"].as_str().unwrap().to_string(), portal_facts(&r));
        foreign.push(serde_json::to_string(&r).unwrap());
    }
    let other = dir.path().join("other.dvcqg");
    std::fs::write(&other, foreign.join("\n") + "\n").unwrap();
    let v = import(db, &other, &[]);
    assert_eq!((v["rows"].as_u64(), v["rejected"].as_u64()), (Some(codes.len() as u64), Some(0)), "{v}");
    assert!(v["imported"].as_u64().unwrap() as usize > codes.len(), "{v}");
    assert_eq!(all_messages(db), 0);
    // Read back, the portal's own fields say the same.
    let back = export_dvcqg(db, dir.path(), "back.dvcqg");
    let mut seen = 0;
    for line in std::fs::read_to_string(&back).unwrap().lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let code = r["MaHoSo"].as_str().unwrap();
        assert_eq!(portal_facts(&r), expected[code], "{code}");
        seen += 1;
    }
    assert_eq!(seen, codes.len());
    // The derivation is stable: run again, every event is already present.
    let again = import(db, &other, &[]);
    assert_eq!(
        (again["imported"].as_u64(), again["already_present"].clone(), again["rejected"].as_u64()),
        (Some(0), v["imported"].clone(), Some(0))
    );
}

#[test]
fn a_record_from_another_system_imports_what_it_can_sqlite() {
    a_record_from_another_system_imports_what_it_can(&Db::sqlite());
}

#[test]
fn a_record_from_another_system_imports_what_it_can_postgres() {
    let Some(db) = Db::pg("dvcqg_foreign") else { return };
    a_record_from_another_system_imports_what_it_can(&db);
}

fn unknown_agencies_and_procedures_are_rejected_rows(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let record = |code: &str, procedure: &str, agency: &str| {
        serde_json::json!({
            "MaHoSo": code, "MaTTHC": procedure, "KenhThucHien": "1", "ChuHoSo": "Phan Văn Khải",
            "NgayTiepNhan": "20250303090000", "TrangThaiHoSo": "4",
            "QuaTrinhXuLy": [
                {"PhongBanXuLy": "Trung tâm Phục vụ hành chính công thành phố Đà Nẵng", "NgayBatDau": "20250303090000",
                 "ThoiDiemXuLy": "20250303100000", "TrangThai": "4", "NguoiXuLy": "Nguyễn Văn A"},
                {"PhongBanXuLy": agency, "NgayBatDau": "20250303100000", "ThoiDiemXuLy": "20250303100000", "TrangThai": "4"}
            ]
        })
        .to_string()
    };
    let tourism = "Sở Du lịch";
    let lines = [
        record("000.00.02.H17-250303-0001", TRAVEL_LICENCE, tourism),
        record("000.00.99.H17-250303-0001", TRAVEL_LICENCE, tourism),
        record("000.00.02.H17-250303-0002", "9.999999", tourism),
        record("000.00.02.H17-250303-0003", TRAVEL_LICENCE, "Sở Không Tồn Tại"),
        record("000.00.02.H17-250303-0004", TRAVEL_LICENCE, tourism)[..80].to_string(),
    ];
    let file = dir.path().join("mixed.dvcqg");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let run = db.run(&["import", file.to_str().unwrap(), "--format", "dvcqg", "--as-of", ARRIVAL]);
    run.assert_user_error("4 rejected in 5 records");
    for needle in [
        "line 2: unknown agency 000.00.99.H17 (the receiving agency in `MaHoSo`): not in the catalog",
        "line 3: unknown procedure 9.999999 (`MaTTHC`): not in the catalog",
        "line 4: `QuaTrinhXuLy[1].PhongBanXuLy`: unknown agency \"Sở Không Tồn Tại\": not in the catalog",
        "line 5: invalid JSON",
    ] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(
        run.stdout.contains("5 records read: 3 events imported, 0 already present, 4 rows rejected"),
        "{}",
        run.stdout
    );
    let s = show(db, "000.00.02.H17-250303-0001");
    assert_eq!((s["status"].as_u64(), s["holder"].as_str()), (Some(4), Some(TOURISM)), "{s}");
    for code in ["000.00.99.H17-250303-0001", "000.00.02.H17-250303-0002", "000.00.02.H17-250303-0003"] {
        assert_eq!(db.run(&["show", code]).code, 2, "{code} was not written");
    }
    assert_eq!(db.event_count(), 3);
}

#[test]
fn unknown_agencies_and_procedures_are_rejected_rows_sqlite() {
    unknown_agencies_and_procedures_are_rejected_rows(&Db::sqlite());
}

#[test]
fn unknown_agencies_and_procedures_are_rejected_rows_postgres() {
    let Some(db) = Db::pg("dvcqg_unknown") else { return };
    unknown_agencies_and_procedures_are_rejected_rows(&db);
}

/// `--dry-run` is the same for the event formats: nothing written, the same counts and
/// rejections as the import would give.
fn a_dry_run_of_an_event_log_writes_nothing(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("late.jsonl");
    let text = late_finishes();
    // The last event again, but earlier than the one before it: rejected.
    let bad = r#"{"code":"000.00.02.H17-250324-9002","at":"2025-04-01T10:00:00+07:00","type":"returned"}"#;
    std::fs::write(&file, format!("{text}\n{bad}\n")).unwrap();
    let dry = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL, "--dry-run"]);
    dry.assert_user_error("1 of 17 rows were rejected (see the lines above); the others would be imported");
    assert!(dry.stderr.contains("line 17: rejected: event at"), "{}", dry.stderr);
    assert!(
        dry.stdout.contains(
            "17 rows read: 16 events would be imported, 0 already present, 1 rejected (dry run: nothing written)"
        ),
        "{}",
        dry.stdout
    );
    assert_eq!(db.event_count(), 0);
    let real = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL]);
    real.assert_user_error("1 of 17 rows were rejected");
    assert!(real.stdout.contains("16 events imported, 0 already present, 1 rows rejected"), "{}", real.stdout);
    let again = db.run(&["import", file.to_str().unwrap(), "--as-of", ARRIVAL, "--dry-run", "--json"]);
    assert_eq!(again.code, 2);
    let v: Value = serde_json::from_str(again.stdout.trim()).unwrap();
    assert_eq!(
        (v["imported"].as_u64(), v["already_present"].as_u64(), v["rejected"].as_u64()),
        (Some(0), Some(16), Some(1))
    );
    assert_eq!(db.event_count(), 16);
}

#[test]
fn a_dry_run_of_an_event_log_writes_nothing_sqlite() {
    a_dry_run_of_an_event_log_writes_nothing(&Db::sqlite());
}

#[test]
fn a_dry_run_of_an_event_log_writes_nothing_postgres() {
    let Some(db) = Db::pg("dvcqg_dry_run") else { return };
    a_dry_run_of_an_event_log_writes_nothing(&db);
}
