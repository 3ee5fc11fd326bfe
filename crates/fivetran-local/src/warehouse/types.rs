//! Column types of the warehouse: inference from JSON values, widening, and conversion to and from SQLite values.
//!
//! The declared SQLite type names are chosen so that `sqlite3`, Python and DuckDB's sqlite scanner all read them
//! sensibly: `BIGINT` (not `INTEGER`, which would make a one-column primary key an alias of the rowid), `DOUBLE`,
//! `BOOLEAN` (stored 0/1), `TIMESTAMP` (RFC 3339 text as the function sent it), `TEXT` and `JSON` (nested values as
//! JSON text). A column seen only with `null` so far has no declared type ([`ColumnType::Unknown`]) and takes the
//! type of its first non-null value.

use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::Value;

/// The type of one warehouse column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Only `null` seen so far.
    Unknown,
    /// `true`/`false`, stored as 0/1.
    Boolean,
    /// A signed 64-bit integer.
    Integer,
    /// A double-precision number.
    Double,
    /// An RFC 3339 timestamp, stored as the text the function sent.
    Timestamp,
    /// Free text; every other type widens to it.
    Text,
    /// A nested array or object, stored as JSON text.
    Json,
}

impl ColumnType {
    /// The declared SQLite type name.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Unknown => "",
            ColumnType::Boolean => "BOOLEAN",
            ColumnType::Integer => "BIGINT",
            ColumnType::Double => "DOUBLE",
            ColumnType::Timestamp => "TIMESTAMP",
            ColumnType::Text => "TEXT",
            ColumnType::Json => "JSON",
        }
    }

    /// The type for a declared SQLite type name (as `PRAGMA table_info` reports it).
    pub fn from_sql(declared: &str) -> Self {
        match declared.to_ascii_uppercase().as_str() {
            "" => ColumnType::Unknown,
            "BOOLEAN" => ColumnType::Boolean,
            "BIGINT" | "INTEGER" | "INT" => ColumnType::Integer,
            "DOUBLE" | "REAL" | "FLOAT" => ColumnType::Double,
            "TIMESTAMP" => ColumnType::Timestamp,
            "JSON" => ColumnType::Json,
            _ => ColumnType::Text,
        }
    }

    /// A lower-case name for summaries.
    pub fn name(self) -> &'static str {
        match self {
            ColumnType::Unknown => "unknown",
            ColumnType::Boolean => "boolean",
            ColumnType::Integer => "integer",
            ColumnType::Double => "double",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Text => "text",
            ColumnType::Json => "json",
        }
    }
}

/// The type a JSON value suggests (`Unknown` for `null`). Integers beyond `i64` are kept exact as text.
pub fn infer(value: &Value) -> ColumnType {
    match value {
        Value::Null => ColumnType::Unknown,
        Value::Bool(_) => ColumnType::Boolean,
        Value::Number(n) if n.is_i64() => ColumnType::Integer,
        Value::Number(n) if n.is_u64() => ColumnType::Text,
        Value::Number(_) => ColumnType::Double,
        Value::String(s) if is_timestamp(s) => ColumnType::Timestamp,
        Value::String(_) => ColumnType::Text,
        Value::Array(_) | Value::Object(_) => ColumnType::Json,
    }
}

