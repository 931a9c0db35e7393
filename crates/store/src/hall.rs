//! The reception hall ([`HallStore`]): tickets, bookings and counter sign-ins on the hall's
//! append-only log (`hall_events`), with their projections, written like a dossier's — one
//! transaction per command, the subject's log replayed and the new event applied by core
//! (`motcua_core::hall`), only an accepted event appended and projected.
//!
//! Every write of a hall's day first locks that day's row of `hall_days` (SQLite's
//! `BEGIN IMMEDIATE` already holds the database's write lock): issuing, calling, booking and
//! every step of a ticket of that hall and day wait for one another, so a number is taken once
//! (`hall_numbers`, inside the transaction: a rolled-back issue gives its number back, so
//! numbers never skip), two counters never call the same ticket, and the fairness rule's memory
//! (`hall_days`) moves with each call. Both backends share the implementation
//! ([`hall_store!`]).

use std::future::Future;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use motcua_core::hall::{
    Booking, BookingRequest, HallCode, HallCommand, HallRating, HallTime, Lane, PriorityKind, Ticket, TicketChannel,
    TicketEvent, TicketId,
};
use motcua_core::{Domain, DossierCode};
use serde::Serialize;

use crate::error::StoreError;

/// A ticket to issue; its number is allocated.
#[derive(Debug, Clone)]
pub struct NewTicket {
    pub hall: HallCode,
    pub area: char,
    pub channel: TicketChannel,
    pub priority: Option<PriorityKind>,
}

/// A ticket a counter called, and from which lane of the ordering rule.
#[derive(Debug, Clone, Serialize)]
pub struct Called {
    pub ticket: Ticket,
    pub lane: Lane,
}

/// One counter's call in [`HallStore::call_next_many`]: the counter, and who calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterCall {
    pub counter: u16,
    pub by: Option<String>,
    /// `by` must be signed in at the counter, as the batch's transaction reads the counters
    /// (an officer calling through the server); otherwise that call alone is refused
    /// ([`motcua_core::hall::HallError::NotSignedIn`]). The CLI, acting for the desk, calls
    /// for any counter.
    pub signed_in: bool,
}

/// Who is signed in at a counter, since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterSession {
    pub hall: HallCode,
    pub counter: u16,
    pub staff: String,
    pub since: DateTime<Utc>,
}

