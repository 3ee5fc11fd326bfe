//! The integration tests of `fivetran-core`: one test binary, one module per concern, against local servers on
//! 127.0.0.1 (never the internet).

mod auth_oauth1;
mod auth_oauth2;
mod budgets;
mod churn;
mod cloud_storage;
mod decode_checks;
mod fixtures;
mod harness;
mod moto;
mod pagination;
mod payload;
mod properties;
mod resume;
mod retries;
mod sandbox;
mod storage_s3;
mod summary;
