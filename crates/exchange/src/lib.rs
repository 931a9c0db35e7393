//! motcua-exchange: the formats motcua reads and writes (docs/formats.md).
//!
//! - Event logs as JSONL (one core [`Event`] per line, plus its dossier `code`) and as CSV
//!   (one row per event, a fixed set of columns), both read row by row: a malformed row is
//!   reported with its line number and a clear reason, and reading goes on with the next one
//!   ([`read_events`]). Export writes the same formats, so an export imports back unchanged
//!   ([`write_events_jsonl`], [`write_events_csv`], [`EventWriter`]).
//! - The national public-service portal's dossier record (`DongBoHoSoMC`, DOMAIN.md §10),
//!   built from a replayed [`Dossier`] ([`dvcqg`], [`dvcqg_record`]), and read back into
//!   events ([`read_dvcqg`]): exactly from the event rows motcua adds, or derived by fixed rules
//!   from another system's record.
//!
//! This crate checks the *shape* of what it reads (instants, codes, e-mail addresses, known
//! event types and fields); whether an event is allowed for a dossier — an unknown procedure,
//! an illegal transition — is for core and the store to decide when the events are applied.
//! It must not do IO beyond the readers and writers its caller hands in, read the clock,
//! or know about databases.
//!
//! Modules: `jsonl` (JSONL event logs), `csvfmt` (CSV event logs under a fixed header),
//! `dvcqg` (the national portal's dossier record), `dvcqg_import` (reading it back); this file holds the shared row types,
//! errors and the readers and writers that pick a format. Its instants are RFC 3339 only (the
//! formats carry an offset), unlike the CLI, which also reads local time.

mod csvfmt;
mod dvcqg;
mod dvcqg_import;
mod jsonl;

use std::fmt;
use std::io::{self, BufRead, Write};
use std::str::FromStr;

use motcua_core::{DomainError, DossierCode, Event};

pub use csvfmt::CSV_COLUMNS;
pub use dvcqg::{
    DongBoHoSo, HoSoBoSung, QuaTrinhXuLy, dvcqg, dvcqg_record, dvcqg_with_log, format_dvcqg_time, write_dvcqg,
};
pub use dvcqg_import::{
    DERIVED_RESCHEDULE_REASON, DERIVED_SUPPLEMENT_REASON, PortalReader, PortalRecord, parse_dvcqg_time, read_dvcqg,
    record_events,
};

/// An event-log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// One JSON object per line: the core event plus `code`.
    Jsonl,
    /// One row per event under the header [`CSV_COLUMNS`].
    Csv,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Csv => "csv",
        }
    }

    /// The format a file name's extension suggests (`.jsonl`, `.ndjson`, `.csv`).
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Some(Self::Jsonl),
            "csv" => Some(Self::Csv),
            _ => None,
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "jsonl" | "ndjson" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            _ => Err(format!("unknown format {s:?}: expected jsonl or csv")),
        }
    }
}

/// One event read from an import, with the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportRow {
    pub line: usize,
    pub code: DossierCode,
    pub event: Event,
}

