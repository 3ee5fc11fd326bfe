//! The engine: runs a connector's declared streams for one invocation and implements [`Function`].
//!
//! [`Engine::new`] wraps a [`Connector`]; per distinct `secrets` it builds the configuration and the HTTP client
//! once and caches them. Each sync call then: decodes the state, runs the selected streams in declaration order
//! (skipping those already done in this sync), fetches pages (concurrently when their number is known), shapes
//! records into rows, writes them into the sink while the byte and time budgets allow, and returns the rows with
//! the state that accounts for exactly those rows. The invocation ends with one summary log line (rows per table,
//! pages, requests, retries, bytes, stop reason; requests a previous call sent and handed on count in that call's
//! line). A call whose response fills up hands the page it stopped in and its requests still in flight to the next
//! call, which uses them only if it continues exactly there (`run::carry`).
//!
//! Ending rules: all streams done → `hasMore: false` and the `done` marks are cleared for the next sync. Stopped
//! by a budget or a quota with rows → `hasMore: true`. Stopped by a quota with **no rows** → `hasMore: false` with
//! the request's state unchanged and a `warn` line saying when the source accepts requests again; stopped by time
//! with no rows: the same when the state did not move, else `hasMore: true` with the moved state (streams with
//! nothing new finished). The engine never returns `hasMore: true` with no rows and an unchanged state.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::budget::TimeBudget;
use crate::connector::{Config, Connector, Endpoint, Vars};
use crate::error::{Error, Result};
use crate::fetch;
use crate::http::{Call, Http, Stats};
use crate::lambda::{Function, Invocation};
use crate::protocol::Request;
use crate::secrets::Secrets;
use crate::sink::{self, Payload, Sink};
use crate::storage::{S3Client, S3Config};

mod run;

/// How many distinct secrets objects keep a prepared configuration.
const CACHE_ENTRIES: usize = 4;

/// The engine for one connector: implements [`Function`], so `lambda::run(Engine::new(connector))` is a whole
/// Lambda function.
pub struct Engine<C> {
    connector: C,
    prepared: Mutex<Vec<(Secrets, Arc<Prepared>)>>,
    /// What the last call left for the next one (see `run::carry`).
    carry: Mutex<Option<run::carry::Carry>>,
    s3: OnceLock<S3Config>,
}

impl<C> std::fmt::Debug for Engine<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").finish_non_exhaustive()
    }
}

/// A configuration with everything built from it: the client, the table selection, the start date.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub config: Config,
    pub http: Http,
    pub selected: Option<BTreeSet<String>>,
    pub start_date: Option<DateTime<Utc>>,
}

impl Prepared {
    /// Whether `table` is synced.
    pub fn selected(&self, table: &str) -> bool {
        self.selected.as_ref().is_none_or(|s| s.contains(table))
    }

    /// Whether `stream` runs: its own table is synced, or one of its child tables, or (when it has a hook) one of
    /// the tables hooks write. Rows of tables not synced are dropped as the records are shaped.
    pub fn runs(&self, stream: &crate::connector::Stream) -> bool {
        self.selected(&stream.table.name)
            || stream.children.iter().any(|c| self.selected(&c.table.name))
            || (stream.hook.is_some() && self.config.tables.iter().any(|t| self.selected(&t.name)))
    }
}

impl<C: Connector> Engine<C> {
    /// Wraps a connector.
    pub fn new(connector: C) -> Self {
        Engine {
            connector,
            prepared: Mutex::new(Vec::new()),
            carry: Mutex::new(None),
            s3: OnceLock::new(),
        }
    }

    /// Uses `config` for `CLOUD_STORAGE` uploads instead of the Lambda environment (tests, local runs).
    pub fn with_s3_config(self, config: S3Config) -> Self {
        let _ = self.s3.set(config);
        self
    }

    /// The S3 configuration: from the environment on first use, so a function that never sees a `bucket` never
    /// reads it.
    fn s3_config(&self) -> &S3Config {
        self.s3.get_or_init(S3Config::from_env)
    }

