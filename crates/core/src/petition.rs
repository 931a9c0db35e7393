//! Petitions, complaints and denunciations (đơn thư: kiến nghị, phản ánh; khiếu nại; tố cáo)
//! as tracked items: their kinds, the steps the law sets for each and the time limits of those
//! steps, effective-dated by the rule set in force at the item's receipt, and the state machine
//! their events drive. Pure: the calendar and "now" come in, values and typed errors go out.
//!
//! The rules and the article behind every limit are in `docs/rules.md` ("Petitions, complaints
//! and denunciations"). In short:
//!
//! | kind | first step (decide) | resolve |
//! |---|---|---|
//! | petition | accept or forward: 5 working days | the agency's answer limit from receipt (default 10 working days) |
//! | complaint | accept (thụ lý) or refuse: 10 days; from 1/7/2026 7 working days | 30 days from acceptance (45 complex; remote 45 / 60) |
//! | denunciation | initial processing: 7 working days (extendable to 10); forward: 5 working days | 30 days from acceptance, extended once (complex) or twice (especially complex) by 30 days |
//!
//! "Days" (ngày) are calendar days and "working days" (ngày làm việc) are counted on the
//! official calendar; the day of receipt (or acceptance) is not counted (Civil Code 2015,
//! Art. 147), and a period whose last day is a day off ends on the next working day (Art. 148).
//! A period ends at the office's closing time on its last day.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::{Ratio, analyse};
use crate::calendar::{Calendar, CalendarError, from_local, to_local};
use crate::codes::{AgencyCode, DossierCode, ParseError};
use crate::deadlines::TimeLimit;
use crate::domain::Domain;
use crate::dossier::Applicant;
use crate::dossier::Dossier;

/// The answer limit for petitions when the agency's catalog row gives none: 10 working days,
/// the limit of Decree 20/2008/NĐ-CP (as amended by Decree 92/2017/NĐ-CP) for petitions on
/// administrative regulations, as the catalog's procedure 2.002165 carries it.
pub const DEFAULT_PETITION_ANSWER: TimeLimit = TimeLimit::WorkingDays(10);

/// The first day of the rules of Law 136/2025/QH15 and the amended Decree 124/2020/NĐ-CP.
pub fn law_136_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 7, 1).unwrap_or(NaiveDate::MIN)
}

/// What kind of item (loại đơn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Kiến nghị, phản ánh (including those on administrative regulations, Decree 20/2008).
    Petition,
    /// Khiếu nại lần đầu (Law on Complaints 2011).
    Complaint,
    /// Tố cáo (Law on Denunciations 2018).
    Denunciation,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Self::Petition, Self::Complaint, Self::Denunciation];

    pub fn name(self) -> &'static str {
        match self {
            Self::Petition => "petition",
            Self::Complaint => "complaint",
            Self::Denunciation => "denunciation",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Petition => "Kiến nghị, phản ánh",
            Self::Complaint => "Khiếu nại",
            Self::Denunciation => "Tố cáo",
        }
    }

    /// The code's prefix: `PA` (phản ánh, kiến nghị), `KN` (khiếu nại), `TC` (tố cáo).
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Petition => "PA",
            Self::Complaint => "KN",
            Self::Denunciation => "TC",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == s)
    }
}

/// An item's code: `<PA|KN|TC>-<yyMMdd of receipt>-<sequence, at least 4 digits>`, e.g.
/// `KN-260715-0003`. The sequence counts items of the kind received that local day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ItemCode(String);

impl ItemCode {
    pub fn new(kind: Kind, date: NaiveDate, sequence: u32) -> Self {
        Self(format!("{}-{}-{sequence:04}", kind.prefix(), date.format("%y%m%d")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kind its prefix names.
    pub fn kind(&self) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| self.0.starts_with(k.prefix()))
    }
}

impl FromStr for ItemCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        let bad = || ParseError {
            what: "petition code",
            value: s.chars().take(80).collect(),
            expected: "PA|KN|TC-yyMMdd-NNNN, e.g. KN-260715-0003",
        };
        let mut parts = s.split('-');
        let (Some(p), Some(d), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let digits =
            |x: &str, lo: usize, hi: usize| x.len() >= lo && x.len() <= hi && x.bytes().all(|b| b.is_ascii_digit());
        if !Kind::ALL.iter().any(|k| k.prefix() == p) || !digits(d, 6, 6) || !digits(n, 4, 6) {
            return Err(bad());
        }
        NaiveDate::parse_from_str(&format!("20{d}"), "%Y%m%d").map_err(|_| bad())?;
        Ok(Self(s.to_string()))
    }
}

impl TryFrom<String> for ItemCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        s.parse()
    }
}

impl From<ItemCode> for String {
    fn from(c: ItemCode) -> String {
        c.0
    }
}

impl fmt::Display for ItemCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The rule set in force at an item's receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleSet {
    /// Until 30/6/2026: Law on Citizen Reception 2013, Law on Complaints 2011, Law on
    /// Denunciations 2018, Decree 124/2020/NĐ-CP as issued, Decree 20/2008/NĐ-CP.
    Laws2011,
    /// From 1/7/2026: the same laws as amended by Law 136/2025/QH15, Decree 124/2020/NĐ-CP as
    /// amended.
    Law136,
}

impl RuleSet {
    /// The rule set for an item received at `at` (its local date).
    pub fn for_receipt(at: DateTime<Utc>) -> Self {
        if to_local(at).date() >= law_136_from() { Self::Law136 } else { Self::Laws2011 }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Laws2011 => "laws_2011",
            Self::Law136 => "law_136_2025",
        }
    }
}

/// How complex a case is, as the resolver declares it (vụ việc phức tạp, đặc biệt phức tạp).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Complexity {
    #[default]
    Ordinary,
    Complex,
    EspeciallyComplex,
}

