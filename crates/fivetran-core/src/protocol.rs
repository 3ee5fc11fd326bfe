//! The wire types of Fivetran's function protocol (`shared/docs/fivetran-protocol.md`), and nothing else.
//!
//! [`Request`] is decoded field by field so that a malformed request gets an error naming the wrong field:
//! `state` missing or `null` reads as `{}`, `secrets` may hold nested JSON, `sync_id` is a free string, and unknown
//! top-level keys are kept in [`Request::extra`]. [`Response`] can only gain rows through [`Table`], which carries the
//! primary key, so every table in `insert`/`delete` has a `schema` entry by construction; `hasMore` is always a JSON
//! boolean and `softDelete` is omitted when no table uses it.
//!
//! Numbers: `serde_json` keeps every integer that fits `i64` or `u64` exact (so state cursors above 2^53 round-trip).
//! An integer beyond `u64::MAX` (or below `i64::MIN`) is read as the nearest `f64` and written back in exponent
//! form; this framework never writes such numbers into its own state.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::secrets::Secrets;

/// One row: column name → JSON value.
pub type Row = Map<String, Value>;

/// Lambda's limit on a synchronous response, as AWS reports it when exceeded.
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// One invocation's request, as Fivetran sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    /// Informational caller text; never parsed.
    pub agent: Option<String>,
    /// What the previous successful call returned (`{}` on a first sync).
    pub state: Map<String, Value>,
    /// The connection's setup-form values, redacted in every format.
    pub secrets: Secrets,
    /// Fivetran's sync id, kept as a free string.
    pub sync_id: Option<String>,
    /// `true` when Fivetran runs the connection's setup test.
    pub setup_test: bool,
    /// The `CLOUD_STORAGE` bucket, present together with [`Request::file`].
    pub bucket: Option<String>,
    /// The `CLOUD_STORAGE` object key.
    pub file: Option<String>,
    /// Every other top-level key, kept as sent.
    pub extra: Map<String, Value>,
}

impl Request {
    /// Decodes a request from raw bytes; errors name the wrong field.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| Error::invalid_request("(body)", format!("is not valid JSON: {e}")))?;
        Self::from_value(value)
    }

    /// Decodes a request from a JSON value; errors name the wrong field.
    pub fn from_value(value: Value) -> Result<Self> {
        let Value::Object(mut object) = value else {
            return Err(Error::invalid_request(
                "(body)",
                format!("must be a JSON object, found {}", kind(&value)),
            ));
        };
        let state = match object.remove("state") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(state)) => state,
            Some(other) => {
                return Err(Error::invalid_request(
                    "state",
                    format!("must be a JSON object, found {}", kind(&other)),
                ));
            }
        };
        let secrets = match object.remove("secrets") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(secrets)) => secrets,
            Some(other) => {
                return Err(Error::invalid_request(
                    "secrets",
                    format!("must be a JSON object, found {}", kind(&other)),
                ));
            }
        };
        let agent = optional_text(&mut object, "agent")?;
        let sync_id = optional_text(&mut object, "sync_id")?;
        let setup_test = match object.remove("setup_test") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(other) => {
                return Err(Error::invalid_request(
                    "setup_test",
                    format!("must be a boolean, found {}", kind(&other)),
                ));
            }
        };
        let bucket = optional_text(&mut object, "bucket")?;
        let file = optional_text(&mut object, "file")?;
        match (&bucket, &file) {
            (Some(_), None) => {
                return Err(Error::invalid_request(
                    "file",
                    "is required when `bucket` is present",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::invalid_request(
                    "bucket",
                    "is required when `file` is present",
                ));
            }
            _ => {}
        }
        Ok(Request {
            agent,
            state,
            secrets: Secrets::new(secrets),
            sync_id,
            setup_test,
            bucket,
            file,
            extra: object,
        })
    }

    /// The `CLOUD_STORAGE` destination `(bucket, key)`, when Fivetran asked for the S3 sync method.
    pub fn cloud_storage(&self) -> Option<(&str, &str)> {
        Some((self.bucket.as_deref()?, self.file.as_deref()?))
    }

    /// The request as JSON, secrets included: what a caller (fivetran-local, tests) sends on the wire.
    pub fn to_value(&self) -> Value {
        let mut out = Map::new();
        if let Some(agent) = &self.agent {
            out.insert("agent".into(), agent.clone().into());
        }
        out.insert("state".into(), Value::Object(self.state.clone()));
        out.insert(
            "secrets".into(),
            Value::Object(self.secrets.expose_all().clone()),
        );
        if let Some(sync_id) = &self.sync_id {
            out.insert("sync_id".into(), sync_id.clone().into());
        }
        if self.setup_test {
            out.insert("setup_test".into(), true.into());
        }
        if let (Some(bucket), Some(file)) = (&self.bucket, &self.file) {
            out.insert("bucket".into(), bucket.clone().into());
            out.insert("file".into(), file.clone().into());
        }
        for (key, value) in &self.extra {
            out.insert(key.clone(), value.clone());
        }
        Value::Object(out)
    }
}

