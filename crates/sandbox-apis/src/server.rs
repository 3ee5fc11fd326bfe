//! The HTTP server shared by every stand-in: accept loop (plain or TLS), fault injection, changing data, request log.
//!
//! Each API is a [`Backend`]: a synchronous function from a collected request to a reply, plus its dataset. This module
//! wraps it with what every stand-in needs, so faults behave the same everywhere.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

use crate::faults::{FaultKind, Faults};
use crate::ground_truth::GroundTruth;
use crate::{Changing, RequestLog, RequestRecord};

/// A request with its body collected, as a backend sees it.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    pub path: String,
    /// The raw query string (without `?`), empty when absent.
    pub raw_query: String,
    /// Decoded query parameters in order, repeats kept.
    pub query: Vec<(String, String)>,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
    /// Whether the request came over TLS.
    pub tls: bool,
    /// The `Host` header (what clients sign in OAuth base strings).
    pub host: String,
    /// Set by [`Backend::observe`]: whether the request's OAuth nonce was seen for the first time.
    pub nonce_fresh: bool,
}

impl ApiRequest {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// A complete reply.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

impl Reply {
    /// A JSON reply.
    pub fn json(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.into(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// One API stand-in.
pub trait Backend: Send + Sync + 'static {
    /// Answers a request (authentication included).
    fn handle(&self, req: &ApiRequest) -> Reply;
    /// Applies one seeded change step (creates, updates, deletes).
    fn change(&self, changing: &Changing);
    /// What a complete sync must produce now.
    fn ground_truth(&self) -> GroundTruth;
    /// Sees every request first, before any fault: spends OAuth nonces.
    fn observe(&self, _req: &mut ApiRequest) {}
    /// The API's own error reply for an injected fault (`Unauthorized`, rate limits, 5xx); the server adds headers.
    fn refusal(&self, kind: &FaultKind) -> Reply;
}

/// State shared by the accept loop, the connections and the [`crate::Sandbox`] handle.
pub struct Shared {
    pub backend: Arc<dyn Backend>,
    pub faults: RwLock<Faults>,
    pub changing: RwLock<Option<Changing>>,
    pub tls: bool,
    pub log: Mutex<Vec<RequestRecord>>,
    pub counter: AtomicU64,
    pub in_flight: AtomicU64,
    pub max_in_flight: AtomicU64,
}

impl Shared {
    /// A snapshot of the request log.
    pub fn request_log(&self) -> RequestLog {
        RequestLog {
            entries: self.log.lock().expect("log lock").clone(),
            max_in_flight: self.max_in_flight.load(Ordering::SeqCst),
        }
    }
}

type Body = BoxBody<Bytes, io::Error>;

/// Accepts connections until `stop` turns true; then every open connection is dropped too.
pub async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => return,
        };
        let Ok((tcp, _)) = accepted else {
            // E.g. out of file descriptors: back off instead of spinning.
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        let tls = tls.clone();
        let mut stop = stop.clone();
        let connection = async move {
            let reset = Arc::new(AtomicBool::new(false));
            let conn = ResettableStream {
                inner: tcp,
                reset: reset.clone(),
            };
            let service =
                hyper::service::service_fn(move |req| serve(shared.clone(), req, reset.clone()));
            let http = hyper::server::conn::http1::Builder::new();
            match tls {
                Some(acceptor) => {
                    if let Ok(stream) = acceptor.accept(conn).await {
                        let _ = http.serve_connection(TokioIo::new(stream), service).await;
                    }
                }
                None => {
                    let _ = http.serve_connection(TokioIo::new(conn), service).await;
                }
            }
        };
        tokio::spawn(async move {
            tokio::select! {
                () = connection => {}
                _ = stop.changed() => {}
            }
        });
    }
}

/// Counts a request as in flight for as long as it lives.
struct InFlight<'a>(&'a Shared, u64);

