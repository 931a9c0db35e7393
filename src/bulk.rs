//! Long-running commands: `simulate`, `recompute` (and the progress bar they share).

use std::io::IsTerminal;

use anyhow::{Result, bail};
use chrono::NaiveDate;
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use motcua_core::analysis::{OpenState, open_state};
use motcua_core::{Domain, Dossier, DossierCode, Event};
use motcua_sim::{SimConfig, plan};
use motcua_store::{BatchItem, NewDossier, NewItem, NewMessage, OutboxStore, PetitionStore, Store};
use serde_json::json;

/// A progress bar on a terminal; nothing in CI or when output is piped.
pub fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Dossiers per group commit: about 12 thousand events per transaction. Each commit also
/// rewrites the index pages its rows touch, so fewer, larger commits write less per event.
pub const CHUNK: usize = 2000;

#[derive(Debug, Default, serde::Serialize)]
pub struct SimSummary {
    pub dossiers: u64,
    pub events: u64,
    pub rejected: u64,
    pub open_at_end: u64,
    /// Outbox messages queued (`--notify`).
    pub notified: u64,
    /// Complaints planted about late dossiers ([`plant_complaint`]).
    pub complaints: u64,
    /// Citizens' ratings of returned dossiers ([`plant_rating`]), and how many of them were
    /// "dissatisfied" (1 or 2 stars).
    pub ratings: u64,
    pub dissatisfied: u64,
    /// Hall days simulated ([`HallFill`]), their tickets and the dossiers linked to them.
    pub hall_days: u64,
    pub hall_tickets: u64,
    pub hall_linked: u64,
}

/// Fills the halls of `config/catalog/halls.toml` day by day as `simulate` writes the
/// dossiers: each hall day is planned by `motcua_sim::hall` (with the in-person dossiers its
/// agency received that day, to link them to their tickets) and recorded through the store's
/// hall script in one transaction. A hall day that already has tickets or bookings is left as
/// it is (the script's numbers and calls assume an empty day).
#[derive(Debug)]
pub struct HallFill {
    seed: u64,
    next: NaiveDate,
    agencies: std::collections::BTreeSet<motcua_core::AgencyCode>,
    dossiers: std::collections::BTreeMap<NaiveDate, Vec<(motcua_core::AgencyCode, motcua_sim::hall::HallDossier)>>,
}

impl HallFill {
    pub fn new(domain: &Domain, seed: u64, from: NaiveDate) -> Self {
        let agencies = domain.halls.halls().map(|h| h.agency.clone()).collect();
        Self { seed, next: from, agencies, dossiers: std::collections::BTreeMap::new() }
    }

    /// Keeps an in-person dossier received at a hall's agency, for its day's links.
    pub fn note(&mut self, d: &Dossier) {
        let (Some(code), Some(agency), Some(at), Some(procedure)) =
            (d.code.clone(), d.receiving_agency.clone(), d.received_at, d.procedure.clone())
        else {
            return;
        };
        if d.channel != motcua_core::Channel::InPerson || !self.agencies.contains(&agency) {
            return;
        }
        let day = motcua_core::calendar::to_local(at).date();
        self.dossiers
            .entry(day)
            .or_default()
            .push((agency, motcua_sim::hall::HallDossier { code, procedure, received_at: at }));
    }

    /// Simulates the hall days before `until` not done yet; nothing after `now` is recorded.
    pub async fn fill_before<S: motcua_store::HallStore>(
        &mut self,
        store: &S,
        domain: &Domain,
        until: NaiveDate,
        now: DateTime<Utc>,
        summary: &mut SimSummary,
    ) -> Result<()> {
        while self.next < until {
            let day = self.next;
            let dossiers = self.dossiers.remove(&day).unwrap_or_default();
            for hall in domain.halls.halls_on(day) {
                let mine: Vec<motcua_sim::hall::HallDossier> =
                    dossiers.iter().filter(|(a, _)| *a == hall.agency).map(|(_, d)| d.clone()).collect();
                let plan =
                    motcua_sim::hall::plan_hall_day(hall, domain.calendar_for(&hall.agency), day, self.seed, &mine)?;
                record_hall_day(store, domain, hall, &plan, now, summary).await?;
            }
            self.next = day.succ_opt().unwrap_or(day);
            if self.next == day {
                break;
            }
        }
        Ok(())
    }
}

