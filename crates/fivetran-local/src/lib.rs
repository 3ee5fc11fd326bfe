//! `fivetran-local`: a local Fivetran that runs a connector's real `bootstrap` through the Lambda Runtime API,
//! checks every response against the function protocol, and writes a local SQLite warehouse.
//!
//! - [`artifact`]: finds the bootstrap to run (a binary, a `bootstrap.zip`, or a connector name).
//! - [`runtime_api`] and [`host`]: the Lambda Runtime API on loopback and the function process it serves.
//! - [`check`]: the protocol rules, on raw JSON, so any function can be checked.
//! - [`warehouse`]: the SQLite warehouse with Fivetran's semantics.
//! - [`sync`]: plays Fivetran — builds requests, loops while `hasMore`, checks, writes, stops clearly.
//! - [`output`]: progress lines and the summary table for people, JSON for machines.
//! - [`demo`]: every connector against its sandbox stand-in, into one warehouse.

pub mod artifact;
pub mod check;
pub mod demo;
pub mod error;
pub mod host;
pub mod logs;
pub mod output;
pub mod request;
pub mod runtime_api;
pub mod setup_test;
pub mod sync;
pub mod warehouse;

pub use error::{Error, Result};

/// Resolves a function (a path to a binary or a `bootstrap.zip`, or a connector name) and starts it against a
/// fresh Runtime API host.
pub async fn start_function(
    spec: &str,
    target_dirs: &[std::path::PathBuf],
    config: host::HostConfig,
) -> Result<host::FunctionHost> {
    let bootstrap = artifact::resolve(spec, target_dirs)?;
    host::FunctionHost::start(bootstrap, config).await
}
