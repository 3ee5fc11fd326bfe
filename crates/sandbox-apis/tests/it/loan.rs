//! The loan API stand-in: paging, ordering, filters, auth, deletion feed, changing data, determinism.

use std::collections::BTreeMap;

use sandbox_apis::credentials::LOAN_API_KEY;
use sandbox_apis::{Api, Row, Sandbox, SandboxConfig, start};
use serde_json::{Value, json};

use crate::support::{Got, client, send};

pub async fn loan(records: usize, seed: u64) -> Sandbox {
    start(SandboxConfig {
        records,
        seed,
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap()
}

pub async fn get(sandbox: &Sandbox, path_and_query: &str) -> Got {
    send(
        client()
            .get(format!("{}{path_and_query}", sandbox.base_url()))
            .bearer_auth(LOAN_API_KEY),
    )
    .await
}

/// Reads every page of a list endpoint (no changes expected while reading).
pub async fn read_all(sandbox: &Sandbox, path: &str, page_size: usize) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let sep = if path.contains('?') { '&' } else { '?' };
        let body = get(
            sandbox,
            &format!("{path}{sep}page={page}&page_size={page_size}"),
        )
        .await
        .json();
        let data = body["data"].as_array().unwrap().clone();
        if data.is_empty() {
            break;
        }
        out.extend(data);
    }
    out
}

/// Builds the warehouse a correct connector produces from a full read of both feeds.
pub fn warehouse(apps: &[Value], deleted: &[Value]) -> BTreeMap<String, Vec<Row>> {
    let mut tables: BTreeMap<String, BTreeMap<String, Row>> = BTreeMap::new();
    for app in apps {
        let id = app["id"].as_str().unwrap().to_owned();
        let row = json!({
            "id": id, "status": app["status"], "product": app["product"],
            "amount_value": app["amount"]["value"], "amount_currency": app["amount"]["currency"],
            "created_at": app["created_at"], "updated_at": app["updated_at"],
            "advisor_id": app["advisor"]["id"], "_fivetran_deleted": false,
        });
        tables
            .entry("loan_applications".into())
            .or_default()
            .insert(id.clone(), row.as_object().unwrap().clone());
        for a in app["applicants"].as_array().unwrap() {
            let mut r = a.as_object().unwrap().clone();
            r.insert("loan_application_id".into(), json!(id));
            tables
                .entry("applicants".into())
                .or_default()
                .insert(format!("{id}/{}", a["id"]), r);
        }
        if app["advisor"].is_object() {
            let adv = app["advisor"].as_object().unwrap().clone();
            tables
                .entry("advisors".into())
                .or_default()
                .insert(adv["id"].to_string(), adv);
        }
    }
    for d in deleted {
        let id = d["id"].as_str().unwrap().to_owned();
        let row = tables
            .entry("loan_applications".into())
            .or_default()
            .entry(id.clone())
            .or_default();
        row.insert("id".into(), json!(id));
        row.insert("_fivetran_deleted".into(), json!(true));
    }
    tables
        .into_iter()
        .map(|(t, rows)| (t, rows.into_values().collect()))
        .collect()
}

#[tokio::test]
async fn pages_have_totals_order_and_an_empty_page_past_the_end() {
    let sandbox = loan(250, 5).await;
    let live = sandbox.ground_truth().tables["loan_applications"]
        .rows
        .values()
        .filter(|r| r["_fivetran_deleted"] == json!(false))
        .count();
    let first = get(&sandbox, "/v1/loan-applications?page=1&page_size=100").await;
    assert_eq!(first.status, 200);
    let body = first.json();
    assert_eq!(
        body["pagination"],
        json!({"page": 1, "page_size": 100, "total_pages": live.div_ceil(100), "total_items": live})
    );
    assert_eq!(body["data"].as_array().unwrap().len(), 100);
    let all = read_all(&sandbox, "/v1/loan-applications", 100).await;
    assert_eq!(all.len(), live);
    let ids: Vec<&str> = all.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ordered by id");
    let past = get(&sandbox, "/v1/loan-applications?page=99").await.json();
    assert_eq!(past["data"], json!([]));
    assert_eq!(past["pagination"]["total_items"], json!(live));
    let default = get(&sandbox, "/v1/loan-applications").await.json();
    assert_eq!(default["pagination"]["page_size"], json!(100));
    assert_eq!(default["pagination"]["page"], json!(1));
}

#[tokio::test]
async fn record_shape_follows_the_contract() {
    let sandbox = loan(200, 6).await;
    let all = read_all(&sandbox, "/v1/loan-applications", 500).await;
    let app = &all[0];
    for key in [
        "id",
        "status",
        "product",
        "amount",
        "created_at",
        "updated_at",
        "advisor",
        "applicants",
    ] {
        assert!(app.get(key).is_some(), "{key} in {app}");
    }
    assert!(app["amount"]["value"].is_string());
    assert!(
        all.iter().any(|a| a["advisor"].is_null()),
        "some unassigned"
    );
    assert!(
        all.iter()
            .all(|a| (1..=4).contains(&a["applicants"].as_array().unwrap().len()))
    );
    let statuses = ["draft", "submitted", "approved", "rejected", "withdrawn"];
    assert!(
        all.iter()
            .all(|a| statuses.contains(&a["status"].as_str().unwrap()))
    );
    assert!(
        all.iter().any(|a| !a.to_string().is_ascii()),
        "unicode somewhere"
    );
}

