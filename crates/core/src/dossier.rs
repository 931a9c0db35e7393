//! The dossier (hồ sơ) state machine with the national status codes (DOMAIN.md §3) and its SLA
//! clock (§4.3). Applying a dossier's events in order yields its full state; an illegal event is
//! a typed error and leaves the state untouched.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::from_local;
use crate::calendar::{Calendar, CalendarError};
use crate::catalog::{Procedure, WaitMode};
use crate::codes::{AgencyCode, DossierCode, Email, Phone, ProcedureCode};
use crate::deadlines::{Step, WaitKind, deadline, due_instant, start_instant};

/// National status codes (trạng thái hồ sơ), synchronised 1:1 with the national portal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    RegisteredOnline = 1,
    Received = 2,
    RefusedAtReceipt = 3,
    Processing = 4,
    SupplementRequested = 5,
    PaymentRequested = 6,
    Withdrawn = 7,
    Stopped = 8,
    Done = 9,
    Returned = 10,
}

impl Status {
    pub const ALL: [Status; 10] = [
        Self::RegisteredOnline,
        Self::Received,
        Self::RefusedAtReceipt,
        Self::Processing,
        Self::SupplementRequested,
        Self::PaymentRequested,
        Self::Withdrawn,
        Self::Stopped,
        Self::Done,
        Self::Returned,
    ];

    pub fn code(self) -> u8 {
        self as u8
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The status's stable English name (`processing`, `supplement_requested`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::RegisteredOnline => "registered_online",
            Self::Received => "received",
            Self::RefusedAtReceipt => "refused_at_receipt",
            Self::Processing => "processing",
            Self::SupplementRequested => "supplement_requested",
            Self::PaymentRequested => "payment_requested",
            Self::Withdrawn => "withdrawn",
            Self::Stopped => "stopped",
            Self::Done => "done",
            Self::Returned => "returned",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::RegisteredOnline => "Mới đăng ký trực tuyến",
            Self::Received => "Đã tiếp nhận",
            Self::RefusedAtReceipt => "Từ chối tiếp nhận",
            Self::Processing => "Đang xử lý",
            Self::SupplementRequested => "Yêu cầu bổ sung",
            Self::PaymentRequested => "Chờ thực hiện nghĩa vụ tài chính",
            Self::Withdrawn => "Công dân rút hồ sơ",
            Self::Stopped => "Dừng xử lý",
            Self::Done => "Đã có kết quả",
            Self::Returned => "Đã trả kết quả",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name().replace('_', " "))
    }
}

/// How the dossier reached the desk (KenhThucHien).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    #[default]
    InPerson = 1,
    Online = 2,
    Postal = 3,
}

impl Channel {
    pub fn name(self) -> &'static str {
        match self {
            Self::InPerson => "in_person",
            Self::Online => "online",
            Self::Postal => "postal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in_person" => Some(Self::InPerson),
            "online" => Some(Self::Online),
            "postal" => Some(Self::Postal),
            _ => None,
        }
    }
}

/// How a fee was paid (hình thức thanh toán).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentMethod {
    /// Tiền mặt, at the desk.
    Cash,
    /// Chuyển khoản to the agency's account.
    BankTransfer,
    /// Through the national payment platform or a bank's QR code (thanh toán trực tuyến).
    Online,
    /// Miễn: nothing to pay (an exemption).
    Exempt,
}

impl PaymentMethod {
    pub const ALL: [Self; 4] = [Self::Cash, Self::BankTransfer, Self::Online, Self::Exempt];

    /// The stable name, as stored and typed (`cash`, `bank_transfer`, `online`, `exempt`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::BankTransfer => "bank_transfer",
            Self::Online => "online",
            Self::Exempt => "exempt",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s.trim())
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Cash => "Tiền mặt",
            Self::BankTransfer => "Chuyển khoản",
            Self::Online => "Thanh toán trực tuyến",
            Self::Exempt => "Miễn phí, lệ phí",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Self::Cash => "Cash",
            Self::BankTransfer => "Bank transfer",
            Self::Online => "Online payment",
            Self::Exempt => "Exempt",
        }
    }
}

/// The applicant (chủ hồ sơ).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Applicant {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// What the desk records at intake.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub code: DossierCode,
    pub procedure: ProcedureCode,
    pub agency: AgencyCode,
    pub applicant: Applicant,
    #[serde(default)]
    pub channel: Channel,
    /// The papers handed over (the receipt's checklist); absent in logs written before the
    /// desk kept one, and for a dossier taken without it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<DocumentItem>,
    /// The names of the handed-over papers that the desk digitised (số hóa) at intake; `None`
    /// when the desk did not say (every log written before it could), `Some([])` when it said
    /// none was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digitised: Option<Vec<String>>,
}

/// In what form a paper was handed over: the receipt's Bản chính / Bản sao / Bản photo columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CopyKind {
    /// Bản chính.
    Original,
    /// Bản sao (certified copy).
    Copy,
    /// Bản photo (plain photocopy).
    Photocopy,
}

impl CopyKind {
    pub const ALL: [Self; 3] = [Self::Original, Self::Copy, Self::Photocopy];

    /// The stable name, as stored and typed (`original`, `copy`, `photocopy`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Original => "original",
            Self::Copy => "copy",
            Self::Photocopy => "photocopy",
        }
    }

    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Original => "Bản chính",
            Self::Copy => "Bản sao",
            Self::Photocopy => "Bản photo",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Self::Original => "Original",
            Self::Copy => "Certified copy",
            Self::Photocopy => "Photocopy",
        }
    }

    /// The stable name, its Vietnamese words (`bản chính`, `chính`, …) or `certified_copy`.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_lowercase();
        match s.as_str() {
            "original" | "bản chính" | "ban chinh" | "chính" | "chinh" => Some(Self::Original),
            "copy" | "certified_copy" | "bản sao" | "ban sao" | "sao" => Some(Self::Copy),
            "photocopy" | "photo" | "bản photo" | "ban photo" => Some(Self::Photocopy),
            _ => None,
        }
    }
}

