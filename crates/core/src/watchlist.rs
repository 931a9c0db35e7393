//! The inspector's watch list (Directive 34-CT/TU of the Da Nang Party Committee, against
//! avoidance and buck-passing): per agency or per officer, over a period, how many dossiers
//! showed each avoidance signal [`crate::analysis`] computes, which officers let more than
//! two dossiers go late, which agencies keep dossiers waiting longest in handoffs, and how many
//! events each officer backdated ([`crate::backdate`]).
//!
//! # What is counted, and when
//!
//! A dossier's signals change as its events arrive and as time passes (a holder becomes
//! silent when its budget runs out, a dossier becomes late when its due instant passes). The
//! watch list counts **occurrences**: the first instant at which
//! [`analyse`](crate::analysis::analyse), run on the
//! dossier as it stood then (its events stated at or before that instant), reports a signal.
//! Each signal is counted at most once per dossier — once per visit for a bounce and a silent
//! holder, once per handoff for a slow handoff — and is dated at that first instant, so an
//! occurrence stays counted after the holder finally acts or an apology is issued: the list
//! says what happened in the period, not only what is still wrong at its end.
//!
//! Because every occurrence is dated at or after the events that cause it, the occurrences of
//! a dossier computed from its whole log and kept up to an instant `t` are exactly those
//! computed from its events stated at or before `t`: the watch list "as of `t`" needs no
//! second replay, and the store keeps it in the write transaction ([`Watch`] follows a log one
//! event at a time, as the writer does).
//!
//! | kind | occurs | agency | officer |
//! |---|---|---|---|
//! | `bounce` | a visit the route does not plan, to an agency that held the dossier before | the agency that sent it back | who recorded that transfer |
//! | `extra_handoffs` | the first transfer beyond the route's handoffs | its sender | who recorded it |
//! | `silent_holder` | the holder's budget ran out with no event since before it ran out (one per visit) | the holder | the last officer who recorded an event during that visit (not the transfer that brought it there; events without an officer skipped); none: unknown |
//! | `second_supplement` | the second supplement request: the dossier goes back to the citizen a second time | the holder | who recorded that request |
//! | `unlisted_papers` | the first supplement request naming papers the procedure does not list | the holder | who recorded it |
//! | `late_without_apology` | late (past due while open, or finished late) with no apology issued | the holder when it went late | the last officer of that visit |
//! | `apology_after_due` | the first apology issued after the due instant | the holder | who recorded the apology (`scheduler` for the automatic one) |
//! | `second_reschedule` | the second new appointment date | the holder | who recorded it |
//! | `late` | the dossier went past its due instant (the first time) | the holder when it went late | the last officer of that visit |
//! | `slow_handoff` | a transfer accepted more than one working day (of the dossier's calendar) after it was sent | the receiving agency | who accepted it |
//!
//! Per day, per agency and officer, the watch list also sums the handoffs accepted (and their
//! waits in working minutes: "dwell between transfer and acceptance", as
//! [`crate::analysis::HandoffRow::delay_minutes`]) on the day of their acceptance, and the
//! backdated events ([`crate::backdate::BackdatingReport`]'s definition: stated earlier than
//! recorded) on the day they were recorded, under the agency holding the dossier when the event
//! was recorded. An event recorded without an officer counts under "unknown" (`None`), never
//! under a person.
//!
//! A count is the number of distinct dossiers. The list carries counts only; the codes of a
//! count are read when asked for ([`WatchFacts::dossiers`], the store's drill-down).
//!
//! # Counting without the codes
//!
//! A dossier has at most one occurrence of most kinds; a bounce, a silent holder and a slow
//! handoff may occur more than once on it. An occurrence whose dossier has no other of its
//! kind (a *single*, [`repeated`]) counts one dossier wherever it is summed, so the store keeps
//! the singles summed per local day, agency, officer and kind ([`CountCell`]) and the list adds
//! those sums over the period's whole days to the distinct dossiers of the occurrences the sums
//! do not cover — those of a kind repeated on their dossier, and all of a last day cut by the
//! as-of instant ([`WatchCounts`]). Both parts are disjoint per kind, so the sum is the number
//! of distinct dossiers, as from every occurrence. The store counts those distinct dossiers
//! itself ([`Distinct`]: one `COUNT(DISTINCT …)` per grouping) and sums the daily handoffs and
//! backdated events over the period per agency and officer, so a list is read as a handful of
//! aggregate rows, not occurrence by occurrence.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use crate::analysis::{Signal, Timeliness, signals};
use crate::backdate::gap_minutes;
use crate::calendar::{CalendarError, at_vn, to_local};
use crate::catalog::Procedure;
use crate::codes::{AgencyCode, DossierCode};
use crate::domain::{Domain, DomainError};
use crate::dossier::{Dossier, Event, EventKind, Status};
use crate::vocab;

/// The kinds of occurrence the watch list counts (the first eight are [`Signal`]'s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchKind {
    Bounce,
    ExtraHandoffs,
    SilentHolder,
    SecondSupplement,
    UnlistedPapers,
    LateWithoutApology,
    ApologyAfterDue,
    SecondReschedule,
    Late,
    SlowHandoff,
}

impl WatchKind {
    pub const ALL: [WatchKind; 10] = [
        Self::Bounce,
        Self::ExtraHandoffs,
        Self::SilentHolder,
        Self::SecondSupplement,
        Self::UnlistedPapers,
        Self::LateWithoutApology,
        Self::ApologyAfterDue,
        Self::SecondReschedule,
        Self::Late,
        Self::SlowHandoff,
    ];

    /// The stable name (JSON keys, CSV columns in English, the store's `kind` column).
    pub fn name(self) -> &'static str {
        match self {
            Self::Bounce => "bounce",
            Self::ExtraHandoffs => "extra_handoffs",
            Self::SilentHolder => "silent_holder",
            Self::SecondSupplement => "second_supplement",
            Self::UnlistedPapers => "unlisted_papers",
            Self::LateWithoutApology => "late_without_apology",
            Self::ApologyAfterDue => "apology_after_due",
            Self::SecondReschedule => "second_reschedule",
            Self::Late => "late",
            Self::SlowHandoff => "slow_handoff",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }

    /// The column heading in Vietnamese.
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::Bounce => "Trả qua trả lại",
            Self::ExtraHandoffs => "Chuyển nhiều hơn quy trình",
            Self::SilentHolder => "Giữ hồ sơ quá thời gian mà không xử lý",
            Self::SecondSupplement => "Yêu cầu bổ sung lần thứ hai",
            Self::UnlistedPapers => "Yêu cầu giấy tờ ngoài danh mục",
            Self::LateWithoutApology => "Trễ hạn không xin lỗi",
            Self::ApologyAfterDue => "Xin lỗi sau khi đã quá hạn",
            Self::SecondReschedule => "Hẹn lại lần thứ hai",
            Self::Late => "Trễ hạn",
            Self::SlowHandoff => "Nhận chuyển giao chậm quá 1 ngày làm việc",
        }
    }

    /// The column heading in English.
    pub fn label_en(self) -> &'static str {
        match self {
            Self::Bounce => "Bounced back",
            Self::ExtraHandoffs => "More handoffs than the route",
            Self::SilentHolder => "Silent holder",
            Self::SecondSupplement => "Second supplement request",
            Self::UnlistedPapers => "Papers not in the procedure",
            Self::LateWithoutApology => "Late without apology",
            Self::ApologyAfterDue => "Apology after the due date",
            Self::SecondReschedule => "Second new date",
            Self::Late => "Late",
            Self::SlowHandoff => "Handoff accepted after more than a working day",
        }
    }

    /// What it means, in one sentence, in Vietnamese or English.
    pub fn describe(self, lang: crate::deadlines::Lang) -> &'static str {
        let vi = lang == crate::deadlines::Lang::Vi;
        match self {
            Self::Bounce if vi => {
                "Hồ sơ bị chuyển trả về một cơ quan đã từng giữ nó, ngoài quy trình; tính cho cơ quan chuyển trả."
            }
            Self::Bounce => {
                "The dossier was sent back to an agency that already held it, outside the route; held against the sender."
            }
            Self::ExtraHandoffs if vi => {
                "Hồ sơ được chuyển nhiều lần hơn quy trình của thủ tục; tính cho cơ quan chuyển lần vượt."
            }
            Self::ExtraHandoffs => {
                "More handoffs than the procedure's route; held against the sender of the first extra one."
            }
            Self::SilentHolder if vi => {
                "Cơ quan đang giữ hồ sơ đã dùng hết thời gian của bước mà không có thao tác nào."
            }
            Self::SilentHolder => "The holder used up its step's time with nothing recorded.",
            Self::SecondSupplement if vi => "Hồ sơ bị trả lại công dân để bổ sung lần thứ hai.",
            Self::SecondSupplement => "The dossier went back to the citizen for papers a second time.",
            Self::UnlistedPapers if vi => "Yêu cầu bổ sung giấy tờ không có trong thành phần hồ sơ của thủ tục.",
            Self::UnlistedPapers => "A supplement request named papers the procedure does not list.",
            Self::LateWithoutApology if vi => "Hồ sơ quá hạn mà chưa có phiếu xin lỗi và hẹn lại ngày trả.",
            Self::LateWithoutApology => "Past due with no apology letter and new date.",
            Self::ApologyAfterDue if vi => "Phiếu xin lỗi được lập sau khi hồ sơ đã quá hạn.",
            Self::ApologyAfterDue => "The apology was issued after the due date had passed.",
            Self::SecondReschedule if vi => "Hồ sơ bị hẹn lại ngày trả lần thứ hai.",
            Self::SecondReschedule => "A second new appointment date.",
            Self::Late if vi => "Hồ sơ quá hạn giải quyết (lần đầu); tính cho cơ quan, cán bộ đang giữ khi đến hạn.",
            Self::Late => "The dossier went past its due instant (first time); held against the holder then.",
            Self::SlowHandoff if vi => "Hồ sơ được chuyển đến nhưng hơn 1 ngày làm việc sau mới được tiếp nhận.",
            Self::SlowHandoff => "A handoff accepted more than one working day after it was sent.",
        }
    }

    /// The kind of an analysis signal.
    pub fn of(signal: &Signal) -> Self {
        match signal {
            Signal::Bounce { .. } => Self::Bounce,
            Signal::ExtraHandoffs { .. } => Self::ExtraHandoffs,
            Signal::SilentHolder { .. } => Self::SilentHolder,
            Signal::SecondSupplement => Self::SecondSupplement,
            Signal::UnlistedPapers { .. } => Self::UnlistedPapers,
            Signal::LateWithoutApology => Self::LateWithoutApology,
            Signal::ApologyAfterDue => Self::ApologyAfterDue,
            Signal::SecondReschedule => Self::SecondReschedule,
        }
    }
}

