//! One dossier's life: arrival, the route's handoffs, waits for the citizen, apologies, the
//! result and its return. Every event is applied to the dossier through core as it is
//! planned, so the plan always replays; every instant is placed with the calendar's
//! working-time functions.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use motcua_core::calendar::{Calendar, from_local, to_local};
use motcua_core::{
    AgencyCode, Channel, Domain, DomainError, Dossier, DossierCode, DossierError, Event, EventKind, Fee, Intake,
    Outcome, PaymentMethod, Procedure, ProcedureCode,
};
use rand::Rng;
use rand::rngs::StdRng;

use crate::mix::Bucket;
use crate::pick::{lognormal, pick_weighted, triangular, uniform};
use crate::{PlannedDossier, World};

/// Share of dossiers filed on the portal.
pub(crate) const ONLINE_SHARE: f64 = 0.40;
/// Share of dossiers sent by post (bưu chính công ích).
pub(crate) const POSTAL_SHARE: f64 = 0.03;
/// Share of all dossiers with a payment wait (status 6).
pub(crate) const PAYMENT_SHARE: f64 = 0.10;
/// Share of all dossiers that bounce once between two agencies.
pub(crate) const BOUNCE_SHARE: f64 = 0.01;
/// Share of online registrations refused at receipt (status 3).
const REFUSED_AT_RECEIPT: f64 = 0.03;
/// Share of dossiers with a supplement request, and of those with a second one.
const SUPPLEMENT: f64 = 0.075;
const SECOND_SUPPLEMENT: f64 = 0.12;
const WITHDRAWN: f64 = 0.01;
const STOPPED: f64 = 0.005;
const REFUSED: f64 = 0.03;
/// Share of late dossiers that get an apology with a new date, and of those issued after
/// the due date instead of a working day before it.
const APOLOGISED: f64 = 0.85;
const APOLOGY_AFTER_DUE: f64 = 0.15;
/// Share of online payments (recorded by the payment gateway, no officer).
const ONLINE_PAYMENT: f64 = 0.6;
/// How a dossier filed at the desk pays: cash, bank transfer, a bank's QR code at the desk.
const DESK_PAYMENT_METHODS: [(PaymentMethod, f64); 3] =
    [(PaymentMethod::Cash, 0.55), (PaymentMethod::BankTransfer, 0.25), (PaymentMethod::Online, 0.20)];
/// Share of results issued electronically: online dossiers, and the others.
const ELECTRONIC_ONLINE: f64 = 0.70;
const ELECTRONIC_DESK: f64 = 0.35;
/// At intake the desk says which papers it digitised: all of them, none, or (the rest) it does
/// not say; an online dossier's papers come digitised.
const DIGITISED_ALL: f64 = 0.70;
const DIGITISED_NONE: f64 = 0.20;

/// Working seconds in a standard working day (07:30–11:30, 13:30–17:00).
const DAY: i64 = motcua_core::STANDARD_DAY_MINUTES * 60;
const MINUTE: i64 = 60;
const HOUR: i64 = 3600;

/// How core lets the receiving agency process a dossier it has just received (status 2)
/// without handing it to another agency; found by trying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntakeStart {
    /// Processing events (supplement, payment, result) apply to a received dossier.
    Direct,
    /// The receiving agency's officer first accepts the dossier from its desk (`accepted`).
    Accept,
    /// Neither: a dossier that never leaves its receiving agency cannot be finished.
    Unsupported,
}

/// Who, what, where and when: a dossier before its timeline is planned.
#[derive(Debug, Clone)]
pub(crate) struct Skeleton {
    pub(crate) entry: usize,
    pub(crate) agency: AgencyCode,
    pub(crate) channel: Channel,
    pub(crate) at: DateTime<Utc>,
}

fn local(day: NaiveDate, secs: i64) -> DateTime<Utc> {
    from_local(day.and_time(NaiveTime::MIN) + Duration::seconds(secs))
}

