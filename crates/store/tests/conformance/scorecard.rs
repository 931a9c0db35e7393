//! The chair's scorecard on both backends: planted cases counted where core says, the sums
//! the writer keeps equal to a replay of every dossier through core, for several periods and
//! as-of instants; empty populations and unrecorded data.

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::analysis::Ratio;
use motcua_core::calendar::to_local;
use motcua_core::petition::{Complexity, ItemEvent, ItemEventKind, Kind, replay as replay_item};
use motcua_core::scorecard::{ScoreBy, Tally, add_item, replay};
use motcua_core::{Channel, DossierCode, Event, EventKind, Outcome};
use motcua_store::scorecard::{ScoreQuery, Scorecard, ScorecardStore, scorecard};
use motcua_store::{NewItem, PetitionStore, Rating};

use super::support::*;

fn ev(t: DateTime<Utc>, kind: EventKind) -> Event {
    Event::new(t, Some("officer".into()), kind)
}

async fn log<S: Backend>(s: &S, code: &DossierCode, events: Vec<Event>) {
    let d = domain();
    for e in events {
        let t = e.at;
        s.record_stamped(&d, code, e, t).await.unwrap();
    }
}

async fn open<S: Backend>(s: &S, agency: &str, procedure: &str, t: DateTime<Utc>, online: bool) -> DossierCode {
    let d = domain();
    let mut new = new_dossier(agency, procedure, "Trần Thị Bình");
    if online {
        new.channel = Channel::Online;
        new.online = true;
    }
    let code = s.intake_stamped(&d, new, t, None, None, t).await.unwrap().code.unwrap();
    if online {
        log(s, &code, vec![ev(t, EventKind::AcceptedOnline)]).await;
    }
    code
}

/// Core's figures from every dossier replayed up to the period's end, per lead agency and in
/// total (the dossier part: ratings and petitions are read alike by both).
async fn replayed<S: Backend>(s: &S, q: &ScoreQuery, p0: DateTime<Utc>, p1: DateTime<Utc>) -> Vec<(String, Tally)> {
    let d = domain();
    let mut dossiers = Vec::new();
    for row in s.dossiers_page(None, 10_000).await.unwrap() {
        let events = s.events(&row.code).await.unwrap();
        dossiers.push(d.replay_until(events.iter(), p1).unwrap());
    }
    let mut out: Vec<(String, Tally)> = replay(&d, &dossiers, p0, p1)
        .unwrap()
        .into_iter()
        .filter(|(a, _)| q.agency.as_ref().is_none_or(|only| only.as_str() == a))
        .collect();
    out.retain(|(_, t)| *t != Tally::default());
    out
}

/// The citizens' voice of a period per lead agency, computed the slow way: every rating of the
/// period joined to its dossier, every item replayed from its events up to `p1` (the sums of
/// migration 32 and the items' projection rows must give the same).
async fn voice<S: Backend + PetitionStore>(
    s: &S,
    q: &ScoreQuery,
    p0: DateTime<Utc>,
    p1: DateTime<Utc>,
) -> Vec<(String, (u64, Ratio, Ratio))> {
    let d = domain();
    let mut out: std::collections::BTreeMap<String, Tally> = Default::default();
    if p1 >= p0 {
        let end = p1 + chrono::Duration::microseconds(1);
        for (a, r) in s.rating_counts(p0, end).await.unwrap() {
            out.entry(a.to_string()).or_default().dislikes += r.dissatisfied;
        }
        for row in s.items_received_between(DateTime::<Utc>::UNIX_EPOCH, end).await.unwrap() {
            let events = s.item_events(&row.code).await.unwrap();
            let item = replay_item(&d, events.iter().filter(|e| e.at <= p1)).unwrap();
            let a = item.agency.as_ref().unwrap().to_string();
            add_item(out.entry(a).or_default(), &item, p0, p1);
        }
    }
    out.into_iter()
        .filter(|(a, _)| q.agency.as_ref().is_none_or(|only| only.as_str() == a))
        .map(|(a, t)| (a, (t.dislikes, t.petitions_on_time, t.petitions_satisfied)))
        .filter(|(_, v)| *v != (0, Ratio::default(), Ratio::default()))
        .collect()
}

fn voice_of(card: &Scorecard) -> Vec<(String, (u64, Ratio, Ratio))> {
    card.rows
        .iter()
        .map(|r| (r.key.clone(), (r.tally.dislikes, r.tally.petitions_on_time, r.tally.petitions_satisfied)))
        .filter(|(_, v)| *v != (0, Ratio::default(), Ratio::default()))
        .collect()
}

