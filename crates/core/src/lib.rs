//! motcua-core: the pure domain of the one-stop shop (một cửa).
//!
//! This crate answers every clock question motcua has — when a dossier is due, how long each
//! agency held it, whether it finished early, on time or late, what the on-time rate of a period
//! is — from events, the catalog and the working-day calendar. It must not do IO, spawn tasks,
//! read the wall clock or know about databases: callers pass data and "now" in, and get values
//! and typed errors out. Everything else in motcua (store, worker, exporter, server) asks this
//! crate and never recomputes working time itself.
//!
//! Modules:
//! - [`calendar`]: days off, make-up Saturdays, office hours, the O(1) index, and instants in
//!   Vietnam time (`truncate_to_micros` for the precision stored instants keep);
//! - [`deadlines`]: where the clock starts, when a dossier is due, and the explanation; working
//!   time shown in standard days ([`STANDARD_DAY_MINUTES`]);
//! - [`catalog`]: agencies, procedures, routes;
//! - [`dossier`]: the state machine and its events;
//! - [`delay`]: delay reason codes and who caused them (citizen or agency);
//! - [`domain`]: the calendar and catalog together, replaying a log;
//! - [`analysis`]: classification, rates, handoffs, dwell, signals, at-risk;
//! - [`backdate`]: honest times — the backdating window, the stated and recorded instants of an
//!   event and the working time between them;
//! - [`codes`]: newtypes that parse;
//! - [`commands`]: typed input of the desk's commands turned into events (and `parse_instant`),
//!   shared by the CLI and the server;
//! - [`hall`]: the reception hall — halls, areas and counters (effective-dated), queue tickets
//!   and bookings as state machines, the office-hours rule and the fair call-next order;
//! - [`letters`]: the messages a dossier owes people (apology letters, reminders, notices), the
//!   apology's timeliness and what became of a send;
//! - [`petition`]: petitions, complaints and denunciations as tracked items: their kinds,
//!   effective-dated time limits (Civil Code counting), state machine and the district report;
//! - [`scorecard`]: the chair's scorecard (Decision 766/QĐ-TTg and Da Nang's targets): what
//!   each dossier adds to which day's sums, and each indicator over the sums;
//! - [`petition_letters`]: the messages an item owes people: the citizen's at acceptance,
//!   answer, forward and extension; the agency's at-risk warning and last-day reminder;
//! - [`text`]: free text people type, checked once at the door: names, addresses, reasons;
//! - [`view`]: the dossier and the catalog as readers see them (`motcua show`, the API, the
//!   pages);
//! - [`vocab`]: the status sets — open, agency clock, waiting for the citizen, not finished —
//!   and the measured event kinds, named once for Rust and SQL alike;
//! - [`watchlist`]: the inspector's watch list (Directive 34-CT/TU): when each avoidance signal
//!   first held on a dossier and whom it is held against, handoff waits and backdated events,
//!   followed event by event as the writer does, and the list per agency or officer.

pub mod analysis;
pub mod backdate;
pub mod calendar;
pub mod catalog;
pub mod codes;
pub mod commands;
pub mod deadlines;
pub mod delay;
pub mod domain;
pub mod dossier;
pub mod forms;
pub mod hall;
pub mod letters;
pub mod petition;
pub mod petition_letters;
#[cfg(test)]
mod proptests;
pub mod scorecard;
pub mod text;
pub mod view;
pub mod vocab;
pub mod watchlist;

pub use analysis::{Analysis, ClassifyMode, Counts, Ratio, Timeliness, analyse, classify};
pub use calendar::{Calendar, CalendarData, CalendarError, CalendarYear, OfficeHours};
pub use catalog::{Agency, Catalog, CatalogError, Fee, FeeOption, Procedure, WaitMode};
pub use codes::{AgencyCode, DossierCode, Email, ParseError, Phone, ProcedureCode};
pub use deadlines::{Deadline, Lang, STANDARD_DAY_MINUTES, Step, TimeLimit, deadline};
pub use delay::{Cause, DelayReasons};
pub use domain::{Domain, DomainError};
pub use dossier::{
    Applicant, Channel, CopyKind, DocumentItem, Dossier, DossierError, Event, EventKind, Intake, Outcome,
    PaymentMethod, Status,
};
