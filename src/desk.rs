//! The desk's commands: intake, every transition, `show`, `catalog`.

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, NaiveTime, Utc};
use clap::Args;
use motcua_core::calendar::from_local;
use motcua_core::catalog::{RouteAgency, WaitMode};
use motcua_core::clock::{Lang, TimeLimit, explain};
use motcua_core::{
    AgencyCode, Applicant, Channel, Domain, Dossier, DossierCode, Event, EventKind, Outcome, ProcedureCode,
};
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
            None => Ok(Utc::now()),
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

/// One transition command of the desk or an agency.
#[derive(Debug, Clone)]
pub enum Transition {
    Transfer { to: String },
    Accept,
    AcceptOnline,
    RefuseOnline { reason: String },
    RequestSupplement { reason: String, documents: Vec<String> },
    Supplement,
    RequestPayment { reason: String },
    Paid,
    Reschedule { to: String, reason: String, responsible: Option<String>, override_second: bool },
    Resolve { refused: bool, reason: Option<String> },
    Return,
    Withdraw { reason: String },
    Stop { reason: String },
}

fn parse_code(s: &str) -> Result<DossierCode> {
    Ok(s.trim().parse::<DossierCode>()?)
}

fn parse_agency(s: &str) -> Result<AgencyCode> {
    Ok(s.trim().parse::<AgencyCode>()?)
}

/// A new appointment: a date (due by that day's closing) or an instant.
fn appointment(domain: &Domain, s: &str) -> Result<DateTime<Utc>> {
    if let Ok(d) = input::date(s) {
        let closing = domain.calendar.hours().closing();
        return Ok(from_local(d.and_time(closing)));
    }
    input::instant(s).map_err(|_| anyhow!("invalid date {s:?}: expected YYYY-MM-DD (or an RFC 3339 instant)"))
}

impl Transition {
    fn event_kind(&self, domain: &Domain) -> Result<EventKind> {
        Ok(match self {
            Self::Transfer { to } => EventKind::Transferred { to: parse_agency(to)? },
            Self::Accept => EventKind::Accepted,
            Self::AcceptOnline => EventKind::AcceptedOnline,
            Self::RefuseOnline { reason } => EventKind::RefusedAtReceipt { reason: non_empty(reason, "--reason")? },
            Self::RequestSupplement { reason, documents } => {
                EventKind::SupplementRequested { reason: non_empty(reason, "--reason")?, documents: documents.clone() }
            }
            Self::Supplement => EventKind::SupplementSupplied,
            Self::RequestPayment { reason } => EventKind::PaymentRequested { reason: reason.clone() },
            Self::Paid => EventKind::Paid,
            Self::Reschedule { to, reason, responsible, override_second } => EventKind::Rescheduled {
                to: appointment(domain, to)?,
                reason: non_empty(reason, "--reason")?,
                responsible: responsible.as_deref().map(parse_agency).transpose()?,
                automatic: false,
                override_second: *override_second,
            },
            Self::Resolve { refused, reason } => {
                if *refused && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                    bail!("a refusal needs --reason");
                }
                EventKind::Resolved {
                    outcome: if *refused { Outcome::Refused } else { Outcome::Approved },
                    reason: reason.clone(),
                }
            }
            Self::Return => EventKind::Returned,
            Self::Withdraw { reason } => EventKind::Withdrawn { reason: reason.clone() },
            Self::Stop { reason } => EventKind::Stopped { reason: non_empty(reason, "--reason")? },
        })
    }
}

fn non_empty(s: &str, flag: &str) -> Result<String> {
    if s.trim().is_empty() {
        bail!("{flag} must not be empty");
    }
    Ok(s.trim().to_string())
}

pub async fn intake<S: Store>(store: &S, domain: &Domain, a: &IntakeArgs) -> Result<()> {
    let procedure: ProcedureCode = a.procedure.trim().parse()?;
    domain.procedure(&procedure)?;
    let agency = parse_agency(&a.agency)?;
    domain.agency(&agency)?;
    let channel = Channel::parse(&a.channel)
        .ok_or_else(|| anyhow!("invalid channel {:?}: expected in_person, online or postal", a.channel))?;
    let name = non_empty(&a.applicant, "--applicant")?;
    let applicant = Applicant {
        name,
        email: a.email.as_deref().map(str::parse).transpose()?,
        phone: a.phone.as_deref().map(str::parse).transpose()?,
        id_number: a.id_number.as_deref().map(id_number).transpose()?,
        address: a.address.clone().filter(|s| !s.trim().is_empty()),
    };
    let at = a.write.at()?;
    let new = NewDossier { procedure, agency, applicant, channel, online: channel == Channel::Online };
    let d = store.intake(domain, new, at, a.write.by.clone()).await?;
    print_written(domain, &d, a.write.json)
}

