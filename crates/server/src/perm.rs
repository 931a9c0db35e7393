//! Roles × actions: who may do what, and on which dossiers. The table is documented in
//! docs/server.md and tested in full (every role × every mutating endpoint).
//!
//! Two checks, both before anything is written:
//! 1. the role allows the action at all ([`allowed`]);
//! 2. the dossier is in the officer's scope ([`in_scope`]): the agency holding it is one of
//!    theirs; for the desk's own actions (accepting an online submission, taking in a
//!    supplement or a payment, handing the result back, a withdrawal) the receiving agency
//!    counts too.
//!
//! And one rule for reads of a citizen's personal data ([`personal_data`]): an account reads
//! the applicant's name, ID number, phone, e-mail and address of the dossiers one of its
//! agencies received or held; the chair reads any dossier's, each read audited; an inspector
//! reads those of the dossiers in its scope, every read audited; to anyone else they are
//! masked.
//!
//! The inspector (thanh tra) changes nothing and reads everything in its scope: the whole city
//! when the account has no agency of its own, else the dossiers its agencies received or held
//! and the oversight (audit log, reads of personal data, backdating report, watch list) of
//! those agencies ([`oversight_scope`]).

use motcua_core::AgencyCode;
use motcua_store::{DossierRow, Role, StaffRow};

use crate::problem::Problem;

/// Every mutating action on dossiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Intake,
    Submit,
    Transfer,
    Accept,
    AcceptOnline,
    RefuseOnline,
    RequestSupplement,
    Supplement,
    RequestPayment,
    Paid,
    Reschedule,
    Resolve,
    Return,
    Withdraw,
    Stop,
}

impl Action {
    pub const ALL: [Action; 15] = [
        Self::Intake,
        Self::Submit,
        Self::Transfer,
        Self::Accept,
        Self::AcceptOnline,
        Self::RefuseOnline,
        Self::RequestSupplement,
        Self::Supplement,
        Self::RequestPayment,
        Self::Paid,
        Self::Reschedule,
        Self::Resolve,
        Self::Return,
        Self::Withdraw,
        Self::Stop,
    ];

    /// The action's path segment (`request-supplement`), as in the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Self::Intake => "intake",
            Self::Submit => "submit",
            Self::Transfer => "transfer",
            Self::Accept => "accept",
            Self::AcceptOnline => "accept-online",
            Self::RefuseOnline => "refuse-online",
            Self::RequestSupplement => "request-supplement",
            Self::Supplement => "supplement",
            Self::RequestPayment => "request-payment",
            Self::Paid => "paid",
            Self::Reschedule => "reschedule",
            Self::Resolve => "resolve",
            Self::Return => "return",
            Self::Withdraw => "withdraw",
            Self::Stop => "stop",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == s)
    }

    /// The desk's own actions, in scope for the receiving agency as well as the holder.
    fn desk_scoped(self) -> bool {
        matches!(
            self,
            Self::AcceptOnline | Self::RefuseOnline | Self::Supplement | Self::Paid | Self::Return | Self::Withdraw
        )
    }
}

/// Does `role` allow `action` at all?
pub fn allowed(role: Role, action: Action) -> bool {
    use Action as A;
    match role {
        Role::Desk => !matches!(action, A::Reschedule | A::Stop),
        Role::Agency => matches!(
            action,
            A::Transfer | A::Accept | A::RequestSupplement | A::Supplement | A::RequestPayment | A::Paid | A::Resolve
        ),
        Role::Head => matches!(
            action,
            A::Transfer
                | A::Accept
                | A::RequestSupplement
                | A::Supplement
                | A::RequestPayment
                | A::Paid
                | A::Reschedule
                | A::Resolve
                | A::Stop
        ),
        // The payment gateway's integration account marks a dossier paid, and nothing else.
        Role::Payment => action == A::Paid,
        Role::Chair | Role::Admin | Role::Inspector => false,
    }
}

/// May a principal of `role` use this API route at all? The payment gateway's account may only
/// mark dossiers paid (and see who it is); every other route is refused before it runs.
pub fn route_allowed(role: Role, method: &axum::http::Method, path: &str) -> bool {
    if role != Role::Payment {
        return true;
    }
    let paid = method == axum::http::Method::POST
        && path
            .strip_prefix("/api/v1/dossiers/")
            .is_some_and(|rest| rest.ends_with("/paid") && rest.matches('/').count() == 1);
    paid || (method == axum::http::Method::GET && path == "/api/v1/me") || path == "/api/v1/session"
}

fn member(staff: &StaffRow, agency: &AgencyCode) -> bool {
    staff.agencies.contains(agency)
}

/// Is the dossier in the officer's scope for this action?
pub fn in_scope(staff: &StaffRow, action: Action, row: &DossierRow) -> bool {
    // The gateway of the whole city, or of its agencies' desks.
    if staff.role == Role::Payment {
        return staff.agencies.is_empty()
            || member(staff, &row.receiving_agency)
            || row.holder.as_ref().is_some_and(|h| member(staff, h));
    }
    row.holder.as_ref().is_some_and(|h| member(staff, h))
        || (action.desk_scoped() && member(staff, &row.receiving_agency))
        // An online submission has no holder yet: its receiving desk decides.
        || (row.holder.is_none() && member(staff, &row.receiving_agency))
}

