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
