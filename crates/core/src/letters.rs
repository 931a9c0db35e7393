//! The messages a dossier owes people (DOMAIN.md §6–§8), as data: who gets what, when, and
//! what goes in it. Rendering (templates, e-mail, print) happens at the edges.
//!
//! Two sources of messages:
//! - **implied by an event** ([`implied_messages`]): the receipt confirmation of an online
//!   dossier, the apology letter on a reschedule (and, for the scheduler's automatic apology,
//!   the escalation to the responsible agency's head), the notice that the result is ready, the
//!   apology enclosed with a late result that had none, and the early warning when a move leaves
//!   the dossier at risk. The store writes them in the same transaction as the event.
//! - **due at an instant** ([`reminder_messages`], [`automatic_apology`]): the reminder when an
//!   open dossier enters its last working day, and the automatic apology at the due instant. The
//!   worker's scheduler asks for the bounds ([`reminder_horizon`]) and the candidates.
//!
//! Each message has a dedupe key `kind:dossier:revision:recipient` ([`MessageIntent::dedupe_key`]),
//! so writing it twice adds nothing. A citizen with no e-mail address gets the letter printed at
//! the receiving desk ([`Recipient::Desk`]).
//!
//! Why the at-risk warning can ride on events: with core's rule (remaining working time below
//! what the rest of the route needs, minus the time the holder has already spent), both sides
//! move by the same working time while nobody acts, so the answer only changes when an event
//! changes the holder, the due date or the route step.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::analysis::{RemainingTimeModel, analyse, at_risk};
use crate::calendar::{CalendarError, to_local};
use crate::catalog::{Agency, Procedure};
use crate::codes::{AgencyCode, DossierCode, Email};
use crate::deadlines::STANDARD_DAY_MINUTES;
use crate::domain::{Domain, DomainError};
use crate::dossier::{Channel, Dossier, Event, EventKind, Outcome, Status};

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Confirmation to the citizen that an online dossier was received, with its due date.
    Receipt,
    /// The result is ready to collect (status 9).
    ResultReady,
    /// Apology with a new appointment date (Mẫu 04).
    Apology,
    /// The apology owed for a late finish that had none, enclosed with the result.
    ApologyWithResult,
    /// The dossier entered its last working day: resolve or reschedule.
    Reminder,
    /// The dossier is at risk of being late.
    AtRisk,
    /// Overdue with no apology: the head of the responsible agency is told.
    Escalation,
    /// The citizen is asked for papers (Mẫu 02's content): what, why, and that the clock is
    /// stopped until they are supplied.
    SupplementRequest,
    /// One message to an officer's (or head's) address listing the day's notices about every
    /// dossier ([`Digest`]): the at-risk warnings and last-day reminders gathered into it.
    Digest,
}

impl MessageKind {
    pub const ALL: [Self; 9] = [
        Self::Receipt,
        Self::ResultReady,
        Self::Apology,
        Self::ApologyWithResult,
        Self::Reminder,
        Self::AtRisk,
        Self::Escalation,
        Self::SupplementRequest,
        Self::Digest,
    ];

    /// The kinds a daily digest gathers when the worker is set to digests (`[digest] at_risk =
    /// "daily"`): the notices to an officer about a dossier's time, never a citizen's letter.
    pub const DIGESTED: [Self; 2] = [Self::AtRisk, Self::Reminder];

    /// Notices to staff (officers, heads): the messages the per-recipient daily cap bounds.
    pub const STAFF_NOTICES: [Self; 4] = [Self::AtRisk, Self::Reminder, Self::Escalation, Self::Digest];

    /// The stable name, as stored in the outbox and used for template file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::ResultReady => "result_ready",
            Self::Apology => "apology",
            Self::ApologyWithResult => "apology_with_result",
            Self::Reminder => "reminder",
            Self::AtRisk => "at_risk",
            Self::Escalation => "escalation",
            Self::SupplementRequest => "supplement_request",
            Self::Digest => "digest",
        }
    }

    /// A notice to staff (see [`Self::STAFF_NOTICES`]).
    pub fn is_staff_notice(self) -> bool {
        Self::STAFF_NOTICES.contains(&self)
    }

    /// An apology letter (with or without a new date): the letters a citizen is owed.
    pub fn is_apology(self) -> bool {
        matches!(self, Self::Apology | Self::ApologyWithResult)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for MessageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| format!("unknown message kind {s:?}"))
    }
}

/// Who a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    Citizen,
    /// The officers of an agency (its `email`).
    Officers,
    /// The head of an agency (its `head_email`).
    Head,
}

/// Where a message goes: an e-mail address, or the print queue of a desk.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recipient {
    Email(Email),
    /// No e-mail address: printed at this (receiving) agency's desk and handed over.
    Desk(AgencyCode),
}

impl Recipient {
    const DESK: &'static str = "desk:";
}

impl fmt::Display for Recipient {
    /// `name@domain` or `desk:<agency code>`, as stored in the outbox.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email(e) => f.write_str(e.as_str()),
            Self::Desk(a) => write!(f, "{}{a}", Self::DESK),
        }
    }
}

impl FromStr for Recipient {
    type Err = crate::codes::ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.strip_prefix(Self::DESK) {
            Some(agency) => Ok(Self::Desk(agency.parse()?)),
            None => Ok(Self::Email(s.parse()?)),
        }
    }
}

/// Which legal form an apology letter follows, by the dossier's receipt date (DOMAIN.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LetterForm {
    /// Decree 61/2018, Circular 01/2018/TT-VPCP, Mẫu 04 (received until 30/6/2025).
    Circular01of2018,
    /// Decree 118/2025, Circular 03/2025/TT-VPCP, Mẫu 04 (received from 1/7/2025): the letter
    /// also requests the extension.
    Circular03of2025,
}

/// The day the 2025 rule set took effect.
pub fn rules_2025() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or(NaiveDate::MIN)
}

impl LetterForm {
    /// The form for a dossier received at `received_at`.
    pub fn for_receipt(received_at: DateTime<Utc>) -> Self {
        if to_local(received_at).date() < rules_2025() { Self::Circular01of2018 } else { Self::Circular03of2025 }
    }

    pub fn title_vi(self) -> &'static str {
        match self {
            Self::Circular01of2018 => "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
            Self::Circular03of2025 => "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết",
        }
    }

    pub fn title_en(self) -> &'static str {
        match self {
            Self::Circular01of2018 => "Apology and new appointment for the result",
            Self::Circular03of2025 => "Apology and request to extend the processing time",
        }
    }

    pub fn reference_vi(self) -> &'static str {
        match self {
            Self::Circular01of2018 => "Mẫu số 04, Thông tư số 01/2018/TT-VPCP",
            Self::Circular03of2025 => "Mẫu số 04, Thông tư số 03/2025/TT-VPCP",
        }
    }
}

