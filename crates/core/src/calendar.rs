//! The working-day calendar (lịch làm việc): days off, make-up Saturdays and office hours,
//! loaded from data and precomputed into an index.
//!
//! Every question about working time goes through one idea, the *working position*: the number
//! of working seconds between the start of the calendar's coverage and an instant. Adding
//! working time is "position, plus, back to an instant"; measuring it is "position minus
//! position". Working days use the same index at day granularity (the ordinal of a working
//! day). Both directions are O(1): array lookups and one division.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// Vietnam's offset from UTC: +07:00 all year, no daylight saving.
pub const VN_OFFSET_SECONDS: i32 = 7 * 3600;

/// The fixed +07:00 offset in which calendar days and office hours are read.
pub const VN_OFFSET: FixedOffset = match FixedOffset::east_opt(VN_OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("+07:00 is a valid offset"),
};

/// The fixed +07:00 offset in which calendar days and office hours are read.
pub fn vn_offset() -> FixedOffset {
    VN_OFFSET
}

/// An instant read as local (Vietnam) wall-clock time.
pub fn to_local(at: DateTime<Utc>) -> NaiveDateTime {
    at.naive_utc() + Duration::seconds(i64::from(VN_OFFSET_SECONDS))
}

/// Local (Vietnam) wall-clock time as a UTC instant.
pub fn from_local(local: NaiveDateTime) -> DateTime<Utc> {
    DateTime::from_naive_utc_and_offset(local - Duration::seconds(i64::from(VN_OFFSET_SECONDS)), Utc)
}

/// An instant truncated to whole microseconds: stored instants keep PostgreSQL's precision, so
/// an instant is cut to it before it is written, and the log, the projection and a replay agree
/// exactly.
pub fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    chrono::SubsecRound::trunc_subsecs(at, 6)
}

/// An instant shown at +07:00.
pub fn at_vn(at: DateTime<Utc>) -> DateTime<FixedOffset> {
    at.with_timezone(&vn_offset())
}

/// Seconds in a day.
const DAY_SECONDS: i64 = 86_400;

/// An instant as whole seconds since the Unix epoch (UTC) plus nanoseconds: what the clock's
/// integer path reads and writes. Vietnam has kept +07:00 without daylight saving since 1975,
/// so local time is `secs + 25,200` and a local day is a Euclidean division; chrono is needed
/// only at the edges ([`Stamp::of`], [`Stamp::to_utc`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    pub secs: i64,
    /// Below one second, `< 1_000_000_000`.
    pub nanos: u32,
}

impl Stamp {
    #[inline]
    pub fn of(at: DateTime<Utc>) -> Self {
        Self { secs: at.timestamp(), nanos: at.timestamp_subsec_nanos() }
    }

    /// Whole seconds since the Unix epoch.
    #[inline]
    pub const fn from_secs(secs: i64) -> Self {
        Self { secs, nanos: 0 }
    }

    /// The instant; `None` only beyond chrono's range (years past ±262,000).
    #[inline]
    pub fn to_utc(self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.secs, self.nanos)
    }
}

/// A named date in a calendar file: a day off (ngày nghỉ) or a make-up working day (ngày làm bù).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedDay {
    pub date: NaiveDate,
    #[serde(default)]
    pub name: String,
}

/// One year of the official schedule, as an administrator edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarYear {
    pub year: i32,
    /// True while the government has not yet published the year's bridges and swaps.
    #[serde(default)]
    pub provisional: bool,
    #[serde(default, rename = "day_off")]
    pub days_off: Vec<NamedDay>,
    #[serde(default, rename = "makeup_workday")]
    pub makeup_workdays: Vec<NamedDay>,
}

/// One office window of a working day, `[open, close)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub open: NaiveTime,
    pub close: NaiveTime,
}

impl Window {
    fn open_secs(&self) -> i64 {
        secs_of_day(self.open)
    }
    fn close_secs(&self) -> i64 {
        secs_of_day(self.close)
    }
    fn len_secs(&self) -> i64 {
        self.close_secs() - self.open_secs()
    }
}

fn secs_of_day(t: NaiveTime) -> i64 {
    i64::from(chrono::Timelike::num_seconds_from_midnight(&t))
}

/// Office hours of a working day. A make-up Saturday uses the same windows as a Monday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfficeHours {
    windows: Vec<Window>,
    /// The windows as seconds of the day, `[open, close)`, for the integer path.
    #[serde(skip)]
    seconds: Vec<(i64, i64)>,
    /// Working seconds in one working day.
    #[serde(skip)]
    day_secs: i64,
    /// The usual two windows as four numbers, for the integer path's loops.
    #[serde(skip)]
    two: Option<TwoWindows>,
}

impl OfficeHours {
    /// Validates windows: at least one, each non-empty, in order and not overlapping.
    pub fn new(windows: Vec<Window>) -> Result<Self, CalendarError> {
        if windows.is_empty() {
            return Err(CalendarError::Invalid(vec!["office hours have no window".into()]));
        }
        let mut problems = Vec::new();
        for (i, w) in windows.iter().enumerate() {
            if w.close <= w.open {
                problems.push(format!(
                    "office window {} is empty or reversed: {}–{}",
                    i + 1,
                    w.open.format("%H:%M"),
                    w.close.format("%H:%M")
                ));
            }
            if i > 0 && w.open < windows[i - 1].close {
                problems.push(format!(
                    "office windows {} and {} overlap or are out of order: {}–{} then {}–{}",
                    i,
                    i + 1,
                    windows[i - 1].open.format("%H:%M"),
                    windows[i - 1].close.format("%H:%M"),
                    w.open.format("%H:%M"),
                    w.close.format("%H:%M")
                ));
            }
        }
        if problems.is_empty() { Ok(Self::of(windows)) } else { Err(CalendarError::Invalid(problems)) }
    }

    /// Validated windows with their seconds precomputed.
    fn of(windows: Vec<Window>) -> Self {
        let seconds: Vec<(i64, i64)> = windows.iter().map(|w| (w.open_secs(), w.close_secs())).collect();
        let day_secs = seconds.iter().map(|(a, b)| b - a).sum();
        let two = match *seconds {
            [(a, b), (c, d)] => Some(TwoWindows([a, b, c, d])),
            _ => None,
        };
        Self { windows, seconds, day_secs, two }
    }

    /// The day's opening and closing, in seconds of the day.
    #[inline]
    fn span_seconds(&self) -> (i64, i64) {
        (self.seconds[0].0, self.seconds[self.seconds.len() - 1].1)
    }

