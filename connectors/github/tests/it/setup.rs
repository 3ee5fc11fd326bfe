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
