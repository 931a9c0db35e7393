//! The official papers of the one-stop desk (DOMAIN.md §8) as data: which form a rule set
//! prescribes (Circular 01/2018/TT-VPCP for dossiers received until 30/6/2025, Circular
//! 03/2025/TT-VPCP from 1/7/2025; [`LetterForm::for_receipt`] picks it) and what each form prints,
//! computed from a dossier and its log. Rendering (HTML, text, CSV) happens at the edges.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;

use crate::analysis::{Timeliness, analyse};
use crate::calendar::{CalendarError, to_local};
use crate::codes::AgencyCode;
use crate::domain::Domain;
use crate::dossier::{Dossier, Event, EventKind};
use crate::letters::{LetterForm, rules_2025};

/// The rule set a paper follows: the same choice as the apology's ([`LetterForm`]).
pub type RuleSet = LetterForm;

/// One of the desk's papers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    /// Giấy tiếp nhận hồ sơ và hẹn trả kết quả.
    Receipt,
    /// Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ.
    Supplement,
    /// Phiếu từ chối tiếp nhận giải quyết hồ sơ.
    Refusal,
    /// The apology with a new date (its title depends on the rule set).
    Apology,
    /// Phiếu kiểm soát quá trình giải quyết hồ sơ.
    Control,
    /// Sổ theo dõi hồ sơ.
    Book,
}

impl FormKind {
    pub const ALL: [Self; 6] =
        [Self::Receipt, Self::Supplement, Self::Refusal, Self::Apology, Self::Control, Self::Book];

    /// The stable name, as the CLI and the routes take it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Receipt => "receipt",
            Self::Supplement => "supplement",
            Self::Refusal => "refusal",
            Self::Apology => "apology",
            Self::Control => "control",
            Self::Book => "book",
        }
    }

    /// The official paper that stands for a letter printed at the desk for a citizen with no
    /// e-mail address: the receipt (Mẫu 01) for an online dossier's receipt, the supplement
    /// request (Mẫu 02), the apology (Mẫu 04, also the one enclosed with a late result); none for
    /// the others (the result-ready notice has no form; staff notices are not printed).
    pub fn for_letter(kind: crate::letters::MessageKind) -> Option<Self> {
        use crate::letters::MessageKind as M;
        match kind {
            M::Receipt => Some(Self::Receipt),
            M::SupplementRequest => Some(Self::Supplement),
            M::Apology | M::ApologyWithResult => Some(Self::Apology),
            M::ResultReady | M::Reminder | M::AtRisk | M::Escalation | M::Digest => None,
        }
    }

    /// The form's number in the rule set's annex: the 2025 circular inserts the stop notice
    /// (Mẫu 05), so its control sheet is Mẫu 06 and its tracking book Mẫu 07.
    pub fn number(self, rules: RuleSet) -> u8 {
        match (self, rules) {
            (Self::Receipt, _) => 1,
            (Self::Supplement, _) => 2,
            (Self::Refusal, _) => 3,
            (Self::Apology, _) => 4,
            (Self::Control, RuleSet::Circular01of2018) => 5,
            (Self::Control, RuleSet::Circular03of2025) => 6,
            (Self::Book, RuleSet::Circular01of2018) => 6,
            (Self::Book, RuleSet::Circular03of2025) => 7,
        }
    }

    pub fn title_vi(self, rules: RuleSet) -> &'static str {
        match self {
            Self::Receipt => "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
            Self::Supplement => "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
            Self::Refusal => "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
            Self::Apology => rules.title_vi(),
            Self::Control => "Phiếu kiểm soát quá trình giải quyết hồ sơ",
            Self::Book => "Sổ theo dõi hồ sơ",
        }
    }

    pub fn title_en(self, rules: RuleSet) -> &'static str {
        match self {
            Self::Receipt => "Receipt and appointment for the result",
            Self::Supplement => "Request to supplement the dossier",
            Self::Refusal => "Refusal to accept the dossier",
            Self::Apology => rules.title_en(),
            Self::Control => "Control sheet of the dossier's processing",
            Self::Book => "Dossier tracking book",
        }
    }

    /// "Mẫu số 06, Thông tư số 03/2025/TT-VPCP".
    pub fn reference_vi(self, rules: RuleSet) -> String {
        format!("Mẫu số {:02}, {}", self.number(rules), rules.circular_vi())
    }
}

impl fmt::Display for FormKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FormKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL.into_iter().find(|k| k.name() == s.trim()).ok_or_else(|| {
            format!("unknown form {s:?}: expected receipt, supplement, refusal, apology, control or book")
        })
    }
}

