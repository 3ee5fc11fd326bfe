//! Command-line parsing for `cargo xtask`, by hand: a few commands with a few flags each.

use anyhow::{Context, Result, bail};

use crate::arch::Arch;
use crate::{bench, build_all, codegen, fuzz};

pub const HELP: &str = "\
cargo xtask <command>

commands:
  build-all [--connector NAME]... [--arch x86_64|arm64]... [--zigbuild]
      build every connector (or the named ones) in release mode for the Lambda runtime
      provided.al2023, check the binaries (glibc <= 2.34, no OpenSSL) and write
      target/lambda/<connector>/bootstrap.zip (x86_64) or bootstrap-arm64.zip (arm64).
      --zigbuild builds with `cargo zigbuild` against glibc 2.17 (pip install cargo-zigbuild).
  codegen [--check]
      regenerate deploy/ (CloudFormation template, serverless.yml, README) from connectors/;
      --check fails instead when the committed files are stale.
  codegen --out DIR [--connector NAME]...
      write the same files for the named connectors (default: those in connectors/) into DIR,
      e.g. to lint the templates for a sample connector list.
  tidy
      check the repository rules (module headers, workspace dependencies, connector
      independence, fresh generated files).
  bench [--records N] [--page-size N] [--latency MS] [--concurrency N] [--starts N]
        [--connector NAME]... [--function PATH] [--no-build] [--engine] [--out FILE]
      end-to-end syncs of loan-applications and woocommerce (release builds) against their
      stand-ins with injected latency, CPU time and peak RSS, cold start, zip sizes (--engine:
      also the engine micro-benchmark); prints a table and writes target/bench/results.json.
  fuzz [--seconds N] [TARGET]...
      run the cargo-fuzz targets in fuzz/ (all, or the named ones) with nightly for N seconds
      each (default 60); needs `cargo install cargo-fuzz`.
  new NAME
      scaffold connectors/NAME: a declaration skeleton, a README and a test.
  demo [ARGS]...
      build the connectors and the API stand-ins, sync every connector through its real binary
      into a local SQLite warehouse and say how to query it (ARGS go to `fivetran-local demo`).
  help
      print this text.
";

/// A parsed command line.
#[derive(Debug, Clone)]
pub enum Command {
    BuildAll(build_all::Options),
    Codegen(codegen::Options),
    Tidy,
    Bench(bench::Options),
    Fuzz(fuzz::Options),
    New { name: String },
    Demo { args: Vec<String> },
    Help,
}

/// Parses the arguments after `cargo xtask`.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Command> {
    let mut args = args.into_iter();
    let Some(command) = args.next() else {
        return Ok(Command::Help);
    };
    let rest: Vec<String> = args.collect();
    match command.as_str() {
        "build-all" => parse_build_all(&rest).map(Command::BuildAll),
        "codegen" => parse_codegen(&rest).map(Command::Codegen),
        "demo" => Ok(Command::Demo { args: rest }),
        "tidy" => no_arguments(&rest, "tidy").map(|()| Command::Tidy),
        "bench" => parse_bench(&rest).map(Command::Bench),
        "fuzz" => parse_fuzz(&rest).map(Command::Fuzz),
        "new" => match rest.as_slice() {
            [name] if !name.starts_with('-') => Ok(Command::New { name: name.clone() }),
            _ => bail!("usage: cargo xtask new NAME"),
        },
        "help" | "--help" | "-h" => Ok(Command::Help),
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

fn no_arguments(rest: &[String], command: &str) -> Result<()> {
    if rest.is_empty() {
        Ok(())
    } else {
        bail!("`{command}` takes no arguments (got {})", rest.join(" "))
    }
}

fn parse_codegen(rest: &[String]) -> Result<codegen::Options> {
    let mut options = codegen::Options::default();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--check" => options.check = true,
            "--out" => options.out = Some(args.next().context("--out needs a folder")?.into()),
            "--connector" => options
                .connectors
                .push(args.next().context("--connector needs a name")?.clone()),
            _ => bail!("unknown codegen argument `{arg}`\n\n{HELP}"),
        }
    }
    if options.check && options.out.is_some() {
        bail!("codegen: --check compares deploy/ and cannot be combined with --out");
    }
    if !options.connectors.is_empty() && options.out.is_none() {
        bail!("codegen: --connector needs --out (deploy/ always follows connectors/)");
    }
    Ok(options)
}

fn parse_bench(rest: &[String]) -> Result<bench::Options> {
    let mut options = bench::Options::default();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64> {
            let value = args
                .next()
                .with_context(|| format!("{name} needs a value"))?;
            value
                .parse()
                .with_context(|| format!("{name} needs a whole number, got `{value}`"))
        };
        match arg.as_str() {
            "--records" => options.records = number(arg)?.max(1),
            "--page-size" => options.page_size = number(arg)?.max(1),
            "--latency" => options.latency_ms = number(arg)?,
            "--concurrency" => options.concurrency = number(arg)?.max(1),
            "--starts" => options.starts = number(arg)?.max(1) as usize,
            "--connector" => options
                .connectors
                .push(args.next().context("--connector needs a name")?.clone()),
            "--function" => {
                options.function = Some(args.next().context("--function needs a path")?.into())
            }
            "--out" => options.out = Some(args.next().context("--out needs a file")?.into()),
            "--no-build" => options.build = false,
            "--engine" => options.engine = true,
            _ => bail!("unknown bench argument `{arg}`\n\n{HELP}"),
        }
    }
    Ok(options)
}