/// The reception hall's register.
pub trait HallStore: Send + Sync {
    /// Issues a ticket at `at`: the hall must be open (office hours of its agency's calendar)
    /// and under today's capacity; the area's next number of the day is taken.
    fn issue_ticket(
        &self,
        domain: &Domain,
        new: NewTicket,
        at: DateTime<Utc>,
        by: Option<String>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Ticket, StoreError>> + Send;

    /// Counter `counter` calls the next ticket of its areas by the hall's ordering rule;
    /// `None` when no one is waiting (nothing is written).
    fn call_next(
        &self,
        domain: &Domain,
        hall: &HallCode,
        counter: u16,
        at: DateTime<Utc>,
        by: Option<String>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Called>, StoreError>> + Send;

    /// Several counters of one hall call at once, in one transaction (one commit for all): each
    /// gets what [`HallStore::call_next`] would give it were the calls made one after another in
    /// the order given. Each call's own refusal (a counter the hall does not have) is its
    /// answer alone; a failure of the transaction is every call's.
    fn call_next_many(
        &self,
        domain: &Domain,
        hall: &HallCode,
        calls: &[CounterCall],
        at: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Result<Option<Called>, StoreError>>, StoreError>> + Send;

    /// Records one step of a ticket (recall, no-show, start, finish, left, transfer, link,
    /// rating, close). A refused step writes nothing.
    fn record_ticket(
        &self,
        domain: &Domain,
        id: &TicketId,
        event: TicketEvent,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Ticket, StoreError>> + Send;

    /// Sends a finished ticket on to a second service: a new ticket of `area`, linked to the
    /// first. Returns the new ticket.
    fn redirect(
        &self,
        domain: &Domain,
        id: &TicketId,
        area: char,
        at: DateTime<Utc>,
        by: Option<String>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Ticket, StoreError>> + Send;

    /// Closes the tickets of `day` still open (the day's end); returns how many.
    fn close_day(
        &self,
        domain: &Domain,
        hall: &HallCode,
        day: NaiveDate,
        at: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// Books a slot (the request carries a fresh code). Refused when the slot is full.
    fn book(
        &self,
        domain: &Domain,
        request: BookingRequest,
        at: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Booking, StoreError>> + Send;

    fn cancel_booking(
        &self,
        domain: &Domain,
        code: &str,
        at: DateTime<Utc>,
        by: Option<String>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Booking, StoreError>> + Send;

    /// Checks a booked citizen in: a ticket queued at the slot's time.
    fn check_in(
        &self,
        domain: &Domain,
        code: &str,
        at: DateTime<Utc>,
        by: Option<String>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Ticket, StoreError>> + Send;

    /// Signs `staff` in at a counter (out of any other), or out (`staff = None`: the counter
    /// is left empty).
    fn sign_counter(
        &self,
        domain: &Domain,
        hall: &HallCode,
        counter: u16,
        staff: Option<&str>,
        at: DateTime<Utc>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn ticket(&self, id: &TicketId) -> impl Future<Output = Result<Option<Ticket>, StoreError>> + Send;

    /// A ticket by the number the citizen holds (`A-023`) on a day.
    fn ticket_by_number(
        &self,
        hall: &HallCode,
        day: NaiveDate,
        number: &str,
    ) -> impl Future<Output = Result<Option<Ticket>, StoreError>> + Send;

    fn ticket_events(&self, id: &TicketId) -> impl Future<Output = Result<Vec<TicketEvent>, StoreError>> + Send;

    /// The tickets of a hall's day, in the order they were issued.
    fn day_tickets(
        &self,
        hall: &HallCode,
        day: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Ticket>, StoreError>> + Send;

    /// Tickets issued in `[a, b)`, of one hall or all, for the report.
    fn tickets_between(
        &self,
        hall: Option<&HallCode>,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Ticket>, StoreError>> + Send;

    /// The exporter's figures of the tickets issued in `[a, b)` (a local day), of every hall,
    /// summed by the database over the waiting and service times core stored with each ticket
    /// (`wait_seconds`, `service_seconds`): a few rows per hall, whatever the day's tickets.
    fn hall_figures(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<HallFigures, StoreError>> + Send;

    fn booking(&self, code: &str) -> impl Future<Output = Result<Option<Booking>, StoreError>> + Send;

    /// The bookings of a hall's day, by slot.
    fn day_bookings(
        &self,
        hall: &HallCode,
        day: NaiveDate,
    ) -> impl Future<Output = Result<Vec<Booking>, StoreError>> + Send;

    fn counter_sessions(&self, hall: &HallCode)
    -> impl Future<Output = Result<Vec<CounterSession>, StoreError>> + Send;

    /// The hall log's entries with an `id` above `after`, lowest first, at most `limit`, of every
    /// hall: what a process showing halls live (the TV, the phones) reads to learn of the writes
    /// of every process, its own, another `motcua serve`'s or the CLI's. An id is taken when its
    /// transaction inserts, so one committed later can be lower than one already read; a
    /// [`LogCursor`] keeps that in mind.
    fn hall_log_after(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<HallLogEntry>, StoreError>> + Send;

    /// The highest `id` of the hall log, 0 when it is empty: where a new reader starts.
    fn hall_log_head(&self) -> impl Future<Output = Result<i64, StoreError>> + Send;

    /// Records a hall day's script ([`HallCommand`], `motcua simulate`) in one transaction,
    /// each command through the same steps as its single command (numbering, ordering rule,
    /// core's checks); all or nothing. Returns how many commands were recorded.
    fn record_hall_script(
        &self,
        domain: &Domain,
        hall: &HallCode,
        day: NaiveDate,
        script: Vec<HallCommand>,
        recorded_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// The tickets a dossier was received from (its tickets' `linked` events), first issued
    /// first.
    fn dossier_tickets(&self, code: &DossierCode) -> impl Future<Output = Result<Vec<Ticket>, StoreError>> + Send;

    /// The dossiers finished in `[a, b)` that were received from a ticket, with that ticket.
    fn linked_finished(
        &self,
        a: DateTime<Utc>,
        b: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<LinkedDossier>, StoreError>> + Send;
}

/// A finished dossier received from a hall ticket (the report's "hall wait + processing").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedDossier {
    pub code: DossierCode,
    pub procedure: String,
    pub lead_agency: String,
    pub received_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// The ticket it was linked to (the first issued, when several).
    pub ticket: Ticket,
}

/// The ticket the citizen took on arriving: `t`, or the first ticket of the redirect chain
/// it continues (a few hops at most).
pub async fn origin_ticket<S: HallStore>(store: &S, t: Ticket) -> Result<Ticket, StoreError> {
    let mut t = t;
    for _ in 0..8 {
        let Some(from) = t.linked_from.clone() else { break };
        match store.ticket(&from).await? {
            Some(prev) => t = prev,
            None => break,
        }
    }
    Ok(t)
}

/// One entry of the hall's log as [`HallStore::hall_log_after`] reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallLogEntry {
    pub id: i64,
    pub hall: HallCode,
    /// The event of a ticket; `None` for a booking's or a counter's entry.
    pub ticket: Option<(TicketId, TicketEvent)>,
}

/// Reads a log whose ids are assigned when a transaction inserts but become visible when it
/// commits: an id below one already read may still appear (a slower transaction), or never (a
/// rolled-back one). The cursor remembers what it has read above its low-water mark, reads
/// again from that mark, and gives up waiting for a missing id after `patience`.
#[derive(Debug, Clone)]
pub struct LogCursor {
    /// Every id at or below it has been read or given up on.
    low: i64,
    /// Ids read above `low`.
    read: std::collections::BTreeSet<i64>,
    /// When each missing id above `low` was first noticed missing.
    missing: std::collections::BTreeMap<i64, std::time::Instant>,
    patience: std::time::Duration,
}

impl LogCursor {
    /// The widest hole the cursor waits to see filled; past it, it moves on at once.
    const MAX_HOLE: i64 = 10_000;

    pub fn new(head: i64, patience: std::time::Duration) -> Self {
        Self { low: head, read: Default::default(), missing: Default::default(), patience }
    }

    /// The id to read after.
    pub fn after(&self) -> i64 {
        self.low
    }

    /// Takes the ids of a read (lowest first) at `now`; answers for each whether it is new.
    pub fn take(&mut self, ids: &[i64], now: std::time::Instant) -> Vec<bool> {
        let fresh: Vec<bool> = ids.iter().map(|&id| id > self.low && self.read.insert(id)).collect();
        for id in ids {
            self.missing.remove(id);
        }
        if let Some(&top) = self.read.last() {
            if top - self.low > Self::MAX_HOLE {
                self.low = top;
                self.read.clear();
                self.missing.clear();
                return fresh;
            }
            for id in self.low + 1..top {
                if !self.read.contains(&id) {
                    self.missing.entry(id).or_insert(now);
                }
            }
        }
        loop {
            let next = self.low + 1;
            if self.read.remove(&next) {
                self.low = next;
            } else if self.missing.get(&next).is_some_and(|since| now.duration_since(*since) >= self.patience) {
                self.missing.remove(&next);
                self.low = next;
            } else {
                break;
            }
        }
        fresh
    }
}

/// The ticket a dossier is received from (`intake --ticket`, the intake form's ticket field):
/// its id (`HCC-260310-A-023`), or its number (`A-023`) at `hall` — or, without one, at the
/// hall of the receiving `agency` — on the intake's day `day`. A ticket that was a no-show,
/// left or closed is refused; nothing is written here.
pub async fn ticket_for_intake<S: HallStore>(
    store: &S,
    domain: &Domain,
    ticket: &str,
    hall: Option<&str>,
    agency: &str,
    day: NaiveDate,
) -> Result<Ticket, StoreError> {
    use motcua_core::hall::{HallError, TicketStatus};
    let ticket = ticket.trim();
    let t = if let Ok(id) = ticket.parse::<TicketId>() {
        store.ticket(&id).await?.ok_or_else(|| StoreError::HallNotFound(format!("ticket {id}")))?
    } else {
        let hall = match hall.map(str::trim).filter(|h| !h.is_empty()) {
            Some(h) => h.parse::<HallCode>().map_err(|_| HallError::UnknownHall(h.to_string()))?,
            None => domain
                .halls
                .halls_on(day)
                .find(|h| h.agency.as_str() == agency.trim())
                .map(|h| h.code.clone())
                .ok_or_else(|| {
                    HallError::Invalid(format!(
                        "ticket {ticket:?}: give its full id (HCC-260310-A-023), or its number with the hall"
                    ))
                })?,
        };
        store
            .ticket_by_number(&hall, day, ticket)
            .await?
            .ok_or_else(|| HallError::Invalid(format!("hall {hall} has no ticket {ticket} on {day}")))?
    };
    if matches!(t.status, TicketStatus::NoShow | TicketStatus::Left | TicketStatus::Closed) {
        return Err(HallError::Transition {
            ticket: t.id.to_string(),
            status: t.status.name(),
            action: "receive a dossier from it",
        }
        .into());
    }
    Ok(t)
}

/// Links a dossier received from `t` to it (at `at`, or the ticket's last event if later).
pub async fn link_intake<S: HallStore>(
    store: &S,
    domain: &Domain,
    t: &Ticket,
    dossier: &DossierCode,
    at: DateTime<Utc>,
    by: Option<String>,
    recorded_at: DateTime<Utc>,
) -> Result<Ticket, StoreError> {
    let at = at.max(t.last_event_at);
    let event = TicketEvent::new(at, by, motcua_core::hall::TicketEventKind::Linked { dossier: dossier.clone() });
    store.record_ticket(domain, &t.id, event, recorded_at).await
}

/// A ticket's rating given to the dossiers received from it (5, 4, 3 or 1 stars; a dossier
/// already rated keeps its own rating): the at-counter rating feeds their satisfaction.
pub async fn rate_ticket_dossiers<S: crate::StaffStore>(
    store: &S,
    t: &Ticket,
    rating: HallRating,
    comment: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    for code in &t.dossiers {
        let r = crate::Rating { code: code.clone(), score: rating.score(), comment: comment.clone(), rated_at: at };
        store.rate(&r).await?;
    }
    Ok(())
}

/// The citizen's time in the hall before dossier `code`'s clock started, if it was received
/// from a ticket (the lookup, the control sheet).
pub async fn dossier_hall_time<S: HallStore>(
    store: &S,
    code: &DossierCode,
    received_at: Option<DateTime<Utc>>,
) -> Result<Option<HallTime>, StoreError> {
    let Some(received_at) = received_at else { return Ok(None) };
    let Some(first) = store.dossier_tickets(code).await?.into_iter().next() else { return Ok(None) };
    let origin = origin_ticket(store, first).await?;
    Ok(Some(motcua_core::hall::hall_time(&origin, received_at)))
}

/// The columns of `hall_tickets`, in the order [`hall_store!`] binds them.
pub(crate) const TICKET_COLUMNS: [&str; 33] = [
    "id",
    "hall",
    "day",
    "issue_area",
    "number",
    "label",
    "area",
    "channel",
    "priority",
    "booking",
    "slot_at",
    "linked_from",
    "status",
    "issued_at",
    "waiting_since",
    "for_counter",
    "counter",
    "called_at",
    "first_called_at",
    "called_by",
    "recalls",
    "started_at",
    "finished_at",
    "ended_at",
    "transfers",
    "redirected_to",
    "dossiers",
    "rating",
    "rating_comment",
    "wait_seconds",
    "service_seconds",
    "event_count",
    "last_event_at",
];

/// The subject of a booking's events.
pub(crate) fn booking_subject(code: &str) -> String {
    format!("booking:{code}")
}

pub(crate) fn counter_subject(hall: &HallCode, counter: u16) -> String {
    format!("counter:{hall}:{counter}")
}

/// The ticket counter `counter` calls next by the hall's rule, from `waiting` (the day's waiting
/// tickets; the one picked is taken out), with its lane and the rule's memory after it.
pub(crate) fn pick_next(
    hall: &motcua_core::hall::Hall,
    fair: &motcua_core::hall::FairState,
    waiting: &mut Vec<motcua_core::hall::Waiting>,
    counter: u16,
    at: DateTime<Utc>,
) -> Result<Option<(TicketId, Lane, motcua_core::hall::FairState)>, StoreError> {
    let day = motcua_core::calendar::to_local(at).date();
    let areas = &hall.counter(counter, day)?.areas;
    let Some((next, lane)) = motcua_core::hall::next_ticket(&hall.priority, fair, waiting, counter, areas, at) else {
        return Ok(None);
    };
    let id = next.id.clone();
    waiting.retain(|w| w.id != id);
    Ok(Some((id, lane, fair.after(lane))))
}

/// The columns the ordering rule reads of a waiting ticket.
const WAITING_COLUMNS: &str = "id, area, priority, slot_at, waiting_since, for_counter";

/// [`HallStore::call_next_many`]'s read of the queue heads for `areas` areas (`$1` hall, `$2`
/// day, `$3` the instant, `$4` the calls less one, `$5…` the areas): per area and lane (sent to
/// no particular counter; ordinary or priority) the tickets waiting no later than the lane's
/// `$4 + 1`-th (ties included) — all of them when it has fewer — then every ticket sent to a
/// counter and every booking whose slot has come. Each part reads one of migration 33's partial
/// indexes; a ticket may come twice (a booking in its lane too) and is kept once by the caller.
pub(crate) fn waiting_query(areas: usize) -> String {
    let waiting = "FROM hall_tickets WHERE hall = $1 AND day = $2 AND status = 'waiting'";
    let mut parts = Vec::with_capacity(2 * areas + 2);
    for i in 0..areas {
        for lane in ["priority IS NULL", "priority IS NOT NULL"] {
            let this = format!("{waiting} AND for_counter IS NULL AND {lane} AND area = ${}", i + 5);
            // The lane's `$4 + 1`-th waiting start bounds an index range (an empty lane: none).
            parts.push(format!(
                "SELECT {WAITING_COLUMNS} {this} AND waiting_since <= \
                 (SELECT MAX(waiting_since) FROM (SELECT waiting_since {this} ORDER BY waiting_since LIMIT $4 + 1) h)"
            ));
        }
    }
    // `$4 >= 0` keeps every parameter in the statement when no area is asked for.
    parts.push(format!("SELECT {WAITING_COLUMNS} {waiting} AND for_counter IS NOT NULL AND $4 >= 0"));
    parts.push(format!("SELECT {WAITING_COLUMNS} {waiting} AND slot_at IS NOT NULL AND slot_at <= $3"));
    parts.join(" UNION ALL ")
}

/// `n` placeholders from `$first` on, comma-separated (`$3, $4, $5`).
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// One row of `hall_events` to append.
pub(crate) struct LogRow<'a> {
    pub hall: &'a HallCode,
    pub day: NaiveDate,
    pub subject: &'a str,
    pub seq: i32,
    pub at: DateTime<Utc>,
    pub kind: &'a str,
    pub by: Option<&'a str>,
    pub payload: String,
}

pub(crate) fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("hall: {what}"))
}

pub(crate) fn parse_char(col: &str, s: &str) -> Result<char, StoreError> {
    motcua_core::hall::parse_area(s).map_err(|_| corrupt(format!("{col} = {s:?}")))
}

pub(crate) fn to_u16(col: &str, v: Option<i32>) -> Result<Option<u16>, StoreError> {
    v.map(|n| u16::try_from(n).map_err(|_| corrupt(format!("{col} = {n}")))).transpose()
}

pub(crate) fn to_u32(col: &str, v: i32) -> Result<u32, StoreError> {
    u32::try_from(v).map_err(|_| corrupt(format!("{col} = {v}")))
}

pub(crate) fn parse_id(s: &str) -> Result<TicketId, StoreError> {
    s.parse().map_err(|_| corrupt(format!("ticket id {s:?}")))
}

pub(crate) fn parse_dossiers(s: &str) -> Result<Vec<DossierCode>, StoreError> {
    let list: Vec<String> = serde_json::from_str(s).map_err(|e| corrupt(format!("dossiers {s:?}: {e}")))?;
    list.iter().map(|d| d.parse().map_err(|_| corrupt(format!("dossier {d:?}")))).collect()
}

pub(crate) fn parse_rating(s: Option<String>) -> Result<Option<HallRating>, StoreError> {
    s.map(|r| HallRating::parse(&r).ok_or_else(|| corrupt(format!("rating {r:?}")))).transpose()
}

pub(crate) fn parse_priority(s: Option<String>) -> Result<Option<PriorityKind>, StoreError> {
    s.map(|r| PriorityKind::parse(&r).ok_or_else(|| corrupt(format!("priority {r:?}")))).transpose()
}

pub(crate) fn parse_slot(s: &str) -> Result<NaiveDateTime, StoreError> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").map_err(|_| corrupt(format!("slot {s:?}")))
}

pub(crate) fn slot_text(slot: NaiveDateTime) -> String {
    slot.format("%Y-%m-%dT%H:%M").to_string()
}

pub(crate) fn parse_ticket_event(id: &str, payload: &str) -> Result<TicketEvent, StoreError> {
    serde_json::from_str(payload).map_err(|e| corrupt(format!("an event of {id}: {e}")))
}

pub(crate) fn parse_booking_event(code: &str, payload: &str) -> Result<motcua_core::hall::BookingEvent, StoreError> {
    serde_json::from_str(payload).map_err(|e| corrupt(format!("an event of booking {code}: {e}")))
}

/// Reads a [`Ticket`] from a row of `SELECT * FROM hall_tickets`.
macro_rules! decode_ticket {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let id: String = r.try_get("id")?;
        let area: String = r.try_get("area")?;
        let channel: String = r.try_get("channel")?;
        let status: String = r.try_get("status")?;
        let linked: Option<String> = r.try_get("linked_from")?;
        let redirected: Option<String> = r.try_get("redirected_to")?;
        let dossiers: String = r.try_get("dossiers")?;
        let id = $crate::hall::parse_id(&id)?;
        Ok::<motcua_core::hall::Ticket, $crate::error::StoreError>(motcua_core::hall::Ticket {
            number: id.number_label(),
            id,
            area: $crate::hall::parse_char("area", &area)?,
            channel: motcua_core::hall::TicketChannel::parse(&channel)
                .ok_or_else(|| $crate::hall::corrupt(format!("channel {channel:?}")))?,
            priority: $crate::hall::parse_priority(r.try_get("priority")?)?,
            booking: r.try_get("booking")?,
            slot_at: r.try_get("slot_at")?,
            linked_from: linked.as_deref().map($crate::hall::parse_id).transpose()?,
            status: motcua_core::hall::TicketStatus::parse(&status)
                .ok_or_else(|| $crate::hall::corrupt(format!("status {status:?}")))?,
            issued_at: r.try_get("issued_at")?,
            waiting_since: r.try_get("waiting_since")?,
            for_counter: $crate::hall::to_u16("for_counter", r.try_get("for_counter")?)?,
            counter: $crate::hall::to_u16("counter", r.try_get("counter")?)?,
            called_at: r.try_get("called_at")?,
            first_called_at: r.try_get("first_called_at")?,
            called_by: r.try_get("called_by")?,
            recalls: $crate::hall::to_u32("recalls", r.try_get("recalls")?)?,
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            ended_at: r.try_get("ended_at")?,
            transfers: $crate::hall::to_u32("transfers", r.try_get("transfers")?)?,
            redirected_to: redirected.as_deref().map($crate::hall::parse_id).transpose()?,
            dossiers: $crate::hall::parse_dossiers(&dossiers)?,
            rating: $crate::hall::parse_rating(r.try_get("rating")?)?,
            rating_comment: r.try_get("rating_comment")?,
            event_count: $crate::hall::to_u32("event_count", r.try_get("event_count")?)?,
            last_event_at: r.try_get("last_event_at")?,
        })
    }};
}
pub(crate) use decode_ticket;

/// Reads a [`Booking`] from a row of `SELECT * FROM hall_bookings`.
macro_rules! decode_booking {
    ($row:expr) => {{
        use sqlx::Row as _;
        let r = $row;
        let hall: String = r.try_get("hall")?;
        let area: String = r.try_get("area")?;
        let slot: String = r.try_get("slot")?;
        let status: String = r.try_get("status")?;
        let ticket: Option<String> = r.try_get("ticket")?;
        Ok::<motcua_core::hall::Booking, $crate::error::StoreError>(motcua_core::hall::Booking {
            code: r.try_get("code")?,
            hall: hall.parse().map_err(|_| $crate::hall::corrupt(format!("hall {hall:?}")))?,
            area: $crate::hall::parse_char("area", &area)?,
            slot: $crate::hall::parse_slot(&slot)?,
            slot_at: r.try_get("slot_at")?,
            name: r.try_get("name")?,
            phone: r.try_get("phone")?,
            priority: $crate::hall::parse_priority(r.try_get("priority")?)?,
            status: motcua_core::hall::BookingStatus::parse(&status)
                .ok_or_else(|| $crate::hall::corrupt(format!("booking status {status:?}")))?,
            booked_at: r.try_get("booked_at")?,
            ticket: ticket.as_deref().map($crate::hall::parse_id).transpose()?,
        })
    }};
}
pub(crate) use decode_booking;

/// The [`HallStore`] both backends share. `$begin` opens the write transaction; `$lock` is
/// the suffix that locks the rows a `SELECT` reads (`FOR UPDATE` on PostgreSQL, nothing under
/// SQLite's write lock); `$json` the payload's placeholder; `$counter` the `counter` of a
/// `called` event's payload (`e.payload`) as an integer.
macro_rules! hall_store {
    ($store:ty, |$s:ident| $begin:expr, reader: $reader:ident, lock: $lock:literal, json: $json:literal, counter: $counter:literal) => {
        impl $crate::hall::HallStore for $store {
            async fn issue_ticket(
                &self,
                domain: &motcua_core::Domain,
                new: $crate::hall::NewTicket,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                let at = motcua_core::calendar::truncate_to_micros(at);
                let day = motcua_core::calendar::to_local(at).date();
                let hall = domain.halls.hall(&new.hall, day)?;
                hall.area(new.area, day)?;
                hall.check_open(domain.calendar_for(&hall.agency), at)?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, &new.hall, day).await?;
                let issue = motcua_core::hall::Issue {
                    id: Self::take_number(&mut tx, hall, new.area, day).await?,
                    channel: new.channel,
                    priority: new.priority,
                    booking: None,
                    slot_at: None,
                    linked_from: None,
                };
                let ticket = Self::issue_in(&mut tx, hall, issue, at, by, recorded_at).await?;
                tx.commit().await?;
                Ok(ticket)
            }

            async fn call_next(
                &self,
                domain: &motcua_core::Domain,
                hall_code: &motcua_core::hall::HallCode,
                counter: u16,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::hall::Called>, $crate::error::StoreError> {
                let call = $crate::hall::CounterCall { counter, by, signed_in: false };
                let mut answers = self.call_next_many(domain, hall_code, &[call], at, recorded_at).await?;
                answers.pop().unwrap_or(Ok(None))
            }

            async fn call_next_many(
                &self,
                domain: &motcua_core::Domain,
                hall_code: &motcua_core::hall::HallCode,
                calls: &[$crate::hall::CounterCall],
                at: chrono::DateTime<chrono::Utc>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<Result<Option<$crate::hall::Called>, $crate::error::StoreError>>, $crate::error::StoreError> {
                let at = motcua_core::calendar::truncate_to_micros(at);
                let day = motcua_core::calendar::to_local(at).date();
                let hall = domain.halls.hall(hall_code, day)?;
                // A counter the hall lacks is that call's answer alone.
                let mut answers: Vec<Result<Option<$crate::hall::Called>, $crate::error::StoreError>> = calls
                    .iter()
                    .map(|c| hall.counter(c.counter, day).map(|_| None).map_err(Into::into))
                    .collect();
                if answers.iter().all(Result::is_err) {
                    return Ok(answers);
                }
                let $s = self;
                let mut tx = $begin.await?;
                let mut fair = Self::lock_day(&mut tx, hall_code, day).await?;
                if calls.iter().any(|c| c.signed_in) {
                    Self::check_signed_in(&mut tx, hall_code, calls, &mut answers).await?;
                }
                let mut areas: Vec<char> = Vec::new();
                for (call, answer) in calls.iter().zip(&answers) {
                    if answer.is_ok()
                        && let Ok(c) = hall.counter(call.counter, day)
                    {
                        areas.extend(c.areas.iter().copied());
                    }
                }
                areas.sort_unstable();
                areas.dedup();
                let mut waiting = Self::waiting_in(&mut tx, hall_code, day, at, calls.len(), &areas).await?;
                // The rule picks every counter's ticket first; the picked tickets are then read,
                // stepped and written together (a handful of statements for the whole batch).
                let mut picks = Vec::new();
                for (i, (call, answer)) in calls.iter().zip(answers.iter()).enumerate() {
                    if answer.is_err() {
                        continue;
                    }
                    if let Some((id, lane, next)) = $crate::hall::pick_next(hall, &fair, &mut waiting, call.counter, at)? {
                        fair = next;
                        let kind = motcua_core::hall::TicketEventKind::Called { counter: call.counter };
                        picks.push((i, id, lane, motcua_core::hall::TicketEvent::new(at, call.by.clone(), kind)));
                    }
                }
                if picks.is_empty() {
                    tx.rollback().await?;
                    return Ok(answers);
                }
                let ids: Vec<motcua_core::hall::TicketId> = picks.iter().map(|p| p.1.clone()).collect();
                let mut tickets = Self::load_tickets(&mut tx, hall, &ids).await?;
                for (ticket, pick) in tickets.iter_mut().zip(&picks) {
                    ticket.apply(hall, &pick.3)?;
                }
                let steps: Vec<_> = tickets.iter().zip(picks.iter().map(|p| &p.3)).collect();
                Self::append_tickets(&mut tx, &steps, recorded_at).await?;
                Self::save_fair(&mut tx, hall_code, day, fair).await?;
                tx.commit().await?;
                for (ticket, (i, _, lane, _)) in tickets.into_iter().zip(picks) {
                    answers[i] = Ok(Some($crate::hall::Called { ticket, lane }));
                }
                Ok(answers)
            }

            async fn record_hall_script(
                &self,
                domain: &motcua_core::Domain,
                hall_code: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
                script: Vec<motcua_core::hall::HallCommand>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::error::StoreError> {
                use motcua_core::hall::HallCommand as C;
                let hall = domain.halls.hall(hall_code, day)?;
                let calendar = domain.calendar_for(&hall.agency);
                let mismatch = |want: &motcua_core::hall::TicketId, got: &motcua_core::hall::TicketId| {
                    $crate::error::StoreError::from(motcua_core::hall::HallError::Invalid(format!(
                        "the hall script expected ticket {want}, the store gave {got}"
                    )))
                };
                let $s = self;
                let mut tx = $begin.await?;
                let mut fair = Self::lock_day(&mut tx, hall_code, day).await?;
                let mut n = 0u64;
                for c in script {
                    let at = motcua_core::calendar::truncate_to_micros(c.at());
                    match c {
                        C::Issue { area, channel, priority, by, expect, .. } => {
                            if motcua_core::calendar::to_local(at).date() != day {
                                return Err(motcua_core::hall::HallError::Invalid(format!(
                                    "the hall script of {day} issues a ticket on another day"
                                ))
                                .into());
                            }
                            hall.area(area, day)?;
                            hall.check_open(calendar, at)?;
                            let issue = motcua_core::hall::Issue {
                                id: Self::take_number(&mut tx, hall, area, day).await?,
                                channel,
                                priority,
                                booking: None,
                                slot_at: None,
                                linked_from: None,
                            };
                            if issue.id != expect {
                                return Err(mismatch(&expect, &issue.id));
                            }
                            Self::issue_in(&mut tx, hall, issue, at, by, recorded_at).await?;
                        }
                        C::Book { request, .. } => {
                            if request.hall != *hall_code || request.slot.date() != day {
                                return Err(motcua_core::hall::HallError::Invalid(format!(
                                    "the hall script of {hall_code} on {day} books another hall or day"
                                ))
                                .into());
                            }
                            Self::book_in(&mut tx, hall, calendar, request, at, recorded_at).await?;
                        }
                        C::Cancel { code, .. } => {
                            Self::cancel_in(&mut tx, hall, &code, at, None, recorded_at).await?;
                        }
                        C::CheckIn { code, by, expect, .. } => {
                            hall.check_open(calendar, at)?;
                            let t = Self::check_in_in(&mut tx, hall, day, &code, at, by, recorded_at).await?;
                            if t.id != expect {
                                return Err(mismatch(&expect, &t.id));
                            }
                        }
                        C::Call { counter, by, expect, .. } => {
                            let areas = hall.counter(counter, day)?.areas.clone();
                            let mut waiting = Self::waiting_in(&mut tx, hall_code, day, at, 1, &areas).await?;
                            let called =
                                Self::call_in(&mut tx, hall, fair, &mut waiting, counter, at, by, recorded_at).await?;
                            let Some((called, next)) = called else {
                                return Err(motcua_core::hall::HallError::Invalid(format!(
                                    "the hall script expected ticket {expect} at counter {counter}; no one was waiting"
                                ))
                                .into());
                            };
                            if called.ticket.id != expect {
                                return Err(mismatch(&expect, &called.ticket.id));
                            }
                            fair = next;
                        }
                        C::Step { ticket, mut event } => {
                            if ticket.hall != *hall_code || ticket.day != day {
                                return Err(motcua_core::hall::HallError::Mismatch.into());
                            }
                            event.at = at;
                            Self::step_in(&mut tx, hall, &ticket, &event, recorded_at).await?;
                        }
                        C::Sign { counter, staff, .. } => {
                            hall.counter(counter, day)?;
                            Self::sign_in_tx(&mut tx, hall_code, day, counter, staff.as_deref(), at, recorded_at).await?;
                        }
                    }
                    n += 1;
                }
                Self::save_fair(&mut tx, hall_code, day, fair).await?;
                tx.commit().await?;
                Ok(n)
            }

            async fn dossier_tickets(
                &self,
                code: &motcua_core::DossierCode,
            ) -> Result<Vec<motcua_core::hall::Ticket>, $crate::error::StoreError> {
                let rows = sqlx::query(
                    "SELECT t.* FROM hall_dossier_links l JOIN hall_tickets t ON t.id = l.ticket \
                     WHERE l.dossier = $1 ORDER BY t.issued_at, t.id",
                )
                .bind(code.as_str())
                .fetch_all(self.$reader())
                .await?;
                rows.iter().map(|r| $crate::hall::decode_ticket!(r)).collect()
            }

            async fn linked_finished(
                &self,
                a: chrono::DateTime<chrono::Utc>,
                b: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::hall::LinkedDossier>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT d.code AS d_code, d.procedure AS d_procedure, d.lead_agency AS d_lead_agency, \
                     d.received_at AS d_received_at, d.finished_at AS d_finished_at, t.* \
                     FROM dossiers d JOIN hall_dossier_links l ON l.dossier = d.code \
                     JOIN hall_tickets t ON t.id = l.ticket \
                     WHERE d.finished_at >= $1 AND d.finished_at < $2 AND d.received_at IS NOT NULL \
                     ORDER BY d.code, t.issued_at, t.id",
                )
                .bind($crate::sql::At(a))
                .bind($crate::sql::At(b))
                .fetch_all(self.$reader())
                .await?;
                let mut out: Vec<$crate::hall::LinkedDossier> = Vec::new();
                for r in &rows {
                    let code: String = r.try_get("d_code")?;
                    if out.last().is_some_and(|l| l.code.as_str() == code) {
                        continue;
                    }
                    out.push($crate::hall::LinkedDossier {
                        code: code.parse().map_err(|_| $crate::hall::corrupt(format!("dossier {code:?}")))?,
                        procedure: r.try_get("d_procedure")?,
                        lead_agency: r.try_get("d_lead_agency")?,
                        received_at: r.try_get("d_received_at")?,
                        finished_at: r.try_get("d_finished_at")?,
                        ticket: $crate::hall::decode_ticket!(r)?,
                    });
                }
                Ok(out)
            }

            async fn record_ticket(
                &self,
                domain: &motcua_core::Domain,
                id: &motcua_core::hall::TicketId,
                mut event: motcua_core::hall::TicketEvent,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                event.at = motcua_core::calendar::truncate_to_micros(event.at);
                let hall = domain.halls.hall(&id.hall, id.day)?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, &id.hall, id.day).await?;
                let ticket = Self::step_in(&mut tx, hall, id, &event, recorded_at).await?;
                tx.commit().await?;
                Ok(ticket)
            }

            async fn redirect(
                &self,
                domain: &motcua_core::Domain,
                id: &motcua_core::hall::TicketId,
                area: char,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                let at = motcua_core::calendar::truncate_to_micros(at);
                let day = motcua_core::calendar::to_local(at).date();
                if day != id.day {
                    return Err(motcua_core::hall::HallError::Invalid(format!(
                        "ticket {id} is of {}: a redirect is made on the ticket's day",
                        id.day
                    ))
                    .into());
                }
                let hall = domain.halls.hall(&id.hall, day)?;
                hall.area(area, day)?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, &id.hall, day).await?;
                let old = Self::load_ticket(&mut tx, hall, id).await?;
                if old.status != motcua_core::hall::TicketStatus::Done {
                    return Err(motcua_core::hall::HallError::NotFinished(id.to_string()).into());
                }
                let issue = motcua_core::hall::Issue {
                    id: Self::take_number(&mut tx, hall, area, day).await?,
                    channel: motcua_core::hall::TicketChannel::Redirect,
                    priority: old.priority,
                    booking: None,
                    slot_at: None,
                    linked_from: Some(id.clone()),
                };
                let new_id = issue.id.clone();
                let ticket = Self::issue_in(&mut tx, hall, issue, at, by.clone(), recorded_at).await?;
                let event = motcua_core::hall::TicketEvent::new(
                    at,
                    by,
                    motcua_core::hall::TicketEventKind::Redirected { to: new_id },
                );
                Self::step_in(&mut tx, hall, id, &event, recorded_at).await?;
                tx.commit().await?;
                Ok(ticket)
            }

            async fn close_day(
                &self,
                domain: &motcua_core::Domain,
                hall_code: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
                at: chrono::DateTime<chrono::Utc>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<u32, $crate::error::StoreError> {
                use sqlx::Row as _;
                let at = motcua_core::calendar::truncate_to_micros(at);
                if motcua_core::calendar::to_local(at).date() <= day {
                    return Err(motcua_core::hall::HallError::Invalid(format!(
                        "the tickets of {day} are closed once the day is over"
                    ))
                    .into());
                }
                let hall = domain.halls.hall(hall_code, day)?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, hall_code, day).await?;
                let rows = sqlx::query(
                    "SELECT id FROM hall_tickets WHERE hall = $1 AND day = $2 \
                     AND status IN ('waiting', 'called', 'serving') ORDER BY id",
                )
                .bind(hall_code.as_str())
                .bind(day.to_string())
                .fetch_all(&mut *tx)
                .await?;
                let mut n = 0u32;
                for r in &rows {
                    let id = $crate::hall::parse_id(&r.try_get::<String, _>("id")?)?;
                    let event =
                        motcua_core::hall::TicketEvent::new(at, None, motcua_core::hall::TicketEventKind::Closed);
                    Self::step_in(&mut tx, hall, &id, &event, recorded_at).await?;
                    n += 1;
                }
                tx.commit().await?;
                Ok(n)
            }

            async fn book(
                &self,
                domain: &motcua_core::Domain,
                request: motcua_core::hall::BookingRequest,
                at: chrono::DateTime<chrono::Utc>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Booking, $crate::error::StoreError> {
                let at = motcua_core::calendar::truncate_to_micros(at);
                let day = request.slot.date();
                let hall = domain.halls.hall(&request.hall, day)?;
                let calendar = domain.calendar_for(&hall.agency);
                hall.check_slot(calendar, request.area, request.slot, at)?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, &request.hall, day).await?;
                let booking = Self::book_in(&mut tx, hall, calendar, request, at, recorded_at).await?;
                tx.commit().await?;
                Ok(booking)
            }

            async fn cancel_booking(
                &self,
                domain: &motcua_core::Domain,
                code: &str,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Booking, $crate::error::StoreError> {
                let at = motcua_core::calendar::truncate_to_micros(at);
                let Some(found) = self.booking(code).await? else {
                    return Err($crate::error::StoreError::HallNotFound(format!("booking {code}")));
                };
                let hall = domain.halls.hall(&found.hall, found.slot.date())?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, &found.hall, found.slot.date()).await?;
                let booking = Self::cancel_in(&mut tx, hall, code, at, by, recorded_at).await?;
                tx.commit().await?;
                Ok(booking)
            }

            async fn check_in(
                &self,
                domain: &motcua_core::Domain,
                code: &str,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                let at = motcua_core::calendar::truncate_to_micros(at);
                let Some(found) = self.booking(code).await? else {
                    return Err($crate::error::StoreError::HallNotFound(format!("booking {code}")));
                };
                let day = found.slot.date();
                let hall = domain.halls.hall(&found.hall, day)?;
                hall.check_open(domain.calendar_for(&hall.agency), at)?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, &found.hall, day).await?;
                let ticket = Self::check_in_in(&mut tx, hall, day, code, at, by, recorded_at).await?;
                tx.commit().await?;
                Ok(ticket)
            }

            async fn sign_counter(
                &self,
                domain: &motcua_core::Domain,
                hall_code: &motcua_core::hall::HallCode,
                counter: u16,
                staff: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                let at = motcua_core::calendar::truncate_to_micros(at);
                let day = motcua_core::calendar::to_local(at).date();
                domain.halls.hall(hall_code, day)?.counter(counter, day)?;
                let $s = self;
                let mut tx = $begin.await?;
                Self::lock_day(&mut tx, hall_code, day).await?;
                Self::sign_in_tx(&mut tx, hall_code, day, counter, staff, at, recorded_at).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn ticket(
                &self,
                id: &motcua_core::hall::TicketId,
            ) -> Result<Option<motcua_core::hall::Ticket>, $crate::error::StoreError> {
                let row = sqlx::query("SELECT * FROM hall_tickets WHERE id = $1")
                    .bind(id.to_string())
                    .fetch_optional(self.$reader())
                    .await?;
                row.as_ref().map(|r| $crate::hall::decode_ticket!(r)).transpose()
            }

            async fn ticket_by_number(
                &self,
                hall: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
                number: &str,
            ) -> Result<Option<motcua_core::hall::Ticket>, $crate::error::StoreError> {
                let row = sqlx::query("SELECT * FROM hall_tickets WHERE hall = $1 AND label = $2 AND day = $3")
                    .bind(hall.as_str())
                    .bind(number.trim())
                    .bind(day.to_string())
                    .fetch_optional(self.$reader())
                    .await?;
                row.as_ref().map(|r| $crate::hall::decode_ticket!(r)).transpose()
            }

            async fn ticket_events(
                &self,
                id: &motcua_core::hall::TicketId,
            ) -> Result<Vec<motcua_core::hall::TicketEvent>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let id = id.to_string();
                let rows = sqlx::query(
                    "SELECT CAST(payload AS TEXT) AS payload FROM hall_events WHERE subject = $1 ORDER BY seq",
                )
                .bind(&id)
                .fetch_all(self.$reader())
                .await?;
                rows.iter()
                    .map(|r| $crate::hall::parse_ticket_event(&id, &r.try_get::<String, _>("payload")?))
                    .collect()
            }

            async fn day_tickets(
                &self,
                hall: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
            ) -> Result<Vec<motcua_core::hall::Ticket>, $crate::error::StoreError> {
                let rows = sqlx::query("SELECT * FROM hall_tickets WHERE hall = $1 AND day = $2 ORDER BY issued_at, id")
                    .bind(hall.as_str())
                    .bind(day.to_string())
                    .fetch_all(self.$reader())
                    .await?;
                rows.iter().map(|r| $crate::hall::decode_ticket!(r)).collect()
            }

            async fn tickets_between(
                &self,
                hall: Option<&motcua_core::hall::HallCode>,
                a: chrono::DateTime<chrono::Utc>,
                b: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<motcua_core::hall::Ticket>, $crate::error::StoreError> {
                let rows = sqlx::query(
                    "SELECT * FROM hall_tickets WHERE issued_at >= $1 AND issued_at < $2 \
                     AND ($3 IS NULL OR hall = $3) ORDER BY issued_at, id",
                )
                .bind($crate::sql::At(a))
                .bind($crate::sql::At(b))
                .bind(hall.map(|h| h.as_str().to_string()))
                .fetch_all(self.$reader())
                .await?;
                rows.iter().map(|r| $crate::hall::decode_ticket!(r)).collect()
            }

            async fn hall_figures(
                &self,
                a: chrono::DateTime<chrono::Utc>,
                b: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::hall::HallFigures, $crate::error::StoreError> {
                use sqlx::Row as _;
                let n = |r: &<<$store as $crate::petitions::Backend>::Db as sqlx::Database>::Row, c: &str| {
                    r.try_get::<i64, _>(c).map(|v| u64::try_from(v).unwrap_or(0))
                };
                let hall = |r: &<<$store as $crate::petitions::Backend>::Db as sqlx::Database>::Row| {
                    let h: String = r.try_get("hall")?;
                    h.parse::<motcua_core::hall::HallCode>().map_err(|_| $crate::hall::corrupt(format!("hall {h:?}")))
                };
                let mut out = $crate::hall::HallFigures::default();
                let rows = sqlx::query(&$crate::hall::area_figures_query())
                    .bind($crate::sql::At(a))
                    .bind($crate::sql::At(b))
                    .fetch_all(self.$reader())
                    .await?;
                for r in &rows {
                    let area: String = r.try_get("area")?;
                    let spread = |what: &str| -> Result<$crate::hall::Buckets, $crate::error::StoreError> {
                        let mut le = Vec::with_capacity($crate::hall::HALL_BOUNDS.len());
                        for i in 0..$crate::hall::HALL_BOUNDS.len() {
                            le.push(n(r, &format!("{what}_le_{i}"))?);
                        }
                        Ok($crate::hall::Buckets { le, count: n(r, &format!("{what}_n"))?, sum: r.try_get(format!("{what}_sum").as_str())? })
                    };
                    out.areas.push($crate::hall::AreaFigures {
                        hall: hall(r)?,
                        area: $crate::hall::parse_char("issue_area", &area)?,
                        waiting_now: 0,
                        no_shows: n(r, "no_shows")?,
                        waits: spread("wait")?,
                        services: spread("service")?,
                    });
                }
                let rows = sqlx::query(
                    "SELECT hall, area, COUNT(*) AS waiting FROM hall_tickets \
                     WHERE issued_at >= $1 AND issued_at < $2 AND status = 'waiting' GROUP BY hall, area",
                )
                .bind($crate::sql::At(a))
                .bind($crate::sql::At(b))
                .fetch_all(self.$reader())
                .await?;
                for r in &rows {
                    let area: String = r.try_get("area")?;
                    out.waiting.push((hall(r)?, $crate::hall::parse_char("area", &area)?, n(r, "waiting")?));
                }
                let rows = sqlx::query(concat!(
                    "SELECT e.hall AS hall, ",
                    $counter,
                    " AS counter, COUNT(*) AS calls FROM hall_tickets t JOIN hall_events e ON e.subject = t.id \
                     WHERE t.issued_at >= $1 AND t.issued_at < $2 AND e.kind = 'called' GROUP BY e.hall, ",
                    $counter
                ))
                .bind($crate::sql::At(a))
                .bind($crate::sql::At(b))
                .fetch_all(self.$reader())
                .await?;
                for r in &rows {
                    let c: i64 = r.try_get("counter")?;
                    let c = u16::try_from(c).map_err(|_| $crate::hall::corrupt(format!("counter {c}")))?;
                    out.calls.push((hall(r)?, c, n(r, "calls")?));
                }
                Ok(out)
            }

            async fn booking(&self, code: &str) -> Result<Option<motcua_core::hall::Booking>, $crate::error::StoreError> {
                let row = sqlx::query("SELECT * FROM hall_bookings WHERE code = $1")
                    .bind(code)
                    .fetch_optional(self.$reader())
                    .await?;
                row.as_ref().map(|r| $crate::hall::decode_booking!(r)).transpose()
            }

            async fn day_bookings(
                &self,
                hall: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
            ) -> Result<Vec<motcua_core::hall::Booking>, $crate::error::StoreError> {
                let rows = sqlx::query("SELECT * FROM hall_bookings WHERE hall = $1 AND day = $2 ORDER BY slot, code")
                    .bind(hall.as_str())
                    .bind(day.to_string())
                    .fetch_all(self.$reader())
                    .await?;
                rows.iter().map(|r| $crate::hall::decode_booking!(r)).collect()
            }

            async fn counter_sessions(
                &self,
                hall: &motcua_core::hall::HallCode,
            ) -> Result<Vec<$crate::hall::CounterSession>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT counter, staff, since FROM hall_counters WHERE hall = $1 ORDER BY counter")
                    .bind(hall.as_str())
                    .fetch_all(self.$reader())
                    .await?;
                rows.iter()
                    .map(|r| {
                        let counter: i32 = r.try_get("counter")?;
                        Ok($crate::hall::CounterSession {
                            hall: hall.clone(),
                            counter: $crate::hall::to_u16("counter", Some(counter))?.unwrap_or(0),
                            staff: r.try_get("staff")?,
                            since: r.try_get("since")?,
                        })
                    })
                    .collect()
            }

            async fn hall_log_after(
                &self,
                after: i64,
                limit: u32,
            ) -> Result<Vec<$crate::hall::HallLogEntry>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT id, hall, subject, CAST(payload AS TEXT) AS payload FROM hall_events \
                     WHERE id > $1 ORDER BY id LIMIT $2",
                )
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(self.$reader())
                .await?;
                rows.iter()
                    .map(|r| {
                        let hall: String = r.try_get("hall")?;
                        let subject: String = r.try_get("subject")?;
                        let ticket = if subject.starts_with("booking:") || subject.starts_with("counter:") {
                            None
                        } else {
                            let payload: String = r.try_get("payload")?;
                            Some((
                                $crate::hall::parse_id(&subject)?,
                                $crate::hall::parse_ticket_event(&subject, &payload)?,
                            ))
                        };
                        Ok($crate::hall::HallLogEntry {
                            id: r.try_get("id")?,
                            hall: hall.parse().map_err(|_| $crate::hall::corrupt(format!("hall {hall:?}")))?,
                            ticket,
                        })
                    })
                    .collect()
            }

            async fn hall_log_head(&self) -> Result<i64, $crate::error::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS head FROM hall_events")
                    .fetch_one(self.$reader())
                    .await?;
                Ok(row.try_get::<i64, _>("head")?)
            }
        }

        impl $store {
            /// Refuses, each alone, the calls that must come from the officer signed in at their
            /// counter and do not (read in the batch's transaction, after the day's lock).
            async fn check_signed_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall_code: &motcua_core::hall::HallCode,
                calls: &[$crate::hall::CounterCall],
                answers: &mut [Result<Option<$crate::hall::Called>, $crate::error::StoreError>],
            ) -> Result<(), $crate::error::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT counter, staff FROM hall_counters WHERE hall = $1")
                    .bind(hall_code.as_str())
                    .fetch_all(&mut **tx)
                    .await?;
                let mut at_counters = std::collections::HashSet::with_capacity(rows.len());
                for r in &rows {
                    let counter: i32 = r.try_get("counter")?;
                    at_counters.insert((counter, r.try_get::<String, _>("staff")?));
                }
                for (call, answer) in calls.iter().zip(answers.iter_mut()) {
                    if !call.signed_in || answer.is_err() {
                        continue;
                    }
                    let staff = call.by.clone().unwrap_or_default();
                    if !at_counters.contains(&(i32::from(call.counter), staff.clone())) {
                        *answer = Err(motcua_core::hall::HallError::NotSignedIn {
                            staff,
                            counter: call.counter,
                            hall: hall_code.to_string(),
                        }
                        .into());
                    }
                }
                Ok(())
            }

            /// The waiting tickets of a hall's day that `calls` calls at `at` by counters serving
            /// `areas` can reach, as the ordering rule reads them: in each of those areas, the
            /// first `calls` of the ordinary and of the priority lane by waiting start (ties at the
            /// edge included), every ticket sent to a particular counter and every booking whose
            /// slot has come. The rule only ever takes a lane's first, so `calls` calls in a row
            /// pick from these exactly as from the whole queue. Each part is an index seek on a
            /// partial index of the waiting tickets (migration 33), not a pass over the day.
            async fn waiting_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall_code: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
                at: chrono::DateTime<chrono::Utc>,
                calls: usize,
                areas: &[char],
            ) -> Result<Vec<motcua_core::hall::Waiting>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let q = $crate::hall::waiting_query(areas.len());
                let mut query = sqlx::query(&q)
                    .bind(hall_code.as_str())
                    .bind(day.to_string())
                    .bind($crate::sql::At(at))
                    .bind(i64::try_from(calls.max(1) - 1).unwrap_or(i64::MAX));
                for a in areas {
                    query = query.bind(a.to_string());
                }
                let rows = query.fetch_all(&mut **tx).await?;
                let mut seen = std::collections::HashSet::with_capacity(rows.len());
                let mut waiting = Vec::with_capacity(rows.len());
                for r in &rows {
                    let id: String = r.try_get("id")?;
                    if !seen.insert(id.clone()) {
                        continue;
                    }
                    let area: String = r.try_get("area")?;
                    let priority: Option<String> = r.try_get("priority")?;
                    waiting.push(motcua_core::hall::Waiting {
                        id: $crate::hall::parse_id(&id)?,
                        area: $crate::hall::parse_char("area", &area)?,
                        priority: priority.is_some(),
                        slot_at: r.try_get("slot_at")?,
                        waiting_since: r.try_get("waiting_since")?,
                        for_counter: $crate::hall::to_u16("for_counter", r.try_get("for_counter")?)?,
                    });
                }
                Ok(waiting)
            }

            /// Counter `counter` calls the next of `waiting` (the day's waiting tickets, read in
            /// this transaction; the one called is taken out) by the hall's rule.
            #[allow(clippy::too_many_arguments)]
            async fn call_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                fair: motcua_core::hall::FairState,
                waiting: &mut Vec<motcua_core::hall::Waiting>,
                counter: u16,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<($crate::hall::Called, motcua_core::hall::FairState)>, $crate::error::StoreError> {
                let Some((id, lane, next)) = $crate::hall::pick_next(hall, &fair, waiting, counter, at)? else {
                    return Ok(None);
                };
                let event = motcua_core::hall::TicketEvent::new(
                    at,
                    by,
                    motcua_core::hall::TicketEventKind::Called { counter },
                );
                let ticket = Self::step_in(tx, hall, &id, &event, recorded_at).await?;
                Ok(Some(($crate::hall::Called { ticket, lane }, next)))
            }

            /// Writes what the fairness rule remembers of the day (once per transaction, after
            /// its calls).
            async fn save_fair<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall_code: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
                fair: motcua_core::hall::FairState,
            ) -> Result<(), $crate::error::StoreError> {
                sqlx::query(
                    "UPDATE hall_days SET consecutive_priority = $3, ordinary_since_priority = $4 \
                     WHERE hall = $1 AND day = $2",
                )
                .bind(hall_code.as_str())
                .bind(day.to_string())
                .bind(i32::try_from(fair.consecutive_priority).unwrap_or(i32::MAX))
                .bind(fair.ordinary_since_priority.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }

            /// Books a slot of `hall` (checked, the slot's day locked): refused when full.
            async fn book_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                calendar: &motcua_core::calendar::Calendar,
                request: motcua_core::hall::BookingRequest,
                at: chrono::DateTime<chrono::Utc>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Booking, $crate::error::StoreError> {
                let limit = hall.check_slot(calendar, request.area, request.slot, at)?.booking_per_slot;
                let taken: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM hall_bookings WHERE hall = $1 AND area = $2 AND slot = $3 \
                     AND status IN ('booked', 'checked_in')",
                )
                .bind(request.hall.as_str())
                .bind(request.area.to_string())
                .bind($crate::hall::slot_text(request.slot))
                .fetch_one(&mut **tx)
                .await?;
                if taken >= i64::from(limit) {
                    return Err(motcua_core::hall::HallError::Booking(format!(
                        "the slot {} of area {} is full ({limit} bookings); choose another slot",
                        request.slot.format("%H:%M %d/%m/%Y"),
                        request.area
                    ))
                    .into());
                }
                let event = motcua_core::hall::BookingEvent {
                    at,
                    by: None,
                    kind: motcua_core::hall::BookingEventKind::Booked(request),
                };
                let booking = motcua_core::hall::Booking::book(&event)?;
                Self::append_booking(tx, &booking, 1, &event, recorded_at).await?;
                Ok(booking)
            }

            /// Appends `event` as entry `seq` of `booking`'s log (already applied to it) and
            /// writes the booking's projection.
            async fn append_booking<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                booking: &motcua_core::hall::Booking,
                seq: i32,
                event: &motcua_core::hall::BookingEvent,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                Self::append(
                    tx,
                    &booking.hall,
                    booking.slot.date(),
                    &$crate::hall::booking_subject(&booking.code),
                    seq,
                    event.at,
                    event.kind.name(),
                    event.by.as_deref(),
                    &serde_json::to_string(event).map_err($crate::hall::corrupt)?,
                    recorded_at,
                )
                .await?;
                Self::put_booking(tx, booking).await
            }