impl LetterForm {
    /// "Thông tư số 01/2018/TT-VPCP".
    pub fn circular_vi(self) -> &'static str {
        match self {
            Self::Circular01of2018 => "Thông tư số 01/2018/TT-VPCP",
            Self::Circular03of2025 => "Thông tư số 03/2025/TT-VPCP",
        }
    }

    /// The rule set of a paper about a dossier: by its receipt (or, not yet received, its
    /// registration), else by `fallback` (the day it is printed).
    pub fn for_dossier(d: &Dossier, fallback: DateTime<Utc>) -> Self {
        Self::for_receipt(d.received_at.or(d.registered_at).unwrap_or(fallback))
    }

    /// The rule set of a tracking book whose period ends on `to` (local date, inclusive).
    pub fn for_period_end(to: NaiveDate) -> Self {
        if to < rules_2025() { Self::Circular01of2018 } else { Self::Circular03of2025 }
    }
}

/// The receipt's appointment: the office's closing time on the day the result is due (the
/// receiving desk's calendar), so the citizen reads a time the office is open, never "after
/// 17:00". `None` before the dossier is received.
pub fn appointment(domain: &Domain, d: &Dossier) -> Option<NaiveDateTime> {
    let due = d.original_due_at?;
    let hours = match &d.receiving_agency {
        Some(a) => domain.calendar_for(a).hours(),
        None => domain.calendar.hours(),
    };
    Some(to_local(due).date().and_time(hours.closing()))
}

/// What the supplement request (Mẫu 02) asks for: the latest `supplement_requested` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupplementFacts {
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub reason: String,
    pub documents: Vec<String>,
    /// 1 for the first request, 2 for a second.
    pub n: usize,
}

/// The dossier's latest supplement request, if it has one.
pub fn supplement_facts(events: &[Event]) -> Option<SupplementFacts> {
    let mut n = 0;
    let mut out = None;
    for e in events {
        if let EventKind::SupplementRequested { reason, documents, .. } = &e.kind {
            n += 1;
            out = Some(SupplementFacts {
                at: e.at,
                by: e.by.clone(),
                reason: reason.clone(),
                documents: documents.clone(),
                n,
            });
        }
    }
    out
}

/// Why the dossier was refused at receipt (Mẫu 03).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RefusalFacts {
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub reason: String,
}

/// The dossier's refusal at receipt, if it was refused.
pub fn refusal_facts(events: &[Event]) -> Option<RefusalFacts> {
    events.iter().rev().find_map(|e| match &e.kind {
        EventKind::RefusedAtReceipt { reason, .. } => {
            Some(RefusalFacts { at: e.at, by: e.by.clone(), reason: reason.clone() })
        }
        _ => None,
    })
}

/// Who takes the dossier in a control-sheet row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "agency")]
pub enum Receiver {
    Agency(AgencyCode),
    /// The result handed back to the citizen.
    Citizen,
}

/// One row of the control sheet (Mẫu 05 / Mẫu 06 from 2025): one handoff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControlRow {
    pub from: AgencyCode,
    pub to: Receiver,
    /// When the giver handed it over.
    pub handed_at: DateTime<Utc>,
    /// When the receiver took it (`None` while pending).
    pub received_at: Option<DateTime<Utc>>,
    /// How the giver's own step went against its route budget (the last row: the dossier's
    /// result against its due date); `None` where nothing is judged (the desk's first row
    /// when the route gives it no budget is still judged, as 0 minutes early or late).
    pub result: Option<Timeliness>,
}

/// The control sheet's rows, from core's analysis of the dossier as of `as_of`: each transfer
/// (the giving agency's step judged against its route budget), then the result coming back to
/// the desk and handed to the citizen.
pub fn control_rows(domain: &Domain, d: &Dossier, as_of: DateTime<Utc>) -> Result<Vec<ControlRow>, CalendarError> {
    let (Some(procedure), Some(receiving)) = (domain.procedure_of(d).ok(), d.receiving_agency.as_ref()) else {
        return Ok(Vec::new());
    };
    let cal = domain.calendar_for(receiving);
    let a = analyse(d, procedure, cal, as_of, domain.classify)?;
    let mut rows: Vec<ControlRow> = a
        .handoffs
        .iter()
        .map(|h| ControlRow {
            from: h.from.clone(),
            to: Receiver::Agency(h.to.clone()),
            handed_at: h.sent_at,
            received_at: h.accepted_at,
            result: a
                .dwell
                .iter()
                .find(|x| x.agency == h.from && x.until == Some(h.sent_at))
                .and_then(|x| x.timeliness),
        })
        .collect();
    if let Some(finished) = d.finished_at {
        let last = d.holder.clone().unwrap_or_else(|| receiving.clone());
        if last != *receiving {
            rows.push(ControlRow {
                from: last,
                to: Receiver::Agency(receiving.clone()),
                handed_at: finished,
                received_at: Some(finished),
                result: a.timeliness,
            });
        }
        if let Some(returned) = d.returned_at {
            rows.push(ControlRow {
                from: receiving.clone(),
                to: Receiver::Citizen,
                handed_at: returned,
                received_at: Some(returned),
                result: a.timeliness,
            });
        }
    }
    Ok(rows)
}

