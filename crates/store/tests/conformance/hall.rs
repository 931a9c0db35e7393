//! The reception hall on both backends: numbers per area and day that never repeat or skip
//! with fifty issuers and two counters at once; the ordering rule (priority by the fairness
//! ratio, bookings at their slot); recall, no-show after N recalls, transfer keeping the
//! waiting start, redirect as a new linked ticket, rating once; issuing refused outside office
//! hours, on a day off and past the day's capacity, writing nothing; bookings limited per slot,
//! cancelled, checked in and lost when late; the day's end closing what is still open; the
//! append-only log.

use std::collections::BTreeSet;

use motcua_core::Domain;
use motcua_core::hall::{
    BookingRequest, HallCatalog, HallCode, HallError, HallRating, Lane, PriorityKind, TicketChannel, TicketEvent,
    TicketEventKind, TicketStatus,
};
use motcua_store::{HallStore, NewTicket, StoreError};

use super::support::*;

/// A hall for the checks: capacity 60 a day, area A (two counters), area B (one), 2 : 1.
const HALLS: &str = r#"
[[hall]]
code = "TEST"
name = "Sảnh thử"
agency = "000.00.02.H17"
priority = { rule = "ratio", ordinary = 2, priority = 1 }
capacity_per_day = 60
recalls_before_no_show = 2
booking_late_minutes = 10
slot_minutes = 30

[[hall.area]]
letter = "A"
name = "Hộ tịch"
procedures = ["1.001193"]
booking_per_slot = 2

[[hall.area]]
letter = "B"
name = "Kinh doanh"
procedures = ["1.001612"]
booking_per_slot = 1

[[hall.counter]]
number = 1
areas = ["A"]

[[hall.counter]]
number = 2
areas = ["A"]

[[hall.counter]]
number = 3
areas = ["B"]
"#;

pub fn hall_domain() -> Domain {
    let d = domain();
    let halls = HallCatalog::from_toml(HALLS, &d.catalog).unwrap();
    d.with_halls(halls)
}

fn test_hall() -> HallCode {
    "TEST".parse().unwrap()
}

fn ticket(area: char, priority: Option<PriorityKind>) -> NewTicket {
    NewTicket { hall: test_hall(), area, channel: TicketChannel::Qr, priority }
}

fn step(t: chrono::DateTime<chrono::Utc>, kind: TicketEventKind) -> TicketEvent {
    TicketEvent::new(t, Some("officer".into()), kind)
}

