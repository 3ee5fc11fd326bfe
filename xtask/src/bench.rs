//! `cargo xtask bench`: end-to-end sync through a real function binary (release build) against the loan API
//! stand-in with injected latency (wall time against the latency limit, CPU time, peak RSS above idle), cold start,
//! zip sizes and, on request, the engine micro-benchmark. Prints a table and writes `target/bench/results.json`.
//!
//! The function runs under [`runtime_api::Host`], a minimal Lambda Runtime API in this process, so the numbers are
//! the function's own: no warehouse writes, no protocol checks (`fivetran-local` does those in the tests).

mod functions;
mod proc_stats;
mod runtime_api;
mod sandbox;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::project::Project;
use crate::{archive, output};
use functions::{Function, Variant};
use runtime_api::Host;
use sandbox::Sandbox;

/// The options of `cargo xtask bench`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Records in the stand-in (loan applications, WooCommerce orders).
    pub records: u64,
    pub page_size: u64,
    /// Injected latency on every stand-in answer, in milliseconds.
    pub latency_ms: u64,
    /// Pages fetched at once (the bench function's `concurrency` secret).
    pub concurrency: u64,
    /// Cold starts to take the median of.
    pub starts: usize,
    /// Connectors to measure (default: every one whose stand-in the bench drives: loan-applications, woocommerce).
    pub connectors: Vec<String>,
    /// A loan-API function binary to measure instead of the connectors.
    pub function: Option<PathBuf>,
    /// Build the release binaries first (default); `--no-build` uses what is there.
    pub build: bool,
    /// Also run `cargo bench -p fivetran-core --bench engine`.
    pub engine: bool,
    /// Where the JSON goes (default `<target>/bench/results.json`).
    pub out: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            records: 20_000,
            page_size: 100,
            latency_ms: 50,
            concurrency: 8,
            starts: 20,
            connectors: Vec::new(),
            function: None,
            build: true,
            engine: false,
            out: None,
        }
    }
}

/// The byte budget the engine uses by default (5 MiB); the memory target is three times it, above idle RSS.
const BYTE_BUDGET: u64 = 5 * 1024 * 1024;
/// The wall-time target as a multiple of the latency limit.
const RATIO_TARGET: f64 = 1.15;
const COLD_START_TARGET_MS: f64 = 10.0;
const ZIP_TARGET: u64 = 4 * 1024 * 1024;

