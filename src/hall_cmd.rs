//! `motcua hall …`: the reception hall from the command line — the halls and their counters,
//! taking a number, the counter's steps (call, recall, no-show, start, finish, left, transfer,
//! redirect, rate), bookings, sign-in, the day's end and the report.

use anyhow::{Result, anyhow, bail};
use chrono::{NaiveDate, Utc};
use clap::{Args, Subcommand};
use motcua_core::Domain;
use motcua_core::calendar::to_local;
use motcua_core::hall::{
    self, BookingRequest, HallCode, HallRating, HallTally, PriorityKind, Ticket, TicketChannel, TicketEvent,
    TicketEventKind, TicketId,
};
use motcua_store::{HallReport, HallReportBy, HallStore, NewTicket, minutes_text};
use serde_json::{Value, json};

use crate::desk::WriteFlags;
use crate::input::{self, show};

#[derive(Debug, Subcommand)]
pub enum HallCommand {
    /// The halls in force, with their areas and counters.
    List {
        /// The day (default: today).
        #[arg(long)]
        on: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Take a number for a walk-in (or as the kiosk would): prints the issued number.
    Ticket {
        #[arg(long)]
        hall: String,
        #[arg(long)]
        area: String,
        /// merit, elderly, disability, pregnant or small_child.
        #[arg(long)]
        priority: Option<String>,
        /// desk (default), kiosk or qr.
        #[arg(long, default_value = "desk")]
        channel: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// A counter calls the next citizen by the hall's ordering rule.
    Call {
        #[arg(long)]
        hall: String,
        #[arg(long)]
        counter: u16,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Call the ticket again (the counter that called it).
    Recall(CounterStep),
    /// The called citizen did not come (after the hall's number of recalls).
    NoShow(TicketStep),
    /// Service begins.
    Start(TicketStep),
    /// Service ends.
    Finish(TicketStep),
    /// The citizen left before being served.
    Left(TicketStep),
    /// To another area and/or counter; the ticket keeps its number and its waiting start.
    Transfer {
        #[command(flatten)]
        ticket: TicketArg,
        #[arg(long)]
        area: Option<String>,
        #[arg(long)]
        counter: Option<u16>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// A finished ticket sent on to a second service: a new ticket of AREA, linked to it.
    Redirect {
        #[command(flatten)]
        ticket: TicketArg,
        #[arg(long)]
        area: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// The citizen's rating of a finished ticket (once).
    Rate {
        #[command(flatten)]
        ticket: TicketArg,
        /// very_satisfied, satisfied, neutral or dissatisfied.
        #[arg(long)]
        rating: String,
        #[arg(long)]
        comment: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// A ticket's state, its times and its log.
    Show {
        #[command(flatten)]
        ticket: TicketArg,
        #[arg(long)]
        json: bool,
    },
    /// A hall's queue of a day: every ticket with its state.
    Queue {
        #[arg(long)]
        hall: String,
        /// The day (default: today).
        #[arg(long)]
        day: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Book a slot: prints the booking code.
    Book {
        #[arg(long)]
        hall: String,
        #[arg(long)]
        area: String,
        /// The slot's start, local time: 2026-03-10T09:00.
        #[arg(long)]
        slot: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        phone: Option<String>,
        #[arg(long)]
        priority: Option<String>,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Cancel a booking before its slot.
    Cancel {
        code: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// A booked citizen arrives: a ticket queued at the slot's time.
    CheckIn {
        code: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Sign an account in at a counter (--by), or out (--out).
    SignIn {
        #[arg(long)]
        hall: String,
        #[arg(long)]
        counter: u16,
        #[arg(long)]
        out: bool,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Close the tickets of a past day still open (the day's end).
    CloseDay {
        #[arg(long)]
        hall: String,
        #[arg(long)]
        day: String,
        #[command(flatten)]
        write: WriteFlags,
    },
    /// Tickets issued, served, no-show; waiting and service times; the share within the
    /// waiting target; ratings.
    Report {
        /// One hall (default: all).
        #[arg(long)]
        hall: Option<String>,
        /// First local day (default: --to).
        #[arg(long)]
        from: Option<String>,
        /// Last local day (default: today).
        #[arg(long)]
        to: Option<String>,
        /// hall, area, counter, officer or day.
        #[arg(long)]
        by: Option<String>,
        /// table, json or csv.
        #[arg(long, default_value = "table")]
        format: String,
    },
}

/// A ticket: its full id (`HCC-260310-A-023`), or its number (`A-023`) with `--hall` (and the
/// day of `--at`, default today).
#[derive(Debug, Clone, Args)]
pub struct TicketArg {
    pub ticket: String,
    #[arg(long = "hall", id = "ticket_hall")]
    pub hall: Option<String>,
}

#[derive(Debug, Args)]
pub struct TicketStep {
    #[command(flatten)]
    pub ticket: TicketArg,
    #[command(flatten)]
    pub write: WriteFlags,
}

#[derive(Debug, Args)]
pub struct CounterStep {
    #[command(flatten)]
    pub ticket: TicketArg,
    #[arg(long)]
    pub counter: u16,
    #[command(flatten)]
    pub write: WriteFlags,
}

fn hall_code(s: &str) -> Result<HallCode> {
    s.parse().map_err(|e| anyhow!("--hall: {e}"))
}

fn area(s: &str) -> Result<char> {
    hall::parse_area(s).map_err(|e| anyhow!("--area: {e}"))
}

fn priority(s: Option<&str>) -> Result<Option<PriorityKind>> {
    s.map(|p| {
        PriorityKind::parse(p)
            .ok_or_else(|| anyhow!("--priority: expected merit, elderly, disability, pregnant or small_child"))
    })
    .transpose()
}

fn today() -> NaiveDate {
    to_local(Utc::now()).date()
}

/// Finds a ticket by id, or by number with the hall and the day.
pub async fn resolve<S: HallStore>(store: &S, arg: &TicketArg, day: NaiveDate) -> Result<Ticket> {
    if let Ok(id) = arg.ticket.trim().parse::<TicketId>() {
        return store.ticket(&id).await?.ok_or_else(|| anyhow!("ticket {id} does not exist"));
    }
    let Some(h) = arg.hall.as_deref() else {
        bail!("ticket {:?}: give its full id (HCC-260310-A-023), or its number with --hall", arg.ticket.trim());
    };
    let h = hall_code(h)?;
    store
        .ticket_by_number(&h, day, arg.ticket.trim())
        .await?
        .ok_or_else(|| anyhow!("hall {h} has no ticket {} on {day}", arg.ticket.trim()))
}

/// The ticket as the CLI and the API print it (one rendering, the API's).
pub use motcua_server::hall::ticket_json;

/// The halls in force on `on`, with their areas and counters.
pub fn halls_json(domain: &Domain, on: NaiveDate) -> Value {
    let halls: Vec<Value> = domain.halls.halls_on(on).map(|h| motcua_server::hall::hall_json(h, on, None)).collect();
    json!({"on": on.to_string(), "halls": halls})
}

fn print_ticket(t: &Ticket, json: bool) {
    if json {
        crate::outln!("{}", ticket_json(t));
    } else {
        let mut line = format!("{}  {}  {}", t.number, t.id, t.status.name());
        if let Some(c) = t.counter {
            line.push_str(&format!("  counter {c}"));
        }
        crate::outln!("{line}");
    }
}

async fn step<S: HallStore>(
    store: &S,
    domain: &Domain,
    arg: &TicketArg,
    write: &WriteFlags,
    kind: TicketEventKind,
) -> Result<()> {
    let s = write.stamp(domain)?;
    let t = resolve(store, arg, to_local(s.at).date()).await?;
    let t = store.record_ticket(domain, &t.id, TicketEvent::new(s.at, write.by.clone(), kind), s.now).await?;
    print_ticket(&t, write.json);
    Ok(())
}

pub async fn run<S: HallStore + motcua_store::StaffStore>(cmd: &HallCommand, store: &S, domain: &Domain) -> Result<()> {
    use HallCommand as H;
    match cmd {
        H::List { on, json } => {
            let on = on.as_deref().map(input::date).transpose()?.unwrap_or_else(today);
            let v = halls_json(domain, on);
            if *json {
                crate::outln!("{v}");
            } else {
                for h in domain.halls.halls_on(on) {
                    crate::outln!("{}  {}  ({}; {})", h.code, h.name, h.agency, h.priority.describe());
                    for a in h.areas_on(on) {
                        crate::outln!("  area {}  {}  ({} procedures)", a.letter, a.name, a.procedures.len());
                    }
                    for c in h.counters_on(on) {
                        let areas: Vec<String> = c.areas.iter().map(char::to_string).collect();
                        crate::outln!("  counter {}  areas {}", c.number, areas.join(", "));
                    }
                }
            }
        }
        H::Ticket { hall: h, area: a, priority: p, channel, write } => {
            let channel = match channel.trim() {
                "desk" => TicketChannel::Desk,
                "kiosk" => TicketChannel::Kiosk,
                "qr" => TicketChannel::Qr,
                other => bail!("--channel {other:?}: expected desk, kiosk or qr"),
            };
            let new = NewTicket { hall: hall_code(h)?, area: area(a)?, channel, priority: priority(p.as_deref())? };
            let s = write.stamp(domain)?;
            let t = store.issue_ticket(domain, new, s.at, write.by.clone(), s.now).await?;
            print_ticket(&t, write.json);
        }
        H::Call { hall: h, counter, write } => {
            let h = hall_code(h)?;
            let s = write.stamp(domain)?;
            match store.call_next(domain, &h, *counter, s.at, write.by.clone(), s.now).await? {
                Some(c) => {
                    if write.json {
                        let mut v = ticket_json(&c.ticket);
                        v["lane"] = json!(c.lane.name());
                        crate::outln!("{}", json!({"called": v}));
                    } else {
                        crate::outln!(
                            "Mời số {} đến quầy {counter}  ({}, {})",
                            c.ticket.number,
                            c.ticket.id,
                            c.lane.name()
                        );
                    }
                }
                None => {
                    if write.json {
                        crate::outln!("{}", json!({"called": null, "message": "no one waiting"}));
                    } else {
                        crate::outln!("no one waiting for counter {counter} of hall {h}");
                    }
                }
            }
        }
        H::Recall(a) => {
            step(store, domain, &a.ticket, &a.write, TicketEventKind::Recalled { counter: a.counter }).await?;
        }
        H::NoShow(a) => step(store, domain, &a.ticket, &a.write, TicketEventKind::NoShow).await?,
        H::Start(a) => step(store, domain, &a.ticket, &a.write, TicketEventKind::Started).await?,
        H::Finish(a) => step(store, domain, &a.ticket, &a.write, TicketEventKind::Finished).await?,
        H::Left(a) => step(store, domain, &a.ticket, &a.write, TicketEventKind::Left).await?,
        H::Transfer { ticket, area: a, counter, write } => {
            let a = a.as_deref().map(area).transpose()?;
            step(store, domain, ticket, write, TicketEventKind::Transferred { area: a, counter: *counter }).await?;
        }
        H::Redirect { ticket, area: a, write } => {
            let a = area(a)?;
            let s = write.stamp(domain)?;
            let t = resolve(store, ticket, to_local(s.at).date()).await?;
            let new = store.redirect(domain, &t.id, a, s.at, write.by.clone(), s.now).await?;
            print_ticket(&new, write.json);
        }
        H::Rate { ticket, rating, comment, write } => {
            let rating = HallRating::parse(rating)
                .ok_or_else(|| anyhow!("--rating: expected very_satisfied, satisfied, neutral or dissatisfied"))?;
            let comment = motcua_core::text::optional_paragraph(comment.as_deref().unwrap_or(""), "--comment", 1000)?;
            let s = write.stamp(domain)?;
            let t = resolve(store, ticket, to_local(s.at).date()).await?;
            let kind = TicketEventKind::Rated { rating, comment: comment.clone() };
            let t = store.record_ticket(domain, &t.id, TicketEvent::new(s.at, write.by.clone(), kind), s.now).await?;
            // The dossiers received from the ticket get the same rating (one kept already stays).
            motcua_store::hall::rate_ticket_dossiers(store, &t, rating, comment, s.at).await?;
            print_ticket(&t, write.json);
        }
        H::Show { ticket, json } => {
            let t = resolve(store, ticket, today()).await?;
            let events = store.ticket_events(&t.id).await?;
            if *json {
                let mut v = ticket_json(&t);
                v["events"] = serde_json::to_value(&events)?;
                crate::outln!("{v}");
            } else {
                print_ticket(&t, false);
                for e in &events {
                    crate::outln!("  {}  {}  {}", show(e.at), e.kind.name(), e.by.as_deref().unwrap_or(""));
                }
            }
        }
        H::Queue { hall: h, day, json } => {
            let h = hall_code(h)?;
            let day = day.as_deref().map(input::date).transpose()?.unwrap_or_else(today);
            let tickets = store.day_tickets(&h, day).await?;
            if *json {
                let list: Vec<Value> = tickets.iter().map(ticket_json).collect();
                crate::outln!("{}", json!({"hall": h, "day": day.to_string(), "tickets": list}));
            } else {
                for t in &tickets {
                    print_ticket(t, false);
                }
            }
        }
        H::Book { hall: h, area: a, slot, name, phone, priority: p, write } => {
            let slot = chrono::NaiveDateTime::parse_from_str(slot.trim(), "%Y-%m-%dT%H:%M")
                .map_err(|_| anyhow!("--slot {slot:?}: expected local time 2026-03-10T09:00"))?;
            let req = BookingRequest {
                code: new_booking_code(),
                hall: hall_code(h)?,
                area: area(a)?,
                slot,
                name: motcua_core::text::line(name, "--name", 200)?,
                phone: phone
                    .as_deref()
                    .map(|p| p.trim().parse::<motcua_core::Phone>().map(|p| p.to_string()))
                    .transpose()?,
                priority: priority(p.as_deref())?,
            };
            let s = write.stamp(domain)?;
            let b = store.book(domain, req, s.at, s.now).await?;
            if write.json {
                crate::outln!("{}", serde_json::to_string(&b)?);
            } else {
                crate::outln!("{}  hall {} area {}  slot {}", b.code, b.hall, b.area, show(b.slot_at));
            }
        }
        H::Cancel { code, write } => {
            let code = hall::parse_booking_code(code)?;
            let s = write.stamp(domain)?;
            let b = store.cancel_booking(domain, &code, s.at, write.by.clone(), s.now).await?;
            crate::outln!("{}", if write.json { serde_json::to_string(&b)? } else { format!("{} cancelled", b.code) });
        }
        H::CheckIn { code, write } => {
            let code = hall::parse_booking_code(code)?;
            let s = write.stamp(domain)?;
            let t = store.check_in(domain, &code, s.at, write.by.clone(), s.now).await?;
            print_ticket(&t, write.json);
        }
        H::SignIn { hall: h, counter, out, write } => {
            let h = hall_code(h)?;
            let staff = if *out {
                None
            } else {
                Some(write.by.as_deref().ok_or_else(|| anyhow!("--by: the account that signs in"))?)
            };
            let s = write.stamp(domain)?;
            store.sign_counter(domain, &h, *counter, staff, s.at, s.now).await?;
            crate::outln!(
                "{}",
                match staff {
                    Some(st) => format!("{st} signed in at counter {counter} of hall {h}"),
                    None => format!("counter {counter} of hall {h} signed out"),
                }
            );
        }
        H::CloseDay { hall: h, day, write } => {
            let h = hall_code(h)?;
            let day = input::date(day)?;
            let s = write.stamp(domain)?;
            let n = store.close_day(domain, &h, day, s.at, s.now).await?;
            crate::outln!(
                "{}",
                if write.json { json!({"closed": n}).to_string() } else { format!("{n} tickets closed") }
            );
        }
        H::Report { hall: h, from, to, by, format } => {
            let h = h.as_deref().map(hall_code).transpose()?;
            let to = to.as_deref().map(input::date).transpose()?.unwrap_or_else(today);
            let from = from.as_deref().map(input::date).transpose()?.unwrap_or(to);
            if from > to {
                bail!("--from {from} is after --to {to}");
            }
            let by = by
                .as_deref()
                .map(|b| {
                    HallReportBy::parse(b).ok_or_else(|| anyhow!("--by: expected hall, area, counter, officer or day"))
                })
                .transpose()?;
            let r = HallReport::of_period(store, domain, h.as_ref(), from, to, by).await?;
            match format.trim() {
                "json" => crate::outln!("{}", serde_json::to_string(&r.to_json())?),
                "csv" => crate::out!("{}", r.to_csv()),
                "table" => crate::out!("{}", report_table(&r)),
                other => bail!("--format {other:?}: expected table, json or csv"),
            }
        }
    }
    Ok(())
}

/// A booking code from the system's random source.
pub fn new_booking_code() -> String {
    motcua_server::hall::new_booking_code()
}

pub fn report_table(r: &HallReport) -> String {
    let mut out = format!("hall report {} – {}\n", r.from, r.to);
    out.push_str(&format!(
        "{:<16} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8}\n",
        "", "issued", "served", "no-show", "wait p50", "wait p90", "serv p50", "serv p90", "in target"
    ));
    let line = |k: &str, t: &HallTally| {
        format!(
            "{:<16} {:>7} {:>7} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8}\n",
            k,
            t.issued,
            t.served,
            t.no_show,
            minutes_text(t.waiting.p50),
            minutes_text(t.waiting.p90),
            minutes_text(t.service.p50),
            minutes_text(t.service.p90),
            t.within_target_ratio.map_or_else(|| "-".into(), |x| format!("{:.1} %", x * 100.0))
        )
    };
    for (k, t) in &r.rows {
        out.push_str(&line(k, t));
    }
    out.push_str(&line("total", &r.total));
    out
}

/// Shown for a called ticket: `Mời số A-023 đến quầy 3`.
pub fn call_text(t: &Ticket) -> String {
    format!("Mời số {} đến quầy {}", t.number, t.counter.unwrap_or(0))
}
