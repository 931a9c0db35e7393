//! The reception hall (sảnh tiếp nhận): halls, their service areas (lĩnh vực) and counters
//! (quầy) as effective-dated configuration; queue tickets (số thứ tự) and bookings (lịch hẹn)
//! as state machines over the hall's append-only log; the hall's opening rule (office hours of
//! the calendar); and the ordering rule a counter's "call next" follows — bookings at their
//! slot, priority tickets by a fairness rule (a ratio or a cap on consecutive priority calls),
//! then the oldest. Pure: the store numbers tickets and keeps the log, the server pushes calls.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::{Calendar, from_local, to_local};
use crate::codes::{AgencyCode, DossierCode, ProcedureCode};

/// Why a hall command was refused (nothing is written).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HallError {
    #[error("unknown hall {0}")]
    UnknownHall(String),
    #[error("hall {hall} is not in force on {on}")]
    HallNotInForce { hall: String, on: NaiveDate },
    #[error("hall {hall} has no area {area} on {on}")]
    UnknownArea { hall: String, area: char, on: NaiveDate },
    #[error("hall {hall} has no counter {counter} on {on}")]
    UnknownCounter { hall: String, counter: u16, on: NaiveDate },
    #[error("counter {counter} does not serve area {area}")]
    CounterArea { counter: u16, area: char },
    /// Issuing or booking outside the hall's hours.
    #[error("{0}")]
    Closed(String),
    #[error(
        "hall {hall} has issued its {capacity} tickets for {day} (today's capacity): issuing is paused until the next working day"
    )]
    CapacityReached { hall: String, day: NaiveDate, capacity: u32 },
    #[error(
        "area {area} has issued its {capacity} tickets for {day} (today's capacity): issuing is paused until the next working day"
    )]
    AreaCapacityReached { area: char, day: NaiveDate, capacity: u32 },
    #[error("ticket {ticket} is {status}: cannot {action}")]
    Transition { ticket: String, status: &'static str, action: &'static str },
    #[error("ticket {ticket} was called by counter {by}, not counter {counter}")]
    OtherCounter { ticket: String, by: u16, counter: u16 },
    #[error("ticket {ticket} has been recalled {recalls} time(s); a no-show needs {needed}")]
    TooFewRecalls { ticket: String, recalls: u32, needed: u32 },
    #[error("ticket {0} has already been rated")]
    AlreadyRated(String),
    #[error("ticket {0} is not finished: only a finished ticket is rated or redirected")]
    NotFinished(String),
    #[error("{0}")]
    Booking(String),
    #[error(
        "booking {code}: the citizen came {late} minutes after the slot of {slot}; more than {limit} minutes late loses the slot (take an ordinary number)"
    )]
    BookingLate { code: String, slot: String, late: i64, limit: u32 },
    #[error("an event of another ticket or booking")]
    Mismatch,
    #[error("the log has no issue event")]
    NoIssue,
    /// A counter's officer calling at a counter they are not signed in at.
    #[error("{staff} is not signed in at counter {counter} of hall {hall}: sign in first")]
    NotSignedIn { staff: String, counter: u16, hall: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Calendar(#[from] crate::calendar::CalendarError),
}

// ---------------------------------------------------------------------------------------------
// Names that parse

/// A hall's short code: 2–12 characters, capital letters and digits (`HCC`, `HAICHAU`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HallCode(String);

impl HallCode {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HallCode {
    type Err = HallError;
    fn from_str(s: &str) -> Result<Self, HallError> {
        let s = s.trim();
        if (2..=12).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()) {
            Ok(Self(s.to_string()))
        } else {
            Err(HallError::Invalid(format!("hall code {s:?}: expected 2–12 capital letters or digits")))
        }
    }
}

impl TryFrom<String> for HallCode {
    type Error = HallError;
    fn try_from(s: String) -> Result<Self, HallError> {
        s.parse()
    }
}

impl From<HallCode> for String {
    fn from(c: HallCode) -> String {
        c.0
    }
}

impl fmt::Display for HallCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An area letter: one capital letter A–Z.
pub fn parse_area(s: &str) -> Result<char, HallError> {
    let s = s.trim();
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if c.is_ascii_uppercase() => Ok(c),
        _ => Err(HallError::Invalid(format!("area {s:?}: expected one capital letter A–Z"))),
    }
}

/// The most tickets an area issues in a day (the number has at most 4 digits).
pub const MAX_NUMBER: u32 = 9_999;

/// A ticket's identity: hall, local day, area letter of issue and number —
/// `HCC-260310-A-023`. The citizen's number is its last part, [`TicketId::number_label`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TicketId {
    pub hall: HallCode,
    pub day: NaiveDate,
    pub area: char,
    pub number: u32,
}

impl TicketId {
    /// `A-023`: what the TV shows and the counter calls.
    pub fn number_label(&self) -> String {
        label(self.area, self.number)
    }
}

/// `A-023` (three digits, four past 999).
pub fn label(area: char, number: u32) -> String {
    format!("{area}-{number:03}")
}

impl fmt::Display for TicketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.hall, self.day.format("%y%m%d"), self.number_label())
    }
}

impl FromStr for TicketId {
    type Err = HallError;
    fn from_str(s: &str) -> Result<Self, HallError> {
        let bad = || HallError::Invalid(format!("ticket {s:?}: expected HALL-yymmdd-A-NNN, e.g. HCC-260310-A-023"));
        let parts: Vec<&str> = s.trim().split('-').collect();
        let [hall, day, area, number] = parts.as_slice() else {
            return Err(bad());
        };
        let hall: HallCode = hall.parse().map_err(|_| bad())?;
        if day.len() != 6 {
            return Err(bad());
        }
        let day = NaiveDate::parse_from_str(&format!("20{day}"), "%Y%m%d").map_err(|_| bad())?;
        let area = parse_area(area).map_err(|_| bad())?;
        if !(3..=4).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let number: u32 = number.parse().map_err(|_| bad())?;
        if number == 0 || number > MAX_NUMBER {
            return Err(bad());
        }
        let id = Self { hall, day, area, number };
        if id.to_string() != s.trim() {
            return Err(bad());
        }
        Ok(id)
    }
}

impl TryFrom<String> for TicketId {
    type Error = HallError;
    fn try_from(s: String) -> Result<Self, HallError> {
        s.parse()
    }
}

impl From<TicketId> for String {
    fn from(t: TicketId) -> String {
        t.to_string()
    }
}

/// Why a citizen is served first at a public service point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorityKind {
    /// War invalids, sick soldiers and other people with meritorious services (người có công).
    Merit,
    /// The elderly (người cao tuổi, 60 and over).
    Elderly,
    /// People with disabilities (người khuyết tật).
    Disability,
    /// Pregnant women (phụ nữ mang thai).
    Pregnant,
    /// People with children under 36 months (người nuôi con nhỏ).
    SmallChild,
}

impl PriorityKind {
    pub const ALL: [Self; 5] = [Self::Merit, Self::Elderly, Self::Disability, Self::Pregnant, Self::SmallChild];