    /// For a start at `second` (with `nanos`) of a working day, after the opening: the second
    /// (and nanoseconds) of the day a working-days limit falls due — the start itself inside a
    /// window, the next window's opening in a break, the closing after the last window (the
    /// caller then counts from the next working day).
    #[inline]
    fn due_second_within(&self, second: i64, nanos: u32) -> (u32, i64, u32) {
        let w = &self.seconds;
        for (k, &(a, b)) in w.iter().enumerate() {
            if second >= a && second < b {
                return (0, second, nanos);
            }
            if let Some(&(next, _)) = w.get(k + 1)
                && second >= b
                && second < next
            {
                return (0, next, 0);
            }
        }
        (0, self.span_seconds().1, 0)
    }

    /// `time_after` as a second of the day.
    #[inline]
    fn second_after(&self, mut r: i64) -> i64 {
        for &(a, b) in &self.seconds {
            if r <= b - a {
                return (a + r).clamp(0, DAY_SECONDS - 1);
            }
            r -= b - a;
        }
        self.span_seconds().1
    }

    /// Parses `[["07:30","11:30"],["13:30","17:00"]]`-style pairs.
    pub fn parse(pairs: &[(String, String)]) -> Result<Self, CalendarError> {
        let mut windows = Vec::new();
        let mut problems = Vec::new();
        for (open, close) in pairs {
            match (parse_hhmm(open), parse_hhmm(close)) {
                (Some(open), Some(close)) => windows.push(Window { open, close }),
                _ => problems.push(format!("office window {open}–{close}: times must be HH:MM")),
            }
        }
        if !problems.is_empty() {
            return Err(CalendarError::Invalid(problems));
        }
        Self::new(windows)
    }

    /// The default: 07:30–11:30 and 13:30–17:00.
    pub fn standard() -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        Self::of(vec![Window { open: t(7, 30), close: t(11, 30) }, Window { open: t(13, 30), close: t(17, 0) }])
    }

    pub fn windows(&self) -> &[Window] {
        &self.windows
    }

    /// Working seconds in one working day.
    pub fn day_seconds(&self) -> i64 {
        self.windows.iter().map(Window::len_secs).sum()
    }

    pub fn opening(&self) -> NaiveTime {
        self.windows[0].open
    }

    pub fn closing(&self) -> NaiveTime {
        self.windows[self.windows.len() - 1].close
    }

    /// Working seconds of a working day that lie before `t`.
    fn elapsed_before(&self, t: NaiveTime) -> i64 {
        let s = secs_of_day(t);
        self.windows.iter().map(|w| (s - w.open_secs()).clamp(0, w.len_secs())).sum()
    }

    /// Time of day after `r` working seconds, `0 < r <= day_seconds`; a boundary resolves to the
    /// close of the earlier window ("by 11:30", not "at 13:30").
    fn time_after(&self, mut r: i64) -> NaiveTime {
        for w in &self.windows {
            if r <= w.len_secs() {
                return time_from_secs(w.open_secs() + r);
            }
            r -= w.len_secs();
        }
        self.closing()
    }

    /// Where `t` stands relative to the windows of a working day.
    fn place(&self, t: NaiveTime) -> Place {
        if t < self.opening() {
            return Place::BeforeOpening(self.opening());
        }
        for (i, w) in self.windows.iter().enumerate() {
            if t >= w.open && t < w.close {
                return Place::Open;
            }
            if let Some(next) = self.windows.get(i + 1)
                && t >= w.close
                && t < next.open
            {
                return Place::Break(next.open);
            }
        }
        Place::AfterClosing
    }
}

fn time_from_secs(s: i64) -> NaiveTime {
    let s = u32::try_from(s.clamp(0, 86_399)).unwrap_or(0);
    NaiveTime::from_num_seconds_from_midnight_opt(s, 0).unwrap_or(NaiveTime::MIN)
}

/// Parses `HH:MM`.
pub fn parse_hhmm(s: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M").ok()
}

enum Place {
    Open,
    BeforeOpening(NaiveTime),
    Break(NaiveTime),
    AfterClosing,
}

/// Why an instant was moved forward to the next opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Shift {
    BeforeOpening,
    LunchBreak,
    AfterClosing,
    NonWorkingDay,
}

/// Errors of calendar loading and calendar queries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("date {date} is outside the calendar's coverage ({first} to {last})")]
    OutOfCoverage { date: NaiveDate, first: NaiveDate, last: NaiveDate },
    #[error("invalid calendar data:\n  - {}", .0.join("\n  - "))]
    Invalid(Vec<String>),
}

/// The official schedule for a run of consecutive years, validated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CalendarData {
    years: Vec<CalendarYear>,
    /// Problems that do not stop loading (a day off on a weekend, say).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

impl CalendarData {
    /// Parses one year file (`config/calendars/vn/<year>.toml`).
    pub fn parse_year(source_name: &str, text: &str) -> Result<CalendarYear, CalendarError> {
        toml::from_str::<CalendarYear>(text)
            .map_err(|e| CalendarError::Invalid(vec![format!("{source_name}: {}", e.message())]))
    }

    /// Validates a set of years and explains every problem found.
    pub fn new(mut years: Vec<CalendarYear>) -> Result<Self, CalendarError> {
        years.sort_by_key(|y| y.year);
        let mut problems = Vec::new();
        let mut warnings = Vec::new();
        if years.is_empty() {
            problems.push("no calendar year was given".to_string());
        }
        for pair in years.windows(2) {
            let (a, b) = (pair[0].year, pair[1].year);
            if a == b {
                problems.push(format!("year {a} is given twice"));
            } else if b != a + 1 {
                let missing: Vec<String> = (a + 1..b).map(|y| y.to_string()).collect();
                problems.push(format!(
                    "year {} missing between {a} and {b}: the calendar must cover consecutive years",
                    missing.join(", ")
                ));
            }
        }
        for y in &years {
            let mut off = BTreeSet::new();
            for d in &y.days_off {
                if d.date.year() != y.year {
                    problems.push(format!("{}: day off {} is not in year {}", y.year, d.date, y.year));
                }
                if !off.insert(d.date) {
                    problems.push(format!("{}: day off {} is listed twice", y.year, d.date));
                }
                if is_weekend(d.date) {
                    warnings.push(format!(
                        "{}: day off {} ({}) falls on a weekend and changes nothing; list the compensatory weekday instead",
                        y.year,
                        d.date,
                        d.name
                    ));
                }
            }
            let mut makeup = BTreeSet::new();
            for d in &y.makeup_workdays {
                if d.date.year() != y.year {
                    problems.push(format!("{}: make-up working day {} is not in year {}", y.year, d.date, y.year));
                }
                if !makeup.insert(d.date) {
                    problems.push(format!("{}: make-up working day {} is listed twice", y.year, d.date));
                }
                if !is_weekend(d.date) {
                    problems.push(format!(
                        "{}: make-up working day {} is a {:?}, not a weekend day (it is already a working day)",
                        y.year,
                        d.date,
                        d.date.weekday()
                    ));
                }
                if off.contains(&d.date) {
                    problems.push(format!("{}: {} is both a day off and a make-up working day", y.year, d.date));
                }
            }
        }
        if problems.is_empty() { Ok(Self { years, warnings }) } else { Err(CalendarError::Invalid(problems)) }
    }

