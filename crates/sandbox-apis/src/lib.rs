//! `sandbox-apis`: local stand-ins for the upstream APIs (loan, WooCommerce, NetSuite SuiteQL, GitHub), with
//! deterministic data, ground truth, changing data, real authentication checks, and fault injection.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandbox_apis::Error> {
//! use sandbox_apis::{Api, SandboxConfig, start};
//! let sandbox = start(SandboxConfig { records: 250, ..SandboxConfig::new(Api::Loan) }).await?;
//! let base_url = sandbox.base_url(); // e.g. http://127.0.0.1:41237 — the connector's `baseUrl`
//! let truth = sandbox.ground_truth(); // what a complete sync must produce
//! assert_eq!(truth.row_count("loan_applications"), 250);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod credentials;
pub mod faults;
pub mod ground_truth;
pub mod oauth;
pub mod prng;

mod control;
mod github;
mod github_data;
mod loan;
mod netsuite;
mod netsuite_data;
mod paging;
mod server;
mod suiteql;
mod tls;
mod woo_data;
mod woocommerce;

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

pub use faults::{FaultKind, FaultRule, Faults, Latency, Trigger};
/// The repositories the GitHub stand-in serves (`owner/repo`), for the connector's `repositories` secret.
pub use github_data::REPOSITORIES as GITHUB_REPOSITORIES;
pub use ground_truth::{DiffOptions, Difference, GroundTruth, Row, RowKey, Table};
/// The record types the NetSuite stand-in serves, for the connector's `recordTypes` secret.
pub use netsuite_data::RECORD_TYPES as NETSUITE_RECORD_TYPES;

/// Which upstream API a stand-in plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Loan,
    WooCommerce,
    NetSuite,
    GitHub,
}

impl FromStr for Api {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "loan" | "loan-applications" => Ok(Api::Loan),
            "woocommerce" | "woo" => Ok(Api::WooCommerce),
            "netsuite" => Ok(Api::NetSuite),
            "github" => Ok(Api::GitHub),
            _ => Err(format!(
                "unknown API {s:?} (loan, woocommerce, netsuite, github)"
            )),
        }
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Api::Loan => "loan",
            Api::WooCommerce => "woocommerce",
            Api::NetSuite => "netsuite",
            Api::GitHub => "github",
        })
    }
}

/// Data that changes while clients page: one change step every `every_requests` requests (counted over all requests,
/// before the request is answered), each step creating, updating and deleting that many records. Deletes apply to the
/// loan API only (the other APIs have no deletion feed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changing {
    pub every_requests: u64,
    pub creates: u32,
    pub updates: u32,
    pub deletes: u32,
}

impl Default for Changing {
    fn default() -> Self {
        Changing {
            every_requests: 3,
            creates: 1,
            updates: 2,
            deletes: 1,
        }
    }
}

impl Changing {
    /// Parses `every=3,creates=1,updates=2,deletes=1` (any subset; the rest default).
    pub fn parse(spec: &str) -> Result<Changing, String> {
        let mut c = Changing::default();
        for part in spec.split(',').filter(|p| !p.is_empty()) {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("expected KEY=VALUE, got {part:?}"))?;
            let v: u64 = v.parse().map_err(|_| format!("{k}: not a number: {v:?}"))?;
            match k {
                "every" => c.every_requests = v,
                "creates" => c.creates = v as u32,
                "updates" => c.updates = v as u32,
                "deletes" => c.deletes = v as u32,
                _ => return Err(format!("unknown key {k:?}")),
            }
        }
        Ok(c)
    }
}

/// How to start a stand-in.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    pub api: Api,
    /// Seed for data, changes and probabilistic faults.
    pub seed: u64,
    /// Number of top-level records (loan applications; WooCommerce orders; NetSuite rows per record type; GitHub
    /// issues per repository).
    pub records: usize,
    pub changing: Option<Changing>,
    pub faults: Faults,
    /// Serve https with a certificate from a CA generated at start ([`Sandbox::ca_pem`]).
    pub tls: bool,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Date the data by the real clock: initial records end when the stand-in starts and change steps never fall
    /// behind real time (like a real server). Off by default: timestamps are then synthetic (initial data before
    /// 2026-01-01T00:00:00Z, 1–3 seconds per change step) and the data is reproducible byte for byte.
    pub wall_clock: bool,
}

