//! A loan-API declaration for `cargo xtask bench --function`, to compare the engine's other paging modes with the
//! connector's overlapping blocks (`connectors/loan-applications`): the declaration from the
//! [`fivetran_core::connector`] docs (applications, applicants, advisors, the deletion feed).
//!
//! Secrets: `baseUrl`, `apiKey`, `pageSize` (default 100), `concurrency` (default 8) and `keyOrdered` (default
//! `true`: deletion-safe page numbers without a `max_size`, read as descending sweeps proven by probes; `false`:
//! plain page numbers in the sliding window, not safe under deletions). The bench runs both.

use std::time::Duration;

use fivetran_core::auth::Auth;
use fivetran_core::connector::{Child, Config, Endpoint, Incremental, Stream};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::protocol::Table;
use fivetran_core::{Engine, Result, Secrets};
use serde_json::Value;

fn configure(secrets: &Secrets) -> Result<Config> {
    let size = secrets
        .parsed::<u64>("pageSize", "a whole number")?
        .unwrap_or(100);
    let concurrency = secrets
        .parsed::<usize>("concurrency", "a whole number")?
        .unwrap_or(8);
    let key_ordered = secrets
        .parsed::<bool>("keyOrdered", "true or false")?
        .unwrap_or(true);
    let pages = |pagination: Pagination| {
        let pagination = pagination
            .size("page_size", size)
            .total_pages(Total::Body("/pagination/total_pages".into()));
        if key_ordered {
            pagination.key_ordered("id")
        } else {
            pagination
        }
    };
    let applications = Stream::new(
        "loan_applications",
        &["id"],
        Endpoint::get("/v1/loan-applications"),
    )
    .soft_deletes()
    .records("/data")
    .paginate(pages(Pagination::page_number("page")))
    .incremental(Incremental::query("updated_since").lookback(Duration::from_secs(300)))
    .child(Child::new(
        "applicants",
        "applicants",
        "loan_application_id",
        &["id"],
    ))
    .map(|record, emit| {
        let advisor = record.remove("advisor").unwrap_or(Value::Null);
        let id = advisor.get("id").cloned().unwrap_or(Value::Null);
        if let Value::Object(advisor) = advisor {
            emit.insert("advisors", advisor);
        }
        record.insert("advisor_id".to_owned(), id);
        Ok(())
    })
    .flatten("amount");
    let deleted = Stream::deletes(
        "loan_applications",
        &["id"],
        Endpoint::get("/v1/loan-applications/deleted"),
    )
    .soft_deletes()
    .records("/data")
    .paginate(pages(Pagination::page_number("page")))
    .incremental(Incremental::query("since").lookback(Duration::from_secs(300)));
    Ok(Config::new(
        secrets.required("baseUrl")?.expose(),
        Auth::Bearer(secrets.required("apiKey")?),
    )?
    .concurrency(concurrency)
    .setup_test(Endpoint::get("/v1/loan-applications").query("page_size", "1"))
    .table(Table::new("advisors", &["id"]))
    .stream(applications)
    .stream(deleted))
}

fn main() -> std::result::Result<(), lambda_runtime::Error> {
    fivetran_core::lambda::run(Engine::new(configure))
}