/// One line of the tracking book (Mẫu 06 / Mẫu 07 from 2025).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookRow {
    pub code: String,
    pub procedure: String,
    pub procedure_name: String,
    /// Number of sets received (one dossier, one set).
    pub sets: u32,
    pub applicant: String,
    pub address: String,
    pub phone: String,
    /// The agency that leads the processing.
    pub lead_agency: String,
    pub received_at: Option<DateTime<Utc>>,
    pub appointment: Option<NaiveDateTime>,
    /// First handed to an agency other than the desk.
    pub transferred_at: Option<DateTime<Utc>>,
    /// The result back at the desk (resolved).
    pub result_at: Option<DateTime<Utc>>,
    /// Handed to the citizen.
    pub returned_at: Option<DateTime<Utc>>,
    pub timeliness: Option<Timeliness>,
}

impl BookRow {
    /// The book's line for a dossier (its catalog names in Vietnamese).
    pub fn of(domain: &Domain, d: &Dossier) -> Self {
        let procedure = domain.procedure_of(d).ok();
        let lead =
            d.receiving_agency.as_ref().map(|a| procedure.map_or_else(|| a.clone(), |p| domain.lead_agency(p, a)));
        let timeliness = d.finished_at.zip(d.due_at).map(|(f, due)| crate::analysis::classify(f, due, domain.classify));
        Self {
            code: d.code.as_ref().map(ToString::to_string).unwrap_or_default(),
            procedure: d.procedure.as_ref().map(ToString::to_string).unwrap_or_default(),
            procedure_name: procedure.map(|p| p.name.clone()).unwrap_or_default(),
            sets: 1,
            applicant: d.applicant.name.clone(),
            address: d.applicant.address.clone().unwrap_or_default(),
            phone: d.applicant.phone.as_ref().map(ToString::to_string).unwrap_or_default(),
            lead_agency: lead
                .map(|a| domain.catalog.agency(&a).map_or_else(|| a.to_string(), |x| x.name.clone()))
                .unwrap_or_default(),
            received_at: d.received_at,
            appointment: appointment(domain, d),
            transferred_at: d.handoffs.first().map(|h| h.sent_at),
            result_at: d.finished_at,
            returned_at: d.returned_at,
            timeliness,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn numbers_and_titles_follow_the_rule_set() {
        let old = RuleSet::Circular01of2018;
        let new = RuleSet::Circular03of2025;
        assert_eq!(FormKind::Control.number(old), 5);
        assert_eq!(FormKind::Control.number(new), 6);
        assert_eq!(FormKind::Book.number(old), 6);
        assert_eq!(FormKind::Book.number(new), 7);
        assert_eq!(FormKind::Book.reference_vi(new), "Mẫu số 07, Thông tư số 03/2025/TT-VPCP");
        assert_eq!(FormKind::Apology.title_vi(old), "Phiếu xin lỗi và hẹn lại ngày trả kết quả");
        assert_eq!(FormKind::Apology.title_vi(new), "Văn bản xin lỗi và đề nghị gia hạn thời gian giải quyết");
        for k in FormKind::ALL {
            assert_eq!(k.name().parse::<FormKind>().unwrap(), k);
        }
        assert!("letter".parse::<FormKind>().is_err());
    }

    #[test]
    fn the_rule_set_changes_on_1_july_2025_local_time() {
        // 30/6/2025 23:59 in Vietnam is 16:59 UTC.
        let before = Utc.with_ymd_and_hms(2025, 6, 30, 16, 59, 0).unwrap();
        let after = Utc.with_ymd_and_hms(2025, 6, 30, 17, 0, 0).unwrap();
        assert_eq!(LetterForm::for_receipt(before), RuleSet::Circular01of2018);
        assert_eq!(LetterForm::for_receipt(after), RuleSet::Circular03of2025);
        assert_eq!(
            LetterForm::for_period_end(NaiveDate::from_ymd_opt(2025, 6, 30).unwrap()),
            RuleSet::Circular01of2018
        );
        assert_eq!(LetterForm::for_period_end(NaiveDate::from_ymd_opt(2025, 7, 1).unwrap()), RuleSet::Circular03of2025);
    }

    #[test]
    fn supplement_and_refusal_come_from_the_log() {
        let t = Utc.with_ymd_and_hms(2025, 3, 3, 2, 0, 0).unwrap();
        let ev = |kind| Event { at: t, by: Some("an".into()), backdate_reason: None, kind };
        let events = vec![
            ev(EventKind::SupplementRequested {
                reason: "thiếu".into(),
                documents: vec!["A".into()],
                reason_code: None,
            }),
            ev(EventKind::SupplementSupplied),
            ev(EventKind::SupplementRequested {
                reason: "lần hai".into(),
                documents: vec!["B".into()],
                reason_code: None,
            }),
        ];
        let s = supplement_facts(&events).unwrap();
        assert_eq!((s.n, s.reason.as_str(), s.documents.clone()), (2, "lần hai", vec!["B".to_string()]));
        assert!(refusal_facts(&events).is_none());
        let r =
            refusal_facts(&[ev(EventKind::RefusedAtReceipt { reason: "sai thủ tục".into(), reason_code: None })])
                .unwrap();
        assert_eq!(r.reason, "sai thủ tục");
    }
}