impl<'a> InFlight<'a> {
    fn enter(shared: &'a Shared) -> Self {
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(shared, now)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    reset: Arc<AtomicBool>,
) -> Result<Response<Body>, io::Error> {
    if req.uri().path().starts_with(crate::control::PREFIX) {
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|c| c.to_bytes())
            .unwrap_or_default();
        let reply = crate::control::handle(&shared, parts.method.as_str(), parts.uri.path(), &body);
        return Ok(build_response(reply, BodyShape::Whole));
    }
    let n = shared.counter.fetch_add(1, Ordering::SeqCst) + 1;
    let started = SystemTime::now();
    let clock = Instant::now();
    let guard = InFlight::enter(&shared);
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let mut api_req = ApiRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: url::form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        raw_query,
        host: parts
            .headers
            .get("host")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1")
            .to_owned(),
        headers: parts.headers,
        body,
        tls: shared.tls,
        nonce_fresh: false,
    };
    let changing = *shared.changing.read().expect("changing lock");
    if let Some(changing) = changing
        && changing.every_requests > 0
        && n.is_multiple_of(changing.every_requests)
    {
        tracing::debug!(request = n, "applying a change step");
        shared.backend.change(&changing);
    }
    shared.backend.observe(&mut api_req);
    let faults = shared.faults.read().expect("faults lock").clone();
    let delay = faults.delay_for(n);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let over_limit = faults
        .concurrency_limit
        .is_some_and(|limit| guard.1 > limit);
    let fault = if over_limit {
        Some(FaultKind::RateLimited {
            retry_after_secs: 0,
            http_date: false,
        })
    } else {
        faults.fault_for(n).map(|r| r.kind.clone())
    };
    if let Some(kind) = &fault {
        tracing::debug!(request = n, path = %api_req.path, fault = ?kind, "injecting a fault");
    }
    let record = |status: Option<u16>| RequestRecord {
        number: n,
        method: api_req.method.clone(),
        path: api_req.path.clone(),
        query: api_req.raw_query.clone(),
        status,
        started,
        duration: clock.elapsed(),
        fault: fault.as_ref().map(|f| format!("{f:?}")),
    };
    let now_secs = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let (reply, shape) = match &fault {
        None => (shared.backend.handle(&api_req), BodyShape::Whole),
        Some(FaultKind::ConnectionReset) => {
            shared.log.lock().expect("log lock").push(record(None));
            reset.store(true, Ordering::SeqCst);
            drop(guard);
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "injected connection reset",
            ));
        }
        Some(
            kind @ FaultKind::RateLimited {
                retry_after_secs,
                http_date,
            },
        ) => {
            let value = if *http_date {
                httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(*retry_after_secs))
            } else {
                retry_after_secs.to_string()
            };
            let reply = shared.backend.refusal(kind);
            // `429:0`: no Retry-After at all (NetSuite's concurrency limit usually sends none).
            let reply = if *retry_after_secs == 0 && !*http_date {
                reply
            } else {
                reply.with_header("retry-after", value)
            };
            (reply, BodyShape::Whole)
        }
        Some(
            kind @ FaultKind::QuotaExhausted {
                reset_after_secs, ..
            },
        ) => {
            let reply = shared
                .backend
                .refusal(kind)
                .with_header("x-ratelimit-limit", "5000")
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-used", "5000")
                .with_header(
                    "x-ratelimit-reset",
                    (now_secs + reset_after_secs).to_string(),
                );
            (reply, BodyShape::Whole)
        }
        Some(
            kind @ FaultKind::SecondaryRateLimit {
                retry_after_secs, ..
            },
        ) => (
            shared
                .backend
                .refusal(kind)
                .with_header("retry-after", retry_after_secs.to_string()),
            BodyShape::Whole,
        ),
        Some(kind @ (FaultKind::ServerError { .. } | FaultKind::Unauthorized)) => {
            (shared.backend.refusal(kind), BodyShape::Whole)
        }
        Some(FaultKind::TruncatedBody) => (shared.backend.handle(&api_req), BodyShape::Truncated),
        Some(FaultKind::MalformedJson) => (shared.backend.handle(&api_req), BodyShape::Malformed),
        Some(FaultKind::SlowBody { chunk, delay }) => (
            shared.backend.handle(&api_req),
            BodyShape::Slow {
                chunk: *chunk,
                delay: *delay,
            },
        ),
    };
    let status = reply.status;
    let response = build_response(reply, shape);
    shared
        .log
        .lock()
        .expect("log lock")
        .push(record(Some(status)));
    drop(guard);
    Ok(response)
}

enum BodyShape {
    Whole,
    Truncated,
    Malformed,
    Slow { chunk: usize, delay: Duration },
}

fn build_response(reply: Reply, shape: BodyShape) -> Response<Body> {
    let full_len = reply.body.len();
    let (body, content_length): (Body, usize) = match shape {
        BodyShape::Whole => (
            Full::new(reply.body).map_err(|e| match e {}).boxed(),
            full_len,
        ),
        BodyShape::Malformed => {
            let cut = reply.body.slice(..full_len / 2);
            let len = cut.len();
            (Full::new(cut).map_err(|e| match e {}).boxed(), len)
        }
        BodyShape::Truncated => {
            // Half the body, a pause so it is flushed with the headers, then an error: hyper cuts the connection.
            let half = reply.body.slice(..full_len / 2);
            let frames = stream::unfold(Some(half), |state| async move {
                match state {
                    Some(half) => Some((Ok(Frame::data(half)), None)),
                    None => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Some((
                            Err(io::Error::new(
                                io::ErrorKind::ConnectionAborted,
                                "injected truncated body",
                            )),
                            None,
                        ))
                    }
                }
            });
            (StreamBody::new(frames).boxed(), full_len)
        }
        BodyShape::Slow { chunk, delay } => {
            let body = reply.body;
            let chunks = stream::unfold(0usize, move |offset| {
                let body = body.clone();
                async move {
                    if offset >= body.len() {
                        return None;
                    }
                    if offset > 0 {
                        tokio::time::sleep(delay).await;
                    }
                    let end = (offset + chunk).min(body.len());
                    Some((
                        Ok::<_, io::Error>(Frame::data(body.slice(offset..end))),
                        end,
                    ))
                }
            });
            (StreamBody::new(chunks).boxed(), full_len)
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in reply.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    headers.insert(
        hyper::header::CONTENT_LENGTH,
        HeaderValue::from(content_length),
    );
    response
}

/// A TCP stream that, when the service asked for a reset, closes with `SO_LINGER 0` so the peer sees an RST.
struct ResettableStream {
    inner: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Drop for ResettableStream {
    fn drop(&mut self) {
        if self.reset.load(Ordering::SeqCst) {
            let _ = self.inner.set_zero_linger();
        }
    }
}

impl AsyncRead for ResettableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for ResettableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
