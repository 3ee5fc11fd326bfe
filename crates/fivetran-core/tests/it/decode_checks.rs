//! Properties of fivetran-core's decoders that hold for ANY input, as plain functions over bytes: the request and
//! state decoders (no panic; what decodes re-encodes to the same value) and each paginator's reading of a page (no
//! panic; it always moves forward or stops; it never follows a token it has seen). The property tests
//! (`properties.rs`) and the cargo-fuzz targets (`fuzz/`, which includes this file by path) both call them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fivetran_core::http::{parse_retry_after, rate_limit_wait};
use fivetran_core::paginate::{Next, PageFacts, Pagination, Position, Seen, Total, link_next};
use fivetran_core::protocol::Request;
use fivetran_core::state::{StreamState, SyncState};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// Decodes a request; a decoded request re-decodes from its own JSON to the same request, and its state either
/// decodes or is refused with an error naming the field.
pub fn request(data: &[u8]) {
    let Ok(request) = Request::from_slice(data) else {
        return;
    };
    let again = Request::from_value(request.to_value()).expect("a decoded request re-decodes");
    assert_eq!(again, request, "request round trip");
    state_map(&request.state);
}

/// Decodes a state from JSON bytes (see [`state_map`]).
pub fn state(data: &[u8]) {
    if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) {
        state_map(&map);
    }
}

/// A state either decodes or is refused with a named field; a decoded state encodes to a state that decodes to
/// the same value (streams with nothing in them are left out of the encoding) and encodes to the same JSON (the
/// encoding is a fixed point).
pub fn state_map(map: &Map<String, Value>) {
    match SyncState::decode(map) {
        Ok(mut state) => {
            let encoded = state.encode();
            let again = SyncState::decode(&encoded).expect("an encoded state decodes");
            state
                .streams
                .retain(|_, stream| *stream != StreamState::default());
            assert_eq!(again, state, "state round trip");
            assert_eq!(again.encode(), encoded, "state encoding is stable");
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
}

/// The paginators a page can be read by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    PageNumber,
    Offset,
    Token,
    NextUrl,
    LinkHeader,
    Keyset,
}

/// A page as the fuzzers and property tests give it: an 8-byte little-endian position, header lines
/// (`name: value`), a NUL byte, then the body. Shorter inputs are all body.
pub fn split_input(data: &[u8]) -> (u64, HeaderMap, &[u8]) {
    let (position, rest) = match data.split_first_chunk::<8>() {
        Some((position, rest)) => (u64::from_le_bytes(*position), rest),
        None => (0, data),
    };
    let (head, body) = match rest.iter().position(|b| *b == 0) {
        Some(nul) => (&rest[..nul], &rest[nul + 1..]),
        None => (&rest[..0], rest),
    };
    (position, headers(head), body)
}

/// Header lines into a map; lines that are not valid headers are left out.
pub fn headers(text: &[u8]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for line in text.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            map.append(name, value);
        }
    }
    map
}

/// Reads one page with `style` the way the engine does (records at `/data` or a top-level array, keys in `id`)
/// and checks the decision.
pub fn page(style: Style, data: &[u8]) {
    let (position, headers, body) = split_input(data);
    let body: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let records = body
        .pointer("/data")
        .or(Some(&body))
        .and_then(Value::as_array);
    let count = records.map_or(0, Vec::len);
    let last_key = records
        .and_then(|r| r.last())
        .and_then(|r| r.get("id"))
        .and_then(|id| match id {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
    let size = 1 + position % 200;
    let (pagination, position) = match style {
        Style::PageNumber => (
            Pagination::page_number("page")
                .size("page_size", size)
                .total_pages(if position % 2 == 0 {
                    Total::Body("/pagination/total_pages".into())
                } else {
                    Total::Header("x-wp-totalpages".into())
                })
                .total_items(Total::Body("/pagination/total_items".into()))
                .has_more("/has_more"),
            Position::Page(position),
        ),
        Style::Offset => (
            Pagination::offset("offset")
                .size("limit", size)
                .total_items(Total::Body("/totalResults".into()))
                .has_more("/hasMore"),
            Position::Offset(position),
        ),
        Style::Token => (
            Pagination::token("cursor", "/meta/next_cursor"),
            Position::Token(position.to_string()),
        ),
        Style::NextUrl => (
            Pagination::next_url("/links/next"),
            Position::Url(position.to_string()),
        ),
        Style::LinkHeader => (Pagination::link_header(), Position::Start),
        Style::Keyset => (
            Pagination::keyset("id"),
            Position::After(position.to_string()),
        ),
    };
    let facts = PageFacts {
        position: &position,
        body: &body,
        headers: &headers,
        count,
        last_key: last_key.clone(),
    };
    let mut seen = Seen::default();
    let next = match pagination.next("fuzzed", &facts, &seen) {
        Ok(next) => next,
        Err(error) => {
            assert!(
                error.to_string().contains("fuzzed"),
                "errors name the stream: {error}"
            );
            return;
        }
    };
    match (&position, &next) {
        (_, Next::Done) => {}
        (Position::Page(now), Next::Page(Position::Page(then))) => {
            assert!(then > now, "page numbers move forward: {now} -> {then}");
            if let Some(total) =
                pagination.total(Some(&Total::Body("/pagination/total_pages".into())), &facts)
                && position_is_body_total(&facts)
            {
                assert!(*then <= total, "never past the total: {then} > {total}");
            }
        }
        (Position::Offset(now), Next::Page(Position::Offset(then))) => {
            assert!(then > now, "offsets move forward: {now} -> {then}");
        }
        (_, Next::Page(Position::After(key))) => {
            assert_eq!(
                Some(key),
                last_key.as_ref(),
                "keyset continues after the last key"
            );
        }
        (_, Next::Page(Position::Token(token) | Position::Url(token))) => {
            assert!(!token.is_empty());
            // The cycle guard: once recorded, the same token stops the stream.
            seen.insert(token);
            assert_eq!(
                pagination.next("fuzzed", &facts, &seen).ok(),
                Some(Next::Done)
            );
        }
        (now, next) => panic!("unexpected move for {style:?}: {now:?} -> {next:?}"),
    }
    for value in headers.get_all("link") {
        if let Ok(text) = value.to_str() {
            link(text);
        }
    }
}

/// Page-number positions whose total comes from the body (even positions, see [`page`]).
fn position_is_body_total(facts: &PageFacts<'_>) -> bool {
    matches!(facts.position, Position::Page(n) if n % 2 == 0)
}

/// A `Link` header's `rel="next"` target is a piece of the header.
pub fn link(text: &str) {
    if let Some(target) = link_next(text) {
        assert!(
            text.contains(&format!("<{target}>")),
            "{target:?} from {text:?}"
        );
    }
}

/// `Retry-After` values and rate-limit headers: no panic, and a delta in seconds is read exactly.
pub fn retry_after(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let now = UNIX_EPOCH + Duration::from_secs(1_767_225_600);
    let wait = parse_retry_after(&text, now);
    if let Ok(seconds) = text.parse::<u64>() {
        assert_eq!(wait, Some(Duration::from_secs(seconds)));
    }
    let headers = headers(data);
    for status in [200, 403, 429, 503] {
        let _ = rate_limit_wait(status, &headers);
    }
    let _ = parse_retry_after(&text, SystemTime::now());
}
