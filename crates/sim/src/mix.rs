//! The procedure mix: how often each procedure of the catalog is filed, so that the shares of
//! the time-limit buckets match DOMAIN.md §9 (≈ 60 % of 1–3 working days, ≈ 30 % of 5–15,
//! ≈ 10 % longer).

use motcua_core::catalog::Level;
use motcua_core::{Procedure, ProcedureCode, TimeLimit};

/// A procedure's time-limit bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    /// Same-day services and 1–3 working days (civil status, certification).
    Short,
    /// 4–15 days (residence, licences, land transfers).
    Medium,
    /// More than 15 days (first land registration, construction permits, complaints).
    Long,
}

impl Bucket {
    pub const ALL: [Bucket; 3] = [Bucket::Short, Bucket::Medium, Bucket::Long];

    /// The bucket of a time limit. The count is read in its own unit: working hours are
    /// short, "10 days" is medium whether they are working or calendar days, as a citizen
    /// reads the procedure record.
    pub fn of(limit: TimeLimit) -> Self {
        let days = match limit {
            TimeLimit::WorkingHours(_) => 0,
            TimeLimit::WorkingDays(n) | TimeLimit::CalendarDays(n) => n,
        };
        match days {
            0..=3 => Self::Short,
            4..=15 => Self::Medium,
            _ => Self::Long,
        }
    }

    /// The bucket's target share of all dossiers.
    pub fn target_share(self) -> f64 {
        match self {
            Self::Short => 0.60,
            Self::Medium => 0.30,
            Self::Long => 0.10,
        }
    }

    /// Probability that a resolved dossier of this bucket finishes late (more in the long
    /// land and construction procedures, as in reality).
    pub(crate) fn late_probability(self) -> f64 {
        match self {
            Self::Short => 0.006,
            Self::Medium => 0.025,
            Self::Long => 0.08,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Short => "short",
            Self::Medium => "medium",
            Self::Long => "long",
        }
    }
}

/// Relative popularity inside its bucket of the procedures of the sample catalog; any other
/// code weighs 1. Certified copies dwarf everything else at a ward desk.
const POPULARITY: &[(&str, f64)] = &[
    ("2.000815", 30.0),
    ("2.000884", 10.0),
    ("1.001193", 8.0),
    ("1.004194", 8.0),
    ("1.004873", 5.0),
    ("2.000635", 5.0),
    ("1.000894", 3.0),
    ("1.000656", 3.0),
    ("1.004859", 3.0),
    ("2.001035", 3.0),
    ("1.001612", 3.0),
    ("2.001610", 3.0),
    ("2.002039", 3.0),
    ("2.000913", 2.0),
    ("1.001266", 2.0),
    ("1.000689", 0.5),
    ("1.000654", 0.3),
    ("1.012810", 10.0),
    ("1.004222", 6.0),
    ("2.000488", 6.0),
    ("1.009994", 5.0),
    ("1.000105", 2.0),
    ("2.000633", 1.5),
    ("2.000620", 0.5),
    ("1.004628", 0.5),
    ("1.009645", 0.5),
    ("2.002165", 0.5),
    ("1.012767", 6.0),
    ("1.009972", 2.0),
    ("2.002310", 1.0),
    ("2.002301", 0.5),
    ("2.001909", 0.3),
];

/// Procedures of the sample catalog after whose appraisal the applicant is asked to pay
/// (land taxes and registration fees, licence fees): status 6 waits.
const FEE_AFTER_APPRAISAL: &[&str] =
    &["1.012810", "1.012767", "1.009994", "1.009972", "2.000620", "2.000633", "1.004628"];

pub(crate) fn popularity(code: &ProcedureCode) -> f64 {
    POPULARITY.iter().find(|(c, _)| *c == code.as_str()).map_or(1.0, |(_, w)| *w)
}

/// Does the applicant pay after the appraisal? The sample catalog's list, or any land
/// procedure ("đất") of another catalog.
pub(crate) fn has_fee(p: &Procedure) -> bool {
    FEE_AFTER_APPRAISAL.contains(&p.code.as_str()) || p.name.to_lowercase().contains("đất")
}

/// One procedure as the simulation files it.
#[derive(Debug, Clone)]
pub struct MixEntry {
    pub code: ProcedureCode,
    pub level: Level,
    pub bucket: Bucket,
    /// Share of all dossiers (the entries' shares sum to 1).
    pub share: f64,
    pub(crate) fee: bool,
    /// Handled by the receiving agency alone (no inter-agency route).
    pub(crate) single_agency: bool,
}

/// The procedure mix of a plan.
#[derive(Debug, Clone)]
pub struct Mix {
    pub entries: Vec<MixEntry>,
}

impl Mix {
    /// Weights the candidates so that each bucket gets its target share; a bucket with no
    /// procedure gives its share to the others in proportion.
    pub(crate) fn new(mut entries: Vec<MixEntry>) -> Self {
        let present: Vec<Bucket> = Bucket::ALL.into_iter().filter(|b| entries.iter().any(|e| e.bucket == *b)).collect();
        let present_share: f64 = present.iter().map(|b| b.target_share()).sum();
        for b in &present {
            let total: f64 = entries.iter().filter(|e| e.bucket == *b).map(|e| popularity(&e.code)).sum();
            let share = b.target_share() / present_share;
            for e in entries.iter_mut().filter(|e| e.bucket == *b) {
                e.share = share * popularity(&e.code) / total;
            }
        }
        Self { entries }
    }

    /// The share of dossiers in `bucket`.
    pub fn bucket_share(&self, bucket: Bucket) -> f64 {
        self.entries.iter().filter(|e| e.bucket == bucket).map(|e| e.share).sum()
    }

    pub(crate) fn fee_share(&self) -> f64 {
        self.entries.iter().filter(|e| e.fee).map(|e| e.share).sum()
    }

    pub(crate) fn multi_agency_share(&self) -> f64 {
        self.entries.iter().filter(|e| !e.single_agency).map(|e| e.share).sum()
    }
}
