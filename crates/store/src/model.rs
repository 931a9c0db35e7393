//! The values the store takes and gives: commands (a new dossier, a batch item), the projection
//! row of a dossier, daily aggregate rows, logged events and the recompute diff.
//!
//! Every derived value here is computed by motcua-core ([`DossierRow::from_dossier`]); the
//! store only copies it into rows.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::analysis::{RemainingTimeModel, at_risk, classify, national_on_time};
use motcua_core::calendar::{at_vn, to_local, truncate_to_micros};
use motcua_core::deadlines::WaitKind;
use motcua_core::{
    AgencyCode, Applicant, Channel, Domain, Dossier, DossierCode, Email, Event, Outcome, PaymentMethod, Phone,
    Procedure, ProcedureCode, Status, Timeliness, vocab,
};
use serde::Serialize;

use crate::error::StoreError;
use crate::write::counters::OpenKey;

/// What the desk records to open a dossier; the store allocates its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDossier {
    pub procedure: ProcedureCode,
    /// The receiving agency (its desk); the code is numbered per agency and local day.
    pub agency: AgencyCode,
    pub applicant: Applicant,
    pub channel: Channel,
    /// Submitted on the portal (status 1, `RegisteredOnline`); otherwise received at the desk
    /// (status 2, `Received`, the clock starts).
    pub online: bool,
    /// The document checklist kept at intake (may be empty).
    pub documents: Vec<motcua_core::DocumentItem>,
    /// The papers digitised at intake (`None`: not said).
    pub digitised: Option<Vec<String>>,
}

/// One command of a [`crate::Store::record_batch`].
#[derive(Debug, Clone, PartialEq)]
pub enum BatchItem {
    /// Open a new dossier, as [`crate::Store::intake`]; the receipt event may carry a
    /// backdating reason ([`motcua_core::Event::backdate_reason`]).
    Intake { new: NewDossier, at: DateTime<Utc>, by: Option<String>, backdate_reason: Option<String> },
    /// Record an event, as [`crate::Store::record`].
    Record { code: DossierCode, event: Event },
    /// Open a new dossier and record its later events under the code it gets (simulations,
    /// bulk loads of new dossiers). The result is the dossier after its last event; if core
    /// refuses an event, the intake and the events before it stay and the error is returned.
    IntakeWith { new: NewDossier, at: DateTime<Utc>, by: Option<String>, then: Vec<Event> },
}

/// An event as stored in the log, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoggedEvent {
    /// Log-wide, increasing: page with [`crate::Store::events_after`].
    pub id: i64,
    pub code: DossierCode,
    /// 1, 2, … within the dossier.
    pub seq: u32,
    pub event: Event,
    pub recorded_at: DateTime<Utc>,
}

/// The projection of one dossier: its current state as core computes it, flattened for
/// queries (the `dossiers` table).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DossierRow {
    pub code: DossierCode,
    pub procedure: ProcedureCode,
    pub receiving_agency: AgencyCode,
    /// The agency the dossier's figures are reported under ([`Domain::lead_agency`]).
    pub lead_agency: AgencyCode,
    pub channel: Channel,
    pub status: Status,
    pub holder: Option<AgencyCode>,
    /// Transferred to `holder`, not yet accepted.
    pub handoff_pending: bool,
    /// The agency that sent the transfer not yet accepted, and when (both `None` otherwise).
    pub handoff_from: Option<AgencyCode>,
    pub handoff_sent_at: Option<DateTime<Utc>>,
    pub applicant_name: String,
    pub applicant_email: Option<Email>,
    pub applicant_phone: Option<Phone>,
    pub applicant_id_number: Option<String>,
    pub applicant_address: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    pub received_at: Option<DateTime<Utc>>,
    pub start_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub original_due_at: Option<DateTime<Utc>>,
    pub rescheduled_to: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub returned_at: Option<DateTime<Utc>>,
    pub outcome: Option<Outcome>,
    /// Early / on time / late, once finished.
    pub timeliness: Option<Timeliness>,
    /// Decision 766 indicator 2.1 for the dossier at its finish, once finished.
    pub national_on_time: Option<bool>,
    pub supplement_count: u32,
    pub reschedule_count: u32,
    /// How many times the due date was recomputed (part of the outbox dedupe key).
    pub deadline_revision: u32,
    /// Open and at risk by core's rule (remaining working time below what the rest of the route
    /// needs), as of the last event; stays true until the dossier moves on or becomes overdue.
    pub at_risk: bool,
    /// The wait in progress (supplement or payment), if any, and since when.
    pub waiting_kind: Option<WaitKind>,
    pub waiting_since: Option<DateTime<Utc>>,
    /// Real seconds of the completed waits.
    pub waited_seconds_closed: i64,
    pub last_event_at: DateTime<Utc>,
    pub event_count: u32,
    /// The fee of the last payment request that carried one, in VND (`None`: not recorded).
    pub fee_vnd: Option<u64>,
    /// How the fee was paid (`None`: not paid, or not recorded).
    pub payment_method: Option<PaymentMethod>,
    pub paid_at: Option<DateTime<Utc>>,
    /// Whether the result was issued electronically (`None`: not resolved, or not recorded).
    pub electronic_result: Option<bool>,
    /// How many papers were digitised (`None`: not recorded).
    pub digitised: Option<u32>,
    /// When the dossier was first sent to the national portal.
    pub synced_at: Option<DateTime<Utc>>,
    /// The reason code of the latest delay that carried one.
    pub delay_reason: Option<String>,
}

