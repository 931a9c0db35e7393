//! The write path and the recompute, written once over two small internal traits that each
//! backend implements with its own SQL ([`WriteTx`], [`ScanTx`]).
//!
//! A batch runs in three steps inside ONE transaction: lock and load every dossier and code
//! counter the items need (one query per kind, not one per item), apply the items in memory
//! with core (an item core rejects changes nothing), then write what the accepted items
//! produced (events, projection rows, aggregate deltas, counters) in a few multi-row
//! statements. Later items of a batch see the state the earlier ones left, from the per-batch
//! cache, so events just appended are never reloaded. The messages an accepted event implies
//! (core's `letters::implied_messages`) are written to the outbox in the same transaction.

use motcua_core::calendar::truncate_to_micros;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;

use chrono::{DateTime, NaiveDate, Utc};
use motcua_core::calendar::to_local;
use motcua_core::{AgencyCode, Domain, DomainError, Dossier, DossierCode, Event, EventKind, Intake};

use crate::error::StoreError;
use crate::model::{
    BatchItem, Cells, CountChange, CountKey, CountValues, DailyCountRow, DossierChange, DossierRow, NewDossier,
    RecomputeDiff, ReplayFailure, add_cells, diff_rows, dossier_cells, open_key,
};
use crate::outbox::{NewMessage, letter_error};
use crate::write::counters::{CounterDeltas, OpenKey};
use crate::write::watch::WatchDeltas;
use motcua_core::scorecard::{ScoreCells, ScoreError};
use motcua_core::watchlist::{Occurrence, Watch, WatchError, WatchFacts};

/// A code counter: receiving agency and local day.
pub(crate) type CounterKey = (AgencyCode, NaiveDate);

/// One event to append.
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub code: DossierCode,
    pub seq: u32,
    pub at: DateTime<Utc>,
    pub kind: &'static str,
    pub by: Option<String>,
    pub payload: String,
    /// When the log is written: the caller's "now".
    pub recorded_at: DateTime<Utc>,
}

/// Everything a batch writes.
#[derive(Debug, Default)]
pub(crate) struct Writes {
    pub events: Vec<EventRow>,
    /// Projection rows of dossiers created by the batch (plain INSERT: a clash is an error).
    pub created: Vec<DossierRow>,
    /// Projection rows of dossiers that existed before the batch.
    pub updated: Vec<DossierRow>,
    /// Deltas to add to `daily_counts`.
    pub counts: Vec<(CountKey, CountValues)>,
    /// New values of code counters (written as the maximum of old and new).
    pub counters: Vec<(CounterKey, u32)>,
    /// Outbox rows the events imply (inserted unless their dedupe key exists; the backend
    /// counts what it inserts).
    pub outbox: Vec<NewMessage>,
    /// What the projection rows and the `daily_counts` deltas change in the counters
    /// ([`crate::write::counters`]), written with the aggregates.
    pub metric: Box<CounterDeltas>,
    /// What the batch changes in the watch list's tables ([`crate::write::watch`]): the
    /// occurrences of a dossier go with its projection row, the daily sums with the aggregates.
    pub watch: Box<WatchDeltas>,
    /// Dossiers of a history batch left past due with no apology ([`Mark`]); [`run_batch`]
    /// writes them with [`WriteTx::mark_imported`], not with the rest.
    pub marks: Vec<Mark>,
}

/// A dossier brought in as history already past due, its clock running and no apology, at
/// the batch's instant (core's `letters::apology_due`): the scheduler leaves it to a person
/// while its due instant is `due_at` (table `imported_overdue`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    pub code: DossierCode,
    pub due_at: DateTime<Utc>,
    pub marked_at: DateTime<Utc>,
}

impl Writes {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
            && self.created.is_empty()
            && self.updated.is_empty()
            && self.counts.is_empty()
            && self.counters.is_empty()
            && self.outbox.is_empty()
            && self.metric.is_empty()
            && self.watch.is_empty()
            && self.marks.is_empty()
    }
}

