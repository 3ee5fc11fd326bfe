//! Benchmark of the whole engine on one core: HTTP page → parse → rows → serialized response, ~1 KB records.
//!
//! Run with `cargo bench -p fivetran-core --bench engine`. A raw loopback server answers every page request with
//! the same prebuilt page (1,000 records of about 1 KB, with a nested object to flatten and a child array), so
//! almost all the time is the engine's. The runtime is single-threaded: one core. It prints records per second
//! and the peak RSS above the idle process (the memory target is 3 × the byte budget).

// A benchmark reports on stdout; the workspace lint against printing is for library and connector code.
#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use fivetran_core::auth::Auth;
use fivetran_core::budget::{BudgetSettings, DEFAULT_BYTE_BUDGET};
use fivetran_core::connector::{Child, Config, Endpoint, Stream};
use fivetran_core::lambda::{Invocation, handle};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::{Engine, Secrets};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RECORDS_PER_PAGE: usize = 1_000;
const TOTAL_PAGES: u64 = 1_000_000;

fn page() -> Vec<u8> {
    let records: Vec<Value> = (0..RECORDS_PER_PAGE)
        .map(|i| {
            json!({
                "id": format!("la_{i:06}"),
                "status": "submitted",
                "product": "mortgage",
                "amount": {"value": "250000.00", "currency": "EUR"},
                "created_at": "2026-03-01T09:30:00Z",
                "updated_at": "2026-03-04T16:02:11Z",
                "notes": "n".repeat(560),
                "score": 712.5,
                "flags": [true, false],
                "applicants": [{"id": "ap_1", "role": "primary", "first_name": "Jo", "last_name": "Lind",
                                "email": "jo@example.com", "annual_income": 64000.5}]
            })
        })
        .collect();
    let body =
        serde_json::to_vec(&json!({"data": records, "pagination": {"total_pages": TOTAL_PAGES}}))
            .unwrap();
    let mut out = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    out
}

/// Answers every request on a keep-alive connection with the same page.
async fn serve(listener: tokio::net::TcpListener, response: &'static [u8]) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        tokio::spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            let mut pending = Vec::new();
            loop {
                let Ok(n) = socket.read(&mut buf).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                pending.extend_from_slice(&buf[..n]);
                while let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
                    pending.drain(..end + 4);
                    if socket.write_all(response).await.is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// What the harness reads back from a response: the state, and row counts without building the rows.
#[derive(serde::Deserialize)]
struct Out {
    state: Value,
    insert: std::collections::BTreeMap<String, Vec<serde::de::IgnoredAny>>,
}

/// CPU time of this thread (which runs the whole single-threaded runtime), from `/proc/thread-self/schedstat`.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

fn rss_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    // The malloc settings `lambda::run` gives a function.
    fivetran_core::lambda::tune_malloc();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response: &'static [u8] = Box::leak(page().into_boxed_slice());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(serve(listener, response));
        let engine = Engine::new(move |_: &Secrets| {
            Ok(Config::new(&url, Auth::None)?
                .budget(BudgetSettings { bytes: DEFAULT_BYTE_BUDGET, time_margin: Duration::from_secs(1) })
                .stream(
                    Stream::new("loan_applications", &["id"], Endpoint::get("/v1/loan-applications"))
                        .records("/data")
                        .paginate(
                            Pagination::page_number("page")
                                .size("page_size", RECORDS_PER_PAGE as u64)
                                .total_pages(Total::Body("/pagination/total_pages".into())),
                        )
                        .flatten("amount")
                        .child(Child::new("applicants", "applicants", "loan_application_id", &["id"])),
                ))
        });
        let invocation = Invocation::with_timeout("bench", Duration::from_secs(600));
        // Only the handler is timed; reading the response back (for the next state) is the harness's cost.
        let call = |state: Value| {
            let engine = &engine;
            let invocation = &invocation;
            async move {
                let started = Instant::now();
                let cpu = thread_cpu();
                let body = handle(engine, json!({"state": state, "secrets": {}}), invocation).await.unwrap();
                let spent = (started.elapsed(), thread_cpu().saturating_sub(cpu));
                let out: Out = serde_json::from_str(body.get()).unwrap();
                (out, body.get().len(), spent)
            }
        };
        // Warm up (connection, configuration), then measure from the idle RSS.
        let _ = call(json!({})).await;
        let idle_kb = rss_kb("VmRSS:");
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let mut state = json!({});
        let mut records = 0usize;
        let mut bytes = 0usize;
        let invocations = 24;
        let mut elapsed = Duration::ZERO;
        let mut cpu = Duration::ZERO;
        for _ in 0..invocations {
            let (out, size, spent) = call(state).await;
            elapsed += spent.0;
            cpu += spent.1;
            records += out.insert.get("loan_applications").map_or(0, Vec::len);
            bytes += size;
            assert!(size <= DEFAULT_BYTE_BUDGET, "response of {size} bytes");
            state = out.state;
        }
        let peak_kb = rss_kb("VmHWM:");
        let per_second = records as f64 / elapsed.as_secs_f64();
        let per_cpu_second = records as f64 / cpu.as_secs_f64();
        println!("engine bench: {invocations} invocations, {records} records (~1 KB each + 1 child row), {:.1} MB of responses", bytes as f64 / 1e6);
        println!(
            "engine bench: {per_cpu_second:.0} records per CPU-second on one core ({:.1} MB/s of response); \
             {per_second:.0} records/s by the wall clock (lower when other processes share the core)",
            bytes as f64 / 1e6 / cpu.as_secs_f64()
        );
        println!(
            "engine bench: peak RSS {:.1} MiB, idle {:.1} MiB, above idle {:.1} MiB = {:.2} × the {} MiB byte budget",
            peak_kb as f64 / 1024.0,
            idle_kb as f64 / 1024.0,
            peak_kb.saturating_sub(idle_kb) as f64 / 1024.0,
            peak_kb.saturating_sub(idle_kb) as f64 * 1024.0 / DEFAULT_BYTE_BUDGET as f64,
            DEFAULT_BYTE_BUDGET >> 20
        );
    });
}
