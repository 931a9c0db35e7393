//! Finding a dossier on both backends: the staff's search by code (whole or its beginning),
//! by a part of the applicant's name compared without marks, by ID number and by phone number,
//! within the agencies that received or held it, a page at a time with the count; the desk's
//! lists (sent and not yet accepted, results ready to hand back, waiting for the citizen) and
//! the work queue, paged and counted.

use chrono::Duration;
use motcua_core::{DossierCode, Event, EventKind, Outcome, Timeliness};
use motcua_store::{DeskList, DossierRow, DossierSearch, Paged, Scope, StaffStore, Window};

use super::support::*;

fn ev(at: chrono::DateTime<chrono::Utc>, kind: EventKind) -> Event {
    Event::new(at, Some("officer".into()), kind)
}

fn codes(p: &Paged<DossierRow>) -> Vec<DossierCode> {
    p.rows.iter().map(|r| r.code.clone()).collect()
}

const ALL: Window = Window { offset: 0, limit: 50 };

fn name(n: &str) -> DossierSearch {
    DossierSearch { applicant: Some(n.into()), ..DossierSearch::default() }
}

fn phone(p: &str) -> DossierSearch {
    DossierSearch { phone: Some(p.into()), ..DossierSearch::default() }
}

fn code(c: &str) -> DossierSearch {
    DossierSearch { code: Some(c.into()), ..DossierSearch::default() }
}

