//! OAuth 1.0a signatures made by `fivetran-core` (through `oauth1-request`) and checked by Python's `oauthlib`, an
//! implementation that shares no code with the signer: both signature methods, with and without token, realm,
//! header and query placement, retries, and a re-signed `Link` URL. The script is `tests/oauth1_verify.py`; it
//! needs `python3` and `pip install oauthlib`, and these tests fail (never skip) when either is missing.

use std::io::Write as _;
use std::process::{Command, Stdio};

use fivetran_core::Secret;
use fivetran_core::auth::{Auth, OAuth1, OAuth1Placement, OAuth1SignatureMethod};
use reqwest::Method;
use serde_json::{Value, json};
use url::Url;

const CONSUMER_KEY: &str = "ck_4f2a9c0e1b7d3a5f8e6c2b1a0d9e8f7a6b5c4d3e";
const CONSUMER_SECRET: &str = "cs_0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b";
const TOKEN: &str = "tok_2f7c1e9b8a6d";
const TOKEN_SECRET: &str = "tsec_&odd+secret/=";

fn secret(s: &str) -> Secret<String> {
    Secret::new(s.to_owned())
}

/// Runs the oauthlib verifier over `cases` and returns one result per case.
fn verify(cases: &[Value]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oauth1_verify.py");
    let mut child = match Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run python3 ({e}): the OAuth 1.0a tests verify signatures with Python's oauthlib; \
             install python3 and `pip install oauthlib`"
        ),
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(cases).unwrap().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.code() != Some(3),
        "oauthlib is missing: `pip install oauthlib` (the OAuth 1.0a tests need it). {stderr}"
    );
    assert!(
        output.status.success(),
        "the oauthlib verifier failed: {stderr}"
    );
    let results: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(results.len(), cases.len());
    results
}

