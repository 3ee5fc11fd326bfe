//! The function process: starts the bootstrap with the Lambda environment against the [`RuntimeApi`], hands it one
//! invocation at a time, and tells apart a response, an error, an init error, a crash and a timeout.
//!
//! One process serves many invocations, as on Lambda. After a crash, an init error or a timeout the process is gone
//! (a timed-out process is killed, as Lambda does) and the next invocation starts a fresh one.

use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::artifact::Bootstrap;
use crate::error::{Error, Result};
use crate::logs::LogSink;
use crate::runtime_api::{Event, FunctionError, Reply, RuntimeApi};

mod outcome;
pub use outcome::Outcome;

/// How the function runs: what Lambda's configuration would say.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Function name (`AWS_LAMBDA_FUNCTION_NAME`); defaults to the bootstrap's name.
    pub function_name: Option<String>,
    /// Memory in MB (`AWS_LAMBDA_FUNCTION_MEMORY_SIZE`).
    pub memory_mb: u32,
    /// Timeout of one invocation; sets `Lambda-Runtime-Deadline-Ms`.
    pub timeout: Duration,
    /// `AWS_REGION`.
    pub region: String,
    /// `AWS_LAMBDA_LOG_FORMAT`: `Text` or `JSON`.
    pub log_format: String,
    /// Extra environment (e.g. an S3 endpoint), applied last.
    pub env: Vec<(String, String)>,
    /// File the function's logs are appended to.
    pub log_file: Option<PathBuf>,
    /// Also echo the function's logs on stderr.
    pub echo_logs: bool,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            function_name: None,
            memory_mb: 512,
            timeout: Duration::from_secs(300),
            region: "us-east-1".to_owned(),
            log_format: "Text".to_owned(),
            env: Vec::new(),
            log_file: None,
            echo_logs: false,
        }
    }
}

/// One invocation's result.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The request id handed to the function.
    pub request_id: String,
    /// Wall time from queuing the event to the outcome.
    pub duration: Duration,
    /// What happened.
    pub outcome: Outcome,
}

struct Process {
    child: Child,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

/// A bootstrap served by a Runtime API host.
pub struct FunctionHost {
    bootstrap: Bootstrap,
    config: HostConfig,
    api: RuntimeApi,
    logs: LogSink,
    process: Option<Process>,
    processes_started: u64,
    log_stream: String,
}

impl fmt::Debug for FunctionHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionHost")
            .field("bootstrap", &self.bootstrap.path)
            .field("api", &self.api)
            .finish()
    }
}

impl FunctionHost {
    /// Starts the Runtime API host and the function process. Fails when the bootstrap cannot be started.
    pub async fn start(bootstrap: Bootstrap, config: HostConfig) -> Result<Self> {
        let api = RuntimeApi::start().await?;
        let logs = LogSink::new(config.log_file.as_deref(), config.echo_logs)?;
        let log_stream = format!(
            "{}/[$LATEST]{:016x}{:016x}",
            chrono::Utc::now().format("%Y/%m/%d"),
            random(1),
            random(2)
        );
        let mut host = FunctionHost {
            bootstrap,
            config,
            api,
            logs,
            process: None,
            processes_started: 0,
            log_stream,
        };
        host.spawn()?;
        Ok(host)
    }

    /// The function name.
    pub fn function_name(&self) -> &str {
        self.config
            .function_name
            .as_deref()
            .unwrap_or(&self.bootstrap.name)
    }

    /// The bootstrap being run.
    pub fn bootstrap(&self) -> &Bootstrap {
        &self.bootstrap
    }

