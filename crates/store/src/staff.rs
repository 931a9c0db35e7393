//! Staff accounts, their agencies, web sessions, API tokens (with expiry and revocation), the
//! wrong-password counts and locks of account names, citizens' ratings, the audit of reads of
//! citizens' personal data, and the reads the web server needs beside the [`crate::Store`]
//! trait (work queues, the audit log, which agencies held a dossier, the staff's search).
//!
//! A separate trait, [`StaffStore`], implemented for both backends (`sqlite/staff.rs`,
//! `pg/staff.rs`, with the one body of `staff_store!`) and [`crate::AnyStore`]. It
//! stores secrets only in derived form: passwords as the argon2 PHC strings the caller hashed,
//! session ids and API tokens as the caller's digests. It never touches the dossier event log.

use std::future::Future;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, DossierCode, Event, EventKind};
use serde::Serialize;

use crate::error::StoreError;
use crate::model::DossierRow;

/// What a staff account may do; the permissions of each role are decided by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reception-desk officer (cán bộ một cửa).
    Desk,
    /// Agency officer / specialist (chuyên viên).
    Agency,
    /// Head of agency (lãnh đạo cơ quan).
    Head,
    /// District chair (chủ tịch): reads everything, changes nothing.
    Chair,
    /// Administrator: staff accounts and tokens.
    Admin,
    /// Inspector (thanh tra): reads everything in its scope (the whole city with no agency of
    /// its own, else its agencies), changes nothing; every read of a citizen's personal data is
    /// audited.
    Inspector,
    /// An integration account of the payment gateway (cổng thanh toán): through its API token
    /// it may only mark a dossier paid (`POST /api/v1/dossiers/{code}/paid`); it reads nothing.
    Payment,
}

impl Role {
    pub const ALL: [Role; 7] =
        [Self::Desk, Self::Agency, Self::Head, Self::Chair, Self::Admin, Self::Inspector, Self::Payment];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desk => "desk",
            Self::Agency => "agency",
            Self::Head => "head",
            Self::Chair => "chair",
            Self::Admin => "admin",
            Self::Inspector => "inspector",
            Self::Payment => "payment",
        }
    }

    /// The role's name in Vietnamese, as the desk's pages show it.
    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Desk => "cán bộ một cửa",
            Self::Agency => "chuyên viên",
            Self::Head => "lãnh đạo cơ quan",
            Self::Chair => "chủ tịch",
            Self::Admin => "quản trị",
            Self::Inspector => "thanh tra",
            Self::Payment => "tích hợp thanh toán",
        }
    }

    /// The role's name in English, as the desk's pages show it.
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Desk => "desk officer",
            Self::Agency => "specialist",
            Self::Head => "head of agency",
            Self::Chair => "chair",
            Self::Admin => "administrator",
            Self::Inspector => "inspector",
            Self::Payment => "payment integration",
        }
    }
}

/// A role name that is not one of the six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected desk, agency, head, chair, admin, inspector or payment")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| UnknownRole(s.to_string()))
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an administrator grants to one account on top of its role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// May state an event earlier than the backdating window allows, with a reason (keying in
    /// paper history through the API and the web pages). The role must still allow the action.
    PaperHistory,
}

impl Capability {
    pub const ALL: [Capability; 1] = [Self::PaperHistory];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PaperHistory => "paper_history",
        }
    }
}

/// A capability name that is not one of those known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown capability {0:?}: expected paper-history")]
pub struct UnknownCapability(pub String);

impl FromStr for Capability {
    type Err = UnknownCapability;
    /// `paper_history` or `paper-history`.
    fn from_str(s: &str) -> Result<Self, UnknownCapability> {
        let t = s.trim().replace('-', "_");
        Self::ALL.into_iter().find(|c| c.as_str() == t).ok_or_else(|| UnknownCapability(s.to_string()))
    }
}

impl std::fmt::Display for Capability {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A staff account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaffRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub disabled: bool,
    pub agencies: Vec<AgencyCode>,
    /// Granted on top of the role, in order.
    pub capabilities: Vec<Capability>,
    pub created_at: DateTime<Utc>,
}

impl StaffRow {
    pub fn may(&self, c: Capability) -> bool {
        self.capabilities.contains(&c)
    }
}

/// A new account; `password_hash` is an argon2 PHC string.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub agencies: Vec<AgencyCode>,
    pub at: DateTime<Utc>,
}

/// A live session: who, and the CSRF token its forms must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub staff: StaffRow,
    pub csrf: String,
    pub expires_at: DateTime<Utc>,
}

/// A new API token: the digest of its secret, whose it is, its label and its lifetime.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub token_hash: String,
    pub staff_id: i64,
    pub name: String,
    pub at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// An API token as its owner and administrators see it: never its secret, which is shown once
/// when it is made and stored only as a digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRow {
    pub id: i64,
    /// The account the token acts as.
    pub username: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// When it last authenticated a request (recorded at most once a minute).
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRow {
    /// "active", "expired" or "revoked" at `now`.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at <= now {
            "expired"
        } else {
            "active"
        }
    }
}

/// The account behind a live API token, and what the server needs to know of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenUse {
    pub staff: StaffRow,
    pub token_id: i64,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// The wrong passwords counted against one account name (trimmed, lower case), whether an
/// account of that name exists or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginFailures {
    pub account: String,
    pub failures: u32,
    pub last_failure_at: DateTime<Utc>,
    /// Set when the count reached the lock; only an administrator's unlock ends it.
    pub locked_at: Option<DateTime<Utc>>,
}

/// A citizen's rating of one dossier's service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rating {
    pub code: DossierCode,
    pub score: u8,
    pub comment: Option<String>,
    pub rated_at: DateTime<Utc>,
}

/// Ratings of one lead agency's dossiers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RatingCounts {
    pub ratings: u64,
    pub score_sum: u64,
    /// 4 or 5 stars.
    pub satisfied: u64,
    /// 1 or 2 stars.
    pub dissatisfied: u64,
}

/// One line of the audit log: who recorded what on which dossier, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub code: String,
    pub kind: String,
    pub at: DateTime<Utc>,
    pub by: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

/// The agencies that received or held a dossier, from its log: the receiving agency, then every
/// agency a transfer sent it to (the recipient of a transfer not yet accepted holds it too), in
/// the order they first had it, each once.
pub fn agencies_that_held<'a>(events: impl IntoIterator<Item = &'a Event>) -> Vec<AgencyCode> {
    let mut out: Vec<AgencyCode> = Vec::new();
    for e in events {
        let agency = match &e.kind {
            EventKind::Received { intake } | EventKind::RegisteredOnline { intake } => &intake.agency,
            EventKind::Transferred { to } => to,
            _ => continue,
        };
        if !out.contains(agency) {
            out.push(agency.clone());
        }
    }
    out
}

