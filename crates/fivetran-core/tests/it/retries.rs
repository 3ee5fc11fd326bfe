//! Retries, `Retry-After` (both forms, the cap, the deadline), rate limits, auth and body errors.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Config, Endpoint, Stream};
use fivetran_core::http::HttpSettings;
use fivetran_core::paginate::Pagination;
use fivetran_core::{Secret, Secrets};
use serde_json::{Value, json};

use crate::harness::{Reply, Server, call, call_with, engine, ids, items, row_count, sync};

/// Fast retries for tests.
fn quick() -> HttpSettings {
    HttpSettings {
        backoff_base: Duration::from_millis(5),
        backoff_max: Duration::from_millis(20),
        max_retries: 3,
        retry_after_cap: Duration::from_secs(5),
        ..HttpSettings::default()
    }
}

fn margin(seconds: u64) -> BudgetSettings {
    BudgetSettings {
        time_margin: Duration::from_secs(seconds),
        ..BudgetSettings::default()
    }
}

/// A two-page stream over `/items?page=`.
fn config(url: &str, http: HttpSettings) -> fivetran_core::Result<Config> {
    Ok(
        Config::new(url, Auth::Bearer(Secret::new("sk_secret_value".into())))?
            .http(http)
            .budget(margin(1))
            .stream(
                Stream::new("items", &["id"], Endpoint::get("/items"))
                    .records("/data")
                    .paginate(Pagination::page_number("page").size("page_size", 2)),
            ),
    )
}

/// Answers page 1 and 2 with two items each and page 3 empty, after `script` had its say.
fn pages_after(
    script: impl Fn(usize, &crate::harness::Hit) -> Option<Reply> + Send + Sync + 'static,
) -> impl Fn(&crate::harness::Hit) -> Reply + Send + Sync + 'static {
    let counter = Arc::new(AtomicUsize::new(0));
    move |hit| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        if let Some(reply) = script(n, hit) {
            return reply;
        }
        let page = hit.num("page").unwrap_or(1);
        let data = if page <= 2 {
            items(page * 2 - 1..=page * 2)
        } else {
            Vec::new()
        };
        Reply::json(json!({"data": data}))
    }
}

#[tokio::test]
async fn transient_failures_are_retried() {
    let server = Server::start(pages_after(|n, _| match n {
        0 => Some(Reply::status(500, "{}")),
        1 => Some(Reply::status(502, "oops")),
        2 => Some(Reply::status(408, "")),
        _ => None,
    }))
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, quick()));
    let responses = sync(&engine, json!({}), json!({}), 2).await;
    assert_eq!(ids(&responses, "items"), ["1", "2", "3", "4"]);
    assert_eq!(server.hits().len(), 6);
}

#[tokio::test]
async fn retry_after_seconds_and_http_dates_are_honoured() {
    let server = Server::start(pages_after(|n, _| match n {
        0 => Some(Reply::status(429, r#"{"error":"rate_limited"}"#).header("retry-after", "1")),
        1 => {
            let at = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
            Some(Reply::status(503, "").header("retry-after", &at))
        }
        _ => None,
    }))
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, quick()));
    let started = Instant::now();
    let responses = sync(&engine, json!({}), json!({}), 2).await;
    let elapsed = started.elapsed();
    assert_eq!(ids(&responses, "items"), ["1", "2", "3", "4"]);
    // One second, then an HTTP date one to two seconds ahead (whole seconds).
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
}

#[tokio::test]
async fn retry_after_is_capped() {
    let server = Server::start(pages_after(|n, _| {
        (n == 0).then(|| Reply::status(429, "").header("retry-after", "3600"))
    }))
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        config(
            &url,
            HttpSettings {
                retry_after_cap: Duration::from_millis(200),
                ..quick()
            },
        )
    });
    let started = Instant::now();
    let responses = sync(&engine, json!({}), json!({}), 2).await;
    assert_eq!(ids(&responses, "items"), ["1", "2", "3", "4"]);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(200) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
}

