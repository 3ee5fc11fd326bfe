//! The `github` connector's real binary, through `fivetran-local` (the Lambda Runtime API and a SQLite warehouse),
//! against the GitHub stand-in of `sandbox-apis`.

mod rate_limits;
mod setup;
mod support;
mod sync;
