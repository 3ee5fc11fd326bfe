//! Fivetran's `CLOUD_STORAGE` sync method: the rows go to `s3://bucket/file` as one JSON object, and the response
//! keeps only `state`, `schema` and `hasMore`. The engine picks the [`CloudStorage`] sink per request.
//!
//! [`S3Client`] is a light S3 `PutObject` client (plus `GetObject` for readers such as `fivetran-local`):
//! `rusty-s3` signs the request (AWS Signature V4, presigned with `UNSIGNED-PAYLOAD`, so the body never has to be
//! hashed or held in one buffer) and the shared reqwest client sends it, streaming the chunks of an
//! [`ObjectBody`]. No AWS SDK. Measured on a release connector binary: about 350 KB more (130 KB more zipped), most
//! of it `jiff`'s date formatting inside `rusty-s3`, and no measurable cold-start cost: the configuration is read
//! on first use, so a call without a `bucket` never touches it.
//!
//! Configuration, as the AWS SDKs read it from the Lambda environment ([`S3Config::from_env`]):
//! - endpoint: `AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, with path-style addressing when either is set;
//!   otherwise `https://s3.<region>.amazonaws.com` with virtual-hosted addressing (path-style for bucket names
//!   with dots, which the AWS certificates do not cover);
//! - credentials: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` (Lambda sets all three);
//! - region: `AWS_REGION`, else `AWS_DEFAULT_REGION`, else `us-east-1`.
//!
//! Every failure is [`Error::Storage`] naming the bucket and key and saying what S3 answered (`NoSuchBucket`,
//! `AccessDenied`, ...) or that the network failed; never a credential or the signed URL. A `PUT` is idempotent, so
//! network failures and `500`/`503` answers are retried a few times (not past the invocation's deadline).
//!
//! The object's byte budget is [`object_budget`]: 64 MiB by default, at most a quarter of the function's memory
//! (the object's bytes, the rows of the page being read and the runtime share it).

mod cloud_storage;
mod object;

use std::time::{Duration, Instant};

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

pub use self::cloud_storage::CloudStorage;
pub use self::object::ObjectBody;
use crate::error::{Error, Result};

/// The default byte budget of a `CLOUD_STORAGE` object.
pub const DEFAULT_OBJECT_BUDGET: usize = 64 * 1024 * 1024;

/// How long a signed upload URL stays valid (the longest a Lambda invocation can run).
const SIGNATURE_LIFETIME: Duration = Duration::from_secs(15 * 60);

/// Attempts per upload (network failures, `500`, `503`).
const ATTEMPTS: u32 = 3;

/// The byte budget of one object for a function with `memory_mb` of memory: [`DEFAULT_OBJECT_BUDGET`], lowered to a
/// quarter of the memory when that is smaller.
pub fn object_budget(memory_mb: Option<u32>) -> usize {
    match memory_mb {
        Some(mb) => DEFAULT_OBJECT_BUDGET.min(mb as usize * 1024 * 1024 / 4),
        None => DEFAULT_OBJECT_BUDGET,
    }
}

/// Where and as whom objects are written.
#[derive(Clone)]
pub struct S3Config {
    endpoint: Option<String>,
    region: String,
    credentials: Option<Credentials>,
}

