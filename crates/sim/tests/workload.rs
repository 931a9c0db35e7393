//! The planned workload against the sample catalog and the official calendars: it replays,
//! it is deterministic, and its shares are those DOMAIN.md §9 describes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use motcua_core::analysis::analyse;
use motcua_core::deadlines::WaitKind;
use motcua_core::{
    Calendar, CalendarData, Catalog, Channel, ClassifyMode, Domain, EventKind, OfficeHours, Outcome, Status,
};
use motcua_sim::{Bucket, PlannedDossier, SimConfig, plan};

fn domain() -> Domain {
    let years = [
        ("2023.toml", include_str!("../../../config/calendars/vn/2023.toml")),
        ("2024.toml", include_str!("../../../config/calendars/vn/2024.toml")),
        ("2025.toml", include_str!("../../../config/calendars/vn/2025.toml")),
        ("2026.toml", include_str!("../../../config/calendars/vn/2026.toml")),
        ("2027.toml", include_str!("../../../config/calendars/vn/2027.toml")),
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

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn year_2025(dossiers: u64, seed: u64) -> SimConfig {
    SimConfig { dossiers, seed, from: date(2025, 1, 1), to: date(2025, 12, 31) }
}

#[test]
fn the_same_seed_gives_the_same_plan() {
    let domain = domain();
    let a: Vec<PlannedDossier> = plan(&domain, &year_2025(2_000, 42)).unwrap().collect();
    let b: Vec<PlannedDossier> = plan(&domain, &year_2025(2_000, 42)).unwrap().collect();
    let c: Vec<PlannedDossier> = plan(&domain, &year_2025(2_000, 43)).unwrap().collect();
    assert_eq!(a.len(), 2_000);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[derive(Default, Debug)]
struct Shares {
    dossiers: u64,
    buckets: BTreeMap<Bucket, u64>,
    online: u64,
    postal: u64,
    refused_at_receipt: u64,
    resolved: u64,
    resolved_late: u64,
    finished: u64,
    finished_late: u64,
    refused: u64,
    withdrawn: u64,
    stopped: u64,
    open: u64,
    supplemented: u64,
    second_supplement: u64,
    payment: u64,
    bounced: u64,
    late_by_bucket: BTreeMap<Bucket, (u64, u64)>,
    late_apologised: u64,
    apology_after_due: u64,
    returned: u64,
    events: u64,
}

fn pct(n: u64, d: u64) -> f64 {
    if d == 0 { 0.0 } else { 100.0 * n as f64 / d as f64 }
}

#[test]
fn twenty_thousand_dossiers_replay_and_have_realistic_shares() {
    let domain = domain();
    let cfg = year_2025(20_000, 2025);
    let mut plan = plan(&domain, &cfg).unwrap();
    let buckets: BTreeMap<_, _> = plan.mix().entries.iter().map(|e| (e.code.clone(), e.bucket)).collect();
    let mut s = Shares::default();
    let mut codes = std::collections::BTreeSet::new();
    let mut previous_intake = None;
    for p in plan.by_ref() {
        s.dossiers += 1;
        // In order of intake, times non-decreasing, all after the intake.
        assert!(previous_intake.is_none_or(|t| t <= p.received_at));
        previous_intake = Some(p.received_at);
        let mut last = p.received_at;
        for (at, _, _) in &p.events {
            assert!(*at >= last, "events out of order in {p:?}");
            last = *at;
        }
        let code = p.code().unwrap();
        assert!(codes.insert(code.clone()), "duplicate code {code}");
        let log = p.log(code);
        s.events += log.len() as u64;
        let d = domain.replay(&log).unwrap_or_else(|e| panic!("{e}: {log:#?}"));

        let bucket = buckets[&p.procedure];
        *s.buckets.entry(bucket).or_default() += 1;
        match p.channel {
            Channel::Online => s.online += 1,
            Channel::Postal => s.postal += 1,
            Channel::InPerson => {}
        }
        let status = d.status.unwrap();
        if status == Status::RefusedAtReceipt {
            s.refused_at_receipt += 1;
            continue;
        }
        if status.is_open() || status == Status::RegisteredOnline {
            s.open += 1;
        }
        match status {
            Status::Withdrawn => s.withdrawn += 1,
            Status::Stopped => s.stopped += 1,
            Status::Returned => s.returned += 1,
            _ => {}
        }
        if d.outcome == Some(Outcome::Refused) {
            s.refused += 1;
        }
        if d.supplement_count() > 0 {
            s.supplemented += 1;
        }
        if d.supplement_count() > 1 {
            s.second_supplement += 1;
        }
        if d.waits.iter().any(|w| w.kind == WaitKind::Payment) {
            s.payment += 1;
        }
        if let (Some(f), Some(due)) = (d.finished_at, d.due_at) {
            s.finished += 1;
            let late = f > due;
            if late {
                s.finished_late += 1;
            }
            if d.outcome.is_some() {
                s.resolved += 1;
                let e = s.late_by_bucket.entry(bucket).or_default();
                e.1 += 1;
                if late {
                    s.resolved_late += 1;
                    e.0 += 1;
                    if !d.reschedules.is_empty() {
                        s.late_apologised += 1;
                    }
                    if d.reschedules.iter().any(|r| r.after_due) {
                        s.apology_after_due += 1;
                    }
                }
            }
        }
        let procedure = domain.procedure(d.procedure.as_ref().unwrap()).unwrap();
        let cal = domain.calendar_for(d.receiving_agency.as_ref().unwrap());
        let a = analyse(&d, procedure, cal, d.last_event_at.unwrap(), ClassifyMode::default()).unwrap();
        if a.bounces > 0 {
            s.bounced += 1;
        }
    }
    assert_eq!(plan.rejected_events(), 0, "core refused planned events");
    assert_eq!(plan.dropped(), 0);
    assert!(plan.single_agency_supported(), "core lets the receiving agency process a dossier itself");
    assert_eq!(s.dossiers, 20_000);

    let n = s.dossiers;
    eprintln!("single-agency procedures simulated: {}", plan.single_agency_supported());
    for b in Bucket::ALL {
        let (late, resolved) = s.late_by_bucket.get(&b).copied().unwrap_or_default();
        eprintln!(
            "bucket {:>6}: {:5.2} % of dossiers (mix {:5.2} %), late {:5.2} % of {resolved} resolved",
            b.name(),
            pct(s.buckets.get(&b).copied().unwrap_or(0), n),
            100.0 * plan.mix().bucket_share(b),
            pct(late, resolved)
        );
    }
    eprintln!(
        "online {:.2} %, postal {:.2} %, refused at receipt {:.2} %, open at the end {:.2} %",
        pct(s.online, n),
        pct(s.postal, n),
        pct(s.refused_at_receipt, n),
        pct(s.open, n)
    );
    eprintln!(
        "late: {:.2} % of resolved, {:.2} % of finished; apologised {:.1} % of late resolved ({} after the due date)",
        pct(s.resolved_late, s.resolved),
        pct(s.finished_late, s.finished),
        pct(s.late_apologised, s.resolved_late),
        s.apology_after_due
    );
    eprintln!(
        "supplements {:.2} % (second {:.2} %), payment waits {:.2} %, bounces {:.2} %",
        pct(s.supplemented, n),
        pct(s.second_supplement, n),
        pct(s.payment, n),
        pct(s.bounced, n)
    );
    eprintln!(
        "refused {:.2} %, withdrawn {:.2} %, stopped {:.2} %, returned {:.2} %, {:.1} events per dossier",
        pct(s.refused, n),
        pct(s.withdrawn, n),
        pct(s.stopped, n),
        pct(s.returned, n),
        s.events as f64 / n as f64
    );

    let share = |b| pct(s.buckets.get(&b).copied().unwrap_or(0), n);
    assert!((share(Bucket::Short) - 60.0).abs() < 3.0, "short {}", share(Bucket::Short));
    assert!((share(Bucket::Medium) - 30.0).abs() < 3.0, "medium {}", share(Bucket::Medium));
    assert!((share(Bucket::Long) - 10.0).abs() < 2.0, "long {}", share(Bucket::Long));
    let late = pct(s.resolved_late, s.resolved);
    assert!((0.5..=5.0).contains(&late), "late {late} %");
    let late_of = |b| {
        let (l, r) = s.late_by_bucket.get(&b).copied().unwrap_or_default();
        pct(l, r)
    };
    assert!(late_of(Bucket::Long) > late_of(Bucket::Short), "long procedures are late more often");
    assert!((35.0..=45.0).contains(&pct(s.online, n)));
    assert!((6.0..=11.0).contains(&pct(s.supplemented, n)), "supplements {}", pct(s.supplemented, n));
    assert!(s.second_supplement > 0);
    assert!((6.0..=14.0).contains(&pct(s.payment, n)), "payments {}", pct(s.payment, n));
    assert!((0.4..=2.0).contains(&pct(s.bounced, n)), "bounces {}", pct(s.bounced, n));
    assert!((0.5..=1.5).contains(&pct(s.withdrawn, n)), "withdrawn {}", pct(s.withdrawn, n));
    assert!((0.2..=1.0).contains(&pct(s.stopped, n)), "stopped {}", pct(s.stopped, n));
    assert!((2.0..=4.0).contains(&pct(s.refused, n)), "refused {}", pct(s.refused, n));
    assert!(pct(s.late_apologised, s.resolved_late) > 60.0, "most late dossiers are apologised for");
    assert!(s.apology_after_due > 0, "a few apologies come after the due date");
    assert!(s.open > 0, "dossiers received near the end are still open");
}

#[test]
fn arrivals_fall_on_working_days_in_office_hours_with_a_morning_peak() {
    let domain = domain();
    let plan: Vec<PlannedDossier> =
        plan(&domain, &SimConfig { dossiers: 3_000, seed: 9, from: date(2025, 1, 20), to: date(2025, 2, 14) })
            .unwrap()
            .collect();
    let (mut morning, mut afternoon) = (0, 0);
    for p in plan.iter().filter(|p| p.channel != Channel::Online) {
        let local = motcua_core::calendar::to_local(p.received_at);
        let cal = domain.calendar_for(&p.agency);
        assert!(cal.is_working_day(local.date()).unwrap(), "{local} is not a working day (Tết is 27–31/1)");
        let t = local.time();
        let w = cal.hours().windows();
        assert!(w.iter().any(|w| w.open <= t && t < w.close), "{local} is outside office hours");
        if t < w[0].close {
            morning += 1
        } else {
            afternoon += 1
        }
        assert!(local.date() >= date(2025, 1, 20) && local.date() <= date(2025, 2, 14));
    }
    assert!(morning > afternoon, "{morning} vs {afternoon}");
    // Some online registrations come over the weekend.
    assert!(plan.iter().any(|p| p.channel == Channel::Online
        && !domain.calendar.is_working_day(motcua_core::calendar::to_local(p.received_at).date()).unwrap()));
}

#[test]
fn the_end_of_the_calendar_is_never_crossed() {
    let domain = domain();
    let last = domain.calendar.last_date();
    let cfg = SimConfig { dossiers: 2_000, seed: 5, from: date(2027, 12, 1), to: last };
    let mut plan = plan(&domain, &cfg).unwrap();
    let mut n = 0;
    for p in plan.by_ref() {
        n += 1;
        let log = p.log(p.code().unwrap());
        domain.replay(&log).unwrap();
        assert!(log.iter().all(|e| motcua_core::calendar::to_local(e.at).date() <= last));
    }
    assert_eq!(plan.rejected_events(), 0);
    assert_eq!(n + plan.dropped(), 2_000);
}

#[test]
fn bad_periods_are_errors() {
    let domain = domain();
    assert!(plan(&domain, &SimConfig { dossiers: 1, seed: 1, from: date(2025, 2, 1), to: date(2025, 1, 1) }).is_err());
    assert!(plan(&domain, &SimConfig { dossiers: 1, seed: 1, from: date(2020, 1, 1), to: date(2020, 2, 1) }).is_err());
    assert!(
        plan(&domain, &SimConfig { dossiers: 1, seed: 1, from: date(2025, 1, 27), to: date(2025, 2, 2) }).is_err(),
        "Tết has no working day"
    );
}

#[test]
fn planned_logs_name_staff_and_online_dossiers_start_on_the_portal() {
    let domain = domain();
    for p in plan(&domain, &year_2025(500, 3)).unwrap() {
        let log = p.log(p.code().unwrap());
        match p.channel {
            Channel::Online => {
                assert!(matches!(log[0].kind, EventKind::RegisteredOnline { .. }));
                assert!(log[0].by.is_none());
                if let Some(e) = log.get(1) {
                    assert!(matches!(e.kind, EventKind::AcceptedOnline | EventKind::RefusedAtReceipt { .. }));
                }
            }
            Channel::InPerson | Channel::Postal => assert!(matches!(log[0].kind, EventKind::Received { .. })),
        }
        for e in &log[1..] {
            if !matches!(e.kind, EventKind::Paid { .. }) {
                assert!(e.by.as_deref().is_some_and(|b| b.starts_with("tn") || b.starts_with("cv")), "{e:?}");
            }
        }
    }
}

/// The watch list over the planned year: the planted avoidance (bounces, second supplements,
/// papers not listed, late dossiers and late apologies) and what the stations' paces give
/// (silent holders), in the shares docs/simulation.md gives, and officers late more than twice.
#[test]
fn the_watch_list_finds_the_planted_avoidance_in_documented_shares() {
    use motcua_core::watchlist::{WatchBy, WatchFacts, WatchKind, WatchList, WatchQuery, follow};
    let domain = domain();
    let mut facts = WatchFacts::default();
    let mut n = 0u64;
    for p in plan(&domain, &year_2025(20_000, 2025)).unwrap() {
        let code = p.code().unwrap();
        // Recorded as they happen: nothing backdated.
        let log: Vec<_> = p
            .log(code.clone())
            .into_iter()
            .map(|e| {
                let t = e.at;
                (e, t)
            })
            .collect();
        let (_, occurrences, events) = follow(&domain, &log).unwrap();
        assert!(events.iter().all(|f| f.backdated.is_none()));
        facts.add_dossier(&code, occurrences, &events);
        n += 1;
    }
    let q = WatchQuery {
        from: date(2025, 1, 1),
        to: date(2026, 6, 30),
        as_of: motcua_core::calendar::from_local(date(2026, 6, 30).and_hms_opt(17, 0, 0).unwrap()),
        by: WatchBy::Officer,
        agency: None,
    };
    let list = WatchList::build(&q, facts, |a| a.to_string());
    let share = |k: WatchKind| pct(list.total.cell(k).count, n);
    for k in WatchKind::ALL {
        eprintln!("{:<22} {:6.2} % of dossiers", k.name(), share(k));
    }
    let late_officers = list.late_officers.len();
    let officers = list.rows.iter().filter(|r| r.cell(WatchKind::Late).count > 0).count();
    eprintln!("officers with a late dossier: {officers}, with more than two: {late_officers}");
    eprintln!(
        "handoffs accepted: {}, average wait {} working minutes",
        list.total.handoffs.handoffs,
        list.total.handoffs.average_minutes()
    );
    assert!((0.4..=2.0).contains(&share(WatchKind::Bounce)), "bounces {}", share(WatchKind::Bounce));
    assert!((0.4..=1.5).contains(&share(WatchKind::SecondSupplement)), "{}", share(WatchKind::SecondSupplement));
    assert!((0.1..=1.0).contains(&share(WatchKind::UnlistedPapers)), "{}", share(WatchKind::UnlistedPapers));
    assert!((1.0..=4.0).contains(&share(WatchKind::Late)), "late {}", share(WatchKind::Late));
    assert!(share(WatchKind::LateWithoutApology) <= share(WatchKind::Late));
    assert!(share(WatchKind::ApologyAfterDue) > 0.0);
    assert!(share(WatchKind::SilentHolder) > share(WatchKind::Late), "stations overrun their budgets more often");
    // The planner accepts every handoff within hours and never gives a second new date.
    assert_eq!(list.total.cell(WatchKind::SlowHandoff).count, 0);
    assert_eq!(list.total.cell(WatchKind::SecondReschedule).count, 0);
    assert!(late_officers > 0 && late_officers < officers, "some officers, not all, are late more than twice");
    assert!(list.late_officers.iter().all(|o| o.late.count > 2));
    assert_eq!(list.supplements_twice.count, list.total.cell(WatchKind::SecondSupplement).count);
}
