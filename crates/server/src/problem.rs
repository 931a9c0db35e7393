//! Errors as RFC 9457 problem details (`application/problem+json`), each kind with a stable
//! `type` URI (`https://motcua.example/problems/<slug>`), a fixed `title` and the HTTP status.
//! The slugs are part of the API: clients branch on them, never on `detail` text.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use motcua_core::backdate::BackdateError;
use motcua_core::commands::CommandError;
use motcua_core::text::TextError;
use motcua_core::{DomainError, DossierCode, DossierError, ParseError};
use motcua_store::StoreError;
use serde_json::json;

/// The base of every problem `type`.
pub const PROBLEM_BASE: &str = "https://motcua.example/problems/";

/// Every kind of error the API answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    Unauthorized,
    Forbidden,
    CsrfMismatch,
    NotFound,
    BadRequest,
    MethodNotAllowed,
    UnsupportedMediaType,
    InvalidInput,
    IllegalTransition,
    PendingHandoff,
    NoPendingHandoff,
    TransferToHolder,
    SecondReschedule,
    RescheduleNotLater,
    EventBeforeLast,
    WrongProcedure,
    UnknownAgency,
    UnknownProcedure,
    AgencyNotInForce,
    ProcedureNotInForce,
    OutsideCalendar,
    AtInFuture,
    BackdateBeyondWindow,
    BackdateReasonRequired,
    Duplicate,
    AlreadyRated,
    HallClosed,
    HallCapacityReached,
    TicketState,
    BookingRefused,
    RateLimited,
    PayloadTooLarge,
    RequestTimeout,
    Unavailable,
    Internal,
}

impl ProblemKind {
    pub const ALL: [ProblemKind; 35] = [
        Self::Unauthorized,
        Self::Forbidden,
        Self::CsrfMismatch,
        Self::NotFound,
        Self::BadRequest,
        Self::MethodNotAllowed,
        Self::UnsupportedMediaType,
        Self::InvalidInput,
        Self::IllegalTransition,
        Self::PendingHandoff,
        Self::NoPendingHandoff,
        Self::TransferToHolder,
        Self::SecondReschedule,
        Self::RescheduleNotLater,
        Self::EventBeforeLast,
        Self::WrongProcedure,
        Self::UnknownAgency,
        Self::UnknownProcedure,
        Self::AgencyNotInForce,
        Self::ProcedureNotInForce,
        Self::OutsideCalendar,
        Self::AtInFuture,
        Self::BackdateBeyondWindow,
        Self::BackdateReasonRequired,
        Self::Duplicate,
        Self::AlreadyRated,
        Self::HallClosed,
        Self::HallCapacityReached,
        Self::TicketState,
        Self::BookingRefused,
        Self::RateLimited,
        Self::PayloadTooLarge,
        Self::RequestTimeout,
        Self::Unavailable,
        Self::Internal,
    ];