/// Instants are kept to the microsecond, as PostgreSQL stores them.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl DossierRow {
    /// Flattens a dossier state. Every clock value comes from core: the due dates from the
    /// state machine, the classification from [`classify`] with the domain's mode, the
    /// national figure from [`national_on_time`] over the instant of the finish.
    pub fn from_dossier(domain: &Domain, d: &Dossier) -> Result<Self, StoreError> {
        let missing = |what: &str| StoreError::Corrupt(format!("a dossier state without {what}"));
        let code = d.code.clone().ok_or_else(|| missing("a code"))?;
        let procedure_code = d.procedure.clone().ok_or_else(|| missing("a procedure"))?;
        let receiving = d.receiving_agency.clone().ok_or_else(|| missing("a receiving agency"))?;
        let status = d.status.ok_or_else(|| missing("a status"))?;
        let last_event_at = d.last_event_at.ok_or_else(|| missing("events"))?;
        let procedure = domain.procedure_of(d)?;
        let lead_agency = domain.lead_agency(procedure, &receiving);
        let timeliness = match (d.finished_at, d.due_at) {
            (Some(f), Some(due)) => Some(classify(f, due, domain.classify)),
            _ => None,
        };
        let national = d.finished_at.and_then(|f| national_on_time(d, f, f));
        let open_wait = d.waits.last().filter(|w| w.completed_at.is_none());
        let waited_seconds_closed =
            d.waits.iter().filter_map(|w| w.completed_at.map(|c| (c - w.requested_at).num_seconds())).sum();
        let m = |t: Option<DateTime<Utc>>| t.map(truncate_to_micros);
        let at_risk = at_risk_of(domain, d, procedure, &receiving, last_event_at);
        let pending = d.pending_handoff();
        Ok(Self {
            code,
            procedure: procedure_code,
            receiving_agency: receiving,
            lead_agency,
            channel: d.channel,
            status,
            holder: d.holder.clone(),
            handoff_pending: pending.is_some(),
            handoff_from: pending.map(|h| h.from.clone()),
            handoff_sent_at: m(pending.map(|h| h.sent_at)),
            applicant_name: d.applicant.name.clone(),
            applicant_email: d.applicant.email.clone(),
            applicant_phone: d.applicant.phone.clone(),
            applicant_id_number: d.applicant.id_number.clone(),
            applicant_address: d.applicant.address.clone(),
            registered_at: m(d.registered_at),
            received_at: m(d.received_at),
            start_at: m(d.start_at),
            due_at: m(d.due_at),
            original_due_at: m(d.original_due_at),
            rescheduled_to: m(d.rescheduled_to()),
            finished_at: m(d.finished_at),
            returned_at: m(d.returned_at),
            outcome: d.outcome,
            timeliness,
            national_on_time: national,
            supplement_count: to_u32(d.supplement_count()),
            reschedule_count: to_u32(d.reschedules.len()),
            deadline_revision: to_u32(d.deadline_revision()),
            at_risk,
            waiting_kind: open_wait.map(|w| w.kind),
            waiting_since: open_wait.map(|w| truncate_to_micros(w.requested_at)),
            waited_seconds_closed,
            last_event_at: truncate_to_micros(last_event_at),
            event_count: d.event_count,
            fee_vnd: d.fee_vnd,
            payment_method: d.payment_method,
            paid_at: m(d.paid_at),
            electronic_result: d.electronic_result,
            digitised: d.digitised,
            synced_at: m(d.synced_at),
            delay_reason: d.delay_reason.clone(),
        })
    }

    /// Where the dossier is counted among the unfinished ones (`metric_open_dossiers`).
    pub(crate) fn open_key(&self) -> Option<OpenKey> {
        OpenKey::of(self.lead_agency.as_str(), self.status, self.at_risk)
    }

    /// True while the dossier is open (core's `vocab::OPEN`).
    pub fn is_open(&self) -> bool {
        self.status.is_open()
    }

    /// What this dossier contributes to `daily_counts`.
    pub(crate) fn cells(&self) -> Cells {
        Facts {
            lead: &self.lead_agency,
            procedure: &self.procedure,
            channel: self.channel,
            received_at: self.received_at,
            finished_at: self.finished_at,
            timeliness: self.timeliness,
            national_on_time: self.national_on_time,
        }
        .cells()
    }
}

