//! The AWS Lambda Runtime API (`/2018-06-01/runtime/...`), hosted on 127.0.0.1 for one function process at a time.
//!
//! The host queues invocation events; the function's `GET /invocation/next` long-polls until one is queued (it is
//! never answered with an error: `lambda_runtime` panics on a reply without `Lambda-Runtime-Aws-Request-Id`). The
//! function answers through `/invocation/{id}/response` or `/invocation/{id}/error`; a failed initialisation is
//! posted to `/init/error`. Each reply goes to the [`Reply`] channel returned by [`RuntimeApi::submit`].

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::{Notify, oneshot};

use crate::error::{Error, Result};

/// The largest body the host accepts, well above Lambda's 6 MB so that oversized responses can be reported.
const BODY_LIMIT: usize = 64 << 20;

/// One invocation event handed to the function.
#[derive(Debug, Clone)]
pub struct Event {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`: milliseconds since the Unix epoch.
    pub deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub trace_id: String,
    /// The request body.
    pub payload: Vec<u8>,
}

/// An error the function reported through `/error` or `/init/error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionError {
    /// `errorType` (or the `Lambda-Runtime-Function-Error-Type` header).
    pub error_type: String,
    /// `errorMessage` (or the raw body when it is not the usual JSON).
    pub message: String,
}

impl FunctionError {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Self {
        let header_type = headers
            .get("lambda-runtime-function-error-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        FunctionError {
            error_type: field("errorType")
                .or(header_type)
                .unwrap_or_else(|| "Unknown".to_owned()),
            message: field("errorMessage")
                .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned()),
        }
    }
}

/// What the function answered to one event.
#[derive(Debug)]
pub enum Reply {
    /// The response body, as sent.
    Response(Bytes),
    /// An error through the error channel.
    Error(FunctionError),
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Event>,
    waiting: HashMap<String, oneshot::Sender<Reply>>,
    init_error: Option<FunctionError>,
    polls: u64,
}

struct Shared {
    inner: Mutex<Inner>,
    queued: Notify,
    init_failed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running Runtime API host. Dropping it stops the server.
pub struct RuntimeApi {
    address: SocketAddr,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RuntimeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeApi")
            .field("address", &self.address)
            .finish()
    }
}

impl RuntimeApi {
    /// Starts the host on a free loopback port.
    pub async fn start() -> Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::RuntimeApi(format!("cannot bind 127.0.0.1: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::RuntimeApi(e.to_string()))?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner::default()),
            queued: Notify::new(),
            init_failed: Notify::new(),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            // The server ends only with the process or when the host is dropped (the task is aborted).
            let _ = axum::serve(listener, app).await;
        });
        Ok(RuntimeApi {
            address,
            shared,
            server,
        })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.address.to_string()
    }

    /// Queues an event; the returned channel receives the function's reply.
    pub fn submit(&self, event: Event) -> oneshot::Receiver<Reply> {
        let (sender, receiver) = oneshot::channel();
        {
            let mut inner = self.shared.lock();
            inner.waiting.insert(event.request_id.clone(), sender);
            inner.queue.push_back(event);
        }
        self.shared.queued.notify_waiters();
        receiver
    }

    /// Forgets everything about the previous process: queued events, pending replies, its init error and polls.
    pub fn reset(&self) {
        *self.shared.lock() = Inner::default();
    }

    /// The init error the current process posted, if any.
    pub fn init_error(&self) -> Option<FunctionError> {
        self.shared.lock().init_error.clone()
    }

    /// Resolves when the current process posts an init error.
    pub async fn init_failed(&self) {
        loop {
            let notified = self.shared.init_failed.notified();
            if self.shared.lock().init_error.is_some() {
                return;
            }
            notified.await;
        }
    }

    /// Whether an event is still waiting for the function to take it.
    pub fn is_queued(&self, request_id: &str) -> bool {
        self.shared
            .lock()
            .queue
            .iter()
            .any(|e| e.request_id == request_id)
    }

    /// Whether the current process has asked for an invocation (it finished its initialisation).
    pub fn polled(&self) -> bool {
        self.shared.lock().polls > 0
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Arc<Shared>>) -> Response {
    shared.lock().polls += 1;
    loop {
        let notified = shared.queued.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(event) = shared.lock().queue.pop_front() {
            return event_response(event);
        }
        notified.await;
    }
}

