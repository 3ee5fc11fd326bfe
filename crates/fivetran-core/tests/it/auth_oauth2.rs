//! OAuth 2.0 client credentials against a local token server (axum on 127.0.0.1): the token is fetched once and
//! cached across clones (a warm Lambda's invocations), refreshed after expiry minus the margin, sent with the client
//! credentials in the body or as HTTP Basic, and a rejected token request is an auth error that shows no secret.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use fivetran_core::Secret;
use fivetran_core::auth::{Auth, ClientAuthentication, OAuth2ClientCredentials};
use reqwest::Method;
use serde_json::json;
use url::Url;

const CLIENT_ID: &str = "client-7";
const CLIENT_SECRET: &str = "very-secret-9";

#[derive(Default)]
struct TokenServer {
    calls: AtomicUsize,
    expires_in: u64,
    seen: std::sync::Mutex<Vec<(Option<String>, String)>>,
}

async fn token(
    State(server): State<Arc<TokenServer>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let call = server.calls.fetch_add(1, Ordering::SeqCst) + 1;
    let authorization = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned());
    server
        .seen
        .lock()
        .unwrap()
        .push((authorization.clone(), body.clone()));
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let basic = format!(
        "Basic {}",
        base64_encode(&format!("{CLIENT_ID}:{CLIENT_SECRET}"))
    );
    let by_basic = authorization.as_deref() == Some(basic.as_str());
    let by_body = field("client_id").as_deref() == Some(CLIENT_ID)
        && field("client_secret").as_deref() == Some(CLIENT_SECRET);
    if field("grant_type").as_deref() != Some("client_credentials") || !(by_basic || by_body) {
        let body =
            json!({"error": "invalid_client", "error_description": format!("bad {CLIENT_SECRET}")});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    let mut body = json!({"access_token": format!("token-{call}"), "token_type": "Bearer"});
    if server.expires_in > 0 {
        body["expires_in"] = server.expires_in.into();
    }
    axum::Json(body).into_response()
}