pub async fn hall_numbers_never_repeat_or_skip_under_concurrency<S: Backend + HallStore>(s: S) {
    let d = std::sync::Arc::new(hall_domain());
    let t = at(2026, 3, 10, 8, 0);
    // Fifty phones take a number of area A in the same second, while counters 1 and 2 call.
    let mut tasks = Vec::new();
    for i in 0..50u32 {
        let (s, d) = (s.clone(), d.clone());
        let priority = (i % 5 == 0).then_some(PriorityKind::Elderly);
        tasks.push(tokio::spawn(async move { s.issue_ticket(&d, ticket('A', priority), t, None, t).await }));
    }
    let mut calls = Vec::new();
    for i in 0..20u16 {
        let (s, d) = (s.clone(), d.clone());
        let counter = 1 + (i % 2);
        calls.push(tokio::spawn(async move {
            s.call_next(&d, &test_hall(), counter, at(2026, 3, 10, 8, 1), Some(format!("c{counter}")), t).await
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap().unwrap().id.number);
    }
    let mut called = Vec::new();
    for c in calls {
        if let Some(c) = c.await.unwrap().unwrap() {
            called.push(c.ticket.id.clone());
        }
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=50).collect::<Vec<_>>(), "no duplicate, no gap");
    let distinct: BTreeSet<_> = called.iter().collect();
    assert_eq!(distinct.len(), called.len(), "no ticket called twice");
    assert!(!called.is_empty());
    let day = s.day_tickets(&test_hall(), day(2026, 3, 10)).await.unwrap();
    assert_eq!(day.len(), 50);
    assert_eq!(day.iter().filter(|t| t.status == TicketStatus::Called).count(), called.len());
    // Area B counts on its own.
    let b = s.issue_ticket(&d, ticket('B', None), t, None, t).await.unwrap();
    assert_eq!(b.number, "B-001");
    assert_eq!(b.id.to_string(), "TEST-260310-B-001");

    // A reader of the log (the screens' feed) sees every write once, in id order.
    let head = s.hall_log_head().await.unwrap();
    let mut log = Vec::new();
    let mut after = 0;
    loop {
        let page = s.hall_log_after(after, 16).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.id;
        log.extend(page);
    }
    assert_eq!(log.last().map(|e| e.id), Some(head));
    assert!(log.windows(2).all(|w| w[0].id < w[1].id));
    let issues = log
        .iter()
        .filter(|e| matches!(e.ticket, Some((_, TicketEvent { kind: TicketEventKind::Issued(_), .. }))))
        .count();
    let calls = log
        .iter()
        .filter(|e| matches!(e.ticket, Some((_, TicketEvent { kind: TicketEventKind::Called { .. }, .. }))))
        .count();
    assert_eq!((issues, calls), (51, called.len()));
    assert!(log.iter().all(|e| e.hall == test_hall()));
    assert_eq!(log.last().and_then(|e| e.ticket.as_ref()).map(|(id, _)| id.clone()), Some(b.id.clone()));
    assert!(s.hall_log_after(head, 16).await.unwrap().is_empty());
}

/// Counters calling at once are written in one transaction, each answered as if the calls
/// came one after another: the ordering rule and its fairness memory move call by call, a
/// counter the hall lacks is refused alone, a counter with no one waiting gets nothing.
pub async fn hall_counters_calling_at_once_are_answered_in_order<S: Backend + HallStore>(s: S) {
    let d = hall_domain();
    let t = at(2026, 3, 11, 8, 0);
    let mut ids = Vec::new();
    for (i, priority) in
        [None, None, None, Some(PriorityKind::Pregnant), Some(PriorityKind::Elderly)].into_iter().enumerate()
    {
        let when = t + chrono::Duration::minutes(i64::try_from(i).unwrap());
        ids.push(s.issue_ticket(&d, ticket('A', priority), when, None, when).await.unwrap().number);
    }
    assert_eq!(ids, ["A-001", "A-002", "A-003", "A-004", "A-005"]);
    let call = |counter: u16| motcua_store::CounterCall { counter, by: Some(format!("c{counter}")), signed_in: false };
    let when = at(2026, 3, 11, 8, 10);
    let answers =
        s.call_next_many(&d, &test_hall(), &[call(1), call(2), call(99), call(3), call(1)], when, when).await.unwrap();
    assert_eq!(answers.len(), 5);
    let number =
        |i: usize| answers[i].as_ref().ok().and_then(|c| c.as_ref()).map(|c| (c.ticket.number.clone(), c.lane));
    assert_eq!(number(0), Some(("A-004".into(), Lane::Priority)), "the day's first priority ticket first");
    assert_eq!(number(1), Some(("A-001".into(), Lane::Ordinary)));
    assert!(
        matches!(answers[2], Err(StoreError::HallRejected(HallError::UnknownCounter { counter: 99, .. }))),
        "{:?}",
        answers[2]
    );
    assert!(matches!(answers[3], Ok(None)), "counter 3 serves area B, where no one waits");
    assert_eq!(number(4), Some(("A-002".into(), Lane::Ordinary)));
    let two = answers[1].as_ref().ok().and_then(|c| c.as_ref()).map(|c| (c.ticket.counter, c.ticket.called_by.clone()));
    assert_eq!(two, Some((Some(2), Some("c2".into()))));
    // The fairness memory was written with the batch: after 1 priority and 2 ordinary calls,
    // a priority ticket may go again.
    let next = s.call_next(&d, &test_hall(), 2, when, None, when).await.unwrap().unwrap();
    assert_eq!((next.ticket.number.as_str(), next.lane), ("A-005", Lane::Priority));
    let last = s.call_next(&d, &test_hall(), 1, when, None, when).await.unwrap().unwrap();
    assert_eq!(last.ticket.number, "A-003");
    assert!(
        s.call_next_many(&d, &test_hall(), &[call(1), call(2)], when, when)
            .await
            .unwrap()
            .iter()
            .all(|a| matches!(a, Ok(None)))
    );
}

/// A batch of calls reads only the head of each lane's queue; it must pick exactly as the
/// ordering rule does over the whole queue, call after call — with ties in waiting start, two
/// areas, priority tickets and a counter calling twice in one batch.
pub async fn hall_batches_of_calls_pick_as_the_rule_over_the_whole_queue<S: Backend + HallStore>(s: S) {
    use motcua_core::hall::{FairState, Waiting, next_ticket};
    let d = hall_domain();
    let h = test_hall();
    let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 12).unwrap();
    let hall = d.halls.hall(&h, day).unwrap();
    let mut model: Vec<Waiting> = Vec::new();
    for i in 0..40u32 {
        // Two tickets in each minute: ties in waiting start.
        let when = at(2026, 3, 12, 8, i / 2);
        let area = if i % 3 == 2 { 'B' } else { 'A' };
        let priority = (i % 4 == 3).then_some(PriorityKind::Elderly);
        let t = s.issue_ticket(&d, ticket(area, priority), when, None, when).await.unwrap();
        model.push(Waiting {
            id: t.id.clone(),
            area,
            priority: priority.is_some(),
            slot_at: None,
            waiting_since: t.waiting_since,
            for_counter: None,
        });
    }
    // Bookings checked in: two whose slot comes with the first batch (areas A and B), one whose
    // slot does not come while the batches run (called in its lane by its waiting start).
    let booked_at = at(2026, 3, 11, 15, 0);
    for (code, area, hour, minute) in [("BBBB1111", 'A', 9, 0), ("BBBB2222", 'B', 9, 0), ("BBBB3333", 'A', 9, 30)] {
        let request = BookingRequest {
            code: code.into(),
            hall: h.clone(),
            area,
            slot: day.and_hms_opt(hour, minute, 0).unwrap(),
            name: "Phạm Thị Hoa".into(),
            phone: None,
            priority: None,
        };
        s.book(&d, request, booked_at, booked_at).await.unwrap();
        let came = at(2026, 3, 12, 8, 50);
        let t = s.check_in(&d, code, came, None, came).await.unwrap();
        assert!(t.slot_at.is_some(), "{t:?}");
        model.push(Waiting {
            id: t.id.clone(),
            area,
            priority: false,
            slot_at: t.slot_at,
            waiting_since: t.waiting_since,
            for_counter: None,
        });
    }
    // Two tickets sent to counter 2 (one of them a priority ticket), keeping their waiting start.
    for k in [0, 3] {
        let id = model[k].id.clone();
        let sent = step(at(2026, 3, 12, 8, 55), TicketEventKind::Transferred { area: None, counter: Some(2) });
        s.record_ticket(&d, &id, sent, at(2026, 3, 12, 8, 55)).await.unwrap();
        model[k].for_counter = Some(2);
    }
    let mut fair = FairState::default();
    let call = |counter: u16| motcua_store::CounterCall { counter, by: None, signed_in: false };
    let mut batches = 0;
    loop {
        let when = at(2026, 3, 12, 9, batches);
        let counters = [1u16, 2, 1, 3, 2];
        let answers = s.call_next_many(&d, &h, &counters.map(call), when, when).await.unwrap();
        let mut any = false;
        for (counter, answer) in counters.iter().zip(answers) {
            let got = answer.unwrap().map(|c| (c.ticket.id, c.lane));
            let areas = &hall.counter(*counter, day).unwrap().areas;
            let want =
                next_ticket(&hall.priority, &fair, &model, *counter, areas, when).map(|(w, lane)| (w.id.clone(), lane));
            assert_eq!(got, want, "batch {batches}, counter {counter}");
            if let Some((id, lane)) = want {
                model.retain(|w| w.id != id);
                fair = fair.after(lane);
                any = true;
            }
        }
        batches += 1;
        if !any {
            break;
        }
    }
    assert!(model.is_empty(), "every ticket called: {model:?}");
    assert!(batches >= 9, "45 tickets at 5 calls a batch: {batches} batches");

    // An officer's call counts only from the counter they are signed in at, read in the
    // batch's transaction: the other call of the batch goes on, the refused one takes no one.
    let when = at(2026, 3, 12, 10, 0);
    let last = s.issue_ticket(&d, ticket('A', None), when, None, when).await.unwrap();
    s.sign_counter(&d, &h, 2, Some("c2"), when, when).await.unwrap();
    let officer =
        |counter: u16| motcua_store::CounterCall { counter, by: Some(format!("c{counter}")), signed_in: true };
    let answers = s.call_next_many(&d, &h, &[officer(1), officer(2)], when, when).await.unwrap();
    assert!(
        matches!(&answers[0], Err(StoreError::HallRejected(HallError::NotSignedIn { counter: 1, .. }))),
        "{:?}",
        answers[0]
    );
    assert_eq!(answers[1].as_ref().unwrap().as_ref().map(|c| c.ticket.id.clone()), Some(last.id));
    let alone = s.call_next_many(&d, &h, &[officer(1)], when, when).await.unwrap();
    assert!(alone[0].as_ref().is_err_and(|e| e.to_string().contains("sign in first")), "{alone:?}");
}

