//! The desk's and agencies' commands as typed input, turned into events: the one place where a
//! form field, a command-line flag or a JSON property becomes an [`EventKind`] or an intake.
//! The CLI (`motcua transfer …`) and the server (`POST /api/v1/dossiers/{code}/transfer`, the
//! web forms) both call this, so they accept and refuse exactly the same input.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::calendar::{CalendarError, from_local, to_local};
use crate::catalog::MAX_FEE_VND;
use crate::codes::{AgencyCode, ParseError, ProcedureCode};
use crate::delay::UnknownReason;
use crate::domain::{Domain, DomainError};
use crate::dossier::{Applicant, Channel, CopyKind, DocumentItem, EventKind, Outcome, PaymentMethod};
use crate::text::{self, ADDRESS_MAX_CHARS, DOCUMENT_MAX_CHARS, NAME_MAX_CHARS, REASON_MAX_CHARS, TextError};

/// Why a command's input is not acceptable. `field` names the input (`reason`, `to`, …); the
/// CLI prints it as a flag (`--reason`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    #[error("a refusal needs {field}")]
    RefusalWithoutReason { field: &'static str },
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("invalid channel {0:?}: expected in_person, online or postal")]
    Channel(String),
    #[error("invalid ID number {0:?}: expected 12 digits (CCCD) or 9 digits")]
    IdNumber(String),
    #[error("invalid date {0:?}: expected YYYY-MM-DD (or an RFC 3339 instant)")]
    Date(String),
    #[error("{date} is not a working day; the next working day is {next}")]
    NotWorkingDay { date: NaiveDate, next: NaiveDate },
    #[error("{at} is outside office hours")]
    OutsideOfficeHours { at: NaiveDateTime },
    #[error("invalid document {0:?}: expected NAME:original|copy|photocopy:COUNT")]
    Document(String),
    #[error("invalid copy kind {0:?} for a document: expected original, copy or photocopy")]
    CopyKind(String),
    #[error("invalid count {count} for document {name:?}: expected 1 to {max}")]
    DocumentCount { name: String, count: i64, max: u32 },
    #[error("{0} documents: at most {max} a dossier", max = MAX_DOCUMENTS)]
    TooManyDocuments(usize),
    #[error("invalid amount {0:?}: expected a whole number of VND from 0 to {max}", max = MAX_FEE_VND)]
    Amount(String),
    #[error("invalid payment method {0:?}: expected cash, bank_transfer, online or exempt")]
    Method(String),
    #[error("{field} is needed: cash, bank_transfer, online or exempt")]
    MethodMissing { field: &'static str },
    #[error(transparent)]
    UnknownReason(#[from] UnknownReason),
    #[error("{field} goes with a refusal, not with an approval")]
    ReasonCodeOnApproval { field: &'static str },
    #[error("{field}: name at least one digitised paper")]
    NoDigitised { field: &'static str },
    #[error("digitised paper {0:?} is not in the dossier's document checklist")]
    DigitisedNotInChecklist(String),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// The longest receipt reference (biên lai) a payment carries.
pub const RECEIPT_MAX_CHARS: usize = 100;

/// At most this many lines in an intake's document checklist.
pub const MAX_DOCUMENTS: usize = 40;
/// At most this many copies of one paper.
pub const MAX_DOCUMENT_COUNT: u32 = 99;

/// One line of the document checklist as typed: a name, `original` / `copy` / `photocopy`
/// (or their Vietnamese words), a count.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
pub struct DocumentSpec {
    pub name: String,
    #[serde(default)]
    pub copy: String,
    #[serde(default = "one")]
    pub count: i64,
}

fn one() -> i64 {
    1
}

impl DocumentSpec {
    /// `NAME[:COPY[:COUNT]]` as the command line takes it (`"Tờ khai:original:1"`); the name
    /// may itself hold colons (the last two fields are read from the right when they parse).
    pub fn parse_flag(s: &str) -> Result<Self, CommandError> {
        let mut parts: Vec<&str> = s.rsplitn(3, ':').collect();
        parts.reverse();
        let bad = || CommandError::Document(s.to_string());
        match parts.as_slice() {
            [name] => Ok(Self { name: (*name).to_string(), copy: String::new(), count: 1 }),
            [name, last] => match last.trim().parse::<i64>() {
                Ok(count) => Ok(Self { name: (*name).to_string(), copy: String::new(), count }),
                Err(_) if CopyKind::parse(last).is_some() => {
                    Ok(Self { name: (*name).to_string(), copy: (*last).to_string(), count: 1 })
                }
                Err(_) => Ok(Self { name: s.to_string(), copy: String::new(), count: 1 }),
            },
            [first, copy, count] => {
                let count = count.trim().parse::<i64>().map_err(|_| bad())?;
                if CopyKind::parse(copy).is_none() {
                    return Err(CommandError::CopyKind((*copy).to_string()));
                }
                Ok(Self { name: (*first).to_string(), copy: (*copy).to_string(), count })
            }
            _ => Err(bad()),
        }
    }

    /// Checked: a non-empty one-line name, a known copy kind (empty is `original`), a count
    /// of 1 to [`MAX_DOCUMENT_COUNT`].
    pub fn check(&self) -> Result<DocumentItem, CommandError> {
        let name = match text::line(&self.name, "document", DOCUMENT_MAX_CHARS) {
            Err(TextError::Empty { .. }) => return Err(CommandError::Document(self.name.clone())),
            other => other?,
        };
        let copy = if self.copy.trim().is_empty() {
            CopyKind::Original
        } else {
            CopyKind::parse(&self.copy).ok_or_else(|| CommandError::CopyKind(self.copy.clone()))?
        };
        let count = u32::try_from(self.count)
            .ok()
            .filter(|c| (1..=MAX_DOCUMENT_COUNT).contains(c))
            .ok_or(CommandError::DocumentCount { name: name.clone(), count: self.count, max: MAX_DOCUMENT_COUNT })?;
        Ok(DocumentItem { name, copy, count })
    }
}

/// A checklist, every line checked; at most [`MAX_DOCUMENTS`] lines.
pub fn check_documents(specs: &[DocumentSpec]) -> Result<Vec<DocumentItem>, CommandError> {
    if specs.len() > MAX_DOCUMENTS {
        return Err(CommandError::TooManyDocuments(specs.len()));
    }
    specs.iter().map(DocumentSpec::check).collect()
}

/// How a field is named in messages: `--reason` on the command line, `reason` in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldStyle {
    Flag,
    Plain,
}

impl FieldStyle {
    fn name(self, plain: &'static str, flag: &'static str) -> &'static str {
        match self {
            Self::Flag => flag,
            Self::Plain => plain,
        }
    }
}

/// One transition of a dossier, as typed by a person (strings, not yet checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    Transfer {
        to: String,
    },
    Accept,
    AcceptOnline,
    RefuseOnline {
        reason: String,
        reason_code: Option<String>,
    },
    RequestSupplement {
        reason: String,
        documents: Vec<String>,
        reason_code: Option<String>,
    },
    Supplement,
    /// `amount`: VND as typed; empty or absent takes the catalog's fee ([`Domain::complete`]).
    RequestPayment {
        reason: String,
        amount: Option<String>,
    },
    /// `method`: `cash`, `bank_transfer`, `online` or `exempt` (required).
    Paid {
        method: String,
        receipt: Option<String>,
    },
    /// `next_working_day`: a date on a day off is moved to the next working day (at the same
    /// time of day) instead of refused.
    Reschedule {
        to: String,
        reason: String,
        responsible: Option<String>,
        override_second: bool,
        next_working_day: bool,
        reason_code: Option<String>,
    },
    /// `electronic`: the result was issued electronically (false records a paper result).
    Resolve {
        refused: bool,
        reason: Option<String>,
        electronic: bool,
        reason_code: Option<String>,
    },
    Return,
    Withdraw {
        reason: String,
    },
    Stop {
        reason: String,
        reason_code: Option<String>,
    },
    /// Papers digitised after intake (at acceptance).
    Digitise {
        documents: Vec<String>,
    },
}