impl Complexity {
    pub fn name(self) -> &'static str {
        match self {
            Self::Ordinary => "ordinary",
            Self::Complex => "complex",
            Self::EspeciallyComplex => "especially_complex",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Ordinary, Self::Complex, Self::EspeciallyComplex].into_iter().find(|c| c.name() == s)
    }
}

/// A time limit with the text it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limit {
    pub limit: TimeLimit,
    pub basis: &'static str,
}

const fn wd(n: u32, basis: &'static str) -> Limit {
    Limit { limit: TimeLimit::WorkingDays(n), basis }
}

const fn cd(n: u32, basis: &'static str) -> Limit {
    Limit { limit: TimeLimit::CalendarDays(n), basis }
}

/// The limits of one kind under one rule set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Rules {
    pub set: RuleSet,
    pub kind: Kind,
}

impl Rules {
    pub fn new(set: RuleSet, kind: Kind) -> Self {
        Self { set, kind }
    }

    /// The first step: accept within competence, or refuse, guide, forward or archive.
    pub fn decide(self) -> Limit {
        match (self.kind, self.set) {
            (Kind::Petition, _) => {
                wd(5, "Decree 20/2008/NĐ-CP, Art. 9(1)(d); Law on Citizen Reception 2013, Art. 28(1)")
            }
            (Kind::Complaint, RuleSet::Laws2011) => cd(10, "Law on Complaints 2011, Art. 27"),
            (Kind::Complaint, RuleSet::Law136) => {
                wd(7, "Law on Complaints, Art. 27 as amended by Law 136/2025/QH15; Decree 124/2020/NĐ-CP as amended")
            }
            (Kind::Denunciation, _) => wd(7, "Law on Denunciations 2018, Art. 24(1)"),
        }
    }

    /// The first step once extended: a denunciation's initial processing, to 10 working days.
    pub fn decide_extended(self) -> Option<Limit> {
        match self.kind {
            Kind::Denunciation => Some(wd(10, "Law on Denunciations 2018, Art. 24(1)")),
            _ => None,
        }
    }

    /// Forwarding an item outside the agency's competence (chuyển đơn).
    pub fn forward(self) -> Limit {
        match self.kind {
            Kind::Petition => wd(5, "Decree 20/2008/NĐ-CP, Art. 9(1)(d); Law on Citizen Reception 2013, Art. 28(1)"),
            Kind::Denunciation => wd(5, "Law on Denunciations 2018, Art. 24(2)"),
            Kind::Complaint => self.decide(),
        }
    }

    /// Resolving (answering) the item, counted from acceptance (from receipt for a petition).
    /// `answer` is the agency's petition answer limit (the catalog's), if any.
    pub fn resolve(self, complexity: Complexity, remote: bool, answer: Option<TimeLimit>) -> Limit {
        match self.kind {
            Kind::Petition => Limit {
                limit: answer.unwrap_or(DEFAULT_PETITION_ANSWER),
                basis: if answer.is_some() {
                    "the agency's answer limit (catalog)"
                } else {
                    "Decree 20/2008/NĐ-CP as amended by Decree 92/2017/NĐ-CP (motcua's default)"
                },
            },
            Kind::Complaint => {
                let basis = "Law on Complaints 2011, Art. 28";
                match (remote, complexity) {
                    (false, Complexity::Ordinary) => cd(30, basis),
                    (false, _) | (true, Complexity::Ordinary) => cd(45, basis),
                    (true, _) => cd(60, basis),
                }
            }
            Kind::Denunciation => cd(30, "Law on Denunciations 2018, Art. 30(1)"),
        }
    }

    /// How many extensions of the resolution the law allows at `complexity`.
    pub fn max_extensions(self, complexity: Complexity) -> u32 {
        match (self.kind, complexity) {
            (Kind::Denunciation, Complexity::Ordinary) | (Kind::Petition, _) => 0,
            (Kind::Denunciation, Complexity::Complex) => 1,
            (Kind::Denunciation, Complexity::EspeciallyComplex) => 2,
            // A complaint is extended once, when it is found complex (30 → 45, 45 → 60).
            (Kind::Complaint, _) => 1,
        }
    }

    /// Whether the resolution is counted from receipt (a petition) rather than acceptance.
    pub fn resolve_from_receipt(self) -> bool {
        self.kind == Kind::Petition
    }
}

/// The end of a period of `limit` counted from `from` under the Civil Code: the day of `from`
/// is not counted (Art. 147); N calendar days end on date + N, N working days on the N-th
/// working day after it; a last day that is not a working day moves to the next working day
/// (Art. 148); the period ends at that day's closing time.
pub fn legal_due(cal: &Calendar, from: DateTime<Utc>, limit: TimeLimit) -> Result<DateTime<Utc>, CalendarError> {
    let date = to_local(from).date();
    let last = match limit {
        TimeLimit::CalendarDays(n) => cal.working_day_on_or_after(date + Duration::days(i64::from(n)))?,
        TimeLimit::WorkingDays(n) => cal.nth_working_day_after(date, n.max(1))?,
        // Not a legal period of these laws: counted as whole working days, rounded up.
        TimeLimit::WorkingHours(h) => cal.nth_working_day_after(date, h.div_ceil(8).max(1))?,
    };
    Ok(from_local(last.and_time(cal.hours().closing())))
}

/// Moves a due instant on by `by` (time spent suspended), then to the next working day's
/// closing if it lands on a day off (Civil Code Art. 148).
fn moved_due(cal: &Calendar, due: DateTime<Utc>, by: Duration) -> Result<DateTime<Utc>, CalendarError> {
    let shifted = to_local(due + by).date();
    let day = cal.working_day_on_or_after(shifted)?;
    Ok(from_local(day.and_time(cal.hours().closing())))
}

/// How the item reached the agency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ItemChannel {
    #[default]
    InPerson,
    Phone,
    Postal,
    Online,
}

