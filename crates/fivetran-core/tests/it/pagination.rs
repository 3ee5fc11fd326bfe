//! Every pagination style and stop rule against a local server.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fivetran_core::auth::Auth;
use fivetran_core::connector::{Config, Endpoint, Incremental, Stream};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::{Secret, Secrets};
use serde_json::{Value, json};

use crate::harness::{Reply, Server, call, engine, ids, items, sync};

fn expected(range: std::ops::RangeInclusive<u64>) -> Vec<String> {
    range.map(|i| i.to_string()).collect()
}

/// Serves `items(1..=n)` by page number (1-based) with `page_size`, totals in the body and headers.
fn paged(n: u64, totals: Value) -> impl Fn(&crate::harness::Hit) -> Reply {
    paged_after(n, totals, Duration::from_millis(150))
}

/// The stream [`paged`] serves at `/{name}`: 5 records a page, the page count in the body.
fn paged_stream(name: &str) -> Stream {
    Stream::new(name, &["id"], Endpoint::get(&format!("/{name}")))
        .records("/data")
        .paginate(
            Pagination::page_number("page")
                .size("page_size", 5)
                .total_pages(Total::Body("/meta/total_pages".into())),
        )
}

/// [`paged`], each answer after `delay`.
fn paged_after(n: u64, totals: Value, delay: Duration) -> impl Fn(&crate::harness::Hit) -> Reply {
    move |hit| {
        let size = hit.num("page_size").unwrap_or(5);
        let page = hit.num("page").unwrap_or(1);
        let all = items(1..=n);
        let data: Vec<Value> = all
            .into_iter()
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
            .collect();
        let pages = n.div_ceil(size);
        let total = if totals.is_null() {
            Value::Null
        } else {
            json!(pages)
        };
        Reply::json(json!({"data": data, "meta": {"total_pages": total}}))
            .header("x-wp-totalpages", &pages.to_string())
            .delay(delay)
    }
}

#[tokio::test]
async fn page_numbers_with_totals_fetch_ahead_concurrently_and_keep_order() {
    let server = Server::start(paged(23, json!(true))).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?
            .concurrency(4)
            .stream(paged_stream("items")))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(responses.len(), 1);
    assert_eq!(ids(&responses, "items"), expected(1..=23));
    assert_eq!(server.hits().len(), 5);
    // After the first page (which tells the total), the other four are requested together.
    assert_eq!(server.max_in_flight(), 4);
}

#[tokio::test]
async fn a_window_requests_its_first_round_before_it_knows_the_page_count() {
    // An incremental stream at 4 in flight. Its historical sync (no cursor yet) sends a whole round at once; later
    // windows as many pages as the last one read; a window after a one-page window starts with its first page alone.
    let items = Arc::new(std::sync::atomic::AtomicU64::new(15));
    let arrivals: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let (n, seen) = (items.clone(), arrivals.clone());
    let delay = Duration::from_millis(150);
    let server = Server::start(move |hit: &crate::harness::Hit| {
        seen.lock()
            .unwrap()
            .push((hit.num("page").unwrap_or(1), Instant::now()));
        paged_after(
            n.load(std::sync::atomic::Ordering::SeqCst),
            json!(true),
            delay,
        )(hit)
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?
            .concurrency(4)
            .stream(paged_stream("items").incremental(Incremental::query("updated_since"))))
    });
    // One sync from `state` over `count` records: its responses, the pages it requested (sorted) and whether they
    // all went out before the first page was answered.
    let run = async |state: &Value, count: u64| {
        items.store(count, std::sync::atomic::Ordering::SeqCst);
        arrivals.lock().unwrap().clear();
        let responses = sync(&engine, state.clone(), json!({}), 3).await;
        let arrived = arrivals.lock().unwrap().clone();
        let first_answered = arrived[0].1 + delay;
        let together = arrived.iter().all(|(_, at)| *at < first_answered);
        let mut pages: Vec<u64> = arrived.iter().map(|(p, _)| *p).collect();
        pages.sort_unstable();
        (responses, pages, together)
    };

    // 3 pages: the historical sync requests 4 (one past the end, answered empty and dropped unread).
    let (responses, pages, together) = run(&json!({}), 15).await;
    assert_eq!(ids(&responses, "items"), expected(1..=15));
    assert_eq!((pages, together), (vec![1, 2, 3, 4], true));
    let state = responses[0]["state"].clone();
    assert_eq!(state["streams"]["items"]["last_pages"], json!(3), "{state}");
    // The next window: the 3 pages the last one read, together.
    let (responses, pages, together) = run(&state, 15).await;
    assert_eq!(ids(&responses, "items"), expected(1..=15));
    assert_eq!((pages, together), (vec![1, 2, 3], true));
    let state = responses[0]["state"].clone();
    // Fewer records now: 3 requests again, 2 of them past the end; the window read 1 page.
    let (responses, pages, together) = run(&state, 5).await;
    assert_eq!(ids(&responses, "items"), expected(1..=5));
    assert_eq!((pages, together), (vec![1, 2, 3], true));
    let state = responses[0]["state"].clone();
    assert_eq!(state["streams"]["items"]["last_pages"], json!(1), "{state}");
    // After a one-page window, the first page alone; with more records, the rest once it told the page count.
    let (responses, pages, together) = run(&state, 15).await;
    assert_eq!(ids(&responses, "items"), expected(1..=15));
    assert_eq!((pages, together), (vec![1, 2, 3], false));
    assert_eq!(server.max_in_flight(), 4);
}

