//! The reception hall on the web: `/api/v1/halls…` for the counters (sign in, call, recall,
//! no-show, start, finish, left, transfer, redirect, a walk-in's number, the queue, the report)
//! and for citizens without login (take a number by QR or at the kiosk, its position, the
//! rating, bookings), the hall's live events as server-sent events, and the pages: the TV
//! (`/sanh/{hall}/tv`), the phone page the QR poster leads to (`/sanh/{hall}/lay-so`), the
//! kiosk (`/sanh/{hall}/kiosk`) with its printable ticket, the QR poster, and the counter's
//! rating tablet (`/sanh/{hall}/quay/{counter}/danh-gia`), which follows the counter's last
//! finished ticket by the same events.
//!
//! Live events: one broadcast channel per hall ([`HallHub`]), fed from the hall's log by
//! [`feed`], so a call made through any `motcua serve` on the same database or by the CLI
//! reaches every screen (`issued`, `called`, `updated`); a screen that (re)connects first
//! receives the full `state` — the last calls and the numbers waiting per area — so a
//! reconnecting screen resynchronises. This is also where a notifier (SMS, Zalo) would subscribe: a task holding
//! [`HallHub::subscribe`] receives every call of its hall.
//!
//! Who may: any staff account reads the halls, queues, tickets and report; a desk officer of
//! the hall's agency works its counters (sign-in, calls, steps, walk-ins). Citizens take a
//! number (rate limited per client and per hall), follow it, rate it once, and book, cancel and
//! check in with a booking code.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::calendar::{at_vn, to_local};
use motcua_core::hall::{
    self, BookingRequest, Hall, HallCode, HallRating, PriorityKind, Ticket, TicketChannel, TicketEvent,
    TicketEventKind, TicketId, TicketStatus,
};
use motcua_store::{Called, CounterCall, HallReport, HallReportBy, HallStore, NewTicket, Role};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{broadcast, oneshot};

use crate::api::{Body, Path, Query};
use crate::auth::Principal;
use crate::problem::{Problem, ProblemKind};
use crate::routing::Routes;
use crate::state::AppState;

pub fn routes() -> Routes<AppState> {
    Routes::new()
        .get("/api/v1/halls", list)
        .get("/api/v1/halls/{hall}/queue", queue)
        .get("/api/v1/halls/{hall}/report", report)
        .post("/api/v1/halls/{hall}/tickets", walk_in)
        .post("/api/v1/halls/{hall}/counters/{counter}/sign-in", sign_in)
        .post("/api/v1/halls/{hall}/counters/{counter}/sign-out", sign_out)
        .post("/api/v1/halls/{hall}/counters/{counter}/call", call)
        .get("/api/v1/halls/tickets/{ticket}", show_ticket)
        .post("/api/v1/halls/tickets/{ticket}/{step}", ticket_step)
        .post("/api/v1/halls/{hall}/take", take)
        .get("/api/v1/halls/{hall}/state", state_json)
        .get("/api/v1/halls/{hall}/events", events)
        .get("/api/v1/halls/{hall}/slots", slots)
        .post("/api/v1/halls/{hall}/bookings", book)
        .get("/api/v1/halls/tickets/{ticket}/position", position)
        .post("/api/v1/halls/tickets/{ticket}/rating", rate)
        .post("/api/v1/halls/bookings/{booking}/cancel", cancel)
        .post("/api/v1/halls/bookings/{booking}/check-in", check_in)
        .get("/sanh/{hall}/tv", tv_page)
        .get("/sanh/{hall}/lay-so", phone_page)
        .get("/sanh/{hall}/kiosk", kiosk_page)
        .get("/sanh/{hall}/qr", poster_page)
        .get("/sanh/ve/{ticket}", ticket_page)
        .get("/api/v1/halls/{hall}/counters/{counter}/last-finished", last_finished)
        .get("/sanh/{hall}/quay/{counter}/danh-gia", tablet_page)
        .get("/assets/hall.js", hall_js)
}

/// The steps `POST /api/v1/halls/tickets/{ticket}/{step}` takes.
pub const STEPS: [&str; 7] = ["recall", "no-show", "start", "finish", "left", "transfer", "redirect"];

// ---------------------------------------------------------------------------------------------
// Live events and limits

/// One broadcast channel per hall, and the issuing limits of anonymous clients.
#[derive(Debug, Default)]
pub struct HallHub {
    channels: Mutex<HashMap<HallCode, broadcast::Sender<String>>>,
    /// Rung by a write of this process so [`feed`] reads the log at once instead of at its
    /// next tick.
    written: tokio::sync::Notify,
    /// Per hall, how many changes of its log this process has seen (its own writes at once,
    /// others' as [`feed`] reads them): the key of `day_tickets`.
    versions: Mutex<HashMap<HallCode, u64>>,
    /// A day's tickets of a hall as last read, with the version and the instant of the read:
    /// the TV's state and every phone's position after an event are computed from one read.
    day_tickets: Mutex<HashMap<(HallCode, NaiveDate), DayRead>>,
    /// Counters' calls waiting to be written, per hall ([`call_batched`]).
    calls: Mutex<HashMap<HallCode, CallQueue>>,
    /// Anonymous issues per (hall, client) in the last hour, and per hall in the last minute.
    issued_by_client: Mutex<HashMap<(HallCode, std::net::IpAddr), Vec<Instant>>>,
    issued_in_hall: Mutex<HashMap<HallCode, Vec<Instant>>>,
}

impl HallHub {
    fn sender(&self, hall: &HallCode) -> broadcast::Sender<String> {
        let Ok(mut map) = self.channels.lock() else {
            return broadcast::channel(1).0;
        };
        map.entry(hall.clone()).or_insert_with(|| broadcast::channel(1024).0).clone()
    }

    /// Every event of `hall` from now on (JSON text, with its `type`).
    pub fn subscribe(&self, hall: &HallCode) -> broadcast::Receiver<String> {
        self.sender(hall).subscribe()
    }

    /// Sends an event to every screen and phone of `hall` (none listening is fine).
    pub fn publish(&self, hall: &HallCode, event: &Value) {
        let _ = self.sender(hall).send(event.to_string());
    }

    /// Whether any screen or phone of `hall` listens now.
    fn listened(&self, hall: &HallCode) -> bool {
        self.channels.lock().is_ok_and(|map| map.get(hall).is_some_and(|tx| tx.receiver_count() > 0))
    }

    /// Tells [`feed`] that this process has just written to the log of `hall`.
    pub fn written(&self, hall: &HallCode) {
        self.changed(hall);
        self.written.notify_one();
    }

    fn changed(&self, hall: &HallCode) {
        if let Ok(mut v) = self.versions.lock() {
            *v.entry(hall.clone()).or_default() += 1;
        }
    }

