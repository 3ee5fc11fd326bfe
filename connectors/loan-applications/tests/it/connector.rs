//! What is particular to this connector: the table shapes of `loan-api.md` and the `pageSize` bounds.

use fivetran_local::host::HostConfig;
use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, Stop, SyncOptions};
use fivetran_local::warehouse::Warehouse;
use sandbox_apis::{Api, SandboxConfig};
use serde_json::{Map, Value, json};

const BINARY: &str = env!("CARGO_BIN_EXE_loan-applications");

fn options(secrets: Value) -> SyncOptions {
    SyncOptions {
        request: RequestTemplate {
            secrets: secrets.as_object().cloned().unwrap_or_default(),
            sync_id: Some("s".into()),
            ..RequestTemplate::default()
        },
        ..SyncOptions::default()
    }
}

#[tokio::test]
async fn tables_have_the_documented_columns_and_keys() {
    let sandbox = sandbox_apis::start(SandboxConfig {
        records: 30,
        wall_clock: true,
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = Warehouse::open(&dir.path().join("w.sqlite"), "c", "").unwrap();
    let mut host = fivetran_local::start_function(BINARY, &[], HostConfig::default())
        .await
        .unwrap();
    let secrets =
        json!({"baseUrl": sandbox.base_url(), "apiKey": "sandbox-loan-key", "pageSize": 7});
    let report = sync::run(
        &mut host,
        Some(&mut warehouse),
        Map::new(),
        &options(secrets),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.stop, Stop::Done);
    let columns = |table: &str| -> Vec<String> {
        warehouse
            .columns(table)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    let applications = columns("loan_applications");
    for present in [
        "id",
        "status",
        "product",
        "amount_value",
        "amount_currency",
        "advisor_id",
        "created_at",
        "updated_at",
    ] {
        assert!(
            applications.iter().any(|c| c == present),
            "{present} in {applications:?}"
        );
    }
    for absent in ["amount", "advisor", "applicants"] {
        assert!(
            !applications.iter().any(|c| c == absent),
            "{absent} in {applications:?}"
        );
    }
    let applicants = warehouse.read_table("applicants").unwrap();
    assert!(applicants.iter().all(|r| {
        r["loan_application_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("la_"))
    }));
    let advisors = warehouse.read_table("advisors").unwrap();
    assert!(
        !advisors.is_empty()
            && advisors
                .iter()
                .all(|r| r["id"].is_string() && r.contains_key("team"))
    );
    // Deletions after the first sync reach the warehouse as soft deletes of rows it holds.
    for _ in 0..4 {
        sandbox.change();
    }
    let secrets = json!({"baseUrl": sandbox.base_url(), "apiKey": "sandbox-loan-key"});
    let report = sync::run(
        &mut host,
        Some(&mut warehouse),
        Map::new(),
        &options(secrets),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.stop, Stop::Done);
    let soft_deleted = warehouse
        .read_table("loan_applications")
        .unwrap()
        .into_iter()
        .filter(|r| r["_fivetran_deleted"] == json!(true))
        .count();
    assert!(soft_deleted >= 4, "{soft_deleted} soft-deleted rows");
    host.stop().await;
}

#[tokio::test]
async fn a_page_size_outside_the_api_bounds_is_refused_by_name() {
    let mut host = fivetran_local::start_function(BINARY, &[], HostConfig::default())
        .await
        .unwrap();
    for size in ["0", "501", "ten"] {
        let secrets = json!({"baseUrl": "http://127.0.0.1:9", "apiKey": "k", "pageSize": size});
        let report = sync::run(&mut host, None, Map::new(), &options(secrets), &mut |_| {})
            .await
            .unwrap();
        let Stop::Failed { message, .. } = &report.stop else {
            panic!("pageSize {size}: {:?}", report.stop);
        };
        assert!(
            message.contains("pageSize") && message.contains("1 to 500"),
            "{message}"
        );
    }
}