impl fmt::Display for WatchKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One occurrence of a signal on a dossier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Occurrence {
    /// The first instant the signal held.
    pub at: DateTime<Utc>,
    pub kind: WatchKind,
    /// Which one of the dossier's: the visit (holding) of a bounce or a silent holder, the
    /// handoff of a slow handoff; 0 for the kinds counted once per dossier.
    pub index: u32,
    pub agency: AgencyCode,
    /// The staff account held to it; `None`: unknown.
    pub officer: Option<String>,
}

/// A handoff accepted: its wait, for the receiving agency and the officer who accepted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HandoffWait {
    pub accepted_at: DateTime<Utc>,
    pub agency: AgencyCode,
    pub officer: Option<String>,
    /// Working minutes from the transfer to the acceptance.
    pub minutes: i64,
}

/// A backdated event: stated earlier than it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackdatedFact {
    pub recorded_at: DateTime<Utc>,
    /// The agency holding the dossier when it was recorded (the receiving agency for the
    /// first event).
    pub agency: AgencyCode,
    pub officer: Option<String>,
    /// Working minutes between the stated and the recorded instant on the receiving desk's
    /// calendar (`None` outside its coverage).
    pub gap_minutes: Option<i64>,
}

/// What one event adds to the watch list's daily sums.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFacts {
    pub handoff: Option<HandoffWait>,
    pub backdated: Option<BackdatedFact>,
}

impl EventFacts {
    /// The cell of the handoff sums the acceptance adds to (the local day it was accepted),
    /// and what it adds.
    pub fn handoff_cell(&self) -> Option<(DayCell, HandoffSums)> {
        let h = self.handoff.as_ref()?;
        let cell =
            DayCell { day: to_local(h.accepted_at).date(), agency: h.agency.clone(), officer: h.officer.clone() };
        Some((cell, HandoffSums { handoffs: 1, minutes: h.minutes, max_minutes: h.minutes }))
    }

    /// The cell of the backdated sums the event adds to (the local day it was recorded), and
    /// what it adds.
    pub fn backdated_cell(&self) -> Option<(DayCell, BackdatedSums)> {
        let b = self.backdated.as_ref()?;
        let cell =
            DayCell { day: to_local(b.recorded_at).date(), agency: b.agency.clone(), officer: b.officer.clone() };
        Some((cell, BackdatedSums { events: 1, gap_minutes: b.gap_minutes.unwrap_or(0) }))
    }
}

/// Why the watch list could not follow a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WatchError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// The identity of an occurrence within a dossier: counted at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    kind: WatchKind,
    index: u32,
}

fn key(kind: WatchKind, index: usize) -> Key {
    Key { kind, index: u32::try_from(index).unwrap_or(u32::MAX) }
}

/// Who recorded what, as the attribution needs it.
#[derive(Debug, Clone, Default)]
struct Officers {
    /// Per visit (holding): the last officer who recorded an event during it, not counting
    /// the transfer that brought it there nor events recorded without an officer.
    holding: Vec<Option<String>>,
    /// Per handoff: who recorded the transfer.
    transfer: Vec<Option<String>>,
    /// Per wait (supplement or payment): who asked, and the holder then.
    wait: Vec<(Option<String>, Option<AgencyCode>)>,
    /// Per new appointment date: who recorded it, and the holder then.
    reschedule: Vec<(Option<String>, Option<AgencyCode>)>,
}

/// Keys with the first instant each holds at.
type Onsets = Vec<(Key, DateTime<Utc>)>;

/// Follows one dossier's log, event by event, and gives its occurrences.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// Occurrences of the intervals between events already closed by a later event.
    seen: BTreeMap<Key, Occurrence>,
    /// The last event's instant, and what the state after it reaches if no event follows,
    /// each key with its first instant (kept when the next event comes later than it; held
    /// against someone only then, or when asked for: see [`Watch::attribute`]).
    pending: Option<(DateTime<Utc>, Onsets)>,
    /// The holder and the number of visits after the last event, and whether a transfer was
    /// waiting to be accepted.
    holder: Option<AgencyCode>,
    visits: usize,
    handoff_pending: bool,
    officers: Officers,
}