            /// Cancels a booking (its day locked).
            async fn cancel_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                code: &str,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Booking, $crate::error::StoreError> {
                let (mut booking, seq) = Self::load_booking(tx, hall, code).await?;
                let event = motcua_core::hall::BookingEvent {
                    at,
                    by: by.clone(),
                    kind: motcua_core::hall::BookingEventKind::Cancelled,
                };
                booking.apply(hall, &event)?;
                Self::append_booking(tx, &booking, seq + 1, &event, recorded_at).await?;
                Ok(booking)
            }

            /// Checks a booked citizen in (the slot's day locked, the hall open): a ticket
            /// queued at the slot's time.
            #[allow(clippy::too_many_arguments)]
            async fn check_in_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                day: chrono::NaiveDate,
                code: &str,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                let (mut booking, seq) = Self::load_booking(tx, hall, code).await?;
                if booking.slot.date() != day {
                    return Err(motcua_core::hall::HallError::Mismatch.into());
                }
                booking.check_in(hall, at)?;
                let issue = motcua_core::hall::Issue {
                    id: Self::take_number(tx, hall, booking.area, day).await?,
                    channel: motcua_core::hall::TicketChannel::Booking,
                    priority: booking.priority,
                    booking: Some(booking.code.clone()),
                    slot_at: Some(booking.slot_at),
                    linked_from: None,
                };
                let event = motcua_core::hall::BookingEvent {
                    at,
                    by: by.clone(),
                    kind: motcua_core::hall::BookingEventKind::CheckedIn { ticket: issue.id.clone() },
                };
                let ticket = Self::issue_in(tx, hall, issue, at, by.clone(), recorded_at).await?;
                booking.apply(hall, &event)?;
                Self::append_booking(tx, &booking, seq + 1, &event, recorded_at).await?;
                Ok(ticket)
            }

            /// Signs `staff` in at a counter (out of any other), or the counter out.
            #[allow(clippy::too_many_arguments)]
            async fn sign_in_tx<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall_code: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
                counter: u16,
                staff: Option<&str>,
                at: chrono::DateTime<chrono::Utc>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                let subject = $crate::hall::counter_subject(hall_code, counter);
                let seq: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(seq), 0) AS BIGINT) FROM hall_events WHERE subject = $1")
                    .bind(&subject)
                    .fetch_one(&mut **tx)
                    .await?;
                let seq = i32::try_from(seq + 1).map_err($crate::hall::corrupt)?;
                let (kind, payload) = match staff {
                    Some(s) => ("signed_in", serde_json::json!({"event": "signed_in", "at": at, "counter": counter, "staff": s})),
                    None => ("signed_out", serde_json::json!({"event": "signed_out", "at": at, "counter": counter})),
                };
                Self::append(tx, hall_code, day, &subject, seq, at, kind, staff, &payload.to_string(), recorded_at)
                    .await?;
                sqlx::query("DELETE FROM hall_counters WHERE (hall = $1 AND counter = $2) OR staff = $3")
                    .bind(hall_code.as_str())
                    .bind(i32::from(counter))
                    .bind(staff.unwrap_or(""))
                    .execute(&mut **tx)
                    .await?;
                if let Some(s) = staff {
                    sqlx::query("INSERT INTO hall_counters (hall, counter, staff, since) VALUES ($1, $2, $3, $4)")
                        .bind(hall_code.as_str())
                        .bind(i32::from(counter))
                        .bind(s)
                        .bind($crate::sql::At(at))
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            /// Makes sure the day's row exists and locks it; returns the fairness rule's memory.
            async fn lock_day<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
            ) -> Result<motcua_core::hall::FairState, $crate::error::StoreError> {
                use sqlx::Row as _;
                sqlx::query("INSERT INTO hall_days (hall, day) VALUES ($1, $2) ON CONFLICT (hall, day) DO NOTHING")
                    .bind(hall.as_str())
                    .bind(day.to_string())
                    .execute(&mut **tx)
                    .await?;
                let row = sqlx::query(concat!(
                    "SELECT consecutive_priority, ordinary_since_priority FROM hall_days WHERE hall = $1 AND day = $2",
                    $lock
                ))
                .bind(hall.as_str())
                .bind(day.to_string())
                .fetch_one(&mut **tx)
                .await?;
                let c: i32 = row.try_get("consecutive_priority")?;
                let o: Option<i32> = row.try_get("ordinary_since_priority")?;
                Ok(motcua_core::hall::FairState {
                    consecutive_priority: $crate::hall::to_u32("consecutive_priority", c)?,
                    ordinary_since_priority: o.map(|o| $crate::hall::to_u32("ordinary_since_priority", o)).transpose()?,
                })
            }

            /// Takes the area's next number of the day, after the hall's and the area's capacity
            /// checks (the day's row is locked).
            async fn take_number<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                area: char,
                day: chrono::NaiveDate,
            ) -> Result<motcua_core::hall::TicketId, $crate::error::StoreError> {
                let issued: i32 = sqlx::query_scalar(
                    "UPDATE hall_days SET issued = issued + 1 WHERE hall = $1 AND day = $2 RETURNING issued",
                )
                .bind(hall.code.as_str())
                .bind(day.to_string())
                .fetch_one(&mut **tx)
                .await?;
                if let Some(cap) = hall.capacity_per_day
                    && i64::from(issued) > i64::from(cap)
                {
                    return Err(motcua_core::hall::HallError::CapacityReached {
                        hall: hall.code.to_string(),
                        day,
                        capacity: cap,
                    }
                    .into());
                }
                let last: i32 = sqlx::query_scalar(
                    "INSERT INTO hall_numbers (hall, day, area, last) VALUES ($1, $2, $3, 1) \
                     ON CONFLICT (hall, day, area) DO UPDATE SET last = hall_numbers.last + 1 RETURNING last",
                )
                .bind(hall.code.as_str())
                .bind(day.to_string())
                .bind(area.to_string())
                .fetch_one(&mut **tx)
                .await?;
                let number = $crate::hall::to_u32("last", last)?;
                if let Some(cap) = hall.area(area, day)?.capacity_per_day
                    && number > cap
                {
                    return Err(motcua_core::hall::HallError::AreaCapacityReached { area, day, capacity: cap }.into());
                }
                if number > motcua_core::hall::MAX_NUMBER {
                    return Err(motcua_core::hall::HallError::AreaCapacityReached {
                        area,
                        day,
                        capacity: motcua_core::hall::MAX_NUMBER,
                    }
                    .into());
                }
                Ok(motcua_core::hall::TicketId { hall: hall.code.clone(), day, area, number })
            }

            /// Records a ticket's issue event and its projection.
            async fn issue_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                issue: motcua_core::hall::Issue,
                at: chrono::DateTime<chrono::Utc>,
                by: Option<String>,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                let event =
                    motcua_core::hall::TicketEvent::new(at, by, motcua_core::hall::TicketEventKind::Issued(issue));
                let ticket = motcua_core::hall::Ticket::issue(hall, &event)?;
                Self::append_ticket(tx, &ticket, &event, recorded_at).await?;
                Ok(ticket)
            }

            /// Replays a ticket's log (its projection row locked).
            async fn load_ticket<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                id: &motcua_core::hall::TicketId,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                let mut one = Self::load_tickets(tx, hall, std::slice::from_ref(id)).await?;
                one.pop().ok_or_else(|| $crate::error::StoreError::HallNotFound(format!("ticket {id}")))
            }

            /// Replays the logs of distinct tickets, in the order of `ids` (their projection rows
            /// locked in id order: one statement to lock, one to read every log).
            async fn load_tickets<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                ids: &[motcua_core::hall::TicketId],
            ) -> Result<Vec<motcua_core::hall::Ticket>, $crate::error::StoreError> {
                use sqlx::Row as _;
                let keys: Vec<String> = ids.iter().map(ToString::to_string).collect();
                let list = $crate::hall::placeholders(1, keys.len());
                let q = format!("SELECT id FROM hall_tickets WHERE id IN ({list}) ORDER BY id{}", $lock);
                let mut lock = sqlx::query(&q);
                for k in &keys {
                    lock = lock.bind(k);
                }
                let found: std::collections::HashSet<String> =
                    lock.fetch_all(&mut **tx).await?.iter().map(|r| r.try_get("id")).collect::<Result<_, _>>()?;
                if let Some(missing) = keys.iter().find(|k| !found.contains(*k)) {
                    return Err($crate::error::StoreError::HallNotFound(format!("ticket {missing}")));
                }
                let q = format!(
                    "SELECT subject, CAST(payload AS TEXT) AS payload FROM hall_events \
                     WHERE subject IN ({list}) ORDER BY subject, seq"
                );
                let mut read = sqlx::query(&q);
                for k in &keys {
                    read = read.bind(k);
                }
                let mut logs: std::collections::HashMap<String, Vec<motcua_core::hall::TicketEvent>> =
                    std::collections::HashMap::with_capacity(keys.len());
                for r in &read.fetch_all(&mut **tx).await? {
                    let subject: String = r.try_get("subject")?;
                    let event = $crate::hall::parse_ticket_event(&subject, &r.try_get::<String, _>("payload")?)?;
                    logs.entry(subject).or_default().push(event);
                }
                keys.iter()
                    .map(|key| {
                        let events = logs.get(key).map(Vec::as_slice).unwrap_or_default();
                        motcua_core::hall::Ticket::replay(hall, events)
                            .map_err(|e| $crate::hall::corrupt(format!("ticket {key} no longer replays: {e}")))
                    })
                    .collect()
            }

            /// Applies one event to a ticket and records it.
            async fn step_in<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                id: &motcua_core::hall::TicketId,
                event: &motcua_core::hall::TicketEvent,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<motcua_core::hall::Ticket, $crate::error::StoreError> {
                let mut ticket = Self::load_ticket(tx, hall, id).await?;
                ticket.apply(hall, event)?;
                Self::append_ticket(tx, &ticket, event, recorded_at).await?;
                Ok(ticket)
            }

            async fn load_booking<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::Hall,
                code: &str,
            ) -> Result<(motcua_core::hall::Booking, i32), $crate::error::StoreError> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT CAST(payload AS TEXT) AS payload FROM hall_events WHERE subject = $1 ORDER BY seq",
                )
                .bind($crate::hall::booking_subject(code))
                .fetch_all(&mut **tx)
                .await?;
                let mut events = Vec::with_capacity(rows.len());
                for r in &rows {
                    events.push($crate::hall::parse_booking_event(code, &r.try_get::<String, _>("payload")?)?);
                }
                let (first, rest) = events
                    .split_first()
                    .ok_or_else(|| $crate::error::StoreError::HallNotFound(format!("booking {code}")))?;
                let mut b = motcua_core::hall::Booking::book(first)?;
                for e in rest {
                    b.apply(hall, e).map_err(|e| $crate::hall::corrupt(format!("booking {code}: {e}")))?;
                }
                let seq = i32::try_from(events.len()).map_err($crate::hall::corrupt)?;
                Ok((b, seq))
            }

            #[allow(clippy::too_many_arguments)]
            async fn append<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                hall: &motcua_core::hall::HallCode,
                day: chrono::NaiveDate,
                subject: &str,
                seq: i32,
                at: chrono::DateTime<chrono::Utc>,
                kind: &str,
                by: Option<&str>,
                payload: &str,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                let row = $crate::hall::LogRow { hall, day, subject, seq, at, kind, by, payload: payload.to_string() };
                Self::append_rows(tx, std::slice::from_ref(&row), recorded_at).await
            }

            /// Appends rows to the hall's log in one statement, in order.
            async fn append_rows<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                rows: &[$crate::hall::LogRow<'_>],
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                // `$json` is written for the eighth parameter; each row has nine.
                let values: Vec<String> = (0..rows.len())
                    .map(|i| {
                        let p = |k: usize| format!("${}", i * 9 + k);
                        let json = $json.replace("$8", &p(8));
                        format!("({}, {}, {}, {}, {}, {}, {}, {json}, {})", p(1), p(2), p(3), p(4), p(5), p(6), p(7), p(9))
                    })
                    .collect();
                let q = format!(
                    "INSERT INTO hall_events (hall, day, subject, seq, at, kind, by_staff, payload, recorded_at) VALUES {}",
                    values.join(", ")
                );
                let recorded_at = $crate::sql::At(motcua_core::calendar::truncate_to_micros(recorded_at));
                let mut insert = sqlx::query(&q);
                for r in rows {
                    insert = insert
                        .bind(r.hall.as_str())
                        .bind(r.day.to_string())
                        .bind(r.subject)
                        .bind(r.seq)
                        .bind($crate::sql::At(r.at))
                        .bind(r.kind)
                        .bind(r.by)
                        .bind(r.payload.as_str())
                        .bind(recorded_at);
                }
                insert.execute(&mut **tx).await?;
                Ok(())
            }

            /// Appends a ticket's event and writes its projection.
            async fn append_ticket<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                t: &motcua_core::hall::Ticket,
                event: &motcua_core::hall::TicketEvent,
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                Self::append_tickets(tx, &[(t, event)], recorded_at).await
            }

            /// Appends each ticket's event (distinct tickets) and writes their projections: one
            /// statement for the events, one for the projections.
            async fn append_tickets<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                steps: &[(&motcua_core::hall::Ticket, &motcua_core::hall::TicketEvent)],
                recorded_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::error::StoreError> {
                let subjects: Vec<String> = steps.iter().map(|(t, _)| t.id.to_string()).collect();
                let mut rows = Vec::with_capacity(steps.len());
                for ((t, event), subject) in steps.iter().zip(&subjects) {
                    rows.push($crate::hall::LogRow {
                        hall: &t.id.hall,
                        day: t.id.day,
                        subject,
                        seq: i32::try_from(t.event_count).map_err($crate::hall::corrupt)?,
                        at: event.at,
                        kind: event.kind.name(),
                        by: event.by.as_deref(),
                        payload: serde_json::to_string(event).map_err($crate::hall::corrupt)?,
                    });
                }
                Self::append_rows(tx, &rows, recorded_at).await?;
                let cols = $crate::hall::TICKET_COLUMNS;
                let values: Vec<String> = (0..steps.len())
                    .map(|i| format!("({})", $crate::hall::placeholders(i * cols.len() + 1, cols.len())))
                    .collect();
                let updates: Vec<String> = cols.iter().skip(1).map(|c| format!("{c} = excluded.{c}")).collect();
                let q = format!(
                    "INSERT INTO hall_tickets ({}) VALUES {} ON CONFLICT (id) DO UPDATE SET {}",
                    cols.join(", "),
                    values.join(", "),
                    updates.join(", ")
                );
                let small = |n: u32| i32::try_from(n).unwrap_or(i32::MAX);
                let mut upsert = sqlx::query(&q);
                for ((t, _), subject) in steps.iter().zip(&subjects) {
                    let dossiers: Vec<&str> = t.dossiers.iter().map(|d| d.as_str()).collect();
                    upsert = upsert
                        .bind(subject.as_str())
                        .bind(t.id.hall.as_str())
                        .bind(t.id.day.to_string())
                        .bind(t.id.area.to_string())
                        .bind(small(t.id.number))
                        .bind(t.id.number_label())
                        .bind(t.area.to_string())
                        .bind(t.channel.name())
                        .bind(t.priority.map(|p| p.name()))
                        .bind(t.booking.as_deref())
                        .bind(t.slot_at.map($crate::sql::At))
                        .bind(t.linked_from.as_ref().map(ToString::to_string))
                        .bind(t.status.name())
                        .bind($crate::sql::At(t.issued_at))
                        .bind($crate::sql::At(t.waiting_since))
                        .bind(t.for_counter.map(i32::from))
                        .bind(t.counter.map(i32::from))
                        .bind(t.called_at.map($crate::sql::At))
                        .bind(t.first_called_at.map($crate::sql::At))
                        .bind(t.called_by.as_deref())
                        .bind(small(t.recalls))
                        .bind(t.started_at.map($crate::sql::At))
                        .bind(t.finished_at.map($crate::sql::At))
                        .bind(t.ended_at.map($crate::sql::At))
                        .bind(small(t.transfers))
                        .bind(t.redirected_to.as_ref().map(ToString::to_string))
                        .bind(serde_json::to_string(&dossiers).map_err($crate::hall::corrupt)?)
                        .bind(t.rating.map(|r| r.name()))
                        .bind(t.rating_comment.as_deref())
                        .bind(t.wait_seconds())
                        .bind(t.service_seconds())
                        .bind(small(t.event_count))
                        .bind($crate::sql::At(t.last_event_at));
                }
                upsert.execute(&mut **tx).await?;
                for (t, event) in steps {
                    let motcua_core::hall::TicketEventKind::Linked { dossier } = &event.kind else {
                        continue;
                    };
                    sqlx::query(
                        "INSERT INTO hall_dossier_links (dossier, ticket) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    )
                    .bind(dossier.as_str())
                    .bind(t.id.to_string())
                    .execute(&mut **tx)
                    .await?;
                }
                Ok(())
            }

            async fn put_booking<'c>(
                tx: &mut sqlx::Transaction<'c, <$store as $crate::petitions::Backend>::Db>,
                b: &motcua_core::hall::Booking,
            ) -> Result<(), $crate::error::StoreError> {
                sqlx::query(
                    "INSERT INTO hall_bookings (code, hall, area, day, slot, slot_at, name, phone, priority, status, booked_at, ticket) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (code) DO UPDATE SET status = excluded.status, ticket = excluded.ticket",
                )
                .bind(&b.code)
                .bind(b.hall.as_str())
                .bind(b.area.to_string())
                .bind(b.slot.date().to_string())
                .bind($crate::hall::slot_text(b.slot))
                .bind($crate::sql::At(b.slot_at))
                .bind(&b.name)
                .bind(b.phone.as_deref())
                .bind(b.priority.map(|p| p.name()))
                .bind(b.status.name())
                .bind($crate::sql::At(b.booked_at))
                .bind(b.ticket.as_ref().map(ToString::to_string))
                .execute(&mut **tx)
                .await?;
                Ok(())
            }
        }
    };
}
pub(crate) use hall_store;