pub async fn hall_tickets_follow_the_ordering_rule_and_their_steps<S: Backend + HallStore>(s: S) {
    let d = hall_domain();
    let h = test_hall();
    let t = |m: u32| at(2026, 3, 10, 8, m);
    // Issued: A-001..A-003 ordinary, A-004, A-005 priority.
    let mut ids = Vec::new();
    for (i, p) in
        [None, None, None, Some(PriorityKind::Disability), Some(PriorityKind::Pregnant)].into_iter().enumerate()
    {
        let m = u32::try_from(i).unwrap();
        ids.push(s.issue_ticket(&d, ticket('A', p), t(m), Some("desk".into()), t(m)).await.unwrap().id);
    }
    // 2 ordinary : 1 priority, the first priority ticket going first.
    let mut order = Vec::new();
    for k in 0..5u32 {
        let c =
            s.call_next(&d, &h, 1 + u16::try_from(k % 2).unwrap(), t(10 + k), None, t(10 + k)).await.unwrap().unwrap();
        order.push((c.ticket.number.clone(), c.lane));
    }
    assert_eq!(
        order,
        vec![
            ("A-004".to_string(), Lane::Priority),
            ("A-001".to_string(), Lane::Ordinary),
            ("A-002".to_string(), Lane::Ordinary),
            ("A-005".to_string(), Lane::Priority),
            ("A-003".to_string(), Lane::Ordinary),
        ]
    );
    assert!(s.call_next(&d, &h, 1, t(20), None, t(20)).await.unwrap().is_none(), "no one waiting");
    // Counter 3 serves B only: nothing for it.
    assert!(s.call_next(&d, &h, 3, t(20), None, t(20)).await.unwrap().is_none());

    // No-show only after two recalls, by the counter that called.
    let a4 = ids[3].clone();
    let refused = s.record_ticket(&d, &a4, step(t(21), TicketEventKind::NoShow), t(21)).await;
    assert!(matches!(refused, Err(StoreError::HallRejected(HallError::TooFewRecalls { .. }))), "{refused:?}");
    let other = s.record_ticket(&d, &a4, step(t(21), TicketEventKind::Recalled { counter: 2 }), t(21)).await;
    assert!(matches!(other, Err(StoreError::HallRejected(HallError::OtherCounter { .. }))), "{other:?}");
    assert_eq!(s.ticket_events(&a4).await.unwrap().len(), 2, "a refused step writes nothing");
    for m in [22, 23] {
        s.record_ticket(&d, &a4, step(t(m), TicketEventKind::Recalled { counter: 1 }), t(m)).await.unwrap();
    }
    let gone = s.record_ticket(&d, &a4, step(t(24), TicketEventKind::NoShow), t(24)).await.unwrap();
    assert_eq!(gone.status, TicketStatus::NoShow);

    // Transfer keeps the waiting start; the new counter calls it; the wait counts from the issue.
    let a1 = ids[0].clone();
    s.record_ticket(&d, &a1, step(t(25), TicketEventKind::Started), t(25)).await.unwrap();
    let moved = s
        .record_ticket(&d, &a1, step(t(26), TicketEventKind::Transferred { area: Some('B'), counter: None }), t(26))
        .await
        .unwrap();
    assert_eq!((moved.status, moved.area, moved.waiting_since), (TicketStatus::Waiting, 'B', t(0)));
    let c = s.call_next(&d, &h, 3, t(30), Some("b-officer".into()), t(30)).await.unwrap().unwrap();
    assert_eq!(c.ticket.id, a1);
    assert_eq!(c.ticket.number, "A-001", "a transfer keeps the number");
    assert_eq!(c.ticket.wait_seconds(), Some(11 * 60), "first call at 08:11, issued 08:00");
    let done = s.record_ticket(&d, &a1, step(t(40), TicketEventKind::Finished), t(40)).await.unwrap();
    assert_eq!(done.status, TicketStatus::Done);
    assert_eq!(done.service_seconds(), Some(10 * 60));

    // Rated once.
    let rate = |r| step(t(41), TicketEventKind::Rated { rating: r, comment: Some("Nhanh".into()) });
    s.record_ticket(&d, &a1, rate(HallRating::VerySatisfied), t(41)).await.unwrap();
    let again = s.record_ticket(&d, &a1, rate(HallRating::Dissatisfied), t(41)).await;
    assert!(matches!(again, Err(StoreError::HallRejected(HallError::AlreadyRated(_)))), "{again:?}");
    assert_eq!(s.ticket(&a1).await.unwrap().unwrap().rating, Some(HallRating::VerySatisfied));

    // Redirect: a new ticket of the second area, linked to the first.
    let second = s.redirect(&d, &a1, 'A', t(42), Some("b-officer".into()), t(42)).await.unwrap();
    assert_eq!(second.number, "A-006");
    assert_eq!(second.channel, TicketChannel::Redirect);
    assert_eq!(second.linked_from.as_ref(), Some(&a1));
    assert_eq!(s.ticket(&a1).await.unwrap().unwrap().redirected_to, Some(second.id.clone()));
    let by_number = s.ticket_by_number(&h, day(2026, 3, 10), "A-006").await.unwrap().unwrap();
    assert_eq!(by_number.id, second.id);

    // A dossier received from the ticket is linked to it.
    let dossier: motcua_core::DossierCode = "000.00.02.H17-260310-0001".parse().unwrap();
    let linked = s
        .record_ticket(&d, &second.id, step(t(43), TicketEventKind::Linked { dossier: dossier.clone() }), t(43))
        .await
        .unwrap();
    assert_eq!(linked.dossiers, vec![dossier]);

    // Closed hours, a day off, and the day's capacity: refused, nothing written.
    let before = s.day_tickets(&h, day(2026, 3, 10)).await.unwrap().len();
    for when in [at(2026, 3, 10, 7, 0), at(2026, 3, 10, 12, 0), at(2026, 3, 10, 17, 30), at(2026, 3, 14, 9, 0)] {
        let r = s.issue_ticket(&d, ticket('A', None), when, None, when).await;
        assert!(matches!(r, Err(StoreError::HallRejected(HallError::Closed(_)))), "{when}: {r:?}");
    }
    let holiday = at(2026, 4, 30, 9, 0);
    assert!(s.issue_ticket(&d, ticket('A', None), holiday, None, holiday).await.is_err());
    assert_eq!(s.day_tickets(&h, day(2026, 3, 10)).await.unwrap().len(), before);
    let t2 = at(2026, 3, 11, 9, 0);
    for _ in 0..60 {
        s.issue_ticket(&d, ticket('B', None), t2, None, t2).await.unwrap();
    }
    let full = s.issue_ticket(&d, ticket('A', None), t2, None, t2).await;
    assert!(matches!(full, Err(StoreError::HallRejected(HallError::CapacityReached { .. }))), "{full:?}");
    let next = s.day_tickets(&h, day(2026, 3, 11)).await.unwrap();
    assert_eq!(next.len(), 60);
    assert_eq!(next.last().unwrap().number, "B-060", "the refused issue took no number");

    // The day's end closes what is still open.
    let early = s.close_day(&d, &h, day(2026, 3, 11), at(2026, 3, 11, 17, 0), t2).await;
    assert!(early.is_err(), "not before the day is over");
    let closed = s.close_day(&d, &h, day(2026, 3, 11), at(2026, 3, 12, 0, 0), t2).await.unwrap();
    assert_eq!(closed, 60);
    let after = s.day_tickets(&h, day(2026, 3, 11)).await.unwrap();
    assert!(after.iter().all(|t| t.status == TicketStatus::Closed));

    // The log is append-only.
    assert!(s.raw("UPDATE hall_events SET kind = 'x'").await.is_err());
    assert!(s.raw("DELETE FROM hall_events").await.is_err());
}

