//! Authentication: how a request proves who it is, declared once per connector and applied to every request.
//!
//! The engine calls [`Auth::authorize`] for each request it is about to send (every retry included, so nonces and
//! timestamps are always fresh) with the method, the URL *without* any credential parameters, and gets back the
//! headers and query parameters to add. Secret material stays inside [`Secret`] values.
//!
//! Methods: API key (header or query), bearer token, HTTP Basic, OAuth 1.0a ([`oauth1`]: HMAC-SHA1/HMAC-SHA256,
//! with or without token, realm, header or query placement) and the OAuth 2.0 client credentials grant ([`oauth2`]:
//! a cached bearer token).
//!
//! URLs a server hands back (`Link` headers, next URLs in bodies) may echo credentials (WooCommerce repeats every
//! `oauth_*` parameter, the consumer key included): pass them through [`Auth::strip_credentials`] before storing
//! them in state or requesting them, and they are authorized afresh like any other request.

mod hmac_sha256;
pub mod oauth1;
pub mod oauth2;

use reqwest::Method;
use url::Url;

pub use self::hmac_sha256::HmacSha256;
pub use self::oauth1::{
    OAuth1, OAuth1Placement, OAuth1SignatureMethod, OAuth1Signed, strip_oauth_parameters,
};
pub use self::oauth2::{ClientAuthentication, OAuth2ClientCredentials};
use crate::error::Result;
use crate::secrets::Secret;

/// How a connector authenticates against its API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Auth {
    /// No authentication.
    None,
    /// An API key in a header (`name: value`).
    ApiKeyHeader { name: String, key: Secret<String> },
    /// An API key in the query string (`?name=value`).
    ApiKeyQuery { name: String, key: Secret<String> },
    /// `Authorization: Bearer <token>`.
    Bearer(Secret<String>),
    /// HTTP Basic.
    Basic {
        username: Secret<String>,
        password: Secret<String>,
    },
    /// OAuth 1.0a request signing.
    OAuth1(OAuth1),
    /// OAuth 2.0 client credentials: a bearer token from a token endpoint, cached across invocations.
    OAuth2ClientCredentials(OAuth2ClientCredentials),
}

/// What [`Auth::authorize`] adds to one request.
#[derive(Debug, Clone, Default)]
pub struct Authorized {
    /// Headers to set, values redacted.
    pub headers: Vec<(String, Secret<String>)>,
    /// Query parameters to append, values redacted and *not* encoded: the caller encodes them as it appends them
    /// (`RequestBuilder::query`, `Url::query_pairs_mut`).
    pub query: Vec<(String, Secret<String>)>,
}

impl Auth {
    /// The credentials for one request: `method` and `url` are what will be sent (the URL's query holds the
    /// request's own parameters, never credentials). `http` is the shared client, for methods that fetch tokens.
    pub async fn authorize(
        &self,
        http: &reqwest::Client,
        method: &Method,
        url: &Url,
    ) -> Result<Authorized> {
        let mut out = Authorized::default();
        match self {
            Auth::None => {}
            Auth::ApiKeyHeader { name, key } => out.headers.push((name.clone(), key.clone())),
            Auth::ApiKeyQuery { name, key } => out.query.push((name.clone(), key.clone())),
            Auth::Bearer(token) => {
                out.headers.push((
                    "authorization".into(),
                    Secret::new(format!("Bearer {}", token.expose())),
                ));
            }
            Auth::Basic { username, password } => {
                out.headers.push((
                    "authorization".into(),
                    Secret::new(basic_header(username, password)),
                ));
            }
            Auth::OAuth1(oauth) => match oauth.sign(method.as_str(), url)? {
                OAuth1Signed::Header(value) => out.headers.push(("authorization".into(), value)),
                OAuth1Signed::Query(pairs) => out.query = pairs,
            },
            Auth::OAuth2ClientCredentials(oauth) => {
                let token = oauth.access_token(http).await?;
                out.headers.push((
                    "authorization".into(),
                    Secret::new(format!("Bearer {}", token.expose())),
                ));
            }
        }
        Ok(out)
    }

