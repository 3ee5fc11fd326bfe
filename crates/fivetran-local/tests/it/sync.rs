//! A well-behaved function (built with `fivetran_core::lambda::run`) through the real Runtime API host: warehouse
//! contents, state handling, soft deletes, widening, append tables, errors, setup tests, zips and logs.

use std::io::Write;
use std::time::Duration;

use fivetran_local::sync::{Cause, Stop};
use fivetran_local::warehouse::types::ColumnType;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_full_sync_writes_fivetran_semantics_and_moves_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let log = dir.path().join("function.log");
    let mut host = start(
        WELL_BEHAVED,
        fivetran_local::host::HostConfig {
            log_file: Some(log.clone()),
            ..config(&[], Duration::from_secs(20))
        },
    )
    .await;

    // Two calls: the state stops after page 2, with a soft delete in place.
    let mut opts = options(json!({"apiKey": "good"}));
    opts.max_calls = 2;
    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(report.stop, Stop::MaxCalls { limit: 2 });
    assert_eq!(
        warehouse.state().unwrap(),
        *json!({"page": 2}).as_object().unwrap()
    );
    let accounts = warehouse.read_table("accounts").unwrap();
    assert_eq!(accounts.len(), 2);
    assert_eq!(accounts[1]["number"], json!(2));
    assert_eq!(accounts[1]["_fivetran_deleted"], json!(true), "soft delete");
    assert_eq!(report.tables["items"].counts.updated, 1);
    assert_eq!(report.tables["items"].counts.deleted, 1);
    assert_eq!(report.tables["accounts"].counts.soft_deleted, 1);

    // The next sync continues from page 2 and ends; the soft-deleted row comes back.
    opts.max_calls = 1000;
    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(report.stop, Stop::Done, "{report:?}");
    assert_eq!(report.calls, 1);
    assert_eq!(report.processes, 1, "one process serves every invocation");
    assert_eq!(
        warehouse.state().unwrap(),
        *json!({"page": 3}).as_object().unwrap()
    );

    let items = warehouse.read_table("items").unwrap();
    assert_eq!(
        data(items.clone()),
        vec![
            json!({"id": 1, "name": "item 1", "score": 10.0, "active": true,
                   "updated_at": "2026-01-01T00:00:00Z", "tags": {"size": 1, "labels": ["a", "b"]}, "note": null}),
            json!({"id": 3, "name": "item 3 renamed", "score": 2.5, "active": false,
                   "updated_at": "2026-01-05T00:00:00Z", "tags": null, "note": null}),
            json!({"id": 4, "name": "item 4", "score": 40.0, "active": null,
                   "updated_at": null, "tags": null, "note": "new column"}),
        ]
    );
    for row in &items {
        assert!(row["_fivetran_synced"].as_str().unwrap().ends_with('Z'));
        assert_eq!(row["_fivetran_deleted"], json!(false));
    }
    let kinds: Vec<(String, ColumnType)> = warehouse
        .columns("items")
        .unwrap()
        .into_iter()
        .map(|c| (c.name, c.kind))
        .collect();
    for (name, kind) in [
        ("id", ColumnType::Integer),
        ("score", ColumnType::Double),
        ("active", ColumnType::Boolean),
        ("updated_at", ColumnType::Timestamp),
        ("tags", ColumnType::Json),
        ("note", ColumnType::Text),
    ] {
        assert!(
            kinds.contains(&(name.to_owned(), kind)),
            "{name}: {kinds:?}"
        );
    }

    let accounts = warehouse.read_table("accounts").unwrap();
    assert_eq!(accounts[1]["owner"], json!("bo again"));
    assert_eq!(
        accounts[1]["_fivetran_deleted"],
        json!(false),
        "a row that comes back flips to false"
    );

    let events = warehouse.read_table("events").unwrap();
    let keys: Vec<(String, i64)> = events
        .iter()
        .map(|e| {
            (
                e["_fivetran_batch"].as_str().unwrap().to_owned(),
                e["_fivetran_index"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            ("sync-1-000001".into(), 0),
            ("sync-1-000001".into(), 1),
            ("sync-1-000002".into(), 0)
        ]
    );

    // A further sync with no source changes leaves the warehouse as it is.
    let before = (
        warehouse.read_table("items").unwrap(),
        warehouse.read_table("events").unwrap(),
    );
    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(report.stop, Stop::Done);
    assert_eq!(report.rows, 0);
    assert_eq!(data(before.0), data(warehouse.read_table("items").unwrap()));
    assert_eq!(
        before.1.len(),
        warehouse.read_table("events").unwrap().len()
    );
    host.stop().await;

    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("START RequestId: "), "{logs}");
    assert!(logs.contains("REPORT RequestId: "), "{logs}");

    // Reset forgets the state; the tables stay unless dropped.
    warehouse.reset(false).unwrap();
    assert!(warehouse.state().unwrap().is_empty());
    assert_eq!(warehouse.row_count("items").unwrap(), 3);
    warehouse.reset(true).unwrap();
    assert_eq!(warehouse.row_count("items").unwrap(), 0);
    assert!(warehouse.tables().unwrap().is_empty());
}

