//! The messages a petition, complaint or denunciation owes people, as data (the item's
//! counterpart of [`crate::letters`]):
//!
//! - **implied by an event** ([`implied_messages`]): the citizen is told when the item is
//!   accepted (thụ lý), answered, forwarded to another body (or the citizen guided to it) and
//!   when a time limit is extended. The store writes them in the event's own transaction.
//! - **due at an instant** ([`reminder_messages`]): the responsible agency's officers are warned
//!   when the next step's due instant comes within [`AT_RISK_WORKING_DAYS`] working days (at
//!   risk), and reminded when it enters its last working day. The worker's scheduler asks for
//!   the bounds ([`at_risk_horizon`]) and the candidates, as for dossiers.
//!
//! A citizen with no e-mail address gets the letter printed at the responsible agency's desk.
//! Each message has a dedupe key `kind:item:key:recipient`, so writing it twice adds nothing:
//! an event's messages are keyed by the event's number in the log, a reminder by the step and
//! its due instant (an extension's new due instant earns a new one).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::CalendarError;
use crate::codes::AgencyCode;
use crate::domain::Domain;
use crate::letters::{AgencyFacts, Audience, Recipient};
use crate::petition::{Item, ItemCode, ItemEvent, ItemEventKind, ItemStatus, Kind, NextStep};

/// An item's next step is at risk when its due instant is at most this many working days away.
pub const AT_RISK_WORKING_DAYS: i64 = 3;

/// What an item's message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemMessageKind {
    /// To the citizen: the item was accepted within competence; when the answer is due.
    Accepted,
    /// To the citizen: the answer (decision, conclusion or reply) and how to rate it.
    Answered,
    /// To the citizen: the item was forwarded to a named body, or the citizen guided to it.
    Forwarded,
    /// To the citizen: a time limit was extended; the new due instant and the reason.
    Extended,
    /// To the agency's officers: the next step is due within its last working day.
    Reminder,
    /// To the agency's officers: the next step is due within [`AT_RISK_WORKING_DAYS`].
    AtRisk,
}

impl ItemMessageKind {
    pub const ALL: [Self; 6] =
        [Self::Accepted, Self::Answered, Self::Forwarded, Self::Extended, Self::Reminder, Self::AtRisk];

    /// The stable name, as stored in the outbox's `kind` and used for template file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Accepted => "petition_accepted",
            Self::Answered => "petition_answered",
            Self::Forwarded => "petition_forwarded",
            Self::Extended => "petition_extended",
            Self::Reminder => "petition_reminder",
            Self::AtRisk => "petition_at_risk",
        }
    }

    /// A notice to staff (not a citizen's letter).
    pub fn is_staff_notice(self) -> bool {
        matches!(self, Self::Reminder | Self::AtRisk)
    }
}

impl fmt::Display for ItemMessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ItemMessageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| format!("unknown item message kind {s:?}"))
    }
}

/// An item as a message describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemFacts {
    pub code: ItemCode,
    pub kind: Kind,
    /// "Kiến nghị, phản ánh", "Khiếu nại", "Tố cáo".
    pub kind_vi: String,
    pub status: ItemStatus,
    pub status_vi: String,
    pub applicant_name: String,
    pub received_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dossier: Option<String>,
    /// The step owed and its due instant (none once the item is closed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_step: Option<NextStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The body the item was forwarded or the citizen guided to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_to: Option<String>,
    /// Guided (hướng dẫn) rather than forwarded (chuyển đơn).
    #[serde(default)]
    pub guided: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve_late: Option<bool>,
}

/// The payload of an item's outbox row: what its template sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemLetter {
    pub kind: ItemMessageKind,
    pub audience: Audience,
    pub issued_at: DateTime<Utc>,
    pub item: ItemFacts,
    /// The responsible agency, on whose behalf the message goes.
    pub agency: AgencyFacts,
    /// For an extension: its reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension_reason: Option<String>,
    /// Working minutes left to the next step's due instant (reminders and at-risk warnings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_working_minutes: Option<i64>,
    /// Printed at the agency's desk (the citizen gave no e-mail address).
    #[serde(default)]
    pub print_at_desk: bool,
}

/// One message to write to the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemMessageIntent {
    pub kind: ItemMessageKind,
    pub code: ItemCode,
    /// The part of the dedupe key after the item's code.
    pub key: String,
    pub recipient: Recipient,
    pub at: DateTime<Utc>,
    pub letter: ItemLetter,
}

impl ItemMessageIntent {
    /// `kind:item:key:recipient`: unique in the outbox.
    pub fn dedupe_key(&self) -> String {
        format!("{}:{}:{}:{}", self.kind.name(), self.code, self.key, self.recipient)
    }

