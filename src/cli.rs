//! The clap command tree and its dispatch.

use std::path::PathBuf;

use anyhow::Result;
use chrono::{DateTime, Utc};
use clap::{Args, Parser, Subcommand};

use crate::calendar_cmd;
use crate::config::Config;
use crate::desk::{self, IntakeArgs, Transition, WriteFlags};
use crate::input;
use motcua_store::report::GroupBy;

/// motcua — một cửa: dossiers, working-day deadlines, on-time rates and apology letters.
#[derive(Debug, Parser)]
#[command(name = "motcua", version, about)]
pub struct Cli {
    /// Configuration folder (motcua.toml, calendars/, catalog/).
    #[arg(long, global = true, env = "MOTCUA_CONFIG", default_value = "config")]
    pub config: PathBuf,
    /// Database URL: sqlite://path (created on first use) or postgres://…
    /// [default: database_url of motcua.toml, else sqlite://data/motcua.db]
    #[arg(long, global = true, env = "MOTCUA_DATABASE_URL", hide_env_values = true)]
    pub db: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct CodeAndWrite {
    /// Dossier code, e.g. 000.00.02.H17-250124-0001.
    pub code: String,
    #[command(flatten)]
    pub write: WriteFlags,
}

#[derive(Debug, Args)]
pub struct ReasonWrite {
    pub code: String,
    #[arg(long)]
    pub reason: String,
    /// A delay reason code from config/delay_reasons.json (citizen_incomplete, agency_workload, …).
    #[arg(long)]
    pub reason_code: Option<String>,
    #[command(flatten)]
    pub write: WriteFlags,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Working-day calendar: due dates, working time between instants, data check.
    #[command(subcommand)]
    Calendar(calendar_cmd::CalendarCommand),
    /// Apply database migrations (every command also does on an empty database).
    Migrate,
    /// List agencies and procedures.
    Catalog {
        #[arg(long)]
        json: bool,
    },
    /// Receive a dossier at a desk (or register an online one): prints its code and due date.
    Intake(IntakeArgs),
    /// Send the dossier to another agency.
    Transfer {
        code: String,
        #[arg(long)]
        to: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Accept the pending transfer (or, on a received dossier, take it into processing at the
    /// receiving agency).
    Accept(CodeAndWrite),
    /// Accept an online submission: the receipt is issued and the clock starts.
    AcceptOnline(CodeAndWrite),
    /// Refuse an online submission at receipt.
    RefuseOnline(ReasonWrite),
    /// Ask the citizen for more papers (the clock stops).
    RequestSupplement {
        code: String,
        #[arg(long)]
        reason: String,
        /// A paper asked for (repeatable).
        #[arg(long = "document")]
        documents: Vec<String>,
        /// A delay reason code from config/delay_reasons.json (e.g. citizen_incomplete).
        #[arg(long)]
        reason_code: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// The citizen supplied the papers (the clock restarts or resumes).
    Supplement(CodeAndWrite),
    /// Ask the citizen to pay fees or taxes (the clock stops).
    RequestPayment {
        code: String,
        #[arg(long, default_value = "")]
        reason: String,
        /// The fee in VND (default: the catalog's fee for the procedure; a procedure with
        /// several fee options needs it).
        #[arg(long, allow_hyphen_values = true)]
        amount: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// The citizen paid (the clock resumes).
    Paid {
        code: String,
        /// cash, bank_transfer, online (national payment platform or a bank's QR) or exempt.
        #[arg(long)]
        method: String,
        /// The receipt's reference (biên lai).
        #[arg(long)]
        receipt: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Record papers of the dossier digitised after intake (at acceptance).
    Digitise {
        code: String,
        /// The name of a digitised paper (repeatable).
        #[arg(long = "document", required = true)]
        documents: Vec<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Apologise with a new appointment date (the due date for classification does not move).
    Reschedule {
        code: String,
        /// New appointment: YYYY-MM-DD (by that day's closing) or an instant.
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
        /// The unit responsible for the delay (default: the holder).
        #[arg(long)]
        responsible: Option<String>,
        /// Allow a second new date (it is reported).
        #[arg(long)]
        override_second: bool,
        /// A date on a day off is moved to the next working day (and said so) instead of refused.
        #[arg(long)]
        next_working_day: bool,
        /// A delay reason code from config/delay_reasons.json (e.g. inter_agency_wait).
        #[arg(long)]
        reason_code: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// The result is ready (approved, or refused with --refused --reason).
    Resolve {
        code: String,
        #[arg(long)]
        refused: bool,
        #[arg(long)]
        reason: Option<String>,
        /// The result was issued electronically (kết quả điện tử); without it, on paper.
        #[arg(long)]
        electronic: bool,
        /// A refusal's reason code from config/delay_reasons.json.
        #[arg(long)]
        reason_code: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// The result was handed back to the applicant.
    Return(CodeAndWrite),
    /// The applicant withdrew the dossier.
    Withdraw {
        code: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Processing stopped.
    Stop(ReasonWrite),
    /// A dossier's state, clocks, control sheet, signals and due-date explanation.
    Show {
        code: String,
        /// Show it as it was at this instant (default: now).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Simulate a city's workload through the desk's write path, as history: no message is
    /// queued unless --notify (docs/worker.md).
    Simulate {
        #[arg(long)]
        dossiers: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// First day of arrivals (default: 2025-03-01).
        #[arg(long)]
        from: Option<String>,
        /// Last day of arrivals (default: a month after --from).
        #[arg(long)]
        to: Option<String>,
        #[command(flatten)]
        arrival: ArrivalArgs,
        #[arg(long)]
        json: bool,
    },
    /// Rebuild projections and aggregates from the event log with the current calendar and
    /// catalog, showing what changes (the log itself is never modified).
    Recompute {
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Import dossiers' events from a JSONL or CSV file, or the national portal's records
    /// (--format dvcqg) (docs/formats.md); bad rows are reported with their line number and
    /// skipped, the rest is imported. Events already in the log are
    /// counted as already present (an interrupted import is simply run again); history is
    /// quiet: no message is queued unless --notify.
    Import {
        file: PathBuf,
        /// jsonl or csv (default: from the file's extension), or dvcqg: the national portal's
        /// records (`DongBoHoSoMC`, one per line, as `export --format dvcqg` writes them).
        #[arg(long)]
        format: Option<String>,
        #[command(flatten)]
        arrival: ArrivalArgs,
        /// Say what would be imported, already present or rejected, and write nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
    /// Dossiers past due with the agency's clock running and no apology: those the next worker
    /// pass apologises for automatically, or with --imported those brought in as history in
    /// that state, left to a person to decide (docs/worker.md).
    Overdue {
        /// The dossiers brought in already past due (import, simulate), which the automatic
        /// apology leaves alone.
        #[arg(long)]
        imported: bool,
        /// Held or received by this agency (repeatable; default: every agency).
        #[arg(long = "agency")]
        agencies: Vec<String>,
        /// As of this instant (default: now).
        #[arg(long)]
        as_of: Option<String>,
        /// At most this many dossiers.
        #[arg(long, default_value_t = 1000)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Export the event log (csv, jsonl) or the national portal's dossier records (dvcqg).
    Export {
        #[arg(long, default_value = "jsonl", value_parser = ["csv", "jsonl", "dvcqg"])]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<PathBuf>,
        /// With --format dvcqg: once the records are written, record that each exported dossier
        /// was sent to the national portal (a `synced_to_portal` event, once per dossier: a
        /// second export marks nothing new).
        #[arg(long)]
        mark_synced: bool,
        /// The instant the marks are recorded at (default: now).
        #[arg(long)]
        at: Option<String>,
        /// Who marks (a staff account's name, kept in the log).
        #[arg(long)]
        by: Option<String>,
    },
    /// Copy a SQLite database, while it is in use, into a new file (a consistent snapshot,
    /// checked before it is given its name); a PostgreSQL database is backed up with pg_dump
    /// (docs/deploy.md).
    Backup {
        /// The backup file to create (never overwritten).
        #[arg(long)]
        to: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Prometheus metrics: `metrics serve --bind ADDR` serves GET /metrics.
    #[command(subcommand)]
    Metrics(crate::metrics_cmd::MetricsCommand),
    /// Serve the JSON API, the web UI, the public lookup and board, and /metrics, with the
    /// worker, until SIGINT/SIGTERM (then finish requests in flight).
    Serve(crate::serve_cmd::ServeArgs),
    /// Staff accounts of the web server: add, list, disable, enable, reset-password, token
    /// (create, list, revoke), unlock.
    #[command(subcommand)]
    Staff(crate::staff_cmd::StaffCommand),
    /// Petitions, complaints and denunciations (kiến nghị, phản ánh; khiếu nại; tố cáo): file,
    /// list, show, accept, extend, transfer, forward, answer, close, rate, report.
    #[command(subcommand)]
    Petition(crate::petition_cmd::PetitionCommand),
    /// The reception hall: list, ticket, call, recall, no-show, start, finish, left, transfer,
    /// redirect, rate, show, queue, book, cancel, check-in, sign-in, close-day, report.
    #[command(subcommand)]
    Hall(crate::hall_cmd::HallCommand),
    /// Reminders, automatic apologies and escalations, and delivery of the outbox (e-mail, or
    /// the desk's print queue): `--once [--as-of INSTANT]` for one pass, else until stopped.
    Worker(crate::worker_cmd::WorkerArgs),
    /// Messages of the outbox: list them (`--status pending|sent|dead`), or `retry ID`.
    Outbox(crate::worker_cmd::OutboxArgs),
    /// A dossier's apology letter, for the desk to print and sign.
    Letter(crate::worker_cmd::LetterArgs),
    /// An official paper: `form receipt|supplement|refusal|apology|control CODE [--format
    /// text|html]`, or the tracking book `form book --from --to --agency [--format csv|html]`.
    Form(crate::form_cmd::FormArgs),
    /// On-time report per agency, procedure or month.
    Report {
        /// First day (default: the first day of the as-of month).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default: the as-of day).
        #[arg(long)]
        to: Option<String>,
        /// agency, procedure or month.
        #[arg(long, default_value = "agency")]
        by: GroupBy,
        /// Report as of this instant (default: now).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
        format: String,
        /// Only the dossiers of this agency (their lead agency), in every grouping.
        #[arg(long)]
        agency: Option<String>,
        /// Count a ceased agency's history (e.g. a district abolished on 30/6/2025) under the
        /// agency that succeeded it as of --as-of (docs/catalog.md); without it, under the
        /// agencies as they were.
        #[arg(long)]
        as_successors: bool,
        /// Instead: the backdated events recorded in the period (stated vs recorded, by whom,
        /// the reason, the gap in working minutes) and their count per officer.
        #[arg(long)]
        backdated: bool,
        /// With --backdated: one staff account's events only.
        #[arg(long, requires = "backdated")]
        officer: Option<String>,
        /// With --backdated: at most this many events.
        #[arg(long, default_value_t = 10_000, requires = "backdated")]
        limit: u32,
        /// Instead: the citizen's whole time per group — for the dossiers finished in the
        /// period that were received from a hall ticket, the time in the hall (number →
        /// receipt), the processing time (receipt → finish) and their sum, median and mean
        /// in minutes, and how many were linked of those finished.
        #[arg(long, conflicts_with = "backdated")]
        hall_wait: bool,
    },
    /// The inspector's watch list (Directive 34-CT/TU): per agency or officer, the dossiers
    /// that showed each avoidance signal in the period, officers with more than two late
    /// dossiers, handoff waits and backdated events.
    Watchlist {
        /// First day (default: the first day of the as-of month).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default: the as-of day).
        #[arg(long)]
        to: Option<String>,
        /// agency or officer.
        #[arg(long, default_value = "agency", value_parser = ["agency", "officer"])]
        by: String,
        /// One agency only (its code).
        #[arg(long)]
        agency: Option<String>,
        /// As of this instant (default: now).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
        format: String,
        /// Sort the rows by this column, largest first: flagged (default), a signal (bounce,
        /// silent_holder, late, …), backdated, handoff_average, …, or key.
        #[arg(long, default_value = "flagged")]
        sort: String,
        /// Language of the table and the CSV headings: vi (default) or en.
        #[arg(long, default_value = "vi", value_parser = ["vi", "en"])]
        lang: String,
        /// Instead of the list, the dossiers behind one count (the codes, in order): the count of
        /// --signal in the row --key (none: the total), for the same period, grouping and agency.
        #[arg(long, requires = "signal")]
        dossiers: bool,
        /// With --dossiers: the kind of the count (bounce, extra_handoffs, silent_holder,
        /// second_supplement, unlisted_papers, late_without_apology, apology_after_due,
        /// second_reschedule, late, slow_handoff).
        #[arg(long, requires = "dossiers")]
        signal: Option<String>,
        /// With --dossiers: the row — an agency's code (--by agency) or an officer's account
        /// (--by officer; "" for events recorded without one); none: the total.
        #[arg(long, requires = "dossiers")]
        key: Option<String>,
    },
    /// The chair's scorecard: every Decision 766/QĐ-TTg indicator the data can compute, with
    /// its points and Da Nang's target, per agency or month (docs/scorecard.md).
    Scorecard {
        /// First day (default: the first day of the as-of month).
        #[arg(long)]
        from: Option<String>,
        /// Last day (default: the as-of day).
        #[arg(long)]
        to: Option<String>,
        /// agency or month.
        #[arg(long, default_value = "agency", value_parser = ["agency", "month"])]
        by: String,
        /// Only the dossiers of this lead agency.
        #[arg(long)]
        agency: Option<String>,
        /// As of this instant (default: now).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long, default_value = "table", value_parser = ["table", "json", "csv"])]
        format: String,
        /// Count a ceased agency's history under the agency that succeeded it as of --as-of
        /// (as `report --as-successors`); without it, under the agencies as they were.
        #[arg(long)]
        as_successors: bool,
    },
}

/// When history arrives (`import`, `simulate`) and whether it queues messages.
#[derive(Debug, Args)]
pub struct ArrivalArgs {
    /// Queue the messages of the dossiers still actionable at --as-of (open and inside their
    /// time); without it, history queues no message at all.
    #[arg(long)]
    pub notify: bool,
    /// The instant the history arrives (default: now): the events' recorded instant, and the
    /// instant dossiers are judged at (still actionable, or already past due and left to a
    /// person: `motcua overdue --imported`).
    #[arg(long)]
    pub as_of: Option<String>,
}

impl ArrivalArgs {
    pub fn arrival(&self) -> Result<crate::exchange_cmd::Arrival> {
        Ok(crate::exchange_cmd::Arrival { now: as_of(&self.as_of)?, notify: self.notify })
    }
}

pub fn as_of(s: &Option<String>) -> Result<DateTime<Utc>> {
    match s {
        Some(s) => input::instant(s),
        None => Ok(Utc::now()),
    }
}

/// Runs a parsed command line.
pub fn run(cli: &Cli) -> Result<()> {
    if let Command::Calendar(cmd) = &cli.command {
        return calendar_cmd::run(&cli.config, cmd);
    }
    let config = Config::load(&cli.config)?;
    let domain = config.domain()?;
    if let Command::Catalog { json } = &cli.command {
        return desk::catalog(&domain, *json);
    }
    let url = cli.db.clone().unwrap_or_else(|| config.settings.database_url.clone());
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let store = motcua_store::open(&url).await?;
        if let Command::Metrics(cmd) = &cli.command {
            return crate::metrics_cmd::run(cmd, store, domain).await;
        }
        if let Command::Serve(args) = &cli.command {
            return crate::serve_cmd::run(&config, args, store, domain).await;
        }
        if let Command::Staff(cmd) = &cli.command {
            return crate::staff_cmd::run(cmd, &store, &domain).await;
        }
        if let Command::Petition(cmd) = &cli.command {
            return crate::petition_cmd::run(cmd, &store, &domain).await;
        }
        if let Command::Hall(cmd) = &cli.command {
            return crate::hall_cmd::run(cmd, &store, &domain).await;
        }
        if let Command::Backup { to, json } = &cli.command {
            let made = store.backup_to(to).await;
            store.close().await;
            let b = made?;
            if *json {
                crate::outln!("{}", serde_json::to_string(&b)?);
            } else {
                crate::outln!(
                    "backup written to {} ({} bytes, {} events, last event {})",
                    b.path.display(),
                    b.bytes,
                    b.events,
                    b.last_event_id
                );
            }
            return Ok(());
        }
        match &cli.command {
            Command::Worker(args) => return crate::worker_cmd::worker(&config, args, store, domain).await,
            Command::Outbox(args) => return crate::worker_cmd::outbox(args, &store).await,
            Command::Letter(args) => return crate::worker_cmd::letter(&config, args, &store, &domain).await,
            Command::Form(args) => return crate::form_cmd::run(&config, &store, &domain, args).await,
            _ => {}
        }
        run_with_store(cli, &store, &domain, config.settings.backdate_window).await
    })
}

async fn run_with_store<
    S: motcua_store::Store
        + motcua_store::OutboxStore
        + motcua_store::PetitionStore
        + motcua_store::StaffStore
        + motcua_store::scorecard::ScorecardStore
        + motcua_store::HallStore,
>(
    cli: &Cli,
    store: &S,
    domain: &motcua_core::Domain,
    window: motcua_core::backdate::BackdateWindow,
) -> Result<()> {
    use Command as C;
    let (code, tr, write): (&String, Transition, &WriteFlags) = match &cli.command {
        C::Calendar(_)
        | C::Catalog { .. }
        | C::Metrics(_)
        | C::Backup { .. }
        | C::Serve(_)
        | C::Staff(_)
        | C::Petition(_)
        | C::Hall(_)
        | C::Worker(_)
        | C::Outbox(_)
        | C::Letter(_)
        | C::Form(_) => return Ok(()),
        C::Migrate => {
            store.migrate().await?;
            crate::outln!("database is up to date");
            return Ok(());
        }
        C::Intake(a) => return desk::intake(store, domain, a).await,
        C::Simulate { dossiers, seed, from, to, arrival, json } => {
            let from = from
                .as_deref()
                .map(input::date)
                .transpose()?
                .unwrap_or(chrono::NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default());
            let to = match to {
                Some(t) => input::date(t)?,
                None => from.checked_add_months(chrono::Months::new(1)).and_then(|d| d.pred_opt()).unwrap_or(from),
            };
            let a = arrival.arrival()?;
            let cfg = crate::bulk::sim_config(*dossiers, *seed, from, to);
            crate::bulk::simulate(store, domain, &cfg, *json, a.notify, a.now).await?;
            return Ok(());
        }
        C::Import { file, format, arrival, dry_run, json } => {
            return crate::exchange_cmd::import(
                store,
                domain,
                file,
                format.as_deref(),
                *json,
                arrival.arrival()?,
                *dry_run,
            )
            .await;
        }
        C::Overdue { imported, agencies, as_of: at, limit, json } => {
            return crate::desk::overdue(store, domain, *imported, agencies, as_of(at)?, *limit, *json).await;
        }
        C::Export { format, output, mark_synced, at, by } => {
            if *mark_synced && format != "dvcqg" {
                anyhow::bail!("--mark-synced goes with --format dvcqg (the national portal's records)");
            }
            let mark = if *mark_synced { Some((as_of(at)?, by.clone())) } else { None };
            return crate::exchange_cmd::export(store, domain, format, output.as_deref(), mark).await;
        }
        C::Recompute { dry_run, json } => return crate::bulk::recompute(store, domain, *dry_run, *json).await,
        C::Show { code, as_of: at, json } => return desk::show_dossier(store, domain, code, as_of(at)?, *json).await,
        C::Report { from, to, as_of: at, format, backdated: true, officer, limit, .. } => {
            let period = Period::of(from, to, at)?;
            return backdated(store, domain, window, &period, officer.as_deref(), *limit, format).await;
        }
        C::Report { from, to, by, as_of: at, format, agency, as_successors, hall_wait, .. } => {
            let p = Period::of(from, to, at)?;
            let mut q = motcua_store::report::ReportQuery::new(p.from, p.to, *by, p.as_of);
            q.agency = agency
                .as_deref()
                .map(|a| a.trim().parse::<motcua_core::AgencyCode>().map_err(|e| anyhow::anyhow!("--agency: {e}")))
                .transpose()?;
            q.as_successors = *as_successors;
            q.check(domain).map_err(|e| anyhow::anyhow!("--agency: {e}"))?;
            if *hall_wait {
                let r = motcua_store::report::hall_wait(store, domain, &q).await?;
                match format.as_str() {
                    "json" => crate::outln!("{}", r.to_json()),
                    "csv" => crate::out!("{}", r.to_csv()),
                    _ => crate::out!("{}", r.to_table()),
                }
                return Ok(());
            }
            return report(store, domain, &q, format).await;
        }
        C::Watchlist { from, to, by, agency, as_of: at, format, sort, lang, dossiers: drill, signal, key } => {
            let p = Period::of(from, to, at)?;
            let agency = agency
                .as_deref()
                .map(|a| a.trim().parse::<motcua_core::AgencyCode>().map_err(|e| anyhow::anyhow!("--agency: {e}")))
                .transpose()?;
            if let Some(a) = &agency {
                domain.agency(a)?;
            }
            let q = motcua_core::watchlist::WatchQuery {
                from: p.from,
                to: p.to,
                as_of: p.as_of,
                by: by.parse().map_err(anyhow::Error::msg)?,
                agency,
            };
            if !q.is_valid() {
                anyhow::bail!("the period's days must be of the years 1 to 9999");
            }
            let lang = if lang == "en" { motcua_core::Lang::En } else { motcua_core::Lang::Vi };
            if *drill {
                let name = signal.as_deref().unwrap_or("");
                let Some(kind) = motcua_core::watchlist::WatchKind::parse(name) else {
                    let kinds: Vec<&str> = motcua_core::watchlist::WatchKind::ALL.iter().map(|k| k.name()).collect();
                    anyhow::bail!("--signal {name:?}: expected one of {}", kinds.join(", "));
                };
                let cell = motcua_core::watchlist::WatchCellRef { kind, key: key.clone() };
                return watchlist_dossiers(store, &q, &cell, lang, format).await;
            }
            return watchlist(store, domain, &q, sort, lang, format).await;
        }
        C::Scorecard { from, to, by, agency, as_of: at, format, as_successors } => {
            let p = Period::of(from, to, at)?;
            let agency = agency
                .as_deref()
                .map(|a| a.trim().parse::<motcua_core::AgencyCode>().map_err(|e| anyhow::anyhow!("--agency: {e}")))
                .transpose()?;
            let q = motcua_store::scorecard::ScoreQuery {
                from: p.from,
                to: p.to,
                by: by.parse().map_err(anyhow::Error::msg)?,
                as_of: p.as_of,
                agency,
                as_successors: *as_successors,
            };
            q.check(domain).map_err(|e| anyhow::anyhow!("--agency: {e}"))?;
            return scorecard(store, domain, &q, format).await;
        }
        C::Transfer { code, to, write } => (code, Transition::Transfer { to: to.clone() }, write),
        C::Accept(a) => (&a.code, Transition::Accept, &a.write),
        C::AcceptOnline(a) => (&a.code, Transition::AcceptOnline, &a.write),
        C::RefuseOnline(a) => (
            &a.code,
            Transition::RefuseOnline { reason: a.reason.clone(), reason_code: a.reason_code.clone() },
            &a.write,
        ),
        C::RequestSupplement { code, reason, documents, reason_code, write } => (
            code,
            Transition::RequestSupplement {
                reason: reason.clone(),
                documents: documents.clone(),
                reason_code: reason_code.clone(),
            },
            write,
        ),
        C::Supplement(a) => (&a.code, Transition::Supplement, &a.write),
        C::RequestPayment { code, reason, amount, write } => {
            (code, Transition::RequestPayment { reason: reason.clone(), amount: amount.clone() }, write)
        }
        C::Paid { code, method, receipt, write } => {
            (code, Transition::Paid { method: method.clone(), receipt: receipt.clone() }, write)
        }
        C::Digitise { code, documents, write } => (code, Transition::Digitise { documents: documents.clone() }, write),
        C::Reschedule { code, to, reason, responsible, override_second, next_working_day, reason_code, write } => {
            if *next_working_day
                && let Ok((moved_to, Some(from))) = motcua_core::commands::appointment_or_next_working_day(domain, to)
            {
                eprintln!(
                    "note: {} is not a working day; the new appointment is moved to the next working day, {}",
                    from.format("%d/%m/%Y"),
                    motcua_core::calendar::to_local(moved_to).format("%d/%m/%Y %H:%M")
                );
            }
            let tr = Transition::Reschedule {
                to: to.clone(),
                reason: reason.clone(),
                responsible: responsible.clone(),
                override_second: *override_second,
                next_working_day: *next_working_day,
                reason_code: reason_code.clone(),
            };
            (code, tr, write)
        }
        C::Resolve { code, refused, reason, electronic, reason_code, write } => (
            code,
            Transition::Resolve {
                refused: *refused,
                reason: reason.clone(),
                electronic: *electronic,
                reason_code: reason_code.clone(),
            },
            write,
        ),
        C::Return(a) => (&a.code, Transition::Return, &a.write),
        C::Withdraw { code, reason, write } => (code, Transition::Withdraw { reason: reason.clone() }, write),
        C::Stop(a) => {
            (&a.code, Transition::Stop { reason: a.reason.clone(), reason_code: a.reason_code.clone() }, &a.write)
        }
    };
    desk::transition(store, domain, code, &tr, write).await
}

/// The days of a report: `--from`..=`--to`, by default the as-of month up to the as-of day.
struct Period {
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    as_of: DateTime<Utc>,
}

impl Period {
    fn of(from: &Option<String>, to: &Option<String>, at: &Option<String>) -> Result<Self> {
        let as_of = as_of(at)?;
        let today = motcua_core::calendar::to_local(as_of).date();
        let to = to.as_deref().map(input::date).transpose()?.unwrap_or(today);
        let from = match from {
            Some(f) => input::date(f)?,
            None => chrono::NaiveDate::from_ymd_opt(chrono::Datelike::year(&to), chrono::Datelike::month(&to), 1)
                .unwrap_or(to),
        };
        if from > to {
            anyhow::bail!("--from {from} is after --to {to}");
        }
        Ok(Self { from, to, as_of })
    }
}

/// `report --backdated`: the events recorded in the period that are stated earlier than they
/// were recorded, read from the log by their recorded instant; gaps in working minutes from
/// core's calendar, judged against motcua.toml's backdating window.
async fn backdated<S: motcua_store::Store>(
    store: &S,
    domain: &motcua_core::Domain,
    window: motcua_core::backdate::BackdateWindow,
    p: &Period,
    officer: Option<&str>,
    limit: u32,
    format: &str,
) -> Result<()> {
    use motcua_core::calendar::from_local;
    let start = from_local(p.from.and_time(chrono::NaiveTime::MIN));
    let end = from_local(p.to.succ_opt().unwrap_or(p.to).and_time(chrono::NaiveTime::MIN));
    let rows = store.backdated_events(start, end, officer, limit.max(1)).await?;
    let truncated = rows.len() >= limit.max(1) as usize;
    let r = motcua_core::backdate::BackdatingReport::build(
        domain,
        window,
        rows.iter().map(|r| (&r.code, r.seq, &r.event, r.recorded_at)),
    );
    let safe = |s: &str| -> String { motcua_core::text::for_terminal(s).into_owned() };
    match format {
        "json" => {
            let mut v = serde_json::to_value(&r)?;
            v["from"] = serde_json::json!(p.from);
            v["to"] = serde_json::json!(p.to);
            v["truncated"] = serde_json::json!(truncated);
            crate::outln!("{v}");
        }
        "csv" => {
            crate::outln!("code,seq,kind,by,stated_at,recorded_at,gap_working_minutes,beyond_window,reason");
            let field = |s: &str| format!("\"{}\"", safe(s).replace('"', "\"\""));
            for e in &r.events {
                crate::outln!(
                    "{},{},{},{},{},{},{},{},{}",
                    e.code,
                    e.seq,
                    e.kind,
                    field(e.by.as_deref().unwrap_or("")),
                    e.at,
                    e.recorded_at,
                    e.gap_working_minutes.map(|m| m.to_string()).unwrap_or_default(),
                    e.beyond_window,
                    field(e.reason.as_deref().unwrap_or(""))
                );
            }
        }
        _ => {
            crate::outln!(
                "backdated events recorded {} to {} (window {}){}",
                p.from,
                p.to,
                r.window,
                if truncated { ", cut at --limit" } else { "" }
            );
            for e in &r.events {
                crate::outln!(
                    "  {} #{:<3} {:<20} by {:<12} stated {}  recorded {}  gap {} working min{}{}",
                    e.code,
                    e.seq,
                    e.kind,
                    safe(e.by.as_deref().unwrap_or("—")),
                    e.at,
                    e.recorded_at,
                    e.gap_working_minutes.map_or_else(|| "?".to_string(), |m| m.to_string()),
                    if e.beyond_window { "  BEYOND WINDOW" } else { "" },
                    e.reason.as_deref().map(|x| format!("  reason: {}", safe(x))).unwrap_or_default()
                );
            }
            crate::outln!("per officer:");
            for o in &r.officers {
                crate::outln!(
                    "  {:<16} {:>5} backdated  {:>5} beyond the window  gap max {} / total {} working min",
                    if o.by.is_empty() { "(none)".to_string() } else { safe(&o.by) },
                    o.events,
                    o.beyond_window,
                    o.gap_working_minutes_max,
                    o.gap_working_minutes_total
                );
            }
        }
    }
    Ok(())
}

async fn report<S: motcua_store::Store>(
    store: &S,
    domain: &motcua_core::Domain,
    q: &motcua_store::report::ReportQuery,
    format: &str,
) -> Result<()> {
    let r = motcua_store::report::report(store, domain, q).await?;
    match format {
        "json" => crate::outln!("{}", r.to_json()),
        "csv" => crate::out!("{}", r.to_csv()),
        _ => crate::out!("{}", r.to_table()),
    }
    Ok(())
}

/// `motcua scorecard`: the table (points with 2 decimals, ✓/✗ against the target), JSON or CSV.
async fn scorecard<
    S: motcua_store::Store
        + motcua_store::scorecard::ScorecardStore
        + motcua_store::StaffStore
        + motcua_store::PetitionStore,
>(
    store: &S,
    domain: &motcua_core::Domain,
    q: &motcua_store::scorecard::ScoreQuery,
    format: &str,
) -> Result<()> {
    let card = motcua_store::scorecard::scorecard(store, domain, q).await?;
    match format {
        "json" => crate::outln!("{}", card.to_json()),
        "csv" => crate::out!("{}", card.to_csv()),
        _ => crate::out!("{}", card.to_table()),
    }
    Ok(())
}

/// `motcua watchlist --dossiers`: the codes behind one count, read page by page.
async fn watchlist_dossiers<S: motcua_store::Store>(
    store: &S,
    q: &motcua_core::watchlist::WatchQuery,
    cell: &motcua_core::watchlist::WatchCellRef,
    lang: motcua_core::Lang,
    format: &str,
) -> Result<()> {
    const PAGE: u32 = 10_000;
    let mut codes = Vec::new();
    let mut page = 1;
    let total = loop {
        let window = motcua_store::Window::page(page, PAGE);
        let p = motcua_store::watchlist::dossiers(store, q, cell, window).await?;
        let done = p.rows.len() < PAGE as usize;
        codes.extend(p.rows);
        if done {
            break p.total;
        }
        page += 1;
    };
    match format {
        "json" => crate::outln!(
            "{}",
            serde_json::json!({
                "from": q.from, "to": q.to, "as_of": motcua_core::calendar::at_vn(q.as_of).to_rfc3339(),
                "by": q.by.name(), "agency": q.agency, "signal": cell.kind.name(), "key": cell.key,
                "total": total, "dossiers": codes,
            })
        ),
        "csv" => crate::out!("{}", motcua_store::watchlist::dossiers_csv(&codes, lang)),
        _ => {
            for c in &codes {
                crate::outln!("{c}");
            }
            crate::outln!(
                "{}",
                if lang == motcua_core::Lang::Vi {
                    format!("({total} hồ sơ)")
                } else {
                    format!("({total} dossiers)")
                }
            );
        }
    }
    Ok(())
}

/// `motcua watchlist`: read from the aggregates the write path keeps.
async fn watchlist<S: motcua_store::Store>(
    store: &S,
    domain: &motcua_core::Domain,
    q: &motcua_core::watchlist::WatchQuery,
    sort: &str,
    lang: motcua_core::Lang,
    format: &str,
) -> Result<()> {
    let mut list = motcua_store::watchlist::watchlist(store, domain, q).await?;
    if !list.sort_by(sort) {
        anyhow::bail!("--sort {sort:?}: expected key or one of {}", motcua_core::watchlist::SORT_COLUMNS.join(", "));
    }
    match format {
        "json" => crate::outln!("{}", serde_json::to_string(&list)?),
        "csv" => crate::out!("{}", motcua_store::watchlist::to_csv(&list, lang)),
        _ => crate::out!("{}", motcua_store::watchlist::to_table(&list, lang)),
    }
    Ok(())
}