pub async fn hall_bookings_are_limited_cancelled_and_checked_in<S: Backend + HallStore>(s: S) {
    let d = hall_domain();
    let h = test_hall();
    let now = at(2026, 3, 9, 15, 0);
    let slot = day(2026, 3, 10).and_hms_opt(9, 0, 0).unwrap();
    let req = |code: &str, area: char, slot| BookingRequest {
        code: code.into(),
        hall: test_hall(),
        area,
        slot,
        name: "Phạm Thị Hoa".into(),
        phone: Some("0905123456".into()),
        priority: None,
    };
    let b1 = s.book(&d, req("AAAA2222", 'B', slot), now, now).await.unwrap();
    assert_eq!(b1.slot_at, at(2026, 3, 10, 9, 0));
    let full = s.book(&d, req("AAAA3333", 'B', slot), now, now).await;
    assert!(matches!(full, Err(StoreError::HallRejected(HallError::Booking(_)))), "{full:?}");
    assert!(s.booking("AAAA3333").await.unwrap().is_none(), "a refused booking writes nothing");
    // Not a slot: lunch, a day off, a time off the grid.
    for bad in [
        day(2026, 3, 10).and_hms_opt(12, 0, 0).unwrap(),
        day(2026, 3, 14).and_hms_opt(9, 0, 0).unwrap(),
        day(2026, 3, 10).and_hms_opt(9, 10, 0).unwrap(),
    ] {
        assert!(s.book(&d, req("AAAA4444", 'A', bad), now, now).await.is_err(), "{bad}");
    }
    // Cancelled, the slot is free again.
    s.cancel_booking(&d, "AAAA2222", now, None, now).await.unwrap();
    assert!(s.cancel_booking(&d, "AAAA2222", now, None, now).await.is_err());
    s.book(&d, req("AAAA5555", 'B', slot), now, now).await.unwrap();
    // Check-in more than 10 minutes late loses the slot; on time gives a ticket queued at the slot.
    let late = at(2026, 3, 10, 9, 11);
    let lost = s.check_in(&d, "AAAA5555", late, None, late).await;
    assert!(matches!(lost, Err(StoreError::HallRejected(HallError::BookingLate { .. }))), "{lost:?}");
    let walk_in =
        s.issue_ticket(&d, ticket('B', None), at(2026, 3, 10, 8, 30), None, at(2026, 3, 10, 8, 30)).await.unwrap();
    let early = at(2026, 3, 10, 8, 50);
    let booked = s.check_in(&d, "AAAA5555", early, None, early).await.unwrap();
    assert_eq!((booked.channel, booked.waiting_since), (TicketChannel::Booking, at(2026, 3, 10, 9, 0)));
    assert_eq!(s.booking("AAAA5555").await.unwrap().unwrap().ticket, Some(booked.id.clone()));
    assert!(s.check_in(&d, "AAAA5555", early, None, early).await.is_err(), "checked in once");
    // Before the slot the walk-in goes first; at the slot, the booking does.
    let w1 = s.issue_ticket(&d, ticket('B', None), at(2026, 3, 10, 8, 55), None, at(2026, 3, 10, 8, 55)).await.unwrap();
    let c = s.call_next(&d, &h, 3, at(2026, 3, 10, 8, 56), None, early).await.unwrap().unwrap();
    assert_eq!(c.ticket.id, walk_in.id);
    let c = s.call_next(&d, &h, 3, at(2026, 3, 10, 9, 0), None, early).await.unwrap().unwrap();
    assert_eq!((c.ticket.id.clone(), c.lane), (booked.id, Lane::Booking));
    let c = s.call_next(&d, &h, 3, at(2026, 3, 10, 9, 5), None, early).await.unwrap().unwrap();
    assert_eq!(c.ticket.id, w1.id);
    assert_eq!(s.day_bookings(&h, day(2026, 3, 10)).await.unwrap().len(), 2);

    // Counters: one account at one counter at a time.
    s.sign_counter(&d, &h, 1, Some("officer1"), early, early).await.unwrap();
    s.sign_counter(&d, &h, 2, Some("officer1"), early, early).await.unwrap();
    let sessions = s.counter_sessions(&h).await.unwrap();
    assert_eq!(sessions.iter().map(|c| (c.counter, c.staff.as_str())).collect::<Vec<_>>(), vec![(2, "officer1")]);
    assert!(s.sign_counter(&d, &h, 9, Some("officer2"), early, early).await.is_err(), "no counter 9");
    s.sign_counter(&d, &h, 2, None, early, early).await.unwrap();
    assert!(s.counter_sessions(&h).await.unwrap().is_empty());
}