#[tokio::test]
async fn the_concurrency_secret_sets_the_window_and_each_call_hands_its_pages_on() {
    // 200 items, 5 per page: 40 pages over several calls (the smallest byte budget). The connector declares 4 in
    // flight; the `concurrency` secret asks for 3.
    let server = Server::start(paged(200, json!(true))).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?
            .concurrency(4)
            .budget(fivetran_core::budget::BudgetSettings {
                bytes: 4_096,
                time_margin: Duration::from_secs(1),
            })
            .stream(paged_stream("items")))
    });
    let responses = sync(&engine, json!({}), json!({"concurrency": "3"}), 20).await;
    assert!(responses.len() > 2, "{} calls", responses.len());
    assert_eq!(ids(&responses, "items"), expected(1..=200));
    assert_eq!(server.max_in_flight(), 3);
    // The first call's state carries the page count and the size of a page, so the next call sends its first
    // requests together instead of reading one page alone to learn the total.
    let window = &responses[0]["state"]["streams"]["items"]["window"];
    assert_eq!(window["total"], json!(40), "{window}");
    assert!(
        window["page_bytes"].as_u64().is_some_and(|b| b > 0),
        "{window}"
    );
    // Every page is requested once: the page a call stops in and the requests it still has in flight go to the
    // next call, which continues exactly there.
    assert_eq!(server.hits().len(), 40);
    // A call that does not continue there (a Fivetran retry with the first state) reads its pages itself and
    // returns what the first call returned.
    let retried = call(&engine, json!({}), json!({"concurrency": "3"}))
        .await
        .unwrap();
    assert_eq!(retried["insert"], responses[0]["insert"]);
    let hits = server.hits().len();
    // The retry's state differs from the first call's (a new window), so what it left does not fit this one.
    let rest = sync(
        &engine,
        responses[0]["state"].clone(),
        json!({"concurrency": "3"}),
        20,
    )
    .await;
    assert_eq!(ids(&rest, "items"), ids(&responses[1..], "items"));
    // Every page from the one the first call stopped in is read again, plus at most the 3 requests the retry
    // left in flight (they reach the server, but nothing uses them).
    let cut = window["position"]["page"].as_u64().unwrap() as usize;
    let read = server.hits().len() - hits;
    assert!(
        (40 - cut + 1..=40 - cut + 1 + 3).contains(&read),
        "{read} requests from page {cut} on"
    );
}

/// Two page-number streams, `a` and `b`, each serving `paged(n)` at its own path, `k` requests at once and the byte
/// budget given.
fn two_streams(url: &str, k: usize, bytes: usize) -> fivetran_core::Result<Config> {
    Ok(Config::new(url, Auth::None)?
        .concurrency(k)
        .budget(fivetran_core::budget::BudgetSettings {
            bytes,
            time_margin: Duration::from_secs(1),
        })
        .stream(paged_stream("a"))
        .stream(paged_stream("b")))
}

