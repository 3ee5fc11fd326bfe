//! The `fivetran-local` command line: a thin layer over the library (see `lib.rs`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use fivetran_local::host::{HostConfig, Outcome};
use fivetran_local::request::{self, DEFAULT_AGENT, RequestTemplate, SyncMethod};
use fivetran_local::sync::{self, Stop, SyncOptions};
use fivetran_local::warehouse::Warehouse;
use fivetran_local::{check, demo, output};
use serde_json::Map;

/// A local Fivetran: runs a connector's real bootstrap through the Lambda Runtime API, checks every response against
/// the function protocol, and writes a SQLite warehouse.
#[derive(Parser)]
#[command(name = "fivetran-local", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
        /// The S3 bucket for --sync-method cloud-storage.
        #[arg(long)]
        bucket: Option<String>,
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
        /// Print the report as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Method {
    Direct,
    CloudStorage,
}

#[derive(Args)]
struct FunctionArgs {
    /// The function: a path to a bootstrap binary or a bootstrap.zip, or a connector name
    /// (found as target/lambda/<name>/bootstrap.zip or target/{release,debug}/<name>).
    function: String,
    /// Invocation timeout in seconds (sets Lambda-Runtime-Deadline-Ms).
    #[arg(long, default_value_t = 300.0)]
    timeout: f64,
    /// Memory size in MB (AWS_LAMBDA_FUNCTION_MEMORY_SIZE).
    #[arg(long, default_value_t = 512)]
    memory: u32,
    /// AWS_REGION.
    #[arg(long, default_value = "us-east-1")]
    region: String,
    /// AWS_LAMBDA_LOG_FORMAT: Text or JSON.
    #[arg(long, default_value = "Text")]
    log_format: String,
    /// Extra environment for the function, KEY=VALUE (repeatable), e.g. AWS_ENDPOINT_URL_S3=http://127.0.0.1:5000.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// Append the function's logs to this file (sync: default <warehouse>.log).
    #[arg(long)]
    logs: Option<PathBuf>,
    /// Also echo the function's logs on stderr.
    #[arg(long)]
    echo_logs: bool,
    /// Where to look for connector binaries (repeatable).
    #[arg(long = "target-dir")]
    target_dirs: Vec<PathBuf>,
}

#[derive(Args)]
struct RequestArgs {
    /// The secrets: a JSON file of the connection's setup-form values.
    #[arg(long)]
    secrets: PathBuf,
    /// The sync_id to send (default: a fresh id).
    #[arg(long)]
    sync_id: Option<String>,
    /// The agent to send.
    #[arg(long, default_value = DEFAULT_AGENT)]
    agent: String,
}

#[derive(Args)]
struct WarehouseArgs {
    /// The warehouse file (sync: default fivetran-local/<connection>.sqlite).
    #[arg(long)]
    warehouse: Option<PathBuf>,
    /// Prefix of every table name (to keep several connections in one file).
    #[arg(long, default_value = "")]
    table_prefix: String,
}

