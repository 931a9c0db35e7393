//! The scheduler: at an instant, the dossiers entering their last working day get a reminder,
//! and those past due with no apology get the automatic one. Candidates come from the store's
//! due-instant index, page by page; each is replayed and judged by core, so a stale candidate
//! (resolved, rescheduled or moved meanwhile) is simply skipped.
//!
//! Reminders: a worker remembers how far its last pass reached (the horizon, "now + one working
//! day"). The next tick reads only the dossiers whose due instant entered the window since,
//! with an overlap; a new due date cannot land below the last horizon unless an event is keyed
//! in with an earlier `--at`, and a full pass over the whole last working day (the first tick of
//! a process, then every hour, or when "now" goes back) catches those. Either way the dedupe
//! keys make a repeated reminder impossible.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};
use motcua_core::letters::{automatic_apology, reminder_horizon, reminder_messages};
use motcua_core::petition_letters::{at_risk_horizon, reminder_messages as item_reminders};
use motcua_core::{AgencyCode, DomainError, Dossier, DossierCode, DossierError, EventKind};
use motcua_store::outbox::{Candidate, Cursor};
use motcua_store::{BatchItem, NewMessage, OutboxStore, PetitionStore, Store, StoreError};
use tokio::task::JoinSet;

use crate::error::WorkerError;
use crate::pass::{ReminderMark, TickStats};
use crate::retry::transient_retry;
use crate::worker::Worker;

/// Logs read at once while judging a page of candidates.
const READS_IN_FLIGHT: usize = 8;

/// How far back an incremental reminder pass looks below the last horizon.
const OVERLAP_MINUTES: i64 = 10;
/// How often the reminder pass covers the whole last working day again.
const FULL_PASS_MINUTES: i64 = 60;

