//! The loan origination API stand-in, following `docs/apis/loan-api.md` exactly: bearer key, page-number paging over
//! the id-ordered current set (deletions shift later records one position earlier), and the `/deleted` feed.

use std::collections::BTreeSet;
use std::sync::Mutex;

use serde_json::{Value, json};

use crate::Changing;
use crate::credentials::LOAN_API_KEY;
use crate::faults::FaultKind;
use crate::ground_truth::{GroundTruth, Row};
use crate::paging::{
    DataClock, at_or_after, int_param, json_array, page_range, parse_rfc3339, rfc3339, total_pages,
};
use crate::prng::{FIRST_NAMES, LAST_NAMES, Rng, email};
use crate::server::{ApiRequest, Backend, Reply};

const STATUSES: &[&str] = &["draft", "submitted", "approved", "rejected", "withdrawn"];
const PRODUCTS: &[&str] = &["mortgage", "personal", "auto", "business", "student"];
const CURRENCIES: &[&str] = &["EUR", "EUR", "EUR", "USD", "GBP", "SEK", "JPY"];
const TEAMS: &[&str] = &["north", "south", "east", "west"];
const ROLES: &[&str] = &["primary", "co_applicant", "guarantor"];

/// The loan stand-in and its current dataset.
pub struct LoanBackend {
    seed: u64,
    data: Mutex<LoanData>,
}

struct LoanData {
    /// Live applications, ordered by id.
    apps: Vec<App>,
    /// Deleted applications, ordered by id.
    deleted: Vec<Deleted>,
    advisors: Vec<Advisor>,
    /// Advisors an earlier version of an application referenced (a connector may have seen them).
    replaced_advisors: BTreeSet<usize>,
    next_seq: u64,
    /// The data clock: timestamps of changes.
    clock: DataClock,
    step: u64,
}

struct Advisor {
    id: String,
    json: Value,
}

#[derive(Clone)]
struct Applicant {
    id: String,
    fields: Value,
}

struct App {
    id: String,
    status: &'static str,
    product: &'static str,
    amount_value: String,
    currency: &'static str,
    created_at: i64,
    updated_at: i64,
    advisor: Option<usize>,
    applicants: Vec<Applicant>,
    /// Pre-serialized API representation.
    json: String,
}

struct Deleted {
    app: App,
    deleted_at: i64,
    json: String,
}