/// Runs the benchmarks and reports them.
pub fn run(project: &Project, options: &Options) -> Result<()> {
    let functions = functions::select(project, options)?;
    let sandbox_binary = project.target_dir().join("release/sandbox-apis");
    if options.build {
        functions::cargo_build(project, &["-p", "sandbox-apis", "--bin", "sandbox-apis"])?;
    }
    let out_dir = project.target_dir().join("bench");
    std::fs::create_dir_all(&out_dir)?;

    let mut syncs = Vec::new();
    let mut cold = Vec::new();
    for function in &functions {
        for variant in &function.variants {
            output::status(&format!("sync: {}", variant.label));
            syncs.push(sync(function, variant, &sandbox_binary, &out_dir, options)?);
        }
        output::status(&format!(
            "cold start of {}: {} starts",
            function.name, options.starts
        ));
        cold.push(cold_starts(function, options.starts)?);
    }
    let zips = zip_sizes(project, &functions)?;
    let engine = if options.engine {
        Some(engine_bench(project)?)
    } else {
        None
    };

    let results = json!({
        "functions": functions.iter().map(|f| json!({
            "name": f.name, "binary": f.binary.display().to_string(), "api": f.api.name(),
        })).collect::<Vec<_>>(),
        "settings": {
            "records": options.records, "page_size": options.page_size, "latency_ms": options.latency_ms,
            "concurrency": options.concurrency, "byte_budget": BYTE_BUDGET,
        },
        "sync": syncs,
        "cold_start": cold,
        "zips": zips,
        "engine_bench": engine,
    });
    output::line(&render(&results));
    let out = options
        .out
        .clone()
        .unwrap_or_else(|| out_dir.join("results.json"));
    std::fs::write(&out, serde_json::to_string_pretty(&results)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    output::status(&format!("results written to {}", out.display()));
    Ok(())
}

/// Runs one whole sync (calls until `hasMore: false`) of a fresh function process against a fresh stand-in.
fn sync(
    function: &Function,
    variant: &Variant,
    sandbox_binary: &Path,
    out_dir: &Path,
    options: &Options,
) -> Result<Value> {
    let sandbox = Sandbox::start(
        sandbox_binary,
        function.api.name(),
        options.records,
        options.latency_ms,
    )?;
    let mut host = Host::start()?;
    let log_name = format!("{}.log", variant.label.replace([' ', ',', '/'], "-"));
    let log = std::fs::File::create(out_dir.join(&log_name))?;
    let binary = &function.binary;
    let mut command = Command::new(binary);
    runtime_api::lambda_env(&mut command, &host.address(), "bench");
    command
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let result = (|| {
        let limit = Duration::from_secs(600);
        host.wait_polled(&mut child, limit)?;
        let idle = proc_stats::read(child.id())?;
        let mut secrets = function.api.secrets(sandbox.base_url(), options);
        for (name, value) in &variant.secrets {
            secrets.insert((*name).into(), value.clone().into());
        }
        let mut state = json!({});
        let mut tally = Tally::default();
        let mut bodies = Vec::new();
        let start = Instant::now();
        loop {
            let request = json!({
                "agent": "Fivetran AWS Lambda Connector/bench",
                "state": state, "secrets": secrets, "sync_id": "bench",
            });
            let request = serde_json::to_vec(&request)?;
            let sent = Instant::now();
            let body = host.invoke(&mut child, request, limit)?;
            tally.in_calls += sent.elapsed();
            // Only what the next call needs is read here (like Fivetran, which calls again at once); the rows
            // are counted, and what was read checked, after the sync, so the harness adds little time between
            // calls.
            let (next, more) = state_and_more(&body)?;
            state = next;
            bodies.push((body, state.clone(), more));
            if !more {
                break;
            }
            if bodies.len() >= 1000 {
                bail!("still hasMore after 1000 calls");
            }
        }
        let wall = start.elapsed();
        for (call, (body, state, more)) in bodies.iter().enumerate() {
            let response: Value =
                serde_json::from_slice(body).context("the response is not JSON")?;
            let read = (
                response.get("state").cloned().unwrap_or_else(|| json!({})),
                response.get("hasMore") == Some(&Value::Bool(true)),
            );
            if read != (state.clone(), *more) {
                bail!(
                    "call {}: state and hasMore read between calls differ from the whole response's",
                    call + 1
                );
            }
            tally.add(&response, body.len());
        }
        host.wait_polled(&mut child, limit)?;
        let busy = proc_stats::read(child.id())?;
        let stats = sandbox.stats()?;
        Ok(tally.report(function, options, &variant.label, wall, idle, busy, stats))
    })();
    let _ = child.kill();
    let _ = child.wait();
    result.with_context(|| {
        format!(
            "sync ({}); function log in {}",
            variant.label,
            out_dir.join(log_name).display()
        )
    })
}

/// A response's `state` and `hasMore`. A body laid out as `fivetran-core` writes it (`state` just before a last
/// `hasMore`) is read at its end only — a 5 MB body's full parse takes ~7 ms, which would count as the function's
/// wall time; any other body is parsed whole. The sync checks the result against the whole parse afterwards.
fn state_and_more(body: &[u8]) -> Result<(Value, bool)> {
    if let Some(read) = state_and_more_at_end(body) {
        return Ok(read);
    }
    let head: HashMap<&str, &RawValue> =
        serde_json::from_slice(body).context("the response is not a JSON object")?;
    let state = match head.get("state") {
        Some(raw) => serde_json::from_str(raw.get())?,
        None => json!({}),
    };
    Ok((
        state,
        head.get("hasMore").is_some_and(|raw| raw.get() == "true"),
    ))
}

/// `state` and `hasMore` when the body ends with `"state":{…},"hasMore":…}`: the state object is the last one
/// that starts after a `"state":` key and reaches exactly the `hasMore` member.
fn state_and_more_at_end(body: &[u8]) -> Option<(Value, bool)> {
    let (more, suffix): (bool, &[u8]) = if body.ends_with(b",\"hasMore\":true}") {
        (true, b",\"hasMore\":true}")
    } else if body.ends_with(b",\"hasMore\":false}") {
        (false, b",\"hasMore\":false}")
    } else {
        return None;
    };
    let key = b"\"state\":";
    let mut end = body.len() - suffix.len();
    // A few tries: the state itself may hold a key named "state".
    for _ in 0..4 {
        let at = body[..end].windows(key.len()).rposition(|w| w == key)?;
        let from = at + key.len();
        let mut values = serde_json::Deserializer::from_slice(&body[from..]).into_iter::<Value>();
        if let Some(Ok(state @ Value::Object(_))) = values.next()
            && from + values.byte_offset() == body.len() - suffix.len()
            && matches!(body[..at].last(), Some(b',' | b'{'))
        {
            return Some((state, more));
        }
        end = at;
    }
    None
}

/// Counts over the responses of one sync.
#[derive(Debug, Default)]
struct Tally {
    calls: u64,
    rows: Map<String, Value>,
    deletes: u64,
    max_response: usize,
    total_bytes: u64,
    /// Time inside invocations: from handing the request over to the whole response received.
    in_calls: Duration,
    /// Rows per page table (and deletes) of each call, for the per-call floor.
    per_call: Vec<(Map<String, Value>, u64)>,
}

impl Tally {
    fn add(&mut self, response: &Value, bytes: usize) {
        self.calls += 1;
        let inserts = response
            .get("insert")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|(t, rows)| (t, json!(rows.as_array().map_or(0, Vec::len))))
            .collect();
        let deletes = response
            .get("delete")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(_, r)| r.as_array().map_or(0, Vec::len) as u64)
            .sum();
        self.per_call.push((inserts, deletes));
        self.max_response = self.max_response.max(bytes);
        self.total_bytes += bytes as u64;
        for (table, rows) in response
            .get("insert")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let n = rows.as_array().map_or(0, Vec::len) as u64;
            let entry = self.rows.entry(table.clone()).or_insert(json!(0));
            *entry = json!(entry.as_u64().unwrap_or(0) + n);
        }
        for rows in response
            .get("delete")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(_, r)| r)
        {
            self.deletes += rows.as_array().map_or(0, Vec::len) as u64;
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report(
        &self,
        function: &Function,
        options: &Options,
        label: &str,
        wall: Duration,
        idle: proc_stats::Usage,
        busy: proc_stats::Usage,
        stats: sandbox::Stats,
    ) -> Value {
        let count = |table: &str| self.rows.get(table).and_then(Value::as_u64).unwrap_or(0);
        let page_size = function.api.page_size(options);
        let records: u64 = function.api.page_tables().iter().map(|t| count(t)).sum();
        // The pages the data needs: each listed table's records (and the deletion feed's) by the page size.
        let pages = function
            .api
            .page_tables()
            .iter()
            .map(|t| count(t).div_ceil(page_size))
            .sum::<u64>()
            + self.deletes.div_ceil(page_size);
        let limit = pages as f64 * options.latency_ms as f64 / 1000.0 / options.concurrency as f64;
        // The same limit at the concurrency the function really used (a connector may declare less than the target).
        let observed =
            pages as f64 * options.latency_ms as f64 / 1000.0 / stats.max_in_flight.max(1) as f64;
        // What the same requests cost one at a time: the floor for paging that cannot run concurrently.
        let serial = stats.requests as f64 * options.latency_ms as f64 / 1000.0;
        // The limit counting every request (probes and pages read again included), not only the data's pages.
        let request_limit = serial / options.concurrency as f64;
        // The floor when every call starts with an empty pipeline (a call ends before the next one begins, unless
        // it leaves requests in flight for the next): each call's pages in whole rounds of `concurrency`.
        let count_in = |rows: &Map<String, Value>, table: &str| {
            rows.get(table).and_then(Value::as_u64).unwrap_or(0)
        };
        let call_rounds: u64 = self
            .per_call
            .iter()
            .map(|(rows, deletes)| {
                let pages: u64 = function
                    .api
                    .page_tables()
                    .iter()
                    .map(|t| count_in(rows, t).div_ceil(page_size))
                    .sum::<u64>()
                    + deletes.div_ceil(page_size);
                pages.div_ceil(options.concurrency.max(1))
            })
            .sum();
        let call_floor = call_rounds as f64 * options.latency_ms as f64 / 1000.0;
        let in_calls = self.in_calls.as_secs_f64();
        let cpu = busy.cpu.saturating_sub(idle.cpu);
        let per_10k = |value: f64| value * 10_000.0 / records.max(1) as f64;
        let above_idle = busy.peak_rss.saturating_sub(idle.rss);
        json!({
            "sync": label,
            "api": function.api.name(),
            "records": records,
            "calls": self.calls,
            "rows": self.rows,
            "deletes": self.deletes,
            "pages": pages,
            "requests": stats.requests,
            "max_in_flight": stats.max_in_flight,
            "wall_s": wall.as_secs_f64(),
            "in_calls_s": in_calls,
            "latency_limit_s": limit,
            "ratio": in_calls / limit,
            "ratio_wall": wall.as_secs_f64() / limit,
            "latency_limit_at_max_in_flight_s": observed,
            "ratio_at_max_in_flight": in_calls / observed,
            "call_floor_s": call_floor,
            "ratio_to_call_floor": in_calls / call_floor,
            "ratio_target": RATIO_TARGET,
            "request_limit_s": request_limit,
            "ratio_to_request_limit": in_calls / request_limit,
            "serial_limit_s": serial,
            "ratio_to_serial": in_calls / serial,
            "cpu_ms": cpu.as_millis() as u64,
            "cpu_ms_per_10k_records": per_10k(cpu.as_millis() as f64),
            "idle_rss": idle.rss,
            "peak_rss": busy.peak_rss,
            "peak_rss_above_idle": above_idle,
            "peak_rss_above_idle_per_10k_records": per_10k(above_idle as f64),
            "memory_target": 3 * BYTE_BUDGET,
            "max_response_bytes": self.max_response,
            "total_response_bytes": self.total_bytes,
        })
    }
}

