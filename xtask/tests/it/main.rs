//! The `xtask` command line end to end: exit codes and messages as a person sees them.

use std::process::{Command, Output};

fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .expect("the xtask binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_lists_the_commands() {
    let output = xtask(&["help"]);
    assert!(output.status.success());
    let stdout = text(&output.stdout);
    for command in ["build-all", "codegen", "tidy", "new"] {
        assert!(stdout.contains(command), "{command}: {stdout}");
    }
}

#[test]
fn errors_are_one_clear_line_without_a_backtrace() {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["build-all", "--arch", "arm65"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.starts_with("error: unknown architecture `arm65`"),
        "{stderr}"
    );
    assert!(!stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn unknown_connector_is_refused() {
    let output = xtask(&["build-all", "--connector", "no-such-connector"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("no connector `no-such-connector`"));
}

#[test]
fn committed_deploy_files_are_fresh() {
    let output = xtask(&["codegen", "--check"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
}
