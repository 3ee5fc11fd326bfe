//! The demo's orchestration on a made-up workspace: a "connector" (the well-behaved function) with its sandbox
//! secrets file, a fake `sandbox-apis` that prints a base URL, and a connector the demo has no secrets for.

use std::path::Path;

use fivetran_local::demo::{self, DemoOptions};
use fivetran_local::warehouse::Warehouse;

use crate::support::*;

fn copy_executable(from: &str, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
}

#[tokio::test]
async fn the_demo_syncs_every_connector_into_one_warehouse_and_says_how_to_query_it() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    std::fs::write(root.join("Cargo.toml"), "[workspace]\n").unwrap();
    for name in ["fake", "unknown-api"] {
        std::fs::create_dir_all(root.join("connectors").join(name)).unwrap();
        std::fs::write(root.join("connectors").join(name).join("Cargo.toml"), "").unwrap();
    }
    std::fs::write(
        root.join("connectors/fake/sandbox-secrets.json"),
        r#"{"_api": "loan", "apiKey": "good", "baseUrl": "{base_url}"}"#,
    )
    .unwrap();
    let target = root.join("target");
    copy_executable(WELL_BEHAVED, &target.join("debug/fake"));
    copy_executable(WELL_BEHAVED, &target.join("debug/unknown-api"));
    copy_executable(MISBEHAVING, &target.join("debug/sandbox-apis"));

    let options = DemoOptions {
        out: root.join("out"),
        seed: 1,
        records: 10,
        connectors: Vec::new(),
        target_dirs: vec![target],
        root: Some(root.to_owned()),
        build: None,
    };
    let mut lines = Vec::new();
    let report = demo::run(&options, &mut |_| {}, &mut |l| lines.push(l.to_owned()))
        .await
        .unwrap();
    assert_eq!(report.connections.len(), 2);
    let fake = &report.connections[0];
    assert_eq!(
        (fake.connector.as_str(), fake.api.as_str()),
        ("fake", "loan")
    );
    assert!(fake.report.as_ref().unwrap().is_done(), "{fake:?}");
    let unknown = &report.connections[1];
    assert!(
        unknown
            .error
            .as_ref()
            .unwrap()
            .contains("no demo secrets known for `unknown-api`")
    );
    assert!(!report.all_done());

    let warehouse = Warehouse::open(&report.warehouse, "fake", "fake__").unwrap();
    assert_eq!(warehouse.row_count("items").unwrap(), 3);
    let text = demo::render(&report);
    let path = report.warehouse.display().to_string();
    assert!(
        text.contains(&format!(
            "sqlite3 {path} '.tables' 'SELECT * FROM fake__accounts LIMIT 5'"
        )),
        "{text}"
    );
    assert!(text.contains("duckdb -c"), "{text}");
    assert!(text.contains("python3 -c"), "{text}");
}
