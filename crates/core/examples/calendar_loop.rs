//! A small driver for profiling the calendar's hot loops (`perf record`, `valgrind --tool=callgrind`)
//! without building the whole workspace: the cases of `benches/calendar.rs` (splitmix64 seeded with
//! "motcua", receipts at 09:00 local, 1–30 working days) on the calendar files of `config/`, the
//! integer paths timed best-of-5 and checked against the chrono path on every case.
//!
//! `cargo run --release -p motcua-core --example calendar_loop -- [CASES] [ROUNDS]`

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime};
use motcua_core::calendar::{Calendar, CalendarData, OfficeHours, Stamp, from_local, to_local};
use motcua_core::deadlines::{TimeLimit, due_at_receipt_stamp, due_instant_chrono, start_instant};

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

fn calendar() -> Result<Calendar, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/calendars/vn");
    let mut years = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|x| x == "toml") {
            let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
            years.push(CalendarData::parse_year(&path.display().to_string(), &text).map_err(|e| e.to_string())?);
        }
    }
    let data = CalendarData::new(years).map_err(|e| e.to_string())?;
    Ok(Calendar::new(&data, OfficeHours::standard()))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(2_000_000);
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(5);
    // One loop alone (for a profiler): due, due-batch, minutes, minutes-batch; or none.
    let only = args.next();
    let cal = match calendar() {
        Ok(cal) => cal,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let epoch = NaiveDate::from_ymd_opt(2023, 1, 1).unwrap_or(NaiveDate::MIN);
    let nine = NaiveTime::from_hms_opt(9, 0, 0).unwrap_or(NaiveTime::MIN);
    let mut rng = SplitMix64(0x6D6F_7463_7561);
    let (secs, days): (Vec<i64>, Vec<u32>) = (0..count)
        .map(|_| {
            let day = rng.next() % 1277;
            let n = 1 + (rng.next() % 30) as u32;
            (from_local((epoch + Duration::days(day as i64)).and_time(nine)).timestamp(), n)
        })
        .unzip();

    let due = |out: &mut Vec<i64>| {
        out.clear();
        out.extend(secs.iter().zip(&days).map(|(&s, &n)| {
            due_at_receipt_stamp(&cal, Stamp::from_secs(s), TimeLimit::WorkingDays(n), None)
                .map_or(i64::MIN, |d| d.secs)
        }));
    };
    let minutes = |dues: &[i64], out: &mut Vec<i64>| {
        out.clear();
        out.extend(secs.iter().zip(dues).map(|(&a, &b)| {
            cal.working_seconds_between_stamps(Stamp::from_secs(a), Stamp::from_secs(b)).map_or(i64::MIN, |s| s / 60)
        }));
    };

    if let Some(only) = only {
        let mut dues = vec![0; count];
        cal.due_instants_after_receipts(&secs, &days, None, &mut dues);
        let mut out = Vec::with_capacity(count);
        let mut batch = vec![0; count];
        let cpu = || {
            // Nanoseconds this thread has run (the machine may be shared with other work).
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
                .unwrap_or(0)
        };
        let c0 = cpu();
        let t = Instant::now();
        for _ in 0..rounds {
            match only.as_str() {
                "due" => due(&mut out),
                "due-batch" => _ = cal.due_instants_after_receipts(&secs, &days, None, &mut batch),
                "minutes" => minutes(&dues, &mut out),
                "minutes-batch" => _ = cal.working_minutes_between_secs(&secs, &dues, &mut batch),
                _ => {}
            }
            black_box((&out, &batch));
        }
        let t = t.elapsed().as_secs_f64() / rounds.max(1) as f64;
        let c = (cpu() - c0) as f64 / rounds.max(1) as f64;
        println!("{only}: {:.2} ns a case wall, {:.2} ns on the CPU", t * 1e9 / count as f64, c / count as f64);
        return;
    }

    // The reference answers.
    let reference: Vec<i64> = secs
        .iter()
        .zip(&days)
        .map(|(&s, &n)| {
            let Some(received) = DateTime::from_timestamp(s, 0) else { return i64::MIN };
            start_instant(&cal, received, None)
                .and_then(|(start, _)| due_instant_chrono(&cal, from_local(start), TimeLimit::WorkingDays(n)))
                .map_or(i64::MIN, |d| d.timestamp())
        })
        .collect();
    let reference_minutes: Vec<i64> = secs
        .iter()
        .zip(&reference)
        .map(|(&a, &b)| {
            let (Some(a), Some(b)) = (DateTime::from_timestamp(a, 0), DateTime::from_timestamp(b, 0)) else {
                return i64::MIN;
            };
            match (cal.position_local(to_local(a)), cal.position_local(to_local(b))) {
                (Ok(pa), Ok(pb)) => (pb - pa) / 60,
                _ => i64::MIN,
            }
        })
        .collect();

    let mut out = Vec::with_capacity(count);
    due(&mut out);
    let differ = out.iter().zip(&reference).filter(|(a, b)| a != b).count();
    minutes(&reference, &mut out);
    let differ_minutes = out.iter().zip(&reference_minutes).filter(|(a, b)| a != b).count();
    println!("{count} cases: due instants differ on {differ}, working minutes on {differ_minutes}");

    let best = |f: &mut dyn FnMut()| {
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64()
            })
            .fold(f64::INFINITY, f64::min)
    };
    let t_due = best(&mut || {
        due(&mut out);
        black_box(&out);
    });
    let t_min = best(&mut || {
        minutes(&reference, &mut out);
        black_box(&out);
    });
    let mut batch = vec![0; count];
    let missed = cal.due_instants_after_receipts(&secs, &days, None, &mut batch);
    let differ_batch = batch.iter().zip(&reference).filter(|(a, b)| a != b).count();
    let missed_minutes = cal.working_minutes_between_secs(&secs, &reference, &mut batch);
    let differ_batch_minutes = batch.iter().zip(&reference_minutes).filter(|(a, b)| a != b).count();
    println!(
        "batches: due instants differ on {differ_batch} ({missed} outside), working minutes on {differ_batch_minutes} ({missed_minutes} outside)"
    );
    let t_due_batch = best(&mut || {
        black_box(cal.due_instants_after_receipts(&secs, &days, None, &mut batch));
    });
    let t_min_batch = best(&mut || {
        black_box(cal.working_minutes_between_secs(&secs, &reference, &mut batch));
    });
    let rate = |t: f64| format!("{:.1} M/s ({:.2} ns a case)", count as f64 / t / 1e6, t * 1e9 / count as f64);
    println!("due instants, batch:    {}", rate(t_due_batch));
    println!("working minutes, batch: {}", rate(t_min_batch));
    println!("due instants:    {:.1} M/s ({:.2} ns a case)", count as f64 / t_due / 1e6, t_due * 1e9 / count as f64);
    println!("working minutes: {:.1} M/s ({:.2} ns a case)", count as f64 / t_min / 1e6, t_min * 1e9 / count as f64);
    if differ + differ_minutes + differ_batch + differ_batch_minutes > 0 {
        std::process::exit(1);
    }
}
