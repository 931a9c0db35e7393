//! `motcua petition …` end to end: filing at the desk with routing to the agency a dossier's
//! lateness is attributed to, the steps on time and late, user errors (exit 2, nothing
//! written), and the district's report reproducing a Da Nang district's table (1,359 items:
//! 8 complaints, 2 denunciations, 1,349 petitions; 1,084 accepted within competence; more than
//! 99.8 % resolved), on SQLite and PostgreSQL (when MOTCUA_TEST_PG_URL is set).

use chrono::Duration;
use motcua::config::Config;
use motcua_core::calendar::from_local;
use motcua_core::petition::{Complexity, ItemChannel, ItemEvent, ItemEventKind, Kind};
use motcua_core::{Applicant, Domain};
use motcua_store::{NewItem, PetitionStore};
use serde_json::Value;

use crate::desk::Db;
use crate::support::*;

fn domain() -> Domain {
    Config::load(&config_dir()).unwrap().domain().unwrap()
}

fn desk_flow(db: &Db) {
    // A dossier at the centre, held there far past the centre's budget.
    let d = db.ok(&[
        "intake",
        "--procedure",
        "1.004628",
        "--agency",
        "000.00.02.H17",
        "--applicant",
        "Lê Văn Dũng",
        "--at",
        "2026-06-01T09:00",
    ]);
    let dossier = d["code"].as_str().unwrap().to_string();
    // A complaint about it, filed online on 22/6: routed to the centre (its lateness), kept the
    // 2011 rules: 10 days to accept.
    let f = db.ok(&[
        "petition",
        "file",
        "--kind",
        "complaint",
        "--applicant",
        "Lê Văn Dũng",
        "--text",
        "Quá hạn chưa có kết quả",
        "--dossier",
        &dossier,
        "--channel",
        "online",
        "--at",
        "2026-06-22T10:00",
    ]);
    assert_eq!(f["code"], "KN-260622-0001");
    assert_eq!(f["agency"], "000.00.02.H17");
    assert_eq!(f["next_step"], "decide");
    assert_eq!(f["next_due_at"], "2026-07-02T17:00:00+07:00");
    // Text output names the code and the due instant.
    let plain = db.run(&[
        "petition",
        "file",
        "--kind",
        "denunciation",
        "--applicant",
        "Ẩn danh",
        "--text",
        "Cán bộ gây khó dễ",
        "--agency",
        "000.00.41.H17",
        "--channel",
        "phone",
        "--at",
        "2026-06-22T10:30",
    ]);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(plain.stdout.contains("TC-260622-0001"), "{}", plain.stdout);
    assert!(plain.stdout.contains("2026-07-01T17:00:00+07:00"), "7 working days: {}", plain.stdout);

    // Transfer, accept late (after 2/7), answer on time.
    let t = db.ok(&["petition", "transfer", "KN-260622-0001", "--to", "000.00.12.H17", "--at", "2026-06-23T09:00"]);
    assert_eq!(t["agency"], "000.00.12.H17");
    let a = db.ok(&["petition", "accept", "KN-260622-0001", "--at", "2026-07-03T09:00", "--by", "chuyen-vien"]);
    assert_eq!(
        (a["decide_late"].as_bool(), a["next_due_at"].as_str()),
        (Some(true), Some("2026-08-03T17:00:00+07:00"))
    );
    let x =
        db.ok(&["petition", "extend", "KN-260622-0001", "--reason", "Vụ việc phức tạp", "--at", "2026-07-10T09:00"]);
    assert_eq!(x["next_due_at"], "2026-08-17T17:00:00+07:00", "45 days from acceptance");
    let done = db.ok(&["petition", "answer", "KN-260622-0001", "--text", "Đã trả kết quả", "--at", "2026-08-10T09:00"]);
    assert_eq!((done["status"].as_str(), done["resolve_late"].as_bool()), (Some("answered"), Some(false)));
    db.ok(&["petition", "rate", "KN-260622-0001", "--rating", "not_satisfied", "--at", "2026-08-11T09:00"]);
    let shown = db.ok(&["petition", "show", "KN-260622-0001"]);
    assert_eq!(shown["item"]["answer"], "Đã trả kết quả");
    assert_eq!(shown["item"]["satisfied"], false);
    assert_eq!(shown["events"].as_array().unwrap().len(), 6);

    // User errors: exit 2, a clear line, nothing written.
    db.run(&["petition", "answer", "TC-260622-0001", "--text", "x", "--at", "2026-06-23T09:00"])
        .assert_user_error("cannot apply `answered`");
    db.run(&["petition", "file", "--kind", "gripe", "--applicant", "a", "--text", "b", "--agency", "000.00.41.H17"])
        .assert_user_error("--kind");
    db.run(&["petition", "file", "--kind", "petition", "--applicant", "a", "--text", "b"])
        .assert_user_error("--agency");
    db.run(&["petition", "close", "TC-260622-0001", "--outcome", "archived", "--at", "2026-06-23T09:00"])
        .assert_user_error("--reason");
    let list = db.ok(&["petition", "list", "--open", "--as-of", "2026-07-02T09:00"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!((list[0]["code"].as_str(), list[0]["urgency"].as_str()), (Some("TC-260622-0001"), Some("overdue")));
    // Forwarded after its 5 working days: late.
    let fw = db.ok(&[
        "petition",
        "forward",
        "TC-260622-0001",
        "--to",
        "Công an thành phố",
        "--reason",
        "Có dấu hiệu tội phạm",
        "--at",
        "2026-07-02T10:00",
    ]);
    assert_eq!((fw["status"].as_str(), fw["decide_late"].as_bool()), (Some("forwarded"), Some(true)));
}

/// A district's population: 1,359 items received in 2026, of which 8 complaints, 2
/// denunciations and 1,349 petitions; 1,084 accepted within competence (1,080 answered on
/// time, 2 late, 2 still open), 210 forwarded, 65 guided.
fn plant_da_nang(db: &Db) {
    let d = domain();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = motcua_store::open(&db.url).await.unwrap();
        let agencies = ["000.00.41.H17", "000.00.42.H17"];
        for i in 0..1359u32 {
            let kind = match i % 136 {
                0 if i / 136 < 8 => Kind::Complaint,
                1 if i / 136 < 2 => Kind::Denunciation,
                _ => Kind::Petition,
            };
            let day = chrono::NaiveDate::from_ymd_opt(2026, 1, 5).unwrap() + Duration::days(i64::from(i % 300));
            let t = from_local(day.and_hms_opt(8, 0, 0).unwrap()) + Duration::seconds(i64::from(i));
            let new = NewItem {
                kind,
                agency: agencies[(i % 2) as usize].parse().unwrap(),
                applicant: Applicant { name: format!("Công dân {i}"), ..Applicant::default() },
                text: "Kiến nghị".into(),
                dossier: None,
                channel: ItemChannel::InPerson,
            };
            let item = store.file_item(&d, new, t, Some("desk".into()), t).await.unwrap();
            let code = item.code.clone().unwrap();
            let ev = |h: i64, k| ItemEvent::new(t + Duration::hours(h), Some("officer".into()), k);
            let rank = i % 1359;
            let accept = ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false };
            let steps = match rank {
                _ if rank < 1084 => {
                    let answer = ItemEventKind::Answered { text: "Đã giải quyết".into() };
                    // Two answered late (after 100 days), two left open.
                    match rank {
                        1080 | 1081 => vec![ev(1, accept), ev(24 * 100, answer)],
                        1082 | 1083 => vec![ev(1, accept)],
                        _ => vec![ev(1, accept), ev(3, answer)],
                    }
                }
                _ if rank < 1294 => {
                    vec![ev(
                        2,
                        ItemEventKind::Forwarded {
                            to: "Sở Xây dựng".into(), reason: "ngoài thẩm quyền".into()
                        },
                    )]
                }
                _ => vec![ev(
                    2,
                    ItemEventKind::Guided { to: "Tòa án nhân dân".into(), reason: "ngoài thẩm quyền".into() },
                )],
            };
            for e in steps {
                store.record_item_quiet(&d, &code, e.clone(), e.at).await.unwrap();
            }
        }
        store.close().await;
    });
}

