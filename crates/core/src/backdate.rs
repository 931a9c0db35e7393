//! Honest times: an event's stated instant (`at`, when it is said to have happened) against the
//! instant it is recorded (`recorded_at`, when the log was written).
//!
//! The rules (docs/rules.md, "Backdating"):
//! - an event is never stated after the instant it is recorded (no future dates), on every
//!   door;
//! - staff acting through the API and the web pages may state an event at most the backdating
//!   window before now. The window is working time counted on the receiving desk's calendar,
//!   by default ONE WORKING DAY: the office time between the stated instant and now is at most
//!   one working day of that calendar (450 minutes with the standard hours). During office
//!   hours that is "no earlier than the same clock time on the previous working day"; before
//!   opening, at lunch or on a day off it reaches back over the whole of the previous working
//!   day (and the evening before it, when the office was closed and no working time passed);
//! - an account with the paper-history capability may state an event earlier still, with a
//!   reason ([`BACKDATE_REASON_FIELD`]) that is kept in the event itself;
//! - the command line (the operator, with direct access to the database) is not bound by the
//!   window, but never dates in the future either, and records both instants too.
//!
//! The gap of a backdated event is the working time between its two instants
//! ([`gap_minutes`]), computed here with the calendar, never in SQL.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::calendar::{Calendar, at_vn};
use crate::codes::{AgencyCode, DossierCode};
use crate::deadlines::{Lang, format_instant};
use crate::domain::Domain;
use crate::dossier::Event;

/// The name of the reason field in the API and the forms (`--backdate-reason` on the command
/// line).
pub const BACKDATE_REASON_FIELD: &str = "backdate_reason";

/// How far before now staff may state an event, in working time of the desk's calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackdateWindow {
    /// Whole working days of the calendar (its office hours' length each).
    WorkingDays(u32),
    /// Working minutes.
    WorkingMinutes(u32),
}

impl Default for BackdateWindow {
    /// One working day.
    fn default() -> Self {
        Self::WorkingDays(1)
    }
}

/// A window that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid backdating window {0:?}: expected working days, hours or minutes such as 1d, 2d, 4h, 90m (0 allows no backdating)"
)]
pub struct WindowError(pub String);

/// The largest window accepted: a working year.
const MAX_WINDOW_DAYS: u32 = 260;

impl FromStr for BackdateWindow {
    type Err = WindowError;

    /// `1d` (working days), `4h` (working hours), `90m` (working minutes), `0` (none).
    fn from_str(s: &str) -> Result<Self, WindowError> {
        let t = s.trim();
        let err = || WindowError(s.to_string());
        if t == "0" {
            return Ok(Self::WorkingMinutes(0));
        }
        let split = t.len().checked_sub(1).filter(|&i| t.is_char_boundary(i)).ok_or_else(err)?;
        let (n, unit) = t.split_at(split);
        let n: u32 = n.parse().map_err(|_| err())?;
        let w = match unit {
            "d" => Self::WorkingDays(n),
            "h" => Self::WorkingMinutes(n.checked_mul(60).ok_or_else(err)?),
            "m" => Self::WorkingMinutes(n),
            _ => return Err(err()),
        };
        let minutes_cap = MAX_WINDOW_DAYS * 24 * 60;
        match w {
            Self::WorkingDays(d) if d > MAX_WINDOW_DAYS => Err(err()),
            Self::WorkingMinutes(m) if m > minutes_cap => Err(err()),
            w => Ok(w),
        }
    }
}

impl fmt::Display for BackdateWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WorkingDays(d) => write!(f, "{d}d"),
            Self::WorkingMinutes(0) => f.write_str("0"),
            Self::WorkingMinutes(m) if m % 60 == 0 => write!(f, "{}h", m / 60),
            Self::WorkingMinutes(m) => write!(f, "{m}m"),
        }
    }
}

impl BackdateWindow {
    /// The window in working seconds of `cal` (a working day is as long as its office hours).
    pub fn working_seconds(self, cal: &Calendar) -> i64 {
        match self {
            Self::WorkingDays(d) => i64::from(d) * cal.hours().day_seconds(),
            Self::WorkingMinutes(m) => i64::from(m) * 60,
        }
    }