    /// (slug, HTTP status, title)
    fn spec(self) -> (&'static str, StatusCode, &'static str) {
        use StatusCode as S;
        match self {
            Self::Unauthorized => ("unauthorized", S::UNAUTHORIZED, "Authentication required"),
            Self::Forbidden => ("forbidden", S::FORBIDDEN, "Not allowed for this account"),
            Self::CsrfMismatch => ("csrf-token-mismatch", S::FORBIDDEN, "Missing or wrong CSRF token"),
            Self::NotFound => ("not-found", S::NOT_FOUND, "Not found"),
            Self::BadRequest => ("bad-request", S::BAD_REQUEST, "Malformed request"),
            Self::MethodNotAllowed => {
                ("method-not-allowed", S::METHOD_NOT_ALLOWED, "The route does not answer this method")
            }
            Self::UnsupportedMediaType => {
                ("unsupported-media-type", S::UNSUPPORTED_MEDIA_TYPE, "Unsupported body content type")
            }
            Self::InvalidInput => ("invalid-input", S::UNPROCESSABLE_ENTITY, "Invalid input"),
            Self::IllegalTransition => {
                ("illegal-transition", S::CONFLICT, "The dossier's status does not allow this action")
            }
            Self::PendingHandoff => ("pending-handoff", S::CONFLICT, "A transfer is waiting to be accepted"),
            Self::NoPendingHandoff => ("no-pending-handoff", S::CONFLICT, "There is no transfer to accept"),
            Self::TransferToHolder => ("transfer-to-holder", S::CONFLICT, "The dossier is already held there"),
            Self::SecondReschedule => {
                ("second-reschedule", S::CONFLICT, "The dossier already has a new appointment date")
            }
            Self::RescheduleNotLater => {
                ("reschedule-not-later", S::UNPROCESSABLE_ENTITY, "The new date is not after the due date")
            }
            Self::EventBeforeLast => {
                ("event-before-last", S::CONFLICT, "The action is dated before the dossier's last event")
            }
            Self::WrongProcedure => ("wrong-procedure", S::CONFLICT, "The event is for another procedure"),
            Self::UnknownAgency => ("unknown-agency", S::UNPROCESSABLE_ENTITY, "Unknown agency"),
            Self::UnknownProcedure => ("unknown-procedure", S::UNPROCESSABLE_ENTITY, "Unknown procedure"),
            Self::AgencyNotInForce => {
                ("agency-not-in-force", S::UNPROCESSABLE_ENTITY, "The agency did not exist on that day")
            }
            Self::ProcedureNotInForce => {
                ("procedure-not-in-force", S::UNPROCESSABLE_ENTITY, "The procedure was not in force on that day")
            }
            Self::OutsideCalendar => {
                ("outside-calendar", S::UNPROCESSABLE_ENTITY, "The date is outside the working-day calendar")
            }
            Self::AtInFuture => ("at-in-future", S::UNPROCESSABLE_ENTITY, "The action is dated in the future"),
            Self::BackdateBeyondWindow => (
                "backdate-beyond-window",
                S::UNPROCESSABLE_ENTITY,
                "The action is dated earlier than the backdating window allows",
            ),
            Self::BackdateReasonRequired => {
                ("backdate-reason-required", S::UNPROCESSABLE_ENTITY, "Keying in paper history needs a reason")
            }
            Self::Duplicate => ("duplicate", S::CONFLICT, "Already exists"),
            Self::AlreadyRated => ("already-rated", S::CONFLICT, "The dossier has already been rated"),
            Self::HallClosed => ("hall-closed", S::UNPROCESSABLE_ENTITY, "The hall is not issuing numbers now"),
            Self::HallCapacityReached => {
                ("hall-capacity-reached", S::CONFLICT, "The hall has issued today's capacity of numbers")
            }
            Self::TicketState => ("ticket-state", S::CONFLICT, "The ticket's state does not allow this step"),
            Self::BookingRefused => ("booking-refused", S::UNPROCESSABLE_ENTITY, "The booking cannot be made or used"),
            Self::RateLimited => ("rate-limited", S::TOO_MANY_REQUESTS, "Too many requests"),
            Self::PayloadTooLarge => ("payload-too-large", S::PAYLOAD_TOO_LARGE, "Request body too large"),
            Self::RequestTimeout => ("request-timeout", S::REQUEST_TIMEOUT, "The request body did not arrive in time"),
            Self::Unavailable => ("unavailable", S::SERVICE_UNAVAILABLE, "Service unavailable"),
            Self::Internal => ("internal", S::INTERNAL_SERVER_ERROR, "Internal error"),
        }
    }

    pub fn slug(self) -> &'static str {
        self.spec().0
    }

    pub fn status(self) -> StatusCode {
        self.spec().1
    }

    pub fn title(self) -> &'static str {
        self.spec().2
    }

    pub fn type_uri(self) -> String {
        format!("{PROBLEM_BASE}{}", self.slug())
    }

    /// The kind that stands for an error status from outside the handlers (the router's 405,
    /// an extractor's rejection); `None` for a status no kind has.
    pub fn for_status(status: StatusCode) -> Option<Self> {
        use StatusCode as S;
        Some(match status {
            S::BAD_REQUEST => Self::BadRequest,
            S::UNAUTHORIZED => Self::Unauthorized,
            S::FORBIDDEN => Self::Forbidden,
            S::NOT_FOUND => Self::NotFound,
            S::METHOD_NOT_ALLOWED => Self::MethodNotAllowed,
            S::PAYLOAD_TOO_LARGE => Self::PayloadTooLarge,
            S::REQUEST_TIMEOUT => Self::RequestTimeout,
            S::UNSUPPORTED_MEDIA_TYPE => Self::UnsupportedMediaType,
            S::UNPROCESSABLE_ENTITY => Self::InvalidInput,
            S::TOO_MANY_REQUESTS => Self::RateLimited,
            S::SERVICE_UNAVAILABLE => Self::Unavailable,
            S::INTERNAL_SERVER_ERROR => Self::Internal,
            _ => return None,
        })
    }
}