/// A hall day's script is recorded in one transaction through the same steps: numbers and
/// calls as the single commands give them, the dossier link indexed; a script that expects
/// another number or call writes nothing at all.
pub async fn hall_scripts_are_recorded_whole_or_not_at_all<S: Backend + HallStore>(s: S) {
    use motcua_core::hall::{HallCommand, TicketId};
    let d = hall_domain();
    let h = test_hall();
    let t = |m: u32| at(2026, 3, 11, 8, m);
    let on = day(2026, 3, 11);
    let id = |area: char, number: u32| TicketId { hall: h.clone(), day: on, area, number };
    let issue = |m: u32, area: char, n: u32| HallCommand::Issue {
        area,
        channel: TicketChannel::Kiosk,
        priority: None,
        at: t(m),
        by: None,
        expect: id(area, n),
    };
    let call = |m: u32, counter: u16, area: char, n: u32| HallCommand::Call {
        counter,
        at: t(m),
        by: Some("c".into()),
        expect: id(area, n),
    };
    // Wrong: counter 1 would call A-001, not A-002. Nothing of it is written.
    let wrong = vec![issue(1, 'A', 1), issue(2, 'A', 2), call(3, 1, 'A', 2)];
    let e = s.record_hall_script(&d, &h, on, wrong, t(10)).await.unwrap_err();
    assert!(e.to_string().contains("expected ticket TEST-260311-A-002"), "{e}");
    assert!(s.day_tickets(&h, on).await.unwrap().is_empty(), "a refused script writes nothing");
    let dossier: motcua_core::DossierCode = "000.00.02.H17-260311-0001".parse().unwrap();
    let good = vec![
        HallCommand::Sign { counter: 1, staff: Some("c".into()), at: t(0) },
        issue(1, 'A', 1),
        issue(2, 'B', 1),
        issue(2, 'A', 2),
        call(3, 1, 'A', 1),
        HallCommand::Step { ticket: id('A', 1), event: step(t(4), TicketEventKind::Started) },
        HallCommand::Step { ticket: id('A', 1), event: step(t(9), TicketEventKind::Finished) },
        HallCommand::Step {
            ticket: id('A', 1),
            event: step(t(9), TicketEventKind::Linked { dossier: dossier.clone() }),
        },
    ];
    assert_eq!(s.record_hall_script(&d, &h, on, good, t(10)).await.unwrap(), 8);
    let day_tickets = s.day_tickets(&h, on).await.unwrap();
    let labels: Vec<&str> = day_tickets.iter().map(|t| t.number.as_str()).collect();
    assert_eq!(labels, ["A-001", "A-002", "B-001"], "by issue, then id");
    assert_eq!(day_tickets[0].status, TicketStatus::Done);
    assert_eq!(day_tickets[0].wait_seconds(), Some(120));
    // The link is found from the dossier, and the next single command numbers on.
    let linked = s.dossier_tickets(&dossier).await.unwrap();
    assert_eq!(linked.iter().map(|t| t.id.clone()).collect::<Vec<_>>(), [id('A', 1)]);
    let next = s.issue_ticket(&d, ticket('A', None), t(11), None, t(11)).await.unwrap();
    assert_eq!(next.number, "A-003");
    assert_eq!(s.counter_sessions(&h).await.unwrap().len(), 1);
}
