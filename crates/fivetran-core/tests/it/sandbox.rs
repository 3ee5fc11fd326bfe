//! The engine against the project's own loan stand-in (`sandbox-apis`): changing data, TLS with a custom CA.
//!
//! The stand-in follows `docs/apis/loan-api.md` independently of this crate, deletes, updates and creates
//! applications while the engine pages, and knows the ground truth. A first sync runs under churn; a second sync
//! runs after the churn stops; the warehouse built from both (Fivetran's upsert and soft-delete rules) must then
//! equal the source exactly: a record skipped by a deletion shift in the first sync and never changed again
//! would be missing.

use std::collections::BTreeMap;
use std::time::Duration;

use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Child, Config, Endpoint, Incremental, Stream};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::protocol::Table;
use fivetran_core::{Result, Secrets};
use sandbox_apis::{Api, Changing, DiffOptions, SandboxConfig};
use serde_json::{Map, Value, json};

use crate::harness::{engine, sync};

/// The loan connector as its recipe in the `connector` docs declares it, with a small byte budget.
fn loan(s: &Secrets) -> Result<Config> {
    let pages = || {
        Pagination::page_number("page")
            .size("page_size", 20)
            .total_pages(Total::Body("/pagination/total_pages".into()))
    };
    Ok(Config::new(
        s.required("baseUrl")?.expose(),
        Auth::Bearer(s.required("apiKey")?),
    )?
    .budget(BudgetSettings {
        bytes: 48 * 1024,
        time_margin: Duration::from_secs(1),
    })
    .table(Table::new("advisors", &["id"]))
    .stream(
        Stream::new(
            "loan_applications",
            &["id"],
            Endpoint::get("/v1/loan-applications"),
        )
        .records("/data")
        .paginate(pages().key_ordered("id"))
        .incremental(Incremental::query("updated_since").lookback(Duration::from_secs(5)))
        .flatten("amount")
        .child(Child::new(
            "applicants",
            "applicants",
            "loan_application_id",
            &["id"],
        ))
        .map(|row, emit| {
            let advisor = row.remove("advisor").unwrap_or(Value::Null);
            row.insert(
                "advisor_id".into(),
                advisor.get("id").cloned().unwrap_or(Value::Null),
            );
            if let Value::Object(a) = advisor {
                emit.insert("advisors", a);
            }
            Ok(())
        }),
    )
    .stream(
        Stream::deletes(
            "loan_applications",
            &["id"],
            Endpoint::get("/v1/loan-applications/deleted"),
        )
        .soft_deletes()
        .records("/data")
        .paginate(pages())
        .incremental(Incremental::query("since").lookback(Duration::from_secs(5))),
    ))
}

/// Applies responses to a warehouse with Fivetran's rules: upsert by key, soft delete by key.
fn apply(
    warehouse: &mut BTreeMap<String, BTreeMap<String, Map<String, Value>>>,
    responses: &[Value],
) {
    for response in responses {
        let key_of = |table: &str, row: &Map<String, Value>| -> String {
            response["schema"][table]["primary_key"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| row[c.as_str().unwrap()].to_string())
                .collect::<Vec<_>>()
                .join("/")
        };
        for (table, rows) in response["insert"].as_object().unwrap() {
            for row in rows.as_array().unwrap() {
                let mut row = row.as_object().unwrap().clone();
                row.insert("_fivetran_deleted".into(), json!(false));
                warehouse
                    .entry(table.clone())
                    .or_default()
                    .insert(key_of(table, &row), row);
            }
        }
        for (table, rows) in response["delete"].as_object().unwrap() {
            for row in rows.as_array().unwrap() {
                let row = row.as_object().unwrap();
                let entry = warehouse.entry(table.clone()).or_default();
                if let Some(existing) = entry.get_mut(&key_of(table, row)) {
                    existing.insert("_fivetran_deleted".into(), json!(true));
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_loan_sync_under_churn_over_tls_matches_the_source() {
    let config = SandboxConfig {
        records: 300,
        changing: Some(Changing {
            every_requests: 1,
            creates: 1,
            updates: 1,
            deletes: 1,
        }),
        tls: true,
        wall_clock: true,
        ..SandboxConfig::new(Api::Loan)
    };
    let sandbox = sandbox_apis::start(config).await.unwrap();
    let secrets = json!({
        "baseUrl": sandbox.base_url(),
        "apiKey": sandbox_apis::credentials::LOAN_API_KEY,
        "caCertificate": sandbox.ca_pem().unwrap(),
    });
    let engine = engine(loan);
    let first = sync(&engine, json!({}), secrets.clone(), 200).await;
    assert!(first.len() > 3, "{} calls", first.len());
    sandbox.set_changing(None);
    let state = first.last().unwrap()["state"].clone();
    let second = sync(&engine, state, secrets.clone(), 200).await;
    let mut warehouse = BTreeMap::new();
    apply(&mut warehouse, &first);
    apply(&mut warehouse, &second);
    let actual: BTreeMap<String, Vec<Map<String, Value>>> = warehouse
        .into_iter()
        .map(|(t, rows)| (t, rows.into_values().collect()))
        .collect();
    sandbox
        .ground_truth()
        .assert_matches(&actual, &DiffOptions::default());
    // Without the custom CA the same server is refused: TLS verification is on.
    let mut untrusted = secrets;
    untrusted.as_object_mut().unwrap().remove("caCertificate");
    let error = crate::harness::call(&crate::harness::engine(loan), json!({}), untrusted)
        .await
        .unwrap_err();
    assert_eq!(error.error_type(), "TransportError", "{error}");
    sandbox.shutdown().await;
}
