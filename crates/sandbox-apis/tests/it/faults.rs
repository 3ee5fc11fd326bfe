//! Fault injection, exercised through the loan stand-in (faults are shared by every stand-in).

use std::time::{Duration, Instant, SystemTime};

use sandbox_apis::credentials::LOAN_API_KEY;
use sandbox_apis::{Api, Faults, Sandbox, SandboxConfig, start};

use crate::support::{Got, client, send};

async fn with_faults(specs: &[&str]) -> Sandbox {
    let mut faults = Faults {
        seed: 7,
        ..Faults::default()
    };
    for spec in specs {
        faults.add_spec(spec).unwrap();
    }
    start(SandboxConfig {
        records: 300,
        faults,
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap()
}

fn request(sandbox: &Sandbox) -> reqwest::RequestBuilder {
    client()
        .get(format!(
            "{}/v1/loan-applications?page_size=200",
            sandbox.base_url()
        ))
        .bearer_auth(LOAN_API_KEY)
}

async fn get(sandbox: &Sandbox) -> Got {
    send(request(sandbox)).await
}

#[tokio::test]
async fn fixed_and_jittered_latency() {
    let sandbox = with_faults(&["latency=60+40"]).await;
    for _ in 0..3 {
        let t = Instant::now();
        assert_eq!(get(&sandbox).await.status, 200);
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(60), "{took:?}");
    }
    let log = sandbox.request_log();
    assert!(log.entries.iter().all(
        |e| e.duration >= Duration::from_millis(60) && e.duration < Duration::from_millis(2000)
    ));
}

#[tokio::test]
async fn rate_limited_with_retry_after_seconds_and_http_date() {
    let sandbox = with_faults(&["429:3@at=1", "429-date:30@at=2"]).await;
    let got = get(&sandbox).await;
    assert_eq!(got.status, 429);
    assert_eq!(got.header("retry-after"), Some("3"));
    assert_eq!(got.json(), serde_json::json!({"error": "rate_limited"}));
    let got = get(&sandbox).await;
    assert_eq!(got.status, 429);
    let when = httpdate::parse_http_date(got.header("retry-after").unwrap()).unwrap();
    assert!(when > SystemTime::now() + Duration::from_secs(20));
    assert_eq!(get(&sandbox).await.status, 200);
}

#[tokio::test]
async fn quota_exhaustion_and_secondary_limits() {
    let sandbox = with_faults(&[
        "quota:60@at=1",
        "quota-429:5@at=2",
        "secondary:4@at=3",
        "secondary-429:2@at=4",
    ])
    .await;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let got = get(&sandbox).await;
    assert_eq!(got.status, 403);
    assert_eq!(got.header("x-ratelimit-remaining"), Some("0"));
    let reset: u64 = got.header("x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= now + 59 && reset <= now + 70, "{reset} vs {now}");
    let got = get(&sandbox).await;
    assert_eq!(
        (got.status, got.header("x-ratelimit-remaining")),
        (429, Some("0"))
    );
    let got = get(&sandbox).await;
    assert_eq!((got.status, got.header("retry-after")), (403, Some("4")));
    assert_eq!(got.header("x-ratelimit-remaining"), None);
    let got = get(&sandbox).await;
    assert_eq!((got.status, got.header("retry-after")), (429, Some("2")));
}

#[tokio::test]
async fn a_burst_of_server_errors_then_recovery() {
    let sandbox = with_faults(&["500@at=2", "502@at=3", "503@at=4"]).await;
    let statuses: Vec<u16> = [(); 5].iter().map(|_| 0).collect();
    let mut got = Vec::new();
    for _ in statuses {
        got.push(get(&sandbox).await.status);
    }
    assert_eq!(got, vec![200, 500, 502, 503, 200]);
    let log = sandbox.request_log();
    let logged: Vec<Option<u16>> = log.entries.iter().map(|e| e.status).collect();
    assert_eq!(
        logged,
        vec![Some(200), Some(500), Some(502), Some(503), Some(200)]
    );
    assert!(log.entries[1].fault.is_some() && log.entries[0].fault.is_none());
    assert_eq!(log.entries[0].path, "/v1/loan-applications");
    assert_eq!(log.entries[0].query, "page_size=200");
}

#[tokio::test]
async fn connection_reset_is_a_transport_error() {
    let sandbox = with_faults(&["reset@at=1"]).await;
    let err = request(&sandbox).send().await.unwrap_err();
    assert!(!err.is_status(), "{err:?}");
    assert_eq!(get(&sandbox).await.status, 200);
    assert_eq!(sandbox.request_log().entries[0].status, None);
}

#[tokio::test]
async fn truncated_body_fails_while_reading() {
    let sandbox = with_faults(&["truncate@at=1"]).await;
    let response = request(&sandbox).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.bytes().await.is_err());
    assert_eq!(get(&sandbox).await.status, 200);
}

#[tokio::test]
async fn malformed_json_is_a_complete_response_with_a_bad_body() {
    let sandbox = with_faults(&["malformed@at=1"]).await;
    let got = get(&sandbox).await;
    assert_eq!(got.status, 200);
    assert!(serde_json::from_str::<serde_json::Value>(&got.text).is_err());
    assert!(got.text.starts_with("{\"data\":["));
}

#[tokio::test]
async fn slow_body_drips_the_whole_response() {
    let sandbox = with_faults(&["slow:4096,30@at=1"]).await;
    let t = Instant::now();
    let got = get(&sandbox).await;
    let took = t.elapsed();
    let chunks = got.text.len().div_ceil(4096) as u32;
    assert!(chunks >= 3, "{chunks}");
    assert!(
        took >= Duration::from_millis(30) * (chunks - 1),
        "{took:?} for {chunks} chunks"
    );
    assert_eq!(got.json()["data"].as_array().unwrap().len(), 200);
}

#[tokio::test]
async fn unauthorized_fault_despite_a_good_key() {
    let sandbox = with_faults(&["401@every=2"]).await;
    assert_eq!(get(&sandbox).await.status, 200);
    let got = get(&sandbox).await;
    assert_eq!(
        (got.status, got.json()),
        (401, serde_json::json!({"error": "invalid_api_key"}))
    );
}

#[tokio::test]
async fn faults_change_at_runtime() {
    let sandbox = with_faults(&[]).await;
    assert_eq!(get(&sandbox).await.status, 200);
    let mut faults = Faults::default();
    faults.add_spec("503").unwrap();
    sandbox.set_faults(faults);
    assert_eq!(get(&sandbox).await.status, 503);
    sandbox.set_faults(Faults::default());
    assert_eq!(get(&sandbox).await.status, 200);
    assert_eq!(sandbox.request_count(), 3);
}

#[tokio::test]
async fn probabilistic_faults_are_reproducible() {
    async fn run() -> Vec<u16> {
        let sandbox = with_faults(&["500@p=0.3"]).await;
        let mut out = Vec::new();
        for _ in 0..30 {
            out.push(get(&sandbox).await.status);
        }
        out
    }
    let (a, b) = (run().await, run().await);
    assert_eq!(a, b);
    assert!(a.contains(&500) && a.contains(&200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_in_flight_is_recorded() {
    let sandbox = with_faults(&["latency=150"]).await;
    let tasks: Vec<_> = (0..6)
        .map(|_| tokio::spawn(send(request(&sandbox))))
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().status, 200);
    }
    let log = sandbox.request_log();
    assert_eq!(log.entries.len(), 6);
    assert!(
        log.max_in_flight >= 2 && log.max_in_flight <= 6,
        "{}",
        log.max_in_flight
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_over_the_concurrency_limit_get_429_without_retry_after() {
    let sandbox = with_faults(&["latency=1000", "concurrency=2"]).await;
    let tasks: Vec<_> = (0..5)
        .map(|_| tokio::spawn(send(request(&sandbox))))
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let got = t.await.unwrap();
        if got.status == 429 {
            assert_eq!(got.header("retry-after"), None);
        }
        statuses.push(got.status);
    }
    statuses.sort_unstable();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
}
