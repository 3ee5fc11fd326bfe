//! Every connector of the workspace, as its real binary, against its sandbox stand-in: a full sync must leave the
//! stand-in's ground truth in the warehouse, and a second sync with no source changes must leave it as it is.
//!
//! Connectors are found in `connectors/`; each is built with `cargo build -p <name>` first (a no-op when it is up to
//! date). The stand-in API and secrets come from `connectors/<name>/sandbox-secrets.json` or the demo's table.

use std::path::PathBuf;
use std::time::Duration;

use fivetran_local::demo;
use fivetran_local::sync::Stop;
use sandbox_apis::{Api, SandboxConfig};
use serde_json::{Map, Value};

use crate::support::*;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The newest modification time of any file under `dir`.
fn newest(dir: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            if path.is_dir() {
                newest(&path)
            } else {
                e.metadata().ok()?.modified().ok()
            }
        })
        .max()
}

/// Builds the connector unless its debug binary is newer than its sources and the core's (`cargo test --workspace`
/// has built it already; a separate `cargo build -p` would resolve features differently and rebuild dependencies).
fn build(connector: &str) {
    let root = workspace_root();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let built = std::fs::metadata(target.join("debug").join(connector))
        .and_then(|m| m.modified())
        .ok();
    let sources = [
        root.join("connectors").join(connector),
        root.join("crates/fivetran-core/src"),
    ]
    .iter()
    .filter_map(|d| newest(d))
    .max();
    if let (Some(built), Some(sources)) = (built, sources)
        && built > sources
    {
        return;
    }
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", connector])
        .current_dir(workspace_root())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p {connector} failed");
}

/// Rows without `_fivetran_synced`, which moves on every write.
fn settled(
    tables: std::collections::BTreeMap<String, Vec<Map<String, Value>>>,
) -> Vec<(String, Vec<Value>)> {
    tables
        .into_iter()
        .map(|(name, rows)| {
            let rows = rows
                .into_iter()
                .map(|mut r| {
                    r.remove("_fivetran_synced");
                    Value::Object(r)
                })
                .collect();
            (name, rows)
        })
        .collect()
}

#[tokio::test]
async fn every_connector_syncs_its_stand_in_to_the_ground_truth() {
    let root = workspace_root();
    let connectors = demo::workspace_connectors(&root);
    assert!(
        !connectors.is_empty(),
        "no connectors under {}",
        root.display()
    );
    for connector in connectors {
        let (api, template) = demo::sandbox_secrets(&root, &connector);
        let template =
            template.unwrap_or_else(|| panic!("{connector}: no sandbox secrets (see demo.rs)"));
        let api: Api = api.parse().unwrap_or_else(|e| panic!("{connector}: {e}"));
        build(&connector);
        let sandbox = sandbox_apis::start(SandboxConfig {
            seed: 11,
            records: 60,
            ..SandboxConfig::new(api)
        })
        .await
        .expect("the stand-in starts");
        let dir = tempfile::tempdir().unwrap();
        let mut warehouse = warehouse(dir.path());
        let mut host = start(&connector, config(&[], Duration::from_secs(120))).await;
        let opts = options(Value::Object(demo::secrets_for(
            &template,
            &sandbox.base_url(),
        )));

        let report = sync_into(&mut host, &mut warehouse, &opts).await;
        assert_eq!(
            report.stop,
            Stop::Done,
            "{connector}: {}",
            fivetran_local::output::summary(&report)
        );
        let options = sandbox_apis::DiffOptions {
            ignore_columns: demo::ignored_columns(&template),
        };
        sandbox.ground_truth().assert_matches_in(
            &connector,
            &warehouse.read_all().unwrap(),
            &options,
        );

        let before = settled(warehouse.read_all().unwrap());
        let report = sync_into(&mut host, &mut warehouse, &opts).await;
        assert_eq!(report.stop, Stop::Done, "{connector}: second sync");
        assert_eq!(
            before,
            settled(warehouse.read_all().unwrap()),
            "{connector}: a second sync changed the warehouse"
        );
        host.stop().await;
        sandbox.shutdown().await;
    }
}