    pub fn name(self) -> &'static str {
        match self {
            Self::Merit => "merit",
            Self::Elderly => "elderly",
            Self::Disability => "disability",
            Self::Pregnant => "pregnant",
            Self::SmallChild => "small_child",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Merit => "Người có công với cách mạng, thương binh",
            Self::Elderly => "Người cao tuổi",
            Self::Disability => "Người khuyết tật",
            Self::Pregnant => "Phụ nữ mang thai",
            Self::SmallChild => "Người nuôi con nhỏ dưới 36 tháng",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s.trim())
    }
}

/// How a ticket was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketChannel {
    /// The citizen's phone, from the hall's QR poster.
    Qr,
    /// The hall's touch-screen kiosk.
    Kiosk,
    /// An online booking, checked in.
    Booking,
    /// Given by the desk to a walk-in.
    Desk,
    /// A second service after a finished one (a new ticket linked to the first).
    Redirect,
}

impl TicketChannel {
    pub const ALL: [Self; 5] = [Self::Qr, Self::Kiosk, Self::Booking, Self::Desk, Self::Redirect];

    pub fn name(self) -> &'static str {
        match self {
            Self::Qr => "qr",
            Self::Kiosk => "kiosk",
            Self::Booking => "booking",
            Self::Desk => "desk",
            Self::Redirect => "redirect",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s.trim())
    }
}

/// The at-counter rating (the four usual buttons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HallRating {
    VerySatisfied,
    Satisfied,
    Neutral,
    Dissatisfied,
}

impl HallRating {
    pub const ALL: [Self; 4] = [Self::VerySatisfied, Self::Satisfied, Self::Neutral, Self::Dissatisfied];

    pub fn name(self) -> &'static str {
        match self {
            Self::VerySatisfied => "very_satisfied",
            Self::Satisfied => "satisfied",
            Self::Neutral => "neutral",
            Self::Dissatisfied => "dissatisfied",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::VerySatisfied => "Rất hài lòng",
            Self::Satisfied => "Hài lòng",
            Self::Neutral => "Bình thường",
            Self::Dissatisfied => "Không hài lòng",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s.trim())
    }

    /// The dossier rating (1–5 stars; 4–5 count satisfied, 1–2 dissatisfied) a ticket's rating
    /// gives the dossiers received from it.
    pub fn score(self) -> u8 {
        match self {
            Self::VerySatisfied => 5,
            Self::Satisfied => 4,
            Self::Neutral => 3,
            Self::Dissatisfied => 1,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Configuration

/// The fairness rule between priority and ordinary tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum PriorityRule {
    /// After `priority` priority calls in a row, at least `ordinary` ordinary calls (when
    /// ordinary tickets wait): "2 ordinary : 1 priority" is `{ordinary = 2, priority = 1}`.
    Ratio { ordinary: u32, priority: u32 },
    /// At most `consecutive` priority calls in a row while ordinary tickets wait.
    Cap { consecutive: u32 },
}

impl Default for PriorityRule {
    fn default() -> Self {
        Self::Ratio { ordinary: 2, priority: 1 }
    }
}

impl PriorityRule {
    /// May the next call be a priority ticket, given the hall's calls so far today?
    pub fn allows_priority(&self, fair: &FairState) -> bool {
        match *self {
            Self::Ratio { ordinary, priority } => {
                fair.consecutive_priority < priority
                    && (fair.consecutive_priority > 0 || fair.ordinary_since_priority.is_none_or(|n| n >= ordinary))
            }
            Self::Cap { consecutive } => fair.consecutive_priority < consecutive,
        }
    }

    pub fn describe(&self) -> String {
        match *self {
            Self::Ratio { ordinary, priority } => format!("{ordinary} ordinary : {priority} priority"),
            Self::Cap { consecutive } => format!("at most {consecutive} priority calls in a row"),
        }
    }
}

/// What the fairness rule remembers of a hall's day: priority calls in a row, and ordinary
/// calls since the last priority call (`None`: no priority call yet today).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairState {
    pub consecutive_priority: u32,
    pub ordinary_since_priority: Option<u32>,
}

impl FairState {
    /// The state after a call from `lane`.
    pub fn after(self, lane: Lane) -> Self {
        match lane {
            Lane::Priority => {
                Self { consecutive_priority: self.consecutive_priority + 1, ordinary_since_priority: Some(0) }
            }
            Lane::Ordinary => Self {
                consecutive_priority: 0,
                ordinary_since_priority: self.ordinary_since_priority.map(|n| n.saturating_add(1)),
            },
            Lane::Booking => self,
        }
    }
}

/// A service area (lĩnh vực): its letter, the procedures it covers, its booking slots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Area {
    pub letter: char,
    pub name: String,
    pub procedures: Vec<ProcedureCode>,
    /// Bookings a slot of this area takes (0: not bookable).
    pub booking_per_slot: u32,
    /// Most tickets a day (None: the hall's capacity only).
    pub capacity_per_day: Option<u32>,
    /// Typical service time, for the estimated wait shown to the citizen.
    pub service_minutes: u32,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// A counter (quầy): its number and the areas it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counter {
    pub number: u16,
    pub areas: Vec<char>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
}

/// A hall: one per one-stop shop, open on the calendar of its agency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hall {
    pub code: HallCode,
    pub name: String,
    pub agency: AgencyCode,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub areas: Vec<Area>,
    pub counters: Vec<Counter>,
    pub priority: PriorityRule,
    /// Recalls before a called ticket may be marked no-show.
    pub recalls_before_no_show: u32,
    /// Minutes after its slot a booked citizen may still check in.
    pub booking_late_minutes: u32,
    /// Length of a booking slot.
    pub slot_minutes: u32,
    /// How many days ahead a slot may be booked.
    pub booking_days_ahead: u32,
    /// Most tickets the hall issues a day (None: no limit).
    pub capacity_per_day: Option<u32>,
    /// The hall's waiting target (ticket → call).
    pub waiting_target_minutes: u32,
    /// Anonymous issuing (QR page, kiosk): per client address per hour, and for the whole hall
    /// per minute.
    pub issue_per_client_per_hour: u32,
    pub issue_per_hall_per_minute: u32,
}

fn in_force(from: Option<NaiveDate>, until: Option<NaiveDate>, on: NaiveDate) -> bool {
    from.is_none_or(|f| f <= on) && until.is_none_or(|u| on <= u)
}

impl Hall {
    pub fn in_force(&self, on: NaiveDate) -> bool {
        in_force(self.valid_from, self.valid_until, on)
    }

    pub fn area(&self, letter: char, on: NaiveDate) -> Result<&Area, HallError> {
        self.areas
            .iter()
            .find(|a| a.letter == letter && in_force(a.valid_from, a.valid_until, on))
            .ok_or_else(|| HallError::UnknownArea { hall: self.code.to_string(), area: letter, on })
    }

    pub fn areas_on(&self, on: NaiveDate) -> impl Iterator<Item = &Area> {
        self.areas.iter().filter(move |a| in_force(a.valid_from, a.valid_until, on))
    }

    pub fn counter(&self, number: u16, on: NaiveDate) -> Result<&Counter, HallError> {
        self.counters
            .iter()
            .find(|c| c.number == number && in_force(c.valid_from, c.valid_until, on))
            .ok_or_else(|| HallError::UnknownCounter { hall: self.code.to_string(), counter: number, on })
    }