impl Transition {
    /// The stable name of the command (`transfer`, `request-supplement`, …), as in the CLI and
    /// the API paths.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Transfer { .. } => "transfer",
            Self::Accept => "accept",
            Self::AcceptOnline => "accept-online",
            Self::RefuseOnline { .. } => "refuse-online",
            Self::RequestSupplement { .. } => "request-supplement",
            Self::Supplement => "supplement",
            Self::RequestPayment { .. } => "request-payment",
            Self::Paid { .. } => "paid",
            Self::Reschedule { .. } => "reschedule",
            Self::Resolve { .. } => "resolve",
            Self::Return => "return",
            Self::Withdraw { .. } => "withdraw",
            Self::Stop { .. } => "stop",
            Self::Digitise { .. } => "digitise",
        }
    }

    /// The event this command records, with every field checked.
    pub fn event_kind(&self, domain: &Domain, style: FieldStyle) -> Result<EventKind, CommandError> {
        let reason_field = style.name("reason", "--reason");
        let code_field = style.name("reason_code", "--reason-code");
        let code = |c: &Option<String>| reason_code(domain, c);
        Ok(match self {
            Self::Transfer { to } => EventKind::Transferred { to: agency(to)? },
            Self::Accept => EventKind::Accepted,
            Self::AcceptOnline => EventKind::AcceptedOnline,
            Self::RefuseOnline { reason, reason_code } => EventKind::RefusedAtReceipt {
                reason: non_empty(reason, reason_field)?,
                reason_code: code(reason_code)?,
            },
            Self::RequestSupplement { reason, documents, reason_code } => EventKind::SupplementRequested {
                reason: non_empty(reason, reason_field)?,
                documents: documents
                    .iter()
                    .filter(|d| !d.trim().is_empty())
                    .map(|d| text::line(d, style.name("documents", "--document"), DOCUMENT_MAX_CHARS))
                    .collect::<Result<_, _>>()?,
                reason_code: code(reason_code)?,
            },
            Self::Supplement => EventKind::SupplementSupplied,
            Self::RequestPayment { reason, amount } => EventKind::PaymentRequested {
                reason: optional_reason(reason, reason_field)?,
                amount_vnd: amount.as_deref().map(str::trim).filter(|a| !a.is_empty()).map(parse_amount).transpose()?,
            },
            Self::Paid { method, receipt } => EventKind::Paid {
                method: Some(payment_method(method, style.name("method", "--method"))?),
                receipt: text::optional_line(
                    receipt.as_deref().unwrap_or(""),
                    style.name("receipt", "--receipt"),
                    RECEIPT_MAX_CHARS,
                )?,
            },
            Self::Reschedule { to, reason, responsible, override_second, next_working_day, reason_code } => {
                EventKind::Rescheduled {
                    to: if *next_working_day {
                        appointment_or_next_working_day(domain, to)?.0
                    } else {
                        appointment(domain, to)?
                    },
                    reason: non_empty(reason, reason_field)?,
                    responsible: responsible.as_deref().filter(|s| !s.trim().is_empty()).map(agency).transpose()?,
                    automatic: false,
                    override_second: *override_second,
                    reason_code: code(reason_code)?,
                }
            }
            Self::Resolve { refused, reason, electronic, reason_code } => {
                if *refused && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    return Err(CommandError::RefusalWithoutReason { field: reason_field });
                }
                let reason_code = code(reason_code)?;
                if !*refused && reason_code.is_some() {
                    return Err(CommandError::ReasonCodeOnApproval { field: code_field });
                }
                EventKind::Resolved {
                    outcome: if *refused { Outcome::Refused } else { Outcome::Approved },
                    reason: text::optional_paragraph(reason.as_deref().unwrap_or(""), reason_field, REASON_MAX_CHARS)?,
                    electronic: Some(*electronic),
                    reason_code,
                }
            }
            Self::Return => EventKind::Returned,
            Self::Withdraw { reason } => EventKind::Withdrawn { reason: optional_reason(reason, reason_field)? },
            Self::Stop { reason, reason_code } => {
                EventKind::Stopped { reason: non_empty(reason, reason_field)?, reason_code: code(reason_code)? }
            }
            Self::Digitise { documents } => {
                let field = style.name("documents", "--document");
                let documents = digitised_names(documents, field)?;
                if documents.is_empty() {
                    return Err(CommandError::NoDigitised { field });
                }
                EventKind::Digitised { documents }
            }
        })
    }
}

