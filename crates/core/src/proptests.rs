//! Property tests: the O(1) calendar index against a naive day-by-day implementation over the
//! whole coverage (2023–2026 test data).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc, Weekday};
use proptest::prelude::*;

use crate::calendar::testdata::{vn_calendar, vn_years};
use crate::calendar::{Calendar, CalendarData, CalendarYear, NamedDay, Stamp, from_local, to_local};
use crate::deadlines::{TimeLimit, due_at_receipt_stamp, due_from_start, due_instant_chrono, start_instant};

/// Day-by-day reference, straight from the data: no index.
struct Naive {
    off: Vec<NaiveDate>,
    makeup: Vec<NaiveDate>,
}

const WINDOWS: [(u32, u32); 2] = [(7 * 3600 + 30 * 60, 11 * 3600 + 30 * 60), (13 * 3600 + 30 * 60, 17 * 3600)];

impl Naive {
    fn new() -> Self {
        let years = vn_years();
        Self {
            off: years.iter().flat_map(|y| y.days_off.iter().map(|d| d.date)).collect(),
            makeup: years.iter().flat_map(|y| y.makeup_workdays.iter().map(|d| d.date)).collect(),
        }
    }
    fn working(&self, d: NaiveDate) -> bool {
        if self.makeup.contains(&d) {
            return true;
        }
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !self.off.contains(&d)
    }
    /// Working seconds inside `[a, b)` of one day's windows.
    fn day_seconds(&self, d: NaiveDate, from: u32, to: u32) -> i64 {
        if !self.working(d) {
            return 0;
        }
        WINDOWS.iter().map(|&(o, c)| i64::from(to.min(c).saturating_sub(from.max(o)))).sum()
    }
    fn between(&self, a: NaiveDateTime, b: NaiveDateTime) -> i64 {
        if b < a {
            return -self.between(b, a);
        }
        let (ta, tb) = (a.time().num_seconds_from_midnight(), b.time().num_seconds_from_midnight());
        if a.date() == b.date() {
            return self.day_seconds(a.date(), ta, tb);
        }
        let mut total = self.day_seconds(a.date(), ta, 86_400);
        let mut d = a.date().succ_opt().unwrap();
        while d < b.date() {
            total += self.day_seconds(d, 0, 86_400);
            d = d.succ_opt().unwrap();
        }
        total + self.day_seconds(b.date(), 0, tb)
    }
    /// Rule 2 of DOMAIN.md §4.2 by walking days, for a start inside office hours.
    fn add_working_days(&self, start: NaiveDateTime, n: u32) -> NaiveDateTime {
        let opening = NaiveTime::from_hms_opt(7, 30, 0).unwrap();
        let (count, time) = if start.time() == opening {
            (n - 1, NaiveTime::from_hms_opt(17, 0, 0).unwrap())
        } else {
            (n, start.time())
        };
        let mut d = start.date();
        let mut k = 0;
        while k < count {
            d = d.succ_opt().unwrap();
            if self.working(d) {
                k += 1;
            }
        }
        d.and_time(time)
    }
}

