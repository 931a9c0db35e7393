//! Petitions, complaints and denunciations on both backends: codes per kind and day, the next
//! step and its due instant in the projection, routing a complaint about a dossier to the agency
//! its lateness is attributed to, transfer, an answer on time and one late, a rejected command
//! that writes nothing, the append-only log, the list by urgency and the report.

use chrono::Duration;
use motcua_core::Applicant;
use motcua_core::petition::{
    self, Complexity, ItemChannel, ItemCode, ItemEvent, ItemEventKind, ItemStatus, Kind, NextStep, RuleSet,
};
use motcua_store::{ItemFilter, ItemReport, NewItem, PetitionStore, ReportBy, StoreError};

use super::support::*;

fn new_item(kind: Kind, agency: &str, dossier: Option<motcua_core::DossierCode>) -> NewItem {
    NewItem {
        kind,
        agency: ag(agency),
        applicant: Applicant {
            name: "Trần Thị Cúc".into(),
            email: Some("cuc.tran@example.vn".parse().unwrap()),
            ..Applicant::default()
        },
        text: "Hồ sơ của tôi đã quá hạn mà chưa có kết quả.".into(),
        dossier,
        channel: ItemChannel::Online,
    }
}

fn ev(t: chrono::DateTime<chrono::Utc>, kind: ItemEventKind) -> ItemEvent {
    ItemEvent::new(t, Some("officer".into()), kind)
}

