//! Shared helpers: a stand-in, the connector's function host, secrets, syncs and the ground-truth comparison.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fivetran_local::host::{FunctionHost, HostConfig};
use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, Stop, SyncOptions, SyncReport};
use fivetran_local::warehouse::Warehouse;
use sandbox_apis::{Api, Faults, Sandbox, SandboxConfig};
use serde_json::{Map, Value, json};

/// The connector's binary, as built by cargo for this test run.
pub const GITHUB: &str = env!("CARGO_BIN_EXE_github");

/// The token the stand-in accepts.
pub const TOKEN: &str = sandbox_apis::credentials::GITHUB_TOKEN;

/// A stand-in with `records` issues per repository and the given fault specs.
pub async fn stand_in(records: usize, faults: &[&str]) -> Sandbox {
    start(SandboxConfig {
        seed: 5,
        records,
        faults: fault_set(faults),
        ..SandboxConfig::new(Api::GitHub)
    })
    .await
}

/// Starts a stand-in from a full configuration.
pub async fn start(config: SandboxConfig) -> Sandbox {
    sandbox_apis::start(config)
        .await
        .expect("the stand-in starts")
}

/// Faults from specs.
pub fn fault_set(specs: &[&str]) -> Faults {
    let mut faults = Faults::default();
    for spec in specs {
        faults
            .add_spec(spec)
            .unwrap_or_else(|e| panic!("{spec}: {e}"));
    }
    faults
}

/// The connector's secrets for a stand-in, plus `extra` (e.g. `pageSize`).
pub fn secrets(sandbox: &Sandbox, extra: Value) -> Value {
    let mut secrets = json!({
        "baseUrl": sandbox.base_url(),
        "token": TOKEN,
        "repositories": sandbox_apis::GITHUB_REPOSITORIES.join(","),
    });
    if let (Some(all), Some(extra)) = (secrets.as_object_mut(), extra.as_object()) {
        all.extend(extra.clone());
    }
    secrets
}

/// Sync options for these secrets.
pub fn options(secrets: Value) -> SyncOptions {
    SyncOptions {
        request: RequestTemplate {
            secrets: secrets.as_object().cloned().unwrap_or_default(),
            agent: Some("github-tests".to_owned()),
            sync_id: Some("sync-1".to_owned()),
            ..RequestTemplate::default()
        },
        ..SyncOptions::default()
    }
}

/// Starts the connector with an invocation timeout, logging into `logs`.
pub async fn function(timeout: Duration, logs: &Path) -> FunctionHost {
    let config = HostConfig {
        timeout,
        log_file: Some(logs.to_owned()),
        ..HostConfig::default()
    };
    fivetran_local::start_function(GITHUB, &[], config)
        .await
        .expect("the connector starts")
}

/// A scratch folder with a warehouse and a log file.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Self {
        Scratch {
            dir: tempfile::tempdir().expect("a temporary folder"),
        }
    }

    /// The warehouse file `name`.
    pub fn warehouse_path(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.sqlite"))
    }

    /// Opens the warehouse file `name`.
    pub fn warehouse(&self, name: &str) -> Warehouse {
        Warehouse::open(&self.warehouse_path(name), "github", "").expect("the warehouse opens")
    }

    /// The function's log file.
    pub fn logs(&self) -> PathBuf {
        self.dir.path().join("function.log")
    }

    /// What the function logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.logs()).unwrap_or_default()
    }
}

/// Runs a sync (calls while `hasMore`, at most `options.max_calls`).
pub async fn sync_into(
    host: &mut FunctionHost,
    warehouse: &mut Warehouse,
    options: &SyncOptions,
) -> SyncReport {
    sync::run(host, Some(warehouse), Map::new(), options, &mut |_| {})
        .await
        .expect("the sync ran")
}

/// Runs a sync that must end with `hasMore: false`.
pub async fn sync_done(
    host: &mut FunctionHost,
    warehouse: &mut Warehouse,
    options: &SyncOptions,
) -> SyncReport {
    let report = sync_into(host, warehouse, options).await;
    assert_eq!(
        report.stop,
        Stop::Done,
        "{}",
        fivetran_local::output::summary(&report)
    );
    report
}

/// Asserts that the warehouse holds the stand-in's ground truth.
pub fn assert_truth(sandbox: &Sandbox, warehouse: &Warehouse, what: &str) {
    let rows = warehouse.read_all().expect("the warehouse reads");
    sandbox
        .ground_truth()
        .assert_matches_in(what, &rows, &Default::default());
}

/// Every table's rows without `_fivetran_synced` (which moves on every write).
pub fn settled(warehouse: &Warehouse) -> Vec<(String, Vec<Value>)> {
    warehouse
        .read_all()
        .expect("the warehouse reads")
        .into_iter()
        .map(|(name, rows)| {
            let rows = rows
                .into_iter()
                .map(|mut r| {
                    r.remove("_fivetran_synced");
                    Value::Object(r)
                })
                .collect();
            (name, rows)
        })
        .collect()
}

/// Rows the ground truth has in all tables.
pub fn truth_rows(sandbox: &Sandbox) -> u64 {
    let truth = sandbox.ground_truth();
    ["issues", "issue_comments", "pull_requests"]
        .iter()
        .map(|t| truth.row_count(t) as u64)
        .sum()
}
