//! Import and export: round trips, row errors with line numbers, and the national portal's
//! record of a hand-built dossier.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::calendar::from_local;
use motcua_core::{
    AgencyCode, Applicant, Calendar, CalendarData, Catalog, Channel, ClassifyMode, Domain, DossierCode, Event,
    EventKind, Intake, OfficeHours, Outcome, PaymentMethod,
};
use motcua_exchange::{
    CSV_COLUMNS, DERIVED_RESCHEDULE_REASON, DongBoHoSo, EventWriter, Format, ImportRow, RowError, dvcqg, dvcqg_record,
    dvcqg_with_log, parse_dvcqg_time, read_dvcqg, read_events, record_events, write_dvcqg, write_events_csv,
    write_events_jsonl,
};

fn domain() -> Domain {
    let years = [
        ("2024.toml", include_str!("../../../config/calendars/vn/2024.toml")),
        ("2025.toml", include_str!("../../../config/calendars/vn/2025.toml")),
        ("2026.toml", include_str!("../../../config/calendars/vn/2026.toml")),
    ];
    let years = years.iter().map(|(name, text)| CalendarData::parse_year(name, text).unwrap()).collect();
    let calendar = Calendar::new(&CalendarData::new(years).unwrap(), OfficeHours::standard());
    let catalog = Catalog::from_toml(
        include_str!("../../../config/catalog/agencies.toml"),
        include_str!("../../../config/catalog/procedures.toml"),
    )
    .unwrap();
    Domain::new(calendar, catalog, ClassifyMode::default())
}

fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    from_local(NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
}

fn ag(s: &str) -> AgencyCode {
    s.parse().unwrap()
}

fn code(s: &str) -> DossierCode {
    s.parse().unwrap()
}

const CENTRE: &str = "000.00.02.H17";
const POLICE: &str = "000.00.17.H17";
const JUSTICE: &str = "000.00.03.H17";
const WARD: &str = "000.00.41.H17";

fn ev(t: DateTime<Utc>, by: Option<&str>, kind: EventKind) -> Event {
    Event::new(t, by.map(str::to_string), kind)
}

/// A criminal-record request at the centre: police, then justice, a supplement, an apology
/// with a new date, late result, returned.
fn criminal_record() -> (DossierCode, Vec<Event>) {
    let c = code("000.00.02.H17-250714-0007");
    let intake = Intake {
        code: c.clone(),
        procedure: "2.000488".parse().unwrap(),
        agency: ag(CENTRE),
        applicant: Applicant {
            name: "Trần Thị Bích Ngọc".into(),
            email: Some("ngocttb@example.vn".parse().unwrap()),
            phone: Some("0905123456".parse().unwrap()),
            id_number: Some("048190012345".into()),
            address: Some("12 Lê Duẩn, phường Hải Châu, thành phố Đà Nẵng".into()),
        },
        channel: Channel::InPerson,
        documents: Vec::new(),
        digitised: None,
    };
    let events = vec![
        ev(at(2025, 7, 14, 9, 32), Some("tn01.000.00.02.H17"), EventKind::Received { intake }),
        ev(at(2025, 7, 14, 10, 15), Some("tn01.000.00.02.H17"), EventKind::Transferred { to: ag(POLICE) }),
        ev(at(2025, 7, 14, 11, 0), Some("cv02.000.00.17.H17"), EventKind::Accepted),
        ev(
            at(2025, 7, 15, 9, 0),
            Some("cv02.000.00.17.H17"),
            EventKind::SupplementRequested {
                reason: "Bản chụp không rõ".into(),
                documents: vec!["Bản chụp giấy tờ tùy thân".into()],
                reason_code: None,
            },
        ),
        ev(at(2025, 7, 16, 10, 0), Some("tn02.000.00.02.H17"), EventKind::SupplementSupplied),
        ev(at(2025, 7, 17, 16, 0), Some("cv02.000.00.17.H17"), EventKind::Transferred { to: ag(JUSTICE) }),
        ev(at(2025, 7, 18, 8, 0), Some("cv01.000.00.03.H17"), EventKind::Accepted),
        ev(
            at(2025, 7, 25, 9, 0),
            Some("cv01.000.00.03.H17"),
            EventKind::Rescheduled {
                to: at(2025, 7, 30, 17, 0),
                reason: "Cần xác minh thêm thông tin".into(),
                responsible: Some(ag(JUSTICE)),
                automatic: false,
                override_second: false,
                reason_code: None,
            },
        ),
        ev(at(2025, 7, 29, 10, 0), Some("cv01.000.00.03.H17"), EventKind::Transferred { to: ag(CENTRE) }),
        ev(at(2025, 7, 29, 10, 30), Some("tn01.000.00.02.H17"), EventKind::Accepted),
        ev(
            at(2025, 7, 29, 14, 0),
            Some("tn01.000.00.02.H17"),
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
        ),
        ev(at(2025, 7, 30, 9, 0), Some("tn03.000.00.02.H17"), EventKind::Returned),
    ];
    (c, events)
}