/// The dossier part of a tally.
fn dossier_part(t: &Tally) -> Tally {
    Tally { dislikes: 0, petitions_on_time: Default::default(), petitions_satisfied: Default::default(), ..t.clone() }
}

fn by_key(card: &Scorecard) -> Vec<(String, Tally)> {
    let mut v: Vec<(String, Tally)> = card.rows.iter().map(|r| (r.key.clone(), dossier_part(&r.tally))).collect();
    v.retain(|(_, t)| *t != Tally::default());
    v
}

async fn card<S: Backend + ScorecardStore + PetitionStore>(s: &S, q: &ScoreQuery) -> Scorecard {
    scorecard(s, &domain(), q).await.unwrap()
}

/// Planted cases through the write path: the scorecard counts each where core says, and equals
/// core's replay of every dossier for several periods, groupings and as-of instants.
pub async fn the_scorecard_is_kept_by_the_writer_and_equals_a_replay<S: Backend + ScorecardStore + PetitionStore>(
    s: S,
) {
    let d = domain();
    let resolve = |t| {
        ev(t, EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None })
    };
    let accept = |t| ev(t, EventKind::Accepted);
    // Ward, 3 working days: one online and early, one in person and late (apology with the
    // result), one in person left open past due (no apology), one with a new date in time.
    let early = open(&s, WARD, WARD_PROC, at(2025, 3, 3, 9, 0), true).await;
    log(&s, &early, vec![accept(at(2025, 3, 3, 9, 5)), resolve(at(2025, 3, 4, 10, 0))]).await;
    let late = open(&s, WARD, WARD_PROC, at(2025, 3, 3, 9, 0), false).await;
    log(&s, &late, vec![accept(at(2025, 3, 3, 9, 5)), resolve(at(2025, 3, 12, 10, 0))]).await;
    let overdue = open(&s, WARD, WARD_PROC, at(2025, 3, 4, 9, 0), false).await;
    log(&s, &overdue, vec![accept(at(2025, 3, 4, 9, 5))]).await;
    let apologised = open(&s, WARD, WARD_PROC, at(2025, 3, 5, 9, 0), false).await;
    log(
        &s,
        &apologised,
        vec![
            accept(at(2025, 3, 5, 9, 5)),
            ev(
                at(2025, 3, 6, 9, 0),
                EventKind::Rescheduled {
                    to: at(2025, 3, 14, 9, 0),
                    reason: "chờ xác minh".into(),
                    responsible: None,
                    automatic: false,
                    override_second: false,
                    reason_code: Some("agency_workload".into()),
                },
            ),
        ],
    )
    .await;
    // One received in April, finished in April.
    let april = open(&s, WARD, WARD_PROC, at(2025, 4, 1, 9, 0), true).await;
    log(&s, &april, vec![accept(at(2025, 4, 1, 9, 5)), resolve(at(2025, 4, 2, 9, 0))]).await;
    // A dissatisfied rating of the late one, and a complaint about it.
    assert!(
        s.rate(&Rating { code: late.clone(), score: 1, comment: None, rated_at: at(2025, 3, 13, 9, 0) }).await.unwrap()
    );
    let item = NewItem {
        kind: Kind::Complaint,
        agency: ag(WARD),
        applicant: new_dossier(WARD, WARD_PROC, "Trần Thị Bình").applicant,
        text: "Hồ sơ trễ hạn".into(),
        dossier: Some(late.clone()),
        channel: motcua_core::petition::ItemChannel::InPerson,
    };
    let filed = s.file_item(&d, item, at(2025, 3, 13, 10, 0), None, at(2025, 3, 13, 10, 0)).await.unwrap();
    assert!(replay_item(&d, s.item_events(filed.code.as_ref().unwrap()).await.unwrap().iter()).is_ok());
    // Accepted the next day, answered on 4 April: read as of mid-March it is replayed (events
    // after the instant), as of April from its projection row.
    let item_code = filed.code.clone().unwrap();
    let item_ev = |t, kind| ItemEvent::new(t, Some("officer".into()), kind);
    let accepted = ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false };
    s.record_item(&d, &item_code, item_ev(at(2025, 3, 14, 9, 0), accepted), at(2025, 3, 14, 9, 0)).await.unwrap();
    let answered = ItemEventKind::Answered { text: "Đã xử lý".into() };
    s.record_item(&d, &item_code, item_ev(at(2025, 4, 4, 9, 0), answered), at(2025, 4, 4, 9, 0)).await.unwrap();
    // A satisfied rating of the April dossier, on a day of its own.
    assert!(
        s.rate(&Rating { code: april.clone(), score: 5, comment: None, rated_at: at(2025, 4, 2, 15, 0) })
            .await
            .unwrap()
    );

    let q = ScoreQuery::new;
    let march_end = at(2025, 3, 31, 23, 0);
    let march = card(&s, &q(day(2025, 3, 1), day(2025, 3, 31), ScoreBy::Agency, march_end)).await;
    let ward = march.rows.iter().find(|r| r.key == WARD).unwrap();
    let i = |k| ward.indicators.get(k).unwrap().clone();
    assert_eq!((i("online_submission_3_3").numerator, i("online_submission_3_3").denominator), (1, 4));
    assert_eq!(i("online_submission_3_3").meets, Some(false));
    // Late: one finished late (apologised with its result), two open past due at the end of
    // March (the new date does not move the due date), one of them with an apology.
    assert_eq!((i("apology_coverage").numerator, i("apology_coverage").denominator), (2, 3));
    assert_eq!(i("late_by_cause").denominator, 3);
    assert_eq!(ward.indicators.late_by_cause.unknown, 2, "no reason code recorded");
    assert_eq!(ward.indicators.late_by_cause.agency, 1, "agency_workload, on the new date");
    assert_eq!(ward.indicators.late_by_cause.by_code.get("agency_workload"), Some(&1));
    // 5.4: two finished, one late, one dislike (the rating) and one complaint about a dossier.
    assert_eq!((i("satisfaction_5_4").numerator, i("satisfaction_5_4").denominator), (0, 2));
    assert_eq!(i("satisfaction_5_4").points, Some(0.0));
    // 2.2: one working day and seven.
    assert_eq!((i("average_days_2_2").numerator, i("average_days_2_2").denominator), (8, 2));
    assert_eq!(i("average_days_2_2").value, Some(4.0));
    // Nothing recorded about digitisation, payments or electronic results: unknown, not zero.
    assert_eq!(ward.indicators.unknown.digitised, 4);
    assert_eq!(ward.indicators.unknown.electronic_result, 2);
    assert_eq!(i("digitised_4_2").denominator, 0);
    assert_eq!(i("digitised_4_2").value, None);
    assert_eq!(i("digitised_4_2").meets, None);
    assert_eq!(i("online_payment").value, None, "nothing paid: no denominator");
    assert_eq!(i("complaints_on_time_5_2").denominator, 0);
    // The apology with a new date was issued more than a working day before the due date.
    assert_eq!((i("apology_on_time").numerator, i("apology_on_time").denominator), (1, 2));

    // An empty period: every denominator 0, every value null.
    let empty = card(&s, &q(day(2025, 1, 1), day(2025, 1, 31), ScoreBy::Agency, march_end)).await;
    assert!(empty.rows.is_empty());
    for (k, i) in &empty.total.indicators.list {
        if *k != "fees_collected_vnd" {
            assert_eq!((i.denominator, i.value), (0, None), "{k}");
        }
    }

    // The writer's sums equal core's replay of every dossier, for every period and instant.
    let instants = [
        at(2025, 3, 3, 9, 2),
        at(2025, 3, 4, 12, 0),
        at(2025, 3, 10, 8, 0),
        at(2025, 3, 12, 10, 0),
        at(2025, 3, 13, 9, 30),
        at(2025, 3, 13, 12, 0),
        at(2025, 3, 20, 12, 0),
        march_end,
        at(2025, 4, 1, 10, 0),
        at(2025, 4, 30, 23, 0),
    ];
    let periods =
        [(day(2025, 3, 1), day(2025, 3, 31)), (day(2025, 3, 4), day(2025, 4, 30)), (day(2025, 4, 1), day(2025, 4, 2))];
    let mut voiced = 0;
    for as_of in instants {
        for (from, to) in periods {
            for agency in [None, Some(ag(WARD))] {
                let mut query = q(from, to, ScoreBy::Agency, as_of);
                query.agency = agency;
                let stored = card(&s, &query).await;
                let expected = replayed(&s, &query, stored.p0, stored.p1).await;
                assert_eq!(by_key(&stored), expected, "{from}..{to} as of {as_of}");
                let heard = voice(&s, &query, stored.p0, stored.p1).await;
                assert_eq!(voice_of(&stored), heard, "{from}..{to} as of {as_of}: ratings and petitions");
                voiced += heard.len();
                let monthly = card(&s, &ScoreQuery { by: ScoreBy::Month, ..query.clone() }).await;
                assert_eq!(
                    dossier_part(&monthly.total.tally),
                    dossier_part(&stored.total.tally),
                    "{from}..{to} as of {as_of}: the months' total is the period's"
                );
            }
        }
    }

    assert!(voiced > 0, "some periods hear the rating or the complaint");

    // Lost sums come back with `recompute`.
    s.raw("DELETE FROM scorecard_counts").await.unwrap();
    s.raw("DELETE FROM rating_days").await.unwrap();
    let diff = s.recompute(&d, false).await.unwrap();
    assert!(diff.unreplayable.is_empty());
    let again = card(&s, &q(day(2025, 3, 1), day(2025, 3, 31), ScoreBy::Agency, march_end)).await;
    assert_eq!(by_key(&again), by_key(&march));
    assert_eq!(voice_of(&again), voice_of(&march));
    assert_eq!(voice_of(&march).iter().map(|(_, v)| v.0).sum::<u64>(), 2, "the rating and the complaint");
}

