//! Turning one API record into rows: child tables, hook, flattening, constants, key checks.
//!
//! The order is fixed and documented in [`crate::connector`]: children are split out first (they need the
//! parent's key as sent by the API), then the hook runs, then nested objects are flattened and constant columns
//! added. Every row is checked for its primary-key columns (present and not `null`).

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::connector::{Emit, Kind, Stream};
use crate::error::{Error, Result};
use crate::protocol::Row;
use crate::row::{Field, LazyRow};
use crate::sink::RowKind;

/// A row's columns: borrowed from the page (the fast path) or a `serde_json` map (children, hooks, deletes).
#[derive(Debug)]
pub(crate) enum RowData<'a> {
    Lazy(LazyRow<'a>),
    Map(Row),
}

impl RowData<'_> {
    /// Writes the row as a JSON object.
    pub fn write(&self, out: &mut Vec<u8>) {
        match self {
            RowData::Lazy(row) => row.write(out),
            // A `Map<String, Value>` always serializes.
            RowData::Map(row) => {
                let _ = serde_json::to_writer(&mut *out, row);
            }
        }
    }

    /// A column as key text.
    pub fn key_part(&self, column: &str) -> String {
        let value = match self {
            RowData::Lazy(row) => row.get(column).map(Field::to_value),
            RowData::Map(row) => row.get(column).cloned(),
        };
        match value {
            Some(Value::String(s)) => s,
            Some(other) => other.to_string(),
            None => "?".into(),
        }
    }
}

/// One shaped row: its table, kind and columns.
#[derive(Debug)]
pub(crate) struct ShapedRow<'a> {
    pub table: &'a str,
    pub kind: RowKind,
    pub row: RowData<'a>,
    /// Rows emitted by a hook are deduplicated per invocation.
    pub from_hook: bool,
}

/// Shapes one record into rows; `selected` says which tables are synced.
pub(crate) fn shape<'a>(
    stream: &'a Stream,
    mut row: LazyRow<'a>,
    selected: &dyn Fn(&str) -> bool,
    hook_tables: &'a [crate::protocol::Table],
    out: &mut Vec<ShapedRow<'a>>,
) -> Result<()> {
    let table = &stream.table;
    if stream.kind == Kind::Deletes {
        let mut key = Map::new();
        for column in &table.primary_key {
            let value = row
                .get(column)
                .filter(|v| !v.is_null())
                .ok_or_else(|| missing(stream, column))?;
            key.insert(column.clone(), value.to_value());
        }
        out.push(ShapedRow {
            table: &table.name,
            kind: RowKind::Delete,
            row: RowData::Map(key),
            from_hook: false,
        });
        return Ok(());
    }
    let parent_index = out.len();
    out.push(ShapedRow {
        table: &table.name,
        kind: RowKind::Insert,
        row: RowData::Map(Map::new()),
        from_hook: false,
    });
    for child in &stream.children {
        let items = row.remove(&child.field);
        if !selected(&child.table.name) {
            continue;
        }
        let items: Vec<LazyRow<'a>> = match items {
            Some(Field::Raw(raw)) if raw.get().starts_with('[') => {
                let raws: Vec<&'a serde_json::value::RawValue> = serde_json::from_str(raw.get())
                    .map_err(|_| not_object(stream, &child.field))?;
                raws.into_iter()
                    .map(|r| {
                        LazyRow::parse(r.get()).ok_or_else(|| not_object(stream, &child.field))
                    })
                    .collect::<Result<_>>()?
            }
            _ => continue,
        };
        let parent_key: Vec<Field<'a>> = table
            .primary_key
            .iter()
            .map(|c| {
                row.get(c)
                    .filter(|v| !v.is_null())
                    .cloned()
                    .ok_or_else(|| missing(stream, c))
            })
            .collect::<Result<_>>()?;
        for mut child_row in items {
            for (i, value) in parent_key.iter().enumerate() {
                let column = if i == 0 {
                    Cow::Borrowed(child.parent_column.as_str())
                } else {
                    Cow::Owned(format!("{}_{}", child.parent_column, i + 1))
                };
                child_row.set(column, value.clone());
            }
            for column in &child.table.primary_key {
                if child_row.get(column).is_none_or(Field::is_null) {
                    return Err(missing(stream, column));
                }
            }
            out.push(ShapedRow {
                table: &child.table.name,
                kind: RowKind::Insert,
                row: RowData::Lazy(child_row),
                from_hook: false,
            });
        }
    }
    let parent = if let Some(hook) = &stream.hook {
        let mut map = row.to_row();
        let mut emit = Emit::default();
        hook(&mut map, &mut emit)?;
        for (name, emitted) in emit.rows {
            let Some(target) = hook_tables.iter().find(|t| t.name == name) else {
                return Err(Error::Declaration(format!(
                    "stream `{}`: a hook emitted into table `{name}`, which is not declared with Config::table",
                    stream.key
                )));
            };
            if selected(&target.name) {
                out.push(ShapedRow {
                    table: &target.name,
                    kind: RowKind::Insert,
                    row: RowData::Map(emitted),
                    from_hook: true,
                });
            }
        }
        for field in &stream.flatten {
            if let Some(Value::Object(_)) = map.get(field)
                && let Some(Value::Object(inner)) = map.remove(field)
            {
                for (k, v) in inner {
                    map.insert(format!("{field}_{k}"), v);
                }
            }
        }
        for column in &stream.exclude {
            map.remove(column);
        }
        for (column, value) in &stream.constants {
            map.insert(column.clone(), value.clone());
        }
        for column in &table.primary_key {
            key_value(stream, &map, column)?;
        }
        RowData::Map(map)
    } else {
        for field in &stream.flatten {
            row.flatten(field);
        }
        for column in &stream.exclude {
            row.remove(column);
        }
        for (column, value) in &stream.constants {
            row.set(Cow::Borrowed(column.as_str()), Field::Value(value.clone()));
        }
        for column in &table.primary_key {
            if row.get(column).is_none_or(Field::is_null) {
                return Err(missing(stream, column));
            }
        }
        RowData::Lazy(row)
    };
    if selected(&table.name) {
        out[parent_index].row = parent;
    } else {
        // The stream runs for a child or hook table alone.
        out.remove(parent_index);
    }
    Ok(())
}