/// Records a planned hall day up to `horizon` through the store's hall script, unless the day
/// already has tickets or bookings.
pub async fn record_hall_day<S: motcua_store::HallStore>(
    store: &S,
    domain: &Domain,
    hall: &motcua_core::hall::Hall,
    plan: &motcua_sim::hall::HallDay,
    horizon: DateTime<Utc>,
    summary: &mut SimSummary,
) -> Result<()> {
    let script = plan.until(horizon);
    if script.is_empty() {
        return Ok(());
    }
    if !store.day_tickets(&hall.code, plan.day).await?.is_empty()
        || !store.day_bookings(&hall.code, plan.day).await?.is_empty()
    {
        return Ok(());
    }
    let tickets = script
        .iter()
        .filter(|c| {
            matches!(c, motcua_core::hall::HallCommand::Issue { .. } | motcua_core::hall::HallCommand::CheckIn { .. })
        })
        .count() as u64;
    let linked = script
        .iter()
        .filter(|c| {
            matches!(c, motcua_core::hall::HallCommand::Step { event, .. }
                if matches!(event.kind, motcua_core::hall::TicketEventKind::Linked { .. }))
        })
        .count() as u64;
    store.record_hall_script(domain, &hall.code, plan.day, script, horizon).await?;
    summary.hall_days += 1;
    summary.hall_tickets += tickets;
    summary.hall_linked += linked;
    Ok(())
}

