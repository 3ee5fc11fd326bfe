//! Turning one API record into rows: child tables, hook, flattening, constants, key checks.
//!
//! The order is fixed and documented in [`crate::connector`]: children are split out first (they need the
//! parent's key as sent by the API), then the hook runs, then nested objects are flattened and constant columns
//! added. Every row is checked for its primary-key columns (present and not `null`).

use serde_json::{Map, Value};

use crate::connector::{Emit, Kind, Stream};
use crate::error::{Error, Result};
use crate::protocol::Row;
use crate::sink::RowKind;

/// One shaped row: its table, kind and columns.
#[derive(Debug)]
pub(crate) struct ShapedRow {
    pub table: String,
    pub kind: RowKind,
    pub row: Row,
    /// Rows emitted by a hook are deduplicated per invocation.
    pub from_hook: bool,
}

/// Shapes one record into rows; `selected` says which tables are synced.
pub(crate) fn shape(
    stream: &Stream,
    record: Value,
    selected: &dyn Fn(&str) -> bool,
    out: &mut Vec<ShapedRow>,
) -> Result<()> {
    let Value::Object(mut row) = record else {
        return Err(Error::MissingKey {
            stream: stream.key.clone(),
            column: "(the record is not a JSON object)".into(),
        });
    };
    let table = &stream.table;
    if stream.kind == Kind::Deletes {
        let mut key = Map::new();
        for column in &table.primary_key {
            key.insert(column.clone(), take_key(stream, &mut row, column)?);
        }
        out.push(ShapedRow {
            table: table.name.clone(),
            kind: RowKind::Delete,
            row: key,
            from_hook: false,
        });
        return Ok(());
    }
    let parent_start = out.len();
    out.push(ShapedRow {
        table: table.name.clone(),
        kind: RowKind::Insert,
        row: Map::new(),
        from_hook: false,
    });
    for child in &stream.children {
        let items = row.remove(&child.field);
        if !selected(&child.table.name) {
            continue;
        }
        let Some(Value::Array(items)) = items else {
            continue;
        };
        let parent_key: Vec<Value> = table
            .primary_key
            .iter()
            .map(|c| key_value(stream, &row, c))
            .collect::<Result<_>>()?;
        for item in items {
            let Value::Object(mut child_row) = item else {
                return Err(Error::MissingKey {
                    stream: stream.key.clone(),
                    column: format!("{}[] (an item is not a JSON object)", child.field),
                });
            };
            for (i, value) in parent_key.iter().enumerate() {
                let column = if i == 0 {
                    child.parent_column.clone()
                } else {
                    format!("{}_{}", child.parent_column, i + 1)
                };
                child_row.insert(column, value.clone());
            }
            for column in &child.table.primary_key {
                key_value(stream, &child_row, column)?;
            }
            out.push(ShapedRow {
                table: child.table.name.clone(),
                kind: RowKind::Insert,
                row: child_row,
                from_hook: false,
            });
        }
    }
    if let Some(hook) = &stream.hook {
        let mut emit = Emit::default();
        hook(&mut row, &mut emit)?;
        for (table, row) in emit.rows {
            if selected(&table) {
                out.push(ShapedRow {
                    table,
                    kind: RowKind::Insert,
                    row,
                    from_hook: true,
                });
            }
        }
    }
    for field in &stream.flatten {
        if let Some(Value::Object(_)) = row.get(field) {
            if let Some(Value::Object(inner)) = row.remove(field) {
                for (k, v) in inner {
                    row.insert(format!("{field}_{k}"), v);
                }
            }
        }
    }
    for (column, value) in &stream.constants {
        row.insert(column.clone(), value.clone());
    }
    for column in &table.primary_key {
        key_value(stream, &row, column)?;
    }
    out[parent_start].row = row;
    Ok(())
}

/// A key column's value; missing or `null` is an error naming the stream and column.
fn key_value(stream: &Stream, row: &Row, column: &str) -> Result<Value> {
    match row.get(column) {
        None | Some(Value::Null) => Err(Error::MissingKey {
            stream: stream.key.clone(),
            column: column.to_owned(),
        }),
        Some(v) => Ok(v.clone()),
    }
}

fn take_key(stream: &Stream, row: &mut Row, column: &str) -> Result<Value> {
    match row.remove(column) {
        None | Some(Value::Null) => Err(Error::MissingKey {
            stream: stream.key.clone(),
            column: column.to_owned(),
        }),
        Some(v) => Ok(v),
    }
}