/// Open and at risk by core's rule, as of the dossier's last event.
fn at_risk_of(
    domain: &Domain,
    d: &Dossier,
    procedure: &Procedure,
    receiving: &AgencyCode,
    last_event_at: DateTime<Utc>,
) -> bool {
    at_risk(d, procedure, domain.calendar_for(receiving), last_event_at, &RemainingTimeModel::default())
        .unwrap_or(false)
}

/// Where a dossier state is counted among the unfinished ones, as its projection row would
/// say ([`DossierRow::open_key`]) without building the row.
pub(crate) fn open_key(domain: &Domain, d: &Dossier) -> Result<Option<OpenKey>, StoreError> {
    let Some(status) = d.status.filter(|s| vocab::NOT_FINISHED.contains(*s)) else { return Ok(None) };
    let (Some(_), Some(receiving), Some(last_event_at)) = (&d.procedure, &d.receiving_agency, d.last_event_at) else {
        return Err(StoreError::Corrupt("a dossier state without a procedure, receiving agency or events".into()));
    };
    let procedure = domain.procedure_of(d)?;
    let lead = domain.lead_agency(procedure, receiving);
    Ok(OpenKey::of(lead.as_str(), status, at_risk_of(domain, d, procedure, receiving, last_event_at)))
}

/// The cells one dossier adds to: at most its receipt and its finish.
pub(crate) type Cells = Vec<(CountKey, CountValues)>;

/// What a dossier's aggregate cells depend on.
struct Facts<'a> {
    lead: &'a AgencyCode,
    procedure: &'a ProcedureCode,
    channel: Channel,
    received_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    timeliness: Option<Timeliness>,
    national_on_time: Option<bool>,
}

impl Facts<'_> {
    /// The receipt counts on the local day it happened; the finish (with its classification
    /// and national figure) on the local day of the finish.
    fn cells(&self) -> Cells {
        let key = |at: DateTime<Utc>| CountKey {
            day: to_local(at).date(),
            agency: self.lead.clone(),
            procedure: self.procedure.clone(),
            channel: self.channel,
        };
        let mut out = Vec::with_capacity(2);
        if let Some(at) = self.received_at {
            out.push((key(at), CountValues { received: 1, ..CountValues::default() }));
        }
        if let Some(at) = self.finished_at {
            let one = |want: Timeliness| i64::from(self.timeliness == Some(want));
            let v = CountValues {
                finished: 1,
                early: one(Timeliness::Early),
                on_time: one(Timeliness::OnTime),
                late: one(Timeliness::Late),
                national_on_time: i64::from(self.national_on_time == Some(true)),
                ..CountValues::default()
            };
            out.push((key(at), v));
        }
        out
    }
}

/// The cells of a dossier state, as [`DossierRow::cells`] of its row would give, without
/// building the row.
pub(crate) fn dossier_cells(domain: &Domain, d: &Dossier) -> Result<Cells, StoreError> {
    let (Some(procedure), Some(receiving)) = (&d.procedure, &d.receiving_agency) else {
        return Err(StoreError::Corrupt("a dossier state without a procedure or receiving agency".into()));
    };
    let lead = domain.lead_agency(domain.procedure_of(d)?, receiving);
    let timeliness = match (d.finished_at, d.due_at) {
        (Some(f), Some(due)) => Some(classify(f, due, domain.classify)),
        _ => None,
    };
    let facts = Facts {
        lead: &lead,
        procedure,
        channel: d.channel,
        received_at: d.received_at,
        finished_at: d.finished_at,
        timeliness,
        national_on_time: d.finished_at.and_then(|f| national_on_time(d, f, f)),
    };
    Ok(facts.cells())
}

/// The cell of `daily_counts` a figure is counted in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct CountKey {
    /// Local date (+07:00).
    pub day: NaiveDate,
    /// The dossier's lead agency.
    pub agency: AgencyCode,
    pub procedure: ProcedureCode,
    pub channel: Channel,
}

