//! `motcua import FILE` and `motcua export`: the event log in JSONL or CSV, and the national
//! portal's dossier records (docs/formats.md).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use motcua_core::Domain;
use motcua_exchange::{EventWriter, Format, dvcqg_with_log, read_events, write_dvcqg};
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

/// `motcua import FILE`, or `-` for standard input (with `--format`).
///
/// The events arrive as history (`Store::record_history`): quiet unless `arrival.notify`, an
/// event already in the log counted as already present, so that an interrupted import can be
/// run again on the same file.
pub async fn import<S: Store + OutboxStore>(
    store: &S,
    domain: &Domain,
    path: &Path,
    format: Option<&str>,
    json: bool,
    arrival: Arrival,
) -> Result<()> {
    let stdin = path == Path::new("-");
    let format = match format {
        Some(f) => f.parse::<Format>().map_err(|e| anyhow!(e))?,
        None if stdin => bail!("give --format jsonl|csv to import from standard input"),
        None => path.extension().and_then(|e| e.to_str()).and_then(Format::from_extension).ok_or_else(|| {
            anyhow!("cannot tell the format of {} from its extension: give --format jsonl|csv", path.display())
        })?,
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
    let mut summary = ImportSummary::default();
    let mut pending: Vec<(usize, BatchItem)> = Vec::with_capacity(CHUNK);
    let mut errors = std::io::stderr().lock();
    let now = motcua_core::calendar::truncate_to_micros(arrival.now);
    // With --notify, the dossiers the file names, judged once the whole file is in.
    let mut touched = std::collections::BTreeSet::new();
    let mut flush = async |pending: &mut Vec<(usize, BatchItem)>, summary: &mut ImportSummary| -> Result<Vec<String>> {
        let lines: Vec<usize> = pending.iter().map(|(l, _)| *l).collect();
        let items: Vec<BatchItem> = pending.drain(..).map(|(_, i)| i).collect();
        let codes: Vec<Option<motcua_core::DossierCode>> = items
            .iter()
            .map(|i| match i {
                BatchItem::Record { code, .. } if arrival.notify => Some(code.clone()),
                _ => None,
            })
            .collect();
        let mut msgs = Vec::new();
        let results = store.record_history(domain, items, now).await?;
        for ((line, r), code) in lines.into_iter().zip(results).zip(codes) {
            let present = matches!(r, Ok(_) | Err(StoreError::AlreadyPresent { .. }));
            if present && let Some(code) = code {
                touched.insert(code);
            }
            match r {
                Ok(_) => summary.imported += 1,
                Err(StoreError::AlreadyPresent { .. }) => summary.already_present += 1,
                Err(e) => {
                    summary.rejected += 1;
                    msgs.push(format!("line {line}: {e}"));
                }
            }
        }
        Ok(msgs)
    };
    for row in read_events(format, input) {
        summary.rows += 1;
        bar.inc(1);
        match row {
            Ok(r) => pending.push((r.line, BatchItem::Record { code: r.code, event: r.event })),
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
    if arrival.notify {
        summary.notified = crate::bulk::notify_actionable(store, domain, touched, now).await?;
    }
    if json {
        crate::outln!("{}", serde_json::to_string(&summary)?);
    } else {
        crate::outln!(
            "{}: {} rows read: {} events imported, {} already present, {} rows rejected; {} messages queued{}",
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
        bail!(
            "{} of {} rows were rejected (see the lines above); the others were imported",
            summary.rejected,
            summary.rows
        );
    }
    Ok(())
}

pub async fn export<S: Store>(store: &S, domain: &Domain, format: &str, output: Option<&Path>) -> Result<()> {
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
            loop {
                let page = store.dossiers_page(after.as_ref(), 1000).await?;
                let Some(last) = page.last() else { break };
                after = Some(last.code.clone());
                let mut records = Vec::with_capacity(page.len());
                for row in &page {
                    let log = store.events(&row.code).await?;
                    let d = domain.replay(log.iter())?;
                    if d.received_at.is_none() {
                        continue; // registered online and never received: nothing for the portal
                    }
                    records.push(dvcqg_with_log(domain, &d, &log)?);
                }
                out = write_dvcqg(out, records.iter())?;
            }
            out.flush()?;
        }
        other => bail!("unknown export format {other:?}: expected csv, jsonl or dvcqg"),
    }
    Ok(())
}