    /// The prepared configuration for these secrets, built once.
    fn prepare(&self, secrets: &Secrets) -> Result<Arc<Prepared>> {
        {
            let cache = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((_, p)) = cache.iter().find(|(s, _)| s == secrets) {
                return Ok(p.clone());
            }
        }
        let mut config = self.connector.configure(secrets)?;
        let budget_override = std::env::var(crate::budget::BYTE_BUDGET_ENV).ok();
        config.budget = config.budget.with_override(budget_override.as_deref())?;
        if let Some(k) = concurrency(secrets)? {
            config.http.concurrency = k;
        }
        config.validate()?;
        let ca = secrets.optional("caCertificate")?;
        let http = Http::new(
            config.auth.clone(),
            config.http.clone(),
            ca.as_ref().map(|c| c.expose().as_str()),
        )?;
        let selected = table_selection(&config, secrets)?;
        let start_date = start_date(secrets)?;
        let prepared = Arc::new(Prepared {
            config,
            http,
            selected,
            start_date,
        });
        let mut cache = self.prepared.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.remove(0);
        }
        cache.push((secrets.clone(), prepared.clone()));
        Ok(prepared)
    }
}

impl<C: Connector> Function for Engine<C> {
    async fn setup_test(&self, request: &Request, invocation: &Invocation) -> Result<()> {
        let prepared = self.prepare(&request.secrets)?;
        let config = &prepared.config;
        let endpoints: Vec<&Endpoint> = if config.setup_test.is_empty() {
            config
                .streams
                .first()
                .map(|s| &s.endpoint)
                .into_iter()
                .collect()
        } else {
            config.setup_test.iter().collect()
        };
        if endpoints.is_empty() {
            return Err(Error::Declaration(
                "no setup-test request and no stream declared".into(),
            ));
        }
        let time = TimeBudget::new(invocation.deadline, Duration::from_secs(1));
        for endpoint in endpoints {
            let mut url = fetch::endpoint_url(&config.base_url, endpoint);
            let vars = Vars::default();
            for (name, value) in &endpoint.query {
                if let Some(value) = vars.render(value) {
                    url.query_pairs_mut().append_pair(name, &value);
                }
            }
            let body = endpoint
                .body
                .as_ref()
                .map(|b| serde_json::to_vec(b).map(bytes::Bytes::from))
                .transpose()
                .map_err(|e| Error::Declaration(format!("setup test body: {e}")))?;
            let call = Call {
                stream: "setup test",
                method: endpoint.method.clone(),
                url,
                body,
                headers: &endpoint.headers,
                records: None,
            };
            prepared.http.fetch(&call, &time, &Stats::default()).await?;
        }
        Ok(())
    }

    async fn sync(&self, request: Request, invocation: &Invocation) -> Result<Box<RawValue>> {
        tracing::debug!("sync call started");
        let prepared = self.prepare(&request.secrets)?;
        let sink = sink::for_request(&request, prepared.config.budget.bytes, invocation, || {
            S3Client::new(prepared.http.client().clone(), self.s3_config().clone())
        });
        run::Run::new(&prepared, &self.carry, request.state, invocation, sink)?
            .execute()
            .await
    }
}

/// The `tables` secret: which tables to sync (all when absent). Unknown names are an error listing the known ones.
fn table_selection(config: &Config, secrets: &Secrets) -> Result<Option<BTreeSet<String>>> {
    let Some(names) = secrets.list("tables")? else {
        return Ok(None);
    };
    let mut known = BTreeSet::new();
    for stream in &config.streams {
        known.insert(stream.table.name.clone());
        for child in &stream.children {
            known.insert(child.table.name.clone());
        }
    }
    for table in &config.tables {
        known.insert(table.name.clone());
    }
    let mut selected = BTreeSet::new();
    for name in names {
        if !known.contains(&name) {
            let list: Vec<&str> = known.iter().map(String::as_str).collect();
            return Err(Error::invalid_secret(
                "tables",
                format!(
                    "names unknown table `{name}`; known tables: {}",
                    list.join(", ")
                ),
            ));
        }
        selected.insert(name);
    }
    Ok(Some(selected))
}

/// The most requests in flight the `concurrency` secret may ask for.
const MAX_CONCURRENCY: usize = 32;

/// The `concurrency` secret: 1 to [`MAX_CONCURRENCY`] requests in flight while fetching ahead.
fn concurrency(secrets: &Secrets) -> Result<Option<usize>> {
    let expected = "a whole number from 1 to 32";
    match secrets.parsed::<usize>("concurrency", expected)? {
        Some(k) if !(1..=MAX_CONCURRENCY).contains(&k) => Err(Error::invalid_secret(
            "concurrency",
            format!("must be {expected}"),
        )),
        k => Ok(k),
    }
}

