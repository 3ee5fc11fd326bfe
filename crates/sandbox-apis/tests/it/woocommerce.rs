//! The WooCommerce stand-in: OAuth 1.0a in the query string, Basic over TLS, WordPress paging headers, ordering,
//! `modified_after`, changing data, determinism.

use std::collections::BTreeMap;

use sandbox_apis::credentials::{WOO_CONSUMER_KEY as KEY, WOO_CONSUMER_SECRET as SECRET};
use sandbox_apis::{Api, Changing, Faults, Row, Sandbox, SandboxConfig, start};
use serde_json::{Value, json};

use crate::oauth_client::{nonce, now, sha1_query, sha256_query};
use crate::support::{Got, client, send};

async fn woo(records: usize, seed: u64) -> Sandbox {
    start(SandboxConfig {
        records,
        seed,
        ..SandboxConfig::new(Api::WooCommerce)
    })
    .await
    .unwrap()
}

fn url(sandbox: &Sandbox, collection: &str) -> String {
    format!("{}/wp-json/wc/v3/{collection}", sandbox.base_url())
}

/// A GET signed with HMAC-SHA1 by `oauth1-request`.
async fn get(sandbox: &Sandbox, collection: &str, params: &[(&str, &str)]) -> Got {
    let signed = sha1_query(
        &url(sandbox, collection),
        params,
        KEY,
        SECRET,
        now(),
        &nonce(),
    );
    send(client().get(signed)).await
}

async fn read_all(sandbox: &Sandbox, collection: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let p = page.to_string();
        let got = get(
            sandbox,
            collection,
            &[
                ("orderby", "id"),
                ("order", "asc"),
                ("per_page", "100"),
                ("page", &p),
            ],
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.text);
        let items = got.json().as_array().unwrap().clone();
        if items.is_empty() {
            break;
        }
        out.extend(items);
    }
    out
}

fn rows(items: &[Value]) -> Vec<Row> {
    items
        .iter()
        .map(|v| v.as_object().unwrap().clone())
        .collect()
}

#[tokio::test]
async fn oauth_hmac_sha1_and_sha256_are_accepted() {
    let sandbox = woo(30, 1).await;
    let got = get(&sandbox, "orders", &[("per_page", "5")]).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json().as_array().unwrap().len(), 5);
    let signed = sha256_query(
        &url(&sandbox, "products"),
        &[("per_page", "2"), ("orderby", "id")],
        KEY,
        SECRET,
        now(),
        &nonce(),
    );
    let got = send(client().get(signed)).await;
    assert_eq!(got.status, 200, "{}", got.text);
}

#[tokio::test]
async fn wrong_signature_expired_timestamp_and_reused_nonce_are_rejected() {
    let sandbox = woo(10, 1).await;
    let wrong = sha1_query(
        &url(&sandbox, "orders"),
        &[],
        KEY,
        "not-the-secret",
        now(),
        &nonce(),
    );
    let got = send(client().get(wrong)).await;
    assert_eq!(got.status, 401);
    assert_eq!(got.json()["code"], "woocommerce_rest_authentication_error");
    assert_eq!(got.json()["data"]["status"], 401);

    let old = sha1_query(
        &url(&sandbox, "orders"),
        &[],
        KEY,
        SECRET,
        now() - 16 * 60,
        &nonce(),
    );
    assert_eq!(
        send(client().get(old)).await.json()["message"],
        "Invalid timestamp."
    );
    let slightly_old = sha1_query(
        &url(&sandbox, "orders"),
        &[],
        KEY,
        SECRET,
        now() - 14 * 60,
        &nonce(),
    );
    assert_eq!(send(client().get(slightly_old)).await.status, 200);

    let once = sha1_query(
        &url(&sandbox, "orders"),
        &[("per_page", "1")],
        KEY,
        SECRET,
        now(),
        &nonce(),
    );
    assert_eq!(send(client().get(&once)).await.status, 200);
    let again = send(client().get(&once)).await;
    assert_eq!(again.status, 401);
    assert_eq!(
        again.json()["message"],
        "Invalid nonce - nonce has already been used."
    );

    let unsigned = send(client().get(url(&sandbox, "orders"))).await;
    assert_eq!(unsigned.status, 401);
}

#[tokio::test]
async fn a_nonce_is_spent_even_when_the_answer_is_a_500() {
    let mut faults = Faults::default();
    faults.add_spec("500@at=1").unwrap();
    let sandbox = start(SandboxConfig {
        records: 5,
        faults,
        ..SandboxConfig::new(Api::WooCommerce)
    })
    .await
    .unwrap();
    let signed = sha1_query(&url(&sandbox, "orders"), &[], KEY, SECRET, now(), &nonce());
    assert_eq!(send(client().get(&signed)).await.status, 500);
    assert_eq!(send(client().get(&signed)).await.status, 401);
}

