//! The `CLOUD_STORAGE` method against a real S3-compatible server (`moto_server`, from `.ci/requirements.txt`): an
//! engine-built function writes each call's rows to `s3://bucket/key`, `fivetran-local` reads them back with
//! `fivetran-core`'s S3 client, and the warehouse equals the stand-in's ground truth — through the library and the CLI.

use std::sync::Arc;
use std::time::Duration;

use fivetran_local::request::{S3Store, SyncMethod};
use fivetran_local::sync::Stop;
use sandbox_apis::{Api, SandboxConfig};
use serde_json::json;

use crate::support::*;

/// A `moto_server` on a free loopback port, stopped on drop.
struct Moto {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let child = std::process::Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server is needed for the S3 tests: python3 -m pip install -r .ci/requirements.txt");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_S3", self.endpoint.clone()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "AKIDLOCALTEST".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local-test-secret".to_owned()),
        ]
    }

    async fn create_bucket(&self, name: &str) {
        let response = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint))
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
    }
}

#[tokio::test]
async fn rows_through_s3_land_as_the_ground_truth() {
    let moto = Moto::start();
    moto.create_bucket("landing").await;
    let sandbox = sandbox_apis::start(SandboxConfig {
        seed: 21,
        records: 120,
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    let vars = moto.vars();
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let secrets = json!({"baseUrl": sandbox.base_url(), "apiKey": "sandbox-loan-key"});

    // Through the library.
    let dir = tempfile::tempdir().unwrap();
    let mut warehouse = warehouse(dir.path());
    let reference = env!("CARGO_BIN_EXE_loan-reference-function");
    let mut host = start(reference, config(&env, Duration::from_secs(60))).await;
    let mut opts = options(secrets.clone());
    opts.method = SyncMethod::CloudStorage {
        bucket: "landing".into(),
        key_prefix: "it/".into(),
        store: Arc::new(S3Store::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })),
    };
    let report = sync_into(&mut host, &mut warehouse, &opts).await;
    assert_eq!(
        report.stop,
        Stop::Done,
        "{}",
        fivetran_local::output::summary(&report)
    );
    assert!(report.rows > 100, "{report:?}");
    sandbox
        .ground_truth()
        .assert_matches(&warehouse.read_all().unwrap(), &Default::default());
    host.stop().await;

    // Through the CLI: the S3 variables come from this process's environment and reach the function too. (Awaited
    // with tokio: the stand-in runs on this test's runtime and must keep answering.)
    let secrets_path = secrets_file(dir.path(), &secrets.to_string());
    let db = dir.path().join("cli.sqlite");
    let output = tokio::process::Command::new(CLI)
        .args([
            "sync",
            reference,
            "--secrets",
            secrets_path.to_str().unwrap(),
        ])
        .args([
            "--warehouse",
            db.to_str().unwrap(),
            "--sync-method",
            "cloud-storage",
            "--bucket",
            "landing",
        ])
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("finished: hasMore false"), "{stdout}");

    // A missing bucket stops the sync and names it.
    let output = tokio::process::Command::new(CLI)
        .args([
            "sync",
            reference,
            "--secrets",
            secrets_path.to_str().unwrap(),
        ])
        .args([
            "--warehouse",
            db.to_str().unwrap(),
            "--sync-method",
            "cloud-storage",
            "--bucket",
            "nowhere",
        ])
        .envs(vars.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("nowhere"), "{stdout}");
    sandbox.shutdown().await;
}
