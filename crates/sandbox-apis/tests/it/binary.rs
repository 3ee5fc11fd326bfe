//! The `sandbox-apis` binary: `serve` prints a URL that answers, `ground-truth` exports JSON.

use std::process::Stdio;

use sandbox_apis::GroundTruth;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::support::{client, send};

/// Starts `sandbox-apis serve ARGS` and returns the child and the lines it printed first (URL, then CA path).
pub async fn serve(args: &[&str], lines: usize) -> (Child, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox-apis"))
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn sandbox-apis");
    let mut reader = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = Vec::new();
    for _ in 0..lines {
        out.push(reader.next_line().await.unwrap().expect("a printed line"));
    }
    (child, out)
}

#[tokio::test]
async fn serves_the_loan_api() {
    let (mut child, lines) = serve(
        &[
            "--api",
            "loan",
            "--port",
            "0",
            "--seed",
            "3",
            "--records",
            "20",
        ],
        1,
    )
    .await;
    assert!(lines[0].starts_with("http://127.0.0.1:"), "{lines:?}");
    let got = send(
        client()
            .get(format!("{}/v1/loan-applications", lines[0]))
            .bearer_auth(sandbox_apis::credentials::LOAN_API_KEY),
    )
    .await;
    assert_eq!(got.status, 200);
    let truth = send(client().get(format!("{}/_sandbox/ground-truth", lines[0])))
        .await
        .json();
    let truth = GroundTruth::from_json(&truth).unwrap();
    assert_eq!(truth.row_count("loan_applications"), 20);
    child.kill().await.unwrap();
}

#[tokio::test]
async fn serves_https_with_a_printed_ca() {
    let (mut child, lines) = serve(&["--api", "loan", "--records", "5", "--tls"], 2).await;
    assert!(lines[0].starts_with("https://127.0.0.1:"), "{lines:?}");
    let pem = std::fs::read(&lines[1]).unwrap();
    let tls_client = reqwest::Client::builder()
        .no_proxy()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .build()
        .unwrap();
    let got = send(
        tls_client
            .get(format!("{}/v1/loan-applications", lines[0]))
            .bearer_auth(sandbox_apis::credentials::LOAN_API_KEY),
    )
    .await;
    assert_eq!(got.status, 200);
    assert!(
        client()
            .get(format!("{}/v1/loan-applications", lines[0]))
            .send()
            .await
            .is_err(),
        "untrusted without the CA"
    );
    child.kill().await.unwrap();
}

#[tokio::test]
async fn ground_truth_command_exports_json() {
    let out = Command::new(env!("CARGO_BIN_EXE_sandbox-apis"))
        .args([
            "ground-truth",
            "--api",
            "loan",
            "--seed",
            "4",
            "--records",
            "30",
        ])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let truth = GroundTruth::from_json(&json).unwrap();
    assert_eq!(truth.row_count("loan_applications"), 30);
    let again = sandbox_apis::start(sandbox_apis::SandboxConfig {
        seed: 4,
        records: 30,
        ..sandbox_apis::SandboxConfig::new(sandbox_apis::Api::Loan)
    })
    .await
    .unwrap();
    assert_eq!(again.ground_truth(), truth);
}

#[tokio::test]
async fn bad_options_fail_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_sandbox-apis"))
        .args(["serve", "--api", "loan", "--fault", "nonsense"])
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nonsense"));
}

