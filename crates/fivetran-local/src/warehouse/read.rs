//! Reading a destination table back as JSON rows, each value in its column's type.

use rusqlite::Connection;
use serde_json::Map;

use super::Row;
use super::ddl::{self, BATCH, INDEX};
use super::types::{from_sql, quote};
use crate::error::Result;

/// All rows of `sql_table`, ordered by primary key (or by `_fivetran_batch`, `_fivetran_index`); an empty list when
/// the table does not exist.
pub fn read_table(conn: &Connection, sql_table: &str) -> Result<Vec<Row>> {
    if !ddl::table_exists(conn, sql_table)? {
        return Ok(Vec::new());
    }
    let columns = ddl::columns(conn, sql_table)?;
    let key = primary_key(conn, sql_table)?;
    let order: Vec<String> = if key.is_empty() {
        vec![quote(BATCH), quote(INDEX)]
    } else {
        key.iter().map(|k| quote(k)).collect()
    };
    let names: Vec<String> = columns.iter().map(|c| quote(&c.name)).collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        names.join(", "),
        quote(sql_table),
        order.join(", ")
    );
    let mut statement = conn.prepare(&sql)?;
    let mut rows = statement.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut object = Map::new();
        for (i, column) in columns.iter().enumerate() {
            object.insert(column.name.clone(), from_sql(row.get_ref(i)?, column.kind));
        }
        out.push(object);
    }
    Ok(out)
}

/// The primary-key columns of a table, in key order.
fn primary_key(conn: &Connection, sql_table: &str) -> Result<Vec<String>> {
    let mut statement = conn.prepare(&format!("PRAGMA table_info({})", quote(sql_table)))?;
    let mut key: Vec<(i64, String)> = statement
        .query_map([], |row| {
            Ok((row.get::<_, i64>(5)?, row.get::<_, String>(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .filter(|(position, _)| *position > 0)
        .collect();
    key.sort();
    Ok(key.into_iter().map(|(_, name)| name).collect())
}