impl Ord for CountKey {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.day, &self.agency, &self.procedure, self.channel as u8).cmp(&(
            o.day,
            &o.agency,
            &o.procedure,
            o.channel as u8,
        ))
    }
}

impl PartialOrd for CountKey {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}

impl fmt::Display for CountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} {}", self.day, self.agency, self.procedure, self.channel.name())
    }
}

/// The counters of one cell (signed: also used for deltas).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CountValues {
    pub received: i64,
    pub finished: i64,
    pub early: i64,
    pub on_time: i64,
    pub late: i64,
    /// Finished dossiers on time by the national (Decision 766) rule.
    pub national_on_time: i64,
}

impl CountValues {
    pub fn is_zero(&self) -> bool {
        *self == Self::default()
    }

    pub(crate) fn add(&mut self, o: &Self, sign: i64) {
        self.received += sign * o.received;
        self.finished += sign * o.finished;
        self.early += sign * o.early;
        self.on_time += sign * o.on_time;
        self.late += sign * o.late;
        self.national_on_time += sign * o.national_on_time;
    }
}

/// Dossiers open at an instant `p1` whose projection is their state then (open now, received
/// at or before `p1`, no event after it), counted for a report group
/// ([`crate::Store::open_tallies`]). Only instants are compared; core's rules are applied by
/// the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct OpenTally {
    pub open: i64,
    /// Overdue at `p1`: past their due instant (`due_at < p1`) and not waiting for the citizen
    /// since before it.
    pub past_due: i64,
    /// Waiting for the citizen with the clock stopped (the wait began at or before `due_at`).
    pub waiting: i64,
    /// With the receipt's appointment at or after `p1` and at most one supplement request.
    pub appointment_ahead: i64,
}

/// The facts of one dossier open at an instant that a report judges by itself
/// ([`crate::Store::open_to_judge`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenFacts {
    pub code: DossierCode,
    pub lead_agency: String,
    pub procedure: String,
    pub received_at: Option<DateTime<Utc>>,
    pub due_at: Option<DateTime<Utc>>,
    pub original_due_at: Option<DateTime<Utc>>,
    pub last_event_at: DateTime<Utc>,
    pub supplement_count: u32,
    pub waiting_kind: Option<WaitKind>,
    pub waiting_since: Option<DateTime<Utc>>,
    pub waited_seconds_closed: i64,
}

/// How [`crate::Store::count_totals`] sums the aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Totals {
    Agency,
    Procedure,
    /// Per (agency, procedure): the key is `"<agency> <procedure>"` (codes hold no space), for
    /// a report by procedure narrowed to one agency.
    AgencyProcedure,
    All,
}

impl Totals {
    /// The SQL of the sum (placeholders written by `param`, the backend's style).
    pub(crate) fn sql(self) -> String {
        let sums = ["received", "finished", "early", "on_time", "late", "national_on_time"]
            .map(|c| format!("CAST(SUM({c}) AS BIGINT)"))
            .join(", ");
        let (key, table, group) = match self {
            Self::Agency => ("agency", "metric_agency_days", " GROUP BY agency"),
            Self::Procedure => ("procedure", "daily_counts", " GROUP BY procedure"),
            Self::AgencyProcedure => ("agency || ' ' || procedure", "daily_counts", " GROUP BY agency, procedure"),
            Self::All => ("''", "metric_agency_days", ""),
        };
        format!("SELECT {key}, {sums} FROM {table} WHERE day >= $1 AND day <= $2{group}")
    }

    /// The grouping column of the `dossiers` table, and its GROUP BY.
    pub(crate) fn dossier_key(self) -> (&'static str, &'static str) {
        match self {
            Self::Agency => ("lead_agency", " GROUP BY lead_agency"),
            Self::Procedure => ("procedure", " GROUP BY procedure"),
            Self::AgencyProcedure => ("(lead_agency || ' ' || procedure)", " GROUP BY lead_agency, procedure"),
            Self::All => ("''", ""),
        }
    }
}

/// One row of `daily_counts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyCountRow {
    pub key: CountKey,
    pub counts: CountValues,
}

/// Adds cells (`sign` 1) or removes them (`sign` -1).
pub(crate) fn add_cells(into: &mut BTreeMap<CountKey, CountValues>, cells: &[(CountKey, CountValues)], sign: i64) {
    for (k, v) in cells {
        match into.get_mut(k) {
            Some(c) => c.add(v, sign),
            None => {
                let mut c = CountValues::default();
                c.add(v, sign);
                into.insert(k.clone(), c);
            }
        }
    }
}

