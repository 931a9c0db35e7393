//! Rows as column arrays: a multi-row write on PostgreSQL as ONE statement,
//! `INSERT … SELECT * FROM unnest($1::text[], $2::int4[], …)`, whatever the number of rows.
//!
//! A `VALUES` list of n rows is a statement of its own for every n (parsed and planned again
//! for each batch, and split at 8,000 parameters); the `unnest` form has one parameter per
//! column, so each table's write is prepared once per connection and a batch of any size is
//! one round trip. The values are collected with the same binding macros as the `VALUES`
//! form ([`crate::sql::bind_dossier!`], [`crate::sql::bind_counts!`]): [`Columns::bind`]
//! takes the row's values in column order, so the two forms cannot disagree on the order.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Postgres;
use sqlx::postgres::PgArguments;
use sqlx::query::Query;

use crate::error::StoreError;

/// One column's values, one per row.
#[derive(Debug)]
pub(super) enum Column {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i32>>),
    Big(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    At(Vec<Option<DateTime<Utc>>>),
    Day(Vec<Option<NaiveDate>>),
}

impl Column {
    /// The PostgreSQL array type of the column, for the `unnest` cast.
    fn array_type(&self) -> &'static str {
        match self {
            Self::Text(_) => "text[]",
            Self::Int(_) => "int4[]",
            Self::Big(_) => "int8[]",
            Self::Bool(_) => "bool[]",
            Self::At(_) => "timestamptz[]",
            Self::Day(_) => "date[]",
        }
    }
}

/// A value a binding macro hands over, and the column it belongs in.
pub(super) trait Cell {
    fn column(capacity: usize) -> Column;
    /// Appends to `column`; false if the column holds another type.
    fn push(self, column: &mut Column) -> bool;
}

macro_rules! cell {
    ($variant:ident, $t:ty, |$v:ident| $conv:expr) => {
        impl Cell for $t {
            fn column(capacity: usize) -> Column {
                Column::$variant(Vec::with_capacity(capacity))
            }
            fn push(self, column: &mut Column) -> bool {
                let $v = self;
                match column {
                    Column::$variant(values) => {
                        values.push($conv);
                        true
                    }
                    _ => false,
                }
            }
        }
    };
}

cell!(Text, &str, |v| Some(v.to_owned()));
cell!(Text, Option<&str>, |v| v.map(str::to_owned));
cell!(Text, String, |v| Some(v));
cell!(Text, Option<String>, |v| v);
cell!(Int, i32, |v| Some(v));
cell!(Int, Option<i32>, |v| v);
cell!(Big, i64, |v| Some(v));
cell!(Big, Option<i64>, |v| v);
cell!(Bool, bool, |v| Some(v));
cell!(Bool, Option<bool>, |v| v);
cell!(At, DateTime<Utc>, |v| Some(v));
cell!(At, Option<DateTime<Utc>>, |v| v);
cell!(Day, NaiveDate, |v| Some(v));

/// Rows collected column by column: `bind` each value of a row in column order, then
/// [`Columns::end_row`].
#[derive(Debug)]
pub(super) struct Columns {
    columns: Vec<Column>,
    next: usize,
    rows: usize,
    capacity: usize,
    /// A value of another type than its column's first row: a binding macro out of step.
    mixed: bool,
}

impl Columns {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { columns: Vec::new(), next: 0, rows: 0, capacity, mixed: false }
    }

    /// The next value of the current row (named as a query's, so the binding macros serve).
    pub fn bind<T: Cell>(mut self, value: T) -> Self {
        if self.next == self.columns.len() {
            if self.rows > 0 {
                // Every row has the same columns: a new one after the first row is a mistake.
                self.mixed = true;
                return self;
            }
            self.columns.push(T::column(self.capacity));
        }
        if !value.push(&mut self.columns[self.next]) {
            self.mixed = true;
        }
        self.next += 1;
        self
    }

    pub fn end_row(mut self) -> Self {
        if self.next != self.columns.len() {
            self.mixed = true;
        }
        self.next = 0;
        self.rows += 1;
        self
    }

    /// `unnest($1::text[], $2::int4[], …)`, as the source of an `INSERT … SELECT *`.
    pub fn unnest(&self) -> String {
        let args: Vec<String> =
            self.columns.iter().enumerate().map(|(i, c)| format!("${}::{}", i + 1, c.array_type())).collect();
        format!("unnest({})", args.join(", "))
    }

    /// Binds every column as an array on `query` (built from [`Columns::unnest`]).
    pub fn bind_to(
        self,
        mut query: Query<'_, Postgres, PgArguments>,
    ) -> Result<Query<'_, Postgres, PgArguments>, StoreError> {
        if self.mixed {
            return Err(StoreError::Corrupt("a multi-row write bound its values out of column order".into()));
        }
        for c in self.columns {
            query = match c {
                Column::Text(v) => query.bind(v),
                Column::Int(v) => query.bind(v),
                Column::Big(v) => query.bind(v),
                Column::Bool(v) => query.bind(v),
                Column::At(v) => query.bind(v),
                Column::Day(v) => query.bind(v),
            };
        }
        Ok(query)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_typed_columns_in_binding_order() {
        let mut c = Columns::with_capacity(2);
        for (code, n, late) in [("A", 1, Some(true)), ("B", 2, None)] {
            c = c.bind(code).bind(n).bind(late).end_row();
        }
        assert_eq!(c.unnest(), "unnest($1::text[], $2::int4[], $3::bool[])");
        match &c.columns[2] {
            Column::Bool(v) => assert_eq!(v, &[Some(true), None]),
            other => panic!("{other:?}"),
        }
        assert!(!c.mixed);
    }

    #[test]
    fn a_row_out_of_step_is_caught() {
        let c = Columns::with_capacity(2).bind("A").bind(1).end_row().bind(1).bind("A").end_row();
        assert!(c.mixed);
        let c = Columns::with_capacity(2).bind("A").bind(1).end_row().bind("B").end_row();
        assert!(c.mixed);
    }
}