#[tokio::test]
async fn link_headers_repeat_the_query_and_a_repeated_oauth_parameter_is_refused() {
    let sandbox = woo(25, 2).await;
    let got = get(
        &sandbox,
        "orders",
        &[
            ("per_page", "10"),
            ("page", "2"),
            ("orderby", "id"),
            ("order", "asc"),
        ],
    )
    .await;
    assert_eq!(got.header("x-wp-total"), Some("25"));
    assert_eq!(got.header("x-wp-totalpages"), Some("3"));
    let link = got.header("link").unwrap();
    assert!(
        link.contains("rel=\"prev\"") && link.contains("rel=\"next\""),
        "{link}"
    );
    let next = link
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .unwrap();
    let next = next
        .trim_start_matches('<')
        .split(">;")
        .next()
        .unwrap()
        .to_owned();
    assert!(
        next.contains("page=3")
            && next.contains("oauth_consumer_key=")
            && next.contains("oauth_signature="),
        "{next}"
    );
    // Following the signed URL as it is reuses its nonce.
    assert_eq!(send(client().get(&next)).await.status, 401);
    // Signing it again without dropping its oauth_* parameters repeats them.
    let parsed = url::Url::parse(&next).unwrap();
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let base = format!("{}/wp-json/wc/v3/orders", sandbox.base_url());
    let resigned = sha256_query(&base, &borrowed, KEY, SECRET, now(), &nonce());
    let got = send(client().get(resigned)).await;
    assert_eq!(
        (got.status, got.json()["message"].as_str()),
        (401, Some("Duplicated OAuth parameter."))
    );
    // Dropping them and signing afresh works, and the last page has no next link.
    let clean: Vec<(&str, &str)> = borrowed
        .into_iter()
        .filter(|(k, _)| !k.starts_with("oauth_"))
        .collect();
    let got = send(client().get(sha1_query(&base, &clean, KEY, SECRET, now(), &nonce()))).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json().as_array().unwrap().len(), 5);
    assert!(!got.header("link").unwrap().contains("rel=\"next\""));
}

#[tokio::test]
async fn per_page_limits_page_past_the_end_and_default_order() {
    let sandbox = woo(30, 3).await;
    assert_eq!(
        get(&sandbox, "orders", &[("per_page", "101")]).await.status,
        400
    );
    assert_eq!(
        get(&sandbox, "orders", &[("per_page", "100")]).await.status,
        200
    );
    let past = get(&sandbox, "orders", &[("page", "9")]).await;
    assert_eq!((past.status, past.json()), (200, json!([])));
    let default = get(&sandbox, "orders", &[]).await.json();
    let dates: Vec<&str> = default
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["date_created_gmt"].as_str().unwrap())
        .collect();
    assert_eq!(dates.len(), 10, "default per_page is 10");
    assert!(
        dates.windows(2).all(|w| w[0] >= w[1]),
        "newest first by default"
    );
    let ids: Vec<u64> = read_all(&sandbox, "orders")
        .await
        .iter()
        .map(|o| o["id"].as_u64().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let customers = get(&sandbox, "customers", &[("per_page", "100")])
        .await
        .json();
    let names: Vec<String> = customers
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["last_name"].as_str().unwrap(),
                c["first_name"].as_str().unwrap()
            )
        })
        .collect();
    assert!(
        names.windows(2).all(|w| w[0] <= w[1]),
        "customers by name ascending by default"
    );
}

#[tokio::test]
async fn modified_after_is_strict_with_gmt_and_local_dates() {
    let sandbox = woo(60, 4).await;
    let all = read_all(&sandbox, "orders").await;
    let mut stamps: Vec<&str> = all
        .iter()
        .map(|o| o["date_modified_gmt"].as_str().unwrap())
        .collect();
    stamps.sort();
    let cut = stamps[30];
    let strictly_after = stamps.iter().filter(|s| **s > cut).count();
    let got = get(
        &sandbox,
        "orders",
        &[
            ("modified_after", cut),
            ("dates_are_gmt", "true"),
            ("per_page", "100"),
        ],
    )
    .await;
    assert_eq!(got.json().as_array().unwrap().len(), strictly_after);
    assert_eq!(
        got.header("x-wp-total").unwrap(),
        strictly_after.to_string()
    );
    // Without dates_are_gmt the value is site time (UTC+1): the same instant is one hour later on the clock.
    let local = all.iter().find(|o| o["date_modified_gmt"] == cut).unwrap()["date_modified"]
        .as_str()
        .unwrap()
        .to_owned();
    let got = get(
        &sandbox,
        "orders",
        &[("modified_after", &local), ("per_page", "100")],
    )
    .await;
    assert_eq!(got.json().as_array().unwrap().len(), strictly_after);
}

