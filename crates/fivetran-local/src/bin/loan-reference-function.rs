//! A reference function for `fivetran-local`'s tests: the loan API declared with `fivetran-core`'s engine, exactly
//! as the core's connector recipe shows. It lets the tests drive an engine-built function against the sandbox
//! stand-in and compare the warehouse with the ground truth, independently of the shipped connectors. A test-only
//! secret, `byteBudget`, lowers the response budget so that a sync takes many calls.

use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Child, Config, Endpoint, Incremental, Stream};
use fivetran_core::engine::Engine;
use fivetran_core::lambda::run;
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::protocol::Table;
use fivetran_core::{Result, Secrets};
use serde_json::Value;

fn loan(s: &Secrets) -> Result<Config> {
    let pages = || {
        Pagination::page_number("page")
            .size("page_size", 100)
            .total_pages(Total::Body("/pagination/total_pages".into()))
    };
    let bytes = s
        .parsed::<usize>("byteBudget", "a number of bytes")?
        .unwrap_or(fivetran_core::budget::DEFAULT_BYTE_BUDGET);
    Ok(Config::new(
        s.required("baseUrl")?.expose(),
        Auth::Bearer(s.required("apiKey")?),
    )?
    .budget(BudgetSettings {
        bytes,
        ..BudgetSettings::default()
    })
    .table(Table::new("advisors", &["id"]))
    .stream(
        Stream::new(
            "loan_applications",
            &["id"],
            Endpoint::get("/v1/loan-applications"),
        )
        .records("/data")
        .paginate(pages().key_ordered("id"))
        .incremental(Incremental::query("updated_since"))
        .flatten("amount")
        .child(Child::new(
            "applicants",
            "applicants",
            "loan_application_id",
            &["id"],
        ))
        .map(|row, emit| {
            let advisor = row.remove("advisor").unwrap_or(Value::Null);
            row.insert(
                "advisor_id".into(),
                advisor.get("id").cloned().unwrap_or(Value::Null),
            );
            if let Value::Object(a) = advisor {
                emit.insert("advisors", a)
            }
            Ok(())
        }),
    )
    .stream(
        Stream::deletes(
            "loan_applications",
            &["id"],
            Endpoint::get("/v1/loan-applications/deleted"),
        )
        .soft_deletes()
        .records("/data")
        .paginate(pages())
        .incremental(Incremental::query("since")),
    ))
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    run(Engine::new(loan))
}
