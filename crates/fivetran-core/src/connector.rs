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
//! [`Config::table`]), flattening of nested objects (`amount` → `amount_value`, `amount_currency`), excluded
//! columns ([`Stream::exclude`]) and constant columns ([`Stream::constant`]). Other nested values stay JSON columns.
//!
//! **Values pass through as sent.** Records are not rebuilt as JSON trees: every column value is copied from the
//! response text as it came, so integers beyond `u64` and long decimals keep every digit. Rows that go through a
//! hook ([`Stream::map`]) are `serde_json` values: integers within `i64`/`u64` stay
//! exact, larger ones become the nearest `f64`.
//!
//! **Recipes.** How the project's APIs map onto declarations (each compiles as a test of this page):
//!
//! ```
//! # use std::time::Duration;
//! # use fivetran_core::auth::Auth;
//! # use fivetran_core::connector::{Child, Config, CursorFormat, Endpoint, Incremental, Stream};
//! # use fivetran_core::paginate::{Pagination, Total};
//! # use fivetran_core::protocol::Table;
//! # use fivetran_core::{Result, Secrets};
//! # use serde_json::{json, Value};
//! // Loan API: page numbers over id order with the deletion-shift check, an advisor hook, soft deletes.
//! fn loan(s: &Secrets) -> Result<Config> {
//!     let pages = || Pagination::page_number("page").size("page_size", 100)
//!         .total_pages(Total::Body("/pagination/total_pages".into()));
//!     Ok(Config::new(s.required("baseUrl")?.expose(), Auth::Bearer(s.required("apiKey")?))?
//!         .table(Table::new("advisors", &["id"]))
//!         .stream(Stream::new("loan_applications", &["id"], Endpoint::get("/v1/loan-applications"))
//!             .records("/data").paginate(pages().key_ordered("id"))
//!             .incremental(Incremental::query("updated_since"))
//!             .flatten("amount")
//!             .child(Child::new("applicants", "applicants", "loan_application_id", &["id"]))
//!             .map(|row, emit| {
//!                 let advisor = row.remove("advisor").unwrap_or(Value::Null);
//!                 row.insert("advisor_id".into(), advisor.get("id").cloned().unwrap_or(Value::Null));
//!                 if let Value::Object(a) = advisor { emit.insert("advisors", a) }
//!                 Ok(())
//!             }))
//!         .stream(Stream::deletes("loan_applications", &["id"], Endpoint::get("/v1/loan-applications/deleted"))
//!             .soft_deletes().records("/data").paginate(pages())
//!             .incremental(Incremental::query("since"))))
//! }
//! // WooCommerce: id order, `modified_after` frozen per sync (strictly "after": the lookback covers it),
//! // page count from `X-WP-TotalPages` (pages fetched concurrently).
//! fn woo(s: &Secrets) -> Result<Config> {
//!     let list = |path: &str| Endpoint::get(path).query("orderby", "id").query("order", "asc");
//!     let pages = || Pagination::page_number("page").size("per_page", 100)
//!         .total_pages(Total::Header("X-WP-TotalPages".into()));
//!     let base = format!("{}/wp-json/wc/v3", s.required("storeUrl")?.expose().trim_end_matches('/'));
//!     let auth = Auth::Basic { username: s.required("consumerKey")?, password: s.required("consumerSecret")? };
//!     Ok(Config::new(&base, auth)?
//!         .stream(Stream::new("orders", &["id"], list("/orders").query("dates_are_gmt", "true"))
//!             .paginate(pages()).incremental(Incremental::query("modified_after"))
//!             .child(Child::new("line_items", "order_line_items", "order_id", &["id"])))
//!         .stream(Stream::new("customers", &["id"], list("/customers")).paginate(pages())))
//! }
//! // NetSuite SuiteQL: POST, keyset on id with a frozen lower bound inside the query, `hasMore` flag.
//! fn netsuite(s: &Secrets) -> Result<Config> {
//!     let mut config = Config::new("https://123-sb1.suitetalk.api.netsuite.com", Auth::None)?;
//!     for record in s.list("recordTypes")?.unwrap_or_else(|| vec!["customer".into()]) {
//!         let q = format!("SELECT * FROM {record} WHERE id > {{after}} AND lastmodifieddate >= \
//!                          TO_DATE('{{since}}', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id");
//!         config = config.stream(
//!             Stream::new(&record, &["id"], Endpoint::post("/services/rest/query/v1/suiteql", json!({"q": q}))
//!                 .header("Prefer", "transient"))
//!             .records("/items").exclude("links")
//!             .paginate(Pagination::keyset("id").after_initial("0").size("limit", 1000).has_more("/hasMore"))
//!             // TO_DATE reads account-local time: write the bound at the account's offset (here UTC−8).
//!             .incremental(Incremental::template().initial("1970-01-01 00:00:00").utc_offset(-8 * 3600)
//!                 .format(CursorFormat::Strftime("%Y-%m-%d %H:%M:%S".into()))));
//!     }
//!     Ok(config)
//! }
//! // GitHub: one stream per repository into a shared table, `Link` paging in creation order, frozen `since`.
//! fn github(s: &Secrets) -> Result<Config> {
//!     let mut config = Config::new("https://api.github.com", Auth::Bearer(s.required("token")?))?
//!         .header("Accept", "application/vnd.github+json").header("X-GitHub-Api-Version", "2022-11-28");
//!     for repo in s.list("repositories")?.unwrap_or_default() {
//!         config = config.stream(
//!             Stream::new("issues", &["id"], Endpoint::get(&format!("/repos/{repo}/issues"))
//!                 .query("state", "all").query("sort", "created").query("direction", "asc").query("per_page", "100"))
//!             .state_key(&format!("issues:{repo}")).paginate(Pagination::link_header())
//!             .incremental(Incremental::query("since")).constant("repository", repo.as_str()));
//!     }
//!     Ok(config)
//! }
//! # let secrets = Secrets::new(json!({"baseUrl": "https://api.lender.example", "apiKey": "k",
//! #     "storeUrl": "https://shop.example", "consumerKey": "ck", "consumerSecret": "cs",
//! #     "recordTypes": "customer,item", "token": "t", "repositories": "octo/a,octo/b"}).as_object().unwrap().clone());
//! # assert_eq!(loan(&secrets)?.streams().len(), 2);
//! # assert_eq!(woo(&secrets)?.streams().len(), 2);
//! # assert_eq!(netsuite(&secrets)?.streams().len(), 2);
//! # assert_eq!(github(&secrets)?.streams().len(), 2);
//! # Ok::<(), fivetran_core::Error>(())
//! ```
//!
//! **Generic secrets.** Every connector accepts `startDate` (RFC 3339 or `YYYY-MM-DD`; the first sync's lower bound for
//! incremental streams), `tables` (comma-separated table names; only those are synced, children and hook tables
//! included only when named; a child or hook table named without its parent still reads the parent's stream),
//! `caCertificate` (PEM; an extra trusted root for the upstream API) and `concurrency` (1 to 32: requests in flight at
//! once while fetching ahead; overrides [`Config::concurrency`] for a source that allows more, or fewer, than the
//! connector declares).

