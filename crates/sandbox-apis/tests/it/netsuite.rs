//! The NetSuite SuiteQL stand-in: TBA (HMAC-SHA256 + realm), limit/offset paging with `hasMore` and the 100,000-row
//! ceiling, the supported query forms and their refusals, changing data and determinism.

use std::collections::BTreeMap;

use sandbox_apis::credentials::{
    NETSUITE_ACCOUNT_ID as ACCOUNT, NETSUITE_CONSUMER_KEY as CK, NETSUITE_CONSUMER_SECRET as CS,
    NETSUITE_TOKEN_ID as TK, NETSUITE_TOKEN_SECRET as TS,
};
use sandbox_apis::{Api, Changing, Row, Sandbox, SandboxConfig, start};
use serde_json::{Value, json};

use crate::oauth_client::{nonce, now, tba_header};
use crate::support::{Got, client, send};

const ISO_T: &str = r#"'YYYY-MM-DD"T"HH24:MI:SS'"#;

async fn netsuite(records: usize, seed: u64) -> Sandbox {
    start(SandboxConfig {
        records,
        seed,
        ..SandboxConfig::new(Api::NetSuite)
    })
    .await
    .unwrap()
}

fn endpoint(sandbox: &Sandbox) -> String {
    format!("{}/services/rest/query/v1/suiteql", sandbox.base_url())
}

/// A signed SuiteQL POST with a custom authorization header builder.
async fn post_with(
    sandbox: &Sandbox,
    q: &str,
    limit: usize,
    offset: usize,
    auth: String,
    prefer: bool,
) -> Got {
    let mut request = client()
        .post(format!(
            "{}?limit={limit}&offset={offset}",
            endpoint(sandbox)
        ))
        .header("authorization", auth)
        .header("content-type", "application/json")
        .body(json!({ "q": q }).to_string());
    if prefer {
        request = request.header("prefer", "transient");
    }
    send(request).await
}

fn auth(sandbox: &Sandbox, limit: usize, offset: usize) -> String {
    let (l, o) = (limit.to_string(), offset.to_string());
    tba_header(
        "POST",
        &endpoint(sandbox),
        &[("limit", &l), ("offset", &o)],
        ACCOUNT,
        (CK, CS),
        (TK, TS),
        now(),
        &nonce(),
    )
}

async fn query(sandbox: &Sandbox, q: &str, limit: usize, offset: usize) -> Got {
    post_with(
        sandbox,
        q,
        limit,
        offset,
        auth(sandbox, limit, offset),
        true,
    )
    .await
}

/// Reads a record type in full by keyset paging (`WHERE id > last ORDER BY id`).
async fn read_all(sandbox: &Sandbox, record_type: &str) -> Vec<Value> {
    let (mut last, mut out) = (0_i64, Vec::new());
    loop {
        let got = query(
            sandbox,
            &format!("SELECT * FROM {record_type} WHERE id > {last} ORDER BY id"),
            50,
            0,
        )
        .await;
        assert_eq!(got.status, 200, "{}", got.text);
        let body = got.json();
        let items = body["items"].as_array().unwrap().clone();
        if let Some(item) = items.last() {
            last = item["id"].as_str().unwrap().parse().unwrap();
        }
        out.extend(items);
        if body["hasMore"] == json!(false) {
            return out;
        }
    }
}

#[tokio::test]
async fn tba_with_realm_and_hmac_sha256_is_accepted() {
    let sandbox = netsuite(5, 1).await;
    let got = query(&sandbox, "SELECT * FROM customer", 10, 0).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json()["count"], 5);
}