/// One line of the document checklist: which paper, in what form, how many.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentItem {
    pub name: String,
    pub copy: CopyKind,
    pub count: u32,
}

/// Result of a resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Approved,
    Refused,
}

/// What happened to a dossier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// Submitted on the portal, not yet accepted (status 1).
    RegisteredOnline {
        intake: Intake,
    },
    /// An online submission accepted by the desk: the receipt is issued, the clock starts.
    AcceptedOnline,
    /// Received at the desk (status 2): the receipt is issued, the clock starts.
    Received {
        intake: Intake,
    },
    /// An online submission refused at receipt (status 3, no clock).
    RefusedAtReceipt {
        reason: String,
        /// A code of [`crate::delay::DelayReasons`] (absent in older logs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_code: Option<String>,
    },
    /// Sent by the holder to another agency (liên thông).
    Transferred {
        to: AgencyCode,
    },
    /// The pending transfer accepted by its recipient; on a received dossier (status 2), the
    /// receiving agency taking it into processing itself.
    Accepted,
    SupplementRequested {
        reason: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        documents: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_code: Option<String>,
    },
    SupplementSupplied,
    PaymentRequested {
        #[serde(default)]
        reason: String,
        /// The fee asked for, in VND (the catalog's unless the desk typed another); absent in
        /// older logs, and when the catalog has no fee for the procedure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        amount_vnd: Option<u64>,
    },
    /// The fee paid: how, and the receipt's reference. Both absent in older logs.
    Paid {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        method: Option<PaymentMethod>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        receipt: Option<String>,
    },
    /// An apology with a new appointment date (phiếu xin lỗi và hẹn lại ngày trả).
    Rescheduled {
        to: DateTime<Utc>,
        reason: String,
        /// The unit responsible for the delay.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        responsible: Option<AgencyCode>,
        /// Issued by the scheduler on behalf of the agency (apology late).
        #[serde(default)]
        automatic: bool,
        /// A second new date needs an explicit override and is reported.
        #[serde(default)]
        override_second: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_code: Option<String>,
    },
    /// The apology owed for a finish after the due date with no apology before it, issued with
    /// the result (DOMAIN.md §7): recorded with the finish, in its transaction.
    Apologised {
        /// The unit the delay is attributed to.
        responsible: AgencyCode,
        reason: String,
    },
    Resolved {
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// Whether the result was issued electronically (kết quả điện tử); absent in older
        /// logs.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        electronic: Option<bool>,
        /// A refusal's reason code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_code: Option<String>,
    },
    Returned,
    Withdrawn {
        #[serde(default)]
        reason: String,
    },
    Stopped {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason_code: Option<String>,
    },
    /// Papers of the dossier digitised after intake (at acceptance): their names.
    Digitised {
        documents: Vec<String>,
    },
    /// The dossier was sent to the national portal (`export --format dvcqg --mark-synced`).
    /// Changes no status and no clock.
    SyncedToPortal,
}

impl EventKind {
    /// The delay reason code the event carries, if any (a supplement request, a new
    /// appointment, a stop, a refusal at receipt or a refused result).
    pub fn reason_code(&self) -> Option<&str> {
        match self {
            Self::SupplementRequested { reason_code, .. }
            | Self::Rescheduled { reason_code, .. }
            | Self::Stopped { reason_code, .. }
            | Self::RefusedAtReceipt { reason_code, .. }
            | Self::Resolved { reason_code, .. } => reason_code.as_deref(),
            _ => None,
        }
    }

    /// The event's stable name, as stored in the log.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RegisteredOnline { .. } => "registered_online",
            Self::AcceptedOnline => "accepted_online",
            Self::Received { .. } => "received",
            Self::RefusedAtReceipt { .. } => "refused_at_receipt",
            Self::Transferred { .. } => "transferred",
            Self::Accepted => "accepted",
            Self::SupplementRequested { .. } => "supplement_requested",
            Self::SupplementSupplied => "supplement_supplied",
            Self::PaymentRequested { .. } => "payment_requested",
            Self::Paid { .. } => "paid",
            Self::Rescheduled { .. } => "rescheduled",
            Self::Apologised { .. } => "apologised",
            Self::Resolved { .. } => "resolved",
            Self::Returned => "returned",
            Self::Withdrawn { .. } => "withdrawn",
            Self::Stopped { .. } => "stopped",
            Self::Digitised { .. } => "digitised",
            Self::SyncedToPortal => "synced_to_portal",
        }
    }
}

