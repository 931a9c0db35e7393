//! Deadlines (ngày hẹn trả): where the clock starts, when the dossier is due, and an explanation
//! a citizen can check, step by step, in Vietnamese or English (DOMAIN.md §4.2–§4.4).

use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, CalendarError, Shift, SkippedDay, Stamp, from_local, to_local};

/// A procedure's statutory time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLimit {
    WorkingDays(u32),
    WorkingHours(u32),
    CalendarDays(u32),
}

/// Largest limits motcua accepts: anything above is a typing mistake, not a procedure.
pub const MAX_WORKING_DAYS: u32 = 500;
pub const MAX_WORKING_HOURS: u32 = 4000;
pub const MAX_CALENDAR_DAYS: u32 = 730;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("a time limit must be at least 1, got {0}")]
    NotPositive(i64),
    #[error("a time limit of {value} {unit} is beyond the largest accepted ({max})")]
    Absurd { value: i64, unit: &'static str, max: u32 },
}

impl TimeLimit {
    /// Checks that `n` is positive and within reason for its unit.
    pub fn checked(self) -> Result<Self, LimitError> {
        let (n, unit, max) = match self {
            Self::WorkingDays(n) => (n, "working days", MAX_WORKING_DAYS),
            Self::WorkingHours(n) => (n, "working hours", MAX_WORKING_HOURS),
            Self::CalendarDays(n) => (n, "calendar days", MAX_CALENDAR_DAYS),
        };
        if n == 0 {
            return Err(LimitError::NotPositive(0));
        }
        if n > max {
            return Err(LimitError::Absurd { value: i64::from(n), unit, max });
        }
        Ok(self)
    }

    /// Builds a limit from a signed count typed by a user.
    pub fn from_count(unit: fn(u32) -> Self, n: i64) -> Result<Self, LimitError> {
        if n <= 0 {
            return Err(LimitError::NotPositive(n));
        }
        let n32 = u32::try_from(n).map_err(|_| LimitError::Absurd { value: n, unit: "units", max: u32::MAX })?;
        unit(n32).checked()
    }

    /// The limit in working seconds of a standard day, where that is meaningful.
    pub fn working_seconds(self, day_seconds: i64) -> Option<i64> {
        match self {
            Self::WorkingDays(n) => Some(i64::from(n) * day_seconds),
            Self::WorkingHours(n) => Some(i64::from(n) * 3600),
            Self::CalendarDays(_) => None,
        }
    }
}

impl fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WorkingDays(n) => write!(f, "{n} working days"),
            Self::WorkingHours(n) => write!(f, "{n} working hours"),
            Self::CalendarDays(n) => write!(f, "{n} calendar days"),
        }
    }
}

/// Explanation language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

/// Why the dossier's clock was waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitKind {
    /// Yêu cầu bổ sung hồ sơ (status 5).
    Supplement,
    /// Thực hiện nghĩa vụ tài chính (status 6).
    Payment,
}

/// One step of a due-date explanation. Rendered with [`Step::text`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    Received {
        at: DateTime<Utc>,
    },
    /// The clock starts at a later opening (cut-off, closed office, non-working day).
    StartMoved {
        reason: StartReason,
        start: DateTime<Utc>,
        skipped: Vec<SkippedDay>,
    },
    AddWorkingDays {
        n: u32,
        start: DateTime<Utc>,
        due: DateTime<Utc>,
        from_opening: bool,
        skipped: Vec<SkippedDay>,
    },
    AddWorkingHours {
        n: u32,
        start: DateTime<Utc>,
        due: DateTime<Utc>,
    },
    AddCalendarDays {
        n: u32,
        date: NaiveDate,
        due: DateTime<Utc>,
    },
    WaitStarted {
        kind: WaitKind,
        at: DateTime<Utc>,
    },
    WaitEnded {
        kind: WaitKind,
        at: DateTime<Utc>,
    },
    /// `restart`: the full limit runs again from the new start.
    ClockRestarted {
        start: DateTime<Utc>,
        due: DateTime<Utc>,
    },
    /// `pause`: the due date moves by the working time spent waiting.
    ClockPaused {
        kind: WaitKind,
        waited_minutes: i64,
        due: DateTime<Utc>,
    },
    Rescheduled {
        to: DateTime<Utc>,
        due: DateTime<Utc>,
    },
}