impl Watch {
    /// Follows one event, which `domain` has just applied: `after` is the dossier with it.
    /// `recorded_at` (when the log was written) is given for an event being appended, to
    /// judge whether it is backdated; `None` when a stored log is replayed.
    pub fn observe(
        &mut self,
        domain: &Domain,
        after: &Dossier,
        event: &Event,
        recorded_at: Option<DateTime<Utc>>,
    ) -> Result<EventFacts, WatchError> {
        // The interval of the state before this event ends here: what it reached before now
        // happened (nothing, if the two events share an instant).
        if let Some((since, onsets)) = self.pending.take()
            && event.at > since
            && after.procedure.is_some()
        {
            let procedure = domain.procedure_of(after)?;
            for (k, at) in onsets.into_iter().filter(|(_, t)| *t < event.at) {
                if let Some(o) = self.attribute(after, procedure, k, at) {
                    self.seen.entry(k).or_insert(o);
                }
            }
        }
        let holder_before = self.holder.take();
        let mut facts = EventFacts::default();
        let receiving = after.receiving_agency.clone();
        let cal = receiving.as_ref().map_or(&domain.calendar, |a| domain.calendar_for(a));
        let o = &mut self.officers;
        // A blank account is no officer: counted under unknown, as the store keeps it.
        let by = officer_of(event);
        match &event.kind {
            EventKind::Transferred { .. } => {
                // The sender acted on its visit; the new visit has no event of its own yet.
                let n = after.holdings.len();
                if n >= 2 && by.is_some() {
                    set(&mut o.holding, n - 2, by.clone());
                }
                set(&mut o.holding, n.saturating_sub(1), None);
                let h = after.handoffs.len().saturating_sub(1);
                set(&mut o.transfer, h, by.clone());
            }
            kind => {
                if let Some(i) = after.holdings.len().checked_sub(1)
                    && by.is_some()
                {
                    set(&mut o.holding, i, by.clone());
                }
                match kind {
                    EventKind::SupplementRequested { .. } | EventKind::PaymentRequested { .. } => {
                        let i = after.waits.len().saturating_sub(1);
                        set(&mut o.wait, i, (by.clone(), after.holder.clone()));
                    }
                    EventKind::Rescheduled { .. } => {
                        let i = after.reschedules.len().saturating_sub(1);
                        set(&mut o.reschedule, i, (by.clone(), after.holder.clone()));
                    }
                    EventKind::Accepted => {
                        let i = after.handoffs.len().saturating_sub(1);
                        if self.handoff_pending
                            && let Some(h) = after.handoffs.last().filter(|h| h.accepted_at.is_some())
                        {
                            let minutes = cal.working_minutes_between(h.sent_at, event.at)?.max(0);
                            if minutes > cal.hours().day_seconds() / 60 {
                                let k = key(WatchKind::SlowHandoff, i);
                                self.seen.entry(k).or_insert(Occurrence {
                                    at: event.at,
                                    kind: k.kind,
                                    index: k.index,
                                    agency: h.to.clone(),
                                    officer: by.clone(),
                                });
                            }
                            facts.handoff = Some(HandoffWait {
                                accepted_at: event.at,
                                agency: h.to.clone(),
                                officer: by.clone(),
                                minutes,
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        if let Some(recorded_at) = recorded_at
            && event.at < recorded_at
            && let Some(agency) = holder_before.or_else(|| receiving.clone())
        {
            facts.backdated = Some(BackdatedFact {
                recorded_at,
                agency,
                officer: by.clone(),
                gap_minutes: gap_minutes(cal, event.at, recorded_at),
            });
        }
        self.pending = Some((event.at, self.onsets(domain, after, event.at)?));
        self.holder = after.holder.clone();
        self.visits = after.holdings.len();
        self.handoff_pending = after.pending_handoff().is_some();
        Ok(facts)
    }

    /// The dossier's occurrences: those of the closed intervals, and those the state after the
    /// last event will reach if no event follows (dated in the future for an open dossier
    /// whose holder's budget or due instant has not run out yet). In order of their instants.
    /// `d` is the dossier after the last event observed.
    pub fn occurrences(&self, domain: &Domain, d: &Dossier) -> Result<Vec<Occurrence>, WatchError> {
        let mut out: Vec<Occurrence> = self.seen.values().cloned().collect();
        if let (Some((_, onsets)), Some(_)) = (&self.pending, &d.procedure) {
            let procedure = domain.procedure_of(d)?;
            for (k, at) in onsets.iter().filter(|(k, _)| !self.seen.contains_key(k)) {
                out.extend(self.attribute(d, procedure, *k, *at));
            }
        }
        out.sort();
        Ok(out)
    }

    /// The keys not yet seen that hold at some instant from `a` on, on the state `d` with no
    /// further event, each with the first such instant.
    fn onsets(&self, domain: &Domain, d: &Dossier, a: DateTime<Utc>) -> Result<Vec<(Key, DateTime<Utc>)>, WatchError> {
        let (Some(_), Some(receiving)) = (&d.procedure, &d.receiving_agency) else { return Ok(Vec::new()) };
        let procedure = domain.procedure_of(d)?;
        let cal = domain.calendar_for(receiving);
        let an = signals(d, procedure, cal, a, domain.classify)?;
        let mut out = Vec::new();
        let push = |k: Key, at: DateTime<Utc>, out: &mut Vec<(Key, DateTime<Utc>)>| {
            if !self.seen.contains_key(&k) && !out.iter().any(|(x, _)| *x == k) {
                out.push((k, at));
            }
        };
        // Held at `a`.
        for (i, bounce) in an.bounce.iter().enumerate() {
            if *bounce {
                push(key(WatchKind::Bounce, i), a, &mut out);
            }
        }
        let last_visit = d.holdings.len().saturating_sub(1);
        for s in &an.list {
            match s {
                Signal::Bounce { .. } => {}
                Signal::SilentHolder { .. } => push(key(WatchKind::SilentHolder, last_visit), a, &mut out),
                other => push(key(WatchKind::of(other), 0), a, &mut out),
            }
        }
        // Late as the analysis has it: finished late, or overdue (DOMAIN.md §5: not while the
        // citizen holds a dossier asked for before its due instant).
        let late_now = an.timeliness == Some(Timeliness::Late) || an.overdue;
        if late_now {
            push(key(WatchKind::Late, 0), a, &mut out);
        }
        // Reached later in the interval, with no event: the due instant passes while the
        // agency's clock runs (late from just after it), or the holder's budget runs out.
        let open = d.status.is_some_and(Status::is_open);
        if vocab::AGENCY_CLOCK.holds(d.status)
            && let Some(due) = d.due_at
            && !late_now
            && due >= a
        {
            push(key(WatchKind::Late, 0), due, &mut out);
            if d.reschedules.is_empty() {
                push(key(WatchKind::LateWithoutApology, 0), due, &mut out);
            }
        }
        let silent = key(WatchKind::SilentHolder, last_visit);
        if open
            && !self.seen.contains_key(&silent)
            && !out.iter().any(|(k, _)| *k == silent)
            && let (Some(visit), Some(budget_minutes)) = (d.holdings.last(), an.last_budget_minutes)
            && visit.until.is_none()
            && d.waits.last().is_none_or(|w| w.completed_at.is_some())
        {
            let mut waited = 0;
            for w in &d.waits {
                let (x, y) = (w.requested_at.max(visit.from), w.completed_at.unwrap_or(a));
                if y > x {
                    waited += cal.working_seconds_between(x, y)?;
                }
            }
            // The analysis's condition: nothing recorded since before the budget ran out, and
            // more working minutes held (waits aside) than the budget, which happens first
            // one minute past it (checked against the analysis in the tests).
            let onset = cal.add_working_seconds(visit.from, waited + 60 * (budget_minutes + 1))?;
            if onset > a
                && let Some(last_event) = d.last_event_at
                && last_event < cal.add_working_seconds(visit.from, budget_minutes * 60)?
            {
                push(silent, onset, &mut out);
            }
        }
        Ok(out)
    }

    /// The occurrence of `k` first holding at `at`, held against the agency and officer the
    /// table of the module's documentation names. Asked when the interval of the last event
    /// observed ends (or when the occurrences are asked for): the officers and the holder are
    /// still that interval's, and `d` — the dossier then or after the next event — has the
    /// same visits, handoffs, waits and apologies up to those the key names.
    fn attribute(&self, d: &Dossier, procedure: &Procedure, k: Key, at: DateTime<Utc>) -> Option<Occurrence> {
        let o = &self.officers;
        let i = k.index as usize;
        let visit_officer = |v: usize| o.holding.get(v).cloned().flatten();
        let current = || {
            let agency = self.holder.clone().or_else(|| d.receiving_agency.clone())?;
            Some((agency, visit_officer(self.visits.saturating_sub(1))))
        };
        let by_sender = |h: usize| Some((d.handoffs.get(h)?.from.clone(), o.transfer.get(h).cloned().flatten()));
        let recorded = |entry: Option<&(Option<String>, Option<AgencyCode>)>| {
            let (by, holder) = entry?;
            Some((holder.clone().or_else(|| d.receiving_agency.clone())?, by.clone()))
        };
        let (agency, officer) = match k.kind {
            // A visit after the first was opened by the handoff before it.
            WatchKind::Bounce => by_sender(i.checked_sub(1)?),
            // The first handoff beyond the route's.
            WatchKind::ExtraHandoffs => by_sender(procedure.route.len().saturating_sub(1)),
            WatchKind::SilentHolder => Some((d.holdings.get(i)?.agency.clone(), visit_officer(i))),
            WatchKind::SecondSupplement => {
                let w = d
                    .waits
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.kind == crate::deadlines::WaitKind::Supplement)
                    .nth(1)?
                    .0;
                recorded(o.wait.get(w))
            }
            WatchKind::UnlistedPapers => {
                let listed = |doc: &String| procedure.documents.iter().any(|p| p.eq_ignore_ascii_case(doc));
                let w = d.waits.iter().position(|w| w.documents.iter().any(|doc| !listed(doc)))?;
                recorded(o.wait.get(w))
            }
            WatchKind::LateWithoutApology | WatchKind::Late => current(),
            WatchKind::ApologyAfterDue => {
                let r = d.reschedules.iter().position(|r| r.after_due)?;
                recorded(o.reschedule.get(r))
            }
            WatchKind::SecondReschedule => recorded(o.reschedule.get(1)),
            // Recorded when the handoff is accepted ([`Watch::observe`]).
            WatchKind::SlowHandoff => None,
        }?;
        Some(Occurrence { at, kind: k.kind, index: k.index, agency, officer })
    }
}

/// The officer who recorded an event: `None` when it names none, or only a blank (an import's
/// empty `by`), never a person.
pub fn officer_of(event: &Event) -> Option<String> {
    event.by.as_deref().map(str::trim).filter(|b| !b.is_empty()).map(str::to_string)
}

/// Sets `v[i]`, growing `v` with defaults.
fn set<T: Default + Clone>(v: &mut Vec<T>, i: usize, value: T) {
    if v.len() <= i {
        v.resize(i + 1, T::default());
    }
    v[i] = value;
}

/// Follows a whole stored log (events with their recorded instants): the dossier, its
/// occurrences and what each event adds to the daily sums.
pub fn follow(
    domain: &Domain,
    log: &[(Event, DateTime<Utc>)],
) -> Result<(Dossier, Vec<Occurrence>, Vec<EventFacts>), WatchError> {
    let mut d = Dossier::default();
    let mut watch = Watch::default();
    let mut facts = Vec::with_capacity(log.len());
    for (e, recorded_at) in log {
        domain.apply(&mut d, e)?;
        facts.push(watch.observe(domain, &d, e, Some(*recorded_at))?);
    }
    let occurrences = watch.occurrences(domain, &d)?;
    Ok((d, occurrences, facts))
}

/// A cell of the daily sums: the local day, the agency and the officer (`None`: unknown).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct DayCell {
    pub day: NaiveDate,
    pub agency: AgencyCode,
    pub officer: Option<String>,
}

/// Handoffs accepted, and their waits in working minutes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct HandoffSums {
    pub handoffs: u64,
    pub minutes: i64,
    pub max_minutes: i64,
}

impl HandoffSums {
    pub fn add(&mut self, o: &Self) {
        self.handoffs += o.handoffs;
        self.minutes += o.minutes;
        self.max_minutes = self.max_minutes.max(o.max_minutes);
    }

    /// The average wait, rounded to the nearest minute; 0 without handoffs.
    pub fn average_minutes(&self) -> i64 {
        match i64::try_from(self.handoffs) {
            Ok(n) if n > 0 => (self.minutes + n / 2).div_euclid(n),
            _ => 0,
        }
    }
}

/// Backdated events, and the working minutes between their stated and recorded instants.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BackdatedSums {
    pub events: u64,
    pub gap_minutes: i64,
}

impl BackdatedSums {
    pub fn add(&mut self, o: &Self) {
        self.events += o.events;
        self.gap_minutes += o.gap_minutes;
    }
}

/// Everything a watch list is built from: the occurrences (with their dossiers) and the
/// daily sums. The store keeps exactly these in the write transaction; a replay of the log
/// through [`follow`] gives them too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchFacts {
    pub occurrences: Vec<(DossierCode, Occurrence)>,
    pub handoffs: BTreeMap<DayCell, HandoffSums>,
    pub backdated: BTreeMap<DayCell, BackdatedSums>,
}

impl WatchFacts {
    /// Adds what one event adds to the daily sums.
    pub fn add_event(&mut self, facts: &EventFacts) {
        if let Some((cell, sums)) = facts.handoff_cell() {
            self.handoffs.entry(cell).or_default().add(&sums);
        }
        if let Some((cell, sums)) = facts.backdated_cell() {
            self.backdated.entry(cell).or_default().add(&sums);
        }
    }

    /// Adds a replayed dossier: its occurrences and its events' facts.
    pub fn add_dossier(&mut self, code: &DossierCode, occurrences: Vec<Occurrence>, facts: &[EventFacts]) {
        self.occurrences.extend(occurrences.into_iter().map(|o| (code.clone(), o)));
        for f in facts {
            self.add_event(f);
        }
    }

    /// The facts the query's period, instant and agency select, in a canonical order.
    pub fn within(mut self, q: &WatchQuery) -> Self {
        let (start, end) = (q.start(), q.end());
        let days = q.from..=q.last_day();
        let agency_ok = |a: &AgencyCode| q.agency.as_ref().is_none_or(|x| x == a);
        self.occurrences.retain(|(_, o)| o.at >= start && o.at < end && agency_ok(&o.agency));
        self.occurrences.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
        self.handoffs.retain(|c, _| days.contains(&c.day) && agency_ok(&c.agency));
        self.backdated.retain(|c, _| days.contains(&c.day) && agency_ok(&c.agency));
        self
    }
}

impl WatchFacts {
    /// The codes of one count of the list for `q` ([`WatchCellRef`]), in order: the
    /// drill-down the store answers from its occurrences.
    pub fn dossiers(&self, q: &WatchQuery, cell: &WatchCellRef) -> Vec<DossierCode> {
        let (start, end) = (q.start(), q.end());
        let set: BTreeSet<&DossierCode> = self
            .occurrences
            .iter()
            .filter(|(_, o)| o.at >= start && o.at < end && q.agency.as_ref().is_none_or(|a| *a == o.agency))
            .filter(|(_, o)| cell.holds(q.by, o))
            .map(|(c, _)| c)
            .collect();
        set.into_iter().cloned().collect()
    }
}

/// Whether each occurrence has another of its kind on the same dossier (`occurrences` are all
/// of one dossier's).
pub fn repeated(occurrences: &[Occurrence]) -> Vec<bool> {
    let mut per_kind: BTreeMap<WatchKind, usize> = BTreeMap::new();
    for o in occurrences {
        *per_kind.entry(o.kind).or_default() += 1;
    }
    occurrences.iter().map(|o| per_kind.get(&o.kind).is_some_and(|n| *n > 1)).collect()
}

/// A cell of the singles' daily sums: the local day of the occurrences, the agency, the
/// officer (`None`: unknown) and the kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CountCell {
    pub day: NaiveDate,
    pub agency: AgencyCode,
    pub officer: Option<String>,
    pub kind: WatchKind,
}

/// The cells one dossier's singles add one to (`occurrences` are all of one dossier's).
pub fn single_cells(occurrences: &[Occurrence]) -> Vec<CountCell> {
    occurrences
        .iter()
        .zip(repeated(occurrences))
        .filter(|(_, r)| !r)
        .map(|(o, _)| CountCell {
            day: to_local(o.at).date(),
            agency: o.agency.clone(),
            officer: o.officer.clone(),
            kind: o.kind,
        })
        .collect()
}

/// Adds (`sign` 1) or takes away (`-1`) one dossier's singles from sums by cell.
pub fn add_singles(sums: &mut BTreeMap<CountCell, i64>, occurrences: &[Occurrence], sign: i64) {
    for c in single_cells(occurrences) {
        *sums.entry(c).or_default() += sign;
    }
}

/// Singles summed over a period: per agency, officer (`None`: unknown) and kind.
pub type Singles = BTreeMap<(AgencyCode, Option<String>, WatchKind), u64>;

/// An agency and an officer (`None`: unknown): the key of the daily sums summed over a
/// period's days.
pub type Holder = (AgencyCode, Option<String>);

/// The distinct dossiers of a set of occurrences, counted the three ways a list needs them:
/// per agency and kind, per officer and kind, and per kind (the total). Counting distinct
/// dossiers does not add up across groups (a dossier bounced by two agencies is one dossier of
/// the total), so each grouping is counted on its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Distinct {
    pub by_agency: BTreeMap<(AgencyCode, WatchKind), u64>,
    pub by_officer: BTreeMap<(Option<String>, WatchKind), u64>,
    pub by_kind: BTreeMap<WatchKind, u64>,
}

