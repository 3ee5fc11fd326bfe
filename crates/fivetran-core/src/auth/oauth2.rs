//! OAuth 2.0 client credentials grant (RFC 6749 §4.4): a bearer token fetched from the token endpoint and cached.
//!
//! The token is cached behind an `Arc<Mutex<..>>`, so every clone of the [`OAuth2ClientCredentials`] (and every
//! invocation of a warm Lambda, which keeps the connector's `Auth` from its cold start) shares it, and concurrent
//! page fetches wait for one token request instead of each sending their own. A cached token is used until its
//! `expires_in` minus a margin (default 60 s); a token without `expires_in` is kept for at most an hour.
//! [`OAuth2ClientCredentials::forget_token`] drops it early (after a `401`).
//!
//! The client id and secret travel in the form body or as HTTP Basic (RFC 6749 §2.3.1). A rejected token request
//! (`400`/`401`/`403`) is [`Error::Auth`]; other statuses are [`Error::Http`] (retryable when the status is);
//! neither an error nor `Debug` output holds the secret or the token.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;
use url::Url;

use crate::error::{Error, Result};
use crate::secrets::Secret;

/// The name this module uses as the "stream" of its errors.
const STREAM: &str = "oauth2 token endpoint";

/// Tokens without `expires_in` are refreshed after this long.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);

/// How the client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthentication {
    /// `Authorization: Basic base64(client_id:client_secret)` (the RFC's preferred way).
    #[default]
    BasicHeader,
    /// `client_id` and `client_secret` in the form body.
    FormBody,
}

/// Client credentials grant settings and the shared token cache.
#[derive(Clone)]
pub struct OAuth2ClientCredentials {
    token_url: Url,
    client_id: Secret<String>,
    client_secret: Secret<String>,
    scope: Option<String>,
    client_authentication: ClientAuthentication,
    margin: Duration,
    cache: Arc<Mutex<Option<CachedToken>>>,
}

struct CachedToken {
    token: Secret<String>,
    refresh_at: Instant,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    /// Seconds, as a number or (some servers) a numeric string.
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

impl TokenResponse {
    fn lifetime(&self) -> Option<Duration> {
        let seconds = match self.expires_in.as_ref()? {
            serde_json::Value::Number(n) => n.as_f64()?,
            serde_json::Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
        (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
    }
}

#[derive(Deserialize)]
struct TokenError {
    error: String,
}

impl OAuth2ClientCredentials {
    /// Client credentials for `token_url`, sent as HTTP Basic, no scope, a 60 s expiry margin.
    pub fn new(token_url: Url, client_id: Secret<String>, client_secret: Secret<String>) -> Self {
        OAuth2ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scope: None,
            client_authentication: ClientAuthentication::BasicHeader,
            margin: Duration::from_secs(60),
            cache: Arc::new(Mutex::new(None)),
        }
    }

    /// Asks for this `scope` (space-separated scopes, as the server expects them).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Chooses how the client id and secret reach the token endpoint.
    pub fn client_authentication(mut self, how: ClientAuthentication) -> Self {
        self.client_authentication = how;
        self
    }

    /// Refreshes the token this long before it expires (default 60 s).
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The current access token: the cached one while it is fresh, else a new one from the token endpoint.
    pub async fn access_token(&self, http: &reqwest::Client) -> Result<Secret<String>> {
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let requested_at = Instant::now();
        let response = self.request_token(http).await?;
        let lifetime = response.lifetime().unwrap_or(DEFAULT_LIFETIME);
        let token = Secret::new(response.access_token);
        *cache = Some(CachedToken {
            token: token.clone(),
            refresh_at: requested_at + lifetime.saturating_sub(self.margin),
        });
        tracing::debug!(
            lifetime_s = lifetime.as_secs(),
            "fetched an OAuth2 access token"
        );
        Ok(token)
    }

    /// Drops the cached token, so the next request fetches a new one (call it after the API answers `401`).
    pub async fn forget_token(&self) {
        *self.cache.lock().await = None;
    }

    async fn request_token(&self, http: &reqwest::Client) -> Result<TokenResponse> {
        let path = self.token_url.path().to_owned();
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        if let Some(scope) = &self.scope {
            form.push(("scope", scope));
        }
        let mut request = http
            .post(self.token_url.clone())
            .header("accept", "application/json");
        match self.client_authentication {
            ClientAuthentication::BasicHeader => {
                request = request.header(
                    "authorization",
                    super::basic_header(&self.client_id, &self.client_secret),
                );
            }
            ClientAuthentication::FormBody => {
                form.push(("client_id", self.client_id.expose()));
                form.push(("client_secret", self.client_secret.expose()));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let response = request
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| transport(&path, e))?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| transport(&path, e))?;
        if !(200..300).contains(&status) {
            let code = serde_json::from_slice::<TokenError>(&bytes)
                .ok()
                .map(|e| e.error)
                .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_graphic()));
            return Err(if matches!(status, 400 | 401 | 403) {
                tracing::warn!(
                    status,
                    error = code.as_deref().unwrap_or("-"),
                    "the token request was rejected"
                );
                Error::Auth {
                    stream: STREAM.into(),
                    method: "POST".into(),
                    path,
                    status,
                }
            } else {
                Error::Http {
                    stream: STREAM.into(),
                    method: "POST".into(),
                    path,
                    status,
                    detail: code,
                }
            });
        }
        let token: TokenResponse = serde_json::from_slice(&bytes).map_err(|e| Error::Decode {
            stream: STREAM.into(),
            method: "POST".into(),
            path: path.clone(),
            // serde's message names the field and position, never the value.
            reason: format!("not a token response: {e}"),
        })?;
        match token.token_type.as_deref() {
            None => {}
            Some(kind) if kind.eq_ignore_ascii_case("bearer") => {}
            Some(kind) => {
                return Err(Error::Decode {
                    stream: STREAM.into(),
                    method: "POST".into(),
                    path,
                    reason: format!("token_type `{kind}` is not supported (only bearer)"),
                });
            }
        }
        Ok(token)
    }
}

fn transport(path: &str, error: reqwest::Error) -> Error {
    // Without the URL (the path is already named), with the causes that say what went wrong.
    let reason = super::error_chain(&error.without_url());
    Error::Transport {
        stream: STREAM.into(),
        method: "POST".into(),
        path: path.to_owned(),
        reason,
    }
}

impl std::fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth2ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("client_authentication", &self.client_authentication)
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expires_in_may_be_a_number_or_a_numeric_string() {
        let parse = |text: &str| {
            serde_json::from_str::<TokenResponse>(text)
                .unwrap()
                .lifetime()
        };
        assert_eq!(
            parse(r#"{"access_token": "t", "expires_in": 3600}"#),
            Some(Duration::from_secs(3600))
        );
        assert_eq!(
            parse(r#"{"access_token": "t", "expires_in": "120"}"#),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse(r#"{"access_token": "t", "expires_in": -5}"#), None);
        assert_eq!(parse(r#"{"access_token": "t"}"#), None);
    }

    #[test]
    fn debug_shows_neither_id_nor_secret() {
        let auth = OAuth2ClientCredentials::new(
            Url::parse("http://127.0.0.1/token").unwrap(),
            Secret::new("client-id-1".into()),
            Secret::new("client-secret-1".into()),
        );
        let text = format!("{auth:?}");
        assert!(
            !text.contains("client-secret-1") && !text.contains("client-id-1"),
            "{text}"
        );
        assert!(text.contains("/token"));
    }
}
