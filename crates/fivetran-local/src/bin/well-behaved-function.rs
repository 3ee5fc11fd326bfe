//! A well-behaved function built with `fivetran_core::lambda::run`, for `fivetran-local`'s tests: three pages that
//! exercise upserts, a type widening, a new column, hard deletes, soft deletes (and a row coming back), an append-only
//! table and a composite primary key. Secrets: `apiKey` must be `good` for the setup test; `failOnPage` (a number)
//! makes that page fail through the Lambda error channel. With `LOCAL_OBJECT_DIR` set, a `CLOUD_STORAGE` request
//! writes its rows to `<LOCAL_OBJECT_DIR>/<bucket>/<file>` (a folder standing in for S3).

use fivetran_core::lambda::{Function, Invocation, run};
use fivetran_core::protocol::{Request, Response, Row, Table};
use fivetran_core::{Error, Result};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

struct Pages;

fn row(value: Value) -> Row {
    value.as_object().cloned().unwrap_or_default()
}

impl Function for Pages {
    async fn setup_test(&self, request: &Request, _: &Invocation) -> Result<()> {
        let key = request.secrets.required("apiKey")?;
        if key.expose() != "good" {
            return Err(Error::InvalidSecret {
                name: "apiKey".to_owned(),
                reason: "was rejected by the source".to_owned(),
            });
        }
        Ok(())
    }

    async fn sync(&self, request: Request, _: &Invocation) -> Result<Box<RawValue>> {
        let page = request
            .state
            .get("page")
            .and_then(Value::as_u64)
            .unwrap_or(0)
            + 1;
        if let Some(fail) = request
            .secrets
            .parsed::<u64>("failOnPage", "a page number")?
            && fail == page
        {
            return Err(Error::InvalidState {
                field: "page".to_owned(),
                reason: format!("page {page} is configured to fail"),
            });
        }
        let items = Table::new("items", &["id"]);
        let accounts = Table::new("accounts", &["region", "number"]).soft_deletes();
        let events = Table::new("events", &[]);
        let mut state = Map::new();
        state.insert("page".to_owned(), json!(page.min(3)));
        let mut response = Response::new(state, page < 3);
        match page {
            1 => {
                for id in 1..=3 {
                    response.insert(&items, row(json!({
                        "id": id, "name": format!("item {id}"), "score": id * 10, "active": id % 2 == 1,
                        "updated_at": format!("2026-01-0{id}T00:00:00Z"), "tags": {"size": id, "labels": ["a", "b"]}
                    })));
                }
                response.insert(
                    &accounts,
                    row(json!({"region": "eu", "number": 1, "owner": "ana"})),
                );
                response.insert(
                    &accounts,
                    row(json!({"region": "eu", "number": 2, "owner": "bo"})),
                );
                response.insert(
                    &events,
                    row(json!({"kind": "created", "at": "2026-01-01T00:00:00Z"})),
                );
                response.insert(
                    &events,
                    row(json!({"kind": "created", "at": "2026-01-01T00:00:00Z"})),
                );
            }
            2 => {
                response.insert(
                    &items,
                    row(json!({
                        "id": 3, "name": "item 3 renamed", "score": 2.5, "active": false,
                        "updated_at": "2026-01-05T00:00:00Z", "tags": null
                    })),
                );
                response.insert(
                    &items,
                    row(json!({"id": 4, "name": "item 4", "score": 40, "note": "new column"})),
                );
                response.delete(&items, row(json!({"id": 2})));
                response.delete(&accounts, row(json!({"region": "eu", "number": 2})));
                response.insert(
                    &events,
                    row(json!({"kind": "updated", "at": "2026-01-05T00:00:00Z"})),
                );
            }
            3 => {
                response.insert(
                    &accounts,
                    row(json!({"region": "eu", "number": 2, "owner": "bo again"})),
                );
            }
            _ => {}
        }
        // The CLOUD_STORAGE method, with a folder standing in for S3 (`LOCAL_OBJECT_DIR/<bucket>/<key>`).
        if let (Some((bucket, key)), Ok(dir)) =
            (request.cloud_storage(), std::env::var("LOCAL_OBJECT_DIR"))
        {
            let (body, payload) = response.into_cloud_storage();
            let path = std::path::Path::new(&dir).join(bucket).join(key);
            let written = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| {
                    std::fs::write(&path, serde_json::to_vec(&payload).unwrap_or_default())
                });
            if let Err(e) = written {
                return Err(Error::InvalidState {
                    field: "file".to_owned(),
                    reason: format!("cannot write {}: {e}", path.display()),
                });
            }
            return body.to_body();
        }
        response.to_body()
    }
}

fn main() -> std::result::Result<(), lambda_runtime_error::Error> {
    run(Pages)
}

/// The error type `run` returns, named without a direct dependency on `lambda_runtime`.
mod lambda_runtime_error {
    pub type Error = Box<dyn std::error::Error + Send + Sync>;
}