/// A row's key as text, for error messages and deduplication (`la_1`, or `la_1/ap_2` for composite keys).
pub(crate) fn key_text(primary_key: &[String], row: &Row) -> String {
    let mut out = String::new();
    for (i, column) in primary_key.iter().enumerate() {
        if i > 0 {
            out.push('/');
        }
        match row.get(column) {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => out.push('?'),
        }
    }
    out
}

/// A record field as keyset text (strings as they are, numbers in their JSON form).
pub(crate) fn field_text(record: &Value, field: &str) -> Option<String> {
    match record.get(field)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Compares two keys: numerically when both are integers, else as text (ids like `la_000123` sort as text).
pub(crate) fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i128>(), b.parse::<i128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::{Child, Endpoint};
    use serde_json::json;

    fn loan_stream() -> Stream {
        Stream::new("loan_applications", &["id"], Endpoint::get("/x"))
            .flatten("amount")
            .child(Child::new(
                "applicants",
                "applicants",
                "loan_application_id",
                &["id"],
            ))
            .map(|row, emit| {
                let advisor = row.remove("advisor").unwrap_or(Value::Null);
                let id = advisor.get("id").cloned().unwrap_or(Value::Null);
                if let Value::Object(a) = advisor {
                    emit.insert("advisors", a);
                }
                row.insert("advisor_id".into(), id);
                Ok(())
            })
            .constant("source", "test")
    }

    #[test]
    fn a_loan_application_becomes_its_rows() {
        let record = json!({"id": "la_1", "amount": {"value": "1.00", "currency": "EUR"},
            "advisor": {"id": "adv_1", "name": "Ana"},
            "applicants": [{"id": "ap_1", "role": "primary"}, {"id": "ap_2"}]});
        let mut out = Vec::new();
        shape(&loan_stream(), record, &|_| true, &mut out).unwrap();
        let tables: Vec<&str> = out.iter().map(|r| r.table.as_str()).collect();
        assert_eq!(
            tables,
            ["loan_applications", "applicants", "applicants", "advisors"]
        );
        assert_eq!(
            Value::Object(out[0].row.clone()),
            json!({"id": "la_1", "amount_value": "1.00", "amount_currency": "EUR", "advisor_id": "adv_1", "source": "test"})
        );
        assert_eq!(out[2].row["loan_application_id"], "la_1");
        assert!(out[3].from_hook);
        // Unselected tables get no rows.
        let mut out = Vec::new();
        let record = json!({"id": "la_2", "advisor": null, "applicants": [{"id": "ap_1"}]});
        shape(
            &loan_stream(),
            record,
            &|t| t == "loan_applications",
            &mut out,
        )
        .unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].row["advisor_id"], Value::Null);
        assert!(!out[0].row.contains_key("applicants"));
    }

    #[test]
    fn missing_keys_name_stream_and_column() {
        let mut out = Vec::new();
        let error = shape(
            &loan_stream(),
            json!({"applicants": []}),
            &|_| true,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "loan_applications: record has no usable primary key `id`"
        );
        let error = shape(
            &loan_stream(),
            json!({"id": "la_1", "applicants": [{"role": "x"}]}),
            &|_| true,
            &mut out,
        )
        .unwrap_err();
        assert!(error.to_string().contains("`id`"), "{error}");
    }

    #[test]
    fn deletes_keep_only_key_columns_and_keys_compare_sensibly() {
        let stream = Stream::deletes("loan_applications", &["id"], Endpoint::get("/d"));
        let mut out = Vec::new();
        shape(
            &stream,
            json!({"id": "la_7", "deleted_at": "x"}),
            &|_| true,
            &mut out,
        )
        .unwrap();
        assert_eq!(Value::Object(out[0].row.clone()), json!({"id": "la_7"}));
        assert_eq!(out[0].kind, RowKind::Delete);
        assert_eq!(key_cmp("9", "10"), std::cmp::Ordering::Less);
        assert_eq!(key_cmp("la_000009", "la_000010"), std::cmp::Ordering::Less);
        assert_eq!(
            key_text(
                &["a".into(), "b".into()],
                &json!({"a": "x", "b": 2}).as_object().unwrap().clone()
            ),
            "x/2"
        );
    }
}
