//! A deliberately misbehaving Lambda function for `fivetran-local`'s tests: it speaks the Runtime API over raw HTTP
//! and breaks one rule, chosen by the `MISBEHAVE` environment variable (see [`answer`]).
//!
//! Calls are numbered by the state it returns (`{"n": <call>}`), so a behaviour can be good for a few calls and then
//! go wrong. Output goes through `std::io::Write`, as the house lints ask. Started as `misbehaving-function serve …`
//! it stands in for `sandbox-apis serve` in the demo's tests.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

fn main() {
    // Stands in for `sandbox-apis serve …` in the demo's tests: print a base URL, then wait to be stopped.
    if std::env::args().nth(1).as_deref() == Some("serve") {
        let _ = writeln!(std::io::stdout(), "http://127.0.0.1:9/fake-sandbox");
        loop {
            std::thread::sleep(Duration::from_secs(60));
        }
    }
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").unwrap_or_default();
    let behaviour = std::env::var("MISBEHAVE").unwrap_or_default();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "misbehaving function starting: {behaviour}");
    match behaviour.as_str() {
        "init-error" => {
            post(
                &api,
                "/2018-06-01/runtime/init/error",
                br#"{"errorMessage":"missing configuration FOO","errorType":"Runtime.ConfigError"}"#,
                &[("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigError")],
            );
            std::process::exit(1);
        }
        "exit-at-start" => {
            let _ = out.write_all(b"\x00\xffgarbage \x1b[31mnot a log line\n");
            let _ = out.flush();
            std::process::exit(3);
        }
        _ => {}
    }
    loop {
        let (headers, body) = request(&api, "GET", "/2018-06-01/runtime/invocation/next", b"", &[]);
        let id = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("lambda-runtime-aws-request-id"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let call = event["state"]["n"].as_u64().unwrap_or(0) + 1;
        let _ = writeln!(out, "call {call} (request {id})");
        match answer(&behaviour, call, &event) {
            Answer::Body(bytes) => {
                post(
                    &api,
                    &format!("/2018-06-01/runtime/invocation/{id}/response"),
                    &bytes,
                    &[],
                );
            }
            Answer::Error(message) => {
                let body =
                    json!({"errorMessage": message, "errorType": "SourceUnavailable"}).to_string();
                post(
                    &api,
                    &format!("/2018-06-01/runtime/invocation/{id}/error"),
                    body.as_bytes(),
                    &[("Lambda-Runtime-Function-Error-Type", "SourceUnavailable")],
                );
            }
            Answer::Exit(code) => std::process::exit(code),
            Answer::BodyThenExit(bytes) => {
                post(
                    &api,
                    &format!("/2018-06-01/runtime/invocation/{id}/response"),
                    &bytes,
                    &[],
                );
                std::process::exit(0);
            }
            Answer::Hang => loop {
                std::thread::sleep(Duration::from_secs(60));
            },
        }
    }
}

enum Answer {
    Body(Vec<u8>),
    BodyThenExit(Vec<u8>),
    Error(String),
    Exit(i32),
    Hang,
}

/// A good response for call `call` of table `t` (primary key `id`).
fn good(call: u64, has_more: bool) -> Value {
    json!({
        "state": {"n": call},
        "insert": {"t": [{"id": call, "v": format!("row {call}")}]},
        "delete": {},
        "schema": {"t": {"primary_key": ["id"]}},
        "hasMore": has_more
    })
}

fn body(value: Value) -> Answer {
    Answer::Body(value.to_string().into_bytes())
}

