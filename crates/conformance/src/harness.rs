//! What every check shares: a stand-in, the connector's real binary under a Runtime API host, a warehouse, and
//! sync runners that panic with a readable message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use fivetran_local::host::{FunctionHost, HostConfig};
use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, Stop, SyncOptions, SyncReport};
use fivetran_local::warehouse::Warehouse;
use sandbox_apis::{Changing, Faults, Sandbox, SandboxConfig};
use serde_json::{Map, Value};

use crate::{StandIn, Subject};

/// How long one invocation may take (the engine keeps its 15 s margin before it).
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(60);

/// How a session is set up.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Small pages and a small byte budget: a sync takes several calls.
    pub small: bool,
    /// The stand-in's changing-data mode.
    pub changing: Option<Changing>,
    /// Date the data by the real clock (needed with changing data: the engine's windows use its own clock).
    pub wall_clock: bool,
    /// Extra environment of the function (e.g. `RUST_LOG`).
    pub env: Vec<(String, String)>,
}

/// A stand-in, the connector under a host, a warehouse and the secrets that connect them.
pub struct Session {
    pub sandbox: Sandbox,
    pub host: FunctionHost,
    pub warehouse: Warehouse,
    pub secrets: Map<String, Value>,
    pub log_file: PathBuf,
    pub dir: tempfile::TempDir,
    name: String,
    syncs: u32,
    diff: sandbox_apis::DiffOptions,
}

impl Session {
    /// Starts the stand-in and the connector for `subject`.
    pub async fn start(subject: &Subject, setup: Setup) -> Session {
        let sandbox = sandbox_apis::start(SandboxConfig {
            seed: subject.seed,
            records: subject.records,
            changing: setup.changing,
            tls: subject.tls,
            wall_clock: setup.wall_clock,
            ..SandboxConfig::new(subject.api)
        })
        .await
        .unwrap_or_else(|e| panic!("the {} stand-in does not start: {e}", subject.api));
        let secrets = secrets_for(subject, &sandbox, setup.small);
        let dir = tempfile::tempdir().expect("a scratch folder");
        let log_file = dir.path().join("function.log");
        let mut env = setup.env.clone();
        if setup.small {
            env.push((
                "FIVETRAN_BYTE_BUDGET".to_owned(),
                subject.small_byte_budget.to_string(),
            ));
        }
        let config = HostConfig {
            timeout: INVOCATION_TIMEOUT,
            env,
            log_file: Some(log_file.clone()),
            ..HostConfig::default()
        };
        let spec = subject.binary.to_string_lossy().into_owned();
        let host = fivetran_local::start_function(&spec, &[], config)
            .await
            .unwrap_or_else(|e| panic!("cannot start {spec}: {e}"));
        let warehouse = open_warehouse(&dir, "w");
        Session {
            sandbox,
            host,
            warehouse,
            secrets,
            log_file,
            dir,
            name: spec,
            syncs: 0,
            diff: subject.diff.clone(),
        }
    }

    /// Sync options for the next sync (a fresh `sync_id`), stopping after `max_calls` calls.
    pub fn options(&mut self, max_calls: u64) -> SyncOptions {
        self.syncs += 1;
        options(&self.secrets, &format!("sync-{}", self.syncs), max_calls)
    }

    /// Runs a whole sync into the session's warehouse; panics unless it ends with `hasMore: false`.
    pub async fn sync(&mut self, what: &str) -> SyncReport {
        let options = self.options(1000);
        let report = sync::run(
            &mut self.host,
            Some(&mut self.warehouse),
            Map::new(),
            &options,
            &mut |_| {},
        )
        .await
        .unwrap_or_else(|e| panic!("{}: {what}: the sync could not run: {e}", self.name));
        assert_done(&self.name, what, &report);
        report
    }

    /// Panics unless the warehouse equals the stand-in's ground truth now.
    pub fn assert_ground_truth(&self, what: &str) {
        assert_ground_truth(&self.name, what, &self.sandbox, &self.warehouse, &self.diff);
    }

