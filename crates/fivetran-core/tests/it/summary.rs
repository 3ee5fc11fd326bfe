//! Fetch-ahead under the byte budget, keyset and token resumption, the per-invocation summary line, and the
//! request and sync ids on every log line.

use std::collections::BTreeSet;
use std::time::Duration;

use fivetran_core::Secrets;
use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Config, Endpoint, Stream};
use fivetran_core::lambda::{Function, Invocation, LogBuffer, LogFormat, handle, subscriber};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::protocol::{Request, Response};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tracing_subscriber::EnvFilter;

use crate::harness::{Reply, Server, call, engine, ids, items, sync};

fn budget(bytes: usize) -> BudgetSettings {
    BudgetSettings {
        bytes,
        time_margin: Duration::from_secs(1),
    }
}

/// 95 items, `per_page` 10, totals in a header.
fn totals_server() -> impl Fn(&crate::harness::Hit) -> Reply {
    |hit| {
        let page = hit.num("page").unwrap_or(1);
        let data: Vec<Value> = items(1..=95)
            .into_iter()
            .skip(((page - 1) * 10) as usize)
            .take(10)
            .map(|mut r| {
                r["pad"] = json!("z".repeat(150));
                r
            })
            .collect();
        Reply::json(Value::Array(data)).header("x-wp-totalpages", "10")
    }
}

#[tokio::test]
async fn pages_fetched_ahead_are_emitted_in_order_and_the_state_stops_at_the_last_whole_page() {
    let server = Server::start(totals_server()).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.budget(budget(6_000)).stream(
            Stream::new("items", &["id"], Endpoint::get("/items")).paginate(
                Pagination::page_number("page")
                    .size("per_page", 10)
                    .total_pages(Total::Header("X-WP-TotalPages".into())),
            ),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 30).await;
    let all: Vec<u64> = ids(&responses, "items")
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    let expected: Vec<u64> = (1..=95).collect();
    assert_eq!(all, expected, "in page order, each once");
    for response in &responses[..responses.len() - 1] {
        let window = &response["state"]["streams"]["items"]["window"];
        let last = response["insert"]["items"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()["id"]
            .as_u64()
            .unwrap();
        // The state points at the page holding the next record, and skips what this response already holds.
        let page = window["position"]["page"].as_u64().unwrap_or(1);
        let skip = window.get("skip").and_then(Value::as_u64).unwrap_or(0);
        assert_eq!((page - 1) * 10 + skip, last, "{window}");
    }
}

#[tokio::test]
async fn keyset_streams_resume_after_the_last_key_written() {
    let server = Server::start(|hit| {
        let after: u64 = hit.num("since_id").unwrap_or(0);
        let data: Vec<Value> = items(1..=40)
            .into_iter()
            .filter(|r| r["id"].as_u64().unwrap() > after)
            .take(15)
            .map(|mut r| {
                r["pad"] = json!("k".repeat(200));
                r
            })
            .collect();
        Reply::json(json!({"rows": data}))
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.budget(budget(5_000)).stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/rows")
                .paginate(
                    Pagination::keyset("id")
                        .after_param("since_id")
                        .size("limit", 15),
                ),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 30).await;
    let all: Vec<String> = ids(&responses, "items");
    let expected: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    assert_eq!(all, expected);
    let positions: BTreeSet<String> = responses[..responses.len() - 1]
        .iter()
        .map(|r| {
            r["state"]["streams"]["items"]["window"]["position"]["after"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert!(positions.len() > 2, "{positions:?}");
}

#[tokio::test]
async fn a_token_seen_in_an_earlier_call_still_stops_the_stream() {
    // "a" → "b" → "a": the cycle closes in the second call of the sync.
    let server = Server::start(|hit| {
        let (range, next) = match hit.query.get("cursor").map(String::as_str) {
            None => (1..=5, "a"),
            Some("a") => (6..=10, "b"),
            _ => (11..=15, "a"),
        };
        let data: Vec<Value> = items(range)
            .into_iter()
            .map(|mut r| {
                r["pad"] = json!("t".repeat(300));
                r
            })
            .collect();
        Reply::json(json!({"data": data, "next": next}))
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.budget(budget(5_000)).stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::token("cursor", "/next")),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 10).await;
    assert!(responses.len() > 1);
    let all: BTreeSet<u64> = ids(&responses, "items")
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    assert_eq!(all, (1..=15).collect());
}

#[test]
fn every_call_ends_with_one_structured_summary_line() {
    // tracing-core caches callsite interest for the whole process: with other tests logging on other threads, an
    // event can miss this test's thread-local subscriber at random. The check runs in a process of its own.
    crate::harness::in_own_process("summary::summary_line_in_a_process_of_its_own");
}

#[tokio::test]
#[ignore = "run in a process of its own by every_call_ends_with_one_structured_summary_line"]
async fn summary_line_in_a_process_of_its_own() {
    let server = Server::start(totals_server()).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.budget(budget(6_000)).stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .paginate(Pagination::page_number("page").size("per_page", 10)),
        ))
    });
    let buffer = LogBuffer::default();
    let _guard = tracing::subscriber::set_default(subscriber(
        LogFormat::Json,
        EnvFilter::new("info"),
        buffer.clone(),
    ));
    call(&engine, json!({}), json!({})).await.unwrap();
    let logs = buffer.contents();
    let summaries: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["message"] == "sync call finished")
        .collect();
    assert_eq!(summaries.len(), 1, "{logs}");
    let line = &summaries[0];
    assert_eq!(line["stop"], "byte budget");
    assert!(
        line["rows"].as_str().unwrap().starts_with("items="),
        "{line}"
    );
    assert!(
        line["pages"].as_u64().unwrap() >= 1 && line["requests"].as_u64().unwrap() >= 1,
        "{line}"
    );
    assert_eq!(line["retries"], 0);
    assert!(line["bytes"].as_u64().unwrap() <= 6_000);
    assert_eq!(line["has_more"], true);
    assert_eq!(line["span"]["sync_id"], "test");
}