/// The locked reads and the writes of a batch, in one backend transaction.
pub(crate) trait WriteTx: Send {
    /// Whether a big batch is written in overlapping parts ([`run_batch`]): handing a part
    /// over returns before the database has written it (SQLite: one trip to its thread;
    /// PostgreSQL: a task that owns the transaction meanwhile), so that the database writes one
    /// part while core computes the next.
    const WRITES_IN_PARTS: bool;
    /// A part of a batch written in parts ends once it holds this many events.
    const PART_EVENTS: usize = PART_EVENTS;
    /// Locks these dossiers (sorted, distinct) against concurrent writers and returns the
    /// logs of those that exist, events in order.
    fn load(
        &mut self,
        codes: &[DossierCode],
    ) -> impl Future<Output = Result<HashMap<DossierCode, Vec<Event>>, StoreError>> + Send;
    /// Locks these code counters (sorted, distinct) and returns the last number of those
    /// that exist.
    fn counters(
        &mut self,
        keys: &[CounterKey],
    ) -> impl Future<Output = Result<HashMap<CounterKey, u32>, StoreError>> + Send;
    fn flush(&mut self, writes: &Writes) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Writes made ready to send: statements built and values bound. In a batch written in
    /// parts, the next part is made ready while the database still works on the one before.
    type Ready: Send;
    fn ready(writes: Writes) -> Result<Self::Ready, StoreError>;
    fn send(&mut self, ready: Self::Ready) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records (or moves to the due instant given) the marks of a history batch in table
    /// `imported_overdue`.
    fn mark_imported(&mut self, marks: &[Mark]) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The reads and writes of a recompute, in one backend transaction.
pub(crate) trait ScanTx: Send {
    /// Distinct dossier codes of the log after `after`, in order.
    fn codes_after(
        &mut self,
        after: Option<&DossierCode>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DossierCode>, StoreError>> + Send;
    /// The events of the dossiers with codes in `[first, last]`, by code then seq, each with
    /// the instant it was recorded.
    fn logs_between(
        &mut self,
        first: &DossierCode,
        last: &DossierCode,
    ) -> impl Future<Output = Result<Vec<(DossierCode, Event, DateTime<Utc>)>, StoreError>> + Send;
    /// The stored watch-list occurrences of the dossiers with codes in `[first, last]`.
    fn watched_between(
        &mut self,
        first: &DossierCode,
        last: &DossierCode,
    ) -> impl Future<Output = Result<HashMap<DossierCode, Vec<Occurrence>>, StoreError>> + Send;
    /// The stored daily sums of the watch list.
    fn watch_sums(&mut self) -> impl Future<Output = Result<WatchFacts, StoreError>> + Send;
    /// Every cell of `watch_counts`.
    fn watch_count_cells(
        &mut self,
    ) -> impl Future<Output = Result<BTreeMap<motcua_core::watchlist::CountCell, i64>, StoreError>> + Send;
    /// Replaces occurrences and adds sums ([`crate::write::watch`]); with `clear`, first empties
    /// the daily sums and drops the occurrences of dossiers with no event.
    fn write_watch(&mut self, w: &WatchDeltas, clear: bool) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn rows_between(
        &mut self,
        first: &DossierCode,
        last: &DossierCode,
    ) -> impl Future<Output = Result<Vec<DossierRow>, StoreError>> + Send;
    /// Projection rows with no event in the log.
    fn orphans(&mut self) -> impl Future<Output = Result<Vec<DossierCode>, StoreError>> + Send;
    fn all_counts(&mut self) -> impl Future<Output = Result<Vec<DailyCountRow>, StoreError>> + Send;
    fn upsert_rows(&mut self, rows: &[DossierRow]) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn delete_rows(&mut self, codes: &[DossierCode]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Sets cells to their new values (deleting those that become all zero).
    fn set_counts(&mut self, changes: &[CountChange]) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Sets every counter again from what it counts ([`crate::write::counters::REBUILD`]).
    fn rebuild_counters(&mut self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The intake carried by a first event (desk receipt or portal registration).
fn intake_of(kind: &EventKind) -> Option<&Intake> {
    match kind {
        EventKind::Received { intake } | EventKind::RegisteredOnline { intake } => Some(intake),
        _ => None,
    }
}

/// Agency, local day and number of a dossier code (`<agency>-<yyMMdd>-<NNNN>`).
pub(crate) fn code_parts(code: &DossierCode) -> Option<(AgencyCode, NaiveDate, u32)> {
    let mut parts = code.as_str().split('-');
    let agency = parts.next()?.parse().ok()?;
    let day = NaiveDate::parse_from_str(&format!("20{}", parts.next()?), "%Y%m%d").ok()?;
    let seq = parts.next()?.parse().ok()?;
    Some((agency, day, seq))
}

/// A dossier as the batch knows it.
enum Slot {
    /// Not in the store (nor created by the batch so far).
    Missing,
    Live(Box<Live>),
    /// Its log no longer replays with this domain.
    Broken(DomainError),
    Corrupt(String),
}

/// A dossier that exists (in the store or created by the batch), with what it contributes
/// to the aggregates and where its stored row is counted among the unfinished dossiers.
struct Live {
    d: Dossier,
    cells: Cells,
    open: Option<OpenKey>,
    created: bool,
    /// Follows the log for the watch list.
    watch: Watch,
    /// The occurrences its stored rows hold (as replayed when loaded; none when created).
    watched: Vec<Occurrence>,
    /// Its log, in a history batch (to tell an event already present); empty otherwise.
    log: Vec<Event>,
    /// Its scorecard cells, as `scorecard_counts` holds them.
    score: ScoreCells,
}

/// The in-memory half of a batch.
pub(crate) struct Batch<'a> {
    domain: &'a Domain,
    slots: HashMap<DossierCode, Slot>,
    counters: HashMap<CounterKey, u32>,
    touched: BTreeSet<CounterKey>,
    events: Vec<EventRow>,
    dirty: Vec<DossierCode>,
    counts: BTreeMap<CountKey, CountValues>,
    /// The moves of dossiers between the keys of `metric_open_dossiers`, as rows are written.
    metric: CounterDeltas,
    /// The watch list's daily sums the appended events add.
    watch: WatchDeltas,
    outbox: Vec<NewMessage>,
    /// Dedupe keys of the outbox rows already handed out (in an earlier part of the batch).
    outbox_keys: BTreeSet<String>,
    /// The `recorded_at` of the events of the item being applied.
    recorded_at: DateTime<Utc>,
    /// History (`import`, `simulate`): no message is queued, an event already in the log is
    /// answered [`StoreError::AlreadyPresent`], and dossiers left past due are marked.
    history: bool,
    marks: Vec<Mark>,
}

impl<'a> Batch<'a> {
    pub fn new(domain: &'a Domain, history: bool) -> Self {
        Self {
            domain,
            slots: HashMap::new(),
            counters: HashMap::new(),
            touched: BTreeSet::new(),
            events: Vec::new(),
            dirty: Vec::new(),
            counts: BTreeMap::new(),
            metric: CounterDeltas::default(),
            watch: WatchDeltas::default(),
            outbox: Vec::new(),
            outbox_keys: BTreeSet::new(),
            recorded_at: DateTime::<Utc>::UNIX_EPOCH,
            history,
            marks: Vec::new(),
        }
    }

    /// The dossiers and counters the items need, sorted and distinct (the lock order).
    pub fn needs<'i>(items: impl IntoIterator<Item = &'i BatchItem>) -> (Vec<DossierCode>, Vec<CounterKey>) {
        let mut codes = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for item in items {
            match item {
                BatchItem::Intake { new, at, .. } | BatchItem::IntakeWith { new, at, .. } => {
                    keys.insert((new.agency.clone(), to_local(*at).date()));
                }
                BatchItem::Record { code, event } => {
                    codes.insert(code.clone());
                    if intake_of(&event.kind).is_some()
                        && let Some((agency, day, _)) = code_parts(code)
                    {
                        keys.insert((agency, day));
                    }
                }
            }
        }
        (codes.into_iter().collect(), keys.into_iter().collect())
    }

    /// Takes the loaded logs: replays each with the domain.
    pub fn loaded(&mut self, codes: &[DossierCode], mut logs: HashMap<DossierCode, Vec<Event>>) {
        for code in codes {
            let slot = match logs.remove(code) {
                None => Slot::Missing,
                Some(events) => self.replay(code, events),
            };
            self.slots.insert(code.clone(), slot);
        }
    }

    fn replay(&self, code: &DossierCode, events: Vec<Event>) -> Slot {
        let mut d = Dossier::default();
        let mut watch = Watch::default();
        for e in &events {
            if let Err(e) = self.domain.apply(&mut d, e) {
                return Slot::Broken(e);
            }
            if let Err(e) = watch.observe(self.domain, &d, e, None) {
                return match e {
                    WatchError::Domain(e) => Slot::Broken(e),
                    WatchError::Calendar(e) => Slot::Corrupt(e.to_string()),
                };
            }
        }
        if d.code.as_ref() != Some(code) {
            return Slot::Corrupt(format!(
                "the events stored under {code} carry the code {:?}",
                d.code.as_ref().map(DossierCode::as_str)
            ));
        }
        let state = dossier_cells(self.domain, &d).and_then(|cells| {
            let open = open_key(self.domain, &d)?;
            let watched = watch.occurrences(self.domain, &d).map_err(watch_error)?;
            let score = motcua_core::scorecard::cells(self.domain, &d).map_err(score_error)?;
            Ok((cells, open, watched, score))
        });
        let log = if self.history { events } else { Vec::new() };
        match state {
            Ok((cells, open, watched, score)) => {
                Slot::Live(Box::new(Live { d, cells, open, created: false, watch, watched, log, score }))
            }
            Err(e) => Slot::Corrupt(e.to_string()),
        }
    }

    pub fn set_counters(&mut self, keys: &[CounterKey], mut found: HashMap<CounterKey, u32>) {
        for k in keys {
            let last = found.remove(k).unwrap_or(0);
            self.counters.insert(k.clone(), last);
        }
    }

    /// Applies one item whose events are recorded at `recorded_at`.
    pub fn apply(&mut self, item: BatchItem, recorded_at: DateTime<Utc>) -> Result<Dossier, StoreError> {
        self.recorded_at = truncate_to_micros(recorded_at);
        match item {
            BatchItem::Intake { new, at, by, backdate_reason } => {
                let code = self.intake(new, at, by, backdate_reason)?;
                self.snapshot(&code)
            }
            BatchItem::Record { code, event } => {
                self.record(code.clone(), event)?;
                self.snapshot(&code)
            }
            BatchItem::IntakeWith { new, at, by, then } => {
                let code = self.intake(new, at, by, None)?;
                for event in then {
                    self.record(code.clone(), event)?;
                }
                self.snapshot(&code)
            }
        }
    }

    /// The state of a dossier the batch holds, as the answer to an item (one copy per item,
    /// not per event).
    fn snapshot(&self, code: &DossierCode) -> Result<Dossier, StoreError> {
        match self.slots.get(code) {
            Some(Slot::Live(live)) => Ok(live.d.clone()),
            _ => Err(StoreError::Corrupt(format!("{code} is not held by the batch after its write"))),
        }
    }

    /// A new dossier: its code.
    fn intake(
        &mut self,
        new: NewDossier,
        at: DateTime<Utc>,
        by: Option<String>,
        backdate_reason: Option<String>,
    ) -> Result<DossierCode, StoreError> {
        let at = truncate_to_micros(at);
        let day = to_local(at).date();
        let key = (new.agency.clone(), day);
        let mut seq = self.counters.get(&key).copied().unwrap_or(0) + 1;
        // Skip numbers already taken (by an import earlier in this batch).
        let code = loop {
            let code = DossierCode::new(&new.agency, day, seq)
                .map_err(|_| StoreError::SequenceExhausted { agency: new.agency.clone(), day })?;
            match self.slots.get(&code) {
                None | Some(Slot::Missing) => break code,
                Some(_) => seq += 1,
            }
        };
        let intake = Intake {
            code: code.clone(),
            procedure: new.procedure,
            agency: new.agency,
            applicant: new.applicant,
            channel: new.channel,
            documents: new.documents,
            digitised: new.digitised,
        };
        let kind = if new.online { EventKind::RegisteredOnline { intake } } else { EventKind::Received { intake } };
        self.create(code.clone(), Event { at, by, backdate_reason, kind })?;
        self.counters.insert(key.clone(), seq);
        self.touched.insert(key);
        Ok(code)
    }

    fn record(&mut self, code: DossierCode, mut event: Event) -> Result<(), StoreError> {
        // The log keeps instants to the microsecond (its `at` column and the payload alike), so
        // the state built now is the state a replay of the stored log builds.
        event.at = truncate_to_micros(event.at);
        let intake_code = intake_of(&event.kind).map(|i| i.code.clone());
        match self.slots.remove(&code) {
            None | Some(Slot::Missing) => {
                self.slots.insert(code.clone(), Slot::Missing);
                let Some(intake_code) = intake_code else { return Err(StoreError::NotFound(code)) };
                if intake_code != code {
                    return Err(StoreError::CodeMismatch { given: code, intake: intake_code });
                }
                self.create(code.clone(), event)?;
                // An imported code advances the counter, so that intake never hands it out.
                if let Some((agency, day, seq)) = code_parts(&code) {
                    let key = (agency, day);
                    let last = self.counters.entry(key.clone()).or_insert(0);
                    if seq > *last {
                        *last = seq;
                        self.touched.insert(key);
                    }
                }
                Ok(())
            }
            Some(Slot::Live(live)) if self.history && live.log.contains(&event) => {
                let seq = live.log.iter().position(|e| *e == event).map_or(0, |i| i as u32 + 1);
                self.slots.insert(code.clone(), Slot::Live(live));
                Err(StoreError::AlreadyPresent { code, seq })
            }
            Some(Slot::Live(live)) if intake_code.is_some() => {
                self.slots.insert(code.clone(), Slot::Live(live));
                Err(StoreError::Duplicate(code))
            }
            Some(Slot::Live(mut live)) => {
                // A new payment request takes the catalog's fee when none was typed; history
                // is taken as it was.
                let event = if self.history {
                    event
                } else {
                    match self.domain.complete(&live.d, event.kind.clone()) {
                        Ok(kind) => Event { kind, ..event },
                        Err(e) => {
                            self.slots.insert(code, Slot::Live(live));
                            return Err(StoreError::Rejected(e));
                        }
                    }
                };
                let before = (live.d.received_at, live.d.finished_at);
                // `Domain::apply` leaves the dossier untouched when it refuses the event.
                if let Err(e) = self.domain.apply(&mut live.d, &event) {
                    self.slots.insert(code, Slot::Live(live));
                    return Err(StoreError::Rejected(e));
                }
                match live.watch.observe(self.domain, &live.d, &event, Some(self.recorded_at)) {
                    Ok(facts) => self.watch.add_event(&facts),
                    Err(e) => {
                        let e = watch_error(e);
                        self.slots.insert(code, Slot::Corrupt(e.to_string()));
                        return Err(e);
                    }
                }
                match motcua_core::scorecard::cells(self.domain, &live.d) {
                    Ok(score) => {
                        self.watch.scores_moved(&live.score, &score);
                        live.score = score;
                    }
                    Err(e) => {
                        let e = score_error(e);
                        self.slots.insert(code, Slot::Corrupt(e.to_string()));
                        return Err(e);
                    }
                }
                // The cells move only with the receipt or the finish.
                let cells = if before == (live.d.received_at, live.d.finished_at) {
                    None
                } else {
                    match dossier_cells(self.domain, &live.d) {
                        Ok(cells) => Some(cells),
                        Err(e) => {
                            self.slots.insert(code, Slot::Corrupt(e.to_string()));
                            return Err(e);
                        }
                    }
                };
                // A finish after the due date with no apology before it records the apology it
                // owes, in the same transaction (checked before anything is queued). History is
                // taken as it was: its file carries the apologies its old system recorded.
                let owed = if self.history {
                    Ok(None)
                } else {
                    motcua_core::letters::late_finish_apology(self.domain, &live.d, &event)
                };
                let apology = owed.map_err(|e| letter_error(&code, e)).and_then(|a| match a {
                    Some(a) => {
                        let mut probe = live.d.clone();
                        self.domain.apply(&mut probe, &a).map_err(StoreError::Rejected)?;
                        Ok(Some(a))
                    }
                    None => Ok(None),
                });
                let apology = match apology {
                    Ok(a) => a,
                    Err(e) => {
                        self.slots.insert(code, Slot::Corrupt(e.to_string()));
                        return Err(e);
                    }
                };
                self.push(code.clone(), live, cells, event)?;
                match apology {
                    Some(a) => self.record(code, a),
                    None => Ok(()),
                }
            }
            Some(Slot::Broken(e)) => {
                self.slots.insert(code.clone(), Slot::Broken(e.clone()));
                Err(StoreError::Unreplayable { code, source: e })
            }
            Some(Slot::Corrupt(m)) => {
                self.slots.insert(code, Slot::Corrupt(m.clone()));
                Err(StoreError::Corrupt(m))
            }
        }
    }

    /// A first event: a new dossier.
    fn create(&mut self, code: DossierCode, event: Event) -> Result<(), StoreError> {
        let mut d = Dossier::default();
        self.domain.apply(&mut d, &event)?;
        let cells = dossier_cells(self.domain, &d)?;
        let mut watch = Watch::default();
        let facts = watch.observe(self.domain, &d, &event, Some(self.recorded_at)).map_err(watch_error)?;
        self.watch.add_event(&facts);
        let score = motcua_core::scorecard::cells(self.domain, &d).map_err(score_error)?;
        self.watch.scores_moved(&[], &score);
        let live = Live {
            d,
            cells: Vec::new(),
            open: None,
            created: true,
            watch,
            watched: Vec::new(),
            log: Vec::new(),
            score,
        };
        self.push(code, Box::new(live), Some(cells), event)
    }

    /// Queues the event just applied to `live.d`; `cells` are its new aggregate cells if they
    /// changed.
    fn push(
        &mut self,
        code: DossierCode,
        mut live: Box<Live>,
        cells: Option<Cells>,
        event: Event,
    ) -> Result<(), StoreError> {
        let payload = serde_json::to_string(&event)
            .map_err(|e| StoreError::Corrupt(format!("cannot serialise an event of {code}: {e}")))?;
        let messages = if self.history {
            // History is quiet: what it implied was the old system's to send.
            Ok(Vec::new())
        } else {
            match motcua_core::letters::implied_messages(self.domain, &live.d, &event) {
                Ok(m) => m.iter().map(NewMessage::from_intent).collect::<Result<Vec<_>, _>>(),
                Err(e) => Err(letter_error(&code, e)),
            }
        };
        let messages = match messages {
            Ok(m) => m,
            Err(e) => {
                // Refused like a domain error: put back the state before this event.
                self.slots.insert(code, Slot::Corrupt(e.to_string()));
                return Err(e);
            }
        };
        self.outbox.extend(messages);
        self.events.push(EventRow {
            code: code.clone(),
            seq: live.d.event_count,
            at: truncate_to_micros(event.at),
            kind: event.kind.name(),
            by: event.by.clone(),
            payload,
            recorded_at: self.recorded_at,
        });
        if self.history {
            live.log.push(event);
        }
        if let Some(cells) = cells {
            add_cells(&mut self.counts, &live.cells, -1);
            add_cells(&mut self.counts, &cells, 1);
            live.cells = cells;
        }
        if self.dirty.last() != Some(&code) {
            self.dirty.push(code.clone());
        }
        self.slots.insert(code, Slot::Live(live));
        Ok(())
    }

    /// The projection rows of the dossiers touched since the last call for which `done` holds
    /// (built here, once per dossier and call), as (created, updated). The others stay
    /// queued. A row handed out as created is an update from then on, so a dossier touched
    /// again after all is written twice, never inserted twice.
    fn take_rows(&mut self, mut done: impl FnMut(&DossierCode) -> bool) -> Result<Rows, StoreError> {
        let mut created = Vec::new();
        let mut updated = Vec::new();
        let mut watched = WatchDeltas::default();
        let mut waiting = Vec::new();
        let mut taken = std::collections::HashSet::new();
        for code in std::mem::take(&mut self.dirty) {
            if !done(&code) {
                if waiting.last() != Some(&code) {
                    waiting.push(code);
                }
                continue;
            }
            if !taken.insert(code.clone()) {
                continue;
            }
            if let Some(Slot::Live(live)) = self.slots.get_mut(&code) {
                let row = DossierRow::from_dossier(self.domain, &live.d)?;
                let open = row.open_key();
                self.metric.move_open(live.open.as_ref(), open.as_ref());
                live.open = open;
                let occurrences = live.watch.occurrences(self.domain, &live.d).map_err(watch_error)?;
                if occurrences != live.watched {
                    watched.replaced(code.clone(), &live.watched, occurrences.clone());
                    live.watched = occurrences;
                }
                if self.history
                    && motcua_core::letters::apology_due(&live.d, self.recorded_at)
                    && let Some(due_at) = live.d.due_at
                {
                    self.marks.push(Mark { code: code.clone(), due_at, marked_at: self.recorded_at });
                }
                if std::mem::replace(&mut live.created, false) { created.push(row) } else { updated.push(row) }
            }
        }
        self.dirty = waiting;
        Ok((created, updated, watched))
    }

    /// The outbox rows queued since the last call, each dedupe key once per batch.
    fn take_outbox(&mut self) -> Vec<NewMessage> {
        let keys = &mut self.outbox_keys;
        std::mem::take(&mut self.outbox).into_iter().filter(|m| keys.insert(m.dedupe_key.clone())).collect()
    }

    /// A part of a pipelined batch: the events and outbox rows queued so far and the rows of
    /// the dossiers `done` says no later item touches. Aggregates and counters wait for
    /// [`Batch::into_writes`].
    fn take_part(&mut self, done: impl FnMut(&DossierCode) -> bool) -> Result<Writes, StoreError> {
        let (created, updated, replace) = self.take_rows(done)?;
        Ok(Writes {
            events: std::mem::take(&mut self.events),
            created,
            updated,
            counts: Vec::new(),
            counters: Vec::new(),
            outbox: self.take_outbox(),
            metric: Box::default(),
            watch: Box::new(replace),
            marks: std::mem::take(&mut self.marks),
        })
    }

    /// What is left to write: every queued row, the aggregate deltas and the code counters.
    pub fn into_writes(mut self) -> Result<Writes, StoreError> {
        let (created, updated, replace) = self.take_rows(|_| true)?;
        let outbox = self.take_outbox();
        let counts: Vec<_> = self.counts.into_iter().filter(|(_, v)| !v.is_zero()).collect();
        let mut metric = Box::new(self.metric);
        metric.add_counts(counts.iter().map(|(k, v)| (k, v)));
        let counters = self.touched.into_iter().map(|k| {
            let v = self.counters.get(&k).copied().unwrap_or(0);
            (k, v)
        });
        let mut watch = Box::new(self.watch);
        watch.absorb(replace);
        Ok(Writes {
            events: self.events,
            created,
            updated,
            counts,
            counters: counters.collect(),
            outbox,
            metric,
            watch,
            marks: self.marks,
        })
    }
}

/// Rows a batch hands out: projection rows created and updated, and the dossiers whose
/// watch-list occurrences change (with what that changes in `watch_counts`).
type Rows = (Vec<DossierRow>, Vec<DossierRow>, WatchDeltas);

/// A watch list that cannot follow a log the domain replays: the catalog or the calendar no
/// longer covers it.
fn watch_error(e: WatchError) -> StoreError {
    match e {
        WatchError::Domain(e) => StoreError::Rejected(e),
        WatchError::Calendar(e) => StoreError::Corrupt(format!("the watch list cannot follow the log: {e}")),
    }
}

/// A dossier whose scorecard cells cannot be computed: the catalog or the calendar no longer
/// covers it.
fn score_error(e: ScoreError) -> StoreError {
    match e {
        ScoreError::Domain(e) => StoreError::Rejected(e),
        ScoreError::Calendar(e) => StoreError::Corrupt(format!("the scorecard cannot count the dossier: {e}")),
    }
}

/// What a batch read under its locks: the logs of the dossiers it touches and the code
/// counters it needs.
#[derive(Debug, Default)]
pub(crate) struct Loaded {
    codes: Vec<DossierCode>,
    logs: HashMap<DossierCode, Vec<Event>>,
    keys: Vec<CounterKey>,
    counters: HashMap<CounterKey, u32>,
}

/// Step 1 of a batch, in an open transaction: locks and loads what the items need.
pub(crate) async fn load<'i, T: WriteTx>(
    tx: &mut T,
    items: impl IntoIterator<Item = &'i BatchItem>,
) -> Result<Loaded, StoreError> {
    let (codes, keys) = Batch::needs(items);
    let logs = if codes.is_empty() { HashMap::new() } else { tx.load(&codes).await? };
    let counters = if keys.is_empty() { HashMap::new() } else { tx.counters(&keys).await? };
    Ok(Loaded { codes, logs, keys, counters })
}

/// Step 2, in memory: core applies the items, in order, to what was loaded; each item gets its
/// own result, and the writes are what the accepted ones produced. An error here (a state
/// that cannot be projected) fails the whole batch. Each item comes with the instant its
/// events are recorded at (its caller's "now").
pub(crate) fn compute(
    domain: &Domain,
    items: Vec<(BatchItem, DateTime<Utc>)>,
    loaded: Loaded,
    history: bool,
) -> Result<(Vec<Result<Dossier, StoreError>>, Writes), StoreError> {
    let mut batch = Batch::new(domain, history);
    batch.loaded(&loaded.codes, loaded.logs);
    batch.set_counters(&loaded.keys, loaded.counters);
    let results = items.into_iter().map(|(item, recorded_at)| batch.apply(item, recorded_at)).collect();
    let writes = batch.into_writes()?;
    Ok((results, writes))
}

/// A part of a pipelined batch ends once it holds this many events (about 50 simulated
/// dossiers, or 250 imported events)…
const PART_EVENTS: usize = 250;
/// …or this many items.
const PART_ITEMS: usize = 250;
/// Batches of at most this many items are computed, then written, at once.
const AT_ONCE_ITEMS: usize = 100;

/// Runs a batch in an open transaction (load, compute, then the writes); the caller commits.
///
/// On a backend that [`WriteTx::WRITES_IN_PARTS`], a big batch (`import`, `simulate`) is
/// computed and written in parts of about [`PART_EVENTS`] events, overlapped: while the
/// database writes one part, core computes the next and binds its values
/// ([`WriteTx::ready`]), so that the database's work and core's run side by side instead of
/// one after the other. A dossier's projection row goes with the part after which no later
/// item names it; aggregates and code counters go with the last part. It is one transaction
/// all the same: a failure anywhere writes nothing.
///
/// A `history` batch (`Store::record_history`) queues no message, answers an event already in
/// the log with [`StoreError::AlreadyPresent`], and marks the dossiers it leaves past due
/// with no apology ([`Mark`]).
pub(crate) async fn run_batch<T: WriteTx>(
    tx: &mut T,
    domain: &Domain,
    items: Vec<BatchItem>,
    recorded_at: DateTime<Utc>,
    history: bool,
) -> Result<Vec<Result<Dossier, StoreError>>, StoreError> {
    let loaded = load(tx, &items).await?;
    if !T::WRITES_IN_PARTS || items.len() <= AT_ONCE_ITEMS {
        let items = items.into_iter().map(|i| (i, recorded_at)).collect();
        let (results, mut writes) = compute(domain, items, loaded, history)?;
        let marks = std::mem::take(&mut writes.marks);
        if !writes.is_empty() {
            tx.flush(&writes).await?;
        }
        if !marks.is_empty() {
            tx.mark_imported(&marks).await?;
        }
        return Ok(results);
    }
    // The last item naming each existing (or imported) code.
    let mut last_item: HashMap<DossierCode, usize> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        if let BatchItem::Record { code, .. } = item {
            last_item.insert(code.clone(), i);
        }
    }
    let mut batch = Batch::new(domain, history);
    batch.loaded(&loaded.codes, loaded.logs);
    batch.set_counters(&loaded.keys, loaded.counters);
    let mut parts = Parts {
        batch,
        total: items.len(),
        results: Vec::with_capacity(items.len()),
        items: items.into_iter(),
        last_item,
        recorded_at,
        marks: Vec::new(),
    };
    let mut next = parts.next::<T>()?;
    let mut last = loop {
        match next {
            Part::Last(part) => break part,
            Part::Ready(ready) => {
                let mut sending = std::pin::pin!(tx.send(ready));
                // One poll hands the statements to the database; core computes the next part
                // and binds its values while it runs them.
                let sent = std::future::poll_fn(|cx| std::task::Poll::Ready(sending.as_mut().poll(cx))).await;
                let computed = parts.next::<T>();
                match sent {
                    std::task::Poll::Ready(r) => r?,
                    std::task::Poll::Pending => sending.await?,
                }
                next = computed?;
            }
        }
    };
    let mut rest = parts.batch.into_writes()?;
    let mut marks = std::mem::take(&mut parts.marks);
    marks.append(&mut last.marks);
    marks.append(&mut rest.marks);
    last.events.extend(rest.events);
    last.created.extend(rest.created);
    last.updated.extend(rest.updated);
    last.outbox.extend(rest.outbox);
    let WatchDeltas { replace, handoffs, backdated, counts, scores } = *rest.watch;
    last.watch.replace.extend(replace);
    // The last rows in the shape of the other parts, then the aggregates on their own.
    if !last.is_empty() {
        tx.send(T::ready(last)?).await?;
    }
    let sums = Box::new(WatchDeltas { replace: Vec::new(), handoffs, backdated, counts, scores });
    let aggregates =
        Writes { counts: rest.counts, counters: rest.counters, metric: rest.metric, watch: sums, ..Writes::default() };
    if !aggregates.is_empty() {
        tx.flush(&aggregates).await?;
    }
    if !marks.is_empty() {
        tx.mark_imported(&marks).await?;
    }
    Ok(parts.results)
}

/// A batch being computed part by part.
struct Parts<'a, I> {
    batch: Batch<'a>,
    total: usize,
    results: Vec<Result<Dossier, StoreError>>,
    items: I,
    /// The index of the last item naming each existing (or imported) code.
    last_item: HashMap<DossierCode, usize>,
    /// When the whole batch is recorded.
    recorded_at: DateTime<Utc>,
    /// The marks of the parts sent so far, written after the last.
    marks: Vec<Mark>,
}

