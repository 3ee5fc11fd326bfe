//! The `sandbox-apis` command: serve a stand-in by hand (`serve`) or export a ground truth (`ground-truth`).

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use sandbox_apis::{Api, Changing, Faults, SandboxConfig};

#[derive(Parser)]
#[command(
    name = "sandbox-apis",
    about = "Local stand-ins for the upstream APIs of the Fivetran connectors"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve a stand-in until interrupted. Prints the base URL on the first line (and the CA PEM path on the second
    /// with --tls).
    Serve(ServeArgs),
    /// Print (or write) the ground truth of the initial dataset as JSON.
    GroundTruth(DataArgs),
}

#[derive(Args)]
struct DataArgs {
    /// loan, woocommerce, netsuite or github.
    #[arg(long)]
    api: Api,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 100)]
    records: usize,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long)]
    api: Api,
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 100)]
    records: usize,
    /// Change data while clients page: `every=3,creates=1,updates=2,deletes=1` (any subset; empty for defaults).
    #[arg(long, num_args = 0..=1, default_missing_value = "")]
    changing: Option<String>,
    /// A fault, repeatable: `KIND[:ARG][@TRIGGER]` or `latency=MS[+JITTER]` (see the README).
    #[arg(long)]
    fault: Vec<String>,
    /// Serve https with a freshly generated CA.
    #[arg(long)]
    tls: bool,
    /// Where to write the CA PEM with --tls (default: a file in the temporary directory).
    #[arg(long)]
    ca_out: Option<PathBuf>,
    /// Date the data by the real clock instead of the reproducible synthetic one.
    #[arg(long)]
    wall_clock: bool,
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::GroundTruth(args) => ground_truth(args).await,
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let mut faults = Faults {
        seed: args.seed,
        ..Faults::default()
    };
    for spec in &args.fault {
        faults
            .add_spec(spec)
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("--fault {spec}"))?;
    }
    let changing = match &args.changing {
        Some(spec) => Some(
            Changing::parse(spec)
                .map_err(anyhow::Error::msg)
                .context("--changing")?,
        ),
        None => None,
    };
    let config = SandboxConfig {
        seed: args.seed,
        records: args.records,
        changing,
        faults,
        tls: args.tls,
        port: args.port,
        wall_clock: args.wall_clock,
        ..SandboxConfig::new(args.api)
    };
    let sandbox = sandbox_apis::start(config)
        .await
        .context("starting the stand-in")?;
    let mut lines = vec![sandbox.base_url()];
    if let Some(pem) = sandbox.ca_pem() {
        let path = args.ca_out.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("sandbox-apis-{}-ca.pem", sandbox.addr().port()))
        });
        std::fs::write(&path, pem).with_context(|| format!("writing {}", path.display()))?;
        lines.push(path.display().to_string());
    }
    announce(&lines)?;
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    sandbox.shutdown().await;
    Ok(())
}

async fn ground_truth(args: DataArgs) -> Result<()> {
    let sandbox = sandbox_apis::start(SandboxConfig {
        seed: args.seed,
        records: args.records,
        ..SandboxConfig::new(args.api)
    })
    .await
    .context("building the dataset")?;
    let json = serde_json::to_string_pretty(&sandbox.ground_truth().to_json())?;
    match args.out {
        Some(path) => {
            std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?
        }
        None => announce(&[json])?,
    }
    Ok(())
}

/// Prints lines to standard output and flushes, so a parent process can read them at once.
#[allow(clippy::print_stdout)]
fn announce(lines: &[String]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
