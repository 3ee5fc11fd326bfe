//! Where rows go: serialized once, straight into per-table buffers, then into the response.
//!
//! [`Payload`] holds the rows of one invocation as serialized JSON text and the `schema`/`softDelete` entries; it
//! knows its exact size, which is how the byte budget is measured. The first table that gets a row is written in
//! place, straight into the buffer that becomes the response (`{"insert":{"<table>":[…`); other tables and deletes
//! go to small side buffers appended at the end, so the rows are never held twice. (Key order in the body —
//! `insert`, `delete`, `softDelete`, `schema`, `state`, `hasMore` — does not matter to JSON readers.) A [`Sink`]
//! decides where the payload ends up and how much room is left:
//!
//! - [`Direct`]: everything in the response body; the budget covers the whole body, state included.
//! - [`CloudStorage`]: `{"insert":…,"delete":…,"softDelete":…}` goes to the S3 object
//!   ([`Payload::take_object`]) and the body keeps only `state`, `schema`, `hasMore` ([`write_body`] with
//!   `rows: None`); its budget covers the object only ([`object_budget`]). A failed
//!   upload fails the call, so the state does not advance.
//!
//! [`for_request`] picks the sink for a request.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use std::time::Instant;

use bytes::Bytes;

use crate::budget::MAX_BYTE_BUDGET;
use crate::error::{Error, Result};
use crate::lambda::Invocation;
use crate::protocol::{Request, Row, Table, TableSchema};
use crate::storage::{CloudStorage, ObjectBody, S3Client, object_budget};

/// Bytes of the fixed JSON framing of a body (`{"state":…,"insert":{},…,"hasMore":false}`), rounded up.
pub const FRAMING_BYTES: usize = 96;

/// A boxed future, for object-safe async sinks.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The destination of one invocation's rows.
pub trait Sink: Send + Sync {
    /// Bytes still allowed for rows, given the payload so far and the size of the serialized state.
    fn room(&self, payload: &Payload, state_bytes: usize) -> usize;

    /// Bytes to reserve for the rows written in place (address space only; untouched pages cost no memory).
    fn capacity_hint(&self) -> usize {
        0
    }

    /// Writes the payload where it belongs and returns the response body.
    fn finish<'a>(
        &'a self,
        payload: Payload,
        state: &'a Map<String, Value>,
        has_more: bool,
    ) -> BoxFuture<'a, Result<Box<RawValue>>>;
}

/// The sink for a request: [`Direct`] (with `budget`), or [`CloudStorage`] when the request carries `bucket` and
/// `file` (with the object budget of the function's memory and a client made by `s3`, called only then).
pub fn for_request(
    request: &Request,
    budget: usize,
    invocation: &Invocation,
    s3: impl FnOnce() -> S3Client,
) -> Box<dyn Sink> {
    if let Some((bucket, key)) = request.cloud_storage() {
        return Box::new(CloudStorage::new(
            s3(),
            bucket,
            key,
            object_budget(invocation.memory_mb),
            invocation.remaining().map(|left| Instant::now() + left),
        ));
    }
    Box::new(Direct {
        budget: budget.min(MAX_BYTE_BUDGET),
    })
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

    fn capacity_hint(&self) -> usize {
        self.budget
    }

    fn finish<'a>(
        &'a self,
        payload: Payload,
        state: &'a Map<String, Value>,
        has_more: bool,
    ) -> BoxFuture<'a, Result<Box<RawValue>>> {
        Box::pin(async move {
            let schema = payload.schema_json();
            let mut out = payload.into_open_object();
            out.extend_from_slice(b",\"schema\":");
            out.extend_from_slice(&schema);
            out.extend_from_slice(b",\"state\":");
            serde_json::to_writer(&mut out, state)
                .map_err(|e| Error::Declaration(format!("state could not be serialized: {e}")))?;
            out.extend_from_slice(has_more_text(has_more));
            let text = String::from_utf8(out)
                .map_err(|_| Error::Declaration("response is not UTF-8".into()))?;
            RawValue::from_string(text)
                .map_err(|e| Error::Declaration(format!("response is not JSON: {e}")))
        })
    }
}

/// Writes a response body: `state`, the rows when `rows` is given (a copy: [`Direct`] writes them in place
/// instead), `schema` and `hasMore`. With `rows: None` this is the `CLOUD_STORAGE` body.
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
    out.extend_from_slice(has_more_text(has_more));
    Ok(())
}

