//! Where rows go: serialized once, straight into per-table buffers, then into the response.
//!
//! [`Payload`] holds the rows of one invocation as serialized JSON text per table (`insert`, `delete`) and the
//! `schema`/`softDelete` entries; it knows its exact size, which is how the byte budget is measured. A [`Sink`]
//! decides where the payload ends up and how much room is left:
//!
//! - [`Direct`]: everything in the response body; the budget covers the whole body, state included.
//! - A `CLOUD_STORAGE` sink (to be added) would write `{"insert":…,"delete":…,"softDelete":…}` to the S3 object
//!   with [`Payload::write_rows`] and return a body with only `state`, `schema`, `hasMore` through
//!   [`write_body`] with `rows: None`; its budget covers the object only.
//!
//! [`for_request`] picks the sink for a request.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::protocol::{MAX_RESPONSE_BYTES, Request, Row, Table, TableSchema};

/// Bytes of the fixed JSON framing of a body (`{"state":…,"insert":{},…,"hasMore":false}`), rounded up.
pub const FRAMING_BYTES: usize = 96;

/// A boxed future, for object-safe async sinks.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The destination of one invocation's rows.
pub trait Sink: Send + Sync {
    /// Bytes still allowed for rows, given the payload so far and the size of the serialized state.
    fn room(&self, payload: &Payload, state_bytes: usize) -> usize;

    /// Writes the payload where it belongs and returns the response body.
    fn finish<'a>(
        &'a self,
        payload: Payload,
        state: &'a Map<String, Value>,
        has_more: bool,
    ) -> BoxFuture<'a, Result<Box<RawValue>>>;
}

/// The sink for a request: [`Direct`] unless the request asks for `CLOUD_STORAGE`.
pub fn for_request(request: &Request, budget: usize) -> Result<Box<dyn Sink>> {
    if let Some((bucket, key)) = request.cloud_storage() {
        return Err(Error::Storage {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            reason: "the CLOUD_STORAGE sync method is not supported by this build yet".into(),
        });
    }
    Ok(Box::new(Direct {
        budget: budget.min(MAX_RESPONSE_BYTES),
    }))
}

/// Rows in the response body; the budget covers the whole body.
#[derive(Debug, Clone, Copy)]
pub struct Direct {
    /// Upper bound of the body in bytes.
    pub budget: usize,
}

impl Sink for Direct {
    fn room(&self, payload: &Payload, state_bytes: usize) -> usize {
        self.budget
            .saturating_sub(payload.bytes() + payload.schema_bytes() + state_bytes + FRAMING_BYTES)
    }

    fn finish<'a>(
        &'a self,
        payload: Payload,
        state: &'a Map<String, Value>,
        has_more: bool,
    ) -> BoxFuture<'a, Result<Box<RawValue>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(payload.bytes() + payload.schema_bytes() + 1024);
            write_body(&mut out, state, &payload, Some(&payload), has_more)?;
            drop(payload);
            let text = String::from_utf8(out)
                .map_err(|_| Error::Declaration("response is not UTF-8".into()))?;
            RawValue::from_string(text)
                .map_err(|e| Error::Declaration(format!("response is not JSON: {e}")))
        })
    }
}

/// Writes a response body: `state`, then the rows when `rows` is given, then `schema` and `hasMore`.
pub fn write_body(
    out: &mut Vec<u8>,
    state: &Map<String, Value>,
    schema: &Payload,
    rows: Option<&Payload>,
    has_more: bool,
) -> Result<()> {
    out.extend_from_slice(b"{\"state\":");
    serde_json::to_writer(&mut *out, state)
        .map_err(|e| Error::Declaration(format!("state could not be serialized: {e}")))?;
    if let Some(rows) = rows {
        out.push(b',');
        rows.write_rows(out);
    }
    out.extend_from_slice(b",\"schema\":");
    schema.write_schema(out);
    out.extend_from_slice(if has_more {
        b",\"hasMore\":true}"
    } else {
        b",\"hasMore\":false}"
    });
    Ok(())
}

/// Serialized rows of one table.
#[derive(Debug, Default)]
struct TableRows {
    insert: Vec<u8>,
    inserts: usize,
    delete: Vec<u8>,
    deletes: usize,
}

/// Kinds of row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// An inserted (upserted) row.
    Insert,
    /// A deleted row.
    Delete,
}

/// The rows of one invocation, serialized, with their tables' schema.
#[derive(Debug, Default)]
pub struct Payload {
    tables: BTreeMap<String, TableRows>,
    schema: BTreeMap<String, TableSchema>,
    soft: BTreeSet<String>,
    bytes: usize,
    schema_bytes: usize,
}

impl Payload {
    /// Declares a table: its `schema` entry (and `softDelete` membership) is written even without rows.
    pub fn declare(&mut self, table: &Table) {
        if table.soft_delete && !self.soft.contains(&table.name) {
            self.schema_bytes += table.name.len() + 3;
            self.soft.insert(table.name.clone());
        }
        if self.schema.contains_key(&table.name) {
            return;
        }
        self.schema_bytes +=
            table.name.len() + 24 + table.primary_key.iter().map(|c| c.len() + 3).sum::<usize>();
        self.schema.insert(table.name.clone(), table.schema());
    }

