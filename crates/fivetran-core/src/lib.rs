//! `fivetran-core`: everything a Fivetran function connector on AWS Lambda needs, solved once.
//!
//! A connector declares its secrets and streams (see the `connector` module once it lands) and hands them to
//! [`lambda::run`]. The modules follow one concern each, and data flows one way:
//! request → engine (state → plan → HTTP/paginate/auth → rows → budget) → sink → response.
//!
//! - [`protocol`]: the wire types of Fivetran's function protocol.
//! - [`secrets`]: a redacting wrapper for every secret the request carries.
//! - [`error`]: the one error type, with predicates and a mapping to Lambda errors.
//! - [`auth`]: how requests authenticate (API key, bearer, basic, OAuth 1.0a, OAuth2 client credentials).
//! - [`storage`]: the `CLOUD_STORAGE` sync method: the object written as rows arrive, and a light S3 client.
//! - [`lambda`]: the Lambda runtime loop, tracing set-up and the named handler.

pub mod auth;
pub mod error;
pub mod lambda;
pub mod protocol;
pub mod secrets;
pub mod storage;

pub use error::{Error, Result};
pub use secrets::{Secret, Secrets};
