//! The local warehouse: one SQLite file that `sqlite3`, Python and DuckDB read, written with Fivetran's semantics.
//!
//! Tables are created and widened as columns appear ([`ddl`]), values typed by inference ([`types`]). Rows upsert by
//! primary key (a row whose key exists is replaced; columns it lacks become `NULL`) or, without one, are appended with
//! `_fivetran_batch` and `_fivetran_index`. Deletes remove rows; for tables listed in `softDelete` they set
//! `_fivetran_deleted` instead, and a row that comes back flips it to false. Every written row gets `_fivetran_synced`.
//! A response's inserts are applied before its deletes.
//!
//! Several connections may share a file: each has a name, an optional table prefix, its saved state in
//! `_fivetran_local_state`, and its tables' primary keys in `_fivetran_local_tables`. [`Warehouse::apply`] writes
//! one call's rows together with its new state in ONE transaction, so a failure leaves both as they were.

pub mod ddl;
mod read;
pub mod types;
mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use ddl::Column;
use types::quote;
use write::{TableWriter, delete_rows};

/// One row: column → JSON value.
pub type Row = Map<String, Value>;

/// One call's changes, already checked against the protocol.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Rows to upsert or append, by table.
    pub insert: BTreeMap<String, Vec<Row>>,
    /// Rows to delete (primary-key columns at least), by table.
    pub delete: BTreeMap<String, Vec<Row>>,
    /// Tables whose deletes are soft.
    pub soft_delete: BTreeSet<String>,
    /// Primary key of each table (empty: append-only).
    pub primary_keys: BTreeMap<String, Vec<String>>,
}

/// What one call did to one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TableCounts {
    /// Rows that did not exist before (appended rows included).
    pub inserted: u64,
    /// Rows that replaced an existing row with the same primary key.
    pub updated: u64,
    /// Rows removed by a hard delete.
    pub deleted: u64,
    /// Rows marked `_fivetran_deleted = true`.
    pub soft_deleted: u64,
}

impl TableCounts {
    /// Adds another call's counts.
    pub fn add(&mut self, other: TableCounts) {
        self.inserted += other.inserted;
        self.updated += other.updated;
        self.deleted += other.deleted;
        self.soft_deleted += other.soft_deleted;
    }
}

/// A warehouse file opened for one connection.
#[derive(Debug)]
pub struct Warehouse {
    conn: Connection,
    path: PathBuf,
    connection: String,
    prefix: String,
}

