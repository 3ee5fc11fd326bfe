//! Payload sizes through the engine: records from a few bytes to larger than the byte budget, big states and big
//! child arrays. Every response body (state included) stays under the budget and the sync loses nothing; a single
//! record that cannot fit gives a `RecordTooLarge` error naming the stream and the record's key. Through the
//! `CLOUD_STORAGE` method (moto_server as S3), one call carries an object beyond Lambda's 6 MB response limit.

use std::time::Duration;

use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Child, Config, Endpoint, Stream};
use fivetran_core::lambda::{Invocation, handle};
use fivetran_core::paginate::Pagination;
use fivetran_core::protocol::MAX_RESPONSE_BYTES;
use fivetran_core::{Engine, Error, Secrets};
use serde_json::{Value, json};

use crate::harness::{Hit, Reply, Server, engine};

/// One call through the named handler; returns the body exactly as Lambda would send it.
async fn body<C: fivetran_core::connector::Connector>(
    engine: &Engine<C>,
    state: &Value,
) -> Result<String, Error> {
    let invocation = Invocation::with_timeout("payload", Duration::from_secs(120));
    let request = json!({"state": state, "secrets": {}, "sync_id": "payload"});
    Ok(handle(engine, request, &invocation).await?.get().to_owned())
}

/// Calls until `hasMore: false` or an error; checks every body against `budget`; returns the ids of `table` in
/// order and the error, if any.
async fn sync_checked<C: fivetran_core::connector::Connector>(
    engine: &Engine<C>,
    table: &str,
    budget: usize,
) -> (Vec<u64>, Option<Error>) {
    let mut state = json!({});
    let mut ids = Vec::new();
    for _ in 0..500 {
        let text = match body(engine, &state).await {
            Ok(text) => text,
            Err(error) => return (ids, Some(error)),
        };
        assert!(
            text.len() <= budget,
            "a response of {} bytes, budget {budget}",
            text.len()
        );
        let response: Value = serde_json::from_str(&text).unwrap();
        crate::harness::check_protocol(&response);
        for row in response["insert"][table].as_array().into_iter().flatten() {
            ids.push(row["id"].as_u64().unwrap());
        }
        state = response["state"].clone();
        if response["hasMore"] != json!(true) {
            return (ids, None);
        }
    }
    panic!("no end after 500 calls");
}

/// `n` records, 20 per page; record `i` has a text field of about `size(i)` bytes of JSON (non-ASCII and
/// escaped characters, so UTF-8 length and escaping both count) and `children(i)` child rows of 1 KB.
fn records(
    n: u64,
    size: impl Fn(u64) -> usize + Send + Sync + 'static,
    children: impl Fn(u64) -> usize + Send + Sync + 'static,
) -> impl Fn(&Hit) -> Reply + Send + Sync + 'static {
    move |hit| {
        let page = hit.num("page").unwrap_or(1);
        let data: Vec<Value> = ((page - 1) * 20 + 1..=(page * 20).min(n))
            .map(|i| {
                let kids: Vec<Value> = (0..children(i))
                    .map(|k| json!({"id": k, "note": "n".repeat(1_000)}))
                    .collect();
                // "é\"\n" is 6 bytes of JSON: `é` (2 bytes of UTF-8), `\"` and `\n` (2 bytes each escaped).
                json!({"id": i, "text": "é\"\n".repeat(size(i) / 6), "kids": kids})
            })
            .collect();
        Reply::json(json!({"data": data}))
    }
}

fn config(url: &str, budget: usize) -> fivetran_core::Result<Config> {
    Ok(Config::new(url, Auth::None)?
        .budget(BudgetSettings {
            bytes: budget,
            time_margin: Duration::from_secs(1),
        })
        .stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::page_number("page").size("page_size", 20))
                .child(Child::new("kids", "item_kids", "item_id", &["id"])),
        ))
}

#[tokio::test]
async fn record_sizes_from_tiny_to_the_budget_lose_nothing() {
    const BUDGET: usize = 64 * 1024;
    // Sizes cycle through 1 B, 100 B, 1 KB, 10 KB, 30 KB and 55 KB: the largest fits alone (with its children and
    // the state) but not with another.
    let sizes = [1, 100, 1_000, 10_000, 30_000, 55_000];
    let server = Server::start(records(
        90,
        move |i| sizes[(i % 6) as usize],
        |i| (i % 3) as usize,
    ))
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, BUDGET));
    let (ids, error) = sync_checked(&engine, "items", BUDGET).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(
        ids,
        (1..=90).collect::<Vec<_>>(),
        "every record once, in order"
    );
}