impl LoanBackend {
    /// Generates `records` applications from `seed` (about 3% of them already deleted).
    pub fn new(seed: u64, records: usize, clock: DataClock) -> Self {
        let mut rng = Rng::new(seed, 0xAD);
        let advisors = (1..=(records / 40).max(3))
            .map(|i| {
                let (first, last) = (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES));
                let id = format!("adv_{i:03}");
                let team = if rng.chance(0.1) { Value::Null } else { json!(rng.pick(TEAMS)) };
                let json = json!({"id": id, "name": format!("{first} {last}"), "email": email(first, last, i as u64), "team": team});
                Advisor { id, json }
            })
            .collect::<Vec<_>>();
        let mut data = LoanData {
            apps: Vec::with_capacity(records),
            deleted: Vec::new(),
            advisors,
            replaced_advisors: BTreeSet::new(),
            next_seq: 1,
            clock,
            step: 0,
        };
        let span = 2 * 365 * 86_400_i64;
        for i in 0..records as i64 {
            let created = clock.epoch - span + span * i / (records as i64 + 1);
            let app = data.generate(seed, created, false);
            let mut r = Rng::new(seed, 0xDE1 ^ ((i as u64) << 8));
            if r.chance(0.03) {
                let deleted_at = (app.updated_at + r.range(60, 86_400)).min(clock.epoch - 1);
                data.deleted.push(Deleted {
                    json: deleted_json(&app.id, deleted_at),
                    deleted_at,
                    app,
                });
            } else {
                data.apps.push(app);
            }
        }
        LoanBackend {
            seed,
            data: Mutex::new(data),
        }
    }

    fn list(&self, req: &ApiRequest, deleted: bool) -> Reply {
        let page = int_param(req.param("page"), 1);
        let page_size = int_param(req.param("page_size"), 100);
        let (Ok(page), Ok(page_size)) = (page, page_size) else {
            return error(400, "invalid_pagination");
        };
        if page == 0 {
            return error(400, "invalid_page");
        }
        if !(1..=500).contains(&page_size) {
            return error(400, "invalid_page_size");
        }
        let since_name = if deleted { "since" } else { "updated_since" };
        let since = match req.param(since_name) {
            None => None,
            Some(s) => match parse_rfc3339(s) {
                Some(t) => Some(t),
                None => return error(400, &format!("invalid_{since_name}")),
            },
        };
        let data = self.data.lock().expect("loan data lock");
        // Without a time filter the page is a slice of the id-ordered set; with one, the filtered set is counted and
        // only the page is collected.
        let (total, page_items): (usize, Vec<&str>) = match (deleted, since) {
            (false, None) => {
                let range = page_range(data.apps.len(), page, page_size);
                (
                    data.apps.len(),
                    data.apps[range].iter().map(|a| a.json.as_str()).collect(),
                )
            }
            (false, Some(s)) => {
                let selected = data.apps.iter().filter(|a| at_or_after(a.updated_at, s));
                let total = selected.clone().count();
                let range = page_range(total, page, page_size);
                (
                    total,
                    selected
                        .skip(range.start)
                        .take(range.len())
                        .map(|a| a.json.as_str())
                        .collect(),
                )
            }
            (true, _) => {
                let selected = data
                    .deleted
                    .iter()
                    .filter(|d| since.is_none_or(|s| at_or_after(d.deleted_at, s)));
                let total = selected.clone().count();
                let range = page_range(total, page, page_size);
                (
                    total,
                    selected
                        .skip(range.start)
                        .take(range.len())
                        .map(|d| d.json.as_str())
                        .collect(),
                )
            }
        };
        let body = format!(
            r#"{{"data":{},"pagination":{{"page":{page},"page_size":{page_size},"total_pages":{},"total_items":{total}}}}}"#,
            json_array(page_items.into_iter()),
            total_pages(total, page_size),
        );
        Reply::json(200, body)
    }
}

fn deleted_json(id: &str, at: i64) -> String {
    json!({"id": id, "deleted_at": rfc3339(at)}).to_string()
}

fn error(status: u16, code: &str) -> Reply {
    Reply::json(status, json!({ "error": code }).to_string())
}

impl LoanData {
    /// A new application with the next id, created at `created` (and updated later unless `fresh`).
    fn generate(&mut self, seed: u64, created: i64, fresh: bool) -> App {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut rng = Rng::new(seed, seq);
        let updated = if fresh {
            created
        } else {
            (created + rng.range(0, 20 * 86_400)).min(self.clock.epoch - 1)
        };
        let applicants = (1..=rng.range(1, 4))
            .map(|k| applicant(&mut rng, k as usize))
            .collect();
        let amount_cents = if rng.chance(0.05) {
            rng.range(100_000_000, 999_999_999_999)
        } else {
            rng.range(500_000, 90_000_000)
        };
        let mut app = App {
            id: format!("la_{seq:06}"),
            status: rng.pick_str(STATUSES),
            product: rng.pick_str(PRODUCTS),
            amount_value: format!("{}.{:02}", amount_cents / 100, amount_cents % 100),
            currency: rng.pick_str(CURRENCIES),
            created_at: created,
            updated_at: updated,
            advisor: if rng.chance(0.15) {
                None
            } else {
                Some(rng.below(self.advisors.len() as u64) as usize)
            },
            applicants,
            json: String::new(),
        };
        self.render(&mut app);
        app
    }

