//! GitHub-specific behaviour beyond the shared conformance checks: the stable order and the `since` filters, the
//! headers GitHub asks for, GitHub Enterprise's `/api/v3` prefix, and the `repositories`/`pageSize` secrets.

use std::time::Duration;

use fivetran_local::setup_test;
use serde_json::{Map, Value, json};

use crate::support::*;

/// Runs a setup test with these secrets.
async fn run(secrets: Value) -> setup_test::SetupTestReport {
    let scratch = Scratch::new();
    let mut host = function(Duration::from_secs(30), &scratch.logs()).await;
    let report = setup_test::run(&mut host, &options(secrets).request, &Map::new()).await;
    host.stop().await;
    report
}

#[tokio::test]
async fn lists_are_read_in_creation_order_and_a_second_sync_resends_nothing() {
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

#[tokio::test]
async fn requests_carry_the_headers_github_asks_for() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n[]")
            .await
            .unwrap();
        String::from_utf8_lossy(&head).to_ascii_lowercase()
    });
    let report =
        run(json!({"baseUrl": base_url, "token": TOKEN, "repositories": "octo-org/widgets"})).await;
    assert!(report.ok, "{}", report.message);
    let head = server.await.unwrap();
    assert!(
        head.starts_with("get /repos/octo-org/widgets/issues?per_page=1 "),
        "{head}"
    );
    for header in [
        "\r\naccept: application/vnd.github+json\r\n",
        "\r\nx-github-api-version: 2022-11-28\r\n",
        "\r\nuser-agent: fivetran-github-connector/",
        &format!("\r\nauthorization: bearer {TOKEN}\r\n"),
    ] {
        assert!(head.contains(header), "{header:?} missing in:\n{head}");
    }
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

#[tokio::test]
async fn the_setup_test_checks_every_repository() {
    let sandbox = stand_in(5, &[]).await;
    let report = run(secrets(&sandbox, json!({}))).await;
    assert!(report.ok, "{}", report.message);
    let checked: Vec<String> = sandbox
        .request_log()
        .entries
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        checked,
        sandbox_apis::GITHUB_REPOSITORIES
            .iter()
            .map(|r| format!("/repos/{r}/issues"))
            .collect::<Vec<_>>(),
        "one request per repository"
    );
    // A misspelt second repository fails the setup test, not the first sync; the message names it.
    let missing = format!("{},octo-org/gadgetz", sandbox_apis::GITHUB_REPOSITORIES[0]);
    let report = run(secrets(&sandbox, json!({"repositories": missing}))).await;
    assert!(!report.ok, "a missing repository passed the setup test");
    assert!(
        report.message.contains("octo-org/gadgetz"),
        "{}",
        report.message
    );
    assert!(!report.message.contains(TOKEN), "{}", report.message);
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