    /// In words: "1 working day", "4 working hours", "90 working minutes".
    pub fn describe(self) -> String {
        let plural = |n: u32, one: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {one}s") };
        match self {
            Self::WorkingDays(d) => plural(d, "working day"),
            Self::WorkingMinutes(m) if m > 0 && m % 60 == 0 => plural(m / 60, "working hour"),
            Self::WorkingMinutes(m) => plural(m, "working minute"),
        }
    }

    /// The earliest instant the window allows at `now` on `cal`; `None` when that instant is
    /// outside the calendar's coverage.
    pub fn earliest(self, cal: &Calendar, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let p = cal.position(now).ok()? - self.working_seconds(cal);
        cal.instant_at(p).ok()
    }
}

/// Who states the instant, and so which bound applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stating {
    /// Staff through the API or the web pages, without the paper-history capability.
    Staff,
    /// Staff whose account may key in paper history: beyond the window, with a reason.
    PaperHistory,
    /// The operator on the command line: no window.
    Operator,
}

/// Why a stated instant is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackdateError {
    #[error(
        "{} is later than now ({}): an event is never dated in the future",
        format_instant(*at, Lang::En),
        format_instant(*now, Lang::En)
    )]
    InFuture { at: DateTime<Utc>, now: DateTime<Utc> },
    #[error(
        "{} is more than {} before now ({}); the earliest allowed is {}. Only an account allowed to key in paper history may date an event earlier, with a {BACKDATE_REASON_FIELD}",
        format_instant(*at, Lang::En),
        window.describe(),
        format_instant(*now, Lang::En),
        earliest.map_or_else(|| "outside the calendar".to_string(), |e| format_instant(e, Lang::En))
    )]
    BeyondWindow { at: DateTime<Utc>, now: DateTime<Utc>, window: BackdateWindow, earliest: Option<DateTime<Utc>> },
    #[error(
        "{} is more than {} before now ({}): keying in paper history needs a {BACKDATE_REASON_FIELD}",
        format_instant(*at, Lang::En),
        window.describe(),
        format_instant(*now, Lang::En)
    )]
    ReasonRequired { at: DateTime<Utc>, now: DateTime<Utc>, window: BackdateWindow },
}

/// A stated instant that passed [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stated {
    pub at: DateTime<Utc>,
    /// Working minutes from `at` to now (`None` outside the calendar's coverage).
    pub gap_minutes: Option<i64>,
    /// Earlier than the window allows (only [`Stating::PaperHistory`] with a reason, or the
    /// operator).
    pub beyond_window: bool,
}

/// Working minutes from the stated instant to the recorded one, on `cal` (0 when it is not
/// earlier; `None` when either is outside the calendar's coverage).
pub fn gap_minutes(cal: &Calendar, at: DateTime<Utc>, recorded_at: DateTime<Utc>) -> Option<i64> {
    if at >= recorded_at {
        return Some(0);
    }
    cal.working_minutes_between(at, recorded_at).ok()
}

/// Is `at` earlier than `window` allows at `now`? Outside the calendar's coverage it is (the
/// working time cannot be counted, and a bounded window must not be passed by going far).
pub fn beyond_window(cal: &Calendar, at: DateTime<Utc>, now: DateTime<Utc>, window: BackdateWindow) -> bool {
    if at >= now {
        return false;
    }
    match cal.working_seconds_between(at, now) {
        Ok(s) => s > window.working_seconds(cal),
        Err(_) => true,
    }
}

/// Checks a stated instant against now: never in the future; within the window unless the
/// account may key in paper history and gave a reason (`reason_given`), or the operator
/// states it.
pub fn check(
    cal: &Calendar,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
    window: BackdateWindow,
    stating: Stating,
    reason_given: bool,
) -> Result<Stated, BackdateError> {
    if at > now {
        return Err(BackdateError::InFuture { at, now });
    }
    let beyond = beyond_window(cal, at, now, window);
    if beyond {
        match stating {
            Stating::Staff => {
                return Err(BackdateError::BeyondWindow { at, now, window, earliest: window.earliest(cal, now) });
            }
            Stating::PaperHistory if !reason_given => {
                return Err(BackdateError::ReasonRequired { at, now, window });
            }
            Stating::PaperHistory | Stating::Operator => {}
        }
    }
    Ok(Stated { at, gap_minutes: gap_minutes(cal, at, now), beyond_window: beyond })
}