impl ItemChannel {
    pub const ALL: [Self; 4] = [Self::InPerson, Self::Phone, Self::Postal, Self::Online];

    pub fn name(self) -> &'static str {
        match self {
            Self::InPerson => "in_person",
            Self::Phone => "phone",
            Self::Postal => "postal",
            Self::Online => "online",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == s)
    }
}

/// What is recorded when an item is filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemIntake {
    pub code: ItemCode,
    pub kind: Kind,
    /// The responsible agency (for a dossier: the agency its lateness was attributed to, else
    /// its lead agency).
    pub agency: AgencyCode,
    pub applicant: Applicant,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dossier: Option<DossierCode>,
    #[serde(default)]
    pub channel: ItemChannel,
    /// The agency's petition answer limit at receipt (kept, so the item keeps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_limit: Option<TimeLimit>,
}

/// What happened to an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ItemEventKind {
    Filed {
        intake: ItemIntake,
    },
    /// Sent to another agency of the system, which becomes responsible (no new clock).
    Transferred {
        to: AgencyCode,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// Accepted within competence (thụ lý): the resolution's clock starts.
    Accepted {
        #[serde(default)]
        complexity: Complexity,
        #[serde(default)]
        remote: bool,
    },
    /// Acceptance refused, with the reason (không thụ lý).
    Refused {
        reason: String,
    },
    /// Outside competence: forwarded to a named body (chuyển đơn).
    Forwarded {
        to: String,
        reason: String,
    },
    /// Outside competence: the citizen guided to a named body (hướng dẫn).
    Guided {
        to: String,
        reason: String,
    },
    /// Not eligible: archived (lưu đơn), with the reason.
    Archived {
        reason: String,
    },
    /// An extension: of a denunciation's initial processing before acceptance; of the
    /// resolution after it (a complaint found complex; a complex denunciation).
    Extended {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        complexity: Option<Complexity>,
    },
    /// The answer (the decision, conclusion or reply), shown to the citizen.
    Answered {
        text: String,
    },
    Withdrawn {
        #[serde(default)]
        reason: String,
    },
    /// Resolution suspended (tạm đình chỉ): the clock stops until resumed.
    Suspended {
        reason: String,
    },
    Resumed,
    /// Resolution terminated (đình chỉ).
    Terminated {
        reason: String,
    },
    /// The citizen's rating of the answer.
    Rated {
        satisfied: bool,
    },
}

impl ItemEventKind {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Filed { .. } => "filed",
            Self::Transferred { .. } => "transferred",
            Self::Accepted { .. } => "accepted",
            Self::Refused { .. } => "refused",
            Self::Forwarded { .. } => "forwarded",
            Self::Guided { .. } => "guided",
            Self::Archived { .. } => "archived",
            Self::Extended { .. } => "extended",
            Self::Answered { .. } => "answered",
            Self::Withdrawn { .. } => "withdrawn",
            Self::Suspended { .. } => "suspended",
            Self::Resumed => "resumed",
            Self::Terminated { .. } => "terminated",
            Self::Rated { .. } => "rated",
        }
    }
}

/// An event in an item's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemEvent {
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    #[serde(flatten)]
    pub kind: ItemEventKind,
}

impl ItemEvent {
    pub fn new(at: DateTime<Utc>, by: Option<String>, kind: ItemEventKind) -> Self {
        Self { at, by, kind }
    }
}

/// Where an item stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Received,
    Accepted,
    Suspended,
    Answered,
    Refused,
    Forwarded,
    Guided,
    Archived,
    Withdrawn,
    Terminated,
}

impl ItemStatus {
    pub const ALL: [Self; 10] = [
        Self::Received,
        Self::Accepted,
        Self::Suspended,
        Self::Answered,
        Self::Refused,
        Self::Forwarded,
        Self::Guided,
        Self::Archived,
        Self::Withdrawn,
        Self::Terminated,
    ];

    /// The statuses of an item still open (a step is owed).
    pub const OPEN: [Self; 3] = [Self::Received, Self::Accepted, Self::Suspended];

    pub fn name(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Accepted => "accepted",
            Self::Suspended => "suspended",
            Self::Answered => "answered",
            Self::Refused => "refused",
            Self::Forwarded => "forwarded",
            Self::Guided => "guided",
            Self::Archived => "archived",
            Self::Withdrawn => "withdrawn",
            Self::Terminated => "terminated",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Received => "Đã tiếp nhận",
            Self::Accepted => "Đã thụ lý",
            Self::Suspended => "Tạm đình chỉ",
            Self::Answered => "Đã giải quyết, trả lời",
            Self::Refused => "Không thụ lý",
            Self::Forwarded => "Đã chuyển đơn",
            Self::Guided => "Đã hướng dẫn",
            Self::Archived => "Lưu đơn",
            Self::Withdrawn => "Công dân rút đơn",
            Self::Terminated => "Đình chỉ giải quyết",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }

    pub fn is_open(self) -> bool {
        Self::OPEN.contains(&self)
    }
}

/// The step an open item owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NextStep {
    /// Accept, refuse, forward, guide or archive.
    Decide,
    /// Answer (resolve).
    Resolve,
}