/// Upper bounds of the exporter's waiting and service buckets, in seconds: 1 min … 2 h.
pub const HALL_BOUNDS: [i64; 10] = [60, 300, 600, 900, 1200, 1800, 2700, 3600, 5400, 7200];

/// Observations of durations: how many are at or under each of [`HALL_BOUNDS`] (cumulative),
/// how many in all, their sum in seconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buckets {
    pub le: Vec<u64>,
    pub count: u64,
    pub sum: i64,
}

/// One hall and area's tickets of the day, by the area of their number (which a transfer does
/// not change): those marked no-show, the waits of those called, the service times of those
/// finished. `waiting_now` is filled by the reader from [`HallFigures::waiting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaFigures {
    pub hall: HallCode,
    pub area: char,
    pub waiting_now: u64,
    pub no_shows: u64,
    pub waits: Buckets,
    pub services: Buckets,
}

/// What the exporter reads of a day's tickets ([`HallStore::hall_figures`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HallFigures {
    /// Per hall and area of the number.
    pub areas: Vec<AreaFigures>,
    /// Tickets waiting now, per hall and the area they wait in.
    pub waiting: Vec<(HallCode, char, u64)>,
    /// Calls (`called` events; recalls not counted) per hall and counter.
    pub calls: Vec<(HallCode, u16, u64)>,
}