#[tokio::test]
async fn basic_auth_only_over_tls() {
    let plain = woo(5, 1).await;
    let got = send(
        client()
            .get(url(&plain, "orders"))
            .basic_auth(KEY, Some(SECRET)),
    )
    .await;
    assert_eq!(got.status, 401, "Basic is not accepted over plain http");
    let tls = start(SandboxConfig {
        records: 5,
        tls: true,
        ..SandboxConfig::new(Api::WooCommerce)
    })
    .await
    .unwrap();
    let pem = tls.ca_pem().unwrap().as_bytes().to_vec();
    let https = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    assert!(tls.base_url().starts_with("https://127.0.0.1:"));
    let got = send(https.get(url(&tls, "orders")).basic_auth(KEY, Some(SECRET))).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json().as_array().unwrap().len(), 5);
    let got = send(
        https
            .get(url(&tls, "orders"))
            .basic_auth(KEY, Some("wrong")),
    )
    .await;
    assert_eq!(got.status, 401);
}

#[tokio::test]
async fn after_changes_a_full_fresh_read_equals_the_ground_truth() {
    let changing = Changing {
        every_requests: 0,
        creates: 2,
        updates: 4,
        deletes: 1,
    };
    let sandbox = start(SandboxConfig {
        records: 80,
        seed: 9,
        changing: Some(changing),
        ..SandboxConfig::new(Api::WooCommerce)
    })
    .await
    .unwrap();
    for _ in 0..15 {
        sandbox.change();
    }
    let truth = sandbox.ground_truth();
    assert_eq!(
        truth.row_count("orders"),
        110,
        "creates only, no deletes in WooCommerce"
    );
    let mut warehouse: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for order in read_all(&sandbox, "orders").await {
        let mut row = order.as_object().unwrap().clone();
        let items = row.remove("line_items").unwrap();
        for item in items.as_array().unwrap() {
            let mut r = item.as_object().unwrap().clone();
            r.insert("order_id".into(), order["id"].clone());
            warehouse
                .entry("order_line_items".into())
                .or_default()
                .push(r);
        }
        warehouse.entry("orders".into()).or_default().push(row);
    }
    warehouse.insert(
        "products".into(),
        rows(&read_all(&sandbox, "products").await),
    );
    warehouse.insert(
        "customers".into(),
        rows(&read_all(&sandbox, "customers").await),
    );
    let diffs = truth.diff(&warehouse);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[tokio::test]
async fn changes_move_modified_dates_forward_and_data_is_deterministic() {
    let (a, b) = (woo(40, 12).await, woo(40, 12).await);
    assert_eq!(a.ground_truth(), b.ground_truth());
    let pa = get(&a, "products", &[("orderby", "id")]).await.text;
    let pb = get(&b, "products", &[("orderby", "id")]).await.text;
    assert_eq!(pa, pb);
    let newest = |s: &Sandbox| {
        s.ground_truth().tables["orders"]
            .rows
            .values()
            .map(|r| r["date_modified_gmt"].as_str().unwrap().to_owned())
            .max()
            .unwrap()
    };
    let before = newest(&a);
    a.change();
    assert!(newest(&a) > before);
    let got = get(
        &a,
        "orders",
        &[("modified_after", &before), ("dates_are_gmt", "true")],
    )
    .await;
    assert!(!got.json().as_array().unwrap().is_empty());
    assert_ne!(a.ground_truth(), woo(40, 13).await.ground_truth());
}

#[tokio::test]
async fn after_before_and_modified_before_are_strict() {
    let sandbox = woo(50, 14).await;
    let all = read_all(&sandbox, "orders").await;
    let created: Vec<&str> = all
        .iter()
        .map(|o| o["date_created_gmt"].as_str().unwrap())
        .collect();
    let cut = created[20];
    let got = get(
        &sandbox,
        "orders",
        &[
            ("after", cut),
            ("dates_are_gmt", "true"),
            ("per_page", "100"),
        ],
    )
    .await;
    assert_eq!(
        got.json().as_array().unwrap().len(),
        created.iter().filter(|c| **c > cut).count()
    );
    let got = get(
        &sandbox,
        "orders",
        &[
            ("before", cut),
            ("dates_are_gmt", "true"),
            ("per_page", "100"),
        ],
    )
    .await;
    assert_eq!(
        got.json().as_array().unwrap().len(),
        created.iter().filter(|c| **c < cut).count()
    );
    let modified: Vec<&str> = all
        .iter()
        .map(|o| o["date_modified_gmt"].as_str().unwrap())
        .collect();
    let cut = modified[10];
    let got = get(
        &sandbox,
        "orders",
        &[
            ("modified_before", cut),
            ("dates_are_gmt", "true"),
            ("per_page", "100"),
        ],
    )
    .await;
    assert_eq!(
        got.json().as_array().unwrap().len(),
        modified.iter().filter(|m| **m < cut).count()
    );
    assert_eq!(
        get(&sandbox, "orders", &[("after", "not a date")])
            .await
            .status,
        400
    );
}
