//! The desk's and agencies' commands as typed input, turned into events: the one place where a
//! form field, a command-line flag or a JSON property becomes an [`EventKind`] or an intake.
//! The CLI (`motcua transfer …`) and the server (`POST /api/v1/dossiers/{code}/transfer`, the
//! web forms) both call this, so they accept and refuse exactly the same input.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::calendar::from_local;
use crate::codes::{AgencyCode, ParseError, ProcedureCode};
use crate::domain::{Domain, DomainError};
use crate::dossier::{Applicant, Channel, EventKind, Outcome};

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
    #[error("invalid channel {0:?}: expected in_person, online or postal")]
    Channel(String),
    #[error("invalid ID number {0:?}: expected 12 digits (CCCD) or 9 digits")]
    IdNumber(String),
    #[error("invalid date {0:?}: expected YYYY-MM-DD (or an RFC 3339 instant)")]
    Date(String),
    #[error(transparent)]
    Domain(#[from] DomainError),
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
    Transfer { to: String },
    Accept,
    AcceptOnline,
    RefuseOnline { reason: String },
    RequestSupplement { reason: String, documents: Vec<String> },
    Supplement,
    RequestPayment { reason: String },
    Paid,
    Reschedule { to: String, reason: String, responsible: Option<String>, override_second: bool },
    Resolve { refused: bool, reason: Option<String> },
    Return,
    Withdraw { reason: String },
    Stop { reason: String },
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
            Self::Paid => "paid",
            Self::Reschedule { .. } => "reschedule",
            Self::Resolve { .. } => "resolve",
            Self::Return => "return",
            Self::Withdraw { .. } => "withdraw",
            Self::Stop { .. } => "stop",
        }
    }

    /// The event this command records, with every field checked.
    pub fn event_kind(&self, domain: &Domain, style: FieldStyle) -> Result<EventKind, CommandError> {
        let reason_field = style.name("reason", "--reason");
        Ok(match self {
            Self::Transfer { to } => EventKind::Transferred { to: agency(to)? },
            Self::Accept => EventKind::Accepted,
            Self::AcceptOnline => EventKind::AcceptedOnline,
            Self::RefuseOnline { reason } => EventKind::RefusedAtReceipt { reason: non_empty(reason, reason_field)? },
            Self::RequestSupplement { reason, documents } => EventKind::SupplementRequested {
                reason: non_empty(reason, reason_field)?,
                documents: documents.iter().filter(|d| !d.trim().is_empty()).cloned().collect(),
            },
            Self::Supplement => EventKind::SupplementSupplied,
            Self::RequestPayment { reason } => EventKind::PaymentRequested { reason: reason.clone() },
            Self::Paid => EventKind::Paid,
            Self::Reschedule { to, reason, responsible, override_second } => EventKind::Rescheduled {
                to: appointment(domain, to)?,
                reason: non_empty(reason, reason_field)?,
                responsible: responsible.as_deref().filter(|s| !s.trim().is_empty()).map(agency).transpose()?,
                automatic: false,
                override_second: *override_second,
            },
            Self::Resolve { refused, reason } => {
                if *refused && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    return Err(CommandError::RefusalWithoutReason { field: reason_field });
                }
                EventKind::Resolved {
                    outcome: if *refused { Outcome::Refused } else { Outcome::Approved },
                    reason: reason.clone().filter(|r| !r.trim().is_empty()),
                }
            }
            Self::Return => EventKind::Returned,
            Self::Withdraw { reason } => EventKind::Withdrawn { reason: reason.clone() },
            Self::Stop { reason } => EventKind::Stopped { reason: non_empty(reason, reason_field)? },
        })
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
}

/// A checked intake: what the store needs to open a dossier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedIntake {
    pub procedure: ProcedureCode,
    pub agency: AgencyCode,
    pub applicant: Applicant,
    pub channel: Channel,
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
            name: non_empty(&self.applicant, style.name("applicant", "--applicant"))?,
            email: present(&self.email).map(|s| s.parse()).transpose()?,
            phone: present(&self.phone).map(|s| s.parse()).transpose()?,
            id_number: present(&self.id_number).map(|s| id_number(&s)).transpose()?,
            address: present(&self.address),
        };
        Ok(CheckedIntake { procedure, agency, applicant, channel })
    }
}

fn agency(s: &str) -> Result<AgencyCode, CommandError> {
    Ok(s.trim().parse::<AgencyCode>()?)
}

fn non_empty(s: &str, field: &'static str) -> Result<String, CommandError> {
    let s = s.trim();
    if s.is_empty() { Err(CommandError::Empty { field }) } else { Ok(s.to_string()) }
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

/// A new appointment: a date (due by that day's closing) or an instant.
pub fn appointment(domain: &Domain, s: &str) -> Result<DateTime<Utc>, CommandError> {
    if let Ok(d) = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(from_local(d.and_time(domain.calendar.hours().closing())));
    }
    parse_instant(s).ok_or_else(|| CommandError::Date(s.to_string()))
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

    #[test]
    fn id_numbers() {
        assert_eq!(id_number(" 048190000123 ").unwrap(), "048190000123");
        assert!(id_number("12345").is_err());
        assert!(id_number("04819000012x").is_err());
    }
}
