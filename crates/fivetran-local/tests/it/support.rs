//! Shared helpers: the test functions' paths, a scratch folder, and one-call sync runners.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fivetran_local::host::{FunctionHost, HostConfig};
use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, SyncOptions, SyncReport};
use fivetran_local::warehouse::Warehouse;
use serde_json::{Map, Value, json};

pub const WELL_BEHAVED: &str = env!("CARGO_BIN_EXE_well-behaved-function");
pub const MISBEHAVING: &str = env!("CARGO_BIN_EXE_misbehaving-function");
pub const CLI: &str = env!("CARGO_BIN_EXE_fivetran-local");

/// A host config with a short timeout and extra environment.
pub fn config(env: &[(&str, &str)], timeout: Duration) -> HostConfig {
    HostConfig {
        timeout,
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..HostConfig::default()
    }
}

/// Starts a function.
pub async fn start(spec: &str, config: HostConfig) -> FunctionHost {
    fivetran_local::start_function(spec, &[], config)
        .await
        .unwrap_or_else(|e| panic!("cannot start {spec}: {e}"))
}

/// Starts the misbehaving function with a behaviour.
pub async fn misbehaving(behaviour: &str) -> FunctionHost {
    start(
        MISBEHAVING,
        config(&[("MISBEHAVE", behaviour)], Duration::from_secs(20)),
    )
    .await
}

/// Sync options with the given secrets.
pub fn options(secrets: Value) -> SyncOptions {
    SyncOptions {
        request: RequestTemplate {
            secrets: secrets.as_object().cloned().unwrap_or_default(),
            agent: Some("tests".to_owned()),
            sync_id: Some("sync-1".to_owned()),
            ..RequestTemplate::default()
        },
        ..SyncOptions::default()
    }
}

/// Runs a sync into a warehouse.
pub async fn sync_into(
    host: &mut FunctionHost,
    warehouse: &mut Warehouse,
    options: &SyncOptions,
) -> SyncReport {
    sync::run(host, Some(warehouse), Map::new(), options, &mut |_| {})
        .await
        .expect("the sync ran")
}

/// Runs a conformance check (no warehouse) from `{}`.
pub async fn check(host: &mut FunctionHost) -> SyncReport {
    sync::run(host, None, Map::new(), &options(json!({})), &mut |_| {})
        .await
        .expect("the check ran")
}

/// Opens a warehouse in `dir` for connection `c`.
pub fn warehouse(dir: &Path) -> Warehouse {
    Warehouse::open(&dir.join("w.sqlite"), "c", "").expect("warehouse opens")
}

/// A secrets file with the given content.
pub fn secrets_file(dir: &Path, content: &str) -> PathBuf {
    let path = dir.join("secrets.json");
    std::fs::write(&path, content).expect("secrets written");
    path
}

/// Rows without the warehouse's own columns.
pub fn data(rows: Vec<Map<String, Value>>) -> Vec<Value> {
    rows.into_iter()
        .map(|mut r| {
            r.retain(|k, _| !k.starts_with("_fivetran_"));
            Value::Object(r)
        })
        .collect()
}

/// An object store over a folder: `<dir>/<bucket>/<key>` (what the well-behaved function writes with
/// `LOCAL_OBJECT_DIR`).
pub struct FolderStore(pub PathBuf);

impl fivetran_local::request::ObjectStore for FolderStore {
    fn fetch<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Vec<u8>, String>> + Send + 'a>>
    {
        let path = self.0.join(bucket).join(key);
        Box::pin(async move {
            std::fs::read(&path)
                .map_err(|e| format!("s3://{bucket}/{key}: cannot read the object: {e}"))
        })
    }
}
