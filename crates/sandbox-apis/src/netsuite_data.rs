//! NetSuite dataset: `customer`, `transaction` and `item` rows as SuiteQL sees them (lower-case columns, string
//! values, nulls absent), generated from a seed, changed in seeded steps (creates and updates, no deletes).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::Changing;
use crate::ground_truth::GroundTruth;
use crate::paging::DataClock;
use crate::prng::{CITIES, FIRST_NAMES, LAST_NAMES, Rng, email, sentence};

/// The account's time zone: a fixed UTC−08:00 (no daylight saving). Dates in results and in `TO_DATE` are local.
pub const ACCOUNT_OFFSET_SECS: i64 = -8 * 3600;

/// The record types served.
pub const RECORD_TYPES: &[&str] = &["customer", "transaction", "item"];

/// Date-time columns (compared and formatted as dates).
pub const DATE_COLUMNS: &[&str] = &["lastmodifieddate", "datecreated", "createddate"];

/// The columns of a record type (`SELECT *` returns those that are not null).
pub fn columns(record_type: &str) -> &'static [&'static str] {
    match record_type {
        "customer" => &[
            "id",
            "datecreated",
            "lastmodifieddate",
            "entityid",
            "companyname",
            "firstname",
            "lastname",
            "email",
            "isinactive",
            "subsidiary",
            "currency",
            "billcity",
            "comments",
        ],
        "transaction" => &[
            "id",
            "createddate",
            "lastmodifieddate",
            "tranid",
            "type",
            "entity",
            "status",
            "foreigntotal",
            "currency",
            "trandate",
            "memo",
            "externalid",
        ],
        _ => &[
            "id",
            "createddate",
            "lastmodifieddate",
            "itemid",
            "displayname",
            "itemtype",
            "baseprice",
            "isinactive",
            "description",
        ],
    }
}

/// One row: id, times (UTC seconds) and the other columns as text.
pub struct NsRow {
    pub id: i64,
    pub created: i64,
    pub modified: i64,
    pub fields: BTreeMap<String, String>,
    /// Pre-serialized `SELECT *` item (with `"links": []`).
    pub star_json: String,
}

impl NsRow {
    /// The value of a column as SuiteQL returns it for `SELECT *` (dates in the account's short date format).
    pub fn value(&self, column: &str) -> Option<String> {
        match column {
            "id" => Some(self.id.to_string()),
            "lastmodifieddate" => Some(short_date(self.modified)),
            "datecreated" | "createddate" => Some(short_date(self.created)),
            other => self.fields.get(other).cloned(),
        }
    }

    /// Local (account time zone) seconds of a date column.
    pub fn local_time(&self, column: &str) -> Option<i64> {
        match column {
            "lastmodifieddate" => Some(self.modified + ACCOUNT_OFFSET_SECS),
            "datecreated" | "createddate" => Some(self.created + ACCOUNT_OFFSET_SECS),
            _ => None,
        }
    }

    /// All columns of `SELECT *` (without `links`).
    pub fn star(&self, record_type: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        let created_col = if record_type == "customer" {
            "datecreated"
        } else {
            "createddate"
        };
        m.insert(created_col.into(), json!(short_date(self.created)));
        m.insert("lastmodifieddate".into(), json!(short_date(self.modified)));
        for (k, v) in &self.fields {
            m.insert(k.clone(), json!(v));
        }
        m
    }

    fn render(&mut self, record_type: &str) {
        let mut m = Map::new();
        m.insert("links".into(), json!([]));
        m.extend(self.star(record_type));
        self.star_json = Value::Object(m).to_string();
    }
}

/// `M/D/YYYY` in the account's time zone — NetSuite's default short date, which drops the time.
pub fn short_date(utc_secs: i64) -> String {
    let t = DateTime::<Utc>::from_timestamp(utc_secs + ACCOUNT_OFFSET_SECS, 0).unwrap_or_default();
    t.format("%-m/%-d/%Y").to_string()
}

/// All rows per record type, ordered by id.
pub struct NetSuiteData {
    pub tables: BTreeMap<&'static str, Vec<NsRow>>,
    clock: DataClock,
    step: u64,
    seed: u64,
}

impl NetSuiteData {
    /// `records` rows of each record type.
    pub fn generate(seed: u64, records: usize, clock: DataClock) -> NetSuiteData {
        let mut data = NetSuiteData {
            tables: BTreeMap::new(),
            clock,
            step: 0,
            seed,
        };
        let span = 600 * 86_400_i64;
        for t in RECORD_TYPES {
            data.tables.insert(t, Vec::with_capacity(records));
            for i in 0..records {
                let created = clock.epoch - span + span * i as i64 / (records as i64 + 1);
                data.add(t, created, false);
            }
        }
        data
    }

