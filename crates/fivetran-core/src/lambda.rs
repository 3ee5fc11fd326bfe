//! Lambda glue: the runtime loop, the tracing set-up and the named handler every invocation goes through.
//!
//! A connector builds its [`Function`] once per cold start (the HTTP client and parsed settings live in it) and hands
//! it to [`run`]. Each invocation goes through [`handle`], a plain async function that tests call directly: it
//! decodes the request (errors name the wrong field), opens a span carrying the Lambda request id and Fivetran's
//! `sync_id` so that every log line of the invocation has both, answers `setup_test` requests, and otherwise runs
//! the sync. Errors leave through the one conversion in [`crate::error`], so the Lambda `errorType` names the class.

use std::future::Future;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use serde_json::value::RawValue;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::error::Result;
use crate::protocol::{Request, Response};

/// What a connector function does with one decoded request.
pub trait Function: Send + Sync + 'static {
    /// Checks the secrets with one small authenticated request (`setup_test: true`).
    fn setup_test(
        &self,
        request: &Request,
        invocation: &Invocation,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Runs one sync call and returns the serialized response body.
    fn sync(
        &self,
        request: Request,
        invocation: &Invocation,
    ) -> impl Future<Output = Result<Box<RawValue>>> + Send;
}

/// Facts about one invocation that the engine needs: who it is (for logs) and when it must end.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The Lambda request id.
    pub request_id: String,
    /// When Lambda stops the invocation, if known.
    pub deadline: Option<SystemTime>,
    /// The function's memory setting in MB, when Lambda says (bounds the `CLOUD_STORAGE` budget).
    pub memory_mb: Option<u32>,
}

impl Invocation {
    /// An invocation with a deadline `timeout` from now, for tests and local runs.
    pub fn with_timeout(request_id: impl Into<String>, timeout: Duration) -> Self {
        Invocation {
            request_id: request_id.into(),
            deadline: Some(SystemTime::now() + timeout),
            memory_mb: None,
        }
    }

    /// Time left before the deadline (`None` when there is no deadline).
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline.map(|d| {
            d.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        })
    }

    fn from_context(context: &lambda_runtime::Context) -> Self {
        let deadline =
            (context.deadline > 0).then(|| UNIX_EPOCH + Duration::from_millis(context.deadline));
        let memory_mb = u32::try_from(context.env_config.memory)
            .ok()
            .filter(|m| *m > 0);
        Invocation {
            request_id: context.request_id.clone(),
            deadline,
            memory_mb,
        }
    }
}

/// Handles one invocation: decode, log context, setup test or sync. Tests call this directly.
pub async fn handle<F: Function>(
    function: &F,
    payload: Value,
    invocation: &Invocation,
) -> Result<Box<RawValue>> {
    let sync_id = match payload.get("sync_id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => "-".to_owned(),
    };
    let span =
        tracing::info_span!("invocation", request_id = %invocation.request_id, sync_id = %sync_id);
    async move {
        let outcome = async {
            let request = Request::from_value(payload)?;
            if request.setup_test {
                tracing::info!("setup test");
                function.setup_test(&request, invocation).await?;
                return Response::setup_test(request.state).to_body();
            }
            function.sync(request, invocation).await
        }
        .await;
        if let Err(error) = &outcome {
            tracing::error!(error_type = error.error_type(), "{error}");
        }
        outcome
    }
    .instrument(span)
    .await
}

/// Starts the Lambda runtime loop with `function`, built once per cold start. Returns when the runtime stops.
///
/// The runtime is single-threaded: the work is waiting on the source, and parsing a page takes well under a
/// millisecond, so one thread keeps every request in flight without cross-thread wake-ups or a malloc arena per
/// worker. The system's trusted TLS roots load on a thread of their own meanwhile (tens of milliseconds that the first
/// invocation would otherwise wait for, and that the wait for it overlaps).
pub fn run<F: Function>(function: F) -> std::result::Result<(), lambda_runtime::Error> {
    tune_malloc();
    init_tracing();
    std::thread::spawn(crate::http::preload_tls);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let function = &function;
        lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
            let invocation = Invocation::from_context(&event.context);
            handle(function, event.payload, &invocation).await
        }))
        .await
    })
}

/// Fixes glibc malloc's mmap and trim thresholds (unless `MALLOC_MMAP_THRESHOLD_` is set). glibc raises its mmap
/// threshold each time a large block is freed, so from the second call on, pages (70–200 KB) and response buffers
/// came from a heap that never shrinks: `cargo xtask bench` measured the loan connector's peak RSS above idle at
/// 27.6 MiB, and 13.8 MiB with a fixed 64 KiB mmap threshold and a 128 KiB trim threshold. [`run`] calls it; so do
/// harnesses that drive the engine without it (the engine micro-benchmark), to measure what a function does.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
pub fn tune_malloc() {
    if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some() {
        return;
    }
    // SAFETY: `mallopt` only sets malloc parameters and is safe to call at any time; it runs once, before the
    // runtime starts any thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 * 1024);
    }
}

