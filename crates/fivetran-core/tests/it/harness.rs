//! Test harness: a scriptable local HTTP server and helpers that run a connector through the named handler.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use fivetran_core::connector::Config;
use fivetran_core::lambda::{Invocation, handle};
use fivetran_core::{Engine, Result, Secrets};
use serde_json::{Value, json};

/// One request the server saw.
#[derive(Debug, Clone)]
pub struct Hit {
    #[allow(dead_code)]
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub raw_query: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Hit {
    /// A query parameter as a number.
    pub fn num(&self, name: &str) -> Option<u64> {
        self.query.get(name).and_then(|v| v.parse().ok())
    }
}

/// What the server answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(value: Value) -> Self {
        Reply {
            status: 200,
            headers: Vec::new(),
            body: value.to_string(),
            delay: Duration::ZERO,
        }
    }

    pub fn status(status: u16, body: &str) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = Arc<dyn Fn(&Hit) -> Reply + Send + Sync>;

#[derive(Clone)]
struct Shared {
    handler: Handler,
    hits: Arc<Mutex<Vec<Hit>>>,
    /// Requests being answered now, and the most ever at once.
    in_flight: Arc<Mutex<(usize, usize)>>,
}

/// A running server.
pub struct Server {
    pub url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    in_flight: Arc<Mutex<(usize, usize)>>,
}

impl Server {
    /// Starts a server answering every request with `handler`.
    pub async fn start(handler: impl Fn(&Hit) -> Reply + Send + Sync + 'static) -> Server {
        let shared = Shared {
            handler: Arc::new(handler),
            hits: Arc::new(Mutex::new(Vec::new())),
            in_flight: Arc::new(Mutex::new((0, 0))),
        };
        let hits = shared.hits.clone();
        let in_flight = shared.in_flight.clone();
        let app = axum::Router::new().fallback(serve).with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Server {
            url,
            hits,
            in_flight,
        }
    }

    /// The most requests the server was answering at the same time.
    pub fn max_in_flight(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    /// Every request seen so far.
    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

async fn serve(State(shared): State<Shared>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let body: Bytes = axum::body::to_bytes(body, 10 << 20)
        .await
        .unwrap_or_default();
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let hit = Hit {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        raw_query: parts.uri.query().unwrap_or_default().to_owned(),
        headers: parts.headers.clone(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    shared.hits.lock().unwrap().push(hit.clone());
    {
        let mut in_flight = shared.in_flight.lock().unwrap();
        in_flight.0 += 1;
        in_flight.1 = in_flight.1.max(in_flight.0);
    }
    let reply = (shared.handler)(&hit);
    if !reply.delay.is_zero() {
        tokio::time::sleep(reply.delay).await;
    }
    shared.in_flight.lock().unwrap().0 -= 1;
    let mut response = (
        StatusCode::from_u16(reply.status).unwrap(),
        reply.body.clone(),
    )
        .into_response();
    response.headers_mut().insert(
        "content-type",
        axum::http::HeaderValue::from_static("application/json"),
    );
    for (name, value) in &reply.headers {
        response.headers_mut().append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            axum::http::HeaderValue::from_str(value).unwrap(),
        );
    }
    response
}

/// Items `1..=n` as `{"id": i, "name": "item i"}`.
pub fn items(range: std::ops::RangeInclusive<u64>) -> Vec<Value> {
    range
        .map(|i| json!({"id": i, "name": format!("item {i}")}))
        .collect()
}

/// A connector engine from a configuration closure.
pub fn engine(
    configure: impl Fn(&Secrets) -> Result<Config> + Send + Sync + 'static,
) -> Engine<impl fivetran_core::connector::Connector> {
    Engine::new(configure)
}

/// Calls the handler once (a 60 s deadline unless given).
pub async fn call<C: fivetran_core::connector::Connector>(
    engine: &Engine<C>,
    state: Value,
    secrets: Value,
) -> Result<Value> {
    call_with(engine, state, secrets, Duration::from_secs(60)).await
}

/// Calls the handler once with a deadline `timeout` from now.
pub async fn call_with<C: fivetran_core::connector::Connector>(
    engine: &Engine<C>,
    state: Value,
    secrets: Value,
    timeout: Duration,
) -> Result<Value> {
    let invocation = Invocation::with_timeout("test", timeout);
    let body = handle(
        engine,
        json!({"state": state, "secrets": secrets, "sync_id": "test"}),
        &invocation,
    )
    .await?;
    Ok(serde_json::from_str(body.get()).unwrap())
}

/// Runs a whole sync (calls while `hasMore`), returning every response. Panics after `max_calls`.
pub async fn sync<C: fivetran_core::connector::Connector>(
    engine: &Engine<C>,
    state: Value,
    secrets: Value,
    max_calls: usize,
) -> Vec<Value> {
    let mut state = state;
    let mut out = Vec::new();
    for _ in 0..max_calls {
        let response = call(engine, state.clone(), secrets.clone()).await.unwrap();
        check_protocol(&response);
        state = response["state"].clone();
        let more = response["hasMore"] == json!(true);
        out.push(response);
        if !more {
            return out;
        }
    }
    panic!("the sync did not finish in {max_calls} calls");
}

/// The protocol rules every response obeys.
pub fn check_protocol(response: &Value) {
    assert!(response["state"].is_object(), "{response}");
    assert!(response["hasMore"].is_boolean(), "{response}");
    for section in ["insert", "delete"] {
        if let Some(tables) = response[section].as_object() {
            for table in tables.keys() {
                assert!(
                    response["schema"][table]["primary_key"].is_array(),
                    "no schema for {table}"
                );
            }
        }
    }
    let _: fivetran_core::protocol::Response = serde_json::from_value(response.clone()).unwrap();
}

/// The ids (as JSON text) of the rows of `table` in all responses.
pub fn ids(responses: &[Value], table: &str) -> Vec<String> {
    responses
        .iter()
        .flat_map(|r| r["insert"][table].as_array().cloned().unwrap_or_default())
        .map(|row| row["id"].to_string())
        .collect()
}

/// Row count of one response.
pub fn row_count(response: &Value) -> usize {
    ["insert", "delete"]
        .iter()
        .filter_map(|s| response[*s].as_object())
        .flat_map(|t| t.values())
        .map(|rows| rows.as_array().map_or(0, Vec::len))
        .sum()
}

/// Runs the ignored test `name` alone in a new process of this test binary and asserts that it passed.
pub fn in_own_process(name: &str) {
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", name, "--ignored", "--test-threads=1"])
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("1 passed"), "{stdout}");
}
