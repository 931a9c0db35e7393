//! A realistic day of a reception hall (sảnh tiếp nhận): citizens take numbers (QR, kiosk,
//! desk, booking check-ins) with peaks at opening and after lunch, counters call them by the
//! hall's own ordering rule (core's [`next_ticket`]), serve them for a time drawn from the
//! area's `service_minutes`, and the day's script ([`HallCommand`]s in time order) is what the
//! caller records through the store. The script is computed with core's ticket state machine
//! and numbering, so the store gives the same numbers and calls the same tickets (it refuses
//! the script otherwise). Pure and deterministic from the seed, the hall and the day.
//!
//! The shares are documented in docs/simulation.md ("A day in the hall").

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use chrono::{DateTime, Duration, NaiveDate, Timelike, Utc};
use motcua_core::calendar::{Calendar, from_local};
use motcua_core::hall::{
    BookingRequest, FairState, Hall, HallCommand, HallError, HallRating, PriorityKind, Ticket, TicketChannel,
    TicketEvent, TicketEventKind, TicketId, TicketStatus, Waiting, booking_code_from, next_ticket,
};
use motcua_core::{Channel, DossierCode, ProcedureCode};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::pick::{Cumulative, lognormal, pick_weighted};

/// Arrivals as a share of what the counters can serve in the day's office hours.
pub const LOAD: f64 = 0.7;
/// Walk-in tickets with a priority category.
pub const PRIORITY_SHARE: f64 = 0.12;
/// Calls whose citizen does not come (recalled, then marked no-show).
pub const NO_SHOW_SHARE: f64 = 0.04;
/// Walk-ins who leave if not called within 15–45 minutes.
pub const IMPATIENT_SHARE: f64 = 0.05;
/// Services that end in a transfer to another area.
pub const TRANSFER_SHARE: f64 = 0.03;
/// Finished tickets rated at the counter.
pub const RATING_SHARE: f64 = 0.6;
/// Tickets of a bookable area that come from an online booking (within the slots' limits).
pub const BOOKING_SHARE: f64 = 0.08;
/// Bookings cancelled before their slot, and bookings never checked in.
pub const BOOKING_CANCELLED: f64 = 0.10;
pub const BOOKING_ABSENT: f64 = 0.10;
/// Of the booked citizens who come: more than the hall's `booking_late_minutes` late (they
/// take an ordinary number), and late but within it.
pub const BOOKING_TOO_LATE: f64 = 0.10;
pub const BOOKING_LATE: f64 = 0.15;
/// Minutes after a window's close that counters still call the ones waiting; minutes before
/// it that the last number is taken.
pub const CALL_AFTER_CLOSE: i64 = 15;
pub const LAST_NUMBER_BEFORE_CLOSE: i64 = 10;

/// Walk-in channels: QR poster, kiosk, desk.
const CHANNELS: [(TicketChannel, f64); 3] =
    [(TicketChannel::Qr, 0.35), (TicketChannel::Kiosk, 0.45), (TicketChannel::Desk, 0.20)];
const PRIORITY_KINDS: [(PriorityKind, f64); 5] = [
    (PriorityKind::Elderly, 0.50),
    (PriorityKind::SmallChild, 0.15),
    (PriorityKind::Pregnant, 0.10),
    (PriorityKind::Disability, 0.10),
    (PriorityKind::Merit, 0.15),
];
const RATINGS: [(HallRating, f64); 4] = [
    (HallRating::VerySatisfied, 0.55),
    (HallRating::Satisfied, 0.30),
    (HallRating::Neutral, 0.10),
    (HallRating::Dissatisfied, 0.05),
];

/// A dossier received in person at the hall's agency that day: linked to the ticket being
/// served when it was received, if the area serving it covers the procedure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallDossier {
    pub code: DossierCode,
    pub procedure: ProcedureCode,
    pub received_at: DateTime<Utc>,
}

