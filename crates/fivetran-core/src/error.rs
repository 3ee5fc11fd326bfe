//! The one error type of `fivetran-core`, its predicates, and its mapping to a Lambda error.
//!
//! Every message names what failed (the field, the stream, the HTTP status and the URL *path*) and never a secret:
//! URLs are reduced to their path before they reach an error, and secret values are held in
//! [`Secret`](crate::Secret), whose `Display` prints `***`.

use std::time::Duration;

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in one invocation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request Fivetran sent is malformed: not an object, or a field of the wrong type.
    #[error("invalid request: field `{field}` {reason}")]
    InvalidRequest { field: String, reason: String },

    /// The `state` could not be decoded by this framework (wrong shape, unknown newer version).
    #[error("invalid state: `{field}` {reason}")]
    InvalidState { field: String, reason: String },

    /// A secret is missing or unusable. The message names the secret, never its value.
    #[error("invalid secret `{name}`: {reason}")]
    InvalidSecret { name: String, reason: String },

    /// The upstream API rejected the credentials (401, or 403 without rate-limit headers).
    #[error("{stream}: the credentials were rejected (HTTP {status} from {method} {path})")]
    Auth {
        stream: String,
        method: String,
        path: String,
        status: u16,
    },

    /// The upstream API keeps refusing for rate-limit reasons beyond what this invocation can wait.
    #[error("{stream}: rate limited (HTTP {status} from {method} {path}){}", retry_after_text(*retry_after))]
    RateLimited {
        stream: String,
        method: String,
        path: String,
        status: u16,
        retry_after: Option<Duration>,
    },

    /// A non-success HTTP status that is not an auth or rate-limit failure.
    #[error("{stream}: HTTP {status} from {method} {path}{}", detail_text(detail))]
    Http {
        stream: String,
        method: String,
        path: String,
        status: u16,
        detail: Option<String>,
    },

    /// The connection failed, timed out or was reset before a full response arrived.
    #[error("{stream}: request failed ({method} {path}): {reason}")]
    Transport {
        stream: String,
        method: String,
        path: String,
        reason: String,
    },

    /// The response body was truncated or is not the JSON the stream expects.
    #[error("{stream}: invalid response body from {method} {path}: {reason}")]
    Decode {
        stream: String,
        method: String,
        path: String,
        reason: String,
    },

    /// Pagination cannot go on safely: a cycle, a missing field, or the maximum number of pages.
    #[error("{stream}: pagination stopped: {reason}")]
    Pagination { stream: String, reason: String },

    /// One record alone does not fit into the byte budget of a response.
    #[error(
        "{stream}: record {key} is {size} bytes, larger than the response budget of {budget} bytes"
    )]
    RecordTooLarge {
        stream: String,
        key: String,
        size: usize,
        budget: usize,
    },

    /// A record lacks a primary-key column or has one of the wrong type.
    #[error("{stream}: record has no usable primary key `{column}`")]
    MissingKey { stream: String, column: String },

    /// Writing (or reading back) a `CLOUD_STORAGE` object failed; the reason says which and why.
    #[error("s3://{bucket}/{key}: {reason}")]
    Storage {
        bucket: String,
        key: String,
        reason: String,
    },

    /// The connector's own declaration is inconsistent (a bug in the connector, caught at start).
    #[error("connector declaration: {0}")]
    Declaration(String),

    /// The invocation ran out of time before anything useful could be returned.
    #[error("{stream}: the invocation deadline passed before the request could complete")]
    Deadline { stream: String },
}

fn retry_after_text(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!("; the source asks to wait {} s", d.as_secs()),
        None => String::new(),
    }
}

fn detail_text(detail: &Option<String>) -> String {
    match detail {
        Some(d) if !d.is_empty() => format!(": {d}"),
        _ => String::new(),
    }
}

impl Error {
    /// Whether repeating the same request may succeed (transient network or server failures, bad bodies).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Decode { .. } | Error::RateLimited { .. } => true,
            Error::Http { status, .. } => matches!(status, 408 | 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// Whether the upstream API rejected the credentials.
    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth { .. })
    }

    /// Whether the upstream API asked us to slow down.
    pub fn is_rate_limited(&self) -> bool {
        matches!(self, Error::RateLimited { .. })
    }

    /// The error class as Lambda's `errorType`: short, stable, readable.
    pub fn error_type(&self) -> &'static str {
        match self {
            Error::InvalidRequest { .. } => "InvalidRequest",
            Error::InvalidState { .. } => "InvalidState",
            Error::InvalidSecret { .. } => "InvalidSecret",
            Error::Auth { .. } => "AuthError",
            Error::RateLimited { .. } => "RateLimited",
            Error::Http { .. } => "HttpError",
            Error::Transport { .. } => "TransportError",
            Error::Decode { .. } => "DecodeError",
            Error::Pagination { .. } => "PaginationError",
            Error::RecordTooLarge { .. } => "RecordTooLarge",
            Error::MissingKey { .. } => "MissingPrimaryKey",
            Error::Storage { .. } => "StorageError",
            Error::Declaration(_) => "DeclarationError",
            Error::Deadline { .. } => "DeadlineExceeded",
        }
    }

    /// Shorthand for [`Error::InvalidRequest`].
    pub fn invalid_request(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidRequest {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidState`].
    pub fn invalid_state(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidState {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidSecret`].
    pub fn invalid_secret(name: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidSecret {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// The one conversion from a core error into the error the Lambda runtime reports.
impl From<Error> for lambda_runtime::Diagnostic {
    fn from(error: Error) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predicates_classify_errors() {
        let auth = Error::Auth {
            stream: "s".into(),
            method: "GET".into(),
            path: "/p".into(),
            status: 401,
        };
        assert!(auth.is_auth() && !auth.is_retryable() && !auth.is_rate_limited());
        let busy = Error::Http {
            stream: "s".into(),
            method: "GET".into(),
            path: "/p".into(),
            status: 503,
            detail: None,
        };
        assert!(busy.is_retryable() && !busy.is_auth());
        let gone = Error::Http {
            stream: "s".into(),
            method: "GET".into(),
            path: "/p".into(),
            status: 404,
            detail: None,
        };
        assert!(!gone.is_retryable());
        let limited = Error::RateLimited {
            stream: "s".into(),
            method: "GET".into(),
            path: "/p".into(),
            status: 429,
            retry_after: Some(Duration::from_secs(30)),
        };
        assert!(limited.is_rate_limited());
        assert!(limited.to_string().contains("wait 30 s"));
    }

    #[test]
    fn lambda_diagnostic_names_the_class_and_the_field() {
        let diagnostic: lambda_runtime::Diagnostic =
            Error::invalid_request("state", "must be a JSON object").into();
        assert_eq!(diagnostic.error_type, "InvalidRequest");
        assert_eq!(
            diagnostic.error_message,
            "invalid request: field `state` must be a JSON object"
        );
    }
}
