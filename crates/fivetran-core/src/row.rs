//! Pages and rows without a JSON tree: the fast path from response text to response text.
//!
//! A [`Page`] keeps the body text and the byte ranges of its records; the rest of the body (totals, flags, next
//! tokens) is parsed into a small `Value`, the *envelope*. A record is read as a [`LazyRow`]: its keys and the raw
//! JSON text of each value, borrowed from the body. Flattening, constants and key checks work on that list, and
//! serializing writes the raw values back as they came, so a record's bytes are scanned twice (once to find the
//! records, once to split the record) and copied once, never turned into a tree. Only child arrays, hooks and
//! deletes use `serde_json::Value` rows, which are small.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::protocol::Row;

/// A fetched page: the body, the envelope and the records' ranges.
#[derive(Debug)]
pub struct Page {
    text: String,
    /// The body without its records array (an empty array in its place).
    pub envelope: Value,
    records: Vec<Range<usize>>,
}

impl Page {
    /// Splits a body at the records pointer (`""`: the body is the array). A missing or `null` records value is an
    /// empty page; any other non-array is an error naming the stream and pointer.
    pub fn split(text: String, pointer: &str, stream: &str) -> Result<Page> {
        let segments: Vec<String> = if pointer.is_empty() {
            Vec::new()
        } else {
            pointer
                .trim_start_matches('/')
                .split('/')
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect()
        };
        let mut found = Vec::new();
        let envelope = {
            let mut de = serde_json::Deserializer::from_str(&text);
            let seed = Descend {
                segments: &segments,
                out: &mut found,
            };
            let envelope =
                de::DeserializeSeed::deserialize(seed, &mut de).map_err(|e| decode(stream, &e))?;
            de.end().map_err(|e| decode(stream, &e))?;
            envelope
        };
        let base = text.as_ptr() as usize;
        let records = found
            .into_iter()
            .map(|(start, len)| start - base..start - base + len)
            .collect();
        Ok(Page {
            text,
            envelope,
            records,
        })
    }

    /// A page without records (a body that was only checked).
    pub fn empty() -> Page {
        Page {
            text: String::new(),
            envelope: Value::Null,
            records: Vec::new(),
        }
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// The raw text of record `index`.
    pub fn record(&self, index: usize) -> &str {
        &self.text[self.records[index].clone()]
    }

    /// Every record's raw text, in order.
    pub fn records(&self) -> impl Iterator<Item = &str> {
        self.records.iter().map(|r| &self.text[r.clone()])
    }
}

fn decode(stream: &str, e: &serde_json::Error) -> Error {
    Error::Pagination {
        stream: stream.into(),
        reason: format!("not valid JSON ({e})"),
    }
}

/// One pass over the body: follows the pointer's segments, records the address and length of every record in the
/// array it leads to, and builds the envelope (the body with an empty array in the records' place).
struct Descend<'r> {
    segments: &'r [String],
    out: &'r mut Vec<(usize, usize)>,
}

impl<'de> de::DeserializeSeed<'de> for Descend<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Value, D::Error> {
        if self.segments.is_empty() {
            let items: Option<Vec<&'de RawValue>> = de::Deserialize::deserialize(d)?;
            return Ok(match items {
                None => Value::Null,
                Some(items) => {
                    self.out.extend(
                        items
                            .iter()
                            .map(|r| (r.get().as_ptr() as usize, r.get().len())),
                    );
                    Value::Array(Vec::new())
                }
            });
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Descend<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON body")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<Value, A::Error> {
        let (first, rest) = self.segments.split_first().unwrap_or((&EMPTY, &[]));
        let mut envelope = Map::new();
        while let Some(key) = map.next_key::<Key<'de>>()? {
            let value = if key.0 == first.as_str() {
                map.next_value_seed(Descend {
                    segments: rest,
                    out: &mut *self.out,
                })?
            } else {
                map.next_value::<Value>()?
            };
            envelope.insert(key.0.into_owned(), value);
        }
        Ok(Value::Object(envelope))
    }

    // The pointer leads through something that is neither an object nor `null`: a declaration mismatch, not an
    // empty page.
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> std::result::Result<Value, A::Error> {
        Err(de::Error::custom(
            "the records pointer expects an object here, found an array",
        ))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<Value, E> {
        Err(de::Error::custom(
            "the records pointer expects an object here, found a boolean",
        ))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<Value, E> {
        Err(de::Error::custom(
            "the records pointer expects an object here, found a number",
        ))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<Value, E> {
        Err(de::Error::custom(
            "the records pointer expects an object here, found a number",
        ))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<Value, E> {
        Err(de::Error::custom(
            "the records pointer expects an object here, found a number",
        ))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<Value, E> {
        Err(de::Error::custom(
            "the records pointer expects an object here, found a string",
        ))
    }
    fn visit_unit<E: de::Error>(self) -> std::result::Result<Value, E> {
        Ok(Value::Null)
    }
}

static EMPTY: String = String::new();

/// An object key, borrowed when it has no escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key<'a>(pub Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

/// An object as its (key, raw value) pairs, in order.
struct Pairs<'a>(Vec<(Key<'a>, &'a RawValue)>);

impl<'de> de::Deserialize<'de> for Pairs<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct PairsVisitor;
        impl<'de> Visitor<'de> for PairsVisitor {
            type Value = Pairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Pairs<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(pair) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    out.push(pair);
                }
                Ok(Pairs(out))
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                _: A,
            ) -> std::result::Result<Pairs<'de>, A::Error> {
                Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
            }
        }
        d.deserialize_map(PairsVisitor)
    }
}