    pub fn counters_on(&self, on: NaiveDate) -> impl Iterator<Item = &Counter> {
        self.counters.iter().filter(move |c| in_force(c.valid_from, c.valid_until, on))
    }

    /// The area that covers `procedure` on `on`.
    pub fn area_for(&self, procedure: &ProcedureCode, on: NaiveDate) -> Option<&Area> {
        self.areas_on(on).find(|a| a.procedures.contains(procedure))
    }

    /// Refuses an instant outside the hall's office hours (a non-working day, before opening,
    /// at lunch, after closing), naming the next opening.
    pub fn check_open(&self, calendar: &Calendar, at: DateTime<Utc>) -> Result<(), HallError> {
        let local = to_local(at);
        let date = local.date();
        let working = calendar.is_working_day(date)?;
        let time = local.time();
        let open = working && calendar.hours().windows().iter().any(|w| w.open <= time && time < w.close);
        if open {
            return Ok(());
        }
        let why = if working { "outside office hours" } else { "a non-working day" };
        let next = calendar.next_opening_local(local).ok().map(|(t, _)| t.format("%H:%M %d/%m/%Y").to_string());
        let hours: Vec<String> = calendar
            .hours()
            .windows()
            .iter()
            .map(|w| format!("{}–{}", w.open.format("%H:%M"), w.close.format("%H:%M")))
            .collect();
        Err(HallError::Closed(format!(
            "hall {} issues numbers only in office hours ({}, working days): {} is {why}{}",
            self.code,
            hours.join(", "),
            local.format("%H:%M %d/%m/%Y"),
            next.map(|n| format!("; it opens again at {n}")).unwrap_or_default()
        )))
    }

    /// The booking slots of `day` (local starts), each inside one office window; empty on a
    /// non-working day.
    pub fn slots(&self, calendar: &Calendar, day: NaiveDate) -> Result<Vec<NaiveDateTime>, HallError> {
        if !calendar.is_working_day(day)? || self.slot_minutes == 0 {
            return Ok(Vec::new());
        }
        let step = Duration::minutes(i64::from(self.slot_minutes));
        let mut out = Vec::new();
        for w in calendar.hours().windows() {
            let mut t = day.and_time(w.open);
            let close = day.and_time(w.close);
            while t + step <= close {
                out.push(t);
                t += step;
            }
        }
        Ok(out)
    }

    /// Checks a booking request: the area takes bookings, the slot is one of the day's, it
    /// lies ahead of `now` and inside the booking horizon.
    pub fn check_slot(
        &self,
        calendar: &Calendar,
        area: char,
        slot: NaiveDateTime,
        now: DateTime<Utc>,
    ) -> Result<&Area, HallError> {
        let day = slot.date();
        let a = self.area(area, day)?;
        if a.booking_per_slot == 0 {
            return Err(HallError::Booking(format!("area {area} of hall {} takes no bookings", self.code)));
        }
        if !self.slots(calendar, day)?.contains(&slot) {
            return Err(HallError::Booking(format!(
                "{} is not a booking slot of hall {}: slots are {} minutes long, inside office hours, on working days",
                slot.format("%H:%M %d/%m/%Y"),
                self.code,
                self.slot_minutes
            )));
        }
        let now_local = to_local(now);
        if slot <= now_local {
            return Err(HallError::Booking(format!("the slot {} has already begun", slot.format("%H:%M %d/%m/%Y"))));
        }
        if (day - now_local.date()).num_days() > i64::from(self.booking_days_ahead) {
            return Err(HallError::Booking(format!("slots are booked at most {} days ahead", self.booking_days_ahead)));
        }
        Ok(a)
    }
}