/// Whether a string is an RFC 3339 timestamp with a date, a time and an offset.
pub fn is_timestamp(text: &str) -> bool {
    text.len() >= 20 && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// The narrowest type that holds values of both types.
pub fn widen(a: ColumnType, b: ColumnType) -> ColumnType {
    use ColumnType::*;
    match (a, b) {
        (x, y) if x == y => x,
        (Unknown, x) | (x, Unknown) => x,
        (Integer, Double) | (Double, Integer) => Double,
        _ => Text,
    }
}

/// The SQL expression that converts the column `quoted` from type `from` to the wider type `to` in a rebuild.
pub fn widening_expression(quoted: &str, from: ColumnType, to: ColumnType) -> String {
    match (from, to) {
        (a, b) if a == b => quoted.to_owned(),
        (ColumnType::Unknown, _) => quoted.to_owned(),
        (ColumnType::Integer, ColumnType::Double) => format!("CAST({quoted} AS REAL)"),
        (ColumnType::Boolean, ColumnType::Text) => format!(
            "CASE WHEN {quoted} IS NULL THEN NULL WHEN {quoted} THEN 'true' ELSE 'false' END"
        ),
        (_, ColumnType::Text) => format!("CAST({quoted} AS TEXT)"),
        _ => quoted.to_owned(),
    }
}

/// The SQLite value for a JSON value in a column of type `column` (which [`widen`] made wide enough).
pub fn to_sql(value: &Value, column: ColumnType) -> SqlValue {
    match (value, column) {
        (Value::Null, _) => SqlValue::Null,
        (Value::Bool(b), ColumnType::Boolean | ColumnType::Integer) => {
            SqlValue::Integer(i64::from(*b))
        }
        (Value::Number(n), ColumnType::Integer) if n.is_i64() => {
            SqlValue::Integer(n.as_i64().unwrap_or_default())
        }
        (Value::Number(n), ColumnType::Double) => SqlValue::Real(n.as_f64().unwrap_or(f64::NAN)),
        (Value::String(s), _) => SqlValue::Text(s.clone()),
        (Value::Number(n), _) => SqlValue::Text(n.to_string()),
        (Value::Bool(b), _) => SqlValue::Text(b.to_string()),
        (nested, _) => SqlValue::Text(nested.to_string()),
    }
}

/// The JSON value of a stored SQLite value in a column of type `column`.
pub fn from_sql(value: ValueRef<'_>, column: ColumnType) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) if column == ColumnType::Boolean => Value::Bool(i != 0),
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(bytes) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            if column == ColumnType::Json {
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            } else {
                Value::String(text)
            }
        }
        ValueRef::Blob(bytes) => Value::String(String::from_utf8_lossy(bytes).into_owned()),
    }
}

/// Quotes an SQL identifier: wraps it in double quotes and doubles any double quote inside.
pub fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inference_covers_every_json_kind() {
        assert_eq!(infer(&json!(null)), ColumnType::Unknown);
        assert_eq!(infer(&json!(true)), ColumnType::Boolean);
        assert_eq!(infer(&json!(-3)), ColumnType::Integer);
        assert_eq!(infer(&json!(u64::MAX)), ColumnType::Text);
        assert_eq!(infer(&json!(1.5)), ColumnType::Double);
        assert_eq!(infer(&json!("2026-03-01T09:30:00Z")), ColumnType::Timestamp);
        assert_eq!(
            infer(&json!("2026-03-01T09:30:00.5+02:00")),
            ColumnType::Timestamp
        );
        assert_eq!(infer(&json!("2026-03-01")), ColumnType::Text);
        assert_eq!(infer(&json!({"a": 1})), ColumnType::Json);
        assert_eq!(infer(&json!([1])), ColumnType::Json);
    }

    #[test]
    fn widening_is_integer_to_double_else_text() {
        use ColumnType::*;
        assert_eq!(widen(Unknown, Boolean), Boolean);
        assert_eq!(widen(Integer, Double), Double);
        assert_eq!(widen(Double, Integer), Double);
        assert_eq!(widen(Boolean, Integer), Text);
        assert_eq!(widen(Timestamp, Text), Text);
        assert_eq!(widen(Json, Integer), Text);
        for t in [Boolean, Integer, Double, Timestamp, Text, Json] {
            assert_eq!(ColumnType::from_sql(t.sql()), t);
        }
    }

    #[test]
    fn values_round_trip_through_their_column_type() {
        for value in [
            json!(true),
            json!(-7),
            json!(2.5),
            json!("x"),
            json!({"a": [1, 2]}),
        ] {
            let column = infer(&value);
            let stored = to_sql(&value, column);
            let back = from_sql(ValueRef::from(&stored), column);
            assert_eq!(back, value);
        }
        assert_eq!(to_sql(&json!(3), ColumnType::Double), SqlValue::Real(3.0));
        assert_eq!(
            to_sql(&json!(false), ColumnType::Text),
            SqlValue::Text("false".into())
        );
    }

    #[test]
    fn identifiers_are_quoted_safely() {
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote("drop table x; --"), "\"drop table x; --\"");
    }
}