/// The next part of a batch written in parts.
enum Part<R> {
    /// Made ready to send; more items follow.
    Ready(R),
    /// The last part: it takes the aggregates and code counters with it.
    Last(Writes),
}

impl<I: Iterator<Item = BatchItem>> Parts<'_, I> {
    /// Computes parts until one has writes (made ready to send) or the items run out.
    fn next<T: WriteTx>(&mut self) -> Result<Part<T::Ready>, StoreError> {
        loop {
            let mut part = self.part(T::PART_EVENTS)?;
            self.marks.append(&mut part.marks);
            if self.results.len() == self.total {
                return Ok(Part::Last(part));
            }
            if !part.is_empty() {
                return Ok(Part::Ready(T::ready(part)?));
            }
        }
    }

    /// Applies the next items, up to `events` events (the backend's [`WriteTx::PART_EVENTS`])
    /// or as many items (at least [`PART_ITEMS`]), and takes what they wrote.
    fn part(&mut self, events: usize) -> Result<Writes, StoreError> {
        for item in self.items.by_ref().take(events.max(PART_ITEMS)) {
            self.results.push(self.batch.apply(item, self.recorded_at));
            if self.batch.events.len() >= events {
                break;
            }
        }
        let applied = self.results.len();
        let last_item = &self.last_item;
        self.batch.take_part(|code| last_item.get(code).is_none_or(|&i| i < applied))
    }
}