/// Search by code, folded name, ID number and phone, scoped and paged; a folded name lost (a
/// database from before the column) is filled again when the store migrates.
pub async fn dossiers_are_found_by_code_name_id_and_phone<S: Backend + StaffStore>(s: S) {
    let d = domain();
    let t0 = at(2025, 3, 10, 9, 0);
    let mut binh = new_dossier(CENTRE, CITY_PROC, "Trần Thị Bình");
    binh.applicant.phone = Some("0905 123 456".parse().unwrap());
    let a = s.intake(&d, binh, t0, None).await.unwrap().code.unwrap();
    s.record(&d, &a, ev(t0 + Duration::minutes(10), EventKind::Transferred { to: ag(DEPT) })).await.unwrap();
    s.record(&d, &a, ev(t0 + Duration::minutes(20), EventKind::Accepted)).await.unwrap();
    // The same citizen at the ward: the name in capitals, the phone in its +84 form.
    let mut upper = new_dossier(WARD, WARD_PROC, "TRẦN THỊ BÌNH");
    upper.applicant.phone = Some("+84905123456".parse().unwrap());
    let b = s.intake(&d, upper, t0 + Duration::hours(1), None).await.unwrap().code.unwrap();
    // Another citizen at the centre.
    let mut an = new_dossier(CENTRE, CITY_PROC, "Nguyễn Văn An");
    an.applicant.id_number = Some("048190000123".into());
    an.applicant.phone = Some("0912000111".parse().unwrap());
    let c = s.intake(&d, an, t0 + Duration::hours(2), None).await.unwrap().code.unwrap();
    // A name typed decomposed (base letters and combining marks) at the ward.
    let mut duc = new_dossier(WARD, WARD_PROC, "Tra\u{0300}n Va\u{0306}n \u{0110}u\u{031B}\u{0301}c");
    duc.applicant.id_number = None;
    duc.applicant.phone = None;
    let e = s.intake(&d, duc, t0 + Duration::hours(3), None).await.unwrap().code.unwrap();

    // By name, without marks and letter case, most recently changed first.
    let found = s.search_dossiers(&name("tran thi binh"), None, ALL).await.unwrap();
    assert_eq!((codes(&found), found.total), (vec![b.clone(), a.clone()], 2));
    assert_eq!(found.rows[1].applicant_name, "Trần Thị Bình", "rows carry the name as written");
    assert_eq!(codes(&s.search_dossiers(&name("  TRẦN   thị "), None, ALL).await.unwrap()), vec![b.clone(), a.clone()]);
    assert_eq!(codes(&s.search_dossiers(&name("van duc"), None, ALL).await.unwrap()), vec![e.clone()]);
    assert_eq!(codes(&s.search_dossiers(&name("Đức"), None, ALL).await.unwrap()), vec![e.clone()]);
    assert_eq!(codes(&s.search_dossiers(&name("binh"), Some(&[ag(DEPT)]), ALL).await.unwrap()), vec![a.clone()]);
    assert_eq!(codes(&s.search_dossiers(&name("binh"), Some(&[ag(WARD)]), ALL).await.unwrap()), vec![b.clone()]);
    assert!(s.search_dossiers(&name("binh"), Some(&[]), ALL).await.unwrap().rows.is_empty());
    // Pattern characters are letters like any other.
    assert!(s.search_dossiers(&name("n_v"), None, ALL).await.unwrap().rows.is_empty(), "_ is not a wildcard");
    assert!(s.search_dossiers(&name("%"), None, ALL).await.unwrap().rows.is_empty(), "% is not a wildcard");
    assert!(s.search_dossiers(&name("  "), None, ALL).await.unwrap().rows.is_empty());
    // Pages: every "tran", two at a time; the count is the whole list's.
    let first = s.search_dossiers(&name("tran"), None, Window { offset: 0, limit: 2 }).await.unwrap();
    assert_eq!((codes(&first), first.total), (vec![e.clone(), b.clone()], 3));
    let second = s.search_dossiers(&name("tran"), None, Window { offset: 2, limit: 2 }).await.unwrap();
    assert_eq!((codes(&second), second.total), (vec![a.clone()], 3));
    let past = s.search_dossiers(&name("tran"), None, Window { offset: 9, limit: 2 }).await.unwrap();
    assert_eq!((past.rows.len(), past.total), (0, 3));

    // By phone: the digits of the whole number, whichever form it was stored in.
    for typed in ["0905123456", "0905 123 456", "+84 905.123.456"] {
        assert_eq!(codes(&s.search_dossiers(&phone(typed), None, ALL).await.unwrap()), vec![b.clone(), a.clone()]);
    }
    assert_eq!(
        codes(&s.search_dossiers(&phone("0905123456"), Some(&[ag(CENTRE)]), ALL).await.unwrap()),
        vec![a.clone()]
    );
    assert!(s.search_dossiers(&phone("0905123"), None, ALL).await.unwrap().rows.is_empty(), "the whole number");

    // By code: whole (any letter case) or its beginning.
    assert_eq!(codes(&s.search_dossiers(&code(a.as_str()), None, ALL).await.unwrap()), vec![a.clone()]);
    assert_eq!(
        codes(&s.search_dossiers(&code(&a.as_str().to_ascii_lowercase()), None, ALL).await.unwrap()),
        vec![a.clone()]
    );
    let centre_day = s.search_dossiers(&code("000.00.02.H17-250310"), None, ALL).await.unwrap();
    assert_eq!((codes(&centre_day), centre_day.total), (vec![c.clone(), a.clone()], 2));
    assert_eq!(
        codes(&s.search_dossiers(&code("000.00.41.h17-"), None, ALL).await.unwrap()),
        vec![e.clone(), b.clone()]
    );
    assert!(s.search_dossiers(&code("000.00.02.H17-250310"), Some(&[ag(WARD)]), ALL).await.unwrap().rows.is_empty());
    for bad in ["000.00.02*", "000.00.02%", "000_00", "[0]"] {
        assert!(s.search_dossiers(&code(bad), None, ALL).await.unwrap().rows.is_empty(), "{bad}");
    }

    // By ID number, the whole number; every term given must match.
    let id = DossierSearch { id_number: Some("048190000123".into()), ..DossierSearch::default() };
    assert_eq!(codes(&s.search_dossiers(&id, None, ALL).await.unwrap()), vec![c.clone()]);
    let both = DossierSearch { applicant: Some("binh".into()), phone: Some("0905123456".into()), ..Default::default() };
    assert_eq!(codes(&s.search_dossiers(&both, None, ALL).await.unwrap()), vec![b.clone(), a.clone()]);
    let mismatch =
        DossierSearch { applicant: Some("binh".into()), id_number: Some("048190000123".into()), ..Default::default() };
    assert!(s.search_dossiers(&mismatch, None, ALL).await.unwrap().rows.is_empty());
    assert!(s.search_dossiers(&DossierSearch::default(), None, ALL).await.unwrap().rows.is_empty());
    // One matching term is enough when `any` is set; a term that cannot match is left out.
    let any =
        DossierSearch { code: Some("x*".into()), applicant: Some("van an".into()), any: true, ..Default::default() };
    assert_eq!(codes(&s.search_dossiers(&any, None, ALL).await.unwrap()), vec![c.clone()]);

    // Free text: a name, a phone number, an ID number, a code or its beginning.
    let free = |q: &str| DossierSearch::free_text(q);
    assert_eq!(codes(&s.search_dossiers(&free("tran thi binh"), None, ALL).await.unwrap()), vec![b.clone(), a.clone()]);
    assert_eq!(codes(&s.search_dossiers(&free("0905 123 456"), None, ALL).await.unwrap()), vec![b.clone(), a.clone()]);
    assert_eq!(codes(&s.search_dossiers(&free(" 048190000123 "), None, ALL).await.unwrap()), vec![c.clone()]);
    assert_eq!(codes(&s.search_dossiers(&free(c.as_str()), None, ALL).await.unwrap()), vec![c.clone()]);
    assert_eq!(codes(&s.search_dossiers(&free("000.00.41"), None, ALL).await.unwrap()), vec![e.clone(), b.clone()]);
    assert_eq!(
        codes(&s.search_dossiers(&free("048090001234"), Some(&[ag(WARD)]), ALL).await.unwrap()),
        vec![b.clone()]
    );

    // A database whose folded names are missing (written before the column) gets them back
    // when the store migrates, a thousand at a time.
    let many: Vec<motcua_store::BatchItem> = (0..1100)
        .map(|i| motcua_store::BatchItem::Intake {
            new: new_dossier(WARD, WARD_PROC, &format!("Công Dân Số {i}")),
            at: t0 + Duration::days(1) + Duration::seconds(i),
            by: None,
            backdate_reason: None,
        })
        .collect();
    for r in s.record_batch(&d, many, t0 + Duration::days(2)).await.unwrap() {
        r.unwrap();
    }
    assert_eq!(s.raw("UPDATE dossiers SET applicant_name_folded = NULL").await.unwrap(), 1104);
    assert!(s.search_dossiers(&name("tran thi binh"), None, ALL).await.unwrap().rows.is_empty());
    s.migrate().await.unwrap();
    assert_eq!(codes(&s.search_dossiers(&name("tran thi binh"), None, ALL).await.unwrap()), vec![b.clone(), a.clone()]);
    assert_eq!(s.search_dossiers(&name("cong dan so"), None, ALL).await.unwrap().total, 1100);
    assert_eq!(
        s.raw("UPDATE dossiers SET applicant_name = applicant_name WHERE applicant_name_folded IS NULL").await.unwrap(),
        0
    );
    assert!(s.recompute(&d, true).await.unwrap().is_empty(), "the projection is still the log's");
}

