//! WooCommerce specifics beyond the spec checks: concurrent pages from `X-WP-TotalPages`, no `oauth_*` parameter
//! in the state, HMAC-SHA256 signatures, and secrets named without their values.

use sandbox_apis::credentials::{WOO_CONSUMER_KEY, WOO_CONSUMER_SECRET};
use sandbox_apis::{Api, DiffOptions, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use connector_conformance::connection::{self as support, Connection};

const BINARY: &str = env!("CARGO_BIN_EXE_woocommerce");

fn secrets(sandbox: &Sandbox) -> Value {
    json!({"storeUrl": sandbox.base_url(), "consumerKey": WOO_CONSUMER_KEY,
           "consumerSecret": WOO_CONSUMER_SECRET})
}

fn config(records: usize) -> SandboxConfig {
    SandboxConfig {
        seed: 5,
        records,
        ..SandboxConfig::new(Api::WooCommerce)
    }
}

#[tokio::test]
async fn pages_are_fetched_concurrently_and_the_state_holds_no_oauth_parameter() {
    // Latency makes overlapping requests visible in the stand-in's log; 450 orders are 5 pages.
    let sandbox = support::sandbox(config(450), &["latency=40", "429:1@at=3", "503@at=7"]).await;
    let mut c = Connection::new(BINARY, secrets(&sandbox)).await;
    c.sync_done().await;
    c.assert_truth(&sandbox, &DiffOptions::default());
    let state = c.state_text();
    assert!(
        !state.contains("oauth_"),
        "the state holds OAuth parameters: {state}"
    );
    assert!(
        !state.contains(WOO_CONSUMER_KEY),
        "the state holds the consumer key: {state}"
    );
    let log = sandbox.request_log();
    assert!(
        log.max_in_flight > 1,
        "pages known from X-WP-TotalPages are fetched concurrently"
    );
    let orders = log
        .entries
        .iter()
        .filter(|r| r.path.ends_with("/orders"))
        .count();
    assert!(orders >= 5, "every page of orders was requested ({orders})");
}

#[tokio::test]
async fn hmac_sha256_signatures_are_accepted() {
    let sandbox = support::sandbox(config(120), &[]).await;
    let mut secrets = secrets(&sandbox);
    secrets["signatureMethod"] = json!("HMAC-SHA256");
    let mut c = Connection::new(BINARY, secrets).await;
    c.sync_done().await;
    c.assert_truth(&sandbox, &DiffOptions::default());
    let log = sandbox.request_log();
    assert!(
        log.entries
            .iter()
            .all(|r| r.query.contains("oauth_signature_method=HMAC-SHA256"))
    );
}

#[tokio::test]
async fn the_store_url_scheme_is_case_insensitive() {
    let sandbox = support::sandbox(config(120), &[]).await;
    let mut secrets = secrets(&sandbox);
    secrets["storeUrl"] = json!(sandbox.base_url().replacen("http://", "HTTP://", 1));
    let mut c = Connection::new(BINARY, secrets).await;
    c.sync_done().await;
    c.assert_truth(&sandbox, &DiffOptions::default());
}

#[tokio::test]
async fn bad_secrets_are_named_without_their_values() {
    for (secrets, named) in [
        (
            json!({"storeUrl": "ftp://store.example", "consumerKey": "k_value_123",
                "consumerSecret": "s_value_456"}),
            "storeUrl",
        ),
        (
            json!({"storeUrl": "http://127.0.0.1:9", "consumerKey": "k_value_123",
                "consumerSecret": "s_value_456", "signatureMethod": "RSA-SHA1"}),
            "signatureMethod",
        ),
    ] {
        let mut c = Connection::new(BINARY, secrets).await;
        let report = c.sync().await;
        let text = format!("{:?}", report.stop);
        assert!(text.contains(named), "{text}");
        assert!(
            !text.contains("s_value_456") && !text.contains("k_value_123"),
            "{text}"
        );
    }
}