/// A delay reason code from the domain's list; empty or absent is none.
fn reason_code(domain: &Domain, code: &Option<String>) -> Result<Option<String>, CommandError> {
    match code.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => Ok(Some(domain.delay_reasons.get(c)?.code.clone())),
    }
}

/// An amount of VND: a whole number from 0 to [`MAX_FEE_VND`] (digits only; `.` and `,` as
/// thousands separators are accepted, as people write `50.000`).
pub fn parse_amount(s: &str) -> Result<u64, CommandError> {
    let bad = || CommandError::Amount(s.to_string());
    let digits: String = s.trim().chars().filter(|c| !matches!(c, '.' | ',' | ' ')).collect();
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    digits.parse::<u64>().ok().filter(|v| *v <= MAX_FEE_VND).ok_or_else(bad)
}

/// A payment method by its stable name.
pub fn payment_method(s: &str, field: &'static str) -> Result<PaymentMethod, CommandError> {
    if s.trim().is_empty() {
        return Err(CommandError::MethodMissing { field });
    }
    PaymentMethod::parse(s).ok_or_else(|| CommandError::Method(s.to_string()))
}

/// The names of digitised papers: one-line names, blanks skipped, each once.
fn digitised_names(names: &[String], field: &'static str) -> Result<Vec<String>, CommandError> {
    let mut out: Vec<String> = Vec::new();
    for n in names.iter().filter(|n| !n.trim().is_empty()) {
        let n = text::line(n, field, DOCUMENT_MAX_CHARS)?;
        if !out.contains(&n) {
            out.push(n);
        }
    }
    if out.len() > MAX_DOCUMENTS {
        return Err(CommandError::TooManyDocuments(out.len()));
    }
    Ok(out)
}

