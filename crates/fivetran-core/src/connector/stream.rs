//! Streams and what shapes their rows: cursors, child tables, hooks, flattening, constants.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::Endpoint;
use crate::error::Result;
use crate::paginate::Pagination;
use crate::protocol::{Row, Table};

/// How a timestamp is written into a request parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorFormat {
    /// RFC 3339 in UTC with whole seconds: `2026-03-01T09:30:00Z`.
    Rfc3339,
    /// A `chrono` format string, in UTC (e.g. `%Y-%m-%d %H:%M:%S`).
    Strftime(String),
    /// Seconds since the Unix epoch.
    EpochSeconds,
}

impl CursorFormat {
    /// Formats an instant in UTC.
    pub fn format(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        self.format_at_offset(at, 0)
    }

    /// Formats an instant as local time at a fixed UTC offset (`offset_secs` east of UTC); RFC 3339 then carries
    /// the offset instead of `Z`.
    pub fn format_at_offset(&self, at: chrono::DateTime<chrono::Utc>, offset_secs: i32) -> String {
        let zone = chrono::FixedOffset::east_opt(offset_secs)
            .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc));
        let local = at.with_timezone(&zone);
        match self {
            CursorFormat::Rfc3339 if offset_secs == 0 => {
                at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            }
            CursorFormat::Rfc3339 => local.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
            CursorFormat::Strftime(f) => local.format(f).to_string(),
            CursorFormat::EpochSeconds => at.timestamp().to_string(),
        }
    }
}

/// An incremental cursor: the window `[previous sync's start − lookback, this sync's start]`, frozen per sync.
#[derive(Debug, Clone, PartialEq)]
pub struct Incremental {
    pub(crate) param: Option<String>,
    pub(crate) field: Option<String>,
    pub(crate) format: CursorFormat,
    pub(crate) lookback: Duration,
    pub(crate) initial: Option<String>,
    pub(crate) utc_offset: i32,
}

impl Incremental {
    /// The lower bound goes into `?{param}={since}` (RFC 3339 unless [`Incremental::format`] says otherwise).
    pub fn query(param: &str) -> Self {
        Incremental {
            param: Some(param.into()),
            ..Incremental::template()
        }
    }

    /// The lower bound is used only through `{since}` in the endpoint's query or body.
    pub fn template() -> Self {
        Incremental {
            param: None,
            field: None,
            format: CursorFormat::Rfc3339,
            lookback: Duration::from_secs(60),
            initial: None,
            utc_offset: 0,
        }
    }

    /// How the bound is written.
    pub fn format(mut self, format: CursorFormat) -> Self {
        self.format = format;
        self
    }

    /// How far before the previous sync's start the next window begins (default 60 s): covers clock skew and
    /// sources with a coarse or strict ("after") filter.
    pub fn lookback(mut self, lookback: Duration) -> Self {
        self.lookback = lookback;
        self
    }

    /// Records whose `field` is older than the window's lower bound are dropped (for endpoints without a
    /// server-side filter, e.g. GitHub pulls). The field is RFC 3339, or a date-time without an offset read as UTC
    /// (`2026-03-01T09:30:00`, WooCommerce's `*_gmt` fields); a missing or unreadable value keeps the record.
    pub fn filter_field(mut self, field: &str) -> Self {
        self.field = Some(field.into());
        self
    }

    /// Writes the bounds as local time at a fixed offset from UTC, in seconds east (e.g. `-8 * 3600`), for sources
    /// that compare in their own time zone (NetSuite's `TO_DATE` uses the account's). Daylight saving moves a real
    /// zone by an hour: keep the lookback above that.
    pub fn utc_offset(mut self, seconds_east: i32) -> Self {
        self.utc_offset = seconds_east;
        self
    }

    /// The `{since}` text when there is no lower bound yet (first sync without `startDate`), for bodies.
    pub fn initial(mut self, text: &str) -> Self {
        self.initial = Some(text.into());
        self
    }
}

/// What a stream emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Inserted (upserted) rows.
    Rows,
    /// Deleted rows (primary-key columns only).
    Deletes,
}

/// A nested array split out into its own table.
#[derive(Debug, Clone, PartialEq)]
pub struct Child {
    pub(crate) field: String,
    pub(crate) table: Table,
    pub(crate) parent_column: String,
}

impl Child {
    /// The array `field` becomes table `table`; each row gets the parent's key as `parent_column` (with several
    /// parent key columns: `parent_column`, `parent_column_2`, …); its key is `parent_column` + `key`.
    pub fn new(field: &str, table: &str, parent_column: &str, key: &[&str]) -> Self {
        let mut pk = vec![parent_column];
        pk.extend_from_slice(key);
        Child {
            field: field.into(),
            table: Table::new(table, &pk),
            parent_column: parent_column.into(),
        }
    }
}

