//! Calendar throughput: 2 M random due dates, the same cases as `benches/calendar_numpy.py`
//! (splitmix64 seeded with "motcua"; start = 2023-01-01 + next() % 1277 days, n = 1 + next() % 30).
//!
//! Two measurements: `add_working_days` at day granularity (what numpy.busday_offset computes,
//! roll forward then add n), and full due instants (`due_from_start` at 09:00 on the start day,
//! normalised to the next opening when the day is not a working day). After criterion, prints a
//! best-of-5 throughput line and `{"motcua_dates_per_s": X}` for `make bench-calendar`.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use chrono::Datelike;
use chrono::{Duration, NaiveDate, NaiveTime};
use criterion::{Criterion, Throughput};
use motcua::config::Config;
use motcua_core::Calendar;
use motcua_core::calendar::from_local;
use motcua_core::deadlines::{TimeLimit, due_instant, start_instant};

const SEED: u64 = 0x6D6F_7463_7561;

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Cases as (days from the common era, n): integer days, as numpy's datetime64[D] arrays.
fn cases(count: usize) -> Vec<(i32, u32)> {
    let epoch = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN);
    let mut rng = SplitMix64(SEED);
    (0..count)
        .map(|_| {
            let day = rng.next() % 1277;
            let n = 1 + (rng.next() % 30) as u32;
            ((epoch + Duration::days(day as i64)).num_days_from_ce(), n)
        })
        .collect()
}

fn add_days(cal: &Calendar, cases: &[(i32, u32)], out: &mut Vec<i32>) -> usize {
    out.clear();
    out.extend(cases.iter().map(|&(d, n)| cal.add_working_days_ce(d, n).unwrap_or(i32::MIN)));
    out.iter().filter(|&&d| d == i32::MIN).count()
}

/// Full due instants for a receipt at 09:00 local on the case's day (start normalised to the
/// next opening on a non-working day, then rule 2 of DOMAIN.md §4.2).
fn due_instants(cal: &Calendar, cases: &[(i32, u32)]) -> usize {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
    let mut ok = 0;
    for &(d, n) in cases {
        let Some(date) = NaiveDate::from_num_days_from_ce_opt(d) else { continue };
        let received = from_local(date.and_time(nine));
        if let Ok((start, _)) = start_instant(cal, received, None)
            && let Ok(due) = due_instant(cal, from_local(start), TimeLimit::WorkingDays(n))
        {
            ok += usize::from(black_box(due) > received);
        }
    }
    ok
}

fn load_calendar() -> Calendar {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    match Config::load(&dir).and_then(|c| c.calendar()) {
        Ok(cal) => cal,
        Err(e) => {
            eprintln!("cannot load the calendar: {e:#}");
            std::process::exit(2);
        }
    }
}

/// Compares day-level results with numpy's (`calendar_numpy.py --dump N > target/numpy-dump.txt`).
fn check_against_numpy(cal: &Calendar) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/numpy-dump.txt");
    let Ok(text) = std::fs::read_to_string(&path) else { return };
    let (mut same, mut differ, mut makeup) = (0, 0, 0);
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (Some(d), Some(n), Some(np)) = (
            f.first().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()),
            f.get(1).and_then(|s| s.parse::<u32>().ok()),
            f.get(2).and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()),
        ) else {
            continue;
        };
        let Ok(ours) = cal.working_day_on_or_after(d).and_then(|s| cal.nth_working_day_after(s, n)) else { continue };
        if ours == np {
            same += 1;
        } else {
            differ += 1;
            // numpy cannot express make-up Saturdays; count differences they explain.
            let mut day = d;
            while day <= ours.max(np) {
                if cal.day_name(day).is_some_and(|(m, _)| m) {
                    makeup += 1;
                    break;
                }
                day += Duration::days(1);
            }
        }
    }
    println!(
        "agreement with numpy on {} dumped cases: {same} equal, {differ} differ ({makeup} of them span a make-up Saturday numpy cannot express)",
        same + differ
    );
}

fn main() {
    let cal = load_calendar();
    let count: usize = std::env::var("MOTCUA_BENCH_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
    let cases = cases(count);
    check_against_numpy(&cal);

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut g = c.benchmark_group("calendar");
    g.throughput(Throughput::Elements(count as u64));
    let mut out = Vec::with_capacity(count);
    g.bench_function("add_working_days_2M", |b| b.iter(|| add_days(&cal, &cases, &mut out)));
    g.bench_function("due_instants_2M", |b| b.iter(|| due_instants(&cal, &cases)));
    g.finish();
    c.final_summary();

    let best = |f: &dyn Fn() -> usize| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                black_box(f());
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let out = std::cell::RefCell::new(Vec::with_capacity(count));
    let days = best(&|| add_days(&cal, &cases, &mut out.borrow_mut()));
    let dues = best(&|| due_instants(&cal, &cases));
    println!("motcua add_working_days: {count} cases in {days:.4} s = {:.2} M dates/s", count as f64 / days / 1e6);
    println!("motcua due instants:     {count} cases in {dues:.4} s = {:.2} M dates/s", count as f64 / dues / 1e6);
    println!(
        "{{\"motcua_dates_per_s\": {}, \"motcua_due_instants_per_s\": {}}}",
        count as f64 / days,
        count as f64 / dues
    );
}
