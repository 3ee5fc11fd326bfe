//! Syncs against the stand-in: a full sync equals the ground truth and a second one changes nothing; changing data;
//! resuming from every intermediate state; faults; the table selection.

use std::time::Duration;

use sandbox_apis::{Api, Changing, Faults, SandboxConfig};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_full_sync_equals_the_ground_truth_and_a_second_sync_changes_nothing() {
    let sandbox = stand_in(60, &[]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(120), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let opts = options(secrets(&sandbox, json!({})));

    let first = sync_done(&mut host, &mut warehouse, &opts).await;
    assert_truth(&sandbox, &warehouse, "first sync");
    assert_eq!(first.rows, truth_rows(&sandbox), "each record once");
    let log = sandbox.request_log();
    assert!(
        log.entries
            .iter()
            .all(|r| r.query.contains("sort=created") && r.query.contains("direction=asc")),
        "every list is read in creation order: {:?}",
        log.entries.iter().map(|r| &r.query).collect::<Vec<_>>()
    );

    let before = settled(&warehouse);
    let requests = sandbox.request_count();
    let second = sync_done(&mut host, &mut warehouse, &opts).await;
    assert_eq!(
        before,
        settled(&warehouse),
        "a second sync changed the warehouse"
    );
    assert_eq!(second.rows, 0, "nothing changed since the first sync");
    let log = sandbox.request_log();
    let incremental: Vec<_> = log
        .entries
        .iter()
        .filter(|r| r.number > requests && !r.path.ends_with("/pulls"))
        .collect();
    assert!(
        !incremental.is_empty() && incremental.iter().all(|r| r.query.contains("since=")),
        "issues and comments are filtered on the server in the second sync"
    );
    assert!(!scratch.log_text().contains(TOKEN), "the token was logged");
    host.stop().await;
    sandbox.shutdown().await;
}

/// Updates, new issues and new comments between requests. Reading in `sort=updated` order instead fails this test
/// (records updated mid-sync move to the end and shift an unchanged record over a page boundary).
#[tokio::test]
async fn data_changing_while_paging_is_complete_after_two_syncs() {
    let sandbox = start(SandboxConfig {
        seed: 9,
        records: 40,
        changing: Some(Changing {
            every_requests: 2,
            creates: 1,
            updates: 2,
            deletes: 0,
        }),
        wall_clock: true,
        ..SandboxConfig::new(Api::GitHub)
    })
    .await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(120), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let opts = options(secrets(&sandbox, json!({"pageSize": "7"})));

    sync_done(&mut host, &mut warehouse, &opts).await;
    sandbox.set_changing(None);
    sync_done(&mut host, &mut warehouse, &opts).await;
    assert_truth(&sandbox, &warehouse, "after the second sync");

    let before = settled(&warehouse);
    let third = sync_done(&mut host, &mut warehouse, &opts).await;
    assert_eq!(
        before,
        settled(&warehouse),
        "a third sync changed the warehouse"
    );
    assert!(
        third.rows < truth_rows(&sandbox) / 2,
        "the third sync re-sent the bulk: {} rows",
        third.rows
    );
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn resuming_from_every_intermediate_state_loses_nothing() {
    // Every 4th request exhausts the quota for 10 minutes: each call returns three pages with `hasMore: true`.
    let sandbox = stand_in(25, &["quota:600@every=4"]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(60), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let mut opts = options(secrets(&sandbox, json!({"pageSize": "6"})));
    opts.max_calls = 1;

    let mut snapshots = Vec::new();
    loop {
        let report = sync_into(&mut host, &mut warehouse, &opts).await;
        if report.is_done() {
            break;
        }
        assert!(
            report.rows > 0,
            "call {} returned no rows",
            snapshots.len() + 1
        );
        let snapshot = scratch.warehouse_path(&format!("state-{}", snapshots.len() + 1));
        std::fs::copy(scratch.warehouse_path("w"), &snapshot).expect("snapshot");
        snapshots.push(snapshot);
        assert!(snapshots.len() < 50, "the sync does not end");
    }
    assert_truth(&sandbox, &warehouse, "the sync in short calls");
    assert!(
        snapshots.len() >= 5,
        "only {} intermediate states",
        snapshots.len()
    );

    // Each intermediate state, resumed (its next call already ran once: a repeat), ends in the ground truth.
    sandbox.set_faults(Faults::default());
    opts.max_calls = 1000;
    for (i, snapshot) in snapshots.iter().enumerate() {
        let mut resumed = fivetran_local::warehouse::Warehouse::open(snapshot, "github", "")
            .expect("the snapshot opens");
        sync_done(&mut host, &mut resumed, &opts).await;
        assert_truth(&sandbox, &resumed, &format!("resumed from state {}", i + 1));
    }
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn server_errors_resets_and_broken_bodies_are_retried() {
    let sandbox = stand_in(
        30,
        &[
            "503@at=2x3",
            "reset@at=7",
            "502@at=10",
            "truncate@at=13",
            "malformed@at=16",
            "429:1@at=19",
            "429-date:1@at=22",
            "500@at=25x2",
            "504@at=29",
        ],
    )
    .await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(120), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let opts = options(secrets(&sandbox, json!({"pageSize": "5"})));

    sync_done(&mut host, &mut warehouse, &opts).await;
    assert_truth(&sandbox, &warehouse, "after faults");
    let log = sandbox.request_log();
    let faulted: Vec<(u64, &str)> = log
        .entries
        .iter()
        .filter_map(|r| Some((r.number, r.fault.as_deref()?)))
        .collect();
    assert_eq!(faulted.len(), 12, "every fault was met: {faulted:?}");
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn only_the_selected_tables_are_synced() {
    let sandbox = stand_in(20, &[]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(60), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let opts = options(secrets(&sandbox, json!({"tables": "pull_requests"})));

    sync_done(&mut host, &mut warehouse, &opts).await;
    assert_eq!(
        warehouse.tables().unwrap(),
        vec!["pull_requests".to_owned()]
    );
    let truth = sandbox.ground_truth();
    assert_eq!(
        warehouse.row_count("pull_requests").unwrap(),
        truth.row_count("pull_requests") as u64
    );
    assert!(
        sandbox
            .request_log()
            .entries
            .iter()
            .all(|r| r.path.ends_with("/pulls"))
    );
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn github_enterprise_paths_under_api_v3_work() {
    let sandbox = stand_in(15, &[]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(60), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let base_url = format!("{}/api/v3", sandbox.base_url());
    let opts = options(secrets(
        &sandbox,
        json!({"baseUrl": base_url, "pageSize": "4"}),
    ));

    sync_done(&mut host, &mut warehouse, &opts).await;
    assert_truth(&sandbox, &warehouse, "under /api/v3");
    assert!(
        sandbox
            .request_log()
            .entries
            .iter()
            .all(|r| r.path.starts_with("/api/v3/repos/"))
    );
    host.stop().await;
    sandbox.shutdown().await;
}