    fn version(&self, hall: &HallCode) -> u64 {
        self.versions.lock().map_or(0, |v| v.get(hall).copied().unwrap_or(0))
    }

    /// The tickets of `hall` on `day`, read again when the hall's log changed since the last
    /// read or that read is older than [`DAY_TICKETS_FRESH`] (a change by another process that
    /// [`feed`] has not seen yet).
    async fn day_tickets(
        &self,
        state: &AppState,
        hall: &HallCode,
        day: NaiveDate,
    ) -> Result<Arc<Vec<Ticket>>, Problem> {
        let version = self.version(hall);
        let key = (hall.clone(), day);
        if let Ok(cache) = self.day_tickets.lock()
            && let Some((v, at, tickets)) = cache.get(&key)
            && *v == version
            && at.elapsed() < DAY_TICKETS_FRESH
        {
            return Ok(Arc::clone(tickets));
        }
        let read = Instant::now();
        let tickets = Arc::new(state.store.day_tickets(hall, day).await?);
        if let Ok(mut cache) = self.day_tickets.lock() {
            if cache.len() > 1000 {
                cache.retain(|_, (_, at, _)| at.elapsed() < DAY_TICKETS_FRESH);
            }
            cache.insert(key, (version, read, Arc::clone(&tickets)));
        }
        Ok(tickets)
    }

    /// Takes one anonymous issue for `client` at `hall`: false past `per_client` an hour or
    /// `per_hall` a minute.
    fn allow(&self, hall: &HallCode, client: std::net::IpAddr, per_client: u32, per_hall: u32) -> bool {
        let now = Instant::now();
        let (Ok(mut by_client), Ok(mut in_hall)) = (self.issued_by_client.lock(), self.issued_in_hall.lock()) else {
            return false;
        };
        if by_client.len() > 100_000 {
            by_client.retain(|_, v| v.iter().any(|t| now.duration_since(*t) < Duration::from_secs(3600)));
        }
        let mine = by_client.entry((hall.clone(), client)).or_default();
        mine.retain(|t| now.duration_since(*t) < Duration::from_secs(3600));
        let all = in_hall.entry(hall.clone()).or_default();
        all.retain(|t| now.duration_since(*t) < Duration::from_secs(60));
        if mine.len() >= per_client as usize || all.len() >= per_hall as usize {
            return false;
        }
        mine.push(now);
        all.push(now);
        true
    }
}

/// A read of a hall's day: the hall's version it reflects, when it was made, the tickets.
type DayRead = (u64, Instant, Arc<Vec<Ticket>>);

/// A call waiting to be written, and where its answer goes.
type PendingCall = (CounterCall, oneshot::Sender<Result<Option<Called>, Problem>>);

/// The calls of one hall waiting for the transaction that writes them.
#[derive(Debug, Default)]
struct CallQueue {
    pending: Vec<PendingCall>,
    /// A task is writing this hall's calls; it takes the pending ones when its batch commits.
    writing: bool,
}

/// A counter's call, written with the calls other counters of the hall make meanwhile: while
/// one transaction commits, the calls that arrive wait and go together in the next, so twenty
/// counters pressing "call" in the same second cost a couple of commits, not twenty in a row.
/// The order of the ordering rule is kept: the calls of a batch are made one after another.
async fn call_batched(state: &AppState, hall: &HallCode, call: CounterCall) -> Result<Option<Called>, Problem> {
    let (reply, answer) = oneshot::channel();
    let lead = {
        let mut queues = hub(state).calls.lock().map_err(|_| Problem::internal("the hall's call queue"))?;
        let queue = queues.entry(hall.clone()).or_default();
        queue.pending.push((call, reply));
        !std::mem::replace(&mut queue.writing, true)
    };
    if lead {
        // A task of its own: the batch is written even if this request is dropped.
        tokio::spawn(write_calls(state.clone(), hall.clone()));
    }
    answer.await.map_err(|_| Problem::internal("the call was not written"))?
}

/// Writes the pending calls of `hall`, batch after batch, until none wait.
async fn write_calls(state: AppState, hall: HallCode) {
    loop {
        let batch = match hub(&state).calls.lock() {
            Ok(mut queues) => {
                let queue = queues.entry(hall.clone()).or_default();
                if queue.pending.is_empty() {
                    queue.writing = false;
                    return;
                }
                std::mem::take(&mut queue.pending)
            }
            Err(_) => return,
        };
        let (calls, replies): (Vec<CounterCall>, Vec<_>) = batch.into_iter().unzip();
        let now = state.now();
        match state.store.call_next_many(&state.domain, &hall, &calls, now, now).await {
            Ok(answers) => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(answer.map_err(Problem::from));
                }
            }
            Err(e) => {
                let problem = Problem::from(e);
                for reply in replies {
                    let _ = reply.send(Err(problem.clone()));
                }
            }
        }
        hub(&state).written(&hall);
    }
}

fn hub(state: &AppState) -> &HallHub {
    &state.hall_hub
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn hall_code(s: &str) -> Result<HallCode, Problem> {
    s.parse::<HallCode>().map_err(|_| Problem::not_found(format!("no hall {:?}", s.trim())))
}

fn today(state: &AppState) -> NaiveDate {
    to_local(state.now()).date()
}

fn hall_of<'a>(state: &'a AppState, code: &HallCode, day: NaiveDate) -> Result<&'a Hall, Problem> {
    Ok(state.domain.halls.hall(code, day)?)
}

fn show(at: DateTime<Utc>) -> String {
    at_vn(at).to_rfc3339()
}

/// A hall as the API and `motcua hall list` show it on day `on`: its rule, areas and counters,
/// with who is signed in at each counter when `sessions` are given.
pub fn hall_json(h: &Hall, on: NaiveDate, sessions: Option<&[motcua_store::CounterSession]>) -> Value {
    json!({
        "code": h.code,
        "name": h.name,
        "agency": h.agency,
        "priority_rule": h.priority,
        "priority_rule_text": h.priority.describe(),
        "recalls_before_no_show": h.recalls_before_no_show,
        "booking_late_minutes": h.booking_late_minutes,
        "slot_minutes": h.slot_minutes,
        "capacity_per_day": h.capacity_per_day,
        "waiting_target_minutes": h.waiting_target_minutes,
        "areas": h.areas_on(on).map(|a| json!({"letter": a.letter.to_string(), "name": a.name,
            "procedures": a.procedures, "booking_per_slot": a.booking_per_slot,
            "service_minutes": a.service_minutes})).collect::<Vec<_>>(),
        "counters": h.counters_on(on).map(|c| {
            let mut v = json!({"number": c.number, "areas": c.areas.iter().map(char::to_string).collect::<Vec<_>>()});
            if let Some(sessions) = sessions {
                v["signed_in"] = json!(sessions.iter().find(|s| s.counter == c.number).map(|s| s.staff.clone()));
            }
            v
        }).collect::<Vec<_>>(),
    })
}