fn cold_starts(function: &Function, starts: usize) -> Result<Value> {
    let mut samples = Vec::with_capacity(starts);
    for _ in 0..starts.max(1) {
        samples.push(runtime_api::cold_start(&function.binary)?.as_secs_f64() * 1000.0);
    }
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    Ok(json!({
        "function": function.name, "starts": n, "median_ms": median, "min_ms": sorted[0], "max_ms": sorted[n - 1],
        "target_ms": COLD_START_TARGET_MS, "samples_ms": samples,
    }))
}

/// `build-all`'s zips (`<target>/lambda/<connector>/bootstrap.zip`), plus the measured binary zipped the same way.
fn zip_sizes(project: &Project, functions: &[Function]) -> Result<Value> {
    let mut zips = Vec::new();
    let connectors = project.connectors()?;
    for connector in &connectors {
        let path = project.lambda_dir(connector).join("bootstrap.zip");
        if let Ok(meta) = std::fs::metadata(&path) {
            zips.push(json!({
                "connector": connector, "path": path.display().to_string(), "bytes": meta.len(), "note": "",
            }));
            continue;
        }
        // No build-all zip: zip the host release build the same way, when there is one.
        let host = project.target_dir().join("release").join(connector);
        let zipped = std::fs::read(&host)
            .ok()
            .map(|b| archive::lambda_zip(&b))
            .transpose()?;
        zips.push(json!({
            "connector": connector, "path": host.display().to_string(), "bytes": zipped.map(|z| z.len()),
            "note": if host.is_file() { "host release build, zipped by the bench" } else {
                "not built: run cargo xtask build-all"
            },
        }));
    }
    for function in functions.iter().filter(|f| !connectors.contains(&f.name)) {
        let binary = std::fs::read(&function.binary)
            .with_context(|| format!("reading {}", function.binary.display()))?;
        let zipped = archive::lambda_zip(&binary)?;
        zips.push(json!({
            "connector": function.name, "path": "(zipped in memory by the bench)",
            "bytes": zipped.len(), "binary_bytes": binary.len(), "note": "",
        }));
    }
    Ok(json!({ "target_bytes": ZIP_TARGET, "artifacts": zips }))
}

