//! The domain context every write and read needs: the calendar, the catalog and the
//! classification rule, with the per-agency calendars resolved once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::analysis::ClassifyMode;
use crate::calendar::Calendar;
use crate::catalog::{Catalog, Procedure};
use crate::codes::{AgencyCode, ProcedureCode};
use crate::dossier::{Dossier, DossierError, Event, EventKind};

/// Calendar + catalog + rules: what core needs to turn events into state.
#[derive(Debug, Clone)]
pub struct Domain {
    pub calendar: Calendar,
    pub catalog: Catalog,
    pub classify: ClassifyMode,
    agency_calendars: BTreeMap<AgencyCode, Calendar>,
}

/// Why an event could not be applied in this domain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("unknown procedure {0}")]
    UnknownProcedure(ProcedureCode),
    #[error("unknown agency {0}")]
    UnknownAgency(AgencyCode),
    #[error("the dossier has no intake event")]
    NoIntake,
    #[error(transparent)]
    Dossier(#[from] DossierError),
}

impl Domain {
    pub fn new(calendar: Calendar, catalog: Catalog, classify: ClassifyMode) -> Self {
        let agency_calendars = catalog
            .agencies()
            .filter_map(|a| a.office_hours.clone().map(|h| (a.code.clone(), calendar.with_hours(h))))
            .collect();
        Self { calendar, catalog, classify, agency_calendars }
    }

    /// The calendar whose office hours apply at `agency` (the receiving desk's, for a dossier).
    pub fn calendar_for(&self, agency: &AgencyCode) -> &Calendar {
        self.agency_calendars.get(agency).unwrap_or(&self.calendar)
    }

    pub fn procedure(&self, code: &ProcedureCode) -> Result<&Procedure, DomainError> {
        self.catalog.procedure(code).ok_or_else(|| DomainError::UnknownProcedure(code.clone()))
    }

    /// Checks that an agency named by a command exists.
    pub fn agency(&self, code: &AgencyCode) -> Result<(), DomainError> {
        self.catalog.agency(code).map(|_| ()).ok_or_else(|| DomainError::UnknownAgency(code.clone()))
    }

    /// Applies one event, resolving the procedure and calendar from the dossier (or from the
    /// intake carried by a first event). Checks agencies named by the event. On error the
    /// dossier is unchanged.
    pub fn apply(&self, d: &mut Dossier, event: &Event) -> Result<(), DomainError> {
        let (procedure, receiving) = match (&d.procedure, &d.receiving_agency, &event.kind) {
            (Some(p), Some(a), _) => (p.clone(), a.clone()),
            (_, _, EventKind::Received { intake } | EventKind::RegisteredOnline { intake }) => {
                self.agency(&intake.agency)?;
                (intake.procedure.clone(), intake.agency.clone())
            }
            _ => return Err(DomainError::NoIntake),
        };
        match &event.kind {
            EventKind::Transferred { to } => self.agency(to)?,
            EventKind::Rescheduled { responsible: Some(a), .. } | EventKind::Apologised { responsible: a, .. } => {
                self.agency(a)?
            }
            _ => {}
        }
        let procedure = self.procedure(&procedure)?;
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
