//! Conformance checks of one response body against the function protocol (`shared/docs/fivetran-protocol.md`).
//!
//! The checks run on the raw bytes and a plain JSON value, never on this project's own types, so any function can
//! be checked. Each violation names the call number, the table (when one is involved) and the rule. A body that
//! passes becomes [`Checked`]: the new state, `hasMore`, and the [`Changes`] for the warehouse.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::warehouse::{Changes, Row};

mod rule;
pub use rule::{Rule, Violation};

/// Lambda's synchronous response limit, as AWS reports it when exceeded.
pub const MAX_RESPONSE_BYTES: usize = fivetran_core::protocol::MAX_RESPONSE_BYTES;

/// A response that passed every fatal rule.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The state to store.
    pub state: Map<String, Value>,
    /// Whether to call again at once.
    pub has_more: bool,
    /// Rows for the warehouse.
    pub changes: Changes,
    /// Rows in `insert` plus rows in `delete`.
    pub rows: u64,
    /// Non-fatal findings.
    pub warnings: Vec<Violation>,
}

/// What a body turned out to be.
#[derive(Debug, Clone)]
pub enum Verdict {
    /// A conforming response.
    Ok(Checked),
    /// An error returned in a normal body (`{"errorMessage": …}`), as Fivetran's own samples do.
    ErrorBody {
        /// `errorType`, when given.
        error_type: Option<String>,
        /// `errorMessage`.
        message: String,
    },
    /// One or more fatal violations (warnings included in the list).
    Violations(Vec<Violation>),
}

const KNOWN_KEYS: [&str; 6] = [
    "state",
    "insert",
    "delete",
    "softDelete",
    "schema",
    "hasMore",
];

/// Tables seen in earlier calls' `schema` entries, with their primary keys.
pub type KnownTables = std::collections::BTreeMap<String, Vec<String>>;