/// A text field that may be absent or `null`; numbers are accepted as their text (ids are free strings).
fn optional_text(object: &mut Map<String, Value>, field: &str) -> Result<Option<String>> {
    match object.remove(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(Error::invalid_request(
            field,
            format!("must be a string, found {}", kind(&other)),
        )),
    }
}

/// The JSON kind of a value, for error messages (never the value itself: it may be a secret).
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A table's `schema` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableSchema {
    /// The primary-key columns; empty means rows are appended.
    pub primary_key: Vec<String>,
}

/// A destination table: its name, primary key, and whether deletes are soft. Rows enter a [`Response`] only
/// through a `Table`, which is what makes a schema entry for every table certain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// Destination table name.
    pub name: String,
    /// Primary-key columns (empty: append-only).
    pub primary_key: Vec<String>,
    /// Deletes set `_fivetran_deleted` instead of removing the row.
    pub soft_delete: bool,
}

impl Table {
    /// A table with a primary key and hard deletes.
    pub fn new(name: impl Into<String>, primary_key: &[&str]) -> Self {
        Table {
            name: name.into(),
            primary_key: primary_key.iter().map(|c| (*c).to_owned()).collect(),
            soft_delete: false,
        }
    }

    /// The same table with soft deletes.
    pub fn soft_deletes(mut self) -> Self {
        self.soft_delete = true;
        self
    }

    /// The table's `schema` entry.
    pub fn schema(&self) -> TableSchema {
        TableSchema {
            primary_key: self.primary_key.clone(),
        }
    }
}

/// One invocation's response. Fields are private: rows go in through [`Response::insert`] and
/// [`Response::delete`], which record the table's schema.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(try_from = "WireResponse")]
pub struct Response {
    state: Map<String, Value>,
    insert: BTreeMap<String, Vec<Row>>,
    delete: BTreeMap<String, Vec<Row>>,
    soft_delete: BTreeSet<String>,
    schema: BTreeMap<String, TableSchema>,
    has_more: bool,
    rows_in_body: bool,
}

impl Response {
    /// An empty response carrying `state`.
    pub fn new(state: Map<String, Value>, has_more: bool) -> Self {
        Response {
            state,
            insert: BTreeMap::new(),
            delete: BTreeMap::new(),
            soft_delete: BTreeSet::new(),
            schema: BTreeMap::new(),
            has_more,
            rows_in_body: true,
        }
    }

    /// The setup-test answer: the request's state, no rows, `hasMore: false`.
    pub fn setup_test(state: Map<String, Value>) -> Self {
        Response::new(state, false)
    }

    /// Declares a table (its schema entry) without rows.
    pub fn declare(&mut self, table: &Table) {
        self.schema
            .entry(table.name.clone())
            .or_insert_with(|| table.schema());
        if table.soft_delete {
            self.soft_delete.insert(table.name.clone());
        }
    }

    /// Adds an inserted (upserted) row.
    pub fn insert(&mut self, table: &Table, row: Row) {
        self.declare(table);
        self.insert.entry(table.name.clone()).or_default().push(row);
    }

    /// Adds a deleted row (at least the primary-key columns); soft when the table says so.
    pub fn delete(&mut self, table: &Table, row: Row) {
        self.declare(table);
        self.delete.entry(table.name.clone()).or_default().push(row);
    }

    /// Replaces the state.
    pub fn set_state(&mut self, state: Map<String, Value>) {
        self.state = state;
    }

    /// Sets `hasMore`.
    pub fn set_has_more(&mut self, has_more: bool) {
        self.has_more = has_more;
    }

    /// The state Fivetran will send back.
    pub fn state(&self) -> &Map<String, Value> {
        &self.state
    }

    /// Inserted rows by table.
    pub fn inserts(&self) -> &BTreeMap<String, Vec<Row>> {
        &self.insert
    }

    /// Deleted rows by table.
    pub fn deletes(&self) -> &BTreeMap<String, Vec<Row>> {
        &self.delete
    }

    /// Tables whose deletes are soft.
    pub fn soft_delete_tables(&self) -> &BTreeSet<String> {
        &self.soft_delete
    }

    /// Schema entries by table.
    pub fn schema(&self) -> &BTreeMap<String, TableSchema> {
        &self.schema
    }

    /// Whether Fivetran should call again at once.
    pub fn has_more(&self) -> bool {
        self.has_more
    }

    /// Whether the rows travel in this body (`false` for a `CLOUD_STORAGE` response).
    pub fn rows_in_body(&self) -> bool {
        self.rows_in_body
    }

    /// Number of inserted plus deleted rows.
    pub fn row_count(&self) -> usize {
        self.insert.values().map(Vec::len).sum::<usize>()
            + self.delete.values().map(Vec::len).sum::<usize>()
    }

    /// Splits a response for the `CLOUD_STORAGE` method: the body keeps `state`, `schema` and `hasMore`; the
    /// payload (`insert`, `delete`, `softDelete`) goes to the S3 object.
    pub fn into_cloud_storage(mut self) -> (Response, StoragePayload) {
        let payload = StoragePayload {
            insert: std::mem::take(&mut self.insert),
            delete: std::mem::take(&mut self.delete),
            soft_delete: std::mem::take(&mut self.soft_delete),
        };
        self.rows_in_body = false;
        (self, payload)
    }