/// An arrival at a desk on `day`: inside the agency's office windows, busier in the morning
/// (the first window takes 62 %, with its peak a third of the way in).
pub(crate) fn desk_time(rng: &mut StdRng, cal: &Calendar, day: NaiveDate) -> DateTime<Utc> {
    let windows = cal.hours().windows();
    let weights: Vec<(usize, f64)> =
        (0..windows.len()).map(|i| (i, if i == 0 { 0.62 } else { 0.38 / (windows.len() - 1).max(1) as f64 })).collect();
    let w = windows[pick_weighted(rng, &weights)];
    let open = i64::from(chrono::Timelike::num_seconds_from_midnight(&w.open));
    let len = (w.close - w.open).num_seconds().max(1);
    let x = triangular(rng, if weights.len() > 1 && w == windows[0] { 0.35 } else { 0.3 });
    local(day, open + ((len as f64) * x).floor() as i64)
}

/// Hourly profile of online registrations (local time): office hours and the evening.
const ONLINE_HOURS: [f64; 24] = [
    0.3, 0.2, 0.1, 0.1, 0.1, 0.3, 1.0, 2.0, 4.0, 5.0, 5.0, 4.0, 3.0, 3.0, 4.0, 4.0, 4.0, 3.0, 3.0, 3.5, 3.5, 2.5, 1.5,
    0.8,
];

/// An online registration, on `day` or (one in five when there are some) on one of the
/// non-working days just before it.
pub(crate) fn online_time(rng: &mut StdRng, day: NaiveDate, quiet: &[NaiveDate]) -> DateTime<Utc> {
    let date = if !quiet.is_empty() && rng.gen_bool(0.2) { *uniform(rng, quiet) } else { day };
    let hours: Vec<(i64, f64)> = ONLINE_HOURS.iter().enumerate().map(|(h, w)| (h as i64, *w)).collect();
    let hour = pick_weighted(rng, &hours);
    local(date, hour * HOUR + rng.gen_range(0..HOUR))
}

fn intake_event(
    code: &ProcedureCode,
    agency: &AgencyCode,
    at: DateTime<Utc>,
    channel: Channel,
    applicant: motcua_core::Applicant,
) -> Option<Event> {
    let code_ = DossierCode::new(agency, to_local(at).date(), 1).ok()?;
    let intake = Intake {
        code: code_,
        procedure: code.clone(),
        agency: agency.clone(),
        applicant,
        channel,
        documents: Vec::new(),
        digitised: None,
    };
    let kind = match channel {
        Channel::Online => EventKind::RegisteredOnline { intake },
        Channel::InPerson | Channel::Postal => EventKind::Received { intake },
    };
    Some(Event::new(at, None, kind))
}

/// Finds out how core lets a dossier be processed by its receiving agency alone.
pub(crate) fn probe(domain: &Domain, procedure: &ProcedureCode, agency: &AgencyCode, day: NaiveDate) -> IntakeStart {
    let t = local(day, 9 * HOUR);
    let Some(intake) = intake_event(
        procedure,
        agency,
        t,
        Channel::InPerson,
        motcua_core::Applicant { name: "Thử".into(), ..Default::default() },
    ) else {
        return IntakeStart::Unsupported;
    };
    let ev = |m: i64, kind| Event::new(t + Duration::minutes(m), None, kind);
    let processing = || {
        vec![
            ev(10, EventKind::SupplementRequested { reason: "thử".into(), documents: Vec::new(), reason_code: None }),
            ev(20, EventKind::SupplementSupplied),
            ev(30, EventKind::PaymentRequested { reason: "thử".into(), amount_vnd: None }),
            ev(40, EventKind::Paid { method: None, receipt: None }),
            ev(
                50,
                EventKind::Resolved { outcome: Outcome::Approved, reason: None, electronic: None, reason_code: None },
            ),
        ]
    };
    let direct: Vec<Event> = std::iter::once(intake.clone()).chain(processing()).collect();
    if domain.replay(&direct).is_ok() {
        return IntakeStart::Direct;
    }
    let accept: Vec<Event> = [intake, ev(5, EventKind::Accepted)].into_iter().chain(processing()).collect();
    if domain.replay(&accept).is_ok() { IntakeStart::Accept } else { IntakeStart::Unsupported }
}

