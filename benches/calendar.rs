//! Calendar throughput: 2 M random due dates, the same cases as `benches/calendar_numpy.py`
//! (splitmix64 seeded with "motcua"; start = 2023-01-01 + next() % 1277 days, n = 1 + next() % 30).
//!
//! Measurements: `add_working_days` at day granularity (what numpy.busday_offset computes, roll
//! forward then add n); full due instants of a receipt at 09:00 local on the case's day (start
//! moved to the next opening when the day is not a working day, then rule 2 of DOMAIN.md §4.2)
//! on the integer path (`due_at_receipt_stamp`, instants as seconds in and out, as numpy's
//! arrays are) and, for reference, through chrono's types; and the clock's measure
//! (`working_seconds_between`, receipt to due) on both paths. Every one of the cases is
//! compared between the two paths before anything is timed. After criterion, prints best-of-5
//! throughput lines and one JSON line for `make bench-calendar`.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use chrono::Datelike;
use chrono::{Duration, NaiveDate, NaiveTime};
use criterion::{Criterion, Throughput};
use motcua::config::Config;
use motcua_core::Calendar;
use motcua_core::calendar::{Stamp, from_local, to_local};
use motcua_core::deadlines::{TimeLimit, due_at_receipt_stamp, due_instant_chrono, start_instant};

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

/// The receipts of the cases: 09:00 local on the case's day, as seconds since the epoch (chrono
/// once per case here, outside any timed loop), and each case's number of working days — two
/// arrays, as numpy's `busday_offset` takes its dates and offsets.
fn receipts(cases: &[(i32, u32)]) -> (Vec<i64>, Vec<u32>) {
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
    cases
        .iter()
        .filter_map(|&(d, n)| NaiveDate::from_num_days_from_ce_opt(d).map(|date| (from_local(date.and_time(nine)), n)))
        .map(|(at, n)| (at.timestamp(), n))
        .unzip()
}

/// Full due instants on the integer path, into `out` (seconds; `i64::MIN` outside the coverage).
fn due_instants(cal: &Calendar, (secs, days): &(Vec<i64>, Vec<u32>), out: &mut Vec<i64>) -> usize {
    out.clear();
    out.extend(secs.iter().zip(days).map(|(&s, &n)| {
        due_at_receipt_stamp(cal, Stamp::from_secs(s), TimeLimit::WorkingDays(n), None).map_or(i64::MIN, |d| d.secs)
    }));
    out.iter().filter(|&&d| d == i64::MIN).count()
}

/// The same due instants through chrono's types (the reference path).
fn due_instants_chrono(cal: &Calendar, (secs, days): &(Vec<i64>, Vec<u32>), out: &mut Vec<i64>) -> usize {
    out.clear();
    out.extend(secs.iter().zip(days).map(|(&s, &n)| {
        let Some(received) = chrono::DateTime::from_timestamp(s, 0) else { return i64::MIN };
        start_instant(cal, received, None)
            .and_then(|(start, _)| due_instant_chrono(cal, from_local(start), TimeLimit::WorkingDays(n)))
            .map_or(i64::MIN, |d| d.timestamp())
    }));
    out.iter().filter(|&&d| d == i64::MIN).count()
}

/// Full due instants through the batch API (`Calendar::due_instants_after_receipts`), into `out`.
fn due_instants_batch(cal: &Calendar, (secs, days): &(Vec<i64>, Vec<u32>), out: &mut [i64]) -> usize {
    cal.due_instants_after_receipts(secs, days, None, out)
}

/// Working minutes from each receipt to its due instant through the batch API
/// (`Calendar::working_minutes_between_secs`): the integer path's figure.
fn minutes_between_batch(cal: &Calendar, receipts: &[i64], dues: &[i64], out: &mut [i64]) -> usize {
    cal.working_minutes_between_secs(receipts, dues, out)
}

/// Working minutes from each receipt to its due instant on the integer path, one call a case.
fn minutes_between(cal: &Calendar, receipts: &[i64], dues: &[i64], out: &mut Vec<i64>) -> usize {
    out.clear();
    out.extend(receipts.iter().zip(dues).map(|(&a, &b)| {
        cal.working_seconds_between_stamps(Stamp::from_secs(a), Stamp::from_secs(b)).map_or(i64::MIN, |s| s / 60)
    }));
    out.iter().filter(|&&d| d == i64::MIN).count()
}

