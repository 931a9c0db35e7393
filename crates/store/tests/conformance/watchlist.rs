//! The inspector's watch list on both backends: planted cases counted where core says, the
//! tables the writer keeps equal to a replay of the log through core, read as of any instant.

use chrono::{DateTime, Utc};
use motcua_core::watchlist::{BackdatedSums, WatchBy, WatchCellRef, WatchFacts, WatchKind, WatchList, WatchQuery};
use motcua_core::{DossierCode, Event, EventKind, Outcome};
use motcua_store::Window;
use motcua_store::watchlist::{agency_name, dossiers, replayed_facts, watchlist};

use super::support::*;

fn by(t: DateTime<Utc>, who: Option<&str>, kind: EventKind) -> Event {
    Event::new(t, who.map(str::to_string), kind)
}

/// Records `events` on `code`, each recorded when it is stated.
async fn log<S: Backend>(s: &S, code: &DossierCode, events: Vec<Event>) {
    let d = domain();
    for e in events {
        let t = e.at;
        s.record_stamped(&d, code, e, t).await.unwrap();
    }
}

async fn open<S: Backend>(s: &S, agency: &str, procedure: &str, t: DateTime<Utc>, who: Option<&str>) -> DossierCode {
    let d = domain();
    let new = new_dossier(agency, procedure, "Nguyễn Văn An");
    s.intake_stamped(&d, new, t, who.map(str::to_string), None, t).await.unwrap().code.unwrap()
}

/// The codes behind a count, read as its link reads them (one page); the list's count says
/// as many.
async fn codes<S: Backend>(s: &S, list: &WatchList, q: &WatchQuery, key: &str, kind: WatchKind) -> Vec<DossierCode> {
    let cell = WatchCellRef { kind, key: Some(key.to_string()) };
    let page = dossiers(s, q, &cell, Window::page(1, 200)).await.unwrap();
    let count = list.rows.iter().find(|r| r.key == key).map_or(0, |r| r.cell(kind).count);
    assert_eq!((page.total, page.rows.len() as u64), (count, count), "{key} {kind}");
    page.rows
}

/// Every count of the list for `q` (each row's and the total's, every kind) drilled into:
/// the codes equal those of a replay, and as many as the count says.
async fn drill_down_equals_a_replay<S: Backend>(s: &S, q: &WatchQuery, list: &WatchList, replayed: &WatchFacts) -> u64 {
    let mut cells = 0;
    let keys = list.rows.iter().map(|r| Some(r.key.clone())).chain([None]);
    for key in keys {
        for kind in WatchKind::ALL {
            let cell = WatchCellRef { kind, key: key.clone() };
            let page = dossiers(s, q, &cell, Window::page(1, 200)).await.unwrap();
            let expected = replayed.dossiers(q, &cell);
            assert_eq!(page.rows, expected, "{key:?} {kind} as of {}", q.as_of);
            let row = match &key {
                Some(k) => list.rows.iter().find(|r| &r.key == k).unwrap(),
                None => &list.total,
            };
            assert_eq!(page.total, row.cell(kind).count, "{key:?} {kind}");
            cells += u64::from(page.total > 0);
        }
    }
    // Pages: the second of one code each is the second code.
    let late = WatchCellRef { kind: WatchKind::Late, key: None };
    let all = replayed.dossiers(q, &late);
    let second = dossiers(s, q, &late, Window::page(2, 1)).await.unwrap();
    assert_eq!(second.rows, all.iter().skip(1).take(1).cloned().collect::<Vec<_>>());
    assert_eq!(second.total, all.len() as u64);
    cells
}

fn sorted(mut v: Vec<DossierCode>) -> Vec<DossierCode> {
    v.sort();
    v
}

