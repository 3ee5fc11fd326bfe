//! The demo: every connector's real binary, synced against its sandbox stand-in into one warehouse file.
//!
//! For each connector (a folder under `connectors/`), the demo starts `sandbox-apis serve --api <api> --port 0
//! --seed N --records N` as a child process, reads the base URL from its first stdout line, builds the connector's
//! secrets for that URL, runs a full sync into `<out>/warehouse.sqlite` (tables prefixed `<connector>__`), stops the
//! stand-in, and finally says where the warehouse is and how to query it with sqlite3, Python and DuckDB.
//!
//! Secrets: `connectors/<name>/sandbox-secrets.json` when it exists (`{base_url}` is replaced by the stand-in's URL),
//! else the built-in table in [`demo_connector`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::artifact::{self, workspace_root};
use crate::error::{Error, Result};
use crate::host::HostConfig;
use crate::request::{DEFAULT_AGENT, RequestTemplate};
use crate::sync::{self, Progress, SyncOptions, SyncReport};
use crate::warehouse::Warehouse;

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Folder for the warehouse and the logs.
    pub out: PathBuf,
    /// Seed of the stand-ins' data.
    pub seed: u64,
    /// Records per stand-in.
    pub records: u64,
    /// Only these connectors (empty: every connector found).
    pub connectors: Vec<String>,
    /// Where the binaries are (empty: the defaults).
    pub target_dirs: Vec<PathBuf>,
    /// The workspace root (default: found from the current directory).
    pub root: Option<PathBuf>,
    /// Build `sandbox-apis` and the connectors with cargo first, in this profile.
    pub build: Option<Profile>,
}

/// A cargo build profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `cargo build`.
    Debug,
    /// `cargo build --release`.
    Release,
}

/// One connector's part of the demo.
#[derive(Debug, Clone, Serialize)]
pub struct DemoConnection {
    /// Connector (and connection) name.
    pub connector: String,
    /// The stand-in's API.
    pub api: String,
    /// Table prefix in the warehouse.
    pub table_prefix: String,
    /// The sync's report, when it ran.
    pub report: Option<SyncReport>,
    /// Why it could not run.
    pub error: Option<String>,
}

/// The whole demo.
#[derive(Debug, Clone, Serialize)]
pub struct DemoReport {
    /// The warehouse file.
    pub warehouse: PathBuf,
    /// Each connector's part.
    pub connections: Vec<DemoConnection>,
}

impl DemoReport {
    /// Whether every connector synced to the end.
    pub fn all_done(&self) -> bool {
        !self.connections.is_empty()
            && self
                .connections
                .iter()
                .all(|c| c.report.as_ref().is_some_and(SyncReport::is_done))
    }
}

/// The stand-in API and secrets of a known connector.
pub fn demo_connector(
    connector: &str,
    base_url: &str,
) -> Option<(&'static str, Map<String, Value>)> {
    let (api, secrets) = match connector {
        "loan-applications" | "loan-api" | "loan" => (
            "loan",
            json!({"baseUrl": base_url, "apiKey": "sandbox-loan-key"}),
        ),
        "woocommerce" => (
            "woocommerce",
            json!({"storeUrl": base_url, "consumerKey": "ck_sandbox_0123456789abcdef",
                   "consumerSecret": "cs_sandbox_fedcba9876543210"}),
        ),
        "netsuite" => (
            "netsuite",
            json!({"baseUrl": base_url, "accountId": "1234567_SB1", "consumerKey": "ns-consumer-key",
                   "consumerSecret": "ns-consumer-secret", "tokenId": "ns-token-id",
                   "tokenSecret": "ns-token-secret"}),
        ),
        "github" => (
            "github",
            json!({"baseUrl": base_url, "token": "ghp_sandbox0000000000000000000000000000",
                   "repositories": "octo-org/widgets,octo-org/gadgets"}),
        ),
        _ => return None,
    };
    Some((api, secrets.as_object().cloned().unwrap_or_default()))
}