/// Every event type with every field it can carry, awkward text included.
fn every_kind() -> Vec<(DossierCode, Event)> {
    let online = code("000.00.41.H17-250712-0001");
    let postal = code("000.00.41.H17-250714-0002");
    let t = |m| at(2025, 7, 14, 8, 0) + chrono::Duration::minutes(m);
    let intake = |c: &DossierCode, channel, full: bool| Intake {
        code: c.clone(),
        procedure: "1.001193".parse().unwrap(),
        agency: ag(WARD),
        applicant: if full {
            Applicant {
                name: "Nguyễn Văn \"Tèo\", con".into(),
                email: Some("teonv90@example.vn".parse().unwrap()),
                phone: Some("+84905123456".parse().unwrap()),
                id_number: Some("048090001234".into()),
                address: Some("5 Bạch Đằng; tổ 3, phường Hải Châu\nthành phố Đà Nẵng".into()),
            }
        } else {
            Applicant { name: "Lê Thị Hoa".into(), ..Default::default() }
        },
        channel,
        documents: Vec::new(),
        digitised: full.then(|| vec!["Tờ khai đăng ký khai sinh".to_string()]),
    };
    let mut v = vec![
        (
            online.clone(),
            ev(t(0), None, EventKind::RegisteredOnline { intake: intake(&online, Channel::Online, true) }),
        ),
        (online.clone(), ev(t(5), Some("tn01"), EventKind::AcceptedOnline)),
        (
            postal.clone(),
            ev(t(6), Some("tn02"), EventKind::Received { intake: intake(&postal, Channel::Postal, false) }),
        ),
        (
            postal.clone(),
            ev(
                t(7),
                Some("tn02"),
                EventKind::RefusedAtReceipt {
                    reason: "Thiếu \"tờ khai\", sai thông tin".into(),
                    reason_code: Some("citizen_incomplete".into()),
                },
            ),
        ),
        (online.clone(), ev(t(8), Some("tn01"), EventKind::Transferred { to: ag(POLICE) })),
        (online.clone(), ev(t(9), Some("cv01"), EventKind::Accepted)),
        (
            online.clone(),
            ev(
                t(10),
                Some("cv01"),
                EventKind::SupplementRequested {
                    reason: "Dòng 1\nDòng 2".into(),
                    documents: vec!["Tờ khai, bản chính".into(), "Giấy chứng sinh".into()],
                    reason_code: Some("citizen_incomplete".into()),
                },
            ),
        ),
        (online.clone(), ev(t(11), Some("tn01"), EventKind::SupplementSupplied)),
        (
            online.clone(),
            ev(t(12), Some("cv01"), EventKind::PaymentRequested { reason: "Lệ phí".into(), amount_vnd: Some(8_000) }),
        ),
        (
            online.clone(),
            ev(
                t(13),
                None,
                EventKind::Paid { method: Some(PaymentMethod::Online), receipt: Some("QR 2025/07-0042".into()) },
            ),
        ),
        (online.clone(), ev(t(13), Some("tn01"), EventKind::Digitised { documents: vec!["Giấy chứng sinh".into()] })),
        (online.clone(), ev(t(13), None, EventKind::SyncedToPortal)),
        (
            online.clone(),
            ev(
                t(14),
                Some("cv01"),
                EventKind::Rescheduled {
                    to: at(2025, 7, 20, 17, 0),
                    reason: "Chờ ý kiến".into(),
                    responsible: Some(ag(POLICE)),
                    automatic: true,
                    override_second: true,
                    reason_code: Some("inter_agency_wait".into()),
                },
            ),
        ),
        (
            online.clone(),
            ev(
                t(15),
                Some("cv01"),
                EventKind::Rescheduled {
                    to: at(2025, 7, 21, 17, 0),
                    reason: "Lần hai".into(),
                    responsible: None,
                    automatic: false,
                    override_second: false,
                    reason_code: None,
                },
            ),
        ),
        (
            online.clone(),
            ev(
                t(16),
                Some("cv01"),
                EventKind::Resolved {
                    outcome: Outcome::Approved,
                    reason: None,
                    electronic: Some(true),
                    reason_code: None,
                },
            ),
        ),
        (
            online.clone(),
            ev(
                t(17),
                Some("cv01"),
                EventKind::Resolved {
                    outcome: Outcome::Refused,
                    reason: Some("Không đủ điều kiện".into()),
                    electronic: Some(false),
                    reason_code: Some("other".into()),
                },
            ),
        ),
        (online.clone(), ev(t(18), Some("tn01"), EventKind::Returned)),
        (online.clone(), ev(t(19), Some("tn01"), EventKind::Withdrawn { reason: String::new() })),
        (
            online.clone(),
            ev(
                t(20),
                Some("cv01"),
                EventKind::Stopped {
                    reason: "Quá hạn bổ sung".into(), reason_code: Some("citizen_incomplete".into())
                },
            ),
        ),
    ];
    let (c, log) = criminal_record();
    v.extend(log.into_iter().map(|e| (c.clone(), e)));
    v
}

fn pairs(v: &[(DossierCode, Event)]) -> impl Iterator<Item = (&DossierCode, &Event)> {
    v.iter().map(|(c, e)| (c, e))
}

fn read_all(format: Format, bytes: &[u8]) -> Vec<Result<ImportRow, RowError>> {
    read_events(format, Cursor::new(bytes)).collect()
}

#[test]
fn every_event_type_round_trips_through_jsonl() {
    let events = every_kind();
    let bytes = write_events_jsonl(Vec::new(), pairs(&events)).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(text.lines().count(), events.len());
    let back = read_all(Format::Jsonl, &bytes);
    for (i, (r, (c, e))) in back.iter().zip(&events).enumerate() {
        let r = r.as_ref().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!((r.line, &r.code, &r.event), (i + 1, c, e));
    }
}