/// The events planned so far, each applied to the dossier as it is added.
struct Log<'a> {
    domain: &'a Domain,
    dossier: Dossier,
    events: Vec<(DateTime<Utc>, EventKind, Option<String>)>,
    last: DateTime<Utc>,
    horizon: DateTime<Utc>,
    /// Nothing more is planned: the horizon or the calendar's end was reached, or core
    /// refused an event.
    closed: bool,
    rejected: u64,
    apology: Option<Apology>,
    recv_cal: &'a Calendar,
}

/// An apology with a new date, due to be issued.
struct Apology {
    /// Issued this many working seconds after the due instant (negative: before it).
    offset: i64,
    /// The new date: this many working seconds after the due instant.
    extra: i64,
    reason: (&'static str, &'static str),
    officer: u32,
}

impl<'a> Log<'a> {
    /// `from` plus `secs` of working time on `cal`; `None` (and the log closes) past the
    /// calendar's coverage.
    fn after(&mut self, cal: &Calendar, from: DateTime<Utc>, secs: i64) -> Option<DateTime<Utc>> {
        if self.closed {
            return None;
        }
        match cal.add_working_seconds(from, secs.max(MINUTE)) {
            Ok(t) => Some(t.max(from)),
            Err(_) => {
                self.closed = true;
                None
            }
        }
    }

    /// `secs` of working time after the last event.
    fn later(&mut self, cal: &Calendar, secs: i64) -> Option<DateTime<Utc>> {
        self.after(cal, self.last, secs)
    }

    fn apply(&mut self, at: DateTime<Utc>, kind: EventKind, by: Option<String>) -> Option<()> {
        if self.closed {
            return None;
        }
        let at = at.max(self.last);
        if at > self.horizon {
            self.closed = true;
            return None;
        }
        let event = Event::new(at, by, kind);
        match self.domain.apply(&mut self.dossier, &event) {
            Ok(()) => {
                self.last = at;
                self.events.push((at, event.kind, event.by));
                Some(())
            }
            Err(DomainError::Dossier(DossierError::Calendar(_))) => {
                self.closed = true;
                None
            }
            Err(_) => {
                self.rejected += 1;
                self.closed = true;
                None
            }
        }
    }

    /// Adds an event, issuing a pending apology first when its time has come.
    fn push(&mut self, at: DateTime<Utc>, kind: EventKind, by: Option<String>) -> Option<()> {
        self.apologise_by(at, false);
        self.apply(at, kind, by)
    }

    /// Issues the pending apology if it is due by `next`; with `force`, issues it before
    /// `next` anyway (an apology after the due date, sent with a result that is late).
    fn apologise_by(&mut self, next: DateTime<Utc>, force: bool) {
        let (Some(due), Some(status)) = (self.dossier.due_at, self.dossier.status) else { return };
        let Some(ap) = &self.apology else { return };
        if !status.is_open() {
            return;
        }
        let Ok(mut issue) = self.recv_cal.add_working_seconds(due, ap.offset) else { return };
        if issue > next {
            if !force || next <= due {
                return;
            }
            // Half-way between the due instant (or the last event) and `next`.
            let from = due.max(self.last);
            let half = self.recv_cal.working_seconds_between(from, next).unwrap_or(0) / 2;
            issue = self.recv_cal.add_working_seconds(from, half).unwrap_or(from).clamp(from, next);
        }
        let Ok(to) = self.recv_cal.add_working_seconds(due, ap.extra.max(DAY)) else { return };
        let holder = self.dossier.holder.clone();
        let by = holder.map(|h| format!("cv{:02}.{h}", ap.officer));
        let kind = EventKind::Rescheduled {
            to: to.max(due + Duration::minutes(1)),
            reason: ap.reason.0.to_string(),
            responsible: None,
            automatic: false,
            override_second: false,
            reason_code: Some(ap.reason.1.to_string()),
        };
        self.apology = None;
        self.apply(issue.max(self.last), kind, by);
    }
}

/// What will happen to the dossier, drawn before it is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Resolve(Outcome),
    Withdraw,
    Stop,
}