/// An agency as a letter names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyFacts {
    pub code: AgencyCode,
    pub name: String,
    pub name_en: String,
    pub address: String,
    /// The place in "Đà Nẵng, ngày … tháng … năm …".
    pub place: String,
    pub head_title: String,
    pub head_name: String,
}

impl AgencyFacts {
    pub fn of(a: &Agency) -> Self {
        Self {
            code: a.code.clone(),
            name: a.name.clone(),
            name_en: a.name_en.clone(),
            address: a.address.clone(),
            place: place_of(&a.address),
            head_title: a.head_title.clone(),
            head_name: a.head_name.clone(),
        }
    }

    /// An agency the catalog does not know (a log imported with another catalog).
    pub(crate) fn unknown(code: &AgencyCode) -> Self {
        Self {
            code: code.clone(),
            name: code.to_string(),
            name_en: code.to_string(),
            address: String::new(),
            place: String::new(),
            head_title: String::new(),
            head_name: String::new(),
        }
    }
}

/// "Đà Nẵng" from "24 Trần Phú, phường Hải Châu, thành phố Đà Nẵng".
fn place_of(address: &str) -> String {
    let last = address.rsplit(',').next().unwrap_or("").trim();
    let lower = last.to_lowercase();
    for prefix in ["thành phố ", "tỉnh ", "tp. ", "tp "] {
        if lower.starts_with(prefix) {
            // The prefixes are ASCII-cased in their first letters only: cut by char count.
            return last.chars().skip(prefix.chars().count()).collect::<String>().trim().to_string();
        }
    }
    last.to_string()
}

/// A dossier as a message describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DossierFacts {
    pub code: DossierCode,
    pub procedure: String,
    pub procedure_name: String,
    pub procedure_name_en: String,
    pub channel: Channel,
    pub status: Option<Status>,
    pub applicant_name: String,
    pub applicant_address: Option<String>,
    pub applicant_phone: Option<String>,
    pub applicant_email: Option<String>,
    pub received_at: Option<DateTime<Utc>>,
    /// The receipt's appointment.
    pub original_due_at: Option<DateTime<Utc>>,
    /// The due instant used for classification.
    pub due_at: Option<DateTime<Utc>>,
    /// The new appointment of the last apology, if any.
    pub new_due_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub holder: Option<AgencyFacts>,
}

/// The apology's own fields (Mẫu 04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApologyFacts {
    /// Letter number, `<dossier code>/PXL` (`-2`, … for a later one).
    pub number: String,
    pub form: LetterForm,
    pub title_vi: String,
    pub title_en: String,
    pub reference: String,
    /// From 1/7/2025 the letter also requests the extension.
    pub requests_extension: bool,
    pub reason: String,
    pub reason_en: Option<String>,
    /// The unit responsible for the delay, on whose behalf the letter is issued.
    pub responsible: AgencyFacts,
    /// Issued by the scheduler on the agency's behalf.
    pub automatic: bool,
    /// Issued after the due instant had passed.
    pub after_due: bool,
    /// "on_time": at the latest one working day before the due date (DOMAIN.md §7); else "late".
    pub timeliness: ApologyTimeliness,
    /// Enclosed with the result (the dossier finished late with no apology).
    pub with_result: bool,
    /// Working minutes past due at issue (0 when issued before the due instant).
    pub late_working_minutes: i64,
}

/// Whether an apology letter reached the citizen in time: at the latest one working day before
/// the due date (DOMAIN.md §7), or late (at or after it, including the automatic letter issued at
/// the due instant).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApologyTimeliness {
    OnTime,
    Late,
}

impl ApologyTimeliness {
    pub const ALL: [Self; 2] = [Self::OnTime, Self::Late];

    pub fn name(self) -> &'static str {
        match self {
            Self::OnTime => "on_time",
            Self::Late => "late",
        }
    }
}

/// What became of one attempt to send a message by e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailResult {
    /// Accepted by the mail backend.
    Sent,
    /// Failed; the outbox row will be retried.
    Failed,
    /// Failed for the last time; the outbox row is parked as dead.
    Dead,
}

impl EmailResult {
    pub const ALL: [Self; 3] = [Self::Sent, Self::Failed, Self::Dead];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Dead => "dead",
        }
    }
}

/// What a template needs to write one message.
///
/// Stored as JSON in the outbox. The desk and the addressee are usually the agency holding
/// the dossier: the stored form leaves out either one that equals `dossier.holder`, and
/// reading fills it back in (a letter written in full reads the same).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "StoredLetter<DossierFacts, AgencyFacts, ApologyFacts, SupplementFacts>")]
pub struct Letter {
    pub kind: MessageKind,
    pub audience: Audience,
    /// When the message was issued (the event's instant, or the scheduler's now).
    pub issued_at: DateTime<Utc>,
    pub dossier: DossierFacts,
    /// The receiving agency: its desk hands the result (and a printed letter) over.
    pub desk: AgencyFacts,
    /// The agency the message is addressed to or sent on behalf of.
    pub agency: AgencyFacts,
    pub apology: Option<ApologyFacts>,
    /// Working minutes left until due (reminders and at-risk warnings).
    pub remaining_working_minutes: Option<i64>,
    /// The recipient is the desk: print the letter and hand it to the citizen.
    pub print_at_desk: bool,
    /// What a supplement request asks for (kind `supplement_request`).
    pub supplement: Option<SupplementFacts>,
}

/// What the citizen is asked to supply, and why (the content of Mẫu 02 a message carries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplementFacts {
    /// When it was asked.
    pub requested_at: DateTime<Utc>,
    /// Why, as the officer wrote it.
    pub reason: String,
    /// The papers asked for (may be empty: the reason then says what is missing).
    #[serde(default)]
    pub documents: Vec<String>,
    /// The procedure's rule for the stopped clock: `true` when the full time limit runs again
    /// from the day the papers are supplied (restart), `false` when it resumes (pause).
    pub restarts: bool,
}

/// The supplement a dossier waits for: the last `supplement_requested` of its log, while its
/// status is still "supplement requested". `None` otherwise.
pub fn pending_supplement(domain: &Domain, d: &Dossier, events: &[Event]) -> Option<SupplementFacts> {
    if d.status != Some(Status::SupplementRequested) {
        return None;
    }
    let restarts = domain.procedure_of(d).ok().is_none_or(|p| p.supplement_mode == crate::catalog::WaitMode::Restart);
    events.iter().rev().find_map(|e| match &e.kind {
        EventKind::SupplementRequested { reason, documents, .. } => {
            Some(SupplementFacts { requested_at: e.at, reason: reason.clone(), documents: documents.clone(), restarts })
        }
        _ => None,
    })
}

