//! The command line end to end: `sync` (summary and `--json`), `reset`, `check`, `invoke`, `setup-test`, and the
//! messages for bad input.

use std::process::Command;

use serde_json::{Value, json};

use crate::support::*;

fn run(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(CLI).args(args).output().expect("the CLI runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn sync_prints_a_summary_and_json_and_reset_forgets_the_state() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_file(dir.path(), r#"{"apiKey": "good"}"#);
    let db = dir.path().join("w.sqlite");
    let (code, out, err) = run(&[
        "sync",
        WELL_BEHAVED,
        "--secrets",
        secrets.to_str().unwrap(),
        "--warehouse",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("call    3"), "progress on stderr: {err}");
    assert!(
        out.contains("table     inserted  updated  deleted  soft-deleted  rows now"),
        "{out}"
    );
    assert!(
        out.contains("items            4        1        1             0         3"),
        "{out}"
    );
    assert!(out.contains("finished: hasMore false"), "{out}");
    assert!(
        dir.path().join("w.log").exists(),
        "logs next to the warehouse"
    );

    let (code, out, _) = run(&[
        "sync",
        WELL_BEHAVED,
        "--secrets",
        secrets.to_str().unwrap(),
        "--warehouse",
        db.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["stop"], json!({"status": "done"}));
    assert_eq!(report["calls"], json!(1), "continues from the stored state");
    assert_eq!(report["connection"], json!("well-behaved-function"));

    let (code, _, err) = run(&[
        "reset",
        "--warehouse",
        db.to_str().unwrap(),
        "--connection",
        "well-behaved-function",
    ]);
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = run(&[
        "sync",
        WELL_BEHAVED,
        "--secrets",
        secrets.to_str().unwrap(),
        "--warehouse",
        db.to_str().unwrap(),
        "--json",
    ]);
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        report["calls"],
        json!(3),
        "after reset the sync starts over"
    );
}

#[test]
fn check_reports_violations_with_exit_code_one() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_file(dir.path(), "{}");
    let (code, out, _) = Command::new(CLI)
        .args(["check", MISBEHAVING, "--secrets", secrets.to_str().unwrap()])
        .env(
            "MISBEHAVE",
            "ignored: the function gets a clean environment",
        )
        .output()
        .map(|o| {
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                (),
            )
        })
        .unwrap();
    // Without --env the misbehaving function gets no MISBEHAVE and answers with an error.
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("unknown MISBEHAVE"), "{out}");

    let (code, out, _) = run(&[
        "check",
        MISBEHAVING,
        "--secrets",
        secrets.to_str().unwrap(),
        "--env",
        "MISBEHAVE=has-more-string",
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("call 1: [has-more-boolean] `hasMore` must be a JSON boolean, found a string (\"\\\"true\\\"\")"), "{out}");

    let (code, out, _) = run(&[
        "check",
        MISBEHAVING,
        "--secrets",
        secrets.to_str().unwrap(),
        "--env",
        "MISBEHAVE=good",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("conformance: every response followed the protocol"),
        "{out}"
    );
}

#[test]
fn invoke_prints_one_response_and_setup_test_checks_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = secrets_file(dir.path(), r#"{"apiKey": "good"}"#);
    let (code, out, err) = run(&[
        "invoke",
        WELL_BEHAVED,
        "--secrets",
        secrets.to_str().unwrap(),
        "--state",
        r#"{"page": 2}"#,
    ]);
    assert_eq!(code, 0, "{err}");
    let response: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(response["state"], json!({"page": 3}));
    assert_eq!(response["hasMore"], json!(false));

    let (code, out, _) = run(&[
        "setup-test",
        WELL_BEHAVED,
        "--secrets",
        secrets.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("setup test passed"), "{out}");
    let bad = secrets_file(dir.path(), r#"{"apiKey": "nope"}"#);
    let (code, out, _) = run(&[
        "setup-test",
        WELL_BEHAVED,
        "--secrets",
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        out.contains("invalid secret `apiKey`: was rejected by the source"),
        "{out}"
    );
}

#[test]
fn bad_input_gets_a_message_naming_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("w.sqlite");
    let missing = dir.path().join("missing.json");
    let (code, _, err) = run(&[
        "sync",
        WELL_BEHAVED,
        "--secrets",
        missing.to_str().unwrap(),
        "--warehouse",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("missing.json` cannot be read: No such file"),
        "{err}"
    );
    assert!(!db.exists(), "nothing is created before the input is valid");

    let malformed = secrets_file(dir.path(), "{\"apiKey\": \"good\"");
    let (code, _, err) = run(&[
        "sync",
        WELL_BEHAVED,
        "--secrets",
        malformed.to_str().unwrap(),
        "--warehouse",
        db.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(
        err.contains("secrets.json` is not valid JSON: EOF while parsing"),
        "{err}"
    );

    let secrets = secrets_file(dir.path(), "{}");
    let (code, _, err) = run(&[
        "sync",
        "no-such-connector",
        "--secrets",
        secrets.to_str().unwrap(),
        "--warehouse",
        db.to_str().unwrap(),
        "--target-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("no function `no-such-connector`"), "{err}");
    assert!(err.contains("release/no-such-connector"), "{err}");
    assert!(
        !db.exists(),
        "nothing is created for a function that does not exist"
    );
}