/// Why a clock's start is later than the receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum StartReason {
    Cutoff { cutoff: NaiveTime },
    Shift { shift: Shift },
}

/// A computed deadline with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deadline {
    pub start: DateTime<Utc>,
    pub due: DateTime<Utc>,
    pub steps: Vec<Step>,
}

/// Where the clock starts for a dossier received at `at` (rule 1 of DOMAIN.md §4.2), and why it
/// moved, if it did. No explanation is built: this is the fast path.
pub fn start_instant(
    cal: &Calendar,
    at: DateTime<Utc>,
    cutoff: Option<NaiveTime>,
) -> Result<(NaiveDateTime, Option<StartReason>), CalendarError> {
    let local = to_local(at);
    let working = cal.is_working_day(local.date())?;
    if working && cutoff.is_some_and(|c| local.time() >= c && local.time() < cal.hours().closing()) {
        let next = cal.nth_working_day_after(local.date(), 1)?;
        return Ok((next.and_time(cal.hours().opening()), cutoff.map(|cutoff| StartReason::Cutoff { cutoff })));
    }
    let (start, shift) = cal.next_opening_local(local)?;
    Ok((start, shift.map(|shift| StartReason::Shift { shift })))
}

/// Where the clock starts, with the explanation step when the start moved.
pub fn clock_start(
    cal: &Calendar,
    at: DateTime<Utc>,
    cutoff: Option<NaiveTime>,
) -> Result<(DateTime<Utc>, Option<Step>), CalendarError> {
    let (start, reason) = start_instant(cal, at, cutoff)?;
    let step = reason.map(|reason| StartMovedBuilder { cal, from: to_local(at), start }.build(reason));
    Ok((from_local(start), step))
}

struct StartMovedBuilder<'a> {
    cal: &'a Calendar,
    from: NaiveDateTime,
    start: NaiveDateTime,
}

impl StartMovedBuilder<'_> {
    fn build(self, reason: StartReason) -> Step {
        let from_day = self.from.date().pred_opt().unwrap_or(self.from.date());
        let skipped = if self.start.date() > self.from.date() {
            // Include the receipt day itself when it is not a working day.
            self.cal.skipped_between(from_day, self.start.date())
        } else {
            Vec::new()
        };
        Step::StartMoved { reason, start: from_local(self.start), skipped }
    }
}

/// The due instant for a clock started at `start` (rules 2–4 of DOMAIN.md §4.2), without an
/// explanation: the fast path, on integers ([`due_stamp`]); outside the calendar's coverage the
/// chrono path says which day is missing.
pub fn due_instant(cal: &Calendar, start: DateTime<Utc>, limit: TimeLimit) -> Result<DateTime<Utc>, CalendarError> {
    match due_stamp(cal, Stamp::of(start), limit).and_then(Stamp::to_utc) {
        Some(due) => Ok(due),
        None => due_instant_chrono(cal, start, limit),
    }
}

/// Where the clock starts for a dossier received at `at` ([`start_instant`] without the reason),
/// on integers: `None` outside the calendar's coverage. `cutoff` in seconds of the day.
#[inline]
pub fn start_stamp(cal: &Calendar, at: Stamp, cutoff: Option<i64>) -> Option<Stamp> {
    let (i, second) = cal.day_of(at)?;
    if cal.is_working_index(i) {
        let (open, close) = (secs(cal.hours().opening()), secs(cal.hours().closing()));
        if cutoff.is_some_and(|c| second >= c && second < close) {
            return Some(cal.stamp_on(cal.nth_working_index_after(i, 1)?, open, 0));
        }
    }
    cal.next_opening_stamp(at, i, second)
}

fn secs(t: NaiveTime) -> i64 {
    i64::from(chrono::Timelike::num_seconds_from_midnight(&t))
}