impl SandboxConfig {
    /// Defaults: seed 1, 100 records, no changes, no faults, plain http, any free port, synthetic clock.
    pub fn new(api: Api) -> Self {
        SandboxConfig {
            api,
            seed: 1,
            records: 100,
            changing: None,
            faults: Faults::default(),
            tls: false,
            port: 0,
            wall_clock: false,
        }
    }
}

/// Errors starting a stand-in.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// 1-based arrival number (the number fault triggers use).
    pub number: u64,
    pub method: String,
    pub path: String,
    /// Raw query string.
    pub query: String,
    /// `None` when the connection was reset instead of answered.
    pub status: Option<u16>,
    /// When the request arrived.
    pub started: SystemTime,
    /// Until the response headers were ready (injected latency included; a slow body's drip is not).
    pub duration: Duration,
    /// The injected fault, if any (debug form of [`FaultKind`]).
    pub fault: Option<String>,
}

/// The request log and the largest number of requests that were in flight at once.
#[derive(Debug, Clone)]
pub struct RequestLog {
    /// In completion order.
    pub entries: Vec<RequestRecord>,
    pub max_in_flight: u64,
}

/// A running stand-in. Dropping it stops the server too.
pub struct Sandbox {
    shared: Arc<server::Shared>,
    addr: std::net::SocketAddr,
    ca_pem: Option<String>,
    stop: tokio::sync::watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

/// Starts a stand-in on 127.0.0.1 (must be called inside a Tokio runtime).
pub async fn start(config: SandboxConfig) -> Result<Sandbox, Error> {
    let clock = if config.wall_clock {
        paging::DataClock::wall()
    } else {
        paging::DataClock::fixed()
    };
    let backend: Arc<dyn server::Backend> = match config.api {
        Api::Loan => Arc::new(loan::LoanBackend::new(config.seed, config.records, clock)),
        Api::WooCommerce => Arc::new(woocommerce::WooBackend::new(
            config.seed,
            config.records,
            clock,
        )),
        Api::GitHub => Arc::new(github::GitHubBackend::new(
            config.seed,
            config.records,
            clock,
        )),
        Api::NetSuite => Arc::new(netsuite::NetSuiteBackend::new(
            config.seed,
            config.records,
            clock,
        )),
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| Error::Bind {
            port: config.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Bind {
        port: config.port,
        source,
    })?;
    let tls = if config.tls {
        Some(tls::generate()?)
    } else {
        None
    };
    let shared = Arc::new(server::Shared {
        backend,
        faults: RwLock::new(config.faults),
        changing: RwLock::new(config.changing),
        tls: config.tls,
        log: Mutex::new(Vec::new()),
        counter: AtomicU64::new(0),
        in_flight: AtomicU64::new(0),
        max_in_flight: AtomicU64::new(0),
    });
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
    let task = tokio::spawn(server::accept_loop(
        listener,
        shared.clone(),
        tls.map(|t| t.acceptor),
        stopped,
    ));
    Ok(Sandbox {
        shared,
        addr,
        ca_pem,
        stop,
        task,
    })
}

impl Sandbox {
    /// `http://127.0.0.1:PORT` (or `https://`); the connectors' base URL / store URL.
    pub fn base_url(&self) -> String {
        let scheme = if self.shared.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// The CA certificate (PEM) to trust when serving https.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// What a complete sync must produce in the warehouse right now.
    pub fn ground_truth(&self) -> GroundTruth {
        self.shared.backend.ground_truth()
    }

    /// Every request so far, and the peak concurrency.
    pub fn request_log(&self) -> RequestLog {
        self.shared.request_log()
    }

    /// Number of requests received so far.
    pub fn request_count(&self) -> u64 {
        self.shared.counter.load(Ordering::SeqCst)
    }

    /// Replaces the faults from the next request on.
    pub fn set_faults(&self, faults: Faults) {
        *self.shared.faults.write().expect("faults lock") = faults;
    }

    /// Applies one change step now (with the configured [`Changing`] sizes, or the defaults).
    pub fn change(&self) {
        let changing = self
            .shared
            .changing
            .read()
            .expect("changing lock")
            .unwrap_or_default();
        self.shared.backend.change(&changing);
    }

    /// Replaces the changing-data settings from the next request on; `None` stops automatic changes (e.g. before a
    /// final sync that must end equal to the ground truth).
    pub fn set_changing(&self, changing: Option<Changing>) {
        *self.shared.changing.write().expect("changing lock") = changing;
    }

    /// Stops accepting and drops open connections.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        tokio::task::yield_now().await;
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.task.abort();
    }
}