    /// A server-provided URL without the credentials this method adds to queries (`oauth_*` parameters, the API
    /// key parameter), ready to be stored in state and authorized afresh. Other methods return it unchanged.
    pub fn strip_credentials(&self, url: &Url) -> Url {
        match self {
            Auth::OAuth1(_) => strip_oauth_parameters(url),
            Auth::ApiKeyQuery { name, .. }
                if url.query_pairs().any(|(k, _)| k == name.as_str()) =>
            {
                let kept: Vec<(String, String)> = url
                    .query_pairs()
                    .filter(|(k, _)| k != name.as_str())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                let mut out = url.clone();
                if kept.is_empty() {
                    out.set_query(None);
                } else {
                    out.query_pairs_mut().clear().extend_pairs(kept);
                }
                out
            }
            _ => url.clone(),
        }
    }

    /// Whether the method holds a token it can renew ([`Auth::on_rejected`] then gets a new one): a `401` is worth
    /// one immediate retry.
    pub fn renews_tokens(&self) -> bool {
        matches!(self, Auth::OAuth2ClientCredentials(_))
    }

    /// Tells the method that the API rejected a request (`401`): a cached OAuth2 token is dropped so the next
    /// attempt fetches a new one. Other methods have nothing to forget.
    pub async fn on_rejected(&self) {
        if let Auth::OAuth2ClientCredentials(oauth) = self {
            oauth.forget_token().await;
        }
    }
}

/// An error and its causes, joined with `: ` (reqwest's own message alone says only "error sending request").
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// `Basic base64(user:password)`.
fn basic_header(username: &Secret<String>, password: &Secret<String>) -> String {
    use base64::Engine as _;
    let raw = format!("{}:{}", username.expose(), password.expose());
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn simple_methods_add_the_expected_header_or_parameter() {
        let http = reqwest::Client::new();
        let url = Url::parse("http://127.0.0.1/v1/items?page=2").unwrap();
        let basic = Auth::Basic {
            username: Secret::new("ck".into()),
            password: Secret::new("cs".into()),
        };
        let out = basic.authorize(&http, &Method::GET, &url).await.unwrap();
        assert_eq!(out.headers[0].1.expose(), "Basic Y2s6Y3M=");
        let query = Auth::ApiKeyQuery {
            name: "api_key".into(),
            key: Secret::new("k".into()),
        };
        let out = query.authorize(&http, &Method::GET, &url).await.unwrap();
        assert_eq!(
            (out.query[0].0.as_str(), out.query[0].1.expose().as_str()),
            ("api_key", "k")
        );
        let bearer = Auth::Bearer(Secret::new("t".into()));
        let out = bearer.authorize(&http, &Method::GET, &url).await.unwrap();
        assert_eq!(out.headers[0].1.expose(), "Bearer t");
        assert!(!format!("{out:?}").contains("Bearer t"));
    }

    #[tokio::test]
    async fn oauth1_lands_in_the_header_or_the_query() {
        let http = reqwest::Client::new();
        let url = Url::parse("http://127.0.0.1/v1/items?page=2").unwrap();
        let oauth = OAuth1::new(Secret::new("ck".into()), Secret::new("cs".into())).realm("R");
        let header = Auth::OAuth1(oauth.clone());
        let out = header.authorize(&http, &Method::GET, &url).await.unwrap();
        assert!(out.query.is_empty());
        assert!(out.headers[0].1.expose().starts_with("OAuth realm=\"R\","));
        let query = Auth::OAuth1(oauth.placement(OAuth1Placement::Query));
        let out = query.authorize(&http, &Method::GET, &url).await.unwrap();
        assert!(out.headers.is_empty());
        assert!(out.query.iter().any(|(k, _)| k == "oauth_signature"));
    }

    #[test]
    fn strip_credentials_removes_what_the_method_adds() {
        let url = Url::parse("http://127.0.0.1/v1/items?page=2&api_key=k&oauth_nonce=n").unwrap();
        let key = Auth::ApiKeyQuery {
            name: "api_key".into(),
            key: Secret::new("k".into()),
        };
        assert_eq!(
            key.strip_credentials(&url).as_str(),
            "http://127.0.0.1/v1/items?page=2&oauth_nonce=n"
        );
        let oauth = Auth::OAuth1(OAuth1::new(
            Secret::new("ck".into()),
            Secret::new("cs".into()),
        ));
        assert_eq!(
            oauth.strip_credentials(&url).as_str(),
            "http://127.0.0.1/v1/items?page=2&api_key=k"
        );
        assert_eq!(Auth::None.strip_credentials(&url), url);
    }
}