#[tokio::test]
async fn an_error_through_the_runtime_keeps_the_previous_call_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let log = dir.path().join("function.log");
    let mut host = start(
        WELL_BEHAVED,
        fivetran_local::host::HostConfig {
            log_file: Some(log.clone()),
            log_format: "JSON".to_owned(),
            ..config(&[], Duration::from_secs(20))
        },
    )
    .await;
    let report = sync_into(
        &mut host,
        &mut warehouse,
        &options(json!({"failOnPage": "2"})),
    )
    .await;
    match &report.stop {
        Stop::Failed {
            call,
            cause,
            message,
        } => {
            assert_eq!((*call, *cause), (2, Cause::FunctionError));
            assert!(
                message.contains("page 2 is configured to fail"),
                "{message}"
            );
            assert!(message.contains("InvalidState"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        warehouse.state().unwrap(),
        *json!({"page": 1}).as_object().unwrap()
    );
    assert_eq!(warehouse.row_count("items").unwrap(), 3);
    assert_eq!(
        report.processes, 1,
        "an error is not a crash: the process stays"
    );
}

#[tokio::test]
async fn the_setup_test_checks_the_secrets_and_the_answer() {
    let mut host = start(WELL_BEHAVED, config(&[], Duration::from_secs(20))).await;
    let template = options(json!({"apiKey": "good"})).request;
    let ok = fivetran_local::setup_test::run(&mut host, &template, &Default::default()).await;
    assert!(ok.ok, "{ok:?}");
    let template = options(json!({"apiKey": "wrong"})).request;
    let bad = fivetran_local::setup_test::run(&mut host, &template, &Default::default()).await;
    assert!(!bad.ok);
    assert!(bad.message.contains("apiKey"), "{}", bad.message);
}

#[tokio::test]
async fn a_bootstrap_zip_runs_like_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("bootstrap.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    writer
        .start_file(
            "bootstrap",
            zip::write::SimpleFileOptions::default().unix_permissions(0o755),
        )
        .unwrap();
    writer
        .write_all(&std::fs::read(WELL_BEHAVED).unwrap())
        .unwrap();
    writer.finish().unwrap();
    let mut host = start(
        zip_path.to_str().unwrap(),
        config(&[], Duration::from_secs(20)),
    )
    .await;
    assert_eq!(
        host.function_name(),
        dir.path().file_name().unwrap().to_str().unwrap()
    );
    let mut warehouse = warehouse(dir.path());
    let report = sync_into(&mut host, &mut warehouse, &options(json!({}))).await;
    assert_eq!(report.stop, Stop::Done);
    assert_eq!(report.calls, 3);
}