    /// Everything the function logged so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_file).unwrap_or_default()
    }

    /// The connector's name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The subject's secrets for a running stand-in (with the small page size when `small`).
pub fn secrets_for(subject: &Subject, sandbox: &Sandbox, small: bool) -> Map<String, Value> {
    let base_url = sandbox.base_url();
    let stand_in = StandIn {
        base_url: &base_url,
        ca_pem: sandbox.ca_pem(),
    };
    let Value::Object(mut secrets) = (subject.secrets)(&stand_in) else {
        panic!("the subject's secrets builder must return a JSON object");
    };
    if let (true, Some((name, size))) = (small, &subject.page_size) {
        secrets.insert(name.clone(), Value::String(size.to_string()));
    }
    secrets
}

/// Sync options with these secrets.
pub fn options(secrets: &Map<String, Value>, sync_id: &str, max_calls: u64) -> SyncOptions {
    SyncOptions {
        request: RequestTemplate {
            secrets: secrets.clone(),
            agent: Some("connector-conformance".to_owned()),
            sync_id: Some(sync_id.to_owned()),
            ..RequestTemplate::default()
        },
        max_calls,
        ..SyncOptions::default()
    }
}

/// Opens a warehouse file `name` in `dir`.
pub fn open_warehouse(dir: &tempfile::TempDir, name: &str) -> Warehouse {
    Warehouse::open(&dir.path().join(format!("{name}.sqlite")), "c", "")
        .expect("the warehouse opens")
}

/// Panics unless the sync ended with `hasMore: false`.
pub fn assert_done(name: &str, what: &str, report: &SyncReport) {
    assert_eq!(
        report.stop,
        Stop::Done,
        "{name}: {what}: the sync did not finish after {} calls:\n{}",
        report.calls,
        fivetran_local::output::summary(report)
    );
}

/// Panics unless the warehouse equals the stand-in's ground truth.
pub fn assert_ground_truth(
    name: &str,
    what: &str,
    sandbox: &Sandbox,
    warehouse: &Warehouse,
    diff: &sandbox_apis::DiffOptions,
) {
    let rows = warehouse.read_all().expect("the warehouse reads");
    sandbox
        .ground_truth()
        .assert_matches_in(&format!("{name}: {what}"), &rows, diff);
}

/// The warehouse's rows without `_fivetran_synced`, which moves on every write.
pub fn settled(warehouse: &Warehouse) -> BTreeMap<String, Vec<Value>> {
    warehouse
        .read_all()
        .expect("the warehouse reads")
        .into_iter()
        .map(|(table, rows)| {
            let rows = rows
                .into_iter()
                .map(|mut row| {
                    row.remove("_fivetran_synced");
                    Value::Object(row)
                })
                .collect();
            (table, rows)
        })
        .collect()
}

/// Faults from textual specs, with request numbers counted from `offset` (the stand-in's requests so far).
pub fn faults(offset: u64, specs: &[String]) -> Faults {
    let mut faults = Faults::default();
    for spec in specs {
        faults
            .add_spec(&shift(spec, offset))
            .unwrap_or_else(|e| panic!("fault spec {spec:?}: {e}"));
    }
    faults
}

/// `KIND@at=N[xK]` with `N` moved `offset` requests later.
fn shift(spec: &str, offset: u64) -> String {
    let Some((kind, trigger)) = spec.split_once("@at=") else {
        return spec.to_owned();
    };
    let (start, burst) = match trigger.split_once('x') {
        Some((n, k)) => (n, format!("x{k}")),
        None => (trigger, String::new()),
    };
    let start: u64 = start.parse().expect("a request number");
    format!("{kind}@at={}{burst}", start + offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_triggers_move_past_earlier_requests() {
        assert_eq!(shift("503@at=2x3", 10), "503@at=12x3");
        assert_eq!(shift("reset@at=4", 10), "reset@at=14");
        assert_eq!(shift("503@always", 10), "503@always");
    }
}
