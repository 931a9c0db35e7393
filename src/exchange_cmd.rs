//! `motcua import FILE` and `motcua export`: the event log in JSONL or CSV, and the national
//! portal's dossier records (docs/formats.md).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use motcua_core::{Domain, Dossier, DossierCode, Event, EventKind};
use motcua_exchange::{EventWriter, Format, dvcqg_record, read_dvcqg, read_events, write_dvcqg};
use motcua_store::{BatchItem, OutboxStore, Store, StoreError};

use crate::bulk::progress;

/// Rows per group commit.
pub const CHUNK: usize = 5000;

/// What an import did.
#[derive(Debug, Default, serde::Serialize)]
pub struct ImportSummary {
    pub rows: u64,
    /// Events applied (written to the log).
    pub imported: u64,
    /// Events already in the log, identical (a file imported again): skipped, not an error.
    pub already_present: u64,
    pub rejected: u64,
    /// Outbox messages queued (`--notify`).
    pub notified: u64,
    /// Nothing was written (`--dry-run`): `imported` counts the events that would be.
    pub dry_run: bool,
}

/// How an import treats the messages its history implies.
#[derive(Debug, Clone, Copy)]
pub struct Arrival {
    /// The instant the history is taken to arrive: the events' `recorded_at`, and the
    /// instant dossiers are judged at (past due, or still actionable).
    pub now: chrono::DateTime<chrono::Utc>,
    /// Queue the messages of the dossiers still actionable at `now`.
    pub notify: bool,
}

/// Lines in the file at `path`, for the progress bar (0 if it cannot be read).
fn count_lines(path: &Path) -> u64 {
    let Ok(file) = File::open(path) else { return 0 };
    let mut reader = BufReader::new(file);
    let (mut lines, mut buf) = (0, Vec::new());
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => return lines,
            Ok(_) => lines += 1,
        }
    }
}

/// What `import` reads: an event log, or the national portal's dossier records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Input {
    Events(Format),
    /// `DongBoHoSoMC` records, one per line (`--format dvcqg`).
    Portal,
}

impl Input {
    fn parse(s: &str) -> Result<Self> {
        if s.eq_ignore_ascii_case("dvcqg") {
            return Ok(Self::Portal);
        }
        s.parse::<Format>().map(Self::Events).map_err(|e| anyhow!("{e} (or dvcqg: the national portal's records)"))
    }
}

/// One event to bring in, with the line it came from and, for a portal record, the record it
/// belongs to (its line) and its position in it.
struct Pending {
    line: usize,
    record: Option<(usize, usize)>,
    item: BatchItem,
}