impl Distinct {
    /// Counts the distinct dossiers of `occurrences`.
    pub fn of<'a>(occurrences: impl IntoIterator<Item = &'a (DossierCode, Occurrence)>) -> Self {
        let mut agency: BTreeMap<(AgencyCode, WatchKind), BTreeSet<&DossierCode>> = BTreeMap::new();
        let mut officer: BTreeMap<(Option<String>, WatchKind), BTreeSet<&DossierCode>> = BTreeMap::new();
        let mut kind: BTreeMap<WatchKind, BTreeSet<&DossierCode>> = BTreeMap::new();
        for (code, o) in occurrences {
            agency.entry((o.agency.clone(), o.kind)).or_default().insert(code);
            officer.entry((o.officer.clone(), o.kind)).or_default().insert(code);
            kind.entry(o.kind).or_default().insert(code);
        }
        let n = |s: BTreeSet<&DossierCode>| s.len() as u64;
        Self {
            by_agency: agency.into_iter().map(|(k, s)| (k, n(s))).collect(),
            by_officer: officer.into_iter().map(|(k, s)| (k, n(s))).collect(),
            by_kind: kind.into_iter().map(|(k, s)| (k, n(s))).collect(),
        }
    }

    /// Adds counts of occurrences disjoint from these per dossier and kind (no dossier has an
    /// occurrence of the same kind in both), so that the sums stay counts of distinct dossiers.
    pub fn add_disjoint(&mut self, o: &Distinct) {
        for (k, n) in &o.by_agency {
            *self.by_agency.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &o.by_officer {
            *self.by_officer.entry(k.clone()).or_default() += n;
        }
        for (k, n) in &o.by_kind {
            *self.by_kind.entry(*k).or_default() += n;
        }
    }
}

/// What a watch list is built from without every dossier's code, all of it already within the
/// query (its period, instant and agency): the singles summed over the query's whole days
/// ([`WatchQuery::whole_days`]); the distinct dossiers of the occurrences those sums leave out
/// — every occurrence of a kind repeated on its dossier, and every occurrence from
/// [`WatchQuery::cut_day_start`] on — which are disjoint from the singles per dossier and kind;
/// and the daily sums of handoffs and backdated events summed over the query's days per agency
/// and officer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchCounts {
    pub singles: Singles,
    pub distinct: Distinct,
    pub handoffs: BTreeMap<Holder, HandoffSums>,
    pub backdated: BTreeMap<Holder, BackdatedSums>,
}

impl WatchCounts {
    /// Every fact within the query counted as it is, no singles' sums: the reference the
    /// store's counts are compared with.
    pub fn of_facts(q: &WatchQuery, facts: WatchFacts) -> Self {
        let f = facts.within(q);
        let mut handoffs: BTreeMap<Holder, HandoffSums> = BTreeMap::new();
        for (c, s) in &f.handoffs {
            handoffs.entry((c.agency.clone(), c.officer.clone())).or_default().add(s);
        }
        let mut backdated: BTreeMap<Holder, BackdatedSums> = BTreeMap::new();
        for (c, s) in &f.backdated {
            backdated.entry((c.agency.clone(), c.officer.clone())).or_default().add(s);
        }
        Self { singles: Singles::new(), distinct: Distinct::of(&f.occurrences), handoffs, backdated }
    }
}

/// One count of a watch list, whose dossiers to list: a kind and a row's key (an agency's code
/// or an officer's account, `""` for unknown, as the list's grouping says); no key: the total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchCellRef {
    pub kind: WatchKind,
    pub key: Option<String>,
}

impl WatchCellRef {
    /// Whether an occurrence is of this count for a list grouped `by`.
    pub fn holds(&self, by: WatchBy, o: &Occurrence) -> bool {
        o.kind == self.kind
            && match (&self.key, by) {
                (None, _) => true,
                (Some(k), WatchBy::Agency) => o.agency.as_str() == k,
                (Some(k), WatchBy::Officer) => o.officer.as_deref().unwrap_or("") == k,
            }
    }
}

/// How the watch list's rows are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchBy {
    #[default]
    Agency,
    Officer,
}

impl FromStr for WatchBy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "agency" => Ok(Self::Agency),
            "officer" => Ok(Self::Officer),
            _ => Err(format!("invalid grouping {s:?}: expected agency or officer")),
        }
    }
}

impl WatchBy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Agency => "agency",
            Self::Officer => "officer",
        }
    }
}

/// A watch list's period (local days `from..=to`), the instant it is judged at, its grouping
/// and an optional agency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Occurrences after it are not counted, nor the daily sums of days after its day.
    pub as_of: DateTime<Utc>,
    pub by: WatchBy,
    pub agency: Option<AgencyCode>,
}

/// The years a watch list's period may name (the store keeps instants of years 1 to 9999).
pub const YEARS: std::ops::RangeInclusive<i32> = 1..=9999;

impl WatchQuery {
    /// Whether the period's days are within [`YEARS`] and in order.
    pub fn is_valid(&self) -> bool {
        use chrono::Datelike;
        self.from <= self.to && YEARS.contains(&self.from.year()) && YEARS.contains(&self.to.year())
    }

    /// The first instant of the period.
    pub fn start(&self) -> DateTime<Utc> {
        local_midnight(self.from)
    }

    /// The end of the period, exclusive: the start of the day after `to`, or just after
    /// `as_of` if earlier (instants are kept to the microsecond).
    pub fn end(&self) -> DateTime<Utc> {
        let day_after = self.to.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, local_midnight);
        let as_of = crate::calendar::truncate_to_micros(self.as_of)
            .checked_add_signed(Duration::microseconds(1))
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        day_after.min(as_of)
    }

    /// The first and last of the period's days that end before [`Self::end`]: whole days,
    /// whose singles the store reads summed; `None` if there is none.
    pub fn whole_days(&self) -> Option<(NaiveDate, NaiveDate)> {
        let end_day = self
            .end()
            .naive_utc()
            .checked_add_signed(Duration::seconds(i64::from(crate::calendar::VN_OFFSET_SECONDS)))
            .map(|t| t.date());
        // The day `end` falls in is cut (or starts at `end`, and is not of the period).
        let last = match end_day {
            Some(d) => d.pred_opt()?.min(self.to),
            None => self.to,
        };
        (self.from <= last).then_some((self.from, last))
    }

    /// Where the occurrences read one by one begin: the end of the whole days (the period's
    /// start if none); from there to [`Self::end`] the as-of instant cuts a day.
    pub fn cut_day_start(&self) -> DateTime<Utc> {
        match self.whole_days() {
            Some((_, last)) => last.succ_opt().map_or(DateTime::<Utc>::MAX_UTC, local_midnight),
            None => self.start(),
        }
    }

    /// The last day whose sums are counted: `to`, or the day of `as_of` if earlier.
    pub fn last_day(&self) -> NaiveDate {
        let as_of_day = self
            .as_of
            .naive_utc()
            .checked_add_signed(Duration::seconds(i64::from(crate::calendar::VN_OFFSET_SECONDS)))
            .map_or(NaiveDate::MAX, |t| t.date());
        self.to.min(as_of_day)
    }
}