#[tokio::test]
async fn the_next_stream_s_first_page_is_requested_while_the_last_pages_are_in_flight() {
    // `a` has 3 pages: the first alone, then 2 and 3 together, which leaves a slot of 4 free for `b`'s first page.
    let server = Server::start(paged(15, json!(true))).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| two_streams(&url, 4, 5 << 20));
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(responses.len(), 1);
    assert_eq!(ids(&responses, "a"), expected(1..=15));
    assert_eq!(ids(&responses, "b"), expected(1..=15));
    let paths: Vec<(String, u64)> = server
        .hits()
        .iter()
        .map(|h| (h.path.clone(), h.num("page").unwrap_or(1)))
        .collect();
    // `b`'s first page goes out with `a`'s last two, before any of them is answered; then `b`'s other two.
    let mut first_round: Vec<_> = paths[1..4].to_vec();
    first_round.sort();
    assert_eq!(
        first_round,
        [("/a".into(), 2), ("/a".into(), 3), ("/b".into(), 1)],
        "{paths:?}"
    );
    assert_eq!(paths.len(), 6, "every page once: {paths:?}");
    assert_eq!(server.max_in_flight(), 3);
}

#[tokio::test]
async fn the_next_stream_s_pages_take_the_slots_the_last_round_leaves_free() {
    // `a` has 6 pages, its last one slow (600 ms); `b` has 9. At 4 in flight, `b`'s first page goes out within a
    // round of `a`'s last one and tells `b`'s page count, so `b`'s next pages are requested (and answered) while
    // `a`'s last page is still on its way — not after it.
    let arrivals: Arc<Mutex<Vec<(String, u64, Instant)>>> = Arc::default();
    let seen = arrivals.clone();
    let serve_a = paged_after(30, json!(true), Duration::from_millis(20));
    let serve_b = paged_after(45, json!(true), Duration::from_millis(20));
    let server = Server::start(move |hit: &crate::harness::Hit| {
        let page = hit.num("page").unwrap_or(1);
        seen.lock()
            .unwrap()
            .push((hit.path.clone(), page, Instant::now()));
        if hit.path == "/a" {
            let reply = serve_a(hit);
            if page == 6 {
                reply.delay(Duration::from_millis(600))
            } else {
                reply
            }
        } else {
            serve_b(hit)
        }
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| two_streams(&url, 4, 5 << 20));
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(ids(&responses, "a"), expected(1..=30));
    assert_eq!(ids(&responses, "b"), expected(1..=45));
    let arrivals = arrivals.lock().unwrap().clone();
    let at = |path: &str, page: u64| {
        arrivals
            .iter()
            .find(|(p, n, _)| p == path && *n == page)
            .map(|(_, _, t)| *t)
            .unwrap()
    };
    let last_a_answered = at("/a", 6) + Duration::from_millis(600);
    assert!(
        at("/b", 2) + Duration::from_millis(200) < last_a_answered,
        "b's second page waited for a's last one"
    );
    assert_eq!(arrivals.len(), 6 + 9, "every page once");
    assert!(server.max_in_flight() <= 4);
}

#[tokio::test]
async fn a_call_that_fills_up_hands_the_next_stream_s_first_request_on() {
    // A small budget: calls end part-way through `a`. For some lengths of `a`, a call ends while `b`'s first page is
    // already requested; the next call continues `a` and then opens `b` with that request and the window it was
    // sent in. Every page is requested exactly once, whichever call ends where (but the first page of a stream
    // that a response filled up in).
    let mut handed_on = 0;
    for n in (100..=160).step_by(5) {
        let server = Server::start(paged_after(n, json!(true), Duration::from_millis(15))).await;
        let url = server.url.clone();
        let engine = engine(move |_: &Secrets| two_streams(&url, 4, 4_096));
        let mut state = json!({});
        let mut responses = Vec::new();
        // Requests the server had seen when each call began (after a pause like Fivetran's between calls, in
        // which the requests a call handed on reach the server).
        let mut seen_before = Vec::new();
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen_before.push(server.hits().len());
            let response = call(&engine, state.clone(), json!({})).await.unwrap();
            state = response["state"].clone();
            let more = response["hasMore"] == json!(true);
            responses.push(response);
            if !more {
                break;
            }
        }
        assert_eq!(ids(&responses, "a"), expected(1..=n), "n = {n}");
        assert_eq!(ids(&responses, "b"), expected(1..=n), "n = {n}");
        let hits = server.hits();
        let pages = n.div_ceil(5) as usize;
        let count = |path: &str| hits.iter().filter(|h| h.path == path).count();
        // A call that ends inside a stream's first page (its window still at the start) is not carried: the next
        // call reads that page again.
        let cut_in_first = |stream: &str| {
            responses
                .iter()
                .filter(|r| r["state"]["streams"][stream]["window"]["position"] == json!("start"))
                .count()
        };
        assert_eq!(
            (count("/a"), count("/b")),
            (pages + cut_in_first("a"), pages + cut_in_first("b")),
            "n = {n}"
        );
        assert!(server.max_in_flight() <= 4, "n = {n}");
        // Was `b`'s first page requested before the call that returned `b`'s first rows began?
        let first_b = hits.iter().position(|h| h.path == "/b").unwrap();
        let first_rows = responses
            .iter()
            .position(|r| {
                r["insert"]["b"]
                    .as_array()
                    .is_some_and(|rows| !rows.is_empty())
            })
            .unwrap();
        if first_b < seen_before[first_rows] {
            handed_on += 1;
        }
    }
    assert!(
        handed_on > 0,
        "no call ended with b's first request in flight"
    );
}