/// The scorecard of a history across the 2025 reform (planted by the report's check of the
/// same name): with `as_successors` a ceased ward's dossiers are counted whole under its
/// successor of the as-of day — each row equal to core's replay regrouped that way, `into`'s
/// row the sum of its own and its predecessors' rows as they were, the total unchanged; the
/// agency filter narrows to the agency rows are counted under, in both groupings; a ceased
/// agency is no filter of that view.
pub async fn the_scorecard_counts_history_under_successors<S: Backend + ScorecardStore + PetitionStore>(
    s: &S,
    (from, to): (NaiveDate, NaiveDate),
    instants: &[DateTime<Utc>],
    (into, predecessors): (&str, &[&str]),
    ceased: &str,
) {
    let d = domain();
    let q = |as_of| ScoreQuery::new(from, to, ScoreBy::Agency, as_of);
    for &as_of in instants {
        let on = to_local(as_of).date();
        let was = card(s, &q(as_of)).await;
        let now = card(s, &ScoreQuery { as_successors: true, ..q(as_of) }).await;
        assert_eq!((was.as_successors, now.as_successors), (None, Some(on)));
        let mut expected: std::collections::BTreeMap<String, Tally> = Default::default();
        for (lead, t) in replayed(s, &q(as_of), now.p0, now.p1).await {
            expected.entry(d.catalog.reporting_agency(&ag(&lead), on).to_string()).or_default().add(&t);
        }
        assert_eq!(by_key(&now), expected.into_iter().collect::<Vec<_>>(), "as of {as_of}");
        assert_eq!(now.total.tally, was.total.tally, "regrouping moves dossiers, never adds or drops one");
        let mut merged = Tally::default();
        for r in was.rows.iter().filter(|r| r.key == into || predecessors.contains(&r.key.as_str())) {
            merged.add(&r.tally);
        }
        let row = now.rows.iter().find(|r| r.key == into).map(|r| r.tally.clone()).unwrap_or_default();
        assert_eq!(row, merged, "{into} as of {as_of}");
        assert!(now.rows.iter().all(|r| !predecessors.contains(&r.key.as_str())), "{:?}", by_key(&now));
        let only = ScoreQuery { as_successors: true, agency: Some(ag(into)), ..q(as_of) };
        only.check(&d).unwrap();
        let narrowed = card(s, &only).await;
        assert!(narrowed.rows.iter().all(|r| r.key == into), "{:?}", by_key(&narrowed));
        assert_eq!(narrowed.total.tally, row);
        let monthly = card(s, &ScoreQuery { by: ScoreBy::Month, ..only.clone() }).await;
        assert_eq!(dossier_part(&monthly.total.tally), dossier_part(&row), "the months' total is the period's");
    }
    let stale = ScoreQuery { as_successors: true, agency: Some(ag(ceased)), ..q(instants[instants.len() - 1]) };
    assert!(stale.check(&d).unwrap_err().contains("counted under"), "a ceased agency is no filter of the view");
    assert!(ScoreQuery { agency: Some(ag(ceased)), ..q(instants[0]) }.check(&d).is_ok(), "as it was, it is");
}