/// A ticket as the API shows it.
pub fn ticket_json(t: &Ticket) -> Value {
    json!({
        "id": t.id.to_string(),
        "number": t.number,
        "hall": t.id.hall,
        "day": t.id.day.to_string(),
        "area": t.area.to_string(),
        "channel": t.channel.name(),
        "priority": t.priority.map(PriorityKind::name),
        "status": t.status.name(),
        "issued_at": show(t.issued_at),
        "waiting_since": show(t.waiting_since),
        "counter": t.counter,
        "for_counter": t.for_counter,
        "called_at": t.called_at.map(show),
        "called_by": t.called_by,
        "recalls": t.recalls,
        "started_at": t.started_at.map(show),
        "finished_at": t.finished_at.map(show),
        "wait_seconds": t.wait_seconds(),
        "service_seconds": t.service_seconds(),
        "transfers": t.transfers,
        "booking": t.booking,
        "slot_at": t.slot_at.map(show),
        "linked_from": t.linked_from.as_ref().map(ToString::to_string),
        "redirected_to": t.redirected_to.as_ref().map(ToString::to_string),
        "dossiers": t.dossiers,
        "rating": t.rating.map(HallRating::name),
        "links": {"self": format!("/api/v1/halls/tickets/{}", t.id), "page": format!("/sanh/ve/{}", t.id)},
    })
}

/// What a citizen sees of a ticket: no officer's name.
fn public_ticket_json(t: &Ticket) -> Value {
    json!({
        "id": t.id.to_string(),
        "number": t.number,
        "hall": t.id.hall,
        "area": t.area.to_string(),
        "status": t.status.name(),
        "issued_at": show(t.issued_at),
        "counter": t.counter,
        "called_at": t.called_at.map(show),
        "rating": t.rating.map(HallRating::name),
        "links": {"page": format!("/sanh/ve/{}", t.id), "position": format!("/api/v1/halls/tickets/{}/position", t.id)},
    })
}

/// The text announced and shown for a call.
pub fn call_text(number: &str, counter: u16) -> String {
    format!("Mời số {number} đến quầy {counter}")
}

/// The live event of one entry of a ticket's log: `issued`, `called` (a call or a recall, with
/// the text to announce) or `updated`.
fn ticket_event_json(t: &Ticket, event: &TicketEventKind) -> Value {
    match event {
        TicketEventKind::Issued(_) => json!({"type": "issued", "ticket": public_ticket_json(t)}),
        TicketEventKind::Called { counter } | TicketEventKind::Recalled { counter } => json!({
            "type": "called", "ticket": public_ticket_json(t), "counter": counter,
            "text": call_text(&t.number, *counter),
        }),
        _ => json!({"type": "updated", "ticket": public_ticket_json(t)}),
    }
}

/// How long a read of a day's tickets serves the screens while nothing changes that this
/// process knows of.
const DAY_TICKETS_FRESH: Duration = Duration::from_secs(1);

/// How often [`feed`] reads the hall log when this process has not written to it.
const FEED_TICK: Duration = Duration::from_millis(250);
/// How long [`feed`] waits for an id below one it has read (a transaction still committing).
const FEED_PATIENCE: Duration = Duration::from_secs(3);

