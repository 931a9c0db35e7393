//! History brought in (`Store::record_history`): quiet, idempotent, and the dossiers it leaves
//! past due are left to a person rather than to the automatic apology.

use motcua_core::{DossierCode, Event, EventKind, Intake, Outcome};
use motcua_store::{BatchItem, OutboxStore, StoreError};

use super::support::*;

fn code(s: &str) -> DossierCode {
    s.parse().unwrap()
}

fn received(c: &DossierCode, at: chrono::DateTime<chrono::Utc>) -> BatchItem {
    let intake = Intake {
        code: c.clone(),
        procedure: WARD_PROC.parse().unwrap(),
        agency: ag(WARD),
        applicant: new_dossier(WARD, WARD_PROC, "Lê Văn Tám").applicant,
        channel: motcua_core::Channel::InPerson,
        documents: Vec::new(),
        digitised: None,
    };
    BatchItem::Record { code: c.clone(), event: Event::new(at, Some("officer".into()), EventKind::Received { intake }) }
}

fn accepted(c: &DossierCode, at: chrono::DateTime<chrono::Utc>) -> BatchItem {
    BatchItem::Record { code: c.clone(), event: Event::new(at, Some("officer".into()), EventKind::Accepted) }
}

fn resolved(c: &DossierCode, at: chrono::DateTime<chrono::Utc>) -> BatchItem {
    let kind = EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None };
    BatchItem::Record { code: c.clone(), event: Event::new(at, Some("officer".into()), kind) }
}

pub async fn history_is_quiet_idempotent_and_leaves_the_overdue_to_a_person<S: Backend + OutboxStore>(s: S) {
    let d = domain();
    // Three working days at the ward: received 3/3 and still open on 31/3, overdue; finished
    // in time; received 28/3, still in time on 31/3.
    let late = code("000.00.41.H17-250303-0001");
    let done = code("000.00.41.H17-250303-0002");
    let fresh = code("000.00.41.H17-250328-0001");
    let arrival = at(2025, 3, 31, 9, 0);
    let items = || {
        vec![
            received(&late, at(2025, 3, 3, 9, 0)),
            accepted(&late, at(2025, 3, 3, 10, 0)),
            received(&done, at(2025, 3, 3, 9, 30)),
            accepted(&done, at(2025, 3, 3, 10, 30)),
            resolved(&done, at(2025, 3, 4, 10, 0)),
            received(&fresh, at(2025, 3, 28, 9, 0)),
        ]
    };
    let results = s.record_history(&d, items(), arrival).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:#?}");
    assert_eq!(s.event_count().await.unwrap(), 6);
    assert!(s.outbox(None, 100).await.unwrap().is_empty(), "history queues no message");
    // The same history again: every event already present, nothing written.
    let again = s.record_history(&d, items(), arrival).await.unwrap();
    let seqs: Vec<u32> = again
        .iter()
        .map(|r| match r {
            Err(StoreError::AlreadyPresent { seq, .. }) => *seq,
            other => panic!("expected already present, got {other:?}"),
        })
        .collect();
    assert_eq!(seqs, [1, 2, 1, 2, 3, 1]);
    assert_eq!(s.event_count().await.unwrap(), 6);
    // A conflicting event (another instant) is not "already present": core judges it.
    let conflict = s.record_history(&d, vec![resolved(&done, at(2025, 3, 4, 11, 0))], arrival).await.unwrap();
    assert!(matches!(conflict[0], Err(StoreError::Rejected(_))), "{conflict:?}");
    // Through the desk's path, the same event twice is core's to refuse, not skipped.
    let desk = s.record_batch(&d, vec![resolved(&done, at(2025, 3, 4, 10, 0))], arrival).await.unwrap();
    assert!(matches!(desk[0], Err(StoreError::Rejected(_))), "{desk:?}");
    // The overdue import is left to a person: listed, and not an apology candidate.
    let listed = s.imported_overdue(arrival, &[], 10).await.unwrap();
    assert_eq!(listed.iter().map(|r| &r.code).collect::<Vec<_>>(), [&late]);
    assert_eq!(s.imported_overdue(arrival, &[ag(WARD)], 10).await.unwrap().len(), 1);
    assert!(s.imported_overdue(arrival, &[ag(CENTRE)], 10).await.unwrap().is_empty());
    let later = at(2025, 4, 10, 9, 0);
    let candidates = s.overdue_candidates(later, None, 100).await.unwrap();
    let codes: Vec<DossierCode> = candidates.iter().map(|c| c.code.clone()).collect();
    assert!(!codes.contains(&late), "{codes:?}");
    // The dossier in time at the arrival falls due while motcua runs: the apology applies.
    assert!(codes.contains(&fresh), "{codes:?}");
    // A dossier received at the desk and past due is a candidate as always.
    let desk = s.intake(&d, new_dossier(WARD, WARD_PROC, "B"), at(2025, 3, 3, 10, 0), None).await.unwrap();
    let codes: Vec<DossierCode> =
        s.overdue_candidates(later, None, 100).await.unwrap().into_iter().map(|c| c.code).collect();
    assert!(codes.contains(desk.code.as_ref().unwrap()), "{codes:?}");
    // Once its due instant moves (a later event), the mark no longer holds it back.
    let supplement = Event::new(
        at(2025, 4, 1, 9, 0),
        Some("officer".into()),
        EventKind::SupplementRequested {
            reason: "Thiếu giấy tờ".into(), documents: Vec::new(), reason_code: None
        },
    );
    s.record(&d, &late, supplement).await.unwrap();
    s.record(&d, &late, Event::new(at(2025, 4, 2, 9, 0), None, EventKind::SupplementSupplied)).await.unwrap();
    let row = s.dossier_row(&late).await.unwrap().unwrap();
    assert!(s.imported_overdue(later, &[], 10).await.unwrap().iter().all(|r| r.code != late));
    assert!(row.due_at.is_some_and(|due| due > arrival && due < later), "{row:?}");
    let codes: Vec<DossierCode> =
        s.overdue_candidates(later, None, 100).await.unwrap().into_iter().map(|c| c.code).collect();
    assert!(codes.contains(&late), "{codes:?}");
}
