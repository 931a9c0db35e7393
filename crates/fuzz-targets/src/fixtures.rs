//! The repository's own configuration, compiled in: the Vietnamese calendar, the catalog and
//! standard office hours, as the targets that need a domain use it; the e-mail and letter
//! templates (read from config/templates), two stored letters for the e-mail target, and the
//! fixed now of the request-body targets.

use std::sync::LazyLock;

use motcua_core::ClassifyMode;
use motcua_core::calendar::{Calendar, CalendarData, OfficeHours};
use motcua_core::catalog::Catalog;
use motcua_core::domain::Domain;
use motcua_core::letters::Letter;
use motcua_worker::Templates;

const YEARS: [(&str, &str); 5] = [
    ("2023.toml", include_str!("../../../config/calendars/vn/2023.toml")),
    ("2024.toml", include_str!("../../../config/calendars/vn/2024.toml")),
    ("2025.toml", include_str!("../../../config/calendars/vn/2025.toml")),
    ("2026.toml", include_str!("../../../config/calendars/vn/2026.toml")),
    ("2027.toml", include_str!("../../../config/calendars/vn/2027.toml")),
];
const AGENCIES: &str = include_str!("../../../config/catalog/agencies.toml");
const PROCEDURES: &str = include_str!("../../../config/catalog/procedures.toml");

fn load() -> Result<Domain, String> {
    let years = YEARS
        .iter()
        .map(|(name, text)| CalendarData::parse_year(name, text))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let data = CalendarData::new(years).map_err(|e| e.to_string())?;
    let calendar = Calendar::new(&data, OfficeHours::standard());
    let catalog = Catalog::from_toml(AGENCIES, PROCEDURES).map_err(|e| e.to_string())?;
    Ok(Domain::new(calendar, catalog, ClassifyMode::default()))
}

static DOMAIN: LazyLock<Result<Domain, String>> = LazyLock::new(load);

/// The domain of the repository's configuration, or why it does not load (a broken checkout,
/// which the replay test reports; the targets then have nothing to run against).
pub fn domain() -> Result<&'static Domain, &'static str> {
    DOMAIN.as_ref().map_err(String::as_str)
}

static TEMPLATES: LazyLock<Result<Templates, String>> = LazyLock::new(|| {
    Templates::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/templates"))
        .map_err(|e| e.to_string())
});

/// The repository's e-mail templates.
pub fn templates() -> Result<&'static Templates, &'static str> {
    TEMPLATES.as_ref().map_err(String::as_str)
}

static LETTERS: LazyLock<Vec<Letter>> = LazyLock::new(|| {
    [include_str!("../fixtures/receipt.json"), include_str!("../fixtures/result_ready.json")]
        .iter()
        .filter_map(|text| serde_json::from_str(text).ok())
        .collect()
});

/// A stored receipt (`result` false) or result notice (true) to a citizen.
pub fn letter(result: bool) -> Option<&'static Letter> {
    LETTERS.get(usize::from(result))
}

static SENDER: LazyLock<Option<lettre::message::Mailbox>> =
    LazyLock::new(|| "Bộ phận Một cửa <motcua@hcc.danang.example>".parse().ok());

/// The sender the worker writes from.
pub fn sender() -> Option<&'static lettre::message::Mailbox> {
    SENDER.as_ref()
}

static NOW: LazyLock<chrono::DateTime<chrono::Utc>> =
    LazyLock::new(|| motcua_core::commands::parse_instant("2025-03-24T09:00:00+07:00").unwrap_or_default());

/// The server's now for the targets of request bodies: Monday 24 March 2025, 09:00 in Vietnam,
/// so that one working day back reaches over the weekend to Friday.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    *NOW
}
