//! The `netsuite` binary against the NetSuite SuiteQL stand-in, through fivetran-local: ground truth, second sync,
//! changing data, resume, keyset paging past the 100,000-row offset ceiling, faults and the setup test.

mod check;

use check::{Connection, Target};
use sandbox_apis::credentials::{
    NETSUITE_ACCOUNT_ID, NETSUITE_CONSUMER_KEY, NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID,
    NETSUITE_TOKEN_SECRET,
};
use sandbox_apis::{Api, Changing, DiffOptions, Sandbox, SandboxConfig};
use serde_json::{Value, json};

fn secrets(sandbox: &Sandbox) -> Value {
    json!({"baseUrl": sandbox.base_url(), "accountId": NETSUITE_ACCOUNT_ID, "consumerKey": NETSUITE_CONSUMER_KEY,
           "consumerSecret": NETSUITE_CONSUMER_SECRET, "tokenId": NETSUITE_TOKEN_ID, "tokenSecret": NETSUITE_TOKEN_SECRET})
}

fn target() -> Target {
    Target {
        binary: env!("CARGO_BIN_EXE_netsuite"),
        secrets,
        diff: DiffOptions {
            ignore_columns: vec!["lastmodifieddate_iso".into()],
        },
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
async fn full_sync_is_the_truth_and_a_second_sync_changes_nothing() {
    let sandbox = check::sandbox(config(2500)).await;
    let c = check::full_then_unchanged(&target(), &sandbox).await;
    let rows = c.warehouse.read_table("customer").unwrap();
    let iso = rows[0]["lastmodifieddate_iso"].as_str().unwrap_or_default();
    assert!(
        iso.len() == 19 && iso.as_bytes()[10] == b'T',
        "explicit TO_CHAR form: {iso}"
    );
    let log = sandbox.request_log();
    assert!(
        log.entries.iter().all(|r| r.status == Some(200)),
        "every request was accepted"
    );
    assert!(
        log.entries.iter().all(|r| !r.query.contains("offset=")),
        "keyset paging, no offsets"
    );
}

#[tokio::test]
async fn keyset_paging_reaches_past_the_offset_ceiling() {
    let sandbox = check::sandbox(config(100_500)).await;
    let target = target();
    let mut c = Connection::with_secrets(&target, {
        let mut s = secrets(&sandbox);
        s["recordTypes"] = json!("item");
        s
    })
    .await;
    c.sync_done().await;
    assert_eq!(c.warehouse.row_count("item").unwrap(), 100_500);
}

#[tokio::test]
async fn changing_data_ends_at_the_truth_after_two_syncs() {
    let sandbox = check::sandbox(SandboxConfig {
        wall_clock: true,
        ..config(2500)
    })
    .await;
    let changing = Changing {
        every_requests: 1,
        creates: 3,
        updates: 5,
        deletes: 0,
    };
    check::changing_data(&target(), &sandbox, changing).await;
}

#[tokio::test]
async fn resuming_from_intermediate_states_loses_nothing() {
    let sandbox = check::sandbox(config(2500)).await;
    let mut intermediate = 0;
    for n in [1, 2, 3, 4, 6, 8] {
        intermediate += usize::from(check::resume_after_quota(&target(), &sandbox, n).await);
    }
    assert!(
        intermediate >= 3,
        "only {intermediate} quotas left an intermediate state"
    );
}

#[tokio::test]
async fn concurrency_limits_server_errors_and_resets_end_in_the_truth() {
    let sandbox = check::sandbox(config(2500)).await;
    check::faults_end_in_truth(
        &target(),
        &sandbox,
        &[
            "429:0@at=2",
            "429:1@at=5",
            "503@at=3",
            "500@every=6",
            "502@at=9",
            "reset@every=4",
            "truncate@at=11",
            "malformed@at=13",
        ],
    )
    .await;
}

#[tokio::test]
async fn setup_test_accepts_good_credentials_and_names_rejected_ones() {
    let sandbox = check::sandbox(config(20)).await;
    let good = secrets(&sandbox);
    let mut bad = good.clone();
    bad["tokenSecret"] = json!("wrong-token-secret-0000");
    check::setup_test(&target(), good.clone(), bad, "wrong-token-secret-0000").await;
    let mut wrong_realm = good;
    wrong_realm["accountId"] = json!("7654321_SB1");
    check::setup_test(
        &target(),
        secrets(&sandbox),
        wrong_realm,
        NETSUITE_TOKEN_SECRET,
    )
    .await;
}