fn has_more_text(has_more: bool) -> &'static [u8] {
    if has_more {
        b",\"hasMore\":true}"
    } else {
        b",\"hasMore\":false}"
    }
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
    /// `{"insert":{"<head table>":[` and that table's rows: the start of the response, written in place.
    head: Vec<u8>,
    head_table: Option<String>,
    head_rows: usize,
    capacity: usize,
    tables: BTreeMap<String, TableRows>,
    schema: BTreeMap<String, TableSchema>,
    soft: BTreeSet<String>,
    bytes: usize,
    schema_bytes: usize,
}

impl Payload {
    /// A payload whose in-place buffer reserves `capacity` bytes when the first row arrives.
    pub fn with_capacity(capacity: usize) -> Self {
        Payload {
            capacity,
            ..Payload::default()
        }
    }

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
        if kind == RowKind::Insert && self.head_table.is_none() {
            self.head.reserve(self.capacity.max(row.len() + 64));
            self.head.extend_from_slice(b"{\"insert\":{");
            write_string(&mut self.head, table);
            self.head.extend_from_slice(b":[");
            self.head_table = Some(table.to_owned());
        }
        let (buf, count) = if kind == RowKind::Insert && self.head_table.as_deref() == Some(table) {
            (&mut self.head, &mut self.head_rows)
        } else {
            let entry = self.tables.entry(table.to_owned()).or_default();
            match kind {
                RowKind::Insert => (&mut entry.insert, &mut entry.inserts),
                RowKind::Delete => (&mut entry.delete, &mut entry.deletes),
            }
        };
        if *count == 0 {
            // `"name":[` … `]` plus a separating comma.
            self.bytes += table.len() + 6;
        } else {
            buf.push(b',');
            self.bytes += 1;
        }
        buf.extend_from_slice(row);
        *count += 1;
        self.bytes += row.len();
    }

    /// Serializes and appends a row.
    pub fn push(&mut self, table: &str, kind: RowKind, row: &Row) {
        let mut text = Vec::with_capacity(256);
        // A `Map<String, Value>` always serializes.
        let _ = serde_json::to_writer(&mut text, row);
        self.push_serialized(table, kind, &text);
    }

    /// Exact bytes of the rows and their framing (beyond `{"insert":{},"delete":{}}`).
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// An upper bound of the `schema` and `softDelete` text.
    pub fn schema_bytes(&self) -> usize {
        self.schema_bytes + 16
    }

    /// Number of rows (inserts and deletes).
    pub fn rows(&self) -> usize {
        self.head_rows
            + self
                .tables
                .values()
                .map(|t| t.inserts + t.deletes)
                .sum::<usize>()
    }

    /// Rows per table (inserts plus deletes), for the summary log line.
    pub fn rows_per_table(&self) -> BTreeMap<&str, usize> {
        let mut out: BTreeMap<&str, usize> = self
            .tables
            .iter()
            .map(|(name, t)| (name.as_str(), t.inserts + t.deletes))
            .collect();
        if let Some(head) = &self.head_table {
            *out.entry(head.as_str()).or_default() += self.head_rows;
        }
        out
    }

    /// The `schema` object as JSON.
    pub fn schema_json(&self) -> Vec<u8> {
        serde_json::to_vec(&self.schema).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// `{"insert":{…},"delete":{…}}` plus `"softDelete":[…]` when a declared table uses soft deletes: what a
    /// `CLOUD_STORAGE` object holds.
    pub fn into_object(self) -> Vec<u8> {
        let mut out = self.into_open_object();
        out.push(b'}');
        out
    }

    /// The object without its closing brace, so that a body can go on after it. Side buffers are freed as they
    /// are copied.
    fn into_open_object(mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.head);
        let mut first = self.head_table.is_none();
        if first {
            out.extend_from_slice(b"{\"insert\":{");
        } else {
            out.push(b']');
        }
        for (name, rows) in &mut self.tables {
            if rows.inserts > 0 {
                write_array(&mut out, &mut first, name, &rows.insert);
                rows.insert = Vec::new();
            }
        }
        out.extend_from_slice(b"},\"delete\":{");
        let mut first = true;
        for (name, rows) in &self.tables {
            if rows.deletes > 0 {
                write_array(&mut out, &mut first, name, &rows.delete);
            }
        }
        out.push(b'}');
        if !self.soft.is_empty() {
            out.extend_from_slice(b",\"softDelete\":");
            let _ = serde_json::to_writer(&mut out, &self.soft);
        }
        out
    }

    /// Moves the rows out as a `CLOUD_STORAGE` object (`{"insert":…,"delete":…,"softDelete":…}`); the side tables
    /// are appended to the in-place buffer, which becomes the object without a copy. The payload keeps its schema
    /// (for the body) and no rows.
    pub fn take_object(&mut self) -> ObjectBody {
        let rows = Payload {
            head: std::mem::take(&mut self.head),
            head_table: self.head_table.take(),
            head_rows: std::mem::take(&mut self.head_rows),
            tables: std::mem::take(&mut self.tables),
            soft: self.soft.clone(),
            ..Payload::default()
        };
        self.bytes = 0;
        ObjectBody::from_chunks(vec![Bytes::from(rows.into_object())])
    }

    /// Writes `"insert":{…},"delete":{…}` (and `,"softDelete":[…]`) without consuming the payload (a copy).
    pub fn write_rows(&self, out: &mut Vec<u8>) {
        let copy = Payload {
            head: self.head.clone(),
            head_table: self.head_table.clone(),
            head_rows: self.head_rows,
            tables: self
                .tables
                .iter()
                .map(|(name, t)| {
                    let rows = TableRows {
                        insert: t.insert.clone(),
                        inserts: t.inserts,
                        delete: t.delete.clone(),
                        deletes: t.deletes,
                    };
                    (name.clone(), rows)
                })
                .collect(),
            soft: self.soft.clone(),
            ..Payload::default()
        };
        let object = copy.into_open_object();
        // Without the opening brace of the object.
        out.extend_from_slice(&object[1..]);
    }

    /// Writes the `schema` object.
    pub fn write_schema(&self, out: &mut Vec<u8>) {
        let _ = serde_json::to_writer(&mut *out, &self.schema);
    }
}

