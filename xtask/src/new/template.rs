//! The files of a new connector, modelled on `connectors/loan-applications`: a declaration over
//! `fivetran-core` in `src/main.rs`, a README in the shape `docs/connector-spec.md` asks for, and a test
//! that runs the real binary (through `fivetran-local`) against a small stand-in served by the test.

/// `(path under connectors/<name>/, text)` for every file of a new connector.
pub fn files(name: &str) -> Vec<(&'static str, String)> {
    let fill = |text: &str| text.replace("{{name}}", name);
    vec![
        ("Cargo.toml", fill(CARGO_TOML)),
        ("README.md", fill(README)),
        ("src/main.rs", fill(MAIN_RS)),
        ("tests/it/main.rs", fill(TEST_RS)),
    ]
}

const CARGO_TOML: &str = r#"[package]
name = "{{name}}"
version = "0.0.0"
description = "Fivetran function connector for the {{name}} API."
edition.workspace = true
rust-version.workspace = true
license.workspace = true
publish.workspace = true

[dependencies]
fivetran-core.workspace = true
lambda_runtime.workspace = true

[dev-dependencies]
axum.workspace = true
fivetran-local.workspace = true
serde_json.workspace = true
tempfile.workspace = true
tokio.workspace = true

[lints]
workspace = true
"#;

const MAIN_RS: &str = r#"//! `{{name}}`: the {{name}} API as a Fivetran function connector (scaffolded by `cargo xtask new`).
//!
//! A declaration over `fivetran-core`: the engine does the HTTP, retries, paging, budgets and state. Replace the
//! example `items` stream with the API's streams (see `fivetran_core::connector` and `docs/connector-spec.md`).

use std::time::Duration;

use fivetran_core::auth::Auth;
use fivetran_core::connector::{Config, Endpoint, Incremental, Stream};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::{Error, Result, Secrets};

/// The page size when the `pageSize` secret is absent.
const DEFAULT_PAGE_SIZE: u64 = 100;
/// How far before the previous sync's start the next window begins (clock skew between the API and Lambda).
const LOOKBACK: Duration = Duration::from_secs(300);

/// The connector: `baseUrl` and `apiKey` (required), `pageSize` (optional, 1..=1000).
fn configure(secrets: &Secrets) -> Result<Config> {
    let page_size = match secrets.parsed::<u64>("pageSize", "a whole number from 1 to 1000")? {
        None => DEFAULT_PAGE_SIZE,
        Some(size) if (1..=1000).contains(&size) => size,
        Some(_) => {
            return Err(Error::invalid_secret(
                "pageSize",
                "must be a whole number from 1 to 1000",
            ));
        }
    };
    let items = Stream::new("items", &["id"], Endpoint::get("/v1/items"))
        .records("/data")
        .paginate(
            Pagination::page_number("page")
                .size("per_page", page_size)
                .total_pages(Total::Body("/pagination/total_pages".into())),
        )
        .incremental(Incremental::query("updated_since").lookback(LOOKBACK));

    Ok(Config::new(
        secrets.required("baseUrl")?.expose(),
        Auth::Bearer(secrets.required("apiKey")?),
    )?
    .header("accept", "application/json")
    .setup_test(Endpoint::get("/v1/items").query("per_page", "1"))
    .stream(items))
}

fn main() -> Result<(), lambda_runtime::Error> {
    fivetran_core::lambda::run(fivetran_core::Engine::new(configure))
}
"#;

const README: &str = r#"# {{name}}

A Fivetran function connector for the {{name}} API, deployed as the AWS Lambda function `{{name}}`
(scaffolded by `cargo xtask new`: replace the example below with the real API).

## What it syncs

| table | primary key | source | incremental |
|---|---|---|---|
| `items` | `id` | `GET /v1/items` (page numbers, `pagination.total_pages`) | `updated_since` = the previous sync's start minus 5 minutes |

## Secrets

| secret | required | meaning |
|---|---|---|
| `baseUrl` | yes | the API's base URL, e.g. `https://api.example.com` |
| `apiKey` | yes | sent as `Authorization: Bearer …`; never logged |
| `pageSize` | no | records per page, 1 to 1000 (default 100) |
| `startDate` | no | first sync only: records updated before it are skipped |
| `tables` | no | comma-separated tables to sync (default: all) |
| `caCertificate` | no | PEM of an extra trusted root (private APIs) |

## Behaviour