/// Papers named as digitised, against the dossier's document checklist (at intake, at
/// acceptance, `digitise`): each must be one of the papers received. A dossier received
/// without a checklist (none was typed) takes any name, as the intake does.
pub fn digitised_in_checklist(documents: &[DocumentItem], names: &[String]) -> Result<(), CommandError> {
    match names.iter().find(|n| !documents.is_empty() && !documents.iter().any(|d| &d.name == *n)) {
        Some(stray) => Err(CommandError::DigitisedNotInChecklist(stray.clone())),
        None => Ok(()),
    }
}

/// What the desk types at intake, before checking.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IntakeForm {
    pub procedure: String,
    pub agency: String,
    pub applicant: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub id_number: Option<String>,
    pub address: Option<String>,
    pub channel: String,
    /// The document checklist (may be empty).
    pub documents: Vec<DocumentSpec>,
    /// The names of the papers digitised at intake; `None` when the desk does not say. With a
    /// checklist, each name must be on it.
    pub digitised: Option<Vec<String>>,
}

/// A checked intake: what the store needs to open a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedIntake {
    pub procedure: ProcedureCode,
    pub agency: AgencyCode,
    pub applicant: Applicant,
    pub channel: Channel,
    pub documents: Vec<DocumentItem>,
    pub digitised: Option<Vec<String>>,
}

impl IntakeForm {
    /// Checks every field against the domain (the procedure and agency exist, the contact
    /// details parse). Empty optional fields count as absent.
    pub fn check(&self, domain: &Domain, style: FieldStyle) -> Result<CheckedIntake, CommandError> {
        let procedure: ProcedureCode = self.procedure.trim().parse()?;
        domain.procedure(&procedure)?;
        let agency = agency(&self.agency)?;
        domain.agency(&agency)?;
        let channel_text = if self.channel.trim().is_empty() { "in_person" } else { self.channel.trim() };
        let channel = Channel::parse(channel_text).ok_or_else(|| CommandError::Channel(self.channel.clone()))?;
        let present = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
        let applicant = Applicant {
            name: text::line(&self.applicant, style.name("applicant", "--applicant"), NAME_MAX_CHARS)?,
            email: present(&self.email).map(|s| s.parse()).transpose()?,
            phone: present(&self.phone).map(|s| s.parse()).transpose()?,
            id_number: present(&self.id_number).map(|s| id_number(&s)).transpose()?,
            address: present(&self.address)
                .map(|a| text::paragraph(&a, style.name("address", "--address"), ADDRESS_MAX_CHARS))
                .transpose()?,
        };
        let documents = check_documents(&self.documents)?;
        let digitised = match &self.digitised {
            None => None,
            Some(names) => {
                let names = digitised_names(names, style.name("digitised", "--digitised"))?;
                digitised_in_checklist(&documents, &names)?;
                Some(names)
            }
        };
        Ok(CheckedIntake { procedure, agency, applicant, channel, documents, digitised })
    }
}