fn check_da_nang_table(db: &Db) {
    let r = db.ok(&["petition", "report", "--from", "2026-01-01", "--to", "2026-12-31", "--by", "kind"]);
    let t = &r["total"];
    let n = |v: &Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    assert_eq!((n(t, "received"), n(t, "complaints"), n(t, "denunciations"), n(t, "petitions")), (1359, 8, 2, 1349));
    assert_eq!(n(t, "accepted"), 1084);
    assert_eq!((n(t, "resolved_on_time"), n(t, "resolved_late"), n(t, "open")), (1080, 2, 2));
    assert_eq!((n(t, "forwarded"), n(t, "guided")), (210, 65));
    assert_eq!(t["rate_of_accepted"], "99.82 %");
    assert_eq!(t["rate_of_received"], "99.85 %");
    let by_kind: Vec<(String, u64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["key"].as_str().unwrap().to_string(), n(&row["counts"], "received")))
        .collect();
    assert_eq!(by_kind, vec![("complaint".into(), 8), ("denunciation".into(), 2), ("petition".into(), 1349)]);
    let labels = r["labels"].as_array().unwrap();
    assert!(labels.iter().any(|l| l["label"].as_str().unwrap().contains("of accepted")));
    // The text table labels both rates.
    let text = db.run(&["petition", "report", "--from", "2026-01-01", "--to", "2026-12-31"]);
    assert!(text.stdout.contains("resolution rate, of accepted") && text.stdout.contains("99.82 %"), "{}", text.stdout);
    assert!(text.stdout.contains("resolution rate, of received") && text.stdout.contains("99.85 %"), "{}", text.stdout);
}

