//! motcua-sim: a realistic, deterministic city workload for motcua.
//!
//! [`plan`] turns a [`Domain`] (calendar + catalog) and a [`SimConfig`] (how many dossiers,
//! which period, which seed) into a stream of [`PlannedDossier`]s: who filed what, at which
//! desk, through which channel, and every event that followed — handoffs along the
//! procedure's route, supplement requests, payment waits, apologies with a new date, the
//! result and its return — with the shares DOMAIN.md §9 describes (see docs/simulation.md).
//! The same seed always gives the same plan, and every planned dossier replays through
//! [`Domain::replay`]: each event is checked by core while it is planned.
//!
//! This crate must not do IO, read the wall clock, spawn tasks or touch a database: it plans,
//! and the caller (the CLI's `simulate`, a benchmark, a test) decides where the events go.
//! It never does working-time arithmetic of its own: every instant is placed with the
//! calendar's working-time functions.
//!
//! Modules: `mix` (how often each procedure is filed), `people` (plausible applicants),
//! `timeline` (one dossier's life, event by event), `pick` (seeded sampling helpers); this file
//! holds [`SimConfig`], [`plan`] and the planned values.

pub mod hall;
mod mix;
mod people;
mod pick;
mod timeline;

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use motcua_core::calendar::{from_local, to_local};
use motcua_core::catalog::{AgencyKind, Level, RouteAgency};
use motcua_core::{
    AgencyCode, Applicant, Channel, Domain, DossierCode, Event, EventKind, Intake, ParseError, ProcedureCode,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use mix::{Bucket, Mix, MixEntry};

use pick::Cumulative;
use timeline::{IntakeStart, Skeleton};

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// How many dossiers to plan.
    pub dossiers: u64,
    /// The same seed gives the same plan.
    pub seed: u64,
    /// First day of arrivals (local date).
    pub from: NaiveDate,
    /// Last day of arrivals; nothing is planned after the end of this day, so dossiers
    /// received near it may still be open.
    pub to: NaiveDate,
}

/// Why a plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    #[error("the period is empty: {from} is after {to}")]
    EmptyPeriod { from: NaiveDate, to: NaiveDate },
    #[error("the period {from} to {to} is outside the calendar's coverage ({first} to {last})")]
    OutOfCoverage { from: NaiveDate, to: NaiveDate, first: NaiveDate, last: NaiveDate },
    #[error("there is no working day between {from} and {to}")]
    NoWorkingDay { from: NaiveDate, to: NaiveDate },
    #[error("the catalog has no procedure that a desk of the catalog can receive")]
    NoProcedure,
}

/// One planned dossier: its intake and the events after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDossier {
    pub procedure: ProcedureCode,
    /// The receiving desk: a ward for ward-level procedures, the city's service centre for
    /// city-level ones.
    pub agency: AgencyCode,
    pub applicant: Applicant,
    pub channel: Channel,
    /// The intake instant: received at the desk, or registered on the portal (online).
    pub received_at: DateTime<Utc>,
    /// The desk officer who recorded the intake (`None` for an online registration).
    pub received_by: Option<String>,
    /// The dossier's number among those the agency took in on the intake's local date, in
    /// this plan (1-based): with the agency and date it makes a unique dossier code.
    pub sequence: u32,
    /// The events after the intake, in time order: `(at, what, staff account)`.
    pub events: Vec<(DateTime<Utc>, EventKind, Option<String>)>,
    /// The papers digitised at intake (`None`: the desk did not say).
    pub digitised: Option<Vec<String>>,
}

impl PlannedDossier {
    /// The dossier code this plan gives the dossier: `<agency>-<yyMMdd>-<sequence>`. Fails
    /// when an agency takes in more than 9,999 dossiers a day in the plan.
    pub fn code(&self) -> Result<DossierCode, ParseError> {
        DossierCode::new(&self.agency, to_local(self.received_at).date(), self.sequence)
    }

    /// The intake under `code`.
    pub fn intake(&self, code: DossierCode) -> Intake {
        Intake {
            code,
            procedure: self.procedure.clone(),
            agency: self.agency.clone(),
            applicant: self.applicant.clone(),
            channel: self.channel,
            documents: Vec::new(),
            digitised: self.digitised.clone(),
        }
    }

    /// The first event: `registered_online` for the online channel, else `received`.
    pub fn intake_event(&self, code: DossierCode) -> Event {
        let intake = self.intake(code);
        let kind = match self.channel {
            Channel::Online => EventKind::RegisteredOnline { intake },
            Channel::InPerson | Channel::Postal => EventKind::Received { intake },
        };
        Event::new(self.received_at, self.received_by.clone(), kind)
    }

