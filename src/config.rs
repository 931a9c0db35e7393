//! Loading motcua's configuration folder: settings, the calendar and the catalog.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use motcua_core::backdate::BackdateWindow;
use motcua_core::{Calendar, CalendarData, Catalog, ClassifyMode, DelayReasons, Domain, OfficeHours};
use serde::Deserialize;

/// `config/motcua.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default = "default_db")]
    pub database_url: String,
    #[serde(default)]
    pub classify: ClassifyMode,
    #[serde(default = "default_calendar_dir")]
    pub calendar_dir: String,
    #[serde(default)]
    pub office_hours: Option<Vec<(String, String)>>,
    /// How far before now staff may date an action through the API and the pages
    /// (`serve --backdate-window` overrides it): `1d`, `4h`, `90m`, `0`.
    #[serde(default, deserialize_with = "window")]
    pub backdate_window: BackdateWindow,
    /// The place in the date line of every paper ("Đà Nẵng, ngày … tháng … năm …").
    #[serde(default = "default_place")]
    pub place: String,
    /// The server's public address: the lookup link and QR code on papers printed away from
    /// the server (`motcua form`, `motcua letter`, the worker's print queue); `serve
    /// --public-url` (MOTCUA_PUBLIC_URL) overrides it for the server.
    #[serde(default = "default_public_url")]
    pub public_url: String,
    /// `[mail]`: how the worker delivers messages (motcua-worker's `MailSettings`).
    #[serde(default)]
    pub mail: motcua_worker::MailSettings,
}

fn default_place() -> String {
    "Đà Nẵng".into()
}

fn default_public_url() -> String {
    "http://127.0.0.1:8080".into()
}

fn window<'de, D: serde::Deserializer<'de>>(d: D) -> Result<BackdateWindow, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

fn default_db() -> String {
    "sqlite://data/motcua.db".into()
}

fn default_calendar_dir() -> String {
    "calendars/vn".into()
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: default_db(),
            classify: ClassifyMode::default(),
            calendar_dir: default_calendar_dir(),
            office_hours: None,
            backdate_window: BackdateWindow::default(),
            place: default_place(),
            public_url: default_public_url(),
            mail: motcua_worker::MailSettings::default(),
        }
    }
}

/// A text file the configuration names, read whole: a missing file, a folder in its place and
/// bytes that are not UTF-8 are each said plainly, with the path.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::IsADirectory => anyhow::anyhow!("{} is a folder, not a file", path.display()),
        _ => anyhow::Error::new(e).context(format!("cannot read {}", path.display())),
    })?;
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{} is not UTF-8 text (the first bad byte is at offset {}); save it as UTF-8",
            path.display(),
            e.utf8_error().valid_up_to()
        )
    })
}

/// The configuration folder and what was read from it.
#[derive(Debug)]
pub struct Config {
    pub dir: PathBuf,
    pub settings: Settings,
}

impl Config {
    pub fn load(dir: &Path) -> Result<Self> {
        match fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                bail!("the configuration folder {} is a file, not a folder (--config, MOTCUA_CONFIG)", dir.display())
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(format!(
                    "cannot open the configuration folder {} (--config, MOTCUA_CONFIG; default ./config)",
                    dir.display()
                )));
            }
        }
        let file = dir.join("motcua.toml");
        let settings = if file.exists() {
            let text = read_text(&file)?;
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", file.display(), e.message()))?
        } else {
            Settings::default()
        };
        Ok(Self { dir: dir.to_path_buf(), settings })
    }

    pub fn office_hours(&self) -> Result<OfficeHours> {
        match &self.settings.office_hours {
            Some(pairs) => Ok(OfficeHours::parse(pairs)?),
            None => Ok(OfficeHours::standard()),
        }
    }

    /// Reads and validates every `<year>.toml` of the calendar folder.
    pub fn calendar_data(&self) -> Result<CalendarData> {
        let dir = self.dir.join(&self.settings.calendar_dir);
        let mut entries: Vec<PathBuf> = fs::read_dir(&dir)
            .with_context(|| format!("cannot read the calendar folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        if entries.is_empty() {
            bail!("the calendar folder {} has no <year>.toml file", dir.display());
        }
        let mut years = Vec::new();
        let mut problems = Vec::new();
        for path in entries {
            let text = read_text(&path)?;
            match CalendarData::parse_year(&path.display().to_string(), &text) {
                Ok(y) => {
                    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
                    if stem != y.year.to_string() {
                        problems.push(format!(
                            "{}: says year = {} but the file is named {stem}.toml",
                            path.display(),
                            y.year
                        ));
                    }
                    years.push(y)
                }
                Err(e) => problems.push(e.to_string()),
            }
        }
        if !problems.is_empty() {
            bail!("invalid calendar data:\n  - {}", problems.join("\n  - "));
        }
        Ok(CalendarData::new(years)?)
    }

    pub fn calendar(&self) -> Result<Calendar> {
        Ok(Calendar::new(&self.calendar_data()?, self.office_hours()?))
    }

    pub fn catalog(&self) -> Result<Catalog> {
        let read = |name: &str| read_text(&self.dir.join("catalog").join(name));
        Ok(Catalog::from_toml(&read("agencies.toml")?, &read("procedures.toml")?)?)
    }

    /// `delay_reasons.json`: the delay reason codes commands may record, checked; without the
    /// file, the list motcua ships.
    pub fn delay_reasons(&self) -> Result<DelayReasons> {
        let path = self.dir.join("delay_reasons.json");
        if !path.exists() {
            return Ok(DelayReasons::default());
        }
        DelayReasons::from_json(&read_text(&path)?).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    pub fn domain(&self) -> Result<Domain> {
        let catalog = self.catalog()?;
        let halls = self.halls(&catalog)?;
        Ok(Domain::new(self.calendar()?, catalog, self.settings.classify)
            .with_delay_reasons(self.delay_reasons()?)
            .with_halls(halls))
    }

    /// The reception halls of `catalog/halls.toml` (none when the file is absent), checked
    /// against the catalog.
    pub fn halls(&self, catalog: &Catalog) -> Result<motcua_core::hall::HallCatalog> {
        let path = self.dir.join("catalog").join("halls.toml");
        if !path.exists() {
            return Ok(motcua_core::hall::HallCatalog::default());
        }
        Ok(motcua_core::hall::HallCatalog::from_toml(&read_text(&path)?, catalog)?)
    }
}