/// What to answer to call `call`.
fn answer(behaviour: &str, call: u64, event: &Value) -> Answer {
    let state = event.get("state").cloned().unwrap_or(json!({}));
    let mut response = good(call, false);
    match behaviour {
        "good" => {}
        "garbage-body" => return Answer::Body(b"this is not JSON {".to_vec()),
        "not-object" => return body(json!([1, 2, 3])),
        "oversize" => {
            let big = "x".repeat(1_000_000);
            let rows: Vec<Value> = (0..7).map(|i| json!({"id": i, "v": big})).collect();
            response["insert"]["t"] = Value::Array(rows);
        }
        "no-state" => {
            response.as_object_mut().map(|o| o.remove("state"));
        }
        "state-array" => response["state"] = json!([1]),
        "has-more-string" => response["hasMore"] = json!("true"),
        "no-has-more" => {
            response.as_object_mut().map(|o| o.remove("hasMore"));
        }
        "no-schema" => response["schema"] = json!({}),
        "schema-shape" => response["schema"] = json!({"t": {"pk": ["id"]}}),
        "rows-shape" => response["insert"]["t"] = json!([1, 2]),
        "missing-pk" => response["insert"]["t"] = json!([{"id": 1}, {"v": "no id"}]),
        "null-pk" => response["insert"]["t"] = json!([{"id": null, "v": "null id"}]),
        "soft-delete-unknown" => response["softDelete"] = json!(["nowhere"]),
        "soft-delete-shape" => response["softDelete"] = json!("t"),
        "delete-without-key" => {
            response["schema"]["log"] = json!({"primary_key": []});
            response["delete"]["log"] = json!([{"id": 1}]);
        }
        "empty-has-more" => {
            return body(
                json!({"state": state, "insert": {}, "delete": {}, "schema": {}, "hasMore": true}),
            );
        }
        "empty-forever" => {
            return body(
                json!({"state": {"n": call}, "insert": {}, "delete": {}, "schema": {}, "hasMore": true}),
            );
        }
        "more-forever" => response = good(call, true),
        "two-tables" => {
            response["insert"]["a_new"] = json!([{"k": 1}]);
            response["schema"]["a_new"] = json!({"primary_key": ["k"]});
        }
        "unknown-key" => response["has_more"] = json!(false),
        "error" => return Answer::Error("upstream said 503 on /v1/items".to_owned()),
        "error-body" => {
            return body(
                json!({"errorMessage": "bad credentials for /v1/items", "errorType": "AuthError"}),
            );
        }
        "crash" => return Answer::Exit(7),
        "exit-after-each" => {
            return Answer::BodyThenExit(good(call, call < 3).to_string().into_bytes());
        }
        "hang" => return Answer::Hang,
        // Call 1 is good; call 2 breaks in the named way.
        // The first process hangs (it leaves a marker file); the next one answers.
        "hang-first" => {
            let marker = std::env::var("MISBEHAVE_MARKER").unwrap_or_default();
            if std::fs::metadata(&marker).is_err() {
                let _ = std::fs::write(&marker, b"hung once");
                return Answer::Hang;
            }
        }
        // Call 1 is good; call 2 breaks in the named way.
        "crash-second" | "bad-second" | "pk-change-second" if call == 1 => {
            response = good(call, true)
        }
        "crash-second" => return Answer::Exit(9),
        "bad-second" => response["insert"]["t"] = json!([{"v": "no id"}]),
        "pk-change-second" => {
            // `a_new` sorts before `t`, so it is written before `t`'s key change is refused.
            response["insert"]["a_new"] = json!([{"k": 1}]);
            response["schema"]["a_new"] = json!({"primary_key": ["k"]});
            response["schema"]["t"] = json!({"primary_key": ["v"]});
        }
        other => return Answer::Error(format!("unknown MISBEHAVE `{other}`")),
    }
    body(response)
}

fn post(api: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) {
    request(api, "POST", path, body, headers);
}

/// One HTTP/1.1 request with `Connection: close`; returns the response headers and body.
fn request(
    api: &str,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (Vec<(String, String)>, Vec<u8>) {
    let Ok(mut stream) = TcpStream::connect(api) else {
        std::process::exit(70);
    };
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    if stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body))
        .is_err()
    {
        std::process::exit(71);
    }
    let mut raw = Vec::new();
    if stream.read_to_end(&mut raw).is_err() {
        std::process::exit(72);
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let body = raw.get(split + 4..).unwrap_or_default().to_vec();
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    (headers, body)
}
