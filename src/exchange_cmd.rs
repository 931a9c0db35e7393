//! `motcua import FILE` and `motcua export`: the event log in JSONL or CSV, and the national
//! portal's dossier records (docs/formats.md).

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::{ProgressBar, ProgressStyle};
use motcua_core::{Domain, DossierCode};
use motcua_exchange::{EventWriter, Format, ImportRow, RowError, dvcqg_with_log, read_events, write_dvcqg};
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

/// A reader that counts the bytes read through it, for the progress bar: the file is read
/// once, not counted first.
struct Counting<R> {
    inner: R,
    read: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// What the reading thread hands to the writer: a chunk of rows in file order.
type Rows = Vec<Result<ImportRow, RowError>>;

/// Chunks read ahead of the writer: the file is parsed on a thread of its own while the store
/// writes the chunk before, and at most this many chunks wait in memory.
const READ_AHEAD: usize = 2;

/// Reads `input` on a thread of its own, sending chunks of [`CHUNK`] rows; stops when the
/// receiver is dropped.
fn read_ahead(format: Format, input: Box<dyn BufRead + Send>) -> tokio::sync::mpsc::Receiver<Rows> {
    let (tx, rx) = tokio::sync::mpsc::channel(READ_AHEAD);
    std::thread::spawn(move || {
        let mut rows = Vec::with_capacity(CHUNK);
        for row in read_events(format, input) {
            rows.push(row);
            if rows.len() >= CHUNK && tx.blocking_send(std::mem::replace(&mut rows, Vec::with_capacity(CHUNK))).is_err()
            {
                return;
            }
        }
        if !rows.is_empty() {
            let _ = tx.blocking_send(rows);
        }
    });
    rx
}

/// The progress bar of an import from a file: bytes read of the file's size.
fn byte_bar(len: u64) -> ProgressBar {
    let bar = progress(len, "import");
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar
}

/// `motcua import FILE`, or `-` for standard input (with `--format`).
///
/// The events arrive as history (`Store::record_history`): quiet unless `arrival.notify`, an
/// event already in the log counted as already present, so that an interrupted import can be
/// run again on the same file. The file is streamed: a thread parses the next chunks while
/// the store writes one, and memory holds at most a few chunks whatever the file's size.
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
    let read = Arc::new(AtomicU64::new(0));
    let (input, name, bar): (Box<dyn BufRead + Send>, String, ProgressBar) = if stdin {
        if std::io::stdin().is_terminal() {
            bail!(
                "standard input is a terminal: pipe the events in (… | motcua import --format jsonl -) or give a file"
            );
        }
        (Box::new(BufReader::new(std::io::stdin())), "standard input".to_string(), progress(0, "import"))
    } else {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let meta = file.metadata().ok();
        if meta.as_ref().is_some_and(std::fs::Metadata::is_dir) {
            bail!("{} is a folder, not a file of events", path.display());
        }
        let counting = Counting { inner: file, read: Arc::clone(&read) };
        let bar = byte_bar(meta.map_or(0, |m| m.len()));
        (Box::new(BufReader::with_capacity(1 << 16, counting)), path.display().to_string(), bar)
    };
    let mut summary = ImportSummary::default();
    let mut errors = std::io::stderr().lock();
    let now = motcua_core::calendar::truncate_to_micros(arrival.now);
    // With --notify, the dossiers the file names, judged once the whole file is in.
    let mut touched = std::collections::BTreeSet::new();
    let mut chunks = read_ahead(format, input);
    while let Some(rows) = chunks.recv().await {
        let mut lines = Vec::with_capacity(rows.len());
        let mut items = Vec::with_capacity(rows.len());
        let mut msgs = Vec::new();
        for row in rows {
            summary.rows += 1;
            match row {
                Ok(r) => {
                    lines.push(r.line);
                    items.push(BatchItem::Record { code: r.code, event: r.event });
                }
                Err(e) => {
                    summary.rejected += 1;
                    msgs.push(e.to_string());
                }
            }
        }
        let codes: Vec<Option<DossierCode>> = items
            .iter()
            .map(|i| match i {
                BatchItem::Record { code, .. } if arrival.notify => Some(code.clone()),
                _ => None,
            })
            .collect();
        let results = if items.is_empty() { Vec::new() } else { store.record_history(domain, items, now).await? };
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
        // Reading errors and refusals of one chunk, in the order of their lines.
        msgs.sort_by_key(|m| line_of(m));
        for m in msgs {
            bar.suspend(|| writeln!(errors, "{m}"))?;
        }
        if stdin {
            bar.set_position(summary.rows);
        } else {
            bar.set_position(read.load(Ordering::Relaxed));
        }
        bar.set_message(format!("{} events", summary.rows));
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

/// The line number a message starts with (`line N: …`), for ordering a chunk's messages.
fn line_of(message: &str) -> usize {
    message.strip_prefix("line ").and_then(|rest| rest.split(':').next()).and_then(|n| n.parse().ok()).unwrap_or(0)
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
