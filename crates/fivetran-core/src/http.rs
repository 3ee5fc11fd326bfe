//! The shared HTTP client: timeouts, retries with jittered exponential backoff, `Retry-After`, rate limits.
//!
//! One [`Http`] is built per cold start (per distinct secrets) and shared by every request of every invocation.
//! [`Http::fetch`] sends one logical request and returns its parsed JSON body, retrying as needed:
//!
//! - **Retried:** HTTP 408, 429, 500, 502, 503, 504 and connection failures (exponential backoff with full jitter:
//!   a random wait in `0..=min(backoff_max, backoff_base × 2^attempt)`), and truncated or malformed JSON bodies
//!   (at most [`HttpSettings::decode_retries`] times, then [`Error::Decode`] naming the stream and URL path).
//! - **`Retry-After`** on 429 and 503, in seconds or as an HTTP date, is honoured, capped at
//!   [`HttpSettings::retry_after_cap`]. GitHub-style `x-ratelimit-remaining: 0` with `x-ratelimit-reset` (epoch
//!   seconds) waits until the reset. A wait that does not fit the time budget is not taken: the request fails with
//!   [`Error::RateLimited`], which the engine treats as "quota exhausted" (rows gathered so far are returned).
//! - **403** is classified by its headers: with `x-ratelimit-remaining: 0` or `retry-after` it is a rate limit;
//!   otherwise, like 401, an [`Error::Auth`]. Other 4xx fail at once with [`Error::Http`].
//! - **Client-side rate limit:** request starts are spaced by `1 / rate_limit` seconds across all concurrent tasks.
//! - No request starts once the time budget is spent ([`Error::Deadline`]).
//!
//! Credentials come from [`Auth::authorize`], called afresh for every attempt so nonces and timestamps are never
//! reused; an authorization that cannot succeed (an OAuth2 token request the server rejects) fails at once with its
//! own error. A `401` to an OAuth2 client-credentials token drops the cached token and retries once at once with a
//! new one (servers may revoke tokens before `expires_in`). Errors and logs carry only the URL *path*: query
//! strings can hold credentials.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

use crate::auth::Auth;
use crate::budget::TimeBudget;
use crate::error::{Error, Result};
use crate::row::Page;

mod headers;

use headers::{describe, error_detail};
pub use headers::{parse_retry_after, rate_limit_in_body, rate_limit_wait};

/// HTTP behaviour a connector may tune; the defaults suit most APIs.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Client-side rate limit in requests per second (`None`: unlimited).
    pub rate_limit: Option<f64>,
    /// Pages fetched at once when the number of pages is known.
    pub concurrency: usize,
    /// Timeout for establishing a connection.
    pub connect_timeout: Duration,
    /// Timeout for one whole request (headers and body), also bounded by the deadline.
    pub read_timeout: Duration,
    /// Retries of one request after its first attempt.
    pub max_retries: u32,
    /// First backoff step.
    pub backoff_base: Duration,
    /// Largest backoff step.
    pub backoff_max: Duration,
    /// Largest wait honoured from `Retry-After` (and `x-ratelimit-reset`).
    pub retry_after_cap: Duration,
    /// Retries of a truncated or malformed JSON body.
    pub decode_retries: u32,
    /// Headers sent with every request (e.g. `Accept`, `User-Agent`).
    pub headers: Vec<(String, String)>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            rate_limit: None,
            concurrency: 4,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            max_retries: 5,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(20),
            retry_after_cap: Duration::from_secs(60),
            decode_retries: 2,
            headers: vec![(
                "user-agent".into(),
                concat!("fivetran-core/", env!("CARGO_PKG_VERSION")).into(),
            )],
        }
    }
}

/// Counters of one invocation, for its summary log line.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests sent (attempts, retries included).
    pub requests: AtomicU64,
    /// Attempts that were retried.
    pub retries: AtomicU64,
}