/// Checks one response body. `previous_state` is the state the call was sent; `known_tables` holds every table
/// that had a `schema` entry in earlier calls (this call's entries are added to it when the body passes).
pub fn check_response(
    call: u64,
    body: &[u8],
    previous_state: &Map<String, Value>,
    known_tables: &mut KnownTables,
) -> Verdict {
    let mut found = Vec::new();
    let mut violation = |table: Option<&str>, rule: Rule, detail: String| {
        found.push(Violation {
            call,
            table: table.map(str::to_owned),
            rule,
            detail,
        });
    };
    if body.len() > MAX_RESPONSE_BYTES {
        violation(
            None,
            Rule::Size,
            format!(
                "the response is {} bytes; Lambda's limit is {MAX_RESPONSE_BYTES} bytes",
                body.len()
            ),
        );
    }
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            violation(
                None,
                Rule::Json,
                format!("the body is not valid JSON ({e}): {}", preview(body)),
            );
            return Verdict::Violations(found);
        }
    };
    let Value::Object(object) = value else {
        violation(
            None,
            Rule::Object,
            format!(
                "the body must be a JSON object, found {}",
                fivetran_core::protocol::kind(&value)
            ),
        );
        return Verdict::Violations(found);
    };
    if let Some(message) = object
        .get("errorMessage")
        .filter(|_| !object.contains_key("state"))
    {
        return Verdict::ErrorBody {
            error_type: object
                .get("errorType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            message: message
                .as_str()
                .map_or_else(|| message.to_string(), str::to_owned),
        };
    }
    for key in object.keys().filter(|k| !KNOWN_KEYS.contains(&k.as_str())) {
        violation(
            None,
            Rule::UnknownKey,
            format!("unknown top-level key `{key}` is ignored"),
        );
    }
    let state = match object.get("state") {
        Some(Value::Object(state)) => Some(state.clone()),
        Some(other) => {
            violation(
                None,
                Rule::StateObject,
                format!(
                    "`state` must be a JSON object, found {}",
                    fivetran_core::protocol::kind(other)
                ),
            );
            None
        }
        None => {
            violation(None, Rule::StateObject, "`state` is missing".to_owned());
            None
        }
    };
    let has_more = match object.get("hasMore") {
        Some(Value::Bool(b)) => Some(*b),
        Some(other) => {
            violation(
                None,
                Rule::HasMoreBoolean,
                format!(
                    "`hasMore` must be a JSON boolean, found {}",
                    describe(other)
                ),
            );
            None
        }
        None => {
            violation(
                None,
                Rule::HasMoreBoolean,
                "`hasMore` is missing".to_owned(),
            );
            None
        }
    };
    let mut primary_keys = std::collections::BTreeMap::new();
    match object.get("schema") {
        None | Some(Value::Null) => {}
        Some(Value::Object(schema)) => {
            for (table, entry) in schema {
                match entry.get("primary_key").map(string_list) {
                    Some(Some(key)) if entry.as_object().is_some_and(|e| e.len() == 1) => {
                        if let Some(before) =
                            known_tables.get(table).filter(|before| **before != key)
                        {
                            violation(
                                Some(table),
                                Rule::PrimaryKeyStable,
                                format!("the primary key changed from {before:?} to {key:?}"),
                            );
                        }
                        primary_keys.insert(table.clone(), key);
                    }
                    _ => violation(
                        Some(table),
                        Rule::SchemaShape,
                        format!(
                            "the schema entry must be {{\"primary_key\": [column names]}}, found {}",
                            preview(entry.to_string().as_bytes())
                        ),
                    ),
                }
            }
        }
        Some(other) => violation(
            None,
            Rule::SchemaShape,
            format!(
                "`schema` must be a JSON object, found {}",
                fivetran_core::protocol::kind(other)
            ),
        ),
    }
    let tables = |field: &str, violation: &mut dyn FnMut(Option<&str>, Rule, String)| {
        let mut out: std::collections::BTreeMap<String, Vec<Row>> = Default::default();
        match object.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => {
                for (table, rows) in map {
                    let Value::Array(rows) = rows else {
                        violation(
                            Some(table),
                            Rule::RowsShape,
                            format!("`{field}` must map the table to an array of rows"),
                        );
                        continue;
                    };
                    let mut list = Vec::new();
                    for (i, row) in rows.iter().enumerate() {
                        match row {
                            Value::Object(row) => list.push(row.clone()),
                            other => violation(
                                Some(table),
                                Rule::RowsShape,
                                format!(
                                    "row {} of `{field}` must be a JSON object, found {}",
                                    i + 1,
                                    fivetran_core::protocol::kind(other)
                                ),
                            ),
                        }
                    }
                    out.insert(table.clone(), list);
                }
            }
            Some(other) => violation(
                None,
                Rule::RowsShape,
                format!(
                    "`{field}` must be a JSON object, found {}",
                    fivetran_core::protocol::kind(other)
                ),
            ),
        }
        out
    };
    let insert = tables("insert", &mut violation);
    let delete = tables("delete", &mut violation);
    for (field, map) in [("insert", &insert), ("delete", &delete)] {
        for (table, rows) in map {
            let Some(key) = primary_keys.get(table) else {
                violation(
                    Some(table),
                    Rule::SchemaEntry,
                    format!("the table has rows in `{field}` but no `schema` entry"),
                );
                continue;
            };
            if field == "delete" && key.is_empty() && !rows.is_empty() {
                violation(
                    Some(table),
                    Rule::DeleteWithoutKey,
                    "rows in `delete` for a table without primary key (nothing to match them by)"
                        .to_owned(),
                );
                continue;
            }
            for (i, row) in rows.iter().enumerate() {
                for column in key {
                    if row.get(column).is_none_or(Value::is_null) {
                        let missing = if row.contains_key(column) {
                            "is null"
                        } else {
                            "is missing"
                        };
                        violation(
                            Some(table),
                            Rule::PrimaryKeyPresent,
                            format!(
                                "row {} of `{field}`: primary-key column `{column}` {missing}",
                                i + 1
                            ),
                        );
                    }
                }
            }
        }
    }
    let mut soft_delete = BTreeSet::new();
    match object.get("softDelete") {
        None | Some(Value::Null) => {}
        Some(value) => match string_list(value) {
            Some(list) => {
                for table in list {
                    if !primary_keys.contains_key(&table) && !known_tables.contains_key(&table) {
                        violation(
                            Some(&table),
                            Rule::SoftDeleteKnown,
                            "`softDelete` names a table that has no `schema` entry in this or an earlier call"
                                .to_owned(),
                        );
                    }
                    soft_delete.insert(table);
                }
            }
            None => violation(
                None,
                Rule::SoftDeleteShape,
                format!(
                    "`softDelete` must be an array of table names, found {}",
                    preview(value.to_string().as_bytes())
                ),
            ),
        },
    }
    let rows: usize =
        insert.values().map(Vec::len).sum::<usize>() + delete.values().map(Vec::len).sum::<usize>();
    if has_more == Some(true) && rows == 0 && state.as_ref() == Some(previous_state) {
        violation(
            None,
            Rule::EmptyHasMore,
            "`hasMore: true` with no rows and an unchanged state: Fivetran would call again with the same state forever"
                .to_owned(),
        );
    }
    if found.iter().any(|v| v.rule.is_fatal()) {
        return Verdict::Violations(found);
    }
    known_tables.extend(primary_keys.iter().map(|(t, k)| (t.clone(), k.clone())));
    Verdict::Ok(Checked {
        state: state.unwrap_or_default(),
        has_more: has_more.unwrap_or_default(),
        changes: Changes {
            insert,
            delete,
            soft_delete,
            primary_keys,
        },
        rows: rows as u64,
        warnings: found,
    })
}