/// Every hall of the configuration (`config/catalog/halls.toml`), each possibly in several
/// versions with their validity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HallCatalog {
    halls: Vec<Hall>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HallFile {
    #[serde(default)]
    hall: Vec<HallRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HallRow {
    code: String,
    name: String,
    agency: String,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    #[serde(default)]
    priority: Option<PriorityRule>,
    #[serde(default = "default_recalls")]
    recalls_before_no_show: u32,
    #[serde(default = "default_late")]
    booking_late_minutes: u32,
    #[serde(default = "default_slot")]
    slot_minutes: u32,
    #[serde(default = "default_ahead")]
    booking_days_ahead: u32,
    capacity_per_day: Option<u32>,
    #[serde(default = "default_target")]
    waiting_target_minutes: u32,
    #[serde(default = "default_per_client")]
    issue_per_client_per_hour: u32,
    #[serde(default = "default_per_hall")]
    issue_per_hall_per_minute: u32,
    #[serde(default)]
    area: Vec<AreaRow>,
    #[serde(default)]
    counter: Vec<CounterRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AreaRow {
    letter: String,
    name: String,
    #[serde(default)]
    procedures: Vec<String>,
    #[serde(default)]
    booking_per_slot: u32,
    capacity_per_day: Option<u32>,
    #[serde(default = "default_service")]
    service_minutes: u32,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CounterRow {
    number: u16,
    areas: Vec<String>,
    valid_from: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
}

fn default_recalls() -> u32 {
    2
}
fn default_late() -> u32 {
    10
}
fn default_slot() -> u32 {
    30
}
fn default_ahead() -> u32 {
    30
}
fn default_target() -> u32 {
    30
}
fn default_per_client() -> u32 {
    5
}
fn default_per_hall() -> u32 {
    120
}
fn default_service() -> u32 {
    10
}

fn overlaps(a: (Option<NaiveDate>, Option<NaiveDate>), b: (Option<NaiveDate>, Option<NaiveDate>)) -> bool {
    let start = |x: Option<NaiveDate>| x.unwrap_or(NaiveDate::MIN);
    let end = |x: Option<NaiveDate>| x.unwrap_or(NaiveDate::MAX);
    start(a.0) <= end(b.1) && start(b.0) <= end(a.1)
}

impl HallCatalog {
    /// Parses and checks `halls.toml` against the catalog: agencies and procedures exist, area
    /// letters and counter numbers are unique among what is in force together, counters serve
    /// existing areas, versions of one hall do not overlap, the rule's numbers are sensible.
    /// Every problem is listed.
    pub fn from_toml(text: &str, catalog: &crate::catalog::Catalog) -> Result<Self, crate::catalog::CatalogError> {
        let file: HallFile = toml::from_str(text)
            .map_err(|e| crate::catalog::CatalogError(vec![format!("halls.toml: {}", e.message())]))?;
        let mut problems = Vec::new();
        let mut halls: Vec<Hall> = Vec::new();
        for row in file.hall {
            let code: HallCode = match row.code.parse() {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("halls.toml: {e}"));
                    continue;
                }
            };
            let what = format!("hall {code}");
            let agency: AgencyCode = match row.agency.parse() {
                Ok(a) => a,
                Err(e) => {
                    problems.push(format!("{what}: agency: {e}"));
                    continue;
                }
            };
            if catalog.agency(&agency).is_none() {
                problems.push(format!("{what}: agency {agency} is not in the catalog"));
            }
            if let (Some(f), Some(u)) = (row.valid_from, row.valid_until)
                && u < f
            {
                problems.push(format!("{what}: valid_until {u} is before valid_from {f}"));
            }
            let priority = row.priority.unwrap_or_default();
            match priority {
                PriorityRule::Ratio { ordinary, priority } if ordinary == 0 || priority == 0 => {
                    problems.push(format!("{what}: the priority ratio needs at least 1 ordinary and 1 priority call"))
                }
                PriorityRule::Cap { consecutive: 0 } => {
                    problems.push(format!("{what}: the priority cap must allow at least 1 call in a row"))
                }
                _ => {}
            }
            if row.slot_minutes == 0 || row.slot_minutes > 240 {
                problems.push(format!("{what}: slot_minutes must be 1–240"));
            }
            if row.waiting_target_minutes == 0 {
                problems.push(format!("{what}: waiting_target_minutes must be at least 1"));
            }
            if row.issue_per_client_per_hour == 0 || row.issue_per_hall_per_minute == 0 {
                problems.push(format!("{what}: issuing limits must be at least 1"));
            }
            let mut areas: Vec<Area> = Vec::new();
            for a in row.area {
                let letter = match parse_area(&a.letter) {
                    Ok(l) => l,
                    Err(e) => {
                        problems.push(format!("{what}: {e}"));
                        continue;
                    }
                };
                let mut procedures = Vec::new();
                for p in &a.procedures {
                    match p.parse::<ProcedureCode>() {
                        Ok(p) if catalog.procedure(&p).is_some() => procedures.push(p),
                        Ok(p) => problems.push(format!("{what}: area {letter}: procedure {p} is not in the catalog")),
                        Err(e) => problems.push(format!("{what}: area {letter}: {e}")),
                    }
                }
                if a.service_minutes == 0 {
                    problems.push(format!("{what}: area {letter}: service_minutes must be at least 1"));
                }
                let area = Area {
                    letter,
                    name: a.name,
                    procedures,
                    booking_per_slot: a.booking_per_slot,
                    capacity_per_day: a.capacity_per_day,
                    service_minutes: a.service_minutes,
                    valid_from: a.valid_from,
                    valid_until: a.valid_until,
                };
                if areas.iter().any(|o| {
                    o.letter == letter && overlaps((o.valid_from, o.valid_until), (area.valid_from, area.valid_until))
                }) {
                    problems.push(format!("{what}: area {letter} is defined twice for the same days"));
                }
                areas.push(area);
            }
            if areas.is_empty() {
                problems.push(format!("{what}: no area"));
            }
            let mut counters: Vec<Counter> = Vec::new();
            for c in row.counter {
                let mut letters = Vec::new();
                for l in &c.areas {
                    match parse_area(l) {
                        Ok(l) if areas.iter().any(|a| a.letter == l) => letters.push(l),
                        Ok(l) => problems.push(format!("{what}: counter {}: no area {l}", c.number)),
                        Err(e) => problems.push(format!("{what}: counter {}: {e}", c.number)),
                    }
                }
                if c.number == 0 {
                    problems.push(format!("{what}: counter numbers start at 1"));
                }
                if letters.is_empty() {
                    problems.push(format!("{what}: counter {} serves no area", c.number));
                }
                let counter =
                    Counter { number: c.number, areas: letters, valid_from: c.valid_from, valid_until: c.valid_until };
                if counters.iter().any(|o| {
                    o.number == counter.number
                        && overlaps((o.valid_from, o.valid_until), (counter.valid_from, counter.valid_until))
                }) {
                    problems.push(format!("{what}: counter {} is defined twice for the same days", c.number));
                }
                counters.push(counter);
            }
            if counters.is_empty() {
                problems.push(format!("{what}: no counter"));
            }
            let hall = Hall {
                code: code.clone(),
                name: row.name,
                agency,
                valid_from: row.valid_from,
                valid_until: row.valid_until,
                areas,
                counters,
                priority,
                recalls_before_no_show: row.recalls_before_no_show,
                booking_late_minutes: row.booking_late_minutes,
                slot_minutes: row.slot_minutes,
                booking_days_ahead: row.booking_days_ahead,
                capacity_per_day: row.capacity_per_day,
                waiting_target_minutes: row.waiting_target_minutes,
                issue_per_client_per_hour: row.issue_per_client_per_hour,
                issue_per_hall_per_minute: row.issue_per_hall_per_minute,
            };
            if halls
                .iter()
                .any(|o| o.code == code && overlaps((o.valid_from, o.valid_until), (hall.valid_from, hall.valid_until)))
            {
                problems.push(format!("{what}: two versions in force on the same days"));
            }
            halls.push(hall);
        }
        if problems.is_empty() { Ok(Self { halls }) } else { Err(crate::catalog::CatalogError(problems)) }
    }

    /// The version of hall `code` in force on `on`.
    pub fn hall(&self, code: &HallCode, on: NaiveDate) -> Result<&Hall, HallError> {
        let mut any = false;
        for h in self.halls.iter().filter(|h| &h.code == code) {
            any = true;
            if h.in_force(on) {
                return Ok(h);
            }
        }
        if any {
            Err(HallError::HallNotInForce { hall: code.to_string(), on })
        } else {
            Err(HallError::UnknownHall(code.to_string()))
        }
    }

    /// Every hall version, in file order.
    pub fn halls(&self) -> impl Iterator<Item = &Hall> {
        self.halls.iter()
    }

    /// The halls in force on `on`.
    pub fn halls_on(&self, on: NaiveDate) -> impl Iterator<Item = &Hall> {
        self.halls.iter().filter(move |h| h.in_force(on))
    }

    pub fn is_empty(&self) -> bool {
        self.halls.is_empty()
    }
}

// ---------------------------------------------------------------------------------------------
// Tickets

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Waiting,
    Called,
    Serving,
    Done,
    NoShow,
    Left,
    /// Still waiting when the day ended.
    Closed,
}

impl TicketStatus {
    pub const ALL: [Self; 7] =
        [Self::Waiting, Self::Called, Self::Serving, Self::Done, Self::NoShow, Self::Left, Self::Closed];

    pub fn name(self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Called => "called",
            Self::Serving => "serving",
            Self::Done => "done",
            Self::NoShow => "no_show",
            Self::Left => "left",
            Self::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s.trim())
    }

    /// Not yet served, left or closed.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Waiting | Self::Called | Self::Serving)
    }
}

/// What a new ticket carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Issue {
    pub id: TicketId,
    pub channel: TicketChannel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<PriorityKind>,
    /// The booking checked in, and its slot's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booking: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot_at: Option<DateTime<Utc>>,
    /// The finished ticket this one continues (a redirect).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_from: Option<TicketId>,
}

/// One event of a ticket's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TicketEventKind {
    Issued(Issue),
    Called {
        counter: u16,
    },
    Recalled {
        counter: u16,
    },
    NoShow,
    Started,
    Finished,
    Left,
    /// To another area and/or counter; the ticket keeps its number and its waiting start.
    Transferred {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        area: Option<char>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<u16>,
    },
    /// A finished ticket sent on to a second service: the new ticket.
    Redirected {
        to: TicketId,
    },
    /// A dossier received from this ticket.
    Linked {
        dossier: DossierCode,
    },
    Rated {
        rating: HallRating,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        comment: Option<String>,
    },
    /// Still open at the end of its day.
    Closed,
}

