//! Which functions the benchmark measures, and how each is set up: the connectors whose stand-in the bench can
//! drive (loan, WooCommerce), the `loan-bench` example of fivetran-core, or a binary given with `--function`.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use super::Options;
use crate::project::Project;

/// A stand-in API the bench can drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Loan,
    WooCommerce,
}

impl Api {
    /// The `--api` value of `sandbox-apis serve`.
    pub fn name(self) -> &'static str {
        match self {
            Api::Loan => "loan",
            Api::WooCommerce => "woocommerce",
        }
    }

    /// The tables filled one row per listed record (children excluded): their rows make the pages.
    pub fn page_tables(self) -> &'static [&'static str] {
        match self {
            Api::Loan => &["loan_applications"],
            Api::WooCommerce => &["orders", "products", "customers"],
        }
    }

    /// Records per page: the loan connector takes `pageSize`, WooCommerce's connector always asks for 100.
    pub fn page_size(self, options: &Options) -> u64 {
        match self {
            Api::Loan => options.page_size,
            Api::WooCommerce => 100,
        }
    }

    /// The secrets for a stand-in at `base_url` (the stand-ins' fixed credentials).
    pub fn secrets(self, base_url: &str, options: &Options) -> Map<String, Value> {
        let pairs: Vec<(&str, String)> = match self {
            Api::Loan => vec![
                ("baseUrl", base_url.into()),
                ("apiKey", "sandbox-loan-key".into()),
                ("pageSize", options.page_size.to_string()),
            ],
            Api::WooCommerce => vec![
                ("storeUrl", base_url.into()),
                ("consumerKey", "ck_sandbox_0123456789abcdef".into()),
                ("consumerSecret", "cs_sandbox_fedcba9876543210".into()),
            ],
        };
        // Every function built on the engine takes the `concurrency` secret (the loan-bench example reads it too).
        pairs
            .into_iter()
            .chain([("concurrency", options.concurrency.to_string())])
            .map(|(k, v)| (k.to_owned(), Value::from(v)))
            .collect()
    }
}

/// A binary to measure and its sync variants.
#[derive(Debug)]
pub struct Function {
    pub name: String,
    pub binary: PathBuf,
    pub api: Api,
    pub variants: Vec<Variant>,
}

/// One sync configuration: extra secrets and a label.
#[derive(Debug)]
pub struct Variant {
    pub label: String,
    pub secrets: Vec<(&'static str, String)>,
}

impl Variant {
    fn declared(name: &str) -> Variant {
        Variant {
            label: name.to_owned(),
            secrets: Vec::new(),
        }
    }
}

/// The connectors the bench can drive, in the order they are measured.
const CONNECTORS: [(&str, Api); 2] = [
    ("loan-applications", Api::Loan),
    ("woocommerce", Api::WooCommerce),
];

/// `--function PATH`, else the named or all drivable connectors, else the `loan-bench` example.
pub fn select(project: &Project, options: &Options) -> Result<Vec<Function>> {
    if let Some(binary) = &options.function {
        let example = binary
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("loan-bench"));
        let name = binary.display().to_string();
        let variants = if example {
            example_variants()
        } else {
            vec![Variant::declared(&name)]
        };
        return Ok(vec![Function {
            name,
            binary: binary.clone(),
            api: Api::Loan,
            variants,
        }]);
    }
    let present = project.connectors()?;
    let mut chosen: Vec<(&str, Api)> = CONNECTORS
        .into_iter()
        .filter(|(name, _)| present.iter().any(|p| p == name))
        .filter(|(name, _)| {
            options.connectors.is_empty() || options.connectors.iter().any(|c| c == name)
        })
        .collect();
    for wanted in &options.connectors {
        if !chosen.iter().any(|(name, _)| name == wanted) {
            bail!(
                "the bench drives {} (present in connectors/: {})",
                CONNECTORS.map(|(n, _)| n).join(", "),
                present.join(", ")
            );
        }
    }
    if chosen.is_empty() {
        // Before the connectors existed: the loan declaration as an example of fivetran-core.
        if options.build {
            cargo_build(project, &["-p", "fivetran-core", "--example", "loan-bench"])?;
        }
        return Ok(vec![Function {
            name: "loan-bench (fivetran-core example)".into(),
            binary: project.target_dir().join("release/examples/loan-bench"),
            api: Api::Loan,
            variants: example_variants(),
        }]);
    }
    if options.build {
        let mut args = Vec::new();
        for (name, _) in &chosen {
            args.extend(["-p", *name]);
        }
        cargo_build(project, &args)?;
    }
    Ok(chosen
        .drain(..)
        .map(|(name, api)| Function {
            name: name.into(),
            binary: project.target_dir().join("release").join(name),
            api,
            variants: vec![Variant::declared(name)],
        })
        .collect())
}

/// The example's variants: key-ordered pages (as the loan connector must page) and plain concurrent pages (the
/// engine's concurrent path), both at the bench's concurrency (a secret every function gets).
fn example_variants() -> Vec<Variant> {
    vec![
        Variant {
            label: "loan-bench, key-ordered".into(),
            secrets: vec![("keyOrdered", "true".into())],
        },
        Variant {
            label: "loan-bench, plain pages".into(),
            secrets: vec![("keyOrdered", "false".into())],
        },
    ]
}

/// `cargo build --release ARGS` in the project's target directory.
pub fn cargo_build(project: &Project, args: &[&str]) -> Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release"])
        .args(args)
        .arg("--target-dir")
        .arg(project.target_dir())
        .current_dir(project.root())
        .status()
        .context("running cargo build")?;
    if !status.success() {
        bail!("cargo build --release {} failed ({status})", args.join(" "));
    }
    Ok(())
}
