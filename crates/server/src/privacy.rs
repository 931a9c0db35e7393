//! Citizens' personal data in what staff read: the rule of [`perm::personal_data`] applied to
//! dossiers and lists, the masking, and the audit of reads through the city-wide role.
//!
//! Masked means: the applicant's name becomes [`MASK`] and the ID number, phone, e-mail and
//! address are left out; the dossier's code, procedure, status, holder and clocks stay. A read
//! through the city-wide role is recorded (who, when, which dossier, route and fields) before
//! the data is shown: if it cannot be recorded, nothing is shown.

use motcua_core::view::DossierView;
use motcua_core::{Applicant, Dossier, Event, EventKind};
use motcua_store::{DossierRow, NewPersonalDataRead, ReadOf, StaffRow, StaffStore};
use serde::Serialize;

use crate::perm::{self, PersonalData};
use crate::problem::Problem;
use crate::state::AppState;

/// What a masked personal field shows.
pub const MASK: &str = "***";

/// "shown" or "masked", as the API's answers say it (`personal_data`).
pub fn label(shown: bool) -> &'static str {
    if shown { "shown" } else { "masked" }
}

/// The personal fields an applicant has, by name.
pub fn fields(a: &Applicant) -> Vec<String> {
    let mut f = vec!["name".to_string()];
    for (name, present) in [
        ("id_number", a.id_number.is_some()),
        ("phone", a.phone.is_some()),
        ("email", a.email.is_some()),
        ("address", a.address.is_some()),
    ] {
        if present {
            f.push(name.to_string());
        }
    }
    f
}

fn masked_applicant() -> Applicant {
    Applicant { name: MASK.to_string(), ..Applicant::default() }
}

/// Masks a dossier state, its view and its log (the intake event carries the applicant).
pub fn mask(dossier: &mut Dossier, view: Option<&mut DossierView>, events: &mut [Event]) {
    dossier.applicant = masked_applicant();
    if let Some(v) = view {
        v.applicant = MASK.to_string();
    }
    mask_events(events);
}

/// Masks the applicant of the intake events of a log.
pub fn mask_events(events: &mut [Event]) {
    for e in events {
        if let EventKind::Received { intake } | EventKind::RegisteredOnline { intake } = &mut e.kind {
            intake.applicant = masked_applicant();
        }
    }
}

/// Masks a projection row.
pub fn mask_row(r: &mut DossierRow) {
    r.applicant_name = MASK.to_string();
    r.applicant_email = None;
    r.applicant_phone = None;
    r.applicant_id_number = None;
    r.applicant_address = None;
}

/// Records that `staff` read `fields` of dossier `code` through `route`, now.
pub async fn record(
    state: &AppState,
    staff: &StaffRow,
    reads: impl IntoIterator<Item = (ReadOf, Vec<String>)>,
    route: &str,
) -> Result<(), Problem> {
    let at = state.now();
    let reads: Vec<NewPersonalDataRead> = reads
        .into_iter()
        .map(|(code, fields)| NewPersonalDataRead {
            staff: staff.username.clone(),
            code,
            route: route.to_string(),
            fields,
            at,
        })
        .collect();
    Ok(state.store.record_personal_data_reads(&reads).await?)
}

/// Applies the rule to one dossier read whole (its page, its API answer, its log): shown to
/// its own agencies; shown and recorded through the chair's city-wide role or an inspector's
/// scope; masked otherwise.
pub async fn guard_dossier(
    state: &AppState,
    staff: &StaffRow,
    dossier: &mut Dossier,
    view: Option<&mut DossierView>,
    events: &mut [Event],
    route: &str,
) -> Result<PersonalData, Problem> {
    let access = perm::personal_data(staff, &motcua_store::agencies_that_held(events.iter()));
    match access {
        PersonalData::Own => {}
        PersonalData::Audited => {
            let code = dossier.code.clone().ok_or_else(|| Problem::internal("a dossier without a code"))?;
            record(state, staff, [(ReadOf::Dossier(code), fields(&dossier.applicant))], route).await?;
        }
        PersonalData::Masked => mask(dossier, view, events),
    }
    Ok(access)
}

/// Did one of `staff`'s agencies receive or hold the listed dossier? The receiving agency and
/// the holder answer most rows; the log answers the rest. Never for an inspector, whose every
/// read is audited.
pub async fn own_row(state: &AppState, staff: &StaffRow, row: &DossierRow) -> Result<bool, Problem> {
    if perm::every_read_audited(staff.role) {
        return Ok(false);
    }
    if staff.agencies.contains(&row.receiving_agency) || row.holder.as_ref().is_some_and(|h| staff.agencies.contains(h))
    {
        return Ok(true);
    }
    if staff.agencies.is_empty() {
        return Ok(false);
    }
    let held = state.store.agencies_that_held(&row.code).await?;
    Ok(perm::personal_data(staff, &held) == PersonalData::Own)
}

/// A dossier of a list, with whether its personal data is shown.
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub row: DossierRow,
    /// "shown" or "masked".
    pub personal_data: &'static str,
}

/// A list of other agencies' work (queues, online submissions): personal data shown only on
/// the rows the reader's agencies received or held. The chair and the inspector see such lists
/// masked and read a citizen's data one dossier at a time, each read audited.
pub async fn list(state: &AppState, staff: &StaffRow, rows: Vec<DossierRow>) -> Result<Vec<Listed>, Problem> {
    let mut out = Vec::with_capacity(rows.len());
    for mut row in rows {
        let own = own_row(state, staff, &row).await?;
        if !own {
            mask_row(&mut row);
        }
        out.push(Listed { row, personal_data: label(own) });
    }
    Ok(out)
}
