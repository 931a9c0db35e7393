//! What the scorecard needs, recorded on the command line: fees (the catalog's by default),
//! payment methods and receipts, electronic results, digitised papers, delay reason codes and
//! the mark of a portal export; bad input is exit 2 with nothing written; an old log imports
//! and exports unchanged.

use crate::desk::Db;

const CENTRE: &str = "000.00.02.H17";
/// 10 working days, centre → department → centre; 3 000 000 VND in the catalog.
const TRAVEL_LICENCE: &str = "1.004628";

fn at(day: u32, hour: u32) -> String {
    format!("2025-03-{day:02}T{hour:02}:00:00+07:00")
}

#[test]
fn the_cli_records_fees_methods_results_papers_reasons_and_portal_marks() {
    let db = Db::sqlite();
    let v = db.ok(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "Võ Thị Hạnh",
        "--document",
        "Tờ khai:original:1",
        "--document",
        "Giấy phép kinh doanh:copy:1",
        "--digitised",
        "Tờ khai",
        "--at",
        &at(3, 9),
    ]);
    let code = v["code"].as_str().unwrap().to_string();
    // A digitised paper that is not on the checklist: refused, nothing written.
    let before = db.event_count();
    db.run(&[
        "intake",
        "--procedure",
        TRAVEL_LICENCE,
        "--agency",
        CENTRE,
        "--applicant",
        "X",
        "--document",
        "Tờ khai",
        "--digitised",
        "Sổ đỏ",
        "--at",
        &at(3, 9),
    ])
    .assert_user_error("not in the dossier's document checklist");
    assert_eq!(db.event_count(), before);
    db.ok(&["accept", &code, "--at", &at(3, 10)]);
    // After intake too, each paper must be on the dossier's checklist (as on the API and pages).
    let before = db.event_count();
    db.run(&["digitise", &code, "--document", "Sổ đỏ", "--at", &at(3, 10)])
        .assert_user_error("not in the dossier's document checklist");
    assert_eq!(db.event_count(), before);
    db.ok(&["digitise", &code, "--document", "Giấy phép kinh doanh", "--at", &at(3, 10)]);

    let before = db.event_count();
    // An unknown reason code, a negative or unreadable amount, a bad method: exit 2, nothing.
    db.run(&["request-supplement", &code, "--reason", "Thiếu", "--reason-code", "bus_late", "--at", &at(3, 11)])
        .assert_user_error("unknown reason code \"bus_late\"");
    db.run(&["request-payment", &code, "--amount", "-5", "--at", &at(3, 11)]).assert_user_error("invalid amount");
    db.run(&["request-payment", &code, "--amount", "ba trăm", "--at", &at(3, 11)]).assert_user_error("invalid amount");
    db.run(&["stop", &code, "--reason", "x", "--reason-code", "OTHER", "--at", &at(3, 11)])
        .assert_user_error("unknown reason code");
    assert_eq!(db.event_count(), before, "a refused command wrote something");

    db.ok(&[
        "request-supplement",
        &code,
        "--reason",
        "Thiếu bản sao giấy phép",
        "--reason-code",
        "citizen_incomplete",
        "--at",
        &at(4, 9),
    ]);
    db.ok(&["supplement", &code, "--at", &at(5, 9)]);
    // No amount: the catalog's fee.
    db.ok(&["request-payment", &code, "--reason", "Phí thẩm định", "--at", &at(5, 10)]);
    let before = db.event_count();
    db.run(&["paid", &code, "--method", "card", "--at", &at(5, 11)]).assert_user_error("invalid payment method");
    db.run(&["paid", &code, "--at", &at(5, 11)]).assert_user_error("--method");
    assert_eq!(db.event_count(), before);
    db.ok(&["paid", &code, "--method", "online", "--receipt", "QR-2025-0042", "--at", &at(5, 11)]);
    db.run(&["resolve", &code, "--reason-code", "other", "--at", &at(6, 9)]).assert_user_error("goes with a refusal");
    db.ok(&["resolve", &code, "--electronic", "--at", &at(6, 9)]);

    let log = db.run(&["export", "--format", "jsonl"]).stdout;
    for needle in [
        r#""digitised":["Tờ khai"]"#,
        r#""type":"digitised","documents":["Giấy phép kinh doanh"]"#,
        r#""reason_code":"citizen_incomplete""#,
        r#""type":"payment_requested","reason":"Phí thẩm định","amount_vnd":3000000"#,
        r#""type":"paid","method":"online","receipt":"QR-2025-0042""#,
        r#""type":"resolved","outcome":"approved","electronic":true"#,
    ] {
        assert!(log.contains(needle), "{needle} not in\n{log}");
    }

    // The portal export marks each dossier once.
    let before = db.event_count();
    let run = db.run(&["export", "--format", "dvcqg", "--mark-synced", "--at", &at(7, 9), "--by", "sync.bot"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("marked 1 dossier(s)"), "{}", run.stderr);
    assert_eq!(db.event_count(), before + 1);
    let run = db.run(&["export", "--format", "dvcqg", "--mark-synced", "--at", &at(7, 10)]);
    assert!(run.stderr.contains("marked 0 dossier(s)"), "{}", run.stderr);
    assert_eq!(db.event_count(), before + 1, "a second export marks nothing new");
    db.run(&["export", "--format", "jsonl", "--mark-synced"])
        .assert_user_error("--mark-synced goes with --format dvcqg");
    let log = db.run(&["export", "--format", "jsonl"]).stdout;
    assert!(log.contains(r#""by":"sync.bot","type":"synced_to_portal""#), "{log}");

    // The log brought into a new database replays to the same export, byte for byte.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.jsonl");
    std::fs::write(&file, &log).unwrap();
    let copy = Db::sqlite();
    let run = copy.run(&["import", file.to_str().unwrap(), "--as-of", &at(10, 9)]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(copy.run(&["export", "--format", "jsonl"]).stdout, log);
}

#[test]
fn an_old_log_imports_and_exports_unchanged() {
    // A log written before fees, methods, reason codes, electronic results and digitisation.
    let old = concat!(
        r#"{"code":"000.00.41.H17-250303-0001","at":"2025-03-03T02:00:00Z","by":"desk","type":"received","intake":{"code":"000.00.41.H17-250303-0001","procedure":"1.001022","agency":"000.00.41.H17","applicant":{"name":"Lê Văn An"},"channel":"in_person"}}"#,
        "\n",
        r#"{"code":"000.00.41.H17-250303-0001","at":"2025-03-03T03:00:00Z","by":"desk","type":"accepted"}"#,
        "\n",
        r#"{"code":"000.00.41.H17-250303-0001","at":"2025-03-03T04:00:00Z","by":"desk","type":"payment_requested","reason":"Lệ phí"}"#,
        "\n",
        r#"{"code":"000.00.41.H17-250303-0001","at":"2025-03-03T05:00:00Z","type":"paid"}"#,
        "\n",
        r#"{"code":"000.00.41.H17-250303-0001","at":"2025-03-04T02:00:00Z","by":"desk","type":"stopped","reason":"Không bổ sung"}"#,
        "\n",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("old.jsonl");
    std::fs::write(&file, old).unwrap();
    let db = Db::sqlite();
    let run = db.run(&["import", file.to_str().unwrap(), "--as-of", "2025-03-31T09:00:00+07:00"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(db.run(&["export", "--format", "jsonl"]).stdout, old, "no catalog fee, no method put in");
    let shown = db.ok(&["show", "000.00.41.H17-250303-0001"]);
    assert_eq!(shown["status"], 8, "{shown}");
}

#[test]
fn simulate_records_fees_methods_reasons_and_some_dissatisfied_ratings() {
    let db = Db::sqlite();
    let run = db.run(&[
        "simulate",
        "--dossiers",
        "600",
        "--seed",
        "7",
        "--from",
        "2025-03-01",
        "--to",
        "2025-03-31",
        "--json",
    ]);
    let v = run.json();
    assert!(v["ratings"].as_u64().unwrap() > 0, "{v}");
    assert!(v["dissatisfied"].as_u64().unwrap() > 0, "some citizens are dissatisfied: {v}");
    let log = db.run(&["export", "--format", "jsonl"]).stdout;
    for needle in [
        r#""amount_vnd":"#,
        r#""method":"#,
        r#""electronic":true"#,
        r#""electronic":false"#,
        r#""reason_code":"#,
        r#""digitised":["#,
    ] {
        assert!(log.contains(needle), "{needle} not in the simulated log");
    }
}