/// Both checks, as a 403 problem.
pub fn authorize(staff: &StaffRow, action: Action, row: Option<&DossierRow>) -> Result<(), Problem> {
    if !allowed(staff.role, action) {
        return Err(Problem::forbidden(format!("the role {} may not {}", staff.role, action.name())));
    }
    if let Some(row) = row
        && !in_scope(staff, action, row)
    {
        return Err(Problem::forbidden(format!(
            "dossier {} is not held by an agency of {} (holder: {})",
            row.code,
            staff.username,
            row.holder.as_ref().map_or("none".to_string(), ToString::to_string)
        )));
    }
    Ok(())
}

/// Opening a dossier at `agency` (intake, online submission).
pub fn authorize_intake(staff: &StaffRow, action: Action, agency: &AgencyCode) -> Result<(), Problem> {
    authorize(staff, action, None)?;
    if !member(staff, agency) {
        return Err(Problem::forbidden(format!("{} does not work at the desk of {agency}", staff.username)));
    }
    Ok(())
}

/// Reads of the audit log, the reads of personal data, the backdating report and the watch
/// list.
pub fn may_audit(role: Role) -> bool {
    matches!(role, Role::Chair | Role::Admin | Role::Inspector)
}

/// The agencies whose oversight an account reads: `None` for the whole city (the chair, the
/// administrator, an inspector with no agency of its own), else an inspector's agencies.
pub fn oversight_scope(staff: &StaffRow) -> Option<&[AgencyCode]> {
    (staff.role == Role::Inspector && !staff.agencies.is_empty()).then_some(staff.agencies.as_slice())
}

/// Reads of the chair's scorecard (the API, the page): the chair, a head of agency and an
/// inspector.
pub fn may_read_scorecard(role: Role) -> bool {
    matches!(role, Role::Chair | Role::Head | Role::Inspector)
}

/// The hall report page (`/sanh/bao-cao`): the scorecard's readers — the chair, a head of
/// agency and an inspector. (The report's API is open to every staff account, as `motcua
/// report` is.)
pub fn may_read_hall_figures(role: Role) -> bool {
    may_read_scorecard(role)
}

/// Marks on the desk's letters to print (printed, handed over): the desk officer's, at its own
/// desks.
pub fn may_mark_letters(role: Role) -> bool {
    role == Role::Desk
}

/// Reads of the staff list.
pub fn may_admin(role: Role) -> bool {
    role == Role::Admin
}

/// May see other agencies' queues (read-only oversight): the chair, the administrator and an
/// inspector of the whole city.
pub fn sees_all_queues(staff: &StaffRow) -> bool {
    match staff.role {
        Role::Chair | Role::Admin => true,
        Role::Inspector => staff.agencies.is_empty(),
        _ => false,
    }
}

/// How a staff account may see a dossier's personal data: the applicant's name, ID number,
/// phone, e-mail and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalData {
    /// One of the account's agencies received or held the dossier: shown.
    Own,
    /// Through the chair's city-wide role, or an inspector's scope: shown when one dossier is
    /// read (its page, its API answer, a search), and every such read is audited; masked in
    /// lists of work.
    Audited,
    /// Masked: the status and the clocks stay readable, the personal fields do not.
    Masked,
}

/// The city-wide role for personal data: the district chair, who oversees every agency. Not
/// the administrator, whose work is accounts and tokens (and who reads the audit of the chairs'
/// and inspectors' reads), so that the one who reads is not the one who checks the reads.
pub fn reads_personal_data_city_wide(role: Role) -> bool {
    role == Role::Chair
}

/// Every read of personal data by this account is audited, its own agencies' included: the
/// inspector's.
pub fn every_read_audited(role: Role) -> bool {
    role == Role::Inspector
}

/// Where the staff's search looks: `None` for every dossier (the chair, an inspector of the
/// whole city), else the dossiers the account's agencies received or held.
pub fn search_scope(staff: &StaffRow) -> Option<&[AgencyCode]> {
    match staff.role {
        Role::Chair => None,
        Role::Inspector if staff.agencies.is_empty() => None,
        _ => Some(staff.agencies.as_slice()),
    }
}

/// The rule for a dossier that `held` received or held (the receiving agency and every
/// transfer's recipient, `motcua_store::agencies_that_held`).
pub fn personal_data(staff: &StaffRow, held: &[AgencyCode]) -> PersonalData {
    let own = held.iter().any(|a| member(staff, a));
    if every_read_audited(staff.role) {
        // An inspector: its scope (the whole city with no agency of its own), each read audited.
        if own || staff.agencies.is_empty() { PersonalData::Audited } else { PersonalData::Masked }
    } else if own {
        PersonalData::Own
    } else if reads_personal_data_city_wide(staff.role) {
        PersonalData::Audited
    } else {
        PersonalData::Masked
    }
}
