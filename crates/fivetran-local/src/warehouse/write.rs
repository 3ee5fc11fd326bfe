//! Writing one call's rows into destination tables: creating and widening tables, upserting or appending rows,
//! and hard or soft deletes by primary key. Runs inside the transaction [`super::Warehouse::apply`] opens.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};
use serde_json::Value;

use super::ddl::{self, BATCH, Column, DELETED, INDEX, SYNCED, is_system_column};
use super::types::{ColumnType, infer, quote, to_sql, widen};
use super::{Row, TableCounts};
use crate::error::{Error, Result};

/// The prepared shape of one table for one call's inserts.
pub(super) struct TableWriter {
    sql_table: String,
    key: Vec<String>,
    columns: Vec<Column>,
}

impl TableWriter {
    /// Creates or widens the table so that it holds every value of `rows`.
    pub(super) fn prepare(
        tx: &Transaction<'_>,
        connection: &str,
        table: &str,
        sql_table: &str,
        key: &[String],
        rows: &[Row],
    ) -> Result<Self> {
        let mut wanted: BTreeMap<String, ColumnType> = BTreeMap::new();
        for row in rows {
            for (name, value) in row {
                if is_system_column(name) {
                    continue;
                }
                let entry = wanted.entry(name.clone()).or_insert(ColumnType::Unknown);
                *entry = widen(*entry, infer(value));
            }
        }
        let known: Option<String> = tx
            .query_row(
                "SELECT primary_key FROM _fivetran_local_tables WHERE connection = ?1 AND table_name = ?2",
                params![connection, table],
                |r| r.get(0),
            )
            .optional()?;
        let key_json = Value::from(key.to_vec()).to_string();
        match known {
            Some(previous) if previous != key_json => {
                return Err(Error::PrimaryKeyChanged {
                    table: table.to_owned(),
                    before: previous,
                    after: key_json,
                });
            }
            Some(_) => {}
            None => {
                if ddl::table_exists(tx, sql_table)? {
                    return Err(Error::TableTaken {
                        table: sql_table.to_owned(),
                    });
                }
                // Key columns first, in key order, then the rest by name.
                let mut data: Vec<Column> = key
                    .iter()
                    .map(|k| Column {
                        name: k.clone(),
                        kind: wanted.get(k).copied().unwrap_or(ColumnType::Unknown),
                    })
                    .collect();
                data.extend(
                    wanted
                        .iter()
                        .filter(|(n, _)| !key.contains(n))
                        .map(|(n, k)| Column {
                            name: n.clone(),
                            kind: *k,
                        }),
                );
                ddl::create_table(tx, sql_table, key, &data)?;
                tx.execute(
                    "INSERT INTO _fivetran_local_tables (connection, table_name, sql_name, primary_key)
                     VALUES (?1, ?2, ?3, ?4)",
                    params![connection, table, sql_table, key_json],
                )?;
            }
        }
        let columns = ddl::fit_columns(tx, sql_table, key, &wanted)?;
        Ok(TableWriter {
            sql_table: sql_table.to_owned(),
            key: key.to_vec(),
            columns,
        })
    }