/// What the staff's search looks for. Every term given must match, or (`any`, free text) one
/// of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DossierSearch {
    /// A whole dossier code, or its beginning (`000.00.02.H17-2503`); letter case does not
    /// matter.
    pub code: Option<String>,
    /// An applicant's ID number, the whole number.
    pub id_number: Option<String>,
    /// A part of the applicant's name, compared folded ([`motcua_core::text::fold`]): "tran
    /// thi binh" finds "Trần Thị Bình".
    pub applicant: Option<String>,
    /// A whole phone number, compared by its digits ([`motcua_core::Phone::search_key`]):
    /// "0905 123 456" finds "+84905123456".
    pub phone: Option<String>,
    /// One matching term is enough.
    pub any: bool,
}

impl DossierSearch {
    /// What one box of free text can be, searched for all at once: digits (spaces, dots and
    /// dashes aside) are an ID number if there are 9 or 12 of them and a phone number if they
    /// make one; a word of letters, digits, dots and dashes with a digit in it is a code or
    /// its beginning; anything else a part of a name.
    pub fn free_text(q: &str) -> Self {
        let q = q.trim();
        let mut s = Self { any: true, ..Self::default() };
        let digits: String = q.chars().filter(|c| !matches!(c, ' ' | '.' | '-' | '(' | ')' | '+')).collect();
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            if matches!(digits.len(), 9 | 12) {
                s.id_number = Some(digits.clone());
            }
            s.phone = motcua_core::Phone::search_key(q);
        }
        if s.id_number.is_none() && s.phone.is_none() && !q.is_empty() {
            if is_code_text(q) {
                s.code = Some(q.to_string());
            } else {
                s.applicant = Some(q.to_string());
            }
        }
        s
    }

    /// No term at all.
    pub fn is_empty(&self) -> bool {
        self.code.is_none() && self.id_number.is_none() && self.applicant.is_none() && self.phone.is_none()
    }
}

/// A dossier code or its beginning: ASCII letters, digits, dots and dashes, with a digit.
fn is_code_text(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        && s.bytes().any(|b| b.is_ascii_digit())
}

/// Which rows of a list to read: `limit` of them after the first `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub offset: u64,
    pub limit: u32,
}

impl Window {
    /// Page `page` (from 1) of `per_page` rows.
    pub fn page(page: u32, per_page: u32) -> Self {
        Self { offset: u64::from(page.max(1) - 1) * u64::from(per_page), limit: per_page }
    }
}

/// One page of a list, and how many rows the whole list has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paged<T> {
    pub total: u64,
    pub rows: Vec<T>,
}

impl<T> Paged<T> {
    pub fn empty() -> Self {
        Self { total: 0, rows: Vec::new() }
    }
}

/// Whose work a list covers: some agencies', or the whole city's (the chair's oversight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    Agencies(&'a [AgencyCode]),
    City,
}

/// The desk's lists beside the work queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeskList {
    /// Transfers sent by the agencies, not yet accepted by their recipient (oldest first).
    Sent,
    /// Results ready (status 9, approved or refused, in time or late) received or held by
    /// the agencies, not yet handed back to the citizen (oldest result first).
    Ready,
    /// Waiting for the citizen (a supplement or a payment, status 5 or 6) with the clock
    /// stopped, received or held by the agencies (longest wait first). A wait that began after
    /// the due instant leaves the dossier overdue (core's `analysis::open_state_of`): it is in
    /// its holder's work queue among the overdue, not here.
    Waiting,
    /// Online submissions (status 1) at the agencies' desks, not yet accepted or refused
    /// (oldest first).
    Online,
}

impl DeskList {
    pub const ALL: [DeskList; 4] = [Self::Sent, Self::Ready, Self::Waiting, Self::Online];

    /// The list's path segment (`/api/v1/lists/{name}`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Ready => "ready",
            Self::Waiting => "waiting",
            Self::Online => "online",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// The terms of a [`DossierSearch`] on `dossiers` into `f`, or `None` if it has no term that
/// can match.
pub(crate) fn search_terms(d: crate::sql::Dialect, search: &DossierSearch, f: &mut crate::sql::Filter) -> Option<()> {
    let mut terms: Vec<String> = Vec::new();
    let mut unmatchable = false;
    if let Some(code) = search.code.as_deref().map(str::trim) {
        let code = code.to_ascii_uppercase();
        if !is_code_text(&code) {
            unmatchable = true;
        } else if code.parse::<DossierCode>().is_ok() {
            terms.push(format!("code = {}", f.text(code)));
        } else {
            let p = f.text(crate::sql::prefix_pattern(d, &code));
            terms.push(crate::sql::prefix_match(d, "code", &p));
        }
    }
    if let Some(id) = search.id_number.as_deref().map(str::trim) {
        terms.push(format!("applicant_id_number = {}", f.text(id)));
    }
    if let Some(name) = search.applicant.as_deref() {
        let folded = motcua_core::text::fold(name);
        if folded.is_empty() {
            unmatchable = true;
        } else {
            let p = f.text(crate::sql::like_anywhere(&folded));
            terms.push(format!("applicant_name_folded LIKE {p} ESCAPE '\\'"));
        }
    }
    if let Some(phone) = search.phone.as_deref() {
        match motcua_core::Phone::search_key(phone) {
            Some(key) => {
                let forms = motcua_core::Phone::stored_forms(&key);
                let list = f.list(forms.iter().map(String::as_str));
                terms.push(format!("applicant_phone IN ({list})"));
            }
            None => unmatchable = true,
        }
    }
    if terms.is_empty() || (unmatchable && !search.any) {
        return None;
    }
    if search.any {
        f.and(format!("({})", terms.join(" OR ")));
    } else {
        for t in terms {
            f.and(t);
        }
    }
    Some(())
}

/// The term "received or held by one of `agencies`" (the receiving agency, or the recipient
/// of a transfer in the log) into `f`.
pub(crate) fn received_or_held(d: crate::sql::Dialect, agencies: &[AgencyCode], f: &mut crate::sql::Filter) {
    let list = f.list(agencies.iter().map(AgencyCode::as_str));
    f.and(format!(
        "(receiving_agency IN ({list}) OR EXISTS (SELECT 1 FROM dossier_events e \
         WHERE e.dossier_code = dossiers.code AND e.kind = 'transferred' AND {} IN ({list})))",
        crate::sql::json_text(d, "e.payload", "to")
    ));
}

/// The term "the row's `dossier_code` is of a dossier one of `within` received or held"
/// (`TRUE` for the whole city) and the texts it binds; `None` if `within` names no agency.
pub(crate) fn held_by(d: crate::sql::Dialect, within: Option<&[AgencyCode]>) -> Option<(crate::sql::Filter, String)> {
    let mut f = crate::sql::Filter::default();
    match within {
        None => Some((f, "TRUE".to_string())),
        Some([]) => None,
        Some(agencies) => {
            received_or_held(d, agencies, &mut f);
            let clause = format!("dossier_code IN (SELECT code FROM dossiers WHERE {})", f.clause());
            Some((f, clause))
        }
    }
}

/// The term and order of a desk list over `agencies` (all when `None`) into `f`.
pub(crate) fn desk_list_terms(
    list: DeskList,
    agencies: Option<&[AgencyCode]>,
    f: &mut crate::sql::Filter,
) -> &'static str {
    let at = |f: &mut crate::sql::Filter, columns: &[&str]| {
        if let Some(agencies) = agencies {
            let list = f.list(agencies.iter().map(AgencyCode::as_str));
            let any: Vec<String> = columns.iter().map(|c| format!("{c} IN ({list})")).collect();
            f.and(format!("({})", any.join(" OR ")));
        }
    };
    match list {
        DeskList::Sent => {
            f.and("handoff_pending");
            at(f, &["handoff_from"]);
            "handoff_sent_at, code"
        }
        DeskList::Ready => {
            f.and(format!("status = {}", motcua_core::Status::Done.code()));
            at(f, &["receiving_agency", "holder"]);
            "finished_at, code"
        }
        DeskList::Waiting => {
            f.and(motcua_core::vocab::WAITING_FOR_CITIZEN.sql_in("status"));
            f.and(crate::sql::WAITING_FOR_CITIZEN);
            at(f, &["receiving_agency", "holder"]);
            "waiting_since, code"
        }
        DeskList::Online => {
            f.and(format!("status = {}", motcua_core::Status::RegisteredOnline.code()));
            at(f, &["receiving_agency"]);
            "registered_at, code"
        }
    }
}

