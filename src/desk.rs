//! The desk's commands: intake, every transition, `show`, `catalog`.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use motcua_core::backdate::{BackdateWindow, Stating};
use motcua_core::commands::{CheckedIntake, DocumentSpec, FieldStyle, IntakeForm};
use motcua_core::deadlines::{Lang, explain, format_working_minutes};
use motcua_core::view::{CatalogView, LogLine};
use motcua_core::{Channel, Domain, Dossier, DossierCode, Event, EventKind};
use motcua_store::{NewDossier, Store};
use serde_json::{Value, json};

use crate::input::{self, show};

/// Flags every write command takes.
#[derive(Debug, Clone, Args)]
pub struct WriteFlags {
    /// When it happened (default: now). The operator keys in paper history with it: no
    /// backdating window applies here (unlike the API and the pages), but never a future
    /// instant, nor one before the dossier's last event. The log keeps both instants.
    #[arg(long)]
    pub at: Option<String>,
    /// Why the event is keyed in after the fact (kept in the event, shown by `show` and
    /// `report --backdated`).
    #[arg(long)]
    pub backdate_reason: Option<String>,
    /// The staff account recording it.
    #[arg(long)]
    pub by: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// The instants of a write from the command line: as stated (`--at`, default now) and as
/// recorded (now), and the reason given.
#[derive(Debug)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub reason: Option<String>,
}

impl WriteFlags {
    /// `--at` checked by core's honest-times rule for the operator: never after now.
    pub fn stamp(&self, domain: &Domain) -> Result<Stamp> {
        let now = motcua_core::calendar::truncate_to_micros(Utc::now());
        let reason = motcua_core::text::optional_paragraph(
            self.backdate_reason.as_deref().unwrap_or(""),
            "--backdate-reason",
            motcua_core::text::REASON_MAX_CHARS,
        )?;
        let at = match &self.at {
            Some(s) => input::instant(s)?,
            None => now,
        };
        motcua_core::backdate::check(&domain.calendar, at, now, BackdateWindow::default(), Stating::Operator, true)?;
        Ok(Stamp { at, now, reason })
    }
}

#[derive(Debug, Clone, Args)]
pub struct IntakeArgs {
    #[arg(long)]
    pub procedure: String,
    /// The receiving agency (its desk).
    #[arg(long)]
    pub agency: String,
    #[arg(long)]
    pub applicant: String,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub id_number: Option<String>,
    #[arg(long)]
    pub address: Option<String>,
    /// in_person, online or postal. An online dossier is registered (status 1) until accepted.
    #[arg(long, default_value = "in_person")]
    pub channel: String,
    /// One line of the document checklist, `NAME:original|copy|photocopy:COUNT` (bản chính /
    /// bản sao / bản photo; the kind defaults to original, the count to 1); repeatable.
    #[arg(long = "document", value_name = "NAME:KIND:COUNT")]
    pub documents: Vec<String>,
    /// The name of a paper the desk digitised (số hóa) at intake; repeatable. With a checklist,
    /// each must be on it.
    #[arg(long = "digitised", value_name = "NAME", conflicts_with = "digitised_none")]
    pub digitised: Vec<String>,
    /// Record that no paper was digitised at intake.
    #[arg(long)]
    pub digitised_none: bool,
    /// The hall ticket the citizen was served from: its id (HCC-260310-A-023), or its number
    /// at the hall of --hall or of the receiving agency, on the day of the intake.
    #[arg(long)]
    pub ticket: Option<String>,
    #[arg(long, requires = "ticket")]
    pub hall: Option<String>,
    #[command(flatten)]
    pub write: WriteFlags,
}

pub use motcua_core::commands::Transition;

fn parse_code(s: &str) -> Result<DossierCode> {
    Ok(s.trim().parse::<DossierCode>()?)
}

