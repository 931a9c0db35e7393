//! The desk's commands: intake, every transition, `show`, `catalog`.

use anyhow::{Result, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use motcua_core::commands::{CheckedIntake, FieldStyle, IntakeForm};
use motcua_core::deadlines::{Lang, explain};
use motcua_core::view::CatalogView;
use motcua_core::{Channel, Domain, Dossier, DossierCode, Event};
use motcua_store::{NewDossier, Store};
use serde_json::{Value, json};

use crate::input::{self, show};

/// Flags every write command takes.
#[derive(Debug, Clone, Args)]
pub struct WriteFlags {
    /// When it happened (default: now). Desks key in paper dossiers after the fact.
    #[arg(long)]
    pub at: Option<String>,
    /// The staff account recording it.
    #[arg(long)]
    pub by: Option<String>,
    #[arg(long)]
    pub json: bool,
}

impl WriteFlags {
    pub fn at(&self) -> Result<DateTime<Utc>> {
        match &self.at {
            Some(s) => input::instant(s),
            None => Ok(motcua_core::calendar::truncate_to_micros(Utc::now())),
        }
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
    #[command(flatten)]
    pub write: WriteFlags,
}

pub use motcua_core::commands::Transition;

fn parse_code(s: &str) -> Result<DossierCode> {
    Ok(s.trim().parse::<DossierCode>()?)
}

pub async fn intake<S: Store>(store: &S, domain: &Domain, a: &IntakeArgs) -> Result<()> {
    let form = IntakeForm {
        procedure: a.procedure.clone(),
        agency: a.agency.clone(),
        applicant: a.applicant.clone(),
        email: a.email.clone(),
        phone: a.phone.clone(),
        id_number: a.id_number.clone(),
        address: a.address.clone(),
        channel: a.channel.clone(),
    };
    let CheckedIntake { procedure, agency, applicant, channel } = form.check(domain, FieldStyle::Flag)?;
    let at = a.write.at()?;
    let new = NewDossier { procedure, agency, applicant, channel, online: channel == Channel::Online };
    let d = store.intake(domain, new, at, a.write.by.clone()).await?;
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
    let event = Event::new(w.at()?, w.by.clone(), t.event_kind(domain, FieldStyle::Flag)?);
    let d = store.record(domain, &code, event).await?;
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
    let events = store.events(&code).await?;
    if events.is_empty() {
        bail!("dossier {code} does not exist");
    }
    let d = domain.replay_until(events.iter(), as_of)?;
    if d.status.is_none() {
        bail!("dossier {code} had not been received yet at {}", show(as_of));
    }
    let v = serde_json::to_value(motcua_core::view::dossier_view(domain, &d, as_of)?)?;
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
        "timeliness:    {}   overdue: {}   late working minutes: {}   at risk: {}",
        s("timeliness"),
        s("overdue"),
        s("late_working_minutes"),
        s("at_risk")
    );
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
    }
    Ok(())
}
