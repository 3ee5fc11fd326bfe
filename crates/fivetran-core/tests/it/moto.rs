//! A real S3-compatible server for the tests: `moto_server` (PyPI `moto[server]`) on a free loopback port, started
//! once per test run and shared (each test uses its own buckets). It stops when the test process ends: it runs
//! under a shell that waits on a pipe from this process and kills the server when the pipe closes.
//!
//! The server starts with `MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS=false`, so a bucket created for another account
//! (header `x-moto-account-id`) answers a real `403 AccessDenied`.

use std::io::Read as _;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use url::Url;

/// Credentials moto accepts (it checks none without IAM enforcement).
pub const ACCESS_KEY: &str = "AKIDMOTOTESTING";
pub const SECRET_KEY: &str = "moto-secret-never-printed";
pub const SESSION_TOKEN: &str = "moto-session-token-never-printed";
pub const REGION: &str = "us-east-1";

/// The running server.
pub struct Moto {
    pub endpoint: Url,
    _keep_alive: Mutex<(Child, ChildStdin)>,
}

/// The shared server, started on first use. Fails the test, clearly, when `moto_server` is missing.
pub fn moto() -> &'static Moto {
    static MOTO: OnceLock<Moto> = OnceLock::new();
    MOTO.get_or_init(start)
}

fn start() -> Moto {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let script = format!(
        "command -v moto_server >/dev/null 2>&1 || exit 127; \
         moto_server -H 127.0.0.1 -p {port} >/dev/null 2>&1 & pid=$!; \
         cat >/dev/null; kill $pid"
    );
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .env("MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS", "false")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run sh to start moto_server");
    let stdin = child.stdin.take().unwrap();
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .ok();
            panic!(
                "moto_server is not available (exit {status}): the S3 tests need a real S3-compatible server; \
                 install it with `pip install 'moto[server]'`. {stderr}"
            );
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "moto_server did not start on port {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Moto {
        endpoint: Url::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
        _keep_alive: Mutex::new((child, stdin)),
    }
}

impl Moto {
    /// The variables a Lambda would see, pointing at this server.
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_S3", self.endpoint.to_string()),
            ("AWS_REGION", REGION.to_owned()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_SESSION_TOKEN", SESSION_TOKEN.to_owned()),
        ]
    }

    /// A `fivetran_core` S3 configuration for this server.
    pub fn config(&self) -> fivetran_core::storage::S3Config {
        let vars = self.vars();
        fivetran_core::storage::S3Config::from_vars(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        })
    }

    fn bucket(&self, name: &str) -> Bucket {
        Bucket::new(
            self.endpoint.clone(),
            UrlStyle::Path,
            name.to_owned(),
            REGION,
        )
        .unwrap()
    }

    /// Creates a bucket, owned by `account` when given (another account than the default one the tests write as).
    pub async fn create_bucket(&self, name: &str, account: Option<&str>) {
        let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY);
        let bucket = self.bucket(name);
        let url = bucket
            .create_bucket(&credentials)
            .sign(Duration::from_secs(60));
        let mut request = reqwest::Client::new().put(url).header("content-length", 0);
        if let Some(account) = account {
            request = request.header("x-moto-account-id", account);
        }
        let response = request.send().await.unwrap();
        assert!(
            response.status().is_success(),
            "create bucket {name}: {}",
            response.status()
        );
    }

    /// Reads an object back.
    pub async fn get_object(&self, bucket: &str, key: &str) -> Vec<u8> {
        let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY);
        let bucket = self.bucket(bucket);
        let url = bucket
            .get_object(Some(&credentials), key)
            .sign(Duration::from_secs(60));
        let response = reqwest::get(url).await.unwrap();
        assert!(
            response.status().is_success(),
            "get s3://{}/{key}: {}",
            bucket.name(),
            response.status()
        );
        response.bytes().await.unwrap().to_vec()
    }
}
