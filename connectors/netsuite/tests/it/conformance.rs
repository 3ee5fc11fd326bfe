//! Every check of the shared `connector-conformance` crate (docs/connector-spec.md), declared by its `tests!` macro,
//! against the SuiteQL stand-in (TBA with realm).

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

connector_conformance::tests!(subject);
