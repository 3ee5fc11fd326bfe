//! Golden fixtures: every request and response in `tests/fixtures/` round-trips through the protocol types
//! unchanged, and every malformed input is refused with the error that names what is wrong.

use std::path::{Path, PathBuf};

use fivetran_core::protocol::{Request, Response};
use serde_json::{Value, json};

fn fixture_dir(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind)
}

/// Every `*.json` file of a fixture folder, with its name and text.
fn fixtures(kind: &str) -> Vec<(String, String)> {
    let mut files: Vec<_> = std::fs::read_dir(fixture_dir(kind))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {kind}");
    files
        .into_iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn requests_round_trip() {
    for (name, text) in fixtures("requests") {
        let request =
            Request::from_slice(text.as_bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut expected: Value = serde_json::from_str(&text).unwrap();
        // `null` state and ids read as absent: `{}` and no sync id.
        if name == "null_state.json" {
            expected = json!({"state": {}, "secrets": {"apiKey": "k"}});
        }
        assert_eq!(request.to_value(), expected, "{name}");
        let again = Request::from_value(request.to_value()).unwrap();
        assert_eq!(again, request, "{name}: second decode differs");
    }
}

#[test]
fn request_fields_decode_as_documented() {
    let text = std::fs::read(fixture_dir("requests").join("cloud_storage.json")).unwrap();
    let request = Request::from_slice(&text).unwrap();
    assert_eq!(
        request.cloud_storage(),
        Some((
            "fivetran-lambda-sync",
            "group_id/loan_applications/2026-11-21/0003.json"
        ))
    );
    assert_eq!(request.sync_id.as_deref(), Some("not-a-uuid:7"));

    let text = std::fs::read(fixture_dir("requests").join("setup_test.json")).unwrap();
    assert!(Request::from_slice(&text).unwrap().setup_test);

    let text = std::fs::read(fixture_dir("requests").join("unknown_keys.json")).unwrap();
    let request = Request::from_slice(&text).unwrap();
    assert_eq!(request.extra["customPayload"]["tenant"], "acme");
    assert_eq!(request.extra["future_field"], true);

    let text = std::fs::read(fixture_dir("requests").join("legacy_nested_secrets.json")).unwrap();
    let request = Request::from_slice(&text).unwrap();
    assert_eq!(
        request.secrets.required("apiKey").unwrap().expose(),
        "sk_legacy"
    );
    assert_eq!(
        request
            .secrets
            .parsed::<u32>("pageSize", "a number")
            .unwrap(),
        Some(250)
    );
    assert_eq!(
        request.secrets.json("config").unwrap().expose()["region"],
        "eu"
    );
    assert!(
        !format!("{request:?}").contains("sk_legacy"),
        "secrets leak through Debug"
    );
}

#[test]
fn huge_integers_in_state_round_trip_exactly() {
    let text = std::fs::read_to_string(fixture_dir("requests").join("huge_integers.json")).unwrap();
    let request = Request::from_slice(text.as_bytes()).unwrap();
    let out = serde_json::to_string(&request.to_value()).unwrap();
    for literal in [
        "18446744073709551615",
        "-9223372036854775808",
        "9007199254740993",
        "9223372036854775807",
    ] {
        assert!(out.contains(literal), "{literal} lost in {out}");
    }
    assert_eq!(
        request.state["above_2_53"].as_u64(),
        Some(9_007_199_254_740_993)
    );
}

#[test]
fn responses_round_trip() {
    for (name, text) in fixtures("responses") {
        let response: Response =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::to_value(&response).unwrap(), expected, "{name}");
        let body = response.to_body().unwrap();
        let reparsed: Response = serde_json::from_str(body.get()).unwrap();
        assert_eq!(reparsed, response, "{name}: second decode differs");
        assert!(body.get().contains("\"hasMore\":"), "{name}");
    }
    let text =
        std::fs::read_to_string(fixture_dir("responses").join("huge_integers.json")).unwrap();
    let response: Response = serde_json::from_str(&text).unwrap();
    let body = response.to_body().unwrap();
    assert!(body.get().contains("18446744073709551615") && body.get().contains("9007199254740993"));
}

#[test]
fn malformed_inputs_are_refused_with_the_field_named() {
    let cases: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture_dir("malformed").join("cases.json")).unwrap(),
    )
    .unwrap();
    for case in cases["request"].as_array().unwrap() {
        let error = Request::from_value(case["input"].clone()).unwrap_err();
        assert_eq!(error.error_type(), "InvalidRequest", "{}", case["name"]);
        let expected = case["error"].as_str().unwrap();
        assert!(
            error.to_string().contains(expected),
            "{}: {error}",
            case["name"]
        );
    }
    for case in cases["response"].as_array().unwrap() {
        let error = serde_json::from_value::<Response>(case["input"].clone()).unwrap_err();
        let expected = case["error"].as_str().unwrap();
        assert!(
            error.to_string().contains(expected),
            "{}: {error}",
            case["name"]
        );
    }
    // Not JSON at all.
    let error = Request::from_slice(b"{\"state\": {").unwrap_err();
    assert!(
        error
            .to_string()
            .contains("field `(body)` is not valid JSON"),
        "{error}"
    );
}