/// The query of [`AreaFigures`]: the stored durations (core's, written with each ticket)
/// counted under each bound and summed — comparisons and sums, no time arithmetic.
pub(crate) fn area_figures_query() -> String {
    let mut cols = vec![
        "hall".to_string(),
        "issue_area AS area".to_string(),
        "CAST(SUM(CASE WHEN status = 'no_show' THEN 1 ELSE 0 END) AS BIGINT) AS no_shows".to_string(),
    ];
    for (what, col) in [("wait", "wait_seconds"), ("service", "service_seconds")] {
        cols.push(format!("CAST(COUNT({col}) AS BIGINT) AS {what}_n"));
        cols.push(format!("CAST(COALESCE(SUM({col}), 0) AS BIGINT) AS {what}_sum"));
        for (i, b) in HALL_BOUNDS.iter().enumerate() {
            cols.push(format!("CAST(SUM(CASE WHEN {col} <= {b} THEN 1 ELSE 0 END) AS BIGINT) AS {what}_le_{i}"));
        }
    }
    format!(
        "SELECT {} FROM hall_tickets WHERE issued_at >= $1 AND issued_at < $2 GROUP BY hall, issue_area",
        cols.join(", ")
    )
}

/// How the hall report groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HallReportBy {
    Hall,
    Area,
    Counter,
    Officer,
    Day,
}