/// What a read of personal data was of: a dossier, or a petition, complaint or denunciation
/// (stored with `subject` = `dossier` or `petition`, migration 27). Shown as its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum ReadOf {
    Dossier(DossierCode),
    Petition(motcua_core::petition::ItemCode),
}

impl ReadOf {
    /// `dossier` or `petition`, as stored.
    pub fn subject(&self) -> &'static str {
        match self {
            Self::Dossier(_) => "dossier",
            Self::Petition(_) => "petition",
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Dossier(c) => c.as_str(),
            Self::Petition(c) => c.as_str(),
        }
    }

    /// The staff page of what was read.
    pub fn href(&self) -> String {
        match self {
            Self::Dossier(c) => format!("/dossiers/{c}"),
            Self::Petition(c) => format!("/petitions/{c}"),
        }
    }

    pub(crate) fn parse(subject: &str, code: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Corrupt(format!("personal_data_reads: {subject} {code:?}"));
        match subject {
            "dossier" => code.parse().map(Self::Dossier).map_err(|_| bad()),
            "petition" => code.parse().map(Self::Petition).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for ReadOf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<DossierCode> for ReadOf {
    fn from(c: DossierCode) -> Self {
        Self::Dossier(c)
    }
}

/// A read of a citizen's personal data to record: who, which dossier or item, through which
/// route, which fields were shown, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPersonalDataRead {
    pub staff: String,
    pub code: ReadOf,
    pub route: String,
    pub fields: Vec<String>,
    pub at: DateTime<Utc>,
}

/// One recorded read of a citizen's personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonalDataRead {
    pub id: i64,
    /// The staff account that read.
    pub staff: String,
    pub code: ReadOf,
    pub route: String,
    pub fields: Vec<String>,
    pub read_at: DateTime<Utc>,
}