    fn add(&mut self, record_type: &'static str, created: i64, fresh: bool) {
        let rows = self.tables.get(record_type).map_or(0, Vec::len) as i64;
        let id = 100 + rows * 3 + (record_type.len() as i64 % 3);
        let mut rng = Rng::new(self.seed, (record_type.len() as u64) << 48 | id as u64);
        let modified = if fresh {
            created
        } else {
            (created + rng.range(0, 60 * 86_400)).min(self.clock.epoch - 1)
        };
        let mut f = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            f.insert(k.to_owned(), v);
        };
        match record_type {
            "customer" => {
                let (first, last) = (rng.pick_str(FIRST_NAMES), rng.pick_str(LAST_NAMES));
                put("entityid", format!("CUST{id:06}"));
                put(
                    "companyname",
                    format!(
                        "{last} & {first} {}",
                        rng.pick_str(&["Ltd", "GmbH", "S.A.", "株式会社"])
                    ),
                );
                put("firstname", first.to_owned());
                put("lastname", last.to_owned());
                if !rng.chance(0.15) {
                    put("email", email(first, last, id as u64));
                }
                put(
                    "isinactive",
                    if rng.chance(0.1) { "T" } else { "F" }.to_owned(),
                );
                put("subsidiary", "1".to_owned());
                put("currency", rng.range(1, 4).to_string());
                put("billcity", rng.pick_str(CITIES).to_owned());
                if rng.chance(0.3) {
                    put("comments", sentence(&mut rng, 5));
                }
            }
            "transaction" => {
                put("tranid", format!("SO{id:07}"));
                put(
                    "type",
                    rng.pick_str(&["SalesOrd", "CustInvc", "CashSale"])
                        .to_owned(),
                );
                put(
                    "entity",
                    (100 + rng.below(rows.max(1) as u64) as i64 * 3).to_string(),
                );
                put("status", rng.pick_str(&["A", "B", "F", "G"]).to_owned());
                put(
                    "foreigntotal",
                    format!("{}.{:02}", rng.range(1, 2_000_000), rng.range(0, 99)),
                );
                put("currency", rng.range(1, 4).to_string());
                put("trandate", short_date(created));
                if rng.chance(0.4) {
                    put("memo", sentence(&mut rng, 4));
                }
                put("externalid", format!("{}", 9_007_199_254_740_993_i64 + id));
            }
            _ => {
                put("itemid", format!("ITEM-{id:05}"));
                put("displayname", sentence(&mut rng, 2));
                put(
                    "itemtype",
                    rng.pick_str(&["InvtPart", "NonInvtPart", "Service"])
                        .to_owned(),
                );
                put(
                    "baseprice",
                    format!("{}.{:02}", rng.range(1, 900), rng.range(0, 99)),
                );
                put(
                    "isinactive",
                    if rng.chance(0.05) { "T" } else { "F" }.to_owned(),
                );
                if rng.chance(0.5) {
                    put("description", sentence(&mut rng, 6));
                }
            }
        }
        let mut row = NsRow {
            id,
            created,
            modified,
            fields: f,
            star_json: String::new(),
        };
        row.render(record_type);
        self.tables.entry(record_type).or_default().push(row);
    }

    /// One change step: new rows and edits, each moving `lastmodifieddate` to the data clock.
    pub fn change(&mut self, changing: &Changing) {
        self.step += 1;
        let mut rng = Rng::new(self.seed ^ 0x0005_0173, self.step);
        let now = self.clock.advance(&mut rng);
        for _ in 0..changing.creates {
            let t = rng.pick_str(RECORD_TYPES);
            self.add(t, now, true);
        }
        for _ in 0..changing.updates {
            let t = rng.pick_str(RECORD_TYPES);
            let Some(rows) = self.tables.get_mut(t) else {
                continue;
            };
            if rows.is_empty() {
                continue;
            }
            let i = rng.below(rows.len() as u64) as usize;
            let row = &mut rows[i];
            let (column, value) = match t {
                "customer" => ("billcity", rng.pick_str(CITIES).to_owned()),
                "transaction" => ("status", rng.pick_str(&["A", "B", "F", "G"]).to_owned()),
                _ => (
                    "baseprice",
                    format!("{}.{:02}", rng.range(1, 900), rng.range(0, 99)),
                ),
            };
            row.fields.insert(column.to_owned(), value);
            row.modified = now;
            row.render(t);
        }
    }

    /// One table per record type, rows as `SELECT *` returns them (minus `links`), keyed by `id`.
    pub fn ground_truth(&self) -> GroundTruth {
        let mut truth = GroundTruth::default();
        for (t, rows) in &self.tables {
            let table = truth.table(t, &["id"]);
            for row in rows {
                table.insert(row.star(t));
            }
        }
        truth
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paging::EPOCH_2026;

    #[test]
    fn short_dates_are_local() {
        // 2026-01-01T00:00:00Z is still Dec 31 at UTC−8.
        assert_eq!(short_date(EPOCH_2026), "12/31/2025");
        assert_eq!(short_date(EPOCH_2026 + 8 * 3600), "1/1/2026");
    }

    #[test]
    fn rows_are_strings_and_sorted() {
        let d = NetSuiteData::generate(1, 20, DataClock::fixed());
        for (t, rows) in &d.tables {
            assert_eq!(rows.len(), 20);
            assert!(rows.windows(2).all(|w| w[0].id < w[1].id), "{t}");
            let star = rows[0].star(t);
            assert!(star.values().all(Value::is_string));
        }
    }

    #[test]
    fn changes_are_reproducible() {
        let (mut a, mut b) = (
            NetSuiteData::generate(4, 10, DataClock::fixed()),
            NetSuiteData::generate(4, 10, DataClock::fixed()),
        );
        for _ in 0..10 {
            a.change(&Changing::default());
            b.change(&Changing::default());
        }
        assert_eq!(a.ground_truth(), b.ground_truth());
        let total: usize = a.tables.values().map(Vec::len).sum();
        assert_eq!(total, 40);
    }
}