/// A bounce, a silent holder, a second supplement asking for unlisted papers, one officer late
/// three times, a backdated event and events recorded without an officer, planted through the
/// write path: the watch list read from the writer's tables counts each where core says, equals
/// the list built from a replay of the log for every grouping and instant, and is rebuilt by
/// `recompute` when the tables are lost.
pub async fn the_watch_list_is_kept_by_the_writer_and_equals_a_replay<S: Backend>(s: S) {
    let d = domain();
    let transfer = |t, who, to: &str| by(t, who, EventKind::Transferred { to: ag(to) });
    let accept = |t, who| by(t, who, EventKind::Accepted);
    let resolve = |t, who| {
        by(
            t,
            who,
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
        )
    };

    // A: ping-pong between the centre and the department, then resolved early.
    let a = open(&s, CENTRE, CITY_PROC, at(2025, 3, 3, 8, 0), Some("desk1")).await;
    log(
        &s,
        &a,
        vec![
            transfer(at(2025, 3, 3, 8, 30), Some("desk1"), DEPT),
            accept(at(2025, 3, 3, 9, 0), Some("tp1")),
            transfer(at(2025, 3, 4, 9, 0), Some("tp1"), CENTRE),
            accept(at(2025, 3, 4, 9, 30), Some("desk2")),
            transfer(at(2025, 3, 4, 10, 0), Some("desk2"), DEPT),
            accept(at(2025, 3, 4, 10, 30), Some("tp2")),
            transfer(at(2025, 3, 5, 9, 0), Some("tp2"), CENTRE),
            accept(at(2025, 3, 5, 9, 10), Some("desk1")),
            resolve(at(2025, 3, 5, 9, 20), Some("desk1")),
        ],
    )
    .await;
    // B: accepted by the department, which then says nothing.
    let b = open(&s, CENTRE, CITY_PROC, at(2025, 3, 3, 8, 0), Some("desk1")).await;
    log(&s, &b, vec![transfer(at(2025, 3, 3, 8, 30), Some("desk1"), DEPT), accept(at(2025, 3, 3, 9, 0), Some("tp3"))])
        .await;
    // C: sent back to the citizen twice, the second time for a paper the procedure does not list.
    let c = open(&s, CENTRE, CITY_PROC, at(2025, 3, 3, 10, 0), Some("desk1")).await;
    let ask = |docs: &[&str]| EventKind::SupplementRequested {
        reason: "thiếu giấy tờ".into(),
        documents: docs.iter().map(|x| x.to_string()).collect(),
        reason_code: None,
    };
    log(
        &s,
        &c,
        vec![
            transfer(at(2025, 3, 3, 10, 30), Some("desk1"), DEPT),
            accept(at(2025, 3, 3, 11, 0), Some("tp1")),
            by(at(2025, 3, 3, 14, 0), Some("tp1"), ask(&["Đơn đề nghị cấp giấy phép"])),
            by(at(2025, 3, 4, 8, 0), None, EventKind::SupplementSupplied),
            by(at(2025, 3, 4, 14, 0), Some("tp1"), ask(&["Sổ hộ khẩu"])),
            by(at(2025, 3, 5, 8, 0), None, EventKind::SupplementSupplied),
            resolve(at(2025, 3, 6, 9, 0), Some("tp1")),
        ],
    )
    .await;
    // D, E, F: the ward's officer lets three dossiers (three working days each) go late.
    let mut late = Vec::new();
    for (day, done) in [(3, 7), (4, 10), (5, 11)] {
        let x = open(&s, WARD, WARD_PROC, at(2025, 3, day, 9, 0), Some("ward1")).await;
        log(
            &s,
            &x,
            vec![accept(at(2025, 3, day, 9, 5), Some("ward1")), resolve(at(2025, 3, done, 10, 0), Some("ward1"))],
        )
        .await;
        late.push(x);
    }
    // G: the transfer is keyed in the next morning by another officer (stated 10:00 on the
    // 10th, recorded 09:00 on the 11th); the department never accepts it.
    let g = open(&s, CENTRE, CITY_PROC, at(2025, 3, 10, 9, 0), Some("desk1")).await;
    s.record_stamped(&d, &g, transfer(at(2025, 3, 10, 10, 0), Some("desk3"), DEPT), at(2025, 3, 11, 9, 0))
        .await
        .unwrap();
    // H: a ward dossier whose every event was recorded without an officer, resolved late.
    let h = open(&s, WARD, WARD_PROC, at(2025, 3, 12, 9, 0), None).await;
    log(&s, &h, vec![accept(at(2025, 3, 12, 9, 5), None), resolve(at(2025, 3, 20, 10, 0), None)]).await;

    let march = |as_of, by| WatchQuery { from: day(2025, 3, 1), to: day(2025, 3, 31), as_of, by, agency: None };
    let end = at(2025, 3, 31, 23, 0);
    let q_agency = march(end, WatchBy::Agency);
    let list = watchlist(&s, &d, &q_agency).await.unwrap();

    // The bounce: each of the two returns is held against the agency that sent it back.
    assert_eq!(codes(&s, &list, &q_agency, CENTRE, WatchKind::Bounce).await, vec![a.clone()]);
    assert_eq!(codes(&s, &list, &q_agency, DEPT, WatchKind::Bounce).await, vec![a.clone()]);
    assert_eq!(codes(&s, &list, &q_agency, CENTRE, WatchKind::ExtraHandoffs).await, vec![a.clone()]);
    // The silent holders: B (and G, never accepted) at the department; the ward's four.
    assert_eq!(codes(&s, &list, &q_agency, DEPT, WatchKind::SilentHolder).await, sorted(vec![b.clone(), g.clone()]));
    assert_eq!(codes(&s, &list, &q_agency, DEPT, WatchKind::SecondSupplement).await, vec![c.clone()]);
    assert_eq!(codes(&s, &list, &q_agency, DEPT, WatchKind::UnlistedPapers).await, vec![c.clone()]);
    assert_eq!(list.supplements_twice.count, 1);
    let twice = WatchCellRef { kind: WatchKind::SecondSupplement, key: None };
    assert_eq!(dossiers(&s, &q_agency, &twice, Window::page(1, 50)).await.unwrap().rows, vec![c.clone()]);
    let mut ward_late = late.clone();
    ward_late.push(h.clone());
    assert_eq!(codes(&s, &list, &q_agency, WARD, WatchKind::Late).await, sorted(ward_late.clone()));
    assert_eq!(codes(&s, &list, &q_agency, WARD, WatchKind::LateWithoutApology).await, sorted(ward_late));
    assert_eq!(codes(&s, &list, &q_agency, DEPT, WatchKind::Late).await, sorted(vec![b.clone(), g.clone()]));
    assert!(codes(&s, &list, &q_agency, CENTRE, WatchKind::Late).await.is_empty(), "A and C finished early");
    // The backdated transfer, under the centre that held the dossier: 90 + 210 working minutes
    // on the 10th, 90 on the 11th.
    let centre = list.rows.iter().find(|r| r.key == CENTRE).unwrap();
    assert_eq!(centre.backdated, BackdatedSums { events: 1, gap_minutes: 390 });
    assert_eq!(centre.name, agency_name(&d, &ag(CENTRE)));
    assert_eq!(centre.handoffs.handoffs, 2, "A came back to the centre twice");
    // The rule on officers: ward1 was late three times; the unknown officer twice (G, H).
    assert_eq!(list.late_officers.len(), 1, "{:?}", list.late_officers);
    assert_eq!(list.late_officers[0].officer.as_deref(), Some("ward1"));
    assert_eq!(list.late_officers[0].late.count, 3);

    let q_officer = march(end, WatchBy::Officer);
    let officers = watchlist(&s, &d, &q_officer).await.unwrap();
    assert_eq!(codes(&s, &officers, &q_officer, "ward1", WatchKind::Late).await, sorted(late.clone()));
    assert_eq!(codes(&s, &officers, &q_officer, "desk2", WatchKind::Bounce).await, vec![a.clone()]);
    assert_eq!(codes(&s, &officers, &q_officer, "tp1", WatchKind::Bounce).await, vec![a.clone()]);
    assert_eq!(codes(&s, &officers, &q_officer, "tp3", WatchKind::SilentHolder).await, vec![b.clone()]);
    assert_eq!(codes(&s, &officers, &q_officer, "tp1", WatchKind::SecondSupplement).await, vec![c.clone()]);
    assert_eq!(
        codes(&s, &officers, &q_officer, "", WatchKind::Late).await,
        sorted(vec![g.clone(), h.clone()]),
        "unknown, not a person"
    );
    let desk3 = officers.rows.iter().find(|r| r.key == "desk3").unwrap();
    assert_eq!(desk3.backdated.events, 1);

    // As of the 13th, B's department had not yet run out of its nine days.
    let q_early = march(at(2025, 3, 13, 17, 0), WatchBy::Agency);
    let early = watchlist(&s, &d, &q_early).await.unwrap();
    assert!(codes(&s, &early, &q_early, DEPT, WatchKind::SilentHolder).await.is_empty());
    assert_eq!(codes(&s, &early, &q_early, WARD, WatchKind::Late).await, sorted(late.clone()), "H was not due yet");

    // The writer's tables equal a replay of the log through core, for every query.
    let replayed = replayed_facts(&s, &d).await.unwrap();
    let name = |x: &motcua_core::AgencyCode| agency_name(&d, x);
    let mut drilled = 0;
    for as_of in [at(2025, 3, 4, 9, 45), at(2025, 3, 13, 17, 0), at(2025, 3, 21, 9, 0), end] {
        for grouping in [WatchBy::Agency, WatchBy::Officer] {
            let q = march(as_of, grouping);
            let stored = watchlist(&s, &d, &q).await.unwrap();
            assert_eq!(stored, WatchList::build(&q, replayed.clone(), name), "as of {as_of}, by {grouping:?}");
            drilled += drill_down_equals_a_replay(&s, &q, &stored, &replayed).await;
        }
    }
    assert!(drilled > 20, "counts drilled into: {drilled}");
    let q = WatchQuery { agency: Some(ag(DEPT)), ..march(end, WatchBy::Officer) };
    let dept = watchlist(&s, &d, &q).await.unwrap();
    assert_eq!(dept, WatchList::build(&q, replayed.clone(), name));
    drill_down_equals_a_replay(&s, &q, &dept, &replayed).await;
    let stored_facts = s.watch_facts(q.start(), q.end(), q.from, q.last_day(), None).await.unwrap();
    assert!(!stored_facts.occurrences.is_empty() && !stored_facts.handoffs.is_empty());
    assert_eq!(
        stored_facts.within(&march(end, WatchBy::Agency)),
        replayed.clone().within(&march(end, WatchBy::Agency))
    );

    // The list is read from the tables: lost, it is empty; `recompute` rebuilds it.
    for table in ["watch_occurrences", "watch_handoffs", "watch_backdated", "watch_counts"] {
        s.raw(&format!("DELETE FROM {table}")).await.unwrap();
    }
    let lost = watchlist(&s, &d, &march(end, WatchBy::Agency)).await.unwrap();
    assert!(lost.rows.is_empty(), "{lost:?}");
    let diff = s.recompute(&d, false).await.unwrap();
    assert_eq!(diff.watch_changed.len(), 8, "every planted dossier has occurrences: {:?}", diff.watch_changed);
    assert!(diff.watch_cells > 0);
    assert!(diff.changed.is_empty() && diff.counts.is_empty());
    assert_eq!(watchlist(&s, &d, &march(end, WatchBy::Agency)).await.unwrap(), list);
    assert!(s.recompute(&d, true).await.unwrap().is_empty());

    // Tables from before version 25 get their flags and sums from the occurrences kept, by the
    // migration's own statements.
    s.raw("DELETE FROM watch_counts").await.unwrap();
    s.raw("UPDATE watch_occurrences SET repeated = false").await.unwrap();
    assert!(s.recompute(&d, true).await.unwrap().watch_cells > 0);
    for start in ["UPDATE watch_occurrences", "INSERT INTO watch_counts"] {
        s.raw(&migration_statement(s.migrations(), "0024_watch_counts.sql", start)).await.unwrap();
    }
    assert!(s.recompute(&d, true).await.unwrap().is_empty(), "the migration fills what the writer keeps");
    assert_eq!(watchlist(&s, &d, &march(end, WatchBy::Agency)).await.unwrap(), list);

    // A later event moves a dossier's future occurrences: B's department finally resolves it.
    s.record_stamped(&d, &b, resolve(at(2025, 4, 2, 9, 0), Some("tp3")), at(2025, 4, 2, 9, 0)).await.unwrap();
    let after = watchlist(&s, &d, &march(end, WatchBy::Agency)).await.unwrap();
    assert_eq!(after, list, "what happened in March stays counted");
    let facts: WatchFacts = replayed_facts(&s, &d).await.unwrap();
    let april =
        WatchQuery { from: day(2025, 4, 1), to: day(2025, 4, 30), ..march(at(2025, 4, 30, 17, 0), WatchBy::Agency) };
    assert_eq!(watchlist(&s, &d, &april).await.unwrap(), WatchList::build(&april, facts, name));
    assert!(s.recompute(&d, true).await.unwrap().is_empty());
}

