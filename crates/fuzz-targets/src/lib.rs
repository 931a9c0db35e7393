//! The fuzz targets: every parser and renderer that reads input from a user, a file or the
//! network, as a plain function over bytes. `fuzz/` runs each one under libFuzzer (`make fuzz`);
//! this crate's test replays the committed corpora on the stable toolchain, so a regression
//! shows in `make test`.
//!
//! A target must return normally for every input: an error is a normal answer, a panic is a bug.
//! The crate holds no logic of its own beyond choosing what to call; it must not grow parsers.
//!
//! Map: [`TARGETS`] names every target with its function; [`fixtures`] loads the repository's
//! own configuration (calendar, catalog, templates) once for the targets that need a domain.

pub mod fixtures;

use std::collections::HashMap;
use std::io::Cursor;

use motcua_core::calendar::{CalendarData, at_vn};
use motcua_core::catalog::Catalog;
use motcua_core::codes::DossierCode;
use motcua_core::commands::{appointment, parse_instant};
use motcua_core::dossier::Dossier;
use motcua_exchange::{Format, read_events};

/// A target: its name (the file under `fuzz/fuzz_targets/` and the corpus folder) and function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("instant", instant),
    ("calendar_toml", calendar_toml),
    ("catalog_toml", catalog_toml),
    ("import_jsonl", import_jsonl),
    ("import_csv", import_csv),
];

/// An instant as `--at` and the API's `at` take it, and a new appointment as `reschedule` takes
/// it (a date or an instant that must fall on a working day inside office hours).
pub fn instant(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(at) = parse_instant(text) {
        let _ = at_vn(at).to_rfc3339();
    }
    if let Ok(domain) = fixtures::domain() {
        let _ = appointment(domain, text);
    }
}

/// One `<year>.toml` of the calendar folder; a year that parses is put to work (working days
/// counted and added across it).
pub fn calendar_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(year) = CalendarData::parse_year("fuzz.toml", text) else { return };
    let Ok(data) = CalendarData::new(vec![year]) else { return };
    let calendar = motcua_core::calendar::Calendar::new(&data, motcua_core::calendar::OfficeHours::standard());
    let (first, last) = (calendar.first_date(), calendar.last_date());
    let _ = calendar.working_days_between(first, last);
    for n in [0, 1, 5, 15, 400] {
        let _ = calendar.nth_working_day_after(first, n);
    }
    let _ = calendar.working_days_per_year();
}

/// The catalog: `agencies.toml` and `procedures.toml`, given as one input split at the first
/// line `%%`.
pub fn catalog_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (agencies, procedures) = text.split_once("\n%%\n").unwrap_or((text, ""));
    let _ = Catalog::from_toml(agencies, procedures);
}

/// Rows of an event import in JSONL.
pub fn import_jsonl(data: &[u8]) {
    import(Format::Jsonl, data);
}

/// Rows of an event import in CSV.
pub fn import_csv(data: &[u8]) {
    import(Format::Csv, data);
}

/// Reads every row and applies the ones that read to their dossier, as `motcua import` does
/// before it writes.
fn import(format: Format, data: &[u8]) {
    let Ok(domain) = fixtures::domain() else { return };
    let mut dossiers: HashMap<DossierCode, Dossier> = HashMap::new();
    for row in read_events(format, Cursor::new(data)).take(1_000) {
        let Ok(row) = row else { continue };
        let dossier = dossiers.entry(row.code.clone()).or_default();
        let _ = domain.apply(dossier, &row.event);
    }
}