const SUPPLEMENT_REASONS: &[&str] = &[
    "Thành phần hồ sơ chưa đầy đủ theo quy định",
    "Giấy tờ nộp kèm chưa hợp lệ (bản chụp không rõ hoặc đã hết hiệu lực)",
    "Thông tin trên tờ khai chưa khớp với giấy tờ kèm theo",
    "Cần bổ sung giấy tờ chứng minh theo quy định",
];
/// The reason code of a supplement request: nearly always the citizen's incomplete papers.
const SUPPLEMENT_CODES: [(&str, f64); 3] = [("citizen_incomplete", 0.90), ("citizen_requested", 0.05), ("other", 0.05)];
const UNLISTED_PAPERS: &[&str] =
    &["Giấy xác nhận thông tin về cư trú", "Bản sao sổ hộ khẩu", "Giấy xác nhận của tổ dân phố"];
const REFUSED_AT_RECEIPT_REASONS: &[(&str, &str)] = &[
    ("Hồ sơ trực tuyến không đúng thành phần theo quy định", "citizen_incomplete"),
    ("Thông tin người nộp không khớp với Cơ sở dữ liệu quốc gia về dân cư", "citizen_incomplete"),
    ("Thủ tục không thuộc thẩm quyền tiếp nhận của cơ quan", "other"),
];
const REFUSAL_REASONS: &[(&str, &str)] = &[
    ("Không đủ điều kiện theo quy định", "other"),
    ("Hồ sơ không đáp ứng điều kiện để giải quyết", "citizen_incomplete"),
    ("Đối tượng không thuộc phạm vi giải quyết của thủ tục", "other"),
];
const WITHDRAWAL_REASONS: &[&str] = &["Công dân có đơn xin rút hồ sơ", "Người nộp không còn nhu cầu giải quyết"];
const STOP_REASONS: &[(&str, &str)] = &[
    ("Quá thời hạn bổ sung hồ sơ mà công dân không bổ sung", "citizen_incomplete"),
    ("Công dân không hoàn thiện hồ sơ theo yêu cầu", "citizen_incomplete"),
];
const RESCHEDULE_REASONS: &[(&str, &str)] = &[
    ("Cần xác minh thêm thông tin", "site_inspection"),
    ("Chờ ý kiến của cơ quan phối hợp", "inter_agency_wait"),
    ("Số lượng hồ sơ tăng đột biến", "agency_workload"),
    ("Cần kiểm tra thực địa", "site_inspection"),
];
const PAYMENT_LAND: &str = "Thông báo nộp lệ phí trước bạ và thuế thu nhập cá nhân";
const PAYMENT_FEE: &str = "Nộp phí, lệ phí theo quy định";

/// One station of the route: the agency and its budget (working seconds). Consecutive steps
/// at one agency are merged; a desk that is not on the route gets a zero budget.
fn stations(p: &Procedure, receiving: &AgencyCode) -> Vec<(AgencyCode, i64)> {
    let mut v: Vec<(AgencyCode, i64)> = Vec::new();
    for s in &p.route {
        let a = s.agency.resolve(receiving);
        match v.last_mut() {
            Some(last) if last.0 == *a => last.1 += s.budget_minutes * 60,
            _ => v.push((a.clone(), s.budget_minutes * 60)),
        }
    }
    if v.first().map(|s| &s.0) != Some(receiving) {
        v.insert(0, (receiving.clone(), 0));
    }
    v
}

/// A handoff's delay: minutes to a few hours of working time, shorter for a same-day
/// procedure (its agencies sit in one building) than for a month-long one. `scale` is the
/// procedure's whole budget in working seconds.
fn handoff_delay(rng: &mut StdRng, scale: i64) -> i64 {
    let median = (scale as f64 * 0.02).clamp(5.0 * 60.0, 35.0 * 60.0);
    let high = (scale as f64 * 0.1).clamp(20.0 * 60.0, 6.0 * 3600.0);
    lognormal(rng, median, 1.0, 2.0 * 60.0, high)
}

/// How far past the due instant a late dossier finishes.
fn overrun(rng: &mut StdRng, bucket: Bucket) -> i64 {
    let d = DAY as f64;
    match bucket {
        Bucket::Short => lognormal(rng, 2.0 * 3600.0, 0.9, 10.0 * 60.0, 2.0 * d),
        Bucket::Medium => lognormal(rng, d, 0.9, 30.0 * 60.0, 5.0 * d),
        Bucket::Long => lognormal(rng, 3.0 * d, 0.8, 2.0 * 3600.0, 15.0 * d),
    }
}