fn not_object(stream: &Stream, field: &str) -> Error {
    Error::MissingKey {
        stream: stream.key.clone(),
        column: format!("{field}[] (an item is not a JSON object)"),
    }
}

fn missing(stream: &Stream, column: &str) -> Error {
    Error::MissingKey {
        stream: stream.key.clone(),
        column: column.to_owned(),
    }
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

/// A row's key as text, for error messages and deduplication (`la_1`, or `la_1/ap_2` for composite keys).
pub(crate) fn key_text(primary_key: &[String], row: &RowData<'_>) -> String {
    let parts: Vec<String> = primary_key.iter().map(|c| row.key_part(c)).collect();
    parts.join("/")
}

/// Compares two keys: numerically when both are integers, else as text (ids like `la_000123` sort as text).
pub(crate) fn key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i128>(), b.parse::<i128>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

/// A record's timestamp for [`Incremental::filter_field`](crate::connector::Incremental::filter_field): RFC 3339, or
/// `YYYY-MM-DDTHH:MM:SS` / `YYYY-MM-DD HH:MM:SS` without an offset, read as UTC (WooCommerce's `*_gmt` fields).
pub(crate) fn instant(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Ok(at) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(at.to_utc());
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(text, f).ok())
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::{Child, Endpoint};
    use crate::protocol::Table;
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

    fn tables() -> Vec<Table> {
        vec![Table::new("advisors", &["id"])]
    }

    /// Shapes `record` and returns the rows as (table, JSON) pairs.
    fn run(
        stream: &Stream,
        record: Value,
        selected: &dyn Fn(&str) -> bool,
    ) -> Result<Vec<(String, Value, bool)>> {
        let text = record.to_string();
        let tables = tables();
        let mut out = Vec::new();
        shape(
            stream,
            LazyRow::parse(&text).unwrap(),
            selected,
            &tables,
            &mut out,
        )?;
        Ok(out
            .iter()
            .map(|r| {
                let mut buf = Vec::new();
                r.row.write(&mut buf);
                (
                    r.table.to_owned(),
                    serde_json::from_slice(&buf).unwrap(),
                    r.from_hook,
                )
            })
            .collect())
    }

    #[test]
    fn a_loan_application_becomes_its_rows() {
        let record = json!({"id": "la_1", "amount": {"value": "1.00", "currency": "EUR"},
            "advisor": {"id": "adv_1", "name": "Ana"},
            "applicants": [{"id": "ap_1", "role": "primary"}, {"id": "ap_2"}]});
        let out = run(&loan_stream(), record, &|_| true).unwrap();
        let names: Vec<&str> = out.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(
            names,
            ["loan_applications", "applicants", "applicants", "advisors"]
        );
        assert_eq!(
            out[0].1,
            json!({"id": "la_1", "amount_value": "1.00", "amount_currency": "EUR", "advisor_id": "adv_1", "source": "test"})
        );
        assert_eq!(out[2].1["loan_application_id"], "la_1");
        assert!(out[3].2);
        // Unselected tables get no rows.
        let record = json!({"id": "la_2", "advisor": null, "applicants": [{"id": "ap_1"}]});
        let out = run(&loan_stream(), record, &|t| t == "loan_applications").unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].1["advisor_id"], Value::Null);
        assert!(out[0].1.get("applicants").is_none());
        // Without a hook the fast path does the same.
        let plain = Stream::new("t", &["id"], Endpoint::get("/x"))
            .flatten("amount")
            .constant("source", "test")
            .exclude("links");
        let out = run(
            &plain,
            json!({"id": 5, "amount": {"value": "2"}, "amount_x": null, "links": []}),
            &|_| true,
        )
        .unwrap();
        assert_eq!(
            out[0].1,
            json!({"id": 5, "amount_value": "2", "amount_x": null, "source": "test"})
        );
    }

    #[test]
    fn missing_keys_name_stream_and_column() {
        let error = run(&loan_stream(), json!({"applicants": []}), &|_| true).unwrap_err();
        assert_eq!(
            error.to_string(),
            "loan_applications: record has no usable primary key `id`"
        );
        let error = run(
            &loan_stream(),
            json!({"id": "la_1", "applicants": [{"role": "x"}]}),
            &|_| true,
        )
        .unwrap_err();
        assert!(error.to_string().contains("`id`"), "{error}");
        let plain = Stream::new("t", &["id"], Endpoint::get("/x"));
        let error = run(&plain, json!({"id": null}), &|_| true).unwrap_err();
        assert!(error.to_string().contains("`id`"), "{error}");
    }

    #[test]
    fn deletes_keep_only_key_columns_and_keys_compare_sensibly() {
        let stream = Stream::deletes("loan_applications", &["id"], Endpoint::get("/d"));
        let out = run(&stream, json!({"id": "la_7", "deleted_at": "x"}), &|_| true).unwrap();
        assert_eq!(out[0].1, json!({"id": "la_7"}));
        assert_eq!(key_cmp("9", "10"), std::cmp::Ordering::Less);
        assert_eq!(key_cmp("la_000009", "la_000010"), std::cmp::Ordering::Less);
        let row = RowData::Map(json!({"a": "x", "b": 2}).as_object().unwrap().clone());
        assert_eq!(key_text(&["a".into(), "b".into()], &row), "x/2");
    }

    #[test]
    fn filter_timestamps_with_or_without_an_offset() {
        let utc = |t: &str| instant(t).map(|at| at.to_rfc3339());
        assert_eq!(
            utc("2026-03-01T09:30:00+02:00").as_deref(),
            Some("2026-03-01T07:30:00+00:00")
        );
        assert_eq!(
            utc("2026-03-01T09:30:00Z").as_deref(),
            Some("2026-03-01T09:30:00+00:00")
        );
        assert_eq!(
            utc("2026-03-01T09:30:00").as_deref(),
            Some("2026-03-01T09:30:00+00:00")
        );
        assert_eq!(
            utc("2026-03-01 09:30:00.5").as_deref(),
            Some("2026-03-01T09:30:00.500+00:00")
        );
        assert_eq!(utc("1/15/2026"), None);
    }
}