fn parse_fuzz(rest: &[String]) -> Result<fuzz::Options> {
    let mut options = fuzz::Options::default();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context("--seconds needs a value")?;
                options.seconds = value
                    .parse()
                    .with_context(|| format!("--seconds needs a whole number, got `{value}`"))?;
            }
            flag if flag.starts_with('-') => bail!("unknown fuzz argument `{arg}`\n\n{HELP}"),
            target => options.targets.push(target.to_owned()),
        }
    }
    Ok(options)
}

fn parse_build_all(rest: &[String]) -> Result<build_all::Options> {
    let mut options = build_all::Options::default();
    let mut args = rest.iter();
    while let Some(arg) = args.next() {
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) => (flag, Some(value.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || -> Result<String> {
            match inline.clone() {
                Some(value) => Ok(value),
                None => args
                    .next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value")),
            }
        };
        match flag {
            "--connector" | "-p" | "--package" => options.connectors.push(value()?),
            "--arch" => {
                let arch = Arch::parse(&value()?)?;
                if !options.archs.contains(&arch) {
                    options.archs.push(arch);
                }
            }
            "--zigbuild" if inline.is_none() => options.zigbuild = true,
            _ => bail!("unknown build-all argument `{arg}`\n\n{HELP}"),
        }
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(line: &str) -> Result<Command> {
        parse(line.split_whitespace().map(String::from))
    }

    #[test]
    fn build_all_flags() {
        let Command::BuildAll(options) = parse_words(
            "build-all --connector github --connector=woocommerce --arch arm64 --zigbuild",
        )
        .unwrap() else {
            panic!("expected build-all");
        };
        assert_eq!(options.connectors, ["github", "woocommerce"]);
        assert_eq!(options.archs, [Arch::Arm64]);
        assert!(options.zigbuild);

        let Command::BuildAll(defaults) = parse_words("build-all").unwrap() else {
            panic!("expected build-all");
        };
        assert!(defaults.connectors.is_empty() && defaults.archs.is_empty() && !defaults.zigbuild);
    }

    #[test]
    fn errors_are_explicit() {
        assert!(
            parse_words("build-all --arch arm65")
                .unwrap_err()
                .to_string()
                .contains("arm65")
        );
        assert!(
            parse_words("build-all --connector")
                .unwrap_err()
                .to_string()
                .contains("needs a value")
        );
        assert!(
            parse_words("build-all --fast")
                .unwrap_err()
                .to_string()
                .contains("--fast")
        );
        assert!(
            parse_words("deploy")
                .unwrap_err()
                .to_string()
                .contains("unknown command")
        );
        assert!(parse_words("new").is_err());
        assert!(parse_words("codegen --force").is_err());
    }

    #[test]
    fn bench_flags() {
        let Command::Bench(options) = parse_words(
            "bench --records 500 --latency 5 --concurrency 4 --starts 3 --no-build --engine",
        )
        .unwrap() else {
            panic!("expected bench");
        };
        assert_eq!(
            (options.records, options.latency_ms, options.concurrency),
            (500, 5, 4)
        );
        assert!(options.starts == 3 && !options.build && options.engine);
        assert!(parse_words("bench --records many").is_err());
        assert!(parse_words("bench --fast").is_err());
        let Command::Fuzz(fuzz) = parse_words("fuzz --seconds 5 state keyset").unwrap() else {
            panic!("expected fuzz");
        };
        assert_eq!((fuzz.seconds, fuzz.targets.len()), (5, 2));
        assert!(parse_words("fuzz --minutes 5").is_err());
    }

    #[test]
    fn other_commands() {
        assert!(matches!(parse_words("codegen --check").unwrap(), Command::Codegen(o) if o.check));
        assert!(
            matches!(parse_words("codegen").unwrap(), Command::Codegen(o) if !o.check && o.out.is_none())
        );
        let Command::Codegen(sample) =
            parse_words("codegen --out /tmp/x --connector a --connector b").unwrap()
        else {
            panic!("expected codegen");
        };
        assert_eq!(sample.out.as_deref(), Some(std::path::Path::new("/tmp/x")));
        assert_eq!(sample.connectors, ["a", "b"]);
        assert!(parse_words("codegen --check --out /tmp/x").is_err());
        assert!(parse_words("codegen --connector a").is_err());
        assert!(
            matches!(parse_words("new demo-api").unwrap(), Command::New { name } if name == "demo-api")
        );
        assert!(matches!(parse_words("").unwrap(), Command::Help));
        assert!(matches!(parse_words("tidy").unwrap(), Command::Tidy));
    }
}
