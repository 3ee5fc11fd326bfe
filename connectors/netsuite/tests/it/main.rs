//! The `netsuite` binary against the NetSuite SuiteQL stand-in, through fivetran-local: every check of the shared
//! conformance crate (`docs/connector-spec.md`), plus the connector's own behaviour (keyset paging past the
//! 100,000-row offset ceiling, the explicit `TO_CHAR` form, `429` without `Retry-After`, the realm).

mod conformance;
mod connector;
