//! Plays Fivetran: sends requests, loops while `hasMore`, checks every response, writes the warehouse, and stops
//! clearly — after an error, a crash, a timeout, a protocol violation, more than `max_empty` consecutive empty
//! responses, or `max_calls` calls. The state moves only after a call that passed every check and was written.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::check::{self, MAX_RESPONSE_BYTES, Rule, Verdict, Violation};
use crate::error::Result;
use crate::host::{FunctionHost, Outcome};
use crate::request::{RequestTemplate, SyncMethod};
use crate::warehouse::{TableCounts, Warehouse};

/// How a sync runs.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Everything of the request but the state.
    pub request: RequestTemplate,
    /// Direct or through S3.
    pub method: SyncMethod,
    /// Stop after this many calls even if `hasMore` is still true.
    pub max_calls: u64,
    /// Fail after more than this many consecutive responses without rows (Fivetran's limit is 10).
    pub max_empty: u32,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            request: RequestTemplate::default(),
            method: SyncMethod::Direct,
            max_calls: 1000,
            max_empty: 10,
        }
    }
}

/// Progress after each call.
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    /// Calls so far.
    pub call: u64,
    /// Rows this call.
    pub call_rows: u64,
    /// Rows so far.
    pub rows: u64,
    /// Response bytes so far.
    pub bytes: u64,
    /// Time since the sync began.
    pub elapsed: Duration,
    /// The call's `hasMore`.
    pub has_more: bool,
    /// `true` when the call was just sent and its answer is awaited (`call_rows` and `has_more` are not known yet).
    pub waiting: bool,
}

/// Why a sync stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Stop {
    /// The function returned `hasMore: false`.
    Done,
    /// The call limit was reached with `hasMore` still true.
    MaxCalls {
        /// The limit.
        limit: u64,
    },
    /// A call failed; its changes and state were not written.
    Failed {
        /// The failed call's number.
        call: u64,
        /// What kind of failure.
        cause: Cause,
        /// A message naming the cause.
        message: String,
    },
}

/// The kind of a failed call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    /// An error through the Runtime API's error channel, or an `errorMessage` body.
    FunctionError,
    /// The function failed its initialisation.
    InitError,
    /// The process exited without answering.
    Crash,
    /// The deadline passed.
    Timeout,
    /// The response broke a protocol rule.
    Violation,
    /// Too many consecutive empty responses.
    TooManyEmpty,
    /// The warehouse refused the changes.
    Warehouse,
    /// The process could not be (re)started.
    StartFailed,
    /// The `CLOUD_STORAGE` object could not be read.
    CloudStorage,
}

/// One table's totals over the sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TableSummary {
    /// What was written (for `check`: rows received, counted as inserted or deleted).
    #[serde(flatten)]
    pub counts: TableCounts,
    /// Rows in the warehouse table after the sync (absent without a warehouse).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_now: Option<u64>,
}

/// Everything a sync did, for people (see [`crate::output`]) and machines (`--json`).
#[derive(Debug, Clone, Serialize)]
pub struct SyncReport {
    /// The function name.
    pub function: String,
    /// The warehouse file, when one was written.
    pub warehouse: Option<PathBuf>,
    /// The connection name, when a warehouse was written.
    pub connection: Option<String>,
    /// The `sync_id` sent.
    pub sync_id: Option<String>,
    /// Calls made (the failed one included).
    pub calls: u64,
    /// Rows received in successful calls.
    pub rows: u64,
    /// Response bytes received.
    pub bytes: u64,
    /// Wall time.
    pub elapsed_ms: u64,
    /// Processes started (more than 1 after a crash or a timeout).
    pub processes: u64,
    /// Totals by table.
    pub tables: BTreeMap<String, TableSummary>,
    /// The state after the last successful call (what is stored).
    pub state: Map<String, Value>,
    /// Why it stopped.
    pub stop: Stop,
    /// Protocol violations of the failed call.
    pub violations: Vec<Violation>,
    /// Non-fatal findings.
    pub warnings: Vec<Violation>,
}

impl SyncReport {
    /// Whether the sync ended with `hasMore: false`.
    pub fn is_done(&self) -> bool {
        self.stop == Stop::Done
    }
}