/// [`due_instant`] on integers: `None` outside the calendar's coverage.
#[inline]
pub fn due_stamp(cal: &Calendar, start: Stamp, limit: TimeLimit) -> Option<Stamp> {
    let (i, second) = cal.day_of(start)?;
    let (open, close) = (secs(cal.hours().opening()), secs(cal.hours().closing()));
    match limit {
        TimeLimit::WorkingDays(n) => {
            if cal.is_working_index(i) && second == open && start.nanos == 0 {
                Some(cal.stamp_on(cal.nth_working_index_after(i, n.saturating_sub(1))?, close, 0))
            } else if cal.is_working_index(i) {
                Some(cal.stamp_on(cal.nth_working_index_after(i, n)?, second, start.nanos))
            } else {
                let first = cal.working_index_on_or_after(i)?;
                Some(cal.stamp_on(cal.nth_working_index_after(first, n)?, open, 0))
            }
        }
        TimeLimit::WorkingHours(n) => cal.stamp_at(cal.position_stamp(start)? + i64::from(n) * 3600),
        TimeLimit::CalendarDays(n) => {
            let j = i + n as usize;
            if j >= cal.covered_days() {
                return None;
            }
            Some(cal.stamp_on(cal.working_index_on_or_after(j)?, close, 0))
        }
    }
}

/// The due instant of a dossier received at `received` (start, then due), on integers: what
/// the desk computes at intake, at tens of millions a second. `None` outside the coverage.
#[inline]
pub fn due_at_receipt_stamp(cal: &Calendar, received: Stamp, limit: TimeLimit, cutoff: Option<i64>) -> Option<Stamp> {
    match limit {
        TimeLimit::WorkingDays(n) if n >= 1 => cal.due_after_receipt_stamp(received, n, cutoff),
        _ => due_stamp(cal, start_stamp(cal, received, cutoff)?, limit),
    }
}

/// [`due_instant`] through chrono's date types: the reference the integer path is tested
/// against (every case of the calendar bench, a sample in the tests), and what answers with
/// the missing day when an instant is outside the coverage.
pub fn due_instant_chrono(
    cal: &Calendar,
    start: DateTime<Utc>,
    limit: TimeLimit,
) -> Result<DateTime<Utc>, CalendarError> {
    let s = to_local(start);
    match limit {
        TimeLimit::WorkingDays(n) => {
            let working = cal.is_working_day(s.date())?;
            let due = if working && s.time() == cal.hours().opening() {
                cal.nth_working_day_after(s.date(), n.saturating_sub(1))?.and_time(cal.hours().closing())
            } else if working {
                cal.nth_working_day_after(s.date(), n)?.and_time(s.time())
            } else {
                cal.nth_working_day_after(cal.working_day_on_or_after(s.date())?, n)?.and_time(cal.hours().opening())
            };
            Ok(from_local(due))
        }
        TimeLimit::WorkingHours(n) => cal.local_at(cal.position_local(s)? + i64::from(n) * 3600).map(from_local),
        TimeLimit::CalendarDays(n) => {
            let date = s.date() + Duration::days(i64::from(n));
            let day = cal.working_day_on_or_after(date)?;
            Ok(from_local(day.and_time(cal.hours().closing())))
        }
    }
}

/// The due instant with the explanation step.
pub fn due_from_start(
    cal: &Calendar,
    start: DateTime<Utc>,
    limit: TimeLimit,
) -> Result<(DateTime<Utc>, Step), CalendarError> {
    let due = due_instant(cal, start, limit)?;
    let s = to_local(start);
    let step = match limit {
        TimeLimit::WorkingDays(n) => {
            let from_opening = s.time() == cal.hours().opening() && cal.is_working_day(s.date())?;
            Step::AddWorkingDays {
                n,
                start,
                due,
                from_opening,
                skipped: cal.skipped_between(s.date(), to_local(due).date()),
            }
        }
        TimeLimit::WorkingHours(n) => Step::AddWorkingHours { n, start, due },
        TimeLimit::CalendarDays(n) => Step::AddCalendarDays { n, date: s.date() + Duration::days(i64::from(n)), due },
    };
    Ok((due, step))
}

/// Start and due instant for a dossier received at `received_at`, with the explanation.
pub fn deadline(
    cal: &Calendar,
    received_at: DateTime<Utc>,
    limit: TimeLimit,
    cutoff: Option<NaiveTime>,
) -> Result<Deadline, CalendarError> {
    let mut steps = vec![Step::Received { at: received_at }];
    let (start, moved) = clock_start(cal, received_at, cutoff)?;
    steps.extend(moved);
    let (due, add) = due_from_start(cal, start, limit)?;
    steps.push(add);
    Ok(Deadline { start, due, steps })
}