/// Cells that differ between two versions of a table of sums.
fn cells_changed<K: Ord, V: PartialEq>(new: &BTreeMap<K, V>, old: &BTreeMap<K, V>) -> usize {
    new.iter().filter(|(k, v)| old.get(*k) != Some(*v)).count() + old.keys().filter(|k| !new.contains_key(*k)).count()
}

/// Dossiers per page of a recompute.
const RECOMPUTE_PAGE: u32 = 500;

/// Rebuilds projections and aggregates from the log in an open transaction; the caller
/// commits (or, for a dry run, rolls back).
pub(crate) async fn run_recompute<T: ScanTx>(
    tx: &mut T,
    domain: &Domain,
    dry_run: bool,
) -> Result<RecomputeDiff, StoreError> {
    let mut diff = RecomputeDiff { dry_run, ..RecomputeDiff::default() };
    let mut totals: BTreeMap<CountKey, CountValues> = BTreeMap::new();
    let mut sums = WatchFacts::default();
    let mut replace = WatchDeltas::default();
    // The singles of every replayed dossier: `watch_counts` as a replay gives it.
    let mut singles: BTreeMap<motcua_core::watchlist::CountCell, i64> = BTreeMap::new();
    // The scorecard's sums as a replay gives them.
    let mut scores = WatchDeltas::default();
    let mut after: Option<DossierCode> = None;
    loop {
        let codes = tx.codes_after(after.as_ref(), RECOMPUTE_PAGE).await?;
        let (Some(first), Some(last)) = (codes.first(), codes.last()) else { break };
        let logs = tx.logs_between(first, last).await?;
        let mut stored: HashMap<DossierCode, DossierRow> =
            tx.rows_between(first, last).await?.into_iter().map(|r| (r.code.clone(), r)).collect();
        let mut watched = tx.watched_between(first, last).await?;
        let mut to_write = Vec::new();
        let mut rest = logs.as_slice();
        while let Some((code, _, _)) = rest.first() {
            let n = rest.iter().take_while(|(c, _, _)| c == code).count();
            let (group, tail) = rest.split_at(n);
            rest = tail;
            diff.dossiers += 1;
            let old = stored.remove(code);
            let log: Vec<(Event, DateTime<Utc>)> = group.iter().map(|(_, e, r)| (e.clone(), *r)).collect();
            let replayed = motcua_core::watchlist::follow(domain, &log).map_err(|e| e.to_string()).and_then(
                |(d, occurrences, facts)| {
                    if d.code.as_ref() == Some(code) {
                        let row = DossierRow::from_dossier(domain, &d).map_err(|e| e.to_string())?;
                        let score = motcua_core::scorecard::cells(domain, &d).map_err(|e| e.to_string())?;
                        Ok((row, occurrences, facts, score))
                    } else {
                        Err(format!("the events stored under {code} carry another code"))
                    }
                },
            );
            match replayed {
                Ok((new, occurrences, facts, score)) => {
                    scores.scores_moved(&[], &score);
                    let fields = diff_rows(old.as_ref(), &new);
                    add_cells(&mut totals, &new.cells(), 1);
                    if !fields.is_empty() {
                        diff.changed.push(DossierChange { code: code.clone(), created: old.is_none(), fields });
                        to_write.push(new);
                    }
                    for f in &facts {
                        sums.add_event(f);
                    }
                    motcua_core::watchlist::add_singles(&mut singles, &occurrences, 1);
                    let old = watched.remove(code).unwrap_or_default();
                    if old != occurrences {
                        diff.watch_changed.push(code.clone());
                        replace.replaced(code.clone(), &old, occurrences);
                    }
                }
                Err(error) => {
                    // Left as it is: keep counting what its stored row says.
                    if let Some(old) = &old {
                        add_cells(&mut totals, &old.cells(), 1);
                    }
                    diff.unreplayable.push(ReplayFailure { code: code.clone(), error });
                }
            }
        }
        if !dry_run && !to_write.is_empty() {
            tx.upsert_rows(&to_write).await?;
        }
        if !dry_run && !replace.is_empty() {
            tx.write_watch(&std::mem::take(&mut replace), false).await?;
        }
        after = Some(last.clone());
    }
    // The daily sums mix dossiers: with a log that no longer replays they are left as they
    // are (its part of them cannot be told apart), as its projection row is.
    if diff.unreplayable.is_empty() {
        let stored_sums = tx.watch_sums().await?;
        singles.retain(|_, n| *n != 0);
        let mut stored_singles = tx.watch_count_cells().await?;
        stored_singles.retain(|_, n| *n != 0);
        diff.watch_cells = (cells_changed(&sums.handoffs, &stored_sums.handoffs)
            + cells_changed(&sums.backdated, &stored_sums.backdated)
            + cells_changed(&singles, &stored_singles)) as u64;
    }
    if !dry_run && diff.unreplayable.is_empty() {
        let w = WatchDeltas {
            replace: Vec::new(),
            handoffs: sums.handoffs,
            backdated: sums.backdated,
            counts: singles,
            scores: scores.scores,
        };
        tx.write_watch(&w, true).await?;
    }
    diff.orphans = tx.orphans().await?;
    let mut stored_counts: BTreeMap<CountKey, CountValues> =
        tx.all_counts().await?.into_iter().map(|r| (r.key, r.counts)).collect();
    for (key, new) in &totals {
        let old = stored_counts.remove(key).unwrap_or_default();
        if old != *new {
            diff.counts.push(CountChange { key: key.clone(), old, new: *new });
        }
    }
    for (key, old) in stored_counts {
        if !old.is_zero() {
            diff.counts.push(CountChange { key, old, new: CountValues::default() });
        }
    }
    diff.counts.sort_by(|a, b| a.key.cmp(&b.key));
    if !dry_run {
        if !diff.orphans.is_empty() {
            tx.delete_rows(&diff.orphans).await?;
        }
        if !diff.counts.is_empty() {
            tx.set_counts(&diff.counts).await?;
        }
        tx.rebuild_counters().await?;
    }
    Ok(diff)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn code_parts_read_agency_day_and_number() {
        let code: DossierCode = "000.00.06.H56-231027-0361".parse().unwrap();
        let (agency, day, seq) = code_parts(&code).unwrap();
        assert_eq!(agency.as_str(), "000.00.06.H56");
        assert_eq!(day, NaiveDate::from_ymd_opt(2023, 10, 27).unwrap());
        assert_eq!(seq, 361);
    }
}