impl NextStep {
    pub fn name(self) -> &'static str {
        match self {
            Self::Decide => "decide",
            Self::Resolve => "resolve",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "decide" => Some(Self::Decide),
            "resolve" => Some(Self::Resolve),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemError {
    #[error("cannot apply `{event}` to an item in status {}", .status.map_or("none (not filed)", ItemStatus::name))]
    IllegalTransition { status: Option<ItemStatus>, event: &'static str },
    #[error("event at {at} is earlier than the item's last event at {last}")]
    BeforeLastEvent { at: DateTime<Utc>, last: DateTime<Utc> },
    #[error("the item is already with {0}")]
    TransferToHolder(AgencyCode),
    #[error("{0}")]
    NoExtension(&'static str),
    #[error("the answer has already been rated")]
    AlreadyRated,
    #[error("unknown agency {0}")]
    UnknownAgency(AgencyCode),
    #[error("the item has no filing event")]
    NotFiled,
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// An item's full state, derived from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Item {
    pub code: Option<ItemCode>,
    pub kind: Option<Kind>,
    pub rules: Option<RuleSet>,
    pub agency: Option<AgencyCode>,
    pub applicant: Applicant,
    pub text: String,
    pub dossier: Option<DossierCode>,
    pub channel: ItemChannel,
    pub answer_limit: Option<TimeLimit>,
    pub status: Option<ItemStatus>,
    pub received_at: Option<DateTime<Utc>>,
    /// The first step's due instant (accept, refuse, guide, archive).
    pub decide_due_at: Option<DateTime<Utc>>,
    /// The forwarding step's due instant (5 working days for petitions and denunciations).
    pub forward_due_at: Option<DateTime<Utc>>,
    pub decide_extended: bool,
    pub decided_at: Option<DateTime<Utc>>,
    pub decide_late: Option<bool>,
    pub complexity: Complexity,
    pub remote: bool,
    pub accepted_at: Option<DateTime<Utc>>,
    pub resolve_due_at: Option<DateTime<Utc>>,
    pub extensions: u32,
    pub suspended_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolve_late: Option<bool>,
    pub answer: Option<String>,
    /// The reason of a refusal, archive, withdrawal, termination, forward or guidance.
    pub reason: Option<String>,
    /// The body an item was forwarded or the citizen guided to.
    pub sent_to: Option<String>,
    pub satisfied: Option<bool>,
    pub transfers: Vec<(AgencyCode, DateTime<Utc>)>,
    /// The agency the item was filed with: its calendar counts the item's periods.
    pub filed_agency: Option<AgencyCode>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub event_count: u32,
}

impl Item {
    /// The rules the item keeps (those in force at its receipt).
    pub fn rules(&self) -> Option<Rules> {
        Some(Rules::new(self.rules?, self.kind?))
    }

    /// The step an open item owes, and its due instant.
    pub fn next_step(&self) -> Option<(NextStep, DateTime<Utc>)> {
        match self.status? {
            ItemStatus::Received => Some((NextStep::Decide, self.decide_due_at?)),
            ItemStatus::Accepted => Some((NextStep::Resolve, self.resolve_due_at?)),
            _ => None,
        }
    }

    /// Whether the item was accepted within competence (thụ lý), whatever came after.
    pub fn was_accepted(&self) -> bool {
        self.accepted_at.is_some()
    }

    /// Applies one event on `cal` (the responsible agency's calendar at receipt). On error the
    /// item is unchanged.
    pub fn apply(&mut self, e: &ItemEvent, cal: &Calendar) -> Result<(), ItemError> {
        let mut next = self.clone();
        next.apply_inner(e, cal)?;
        *self = next;
        Ok(())
    }

    fn apply_inner(&mut self, e: &ItemEvent, cal: &Calendar) -> Result<(), ItemError> {
        use ItemEventKind as K;
        use ItemStatus as S;
        if let Some(last) = self.last_event_at
            && e.at < last
        {
            return Err(ItemError::BeforeLastEvent { at: e.at, last });
        }
        let illegal = || ItemError::IllegalTransition { status: self.status, event: e.kind.name() };
        let status = self.status;
        match (&e.kind, status) {
            (K::Filed { intake }, None) => {
                let set = RuleSet::for_receipt(e.at);
                let rules = Rules::new(set, intake.kind);
                self.code = Some(intake.code.clone());
                self.kind = Some(intake.kind);
                self.rules = Some(set);
                self.agency = Some(intake.agency.clone());
                self.filed_agency = Some(intake.agency.clone());
                self.applicant = intake.applicant.clone();
                self.text = intake.text.clone();
                self.dossier = intake.dossier.clone();
                self.channel = intake.channel;
                self.answer_limit = intake.answer_limit;
                self.received_at = Some(e.at);
                self.decide_due_at = Some(legal_due(cal, e.at, rules.decide().limit)?);
                self.forward_due_at = Some(legal_due(cal, e.at, rules.forward().limit)?);
                self.status = Some(S::Received);
            }
            (K::Transferred { to, .. }, Some(S::Received | S::Accepted | S::Suspended)) => {
                if self.agency.as_ref() == Some(to) {
                    return Err(ItemError::TransferToHolder(to.clone()));
                }
                self.agency = Some(to.clone());
                self.transfers.push((to.clone(), e.at));
            }
            (K::Accepted { complexity, remote }, Some(S::Received)) => {
                let rules = self.rules().ok_or_else(illegal)?;
                self.decided(e.at, self.decide_due_at);
                self.complexity = *complexity;
                self.remote = *remote;
                self.accepted_at = Some(e.at);
                let from = if rules.resolve_from_receipt() { self.received_at.unwrap_or(e.at) } else { e.at };
                let limit = rules.resolve(*complexity, *remote, self.answer_limit).limit;
                self.resolve_due_at = Some(legal_due(cal, from, limit)?);
                self.status = Some(S::Accepted);
            }
            (K::Refused { reason } | K::Archived { reason }, Some(S::Received)) => {
                self.decided(e.at, self.decide_due_at);
                self.reason = Some(reason.clone());
                self.status = Some(if matches!(e.kind, K::Refused { .. }) { S::Refused } else { S::Archived });
            }
            (K::Forwarded { to, reason } | K::Guided { to, reason }, Some(S::Received)) => {
                let forward = matches!(e.kind, K::Forwarded { .. });
                self.decided(e.at, if forward { self.forward_due_at } else { self.decide_due_at });
                self.reason = Some(reason.clone());
                self.sent_to = Some(to.clone());
                self.status = Some(if forward { S::Forwarded } else { S::Guided });
            }
            (K::Extended { complexity, .. }, Some(S::Received)) => {
                let rules = self.rules().ok_or_else(illegal)?;
                let Some(ext) = rules.decide_extended() else {
                    return Err(ItemError::NoExtension("only a denunciation's initial processing can be extended"));
                };
                if self.decide_extended || complexity.is_some() {
                    return Err(ItemError::NoExtension("the initial processing is extended once, to 10 working days"));
                }
                self.decide_extended = true;
                self.decide_due_at = Some(legal_due(cal, self.received_at.unwrap_or(e.at), ext.limit)?);
            }
            (K::Extended { complexity, .. }, Some(S::Accepted)) => {
                let rules = self.rules().ok_or_else(illegal)?;
                let complexity = complexity.unwrap_or(self.complexity).max(self.complexity);
                let due = self.resolve_due_at.ok_or_else(illegal)?;
                match rules.kind {
                    Kind::Petition => {
                        return Err(ItemError::NoExtension("a petition's answer limit is not extended"));
                    }
                    Kind::Complaint => {
                        if self.extensions >= 1 || self.complexity != Complexity::Ordinary {
                            return Err(ItemError::NoExtension(
                                "a complaint's resolution is extended once, when it is found complex",
                            ));
                        }
                        let complex = complexity.max(Complexity::Complex);
                        let limit = rules.resolve(complex, self.remote, None).limit;
                        self.resolve_due_at = Some(legal_due(cal, self.accepted_at.unwrap_or(e.at), limit)?);
                        self.complexity = complex;
                    }
                    Kind::Denunciation => {
                        if self.extensions >= rules.max_extensions(complexity) {
                            return Err(ItemError::NoExtension(
                                "a denunciation is extended once if complex, twice if especially complex",
                            ));
                        }
                        self.resolve_due_at = Some(legal_due(cal, due, TimeLimit::CalendarDays(30))?);
                        self.complexity = complexity;
                    }
                }
                self.extensions += 1;
            }
            (K::Answered { text }, Some(S::Accepted)) => {
                self.resolved_at = Some(e.at);
                self.resolve_late = self.resolve_due_at.map(|d| e.at > d);
                self.answer = Some(text.clone());
                self.status = Some(S::Answered);
            }
            (K::Terminated { reason }, Some(S::Accepted | S::Suspended)) => {
                self.resolved_at = Some(e.at);
                self.resolve_late = self.resolve_due_at.map(|d| e.at > d);
                self.reason = Some(reason.clone());
                self.status = Some(S::Terminated);
            }
            (K::Suspended { reason }, Some(S::Accepted)) => {
                self.suspended_at = Some(e.at);
                self.reason = Some(reason.clone());
                self.status = Some(S::Suspended);
            }
            (K::Resumed, Some(S::Suspended)) => {
                let since = self.suspended_at.take().ok_or_else(illegal)?;
                if let Some(due) = self.resolve_due_at {
                    self.resolve_due_at = Some(moved_due(cal, due, e.at - since)?);
                }
                self.reason = None;
                self.status = Some(S::Accepted);
            }
            (K::Withdrawn { reason }, Some(S::Received | S::Accepted | S::Suspended)) => {
                self.reason = Some(reason.clone());
                self.status = Some(S::Withdrawn);
            }
            (K::Rated { satisfied }, Some(S::Answered)) => {
                if self.satisfied.is_some() {
                    return Err(ItemError::AlreadyRated);
                }
                self.satisfied = Some(*satisfied);
            }
            _ => return Err(illegal()),
        }
        self.last_event_at = Some(e.at);
        self.event_count += 1;
        Ok(())
    }

    fn decided(&mut self, at: DateTime<Utc>, due: Option<DateTime<Utc>>) {
        self.decided_at = Some(at);
        self.decide_late = due.map(|d| at > d);
    }

    /// Replays a log.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a ItemEvent>, cal: &Calendar) -> Result<Self, ItemError> {
        let mut item = Self::default();
        for e in events {
            item.apply(e, cal)?;
        }
        Ok(item)
    }
}

/// Applies an event in `domain`: checks the agencies it names and counts on the calendar of
/// the agency responsible at receipt (its office hours give the closing time).
pub fn apply(domain: &Domain, item: &mut Item, e: &ItemEvent) -> Result<(), ItemError> {
    let agency = match (item_first_agency(item), &e.kind) {
        (Some(a), _) => a,
        (None, ItemEventKind::Filed { intake }) => intake.agency.clone(),
        (None, _) => return Err(ItemError::NotFiled),
    };
    let check = |a: &AgencyCode| domain.agency(a).map_err(|_| ItemError::UnknownAgency(a.clone()));
    check(&agency)?;
    if let ItemEventKind::Transferred { to, .. } = &e.kind {
        check(to)?;
    }
    item.apply(e, domain.calendar_for(&agency))
}

/// The agency an item was filed with (its calendar is the item's for life).
fn item_first_agency(item: &Item) -> Option<AgencyCode> {
    item.filed_agency.clone()
}

/// Replays an item's log in `domain`.
pub fn replay<'a>(domain: &Domain, events: impl IntoIterator<Item = &'a ItemEvent>) -> Result<Item, ItemError> {
    let mut item = Item::default();
    for e in events {
        apply(domain, &mut item, e)?;
    }
    Ok(item)
}

/// Where an item about a dossier goes: the agency the dossier's lateness was attributed to
/// (the largest overrun first), else the dossier's lead agency (DOMAIN.md §6).
pub fn route_for_dossier(domain: &Domain, d: &Dossier, as_of: DateTime<Utc>) -> Option<AgencyCode> {
    let procedure = domain.procedure(d.procedure.as_ref()?).ok()?;
    let receiving = d.receiving_agency.as_ref()?;
    let attributed = analyse(d, procedure, domain.calendar_for(receiving), as_of, domain.classify)
        .ok()
        .and_then(|a| a.attribution.first().map(|x| x.agency.clone()));
    Some(attributed.unwrap_or_else(|| domain.lead_agency(procedure, receiving)))
}

/// Whether an open item is past its next step's due instant at `t`.
pub fn overdue(next_due: Option<DateTime<Utc>>, t: DateTime<Utc>) -> bool {
    next_due.is_some_and(|d| t > d)
}

/// What the report needs of one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemFacts {
    pub kind: Kind,
    pub status: ItemStatus,
    pub accepted: bool,
    pub resolve_late: Option<bool>,
    pub satisfied: Option<bool>,
}

impl From<&Item> for Option<ItemFacts> {
    fn from(i: &Item) -> Self {
        Some(ItemFacts {
            kind: i.kind?,
            status: i.status?,
            accepted: i.was_accepted(),
            resolve_late: i.resolve_late,
            satisfied: i.satisfied,
        })
    }
}

/// One row of the district's report (integer counts; rates computed when shown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Tally {
    pub received: u64,
    pub petitions: u64,
    pub complaints: u64,
    pub denunciations: u64,
    /// Accepted within competence (thụ lý), whatever came after.
    pub accepted: u64,
    pub refused: u64,
    pub forwarded: u64,
    pub guided: u64,
    pub archived: u64,
    pub withdrawn: u64,
    pub terminated: u64,
    pub resolved_on_time: u64,
    pub resolved_late: u64,
    /// Still owing a step (received, accepted or suspended).
    pub open: u64,
    pub not_satisfied: u64,
}

