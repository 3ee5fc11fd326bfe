//! The setup test: one `setup_test: true` request, and a check that the answer is what the protocol asks — no rows,
//! `hasMore: false`, the request's state sent back — or an error that says what is wrong with the secrets.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::check::{self, Rule, Verdict, Violation};
use crate::host::{FunctionHost, Outcome};
use crate::request::RequestTemplate;

/// The result of a setup test.
#[derive(Debug, Clone, Serialize)]
pub struct SetupTestReport {
    /// Whether the function accepted the secrets and answered as the protocol says.
    pub ok: bool,
    /// What happened.
    pub message: String,
    /// Rules the answer broke.
    pub violations: Vec<Violation>,
}

/// Sends one `setup_test: true` request and checks the answer: no rows, `hasMore: false`, the state sent back.
pub async fn run(
    host: &mut FunctionHost,
    request: &RequestTemplate,
    state: &Map<String, Value>,
) -> SetupTestReport {
    let mut request = request.clone();
    request.setup_test = true;
    let invocation = host.invoke(&request.build(state, None)).await;
    let body = match invocation.outcome {
        Outcome::Response(body) => body,
        other => {
            return SetupTestReport {
                ok: false,
                message: format!("setup test failed: {other}"),
                violations: Vec::new(),
            };
        }
    };
    let mut known = check::KnownTables::new();
    match check::check_response(1, &body, state, &mut known) {
        Verdict::Ok(checked) => {
            let mut violations = Vec::new();
            let mut add = |detail: &str| {
                violations.push(Violation {
                    call: 1,
                    table: None,
                    rule: Rule::SetupTest,
                    detail: detail.to_owned(),
                });
            };
            if checked.rows > 0 {
                add("a setup test must return no rows");
            }
            if checked.has_more {
                add("a setup test must return `hasMore: false`");
            }
            if &checked.state != state {
                add("a setup test must return the request's state unchanged");
            }
            SetupTestReport {
                ok: violations.is_empty(),
                message: if violations.is_empty() {
                    format!(
                        "setup test passed in {} ms",
                        invocation.duration.as_millis()
                    )
                } else {
                    "setup test answered, but not as the protocol says".to_owned()
                },
                violations,
            }
        }
        Verdict::ErrorBody {
            error_type,
            message,
        } => SetupTestReport {
            ok: false,
            message: format!(
                "setup test failed: {}{message}",
                error_type.map(|t| format!("{t}: ")).unwrap_or_default()
            ),
            violations: Vec::new(),
        },
        Verdict::Violations(violations) => SetupTestReport {
            ok: false,
            message: "setup test answer broke the protocol".to_owned(),
            violations,
        },
    }
}