/// The demo's hall today (`serve --demo`): each hall's day simulated up to `now`, or, past the
/// day's last calls, up to 45 minutes before the last window closes — so today's hall has a
/// queue waiting, tickets called and served, for the TV and the phone page. Nothing on a
/// non-working day or before the hall opens.
pub async fn demo_hall_today<S: motcua_store::HallStore>(
    store: &S,
    domain: &Domain,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<SimSummary> {
    let mut summary = SimSummary::default();
    let today = motcua_core::calendar::to_local(now).date();
    for hall in domain.halls.halls_on(today) {
        let cal = domain.calendar_for(&hall.agency);
        let Some(last) = cal.hours().windows().last() else { continue };
        let freeze = motcua_core::calendar::from_local(today.and_time(last.close)) - chrono::Duration::minutes(45);
        let plan = motcua_sim::hall::plan_hall_day(hall, cal, today, seed, &[])?;
        record_hall_day(store, domain, hall, &plan, now.min(freeze), &mut summary).await?;
    }
    Ok(summary)
}

/// The citizen rates a returned dossier (the lookup's stars) a day after its return, for one
/// returned dossier in three, chosen by its code; the score by the same hash: a late dossier
/// 1–2 stars three times in five, else 3; one in time mostly 4–5, 1–2 stars for 3 %
/// (docs/simulation.md). Returns the score given.
pub async fn plant_rating<S: motcua_store::StaffStore>(
    store: &S,
    d: &Dossier,
    now: DateTime<Utc>,
) -> Result<Option<u8>> {
    let (Some(code), Some(returned), Some(finished), Some(due)) =
        (d.code.clone(), d.returned_at, d.finished_at, d.due_at)
    else {
        return Ok(None);
    };
    let h = code
        .as_str()
        .bytes()
        .fold(0x811c_9dc5_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
        .rotate_left(17);
    if h % 3 != 0 {
        return Ok(None);
    }
    let rated_at = returned + chrono::Duration::days(1);
    if rated_at > now {
        return Ok(None);
    }
    let roll = (h / 3) % 100;
    let score = if finished > due {
        match roll {
            0..30 => 1,
            30..60 => 2,
            _ => 3,
        }
    } else {
        match roll {
            0..1 => 1,
            1..3 => 2,
            3..10 => 3,
            10..40 => 4,
            _ => 5,
        }
    };
    let rating = motcua_store::Rating { code, score, comment: None, rated_at };
    Ok(store.rate(&rating).await?.then_some(score))
}

/// One finished-late dossier in this many gets a complaint (docs/simulation.md).
pub const COMPLAINT_EVERY: u64 = 10;

/// Whether the simulation plants a complaint about this late dossier: one in
/// [`COMPLAINT_EVERY`], chosen by its code (FNV-1a), so that a run is reproducible.
pub fn complains(code: &motcua_core::DossierCode) -> bool {
    let h =
        code.as_str().bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    h % COMPLAINT_EVERY == 0
}

/// Plants a complaint about a dossier finished late: filed online an hour after the finish,
/// routed like any complaint about a dossier (the agency its lateness is attributed to),
/// accepted the next day and answered two weeks after filing — each step only if it is not
/// after `now`. Returns whether it was filed.
pub async fn plant_complaint<S: Store + PetitionStore>(
    store: &S,
    domain: &Domain,
    d: &Dossier,
    now: DateTime<Utc>,
) -> Result<bool> {
    use motcua_core::petition::{Complexity, ItemChannel, ItemEvent, ItemEventKind, Kind};
    let (Some(code), Some(finished), Some(due)) = (d.code.clone(), d.finished_at, d.due_at) else { return Ok(false) };
    if finished <= due || !complains(&code) {
        return Ok(false);
    }
    let filed = finished + chrono::Duration::hours(1);
    if filed > now {
        return Ok(false);
    }
    let Some(agency) = motcua_core::petition::route_for_dossier(domain, d, filed) else { return Ok(false) };
    let new = NewItem {
        kind: Kind::Complaint,
        agency,
        applicant: d.applicant.clone(),
        text: format!("Hồ sơ {code} trả kết quả trễ hạn."),
        dossier: Some(code),
        channel: ItemChannel::Online,
    };
    let item = store.file_item(domain, new, filed, None, now).await?;
    let Some(item_code) = item.code else { return Ok(true) };
    let steps = [
        (chrono::Duration::days(1), ItemEventKind::Accepted { complexity: Complexity::Ordinary, remote: false }),
        (
            chrono::Duration::days(14),
            ItemEventKind::Answered { text: "Đã xem xét, trả lời và xin lỗi công dân.".into() },
        ),
    ];
    for (after, kind) in steps {
        let at = filed + after;
        if at > now {
            break;
        }
        // History is quiet: the planted steps queue no e-mail.
        store.record_item_quiet(domain, &item_code, ItemEvent::new(at, Some("simulate".into()), kind), now).await?;
    }
    Ok(true)
}

/// History brought in (`import`, `simulate`) is quiet: no message is queued unless `--notify`
/// asks, and then only for what is still actionable at `now`, the instant the history is
/// taken to arrive: an open dossier still inside its time (in time, or waiting for the citizen
/// before its due instant; core's `analysis::open_state`).
pub fn actionable(d: &Dossier, now: DateTime<Utc>) -> bool {
    d.status.is_some_and(|s| s.is_open())
        && matches!(open_state(d, now), Some(OpenState::InTime | OpenState::WaitingForCitizen))
}

/// `--notify`: for each dossier of `codes` still [`actionable`] at `now`, queues the messages
/// its events imply, as the write path would have queued them had motcua recorded them (the
/// dedupe keys make a second run add nothing). The number of messages queued.
pub async fn notify_actionable<S: Store + OutboxStore>(
    store: &S,
    domain: &Domain,
    codes: impl IntoIterator<Item = DossierCode>,
    now: DateTime<Utc>,
) -> Result<u64> {
    let mut queued = 0;
    let mut rows: Vec<NewMessage> = Vec::new();
    for code in codes {
        let log = store.events(&code).await?;
        let mut d = Dossier::default();
        let mut implied = Vec::new();
        for e in &log {
            domain.apply(&mut d, e)?;
            for intent in motcua_core::letters::implied_messages(domain, &d, e)? {
                implied.push(NewMessage::from_intent(&intent)?);
            }
        }
        if actionable(&d, now) {
            rows.extend(implied);
        }
        if rows.len() >= 1000 {
            queued += store.enqueue(std::mem::take(&mut rows)).await?.len() as u64;
        }
    }
    if !rows.is_empty() {
        queued += store.enqueue(rows).await?.len() as u64;
    }
    Ok(queued)
}

/// `motcua simulate`: plans a city workload and writes it through the same write path as the
/// desk (intake allocates the codes; every event is checked by core), in group commits, as
/// history arriving at `now` (`Store::record_history`): quiet unless `notify`
/// ([`notify_actionable`]).
pub async fn simulate<S: Store + OutboxStore + PetitionStore + motcua_store::StaffStore + motcua_store::HallStore>(
    store: &S,
    domain: &Domain,
    cfg: &SimConfig,
    json_out: bool,
    notify: bool,
    now: DateTime<Utc>,
) -> Result<SimSummary> {
    if cfg.dossiers == 0 {
        bail!("--dossiers must be at least 1");
    }
    if cfg.from > cfg.to {
        bail!("--from {} is after --to {}", cfg.from, cfg.to);
    }
    let planned = plan(domain, cfg)?;
    let bar = progress(cfg.dossiers, "simulate");
    let mut summary = SimSummary::default();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut planned = planned.peekable();
    let now = motcua_core::calendar::truncate_to_micros(now);
    let mut to_notify = Vec::new();
    let mut halls = HallFill::new(domain, cfg.seed, cfg.from);
    while planned.peek().is_some() {
        chunk.clear();
        chunk.extend(planned.by_ref().take(CHUNK));
        // Each dossier's intake and later events in one item: the store numbers it and applies
        // the rest from its per-batch cache, all in one group commit.
        let items: Vec<BatchItem> = chunk
            .iter()
            .map(|p| BatchItem::IntakeWith {
                new: NewDossier {
                    procedure: p.procedure.clone(),
                    agency: p.agency.clone(),
                    applicant: p.applicant.clone(),
                    channel: p.channel,
                    online: p.channel == motcua_core::Channel::Online,
                    documents: Vec::new(),
                    digitised: p.digitised.clone(),
                },
                at: p.received_at,
                by: p.received_by.clone(),
                then: p.events.iter().map(|(at, kind, by)| Event::new(*at, by.clone(), kind.clone())).collect(),
            })
            .collect();
        for (p, result) in chunk.iter().zip(store.record_history(domain, items, now).await?) {
            match result {
                Ok(d) => {
                    halls.note(&d);
                    summary.dossiers += 1;
                    summary.events += u64::from(d.event_count);
                    if d.status.is_some_and(|s| s.is_open()) {
                        summary.open_at_end += 1;
                    }
                    match plant_complaint(store, domain, &d, now).await {
                        Ok(true) => summary.complaints += 1,
                        Ok(false) => {}
                        Err(e) => bar.suspend(|| eprintln!("simulate: a complaint could not be planted: {e}")),
                    }
                    match plant_rating(store, &d, now).await {
                        Ok(Some(score)) => {
                            summary.ratings += 1;
                            summary.dissatisfied += u64::from(score <= 2);
                        }
                        Ok(None) => {}
                        Err(e) => bar.suspend(|| eprintln!("simulate: a rating could not be recorded: {e}")),
                    }
                    if notify
                        && actionable(&d, now)
                        && let Some(code) = d.code
                    {
                        to_notify.push(code);
                    }
                }
                Err(e) => {
                    summary.rejected += 1;
                    bar.suspend(|| eprintln!("simulate: a dossier of procedure {} was refused: {e}", p.procedure));
                }
            }
        }
        bar.inc(chunk.len() as u64);
        // Every in-person dossier of the days before the chunk's last one is written: their
        // halls' days can be simulated (one day of dossiers held at a time).
        if let Some(last) = chunk.iter().map(|p| motcua_core::calendar::to_local(p.received_at).date()).max() {
            halls.fill_before(store, domain, last, now, &mut summary).await?;
        }
    }
    halls.fill_before(store, domain, cfg.to.succ_opt().unwrap_or(cfg.to), now, &mut summary).await?;
    bar.finish_and_clear();
    if notify {
        summary.notified = notify_actionable(store, domain, to_notify, now).await?;
    }
    if json_out {
        crate::outln!(
            "{}",
            json!({"dossiers": summary.dossiers, "events": summary.events, "rejected": summary.rejected,
                   "notified": summary.notified, "complaints": summary.complaints,
                   "ratings": summary.ratings, "dissatisfied": summary.dissatisfied,
                   "hall_days": summary.hall_days, "hall_tickets": summary.hall_tickets,
                   "hall_linked": summary.hall_linked})
        );
    } else {
        crate::outln!(
            "simulated {} dossiers ({} events) from {} to {}, seed {}; {} rejected; {} complaints about late dossiers; {} ratings ({} dissatisfied); {} hall days, {} tickets, {} dossiers linked to a ticket; {} messages queued{}",
            summary.dossiers,
            summary.events,
            cfg.from,
            cfg.to,
            cfg.seed,
            summary.rejected,
            summary.complaints,
            summary.ratings,
            summary.dissatisfied,
            summary.hall_days,
            summary.hall_tickets,
            summary.hall_linked,
            summary.notified,
            if notify {
                " (--notify: open dossiers inside their time)"
            } else {
                " (history is quiet: --notify to queue)"
            }
        );
    }
    Ok(summary)
}

/// `motcua recompute [--dry-run]`: the dossiers' projections and aggregates, then the
/// petitions' projection, each rebuilt from its own log.
pub async fn recompute<S: Store + PetitionStore>(
    store: &S,
    domain: &Domain,
    dry_run: bool,
    json_out: bool,
) -> Result<()> {
    let diff = store.recompute(domain, dry_run).await?;
    let items = store.recompute_items(domain, dry_run).await?;
    if json_out {
        let mut v = serde_json::to_value(&diff)?;
        v["petitions"] = serde_json::to_value(&items)?;
        crate::outln!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    let verb = if dry_run { "would change" } else { "changed" };
    print_items(&items, verb);
    if diff.is_empty() {
        crate::outln!(
            "{} dossiers replayed from the event log: projections and aggregates are up to date",
            diff.dossiers
        );
        if dry_run && !items.is_empty() {
            crate::outln!("dry run: nothing was written; run without --dry-run to apply");
        }
        return Ok(());
    }
    crate::outln!("{} dossiers replayed from the event log; {} {verb}:", diff.dossiers, diff.changed.len());
    for c in diff.changed.iter().take(200) {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|f| format!("{}: {} → {}", f.field, f.old.as_deref().unwrap_or("—"), f.new.as_deref().unwrap_or("—")))
            .collect();
        crate::outln!("  {}  {}", c.code, fields.join("; "));
    }
    if diff.changed.len() > 200 {
        crate::outln!("  … and {} more (use --json for all)", diff.changed.len() - 200);
    }
    for f in &diff.unreplayable {
        crate::outln!("  ! {} no longer replays: {}", f.code, f.error);
    }
    for o in &diff.orphans {
        crate::outln!("  ! {o} has a projection row but no event");
    }
    crate::outln!("{} aggregate cells {verb}", diff.counts.len());
    crate::outln!(
        "watch list: {} dossiers' occurrences and {} daily cells {verb}",
        diff.watch_changed.len(),
        diff.watch_cells
    );
    if dry_run {
        crate::outln!("dry run: nothing was written; run without --dry-run to apply");
    }
    Ok(())
}

/// The petitions' part of `recompute`'s report.
fn print_items(items: &motcua_store::ItemRecompute, verb: &str) {
    if items.is_empty() {
        crate::outln!("{} petitions replayed from their log: the projection is up to date", items.items);
        return;
    }
    crate::outln!("{} petitions replayed from their log; {} {verb}:", items.items, items.changed.len());
    for c in items.changed.iter().take(200) {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|f| format!("{}: {} → {}", f.field, f.old.as_deref().unwrap_or("—"), f.new.as_deref().unwrap_or("—")))
            .collect();
        crate::outln!("  {}  {}", c.code, fields.join("; "));
    }
    for (code, error) in &items.unreplayable {
        crate::outln!("  ! {code} no longer replays: {error}");
    }
    for o in &items.orphans {
        crate::outln!("  ! {o} has a projection row but no event");
    }
}

pub fn sim_config(dossiers: u64, seed: u64, from: NaiveDate, to: NaiveDate) -> SimConfig {
    SimConfig { dossiers, seed, from, to }
}