/// One backdated event of a report: stated earlier than it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackdatedEvent {
    pub code: DossierCode,
    pub seq: u32,
    pub kind: &'static str,
    /// The staff account (or operator name) that recorded it.
    pub by: Option<String>,
    /// As stated, at +07:00.
    pub at: String,
    /// As recorded, at +07:00.
    pub recorded_at: String,
    /// Working minutes between them on the receiving desk's calendar (`None` outside its
    /// coverage).
    pub gap_working_minutes: Option<i64>,
    /// Earlier than the window allows: keyed in as paper history (or by the operator).
    pub beyond_window: bool,
    pub reason: Option<String>,
}

/// The backdated events of one officer in a report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OfficerBackdating {
    /// The account; `""` for events recorded without one (imports, simulations).
    pub by: String,
    pub events: u64,
    pub beyond_window: u64,
    /// Sum and largest of the gaps that could be counted.
    pub gap_working_minutes_total: i64,
    pub gap_working_minutes_max: i64,
}

/// Backdated events recorded in a period, and the same per officer: what the inspector's watch
/// list counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackdatingReport {
    /// The window the `beyond_window` flags are judged against.
    pub window: String,
    pub events: Vec<BackdatedEvent>,
    /// Per officer, most backdated events first.
    pub officers: Vec<OfficerBackdating>,
}