    /// The whole log under `code`: the intake event, then the planned events.
    pub fn log(&self, code: DossierCode) -> Vec<Event> {
        let mut log = Vec::with_capacity(self.events.len() + 1);
        log.push(self.intake_event(code));
        log.extend(self.events.iter().map(|(at, kind, by)| Event::new(*at, by.clone(), kind.clone())));
        log
    }
}

/// The stream of planned dossiers, in order of intake. Holds one day's arrivals at a time.
#[derive(Debug)]
pub struct Plan<'a> {
    domain: &'a Domain,
    world: World,
    rng: StdRng,
    days: Vec<NaiveDate>,
    /// Cumulative integer weights of `days` (one more entry than days).
    cumulative: Vec<u64>,
    next_day: usize,
    total: u64,
    from: NaiveDate,
    horizon: DateTime<Utc>,
    batch: VecDeque<PlannedDossier>,
    rejected: u64,
    dropped: u64,
}

/// Plans `cfg.dossiers` dossiers over the working days of `[cfg.from, cfg.to]`.
pub fn plan<'a>(domain: &'a Domain, cfg: &SimConfig) -> Result<Plan<'a>, SimError> {
    let cal = &domain.calendar;
    if cfg.from > cfg.to {
        return Err(SimError::EmptyPeriod { from: cfg.from, to: cfg.to });
    }
    if cfg.from < cal.first_date() || cfg.to > cal.last_date() {
        return Err(SimError::OutOfCoverage {
            from: cfg.from,
            to: cfg.to,
            first: cal.first_date(),
            last: cal.last_date(),
        });
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let days: Vec<NaiveDate> =
        cfg.from.iter_days().take_while(|d| *d <= cfg.to).filter(|d| cal.is_working_day(*d).unwrap_or(false)).collect();
    if days.is_empty() {
        return Err(SimError::NoWorkingDay { from: cfg.from, to: cfg.to });
    }
    let world = World::new(domain, &mut rng, days[0], days[days.len() - 1])?;
    let mut cumulative = Vec::with_capacity(days.len() + 1);
    let mut acc = 0u64;
    cumulative.push(0);
    for d in &days {
        acc += day_weight(*d, &mut rng);
        cumulative.push(acc);
    }
    // The last instant of `to`, local time.
    let horizon = from_local(cfg.to.and_time(NaiveTime::MIN)) + Duration::days(1) - Duration::seconds(1);
    Ok(Plan {
        domain,
        world,
        rng,
        days,
        cumulative,
        next_day: 0,
        total: cfg.dossiers,
        from: cfg.from,
        horizon,
        batch: VecDeque::new(),
        rejected: 0,
        dropped: 0,
    })
}

/// Relative arrivals on a working day: busy Mondays, quiet Fridays and make-up Saturdays,
/// a rush before Tết and a lull after it, and some day-to-day noise.
fn day_weight(d: NaiveDate, rng: &mut StdRng) -> u64 {
    let weekday = match d.weekday() {
        Weekday::Mon => 115,
        Weekday::Tue => 105,
        Weekday::Wed | Weekday::Thu => 100,
        Weekday::Fri => 90,
        Weekday::Sat | Weekday::Sun => 60,
    };
    let month = match d.month() {
        12 | 1 => 110,
        2 => 85,
        6..=8 => 95,
        _ => 100,
    };
    let noise = rng.gen_range(90..=110);
    weekday * month * noise
}