/// What a hall day's script holds, for the caller's summary and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HallDayStats {
    pub issued: u64,
    pub priority: u64,
    pub calls: u64,
    pub no_show: u64,
    pub left: u64,
    pub transfers: u64,
    pub finished: u64,
    pub rated: u64,
    pub booked: u64,
    pub cancelled: u64,
    pub checked_in: u64,
    pub checked_in_late: u64,
    pub too_late: u64,
    pub linked: u64,
    pub closed: u64,
}

/// One hall day: its script in time order, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HallDay {
    pub day: NaiveDate,
    pub commands: Vec<HallCommand>,
    pub stats: HallDayStats,
}

impl HallDay {
    /// The commands at or before `now` (a run's "now": nothing later is recorded). The script
    /// is in time order, so its prefix is a consistent day.
    pub fn until(&self, now: DateTime<Utc>) -> Vec<HallCommand> {
        self.commands.iter().take_while(|c| c.at() <= now).cloned().collect()
    }
}

fn rng_for(seed: u64, hall: &Hall, day: NaiveDate) -> StdRng {
    let key = format!("{seed}/{}/{day}", hall.code);
    let h = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    StdRng::seed_from_u64(h)
}

/// The arrival profile inside the office windows, one weight a minute: two peaks, the first
/// hour after opening (weight 1 + 2·e^(−x/45)) and the first hour after lunch
/// (1 + 1.5·e^(−x/40)), `x` the minutes since the window opened; nothing in the last
/// [`LAST_NUMBER_BEFORE_CLOSE`] minutes.
pub fn arrival_weight(window: usize, minute: i64) -> f64 {
    let x = minute as f64;
    if window == 0 { 1.0 + 2.0 * (-x / 45.0).exp() } else { 1.0 + 1.5 * (-x / 40.0).exp() }
}

/// Tickets an hour each area's counters can serve: a counter serving k areas gives each 1/k
/// of its time.
fn area_rates(hall: &Hall, day: NaiveDate) -> Vec<(char, f64)> {
    hall.areas_on(day)
        .map(|a| {
            let share: f64 = hall
                .counters_on(day)
                .filter(|c| c.areas.contains(&a.letter))
                .map(|c| 1.0 / c.areas.len().max(1) as f64)
                .sum();
            (a.letter, share * 60.0 / f64::from(a.service_minutes.max(1)))
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Arrival {
    Walk { area: char, channel: TicketChannel, priority: Option<PriorityKind>, impatient: Option<i64> },
    Booked { code: String, late: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrive(usize),
    Free(usize),
    Transfer { ticket: usize, counter: usize },
    Leave(usize),
}

struct Sim<'a> {
    hall: &'a Hall,
    day: NaiveDate,
    rng: StdRng,
    tickets: Vec<Ticket>,
    numbers: BTreeMap<char, u32>,
    fair: FairState,
    out: Vec<(DateTime<Utc>, u64, HallCommand)>,
    seq: u64,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Ev)>>,
    stats: HallDayStats,
}

impl Sim<'_> {
    fn emit(&mut self, c: HallCommand) {
        self.seq += 1;
        self.out.push((c.at(), self.seq, c));
    }

    fn schedule(&mut self, at: DateTime<Utc>, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((at, self.seq, ev)));
    }

    fn next_id(&mut self, area: char) -> TicketId {
        let n = self.numbers.entry(area).or_insert(0);
        *n += 1;
        TicketId { hall: self.hall.code.clone(), day: self.day, area, number: *n }
    }

    /// Applies a step to a ticket and emits it.
    fn step(
        &mut self,
        i: usize,
        at: DateTime<Utc>,
        by: Option<String>,
        kind: TicketEventKind,
    ) -> Result<(), HallError> {
        let event = TicketEvent::new(at, by, kind);
        self.tickets[i].apply(self.hall, &event)?;
        let ticket = self.tickets[i].id.clone();
        self.emit(HallCommand::Step { ticket, event });
        Ok(())
    }

    fn waiting(&self) -> Vec<Waiting> {
        self.tickets
            .iter()
            .filter(|t| t.status == TicketStatus::Waiting)
            .map(|t| Waiting {
                id: t.id.clone(),
                area: t.area,
                priority: t.priority.is_some(),
                slot_at: t.slot_at,
                waiting_since: t.waiting_since,
                for_counter: t.for_counter,
            })
            .collect()
    }
}

