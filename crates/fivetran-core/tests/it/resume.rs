//! Resume from every state of a multi-call sync, repeats, incremental windows, state errors and generic secrets.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fivetran_core::Secrets;
use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Child, Config, Endpoint, Incremental, Stream};
use fivetran_core::paginate::Pagination;
use fivetran_core::protocol::Table;
use serde_json::{Value, json};

use crate::harness::{Reply, Server, call, engine, ids, row_count, sync};

/// Orders with line items and a customer object; 35 orders, `per_page` given, Link headers, `modified_after`.
fn shop() -> impl Fn(&crate::harness::Hit) -> Reply {
    |hit| {
        let page = hit.num("page").unwrap_or(1);
        let per_page = hit.num("per_page").unwrap_or(10);
        let after = hit.query.get("modified_after").cloned();
        let all: Vec<Value> = (1..=35u64)
            .map(|i| {
                json!({"id": i, "modified": format!("2026-01-{:02}T00:00:00Z", 1 + i % 28),
                       "total": {"value": format!("{i}.00"), "currency": "EUR"},
                       "customer": {"id": 100 + i % 3, "name": format!("c{}", i % 3)},
                       "line_items": [{"id": 1, "sku": "a", "pad": "y".repeat(120)}, {"id": 2, "sku": "b"}]})
            })
            .filter(|o| after.as_ref().is_none_or(|a| o["modified"].as_str().unwrap() > a.as_str()))
            .collect();
        let pages = all.len().div_ceil(per_page as usize) as u64;
        let data: Vec<Value> = all
            .into_iter()
            .skip(((page - 1) * per_page) as usize)
            .take(per_page as usize)
            .collect();
        let host = hit.headers["host"].to_str().unwrap().to_owned();
        let mut reply =
            Reply::json(Value::Array(data)).header("x-wp-totalpages", &pages.to_string());
        if page < pages {
            let mut next = format!("http://{host}/orders?page={}&per_page={per_page}", page + 1);
            if let Some(a) = &after {
                next.push_str(&format!("&modified_after={a}"));
            }
            reply = reply.header("link", &format!("<{next}>; rel=\"next\""));
        }
        reply
    }
}

fn shop_config(url: &str, _secrets: &Secrets, bytes: usize) -> fivetran_core::Result<Config> {
    Ok(Config::new(url, Auth::None)?
        .budget(BudgetSettings {
            bytes,
            time_margin: Duration::from_secs(1),
        })
        .table(Table::new("customers", &["id"]))
        .stream(
            Stream::new(
                "orders",
                &["id"],
                Endpoint::get("/orders").query("per_page", "10"),
            )
            .paginate(Pagination::link_header())
            .incremental(Incremental::query("modified_after").lookback(Duration::from_secs(1)))
            .flatten("total")
            .child(Child::new(
                "line_items",
                "order_line_items",
                "order_id",
                &["id"],
            ))
            .map(|row, emit| {
                if let Some(Value::Object(c)) = row.remove("customer") {
                    row.insert("customer_id".into(), c["id"].clone());
                    emit.insert("customers", c);
                }
                Ok(())
            }),
        )
        .stream(
            Stream::new(
                "products",
                &["id"],
                Endpoint::get("/orders").query("per_page", "50"),
            )
            .paginate(Pagination::page_number("page")),
        ))
}

/// Keys of all rows of one table in one response.
fn keys(response: &Value, table: &str) -> BTreeSet<String> {
    response["insert"][table]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r.get("order_id").map_or(String::new(), Value::to_string),
                r["id"]
            )
        })
        .collect()
}

