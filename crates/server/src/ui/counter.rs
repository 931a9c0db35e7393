//! The counter panel (quầy) beside the work queue, for a desk officer of an agency with a
//! reception hall: sign in to a counter and out, see the ticket at the counter, call the next
//! citizen ("no one waiting" when no one is), recall, no-show (after the hall's recalls),
//! start, finish, left, transfer to another area or counter, and open the intake form with the
//! ticket filled in. Plain forms posted to `POST /counter`, each step through the same calls
//! as the hall's API ([`crate::hall::sign`], [`crate::hall::call_next`],
//! [`crate::hall::take_step`]): no second copy of the rules.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use motcua_core::calendar::to_local;
use motcua_core::hall::{Hall, Ticket, TicketStatus};
use motcua_store::{HallStore, Role};
use serde::Deserialize;

use super::common::{Ui, encode};
use crate::i18n::Tr;
use crate::page::{Form, error_page};
use crate::problem::{Problem, ProblemKind};
use crate::state::AppState;

/// A counter one may sign in to: `HCC/3`, and how it shows.
#[derive(Debug, Clone)]
pub(super) struct CounterChoice {
    pub place: String,
    pub label: String,
}

/// A hall of the officer's agencies, with its counters.
#[derive(Debug, Clone)]
pub(super) struct HallChoice {
    pub name: String,
    pub counters: Vec<CounterChoice>,
}

/// A ticket as the panel shows it.
#[derive(Debug, Clone)]
pub(super) struct TicketVm {
    pub id: String,
    pub number: String,
    pub status: &'static str,
    pub status_label: String,
    pub recalls: u32,
    /// The hall's recalls reached: a no-show may be marked.
    pub may_no_show: bool,
    pub priority: bool,
    /// The intake form with this ticket (and the hall's agency and the area's first procedure).
    pub intake_href: String,
}

/// The counter the officer is signed in at.
#[derive(Debug, Clone)]
pub(super) struct AtCounter {
    pub place: String,
    pub hall_name: String,
    pub counter: u16,
    pub areas: String,
    /// Tickets this counter could call now.
    pub waiting: usize,
    pub current: Option<TicketVm>,
    /// The counter's last finished ticket (a dossier is often received from it).
    pub last_done: Option<TicketVm>,
    pub recalls_needed: u32,
    pub areas_to: Vec<(String, String)>,
    pub counters_to: Vec<(String, String)>,
    pub tablet_href: String,
    pub tv_href: String,
}

/// The panel: the counter signed in at, or the counters to sign in to.
#[derive(Debug, Clone)]
pub(super) struct CounterPanel {
    pub halls: Vec<HallChoice>,
    pub at: Option<AtCounter>,
    pub note: String,
    pub error: String,
}

fn status_label(tr: Tr, s: TicketStatus) -> String {
    tr.t(&format!("ticket_{}", s.name())).to_string()
}

fn ticket_vm(tr: Tr, hall: &Hall, t: &Ticket) -> TicketVm {
    let procedure = hall
        .area(t.area, t.id.day)
        .ok()
        .and_then(|a| a.procedures.first())
        .map(|p| format!("&procedure={}", encode(p.as_str())))
        .unwrap_or_default();
    TicketVm {
        id: t.id.to_string(),
        number: t.number.clone(),
        status: t.status.name(),
        status_label: status_label(tr, t.status),
        recalls: t.recalls,
        may_no_show: t.status == TicketStatus::Called && t.recalls >= hall.recalls_before_no_show,
        priority: t.priority.is_some(),
        intake_href: format!("/intake?ticket={}&agency={}{procedure}", encode(&t.id.to_string()), hall.agency),
    }
}

/// The counter's state for its officer: the ticket called or being served there, the last one
/// finished, and how many it could call.
async fn at_counter(state: &AppState, tr: Tr, hall: &Hall, counter: u16, day: NaiveDate) -> Result<AtCounter, Problem> {
    let c = hall.counter(counter, day)?;
    let tickets = state.store.day_tickets(&hall.code, day).await?;
    let here = |t: &&Ticket| t.counter == Some(counter);
    let current = tickets
        .iter()
        .filter(here)
        .filter(|t| matches!(t.status, TicketStatus::Called | TicketStatus::Serving))
        .max_by_key(|t| t.called_at);
    let last_done =
        tickets.iter().filter(here).filter(|t| t.status == TicketStatus::Done).max_by_key(|t| t.finished_at);
    let waiting = tickets
        .iter()
        .filter(|t| t.status == TicketStatus::Waiting)
        .filter(|t| t.for_counter.map_or(c.areas.contains(&t.area), |f| f == counter))
        .count();
    let any = (String::new(), tr.t("counter_any").to_string());
    Ok(AtCounter {
        place: format!("{}/{counter}", hall.code),
        hall_name: hall.name.clone(),
        counter,
        areas: c.areas.iter().map(char::to_string).collect::<Vec<_>>().join(", "),
        waiting,
        current: current.map(|t| ticket_vm(tr, hall, t)),
        last_done: last_done.map(|t| ticket_vm(tr, hall, t)),
        recalls_needed: hall.recalls_before_no_show,
        areas_to: std::iter::once(any.clone())
            .chain(hall.areas_on(day).map(|a| (a.letter.to_string(), format!("{} — {}", a.letter, a.name))))
            .collect(),
        counters_to: std::iter::once(any)
            .chain(hall.counters_on(day).filter(|x| x.number != counter).map(|x| {
                let areas: Vec<String> = x.areas.iter().map(char::to_string).collect();
                (x.number.to_string(), format!("{} {} ({})", tr.t("counter_number"), x.number, areas.join(", ")))
            }))
            .collect(),
        tablet_href: format!("/sanh/{}/quay/{counter}/danh-gia", hall.code),
        tv_href: format!("/sanh/{}/tv", hall.code),
    })
}

