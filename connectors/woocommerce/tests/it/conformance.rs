//! Every check of the shared `connector-conformance` crate (docs/connector-spec.md), declared by its `tests!` macro,
//! over http (OAuth 1.0a in the query string), plus the
//! full sync over https (HTTP Basic, the stand-in's CA as the `caCertificate` secret).

use connector_conformance::{StandIn, Subject};
use sandbox_apis::Api;
use sandbox_apis::credentials::{WOO_CONSUMER_KEY, WOO_CONSUMER_SECRET};
use serde_json::json;

/// The connector as the conformance checks see it.
pub fn subject() -> Subject {
    Subject::new(
        env!("CARGO_BIN_EXE_woocommerce"),
        Api::WooCommerce,
        |s: &StandIn| {
            let mut secrets = json!({"storeUrl": s.base_url, "consumerKey": WOO_CONSUMER_KEY,
                                 "consumerSecret": WOO_CONSUMER_SECRET});
            if let Some(ca) = s.ca_pem {
                secrets["caCertificate"] = json!(ca);
            }
            secrets
        },
    )
    .credentials(&["consumerKey", "consumerSecret"])
    .scope_table("products")
}

#[tokio::test]
async fn full_sync_over_https_with_basic_auth() {
    connector_conformance::full_sync(&subject().tls()).await;
}

#[tokio::test]
async fn setup_test_over_https() {
    connector_conformance::setup_test(&subject().tls()).await;
}

connector_conformance::tests!(subject);