/// Pushes the hall log to the halls' screens and phones: reads every entry written since it
/// started — by this process, another `motcua serve` on the same database, or the CLI — at
/// once after a write here and every [`FEED_TICK`] otherwise, and publishes each ticket's entry
/// on its hall's channel when someone listens there. Runs until the server stops.
pub async fn feed(state: AppState) {
    let hub = state.hall_hub.clone();
    let mut cursor = loop {
        match state.store.hall_log_head().await {
            Ok(head) => break motcua_store::LogCursor::new(head, FEED_PATIENCE),
            Err(e) => {
                tracing::warn!(error = %e, "hall feed: reading the log's head failed; trying again");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    };
    loop {
        let _ = tokio::time::timeout(FEED_TICK, hub.written.notified()).await;
        loop {
            let entries = match state.store.hall_log_after(cursor.after(), 1000).await {
                Ok(entries) => entries,
                Err(e) => {
                    tracing::warn!(error = %e, "hall feed: reading the log failed; trying again");
                    break;
                }
            };
            let ids: Vec<i64> = entries.iter().map(|e| e.id).collect();
            let fresh = cursor.take(&ids, Instant::now());
            for (entry, _) in entries.iter().zip(&fresh).filter(|(_, fresh)| **fresh) {
                hub.changed(&entry.hall);
            }
            for (entry, fresh) in entries.iter().zip(fresh) {
                let Some((id, event)) = entry.ticket.as_ref().filter(|_| fresh && hub.listened(&entry.hall)) else {
                    continue;
                };
                match state.store.ticket(id).await {
                    Ok(Some(t)) => hub.publish(&entry.hall, &ticket_event_json(&t, &event.kind)),
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, ticket = %id, "hall feed: reading a ticket failed"),
                }
            }
            if entries.len() < 1000 {
                break;
            }
        }
    }
}

/// The hall's state for its screens: the last calls, and per area the numbers waiting.
pub async fn hall_state(state: &AppState, code: &HallCode) -> Result<Value, Problem> {
    let day = today(state);
    let hall = hall_of(state, code, day)?;
    let tickets = hub(state).day_tickets(state, code, day).await?;
    let mut called: Vec<&Ticket> =
        tickets.iter().filter(|t| t.called_at.is_some() && t.status != TicketStatus::Waiting).collect();
    called.sort_by_key(|t| std::cmp::Reverse(t.called_at));
    let last: Vec<Value> = called
        .iter()
        .take(10)
        .map(|t| {
            json!({"number": t.number, "counter": t.counter, "called_at": t.called_at.map(show),
                   "text": call_text(&t.number, t.counter.unwrap_or(0)), "status": t.status.name()})
        })
        .collect();
    let areas: Vec<Value> = hall
        .areas_on(day)
        .map(|a| {
            let mut waiting: Vec<&Ticket> =
                tickets.iter().filter(|t| t.status == TicketStatus::Waiting && t.area == a.letter).collect();
            waiting.sort_by_key(|t| (t.waiting_since, t.id.clone()));
            json!({"letter": a.letter.to_string(), "name": a.name, "waiting": waiting.len(),
                   "next": waiting.iter().take(5).map(|t| t.number.clone()).collect::<Vec<_>>()})
        })
        .collect();
    Ok(json!({
        "type": "state",
        "hall": code,
        "name": hall.name,
        "day": day.to_string(),
        "at": show(state.now()),
        "last_calls": last,
        "areas": areas,
    }))
}

fn may_work(who: &Principal, hall: &Hall) -> Result<(), Problem> {
    if who.staff.role == Role::Desk && who.staff.agencies.contains(&hall.agency) {
        Ok(())
    } else {
        Err(Problem::forbidden(format!(
            "only a desk officer of {} works the counters of hall {}",
            hall.agency, hall.code
        )))
    }
}

/// Refuses a counter's step by someone not signed in at that counter.
async fn signed_in(state: &AppState, who: &Principal, hall: &HallCode, counter: u16) -> Result<(), Problem> {
    let sessions = state.store.counter_sessions(hall).await?;
    if sessions.iter().any(|s| s.counter == counter && s.staff == who.staff.username) {
        Ok(())
    } else {
        Err(Problem::new(
            ProblemKind::TicketState,
            format!("{} is not signed in at counter {counter} of hall {hall}: sign in first", who.staff.username),
        ))
    }
}

fn parse_ticket(s: &str) -> Result<TicketId, Problem> {
    s.trim().parse::<TicketId>().map_err(|e| Problem::not_found(e.to_string()))
}

async fn load_ticket(state: &AppState, s: &str) -> Result<Ticket, Problem> {
    let id = parse_ticket(s)?;
    state.store.ticket(&id).await?.ok_or_else(|| Problem::not_found(format!("ticket {id} does not exist")))
}

fn priority(s: Option<&str>) -> Result<Option<PriorityKind>, Problem> {
    s.filter(|p| !p.trim().is_empty())
        .map(|p| {
            PriorityKind::parse(p).ok_or_else(|| {
                Problem::invalid("priority: expected merit, elderly, disability, pregnant or small_child")
            })
        })
        .transpose()
}

fn area(s: &str) -> Result<char, Problem> {
    Ok(hall::parse_area(s)?)
}

// ---------------------------------------------------------------------------------------------
// Staff

#[derive(Debug, Default, Deserialize)]
struct DayQuery {
    on: Option<String>,
    day: Option<String>,
}

fn day_param(state: &AppState, s: Option<&str>) -> Result<NaiveDate, Problem> {
    // An empty value is a day that does not parse, not "today": only an absent one is.
    match s.map(str::trim) {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map_err(|_| Problem::invalid(format!("invalid day {d:?}: expected YYYY-MM-DD"))),
        None => Ok(today(state)),
    }
}

/// The halls in force with their areas and counters, and who is signed in where.
async fn list(
    State(state): State<AppState>,
    _who: Principal,
    Query(q): Query<DayQuery>,
) -> Result<Json<Value>, Problem> {
    let on = day_param(&state, q.on.as_deref())?;
    let mut halls = Vec::new();
    for h in state.domain.halls.halls_on(on) {
        let sessions = state.store.counter_sessions(&h.code).await?;
        halls.push(hall_json(h, on, Some(&sessions)));
    }
    Ok(Json(json!({"on": on.to_string(), "halls": halls})))
}

async fn queue(
    State(state): State<AppState>,
    _who: Principal,
    Path(h): Path<String>,
    Query(q): Query<DayQuery>,
) -> Result<Json<Value>, Problem> {
    let code = hall_code(&h)?;
    let day = day_param(&state, q.day.as_deref())?;
    hall_of(&state, &code, day)?;
    let tickets = state.store.day_tickets(&code, day).await?;
    Ok(Json(
        json!({"hall": code, "day": day.to_string(), "tickets": tickets.iter().map(ticket_json).collect::<Vec<_>>()}),
    ))
}

/// The hall report's query: the API's and the head's page's (`/sanh/bao-cao`).
#[derive(Debug, Default, Deserialize)]
pub(crate) struct ReportQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub by: Option<String>,
    pub format: Option<String>,
}

/// The hall report for a query: `to` defaults to today, `from` to `to`, a period of at most a
/// year; `by` one of hall, area, counter, officer, day (empty: the total only).
pub(crate) async fn hall_report(
    state: &AppState,
    code: &str,
    q: &ReportQuery,
) -> Result<(HallCode, HallReport), Problem> {
    let code = hall_code(code)?;
    if !state.domain.halls.halls().any(|x| x.code == code) {
        return Err(Problem::not_found(format!("no hall {code}")));
    }
    let to = day_param(state, q.to.as_deref())?;
    let from = match q.from.as_deref() {
        Some(f) => day_param(state, Some(f))?,
        None => to,
    };
    if from > to || (to - from).num_days() > 366 {
        return Err(Problem::invalid("from must not be after to, and the period at most a year"));
    }
    let by = q
        .by
        .as_deref()
        .filter(|b| !b.trim().is_empty())
        .map(|b| {
            HallReportBy::parse(b).ok_or_else(|| Problem::invalid("by: expected hall, area, counter, officer or day"))
        })
        .transpose()?;
    let r = HallReport::of_period(&state.store, &state.domain, Some(&code), from, to, by).await?;
    Ok((code, r))
}

/// The report's CSV download, named after the hall and the period.
pub(crate) fn report_csv(code: &HallCode, r: &HallReport) -> Response {
    crate::shared::csv_response(&format!("motcua-hall-{code}-{}-{}.csv", r.from, r.to), r.to_csv())
}

/// The hall report: tickets issued in the period by channel, served, no-show, the waiting and
/// service spreads, the share within the waiting target, ratings; `format=csv` for a download.
async fn report(
    State(state): State<AppState>,
    _who: Principal,
    Path(h): Path<String>,
    Query(q): Query<ReportQuery>,
) -> Result<Response, Problem> {
    let (code, r) = hall_report(&state, &h, &q).await?;
    match q.format.as_deref().unwrap_or("json") {
        "json" => {
            let mut v = r.to_json();
            v["hall"] = json!(code);
            Ok(Json(v).into_response())
        }
        "csv" => Ok(report_csv(&code, &r)),
        other => Err(Problem::invalid(format!("format {other:?}: expected json or csv"))),
    }
}

#[derive(Debug, Default, Deserialize)]
struct TakeBody {
    #[serde(default)]
    area: String,
    priority: Option<String>,
    /// qr (default) or kiosk for the public route.
    channel: Option<String>,
}

/// A walk-in's number, given by the desk.
async fn walk_in(
    State(state): State<AppState>,
    who: Principal,
    Path(h): Path<String>,
    Body(b): Body<TakeBody>,
) -> Result<Response, Problem> {
    let code = hall_code(&h)?;
    let now = state.now();
    let hall = hall_of(&state, &code, to_local(now).date())?;
    may_work(&who, hall)?;
    let new = NewTicket {
        hall: code,
        area: area(&b.area)?,
        channel: TicketChannel::Desk,
        priority: priority(b.priority.as_deref())?,
    };
    let t = state.store.issue_ticket(&state.domain, new, now, Some(who.staff.username.clone()), now).await?;
    hub(&state).written(&t.id.hall);
    Ok((StatusCode::CREATED, Json(ticket_json(&t))).into_response())
}