/// [`Letter`] as stored: `desk` and `agency` are absent when they equal the holder.
#[derive(Serialize, Deserialize)]
struct StoredLetter<D, A, P, S> {
    kind: MessageKind,
    audience: Audience,
    issued_at: DateTime<Utc>,
    dossier: D,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    desk: Option<A>,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    agency: Option<A>,
    apology: Option<P>,
    remaining_working_minutes: Option<i64>,
    print_at_desk: bool,
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    supplement: Option<S>,
}

impl Serialize for Letter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        fn unless_holder<'a>(a: &'a AgencyFacts, holder: Option<&AgencyFacts>) -> Option<&'a AgencyFacts> {
            if holder == Some(a) { None } else { Some(a) }
        }
        let holder = self.dossier.holder.as_ref();
        StoredLetter {
            kind: self.kind,
            audience: self.audience,
            issued_at: self.issued_at,
            dossier: &self.dossier,
            desk: unless_holder(&self.desk, holder),
            agency: unless_holder(&self.agency, holder),
            apology: self.apology.as_ref(),
            remaining_working_minutes: self.remaining_working_minutes,
            print_at_desk: self.print_at_desk,
            supplement: self.supplement.as_ref(),
        }
        .serialize(serializer)
    }
}

impl TryFrom<StoredLetter<DossierFacts, AgencyFacts, ApologyFacts, SupplementFacts>> for Letter {
    type Error = String;

    fn try_from(s: StoredLetter<DossierFacts, AgencyFacts, ApologyFacts, SupplementFacts>) -> Result<Self, String> {
        let or_holder = |a: Option<AgencyFacts>, what: &str| {
            a.or_else(|| s.dossier.holder.clone())
                .ok_or_else(|| format!("a letter without {what} names no holder to take it from"))
        };
        Ok(Self {
            desk: or_holder(s.desk, "desk")?,
            agency: or_holder(s.agency, "agency")?,
            kind: s.kind,
            audience: s.audience,
            issued_at: s.issued_at,
            dossier: s.dossier,
            apology: s.apology,
            remaining_working_minutes: s.remaining_working_minutes,
            print_at_desk: s.print_at_desk,
            supplement: s.supplement,
        })
    }
}

/// Puts back into a letter read as plain JSON (templates read it so) the `desk` and `agency`
/// its stored form leaves out because they are `dossier.holder`.
pub fn fill_in_holder(letter: &mut serde_json::Map<String, serde_json::Value>) {
    let holder = letter.get("dossier").and_then(|d| d.get("holder")).filter(|h| !h.is_null()).cloned();
    if let Some(holder) = holder {
        for field in ["desk", "agency"] {
            if letter.get(field).is_none_or(serde_json::Value::is_null) {
                letter.insert(field.to_string(), holder.clone());
            }
        }
    }
}

/// One message to write to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageIntent {
    pub kind: MessageKind,
    pub code: DossierCode,
    /// The dossier's deadline revision when the message was decided.
    pub deadline_revision: u32,
    /// The part of the dedupe key after the dossier: the deadline revision, and for apologies
    /// which one (`0.1`, `0.2` for a second new date).
    pub revision_key: String,
    pub recipient: Recipient,
    /// Not to be sent before this instant.
    pub at: DateTime<Utc>,
    pub letter: Letter,
}

impl MessageIntent {
    /// `kind:dossier:revision:recipient`: unique in the outbox, so a rerun adds nothing.
    pub fn dedupe_key(&self) -> String {
        format!("{}:{}:{}:{}", self.kind.name(), self.code, self.revision_key, self.recipient)
    }

    /// The payload stored with the row: the letter as JSON.
    pub fn payload(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.letter)
    }
}

/// One dossier in a [`Digest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestEntry {
    pub code: DossierCode,
    pub procedure_name: String,
    pub procedure_name_en: String,
    /// The agency holding the dossier when the (latest) notice was decided.
    pub holder: Option<String>,
    pub holder_en: Option<String>,
    pub due_at: Option<DateTime<Utc>>,
    /// Working minutes from the digest's issue to the due instant (negative once past it).
    pub remaining_working_minutes: Option<i64>,
    /// What the gathered notices said (at risk, last working day, escalated), each once.
    pub kinds: Vec<MessageKind>,
}

/// The day's notices to one staff address, as one message (kind `digest`): every dossier the
/// at-risk warnings and last-day reminders gathered into it were about, with its due date and
/// the working time left. Its dedupe key is `digest:<recipient>:<local date>`
/// ([`Digest::dedupe_key`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub kind: MessageKind,
    pub recipient: String,
    /// The local day (+07:00) it is the digest of.
    pub date: NaiveDate,
    pub issued_at: DateTime<Utc>,
    pub audience: Audience,
    /// The agency the address belongs to (the addressee of the gathered notices).
    pub agency: AgencyFacts,
    /// One per dossier, soonest due first.
    pub entries: Vec<DigestEntry>,
    /// Notices gathered (several may be about one dossier).
    pub notices: usize,
}

impl Digest {
    /// `digest:<recipient>:<YYYY-MM-DD>`: one digest per address and local day.
    pub fn dedupe_key(recipient: &str, date: NaiveDate) -> String {
        format!("{}:{recipient}:{date}", MessageKind::Digest.name())
    }

    /// Gathers `letters` (the notices' payloads, in the order they were decided) into the
    /// digest of `recipient` for `date`, issued at `issued_at`. `None` with no letter.
    pub fn gather(
        domain: &Domain,
        recipient: &str,
        date: NaiveDate,
        issued_at: DateTime<Utc>,
        letters: &[Letter],
    ) -> Option<Self> {
        let first = letters.first()?;
        let mut entries: Vec<DigestEntry> = Vec::new();
        for l in letters {
            let cal = domain.calendar_for(&l.desk.code);
            let remaining = l.dossier.due_at.and_then(|due| cal.working_minutes_between(issued_at, due).ok());
            let holder = l.dossier.holder.as_ref();
            match entries.iter_mut().find(|e| e.code == l.dossier.code) {
                Some(e) => {
                    if !e.kinds.contains(&l.kind) {
                        e.kinds.push(l.kind);
                        e.kinds.sort();
                    }
                    // The latest notice knows the latest due date and holder.
                    e.due_at = l.dossier.due_at;
                    e.remaining_working_minutes = remaining;
                    e.holder = holder.map(|h| h.name.clone());
                    e.holder_en = holder.map(|h| h.name_en.clone());
                }
                None => entries.push(DigestEntry {
                    code: l.dossier.code.clone(),
                    procedure_name: l.dossier.procedure_name.clone(),
                    procedure_name_en: l.dossier.procedure_name_en.clone(),
                    holder: holder.map(|h| h.name.clone()),
                    holder_en: holder.map(|h| h.name_en.clone()),
                    due_at: l.dossier.due_at,
                    remaining_working_minutes: remaining,
                    kinds: vec![l.kind],
                }),
            }
        }
        entries.sort_by(|a, b| {
            (a.due_at.is_none(), a.due_at, a.code.as_str()).cmp(&(b.due_at.is_none(), b.due_at, b.code.as_str()))
        });
        Some(Self {
            kind: MessageKind::Digest,
            recipient: recipient.to_string(),
            date,
            issued_at,
            audience: first.audience,
            agency: first.agency.clone(),
            entries,
            notices: letters.len(),
        })
    }
}