impl Tally {
    pub fn add(&mut self, f: &ItemFacts) {
        self.received += 1;
        match f.kind {
            Kind::Petition => self.petitions += 1,
            Kind::Complaint => self.complaints += 1,
            Kind::Denunciation => self.denunciations += 1,
        }
        if f.accepted {
            self.accepted += 1;
        }
        match f.status {
            ItemStatus::Received | ItemStatus::Accepted | ItemStatus::Suspended => self.open += 1,
            ItemStatus::Answered => {
                if f.resolve_late == Some(true) {
                    self.resolved_late += 1;
                } else {
                    self.resolved_on_time += 1;
                }
            }
            ItemStatus::Refused => self.refused += 1,
            ItemStatus::Forwarded => self.forwarded += 1,
            ItemStatus::Guided => self.guided += 1,
            ItemStatus::Archived => self.archived += 1,
            ItemStatus::Withdrawn => self.withdrawn += 1,
            ItemStatus::Terminated => self.terminated += 1,
        }
        if f.satisfied == Some(false) {
            self.not_satisfied += 1;
        }
    }

    pub fn resolved(&self) -> u64 {
        self.resolved_on_time + self.resolved_late
    }

    /// Resolved ÷ accepted within competence ("tỷ lệ giải quyết" on the accepted basis).
    pub fn rate_of_accepted(&self) -> Ratio {
        Ratio::new(self.resolved(), self.accepted)
    }