    pub fn years(&self) -> &[CalendarYear] {
        &self.years
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The precomputed day index shared by every office-hours variant of one calendar.
#[derive(Debug)]
struct DayIndex {
    first: NaiveDate,
    /// `first` as days from the common era, for the integer-day fast path.
    first_ce: i32,
    /// `first` as local days since 1970-01-01, for the integer instant path ([`Stamp`]).
    first_unix: i64,
    last: NaiveDate,
    /// Per day of coverage: is it a working day?
    working: Vec<bool>,
    /// Per day of coverage (and one past the end): working days strictly before it.
    ord_before: Vec<u32>,
    /// Day offsets of the working days, in order.
    working_days: Vec<u32>,
    /// Per day of coverage: working days up to and including it, shifted left one bit, with the
    /// low bit set on a working day — one read gives both for the fused due instant.
    through: Vec<u32>,
    /// Per working day, in order: the instant (Unix seconds) of its local midnight, so that a
    /// due instant is one read and one addition.
    midnights: Vec<i64>,
    /// The instant (Unix seconds) of the coverage's first local midnight.
    base_secs: i64,
    /// Per day: the name of the day off or make-up day, if any.
    names: BTreeMap<NaiveDate, (bool, String)>,
    provisional_years: BTreeSet<i32>,
}

/// A working-day calendar with office hours: the O(1) index of every clock in motcua.
#[derive(Debug, Clone)]
pub struct Calendar {
    days: Arc<DayIndex>,
    hours: OfficeHours,
    /// The integer path's tables for these office hours.
    tables: Arc<HoursTables>,
}

/// What the integer path precomputes for one calendar read with one set of office hours.
#[derive(Debug)]
struct HoursTables {
    /// Per day of coverage: the working position of its midnight, shifted left one bit, with
    /// the low bit set on a working day — a position is one read, a shift and the day's own
    /// part masked in.
    positions: Vec<i64>,
}

/// The integer path's tables of a day index read with office hours ([`HoursTables`]).
fn tables_of(days: &DayIndex, hours: &OfficeHours) -> Arc<HoursTables> {
    let positions = days
        .working
        .iter()
        .zip(&days.ord_before)
        .map(|(&w, &before)| ((i64::from(before) * hours.day_secs) << 1) | i64::from(w))
        .collect();
    Arc::new(HoursTables { positions })
}

/// A working position: working seconds since the start of the calendar's coverage.
pub type Position = i64;

impl Calendar {
    /// Builds the index for validated data and default office hours.
    pub fn new(data: &CalendarData, hours: OfficeHours) -> Self {
        let first = NaiveDate::from_ymd_opt(data.years[0].year, 1, 1).unwrap_or(NaiveDate::MIN);
        let last_year = data.years[data.years.len() - 1].year;
        let last = NaiveDate::from_ymd_opt(last_year, 12, 31).unwrap_or(NaiveDate::MIN);
        let mut names = BTreeMap::new();
        let mut provisional_years = BTreeSet::new();
        for y in &data.years {
            if y.provisional {
                provisional_years.insert(y.year);
            }
            for d in &y.days_off {
                names.insert(d.date, (false, d.name.clone()));
            }
            for d in &y.makeup_workdays {
                names.insert(d.date, (true, d.name.clone()));
            }
        }
        let n = usize::try_from((last - first).num_days() + 1).unwrap_or(0);
        let mut working = Vec::with_capacity(n);
        let mut ord_before = Vec::with_capacity(n + 1);
        let mut working_days = Vec::new();
        let mut count = 0u32;
        for i in 0..n {
            let date = first + Duration::days(i as i64);
            let w = match names.get(&date) {
                Some((true, _)) => true,
                Some((false, _)) => false,
                None => !is_weekend(date),
            };
            ord_before.push(count);
            working.push(w);
            if w {
                working_days.push(i as u32);
                count += 1;
            }
        }
        ord_before.push(count);
        let through =
            working.iter().zip(&ord_before).map(|(&w, &b)| ((b + u32::from(w)) << 1) | u32::from(w)).collect();
        let first_unix = (first - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN)).num_days();
        let base_secs = first_unix * DAY_SECONDS - i64::from(VN_OFFSET_SECONDS);
        let midnights = working_days.iter().map(|&o| base_secs + i64::from(o) * DAY_SECONDS).collect();
        let days = Arc::new(DayIndex {
            first,
            first_ce: first.num_days_from_ce(),
            first_unix,
            last,
            base_secs,
            midnights,
            working,
            ord_before,
            working_days,
            through,
            names,
            provisional_years,
        });
        let tables = tables_of(&days, &hours);
        Self { days, hours, tables }
    }

    /// The same days with other office hours (an agency's own opening times).
    pub fn with_hours(&self, hours: OfficeHours) -> Self {
        let tables = tables_of(&self.days, &hours);
        Self { days: Arc::clone(&self.days), hours, tables }
    }

    pub fn hours(&self) -> &OfficeHours {
        &self.hours
    }

    pub fn first_date(&self) -> NaiveDate {
        self.days.first
    }

    pub fn last_date(&self) -> NaiveDate {
        self.days.last
    }

    pub fn is_provisional(&self, date: NaiveDate) -> bool {
        self.days.provisional_years.contains(&date.year())
    }

    fn offset(&self, date: NaiveDate) -> Result<usize, CalendarError> {
        if date < self.days.first || date > self.days.last {
            return Err(CalendarError::OutOfCoverage { date, first: self.days.first, last: self.days.last });
        }
        Ok((date - self.days.first).num_days() as usize)
    }

    fn date_at(&self, offset: u32) -> NaiveDate {
        self.days.first + Duration::days(i64::from(offset))
    }

    fn out_after(&self) -> CalendarError {
        let date = self.days.last.succ_opt().unwrap_or(self.days.last);
        CalendarError::OutOfCoverage { date, first: self.days.first, last: self.days.last }
    }

    /// Is `date` a working day (Mon–Fri not off, or a make-up Saturday)?
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(self.days.working[self.offset(date)?])
    }