    pub(super) fn upsert(
        &self,
        tx: &Transaction<'_>,
        rows: &[Row],
        batch: &str,
        synced: &str,
        counts: &mut TableCounts,
    ) -> Result<()> {
        let data: Vec<&Column> = self
            .columns
            .iter()
            .filter(|c| !is_system_column(&c.name))
            .collect();
        let mut names: Vec<String> = data.iter().map(|c| quote(&c.name)).collect();
        let append = self.key.is_empty();
        if append {
            names.push(quote(BATCH));
            names.push(quote(INDEX));
        }
        names.push(quote(SYNCED));
        names.push(quote(DELETED));
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote(&self.sql_table),
            names.join(", "),
            placeholders.join(", ")
        );
        if !append {
            let keys: Vec<String> = self.key.iter().map(|k| quote(k)).collect();
            let updates: Vec<String> = names
                .iter()
                .filter(|n| !keys.contains(n))
                .map(|n| format!("{n} = excluded.{n}"))
                .collect();
            sql.push_str(&format!(
                " ON CONFLICT ({}) DO UPDATE SET {}",
                keys.join(", "),
                updates.join(", ")
            ));
        }
        let mut insert = tx.prepare_cached(&sql)?;
        let exists_sql = if append {
            String::new()
        } else {
            let conditions: Vec<String> = self
                .key
                .iter()
                .enumerate()
                .map(|(i, k)| format!("{} = ?{}", quote(k), i + 1))
                .collect();
            format!(
                "SELECT 1 FROM {} WHERE {}",
                quote(&self.sql_table),
                conditions.join(" AND ")
            )
        };
        for (index, row) in rows.iter().enumerate() {
            let mut values: Vec<rusqlite::types::Value> = data
                .iter()
                .map(|c| {
                    let value = lookup(row, &c.name).unwrap_or(&Value::Null);
                    to_sql(value, c.kind)
                })
                .collect();
            if append {
                values.push(batch.to_owned().into());
                values.push(i64::try_from(index).unwrap_or(i64::MAX).into());
                counts.inserted += 1;
            } else {
                let key_values: Vec<rusqlite::types::Value> = self
                    .key
                    .iter()
                    .map(|k| key_value(&self.columns, row, k))
                    .collect();
                let existed = tx
                    .prepare_cached(&exists_sql)?
                    .exists(params_from_iter(key_values))?;
                if existed {
                    counts.updated += 1;
                } else {
                    counts.inserted += 1;
                }
            }
            values.push(synced.to_owned().into());
            values.push(0_i64.into());
            insert.execute(params_from_iter(values))?;
        }
        Ok(())
    }
}

/// Removes (or soft-deletes) rows by primary key.
#[allow(clippy::too_many_arguments)]
pub(super) fn delete_rows(
    tx: &Transaction<'_>,
    table: &str,
    sql_table: &str,
    key: &[String],
    rows: &[Row],
    soft: bool,
    synced: &str,
    counts: &mut TableCounts,
) -> Result<()> {
    if key.is_empty() {
        return Err(Error::DeleteWithoutKey {
            table: table.to_owned(),
        });
    }
    if !ddl::table_exists(tx, sql_table)? {
        return Ok(());
    }
    let columns = ddl::columns(tx, sql_table)?;
    let conditions: Vec<String> = key
        .iter()
        .enumerate()
        .map(|(i, k)| format!("{} = ?{}", quote(k), i + 1))
        .collect();
    let sql = if soft {
        format!(
            "UPDATE {} SET {} = 1, {} = ?{} WHERE {} AND {} = 0",
            quote(sql_table),
            quote(DELETED),
            quote(SYNCED),
            key.len() + 1,
            conditions.join(" AND "),
            quote(DELETED)
        )
    } else {
        format!(
            "DELETE FROM {} WHERE {}",
            quote(sql_table),
            conditions.join(" AND ")
        )
    };
    let mut statement = tx.prepare_cached(&sql)?;
    for row in rows {
        let mut values: Vec<rusqlite::types::Value> =
            key.iter().map(|k| key_value(&columns, row, k)).collect();
        if soft {
            values.push(synced.to_owned().into());
        }
        let changed = statement.execute(params_from_iter(values))? as u64;
        if soft {
            counts.soft_deleted += changed;
        } else {
            counts.deleted += changed;
        }
    }
    Ok(())
}

/// A row's value for a column, matching the name case-insensitively as SQLite does.
fn lookup<'a>(row: &'a Row, column: &str) -> Option<&'a Value> {
    row.get(column).or_else(|| {
        row.iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(column))
            .map(|(_, v)| v)
    })
}

/// A primary-key value converted to its column's type, for matching.
fn key_value(columns: &[Column], row: &Row, key: &str) -> rusqlite::types::Value {
    let kind = columns
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(key))
        .map_or(ColumnType::Text, |c| c.kind);
    to_sql(lookup(row, key).unwrap_or(&Value::Null), kind)
}
