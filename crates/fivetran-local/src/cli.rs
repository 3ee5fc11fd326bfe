//! The command line's arguments (clap) and how they turn into the library's configuration.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fivetran_local::host::HostConfig;
use fivetran_local::request::{self, DEFAULT_AGENT, RequestTemplate};
use serde_json::Map;

/// A local Fivetran: runs a connector's real bootstrap through the Lambda Runtime API, checks every response against
/// the function protocol, and writes a SQLite warehouse.
#[derive(Parser)]
#[command(name = "fivetran-local", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run a full sync into the warehouse (state from and to the warehouse).
    Sync {
        #[command(flatten)]
        function: FunctionArgs,
        #[command(flatten)]
        request: RequestArgs,
        #[command(flatten)]
        warehouse: WarehouseArgs,
        /// Stop after this many calls even if hasMore is still true.
        #[arg(long, default_value_t = 1000)]
        max_calls: u64,
        /// How rows travel back: in the response (direct) or through S3 (cloud-storage).
        #[arg(long, value_enum, default_value_t = Method::Direct)]
        sync_method: Method,
        /// The S3 bucket for --sync-method cloud-storage. S3 is configured as the AWS SDKs read it
        /// (AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID, ...), from --env and then this process's
        /// environment; those variables are passed on to the function too.
        #[arg(long)]
        bucket: Option<String>,
        /// Prefix of the object keys for --sync-method cloud-storage (`<prefix><sync_id>/<call>.json`).
        #[arg(long, default_value = "fivetran-local/")]
        key_prefix: String,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Forget a connection's saved state (the next sync starts from `{}`).
    Reset {
        #[command(flatten)]
        warehouse: WarehouseArgs,
        /// The connection's name (as given to `sync`, by default the function's name).
        #[arg(long)]
        connection: String,
        /// Also drop the connection's tables.
        #[arg(long)]
        drop_tables: bool,
    },
    /// Check a function against the protocol through a whole sync, without a warehouse.
    Check {
        #[command(flatten)]
        function: FunctionArgs,
        #[command(flatten)]
        request: RequestArgs,
        /// The starting state: a file, or inline JSON.
        #[arg(long)]
        state: Option<String>,
        /// Stop after this many calls even if hasMore is still true.
        #[arg(long, default_value_t = 1000)]
        max_calls: u64,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Make one call and print the response body (violations go to stderr).
    Invoke {
        #[command(flatten)]
        function: FunctionArgs,
        #[command(flatten)]
        request: RequestArgs,
        /// The state to send: a file, or inline JSON.
        #[arg(long)]
        state: Option<String>,
        /// Send `setup_test: true`.
        #[arg(long)]
        setup_test: bool,
    },
    /// Run the connection's setup test and check the answer.
    SetupTest {
        #[command(flatten)]
        function: FunctionArgs,
        #[command(flatten)]
        request: RequestArgs,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Sync every connector against its sandbox stand-in into one warehouse, and say how to query it.
    Demo {
        /// Folder for the warehouse and logs.
        #[arg(long, default_value = "target/fivetran-local/demo")]
        out: PathBuf,
        /// Seed of the stand-ins' data.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Records per stand-in.
        #[arg(long, default_value_t = 200)]
        records: u64,
        /// Only these connectors (default: every connector found).
        #[arg(long = "connector")]
        connectors: Vec<String>,
        /// Where the binaries are (default: CARGO_TARGET_DIR and the workspace's target folder).
        #[arg(long = "target-dir")]
        target_dirs: Vec<PathBuf>,
        /// First build sandbox-apis and the connectors with cargo (so one command works on a fresh clone).
        #[arg(long)]
        build: bool,
        /// With --build: build in release mode.
        #[arg(long)]
        release: bool,
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Method {
    Direct,
    CloudStorage,
}

#[derive(Args)]
pub struct FunctionArgs {
    /// The function: a path to a bootstrap binary or a bootstrap.zip, or a connector name
    /// (found as target/lambda/<name>/bootstrap.zip or target/{release,debug}/<name>).
    pub function: String,
    /// Invocation timeout in seconds (sets Lambda-Runtime-Deadline-Ms).
    #[arg(long, default_value_t = 300.0)]
    pub timeout: f64,
    /// Memory size in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
    #[arg(long, default_value_t = 512)]
    pub memory: u32,
    /// AWS_REGION.
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
    /// AWS_LAMBDA_LOG_FORMAT: Text or JSON.
    #[arg(long, default_value = "Text")]
    pub log_format: String,
    /// Extra environment for the function, KEY=VALUE (repeatable), e.g. AWS_ENDPOINT_URL_S3=http://127.0.0.1:5000.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Append the function's logs to this file (sync: default <warehouse>.log).
    #[arg(long)]
    pub logs: Option<PathBuf>,
    /// Also echo the function's logs on stderr.
    #[arg(long)]
    pub echo_logs: bool,
    /// Where to look for connector binaries (repeatable).
    #[arg(long = "target-dir")]
    pub target_dirs: Vec<PathBuf>,
}

#[derive(Args)]
pub struct RequestArgs {
    /// The secrets: a JSON file of the connection's setup-form values.
    #[arg(long)]
    pub secrets: PathBuf,
    /// The sync_id to send (default: a fresh id).
    #[arg(long)]
    pub sync_id: Option<String>,
    /// The agent to send.
    #[arg(long, default_value = DEFAULT_AGENT)]
    pub agent: String,
}

#[derive(Args)]
pub struct WarehouseArgs {
    /// The warehouse file (sync: default fivetran-local/<connection>.sqlite).
    #[arg(long)]
    pub warehouse: Option<PathBuf>,
    /// Prefix of every table name (to keep several connections in one file).
    #[arg(long, default_value = "")]
    pub table_prefix: String,
}

impl FunctionArgs {
    /// The `--env` pairs.
    pub fn env_pairs(&self) -> Result<Vec<(String, String)>> {
        let mut env = Vec::new();
        for pair in &self.env {
            let Some((key, value)) = pair.split_once('=') else {
                bail!("--env `{pair}` must be KEY=VALUE");
            };
            env.push((key.to_owned(), value.to_owned()));
        }
        Ok(env)
    }

    /// A variable from `--env`, else from this process's environment.
    pub fn var(&self, name: &str) -> Option<String> {
        let from_args = self
            .env_pairs()
            .ok()
            .and_then(|pairs| pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v));
        from_args.or_else(|| std::env::var(name).ok())
    }

    pub fn host_config(
        &self,
        default_logs: Option<PathBuf>,
        forward_s3: bool,
    ) -> Result<HostConfig> {
        let mut env = self.env_pairs()?;
        if forward_s3 {
            for name in request::S3_VARIABLES {
                if !env.iter().any(|(k, _)| k == name)
                    && let Ok(value) = std::env::var(name)
                {
                    env.push((name.to_owned(), value));
                }
            }
        }
        if !(self.timeout > 0.0 && self.timeout <= 900.0) {
            bail!("--timeout must be between 0 and 900 seconds (Lambda's maximum)");
        }
        Ok(HostConfig {
            function_name: None,
            memory_mb: self.memory,
            timeout: Duration::from_secs_f64(self.timeout),
            region: self.region.clone(),
            log_format: self.log_format.clone(),
            env,
            log_file: self.logs.clone().or(default_logs),
            echo_logs: self.echo_logs,
        })
    }

    /// Finds the bootstrap (no process yet): a wrong path fails before anything is created.
    pub fn resolve(&self) -> Result<fivetran_local::artifact::Bootstrap> {
        fivetran_local::artifact::resolve(&self.function, &self.target_dirs)
            .with_context(|| format!("cannot start the function `{}`", self.function))
    }

    pub async fn start(
        &self,
        default_logs: Option<PathBuf>,
    ) -> Result<fivetran_local::host::FunctionHost> {
        self.start_resolved(self.resolve()?, default_logs, false)
            .await
    }

    pub async fn start_resolved(
        &self,
        bootstrap: fivetran_local::artifact::Bootstrap,
        default_logs: Option<PathBuf>,
        forward_s3: bool,
    ) -> Result<fivetran_local::host::FunctionHost> {
        let config = self.host_config(default_logs, forward_s3)?;
        fivetran_local::host::FunctionHost::start(bootstrap, config)
            .await
            .with_context(|| format!("cannot start the function `{}`", self.function))
    }
}

impl RequestArgs {
    pub fn template(&self) -> Result<RequestTemplate> {
        Ok(RequestTemplate {
            secrets: request::load_secrets(&self.secrets)?,
            agent: Some(self.agent.clone()),
            sync_id: Some(
                self.sync_id
                    .clone()
                    .unwrap_or_else(fivetran_local::host::request_id),
            ),
            setup_test: false,
            extra: Map::new(),
        })
    }
}
