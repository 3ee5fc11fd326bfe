//! Bad input: each case gets a clear message naming the cause, and the warehouse and the state stay as they were.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use fivetran_local::host::Outcome;
use fivetran_local::sync::{Cause, Stop};
use serde_json::json;

use crate::support::*;

/// Syncs `behaviour` into a fresh warehouse and returns the failure plus the warehouse.
async fn failing_sync(
    behaviour: &str,
    timeout: Duration,
) -> (u64, Cause, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let mut host = start(MISBEHAVING, config(&[("MISBEHAVE", behaviour)], timeout)).await;
    let report = sync_into(&mut host, &mut warehouse, &options(json!({}))).await;
    host.stop().await;
    match report.stop {
        Stop::Failed {
            call,
            cause,
            message,
        } => (call, cause, message, dir),
        other => panic!("{behaviour}: expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn a_function_that_exits_during_an_invocation_is_a_crash() {
    let (call, cause, message, dir) = failing_sync("crash", Duration::from_secs(20)).await;
    assert_eq!((call, cause), (1, Cause::Crash));
    assert!(
        message.contains("exited (exit status: 7) during the invocation"),
        "{message}"
    );
    assert!(
        message.contains("misbehaving function starting: crash"),
        "the log tail is shown: {message}"
    );
    let warehouse = warehouse(dir.path());
    assert!(warehouse.state().unwrap().is_empty());
    assert!(warehouse.tables().unwrap().is_empty());
}

#[tokio::test]
async fn a_crash_on_the_second_call_keeps_the_first() {
    let (call, cause, _, dir) = failing_sync("crash-second", Duration::from_secs(20)).await;
    assert_eq!((call, cause), (2, Cause::Crash));
    let warehouse = warehouse(dir.path());
    assert_eq!(
        serde_json::Value::Object(warehouse.state().unwrap()),
        json!({"n": 1})
    );
    assert_eq!(warehouse.row_count("t").unwrap(), 1);
}

#[tokio::test]
async fn a_function_that_prints_garbage_and_exits_at_start_is_an_init_crash() {
    let (call, cause, message, _dir) = failing_sync("exit-at-start", Duration::from_secs(20)).await;
    assert_eq!((call, cause), (1, Cause::Crash));
    assert!(
        message.contains("exited (exit status: 3) during initialisation"),
        "{message}"
    );
    assert!(message.contains("garbage"), "{message}");
}

#[tokio::test]
async fn a_process_that_exits_after_answering_is_replaced_for_the_next_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let mut host = misbehaving("exit-after-each").await;
    let report = sync_into(&mut host, &mut warehouse, &options(json!({}))).await;
    assert_eq!(report.stop, Stop::Done, "{report:?}");
    assert_eq!(report.calls, 3);
    assert!(report.processes >= 2, "{report:?}");
    assert_eq!(warehouse.row_count("t").unwrap(), 3);
}

#[tokio::test]
async fn an_init_error_is_reported_as_one() {
    let (call, cause, message, _dir) = failing_sync("init-error", Duration::from_secs(20)).await;
    assert_eq!((call, cause), (1, Cause::InitError));
    assert!(
        message.contains("Runtime.ConfigError: missing configuration FOO"),
        "{message}"
    );
}

#[tokio::test]
async fn a_function_that_hangs_past_its_deadline_times_out() {
    let started = std::time::Instant::now();
    let (call, cause, message, dir) = failing_sync("hang", Duration::from_millis(700)).await;
    assert_eq!((call, cause), (1, Cause::Timeout));
    assert!(message.contains("timed out"), "{message}");
    assert!(message.contains("0.7 s"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(warehouse(dir.path()).state().unwrap().is_empty());
}

#[tokio::test]
async fn after_a_timeout_the_next_call_gets_a_fresh_process() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("hung");
    let mut host = start(
        MISBEHAVING,
        config(
            &[
                ("MISBEHAVE", "hang-first"),
                ("MISBEHAVE_MARKER", marker.to_str().unwrap()),
            ],
            Duration::from_millis(700),
        ),
    )
    .await;
    let request = options(json!({})).request.build(&Default::default(), None);
    let first = host.invoke(&request).await;
    assert!(
        matches!(first.outcome, Outcome::TimedOut { .. }),
        "{}",
        first.outcome
    );
    let second = host.invoke(&request).await;
    assert!(
        matches!(second.outcome, Outcome::Response(_)),
        "{}",
        second.outcome
    );
    assert_eq!(host.processes_started(), 2);
    host.stop().await;
}

#[tokio::test]
async fn an_error_body_and_an_error_response_name_the_cause() {
    let (_, cause, message, _dir) = failing_sync("error", Duration::from_secs(20)).await;
    assert_eq!(cause, Cause::FunctionError);
    assert!(
        message.contains("SourceUnavailable: upstream said 503 on /v1/items"),
        "{message}"
    );
    let (_, cause, message, _dir) = failing_sync("error-body", Duration::from_secs(20)).await;
    assert_eq!(cause, Cause::FunctionError);
    assert!(
        message.contains("AuthError: bad credentials for /v1/items"),
        "{message}"
    );
}

#[tokio::test]
async fn a_file_that_cannot_run_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, "not a program").unwrap();
    let error = fivetran_local::start_function(plain.to_str().unwrap(), &[], Default::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("is not executable"), "{error}");
    assert!(
        error.to_string().contains("without an execute bit"),
        "{error}"
    );

    std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o755)).unwrap();
    let error = fivetran_local::start_function(plain.to_str().unwrap(), &[], Default::default())
        .await
        .unwrap_err();
    assert!(error.to_string().contains("exec format error"), "{error}");
}

#[tokio::test]
async fn a_zip_without_bootstrap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let zip_path = dir.path().join("function.zip");
    let mut writer = zip::ZipWriter::new(std::fs::File::create(&zip_path).unwrap());
    writer
        .start_file("handler", zip::write::SimpleFileOptions::default())
        .unwrap();
    writer.finish().unwrap();
    let error = fivetran_local::start_function(zip_path.to_str().unwrap(), &[], Default::default())
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("has no `bootstrap` entry (entries: handler)"),
        "{error}"
    );
}
