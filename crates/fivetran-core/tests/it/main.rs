//! The integration tests of `fivetran-core`: one test binary, one module per concern.

mod auth_oauth1;
mod auth_oauth2;
mod fixtures;
mod moto;
mod storage_s3;
