//! The fuzz targets' checks: the same functions the property tests run (`crates/fivetran-core/tests/it/
//! decode_checks.rs`, included by path so there is one definition of each property).

#[path = "../../crates/fivetran-core/tests/it/decode_checks.rs"]
mod decode_checks;

pub use decode_checks::*;