/// Whether a notice to staff (an at-risk warning, a last-day reminder) about a dossier now in
/// `status` still calls for action when its digest is written: the dossier is still in an
/// agency's hands. One finished, refused, withdrawn or stopped since the notice, or now waiting
/// for the citizen (its clock stopped), is left out of the digest.
pub fn notice_still_applies(status: crate::Status) -> bool {
    use crate::Status as S;
    matches!(status, S::RegisteredOnline | S::Received | S::Processing)
}

/// The instant of the digests of local day `date`: at `time` (+07:00) that day.
pub fn digest_instant(date: NaiveDate, time: chrono::NaiveTime) -> DateTime<Utc> {
    crate::calendar::from_local(date.and_time(time))
}

/// Why a message could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LetterError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("the dossier has no {0}")]
    Missing(&'static str),
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

struct Ctx<'a> {
    domain: &'a Domain,
    d: &'a Dossier,
    code: DossierCode,
    procedure: &'a Procedure,
    receiving: AgencyCode,
}

impl<'a> Ctx<'a> {
    fn new(domain: &'a Domain, d: &'a Dossier) -> Result<Self, LetterError> {
        let code = d.code.clone().ok_or(LetterError::Missing("code"))?;
        d.procedure.as_ref().ok_or(LetterError::Missing("procedure"))?;
        let procedure = domain.procedure_of(d)?;
        let receiving = d.receiving_agency.clone().ok_or(LetterError::Missing("receiving agency"))?;
        Ok(Self { domain, d, code, procedure, receiving })
    }

    fn agency(&self, code: &AgencyCode) -> AgencyFacts {
        self.domain.catalog.agency(code).map_or_else(|| AgencyFacts::unknown(code), AgencyFacts::of)
    }

    fn facts(&self) -> DossierFacts {
        let d = self.d;
        DossierFacts {
            code: self.code.clone(),
            procedure: self.procedure.code.to_string(),
            procedure_name: self.procedure.name.clone(),
            procedure_name_en: self.procedure.name_en.clone(),
            channel: d.channel,
            status: d.status,
            applicant_name: d.applicant.name.clone(),
            applicant_address: d.applicant.address.clone(),
            applicant_phone: d.applicant.phone.as_ref().map(ToString::to_string),
            applicant_email: d.applicant.email.as_ref().map(ToString::to_string),
            received_at: d.received_at,
            original_due_at: d.original_due_at,
            due_at: d.due_at,
            new_due_at: d.rescheduled_to(),
            finished_at: d.finished_at,
            outcome: d.outcome,
            holder: d.holder.as_ref().map(|h| self.agency(h)),
        }
    }

    fn letter(&self, kind: MessageKind, audience: Audience, at: DateTime<Utc>, agency: &AgencyCode) -> Letter {
        Letter {
            kind,
            audience,
            issued_at: at,
            dossier: self.facts(),
            desk: self.agency(&self.receiving),
            agency: self.agency(agency),
            apology: None,
            remaining_working_minutes: None,
            print_at_desk: false,
            supplement: None,
        }
    }

    fn intent(&self, letter: Letter, recipient: Recipient, revision_key: String) -> MessageIntent {
        let mut letter = letter;
        letter.print_at_desk = matches!(recipient, Recipient::Desk(_));
        MessageIntent {
            kind: letter.kind,
            code: self.code.clone(),
            deadline_revision: u32_of(self.d.deadline_revision()),
            revision_key,
            recipient,
            at: letter.issued_at,
            letter,
        }
    }

    fn revision(&self) -> String {
        self.d.deadline_revision().to_string()
    }

    /// The citizen's e-mail, or the receiving desk's print queue.
    fn citizen(&self) -> Recipient {
        match &self.d.applicant.email {
            Some(e) => Recipient::Email(e.clone()),
            None => Recipient::Desk(self.receiving.clone()),
        }
    }

    fn officers(&self, agency: &AgencyCode) -> Option<Recipient> {
        self.domain.catalog.agency(agency).and_then(|a| a.email.clone()).map(Recipient::Email)
    }

    fn head(&self, agency: &AgencyCode) -> Option<Recipient> {
        self.domain
            .catalog
            .agency(agency)
            .and_then(|a| a.head_email.clone().or_else(|| a.email.clone()))
            .map(Recipient::Email)
    }

    fn cal(&self) -> &crate::calendar::Calendar {
        self.domain.calendar_for(&self.receiving)
    }
}

/// Whether an apology issued at `at` for a dossier due at `due` came at the latest one working
/// day before the due date (DOMAIN.md §7).
pub fn apology_timeliness(
    domain: &Domain,
    receiving: &AgencyCode,
    at: DateTime<Utc>,
    due: DateTime<Utc>,
) -> Result<ApologyTimeliness, CalendarError> {
    let cal = domain.calendar_for(receiving);
    let left = cal.working_seconds_between(at, due)?;
    Ok(if left >= cal.hours().day_seconds() { ApologyTimeliness::OnTime } else { ApologyTimeliness::Late })
}

/// The apology letter for the `n`-th reschedule (1-based) of a dossier, or, with `n = 0`, the
/// letter owed with a late result that had none.
pub fn apology_letter(domain: &Domain, d: &Dossier, n: usize) -> Result<Letter, LetterError> {
    let ctx = Ctx::new(domain, d)?;
    apology_of(&ctx, n)
}

/// The apology letter a dossier owes for the desk to print (`motcua letter`): the one of its
/// latest reschedule, or, never rescheduled but finished after its due instant, the one enclosed
/// with the result; marked for printing when the citizen has no e-mail address. `Ok(None)` when
/// it owes none.
pub fn owed_apology(domain: &Domain, d: &Dossier) -> Result<Option<Letter>, LetterError> {
    let late_finish = d.finished_at.zip(d.due_at).is_some_and(|(f, due)| f > due);
    let n = match d.reschedules.len() {
        0 if late_finish => 0,
        0 => return Ok(None),
        n => n,
    };
    let mut letter = apology_letter(domain, d, n)?;
    letter.print_at_desk = d.applicant.email.is_none();
    Ok(Some(letter))
}

