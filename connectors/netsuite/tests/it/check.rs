//! Connector conformance checks (`docs/connector-spec.md`) over the real binary, fivetran-local and a stand-in.
//! A stop-gap copy until the shared conformance crate lands; every check takes a [`Target`].

use std::collections::BTreeMap;
use std::time::Duration;

use fivetran_local::host::{FunctionHost, HostConfig};
use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, Stop, SyncOptions, SyncReport};
use fivetran_local::warehouse::Warehouse;
use sandbox_apis::{Changing, DiffOptions, Faults, Sandbox, SandboxConfig};
use serde_json::{Map, Value};

/// A connector binary and how to point it at a stand-in.
pub struct Target {
    /// The binary (`env!("CARGO_BIN_EXE_<name>")`).
    pub binary: &'static str,
    /// The secrets for a running stand-in.
    pub secrets: fn(&Sandbox) -> Value,
    /// Columns the connector adds or rewrites.
    pub diff: DiffOptions,
}

/// One connection: a warehouse in a scratch folder, a function host and the secrets.
pub struct Connection {
    pub dir: tempfile::TempDir,
    pub warehouse: Warehouse,
    pub host: FunctionHost,
    pub options: SyncOptions,
}

impl Connection {
    /// A fresh connection of `target` to `sandbox`.
    pub async fn new(target: &Target, sandbox: &Sandbox) -> Connection {
        Self::with_secrets(target, (target.secrets)(sandbox)).await
    }

    /// A fresh connection with explicit secrets.
    pub async fn with_secrets(target: &Target, secrets: Value) -> Connection {
        let dir = tempfile::tempdir().expect("a scratch folder");
        let warehouse =
            Warehouse::open(&dir.path().join("w.sqlite"), "c", "").expect("the warehouse opens");
        let config = HostConfig {
            timeout: Duration::from_secs(60),
            log_file: Some(dir.path().join("function.log")),
            ..HostConfig::default()
        };
        let host = fivetran_local::start_function(target.binary, &[], config)
            .await
            .expect("the function starts");
        let options = SyncOptions {
            request: RequestTemplate {
                secrets: secrets.as_object().cloned().unwrap_or_default(),
                agent: Some("tests".into()),
                sync_id: Some("sync".into()),
                ..RequestTemplate::default()
            },
            ..SyncOptions::default()
        };
        Connection {
            dir,
            warehouse,
            host,
            options,
        }
    }

    /// One sync (calls until `hasMore: false`, or `max_calls`).
    pub async fn sync(&mut self, max_calls: u64) -> SyncReport {
        let options = SyncOptions {
            max_calls,
            ..self.options.clone()
        };
        sync::run(
            &mut self.host,
            Some(&mut self.warehouse),
            Map::new(),
            &options,
            &mut |_| {},
        )
        .await
        .expect("the sync runs")
    }

    /// One sync that must end with `hasMore: false`.
    pub async fn sync_done(&mut self) -> SyncReport {
        let report = self.sync(200).await;
        assert_eq!(
            report.stop,
            Stop::Done,
            "{}",
            fivetran_local::output::summary(&report)
        );
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        report
    }

    /// The warehouse, without `_fivetran_synced` (which moves on every write).
    pub fn settled(&self) -> BTreeMap<String, Vec<Map<String, Value>>> {
        let mut tables = self.warehouse.read_all().expect("the warehouse reads");
        for rows in tables.values_mut() {
            rows.iter_mut().for_each(|r| {
                r.remove("_fivetran_synced");
            });
        }
        tables
    }

    /// The function's log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("function.log")).unwrap_or_default()
    }

    /// Asserts the warehouse equals the stand-in's ground truth.
    pub fn assert_truth(&self, target: &Target, sandbox: &Sandbox, what: &str) {
        let differences = sandbox.ground_truth().diff_with(
            &self.warehouse.read_all().expect("the warehouse reads"),
            &target.diff,
        );
        assert!(
            differences.is_empty(),
            "{what}: {} differences with the ground truth, first: {:#?}",
            differences.len(),
            differences
                .iter()
                .take(5)
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
    }

    /// Asserts no secret value appears in the state or the logs.
    pub fn assert_no_secrets(&self, extra: &[&str]) {
        let state = serde_json::to_string(&self.warehouse.state().expect("state")).unwrap();
        let logs = self.logs();
        let secrets = self
            .options
            .request
            .secrets
            .values()
            .filter_map(Value::as_str);
        for secret in secrets
            .chain(extra.iter().copied())
            .filter(|s| s.len() > 6 && !s.contains("://"))
        {
            assert!(!state.contains(secret), "the state holds a secret: {state}");
            assert!(!logs.contains(secret), "the logs hold a secret");
        }
    }
}