pub async fn petitions_are_filed_routed_answered_and_reported<S: Backend + PetitionStore>(s: S) {
    let d = domain();
    // A dossier held by the centre far past its budget: its lateness is the centre's, though the
    // procedure's lead agency is the department.
    let t0 = at(2026, 6, 1, 9, 0);
    let late = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Lê Văn Dũng"), t0, Some("desk".into())).await.unwrap();
    let late_code = late.code.clone().unwrap();
    let fresh = s.intake(&d, new_dossier(CENTRE, CITY_PROC, "Lê Văn Em"), t0, Some("desk".into())).await.unwrap();
    let as_of = at(2026, 6, 22, 9, 0);
    let replayed = d.replay(&s.events(&late_code).await.unwrap()).unwrap();
    assert_eq!(petition::route_for_dossier(&d, &replayed, as_of), Some(ag(CENTRE)), "the agency that overran");
    assert_eq!(petition::route_for_dossier(&d, &fresh, t0), Some(ag(DEPT)), "no lateness: the lead agency");

    // Filing: codes per kind and local day; rules by receipt; the next step's due instant.
    let t1 = at(2026, 6, 22, 10, 0);
    let c1 = s.file_item(&d, new_item(Kind::Complaint, CENTRE, Some(late_code.clone())), t1, None, t1).await.unwrap();
    let c2 = s.file_item(&d, new_item(Kind::Complaint, CENTRE, None), t1, None, t1).await.unwrap();
    let p1 = s.file_item(&d, new_item(Kind::Petition, DEPT, None), t1, Some("desk".into()), t1).await.unwrap();
    let code1 = c1.code.clone().unwrap();
    assert_eq!(code1.as_str(), "KN-260622-0001");
    assert_eq!(c2.code.as_ref().unwrap().as_str(), "KN-260622-0002");
    assert_eq!(p1.code.as_ref().unwrap().as_str(), "PA-260622-0001");
    assert_eq!(c1.rules, Some(RuleSet::Laws2011));
    // Mon 22/6/2026 + 10 days = Thu 2/7/2026, closing.
    assert_eq!(c1.next_step(), Some((NextStep::Decide, at(2026, 7, 2, 17, 0))));
    let row = s.item_row(&code1).await.unwrap().unwrap();
    assert_eq!(
        (row.status, row.next_step, row.next_due_at),
        (ItemStatus::Received, Some(NextStep::Decide), Some(at(2026, 7, 2, 17, 0)))
    );
    assert_eq!(row.dossier_code.as_deref(), Some(late_code.as_str()));
    // A complaint filed from 1/7/2026 is accepted within 7 working days.
    let t2 = at(2026, 7, 1, 9, 0);
    let c3 = s.file_item(&d, new_item(Kind::Complaint, WARD, None), t2, None, t2).await.unwrap();
    assert_eq!(c3.rules, Some(RuleSet::Law136));
    assert_eq!(c3.next_step(), Some((NextStep::Decide, at(2026, 7, 10, 17, 0))));

    // A rejected command writes nothing: an answer before acceptance.
    let refused =
        s.record_item(&d, &code1, ev(t1 + Duration::hours(1), ItemEventKind::Answered { text: "x".into() }), t1).await;
    assert!(matches!(refused, Err(StoreError::ItemRejected(_))), "{refused:?}");
    assert_eq!(s.item_events(&code1).await.unwrap().len(), 1);
    let unknown = s.record_item(&d, &"KN-260622-0099".parse().unwrap(), ev(t1, ItemEventKind::Resumed), t1).await;
    assert!(matches!(unknown, Err(StoreError::ItemNotFound(_))));
    let nowhere = ItemEventKind::Transferred { to: ag("999.99.99.H99"), reason: None };
    assert!(s.record_item(&d, &code1, ev(t1 + Duration::hours(1), nowhere), t1).await.is_err());

    // Transfer, accept, answer on time; the other is accepted and answered late.
    let t3 = at(2026, 6, 23, 9, 0);
    s.record_item(
        &d,
        &code1,
        ev(t3, ItemEventKind::Transferred { to: ag(DEPT), reason: Some("thẩm quyền".into()) }),
        t3,
    )
    .await
    .unwrap();
    let acc = s
        .record_item(
            &d,
            &code1,
            ev(t3 + Duration::hours(1), ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
            t3,
        )
        .await
        .unwrap();
    // Accepted Tue 23/6 + 30 days = Thu 23/7/2026.
    assert_eq!(acc.next_step(), Some((NextStep::Resolve, at(2026, 7, 23, 17, 0))));
    let done = s
        .record_item(
            &d,
            &code1,
            ev(at(2026, 7, 20, 9, 0), ItemEventKind::Answered { text: "Đã trả kết quả, xin lỗi công dân.".into() }),
            t3,
        )
        .await
        .unwrap();
    assert_eq!(done.resolve_late, Some(false));
    s.record_item(&d, &code1, ev(at(2026, 7, 21, 9, 0), ItemEventKind::Rated { satisfied: true }), t3).await.unwrap();
    let row = s.item_row(&code1).await.unwrap().unwrap();
    assert_eq!(row.agency, ag(DEPT));
    assert_eq!(row.status, ItemStatus::Answered);
    assert_eq!(row.answer.as_deref(), Some("Đã trả kết quả, xin lỗi công dân."));
    assert_eq!((row.next_step, row.next_due_at, row.satisfied, row.event_count), (None, None, Some(true), 5));
    assert_eq!(s.item_events(&code1).await.unwrap().len(), 5);

    let code2 = c2.code.clone().unwrap();
    s.record_item(
        &d,
        &code2,
        ev(at(2026, 7, 3, 9, 0), ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
        t3,
    )
    .await
    .unwrap();
    let late_answer = s
        .record_item(&d, &code2, ev(at(2026, 8, 20, 9, 0), ItemEventKind::Answered { text: "Trả lời".into() }), t3)
        .await
        .unwrap();
    let row2 = s.item_row(&code2).await.unwrap().unwrap();
    assert_eq!((late_answer.decide_late, row2.decide_late, row2.resolve_late), (Some(true), Some(true), Some(true)));
    let code3 = p1.code.clone().unwrap();
    s.record_item(
        &d,
        &code3,
        ev(
            at(2026, 6, 24, 9, 0),
            ItemEventKind::Forwarded { to: "Sở Xây dựng".into(), reason: "ngoài thẩm quyền".into() },
        ),
        t3,
    )
    .await
    .unwrap();

    // The log is append-only.
    assert!(s.raw("UPDATE petition_events SET kind = 'x'").await.is_err());
    assert!(s.raw("DELETE FROM petition_events").await.is_err());

    // Listing: open ones by urgency; by agency; by dossier.
    let open = s.items(&ItemFilter { open: true, limit: 50, ..ItemFilter::default() }).await.unwrap();
    assert_eq!(open.iter().map(|r| r.code.clone()).collect::<Vec<ItemCode>>(), vec![c3.code.clone().unwrap()]);
    let dept =
        s.items(&ItemFilter { agencies: Some(vec![ag(DEPT)]), limit: 50, ..ItemFilter::default() }).await.unwrap();
    assert_eq!(dept.len(), 2);
    let about =
        s.items(&ItemFilter { dossier: Some(late_code.clone()), limit: 50, ..ItemFilter::default() }).await.unwrap();
    assert_eq!(about.len(), 1);
    let complaints =
        s.items(&ItemFilter { kind: Some(Kind::Complaint), limit: 50, ..ItemFilter::default() }).await.unwrap();
    assert_eq!(complaints.len(), 3);

    // The report over the items received in June and July 2026.
    let rows = s.items_received_between(at(2026, 6, 1, 0, 0), at(2026, 8, 1, 0, 0)).await.unwrap();
    let report = ItemReport::build(day(2026, 6, 1), day(2026, 7, 31), &rows, Some(ReportBy::Month));
    let t = report.total;
    assert_eq!((t.received, t.complaints, t.petitions, t.accepted, t.forwarded, t.open), (4, 3, 1, 2, 1, 1));
    assert_eq!((t.resolved_on_time, t.resolved_late), (1, 1));
    assert_eq!(
        report.rows.iter().map(|(k, t)| (k.as_str(), t.received)).collect::<Vec<_>>(),
        vec![("2026-06", 3), ("2026-07", 1)]
    );
    assert_eq!(t.rate_of_accepted().percent(1.0), "100.00 %");
    assert_eq!(t.rate_of_received().percent(1.0), "75.00 %");

    // The dossier's own log is untouched by its complaint.
    assert_eq!(s.events(&late_code).await.unwrap().len(), 1);
}

/// The messages an item's event implies are in the outbox with the event (the citizen's
/// e-mail, or the desk's print queue without an address); a rejected event queues nothing; the
/// scheduler's candidates are the open items due in a window.
pub async fn petition_messages_are_written_with_their_event<S: Backend + PetitionStore + motcua_store::OutboxStore>(
    s: S,
) {
    let d = domain();
    let t1 = at(2026, 7, 6, 9, 0);
    let c = s.file_item(&d, new_item(Kind::Complaint, WARD, None), t1, None, t1).await.unwrap();
    let code = c.code.clone().unwrap();
    let mut no_mail = new_item(Kind::Petition, WARD, None);
    no_mail.applicant.email = None;
    let p = s.file_item(&d, no_mail, t1, None, t1).await.unwrap();
    let pcode = p.code.clone().unwrap();
    let kinds = |rows: Vec<motcua_store::OutboxMessage>| {
        rows.into_iter().filter(|m| m.kind.starts_with("petition_")).map(|m| (m.kind, m.recipient)).collect::<Vec<_>>()
    };
    assert!(kinds(s.outbox(None, 100).await.unwrap()).is_empty(), "filing queues nothing");
    let accept = ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false };
    s.record_item(&d, &code, ev(t1 + Duration::hours(1), accept.clone()), t1).await.unwrap();
    // A second acceptance is refused and queues nothing more.
    assert!(s.record_item(&d, &code, ev(t1 + Duration::hours(2), accept), t1).await.is_err());
    let guided =
        ItemEventKind::Guided { to: "Tòa án nhân dân thành phố".into(), reason: "Ngoài thẩm quyền".into() };
    s.record_item(&d, &pcode, ev(t1 + Duration::hours(1), guided), t1).await.unwrap();
    let ext = ItemEventKind::Extended { reason: "Vụ việc phức tạp".into(), complexity: None };
    s.record_item(&d, &code, ev(t1 + Duration::hours(3), ext), t1).await.unwrap();
    let mut got = kinds(s.outbox(None, 100).await.unwrap());
    got.sort();
    assert_eq!(
        got,
        vec![
            ("petition_accepted".to_string(), "cuc.tran@example.vn".to_string()),
            ("petition_extended".to_string(), "cuc.tran@example.vn".to_string()),
            ("petition_forwarded".to_string(), format!("desk:{WARD}")),
        ]
    );
    let row = s.outbox(None, 100).await.unwrap().into_iter().find(|m| m.kind == "petition_extended").unwrap();
    let letter: motcua_core::petition_letters::ItemLetter = serde_json::from_str(&row.payload).unwrap();
    assert_eq!(letter.extension_reason.as_deref(), Some("Vụ việc phức tạp"));
    // Accepted 6/7 10:00 + 45 days (complex) = Thu 20/8/2026, closing.
    assert_eq!(letter.item.next_due_at, Some(at(2026, 8, 20, 17, 0)));
    // History is quiet: the same step recorded quietly queues nothing.
    let h = s.file_item(&d, new_item(Kind::Complaint, WARD, None), t1, None, t1).await.unwrap().code.unwrap();
    let accept = ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false };
    s.record_item_quiet(&d, &h, ev(t1 + Duration::hours(1), accept), t1).await.unwrap();
    assert_eq!(s.item_row(&h).await.unwrap().unwrap().status, ItemStatus::Accepted);
    assert_eq!(kinds(s.outbox(None, 100).await.unwrap()).len(), 3);
    // Candidates: open items due in the window, by due instant.
    let cands = s.item_reminder_candidates(at(2026, 8, 17, 9, 0), at(2026, 8, 21, 9, 0), None, 10).await.unwrap();
    assert_eq!(cands, vec![(code.clone(), at(2026, 8, 20, 17, 0))]);
    assert!(
        s.item_reminder_candidates(at(2026, 8, 20, 17, 0), at(2026, 8, 25, 9, 0), None, 10).await.unwrap().is_empty()
    );
    let paged = s
        .item_reminder_candidates(
            at(2026, 8, 17, 9, 0),
            at(2026, 8, 21, 9, 0),
            cands.last().cloned().map(|(c, t)| (t, c)),
            10,
        )
        .await
        .unwrap();
    assert!(paged.is_empty());
}

