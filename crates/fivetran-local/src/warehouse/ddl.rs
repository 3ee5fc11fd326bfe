//! Table shapes in the warehouse: creating a destination table, adding columns and widening column types.
//!
//! SQLite cannot change a column's declared type in place, so a widening rebuilds the table inside the caller's
//! transaction: a new table with the wider types, an `INSERT … SELECT` with conversions, a drop and a rename.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};

use super::types::{ColumnType, quote, widen, widening_expression};
use crate::error::Result;

/// Columns the warehouse itself maintains; a function's own columns with these names are ignored.
pub const SYNCED: &str = "_fivetran_synced";
/// Soft-delete flag.
pub const DELETED: &str = "_fivetran_deleted";
/// Batch of an append-only row.
pub const BATCH: &str = "_fivetran_batch";
/// Position of an append-only row in its batch.
pub const INDEX: &str = "_fivetran_index";

/// Whether a column name is one of the warehouse's own.
pub fn is_system_column(name: &str) -> bool {
    [SYNCED, DELETED, BATCH, INDEX]
        .iter()
        .any(|c| c.eq_ignore_ascii_case(name))
}

/// One column of a destination table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name as stored.
    pub name: String,
    /// Inferred type.
    pub kind: ColumnType,
}

/// The columns of a table in order (`PRAGMA table_info`), system columns included.
pub fn columns(conn: &Connection, sql_table: &str) -> Result<Vec<Column>> {
    let mut statement = conn.prepare(&format!("PRAGMA table_info({})", quote(sql_table)))?;
    let rows = statement.query_map([], |row| {
        Ok(Column {
            name: row.get::<_, String>(1)?,
            kind: ColumnType::from_sql(&row.get::<_, String>(2)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Creates a destination table with the given data columns, its primary key (or the append key) and the system
/// columns.
pub fn create_table(
    conn: &Connection,
    sql_table: &str,
    primary_key: &[String],
    data: &[Column],
) -> Result<()> {
    conn.execute_batch(&create_statement(sql_table, primary_key, data))?;
    Ok(())
}

fn create_statement(sql_table: &str, primary_key: &[String], data: &[Column]) -> String {
    let mut definitions: Vec<String> = data
        .iter()
        .map(|c| {
            format!("{} {}", quote(&c.name), c.kind.sql())
                .trim_end()
                .to_owned()
        })
        .collect();
    let key: Vec<String> = if primary_key.is_empty() {
        vec![BATCH.to_owned(), INDEX.to_owned()]
    } else {
        primary_key.to_vec()
    };
    let has = |name: &str| data.iter().any(|c| c.name == name);
    for (name, kind) in [
        (BATCH, ColumnType::Text),
        (INDEX, ColumnType::Integer),
        (SYNCED, ColumnType::Timestamp),
        (DELETED, ColumnType::Boolean),
    ] {
        let append_only = name == BATCH || name == INDEX;
        if !has(name) && (!append_only || primary_key.is_empty()) {
            definitions.push(format!("{} {}", quote(name), kind.sql()));
        }
    }
    let key_list: Vec<String> = key.iter().map(|c| quote(c)).collect();
    definitions.push(format!("PRIMARY KEY ({})", key_list.join(", ")));
    format!(
        "CREATE TABLE {} (\n  {}\n)",
        quote(sql_table),
        definitions.join(",\n  ")
    )
}

/// Makes the table hold `wanted` (column → type of the new values): adds missing columns and widens existing ones.
/// Returns the resulting columns. Column names match case-insensitively, as SQLite's do.
pub fn fit_columns(
    conn: &Connection,
    sql_table: &str,
    primary_key: &[String],
    wanted: &BTreeMap<String, ColumnType>,
) -> Result<Vec<Column>> {
    let mut current = columns(conn, sql_table)?;
    let mut needs_rebuild = false;
    let mut added = Vec::new();
    for (name, kind) in wanted {
        match current
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name))
        {
            Some(column) => {
                let wider = widen(column.kind, *kind);
                if wider != column.kind {
                    needs_rebuild = true;
                }
            }
            None => added.push(Column {
                name: name.clone(),
                kind: *kind,
            }),
        }
    }
    if needs_rebuild {
        rebuild(conn, sql_table, primary_key, &current, wanted)?;
        current = columns(conn, sql_table)?;
    }
    for column in added {
        conn.execute_batch(
            format!(
                "ALTER TABLE {} ADD COLUMN {} {}",
                quote(sql_table),
                quote(&column.name),
                column.kind.sql()
            )
            .trim_end(),
        )?;
        current.push(column);
    }
    Ok(current)
}

/// Rebuilds a table with every column widened to hold the wanted types, converting stored values.
fn rebuild(
    conn: &Connection,
    sql_table: &str,
    primary_key: &[String],
    current: &[Column],
    wanted: &BTreeMap<String, ColumnType>,
) -> Result<()> {
    let scratch = format!("{sql_table}__fivetran_local_rebuild");
    let mut new_columns = Vec::new();
    let mut expressions = Vec::new();
    for column in current {
        let target = wanted
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&column.name))
            .map_or(column.kind, |(_, kind)| widen(column.kind, *kind));
        expressions.push(widening_expression(
            &quote(&column.name),
            column.kind,
            target,
        ));
        new_columns.push(Column {
            name: column.name.clone(),
            kind: target,
        });
    }
    let data: Vec<Column> = new_columns
        .iter()
        .filter(|c| !is_system_column(&c.name))
        .cloned()
        .collect();
    // System columns keep their place at the end; `create_statement` appends them.
    let mut statement = create_statement(&scratch, primary_key, &data);
    statement.push(';');
    let system: Vec<&Column> = new_columns
        .iter()
        .filter(|c| is_system_column(&c.name))
        .collect();
    let ordered: Vec<&Column> = data.iter().chain(system).collect();
    let names: Vec<String> = ordered.iter().map(|c| quote(&c.name)).collect();
    let select: Vec<String> = ordered
        .iter()
        .map(|c| {
            let position = new_columns
                .iter()
                .position(|n| n.name == c.name)
                .unwrap_or_default();
            expressions[position].clone()
        })
        .collect();
    statement.push_str(&format!(
        "INSERT INTO {} ({}) SELECT {} FROM {};",
        quote(&scratch),
        names.join(", "),
        select.join(", "),
        quote(sql_table)
    ));
    statement.push_str(&format!(
        "DROP TABLE {};ALTER TABLE {} RENAME TO {};",
        quote(sql_table),
        quote(&scratch),
        quote(sql_table)
    ));
    conn.execute_batch(&statement)?;
    Ok(())
}

/// Whether a table exists.
pub fn table_exists(conn: &Connection, sql_table: &str) -> Result<bool> {
    Ok(conn
        .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1")?
        .exists(params![sql_table])?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_rebuild_and_add_keep_values() {
        let conn = Connection::open_in_memory().unwrap();
        let data = vec![
            Column {
                name: "id".into(),
                kind: ColumnType::Integer,
            },
            Column {
                name: "flag".into(),
                kind: ColumnType::Boolean,
            },
        ];
        create_table(&conn, "t", &["id".into()], &data).unwrap();
        conn.execute("INSERT INTO t (id, flag) VALUES (1, 1)", [])
            .unwrap();
        let wanted = BTreeMap::from([
            ("flag".to_owned(), ColumnType::Text),
            ("extra".to_owned(), ColumnType::Double),
        ]);
        let result = fit_columns(&conn, "t", &["id".into()], &wanted).unwrap();
        let kinds: Vec<(&str, ColumnType)> =
            result.iter().map(|c| (c.name.as_str(), c.kind)).collect();
        assert_eq!(
            kinds,
            vec![
                ("id", ColumnType::Integer),
                ("flag", ColumnType::Text),
                (SYNCED, ColumnType::Timestamp),
                (DELETED, ColumnType::Boolean),
                ("extra", ColumnType::Double),
            ]
        );
        let flag: String = conn
            .query_row("SELECT flag FROM t WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(flag, "true");
    }
}