#[tokio::test]
async fn a_record_larger_than_the_budget_is_a_clear_error() {
    const BUDGET: usize = 64 * 1024;
    let server = Server::start(records(50, |i| if i == 33 { 70_000 } else { 500 }, |_| 1)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, BUDGET));
    let (ids, error) = sync_checked(&engine, "items", BUDGET).await;
    let error = error.expect("record 33 cannot fit");
    assert_eq!(error.error_type(), "RecordTooLarge");
    let message = error.to_string();
    assert!(
        message.contains("items") && message.contains("33"),
        "{message}"
    );
    assert!(message.contains("budget"), "{message}");
    assert_eq!(
        ids,
        (1..=32).collect::<Vec<_>>(),
        "everything before it, once"
    );
}

#[tokio::test]
async fn child_rows_count_towards_their_record() {
    const BUDGET: usize = 64 * 1024;
    // Record 7 is small itself but brings 80 child rows of 1 KB.
    let server = Server::start(records(20, |_| 100, |i| if i == 7 { 80 } else { 2 })).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, BUDGET));
    let (ids, error) = sync_checked(&engine, "items", BUDGET).await;
    let error = error.expect("record 7 and its children cannot fit");
    assert_eq!(error.error_type(), "RecordTooLarge");
    assert!(
        error.to_string().contains("items") && error.to_string().contains('7'),
        "{error}"
    );
    assert_eq!(ids, (1..=6).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_large_state_is_counted_in_the_budget() {
    const BUDGET: usize = 48 * 1024;
    // A cursor token of 20 KB goes into the state with every page.
    let server = Server::start(|hit: &Hit| {
        let page: u64 = hit
            .query
            .get("cursor")
            .map_or(0, |c| c[..4].parse().unwrap());
        let data: Vec<Value> = (page * 10 + 1..=page * 10 + 10)
            .map(|i| json!({"id": i, "text": "x".repeat(2_000)}))
            .collect();
        let next = if page < 9 {
            json!(format!("{:04}{}", page + 1, "t".repeat(20_000)))
        } else {
            Value::Null
        };
        Reply::json(json!({"data": data, "next": next}))
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?
            .budget(BudgetSettings {
                bytes: BUDGET,
                time_margin: Duration::from_secs(1),
            })
            .stream(
                Stream::new("items", &["id"], Endpoint::get("/items"))
                    .records("/data")
                    .paginate(Pagination::token("cursor", "/next")),
            ))
    });
    let (ids, error) = sync_checked(&engine, "items", BUDGET).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(ids, (1..=100).collect::<Vec<_>>());
}

#[tokio::test]
async fn the_default_budget_splits_more_than_six_megabytes() {
    // 7.5 MB of records of 100 KB under the default budget (5 MiB): at least two calls, each under both limits.
    let server = Server::start(records(75, |_| 100_000, |_| 0)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::page_number("page").size("page_size", 20)),
        ))
    });
    let budget = BudgetSettings::default().bytes;
    assert!(budget <= MAX_RESPONSE_BYTES);
    let (ids, error) = sync_checked(&engine, "items", budget).await;
    assert!(error.is_none(), "{error:?}");
    assert_eq!(ids, (1..=75).collect::<Vec<_>>());
}

#[tokio::test]
async fn one_record_above_the_default_budget_names_stream_and_key() {
    let server = Server::start(records(3, |i| if i == 2 { 5_500_000 } else { 10 }, |_| 0)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::page_number("page").size("page_size", 20)),
        ))
    });
    let (ids, error) = sync_checked(&engine, "items", BudgetSettings::default().bytes).await;
    let error = error.expect("record 2 is above 5 MiB");
    assert_eq!(error.error_type(), "RecordTooLarge");
    assert!(
        error.to_string().starts_with("items: record 2 is "),
        "{error}"
    );
    assert_eq!(ids, [1]);
}

#[tokio::test]
async fn the_cloud_storage_method_carries_more_than_lambdas_limit() {
    // 70 records of 100 KB: one object of about 7 MB, above Lambda's 6,291,556-byte response limit, while the body
    // (state, schema, hasMore) stays small.
    let s3 = crate::moto::moto();
    s3.create_bucket("payload-7mb", None).await;
    let server = Server::start(records(70, |_| 100_000, |_| 0)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::page_number("page").size("page_size", 20)),
        ))
    })
    .with_s3_config(s3.config());
    let invocation = Invocation::with_timeout("payload", Duration::from_secs(120));
    let request = json!({
        "state": {}, "secrets": {}, "sync_id": "payload",
        "bucket": "payload-7mb", "file": "sync/7mb.json",
    });
    let body = handle(&engine, request, &invocation).await.unwrap();
    assert!(
        body.get().len() < 10_000,
        "the body holds no rows: {} bytes",
        body.get().len()
    );
    let response: Value = serde_json::from_str(body.get()).unwrap();
    assert_eq!(
        response["hasMore"],
        json!(false),
        "every row fits one object"
    );
    let object = s3.get_object("payload-7mb", "sync/7mb.json").await;
    assert!(
        object.len() > MAX_RESPONSE_BYTES,
        "object of {} bytes",
        object.len()
    );
    let object: Value = serde_json::from_slice(&object).unwrap();
    let ids: Vec<u64> = object["insert"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=70).collect::<Vec<_>>());
}