/// What went wrong, as data: the core error (with its instants, codes and fields) or a
/// server-side refusal a page shows. [`crate::messages`] renders it in the page's language
/// with the catalog at hand; `detail` keeps the English text the API answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    Domain(DomainError),
    Command(CommandError),
    Backdate(BackdateError),
    Text(TextError),
    Parse(ParseError),
    /// No dossier with this code (as typed).
    NoDossier(String),
    /// A dossier with this code already exists.
    DuplicateDossier(DossierCode),
    /// The dossier (its code as typed) has no apology letter.
    NoLetter(String),
    /// An instant that does not parse (as typed), with the field it was typed in.
    InvalidInstant {
        field: &'static str,
        value: String,
    },
    /// A day that does not parse (as typed).
    InvalidDate(String),
    /// A period whose first day is after its last.
    PeriodReversed {
        from: NaiveDate,
        to: NaiveDate,
    },
    /// A fixed sentence: its key in [`crate::i18n`]'s words.
    Words(&'static str),
}

/// An error answered as problem+json.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub detail: String,
    /// Seconds to wait before trying again, sent as `Retry-After` (a throttled login).
    pub retry_after: Option<u64>,
    /// The error as data, for the pages to say in their language; `None` when only the kind
    /// and the English detail are known.
    pub cause: Option<Cause>,
}