/// The desk's lists and the work queue, scoped by agency (or the whole city), paged and counted.
pub async fn desk_lists_and_the_work_queue_are_paged_and_counted<S: Backend + StaffStore>(s: S) {
    let d = domain();
    let t0 = at(2025, 3, 10, 9, 0);
    let intake = |agency: &str, procedure: &str, minutes: i64| {
        let (s, d) = (s.clone(), d.clone());
        let new = new_dossier(agency, procedure, "Lê Thị Hoa");
        async move { s.intake(&d, new, t0 + Duration::minutes(minutes), None).await.unwrap().code.unwrap() }
    };
    let record = |code: &DossierCode, minutes: i64, kind: EventKind| {
        let (s, d, code) = (s.clone(), d.clone(), code.clone());
        async move { s.record(&d, &code, ev(t0 + Duration::minutes(minutes), kind)).await.unwrap() }
    };
    // Sent by the centre to the department, not yet accepted.
    let sent_by_centre = intake(CENTRE, CITY_PROC, 0).await;
    record(&sent_by_centre, 5, EventKind::Transferred { to: ag(DEPT) }).await;
    // Accepted by the department, then sent back to the centre, not yet accepted there.
    let sent_by_dept = intake(CENTRE, CITY_PROC, 1).await;
    record(&sent_by_dept, 6, EventKind::Transferred { to: ag(DEPT) }).await;
    record(&sent_by_dept, 7, EventKind::Accepted).await;
    record(&sent_by_dept, 8, EventKind::Transferred { to: ag(CENTRE) }).await;
    // Resolved by the department a month later (late), not yet handed back.
    let late_result = intake(CENTRE, CITY_PROC, 2).await;
    record(&late_result, 9, EventKind::Transferred { to: ag(DEPT) }).await;
    record(&late_result, 10, EventKind::Accepted).await;
    record(
        &late_result,
        60 * 24 * 30,
        EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
    )
    .await;
    // Resolved and handed back at the ward.
    let returned = intake(WARD, WARD_PROC, 3).await;
    record(&returned, 11, EventKind::Accepted).await;
    record(
        &returned,
        12,
        EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
    )
    .await;
    record(&returned, 13, EventKind::Returned).await;
    // Waiting for a supplement (the department asked) and for a payment (the ward asked).
    let supplement = intake(CENTRE, CITY_PROC, 4).await;
    record(&supplement, 14, EventKind::Transferred { to: ag(DEPT) }).await;
    record(&supplement, 15, EventKind::Accepted).await;
    let documents = vec!["Bản sao hộ chiếu".to_string()];
    record(
        &supplement,
        16,
        EventKind::SupplementRequested { reason: "thiếu giấy tờ".into(), documents, reason_code: None },
    )
    .await;
    let payment = intake(WARD, WARD_PROC, 5).await;
    record(&payment, 17, EventKind::Accepted).await;
    record(&payment, 18, EventKind::PaymentRequested { reason: "lệ phí".into(), amount_vnd: None }).await;
    // In progress at the ward.
    let at_ward = intake(WARD, WARD_PROC, 6).await;
    // A payment asked for after the due date: still overdue, not "waiting for the citizen".
    let asked_late = intake(WARD, WARD_PROC, 7).await;
    record(&asked_late, 19, EventKind::Accepted).await;
    record(&asked_late, 60 * 24 * 10, EventKind::PaymentRequested { reason: "lệ phí".into(), amount_vnd: None }).await;

    let list = |l: DeskList, scope: Scope<'static>| {
        let s = s.clone();
        async move { s.desk_list(l, scope, ALL).await.unwrap() }
    };
    static CENTRE_ONLY: std::sync::LazyLock<Vec<motcua_core::AgencyCode>> =
        std::sync::LazyLock::new(|| vec![ag(CENTRE)]);
    static DEPT_ONLY: std::sync::LazyLock<Vec<motcua_core::AgencyCode>> = std::sync::LazyLock::new(|| vec![ag(DEPT)]);
    static WARD_ONLY: std::sync::LazyLock<Vec<motcua_core::AgencyCode>> = std::sync::LazyLock::new(|| vec![ag(WARD)]);
    let centre = Scope::Agencies(CENTRE_ONLY.as_slice());
    let dept = Scope::Agencies(DEPT_ONLY.as_slice());
    let ward = Scope::Agencies(WARD_ONLY.as_slice());

    // Sent by us, not yet accepted: by the sender, with the sender and the instant.
    let sent = list(DeskList::Sent, centre).await;
    assert_eq!((codes(&sent), sent.total), (vec![sent_by_centre.clone()], 1));
    assert_eq!(sent.rows[0].handoff_from, Some(ag(CENTRE)));
    assert_eq!(sent.rows[0].handoff_sent_at, Some(t0 + Duration::minutes(5)));
    assert_eq!(sent.rows[0].holder, Some(ag(DEPT)));
    let sent = list(DeskList::Sent, dept).await;
    assert_eq!(codes(&sent), vec![sent_by_dept.clone()]);
    assert_eq!(sent.rows[0].handoff_from, Some(ag(DEPT)));
    assert_eq!(codes(&list(DeskList::Sent, Scope::City).await), vec![sent_by_centre.clone(), sent_by_dept.clone()]);
    assert!(list(DeskList::Sent, ward).await.rows.is_empty());

    // Results ready to hand back: received (the centre) or held (the department), late too.
    for scope in [centre, dept, Scope::City] {
        let ready = list(DeskList::Ready, scope).await;
        assert_eq!((codes(&ready), ready.total), (vec![late_result.clone()], 1), "{scope:?}");
        assert_eq!(ready.rows[0].timeliness, Some(Timeliness::Late));
    }
    assert!(list(DeskList::Ready, ward).await.rows.is_empty(), "handed back");

    // Waiting for the citizen with the clock stopped: received or held; the late request is not.
    assert_eq!(codes(&list(DeskList::Waiting, centre).await), vec![supplement.clone()]);
    assert_eq!(codes(&list(DeskList::Waiting, dept).await), vec![supplement.clone()]);
    assert_eq!(codes(&list(DeskList::Waiting, ward).await), vec![payment.clone()]);
    let waiting = list(DeskList::Waiting, Scope::City).await;
    assert_eq!((codes(&waiting), waiting.total), (vec![supplement.clone(), payment.clone()], 2));
    let page2 = s.desk_list(DeskList::Waiting, Scope::City, Window { offset: 1, limit: 1 }).await.unwrap();
    assert_eq!((codes(&page2), page2.total), (vec![payment.clone()], 2));
    assert_eq!(s.desk_list(DeskList::Waiting, Scope::Agencies(&[]), ALL).await.unwrap(), Paged::empty());

    // Online submissions waiting at their desk.
    let mut portal = new_dossier(WARD, WARD_PROC, "Lê Thị Hoa");
    (portal.online, portal.channel) = (true, motcua_core::Channel::Online);
    let portal = s.intake(&d, portal, t0 + Duration::minutes(40), None).await.unwrap().code.unwrap();
    assert_eq!(codes(&list(DeskList::Online, ward).await), vec![portal.clone()]);
    assert_eq!(codes(&list(DeskList::Online, Scope::City).await), vec![portal.clone()]);
    assert!(list(DeskList::Online, centre).await.rows.is_empty());

    // The work queue: open dossiers of the holders, earliest due first, waits last (the late
    // request is overdue, among the first).
    let queue = s.work_queue(Scope::City, ALL).await.unwrap();
    assert_eq!(queue.total, 6);
    let (running, waits) = queue.rows.split_at(4);
    assert_eq!(codes(&Paged { total: 2, rows: waits.to_vec() }), vec![payment.clone(), supplement.clone()]);
    assert!(running.windows(2).all(|w| w[0].due_at <= w[1].due_at), "earliest due first");
    assert_eq!((&running[0].code, &running[1].code), (&at_ward, &asked_late), "three-day ward procedures first");
    assert_eq!(running[1].waiting_kind, Some(motcua_core::deadlines::WaitKind::Payment));
    assert_eq!(codes(&s.work_queue(dept, ALL).await.unwrap()), vec![sent_by_centre.clone(), supplement.clone()]);
    assert_eq!(codes(&s.work_queue(centre, ALL).await.unwrap()), vec![sent_by_dept.clone()]);
    let page = s.work_queue(Scope::City, Window { offset: 3, limit: 10 }).await.unwrap();
    assert_eq!((page.rows.len(), page.total), (3, 6));
    assert_eq!(s.work_queue(Scope::Agencies(&[]), ALL).await.unwrap(), Paged::empty());

    // The sender and the instant of a pending transfer are the log's; acceptance clears them.
    assert!(s.recompute(&d, true).await.unwrap().is_empty(), "the projection is the log's");
    // Rows written before version 18 get them from the log, by the migration's own statement.
    assert_eq!(s.raw("UPDATE dossiers SET handoff_from = NULL, handoff_sent_at = NULL").await.unwrap(), 9);
    assert!(!s.recompute(&d, true).await.unwrap().is_empty());
    let backfill = migration_statement(s.migrations(), "0018_findable.sql", "UPDATE dossiers SET");
    assert_eq!(s.raw(&backfill).await.unwrap(), 2, "the two pending transfers");
    assert!(s.recompute(&d, true).await.unwrap().is_empty(), "the migration reads what core computes");
    record(&sent_by_centre, 30, EventKind::Accepted).await;
    assert!(list(DeskList::Sent, centre).await.rows.is_empty());
    let row = s.dossier_row(&sent_by_centre).await.unwrap().unwrap();
    assert_eq!((row.handoff_pending, row.handoff_from, row.handoff_sent_at), (false, None, None));
}
