//! What the scorecard needs of each dossier — fee, payment method, electronic result, digitised
//! papers, portal sync, delay reason — projected from its events exactly as core replays them;
//! old dossiers without those events keep NULL ("not recorded"), and `recompute` fills the
//! columns of a database migrated from before them.

use motcua_core::{DomainError, DossierCode, Event, EventKind, Intake, Outcome, PaymentMethod};
use motcua_store::{BatchItem, DossierRow, StoreError};

use super::support::*;

fn ev(at: chrono::DateTime<chrono::Utc>, kind: EventKind) -> Event {
    Event::new(at, Some("officer".into()), kind)
}

/// The projection row equals core's replay of the dossier's log.
async fn row_is_the_replay<S: Backend>(s: &S, code: &DossierCode) -> DossierRow {
    let d = domain();
    let events = s.events(code).await.unwrap();
    let want = DossierRow::from_dossier(&d, &d.replay(&events).unwrap()).unwrap();
    let row = s.dossier_row(code).await.unwrap().unwrap();
    assert_eq!(row, want, "{code}");
    row
}

pub async fn scorecard_data_is_projected_as_core_replays_it<S: Backend>(s: S) {
    let d = domain();
    // Received at the ward with the form digitised at intake; 15 000 VND in the catalog.
    let mut new = new_dossier(WARD, WARD_PROC, "Trần Thị Lan");
    new.digitised = Some(vec!["Tờ khai".into()]);
    let c = s.intake(&d, new, at(2025, 3, 3, 8, 0), None).await.unwrap().code.unwrap();
    let row = row_is_the_replay(&s, &c).await;
    assert_eq!((row.digitised, row.fee_vnd, row.payment_method, row.electronic_result), (Some(1), None, None, None));
    assert_eq!((row.synced_at, row.delay_reason.as_deref()), (None, None));
    s.record(&d, &c, ev(at(2025, 3, 3, 8, 30), EventKind::Accepted)).await.unwrap();
    let digitised = EventKind::Digitised { documents: vec!["Tờ khai".into(), "Giấy khai sinh".into()] };
    s.record(&d, &c, ev(at(2025, 3, 3, 8, 35), digitised)).await.unwrap();
    let supplement = EventKind::SupplementRequested {
        reason: "Thiếu giấy khai sinh bản sao".into(),
        documents: vec![],
        reason_code: Some("citizen_incomplete".into()),
    };
    s.record(&d, &c, ev(at(2025, 3, 3, 9, 0), supplement)).await.unwrap();
    let row = row_is_the_replay(&s, &c).await;
    assert_eq!((row.digitised, row.delay_reason.as_deref()), (Some(2), Some("citizen_incomplete")));
    s.record(&d, &c, ev(at(2025, 3, 4, 9, 0), EventKind::SupplementSupplied)).await.unwrap();
    // No amount typed: the catalog's fixed fee is written into the event.
    let ask = EventKind::PaymentRequested { reason: "Lệ phí".into(), amount_vnd: None };
    s.record(&d, &c, ev(at(2025, 3, 4, 9, 30), ask)).await.unwrap();
    let events = s.events(&c).await.unwrap();
    assert_eq!(
        events.last().unwrap().kind,
        EventKind::PaymentRequested { reason: "Lệ phí".into(), amount_vnd: Some(15_000) }
    );
    let paid = EventKind::Paid { method: Some(PaymentMethod::Online), receipt: Some("QR-0001".into()) };
    s.record(&d, &c, ev(at(2025, 3, 4, 10, 0), paid)).await.unwrap();
    s.record(&d, &c, ev(at(2025, 3, 4, 10, 5), EventKind::SyncedToPortal)).await.unwrap();
    let done =
        EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: Some(true), reason_code: None };
    s.record(&d, &c, ev(at(2025, 3, 4, 15, 0), done)).await.unwrap();
    // A second sync keeps the first instant.
    s.record(&d, &c, ev(at(2025, 3, 5, 8, 0), EventKind::SyncedToPortal)).await.unwrap();
    let row = row_is_the_replay(&s, &c).await;
    assert_eq!(row.fee_vnd, Some(15_000));
    assert_eq!(row.payment_method, Some(PaymentMethod::Online));
    assert_eq!(row.paid_at, Some(at(2025, 3, 4, 10, 0)));
    assert_eq!(row.electronic_result, Some(true));
    assert_eq!(row.synced_at, Some(at(2025, 3, 4, 10, 5)));
    assert_eq!(row.delay_reason.as_deref(), Some("citizen_incomplete"));

    // A zero fee is a fee; an exemption is a method.
    let c0 = s.intake(&d, new_dossier(WARD, WARD_PROC, "Lê Văn Nam"), at(2025, 3, 3, 8, 10), None).await.unwrap();
    let c0 = c0.code.unwrap();
    s.record(&d, &c0, ev(at(2025, 3, 3, 8, 40), EventKind::Accepted)).await.unwrap();
    let zero = EventKind::PaymentRequested { reason: String::new(), amount_vnd: Some(0) };
    s.record(&d, &c0, ev(at(2025, 3, 3, 9, 0), zero)).await.unwrap();
    let exempt = EventKind::Paid { method: Some(PaymentMethod::Exempt), receipt: None };
    s.record(&d, &c0, ev(at(2025, 3, 3, 9, 5), exempt)).await.unwrap();
    let stop = EventKind::Stopped { reason: "Cần xác minh".into(), reason_code: Some("site_inspection".into()) };
    s.record(&d, &c0, ev(at(2025, 3, 3, 10, 0), stop)).await.unwrap();
    let row = row_is_the_replay(&s, &c0).await;
    assert_eq!((row.fee_vnd, row.payment_method), (Some(0), Some(PaymentMethod::Exempt)));
    assert_eq!((row.electronic_result, row.digitised), (None, None), "a stop issues no result; nothing was said");
    assert_eq!(row.delay_reason.as_deref(), Some("site_inspection"));

    // A procedure whose fee is a list of options: an amount must be typed; refused, nothing written.
    let p = "2.000815";
    let c2 = s.intake(&d, new_dossier(WARD, p, "Phạm Thị Hoa"), at(2025, 3, 3, 8, 20), None).await.unwrap();
    let c2 = c2.code.unwrap();
    s.record(&d, &c2, ev(at(2025, 3, 3, 8, 50), EventKind::Accepted)).await.unwrap();
    let before = s.events(&c2).await.unwrap().len();
    let err = s
        .record(
            &d,
            &c2,
            ev(at(2025, 3, 3, 9, 0), EventKind::PaymentRequested { reason: String::new(), amount_vnd: None }),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Rejected(DomainError::FeeToChoose { .. })), "{err:?}");
    assert_eq!(s.events(&c2).await.unwrap().len(), before);
    row_is_the_replay(&s, &c2).await;
}

