//! An engine-built function (the core's loan recipe, `src/bin/loan-reference-function.rs`) against the real loan
//! stand-in: the warehouse must equal the stand-in's ground truth, and a second sync must not change it.

use std::time::Duration;

use fivetran_local::sync::Stop;
use sandbox_apis::{Api, SandboxConfig};
use serde_json::json;

use crate::support::*;

const LOAN_REFERENCE: &str = env!("CARGO_BIN_EXE_loan-reference-function");

#[tokio::test]
async fn an_engine_built_function_leaves_the_ground_truth_in_the_warehouse() {
    let sandbox = sandbox_apis::start(SandboxConfig {
        seed: 5,
        records: 250,
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let mut host = start(LOAN_REFERENCE, config(&[], Duration::from_secs(60))).await;
    let opts = options(json!({"baseUrl": sandbox.base_url(), "apiKey": "sandbox-loan-key"}));
    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(
        report.stop,
        Stop::Done,
        "{}",
        fivetran_local::output::summary(&report)
    );
    sandbox
        .ground_truth()
        .assert_matches(&warehouse.read_all().unwrap(), &Default::default());
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_small_byte_budget_makes_many_calls_and_the_same_warehouse() {
    let sandbox = sandbox_apis::start(SandboxConfig {
        seed: 9,
        records: 300,
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let mut host = start(LOAN_REFERENCE, config(&[], Duration::from_secs(60))).await;
    let opts = options(json!({
        "baseUrl": sandbox.base_url(), "apiKey": "sandbox-loan-key", "byteBudget": "40000"
    }));
    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(
        report.stop,
        Stop::Done,
        "{}",
        fivetran_local::output::summary(&report)
    );
    assert!(report.calls > 3, "{} calls", report.calls);
    assert!(report.violations.is_empty() && report.warnings.is_empty());
    sandbox
        .ground_truth()
        .assert_matches(&warehouse.read_all().unwrap(), &Default::default());
    host.stop().await;
    sandbox.shutdown().await;
}
