//! `loan-applications`: the lender's loan origination API (`shared/docs/apis/loan-api.md`) as a Fivetran function
//! connector — loan applications, their applicants and advisors, with deletions as soft deletes.
//!
//! A declaration over `fivetran-core`: the engine does the HTTP, retries, paging (page numbers fetched
//! concurrently, corrected for deletions that shift positions), budgets and state. See `README.md`.

use std::time::Duration;

use fivetran_core::auth::Auth;
use fivetran_core::connector::{Child, Config, Emit, Endpoint, Incremental, Stream};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::protocol::{Row, Table};
use fivetran_core::{Error, Result, Secrets};
use serde_json::Value;

/// The API's default page size, used when the `pageSize` secret is absent.
const DEFAULT_PAGE_SIZE: u64 = 100;
/// The largest page size the API accepts (larger values get `400`).
const MAX_PAGE_SIZE: u64 = 500;
/// How far before the previous sync's start the next window begins: covers clock skew between the API and Lambda.
const LOOKBACK: Duration = Duration::from_secs(300);

/// The connector: `apiKey` and `baseUrl` (required), `pageSize` (optional, 1..=500).
fn configure(secrets: &Secrets) -> Result<Config> {
    let page_size = page_size(secrets)?;
    let pages = || {
        Pagination::page_number("page")
            .size("page_size", page_size)
            .total_pages(Total::Body("/pagination/total_pages".into()))
            .total_items(Total::Body("/pagination/total_items".into()))
    };
    // Ordered by id; a deletion during paging shifts later applications one position earlier, so pages must prove
    // they continue the previous one (`key_ordered`, see fivetran-core's consistency notes). Each page after the
    // first is read as a larger page that overlaps the one before it (the API takes up to 500 per page), so the
    // overlap proves the boundary and pages go out concurrently without probes.
    let applications = Stream::new(
        "loan_applications",
        &["id"],
        Endpoint::get("/v1/loan-applications"),
    )
    .soft_deletes()
    .records("/data")
    .paginate(pages().key_ordered("id").max_size(MAX_PAGE_SIZE))
    .incremental(Incremental::query("updated_since").lookback(LOOKBACK))
    .child(Child::new(
        "applicants",
        "applicants",
        "loan_application_id",
        &["id"],
    ))
    .map(advisor)
    .flatten("amount");
    let deleted = Stream::deletes(
        "loan_applications",
        &["id"],
        Endpoint::get("/v1/loan-applications/deleted"),
    )
    .soft_deletes()
    .records("/data")
    .paginate(pages())
    .incremental(Incremental::query("since").lookback(LOOKBACK));

    let api_key = secrets.required("apiKey")?;
    Ok(
        Config::new(secrets.required("baseUrl")?.expose(), Auth::Bearer(api_key))?
            .header("accept", "application/json")
            .setup_test(Endpoint::get("/v1/loan-applications").query("page_size", "1"))
            .table(Table::new("advisors", &["id"]))
            .stream(applications)
            .stream(deleted),
    )
}

/// The `pageSize` secret: 1..=500, default 100.
fn page_size(secrets: &Secrets) -> Result<u64> {
    let expected = "a whole number from 1 to 500";
    match secrets.parsed::<u64>("pageSize", expected)? {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(size) if (1..=MAX_PAGE_SIZE).contains(&size) => Ok(size),
        Some(_) => Err(Error::invalid_secret(
            "pageSize",
            format!("must be {expected}"),
        )),
    }
}

/// `advisor` becomes `advisor_id` (null when unassigned); the advisor itself becomes a row of `advisors`.
fn advisor(row: &mut Row, emit: &mut Emit) -> Result<()> {
    let advisor = row.remove("advisor").unwrap_or(Value::Null);
    let id = advisor.get("id").cloned().unwrap_or(Value::Null);
    if let Value::Object(advisor) = advisor {
        emit.insert("advisors", advisor);
    }
    row.insert("advisor_id".into(), id);
    Ok(())
}

fn main() -> Result<(), lambda_runtime::Error> {
    fivetran_core::lambda::run(fivetran_core::Engine::new(configure))
}