pub async fn old_dossiers_stay_unknown_and_recompute_fills_a_migrated_database<S: Backend>(s: S) {
    let d = domain();
    // History in the shape of a log from before these events: no amount, no method, no
    // electronic flag, no reason code, no digitisation.
    let c: DossierCode = "000.00.41.H17-250303-0009".parse().unwrap();
    let intake = Intake {
        code: c.clone(),
        procedure: WARD_PROC.parse().unwrap(),
        agency: ag(WARD),
        applicant: new_dossier(WARD, WARD_PROC, "Ngô Văn Lợi").applicant,
        channel: motcua_core::Channel::InPerson,
        documents: Vec::new(),
        digitised: None,
    };
    let old = [
        ev(at(2025, 3, 3, 9, 0), EventKind::Received { intake }),
        ev(at(2025, 3, 3, 9, 30), EventKind::Accepted),
        ev(at(2025, 3, 3, 10, 0), EventKind::PaymentRequested { reason: "Lệ phí".into(), amount_vnd: None }),
        ev(at(2025, 3, 3, 11, 0), EventKind::Paid { method: None, receipt: None }),
        ev(
            at(2025, 3, 4, 9, 0),
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
        ),
    ];
    let items = old.iter().map(|e| BatchItem::Record { code: c.clone(), event: e.clone() }).collect();
    let results = s.record_history(&d, items, at(2025, 3, 31, 9, 0)).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:#?}");
    // History is taken as it was: no catalog fee is put into the old request.
    assert_eq!(s.events(&c).await.unwrap(), old);
    let row = row_is_the_replay(&s, &c).await;
    assert_eq!(
        (row.fee_vnd, row.payment_method, row.electronic_result, row.digitised, row.delay_reason),
        (None, None, None, None, None),
        "unknown, never zero, never a method"
    );
    assert_eq!(row.paid_at, Some(at(2025, 3, 3, 11, 0)), "when it was paid is known");

    // A dossier with the new events, its columns emptied as migration 25 leaves an old row.
    let mut new = new_dossier(WARD, WARD_PROC, "Đỗ Thị Mai");
    new.digitised = Some(vec![]);
    let n = s.intake(&d, new, at(2025, 3, 5, 8, 0), None).await.unwrap().code.unwrap();
    s.record(&d, &n, ev(at(2025, 3, 5, 8, 30), EventKind::Accepted)).await.unwrap();
    let ask = EventKind::PaymentRequested { reason: String::new(), amount_vnd: Some(20_000) };
    s.record(&d, &n, ev(at(2025, 3, 5, 9, 0), ask)).await.unwrap();
    let paid = EventKind::Paid { method: Some(PaymentMethod::Cash), receipt: Some("BL 12".into()) };
    s.record(&d, &n, ev(at(2025, 3, 5, 9, 10), paid)).await.unwrap();
    let refused = EventKind::Resolved {
        outcome: Outcome::Refused,
        reason: Some("Không đủ điều kiện".into()),
        electronic: Some(false),
        reason_code: Some("other".into()),
    };
    s.record(&d, &n, ev(at(2025, 3, 5, 10, 0), refused)).await.unwrap();
    let filled = row_is_the_replay(&s, &n).await;
    assert_eq!(filled.digitised, Some(0), "said: none digitised");
    s.raw(
        "UPDATE dossiers SET fee_vnd = NULL, payment_method = NULL, paid_at = NULL, electronic_result = NULL, \
         digitised = NULL, synced_at = NULL, delay_reason = NULL",
    )
    .await
    .unwrap();
    let emptied = s.dossier_row(&n).await.unwrap().unwrap();
    assert_eq!((emptied.fee_vnd, emptied.payment_method, emptied.delay_reason), (None, None, None));
    let diff = s.recompute(&d, true).await.unwrap();
    let changed: Vec<(&DossierCode, Vec<&str>)> =
        diff.changed.iter().map(|c| (&c.code, c.fields.iter().map(|f| f.field).collect())).collect();
    // The old dossier gets back only when it was paid; the new one everything its events say.
    assert_eq!(
        changed,
        [
            (&c, vec!["paid_at"]),
            (&n, vec!["fee_vnd", "payment_method", "paid_at", "electronic_result", "digitised", "delay_reason"])
        ],
        "{diff:?}"
    );
    s.recompute(&d, false).await.unwrap();
    assert_eq!(s.dossier_row(&n).await.unwrap().unwrap(), filled);
    row_is_the_replay(&s, &c).await;
    assert!(s.recompute(&d, true).await.unwrap().is_empty());
}

