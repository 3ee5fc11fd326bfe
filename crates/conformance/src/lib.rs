//! `connector-conformance`: the one shared check of `docs/connector-spec.md`, run against a connector's **real
//! binary** (through `fivetran-local`'s Lambda Runtime API host and SQLite warehouse) and its `sandbox-apis`
//! stand-in. Every connector calls it from its `tests/it/main.rs`, one line per check:
//!
//! ```no_run
//! use connector_conformance::{StandIn, Subject};
//! use sandbox_apis::Api;
//! use serde_json::json;
//!
//! fn subject() -> Subject {
//!     // In a connector's test: `env!("CARGO_BIN_EXE_loan-applications")`.
//!     Subject::new("target/debug/loan-applications", Api::Loan, |s: &StandIn| {
//!         json!({"baseUrl": s.base_url, "apiKey": "sandbox-loan-key"})
//!     })
//!     .credentials(&["apiKey"])
//!     .page_size("pageSize", 4)
//! }
//!
//! // #[tokio::test]
//! async fn full_sync() {
//!     connector_conformance::full_sync(&subject()).await;
//! }
//! ```
//!
//! The checks (each panics with a readable message on failure, so a test is just the call):
//!
//! | function | spec | what it proves |
//! |---|---|---|
//! | [`shape`] | 1 | folder = package = binary name; depends on `fivetran-core`, on no other connector and no HTTP crate; `main.rs` under 150 lines without HTTP/retry/paging/state code; README covers secrets, tables, primary keys, incremental behaviour, rate limits, deploy (not async: `shape(env!("CARGO_MANIFEST_DIR"))`) |
//! | [`full_sync`] | 3.1 | a sync from `{}` leaves the ground truth: every table, row, column; deletes applied |
//! | [`second_sync_unchanged`] | 3.4 | a second sync with no source changes leaves the warehouse as it was |
//! | [`resume_from_every_state`] | 3.2 | a many-call sync where every call is repeated (a Fivetran retry) and the process restarts between calls ends where the uninterrupted run ends |
//! | [`changing_data`] | 3.3 | with the source changing while the connector pages, two consecutive syncs end at the ground truth |
//! | [`faults`] | 4.1, 4.2, 2.3 | 429 (`Retry-After` seconds and HTTP date, honoured), 5xx bursts, resets, truncated and malformed bodies end at the ground truth; a persistent 503 is a clear error that keeps the state; a quota past the deadline ends the call without moving the state |
//! | [`deadline`] | 4.3 | with a short Lambda timeout and a source answering in 300 ms, every call returns in time and the sync ends at the ground truth |
//! | [`sync_scope`] | 3.5 | `startDate` after every record → no rows, before every record → the ground truth; `tables` = [`Subject::scope_table`] → that table alone |
//! | [`setup_test`] | 5.1, 5.2 | the setup test passes with good credentials; with bad ones the error says the credentials were rejected |
//! | [`secrets_never_leak`] | 5.3 | no secret value in any log line (debug level), error, response or state |
//!
//! Every response of every check also goes through `fivetran-local`'s protocol rules (spec 2.1, 2.2).
//! Runtimes stay short: small stand-ins (40 records by default), one-second `Retry-After`s.

pub mod connection;
mod data;
mod deadline;
mod faults;
mod harness;
mod resume;
mod scope;
mod secrets;
mod setup;
mod shape;

use std::path::PathBuf;

use sandbox_apis::{Api, DiffOptions};
use serde_json::Value;

pub use connection::Connection;
pub use data::{changing_data, full_sync, second_sync_unchanged};
pub use deadline::deadline;
pub use faults::faults;
pub use resume::resume_from_every_state;
pub use scope::sync_scope;
pub use secrets::secrets_never_leak;
pub use setup::setup_test;
pub use shape::shape;

