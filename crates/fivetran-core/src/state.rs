//! The engine's state inside Fivetran's `state` object: small, versioned, bounded, one entry per stream.
//!
//! ```json
//! {"version": 1,
//!  "streams": {
//!    "loan_applications": {
//!      "cursor": "2026-03-01T09:00:00Z",
//!      "window": {"since": "2026-03-01T08:55:00Z", "started": "2026-03-02T09:00:00Z",
//!                 "position": {"page": 3}, "skip": 0, "pages": 2, "last_key": "la_000200"}},
//!    "issues:octo/hello": {"cursor": "2026-03-02T09:00:00Z", "last_pages": 3, "done": true}}}
//! ```
//!
//! - `cursor`: the start time of the last *completed* window; the next window's lower bound is `cursor − lookback`.
//! - `window`: the window in progress — frozen bounds (`since`, `started`), the page to fetch next (`position`),
//!   records of that page already returned (`skip`), pages read (`pages`, for the safety valve), hashes of the last
//!   64 tokens (`seen`, cycle guard), and the last key read (`last_key`, deletion-shift correction).
//! - `last_pages`: pages the last completed window read — how many pages the next window requests at once, up to
//!   the concurrency, before its first page tells how many there are.
//! - `done`: the stream finished in the current sync; cleared when the whole sync ends (`hasMore: false`).
//!
//! Nothing grows with the number of records. Version 0 — the hand-written seed handler's shape,
//! `{"<table>": {"cursor": "<RFC 3339>", "page": n}}` — is migrated: the cursor is kept and the page dropped, so the
//! interrupted window is read again from its start (a repeat, never a loss). A state from a newer version or of the
//! wrong shape is [`Error::InvalidState`] naming the field; the engine never silently restarts from zero.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::paginate::Position;

/// The state version this build writes.
pub const STATE_VERSION: u64 = 1;

/// The state of every stream.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncState {
    /// Stream key → its state. Entries of streams no longer declared are kept as they are.
    pub streams: BTreeMap<String, StreamState>,
}

/// One stream's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamState {
    /// Start of the last completed window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<DateTime<Utc>>,
    /// The window in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Pages the last completed window read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pages: Option<u64>,
    /// Finished in the current sync.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub done: bool,
}

/// A window in progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Frozen lower bound (`None`: everything).
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Frozen start of the window: the next `cursor`.
    pub started: DateTime<Utc>,
    /// The page to fetch next.
    pub position: Position,
    /// Records of that page already returned.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub skip: u64,
    /// Pages read in this window.
    #[serde(default)]
    pub pages: u64,
    /// Hex hashes of the last tokens seen (bounded).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seen: Vec<String>,
    /// The last key read, for key-ordered page numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_key: Option<String>,
    /// The number of pages (page numbers) or items (offsets) the last page read reported: the next call fetches
    /// ahead from its first request instead of waiting for a page to tell it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Bytes of rows the last whole page read gave, to cut that first look-ahead to the byte budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_bytes: Option<u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Window {
    /// A window opened at `started` with the lower bound `since`, at the stream's first page.
    pub fn open(since: Option<DateTime<Utc>>, started: DateTime<Utc>) -> Window {
        Window {
            since,
            started,
            position: Position::Start,
            skip: 0,
            pages: 0,
            seen: Vec::new(),
            last_key: None,
            total: None,
            page_bytes: None,
        }
    }

    /// The token hashes as numbers.
    pub fn seen_hashes(&self) -> Vec<u64> {
        self.seen
            .iter()
            .filter_map(|h| u64::from_str_radix(h, 16).ok())
            .collect()
    }

    /// Stores token hashes (hex text: JSON readers with 53-bit numbers keep them exact).
    pub fn set_seen(&mut self, hashes: &[u64]) {
        self.seen = hashes.iter().map(|h| format!("{h:016x}")).collect();
    }
}

impl SyncState {
    /// Decodes Fivetran's `state` (`{}` on a first sync), migrating older versions.
    pub fn decode(state: &Map<String, Value>) -> Result<Self> {
        if state.is_empty() {
            return Ok(SyncState::default());
        }
        let Some(version) = state.get("version") else {
            return Self::migrate_v0(state);
        };
        let version = version
            .as_u64()
            .ok_or_else(|| Error::invalid_state("version", "must be a whole number"))?;
        if version > STATE_VERSION {
            return Err(Error::invalid_state(
                "version",
                format!(
                    "is {version}, newer than this connector understands ({STATE_VERSION}); deploy the newer connector"
                ),
            ));
        }
        if version == 0 {
            return Err(Error::invalid_state(
                "version",
                "0 is never written; expected 1",
            ));
        }
        if let Some(key) = state.keys().find(|k| *k != "version" && *k != "streams") {
            return Err(Error::invalid_state(
                key.clone(),
                "is not a field of the state",
            ));
        }
        let mut out = SyncState::default();
        match state.get("streams") {
            None | Some(Value::Null) => {}
            Some(Value::Object(streams)) => {
                for (key, value) in streams {
                    let stream = StreamState::deserialize(value).map_err(|e| {
                        Error::invalid_state(format!("streams.{key}"), e.to_string())
                    })?;
                    out.streams.insert(key.clone(), stream);
                }
            }
            Some(other) => {
                return Err(Error::invalid_state(
                    "streams",
                    format!("must be an object, found {}", crate::protocol::kind(other)),
                ));
            }
        }
        Ok(out)
    }