use reqwest::Method;
use serde_json::{Map, Value};
use url::Url;

use crate::auth::Auth;
use crate::budget::BudgetSettings;
use crate::error::{Error, Result};
use crate::http::HttpSettings;
use crate::protocol::Table;
use crate::secrets::Secrets;

mod stream;

pub use stream::{Child, CursorFormat, Emit, Hook, Incremental, Kind, Stream};

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
    pub(crate) setup_test: Vec<Endpoint>,
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
            setup_test: Vec::new(),
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

    /// How many pages may be fetched at once when the number of pages is known (default 4; the `concurrency`
    /// secret overrides it).
    pub fn concurrency(mut self, pages: usize) -> Self {
        self.http.concurrency = pages.max(1);
        self
    }

    /// Replaces the HTTP settings (timeouts, retries, caps, rate limit, concurrency). Headers set with
    /// [`Config::header`] are kept; `settings.headers` are added where no header of that name is set.
    pub fn http(mut self, settings: HttpSettings) -> Self {
        let mut headers = std::mem::take(&mut self.http.headers);
        for (name, value) in settings.headers.iter() {
            let name = name.to_ascii_lowercase();
            if !headers.iter().any(|(n, _)| *n == name) {
                headers.push((name, value.clone()));
            }
        }
        self.http = HttpSettings {
            headers,
            ..settings
        };
        self
    }

    /// Replaces the budget settings (byte budget, time margin).
    pub fn budget(mut self, budget: BudgetSettings) -> Self {
        self.budget = budget;
        self
    }

    /// A cheap authenticated request of the setup test. Each call adds one (a connector of several accounts or
    /// repositories checks each); the setup test sends them in order and fails with the first that fails. Without
    /// any, it requests the first stream's endpoint.
    pub fn setup_test(mut self, endpoint: Endpoint) -> Self {
        self.setup_test.push(endpoint);
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
        let pacific = -8 * 3600;
        assert_eq!(
            CursorFormat::Strftime("%Y-%m-%d %H:%M:%S".into()).format_at_offset(at, pacific),
            "2026-03-01 01:30:00"
        );
        assert_eq!(
            CursorFormat::Rfc3339.format_at_offset(at, pacific),
            "2026-03-01T01:30:00-08:00"
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
