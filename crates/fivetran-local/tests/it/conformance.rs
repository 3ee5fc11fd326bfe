//! One misbehaving function per protocol rule: each violation names the call, the table and the rule, and the
//! warehouse and state stay as they were.

use std::time::Duration;

use fivetran_local::check::Rule;
use fivetran_local::sync::{Cause, Stop};
use serde_json::json;

use crate::support::*;

/// Runs `behaviour` as a check and as a sync; both must fail at call `call` with `rule` on `table`.
async fn violates(behaviour: &str, call: u64, table: Option<&str>, rule: Rule) {
    let mut host = misbehaving(behaviour).await;
    let report = check(&mut host).await;
    let Stop::Failed {
        call: failed,
        cause,
        message,
    } = &report.stop
    else {
        panic!("{behaviour}: expected a failure, got {:?}", report.stop);
    };
    assert_eq!(
        (*failed, *cause),
        (call, Cause::Violation),
        "{behaviour}: {message}"
    );
    let found = report
        .violations
        .iter()
        .find(|v| v.rule == rule)
        .unwrap_or_else(|| panic!("{behaviour}: no {rule:?} in {:?}", report.violations));
    assert_eq!(found.call, call);
    assert_eq!(found.table.as_deref(), table, "{behaviour}: {found}");
    assert!(
        message.contains(&format!("[{}]", rule.id())),
        "{behaviour}: {message}"
    );
    assert!(
        message.contains(&format!("call {call}")),
        "{behaviour}: {message}"
    );

    // Through a warehouse: nothing of the failed call is written, the state is the previous call's.
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let report = sync_into(&mut host, &mut warehouse, &options(json!({}))).await;
    assert!(
        matches!(
            report.stop,
            Stop::Failed {
                cause: Cause::Violation,
                ..
            }
        ),
        "{behaviour}"
    );
    let expected_rows = call - 1;
    assert_eq!(
        warehouse.row_count("t").unwrap(),
        expected_rows,
        "{behaviour}"
    );
    let expected_state = if call == 1 {
        json!({})
    } else {
        json!({"n": call - 1})
    };
    assert_eq!(
        serde_json::Value::Object(warehouse.state().unwrap()),
        expected_state,
        "{behaviour}"
    );
    host.stop().await;
}

#[tokio::test]
async fn every_rule_has_a_misbehaving_function() {
    let cases = [
        ("garbage-body", None, Rule::Json),
        ("not-object", None, Rule::Object),
        ("oversize", None, Rule::Size),
        ("no-state", None, Rule::StateObject),
        ("state-array", None, Rule::StateObject),
        ("has-more-string", None, Rule::HasMoreBoolean),
        ("no-has-more", None, Rule::HasMoreBoolean),
        ("no-schema", Some("t"), Rule::SchemaEntry),
        ("schema-shape", Some("t"), Rule::SchemaShape),
        ("rows-shape", Some("t"), Rule::RowsShape),
        ("missing-pk", Some("t"), Rule::PrimaryKeyPresent),
        ("null-pk", Some("t"), Rule::PrimaryKeyPresent),
        (
            "soft-delete-unknown",
            Some("nowhere"),
            Rule::SoftDeleteKnown,
        ),
        ("soft-delete-shape", None, Rule::SoftDeleteShape),
        ("delete-without-key", Some("log"), Rule::DeleteWithoutKey),
        ("empty-has-more", None, Rule::EmptyHasMore),
    ];
    for (behaviour, table, rule) in cases {
        violates(behaviour, 1, table, rule).await;
    }
    violates("bad-second", 2, Some("t"), Rule::PrimaryKeyPresent).await;
    violates("pk-change-second", 2, Some("t"), Rule::PrimaryKeyStable).await;
}

#[tokio::test]
async fn a_violation_message_reads_call_table_rule() {
    let mut host = misbehaving("missing-pk").await;
    let report = check(&mut host).await;
    assert_eq!(
        report.violations[0].to_string(),
        "call 1, table `t`: [primary-key-present] row 2 of `insert`: primary-key column `id` is missing"
    );
}

#[tokio::test]
async fn more_than_ten_empty_responses_stop_the_sync() {
    let mut host = misbehaving("empty-forever").await;
    let report = check(&mut host).await;
    match &report.stop {
        Stop::Failed {
            call,
            cause,
            message,
        } => {
            assert_eq!((*call, *cause), (11, Cause::TooManyEmpty));
            assert!(
                message.contains("11 consecutive responses without rows"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn the_call_limit_stops_a_function_that_never_ends() {
    let mut host = misbehaving("more-forever").await;
    let mut opts = options(json!({}));
    opts.max_calls = 5;
    let report = fivetran_local::sync::run(&mut host, None, Default::default(), &opts, &mut |_| {})
        .await
        .unwrap();
    assert_eq!(report.stop, Stop::MaxCalls { limit: 5 });
    assert_eq!(report.calls, 5);
    assert_eq!(report.state, *json!({"n": 5}).as_object().unwrap());
}

#[tokio::test]
async fn an_unknown_key_is_a_warning_not_a_failure() {
    let mut host = misbehaving("unknown-key").await;
    let report = check(&mut host).await;
    assert_eq!(report.stop, Stop::Done);
    assert_eq!(report.warnings.len(), 1);
    assert_eq!(report.warnings[0].rule, Rule::UnknownKey);
    assert!(report.warnings[0].detail.contains("has_more"));
}

#[tokio::test]
async fn a_call_the_warehouse_refuses_is_rolled_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    // Another connection owns table `t` in the same file (no table prefix).
    let path = dir.path().join("w.sqlite");
    let mut other = fivetran_local::warehouse::Warehouse::open(&path, "other", "").unwrap();
    let mut changes = fivetran_local::warehouse::Changes::default();
    changes.insert.insert(
        "t".into(),
        vec![json!({"id": 1}).as_object().unwrap().clone()],
    );
    changes.primary_keys.insert("t".into(), vec!["id".into()]);
    other
        .apply(&changes, &Default::default(), "b", chrono::Utc::now())
        .unwrap();

    let mut warehouse = warehouse(dir.path());
    let mut host = start(
        MISBEHAVING,
        config(&[("MISBEHAVE", "two-tables")], Duration::from_secs(20)),
    )
    .await;
    let report = sync_into(&mut host, &mut warehouse, &options(json!({}))).await;
    match &report.stop {
        Stop::Failed {
            call,
            cause,
            message,
        } => {
            assert_eq!((*call, *cause), (1, Cause::Warehouse));
            assert!(
                message.contains("belongs to another connection"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Table `a_new` sorts before `t`: it was created and written inside the refused call's transaction.
    assert!(warehouse.tables().unwrap().is_empty());
    assert_eq!(
        warehouse.row_count("a_new").unwrap(),
        0,
        "a_new must not exist"
    );
    assert!(warehouse.state().unwrap().is_empty());
    assert_eq!(other.row_count("t").unwrap(), 1);
}
