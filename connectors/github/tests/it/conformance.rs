//! Every check of the shared `connector-conformance` crate (docs/connector-spec.md), one line each.

use connector_conformance::{StandIn, Subject};
use sandbox_apis::Api;
use serde_json::json;

/// The connector as the conformance checks see it.
pub fn subject() -> Subject {
    Subject::new(env!("CARGO_BIN_EXE_github"), Api::GitHub, |s: &StandIn| {
        json!({
            "baseUrl": s.base_url,
            "token": sandbox_apis::credentials::GITHUB_TOKEN,
            "repositories": sandbox_apis::GITHUB_REPOSITORIES.join(","),
        })
    })
    .credentials(&["token"])
    .page_size("pageSize", 4)
    .scope_table("pull_requests")
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