    /// (Resolved + forwarded + guided) ÷ received: forwarding and guiding counted as handled.
    pub fn rate_of_received(&self) -> Ratio {
        Ratio::new(self.resolved() + self.forwarded + self.guided, self.received)
    }
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.received += o.received;
        self.petitions += o.petitions;
        self.complaints += o.complaints;
        self.denunciations += o.denunciations;
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.forwarded += o.forwarded;
        self.guided += o.guided;
        self.archived += o.archived;
        self.withdrawn += o.withdrawn;
        self.terminated += o.terminated;
        self.resolved_on_time += o.resolved_on_time;
        self.resolved_late += o.resolved_late;
        self.open += o.open;
        self.not_satisfied += o.not_satisfied;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarData, OfficeHours};
    use chrono::{NaiveDateTime, TimeZone};

    fn cal() -> Calendar {
        let mut years = Vec::new();
        for y in 2025..=2027 {
            let path = format!("{}/../../config/calendars/vn/{y}.toml", env!("CARGO_MANIFEST_DIR"));
            let text = std::fs::read_to_string(&path).expect("calendar file");
            years.push(CalendarData::parse_year(&path, &text).expect("calendar"));
        }
        Calendar::new(&CalendarData::new(years).expect("data"), OfficeHours::standard())
    }

    fn vn(s: &str) -> DateTime<Utc> {
        let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").expect("instant");
        crate::calendar::vn_offset().from_local_datetime(&t).single().expect("local").with_timezone(&Utc)
    }

    fn filed(kind: Kind, at: &str) -> ItemEvent {
        ItemEvent::new(
            vn(at),
            Some("desk".into()),
            ItemEventKind::Filed {
                intake: ItemIntake {
                    code: ItemCode::new(kind, vn(at).date_naive(), 1),
                    kind,
                    agency: "000.41.00.H17".parse().expect("agency"),
                    applicant: Applicant { name: "Nguyễn Văn Bình".into(), ..Applicant::default() },
                    text: "Hồ sơ trễ hạn".into(),
                    dossier: None,
                    channel: ItemChannel::InPerson,
                    answer_limit: None,
                },
            },
        )
    }

    fn ev(at: &str, kind: ItemEventKind) -> ItemEvent {
        ItemEvent::new(vn(at), Some("officer".into()), kind)
    }

    #[test]
    fn a_first_complaint_is_accepted_within_ten_days_before_law_136_and_seven_working_days_after() {
        let cal = cal();
        // Before: received Mon 15/6/2026 → 10 calendar days → Thu 25/6/2026, closing.
        let before = Item::replay([&filed(Kind::Complaint, "2026-06-15 09:00")], &cal).expect("item");
        assert_eq!(before.rules, Some(RuleSet::Laws2011));
        assert_eq!(before.decide_due_at, Some(vn("2026-06-25 17:00")));
        // After: received Wed 1/7/2026 → 7 working days → Fri 10/7/2026.
        let after = Item::replay([&filed(Kind::Complaint, "2026-07-01 09:00")], &cal).expect("item");
        assert_eq!(after.rules, Some(RuleSet::Law136));
        assert_eq!(after.decide_due_at, Some(vn("2026-07-10 17:00")));
    }

    #[test]
    fn a_calendar_period_ending_on_a_day_off_ends_on_the_next_working_day() {
        let cal = cal();
        // Received Wed 10/6/2026: 10 days → Sat 20/6/2026 → Mon 22/6/2026 (Civil Code Art. 148).
        let item = Item::replay([&filed(Kind::Complaint, "2026-06-10 10:00")], &cal).expect("item");
        assert_eq!(item.decide_due_at, Some(vn("2026-06-22 17:00")));
        // Resolution: accepted Fri 21/8/2026, 30 days → Sun 20/9/2026 → Mon 21/9/2026. And
        // Mon 31/8–Wed 2/9 are days off: 10 days from Sat 22/8 … not used here.
        let mut item = Item::replay([&filed(Kind::Complaint, "2026-08-14 10:00")], &cal).expect("item");
        item.apply(
            &ev("2026-08-21 10:00", ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
            &cal,
        )
        .expect("accept");
        assert_eq!(item.resolve_due_at, Some(vn("2026-09-21 17:00")));
        assert_eq!(item.next_step(), Some((NextStep::Resolve, vn("2026-09-21 17:00"))));
    }

    #[test]
    fn working_days_skip_the_national_day_holidays() {
        let cal = cal();
        // A denunciation received Fri 28/8/2026: 7 working days skip Mon 31/8, Tue 1/9, Wed 2/9
        // → Thu 3/9 (1), Fri 4/9 (2), Mon 7/9 (3) … Fri 11/9 (7).
        let mut item = Item::replay([&filed(Kind::Denunciation, "2026-08-28 15:00")], &cal).expect("item");
        assert_eq!(item.decide_due_at, Some(vn("2026-09-11 17:00")));
        assert_eq!(item.forward_due_at, Some(vn("2026-09-09 17:00")));
        item.apply(
            &ev("2026-09-01 08:00", ItemEventKind::Extended { reason: "nhiều địa điểm".into(), complexity: None }),
            &cal,
        )
        .expect("extend");
        assert_eq!(item.decide_due_at, Some(vn("2026-09-16 17:00")));
        let again = item.clone().apply(
            &ev("2026-09-02 08:00", ItemEventKind::Extended { reason: "lần nữa".into(), complexity: None }),
            &cal,
        );
        assert!(matches!(again, Err(ItemError::NoExtension(_))));
    }

    #[test]
    fn a_complaint_found_complex_gets_45_days_and_remote_complex_60() {
        let cal = cal();
        let mut item = Item::replay([&filed(Kind::Complaint, "2026-03-02 09:00")], &cal).expect("item");
        item.apply(
            &ev("2026-03-05 09:00", ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
            &cal,
        )
        .expect("accept");
        // Thu 5/3 + 30 = Sat 4/4 → Mon 6/4.
        assert_eq!(item.resolve_due_at, Some(vn("2026-04-06 17:00")));
        item.apply(
            &ev("2026-03-20 09:00", ItemEventKind::Extended { reason: "phức tạp".into(), complexity: None }),
            &cal,
        )
        .expect("extend");
        // 5/3 + 45 = Sun 19/4 → Mon 20/4.
        assert_eq!(item.resolve_due_at, Some(vn("2026-04-20 17:00")));
        assert_eq!(item.complexity, Complexity::Complex);
        assert!(
            item.clone()
                .apply(&ev("2026-03-21 09:00", ItemEventKind::Extended { reason: "x".into(), complexity: None }), &cal)
                .is_err()
        );
        let rules = Rules::new(RuleSet::Laws2011, Kind::Complaint);
        assert_eq!(rules.resolve(Complexity::Complex, true, None).limit, TimeLimit::CalendarDays(60));
        assert_eq!(rules.resolve(Complexity::Ordinary, true, None).limit, TimeLimit::CalendarDays(45));
    }

    #[test]
    fn a_denunciation_is_extended_once_if_complex_twice_if_especially_complex() {
        let cal = cal();
        let mut item = Item::replay([&filed(Kind::Denunciation, "2026-03-02 09:00")], &cal).expect("item");
        item.apply(
            &ev("2026-03-09 09:00", ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
            &cal,
        )
        .expect("accept");
        // Mon 9/3 + 30 = Wed 8/4.
        assert_eq!(item.resolve_due_at, Some(vn("2026-04-08 17:00")));
        let ordinary = item
            .clone()
            .apply(&ev("2026-03-10 09:00", ItemEventKind::Extended { reason: "x".into(), complexity: None }), &cal);
        assert!(matches!(ordinary, Err(ItemError::NoExtension(_))));
        let x = |c| ItemEventKind::Extended { reason: "phức tạp".into(), complexity: Some(c) };
        item.apply(&ev("2026-03-10 09:00", x(Complexity::EspeciallyComplex)), &cal).expect("first");
        // 8/4 + 30 = Fri 8/5.
        assert_eq!(item.resolve_due_at, Some(vn("2026-05-08 17:00")));
        item.apply(&ev("2026-03-11 09:00", x(Complexity::EspeciallyComplex)), &cal).expect("second");
        // 8/5 + 30 = Sun 7/6 → Mon 8/6.
        assert_eq!(item.resolve_due_at, Some(vn("2026-06-08 17:00")));
        assert!(item.clone().apply(&ev("2026-03-12 09:00", x(Complexity::EspeciallyComplex)), &cal).is_err());
    }

    #[test]
    fn a_petition_is_answered_within_the_agency_limit_from_receipt_and_late_is_late() {
        let cal = cal();
        let mut item = Item::replay([&filed(Kind::Petition, "2026-03-02 09:00")], &cal).expect("item");
        assert_eq!(item.decide_due_at, Some(vn("2026-03-09 17:00")));
        item.apply(
            &ev("2026-03-10 09:00", ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
            &cal,
        )
        .expect("accept");
        assert_eq!(item.decide_late, Some(true));
        // From receipt Mon 2/3: 10 working days → Mon 16/3.
        assert_eq!(item.resolve_due_at, Some(vn("2026-03-16 17:00")));
        let mut on_time = item.clone();
        on_time
            .apply(&ev("2026-03-16 16:59", ItemEventKind::Answered { text: "Đã xử lý".into() }), &cal)
            .expect("answer");
        assert_eq!(on_time.resolve_late, Some(false));
        item.apply(&ev("2026-03-17 08:00", ItemEventKind::Answered { text: "Đã xử lý".into() }), &cal).expect("answer");
        assert_eq!(item.resolve_late, Some(true));
        assert_eq!(item.status, Some(ItemStatus::Answered));
        item.apply(&ev("2026-03-18 08:00", ItemEventKind::Rated { satisfied: false }), &cal).expect("rate");
        assert_eq!(
            item.clone().apply(&ev("2026-03-18 09:00", ItemEventKind::Rated { satisfied: true }), &cal),
            Err(ItemError::AlreadyRated)
        );
    }

    #[test]
    fn the_agency_answer_limit_is_kept_from_receipt() {
        let cal = cal();
        let mut f = filed(Kind::Petition, "2026-03-02 09:00");
        if let ItemEventKind::Filed { intake } = &mut f.kind {
            intake.answer_limit = Some(TimeLimit::CalendarDays(15));
        }
        let mut item = Item::replay([&f], &cal).expect("item");
        item.apply(
            &ev("2026-03-03 09:00", ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
            &cal,
        )
        .expect("accept");
        // 2/3 + 15 = Tue 17/3.
        assert_eq!(item.resolve_due_at, Some(vn("2026-03-17 17:00")));
    }

    #[test]
    fn outcomes_outside_competence_and_illegal_steps() {
        let cal = cal();
        let item = Item::replay([&filed(Kind::Denunciation, "2026-03-02 09:00")], &cal).expect("item");
        let mut fwd = item.clone();
        fwd.apply(
            &ev(
                "2026-03-10 09:00",
                ItemEventKind::Forwarded { to: "Công an thành phố".into(), reason: "ngoài thẩm quyền".into() },
            ),
            &cal,
        )
        .expect("forward");
        // 5 working days from Mon 2/3 → Mon 9/3: forwarded on 10/3 is late.
        assert_eq!((fwd.status, fwd.decide_late), (Some(ItemStatus::Forwarded), Some(true)));
        assert_eq!(fwd.next_step(), None);
        let answered_early =
            item.clone().apply(&ev("2026-03-03 09:00", ItemEventKind::Answered { text: "x".into() }), &cal);
        assert!(matches!(answered_early, Err(ItemError::IllegalTransition { .. })));
        let before = item.clone().apply(&ev("2026-03-01 09:00", ItemEventKind::Archived { reason: "x".into() }), &cal);
        assert!(matches!(before, Err(ItemError::BeforeLastEvent { .. })));
        let mut s = item.clone();
        s.apply(
            &ev("2026-03-03 09:00", ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
            &cal,
        )
        .expect("accept");
        let due = s.resolve_due_at.expect("due");
        s.apply(&ev("2026-03-04 09:00", ItemEventKind::Suspended { reason: "chờ giám định".into() }), &cal)
            .expect("suspend");
        assert_eq!(s.next_step(), None);
        s.apply(&ev("2026-03-14 09:00", ItemEventKind::Resumed), &cal).expect("resume");
        assert!(s.resolve_due_at.expect("due") >= due + Duration::days(10));
    }

    #[test]
    fn codes_parse_and_round_trip() {
        let c = ItemCode::new(Kind::Complaint, NaiveDate::from_ymd_opt(2026, 7, 15).expect("date"), 3);
        assert_eq!(c.as_str(), "KN-260715-0003");
        assert_eq!(c.as_str().parse::<ItemCode>().expect("parse"), c);
        assert_eq!(c.kind(), Some(Kind::Complaint));
        for bad in ["KN-260715-03", "XX-260715-0003", "KN-261315-0003", "KN-260715-0003-1", ""] {
            assert!(bad.parse::<ItemCode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_da_nang_table_counts_both_rates() {
        let mut t = Tally::default();
        let f =
            |kind, status, accepted, late| ItemFacts { kind, status, accepted, resolve_late: late, satisfied: None };
        for i in 0..1359u32 {
            let kind = if i < 8 {
                Kind::Complaint
            } else if i < 10 {
                Kind::Denunciation
            } else {
                Kind::Petition
            };
            let facts = match i {
                0..1080 => f(kind, ItemStatus::Answered, true, Some(false)),
                1080..1082 => f(kind, ItemStatus::Answered, true, Some(true)),
                1082..1084 => f(kind, ItemStatus::Accepted, true, None),
                1084..1294 => f(kind, ItemStatus::Forwarded, false, None),
                _ => f(kind, ItemStatus::Guided, false, None),
            };
            t.add(&facts);
        }
        assert_eq!((t.received, t.complaints, t.denunciations, t.petitions), (1359, 8, 2, 1349));
        assert_eq!((t.accepted, t.resolved(), t.open), (1084, 1082, 2));
        assert_eq!(t.rate_of_accepted().percent(1.0), "99.82 %");
        assert_eq!(t.rate_of_received().percent(1.0), "99.85 %");
    }
}
