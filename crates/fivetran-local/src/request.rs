//! What Fivetran sends: the secrets file, a starting state, the sync method, and the request built from them.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use fivetran_core::protocol::Request;
use fivetran_core::secrets::Secrets;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The `agent` Fivetran sends, with a local group and schema.
pub const DEFAULT_AGENT: &str = "Fivetran AWS Lambda Connector/fivetran-local/local";

/// How rows travel back: in the response body, or through an S3 object (`CLOUD_STORAGE`).
#[derive(Clone, Default)]
pub enum SyncMethod {
    /// Rows in the response body.
    #[default]
    Direct,
    /// Rows in `s3://<bucket>/<key_prefix><sync_id>/<call>.json`; the body holds `state`, `schema`, `hasMore`.
    CloudStorage {
        /// The bucket Fivetran names.
        bucket: String,
        /// Prefix of every object key.
        key_prefix: String,
        /// Reads the objects back.
        store: Arc<dyn ObjectStore>,
    },
}

impl std::fmt::Debug for SyncMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncMethod::Direct => f.write_str("Direct"),
            SyncMethod::CloudStorage {
                bucket, key_prefix, ..
            } => write!(f, "CloudStorage(s3://{bucket}/{key_prefix})"),
        }
    }
}

/// Reads the object a `CLOUD_STORAGE` call wrote. The S3 implementation plugs in here.
pub trait ObjectStore: Send + Sync {
    /// The object's bytes, or a message naming bucket, key and cause.
    fn fetch<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<u8>, String>> + Send + 'a>>;
}

/// Reads `CLOUD_STORAGE` objects from S3 (or an S3-compatible endpoint) with `fivetran-core`'s S3 client.
pub struct S3Store {
    client: fivetran_core::storage::S3Client,
}

impl S3Store {
    /// A reader configured from variables as the AWS SDKs read them: `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let config = fivetran_core::storage::S3Config::from_vars(var);
        S3Store {
            client: fivetran_core::storage::S3Client::new(reqwest::Client::new(), config),
        }
    }
}

impl ObjectStore for S3Store {
    fn fetch<'a>(
        &'a self,
        bucket: &'a str,
        key: &'a str,
    ) -> Pin<Box<dyn Future<Output = std::result::Result<Vec<u8>, String>> + Send + 'a>> {
        Box::pin(async move {
            self.client
                .get_object(bucket, key)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The variables that configure S3 access, shared by the function (which writes) and the reader.
pub const S3_VARIABLES: [&str; 7] = [
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// Reads a secrets file: a JSON object of the connection's setup-form values.
pub fn load_secrets(path: &Path) -> Result<Map<String, Value>> {
    let error = |reason: String| Error::Secrets {
        path: path.to_owned(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(format!("cannot be read: {e}")))?;
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(secrets)) => Ok(secrets),
        Ok(other) => Err(error(format!(
            "must hold a JSON object of secrets, found {}",
            fivetran_core::protocol::kind(&other)
        ))),
        Err(e) => Err(error(format!("is not valid JSON: {e}"))),
    }
}

/// Reads a state: `origin` is a file path, or inline JSON when it starts with `{`.
pub fn load_state(origin: &str) -> Result<Map<String, Value>> {
    let error = |reason: String| Error::State {
        origin: origin.to_owned(),
        reason,
    };
    let text = if origin.trim_start().starts_with('{') {
        origin.to_owned()
    } else {
        std::fs::read_to_string(origin).map_err(|e| error(format!("cannot be read: {e}")))?
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(state)) => Ok(state),
        Ok(other) => Err(error(format!(
            "must be a JSON object, found {}",
            fivetran_core::protocol::kind(&other)
        ))),
        Err(e) => Err(error(format!("is not valid JSON: {e}"))),
    }
}

/// Everything of a request except the state.
#[derive(Debug, Clone, Default)]
pub struct RequestTemplate {
    /// The secrets.
    pub secrets: Map<String, Value>,
    /// `agent`.
    pub agent: Option<String>,
    /// `sync_id`.
    pub sync_id: Option<String>,
    /// `setup_test`.
    pub setup_test: bool,
    /// Further top-level keys (custom payloads).
    pub extra: Map<String, Value>,
}

impl RequestTemplate {
    /// The JSON request for one call.
    pub fn build(&self, state: &Map<String, Value>, cloud: Option<(&str, &str)>) -> Value {
        Request {
            agent: self.agent.clone(),
            state: state.clone(),
            secrets: Secrets::new(self.secrets.clone()),
            sync_id: self.sync_id.clone(),
            setup_test: self.setup_test,
            bucket: cloud.map(|(b, _)| b.to_owned()),
            file: cloud.map(|(_, f)| f.to_owned()),
            extra: self.extra.clone(),
        }
        .to_value()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_errors_name_the_cause() {
        let missing = load_secrets(Path::new("/no/such/secrets.json")).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("secrets file `/no/such/secrets.json` cannot be read")
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, "{\"apiKey\": ").unwrap();
        assert!(
            load_secrets(&bad)
                .unwrap_err()
                .to_string()
                .contains("is not valid JSON")
        );
        std::fs::write(&bad, "[1]").unwrap();
        assert!(
            load_secrets(&bad)
                .unwrap_err()
                .to_string()
                .contains("must hold a JSON object of secrets, found an array")
        );
    }

    #[test]
    fn the_request_carries_every_field() {
        let template = RequestTemplate {
            secrets: json!({"apiKey": "k"}).as_object().unwrap().clone(),
            agent: Some("a".into()),
            sync_id: Some("s".into()),
            setup_test: true,
            extra: Map::new(),
        };
        let state = json!({"c": 1}).as_object().unwrap().clone();
        assert_eq!(
            template.build(&state, Some(("b", "f"))),
            json!({"agent": "a", "state": {"c": 1}, "secrets": {"apiKey": "k"}, "sync_id": "s",
                   "setup_test": true, "bucket": "b", "file": "f"})
        );
        assert_eq!(
            load_state("{\"x\": 2}").unwrap(),
            *json!({"x": 2}).as_object().unwrap()
        );
    }
}
