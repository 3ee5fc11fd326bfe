//! Every check of the shared `connector-conformance` crate (docs/connector-spec.md), declared by its `tests!` macro.

use connector_conformance::{StandIn, Subject};
use sandbox_apis::Api;
use serde_json::json;

/// The connector as the conformance checks see it.
pub fn subject() -> Subject {
    Subject::new(
        env!("CARGO_BIN_EXE_loan-applications"),
        Api::Loan,
        |s: &StandIn| json!({"baseUrl": s.base_url, "apiKey": sandbox_apis::credentials::LOAN_API_KEY}),
    )
    .credentials(&["apiKey"])
    .page_size("pageSize", 4)
    .scope_table("loan_applications")
}

connector_conformance::tests!(subject);
