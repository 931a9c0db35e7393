//! `motcua petition …`: petitions, complaints and denunciations (đơn kiến nghị, phản ánh;
//! khiếu nại; tố cáo) at the desk — file, list, show, the steps, and the district's report.

use anyhow::{Result, anyhow, bail};
use chrono::{DateTime, Datelike as _, Utc};
use clap::{Args, Subcommand};
use motcua_core::petition::{
    self, Complexity, Item, ItemChannel, ItemCode, ItemEvent, ItemEventKind, ItemStatus, Kind, NextStep, Tally,
};
use motcua_core::text::{REASON_MAX_CHARS, line, paragraph};
use motcua_core::{AgencyCode, Applicant, Domain, DossierCode};
use motcua_store::{ItemFilter, ItemReport, ItemRow, NewItem, PetitionStore, ReportBy, Store};
use serde_json::json;

use crate::desk::WriteFlags;
use crate::input::{self, show};

/// The longest text of an item, an answer or a reason kept (characters).
pub const TEXT_MAX_CHARS: usize = 10_000;

#[derive(Debug, Subcommand)]
pub enum PetitionCommand {
    /// File a petition, complaint or denunciation received in person, by phone, by post or
    /// online: prints its code and the due instant of its next step.
    File(FileArgs),
    /// List items: open ones by the due instant of their next step (most urgent first).
    List {
        #[arg(long)]
        agency: Option<String>,
        /// petition, complaint or denunciation.
        #[arg(long)]
        kind: Option<String>,
        /// received, accepted, suspended, answered, refused, forwarded, guided, archived,
        /// withdrawn or terminated.
        #[arg(long)]
        status: Option<String>,
        /// Only those owing a step.
        #[arg(long)]
        open: bool,
        /// Only those about this dossier.
        #[arg(long)]
        dossier: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Urgency as of this instant (default: now).
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show an item: its state, the rules it keeps, its next step and its log.
    Show {
        code: String,
        #[arg(long)]
        as_of: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Accept within competence (thụ lý): the resolution's clock starts.
    Accept {
        code: String,
        /// ordinary, complex or especially_complex.
        #[arg(long, default_value = "ordinary")]
        complexity: String,
        /// A remote area (vùng sâu, vùng xa): a complaint gets 45 / 60 days.
        #[arg(long)]
        remote: bool,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Extend: a denunciation's initial processing (to 10 working days), or the resolution of a
    /// complaint found complex or of a complex denunciation (30 days each).
    Extend {
        code: String,
        #[arg(long)]
        reason: String,
        /// complex or especially_complex.
        #[arg(long)]
        complexity: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Hand the item to another agency of the system, which becomes responsible.
    Transfer {
        code: String,
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Outside competence: forward it to the named body (chuyển đơn), or with --guide, guide
    /// the citizen to it (hướng dẫn).
    Forward {
        code: String,
        /// The competent body, by name.
        #[arg(long)]
        to: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        guide: bool,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Answer (resolve) an accepted item; the text is shown to the citizen on the lookup.
    Answer {
        code: String,
        #[arg(long)]
        text: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Any other outcome: refused (not accepted), archived (lưu đơn), withdrawn, suspended,
    /// resumed or terminated, with the reason.
    Close {
        code: String,
        #[arg(long)]
        outcome: String,
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// The citizen's rating of the answer.
    Rate {
        code: String,
        /// satisfied or not_satisfied.
        #[arg(long)]
        rating: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// The district's report: items received in the period, by outcome, with both
    /// resolution rates.
    Report {
        /// First local day (default: the first day of the month of --to).
        #[arg(long)]
        from: Option<String>,
        /// Last local day (default: today).
        #[arg(long)]
        to: Option<String>,
        /// agency, kind or month.
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct FileArgs {
    /// petition (kiến nghị, phản ánh), complaint (khiếu nại) or denunciation (tố cáo).
    #[arg(long)]
    pub kind: String,
    #[arg(long)]
    pub applicant: String,
    #[arg(long)]
    pub text: String,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    /// The dossier it is about: routed to the agency the dossier's lateness is attributed to,
    /// else its lead agency.
    #[arg(long)]
    pub dossier: Option<String>,
    /// The responsible agency (required without --dossier; overrides the routing with it).
    #[arg(long)]
    pub agency: Option<String>,
    /// in_person, phone, postal or online.
    #[arg(long, default_value = "in_person")]
    pub channel: String,
    #[command(flatten)]
    pub write: WriteFlags,
}

fn item_code(s: &str) -> Result<ItemCode> {
    Ok(s.trim().parse::<ItemCode>()?)
}

fn agency(domain: &Domain, s: &str, flag: &str) -> Result<AgencyCode> {
    let a: AgencyCode = s.trim().parse().map_err(|e| anyhow!("{flag}: {e}"))?;
    domain.agency(&a).map_err(|e| anyhow!("{flag}: {e}"))?;
    Ok(a)
}

fn complexity(s: &str) -> Result<Complexity> {
    Complexity::parse(s.trim()).ok_or_else(|| anyhow!("--complexity: expected ordinary, complex or especially_complex"))
}

fn reason(s: &str) -> Result<String> {
    Ok(paragraph(s, "--reason", REASON_MAX_CHARS)?)
}

pub async fn run<S: Store + PetitionStore>(cmd: &PetitionCommand, store: &S, domain: &Domain) -> Result<()> {
    use PetitionCommand as P;
    let (code, kind, write) = match cmd {
        P::File(a) => return file(store, domain, a).await,
        P::List { agency: a, kind, status, open, dossier, limit, as_of, json } => {
            let filter = ItemFilter {
                agencies: a.as_deref().map(|a| agency(domain, a, "--agency")).transpose()?.map(|a| vec![a]),
                kind: kind.as_deref().map(parse_kind).transpose()?,
                status: status
                    .as_deref()
                    .map(|s| ItemStatus::parse(s.trim()).ok_or_else(|| anyhow!("--status: unknown status {s:?}")))
                    .transpose()?,
                open: *open,
                dossier: dossier.as_deref().map(|d| d.trim().parse::<DossierCode>()).transpose()?,
                limit: *limit,
            };
            let t = as_of.as_deref().map(input::instant).transpose()?.unwrap_or_else(Utc::now);
            return list(&store.items(&filter).await?, t, *json);
        }
        P::Show { code, as_of, json } => {
            let t = as_of.as_deref().map(input::instant).transpose()?.unwrap_or_else(Utc::now);
            return show_item(store, domain, &item_code(code)?, t, *json).await;
        }
        P::Report { from, to, by, json } => return report(store, from, to, by, *json).await,
        P::Accept { code, complexity: c, remote, write } => {
            (code, ItemEventKind::Accepted { complexity: complexity(c)?, remote: *remote }, write)
        }
        P::Extend { code, reason: r, complexity: c, write } => (
            code,
            ItemEventKind::Extended { reason: reason(r)?, complexity: c.as_deref().map(complexity).transpose()? },
            write,
        ),
        P::Transfer { code, to, reason: r, write } => {
            let r = r.as_deref().map(reason).transpose()?;
            (code, ItemEventKind::Transferred { to: agency(domain, to, "--to")?, reason: r }, write)
        }
        P::Forward { code, to, reason: r, guide, write } => {
            let to = line(to, "--to", 300)?;
            let reason = reason(r)?;
            let kind =
                if *guide { ItemEventKind::Guided { to, reason } } else { ItemEventKind::Forwarded { to, reason } };
            (code, kind, write)
        }
        P::Answer { code, text, write } => {
            (code, ItemEventKind::Answered { text: paragraph(text, "--text", TEXT_MAX_CHARS)? }, write)
        }
        P::Close { code, outcome, reason: r, write } => {
            let needs = |r: &str| -> Result<String> {
                if r.trim().is_empty() {
                    bail!("--reason is required for --outcome {outcome}");
                }
                reason(r)
            };
            let kind = match outcome.trim() {
                "refused" => ItemEventKind::Refused { reason: needs(r)? },
                "archived" => ItemEventKind::Archived { reason: needs(r)? },
                "withdrawn" => {
                    ItemEventKind::Withdrawn { reason: if r.trim().is_empty() { String::new() } else { reason(r)? } }
                }
                "suspended" => ItemEventKind::Suspended { reason: needs(r)? },
                "resumed" => ItemEventKind::Resumed,
                "terminated" => ItemEventKind::Terminated { reason: needs(r)? },
                other => bail!(
                    "--outcome: unknown outcome {other:?}: expected refused, archived, withdrawn, suspended, resumed or terminated"
                ),
            };
            (code, kind, write)
        }
        P::Rate { code, rating, write } => {
            let satisfied = match rating.trim() {
                "satisfied" => true,
                "not_satisfied" => false,
                other => bail!("--rating: expected satisfied or not_satisfied, got {other:?}"),
            };
            (code, ItemEventKind::Rated { satisfied }, write)
        }
    };
    let code = item_code(code)?;
    let s = write.stamp(domain)?;
    let item = store.record_item(domain, &code, ItemEvent::new(s.at, write.by.clone(), kind), s.now).await?;
    print_written(&item, write.json)
}

fn parse_kind(s: &str) -> Result<Kind> {
    Kind::parse(s.trim()).ok_or_else(|| anyhow!("--kind: expected petition, complaint or denunciation, got {s:?}"))
}

async fn file<S: Store + PetitionStore>(store: &S, domain: &Domain, a: &FileArgs) -> Result<()> {
    let kind = parse_kind(&a.kind)?;
    let channel = ItemChannel::parse(a.channel.trim())
        .ok_or_else(|| anyhow!("--channel: expected in_person, phone, postal or online, got {:?}", a.channel))?;
    let applicant = Applicant {
        name: line(&a.applicant, "--applicant", 200)?,
        email: a.email.as_deref().map(|e| e.trim().parse()).transpose()?,
        phone: a.phone.as_deref().map(|p| p.trim().parse()).transpose()?,
        id_number: None,
        address: None,
    };
    let text = paragraph(&a.text, "--text", TEXT_MAX_CHARS)?;
    let s = a.write.stamp(domain)?;
    let dossier = a.dossier.as_deref().map(|d| d.trim().parse::<DossierCode>()).transpose()?;
    let responsible = match (&a.agency, &dossier) {
        (Some(x), _) => agency(domain, x, "--agency")?,
        (None, Some(code)) => {
            let events = store.events(code).await?;
            if events.is_empty() {
                bail!("--dossier: dossier {code} does not exist");
            }
            let d = domain.replay_until(events.iter(), s.at)?;
            petition::route_for_dossier(domain, &d, s.at)
                .ok_or_else(|| anyhow!("--dossier: dossier {code} has no responsible agency"))?
        }
        (None, None) => bail!("give --agency (the responsible agency) or --dossier (the dossier it is about)"),
    };
    let new = NewItem { kind, agency: responsible, applicant, text, dossier, channel };
    let item = store.file_item(domain, new, s.at, a.write.by.clone(), s.now).await?;
    print_written(&item, a.write.json)
}

fn next_words(step: NextStep) -> &'static str {
    match step {
        NextStep::Decide => "decide (accept, refuse, forward, guide or archive)",
        NextStep::Resolve => "answer",
    }
}

fn print_written(item: &Item, json: bool) -> Result<()> {
    let code = item.code.as_ref().map(ToString::to_string).unwrap_or_default();
    let status = item.status.map_or("none", ItemStatus::name);
    let next = item.next_step();
    if json {
        crate::outln!(
            "{}",
            json!({
                "code": code,
                "kind": item.kind.map(Kind::name),
                "status": status,
                "agency": item.agency,
                "rule_set": item.rules.map(|r| r.name()),
                "next_step": next.map(|n| n.0.name()),
                "next_due_at": next.map(|n| show(n.1)),
                "decide_late": item.decide_late,
                "resolve_late": item.resolve_late,
            })
        );
    } else {
        crate::outln!("{code}  {}  {status}", item.kind.map_or("", Kind::name));
        match next {
            Some((step, due)) => crate::outln!("next step: {} by {}", next_words(step), show(due)),
            None => crate::outln!("no step owed"),
        }
    }
    Ok(())
}

fn urgency(row: &ItemRow, t: DateTime<Utc>) -> &'static str {
    match row.next_due_at {
        None => "",
        Some(d) if petition::overdue(Some(d), t) => "overdue",
        Some(d) if d - t <= chrono::Duration::days(2) => "due_soon",
        Some(_) => "in_time",
    }
}

fn list(rows: &[ItemRow], t: DateTime<Utc>, json: bool) -> Result<()> {
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                let mut v = serde_json::to_value(r).unwrap_or_default();
                v["urgency"] = json!(urgency(r, t));
                v
            })
            .collect();
        crate::outln!("{}", serde_json::Value::Array(v));
        return Ok(());
    }
    crate::outln!(
        "{:<16} {:<12} {:<10} {:<15} {:<8} {:<26} {:<9}",
        "code",
        "kind",
        "status",
        "agency",
        "next",
        "due",
        "urgency"
    );
    for r in rows {
        crate::outln!(
            "{:<16} {:<12} {:<10} {:<15} {:<8} {:<26} {:<9}",
            r.code.as_str(),
            r.kind.name(),
            r.status.name(),
            r.agency.as_str(),
            r.next_step.map_or("-", NextStep::name),
            r.next_due_at.map_or_else(|| "-".to_string(), show),
            urgency(r, t)
        );
    }
    Ok(())
}

async fn show_item<S: PetitionStore>(
    store: &S,
    domain: &Domain,
    code: &ItemCode,
    t: DateTime<Utc>,
    json: bool,
) -> Result<()> {
    let events = store.item_events(code).await?;
    if events.is_empty() {
        bail!("item {code} does not exist");
    }
    let item = petition::replay(domain, events.iter().filter(|e| e.at <= t))?;
    let rules = item.rules();
    let next = item.next_step();
    if json {
        crate::outln!(
            "{}",
            json!({
                "item": item,
                "rules": rules.map(|r| json!({
                    "rule_set": r.set.name(),
                    "decide": r.decide(),
                    "forward": r.forward(),
                    "resolve": r.resolve(item.complexity, item.remote, item.answer_limit),
                })),
                "next_step": next.map(|n| n.0.name()),
                "next_due_at": next.map(|n| show(n.1)),
                "overdue": petition::overdue(next.map(|n| n.1), t),
                "events": events,
            })
        );
        return Ok(());
    }
    crate::outln!("{code}  {}  {}", item.kind.map_or("", Kind::name), item.status.map_or("none", ItemStatus::name));
    crate::outln!("agency: {}", item.agency.as_ref().map(ToString::to_string).unwrap_or_default());
    crate::outln!("applicant: {}", motcua_core::text::for_terminal(&item.applicant.name));
    if let Some(d) = &item.dossier {
        crate::outln!("about dossier: {d}");
    }
    if let Some(r) = rules {
        crate::outln!("rules: {} — decide: {} ({})", r.set.name(), r.decide().limit, r.decide().basis);
        let res = r.resolve(item.complexity, item.remote, item.answer_limit);
        crate::outln!("resolve: {} ({})", res.limit, res.basis);
    }
    match next {
        Some((step, due)) => crate::outln!(
            "next step: {} by {}{}",
            next_words(step),
            show(due),
            if petition::overdue(Some(due), t) { " — OVERDUE" } else { "" }
        ),
        None => crate::outln!("no step owed"),
    }
    if let Some(a) = &item.answer {
        crate::outln!("answer: {}", motcua_core::text::for_terminal(a));
    }
    for e in &events {
        crate::outln!("  {}  {:<12} {}", show(e.at), e.kind.name(), e.by.as_deref().unwrap_or("-"));
    }
    Ok(())
}

/// The report's measures, in order: (JSON key, label).
const MEASURES: [(&str, &str); 17] = [
    ("received", "received"),
    ("petitions", "of which petitions (kiến nghị, phản ánh)"),
    ("complaints", "of which complaints (khiếu nại)"),
    ("denunciations", "of which denunciations (tố cáo)"),
    ("accepted", "accepted within competence (thụ lý)"),
    ("refused", "refused acceptance"),
    ("forwarded", "forwarded (chuyển đơn)"),
    ("guided", "guided (hướng dẫn)"),
    ("archived", "archived (lưu đơn)"),
    ("withdrawn", "withdrawn"),
    ("terminated", "terminated (đình chỉ)"),
    ("resolved_on_time", "resolved on time"),
    ("resolved_late", "resolved late"),
    ("open", "open"),
    ("not_satisfied", "rated not satisfied"),
    ("rate_of_accepted", "resolution rate, of accepted (resolved ÷ accepted)"),
    ("rate_of_received", "resolution rate, of received ((resolved + forwarded + guided) ÷ received)"),
];

fn tally_json(t: &Tally) -> serde_json::Value {
    let mut v = serde_json::to_value(t).unwrap_or_default();
    v["resolved"] = json!(t.resolved());
    v["rate_of_accepted"] = json!(t.rate_of_accepted().percent(1.0));
    v["rate_of_received"] = json!(t.rate_of_received().percent(1.0));
    v
}

async fn report<S: PetitionStore>(
    store: &S,
    from: &Option<String>,
    to: &Option<String>,
    by: &Option<String>,
    json: bool,
) -> Result<()> {
    let today = motcua_core::calendar::to_local(Utc::now()).date();
    let to = to.as_deref().map(input::date).transpose()?.unwrap_or(today);
    let from = match from {
        Some(f) => input::date(f)?,
        None => to.with_day0(0).unwrap_or(to),
    };
    if from > to {
        bail!("--from {from} is after --to {to}");
    }
    let by = by
        .as_deref()
        .map(|b| ReportBy::parse(b.trim()).ok_or_else(|| anyhow!("--by: expected agency, kind or month, got {b:?}")))
        .transpose()?;
    let a = motcua_core::calendar::from_local(from.and_hms_opt(0, 0, 0).unwrap_or_default());
    let b = motcua_core::calendar::from_local(to.succ_opt().unwrap_or(to).and_hms_opt(0, 0, 0).unwrap_or_default());
    let rows = store.items_received_between(a, b).await?;
    let r = ItemReport::build(from, to, &rows, by);
    if json {
        crate::outln!(
            "{}",
            json!({
                "from": r.from.to_string(),
                "to": r.to.to_string(),
                "rows": r.rows.iter().map(|(k, t)| json!({"key": k, "counts": tally_json(t)})).collect::<Vec<_>>(),
                "total": tally_json(&r.total),
                "labels": MEASURES.iter().map(|(k, l)| json!({"key": k, "label": l})).collect::<Vec<_>>(),
            })
        );
        return Ok(());
    }
    crate::outln!("Petitions, complaints and denunciations received {} – {}", r.from, r.to);
    let mut columns: Vec<(String, serde_json::Value)> =
        r.rows.iter().map(|(k, t)| (k.clone(), tally_json(t))).collect();
    columns.push(("total".into(), tally_json(&r.total)));
    let head: Vec<String> = columns.iter().map(|(k, _)| format!("{k:>15}")).collect();
    crate::outln!("{:<75}{}", "", head.join(""));
    for (key, label) in MEASURES {
        let cells: Vec<String> = columns
            .iter()
            .map(|(_, v)| match &v[key] {
                serde_json::Value::String(s) => format!("{s:>15}"),
                other => format!("{:>15}", other.to_string()),
            })
            .collect();
        crate::outln!("{label:<75}{}", cells.join(""));
    }
    Ok(())
}
