//! The `github` connector's real binary, through `fivetran-local` (the Lambda Runtime API and a SQLite warehouse),
//! against the GitHub stand-in of `sandbox-apis`: the shared conformance checks, then what is GitHub's own (rate
//! limits, order and filters, headers, GitHub Enterprise, secrets).

mod conformance;
mod github;
mod rate_limits;
mod support;