/// 00:00 local time of a day, as an instant (the earliest instant for the first days chrono
/// knows).
fn local_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN)
        .checked_sub_signed(Duration::seconds(i64::from(crate::calendar::VN_OFFSET_SECONDS)))
        .map_or(DateTime::<Utc>::MIN_UTC, |t| t.and_utc())
}

/// One count: a number of dossiers (their codes are read on demand, [`WatchFacts::dossiers`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Cell {
    pub count: u64,
}

impl Cell {
    fn of(count: u64) -> Self {
        Self { count }
    }
}

/// One row of the watch list: an agency, or an officer (`key` empty: unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchRow {
    pub key: String,
    pub name: String,
    /// Every kind, by its name.
    pub signals: BTreeMap<&'static str, Cell>,
    pub backdated: BackdatedSums,
    pub handoffs: HandoffSums,
}

impl WatchRow {
    fn new(key: String, name: String) -> Self {
        Self {
            key,
            name,
            signals: WatchKind::ALL.iter().map(|k| (k.name(), Cell::default())).collect(),
            backdated: BackdatedSums::default(),
            handoffs: HandoffSums::default(),
        }
    }

    pub fn cell(&self, kind: WatchKind) -> &Cell {
        static EMPTY: Cell = Cell { count: 0 };
        self.signals.get(kind.name()).unwrap_or(&EMPTY)
    }

    /// Dossiers with any of the avoidance signals (not counting `late` and `slow_handoff`,
    /// which are shown beside them).
    pub fn flagged(&self) -> u64 {
        WatchKind::ALL[..8].iter().map(|k| self.cell(*k).count).sum()
    }

    /// The value a column sorts on ([`SORT_COLUMNS`]).
    fn sort_value(&self, column: &str) -> i64 {
        let n = |x: u64| i64::try_from(x).unwrap_or(i64::MAX);
        match column {
            "flagged" => n(self.flagged()),
            "backdated" => n(self.backdated.events),
            "backdated_minutes" => self.backdated.gap_minutes,
            "handoffs" => n(self.handoffs.handoffs),
            "handoff_average" => self.handoffs.average_minutes(),
            "handoff_max" => self.handoffs.max_minutes,
            kind => WatchKind::parse(kind).map_or(0, |k| n(self.cell(k).count)),
        }
    }
}

/// The columns the rows may be sorted by (largest first), besides `key` (in order).
pub const SORT_COLUMNS: [&str; 16] = [
    "flagged",
    "bounce",
    "extra_handoffs",
    "silent_holder",
    "second_supplement",
    "unlisted_papers",
    "late_without_apology",
    "apology_after_due",
    "second_reschedule",
    "late",
    "slow_handoff",
    "backdated",
    "backdated_minutes",
    "handoffs",
    "handoff_average",
    "handoff_max",
];

/// An officer with more than [`LATE_LIMIT`] late dossiers in the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LateOfficer {
    /// `None`: unknown.
    pub officer: Option<String>,
    pub late: Cell,
}

/// How long an agency's incoming handoffs waited before it accepted them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgencyWait {
    pub agency: AgencyCode,
    pub name: String,
    pub handoffs: u64,
    pub average_minutes: i64,
    pub max_minutes: i64,
    /// The dossiers whose handoff waited more than a working day.
    pub slow: Cell,
}

/// The city's rule: an officer with more than two late dossiers in a period is listed.
pub const LATE_LIMIT: u64 = 2;

/// The watch list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WatchList {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// At +07:00.
    pub as_of: String,
    pub by: WatchBy,
    pub agency: Option<AgencyCode>,
    /// The column the rows are sorted by.
    pub sort: String,
    pub rows: Vec<WatchRow>,
    pub total: WatchRow,
    /// Officers with more than [`LATE_LIMIT`] late dossiers, most first.
    pub late_officers: Vec<LateOfficer>,
    /// Agencies by their average handoff wait, longest first.
    pub handoff_waits: Vec<AgencyWait>,
    /// Dossiers returned to the citizen for supplements more than once.
    pub supplements_twice: Cell,
}

impl WatchList {
    /// Builds the list from facts (those outside the query are left out); `name` gives an
    /// agency's name.
    pub fn build(q: &WatchQuery, facts: WatchFacts, name: impl Fn(&AgencyCode) -> String) -> Self {
        Self::build_counts(q, WatchCounts::of_facts(q, facts), name)
    }

    /// Builds the list from counts already within the query ([`WatchCounts`]): the singles
    /// summed over the query's whole days, the distinct dossiers of the occurrences those sums
    /// do not cover, and the handoffs and backdated events summed per agency and officer.
    pub fn build_counts(q: &WatchQuery, counts: WatchCounts, name: impl Fn(&AgencyCode) -> String) -> Self {
        let WatchCounts { singles, distinct, handoffs, backdated } = counts;
        let agency_ok = |a: &AgencyCode| q.agency.as_ref().is_none_or(|x| x == a);
        let row_key = |agency: &AgencyCode, officer: &Option<String>| match q.by {
            WatchBy::Agency => agency.to_string(),
            WatchBy::Officer => officer.clone().unwrap_or_default(),
        };
        let row_name = |agency: &AgencyCode, officer: &Option<String>| match q.by {
            WatchBy::Agency => name(agency),
            WatchBy::Officer => officer.clone().unwrap_or_default(),
        };
        let mut rows: BTreeMap<String, WatchRow> = BTreeMap::new();
        // The singles' sums plus the distinct dossiers of the rest (disjoint per kind).
        let mut summed: BTreeMap<(String, WatchKind), u64> = BTreeMap::new();
        let mut all_summed: BTreeMap<WatchKind, u64> = BTreeMap::new();
        let mut late_summed: BTreeMap<Option<String>, u64> = BTreeMap::new();
        let mut slow_summed: BTreeMap<AgencyCode, u64> = BTreeMap::new();
        for ((agency, officer, kind), n) in &singles {
            if *n == 0 || !agency_ok(agency) {
                continue;
            }
            let k = row_key(agency, officer);
            rows.entry(k.clone()).or_insert_with(|| WatchRow::new(k.clone(), row_name(agency, officer)));
            *summed.entry((k, *kind)).or_default() += n;
            *all_summed.entry(*kind).or_default() += n;
            match kind {
                WatchKind::Late => *late_summed.entry(officer.clone()).or_default() += n,
                WatchKind::SlowHandoff => *slow_summed.entry(agency.clone()).or_default() += n,
                _ => {}
            }
        }
        for ((agency, kind), n) in &distinct.by_agency {
            if *n == 0 {
                continue;
            }
            if q.by == WatchBy::Agency {
                let k = agency.to_string();
                rows.entry(k.clone()).or_insert_with(|| WatchRow::new(k.clone(), name(agency)));
                *summed.entry((k, *kind)).or_default() += n;
            }
            if *kind == WatchKind::SlowHandoff {
                *slow_summed.entry(agency.clone()).or_default() += n;
            }
        }
        for ((officer, kind), n) in &distinct.by_officer {
            if *n == 0 {
                continue;
            }
            if q.by == WatchBy::Officer {
                let k = officer.clone().unwrap_or_default();
                rows.entry(k.clone()).or_insert_with(|| WatchRow::new(k.clone(), k.clone()));
                *summed.entry((k, *kind)).or_default() += n;
            }
            if *kind == WatchKind::Late {
                *late_summed.entry(officer.clone()).or_default() += n;
            }
        }
        for (kind, n) in &distinct.by_kind {
            *all_summed.entry(*kind).or_default() += n;
        }
        let mut total = WatchRow::new(String::new(), String::new());
        let mut waits: BTreeMap<AgencyCode, HandoffSums> = BTreeMap::new();
        for ((agency, officer), s) in &handoffs {
            let k = row_key(agency, officer);
            let row = rows.entry(k.clone()).or_insert_with(|| WatchRow::new(k, row_name(agency, officer)));
            row.handoffs.add(s);
            total.handoffs.add(s);
            waits.entry(agency.clone()).or_default().add(s);
        }
        for ((agency, officer), s) in &backdated {
            let k = row_key(agency, officer);
            let row = rows.entry(k.clone()).or_insert_with(|| WatchRow::new(k, row_name(agency, officer)));
            row.backdated.add(s);
            total.backdated.add(s);
        }
        for ((k, kind), n) in summed {
            if let Some(row) = rows.get_mut(&k) {
                row.signals.insert(kind.name(), Cell::of(n));
            }
        }
        for (kind, n) in all_summed {
            total.signals.insert(kind.name(), Cell::of(n));
        }
        let mut late_officers: Vec<LateOfficer> = late_summed
            .into_iter()
            .filter(|(_, n)| *n > LATE_LIMIT)
            .map(|(officer, n)| LateOfficer { officer, late: Cell::of(n) })
            .collect();
        late_officers.sort_by(|a, b| b.late.count.cmp(&a.late.count).then_with(|| a.officer.cmp(&b.officer)));
        let mut handoff_waits: Vec<AgencyWait> = waits
            .into_iter()
            .map(|(agency, s)| AgencyWait {
                name: name(&agency),
                handoffs: s.handoffs,
                average_minutes: s.average_minutes(),
                max_minutes: s.max_minutes,
                slow: Cell::of(slow_summed.remove(&agency).unwrap_or_default()),
                agency,
            })
            .collect();
        handoff_waits.sort_by(|a, b| {
            b.average_minutes
                .cmp(&a.average_minutes)
                .then(b.max_minutes.cmp(&a.max_minutes))
                .then_with(|| a.agency.cmp(&b.agency))
        });
        let supplements_twice = *total.cell(WatchKind::SecondSupplement);
        let mut list = Self {
            from: q.from,
            to: q.to,
            as_of: at_vn(q.as_of).to_rfc3339(),
            by: q.by,
            agency: q.agency.clone(),
            sort: String::new(),
            rows: rows.into_values().collect(),
            total,
            late_officers,
            handoff_waits,
            supplements_twice,
        };
        list.sort_by("flagged");
        list
    }

