//! How a connector is declared: a [`Config`] built from the request's secrets, holding the base URL, the auth,
//! HTTP settings, the setup-test request and the [`Stream`]s.
//!
//! A connector implements [`Connector`] (or passes a closure `Fn(&Secrets) -> Result<Config>`), and the engine
//! does the rest: requests, retries, paging, budgets, state. `configure` runs once per distinct `secrets` object
//! (per cold start, in practice), so parsing and validation happen once.
//!
//! ```
//! use std::time::Duration;
//! use fivetran_core::auth::Auth;
//! use fivetran_core::connector::{Child, Config, Endpoint, Incremental, Stream};
//! use fivetran_core::paginate::{Pagination, Total};
//! use fivetran_core::{Result, Secrets};
//!
//! fn configure(secrets: &Secrets) -> Result<Config> {
//!     let size = secrets.parsed::<u64>("pageSize", "a whole number")?.unwrap_or(100);
//!     let applications = Stream::new("loan_applications", &["id"], Endpoint::get("/v1/loan-applications"))
//!         .records("/data")
//!         .paginate(
//!             Pagination::page_number("page")
//!                 .size("page_size", size)
//!                 .total_pages(Total::Body("/pagination/total_pages".into()))
//!                 .key_ordered("id"),
//!         )
//!         .incremental(Incremental::query("updated_since").lookback(Duration::from_secs(300)))
//!         .flatten("amount")
//!         .child(Child::new("applicants", "applicants", "loan_application_id", &["id"]));
//!     Ok(Config::new(&secrets.required("baseUrl")?.expose(), Auth::Bearer(secrets.required("apiKey")?))?
//!         .setup_test(Endpoint::get("/v1/loan-applications").query("page_size", "1"))
//!         .stream(applications))
//! }
//! ```
//!
//! **Requests.** An [`Endpoint`] is a method, a path (joined to the base URL), query parameters, headers and an
//! optional JSON body. Query values and body strings may contain the template values `{since}` (the frozen lower
//! bound of the incremental window), `{until}` (the window's frozen start time) and `{after}` (the keyset value).
//! A query parameter whose template value is unknown (no cursor yet) is left out; in a body, `{since}` falls back to
//! [`Incremental::initial`] and `{after}` to [`Pagination::after_initial`](crate::paginate::Pagination::after_initial).
//!
//! **Rows.** Records are found at a JSON pointer ([`Stream::records`], `""` for a top-level array). Each record
//! goes through, in order: child arrays split into their tables ([`Child`], child key = parent key columns + the
//! child's own key), the stream's hook ([`Stream::map`], which may also emit rows into tables declared with
//! [`Config::table`]), flattening of nested objects (`amount` → `amount_value`, `amount_currency`), and constant
//! columns ([`Stream::constant`]). Other nested values stay JSON columns.
//!
//! **Generic secrets.** Every connector accepts `startDate` (RFC 3339 or `YYYY-MM-DD`; the first sync's lower bound
//! for incremental streams), `tables` (comma-separated table names; only those are synced, children and hook tables
//! included only when named) and `caCertificate` (PEM; an extra trusted root for the upstream API).

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value};
use url::Url;

use crate::auth::Auth;
use crate::budget::BudgetSettings;
use crate::error::{Error, Result};
use crate::http::HttpSettings;
use crate::paginate::Pagination;
use crate::protocol::{Row, Table};
use crate::secrets::Secrets;

/// A connector: turns the request's secrets into its configuration.
pub trait Connector: Send + Sync + 'static {
    /// Builds the configuration. Called once per distinct `secrets` object; errors name the secret at fault.
    fn configure(&self, secrets: &Secrets) -> Result<Config>;
}

impl<F> Connector for F
where
    F: Fn(&Secrets) -> Result<Config> + Send + Sync + 'static,
{
    fn configure(&self, secrets: &Secrets) -> Result<Config> {
        self(secrets)
    }
}