    /// The name of a day off or make-up day, if the data names it.
    pub fn day_name(&self, date: NaiveDate) -> Option<(bool, &str)> {
        self.days.names.get(&date).map(|(makeup, name)| (*makeup, name.as_str()))
    }

    /// Integer-day fast path: the `n`-th working day after the first working day on or after
    /// `day` (days from the common era, as `NaiveDate::num_days_from_ce`). `n = 0` rolls forward.
    /// Two array reads; this is what `numpy.busday_offset(day, n, roll="forward")` computes.
    #[inline]
    pub fn add_working_days_ce(&self, day: i32, n: u32) -> Result<i32, CalendarError> {
        let i = day.wrapping_sub(self.days.first_ce);
        let k =
            usize::try_from(i).ok().and_then(|i| self.days.ord_before.get(i).filter(|_| i < self.days.working.len()));
        match k.and_then(|k| self.days.working_days.get(*k as usize + n as usize)) {
            Some(&off) => Ok(self.days.first_ce + off as i32),
            None => Err(self.out_of_coverage_ce(day)),
        }
    }

    #[cold]
    fn out_of_coverage_ce(&self, day: i32) -> CalendarError {
        let date = NaiveDate::from_num_days_from_ce_opt(day).unwrap_or(self.days.last);
        if date >= self.days.first && date <= self.days.last {
            self.out_after()
        } else {
            CalendarError::OutOfCoverage { date, first: self.days.first, last: self.days.last }
        }
    }

    /// Working days in `[from, to)`; negative when `to < from`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> Result<i64, CalendarError> {
        let a = self.offset(from)?;
        let b = self.offset(to)?;
        Ok(i64::from(self.days.ord_before[b]) - i64::from(self.days.ord_before[a]))
    }

    /// The `n`-th working day after `date` (`n >= 1`; `date` itself is not counted).
    pub fn nth_working_day_after(&self, date: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        let i = self.offset(date)?;
        let k = self.days.ord_before[i] + u32::from(self.days.working[i]) + n.saturating_sub(1);
        if n == 0 {
            return Ok(date);
        }
        let off = *self.days.working_days.get(k as usize).ok_or_else(|| self.out_after())?;
        Ok(self.date_at(off))
    }

    /// The first working day on or after `date`.
    pub fn working_day_on_or_after(&self, date: NaiveDate) -> Result<NaiveDate, CalendarError> {
        let i = self.offset(date)?;
        let k = self.days.ord_before[i];
        let off = *self.days.working_days.get(k as usize).ok_or_else(|| self.out_after())?;
        Ok(self.date_at(off))
    }

    /// Working position of a local instant. Instants outside office hours sit at the position
    /// of the next opening (the clock does not run while the office is closed).
    pub fn position_local(&self, t: NaiveDateTime) -> Result<Position, CalendarError> {
        let i = self.offset(t.date())?;
        let day = self.hours.day_seconds();
        let before = i64::from(self.days.ord_before[i]) * day;
        if self.days.working[i] { Ok(before + self.hours.elapsed_before(t.time())) } else { Ok(before) }
    }

    /// Working position of an instant (the integer path; outside the coverage, the error of
    /// [`Calendar::position_local`], which is also its reference).
    pub fn position(&self, at: DateTime<Utc>) -> Result<Position, CalendarError> {
        match self.position_stamp(Stamp::of(at)) {
            Some(p) => Ok(p),
            None => self.position_local(to_local(at)),
        }
    }

    /// The local instant at a working position. A position on a boundary resolves to the
    /// earliest instant that reaches it: the close of a window or of the previous working day.
    pub fn local_at(&self, p: Position) -> Result<NaiveDateTime, CalendarError> {
        let day = self.hours.day_seconds();
        if p < 0 {
            return Err(CalendarError::OutOfCoverage {
                date: self.days.first.pred_opt().unwrap_or(self.days.first),
                first: self.days.first,
                last: self.days.last,
            });
        }
        let (mut k, mut r) = (p / day, p % day);
        if r == 0 && k > 0 {
            k -= 1;
            r = day;
        }
        let off =
            *self.days.working_days.get(usize::try_from(k).unwrap_or(usize::MAX)).ok_or_else(|| self.out_after())?;
        let date = self.date_at(off);
        if r == 0 {
            return Ok(date.and_time(self.hours.opening()));
        }
        Ok(date.and_time(self.hours.time_after(r)))
    }

    /// The instant at a working position (the integer path; [`Calendar::local_at`] is its
    /// reference and says which day is missing outside the coverage).
    pub fn instant_at(&self, p: Position) -> Result<DateTime<Utc>, CalendarError> {
        match self.stamp_at(p).and_then(Stamp::to_utc) {
            Some(at) => Ok(at),
            None => self.local_at(p).map(from_local),
        }
    }

    /// Working seconds from `a` to `b` (negative when `b` is earlier).
    pub fn working_seconds_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<i64, CalendarError> {
        Ok(self.position(b)? - self.position(a)?)
    }

    /// Working minutes from `a` to `b`, rounded toward zero.
    pub fn working_minutes_between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<i64, CalendarError> {
        Ok(self.working_seconds_between(a, b)? / 60)
    }

    /// `at` plus `seconds` of working time.
    pub fn add_working_seconds(&self, at: DateTime<Utc>, seconds: i64) -> Result<DateTime<Utc>, CalendarError> {
        self.instant_at(self.position(at)? + seconds)
    }

    /// Moves a local instant forward to the next opening when the office is closed; says why.
    pub fn next_opening_local(&self, t: NaiveDateTime) -> Result<(NaiveDateTime, Option<Shift>), CalendarError> {
        let i = self.offset(t.date())?;
        if self.days.working[i] {
            match self.hours.place(t.time()) {
                Place::Open => return Ok((t, None)),
                Place::BeforeOpening(open) => return Ok((t.date().and_time(open), Some(Shift::BeforeOpening))),
                Place::Break(open) => return Ok((t.date().and_time(open), Some(Shift::LunchBreak))),
                Place::AfterClosing => {
                    let next = self.nth_working_day_after(t.date(), 1)?;
                    return Ok((next.and_time(self.hours.opening()), Some(Shift::AfterClosing)));
                }
            }
        }
        let next = self.working_day_on_or_after(t.date())?;
        Ok((next.and_time(self.hours.opening()), Some(Shift::NonWorkingDay)))
    }

    /// Working days in each calendar year of the coverage.
    pub fn working_days_per_year(&self) -> Vec<(i32, u32)> {
        let mut out = Vec::new();
        let mut year = self.days.first.year();
        while year <= self.days.last.year() {
            let a = NaiveDate::from_ymd_opt(year, 1, 1).and_then(|d| self.offset(d).ok());
            let b = NaiveDate::from_ymd_opt(year, 12, 31).and_then(|d| self.offset(d).ok());
            if let (Some(a), Some(b)) = (a, b) {
                out.push((year, self.days.ord_before[b + 1] - self.days.ord_before[a]));
            }
            year += 1;
        }
        out
    }

    /// The named days off and weekends strictly between two dates, for explanations.
    pub fn skipped_between(&self, from: NaiveDate, to: NaiveDate) -> Vec<SkippedDay> {
        let mut out = Vec::new();
        let mut d = from.succ_opt();
        while let Some(date) = d {
            if date >= to {
                break;
            }
            if let Ok(false) = self.is_working_day(date) {
                let name = self.day_name(date).filter(|(makeup, _)| !makeup).map(|(_, n)| n.to_string());
                out.push(SkippedDay { date, name });
            }
            d = date.succ_opt();
        }
        out
    }
}

