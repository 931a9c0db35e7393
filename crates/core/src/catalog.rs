//! The catalog (danh mục): agencies with their hierarchy and electronic identifiers, and
//! procedures (thủ tục hành chính) with their time limit, cut-off, supplement mode and route.

use std::collections::BTreeMap;

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::calendar::{OfficeHours, parse_hhmm};
use crate::codes::{AgencyCode, Email, ProcedureCode};
use crate::deadlines::{STANDARD_DAY_MINUTES, TimeLimit};

/// Where an agency sits in the hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgencyKind {
    City,
    /// Sở, ban, ngành and their units.
    Department,
    /// Quận / huyện (before 1/7/2025).
    District,
    /// Phường / xã.
    Ward,
    /// Trung tâm Phục vụ hành chính công: the city's one-stop desk.
    Centre,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Agency {
    pub code: AgencyCode,
    pub name: String,
    pub name_en: String,
    pub kind: AgencyKind,
    pub parent: Option<AgencyCode>,
    pub head_title: String,
    pub head_name: String,
    pub email: Option<Email>,
    pub head_email: Option<Email>,
    pub address: String,
    pub office_hours: Option<OfficeHours>,
    /// The agency's own limit for answering a petition (kiến nghị, phản ánh); `None`: the
    /// default of [`crate::petition::DEFAULT_PETITION_ANSWER`].
    pub petition_answer: Option<TimeLimit>,
    /// First local day the agency exists (None: always has).
    pub valid_from: Option<NaiveDate>,
    /// Last local day the agency exists (None: still exists). An agency that ceased (e.g. a
    /// district abolished on 30/6/2025) keeps its entry so old dossiers still find its name.
    pub valid_until: Option<NaiveDate>,
    /// Who took over when it ceased: one or several agencies, each with its share of the
    /// territory (shares sum to 1).
    pub successors: Vec<Successor>,
}

/// One agency that took over (part of) a ceased agency's territory (đơn vị kế thừa).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Successor {
    pub code: AgencyCode,
    /// The share of the ceased agency's territory it took over, in (0, 1].
    pub share: f64,
}

impl Eq for Successor {}

/// A span of local days `[valid_from, valid_until]`, either end open.
fn in_force(from: Option<NaiveDate>, until: Option<NaiveDate>, on: NaiveDate) -> bool {
    from.is_none_or(|f| f <= on) && until.is_none_or(|u| on <= u)
}

impl Agency {
    /// Whether the agency exists on the local day `on`.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        in_force(self.valid_from, self.valid_until, on)
    }
}

/// How a supplement or payment wait affects the due date (DOMAIN.md §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WaitMode {
    /// The full time limit runs again when the citizen completes the dossier.
    #[default]
    Restart,
    /// The due date moves by the working time spent waiting.
    Pause,
}

/// Who holds a route step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RouteAgency {
    /// `@receiving`: the agency that received the dossier.
    Receiving,
    Agency(AgencyCode),
}

impl RouteAgency {
    pub fn resolve<'a>(&'a self, receiving: &'a AgencyCode) -> &'a AgencyCode {
        match self {
            Self::Receiving => receiving,
            Self::Agency(code) => code,
        }
    }
}

/// One step of a procedure's internal route (quy trình nội bộ) with its working-time budget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteStep {
    pub agency: RouteAgency,
    /// Budget in working minutes (one standard working day = 450 minutes).
    pub budget_minutes: i64,
}

/// A procedure's level: where a citizen may file it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    City,
    Ward,
}

/// The largest fee the catalog or a command accepts, in VND (a guard against typing slips).
pub const MAX_FEE_VND: u64 = 1_000_000_000_000;

/// At most this many named options in a fee schedule.
pub const MAX_FEE_OPTIONS: usize = 10;

/// A procedure's fee schedule (phí, lệ phí) in VND: one amount (zero allowed), or a short list
/// of named options (e.g. a copy issued on the spot or by post).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fee {
    Fixed { vnd: u64 },
    Options { options: Vec<FeeOption> },
}

/// One named option of a fee schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeOption {
    pub name: String,
    pub vnd: u64,
}

