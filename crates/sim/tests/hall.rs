//! A simulated hall day against the shipped halls, calendar and catalog: numbers run without
//! repeat or gap per area and day, arrivals peak at opening and after lunch, the shares are
//! those docs/simulation.md documents, and the same seed gives the same script.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)]

use std::collections::BTreeMap;

use chrono::NaiveDate;
use motcua_core::hall::{HallCatalog, HallCommand, TicketEventKind};
use motcua_core::{Calendar, CalendarData, Catalog, ClassifyMode, Domain, OfficeHours};
use motcua_sim::hall::{self, HallDayStats, local_minute, plan_hall_day};

fn domain() -> Domain {
    let years = [
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
    let halls = HallCatalog::from_toml(include_str!("../../../config/catalog/halls.toml"), &catalog).unwrap();
    Domain::new(calendar, catalog, ClassifyMode::default()).with_halls(halls)
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Every hall day of September and October 2025 (HCC and, from July 2025, HAICHAU).
fn days(d: &Domain, seed: u64) -> Vec<(String, hall::HallDay)> {
    let mut out = Vec::new();
    for day in date(2025, 9, 1).iter_days().take_while(|x| *x <= date(2025, 10, 31)) {
        for h in d.halls.halls_on(day) {
            let plan = plan_hall_day(h, d.calendar_for(&h.agency), day, seed, &[]).unwrap();
            if !plan.commands.is_empty() {
                out.push((h.code.to_string(), plan));
            }
        }
    }
    out
}

#[test]
fn a_simulated_hall_day_numbers_without_gap_peaks_twice_and_keeps_the_documented_shares() {
    let d = domain();
    let plans = days(&d, 7);
    assert!(plans.len() > 60, "two months of two halls: {}", plans.len());
    let mut total = HallDayStats::default();
    let (mut opening, mut after_lunch, mut mid_morning) = (0u64, 0u64, 0u64);
    let mut walk_ins = 0u64;
    for (hall, p) in &plans {
        // Numbers per area and day: 1, 2, 3… in the order taken.
        let mut numbers: BTreeMap<char, Vec<u32>> = BTreeMap::new();
        let mut last = None;
        for c in &p.commands {
            if let Some(l) = last {
                assert!(c.at() >= l, "{hall} {}: the script is in time order", p.day);
            }
            last = Some(c.at());
            match c {
                HallCommand::Issue { expect, at, .. } => {
                    numbers.entry(expect.area).or_default().push(expect.number);
                    walk_ins += 1;
                    let m = local_minute(*at);
                    if (450..510).contains(&m) {
                        opening += 1;
                    } else if (570..630).contains(&m) {
                        mid_morning += 1;
                    } else if (810..870).contains(&m) {
                        after_lunch += 1;
                    }
                }
                HallCommand::CheckIn { expect, .. } => numbers.entry(expect.area).or_default().push(expect.number),
                _ => {}
            }
        }
        for (area, n) in numbers {
            let want: Vec<u32> = (1..=u32::try_from(n.len()).unwrap()).collect();
            assert_eq!(n, want, "{hall} {} area {area}: numbers never repeat or skip", p.day);
        }
        let s = &p.stats;
        total.issued += s.issued;
        total.priority += s.priority;
        total.calls += s.calls;
        total.no_show += s.no_show;
        total.left += s.left;
        total.transfers += s.transfers;
        total.finished += s.finished;
        total.rated += s.rated;
        total.booked += s.booked;
        total.cancelled += s.cancelled;
        total.checked_in += s.checked_in;
        total.too_late += s.too_late;
        total.checked_in_late += s.checked_in_late;
        total.closed += s.closed;
        // The day's tickets all end: served, no-show, left or closed.
        assert_eq!(s.issued, s.finished + s.no_show + s.left + s.closed, "{hall} {}", p.day);
    }
    let share = |n: u64, d: u64| n as f64 / d.max(1) as f64;
    println!(
        "{} hall days, {} tickets; opening hour {opening}, 09:30–10:30 {mid_morning}, 13:30–14:30 {after_lunch}; {total:?}",
        plans.len(),
        total.issued
    );
    assert!(opening > mid_morning * 13 / 10, "opening peak: {opening} vs mid-morning {mid_morning}");
    assert!(after_lunch > mid_morning, "after-lunch peak: {after_lunch} vs mid-morning {mid_morning}");
    let walk = walk_ins - total.too_late;
    let within = |name: &str, got: f64, want: f64, tol: f64| {
        assert!((got - want).abs() <= tol, "{name}: {got:.4}, documented {want} ± {tol}");
    };
    within("priority of walk-ins", share(total.priority, walk), hall::PRIORITY_SHARE, 0.015);
    within("no-show of calls", share(total.no_show, total.calls), hall::NO_SHOW_SHARE, 0.01);
    within("rated of finished", share(total.rated, total.finished), hall::RATING_SHARE, 0.02);
    within("transfers of services", share(total.transfers, total.calls - total.no_show), hall::TRANSFER_SHARE, 0.01);
    within("cancelled of bookings", share(total.cancelled, total.booked), hall::BOOKING_CANCELLED, 0.04);
    assert!(share(total.left, total.issued) <= hall::IMPATIENT_SHARE, "left: {}", total.left);
    assert!(total.booked > 0 && total.checked_in > 0, "bookings and check-ins");
    assert!(total.checked_in_late > 0 && total.too_late > 0, "late check-ins, and some too late for the slot");
    assert!(
        share(total.closed, total.issued) < 0.04,
        "a loaded hall serves nearly its whole day: {} closed",
        total.closed
    );
}

#[test]
fn the_same_seed_gives_the_same_script_and_another_seed_another() {
    let d = domain();
    let h = d.halls.halls_on(date(2025, 9, 10)).next().unwrap();
    let cal = d.calendar_for(&h.agency);
    let a = plan_hall_day(h, cal, date(2025, 9, 10), 3, &[]).unwrap();
    let b = plan_hall_day(h, cal, date(2025, 9, 10), 3, &[]).unwrap();
    let c = plan_hall_day(h, cal, date(2025, 9, 10), 4, &[]).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.commands, c.commands);
    assert!(plan_hall_day(h, cal, date(2025, 9, 13), 3, &[]).unwrap().commands.is_empty(), "a Saturday");
}

#[test]
fn dossiers_received_at_the_counter_are_linked_to_the_ticket_served_then() {
    let d = domain();
    let day = date(2025, 9, 10);
    let h = d.halls.halls_on(day).find(|h| h.code.as_str() == "HCC").unwrap();
    let cal = d.calendar_for(&h.agency);
    let plain = plan_hall_day(h, cal, day, 5, &[]).unwrap();
    // A dossier of area A's procedure received at 09:00, one of no area's.
    let at = motcua_core::hall::local_at(day, 9, 0);
    let dossiers = [
        hall::HallDossier {
            code: "000.00.02.H17-250910-0001".parse().unwrap(),
            procedure: "1.001193".parse().unwrap(),
            received_at: at,
        },
        hall::HallDossier {
            code: "000.00.02.H17-250910-0002".parse().unwrap(),
            procedure: "9.999999".parse().unwrap(),
            received_at: at,
        },
    ];
    let linked = plan_hall_day(h, cal, day, 5, &dossiers).unwrap();
    assert_eq!(linked.stats.linked, 1);
    let link = linked
        .commands
        .iter()
        .find_map(|c| match c {
            HallCommand::Step { ticket, event } if matches!(event.kind, TicketEventKind::Linked { .. }) => {
                Some((ticket.clone(), event.at))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(link.0.area, 'A');
    assert!(link.1 >= at);
    // Linking adds only the link: the rest of the day is the same.
    assert_eq!(linked.commands.len(), plain.commands.len() + 1);
}