/// One projection field that would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    /// `None`: empty (or no row at all).
    pub old: Option<String>,
    pub new: Option<String>,
}

impl fmt::Display for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_string());
        write!(f, "{}: {} → {}", self.field, show(&self.old), show(&self.new))
    }
}

/// A dossier whose projection differs from what its log gives now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DossierChange {
    pub code: DossierCode,
    /// The projection row was missing.
    pub created: bool,
    pub fields: Vec<FieldChange>,
}

/// A dossier whose log no longer replays; its projection is left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayFailure {
    pub code: DossierCode,
    pub error: String,
}

/// One aggregate cell that changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountChange {
    pub key: CountKey,
    pub old: CountValues,
    pub new: CountValues,
}

/// What a recompute found (and, unless `dry_run`, wrote).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct RecomputeDiff {
    pub dry_run: bool,
    /// Dossiers in the log.
    pub dossiers: u64,
    pub changed: Vec<DossierChange>,
    pub unreplayable: Vec<ReplayFailure>,
    /// Projection rows with no event in the log (removed when applied).
    pub orphans: Vec<DossierCode>,
    pub counts: Vec<CountChange>,
    /// Dossiers whose watch-list occurrences change (`watch_occurrences`).
    pub watch_changed: Vec<DossierCode>,
    /// Cells of the watch list's daily sums (`watch_handoffs`, `watch_backdated`) that change.
    pub watch_cells: u64,
}

impl RecomputeDiff {
    /// Nothing would change.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty()
            && self.unreplayable.is_empty()
            && self.orphans.is_empty()
            && self.counts.is_empty()
            && self.watch_changed.is_empty()
            && self.watch_cells == 0
    }
}

/// A value shown in a diff: instants at +07:00, codes and names as text.
trait Show {
    fn show(&self) -> Option<String>;
}

impl Show for DateTime<Utc> {
    fn show(&self) -> Option<String> {
        Some(at_vn(*self).format("%Y-%m-%d %H:%M:%S%:z").to_string())
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> Option<String> {
        self.as_ref().and_then(Show::show)
    }
}

macro_rules! show_display {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> Option<String> {
                Some(self.to_string())
            }
        }
    )*};
}
show_display!(String, DossierCode, ProcedureCode, AgencyCode, Email, Phone, Status, bool, u32, i64, u64);

impl Show for PaymentMethod {
    fn show(&self) -> Option<String> {
        Some(self.name().to_string())
    }
}

impl Show for Channel {
    fn show(&self) -> Option<String> {
        Some(self.name().to_string())
    }
}

impl Show for Timeliness {
    fn show(&self) -> Option<String> {
        Some(self.name().to_string())
    }
}

impl Show for Outcome {
    fn show(&self) -> Option<String> {
        Some(outcome_name(*self).to_string())
    }
}

impl Show for WaitKind {
    fn show(&self) -> Option<String> {
        Some(wait_kind_name(*self).to_string())
    }
}

pub(crate) fn outcome_name(o: Outcome) -> &'static str {
    match o {
        Outcome::Approved => "approved",
        Outcome::Refused => "refused",
    }
}

pub(crate) fn wait_kind_name(k: WaitKind) -> &'static str {
    match k {
        WaitKind::Supplement => "supplement",
        WaitKind::Payment => "payment",
    }
}

/// The fields that differ between a stored row (or none) and a freshly computed one.
pub(crate) fn diff_rows(old: Option<&DossierRow>, new: &DossierRow) -> Vec<FieldChange> {
    let mut out = Vec::new();
    macro_rules! fields {
        ($($f:ident),* $(,)?) => {$(
            if old.map(|o| &o.$f) != Some(&new.$f) {
                out.push(FieldChange { field: stringify!($f), old: old.and_then(|o| o.$f.show()), new: new.$f.show() });
            }
        )*};
    }
    fields!(
        procedure,
        receiving_agency,
        lead_agency,
        channel,
        status,
        holder,
        handoff_pending,
        handoff_from,
        handoff_sent_at,
        applicant_name,
        applicant_email,
        applicant_phone,
        applicant_id_number,
        applicant_address,
        registered_at,
        received_at,
        start_at,
        due_at,
        original_due_at,
        rescheduled_to,
        finished_at,
        returned_at,
        outcome,
        timeliness,
        national_on_time,
        supplement_count,
        reschedule_count,
        deadline_revision,
        at_risk,
        waiting_kind,
        waiting_since,
        waited_seconds_closed,
        last_event_at,
        event_count,
        fee_vnd,
        payment_method,
        paid_at,
        electronic_result,
        digitised,
        synced_at,
        delay_reason,
    );
    out
}
