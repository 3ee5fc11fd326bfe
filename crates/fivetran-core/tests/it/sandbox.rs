//! The engine against the project's own stand-ins (`sandbox-apis`): changing data, TLS with a custom CA.
//!
//! The stand-ins follow `docs/apis/*.md` independently of this crate, change their data while the engine pages
//! (the loan API also deletes), and know the ground truth. A first sync runs under churn; a second sync runs after
//! the churn stops; the warehouse built from both (Fivetran's upsert and soft-delete rules) must then equal the
//! source exactly: a record skipped by a deletion shift or by a page move in the first sync and never changed
//! again would be missing.

use std::collections::BTreeMap;
use std::time::Duration;

use fivetran_core::auth::{Auth, OAuth1, OAuth1SignatureMethod};
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Child, Config, CursorFormat, Endpoint, Incremental, Stream};
use fivetran_core::http::HttpSettings;
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

/// GitHub issues as the recipe in the `connector` docs declares them: one stream per repository, `Link` paging in
/// creation order, a frozen `since`.
fn github(s: &Secrets) -> Result<Config> {
    let mut config = Config::new(
        s.required("baseUrl")?.expose(),
        Auth::Bearer(s.required("token")?),
    )?
    .header("Accept", "application/vnd.github+json")
    .header("X-GitHub-Api-Version", "2022-11-28")
    .http(HttpSettings {
        backoff_base: Duration::from_millis(20),
        ..HttpSettings::default()
    })
    .budget(BudgetSettings {
        bytes: 32 * 1024,
        time_margin: Duration::from_secs(1),
    });
    for repo in s.list("repositories")?.unwrap_or_default() {
        config = config.stream(
            Stream::new(
                "issues",
                &["id"],
                Endpoint::get(&format!("/repos/{repo}/issues"))
                    .query("state", "all")
                    .query("sort", "created")
                    .query("direction", "asc")
                    .query("per_page", "7"),
            )
            .state_key(&format!("issues:{repo}"))
            .paginate(Pagination::link_header())
            .incremental(Incremental::query("since").lookback(Duration::from_secs(5)))
            .constant("repository", repo.as_str()),
        );
    }
    Ok(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_issues_under_churn_match_the_source() {
    let config = SandboxConfig {
        records: 60,
        changing: Some(Changing {
            every_requests: 1,
            creates: 1,
            updates: 2,
            deletes: 0,
        }),
        wall_clock: true,
        ..SandboxConfig::new(Api::GitHub)
    };
    let sandbox = sandbox_apis::start(config).await.unwrap();
    let secrets = json!({
        "baseUrl": sandbox.base_url(),
        "token": sandbox_apis::credentials::GITHUB_TOKEN,
        "repositories": sandbox_apis::GITHUB_REPOSITORIES.join(","),
    });
    let engine = engine(github);
    let first = sync(&engine, json!({}), secrets.clone(), 200).await;
    assert!(first.len() > 3, "{} calls", first.len());
    sandbox.set_changing(None);
    let second = sync(
        &engine,
        first.last().unwrap()["state"].clone(),
        secrets,
        200,
    )
    .await;
    let mut warehouse = BTreeMap::new();
    apply(&mut warehouse, &first);
    apply(&mut warehouse, &second);
    let actual: BTreeMap<String, Vec<Map<String, Value>>> = warehouse
        .into_iter()
        .map(|(t, rows)| (t, rows.into_values().collect()))
        .collect();
    let mut truth = sandbox.ground_truth();
    truth.tables.retain(|name, _| name == "issues");
    truth.assert_matches(&actual, &DiffOptions::default());
    sandbox.shutdown().await;
}

/// WooCommerce as the recipe in the `connector` docs declares it, over https with Basic auth: id order, a frozen
/// `modified_after`, page counts from `X-WP-TotalPages` (pages fetched concurrently), line items as a child table.
fn woo(s: &Secrets) -> Result<Config> {
    let list = |path: &str| {
        Endpoint::get(path)
            .query("orderby", "id")
            .query("order", "asc")
    };
    let pages = || {
        Pagination::page_number("page")
            .size("per_page", 10)
            .total_pages(Total::Header("X-WP-TotalPages".into()))
    };
    let base = format!(
        "{}/wp-json/wc/v3",
        s.required("storeUrl")?.expose().trim_end_matches('/')
    );
    let auth = Auth::Basic {
        username: s.required("consumerKey")?,
        password: s.required("consumerSecret")?,
    };
    Ok(Config::new(&base, auth)?
        .budget(BudgetSettings {
            bytes: 64 * 1024,
            time_margin: Duration::from_secs(1),
        })
        .stream(
            Stream::new(
                "orders",
                &["id"],
                list("/orders").query("dates_are_gmt", "true"),
            )
            .paginate(pages())
            .incremental(Incremental::query("modified_after").lookback(Duration::from_secs(5)))
            .child(Child::new(
                "line_items",
                "order_line_items",
                "order_id",
                &["id"],
            )),
        )
        .stream(Stream::new("products", &["id"], list("/products")).paginate(pages()))
        .stream(Stream::new("customers", &["id"], list("/customers")).paginate(pages())))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn woocommerce_under_churn_over_tls_matches_the_source() {
    let config = SandboxConfig {
        records: 120,
        changing: Some(Changing {
            every_requests: 1,
            creates: 1,
            updates: 2,
            deletes: 0,
        }),
        tls: true,
        wall_clock: true,
        ..SandboxConfig::new(Api::WooCommerce)
    };
    let sandbox = sandbox_apis::start(config).await.unwrap();
    let secrets = json!({
        "storeUrl": sandbox.base_url(),
        "consumerKey": sandbox_apis::credentials::WOO_CONSUMER_KEY,
        "consumerSecret": sandbox_apis::credentials::WOO_CONSUMER_SECRET,
        "caCertificate": sandbox.ca_pem().unwrap(),
    });
    let engine = engine(woo);
    let first = sync(&engine, json!({}), secrets.clone(), 200).await;
    assert!(first.len() > 3, "{} calls", first.len());
    sandbox.set_changing(None);
    let second = sync(
        &engine,
        first.last().unwrap()["state"].clone(),
        secrets,
        200,
    )
    .await;
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
    sandbox.shutdown().await;
}

/// NetSuite as the recipe in the `connector` docs declares it: SuiteQL POSTs, keyset on id with a frozen lower
/// bound in the query, OAuth 1.0a TBA (HMAC-SHA256, realm).
fn netsuite(s: &Secrets) -> Result<Config> {
    let auth = OAuth1::new(s.required("consumerKey")?, s.required("consumerSecret")?)
        .token(s.required("tokenId")?, s.required("tokenSecret")?)
        .signature_method(OAuth1SignatureMethod::HmacSha256)
        .realm(s.required("accountId")?.expose().as_str());
    let mut config =
        Config::new(s.required("baseUrl")?.expose(), Auth::OAuth1(auth))?.budget(BudgetSettings {
            bytes: 12 * 1024,
            time_margin: Duration::from_secs(1),
        });
    for record in s.list("recordTypes")?.unwrap_or_default() {
        let q = format!(
            "SELECT * FROM {record} WHERE id > {{after}} AND lastmodifieddate >= \
             TO_DATE('{{since}}', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id"
        );
        config = config.stream(
            Stream::new(
                &record,
                &["id"],
                Endpoint::post("/services/rest/query/v1/suiteql", json!({"q": q}))
                    .header("Prefer", "transient"),
            )
            .records("/items")
            .exclude("links")
            .paginate(
                Pagination::keyset("id")
                    .after_initial("0")
                    .size("limit", 25)
                    .has_more("/hasMore"),
            )
            .incremental(
                Incremental::template()
                    .initial("1970-01-01 00:00:00")
                    .format(CursorFormat::Strftime("%Y-%m-%d %H:%M:%S".into()))
                    .utc_offset(-8 * 3600)
                    .lookback(Duration::from_secs(5)),
            ),
        );
    }
    Ok(config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn netsuite_keyset_under_churn_matches_the_source() {
    let config = SandboxConfig {
        records: 80,
        changing: Some(Changing {
            every_requests: 1,
            creates: 1,
            updates: 2,
            deletes: 0,
        }),
        wall_clock: true,
        ..SandboxConfig::new(Api::NetSuite)
    };
    let sandbox = sandbox_apis::start(config).await.unwrap();
    use sandbox_apis::credentials as c;
    let secrets = json!({
        "baseUrl": sandbox.base_url(), "accountId": c::NETSUITE_ACCOUNT_ID,
        "consumerKey": c::NETSUITE_CONSUMER_KEY, "consumerSecret": c::NETSUITE_CONSUMER_SECRET,
        "tokenId": c::NETSUITE_TOKEN_ID, "tokenSecret": c::NETSUITE_TOKEN_SECRET,
        "recordTypes": sandbox_apis::NETSUITE_RECORD_TYPES.join(","),
    });
    let engine = engine(netsuite);
    let first = sync(&engine, json!({}), secrets.clone(), 300).await;
    assert!(first.len() > 3, "{} calls", first.len());
    sandbox.set_changing(None);
    let second = sync(
        &engine,
        first.last().unwrap()["state"].clone(),
        secrets,
        300,
    )
    .await;
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
    sandbox.shutdown().await;
}