/// A row that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct RowError {
    pub line: usize,
    pub reason: String,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing failed: {0}")]
    Io(#[from] io::Error),
    #[error("writing CSV failed: {0}")]
    Csv(#[from] csv::Error),
    #[error("encoding JSON failed: {0}")]
    Json(#[from] serde_json::Error),
    /// A value that the CSV format cannot carry (a document name with `;`).
    #[error("dossier {code}: {reason}")]
    NotRepresentable { code: DossierCode, reason: String },
    /// The dossier has no intake (nothing to report to the portal).
    #[error("the dossier has no intake")]
    NoIntake,
    #[error(transparent)]
    Domain(#[from] DomainError),
}

/// Reads events row by row. Blank lines are skipped; each other line (JSONL) or record
/// (CSV) gives an [`ImportRow`] or a [`RowError`], and reading goes on after an error. A CSV
/// header that cannot be used is one error on line 1, and nothing else is read.
pub fn read_events<R: BufRead>(format: Format, input: R) -> EventReader<R> {
    match format {
        Format::Jsonl => EventReader { inner: Inner::Jsonl(jsonl::Reader::new(input)) },
        Format::Csv => EventReader { inner: Inner::Csv(Box::new(csvfmt::Reader::new(input))) },
    }
}

/// The iterator [`read_events`] returns.
#[derive(Debug)]
pub struct EventReader<R: BufRead> {
    inner: Inner<R>,
}

#[derive(Debug)]
enum Inner<R: BufRead> {
    Jsonl(jsonl::Reader<R>),
    Csv(Box<csvfmt::Reader<R>>),
}

impl<R: BufRead> Iterator for EventReader<R> {
    type Item = Result<ImportRow, RowError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            Inner::Jsonl(r) => r.next(),
            Inner::Csv(r) => r.next(),
        }
    }
}

/// Writes events one at a time in either format (the CSV header first).
#[derive(Debug)]
pub struct EventWriter<W: Write> {
    inner: WriterInner<W>,
}

#[derive(Debug)]
enum WriterInner<W: Write> {
    Jsonl(W),
    Csv(Box<csv::Writer<W>>),
}

impl<W: Write> EventWriter<W> {
    pub fn new(format: Format, out: W) -> Result<Self, ExportError> {
        let inner = match format {
            Format::Jsonl => WriterInner::Jsonl(out),
            Format::Csv => WriterInner::Csv(Box::new(csvfmt::writer(out)?)),
        };
        Ok(Self { inner })
    }

    pub fn write(&mut self, code: &DossierCode, event: &Event) -> Result<(), ExportError> {
        match &mut self.inner {
            WriterInner::Jsonl(out) => jsonl::write(out, code, event),
            WriterInner::Csv(w) => csvfmt::write(w, code, event),
        }
    }

    /// Flushes and gives the output back.
    pub fn finish(self) -> Result<W, ExportError> {
        match self.inner {
            WriterInner::Jsonl(mut out) => {
                out.flush()?;
                Ok(out)
            }
            WriterInner::Csv(w) => w.into_inner().map_err(|e| ExportError::Io(e.into_error())),
        }
    }
}

/// Writes `(code, event)` pairs as JSONL, one event per line.
pub fn write_events_jsonl<'a, W: Write>(
    out: W,
    events: impl IntoIterator<Item = (&'a DossierCode, &'a Event)>,
) -> Result<W, ExportError> {
    write_all(Format::Jsonl, out, events)
}

/// Writes `(code, event)` pairs as CSV under the header [`CSV_COLUMNS`], one event per row.
pub fn write_events_csv<'a, W: Write>(
    out: W,
    events: impl IntoIterator<Item = (&'a DossierCode, &'a Event)>,
) -> Result<W, ExportError> {
    write_all(Format::Csv, out, events)
}

fn write_all<'a, W: Write>(
    format: Format,
    out: W,
    events: impl IntoIterator<Item = (&'a DossierCode, &'a Event)>,
) -> Result<W, ExportError> {
    let mut w = EventWriter::new(format, out)?;
    for (code, event) in events {
        w.write(code, event)?;
    }
    w.finish()
}

/// The stable names of the event types, as in the `type` field.
pub const EVENT_TYPES: [&str; 18] = [
    "registered_online",
    "accepted_online",
    "received",
    "refused_at_receipt",
    "transferred",
    "accepted",
    "supplement_requested",
    "supplement_supplied",
    "payment_requested",
    "paid",
    "rescheduled",
    "apologised",
    "resolved",
    "returned",
    "withdrawn",
    "stopped",
    "digitised",
    "synced_to_portal",
];

pub(crate) fn unknown_type(t: &str) -> String {
    format!("unknown event type {t:?}; expected one of {}", EVENT_TYPES.join(", "))
}

/// Parses an RFC 3339 instant (`2025-07-14T09:32:00+07:00`, `…Z`).
pub(crate) fn parse_instant(field: &str, s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("bad instant in `{field}`: {s:?} ({e}); expected RFC 3339 like 2025-07-14T09:32:00+07:00"))
}
