//! The `CLOUD_STORAGE` object, serialized as rows arrive: `{"insert":{..},"delete":{..},"softDelete":[..]}`.
//!
//! [`PayloadWriter`] turns each row into JSON the moment it is pushed and keeps only those bytes, grouped per table
//! in chunks of [`CHUNK_BYTES`]; the row values can be dropped at once, so a sync holds one copy of its data, not
//! the values plus their serialization. [`PayloadWriter::len`] is the exact size of the finished object at every
//! moment (the byte budget is checked against it), and [`PayloadWriter::finish`] assembles the object as a list
//! of shared chunks ([`ObjectBody`]) that the S3 client streams without copying them into one buffer.
//!
//! The bytes are exactly what `serde_json::to_vec(&StoragePayload)` gives for the same rows: compact JSON, tables
//! in name order, `softDelete` omitted when no table uses it.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::protocol::{Row, StoragePayload};

/// Size at which a table's buffer is frozen into a chunk of the object.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// Serializes `CLOUD_STORAGE` rows as they arrive; see the module docs.
#[derive(Debug, Default)]
pub struct PayloadWriter {
    insert: BTreeMap<String, TableRows>,
    delete: BTreeMap<String, TableRows>,
    soft_delete: BTreeSet<String>,
    rows: usize,
}

/// The finished object: its chunks in order and their total length. Cloning shares the chunks.
#[derive(Debug, Clone, Default)]
pub struct ObjectBody {
    chunks: Vec<Bytes>,
    len: u64,
}

/// One table's serialized rows, comma-separated, without the surrounding brackets.
#[derive(Debug, Default)]
struct TableRows {
    chunks: Vec<Bytes>,
    current: Vec<u8>,
    bytes: usize,
}

impl PayloadWriter {
    /// An empty object (`{"insert":{},"delete":{}}`).
    pub fn new() -> Self {
        PayloadWriter::default()
    }

    /// Serializes a whole payload, dropping each row as soon as it is written.
    pub fn from_payload(payload: StoragePayload) -> Result<Self> {
        let mut writer = PayloadWriter::new();
        for (table, rows) in payload.insert {
            writer.declare_insert(&table);
            for row in rows {
                writer.insert(&table, &row)?;
            }
        }
        for (table, rows) in payload.delete {
            writer.declare_delete(&table);
            for row in rows {
                writer.delete(&table, &row)?;
            }
        }
        for table in payload.soft_delete {
            writer.soft_delete(&table);
        }
        Ok(writer)
    }

    /// Adds an inserted row to `table`; returns the bytes it added to the object.
    pub fn insert(&mut self, table: &str, row: &Row) -> Result<usize> {
        self.rows += 1;
        push(&mut self.insert, table, row)
    }

    /// Adds a deleted row (at least the primary key) to `table`; returns the bytes it added to the object.
    pub fn delete(&mut self, table: &str, row: &Row) -> Result<usize> {
        self.rows += 1;
        push(&mut self.delete, table, row)
    }

    /// Lists `table` under `insert` even without rows (as a direct response does for declared tables).
    pub fn declare_insert(&mut self, table: &str) {
        self.insert.entry(table.to_owned()).or_default();
    }

    /// Lists `table` under `delete` even without rows.
    pub fn declare_delete(&mut self, table: &str) {
        self.delete.entry(table.to_owned()).or_default();
    }

    /// Marks `table`'s deletes as soft (`softDelete`).
    pub fn soft_delete(&mut self, table: &str) {
        self.soft_delete.insert(table.to_owned());
    }

    /// Rows pushed so far.
    pub fn row_count(&self) -> usize {
        self.rows
    }

    /// The exact size in bytes of the object if it were finished now.
    pub fn len(&self) -> usize {
        // {"insert":{...},"delete":{...}}
        let mut len = r#"{"insert":{},"delete":{}}"#.len();
        len += section_len(&self.insert) + section_len(&self.delete);
        if !self.soft_delete.is_empty() {
            // ,"softDelete":[...]
            len += r#","softDelete":[]"#.len();
            len += self
                .soft_delete
                .iter()
                .map(|t| quoted(t).len())
                .sum::<usize>();
            len += self.soft_delete.len() - 1;
        }
        len
    }

    /// Whether nothing at all has been pushed or declared.
    pub fn is_empty(&self) -> bool {
        self.insert.is_empty() && self.delete.is_empty() && self.soft_delete.is_empty()
    }

