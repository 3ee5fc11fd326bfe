//! The loan-applications connector's real binary against the loan API stand-in, through the shared conformance
//! check (`docs/connector-spec.md`), plus the connector's own behaviour (secrets, tables).

mod conformance;
mod connector;