    /// Changes the timeout of the following invocations.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.config.timeout = timeout;
    }

    /// How many processes have been started (1 unless one crashed or timed out).
    pub fn processes_started(&self) -> u64 {
        self.processes_started
    }

    /// The environment the process gets (on top of an empty one).
    pub fn environment(&self) -> Vec<(String, String)> {
        let name = self.function_name().to_owned();
        let task_root = self
            .bootstrap
            .path
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        let mut env: Vec<(String, String)> = [
            ("AWS_LAMBDA_RUNTIME_API", self.api.address()),
            ("AWS_LAMBDA_FUNCTION_NAME", name.clone()),
            (
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                self.config.memory_mb.to_string(),
            ),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
            ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}")),
            ("AWS_LAMBDA_LOG_STREAM_NAME", self.log_stream.clone()),
            ("AWS_LAMBDA_LOG_FORMAT", self.config.log_format.clone()),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
            ("AWS_REGION", self.config.region.clone()),
            ("AWS_DEFAULT_REGION", self.config.region.clone()),
            ("_HANDLER", "bootstrap".to_owned()),
            ("LAMBDA_TASK_ROOT", task_root.clone()),
            ("LAMBDA_RUNTIME_DIR", task_root),
            ("TZ", ":UTC".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for (key, value) in &self.config.env {
            env.retain(|(k, _)| k != key);
            env.push((key.clone(), value.clone()));
        }
        env
    }

    fn spawn(&mut self) -> Result<()> {
        self.api.reset();
        self.logs.clear_tail();
        let mut command = Command::new(&self.bootstrap.path);
        command
            .env_clear()
            .envs(self.environment())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = self.bootstrap.path.parent() {
            command.current_dir(dir);
        }
        let mut child = spawn_retrying(&mut command).map_err(|e| {
            let reason = match e.raw_os_error() {
                Some(8) => {
                    "it is not a program this machine can run (exec format error)".to_owned()
                }
                _ => e.to_string(),
            };
            Error::NotExecutable {
                path: self.bootstrap.path.clone(),
                reason,
            }
        })?;
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(self.logs.spawn_reader(stdout));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(self.logs.spawn_reader(stderr));
        }
        self.processes_started += 1;
        self.process = Some(Process { child, readers });
        Ok(())
    }

    /// Sends one request and waits for what comes of it (at most the timeout).
    pub async fn invoke(&mut self, payload: &Value) -> Invocation {
        let request_id = request_id();
        let started = Instant::now();
        let finish = |outcome| Invocation {
            request_id: request_id.clone(),
            duration: started.elapsed(),
            outcome,
        };
        // A process that exited between invocations (after answering) is replaced, as Lambda starts a new
        // execution environment; the exit is noted in the logs.
        let exited = self
            .process
            .as_mut()
            .and_then(|p| p.child.try_wait().ok().flatten());
        if let Some(status) = exited {
            self.stop().await;
            self.logs.line(&format!(
                "fivetran-local: the function process exited ({status}) between invocations; starting a new one"
            ));
        }
        if self.process.is_none()
            && let Err(e) = self.spawn()
        {
            return finish(Outcome::StartFailed(e.to_string()));
        }
        let timeout = self.config.timeout;
        let deadline = SystemTime::now() + timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let event = Event {
            request_id: request_id.clone(),
            deadline_ms,
            function_arn: format!(
                "arn:aws:lambda:{}:000000000000:function:{}",
                self.config.region,
                self.function_name()
            ),
            trace_id: format!(
                "Root=1-{:08x}-{:012x}{:012x};Parent={:016x};Sampled=0",
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
                random(3) & 0xffff_ffff_ffff,
                random(4) & 0xffff_ffff_ffff,
                random(5)
            ),
            payload: serde_json::to_vec(payload).unwrap_or_default(),
        };
        self.logs
            .line(&format!("START RequestId: {request_id} Version: $LATEST"));
        let deadline_timer = tokio::time::sleep(timeout);
        tokio::pin!(deadline_timer);
        let mut handed_over = false;
        let outcome = loop {
            let reply = self.api.submit(event.clone());
            let Some(process) = self.process.as_mut() else {
                break Outcome::StartFailed("no process".to_owned());
            };
            let api = &self.api;
            let outcome = tokio::select! {
                biased;
                reply = reply => match reply {
                    Ok(Reply::Response(body)) => Outcome::Response(body.to_vec()),
                    Ok(Reply::Error(error)) => Outcome::FunctionError(error),
                    Err(_) => Outcome::StartFailed("the Runtime API host dropped the invocation".to_owned()),
                },
                status = process.child.wait() => {
                    let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                    Outcome::Crashed { status, during_init: !api.polled(), log_tail: Vec::new() }
                }
                () = api.init_failed() => Outcome::InitError(api.init_error().unwrap_or_else(unknown_error)),
                () = deadline_timer.as_mut() => Outcome::TimedOut { timeout, log_tail: Vec::new() },
            };
            // A process that exited before taking the event (e.g. right after answering the previous one) did not
            // fail this invocation: as Lambda does, hand the event to a fresh process, once.
            if let Outcome::Crashed { status, .. } = &outcome
                && !handed_over
                && self.api.is_queued(&request_id)
                && self.api.init_error().is_none()
            {
                handed_over = true;
                let status = status.clone();
                self.stop().await;
                self.logs.line(&format!(
                        "fivetran-local: the function process exited ({status}) before taking the invocation; \
                         starting a new one"
                    ));
                if let Err(e) = self.spawn() {
                    break Outcome::StartFailed(e.to_string());
                }
                continue;
            }
            break outcome;
        };
        let outcome = match outcome {
            Outcome::Response(_) | Outcome::FunctionError(_) => outcome,
            other => {
                self.stop().await;
                let tail = self.logs.tail();
                match other {
                    // An init error posted just before the process exited is the better explanation.
                    Outcome::Crashed { .. } if self.api.init_error().is_some() => {
                        Outcome::InitError(self.api.init_error().unwrap_or_else(unknown_error))
                    }
                    Outcome::Crashed {
                        status,
                        during_init,
                        ..
                    } => Outcome::Crashed {
                        status,
                        during_init,
                        log_tail: tail,
                    },
                    Outcome::TimedOut { timeout, .. } => Outcome::TimedOut {
                        timeout,
                        log_tail: tail,
                    },
                    other => other,
                }
            }
        };
        let elapsed = started.elapsed();
        self.logs.line(&format!("END RequestId: {request_id}"));
        self.logs.line(&format!(
            "REPORT RequestId: {request_id}\tDuration: {:.2} ms\tMemory Size: {} MB{}",
            elapsed.as_secs_f64() * 1000.0,
            self.config.memory_mb,
            match &outcome {
                Outcome::TimedOut { .. } => "\tStatus: timeout",
                Outcome::Crashed { .. } | Outcome::InitError(_) | Outcome::StartFailed(_) =>
                    "\tStatus: error",
                _ => "",
            }
        ));
        finish(outcome)
    }

    /// Stops the current process (kill, then wait for it and for its log lines).
    pub async fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.child.start_kill();
            let _ = process.child.wait().await;
            for reader in process.readers {
                let _ = tokio::time::timeout(Duration::from_secs(2), reader).await;
            }
        }
    }
}

/// Spawns a command, retrying briefly on "text file busy": a freshly written executable can still be open in a
/// child that another thread of this process forked and that has not yet reached `exec`.
pub fn spawn_retrying(command: &mut Command) -> std::io::Result<Child> {
    let mut attempts = 0;
    loop {
        match command.spawn() {
            Err(e) if e.raw_os_error() == Some(26) && attempts < 50 => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn unknown_error() -> FunctionError {
    FunctionError {
        error_type: "Unknown".to_owned(),
        message: String::new(),
    }
}

/// A fresh random-looking number (std's randomly keyed hasher over a counter and the clock).
fn random(salt: u64) -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    RandomState::new().hash_one((COUNTER.fetch_add(1, Ordering::Relaxed), nanos, salt))
}

/// A fresh UUID-shaped id (request ids, default sync ids).
pub fn request_id() -> String {
    let a = random(6);
    let b = random(7);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}
