//! The `CLOUD_STORAGE` object written to a real S3-compatible server (`moto_server` on loopback): the content
//! equals what a direct response would have carried, a 50 MB object goes up in one call, and a missing bucket, a
//! denied bucket and a closed port are `Error::Storage` naming bucket and key, never a credential.

use std::time::{Duration, Instant};

use fivetran_core::Error;
use fivetran_core::protocol::{Response, Row, StoragePayload, Table};
use fivetran_core::sink::{Payload, RowKind};
use fivetran_core::storage::{ObjectBody, S3Client, S3Config};
use serde_json::{Value, json};

use crate::moto::{self, moto};

fn row(value: Value) -> Row {
    value.as_object().unwrap().clone()
}

/// The object of a call without rows: `{"insert":{},"delete":{}}`.
fn empty_object() -> ObjectBody {
    Payload::default().take_object()
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

    // The engine's payload, filled with the same rows, as the CLOUD_STORAGE sink uploads it.
    let mut payload = Payload::default();
    payload.declare(&orders);
    payload.declare(&items);
    for (table, kind, rows) in [
        (&orders, RowKind::Insert, response.inserts().get("orders")),
        (
            &items,
            RowKind::Insert,
            response.inserts().get("order_line_items"),
        ),
        (
            &items,
            RowKind::Delete,
            response.deletes().get("order_line_items"),
        ),
    ] {
        for row in rows.into_iter().flatten() {
            payload.push(&table.name, kind, row);
        }
    }
    let (body, _) = response.into_cloud_storage();
    let key = "sync/2026-11-21/call-0001.json";
    let object = payload.take_object();
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
    let object = empty_object();
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
    let mut payload = Payload::default();
    payload.declare(&Table::new("events", &["id"]));
    let filler = "x".repeat(900);
    let mut id = 0u64;
    while payload.bytes() < 50 * 1000 * 1000 {
        payload.push(
            "events",
            RowKind::Insert,
            &row(json!({"id": id, "payload": filler})),
        );
        id += 1;
    }
    let object = payload.take_object();
    let expected_len = object.len() as usize;
    assert!(expected_len > 50 * 1000 * 1000);
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
    let object = empty_object();
    let error = client()
        .put_object("no-such-bucket-here", "a/b.json", &object, None)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Storage { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with("s3://no-such-bucket-here/a/b.json: cannot write the object: "),
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
    let object = empty_object();
    let error = client()
        .put_object("someone-elses", "x.json", &object, None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("s3://someone-elses/x.json: cannot write the object: "),
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
    let object = empty_object();
    let started = Instant::now();
    let error = S3Client::new(reqwest::Client::new(), config)
        .put_object("bucket", "k.json", &object, None)
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("s3://bucket/k.json: cannot write the object: network error"),
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
        .put_object("bucket", "k.json", &empty_object(), None)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("AWS_ACCESS_KEY_ID"), "{error}");
}

#[tokio::test]
async fn a_server_that_never_answers_is_given_up_before_the_deadline() {
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
            &empty_object(),
            Some(started + Duration::from_secs(2)),
        )
        .await
        .unwrap_err()
        .to_string();
    let waited = started.elapsed();
    assert!(
        error.starts_with("s3://bucket/slow.json: cannot write the object: network error"),
        "{error}"
    );
    assert!(
        waited >= Duration::from_millis(1400) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
}

/// S3 refuses `Transfer-Encoding: chunked` (411): the streamed body must travel with its `Content-Length`.
#[tokio::test]
async fn the_streamed_upload_declares_its_length() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut buf = [0u8; 65536];
        loop {
            let n = socket.read(&mut buf).await.unwrap();
            request.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&request);
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if request.len() >= end + 4 + length || n == 0 {
                    break;
                }
            }
        }
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8(request).unwrap()
    });
    let config = S3Config::from_vars(|name| match name {
        "AWS_ENDPOINT_URL_S3" => Some(endpoint.clone()),
        "AWS_ACCESS_KEY_ID" => Some(moto::ACCESS_KEY.into()),
        "AWS_SECRET_ACCESS_KEY" => Some(moto::SECRET_KEY.into()),
        "AWS_SESSION_TOKEN" => Some(moto::SESSION_TOKEN.into()),
        _ => None,
    });
    let mut payload = Payload::default();
    payload.declare(&Table::new("t", &["id"]));
    for id in 0..20_000 {
        payload.push("t", RowKind::Insert, &row(json!({"id": id})));
    }
    let object = payload.take_object();
    S3Client::new(reqwest::Client::new(), config)
        .put_object("b", "k.json", &object, None)
        .await
        .unwrap();
    let request = server.await.unwrap();
    let head = request
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .to_ascii_lowercase();
    assert!(
        head.starts_with("put /b/k.json?x-amz-algorithm=aws4-hmac-sha256"),
        "{head}"
    );
    assert!(
        head.contains(&format!("content-length: {}", object.len())),
        "{head}"
    );
    assert!(
        head.contains("x-amz-security-token="),
        "the session token is signed into the URL"
    );
    assert!(!head.contains("transfer-encoding"), "{head}");
    assert!(request.ends_with(std::str::from_utf8(&object.to_vec()).unwrap()));
}

#[tokio::test]
async fn get_object_reads_back_what_was_written_and_names_what_is_missing() {
    let server = moto();
    server.create_bucket("read-back", None).await;
    let client = client();
    let object = ObjectBody::from_chunks([bytes::Bytes::from_static(
        br#"{"insert":{"t":[{"id":1}]},"delete":{}}"#,
    )]);
    client
        .put_object("read-back", "dir/one.json", &object, None)
        .await
        .unwrap();
    assert_eq!(
        client
            .get_object("read-back", "dir/one.json")
            .await
            .unwrap(),
        object.to_vec()
    );
    let error = client
        .get_object("read-back", "dir/none.json")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "s3://read-back/dir/none.json: cannot read the object: S3 answered HTTP 404 NoSuchKey"
        ),
        "{error}"
    );
    assert_no_secret(&error);
}