/// `recompute_items` finds a projection row that differs from its log, one missing and one
/// with no event; `dry_run` writes nothing; applied, the projection equals the replay.
pub async fn the_petitions_projection_is_rebuilt_from_its_log<S: Backend + PetitionStore>(s: S) {
    let d = domain();
    let t1 = at(2026, 7, 6, 9, 0);
    let a = s.file_item(&d, new_item(Kind::Complaint, WARD, None), t1, None, t1).await.unwrap().code.unwrap();
    let b = s.file_item(&d, new_item(Kind::Petition, WARD, None), t1, None, t1).await.unwrap().code.unwrap();
    let c = s.file_item(&d, new_item(Kind::Denunciation, WARD, None), t1, None, t1).await.unwrap().code.unwrap();
    let accept = ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false };
    s.record_item(&d, &a, ev(t1 + Duration::hours(1), accept), t1).await.unwrap();
    let clean = s.recompute_items(&d, true).await.unwrap();
    assert!(clean.is_empty(), "{clean:?}");
    assert_eq!(clean.items, 3);
    let before_a = s.item_row(&a).await.unwrap().unwrap();
    let before_b = s.item_row(&b).await.unwrap().unwrap();
    // Damage: a wrong status and due instant, a missing row, an orphan row.
    s.raw(&format!(
        "UPDATE petitions SET status = 'archived', next_due_at = NULL, next_step = NULL WHERE code = '{a}'"
    ))
    .await
    .unwrap();
    s.raw(&format!("DELETE FROM petitions WHERE code = '{b}'")).await.unwrap();
    s.raw(&format!("UPDATE petitions SET code = 'TC-260706-0099' WHERE code = '{c}'")).await.unwrap();
    let dry = s.recompute_items(&d, true).await.unwrap();
    assert!(dry.dry_run);
    let changed: Vec<&str> = dry.changed.iter().map(|c| c.code.as_str()).collect();
    assert_eq!(changed, vec![a.as_str(), b.as_str(), c.as_str()], "in code order");
    let fa = &dry.changed.iter().find(|x| x.code == a.as_str()).unwrap().fields;
    let status = fa.iter().find(|f| f.field == "status").unwrap();
    assert_eq!((status.old.as_deref(), status.new.as_deref()), (Some("archived"), Some("accepted")));
    assert!(fa.iter().any(|f| f.field == "next_due_at" && f.old.is_none() && f.new.is_some()));
    assert_eq!(dry.orphans, vec!["TC-260706-0099".to_string()]);
    // Nothing written by the dry run.
    assert!(s.item_row(&b).await.unwrap().is_none());
    assert_eq!(s.item_row(&a).await.unwrap().unwrap().status, ItemStatus::Archived);
    let applied = s.recompute_items(&d, false).await.unwrap();
    assert_eq!(applied.changed.len(), 3);
    assert_eq!(s.item_row(&a).await.unwrap().unwrap(), before_a);
    assert_eq!(s.item_row(&b).await.unwrap().unwrap(), before_b);
    assert!(s.item_row(&"TC-260706-0099".parse().unwrap()).await.unwrap().is_none());
    assert!(s.recompute_items(&d, true).await.unwrap().is_empty());
}