    pub fn payload(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&self.letter)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ItemLetterError {
    #[error("the item has no {0}")]
    Missing(&'static str),
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

fn agency_facts(domain: &Domain, code: &AgencyCode) -> AgencyFacts {
    domain.catalog.agency(code).map_or_else(|| AgencyFacts::unknown(code), AgencyFacts::of)
}

fn facts(item: &Item) -> Result<ItemFacts, ItemLetterError> {
    let status = item.status.ok_or(ItemLetterError::Missing("status"))?;
    let kind = item.kind.ok_or(ItemLetterError::Missing("kind"))?;
    let next = item.next_step();
    Ok(ItemFacts {
        code: item.code.clone().ok_or(ItemLetterError::Missing("code"))?,
        kind,
        kind_vi: kind.name_vi().to_string(),
        status,
        status_vi: status.name_vi().to_string(),
        applicant_name: item.applicant.name.clone(),
        received_at: item.received_at.ok_or(ItemLetterError::Missing("receipt"))?,
        dossier: item.dossier.as_ref().map(ToString::to_string),
        next_step: next.map(|n| n.0),
        next_due_at: next.map(|n| n.1),
        answer: item.answer.clone(),
        reason: item.reason.clone(),
        sent_to: item.sent_to.clone(),
        guided: status == ItemStatus::Guided,
        resolve_late: item.resolve_late,
    })
}

/// The messages `event` (just applied: `after` is the item with it, its `event_count`-th)
/// implies: to the citizen at acceptance, answer, forward or guidance, and extension — by
/// e-mail, or printed at the responsible agency's desk when the citizen gave no address.
pub fn implied_messages(
    domain: &Domain,
    after: &Item,
    event: &ItemEvent,
) -> Result<Vec<ItemMessageIntent>, ItemLetterError> {
    let (kind, extension_reason) = match &event.kind {
        ItemEventKind::Accepted { .. } => (ItemMessageKind::Accepted, None),
        ItemEventKind::Answered { .. } => (ItemMessageKind::Answered, None),
        ItemEventKind::Forwarded { .. } | ItemEventKind::Guided { .. } => (ItemMessageKind::Forwarded, None),
        ItemEventKind::Extended { reason, .. } => (ItemMessageKind::Extended, Some(reason.clone())),
        _ => return Ok(Vec::new()),
    };
    let agency = after.agency.clone().ok_or(ItemLetterError::Missing("agency"))?;
    let (recipient, print_at_desk) = match &after.applicant.email {
        Some(e) => (Recipient::Email(e.clone()), false),
        None => (Recipient::Desk(agency.clone()), true),
    };
    let item = facts(after)?;
    let letter = ItemLetter {
        kind,
        audience: Audience::Citizen,
        issued_at: event.at,
        agency: agency_facts(domain, &agency),
        item,
        extension_reason,
        remaining_working_minutes: None,
        print_at_desk,
    };
    Ok(vec![ItemMessageIntent {
        kind,
        code: letter.item.code.clone(),
        key: after.event_count.to_string(),
        recipient,
        at: event.at,
        letter,
    }])
}

/// The latest due instant the scheduler looks at, at `now`: `AT_RISK_WORKING_DAYS` working
/// days ahead on every agency's calendar. Open items whose next step is due in `(now,
/// horizon]` are the candidates.
pub fn at_risk_horizon(domain: &Domain, now: DateTime<Utc>) -> Result<DateTime<Utc>, CalendarError> {
    let span = |cal: &crate::Calendar| cal.hours().day_seconds() * AT_RISK_WORKING_DAYS;
    let mut horizon = domain.calendar.add_working_seconds(now, span(&domain.calendar))?;
    for a in domain.catalog.agencies() {
        let cal = domain.calendar_for(&a.code);
        horizon = horizon.max(cal.add_working_seconds(now, span(cal))?);
    }
    Ok(horizon)
}

/// The notices owed at `now` to an open item's responsible agency (its officers' address):
/// the at-risk warning once its next step is due within [`AT_RISK_WORKING_DAYS`] working days,
/// and the reminder once within its last working day (the reminder only, when both hold at
/// the first look). Empty when the step is not near, already past, or the agency has no
/// address. Keyed by the step and its due instant, so each is sent once per due instant.
pub fn reminder_messages(
    domain: &Domain,
    item: &Item,
    now: DateTime<Utc>,
) -> Result<Vec<ItemMessageIntent>, ItemLetterError> {
    let Some((step, due)) = item.next_step() else { return Ok(Vec::new()) };
    if due <= now {
        return Ok(Vec::new());
    }
    let agency = item.agency.clone().ok_or(ItemLetterError::Missing("agency"))?;
    let Some(to) = domain.catalog.agency(&agency).and_then(|a| a.email.clone()) else { return Ok(Vec::new()) };
    let cal = domain.calendar_for(item.filed_agency.as_ref().unwrap_or(&agency));
    let left = cal.working_seconds_between(now, due)?;
    let day = cal.hours().day_seconds();
    let kind = if left <= day {
        ItemMessageKind::Reminder
    } else if left <= day * AT_RISK_WORKING_DAYS {
        ItemMessageKind::AtRisk
    } else {
        return Ok(Vec::new());
    };
    let letter = ItemLetter {
        kind,
        audience: Audience::Officers,
        issued_at: now,
        agency: agency_facts(domain, &agency),
        item: facts(item)?,
        extension_reason: None,
        remaining_working_minutes: Some(left / 60),
        print_at_desk: false,
    };
    Ok(vec![ItemMessageIntent {
        kind,
        code: letter.item.code.clone(),
        key: format!("{}.{}", step.name(), due.timestamp()),
        recipient: Recipient::Email(to),
        at: now,
        letter,
    }])
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::calendar::vn_offset;
    use crate::dossier::Applicant;
    use crate::petition::{Complexity, ItemChannel, ItemIntake, replay};
    use chrono::{NaiveDateTime, TimeZone};

    fn domain() -> Domain {
        let catalog = crate::catalog::Catalog::from_toml(
            include_str!("../../../config/catalog/agencies.toml"),
            include_str!("../../../config/catalog/procedures.toml"),
        )
        .unwrap();
        Domain::new(crate::calendar::testdata::vn_calendar(), catalog, crate::analysis::ClassifyMode::DateTime)
    }

    fn vn(s: &str) -> DateTime<Utc> {
        let t = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        vn_offset().from_local_datetime(&t).single().unwrap().with_timezone(&Utc)
    }

    const WARD: &str = "000.00.41.H17";

    fn filed(email: Option<&str>) -> ItemEvent {
        let intake = ItemIntake {
            code: "KN-260706-0001".parse().unwrap(),
            kind: Kind::Complaint,
            agency: WARD.parse().unwrap(),
            applicant: Applicant {
                name: "Nguyễn Thị Lan".into(),
                email: email.map(|e| e.parse().unwrap()),
                ..Applicant::default()
            },
            text: "Quá hạn".into(),
            dossier: None,
            channel: ItemChannel::Online,
            answer_limit: None,
        };
        ItemEvent::new(vn("2026-07-06 09:00"), None, ItemEventKind::Filed { intake })
    }

    fn accepted() -> ItemEvent {
        let kind = ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false };
        ItemEvent::new(vn("2026-07-07 09:00"), Some("can-bo".into()), kind)
    }

    #[test]
    fn the_citizen_is_told_at_acceptance_by_mail_or_at_the_desk() {
        let d = domain();
        let events = [filed(Some("lan@example.vn")), accepted()];
        let item = replay(&d, &events).unwrap();
        let m = implied_messages(&d, &item, &events[1]).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].dedupe_key(), "petition_accepted:KN-260706-0001:2:lan@example.vn");
        assert_eq!(m[0].letter.item.next_due_at, Some(vn("2026-08-06 17:00")), "30 days from acceptance");
        assert!(!m[0].letter.print_at_desk);
        // No address: printed at the responsible agency's desk.
        let events = [filed(None), accepted()];
        let item = replay(&d, &events).unwrap();
        let m = implied_messages(&d, &item, &events[1]).unwrap();
        assert_eq!(m[0].recipient.to_string(), format!("desk:{WARD}"));
        assert!(m[0].letter.print_at_desk);
        // Filing and a refusal imply nothing; the payload round-trips.
        assert!(implied_messages(&d, &replay(&d, &events[..1]).unwrap(), &events[0]).unwrap().is_empty());
        let back: ItemLetter = serde_json::from_str(&m[0].payload().unwrap()).unwrap();
        assert_eq!(back, m[0].letter);
    }