/// Runs `$body` with `$w` bound to the office windows in the form the integer path reads
/// fastest: the usual two windows (morning and afternoon) as four numbers, any other layout as
/// a slice. Each form gets its own copy of the code, so a loop over many cases tests the
/// layout once, not per case.
macro_rules! with_windows {
    ($hours:expr, $w:ident => $body:expr) => {
        match $hours.two {
            Some($w) => $body,
            None => {
                let $w = AnyWindows(&$hours.seconds);
                $body
            }
        }
    };
}

/// The integer instant path: the day index read with [`Stamp`]s, no date type in the loop.
/// Each method answers exactly as its chrono twin above (`position_local`, `local_at`,
/// `nth_working_day_after`, `working_day_on_or_after`, `next_opening_local`), or `None` where
/// the twin would say the instant is outside the calendar's coverage.
impl Calendar {
    /// The tables and constants of the integer path, read once: a loop over many cases keeps
    /// them in registers instead of reloading them through the calendar's pointers per case.
    #[inline]
    fn kernel(&self) -> Kernel<'_> {
        Kernel { base_secs: self.days.base_secs, positions: &self.tables.positions }
    }

    /// The day index of `at`'s local day and the seconds into it.
    #[inline]
    pub(crate) fn day_of(&self, at: Stamp) -> Option<(usize, i64)> {
        let (i, second) = self.kernel().day_of(at.secs);
        (i < self.days.through.len()).then_some((i, second))
    }

    /// The due instant of a receipt at `received` with a limit of `n >= 1` working days: the
    /// start (DOMAIN.md §4.2 rule 1, with the cut-off) and the due (rule 2) fused into one day
    /// lookup and one read of the working days' midnights. Every start lands on a working day
    /// `s` and the due is the `n`-th or `(n-1)`-th working day after it, so the due's ordinal is
    /// the receipt day's running count of working days plus `n`, less one when the start is
    /// exactly an opening (the due is then that day's closing). Answers as
    /// `due_stamp(start_stamp(..))` does.
    #[inline(always)]
    pub(crate) fn due_after_receipt_stamp(&self, received: Stamp, n: u32, cutoff: Option<i64>) -> Option<Stamp> {
        let (i, second) = self.day_of(received)?;
        let info = *self.days.through.get(i)?;
        let (open, close) = self.hours.span_seconds();
        // (one less working day, the due's second of the day, its nanoseconds) on a working day
        // before its cut-off; a day off or a receipt past the cut-off starts at the next working
        // day's opening, due at a closing. Both are computed and one is picked without a branch:
        // whether a random day is a working day is what a branch predictor cannot guess.
        let within = if second < open || (second == open && received.nanos == 0) {
            (1, close, 0)
        } else {
            self.hours.due_second_within(second, received.nanos)
        };
        let counts = (info & 1 == 1) & !cutoff.is_some_and(|c| (second >= c) & (second < close));
        let (back, due_second, nanos) = select(counts, within, (0, close, 0));
        // Wrapping: n = 0 (not this path's) must not overflow; it reads no table or a wrong one.
        let k = (u64::from(info >> 1) + u64::from(n)).wrapping_sub(1 + u64::from(back)) as usize;
        let midnight = *self.days.midnights.get(k)?;
        Some(Stamp { secs: midnight + due_second, nanos })
    }

    /// Due instants of many receipts, each with its own limit in working days, as
    /// `deadlines::due_at_receipt_stamp` gives them one by one: `received` in whole seconds
    /// since the Unix epoch, `days[j]` the limit of `received[j]`, `cutoff` in seconds of the
    /// day. Writes one instant (seconds) per pair into `out` (as many as the shortest of the
    /// three slices holds; the caller keeps the buffer between batches), `i64::MIN` where the
    /// answer falls outside the calendar's coverage, and returns how many did.
    pub fn due_instants_after_receipts(
        &self,
        received: &[i64],
        days: &[u32],
        cutoff: Option<i64>,
        out: &mut [i64],
    ) -> usize {
        let mut missed = self.due_batch(received, days, cutoff, out);
        // The fused path counts from the receipt day, which holds for n >= 1; a limit of zero
        // days is answered here, out of the loop.
        if days.iter().take(out.len().min(received.len())).any(|&n| n == 0) {
            for ((o, &secs), _) in out.iter_mut().zip(received).zip(days).filter(|(_, n)| **n == 0) {
                let limit = crate::deadlines::TimeLimit::WorkingDays(0);
                let due = crate::deadlines::due_at_receipt_stamp(self, Stamp::from_secs(secs), limit, cutoff)
                    .map_or(i64::MIN, |s| s.secs);
                missed = missed - usize::from(*o == i64::MIN) + usize::from(due == i64::MIN);
                *o = due;
            }
        }
        missed
    }

    /// [`Calendar::due_instants_after_receipts`]'s loop, one copy without a cut-off (the test
    /// folded away) and one with; a miss is counted where it is found.
    fn due_batch(&self, received: &[i64], days: &[u32], cutoff: Option<i64>, out: &mut [i64]) -> usize {
        match cutoff {
            None => self.due_loop(received, days, None, out),
            Some(c) => self.due_loop(received, days, Some(c), out),
        }
    }

    #[inline(always)]
    fn due_loop(&self, received: &[i64], days: &[u32], cutoff: Option<i64>, out: &mut [i64]) -> usize {
        let mut missed = 0;
        for ((o, &secs), &n) in out.iter_mut().zip(received).zip(days) {
            *o = match self.due_after_receipt_stamp(Stamp::from_secs(secs), n, cutoff) {
                Some(due) => due.secs,
                None => {
                    missed += 1;
                    i64::MIN
                }
            };
        }
        missed
    }

    /// Working minutes between many pairs of instants, as [`Calendar::working_minutes_between`]
    /// gives them one by one (rounded toward zero, negative when `to` is earlier): `from` and
    /// `to` in whole seconds since the Unix epoch. Writes one figure per pair into `out` (as
    /// many as the shortest of the three slices holds), `i64::MIN` where either instant is
    /// outside the calendar's coverage, and returns how many pairs were.
    pub fn working_minutes_between_secs(&self, from: &[i64], to: &[i64], out: &mut [i64]) -> usize {
        let k = self.kernel();
        with_windows!(self.hours, w => k.minutes_batch(w, from, to, out))
    }

    /// The instant at `second` into the local day of index `i`.
    #[inline]
    pub(crate) fn stamp_on(&self, i: usize, second: i64, nanos: u32) -> Stamp {
        let day = self.days.first_unix + i as i64;
        Stamp { secs: day * DAY_SECONDS + second - i64::from(VN_OFFSET_SECONDS), nanos }
    }

    #[inline]
    pub(crate) fn is_working_index(&self, i: usize) -> bool {
        self.days.working[i]
    }

    /// `nth_working_day_after` on day indexes.
    #[inline]
    pub(crate) fn nth_working_index_after(&self, i: usize, n: u32) -> Option<usize> {
        if n == 0 {
            return Some(i);
        }
        let k = self.days.ord_before[i] as usize + usize::from(self.days.working[i]) + n as usize - 1;
        self.days.working_days.get(k).map(|&o| o as usize)
    }

    /// `working_day_on_or_after` on day indexes.
    #[inline]
    pub(crate) fn working_index_on_or_after(&self, i: usize) -> Option<usize> {
        self.days.working_days.get(self.days.ord_before[i] as usize).map(|&o| o as usize)
    }

    /// Days covered (the day indexes are `0..len`).
    #[inline]
    pub(crate) fn covered_days(&self) -> usize {
        self.days.working.len()
    }

    /// `next_opening_local` without the reason: `at` itself inside a window, else the next
    /// opening.
    #[inline]
    pub(crate) fn next_opening_stamp(&self, at: Stamp, i: usize, second: i64) -> Option<Stamp> {
        let (open, _) = self.hours.span_seconds();
        if !self.days.working[i] {
            return Some(self.stamp_on(self.working_index_on_or_after(i)?, open, 0));
        }
        if second < open {
            return Some(self.stamp_on(i, open, 0));
        }
        let w = &self.hours.seconds;
        for (k, &(a, b)) in w.iter().enumerate() {
            if second >= a && second < b {
                return Some(at);
            }
            if let Some(&(next, _)) = w.get(k + 1)
                && second >= b
                && second < next
            {
                return Some(self.stamp_on(i, next, 0));
            }
        }
        Some(self.stamp_on(self.nth_working_index_after(i, 1)?, open, 0))
    }

    /// [`Calendar::position`] on a [`Stamp`].
    #[inline]
    pub fn position_stamp(&self, at: Stamp) -> Option<Position> {
        let k = self.kernel();
        with_windows!(self.hours, w => k.position(w, at.secs))
    }

    /// [`Calendar::instant_at`] as a [`Stamp`].
    #[inline]
    pub fn stamp_at(&self, p: Position) -> Option<Stamp> {
        let day = self.hours.day_secs;
        if p < 0 {
            return None;
        }
        let (mut k, mut r) = (p / day, p % day);
        if r == 0 && k > 0 {
            k -= 1;
            r = day;
        }
        let midnight = *self.days.midnights.get(usize::try_from(k).ok()?)?;
        let (open, _) = self.hours.span_seconds();
        let second = if r == 0 { open } else { self.hours.second_after(r) };
        Some(Stamp::from_secs(midnight + second))
    }

    /// [`Calendar::working_seconds_between`] on [`Stamp`]s.
    #[inline]
    pub fn working_seconds_between_stamps(&self, a: Stamp, b: Stamp) -> Option<i64> {
        let k = self.kernel();
        with_windows!(self.hours, w => Some(k.position(w, b.secs)? - k.position(w, a.secs)?))
    }
}