/// `motcua import FILE`, or `-` for standard input (with `--format`).
///
/// The events arrive as history (`Store::record_history`): quiet unless `arrival.notify`, an
/// event already in the log counted as already present, so that an interrupted import can be
/// run again on the same file. With `dry_run`, nothing is written: each event is checked
/// against the log as it stands plus the events before it in the file.
pub async fn import<S: Store + OutboxStore>(
    store: &S,
    domain: &Domain,
    path: &Path,
    format: Option<&str>,
    json: bool,
    arrival: Arrival,
    dry_run: bool,
) -> Result<()> {
    let stdin = path == Path::new("-");
    let input_kind = match format {
        Some(f) => Input::parse(f)?,
        None if stdin => bail!("give --format jsonl|csv|dvcqg to import from standard input"),
        None => {
            path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension).map(Input::Events).ok_or_else(
                || {
                    anyhow!(
                        "cannot tell the format of {} from its extension: give --format jsonl|csv|dvcqg",
                        path.display()
                    )
                },
            )?
        }
    };
    let (input, name): (Box<dyn BufRead>, String) = if stdin {
        if std::io::stdin().is_terminal() {
            bail!(
                "standard input is a terminal: pipe the events in (… | motcua import --format jsonl -) or give a file"
            );
        }
        (Box::new(std::io::stdin().lock()), "standard input".to_string())
    } else {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        if file.metadata().is_ok_and(|m| m.is_dir()) {
            bail!("{} is a folder, not a file of events", path.display());
        }
        (Box::new(BufReader::new(file)), path.display().to_string())
    };
    let lines = if !stdin && std::io::stderr().is_terminal() { count_lines(path) } else { 0 };
    let bar = progress(lines, "import");
    let mut summary = ImportSummary { dry_run, ..ImportSummary::default() };
    let mut pending: Vec<Pending> = Vec::with_capacity(CHUNK);
    let mut errors = std::io::stderr().lock();
    let now = motcua_core::calendar::truncate_to_micros(arrival.now);
    let notify = arrival.notify && !dry_run;
    // With --notify, the dossiers the file names, judged once the whole file is in.
    let mut touched = std::collections::BTreeSet::new();
    // A portal record whose event was rejected: its later events are counted, not repeated.
    let mut failed_record: Option<usize> = None;
    let mut trial = Trial::default();
    let mut flush = async |pending: &mut Vec<Pending>, summary: &mut ImportSummary| -> Result<Vec<String>> {
        let batch: Vec<Pending> = std::mem::take(pending);
        let mut places = Vec::with_capacity(batch.len());
        let mut items = Vec::with_capacity(batch.len());
        for p in batch {
            let code = match &p.item {
                BatchItem::Record { code, .. } if notify => Some(code.clone()),
                _ => None,
            };
            places.push((p.line, p.record, code));
            items.push(p.item);
        }
        let mut msgs = Vec::new();
        let results = if dry_run {
            trial.check(store, domain, items).await?
        } else {
            store.record_history(domain, items, now).await?.into_iter().map(|r| r.map(|_| ())).collect()
        };
        for ((line, record, code), r) in places.into_iter().zip(results) {
            let present = matches!(r, Ok(_) | Err(StoreError::AlreadyPresent { .. }));
            if present && let Some(code) = code {
                touched.insert(code);
            }
            match r {
                Ok(_) => summary.imported += 1,
                Err(StoreError::AlreadyPresent { .. }) => summary.already_present += 1,
                Err(e) => {
                    summary.rejected += 1;
                    match record {
                        None => msgs.push(format!("line {line}: {e}")),
                        Some((rec, _)) if failed_record == Some(rec) => {}
                        Some((rec, k)) => {
                            failed_record = Some(rec);
                            msgs.push(format!(
                                "line {line}: event {} of the record: {e} (the record's later events are not applied)",
                                k + 1
                            ));
                        }
                    }
                }
            }
        }
        Ok(msgs)
    };
    let rows: Box<dyn Iterator<Item = Result<Vec<Pending>, motcua_exchange::RowError>>> = match input_kind {
        Input::Events(format) => Box::new(read_events(format, input).map(|r| {
            r.map(|r| {
                vec![Pending { line: r.line, record: None, item: BatchItem::Record { code: r.code, event: r.event } }]
            })
        })),
        Input::Portal => Box::new(read_dvcqg(domain, input).map(|r| {
            r.map(|rec| {
                let line = rec.line;
                let mut out = Vec::with_capacity(rec.events.len());
                for note in &rec.notes {
                    bar.suspend(|| eprintln!("line {line}: note: {note}"));
                }
                for (k, event) in rec.events.into_iter().enumerate() {
                    out.push(Pending {
                        line,
                        record: Some((line, k)),
                        item: BatchItem::Record { code: rec.code.clone(), event },
                    });
                }
                out
            })
        })),
    };
    for row in rows {
        summary.rows += 1;
        bar.inc(1);
        match row {
            Ok(events) => pending.extend(events),
            Err(e) => {
                summary.rejected += 1;
                bar.suspend(|| writeln!(errors, "{e}"))?;
            }
        }
        if pending.len() >= CHUNK {
            for m in flush(&mut pending, &mut summary).await? {
                bar.suspend(|| writeln!(errors, "{m}"))?;
            }
        }
    }
    for m in flush(&mut pending, &mut summary).await? {
        bar.suspend(|| writeln!(errors, "{m}"))?;
    }
    bar.finish_and_clear();
    if stdin && summary.rows == 0 {
        bail!("standard input is empty or closed: no events to import");
    }
    if notify {
        summary.notified = crate::bulk::notify_actionable(store, domain, touched, now).await?;
    }
    let what = if input_kind == Input::Portal { "records" } else { "rows" };
    if json {
        crate::outln!("{}", serde_json::to_string(&summary)?);
    } else if dry_run {
        crate::outln!(
            "{}: {} {what} read: {} events would be imported, {} already present, {} rejected (dry run: nothing written)",
            name,
            summary.rows,
            summary.imported,
            summary.already_present,
            summary.rejected,
        );
    } else {
        crate::outln!(
            "{}: {} {what} read: {} events imported, {} already present, {} rows rejected; {} messages queued{}",
            name,
            summary.rows,
            summary.imported,
            summary.already_present,
            summary.rejected,
            summary.notified,
            if arrival.notify { " (--notify: open dossiers inside their time)" } else { " (history is quiet)" }
        );
    }
    if summary.rejected > 0 {
        let others = if dry_run { "would be imported" } else { "were imported" };
        if input_kind == Input::Portal {
            bail!(
                "{} rejected in {} records (unreadable records and events the log refused; see the lines above); \
                 the others {others}",
                summary.rejected,
                summary.rows,
            );
        }
        bail!("{} of {} rows were rejected (see the lines above); the others {others}", summary.rejected, summary.rows);
    }
    Ok(())
}

/// `import --dry-run`: what `Store::record_history` would answer, without writing. Each
/// dossier's log is read once and the file's events are applied to it in memory, in order.
#[derive(Default)]
struct Trial {
    dossiers: std::collections::HashMap<DossierCode, (Dossier, Vec<Event>)>,
}

