//! Every check of `connector-conformance`, one line each, against the SuiteQL stand-in (TBA with realm).

use connector_conformance::{StandIn, Subject};
use sandbox_apis::Api;
use sandbox_apis::credentials::{
    NETSUITE_ACCOUNT_ID, NETSUITE_CONSUMER_KEY, NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID,
    NETSUITE_TOKEN_SECRET,
};
use serde_json::json;

/// The connector as the conformance checks see it.
pub fn subject() -> Subject {
    Subject::new(
        env!("CARGO_BIN_EXE_netsuite"),
        Api::NetSuite,
        |s: &StandIn| {
            json!({"baseUrl": s.base_url, "accountId": NETSUITE_ACCOUNT_ID,
               "consumerKey": NETSUITE_CONSUMER_KEY, "consumerSecret": NETSUITE_CONSUMER_SECRET,
               "tokenId": NETSUITE_TOKEN_ID, "tokenSecret": NETSUITE_TOKEN_SECRET})
        },
    )
    .credentials(&["consumerKey", "consumerSecret", "tokenId", "tokenSecret"])
    .scope_table("item")
    .ignore_column("lastmodifieddate_iso")
}

#[tokio::test]
async fn full_sync() {
    connector_conformance::full_sync(&subject()).await;
}

#[tokio::test]
async fn second_sync_unchanged() {
    connector_conformance::second_sync_unchanged(&subject()).await;
}

#[tokio::test]
async fn resume_from_every_state() {
    connector_conformance::resume_from_every_state(&subject()).await;
}

#[tokio::test]
async fn changing_data() {
    connector_conformance::changing_data(&subject()).await;
}

#[tokio::test]
async fn faults() {
    connector_conformance::faults(&subject()).await;
}

#[tokio::test]
async fn setup_test() {
    connector_conformance::setup_test(&subject()).await;
}

#[tokio::test]
async fn secrets_never_leak() {
    connector_conformance::secrets_never_leak(&subject()).await;
}

#[tokio::test]
async fn deadline() {
    connector_conformance::deadline(&subject()).await;
}

#[tokio::test]
async fn sync_scope() {
    connector_conformance::sync_scope(&subject()).await;
}