/// Starts a stand-in.
pub async fn sandbox(config: SandboxConfig) -> Sandbox {
    sandbox_apis::start(config)
        .await
        .expect("the stand-in starts")
}

/// Spec 3.1 and 3.4: a full sync equals the ground truth; a second sync leaves the warehouse unchanged.
pub async fn full_then_unchanged(target: &Target, sandbox: &Sandbox) -> Connection {
    let mut c = Connection::new(target, sandbox).await;
    c.sync_done().await;
    c.assert_truth(target, sandbox, "full sync");
    let before = c.settled();
    c.sync_done().await;
    assert!(
        before == c.settled(),
        "a second sync with no source changes changed the warehouse"
    );
    c.assert_no_secrets(&[]);
    c
}

/// Spec 3.3: data changes while the connector pages; after the changes stop, one more sync ends at the truth.
pub async fn changing_data(target: &Target, sandbox: &Sandbox, changing: Changing) {
    sandbox.set_changing(Some(changing));
    let mut c = Connection::new(target, sandbox).await;
    c.sync_done().await;
    c.sync_done().await;
    sandbox.set_changing(None);
    c.sync_done().await;
    c.assert_truth(target, sandbox, "changing data");
}

/// Spec 3.2 and 4.2: a quota that outlasts the invocation at request `n` (counted from now) ends the call early;
/// resuming from that state (twice: a Fivetran retry repeats a call) loses nothing. Returns whether the first call
/// ended early with rows and `hasMore: true` (an intermediate state), rather than with nothing.
pub async fn resume_after_quota(target: &Target, sandbox: &Sandbox, n: u64) -> bool {
    let mut c = Connection::new(target, sandbox).await;
    let at = sandbox.request_count() + n;
    set_faults(sandbox, &[&format!("429:3600@at={at}")]);
    let first = c.sync(1).await;
    assert!(
        !matches!(first.stop, Stop::Failed { .. }),
        "a quota is not a failure: {}",
        fivetran_local::output::summary(&first)
    );
    let intermediate = matches!(first.stop, Stop::MaxCalls { .. }) && first.rows > 0;
    set_faults(sandbox, &[]);
    // Replay the intermediate state in a second warehouse too: a repeated call must be harmless.
    let state = c.warehouse.state().expect("state");
    c.sync_done().await;
    c.assert_truth(
        target,
        sandbox,
        &format!("resumed after a quota at request {n}"),
    );
    let mut replay = Connection::new(target, sandbox).await;
    let mut options = replay.options.clone();
    options.max_calls = 200;
    let report = sync::run(&mut replay.host, None, state, &options, &mut |_| {})
        .await
        .expect("the replay runs");
    assert_eq!(report.stop, Stop::Done, "replaying an intermediate state");
    intermediate
}

/// Spec 4.1: faults end in the ground truth after retries (a failed call keeps the previous state: sync again).
pub async fn faults_end_in_truth(target: &Target, sandbox: &Sandbox, specs: &[&str]) {
    set_faults(sandbox, specs);
    let mut c = Connection::new(target, sandbox).await;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let report = c.sync(200).await;
        assert!(report.violations.is_empty(), "{:?}", report.violations);
        match report.stop {
            Stop::Done => break,
            Stop::Failed { message, .. } if attempts < 5 => {
                assert!(!message.is_empty());
            }
            other => panic!("faults {specs:?}: {other:?}"),
        }
    }
    set_faults(sandbox, &[]);
    let injected = sandbox
        .request_log()
        .entries
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert!(
        injected >= specs.len().min(3),
        "faults {specs:?}: only {injected} injected"
    );
    c.assert_truth(target, sandbox, &format!("faults {specs:?}"));
    c.assert_no_secrets(&[]);
}

/// Spec 5: the setup test passes with good secrets; bad ones are "rejected", and no secret is in the message.
pub async fn setup_test(target: &Target, good: Value, bad: Value, bad_secret: &str) {
    for (secrets, ok) in [(good, true), (bad, false)] {
        let mut c = Connection::with_secrets(target, secrets).await;
        let report =
            fivetran_local::setup_test::run(&mut c.host, &c.options.request, &Map::new()).await;
        assert_eq!(report.ok, ok, "{}", report.message);
        if !ok {
            assert!(
                report.message.contains("credentials were rejected"),
                "{}",
                report.message
            );
            assert!(!report.message.contains(bad_secret), "{}", report.message);
            assert!(
                !c.logs().contains(bad_secret),
                "the logs hold the bad secret"
            );
        }
    }
}

/// Replaces the stand-in's faults.
pub fn set_faults(sandbox: &Sandbox, specs: &[&str]) {
    let mut faults = Faults::default();
    for spec in specs {
        faults.add_spec(spec).expect("a valid fault spec");
    }
    sandbox.set_faults(faults);
}
