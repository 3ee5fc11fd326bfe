//! The integration tests of `fivetran-core`: one test binary, one module per concern.

mod fixtures;