/// A JSON array of strings, or `None`.
fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A value's kind, with the value itself for short scalars (a response value, never a secret).
fn describe(value: &Value) -> String {
    match value {
        Value::String(_) | Value::Number(_) | Value::Null => {
            format!(
                "{} ({})",
                fivetran_core::protocol::kind(value),
                preview(value.to_string().as_bytes())
            )
        }
        other => fivetran_core::protocol::kind(other).to_owned(),
    }
}

/// The start of a body, for messages.
pub fn preview(body: &[u8]) -> String {
    const LIMIT: usize = 120;
    let text = String::from_utf8_lossy(&body[..body.len().min(LIMIT * 4)]);
    let mut short: String = text.chars().take(LIMIT).collect();
    if text.chars().count() > LIMIT || body.len() > LIMIT * 4 {
        short.push('…');
    }
    format!("{short:?}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verdict(body: Value, previous: Value, known: &mut KnownTables) -> Verdict {
        check_response(
            4,
            body.to_string().as_bytes(),
            previous.as_object().unwrap(),
            known,
        )
    }

    #[test]
    fn a_changed_state_makes_an_empty_has_more_response_legal() {
        let body =
            json!({"state": {"c": 2}, "insert": {}, "delete": {}, "schema": {}, "hasMore": true});
        assert!(matches!(
            verdict(body, json!({"c": 1}), &mut KnownTables::new()),
            Verdict::Ok(_)
        ));
    }

    #[test]
    fn soft_delete_may_name_a_table_known_from_an_earlier_call() {
        let body = json!({"state": {}, "softDelete": ["old"], "schema": {}, "hasMore": false});
        let mut known = KnownTables::from([("old".to_owned(), vec!["id".to_owned()])]);
        assert!(matches!(
            verdict(body.clone(), json!({}), &mut known),
            Verdict::Ok(_)
        ));
        let Verdict::Violations(found) = verdict(body, json!({}), &mut KnownTables::new()) else {
            panic!("an unknown table must be reported");
        };
        assert_eq!(found[0].rule, Rule::SoftDeleteKnown);
        assert_eq!(found[0].call, 4);
    }

    #[test]
    fn a_passing_body_becomes_changes_and_teaches_its_tables() {
        let body = json!({
            "state": {"c": 1},
            "insert": {"t": [{"id": 1}]},
            "delete": {"t": [{"id": 0}]},
            "softDelete": ["t"],
            "schema": {"t": {"primary_key": ["id"]}},
            "hasMore": true
        });
        let mut known = KnownTables::new();
        let Verdict::Ok(checked) = verdict(body, json!({}), &mut known) else {
            panic!("a conforming body");
        };
        assert_eq!(checked.rows, 2);
        assert!(checked.has_more);
        assert_eq!(checked.changes.primary_keys["t"], vec!["id".to_owned()]);
        assert!(checked.changes.soft_delete.contains("t"));
        assert!(known.contains_key("t"));

        let changed =
            json!({"state": {}, "schema": {"t": {"primary_key": ["other"]}}, "hasMore": false});
        let Verdict::Violations(found) = verdict(changed, json!({}), &mut known) else {
            panic!("a changed primary key must be reported");
        };
        assert_eq!(found[0].rule, Rule::PrimaryKeyStable);
        assert_eq!(found[0].table.as_deref(), Some("t"));
    }

    #[test]
    fn an_error_body_is_an_error_not_a_violation() {
        let body = json!({"errorMessage": "denied", "errorType": "Auth"});
        assert!(matches!(
            verdict(body, json!({}), &mut KnownTables::new()),
            Verdict::ErrorBody { message, .. } if message == "denied"
        ));
    }

    #[test]
    fn previews_are_short_and_quoted() {
        let long = "x".repeat(1000);
        let shown = preview(long.as_bytes());
        assert!(shown.len() < 130 && shown.ends_with("…\""), "{shown}");
    }
}