impl TicketEventKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Issued(_) => "issued",
            Self::Called { .. } => "called",
            Self::Recalled { .. } => "recalled",
            Self::NoShow => "no_show",
            Self::Started => "started",
            Self::Finished => "finished",
            Self::Left => "left",
            Self::Transferred { .. } => "transferred",
            Self::Redirected { .. } => "redirected",
            Self::Linked { .. } => "linked",
            Self::Rated { .. } => "rated",
            Self::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(flatten)]
    pub kind: TicketEventKind,
}

impl TicketEvent {
    pub fn new(at: DateTime<Utc>, by: Option<String>, kind: TicketEventKind) -> Self {
        Self { at, by, kind }
    }
}

/// A ticket's state, from its events. Waiting and service times are derived from the
/// instants, never typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub number: String,
    /// The area it waits in now (a transfer changes it).
    pub area: char,
    pub channel: TicketChannel,
    pub priority: Option<PriorityKind>,
    pub booking: Option<String>,
    pub slot_at: Option<DateTime<Utc>>,
    pub linked_from: Option<TicketId>,
    pub status: TicketStatus,
    pub issued_at: DateTime<Utc>,
    /// Where the queue counts its wait from: the issue (kept by a transfer), or a booking's
    /// slot when checked in before it.
    pub waiting_since: DateTime<Utc>,
    /// A counter the ticket was transferred to (only that counter calls it).
    pub for_counter: Option<u16>,
    /// The counter that called it last, and when.
    pub counter: Option<u16>,
    pub called_at: Option<DateTime<Utc>>,
    pub first_called_at: Option<DateTime<Utc>>,
    pub called_by: Option<String>,
    pub recalls: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub transfers: u32,
    pub redirected_to: Option<TicketId>,
    pub dossiers: Vec<DossierCode>,
    pub rating: Option<HallRating>,
    pub rating_comment: Option<String>,
    pub event_count: u32,
    pub last_event_at: DateTime<Utc>,
}

impl Ticket {
    /// Seconds from the issue to the first call.
    pub fn wait_seconds(&self) -> Option<i64> {
        self.first_called_at.map(|c| (c - self.issued_at).num_seconds().max(0))
    }

    /// Seconds from the (last) call to the finish.
    pub fn service_seconds(&self) -> Option<i64> {
        match (self.called_at, self.finished_at) {
            (Some(c), Some(f)) => Some((f - c).num_seconds().max(0)),
            _ => None,
        }
    }

    fn refuse(&self, action: &'static str) -> HallError {
        HallError::Transition { ticket: self.id.to_string(), status: self.status.name(), action }
    }

    /// The state after `event`, or why it is refused. `hall` is the hall's version of the
    /// ticket's day (areas, counters, recalls before a no-show).
    pub fn apply(&mut self, hall: &Hall, event: &TicketEvent) -> Result<(), HallError> {
        use TicketEventKind as K;
        use TicketStatus as S;
        let mut next = self.clone();
        match &event.kind {
            K::Issued(_) => return Err(self.refuse("issue it again")),
            K::Called { counter } => {
                if self.status != S::Waiting {
                    return Err(self.refuse("call it"));
                }
                let c = hall.counter(*counter, self.id.day)?;
                if self.for_counter.is_some_and(|f| f != *counter)
                    || (self.for_counter.is_none() && !c.areas.contains(&self.area))
                {
                    return Err(HallError::CounterArea { counter: *counter, area: self.area });
                }
                next.status = S::Called;
                next.counter = Some(*counter);
                next.called_at = Some(event.at);
                next.first_called_at = self.first_called_at.or(Some(event.at));
                next.called_by.clone_from(&event.by);
                next.recalls = 0;
            }
            K::Recalled { counter } => {
                self.at_counter(*counter, S::Called, "recall it")?;
                next.recalls += 1;
            }
            K::NoShow => {
                if self.status != S::Called {
                    return Err(self.refuse("mark it no-show"));
                }
                if self.recalls < hall.recalls_before_no_show {
                    return Err(HallError::TooFewRecalls {
                        ticket: self.id.to_string(),
                        recalls: self.recalls,
                        needed: hall.recalls_before_no_show,
                    });
                }
                next.status = S::NoShow;
                next.ended_at = Some(event.at);
            }
            K::Started => {
                if self.status != S::Called {
                    return Err(self.refuse("start serving it"));
                }
                next.status = S::Serving;
                next.started_at = Some(event.at);
            }
            K::Finished => {
                if !matches!(self.status, S::Called | S::Serving) {
                    return Err(self.refuse("finish it"));
                }
                next.status = S::Done;
                next.started_at = self.started_at.or(Some(event.at));
                next.finished_at = Some(event.at);
                next.ended_at = Some(event.at);
            }
            K::Left => {
                if !matches!(self.status, S::Waiting | S::Called) {
                    return Err(self.refuse("mark it left"));
                }
                next.status = S::Left;
                next.ended_at = Some(event.at);
            }
            K::Transferred { area, counter } => {
                if !self.status.is_open() {
                    return Err(self.refuse("transfer it"));
                }
                if area.is_none() && counter.is_none() {
                    return Err(HallError::Invalid("a transfer names an area, a counter or both".into()));
                }
                let new_area = match area {
                    Some(a) => hall.area(*a, self.id.day)?.letter,
                    None => self.area,
                };
                if let Some(c) = counter {
                    let c = hall.counter(*c, self.id.day)?;
                    if !c.areas.contains(&new_area) {
                        return Err(HallError::CounterArea { counter: c.number, area: new_area });
                    }
                }
                next.area = new_area;
                next.for_counter = *counter;
                next.status = S::Waiting;
                next.counter = None;
                next.called_at = None;
                next.called_by = None;
                next.recalls = 0;
                next.started_at = None;
                next.transfers += 1;
            }
            K::Redirected { to } => {
                if self.status != S::Done {
                    return Err(HallError::NotFinished(self.id.to_string()));
                }
                if self.redirected_to.is_some() {
                    return Err(HallError::Invalid(format!("ticket {} was already redirected", self.id)));
                }
                next.redirected_to = Some(to.clone());
            }
            K::Linked { dossier } => {
                if matches!(self.status, S::NoShow | S::Left | S::Closed) {
                    return Err(self.refuse("link a dossier to it"));
                }
                if !self.dossiers.contains(dossier) {
                    next.dossiers.push(dossier.clone());
                }
            }
            K::Rated { rating, comment } => {
                if self.status != S::Done {
                    return Err(HallError::NotFinished(self.id.to_string()));
                }
                if self.rating.is_some() {
                    return Err(HallError::AlreadyRated(self.id.to_string()));
                }
                next.rating = Some(*rating);
                next.rating_comment.clone_from(comment);
            }
            K::Closed => {
                if !self.status.is_open() {
                    return Err(self.refuse("close it"));
                }
                next.status = S::Closed;
                next.ended_at = Some(event.at);
            }
        }
        if event.at < self.last_event_at {
            return Err(HallError::Invalid(format!(
                "ticket {}: an event at {} is before its last event",
                self.id,
                crate::calendar::at_vn(event.at).to_rfc3339()
            )));
        }
        next.event_count += 1;
        next.last_event_at = event.at;
        *self = next;
        Ok(())
    }