impl S3Config {
    /// The configuration from the process environment (see the module docs).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// The configuration from any source of the same variables (tests pass a map instead of the environment).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| {
            var(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let endpoint = var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL"));
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let credentials = match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Some(match var("AWS_SESSION_TOKEN") {
                Some(token) => Credentials::new_with_token(key, secret, token),
                None => Credentials::new(key, secret),
            }),
            _ => None,
        };
        S3Config {
            endpoint,
            region,
            credentials,
        }
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The endpoint override, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    fn bucket(&self, name: &str, key: &str) -> Result<Bucket> {
        let (endpoint, style) = match &self.endpoint {
            Some(endpoint) => {
                let url = Url::parse(endpoint).map_err(|e| {
                    storage_error(
                        name,
                        key,
                        format!("the S3 endpoint override is not a URL: {e}"),
                    )
                })?;
                (url, UrlStyle::Path)
            }
            None => {
                let url = Url::parse(&format!("https://s3.{}.amazonaws.com", self.region))
                    .map_err(|e| {
                        storage_error(
                            name,
                            key,
                            format!("region `{}` gives no S3 endpoint: {e}", self.region),
                        )
                    })?;
                let style = if name.contains('.') {
                    UrlStyle::Path
                } else {
                    UrlStyle::VirtualHost
                };
                (url, style)
            }
        };
        Bucket::new(endpoint, style, name.to_owned(), self.region.clone()).map_err(|e| {
            storage_error(
                name,
                key,
                format!("not a usable bucket name or endpoint ({e:?})"),
            )
        })
    }
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("credentials", &self.credentials.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Writes objects to S3 over the shared HTTP client.
#[derive(Debug, Clone)]
pub struct S3Client {
    http: reqwest::Client,
    config: S3Config,
}

impl S3Client {
    /// A client sending through `http` (the connector's shared client) with `config`.
    pub fn new(http: reqwest::Client, config: S3Config) -> Self {
        S3Client { http, config }
    }

    /// The client's configuration.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    /// Uploads `body` to `s3://bucket/key` (`Content-Type: application/json`), retrying network failures and
    /// `500`/`503` a few times while `deadline` allows.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &ObjectBody,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let target = self.config.bucket(bucket, key)?;
        let credentials = self.credentials(bucket, key)?;
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let url = rusty_s3::actions::PutObject::new(&target, Some(credentials), key)
                .sign(SIGNATURE_LIFETIME);
            let outcome = self.send(url, body, deadline).await;
            let retryable = match &outcome {
                Ok(()) => {
                    tracing::info!(
                        bucket,
                        key,
                        bytes = body.len(),
                        ms = started.elapsed().as_millis() as u64,
                        "wrote the CLOUD_STORAGE object"
                    );
                    return Ok(());
                }
                Err(Failure::Network(_)) => true,
                Err(Failure::Status { status, .. }) => matches!(status, 500 | 503),
            };
            let failure = match outcome {
                Err(failure) => failure,
                Ok(()) => unreachable!("handled above"),
            };
            let pause = Duration::from_millis(250 * 4u64.pow(attempt - 1));
            let time_left =
                deadline.is_none_or(|d| Instant::now() + pause + Duration::from_secs(1) < d);
            if !retryable || attempt >= ATTEMPTS || !time_left {
                let reason = format!("cannot write the object: {}", failure.describe());
                return Err(storage_error(bucket, key, reason));
            }
            tracing::warn!(
                bucket,
                key,
                attempt,
                "S3 upload failed, retrying: {}",
                failure.describe()
            );
            tokio::time::sleep(pause).await;
        }
    }

    /// Reads `s3://bucket/key` back (for readers such as `fivetran-local` playing Fivetran; connectors only write).
    /// Errors are [`Error::Storage`] naming bucket and key, like those of [`S3Client::put_object`].
    pub async fn get_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>> {
        let target = self.config.bucket(bucket, key)?;
        let credentials = self.credentials(bucket, key)?;
        let url = rusty_s3::actions::GetObject::new(&target, Some(credentials), key)
            .sign(SIGNATURE_LIFETIME);
        let network = |e: reqwest::Error| {
            storage_error(
                bucket,
                key,
                format!(
                    "cannot read the object: {}",
                    Failure::Network(crate::auth::error_chain(&e.without_url())).describe()
                ),
            )
        };
        let response = self.http.get(url).send().await.map_err(network)?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let text = response.text().await.unwrap_or_default();
            let failure = Failure::Status {
                status,
                code: xml_element(&text, "Code"),
            };
            let reason = format!("cannot read the object: {}", failure.describe());
            return Err(storage_error(bucket, key, reason));
        }
        Ok(response.bytes().await.map_err(network)?.to_vec())
    }

    fn credentials(&self, bucket: &str, key: &str) -> Result<&Credentials> {
        self.config.credentials.as_ref().ok_or_else(|| {
            storage_error(
                bucket,
                key,
                "no AWS credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) in the environment",
            )
        })
    }

    async fn send(
        &self,
        url: Url,
        body: &ObjectBody,
        deadline: Option<Instant>,
    ) -> std::result::Result<(), Failure> {
        let mut request = self.http.put(url);
        if let Some(deadline) = deadline {
            // Give up half a second before the invocation's deadline, so the error still reaches Lambda.
            let left = deadline
                .saturating_duration_since(Instant::now())
                .saturating_sub(Duration::from_millis(500));
            request = request.timeout(left.max(Duration::from_millis(500)));
        }
        let response = request
            .header("content-type", "application/json")
            .header("content-length", body.len())
            .body(body.to_request_body())
            .send()
            .await
            .map_err(|e| Failure::Network(crate::auth::error_chain(&e.without_url())))?;
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        Err(Failure::Status {
            status,
            code: xml_element(&text, "Code"),
        })
    }
}