/// Office windows as the integer path reads them (seconds of the day, `[open, close)`).
trait Windows: Copy {
    /// Working seconds of a working day before `second` of it.
    fn elapsed_before(self, second: i64) -> i64;
}

/// The usual two windows, `[a, b)` and `[c, d)`, as numbers a loop keeps in registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TwoWindows([i64; 4]);

impl Windows for TwoWindows {
    #[inline(always)]
    fn elapsed_before(self, second: i64) -> i64 {
        let [a, b, c, d] = self.0;
        clamp_to(second - a, b - a) + clamp_to(second - c, d - c)
    }
}

/// `x` clamped to `[0, len]` (`len >= 0`) by selects the compiler keeps as conditional moves:
/// where an instant falls in the day is what a branch predictor cannot guess.
#[inline(always)]
fn clamp_to(x: i64, len: i64) -> i64 {
    let x = select(x > 0, x, 0);
    select(x < len, x, len)
}

/// A choice without a branch ([`std::hint::select_unpredictable`]).
#[inline(always)]
fn select<T>(condition: bool, yes: T, no: T) -> T {
    std::hint::select_unpredictable(condition, yes, no)
}

/// Any number of windows, as a slice.
#[derive(Clone, Copy)]
struct AnyWindows<'a>(&'a [(i64, i64)]);

impl Windows for AnyWindows<'_> {
    #[inline(always)]
    fn elapsed_before(self, second: i64) -> i64 {
        self.0.iter().map(|&(a, b)| clamp_to(second - a, b - a)).sum()
    }
}