/// A function that logs and returns the state it was given (`lambda::handle`'s context, without an engine).
struct Echo;

impl Function for Echo {
    async fn setup_test(&self, request: &Request, _: &Invocation) -> fivetran_core::Result<()> {
        tracing::info!("checking credentials");
        request.secrets.required("apiKey").map(|_| ())
    }

    async fn sync(&self, request: Request, _: &Invocation) -> fivetran_core::Result<Box<RawValue>> {
        tracing::info!(rows = 0, "synced");
        Response::new(request.state, false).to_body()
    }
}

async fn echo(payload: Value) -> fivetran_core::Result<Box<RawValue>> {
    handle(
        &Echo,
        payload,
        &Invocation::with_timeout("req-42", Duration::from_secs(60)),
    )
    .await
}

#[test]
fn every_log_line_carries_request_id_and_sync_id() {
    // As for the summary line: the check runs in a process of its own.
    crate::harness::in_own_process("summary::log_lines_in_a_process_of_their_own");
}

#[tokio::test]
#[ignore = "run in a process of its own by every_log_line_carries_request_id_and_sync_id"]
async fn log_lines_in_a_process_of_their_own() {
    echo(json!({"state": {}, "secrets": {}})).await.unwrap();
    echo(json!({"state": 5})).await.unwrap_err();
    for format in [LogFormat::Json, LogFormat::Text] {
        let buffer = LogBuffer::default();
        let _guard = tracing::subscriber::set_default(subscriber(
            format,
            EnvFilter::new("info"),
            buffer.clone(),
        ));
        // Callsites registered before this thread's subscriber existed: recompute their cached interest.
        tracing::callsite::rebuild_interest_cache();
        echo(json!({"state": {}, "secrets": {"apiKey": "s3cr3t-value"}, "sync_id": "sync-7"}))
            .await
            .unwrap();
        echo(json!({"state": 5, "sync_id": "sync-8"}))
            .await
            .unwrap_err();
        let logs = buffer.contents();
        let lines: Vec<&str> = logs.lines().collect();
        assert!(lines.len() >= 2, "{logs}");
        for line in &lines {
            assert!(line.contains("req-42"), "no request id in {line}");
            assert!(
                line.contains("sync-7") || line.contains("sync-8"),
                "no sync id in {line}"
            );
            assert!(!line.contains("s3cr3t-value"));
            if format == LogFormat::Json {
                let parsed: Value = serde_json::from_str(line).unwrap();
                assert_eq!(parsed["span"]["request_id"], "req-42");
            }
        }
    }
}