#[tokio::test]
async fn bad_credentials_are_refused() {
    let sandbox = netsuite(5, 1).await;
    let q = "SELECT * FROM item";
    let header = |realm: &str, cs: &str, ts: u64| {
        tba_header(
            "POST",
            &endpoint(&sandbox),
            &[("limit", "5"), ("offset", "0")],
            realm,
            (CK, cs),
            (TK, TS),
            ts,
            &nonce(),
        )
    };
    for (why, h) in [
        ("wrong secret", header(ACCOUNT, "nope", now())),
        ("wrong realm", header("7654321", CS, now())),
        ("expired timestamp", header(ACCOUNT, CS, now() - 3600)),
        ("not OAuth", "Bearer abc".to_owned()),
    ] {
        let got = post_with(&sandbox, q, 5, 0, h, true).await;
        assert_eq!(got.status, 401, "{why}");
        assert_eq!(
            got.json()["o:errorDetails"][0]["o:errorCode"],
            "INVALID_LOGIN",
            "{why}"
        );
    }
    let once = header(ACCOUNT, CS, now());
    assert_eq!(
        post_with(&sandbox, q, 5, 0, once.clone(), true)
            .await
            .status,
        200
    );
    assert_eq!(
        post_with(&sandbox, q, 5, 0, once, true).await.status,
        401,
        "reused nonce"
    );
    let sha1 = header(ACCOUNT, CS, now()).replace("HMAC-SHA256", "HMAC-SHA1");
    assert_eq!(post_with(&sandbox, q, 5, 0, sha1, true).await.status, 401);
}