/// Signs `who` in at a counter (`on`), or out (only who is signed in there): the API's route
/// and the counter panel of the desk's queue page.
pub(crate) async fn sign(state: &AppState, who: &Principal, h: &str, counter: u16, on: bool) -> Result<Value, Problem> {
    let code = hall_code(h)?;
    let now = state.now();
    let hall = hall_of(state, &code, to_local(now).date())?;
    may_work(who, hall)?;
    if !on {
        signed_in(state, who, &code, counter).await?;
    }
    let staff = on.then_some(who.staff.username.as_str());
    state.store.sign_counter(&state.domain, &code, counter, staff, now, now).await?;
    Ok(json!({"hall": code, "counter": counter, "signed_in": staff}))
}

async fn sign_in(
    State(state): State<AppState>,
    who: Principal,
    Path((h, counter)): Path<(String, u16)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(sign(&state, &who, &h, counter, true).await?))
}

async fn sign_out(
    State(state): State<AppState>,
    who: Principal,
    Path((h, counter)): Path<(String, u16)>,
) -> Result<Json<Value>, Problem> {
    Ok(Json(sign(&state, &who, &h, counter, false).await?))
}

/// Calls the next citizen for the counter: 200 with `called` (the ticket and the lane), or
/// `called: null` and "no one waiting".
async fn call(
    State(state): State<AppState>,
    who: Principal,
    Path((h, counter)): Path<(String, u16)>,
) -> Result<Json<Value>, Problem> {
    match call_next(&state, &who, &h, counter).await? {
        Some(c) => {
            let mut v = ticket_json(&c.ticket);
            v["lane"] = json!(c.lane.name());
            v["text"] = json!(call_text(&c.ticket.number, counter));
            Ok(Json(json!({"called": v})))
        }
        None => Ok(Json(json!({"called": null, "message": "no one waiting"}))),
    }
}

/// Counter `counter` of hall `h` calls its next citizen by the hall's ordering rule (the
/// officer signed in there), and the hall's screens hear it; `None`: no one waiting. The API's
/// route and the counter panel both call this.
pub(crate) async fn call_next(
    state: &AppState,
    who: &Principal,
    h: &str,
    counter: u16,
) -> Result<Option<motcua_store::Called>, Problem> {
    let code = hall_code(h)?;
    let now = state.now();
    let hall = hall_of(state, &code, to_local(now).date())?;
    may_work(who, hall)?;
    // Signed in at that counter: checked in the batch's own transaction.
    call_batched(state, &code, CounterCall { counter, by: Some(who.staff.username.clone()), signed_in: true }).await
}

async fn show_ticket(
    State(state): State<AppState>,
    _who: Principal,
    Path(t): Path<String>,
) -> Result<Json<Value>, Problem> {
    let t = load_ticket(&state, &t).await?;
    let mut v = ticket_json(&t);
    v["events"] = serde_json::to_value(state.store.ticket_events(&t.id).await?).map_err(Problem::internal)?;
    Ok(Json(v))
}

#[derive(Debug, Default, Deserialize)]
struct StepBody {
    counter: Option<u16>,
    area: Option<String>,
}

/// One step of a ticket by a counter: recall (its counter), no-show, start, finish, left,
/// transfer (`area` and/or `counter`), redirect (`area`: a new linked ticket, 201).
async fn ticket_step(
    State(state): State<AppState>,
    who: Principal,
    Path((t, step)): Path<(String, String)>,
    Body(b): Body<StepBody>,
) -> Result<Response, Problem> {
    let (t, redirected) = take_step(&state, &who, &t, &step, b.counter, b.area.as_deref()).await?;
    let status = if redirected { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(ticket_json(&t))).into_response())
}

/// Records `step` (one of [`STEPS`]) of ticket `t` by a desk officer of its hall, and the
/// hall's screens hear it: the ticket as it now stands, or for a redirect the new ticket (and
/// `true`). The API's route and the counter panel both call this.
pub(crate) async fn take_step(
    state: &AppState,
    who: &Principal,
    t: &str,
    step: &str,
    counter: Option<u16>,
    area_to: Option<&str>,
) -> Result<(Ticket, bool), Problem> {
    if !STEPS.contains(&step) {
        return Err(Problem::not_found(format!("no step {step:?}")));
    }
    let t = load_ticket(state, t).await?;
    let now = state.now();
    let hall = hall_of(state, &t.id.hall, t.id.day)?;
    may_work(who, hall)?;
    let by = Some(who.staff.username.clone());
    if step == "redirect" {
        let a = area(area_to.unwrap_or(""))?;
        let new = state.store.redirect(&state.domain, &t.id, a, now, by, now).await?;
        hub(state).written(&new.id.hall);
        return Ok((new, true));
    }
    let kind = match step {
        "recall" => TicketEventKind::Recalled {
            counter: counter.or(t.counter).ok_or_else(|| Problem::invalid("counter: the counter that recalls"))?,
        },
        "no-show" => TicketEventKind::NoShow,
        "start" => TicketEventKind::Started,
        "finish" => TicketEventKind::Finished,
        "left" => TicketEventKind::Left,
        _ => TicketEventKind::Transferred { area: area_to.map(area).transpose()?, counter },
    };
    let t = state.store.record_ticket(&state.domain, &t.id, TicketEvent::new(now, by, kind), now).await?;
    hub(state).written(&t.id.hall);
    Ok((t, false))
}

// ---------------------------------------------------------------------------------------------
// Citizens