impl FunctionArgs {
    fn host_config(&self, default_logs: Option<PathBuf>) -> Result<HostConfig> {
        let mut env = Vec::new();
        for pair in &self.env {
            let Some((key, value)) = pair.split_once('=') else {
                bail!("--env `{pair}` must be KEY=VALUE");
            };
            env.push((key.to_owned(), value.to_owned()));
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
    fn resolve(&self) -> Result<fivetran_local::artifact::Bootstrap> {
        fivetran_local::artifact::resolve(&self.function, &self.target_dirs)
            .with_context(|| format!("cannot start the function `{}`", self.function))
    }

    async fn start(
        &self,
        default_logs: Option<PathBuf>,
    ) -> Result<fivetran_local::host::FunctionHost> {
        self.start_resolved(self.resolve()?, default_logs).await
    }

    async fn start_resolved(
        &self,
        bootstrap: fivetran_local::artifact::Bootstrap,
        default_logs: Option<PathBuf>,
    ) -> Result<fivetran_local::host::FunctionHost> {
        let config = self.host_config(default_logs)?;
        fivetran_local::host::FunctionHost::start(bootstrap, config)
            .await
            .with_context(|| format!("cannot start the function `{}`", self.function))
    }
}

impl RequestArgs {
    fn template(&self) -> Result<RequestTemplate> {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            output::status(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(error) => {
            output::status(&format!("error: {error:#}"));
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> Result<ExitCode> {
    match command {
        Command::Sync {
            function,
            request,
            warehouse,
            max_calls,
            sync_method,
            bucket,
            json,
        } => {
            if matches!(sync_method, Method::CloudStorage) {
                let _ = bucket;
                bail!(
                    "--sync-method cloud-storage needs an S3 reader, which this build does not have yet \
                     (the seam is `fivetran_local::request::ObjectStore`); use --sync-method direct"
                );
            }
            let template = request.template()?;
            let bootstrap = function.resolve()?;
            let connection = warehouse_connection(&function.function);
            let path = warehouse.warehouse.clone().unwrap_or_else(|| {
                PathBuf::from("fivetran-local").join(format!("{connection}.sqlite"))
            });
            // Open the warehouse first: a bad path fails before any process starts.
            let mut store = Warehouse::open(&path, &connection, &warehouse.table_prefix)
                .with_context(|| format!("cannot open the warehouse `{}`", path.display()))?;
            let mut host = function
                .start_resolved(bootstrap, Some(path.with_extension("log")))
                .await?;
            output::status(&format!(
                "syncing {} ({}) into {} as connection `{connection}`",
                host.function_name(),
                host.bootstrap().origin.display(),
                path.display()
            ));
            let options = SyncOptions {
                request: template,
                method: SyncMethod::Direct,
                max_calls,
                ..SyncOptions::default()
            };
            let report = sync::run(
                &mut host,
                Some(&mut store),
                Map::new(),
                &options,
                &mut output::progress,
            )
            .await?;
            host.stop().await;
            if json {
                output::json(&report);
            } else {
                output::stdout(&output::summary(&report));
                if report.is_done() {
                    output::stdout(&format!("query it: sqlite3 {} '.tables'", path.display()));
                }
            }
            Ok(exit_code(&report.stop))
        }
        Command::Reset {
            warehouse,
            connection,
            drop_tables,
        } => {
            let Some(path) = warehouse.warehouse else {
                bail!("reset needs --warehouse FILE");
            };
            if !path.exists() {
                bail!("no warehouse at `{}`", path.display());
            }
            let mut store = Warehouse::open(&path, &connection, &warehouse.table_prefix)?;
            store.reset(drop_tables)?;
            output::status(&format!(
                "connection `{connection}` in {}: state forgotten{}",
                path.display(),
                if drop_tables { ", tables dropped" } else { "" }
            ));
            Ok(ExitCode::SUCCESS)
        }
        Command::Check {
            function,
            request,
            state,
            max_calls,
            json,
        } => {
            let template = request.template()?;
            let start = state
                .as_deref()
                .map(request::load_state)
                .transpose()?
                .unwrap_or_default();
            let mut host = function.start(None).await?;
            let options = SyncOptions {
                request: template,
                max_calls,
                ..SyncOptions::default()
            };
            let report = sync::run(&mut host, None, start, &options, &mut output::progress).await?;
            host.stop().await;
            if json {
                output::json(&report);
            } else {
                output::stdout(&output::summary(&report));
                if report.violations.is_empty() && report.is_done() {
                    output::stdout("conformance: every response followed the protocol");
                }
            }
            Ok(exit_code(&report.stop))
        }
        Command::Invoke {
            function,
            request,
            state,
            setup_test,
        } => {
            let mut template = request.template()?;
            template.setup_test = setup_test;
            let start = state
                .as_deref()
                .map(request::load_state)
                .transpose()?
                .unwrap_or_default();
            let mut host = function.start(None).await?;
            let invocation = host.invoke(&template.build(&start, None)).await;
            host.stop().await;
            match invocation.outcome {
                Outcome::Response(body) => {
                    match serde_json::from_slice::<serde_json::Value>(&body) {
                        Ok(value) => output::json(&value),
                        Err(_) => output::stdout(&String::from_utf8_lossy(&body)),
                    }
                    let mut known = Default::default();
                    match check::check_response(1, &body, &start, &mut known) {
                        check::Verdict::Ok(checked) => {
                            for warning in checked.warnings {
                                output::status(&format!("warning: {warning}"));
                            }
                            Ok(ExitCode::SUCCESS)
                        }
                        check::Verdict::ErrorBody { message, .. } => {
                            output::status(&format!(
                                "the function returned an error in its body: {message}"
                            ));
                            Ok(ExitCode::FAILURE)
                        }
                        check::Verdict::Violations(found) => {
                            for violation in found {
                                output::status(&format!("violation: {violation}"));
                            }
                            Ok(ExitCode::FAILURE)
                        }
                    }
                }
                other => {
                    output::status(&format!("error: {other}"));
                    Ok(ExitCode::FAILURE)
                }
            }
        }
        Command::SetupTest {
            function,
            request,
            json,
        } => {
            let template = request.template()?;
            let mut host = function.start(None).await?;
            let report = sync::setup_test(&mut host, &template, &Map::new()).await;
            host.stop().await;
            if json {
                output::json(&report);
            } else {
                output::stdout(&report.message);
                for violation in &report.violations {
                    output::stdout(&format!("violation: {violation}"));
                }
            }
            Ok(if report.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Demo {
            out,
            seed,
            records,
            connectors,
            target_dirs,
            json,
        } => {
            let options = demo::DemoOptions {
                out,
                seed,
                records,
                connectors,
                target_dirs,
                root: None,
            };
            let report = demo::run(&options, &mut output::progress, &mut |line| {
                output::status(line)
            })
            .await
            .context("the demo could not run")?;
            if json {
                output::json(&report);
            } else {
                output::stdout(&demo::render(&report));
            }
            Ok(if report.all_done() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

/// The connection name for a function argument: the file or connector name without folders and extension.
fn warehouse_connection(spec: &str) -> String {
    let path = std::path::Path::new(spec);
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("connection");
    if stem == "bootstrap" {
        if let Some(parent) = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
        {
            return parent.to_owned();
        }
    }
    stem.to_owned()
}

/// 0 when done, 1 when a call failed, 3 when the call limit stopped the sync.
fn exit_code(stop: &Stop) -> ExitCode {
    match stop {
        Stop::Done => ExitCode::SUCCESS,
        Stop::Failed { .. } => ExitCode::FAILURE,
        Stop::MaxCalls { .. } => ExitCode::from(3),
    }
}