impl Plan<'_> {
    /// The procedure mix in use.
    pub fn mix(&self) -> &Mix {
        &self.world.mix
    }

    /// Events that core refused while planning (the dossier then stops there). Zero unless
    /// the plan and core disagree on a rule; the tests keep it at zero.
    pub fn rejected_events(&self) -> u64 {
        self.rejected
    }

    /// Dossiers that could not be planned at all (no procedure's deadline fits the calendar).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Handled by the receiving agency alone, a dossier cannot be processed under the core
    /// rules in force: such procedures are left out of the mix (see docs/simulation.md).
    pub fn single_agency_supported(&self) -> bool {
        self.world.intake_start != IntakeStart::Unsupported
    }

    fn day_count(&self, i: usize) -> u64 {
        let w = u128::from(self.cumulative[self.cumulative.len() - 1]).max(1);
        let n = u128::from(self.total);
        let a = n * u128::from(self.cumulative[i]) / w;
        let b = n * u128::from(self.cumulative[i + 1]) / w;
        u64::try_from(b - a).unwrap_or(0)
    }

    fn fill_batch(&mut self, i: usize) {
        let day = self.days[i];
        let count = self.day_count(i);
        let cal = &self.domain.calendar;
        // Non-working days just before `day` (online registrations made over a weekend).
        let mut quiet = Vec::new();
        let mut d = day.pred_opt();
        while let Some(x) = d {
            if x < self.from || cal.is_working_day(x).unwrap_or(true) {
                break;
            }
            quiet.push(x);
            d = x.pred_opt();
        }
        let mut skeletons = Vec::with_capacity(usize::try_from(count).unwrap_or(0));
        for _ in 0..count {
            skeletons.push(self.world.skeleton(self.domain, &mut self.rng, day, &quiet));
        }
        skeletons.sort_by_key(|s| s.at);
        let mut sequences: BTreeMap<(AgencyCode, NaiveDate), u32> = BTreeMap::new();
        for mut sk in skeletons {
            // A dossier whose deadline falls past the calendar's end cannot be received:
            // another procedure is drawn for it (a few times at most).
            let mut tries = 0;
            loop {
                match timeline::plan_dossier(self.domain, &self.world, &mut self.rng, &sk, self.horizon, &mut sequences)
                {
                    Some((p, rejected)) => {
                        self.rejected += rejected;
                        self.batch.push_back(p);
                        break;
                    }
                    None if tries < 20 => {
                        tries += 1;
                        self.world.repick(&mut self.rng, &mut sk);
                    }
                    None => {
                        self.dropped += 1;
                        break;
                    }
                }
            }
        }
    }
}

impl Iterator for Plan<'_> {
    type Item = PlannedDossier;

    fn next(&mut self) -> Option<PlannedDossier> {
        loop {
            if let Some(p) = self.batch.pop_front() {
                return Some(p);
            }
            if self.next_day >= self.days.len() {
                return None;
            }
            let i = self.next_day;
            self.next_day += 1;
            self.fill_batch(i);
        }
    }
}

/// Where the dossiers of a procedure are received.
#[derive(Debug, Clone)]
enum Receiver {
    /// Any ward, chosen by the wards' sizes.
    Ward(Cumulative),
    Fixed(AgencyCode),
}

/// Everything about the catalog the planner needs, resolved once.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) mix: Mix,
    picker: Cumulative,
    /// Per mix entry.
    receivers: Vec<Receiver>,
    wards: Vec<AgencyCode>,
    /// Place names ("phường Hải Châu") of the wards, and per ward its own.
    places: Vec<String>,
    ward_place: BTreeMap<AgencyCode, String>,
    city: String,
    /// Per agency: desk officers and processing officers.
    staff: BTreeMap<AgencyCode, (u32, u32)>,
    pub(crate) intake_start: IntakeStart,
    /// Probability of a payment wait for a dossier of a fee-bearing procedure.
    pub(crate) p_payment: f64,
    /// Probability of a bounce for a dossier with an inter-agency route.
    pub(crate) p_bounce: f64,
}

fn place_name(agency_name: &str) -> String {
    agency_name.strip_prefix("Ủy ban nhân dân ").unwrap_or(agency_name).to_string()
}

