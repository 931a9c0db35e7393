//! The domain context every write and read needs: the calendar, the catalog and the
//! classification rule, with the per-agency calendars resolved once.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::analysis::ClassifyMode;
use crate::calendar::{Calendar, to_local};
use crate::catalog::{Catalog, Fee, Procedure};
use crate::codes::{AgencyCode, ProcedureCode};
use crate::delay::DelayReasons;
use crate::dossier::{Dossier, DossierError, Event, EventKind};

/// Calendar + catalog + rules: what core needs to turn events into state.
#[derive(Debug, Clone)]
pub struct Domain {
    pub calendar: Calendar,
    pub catalog: Catalog,
    pub classify: ClassifyMode,
    /// The delay reason codes commands may use (the shipped list unless
    /// [`Domain::with_delay_reasons`] gave another).
    pub delay_reasons: DelayReasons,
    /// The reception halls (`config/catalog/halls.toml`; empty when the file is absent).
    pub halls: crate::hall::HallCatalog,
    agency_calendars: BTreeMap<AgencyCode, Calendar>,
}

/// Why an event could not be applied in this domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("unknown procedure {0}")]
    UnknownProcedure(ProcedureCode),
    #[error("unknown agency {0}")]
    UnknownAgency(AgencyCode),
    /// The agency did not exist on the day (it ceased, or was not yet established).
    #[error("{0}")]
    AgencyNotInForce(Box<NotInForce>),
    /// No version of the procedure applies to a dossier received on the day.
    #[error("procedure {code} is not in force on {on}{}", .window)]
    ProcedureNotInForce { code: ProcedureCode, on: NaiveDate, window: String },
    #[error("the dossier has no intake event")]
    NoIntake,
    /// A payment request without an amount for a procedure whose fee is a list of options.
    #[error("procedure {code} has several fees ({options}): give the amount")]
    FeeToChoose { code: ProcedureCode, options: String },
    #[error(transparent)]
    Dossier(#[from] DossierError),
}

/// Why an agency cannot receive a dossier on a day: it ceased or did not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotInForce {
    pub agency: AgencyCode,
    pub name: String,
    pub on: NaiveDate,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    /// The successors' codes and names (when it ceased).
    pub successors: Vec<(AgencyCode, String)>,
}

impl std::fmt::Display for NotInForce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (code, name, on) = (&self.agency, &self.name, self.on);
        match (self.valid_from, self.valid_until) {
            (_, Some(until)) if on > until => {
                write!(f, "agency {code} ({name}) ceased on {until} and cannot receive a dossier on {on}")?;
                if !self.successors.is_empty() {
                    let list: Vec<String> = self.successors.iter().map(|(c, n)| format!("{c} ({n})")).collect();
                    write!(f, "; its successors: {}", list.join(", "))?;
                }
                Ok(())
            }
            (Some(from), _) => write!(f, "agency {code} ({name}) exists from {from}, not on {on}"),
            _ => write!(f, "agency {code} ({name}) is not in force on {on}"),
        }
    }
}

impl Domain {
    pub fn new(calendar: Calendar, catalog: Catalog, classify: ClassifyMode) -> Self {
        let agency_calendars = catalog
            .agencies()
            .filter_map(|a| a.office_hours.clone().map(|h| (a.code.clone(), calendar.with_hours(h))))
            .collect();
        Self {
            calendar,
            catalog,
            classify,
            delay_reasons: DelayReasons::default(),
            halls: crate::hall::HallCatalog::default(),
            agency_calendars,
        }
    }

    /// The same domain with another list of delay reason codes (from `config/delay_reasons.json`).
    pub fn with_delay_reasons(mut self, reasons: DelayReasons) -> Self {
        self.delay_reasons = reasons;
        self
    }

    /// A new event as it is recorded: a payment request without an amount takes the catalog's
    /// fee for the dossier's procedure version (a fixed amount; a list of options must be chosen
    /// from, an error naming them; no fee in the catalog leaves the amount unknown, never zero).
    /// Other events are unchanged. History being imported is taken as it is, without this.
    pub fn complete(&self, d: &Dossier, kind: EventKind) -> Result<EventKind, DomainError> {
        match kind {
            EventKind::PaymentRequested { reason, amount_vnd: None } => {
                let p = self.procedure_of(d)?;
                let amount_vnd = match &p.fee {
                    Some(f @ Fee::Options { .. }) => {
                        return Err(DomainError::FeeToChoose { code: p.code.clone(), options: f.describe() });
                    }
                    Some(f) => f.default_amount(),
                    None => None,
                };
                Ok(EventKind::PaymentRequested { reason, amount_vnd })
            }
            other => Ok(other),
        }
    }