/// One logical request: what to send and on whose behalf (for error messages).
#[derive(Debug, Clone)]
pub struct Call<'a> {
    /// Stream name, for errors.
    pub stream: &'a str,
    /// HTTP method.
    pub method: Method,
    /// Full URL with the request's own query parameters (no credentials).
    pub url: Url,
    /// JSON body for POST requests.
    pub body: Option<Bytes>,
    /// Extra headers of this endpoint.
    pub headers: &'a [(String, String)],
    /// Where the records are in the body (a JSON pointer), or `None` to only check that the body is JSON.
    pub records: Option<&'a str>,
}

/// A successful response: headers and the body split into its records and the rest.
#[derive(Debug)]
pub struct Fetched {
    /// Response headers.
    pub headers: HeaderMap,
    /// The body.
    pub(crate) page: Page,
}

/// The shared client with its auth, settings and rate limiter.
#[derive(Debug)]
pub struct Http {
    client: reqwest::Client,
    auth: Auth,
    settings: HttpSettings,
    next_slot: Mutex<Option<Instant>>,
    rng: AtomicU64,
    /// One permit per request the source may have in flight ([`HttpSettings::concurrency`]): the look-ahead, probes
    /// and pages read again share the bound.
    in_flight: tokio::sync::Semaphore,
}

/// Loads the system's trusted roots now (see [`Http::new`]); [`lambda::run`](crate::lambda::run) calls it on a
/// thread of its own during init, so the first invocation does not wait for it.
pub fn preload_tls() {
    let _ = platform_tls();
}

/// The TLS configuration with the system's trusted roots (rustls' platform verifier, as reqwest builds it), made
/// once per process: reading the certificate store takes tens of milliseconds, which every client would otherwise
/// spend again.
fn platform_tls() -> Result<rustls::ClientConfig> {
    static TLS: OnceLock<std::result::Result<rustls::ClientConfig, String>> = OnceLock::new();
    TLS.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| e.to_string())?;
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    })
    .clone()
    .map_err(|e| {
        Error::Declaration(format!(
            "the system's trusted certificates could not be loaded: {e}"
        ))
    })
}