/// Authorizes a request as the engine does and builds it with reqwest, so the case holds the exact URL and headers
/// that would go on the wire.
async fn signed_case(
    name: &str,
    auth: &Auth,
    method: Method,
    url: &str,
    with_token: bool,
) -> Value {
    let http = reqwest::Client::new();
    let url = Url::parse(url).unwrap();
    let authorized = auth.authorize(&http, &method, &url).await.unwrap();
    let query: Vec<(&str, &str)> = authorized
        .query
        .iter()
        .map(|(k, v)| (k.as_str(), v.expose().as_str()))
        .collect();
    let mut builder = http.request(method.clone(), url).query(&query);
    for (name, value) in &authorized.headers {
        builder = builder.header(name.as_str(), value.expose().as_str());
    }
    if method == Method::POST {
        builder = builder
            .header("content-type", "application/json")
            .body(r#"{"q": "SELECT id FROM customer"}"#);
    }
    let request = builder.build().unwrap();
    let mut headers = serde_json::Map::new();
    for (name, value) in request.headers() {
        let name = if name == "authorization" {
            "Authorization".to_owned()
        } else {
            name.to_string()
        };
        headers.insert(name, value.to_str().unwrap().into());
    }
    let mut case = json!({
        "name": name,
        "method": method.as_str(),
        "uri": request.url().as_str(),
        "headers": headers,
        "consumer_key": CONSUMER_KEY,
        "consumer_secret": CONSUMER_SECRET,
    });
    if with_token {
        case["token"] = TOKEN.into();
        case["token_secret"] = TOKEN_SECRET.into();
    }
    case
}

fn one_legged(method: OAuth1SignatureMethod, placement: OAuth1Placement) -> Auth {
    Auth::OAuth1(
        OAuth1::new(secret(CONSUMER_KEY), secret(CONSUMER_SECRET))
            .signature_method(method)
            .placement(placement),
    )
}

fn with_token(
    method: OAuth1SignatureMethod,
    placement: OAuth1Placement,
    realm: Option<&str>,
) -> Auth {
    let mut oauth = OAuth1::new(secret(CONSUMER_KEY), secret(CONSUMER_SECRET))
        .token(secret(TOKEN), secret(TOKEN_SECRET))
        .signature_method(method)
        .placement(placement);
    if let Some(realm) = realm {
        oauth = oauth.realm(realm);
    }
    Auth::OAuth1(oauth)
}

/// Query parameters that stress the encoding: spaces, `+`, `/`, `:`, brackets, non-ASCII, empty values and a
/// repeated name.
const TRICKY: &str = "http://127.0.0.1:8089/wp-json/wc/v3/orders?per_page=100&modified_after=2026-01-15T10%3A00%3A00&search=caf%C3%A9+%26+bar%2Fbaz&status%5B%5D=processing&status%5B%5D=completed&empty=&orderby=id";

#[tokio::test]
async fn oauthlib_accepts_every_combination_of_method_token_realm_and_placement() {
    use OAuth1Placement::{Header, Query};
    use OAuth1SignatureMethod::{HmacSha1, HmacSha256};
    let mut cases = Vec::new();
    for method in [HmacSha1, HmacSha256] {
        for placement in [Header, Query] {
            let name = format!("one-legged {} {placement:?}", method.name());
            cases.push(
                signed_case(
                    &name,
                    &one_legged(method, placement),
                    Method::GET,
                    TRICKY,
                    false,
                )
                .await,
            );
            for realm in [None, Some("1234567_SB1")] {
                let name = format!("token {} {placement:?} realm {realm:?}", method.name());
                let auth = with_token(method, placement, realm);
                cases.push(signed_case(&name, &auth, Method::GET, TRICKY, true).await);
            }
        }
    }
    // NetSuite's shape: a POST with a JSON body (not signed) and limit/offset in the query.
    let netsuite = with_token(HmacSha256, Header, Some("1234567_SB1"));
    let url = "http://127.0.0.1:8089/services/rest/query/v1/suiteql?limit=1000&offset=2000";
    cases.push(signed_case("netsuite suiteql post", &netsuite, Method::POST, url, true).await);

    let results = verify(&cases);
    for (case, result) in cases.iter().zip(&results) {
        assert_eq!(
            result["valid"], true,
            "{}: {}",
            case["name"], result["reason"]
        );
        let header = case["name"].as_str().unwrap().contains("Header")
            || case["name"] == "netsuite suiteql post";
        assert_eq!(
            result["placement"],
            if header { "header" } else { "query" },
            "{}",
            case["name"]
        );
    }
    let netsuite = results.last().unwrap();
    assert_eq!(netsuite["realm"], "1234567_SB1");
    assert_eq!(netsuite["signature_method"], "HMAC-SHA256");
    let query_with_realm = &results[5];
    assert_eq!(query_with_realm["placement"], "query");
    assert_eq!(
        query_with_realm["realm"],
        Value::Null,
        "realm is never sent in the query"
    );
}

#[tokio::test]
async fn every_retry_is_a_new_signature_that_a_nonce_checking_server_accepts() {
    let auth = one_legged(OAuth1SignatureMethod::HmacSha1, OAuth1Placement::Query);
    let url = "http://127.0.0.1:8089/wp-json/wc/v3/orders?page=1";
    let first = signed_case("attempt 1", &auth, Method::GET, url, false).await;
    let second = signed_case("attempt 2", &auth, Method::GET, url, false).await;
    // The verifier remembers nonces across the cases of one run: sending `first` twice must fail the second time.
    let replay = first.clone();
    let results = verify(&[first, second, replay]);
    assert_eq!(results[0]["valid"], true, "{}", results[0]["reason"]);
    assert_eq!(results[1]["valid"], true, "{}", results[1]["reason"]);
    assert_eq!(
        results[2]["valid"], false,
        "a replayed nonce must be refused"
    );
}

#[tokio::test]
async fn a_link_url_echoing_oauth_parameters_is_stripped_and_signed_afresh() {
    let auth = one_legged(OAuth1SignatureMethod::HmacSha256, OAuth1Placement::Query);
    // The first page, exactly as sent; WooCommerce echoes all of its parameters in `Link: <...>; rel="next"`.
    let first = signed_case("page 1", &auth, Method::GET, TRICKY, false).await;
    let sent = Url::parse(first["uri"].as_str().unwrap()).unwrap();
    let mut echoed = sent.clone();
    echoed.query_pairs_mut().append_pair("page", "2");
    assert!(echoed.as_str().contains(CONSUMER_KEY));

    let next = auth.strip_credentials(&echoed);
    assert!(
        !next.as_str().contains(CONSUMER_KEY),
        "the stored URL holds no credential: {next}"
    );
    assert!(next.query_pairs().all(|(k, _)| !k.starts_with("oauth_")));
    assert!(next.query_pairs().any(|(k, v)| k == "page" && v == "2"));

    let second = signed_case("page 2", &auth, Method::GET, next.as_str(), false).await;
    let signed_again = Url::parse(second["uri"].as_str().unwrap()).unwrap();
    let signatures = signed_again
        .query_pairs()
        .filter(|(k, _)| k == "oauth_signature")
        .count();
    assert_eq!(
        signatures, 1,
        "one set of protocol parameters: {signed_again}"
    );
    // The echoed URL as it is (old nonce, parameters twice) is refused; the re-signed one is accepted.
    let mut as_echoed = second.clone();
    as_echoed["name"] = "echoed as is".into();
    as_echoed["uri"] = echoed.as_str().into();
    let results = verify(&[first, second, as_echoed]);
    assert_eq!(results[0]["valid"], true, "{}", results[0]["reason"]);
    assert_eq!(results[1]["valid"], true, "{}", results[1]["reason"]);
    assert_eq!(results[2]["valid"], false);
}

#[tokio::test]
async fn tampered_requests_and_wrong_secrets_are_refused() {
    let auth = with_token(
        OAuth1SignatureMethod::HmacSha256,
        OAuth1Placement::Header,
        Some("R"),
    );
    let good = signed_case("good", &auth, Method::GET, TRICKY, true).await;
    let mut tampered = good.clone();
    tampered["name"] = "tampered".into();
    tampered["uri"] = good["uri"]
        .as_str()
        .unwrap()
        .replace("per_page=100", "per_page=99")
        .into();
    let wrong = OAuth1::new(secret(CONSUMER_KEY), secret("not-the-secret"))
        .token(secret(TOKEN), secret(TOKEN_SECRET))
        .signature_method(OAuth1SignatureMethod::HmacSha256);
    let wrong = signed_case(
        "wrong secret",
        &Auth::OAuth1(wrong),
        Method::GET,
        TRICKY,
        true,
    )
    .await;
    let results = verify(&[good, tampered, wrong]);
    assert_eq!(results[0]["valid"], true, "{}", results[0]["reason"]);
    assert_eq!(results[1]["valid"], false);
    assert_eq!(results[2]["valid"], false);
}

#[tokio::test]
async fn the_rfc_examples_verify_in_oauthlib_too() {
    let photos = || {
        OAuth1::new(secret("dpf43f3p2l4k3l03"), secret("kd94hf93k423kf44"))
            .token(secret("nnch734d00sl2jdk"), secret("pfkkdhi9sl3r4s00"))
    };
    let url = "http://photos.example.net/photos?file=vacation.jpg&size=original";
    let credentials = json!({
        "consumer_key": "dpf43f3p2l4k3l03", "consumer_secret": "kd94hf93k423kf44",
        "token": "nnch734d00sl2jdk", "token_secret": "pfkkdhi9sl3r4s00",
    });
    let mut cases = Vec::new();
    // OAuth 1.0 Appendix A.5: the full server check with the verifier's clock set to the example's time.
    let auth = Auth::OAuth1(photos().fixed_nonce_and_timestamp("kllo9940pd9333jh", 1191242096));
    let mut case = signed_case("appendix A", &auth, Method::GET, url, false).await;
    assert!(
        case["headers"]["Authorization"]
            .as_str()
            .unwrap()
            .contains("tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D")
    );
    case.as_object_mut()
        .unwrap()
        .extend(credentials.as_object().unwrap().clone());
    case["now"] = 1191242100.into();
    cases.push(case);
    // RFC 5849 §1.2, with realm; its 9-digit timestamp fails oauthlib's format check, so only the signature is
    // recomputed (oauthlib's signature module, realm excluded).
    let auth = Auth::OAuth1(
        photos()
            .send_version(false)
            .realm("Photos")
            .fixed_nonce_and_timestamp("chapoH", 137131202),
    );
    let mut case = signed_case("rfc 5849 1.2", &auth, Method::GET, url, false).await;
    case.as_object_mut()
        .unwrap()
        .extend(credentials.as_object().unwrap().clone());
    case["low_level"] = true.into();
    cases.push(case);
    let results = verify(&cases);
    for result in &results {
        assert_eq!(
            result["valid"], true,
            "{}: {}",
            result["name"], result["reason"]
        );
    }
    assert_eq!(results[1]["realm"], "Photos");
}

/// Through the engine, as WooCommerce over http and NetSuite TBA are used: every request the engine sends (pages
/// found through `Link` headers that echo the `oauth_*` parameters, and the retry after a `500`) is collected by a
/// local server and verified by oauthlib afterwards, nonce reuse included.
#[tokio::test]
async fn every_request_the_engine_sends_verifies_in_oauthlib() {
    use crate::harness::{Reply, Server, engine, sync};
    use fivetran_core::Secrets;
    use fivetran_core::connector::{Config, Endpoint, Stream};
    use fivetran_core::paginate::Pagination;
    use std::sync::atomic::{AtomicBool, Ordering};

    let failed_once = std::sync::Arc::new(AtomicBool::new(false));
    let failed = failed_once.clone();
    let server = Server::start(move |hit| {
        let page = hit.num("page").unwrap_or(1);
        if page == 2 && !failed.swap(true, Ordering::SeqCst) {
            return Reply::status(500, r#"{"code": "internal_server_error"}"#);
        }
        // About 1 KB per row: with a 4 KiB budget a call returns a page or two, so the state holds a next URL.
        let rows: Vec<Value> = (page * 2 - 1..=page * 2)
            .map(|id| json!({"id": id, "text": "x".repeat(900)}))
            .collect();
        let mut reply = Reply::json(Value::Array(rows));
        if page < 3 {
            // The next link repeats the whole query, oauth_* parameters included, as WooCommerce does.
            let host = hit.headers["host"].to_str().unwrap();
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in url::form_urlencoded::parse(hit.raw_query.as_bytes()) {
                if name != "page" {
                    query.append_pair(&name, &value);
                }
            }
            query.append_pair("page", &(page + 1).to_string());
            let link = format!(
                "<http://{host}{}?{}>; rel=\"next\"",
                hit.path,
                query.finish()
            );
            reply = reply.header("link", &link);
        }
        reply
    })
    .await;

    let auths = [
        one_legged(OAuth1SignatureMethod::HmacSha256, OAuth1Placement::Query),
        with_token(
            OAuth1SignatureMethod::HmacSha256,
            OAuth1Placement::Header,
            Some("1234567_SB1"),
        ),
    ];
    let mut cases = Vec::new();
    for (round, auth) in auths.into_iter().enumerate() {
        failed_once.store(false, Ordering::SeqCst);
        let before = server.hits().len();
        let url = server.url.clone();
        let engine = engine(move |_: &Secrets| {
            let budget = fivetran_core::budget::BudgetSettings {
                bytes: 4096,
                time_margin: std::time::Duration::from_secs(1),
            };
            Ok(Config::new(&url, auth.clone())?.budget(budget).stream(
                Stream::new(
                    "orders",
                    &["id"],
                    Endpoint::get("/wp-json/wc/v3/orders").query("per_page", "2"),
                )
                .paginate(Pagination::link_header()),
            ))
        });
        let responses = sync(&engine, json!({}), json!({}), 10).await;
        assert!(responses.len() >= 3, "several calls: {}", responses.len());
        let states: Vec<String> = responses.iter().map(|r| r["state"].to_string()).collect();
        assert!(
            states.iter().any(|s| s.contains("page=")),
            "a state holds a next URL: {states:?}"
        );
        let rows: usize = responses
            .iter()
            .map(|r| r["insert"]["orders"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(rows, 6);
        for response in &responses {
            assert!(
                !response["state"].to_string().contains("oauth_"),
                "no credential in state: {}",
                response["state"]
            );
        }
        let hits = server.hits();
        assert!(
            hits.len() - before >= 4,
            "three pages (some read again by later calls) and one retry"
        );
        for (i, hit) in hits[before..].iter().enumerate() {
            assert_eq!(
                hit.raw_query.matches("oauth_signature=").count(),
                usize::from(round == 0),
                "{}",
                hit.raw_query
            );
            let mut headers = serde_json::Map::new();
            if let Some(value) = hit.headers.get("authorization") {
                headers.insert("Authorization".into(), value.to_str().unwrap().into());
            }
            let mut case = json!({
                "name": format!("round {round} request {i}"),
                "method": "GET",
                "uri": format!("{}{}?{}", server.url, hit.path, hit.raw_query),
                "headers": headers,
                "consumer_key": CONSUMER_KEY,
                "consumer_secret": CONSUMER_SECRET,
            });
            if round == 1 {
                case["token"] = TOKEN.into();
                case["token_secret"] = TOKEN_SECRET.into();
            }
            cases.push(case);
        }
    }
    for result in verify(&cases) {
        assert_eq!(
            result["valid"], true,
            "{}: {}",
            result["name"], result["reason"]
        );
    }
}

/// The cycle guard compares next URLs without their echoed `oauth_*` parameters: a server that keeps linking to the
/// same page (with the request's fresh nonce echoed each time) stops the stream instead of looping.
#[tokio::test]
async fn a_link_back_to_the_same_page_stops_despite_a_fresh_echoed_nonce() {
    use crate::harness::{Reply, Server, engine, sync};
    use fivetran_core::Secrets;
    use fivetran_core::connector::{Config, Endpoint, Stream};
    use fivetran_core::paginate::Pagination;

    let server = Server::start(|hit| {
        let host = hit.headers["host"].to_str().unwrap();
        let link = format!(
            "<http://{host}{}?{}&page=1>; rel=\"next\"",
            hit.path,
            hit.raw_query.replace("&page=1", "")
        );
        Reply::json(json!([{"id": 1}])).header("link", &link)
    })
    .await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| {
        let auth = one_legged(OAuth1SignatureMethod::HmacSha1, OAuth1Placement::Query);
        Ok(Config::new(&url, auth)?.stream(
            Stream::new("orders", &["id"], Endpoint::get("/orders"))
                .paginate(Pagination::link_header()),
        ))
    });
    let responses = sync(&engine, json!({}), json!({}), 3).await;
    assert_eq!(responses.last().unwrap()["hasMore"], json!(false));
    assert!(server.hits().len() <= 3, "{} requests", server.hits().len());
}
