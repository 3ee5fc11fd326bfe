//! The byte budget, the time budget, and the empty-response rule.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fivetran_core::Secrets;
use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Config, Endpoint, Stream};
use fivetran_core::paginate::Pagination;
use serde_json::{Value, json};

use crate::harness::{Reply, Server, call, call_with, engine, ids, row_count, sync};

/// `n` records of about `pad` bytes each, 25 per page.
fn padded(n: u64, pad: usize) -> impl Fn(&crate::harness::Hit) -> Reply {
    move |hit| {
        let page = hit.num("page").unwrap_or(1);
        let data: Vec<Value> = (1..=n)
            .skip(((page - 1) * 25) as usize)
            .take(25)
            .map(|i| json!({"id": i, "text": "x".repeat(if i == 77 { pad * 40 } else { pad })}))
            .collect();
        Reply::json(json!({"data": data}))
    }
}

fn config(url: &str, bytes: usize, margin: Duration) -> fivetran_core::Result<Config> {
    Ok(Config::new(url, Auth::None)?
        .budget(BudgetSettings {
            bytes,
            time_margin: margin,
        })
        .stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::page_number("page").size("page_size", 25)),
        ))
}

#[tokio::test]
async fn responses_stay_under_the_byte_budget_and_lose_nothing() {
    let server = Server::start(padded(120, 500)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, 8_000, Duration::from_secs(1)));
    // Record 77 is 20 KB: larger than the whole budget.
    let mut state = json!({});
    let mut seen = Vec::new();
    let error = loop {
        match call(&engine, state.clone(), json!({})).await {
            Ok(response) => {
                let size = response.to_string().len();
                assert!(size <= 8_000, "response of {size} bytes");
                assert!(row_count(&response) > 0);
                seen.extend(ids(std::slice::from_ref(&response), "items"));
                state = response["state"].clone();
                assert_eq!(response["hasMore"], json!(true));
            }
            Err(error) => break error,
        }
    };
    assert_eq!(error.error_type(), "RecordTooLarge");
    assert!(
        error.to_string().starts_with("items: record 77 is "),
        "{error}"
    );
    let expected: Vec<String> = (1..=76).map(|i| i.to_string()).collect();
    assert_eq!(
        seen, expected,
        "every record before the large one, once, in order"
    );
}

#[tokio::test]
async fn a_sync_of_many_calls_ends_with_every_record() {
    let server = Server::start(padded(60, 300)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, 6_000, Duration::from_secs(1)));
    let responses = sync(&engine, json!({}), json!({}), 40).await;
    assert!(responses.len() > 3);
    let all: BTreeSet<u64> = ids(&responses, "items")
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    assert_eq!(all, (1..=60).collect());
    for response in &responses {
        assert!(response.to_string().len() <= 6_000);
    }
}

#[tokio::test]
async fn the_budget_can_never_exceed_the_lambda_limit() {
    let engine =
        engine(|_: &Secrets| config("http://127.0.0.1:9", 6_291_457, Duration::from_secs(1)));
    let error = call(&engine, json!({}), json!({})).await.unwrap_err();
    assert_eq!(error.error_type(), "DeclarationError");
    assert!(error.to_string().contains("6291456-byte cap"), "{error}");
}

#[tokio::test]
async fn the_time_budget_stops_new_requests_and_returns_what_was_gathered() {
    let server = Server::start(|hit| padded(500, 10)(hit).delay(Duration::from_millis(300))).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, 5 << 20, Duration::from_secs(1)));
    let started = Instant::now();
    let response = call_with(&engine, json!({}), json!({}), Duration::from_millis(2_200))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(2_150),
        "returned before the deadline: {elapsed:?}"
    );
    assert_eq!(response["hasMore"], json!(true));
    let rows = row_count(&response);
    assert!(rows >= 25 && rows.is_multiple_of(25), "{rows}");
    let pages = rows as u64 / 25;
    assert_eq!(
        response["state"]["streams"]["items"]["window"]["position"],
        json!({"page": pages + 1})
    );
}

#[tokio::test]
async fn no_time_for_a_request_means_no_rows_unchanged_state_and_no_more() {
    let server = Server::start(padded(10, 10)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, 5 << 20, Duration::from_secs(2)));
    let state = json!({"version": 1, "streams": {}});
    let response = call_with(
        &engine,
        state.clone(),
        json!({}),
        Duration::from_millis(500),
    )
    .await
    .unwrap();
    assert_eq!(response["hasMore"], json!(false));
    assert_eq!(response["state"], state);
    assert_eq!(server.hits().len(), 0);
}

#[tokio::test]
async fn a_call_that_finishes_a_stream_without_rows_goes_on_with_the_moved_state() {
    // Stream `a` has nothing new but answers slowly; `b` cannot start before the margin in the first call.
    let server = Server::start(|hit| {
        if hit.path == "/a" {
            Reply::json(json!({"data": []})).delay(Duration::from_millis(1_600))
        } else {
            padded(3, 10)(hit)
        }
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?
            .budget(BudgetSettings {
                bytes: 5 << 20,
                time_margin: Duration::from_secs(1),
            })
            .stream(Stream::new("a", &["id"], Endpoint::get("/a")).records("/data"))
            .stream(
                Stream::new("b", &["id"], Endpoint::get("/b"))
                    .records("/data")
                    .paginate(Pagination::page_number("page").size("page_size", 25)),
            ))
    });
    let first = call_with(&engine, json!({}), json!({}), Duration::from_millis(2_500))
        .await
        .unwrap();
    assert_eq!(row_count(&first), 0);
    assert_eq!(
        first["hasMore"],
        json!(true),
        "the state moved: stream a is done"
    );
    assert_eq!(first["state"]["streams"]["a"]["done"], json!(true));
    let second = call(&engine, first["state"].clone(), json!({}))
        .await
        .unwrap();
    assert_eq!(ids(std::slice::from_ref(&second), "b"), ["1", "2", "3"]);
    assert_eq!(second["hasMore"], json!(false));
    assert_eq!(
        server.hits().iter().filter(|h| h.path == "/a").count(),
        1,
        "a is not read again"
    );
}