fn agency(s: &str) -> Result<AgencyCode, CommandError> {
    Ok(s.trim().parse::<AgencyCode>()?)
}

/// A required reason: one paragraph of at most [`REASON_MAX_CHARS`].
fn non_empty(s: &str, field: &'static str) -> Result<String, CommandError> {
    match text::paragraph(s, field, REASON_MAX_CHARS) {
        Err(TextError::Empty { field }) => Err(CommandError::Empty { field }),
        other => Ok(other?),
    }
}

/// An optional reason: empty is `""`.
fn optional_reason(s: &str, field: &'static str) -> Result<String, CommandError> {
    Ok(text::optional_paragraph(s, field, REASON_MAX_CHARS)?.unwrap_or_default())
}

/// A citizen ID number (CCCD, 12 digits) or an older 9-digit ID card.
pub fn id_number(s: &str) -> Result<String, CommandError> {
    let s = s.trim();
    if (s.len() == 12 || s.len() == 9) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        Err(CommandError::IdNumber(s.to_string()))
    }
}

/// An instant: RFC 3339 (`2025-01-24T16:40:00+07:00`), or Vietnam local time without an offset
/// (`2025-01-24T16:40`, `2025-01-24 16:40`, as an HTML `datetime-local` field sends it).
pub fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M%:z") {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
        .map(from_local)
}

/// A new appointment: a date (due by that day's closing) or an instant. It must be a real
/// appointment: inside the calendar's coverage, on a working day (a day off is refused with the
/// next working day named) and inside office hours (the closing time itself counts).
pub fn appointment(domain: &Domain, s: &str) -> Result<DateTime<Utc>, CommandError> {
    checked_appointment(domain, typed_appointment(domain, s)?)
}

/// [`appointment`], except that a date or an instant on a day off is moved to the next working
/// day at the same time of day; the day it was moved from is returned so that the mover can say
/// so.
pub fn appointment_or_next_working_day(
    domain: &Domain,
    s: &str,
) -> Result<(DateTime<Utc>, Option<NaiveDate>), CommandError> {
    let typed = typed_appointment(domain, s)?;
    let local = to_local(typed);
    let cal = &domain.calendar;
    if cal.is_working_day(local.date())? {
        return Ok((checked_appointment(domain, typed)?, None));
    }
    let next = cal.working_day_on_or_after(local.date())?;
    Ok((checked_appointment(domain, from_local(next.and_time(local.time())))?, Some(local.date())))
}

/// A typed appointment: a date (that day's closing) or an instant.
fn typed_appointment(domain: &Domain, s: &str) -> Result<DateTime<Utc>, CommandError> {
    match NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        Ok(d) => Ok(from_local(d.and_time(domain.calendar.hours().closing()))),
        Err(_) => parse_instant(s).ok_or_else(|| CommandError::Date(s.to_string())),
    }
}