/// Runs the engine micro-benchmark and keeps its output lines (those with a rate are the figures).
fn engine_bench(project: &Project) -> Result<Value> {
    output::status("cargo bench -p fivetran-core --bench engine");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "bench",
            "-p",
            "fivetran-core",
            "--bench",
            "engine",
            "--target-dir",
        ])
        .arg(project.target_dir())
        .current_dir(project.root())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo bench")?;
    if !out.status.success() {
        bail!(
            "cargo bench -p fivetran-core --bench engine failed ({})",
            out.status
        );
    }
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(str::to_owned)
        .collect();
    Ok(json!({ "command": "cargo bench -p fivetran-core --bench engine", "output": lines }))
}

/// The human-readable tables.
fn render(results: &Value) -> String {
    let mut text = String::new();
    let settings = &results["settings"];
    text.push_str(&format!(
        "stand-ins: {} records, {} ms per request; target concurrency {}\n\n",
        settings["records"], settings["latency_ms"], settings["concurrency"],
    ));
    let rows: Vec<Vec<String>> = results["sync"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            vec![
                s["sync"].as_str().unwrap_or_default().to_owned(),
                format!("{}", s["records"]),
                format!("{}/{}", s["pages"], s["requests"]),
                format!("{}", s["max_in_flight"]),
                format!("{}", s["calls"]),
                format!(
                    "{:.2} s ({:.2} s)",
                    s["in_calls_s"].as_f64().unwrap_or(0.0),
                    s["wall_s"].as_f64().unwrap_or(0.0)
                ),
                format!("{:.2} s", s["latency_limit_s"].as_f64().unwrap_or(0.0)),
                format!(
                    "{:.2} ({:.2})",
                    s["ratio"].as_f64().unwrap_or(0.0),
                    s["ratio_wall"].as_f64().unwrap_or(0.0)
                ),
                format!(
                    "{:.2} s ({:.2})",
                    s["request_limit_s"].as_f64().unwrap_or(0.0),
                    s["ratio_to_request_limit"].as_f64().unwrap_or(0.0)
                ),
                format!(
                    "{:.2} s ({:.2})",
                    s["call_floor_s"].as_f64().unwrap_or(0.0),
                    s["ratio_to_call_floor"].as_f64().unwrap_or(0.0)
                ),
                format!(
                    "{:.0} ms",
                    s["cpu_ms_per_10k_records"].as_f64().unwrap_or(0.0)
                ),
                mib(s["idle_rss"].as_u64().unwrap_or(0)),
                mib(s["peak_rss_above_idle"].as_u64().unwrap_or(0)),
                mib(s["max_response_bytes"].as_u64().unwrap_or(0)),
            ]
        })
        .collect();
    text.push_str(&output::table(
        &[
            "sync",
            "records",
            "pages/requests",
            "in flight",
            "calls",
            "in calls (wall)",
            "limit",
            "ratio (wall)",
            "request limit (ratio)",
            "call floor (ratio)",
            "cpu/10k",
            "idle rss",
            "peak-idle",
            "max response",
        ],
        &rows,
    ));
    text.push_str(&format!(
        "(in calls = the function's time, from handing each request over to its whole response; wall adds the \
         harness reading state and hasMore between calls; limit = pages x latency / concurrency, ratio = in calls / \
         limit (wall / limit), target <= {RATIO_TARGET}; request limit = the same with every request the sync made \
         (probes and pages read again included); call floor = each call's pages in whole rounds of concurrency x latency, \
         the best a function does when every call starts with an empty pipeline (one that hands its requests on to \
         the next call can beat it); memory target peak-idle <= {})\n\n",
        mib(3 * BYTE_BUDGET)
    ));
    for cold in results["cold_start"].as_array().into_iter().flatten() {
        text.push_str(&format!(
            "cold start of {} (process start -> first /invocation/next), {} starts: median {:.2} ms, min {:.2}, \
             max {:.2} (target < {COLD_START_TARGET_MS} ms)\n",
            cold["function"].as_str().unwrap_or_default(),
            cold["starts"],
            cold["median_ms"].as_f64().unwrap_or(0.0),
            cold["min_ms"].as_f64().unwrap_or(0.0),
            cold["max_ms"].as_f64().unwrap_or(0.0),
        ));
    }
    text.push('\n');
    let zips: Vec<Vec<String>> = results["zips"]["artifacts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|z| {
            vec![
                z["connector"].as_str().unwrap_or_default().to_owned(),
                z["bytes"]
                    .as_u64()
                    .map_or_else(|| "-".to_owned(), output::size),
                z["note"].as_str().unwrap_or_default().to_owned(),
            ]
        })
        .collect();
    text.push_str(&output::table(
        &["zip", "size (target < 4 MiB)", "note"],
        &zips,
    ));
    if let Some(lines) = results["engine_bench"]["output"].as_array() {
        text.push_str("\nengine micro-benchmark:\n");
        for line in lines {
            text.push_str(&format!("  {}\n", line.as_str().unwrap_or_default()));
        }
    }
    text
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_and_more_are_read_at_the_end_of_a_direct_body() {
        let body = br#"{"insert":{"t":[{"state":{"x":1},"hasMore":true}]},"schema":{"t":{"primary_key":["id"]}},"state":{"streams":{"t":{"state":{"y":2}}},"version":1},"hasMore":true}"#;
        let read = state_and_more_at_end(body).expect("read at the end");
        assert_eq!(
            read,
            (
                json!({"streams": {"t": {"state": {"y": 2}}}, "version": 1}),
                true
            )
        );
        assert_eq!(state_and_more(body).unwrap(), read);
    }

    #[test]
    fn other_layouts_are_parsed_whole_with_the_same_result() {
        for (body, expected) in [
            (
                &br#"{"state":{"a":1},"insert":{},"hasMore":false}"#[..],
                (json!({"a": 1}), false),
            ),
            (
                &br#"{"hasMore":true,"state":{"a":[1]}}"#[..],
                (json!({"a": [1]}), true),
            ),
            (&br#"{"insert":{},"hasMore":false}"#[..], (json!({}), false)),
            // "state" as a string value, not a key: the end is no state object.
            (
                &br#"{"state":{"b":2},"note":"state","hasMore":true}"#[..],
                (json!({"b": 2}), true),
            ),
        ] {
            assert_eq!(
                state_and_more(body).unwrap(),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        assert!(state_and_more_at_end(br#"{"insert":{},"hasMore":false}"#).is_none());
        assert!(state_and_more(b"[1]").is_err());
    }
}