    /// The same domain with its reception halls.
    pub fn with_halls(mut self, halls: crate::hall::HallCatalog) -> Self {
        self.halls = halls;
        self
    }

    /// The calendar whose office hours apply at `agency` (the receiving desk's, for a dossier).
    pub fn calendar_for(&self, agency: &AgencyCode) -> &Calendar {
        self.agency_calendars.get(agency).unwrap_or(&self.calendar)
    }

    pub fn procedure(&self, code: &ProcedureCode) -> Result<&Procedure, DomainError> {
        self.catalog.procedure(code).ok_or_else(|| DomainError::UnknownProcedure(code.clone()))
    }

    /// The version of a procedure that applies to a dossier received on the local day `on`.
    pub fn procedure_at(&self, code: &ProcedureCode, on: NaiveDate) -> Result<&Procedure, DomainError> {
        if let Some(p) = self.catalog.procedure_at(code, on) {
            return Ok(p);
        }
        let versions = self.catalog.procedure_versions(code);
        if versions.is_empty() {
            return Err(DomainError::UnknownProcedure(code.clone()));
        }
        let spans: Vec<String> = versions
            .iter()
            .map(|p| {
                let d = |x: Option<NaiveDate>| x.map_or_else(|| "…".to_string(), |d| d.to_string());
                format!("{}–{}", d(p.valid_from), d(p.valid_until))
            })
            .collect();
        Err(DomainError::ProcedureNotInForce {
            code: code.clone(),
            on,
            window: format!(" (in force {})", spans.join(", ")),
        })
    }

    /// The procedure version of a dossier: the one in force on its receipt day (its
    /// registration day for an online dossier not yet received).
    pub fn procedure_of(&self, d: &Dossier) -> Result<&Procedure, DomainError> {
        let code = d.procedure.as_ref().ok_or(DomainError::NoIntake)?;
        match d.received_at.or(d.registered_at) {
            Some(at) => self.procedure_at(code, to_local(at).date()),
            None => self.procedure(code),
        }
    }

    /// Checks that an agency named by a command exists.
    pub fn agency(&self, code: &AgencyCode) -> Result<(), DomainError> {
        self.catalog.agency(code).map(|_| ()).ok_or_else(|| DomainError::UnknownAgency(code.clone()))
    }

    /// Checks that an agency exists and is in force at the instant `at` (its local day): a
    /// dossier cannot be received by, or sent to, an agency that ceased or did not exist yet.
    pub fn agency_in_force(&self, code: &AgencyCode, at: DateTime<Utc>) -> Result<(), DomainError> {
        let a = self.catalog.agency(code).ok_or_else(|| DomainError::UnknownAgency(code.clone()))?;
        let on = to_local(at).date();
        if a.in_force(on) {
            return Ok(());
        }
        let successors = a
            .successors
            .iter()
            .map(|s| (s.code.clone(), self.catalog.agency(&s.code).map(|x| x.name.clone()).unwrap_or_default()))
            .collect();
        Err(DomainError::AgencyNotInForce(Box::new(NotInForce {
            agency: code.clone(),
            name: a.name.clone(),
            on,
            valid_from: a.valid_from,
            valid_until: a.valid_until,
            successors,
        })))
    }