/// Takes a number without login (the QR page or the kiosk): refused past the client's and the
/// hall's limits (429), outside office hours or when today's capacity is reached.
async fn take(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Path(h): Path<String>,
    Body(b): Body<TakeBody>,
) -> Result<Response, Problem> {
    let code = hall_code(&h)?;
    let now = state.now();
    let hall = hall_of(&state, &code, to_local(now).date())?;
    let channel = match b.channel.as_deref().map(str::trim) {
        None | Some("" | "qr") => TicketChannel::Qr,
        Some("kiosk") => TicketChannel::Kiosk,
        Some(other) => return Err(Problem::invalid(format!("channel {other:?}: expected qr or kiosk"))),
    };
    let new =
        NewTicket { hall: code.clone(), area: area(&b.area)?, channel, priority: priority(b.priority.as_deref())? };
    hall.area(new.area, to_local(now).date())?;
    hall.check_open(state.domain.calendar_for(&hall.agency), now)?;
    let ip = crate::shared::client_ip(&state.config.trusted_proxies, &headers, peer);
    let (per_client, per_hall) =
        state.config.hall_issue_limits.unwrap_or((hall.issue_per_client_per_hour, hall.issue_per_hall_per_minute));
    if !hub(&state).allow(&code, ip, per_client, per_hall) {
        return Err(Problem::new(
            ProblemKind::RateLimited,
            "too many numbers taken from this device or in this hall just now; wait a moment or ask at the desk",
        ));
    }
    let t = state.store.issue_ticket(&state.domain, new, now, None, now).await?;
    hub(&state).written(&t.id.hall);
    let waiting = waiting_of(&state, &t).await?;
    let p = hall::position(hall, &t, &waiting);
    let mut v = public_ticket_json(&t);
    v["ahead"] = json!(p.ahead);
    v["estimated_wait_minutes"] = json!(p.estimated_wait_minutes);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

async fn waiting_of(state: &AppState, t: &Ticket) -> Result<Vec<hall::Waiting>, Problem> {
    let tickets = hub(state).day_tickets(state, &t.id.hall, t.id.day).await?;
    Ok(tickets
        .iter()
        .filter(|x| x.status == TicketStatus::Waiting)
        .map(|x| hall::Waiting {
            id: x.id.clone(),
            area: x.area,
            priority: x.priority.is_some(),
            slot_at: x.slot_at,
            waiting_since: x.waiting_since,
            for_counter: x.for_counter,
        })
        .collect())
}

/// A ticket's state for its citizen: status, the counter when called, how many wait ahead and
/// the estimated wait.
/// Read from the hall's shared read of the day (hundreds of phones ask after each call), the
/// register only for a ticket not in it yet.
async fn position(State(state): State<AppState>, Path(t): Path<String>) -> Result<Json<Value>, Problem> {
    let id = parse_ticket(&t)?;
    let day = hub(&state).day_tickets(&state, &id.hall, id.day).await?;
    let t = match day.iter().find(|x| x.id == id) {
        Some(t) => t.clone(),
        None => load_ticket(&state, &t).await?,
    };
    let hall = hall_of(&state, &t.id.hall, t.id.day)?;
    let mut v = public_ticket_json(&t);
    if t.status == TicketStatus::Waiting {
        let p = hall::position(hall, &t, &waiting_of(&state, &t).await?);
        v["ahead"] = json!(p.ahead);
        v["estimated_wait_minutes"] = json!(p.estimated_wait_minutes);
    }
    if t.status == TicketStatus::Called
        && let Some(c) = t.counter
    {
        v["text"] = json!(call_text(&t.number, c));
    }
    Ok(Json(v))
}

#[derive(Debug, Default, Deserialize)]
struct RateBody {
    #[serde(default)]
    rating: String,
    comment: Option<String>,
}

/// The at-counter rating of a finished ticket: once per ticket.
async fn rate(
    State(state): State<AppState>,
    Path(t): Path<String>,
    Body(b): Body<RateBody>,
) -> Result<Json<Value>, Problem> {
    let t = load_ticket(&state, &t).await?;
    let rating = HallRating::parse(&b.rating)
        .ok_or_else(|| Problem::invalid("rating: expected very_satisfied, satisfied, neutral or dissatisfied"))?;
    let comment = motcua_core::text::optional_paragraph(b.comment.as_deref().unwrap_or(""), "comment", 1000)?;
    let now = state.now();
    let t = state
        .store
        .record_ticket(
            &state.domain,
            &t.id,
            TicketEvent::new(now, None, TicketEventKind::Rated { rating, comment: comment.clone() }),
            now,
        )
        .await?;
    rate_dossiers(&state, &t, rating, comment, now).await?;
    Ok(Json(public_ticket_json(&t)))
}

/// The ticket's rating is also the rating of the dossiers received from it (a dossier already
/// rated keeps its rating): it feeds their satisfaction figures.
pub async fn rate_dossiers(
    state: &AppState,
    t: &Ticket,
    rating: HallRating,
    comment: Option<String>,
    at: DateTime<Utc>,
) -> Result<(), Problem> {
    Ok(motcua_store::hall::rate_ticket_dossiers(&state.store, t, rating, comment, at).await?)
}

async fn state_json(State(state): State<AppState>, Path(h): Path<String>) -> Result<Json<Value>, Problem> {
    Ok(Json(hall_state(&state, &hall_code(&h)?).await?))
}

/// The hall's live events: first the full `state`, then each `issued`, `called` and `updated`
/// as it happens; a screen that falls behind gets the full state again.
async fn events(State(state): State<AppState>, Path(h): Path<String>) -> Result<Response, Problem> {
    let code = hall_code(&h)?;
    let rx = hub(&state).subscribe(&code);
    let first = hall_state(&state, &code).await?;
    let stream = futures_util::stream::unfold(
        (Some(first.to_string()), rx, state, code),
        |(pending, mut rx, state, code)| async move {
            if let Some(p) = pending {
                return Some((Ok::<_, Infallible>(SseEvent::default().data(p)), (None, rx, state, code)));
            }
            loop {
                // Wakes every second to end the stream when the server drains (a graceful
                // shutdown waits for open responses).
                match tokio::time::timeout(Duration::from_secs(1), rx.recv()).await {
                    Err(_) if state.draining.load(std::sync::atomic::Ordering::Relaxed) => return None,
                    Err(_) => {}
                    Ok(Ok(msg)) => return Some((Ok(SseEvent::default().data(msg)), (None, rx, state, code))),
                    Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                        if let Ok(s) = hall_state(&state, &code).await {
                            return Some((Ok(SseEvent::default().data(s.to_string())), (None, rx, state, code)));
                        }
                    }
                    Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

#[derive(Debug, Default, Deserialize)]
struct SlotQuery {
    day: Option<String>,
    area: Option<String>,
}

/// A day's booking slots per area, with the places left.
async fn slots(
    State(state): State<AppState>,
    Path(h): Path<String>,
    Query(q): Query<SlotQuery>,
) -> Result<Json<Value>, Problem> {
    let code = hall_code(&h)?;
    let day = day_param(&state, q.day.as_deref())?;
    let hall = hall_of(&state, &code, day)?;
    let only = q.area.as_deref().filter(|a| !a.trim().is_empty()).map(area).transpose()?;
    let starts = hall.slots(state.domain.calendar_for(&hall.agency), day)?;
    let bookings = state.store.day_bookings(&code, day).await?;
    let now = to_local(state.now());
    let mut out = Vec::new();
    for a in hall.areas_on(day).filter(|a| a.booking_per_slot > 0 && only.is_none_or(|o| o == a.letter)) {
        for s in &starts {
            let taken = bookings
                .iter()
                .filter(|b| b.area == a.letter && b.slot == *s && b.status != hall::BookingStatus::Cancelled)
                .count();
            let taken = u32::try_from(taken).unwrap_or(u32::MAX);
            out.push(json!({"area": a.letter.to_string(), "slot": s.format("%Y-%m-%dT%H:%M").to_string(),
                "places": a.booking_per_slot, "left": a.booking_per_slot.saturating_sub(taken), "open": *s > now}));
        }
    }
    Ok(Json(json!({"hall": code, "day": day.to_string(), "slots": out})))
}

#[derive(Debug, Default, Deserialize)]
struct BookBody {
    #[serde(default)]
    area: String,
    /// Local start: 2026-03-10T09:00.
    #[serde(default)]
    slot: String,
    #[serde(default)]
    name: String,
    phone: Option<String>,
    priority: Option<String>,
}

/// A booking code from the system's random source (8 characters without look-alikes).
pub fn new_booking_code() -> String {
    let mut bytes = [0u8; 8];
    rand::Rng::fill(&mut rand::thread_rng(), &mut bytes);
    hall::booking_code_from(&bytes)
}

/// Books a slot without login (rate limited like taking a number): 201 with the code.
async fn book(
    State(state): State<AppState>,
    axum::extract::ConnectInfo(peer): axum::extract::ConnectInfo<std::net::SocketAddr>,
    headers: axum::http::HeaderMap,
    Path(h): Path<String>,
    Body(b): Body<BookBody>,
) -> Result<Response, Problem> {
    let code = hall_code(&h)?;
    let slot = chrono::NaiveDateTime::parse_from_str(b.slot.trim(), "%Y-%m-%dT%H:%M")
        .map_err(|_| Problem::invalid("slot: expected local time like 2026-03-10T09:00"))?;
    let hall = hall_of(&state, &code, slot.date())?;
    let phone = b
        .phone
        .as_deref()
        .filter(|p| !p.trim().is_empty())
        .map(|p| p.trim().parse::<motcua_core::Phone>().map(|p| p.to_string()))
        .transpose()?;
    let req = BookingRequest {
        code: new_booking_code(),
        hall: code.clone(),
        area: area(&b.area)?,
        slot,
        name: motcua_core::text::line(&b.name, "name", 200)?,
        phone,
        priority: priority(b.priority.as_deref())?,
    };
    let ip = crate::shared::client_ip(&state.config.trusted_proxies, &headers, peer);
    let (per_client, per_hall) =
        state.config.hall_issue_limits.unwrap_or((hall.issue_per_client_per_hour, hall.issue_per_hall_per_minute));
    if !hub(&state).allow(&code, ip, per_client, per_hall) {
        return Err(Problem::new(ProblemKind::RateLimited, "too many requests from this device; wait a moment"));
    }
    let now = state.now();
    let booking = state.store.book(&state.domain, req, now, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"code": booking.code, "hall": booking.hall, "area": booking.area.to_string(),
            "slot_at": show(booking.slot_at), "status": booking.status.name(),
            "late_minutes_allowed": hall.booking_late_minutes})),
    )
        .into_response())
}

fn booking_code(s: &str) -> Result<String, Problem> {
    hall::parse_booking_code(s).map_err(|e| Problem::not_found(e.to_string()))
}

async fn cancel(State(state): State<AppState>, Path(c): Path<String>) -> Result<Json<Value>, Problem> {
    let code = booking_code(&c)?;
    let now = state.now();
    let b = state.store.cancel_booking(&state.domain, &code, now, None, now).await?;
    Ok(Json(json!({"code": b.code, "status": b.status.name()})))
}

/// A booked citizen arrives (the kiosk, or the desk): a ticket queued at the slot's time.
async fn check_in(State(state): State<AppState>, Path(c): Path<String>) -> Result<Response, Problem> {
    let code = booking_code(&c)?;
    let now = state.now();
    let t = state.store.check_in(&state.domain, &code, now, None, now).await?;
    hub(&state).written(&t.id.hall);
    Ok((StatusCode::CREATED, Json(public_ticket_json(&t))).into_response())
}

// ---------------------------------------------------------------------------------------------
// Pages: plain HTML and one script (/assets/hall.js), large type, high contrast.

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

const STYLE: &str = "body{margin:0;font-family:system-ui,sans-serif;background:#000;color:#fff}\
h1{font-size:2.2em;margin:.3em .5em}main{padding:0 1em}\
.calls li{font-size:3.2em;font-weight:700;list-style:none;margin:.15em 0}\
.calls li:first-child{color:#ffd400;font-size:4.4em}\
.areas{display:flex;flex-wrap:wrap;gap:1em}.area{border:3px solid #fff;padding:.5em 1em;min-width:12em}\
.area b{font-size:2.4em;color:#ffd400}button.big{display:block;width:100%;font-size:2em;margin:.4em 0;padding:.8em;\
background:#ffd400;color:#000;border:0;border-radius:.3em}.ticket{font-size:5em;font-weight:800;color:#ffd400}\
.paper{background:#fff;color:#000;padding:1em;width:20em}.paper .ticket{color:#000}\
#where{font-size:1.8em;font-weight:700;color:#ffd400}.wait{font-size:2.4em}.message{font-size:2em;color:#ffd400}textarea{width:100%;font-size:1.4em}label{display:block;font-size:1.3em;margin-top:.6em}\
@media print{body{background:#fff;color:#000}button{display:none}}";

fn page(title: &str, body: &str, data: &[(&str, &str)]) -> Response {
    let attrs: String = data.iter().map(|(k, v)| format!(" data-{k}=\"{}\"", esc(v))).collect();
    let html = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <style>{STYLE}</style></head><body{attrs}>{body}<script src=\"/assets/hall.js\" defer></script></body></html>",
        esc(title)
    );
    Html(html).into_response()
}