    /// Sorts the rows by a column of [`SORT_COLUMNS`] (largest first, then by key) or by
    /// `key`; an unknown column is refused.
    pub fn sort_by(&mut self, column: &str) -> bool {
        if column == "key" {
            self.rows.sort_by(|a, b| a.key.cmp(&b.key));
        } else if SORT_COLUMNS.contains(&column) {
            self.rows.sort_by(|a, b| b.sort_value(column).cmp(&a.sort_value(column)).then_with(|| a.key.cmp(&b.key)));
        } else {
            return false;
        }
        self.sort = column.to_string();
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::analysis::{ClassifyMode, OpenState, analyse};
    use crate::calendar::testdata::vn_calendar;
    use crate::catalog::Catalog;
    use crate::dossier::Outcome;
    use crate::dossier::tests::{CITY, DEPT, DESK, ag, at, intake};

    const AGENCIES: &str = r#"
[[agency]]
code = "000.00.00.H17"
name = "Ủy ban nhân dân thành phố Đà Nẵng"
kind = "city"
[[agency]]
code = "000.00.01.H17"
name = "Bộ phận một cửa"
kind = "centre"
parent = "000.00.00.H17"
[[agency]]
code = "000.00.12.H17"
name = "Sở Tư pháp"
kind = "department"
parent = "000.00.00.H17"
"#;

    const PROCEDURES: &str = r#"
[[procedure]]
code = "2.000488"
name = "Cấp Phiếu lý lịch tư pháp"
level = "city"
time_limit = { working_days = 5 }
supplement_mode = "restart"
documents = ["Tờ khai"]
route = [
  { agency = "@receiving", budget = { working_hours = 3.75 } },
  { agency = "000.00.12.H17", budget = { working_days = 4 } },
  { agency = "@receiving", budget = { working_hours = 3.75 } },
]
"#;

    fn domain() -> Domain {
        Domain::new(vn_calendar(), Catalog::from_toml(AGENCIES, PROCEDURES).unwrap(), ClassifyMode::DateTime)
    }

    fn by(t: DateTime<Utc>, who: Option<&str>, kind: EventKind) -> Event {
        Event::new(t, who.map(str::to_string), kind)
    }

    fn received(t: DateTime<Utc>) -> Event {
        by(t, Some("desk1"), EventKind::Received { intake: intake() })
    }

    /// The log, each event recorded when it is stated.
    fn stamped(events: &[Event]) -> Vec<(Event, DateTime<Utc>)> {
        events.iter().map(|e| (e.clone(), e.at)).collect()
    }

    fn occurrences(events: &[Event]) -> Vec<Occurrence> {
        follow(&domain(), &stamped(events)).unwrap().1
    }

    fn find(occ: &[Occurrence], kind: WatchKind) -> Vec<&Occurrence> {
        occ.iter().filter(|o| o.kind == kind).collect()
    }

    #[test]
    fn a_bounce_and_extra_handoffs_are_held_against_the_sender_and_its_officer() {
        let events = [
            received(at(2023, 10, 27, 9, 32)),
            by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
            by(at(2023, 10, 27, 10, 30), Some("tp1"), EventKind::Accepted),
            by(at(2023, 10, 30, 10, 0), Some("tp1"), EventKind::Transferred { to: ag(CITY) }),
            by(at(2023, 10, 30, 10, 30), Some("ub1"), EventKind::Accepted),
            by(at(2023, 10, 31, 10, 0), Some("ub1"), EventKind::Transferred { to: ag(DEPT) }),
            by(at(2023, 10, 31, 10, 30), Some("tp2"), EventKind::Accepted),
            by(at(2023, 10, 31, 15, 0), Some("tp2"), EventKind::Transferred { to: ag(DESK) }),
            by(at(2023, 10, 31, 15, 30), Some("desk1"), EventKind::Accepted),
            by(
                at(2023, 10, 31, 16, 0),
                Some("desk1"),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        ];
        let occ = occurrences(&events);
        let bounces = find(&occ, WatchKind::Bounce);
        assert_eq!(bounces.len(), 1, "{occ:?}");
        assert_eq!(
            (bounces[0].at, &bounces[0].agency, bounces[0].officer.as_deref(), bounces[0].index),
            (at(2023, 10, 31, 10, 0), &ag(CITY), Some("ub1"), 3)
        );
        let extra = find(&occ, WatchKind::ExtraHandoffs);
        assert_eq!(extra.len(), 1);
        // The route has two handoffs: the third (city committee → department) is the first extra.
        assert_eq!(
            (extra[0].at, &extra[0].agency, extra[0].officer.as_deref()),
            (at(2023, 10, 31, 10, 0), &ag(CITY), Some("ub1"))
        );
        assert!(find(&occ, WatchKind::Late).is_empty(), "finished before its due instant: {occ:?}");
    }

    #[test]
    fn a_silent_holder_is_dated_when_its_budget_runs_out_and_stays_counted_after_it_acts() {
        let d = domain();
        let cal = &d.calendar;
        let head = [
            received(at(2023, 10, 27, 9, 32)),
            by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
            by(at(2023, 10, 27, 10, 0), Some("tp1"), EventKind::Accepted),
        ];
        let occ = occurrences(&head);
        let silent = find(&occ, WatchKind::SilentHolder);
        assert_eq!(silent.len(), 1, "{occ:?}");
        let onset = silent[0].at;
        assert_eq!((&silent[0].agency, silent[0].officer.as_deref(), silent[0].index), (&ag(DEPT), Some("tp1"), 1));
        // Four working days of 450 minutes from Fri 27/10 10:00, and one minute more.
        assert_eq!(onset, cal.add_working_seconds(at(2023, 10, 27, 10, 0), (1800 + 1) * 60).unwrap());
        // The analysis agrees: silent at the onset, not a second before.
        let p = d.procedure(&"2.000488".parse().unwrap()).unwrap();
        let state = d.replay(&head).unwrap();
        let is_silent = |t| {
            analyse(&state, p, cal, t, ClassifyMode::DateTime)
                .unwrap()
                .signals
                .iter()
                .any(|s| matches!(s, Signal::SilentHolder { .. }))
        };
        assert!(is_silent(onset));
        assert!(!is_silent(onset - Duration::seconds(1)));
        // Late (and without apology) from the due instant, held against the department's officer.
        let due = state.due_at.unwrap();
        for kind in [WatchKind::Late, WatchKind::LateWithoutApology] {
            let o = find(&occ, kind);
            assert_eq!((o.len(), o[0].at, &o[0].agency, o[0].officer.as_deref()), (1, due, &ag(DEPT), Some("tp1")));
        }

        // The department acts after the onset: the occurrence stays, dated the same.
        let mut later = head.to_vec();
        later.push(by(onset + Duration::hours(30), Some("tp1"), EventKind::Transferred { to: ag(DESK) }));
        let occ2 = occurrences(&later);
        let silent2 = find(&occ2, WatchKind::SilentHolder);
        assert_eq!((silent2[0].at, silent2[0].index), (onset, 1));
        // The desk never accepted it: its own visit falls silent in turn, held against no one.
        assert_eq!((silent2[1].index, &silent2[1].agency, silent2[1].officer.as_deref()), (2, &ag(DESK), None));
        assert_eq!(silent2.len(), 2);
        // …before it: there is none for the department (the desk's visit has its own budget).
        let mut sooner = head.to_vec();
        sooner.push(by(at(2023, 10, 30, 9, 0), Some("tp1"), EventKind::Transferred { to: ag(DESK) }));
        sooner.push(by(at(2023, 10, 30, 9, 5), Some("desk2"), EventKind::Accepted));
        sooner.push(by(
            at(2023, 10, 30, 9, 10),
            Some("desk2"),
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
        ));
        let occ3 = occurrences(&sooner);
        assert!(find(&occ3, WatchKind::SilentHolder).is_empty(), "{occ3:?}");
        assert!(find(&occ3, WatchKind::Late).is_empty(), "{occ3:?}");
    }

    #[test]
    fn supplements_papers_and_apologies_are_held_against_who_recorded_them() {
        let sup = |docs: &[&str]| EventKind::SupplementRequested {
            reason: "thiếu".into(),
            documents: docs.iter().map(|d| d.to_string()).collect(),
            reason_code: None,
        };
        let reschedule = |to, over| EventKind::Rescheduled {
            to,
            reason: "x".into(),
            responsible: None,
            automatic: false,
            override_second: over,
            reason_code: None,
        };
        let events = [
            received(at(2023, 10, 27, 9, 32)),
            by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
            by(at(2023, 10, 27, 10, 0), Some("tp1"), EventKind::Accepted),
            by(at(2023, 10, 27, 11, 0), Some("tp1"), sup(&["tờ khai"])),
            by(at(2023, 10, 27, 11, 10), None, EventKind::SupplementSupplied),
            by(at(2023, 10, 27, 13, 30), Some("tp2"), sup(&["Sổ đỏ gốc"])),
            by(at(2023, 10, 27, 13, 40), None, EventKind::SupplementSupplied),
            by(at(2023, 11, 7, 9, 0), Some("tp3"), reschedule(at(2023, 11, 20, 17, 0), false)),
            by(at(2023, 11, 8, 9, 0), Some("tp4"), reschedule(at(2023, 11, 24, 17, 0), true)),
        ];
        let occ = occurrences(&events);
        let one = |k| {
            let v = find(&occ, k);
            assert_eq!(v.len(), 1, "{k}: {occ:?}");
            (v[0].at, v[0].agency.clone(), v[0].officer.clone())
        };
        let dept = ag(DEPT);
        assert_eq!(one(WatchKind::SecondSupplement), (at(2023, 10, 27, 13, 30), dept.clone(), Some("tp2".into())));
        // "tờ khai" is the listed paper (compared without case); the deed is not.
        assert_eq!(one(WatchKind::UnlistedPapers), (at(2023, 10, 27, 13, 30), dept.clone(), Some("tp2".into())));
        assert_eq!(one(WatchKind::ApologyAfterDue), (at(2023, 11, 7, 9, 0), dept.clone(), Some("tp3".into())));
        assert_eq!(one(WatchKind::SecondReschedule), (at(2023, 11, 8, 9, 0), dept.clone(), Some("tp4".into())));
        // It went late before the apology: both counted, late without apology from the due instant.
        let (late_at, _, late_by) = one(WatchKind::LateWithoutApology);
        assert!(late_at < at(2023, 11, 7, 9, 0));
        // The supplied papers were recorded without an officer: the visit's last officer is still tp2.
        assert_eq!(late_by, Some("tp2".into()));
        assert_eq!(one(WatchKind::Late).0, late_at);
    }

    #[test]
    fn backdated_events_and_handoff_waits_are_event_facts() {
        let d = domain();
        let events = [
            received(at(2023, 10, 27, 9, 32)),
            by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
            // Accepted two working days later, keyed in the morning after.
            by(at(2023, 10, 31, 10, 0), None, EventKind::Accepted),
        ];
        let mut log = stamped(&events);
        log[2].1 = at(2023, 11, 1, 8, 0);
        let (_, occ, facts) = follow(&d, &log).unwrap();
        assert_eq!(facts[0], EventFacts::default());
        let h = facts[2].handoff.as_ref().unwrap();
        assert_eq!((&h.agency, h.officer.as_deref(), h.minutes), (&ag(DEPT), None, 900));
        let b = facts[2].backdated.as_ref().unwrap();
        // Recorded while the department held it: 90 + 210 working minutes on Tuesday from 10:00,
        // 30 on Wednesday to 08:00.
        assert_eq!((&b.agency, b.officer.as_deref(), b.gap_minutes), (&ag(DEPT), None, Some(330)));
        let slow = find(&occ, WatchKind::SlowHandoff);
        assert_eq!((slow.len(), slow[0].index, &slow[0].agency), (1, 0, &ag(DEPT)));
        let mut f = WatchFacts::default();
        f.add_dossier(&intake().code, occ, &facts);
        let day = NaiveDate::from_ymd_opt(2023, 10, 31).unwrap();
        let cell = DayCell { day, agency: ag(DEPT), officer: None };
        assert_eq!(f.handoffs[&cell], HandoffSums { handoffs: 1, minutes: 900, max_minutes: 900 });
        let rec = DayCell { day: day.succ_opt().unwrap(), agency: ag(DEPT), officer: None };
        assert_eq!(f.backdated[&rec], BackdatedSums { events: 1, gap_minutes: 330 });
    }

    /// The occurrences of the whole log, kept up to `t`, are those of the log up to `t`: the
    /// watch list as of any instant needs no second replay. Checked at every half hour of a
    /// few dossiers' lives, against the analysis itself: each kind first shows in the analysis
    /// within half an hour after its occurrence.
    #[test]
    fn occurrences_as_of_any_instant_match_the_analysis_then() {
        let d = domain();
        let logs: Vec<Vec<Event>> = vec![
            vec![
                received(at(2023, 10, 27, 9, 32)),
                by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
                by(at(2023, 10, 27, 10, 0), Some("tp1"), EventKind::Accepted),
                by(at(2023, 11, 6, 10, 0), Some("tp1"), EventKind::Transferred { to: ag(DESK) }),
                by(at(2023, 11, 6, 10, 30), Some("desk1"), EventKind::Accepted),
                by(
                    at(2023, 11, 6, 11, 0),
                    Some("desk1"),
                    EventKind::Resolved {
                        outcome: Outcome::Approved,
                        reason: None,
                        electronic: None,
                        reason_code: None,
                    },
                ),
            ],
            vec![
                received(at(2023, 10, 27, 9, 32)),
                by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
                by(at(2023, 10, 30, 10, 0), Some("tp1"), EventKind::Accepted),
                by(at(2023, 10, 31, 9, 0), Some("tp1"), EventKind::Transferred { to: ag(DESK) }),
                by(at(2023, 10, 31, 9, 30), Some("desk1"), EventKind::Accepted),
                by(at(2023, 10, 31, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
            ],
            // A supplement and a payment early in the department's visit (their waits do not
            // count against its budget), then silence.
            vec![
                received(at(2023, 10, 27, 9, 32)),
                by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
                by(at(2023, 10, 27, 11, 0), Some("tp1"), EventKind::Accepted),
                by(
                    at(2023, 10, 27, 14, 0),
                    Some("tp1"),
                    EventKind::SupplementRequested { reason: "x".into(), documents: vec![], reason_code: None },
                ),
                by(at(2023, 10, 30, 8, 0), None, EventKind::SupplementSupplied),
                by(
                    at(2023, 10, 30, 9, 0),
                    Some("tp1"),
                    EventKind::PaymentRequested { reason: "phí".into(), amount_vnd: None },
                ),
                by(at(2023, 10, 30, 10, 30), None, EventKind::Paid { method: None, receipt: None }),
            ],
            // Waiting for the citizen since before the budget ran out: never silent.
            vec![
                received(at(2023, 10, 27, 9, 32)),
                by(at(2023, 10, 27, 10, 0), Some("desk1"), EventKind::Transferred { to: ag(DEPT) }),
                by(at(2023, 10, 27, 11, 0), Some("tp1"), EventKind::Accepted),
                by(
                    at(2023, 10, 30, 14, 0),
                    Some("tp1"),
                    EventKind::SupplementRequested { reason: "x".into(), documents: vec![], reason_code: None },
                ),
            ],
        ];
        let mut exact = 0;
        let mut waiting_past_due = 0;
        for events in &logs {
            let (_, whole, _) = follow(&d, &stamped(events)).unwrap();
            let p = d.procedure(&"2.000488".parse().unwrap()).unwrap();
            let mut t = at(2023, 10, 27, 9, 30);
            let mut first_seen: BTreeMap<WatchKind, DateTime<Utc>> = BTreeMap::new();
            while t < at(2023, 11, 20, 0, 0) {
                let upto: Vec<Event> = events.iter().filter(|e| e.at <= t).cloned().collect();
                let (state, part, _) = follow(&d, &stamped(&upto)).unwrap();
                let kept: Vec<&Occurrence> = whole.iter().filter(|o| o.at <= t).collect();
                let part: Vec<&Occurrence> = part.iter().filter(|o| o.at <= t).collect();
                assert_eq!(kept, part, "as of {t}");
                if state.code.is_some() {
                    let a = analyse(&state, p, &d.calendar, t, ClassifyMode::DateTime).unwrap();
                    for s in &a.signals {
                        first_seen.entry(WatchKind::of(s)).or_insert(t);
                    }
                    if a.overdue || a.timeliness == Some(Timeliness::Late) {
                        first_seen.entry(WatchKind::Late).or_insert(t);
                    }
                    if a.state == Some(OpenState::WaitingForCitizen) && state.due_at.is_some_and(|due| t > due) {
                        waiting_past_due += 1;
                    }
                }
                t += Duration::minutes(30);
            }
            // A silent holder's instant is exact: the analysis says so then, not a second before.
            for o in whole.iter().filter(|o| o.kind == WatchKind::SilentHolder) {
                let silent_at = |t: DateTime<Utc>| {
                    let upto: Vec<Event> = events.iter().filter(|e| e.at <= t).cloned().collect();
                    let state = d.replay(&upto).unwrap();
                    let a = analyse(&state, p, &d.calendar, t, ClassifyMode::DateTime).unwrap();
                    a.signals.iter().any(|s| matches!(s, Signal::SilentHolder { agency, .. } if *agency == o.agency))
                };
                assert!(silent_at(o.at) && !silent_at(o.at - Duration::seconds(1)), "{o:?}");
                exact += 1;
            }
            for (kind, seen) in &first_seen {
                let o = whole.iter().filter(|o| o.kind == *kind).map(|o| o.at).min().unwrap();
                assert!(o <= *seen && *seen - o <= Duration::minutes(30), "{kind}: occurrence {o}, analysis {seen}");
            }
            let kinds: BTreeSet<WatchKind> =
                whole.iter().map(|o| o.kind).filter(|k| *k != WatchKind::SlowHandoff).collect();
            assert_eq!(kinds, first_seen.keys().copied().collect(), "every occurrence is one the analysis shows");
        }
        assert_eq!(exact, 2, "the silent holders of the first and third logs, checked to the second");
        assert!(waiting_past_due > 0, "the last log waits for the citizen past its due instant, not late");
    }

    fn occ(kind: WatchKind, t: DateTime<Utc>, agency: &str, officer: Option<&str>) -> Occurrence {
        Occurrence { at: t, kind, index: 0, agency: ag(agency), officer: officer.map(str::to_string) }
    }

    #[test]
    fn the_list_groups_by_agency_or_officer_lists_officers_late_more_than_twice_and_sorts() {
        let code = |n: u32| -> DossierCode { format!("000.00.01.H17-231027-{n:04}").parse().unwrap() };
        let t = at(2023, 11, 2, 9, 0);
        let mut f = WatchFacts::default();
        for n in 1..=3 {
            f.occurrences.push((code(n), occ(WatchKind::Late, t, DEPT, Some("tp1"))));
        }
        f.occurrences.push((code(4), occ(WatchKind::Late, t, DEPT, Some("tp2"))));
        f.occurrences.push((code(4), occ(WatchKind::Late, t, DEPT, Some("tp2"))));
        f.occurrences.push((code(5), occ(WatchKind::Bounce, t, DESK, None)));
        f.occurrences.push((code(5), Occurrence { index: 4, ..occ(WatchKind::Bounce, t, DESK, None) }));
        f.occurrences.push((code(6), occ(WatchKind::SecondSupplement, t, DESK, Some("desk1"))));
        // Outside the period, and after the as-of instant.
        f.occurrences.push((code(7), occ(WatchKind::Bounce, at(2023, 12, 2, 9, 0), DESK, None)));
        f.occurrences.push((code(8), occ(WatchKind::Bounce, at(2023, 11, 20, 9, 0), DESK, None)));
        let day = NaiveDate::from_ymd_opt(2023, 11, 2).unwrap();
        let cell = |agency: &str, officer: Option<&str>| DayCell {
            day,
            agency: ag(agency),
            officer: officer.map(str::to_string),
        };
        f.handoffs.insert(cell(DEPT, Some("tp1")), HandoffSums { handoffs: 2, minutes: 901, max_minutes: 900 });
        f.handoffs.insert(cell(DESK, Some("desk1")), HandoffSums { handoffs: 1, minutes: 30, max_minutes: 30 });
        f.backdated.insert(cell(DESK, None), BackdatedSums { events: 3, gap_minutes: 40 });
        let q = WatchQuery {
            from: NaiveDate::from_ymd_opt(2023, 11, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2023, 11, 30).unwrap(),
            as_of: at(2023, 11, 15, 0, 0),
            by: WatchBy::Agency,
            agency: None,
        };
        let name = |a: &AgencyCode| format!("name of {a}");
        let list = WatchList::build(&q, f.clone(), name);
        // By the dossiers flagged: the desk's bounce and second supplement, then the department.
        assert_eq!(list.rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), [DESK, DEPT]);
        let dept = &list.rows[1];
        assert_eq!(dept.cell(WatchKind::Late).count, 4, "four dossiers, one of them counted once");
        assert_eq!(dept.handoffs.average_minutes(), 451);
        let desk = &list.rows[0];
        assert_eq!(desk.cell(WatchKind::Bounce).count, 1, "two bounces of one dossier: one dossier");
        let cell = |kind, key: Option<&str>| WatchCellRef { kind, key: key.map(str::to_string) };
        assert_eq!(f.dossiers(&q, &cell(WatchKind::Bounce, Some(DESK))), vec![code(5)]);
        assert_eq!(desk.backdated, BackdatedSums { events: 3, gap_minutes: 40 });
        assert_eq!(list.late_officers.len(), 1);
        assert_eq!(list.late_officers[0].officer.as_deref(), Some("tp1"));
        assert_eq!(list.late_officers[0].late.count, 3);
        let by_officer_q = WatchQuery { by: WatchBy::Officer, ..q.clone() };
        assert_eq!(f.dossiers(&by_officer_q, &cell(WatchKind::Late, Some("tp1"))), vec![code(1), code(2), code(3)]);
        assert_eq!(f.dossiers(&by_officer_q, &cell(WatchKind::Bounce, Some(""))), vec![code(5)], "unknown");
        assert_eq!(f.dossiers(&q, &cell(WatchKind::Bounce, None)), vec![code(5)], "code(7), code(8): outside");
        assert_eq!(list.handoff_waits.iter().map(|w| w.agency.as_str()).collect::<Vec<_>>(), [DEPT, DESK]);
        assert_eq!(list.supplements_twice.count, 1);
        assert_eq!(f.dossiers(&q, &cell(WatchKind::SecondSupplement, None)), vec![code(6)]);
        assert_eq!(list.total.cell(WatchKind::Late).count, 4);

        let by_officer = WatchList::build(&WatchQuery { by: WatchBy::Officer, ..q.clone() }, f.clone(), name);
        let keys: Vec<&str> = by_officer.rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys, ["", "desk1", "tp1", "tp2"], "one flag each for unknown and desk1, then by key");
        assert_eq!(by_officer.rows[0].backdated.events, 3, "the events without an officer count under unknown");
        let mut sorted = by_officer.clone();
        assert!(sorted.sort_by("late"));
        assert_eq!(sorted.rows[0].key, "tp1");
        assert!(!sorted.sort_by("name; DROP TABLE"));

        // Periods at the ends of what chrono knows give instants, not a panic; the store's years
        // are checked before a query is run.
        let far = WatchQuery { from: NaiveDate::MIN, to: NaiveDate::MAX, as_of: DateTime::<Utc>::MAX_UTC, ..q.clone() };
        assert!(far.start() < far.end() && far.last_day() == NaiveDate::MAX && !far.is_valid());
        assert!(q.is_valid());
        let one = WatchList::build(&WatchQuery { agency: Some(ag(DESK)), ..q }, f, name);
        assert_eq!(one.rows.len(), 1);
        assert_eq!(one.total.cell(WatchKind::Late).count, 0);
    }

    /// What the store reads for a query: the singles of the whole days summed, the distinct
    /// dossiers of the repeated kinds' occurrences and of the cut day's singles (counted apart,
    /// as the store's two reads are), the daily sums summed per agency and officer.
    fn as_stored(q: &WatchQuery, f: &WatchFacts) -> WatchCounts {
        let mut per_dossier: BTreeMap<&DossierCode, Vec<Occurrence>> = BTreeMap::new();
        for (c, o) in &f.occurrences {
            per_dossier.entry(c).or_default().push(o.clone());
        }
        let mut sums = BTreeMap::new();
        let agency_ok = |o: &Occurrence| q.agency.as_ref().is_none_or(|a| *a == o.agency);
        let (mut repeats, mut cut) = (Vec::new(), Vec::new());
        for (c, occ) in &per_dossier {
            add_singles(&mut sums, occ, 1);
            for (o, r) in occ.iter().zip(repeated(occ)) {
                if !agency_ok(o) || o.at >= q.end() {
                    continue;
                }
                if r && o.at >= q.start() {
                    repeats.push(((*c).clone(), o.clone()));
                } else if !r && o.at >= q.cut_day_start() {
                    cut.push(((*c).clone(), o.clone()));
                }
            }
        }
        let whole = WatchCounts::of_facts(q, WatchFacts { occurrences: Vec::new(), ..f.clone() });
        let mut out = WatchCounts { distinct: Distinct::of(&repeats), ..whole };
        out.distinct.add_disjoint(&Distinct::of(&cut));
        if let Some((first, last)) = q.whole_days() {
            for (c, n) in sums {
                if (first..=last).contains(&c.day) && n != 0 && q.agency.as_ref().is_none_or(|a| *a == c.agency) {
                    *out.singles.entry((c.agency, c.officer, c.kind)).or_default() += n as u64;
                }
            }
        }
        out
    }

    #[test]
    fn counts_from_summed_singles_equal_counts_from_every_occurrence() {
        let code = |n: u32| -> DossierCode { format!("000.00.01.H17-231027-{n:04}").parse().unwrap() };
        let mut f = WatchFacts::default();
        // Two bounces of one dossier on different days (repeated), one on another dossier
        // (single), late dossiers across days, one on the day the as-of instant cuts.
        let t = |d, h| at(2023, 11, d, h, 0);
        f.occurrences.push((code(1), Occurrence { index: 1, ..occ(WatchKind::Bounce, t(2, 9), DESK, Some("a")) }));
        f.occurrences.push((code(1), Occurrence { index: 3, ..occ(WatchKind::Bounce, t(9, 9), DESK, Some("b")) }));
        f.occurrences.push((code(2), occ(WatchKind::Bounce, t(3, 9), DESK, Some("a"))));
        for n in 3..=8 {
            f.occurrences.push((code(n), occ(WatchKind::Late, t(n, 10), DEPT, Some("tp1"))));
        }
        f.occurrences.push((code(9), occ(WatchKind::Late, t(8, 16), DEPT, None)));
        f.occurrences.push((code(9), occ(WatchKind::SlowHandoff, t(8, 8), DEPT, None)));
        f.occurrences.push((code(9), Occurrence { index: 1, ..occ(WatchKind::SlowHandoff, t(8, 9), DEPT, None) }));
        let single: Vec<Occurrence> =
            f.occurrences.iter().filter(|(c, _)| *c == code(9)).map(|(_, o)| o.clone()).collect();
        assert_eq!(repeated(&single), [false, true, true]);
        assert_eq!(single_cells(&single).len(), 1);
        let name = |a: &AgencyCode| a.to_string();
        let mut checked = 0;
        for as_of in [t(8, 12), t(8, 0), t(1, 0), t(30, 0), at(2023, 10, 1, 0, 0)] {
            for by in [WatchBy::Agency, WatchBy::Officer] {
                for agency in [None, Some(ag(DEPT))] {
                    let q = WatchQuery {
                        from: NaiveDate::from_ymd_opt(2023, 11, 2).unwrap(),
                        to: NaiveDate::from_ymd_opt(2023, 11, 20).unwrap(),
                        as_of,
                        by,
                        agency,
                    };
                    let stored = as_stored(&q, &f);
                    let list = WatchList::build_counts(&q, stored.clone(), name);
                    assert_eq!(list, WatchList::build(&q, f.clone(), name), "as of {as_of}, {by:?}");
                    checked += list.total.cell(WatchKind::Late).count;
                    if as_of == t(8, 12) && by == WatchBy::Agency && q.agency.is_none() {
                        // The 8th is cut at noon: its late dossier at 10:00 is read one by one.
                        assert_eq!(q.whole_days().unwrap().1, NaiveDate::from_ymd_opt(2023, 11, 7).unwrap());
                        assert_eq!(stored.distinct.by_kind.get(&WatchKind::Late), Some(&1), "{stored:?}");
                        assert_eq!(list.total.cell(WatchKind::Late).count, 6);
                        assert_eq!(list.total.cell(WatchKind::Bounce).count, 2, "two dossiers, three bounces");
                    }
                }
            }
        }
        assert!(checked > 0);
        let before = WatchQuery {
            from: NaiveDate::from_ymd_opt(2023, 11, 2).unwrap(),
            to: NaiveDate::from_ymd_opt(2023, 11, 20).unwrap(),
            as_of: at(2023, 10, 1, 0, 0),
            by: WatchBy::Agency,
            agency: None,
        };
        assert_eq!(before.whole_days(), None);
    }
}
