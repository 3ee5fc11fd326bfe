//! The `woocommerce` binary against the WooCommerce stand-in, through fivetran-local: ground truth, second sync,
//! changing data, resume, faults, setup test, Basic over https and OAuth 1.0a (HMAC-SHA1 and HMAC-SHA256) over http.

mod check;

use check::{Connection, Target};
use sandbox_apis::credentials::{WOO_CONSUMER_KEY, WOO_CONSUMER_SECRET};
use sandbox_apis::{Api, Changing, DiffOptions, Sandbox, SandboxConfig};
use serde_json::{Value, json};

fn secrets(sandbox: &Sandbox) -> Value {
    let mut secrets = json!({"storeUrl": sandbox.base_url(), "consumerKey": WOO_CONSUMER_KEY,
                             "consumerSecret": WOO_CONSUMER_SECRET});
    if let Some(ca) = sandbox.ca_pem() {
        secrets["caCertificate"] = json!(ca);
    }
    secrets
}

fn sha256_secrets(sandbox: &Sandbox) -> Value {
    let mut secrets = secrets(sandbox);
    secrets["signatureMethod"] = json!("HMAC-SHA256");
    secrets
}

fn target() -> Target {
    Target {
        binary: env!("CARGO_BIN_EXE_woocommerce"),
        secrets,
        diff: DiffOptions::default(),
    }
}

fn config(records: usize) -> SandboxConfig {
    SandboxConfig {
        seed: 5,
        records,
        ..SandboxConfig::new(Api::WooCommerce)
    }
}

#[tokio::test]
async fn oauth_over_http_full_sync_is_the_truth_and_a_second_sync_changes_nothing() {
    let sandbox = check::sandbox(config(450)).await;
    // Latency makes overlapping requests visible in the stand-in's log.
    check::set_faults(&sandbox, &["latency=40"]);
    let c = check::full_then_unchanged(&target(), &sandbox).await;
    let state = serde_json::to_string(&c.warehouse.state().unwrap()).unwrap();
    assert!(
        !state.contains("oauth_"),
        "the state holds OAuth parameters: {state}"
    );
    let log = sandbox.request_log();
    assert!(
        log.max_in_flight > 1,
        "pages known from X-WP-TotalPages are fetched concurrently"
    );
    assert!(
        log.entries.iter().all(|r| r.status == Some(200)),
        "every request was accepted"
    );
}

#[tokio::test]
async fn hmac_sha256_signatures_are_accepted() {
    let sandbox = check::sandbox(config(120)).await;
    let target = Target {
        secrets: sha256_secrets,
        ..target()
    };
    check::full_then_unchanged(&target, &sandbox).await;
    assert!(
        sandbox
            .request_log()
            .entries
            .iter()
            .any(|r| r.query.contains("HMAC-SHA256"))
    );
}

#[tokio::test]
async fn basic_auth_over_https_with_the_ca_certificate_secret() {
    let sandbox = check::sandbox(SandboxConfig {
        tls: true,
        ..config(150)
    })
    .await;
    assert!(sandbox.base_url().starts_with("https://"));
    check::full_then_unchanged(&target(), &sandbox).await;
}

#[tokio::test]
async fn changing_data_ends_at_the_truth_after_two_syncs() {
    let sandbox = check::sandbox(SandboxConfig {
        wall_clock: true,
        ..config(400)
    })
    .await;
    let changing = Changing {
        every_requests: 2,
        creates: 2,
        updates: 3,
        deletes: 0,
    };
    check::changing_data(&target(), &sandbox, changing).await;
}

#[tokio::test]
async fn resuming_from_intermediate_states_loses_nothing() {
    let sandbox = check::sandbox(config(450)).await;
    let mut intermediate = 0;
    for n in [1, 2, 3, 5, 7, 9, 12] {
        intermediate += usize::from(check::resume_after_quota(&target(), &sandbox, n).await);
    }
    assert!(
        intermediate >= 3,
        "only {intermediate} quotas left an intermediate state"
    );
}

#[tokio::test]
async fn rate_limits_server_errors_and_resets_end_in_the_truth() {
    let sandbox = check::sandbox(config(450)).await;
    check::faults_end_in_truth(
        &target(),
        &sandbox,
        &[
            "429:1@at=2",
            "429-date:1@at=6",
            "503@at=3x2",
            "500@every=7",
            "502@at=11",
            "reset@every=5",
            "truncate@at=13",
            "malformed@at=15",
        ],
    )
    .await;
}

#[tokio::test]
async fn setup_test_accepts_good_credentials_and_names_rejected_ones() {
    for tls in [false, true] {
        let sandbox = check::sandbox(SandboxConfig { tls, ..config(20) }).await;
        let good = secrets(&sandbox);
        let mut bad = good.clone();
        bad["consumerSecret"] = json!("cs_wrong_secret_0000");
        check::setup_test(&target(), good, bad, "cs_wrong_secret_0000").await;
    }
}

#[tokio::test]
async fn bad_secrets_are_named_without_their_values() {
    let mut c = Connection::with_secrets(
        &target(),
        json!({"storeUrl": "ftp://store.example", "consumerKey": "k_value_123", "consumerSecret": "s_value_456"}),
    )
    .await;
    let report = c.sync(1).await;
    let text = format!("{:?}", report.stop);
    assert!(text.contains("storeUrl"), "{text}");
    assert!(!text.contains("s_value_456"), "{text}");
}