#[tokio::test]
async fn every_state_of_a_multi_call_sync_resumes_and_repeats_safely() {
    let server = Server::start(shop()).await;
    let url = server.url.clone();
    let engine = engine(move |s: &Secrets| shop_config(&url, s, 4_500));
    let mut inputs = vec![json!({})];
    let responses = sync(&engine, json!({}), json!({}), 60).await;
    for r in &responses[..responses.len() - 1] {
        inputs.push(r["state"].clone());
    }
    assert!(responses.len() > 5, "{} calls", responses.len());
    // Nothing lost: every order, line item and customer arrived.
    let orders: BTreeSet<u64> = ids(&responses, "orders")
        .iter()
        .map(|i| i.parse().unwrap())
        .collect();
    assert_eq!(orders, (1..=35).collect());
    let items: BTreeSet<String> = responses
        .iter()
        .flat_map(|r| keys(r, "order_line_items"))
        .collect();
    assert_eq!(items.len(), 70);
    let customers: BTreeSet<String> = ids(&responses, "customers").into_iter().collect();
    assert_eq!(customers.len(), 3);
    let first = &responses[0]["insert"]["orders"][0];
    assert_eq!(first["total_value"], "1.00");
    assert_eq!(first["customer_id"], 101);
    assert!(first.get("line_items").is_none() && first.get("customer").is_none());
    // Repeating any state yields the same rows (or a superset).
    for (input, original) in inputs.iter().zip(&responses) {
        let again = call(&engine, input.clone(), json!({})).await.unwrap();
        for table in ["orders", "order_line_items", "customers", "products"] {
            assert!(
                keys(&again, table).is_superset(&keys(original, table)),
                "{table} after {input}"
            );
        }
    }
    // A second sync from the final state re-reads only the lookback overlap (here: nothing changed since).
    let last = responses.last().unwrap()["state"].clone();
    assert!(last["streams"]["orders"]["cursor"].is_string());
    assert!(
        last["streams"]["orders"].get("done").is_none(),
        "done marks are cleared at the end of a sync"
    );
    let hits_before = server.hits().len();
    let second = sync(&engine, last, json!({}), 60).await;
    let new_hits = &server.hits()[hits_before..];
    assert!(
        new_hits[0].query.contains_key("modified_after"),
        "{:?}",
        new_hits[0].query
    );
    assert_eq!(ids(&second, "orders").len(), 0);
}

#[tokio::test]
async fn start_date_and_table_list_apply_generically() {
    let server = Server::start(shop()).await;
    let url = server.url.clone();
    let engine = engine(move |s: &Secrets| shop_config(&url, s, 5 << 20));
    let responses = sync(
        &engine,
        json!({}),
        json!({"startDate": "2026-01-20", "tables": "orders,customers"}),
        5,
    )
    .await;
    let hits = server.hits();
    assert_eq!(hits[0].query["modified_after"], "2026-01-20T00:00:00Z");
    assert!(
        hits.iter()
            .all(|h| h.query.get("per_page").map(String::as_str) == Some("10")),
        "products skipped"
    );
    let response = &responses[0];
    assert!(response["insert"].get("order_line_items").is_none());
    assert!(response["schema"].get("products").is_none());
    assert!(row_count(response) > 0);
    // A child table alone: its parent stream runs, and only the child's rows come back.
    let responses = sync(&engine, json!({}), json!({"tables": "order_line_items"}), 5).await;
    let response = &responses[0];
    assert!(
        response["insert"]["order_line_items"]
            .as_array()
            .is_some_and(|rows| !rows.is_empty()),
        "{response}"
    );
    assert!(response["insert"].get("orders").is_none(), "{response}");
    assert!(response["schema"].get("orders").is_none(), "{response}");
    let error = call(&engine, json!({}), json!({"tables": "orders,refunds"}))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("unknown table `refunds`"),
        "{error}"
    );
}

#[tokio::test]
async fn invalid_states_are_errors_naming_the_field_and_version_zero_migrates() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let server = Server::start(move |hit| {
        log.lock()
            .unwrap()
            .push(hit.query.get("modified_after").cloned());
        Reply::json(json!([]))
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |s: &Secrets| shop_config(&url, s, 5 << 20));
    for (state, field) in [
        (json!({"version": 7, "streams": {}}), "`version` is 7"),
        (
            json!({"version": 1, "streams": {"orders": {"window": {"position": "start"}}}}),
            "`streams.orders`",
        ),
        (
            json!({"version": 1, "streams": {"orders": {"cursor": "soon"}}}),
            "`streams.orders`",
        ),
    ] {
        let error = call(&engine, state, json!({})).await.unwrap_err();
        assert_eq!(error.error_type(), "InvalidState");
        assert!(error.to_string().contains(field), "{error}");
    }
    assert!(
        seen.lock().unwrap().is_empty(),
        "no request with an invalid state"
    );
    let response = call(
        &engine,
        json!({"orders": {"cursor": "2026-01-10T00:00:10Z", "page": 4}}),
        json!({}),
    )
    .await
    .unwrap();
    assert_eq!(
        seen.lock().unwrap()[0].as_deref(),
        Some("2026-01-10T00:00:09Z"),
        "cursor minus the lookback"
    );
    assert_eq!(response["state"]["version"], 1);
}