/// Nothing to tune outside glibc.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_malloc() {}

/// The log line format Lambda asks for through `AWS_LAMBDA_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`).
    Json,
    /// Plain text (the default).
    Text,
}

impl LogFormat {
    /// The format from `AWS_LAMBDA_LOG_FORMAT`.
    pub fn from_env() -> Self {
        match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(v) if v.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// The level filter: `RUST_LOG` when set (full directives), else `AWS_LAMBDA_LOG_LEVEL`, else `info`.
pub fn filter_from_env() -> EnvFilter {
    if let Ok(directives) = std::env::var("RUST_LOG")
        && let Ok(filter) = EnvFilter::try_new(directives)
    {
        return filter;
    }
    let level = match std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .map(|l| l.to_ascii_lowercase())
        .as_deref()
    {
        Ok("trace") => "trace",
        Ok("debug") => "debug",
        Ok("warn") => "warn",
        Ok("error" | "fatal") => "error",
        _ => "info",
    };
    EnvFilter::new(level)
}

/// Installs the process-wide subscriber (stdout, as Lambda captures it). Safe to call more than once.
pub fn init_tracing() {
    let _ = tracing::subscriber::set_global_default(subscriber(
        LogFormat::from_env(),
        filter_from_env(),
        std::io::stdout,
    ));
}

/// Builds the subscriber for a format, a filter and a writer; every line carries the invocation span's fields.
pub fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Text => Box::new(builder.with_target(false).finish()),
    }
}

/// A writer that appends to a shared buffer, for tests that read log lines back.
#[derive(Clone, Default, Debug)]
pub struct LogBuffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogBuffer {
    /// Everything written so far, as text.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'w> MakeWriter<'w> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'w self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use serde_json::json;

    /// A function that logs, returns the state it was given, and fails its setup test on demand.
    struct Echo;

    impl Function for Echo {
        async fn setup_test(&self, request: &Request, _: &Invocation) -> Result<()> {
            tracing::info!("checking credentials");
            request.secrets.required("apiKey").map(|_| ())
        }

        async fn sync(&self, request: Request, _: &Invocation) -> Result<Box<RawValue>> {
            tracing::info!(rows = 0, "synced");
            Response::new(request.state, false).to_body()
        }
    }

    fn invocation() -> Invocation {
        Invocation::with_timeout("req-42", Duration::from_secs(60))
    }

    async fn call(payload: Value) -> Result<Value> {
        let body = handle(&Echo, payload, &invocation()).await?;
        Ok(serde_json::from_str(body.get()).unwrap())
    }

    #[tokio::test]
    async fn bad_input_names_the_field_and_never_moves_state() {
        let cases = [
            (
                json!([1, 2]),
                "field `(body)` must be a JSON object, found an array",
            ),
            (
                json!("text"),
                "field `(body)` must be a JSON object, found a string",
            ),
            (
                json!({"state": [1], "secrets": {}}),
                "field `state` must be a JSON object, found an array",
            ),
            (
                json!({"state": {}, "secrets": "k"}),
                "field `secrets` must be a JSON object, found a string",
            ),
            (
                json!({"state": {}, "setup_test": "yes"}),
                "field `setup_test` must be a boolean, found a string",
            ),
            (
                json!({"state": {}, "bucket": "b"}),
                "field `file` is required when `bucket` is present",
            ),
            (
                json!({"state": {}, "sync_id": {"a": 1}}),
                "field `sync_id` must be a string, found an object",
            ),
        ];
        for (payload, expected) in cases {
            let error = call(payload).await.unwrap_err();
            assert_eq!(error.error_type(), "InvalidRequest");
            assert!(
                error.to_string().contains(expected),
                "{error} does not contain {expected}"
            );
        }
    }

    #[tokio::test]
    async fn setup_test_answers_with_the_request_state_and_no_rows() {
        let value =
            call(json!({"state": {"k": 1}, "secrets": {"apiKey": "x"}, "setup_test": true}))
                .await
                .unwrap();
        assert_eq!(
            value,
            json!({"state": {"k": 1}, "insert": {}, "delete": {}, "schema": {}, "hasMore": false})
        );
        let error = call(json!({"secrets": {}, "setup_test": true}))
            .await
            .unwrap_err();
        assert!(matches!(error, Error::InvalidSecret { .. }));
    }

    #[test]
    fn remaining_time_counts_down_to_zero() {
        let past = Invocation {
            request_id: "r".into(),
            deadline: Some(SystemTime::now() - Duration::from_secs(1)),
            memory_mb: None,
        };
        assert_eq!(past.remaining(), Some(Duration::ZERO));
        assert!(invocation().remaining().unwrap() > Duration::from_secs(59));
    }
}