/// A connector's whole declaration for one set of secrets.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) base_url: Url,
    pub(crate) auth: Auth,
    pub(crate) http: HttpSettings,
    pub(crate) budget: BudgetSettings,
    pub(crate) setup_test: Option<Endpoint>,
    pub(crate) streams: Vec<Stream>,
    pub(crate) tables: Vec<Table>,
}

impl Config {
    /// A configuration for an API at `base_url` (an `http`/`https` URL; a path prefix is kept).
    pub fn new(base_url: &str, auth: Auth) -> Result<Self> {
        let base_url = parse_base_url(base_url)?;
        Ok(Config {
            base_url,
            auth,
            http: HttpSettings::default(),
            budget: BudgetSettings::default(),
            setup_test: None,
            streams: Vec::new(),
            tables: Vec::new(),
        })
    }

    /// Adds a header to every request (e.g. `Accept`, `User-Agent`, `X-GitHub-Api-Version`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        let name = name.to_ascii_lowercase();
        self.http.headers.retain(|(n, _)| *n != name);
        self.http.headers.push((name, value.into()));
        self
    }

    /// A client-side rate limit in requests per second.
    pub fn rate_limit(mut self, requests_per_second: f64) -> Self {
        self.http.rate_limit = Some(requests_per_second);
        self
    }

    /// How many pages may be fetched at once when the number of pages is known (default 4).
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.http.concurrency = pages.max(1);
        self
    }

    /// Replaces all HTTP settings (timeouts, retries, caps); headers set before are kept unless `settings` has some.
    pub fn http(mut self, mut settings: HttpSettings) -> Self {
        if settings.headers.is_empty() {
            settings.headers = std::mem::take(&mut self.http.headers);
        }
        self.http = settings;
        self
    }

    /// Replaces the budget settings (byte budget, time margin).
    pub fn budget(mut self, budget: BudgetSettings) -> Self {
        self.budget = budget;
        self
    }

    /// The cheap authenticated request of the setup test.
    pub fn setup_test(mut self, endpoint: Endpoint) -> Self {
        self.setup_test = Some(endpoint);
        self
    }

    /// Adds a stream. Streams run in the order they are added.
    pub fn stream(mut self, stream: Stream) -> Self {
        self.streams.push(stream);
        self
    }

    /// Declares a table that hooks fill through [`Emit::insert`] (e.g. `advisors`).
    pub fn table(mut self, table: Table) -> Self {
        self.tables.push(table);
        self
    }

    /// The streams, in order.
    pub fn streams(&self) -> &[Stream] {
        &self.streams
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Checks the declaration for mistakes a connector author can make (caught at the first call).
    pub(crate) fn validate(&self) -> Result<()> {
        self.budget.validate()?;
        let mut keys = std::collections::HashSet::new();
        for stream in &self.streams {
            stream.pagination.validate(&stream.key)?;
            if !keys.insert(stream.key.as_str()) {
                return Err(Error::Declaration(format!(
                    "two streams share the state key `{}`; give one a `state_key`",
                    stream.key
                )));
            }
        }
        Ok(())
    }
}

/// Parses a base URL; the error names the usual secret, `baseUrl`.
pub fn parse_base_url(text: &str) -> Result<Url> {
    let url = Url::parse(text.trim())
        .map_err(|_| Error::invalid_secret("baseUrl", "is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(Error::invalid_secret(
            "baseUrl",
            "must be an http:// or https:// URL with a host",
        ));
    }
    Ok(url)
}

/// One request template: method, path, query, headers and an optional JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub(crate) method: Method,
    pub(crate) path: String,
    pub(crate) query: Vec<(String, String)>,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Option<Value>,
}