/// A running stand-in, as the secrets builder sees it.
#[derive(Debug, Clone, Copy)]
pub struct StandIn<'a> {
    /// `http://127.0.0.1:PORT` (or `https://` when [`Subject::tls`]).
    pub base_url: &'a str,
    /// The CA certificate (PEM) to trust, when the stand-in serves https (the `caCertificate` secret).
    pub ca_pem: Option<&'a str>,
}

/// What is checked: a connector binary, its stand-in, and how to build its secrets.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The connector's binary: `env!("CARGO_BIN_EXE_<name>")` in its integration test.
    pub binary: PathBuf,
    /// The stand-in API.
    pub api: Api,
    /// Builds the secrets (a JSON object) for a running stand-in.
    pub secrets: fn(&StandIn) -> Value,
    /// Secrets holding credentials: replaced by wrong values for the bad-credentials check.
    pub credentials: Vec<String>,
    /// The page-size secret and a small value, so that syncs take several pages.
    pub page_size: Option<(String, u64)>,
    /// The byte budget (`FIVETRAN_BYTE_BUDGET`) for syncs that must take several calls.
    pub small_byte_budget: usize,
    /// Top-level records the stand-in serves.
    pub records: usize,
    /// Seed of the stand-in's data.
    pub seed: u64,
    /// Serve the stand-in over https (its CA reaches the secrets through [`StandIn::ca_pem`]).
    pub tls: bool,
    /// How the warehouse is compared with the ground truth (e.g. columns the connector adds).
    pub diff: DiffOptions,
    /// A table that syncs on its own, for the `tables` secret check ([`sync_scope`]).
    pub scope_table: Option<String>,
}

impl Subject {
    /// A subject with the defaults: 40 records, seed 3, plain http, a 6 KiB byte budget for many-call syncs.
    pub fn new(binary: impl Into<PathBuf>, api: Api, secrets: fn(&StandIn) -> Value) -> Self {
        Subject {
            binary: binary.into(),
            api,
            secrets,
            credentials: Vec::new(),
            page_size: None,
            small_byte_budget: 6 * 1024,
            records: 40,
            seed: 3,
            tls: false,
            diff: DiffOptions::default(),
            scope_table: None,
        }
    }

    /// Names the secrets that hold credentials.
    pub fn credentials(mut self, names: &[&str]) -> Self {
        self.credentials = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// The page-size secret and the small value the many-call checks use.
    pub fn page_size(mut self, secret: &str, size: u64) -> Self {
        self.page_size = Some((secret.to_owned(), size));
        self
    }

    /// How many records the stand-in serves.
    pub fn records(mut self, records: usize) -> Self {
        self.records = records;
        self
    }

    /// Serves the stand-in over https.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// A table that syncs on its own, for the `tables` secret check ([`sync_scope`]).
    pub fn scope_table(mut self, table: &str) -> Self {
        self.scope_table = Some(table.to_owned());
        self
    }

    /// Ignores a column in ground-truth comparisons (one the connector adds or rewrites).
    pub fn ignore_column(mut self, column: &str) -> Self {
        self.diff.ignore_columns.push(column.to_owned());
        self
    }
}

/// Declares one test per check of `docs/connector-spec.md` for a connector, so every connector runs every check,
/// including checks added later: `connector_conformance::tests!(subject);` in the connector's `tests/it/` module,
/// where `subject` is a function returning its [`Subject`]. The connector needs `tokio` as a dev-dependency.
#[macro_export]
macro_rules! tests {
    ($subject:path) => {
        $crate::tests!(@each $subject; full_sync, second_sync_unchanged, resume_from_every_state, changing_data,
            faults, setup_test, secrets_never_leak, deadline, sync_scope);

        #[test]
        fn shape() {
            $crate::shape(env!("CARGO_MANIFEST_DIR"));
        }
    };
    (@each $subject:path; $($check:ident),+) => {
        $(
            #[tokio::test]
            async fn $check() {
                $crate::$check(&$subject()).await;
            }
        )+
    };
}