pub async fn intake<S: Store + motcua_store::HallStore>(store: &S, domain: &Domain, a: &IntakeArgs) -> Result<()> {
    let form = IntakeForm {
        procedure: a.procedure.clone(),
        agency: a.agency.clone(),
        applicant: a.applicant.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        id_number: a.id_number.clone(),
        address: a.address.clone(),
        channel: a.channel.clone(),
        documents: a.documents.iter().map(|d| DocumentSpec::parse_flag(d)).collect::<Result<_, _>>()?,
        digitised: if a.digitised_none {
            Some(Vec::new())
        } else {
            Some(a.digitised.clone()).filter(|d| !d.is_empty())
        },
    };
    let CheckedIntake { procedure, agency, applicant, channel, documents, digitised } =
        form.check(domain, FieldStyle::Flag)?;
    let s = a.write.stamp(domain)?;
    let ticket = match &a.ticket {
        Some(t) => {
            let day = motcua_core::calendar::to_local(s.at).date();
            Some(motcua_store::hall::ticket_for_intake(store, domain, t, a.hall.as_deref(), &a.agency, day).await?)
        }
        None => None,
    };
    let online = channel == Channel::Online;
    let new = NewDossier { procedure, agency, applicant, channel, online, documents, digitised };
    let d = store.intake_stamped(domain, new, s.at, a.write.by.clone(), s.reason, s.now).await?;
    if let (Some(t), Some(code)) = (&ticket, &d.code) {
        motcua_store::hall::link_intake(store, domain, t, code, s.at, a.write.by.clone(), s.now).await?;
    }
    print_written(domain, &d, a.write.json)
}

pub async fn transition<S: Store>(
    store: &S,
    domain: &Domain,
    code: &str,
    t: &Transition,
    w: &WriteFlags,
) -> Result<()> {
    let code = parse_code(code)?;
    let kind = t.event_kind(domain, FieldStyle::Flag)?;
    if let EventKind::Digitised { documents } = &kind {
        // Each paper one of the dossier's checklist, as at intake and on the API.
        let events = store.events(&code).await?;
        if !events.is_empty() {
            let d = domain.replay(events.iter())?;
            motcua_core::commands::digitised_in_checklist(&d.documents, documents)?;
        }
    }
    let s = w.stamp(domain)?;
    let event = Event { at: s.at, by: w.by.clone(), backdate_reason: s.reason, kind };
    let d = store.record_stamped(domain, &code, event, s.now).await?;
    print_written(domain, &d, w.json)
}

fn print_written(domain: &Domain, d: &Dossier, json: bool) -> Result<()> {
    let code = d.code.as_ref().map(ToString::to_string).unwrap_or_default();
    let status = d.status.map(|s| (s.code(), s.name())).unwrap_or((0, "none"));
    if json {
        crate::outln!(
            "{}",
            json!({
                "code": code,
                "status": status.0,
                "status_name": status.1,
                "holder": d.holder,
                "received_at": d.received_at.map(show),
                "due_at": d.due_at.map(show),
                "original_due_at": d.original_due_at.map(show),
                "rescheduled_to": d.rescheduled_to().map(show),
                "explanation": explain(&d.steps, Lang::Vi),
            })
        );
    } else {
        crate::outln!("{code}  status {} ({})", status.0, status.1);
        if let Some(due) = d.due_at {
            crate::outln!("due: {}", show(due));
        }
        let _ = domain;
    }
    Ok(())
}

/// `motcua show CODE`: the dossier as of an instant, with its analysis.
pub async fn show_dossier<S: Store>(
    store: &S,
    domain: &Domain,
    code: &str,
    as_of: DateTime<Utc>,
    json: bool,
) -> Result<()> {
    let code = parse_code(code)?;
    let logged = store.logged_events(&code).await?;
    if logged.is_empty() {
        bail!("dossier {code} does not exist");
    }
    let d = domain.replay_until(logged.iter().map(|l| &l.event), as_of)?;
    if d.status.is_none() {
        bail!("dossier {code} had not been received yet at {}", show(as_of));
    }
    let mut v = serde_json::to_value(motcua_core::view::dossier_view(domain, &d, as_of)?)?;
    // The log, each event as stated and as recorded.
    let cal = d.receiving_agency.as_ref().map_or(&domain.calendar, |a| domain.calendar_for(a));
    let log: Vec<LogLine> = logged
        .iter()
        .filter(|l| l.event.at <= as_of)
        .map(|l| LogLine::new(cal, l.seq, &l.event, l.recorded_at))
        .collect();
    v["log"] = serde_json::to_value(&log)?;
    if json {
        crate::outln!("{v}");
    } else {
        print_dossier_text(&v);
    }
    Ok(())
}