/// Staff, sessions, tokens, ratings and the server's extra reads.
pub trait StaffStore: Send + Sync {
    /// Creates an account; `None` (nothing written) if the username is taken.
    fn add_staff(&self, new: NewStaff) -> impl Future<Output = Result<Option<StaffRow>, StoreError>> + Send;
    fn staff_list(&self) -> impl Future<Output = Result<Vec<StaffRow>, StoreError>> + Send;
    /// The account and its password hash.
    fn staff_credentials(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<(StaffRow, String)>, StoreError>> + Send;
    /// Disables an account, ending all its sessions and revoking (at `at`) all its API tokens,
    /// or re-enables it (its old tokens stay revoked); false if there is no such account.
    fn set_staff_disabled(
        &self,
        username: &str,
        disabled: bool,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Grants (`granted`) or takes back a capability; false if there is no such account.
    fn set_capability(
        &self,
        username: &str,
        capability: Capability,
        granted: bool,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces the password hash, ends all the account's sessions and revokes (at `at`) all
    /// its API tokens; false if there is no such account.
    fn set_staff_password(
        &self,
        username: &str,
        password_hash: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    fn create_session(
        &self,
        id_hash: &str,
        staff_id: i64,
        csrf: &str,
        at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The session if it exists, has not expired at `now` and its account is enabled.
    fn session(
        &self,
        id_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<SessionRow>, StoreError>> + Send;
    fn delete_session(&self, id_hash: &str) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Deletes the sessions expired at `now`; how many.
    fn purge_sessions(&self, now: DateTime<Utc>) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Stores a new token; its id.
    fn create_token(&self, new: NewToken) -> impl Future<Output = Result<i64, StoreError>> + Send;
    /// The account of a token that is neither revoked nor expired at `now`, if the account is
    /// enabled.
    fn token_staff(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<TokenUse>, StoreError>> + Send;
    /// Records that token `id` authenticated a request at `at`.
    fn touch_token(&self, id: i64, at: DateTime<Utc>) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The tokens of one account (by id), or of every account, newest first; revoked and
    /// expired ones included.
    fn tokens(&self, staff_id: Option<i64>) -> impl Future<Output = Result<Vec<TokenRow>, StoreError>> + Send;
    /// Revokes token `id` at `at` (if `staff_id` is given, only if it is that account's); a
    /// token already revoked keeps its first instant. The token after it, `None` if there is
    /// no such token (of that account).
    fn revoke_token(
        &self,
        id: i64,
        staff_id: Option<i64>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<TokenRow>, StoreError>> + Send;

    /// The wrong passwords counted against `account`, if any.
    fn login_failures(&self, account: &str) -> impl Future<Output = Result<Option<LoginFailures>, StoreError>> + Send;
    /// Counts one wrong password against `account` at `at`, locking it (at `at`) when the
    /// count reaches `lock_after`; the count after it. Concurrent failures each count.
    fn count_login_failure(
        &self,
        account: &str,
        at: DateTime<Utc>,
        lock_after: u32,
    ) -> impl Future<Output = Result<LoginFailures, StoreError>> + Send;
    /// Forgets `account`'s count and lock (a right password, an administrator's unlock); true
    /// if there was one.
    fn clear_login_failures(&self, account: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records a rating; false (nothing written) if the dossier was already rated.
    fn rate(&self, rating: &Rating) -> impl Future<Output = Result<bool, StoreError>> + Send;
    fn rating(&self, code: &DossierCode) -> impl Future<Output = Result<Option<Rating>, StoreError>> + Send;
    /// Ratings given in `[a, b)`, per lead agency of the rated dossier.
    fn rating_counts(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(AgencyCode, RatingCounts)>, StoreError>> + Send;

    /// The work queue: open dossiers (core's `vocab::OPEN`) held by the agencies of `scope`,
    /// earliest due first (so overdue, then due today, then the rest), those waiting for the
    /// citizen with the clock stopped (core's `analysis::open_state_of`) last; one page of it
    /// and its length.
    fn work_queue(
        &self,
        scope: Scope<'_>,
        window: Window,
    ) -> impl Future<Output = Result<Paged<DossierRow>, StoreError>> + Send;
    /// One of the desk's lists ([`DeskList`]) over the agencies of `scope`: one page of it and
    /// its length.
    fn desk_list(
        &self,
        list: DeskList,
        scope: Scope<'_>,
        window: Window,
    ) -> impl Future<Output = Result<Paged<DossierRow>, StoreError>> + Send;
    /// Online submissions not yet accepted or refused (`Status::RegisteredOnline`) at one of `agencies`.
    fn registered_online(
        &self,
        agencies: &[AgencyCode],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;
    /// The latest events of the log, newest first, before event id `before` (all if None);
    /// with `within`, only the events of dossiers one of its agencies received or held (none
    /// if it is empty).
    fn audit(
        &self,
        before: Option<i64>,
        within: Option<&[AgencyCode]>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;

    /// The agencies that received or held dossier `code` ([`agencies_that_held`] over its
    /// log); empty if there is no such dossier.
    fn agencies_that_held(
        &self,
        code: &DossierCode,
    ) -> impl Future<Output = Result<Vec<AgencyCode>, StoreError>> + Send;
    /// Dossiers matching `search`, most recently changed first: one page and how many match;
    /// with `within`, only those one of its agencies received or held (none if it is empty).
    /// A search with no term finds nothing.
    fn search_dossiers(
        &self,
        search: &DossierSearch,
        within: Option<&[AgencyCode]>,
        window: Window,
    ) -> impl Future<Output = Result<Paged<DossierRow>, StoreError>> + Send;
    /// Records reads of personal data, all or none.
    fn record_personal_data_reads(
        &self,
        reads: &[NewPersonalDataRead],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// The recorded reads of personal data, newest first, before id `before` (all if None);
    /// with `within`, only the reads of dossiers one of its agencies received or held (none if
    /// it is empty).
    fn personal_data_reads(
        &self,
        before: Option<i64>,
        within: Option<&[AgencyCode]>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<PersonalDataRead>, StoreError>> + Send;
}

pub(crate) const STAFF_COLUMNS: &str = "id, username, display_name, role, disabled, created_at";

/// The columns of a [`TokenRow`], from `api_tokens t` and its account.
pub(crate) const TOKEN_SELECT: &str = "SELECT t.id, st.username, t.name, t.created_at, t.expires_at, t.last_used_at, \
     t.revoked_at FROM api_tokens t JOIN staff st ON st.id = t.staff_id";

/// A [`TokenRow`] from a row of [`TOKEN_SELECT`].
macro_rules! token_from {
    ($r:expr) => {{
        let r = $r;
        Ok::<_, StoreError>(TokenRow {
            id: r.try_get("id")?,
            username: r.try_get("username")?,
            name: r.try_get("name")?,
            created_at: r.try_get("created_at")?,
            expires_at: r.try_get("expires_at")?,
            last_used_at: r.try_get("last_used_at")?,
            revoked_at: r.try_get("revoked_at")?,
        })
    }};
}

/// A [`LoginFailures`] from a row of `login_failures`.
macro_rules! login_failures_from {
    ($r:expr) => {{
        let r = $r;
        let failures: i32 = r.try_get("failures")?;
        Ok::<_, StoreError>(LoginFailures {
            account: r.try_get("account")?,
            failures: u32::try_from(failures)
                .map_err(|_| StoreError::Corrupt(format!("login_failures.failures = {failures}")))?,
            last_failure_at: r.try_get("last_failure_at")?,
            locked_at: r.try_get("locked_at")?,
        })
    }};
}

/// The staff implementation, written once for both backends: `$row` is the backend's row type,
/// `$reader` and `$writer` give its pools. The SQL uses `$n` placeholders, which both accept;
/// instants are bound as [`crate::sql::At`].
macro_rules! staff_store {
    ($t:ty, $row:ty, $reader:ident, $writer:ident) => {
        impl $t {
            async fn agencies_of(&self, staff_id: i64) -> Result<Vec<AgencyCode>, StoreError> {
                let q = "SELECT agency FROM staff_agencies WHERE staff_id = $1 ORDER BY agency";
                let codes: Vec<String> = sqlx::query_scalar(&q).bind(staff_id).fetch_all(self.$reader()).await?;
                codes.iter().map(|c| sql::parse("staff_agencies", "agency", c)).collect()
            }

            async fn capabilities_of(&self, staff_id: i64) -> Result<Vec<Capability>, StoreError> {
                let q = "SELECT capability FROM staff_capabilities WHERE staff_id = $1 ORDER BY capability";
                let names: Vec<String> = sqlx::query_scalar(&q).bind(staff_id).fetch_all(self.$reader()).await?;
                let mut caps: Vec<Capability> = names
                    .iter()
                    .map(|c| sql::parse("staff_capabilities", "capability", c))
                    .collect::<Result<_, _>>()?;
                caps.sort();
                Ok(caps)
            }

            /// Dossiers where `condition` holds and `column` is one of `agencies`, in `order`.
            async fn dossiers_where(
                &self,
                condition: &str,
                column: &str,
                agencies: &[AgencyCode],
                order: &str,
                limit: u32,
            ) -> Result<Vec<DossierRow>, StoreError> {
                if agencies.is_empty() {
                    return Ok(Vec::new());
                }
                let q = format!(
                    "{} WHERE {condition} AND {column} IN ({}) ORDER BY {order} LIMIT {limit}",
                    sql::select_dossiers(),
                    $crate::sql::list($crate::sql::Dialect::Postgres, agencies.len())
                );
                let mut query = sqlx::query(&q);
                for a in agencies {
                    query = query.bind(a.as_str());
                }
                query.fetch_all(self.$reader()).await?.iter().map(|r| decode_dossier!(r)).collect()
            }

            /// One page (`window`) of the dossiers where `f` holds, in `order`, and how many
            /// there are.
            async fn dossiers_paged(
                &self,
                f: &$crate::sql::Filter,
                order: &str,
                window: Window,
            ) -> Result<Paged<DossierRow>, StoreError> {
                macro_rules! bind_params {
                    ($q:expr) => {{
                        let mut q = $q;
                        for p in &f.params {
                            q = q.bind(p.as_str());
                        }
                        q
                    }};
                }
                let clause = f.clause();
                let count = || async {
                    let q = format!("SELECT COUNT(*) FROM dossiers WHERE {clause}");
                    let n: i64 = bind_params!(sqlx::query_scalar(&q)).fetch_one(self.$reader()).await?;
                    sql::count(n, "dossiers in a list")
                };
                if window.limit == 0 {
                    return Ok(Paged { total: count().await?, rows: Vec::new() });
                }
                let q = format!(
                    "{} WHERE {clause} ORDER BY {order} LIMIT {} OFFSET {}",
                    sql::select_dossiers_counted(),
                    window.limit,
                    window.offset
                );
                let found = bind_params!(sqlx::query(&q)).fetch_all(self.$reader()).await?;
                let total = match found.first() {
                    Some(r) => sql::count(r.try_get::<i64, _>("listed")?, "dossiers in a list")?,
                    None if window.offset == 0 => 0,
                    // Past the last page: the list's length on its own.
                    None => count().await?,
                };
                let rows = found.iter().map(|r| decode_dossier!(r)).collect::<Result<Vec<_>, StoreError>>()?;
                Ok(Paged { total, rows })
            }

            /// Fills the folded names (`applicant_name_folded`) of the rows written before the
            /// write path kept them (migration 18), a thousand rows a transaction in the order of
            /// their codes (one pass over the primary key); how many.
            pub(crate) async fn fold_missing_names(&self) -> Result<u64, StoreError> {
                let mut done = 0;
                let mut after = String::new();
                loop {
                    let q = "SELECT code, applicant_name FROM dossiers \
                         WHERE code > $1 AND applicant_name_folded IS NULL ORDER BY code LIMIT 1000";
                    let rows: Vec<(String, String)> =
                        sqlx::query_as(q).bind(after.as_str()).fetch_all(self.$writer()).await?;
                    let Some((last, _)) = rows.last() else { return Ok(done) };
                    after = last.clone();
                    let mut tx = self.$writer().begin().await?;
                    for (code, name) in &rows {
                        let q = "UPDATE dossiers SET applicant_name_folded = $1 WHERE code = $2";
                        sqlx::query(q).bind(motcua_core::text::fold(name)).bind(code.as_str()).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    done += rows.len() as u64;
                }
            }

            /// Runs `update` (an `UPDATE staff … RETURNING id`) and, if it names an account and
            /// `end_at` is given, ends all that account's sessions and revokes its live tokens at
            /// `end_at`, in one transaction; false (nothing written) if there is no such account.
            async fn change_account<'q>(
                &self,
                update: sqlx::query::QueryScalar<
                    'q,
                    <$row as sqlx::Row>::Database,
                    i64,
                    <<$row as sqlx::Row>::Database as sqlx::Database>::Arguments<'q>,
                >,
                end_at: Option<DateTime<Utc>>,
            ) -> Result<bool, StoreError> {
                let mut tx = self.$writer().begin().await?;
                let Some(id) = update.fetch_optional(&mut *tx).await? else { return Ok(false) };
                if let Some(at) = end_at {
                    let q = "DELETE FROM sessions WHERE staff_id = $1";
                    sqlx::query(&q).bind(id).execute(&mut *tx).await?;
                    let q = "UPDATE api_tokens SET revoked_at = $1 WHERE staff_id = $2 AND revoked_at IS NULL";
                    sqlx::query(&q).bind(At(at)).bind(id).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn staff_from(&self, r: &$row) -> Result<StaffRow, StoreError> {
                let role: String = r.try_get("role")?;
                let id: i64 = r.try_get("id")?;
                Ok(StaffRow {
                    id,
                    username: r.try_get("username")?,
                    display_name: r.try_get("display_name")?,
                    role: role.parse().map_err(|_| StoreError::Corrupt(format!("staff.role = {role:?}")))?,
                    disabled: r.try_get("disabled")?,
                    agencies: self.agencies_of(id).await?,
                    capabilities: self.capabilities_of(id).await?,
                    created_at: r.try_get("created_at")?,
                })
            }
        }

        impl StaffStore for $t {
            async fn add_staff(&self, new: NewStaff) -> Result<Option<StaffRow>, StoreError> {
                let mut tx = self.$writer().begin().await?;
                let q = "INSERT INTO staff (username, display_name, role, password_hash, disabled, created_at, password_changed_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
                let id: i64 = match sqlx::query_scalar(&q)
                    .bind(new.username.as_str())
                    .bind(new.display_name.as_str())
                    .bind(new.role.as_str())
                    .bind(new.password_hash.as_str())
                    .bind(false)
                    .bind(At(new.at))
                    .bind(At(new.at))
                    .fetch_one(&mut *tx)
                    .await
                {
                    Ok(id) => id,
                    Err(e) if is_unique_violation(&e) => return Ok(None),
                    Err(e) => return Err(e.into()),
                };
                let q = "INSERT INTO staff_agencies (staff_id, agency) VALUES ($1, $2) ON CONFLICT DO NOTHING";
                for a in &new.agencies {
                    sqlx::query(&q).bind(id).bind(a.as_str()).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                let mut agencies = new.agencies.clone();
                agencies.sort();
                agencies.dedup();
                Ok(Some(StaffRow {
                    id,
                    username: new.username,
                    display_name: new.display_name,
                    role: new.role,
                    disabled: false,
                    agencies,
                    capabilities: Vec::new(),
                    created_at: motcua_core::calendar::truncate_to_micros(new.at),
                }))
            }

            async fn staff_list(&self) -> Result<Vec<StaffRow>, StoreError> {
                let q = format!("SELECT {STAFF_COLUMNS} FROM staff ORDER BY username");
                let rows = sqlx::query(&q).fetch_all(self.$reader()).await?;
                let mut out = Vec::with_capacity(rows.len());
                for r in &rows {
                    out.push(self.staff_from(r).await?);
                }
                Ok(out)
            }

            async fn staff_credentials(&self, username: &str) -> Result<Option<(StaffRow, String)>, StoreError> {
                let q = format!("SELECT {STAFF_COLUMNS}, password_hash FROM staff WHERE username = $1");
                let Some(r) = sqlx::query(&q).bind(username).fetch_optional(self.$reader()).await? else {
                    return Ok(None);
                };
                let hash: String = r.try_get("password_hash")?;
                Ok(Some((self.staff_from(&r).await?, hash)))
            }

            async fn set_staff_disabled(
                &self,
                username: &str,
                disabled: bool,
                at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let q = "UPDATE staff SET disabled = $1 WHERE username = $2 RETURNING id";
                self.change_account(sqlx::query_scalar(&q).bind(disabled).bind(username), disabled.then_some(at)).await
            }

            async fn set_capability(
                &self,
                username: &str,
                capability: Capability,
                granted: bool,
                at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let mut tx = self.$writer().begin().await?;
                let q = "SELECT id FROM staff WHERE username = $1";
                let id: Option<i64> = sqlx::query_scalar(&q).bind(username).fetch_optional(&mut *tx).await?;
                let Some(id) = id else { return Ok(false) };
                if granted {
                    let q = "INSERT INTO staff_capabilities (staff_id, capability, granted_at) VALUES ($1, $2, $3) \
                             ON CONFLICT DO NOTHING";
                    sqlx::query(&q).bind(id).bind(capability.as_str()).bind(At(at)).execute(&mut *tx).await?;
                } else {
                    let q = "DELETE FROM staff_capabilities WHERE staff_id = $1 AND capability = $2";
                    sqlx::query(&q).bind(id).bind(capability.as_str()).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(true)
            }

            async fn set_staff_password(
                &self,
                username: &str,
                password_hash: &str,
                at: DateTime<Utc>,
            ) -> Result<bool, StoreError> {
                let q = "UPDATE staff SET password_hash = $1, password_changed_at = $2 WHERE username = $3 RETURNING id";
                self.change_account(sqlx::query_scalar(&q).bind(password_hash).bind(At(at)).bind(username), Some(at))
                    .await
            }

            async fn create_session(
                &self,
                id_hash: &str,
                staff_id: i64,
                csrf: &str,
                at: DateTime<Utc>,
                expires_at: DateTime<Utc>,
            ) -> Result<(), StoreError> {
                let q = "INSERT INTO sessions (id_hash, staff_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)";
                sqlx::query(&q)
                    .bind(id_hash)
                    .bind(staff_id)
                    .bind(csrf)
                    .bind(At(at))
                    .bind(At(expires_at))
                    .execute(self.$writer())
                    .await?;
                Ok(())
            }

            async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> Result<Option<SessionRow>, StoreError> {
                let q = "SELECT s.csrf, s.expires_at, st.id, st.username, st.display_name, st.role, st.disabled, st.created_at \
                     FROM sessions s JOIN staff st ON st.id = s.staff_id \
                     WHERE s.id_hash = $1 AND s.expires_at > $2 AND st.disabled = $3";
                let Some(r) =
                    sqlx::query(&q).bind(id_hash).bind(At(now)).bind(false).fetch_optional(self.$reader()).await?
                else {
                    return Ok(None);
                };
                Ok(Some(SessionRow {
                    csrf: r.try_get("csrf")?,
                    expires_at: r.try_get("expires_at")?,
                    staff: self.staff_from(&r).await?,
                }))
            }

            async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
                let q = "DELETE FROM sessions WHERE id_hash = $1";
                sqlx::query(&q).bind(id_hash).execute(self.$writer()).await?;
                Ok(())
            }

            async fn purge_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
                let q = "DELETE FROM sessions WHERE expires_at <= $1";
                Ok(sqlx::query(&q).bind(At(now)).execute(self.$writer()).await?.rows_affected())
            }

            async fn create_token(&self, new: NewToken) -> Result<i64, StoreError> {
                let q = "INSERT INTO api_tokens (token_hash, staff_id, name, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5) RETURNING id";
                Ok(sqlx::query_scalar(&q)
                    .bind(new.token_hash.as_str())
                    .bind(new.staff_id)
                    .bind(new.name.as_str())
                    .bind(At(new.at))
                    .bind(At(new.expires_at))
                    .fetch_one(self.$writer())
                    .await?)
            }

            async fn token_staff(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<TokenUse>, StoreError> {
                let q = "SELECT t.id AS token_id, t.expires_at, t.last_used_at, \
                     st.id, st.username, st.display_name, st.role, st.disabled, st.created_at \
                     FROM api_tokens t JOIN staff st ON st.id = t.staff_id \
                     WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 AND st.disabled = $3";
                let Some(r) =
                    sqlx::query(&q).bind(token_hash).bind(At(now)).bind(false).fetch_optional(self.$reader()).await?
                else {
                    return Ok(None);
                };
                Ok(Some(TokenUse {
                    token_id: r.try_get("token_id")?,
                    expires_at: r.try_get("expires_at")?,
                    last_used_at: r.try_get("last_used_at")?,
                    staff: self.staff_from(&r).await?,
                }))
            }

            async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
                let q = "UPDATE api_tokens SET last_used_at = $1 WHERE id = $2";
                sqlx::query(&q).bind(At(at)).bind(id).execute(self.$writer()).await?;
                Ok(())
            }

            async fn tokens(&self, staff_id: Option<i64>) -> Result<Vec<TokenRow>, StoreError> {
                let q = format!("{TOKEN_SELECT} WHERE (CAST($1 AS BIGINT) IS NULL OR t.staff_id = $1) ORDER BY t.id DESC");
                let rows = sqlx::query(&q).bind(staff_id).fetch_all(self.$reader()).await?;
                rows.iter().map(|r| token_from!(r)).collect()
            }

            async fn revoke_token(
                &self,
                id: i64,
                staff_id: Option<i64>,
                at: DateTime<Utc>,
            ) -> Result<Option<TokenRow>, StoreError> {
                let q = "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $1) \
                     WHERE id = $2 AND (CAST($3 AS BIGINT) IS NULL OR staff_id = $3)";
                let mut tx = self.$writer().begin().await?;
                let n = sqlx::query(&q).bind(At(at)).bind(id).bind(staff_id).execute(&mut *tx).await?.rows_affected();
                if n == 0 {
                    return Ok(None);
                }
                let q = format!("{TOKEN_SELECT} WHERE t.id = $1");
                let r = sqlx::query(&q).bind(id).fetch_one(&mut *tx).await?;
                let row = token_from!(&r)?;
                tx.commit().await?;
                Ok(Some(row))
            }

            async fn login_failures(&self, account: &str) -> Result<Option<LoginFailures>, StoreError> {
                let q = "SELECT account, failures, last_failure_at, locked_at FROM login_failures WHERE account = $1";
                match sqlx::query(&q).bind(account).fetch_optional(self.$reader()).await? {
                    Some(r) => Ok(Some(login_failures_from!(&r)?)),
                    None => Ok(None),
                }
            }

            async fn count_login_failure(
                &self,
                account: &str,
                at: DateTime<Utc>,
                lock_after: u32,
            ) -> Result<LoginFailures, StoreError> {
                let lock_after = i32::try_from(lock_after).unwrap_or(i32::MAX);
                let q = "INSERT INTO login_failures (account, failures, last_failure_at, locked_at) \
                     VALUES ($1, 1, $2, CASE WHEN $3 <= 1 THEN $4 END) \
                     ON CONFLICT (account) DO UPDATE SET failures = login_failures.failures + 1, \
                     last_failure_at = excluded.last_failure_at, \
                     locked_at = COALESCE(login_failures.locked_at, \
                         CASE WHEN login_failures.failures + 1 >= $5 THEN excluded.last_failure_at END) \
                     RETURNING account, failures, last_failure_at, locked_at";
                let r = sqlx::query(&q)
                    .bind(account)
                    .bind(At(at))
                    .bind(lock_after)
                    .bind(At(at))
                    .bind(lock_after)
                    .fetch_one(self.$writer())
                    .await?;
                login_failures_from!(&r)
            }

            async fn clear_login_failures(&self, account: &str) -> Result<bool, StoreError> {
                let q = "DELETE FROM login_failures WHERE account = $1";
                Ok(sqlx::query(&q).bind(account).execute(self.$writer()).await?.rows_affected() > 0)
            }

            async fn rate(&self, rating: &Rating) -> Result<bool, StoreError> {
                let q = "INSERT INTO ratings (dossier_code, score, comment, rated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING";
                let mut tx = self.$writer().begin().await?;
                let n = sqlx::query(&q)
                    .bind(rating.code.as_str())
                    .bind(i32::from(rating.score))
                    .bind(rating.comment.as_deref())
                    .bind(At(rating.rated_at))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 1 {
                    // The scorecard's sums of ratings (migration 32), in the same transaction.
                    let day = motcua_core::calendar::to_local(rating.rated_at).date();
                    sqlx::query(crate::scorecard::ADD_RATING_DAY)
                        .bind(day)
                        .bind(i64::from(crate::scorecard::dissatisfied(rating.score)))
                        .bind(rating.code.as_str())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(n == 1)
            }

            async fn rating(&self, code: &DossierCode) -> Result<Option<Rating>, StoreError> {
                let q = "SELECT score, comment, rated_at FROM ratings WHERE dossier_code = $1";
                let Some(r) = sqlx::query(&q).bind(code.as_str()).fetch_optional(self.$reader()).await? else {
                    return Ok(None);
                };
                let score: i32 = r.try_get("score")?;
                Ok(Some(Rating {
                    code: code.clone(),
                    score: u8::try_from(score).map_err(|_| StoreError::Corrupt(format!("ratings.score = {score}")))?,
                    comment: r.try_get("comment")?,
                    rated_at: r.try_get("rated_at")?,
                }))
            }

            async fn rating_counts(
                &self,
                a: DateTime<Utc>,
                b: DateTime<Utc>,
            ) -> Result<Vec<(AgencyCode, RatingCounts)>, StoreError> {
                let q = "SELECT d.lead_agency AS agency, COUNT(*) AS n, COALESCE(SUM(r.score), 0) AS score_sum, \
                     COALESCE(SUM(CASE WHEN r.score >= 4 THEN 1 ELSE 0 END), 0) AS satisfied, \
                     COALESCE(SUM(CASE WHEN r.score <= 2 THEN 1 ELSE 0 END), 0) AS dissatisfied \
                     FROM ratings r JOIN dossiers d ON d.code = r.dossier_code \
                     WHERE r.rated_at >= $1 AND r.rated_at < $2 GROUP BY d.lead_agency ORDER BY d.lead_agency";
                let rows = sqlx::query(&q).bind(At(a)).bind(At(b)).fetch_all(self.$reader()).await?;
                rows.iter()
                    .map(|r| {
                        let n = |c: &str| -> Result<u64, StoreError> { sql::count(r.try_get::<i64, _>(c)?, c) };
                        Ok((
                            sql::parse("dossiers", "lead_agency", &r.try_get::<String, _>("agency")?)?,
                            RatingCounts {
                                ratings: n("n")?,
                                score_sum: n("score_sum")?,
                                satisfied: n("satisfied")?,
                                dissatisfied: n("dissatisfied")?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn work_queue(&self, scope: Scope<'_>, window: Window) -> Result<Paged<DossierRow>, StoreError> {
                let mut f = $crate::sql::Filter::default();
                f.and($crate::sql::OPEN.as_str());
                if let Scope::Agencies(holders) = scope {
                    if holders.is_empty() {
                        return Ok(Paged::empty());
                    }
                    let list = f.list(holders.iter().map(AgencyCode::as_str));
                    f.and(format!("holder IN ({list})"));
                }
                let order = format!("CASE WHEN {} THEN 1 ELSE 0 END, due_at, code", $crate::sql::WAITING_FOR_CITIZEN);
                self.dossiers_paged(&f, &order, window).await
            }

            async fn desk_list(
                &self,
                list: DeskList,
                scope: Scope<'_>,
                window: Window,
            ) -> Result<Paged<DossierRow>, StoreError> {
                let agencies = match scope {
                    Scope::Agencies([]) => return Ok(Paged::empty()),
                    Scope::Agencies(a) => Some(a),
                    Scope::City => None,
                };
                let mut f = $crate::sql::Filter::default();
                let order = $crate::staff::desk_list_terms(list, agencies, &mut f);
                self.dossiers_paged(&f, order, window).await
            }

            async fn registered_online(
                &self,
                agencies: &[AgencyCode],
                limit: u32,
            ) -> Result<Vec<DossierRow>, StoreError> {
                let online = format!("status = {}", motcua_core::Status::RegisteredOnline.code());
                self.dossiers_where(&online, "receiving_agency", agencies, "registered_at, code", limit).await
            }

            async fn audit(
                &self,
                before: Option<i64>,
                within: Option<&[AgencyCode]>,
                limit: u32,
            ) -> Result<Vec<AuditRow>, StoreError> {
                let Some((f, held)) = $crate::staff::held_by(super::D, within) else { return Ok(Vec::new()) };
                let q = format!(
                    "SELECT id, dossier_code, kind, at, by_staff, recorded_at FROM dossier_events \
                     WHERE id < {} AND {held} ORDER BY id DESC LIMIT {limit}",
                    before.unwrap_or(i64::MAX)
                );
                let mut query = sqlx::query(&q);
                for p in &f.params {
                    query = query.bind(p.as_str());
                }
                let rows = query.fetch_all(self.$reader()).await?;
                rows.iter()
                    .map(|r| {
                        Ok(AuditRow {
                            id: r.try_get("id")?,
                            code: r.try_get("dossier_code")?,
                            kind: r.try_get("kind")?,
                            at: r.try_get("at")?,
                            by: r.try_get("by_staff")?,
                            recorded_at: r.try_get("recorded_at")?,
                        })
                    })
                    .collect()
            }

            async fn agencies_that_held(&self, code: &DossierCode) -> Result<Vec<AgencyCode>, StoreError> {
                let q = "SELECT seq, CAST(payload AS TEXT) AS payload FROM dossier_events \
                     WHERE dossier_code = $1 AND kind IN ('received', 'registered_online', 'transferred') ORDER BY seq";
                let rows = sqlx::query(&q).bind(code.as_str()).fetch_all(self.$reader()).await?;
                let events = rows
                    .iter()
                    .map(|r| {
                        let seq: i32 = r.try_get("seq")?;
                        sql::parse_event(code.as_str(), i64::from(seq), &r.try_get::<String, _>("payload")?)
                    })
                    .collect::<Result<Vec<_>, StoreError>>()?;
                Ok($crate::staff::agencies_that_held(&events))
            }

            async fn search_dossiers(
                &self,
                search: &DossierSearch,
                within: Option<&[AgencyCode]>,
                window: Window,
            ) -> Result<Paged<DossierRow>, StoreError> {
                let mut f = $crate::sql::Filter::default();
                if $crate::staff::search_terms(super::D, search, &mut f).is_none() {
                    return Ok(Paged::empty());
                }
                if let Some(agencies) = within {
                    if agencies.is_empty() {
                        return Ok(Paged::empty());
                    }
                    $crate::staff::received_or_held(super::D, agencies, &mut f);
                }
                self.dossiers_paged(&f, "last_event_at DESC, code DESC", window).await
            }

            async fn record_personal_data_reads(&self, reads: &[NewPersonalDataRead]) -> Result<(), StoreError> {
                if reads.is_empty() {
                    return Ok(());
                }
                let q = "INSERT INTO personal_data_reads (staff, dossier_code, route, fields, read_at, subject) \
                     VALUES ($1, $2, $3, $4, $5, $6)";
                let mut tx = self.$writer().begin().await?;
                for r in reads {
                    sqlx::query(&q)
                        .bind(r.staff.as_str())
                        .bind(r.code.as_str())
                        .bind(r.route.as_str())
                        .bind(r.fields.join(","))
                        .bind(At(r.at))
                        .bind(r.code.subject())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn personal_data_reads(
                &self,
                before: Option<i64>,
                within: Option<&[AgencyCode]>,
                limit: u32,
            ) -> Result<Vec<PersonalDataRead>, StoreError> {
                let Some((mut f, held)) = $crate::staff::held_by(super::D, within) else { return Ok(Vec::new()) };
                // An item's read is in scope when the item is with one of `within`.
                let held = match within {
                    Some(agencies) => {
                        let list = f.list(agencies.iter().map(AgencyCode::as_str));
                        format!(
                            "((subject = 'dossier' AND {held}) OR (subject = 'petition' AND dossier_code IN \
                             (SELECT code FROM petitions WHERE agency IN ({list}))))"
                        )
                    }
                    None => held,
                };
                let q = format!(
                    "SELECT id, staff, dossier_code, route, fields, read_at, subject FROM personal_data_reads \
                     WHERE id < {} AND {held} ORDER BY id DESC LIMIT {limit}",
                    before.unwrap_or(i64::MAX)
                );
                let mut query = sqlx::query(&q);
                for p in &f.params {
                    query = query.bind(p.as_str());
                }
                let rows = query.fetch_all(self.$reader()).await?;
                rows.iter()
                    .map(|r| {
                        let fields: String = r.try_get("fields")?;
                        Ok(PersonalDataRead {
                            id: r.try_get("id")?,
                            staff: r.try_get("staff")?,
                            code: $crate::staff::ReadOf::parse(
                                &r.try_get::<String, _>("subject")?,
                                &r.try_get::<String, _>("dossier_code")?,
                            )?,
                            route: r.try_get("route")?,
                            fields: fields.split(',').filter(|f| !f.is_empty()).map(str::to_string).collect(),
                            read_at: r.try_get("read_at")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use {login_failures_from, staff_store, token_from};

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sql::{Dialect, Filter};

    #[test]
    fn free_text_is_what_it_can_be() {
        let s = DossierSearch::free_text(" Trần Thị Bình ");
        assert_eq!((s.applicant.as_deref(), s.any), (Some("Trần Thị Bình"), true));
        assert!(s.code.is_none() && s.id_number.is_none() && s.phone.is_none());
        let s = DossierSearch::free_text("0905 123 456");
        assert_eq!((s.phone.as_deref(), s.id_number.as_deref()), (Some("0905123456"), None));
        let s = DossierSearch::free_text("048190000123");
        assert_eq!((s.id_number.as_deref(), s.phone.as_deref()), (Some("048190000123"), None));
        // Nine digits are an old ID number; ten starting with 0 a phone number.
        assert_eq!(DossierSearch::free_text("048 190 001").id_number.as_deref(), Some("048190001"));
        let s = DossierSearch::free_text("000.00.02.H17-250303-0001");
        assert_eq!(s.code.as_deref(), Some("000.00.02.H17-250303-0001"));
        assert_eq!(DossierSearch::free_text("000.00.41").code.as_deref(), Some("000.00.41"), "too few digits");
        assert_eq!(DossierSearch::free_text("Binh").applicant.as_deref(), Some("Binh"), "no digit");
        assert!(DossierSearch::free_text("   ").is_empty());
    }

    #[test]
    fn search_terms_are_bound_never_spliced() {
        let mut f = Filter::default();
        let s = DossierSearch::free_text("Trần' OR 1=1 --");
        assert!(search_terms(Dialect::Postgres, &s, &mut f).is_some());
        assert_eq!(f.clause(), "(applicant_name_folded LIKE $1 ESCAPE '\\')");
        assert_eq!(f.params, vec!["%tran' or 1=1 --%".to_string()]);
        let mut f = Filter::default();
        let s = DossierSearch { code: Some("000.00.02.H17-250303-0001".into()), ..DossierSearch::default() };
        search_terms(Dialect::Sqlite, &s, &mut f).unwrap();
        assert_eq!(f.clause(), "code = $1");
        let mut f = Filter::default();
        let s = DossierSearch { code: Some("000*".into()), phone: Some("0905123456".into()), ..Default::default() };
        assert!(search_terms(Dialect::Sqlite, &s, &mut f).is_none(), "all terms must match, and one cannot");
        let mut f = Filter::default();
        assert!(search_terms(Dialect::Sqlite, &DossierSearch::default(), &mut f).is_none());
    }

    #[test]
    fn windows_count_pages_from_one() {
        assert_eq!(Window::page(1, 50), Window { offset: 0, limit: 50 });
        assert_eq!(Window::page(3, 20), Window { offset: 40, limit: 20 });
        assert_eq!(Window::page(0, 20), Window { offset: 0, limit: 20 });
        assert_eq!(DeskList::ALL.map(DeskList::name), ["sent", "ready", "waiting", "online"]);
        assert_eq!(DeskList::parse("ready"), Some(DeskList::Ready));
        assert_eq!(DeskList::parse("queue"), None);
    }
}