#[tokio::test]
async fn a_wait_past_the_deadline_returns_what_was_gathered() {
    // Page 1 answers; page 2 asks to wait 30 s, more than the 4 s invocation allows.
    let server = Server::start(pages_after(|_, hit| {
        (hit.num("page") == Some(2)).then(|| Reply::status(429, "").header("retry-after", "30"))
    }))
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        config(
            &url,
            HttpSettings {
                retry_after_cap: Duration::from_secs(60),
                ..quick()
            },
        )
    });
    let started = Instant::now();
    let response = call_with(&engine, json!({}), json!({}), Duration::from_secs(4))
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "it must not wait for the quota"
    );
    assert_eq!(response["hasMore"], json!(true));
    assert_eq!(row_count(&response), 2);
    assert_eq!(
        response["state"]["streams"]["items"]["window"]["position"],
        json!({"page": 2})
    );
}

#[tokio::test]
async fn quota_with_nothing_gathered_ends_the_sync_with_the_state_unchanged() {
    let server = Server::start(|_| Reply::status(429, "").header("retry-after", "120")).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, quick()));
    let state = json!({"version": 1, "streams": {"items": {"cursor": "2026-01-01T00:00:00Z"}}});
    let response = call_with(&engine, state.clone(), json!({}), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(response["hasMore"], json!(false));
    assert_eq!(response["state"], state);
    assert_eq!(row_count(&response), 0);
    // 429 without Retry-After, retries used up: the same rule.
    let server = Server::start(|_| Reply::status(429, "")).await;
    let url = server.url.clone();
    let engine = crate::harness::engine(move |_: &Secrets| config(&url, quick()));
    let response = call(&engine, state.clone(), json!({})).await.unwrap();
    assert_eq!(
        (response["hasMore"].clone(), response["state"].clone()),
        (json!(false), state)
    );
    assert_eq!(server.hits().len(), 4);
}