const VI_WEEKDAYS: [&str; 7] = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"];
const EN_WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn weekday_name(w: Weekday, lang: Lang) -> &'static str {
    let i = w.num_days_from_monday() as usize;
    match lang {
        Lang::Vi => VI_WEEKDAYS[i],
        Lang::En => EN_WEEKDAYS[i],
    }
}

/// "Thứ Sáu 27/10/2023 09:32" / "Fri 27/10/2023 09:32", at +07:00.
pub fn format_instant(at: DateTime<Utc>, lang: Lang) -> String {
    let l = to_local(at);
    format!("{} {}", weekday_name(l.date().weekday(), lang), l.format("%d/%m/%Y %H:%M"))
}

/// "Thứ Sáu 27/10/2023" / "Fri 27/10/2023".
pub fn format_date(d: NaiveDate, lang: Lang) -> String {
    format!("{} {}", weekday_name(d.weekday(), lang), d.format("%d/%m/%Y"))
}

/// Groups skipped days into runs: "27/01–31/01 Tết Nguyên Đán, 01/02–02/02 weekend".
fn skipped_text(skipped: &[SkippedDay], lang: Lang) -> String {
    let weekend = match lang {
        Lang::Vi => "nghỉ cuối tuần",
        Lang::En => "weekend",
    };
    let mut runs: Vec<(NaiveDate, NaiveDate, String)> = Vec::new();
    for day in skipped {
        let label = match (&day.name, lang) {
            // "Nghỉ Tết Nguyên Đán (mùng 1 Tết)" groups with the other days of Tết.
            (Some(n), _) if !n.is_empty() => n.split(" (").next().unwrap_or(n).trim().to_string(),
            (Some(_), Lang::Vi) => "ngày nghỉ".to_string(),
            (Some(_), Lang::En) => "day off".to_string(),
            (None, _) => weekend.to_string(),
        };
        match runs.last_mut() {
            Some((_, end, l)) if *l == label && end.succ_opt() == Some(day.date) => *end = day.date,
            _ => runs.push((day.date, day.date, label)),
        }
    }
    runs.iter()
        .map(|(a, b, label)| {
            if a == b {
                format!("{} {label}", a.format("%d/%m"))
            } else {
                format!("{}–{} {label}", a.format("%d/%m"), b.format("%d/%m"))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

impl Step {
    /// The step as a sentence a citizen can check.
    pub fn text(&self, lang: Lang) -> String {
        let t = |at: &DateTime<Utc>| format_instant(*at, lang);
        let skipped_suffix = |skipped: &[SkippedDay]| {
            if skipped.is_empty() {
                String::new()
            } else {
                match lang {
                    Lang::Vi => format!(" (bỏ qua {})", skipped_text(skipped, lang)),
                    Lang::En => format!(" (skipping {})", skipped_text(skipped, lang)),
                }
            }
        };
        let wait = |k: &WaitKind| match (k, lang) {
            (WaitKind::Supplement, Lang::Vi) => "bổ sung hồ sơ",
            (WaitKind::Supplement, Lang::En) => "supplement",
            (WaitKind::Payment, Lang::Vi) => "thực hiện nghĩa vụ tài chính",
            (WaitKind::Payment, Lang::En) => "payment",
        };
        match (self, lang) {
            (Self::Received { at }, Lang::Vi) => format!("Tiếp nhận hồ sơ lúc {}", t(at)),
            (Self::Received { at }, Lang::En) => format!("Received {}", t(at)),
            (Self::StartMoved { reason, start, skipped }, _) => {
                let why = match (reason, lang) {
                    (StartReason::Cutoff { cutoff }, Lang::Vi) => {
                        format!("sau giờ tiếp nhận {}", cutoff.format("%H:%M"))
                    }
                    (StartReason::Cutoff { cutoff }, Lang::En) => {
                        format!("after the {} cut-off", cutoff.format("%H:%M"))
                    }
                    (StartReason::Shift { shift: Shift::BeforeOpening }, Lang::Vi) => "trước giờ làm việc".into(),
                    (StartReason::Shift { shift: Shift::BeforeOpening }, Lang::En) => "before opening".into(),
                    (StartReason::Shift { shift: Shift::LunchBreak }, Lang::Vi) => "trong giờ nghỉ trưa".into(),
                    (StartReason::Shift { shift: Shift::LunchBreak }, Lang::En) => "during the lunch break".into(),
                    (StartReason::Shift { shift: Shift::AfterClosing }, Lang::Vi) => "sau giờ làm việc".into(),
                    (StartReason::Shift { shift: Shift::AfterClosing }, Lang::En) => "after closing".into(),
                    (StartReason::Shift { shift: Shift::NonWorkingDay }, Lang::Vi) => "vào ngày nghỉ".into(),
                    (StartReason::Shift { shift: Shift::NonWorkingDay }, Lang::En) => "on a non-working day".into(),
                };
                match lang {
                    Lang::Vi => format!("Nhận {why} → thời hạn tính từ {}{}", t(start), skipped_suffix(skipped)),
                    Lang::En => format!(
                        "Received {why} → counted from the next opening, {}{}",
                        t(start),
                        skipped_suffix(skipped)
                    ),
                }
            }
            (Self::AddWorkingDays { n, due, from_opening, skipped, .. }, Lang::Vi) => {
                let how = if *from_opening {
                    format!(" (tính từ đầu giờ: hạn là cuối ngày làm việc thứ {n})")
                } else {
                    String::new()
                };
                format!("+{n} ngày làm việc{how}{} → hẹn trả {}", skipped_suffix(skipped), t(due))
            }
            (Self::AddWorkingDays { n, due, from_opening, skipped, .. }, Lang::En) => {
                let how = if *from_opening {
                    format!(" (counted from the opening: due by the closing of working day {n})")
                } else {
                    String::new()
                };
                format!("+{n} working days{how}{} → due {}", skipped_suffix(skipped), t(due))
            }
            (Self::AddWorkingHours { n, due, .. }, Lang::Vi) => {
                format!("+{n} giờ làm việc trong giờ hành chính → hẹn trả {}", t(due))
            }
            (Self::AddWorkingHours { n, due, .. }, Lang::En) => {
                format!("+{n} working hours within office hours → due {}", t(due))
            }
            (Self::AddCalendarDays { n, date, due }, Lang::Vi) => {
                let moved = if to_local(*due).date() != *date {
                    format!(", {} là ngày nghỉ nên chuyển sang ngày làm việc tiếp theo", date.format("%d/%m/%Y"))
                } else {
                    String::new()
                };
                format!("+{n} ngày (theo lịch){moved} → hẹn trả {}", t(due))
            }
            (Self::AddCalendarDays { n, date, due }, Lang::En) => {
                let moved = if to_local(*due).date() != *date {
                    format!(", {} is not a working day so the next one", date.format("%d/%m/%Y"))
                } else {
                    String::new()
                };
                format!("+{n} calendar days{moved} → due by closing, {}", t(due))
            }
            (Self::WaitStarted { kind, at }, Lang::Vi) => {
                format!("Yêu cầu {} lúc {}: tạm dừng tính thời hạn", wait(kind), t(at))
            }
            (Self::WaitStarted { kind, at }, Lang::En) => {
                format!("{} requested {}: the clock stops", capitalise(wait(kind)), t(at))
            }
            (Self::WaitEnded { kind, at }, Lang::Vi) => format!("Công dân hoàn thành {} lúc {}", wait(kind), t(at)),
            (Self::WaitEnded { kind, at }, Lang::En) => format!("{} completed {}", capitalise(wait(kind)), t(at)),
            (Self::ClockRestarted { start, due }, Lang::Vi) => {
                format!("Tính lại toàn bộ thời hạn từ {} → hẹn trả {}", t(start), t(due))
            }
            (Self::ClockRestarted { start, due }, Lang::En) => {
                format!("Clock restarted from {} → due {}", t(start), t(due))
            }
            (Self::ClockPaused { waited_minutes, due, .. }, Lang::Vi) => {
                format!(
                    "Cộng thêm thời gian chờ {} → hẹn trả {}",
                    format_working_minutes(*waited_minutes, lang),
                    t(due)
                )
            }
            (Self::ClockPaused { waited_minutes, due, .. }, Lang::En) => {
                format!("Waiting time of {} added → due {}", format_working_minutes(*waited_minutes, lang), t(due))
            }
            (Self::Rescheduled { to, due }, Lang::Vi) => {
                format!("Phiếu xin lỗi hẹn lại ngày trả {}; thời hạn dùng để đánh giá vẫn là {}", t(to), t(due))
            }
            (Self::Rescheduled { to, due }, Lang::En) => {
                format!("Apology with a new date {}; the due date used for classification stays {}", t(to), t(due))
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

/// Minutes in a standard working day (07:30–11:30 and 13:30–17:00), the unit of budgets and of
/// working time shown in days.
pub const STANDARD_DAY_MINUTES: i64 = 450;

/// "2 ngày 3 giờ 15 phút" / "2 days 3 h 15 min", days of the standard working day
/// ([`STANDARD_DAY_MINUTES`]).
pub fn format_working_minutes(minutes: i64, lang: Lang) -> String {
    let sign = if minutes < 0 { "-" } else { "" };
    let m = minutes.abs();
    let day = STANDARD_DAY_MINUTES;
    let (d, h, mi) = (m / day, (m % day) / 60, (m % day) % 60);
    match lang {
        Lang::Vi => format!("{sign}{d} ngày {h} giờ {mi} phút"),
        Lang::En => format!("{sign}{d} days {h} h {mi} min"),
    }
}

/// The explanation as sentences.
pub fn explain(steps: &[Step], lang: Lang) -> Vec<String> {
    steps.iter().map(|s| s.text(lang)).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::calendar::testdata::vn_calendar;
    use crate::calendar::{OfficeHours, Window};

    fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        from_local(NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
    }
    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn worked_example_five_working_days() {
        let cal = vn_calendar();
        let d = deadline(&cal, at(2023, 10, 27, 9, 32), TimeLimit::WorkingDays(5), None).unwrap();
        assert_eq!(d.start, at(2023, 10, 27, 9, 32));
        assert_eq!(d.due, at(2023, 11, 3, 9, 32));
    }

    #[test]
    fn worked_example_cutoff_over_tet_2025() {
        let cal = vn_calendar();
        let d = deadline(&cal, at(2025, 1, 24, 16, 40), TimeLimit::WorkingDays(5), Some(hm(15, 0))).unwrap();
        assert_eq!(d.start, at(2025, 2, 3, 7, 30));
        assert_eq!(d.due, at(2025, 2, 7, 17, 0));
        let en = explain(&d.steps, Lang::En).join(" | ");
        assert!(en.contains("Received Fri 24/01/2025 16:40"), "{en}");
        assert!(en.contains("counted from the next opening, Mon 03/02/2025 07:30"), "{en}");
        assert!(en.contains("27/01–31/01 Tết Nguyên Đán"), "names Tết days: {en}");
        assert!(en.contains("01/02–02/02 weekend"), "{en}");
        assert!(en.contains("due Fri 07/02/2025 17:00"), "{en}");
        let vi = explain(&d.steps, Lang::Vi).join(" | ");
        assert!(vi.contains("Tiếp nhận hồ sơ lúc Thứ Sáu 24/01/2025 16:40"), "{vi}");
        assert!(vi.contains("hẹn trả Thứ Sáu 07/02/2025 17:00"), "{vi}");
    }

    #[test]
    fn cutoff_before_closing_on_a_working_day_only() {
        let cal = vn_calendar();
        // 14:59 is before the cut-off: counted from then.
        let d = deadline(&cal, at(2023, 10, 27, 14, 59), TimeLimit::WorkingDays(1), Some(hm(15, 0))).unwrap();
        assert_eq!(d.due, at(2023, 10, 30, 14, 59));
        // 15:00 exactly is at the cut-off: next working day's opening, due by its closing.
        let d = deadline(&cal, at(2023, 10, 27, 15, 0), TimeLimit::WorkingDays(1), Some(hm(15, 0))).unwrap();
        assert_eq!(d.start, at(2023, 10, 30, 7, 30));
        assert_eq!(d.due, at(2023, 10, 30, 17, 0));
    }

    #[test]
    fn start_normalisation() {
        let cal = vn_calendar();
        // Lunch → 13:30, then same time of day.
        let d = deadline(&cal, at(2023, 10, 27, 12, 10), TimeLimit::WorkingDays(2), None).unwrap();
        assert_eq!(d.start, at(2023, 10, 27, 13, 30));
        assert_eq!(d.due, at(2023, 10, 31, 13, 30));
        // Saturday → Monday opening → end of the (N-1)-th working day.
        let d = deadline(&cal, at(2023, 10, 28, 10, 0), TimeLimit::WorkingDays(3), None).unwrap();
        assert_eq!(d.start, at(2023, 10, 30, 7, 30));
        assert_eq!(d.due, at(2023, 11, 1, 17, 0));
        // Opening exactly, 1 day → the same day's closing.
        let d = deadline(&cal, at(2023, 10, 30, 7, 30), TimeLimit::WorkingDays(1), None).unwrap();
        assert_eq!(d.due, at(2023, 10, 30, 17, 0));
    }

    #[test]
    fn bridge_day_and_makeup_saturday_2026() {
        let cal = vn_calendar();
        // Wed 31/12/2025 10:00 + 2 working days: 1/1 and 2/1 are off, Mon 5/1, Tue 6/1.
        let d = deadline(&cal, at(2025, 12, 31, 10, 0), TimeLimit::WorkingDays(2), None).unwrap();
        assert_eq!(d.due, at(2026, 1, 6, 10, 0));
        // Fri 9/1/2026 10:00 + 1 working day: make-up Saturday 10/1 counts.
        let d = deadline(&cal, at(2026, 1, 9, 10, 0), TimeLimit::WorkingDays(1), None).unwrap();
        assert_eq!(d.due, at(2026, 1, 10, 10, 0));
    }

    #[test]
    fn working_hours_stay_inside_office_windows() {
        let cal = vn_calendar();
        // 10:00 + 4 h: 1.5 h before lunch, 2.5 h after → 16:00.
        let d = deadline(&cal, at(2023, 10, 27, 10, 0), TimeLimit::WorkingHours(4), None).unwrap();
        assert_eq!(d.due, at(2023, 10, 27, 16, 0));
        // 16:00 Fri + 2 h → Mon 08:30.
        let d = deadline(&cal, at(2023, 10, 27, 16, 0), TimeLimit::WorkingHours(2), None).unwrap();
        assert_eq!(d.due, at(2023, 10, 30, 8, 30));
        // 07:30 + 4 h ends exactly at the lunch break: due 11:30, not 13:30.
        let d = deadline(&cal, at(2023, 10, 30, 7, 30), TimeLimit::WorkingHours(4), None).unwrap();
        assert_eq!(d.due, at(2023, 10, 30, 11, 30));
    }

    #[test]
    fn calendar_days_end_at_closing_of_a_working_day() {
        let cal = vn_calendar();
        // Mon 2/10/2023 + 30 days = Wed 1/11/2023 → closing.
        let d = deadline(&cal, at(2023, 10, 2, 9, 0), TimeLimit::CalendarDays(30), None).unwrap();
        assert_eq!(d.due, at(2023, 11, 1, 17, 0));
        // Mon 2/10/2023 + 26 days = Sat 28/10 → Mon 30/10 closing.
        let d = deadline(&cal, at(2023, 10, 2, 9, 0), TimeLimit::CalendarDays(26), None).unwrap();
        assert_eq!(d.due, at(2023, 10, 30, 17, 0));
        assert!(d.steps.last().unwrap().text(Lang::En).contains("28/10/2023 is not a working day"));
    }

    #[test]
    fn limits_are_checked() {
        assert!(TimeLimit::from_count(TimeLimit::WorkingDays, 0).is_err());
        assert!(TimeLimit::from_count(TimeLimit::WorkingDays, -3).is_err());
        assert!(TimeLimit::from_count(TimeLimit::WorkingDays, 100_000).is_err());
        assert_eq!(TimeLimit::from_count(TimeLimit::CalendarDays, 30).unwrap(), TimeLimit::CalendarDays(30));
    }

    #[test]
    fn out_of_coverage_deadline_is_an_error() {
        let cal = vn_calendar();
        assert!(deadline(&cal, at(2026, 12, 28, 9, 0), TimeLimit::WorkingDays(10), None).is_err());
        assert!(deadline(&cal, at(2022, 6, 1, 9, 0), TimeLimit::WorkingDays(1), None).is_err());
    }

    #[test]
    fn working_minutes_format() {
        assert_eq!(format_working_minutes(60, Lang::Vi), "0 ngày 1 giờ 0 phút");
        assert_eq!(format_working_minutes(450 * 2 + 75, Lang::En), "2 days 1 h 15 min");
        assert_eq!(format_working_minutes(510, Lang::En), "1 days 1 h 0 min");
    }

    /// The integer path answers exactly as the chrono path: start and due instants for every
    /// kind of limit, with and without a cut-off, at any second (and below one) of any day of
    /// the coverage and a little outside it, for three kinds of office hours; positions and the
    /// instants back from them. (`make bench-calendar` compares all 2 M cases of the bench.)
    #[test]
    fn the_integer_path_answers_as_the_chrono_path() {
        let base = vn_calendar();
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap();
        let hours = [
            OfficeHours::standard(),
            OfficeHours::new(vec![Window { open: t(8, 0), close: t(16, 0) }]).unwrap(),
            OfficeHours::new(vec![
                Window { open: t(7, 0), close: t(9, 0) },
                Window { open: t(9, 30), close: t(12, 0) },
                Window { open: t(13, 0), close: t(17, 30) },
            ])
            .unwrap(),
        ];
        let (lo, hi) = (Stamp::of(at(2022, 12, 20, 0, 0)).secs, Stamp::of(at(2028, 1, 10, 0, 0)).secs);
        let mut next = crate::calendar::testdata::splitmix64(0x6D6F_7463_7561);
        let (mut compared, mut inside) = (0, 0);
        for h in hours {
            let cal = base.with_hours(h);
            for case in 0..30_000u64 {
                let r = next();
                // Whole minutes most of the time (the desk's instants), any second or
                // nanosecond otherwise, and exactly the opening now and then.
                let mut secs = lo + (r % (hi - lo) as u64) as i64;
                if case % 3 == 0 {
                    secs -= secs.rem_euclid(60);
                }
                let nanos = if case % 7 == 0 { (r >> 33) as u32 % 1_000_000_000 } else { 0 };
                let mut received = Stamp { secs, nanos };
                if case % 11 == 0 {
                    let midnight = (secs + 25_200).div_euclid(86_400) * 86_400 - 25_200;
                    received = Stamp::from_secs(midnight + secs_of(cal.hours().opening()));
                }
                let n = 1 + (r >> 40) as u32 % 40;
                let limit = match (r >> 50) % 3 {
                    0 => TimeLimit::WorkingDays(n),
                    1 => TimeLimit::WorkingHours(n * 4),
                    _ => TimeLimit::CalendarDays(n),
                };
                let cutoff = (r >> 55).is_multiple_of(2).then(|| t(15, 30));
                let utc = received.to_utc().unwrap();
                let chrono_due = start_instant(&cal, utc, cutoff)
                    .and_then(|(start, _)| due_instant_chrono(&cal, from_local(start), limit));
                let fast = due_at_receipt_stamp(&cal, received, limit, cutoff.map(secs_of));
                assert_eq!(
                    fast.and_then(Stamp::to_utc),
                    chrono_due.as_ref().ok().copied(),
                    "{utc} {limit:?} {cutoff:?}"
                );
                inside += usize::from(fast.is_some());
                assert_eq!(due_instant(&cal, utc, limit).ok(), due_instant_chrono(&cal, utc, limit).ok(), "{utc}");
                let p = cal.position_local(to_local(utc));
                assert_eq!(cal.position_stamp(received), p.as_ref().ok().copied(), "{utc}");
                if let Ok(p) = p {
                    let back = cal.local_at(p).map(from_local).ok();
                    assert_eq!(cal.stamp_at(p).and_then(Stamp::to_utc), back, "{p}");
                }
                compared += 1;
            }
        }
        assert_eq!(compared, 90_000);
        assert!(inside > 60_000, "most cases fall inside the coverage: {inside}");
    }

    fn secs_of(t: NaiveTime) -> i64 {
        i64::from(chrono::Timelike::num_seconds_from_midnight(&t))
    }
}
