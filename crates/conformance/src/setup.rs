//! Spec 5.1 and 5.2: the setup test passes with good credentials; with bad ones, the setup test and a sync call fail
//! with a message saying the credentials were rejected.

use fivetran_local::request::RequestTemplate;
use fivetran_local::sync::{self, Stop};
use serde_json::{Map, Value};

use crate::Subject;
use crate::harness::{Session, Setup, options};

/// The words every bad-credentials error must contain.
pub const REJECTED: &str = "credentials were rejected";

/// The secrets with every credential replaced by a distinctive wrong value.
pub fn wrong_credentials(subject: &Subject, secrets: &Map<String, Value>) -> Map<String, Value> {
    assert!(
        !subject.credentials.is_empty(),
        "the subject names no credential secrets (Subject::credentials)"
    );
    let mut wrong = secrets.clone();
    for name in &subject.credentials {
        wrong.insert(name.clone(), Value::String(wrong_value(name)));
    }
    wrong
}

/// The distinctive wrong value of credential `name`.
pub fn wrong_value(name: &str) -> String {
    format!("conformance-wrong-{name}-5f1d0c")
}

/// Setup test with good credentials, then with wrong ones (setup test and sync call).
pub async fn setup_test(subject: &Subject) {
    let mut session = Session::start(subject, Setup::default()).await;
    let good = RequestTemplate {
        secrets: session.secrets.clone(),
        ..RequestTemplate::default()
    };
    let report = fivetran_local::setup_test::run(&mut session.host, &good, &Map::new()).await;
    assert!(
        report.ok,
        "{}: the setup test failed with good credentials: {} {:?}",
        session.name(),
        report.message,
        report.violations
    );
    let requests = session.sandbox.request_count();
    assert!(
        (1..=3).contains(&requests),
        "{}: a setup test must make one cheap request, it made {requests}",
        session.name()
    );

    let wrong = wrong_credentials(subject, &session.secrets);
    let bad = RequestTemplate {
        secrets: wrong.clone(),
        ..RequestTemplate::default()
    };
    let report = fivetran_local::setup_test::run(&mut session.host, &bad, &Map::new()).await;
    assert!(
        !report.ok,
        "{}: the setup test passed with wrong credentials",
        session.name()
    );
    assert!(
        report.message.contains(REJECTED),
        "{}: a setup test with wrong credentials must say the {REJECTED}: {}",
        session.name(),
        report.message
    );

    let report = sync::run(
        &mut session.host,
        None,
        Map::new(),
        &options(&wrong, "bad-credentials", 1),
        &mut |_| {},
    )
    .await
    .expect("the call ran");
    match &report.stop {
        Stop::Failed { message, .. } => assert!(
            message.contains(REJECTED),
            "{}: a sync with wrong credentials must say the {REJECTED}: {message}",
            session.name()
        ),
        other => panic!(
            "{}: a sync with wrong credentials must fail, got {other:?}",
            session.name()
        ),
    }
}
