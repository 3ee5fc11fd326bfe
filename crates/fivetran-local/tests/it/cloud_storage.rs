//! The `CLOUD_STORAGE` sync method through the `ObjectStore` seam, with a folder standing in for S3: the request
//! carries `bucket`/`file`, the rows come from the object, and the warehouse ends as with the direct method.

use std::sync::Arc;
use std::time::Duration;

use fivetran_local::request::SyncMethod;
use fivetran_local::sync::{Cause, Stop};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn rows_travel_through_the_object_and_land_as_with_the_direct_method() {
    let dir = tempfile::tempdir().unwrap();
    let objects = dir.path().join("s3");
    let mut host = start(
        WELL_BEHAVED,
        config(
            &[("LOCAL_OBJECT_DIR", objects.to_str().unwrap())],
            Duration::from_secs(20),
        ),
    )
    .await;
    let mut opts = options(json!({}));
    opts.method = SyncMethod::CloudStorage {
        bucket: "landing".into(),
        key_prefix: "runs/".into(),
        store: Arc::new(FolderStore(objects.clone())),
    };
    let mut cloud = warehouse(dir.path());
    let report = sync_into(&mut host, &mut cloud, &opts).await;
    assert_eq!(report.stop, Stop::Done, "{report:?}");
    assert_eq!(report.calls, 3);
    assert!(objects.join("landing/runs/sync-1/000001.json").exists());

    let direct_dir = tempfile::tempdir().unwrap();
    let mut direct = warehouse(direct_dir.path());
    sync_into(&mut host, &mut direct, &options(json!({}))).await;
    for table in ["items", "accounts", "events"] {
        assert_eq!(
            data(cloud.read_table(table).unwrap()),
            data(direct.read_table(table).unwrap()),
            "{table}"
        );
    }
}

#[tokio::test]
async fn a_missing_object_stops_the_sync_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    // The function answers directly (no LOCAL_OBJECT_DIR), so the object is never written.
    let mut host = start(WELL_BEHAVED, config(&[], Duration::from_secs(20))).await;
    let mut opts = options(json!({}));
    opts.method = SyncMethod::CloudStorage {
        bucket: "landing".into(),
        key_prefix: String::new(),
        store: Arc::new(FolderStore(dir.path().join("s3"))),
    };
    let mut warehouse = warehouse(dir.path());
    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    match &report.stop {
        Stop::Failed {
            call,
            cause,
            message,
        } => {
            assert_eq!((*call, *cause), (1, Cause::CloudStorage));
            assert!(message.contains("landing"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert!(warehouse.state().unwrap().is_empty());
}