impl Http {
    /// Builds the client: rustls, timeouts, default headers and an optional extra trusted root (PEM).
    pub fn new(auth: Auth, settings: HttpSettings, ca_pem: Option<&str>) -> Result<Self> {
        let mut headers = HeaderMap::new();
        for (name, value) in &settings.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::Declaration(format!("invalid header name `{name}`")))?;
            let value = HeaderValue::from_str(value)
                .map_err(|_| Error::Declaration(format!("invalid value for header `{name}`")))?;
            headers.insert(name, value);
        }
        let mut builder = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .default_headers(headers);
        if ca_pem.is_none() {
            builder = builder.use_preconfigured_tls(platform_tls()?);
        }
        if let Some(pem) = ca_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem.as_bytes())
                .ok()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| {
                    Error::invalid_secret("caCertificate", "is not a PEM certificate")
                })?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder
            .build()
            .map_err(|e| Error::Declaration(format!("the HTTP client could not be built: {e}")))?;
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9E37_79B9, |d| d.as_nanos() as u64);
        Ok(Http {
            client,
            auth,
            next_slot: Mutex::new(None),
            rng: AtomicU64::new(seed | 1),
            in_flight: tokio::sync::Semaphore::new(settings.concurrency.max(1)),
            settings,
        })
    }

    /// The underlying reqwest client (shared, e.g. by the `CLOUD_STORAGE` upload).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// The settings the client was built with.
    pub fn settings(&self) -> &HttpSettings {
        &self.settings
    }

    /// Sends one logical request with retries and returns its parsed JSON body.
    pub async fn fetch(
        &self,
        call: &Call<'_>,
        time: &TimeBudget,
        stats: &Stats,
    ) -> Result<Fetched> {
        let path = call.url.path().to_owned();
        let method = call.method.as_str().to_owned();
        let mut attempt: u32 = 0;
        let mut decode_failures: u32 = 0;
        let mut token_renewed = false;
        loop {
            if !time.may_start() {
                return Err(Error::Deadline {
                    stream: call.stream.to_owned(),
                });
            }
            self.wait_for_slot(time).await?;
            let permit = self.in_flight.acquire().await;
            let sent = std::time::Instant::now();
            let outcome = self.attempt(call, time).await;
            drop(permit);
            stats.requests.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(
                stream = call.stream,
                path = %path,
                ms = sent.elapsed().as_millis() as u64,
                ok = matches!(outcome, Attempt::Done(_)),
                "request answered"
            );
            let wait = match outcome {
                Attempt::Done(fetched) => return Ok(fetched),
                Attempt::Unauthorized(error) => return Err(error),
                Attempt::BadBody(reason) => {
                    decode_failures += 1;
                    if decode_failures > self.settings.decode_retries {
                        return Err(Error::Decode {
                            stream: call.stream.to_owned(),
                            method,
                            path,
                            reason,
                        });
                    }
                    self.backoff(attempt)
                }
                Attempt::Failed(reason) => {
                    if !time.may_start() {
                        return Err(Error::Deadline {
                            stream: call.stream.to_owned(),
                        });
                    }
                    if attempt >= self.settings.max_retries {
                        return Err(Error::Transport {
                            stream: call.stream.to_owned(),
                            method,
                            path,
                            reason,
                        });
                    }
                    self.backoff(attempt)
                }
                Attempt::Status {
                    status,
                    headers,
                    detail,
                } => {
                    let limited = rate_limit_wait(status, &headers)
                        .or_else(|| rate_limit_in_body(status, detail.as_deref()));
                    if status == 401 && !token_renewed && self.auth.renews_tokens() {
                        // A cached OAuth2 token the API no longer accepts: drop it and try once, at once, with a
                        // new one.
                        token_renewed = true;
                        self.auth.on_rejected().await;
                        stats.retries.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if (status == 401 || status == 403) && limited.is_none() {
                        if status == 401 {
                            self.auth.on_rejected().await;
                        }
                        return Err(Error::Auth {
                            stream: call.stream.to_owned(),
                            method,
                            path,
                            status,
                        });
                    }
                    let retryable = matches!(status, 403 | 408 | 429 | 500 | 502 | 503 | 504);
                    if !retryable {
                        return Err(Error::Http {
                            stream: call.stream.to_owned(),
                            method,
                            path,
                            status,
                            detail,
                        });
                    }
                    let rate_limited = limited.is_some() || status == 429;
                    let exhausted = attempt >= self.settings.max_retries;
                    let wait = match limited {
                        Some(asked) => asked.min(self.settings.retry_after_cap),
                        None => self.backoff(attempt),
                    };
                    if rate_limited && (exhausted || !time.fits(wait)) {
                        return Err(Error::RateLimited {
                            stream: call.stream.to_owned(),
                            method,
                            path,
                            status,
                            retry_after: limited,
                        });
                    }
                    if exhausted {
                        return Err(Error::Http {
                            stream: call.stream.to_owned(),
                            method,
                            path,
                            status,
                            detail,
                        });
                    }
                    wait
                }
            };
            if !time.fits(wait) {
                return Err(Error::Deadline {
                    stream: call.stream.to_owned(),
                });
            }
            attempt += 1;
            stats.retries.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(stream = call.stream, path = %path, attempt, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }

    /// One attempt: authorize afresh, send, read and parse the body.
    async fn attempt(&self, call: &Call<'_>, time: &TimeBudget) -> Attempt {
        let authorized = match self
            .auth
            .authorize(&self.client, &call.method, &call.url)
            .await
        {
            Ok(a) => a,
            // A rejected token request (or a URL that cannot be signed) will not improve by repeating it.
            Err(e) if !e.is_retryable() => return Attempt::Unauthorized(e),
            Err(e) => return Attempt::Failed(format!("authorization failed: {e}")),
        };
        let mut url = call.url.clone();
        if !authorized.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &authorized.query {
                pairs.append_pair(name, value.expose());
            }
        }
        let mut request = self.client.request(call.method.clone(), url);
        for (name, value) in call.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        for (name, value) in &authorized.headers {
            let Ok(mut value) = HeaderValue::from_str(value.expose()) else {
                return Attempt::Failed(format!("credential header `{name}` is not valid text"));
            };
            value.set_sensitive(true);
            request = request.header(name.as_str(), value);
        }
        if let Some(body) = &call.body {
            request = request
                .header("content-type", "application/json")
                .body(body.clone());
        }
        let timeout = match time.until_deadline() {
            Some(left) => self
                .settings
                .read_timeout
                .min(left.max(Duration::from_millis(1))),
            None => self.settings.read_timeout,
        };
        let response = match tokio::time::timeout(timeout, request.send()).await {
            Err(_) => return Attempt::Failed("timed out".into()),
            Ok(Err(e)) => return Attempt::Failed(describe(&e)),
            Ok(Ok(r)) => r,
        };
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body: Result<Vec<u8>, String> =
            match tokio::time::timeout(timeout, read_body(response)).await {
                Err(_) => Err("timed out reading the body".into()),
                Ok(Err(e)) => Err(describe(&e)),
                Ok(Ok(b)) => Ok(b),
            };
        if !(200..300).contains(&status) {
            let detail = body.ok().and_then(|b| error_detail(&b));
            return Attempt::Status {
                status,
                headers,
                detail,
            };
        }
        let text = match body.map(String::from_utf8) {
            Err(reason) => return Attempt::BadBody(format!("body could not be read: {reason}")),
            Ok(Err(_)) => return Attempt::BadBody("not UTF-8 text".into()),
            Ok(Ok(text)) => text,
        };
        let page = match call.records {
            Some(pointer) => Page::split(text, pointer, call.stream),
            None => serde_json::from_str::<serde::de::IgnoredAny>(&text)
                .map(|_| Page::empty())
                .map_err(|e| Error::Pagination {
                    stream: call.stream.into(),
                    reason: e.to_string(),
                }),
        };
        match page {
            Ok(page) => Attempt::Done(Fetched { headers, page }),
            Err(Error::Pagination { reason, .. }) => Attempt::BadBody(reason),
            Err(e) => Attempt::BadBody(e.to_string()),
        }
    }

    /// Waits for the client-side rate limiter's next slot.
    async fn wait_for_slot(&self, time: &TimeBudget) -> Result<()> {
        let Some(rps) = self.settings.rate_limit.filter(|r| *r > 0.0) else {
            return Ok(());
        };
        let interval = Duration::from_secs_f64(1.0 / rps);
        let slot = {
            let mut next = self.next_slot.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + interval);
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
        let _ = time;
        Ok(())
    }

    /// A full-jitter exponential backoff step for `attempt`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .settings
            .backoff_base
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.settings.backoff_max);
        let random = self.next_random();
        Duration::from_nanos(random % (ceiling.as_nanos() as u64).saturating_add(1))
    }

    /// A xorshift step: enough randomness for jitter, no extra dependency.
    fn next_random(&self) -> u64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        x
    }
}