impl HallReportBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "hall" => Some(Self::Hall),
            "area" => Some(Self::Area),
            "counter" => Some(Self::Counter),
            "officer" => Some(Self::Officer),
            "day" => Some(Self::Day),
            _ => None,
        }
    }
}

/// The hall report: one tally per group, and the total, over the tickets issued in a period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HallReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub rows: Vec<(String, motcua_core::hall::HallTally)>,
    pub total: motcua_core::hall::HallTally,
}

/// The columns of the report's CSV (`motcua hall report --format csv`, the API's and the page's
/// download).
pub const HALL_REPORT_CSV_HEAD: &str = "key,issued,served,no_show,left,closed,wait_p50_s,wait_p90_s,wait_max_s,\
wait_mean_s,service_p50_s,service_p90_s,service_max_s,service_mean_s,within_target,within_target_ratio,ratings";

/// A duration in seconds as `minutes:seconds` (`11:00`), `-` for none: the report's table and
/// page.
pub fn minutes_text(s: Option<i64>) -> String {
    s.map_or_else(|| "-".into(), |s| format!("{}:{:02}", s / 60, s % 60))
}

/// The first instant of a local day.
fn day_start(d: NaiveDate) -> DateTime<Utc> {
    motcua_core::calendar::from_local(d.and_time(chrono::NaiveTime::MIN))
}