/// Plans one dossier; `None` if its intake does not fit the calendar (the caller draws
/// another procedure). Returns the dossier and the number of events core refused.
pub(crate) fn plan_dossier(
    domain: &Domain,
    world: &World,
    rng: &mut StdRng,
    sk: &Skeleton,
    horizon: DateTime<Utc>,
    sequences: &mut BTreeMap<(AgencyCode, NaiveDate), u32>,
) -> Option<(PlannedDossier, u64)> {
    let entry = &world.mix.entries[sk.entry];
    let procedure = domain.procedure(&entry.code).ok()?;
    let recv = &sk.agency;
    let recv_cal = domain.calendar_for(recv);
    let applicant = world.applicant(rng, sk.channel, recv);
    let received_by = match sk.channel {
        Channel::Online => None,
        Channel::InPerson | Channel::Postal => Some(world.desk_officer(rng, recv)),
    };
    let mut intake = intake_event(&entry.code, recv, sk.at, sk.channel, applicant.clone())?;
    intake.by = received_by.clone();
    if let EventKind::Received { intake: i } | EventKind::RegisteredOnline { intake: i } = &mut intake.kind {
        let all = procedure.documents.clone();
        i.digitised = if sk.channel == Channel::Online {
            Some(all)
        } else {
            let x: f64 = rng.gen_range(0.0..1.0);
            if x < DIGITISED_ALL {
                Some(all)
            } else if x < DIGITISED_ALL + DIGITISED_NONE {
                Some(Vec::new())
            } else {
                None
            }
        };
    }
    let digitised = match &intake.kind {
        EventKind::Received { intake: i } | EventKind::RegisteredOnline { intake: i } => i.digitised.clone(),
        _ => None,
    };
    let mut dossier = Dossier::default();
    domain.apply(&mut dossier, &intake).ok()?;
    let seq = sequences.entry((recv.clone(), to_local(sk.at).date())).or_insert(0);
    *seq += 1;
    let sequence = *seq;

    let mut log = Log {
        domain,
        dossier,
        events: Vec::new(),
        last: sk.at,
        horizon,
        closed: false,
        rejected: 0,
        apology: None,
        recv_cal,
    };
    let mut planner =
        Planner { world, rng, procedure, bucket: entry.bucket, fee: entry.fee, recv, recv_cal, channel: sk.channel };
    planner.run(&mut log);
    let planned = PlannedDossier {
        procedure: entry.code.clone(),
        agency: recv.clone(),
        applicant,
        channel: sk.channel,
        received_at: sk.at,
        received_by,
        sequence,
        events: log.events,
        digitised,
    };
    Some((planned, log.rejected))
}

struct Planner<'a, 'r> {
    world: &'a World,
    rng: &'r mut StdRng,
    procedure: &'a Procedure,
    bucket: Bucket,
    fee: bool,
    recv: &'a AgencyCode,
    recv_cal: &'a Calendar,
    channel: Channel,
}

impl Planner<'_, '_> {
    fn desk(&mut self) -> Option<String> {
        Some(self.world.desk_officer(self.rng, self.recv))
    }

    fn officer(&mut self, agency: &AgencyCode) -> Option<String> {
        Some(self.world.officer(self.rng, agency))
    }

    fn frac(&mut self, lo: f64, hi: f64) -> f64 {
        self.rng.gen_range(lo..hi)
    }

    fn run(&mut self, log: &mut Log<'_>) {
        // `None` only means that the log closed; what was planned stays.
        let _ = self.try_run(log);
    }

