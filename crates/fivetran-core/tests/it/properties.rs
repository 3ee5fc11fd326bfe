//! Property tests over the decoders (the CI stand-in for fuzzing, see `fuzz/`): requests, states and every
//! paginator's reading of a page, generated with proptest and checked by `decode_checks`.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::decode_checks::{self, Style};

/// Any JSON value, a few levels deep, with the awkward cases: big integers, negative zero, non-ASCII text.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(text(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Short strings, biased towards the characters that break parsers.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{0,8}",
        "[0-9]{1,22}",
        "[ -~]{0,16}",
        "\\PC{0,8}",
        Just("2026-01-01T00:00:00Z".to_owned()),
        Just("+275760-09-13T00:00:00Z".to_owned()),
    ]
}

/// Sometimes the right type, sometimes anything.
fn or_any(good: impl Strategy<Value = Value> + 'static) -> impl Strategy<Value = Value> {
    prop_oneof![4 => good.boxed(), 1 => json_value().boxed()]
}

fn timestamp() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..4_102_444_800, 0u32..1_000_000_000).prop_map(|(s, n)| {
            let at = chrono::DateTime::from_timestamp(s, n).unwrap_or_default();
            Value::from(at.to_rfc3339())
        }),
        Just(Value::from("2026-01-01T00:00:00+05:30")),
        Just(Value::from("2026-13-01T00:00:00Z")),
    ]
}

fn position() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(json!("start")),
        any::<u64>().prop_map(|n| json!({"page": n})),
        any::<u64>().prop_map(|n| json!({"offset": n})),
        text().prop_map(|t| json!({"token": t})),
        text().prop_map(|t| json!({"url": t})),
        text().prop_map(|t| json!({"after": t})),
    ]
}

fn window() -> impl Strategy<Value = Value> {
    (
        prop::option::of(or_any(timestamp())),
        or_any(timestamp()),
        or_any(position()),
        prop::option::of(or_any(any::<u64>().prop_map(Value::from))),
        prop::option::of(or_any(
            prop::collection::vec("[0-9a-f]{16}", 0..4).prop_map(Value::from),
        )),
        prop::option::of(or_any(text().prop_map(Value::from))),
    )
        .prop_map(|(since, started, position, skip, seen, last_key)| {
            let mut window = Map::new();
            window.insert("started".into(), started);
            window.insert("position".into(), position);
            let optional = [
                ("since", since),
                ("skip", skip.clone()),
                ("pages", skip),
                ("seen", seen),
                ("last_key", last_key),
            ];
            for (name, value) in optional {
                if let Some(value) = value {
                    window.insert(name.into(), value);
                }
            }
            Value::Object(window)
        })
}

/// Version 1 states that are mostly well formed, version 0 states, and anything.
fn state() -> impl Strategy<Value = Map<String, Value>> {
    let stream = (
        prop::option::of(or_any(timestamp())),
        prop::option::of(window()),
        any::<bool>(),
    )
        .prop_map(|(cursor, window, done)| {
            let mut stream = Map::new();
            if let Some(cursor) = cursor {
                stream.insert("cursor".into(), cursor);
            }
            if let Some(window) = window {
                stream.insert("window".into(), window);
            }
            if done {
                stream.insert("done".into(), true.into());
            }
            Value::Object(stream)
        });
    let v1 = (
        or_any(Just(json!(1))),
        prop::collection::btree_map("[a-z_:]{1,12}", stream, 0..4),
    )
        .prop_map(|(version, streams)| {
            let mut state = Map::new();
            state.insert("version".into(), version);
            state.insert(
                "streams".into(),
                Value::Object(streams.into_iter().collect()),
            );
            state
        });
    let v0 = prop::collection::btree_map(
        "[a-z_]{1,8}",
        (prop::option::of(or_any(timestamp())), any::<u64>())
            .prop_map(|(cursor, page)| json!({"cursor": cursor, "page": page})),
        0..4,
    )
    .prop_map(|m| m.into_iter().collect::<Map<String, Value>>());
    let anything = prop::collection::btree_map(text(), json_value(), 0..4)
        .prop_map(|m| m.into_iter().collect::<Map<String, Value>>());
    prop_oneof![3 => v1, 1 => v0, 1 => anything]
}

fn request() -> impl Strategy<Value = Value> {
    (
        prop::option::of(or_any(text().prop_map(Value::from))),
        prop::option::of(or_any(state().prop_map(Value::Object))),
        prop::option::of(or_any(
            prop::collection::btree_map("[a-zA-Z]{1,8}", json_value(), 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        )),
        prop::option::of(json_value()),
        prop::option::of(or_any(any::<bool>().prop_map(Value::from))),
        prop::option::of((text(), text())),
        prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..2),
    )
        .prop_map(
            |(agent, state, secrets, sync_id, setup_test, storage, extra)| {
                let mut request: Map<String, Value> = extra.into_iter().collect();
                let fields = [
                    ("agent", agent),
                    ("state", state),
                    ("secrets", secrets),
                    ("sync_id", sync_id),
                    ("setup_test", setup_test),
                ];
                for (name, value) in fields {
                    if let Some(value) = value {
                        request.insert(name.into(), value);
                    }
                }
                if let Some((bucket, file)) = storage {
                    request.insert("bucket".into(), bucket.into());
                    request.insert("file".into(), file.into());
                }
                Value::Object(request)
            },
        )
}