/// Reads of an item's personal data are in the audit of reads with their subject, and an
/// inspector of named agencies sees those of the items with its agencies.
pub async fn reads_of_an_items_personal_data_are_audited<S: Backend + PetitionStore + motcua_store::StaffStore>(s: S) {
    use motcua_store::{NewPersonalDataRead, ReadOf};
    let d = domain();
    let t1 = at(2026, 7, 6, 9, 0);
    let a = s.file_item(&d, new_item(Kind::Complaint, WARD, None), t1, None, t1).await.unwrap().code.unwrap();
    let read = NewPersonalDataRead {
        staff: "thanhtra".into(),
        code: ReadOf::Petition(a.clone()),
        route: "GET /api/v1/petitions/{petition}".into(),
        fields: vec!["name".into(), "email".into()],
        at: t1 + Duration::hours(1),
    };
    s.record_personal_data_reads(&[read]).await.unwrap();
    let all = s.personal_data_reads(None, None, 10).await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].code, ReadOf::Petition(a.clone()));
    assert_eq!(all[0].code.href(), format!("/petitions/{a}"));
    assert_eq!(s.personal_data_reads(None, Some(&[ag(WARD)]), 10).await.unwrap().len(), 1);
    assert!(s.personal_data_reads(None, Some(&[ag(DEPT)]), 10).await.unwrap().is_empty());
}