fn event_response(event: Event) -> Response {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    put("content-type", "application/json");
    put("lambda-runtime-aws-request-id", &event.request_id);
    put("lambda-runtime-deadline-ms", &event.deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", &event.function_arn);
    put("lambda-runtime-trace-id", &event.trace_id);
    (StatusCode::OK, headers, event.payload).into_response()
}

fn deliver(shared: &Shared, id: &str, reply: Reply) -> Response {
    let sender = shared.lock().waiting.remove(id);
    match sender {
        Some(sender) => {
            let _ = sender.send(reply);
            (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({
                "errorMessage": format!("no invocation with request id {id} is waiting for a reply"),
                "errorType": "InvalidRequestID"
            })),
        )
            .into_response(),
    }
}

async fn response(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    deliver(&shared, &id, Reply::Response(body))
}

async fn error(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    deliver(
        &shared,
        &id,
        Reply::Error(FunctionError::parse(&headers, &body)),
    )
}

async fn init_error(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.lock().init_error = Some(FunctionError::parse(&headers, &body));
    shared.init_failed.notify_waiters();
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// One raw HTTP/1.1 request with `Connection: close`; returns the whole response as text.
    async fn http(address: &str, method: &str, path: &str, body: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    fn event(id: &str) -> Event {
        Event {
            request_id: id.to_owned(),
            deadline_ms: 1_900_000_000_000,
            function_arn: "arn:aws:lambda:us-east-1:000000000000:function:f".to_owned(),
            trace_id: "Root=1-00000000-000000000000000000000000;Sampled=0".to_owned(),
            payload: br#"{"state":{}}"#.to_vec(),
        }
    }

    #[tokio::test]
    async fn next_waits_for_an_event_and_carries_the_lambda_headers() {
        let api = RuntimeApi::start().await.unwrap();
        let address = api.address();
        let poll = tokio::spawn({
            let address = address.clone();
            async move { http(&address, "GET", "/2018-06-01/runtime/invocation/next", "").await }
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(
            !poll.is_finished(),
            "the poll is held, never answered with an error"
        );
        let reply = api.submit(event("req-1"));
        let response = poll.await.unwrap().to_ascii_lowercase();
        for header in [
            "lambda-runtime-aws-request-id: req-1",
            "lambda-runtime-deadline-ms: 1900000000000",
            "lambda-runtime-invoked-function-arn: arn:aws:lambda:us-east-1:000000000000:function:f",
            "lambda-runtime-trace-id: root=1-",
        ] {
            assert!(response.contains(header), "{header} missing in {response}");
        }
        assert!(response.ends_with(r#"{"state":{}}"#), "{response}");
        assert!(api.polled());

        let unknown = http(
            &address,
            "POST",
            "/2018-06-01/runtime/invocation/other/response",
            "{}",
        )
        .await;
        assert!(unknown.starts_with("HTTP/1.1 400"), "{unknown}");
        let accepted = http(
            &address,
            "POST",
            "/2018-06-01/runtime/invocation/req-1/response",
            "{\"ok\":1}",
        )
        .await;
        assert!(accepted.starts_with("HTTP/1.1 202"), "{accepted}");
        match reply.await.unwrap() {
            Reply::Response(body) => assert_eq!(&body[..], b"{\"ok\":1}"),
            Reply::Error(e) => panic!("{e:?}"),
        }
    }

    #[tokio::test]
    async fn errors_and_init_errors_are_parsed() {
        let api = RuntimeApi::start().await.unwrap();
        let address = api.address();
        let reply = api.submit(event("req-2"));
        let body = r#"{"errorMessage":"boom","errorType":"Auth"}"#;
        http(
            &address,
            "POST",
            "/2018-06-01/runtime/invocation/req-2/error",
            body,
        )
        .await;
        match reply.await.unwrap() {
            Reply::Error(e) => assert_eq!(
                (e.error_type.as_str(), e.message.as_str()),
                ("Auth", "boom")
            ),
            Reply::Response(_) => panic!("an error was expected"),
        }
        http(
            &address,
            "POST",
            "/2018-06-01/runtime/init/error",
            "not json",
        )
        .await;
        api.init_failed().await;
        let error = api.init_error().unwrap();
        assert_eq!(
            (error.error_type.as_str(), error.message.as_str()),
            ("Unknown", "not json")
        );
        api.reset();
        assert!(api.init_error().is_none());
    }
}