impl<S> Worker<S>
where
    S: Store + OutboxStore + PetitionStore + Clone + Send + Sync + 'static,
{
    /// The current state of each candidate, in order, its log read with a few queries in
    /// flight at once; `None` (counted as failed) for a log that does not replay.
    async fn current(&self, page: &[Candidate], stats: &mut TickStats) -> Result<Vec<Option<Dossier>>, WorkerError> {
        let mut logs: Vec<Option<Vec<motcua_core::Event>>> = vec![None; page.len()];
        let mut set = JoinSet::new();
        let mut next = page.iter().enumerate();
        loop {
            while set.len() < READS_IN_FLIGHT {
                let Some((i, c)) = next.next() else { break };
                let (store, code) = (self.store.clone(), c.code.clone());
                set.spawn(async move { (i, store.events(&code).await) });
            }
            match set.join_next().await {
                Some(Ok((i, events))) => logs[i] = Some(events?),
                Some(Err(e)) => return Err(WorkerError::Task(e)),
                None => break,
            }
        }
        let mut out = Vec::with_capacity(page.len());
        for (c, events) in page.iter().zip(logs) {
            match self.domain.replay(events.iter().flatten()) {
                Ok(d) => out.push(Some(d)),
                Err(e) => {
                    tracing::warn!(dossier = %c.code, error = %e, "the dossier's log does not replay");
                    stats.failed += 1;
                    out.push(None);
                }
            }
        }
        Ok(out)
    }

    /// One scheduler pass at `now`. Running it again at the same instant (or from a second
    /// worker) adds nothing: reminders have unique dedupe keys, and core refuses a second
    /// automatic apology.
    pub async fn tick(&self, now: DateTime<Utc>) -> Result<TickStats, WorkerError> {
        let started = Instant::now();
        let mut stats = TickStats::default();
        self.reminders(now, &mut stats).await?;
        self.apologies(now, &mut stats).await?;
        self.petition_notices(now, &mut stats).await?;
        let d = self.gather_digests(now).await?;
        stats.digests += d.digests;
        stats.digested += d.notices;
        stats.notices_dropped += d.dropped;
        stats.failed += d.dead;
        self.metric(|m| m.scheduler_tick(started.elapsed(), now));
        Ok(stats)
    }

    async fn reminders(&self, now: DateTime<Utc>, stats: &mut TickStats) -> Result<(), WorkerError> {
        let horizon = reminder_horizon(&self.domain, now)?;
        let mark = match self.reminder_mark.lock() {
            Ok(g) => *g,
            Err(p) => *p.into_inner(),
        };
        let incremental = mark.filter(|m| {
            now >= m.at && now - m.full < chrono::Duration::minutes(FULL_PASS_MINUTES) && m.horizon <= horizon
        });
        let after = match incremental {
            Some(m) => now.max(m.horizon - chrono::Duration::minutes(OVERLAP_MINUTES)),
            None => now,
        };
        let mut cursor: Cursor = None;
        loop {
            let page = self.store.reminder_candidates(after, horizon, cursor.clone(), self.config.scan_page).await?;
            let Some(last) = page.last() else { break };
            cursor = Some((last.due_at, last.code.clone()));
            let mut rows = Vec::new();
            let mut holders: HashMap<String, AgencyCode> = HashMap::new();
            for (c, d) in page.iter().zip(self.current(&page, stats).await?) {
                let Some(d) = d else { continue };
                let intents = match reminder_messages(&self.domain, &d, now) {
                    Ok(i) => i,
                    Err(e) => {
                        tracing::warn!(dossier = %c.code, error = %e, "no reminder");
                        stats.failed += 1;
                        continue;
                    }
                };
                for i in &intents {
                    rows.push(NewMessage::from_intent(i)?);
                    if let Some(h) = &d.holder {
                        holders.insert(i.dedupe_key(), h.clone());
                    }
                }
            }
            let inserted = transient_retry(|| self.store.enqueue(rows.clone())).await?;
            stats.reminders += inserted.len();
            for key in &inserted {
                if let Some(agency) = holders.get(key) {
                    self.metric(|m| m.reminder_queued(agency));
                }
            }
            if page.len() < self.config.scan_page as usize {
                break;
            }
        }
        let full = incremental.map_or(now, |m| m.full);
        if let Ok(mut g) = self.reminder_mark.lock() {
            *g = Some(ReminderMark { at: now, horizon, full });
        }
        Ok(())
    }

    /// Petitions, complaints and denunciations whose next step is due within the at-risk
    /// window: each is replayed through core, which decides the warning or the reminder owed to
    /// the responsible agency; the dedupe keys (step and due instant) make a rerun add nothing.
    async fn petition_notices(&self, now: DateTime<Utc>, stats: &mut TickStats) -> Result<(), WorkerError> {
        let horizon = at_risk_horizon(&self.domain, now)?;
        let mut cursor = None;
        loop {
            let page = self.store.item_reminder_candidates(now, horizon, cursor.clone(), self.config.scan_page).await?;
            let Some(last) = page.last() else { break };
            cursor = Some((last.1, last.0.clone()));
            let mut rows = Vec::new();
            for (code, _) in &page {
                let events = self.store.item_events(code).await?;
                let intents = motcua_core::petition::replay(&self.domain, &events)
                    .map_err(|e| e.to_string())
                    .and_then(|item| item_reminders(&self.domain, &item, now).map_err(|e| e.to_string()));
                match intents {
                    Ok(intents) => rows.extend(motcua_store::petitions::message_rows(&intents)?),
                    Err(e) => {
                        tracing::warn!(petition = %code, error = %e, "no petition notice");
                        stats.failed += 1;
                    }
                }
            }
            let inserted = transient_retry(|| self.store.enqueue(rows.clone())).await?;
            stats.petition_notices += inserted.len();
            if page.len() < self.config.scan_page as usize {
                break;
            }
        }
        Ok(())
    }

    async fn apologies(&self, now: DateTime<Utc>, stats: &mut TickStats) -> Result<(), WorkerError> {
        let mut cursor: Cursor = None;
        loop {
            let page = self.store.overdue_candidates(now, cursor.clone(), self.config.scan_page).await?;
            let Some(last) = page.last() else { break };
            cursor = Some((last.due_at, last.code.clone()));
            let mut items = Vec::new();
            let mut responsible = Vec::new();
            for (c, d) in page.iter().zip(self.current(&page, stats).await?) {
                let Some(d) = d else { continue };
                match automatic_apology(&self.domain, &d, now) {
                    Ok(Some(event)) => {
                        if let EventKind::Rescheduled { responsible: Some(a), .. } = &event.kind {
                            responsible.push(Some(a.clone()));
                        } else {
                            responsible.push(None);
                        }
                        items.push(BatchItem::Record { code: c.code.clone(), event });
                    }
                    Ok(None) => stats.already_done += 1,
                    Err(e) => {
                        tracing::warn!(dossier = %c.code, error = %e, "no automatic apology");
                        stats.failed += 1;
                    }
                }
            }
            if !items.is_empty() {
                let codes: Vec<DossierCode> = items
                    .iter()
                    .filter_map(|i| match i {
                        BatchItem::Record { code, .. } => Some(code.clone()),
                        _ => None,
                    })
                    .collect();
                let results = transient_retry(|| self.store.record_batch(&self.domain, items.clone(), now)).await?;
                for ((code, result), agency) in codes.iter().zip(results).zip(responsible) {
                    match result {
                        Ok(_) => {
                            stats.apologies += 1;
                            stats.escalations += 1;
                            if let Some(a) = &agency {
                                self.metric(|m| m.escalation_queued(a));
                            }
                        }
                        Err(StoreError::Rejected(DomainError::Dossier(
                            DossierError::SecondReschedule | DossierError::IllegalTransition { .. },
                        ))) => stats.already_done += 1,
                        Err(e) => {
                            tracing::warn!(dossier = %code, error = %e, "the automatic apology was not recorded");
                            stats.failed += 1;
                        }
                    }
                }
            }
            if page.len() < self.config.scan_page as usize {
                break;
            }
        }
        Ok(())
    }
}