    fn try_run(&mut self, log: &mut Log<'_>) -> Option<()> {
        let domain = log.domain;
        if self.channel == Channel::Online {
            if self.rng.gen_bool(REFUSED_AT_RECEIPT) {
                let t = log.later(self.recv_cal, lognormal(self.rng, 1.5 * 3600.0, 0.8, 10.0 * 60.0, DAY as f64))?;
                let (reason, code) = *uniform(self.rng, REFUSED_AT_RECEIPT_REASONS);
                let by = self.desk();
                let kind =
                    EventKind::RefusedAtReceipt { reason: reason.to_string(), reason_code: Some(code.to_string()) };
                return log.push(t, kind, by);
            }
            // Most online dossiers are accepted within the 4 working hours Da Nang expects.
            let t = log.later(self.recv_cal, lognormal(self.rng, 1.2 * 3600.0, 0.9, 5.0 * 60.0, 1.5 * DAY as f64))?;
            let by = self.desk();
            log.push(t, EventKind::AcceptedOnline, by)?;
        }

        let stations = stations(self.procedure, self.recv);
        let n = stations.len();
        let intake_start = self.world.intake_start;
        // The station where the deciding work happens: the largest budget (the lead unit).
        let lead = (0..n).max_by(|a, b| stations[*a].1.cmp(&stations[*b].1).then(b.cmp(a))).unwrap_or(0);
        let processing_at_zero = intake_start != IntakeStart::Unsupported;
        let work_station = if lead > 0 || processing_at_zero || n == 1 { lead } else { 1 };

        let r: f64 = self.rng.r#gen();
        let fate = if r < WITHDRAWN {
            Fate::Withdraw
        } else if r < WITHDRAWN + STOPPED {
            Fate::Stop
        } else if r < WITHDRAWN + STOPPED + REFUSED {
            Fate::Resolve(Outcome::Refused)
        } else {
            Fate::Resolve(Outcome::Approved)
        };
        let late = matches!(fate, Fate::Resolve(_)) && self.rng.gen_bool(self.bucket.late_probability());
        // A stopped dossier is one whose applicant never supplied the papers asked for.
        let supplements = if fate == Fate::Stop || self.rng.gen_bool(SUPPLEMENT) {
            if self.rng.gen_bool(SECOND_SUPPLEMENT) { 2 } else { 1 }
        } else {
            0
        };
        let payment =
            self.fee && matches!(fate, Fate::Resolve(Outcome::Approved)) && self.rng.gen_bool(self.world.p_payment);
        let bounce_station =
            if n >= 2 && self.rng.gen_bool(self.world.p_bounce) { Some(if lead > 0 { lead } else { 1 }) } else { None };
        let withdraw_station = self.rng.gen_range(0..n);
        let culprit = if self.rng.gen_bool(0.8) { lead } else { self.rng.gen_range(0..n) };
        let planned_overrun = overrun(self.rng, self.bucket);
        if late && self.rng.gen_bool(APOLOGISED) {
            let offset = if self.rng.gen_bool(APOLOGY_AFTER_DUE) {
                lognormal(self.rng, 2.0 * 3600.0, 0.8, 15.0 * 60.0, DAY as f64)
            } else {
                -DAY
            };
            let extra = planned_overrun + (self.frac(0.5, 3.0) * DAY as f64) as i64;
            let reason = *uniform(self.rng, RESCHEDULE_REASONS);
            let officer = self.rng.gen_range(1..=3);
            log.apology = Some(Apology { offset, extra, reason, officer });
        }

        // Planned working time at each station, a pace for the dossier and some noise.
        let pace = self.frac(0.25, 0.85);
        let planned: Vec<i64> = stations
            .iter()
            .map(|(_, budget)| {
                let f = (pace * self.frac(0.6, 1.4)).clamp(0.04, 0.95);
                if *budget == 0 {
                    lognormal(self.rng, 20.0 * 60.0, 0.6, 3.0 * 60.0, 2.0 * 3600.0)
                } else {
                    ((*budget as f64) * f) as i64
                }
            })
            .collect();

        let scale: i64 = stations.iter().map(|s| s.1).sum();
        for i in 0..n {
            let (agency, _) = &stations[i];
            let cal = domain.calendar_for(agency);
            if i > 0 {
                let mut delay = handoff_delay(self.rng, scale);
                if !late {
                    // An agency short of time accepts at once.
                    let left = log
                        .dossier
                        .due_at
                        .and_then(|due| cal.working_seconds_between(log.last, due).ok())
                        .unwrap_or(i64::MAX / 4);
                    delay = delay.min((left / 4).max(2 * MINUTE));
                }
                let t = log.later(cal, delay)?;
                let by = self.officer(agency);
                log.push(t, EventKind::Accepted, by)?;
            } else if intake_start == IntakeStart::Accept && (n == 1 || work_station == 0) {
                // The desk hands the dossier to the officer of its own agency.
                let t = log.later(cal, lognormal(self.rng, 20.0 * 60.0, 0.7, 3.0 * 60.0, 3.0 * 3600.0))?;
                let by = self.officer(agency);
                log.push(t, EventKind::Accepted, by)?;
            }

            // Working time this station still spends, fitted to the due date.
            let expected_delay = (scale as f64 * 0.03).clamp(7.0 * 60.0, 50.0 * 60.0) as i64;
            let rest: i64 = planned[i + 1..].iter().map(|p| p + expected_delay).sum();
            let left = log
                .dossier
                .due_at
                .and_then(|due| cal.working_seconds_between(log.last, due).ok())
                .unwrap_or(i64::MAX / 4);
            let mut work = planned[i].max(2 * MINUTE);
            if late && i == culprit {
                work = work.max(left - rest + planned_overrun);
            } else if !late {
                let room = left - rest;
                work = if room > 0 { work.min((room as f64 * 0.9) as i64) } else { work.min(10 * MINUTE) };
            }
            let mut work = work.max(2 * MINUTE);

            if bounce_station == Some(i) {
                let (prev, _) = &stations[i - 1];
                let prev_cal = domain.calendar_for(prev);
                let part = (work as f64 * self.frac(0.2, 0.5)) as i64;
                work -= part;
                let t = log.later(cal, part)?;
                let by = self.officer(agency);
                log.push(t, EventKind::Transferred { to: prev.clone() }, by)?;
                let t = log.later(prev_cal, handoff_delay(self.rng, scale))?;
                let by = self.officer(prev);
                log.push(t, EventKind::Accepted, by)?;
                let t = log.later(prev_cal, (self.frac(0.1, 1.0) * DAY as f64) as i64)?;
                let by = self.officer(prev);
                log.push(t, EventKind::Transferred { to: agency.clone() }, by)?;
                let t = log.later(cal, handoff_delay(self.rng, scale))?;
                let by = self.officer(agency);
                log.push(t, EventKind::Accepted, by)?;
            }

            if i == work_station {
                for s in 0..supplements {
                    let part = (work as f64 * self.frac(0.05, 0.4)) as i64;
                    work -= part;
                    let t = log.later(cal, part)?;
                    let kind = self.supplement_request();
                    let by = self.officer(agency);
                    log.push(t, kind, by)?;
                    let last_one = s + 1 == supplements;
                    if fate == Fate::Stop && last_one {
                        let t = log.later(self.recv_cal, (self.frac(5.0, 15.0) * DAY as f64) as i64)?;
                        let (reason, code) = *uniform(self.rng, STOP_REASONS);
                        let by = self.officer(agency);
                        let kind =
                            EventKind::Stopped { reason: reason.to_string(), reason_code: Some(code.to_string()) };
                        return log.push(t, kind, by);
                    }
                    if fate == Fate::Withdraw && withdraw_station == i && self.rng.gen_bool(0.3) {
                        let wait = (self.frac(1.0, 5.0) * DAY as f64) as i64;
                        return self.withdraw(log, self.recv_cal, wait);
                    }
                    let wait = lognormal(self.rng, 2.0 * DAY as f64, 0.8, 3600.0, 25.0 * DAY as f64);
                    let t = log.later(self.recv_cal, wait)?;
                    let by = self.desk();
                    log.push(t, EventKind::SupplementSupplied, by)?;
                }
            }

            if fate == Fate::Withdraw && withdraw_station == i {
                let part = (work as f64 * self.frac(0.1, 0.9)) as i64;
                return self.withdraw(log, cal, part);
            }

            if payment && i == work_station {
                let part = (work as f64 * self.frac(0.6, 0.95)) as i64;
                work -= part;
                let t = log.later(cal, part)?;
                let reason =
                    if self.procedure.name.to_lowercase().contains("đất") { PAYMENT_LAND } else { PAYMENT_FEE };
                let by = self.officer(agency);
                let amount_vnd = match &self.procedure.fee {
                    Some(Fee::Fixed { vnd }) => Some(*vnd),
                    // The first option is the common case.
                    Some(Fee::Options { options }) if !options.is_empty() => {
                        let i = if self.rng.gen_bool(0.7) { 0 } else { self.rng.gen_range(0..options.len()) };
                        Some(options[i].vnd)
                    }
                    _ => None,
                };
                log.push(t, EventKind::PaymentRequested { reason: reason.to_string(), amount_vnd }, by)?;
                let wait = lognormal(self.rng, DAY as f64, 0.9, 15.0 * 60.0, 10.0 * DAY as f64);
                let t = log.later(self.recv_cal, wait)?;
                let gateway = self.channel == Channel::Online && self.rng.gen_bool(ONLINE_PAYMENT);
                let by = if gateway { None } else { self.desk() };
                let method = if amount_vnd == Some(0) {
                    PaymentMethod::Exempt
                } else if gateway {
                    PaymentMethod::Online
                } else {
                    pick_weighted(self.rng, &DESK_PAYMENT_METHODS)
                };
                let receipt = (method != PaymentMethod::Exempt)
                    .then(|| format!("BL-{:07}", self.rng.gen_range(1..10_000_000u32)));
                log.push(t, EventKind::Paid { method: Some(method), receipt }, by)?;
            }

            let mut end = log.later(cal, work)?;
            if i + 1 < n {
                let by = self.officer(agency);
                log.push(end, EventKind::Transferred { to: stations[i + 1].0.clone() }, by)?;
                continue;
            }
            // The result: make the dossier late or on time as drawn.
            if let Some(due) = log.dossier.due_at {
                if late && end <= due {
                    end = log.after(cal, due, planned_overrun.min(DAY))?;
                } else if !late && end > due {
                    let back = self.rng.gen_range(MINUTE..30 * MINUTE);
                    if let Ok(t) = cal.add_working_seconds(due, -back)
                        && t >= log.last
                        && t <= due
                    {
                        end = t;
                    }
                }
            }
            let Fate::Resolve(outcome) = fate else { return Some(()) };
            log.apologise_by(end, true);
            let refusal = (outcome == Outcome::Refused).then(|| *uniform(self.rng, REFUSAL_REASONS));
            let share = if self.channel == Channel::Online { ELECTRONIC_ONLINE } else { ELECTRONIC_DESK };
            let electronic = Some(self.rng.gen_bool(share));
            let by = self.officer(agency);
            let kind = EventKind::Resolved {
                outcome,
                reason: refusal.map(|r| r.0.to_string()),
                electronic,
                reason_code: refusal.map(|r| r.1.to_string()),
            };
            log.push(end, kind, by)?;
            // The result goes back to the applicant within 0–3 working days.
            let days = pick_weighted(self.rng, &[(0i64, 0.4), (1, 0.3), (2, 0.2), (3, 0.1)]);
            let wait = days * DAY + self.rng.gen_range(10 * MINUTE..3 * HOUR);
            let t = log.later(self.recv_cal, wait)?;
            let by = self.desk();
            return log.push(t, EventKind::Returned, by);
        }
        Some(())
    }

    fn withdraw(&mut self, log: &mut Log<'_>, cal: &Calendar, secs: i64) -> Option<()> {
        let t = log.later(cal, secs)?;
        let reason = uniform(self.rng, WITHDRAWAL_REASONS).to_string();
        let by = self.desk();
        log.push(t, EventKind::Withdrawn { reason }, by)
    }

    fn supplement_request(&mut self) -> EventKind {
        let reason = uniform(self.rng, SUPPLEMENT_REASONS).to_string();
        let listed = &self.procedure.documents;
        let mut documents = Vec::new();
        if !listed.is_empty() {
            documents.push(uniform(self.rng, listed).clone());
            if listed.len() > 1 && self.rng.gen_bool(0.3) {
                let other = uniform(self.rng, listed).clone();
                if !documents.contains(&other) {
                    documents.push(other);
                }
            }
        }
        // A few requests ask for papers the procedure does not list (an avoidance signal).
        if self.rng.gen_bool(0.03) {
            documents.push(uniform(self.rng, UNLISTED_PAPERS).to_string());
        }
        let reason_code = Some(pick_weighted(self.rng, &SUPPLEMENT_CODES).to_string());
        EventKind::SupplementRequested { reason, documents, reason_code }
    }
}
