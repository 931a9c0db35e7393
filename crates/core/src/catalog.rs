//! The catalog (danh mục): agencies with their hierarchy and electronic identifiers, and
//! procedures (thủ tục hành chính) with their time limit, cut-off, supplement mode and route.

use std::collections::BTreeMap;

use chrono::NaiveTime;
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
}

/// Agencies and procedures, validated together.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    agencies: BTreeMap<AgencyCode, Agency>,
    procedures: BTreeMap<ProcedureCode, Procedure>,
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
            let agency = Agency {
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
        for row in procedure_file.procedure {
            match catalog.procedure_from_row(row) {
                Ok(p) => {
                    let code = p.code.clone();
                    if catalog.procedures.insert(code.clone(), p).is_some() {
                        problems.push(format!("procedure {code} is listed twice"));
                    }
                }
                Err(mut e) => problems.append(&mut e),
            }
        }
        if problems.is_empty() { Ok(catalog) } else { Err(CatalogError(problems)) }
    }

    fn procedure_from_row(&self, row: ProcedureRow) -> Result<Procedure, Vec<String>> {
        let mut problems = Vec::new();
        let code: ProcedureCode = row.code.parse().map_err(|e| vec![format!("procedure {:?}: {e}", row.name)])?;
        let ctx = |m: String| format!("procedure {code}: {m}");
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
            }),
            _ => Err(problems),
        }
    }

    pub fn agency(&self, code: &AgencyCode) -> Option<&Agency> {
        self.agencies.get(code)
    }

    pub fn procedure(&self, code: &ProcedureCode) -> Option<&Procedure> {
        self.procedures.get(code)
    }

    pub fn agencies(&self) -> impl Iterator<Item = &Agency> {
        self.agencies.values()
    }

    pub fn procedures(&self) -> impl Iterator<Item = &Procedure> {
        self.procedures.values()
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
}
