//! The repository's own configuration, compiled in: the Vietnamese calendar, the catalog and
//! standard office hours, as the targets that need a domain use it.

use std::sync::LazyLock;

use motcua_core::ClassifyMode;
use motcua_core::calendar::{Calendar, CalendarData, OfficeHours};
use motcua_core::catalog::Catalog;
use motcua_core::domain::Domain;

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

static DOMAIN: LazyLock<Domain> = LazyLock::new(|| match load() {
    Ok(domain) => domain,
    // The repository's own configuration is checked by its own tests; failing here is a
    // broken checkout, not a finding of the fuzzer.
    Err(e) => panic!("the repository's configuration does not load: {e}"),
});

/// The domain of the repository's configuration.
pub fn domain() -> &'static Domain {
    &DOMAIN
}