fn hall_for_page(state: &AppState, h: &str) -> Result<Hall, Problem> {
    let code = hall_code(h)?;
    Ok(hall_of(state, &code, today(state))?.clone())
}

async fn tv_page(State(state): State<AppState>, Path(h): Path<String>) -> Result<Response, Problem> {
    let hall = hall_for_page(&state, &h)?;
    let body = format!(
        "<h1>{}</h1><main><ol class=\"calls\" id=\"calls\"></ol><div class=\"areas\" id=\"areas\"></div>\
         <p id=\"status\" aria-live=\"polite\"></p></main>",
        esc(&hall.name)
    );
    Ok(page(&format!("Bảng gọi số — {}", hall.name), &body, &[("page", "tv"), ("hall", hall.code.as_str())]))
}

fn area_buttons(hall: &Hall, day: NaiveDate) -> String {
    hall.areas_on(day)
        .map(|a| format!("<button class=\"big\" data-area=\"{}\">{} — {}</button>", a.letter, a.letter, esc(&a.name)))
        .collect()
}

async fn phone_page(State(state): State<AppState>, Path(h): Path<String>) -> Result<Response, Problem> {
    let hall = hall_for_page(&state, &h)?;
    let body = format!(
        "<h1>Lấy số thứ tự</h1><main><p>{}</p><div id=\"choose\">{}</div>\
         <div id=\"mine\" hidden><p>Số của bạn</p><p class=\"ticket\" id=\"number\"></p>\
         <p id=\"where\" aria-live=\"assertive\"></p></div><p id=\"status\" aria-live=\"polite\"></p></main>",
        esc(&hall.name),
        area_buttons(&hall, today(&state))
    );
    Ok(page("Lấy số thứ tự", &body, &[("page", "phone"), ("hall", hall.code.as_str())]))
}