/// The integer path's view of one calendar with its office hours: the tables as slices and the
/// hours as numbers, copied out of the calendar once per call or per batch.
#[derive(Clone, Copy)]
struct Kernel<'a> {
    /// The instant (Unix seconds) of the coverage's first local midnight.
    base_secs: i64,
    /// Per day: the position of its midnight, shifted left one bit, low bit set on a working day.
    positions: &'a [i64],
}

impl Kernel<'_> {
    /// The local day (index into the coverage) of the instant `secs` and the second of that
    /// day. Outside the coverage the index is past the last day (an instant before the
    /// coverage wraps to a huge one), so the table read that follows is the only check.
    #[inline(always)]
    fn day_of(&self, secs: i64) -> (usize, i64) {
        let rel = secs.wrapping_sub(self.base_secs) as u64;
        ((rel / DAY_SECONDS as u64) as usize, (rel % DAY_SECONDS as u64) as i64)
    }

    /// The working position of the instant `secs`: the position of its day's midnight plus,
    /// on a working day, the part of the day before it.
    #[inline(always)]
    fn position<W: Windows>(&self, w: W, secs: i64) -> Option<Position> {
        let (i, second) = self.day_of(secs);
        let p = *self.positions.get(i)?;
        Some((p >> 1) + (w.elapsed_before(second) & -(p & 1)))
    }

    /// [`Calendar::working_minutes_between_secs`]'s loop, in a function of its own.
    #[inline(never)]
    fn minutes_batch<W: Windows>(&self, w: W, from: &[i64], to: &[i64], out: &mut [i64]) -> usize {
        let mut missed = 0;
        for ((o, &a), &b) in out.iter_mut().zip(from).zip(to) {
            *o = match (self.position(w, a), self.position(w, b)) {
                (Some(pa), Some(pb)) => (pb - pa) / 60,
                _ => {
                    missed += 1;
                    i64::MIN
                }
            };
        }
        missed
    }
}

/// A non-working day skipped by a deadline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedDay {
    pub date: NaiveDate,
    /// The holiday's name; `None` for an ordinary weekend day.
    pub name: Option<String>,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}–{}", self.open.format("%H:%M"), self.close.format("%H:%M"))
    }
}

#[cfg(test)]
pub(crate) mod testdata {
    use super::*;

    /// SplitMix64 from `seed`: the tests' source of reproducible pseudo-random cases (the same
    /// generator the calendar bench uses).
    pub(crate) fn splitmix64(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
    }

    fn year(y: i32, off: &[(u32, u32)], makeup: &[(u32, u32)]) -> CalendarYear {
        CalendarYear {
            year: y,
            provisional: y >= 2027,
            days_off: off
                .iter()
                .map(|&(d, m)| NamedDay {
                    date: day(y, m, d),
                    name: if m <= 2 && d > 1 { "Tết Nguyên Đán".into() } else { format!("Nghỉ lễ {d}/{m}") },
                })
                .collect(),
            makeup_workdays: makeup
                .iter()
                .map(|&(d, m)| NamedDay { date: day(y, m, d), name: format!("make-up {d}/{m}") })
                .collect(),
        }
    }

    /// DOMAIN.md §4.1, 2023–2026, written out independently of `config/`.
    pub(crate) fn vn_years() -> Vec<CalendarYear> {
        vec![
            year(
                2023,
                &[(2, 1), (20, 1), (23, 1), (24, 1), (25, 1), (26, 1), (1, 5), (2, 5), (3, 5), (1, 9), (4, 9)],
                &[],
            ),
            year(
                2024,
                &[(1, 1), (8, 2), (9, 2), (12, 2), (13, 2), (14, 2), (18, 4), (29, 4), (30, 4), (1, 5), (2, 9), (3, 9)],
                &[(4, 5)],
            ),
            year(
                2025,
                &[(1, 1), (27, 1), (28, 1), (29, 1), (30, 1), (31, 1), (7, 4), (30, 4), (1, 5), (2, 5), (1, 9), (2, 9)],
                &[(26, 4)],
            ),
            year(
                2026,
                &[
                    (1, 1),
                    (2, 1),
                    (16, 2),
                    (17, 2),
                    (18, 2),
                    (19, 2),
                    (20, 2),
                    (27, 4),
                    (30, 4),
                    (1, 5),
                    (31, 8),
                    (1, 9),
                    (2, 9),
                    (24, 11),
                ],
                &[(10, 1), (22, 8)],
            ),
        ]
    }

    pub(crate) fn vn_calendar() -> Calendar {
        match CalendarData::new(vn_years()) {
            Ok(data) => Calendar::new(&data, OfficeHours::standard()),
            Err(e) => unreachable_data(e),
        }
    }

    #[allow(clippy::panic)]
    fn unreachable_data(e: CalendarError) -> Calendar {
        panic!("test calendar data is invalid: {e}")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::testdata::*;
    use super::*;

    fn d(y: i32, m: u32, dd: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, dd).unwrap()
    }
    fn lt(y: i32, m: u32, dd: u32, h: u32, mi: u32) -> NaiveDateTime {
        d(y, m, dd).and_hms_opt(h, mi, 0).unwrap()
    }

    #[test]
    fn instants_truncate_to_microseconds() {
        let t = from_local(lt(2025, 1, 24, 16, 40)) + Duration::nanoseconds(1_234_567);
        assert_eq!(truncate_to_micros(t), from_local(lt(2025, 1, 24, 16, 40)) + Duration::microseconds(1_234));
        assert_eq!(truncate_to_micros(truncate_to_micros(t)), truncate_to_micros(t));
    }

    #[test]
    fn working_days_per_year_match_the_official_counts() {
        let cal = vn_calendar();
        assert_eq!(cal.working_days_per_year(), vec![(2023, 249), (2024, 251), (2025, 250), (2026, 249)]);
    }

    #[test]
    fn weekends_holidays_and_makeup_saturdays() {
        let cal = vn_calendar();
        assert!(!cal.is_working_day(d(2023, 10, 28)).unwrap(), "Saturday");
        assert!(!cal.is_working_day(d(2023, 10, 29)).unwrap(), "Sunday");
        assert!(cal.is_working_day(d(2023, 10, 27)).unwrap());
        assert!(!cal.is_working_day(d(2026, 1, 2)).unwrap(), "bridge day 2/1/2026");
        assert!(cal.is_working_day(d(2026, 1, 10)).unwrap(), "make-up Saturday 10/1/2026");
        assert!(cal.is_working_day(d(2024, 5, 4)).unwrap(), "make-up Saturday 4/5/2024");
        assert!(!cal.is_working_day(d(2025, 1, 29)).unwrap(), "Tết 2025");
        assert!(!cal.is_working_day(d(2026, 11, 24)).unwrap(), "Vietnam Culture Day");
    }