/// Why one attempt failed.
enum Failure {
    Network(String),
    Status { status: u16, code: Option<String> },
}

impl Failure {
    fn describe(&self) -> String {
        match self {
            Failure::Network(reason) => format!("network error: {reason}"),
            Failure::Status {
                status,
                code: Some(code),
            } => format!("S3 answered HTTP {status} {code}"),
            Failure::Status { status, code: None } => format!("S3 answered HTTP {status}"),
        }
    }
}

fn storage_error(bucket: &str, key: &str, reason: impl Into<String>) -> Error {
    Error::Storage {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        reason: reason.into(),
    }
}

/// The text of the first `<name>` element of an S3 error document, when it is a short code (never a message,
/// which could echo request details).
fn xml_element(xml: &str, name: &str) -> Option<String> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let code = xml[start..end].trim();
    (!code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.'))
    .then(|| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> S3Config {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        S3Config::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_endpoint_comes_from_the_s3_variable_first_and_means_path_style() {
        let both = config(&[
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
            ("AWS_REGION", "eu-west-1"),
        ]);
        let bucket = both.bucket("my-bucket", "k").unwrap();
        assert_eq!(
            bucket.object_url("a/b.json").as_str(),
            "http://127.0.0.1:9000/my-bucket/a/b.json"
        );
        assert_eq!(both.region(), "eu-west-1");
        let general = config(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")]);
        assert_eq!(general.endpoint(), Some("http://127.0.0.1:1"));
        assert_eq!(general.region(), "us-east-1");
    }

    #[test]
    fn without_an_endpoint_aws_is_addressed_by_virtual_host() {
        let aws = config(&[("AWS_REGION", "eu-central-1")]);
        let bucket = aws.bucket("fivetran-drop", "k").unwrap();
        assert_eq!(
            bucket.object_url("x.json").as_str(),
            "https://fivetran-drop.s3.eu-central-1.amazonaws.com/x.json"
        );
        let dotted = aws.bucket("my.bucket", "k").unwrap();
        assert_eq!(
            dotted.object_url("x.json").as_str(),
            "https://s3.eu-central-1.amazonaws.com/my.bucket/x.json"
        );
    }

    #[test]
    fn debug_shows_no_credentials() {
        let c = config(&[
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI"),
            ("AWS_SESSION_TOKEN", "IQoJb3JpZ2lu"),
        ]);
        let text = format!("{c:?}");
        assert!(
            !text.contains("wJalrXUtnFEMI")
                && !text.contains("IQoJb3JpZ2lu")
                && !text.contains("AKIA"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_endpoint_is_a_storage_error_naming_bucket_and_key() {
        let bad = config(&[("AWS_ENDPOINT_URL", "not a url")]);
        let error = bad.bucket("b", "k.json").unwrap_err().to_string();
        assert!(
            error.starts_with("s3://b/k.json: the S3 endpoint override"),
            "{error}"
        );
    }

    #[test]
    fn the_budget_follows_the_memory_setting() {
        assert_eq!(object_budget(None), DEFAULT_OBJECT_BUDGET);
        assert_eq!(object_budget(Some(128)), 32 * 1024 * 1024);
        assert_eq!(object_budget(Some(10_240)), DEFAULT_OBJECT_BUDGET);
    }

    #[test]
    fn only_short_error_codes_are_kept() {
        let xml = "<?xml version=\"1.0\"?><Error><Code>NoSuchBucket</Code><Message>The bucket x</Message></Error>";
        assert_eq!(xml_element(xml, "Code").as_deref(), Some("NoSuchBucket"));
        assert_eq!(xml_element("<Code>has spaces in it</Code>", "Code"), None);
        assert_eq!(xml_element("not xml", "Code"), None);
    }
}