fn csv_row(key: &str, t: &motcua_core::hall::HallTally) -> String {
    let o = |v: Option<i64>| v.map(|x| x.to_string()).unwrap_or_default();
    let f = |v: Option<f64>| v.map(|x| format!("{x:.1}")).unwrap_or_default();
    let ratings: Vec<String> = t.ratings.iter().map(|(k, n)| format!("{k}={n}")).collect();
    let key = if key.contains([',', '"']) { format!("\"{}\"", key.replace('"', "\"\"")) } else { key.to_string() };
    format!(
        "{key},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
        t.issued,
        t.served,
        t.no_show,
        t.left,
        t.closed,
        o(t.waiting.p50),
        o(t.waiting.p90),
        o(t.waiting.max),
        f(t.waiting.mean),
        o(t.service.p50),
        o(t.service.p90),
        o(t.service.max),
        f(t.service.mean),
        t.within_target,
        t.within_target_ratio.map(|x| format!("{x:.4}")).unwrap_or_default(),
        ratings.join(" ")
    )
}

impl HallReport {
    /// The report of the tickets issued on the local days `from` to `to` (of `hall`, or of
    /// every hall): the one computation behind `motcua hall report`, `GET
    /// /api/v1/halls/{hall}/report` and the head's page `/sanh/bao-cao`.
    pub async fn of_period<S: HallStore>(
        store: &S,
        domain: &Domain,
        hall: Option<&HallCode>,
        from: NaiveDate,
        to: NaiveDate,
        by: Option<HallReportBy>,
    ) -> Result<Self, StoreError> {
        let end = day_start(to.succ_opt().unwrap_or(to));
        let tickets = store.tickets_between(hall, day_start(from), end).await?;
        Ok(Self::build(domain, from, to, &tickets, by))
    }