fn apology_of(ctx: &Ctx<'_>, n: usize) -> Result<Letter, LetterError> {
    let d = ctx.d;
    let due = d.due_at.ok_or(LetterError::Missing("due date"))?;
    let received = d.received_at.ok_or(LetterError::Missing("receipt"))?;
    let form = LetterForm::for_receipt(received);
    let cal = ctx.cal();
    let (at, reason, reason_en, responsible, automatic, with_result) = if n == 0 {
        let finished = d.finished_at.ok_or(LetterError::Missing("finish"))?;
        let responsible = responsible_agency(ctx, finished)?;
        let name = ctx.agency(&responsible).name;
        let name_en = ctx.agency(&responsible).name_en;
        (
            finished,
            format!("Hồ sơ được giải quyết sau thời hạn trả kết quả; đơn vị chậm giải quyết: {name}."),
            Some(format!("The dossier was resolved after its due date; the unit that was late: {name_en}.")),
            responsible,
            false,
            true,
        )
    } else {
        let r = d.reschedules.get(n - 1).ok_or(LetterError::Missing("such reschedule"))?;
        let responsible = r.responsible.clone().or_else(|| d.holder.clone()).unwrap_or_else(|| ctx.receiving.clone());
        let reason_en = r.automatic.then(|| "The dossier was not resolved by its appointment date.".to_string());
        (r.at, r.reason.clone(), reason_en, responsible, r.automatic, false)
    };
    let late = if at > due { cal.working_minutes_between(due, at)?.max(0) } else { 0 };
    let timeliness = apology_timeliness(ctx.domain, &ctx.receiving, at, due)?;
    let number = if n <= 1 { format!("{}/PXL", ctx.code) } else { format!("{}-{n}/PXL", ctx.code) };
    let kind = if with_result { MessageKind::ApologyWithResult } else { MessageKind::Apology };
    let mut letter = ctx.letter(kind, Audience::Citizen, at, &responsible);
    if n > 0 {
        // The letter shows the new date it announced, even if a later one followed.
        letter.dossier.new_due_at = d.reschedules.get(n - 1).map(|r| r.to);
    }
    letter.apology = Some(ApologyFacts {
        number,
        form,
        title_vi: form.title_vi().to_string(),
        title_en: form.title_en().to_string(),
        reference: form.reference_vi().to_string(),
        requests_extension: form == LetterForm::Circular03of2025,
        reason,
        reason_en,
        responsible: ctx.agency(&responsible),
        automatic,
        after_due: at > due,
        timeliness,
        with_result,
        late_working_minutes: late,
    });
    Ok(letter)
}

/// The agency a late dossier's delay is attributed to at `at` (largest overrun first,
/// DOMAIN.md §6), else its holder, else the receiving agency.
fn responsible_agency(ctx: &Ctx<'_>, at: DateTime<Utc>) -> Result<AgencyCode, LetterError> {
    let a = analyse(ctx.d, ctx.procedure, ctx.cal(), at, ctx.domain.classify)?;
    Ok(a.attribution
        .first()
        .map(|x| x.agency.clone())
        .or_else(|| ctx.d.holder.clone())
        .unwrap_or_else(|| ctx.receiving.clone()))
}

/// The messages an accepted event implies: `after` is the dossier's state once `event` is
/// applied. Pure: the store writes what this returns in the event's transaction.
pub fn implied_messages(domain: &Domain, after: &Dossier, event: &Event) -> Result<Vec<MessageIntent>, LetterError> {
    let ctx = Ctx::new(domain, after)?;
    let d = after;
    let mut out = Vec::new();
    match &event.kind {
        EventKind::AcceptedOnline => {
            if let Some(email) = &d.applicant.email {
                let letter = ctx.letter(MessageKind::Receipt, Audience::Citizen, event.at, &ctx.receiving);
                out.push(ctx.intent(letter, Recipient::Email(email.clone()), ctx.revision()));
            }
        }
        EventKind::Received { intake } if intake.channel == Channel::Online => {
            if let Some(email) = &d.applicant.email {
                let letter = ctx.letter(MessageKind::Receipt, Audience::Citizen, event.at, &ctx.receiving);
                out.push(ctx.intent(letter, Recipient::Email(email.clone()), ctx.revision()));
            }
        }
        EventKind::Rescheduled { automatic, .. } => {
            let n = d.reschedules.len();
            let letter = apology_of(&ctx, n)?;
            let key = format!("{}.{n}", ctx.revision());
            let responsible = letter.agency.code.clone();
            let after_due = letter.apology.as_ref().is_some_and(|a| a.after_due);
            if *automatic && after_due {
                let mut esc = ctx.letter(MessageKind::Escalation, Audience::Head, event.at, &responsible);
                esc.apology = letter.apology.clone();
                if let Some(head) = ctx.head(&responsible) {
                    out.push(ctx.intent(esc, head, ctx.revision()));
                }
            }
            out.push(ctx.intent(letter, ctx.citizen(), key));
        }
        EventKind::SupplementRequested { reason, documents, .. } => {
            let mut letter = ctx.letter(MessageKind::SupplementRequest, Audience::Citizen, event.at, &ctx.receiving);
            letter.supplement = Some(SupplementFacts {
                requested_at: event.at,
                reason: reason.clone(),
                documents: documents.clone(),
                restarts: ctx.procedure.supplement_mode == crate::catalog::WaitMode::Restart,
            });
            // The n-th request of this dossier: a second one has its own key.
            let key = format!("{}.{}", ctx.revision(), d.supplement_count());
            out.push(ctx.intent(letter, ctx.citizen(), key));
        }
        EventKind::Resolved { .. } => {
            if let Some(email) = &d.applicant.email {
                let letter = ctx.letter(MessageKind::ResultReady, Audience::Citizen, event.at, &ctx.receiving);
                out.push(ctx.intent(letter, Recipient::Email(email.clone()), ctx.revision()));
            }
            if let (Some(f), Some(due)) = (d.finished_at, d.due_at)
                && f > due
                && d.reschedules.is_empty()
            {
                let letter = apology_of(&ctx, 0)?;
                out.push(ctx.intent(letter, ctx.citizen(), ctx.revision()));
            }
        }
        EventKind::Transferred { .. }
        | EventKind::Accepted
        | EventKind::Received { .. }
        | EventKind::SupplementSupplied
        | EventKind::Paid { .. } => {
            if let Some(holder) = &d.holder
                && d.status.is_some_and(Status::is_open)
                && at_risk(d, ctx.procedure, ctx.cal(), event.at, &RemainingTimeModel::default())?
                && let Some(to) = ctx.officers(holder)
            {
                let mut letter = ctx.letter(MessageKind::AtRisk, Audience::Officers, event.at, holder);
                letter.remaining_working_minutes = remaining(&ctx, event.at)?;
                out.push(ctx.intent(letter, to, ctx.revision()));
            }
        }
        _ => {}
    }
    Ok(out)
}

