//! Integration tests of the stand-ins' contracts, with a plain HTTP client against a running sandbox.

mod binary;
mod faults;
mod github;
mod loan;
mod loan_changing;
mod netsuite;
mod oauth_client;
mod support;
mod woocommerce;
