//! Ground truth: exactly what a complete sync must leave in the warehouse, and a readable comparison with it.
//!
//! A [`GroundTruth`] holds, per table, the primary key and the expected rows keyed by primary-key values. Rows of
//! soft-deleted records carry `"_fivetran_deleted": true` (only the key and that flag are compared; the row may also be
//! absent when the record was created and deleted before any sync saw it). Rows the contract allows but does not require
//! (e.g. applicants of a deleted loan application) are "optional": present or absent, not compared.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// A row: column name → value.
pub type Row = Map<String, Value>;

/// Primary-key values of a row, rendered as text (strings as they are, numbers in decimal).
pub type RowKey = Vec<String>;

/// The expected warehouse content, per table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroundTruth {
    pub tables: BTreeMap<String, Table>,
}

/// One expected table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub primary_key: Vec<String>,
    /// Required rows, including soft-deleted ones (`_fivetran_deleted: true`).
    pub rows: BTreeMap<RowKey, Row>,
    /// Rows that may or may not be present; never compared.
    pub optional_rows: BTreeMap<RowKey, Row>,
}

/// Options for [`GroundTruth::diff_with`].
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    /// Columns never compared (in every table), e.g. a column a connector adds. `_fivetran_*` columns other than
    /// `_fivetran_deleted` are always ignored.
    pub ignore_columns: Vec<String>,
}

/// One way the warehouse differs from the ground truth.
#[derive(Debug, Clone, PartialEq)]
pub enum Difference {
    /// An expected row is not in the warehouse.
    MissingRow { table: String, key: RowKey },
    /// The warehouse has a row the source does not (or never had).
    ExtraRow { table: String, key: RowKey },
    /// The warehouse row has an old or wrong value in a column.
    StaleRow {
        table: String,
        key: RowKey,
        column: String,
        expected: Value,
        actual: Value,
    },
    /// The record was deleted at the source but the warehouse row is not marked `_fivetran_deleted`.
    NotDeleted { table: String, key: RowKey },
    /// The warehouse has the same primary key twice.
    DuplicateKey { table: String, key: RowKey },
    /// The warehouse has a table the ground truth does not know.
    UnknownTable { table: String },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = |key: &RowKey| key.join(", ");
        match self {
            Difference::MissingRow { table, key } => {
                write!(f, "{table}[{}]: missing from the warehouse", k(key))
            }
            Difference::ExtraRow { table, key } => write!(
                f,
                "{table}[{}]: in the warehouse but not at the source",
                k(key)
            ),
            Difference::StaleRow {
                table,
                key,
                column,
                expected,
                actual,
            } => {
                write!(
                    f,
                    "{table}[{}].{column}: expected {expected}, warehouse has {actual}",
                    k(key)
                )
            }
            Difference::NotDeleted { table, key } => {
                write!(
                    f,
                    "{table}[{}]: deleted at the source, not marked _fivetran_deleted",
                    k(key)
                )
            }
            Difference::DuplicateKey { table, key } => {
                write!(f, "{table}[{}]: primary key appears twice", k(key))
            }
            Difference::UnknownTable { table } => write!(f, "{table}: table not expected"),
        }
    }
}

/// Renders a primary-key value as text.
pub fn key_part(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "null".to_owned(),
        other => other.to_string(),
    }
}

impl Table {
    /// A table with this primary key and no rows.
    pub fn new(primary_key: &[&str]) -> Self {
        Table {
            primary_key: primary_key.iter().map(|s| (*s).to_owned()).collect(),
            ..Table::default()
        }
    }

    /// The key of `row` under this table's primary key.
    pub fn key_of(&self, row: &Row) -> RowKey {
        self.primary_key
            .iter()
            .map(|c| key_part(row.get(c).unwrap_or(&Value::Null)))
            .collect()
    }

    /// Adds (or replaces) a required row.
    pub fn insert(&mut self, row: Row) {
        let key = self.key_of(&row);
        self.optional_rows.remove(&key);
        self.rows.insert(key, row);
    }

    /// Adds a row that may or may not be in the warehouse, unless the row is already required.
    pub fn insert_optional(&mut self, row: Row) {
        let key = self.key_of(&row);
        if !self.rows.contains_key(&key) {
            self.optional_rows.insert(key, row);
        }
    }
}

impl GroundTruth {
    /// The table `name`, created with `primary_key` if new.
    pub fn table(&mut self, name: &str, primary_key: &[&str]) -> &mut Table {
        self.tables
            .entry(name.to_owned())
            .or_insert_with(|| Table::new(primary_key))
    }

    /// Number of required rows in `table` (0 when unknown).
    pub fn row_count(&self, table: &str) -> usize {
        self.tables.get(table).map_or(0, |t| t.rows.len())
    }

    /// Compares warehouse rows (table → rows) with the ground truth, with default options.
    pub fn diff(&self, actual: &BTreeMap<String, Vec<Row>>) -> Vec<Difference> {
        self.diff_with(actual, &DiffOptions::default())
    }

