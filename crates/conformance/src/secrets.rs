//! Spec 5.3: no secret value in any log line, error message, response or saved state — through a many-call sync
//! with faults at debug log level, a setup test, and calls with wrong credentials.

use std::collections::BTreeSet;

use fivetran_local::check::{self, Verdict};
use fivetran_local::host::Outcome;
use fivetran_local::request::RequestTemplate;
use serde_json::{Map, Value};

use crate::Subject;
use crate::harness::{Session, Setup, faults, options};
use crate::setup::{wrong_credentials, wrong_value};

/// The most calls of the sync.
const MAX_CALLS: u64 = 400;

/// Names that hold secrets whatever the subject says.
const SECRET_WORDS: [&str; 5] = ["key", "secret", "token", "password", "certificate"];

/// Runs a sync (small pages, faults), a setup test and wrong-credential calls with `RUST_LOG=debug`, and searches
/// every response body, state, error and log line for the secret values.
pub async fn secrets_never_leak(subject: &Subject) {
    let setup = Setup {
        small: true,
        env: vec![("RUST_LOG".to_owned(), "debug".to_owned())],
        ..Setup::default()
    };
    let mut session = Session::start(subject, setup).await;
    let wrong = wrong_credentials(subject, &session.secrets);
    let mut values: BTreeSet<String> = subject.credentials.iter().map(|n| wrong_value(n)).collect();
    for (name, value) in &session.secrets {
        let lower = name.to_ascii_lowercase();
        let secret =
            subject.credentials.contains(name) || SECRET_WORDS.iter().any(|w| lower.contains(w));
        if let (true, Some(text)) = (secret, value.as_str()) {
            // A PEM's header line is public; its body is what matters.
            let text = text.lines().nth(1).unwrap_or(text);
            if text.len() >= 6 {
                values.insert(text.to_owned());
            }
        }
    }
    let specs = ["503@at=3", "429:1@at=5", "reset@at=7"].map(str::to_owned);
    session.sandbox.set_faults(faults(0, &specs));

    let good = options(&session.secrets, "leak-check", 1).request;
    let mut texts = Vec::new();
    let mut state = Map::new();
    let mut known = check::KnownTables::new();
    for call in 1..=MAX_CALLS {
        let invocation = session.host.invoke(&good.build(&state, None)).await;
        let Outcome::Response(body) = invocation.outcome else {
            panic!(
                "{}: call {call} failed: {}",
                session.name(),
                invocation.outcome
            );
        };
        texts.push((
            format!("response {call}"),
            String::from_utf8_lossy(&body).into_owned(),
        ));
        match check::check_response(call, &body, &state, &mut known) {
            Verdict::Ok(checked) => {
                state = checked.state;
                texts.push((
                    format!("state {call}"),
                    Value::Object(state.clone()).to_string(),
                ));
                if !checked.has_more {
                    break;
                }
            }
            other => panic!("{}: call {call}: {other:?}", session.name()),
        }
    }

    // Errors: a revoked key mid-sync (the stand-in's 401), and wrong credentials in a setup test and a sync call.
    session.sandbox.set_faults(faults(
        session.sandbox.request_count(),
        &["401@at=1".to_owned()],
    ));
    let outcome = session
        .host
        .invoke(&good.build(&Map::new(), None))
        .await
        .outcome;
    texts.push(("error after a 401".to_owned(), outcome.to_string()));
    session.sandbox.set_faults(sandbox_apis::Faults::default());
    let bad = RequestTemplate {
        secrets: wrong,
        ..good.clone()
    };
    let report = fivetran_local::setup_test::run(&mut session.host, &bad, &Map::new()).await;
    texts.push((
        "setup test with wrong credentials".to_owned(),
        report.message,
    ));
    let outcome = session.host.invoke(&bad.build(&state, None)).await.outcome;
    texts.push((
        "sync call with wrong credentials".to_owned(),
        outcome.to_string(),
    ));
    let report = fivetran_local::setup_test::run(&mut session.host, &good, &Map::new()).await;
    texts.push(("setup test".to_owned(), report.message));
    session.host.stop().await;
    texts.push(("the function's logs".to_owned(), session.logs()));
    assert!(
        session.logs().lines().count() > 10,
        "{}: expected debug logs from the function",
        session.name()
    );

    for (what, text) in &texts {
        for value in &values {
            if let Some(at) = text.find(value.as_str()) {
                let line = text[..at].rsplit('\n').next().unwrap_or_default();
                panic!(
                    "{}: a secret value appears in {what}: …{line}<SECRET>…",
                    session.name()
                );
            }
        }
    }
}