fn base64_encode(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

async fn start(expires_in: u64) -> (Arc<TokenServer>, Url) {
    let server = Arc::new(TokenServer {
        expires_in,
        ..TokenServer::default()
    });
    let app = Router::new()
        .route("/oauth/token", post(token))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = Url::parse(&format!(
        "http://{}/oauth/token",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (server, url)
}

fn credentials(url: Url, secret: &str) -> OAuth2ClientCredentials {
    OAuth2ClientCredentials::new(
        url,
        Secret::new(CLIENT_ID.into()),
        Secret::new(secret.into()),
    )
}

async fn bearer(auth: &Auth, http: &reqwest::Client) -> String {
    let url = Url::parse("http://127.0.0.1:1/v1/items").unwrap();
    let out = auth.authorize(http, &Method::GET, &url).await.unwrap();
    assert_eq!(out.headers[0].0, "authorization");
    out.headers[0].1.expose().clone()
}

#[tokio::test]
async fn the_token_is_fetched_once_and_shared_by_clones_and_concurrent_requests() {
    let (server, url) = start(3600).await;
    let http = reqwest::Client::new();
    let auth = Auth::OAuth2ClientCredentials(
        credentials(url, CLIENT_SECRET).scope("read:orders read:items"),
    );
    let warm = auth.clone();
    let (a, b, c) = tokio::join!(
        bearer(&auth, &http),
        bearer(&warm, &http),
        bearer(&auth, &http)
    );
    assert_eq!(
        (a.as_str(), b.as_str(), c.as_str()),
        ("Bearer token-1", "Bearer token-1", "Bearer token-1")
    );
    assert_eq!(bearer(&warm, &http).await, "Bearer token-1");
    assert_eq!(server.calls.load(Ordering::SeqCst), 1);
    let seen = server.seen.lock().unwrap();
    assert!(
        seen[0].0.as_deref().unwrap().starts_with("Basic "),
        "HTTP Basic is the default"
    );
    assert!(
        seen[0].1.contains("scope=read%3Aorders+read%3Aitems"),
        "{}",
        seen[0].1
    );
    assert!(
        !seen[0].1.contains(CLIENT_SECRET),
        "the secret is not in the body with Basic"
    );
}

#[tokio::test]
async fn client_credentials_can_travel_in_the_form_body() {
    let (server, url) = start(3600).await;
    let http = reqwest::Client::new();
    let auth = Auth::OAuth2ClientCredentials(
        credentials(url, CLIENT_SECRET).client_authentication(ClientAuthentication::FormBody),
    );
    assert_eq!(bearer(&auth, &http).await, "Bearer token-1");
    let seen = server.seen.lock().unwrap();
    assert_eq!(
        seen[0].0, None,
        "no Authorization header with body credentials"
    );
    assert!(
        seen[0].1.contains("client_id=client-7")
            && seen[0].1.contains("client_secret=very-secret-9")
    );
}

#[tokio::test]
async fn an_expiring_token_is_refreshed_after_expiry_minus_the_margin() {
    // Tokens live 2 s; with a 1 s margin the cached one is used for about 1 s.
    let (server, url) = start(2).await;
    let http = reqwest::Client::new();
    let auth = Auth::OAuth2ClientCredentials(
        credentials(url, CLIENT_SECRET).expiry_margin(Duration::from_secs(1)),
    );
    assert_eq!(bearer(&auth, &http).await, "Bearer token-1");
    assert_eq!(bearer(&auth, &http).await, "Bearer token-1");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(bearer(&auth, &http).await, "Bearer token-2");
    // A token within the margin of its expiry is never used: margin ≥ lifetime means a new token every time.
    let (server2, url2) = start(2).await;
    let eager = Auth::OAuth2ClientCredentials(
        credentials(url2, CLIENT_SECRET).expiry_margin(Duration::from_secs(5)),
    );
    bearer(&eager, &http).await;
    bearer(&eager, &http).await;
    assert_eq!(server2.calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_rejected_token_can_be_forgotten_after_a_401() {
    let (server, url) = start(3600).await;
    let http = reqwest::Client::new();
    let auth = Auth::OAuth2ClientCredentials(credentials(url, CLIENT_SECRET));
    assert_eq!(bearer(&auth, &http).await, "Bearer token-1");
    auth.on_rejected().await;
    assert_eq!(bearer(&auth, &http).await, "Bearer token-2");
    assert_eq!(server.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_rejected_token_request_is_an_auth_error_without_secrets() {
    let (_server, url) = start(3600).await;
    let http = reqwest::Client::new();
    let auth = Auth::OAuth2ClientCredentials(credentials(url.clone(), "wrong-secret-3"));
    let target = Url::parse("http://127.0.0.1:1/v1/items").unwrap();
    let error = auth
        .authorize(&http, &Method::GET, &target)
        .await
        .unwrap_err();
    assert!(error.is_auth(), "{error:?}");
    let text = format!("{error} {error:?} {auth:?}");
    assert!(
        text.contains("/oauth/token") && text.contains("401"),
        "{text}"
    );
    for secret in ["wrong-secret-3", CLIENT_SECRET, CLIENT_ID] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test]
async fn an_unreachable_token_endpoint_is_a_retryable_transport_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = Url::parse(&format!(
        "http://{}/oauth/token",
        listener.local_addr().unwrap()
    ))
    .unwrap();
    drop(listener);
    let http = reqwest::Client::new();
    let auth = Auth::OAuth2ClientCredentials(credentials(url, CLIENT_SECRET));
    let target = Url::parse("http://127.0.0.1:1/v1/items").unwrap();
    let error = auth
        .authorize(&http, &Method::GET, &target)
        .await
        .unwrap_err();
    assert!(error.is_retryable() && !error.is_auth(), "{error:?}");
    assert!(!error.to_string().contains(CLIENT_SECRET));
}

/// Through the engine: an API that accepts only the newest token (the first one was revoked early).
#[tokio::test]
async fn the_engine_renews_a_revoked_token_once_and_reports_a_rejected_client() {
    use crate::harness::{Reply, Server, call, engine};
    use fivetran_core::Secrets;
    use fivetran_core::connector::{Config, Endpoint, Stream};

    let (tokens, token_url) = start(3600).await;
    let api = Server::start(|hit| {
        let authorization = hit
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if authorization == Some("Bearer token-2") {
            Reply::json(json!({"data": [{"id": 1}]}))
        } else {
            Reply::status(401, r#"{"message": "token revoked"}"#)
        }
    })
    .await;
    let configure = |api: String, token_url: Url, secret: &'static str| {
        move |_: &Secrets| {
            let auth = Auth::OAuth2ClientCredentials(credentials(token_url.clone(), secret));
            Ok(Config::new(&api, auth)?
                .stream(Stream::new("items", &["id"], Endpoint::get("/items")).records("/data")))
        }
    };
    let good = engine(configure(api.url.clone(), token_url.clone(), CLIENT_SECRET));
    let response = call(&good, json!({}), json!({})).await.unwrap();
    assert_eq!(response["insert"]["items"], json!([{"id": 1}]));
    assert_eq!(
        tokens.calls.load(Ordering::SeqCst),
        2,
        "one renewal after the 401"
    );

    let rejected = engine(configure(api.url.clone(), token_url, "wrong-secret-5"));
    let api_calls = api.hits().len();
    let error = call(&rejected, json!({}), json!({})).await.unwrap_err();
    assert!(error.is_auth(), "{error:?}");
    assert!(!error.to_string().contains("wrong-secret-5"));
    assert_eq!(
        api.hits().len(),
        api_calls,
        "no API request without a token"
    );
    assert_eq!(
        tokens.calls.load(Ordering::SeqCst),
        3,
        "a rejected client is not retried"
    );
}