/// An event in a dossier's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// The staff account that recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Why the event is stated earlier than the backdating window allows (paper history keyed
    /// in late, [`crate::backdate`]). Kept in the log with the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backdate_reason: Option<String>,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// An event with no backdating reason.
    pub fn new(at: DateTime<Utc>, by: Option<String>, kind: EventKind) -> Self {
        Self { at, by, backdate_reason: None, kind }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DossierError {
    #[error("cannot apply `{event}` to a dossier in status {}", .status.map_or_else(|| "none (not yet received)".to_string(), |s| s.to_string()))]
    IllegalTransition { status: Option<Status>, event: &'static str },
    #[error("event at {at} is earlier than the dossier's last event at {last}")]
    BeforeLastEvent { at: DateTime<Utc>, last: DateTime<Utc> },
    #[error("the transfer to {to} has not been accepted yet")]
    PendingHandoff { to: AgencyCode },
    #[error("there is no pending transfer to accept")]
    NoPendingHandoff,
    #[error("the dossier is already held by {0}")]
    TransferToHolder(AgencyCode),
    #[error("the dossier already has a new appointment date; a second one needs an explicit override")]
    SecondReschedule,
    #[error("the new appointment date {to} is not after the due date {due}")]
    RescheduleNotLater { to: DateTime<Utc>, due: DateTime<Utc> },
    #[error("dossier is for procedure {dossier} but the procedure given is {given}")]
    WrongProcedure { dossier: ProcedureCode, given: ProcedureCode },
    #[error(transparent)]
    Calendar(#[from] CalendarError),
}

/// A transfer between agencies: one row of the control sheet (phiếu kiểm soát).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Handoff {
    pub from: AgencyCode,
    pub to: AgencyCode,
    pub sent_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
}

/// A time an agency held the dossier, from the moment it was sent there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holding {
    pub agency: AgencyCode,
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// A time the clock waited for the citizen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Wait {
    pub kind: WaitKind,
    pub requested_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub documents: Vec<String>,
}

/// An apology / new appointment date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reschedule {
    pub at: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub reason: String,
    pub responsible: Option<AgencyCode>,
    pub automatic: bool,
    /// Issued after the due instant had passed.
    pub after_due: bool,
}

/// The full state of a dossier, derived from its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Dossier {
    pub code: Option<DossierCode>,
    pub procedure: Option<ProcedureCode>,
    pub receiving_agency: Option<AgencyCode>,
    pub applicant: Applicant,
    pub channel: Channel,
    pub status: Option<Status>,
    pub holder: Option<AgencyCode>,
    pub registered_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub start_at: Option<DateTime<Utc>>,
    /// The deadline used for classification, after supplement restarts and pauses.
    pub due_at: Option<DateTime<Utc>>,
    /// The appointment printed on the receipt.
    pub original_due_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    pub returned_at: Option<DateTime<Utc>>,
    /// The document checklist of the intake (empty when none was kept).
    pub documents: Vec<DocumentItem>,
    pub handoffs: Vec<Handoff>,
    pub holdings: Vec<Holding>,
    pub waits: Vec<Wait>,
    pub reschedules: Vec<Reschedule>,
    /// When the apology for a late finish with no apology before it was issued (an
    /// `Apologised` event, with the result).
    pub apologised_at: Option<DateTime<Utc>>,
    /// The fee of the last payment request that carried an amount, in VND.
    pub fee_vnd: Option<u64>,
    /// How the fee was paid (the last `Paid` that said).
    pub payment_method: Option<PaymentMethod>,
    /// The receipt reference of that payment.
    pub payment_receipt: Option<String>,
    /// When the fee was paid (the last `Paid`).
    pub paid_at: Option<DateTime<Utc>>,
    /// Whether the result was issued electronically (`None`: not said, or not resolved).
    pub electronic_result: Option<bool>,
    /// How many distinct papers were digitised, at intake or later (`None`: never said).
    pub digitised: Option<u32>,
    /// The names of those papers.
    pub digitised_documents: Vec<String>,
    /// When the dossier was first marked sent to the national portal.
    pub synced_at: Option<DateTime<Utc>>,
    /// The reason code of the most recent supplement request, new appointment, stop or refusal
    /// that carried one.
    pub delay_reason: Option<String>,
    pub last_event_at: Option<DateTime<Utc>>,
    pub event_count: u32,
    /// How `due_at` was derived.
    pub steps: Vec<Step>,
}