/// Writes `"name":[rows]` into an object, after a comma unless it is the object's `first` member.
fn write_array(out: &mut Vec<u8>, first: &mut bool, name: &str, rows: &[u8]) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_string(out, name);
    out.extend_from_slice(b":[");
    out.extend_from_slice(rows);
    out.push(b']');
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
            r#"{"insert":{},"delete":{},"schema":{},"state":{},"hasMore":false}"#
        );
        let mut bare = Vec::new();
        write_body(&mut bare, &Map::new(), &Payload::default(), None, true).unwrap();
        assert_eq!(bare, br#"{"state":{},"schema":{},"hasMore":true}"#);
    }

    #[test]
    fn the_object_is_the_rows_part_of_a_direct_body() {
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
        let applicant = |id| row(json!({"loan_application_id": "la_1", "id": id}));
        payload.push("applicants", RowKind::Insert, &applicant("ap_1"));
        payload.push("applicants", RowKind::Insert, &applicant("ap_2"));
        payload.push(
            "loan_applications",
            RowKind::Delete,
            &row(json!({"id": "la_0"})),
        );
        let mut expected = b"{".to_vec();
        payload.write_rows(&mut expected);
        expected.push(b'}');
        let object = payload.take_object();
        assert_eq!(
            String::from_utf8(object.to_vec()).unwrap(),
            String::from_utf8(expected).unwrap()
        );
        assert_eq!(payload.rows(), 0);
        let mut schema = Vec::new();
        payload.write_schema(&mut schema);
        assert!(String::from_utf8(schema).unwrap().contains("applicants"));
        let empty = Payload::default().take_object().to_vec();
        assert_eq!(empty, br#"{"insert":{},"delete":{}}"#);
    }

    #[test]
    fn a_request_with_bucket_and_file_gets_the_cloud_storage_sink() {
        let invocation = Invocation::with_timeout("r", std::time::Duration::from_secs(60));
        let direct = Request::from_value(json!({"state": {}})).unwrap();
        let sink = for_request(&direct, 10_000, &invocation, || {
            unreachable!("no S3 client without a bucket")
        });
        assert!(sink.room(&Payload::default(), 0) < 10_000);
        let request =
            Request::from_value(json!({"state": {}, "bucket": "b", "file": "k.json"})).unwrap();
        let config = crate::storage::S3Config::from_vars(|_| None);
        let sink = for_request(&request, 10_000, &invocation, || {
            S3Client::new(reqwest::Client::new(), config)
        });
        let room = sink.room(&Payload::default(), 0);
        assert!(room > 60 * 1024 * 1024, "the object budget applies: {room}");
    }
}
