//! One connection for a connector's own tests (beside the spec checks): the real binary, through fivetran-local,
//! against a stand-in the test started itself, into a scratch SQLite warehouse.

use std::time::Duration;

use fivetran_local::host::{FunctionHost, HostConfig};
use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, Stop, SyncOptions, SyncReport};
use fivetran_local::warehouse::Warehouse;
use sandbox_apis::{DiffOptions, Faults, Sandbox, SandboxConfig};
use serde_json::{Map, Value};

/// One connection: a warehouse in a scratch folder, a function host and the secrets.
pub struct Connection {
    _dir: tempfile::TempDir,
    pub warehouse: Warehouse,
    pub host: FunctionHost,
    pub options: SyncOptions,
}

impl Connection {
    /// Starts `binary` with these secrets.
    pub async fn new(binary: &str, secrets: Value) -> Connection {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let warehouse =
            Warehouse::open(&dir.path().join("w.sqlite"), "c", "").expect("the warehouse opens");
        let config = HostConfig {
            timeout: Duration::from_secs(60),
            log_file: Some(dir.path().join("function.log")),
            ..HostConfig::default()
        };
        let host = fivetran_local::start_function(binary, &[], config)
            .await
            .expect("the function starts");
        let options = SyncOptions {
            request: RequestTemplate {
                secrets: secrets.as_object().cloned().unwrap_or_default(),
                agent: Some("tests".into()),
                sync_id: Some("sync".into()),
                ..RequestTemplate::default()
            },
            max_calls: 200,
            ..SyncOptions::default()
        };
        Connection {
            _dir: dir,
            warehouse,
            host,
            options,
        }
    }

    /// One sync, calls until `hasMore: false` (or the call limit).
    pub async fn sync(&mut self) -> SyncReport {
        sync::run(
            &mut self.host,
            Some(&mut self.warehouse),
            Map::new(),
            &self.options,
            &mut |_| {},
        )
        .await
        .expect("the sync runs")
    }

    /// One sync that must end with `hasMore: false` and no protocol violation.
    pub async fn sync_done(&mut self) -> SyncReport {
        let report = self.sync().await;
        assert_eq!(
            report.stop,
            Stop::Done,
            "{}",
            fivetran_local::output::summary(&report)
        );
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        report
    }

    /// The setup test's report.
    pub async fn setup_test(&mut self) -> fivetran_local::setup_test::SetupTestReport {
        fivetran_local::setup_test::run(&mut self.host, &self.options.request, &Map::new()).await
    }

    /// Asserts the warehouse equals the stand-in's ground truth.
    pub fn assert_truth(&self, sandbox: &Sandbox, diff: &DiffOptions) {
        let rows = self.warehouse.read_all().expect("the warehouse reads");
        sandbox.ground_truth().assert_matches(&rows, diff);
    }

    /// The saved state, as JSON text.
    pub fn state_text(&self) -> String {
        serde_json::to_string(&self.warehouse.state().expect("the state reads")).unwrap()
    }
}

/// Starts a stand-in, with fault specs (`Faults::add_spec`).
pub async fn sandbox(config: SandboxConfig, faults: &[&str]) -> Sandbox {
    let mut injected = Faults::default();
    for spec in faults {
        injected.add_spec(spec).expect("a valid fault spec");
    }
    sandbox_apis::start(SandboxConfig {
        faults: injected,
        ..config
    })
    .await
    .expect("the stand-in starts")
}