/// The connectors of the workspace: folders under `connectors/` with a `Cargo.toml`, sorted.
pub fn workspace_connectors(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("connectors"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").exists())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// Runs the demo. `status` receives human-readable lines as it goes.
pub async fn run(
    options: &DemoOptions,
    progress: &mut dyn FnMut(&Progress),
    status: &mut dyn FnMut(&str),
) -> Result<DemoReport> {
    let root = options
        .root
        .clone()
        .or_else(|| {
            std::env::current_dir()
                .ok()
                .as_deref()
                .and_then(workspace_root)
        })
        .ok_or_else(|| {
            Error::Demo(
                "run the demo inside the workspace (no Cargo.toml with [workspace] found)".into(),
            )
        })?;
    let connectors = if options.connectors.is_empty() {
        workspace_connectors(&root)
    } else {
        options.connectors.clone()
    };
    if connectors.is_empty() {
        return Err(Error::Demo(format!(
            "no connectors found under `{}`",
            root.join("connectors").display()
        )));
    }
    if let Some(profile) = options.build {
        build(&root, &connectors, profile, status).await?;
    }
    let target_dirs = if options.target_dirs.is_empty() {
        artifact::default_target_dirs()
    } else {
        options.target_dirs.clone()
    };
    let sandbox = find_binary("sandbox-apis", &target_dirs).ok_or_else(|| {
        Error::Demo(
            "no `sandbox-apis` binary found; build it first (cargo build -p sandbox-apis) or pass --build".into(),
        )
    })?;
    std::fs::create_dir_all(&options.out)
        .map_err(|e| Error::io("create the folder", &options.out, e))?;
    let out = options
        .out
        .canonicalize()
        .unwrap_or_else(|_| options.out.clone());
    let warehouse_path = out.join("warehouse.sqlite");
    if warehouse_path.exists() {
        std::fs::remove_file(&warehouse_path)
            .map_err(|e| Error::io("replace", &warehouse_path, e))?;
    }
    let mut report = DemoReport {
        warehouse: warehouse_path.clone(),
        connections: Vec::new(),
    };
    for connector in connectors {
        status(&format!("── {connector}"));
        let prefix = format!("{}__", connector.replace('-', "_"));
        let outcome = run_one(
            &root,
            &connector,
            &sandbox,
            &target_dirs,
            &prefix,
            options,
            &warehouse_path,
            progress,
        )
        .await;
        let (api, sync_report, error) = match outcome {
            Ok((api, r)) => (api, Some(r), None),
            Err((api, e)) => {
                status(&format!("   {connector}: {e}"));
                (api, None, Some(e))
            }
        };
        report.connections.push(DemoConnection {
            connector,
            api,
            table_prefix: prefix,
            report: sync_report,
            error,
        });
    }
    Ok(report)
}

#[allow(clippy::too_many_arguments)]
async fn run_one(
    root: &Path,
    connector: &str,
    sandbox: &Path,
    target_dirs: &[PathBuf],
    prefix: &str,
    options: &DemoOptions,
    warehouse_path: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> std::result::Result<(String, SyncReport), (String, String)> {
    let (api, template) = sandbox_secrets(root, connector);
    let Some(template) = template else {
        return Err((
            api,
            format!(
                "no demo secrets known for `{connector}`: add connectors/{connector}/sandbox-secrets.json \
                 ({{\"_api\": \"<sandbox api>\", …secrets with {{base_url}}}})"
            ),
        ));
    };
    let fail = |message: String| (api.clone(), message);
    let bootstrap = artifact::resolve(connector, target_dirs).map_err(|e| fail(e.to_string()))?;
    let mut command = Command::new(sandbox);
    command
        .args(["serve", "--api", &api, "--port", "0"])
        .args([
            "--seed",
            &options.seed.to_string(),
            "--records",
            &options.records.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut stand_in = crate::host::spawn_retrying(&mut command)
        .map_err(|e| fail(format!("cannot start `{}`: {e}", sandbox.display())))?;
    let base_url = match stand_in.stdout.take() {
        Some(stdout) => {
            let mut lines = BufReader::new(stdout).lines();
            match tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await {
                Ok(Ok(Some(line))) => line.trim().to_owned(),
                _ => {
                    return Err(fail(format!(
                        "the `{api}` stand-in did not print its base URL"
                    )));
                }
            }
        }
        None => return Err(fail("the stand-in has no stdout".to_owned())),
    };
    let secrets = secrets_for(&template, &base_url);
    let config = HostConfig {
        log_file: Some(options.out.join(format!("{connector}.log"))),
        ..HostConfig::default()
    };
    let mut host = crate::host::FunctionHost::start(bootstrap, config)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut warehouse =
        Warehouse::open(warehouse_path, connector, prefix).map_err(|e| fail(e.to_string()))?;
    let options = SyncOptions {
        request: RequestTemplate {
            secrets,
            agent: Some(DEFAULT_AGENT.to_owned()),
            sync_id: Some(crate::host::request_id()),
            ..RequestTemplate::default()
        },
        ..SyncOptions::default()
    };
    let result = sync::run(
        &mut host,
        Some(&mut warehouse),
        Map::new(),
        &options,
        progress,
    )
    .await;
    host.stop().await;
    let _ = stand_in.start_kill();
    let _ = stand_in.wait().await;
    result
        .map(|r| (api.clone(), r))
        .map_err(|e| fail(e.to_string()))
}

/// Builds `sandbox-apis` and the connectors with cargo (`$CARGO`, else `cargo`) in the workspace.
async fn build(
    root: &Path,
    connectors: &[String],
    profile: Profile,
    status: &mut dyn FnMut(&str),
) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["build", "-p", "sandbox-apis"]);
    for connector in connectors {
        command.args(["-p", connector]);
    }
    if profile == Profile::Release {
        command.arg("--release");
    }
    status(&format!(
        "building sandbox-apis and {} connector(s) with cargo…",
        connectors.len()
    ));
    let outcome = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .await
        .map_err(|e| Error::Demo(format!("cannot run cargo: {e}")))?;
    if !outcome.success() {
        return Err(Error::Demo(format!("cargo build failed ({outcome})")));
    }
    Ok(())
}

/// The sandbox API a connector syncs from, and its secrets template (`{base_url}` still in it): from
/// `connectors/<name>/sandbox-secrets.json` when it exists (its `_api` names the API), else from [`demo_connector`].
pub fn sandbox_secrets(root: &Path, connector: &str) -> (String, Option<Value>) {
    let (api, template) = match demo_connector(connector, "{base_url}") {
        Some((api, secrets)) => (api.to_owned(), Some(Value::Object(secrets))),
        None => (connector.to_owned(), None),
    };
    let file = std::fs::read_to_string(
        root.join("connectors")
            .join(connector)
            .join("sandbox-secrets.json"),
    )
    .ok()
    .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let api = file
        .as_ref()
        .and_then(|t| t.get("_api"))
        .and_then(Value::as_str)
        .map_or(api, str::to_owned);
    (api, file.or(template))
}

/// The secrets for a stand-in at `base_url` from a template of [`sandbox_secrets`].
pub fn secrets_for(template: &Value, base_url: &str) -> Map<String, Value> {
    let mut secrets = substitute(template, base_url)
        .as_object()
        .cloned()
        .unwrap_or_default();
    // Keys starting with `_` describe the test set-up (`_api`, `_ignoreColumns`), not the connector's secrets.
    secrets.retain(|key, _| !key.starts_with('_'));
    secrets
}

/// The columns a connector adds beyond the stand-in's ground truth (`_ignoreColumns` in `sandbox-secrets.json`),
/// which comparisons with the ground truth leave out.
pub fn ignored_columns(template: &Value) -> Vec<String> {
    template
        .get("_ignoreColumns")
        .and_then(Value::as_array)
        .map(|columns| {
            columns
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Replaces `{base_url}` in every string of a JSON template.
fn substitute(template: &Value, base_url: &str) -> Value {
    match template {
        Value::String(s) => Value::String(s.replace("{base_url}", base_url)),
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| substitute(v, base_url)).collect())
        }
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), substitute(v, base_url)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The newest `release`/`debug` build of a binary in the target folders.
pub fn find_binary(name: &str, target_dirs: &[PathBuf]) -> Option<PathBuf> {
    target_dirs
        .iter()
        .flat_map(|dir| [dir.join("release").join(name), dir.join("debug").join(name)])
        .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, p)| p)
}

/// What a person reads at the end of the demo: each connection's summary, where the warehouse is, how to query it.
pub fn render(report: &DemoReport) -> String {
    let mut out = String::new();
    for connection in &report.connections {
        out.push_str(&format!(
            "\n== {} (stand-in: {}, tables {}*)\n",
            connection.connector, connection.api, connection.table_prefix
        ));
        match (&connection.report, &connection.error) {
            (Some(r), _) => out.push_str(&crate::output::summary(r)),
            (None, Some(e)) => out.push_str(&format!("not synced: {e}\n")),
            (None, None) => {}
        }
    }
    let path = report.warehouse.display();
    let example = report
        .connections
        .iter()
        .find_map(|c| {
            c.report
                .as_ref()
                .and_then(|r| r.tables.keys().next())
                .map(|t| format!("{}{t}", c.table_prefix))
        })
        .unwrap_or_else(|| "<table>".to_owned());
    out.push_str(&format!(
        "\nwarehouse: {path}\n\
         query it:\n  \
           sqlite3 {path} '.tables' 'SELECT * FROM {example} LIMIT 5'\n  \
           python3 -c \"import sqlite3; c = sqlite3.connect('{path}'); print(c.execute('SELECT COUNT(*) FROM {example}').fetchall())\"\n  \
           duckdb -c \"INSTALL sqlite; LOAD sqlite; ATTACH '{path}' AS w (TYPE sqlite); SELECT * FROM w.{example} LIMIT 5\"\n"
    ));
    out
}