    /// The finished object.
    pub fn finish(self) -> ObjectBody {
        let expected = self.len();
        let mut body = ObjectBody::default();
        body.push(Bytes::from_static(br#"{"insert":{"#));
        write_section(&mut body, self.insert);
        body.push(Bytes::from_static(br#"},"delete":{"#));
        write_section(&mut body, self.delete);
        body.push(Bytes::from_static(b"}"));
        if !self.soft_delete.is_empty() {
            let names: Vec<String> = self.soft_delete.iter().map(|t| quoted(t)).collect();
            body.push(Bytes::from(format!(
                r#","softDelete":[{}]"#,
                names.join(",")
            )));
        }
        body.push(Bytes::from_static(b"}"));
        debug_assert_eq!(body.len as usize, expected);
        body
    }
}

impl ObjectBody {
    /// An object made of `chunks`, in order (moved, not copied: a `Vec<u8>` becomes a `Bytes` without a copy).
    pub fn from_chunks(chunks: impl IntoIterator<Item = Bytes>) -> Self {
        let mut body = ObjectBody::default();
        chunks.into_iter().for_each(|chunk| body.push(chunk));
        body
    }

    /// The object's size in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the object has no bytes (never the case for a finished payload).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The chunks, in order.
    pub fn chunks(&self) -> &[Bytes] {
        &self.chunks
    }

    /// The whole object in one buffer (tests and small objects only: this is the copy streaming avoids).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len as usize);
        self.chunks.iter().for_each(|c| out.extend_from_slice(c));
        out
    }

    /// A request body streaming the chunks (shared, not copied); call once per attempt.
    pub fn to_request_body(&self) -> reqwest::Body {
        let chunks = self.chunks.clone();
        reqwest::Body::wrap_stream(futures_util::stream::iter(
            chunks.into_iter().map(Ok::<Bytes, std::io::Error>),
        ))
    }

    fn push(&mut self, chunk: Bytes) {
        self.len += chunk.len() as u64;
        if !chunk.is_empty() {
            self.chunks.push(chunk);
        }
    }
}

fn push(section: &mut BTreeMap<String, TableRows>, table: &str, row: &Row) -> Result<usize> {
    let rows = match section.get_mut(table) {
        Some(rows) => rows,
        None => section.entry(table.to_owned()).or_default(),
    };
    let before = rows.current.len();
    if rows.bytes > 0 {
        rows.current.push(b',');
    }
    serde_json::to_writer(&mut rows.current, row).map_err(|e| {
        Error::Declaration(format!("a row of `{table}` could not be serialized: {e}"))
    })?;
    let added = rows.current.len() - before;
    rows.bytes += added;
    if rows.current.len() >= CHUNK_BYTES {
        let full = std::mem::replace(&mut rows.current, Vec::with_capacity(CHUNK_BYTES + 1024));
        rows.chunks.push(Bytes::from(full));
    }
    Ok(added)
}

/// `"table":[rows]` entries joined by commas.
fn section_len(section: &BTreeMap<String, TableRows>) -> usize {
    if section.is_empty() {
        return 0;
    }
    let entries: usize = section
        .iter()
        .map(|(t, rows)| quoted(t).len() + 3 + rows.bytes)
        .sum();
    entries + section.len() - 1
}

fn write_section(body: &mut ObjectBody, section: BTreeMap<String, TableRows>) {
    for (i, (table, rows)) in section.into_iter().enumerate() {
        let comma = if i > 0 { "," } else { "" };
        body.push(Bytes::from(format!("{comma}{}:[", quoted(&table))));
        for chunk in rows.chunks {
            body.push(chunk);
        }
        body.push(Bytes::from(rows.current));
        body.push(Bytes::from_static(b"]"));
    }
}

/// A table name as a JSON string.
fn quoted(name: &str) -> String {
    serde_json::to_string(name).unwrap_or_else(|_| format!("\"{name}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Response, Table};
    use serde_json::json;

    fn row(value: serde_json::Value) -> Row {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn bytes_equal_the_serialized_payload_and_len_is_exact() {
        let orders = Table::new("orders", &["id"]);
        let items = Table::new("order \"line\" items", &["order_id", "id"]).soft_deletes();
        let mut response = Response::new(serde_json::Map::new(), true);
        for i in 0..3000 {
            response.insert(
                &orders,
                row(json!({"id": i, "note": "é ✓ \u{1}", "big": u64::MAX})),
            );
            response.insert(&items, row(json!({"order_id": i, "id": 1})));
        }
        response.delete(&items, row(json!({"order_id": 1, "id": 1})));
        let (_, payload) = response.into_cloud_storage();
        let expected = serde_json::to_vec(&payload).unwrap();
        let writer = PayloadWriter::from_payload(payload).unwrap();
        assert_eq!(writer.len(), expected.len());
        assert_eq!(writer.row_count(), 6001);
        let body = writer.finish();
        assert!(body.chunks().len() > 3, "large tables span several chunks");
        assert_eq!(body.len() as usize, expected.len());
        assert_eq!(body.to_vec(), expected);
    }

    #[test]
    fn empty_and_declared_tables_match_serde() {
        assert_eq!(
            PayloadWriter::new().finish().to_vec(),
            br#"{"insert":{},"delete":{}}"#
        );
        let mut writer = PayloadWriter::new();
        writer.declare_insert("a");
        writer.declare_delete("b");
        writer.soft_delete("b");
        writer.soft_delete("c");
        let len = writer.len();
        let bytes = writer.finish().to_vec();
        assert_eq!(
            bytes,
            br#"{"insert":{"a":[]},"delete":{"b":[]},"softDelete":["b","c"]}"#
        );
        assert_eq!(len, bytes.len());
    }

    #[test]
    fn len_grows_by_what_each_push_reports() {
        let mut writer = PayloadWriter::new();
        let mut total = writer.len();
        let first = writer.insert("t", &row(json!({"id": 1}))).unwrap();
        // A new table adds its framing (`"t":[` … `]`) on top of the row.
        assert_eq!(writer.len(), total + first + r#""t":[]"#.len());
        total = writer.len();
        let second = writer.insert("t", &row(json!({"id": 2}))).unwrap();
        assert_eq!(second, r#",{"id":2}"#.len());
        assert_eq!(writer.len(), total + second);
    }
}