    fn at_counter(&self, counter: u16, status: TicketStatus, action: &'static str) -> Result<(), HallError> {
        if self.status != status {
            return Err(self.refuse(action));
        }
        match self.counter {
            Some(by) if by != counter => Err(HallError::OtherCounter { ticket: self.id.to_string(), by, counter }),
            _ => Ok(()),
        }
    }

    /// A new ticket from its issue event.
    pub fn issue(hall: &Hall, event: &TicketEvent) -> Result<Self, HallError> {
        let TicketEventKind::Issued(issue) = &event.kind else {
            return Err(HallError::NoIssue);
        };
        if issue.id.hall != hall.code {
            return Err(HallError::Mismatch);
        }
        if to_local(event.at).date() != issue.id.day {
            return Err(HallError::Invalid(format!("ticket {} is issued on another day", issue.id)));
        }
        hall.area(issue.id.area, issue.id.day)?;
        let waiting_since = issue.slot_at.map_or(event.at, |s| s.max(event.at));
        Ok(Self {
            id: issue.id.clone(),
            number: issue.id.number_label(),
            area: issue.id.area,
            channel: issue.channel,
            priority: issue.priority,
            booking: issue.booking.clone(),
            slot_at: issue.slot_at,
            linked_from: issue.linked_from.clone(),
            status: TicketStatus::Waiting,
            issued_at: event.at,
            waiting_since,
            for_counter: None,
            counter: None,
            called_at: None,
            first_called_at: None,
            called_by: None,
            recalls: 0,
            started_at: None,
            finished_at: None,
            ended_at: None,
            transfers: 0,
            redirected_to: None,
            dossiers: Vec::new(),
            rating: None,
            rating_comment: None,
            event_count: 1,
            last_event_at: event.at,
        })
    }

    /// Replays a ticket's log.
    pub fn replay(hall: &Hall, events: &[TicketEvent]) -> Result<Self, HallError> {
        let (first, rest) = events.split_first().ok_or(HallError::NoIssue)?;
        let mut t = Self::issue(hall, first)?;
        for e in rest {
            t.apply(hall, e)?;
        }
        Ok(t)
    }
}

// ---------------------------------------------------------------------------------------------
// The ordering rule

/// The lane a call was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// A checked-in booking whose slot has come.
    Booking,
    Priority,
    Ordinary,
}

impl Lane {
    pub fn name(self) -> &'static str {
        match self {
            Self::Booking => "booking",
            Self::Priority => "priority",
            Self::Ordinary => "ordinary",
        }
    }
}

/// A waiting ticket as the ordering rule sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    pub id: TicketId,
    pub area: char,
    pub priority: bool,
    pub slot_at: Option<DateTime<Utc>>,
    pub waiting_since: DateTime<Utc>,
    pub for_counter: Option<u16>,
}

/// The ticket counter `counter` (serving `areas`) calls next at `now`: a checked-in booking
/// whose slot has come (earliest slot first); else a priority ticket if the hall's fairness
/// rule allows one now (or no ordinary ticket waits); else the ordinary ticket waiting
/// longest. A ticket transferred to a counter is called only by that counter (and by it
/// whatever its area). Ties go to the lower ticket id. `None`: no one is waiting.
pub fn next_ticket<'a>(
    rule: &PriorityRule,
    fair: &FairState,
    waiting: &'a [Waiting],
    counter: u16,
    areas: &[char],
    now: DateTime<Utc>,
) -> Option<(&'a Waiting, Lane)> {
    let mine = |w: &&Waiting| match w.for_counter {
        Some(c) => c == counter,
        None => areas.contains(&w.area),
    };
    let key = |w: &&Waiting| (w.waiting_since, w.id.clone());
    let booked = waiting
        .iter()
        .filter(mine)
        .filter(|w| w.slot_at.is_some_and(|s| s <= now))
        .min_by_key(|w| (w.slot_at, w.id.clone()));
    if let Some(w) = booked {
        return Some((w, Lane::Booking));
    }
    let priority = waiting.iter().filter(mine).filter(|w| w.priority).min_by_key(key);
    let ordinary = waiting.iter().filter(mine).filter(|w| !w.priority).min_by_key(key);
    match (priority, ordinary) {
        (Some(p), Some(_)) if rule.allows_priority(fair) => Some((p, Lane::Priority)),
        (_, Some(o)) => Some((o, Lane::Ordinary)),
        (Some(p), None) => Some((p, Lane::Priority)),
        (None, None) => None,
    }
}

/// Where a waiting ticket stands for its citizen: how many are ahead in its area (in the
/// order they waited) and a wait estimate from the area's service time and the counters
/// serving it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Position {
    pub ahead: u32,
    pub estimated_wait_minutes: u32,
}

pub fn position(hall: &Hall, ticket: &Ticket, waiting: &[Waiting]) -> Position {
    let key = (ticket.waiting_since, ticket.id.clone());
    let ahead = waiting
        .iter()
        .filter(|w| w.area == ticket.area && w.id != ticket.id && (w.waiting_since, w.id.clone()) < key)
        .count();
    let ahead = u32::try_from(ahead).unwrap_or(u32::MAX);
    let counters = hall.counters_on(ticket.id.day).filter(|c| c.areas.contains(&ticket.area)).count().max(1);
    let service = hall.area(ticket.area, ticket.id.day).map_or(10, |a| a.service_minutes);
    let counters = u32::try_from(counters).unwrap_or(1);
    Position { ahead, estimated_wait_minutes: (ahead.saturating_mul(service)).div_ceil(counters) }
}

// ---------------------------------------------------------------------------------------------
// Bookings

/// Where a booking stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    Cancelled,
    CheckedIn,
}

impl BookingStatus {
    pub fn name(self) -> &'static str {
        match self {
            Self::Booked => "booked",
            Self::Cancelled => "cancelled",
            Self::CheckedIn => "checked_in",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Booked, Self::Cancelled, Self::CheckedIn].into_iter().find(|k| k.name() == s.trim())
    }
}

/// What a booking request carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRequest {
    pub code: String,
    pub hall: HallCode,
    pub area: char,
    /// The slot's start, local time.
    pub slot: NaiveDateTime,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<PriorityKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BookingEventKind {
    Booked(BookingRequest),
    Cancelled,
    CheckedIn { ticket: TicketId },
}

impl BookingEventKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Booked(_) => "booked",
            Self::Cancelled => "cancelled",
            Self::CheckedIn { .. } => "checked_in",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingEvent {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(flatten)]
    pub kind: BookingEventKind,
}

/// A booking's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    pub code: String,
    pub hall: HallCode,
    pub area: char,
    pub slot: NaiveDateTime,
    pub slot_at: DateTime<Utc>,
    pub name: String,
    pub phone: Option<String>,
    pub priority: Option<PriorityKind>,
    pub status: BookingStatus,
    pub booked_at: DateTime<Utc>,
    pub ticket: Option<TicketId>,
}

/// A booking code: 8 characters from an alphabet without look-alikes (no 0/O, 1/I/L).
pub const BOOKING_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

pub fn booking_code_from(bytes: &[u8; 8]) -> String {
    bytes.iter().map(|b| char::from(BOOKING_ALPHABET[usize::from(*b) % BOOKING_ALPHABET.len()])).collect()
}