/// A per-record hook: edits the record and may emit rows into tables declared with [`Config::table`](super::Config::table).
pub type Hook = Arc<dyn Fn(&mut Row, &mut Emit) -> Result<()> + Send + Sync>;

/// Rows a hook emits into other tables. Rows with the same key are written once per invocation.
#[derive(Debug, Default)]
pub struct Emit {
    pub(crate) rows: Vec<(String, Row)>,
}

impl Emit {
    /// Emits a row into `table` (declared with [`Config::table`](super::Config::table)).
    pub fn insert(&mut self, table: &str, row: Row) {
        self.rows.push((table.to_owned(), row));
    }
}

/// One stream: a table filled from one paginated endpoint.
#[derive(Clone)]
pub struct Stream {
    pub(crate) table: Table,
    pub(crate) key: String,
    pub(crate) kind: Kind,
    pub(crate) endpoint: Endpoint,
    pub(crate) records: String,
    pub(crate) pagination: Pagination,
    pub(crate) incremental: Option<Incremental>,
    pub(crate) children: Vec<Child>,
    pub(crate) flatten: Vec<String>,
    pub(crate) constants: Vec<(String, Value)>,
    pub(crate) exclude: Vec<String>,
    pub(crate) hook: Option<Hook>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("table", &self.table.name)
            .field("key", &self.key)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// A stream filling `table` (primary key `primary_key`) from `endpoint`, one page, records at the top level.
    pub fn new(table: &str, primary_key: &[&str], endpoint: Endpoint) -> Self {
        Stream {
            table: Table::new(table, primary_key),
            key: table.into(),
            kind: Kind::Rows,
            endpoint,
            records: String::new(),
            pagination: Pagination::single(),
            incremental: None,
            children: Vec::new(),
            flatten: Vec::new(),
            constants: Vec::new(),
            exclude: Vec::new(),
            hook: None,
        }
    }

    /// A stream of deleted records of `table`: each record's key columns become a delete.
    pub fn deletes(table: &str, primary_key: &[&str], endpoint: Endpoint) -> Self {
        Stream {
            kind: Kind::Deletes,
            key: format!("{table}:deleted"),
            ..Stream::new(table, primary_key, endpoint)
        }
    }

    /// Deletes of this stream's table are soft (`_fivetran_deleted = true`).
    pub fn soft_deletes(mut self) -> Self {
        self.table = self.table.soft_deletes();
        self
    }

    /// The key of this stream's entry in the state (default: the table name). Streams sharing a table (one per
    /// GitHub repository) need distinct keys.
    pub fn state_key(mut self, key: &str) -> Self {
        self.key = key.into();
        self
    }

    /// Where the records array is in the body (a JSON pointer; `""`, the default, for a top-level array).
    pub fn records(mut self, pointer: &str) -> Self {
        self.records = pointer.into();
        self
    }

    /// The pagination (default: a single request).
    pub fn paginate(mut self, pagination: Pagination) -> Self {
        self.pagination = pagination;
        self
    }

    /// The incremental cursor (default: the whole collection each sync).
    pub fn incremental(mut self, incremental: Incremental) -> Self {
        self.incremental = Some(incremental);
        self
    }

    /// Splits a nested array into a child table.
    pub fn child(mut self, child: Child) -> Self {
        self.children.push(child);
        self
    }

    /// Flattens a nested object: `field: {a, b}` becomes columns `field_a`, `field_b` (`null` stays `field: null`).
    pub fn flatten(mut self, field: &str) -> Self {
        self.flatten.push(field.into());
        self
    }

    /// Leaves a column out of the stream's rows (e.g. NetSuite's per-item `links`), after the hook has seen it.
    pub fn exclude(mut self, column: &str) -> Self {
        self.exclude.push(column.into());
        self
    }

    /// Adds a constant column to every row (e.g. GitHub's `repository`).
    pub fn constant(mut self, column: &str, value: impl Into<Value>) -> Self {
        self.constants.push((column.into(), value.into()));
        self
    }

    /// A per-record hook, run after children are split out and before flattening.
    pub fn map<F>(mut self, hook: F) -> Self
    where
        F: Fn(&mut Row, &mut Emit) -> Result<()> + Send + Sync + 'static,
    {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// The destination table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The state key.
    pub fn key(&self) -> &str {
        &self.key
    }
}