impl Trial {
    async fn check<S: Store>(
        &mut self,
        store: &S,
        domain: &Domain,
        items: Vec<BatchItem>,
    ) -> Result<Vec<Result<(), StoreError>>> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let BatchItem::Record { code, event } = item else {
                out.push(Ok(()));
                continue;
            };
            if !self.dossiers.contains_key(&code) {
                let log = store.events(&code).await?;
                let d = match domain.replay(log.iter()) {
                    Ok(d) => d,
                    Err(source) => {
                        out.push(Err(StoreError::Unreplayable { code, source }));
                        continue;
                    }
                };
                self.dossiers.insert(code.clone(), (d, log));
            }
            let Some((d, log)) = self.dossiers.get_mut(&code) else { continue };
            let intake = match &event.kind {
                EventKind::Received { intake } | EventKind::RegisteredOnline { intake } => Some(intake.code.clone()),
                _ => None,
            };
            let r = if let Some(seq) = log.iter().position(|e| *e == event) {
                Err(StoreError::AlreadyPresent { code, seq: seq as u32 + 1 })
            } else if log.is_empty() {
                match intake {
                    None => Err(StoreError::NotFound(code)),
                    Some(given) if given != code => Err(StoreError::CodeMismatch { given: code, intake: given }),
                    Some(_) => domain.apply(d, &event).map_err(StoreError::Rejected),
                }
            } else if intake.is_some() {
                Err(StoreError::Duplicate(code))
            } else {
                domain.apply(d, &event).map_err(StoreError::Rejected)
            };
            if r.is_ok() {
                log.push(event);
            }
            out.push(r);
        }
        Ok(out)
    }
}

/// Writes every event (`jsonl`, `csv`) or every dossier's portal record (`dvcqg`). With `mark`
/// (an instant and who), the dossiers exported as portal records and not yet marked are then
/// marked sent to the portal, each with a `synced_to_portal` event; a second export marks none.
pub async fn export<S: Store>(
    store: &S,
    domain: &Domain,
    format: &str,
    output: Option<&Path>,
    mark: Option<(chrono::DateTime<chrono::Utc>, Option<String>)>,
) -> Result<()> {
    let out: Box<dyn Write> = match output {
        Some(p) => Box::new(File::create(p).with_context(|| format!("cannot create {}", p.display()))?),
        None => Box::new(std::io::stdout().lock()),
    };
    let out = BufWriter::new(out);
    match format {
        "jsonl" | "csv" => {
            let format: Format = format.parse().map_err(|e: String| anyhow!(e))?;
            let mut w = EventWriter::new(format, out)?;
            let mut after = 0;
            loop {
                let page = store.events_after(after, 5000).await?;
                let Some(last) = page.last() else { break };
                after = last.id;
                for e in &page {
                    w.write(&e.code, &e.event)?;
                }
            }
            w.finish()?.flush()?;
        }
        "dvcqg" => {
            let mut out = out;
            let mut after = None;
            let mut unsynced = Vec::new();
            loop {
                let page = store.dossiers_page(after.as_ref(), 1000).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.code.clone());
                let mut records = Vec::with_capacity(page.len());
                for row in &page {
                    let log = store.events(&row.code).await?;
                    let d = domain.replay(log.iter())?;
                    records.push(dvcqg_record(domain, &d, &log)?);
                    if d.synced_at.is_none() {
                        unsynced.push(row.code.clone());
                    }
                }
                out = write_dvcqg(out, records.iter())?;
            }
            out.flush()?;
            drop(out);
            if let Some((at, by)) = mark {
                mark_synced(store, domain, unsynced, at, by).await?;
            }
        }
        other => bail!("unknown export format {other:?}: expected csv, jsonl or dvcqg"),
    }
    Ok(())
}

/// Records `synced_to_portal` for each dossier, in batches; says on standard error how many
/// were marked and which could not be (an event stated after `at`).
async fn mark_synced<S: Store>(
    store: &S,
    domain: &Domain,
    codes: Vec<motcua_core::DossierCode>,
    at: chrono::DateTime<chrono::Utc>,
    by: Option<String>,
) -> Result<()> {
    let at = motcua_core::calendar::truncate_to_micros(at);
    let (mut marked, mut refused) = (0usize, Vec::new());
    for chunk in codes.chunks(1000) {
        let items = chunk
            .iter()
            .map(|code| motcua_store::BatchItem::Record {
                code: code.clone(),
                event: motcua_core::Event::new(at, by.clone(), EventKind::SyncedToPortal),
            })
            .collect();
        for (code, r) in chunk.iter().zip(store.record_batch(domain, items, at).await?) {
            match r {
                Ok(_) => marked += 1,
                Err(e) => refused.push(format!("{code}: {e}")),
            }
        }
    }
    eprintln!("marked {marked} dossier(s) as sent to the national portal");
    if !refused.is_empty() {
        eprintln!("not marked ({}):\n  {}", refused.len(), refused.join("\n  "));
    }
    Ok(())
}