/// A citizen ID number (CCCD, 12 digits) or an older 9-digit ID card.
fn id_number(s: &str) -> Result<String> {
    let s = s.trim();
    if (s.len() == 12 || s.len() == 9) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_string())
    } else {
        bail!("invalid ID number {s:?}: expected 12 digits (CCCD) or 9 digits")
    }
}

pub async fn transition<S: Store>(
    store: &S,
    domain: &Domain,
    code: &str,
    t: &Transition,
    w: &WriteFlags,
) -> Result<()> {
    let code = parse_code(code)?;
    let event = Event { at: w.at()?, by: w.by.clone(), kind: t.event_kind(domain)? };
    let d = store.record(domain, &code, event).await?;
    print_written(domain, &d, w.json)
}

fn print_written(domain: &Domain, d: &Dossier, json: bool) -> Result<()> {
    let code = d.code.as_ref().map(ToString::to_string).unwrap_or_default();
    let status = d.status.map(|s| (s.code(), s.name())).unwrap_or((0, "none"));
    if json {
        println!(
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
        println!("{code}  status {} ({})", status.0, status.1);
        if let Some(due) = d.due_at {
            println!("due: {}", show(due));
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
        println!("{v}");
    } else {
        print_dossier_text(&v);
    }
    Ok(())
}

fn print_dossier_text(v: &Value) {
    let s = |k: &str| {
        v[k].as_str().map(str::to_string).unwrap_or_else(|| if v[k].is_null() { "—".into() } else { v[k].to_string() })
    };
    println!("{}  {} — {}", s("code"), s("procedure"), s("procedure_name"));
    println!("status:        {} ({}, {})", s("status"), s("status_name"), s("status_name_vi"));
    println!("applicant:     {} ({})", s("applicant"), s("channel"));
    println!("received:      {}", s("received_at"));
    println!("due:           {}   (receipt: {}, new date: {})", s("due_at"), s("original_due_at"), s("rescheduled_to"));
    println!("finished:      {}   returned: {}", s("finished_at"), s("returned_at"));
    println!(
        "timeliness:    {}   overdue: {}   late working minutes: {}   at risk: {}",
        s("timeliness"),
        s("overdue"),
        s("late_working_minutes"),
        s("at_risk")
    );
    println!("holder:        {}   supplements: {}   bounces: {}", s("holder"), s("supplement_count"), s("bounces"));
    if let Some(rows) = v["dwell"].as_array() {
        println!("control sheet:");
        for r in rows {
            println!(
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
        println!("signals:");
        for x in sig {
            println!("  ! {}", x["text"].as_str().unwrap_or(""));
        }
    }
    println!("explanation:");
    for l in v["explanation"].as_array().into_iter().flatten() {
        println!("  - {}", l.as_str().unwrap_or(""));
    }
}

/// `motcua catalog`.
pub fn catalog(domain: &Domain, json: bool) -> Result<()> {
    let limit = |t: TimeLimit| match t {
        TimeLimit::WorkingDays(n) => json!({"working_days": n}),
        TimeLimit::WorkingHours(n) => json!({"working_hours": n}),
        TimeLimit::CalendarDays(n) => json!({"calendar_days": n}),
    };
    let budget = |m: i64| {
        if m % 450 == 0 { json!({"working_days": m / 450}) } else { json!({"working_hours": m as f64 / 60.0}) }
    };
    let agencies: Vec<Value> = domain
        .catalog
        .agencies()
        .map(|a| json!({"code": a.code, "name": a.name, "name_en": a.name_en, "kind": a.kind, "parent": a.parent}))
        .collect();
    let procedures: Vec<Value> = domain
        .catalog
        .procedures()
        .map(|p| {
            json!({
                "code": p.code,
                "name": p.name,
                "name_en": p.name_en,
                "level": p.level,
                "time_limit": limit(p.time_limit),
                "cutoff": p.cutoff.map(|c: NaiveTime| c.format("%H:%M").to_string()),
                "supplement_mode": match p.supplement_mode { WaitMode::Restart => "restart", WaitMode::Pause => "pause" },
                "route": p.route.iter().map(|s| json!({
                    "agency": match &s.agency { RouteAgency::Receiving => "@receiving".to_string(), RouteAgency::Agency(a) => a.to_string() },
                    "budget": budget(s.budget_minutes),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    if json {
        println!("{}", json!({"agencies": agencies, "procedures": procedures}));
        return Ok(());
    }
    println!("agencies ({}):", agencies.len());
    for a in domain.catalog.agencies() {
        println!("  {:<15} {:<11} {}", a.code, format!("{:?}", a.kind).to_lowercase(), a.name);
    }
    println!("procedures ({}):", procedures.len());
    for p in domain.catalog.procedures() {
        println!("  {:<10} {:<20} {}", p.code, p.time_limit.to_string(), p.name);
    }
    Ok(())
}
