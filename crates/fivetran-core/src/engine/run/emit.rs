//! The record loop: shaping each record of a page into rows and adding them while the byte budget allows.

use super::{Emitted, Run};
use crate::connector::Stream;
use crate::engine::Prepared;
use crate::error::{Error, Result};
use crate::paginate::{Position, Style};
use crate::records::{self, ShapedRow};
use crate::row::{Field, LazyRow, Page};
use crate::state::Window;

impl Run<'_> {
    /// Emits a page's records (after `window.skip`), record by record, while the byte budget allows.
    pub(super) fn emit(
        &mut self,
        stream: &Stream,
        window: &mut Window,
        page: &Page,
    ) -> Result<Emitted> {
        let p = self.p;
        let key_ordered = stream.pagination.key_ordered.as_deref();
        let keyset = match &stream.pagination.style {
            Style::Keyset { field, .. } => Some(field.as_str()),
            _ => None,
        };
        let filter = stream
            .incremental
            .as_ref()
            .and_then(|i| i.field.as_deref())
            .zip(window.since);
        let skip = window.skip as usize;
        let selected = |t: &str| p.selected(t);
        let mut scratch = Vec::new();
        for (index, text) in page.records().enumerate().skip(skip) {
            let row = LazyRow::parse(text).ok_or_else(|| Error::MissingKey {
                stream: stream.key.clone(),
                column: "(the record is not a JSON object)".into(),
            })?;
            let key = key_ordered.and_then(|f| row.get(f).and_then(Field::text));
            if let (Some(k), Some(last)) = (&key, &window.last_key)
                && records::key_cmp(k, last).is_le()
            {
                continue;
            }
            let keyset_key = keyset.and_then(|f| row.get(f).and_then(Field::text));
            let old = filter.is_some_and(|(field, since)| {
                row.get(field)
                    .and_then(Field::text)
                    .and_then(|t| records::instant(&t))
                    .is_some_and(|t| t < since)
            });
            if !old {
                scratch.clear();
                records::shape(stream, row, &selected, &p.config.tables, &mut scratch)?;
                if !self.write_record(stream, &scratch)? {
                    // Key-ordered pages resume after `last_key`, keyset after `position`; others by count.
                    window.skip = if key_ordered.is_some() || keyset.is_some() {
                        0
                    } else {
                        index as u64
                    };
                    return Ok(Emitted::Full);
                }
            }
            if key.is_some() {
                window.last_key = key;
            }
            if let Some(k) = keyset_key {
                window.position = Position::After(k);
            }
        }
        Ok(Emitted::All)
    }

    /// Serializes the shaped rows of one record and adds them if they fit; `false` when the budget is full.
    fn write_record(&mut self, stream: &Stream, rows: &[ShapedRow<'_>]) -> Result<bool> {
        self.buf.clear();
        self.ranges.clear();
        let mut size = 0;
        for shaped in rows {
            if shaped.from_hook && self.hook_keys.contains(&hook_key(self.p, shaped)) {
                self.ranges.push(None);
                continue;
            }
            let start = self.buf.len();
            shaped.row.write(&mut self.buf);
            self.ranges.push(Some((start, self.buf.len())));
            size += self.buf.len() - start + shaped.table.len() + 7;
        }
        let room = self.sink.room(&self.payload, self.state_bytes);
        if size > room {
            if self.payload.rows() == 0 {
                return Err(Error::RecordTooLarge {
                    stream: stream.key.clone(),
                    key: records::key_text(&stream.table.primary_key, &rows[0].row),
                    size,
                    budget: room,
                });
            }
            return Ok(false);
        }
        for (shaped, range) in rows.iter().zip(&self.ranges) {
            let Some((start, end)) = *range else {
                continue;
            };
            self.payload
                .push_serialized(shaped.table, shaped.kind, &self.buf[start..end]);
            if shaped.from_hook {
                self.hook_keys.insert(hook_key(self.p, shaped));
            }
        }
        Ok(true)
    }
}

/// The deduplication key of a hook row: table and primary key.
fn hook_key(p: &Prepared, shaped: &ShapedRow<'_>) -> String {
    let pk = p
        .config
        .tables
        .iter()
        .find(|t| t.name == shaped.table)
        .map_or(&[][..], |t| t.primary_key.as_slice());
    format!(
        "{}\u{0}{}",
        shaped.table,
        records::key_text(pk, &shaped.row)
    )
}