    /// Compares warehouse rows (table → rows) with the ground truth.
    pub fn diff_with(
        &self,
        actual: &BTreeMap<String, Vec<Row>>,
        options: &DiffOptions,
    ) -> Vec<Difference> {
        let mut out = Vec::new();
        for name in actual.keys() {
            if !self.tables.contains_key(name) {
                out.push(Difference::UnknownTable {
                    table: name.clone(),
                });
            }
        }
        let empty = Vec::new();
        for (name, table) in &self.tables {
            let rows = actual.get(name).unwrap_or(&empty);
            let mut seen: BTreeMap<RowKey, &Row> = BTreeMap::new();
            for row in rows {
                let key = table.key_of(row);
                if seen.insert(key.clone(), row).is_some() {
                    out.push(Difference::DuplicateKey {
                        table: name.clone(),
                        key,
                    });
                }
            }
            for (key, expected) in &table.rows {
                let deleted = expected.get("_fivetran_deleted") == Some(&Value::Bool(true));
                match seen.get(key) {
                    None if deleted => {}
                    None => out.push(Difference::MissingRow {
                        table: name.clone(),
                        key: key.clone(),
                    }),
                    Some(row) if deleted => {
                        if !is_true(row.get("_fivetran_deleted")) {
                            out.push(Difference::NotDeleted {
                                table: name.clone(),
                                key: key.clone(),
                            });
                        }
                    }
                    Some(row) => compare_row(name, key, expected, row, options, &mut out),
                }
            }
            for key in seen.keys() {
                if !table.rows.contains_key(key) && !table.optional_rows.contains_key(key) {
                    out.push(Difference::ExtraRow {
                        table: name.clone(),
                        key: key.clone(),
                    });
                }
            }
        }
        out
    }

    /// Panics with a readable list (at most 25 entries) when the warehouse differs from the ground truth.
    #[track_caller]
    pub fn assert_matches(&self, actual: &BTreeMap<String, Vec<Row>>, options: &DiffOptions) {
        self.assert_matches_in("the warehouse", actual, options);
    }

    /// [`assert_matches`](Self::assert_matches), the message starting with `context` (which sync, which connector).
    #[track_caller]
    pub fn assert_matches_in(
        &self,
        context: &str,
        actual: &BTreeMap<String, Vec<Row>>,
        options: &DiffOptions,
    ) {
        let diffs = self.diff_with(actual, options);
        if !diffs.is_empty() {
            let shown: Vec<String> = diffs.iter().take(25).map(|d| format!("  - {d}")).collect();
            panic!(
                "{context}: the warehouse differs from the ground truth in {} ways:\n{}",
                diffs.len(),
                shown.join("\n")
            );
        }
    }

    /// The export format (see the README): `{"tables": {name: {"primary_key", "rows", "optional_rows"}}}`.
    pub fn to_json(&self) -> Value {
        let tables: Map<String, Value> = self
            .tables
            .iter()
            .map(|(name, t)| {
                let rows = |m: &BTreeMap<RowKey, Row>| {
                    Value::Array(m.values().cloned().map(Value::Object).collect())
                };
                let mut o = Map::new();
                o.insert(
                    "primary_key".into(),
                    t.primary_key.iter().cloned().map(Value::String).collect(),
                );
                o.insert("rows".into(), rows(&t.rows));
                o.insert("optional_rows".into(), rows(&t.optional_rows));
                (name.clone(), Value::Object(o))
            })
            .collect();
        serde_json::json!({ "tables": tables })
    }

    /// Reads the export format back.
    pub fn from_json(value: &Value) -> Result<GroundTruth, String> {
        let tables = value
            .get("tables")
            .and_then(Value::as_object)
            .ok_or("missing object \"tables\"")?;
        let mut truth = GroundTruth::default();
        for (name, t) in tables {
            let pk: Vec<&str> = t
                .get("primary_key")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{name}: missing primary_key"))?
                .iter()
                .filter_map(Value::as_str)
                .collect();
            let table = truth.table(name, &pk);
            for (field, optional) in [("rows", false), ("optional_rows", true)] {
                for row in t.get(field).and_then(Value::as_array).into_iter().flatten() {
                    let row = row
                        .as_object()
                        .ok_or_else(|| format!("{name}.{field}: a row is not an object"))?
                        .clone();
                    if optional {
                        table.insert_optional(row)
                    } else {
                        table.insert(row)
                    }
                }
            }
        }
        Ok(truth)
    }
}

fn is_true(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
        || v.and_then(Value::as_i64) == Some(1)
        || v.and_then(Value::as_str) == Some("true")
}