fn coverage_instant() -> impl Strategy<Value = NaiveDateTime> {
    // Any minute of 2023-01-01 .. 2026-12-31.
    (0i64..1461, 0u32..1440).prop_map(|(day, minute)| {
        NaiveDate::from_ymd_opt(2023, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap()
            + Duration::days(day)
            + Duration::minutes(i64::from(minute))
    })
}

/// An instant inside office hours of a working day, early enough that `+ 40` working days fit.
fn working_instant(cal: &Calendar) -> impl Strategy<Value = NaiveDateTime> + use<> {
    let cal = cal.clone();
    (0i64..1380, 0i64..450).prop_map(move |(day, minute)| {
        let d =
            cal.working_day_on_or_after(NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Duration::days(day)).unwrap();
        let m = if minute < 240 { 7 * 60 + 30 + minute } else { 13 * 60 + 30 + (minute - 240) };
        d.and_hms_opt(0, 0, 0).unwrap() + Duration::minutes(m)
    })
}

fn due_days(cal: &Calendar, start: NaiveDateTime, n: u32) -> DateTime<Utc> {
    due_from_start(cal, from_local(start), TimeLimit::WorkingDays(n)).unwrap().0
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn between_agrees_with_naive(a in coverage_instant(), b in coverage_instant()) {
        let cal = vn_calendar();
        let naive = Naive::new();
        prop_assert_eq!(cal.working_seconds_between(from_local(a), from_local(b)).unwrap(), naive.between(a, b));
    }

    #[test]
    fn add_working_days_agrees_with_naive(start in working_instant(&vn_calendar()), n in 1u32..40) {
        let cal = vn_calendar();
        prop_assert_eq!(to_local(due_days(&cal, start, n)), Naive::new().add_working_days(start, n));
    }

    #[test]
    fn add_and_between_agree(start in working_instant(&vn_calendar()), n in 1u32..40, hours in 1u32..200) {
        let cal = vn_calendar();
        let s = from_local(start);
        // n working days from a working instant is exactly n standard days of working time.
        prop_assert_eq!(cal.working_seconds_between(s, due_days(&cal, start, n)).unwrap(), i64::from(n) * 450 * 60);
        let due = due_from_start(&cal, s, TimeLimit::WorkingHours(hours)).unwrap().0;
        prop_assert_eq!(cal.working_seconds_between(s, due).unwrap(), i64::from(hours) * 3600);
    }

    #[test]
    fn add_is_monotonic(a in working_instant(&vn_calendar()), b in working_instant(&vn_calendar()), n in 1u32..30, m in 1u32..30) {
        let cal = vn_calendar();
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(due_days(&cal, a, n) <= due_days(&cal, b, n));
        let (n, m) = if n <= m { (n, m) } else { (m, n) };
        prop_assert!(due_days(&cal, a, n) <= due_days(&cal, a, m));
        let (sa, sb) = (cal.position_local(a).unwrap(), cal.position_local(b).unwrap());
        prop_assert!(cal.instant_at(sa + i64::from(n) * 60).unwrap() <= cal.instant_at(sb + i64::from(n) * 60).unwrap());
    }

    #[test]
    fn add_composes(start in working_instant(&vn_calendar()), a in 1u32..20, b in 1u32..20) {
        let cal = vn_calendar();
        let first = to_local(due_days(&cal, start, a));
        prop_assert_eq!(due_days(&cal, first, b), due_days(&cal, start, a + b));
        let p = cal.position_local(start).unwrap();
        let secs = |h: u32| i64::from(h) * 3600;
        let once = cal.instant_at(p + secs(a) + secs(b)).unwrap();
        let twice = cal.add_working_seconds(cal.add_working_seconds(from_local(start), secs(a)).unwrap(), secs(b)).unwrap();
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn integer_day_fast_path_agrees_with_naive(day in 0i64..1400, n in 0u32..30) {
        let cal = vn_calendar();
        let naive = Naive::new();
        let mut d = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Duration::days(day);
        while !naive.working(d) {
            d = d.succ_opt().unwrap();
        }
        let mut k = 0;
        while k < n {
            d = d.succ_opt().unwrap();
            if naive.working(d) {
                k += 1;
            }
        }
        let start = (NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Duration::days(day)).num_days_from_ce();
        prop_assert_eq!(cal.add_working_days_ce(start, n).unwrap(), d.num_days_from_ce());
    }

    #[test]
    fn position_round_trips_inside_office_hours(t in working_instant(&vn_calendar())) {
        let cal = vn_calendar();
        let p = cal.position_local(t).unwrap();
        // Round trip holds except at window opens, which resolve to the previous close.
        let back = cal.local_at(p).unwrap();
        prop_assert!(back == t || cal.position_local(back).unwrap() == p);
    }
}

proptest! {
    /// A petition's, complaint's or denunciation's period (Civil Code Art. 147–148), against
    /// walking day by day: N calendar days end on the first working day on or after receipt
    /// date + N; N working days on the N-th working day after the receipt date; at closing.
    #[test]
    fn legal_periods_agree_with_walking_days(day in 0i64..1300, minute in 0u32..1440, n in 1u32..61, working in any::<bool>()) {
        let cal = vn_calendar();
        let naive = Naive::new();
        let date = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap() + Duration::days(day);
        let at = from_local(date.and_hms_opt(minute / 60, minute % 60, 0).unwrap());
        let limit = if working { TimeLimit::WorkingDays(n) } else { TimeLimit::CalendarDays(n) };
        let Ok(due) = crate::petition::legal_due(&cal, at, limit) else {
            // Only past the end of the coverage.
            prop_assert!(date + Duration::days(i64::from(n) * 2 + 30) > NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
            return Ok(());
        };
        let mut d = date;
        if working {
            let mut k = 0;
            while k < n {
                d = d.succ_opt().unwrap();
                if naive.working(d) {
                    k += 1;
                }
            }
        } else {
            d = date + Duration::days(i64::from(n));
            while !naive.working(d) {
                d = d.succ_opt().unwrap();
            }
        }
        prop_assert_eq!(to_local(due), d.and_hms_opt(17, 0, 0).unwrap());
        prop_assert!(due > at);
    }
}

/// A random calendar: one to three consecutive years from 2020–2030, random weekday days off,
/// random make-up weekend days, and one to three office windows at any second of the day.
fn random_calendar() -> impl Strategy<Value = Calendar> {
    let windows = (1usize..4, proptest::collection::vec(60u32..20_000, 6)).prop_map(|(count, gaps)| {
        // Opening, then alternately a window's length and a break's, from 05:00.
        let mut at = 5 * 3600 + gaps[0] % 7200;
        let mut out = Vec::new();
        for k in 0..count {
            let open = at;
            let close = (open + 600 + gaps[2 * k + 1] % 14_400).min(86_399);
            if close <= open {
                break;
            }
            out.push(crate::calendar::Window {
                open: NaiveTime::from_num_seconds_from_midnight_opt(open, 0).unwrap(),
                close: NaiveTime::from_num_seconds_from_midnight_opt(close, 0).unwrap(),
            });
            at = close + 60 + gaps.get(2 * k + 2).copied().unwrap_or(0) % 5_400;
            if at >= 86_000 {
                break;
            }
        }
        crate::calendar::OfficeHours::new(out).unwrap()
    });
    let years = (2020i32..2031, 1usize..4, proptest::collection::vec(any::<u16>(), 60));
    (years, windows).prop_map(|((first, count, picks), hours)| {
        let mut picks = picks.into_iter();
        let years = (first..first + count as i32)
            .map(|year| {
                let start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap();
                let len = NaiveDate::from_ymd_opt(year, 12, 31).unwrap().ordinal();
                let (mut off, mut makeup) = (Vec::new(), Vec::new());
                for p in picks.by_ref().take(20) {
                    let date = start + Duration::days(i64::from(u32::from(p) % len));
                    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
                    let list = if weekend { &mut makeup } else { &mut off };
                    if !list.contains(&date) {
                        list.push(date);
                    }
                }
                let named =
                    |v: Vec<NaiveDate>| v.into_iter().map(|date| NamedDay { date, name: String::new() }).collect();
                CalendarYear { year, provisional: false, days_off: named(off), makeup_workdays: named(makeup) }
            })
            .collect();
        Calendar::new(&CalendarData::new(years).unwrap(), hours)
    })
}

/// An instant around a random calendar's coverage: any second (often a whole minute, sometimes
/// exactly an opening or a closing, sometimes with nanoseconds), from a week before the
/// coverage to a week after it.
fn random_stamp(cal: &Calendar, r: u64) -> Stamp {
    let first = from_local(cal.first_date().and_hms_opt(0, 0, 0).unwrap()).timestamp() - 7 * 86_400;
    let last = from_local(cal.last_date().and_hms_opt(0, 0, 0).unwrap()).timestamp() + 8 * 86_400;
    let mut secs = first + (r % (last - first) as u64) as i64;
    match (r >> 40) % 8 {
        0..=2 => secs -= (secs + 25_200).rem_euclid(60),
        3 | 4 => {
            let windows = cal.hours().windows();
            let w = windows[(r >> 44) as usize % windows.len()];
            let t = if (r >> 50).is_multiple_of(2) { w.open } else { w.close };
            secs += i64::from(t.num_seconds_from_midnight()) - (secs + 25_200).rem_euclid(86_400);
        }
        _ => {}
    }
    let nanos = if (r >> 56).is_multiple_of(5) { (r >> 20) as u32 % 1_000_000_000 } else { 0 };
    Stamp { secs, nanos }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The integer paths (single cases and batches) answer as the chrono path on random
    /// calendars: due instants from a receipt for every kind of limit, with and without a
    /// cut-off, positions, instants back from positions, and working minutes between instants.
    #[test]
    fn integer_paths_agree_with_chrono_on_random_calendars(cal in random_calendar(), seed in any::<u64>()) {
        let mut next = crate::calendar::testdata::splitmix64(seed);
        let (mut receipts, mut counts, mut dues, mut ends) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..200 {
            let r = next();
            let received = random_stamp(&cal, r);
            let n = 1 + (r >> 8) as u32 % 45;
            let limit = match (r >> 14) % 4 {
                0 | 1 => TimeLimit::WorkingDays(n),
                2 => TimeLimit::WorkingHours(n * 3),
                _ => TimeLimit::CalendarDays(n),
            };
            let cutoff_secs = (r >> 17).is_multiple_of(3).then(|| 9 * 3600 + (r >> 24) as i64 % (8 * 3600));
            let cutoff = cutoff_secs.map(|s| NaiveTime::from_num_seconds_from_midnight_opt(s as u32, 0).unwrap());
            let utc = received.to_utc().unwrap();
            let reference = start_instant(&cal, utc, cutoff)
                .and_then(|(start, _)| due_instant_chrono(&cal, from_local(start), limit))
                .ok();
            let fast = due_at_receipt_stamp(&cal, received, limit, cutoff_secs);
            prop_assert_eq!(fast.and_then(Stamp::to_utc), reference, "{} {:?} {:?}", utc, limit, cutoff);

            let p = cal.position_local(to_local(utc)).ok();
            prop_assert_eq!(cal.position_stamp(received), p, "{}", utc);
            if let Some(p) = p {
                let back = cal.local_at(p).map(from_local).ok();
                prop_assert_eq!(cal.stamp_at(p).and_then(Stamp::to_utc), back, "{}", p);
            }
            // Whole seconds for the batches, as they take them.
            if received.nanos == 0 && cutoff_secs.is_none() && matches!(limit, TimeLimit::WorkingDays(_)) {
                receipts.push(received.secs);
                counts.push(n);
                dues.push(reference.map_or(i64::MIN, |d| d.timestamp()));
                let end = random_stamp(&cal, next()).secs;
                ends.push(end);
            }
        }
        let mut out = vec![0; receipts.len()];
        let missed = cal.due_instants_after_receipts(&receipts, &counts, None, &mut out);
        prop_assert_eq!(&out, &dues);
        prop_assert_eq!(missed, dues.iter().filter(|&&d| d == i64::MIN).count());
        let expected: Vec<i64> = receipts
            .iter()
            .zip(&ends)
            .map(|(&a, &b)| {
                let (a, b) = (DateTime::from_timestamp(a, 0).unwrap(), DateTime::from_timestamp(b, 0).unwrap());
                match (cal.position_local(to_local(a)), cal.position_local(to_local(b))) {
                    (Ok(pa), Ok(pb)) => (pb - pa) / 60,
                    _ => i64::MIN,
                }
            })
            .collect();
        let missed = cal.working_minutes_between_secs(&receipts, &ends, &mut out);
        prop_assert_eq!(&out, &expected);
        prop_assert_eq!(missed, expected.iter().filter(|&&d| d == i64::MIN).count());
    }
}