    /// Applies one event, resolving the procedure and calendar from the dossier (or from the
    /// intake carried by a first event). Checks agencies named by the event: the receiving
    /// agency and a transfer's target must be in force at the event's instant, and the
    /// procedure's version is the one in force on the dossier's receipt day (so a dossier keeps
    /// the rules it was received under). On error the dossier is unchanged.
    pub fn apply(&self, d: &mut Dossier, event: &Event) -> Result<(), DomainError> {
        let (procedure, receiving) = match (&d.procedure, &d.receiving_agency, &event.kind) {
            (Some(code), Some(a), EventKind::AcceptedOnline) if d.received_at.is_none() => {
                // An online dossier being received: by an agency in force, under the version
                // in force at this receipt.
                self.agency_in_force(a, event.at)?;
                (self.procedure_at(code, to_local(event.at).date())?, a.clone())
            }
            (Some(_), Some(a), _) => (self.procedure_of(d)?, a.clone()),
            (_, _, EventKind::Received { intake } | EventKind::RegisteredOnline { intake }) => {
                self.agency_in_force(&intake.agency, event.at)?;
                (self.procedure_at(&intake.procedure, to_local(event.at).date())?, intake.agency.clone())
            }
            _ => return Err(DomainError::NoIntake),
        };
        match &event.kind {
            EventKind::Transferred { to } => self.agency_in_force(to, event.at)?,
            EventKind::Rescheduled { responsible: Some(a), .. } | EventKind::Apologised { responsible: a, .. } => {
                self.agency(a)?
            }
            _ => {}
        }
        d.apply(event, self.calendar_for(&receiving), procedure)?;
        Ok(())
    }

