//! The `CLOUD_STORAGE` object written to a real S3-compatible server (`moto_server` on loopback): the content
//! equals what a direct response would have carried, a 50 MB object goes up in one call, and a missing bucket, a
//! denied bucket and a closed port are `Error::Storage` naming bucket and key, never a credential.

use std::time::{Duration, Instant};

use fivetran_core::Error;
use fivetran_core::protocol::{Response, Row, StoragePayload, Table};
use fivetran_core::storage::{PayloadWriter, S3Client, S3Config};
use serde_json::{Value, json};

use crate::moto::{self, moto};

fn row(value: Value) -> Row {
    value.as_object().unwrap().clone()
}

fn client() -> S3Client {
    S3Client::new(reqwest::Client::new(), moto().config())
}

fn assert_no_secret(text: &str) {
    for secret in [
        moto::SECRET_KEY,
        moto::SESSION_TOKEN,
        "X-Amz-Signature",
        "X-Amz-Credential",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn the_object_holds_exactly_what_the_direct_response_would_carry() {
    let server = moto();
    server.create_bucket("roundtrip", None).await;
    let orders = Table::new("orders", &["id"]);
    let items = Table::new("order_line_items", &["order_id", "id"]).soft_deletes();
    let mut response = Response::new(
        row(json!({"orders": {"cursor": "2026-01-01T00:00:00Z"}})),
        true,
    );
    for id in 0..500u64 {
        response.insert(
            &orders,
            row(json!({"id": id, "total": "12.50", "note": "café ✓", "big": u64::MAX - id})),
        );
        response.insert(&items, row(json!({"order_id": id, "id": 1, "sku": null})));
    }
    response.delete(&items, row(json!({"order_id": 7, "id": 1})));
    let direct = serde_json::to_value(&response).unwrap();

    let (body, payload) = response.into_cloud_storage();
    let key = "sync/2026-11-21/call-0001.json";
    let object = PayloadWriter::from_payload(payload).unwrap().finish();
    client()
        .put_object("roundtrip", key, &object, None)
        .await
        .unwrap();

    let stored: Value = serde_json::from_slice(&server.get_object("roundtrip", key).await).unwrap();
    assert_eq!(stored["insert"], direct["insert"]);
    assert_eq!(stored["delete"], direct["delete"]);
    assert_eq!(stored["softDelete"], direct["softDelete"]);
    assert_eq!(
        stored["insert"]["orders"][3]["big"],
        json!(u64::MAX - 3),
        "u64 round-trips exactly"
    );
    assert_eq!(
        stored.as_object().unwrap().len(),
        3,
        "only insert, delete and softDelete: {:?}",
        stored.as_object().unwrap().keys()
    );
    // The body keeps what the object does not.
    let body = serde_json::to_value(&body).unwrap();
    assert_eq!(
        body,
        json!({"state": direct["state"], "schema": direct["schema"], "hasMore": true})
    );
}

#[tokio::test]
async fn an_object_with_no_rows_is_still_written() {
    let server = moto();
    server.create_bucket("empty-call", None).await;
    let object = PayloadWriter::new().finish();
    client()
        .put_object("empty-call", "empty.json", &object, None)
        .await
        .unwrap();
    let stored: StoragePayload =
        serde_json::from_slice(&server.get_object("empty-call", "empty.json").await).unwrap();
    assert_eq!(stored, StoragePayload::default());
}

#[tokio::test]
async fn a_50_mb_object_goes_up_in_one_call() {
    let server = moto();
    server.create_bucket("large", None).await;
    let mut writer = PayloadWriter::new();
    let filler = "x".repeat(900);
    let mut id = 0u64;
    while writer.len() < 50 * 1000 * 1000 {
        writer
            .insert("events", &row(json!({"id": id, "payload": filler})))
            .unwrap();
        id += 1;
    }
    let expected_len = writer.len();
    let object = writer.finish();
    assert_eq!(object.len() as usize, expected_len);
    let started = Instant::now();
    client()
        .put_object(
            "large",
            "big.json",
            &object,
            Some(Instant::now() + Duration::from_secs(300)),
        )
        .await
        .unwrap();
    let upload = started.elapsed();
    let stored = server.get_object("large", "big.json").await;
    assert_eq!(stored.len(), expected_len, "upload took {upload:?}");
    assert!(
        stored == object.to_vec(),
        "the stored bytes differ from the object"
    );
    let parsed: StoragePayload = serde_json::from_slice(&stored).unwrap();
    assert_eq!(parsed.insert["events"].len() as u64, id);
}

#[tokio::test]
async fn a_missing_bucket_is_a_storage_error_naming_bucket_and_key() {
    let object = PayloadWriter::new().finish();
    let error = client()
        .put_object("no-such-bucket-here", "a/b.json", &object, None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Storage { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with("cannot write s3://no-such-bucket-here/a/b.json: "),
        "{text}"
    );
    assert!(
        text.contains("404") && text.contains("NoSuchBucket"),
        "{text}"
    );
    assert_eq!(error.error_type(), "StorageError");
    assert_no_secret(&format!("{text} {error:?}"));
}

#[tokio::test]
async fn a_bucket_of_another_account_is_access_denied() {
    let server = moto();
    server
        .create_bucket("someone-elses", Some("111122223333"))
        .await;
    let object = PayloadWriter::new().finish();
    let error = client()
        .put_object("someone-elses", "x.json", &object, None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("cannot write s3://someone-elses/x.json: "),
        "{text}"
    );
    assert!(
        text.contains("403") && text.contains("AccessDenied"),
        "{text}"
    );
    assert_no_secret(&format!("{text} {error:?}"));
}

#[tokio::test]
async fn a_closed_port_is_a_network_storage_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let config = S3Config::from_vars(|name| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_ACCESS_KEY_ID" => Some(moto::ACCESS_KEY.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(moto::SECRET_KEY.into()),
        "AWS_SESSION_TOKEN" => Some(moto::SESSION_TOKEN.into()),
        _ => None,
    });
    let object = PayloadWriter::new().finish();
    let started = Instant::now();
    let error = S3Client::new(reqwest::Client::new(), config)
        .put_object("bucket", "k.json", &object, None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("cannot write s3://bucket/k.json: network error"),
        "{text}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "bounded retries"
    );
    assert_no_secret(&format!("{text} {error:?}"));
}

#[tokio::test]
async fn missing_credentials_are_named() {
    let config = S3Config::from_vars(|name| {
        (name == "AWS_ENDPOINT_URL").then(|| "http://127.0.0.1:9".to_owned())
    });
    let error = S3Client::new(reqwest::Client::new(), config)
        .put_object("bucket", "k.json", &PayloadWriter::new().finish(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("AWS_ACCESS_KEY_ID"), "{error}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_at_the_deadline() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts connections and reads nothing back: the upload hangs until the client gives up.
    let _silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let config = S3Config::from_vars(|name| match name {
        "AWS_ENDPOINT_URL" => Some(endpoint.clone()),
        "AWS_ACCESS_KEY_ID" => Some(moto::ACCESS_KEY.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(moto::SECRET_KEY.into()),
        _ => None,
    });
    let started = Instant::now();
    let error = S3Client::new(reqwest::Client::new(), config)
        .put_object(
            "bucket",
            "slow.json",
            &PayloadWriter::new().finish(),
            Some(started + Duration::from_secs(2)),
        )
        .await
        .unwrap_err()
        .to_string();
    let waited = started.elapsed();
    assert!(
        error.starts_with("cannot write s3://bucket/slow.json: network error"),
        "{error}"
    );
    assert!(
        waited >= Duration::from_millis(1900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
}