/// The panel for a desk officer of an agency with a hall in force today; `None` for anyone
/// else (no panel on the page).
pub(super) async fn panel(
    state: &AppState,
    ui: &Ui,
    note: Option<&str>,
    error: String,
) -> Result<Option<CounterPanel>, Problem> {
    let staff = &ui.who.staff;
    if staff.role != Role::Desk {
        return Ok(None);
    }
    let tr = ui.tr;
    let day = to_local(state.now()).date();
    let halls: Vec<&Hall> = state.domain.halls.halls_on(day).filter(|h| staff.agencies.contains(&h.agency)).collect();
    if halls.is_empty() {
        return Ok(None);
    }
    let mut choices = Vec::new();
    let mut at = None;
    for hall in halls {
        let sessions = state.store.counter_sessions(&hall.code).await?;
        // A counter no longer in force today (signed in before it closed) is no place to work.
        if let Some(mine) = sessions.iter().find(|s| s.staff == staff.username)
            && hall.counter(mine.counter, day).is_ok()
        {
            at = Some(at_counter(state, tr, hall, mine.counter, day).await?);
        }
        let counters = hall
            .counters_on(day)
            .map(|c| {
                let areas: Vec<String> = c.areas.iter().map(char::to_string).collect();
                let who = sessions
                    .iter()
                    .find(|s| s.counter == c.number)
                    .map(|s| format!(" — {}", s.staff))
                    .unwrap_or_default();
                CounterChoice {
                    place: format!("{}/{}", hall.code, c.number),
                    label: format!("{} {} ({}){who}", tr.t("counter_number"), c.number, areas.join(", ")),
                }
            })
            .collect();
        choices.push(HallChoice { name: hall.name.clone(), counters });
    }
    let note = match note {
        Some("none") => tr.t("counter_no_one_waiting").to_string(),
        _ => String::new(),
    };
    Ok(Some(CounterPanel { halls: choices, at, note, error }))
}

/// A form of the counter panel.
#[derive(Debug, Default, Deserialize)]
pub struct CounterForm {
    #[serde(default, rename = "_csrf")]
    csrf: String,
    /// sign-in, sign-out, call, or a ticket's step (recall, no-show, start, finish, left,
    /// transfer).
    #[serde(default)]
    step: String,
    /// The counter: `HCC/3`.
    #[serde(default)]
    place: String,
    /// The ticket's id, for its steps.
    #[serde(default)]
    ticket: String,
    /// A transfer's area and counter (either may be empty).
    #[serde(default)]
    area: String,
    #[serde(default)]
    to_counter: String,
}

fn place(s: &str) -> Result<(&str, u16), Problem> {
    s.trim()
        .split_once('/')
        .and_then(|(h, n)| n.trim().parse::<u16>().ok().map(|n| (h.trim(), n)))
        .ok_or_else(|| Problem::invalid("choose a hall and a counter"))
}

/// One step of the panel: the write, then back to the queue page (with "no one waiting" when
/// a call found no one); a refusal shows the queue page with the reason in the panel.
async fn counter_write(state: &AppState, ui: &Ui, f: &CounterForm) -> Result<Option<&'static str>, Problem> {
    match f.step.as_str() {
        "sign-in" | "sign-out" => {
            let (h, n) = place(&f.place)?;
            crate::hall::sign(state, &ui.who, h, n, f.step == "sign-in").await?;
            Ok(None)
        }
        "call" => {
            let (h, n) = place(&f.place)?;
            Ok(crate::hall::call_next(state, &ui.who, h, n).await?.is_none().then_some("none"))
        }
        "redirect" => Err(Problem::not_found("no step \"redirect\" on the counter panel")),
        step => {
            let counter = match step {
                "recall" => Some(place(&f.place)?.1),
                "transfer" => Some(f.to_counter.trim())
                    .filter(|c| !c.is_empty())
                    .map(|c| c.parse::<u16>().map_err(|_| Problem::invalid("to_counter: a counter's number")))
                    .transpose()?,
                _ => None,
            };
            let area = Some(f.area.trim()).filter(|a| step == "transfer" && !a.is_empty());
            crate::hall::take_step(state, &ui.who, &f.ticket, step, counter, area).await?;
            Ok(None)
        }
    }
}

/// `POST /counter`: a step of the counter panel.
pub async fn counter_step(State(state): State<AppState>, ui: Ui, Form(f): Form<CounterForm>) -> Response {
    if let Err(p) = ui.who.check_csrf(&f.csrf) {
        return error_page(ui.tr, &p);
    }
    match counter_write(&state, &ui, &f).await {
        Ok(Some(note)) => Redirect::to(&format!("/queue?counter_note={note}#counter")).into_response(),
        Ok(None) => Redirect::to("/queue#counter").into_response(),
        Err(p) if matches!(p.kind, ProblemKind::Forbidden | ProblemKind::NotFound | ProblemKind::Internal) => {
            error_page(ui.tr, &p)
        }
        Err(p) => {
            let error = crate::messages::problem_text(&p, ui.tr, Some(&state.domain));
            super::queue::queue_page(&state, &ui, &super::queue::QueueQuery::default(), error, p.status()).await
        }
    }
}