    fn render(&self, app: &mut App) {
        let applicants: Vec<Value> = app.applicants.iter().map(|a| a.fields.clone()).collect();
        app.json = json!({
            "id": app.id,
            "status": app.status,
            "product": app.product,
            "amount": {"value": app.amount_value, "currency": app.currency},
            "created_at": rfc3339(app.created_at),
            "updated_at": rfc3339(app.updated_at),
            "advisor": app.advisor.map(|i| self.advisors[i].json.clone()),
            "applicants": applicants,
        })
        .to_string();
    }

    fn change(&mut self, seed: u64, changing: &Changing) {
        self.step += 1;
        let mut rng = Rng::new(seed ^ 0x00C4_A66E, self.step);
        let now = self.clock.advance(&mut rng);
        for _ in 0..changing.creates {
            let app = self.generate(seed, now, true);
            self.apps.push(app);
        }
        for _ in 0..changing.updates {
            if self.apps.is_empty() {
                break;
            }
            let idx = rng.below(self.apps.len() as u64) as usize;
            let mut app = std::mem::replace(&mut self.apps[idx], placeholder());
            app.updated_at = now;
            app.status = rng.pick_str(STATUSES);
            if rng.chance(0.3) {
                app.amount_value = format!("{}.{:02}", rng.range(5_000, 900_000), rng.range(0, 99));
            }
            if app.advisor.is_none() || rng.chance(0.2) {
                self.replaced_advisors.extend(app.advisor);
                app.advisor = Some(rng.below(self.advisors.len() as u64) as usize);
            }
            if app.applicants.len() < 4 && rng.chance(0.3) {
                let k = app.applicants.len() + 1;
                app.applicants.push(applicant(&mut rng, k));
            }
            self.render(&mut app);
            self.apps[idx] = app;
        }
        for _ in 0..changing.deletes {
            if self.apps.len() <= 1 {
                break;
            }
            let idx = rng.below(self.apps.len() as u64) as usize;
            let app = self.apps.remove(idx);
            let json = deleted_json(&app.id, now);
            let at = self.deleted.partition_point(|d| d.app.id < app.id);
            self.deleted.insert(
                at,
                Deleted {
                    app,
                    deleted_at: now,
                    json,
                },
            );
        }
    }
}

fn placeholder() -> App {
    App {
        id: String::new(),
        status: "",
        product: "",
        amount_value: String::new(),
        currency: "",
        created_at: 0,
        updated_at: 0,
        advisor: None,
        applicants: Vec::new(),
        json: String::new(),
    }
}

fn applicant(rng: &mut Rng, k: usize) -> Applicant {
    let (first, last) = (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES));
    let id = format!("ap_{k}");
    let income = if rng.chance(0.02) {
        12_345_678_901.25
    } else {
        rng.range(1_800_000, 25_000_000) as f64 / 100.0
    };
    let fields = json!({
        "id": id,
        "role": if k == 1 { "primary" } else { rng.pick(ROLES) },
        "first_name": first,
        "last_name": last,
        "email": if rng.chance(0.1) { Value::Null } else { json!(email(first, last, rng.below(1000))) },
        "date_of_birth": format!("{}-{:02}-{:02}", rng.range(1945, 2005), rng.range(1, 12), rng.range(1, 28)),
        "annual_income": income,
    });
    Applicant { id, fields }
}

impl Backend for LoanBackend {
    fn handle(&self, req: &ApiRequest) -> Reply {
        if req.header("authorization") != Some(&format!("Bearer {LOAN_API_KEY}")) {
            return error(401, "invalid_api_key");
        }
        let deleted = match req.path.trim_end_matches('/') {
            "/v1/loan-applications" => false,
            "/v1/loan-applications/deleted" => true,
            _ => return error(404, "not_found"),
        };
        if req.method != "GET" {
            return error(405, "method_not_allowed");
        }
        self.list(req, deleted)
    }