pub fn parse_booking_code(s: &str) -> Result<String, HallError> {
    let s = s.trim().to_ascii_uppercase();
    if s.len() == 8 && s.bytes().all(|b| BOOKING_ALPHABET.contains(&b)) {
        Ok(s)
    } else {
        Err(HallError::Invalid("a booking code is 8 letters and digits, as printed on the booking".into()))
    }
}

impl Booking {
    pub fn book(event: &BookingEvent) -> Result<Self, HallError> {
        let BookingEventKind::Booked(r) = &event.kind else {
            return Err(HallError::NoIssue);
        };
        Ok(Self {
            code: r.code.clone(),
            hall: r.hall.clone(),
            area: r.area,
            slot: r.slot,
            slot_at: from_local(r.slot),
            name: r.name.clone(),
            phone: r.phone.clone(),
            priority: r.priority,
            status: BookingStatus::Booked,
            booked_at: event.at,
            ticket: None,
        })
    }

    pub fn apply(&mut self, hall: &Hall, event: &BookingEvent) -> Result<(), HallError> {
        match &event.kind {
            BookingEventKind::Booked(_) => Err(HallError::Booking(format!("booking {} exists", self.code))),
            BookingEventKind::Cancelled => {
                if self.status != BookingStatus::Booked {
                    return Err(HallError::Booking(format!("booking {} is {}", self.code, self.status.name())));
                }
                if event.at >= self.slot_at {
                    return Err(HallError::Booking(format!(
                        "booking {}: its slot has begun; it can no longer be cancelled",
                        self.code
                    )));
                }
                self.status = BookingStatus::Cancelled;
                Ok(())
            }
            BookingEventKind::CheckedIn { ticket } => {
                self.check_in(hall, event.at)?;
                self.status = BookingStatus::CheckedIn;
                self.ticket = Some(ticket.clone());
                Ok(())
            }
        }
    }

    /// May the citizen check in at `at`? Only on the slot's day, and at most
    /// `booking_late_minutes` after the slot's start.
    pub fn check_in(&self, hall: &Hall, at: DateTime<Utc>) -> Result<(), HallError> {
        if self.status != BookingStatus::Booked {
            return Err(HallError::Booking(format!("booking {} is {}", self.code, self.status.name())));
        }
        if to_local(at).date() != self.slot.date() {
            return Err(HallError::Booking(format!(
                "booking {} is for {}; check in on that day",
                self.code,
                self.slot.format("%d/%m/%Y")
            )));
        }
        let late = (at - self.slot_at).num_seconds();
        if late > i64::from(hall.booking_late_minutes) * 60 {
            return Err(HallError::BookingLate {
                code: self.code.clone(),
                slot: self.slot.format("%H:%M").to_string(),
                late: late / 60,
                limit: hall.booking_late_minutes,
            });
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Figures

/// Order statistics of a list of durations, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub count: u64,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    pub max: Option<i64>,
    pub mean: Option<f64>,
}

impl Spread {
    /// Nearest-rank percentiles.
    pub fn of(mut v: Vec<i64>) -> Self {
        if v.is_empty() {
            return Self::default();
        }
        v.sort_unstable();
        let n = v.len();
        let rank = |p: usize| v[(n * p).div_ceil(100).clamp(1, n) - 1];
        let sum: i64 = v.iter().sum();
        Self {
            count: n as u64,
            p50: Some(rank(50)),
            p90: Some(rank(90)),
            max: v.last().copied(),
            #[allow(clippy::cast_precision_loss)]
            mean: Some(sum as f64 / n as f64),
        }
    }
}

/// What a ticket contributes to the hall's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    pub channel: TicketChannel,
    pub status: TicketStatus,
    pub wait_seconds: Option<i64>,
    pub service_seconds: Option<i64>,
    pub rating: Option<HallRating>,
    /// The hall's waiting target.
    pub target_seconds: i64,
}

impl Ticket {
    /// What the report counts of this ticket, against the hall's waiting target.
    pub fn facts(&self, target_minutes: u32) -> TicketFacts {
        TicketFacts {
            channel: self.channel,
            status: self.status,
            wait_seconds: self.wait_seconds(),
            service_seconds: self.service_seconds(),
            rating: self.rating,
            target_seconds: i64::from(target_minutes) * 60,
        }
    }
}

/// One row of the hall report.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HallTally {
    pub issued: u64,
    pub by_channel: BTreeMap<String, u64>,
    pub served: u64,
    pub no_show: u64,
    pub left: u64,
    pub closed: u64,
    pub waiting: Spread,
    pub service: Spread,
    /// Called within the hall's waiting target, of those called.
    pub within_target: u64,
    pub within_target_ratio: Option<f64>,
    pub ratings: BTreeMap<String, u64>,
}

/// Tallies tickets: counts by outcome and channel, the wait and service spreads, the share
/// called within each one's hall waiting target, ratings.
pub fn tally<'a>(facts: impl IntoIterator<Item = &'a TicketFacts>) -> HallTally {
    let mut t = HallTally::default();
    let mut waits = Vec::new();
    let mut services = Vec::new();
    for f in facts {
        t.issued += 1;
        *t.by_channel.entry(f.channel.name().to_string()).or_default() += 1;
        match f.status {
            TicketStatus::Done => t.served += 1,
            TicketStatus::NoShow => t.no_show += 1,
            TicketStatus::Left => t.left += 1,
            TicketStatus::Closed => t.closed += 1,
            _ => {}
        }
        if let Some(w) = f.wait_seconds {
            waits.push(w);
            if w <= f.target_seconds {
                t.within_target += 1;
            }
        }
        if let Some(s) = f.service_seconds {
            services.push(s);
        }
        if let Some(r) = f.rating {
            *t.ratings.entry(r.name().to_string()).or_default() += 1;
        }
    }
    #[allow(clippy::cast_precision_loss)]
    let ratio = (!waits.is_empty()).then(|| t.within_target as f64 / waits.len() as f64);
    t.within_target_ratio = ratio;
    t.waiting = Spread::of(waits);
    t.service = Spread::of(services);
    t
}

/// One command of a hall day's script (`motcua simulate`): what a citizen, a kiosk or a
/// counter did, in time order, for the store to record in one transaction through the same
/// steps as the single commands. `expect` is the ticket the script computed with core's own
/// numbering and ordering rule; the store refuses the whole script if it gives another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HallCommand {
    /// A number taken (QR, kiosk, desk).
    Issue {
        area: char,
        channel: TicketChannel,
        priority: Option<PriorityKind>,
        at: DateTime<Utc>,
        by: Option<String>,
        expect: TicketId,
    },
    /// A slot booked (before the day).
    Book { request: BookingRequest, at: DateTime<Utc> },
    /// A booking cancelled before its slot.
    Cancel { code: String, at: DateTime<Utc> },
    /// A booked citizen checked in.
    CheckIn { code: String, at: DateTime<Utc>, by: Option<String>, expect: TicketId },
    /// A counter calls the next ticket by the hall's ordering rule.
    Call { counter: u16, at: DateTime<Utc>, by: Option<String>, expect: TicketId },
    /// Any later step of a ticket (recall, no-show, start, finish, left, transfer, rating,
    /// link, close).
    Step { ticket: TicketId, event: TicketEvent },
    /// A counter signed in to (`Some`) or out of (`None`).
    Sign { counter: u16, staff: Option<String>, at: DateTime<Utc> },
}

