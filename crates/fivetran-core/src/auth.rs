//! Authentication: how a request proves who it is, declared once per connector and applied to every request.
//!
//! The engine calls [`Auth::authorize`] for each request it is about to send (every retry included, so nonces and
//! timestamps are always fresh) with the method, the URL *without* any credential parameters, and gets back the
//! headers and query parameters to add. Secret material stays inside [`Secret`] values.
//!
//! Methods: API key (header or query), bearer token, HTTP Basic.

use reqwest::Method;
use url::Url;

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
}

/// What [`Auth::authorize`] adds to one request.
#[derive(Debug, Clone, Default)]
pub struct Authorized {
    /// Headers to set, values redacted.
    pub headers: Vec<(String, Secret<String>)>,
    /// Query parameters to append, values redacted.
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
        let _ = (http, method, url);
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
        }
        Ok(out)
    }
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
}
