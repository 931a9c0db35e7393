//! The fuzz targets: every parser and renderer that reads input from a user, a file or the
//! network, as a plain function over bytes. `fuzz/` runs each one under libFuzzer (`make fuzz`);
//! this crate's test replays the committed corpora on the stable toolchain, so a regression
//! shows in `make test`.
//!
//! A target must return normally for every input: an error is a normal answer, a panic is a bug.
//! The crate holds no logic of its own beyond choosing what to call; it must not grow parsers.
//!
//! Map: [`TARGETS`] names every target with its function; [`fixtures`] loads the repository's
//! own configuration (calendar, catalog, templates) once for the targets that need a domain;
//! [`bodies`] holds the targets of the server's request bodies (`api_bodies`, `desk_forms`) and
//! [`papers`] the one of its printed papers (`receipt_letter`).

pub mod bodies;
pub mod fixtures;
pub mod papers;

pub use bodies::{api_bodies, desk_forms};
pub use papers::receipt_letter;

use std::collections::HashMap;
use std::io::Cursor;

use motcua_core::calendar::{CalendarData, at_vn};
use motcua_core::catalog::Catalog;
use motcua_core::codes::DossierCode;
use motcua_core::commands::{appointment, parse_instant};
use motcua_core::dossier::Dossier;
use motcua_exchange::{Format, read_dvcqg, read_events};

/// A target: its name (the file under `fuzz/fuzz_targets/` and the corpus folder) and function.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("instant", instant),
    ("calendar_toml", calendar_toml),
    ("catalog_toml", catalog_toml),
    ("import_jsonl", import_jsonl),
    ("import_csv", import_csv),
    ("import_dvcqg", import_dvcqg),
    ("email", email),
    ("api_bodies", api_bodies),
    ("desk_forms", desk_forms),
    ("receipt_letter", receipt_letter),
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

/// National portal records (`import --format dvcqg`): each record read into events (motcua's
/// own rows, or derived from the portal's fields), applied to its dossier.
pub fn import_dvcqg(data: &[u8]) {
    let Ok(domain) = fixtures::domain() else { return };
    let mut dossiers: HashMap<DossierCode, Dossier> = HashMap::new();
    for record in read_dvcqg(domain, Cursor::new(data)).take(1_000) {
        let Ok(record) = record else { continue };
        let dossier = dossiers.entry(record.code.clone()).or_default();
        for event in &record.events {
            let _ = domain.apply(dossier, event);
        }
    }
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

/// An e-mail from hostile stored values, as the worker writes it: the input is the applicant's
/// name, e-mail address and street address separated by NUL bytes, put into a stored receipt
/// or result notice (the first byte chooses), rendered by the repository's templates in
/// Vietnamese and English, and built into RFC 5322 text with the name in the `To` header.
pub fn email(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.split('\0');
    let (name, address, street) = (fields.next().unwrap_or(""), fields.next().unwrap_or(""), fields.next());
    let (Ok(templates), Some(sender)) = (fixtures::templates(), fixtures::sender()) else { return };
    let Some(stored) = fixtures::letter(data.first().is_some_and(|b| b % 2 == 1)) else { return };
    let mut letter = stored.clone();
    letter.dossier.applicant_name = name.to_string();
    letter.dossier.applicant_address = street.map(str::to_string);
    letter.dossier.applicant_email = Some(address.to_string());
    let Ok(to) = address.parse::<lettre::Address>() else { return };
    let to = lettre::message::Mailbox::new(motcua_worker::compose::display_name(name), to);
    let id = motcua_worker::compose::message_id(1, "fuzz", sender);
    for lang in [motcua_core::deadlines::Lang::Vi, motcua_core::deadlines::Lang::En] {
        let Ok(rendered) = templates.render(letter.kind.name(), lang, &letter, address) else { continue };
        if let Ok(message) = motcua_worker::compose::build(sender, to.clone(), &id, letter.issued_at, &rendered) {
            let _ = message.formatted();
        }
    }
}