async fn kiosk_page(State(state): State<AppState>, Path(h): Path<String>) -> Result<Response, Problem> {
    let hall = hall_for_page(&state, &h)?;
    let body = format!(
        "<h1>{} — Lấy số thứ tự</h1><main><div id=\"choose\">{}</div><p id=\"status\" aria-live=\"polite\"></p></main>",
        esc(&hall.name),
        area_buttons(&hall, today(&state))
    );
    Ok(page("Lấy số thứ tự", &body, &[("page", "kiosk"), ("hall", hall.code.as_str())]))
}

/// The printable ticket (the kiosk prints it; the phone can keep it).
async fn ticket_page(State(state): State<AppState>, Path(t): Path<String>) -> Result<Response, Problem> {
    let t = load_ticket(&state, &t).await?;
    let hall = hall_of(&state, &t.id.hall, t.id.day)?;
    let area = hall.area(t.area, t.id.day).map(|a| a.name.clone()).unwrap_or_default();
    let body = format!(
        "<main class=\"paper\"><p>{}</p><p>Lĩnh vực {} — {}</p><p class=\"ticket\">{}</p>\
         <p>Lấy lúc {}</p><p>Vui lòng chờ gọi số trên màn hình.</p>\
         <button id=\"print\">In phiếu</button>{}</main>",
        esc(&hall.name),
        t.area,
        esc(&area),
        esc(&t.number),
        at_vn(t.issued_at).format("%H:%M %d/%m/%Y"),
        rating_buttons(&t)
    );
    Ok(page(&format!("Số {}", t.number), &body, &[("page", "ticket"), ("ticket", &t.id.to_string())]))
}

/// After the service, the four usual buttons (once per ticket): the counter's tablet or the
/// citizen's phone shows this page.
fn rating_buttons(t: &Ticket) -> String {
    if t.status != TicketStatus::Done {
        return String::new();
    }
    if let Some(r) = t.rating {
        return format!("<p>Đã đánh giá: {}</p>", r.name_vi());
    }
    format!("<section id=\"rate\"><h2>Ông/bà đánh giá thế nào về việc phục vụ?</h2>{}</section>", rating_choice())
}

/// The counter's last finished ticket of today, for its rating tablet (`ticket: null` when
/// it has finished none): what the citizen sees of it, no officer's name.
async fn last_finished(
    State(state): State<AppState>,
    Path((h, counter)): Path<(String, u16)>,
) -> Result<Json<Value>, Problem> {
    let code = hall_code(&h)?;
    let day = today(&state);
    hall_of(&state, &code, day)?.counter(counter, day)?;
    let tickets = state.store.day_tickets(&code, day).await?;
    let last = tickets
        .iter()
        .filter(|t| t.counter == Some(counter) && t.status == TicketStatus::Done)
        .max_by_key(|t| t.finished_at);
    Ok(Json(json!({"hall": code, "counter": counter, "ticket": last.map(public_ticket_json)})))
}

/// The buttons of the four ratings.
fn rating_choice() -> String {
    HallRating::ALL
        .iter()
        .map(|r| format!("<button class=\"big\" data-rating=\"{}\">{}</button>", r.name(), r.name_vi()))
        .collect()
}

/// The tablet at a counter: it follows the counter's last finished ticket by the hall's events
/// (no reload) and offers the four ratings and a comment, once per ticket; then it waits for
/// the next citizen.
async fn tablet_page(
    State(state): State<AppState>,
    Path((h, counter)): Path<(String, u16)>,
) -> Result<Response, Problem> {
    let hall = hall_for_page(&state, &h)?;
    hall.counter(counter, today(&state))?;
    let body = format!(
        "<h1>Đánh giá mức độ hài lòng</h1><main><p>{} — Quầy {counter}</p>\
         <div id=\"tablet-wait\"><p class=\"wait\">Đang chờ công dân tiếp theo…</p></div>\
         <section id=\"tablet-rate\" hidden><p>Số <span class=\"ticket\" id=\"tablet-number\"></span></p>\
         <h2>Ông/bà đánh giá thế nào về việc phục vụ?</h2>{}\
         <label for=\"tablet-comment\">Góp ý thêm (không bắt buộc)</label>\
         <textarea id=\"tablet-comment\" maxlength=\"1000\" rows=\"3\"></textarea></section>\
         <p id=\"tablet-message\" class=\"message\" aria-live=\"assertive\"></p><p id=\"status\" aria-live=\"polite\"></p></main>",
        esc(&hall.name),
        rating_choice()
    );
    let n = counter.to_string();
    Ok(page(
        &format!("Đánh giá — Quầy {counter}"),
        &body,
        &[("page", "tablet"), ("hall", hall.code.as_str()), ("counter", &n)],
    ))
}

/// The QR poster: one code for the hall and one per area, each leading to the phone page.
async fn poster_page(State(state): State<AppState>, Path(h): Path<String>) -> Result<Response, Problem> {
    let hall = hall_for_page(&state, &h)?;
    let base = state.base_url();
    let mut body = format!("<main class=\"paper\"><h1>Quét mã để lấy số thứ tự</h1><p>{}</p>", esc(&hall.name));
    let url = format!("{base}/sanh/{}/lay-so", hall.code);
    body.push_str(&format!("<div>{}</div><p>{}</p>", crate::qr::svg(&url), esc(&url)));
    for a in hall.areas_on(today(&state)) {
        let url = format!("{base}/sanh/{}/lay-so?area={}", hall.code, a.letter);
        body.push_str(&format!("<h2>{} — {}</h2><div>{}</div>", a.letter, esc(&a.name), crate::qr::svg(&url)));
    }
    body.push_str("</main>");
    Ok(page("Mã QR lấy số", &body, &[("page", "poster")]))
}

async fn hall_js() -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], HALL_JS).into_response()
}

/// The script of the hall's pages: no framework. The TV and the phone listen to the hall's
/// events (EventSource reconnects by itself; the server sends the full state first), the TV
/// announces each call with the browser's own speech synthesis (offline, Vietnamese voice).
const HALL_JS: &str = include_str!("hall.js");