/// What one attempt produced.
enum Attempt {
    Done(Fetched),
    Unauthorized(Error),
    BadBody(String),
    Failed(String),
    Status {
        status: u16,
        headers: HeaderMap,
        detail: Option<String>,
    },
}

/// The most a `Content-Length` may reserve up front (a larger body still reads, growing as it comes).
const MAX_PRESIZE: u64 = 16 << 20;

/// Reads a body into one buffer of its own, chunk by chunk. Each chunk is copied and dropped before the next read,
/// so the connection reuses its read buffer; collecting the chunks first (`Response::bytes`) keeps every chunk's
/// buffer alive until the end, and with several pages in flight those buffers weighed more than the pages.
async fn read_body(mut response: reqwest::Response) -> reqwest::Result<Vec<u8>> {
    let presize = response.content_length().unwrap_or(0).min(MAX_PRESIZE);
    let mut body = Vec::with_capacity(presize as usize);
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_its_ceiling() {
        let http = Http::new(Auth::None, HttpSettings::default(), None).unwrap();
        for attempt in 0..30 {
            assert!(http.backoff(attempt) <= Duration::from_secs(20));
        }
        assert!(http.backoff(0) <= Duration::from_millis(250));
    }

    #[test]
    fn a_bad_ca_certificate_names_the_secret() {
        let error = Http::new(Auth::None, HttpSettings::default(), Some("not pem")).unwrap_err();
        assert!(error.to_string().contains("caCertificate"), "{error}");
    }
}
