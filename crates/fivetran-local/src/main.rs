//! The `fivetran-local` command line: a thin layer over the library (see `lib.rs`).

mod cli;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, Method};
use fivetran_local::host::Outcome;
use fivetran_local::request::{self, SyncMethod};
use fivetran_local::sync::{self, Stop, SyncOptions};
use fivetran_local::warehouse::Warehouse;
use fivetran_local::{check, demo, output};
use serde_json::Map;

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
            key_prefix,
            json,
        } => {
            let method = match (sync_method, bucket) {
                (Method::Direct, _) => SyncMethod::Direct,
                (Method::CloudStorage, None) => {
                    bail!("--sync-method cloud-storage needs --bucket NAME")
                }
                (Method::CloudStorage, Some(bucket)) => SyncMethod::CloudStorage {
                    bucket,
                    key_prefix,
                    store: std::sync::Arc::new(request::S3Store::from_vars(|name| {
                        function.var(name)
                    })),
                },
            };
            let cloud = matches!(method, SyncMethod::CloudStorage { .. });
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
                .start_resolved(bootstrap, Some(path.with_extension("log")), cloud)
                .await?;
            output::status(&format!(
                "syncing {} ({}) into {} as connection `{connection}`",
                host.function_name(),
                host.bootstrap().origin.display(),
                path.display()
            ));
            let options = SyncOptions {
                request: template,
                method,
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
            output::end_progress();
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
            output::end_progress();
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
            let report = fivetran_local::setup_test::run(&mut host, &template, &Map::new()).await;
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
            build,
            release,
            json,
        } => {
            let options = demo::DemoOptions {
                out,
                seed,
                records,
                connectors,
                target_dirs,
                root: None,
                build: build.then_some(if release {
                    demo::Profile::Release
                } else {
                    demo::Profile::Debug
                }),
            };
            let report = demo::run(&options, &mut output::progress, &mut |line| {
                output::status(line)
            })
            .await
            .context("the demo could not run")?;
            output::end_progress();
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
    if stem == "bootstrap"
        && let Some(parent) = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|s| s.to_str())
    {
        return parent.to_owned();
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