#[test]
fn petitions_at_the_desk_on_sqlite() {
    desk_flow(&Db::sqlite());
}

#[test]
fn petitions_at_the_desk_on_postgres() {
    if let Some(db) = Db::pg("petitions_desk") {
        desk_flow(&db);
    }
}

#[test]
fn the_district_report_reproduces_da_nangs_table() {
    let db = Db::sqlite();
    plant_da_nang(&db);
    check_da_nang_table(&db);
    if let Some(pg) = Db::pg("petitions_report") {
        plant_da_nang(&pg);
        check_da_nang_table(&pg);
    }
}

/// `simulate` plants a complaint about one in ten dossiers finished late (chosen by the code),
/// each about a late dossier, accepted and answered when its instants are not after now.
#[test]
fn simulate_plants_complaints_about_late_dossiers_in_the_documented_share() {
    let db = Db::sqlite();
    let sim = db.ok(&["simulate", "--dossiers", "7000", "--from", "2025-03-01", "--to", "2025-03-31"]);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (late, chosen) = rt.block_on(async {
        use motcua_store::Store;
        let store = motcua_store::open(&db.url).await.unwrap();
        let mut late = std::collections::BTreeSet::new();
        let mut after = None;
        loop {
            let page = store.dossiers_page(after.as_ref(), 1000).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(last.code.clone());
            for r in page {
                if let (Some(f), Some(due)) = (r.finished_at, r.due_at)
                    && f > due
                {
                    late.insert(r.code);
                }
            }
        }
        let chosen: std::collections::BTreeSet<_> =
            late.iter().filter(|c| motcua::bulk::complains(c)).cloned().collect();
        (late, chosen)
    });
    assert!(late.len() >= 50, "the simulation has late dossiers: {}", late.len());
    assert_eq!(sim["complaints"].as_u64(), Some(chosen.len() as u64));
    // The share: about one in ten (the hash spreads the codes evenly).
    let share = chosen.len() as f64 / late.len() as f64;
    assert!((0.04..=0.2).contains(&share), "{} of {} late dossiers", chosen.len(), late.len());
    let items = db.ok(&["petition", "list", "--kind", "complaint", "--limit", "100000"]);
    let about: std::collections::BTreeSet<String> =
        items.as_array().unwrap().iter().map(|i| i["dossier_code"].as_str().unwrap().to_string()).collect();
    assert_eq!(about, chosen.iter().map(ToString::to_string).collect());
}