/// One column value: raw JSON text from the body, or a value made by the engine.
#[derive(Debug, Clone)]
pub(crate) enum Field<'a> {
    Raw(&'a RawValue),
    Value(Value),
}

impl Field<'_> {
    /// Whether the value is JSON `null`.
    pub fn is_null(&self) -> bool {
        match self {
            Field::Raw(r) => r.get() == "null",
            Field::Value(v) => v.is_null(),
        }
    }

    /// The value as a tree (for keys and hooks).
    pub fn to_value(&self) -> Value {
        match self {
            Field::Raw(r) => serde_json::from_str(r.get()).unwrap_or(Value::Null),
            Field::Value(v) => v.clone(),
        }
    }

    /// Strings as they are, numbers in their JSON form (keyset and key-order texts).
    pub fn text(&self) -> Option<String> {
        match self {
            Field::Raw(r) => {
                let t = r.get();
                if t.starts_with('"') {
                    serde_json::from_str::<String>(t).ok()
                } else if t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                    Some(t.to_owned())
                } else {
                    None
                }
            }
            Field::Value(Value::String(s)) => Some(s.clone()),
            Field::Value(Value::Number(n)) => Some(n.to_string()),
            Field::Value(_) => None,
        }
    }
}

/// A record as ordered (key, value) pairs borrowed from the page.
#[derive(Debug, Clone, Default)]
pub(crate) struct LazyRow<'a> {
    pub fields: Vec<(Cow<'a, str>, Field<'a>)>,
}

