//! Staff, sessions, tokens and ratings ([`StaffStore`]) on SQLite: reads on the read-only pool,
//! writes on the writer. The implementation is the one both backends share.

use chrono::{DateTime, Utc};
use motcua_core::{AgencyCode, DossierCode};
use sqlx::Row;

use crate::error::{StoreError, is_unique_violation};
use crate::model::DossierRow;
use crate::sql::{self, At, decode_dossier};
use crate::staff::{
    AuditRow, Capability, DeskList, DossierSearch, LoginFailures, NewPersonalDataRead, NewStaff, NewToken, Paged,
    PersonalDataRead, Rating, RatingCounts, STAFF_COLUMNS, Scope, SessionRow, StaffRow, StaffStore, TOKEN_SELECT,
    TokenRow, TokenUse, Window, login_failures_from, staff_store, token_from,
};

use super::SqliteStore;

staff_store!(SqliteStore, sqlx::sqlite::SqliteRow, reader, writer);