/// A page body with records, totals, flags, tokens and links, any of which may be missing or of the wrong type.
fn page_body() -> impl Strategy<Value = Value> {
    let id = prop_oneof![
        any::<u64>().prop_map(Value::from),
        text().prop_map(Value::from),
        Just(Value::Null),
    ];
    let count = || {
        prop::option::of(or_any(prop_oneof![
            any::<u64>().prop_map(Value::from),
            (0u64..50).prop_map(Value::from),
            (0u64..50).prop_map(|n| Value::from(n.to_string())),
        ]))
    };
    let flag = prop::option::of(or_any(prop_oneof![
        any::<bool>().prop_map(Value::from),
        Just(Value::from("TRUE")),
        Just(Value::from("false")),
    ]));
    (
        prop::collection::vec(id.prop_map(|id| json!({"id": id})), 0..12),
        count(),
        count(),
        count(),
        flag,
        prop::option::of(or_any(text().prop_map(Value::from))),
        any::<bool>(),
    )
        .prop_map(|(records, pages, items, results, more, token, top_level)| {
            if top_level {
                return Value::from(records);
            }
            json!({
                "data": records,
                "pagination": {"total_pages": pages, "total_items": items},
                "totalResults": results,
                "has_more": more, "hasMore": more,
                "meta": {"next_cursor": token},
                "links": {"next": token},
            })
        })
}

fn link_header() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        (
            "[ -~]{0,12}",
            prop_oneof![Just("next"), Just("prev"), Just("last"), Just("NEXT first")]
        )
            .prop_map(|(url, rel)| format!("<{url}>; rel=\"{rel}\"")),
        "[ -~]{0,12}".prop_map(|url| format!("<{url}>; rel=next")),
        "[<>;=\", a-z]{0,16}",
        "\\PC{0,8}",
    ];
    prop::collection::vec(part, 0..4).prop_map(|parts| parts.join(", "))
}

fn headers() -> impl Strategy<Value = String> {
    let header = prop_oneof![
        (0u64..50).prop_map(|n| format!("x-wp-totalpages: {n}")),
        any::<u64>().prop_map(|n| format!("x-wp-totalpages: {n}")),
        "[ -~]{0,8}".prop_map(|v| format!("x-wp-totalpages: {v}")),
        link_header().prop_map(|l| format!("link: {l}")),
        "[ -~]{0,24}",
    ];
    prop::collection::vec(header, 0..4).prop_map(|lines| lines.join("\n"))
}

/// The input layout of `decode_checks::page`: position, header lines, NUL, body.
fn page_input() -> impl Strategy<Value = Vec<u8>> {
    let position = prop_oneof![0u64..20, any::<u64>(), Just(u64::MAX), Just(u64::MAX - 1)];
    (position, headers(), page_body())
        .prop_map(|(position, headers, body)| page_bytes(position, &headers, &body))
}

fn page_bytes(position: u64, headers: &str, body: &Value) -> Vec<u8> {
    let mut bytes = position.to_le_bytes().to_vec();
    bytes.extend_from_slice(headers.as_bytes());
    bytes.push(0);
    bytes.extend_from_slice(body.to_string().as_bytes());
    bytes
}

/// Found by these properties: a page number or offset of `u64::MAX` in a state overflowed (a panic in debug
/// builds, page 0 in release); now a pagination error naming the stream.
#[test]
fn positions_at_the_top_of_u64_are_errors() {
    let body = json!({"data": [{"id": 1}], "pagination": {"total_pages": null}});
    for style in [Style::PageNumber, Style::Offset] {
        decode_checks::page(style, &page_bytes(u64::MAX, "", &body));
        decode_checks::page(style, &page_bytes(u64::MAX - 1, "", &body));
    }
}

/// Found by these properties: `Link: <>; rel="next"` was followed as an empty URL; it now ends the stream.
#[test]
fn an_empty_link_target_ends_the_stream() {
    let body = json!([{"id": 1}]);
    decode_checks::page(
        Style::LinkHeader,
        &page_bytes(0, "link: <>; rel=\"next\"", &body),
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn requests_decode_or_name_the_field(request in request()) {
        decode_checks::request(&serde_json::to_vec(&request).unwrap());
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_request_decoder(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        decode_checks::request(&bytes);
        decode_checks::state(&bytes);
    }

    #[test]
    fn states_round_trip_or_name_the_field(state in state()) {
        decode_checks::state_map(&state);
    }

    #[test]
    fn page_numbers_move_forward(input in page_input()) {
        decode_checks::page(Style::PageNumber, &input);
    }

    #[test]
    fn offsets_move_forward(input in page_input()) {
        decode_checks::page(Style::Offset, &input);
    }

    #[test]
    fn tokens_stop_on_a_cycle(input in page_input()) {
        decode_checks::page(Style::Token, &input);
    }

    #[test]
    fn next_urls_stop_on_a_cycle(input in page_input()) {
        decode_checks::page(Style::NextUrl, &input);
    }

    #[test]
    fn link_headers_are_read_safely(input in page_input(), header in link_header()) {
        decode_checks::page(Style::LinkHeader, &input);
        decode_checks::link(&header);
    }

    #[test]
    fn keysets_continue_after_the_last_key(input in page_input()) {
        decode_checks::page(Style::Keyset, &input);
    }

    #[test]
    fn retry_after_values_are_read_safely(
        value in prop_oneof![
            "[0-9]{1,25}",
            "[ -~]{0,32}",
            Just("Wed, 21 Oct 2015 07:28:00 GMT".to_owned()),
            Just("Thu, 01 Jan 2026 00:00:30 GMT".to_owned()),
        ]
    ) {
        decode_checks::retry_after(value.as_bytes());
        decode_checks::retry_after(format!("retry-after: {value}\nx-ratelimit-remaining: 0\nx-ratelimit-reset: {value}").as_bytes());
    }
}