impl Problem {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self { kind, detail: detail.into(), retry_after: None, cause: None }
    }

    /// The same problem with its cause as data.
    pub fn because(mut self, cause: Cause) -> Self {
        self.cause = Some(cause);
        self
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::Forbidden, detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::InvalidInput, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(error = %detail, "internal error");
        Self::new(ProblemKind::Internal, "the server could not complete the request; it has been logged")
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    pub fn body(&self) -> serde_json::Value {
        json!({
            "type": self.kind.type_uri(),
            "title": self.kind.title(),
            "status": self.kind.status().as_u16(),
            "detail": self.detail,
        })
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.title(), self.detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut r = (self.status(), self.body().to_string()).into_response();
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/problem+json"));
        if let Some(secs) = self.retry_after {
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

fn domain_kind(e: &DomainError) -> ProblemKind {
    match e {
        DomainError::UnknownProcedure(_) => ProblemKind::UnknownProcedure,
        DomainError::UnknownAgency(_) => ProblemKind::UnknownAgency,
        DomainError::AgencyNotInForce(_) => ProblemKind::AgencyNotInForce,
        DomainError::ProcedureNotInForce { .. } => ProblemKind::ProcedureNotInForce,
        DomainError::NoIntake => ProblemKind::IllegalTransition,
        DomainError::FeeToChoose { .. } => ProblemKind::InvalidInput,
        DomainError::Dossier(d) => match d {
            DossierError::IllegalTransition { .. } => ProblemKind::IllegalTransition,
            DossierError::BeforeLastEvent { .. } => ProblemKind::EventBeforeLast,
            DossierError::PendingHandoff { .. } => ProblemKind::PendingHandoff,
            DossierError::NoPendingHandoff => ProblemKind::NoPendingHandoff,
            DossierError::TransferToHolder(_) => ProblemKind::TransferToHolder,
            DossierError::SecondReschedule => ProblemKind::SecondReschedule,
            DossierError::RescheduleNotLater { .. } => ProblemKind::RescheduleNotLater,
            DossierError::WrongProcedure { .. } => ProblemKind::WrongProcedure,
            DossierError::Calendar(_) => ProblemKind::OutsideCalendar,
        },
    }
}

impl From<DomainError> for Problem {
    fn from(e: DomainError) -> Self {
        Self::new(domain_kind(&e), e.to_string()).because(Cause::Domain(e))
    }
}

impl From<CommandError> for Problem {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::Domain(d) => d.into(),
            other => Self::invalid(other.to_string()).because(Cause::Command(other)),
        }
    }
}

impl From<TextError> for Problem {
    fn from(e: TextError) -> Self {
        Self::invalid(e.to_string()).because(Cause::Text(e))
    }
}

impl From<ParseError> for Problem {
    fn from(e: ParseError) -> Self {
        Self::invalid(e.to_string()).because(Cause::Parse(e))
    }
}

impl From<BackdateError> for Problem {
    fn from(e: BackdateError) -> Self {
        let kind = match e {
            BackdateError::InFuture { .. } => ProblemKind::AtInFuture,
            BackdateError::BeyondWindow { .. } => ProblemKind::BackdateBeyondWindow,
            BackdateError::ReasonRequired { .. } => ProblemKind::BackdateReasonRequired,
        };
        Self::new(kind, e.to_string()).because(Cause::Backdate(e))
    }
}

impl From<motcua_core::hall::HallError> for Problem {
    fn from(h: motcua_core::hall::HallError) -> Self {
        use motcua_core::hall::HallError as H;
        let kind = match &h {
            H::UnknownHall(_) | H::HallNotInForce { .. } | H::UnknownCounter { .. } => ProblemKind::NotFound,
            H::Closed(_) => ProblemKind::HallClosed,
            H::CapacityReached { .. } | H::AreaCapacityReached { .. } => ProblemKind::HallCapacityReached,
            H::Transition { .. }
            | H::OtherCounter { .. }
            | H::TooFewRecalls { .. }
            | H::NotFinished(_)
            | H::NotSignedIn { .. } => ProblemKind::TicketState,
            H::AlreadyRated(_) => ProblemKind::AlreadyRated,
            H::Booking(_) | H::BookingLate { .. } => ProblemKind::BookingRefused,
            H::Calendar(_) => ProblemKind::OutsideCalendar,
            H::UnknownArea { .. } | H::CounterArea { .. } | H::Mismatch | H::NoIssue | H::Invalid(_) => {
                ProblemKind::InvalidInput
            }
        };
        Self::new(kind, h.to_string())
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(d) => d.into(),
            StoreError::NotFound(code) => {
                Self::not_found(format!("dossier {code} does not exist")).because(Cause::NoDossier(code.to_string()))
            }
            StoreError::Duplicate(code) => Self::new(ProblemKind::Duplicate, format!("dossier {code} already exists"))
                .because(Cause::DuplicateDossier(code)),
            StoreError::SequenceExhausted { .. } => Self::new(ProblemKind::Unavailable, e.to_string()),
            StoreError::ItemNotFound(code) => Self::not_found(format!("item {code} does not exist")),
            StoreError::ItemRejected(i) => {
                use motcua_core::petition::ItemError as I;
                let kind = match &i {
                    I::IllegalTransition { .. } => ProblemKind::IllegalTransition,
                    I::BeforeLastEvent { .. } => ProblemKind::EventBeforeLast,
                    I::TransferToHolder(_) => ProblemKind::TransferToHolder,
                    I::AlreadyRated => ProblemKind::AlreadyRated,
                    I::UnknownAgency(_) => ProblemKind::UnknownAgency,
                    I::Calendar(_) => ProblemKind::OutsideCalendar,
                    I::NoExtension(_) | I::NotFiled => ProblemKind::InvalidInput,
                };
                Self::new(kind, i.to_string())
            }
            StoreError::HallNotFound(what) => Self::not_found(format!("{what} does not exist")),
            StoreError::HallRejected(h) => h.into(),
            other if motcua_store::is_unavailable(&other) => {
                tracing::warn!(error = %other, "database unavailable");
                let mut p = Self::new(
                    ProblemKind::Unavailable,
                    "the database is unavailable at the moment (nothing was written); try again shortly",
                );
                p.retry_after = Some(5);
                p
            }
            other => Self::internal(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_types_are_urls() {
        let mut slugs: Vec<&str> = ProblemKind::ALL.iter().map(|k| k.slug()).collect();
        slugs.sort_unstable();
        slugs.dedup();
        assert_eq!(slugs.len(), ProblemKind::ALL.len());
        assert_eq!(ProblemKind::IllegalTransition.type_uri(), "https://motcua.example/problems/illegal-transition");
    }
}