impl Dossier {
    /// Replays a dossier's log.
    pub fn replay<'a>(
        events: impl IntoIterator<Item = &'a Event>,
        cal: &Calendar,
        procedure: &Procedure,
    ) -> Result<Self, DossierError> {
        let mut d = Self::default();
        for e in events {
            d.apply(e, cal, procedure)?;
        }
        Ok(d)
    }

    /// The deadline revision: how many times the due date was recomputed (for dedupe keys).
    pub fn deadline_revision(&self) -> usize {
        self.steps.iter().filter(|s| matches!(s, Step::ClockRestarted { .. } | Step::ClockPaused { .. })).count()
    }

    pub fn supplement_count(&self) -> usize {
        self.waits.iter().filter(|w| w.kind == WaitKind::Supplement).count()
    }

    pub fn rescheduled_to(&self) -> Option<DateTime<Utc>> {
        self.reschedules.last().map(|r| r.to)
    }

    pub fn pending_handoff(&self) -> Option<&Handoff> {
        self.handoffs.last().filter(|h| h.accepted_at.is_none())
    }

    fn open_wait(&mut self) -> Option<&mut Wait> {
        self.waits.last_mut().filter(|w| w.completed_at.is_none())
    }

    fn close_holding(&mut self, at: DateTime<Utc>) {
        if let Some(h) = self.holdings.last_mut()
            && h.until.is_none()
        {
            h.until = Some(at);
        }
    }

    /// Applies one event. On error nothing changes.
    pub fn apply(&mut self, event: &Event, cal: &Calendar, procedure: &Procedure) -> Result<(), DossierError> {
        let at = event.at;
        if let Some(last) = self.last_event_at
            && at < last
        {
            return Err(DossierError::BeforeLastEvent { at, last });
        }
        if let Some(p) = &self.procedure
            && *p != procedure.code
        {
            return Err(DossierError::WrongProcedure { dossier: p.clone(), given: procedure.code.clone() });
        }
        use EventKind as E;
        use Status as S;
        let illegal = || DossierError::IllegalTransition { status: self.status, event: event.kind.name() };
        // Check everything that can fail before changing anything.
        let mut next = self.clone();
        match (&event.kind, self.status) {
            (E::RegisteredOnline { intake }, None) => {
                next.take_intake(intake);
                next.registered_at = Some(at);
                next.status = Some(S::RegisteredOnline);
            }
            (E::Received { intake }, None) => {
                next.take_intake(intake);
                next.receive(at, cal, procedure)?;
            }
            (E::AcceptedOnline, Some(S::RegisteredOnline)) => next.receive(at, cal, procedure)?,
            (E::RefusedAtReceipt { .. }, Some(S::RegisteredOnline)) => next.status = Some(S::RefusedAtReceipt),
            (E::Transferred { to }, Some(S::Received | S::Processing)) => {
                if let Some(h) = self.pending_handoff() {
                    return Err(DossierError::PendingHandoff { to: h.to.clone() });
                }
                let from = self.holder.clone().ok_or_else(illegal)?;
                if from == *to {
                    return Err(DossierError::TransferToHolder(from));
                }
                next.handoffs.push(Handoff { from, to: to.clone(), sent_at: at, accepted_at: None });
                next.close_holding(at);
                next.holdings.push(Holding { agency: to.clone(), from: at, until: None });
                next.holder = Some(to.clone());
                next.status = Some(S::Processing);
            }
            // The receiving agency takes a received dossier into processing itself (a procedure
            // whose route never leaves it): no handoff.
            (E::Accepted, Some(S::Received)) => next.status = Some(S::Processing),
            (E::Accepted, Some(S::Processing)) => match next.handoffs.last_mut() {
                Some(h) if h.accepted_at.is_none() => h.accepted_at = Some(at),
                _ => return Err(DossierError::NoPendingHandoff),
            },
            (E::SupplementRequested { documents, .. }, Some(S::Processing)) => {
                self.no_pending()?;
                next.waits.push(Wait {
                    kind: WaitKind::Supplement,
                    requested_at: at,
                    completed_at: None,
                    documents: documents.clone(),
                });
                next.steps.push(Step::WaitStarted { kind: WaitKind::Supplement, at });
                next.status = Some(S::SupplementRequested);
            }
            (E::PaymentRequested { .. }, Some(S::Processing)) => {
                self.no_pending()?;
                next.waits.push(Wait {
                    kind: WaitKind::Payment,
                    requested_at: at,
                    completed_at: None,
                    documents: Vec::new(),
                });
                next.steps.push(Step::WaitStarted { kind: WaitKind::Payment, at });
                next.status = Some(S::PaymentRequested);
            }
            (E::SupplementSupplied, Some(S::SupplementRequested)) => {
                next.end_wait(at, procedure.supplement_mode, cal, procedure, event.kind.name())?
            }
            (E::Paid { method, receipt }, Some(S::PaymentRequested)) => {
                next.end_wait(at, procedure.payment_mode, cal, procedure, event.kind.name())?;
                next.paid_at = Some(at);
                next.payment_method = *method;
                next.payment_receipt = receipt.clone();
            }
            (E::Rescheduled { to, reason, responsible, automatic, override_second, .. }, Some(s)) if s.is_open() => {
                if !self.reschedules.is_empty() && !override_second {
                    return Err(DossierError::SecondReschedule);
                }
                let due = self.due_at.ok_or_else(illegal)?;
                if *to <= due {
                    return Err(DossierError::RescheduleNotLater { to: *to, due });
                }
                next.reschedules.push(Reschedule {
                    at,
                    to: *to,
                    reason: reason.clone(),
                    responsible: responsible.clone().or_else(|| self.holder.clone()),
                    automatic: *automatic,
                    after_due: at > due,
                });
                next.steps.push(Step::Rescheduled { to: *to, due });
            }
            (E::Resolved { outcome, electronic, .. }, Some(S::Processing)) => {
                self.no_pending()?;
                next.finish(at, cal)?;
                next.outcome = Some(*outcome);
                next.electronic_result = *electronic;
                next.status = Some(S::Done);
            }
            // Once, after a finish with no apology before it. Whether the finish was late is
            // core's `letters::late_finish_apology` to decide when it is recorded, not the
            // replay's: a corrected calendar must not make the log unreplayable.
            (E::Apologised { .. }, Some(S::Done | S::Returned)) => {
                if !self.reschedules.is_empty() || self.apologised_at.is_some() {
                    return Err(illegal());
                }
                next.apologised_at = Some(at);
            }
            (E::Returned, Some(S::Done)) => {
                next.returned_at = Some(at);
                next.status = Some(S::Returned);
            }
            (E::Withdrawn { .. }, Some(S::Received | S::Processing | S::SupplementRequested | S::PaymentRequested)) => {
                next.finish(at, cal)?;
                next.status = Some(S::Withdrawn);
            }
            (E::Stopped { .. }, Some(S::Processing | S::SupplementRequested)) => {
                next.finish(at, cal)?;
                next.status = Some(S::Stopped);
            }
            (E::Digitised { documents }, Some(s)) if s.is_open() => next.add_digitised(documents),
            // Sent to the national portal: any status once the dossier exists; the first
            // instant is kept.
            (E::SyncedToPortal, Some(_)) => {
                next.synced_at = next.synced_at.or(Some(at));
            }
            _ => return Err(illegal()),
        }
        match &event.kind {
            E::PaymentRequested { amount_vnd: Some(v), .. } => next.fee_vnd = Some(*v),
            kind => {
                if let Some(code) = kind.reason_code() {
                    next.delay_reason = Some(code.to_string());
                }
            }
        }
        next.last_event_at = Some(at);
        next.event_count += 1;
        *self = next;
        Ok(())
    }

    fn no_pending(&self) -> Result<(), DossierError> {
        match self.pending_handoff() {
            Some(h) => Err(DossierError::PendingHandoff { to: h.to.clone() }),
            None => Ok(()),
        }
    }

    fn take_intake(&mut self, intake: &Intake) {
        self.code = Some(intake.code.clone());
        self.procedure = Some(intake.procedure.clone());
        self.receiving_agency = Some(intake.agency.clone());
        self.applicant = intake.applicant.clone();
        self.channel = intake.channel;
        self.documents = intake.documents.clone();
        if let Some(names) = &intake.digitised {
            self.add_digitised(names);
        }
    }

    /// Counts papers as digitised (each name once).
    fn add_digitised(&mut self, names: &[String]) {
        for n in names {
            if !self.digitised_documents.contains(n) {
                self.digitised_documents.push(n.clone());
            }
        }
        self.digitised = Some(u32::try_from(self.digitised_documents.len()).unwrap_or(u32::MAX));
    }

    fn receive(&mut self, at: DateTime<Utc>, cal: &Calendar, procedure: &Procedure) -> Result<(), DossierError> {
        let d = deadline(cal, at, procedure.time_limit, procedure.cutoff)?;
        self.received_at = Some(at);
        self.start_at = Some(d.start);
        self.due_at = Some(d.due);
        self.original_due_at = Some(d.due);
        self.steps = d.steps;
        self.status = Some(Status::Received);
        let agency = self.receiving_agency.clone();
        self.holder = agency.clone();
        if let Some(agency) = agency {
            self.holdings.push(Holding { agency, from: at, until: None });
        }
        Ok(())
    }

    fn end_wait(
        &mut self,
        at: DateTime<Utc>,
        mode: WaitMode,
        cal: &Calendar,
        procedure: &Procedure,
        event: &'static str,
    ) -> Result<(), DossierError> {
        let (kind, requested_at) = match self.open_wait() {
            Some(w) => {
                w.completed_at = Some(at);
                (w.kind, w.requested_at)
            }
            None => return Err(DossierError::IllegalTransition { status: self.status, event }),
        };
        self.steps.push(Step::WaitEnded { kind, at });
        match mode {
            WaitMode::Restart => {
                let start = from_local(start_instant(cal, at, procedure.cutoff)?.0);
                let due = due_instant(cal, start, procedure.time_limit)?;
                self.start_at = Some(start);
                self.due_at = Some(due);
                self.steps.push(Step::ClockRestarted { start, due });
            }
            WaitMode::Pause => {
                let waited = cal.working_seconds_between(requested_at, at)?;
                let old = self.due_at.unwrap_or(at);
                let due = cal.add_working_seconds(old, waited)?;
                self.due_at = Some(due);
                self.steps.push(Step::ClockPaused { kind, waited_minutes: waited / 60, due });
            }
        }
        self.status = Some(Status::Processing);
        Ok(())
    }

    fn finish(&mut self, at: DateTime<Utc>, cal: &Calendar) -> Result<(), DossierError> {
        self.finished_at = Some(at);
        self.close_holding(at);
        let mut waited = None;
        if let Some(w) = self.open_wait() {
            // Withdrawn or stopped while waiting for the citizen: the wait ends with the dossier,
            // and the time spent waiting is not held against the agency (pause semantics).
            w.completed_at = Some(at);
            waited = Some((w.kind, w.requested_at));
        }
        if let (Some((kind, since)), Some(due)) = (waited, self.due_at) {
            let secs = cal.working_seconds_between(since, at)?;
            let new_due = cal.add_working_seconds(due, secs)?.max(due);
            self.due_at = Some(new_due);
            self.steps.push(Step::WaitEnded { kind, at });
            self.steps.push(Step::ClockPaused { kind, waited_minutes: secs / 60, due: new_due });
        }
        Ok(())
    }

    /// Total real time the clock waited for the citizen up to `until` (supplements and payments),
    /// used by the national metric variant.
    pub fn waited_until(&self, until: DateTime<Utc>) -> Duration {
        self.waits
            .iter()
            .filter(|w| w.requested_at <= until)
            .map(|w| w.completed_at.unwrap_or(until).min(until) - w.requested_at)
            .fold(Duration::zero(), |a, b| a + b)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
pub(crate) mod tests {
    use super::*;
    use crate::calendar::{from_local, testdata::vn_calendar};
    use crate::catalog::RouteAgency;
    use crate::catalog::{Level, RouteStep};
    use crate::deadlines::TimeLimit;
    use chrono::NaiveDate;

    pub(crate) fn at(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        from_local(NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, mi, 0).unwrap())
    }
    pub(crate) fn ag(s: &str) -> AgencyCode {
        s.parse().unwrap()
    }
    pub(crate) const DESK: &str = "000.00.01.H17";
    pub(crate) const DEPT: &str = "000.00.12.H17";
    pub(crate) const CITY: &str = "000.00.00.H17";

    pub(crate) fn procedure(limit: TimeLimit, mode: WaitMode) -> Procedure {
        Procedure {
            code: "2.000488".parse().unwrap(),
            name: "Cấp Phiếu lý lịch tư pháp".into(),
            name_en: "Judicial record".into(),
            level: Level::City,
            time_limit: limit,
            cutoff: None,
            supplement_mode: mode,
            payment_mode: WaitMode::Pause,
            documents: vec!["Tờ khai".into()],
            route: vec![
                RouteStep { agency: RouteAgency::Receiving, budget_minutes: 225 },
                RouteStep { agency: RouteAgency::Agency(ag(DEPT)), budget_minutes: 450 * 4 },
                RouteStep { agency: RouteAgency::Receiving, budget_minutes: 225 },
            ],
            valid_from: None,
            valid_until: None,
            fee: None,
            fee_basis: None,
        }
    }

    pub(crate) fn ev(at: DateTime<Utc>, kind: EventKind) -> Event {
        Event::new(at, Some("officer".into()), kind)
    }

    pub(crate) fn intake() -> Intake {
        Intake {
            code: "000.00.01.H17-231027-0001".parse().unwrap(),
            procedure: "2.000488".parse().unwrap(),
            agency: ag(DESK),
            applicant: Applicant { name: "Nguyễn Văn An".into(), ..Default::default() },
            channel: Channel::InPerson,
            documents: Vec::new(),
            digitised: None,
        }
    }

    #[test]
    fn an_intake_without_documents_reads_as_before_and_one_with_them_round_trips() {
        let old = r#"{"at":"2025-03-03T02:00:00Z","type":"received","intake":{"code":"000.00.01.H17-231027-0001","procedure":"2.000488","agency":"000.00.01.H17","applicant":{"name":"An"}}}"#;
        let e: Event = serde_json::from_str(old).unwrap();
        let EventKind::Received { intake } = &e.kind else { panic!("not a receipt") };
        assert!(intake.documents.is_empty());
        assert!(!serde_json::to_string(&e).unwrap().contains("documents"));
        let mut i = intake.clone();
        i.documents = vec![DocumentItem { name: "Tờ khai".into(), copy: CopyKind::Copy, count: 2 }];
        let json = serde_json::to_string(&i).unwrap();
        assert!(json.contains(r#""documents":[{"name":"Tờ khai","copy":"copy","count":2}]"#), "{json}");
        assert_eq!(serde_json::from_str::<Intake>(&json).unwrap(), i);
    }

    #[test]
    fn full_lifecycle() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 14, 0), EventKind::Accepted),
            ev(at(2023, 11, 1, 9, 0), EventKind::Transferred { to: ag(DESK) }),
            ev(at(2023, 11, 1, 10, 0), EventKind::Accepted),
            ev(
                at(2023, 11, 2, 9, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
            ev(at(2023, 11, 3, 8, 0), EventKind::Returned),
        ];
        let d = Dossier::replay(&events, &cal, &p).unwrap();
        assert_eq!(d.status, Some(Status::Returned));
        assert_eq!(d.due_at, Some(at(2023, 11, 3, 9, 32)));
        assert_eq!(d.finished_at, Some(at(2023, 11, 2, 9, 0)));
        assert_eq!(d.handoffs.len(), 2);
        assert_eq!(d.holdings.len(), 3);
        assert_eq!(d.holder, Some(ag(DESK)));
        assert_eq!(d.event_count, 7);
    }

    #[test]
    fn illegal_transitions_are_typed_and_change_nothing() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let mut d = Dossier::default();
        let err = d.apply(&ev(at(2023, 10, 27, 9, 0), EventKind::Returned), &cal, &p).unwrap_err();
        assert_eq!(err, DossierError::IllegalTransition { status: None, event: "returned" });
        d.apply(&ev(at(2023, 10, 27, 9, 0), EventKind::Received { intake: intake() }), &cal, &p).unwrap();
        let before = d.clone();
        let err = d
            .apply(
                &ev(
                    at(2023, 10, 27, 9, 5),
                    EventKind::Resolved {
                        outcome: Outcome::Approved,
                        reason: None,
                        electronic: None,
                        reason_code: None,
                    },
                ),
                &cal,
                &p,
            )
            .unwrap_err();
        assert_eq!(err.to_string(), "cannot apply `resolved` to a dossier in status 2 (received)");
        let err = d.apply(&ev(at(2023, 10, 27, 8, 0), EventKind::Transferred { to: ag(DEPT) }), &cal, &p).unwrap_err();
        assert!(matches!(err, DossierError::BeforeLastEvent { .. }));
        let err = d.apply(&ev(at(2023, 10, 27, 9, 5), EventKind::Transferred { to: ag(DESK) }), &cal, &p).unwrap_err();
        assert!(matches!(err, DossierError::TransferToHolder(_)));
        assert_eq!(d, before);
        d.apply(&ev(at(2023, 10, 27, 9, 10), EventKind::Transferred { to: ag(DEPT) }), &cal, &p).unwrap();
        let err = d.apply(&ev(at(2023, 10, 27, 9, 20), EventKind::Transferred { to: ag(CITY) }), &cal, &p).unwrap_err();
        assert!(matches!(err, DossierError::PendingHandoff { .. }));
        let err = d
            .apply(
                &ev(
                    at(2023, 10, 27, 9, 20),
                    EventKind::SupplementRequested { reason: "x".into(), documents: vec![], reason_code: None },
                ),
                &cal,
                &p,
            )
            .unwrap_err();
        assert!(matches!(err, DossierError::PendingHandoff { .. }));
        d.apply(&ev(at(2023, 10, 27, 9, 30), EventKind::Accepted), &cal, &p).unwrap();
        assert_eq!(
            d.apply(&ev(at(2023, 10, 27, 9, 40), EventKind::Accepted), &cal, &p).unwrap_err(),
            DossierError::NoPendingHandoff
        );
    }

    #[test]
    fn the_receiving_agency_can_process_a_dossier_itself() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(1), WaitMode::Restart);
        let events = [
            ev(at(2023, 10, 27, 9, 0), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 9, 5), EventKind::Accepted),
            ev(
                at(2023, 10, 27, 15, 0),
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        ];
        let d = Dossier::replay(&events, &cal, &p).unwrap();
        assert_eq!(d.status, Some(Status::Done));
        assert!(d.handoffs.is_empty());
        assert_eq!(d.holdings.len(), 1);
    }

    #[test]
    fn online_registration_then_acceptance_starts_the_clock() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let mut d = Dossier::default();
        d.apply(&ev(at(2023, 10, 28, 22, 0), EventKind::RegisteredOnline { intake: intake() }), &cal, &p).unwrap();
        assert_eq!(d.status, Some(Status::RegisteredOnline));
        assert_eq!(d.due_at, None);
        d.apply(&ev(at(2023, 10, 30, 8, 0), EventKind::AcceptedOnline), &cal, &p).unwrap();
        assert_eq!(d.received_at, Some(at(2023, 10, 30, 8, 0)));
        assert_eq!(d.due_at, Some(at(2023, 11, 6, 8, 0)));
        let mut r = Dossier::default();
        r.apply(&ev(at(2023, 10, 28, 22, 0), EventKind::RegisteredOnline { intake: intake() }), &cal, &p).unwrap();
        r.apply(
            &ev(
                at(2023, 10, 30, 8, 0),
                EventKind::RefusedAtReceipt { reason: "thiếu giấy tờ".into(), reason_code: None },
            ),
            &cal,
            &p,
        )
        .unwrap();
        assert_eq!(r.status, Some(Status::RefusedAtReceipt));
        assert_eq!(r.due_at, None);
    }

    fn to_processing(cal: &Calendar, p: &Procedure) -> Dossier {
        let events = [
            ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Transferred { to: ag(DEPT) }),
            ev(at(2023, 10, 27, 10, 0), EventKind::Accepted),
        ];
        Dossier::replay(&events, cal, p).unwrap()
    }

    #[test]
    fn supplement_restart_runs_the_full_limit_again() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let mut d = to_processing(&cal, &p);
        d.apply(
            &ev(
                at(2023, 10, 30, 9, 0),
                EventKind::SupplementRequested { reason: "thiếu".into(), documents: vec![], reason_code: None },
            ),
            &cal,
            &p,
        )
        .unwrap();
        d.apply(&ev(at(2023, 11, 6, 14, 0), EventKind::SupplementSupplied), &cal, &p).unwrap();
        assert_eq!(d.start_at, Some(at(2023, 11, 6, 14, 0)));
        assert_eq!(d.due_at, Some(at(2023, 11, 13, 14, 0)));
        assert_eq!(d.original_due_at, Some(at(2023, 11, 3, 9, 32)), "the receipt's date is kept");
        assert_eq!(d.deadline_revision(), 1);
    }

    #[test]
    fn supplement_pause_moves_the_due_date_by_the_working_time_waited() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Pause);
        let mut d = to_processing(&cal, &p);
        // Waited Mon 30/10 09:00 → Tue 31/10 10:00 = 1 working day + 60 min.
        d.apply(
            &ev(
                at(2023, 10, 30, 9, 0),
                EventKind::SupplementRequested { reason: "thiếu".into(), documents: vec![], reason_code: None },
            ),
            &cal,
            &p,
        )
        .unwrap();
        d.apply(&ev(at(2023, 10, 31, 10, 0), EventKind::SupplementSupplied), &cal, &p).unwrap();
        assert_eq!(d.due_at, Some(at(2023, 11, 6, 10, 32)));
        // Payment waits pause by default.
        d.apply(
            &ev(at(2023, 11, 1, 8, 0), EventKind::PaymentRequested { reason: "lệ phí".into(), amount_vnd: None }),
            &cal,
            &p,
        )
        .unwrap();
        d.apply(&ev(at(2023, 11, 1, 9, 0), EventKind::Paid { method: None, receipt: None }), &cal, &p).unwrap();
        // 10:32 + 60 min crosses the lunch break.
        assert_eq!(d.due_at, Some(at(2023, 11, 6, 13, 32)));
        assert_eq!(d.waited_until(at(2023, 12, 1, 0, 0)), Duration::hours(25) + Duration::hours(1));
    }

    #[test]
    fn reschedule_keeps_the_due_date_and_allows_one_new_date() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let mut d = to_processing(&cal, &p);
        let due = d.due_at;
        let resched = |to, override_second| EventKind::Rescheduled {
            to,
            reason: "cần xác minh".into(),
            responsible: None,
            automatic: false,
            override_second,
            reason_code: None,
        };
        let err = d.apply(&ev(at(2023, 11, 1, 9, 0), resched(at(2023, 11, 2, 9, 0), false)), &cal, &p).unwrap_err();
        assert!(matches!(err, DossierError::RescheduleNotLater { .. }));
        d.apply(&ev(at(2023, 11, 1, 9, 0), resched(at(2023, 11, 10, 17, 0), false)), &cal, &p).unwrap();
        assert_eq!(d.due_at, due);
        assert_eq!(d.rescheduled_to(), Some(at(2023, 11, 10, 17, 0)));
        assert_eq!(d.reschedules[0].responsible, Some(ag(DEPT)));
        assert!(!d.reschedules[0].after_due);
        assert_eq!(
            d.apply(&ev(at(2023, 11, 2, 9, 0), resched(at(2023, 11, 20, 17, 0), false)), &cal, &p).unwrap_err(),
            DossierError::SecondReschedule
        );
        d.apply(&ev(at(2023, 11, 2, 9, 0), resched(at(2023, 11, 20, 17, 0), true)), &cal, &p).unwrap();
        assert_eq!(d.reschedules.len(), 2);
    }

    #[test]
    fn withdraw_and_stop_finish_the_dossier() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Restart);
        let mut d = to_processing(&cal, &p);
        d.apply(
            &ev(
                at(2023, 10, 30, 9, 0),
                EventKind::SupplementRequested { reason: "x".into(), documents: vec![], reason_code: None },
            ),
            &cal,
            &p,
        )
        .unwrap();
        d.apply(
            &ev(at(2023, 10, 31, 9, 0), EventKind::Stopped { reason: "quá hạn bổ sung".into(), reason_code: None }),
            &cal,
            &p,
        )
        .unwrap();
        assert_eq!(d.status, Some(Status::Stopped));
        assert_eq!(d.finished_at, Some(at(2023, 10, 31, 9, 0)));
        assert!(d.waits[0].completed_at.is_some());
        // The day spent waiting is not held against the agency.
        assert_eq!(d.due_at, Some(at(2023, 11, 6, 9, 32)));
        let err =
            d.apply(&ev(at(2023, 11, 1, 9, 0), EventKind::Withdrawn { reason: String::new() }), &cal, &p).unwrap_err();
        assert!(matches!(err, DossierError::IllegalTransition { status: Some(Status::Stopped), .. }));
    }

    #[test]
    fn old_events_read_as_unknown_and_new_fields_round_trip() {
        // A log written before fees, methods, reason codes and electronic results.
        for (old, want) in [
            (r#"{"at":"2025-03-03T02:00:00Z","type":"paid"}"#, EventKind::Paid { method: None, receipt: None }),
            (
                r#"{"at":"2025-03-03T02:00:00Z","type":"payment_requested","reason":"lệ phí"}"#,
                EventKind::PaymentRequested { reason: "lệ phí".into(), amount_vnd: None },
            ),
            (
                r#"{"at":"2025-03-03T02:00:00Z","type":"resolved","outcome":"approved"}"#,
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
            (
                r#"{"at":"2025-03-03T02:00:00Z","type":"stopped","reason":"x"}"#,
                EventKind::Stopped { reason: "x".into(), reason_code: None },
            ),
        ] {
            let e: Event = serde_json::from_str(old).unwrap();
            assert_eq!(e.kind, want);
            // Written back byte for byte: nothing new appears in an old event.
            assert_eq!(serde_json::to_string(&e).unwrap(), old);
        }
        let paid = ev(
            at(2025, 3, 3, 9, 0),
            EventKind::Paid { method: Some(PaymentMethod::BankTransfer), receipt: Some("BL-0042".into()) },
        );
        let json = serde_json::to_string(&paid).unwrap();
        assert!(json.contains(r#""type":"paid","method":"bank_transfer","receipt":"BL-0042""#), "{json}");
        assert_eq!(serde_json::from_str::<Event>(&json).unwrap(), paid);
        let synced = serde_json::to_string(&ev(at(2025, 3, 3, 9, 0), EventKind::SyncedToPortal)).unwrap();
        assert!(synced.ends_with(r#""type":"synced_to_portal"}"#), "{synced}");
        for m in PaymentMethod::ALL {
            assert_eq!(PaymentMethod::parse(m.name()), Some(m));
            assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{}\"", m.name()));
        }
        assert_eq!(PaymentMethod::parse("card"), None);
    }

    #[test]
    fn fees_methods_results_digitisation_sync_and_reasons_are_projected() {
        let cal = vn_calendar();
        let p = procedure(TimeLimit::WorkingDays(5), WaitMode::Pause);
        let mut i = intake();
        i.documents = vec![
            DocumentItem { name: "Tờ khai".into(), copy: CopyKind::Original, count: 1 },
            DocumentItem { name: "CCCD".into(), copy: CopyKind::Copy, count: 1 },
        ];
        i.digitised = Some(vec!["Tờ khai".into()]);
        let mut d = Dossier::default();
        let step = |d: &mut Dossier, h: u32, kind: EventKind| d.apply(&ev(at(2023, 10, 30, h, 0), kind), &cal, &p);
        step(&mut d, 8, EventKind::Received { intake: i }).unwrap();
        assert_eq!((d.digitised, d.fee_vnd, d.payment_method, d.synced_at), (Some(1), None, None, None));
        step(&mut d, 9, EventKind::Accepted).unwrap();
        // The same paper again counts once; another one adds.
        step(&mut d, 9, EventKind::Digitised { documents: vec!["Tờ khai".into(), "CCCD".into()] }).unwrap();
        assert_eq!(d.digitised, Some(2));
        step(
            &mut d,
            10,
            EventKind::SupplementRequested {
                reason: "thiếu".into(),
                documents: vec![],
                reason_code: Some("citizen_incomplete".into()),
            },
        )
        .unwrap();
        assert_eq!(d.delay_reason.as_deref(), Some("citizen_incomplete"));
        step(&mut d, 11, EventKind::SupplementSupplied).unwrap();
        // A request without a code keeps the last code.
        step(&mut d, 13, EventKind::PaymentRequested { reason: "lệ phí".into(), amount_vnd: Some(0) }).unwrap();
        assert_eq!(d.fee_vnd, Some(0), "zero is a fee, not an unknown one");
        step(&mut d, 14, EventKind::Paid { method: Some(PaymentMethod::Exempt), receipt: None }).unwrap();
        assert_eq!((d.payment_method, d.paid_at), (Some(PaymentMethod::Exempt), Some(at(2023, 10, 30, 14, 0))));
        step(&mut d, 15, EventKind::SyncedToPortal).unwrap();
        step(&mut d, 15, EventKind::SyncedToPortal).unwrap();
        assert_eq!(d.synced_at, Some(at(2023, 10, 30, 15, 0)));
        step(
            &mut d,
            16,
            EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: Some(true), reason_code: None },
        )
        .unwrap();
        assert_eq!((d.electronic_result, d.delay_reason.as_deref()), (Some(true), Some("citizen_incomplete")));
        // Digitising ends with the dossier; a sync does not.
        let err = step(&mut d, 16, EventKind::Digitised { documents: vec!["X".into()] }).unwrap_err();
        assert!(matches!(err, DossierError::IllegalTransition { .. }));
        step(&mut d, 16, EventKind::SyncedToPortal).unwrap();
        // Not yet received: nothing to sync.
        let err = step(&mut Dossier::default(), 8, EventKind::SyncedToPortal).unwrap_err();
        assert!(matches!(err, DossierError::IllegalTransition { status: None, .. }));
    }

    #[test]
    fn events_round_trip_through_json() {
        let e = ev(at(2023, 10, 27, 9, 32), EventKind::Received { intake: intake() });
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\"type\":\"received\""), "{json}");
        let back: Event = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let bad = json.replace("000.00.01.H17-231027-0001", "nonsense");
        assert!(serde_json::from_str::<Event>(&bad).is_err());
    }
}
