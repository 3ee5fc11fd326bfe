//! Integration tests of the stand-ins' contracts, with a plain HTTP client against a running sandbox.

mod binary;
mod faults;
mod loan;
mod support;
