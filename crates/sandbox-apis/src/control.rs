//! Control endpoints under `/_sandbox/` for a stand-in run as a process: read the ground truth and statistics, replace
//! the faults, apply a change step. They bypass authentication, faults, counting and the request log.

use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use crate::Changing;
use crate::faults::Faults;
use crate::server::{Reply, Shared};

/// Paths starting with this are control endpoints.
pub const PREFIX: &str = "/_sandbox/";

/// Answers a control request.
pub fn handle(shared: &Shared, method: &str, path: &str, body: &[u8]) -> Reply {
    match (method, path.trim_start_matches(PREFIX)) {
        ("GET", "ground-truth") => {
            Reply::json(200, shared.backend.ground_truth().to_json().to_string())
        }
        ("GET", "stats") => Reply::json(
            200,
            json!({
                "requests": shared.counter.load(Ordering::SeqCst),
                "max_in_flight": shared.max_in_flight.load(Ordering::SeqCst),
            })
            .to_string(),
        ),
        ("PUT", "faults") => match parse_faults(shared, body) {
            Ok(faults) => {
                *shared.faults.write().expect("faults lock") = faults;
                Reply::json(200, json!({"ok": true}).to_string())
            }
            Err(why) => Reply::json(400, json!({ "error": why }).to_string()),
        },
        ("POST", "change") => {
            let changing = shared
                .changing
                .read()
                .expect("changing lock")
                .unwrap_or_default();
            shared.backend.change(&changing);
            Reply::json(200, json!({"ok": true}).to_string())
        }
        ("PUT", "changing") => {
            let spec = String::from_utf8_lossy(body);
            let spec = spec.trim();
            let parsed = if spec.is_empty() || spec == "off" {
                Ok(None)
            } else {
                Changing::parse(spec).map(Some)
            };
            match parsed {
                Ok(changing) => {
                    *shared.changing.write().expect("changing lock") = changing;
                    Reply::json(200, json!({"ok": true}).to_string())
                }
                Err(why) => Reply::json(400, json!({ "error": why }).to_string()),
            }
        }
        _ => Reply::json(
            404,
            json!({"error": "unknown control endpoint"}).to_string(),
        ),
    }
}

/// A JSON array of `--fault` specs; the current seed is kept.
fn parse_faults(shared: &Shared, body: &[u8]) -> Result<Faults, String> {
    let specs: Vec<Value> = serde_json::from_slice(body)
        .map_err(|e| format!("expected a JSON array of strings: {e}"))?;
    let seed = shared.faults.read().expect("faults lock").seed;
    let mut faults = Faults {
        seed,
        ..Faults::default()
    };
    for spec in specs {
        let spec = spec.as_str().ok_or("expected a JSON array of strings")?;
        faults.add_spec(spec)?;
    }
    Ok(faults)
}
