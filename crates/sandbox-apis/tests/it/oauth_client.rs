//! Test-side OAuth 1.0a signing, independent of the stand-ins' verifier: HMAC-SHA1 through the `oauth1-request` crate
//! (what the connectors use), HMAC-SHA256 through a few lines written here from RFC 5849.

use std::num::NonZeroU64;
use std::time::SystemTime;

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn enc(s: &str) -> String {
    utf8_percent_encode(s, RFC3986).to_string()
}

/// Unix seconds now.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A fresh nonce.
pub fn nonce() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    format!("n{}x{}", now(), N.fetch_add(1, Ordering::SeqCst))
}

/// `uri?oauth_*&params` signed with HMAC-SHA1 by `oauth1-request` (one-legged, no token).
///
/// Note: `Builder::to_query` (0.6) writes only the `oauth_*` parameters into the URI; the request's own parameters are
/// signed but must be appended by the caller.
pub fn sha1_query(
    uri: &str,
    params: &[(&str, &str)],
    key: &str,
    secret: &str,
    timestamp: u64,
    nonce: &str,
) -> String {
    let mut sorted: Vec<(&str, &str)> = params.to_vec();
    sorted.sort();
    let mut builder = oauth1_request::Builder::<_, _>::new(
        oauth1_request::Credentials::new(key, secret),
        oauth1_request::HMAC_SHA1,
    );
    builder.nonce(nonce).timestamp(NonZeroU64::new(timestamp));
    let mut signed = builder.to_query(
        "GET",
        uri.to_owned(),
        &oauth1_request::ParameterList::new(sorted),
    );
    for (k, v) in params {
        signed.push_str(&format!("&{}={}", enc(k), enc(v)));
    }
    signed
}

/// RFC 5849 signature over `params` (all of them, oauth ones included) with the given HMAC.
pub fn signature(
    method: &str,
    uri: &str,
    params: &[(String, String)],
    key: &str,
    sha256: bool,
) -> String {
    let mut pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (enc(k), enc(v))).collect();
    pairs.sort();
    let joined = pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let base = format!("{method}&{}&{}", enc(uri), enc(&joined));
    let digest = if sha256 {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(base.as_bytes());
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).unwrap();
        mac.update(base.as_bytes());
        mac.finalize().into_bytes().to_vec()
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// `uri?params&oauth_*` signed with HMAC-SHA256 (one-legged, key `secret&`).
pub fn sha256_query(
    uri: &str,
    params: &[(&str, &str)],
    key: &str,
    secret: &str,
    timestamp: u64,
    nonce: &str,
) -> String {
    let mut all: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    all.extend([
        ("oauth_consumer_key".to_owned(), key.to_owned()),
        ("oauth_nonce".to_owned(), nonce.to_owned()),
        (
            "oauth_signature_method".to_owned(),
            "HMAC-SHA256".to_owned(),
        ),
        ("oauth_timestamp".to_owned(), timestamp.to_string()),
        ("oauth_version".to_owned(), "1.0".to_owned()),
    ]);
    let sig = signature("GET", uri, &all, &format!("{}&", enc(secret)), true);
    all.push(("oauth_signature".to_owned(), sig));
    let query = all
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    format!("{uri}?{query}")
}

/// An `Authorization: OAuth realm=...` header for NetSuite TBA (consumer + token, HMAC-SHA256) over `query` params.
#[allow(clippy::too_many_arguments)]
pub fn tba_header(
    method: &str,
    uri: &str,
    query: &[(&str, &str)],
    realm: &str,
    consumer: (&str, &str),
    token: (&str, &str),
    timestamp: u64,
    nonce: &str,
) -> String {
    let oauth: Vec<(String, String)> = vec![
        ("oauth_consumer_key".into(), consumer.0.into()),
        ("oauth_token".into(), token.0.into()),
        ("oauth_signature_method".into(), "HMAC-SHA256".into()),
        ("oauth_timestamp".into(), timestamp.to_string()),
        ("oauth_nonce".into(), nonce.into()),
        ("oauth_version".into(), "1.0".into()),
    ];
    let mut all = oauth.clone();
    all.extend(
        query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let sig = signature(
        method,
        uri,
        &all,
        &format!("{}&{}", enc(consumer.1), enc(token.1)),
        true,
    );
    let mut parts = vec![format!("realm=\"{realm}\"")];
    parts.extend(oauth.iter().map(|(k, v)| format!("{k}=\"{}\"", enc(v))));
    parts.push(format!("oauth_signature=\"{}\"", enc(&sig)));
    format!("OAuth {}", parts.join(", "))
}