#[tokio::test]
async fn page_size_limits_and_bad_parameters_are_400() {
    let sandbox = loan(10, 1).await;
    assert_eq!(
        get(&sandbox, "/v1/loan-applications?page_size=500")
            .await
            .status,
        200
    );
    for q in [
        "page_size=501",
        "page_size=0",
        "page=0",
        "page=x",
        "updated_since=yesterday",
    ] {
        let got = get(&sandbox, &format!("/v1/loan-applications?{q}")).await;
        assert_eq!(got.status, 400, "{q}");
        assert!(got.json()["error"].is_string());
    }
    assert_eq!(get(&sandbox, "/v1/nothing-here").await.status, 404);
}

#[tokio::test]
async fn bearer_key_is_checked() {
    let sandbox = loan(10, 1).await;
    let url = format!("{}/v1/loan-applications", sandbox.base_url());
    for request in [
        client().get(&url),
        client().get(&url).bearer_auth("wrong"),
        client().get(&url).basic_auth(LOAN_API_KEY, None::<&str>),
    ] {
        let got = send(request).await;
        assert_eq!(got.status, 401);
        assert_eq!(got.json(), json!({"error": "invalid_api_key"}));
    }
    assert_eq!(get(&sandbox, "/v1/loan-applications").await.status, 200);
}

#[tokio::test]
async fn updated_since_is_inclusive() {
    let sandbox = loan(300, 2).await;
    let all = read_all(&sandbox, "/v1/loan-applications", 500).await;
    let mut stamps: Vec<&str> = all
        .iter()
        .map(|a| a["updated_at"].as_str().unwrap())
        .collect();
    stamps.sort();
    let cut = stamps[stamps.len() / 2];
    let expected = stamps.iter().filter(|s| **s >= cut).count();
    let since = read_all(
        &sandbox,
        &format!("/v1/loan-applications?updated_since={cut}"),
        100,
    )
    .await;
    assert_eq!(since.len(), expected);
    assert!(
        since
            .iter()
            .all(|a| a["updated_at"].as_str().unwrap() >= cut)
    );
    let ids: Vec<&str> = since.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn deleted_feed_pages_and_filters_by_since() {
    let sandbox = loan(400, 3).await;
    for _ in 0..10 {
        sandbox.change();
    }
    let deleted = read_all(&sandbox, "/v1/loan-applications/deleted", 5).await;
    let truth = sandbox.ground_truth();
    let truth_deleted: Vec<&String> = truth.tables["loan_applications"]
        .rows
        .iter()
        .filter(|(_, r)| r["_fivetran_deleted"] == json!(true))
        .map(|(k, _)| &k[0])
        .collect();
    let feed_ids: Vec<&str> = deleted.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(feed_ids, truth_deleted);
    assert!(feed_ids.windows(2).all(|w| w[0] < w[1]));
    let newest = deleted
        .iter()
        .map(|d| d["deleted_at"].as_str().unwrap())
        .max()
        .unwrap();
    let since = read_all(
        &sandbox,
        &format!("/v1/loan-applications/deleted?since={newest}"),
        100,
    )
    .await;
    assert!(
        !since.is_empty()
            && since
                .iter()
                .all(|d| d["deleted_at"].as_str().unwrap() == newest)
    );
}

#[tokio::test]
async fn same_seed_same_data_other_seed_other_data() {
    let (a, b, c) = (
        loan(150, 21).await,
        loan(150, 21).await,
        loan(150, 22).await,
    );
    assert_eq!(a.ground_truth(), b.ground_truth());
    assert_ne!(a.ground_truth(), c.ground_truth());
    let pa = get(&a, "/v1/loan-applications?page=2").await.text;
    let pb = get(&b, "/v1/loan-applications?page=2").await.text;
    assert_eq!(pa, pb);
    for _ in 0..5 {
        a.change();
        b.change();
    }
    assert_eq!(a.ground_truth(), b.ground_truth());
}

#[tokio::test]
async fn ground_truth_has_the_connector_table_shapes() {
    let sandbox = loan(80, 12).await;
    let truth = sandbox.ground_truth();
    assert_eq!(truth.tables["loan_applications"].primary_key, vec!["id"]);
    assert_eq!(
        truth.tables["applicants"].primary_key,
        vec!["loan_application_id", "id"]
    );
    assert_eq!(truth.tables["advisors"].primary_key, vec!["id"]);
    let live = truth.tables["loan_applications"]
        .rows
        .values()
        .find(|r| r["_fivetran_deleted"] == json!(false))
        .unwrap();
    for key in ["amount_value", "amount_currency", "advisor_id"] {
        assert!(live.contains_key(key), "{key}");
    }
    assert!(
        !live.contains_key("applicants")
            && !live.contains_key("advisor")
            && !live.contains_key("amount")
    );
    let apps = read_all(&sandbox, "/v1/loan-applications", 100).await;
    let advisors: std::collections::BTreeSet<&str> = apps
        .iter()
        .filter_map(|a| a["advisor"]["id"].as_str())
        .collect();
    assert_eq!(truth.row_count("advisors"), advisors.len());
}

/// Benchmarks page through 20,000+ records at 100 per page with 50 ms injected latency: serving a page must cost far
/// less than that (measured by the stand-in itself, so client overhead does not count).
#[tokio::test]
async fn twenty_thousand_records_page_cheaply() {
    let sandbox = loan(20_000, 17).await;
    let all = read_all(&sandbox, "/v1/loan-applications", 100).await;
    assert!(all.len() > 19_000);
    let mut durations: Vec<_> = sandbox
        .request_log()
        .entries
        .iter()
        .map(|e| e.duration)
        .collect();
    durations.sort();
    let median = durations[durations.len() / 2];
    assert!(
        median < std::time::Duration::from_millis(150),
        "median {median:?} per page"
    );
}