#[tokio::test]
async fn offset_paging_has_totals_links_and_string_values() {
    let sandbox = netsuite(25, 2).await;
    let first = query(&sandbox, "SELECT * FROM transaction", 10, 0)
        .await
        .json();
    assert_eq!(
        (
            first["count"].clone(),
            first["hasMore"].clone(),
            first["offset"].clone()
        ),
        (json!(10), json!(true), json!(0))
    );
    assert_eq!(first["totalResults"], 25);
    let next = first["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .unwrap()["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(next.ends_with("suiteql?limit=10&offset=10"), "{next}");
    let item = &first["items"][0];
    assert_eq!(item["links"], json!([]));
    for (k, v) in item
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| *k != "links")
    {
        assert!(v.is_string(), "{k} = {v}");
        assert_eq!(k.to_lowercase(), *k);
    }
    let last = query(&sandbox, "SELECT * FROM transaction", 10, 20)
        .await
        .json();
    assert_eq!(
        (last["count"].clone(), last["hasMore"].clone()),
        (json!(5), json!(false))
    );
    assert!(
        !last["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "next")
    );
    let date = item["lastmodifieddate"].as_str().unwrap();
    assert!(
        date.split('/').count() == 3 && !date.contains(':'),
        "account short date format: {date}"
    );
}

#[tokio::test]
async fn paging_limits_prefer_header_and_the_offset_ceiling() {
    let sandbox = netsuite(10, 3).await;
    let q = "SELECT * FROM customer";
    assert_eq!(query(&sandbox, q, 1000, 99_000).await.status, 200);
    let ceiling = query(&sandbox, q, 1000, 100_000).await;
    assert_eq!(ceiling.status, 400);
    assert!(
        ceiling.json()["o:errorDetails"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("100000")
    );
    assert_eq!(query(&sandbox, q, 1001, 0).await.status, 400);
    assert_eq!(
        query(&sandbox, q, 10, 15).await.status,
        400,
        "offset must be a multiple of limit"
    );
    let no_prefer = post_with(&sandbox, q, 10, 0, auth(&sandbox, 10, 0), false).await;
    assert_eq!(no_prefer.status, 400);
}

#[tokio::test]
async fn keyset_and_lastmodifieddate_filters() {
    let sandbox = netsuite(60, 4).await;
    let all = read_all(&sandbox, "customer").await;
    assert_eq!(all.len(), 60);
    let ids: Vec<i64> = all
        .iter()
        .map(|c| c["id"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let iso = format!(
        "SELECT id, TO_CHAR(lastmodifieddate, {ISO_T}) AS lastmodified FROM customer ORDER BY id"
    );
    let stamps = query(&sandbox, &iso, 1000, 0).await.json();
    let mut times: Vec<String> = stamps["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lastmodified"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        times
            .iter()
            .all(|t| t.len() == 19 && t.as_bytes()[10] == b'T'),
        "{times:?}"
    );
    times.sort();
    let cut = &times[40];
    let expected = times.iter().filter(|t| *t >= cut).count();
    let q = format!(
        "SELECT * FROM customer WHERE id > 0 AND lastmodifieddate >= TO_DATE('{}', 'YYYY-MM-DD HH24:MI:SS') ORDER BY id",
        cut.replace('T', " ")
    );
    let got = query(&sandbox, &q, 1000, 0).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.json()["totalResults"], expected);
    let q = format!(
        "SELECT c.*, TO_CHAR(c.lastmodifieddate, {ISO_T}) lm FROM customer c WHERE c.lastmodifieddate >= TO_DATE('{cut}', {ISO_T}) ORDER BY c.lastmodifieddate DESC, c.id"
    );
    let got = query(&sandbox, &q, 1000, 0).await.json();
    let lms: Vec<&str> = got["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["lm"].as_str().unwrap())
        .collect();
    assert_eq!(lms.len(), expected);
    assert!(lms.windows(2).all(|w| w[0] >= w[1]));
    assert!(
        got["items"][0]["entityid"].is_string(),
        "c.* brings every column"
    );
}

#[tokio::test]
async fn unsupported_queries_are_400_like_netsuite() {
    let sandbox = netsuite(5, 5).await;
    for q in [
        "SELECT * FROM customer WHERE id IN (1, 2)",
        "SELECT * FROM nosuchrecord",
        "SELECT nosuchcolumn FROM item",
        "SELECT * FROM customer WHERE lastmodifieddate > '2026-01-01'",
        "SELECT * FROM customer WHERE lastmodifieddate > TO_DATE('01/02/2026', 'MM/DD/YYYY')",
        "UPDATE customer SET x = 1",
    ] {
        let got = query(&sandbox, q, 10, 0).await;
        assert_eq!(got.status, 400, "{q}");
        let detail = &got.json()["o:errorDetails"][0];
        assert_eq!(
            (
                detail["o:errorCode"].as_str(),
                detail["o:errorQueryParam"].as_str()
            ),
            (Some("INVALID_PARAMETER"), Some("q")),
            "{q}"
        );
    }
}

#[tokio::test]
async fn after_changes_a_full_fresh_read_equals_the_ground_truth() {
    let changing = Changing {
        every_requests: 0,
        creates: 3,
        updates: 5,
        deletes: 1,
    };
    let sandbox = start(SandboxConfig {
        records: 70,
        seed: 6,
        changing: Some(changing),
        ..SandboxConfig::new(Api::NetSuite)
    })
    .await
    .unwrap();
    for _ in 0..10 {
        sandbox.change();
    }
    let truth = sandbox.ground_truth();
    let total: usize = ["customer", "transaction", "item"]
        .iter()
        .map(|t| truth.row_count(t))
        .sum();
    assert_eq!(total, 3 * 70 + 30);
    let mut warehouse: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for t in ["customer", "transaction", "item"] {
        let rows = read_all(&sandbox, t).await;
        warehouse.insert(
            t.to_owned(),
            rows.into_iter()
                .map(|v| {
                    let mut r = v.as_object().unwrap().clone();
                    r.remove("links");
                    r
                })
                .collect(),
        );
    }
    let diffs = truth.diff(&warehouse);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[tokio::test]
async fn same_seed_same_data() {
    let (a, b) = (netsuite(20, 7).await, netsuite(20, 7).await);
    assert_eq!(a.ground_truth(), b.ground_truth());
    let qa = query(&a, "SELECT * FROM item", 100, 0).await.json()["items"].clone();
    let qb = query(&b, "SELECT * FROM item", 100, 0).await.json()["items"].clone();
    assert_eq!(qa, qb);
    assert_ne!(a.ground_truth(), netsuite(20, 8).await.ground_truth());
}