    /// Replays a log.
    pub fn replay<'a>(&self, events: impl IntoIterator<Item = &'a Event>) -> Result<Dossier, DomainError> {
        let mut d = Dossier::default();
        for e in events {
            self.apply(&mut d, e)?;
        }
        Ok(d)
    }

    /// Replays the events at or before `as_of`.
    pub fn replay_until<'a>(
        &self,
        events: impl IntoIterator<Item = &'a Event>,
        as_of: DateTime<Utc>,
    ) -> Result<Dossier, DomainError> {
        self.replay(events.into_iter().filter(|e| e.at <= as_of))
    }

    /// The agency a dossier's figures are reported under: the route step with the largest
    /// budget (the lead unit, chủ trì), `@receiving` resolved to the receiving agency.
    pub fn lead_agency(&self, procedure: &Procedure, receiving: &AgencyCode) -> AgencyCode {
        procedure
            .route
            .iter()
            .enumerate()
            .max_by(|(i, a), (j, b)| a.budget_minutes.cmp(&b.budget_minutes).then(j.cmp(i)))
            .map_or_else(|| receiving.clone(), |(_, s)| s.agency.resolve(receiving).clone())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::TimeLimit;
    use crate::calendar::from_local;
    use crate::dossier::{Applicant, Channel, Intake};
    use chrono::NaiveDate;

    fn domain() -> Domain {
        let catalog = Catalog::from_toml(
            include_str!("../../../config/catalog/agencies.toml"),
            include_str!("../../../config/catalog/procedures.toml"),
        )
        .unwrap();
        Domain::new(crate::calendar::testdata::vn_calendar(), catalog, crate::analysis::ClassifyMode::DateTime)
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        from_local(NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, min, 0).unwrap())
    }

    fn receipt(at: DateTime<Utc>, agency: &str, procedure: &str) -> Event {
        let intake = Intake {
            code: format!("{agency}-{}-0001", to_local(at).format("%y%m%d")).parse().unwrap(),
            procedure: procedure.parse().unwrap(),
            agency: agency.parse().unwrap(),
            applicant: Applicant { name: "Nguyễn Văn An".into(), ..Default::default() },
            channel: Channel::InPerson,
            documents: Vec::new(),
            digitised: None,
        };
        Event::new(at, Some("officer".into()), EventKind::Received { intake })
    }

    /// quận Hải Châu, ceased on 30/6/2025.
    const HAI_CHAU_DISTRICT: &str = "000.00.21.H17";
    const BIRTH: &str = "1.001193";
    const ID_REISSUE: &str = "1.011602";

    #[test]
    fn a_ceased_agency_receives_until_its_last_day_only() {
        let d = domain();
        let ok = d.replay([&receipt(at(2025, 6, 30, 9, 0), HAI_CHAU_DISTRICT, BIRTH)]).unwrap();
        assert_eq!(ok.receiving_agency.unwrap().as_str(), HAI_CHAU_DISTRICT);
        let err = d.replay([&receipt(at(2025, 7, 1, 9, 0), HAI_CHAU_DISTRICT, BIRTH)]).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, DomainError::AgencyNotInForce(_)), "{err:?}");
        assert!(text.contains("ceased on 2025-06-30") && text.contains("2025-07-01"), "{text}");
        assert!(text.contains("000.00.41.H17 (Ủy ban nhân dân phường Hải Châu)"), "{text}");
    }

    #[test]
    fn a_transfer_to_a_ceased_agency_is_refused() {
        let d = domain();
        let mut dossier = d.replay([&receipt(at(2025, 6, 30, 9, 0), "000.00.41.H17", BIRTH)]).unwrap();
        let send = |when, to: &str| Event::new(when, None, EventKind::Transferred { to: to.parse().unwrap() });
        assert!(matches!(
            d.apply(&mut dossier.clone(), &send(at(2025, 7, 1, 9, 0), HAI_CHAU_DISTRICT)),
            Err(DomainError::AgencyNotInForce(_))
        ));
        d.apply(&mut dossier, &send(at(2025, 6, 30, 10, 0), HAI_CHAU_DISTRICT)).unwrap();
    }

    #[test]
    fn a_dossier_keeps_the_time_limit_in_force_at_its_receipt() {
        let d = domain();
        // Received Fri 28/6/2024 09:00 under the 2014 law (15 working days), and Mon 1/7/2024
        // 09:00 under the 2023 law (7 working days).
        let old = d.replay([&receipt(at(2024, 6, 28, 9, 0), "000.00.41.H17", ID_REISSUE)]).unwrap();
        let new = d.replay([&receipt(at(2024, 7, 1, 9, 0), "000.00.41.H17", ID_REISSUE)]).unwrap();
        assert_eq!(d.procedure_of(&old).unwrap().time_limit, TimeLimit::WorkingDays(15));
        assert_eq!(d.procedure_of(&new).unwrap().time_limit, TimeLimit::WorkingDays(7));
        // 15 working days after Fri 28/6/2024: Fri 19/7/2024, same time.
        assert_eq!(old.due_at, Some(at(2024, 7, 19, 9, 0)));
        // 7 working days after Mon 1/7/2024: Wed 10/7/2024.
        assert_eq!(new.due_at, Some(at(2024, 7, 10, 9, 0)));
        // The latest version is the one lists show.
        assert_eq!(d.procedure(&ID_REISSUE.parse().unwrap()).unwrap().time_limit, TimeLimit::WorkingDays(7));
    }

    #[test]
    fn ceased_agencies_map_to_todays_through_their_successors() {
        let d = domain();
        let today = NaiveDate::from_ymd_opt(2026, 1, 5).unwrap();
        let before = NaiveDate::from_ymd_opt(2025, 6, 30).unwrap();
        let code = |s: &str| s.parse::<AgencyCode>().unwrap();
        // The split ward: 60 % to Hải Châu, 40 % to Hòa Cường.
        let split = code("000.02.21.H17");
        let shares = d.catalog.successor_shares(&split, today);
        assert_eq!(shares, vec![(code("000.00.41.H17"), 0.6), (code("000.00.42.H17"), 0.4)]);
        assert_eq!(d.catalog.reporting_agency(&split, today), code("000.00.41.H17"));
        // Before it ceased, it is itself.
        assert_eq!(d.catalog.successor_shares(&split, before), vec![(split.clone(), 1.0)]);
        assert_eq!(d.catalog.reporting_agency(&split, before), split);
        // Today's agencies are themselves; the lists of today hold no ceased agency.
        assert_eq!(d.catalog.reporting_agency(&code("000.00.41.H17"), today), code("000.00.41.H17"));
        assert!(d.catalog.agencies_in_force(today).all(|a| a.valid_until.is_none()));
        assert!(d.catalog.agencies_in_force(before).any(|a| a.code.as_str() == HAI_CHAU_DISTRICT));
        // Every ceased agency of the sample maps to one in force today.
        for a in d.catalog.agencies().filter(|a| !a.in_force(today)) {
            let to = d.catalog.reporting_agency(&a.code, today);
            assert!(d.catalog.agency(&to).unwrap().in_force(today), "{} → {to}", a.code);
            let sum: f64 = d.catalog.successor_shares(&a.code, today).iter().map(|s| s.1).sum();
            assert!((sum - 1.0).abs() < 1e-9, "{}", a.code);
        }
    }
}
