//! Integration tests of the engine against local HTTP servers on 127.0.0.1 (never the internet).

mod budgets;
mod churn;
mod harness;
mod pagination;
mod resume;
mod retries;
mod summary;