/// Runs a sync. With a warehouse, the state comes from it and every call's changes go to it; without one (`check`),
/// `start_state` is used and nothing is written.
pub async fn run(
    host: &mut FunctionHost,
    mut warehouse: Option<&mut Warehouse>,
    start_state: Map<String, Value>,
    options: &SyncOptions,
    progress: &mut dyn FnMut(&Progress),
) -> Result<SyncReport> {
    let started = Instant::now();
    let mut state = match warehouse.as_deref() {
        Some(w) => w.state()?,
        None => start_state,
    };
    let mut known_tables = match warehouse.as_deref() {
        Some(w) => w.primary_keys()?,
        None => check::KnownTables::new(),
    };
    let sync_id = options.request.sync_id.clone();
    let mut report = SyncReport {
        function: host.function_name().to_owned(),
        warehouse: warehouse.as_deref().map(|w| w.path().to_owned()),
        connection: warehouse.as_deref().map(|w| w.connection().to_owned()),
        sync_id: sync_id.clone(),
        calls: 0,
        rows: 0,
        bytes: 0,
        elapsed_ms: 0,
        processes: 0,
        tables: BTreeMap::new(),
        state: state.clone(),
        stop: Stop::Done,
        violations: Vec::new(),
        warnings: Vec::new(),
    };
    let mut empty_streak = 0_u32;
    let stop = loop {
        if report.calls >= options.max_calls {
            break Stop::MaxCalls {
                limit: options.max_calls,
            };
        }
        report.calls += 1;
        let call = report.calls;
        let object_key = match &options.method {
            SyncMethod::Direct => None,
            SyncMethod::CloudStorage {
                bucket, key_prefix, ..
            } => Some((
                bucket.clone(),
                format!(
                    "{key_prefix}{}/{call:06}.json",
                    sync_id.as_deref().unwrap_or("sync")
                ),
            )),
        };
        let payload = options.request.build(
            &state,
            object_key.as_ref().map(|(b, k)| (b.as_str(), k.as_str())),
        );
        progress(&Progress {
            call,
            call_rows: 0,
            rows: report.rows,
            bytes: report.bytes,
            elapsed: started.elapsed(),
            has_more: true,
            waiting: true,
        });
        let invocation = host.invoke(&payload).await;
        let fail = |cause, message: String| Stop::Failed {
            call,
            cause,
            message,
        };
        let body = match invocation.outcome {
            Outcome::Response(body) => body,
            other => {
                let cause = match &other {
                    Outcome::FunctionError(_) => Cause::FunctionError,
                    Outcome::InitError(_) => Cause::InitError,
                    Outcome::Crashed { .. } => Cause::Crash,
                    Outcome::TimedOut { .. } => Cause::Timeout,
                    _ => Cause::StartFailed,
                };
                break fail(cause, other.to_string());
            }
        };
        report.bytes += body.len() as u64;
        let body = match (&options.method, object_key) {
            (SyncMethod::CloudStorage { store, .. }, Some((bucket, key))) => {
                if body.len() > MAX_RESPONSE_BYTES {
                    report.violations.push(Violation {
                        call,
                        table: None,
                        rule: Rule::Size,
                        detail: format!(
                            "the response is {} bytes; Lambda's limit is {MAX_RESPONSE_BYTES}",
                            body.len()
                        ),
                    });
                    break fail(
                        Cause::Violation,
                        "the response broke the protocol".to_owned(),
                    );
                }
                match store.fetch(&bucket, &key).await {
                    Ok(object) => match merge_cloud_payload(&body, &object) {
                        Ok(merged) => merged,
                        Err(message) => {
                            break fail(
                                Cause::CloudStorage,
                                format!("s3://{bucket}/{key}: {message}"),
                            );
                        }
                    },
                    Err(message) => break fail(Cause::CloudStorage, message),
                }
            }
            _ => body,
        };
        let checked = match check::check_response(call, &body, &state, &mut known_tables) {
            Verdict::Ok(checked) => checked,
            Verdict::ErrorBody {
                error_type,
                message,
            } => {
                let kind = error_type.map(|t| format!("{t}: ")).unwrap_or_default();
                break fail(
                    Cause::FunctionError,
                    format!("the function returned an error in its body: {kind}{message}"),
                );
            }
            Verdict::Violations(found) => {
                let (fatal, warnings): (Vec<_>, Vec<_>) =
                    found.into_iter().partition(|v| v.rule.is_fatal());
                let message = fatal
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n");
                report.violations = fatal;
                report.warnings.extend(warnings);
                break fail(Cause::Violation, message);
            }
        };
        report.warnings.extend(checked.warnings.iter().cloned());
        let counts = match warehouse.as_deref_mut() {
            Some(w) => {
                let batch = format!("{}-{call:06}", sync_id.as_deref().unwrap_or("sync"));
                match w.apply(&checked.changes, &checked.state, &batch, chrono::Utc::now()) {
                    Ok(counts) => counts,
                    Err(e) => {
                        break fail(
                            Cause::Warehouse,
                            format!("the warehouse refused call {call}'s changes: {e}"),
                        );
                    }
                }
            }
            None => received_counts(&checked.changes),
        };
        for (table, c) in counts {
            report.tables.entry(table).or_default().counts.add(c);
        }
        state = checked.state;
        report.state = state.clone();
        report.rows += checked.rows;
        progress(&Progress {
            call,
            call_rows: checked.rows,
            rows: report.rows,
            bytes: report.bytes,
            elapsed: started.elapsed(),
            has_more: checked.has_more,
            waiting: false,
        });
        if !checked.has_more {
            break Stop::Done;
        }
        if checked.rows == 0 {
            empty_streak += 1;
            if empty_streak > options.max_empty {
                break fail(
                    Cause::TooManyEmpty,
                    format!(
                        "{empty_streak} consecutive responses without rows and with `hasMore: true`; Fivetran terminates \
                         a connection after more than {}",
                        options.max_empty
                    ),
                );
            }
        } else {
            empty_streak = 0;
        }
    };
    report.stop = stop;
    if let Some(w) = warehouse.as_deref() {
        for (table, summary) in &mut report.tables {
            summary.rows_now = Some(w.row_count(table)?);
        }
    }
    report.processes = host.processes_started();
    report.elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// For `check`: rows received per table.
fn received_counts(changes: &crate::warehouse::Changes) -> BTreeMap<String, TableCounts> {
    let mut counts: BTreeMap<String, TableCounts> = BTreeMap::new();
    for (table, rows) in &changes.insert {
        counts.entry(table.clone()).or_default().inserted += rows.len() as u64;
    }
    for (table, rows) in &changes.delete {
        let entry = counts.entry(table.clone()).or_default();
        if changes.soft_delete.contains(table) {
            entry.soft_deleted += rows.len() as u64;
        } else {
            entry.deleted += rows.len() as u64;
        }
    }
    counts
}

/// Puts a `CLOUD_STORAGE` object's `insert`/`delete`/`softDelete` into the body, so one check covers both.
fn merge_cloud_payload(body: &[u8], object: &[u8]) -> std::result::Result<Vec<u8>, String> {
    let Ok(Value::Object(mut body)) = serde_json::from_slice::<Value>(body) else {
        // Let the checker report what is wrong with the body itself.
        return Ok(body.to_vec());
    };
    for key in ["insert", "delete", "softDelete"] {
        if body.contains_key(key) {
            return Err(format!(
                "the response body holds `{key}`, which belongs in the S3 object"
            ));
        }
    }
    let payload: Map<String, Value> = match serde_json::from_slice(object) {
        Ok(Value::Object(payload)) => payload,
        Ok(_) => return Err("the object is not a JSON object".to_owned()),
        Err(e) => return Err(format!("the object is not valid JSON: {e}")),
    };
    for (key, value) in payload {
        body.insert(key, value);
    }
    serde_json::to_vec(&Value::Object(body)).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cloud_storage_payload_joins_the_body() {
        let body = json!({"state": {}, "schema": {"t": {"primary_key": ["id"]}}, "hasMore": false});
        let object = json!({"insert": {"t": [{"id": 1}]}, "delete": {}});
        let merged =
            merge_cloud_payload(body.to_string().as_bytes(), object.to_string().as_bytes())
                .unwrap();
        let merged: Value = serde_json::from_slice(&merged).unwrap();
        assert_eq!(merged["insert"]["t"][0]["id"], json!(1));
        assert_eq!(merged["hasMore"], json!(false));

        let with_rows = json!({"state": {}, "insert": {}, "hasMore": false});
        let error = merge_cloud_payload(with_rows.to_string().as_bytes(), b"{}").unwrap_err();
        assert!(
            error.contains("`insert`, which belongs in the S3 object"),
            "{error}"
        );
        assert!(merge_cloud_payload(body.to_string().as_bytes(), b"[").is_err());
    }
}