fn print_dossier_text(v: &Value) {
    let s = |k: &str| {
        v[k].as_str().map(str::to_string).unwrap_or_else(|| if v[k].is_null() { "—".into() } else { v[k].to_string() })
    };
    crate::outln!("{}  {} — {}", s("code"), s("procedure"), s("procedure_name"));
    crate::outln!("status:        {} ({}, {})", s("status"), s("status_name"), s("status_name_vi"));
    crate::outln!("applicant:     {} ({})", s("applicant"), s("channel"));
    crate::outln!("received:      {}", s("received_at"));
    crate::outln!(
        "due:           {}   (receipt: {}, new date: {})",
        s("due_at"),
        s("original_due_at"),
        s("rescheduled_to")
    );
    crate::outln!("finished:      {}   returned: {}", s("finished_at"), s("returned_at"));
    crate::outln!(
        "state:         {}   timeliness: {}   overdue: {}   late working minutes: {}   at risk: {}",
        s("state"),
        s("timeliness"),
        s("overdue"),
        s("late_working_minutes"),
        s("at_risk")
    );
    if v["state"] == "waiting_for_citizen" {
        crate::outln!(
            "remaining:     {} working minutes, the clock stopped while the citizen holds the dossier",
            s("remaining_working_minutes")
        );
    }
    crate::outln!(
        "holder:        {}   supplements: {}   bounces: {}",
        s("holder"),
        s("supplement_count"),
        s("bounces")
    );
    if let Some(rows) = v["dwell"].as_array() {
        crate::outln!("control sheet:");
        for r in rows {
            crate::outln!(
                "  {:<16} {:>6} / {:>6} working min  {:<8}{}",
                r["agency"].as_str().unwrap_or(""),
                r["working_minutes"],
                r["budget_minutes"],
                r["timeliness"].as_str().unwrap_or("holding"),
                if r["bounce"] == true { "  bounce" } else { "" }
            );
        }
    }
    if let Some(sig) = v["signals"].as_array().filter(|a| !a.is_empty()) {
        crate::outln!("signals:");
        for x in sig {
            crate::outln!("  ! {}", x["text"].as_str().unwrap_or(""));
        }
    }
    crate::outln!("explanation:");
    for l in v["explanation"].as_array().into_iter().flatten() {
        crate::outln!("  - {}", l.as_str().unwrap_or(""));
    }
    // Every event as stated; a backdated one also as recorded, with the working time between
    // and the reason given.
    crate::outln!("log:");
    for e in v["log"].as_array().into_iter().flatten() {
        let text = |k: &str| motcua_core::text::for_terminal(e[k].as_str().unwrap_or("")).into_owned();
        crate::outln!("  {:>3} {:<22} {:<25} {}", e["seq"], text("kind"), text("at"), text("by"));
        if e["backdated"] == true {
            let gap = e["backdated_working_minutes"]
                .as_i64()
                .map_or_else(|| "outside the calendar".to_string(), |m| format_working_minutes(m, Lang::En));
            crate::outln!("      recorded {}  ({gap} later)", text("recorded_at"));
            if e["backdate_reason"].is_string() {
                crate::outln!("      reason: {}", text("backdate_reason"));
            }
        }
    }
}