    /// The report as JSON: the period, a row per group (`key`, `tally`) and the total.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "from": self.from.to_string(),
            "to": self.to.to_string(),
            "rows": self.rows.iter().map(|(k, t)| serde_json::json!({"key": k, "tally": t})).collect::<Vec<_>>(),
            "total": self.total,
        })
    }

    /// The report as CSV ([`HALL_REPORT_CSV_HEAD`]): a line per group and the total; times in
    /// seconds, ratings as `name=count` separated by spaces.
    pub fn to_csv(&self) -> String {
        let mut out = format!("{HALL_REPORT_CSV_HEAD}\n");
        for (k, t) in &self.rows {
            out.push_str(&csv_row(k, t));
            out.push('\n');
        }
        out.push_str(&csv_row("total", &self.total));
        out.push('\n');
        out
    }

    /// Tallies `tickets` (each against its hall's waiting target; 30 minutes for a hall no
    /// longer configured), grouped by `by`: `HALL/A` per area (the area it was served in),
    /// `HALL/3` per counter (the one that called it last; `HALL/-` never called), the officer
    /// who called it (`-` none), the local day.
    pub fn build(
        domain: &Domain,
        from: NaiveDate,
        to: NaiveDate,
        tickets: &[Ticket],
        by: Option<HallReportBy>,
    ) -> Self {
        let facts: Vec<(String, motcua_core::hall::TicketFacts)> = tickets
            .iter()
            .map(|t| {
                let target = domain.halls.hall(&t.id.hall, t.id.day).map_or(30, |h| h.waiting_target_minutes);
                let key = match by {
                    None => String::new(),
                    Some(HallReportBy::Hall) => t.id.hall.to_string(),
                    Some(HallReportBy::Area) => format!("{}/{}", t.id.hall, t.area),
                    Some(HallReportBy::Counter) => {
                        format!("{}/{}", t.id.hall, t.counter.map_or_else(|| "-".to_string(), |c| c.to_string()))
                    }
                    Some(HallReportBy::Officer) => t.called_by.clone().unwrap_or_else(|| "-".into()),
                    Some(HallReportBy::Day) => t.id.day.to_string(),
                };
                (key, t.facts(target))
            })
            .collect();
        let total = motcua_core::hall::tally(facts.iter().map(|(_, f)| f));
        let mut groups: std::collections::BTreeMap<&str, Vec<&motcua_core::hall::TicketFacts>> =
            std::collections::BTreeMap::new();
        if by.is_some() {
            for (k, f) in &facts {
                groups.entry(k.as_str()).or_default().push(f);
            }
        }
        let rows = groups.into_iter().map(|(k, v)| (k.to_string(), motcua_core::hall::tally(v))).collect();
        Self { from, to, rows, total }
    }
}

#[cfg(test)]
mod log_cursor_tests {
    use std::time::{Duration, Instant};

    use super::LogCursor;

    #[test]
    fn reads_each_id_once_and_moves_its_mark() {
        let t = Instant::now();
        let mut c = LogCursor::new(10, Duration::from_secs(2));
        assert_eq!(c.take(&[11, 12, 13], t), vec![true, true, true]);
        assert_eq!(c.after(), 13);
        assert_eq!(c.take(&[], t), Vec::<bool>::new());
        assert_eq!(c.take(&[14], t), vec![true]);
        assert_eq!(c.after(), 14);
    }

    #[test]
    fn a_lower_id_committed_late_is_still_read() {
        let t = Instant::now();
        let mut c = LogCursor::new(0, Duration::from_secs(2));
        // 2 is inserted before 3 but commits after it.
        assert_eq!(c.take(&[1, 3], t), vec![true, true]);
        assert_eq!(c.after(), 1, "waits below the hole");
        assert_eq!(c.take(&[2, 3, 4], t + Duration::from_millis(300)), vec![true, false, true]);
        assert_eq!(c.after(), 4);
    }

    #[test]
    fn a_hole_that_never_fills_is_given_up_after_the_patience() {
        let t = Instant::now();
        let mut c = LogCursor::new(0, Duration::from_secs(2));
        assert_eq!(c.take(&[2], t), vec![true]);
        assert_eq!(c.after(), 0);
        assert_eq!(c.take(&[2], t + Duration::from_secs(1)), vec![false]);
        assert_eq!(c.after(), 0);
        assert_eq!(c.take(&[2, 3], t + Duration::from_secs(2)), vec![false, true]);
        assert_eq!(c.after(), 3, "the rolled-back id 1 is given up");
    }

    #[test]
    fn a_wide_hole_is_not_waited_for() {
        let t = Instant::now();
        let mut c = LogCursor::new(0, Duration::from_secs(2));
        assert_eq!(c.take(&[50_000], t), vec![true]);
        assert_eq!(c.after(), 50_000);
    }
}
