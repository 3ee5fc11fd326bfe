//! The `CLOUD_STORAGE` sync method end to end, through `lambda::handle`: a connector's engine against a local API
//! and a real S3-compatible server (`moto_server`). The object holds what a direct response would carry, the body
//! only `state`, `schema` and `hasMore`, the object's budget replaces the response's, and a failed upload is an
//! error naming bucket and key, so the state does not advance (the repeated call then succeeds).

use std::time::Duration;

use fivetran_core::Secrets;
use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Config, Endpoint, Stream};
use fivetran_core::lambda::{Invocation, handle};
use fivetran_core::paginate::Pagination;
use serde_json::{Value, json};

use crate::harness::{Reply, Server, engine};
use crate::moto::moto;

/// 120 records of about 500 bytes, 25 per page.
fn records(hit: &crate::harness::Hit) -> Reply {
    let page = hit.num("page").unwrap_or(1);
    let data: Vec<Value> = (1..=120u64)
        .skip(((page - 1) * 25) as usize)
        .take(25)
        .map(|i| json!({"id": i, "text": "x".repeat(500), "big": u64::MAX - i}))
        .collect();
    Reply::json(json!({"data": data}))
}

fn config(url: &str, bytes: usize) -> fivetran_core::Result<Config> {
    Ok(Config::new(url, Auth::None)?
        .budget(BudgetSettings {
            bytes,
            time_margin: Duration::from_secs(1),
        })
        .stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::page_number("page").size("page_size", 25)),
        ))
}

async fn call(
    engine: &fivetran_core::Engine<impl fivetran_core::connector::Connector>,
    state: &Value,
    target: Option<(&str, &str)>,
) -> fivetran_core::Result<Value> {
    let mut request = json!({"state": state, "secrets": {}, "sync_id": "s3-test"});
    if let Some((bucket, file)) = target {
        request["bucket"] = bucket.into();
        request["file"] = file.into();
    }
    let invocation = Invocation::with_timeout("s3-test", Duration::from_secs(60));
    let body = handle(engine, request, &invocation).await?;
    Ok(serde_json::from_str(body.get()).unwrap())
}

#[tokio::test]
async fn the_object_carries_the_rows_and_the_body_the_rest() {
    let s3 = moto();
    s3.create_bucket("e2e-rows", None).await;
    let server = Server::start(records).await;
    let url = server.url.clone();
    // A direct response budget far too small for all rows: the object's budget (64 MiB) applies instead.
    let engine = engine(move |_: &Secrets| config(&url, 8_000)).with_s3_config(s3.config());
    let body = call(&engine, &json!({}), Some(("e2e-rows", "sync/1.json")))
        .await
        .unwrap();
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["hasMore", "schema", "state"], "{body}");
    assert_eq!(body["hasMore"], json!(false), "every row fits one object");
    assert_eq!(body["schema"]["items"]["primary_key"], json!(["id"]));

    let object: Value =
        serde_json::from_slice(&s3.get_object("e2e-rows", "sync/1.json").await).unwrap();
    assert_eq!(object["insert"]["items"].as_array().unwrap().len(), 120);
    assert_eq!(object["insert"]["items"][0]["big"], json!(u64::MAX - 1));

    // A direct call with a budget large enough returns the same rows and state.
    let url = server.url.clone();
    let direct = engine_direct(&url);
    let response = call(&direct, &json!({}), None).await.unwrap();
    assert_eq!(object["insert"], response["insert"]);
    assert_eq!(object["delete"], response["delete"]);
    // The same state, up to the sync's start time that it records.
    let without_times = |state: &Value| {
        state
            .to_string()
            .split('"')
            .filter(|s| !s.starts_with("20"))
            .collect::<String>()
    };
    assert_eq!(
        without_times(&body["state"]),
        without_times(&response["state"])
    );
    assert_eq!(body["schema"], response["schema"]);
}

fn engine_direct(url: &str) -> fivetran_core::Engine<impl fivetran_core::connector::Connector> {
    let url = url.to_owned();
    engine(move |_: &Secrets| config(&url, 5 * 1024 * 1024))
}

#[tokio::test]
async fn a_failed_upload_fails_the_call_and_the_repeat_succeeds() {
    let s3 = moto();
    let server = Server::start(records).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, 8_000)).with_s3_config(s3.config());
    let state = json!({});
    let error = call(&engine, &state, Some(("e2e-later", "call-1.json")))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "StorageError");
    let text = error.to_string();
    assert!(
        text.starts_with("s3://e2e-later/call-1.json: cannot write the object: ")
            && text.contains("NoSuchBucket"),
        "{text}"
    );
    // The Lambda error carries no body, so Fivetran keeps its state and repeats the call with it.
    s3.create_bucket("e2e-later", None).await;
    let body = call(&engine, &state, Some(("e2e-later", "call-1.json")))
        .await
        .unwrap();
    assert_eq!(body["hasMore"], json!(false));
    let object: Value =
        serde_json::from_slice(&s3.get_object("e2e-later", "call-1.json").await).unwrap();
    assert_eq!(object["insert"]["items"].as_array().unwrap().len(), 120);
}

#[tokio::test]
async fn a_call_without_rows_still_writes_its_object() {
    let s3 = moto();
    s3.create_bucket("e2e-empty", None).await;
    let server = Server::start(|_| Reply::json(json!({"data": []}))).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, 8_000)).with_s3_config(s3.config());
    let body = call(&engine, &json!({}), Some(("e2e-empty", "empty.json")))
        .await
        .unwrap();
    assert_eq!(body["hasMore"], json!(false));
    let object: Value =
        serde_json::from_slice(&s3.get_object("e2e-empty", "empty.json").await).unwrap();
    assert_eq!(object, json!({"insert": {}, "delete": {}}));
}