/// `motcua catalog`.
pub fn catalog(domain: &Domain, json: bool) -> Result<()> {
    if json {
        crate::outln!("{}", serde_json::to_string(&CatalogView::of(&domain.catalog))?);
        return Ok(());
    }
    let agencies = domain.catalog.agencies().count();
    let procedures = domain.catalog.procedures().count();
    crate::outln!("agencies ({agencies}):");
    for a in domain.catalog.agencies() {
        crate::outln!("  {:<15} {:<11} {}", a.code, format!("{:?}", a.kind).to_lowercase(), a.name);
    }
    crate::outln!("procedures ({procedures}):");
    for p in domain.catalog.procedures() {
        crate::outln!("  {:<10} {:<20} {}", p.code, p.time_limit.to_string(), p.name);
        let fee = p.fee.as_ref().map_or_else(|| "not in the catalog".to_string(), motcua_core::Fee::describe);
        crate::outln!("  {:<10} fee: {}", "", motcua_core::text::for_terminal(&fee));
    }
    Ok(())
}

/// `motcua overdue [--imported]`: dossiers past due at `now` with the agency's clock running
/// and no apology. Without `--imported`, those the next worker pass apologises for; with it,
/// those brought in as history in that state, which the automatic apology leaves to a person.
pub async fn overdue<S: Store + motcua_store::OutboxStore>(
    store: &S,
    domain: &Domain,
    imported: bool,
    agencies: &[String],
    now: DateTime<Utc>,
    limit: u32,
    json_out: bool,
) -> Result<()> {
    let mut scope = Vec::with_capacity(agencies.len());
    for a in agencies {
        let code: motcua_core::AgencyCode = a.trim().parse().map_err(|e| anyhow::anyhow!("--agency: {e}"))?;
        domain.agency(&code)?;
        scope.push(code);
    }
    let limit = limit.max(1);
    let rows = if imported {
        store.imported_overdue(now, &scope, limit).await?
    } else {
        let mut rows = Vec::new();
        let mut cursor = None;
        'pages: loop {
            let page = store.overdue_candidates(now, cursor.clone(), 500).await?;
            let Some(last) = page.last() else { break };
            cursor = Some((last.due_at, last.code.clone()));
            for c in &page {
                let Some(row) = store.dossier_row(&c.code).await? else { continue };
                let held = |a: &motcua_core::AgencyCode| row.holder.as_ref() == Some(a) || row.receiving_agency == *a;
                if scope.is_empty() || scope.iter().any(held) {
                    rows.push(row);
                    if rows.len() >= limit as usize {
                        break 'pages;
                    }
                }
            }
            if page.len() < 500 {
                break;
            }
        }
        rows
    };
    let late = |due: Option<DateTime<Utc>>| -> Result<i64> {
        Ok(match due {
            Some(due) => domain.calendar.working_minutes_between(due, now)?.max(0),
            None => 0,
        })
    };
    if json_out {
        let mut list = Vec::with_capacity(rows.len());
        for r in &rows {
            list.push(json!({
                "code": r.code,
                "procedure": r.procedure,
                "receiving_agency": r.receiving_agency,
                "holder": r.holder,
                "status": r.status,
                "due_at": r.due_at.map(show),
                "late_working_minutes": late(r.due_at)?,
            }));
        }
        crate::outln!("{}", json!({ "imported": imported, "as_of": show(now), "dossiers": list }));
        return Ok(());
    }
    crate::outln!(
        "{} dossiers past due with no apology at {}{}",
        rows.len(),
        show(now),
        if imported {
            ": brought in as history in that state, left to a person (the automatic apology does not apply)"
        } else {
            ": the next worker pass apologises for them"
        }
    );
    for r in &rows {
        crate::outln!(
            "  {}  {:<10} held by {:<15} due {}  late {}",
            r.code,
            r.procedure.as_str(),
            r.holder.as_ref().map_or("—", |h| h.as_str()),
            r.due_at.map(show).unwrap_or_default(),
            format_working_minutes(late(r.due_at)?, Lang::En)
        );
    }
    Ok(())
}
