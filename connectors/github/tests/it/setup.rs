//! The setup test: one cheap authenticated request; rejected credentials and bad secrets are named without their
//! values.

use std::time::Duration;

use fivetran_local::setup_test;
use serde_json::{Map, Value, json};

use crate::support::*;

async fn run(secrets: Value) -> setup_test::SetupTestReport {
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(30), &scratch.logs()).await;
    let report = setup_test::run(&mut host, &options(secrets).request, &Map::new()).await;
    host.stop().await;
    report
}

#[tokio::test]
async fn good_credentials_pass_with_one_request() {
    let sandbox = stand_in(5, &[]).await;
    let report = run(secrets(&sandbox, json!({}))).await;
    assert!(report.ok, "{}: {:?}", report.message, report.violations);
    assert_eq!(sandbox.request_count(), 1);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn rejected_credentials_are_named_without_the_token() {
    let sandbox = stand_in(5, &[]).await;
    let wrong = "ghp_wrongwrongwrongwrongwrongwrongwrong00";
    let report = run(secrets(&sandbox, json!({"token": wrong}))).await;
    assert!(!report.ok);
    assert!(
        report.message.contains("credentials were rejected"),
        "{}",
        report.message
    );
    assert!(!report.message.contains(wrong), "{}", report.message);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_secrets_are_named() {
    let sandbox = stand_in(5, &[]).await;
    for (extra, named) in [
        (json!({"repositories": "octo-org"}), "repositories"),
        (json!({"repositories": " , "}), "repositories"),
        (json!({"pageSize": "500"}), "pageSize"),
        (json!({"baseUrl": "ftp://example"}), "baseUrl"),
        (json!({"token": null}), "token"),
    ] {
        let report = run(secrets(&sandbox, extra.clone())).await;
        assert!(!report.ok, "{extra}");
        assert!(
            report.message.contains(&format!("`{named}`")),
            "{extra}: {}",
            report.message
        );
        assert!(!report.message.contains(TOKEN), "{}", report.message);
    }
    assert_eq!(sandbox.request_count(), 0, "bad secrets make no request");
    sandbox.shutdown().await;
}
