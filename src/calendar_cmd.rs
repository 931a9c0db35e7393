//! `motcua calendar …`: due dates, working time between instants, and the calendar check.

use anyhow::{Result, bail};
use clap::{Args, Subcommand};
use motcua_core::deadlines::{Lang, TimeLimit, deadline, explain};
use serde_json::json;

use crate::config::Config;
use crate::input;

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// When is a dossier received at --from due?
    Due(DueArgs),
    /// Working minutes between two instants.
    Between(BetweenArgs),
    /// Validate the calendar data and print the working days per year.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct DueArgs {
    /// Receipt instant (RFC 3339, e.g. 2025-01-24T16:40:00+07:00).
    #[arg(long)]
    pub from: String,
    #[arg(long, group = "limit", allow_negative_numbers = true)]
    pub working_days: Option<i64>,
    #[arg(long, group = "limit", allow_negative_numbers = true)]
    pub working_hours: Option<i64>,
    #[arg(long, group = "limit", allow_negative_numbers = true)]
    pub calendar_days: Option<i64>,
    /// Receipts at or after this time (HH:MM) count from the next working day.
    #[arg(long)]
    pub cutoff: Option<String>,
    /// Explanation language: vi or en.
    #[arg(long, default_value = "vi")]
    pub lang: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct BetweenArgs {
    #[arg(long)]
    pub from: String,
    #[arg(long)]
    pub to: String,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(long)]
    pub json: bool,
}

fn lang(s: &str) -> Result<Lang> {
    match s {
        "vi" => Ok(Lang::Vi),
        "en" => Ok(Lang::En),
        other => bail!("invalid language {other:?}: expected vi or en"),
    }
}

/// Runs a calendar command with the configuration of `config_dir`.
pub fn run(config_dir: &std::path::Path, cmd: &CalendarCommand) -> Result<()> {
    let config = Config::load(config_dir)?;
    match cmd {
        CalendarCommand::Due(a) => {
            let from = input::instant(&a.from)?;
            let limit = match (a.working_days, a.working_hours, a.calendar_days) {
                (Some(n), None, None) => TimeLimit::from_count(TimeLimit::WorkingDays, n)?,
                (None, Some(n), None) => TimeLimit::from_count(TimeLimit::WorkingHours, n)?,
                (None, None, Some(n)) => TimeLimit::from_count(TimeLimit::CalendarDays, n)?,
                _ => bail!("give exactly one of --working-days, --working-hours, --calendar-days"),
            };
            let cutoff = a.cutoff.as_deref().map(input::time_of_day).transpose()?;
            let lang = lang(&a.lang)?;
            let cal = config.calendar()?;
            let d = deadline(&cal, from, limit, cutoff)?;
            let lines = explain(&d.steps, lang);
            if a.json {
                crate::outln!(
                    "{}",
                    json!({"start_at": input::show(d.start), "due_at": input::show(d.due), "explanation": lines})
                );
            } else {
                crate::outln!("start: {}", input::show(d.start));
                crate::outln!("due:   {}", input::show(d.due));
                for l in lines {
                    crate::outln!("  - {l}");
                }
                if cal.is_provisional(motcua_core::calendar::to_local(d.due).date()) {
                    crate::outln!(
                        "  ! the due date falls in a provisional calendar year: bridges and swaps are not yet decided"
                    );
                }
            }
        }
        CalendarCommand::Between(a) => {
            let from = input::instant(&a.from)?;
            let to = input::instant(&a.to)?;
            let minutes = config.calendar()?.working_minutes_between(from, to)?;
            if a.json {
                crate::outln!("{}", json!({"working_minutes": minutes}));
            } else {
                crate::outln!(
                    "{minutes} working minutes ({})",
                    motcua_core::deadlines::format_working_minutes(minutes, Lang::En)
                );
            }
        }
        CalendarCommand::Check(a) => {
            let data = config.calendar_data()?;
            let cal = motcua_core::Calendar::new(&data, config.office_hours()?);
            let years: Vec<_> = data
                .years()
                .iter()
                .zip(cal.working_days_per_year())
                .map(|(y, (_, n))| json!({"year": y.year, "working_days": n, "provisional": y.provisional, "days_off": y.days_off.len(), "makeup_workdays": y.makeup_workdays.len()}))
                .collect();
            if a.json {
                crate::outln!("{}", json!({"years": years, "warnings": data.warnings}));
            } else {
                crate::outln!(
                    "calendar {} is valid: {} to {}",
                    config.dir.join(&config.settings.calendar_dir).display(),
                    cal.first_date(),
                    cal.last_date()
                );
                for y in &years {
                    let prov = if y["provisional"] == true { "  (provisional)" } else { "" };
                    crate::outln!("{}: {} working days{prov}", y["year"], y["working_days"]);
                }
                for w in &data.warnings {
                    crate::outln!("warning: {w}");
                }
            }
        }
    }
    Ok(())
}
