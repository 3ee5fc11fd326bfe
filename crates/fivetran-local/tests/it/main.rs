//! Integration tests of `fivetran-local`: real processes through the real Runtime API host — a well-behaved function
//! built with `fivetran_core::lambda::run`, a misbehaving one per protocol rule, and the command line.

mod bad_input;
mod cli;
mod cloud_storage;
mod conformance;
mod connectors;
mod demo;
mod reference;
mod support;
mod sync;