impl HallCommand {
    /// The instant the command happens.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Issue { at, .. }
            | Self::Book { at, .. }
            | Self::Cancel { at, .. }
            | Self::CheckIn { at, .. }
            | Self::Call { at, .. }
            | Self::Sign { at, .. } => *at,
            Self::Step { event, .. } => event.at,
        }
    }
}

/// The citizen's time in the hall before a dossier's clock started (thời gian chờ tại sảnh):
/// from taking the number to the first call, and to the dossier's receipt. A separate figure:
/// the statutory clock starts at the receipt and is not moved by it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HallTime {
    /// The ticket the citizen took on arriving (the first of a redirect's chain).
    pub ticket: TicketId,
    pub number: String,
    pub issued_at: DateTime<Utc>,
    /// Its first call (`None`: received without a call, e.g. at the desk directly).
    pub called_at: Option<DateTime<Utc>>,
    pub received_at: DateTime<Utc>,
    /// Whole minutes from the number to the first call.
    pub wait_to_call_minutes: Option<i64>,
    /// Whole minutes from the number to the receipt (the clock's start).
    pub wait_to_receipt_minutes: i64,
}

/// The hall time of a dossier received at `received_at` from a citizen who took `origin`.
pub fn hall_time(origin: &Ticket, received_at: DateTime<Utc>) -> HallTime {
    let minutes = |a: DateTime<Utc>, b: DateTime<Utc>| (b - a).num_minutes().max(0);
    HallTime {
        ticket: origin.id.clone(),
        number: origin.number.clone(),
        issued_at: origin.issued_at,
        called_at: origin.first_called_at,
        received_at,
        wait_to_call_minutes: origin.first_called_at.map(|c| minutes(origin.issued_at, c)),
        wait_to_receipt_minutes: minutes(origin.issued_at, received_at),
    }
}

/// The local opening instant of a time on a day, for tests and the simulator.
pub fn local_at(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    from_local(day.and_time(NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn id(area: char, n: u32) -> TicketId {
        TicketId { hall: "HCC".parse().unwrap(), day: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(), area, number: n }
    }

    fn w(area: char, n: u32, priority: bool, minute: u32) -> Waiting {
        Waiting {
            id: id(area, n),
            area,
            priority,
            slot_at: None,
            waiting_since: local_at(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(), 8, minute),
            for_counter: None,
        }
    }

    #[test]
    fn ticket_ids_round_trip_and_refuse_bad_text() {
        let t = id('A', 23);
        assert_eq!(t.to_string(), "HCC-260310-A-023");
        assert_eq!(t.number_label(), "A-023");
        assert_eq!("HCC-260310-A-023".parse::<TicketId>().unwrap(), t);
        assert_eq!("HCC-260310-B-1234".parse::<TicketId>().unwrap().number, 1234);
        for bad in
            ["", "HCC-260310-A-23", "HCC-261310-A-023", "hcc-260310-A-023", "HCC-260310-a-023", "HCC-260310-A-000"]
        {
            assert!(bad.parse::<TicketId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ratio_rule_calls_one_priority_after_two_ordinary() {
        let rule = PriorityRule::Ratio { ordinary: 2, priority: 1 };
        let mut waiting: Vec<Waiting> =
            (1..=6).map(|n| w('A', n, false, n)).chain((7..=12).map(|n| w('A', n, true, n))).collect();
        let now = local_at(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(), 9, 0);
        let mut fair = FairState::default();
        let mut order = Vec::new();
        for _ in 0..9 {
            let (t, lane) = next_ticket(&rule, &fair, &waiting, 1, &['A'], now).unwrap();
            order.push((t.id.number, lane));
            fair = fair.after(lane);
            let n = t.id.number;
            waiting.retain(|x| x.id.number != n);
        }
        let lanes: Vec<&str> = order.iter().map(|(_, l)| l.name()).collect();
        // The first priority ticket goes first (no priority call yet today), then 2 : 1.
        assert_eq!(
            lanes,
            [
                "priority", "ordinary", "ordinary", "priority", "ordinary", "ordinary", "priority", "ordinary",
                "ordinary"
            ]
        );
        assert_eq!(order[0].0, 7);
        assert_eq!(order[1].0, 1);
    }

    #[test]
    fn cap_rule_limits_priority_runs_and_priority_alone_is_called() {
        let rule = PriorityRule::Cap { consecutive: 2 };
        let mut waiting: Vec<Waiting> =
            (1..=2).map(|n| w('A', n, false, n)).chain((3..=8).map(|n| w('A', n, true, n))).collect();
        let now = local_at(NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(), 9, 0);
        let mut fair = FairState::default();
        let mut lanes = Vec::new();
        for _ in 0..8 {
            let (t, lane) = next_ticket(&rule, &fair, &waiting, 1, &['A'], now).unwrap();
            lanes.push(lane.name());
            fair = fair.after(lane);
            let n = t.id.number;
            waiting.retain(|x| x.id.number != n);
        }
        assert_eq!(
            lanes,
            ["priority", "priority", "ordinary", "priority", "priority", "ordinary", "priority", "priority"]
        );
        assert!(next_ticket(&rule, &fair, &waiting, 1, &['A'], now).is_none());
    }

    #[test]
    fn a_booking_at_its_slot_goes_first_and_counters_keep_to_their_areas() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let mut booked = w('B', 9, false, 50);
        booked.slot_at = Some(local_at(day, 9, 0));
        booked.waiting_since = local_at(day, 9, 0);
        let mut transferred = w('A', 1, false, 1);
        transferred.for_counter = Some(2);
        let waiting = vec![transferred, w('A', 2, false, 2), w('B', 3, false, 3), booked];
        let rule = PriorityRule::default();
        let fair = FairState::default();
        let before = local_at(day, 8, 59);
        let (t, lane) = next_ticket(&rule, &fair, &waiting, 1, &['A', 'B'], before).unwrap();
        assert_eq!((t.id.number, lane), (2, Lane::Ordinary));
        let at_slot = local_at(day, 9, 0);
        let (t, lane) = next_ticket(&rule, &fair, &waiting, 1, &['A', 'B'], at_slot).unwrap();
        assert_eq!((t.id.number, lane), (9, Lane::Booking));
        let (t, _) = next_ticket(&rule, &fair, &waiting, 2, &['C'], before).unwrap();
        assert_eq!(t.id.number, 1);
        assert!(next_ticket(&rule, &fair, &waiting, 3, &['C'], before).is_none());
    }

    #[test]
    fn spread_uses_nearest_rank() {
        let s = Spread::of((1..=10).collect());
        assert_eq!((s.p50, s.p90, s.max), (Some(5), Some(9), Some(10)));
        assert_eq!(Spread::of(vec![]).count, 0);
    }

    #[test]
    fn booking_codes_parse() {
        let c = booking_code_from(&[0, 1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(parse_booking_code(&c.to_lowercase()).unwrap(), c);
        assert!(parse_booking_code("O0O0O0O0").is_err());
    }
}