impl World {
    fn new(domain: &Domain, rng: &mut StdRng, probe_day: NaiveDate, last_day: NaiveDate) -> Result<Self, SimError> {
        let catalog = &domain.catalog;
        // Only today's agencies (not ceased) in force over the whole period, and procedures in
        // force over it: a district that ceased on 30/6/2025 is history, not simulated.
        let agencies =
            || catalog.agencies().filter(|a| a.valid_until.is_none() && a.in_force(probe_day) && a.in_force(last_day));
        let wards: Vec<AgencyCode> =
            agencies().filter(|a| a.kind == AgencyKind::Ward).map(|a| a.code.clone()).collect();
        let centre = agencies().find(|a| a.kind == AgencyKind::Centre).map(|a| a.code.clone());
        let ward_picker = Cumulative::new(wards.iter().map(|_| rng.gen_range(0.6..1.4)));
        let ward_place: BTreeMap<AgencyCode, String> =
            agencies().filter(|a| a.kind == AgencyKind::Ward).map(|a| (a.code.clone(), place_name(&a.name))).collect();
        let places = ward_place.values().cloned().collect();
        let city = agencies().find(|a| a.kind == AgencyKind::City).map_or_else(String::new, |a| place_name(&a.name));
        let staff = agencies().map(|a| (a.code.clone(), (rng.gen_range(2..=5), rng.gen_range(3..=8)))).collect();

        // Candidates: procedures a desk of the catalog can receive, with a representative
        // receiving agency (to tell whether the route leaves it).
        let mut candidates = Vec::new();
        for p in catalog.procedures() {
            if catalog.procedure_at(&p.code, probe_day).is_none() || catalog.procedure_at(&p.code, last_day).is_none() {
                continue;
            }
            let receiver = match p.level {
                Level::Ward => ward_picker.clone().map(Receiver::Ward),
                Level::City => centre
                    .clone()
                    .or_else(|| {
                        p.route.iter().find_map(|s| match &s.agency {
                            RouteAgency::Agency(a) => Some(a.clone()),
                            RouteAgency::Receiving => None,
                        })
                    })
                    .map(Receiver::Fixed),
            };
            let representative = match &receiver {
                Some(Receiver::Ward(_)) => wards.first().cloned(),
                Some(Receiver::Fixed(a)) => Some(a.clone()),
                None => None,
            };
            let (Some(receiver), Some(representative)) = (receiver, representative) else { continue };
            let single_agency = p.route.iter().all(|s| s.agency.resolve(&representative) == &representative);
            let entry = MixEntry {
                code: p.code.clone(),
                level: p.level,
                bucket: Bucket::of(p.time_limit),
                share: 0.0,
                fee: mix::has_fee(p),
                single_agency,
            };
            candidates.push((entry, receiver, representative));
        }
        let intake_start = candidates
            .iter()
            .find(|(e, _, _)| e.single_agency)
            .map_or(IntakeStart::Direct, |(e, _, representative)| {
                timeline::probe(domain, &e.code, representative, probe_day)
            });
        let (entries, receivers): (Vec<MixEntry>, Vec<Receiver>) = candidates
            .into_iter()
            .filter(|(e, _, _)| !e.single_agency || intake_start != IntakeStart::Unsupported)
            .map(|(e, r, _)| (e, r))
            .unzip();
        let mix = Mix::new(entries);
        let picker = Cumulative::new(mix.entries.iter().map(|e| e.share)).ok_or(SimError::NoProcedure)?;
        let fee_share = mix.fee_share();
        let p_payment = if fee_share > 0.0 { (timeline::PAYMENT_SHARE / fee_share).min(0.9) } else { 0.0 };
        let multi = mix.multi_agency_share();
        let p_bounce = if multi > 0.0 { (timeline::BOUNCE_SHARE / multi).min(0.5) } else { 0.0 };
        Ok(Self { mix, picker, receivers, wards, places, ward_place, city, staff, intake_start, p_payment, p_bounce })
    }

    fn skeleton(&self, domain: &Domain, rng: &mut StdRng, day: NaiveDate, quiet: &[NaiveDate]) -> Skeleton {
        let entry = self.picker.pick(rng);
        let agency = match &self.receivers[entry] {
            Receiver::Ward(w) => self.wards[w.pick(rng)].clone(),
            Receiver::Fixed(a) => a.clone(),
        };
        let r: f64 = rng.r#gen();
        let channel = if r < timeline::ONLINE_SHARE {
            Channel::Online
        } else if r < timeline::ONLINE_SHARE + timeline::POSTAL_SHARE {
            Channel::Postal
        } else {
            Channel::InPerson
        };
        let cal = domain.calendar_for(&agency);
        let at = match channel {
            Channel::Online => timeline::online_time(rng, day, quiet),
            Channel::InPerson | Channel::Postal => timeline::desk_time(rng, cal, day),
        };
        Skeleton { entry, agency, channel, at }
    }

    /// Another procedure (and receiving agency) for a skeleton, same time and channel.
    fn repick(&self, rng: &mut StdRng, sk: &mut Skeleton) {
        sk.entry = self.picker.pick(rng);
        sk.agency = match &self.receivers[sk.entry] {
            Receiver::Ward(w) => self.wards[w.pick(rng)].clone(),
            Receiver::Fixed(a) => a.clone(),
        };
    }

    pub(crate) fn applicant(&self, rng: &mut StdRng, channel: Channel, agency: &AgencyCode) -> Applicant {
        people::applicant(rng, channel, &self.places, self.ward_place.get(agency).map(String::as_str), &self.city)
    }

    /// A desk officer of `agency` (tiếp nhận): `tn03.000.00.41.H17`.
    pub(crate) fn desk_officer(&self, rng: &mut StdRng, agency: &AgencyCode) -> String {
        let n = self.staff.get(agency).map_or(2, |s| s.0);
        format!("tn{:02}.{agency}", rng.gen_range(1..=n))
    }

    /// A processing officer of `agency` (chuyên viên): `cv05.000.01.05.H17`.
    pub(crate) fn officer(&self, rng: &mut StdRng, agency: &AgencyCode) -> String {
        let n = self.staff.get(agency).map_or(3, |s| s.1);
        format!("cv{:02}.{agency}", rng.gen_range(1..=n))
    }
}