impl BackdatingReport {
    /// Builds the report from logged events `(code, seq, event, recorded_at)`; those not
    /// stated earlier than recorded are left out. Gaps are counted on the calendar of each
    /// dossier's receiving desk (named by its code).
    pub fn build<'a>(
        domain: &Domain,
        window: BackdateWindow,
        logged: impl IntoIterator<Item = (&'a DossierCode, u32, &'a Event, DateTime<Utc>)>,
    ) -> Self {
        let mut events = Vec::new();
        let mut officers: BTreeMap<String, OfficerBackdating> = BTreeMap::new();
        for (code, seq, e, recorded_at) in logged {
            if e.at >= recorded_at {
                continue;
            }
            let cal = code.agency().parse::<AgencyCode>().map_or(&domain.calendar, |a| domain.calendar_for(&a));
            let gap = gap_minutes(cal, e.at, recorded_at);
            let beyond = beyond_window(cal, e.at, recorded_at, window);
            let by = e.by.clone().unwrap_or_default();
            let o = officers.entry(by.clone()).or_insert_with(|| OfficerBackdating { by, ..Default::default() });
            o.events += 1;
            o.beyond_window += u64::from(beyond);
            if let Some(g) = gap {
                o.gap_working_minutes_total += g;
                o.gap_working_minutes_max = o.gap_working_minutes_max.max(g);
            }
            events.push(BackdatedEvent {
                code: code.clone(),
                seq,
                kind: e.kind.name(),
                by: e.by.clone(),
                at: at_vn(e.at).to_rfc3339(),
                recorded_at: at_vn(recorded_at).to_rfc3339(),
                gap_working_minutes: gap,
                beyond_window: beyond,
                reason: e.backdate_reason.clone(),
            });
        }
        let mut officers: Vec<OfficerBackdating> = officers.into_values().collect();
        officers.sort_by(|a, b| b.events.cmp(&a.events).then_with(|| a.by.cmp(&b.by)));
        Self { window: window.to_string(), events, officers }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::calendar::from_local;
    use chrono::NaiveDateTime;

    fn cal() -> Calendar {
        crate::calendar::testdata::vn_calendar()
    }

    fn t(s: &str) -> DateTime<Utc> {
        from_local(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
    }

    #[test]
    fn windows_parse_and_print() {
        assert_eq!("1d".parse(), Ok(BackdateWindow::WorkingDays(1)));
        assert_eq!(" 2d ".parse(), Ok(BackdateWindow::WorkingDays(2)));
        assert_eq!("4h".parse(), Ok(BackdateWindow::WorkingMinutes(240)));
        assert_eq!("90m".parse(), Ok(BackdateWindow::WorkingMinutes(90)));
        assert_eq!("0".parse(), Ok(BackdateWindow::WorkingMinutes(0)));
        for bad in ["", "d", "1", "1w", "-1d", "1.5d", "999d", "99999999h", "1đ"] {
            assert!(bad.parse::<BackdateWindow>().is_err(), "{bad:?}");
        }
        for s in ["1d", "3d", "4h", "90m", "0"] {
            assert_eq!(s.parse::<BackdateWindow>().unwrap().to_string(), s);
        }
        assert_eq!(BackdateWindow::default().describe(), "1 working day");
        assert_eq!(BackdateWindow::WorkingMinutes(240).describe(), "4 working hours");
    }

    /// One working day of the standard hours (07:30–11:30, 13:30–17:00) is 450 minutes: at a
    /// time of day during office hours it reaches back to the same time of the previous working
    /// day, over a weekend.
    #[test]
    fn one_working_day_back_is_the_same_time_on_the_previous_working_day() {
        let c = cal();
        let w = BackdateWindow::default();
        assert_eq!(w.working_seconds(&c), 450 * 60);
        // Monday 10/3/2025 09:00 → Friday 7/3 09:00.
        let now = t("2025-03-10 09:00");
        assert_eq!(w.earliest(&c, now), Some(t("2025-03-07 09:00")));
        assert!(!beyond_window(&c, t("2025-03-07 09:00"), now, w));
        assert!(beyond_window(&c, t("2025-03-07 08:59"), now, w));
        // Two working days back: refused to staff, with the earliest instant named.
        let err = check(&c, t("2025-03-06 09:00"), now, w, Stating::Staff, false).unwrap_err();
        assert_eq!(
            err,
            BackdateError::BeyondWindow {
                at: t("2025-03-06 09:00"),
                now,
                window: w,
                earliest: Some(t("2025-03-07 09:00"))
            }
        );
        assert!(err.to_string().contains("the earliest allowed is Fri 07/03/2025 09:00"), "{err}");
        // Within the window: accepted, with the gap in working minutes.
        let ok = check(&c, t("2025-03-07 16:00"), now, w, Stating::Staff, false).unwrap();
        assert_eq!(ok.gap_minutes, Some(60 + 90));
        assert!(!ok.beyond_window);
    }

    /// Before opening, at lunch or on a day off no working time passes: the window reaches back
    /// over the whole previous working day.
    #[test]
    fn outside_office_hours_the_whole_previous_working_day_is_in() {
        let c = cal();
        let w = BackdateWindow::default();
        // Saturday 8/3/2025 10:00: all of Friday, and Thursday's evening after closing.
        let sat = t("2025-03-08 10:00");
        assert!(!beyond_window(&c, t("2025-03-07 07:30"), sat, w));
        assert!(!beyond_window(&c, t("2025-03-06 18:00"), sat, w));
        assert!(beyond_window(&c, t("2025-03-06 16:59"), sat, w));
        // Monday 07:00, before opening: the same.
        assert!(!beyond_window(&c, t("2025-03-07 07:30"), t("2025-03-10 07:00"), w));
        // Across Tết 2025 (27/1–31/1 off): on Monday 3/2 at 08:00, Friday 24/1 at 08:00 is one
        // working day back.
        assert!(!beyond_window(&c, t("2025-01-24 08:00"), t("2025-02-03 08:00"), w));
        assert!(beyond_window(&c, t("2025-01-24 07:59"), t("2025-02-03 08:00"), w));
    }

    #[test]
    fn the_future_is_refused_to_everyone_and_paper_history_needs_a_reason() {
        let c = cal();
        let w = BackdateWindow::default();
        let now = t("2025-03-10 09:00");
        for who in [Stating::Staff, Stating::PaperHistory, Stating::Operator] {
            assert_eq!(
                check(&c, t("2025-03-10 09:01"), now, w, who, true),
                Err(BackdateError::InFuture { at: t("2025-03-10 09:01"), now })
            );
            assert!(check(&c, now, now, w, who, false).is_ok(), "now itself is not the future");
        }
        let old = t("2025-02-20 09:00");
        assert_eq!(
            check(&c, old, now, w, Stating::PaperHistory, false),
            Err(BackdateError::ReasonRequired { at: old, now, window: w })
        );
        let ok = check(&c, old, now, w, Stating::PaperHistory, true).unwrap();
        assert!(ok.beyond_window);
        assert_eq!(ok.gap_minutes, Some(12 * 450), "twelve working days from Thu 20/2 to Mon 10/3");
        assert!(check(&c, old, now, w, Stating::Operator, false).unwrap().beyond_window);
        // Outside the calendar: beyond any window, no gap.
        let ancient = t("1999-01-04 09:00");
        assert!(matches!(check(&c, ancient, now, w, Stating::Staff, false), Err(BackdateError::BeyondWindow { .. })));
        assert_eq!(check(&c, ancient, now, w, Stating::Operator, false).unwrap().gap_minutes, None);
        // A window of 0: nothing before now.
        let none = BackdateWindow::WorkingMinutes(0);
        assert!(check(&c, t("2025-03-10 08:59"), now, none, Stating::Staff, false).is_err());
        assert!(check(&c, t("2025-03-10 07:00"), t("2025-03-10 07:20"), none, Stating::Staff, false).is_ok());
    }

    #[test]
    fn the_gap_is_working_time() {
        let c = cal();
        assert_eq!(gap_minutes(&c, t("2025-03-07 16:00"), t("2025-03-10 08:00")), Some(60 + 30));
        assert_eq!(gap_minutes(&c, t("2025-03-10 08:00"), t("2025-03-10 08:00")), Some(0));
        assert_eq!(gap_minutes(&c, t("2025-03-10 09:00"), t("2025-03-10 08:00")), Some(0));
    }

    #[test]
    fn a_report_lists_backdated_events_and_counts_them_per_officer() {
        use crate::dossier::EventKind;
        let catalog = crate::catalog::Catalog::from_toml(
            include_str!("../../../config/catalog/agencies.toml"),
            include_str!("../../../config/catalog/procedures.toml"),
        )
        .unwrap();
        let d = Domain::new(cal(), catalog, crate::analysis::ClassifyMode::DateTime);
        let code: DossierCode = "000.00.02.H17-250303-0001".parse().unwrap();
        let now = t("2025-03-10 09:00");
        let mut paper = Event::new(t("2025-03-03 09:30"), Some("records1".into()), EventKind::Accepted);
        paper.backdate_reason = Some("sổ giấy".into());
        let yesterday =
            Event::new(t("2025-03-07 10:00"), Some("desk1".into()), EventKind::Paid { method: None, receipt: None });
        let on_time = Event::new(now, Some("desk1".into()), EventKind::Returned);
        let r = BackdatingReport::build(
            &d,
            BackdateWindow::default(),
            [(&code, 2, &paper, now), (&code, 3, &yesterday, now), (&code, 4, &on_time, now)],
        );
        assert_eq!(r.events.len(), 2, "the event stated as it was recorded is not backdated");
        assert_eq!(r.events[0].gap_working_minutes, Some(5 * 450 - 30));
        assert!(r.events[0].beyond_window);
        assert_eq!(r.events[0].reason.as_deref(), Some("sổ giấy"));
        assert_eq!(r.events[0].at, "2025-03-03T09:30:00+07:00");
        assert_eq!(r.events[1].gap_working_minutes, Some(450 - 60));
        assert!(!r.events[1].beyond_window);
        let tally: Vec<_> = r.officers.iter().map(|o| (o.by.as_str(), o.events, o.beyond_window)).collect();
        assert_eq!(tally, [("desk1", 1, 0), ("records1", 1, 1)]);
        assert_eq!(r.window, "1d");
    }
}