/// Officers are named by their account (issue 16, item 4): events brought in as history with
/// no officer, or a blank one, count under "unknown" — never under a person, even one who
/// recorded other events of the same dossiers — and the list groups by account.
pub async fn history_without_an_officer_counts_under_unknown<S: Backend>(s: S) {
    use motcua_core::Intake;
    use motcua_store::BatchItem;
    let d = domain();
    let record = |code: &DossierCode, t, who: Option<&str>, kind| BatchItem::Record {
        code: code.clone(),
        event: by(t, who, kind),
    };
    let mut items = Vec::new();
    let mut planted: Vec<(DossierCode, Option<&str>)> = Vec::new();
    // Three working days each at the ward, finished a week later: late. The first three were
    // brought in without an officer (none, or a blank one), the last two by ward2.
    for (n, worker) in [(1, None), (2, Some("")), (3, Some("  ")), (4, Some("ward2")), (5, Some("ward2"))] {
        let code: DossierCode = format!("{WARD}-250303-{n:04}").parse().unwrap();
        let intake = Intake {
            code: code.clone(),
            procedure: WARD_PROC.parse().unwrap(),
            agency: ag(WARD),
            applicant: new_dossier(WARD, WARD_PROC, "Phạm Thị Hoa").applicant,
            channel: motcua_core::Channel::InPerson,
            documents: Vec::new(),
            digitised: None,
        };
        items.push(record(&code, at(2025, 3, 3, 9, 0), worker, EventKind::Received { intake }));
        items.push(record(&code, at(2025, 3, 3, 9, 10), worker, EventKind::Accepted));
        let done =
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None };
        items.push(record(&code, at(2025, 3, 12, 10, 0), worker, done));
        planted.push((code, worker));
    }
    let results = s.record_history(&d, items, at(2025, 3, 31, 9, 0)).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:#?}");
    // Every event keeps the officer as it came (the log is not rewritten).
    for (code, worker) in &planted {
        let log = s.events(code).await.unwrap();
        assert_eq!((log[0].by.as_deref(), log[1].by.as_deref(), log[2].by.as_deref()), (*worker, *worker, *worker));
    }

    let q = WatchQuery {
        from: day(2025, 3, 1),
        to: day(2025, 3, 31),
        as_of: at(2025, 3, 31, 23, 0),
        by: WatchBy::Officer,
        agency: None,
    };
    let list = watchlist(&s, &d, &q).await.unwrap();
    let keys: Vec<&str> = list.rows.iter().map(|r| r.key.as_str()).collect();
    // A blank account is no row of its own: "" (unknown) and ward2 only.
    assert_eq!(keys, ["", "ward2"], "{keys:?}");
    let unknown_row = &list.rows[0];
    assert_eq!(unknown_row.backdated.events, 9, "brought in after they were stated: backdated, under unknown");
    let unknown: Vec<DossierCode> = planted.iter().take(3).map(|(c, _)| c.clone()).collect();
    assert_eq!(codes(&s, &list, &q, "", WatchKind::Late).await, unknown, "unknown, not a person");
    assert_eq!(codes(&s, &list, &q, "ward2", WatchKind::Late).await.len(), 2);
    // The city's rule lists the unknown officer (three late) as unknown, not a person.
    let listed: Vec<Option<&str>> = list.late_officers.iter().map(|o| o.officer.as_deref()).collect();
    assert_eq!(listed, [None]);
    // And it equals a replay of the log through core.
    let replayed = replayed_facts(&s, &d).await.unwrap();
    assert_eq!(list, WatchList::build(&q, replayed.clone(), |x| agency_name(&d, x)));
    drill_down_equals_a_replay(&s, &q, &list, &replayed).await;
}