/// The `startDate` secret: RFC 3339 or `YYYY-MM-DD` (midnight UTC).
fn start_date(secrets: &Secrets) -> Result<Option<DateTime<Utc>>> {
    let Some(text) = secrets.optional("startDate")? else {
        return Ok(None);
    };
    let text = text.expose();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| Some(d.and_utc()))
        .ok_or_else(|| {
            Error::invalid_secret("startDate", "must be an RFC 3339 timestamp or YYYY-MM-DD")
        })
}

/// Why an invocation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Every selected stream finished.
    Done,
    /// The byte budget is full.
    Bytes,
    /// The time budget is spent.
    Time,
    /// The source's quota is exhausted for now.
    Quota,
}

impl Stop {
    fn as_str(self) -> &'static str {
        match self {
            Stop::Done => "done",
            Stop::Bytes => "byte budget",
            Stop::Time => "time budget",
            Stop::Quota => "quota",
        }
    }
}

/// Writes the summary line and builds the body.
pub(crate) async fn finish(
    sink: &dyn Sink,
    payload: Payload,
    state: &Map<String, Value>,
    has_more: bool,
    stop: Stop,
    stats: &Stats,
    pages: u64,
) -> Result<Box<RawValue>> {
    let rows: Vec<String> = payload
        .rows_per_table()
        .iter()
        .map(|(t, n)| format!("{t}={n}"))
        .collect();
    let body = sink.finish(payload, state, has_more).await?;
    tracing::info!(
        rows = %rows.join(","),
        pages,
        requests = stats.requests.load(Ordering::Relaxed),
        retries = stats.retries.load(Ordering::Relaxed),
        bytes = body.get().len(),
        stop = stop.as_str(),
        has_more,
        "sync call finished"
    );
    Ok(body)
}

/// Rows written by hooks this invocation, by table and key.
pub(crate) type HookKeys = HashSet<String>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Auth;
    use crate::connector::{Endpoint, Stream};
    use crate::protocol::Table;
    use serde_json::json;

    fn secrets(value: Value) -> Secrets {
        Secrets::new(value.as_object().cloned().unwrap())
    }

    fn config() -> Config {
        Config::new("http://127.0.0.1:9", Auth::None)
            .unwrap()
            .stream(Stream::new("a", &["id"], Endpoint::get("/a")))
            .table(Table::new("b", &["id"]))
    }

    #[test]
    fn the_table_list_is_checked() {
        assert_eq!(
            table_selection(&config(), &secrets(json!({}))).unwrap(),
            None
        );
        let s = table_selection(&config(), &secrets(json!({"tables": "a, b"})))
            .unwrap()
            .unwrap();
        assert_eq!(s.len(), 2);
        let error = table_selection(&config(), &secrets(json!({"tables": "a,c"}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid secret `tables`: names unknown table `c`; known tables: a, b"
        );
    }

    #[test]
    fn the_concurrency_secret_is_checked() {
        assert_eq!(concurrency(&secrets(json!({}))).unwrap(), None);
        assert_eq!(
            concurrency(&secrets(json!({"concurrency": "8"}))).unwrap(),
            Some(8)
        );
        for bad in [json!("0"), json!("33"), json!("many")] {
            let error = concurrency(&secrets(json!({ "concurrency": bad }))).unwrap_err();
            assert!(error.to_string().contains("concurrency"), "{error}");
        }
    }

    #[test]
    fn start_dates_take_two_forms() {
        let day = start_date(&secrets(json!({"startDate": "2026-01-15"})))
            .unwrap()
            .unwrap();
        assert_eq!(day.to_rfc3339(), "2026-01-15T00:00:00+00:00");
        let at = start_date(&secrets(json!({"startDate": "2026-01-15T10:00:00+02:00"})))
            .unwrap()
            .unwrap();
        assert_eq!(at.to_rfc3339(), "2026-01-15T08:00:00+00:00");
        assert!(start_date(&secrets(json!({"startDate": "last week"}))).is_err());
    }

    #[test]
    fn configuration_is_built_once_per_distinct_secrets() {
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = calls.clone();
        let engine = Engine::new(move |_: &Secrets| {
            counter.fetch_add(1, Ordering::SeqCst);
            Ok(config())
        });
        let one = secrets(json!({"k": "1"}));
        let two = secrets(json!({"k": "2"}));
        engine.prepare(&one).unwrap();
        engine.prepare(&one).unwrap();
        engine.prepare(&two).unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