impl<'a> LazyRow<'a> {
    /// Splits one record; `None` when it is not a JSON object.
    pub fn parse(text: &'a str) -> Option<LazyRow<'a>> {
        if !text.starts_with('{') {
            return None;
        }
        let pairs: Pairs<'a> = serde_json::from_str(text).ok()?;
        Some(LazyRow {
            fields: pairs
                .0
                .into_iter()
                .map(|(k, v)| (k.0, Field::Raw(v)))
                .collect(),
        })
    }

    /// The value of a column.
    pub fn get(&self, key: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Removes a column and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Field<'a>> {
        let index = self.fields.iter().position(|(k, _)| k == key)?;
        Some(self.fields.remove(index).1)
    }

    /// Sets a column (replacing an existing one).
    pub fn set(&mut self, key: Cow<'a, str>, value: Field<'a>) {
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key, value)),
        }
    }

    /// Replaces a nested object column `field: {a, b}` by `field_a`, `field_b`; other values are left alone.
    pub fn flatten(&mut self, field: &str) {
        let Some(index) = self.fields.iter().position(|(k, _)| k == field) else {
            return;
        };
        let inner: Vec<(Cow<'a, str>, Field<'a>)> = match &self.fields[index].1 {
            Field::Raw(raw) if raw.get().starts_with('{') => {
                match serde_json::from_str::<Pairs<'a>>(raw.get()) {
                    Ok(p) => {
                        p.0.into_iter()
                            .map(|(k, v)| (Cow::Owned(format!("{field}_{}", k.0)), Field::Raw(v)))
                            .collect()
                    }
                    Err(_) => return,
                }
            }
            Field::Value(Value::Object(map)) => map
                .iter()
                .map(|(k, v)| (Cow::Owned(format!("{field}_{k}")), Field::Value(v.clone())))
                .collect(),
            _ => return,
        };
        self.fields.remove(index);
        for (k, v) in inner {
            self.set(k, v);
        }
    }

    /// The row as a `serde_json` map (for hooks).
    pub fn to_row(&self) -> Row {
        self.fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_value()))
            .collect()
    }

    /// Writes the row as a JSON object.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (key, value)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match key {
                // A key borrowed from the body has no escape sequences, so it needs none.
                Cow::Borrowed(k) => {
                    out.push(b'"');
                    out.extend_from_slice(k.as_bytes());
                    out.push(b'"');
                }
                Cow::Owned(k) => {
                    let _ = serde_json::to_writer(&mut *out, k);
                }
            }
            out.push(b':');
            match value {
                Field::Raw(raw) => out.extend_from_slice(raw.get().as_bytes()),
                Field::Value(v) => {
                    let _ = serde_json::to_writer(&mut *out, v);
                }
            }
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages_split_into_envelope_and_records() {
        let body =
            r#"{"data": [{"id": 1}, {"id": 2, "x": [1, 2]}], "pagination": {"total_pages": 3}}"#;
        let page = Page::split(body.into(), "/data", "s").unwrap();
        assert_eq!(page.len(), 2);
        assert_eq!(page.record(1), r#"{"id": 2, "x": [1, 2]}"#);
        assert_eq!(
            page.envelope,
            json!({"data": [], "pagination": {"total_pages": 3}})
        );
        let top = Page::split("[{\"id\": 1}]".into(), "", "s").unwrap();
        assert_eq!(top.records().collect::<Vec<_>>(), [r#"{"id": 1}"#]);
        let nested = Page::split(
            r#"{"a": {"b": [{"id": 1}], "n": null}}"#.into(),
            "/a/b",
            "s",
        )
        .unwrap();
        assert_eq!(nested.len(), 1);
        assert_eq!(nested.envelope, json!({"a": {"b": [], "n": null}}));
        let missing =
            Page::split(r#"{"data": null, "hasMore": false}"#.into(), "/data", "s").unwrap();
        assert_eq!(missing.len(), 0);
        let error = Page::split(r#"{"data": 5}"#.into(), "/data", "s").unwrap_err();
        assert!(error.to_string().contains("expected a sequence"), "{error}");
        let error = Page::split("[{\"id\": 1}]".into(), "/data", "s").unwrap_err();
        assert!(error.to_string().contains("found an array"), "{error}");
        let absent = Page::split(r#"{"other": 1}"#.into(), "/data", "s").unwrap();
        assert_eq!(absent.len(), 0);
    }

    #[test]
    fn lazy_rows_flatten_set_and_write_exact_json() {
        let text = r#"{"id": "la_1", "amount": {"value": "1.00", "currency": "EUR"}, "n": null, "k\"q": 1.50}"#;
        let mut row = LazyRow::parse(text).unwrap();
        row.flatten("amount");
        row.set(Cow::Borrowed("repository"), Field::Value(json!("octo/x")));
        let mut out = Vec::new();
        row.write(&mut out);
        let written: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            written,
            json!({"id": "la_1", "amount_value": "1.00", "amount_currency": "EUR", "n": null, "k\"q": 1.50, "repository": "octo/x"})
        );
        // Raw numbers keep their exact text.
        assert!(String::from_utf8(out).unwrap().contains("1.50"));
        assert_eq!(row.get("id").unwrap().text().as_deref(), Some("la_1"));
        assert!(row.get("n").unwrap().is_null());
        assert!(LazyRow::parse("[1]").is_none());
        let big = LazyRow::parse(r#"{"id": 18446744073709551615}"#).unwrap();
        assert_eq!(
            big.get("id").unwrap().text().as_deref(),
            Some("18446744073709551615")
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn leaf() -> impl Strategy<Value = Value> {
            prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                (-1e15f64..1e15).prop_map(Value::from),
                ".{0,12}".prop_map(Value::from),
            ]
        }

        fn json() -> impl Strategy<Value = Value> {
            leaf().prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(".{0,6}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        proptest! {
            #[test]
            fn a_page_and_its_rows_round_trip(records in prop::collection::vec(
                prop::collection::btree_map(".{0,6}", json(), 0..5), 0..5), flag in any::<bool>()) {
                let records: Vec<Value> =
                    records.into_iter().map(|m| Value::Object(m.into_iter().collect())).collect();
                let body = serde_json::to_string(&json!({"page": {"rows": records}, "more": flag})).unwrap();
                let page = Page::split(body, "/page/rows", "s").unwrap();
                prop_assert_eq!(page.len(), records.len());
                prop_assert_eq!(&page.envelope, &json!({"page": {"rows": []}, "more": flag}));
                for (text, expected) in page.records().zip(&records) {
                    let row = LazyRow::parse(text).unwrap();
                    let mut out = Vec::new();
                    row.write(&mut out);
                    let back: Value = serde_json::from_slice(&out).unwrap();
                    // Compare through the same text parse (serde_json's float parsing is not exact both ways).
                    let expected: Value = serde_json::from_str(&expected.to_string()).unwrap();
                    prop_assert_eq!(back, expected);
                }
            }
        }
    }
}