- Incremental by `updated_since`; deletions are not synced (the example API has no deletion feed).
- Rate limits: `429` and `Retry-After` are honoured by the engine; set a client-side limit with
  `Config::rate_limit` if the API documents one.

## Test and deploy

```sh
cargo test -p {{name}}                          # the real binary against the stand-in in tests/it/main.rs
cargo xtask build-all --connector {{name}}      # target/lambda/{{name}}/bootstrap.zip
```

Deployment: `deploy/README.md` (regenerate with `cargo xtask codegen` after adding a connector).

## To do after scaffolding

1. Declare the real streams in `src/main.rs` and describe them here.
2. Add a stand-in of the API to `crates/sandbox-apis` and a `sandbox-secrets.json` here, then call the shared
   conformance checks from `tests/it/main.rs` as `connectors/loan-applications` does.
"#;

const TEST_RS: &str = r#"//! `{{name}}` end to end: its real binary, through `fivetran-local`'s Lambda Runtime API host, against a small
//! stand-in of the API served by this test (seven items, pages of `per_page`, bearer key `demo-key`).

use std::collections::HashMap;

use axum::Json;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use fivetran_local::host::HostConfig;
use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, Stop, SyncOptions};
use fivetran_local::warehouse::Warehouse;
use serde_json::{Map, Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_{{name}}");
const API_KEY: &str = "demo-key";
const ITEMS: u64 = 7;

/// `GET /v1/items?page=&per_page=&updated_since=`: the example API of `src/main.rs`.
async fn items(
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> (StatusCode, Json<Value>) {
    let authorized =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer demo-key");
    if !authorized {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid api key"})),
        );
    }
    let number = |name: &str, default: u64| {
        query
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (page, per_page) = (number("page", 1).max(1), number("per_page", 100).max(1));
    let data: Vec<Value> = (1..=ITEMS)
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .map(|id| json!({"id": id, "name": format!("item {id}"), "updated_at": "2026-01-01T00:00:00Z"}))
        .collect();
    let total_pages = ITEMS.div_ceil(per_page);
    (
        StatusCode::OK,
        Json(json!({"data": data, "pagination": {"page": page, "total_pages": total_pages}})),
    )
}

/// Serves the stand-in on a free loopback port and returns its base URL.
async fn stand_in() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/v1/items", get(items))).await
    });
    url
}

fn request(secrets: Value) -> RequestTemplate {
    RequestTemplate {
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        sync_id: Some("scaffold-test".into()),
        ..RequestTemplate::default()
    }
}

#[tokio::test]
async fn a_full_sync_reads_every_page() {
    let base_url = stand_in().await;
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse =
        Warehouse::open(&dir.path().join("warehouse.sqlite"), "{{name}}", "").unwrap();
    let mut host = fivetran_local::start_function(BINARY, &[], HostConfig::default())
        .await
        .unwrap();
    let options = SyncOptions {
        request: request(json!({"baseUrl": base_url, "apiKey": API_KEY, "pageSize": "3"})),
        ..SyncOptions::default()
    };
    let report = sync::run(
        &mut host,
        Some(&mut warehouse),
        Map::new(),
        &options,
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(
        report.stop,
        Stop::Done,
        "{}",
        fivetran_local::output::summary(&report)
    );
    let rows = warehouse.read_table("items").unwrap();
    assert_eq!(rows.len() as u64, ITEMS);
}

#[tokio::test]
async fn the_setup_test_checks_the_key() {
    let base_url = stand_in().await;
    let mut host = fivetran_local::start_function(BINARY, &[], HostConfig::default())
        .await
        .unwrap();
    let good = request(json!({"baseUrl": base_url, "apiKey": API_KEY}));
    let report = fivetran_local::setup_test::run(&mut host, &good, &Map::new()).await;
    assert!(report.ok, "{}", report.message);
    let wrong = request(json!({"baseUrl": base_url, "apiKey": "wrong-key"}));
    let report = fivetran_local::setup_test::run(&mut host, &wrong, &Map::new()).await;
    assert!(!report.ok, "a wrong key must fail the setup test");
}
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_names_the_connector_and_rust_files_have_headers() {
        for (path, text) in files("demo-api") {
            assert!(!text.contains("{{name}}"), "{path}");
            assert!(text.contains("demo-api"), "{path}");
            if path.ends_with(".rs") {
                assert!(text.starts_with("//!"), "{path}");
            }
        }
    }
}