impl Endpoint {
    /// A `GET` of `path` (joined to the base URL).
    pub fn get(path: &str) -> Self {
        Endpoint {
            method: Method::GET,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A `POST` of `path` with a JSON body (strings in it may hold `{since}`, `{until}`, `{after}`).
    pub fn post(path: &str, body: Value) -> Self {
        Endpoint {
            method: Method::POST,
            body: Some(body),
            ..Endpoint::get(path)
        }
    }

    /// Adds a query parameter (the value may hold `{since}`, `{until}`, `{after}`).
    pub fn query(mut self, name: &str, value: &str) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// Adds a header for this endpoint only (e.g. NetSuite's `Prefer: transient`).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
}

/// The template values of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Vars<'a> {
    pub since: Option<&'a str>,
    pub until: Option<&'a str>,
    pub after: Option<&'a str>,
}

impl Vars<'_> {
    /// Renders `{since}`, `{until}`, `{after}` in `text`; `None` when a used value is unknown.
    pub fn render(&self, text: &str) -> Option<String> {
        if !text.contains('{') {
            return Some(text.to_owned());
        }
        let mut out = text.to_owned();
        for (name, value) in [
            ("{since}", self.since),
            ("{until}", self.until),
            ("{after}", self.after),
        ] {
            if out.contains(name) {
                out = out.replace(name, value?);
            }
        }
        Some(out)
    }

    /// Renders every string inside a JSON body.
    pub fn render_json(&self, value: &Value, stream: &str) -> Result<Value> {
        Ok(match value {
            Value::String(s) => Value::String(self.render(s).ok_or_else(|| {
                Error::Declaration(format!(
                    "stream `{stream}`: the body uses a template value with no initial value"
                ))
            })?),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_json(v, stream))
                    .collect::<Result<_>>()?,
            ),
            Value::Object(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.render_json(v, stream)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

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
    /// Formats an instant.
    pub fn format(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        match self {
            CursorFormat::Rfc3339 => at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
            CursorFormat::Strftime(f) => at.format(f).to_string(),
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

    /// Records whose RFC 3339 `field` is older than the window's lower bound are dropped (for endpoints without a
    /// server-side filter, e.g. GitHub pulls).
    pub fn filter_field(mut self, field: &str) -> Self {
        self.field = Some(field.into());
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

/// A per-record hook: edits the record and may emit rows into tables declared with [`Config::table`].
pub type Hook = Arc<dyn Fn(&mut Row, &mut Emit) -> Result<()> + Send + Sync>;

/// Rows a hook emits into other tables. Rows with the same key are written once per invocation.
#[derive(Debug, Default)]
pub struct Emit {
    pub(crate) rows: Vec<(String, Row)>,
}

impl Emit {
    /// Emits a row into `table` (declared with [`Config::table`]).
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_known_values_and_report_unknown_ones() {
        let vars = Vars {
            since: Some("2026-01-01T00:00:00Z"),
            until: None,
            after: Some("17"),
        };
        assert_eq!(vars.render("id > {after}").as_deref(), Some("id > 17"));
        assert_eq!(vars.render("{until}"), None);
        let body = json!({"q": "SELECT * WHERE id > {after} AND d >= '{since}'"});
        assert_eq!(
            vars.render_json(&body, "s").unwrap(),
            json!({"q": "SELECT * WHERE id > 17 AND d >= '2026-01-01T00:00:00Z'"})
        );
        assert!(vars.render_json(&json!(["{until}"]), "s").is_err());
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(parse_base_url("https://api.example/v1").is_ok());
        let error = parse_base_url("ftp://x").unwrap_err().to_string();
        assert!(error.contains("baseUrl"), "{error}");
        assert!(parse_base_url("not a url").is_err());
    }

    #[test]
    fn cursor_formats() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-03-01T09:30:00.5Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(CursorFormat::Rfc3339.format(at), "2026-03-01T09:30:00Z");
        assert_eq!(CursorFormat::EpochSeconds.format(at), "1772357400");
        assert_eq!(
            CursorFormat::Strftime("%Y-%m-%d %H:%M:%S".into()).format(at),
            "2026-03-01 09:30:00"
        );
    }

    #[test]
    fn duplicate_state_keys_are_a_declaration_error() {
        let config = Config::new("http://127.0.0.1:1", Auth::None)
            .unwrap()
            .stream(Stream::new("t", &["id"], Endpoint::get("/a")))
            .stream(Stream::new("t", &["id"], Endpoint::get("/b")));
        assert!(
            config
                .validate()
                .unwrap_err()
                .to_string()
                .contains("state key `t`")
        );
    }
}