/// A backdating reason travels with its event through JSONL, and is checked like any reason.
#[test]
fn a_backdating_reason_round_trips_through_jsonl() {
    let (c, log) = criminal_record();
    let mut e = log[1].clone();
    e.backdate_reason = Some("Nhập lại từ sổ tiếp nhận giấy".into());
    let bytes = write_events_jsonl(Vec::new(), [(&c, &e)]).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.contains(r#""backdate_reason":"Nhập lại từ sổ tiếp nhận giấy""#), "{text}");
    let back = read_all(Format::Jsonl, &bytes);
    assert_eq!(back[0].as_ref().unwrap().event, e);
    let bad = text.replace("sổ tiếp nhận", r"sổ\u001b[2J");
    let back = read_all(Format::Jsonl, bad.as_bytes());
    let err = back[0].as_ref().unwrap_err();
    assert!(err.reason.contains("backdate_reason contains a control character"), "{err:?}");
}

#[test]
fn a_jsonl_line_is_the_core_event_plus_its_code() {
    let (c, log) = criminal_record();
    let bytes = write_events_jsonl(Vec::new(), log.iter().map(|e| (&c, e))).unwrap();
    let first = String::from_utf8(bytes).unwrap().lines().next().unwrap().to_string();
    assert!(first.starts_with(r#"{"code":"000.00.02.H17-250714-0007","at":"2025-07-14T02:32:00Z","by":"tn01.000.00.02.H17","type":"received","intake":{"#), "{first}");
    let mut value: serde_json::Value = serde_json::from_str(&first).unwrap();
    value.as_object_mut().unwrap().remove("code");
    assert_eq!(value, serde_json::to_value(&log[0]).unwrap());
}

#[test]
fn every_event_type_round_trips_through_csv() {
    let events = every_kind();
    let bytes = write_events_csv(Vec::new(), pairs(&events)).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(text.lines().next().unwrap(), CSV_COLUMNS.join(","));
    assert!(text.contains("2025-07-14T09:32:00+07:00"), "CSV instants are local time");
    let back = read_all(Format::Csv, &bytes);
    assert_eq!(back.len(), events.len());
    for (r, (c, e)) in back.iter().zip(&events) {
        let r = r.as_ref().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!((&r.code, &r.event), (c, e));
    }
    // Line numbers are those of the first line of each record (the address spans two lines).
    let lines: Vec<usize> = back.iter().map(|r| r.as_ref().unwrap().line).collect();
    assert_eq!(&lines[..3], &[2, 4, 5]);
}

#[test]
fn the_writer_streams_and_an_empty_csv_export_has_its_header() {
    let out = EventWriter::new(Format::Csv, Vec::new()).unwrap().finish().unwrap();
    assert_eq!(String::from_utf8(out).unwrap().trim_end(), CSV_COLUMNS.join(","));
    let (c, log) = criminal_record();
    let mut w = EventWriter::new(Format::Jsonl, Vec::new()).unwrap();
    for e in &log {
        w.write(&c, e).unwrap();
    }
    assert_eq!(String::from_utf8(w.finish().unwrap()).unwrap().lines().count(), log.len());
}

#[test]
fn a_document_with_the_list_separator_cannot_go_to_csv() {
    let c = code("000.00.41.H17-250714-0003");
    let e = ev(
        at(2025, 7, 14, 9, 0),
        None,
        EventKind::SupplementRequested { reason: "x".into(), documents: vec!["a; b".into()], reason_code: None },
    );
    let err = write_events_csv(Vec::new(), [(&c, &e)]).unwrap_err();
    assert!(err.to_string().contains("contains `;`"), "{err}");
}

fn errors(results: &[Result<ImportRow, RowError>]) -> Vec<(usize, String)> {
    results.iter().filter_map(|r| r.as_ref().err()).map(|e| (e.line, e.reason.clone())).collect()
}

fn assert_error(errs: &[(usize, String)], line: usize, needle: &str) {
    assert!(
        errs.iter().any(|(l, r)| *l == line && r.contains(needle)),
        "no error at line {line} containing {needle:?} in {errs:#?}"
    );
}

#[test]
fn malformed_jsonl_rows_are_reported_and_reading_goes_on() {
    let (c, log) = criminal_record();
    let good = String::from_utf8(write_events_jsonl(Vec::new(), log.iter().take(2).map(|e| (&c, e))).unwrap()).unwrap();
    let mut good = good.lines();
    let received = good.next().unwrap();
    let transfer = good.next().unwrap();
    let input = [
        received.to_string(),                                                           // 1 ok
        String::new(),                                                                  // 2 blank, skipped
        transfer.replace("2025-07-14T03:15:00Z", "14/07/2025 10:15"),                   // 3 bad instant
        transfer.replace("\"transferred\"", "\"teleported\""),                          // 4 unknown type
        transfer.replace("000.00.02.H17-250714-0007", "HS-0007"),                       // 5 bad code
        received.replace("ngocttb@example.vn", "ngocttb@example"),                      // 6 bad e-mail
        transfer.replace(",\"to\":\"000.00.17.H17\"", ""),                              // 7 missing field
        "{\"code\": \"000.00.02.H17-250714-0007\", \"at\": ".to_string(),               // 8 invalid JSON
        transfer.replace("\"to\":", "\"note\":\"x\",\"to\":"),                          // 9 unknown field
        received.replacen("000.00.02.H17-250714-0007", "000.00.02.H17-250714-0008", 1), // 10 intake code differs
        transfer.replace("\"to\":\"000.00.17.H17\"", "\"to\":\"Công an\""),             // 11 bad agency
        "[1, 2]".to_string(),                                                           // 12 not an object
        received.replace("0905123456", "12345"),                                        // 13 bad phone
        transfer.to_string(),                                                           // 14 ok
    ]
    .join("\n");
    let results = read_all(Format::Jsonl, input.as_bytes());
    let errs = errors(&results);
    assert_eq!(results.len(), 13, "the blank line is skipped");
    let ok: Vec<usize> = results.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.line).collect();
    assert_eq!(ok, vec![1, 14]);
    assert_error(&errs, 3, "bad instant in `at`");
    assert_error(&errs, 4, "unknown event type \"teleported\"");
    assert_error(&errs, 5, "bad code");
    assert_error(&errs, 6, "bad e-mail");
    assert_error(&errs, 7, "missing field `to`");
    assert_error(&errs, 8, "invalid JSON");
    assert_error(&errs, 9, "unknown field `note` for a `transferred` event");
    assert_error(&errs, 10, "differs from the row's code");
    assert_error(&errs, 11, "bad agency in `to`");
    assert_error(&errs, 12, "expected a JSON object");
    assert_error(&errs, 13, "bad phone");
}

#[test]
fn malformed_csv_rows_are_reported_and_reading_goes_on() {
    let header = CSV_COLUMNS.join(",");
    let row = |fields: &[(&str, &str)]| {
        CSV_COLUMNS
            .iter()
            .map(|c| fields.iter().find(|(k, _)| k == c).map_or("", |(_, v)| v))
            .map(|v| if v.contains(',') { format!("\"{v}\"") } else { v.to_string() })
            .collect::<Vec<_>>()
            .join(",")
    };
    let c = ("code", "000.00.41.H17-250714-0001");
    let at = ("at", "2025-07-14T09:00:00+07:00");
    let received =
        [c, at, ("type", "received"), ("procedure", "1.001193"), ("agency", WARD), ("applicant_name", "Lê Thị Hoa")];
    let input = [
        header,
        row(&received),                                                                          // 2 ok
        row(&[c, ("at", "2025-07-14 09:00"), ("type", "accepted")]),                             // 3 bad instant
        row(&[c, at, ("type", "approved")]),                                                     // 4 unknown type
        row(&[("code", "nope"), at, ("type", "accepted")]),                                      // 5 bad code
        row(&[received.as_slice(), &[("applicant_email", "hoa@")]].concat()),                    // 6 bad e-mail
        row(&[c, at, ("type", "received"), ("agency", WARD), ("applicant_name", "Lê Thị Hoa")]), // 7 missing procedure
        row(&[c, at, ("type", "accepted"), ("outcome", "approved")]),                            // 8 column not used
        "000.00.41.H17-250714-0001,2025-07-14T09:00:00+07:00,,accepted".to_string(),             // 9 too few fields
        row(&[c, at, ("type", "resolved"), ("outcome", "maybe")]),                               // 10 bad outcome
        row(&[
            c,
            at,
            ("type", "rescheduled"),
            ("to", "2025-07-20T17:00:00+07:00"),
            ("reason", "x"),
            ("override", "perhaps"),
        ]), // 11 bad flag
        row(&[c, at, ("type", "transferred"), ("to", POLICE)]),                                  // 12 ok
    ]
    .join("\r\n");
    let results = read_all(Format::Csv, input.as_bytes());
    let errs = errors(&results);
    let ok: Vec<usize> = results.iter().filter_map(|r| r.as_ref().ok()).map(|r| r.line).collect();
    assert_eq!(ok, vec![2, 12], "{errs:#?}");
    assert_error(&errs, 3, "bad instant in `at`");
    assert_error(&errs, 4, "unknown event type \"approved\"");
    assert_error(&errs, 5, "bad code");
    assert_error(&errs, 6, "bad e-mail");
    assert_error(&errs, 7, "missing `procedure` for a `received` event");
    assert_error(&errs, 8, "column `outcome` is not used by a `accepted` event");
    assert_error(&errs, 9, "expected 25 fields");
    assert_error(&errs, 10, "bad outcome");
    assert_error(&errs, 11, "bad `override` value");
}

#[test]
fn csv_columns_may_come_in_any_order_and_be_left_out() {
    let input = "\u{feff}type,code,at,to\ntransferred,000.00.41.H17-250714-0001,2025-07-14T02:00:00Z,000.00.17.H17\naccepted,000.00.41.H17-250714-0001,2025-07-14T09:30:00+07:00,\n";
    let rows: Vec<ImportRow> = read_all(Format::Csv, input.as_bytes()).into_iter().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].event.kind, EventKind::Transferred { to: ag(POLICE) });
    assert_eq!(rows[0].event.at, at(2025, 7, 14, 9, 0));
    assert_eq!(rows[1].line, 3);
}