/// A wall clock gives nanoseconds; the log keeps microseconds. An apology recorded at such an
/// instant after the due date (as the scheduler records one) is an occurrence at the log's
/// instant: the log, the projection and the watch list replay to what was written.
pub async fn an_instant_with_nanoseconds_replays_to_what_was_written<S: Backend>(s: S) {
    let d = domain();
    let code = open(&s, WARD, WARD_PROC, at(2025, 3, 3, 9, 0), Some("ward1")).await;
    log(&s, &code, vec![by(at(2025, 3, 3, 9, 10), Some("ward1"), EventKind::Accepted)]).await;
    let late = at(2025, 4, 21, 10, 0) + chrono::Duration::nanoseconds(849_576_320);
    let apology = EventKind::Rescheduled {
        to: at(2025, 4, 25, 17, 0),
        reason: "quá hạn".into(),
        responsible: Some(ag(WARD)),
        automatic: true,
        override_second: false,
        reason_code: None,
    };
    s.record_stamped(&d, &code, by(late, Some("scheduler"), apology), late).await.unwrap();
    let logged = s.events(&code).await.unwrap();
    assert_eq!(logged[2].at, at(2025, 4, 21, 10, 0) + chrono::Duration::microseconds(849_576));
    let diff = s.recompute(&d, true).await.unwrap();
    assert!(diff.is_empty(), "nothing to change: {diff:?}");
}