fn sent_to<'a>(msgs: &'a [Value], to: &str, subject_has: &str) -> &'a Value {
    msgs.iter()
        .find(|m| m["to"][0] == to && m["subject"].as_str().unwrap().contains(subject_has))
        .unwrap_or_else(|| panic!("no message {subject_has:?} to {to}: {msgs:#?}"))
}

/// The citizen's e-mails (acceptance, forward, extension, answer) and the agency's at-risk
/// warning and last-day reminder, through `motcua worker --once --as-of` and a real SMTP server;
/// a second run over the same instant sends nothing more; the answer given after the due
/// instant is late and counted late by the report.
fn mail_and_reminders(db: &Db) {
    use crate::worker::{SmtpSink, run_worker};
    let smtp = SmtpSink::start();
    let print = tempfile::tempdir().unwrap();
    let ward = "000.00.41.H17"; // motcua@haichau.danang.example
    let file = |kind: &str, email: &str, name: &str| {
        db.ok(&[
            "petition",
            "file",
            "--kind",
            kind,
            "--applicant",
            name,
            "--email",
            email,
            "--text",
            "Hồ sơ đất đai của tôi quá hạn",
            "--agency",
            ward,
            "--at",
            "2026-07-06T09:00",
        ])
    };
    let k = file("complaint", "lan@example.vn", "Nguyễn Thị Lan");
    let p = file("petition", "minh@example.vn", "Trần Văn Minh");
    let (kc, pc) = (k["code"].as_str().unwrap().to_string(), p["code"].as_str().unwrap().to_string());
    // Seven working days to accept (Law 136/2025): nothing near yet.
    let r = run_worker(db, "2026-07-06T10:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!((r["tick"]["petition_notices"].as_u64(), r["outbox"]["sent"].as_u64()), (Some(0), Some(0)), "{r}");
    db.ok(&["petition", "accept", &kc, "--at", "2026-07-07T09:00", "--by", "can-bo"]);
    db.ok(&[
        "petition",
        "forward",
        &pc,
        "--to",
        "Sở Xây dựng",
        "--reason",
        "Ngoài thẩm quyền",
        "--at",
        "2026-07-07T09:30",
    ]);
    let x = db.ok(&["petition", "extend", &kc, "--reason", "Vụ việc phức tạp", "--at", "2026-07-08T09:00"]);
    assert_eq!(x["next_due_at"], "2026-08-21T17:00:00+07:00", "45 days from acceptance");
    let r = run_worker(db, "2026-07-08T10:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!(r["outbox"]["sent"], 3, "acceptance, forward, extension: {r}");
    // Two working days and one hour before the due instant: the at-risk warning to the ward;
    // run again at the same instant: nothing more.
    let r = run_worker(db, "2026-08-19T16:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!((r["tick"]["petition_notices"].as_u64(), r["outbox"]["sent"].as_u64()), (Some(1), Some(1)), "{r}");
    let again = run_worker(db, "2026-08-19T16:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!((again["tick"]["petition_notices"].as_u64(), again["outbox"]["claimed"].as_u64()), (Some(0), Some(0)));
    // Its last working day: the reminder.
    let r = run_worker(db, "2026-08-21T10:00:00+07:00", &smtp.addr(), print.path());
    assert_eq!(r["tick"]["petition_notices"], 1, "{r}");
    // Answered after the due instant: late, and the citizen gets the answer.
    let a = db.ok(&[
        "petition",
        "answer",
        &kc,
        "--text",
        "Đã cấp giấy chứng nhận ngày 20/8/2026.",
        "--at",
        "2026-08-24T09:00",
    ]);
    assert_eq!((a["status"].as_str(), a["resolve_late"].as_bool()), (Some("answered"), Some(true)));
    run_worker(db, "2026-08-24T09:05:00+07:00", &smtp.addr(), print.path());
    assert_eq!(smtp.count(), 6);

    let msgs = smtp.messages();
    let m = sent_to(&msgs, "lan@example.vn", "Đã thụ lý đơn");
    assert_eq!(m["subject"], format!("Đã thụ lý đơn {kc} — hạn giải quyết Thứ Năm 06/08/2026 17:00"));
    assert_eq!(m["to_names"][0], "Nguyễn Thị Lan");
    assert_eq!(m["content_type"], "multipart/alternative");
    assert!(m["text"].as_str().unwrap().contains("Ủy ban nhân dân phường Hải Châu đã thụ lý"), "{m}");
    let f = sent_to(&msgs, "minh@example.vn", "đã được chuyển đến Sở Xây dựng");
    assert!(f["text"].as_str().unwrap().contains("Lý do: Ngoài thẩm quyền"), "{f}");
    let e = sent_to(&msgs, "lan@example.vn", "Gia hạn giải quyết đơn");
    assert!(e["text"].as_str().unwrap().contains("Lý do gia hạn: Vụ việc phức tạp"), "{e}");
    assert!(e["text"].as_str().unwrap().contains("Hạn mới: Thứ Sáu 21/08/2026 17:00"), "{e}");
    let w = sent_to(&msgs, "motcua@haichau.danang.example", "[Cảnh báo] Đơn");
    assert!(w["text"].as_str().unwrap().contains("còn 2 ngày 1 giờ"), "{w}");
    let rm = sent_to(&msgs, "motcua@haichau.danang.example", "[Nhắc việc] Đơn");
    assert!(rm["text"].as_str().unwrap().contains("Bước hoàn thành sau thời hạn được tính là trễ hạn"), "{rm}");
    let ans = sent_to(&msgs, "lan@example.vn", "Trả lời đơn");
    assert!(ans["text"].as_str().unwrap().contains("Đã cấp giấy chứng nhận ngày 20/8/2026."), "{ans}");
    assert!(ans["html"].as_str().unwrap().contains("<blockquote"), "{ans}");
    // The report counts the late answer.
    let rep = db.ok(&["petition", "report", "--from", "2026-07-01", "--to", "2026-12-31"]);
    assert_eq!((rep["total"]["resolved_late"].as_u64(), rep["total"]["forwarded"].as_u64()), (Some(1), Some(1)));
}

#[test]
fn petition_mail_and_reminders_on_sqlite() {
    mail_and_reminders(&Db::sqlite());
}

#[test]
fn petition_mail_and_reminders_on_postgres() {
    if let Some(db) = Db::pg("petition_mail") {
        mail_and_reminders(&db);
    }
}

/// `motcua recompute` rebuilds the petitions projection from its log and `--dry-run` reports
/// the difference without writing.
fn recompute_cli(db: &Db) {
    let f = db.ok(&[
        "petition",
        "file",
        "--kind",
        "petition",
        "--applicant",
        "Võ Thị Hạnh",
        "--text",
        "Đường hư hỏng",
        "--agency",
        "000.00.41.H17",
        "--at",
        "2026-07-06T09:00",
    ]);
    let code = f["code"].as_str().unwrap().to_string();
    let clean = db.ok(&["recompute", "--dry-run"]);
    assert_eq!(
        (clean["petitions"]["items"].as_u64(), clean["petitions"]["changed"].as_array().map(Vec::len)),
        (Some(1), Some(0))
    );
    db.sql(&format!("UPDATE petitions SET status = 'archived' WHERE code = '{code}'"));
    let dry = db.ok(&["recompute", "--dry-run"]);
    assert_eq!(dry["petitions"]["changed"][0]["code"], code.as_str(), "{dry}");
    let listed = |db: &Db| db.ok(&["petition", "list"])[0]["status"].as_str().unwrap().to_string();
    assert_eq!(listed(db), "archived", "the dry run wrote nothing");
    let text = db.run(&["recompute"]);
    assert!(text.stdout.contains(&format!("{code}  status: archived → received")), "{}", text.stdout);
    assert_eq!(listed(db), "received");
    assert!(db.ok(&["recompute", "--dry-run"])["petitions"]["changed"].as_array().unwrap().is_empty());
}

#[test]
fn recompute_rebuilds_the_petitions_on_sqlite() {
    recompute_cli(&Db::sqlite());
}

#[test]
fn recompute_rebuilds_the_petitions_on_postgres() {
    if let Some(db) = Db::pg("petition_recompute") {
        recompute_cli(&db);
    }
}
