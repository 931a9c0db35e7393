//! Measuring handoff delays and dwell times into the database's working-time histograms.
//!
//! The write path queues every event that can complete a handoff (`accepted`) or an agency's dwell
//! (`transferred`, `resolved`, `withdrawn`, `stopped`). Measuring replays the dossier of each
//! queued event (its own log, read by code — never a scan of the log) and asks core's analysis
//! what the event completed, in working time on the dossier's calendar. Queue rows are removed
//! and histogram cells added in one transaction, so two exporters never count an event twice.

use std::collections::BTreeMap;

use motcua_core::analysis::analyse;
use motcua_core::{Domain, Dossier, DossierCode, Event};
use motcua_store::Store;
use motcua_store::metrics::{QueuedEvent, ServiceFigures, WorkingTimeObservation};

use crate::ExporterError;
use crate::service::{DWELL_BOUNDS, HANDOFF_BOUNDS, bucket_of};

/// What one measuring pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measured {
    /// Queue rows removed by this pass.
    pub events: u64,
    /// Observations added to the histograms.
    pub observations: u64,
    /// Queue rows whose dossier could not be replayed (removed, not measured).
    pub unmeasured: u64,
    /// The writer was busy (SQLite) and `wait` was false: nothing was written.
    pub skipped: bool,
}

fn handoff_done(d: &Dossier, i: usize) -> bool {
    d.handoffs.get(i).is_some_and(|h| h.accepted_at.is_some())
}

fn dwell_done(d: &Dossier, i: usize) -> bool {
    d.holdings.get(i).is_some_and(|h| h.until.is_some()) || (d.finished_at.is_some() && i + 1 == d.holdings.len())
}

/// The observations completed by the events at `seqs` of one dossier's log.
fn measure_dossier(
    domain: &Domain,
    events: &[Event],
    queued: &[&QueuedEvent],
    out: &mut Vec<WorkingTimeObservation>,
) -> Result<(), String> {
    let mut d = Dossier::default();
    let mut next = queued.iter().peekable();
    for (i, e) in events.iter().enumerate() {
        let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let Some(q) = next.next_if(|q| q.seq == seq) else {
            domain.apply(&mut d, e).map_err(|x| x.to_string())?;
            continue;
        };
        let before = d.clone();
        domain.apply(&mut d, e).map_err(|x| x.to_string())?;
        let (Some(_), Some(receiving)) = (&d.procedure, &d.receiving_agency) else { continue };
        let procedure = domain.procedure_of(&d).map_err(|x| x.to_string())?;
        let cal = domain.calendar_for(receiving);
        let a = analyse(&d, procedure, cal, e.at, domain.classify).map_err(|x| x.to_string())?;
        for (j, h) in a.handoffs.iter().enumerate() {
            if handoff_done(&d, j) && !handoff_done(&before, j) {
                let seconds = h.delay_minutes * 60;
                out.push(WorkingTimeObservation {
                    queue_id: q.id,
                    metric: "handoff_delay",
                    agency: h.to.to_string(),
                    le_seconds: bucket_of(&HANDOFF_BOUNDS, seconds),
                    seconds,
                });
            }
        }
        for (j, w) in a.dwell.iter().enumerate() {
            if dwell_done(&d, j) && !dwell_done(&before, j) {
                let seconds = w.working_minutes * 60;
                out.push(WorkingTimeObservation {
                    queue_id: q.id,
                    metric: "dwell",
                    agency: w.agency.to_string(),
                    le_seconds: bucket_of(&DWELL_BOUNDS, seconds),
                    seconds,
                });
            }
        }
        // Queue rows for the same seq (should not happen) share the first one's observations.
        while next.next_if(|q| q.seq == seq).is_some() {}
    }
    Ok(())
}

/// Measures up to `limit` queued events. With `wait = false` on SQLite, a busy writer makes the
/// pass give up (nothing written) rather than hold up a scrape.
pub async fn measure<S: Store + ServiceFigures>(
    store: &S,
    domain: &Domain,
    limit: u32,
    wait: bool,
) -> Result<Measured, ExporterError> {
    let queue = store.handoff_queue(limit).await?;
    if queue.is_empty() {
        return Ok(Measured::default());
    }
    let mut by_dossier: BTreeMap<&DossierCode, Vec<&QueuedEvent>> = BTreeMap::new();
    for q in &queue {
        by_dossier.entry(&q.code).or_default().push(q);
    }
    let mut observations = Vec::new();
    let mut unmeasured = 0;
    for (code, mut queued) in by_dossier {
        queued.sort_by_key(|q| (q.seq, q.id));
        let events = store.events(code).await?;
        let mut mine = Vec::new();
        if measure_dossier(domain, &events, &queued, &mut mine).is_ok() {
            observations.extend(mine);
        } else {
            unmeasured += queued.len() as u64;
        }
    }
    let ids: Vec<i64> = queue.iter().map(|q| q.id).collect();
    match store.record_working_time(&ids, &observations, wait).await? {
        None => Ok(Measured { skipped: true, ..Measured::default() }),
        Some(events) => Ok(Measured { events, observations: observations.len() as u64, unmeasured, skipped: false }),
    }
}