#[tokio::test]
async fn header_totals_work_like_body_totals() {
    let server = Server::start(paged(11, Value::Null)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(
                    Pagination::page_number("page")
                        .size("page_size", 5)
                        .total_pages(Total::Header("X-WP-TotalPages".into())),
                ),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(ids(&responses, "items"), expected(1..=11));
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn null_totals_are_unknown_and_an_empty_page_stops() {
    // 10 items, size 5: pages 1 and 2 are full, page 3 is empty.
    let server = Server::start(paged(10, Value::Null)).await;
    let url = server.url.clone();
    let engine =
        engine(move |_: &Secrets| Ok(Config::new(&url, Auth::None)?.stream(paged_stream("items"))));
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(ids(&responses, "items"), expected(1..=10));
    let pages: Vec<u64> = server.hits().iter().filter_map(|h| h.num("page")).collect();
    assert_eq!(pages, [1, 2, 3]);
}

#[tokio::test]
async fn a_short_page_stops_without_another_request() {
    let server = Server::start(paged(12, Value::Null)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::page_number("page").size("page_size", 5)),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(ids(&responses, "items"), expected(1..=12));
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn offsets_stop_on_total_items_and_on_a_false_flag_after_a_full_page() {
    let server = Server::start(|hit| {
        let offset = hit.num("offset").unwrap();
        let limit = hit.num("limit").unwrap();
        let data: Vec<Value> = items(1..=12)
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        // The flag says false on the full page at offset 5, although item 11 and 12 "exist".
        let more = offset < 5;
        Reply::json(json!({"items": data, "total": 12, "hasMore": more}))
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        // One page at a time, so that the request log shows where paging stopped.
        Ok(Config::new(&url, Auth::None)?.concurrency(1).stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/items")
                .paginate(
                    Pagination::offset("offset")
                        .size("limit", 5)
                        .total_items(Total::Body("/total".into()))
                        .has_more("/hasMore"),
                ),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(ids(&responses, "items"), expected(1..=10));
    let offsets: Vec<u64> = server
        .hits()
        .iter()
        .filter_map(|h| h.num("offset"))
        .collect();
    assert_eq!(offsets, [0, 5]);
}

#[tokio::test]
async fn cursor_tokens_stop_when_null_or_seen_before() {
    // Tokens: (none) → "b" → "c" → "b" again (a cycle).
    let server = Server::start(|hit| {
        let (range, next) = match hit.query.get("cursor").map(String::as_str) {
            None => (1..=3, json!("b")),
            Some("b") => (4..=6, json!("c")),
            Some("c") => (7..=9, json!("b")),
            _ => (100..=100, Value::Null),
        };
        Reply::json(json!({"results": items(range), "next_cursor": next}))
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/results")
                .paginate(Pagination::token("cursor", "/next_cursor")),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(ids(&responses, "items"), expected(1..=9));
    assert_eq!(server.hits().len(), 3);
}

#[tokio::test]
async fn next_urls_in_the_body_are_followed_relative_or_absolute() {
    let server = Server::start(|hit| match hit.query.get("after").map(String::as_str) {
        None => Reply::json(json!({"data": items(1..=2), "links": {"next": "/items?after=2"}})),
        Some("2") => Reply::json(json!({"data": items(3..=4), "links": {"next": format!("http://{}/items?after=4", hit.headers["host"].to_str().unwrap())}})),
        _ => Reply::json(json!({"data": items(5..=5), "links": {"next": null}})),
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/items"))
                .records("/data")
                .paginate(Pagination::next_url("/links/next")),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(ids(&responses, "items"), expected(1..=5));
}

#[tokio::test]
async fn link_headers_are_followed_without_echoed_credentials() {
    // The server echoes credential parameters into its Link URLs, as WooCommerce does.
    let server = Server::start(|hit| {
        let page = hit.num("page").unwrap_or(1);
        let host = hit.headers["host"].to_str().unwrap().to_owned();
        let link = |p: u64, rel: &str| {
            format!("<http://{host}/orders?page={p}&per_page=2&oauth_nonce=n{p}&api_key=k>; rel=\"{rel}\"")
        };
        let mut reply = Reply::json(Value::Array(items(page * 2 - 1..=page * 2)));
        let mut links = Vec::new();
        if page > 1 {
            links.push(link(page - 1, "prev"));
        }
        if page < 3 {
            links.push(link(page + 1, "next"));
        }
        if !links.is_empty() {
            reply = reply.header("link", &links.join(", "));
        }
        reply
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |s: &Secrets| {
        let auth = Auth::ApiKeyQuery {
            name: "api_key".into(),
            key: Secret::new(s.required("key")?.expose().clone()),
        };
        Ok(Config::new(&url, auth)?.stream(
            Stream::new(
                "orders",
                &["id"],
                Endpoint::get("/orders").query("per_page", "2"),
            )
            .paginate(Pagination::link_header()),
        ))
    });
    let responses = sync(&engine, json!({}), json!({"key": "k"}), 3).await;
    assert_eq!(ids(&responses, "orders"), expected(1..=6));
    let hits = server.hits();
    assert_eq!(hits.len(), 3);
    for hit in &hits {
        assert_eq!(
            hit.raw_query.matches("api_key=").count(),
            1,
            "{}",
            hit.raw_query
        );
        assert!(!hit.raw_query.contains("oauth_"), "{}", hit.raw_query);
    }
}

#[tokio::test]
async fn keyset_posts_embed_the_last_key_in_the_body() {
    let server = Server::start(|hit| {
        let body: Value = serde_json::from_str(&hit.body).unwrap();
        let q = body["q"].as_str().unwrap();
        let after: u64 = q
            .split("id > ")
            .nth(1)
            .unwrap()
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let limit = hit.num("limit").unwrap() as usize;
        let data: Vec<Value> = items(1..=7)
            .into_iter()
            .filter(|r| r["id"].as_u64().unwrap() > after)
            .take(limit)
            .map(|mut r| {
                r["id"] = json!(r["id"].to_string());
                r
            })
            .collect();
        let more = data.len() == limit;
        Reply::json(json!({"items": data, "hasMore": more}))
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new(
                "customer",
                &["id"],
                Endpoint::post(
                    "/query",
                    json!({"q": "SELECT * FROM customer WHERE id > {after} ORDER BY id"}),
                ),
            )
            .records("/items")
            .paginate(
                Pagination::keyset("id")
                    .after_initial("0")
                    .size("limit", 3)
                    .has_more("/hasMore"),
            ),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    let got: Vec<String> = ids(&responses, "customer");
    assert_eq!(
        got,
        [
            "\"1\"", "\"2\"", "\"3\"", "\"4\"", "\"5\"", "\"6\"", "\"7\""
        ]
    );
    let queries: Vec<String> = server.hits().iter().map(|h| h.body.clone()).collect();
    assert!(
        queries[1].contains("id > 3") && queries[2].contains("id > 6"),
        "{queries:?}"
    );
}

#[tokio::test]
async fn a_link_without_next_stops_and_the_page_valve_fails_clearly() {
    let server = Server::start(|hit| {
        let n = hit.num("n").unwrap_or(0);
        let host = hit.headers["host"].to_str().unwrap().to_owned();
        if hit.path == "/single" {
            return Reply::json(Value::Array(items(1..=1)))
                .header("link", &format!("<http://{host}/single?n=0>; rel=\"prev\""));
        }
        Reply::json(Value::Array(items(n + 1..=n + 1))).header(
            "link",
            &format!("<http://{host}/endless?n={}>; rel=\"next\"", n + 1),
        )
    })
    .await;
    let url = server.url.clone();
    let single = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/single"))
                .paginate(Pagination::link_header()),
        ))
    });
    let responses = sync(&single, json!({}), json!({}), 2).await;
    assert_eq!(ids(&responses, "items"), expected(1..=1));
    let url = server.url.clone();
    let endless = engine(move |_: &Secrets| {
        Ok(Config::new(&url, Auth::None)?.stream(
            Stream::new("items", &["id"], Endpoint::get("/endless"))
                .paginate(Pagination::link_header().max_pages(5)),
        ))
    });
    let error = call(&endless, json!({}), json!({})).await.unwrap_err();
    assert_eq!(error.error_type(), "PaginationError");
    assert!(error.to_string().contains("more than 5 pages"), "{error}");
}