    /// Appends a row already serialized as a JSON object (`row`), of a declared table.
    pub fn push_serialized(&mut self, table: &str, kind: RowKind, row: &[u8]) {
        let entry = self.tables.entry(table.to_owned()).or_default();
        let (buf, count) = match kind {
            RowKind::Insert => (&mut entry.insert, &mut entry.inserts),
            RowKind::Delete => (&mut entry.delete, &mut entry.deletes),
        };
        let before = buf.len();
        if *count == 0 {
            // `"name":[` … `]` plus a separating comma.
            self.bytes += table.len() + 6;
        } else {
            buf.push(b',');
        }
        buf.extend_from_slice(row);
        *count += 1;
        self.bytes += buf.len() - before;
    }

    /// Serializes and appends a row.
    pub fn push(&mut self, table: &str, kind: RowKind, row: &Row) {
        let mut text = Vec::with_capacity(256);
        // A `Map<String, Value>` always serializes.
        let _ = serde_json::to_writer(&mut text, row);
        self.push_serialized(table, kind, &text);
    }

    /// Exact bytes of the rows and their framing (what `write_rows` adds beyond `{"insert":{},"delete":{}}`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// An upper bound of the `schema` and `softDelete` text.
    pub fn schema_bytes(&self) -> usize {
        self.schema_bytes + 16
    }

    /// Number of rows (inserts and deletes).
    pub fn rows(&self) -> usize {
        self.tables.values().map(|t| t.inserts + t.deletes).sum()
    }

    /// Rows per table (inserts plus deletes), for the summary log line.
    pub fn rows_per_table(&self) -> BTreeMap<&str, usize> {
        self.tables
            .iter()
            .map(|(name, t)| (name.as_str(), t.inserts + t.deletes))
            .collect()
    }

    /// Writes `"insert":{…},"delete":{…}` and, when a declared table uses them, `,"softDelete":[…]`.
    pub fn write_rows(&self, out: &mut Vec<u8>) {
        for (label, kind) in [("insert", RowKind::Insert), ("delete", RowKind::Delete)] {
            if kind == RowKind::Delete {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(label.as_bytes());
            out.extend_from_slice(b"\":{");
            let mut first = true;
            for (name, rows) in &self.tables {
                let (buf, count) = match kind {
                    RowKind::Insert => (&rows.insert, rows.inserts),
                    RowKind::Delete => (&rows.delete, rows.deletes),
                };
                if count == 0 {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_string(out, name);
                out.extend_from_slice(b":[");
                out.extend_from_slice(buf);
                out.push(b']');
            }
            out.push(b'}');
        }
        if !self.soft.is_empty() {
            out.extend_from_slice(b",\"softDelete\":");
            let _ = serde_json::to_writer(&mut *out, &self.soft);
        }
    }

    /// Writes the `schema` object.
    pub fn write_schema(&self, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, &self.schema);
    }
}

fn write_string(out: &mut Vec<u8>, text: &str) {
    let _ = serde_json::to_writer(&mut *out, text);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Response;
    use serde_json::json;

    fn row(value: Value) -> Row {
        value.as_object().cloned().unwrap()
    }

    #[tokio::test]
    async fn the_body_is_a_valid_response_and_its_size_is_predicted() {
        let apps = Table::new("loan_applications", &["id"]).soft_deletes();
        let applicants = Table::new("applicants", &["loan_application_id", "id"]);
        let mut payload = Payload::default();
        payload.declare(&apps);
        payload.declare(&applicants);
        payload.push(
            "loan_applications",
            RowKind::Insert,
            &row(json!({"id": "la_1", "n": 1})),
        );
        payload.push(
            "loan_applications",
            RowKind::Insert,
            &row(json!({"id": "la_2"})),
        );
        payload.push(
            "applicants",
            RowKind::Insert,
            &row(json!({"loan_application_id": "la_1", "id": "ap_1"})),
        );
        payload.push(
            "loan_applications",
            RowKind::Delete,
            &row(json!({"id": "la_0"})),
        );
        let state = row(json!({"version": 1, "streams": {}}));
        let state_bytes = serde_json::to_string(&state).unwrap().len();
        let sink = Direct { budget: 100_000 };
        let room = sink.room(&payload, state_bytes);
        let body = sink.finish(payload, &state, true).await.unwrap();
        assert!(
            body.get().len() <= 100_000 - room,
            "{} > {}",
            body.get().len(),
            100_000 - room
        );
        let response: Response = serde_json::from_str(body.get()).unwrap();
        assert_eq!(response.inserts()["loan_applications"].len(), 2);
        assert_eq!(response.deletes()["loan_applications"].len(), 1);
        assert!(response.soft_delete_tables().contains("loan_applications"));
        assert_eq!(
            response.schema()["applicants"].primary_key,
            vec!["loan_application_id", "id"]
        );
        assert!(response.has_more());
    }

    #[tokio::test]
    async fn an_empty_payload_is_the_minimal_body() {
        let sink = Direct { budget: 10_000 };
        let body = sink
            .finish(Payload::default(), &Map::new(), false)
            .await
            .unwrap();
        assert_eq!(
            body.get(),
            r#"{"state":{},"insert":{},"delete":{},"schema":{},"hasMore":false}"#
        );
    }

    #[test]
    fn cloud_storage_is_refused_clearly_until_its_sink_exists() {
        let request =
            Request::from_value(json!({"state": {}, "bucket": "b", "file": "k.json"})).unwrap();
        let error = for_request(&request, 1000).err().unwrap().to_string();
        assert!(error.contains("s3://b/k.json"), "{error}");
    }
}