#[tokio::test]
async fn forbidden_is_classified_by_its_headers() {
    let reset = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 1;
    let server = Server::start(pages_after(move |n, _| {
        (n == 0).then(|| {
            Reply::status(403, r#"{"message":"API rate limit exceeded"}"#)
                .header("x-ratelimit-remaining", "0")
                .header("x-ratelimit-reset", &reset.to_string())
        })
    }))
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, quick()));
    let responses = sync(&engine, json!({}), json!({}), 2).await;
    assert_eq!(ids(&responses, "items"), ["1", "2", "3", "4"]);

    // A secondary limit with only its message: a rate limit (a minute's wait, capped by the settings and retried
    // until the retries run out: the sync ends with nothing gathered), not rejected credentials.
    let server = Server::start(|_| {
        Reply::status(
            403,
            r#"{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}"#,
        )
    })
    .await;
    let url = server.url.clone();
    let engine = crate::harness::engine(move |_: &Secrets| config(&url, quick()));
    let response = call_with(&engine, json!({}), json!({}), Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(response["hasMore"], json!(false), "{response}");
    assert_eq!(row_count(&response), 0);
    assert!(!server.hits().is_empty());

    let server = Server::start(|_| Reply::status(403, r#"{"message":"Bad credentials"}"#)).await;
    let url = server.url.clone();
    let engine = crate::harness::engine(move |_: &Secrets| config(&url, quick()));
    let error = call(&engine, json!({}), json!({})).await.unwrap_err();
    assert!(error.is_auth(), "{error}");
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn auth_failures_name_the_request_but_never_the_secret() {
    let server = Server::start(|hit| {
        if hit
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            == Some("Bearer good")
        {
            Reply::json(json!({"data": []}))
        } else {
            Reply::status(401, r#"{"error":"invalid_api_key"}"#)
        }
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |s: &Secrets| {
        Ok(Config::new(&url, Auth::Bearer(s.required("apiKey")?))?
            .setup_test(Endpoint::get("/v1/check").query("page_size", "1"))
            .stream(Stream::new("items", &["id"], Endpoint::get("/items")).records("/data")))
    });
    let error = call(&engine, json!({}), json!({"apiKey": "sk_live_wrong"}))
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "AuthError");
    let text = error.to_string();
    assert!(
        text.contains("credentials were rejected") && text.contains("/items"),
        "{text}"
    );
    assert!(!text.contains("sk_live_wrong"));
    // The setup test runs the declared request.
    let invocation = fivetran_core::lambda::Invocation::with_timeout("t", Duration::from_secs(30));
    let setup =
        |key: &str| json!({"state": {"k": 1}, "secrets": {"apiKey": key}, "setup_test": true});
    let error = fivetran_core::lambda::handle(&engine, setup("sk_live_wrong"), &invocation)
        .await
        .unwrap_err();
    assert!(
        error.is_auth() && error.to_string().contains("/v1/check"),
        "{error}"
    );
    let body = fivetran_core::lambda::handle(&engine, setup("good"), &invocation)
        .await
        .unwrap();
    let value: Value = serde_json::from_str(body.get()).unwrap();
    assert_eq!(
        value,
        json!({"state": {"k": 1}, "insert": {}, "delete": {}, "schema": {}, "hasMore": false})
    );
}

#[tokio::test]
async fn the_setup_test_sends_each_declared_request_and_stops_at_the_first_failure() {
    let server = Server::start(|hit: &crate::harness::Hit| {
        if hit.path.contains("missing") {
            Reply::status(404, r#"{"message":"Not Found"}"#)
        } else {
            Reply::json(json!({"data": []}))
        }
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |s: &Secrets| {
        let mut config = Config::new(&url, Auth::None)?;
        for name in s.list("accounts")?.unwrap_or_default() {
            config = config.setup_test(Endpoint::get(&format!("/v1/{name}/check")));
        }
        Ok(config.stream(Stream::new("items", &["id"], Endpoint::get("/items")).records("/data")))
    });
    let invocation = fivetran_core::lambda::Invocation::with_timeout("t", Duration::from_secs(30));
    let setup = |accounts: &str| json!({"secrets": {"accounts": accounts}, "setup_test": true});
    fivetran_core::lambda::handle(&engine, setup("a,b,c"), &invocation)
        .await
        .unwrap();
    let paths: Vec<String> = server.hits().iter().map(|h| h.path.clone()).collect();
    assert_eq!(paths, ["/v1/a/check", "/v1/b/check", "/v1/c/check"]);
    let error = fivetran_core::lambda::handle(&engine, setup("a,missing,c"), &invocation)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("/v1/missing/check"), "{error}");
    assert_eq!(
        server.hits().len(),
        5,
        "the request after the failing one is not sent"
    );
}

#[tokio::test]
async fn other_client_errors_fail_at_once() {
    let server = Server::start(|_| Reply::status(404, r#"{"message":"Not Found"}"#)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, quick()));
    let error = call(&engine, json!({}), json!({})).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "items: HTTP 404 from GET /items: Not Found"
    );
    assert_eq!(server.hits().len(), 1);
}

#[tokio::test]
async fn malformed_bodies_are_retried_a_bounded_number_of_times() {
    // Truncated once, then fine.
    let server = Server::start(pages_after(|n, _| {
        (n == 0).then(|| Reply::status(200, r#"{"data": [{"id": 1"#))
    }))
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| config(&url, quick()));
    let responses = sync(&engine, json!({}), json!({}), 2).await;
    assert_eq!(ids(&responses, "items"), ["1", "2", "3", "4"]);
    // Always malformed: an error naming the stream and the path, not the query.
    let server = Server::start(|_| Reply::status(200, "<html>")).await;
    let url = server.url.clone();
    let engine = crate::harness::engine(move |_: &Secrets| config(&url, quick()));
    let error = call(&engine, json!({}), json!({})).await.unwrap_err();
    assert_eq!(error.error_type(), "DecodeError");
    let text = error.to_string();
    assert!(
        text.starts_with("items: invalid response body from GET /items:"),
        "{text}"
    );
    assert!(!text.contains("page_size"), "{text}");
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn connection_failures_are_retried_then_reported() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let engine = engine(move |_: &Secrets| config(&url, quick()));
    let error = call(&engine, json!({}), json!({})).await.unwrap_err();
    assert_eq!(error.error_type(), "TransportError", "{error}");
    assert!(error.to_string().contains("GET /items"), "{error}");
}

#[tokio::test]
async fn the_client_side_rate_limit_spaces_requests() {
    let server = Server::start(pages_after(|_, _| None)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| Ok(config(&url, quick())?.rate_limit(10.0)));
    let started = Instant::now();
    sync(&engine, json!({}), json!({}), 2).await;
    // Three requests at 10 per second: at least 200 ms between the first and the last.
    assert_eq!(server.hits().len(), 3);
    assert!(
        started.elapsed() >= Duration::from_millis(195),
        "{:?}",
        started.elapsed()
    );
}