impl Fee {
    /// The amount a payment request carries when the desk types none: the fixed amount; `None`
    /// for a list of options (the desk must choose).
    pub fn default_amount(&self) -> Option<u64> {
        match self {
            Self::Fixed { vnd } => Some(*vnd),
            Self::Options { .. } => None,
        }
    }

    /// `50000 VND`, or `name: amount VND; …`.
    pub fn describe(&self) -> String {
        match self {
            Self::Fixed { vnd } => format!("{vnd} VND"),
            Self::Options { options } => {
                options.iter().map(|o| format!("{}: {} VND", o.name, o.vnd)).collect::<Vec<_>>().join("; ")
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Procedure {
    pub code: ProcedureCode,
    pub name: String,
    pub name_en: String,
    pub level: Level,
    pub time_limit: TimeLimit,
    pub cutoff: Option<NaiveTime>,
    pub supplement_mode: WaitMode,
    pub payment_mode: WaitMode,
    pub documents: Vec<String>,
    pub route: Vec<RouteStep>,
    /// First local day of receipt this version applies to (None: from the beginning).
    pub valid_from: Option<NaiveDate>,
    /// Last local day of receipt this version applies to (None: still in force).
    pub valid_until: Option<NaiveDate>,
    /// The fee schedule (None: the catalog does not say; never read as zero).
    pub fee: Option<Fee>,
    /// The legal text that sets the fee (a Circular of the Ministry of Finance, a resolution of
    /// the People's Council).
    pub fee_basis: Option<String>,
}

impl Procedure {
    /// Whether this version applies to a dossier received on the local day `on`.
    pub fn in_force(&self, on: NaiveDate) -> bool {
        in_force(self.valid_from, self.valid_until, on)
    }
}

/// How many successions [`Catalog::successor_shares`] follows (a guard against a loop the
/// validation missed).
const MAX_SUCCESSION: usize = 16;

fn span(from: Option<NaiveDate>, until: Option<NaiveDate>) -> String {
    let d = |x: Option<NaiveDate>| x.map_or_else(|| "…".to_string(), |d| d.to_string());
    format!("{}–{}", d(from), d(until))
}

/// Agencies and procedures, validated together. A procedure may have several versions under
/// one code (when its time limit changed on a date), with disjoint validity, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    agencies: BTreeMap<AgencyCode, Agency>,
    procedures: BTreeMap<ProcedureCode, Vec<Procedure>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid catalog:\n  - {}", .0.join("\n  - "))]
pub struct CatalogError(pub Vec<String>);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgencyRow {
    code: String,
    name: String,
    #[serde(default)]
    name_en: String,
    kind: AgencyKind,
    #[serde(default)]
    parent: String,
    #[serde(default)]
    head_title: String,
    #[serde(default)]
    head_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    head_email: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    office_hours: Option<Vec<(String, String)>>,
    /// `petition_answer = { working_days = 15 }` (or `calendar_days`).
    #[serde(default)]
    petition_answer: Option<TimeLimit>,
    valid_from: Option<toml::value::Datetime>,
    valid_until: Option<toml::value::Datetime>,
    #[serde(default)]
    successors: Vec<SuccessorRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuccessorRow {
    code: String,
    share: Option<f64>,
}

/// A TOML local date (`2025-06-30`) as a day.
fn toml_date(d: Option<toml::value::Datetime>, what: &str, problems: &mut Vec<String>) -> Option<NaiveDate> {
    let d = d?;
    match (d.date, d.time, d.offset) {
        (Some(date), None, None) => {
            let day = NaiveDate::from_ymd_opt(i32::from(date.year), u32::from(date.month), u32::from(date.day));
            if day.is_none() {
                problems.push(format!("{what}: {d} is not a day"));
            }
            day
        }
        _ => {
            problems.push(format!("{what}: {d} must be a local date such as 2025-06-30"));
            None
        }
    }
}

/// Checks `[valid_from, valid_until]` is not reversed.
fn check_span(from: Option<NaiveDate>, until: Option<NaiveDate>, what: &str, problems: &mut Vec<String>) {
    if let (Some(f), Some(u)) = (from, until)
        && f > u
    {
        problems.push(format!("{what}: valid_from {f} is after valid_until {u}"));
    }
}

#[derive(Deserialize)]
struct AgencyFile {
    #[serde(default)]
    agency: Vec<AgencyRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BudgetRow {
    working_days: Option<f64>,
    working_hours: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteRow {
    agency: String,
    budget: BudgetRow,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitRow {
    working_days: Option<u32>,
    working_hours: Option<u32>,
    calendar_days: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProcedureRow {
    code: String,
    name: String,
    #[serde(default)]
    name_en: String,
    level: Level,
    time_limit: LimitRow,
    cutoff: Option<String>,
    #[serde(default)]
    supplement_mode: WaitMode,
    payment_mode: Option<WaitMode>,
    #[serde(default)]
    documents: Vec<String>,
    route: Vec<RouteRow>,
    valid_from: Option<toml::value::Datetime>,
    valid_until: Option<toml::value::Datetime>,
    /// `fee = { vnd = 8000 }` or `fee = { options = [{ name = "…", vnd = … }, …] }`, with an
    /// optional `basis = "…"`.
    fee: Option<FeeRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FeeRow {
    vnd: Option<u64>,
    #[serde(default)]
    options: Vec<FeeOption>,
    basis: Option<String>,
}

#[derive(Deserialize)]
struct ProcedureFile {
    #[serde(default)]
    procedure: Vec<ProcedureRow>,
}

fn opt_email(s: &str, what: &str, problems: &mut Vec<String>) -> Option<Email> {
    if s.trim().is_empty() {
        return None;
    }
    match s.parse() {
        Ok(e) => Some(e),
        Err(e) => {
            problems.push(format!("{what}: {e}"));
            None
        }
    }
}

impl Catalog {
    /// Parses and validates `agencies.toml` and `procedures.toml` (their texts).
    pub fn from_toml(agencies: &str, procedures: &str) -> Result<Self, CatalogError> {
        let agency_file: AgencyFile =
            toml::from_str(agencies).map_err(|e| CatalogError(vec![format!("agencies.toml: {}", e.message())]))?;
        let procedure_file: ProcedureFile =
            toml::from_str(procedures).map_err(|e| CatalogError(vec![format!("procedures.toml: {}", e.message())]))?;
        let mut problems = Vec::new();
        let mut catalog = Catalog::default();
        let mut parents = Vec::new();
        for row in agency_file.agency {
            let code: AgencyCode = match row.code.parse() {
                Ok(c) => c,
                Err(e) => {
                    problems.push(format!("agency {:?}: {e}", row.name));
                    continue;
                }
            };
            let office_hours = match row.office_hours {
                Some(pairs) => match OfficeHours::parse(&pairs) {
                    Ok(h) => Some(h),
                    Err(e) => {
                        problems.push(format!("agency {code}: {e}"));
                        None
                    }
                },
                None => None,
            };
            let parent = if row.parent.trim().is_empty() {
                None
            } else {
                match row.parent.parse::<AgencyCode>() {
                    Ok(p) => {
                        parents.push((code.clone(), p.clone()));
                        Some(p)
                    }
                    Err(e) => {
                        problems.push(format!("agency {code}: parent: {e}"));
                        None
                    }
                }
            };
            let what = format!("agency {code}");
            let valid_from = toml_date(row.valid_from, &what, &mut problems);
            let valid_until = toml_date(row.valid_until, &what, &mut problems);
            check_span(valid_from, valid_until, &what, &mut problems);
            let mut successors = Vec::new();
            for s in &row.successors {
                match s.code.parse::<AgencyCode>() {
                    Ok(c) => successors.push(Successor { code: c, share: s.share.unwrap_or(1.0) }),
                    Err(e) => problems.push(format!("{what}: successor {:?}: {e}", s.code)),
                }
            }
            if row.successors.len() > 1 && row.successors.iter().any(|s| s.share.is_none()) {
                problems.push(format!("{what}: each of several successors needs its share of the territory"));
            }
            let agency = Agency {
                valid_from,
                valid_until,
                successors,
                email: opt_email(&row.email, &format!("agency {code} email"), &mut problems),
                head_email: opt_email(&row.head_email, &format!("agency {code} head_email"), &mut problems),
                code: code.clone(),
                name: row.name,
                name_en: row.name_en,
                kind: row.kind,
                parent,
                head_title: row.head_title,
                head_name: row.head_name,
                address: row.address,
                office_hours,
                petition_answer: match row.petition_answer.map(TimeLimit::checked) {
                    Some(Ok(TimeLimit::WorkingHours(_))) => {
                        problems.push(format!("agency {code}: petition_answer is counted in days, not hours"));
                        None
                    }
                    Some(Ok(l)) => Some(l),
                    Some(Err(e)) => {
                        problems.push(format!("agency {code}: petition_answer: {e}"));
                        None
                    }
                    None => None,
                },
            };
            if catalog.agencies.insert(code.clone(), agency).is_some() {
                problems.push(format!("agency {code} is listed twice"));
            }
        }
        for (child, parent) in parents {
            if !catalog.agencies.contains_key(&parent) {
                problems.push(format!("agency {child}: parent {parent} is not in the catalog"));
            }
        }
        catalog.check_successors(&mut problems);
        for row in procedure_file.procedure {
            match catalog.procedure_from_row(row) {
                Ok(p) => catalog.procedures.entry(p.code.clone()).or_default().push(p),
                Err(mut e) => problems.append(&mut e),
            }
        }
        for (code, versions) in &mut catalog.procedures {
            versions.sort_by_key(|p| p.valid_from);
            for pair in versions.windows(2) {
                let (a, b) = (&pair[0], &pair[1]);
                let disjoint = matches!((a.valid_until, b.valid_from), (Some(u), Some(f)) if u < f);
                if !disjoint {
                    problems.push(if versions.iter().all(|p| p.valid_from.is_none() && p.valid_until.is_none()) {
                        format!("procedure {code} is listed twice")
                    } else {
                        format!(
                            "procedure {code}: two versions overlap (valid {} and {}): give them disjoint valid_from / valid_until",
                            span(a.valid_from, a.valid_until),
                            span(b.valid_from, b.valid_until)
                        )
                    });
                    break;
                }
            }
        }
        if problems.is_empty() { Ok(catalog) } else { Err(CatalogError(problems)) }
    }

    fn procedure_from_row(&self, row: ProcedureRow) -> Result<Procedure, Vec<String>> {
        let mut problems = Vec::new();
        let code: ProcedureCode = row.code.parse().map_err(|e| vec![format!("procedure {:?}: {e}", row.name)])?;
        let ctx = |m: String| format!("procedure {code}: {m}");
        let what = format!("procedure {code}");
        let valid_from = toml_date(row.valid_from, &what, &mut problems);
        let valid_until = toml_date(row.valid_until, &what, &mut problems);
        check_span(valid_from, valid_until, &what, &mut problems);
        let l = &row.time_limit;
        let time_limit = match (l.working_days, l.working_hours, l.calendar_days) {
            (Some(n), None, None) => Some(TimeLimit::WorkingDays(n)),
            (None, Some(n), None) => Some(TimeLimit::WorkingHours(n)),
            (None, None, Some(n)) => Some(TimeLimit::CalendarDays(n)),
            _ => {
                problems.push(ctx("time_limit needs exactly one of working_days, working_hours, calendar_days".into()));
                None
            }
        };
        let time_limit = time_limit.and_then(|t| match t.checked() {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(ctx(e.to_string()));
                None
            }
        });
        let cutoff = match &row.cutoff {
            Some(s) => match parse_hhmm(s) {
                Some(t) => Some(t),
                None => {
                    problems.push(ctx(format!("cutoff {s:?} is not HH:MM")));
                    None
                }
            },
            None => None,
        };
        let mut route = Vec::new();
        for (i, step) in row.route.iter().enumerate() {
            let agency = if step.agency == "@receiving" {
                RouteAgency::Receiving
            } else {
                match step.agency.parse::<AgencyCode>() {
                    Ok(a) if self.agencies.contains_key(&a) => RouteAgency::Agency(a),
                    Ok(a) => {
                        problems.push(ctx(format!("route step {}: agency {a} is not in the catalog", i + 1)));
                        continue;
                    }
                    Err(e) => {
                        problems.push(ctx(format!("route step {}: {e}", i + 1)));
                        continue;
                    }
                }
            };
            let minutes = match (step.budget.working_days, step.budget.working_hours) {
                (Some(d), None) => d * STANDARD_DAY_MINUTES as f64,
                (None, Some(h)) => h * 60.0,
                _ => {
                    problems.push(ctx(format!(
                        "route step {}: budget needs exactly one of working_days, working_hours",
                        i + 1
                    )));
                    continue;
                }
            };
            if !(minutes.is_finite() && minutes > 0.0 && minutes.fract() == 0.0) {
                problems.push(ctx(format!("route step {}: budget must be a positive whole number of minutes", i + 1)));
                continue;
            }
            route.push(RouteStep { agency, budget_minutes: minutes as i64 });
        }
        if row.route.is_empty() {
            problems.push(ctx("route is empty".into()));
        }
        if let Some(limit) = time_limit
            && route.len() == row.route.len()
        {
            let sum: i64 = route.iter().map(|s| s.budget_minutes).sum();
            match limit.working_seconds(STANDARD_DAY_MINUTES * 60) {
                Some(secs) if secs / 60 != sum => problems.push(ctx(format!(
                    "route budgets sum to {sum} working minutes but the limit {limit} is {} minutes",
                    secs / 60
                ))),
                None => {
                    if let TimeLimit::CalendarDays(n) = limit
                        && sum * 7 > i64::from(n) * 5 * STANDARD_DAY_MINUTES
                    {
                        problems.push(ctx(format!(
                            "route budgets ({sum} working minutes) exceed the working time of {n} calendar days"
                        )));
                    }
                }
                _ => {}
            }
        }
        let (fee, fee_basis) = match row.fee {
            None => (None, None),
            Some(f) => {
                let fee = match (f.vnd, f.options.is_empty()) {
                    (Some(vnd), true) => Some(Fee::Fixed { vnd }),
                    (None, false) => Some(Fee::Options { options: f.options }),
                    _ => {
                        problems.push(ctx("fee needs exactly one of vnd, options".into()));
                        None
                    }
                };
                match &fee {
                    Some(Fee::Fixed { vnd }) if *vnd > MAX_FEE_VND => {
                        problems.push(ctx(format!("fee {vnd} VND is above {MAX_FEE_VND}")))
                    }
                    Some(Fee::Options { options }) => {
                        if options.len() > MAX_FEE_OPTIONS {
                            problems.push(ctx(format!("fee: at most {MAX_FEE_OPTIONS} options")));
                        }
                        for (i, o) in options.iter().enumerate() {
                            if o.name.trim().is_empty() || o.name.contains(['\n', '\r']) {
                                problems.push(ctx(format!("fee option {}: needs a one-line name", i + 1)));
                            }
                            if o.vnd > MAX_FEE_VND {
                                problems.push(ctx(format!(
                                    "fee option {:?}: {} VND is above {MAX_FEE_VND}",
                                    o.name, o.vnd
                                )));
                            }
                            if options[..i].iter().any(|p| p.name == o.name) {
                                problems.push(ctx(format!("fee option {:?} is listed twice", o.name)));
                            }
                        }
                    }
                    _ => {}
                }
                (fee, f.basis.filter(|b| !b.trim().is_empty()))
            }
        };
        match time_limit {
            Some(time_limit) if problems.is_empty() => Ok(Procedure {
                code,
                name: row.name,
                name_en: row.name_en,
                level: row.level,
                time_limit,
                cutoff,
                supplement_mode: row.supplement_mode,
                payment_mode: row.payment_mode.unwrap_or(WaitMode::Pause),
                documents: row.documents,
                route,
                valid_from,
                valid_until,
                fee,
                fee_basis,
            }),
            _ => Err(problems),
        }
    }

    /// Sets the fee of every version of a procedure (for tests and tools that build a catalog).
    pub fn set_fee(&mut self, code: &ProcedureCode, fee: Option<Fee>) {
        for p in self.procedures.get_mut(code).into_iter().flatten() {
            p.fee = fee.clone();
        }
    }

    pub fn agency(&self, code: &AgencyCode) -> Option<&Agency> {
        self.agencies.get(code)
    }

    /// A procedure's latest version (the one in force today unless it was repealed): for
    /// names and lists. A dossier's clock uses [`Catalog::procedure_at`] its receipt day.
    pub fn procedure(&self, code: &ProcedureCode) -> Option<&Procedure> {
        self.procedures.get(code).and_then(|v| v.last())
    }

    /// The version of a procedure that applies to a dossier received on the local day `on`.
    pub fn procedure_at(&self, code: &ProcedureCode, on: NaiveDate) -> Option<&Procedure> {
        self.procedures.get(code).and_then(|v| v.iter().find(|p| p.in_force(on)))
    }

    /// Every version of a procedure, oldest first (empty when unknown).
    pub fn procedure_versions(&self, code: &ProcedureCode) -> &[Procedure] {
        self.procedures.get(code).map_or(&[], Vec::as_slice)
    }

    /// Every agency, ceased ones included (for names and old dossiers).
    pub fn agencies(&self) -> impl Iterator<Item = &Agency> {
        self.agencies.values()
    }

    /// The agencies that exist on the local day `on`: what a list for a new dossier offers.
    pub fn agencies_in_force(&self, on: NaiveDate) -> impl Iterator<Item = &Agency> {
        self.agencies.values().filter(move |a| a.in_force(on))
    }

    /// Every version of every procedure, by code then oldest first.
    pub fn every_procedure_version(&self) -> impl Iterator<Item = &Procedure> {
        self.procedures.values().flatten()
    }

    /// Each procedure's latest version.
    pub fn procedures(&self) -> impl Iterator<Item = &Procedure> {
        self.procedures.values().filter_map(|v| v.last())
    }

    /// The procedures a dossier received on the local day `on` may be filed under, each in the
    /// version then in force.
    pub fn procedures_in_force(&self, on: NaiveDate) -> impl Iterator<Item = &Procedure> {
        self.procedures.values().filter_map(move |v| v.iter().find(|p| p.in_force(on)))
    }

    /// Where a ceased agency's territory went, as of the local day `on`: the agencies in force
    /// then (following successors of successors), each with its share of the territory;
    /// shares sum to 1. An agency in force on `on`, or one that ceased with no successor, maps
    /// to itself with share 1; an unknown code likewise.
    pub fn successor_shares(&self, agency: &AgencyCode, on: NaiveDate) -> Vec<(AgencyCode, f64)> {
        let mut out: Vec<(AgencyCode, f64)> = Vec::new();
        self.spread(agency, 1.0, on, 0, &mut out);
        out
    }

    fn spread(&self, agency: &AgencyCode, share: f64, on: NaiveDate, depth: usize, out: &mut Vec<(AgencyCode, f64)>) {
        let next = match self.agencies.get(agency) {
            Some(a) if !a.in_force(on) && !a.successors.is_empty() && depth < MAX_SUCCESSION => &a.successors,
            _ => {
                match out.iter_mut().find(|(c, _)| c == agency) {
                    Some((_, s)) => *s += share,
                    None => out.push((agency.clone(), share)),
                }
                return;
            }
        };
        for s in next {
            self.spread(&s.code, share * s.share, on, depth + 1, out);
        }
    }

    /// The one agency in force on `on` that a ceased agency's whole dossiers are counted under
    /// (`report --as-successors`): the successor with the largest share, followed while it has
    /// itself ceased (the first listed on a tie). Whole dossiers keep counts integer, so a
    /// rate stays a ratio of real dossiers.
    pub fn reporting_agency(&self, agency: &AgencyCode, on: NaiveDate) -> AgencyCode {
        let mut cur = agency;
        for _ in 0..MAX_SUCCESSION {
            match self.agencies.get(cur) {
                Some(a) if !a.in_force(on) => {
                    let mut best: Option<&Successor> = None;
                    for s in &a.successors {
                        if best.is_none_or(|b| s.share > b.share) {
                            best = Some(s);
                        }
                    }
                    match best {
                        Some(s) => cur = &s.code,
                        None => break,
                    }
                }
                _ => break,
            }
        }
        cur.clone()
    }

    /// Successors exist, do not point back, and each ceased agency's shares sum to 1.
    fn check_successors(&self, problems: &mut Vec<String>) {
        for a in self.agencies.values() {
            if a.successors.is_empty() {
                continue;
            }
            let code = &a.code;
            let Some(until) = a.valid_until else {
                problems.push(format!("agency {code} has successors but no valid_until (the day it ceased)"));
                continue;
            };
            let mut sum = 0.0;
            for s in &a.successors {
                if !(s.share > 0.0 && s.share <= 1.0) {
                    problems.push(format!("agency {code}: successor {}: share {} is not in (0, 1]", s.code, s.share));
                }
                sum += s.share;
                match self.agencies.get(&s.code) {
                    None => problems.push(format!("agency {code}: successor {} is not in the catalog", s.code)),
                    Some(next) if &next.code == code => problems.push(format!("agency {code} is its own successor")),
                    Some(next) => {
                        let day_after = until.succ_opt().unwrap_or(until);
                        if !next.in_force(day_after) {
                            problems.push(format!(
                                "agency {code}: successor {} is not in force on {day_after}, the day after {code} ceased",
                                s.code
                            ));
                        }
                    }
                }
            }
            if (sum - 1.0).abs() > 1e-9 {
                problems.push(format!(
                    "agency {code}: the shares of its successors sum to {}, not 1 (each share is the part of its territory a successor took over)",
                    (sum * 1e6).round() / 1e6
                ));
            }
        }
    }

    /// The head of `code`'s chain of parents (itself first).
    pub fn ancestors<'a>(&'a self, code: &'a AgencyCode) -> Vec<&'a Agency> {
        let mut out = Vec::new();
        let mut cur = self.agencies.get(code);
        while let Some(a) = cur {
            if out.iter().any(|x: &&Agency| x.code == a.code) {
                break;
            }
            out.push(a);
            cur = a.parent.as_ref().and_then(|p| self.agencies.get(p));
        }
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const AGENCIES: &str = r#"
[[agency]]
code = "000.00.00.H17"
name = "UBND thành phố"
kind = "city"
[[agency]]
code = "000.00.12.H17"
name = "Sở Tư pháp"
kind = "department"
parent = "000.00.00.H17"
head_email = "giamdoc@stp.example.vn"
[[agency]]
code = "000.20.01.H17"
name = "UBND phường Hải Châu"
kind = "ward"
parent = "000.00.00.H17"
office_hours = [["07:00", "11:30"], ["13:30", "17:00"]]
"#;

    const PROCEDURES: &str = r#"
[[procedure]]
code = "1.001193"
name = "Đăng ký khai sinh"
level = "ward"
time_limit = { working_days = 1 }
route = [{ agency = "@receiving", budget = { working_days = 1 } }]

[[procedure]]
code = "2.000488"
name = "Cấp Phiếu lý lịch tư pháp"
level = "city"
time_limit = { working_days = 10 }
cutoff = "15:00"
route = [
  { agency = "000.00.12.H17", budget = { working_days = 9.5 } },
  { agency = "@receiving", budget = { working_hours = 3.75 } },
]
"#;

    #[test]
    fn parses_and_resolves() {
        let cat = Catalog::from_toml(AGENCIES, PROCEDURES).unwrap();
        let p = cat.procedure(&"2.000488".parse().unwrap()).unwrap();
        assert_eq!(p.route.iter().map(|s| s.budget_minutes).sum::<i64>(), 4500);
        assert_eq!(p.cutoff, parse_hhmm("15:00"));
        assert_eq!(p.payment_mode, WaitMode::Pause);
        let ward: AgencyCode = "000.20.01.H17".parse().unwrap();
        assert_eq!(cat.agency(&ward).unwrap().office_hours.as_ref().unwrap().day_seconds(), 480 * 60);
        assert_eq!(cat.ancestors(&ward).len(), 2);
    }

    #[test]
    fn explains_every_problem() {
        let bad = PROCEDURES.replace("9.5", "9").replace(
            "\"@receiving\", budget = { working_days = 1 }",
            "\"000.99.99.H17\", budget = { working_days = 1 }",
        );
        let err = Catalog::from_toml(AGENCIES, &bad).unwrap_err().to_string();
        assert!(err.contains("budgets sum to 4275 working minutes but the limit 10 working days is 4500"), "{err}");
        assert!(err.contains("agency 000.99.99.H17 is not in the catalog"), "{err}");
        let bad = AGENCIES.replace("parent = \"000.00.00.H17\"\nhead_email", "parent = \"000.00.01.H17\"\nhead_email");
        assert!(
            Catalog::from_toml(&bad, PROCEDURES)
                .unwrap_err()
                .to_string()
                .contains("parent 000.00.01.H17 is not in the catalog")
        );
        assert!(Catalog::from_toml("[[agency]]\ncode = 1", "").is_err());
    }

    const OLD_WARDS: &str = r#"
[[agency]]
code = "000.01.21.H17"
name = "UBND phường Hòa Thuận Tây"
kind = "ward"
valid_until = 2025-06-30
successors = [{ code = "000.20.01.H17", share = 0.6 }, { code = "000.00.12.H17", share = 0.3 }]
"#;

    #[test]
    fn successor_shares_must_sum_to_one() {
        let err = Catalog::from_toml(&format!("{AGENCIES}{OLD_WARDS}"), PROCEDURES).unwrap_err().to_string();
        assert!(err.contains("agency 000.01.21.H17: the shares of its successors sum to 0.9, not 1"), "{err}");
        let fixed = OLD_WARDS.replace("0.3", "0.4");
        let cat = Catalog::from_toml(&format!("{AGENCIES}{fixed}"), PROCEDURES).unwrap();
        let old: AgencyCode = "000.01.21.H17".parse().unwrap();
        let day = NaiveDate::from_ymd_opt(2025, 7, 1).unwrap();
        assert_eq!(cat.successor_shares(&old, day).len(), 2);
        assert_eq!(cat.reporting_agency(&old, day).as_str(), "000.20.01.H17");
        // Several successors need their shares; successors need the day the agency ceased.
        let no_share = OLD_WARDS.replace(", share = 0.3", "");
        let err = Catalog::from_toml(&format!("{AGENCIES}{no_share}"), PROCEDURES).unwrap_err().to_string();
        assert!(err.contains("each of several successors needs its share"), "{err}");
        let no_end = fixed.replace("valid_until = 2025-06-30\n", "");
        let err = Catalog::from_toml(&format!("{AGENCIES}{no_end}"), PROCEDURES).unwrap_err().to_string();
        assert!(err.contains("has successors but no valid_until"), "{err}");
        let unknown = fixed.replace("000.00.12.H17", "000.00.99.H17");
        let err = Catalog::from_toml(&format!("{AGENCIES}{unknown}"), PROCEDURES).unwrap_err().to_string();
        assert!(err.contains("successor 000.00.99.H17 is not in the catalog"), "{err}");
    }

    #[test]
    fn procedure_versions_must_not_overlap() {
        let v2 = PROCEDURES.replace(
            "time_limit = { working_days = 1 }\nroute",
            "time_limit = { working_days = 1 }\nvalid_from = 2024-07-01\nroute",
        );
        let both = format!(
            "{v2}\n[[procedure]]\ncode = \"1.001193\"\nname = \"Đăng ký khai sinh\"\nlevel = \"ward\"\ntime_limit = {{ working_days = 2 }}\nvalid_until = 2024-06-30\nroute = [{{ agency = \"@receiving\", budget = {{ working_days = 2 }} }}]\n"
        );
        let cat = Catalog::from_toml(AGENCIES, &both).unwrap();
        let code: ProcedureCode = "1.001193".parse().unwrap();
        let on = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(cat.procedure_at(&code, on(2024, 6, 30)).unwrap().time_limit, TimeLimit::WorkingDays(2));
        assert_eq!(cat.procedure_at(&code, on(2024, 7, 1)).unwrap().time_limit, TimeLimit::WorkingDays(1));
        assert_eq!(cat.procedure(&code).unwrap().time_limit, TimeLimit::WorkingDays(1));
        assert_eq!(cat.procedures().count(), 2);
        let overlapping = both.replace("valid_until = 2024-06-30", "valid_until = 2024-07-01");
        let err = Catalog::from_toml(AGENCIES, &overlapping).unwrap_err().to_string();
        assert!(err.contains("procedure 1.001193: two versions overlap"), "{err}");
        let twice = format!("{PROCEDURES}{PROCEDURES}");
        let err = Catalog::from_toml(AGENCIES, &twice).unwrap_err().to_string();
        assert!(err.contains("procedure 1.001193 is listed twice"), "{err}");
        let reversed = v2.replace("valid_from = 2024-07-01", "valid_from = 2024-07-01\nvalid_until = 2024-01-01");
        let err = Catalog::from_toml(AGENCIES, &reversed).unwrap_err().to_string();
        assert!(err.contains("valid_from 2024-07-01 is after valid_until 2024-01-01"), "{err}");
    }
}