impl Warehouse {
    /// Opens (or creates) the warehouse file for `connection`; its tables are named `<prefix><table>`.
    pub fn open(path: &Path, connection: &str, prefix: &str) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create the folder", parent, e))?;
        }
        let conn = Connection::open(path).map_err(|e| Error::Warehouse {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        // A reader (sqlite3, Python, DuckDB) may hold the file for a moment; wait for it rather than fail.
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS _fivetran_local_state (
               connection TEXT PRIMARY KEY, state JSON NOT NULL, updated_at TIMESTAMP NOT NULL);
             CREATE TABLE IF NOT EXISTS _fivetran_local_tables (
               connection TEXT NOT NULL, table_name TEXT NOT NULL, sql_name TEXT NOT NULL,
               primary_key JSON NOT NULL, PRIMARY KEY (connection, table_name));",
        )
        .map_err(|e| Error::Warehouse {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Warehouse {
            conn,
            path: path.to_owned(),
            connection: connection.to_owned(),
            prefix: prefix.to_owned(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection name.
    pub fn connection(&self) -> &str {
        &self.connection
    }

    /// The SQL name of a destination table.
    pub fn sql_name(&self, table: &str) -> String {
        format!("{}{}", self.prefix, table)
    }

    /// The saved state (`{}` when none).
    pub fn state(&self) -> Result<Map<String, Value>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT state FROM _fivetran_local_state WHERE connection = ?1",
                params![self.connection],
                |row| row.get(0),
            )
            .optional()?;
        match text {
            None => Ok(Map::new()),
            Some(text) => match serde_json::from_str(&text) {
                Ok(Value::Object(state)) => Ok(state),
                _ => Err(Error::Warehouse {
                    path: self.path.clone(),
                    reason: format!(
                        "the saved state of `{}` is not a JSON object",
                        self.connection
                    ),
                }),
            },
        }
    }

    /// Forgets the saved state; with `drop_tables`, also drops the connection's tables.
    pub fn reset(&mut self, drop_tables: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "DELETE FROM _fivetran_local_state WHERE connection = ?1",
            params![self.connection],
        )?;
        if drop_tables {
            let names: Vec<String> = {
                let mut statement = tx
                    .prepare("SELECT sql_name FROM _fivetran_local_tables WHERE connection = ?1")?;
                let rows = statement.query_map(params![self.connection], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for name in names {
                tx.execute_batch(&format!("DROP TABLE IF EXISTS {}", quote(&name)))?;
            }
            tx.execute(
                "DELETE FROM _fivetran_local_tables WHERE connection = ?1",
                params![self.connection],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The connection's destination tables (names without prefix), sorted.
    pub fn tables(&self) -> Result<Vec<String>> {
        let mut statement = self.conn.prepare(
            "SELECT table_name FROM _fivetran_local_tables WHERE connection = ?1 ORDER BY table_name",
        )?;
        let rows = statement.query_map(params![self.connection], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The primary key of each of the connection's tables.
    pub fn primary_keys(&self) -> Result<BTreeMap<String, Vec<String>>> {
        let mut statement = self.conn.prepare(
            "SELECT table_name, primary_key FROM _fivetran_local_tables WHERE connection = ?1",
        )?;
        let rows = statement.query_map(params![self.connection], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut keys = BTreeMap::new();
        for row in rows {
            let (table, key) = row?;
            keys.insert(table, serde_json::from_str(&key).unwrap_or_default());
        }
        Ok(keys)
    }

    /// The columns of a destination table, system columns included.
    pub fn columns(&self, table: &str) -> Result<Vec<Column>> {
        ddl::columns(&self.conn, &self.sql_name(table))
    }

    /// Number of rows in a destination table (soft-deleted rows included); 0 when it does not exist.
    pub fn row_count(&self, table: &str) -> Result<u64> {
        let name = self.sql_name(table);
        if !ddl::table_exists(&self.conn, &name)? {
            return Ok(0);
        }
        let count: i64 =
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM {}", quote(&name)), [], |r| {
                    r.get(0)
                })?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    /// Writes one call's changes and the new state in one transaction. On error nothing is written.
    pub fn apply(
        &mut self,
        changes: &Changes,
        new_state: &Map<String, Value>,
        batch: &str,
        synced_at: DateTime<Utc>,
    ) -> Result<BTreeMap<String, TableCounts>> {
        let synced = synced_at.to_rfc3339_opts(SecondsFormat::Millis, true);
        let tx = self.conn.transaction()?;
        let mut counts: BTreeMap<String, TableCounts> = BTreeMap::new();
        for (table, rows) in &changes.insert {
            let key = changes.primary_keys.get(table).cloned().unwrap_or_default();
            let sql_table = format!("{}{}", self.prefix, table);
            let writer =
                TableWriter::prepare(&tx, &self.connection, table, &sql_table, &key, rows)?;
            let entry = counts.entry(table.clone()).or_default();
            writer.upsert(&tx, rows, batch, &synced, entry)?;
        }
        for (table, rows) in &changes.delete {
            let key = changes.primary_keys.get(table).cloned().unwrap_or_default();
            let sql_table = format!("{}{}", self.prefix, table);
            let soft = changes.soft_delete.contains(table);
            let entry = counts.entry(table.clone()).or_default();
            delete_rows(&tx, table, &sql_table, &key, rows, soft, &synced, entry)?;
        }
        tx.execute(
            "INSERT INTO _fivetran_local_state (connection, state, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (connection) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
            params![self.connection, Value::Object(new_state.clone()).to_string(), synced],
        )?;
        tx.commit()?;
        Ok(counts)
    }

    /// Every table of the connection, read back with [`Warehouse::read_table`]: the shape ground truths compare.
    pub fn read_all(&self) -> Result<BTreeMap<String, Vec<Row>>> {
        self.tables()?
            .into_iter()
            .map(|table| Ok((table.clone(), self.read_table(&table)?)))
            .collect()
    }

    /// Reads a destination table back as JSON rows, ordered by primary key (or append order), system columns
    /// included. Values come back in their column's type: booleans as booleans, JSON columns as nested values.
    pub fn read_table(&self, table: &str) -> Result<Vec<Row>> {
        read::read_table(&self.conn, &self.sql_name(table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn changes(table: &str, rows: Value) -> Changes {
        Changes {
            insert: BTreeMap::from([(
                table.to_owned(),
                rows.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_object().unwrap().clone())
                    .collect(),
            )]),
            primary_keys: BTreeMap::from([(table.to_owned(), vec!["id\"x".to_owned()])]),
            ..Changes::default()
        }
    }

    #[test]
    fn hostile_names_are_quoted_not_executed() {
        let dir = tempfile::tempdir().unwrap();
        let mut warehouse = Warehouse::open(&dir.path().join("w.sqlite"), "c", "p_").unwrap();
        let table = "t\"; DROP TABLE _fivetran_local_state; --";
        let rows = json!([{"id\"x": 1, "col\"; --": "v"}]);
        let state = json!({"k": 1}).as_object().unwrap().clone();
        warehouse
            .apply(&changes(table, rows), &state, "b", Utc::now())
            .unwrap();
        assert_eq!(warehouse.state().unwrap(), state);
        let read = warehouse.read_table(table).unwrap();
        assert_eq!(read[0]["col\"; --"], json!("v"));
        assert_eq!(warehouse.tables().unwrap(), vec![table.to_owned()]);
    }

    #[test]
    fn a_table_of_another_connection_is_not_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let state = Map::new();
        let rows = json!([{"id\"x": 1}]);
        Warehouse::open(&path, "a", "")
            .unwrap()
            .apply(&changes("t", rows.clone()), &state, "b", Utc::now())
            .unwrap();
        let error = Warehouse::open(&path, "b", "")
            .unwrap()
            .apply(&changes("t", rows), &state, "b", Utc::now())
            .unwrap_err();
        assert!(
            error.to_string().contains("belongs to another connection"),
            "{error}"
        );
    }
}