    /// The serialized response, ready to hand to the Lambda runtime.
    pub fn to_body(&self) -> Result<Box<RawValue>> {
        let text = serde_json::to_string(self)
            .map_err(|e| Error::Declaration(format!("response could not be serialized: {e}")))?;
        RawValue::from_string(text)
            .map_err(|e| Error::Declaration(format!("response is not JSON: {e}")))
    }
}

impl Serialize for Response {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("state", &self.state)?;
        if self.rows_in_body {
            map.serialize_entry("insert", &self.insert)?;
            map.serialize_entry("delete", &self.delete)?;
            if !self.soft_delete.is_empty() {
                map.serialize_entry("softDelete", &self.soft_delete)?;
            }
        }
        map.serialize_entry("schema", &self.schema)?;
        map.serialize_entry("hasMore", &self.has_more)?;
        map.end()
    }
}

/// What a `CLOUD_STORAGE` call writes to `s3://bucket/file`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoragePayload {
    /// Inserted rows by table.
    pub insert: BTreeMap<String, Vec<Row>>,
    /// Deleted rows by table.
    pub delete: BTreeMap<String, Vec<Row>>,
    /// Tables whose deletes are soft; omitted when empty.
    #[serde(
        rename = "softDelete",
        default,
        skip_serializing_if = "BTreeSet::is_empty"
    )]
    pub soft_delete: BTreeSet<String>,
}

/// The response exactly as it travels, before the schema rule is checked.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireResponse {
    state: Map<String, Value>,
    insert: Option<BTreeMap<String, Vec<Row>>>,
    delete: Option<BTreeMap<String, Vec<Row>>>,
    #[serde(rename = "softDelete", default)]
    soft_delete: BTreeSet<String>,
    #[serde(default)]
    schema: BTreeMap<String, TableSchema>,
    #[serde(rename = "hasMore")]
    has_more: bool,
}

impl TryFrom<WireResponse> for Response {
    type Error = String;

    fn try_from(wire: WireResponse) -> std::result::Result<Self, String> {
        let rows_in_body = wire.insert.is_some() || wire.delete.is_some();
        let insert = wire.insert.unwrap_or_default();
        let delete = wire.delete.unwrap_or_default();
        for table in insert
            .keys()
            .chain(delete.keys())
            .chain(wire.soft_delete.iter())
        {
            if !wire.schema.contains_key(table) {
                return Err(format!(
                    "table `{table}` has rows or soft deletes but no `schema` entry"
                ));
            }
        }
        Ok(Response {
            state: wire.state,
            insert,
            delete,
            soft_delete: wire.soft_delete,
            schema: wire.schema,
            has_more: wire.has_more,
            rows_in_body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_always_come_with_a_schema_entry() {
        let table = Table::new("loan_applications", &["id"]).soft_deletes();
        let mut response = Response::new(Map::new(), true);
        response.insert(&table, json!({"id": "la_1"}).as_object().unwrap().clone());
        response.delete(&table, json!({"id": "la_0"}).as_object().unwrap().clone());
        let value = serde_json::to_value(&response).unwrap();
        assert_eq!(
            value["schema"]["loan_applications"]["primary_key"],
            json!(["id"])
        );
        assert_eq!(value["softDelete"], json!(["loan_applications"]));
        assert_eq!(value["hasMore"], json!(true));
    }

    #[test]
    fn soft_delete_is_omitted_when_unused() {
        let value = serde_json::to_value(Response::new(Map::new(), false)).unwrap();
        assert_eq!(
            value,
            json!({"state": {}, "insert": {}, "delete": {}, "schema": {}, "hasMore": false})
        );
    }

    #[test]
    fn a_response_without_schema_does_not_decode() {
        let err = serde_json::from_value::<Response>(
            json!({"state": {}, "insert": {"t": [{"id": 1}]}, "delete": {}, "schema": {}, "hasMore": false}),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("table `t` has rows or soft deletes but no `schema` entry"),
            "{err}"
        );
    }

    #[test]
    fn has_more_as_a_string_does_not_decode() {
        let err = serde_json::from_value::<Response>(
            json!({"state": {}, "schema": {}, "hasMore": "true"}),
        );
        assert!(err.is_err());
    }

    #[test]
    fn cloud_storage_body_keeps_only_state_schema_and_has_more() {
        let table = Table::new("t", &["id"]);
        let mut response = Response::new(json!({"c": 1}).as_object().unwrap().clone(), true);
        response.insert(&table, json!({"id": 1}).as_object().unwrap().clone());
        let (body, payload) = response.into_cloud_storage();
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(
            value,
            json!({"state": {"c": 1}, "schema": {"t": {"primary_key": ["id"]}}, "hasMore": true})
        );
        assert_eq!(
            serde_json::to_value(&payload).unwrap(),
            json!({"insert": {"t": [{"id": 1}]}, "delete": {}})
        );
    }
}