/// Plans one hall day. Empty on a non-working day or a day the hall is not in force.
pub fn plan_hall_day(
    hall: &Hall,
    calendar: &Calendar,
    day: NaiveDate,
    seed: u64,
    dossiers: &[HallDossier],
) -> Result<HallDay, HallError> {
    let empty = || HallDay { day, commands: Vec::new(), stats: HallDayStats::default() };
    if !hall.in_force(day) || !calendar.is_working_day(day)? {
        return Ok(empty());
    }
    let windows = calendar.hours().windows().to_vec();
    let counters: Vec<(u16, Vec<char>)> = hall.counters_on(day).map(|c| (c.number, c.areas.clone())).collect();
    let rates = area_rates(hall, day);
    if windows.is_empty() || counters.is_empty() || rates.is_empty() {
        return Ok(empty());
    }
    let at = |t: chrono::NaiveTime| from_local(day.and_time(t));
    let mut rng = rng_for(seed, hall, day);

    // How many numbers: the counters' capacity over the open hours, loaded, with a busier
    // Monday and a quieter Friday, ±10 % noise; within the hall's and areas' capacities.
    let open_hours: f64 = windows.iter().map(|w| (w.close - w.open).num_minutes() as f64 / 60.0).sum();
    let weekday = match chrono::Datelike::weekday(&day) {
        chrono::Weekday::Mon => 1.1,
        chrono::Weekday::Fri => 0.9,
        _ => 1.0,
    };
    let capacity: f64 = rates.iter().map(|(_, r)| r).sum::<f64>() * open_hours;
    let mut total = (capacity * LOAD * weekday * rng.gen_range(0.9..1.1)).round() as u32;
    if let Some(cap) = hall.capacity_per_day {
        total = total.min(cap);
    }
    let area_pick = Cumulative::new(rates.iter().map(|(_, r)| *r)).ok_or(HallError::Invalid("no area".into()))?;

    // The minutes numbers are taken in, weighted by the two-peak profile.
    let mut minutes: Vec<DateTime<Utc>> = Vec::new();
    let mut weights: Vec<f64> = Vec::new();
    for (k, w) in windows.iter().enumerate() {
        let len = (w.close - w.open).num_minutes() - LAST_NUMBER_BEFORE_CLOSE;
        for m in 0..len.max(0) {
            minutes.push(at(w.open) + Duration::minutes(m));
            weights.push(arrival_weight(k, m));
        }
    }
    let minute_pick = Cumulative::new(weights).ok_or(HallError::Invalid("no office minute".into()))?;

    let mut sim = Sim {
        hall,
        day,
        rng: StdRng::seed_from_u64(rng.r#gen()),
        tickets: Vec::new(),
        numbers: BTreeMap::new(),
        fair: FairState::default(),
        out: Vec::new(),
        seq: 0,
        queue: BinaryHeap::new(),
        stats: HallDayStats::default(),
    };
    let mut arrivals: Vec<(DateTime<Utc>, Arrival)> = Vec::new();
    let mut per_area: BTreeMap<char, u32> = BTreeMap::new();
    for _ in 0..total {
        let (area, _) = rates[area_pick.pick(&mut rng)];
        let area_cap = hall.area(area, day)?.capacity_per_day.unwrap_or(u32::MAX).min(motcua_core::hall::MAX_NUMBER);
        let n = per_area.entry(area).or_insert(0);
        if *n >= area_cap {
            continue;
        }
        *n += 1;
        let t = minutes[minute_pick.pick(&mut rng)] + Duration::seconds(rng.gen_range(0..60));
        let channel = pick_weighted(&mut rng, &CHANNELS);
        let priority = rng.gen_bool(PRIORITY_SHARE).then(|| pick_weighted(&mut rng, &PRIORITY_KINDS));
        let impatient = rng.gen_bool(IMPATIENT_SHARE).then(|| rng.gen_range(15..=45));
        arrivals.push((t, Arrival::Walk { area, channel, priority, impatient }));
    }

    // Bookings: a share of each bookable area's numbers, on the day's slots within their
    // limits, booked 1–7 days ahead.
    let slots = hall.slots(calendar, day)?;
    let mut booking_seq = 0u32;
    for a in hall.areas_on(day).filter(|a| a.booking_per_slot > 0) {
        let n = f64::from(per_area.get(&a.letter).copied().unwrap_or(0));
        let wanted = (n * BOOKING_SHARE).round() as usize;
        let mut taken: BTreeMap<chrono::NaiveDateTime, u32> = BTreeMap::new();
        for _ in 0..wanted {
            if slots.is_empty() {
                break;
            }
            let slot = slots[rng.gen_range(0..slots.len())];
            let used = taken.entry(slot).or_insert(0);
            if *used >= a.booking_per_slot {
                continue;
            }
            *used += 1;
            booking_seq += 1;
            let ahead = i64::from(rng.gen_range(1..=hall.booking_days_ahead.clamp(1, 7)));
            let booked_at = from_local((day - Duration::days(ahead)).and_hms_opt(7, 0, 0).unwrap_or_default())
                + Duration::seconds(rng.gen_range(0..15 * 3600));
            let code = booking_code(hall, day, booking_seq);
            let person = crate::people::applicant(&mut rng, Channel::Online, &[], None, "thành phố Đà Nẵng");
            let priority = rng.gen_bool(PRIORITY_SHARE).then(|| pick_weighted(&mut rng, &PRIORITY_KINDS));
            let request = BookingRequest {
                code: code.clone(),
                hall: hall.code.clone(),
                area: a.letter,
                slot,
                name: person.name,
                phone: person.phone.map(|p| p.to_string()),
                priority,
            };
            sim.emit(HallCommand::Book { request, at: booked_at });
            sim.stats.booked += 1;
            let slot_at = from_local(slot);
            let r: f64 = rng.r#gen();
            if r < BOOKING_CANCELLED {
                let cancel =
                    booked_at + Duration::seconds(rng.gen_range(600..=(slot_at - booked_at).num_seconds().max(601)));
                sim.emit(HallCommand::Cancel { code, at: cancel.min(slot_at - Duration::minutes(1)) });
                sim.stats.cancelled += 1;
                continue;
            }
            if r < BOOKING_CANCELLED + BOOKING_ABSENT {
                continue;
            }
            let limit = i64::from(hall.booking_late_minutes);
            let c: f64 = rng.r#gen();
            let (offset, late) = if c < BOOKING_TOO_LATE {
                (rng.gen_range(limit * 60 + 60..=limit * 60 + 1800), true)
            } else if c < BOOKING_TOO_LATE + BOOKING_LATE {
                (rng.gen_range(300..=(limit * 60).max(301)), false)
            } else {
                (rng.gen_range(-900..=300), false)
            };
            let mut t = slot_at + Duration::seconds(offset);
            // Before the hall opens the citizen waits at the door.
            if hall.check_open(calendar, t).is_err() && t < slot_at {
                t = slot_at;
            }
            if hall.check_open(calendar, t).is_err() {
                continue;
            }
            arrivals.push((t, Arrival::Booked { code, late }));
        }
    }
    arrivals.sort_by_key(|(t, _)| *t);
    let arrivals_at: Vec<DateTime<Utc>> = arrivals.iter().map(|(t, _)| *t).collect();
    for (i, t) in arrivals_at.iter().enumerate() {
        sim.schedule(*t, Ev::Arrive(i));
    }

    // Counters sign in ten minutes before opening and work the windows (calling up to
    // CALL_AFTER_CLOSE minutes past each close).
    let staff = |number: u16| format!("tn{number:02}.{}", hall.agency);
    let first_open = at(windows[0].open);
    let day_end = at(windows[windows.len() - 1].close) + Duration::minutes(CALL_AFTER_CLOSE);
    for (k, (number, _)) in counters.iter().enumerate() {
        sim.emit(HallCommand::Sign {
            counter: *number,
            staff: Some(staff(*number)),
            at: first_open - Duration::minutes(10),
        });
        sim.schedule(first_open, Ev::Free(k));
    }
    let working = |t: DateTime<Utc>| -> Option<DateTime<Utc>> {
        // The instant a counter free at `t` may call: `t` inside a window (or its grace), else
        // the next window's opening; None after the day.
        for w in &windows {
            let (o, c) = (at(w.open), at(w.close) + Duration::minutes(CALL_AFTER_CLOSE));
            if t < o {
                return Some(o);
            }
            if t < c {
                return Some(t);
            }
        }
        None
    };
    let mut idle: Vec<bool> = vec![false; counters.len()];

    while let Some(Reverse((t, _, ev))) = sim.queue.pop() {
        match ev {
            Ev::Arrive(i) => {
                let (t, arrival) = arrivals[i].clone();
                match arrival {
                    Arrival::Walk { area, channel, priority, impatient } => {
                        let id = sim.next_id(area);
                        let ticket = issue(&mut sim, t, area, channel, priority, id)?;
                        if let Some(m) = impatient {
                            sim.schedule(t + Duration::minutes(m), Ev::Leave(ticket));
                        }
                    }
                    Arrival::Booked { code, late } => {
                        let Some(area) = booked_area(&sim, &code) else { continue };
                        if late {
                            // More than the limit late: the check-in is refused, an ordinary
                            // number is taken at the kiosk.
                            sim.stats.too_late += 1;
                            let id = sim.next_id(area);
                            issue(&mut sim, t, area, TicketChannel::Kiosk, None, id)?;
                        } else {
                            check_in(&mut sim, &code, t)?;
                        }
                    }
                }
                for (k, busy) in idle.clone().into_iter().enumerate() {
                    if busy {
                        idle[k] = false;
                        sim.schedule(t, Ev::Free(k));
                    }
                }
            }
            Ev::Free(k) => {
                let Some(now) = working(t) else { continue };
                if now > t {
                    sim.schedule(now, Ev::Free(k));
                    continue;
                }
                let (number, areas) = counters[k].clone();
                let waiting = sim.waiting();
                let Some((next, lane)) = next_ticket(&hall.priority, &sim.fair, &waiting, number, &areas, now) else {
                    idle[k] = true;
                    continue;
                };
                let id = next.id.clone();
                let i = sim.tickets.iter().position(|x| x.id == id).ok_or(HallError::Mismatch)?;
                let by = Some(staff(number));
                sim.tickets[i]
                    .apply(hall, &TicketEvent::new(now, by.clone(), TicketEventKind::Called { counter: number }))?;
                sim.emit(HallCommand::Call { counter: number, at: now, by: by.clone(), expect: id });
                sim.fair = sim.fair.after(lane);
                sim.stats.calls += 1;
                let free_at = serve(&mut sim, i, k, number, now, by)?;
                if let Some(f) = free_at {
                    sim.schedule(f, Ev::Free(k));
                }
            }
            Ev::Transfer { ticket, counter } => {
                let others: Vec<char> =
                    hall.areas_on(day).map(|a| a.letter).filter(|l| *l != sim.tickets[ticket].area).collect();
                let to = others[sim.rng.gen_range(0..others.len())];
                let by = Some(staff(counters[counter].0));
                sim.step(ticket, t, by, TicketEventKind::Transferred { area: Some(to), counter: None })?;
                sim.stats.transfers += 1;
                let free = t + Duration::seconds(sim.rng.gen_range(15..=45));
                sim.schedule(free, Ev::Free(counter));
                for (k, busy) in idle.clone().into_iter().enumerate() {
                    if busy {
                        idle[k] = false;
                        sim.schedule(t, Ev::Free(k));
                    }
                }
            }
            Ev::Leave(i) => {
                if sim.tickets[i].status == TicketStatus::Waiting && sim.tickets[i].transfers == 0 && t < day_end {
                    sim.step(i, t, None, TicketEventKind::Left)?;
                    sim.stats.left += 1;
                }
            }
        }
    }

    // The day's end: counters sign out, the ones still waiting are closed.
    for (number, _) in &counters {
        sim.emit(HallCommand::Sign { counter: *number, staff: None, at: day_end });
    }
    for i in 0..sim.tickets.len() {
        if sim.tickets[i].status.is_open() {
            let at = day_end.max(sim.tickets[i].last_event_at);
            sim.step(i, at, None, TicketEventKind::Closed)?;
            sim.stats.closed += 1;
        }
    }
    link_dossiers(&mut sim, dossiers)?;

    let mut out = std::mem::take(&mut sim.out);
    out.sort_by_key(|(at, seq, _)| (*at, *seq));
    sim.stats.issued = sim.tickets.len() as u64;
    Ok(HallDay { day, commands: out.into_iter().map(|(_, _, c)| c).collect(), stats: sim.stats })
}

/// The area a booking (emitted earlier in the script) is for.
fn booked_area(sim: &Sim<'_>, code: &str) -> Option<char> {
    sim.out.iter().find_map(|(_, _, c)| match c {
        HallCommand::Book { request, .. } if request.code == code => Some(request.area),
        _ => None,
    })
}

fn issue(
    sim: &mut Sim<'_>,
    t: DateTime<Utc>,
    area: char,
    channel: TicketChannel,
    priority: Option<PriorityKind>,
    id: TicketId,
) -> Result<usize, HallError> {
    let issue =
        motcua_core::hall::Issue { id: id.clone(), channel, priority, booking: None, slot_at: None, linked_from: None };
    let ticket = Ticket::issue(sim.hall, &TicketEvent::new(t, None, TicketEventKind::Issued(issue)))?;
    sim.tickets.push(ticket);
    sim.emit(HallCommand::Issue { area, channel, priority, at: t, by: None, expect: id });
    sim.stats.priority += u64::from(priority.is_some());
    Ok(sim.tickets.len() - 1)
}

fn check_in(sim: &mut Sim<'_>, code: &str, t: DateTime<Utc>) -> Result<(), HallError> {
    let Some(request) = sim.out.iter().find_map(|(_, _, c)| match c {
        HallCommand::Book { request, .. } if request.code == code => Some(request.clone()),
        _ => None,
    }) else {
        return Ok(());
    };
    let slot_at = from_local(request.slot);
    let id = sim.next_id(request.area);
    let issue = motcua_core::hall::Issue {
        id: id.clone(),
        channel: TicketChannel::Booking,
        priority: request.priority,
        booking: Some(code.to_string()),
        slot_at: Some(slot_at),
        linked_from: None,
    };
    let ticket = Ticket::issue(sim.hall, &TicketEvent::new(t, None, TicketEventKind::Issued(issue)))?;
    sim.tickets.push(ticket);
    sim.emit(HallCommand::CheckIn { code: code.to_string(), at: t, by: None, expect: id });
    sim.stats.checked_in += 1;
    sim.stats.checked_in_late += u64::from(t > slot_at + Duration::minutes(5));
    Ok(())
}

/// What follows a call: a no-show after the recalls, or a service (maybe ending in a
/// transfer, scheduled as its own event), a finish and perhaps a rating. Returns when the
/// counter is free again (None: a transfer frees it).
fn serve(
    sim: &mut Sim<'_>,
    i: usize,
    k: usize,
    counter: u16,
    now: DateTime<Utc>,
    by: Option<String>,
) -> Result<Option<DateTime<Utc>>, HallError> {
    let hall = sim.hall;
    if sim.rng.gen_bool(NO_SHOW_SHARE) {
        let mut t = now;
        for _ in 0..hall.recalls_before_no_show {
            t += Duration::seconds(60);
            sim.step(i, t, by.clone(), TicketEventKind::Recalled { counter })?;
        }
        t += Duration::seconds(60);
        sim.step(i, t, by, TicketEventKind::NoShow)?;
        sim.stats.no_show += 1;
        return Ok(Some(t + Duration::seconds(10)));
    }
    let start = now + Duration::seconds(sim.rng.gen_range(20..=90));
    sim.step(i, start, by.clone(), TicketEventKind::Started)?;
    if sim.tickets[i].transfers == 0 && hall.areas_on(sim.day).count() > 1 && sim.rng.gen_bool(TRANSFER_SHARE) {
        let at = start + Duration::seconds(sim.rng.gen_range(120..=360));
        sim.schedule(at, Ev::Transfer { ticket: i, counter: k });
        return Ok(None);
    }
    let median = f64::from(hall.area(sim.tickets[i].area, sim.day)?.service_minutes.max(1)) * 60.0;
    let service = lognormal(&mut sim.rng, median, 0.45, 60.0, median * 4.0);
    let finish = start + Duration::seconds(service);
    sim.step(i, finish, by, TicketEventKind::Finished)?;
    sim.stats.finished += 1;
    if sim.rng.gen_bool(RATING_SHARE) {
        let rating = pick_weighted(&mut sim.rng, &RATINGS);
        let at = finish + Duration::seconds(sim.rng.gen_range(20..=120));
        sim.step(i, at, None, TicketEventKind::Rated { rating, comment: None })?;
        sim.stats.rated += 1;
    }
    Ok(Some(finish + Duration::seconds(sim.rng.gen_range(15..=45))))
}

/// Links each dossier to the ticket of the area covering its procedure that was at a counter
/// when the dossier was received (called before, finished at or after), one dossier a ticket.
fn link_dossiers(sim: &mut Sim<'_>, dossiers: &[HallDossier]) -> Result<(), HallError> {
    let mut sorted: Vec<&HallDossier> = dossiers.iter().collect();
    sorted.sort_by_key(|d| (d.received_at, d.code.clone()));
    for d in sorted {
        let Some(area) = sim.hall.area_for(&d.procedure, sim.day).map(|a| a.letter) else { continue };
        let found = sim.tickets.iter().position(|t| {
            t.status == TicketStatus::Done
                && t.area == area
                && t.dossiers.is_empty()
                && t.called_at.is_some_and(|c| c <= d.received_at)
                && t.finished_at.is_some_and(|f| f >= d.received_at)
        });
        let Some(i) = found else { continue };
        let at = d.received_at.max(sim.tickets[i].last_event_at);
        sim.step(i, at, None, TicketEventKind::Linked { dossier: d.code.clone() })?;
        sim.stats.linked += 1;
    }
    Ok(())
}

/// A booking code unique to the hall (by a hash of its code), the day and the booking's
/// number: `(hall · 36,600 + days since 2000) · 1,000 + n` written in the booking alphabet.
fn booking_code(hall: &Hall, day: NaiveDate, n: u32) -> String {
    let h = hall
        .code
        .as_str()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let days =
        u64::try_from((day - NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(day)).num_days()).unwrap_or(0) % 36_600;
    let mut x = ((h % 20_000) * 36_600 + days) * 1_000 + u64::from(n % 1_000);
    let base = motcua_core::hall::BOOKING_ALPHABET.len() as u64;
    let mut digits = [0u8; 8];
    for d in digits.iter_mut().rev() {
        *d = u8::try_from(x % base).unwrap_or(0);
        x /= base;
    }
    booking_code_from(&digits)
}

/// Local minutes since midnight, for the tests' hour counts.
pub fn local_minute(at: DateTime<Utc>) -> u32 {
    let l = motcua_core::calendar::to_local(at);
    l.hour() * 60 + l.minute()
}