    #[test]
    fn out_of_coverage_is_an_error_not_a_panic() {
        let cal = vn_calendar();
        assert!(matches!(cal.is_working_day(d(2022, 12, 31)), Err(CalendarError::OutOfCoverage { .. })));
        assert!(matches!(cal.position_local(lt(2027, 1, 4, 8, 0)), Err(CalendarError::OutOfCoverage { .. })));
        assert!(matches!(cal.nth_working_day_after(d(2026, 12, 30), 5), Err(CalendarError::OutOfCoverage { .. })));
        assert!(cal.local_at(i64::MAX / 2).is_err());
        assert!(cal.local_at(-1).is_err());
    }

    #[test]
    fn positions_skip_closed_time() {
        let cal = vn_calendar();
        // Lunch does not count; 11:30 and 13:30 are the same working position.
        assert_eq!(
            cal.position_local(lt(2023, 10, 27, 11, 30)).unwrap(),
            cal.position_local(lt(2023, 10, 27, 13, 30)).unwrap()
        );
        // Friday 17:00 is Monday 07:30.
        assert_eq!(
            cal.position_local(lt(2023, 10, 27, 17, 0)).unwrap(),
            cal.position_local(lt(2023, 10, 30, 7, 30)).unwrap()
        );
        assert_eq!(
            cal.position_local(lt(2023, 10, 28, 10, 0)).unwrap(),
            cal.position_local(lt(2023, 10, 30, 7, 30)).unwrap()
        );
        // A boundary resolves to the earlier close.
        let p = cal.position_local(lt(2023, 10, 30, 7, 30)).unwrap();
        assert_eq!(cal.local_at(p).unwrap(), lt(2023, 10, 27, 17, 0));
        let p = cal.position_local(lt(2023, 10, 27, 13, 30)).unwrap();
        assert_eq!(cal.local_at(p).unwrap(), lt(2023, 10, 27, 11, 30));
    }

    #[test]
    fn between_over_tet_2025() {
        let cal = vn_calendar();
        let a = from_local(lt(2025, 1, 24, 16, 0));
        let b = from_local(lt(2025, 2, 3, 8, 0));
        // 60 min on Fri 24/1 + 30 min on Mon 3/2; Tết and the weekend do not count.
        assert_eq!(cal.working_minutes_between(a, b).unwrap(), 90);
        assert_eq!(cal.working_minutes_between(b, a).unwrap(), -90);
    }

    #[test]
    fn next_opening_explains_the_shift() {
        let cal = vn_calendar();
        assert_eq!(
            cal.next_opening_local(lt(2023, 10, 27, 6, 0)).unwrap(),
            (lt(2023, 10, 27, 7, 30), Some(Shift::BeforeOpening))
        );
        assert_eq!(
            cal.next_opening_local(lt(2023, 10, 27, 12, 0)).unwrap(),
            (lt(2023, 10, 27, 13, 30), Some(Shift::LunchBreak))
        );
        assert_eq!(
            cal.next_opening_local(lt(2023, 10, 27, 17, 0)).unwrap(),
            (lt(2023, 10, 30, 7, 30), Some(Shift::AfterClosing))
        );
        assert_eq!(
            cal.next_opening_local(lt(2025, 12, 31, 18, 0)).unwrap(),
            (lt(2026, 1, 5, 7, 30), Some(Shift::AfterClosing))
        );
        assert_eq!(
            cal.next_opening_local(lt(2026, 1, 10, 9, 0)).unwrap(),
            (lt(2026, 1, 10, 9, 0), None),
            "make-up Saturday is open"
        );
        assert_eq!(
            cal.next_opening_local(lt(2023, 10, 28, 9, 0)).unwrap(),
            (lt(2023, 10, 30, 7, 30), Some(Shift::NonWorkingDay))
        );
    }

    #[test]
    fn validation_explains_every_problem() {
        let mut years = vn_years();
        years[0].makeup_workdays.push(NamedDay { date: d(2023, 3, 1), name: "wrong".into() }); // a Wednesday
        years[1].makeup_workdays.push(NamedDay { date: d(2024, 2, 8), name: "clash".into() }); // a Thursday, also off
        years[1].days_off.push(NamedDay { date: d(2024, 1, 1), name: "dup".into() });
        years.remove(2); // 2025 missing
        let err = CalendarData::new(years).unwrap_err();
        let CalendarError::Invalid(problems) = err else { panic!("expected Invalid") };
        let all = problems.join("\n");
        assert!(all.contains("2023-03-01 is a Wed, not a weekend day"), "{all}");
        assert!(all.contains("2024-02-08 is both a day off and a make-up working day"), "{all}");
        assert!(all.contains("day off 2024-01-01 is listed twice"), "{all}");
        assert!(all.contains("year 2025 missing between 2024 and 2026"), "{all}");
        assert!(CalendarData::new(vec![]).is_err());
    }

    #[test]
    fn office_hours_validation() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(OfficeHours::new(vec![]).is_err());
        assert!(OfficeHours::new(vec![Window { open: t(9, 0), close: t(9, 0) }]).is_err());
        let err = OfficeHours::new(vec![
            Window { open: t(7, 0), close: t(12, 0) },
            Window { open: t(11, 0), close: t(17, 0) },
        ])
        .unwrap_err();
        assert!(err.to_string().contains("overlap"), "{err}");
        assert!(OfficeHours::parse(&[("7h30".into(), "11:30".into())]).is_err());
        assert_eq!(OfficeHours::standard().day_seconds(), 450 * 60);
    }

    #[test]
    fn agency_hours_share_the_day_index() {
        let cal = vn_calendar();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let early = cal.with_hours(
            OfficeHours::new(vec![
                Window { open: t(7, 0), close: t(11, 30) },
                Window { open: t(13, 0), close: t(17, 0) },
            ])
            .unwrap(),
        );
        assert_eq!(early.hours().day_seconds(), 510 * 60);
        assert_eq!(early.next_opening_local(lt(2023, 10, 27, 6, 0)).unwrap().0, lt(2023, 10, 27, 7, 0));
    }
}
