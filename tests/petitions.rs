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
                store.record_item(&d, &code, e.clone(), e.at).await.unwrap();
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
