//! The one integration-test binary of `fivetran-core`: a module per area, all against servers on 127.0.0.1.

mod auth_oauth1;
mod auth_oauth2;
mod moto;
mod storage_s3;