    fn change(&self, changing: &Changing) {
        self.data
            .lock()
            .expect("loan data lock")
            .change(self.seed, changing);
    }

    fn ground_truth(&self) -> GroundTruth {
        let data = self.data.lock().expect("loan data lock");
        let mut truth = GroundTruth::default();
        truth.table("loan_applications", &["id"]);
        truth.table("applicants", &["loan_application_id", "id"]);
        truth.table("advisors", &["id"]);
        for app in &data.apps {
            truth
                .table("loan_applications", &["id"])
                .insert(app_row(app, &data));
            for a in &app.applicants {
                truth.table("applicants", &[]).insert(applicant_row(app, a));
            }
            if let Some(i) = app.advisor {
                truth
                    .table("advisors", &[])
                    .insert(object(&data.advisors[i].json));
            }
        }
        for d in &data.deleted {
            let mut row = Row::new();
            row.insert("id".into(), json!(d.app.id));
            row.insert("_fivetran_deleted".into(), json!(true));
            truth.table("loan_applications", &[]).insert(row);
            for a in &d.app.applicants {
                truth
                    .table("applicants", &[])
                    .insert_optional(applicant_row(&d.app, a));
            }
            if let Some(i) = d.app.advisor {
                truth
                    .table("advisors", &[])
                    .insert_optional(object(&data.advisors[i].json));
            }
        }
        for i in &data.replaced_advisors {
            truth
                .table("advisors", &[])
                .insert_optional(object(&data.advisors[*i].json));
        }
        truth
    }

    fn refusal(&self, kind: &FaultKind) -> Reply {
        match kind {
            FaultKind::Unauthorized => error(401, "invalid_api_key"),
            FaultKind::RateLimited { .. } => error(429, "rate_limited"),
            FaultKind::QuotaExhausted { status, .. }
            | FaultKind::SecondaryRateLimit { status, .. } => error(*status, "rate_limited"),
            FaultKind::ServerError { status } => error(*status, "server_error"),
            _ => error(500, "server_error"),
        }
    }
}

fn object(v: &Value) -> Row {
    v.as_object().cloned().unwrap_or_default()
}

fn app_row(app: &App, data: &LoanData) -> Row {
    object(&json!({
        "id": app.id,
        "status": app.status,
        "product": app.product,
        "amount_value": app.amount_value,
        "amount_currency": app.currency,
        "created_at": rfc3339(app.created_at),
        "updated_at": rfc3339(app.updated_at),
        "advisor_id": app.advisor.map(|i| data.advisors[i].id.clone()),
        "_fivetran_deleted": false,
    }))
}

fn applicant_row(app: &App, a: &Applicant) -> Row {
    let mut row = object(&a.fields);
    row.insert("loan_application_id".into(), json!(app.id));
    debug_assert_eq!(row.get("id"), Some(&json!(a.id)));
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_sorted_unique_ids_and_some_deletions() {
        let b = LoanBackend::new(3, 500, DataClock::fixed());
        let data = b.data.lock().unwrap();
        assert!(data.apps.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(data.apps.len() + data.deleted.len(), 500);
        assert!(!data.deleted.is_empty());
        assert!(data.apps.iter().any(|a| a.advisor.is_none()));
    }

    #[test]
    fn change_steps_are_reproducible_and_keep_order() {
        let a = LoanBackend::new(9, 50, DataClock::fixed());
        let b = LoanBackend::new(9, 50, DataClock::fixed());
        for _ in 0..20 {
            a.change(&Changing::default());
            b.change(&Changing::default());
        }
        assert_eq!(a.ground_truth(), b.ground_truth());
        let data = a.data.lock().unwrap();
        assert!(data.apps.windows(2).all(|w| w[0].id < w[1].id));
        assert!(data.deleted.windows(2).all(|w| w[0].app.id < w[1].app.id));
        assert_eq!(data.apps.len() + data.deleted.len(), 70);
    }
}