    #[test]
    fn the_agency_is_warned_at_risk_then_reminded_on_the_last_day_once_per_due_instant() {
        let d = domain();
        let events = [filed(Some("lan@example.vn")), accepted()];
        let item = replay(&d, &events).unwrap();
        let due = vn("2026-08-06 17:00");
        assert!(reminder_messages(&d, &item, vn("2026-07-20 09:00")).unwrap().is_empty(), "far from due");
        let w = reminder_messages(&d, &item, vn("2026-08-04 16:00")).unwrap();
        assert_eq!((w.len(), w[0].kind), (1, ItemMessageKind::AtRisk));
        assert_eq!(w[0].recipient.to_string(), "motcua@haichau.danang.example");
        assert_eq!(w[0].key, format!("resolve.{}", due.timestamp()));
        let r = reminder_messages(&d, &item, vn("2026-08-06 09:00")).unwrap();
        assert_eq!((r[0].kind, r[0].letter.remaining_working_minutes), (ItemMessageKind::Reminder, Some(360)));
        assert!(reminder_messages(&d, &item, vn("2026-08-06 17:30")).unwrap().is_empty(), "past due");
        // The scheduler's window reaches that due instant from the at-risk look.
        assert!(at_risk_horizon(&d, vn("2026-08-04 16:00")).unwrap() >= due);
    }
}