#[tokio::test]
async fn serves_woocommerce_netsuite_and_github() {
    use crate::oauth_client::{nonce, now, sha1_query, tba_header};
    use sandbox_apis::credentials as c;

    let (mut woo, lines) = serve(
        &["--api", "woocommerce", "--records", "12", "--seed", "2"],
        1,
    )
    .await;
    let url = format!("{}/wp-json/wc/v3/orders", lines[0]);
    let signed = sha1_query(
        &url,
        &[("per_page", "5")],
        c::WOO_CONSUMER_KEY,
        c::WOO_CONSUMER_SECRET,
        now(),
        &nonce(),
    );
    let got = send(client().get(signed)).await;
    assert_eq!(
        (got.status, got.header("x-wp-total")),
        (200, Some("12")),
        "{}",
        got.text
    );
    woo.kill().await.unwrap();

    let (mut ns, lines) = serve(&["--api", "netsuite", "--records", "7"], 1).await;
    let url = format!("{}/services/rest/query/v1/suiteql", lines[0]);
    let auth = tba_header(
        "POST",
        &url,
        &[("limit", "5"), ("offset", "0")],
        c::NETSUITE_ACCOUNT_ID,
        (c::NETSUITE_CONSUMER_KEY, c::NETSUITE_CONSUMER_SECRET),
        (c::NETSUITE_TOKEN_ID, c::NETSUITE_TOKEN_SECRET),
        now(),
        &nonce(),
    );
    let request = client()
        .post(format!("{url}?limit=5&offset=0"))
        .header("authorization", auth)
        .header("prefer", "transient")
        .body(r#"{"q": "SELECT * FROM item ORDER BY id"}"#);
    let got = send(request).await;
    assert_eq!(
        (got.status, got.json()["totalResults"].as_u64()),
        (200, Some(7)),
        "{}",
        got.text
    );
    ns.kill().await.unwrap();

    let (mut gh, lines) = serve(
        &["--api", "github", "--records", "3", "--fault", "latency=5"],
        1,
    )
    .await;
    let got = send(
        client()
            .get(format!(
                "{}/repos/octo-org/widgets/issues?state=all",
                lines[0]
            ))
            .bearer_auth(c::GITHUB_TOKEN),
    )
    .await;
    assert_eq!(
        (got.status, got.json().as_array().map(Vec::len)),
        (200, Some(3))
    );
    let stats = send(client().get(format!("{}/_sandbox/stats", lines[0])))
        .await
        .json();
    assert_eq!(stats["requests"], 1);
    gh.kill().await.unwrap();
}

#[tokio::test]
async fn control_endpoints_replace_faults_and_apply_changes() {
    let (mut child, lines) = serve(&["--api", "loan", "--records", "10", "--seed", "5"], 1).await;
    let base = &lines[0];
    let data = || {
        client()
            .get(format!("{base}/v1/loan-applications"))
            .bearer_auth(sandbox_apis::credentials::LOAN_API_KEY)
    };
    assert_eq!(send(data()).await.status, 200);
    let put = send(
        client()
            .put(format!("{base}/_sandbox/faults"))
            .body(r#"["503@always"]"#),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.text);
    assert_eq!(send(data()).await.status, 503);
    let bad = send(
        client()
            .put(format!("{base}/_sandbox/faults"))
            .body(r#"["nonsense"]"#),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        send(client().put(format!("{base}/_sandbox/faults")).body("[]"))
            .await
            .status,
        200
    );
    assert_eq!(send(data()).await.status, 200);
    let truth = |t: serde_json::Value| GroundTruth::from_json(&t).unwrap();
    let before = truth(
        send(client().get(format!("{base}/_sandbox/ground-truth")))
            .await
            .json(),
    );
    assert_eq!(
        send(client().post(format!("{base}/_sandbox/change")))
            .await
            .status,
        200
    );
    let after = truth(
        send(client().get(format!("{base}/_sandbox/ground-truth")))
            .await
            .json(),
    );
    assert_ne!(before, after);
    let stats = send(client().get(format!("{base}/_sandbox/stats")))
        .await
        .json();
    assert_eq!(stats["requests"], 3, "control requests are not counted");
    let on = send(
        client()
            .put(format!("{base}/_sandbox/changing"))
            .body("every=1,creates=2"),
    )
    .await;
    assert_eq!(on.status, 200, "{}", on.text);
    send(data()).await;
    let grown = truth(
        send(client().get(format!("{base}/_sandbox/ground-truth")))
            .await
            .json(),
    );
    assert_eq!(
        grown.row_count("loan_applications"),
        after.row_count("loan_applications") + 2
    );
    assert_eq!(
        send(
            client()
                .put(format!("{base}/_sandbox/changing"))
                .body("off")
        )
        .await
        .status,
        200
    );
    assert_eq!(
        send(
            client()
                .put(format!("{base}/_sandbox/changing"))
                .body("every=x")
        )
        .await
        .status,
        400
    );
    child.kill().await.unwrap();
}
