//! GitHub's rate limits: the primary limit (`x-ratelimit-remaining: 0` until `x-ratelimit-reset`, as `403` or `429`)
//! and secondary limits (`retry-after`). A wait that fits the invocation is taken; one that does not ends the call
//! with the rows gathered and `hasMore: true`, or — with nothing gathered — with `hasMore: false` and the state
//! unchanged.

use std::time::Duration;

use fivetran_local::sync::Stop;
use sandbox_apis::{Faults, Sandbox};
use serde_json::json;

use crate::support::*;

/// The time between the faulted request `number` and the next one.
fn wait_after(sandbox: &Sandbox, number: u64) -> Duration {
    let log = sandbox.request_log();
    let at = |n: u64| {
        log.entries
            .iter()
            .find(|r| r.number == n)
            .map(|r| r.started)
            .unwrap_or_else(|| panic!("no request {n}"))
    };
    at(number + 1)
        .duration_since(at(number))
        .expect("requests in order")
}

#[tokio::test]
async fn a_primary_limit_that_resets_within_the_call_is_waited_for() {
    let sandbox = stand_in(20, &["quota:2@at=3", "quota-429:2@at=6"]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(60), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let opts = options(secrets(&sandbox, json!({"pageSize": "10"})));

    let report = sync_done(&mut host, &mut warehouse, &opts).await;
    assert_eq!(report.calls, 1, "the waits fit into one call");
    assert_truth(&sandbox, &warehouse, "after waiting for the reset");
    for faulted in [3, 6] {
        let waited = wait_after(&sandbox, faulted);
        assert!(
            waited >= Duration::from_millis(900),
            "request {faulted}: retried after {waited:?}, before the reset"
        );
    }
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_primary_limit_past_the_deadline_returns_the_rows_gathered_with_has_more() {
    for fault in ["quota:600@at=4", "quota-429:600@at=4"] {
        let sandbox = stand_in(20, &[fault]).await;
        let scratch = Scratch::new();
        // 40 s per call, 15 s of it kept as margin: a ten-minute reset cannot be waited for.
        let mut host = function(Duration::from_secs(40), &scratch.logs()).await;
        let mut warehouse = scratch.warehouse("w");
        let mut opts = options(secrets(&sandbox, json!({"pageSize": "10"})));
        opts.max_calls = 1;

        let first = sync_into(&mut host, &mut warehouse, &opts).await;
        assert_eq!(
            first.stop,
            Stop::MaxCalls { limit: 1 },
            "{fault}: hasMore: true"
        );
        assert!(
            first.rows > 0,
            "{fault}: the pages before the limit are returned"
        );
        assert!(
            first.elapsed_ms < 10_000,
            "{fault}: the call waited ({} ms)",
            first.elapsed_ms
        );
        assert!(
            scratch.log_text().contains("rate limited"),
            "{fault}: no log line about the limit"
        );

        opts.max_calls = 1000;
        sync_done(&mut host, &mut warehouse, &opts).await;
        assert_truth(&sandbox, &warehouse, fault);
        host.stop().await;
        sandbox.shutdown().await;
    }
}

#[tokio::test]
async fn a_limit_with_nothing_gathered_ends_the_sync_with_the_state_unchanged() {
    let sandbox = stand_in(20, &["quota:600@at=1"]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(40), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let opts = options(secrets(&sandbox, json!({})));

    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(report.stop, Stop::Done, "hasMore: false");
    assert_eq!((report.calls, report.rows), (1, 0));
    assert!(report.state.is_empty(), "state moved: {:?}", report.state);
    let log = scratch.log_text();
    assert!(
        log.contains("WARN") && log.contains("nothing gathered"),
        "no warning saying when the source accepts requests again:\n{log}"
    );

    // The next scheduled sync starts where this one could not.
    sync_done(&mut host, &mut warehouse, &opts).await;
    assert_truth(&sandbox, &warehouse, "the next sync");
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn secondary_limits_wait_for_retry_after() {
    let sandbox = stand_in(20, &["secondary:1@at=2", "secondary-429:1@at=5"]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(60), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let opts = options(secrets(&sandbox, json!({"pageSize": "10"})));

    let report = sync_done(&mut host, &mut warehouse, &opts).await;
    assert_eq!(report.calls, 1);
    assert_truth(&sandbox, &warehouse, "after secondary limits");
    for faulted in [2, 5] {
        let waited = wait_after(&sandbox, faulted);
        assert!(
            waited >= Duration::from_millis(950),
            "request {faulted}: retried after {waited:?}, before retry-after"
        );
    }
    host.stop().await;
    sandbox.shutdown().await;
}

#[tokio::test]
async fn a_secondary_limit_past_the_deadline_returns_the_rows_gathered_with_has_more() {
    let sandbox = stand_in(20, &["secondary:600@at=3"]).await;
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(40), &scratch.logs()).await;
    let mut warehouse = scratch.warehouse("w");
    let mut opts = options(secrets(&sandbox, json!({"pageSize": "10"})));
    opts.max_calls = 1;

    let first = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(first.stop, Stop::MaxCalls { limit: 1 });
    assert!(first.rows > 0);

    sandbox.set_faults(Faults::default());
    opts.max_calls = 1000;
    sync_done(&mut host, &mut warehouse, &opts).await;
    assert_truth(&sandbox, &warehouse, "after the secondary limit");
    host.stop().await;
    sandbox.shutdown().await;
}
