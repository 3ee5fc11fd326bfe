//! Every check of the shared `connector-conformance` crate (docs/connector-spec.md), declared by its `tests!` macro.

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

connector_conformance::tests!(subject);