    /// Version 0: `{"<table>": {"cursor": "<RFC 3339>", "page": n}}`.
    fn migrate_v0(state: &Map<String, Value>) -> Result<Self> {
        let mut out = SyncState::default();
        for (key, value) in state {
            let Value::Object(entry) = value else {
                return Err(Error::invalid_state(
                    key.clone(),
                    "is neither a known state version nor a `{\"cursor\": …}` entry",
                ));
            };
            if let Some(extra) = entry.keys().find(|k| *k != "cursor" && *k != "page") {
                return Err(Error::invalid_state(
                    format!("{key}.{extra}"),
                    "is not a field of a version 0 state",
                ));
            }
            let cursor = match entry.get("cursor") {
                None | Some(Value::Null) => None,
                Some(Value::String(text)) => Some(
                    DateTime::parse_from_rfc3339(text)
                        .map_err(|_| {
                            Error::invalid_state(
                                format!("{key}.cursor"),
                                "is not an RFC 3339 timestamp",
                            )
                        })?
                        .with_timezone(&Utc),
                ),
                Some(other) => {
                    return Err(Error::invalid_state(
                        format!("{key}.cursor"),
                        format!("must be a string, found {}", crate::protocol::kind(other)),
                    ));
                }
            };
            out.streams.insert(
                key.clone(),
                StreamState {
                    cursor,
                    ..StreamState::default()
                },
            );
        }
        Ok(out)
    }

    /// Encodes the state for the response.
    pub fn encode(&self) -> Map<String, Value> {
        let mut streams = Map::new();
        for (key, stream) in &self.streams {
            if *stream == StreamState::default() {
                continue;
            }
            // Serializing these plain structs cannot fail.
            let value = serde_json::to_value(stream).unwrap_or(Value::Null);
            streams.insert(key.clone(), value);
        }
        let mut out = Map::new();
        out.insert("version".into(), STATE_VERSION.into());
        out.insert("streams".into(), Value::Object(streams));
        out
    }

    /// The mutable state of one stream (created empty).
    pub fn stream(&mut self, key: &str) -> &mut StreamState {
        self.streams.entry(key.to_owned()).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_state_round_trips() {
        let mut state = SyncState::default();
        let s = state.stream("issues:octo/hello");
        s.cursor = Some("2026-03-01T09:00:00Z".parse().unwrap());
        let mut window = Window {
            position: Position::Url("https://api.github.com/x?page=2".into()),
            skip: 3,
            pages: 1,
            last_key: Some("la_1".into()),
            ..Window::open(None, "2026-03-02T09:00:00Z".parse().unwrap())
        };
        window.set_seen(&[u64::MAX, 7]);
        s.window = Some(window);
        let encoded = state.encode();
        let text = serde_json::to_string(&encoded).unwrap();
        assert!(text.contains("ffffffffffffffff"), "{text}");
        let decoded = SyncState::decode(&encoded).unwrap();
        assert_eq!(decoded, state);
        assert_eq!(
            decoded.streams["issues:octo/hello"]
                .window
                .as_ref()
                .unwrap()
                .seen_hashes(),
            vec![u64::MAX, 7]
        );
    }

    #[test]
    fn version_zero_is_migrated() {
        let state = SyncState::decode(&map(
            json!({"loan_applications": {"cursor": "2026-01-01T00:00:00Z", "page": 3}}),
        ))
        .unwrap();
        let stream = &state.streams["loan_applications"];
        assert_eq!(
            stream.cursor.unwrap().to_rfc3339(),
            "2026-01-01T00:00:00+00:00"
        );
        assert!(stream.window.is_none());
    }

    #[test]
    fn wrong_shapes_and_newer_versions_name_the_field() {
        let cases = [
            (
                json!({"version": 2, "streams": {}}),
                "`version` is 2, newer",
            ),
            (json!({"version": "1"}), "`version` must be a whole number"),
            (
                json!({"version": 1, "streams": []}),
                "`streams` must be an object",
            ),
            (
                json!({"version": 1, "streams": {}, "x": 1}),
                "`x` is not a field",
            ),
            (
                json!({"version": 1, "streams": {"t": {"cursor": 5}}}),
                "`streams.t`",
            ),
            (
                json!({"version": 1, "streams": {"t": {"pgae": 5}}}),
                "unknown field `pgae`",
            ),
            (
                json!({"t": {"cursor": "yesterday"}}),
                "`t.cursor` is not an RFC 3339",
            ),
            (json!({"t": 5}), "`t` is neither"),
        ];
        for (value, expected) in cases {
            let error = SyncState::decode(&map(value)).unwrap_err();
            assert_eq!(error.error_type(), "InvalidState");
            assert!(
                error.to_string().contains(expected),
                "{error} lacks {expected}"
            );
        }
    }
}