fn compare_row(
    table: &str,
    key: &RowKey,
    expected: &Row,
    actual: &Row,
    options: &DiffOptions,
    out: &mut Vec<Difference>,
) {
    let ignored = |c: &str| {
        (c.starts_with("_fivetran_") && c != "_fivetran_deleted")
            || options.ignore_columns.iter().any(|i| i == c)
    };
    let null = Value::Null;
    let mut columns: Vec<&String> = expected.keys().chain(actual.keys()).collect();
    columns.sort();
    columns.dedup();
    for column in columns {
        if ignored(column) {
            continue;
        }
        let e = expected.get(column).unwrap_or(&null);
        let a = actual.get(column).unwrap_or(&null);
        let same = if column == "_fivetran_deleted" {
            is_true(Some(e)) == is_true(Some(a))
        } else {
            equivalent(e, a)
        };
        if !same {
            out.push(Difference::StaleRow {
                table: table.to_owned(),
                key: key.clone(),
                column: column.clone(),
                expected: e.clone(),
                actual: a.clone(),
            });
        }
    }
}

/// Whether two values are the same data, allowing for how warehouses store it: JSON objects and arrays as text,
/// booleans as 0/1, numbers as text, integers as floats.
pub fn equivalent(expected: &Value, actual: &Value) -> bool {
    if expected == actual {
        return true;
    }
    match (expected, actual) {
        (Value::Number(x), Value::Number(y)) => {
            match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
                (Some(a), Some(b), _, _) => a == b,
                (_, _, Some(a), Some(b)) => a == b,
                _ => x.as_f64() == y.as_f64() && x.as_f64().is_some(),
            }
        }
        (Value::Bool(b), Value::Number(n)) => n.as_i64() == Some(i64::from(*b)),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.parse::<Value>().is_ok_and(|v| {
                matches!(v, Value::Number(_)) && equivalent(&Value::Number(n.clone()), &v)
            })
        }
        (Value::Bool(b), Value::String(s)) => s == if *b { "true" } else { "false" },
        (Value::Array(_) | Value::Object(_), Value::String(s)) => {
            serde_json::from_str::<Value>(s).is_ok_and(|v| equivalent(expected, &v))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equivalent(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            let null = Value::Null;
            x.keys()
                .chain(y.keys())
                .all(|k| equivalent(x.get(k).unwrap_or(&null), y.get(k).unwrap_or(&null)))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(v: Value) -> Row {
        v.as_object().unwrap().clone()
    }

    fn truth() -> GroundTruth {
        let mut t = GroundTruth::default();
        let apps = t.table("apps", &["id"]);
        apps.insert(row(
            json!({"id": "a1", "n": 1, "tags": ["x"], "_fivetran_deleted": false}),
        ));
        apps.insert(row(json!({"id": "a2", "_fivetran_deleted": true})));
        apps.insert(row(
            json!({"id": "a3", "n": null, "_fivetran_deleted": false}),
        ));
        apps.insert_optional(row(json!({"id": "a9"})));
        t
    }

    #[test]
    fn matching_warehouse_has_no_differences() {
        let actual = BTreeMap::from([(
            "apps".to_owned(),
            vec![
                row(
                    json!({"id": "a1", "n": 1.0, "tags": "[\"x\"]", "_fivetran_deleted": 0, "_fivetran_synced": "t"}),
                ),
                row(json!({"id": "a3", "_fivetran_deleted": false})),
                row(json!({"id": "a9", "anything": 5})),
            ],
        )]);
        assert_eq!(truth().diff(&actual), vec![]);
    }

    #[test]
    fn reports_missing_extra_stale_and_undeleted() {
        let actual = BTreeMap::from([
            (
                "apps".to_owned(),
                vec![
                    row(json!({"id": "a1", "n": 2, "tags": ["x"]})),
                    row(json!({"id": "a2", "_fivetran_deleted": false})),
                    row(json!({"id": "zz"})),
                ],
            ),
            ("other".to_owned(), vec![]),
        ]);
        let diffs = truth().diff(&actual);
        let text: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            vec![
                "other: table not expected",
                "apps[a1].n: expected 1, warehouse has 2",
                "apps[a2]: deleted at the source, not marked _fivetran_deleted",
                "apps[a3]: missing from the warehouse",
                "apps[zz]: in the warehouse but not at the source",
            ]
        );
    }

    #[test]
    fn ignore_columns_and_duplicates() {
        let actual = BTreeMap::from([(
            "apps".to_owned(),
            vec![
                row(json!({"id": "a1", "n": 1, "tags": ["x"], "extra": 1})),
                row(json!({"id": "a1", "n": 1, "tags": ["x"]})),
                row(json!({"id": "a3"})),
            ],
        )]);
        let opts = DiffOptions {
            ignore_columns: vec!["extra".into()],
        };
        assert_eq!(
            truth().diff_with(&actual, &opts),
            vec![Difference::DuplicateKey {
                table: "apps".into(),
                key: vec!["a1".into()]
            }]
        );
    }

    #[test]
    fn json_round_trip() {
        let t = truth();
        assert_eq!(GroundTruth::from_json(&t.to_json()).unwrap(), t);
    }

    #[test]
    fn big_numbers_compare_exactly() {
        assert!(equivalent(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!equivalent(
            &json!(9_007_199_254_740_993_i64),
            &json!(9_007_199_254_740_992_i64)
        ));
        assert!(equivalent(
            &json!(9_007_199_254_740_993_i64),
            &json!("9007199254740993")
        ));
    }
}