fn remaining(ctx: &Ctx<'_>, at: DateTime<Utc>) -> Result<Option<i64>, LetterError> {
    Ok(match ctx.d.due_at {
        Some(due) => Some(ctx.cal().working_minutes_between(at, due)?),
        None => None,
    })
}

/// True if the dossier is past due at `now` with the agency's clock running and no apology
/// yet: what [`automatic_apology`] answers for. A dossier brought in as history in this state
/// is left to a person instead (the store lists it; docs/worker.md).
pub fn apology_due(d: &Dossier, now: DateTime<Utc>) -> bool {
    d.due_at.is_some_and(|due| now > due) && clock_running(d.status) && d.reschedules.is_empty()
}

/// Statuses in which the agency's clock runs (received, processing): reminders and automatic
/// apologies are for these only; a dossier waiting for the citizen is not the agency's delay.
pub fn clock_running(status: Option<Status>) -> bool {
    crate::vocab::AGENCY_CLOCK.holds(status)
}

/// The latest due instant of a dossier in its last working day at `now`: open dossiers due in
/// `(now, horizon]` are the reminder candidates. Bounds every agency's office hours.
pub fn reminder_horizon(domain: &Domain, now: DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError> {
    let mut horizon = domain.calendar.add_working_seconds(now, domain.calendar.hours().day_seconds())?;
    for a in domain.catalog.agencies() {
        let cal = domain.calendar_for(&a.code);
        horizon = horizon.max(cal.add_working_seconds(now, cal.hours().day_seconds())?);
    }
    Ok(horizon)
}

/// The reminders owed at `now` to a dossier that has entered its last working day (its due
/// instant is at most one working day away and not yet passed): to the holder's officers and
/// its head, "resolve or reschedule". Empty when it is not (or no longer) the case, or when
/// it already has a new date.
pub fn reminder_messages(domain: &Domain, d: &Dossier, now: DateTime<Utc>) -> Result<Vec<MessageIntent>, LetterError> {
    let ctx = Ctx::new(domain, d)?;
    let (Some(due), Some(holder)) = (d.due_at, d.holder.clone()) else { return Ok(Vec::new()) };
    if !clock_running(d.status) || due <= now || !d.reschedules.is_empty() {
        return Ok(Vec::new());
    }
    let cal = ctx.cal();
    let left = cal.working_seconds_between(now, due)?;
    if left > cal.hours().day_seconds() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (audience, to) in [(Audience::Officers, ctx.officers(&holder)), (Audience::Head, ctx.head(&holder))] {
        let Some(to) = to else { continue };
        if seen.contains(&to) {
            continue;
        }
        seen.push(to.clone());
        let mut letter = ctx.letter(MessageKind::Reminder, audience, now, &holder);
        letter.remaining_working_minutes = Some(left / 60);
        out.push(ctx.intent(letter, to, ctx.revision()));
    }
    Ok(out)
}

/// The scheduler's apology at the due instant (DOMAIN.md §7): for an open dossier whose clock
/// runs, past due at `now`, with no apology yet, a `Rescheduled` event issued automatically on
/// behalf of the responsible agency, with the new date = now + the remaining route budget, at
/// least one working day. `None` when none is owed.
pub fn automatic_apology(domain: &Domain, d: &Dossier, now: DateTime<Utc>) -> Result<Option<Event>, LetterError> {
    let ctx = Ctx::new(domain, d)?;
    let Some(due) = d.due_at else { return Ok(None) };
    if !apology_due(d, now) {
        return Ok(None);
    }
    let cal = ctx.cal();
    let step = d.holdings.len().saturating_sub(1);
    let spent = match d.holdings.last() {
        Some(h) => cal.working_minutes_between(h.from, now)?.max(0),
        None => 0,
    };
    let rest: i64 = ctx.procedure.route.iter().skip(step).map(|s| s.budget_minutes).sum();
    let day = (cal.hours().day_seconds() / 60).max(1);
    // Budgets are counted in standard 450-minute days: convert them to this calendar's day.
    let rest_here = (rest - spent).max(0) * day / STANDARD_DAY_MINUTES;
    let minutes = rest_here.max(day);
    let to = cal.add_working_seconds(now, minutes * 60)?;
    let responsible = responsible_agency(&ctx, now)?;
    let late = cal.working_minutes_between(due, now)?.max(0);
    let reason = format!(
        "Hồ sơ chưa được giải quyết xong khi đến hạn trả kết quả (quá hạn {} làm việc).",
        crate::deadlines::format_working_minutes(late, crate::deadlines::Lang::Vi)
    );
    Ok(Some(Event::new(
        now,
        Some(SCHEDULER.to_string()),
        EventKind::Rescheduled {
            to,
            reason,
            responsible: Some(responsible),
            automatic: true,
            override_second: false,
            reason_code: None,
        },
    )))
}

/// The event recording the apology a finish owes (DOMAIN.md §7: a dossier finished late with
/// no apology gets one with its result): `after` is the dossier once `event` is applied. For a
/// `Resolved` after the due date with no reschedule, an `Apologised` event at the same instant
/// and by the same person, naming the responsible unit and the reason the letter gives (the
/// letter itself is one of the finish's [`implied_messages`]). `None` otherwise. The store
/// records it in the finish's transaction.
pub fn late_finish_apology(domain: &Domain, after: &Dossier, event: &Event) -> Result<Option<Event>, LetterError> {
    let EventKind::Resolved { .. } = &event.kind else { return Ok(None) };
    let (Some(finished), Some(due)) = (after.finished_at, after.due_at) else { return Ok(None) };
    if finished <= due || !after.reschedules.is_empty() || after.apologised_at.is_some() {
        return Ok(None);
    }
    let ctx = Ctx::new(domain, after)?;
    let letter = apology_of(&ctx, 0)?;
    let Some(facts) = letter.apology else { return Ok(None) };
    Ok(Some(Event::new(
        event.at,
        event.by.clone(),
        EventKind::Apologised { responsible: facts.responsible.code, reason: facts.reason },
    )))
}

/// The `by` of the events the scheduler records.
pub const SCHEDULER: &str = "scheduler";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::analysis::ClassifyMode;
    use crate::calendar::testdata::vn_calendar;
    use crate::catalog::Catalog;
    use crate::dossier::tests::{DEPT, DESK, ag, at, ev, intake};
    use crate::dossier::{Applicant, Intake};

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
email = "motcua@desk.example"
head_email = "head@desk.example"
address = "24 Trần Phú, phường Hải Châu, thành phố Đà Nẵng"
[[agency]]
code = "000.00.12.H17"
name = "Sở Tư pháp"
kind = "department"
parent = "000.00.00.H17"
head_title = "Giám đốc"
head_name = "Lê Văn Bình"
email = "sotuphap@dept.example"
head_email = "giamdoc@dept.example"
"#;

    const PROCEDURES: &str = r#"
[[procedure]]
code = "2.000488"
name = "Cấp Phiếu lý lịch tư pháp"
level = "city"
time_limit = { working_days = 5 }
route = [
  { agency = "@receiving", budget = { working_hours = 3.75 } },
  { agency = "000.00.12.H17", budget = { working_days = 4 } },
  { agency = "@receiving", budget = { working_hours = 3.75 } },
]
"#;

    fn domain() -> Domain {
        Domain::new(vn_calendar(), Catalog::from_toml(AGENCIES, PROCEDURES).unwrap(), ClassifyMode::DateTime)
    }

    fn with_email(mut i: Intake, email: Option<&str>) -> Intake {
        i.applicant =
            Applicant {
                name: "Nguyễn Văn An".into(), email: email.map(|e| e.parse().unwrap()), ..Default::default()
            };
        i
    }

    fn processing(domain: &Domain, email: Option<&str>) -> Dossier {
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: with_email(intake(), email) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Accepted),
        ];
        domain.replay(&events).unwrap()
    }

    #[test]
    fn kinds_and_recipients_round_trip() {
        for k in MessageKind::ALL {
            assert_eq!(k.name().parse::<MessageKind>().unwrap(), k);
        }
        let r: Recipient = "desk:000.00.01.H17".parse().unwrap();
        assert_eq!(r, Recipient::Desk(ag(DESK)));
        assert_eq!(r.to_string(), "desk:000.00.01.H17");
        assert_eq!("a@b.vn".parse::<Recipient>().unwrap().to_string(), "a@b.vn");
        assert_eq!(place_of("24 Trần Phú, phường Hải Châu, thành phố Đà Nẵng"), "Đà Nẵng");
        assert_eq!(place_of("1 Lê Lợi, tỉnh Quảng Nam"), "Quảng Nam");
    }

    #[test]
    fn a_stored_letter_leaves_out_the_holder_named_twice_and_reads_back_whole() {
        let domain = domain();
        let d = processing(&domain, Some("an@example.vn"));
        let letter = reminder_messages(&domain, &d, at(2023, 11, 2, 9, 32)).unwrap().remove(0).letter;
        // Held by the department it is addressed to; the desk is the receiving centre.
        assert_eq!(letter.dossier.holder.as_ref(), Some(&letter.agency));
        assert_ne!(letter.desk, letter.agency);
        let stored: serde_json::Value = serde_json::from_str(&serde_json::to_string(&letter).unwrap()).unwrap();
        assert!(stored.get("agency").is_none(), "{stored}");
        assert_eq!(stored["desk"]["code"], DESK);
        assert_eq!(serde_json::from_value::<Letter>(stored.clone()).unwrap(), letter);
        // A letter stored in full reads the same.
        let mut full = stored.clone();
        full["agency"] = serde_json::to_value(&letter.agency).unwrap();
        assert_eq!(serde_json::from_value::<Letter>(full.clone()).unwrap(), letter);
        // Read as plain JSON (as templates read it), it is filled in from the holder.
        let mut plain = stored.as_object().unwrap().clone();
        fill_in_holder(&mut plain);
        assert_eq!(serde_json::Value::Object(plain), full);
        // Left out with no holder to take it from: a clear error, not a guess.
        let mut orphan = stored;
        orphan["dossier"]["holder"] = serde_json::Value::Null;
        let e = serde_json::from_value::<Letter>(orphan).unwrap_err().to_string();
        assert!(e.contains("without agency"), "{e}");
    }

    #[test]
    fn the_form_follows_the_receipt_date() {
        assert_eq!(LetterForm::for_receipt(at(2025, 6, 30, 16, 0)), LetterForm::Circular01of2018);
        assert_eq!(LetterForm::for_receipt(at(2025, 7, 1, 7, 30)), LetterForm::Circular03of2025);
        assert_eq!(LetterForm::Circular01of2018.title_vi(), "Phiếu xin lỗi và hẹn lại ngày trả kết quả");
    }

    #[test]
    fn a_reminder_is_owed_on_the_last_working_day_only() {
        let domain = domain();
        let d = processing(&domain, Some("an@example.vn"));
        // Due Fri 03/11/2023 09:32.
        assert!(reminder_messages(&domain, &d, at(2023, 11, 2, 9, 0)).unwrap().is_empty());
        let r = reminder_messages(&domain, &d, at(2023, 11, 2, 9, 32)).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].dedupe_key(), "reminder:000.00.01.H17-231027-0001:0:sotuphap@dept.example");
        assert_eq!(r[1].recipient.to_string(), "giamdoc@dept.example");
        assert_eq!(r[1].letter.audience, Audience::Head);
        assert_eq!(r[0].letter.remaining_working_minutes, Some(450));
        assert!(reminder_messages(&domain, &d, at(2023, 11, 3, 9, 33)).unwrap().is_empty());
        let h = reminder_horizon(&domain, at(2023, 11, 2, 9, 32)).unwrap();
        assert_eq!(h, at(2023, 11, 3, 9, 32));
    }

    #[test]
    fn the_automatic_apology_names_the_responsible_agency_and_a_new_date() {
        let domain = domain();
        let d = processing(&domain, None);
        assert_eq!(automatic_apology(&domain, &d, at(2023, 11, 3, 9, 32)).unwrap(), None);
        let now = at(2023, 11, 3, 10, 0);
        let e = automatic_apology(&domain, &d, now).unwrap().unwrap();
        let EventKind::Rescheduled { to, responsible, automatic, .. } = &e.kind else { panic!("{e:?}") };
        assert!(*automatic);
        assert_eq!(responsible.as_ref(), Some(&ag(DEPT)));
        // The department overran its whole budget: the rest of the route (its step and the
        // return to the desk, 4.5 days) minus what it spent is negative → one working day.
        assert_eq!(*to, at(2023, 11, 6, 10, 0));
        let mut after = d.clone();
        domain.apply(&mut after, &e).unwrap();
        let msgs = implied_messages(&domain, &after, &e).unwrap();
        let kinds: Vec<_> = msgs.iter().map(|m| (m.kind, m.recipient.to_string())).collect();
        assert_eq!(
            kinds,
            vec![
                (MessageKind::Escalation, "giamdoc@dept.example".to_string()),
                (MessageKind::Apology, "desk:000.00.01.H17".to_string()),
            ]
        );
        let apology = msgs[1].letter.apology.as_ref().unwrap();
        assert!(apology.after_due && apology.automatic);
        assert_eq!(apology.timeliness, ApologyTimeliness::Late);
        assert_eq!(apology.number, "000.00.01.H17-231027-0001/PXL");
        assert_eq!(apology.form, LetterForm::Circular01of2018);
        assert!(msgs[1].letter.print_at_desk);
        assert_eq!(msgs[1].dedupe_key(), "apology:000.00.01.H17-231027-0001:0.1:desk:000.00.01.H17");
        assert_eq!(automatic_apology(&domain, &after, now).unwrap(), None, "one apology only");
    }

    #[test]
    fn events_imply_receipts_results_and_late_apologies() {
        let domain = domain();
        let mut i = with_email(intake(), Some("an@example.vn"));
        i.channel = Channel::Online;
        let mut d = Dossier::default();
        let reg = ev(at(2023, 10, 27, 9, 0), EventKind::RegisteredOnline { intake: i });
        domain.apply(&mut d, &reg).unwrap();
        assert!(implied_messages(&domain, &d, &reg).unwrap().is_empty());
        let acc = ev(at(2023, 10, 27, 9, 32), EventKind::AcceptedOnline);
        domain.apply(&mut d, &acc).unwrap();
        let m = implied_messages(&domain, &d, &acc).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].dedupe_key(), "receipt:000.00.01.H17-231027-0001:0:an@example.vn");
        for e in [
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Accepted),
            ev(at(2023, 11, 6, 9, 0), EventKind::Transferred { to: ag(DESK) }),
            ev(at(2023, 11, 6, 9, 0), EventKind::Accepted),
        ] {
            domain.apply(&mut d, &e).unwrap();
        }
        let res = ev(
            at(2023, 11, 6, 10, 0),
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
        );
        domain.apply(&mut d, &res).unwrap();
        let m = implied_messages(&domain, &d, &res).unwrap();
        let kinds: Vec<_> = m.iter().map(|m| m.kind).collect();
        assert_eq!(kinds, vec![MessageKind::ResultReady, MessageKind::ApologyWithResult]);
        let a = m[1].letter.apology.as_ref().unwrap();
        assert!(a.with_result && !a.automatic);
        assert_eq!(a.responsible.code, ag(DEPT));
        assert_eq!(m[1].recipient.to_string(), "an@example.vn");
    }

    #[test]
    fn a_move_that_leaves_the_dossier_at_risk_warns_the_new_holder() {
        let domain = domain();
        let d0 = processing(&domain, None);
        // Sent back to the desk at Fri 03/11 07:30: the desk's last step needs 225 working
        // minutes and only 122 are left before the due instant (09:32). At risk.
        let mut d = d0.clone();
        let e = ev(at(2023, 11, 3, 7, 30), EventKind::Transferred { to: ag(DESK) });
        domain.apply(&mut d, &e).unwrap();
        let m = implied_messages(&domain, &d, &e).unwrap();
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].kind, MessageKind::AtRisk);
        assert_eq!(m[0].recipient.to_string(), "motcua@desk.example");
        assert_eq!(m[0].letter.remaining_working_minutes, Some(122));
    }

    #[test]
    fn a_supplement_request_reaches_the_citizen_by_email_or_at_the_desk() {
        let domain = domain();
        for (email, recipient) in [(Some("an@example.vn"), "an@example.vn"), (None, "desk:000.00.01.H17")] {
            let mut d = processing(&domain, email);
            let e = ev(
                at(2023, 10, 30, 9, 0),
                EventKind::SupplementRequested {
                    reason: "Thiếu bản sao căn cước".into(),
                    documents: vec!["Bản sao căn cước công dân".into(), "Tờ khai (bản chính)".into()],
                    reason_code: None,
                },
            );
            domain.apply(&mut d, &e).unwrap();
            let m = implied_messages(&domain, &d, &e).unwrap();
            assert_eq!(m.len(), 1, "{m:?}");
            assert_eq!(m[0].kind, MessageKind::SupplementRequest);
            assert_eq!(m[0].recipient.to_string(), recipient);
            assert_eq!(m[0].dedupe_key(), format!("supplement_request:000.00.01.H17-231027-0001:0.1:{recipient}"));
            assert_eq!(m[0].letter.print_at_desk, email.is_none());
            assert_eq!(m[0].letter.audience, Audience::Citizen);
            let s = m[0].letter.supplement.as_ref().unwrap();
            assert_eq!(s.reason, "Thiếu bản sao căn cước");
            assert_eq!(s.documents.len(), 2);
            assert!(s.restarts, "the procedure restarts its clock");
            // Stored and read back whole.
            let back: Letter = serde_json::from_str(&m[0].payload().unwrap()).unwrap();
            assert_eq!(back, m[0].letter);
            // The lookup reads the same from the log while the dossier waits.
            let events = [e.clone()];
            assert_eq!(pending_supplement(&domain, &d, &events).as_ref(), Some(s));
            let done = ev(at(2023, 10, 31, 9, 0), EventKind::SupplementSupplied);
            domain.apply(&mut d, &done).unwrap();
            assert_eq!(pending_supplement(&domain, &d, &[e, done]), None);
        }
    }

    #[test]
    fn a_digest_lists_each_dossier_once_soonest_due_first() {
        let domain = domain();
        let d = processing(&domain, None);
        let now = at(2023, 11, 2, 9, 32);
        let reminders = reminder_messages(&domain, &d, now).unwrap();
        let mut warn = reminders[0].letter.clone();
        warn.kind = MessageKind::AtRisk;
        let mut other = warn.clone();
        other.dossier.code = "000.00.01.H17-231027-0002".parse().unwrap();
        other.dossier.due_at = Some(at(2023, 11, 1, 9, 32));
        let letters = [reminders[0].letter.clone(), warn, other];
        let date = NaiveDate::from_ymd_opt(2023, 11, 3).unwrap();
        let issued = digest_instant(date, chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap());
        assert_eq!(issued, at(2023, 11, 3, 7, 30));
        let g = Digest::gather(&domain, "sotuphap@dept.example", date, issued, &letters).unwrap();
        assert_eq!(g.notices, 3);
        assert_eq!(g.entries.len(), 2);
        assert_eq!(g.entries[0].code.as_str(), "000.00.01.H17-231027-0002", "the overdue one first");
        assert!(g.entries[0].remaining_working_minutes.unwrap() < 0);
        assert_eq!(g.entries[1].kinds, vec![MessageKind::Reminder, MessageKind::AtRisk]);
        assert_eq!(g.entries[1].remaining_working_minutes, Some(122));
        assert_eq!(Digest::dedupe_key(&g.recipient, date), "digest:sotuphap@dept.example:2023-11-03");
        assert!(Digest::gather(&domain, "x@y.vn", date, issued, &[]).is_none());
        assert!(MessageKind::Digest.is_staff_notice() && !MessageKind::SupplementRequest.is_staff_notice());
    }
}
