//! NetSuite specifics beyond the spec checks: keyset paging past the 100,000-row offset ceiling, the explicit
//! `TO_CHAR` form, `429` without `Retry-After` (`CONCURRENCY_LIMIT_EXCEEDED`), and the realm.

use sandbox_apis::credentials::{
    NETSUITE_ACCOUNT_ID, NETSUITE_CONSUMER_KEY, NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID,
    NETSUITE_TOKEN_SECRET,
};
use sandbox_apis::{Api, DiffOptions, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use connector_conformance::connection::{self as support, Connection};

const BINARY: &str = env!("CARGO_BIN_EXE_netsuite");

fn secrets(sandbox: &Sandbox) -> Value {
    json!({"baseUrl": sandbox.base_url(), "accountId": NETSUITE_ACCOUNT_ID,
           "consumerKey": NETSUITE_CONSUMER_KEY, "consumerSecret": NETSUITE_CONSUMER_SECRET,
           "tokenId": NETSUITE_TOKEN_ID, "tokenSecret": NETSUITE_TOKEN_SECRET})
}

fn diff() -> DiffOptions {
    DiffOptions {
        ignore_columns: vec!["lastmodifieddate_iso".into()],
    }
}

fn config(records: usize) -> SandboxConfig {
    SandboxConfig {
        seed: 9,
        records,
        ..SandboxConfig::new(Api::NetSuite)
    }
}

#[tokio::test]
async fn keyset_paging_reaches_past_the_offset_ceiling() {
    let sandbox = support::sandbox(config(100_500), &[]).await;
    let mut secrets = secrets(&sandbox);
    secrets["recordTypes"] = json!("item");
    let mut c = Connection::new(BINARY, secrets).await;
    c.sync_done().await;
    assert_eq!(c.warehouse.row_count("item").unwrap(), 100_500);
    let state = c.state_text();
    assert!(state.len() < 2048, "the state stays small: {state}");
    let log = sandbox.request_log();
    assert!(
        log.entries.iter().all(|r| !r.query.contains("offset=")),
        "keyset paging, no offsets"
    );
}

#[tokio::test]
async fn concurrency_limits_without_retry_after_end_in_the_truth() {
    let sandbox = support::sandbox(config(2500), &["429:0@at=2", "429:0@at=5x2"]).await;
    let mut c = Connection::new(BINARY, secrets(&sandbox)).await;
    c.sync_done().await;
    c.assert_truth(&sandbox, &diff());
    let rows = c.warehouse.read_table("customer").unwrap();
    let iso = rows[0]["lastmodifieddate_iso"].as_str().unwrap_or_default();
    assert!(
        iso.len() == 19 && iso.as_bytes()[10] == b'T',
        "the explicit TO_CHAR form: {iso}"
    );
}

#[tokio::test]
async fn the_realm_comes_from_the_account_id() {
    let sandbox = support::sandbox(config(5), &[]).await;
    let mut dashed = secrets(&sandbox);
    dashed["accountId"] = json!("1234567-sb1");
    let report = Connection::new(BINARY, dashed).await.setup_test().await;
    assert!(
        report.ok,
        "1234567-sb1 signs with realm 1234567_SB1: {}",
        report.message
    );
    let mut other = secrets(&sandbox);
    other["accountId"] = json!("7654321_SB1");
    let report = Connection::new(BINARY, other).await.setup_test().await;
    assert!(!report.ok);
    assert!(
        report.message.contains("credentials were rejected"),
        "{}",
        report.message
    );
}
