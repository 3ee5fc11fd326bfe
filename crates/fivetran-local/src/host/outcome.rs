//! What one invocation came to — a response, an error, an init error, a crash, a timeout — and how each reads.

use std::fmt;
use std::time::Duration;

use crate::runtime_api::FunctionError;

/// What one invocation came to.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A response body (not yet checked).
    Response(Vec<u8>),
    /// An error through the Runtime API's error channel.
    FunctionError(FunctionError),
    /// The function reported a failed initialisation and stopped.
    InitError(FunctionError),
    /// The process exited (or was killed by a signal) without answering.
    Crashed {
        /// The exit status, e.g. `exit status: 3`.
        status: String,
        /// The process exited before ever asking for an invocation.
        during_init: bool,
        /// Its last log lines.
        log_tail: Vec<String>,
    },
    /// The deadline passed without an answer; the process was killed.
    TimedOut {
        /// The configured timeout.
        timeout: Duration,
        /// Its last log lines.
        log_tail: Vec<String>,
    },
    /// A fresh process could not be started.
    StartFailed(String),
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Response(body) => write!(f, "a response of {} bytes", body.len()),
            Outcome::FunctionError(e) => {
                write!(
                    f,
                    "the function returned an error: {}: {}",
                    e.error_type, e.message
                )
            }
            Outcome::InitError(e) => write!(
                f,
                "the function failed to initialise (init error): {}: {}",
                e.error_type, e.message
            ),
            Outcome::Crashed {
                status,
                during_init,
                log_tail,
            } => {
                if *during_init {
                    write!(
                        f,
                        "the function process exited ({status}) during initialisation, before asking for an invocation"
                    )?;
                } else {
                    write!(
                        f,
                        "the function process exited ({status}) during the invocation, without answering"
                    )?;
                }
                write_tail(f, log_tail)
            }
            Outcome::TimedOut { timeout, log_tail } => {
                write!(
                    f,
                    "the function timed out: no answer within its timeout of {:.1} s; the process was killed",
                    timeout.as_secs_f64()
                )?;
                write_tail(f, log_tail)
            }
            Outcome::StartFailed(reason) => {
                write!(f, "the function process could not be restarted: {reason}")
            }
        }
    }
}

fn write_tail(f: &mut fmt::Formatter<'_>, tail: &[String]) -> fmt::Result {
    if !tail.is_empty() {
        write!(f, "\n  last log lines:")?;
        for line in tail {
            write!(f, "\n    {line}")?;
        }
    }
    Ok(())
}