fn checked_appointment(domain: &Domain, at: DateTime<Utc>) -> Result<DateTime<Utc>, CommandError> {
    let cal = &domain.calendar;
    let local = to_local(at);
    let date = local.date();
    if !cal.is_working_day(date)? {
        let next = cal.working_day_on_or_after(date)?;
        return Err(CommandError::NotWorkingDay { date, next });
    }
    let time = local.time();
    if !cal.hours().windows().iter().any(|w| w.open <= time && time <= w.close) {
        return Err(CommandError::OutsideOfficeHours { at: local });
    }
    Ok(at)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn instants_parse_with_and_without_offset() {
        let a = parse_instant("2025-01-24T16:40:00+07:00").unwrap();
        assert_eq!(parse_instant("2025-01-24T16:40"), Some(a));
        assert_eq!(parse_instant("2025-01-24 16:40"), Some(a));
        assert_eq!(parse_instant("2025-01-24T09:40:00Z"), Some(a));
        assert_eq!(parse_instant("yesterday"), None);
    }

    fn domain() -> Domain {
        let catalog = crate::catalog::Catalog::from_toml(
            include_str!("../../../config/catalog/agencies.toml"),
            include_str!("../../../config/catalog/procedures.toml"),
        )
        .unwrap();
        Domain::new(crate::calendar::testdata::vn_calendar(), catalog, crate::analysis::ClassifyMode::DateTime)
    }

    #[test]
    fn appointments_are_real_ones() {
        let d = domain();
        // Saturday 22/3/2025: refused, Monday 24/3 named.
        let err = appointment(&d, "2025-03-22").unwrap_err();
        assert_eq!(
            err,
            CommandError::NotWorkingDay {
                date: NaiveDate::from_ymd_opt(2025, 3, 22).unwrap(),
                next: NaiveDate::from_ymd_opt(2025, 3, 24).unwrap()
            }
        );
        // Far outside the calendar.
        assert!(matches!(appointment(&d, "9999-12-31"), Err(CommandError::Calendar(_))));
        // Lunch and after closing are not appointments; the closing time is.
        assert!(matches!(appointment(&d, "2025-03-24T12:00"), Err(CommandError::OutsideOfficeHours { .. })));
        assert!(matches!(appointment(&d, "2025-03-24T17:01"), Err(CommandError::OutsideOfficeHours { .. })));
        assert_eq!(appointment(&d, "2025-03-24").unwrap(), parse_instant("2025-03-24T17:00").unwrap());
        assert!(appointment(&d, "2025-03-24T09:15").is_ok());
        // Moved on request, at the same time of day, saying from which day.
        let saturday = NaiveDate::from_ymd_opt(2025, 3, 22).unwrap();
        assert_eq!(
            appointment_or_next_working_day(&d, "2025-03-22").unwrap(),
            (parse_instant("2025-03-24T17:00").unwrap(), Some(saturday))
        );
        assert_eq!(
            appointment_or_next_working_day(&d, "2025-03-22T09:15").unwrap(),
            (parse_instant("2025-03-24T09:15").unwrap(), Some(saturday))
        );
        assert_eq!(
            appointment_or_next_working_day(&d, "2025-03-24").unwrap(),
            (parse_instant("2025-03-24T17:00").unwrap(), None)
        );
        // Tết 2025 (28/1 to 2/2): the next working day is Monday 3/2.
        assert_eq!(
            appointment_or_next_working_day(&d, "2025-01-29").unwrap().0,
            parse_instant("2025-02-03T17:00").unwrap()
        );
        assert!(matches!(
            appointment_or_next_working_day(&d, "2025-03-22T12:00"),
            Err(CommandError::OutsideOfficeHours { .. })
        ));
    }

    #[test]
    fn intake_text_is_checked() {
        let d = domain();
        let p = d.catalog.procedures().next().unwrap();
        let a = d.catalog.agencies().next().unwrap();
        let form = |name: &str| IntakeForm {
            procedure: p.code.to_string(),
            agency: a.code.to_string(),
            applicant: name.to_string(),
            ..IntakeForm::default()
        };
        for bad in ["X\nY", "A\r\nB", "\u{1b}[2J", &"a".repeat(NAME_MAX_CHARS + 1)] {
            assert!(matches!(form(bad).check(&d, FieldStyle::Plain), Err(CommandError::Text(_))), "{bad:?}");
        }
        assert!(form("Trần Thị Bình").check(&d, FieldStyle::Plain).is_ok());
        let reason = Transition::Stop { reason: "a\u{7}b".into(), reason_code: None };
        assert!(matches!(reason.event_kind(&d, FieldStyle::Plain), Err(CommandError::Text(_))));
    }

    #[test]
    fn amounts_methods_and_reason_codes_are_checked() {
        let d = domain();
        assert_eq!(parse_amount("50.000").unwrap(), 50_000);
        assert_eq!(parse_amount("0").unwrap(), 0);
        for bad in ["-1", "1e3", "", "abc", "12.5đ", "1000000000001"] {
            assert!(matches!(parse_amount(bad), Err(CommandError::Amount(_))), "{bad:?}");
        }
        let pay = |amount: &str| Transition::RequestPayment { reason: String::new(), amount: Some(amount.into()) };
        assert!(matches!(pay("-5").event_kind(&d, FieldStyle::Flag), Err(CommandError::Amount(_))));
        assert_eq!(
            pay("").event_kind(&d, FieldStyle::Flag).unwrap(),
            EventKind::PaymentRequested { reason: String::new(), amount_vnd: None }
        );
        let paid = |m: &str| Transition::Paid { method: m.into(), receipt: None };
        assert!(matches!(paid("card").event_kind(&d, FieldStyle::Flag), Err(CommandError::Method(_))));
        assert_eq!(
            paid("").event_kind(&d, FieldStyle::Flag).unwrap_err().to_string(),
            "--method is needed: cash, bank_transfer, online or exempt"
        );
        assert_eq!(
            paid("online").event_kind(&d, FieldStyle::Plain).unwrap(),
            EventKind::Paid { method: Some(PaymentMethod::Online), receipt: None }
        );
        let stop = |code: &str| Transition::Stop { reason: "x".into(), reason_code: Some(code.into()) };
        let err = stop("bus_late").event_kind(&d, FieldStyle::Flag).unwrap_err();
        assert!(matches!(err, CommandError::UnknownReason(_)), "{err:?}");
        assert_eq!(
            stop(" agency_workload ").event_kind(&d, FieldStyle::Flag).unwrap(),
            EventKind::Stopped { reason: "x".into(), reason_code: Some("agency_workload".into()) }
        );
        let resolve = |refused: bool| Transition::Resolve {
            refused,
            reason: Some("không đủ điều kiện".into()),
            electronic: true,
            reason_code: Some("citizen_incomplete".into()),
        };
        assert!(matches!(
            resolve(false).event_kind(&d, FieldStyle::Flag),
            Err(CommandError::ReasonCodeOnApproval { field: "--reason-code" })
        ));
        let EventKind::Resolved { electronic, reason_code, .. } =
            resolve(true).event_kind(&d, FieldStyle::Flag).unwrap()
        else {
            unreachable!()
        };
        assert_eq!((electronic, reason_code.as_deref()), (Some(true), Some("citizen_incomplete")));
        let digitise = Transition::Digitise { documents: vec![" ".into()] };
        assert!(matches!(digitise.event_kind(&d, FieldStyle::Flag), Err(CommandError::NoDigitised { .. })));
    }

    #[test]
    fn a_payment_request_takes_the_catalog_fee_and_never_invents_one() {
        use crate::catalog::{Fee, FeeOption};
        let mut d = domain();
        let p = d.catalog.procedures().next().unwrap().clone();
        let a = d.catalog.agencies().next().unwrap().code.clone();
        let dossier =
            crate::Dossier { procedure: Some(p.code.clone()), receiving_agency: Some(a), ..Default::default() };
        let ask = EventKind::PaymentRequested { reason: String::new(), amount_vnd: None };
        let set_fee = |d: &mut Domain, fee: Option<Fee>| {
            let mut catalog = d.catalog.clone();
            catalog.set_fee(&p.code, fee);
            *d = Domain::new(d.calendar.clone(), catalog, d.classify);
        };
        set_fee(&mut d, Some(Fee::Fixed { vnd: 8_000 }));
        assert_eq!(
            d.complete(&dossier, ask.clone()).unwrap(),
            EventKind::PaymentRequested { reason: String::new(), amount_vnd: Some(8_000) }
        );
        // A typed amount wins.
        let typed = EventKind::PaymentRequested { reason: String::new(), amount_vnd: Some(3_000) };
        assert_eq!(d.complete(&dossier, typed.clone()).unwrap(), typed);
        set_fee(&mut d, None);
        assert_eq!(d.complete(&dossier, ask.clone()).unwrap(), ask, "no fee in the catalog: unknown, not zero");
        set_fee(
            &mut d,
            Some(Fee::Options {
                options: vec![
                    FeeOption { name: "Nhận tại chỗ".into(), vnd: 10_000 },
                    FeeOption { name: "Gửi bưu điện".into(), vnd: 25_000 },
                ],
            }),
        );
        let err = d.complete(&dossier, ask).unwrap_err().to_string();
        assert!(err.contains("Nhận tại chỗ: 10000 VND; Gửi bưu điện: 25000 VND"), "{err}");
    }

    #[test]
    fn digitised_papers_at_intake_are_on_the_checklist() {
        let d = domain();
        let p = d.catalog.procedures().next().unwrap();
        let a = d.catalog.agencies().next().unwrap();
        let form = |digitised: Option<Vec<&str>>| IntakeForm {
            procedure: p.code.to_string(),
            agency: a.code.to_string(),
            applicant: "Lê Văn C".into(),
            documents: vec![DocumentSpec { name: "Tờ khai".into(), copy: String::new(), count: 1 }],
            digitised: digitised.map(|v| v.into_iter().map(String::from).collect()),
            ..IntakeForm::default()
        };
        assert_eq!(form(None).check(&d, FieldStyle::Flag).unwrap().digitised, None);
        assert_eq!(form(Some(vec![])).check(&d, FieldStyle::Flag).unwrap().digitised, Some(vec![]));
        assert_eq!(
            form(Some(vec!["Tờ khai", "Tờ khai"])).check(&d, FieldStyle::Flag).unwrap().digitised,
            Some(vec!["Tờ khai".to_string()])
        );
        assert!(matches!(
            form(Some(vec!["Sổ đỏ"])).check(&d, FieldStyle::Flag),
            Err(CommandError::DigitisedNotInChecklist(_))
        ));
        // After intake: the same rule against the dossier's checklist; none kept, any name.
        let kept = [DocumentItem { name: "Tờ khai".into(), copy: CopyKind::Original, count: 1 }];
        assert_eq!(digitised_in_checklist(&kept, &["Tờ khai".into()]), Ok(()));
        assert_eq!(
            digitised_in_checklist(&kept, &["Tờ khai".into(), "Sổ đỏ".into()]),
            Err(CommandError::DigitisedNotInChecklist("Sổ đỏ".into()))
        );
        assert_eq!(digitised_in_checklist(&[], &["Sổ đỏ".into()]), Ok(()));
    }

    #[test]
    fn id_numbers() {
        assert_eq!(id_number(" 048190000123 ").unwrap(), "048190000123");
        assert!(id_number("12345").is_err());
        assert!(id_number("04819000012x").is_err());
    }

    #[test]
    fn document_lines_parse_and_check() {
        let d = DocumentSpec::parse_flag("Tờ khai:original:1").unwrap().check().unwrap();
        assert_eq!(d, DocumentItem { name: "Tờ khai".into(), copy: CopyKind::Original, count: 1 });
        let d = DocumentSpec::parse_flag("Giấy khai sinh:bản sao:2").unwrap().check().unwrap();
        assert_eq!((d.copy, d.count), (CopyKind::Copy, 2));
        let d = DocumentSpec::parse_flag("CCCD:photocopy").unwrap().check().unwrap();
        assert_eq!((d.name.as_str(), d.copy, d.count), ("CCCD", CopyKind::Photocopy, 1));
        // A colon in the name survives when the tail is not a kind.
        let d = DocumentSpec::parse_flag("Văn bản: ủy quyền").unwrap().check().unwrap();
        assert_eq!(d.name, "Văn bản: ủy quyền");
        assert!(matches!(DocumentSpec::parse_flag("A:scan:1"), Err(CommandError::CopyKind(_))));
        assert!(matches!(DocumentSpec::parse_flag("A:original:x"), Err(CommandError::Document(_))));
        assert!(matches!(
            DocumentSpec::parse_flag("A:original:0").unwrap().check(),
            Err(CommandError::DocumentCount { .. })
        ));
        assert!(matches!(DocumentSpec::parse_flag(" :original:1").unwrap().check(), Err(CommandError::Document(_))));
        let many = vec![DocumentSpec { name: "A".into(), copy: String::new(), count: 1 }; MAX_DOCUMENTS + 1];
        assert!(matches!(check_documents(&many), Err(CommandError::TooManyDocuments(_))));
    }
}