#[test]
fn an_unusable_csv_header_is_one_error() {
    let results =
        read_all(Format::Csv, b"code,at,type,colour\n000.00.41.H17-250714-0001,2025-07-14T02:00:00Z,accepted,red\n");
    assert_eq!(errors(&results), vec![(1, "bad header: unknown column \"colour\"; the columns are code,at,by,type,procedure,agency,applicant_name,applicant_email,applicant_phone,applicant_id_number,applicant_address,channel,to,reason,documents,outcome,responsible,override,automatic,reason_code,amount_vnd,method,receipt,electronic,digitised".to_string())]);
    let results = read_all(Format::Csv, b"code,type\n");
    assert_eq!(errors(&results), vec![(1, "bad header: the header has no \"at\" column".to_string())]);
    assert!(read_all(Format::Csv, b"").is_empty());
}

#[test]
fn formats_are_named() {
    assert_eq!("JSONL".parse::<Format>().unwrap(), Format::Jsonl);
    assert_eq!(Format::from_extension("csv"), Some(Format::Csv));
    assert!("xml".parse::<Format>().is_err());
}

#[test]
fn the_national_record_of_a_late_rescheduled_dossier() {
    let domain = domain();
    let (_, log) = criminal_record();
    let d = domain.replay(&log).unwrap();
    let r = dvcqg_with_log(&domain, &d, &log).unwrap();
    assert_eq!(r.ma_ho_so, "000.00.02.H17-250714-0007");
    assert_eq!(r.ma_tthc, "2.000488");
    assert!(r.ten_tthc.starts_with("Cấp Phiếu lý lịch tư pháp"));
    assert_eq!(r.kenh_thuc_hien, "1");
    assert_eq!(r.chu_ho_so, "Trần Thị Bích Ngọc");
    assert_eq!(r.so_giay_to_chu_ho_so, "048190012345");
    assert_eq!(r.loai_doi_tuong, "1");
    assert_eq!(r.ngay_tiep_nhan, "20250714093200");
    assert_eq!(r.trang_thai_ho_so, "10");
    assert_eq!(r.ngay_ket_thuc_xu_ly, "20250729140000");
    assert_eq!(r.ngay_tra, "20250730090000");
    // The supplement restarted the 10 calendar days from 16/7 10:00: Sat 26/7 → Mon 28/7 closing.
    assert_eq!(r.ngay_hen_tra, "20250728170000");
    assert_eq!(r.ngay_hen_tra_truoc.as_deref(), Some("20250728170000"));
    assert_eq!(r.ngay_hen_tra_moi.as_deref(), Some("20250730170000"));
    assert_eq!(r.don_vi_xu_ly, "Công an thành phố Đà Nẵng", "the lead unit: the largest budget, the first of equals");
    assert_eq!(r.danh_sach_ho_so_bo_sung.len(), 1);
    let s = &r.danh_sach_ho_so_bo_sung[0];
    assert_eq!((s.ngay_bo_sung.as_str(), s.ngay_tiep_nhan_bo_sung.as_str()), ("20250715090000", "20250716100000"));
    assert_eq!((s.ngay_hen_tra_truoc.as_str(), s.ngay_hen_tra_moi.as_str()), ("20250724170000", "20250728170000"));
    assert_eq!(s.nguoi_yeu_cau_bo_sung, "cv02.000.00.17.H17");
    assert_eq!(s.danh_sach_giay_to_bo_sung, vec!["Bản chụp giấy tờ tùy thân".to_string()]);

    let rows: Vec<(&str, &str, &str, &str)> = r
        .qua_trinh_xu_ly
        .iter()
        .map(|q| {
            (q.phong_ban_xu_ly.as_str(), q.trang_thai.as_str(), q.nguoi_xu_ly.as_str(), q.thoi_diem_xu_ly.as_str())
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            ("Trung tâm Phục vụ hành chính công thành phố Đà Nẵng", "4", "tn01.000.00.02.H17", "20250714101500"),
            ("Công an thành phố Đà Nẵng", "4", "cv02.000.00.17.H17", "20250717160000"),
            ("Sở Tư pháp", "4", "cv01.000.00.03.H17", "20250729100000"),
            ("Trung tâm Phục vụ hành chính công thành phố Đà Nẵng", "9", "tn01.000.00.02.H17", "20250729140000"),
            ("Trung tâm Phục vụ hành chính công thành phố Đà Nẵng", "10", "tn03.000.00.02.H17", "20250730090000"),
        ]
    );
    let q = &r.qua_trinh_xu_ly;
    assert_eq!(q[0].noi_dung_xu_ly, "Tiếp nhận hồ sơ. Chuyển hồ sơ đến Công an thành phố Đà Nẵng");
    assert_eq!(q[0].ngay_bat_dau, "20250714093200");
    // Half a working day from 09:32 → 13:30 + (225 − 118) min = 15:17.
    assert_eq!(q[0].ngay_ket_thuc_theo_quy_dinh, "20250714151700");
    assert_eq!(q[3].noi_dung_xu_ly, "Hoàn thành giải quyết hồ sơ");

    // The JSON shape: the portal's field names, one object per line.
    let out = String::from_utf8(write_dvcqg(Vec::new(), [&r]).unwrap()).unwrap();
    assert_eq!(out.lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    for key in [
        "MaHoSo",
        "MaTTHC",
        "TenTTHC",
        "KenhThucHien",
        "ChuHoSo",
        "LoaiDoiTuong",
        "NgayTiepNhan",
        "NgayHenTra",
        "TrangThaiHoSo",
        "NgayKetThucXuLy",
        "NgayTra",
        "DonViXuLy",
        "NgayHenTraTruoc",
        "NgayHenTraMoi",
        "DanhSachHoSoBoSung",
        "QuaTrinhXuLy",
    ] {
        assert!(v.get(key).is_some(), "{key} missing in {out}");
    }
    for key in [
        "NguoiXuLy",
        "ChucDanh",
        "ThoiDiemXuLy",
        "PhongBanXuLy",
        "NoiDungXuLy",
        "TrangThai",
        "NgayBatDau",
        "NgayKetThucTheoQuyDinh",
    ] {
        assert!(v["QuaTrinhXuLy"][0].get(key).is_some(), "{key} missing");
    }
    let back: DongBoHoSo = serde_json::from_value(v).unwrap();
    assert_eq!(back, r);
    // Without the log, officers are blank.
    assert!(dvcqg(&domain, &d).unwrap().qua_trinh_xu_ly.iter().all(|q| q.nguoi_xu_ly.is_empty()));
}

#[test]
fn the_national_record_of_online_dossiers_not_yet_received() {
    let domain = domain();
    let c = code("000.00.41.H17-250712-0001");
    let intake = Intake {
        code: c,
        procedure: "1.001193".parse().unwrap(),
        agency: ag(WARD),
        applicant: Applicant { name: "Lê Thị Hoa".into(), ..Default::default() },
        channel: Channel::Online,
        documents: Vec::new(),
        digitised: None,
    };
    let registered = ev(at(2025, 7, 12, 21, 10), None, EventKind::RegisteredOnline { intake });
    let d = domain.replay([&registered]).unwrap();
    let r = dvcqg(&domain, &d).unwrap();
    assert_eq!((r.trang_thai_ho_so.as_str(), r.kenh_thuc_hien.as_str(), r.ngay_tiep_nhan.as_str()), ("1", "2", ""));
    // One row says when it was registered.
    assert_eq!(r.qua_trinh_xu_ly.len(), 1);
    assert_eq!(
        (r.qua_trinh_xu_ly[0].trang_thai.as_str(), r.qua_trinh_xu_ly[0].ngay_bat_dau.as_str()),
        ("1", "20250712211000")
    );
    assert_eq!(r.ngay_hen_tra_truoc, None);

    let refused = ev(
        at(2025, 7, 14, 8, 30),
        Some("tn01.000.00.41.H17"),
        EventKind::RefusedAtReceipt { reason: "Sai thành phần hồ sơ".into(), reason_code: None },
    );
    let log = [registered, refused];
    let d = domain.replay(&log).unwrap();
    let r = dvcqg_with_log(&domain, &d, &log).unwrap();
    assert_eq!(r.trang_thai_ho_so, "3");
    assert_eq!(r.qua_trinh_xu_ly.len(), 1);
    assert_eq!(r.qua_trinh_xu_ly[0].noi_dung_xu_ly, "Từ chối tiếp nhận hồ sơ: Sai thành phần hồ sơ");
    assert_eq!(r.qua_trinh_xu_ly[0].nguoi_xu_ly, "tn01.000.00.41.H17");
    assert_eq!(r.qua_trinh_xu_ly[0].thoi_diem_xu_ly, "20250714083000");

    assert!(dvcqg(&domain, &motcua_core::Dossier::default()).is_err());
}

/// The record `export --format dvcqg` writes for the criminal-record dossier, as one JSON line.
fn exported_line(domain: &Domain, log: &[Event]) -> String {
    let d = domain.replay(log).unwrap();
    let r = dvcqg_record(domain, &d, log).unwrap();
    String::from_utf8(write_dvcqg(Vec::new(), [&r]).unwrap()).unwrap().trim_end().to_string()
}

/// The same record without motcua's event rows: what another system would send.
fn portal_only(line: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    v["QuaTrinhXuLy"].as_array_mut().unwrap().retain(|q| q.get("SuKienMotcua").is_none());
    v
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events.iter().map(|e| e.kind.name()).collect()
}

#[test]
fn the_exported_record_carries_the_log_in_its_event_rows() {
    let domain = domain();
    let (c, log) = criminal_record();
    let line = exported_line(&domain, &log);
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let rows = v["QuaTrinhXuLy"].as_array().unwrap();
    // Five control-sheet rows, then one row per event, each in the portal's words too.
    assert_eq!(rows.len(), 5 + log.len());
    let transfer = &rows[5 + 1];
    assert_eq!(transfer["NoiDungXuLy"], "Chuyển hồ sơ đến Công an thành phố Đà Nẵng");
    assert_eq!(
        (transfer["ThoiDiemXuLy"].as_str(), transfer["TrangThai"].as_str()),
        (Some("20250714101500"), Some("4"))
    );
    assert_eq!(transfer["SuKienMotcua"]["type"], "transferred");
    assert_eq!(rows[5 + 3]["TrangThai"], "5", "the status after the supplement request");
    // Read back: exactly the log.
    let read: Vec<_> = read_dvcqg(&domain, Cursor::new(format!("{line}\n\n{line}\n"))).collect();
    assert_eq!(read.len(), 2, "blank lines are skipped");
    let r = read[0].as_ref().unwrap();
    assert_eq!((r.line, &r.code, r.derived), (1, &c, false));
    assert_eq!(r.events, log);
    assert!(r.notes.is_empty());
    assert_eq!(read[1].as_ref().unwrap().line, 3);
}

#[test]
fn motcua_rows_that_disagree_with_the_record_are_refused() {
    let domain = domain();
    let (_, log) = criminal_record();
    let mut v: serde_json::Value = serde_json::from_str(&exported_line(&domain, &log)).unwrap();
    v["TrangThaiHoSo"] = "9".into();
    let err = record_events(&domain, &v.to_string()).unwrap_err();
    assert!(
        err.contains("`TrangThaiHoSo` is \"9\" but the record's motcua rows (`SuKienMotcua`) give \"10\""),
        "{err}"
    );
    let mut v: serde_json::Value = serde_json::from_str(&exported_line(&domain, &log)).unwrap();
    v["MaHoSo"] = "000.00.02.H17-250714-0008".into();
    let err = record_events(&domain, &v.to_string()).unwrap_err();
    assert!(err.contains("differs from `MaHoSo`"), "{err}");
    let mut v: serde_json::Value = serde_json::from_str(&exported_line(&domain, &log)).unwrap();
    v["QuaTrinhXuLy"][6]["SuKienMotcua"]["type"] = "teleported".into();
    let err = record_events(&domain, &v.to_string()).unwrap_err();
    assert!(err.contains("`QuaTrinhXuLy[6].SuKienMotcua` is not a motcua event"), "{err}");
}

#[test]
fn another_systems_record_is_derived_by_the_rules() {
    let domain = domain();
    let (c, log) = criminal_record();
    let v = portal_only(&exported_line(&domain, &log));
    let r = record_events(&domain, &v.to_string()).unwrap();
    assert!(r.derived);
    assert_eq!(r.code, c);
    assert_eq!(
        kinds(&r.events),
        [
            "received",
            "transferred",
            "accepted",
            "supplement_requested",
            "supplement_supplied",
            "transferred",
            "accepted",
            "rescheduled",
            "transferred",
            "accepted",
            "resolved",
            "returned"
        ]
    );
    let e = &r.events;
    // The receipt with the applicant; handoffs sent and accepted at the row's NgayBatDau, by
    // the officers of the rows before and after.
    assert_eq!(e[0], log[0]);
    assert_eq!((e[1].at, e[1].by.as_deref()), (at(2025, 7, 14, 10, 15), Some("tn01.000.00.02.H17")));
    assert_eq!((e[2].at, e[2].by.as_deref()), (at(2025, 7, 14, 10, 15), Some("cv02.000.00.17.H17")));
    assert_eq!(e[3], log[3], "the supplement request: who, why, which papers");
    assert_eq!(e[4].at, log[4].at);
    // The reschedule: issued at the appointment it replaced (the record does not say when).
    assert_eq!(e[7].at, at(2025, 7, 28, 17, 0));
    let EventKind::Rescheduled { to, reason, responsible, automatic, .. } = &e[7].kind else { panic!() };
    assert_eq!(
        (*to, reason.as_str(), responsible, *automatic),
        (at(2025, 7, 30, 17, 0), DERIVED_RESCHEDULE_REASON, &None, false)
    );
    assert_eq!(e[10], log[10]);
    assert_eq!(e[11], log[11]);
    // Replayed, the derived log gives the record's own fields back.
    let d = domain.replay(e).unwrap();
    let back = serde_json::to_value(dvcqg_with_log(&domain, &d, e).unwrap()).unwrap();
    for key in [
        "TrangThaiHoSo",
        "NgayTiepNhan",
        "NgayHenTra",
        "NgayKetThucXuLy",
        "NgayTra",
        "NgayHenTraMoi",
        "DanhSachHoSoBoSung",
    ] {
        assert_eq!(back[key], v[key], "{key}");
    }
    // The same record always gives the same events.
    assert_eq!(record_events(&domain, &v.to_string()).unwrap().events, r.events);
}

#[test]
fn missing_optional_fields_and_unknown_fields_are_no_obstacle() {
    let domain = domain();
    let record = serde_json::json!({
        "MaHoSo": "000.00.02.H17-250303-0001",
        "MaTTHC": "1.004628",
        "ChuHoSo": "  Phan Văn Khải ",
        "Email": "không-phải-email",
        "NgayTiepNhan": 20250303090000u64,
        "TrangThaiHoSo": 9,
        "NgayKetThucXuLy": "20250305150000",
        "MaDinhDanh": {"x": 1},
        "QuaTrinhXuLy": [
            {"PhongBanXuLy": "000.00.02.H17", "NgayBatDau": "20250303090000", "NguoiXuLy": "Lê A", "GhiChu": "?"},
            {"PhongBanXuLy": "  sở   du lịch ", "NgayBatDau": "20250303100000", "NguoiXuLy": "Trần B"},
            {"PhongBanXuLy": "Sở Du lịch", "ThoiDiemXuLy": "20250304100000", "NoiDungXuLy": "Thẩm định"},
            {"PhongBanXuLy": "Trung tâm Phục vụ hành chính công thành phố Đà Nẵng", "NgayBatDau": "20250305140000",
             "NoiDungXuLy": "Từ chối giải quyết hồ sơ: Không đủ điều kiện", "NguoiXuLy": "Lê A"}
        ]
    });
    let r = record_events(&domain, &record.to_string()).unwrap();
    assert_eq!(kinds(&r.events), ["received", "transferred", "accepted", "transferred", "accepted", "resolved"]);
    let EventKind::Received { intake } = &r.events[0].kind else { panic!() };
    assert_eq!((intake.applicant.name.as_str(), intake.applicant.email.as_ref()), ("Phan Văn Khải", None));
    assert_eq!(intake.channel, Channel::InPerson, "no KenhThucHien: in person");
    assert!(r.notes.iter().any(|n| n.starts_with("`Email` left out")), "{:?}", r.notes);
    // Two rows at one agency are one holding; an agency may be named by code or by name.
    assert_eq!(r.events[1].kind, EventKind::Transferred { to: ag("000.00.12.H17") });
    assert_eq!(
        r.events[5].kind,
        EventKind::Resolved {
            outcome: Outcome::Refused,
            reason: Some("Không đủ điều kiện".into()),
            electronic: None,
            reason_code: None
        }
    );
    assert_eq!(r.events[5].at, at(2025, 3, 5, 15, 0));
    domain.replay(&r.events).unwrap();

    // A progress update (no intake fields) gives the events after the receipt.
    let update = serde_json::json!({
        "MaHoSo": "000.00.02.H17-250303-0001",
        "TrangThaiHoSo": "4",
        "QuaTrinhXuLy": [{"PhongBanXuLy": "Sở Du lịch", "NgayBatDau": "20250303100000"}]
    });
    let r = record_events(&domain, &update.to_string()).unwrap();
    assert_eq!(kinds(&r.events), ["transferred", "accepted"]);
    assert!(r.notes[0].contains("progress update"));

    // Waiting for papers, but no supplement listed: what the record lists is imported, and a
    // note says the status is not reached.
    let waiting = serde_json::json!({
        "MaHoSo": "000.00.02.H17-250303-0002", "MaTTHC": "1.004628", "ChuHoSo": "Lê Thị Hoa",
        "NgayTiepNhan": "20250303090000", "TrangThaiHoSo": "5"
    });
    let r = record_events(&domain, &waiting.to_string()).unwrap();
    assert_eq!(kinds(&r.events), ["received", "accepted"]);
    assert!(
        r.notes
            .iter()
            .any(|n| n
                == "`TrangThaiHoSo` is 5 but the events the record lists reach 4 (processing): imported as they are"),
        "{:?}",
        r.notes
    );
}

#[test]
fn what_cannot_be_understood_rejects_the_record_with_its_reason() {
    let domain = domain();
    let base = serde_json::json!({
        "MaHoSo": "000.00.02.H17-250303-0001", "MaTTHC": "1.004628", "ChuHoSo": "Phan Văn Khải",
        "NgayTiepNhan": "20250303090000", "TrangThaiHoSo": "2", "QuaTrinhXuLy": []
    });
    let with = |key: &str, value: serde_json::Value| {
        let mut v = base.clone();
        v[key] = value;
        record_events(&domain, &v.to_string()).unwrap_err()
    };
    for (key, value, needle) in [
        ("MaHoSo", "HS-1".into(), "bad `MaHoSo`"),
        ("MaHoSo", "000.00.99.H17-250303-0001".into(), "unknown agency 000.00.99.H17"),
        ("MaTTHC", "9.999999".into(), "unknown procedure 9.999999 (`MaTTHC`): not in the catalog"),
        (
            "NgayTiepNhan",
            "03/03/2025 09:00".into(),
            "bad date in `NgayTiepNhan`: \"03/03/2025 09:00\"; expected yyyyMMddHHmmss",
        ),
        ("TrangThaiHoSo", "11".into(), "bad `TrangThaiHoSo` \"11\""),
        ("KenhThucHien", "4".into(), "bad `KenhThucHien` \"4\""),
        ("ChuHoSo", serde_json::Value::Null, "missing field `ChuHoSo`"),
        ("TrangThaiHoSo", "9".into(), "missing field `NgayKetThucXuLy`"),
        ("QuaTrinhXuLy", "none".into(), "`QuaTrinhXuLy` must be a list"),
        (
            "QuaTrinhXuLy",
            serde_json::json!([{"PhongBanXuLy": "Sở Mặt Trăng", "NgayBatDau": "20250303100000"}]),
            "unknown agency \"Sở Mặt Trăng\"",
        ),
        (
            "DanhSachHoSoBoSung",
            serde_json::json!([{"NoiDungBoSung": "x"}]),
            "missing field `DanhSachHoSoBoSung[0].NgayBoSung`",
        ),
    ] {
        let err = with(key, value);
        assert!(err.contains(needle), "{key}: {err}");
    }
    let lines = format!("{base}\n[1, 2]\n{}", &base.to_string()[..40]);
    let read: Vec<_> = read_dvcqg(&domain, Cursor::new(lines)).collect();
    assert!(read[0].is_ok());
    let errs: Vec<(usize, String)> = read.into_iter().filter_map(Result::err).map(|e| (e.line, e.reason)).collect();
    assert_eq!(errs.len(), 2);
    assert_eq!(errs[0].0, 2);
    assert!(errs[0].1.contains("expected a JSON object"), "{}", errs[0].1);
    assert_eq!(errs[1].0, 3, "a truncated last line is one error with its line");
    assert!(errs[1].1.contains("invalid JSON"), "{}", errs[1].1);
}

#[test]
fn portal_dates_are_local_time() {
    assert_eq!(parse_dvcqg_time("NgayTiepNhan", "20250714093200").unwrap(), at(2025, 7, 14, 9, 32));
    assert_eq!(parse_dvcqg_time("x", "20250714093200").unwrap().to_rfc3339(), "2025-07-14T02:32:00+00:00");
    assert!(parse_dvcqg_time("x", "2025071409").is_err());
    assert!(parse_dvcqg_time("x", "20251314093200").is_err());
}