/// `record_all`: an acceptance and the papers digitised at it are written together, in order,
/// at one recorded instant; when core refuses any of the events, none is written (the log, the
/// projection and the scorecard's sums are as before) and that refusal is the answer.
pub async fn an_acceptance_and_its_digitised_papers_are_written_all_or_none<S: Backend>(s: S) {
    let d = domain();
    let c = s.intake(&d, new_dossier(WARD, WARD_PROC, "Lê Văn Tư"), at(2025, 3, 3, 8, 0), None).await.unwrap();
    let c = c.code.unwrap();
    let row_before = s.dossier_row(&c).await.unwrap().unwrap();
    let count_before = s.event_count().await.unwrap();
    // The second acceptance of a dossier already taken into processing: refused, and the first
    // is not kept either.
    let twice = vec![ev(at(2025, 3, 3, 8, 30), EventKind::Accepted), ev(at(2025, 3, 3, 8, 30), EventKind::Accepted)];
    let err = s.record_all(&d, &c, twice, at(2025, 3, 3, 8, 31)).await.unwrap_err();
    assert!(matches!(err, StoreError::Rejected(DomainError::Dossier(_))), "{err:?}");
    assert_eq!(s.event_count().await.unwrap(), count_before, "nothing written");
    assert_eq!(s.dossier_row(&c).await.unwrap().unwrap(), row_before, "the projection as before");
    // Accepted, then digitised: both, in order.
    let digitised = EventKind::Digitised { documents: vec!["Tờ khai".into()] };
    let pair = vec![ev(at(2025, 3, 3, 8, 30), EventKind::Accepted), ev(at(2025, 3, 3, 8, 30), digitised.clone())];
    let after = s.record_all(&d, &c, pair, at(2025, 3, 3, 8, 31)).await.unwrap();
    assert_eq!((after.event_count, after.digitised), (3, Some(1)));
    let logged = s.logged_events(&c).await.unwrap();
    let kinds: Vec<&EventKind> = logged.iter().map(|l| &l.event.kind).collect();
    assert_eq!(kinds, [&logged[0].event.kind, &EventKind::Accepted, &digitised]);
    assert!(logged[1..].iter().all(|l| l.recorded_at == at(2025, 3, 3, 8, 31)));
    let row = row_is_the_replay(&s, &c).await;
    assert_eq!(row.digitised, Some(1));
}