/// The same through chrono's types: positions of local date-times (the reference path).
fn minutes_between_chrono(cal: &Calendar, receipts: &[i64], dues: &[i64], out: &mut Vec<i64>) -> usize {
    out.clear();
    out.extend(receipts.iter().zip(dues).map(|(&a, &b)| {
        let (Some(a), Some(b)) = (chrono::DateTime::from_timestamp(a, 0), chrono::DateTime::from_timestamp(b, 0))
        else {
            return i64::MIN;
        };
        match (cal.position_local(to_local(a)), cal.position_local(to_local(b))) {
            (Ok(pa), Ok(pb)) => (pb - pa) / 60,
            _ => i64::MIN,
        }
    }));
    out.iter().filter(|&&d| d == i64::MIN).count()
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
    let receipts = receipts(&cases);
    check_against_numpy(&cal);

    // Every case, both paths: the integer path must give today's answers exactly.
    let (mut fast, mut slow) = (Vec::with_capacity(count), Vec::with_capacity(count));
    due_instants(&cal, &receipts, &mut fast);
    due_instants_chrono(&cal, &receipts, &mut slow);
    let differ = fast.iter().zip(&slow).filter(|(a, b)| a != b).count();
    let (mut mf, mut ms) = (Vec::with_capacity(count), Vec::with_capacity(count));
    minutes_between(&cal, &receipts.0, &slow, &mut mf);
    minutes_between_chrono(&cal, &receipts.0, &slow, &mut ms);
    let mut differ_minutes = mf.iter().zip(&ms).filter(|(a, b)| a != b).count();
    // The batch APIs, on every case too.
    let mut batch = vec![0; count];
    due_instants_batch(&cal, &receipts, &mut batch);
    let differ_batch = batch.iter().zip(&slow).filter(|(a, b)| a != b).count();
    minutes_between_batch(&cal, &receipts.0, &slow, &mut batch);
    differ_minutes += batch.iter().zip(&ms).filter(|(a, b)| a != b).count();
    let differ = differ + differ_batch;
    println!(
        "integer path (one call a case and batches) vs chrono path on all {count} cases: due instants {differ} differ; working minutes {differ_minutes} differ"
    );
    if differ + differ_minutes > 0 {
        eprintln!("the integer path does not answer as the chrono path");
        std::process::exit(1);
    }
    let dues = slow;

    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut g = c.benchmark_group("calendar");
    g.throughput(Throughput::Elements(count as u64));
    let mut out = Vec::with_capacity(count);
    let mut out64 = Vec::with_capacity(count);
    g.bench_function("add_working_days_2M", |b| b.iter(|| add_days(&cal, &cases, &mut out)));
    g.bench_function("due_instants_2M", |b| b.iter(|| due_instants(&cal, &receipts, &mut out64)));
    g.bench_function("due_instants_chrono_2M", |b| b.iter(|| due_instants_chrono(&cal, &receipts, &mut out64)));
    g.bench_function("working_minutes_between_2M", |b| {
        b.iter(|| minutes_between_batch(&cal, &receipts.0, &dues, &mut batch))
    });
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
    let out64 = std::cell::RefCell::new(Vec::with_capacity(count));
    let batch = std::cell::RefCell::new(batch);
    let days = best(&|| add_days(&cal, &cases, &mut out.borrow_mut()));
    let due = best(&|| due_instants(&cal, &receipts, &mut out64.borrow_mut()));
    let due_chrono = best(&|| due_instants_chrono(&cal, &receipts, &mut out64.borrow_mut()));
    let due_batch = best(&|| due_instants_batch(&cal, &receipts, &mut batch.borrow_mut()));
    let minutes = best(&|| minutes_between_batch(&cal, &receipts.0, &dues, &mut batch.borrow_mut()));
    let minutes_each = best(&|| minutes_between(&cal, &receipts.0, &dues, &mut out64.borrow_mut()));
    let minutes_chrono = best(&|| minutes_between_chrono(&cal, &receipts.0, &dues, &mut out64.borrow_mut()));
    let rate = |t: f64| count as f64 / t;
    println!("motcua add_working_days:          {count} cases in {days:.4} s = {:.2} M/s", rate(days) / 1e6);
    println!("motcua due instants (integer):    {count} cases in {due:.4} s = {:.2} M/s", rate(due) / 1e6);
    println!(
        "motcua due instants (chrono):     {count} cases in {due_chrono:.4} s = {:.2} M/s",
        rate(due_chrono) / 1e6
    );
    println!("motcua due instants (batch API):  {count} cases in {due_batch:.4} s = {:.2} M/s", rate(due_batch) / 1e6);
    println!("motcua working minutes (batch):   {count} cases in {minutes:.4} s = {:.2} M/s", rate(minutes) / 1e6);
    println!(
        "motcua working minutes (a call a case): {count} cases in {minutes_each:.4} s = {:.2} M/s",
        rate(minutes_each) / 1e6
    );
    println!(
        "motcua working minutes (chrono):  {count} cases in {minutes_chrono:.4} s = {:.2} M/s",
        rate(minutes_chrono) / 1e6
    );
    println!(
        "{{\"motcua_dates_per_s\": {}, \"motcua_due_instants_per_s\": {}, \"motcua_due_instants_chrono_per_s\": {}, \"motcua_minutes_between_per_s\": {}, \"motcua_minutes_between_chrono_per_s\": {}}}",
        rate(days),
        rate(due),
        rate(due_chrono),
        rate(minutes),
        rate(minutes_chrono)
    );
}
