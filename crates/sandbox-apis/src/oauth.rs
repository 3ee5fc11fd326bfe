//! An OAuth 1.0a signature verifier written from RFC 5849 (sections 3.4–3.5), independent of any client library.
//!
//! Used by the WooCommerce stand-in (one-legged, parameters in the query string) and the NetSuite stand-in (TBA:
//! consumer + token, `Authorization: OAuth realm=...` header, HMAC-SHA256). The clock is a parameter so fixed examples
//! can pass the timestamp window check.

use std::collections::HashSet;
use std::sync::Mutex;

use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};

/// RFC 3986 unreserved characters stay; everything else is percent-encoded (RFC 5849 §3.6).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a string as RFC 5849 §3.6 requires.
pub fn encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

/// Why a request's OAuth parameters were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OAuthError {
    #[error("missing OAuth parameter {0}")]
    Missing(&'static str),
    #[error("OAuth parameter {0} appears more than once")]
    Duplicated(String),
    #[error("unsupported signature method {0:?}")]
    UnsupportedMethod(String),
    #[error("unknown consumer key")]
    UnknownConsumer,
    #[error("unknown token")]
    UnknownToken,
    #[error("oauth_version must be 1.0")]
    BadVersion,
    #[error("invalid timestamp")]
    BadTimestamp,
    #[error("timestamp outside the allowed window")]
    ExpiredTimestamp,
    #[error("invalid signature")]
    BadSignature,
    #[error("nonce has already been used")]
    NonceReused,
    #[error("malformed Authorization header")]
    MalformedHeader,
}

/// A supported signature method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureMethod {
    HmacSha1,
    HmacSha256,
}

impl SignatureMethod {
    /// Parses the `oauth_signature_method` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "HMAC-SHA1" => Some(Self::HmacSha1),
            "HMAC-SHA256" => Some(Self::HmacSha256),
            _ => None,
        }
    }
}

/// The base string URI (RFC 5849 §3.4.1.2): lower-case scheme and host, default port dropped, path kept.
pub fn base_uri(scheme: &str, host: &str, path: &str) -> String {
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let host = match (scheme.as_str(), host.rsplit_once(':')) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_owned(),
        _ => host,
    };
    let path = if path.is_empty() { "/" } else { path };
    format!("{scheme}://{host}{path}")
}

/// Parses `Authorization: OAuth k="v", ...` into decoded pairs (`realm` included).
pub fn parse_authorization(header: &str) -> Result<Vec<(String, String)>, OAuthError> {
    let rest = header.trim();
    let rest = rest
        .strip_prefix("OAuth")
        .ok_or(OAuthError::MalformedHeader)?;
    let mut out = Vec::new();
    for part in rest.split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let (k, v) = part.split_once('=').ok_or(OAuthError::MalformedHeader)?;
        let v = v
            .trim()
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .ok_or(OAuthError::MalformedHeader)?;
        let decode = |s: &str| percent_decode_str(s).decode_utf8().map(|c| c.into_owned());
        out.push((
            decode(k.trim()).map_err(|_| OAuthError::MalformedHeader)?,
            decode(v).map_err(|_| OAuthError::MalformedHeader)?,
        ));
    }
    Ok(out)
}

/// The signature base string (RFC 5849 §3.4.1): `METHOD&enc(uri)&enc(normalized parameters)`, where the parameters
/// exclude `oauth_signature` and `realm`.
pub fn signature_base_string(method: &str, base_uri: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(String, String)> = params
        .iter()
        .filter(|(k, _)| k != "oauth_signature" && k != "realm")
        .map(|(k, v)| (encode(k), encode(v)))
        .collect();
    pairs.sort();
    let normalized: Vec<String> = pairs.into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode(base_uri),
        encode(&normalized.join("&"))
    )
}

/// Signs a base string; the key is `enc(consumer_secret)&enc(token_secret)` (§3.4.2). Returns base64.
pub fn sign(
    method: SignatureMethod,
    base: &str,
    consumer_secret: &str,
    token_secret: &str,
) -> String {
    let key = format!("{}&{}", encode(consumer_secret), encode(token_secret));
    let digest = match method {
        SignatureMethod::HmacSha1 => {
            let mut mac =
                Hmac::<sha1::Sha1>::new_from_slice(key.as_bytes()).expect("any key length");
            mac.update(base.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        SignatureMethod::HmacSha256 => {
            let mut mac =
                Hmac::<sha2::Sha256>::new_from_slice(key.as_bytes()).expect("any key length");
            mac.update(base.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
    };
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// The credentials a server accepts, and its timestamp window.
#[derive(Debug, Clone)]
pub struct Verifier {
    pub consumer_key: String,
    pub consumer_secret: String,
    /// `(token, token secret)` for two-/three-legged flows (NetSuite TBA); `None` for one-legged (WooCommerce).
    pub token: Option<(String, String)>,
    /// Largest allowed |now − oauth_timestamp|, in seconds.
    pub window_secs: i64,
    /// Accepted signature methods.
    pub methods: Vec<SignatureMethod>,
}

/// A request as the verifier sees it.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// From [`base_uri`].
    pub base_uri: &'a str,
    /// Every decoded parameter: query string, form body, and `Authorization` header (including `realm`).
    pub params: &'a [(String, String)],
}

impl Verifier {
    /// Checks a request at time `now` (Unix seconds). `nonce_fresh` says whether the nonce was first seen with this
    /// request (the caller spends nonces on sight, see [`NonceStore`]).
    pub fn verify(
        &self,
        req: &SignedRequest<'_>,
        now: i64,
        nonce_fresh: bool,
    ) -> Result<(), OAuthError> {
        let mut seen = HashSet::new();
        for (k, _) in req
            .params
            .iter()
            .filter(|(k, _)| k.starts_with("oauth_") || k == "realm")
        {
            if !seen.insert(k.as_str()) {
                return Err(OAuthError::Duplicated(k.clone()));
            }
        }
        let get = |name: &'static str| -> Result<&str, OAuthError> {
            req.params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .ok_or(OAuthError::Missing(name))
        };
        if get("oauth_consumer_key")? != self.consumer_key {
            return Err(OAuthError::UnknownConsumer);
        }
        let token_secret = match &self.token {
            Some((token, secret)) => {
                if get("oauth_token")? != token {
                    return Err(OAuthError::UnknownToken);
                }
                secret.as_str()
            }
            None => "",
        };
        if get("oauth_version").is_ok_and(|v| v != "1.0") {
            return Err(OAuthError::BadVersion);
        }
        let method_name = get("oauth_signature_method")?;
        let method = SignatureMethod::parse(method_name)
            .filter(|m| self.methods.contains(m))
            .ok_or_else(|| OAuthError::UnsupportedMethod(method_name.to_owned()))?;
        let timestamp: i64 = get("oauth_timestamp")?
            .parse()
            .map_err(|_| OAuthError::BadTimestamp)?;
        get("oauth_nonce")?;
        let given = get("oauth_signature")?;
        let base = signature_base_string(req.method, req.base_uri, req.params);
        let expected = sign(method, &base, &self.consumer_secret, token_secret);
        if !constant_time_eq(given.as_bytes(), expected.as_bytes()) {
            return Err(OAuthError::BadSignature);
        }
        if (now - timestamp).abs() > self.window_secs {
            return Err(OAuthError::ExpiredTimestamp);
        }
        if !nonce_fresh {
            return Err(OAuthError::NonceReused);
        }
        Ok(())
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Nonces seen per consumer key. A nonce is spent the moment a request carrying it arrives, whatever the answer.
#[derive(Debug, Default)]
pub struct NonceStore {
    seen: Mutex<HashSet<(String, String)>>,
}

impl NonceStore {
    /// Records the nonce; true when it had not been seen before.
    pub fn spend(&self, consumer_key: &str, nonce: &str) -> bool {
        self.seen
            .lock()
            .expect("nonce lock")
            .insert((consumer_key.to_owned(), nonce.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photos_verifier() -> Verifier {
        Verifier {
            consumer_key: "dpf43f3p2l4k3l03".into(),
            consumer_secret: "kd94hf93k423kf44".into(),
            token: Some(("nnch734d00sl2jdk".into(), "pfkkdhi9sl3r4s00".into())),
            window_secs: 300,
            methods: vec![SignatureMethod::HmacSha1],
        }
    }

    fn photos_params(header: &str) -> Vec<(String, String)> {
        let mut params = vec![
            ("file".to_owned(), "vacation.jpg".to_owned()),
            ("size".to_owned(), "original".to_owned()),
        ];
        params.extend(parse_authorization(header).unwrap());
        params
    }

    /// The photos.example.net example with signature `tR3+Ty81lMeYAr/Fid0kMTYa/WM=` (the OAuth 1.0 spec's example,
    /// as the project's decisions name it), verified at a clock set to its timestamp.
    #[test]
    fn photos_example_with_version_is_accepted() {
        let header = r#"OAuth realm="http://photos.example.net/", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3D", oauth_timestamp="1191242096", oauth_nonce="kllo9940pd9333jh", oauth_version="1.0""#;
        let params = photos_params(header);
        let uri = base_uri("http", "photos.example.net", "/photos");
        let req = SignedRequest {
            method: "GET",
            base_uri: &uri,
            params: &params,
        };
        assert_eq!(
            photos_verifier().verify(&req, 1_191_242_096 + 60, true),
            Ok(())
        );
        // The real clock is years later: the same request is outside the window.
        assert_eq!(
            photos_verifier().verify(&req, 1_800_000_000, true),
            Err(OAuthError::ExpiredTimestamp)
        );
        assert_eq!(
            photos_verifier().verify(&req, 1_191_242_096, false),
            Err(OAuthError::NonceReused)
        );
    }

    /// RFC 5849 §1.2 as published (timestamp 137131202, nonce chapoH, no oauth_version).
    #[test]
    fn rfc5849_section_1_2_example_is_accepted() {
        let header = r#"OAuth realm="Photos", oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131202", oauth_nonce="chapoH", oauth_signature="MdpQcU8iPSUjWoN%2FUDMsK2sui9I%3D""#;
        let params = photos_params(header);
        let uri = base_uri("HTTP", "Photos.Example.NET:80", "/photos");
        let req = SignedRequest {
            method: "GET",
            base_uri: &uri,
            params: &params,
        };
        assert_eq!(photos_verifier().verify(&req, 137_131_202, true), Ok(()));
    }

    #[test]
    fn rfc5849_base_string_example() {
        // RFC 5849 §3.4.1.1.
        let params: Vec<(String, String)> = [
            ("b5", "=%3D"),
            ("a3", "a"),
            ("c@", ""),
            ("a2", "r b"),
            ("oauth_consumer_key", "9djdj82h48djs9d2"),
            ("oauth_token", "kkk9d7dh3k39sjv7"),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", "137131201"),
            ("oauth_nonce", "7d8f3e4a"),
            ("c2", ""),
            ("a3", "2 q"),
            ("realm", "Example"),
            ("oauth_signature", "ignored"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let base = signature_base_string(
            "post",
            &base_uri("http", "example.com", "/request"),
            &params,
        );
        assert_eq!(
            base,
            "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7"
        );
    }

    #[test]
    fn wrong_signature_duplicate_and_unknown_key_are_rejected() {
        let header = r#"OAuth oauth_consumer_key="dpf43f3p2l4k3l03", oauth_token="nnch734d00sl2jdk", oauth_signature_method="HMAC-SHA1", oauth_signature="tR3%2BTy81lMeYAr%2FFid0kMTYa%2FWM%3E", oauth_timestamp="1191242096", oauth_nonce="kllo9940pd9333jh", oauth_version="1.0""#;
        let params = photos_params(header);
        let uri = base_uri("http", "photos.example.net", "/photos");
        let req = SignedRequest {
            method: "GET",
            base_uri: &uri,
            params: &params,
        };
        assert_eq!(
            photos_verifier().verify(&req, 1_191_242_096, true),
            Err(OAuthError::BadSignature)
        );
        let mut dup = params.clone();
        dup.push(("oauth_nonce".into(), "x".into()));
        let req = SignedRequest {
            params: &dup,
            ..req
        };
        assert_eq!(
            photos_verifier().verify(&req, 1_191_242_096, true),
            Err(OAuthError::Duplicated("oauth_nonce".into()))
        );
        let other = Verifier {
            consumer_key: "other".into(),
            ..photos_verifier()
        };
        assert_eq!(
            other.verify(
                &SignedRequest {
                    params: &params,
                    ..req
                },
                0,
                true
            ),
            Err(OAuthError::UnknownConsumer)
        );
    }

    /// Vectors signed by Python's oauthlib 4.0.1 (an independent implementation): WooCommerce-style query signing.
    #[test]
    fn oauthlib_hmac_sha256_query_vector() {
        let url = "http://127.0.0.1:8080/wp-json/wc/v3/orders?per_page=5&modified_after=2026-01-01T00%3A00%3A00&oauth_nonce=abc&oauth_timestamp=1700000000&oauth_version=1.0&oauth_signature_method=HMAC-SHA256&oauth_consumer_key=ck_sandbox_0123456789abcdef&oauth_signature=xBrR%2BpzhrmHXYrkpo84P1Su%2BzOvREJLJ7%2F6emElOjco%3D";
        let (_, query) = url.split_once('?').unwrap();
        let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let uri = base_uri("http", "127.0.0.1:8080", "/wp-json/wc/v3/orders");
        let v = Verifier {
            consumer_key: "ck_sandbox_0123456789abcdef".into(),
            consumer_secret: "cs_sandbox_fedcba9876543210".into(),
            token: None,
            window_secs: 900,
            methods: vec![SignatureMethod::HmacSha256],
        };
        let req = SignedRequest {
            method: "GET",
            base_uri: &uri,
            params: &params,
        };
        assert_eq!(v.verify(&req, 1_700_000_000, true), Ok(()));
    }

    /// oauthlib again: NetSuite-style TBA header with realm (it adds `oauth_body_hash` for a JSON body, which is
    /// signed like any other `oauth_*` parameter).
    #[test]
    fn oauthlib_tba_header_vector_with_realm() {
        let header = r#"OAuth realm="1234567_SB1", oauth_nonce="n1", oauth_timestamp="1700000000", oauth_version="1.0", oauth_signature_method="HMAC-SHA256", oauth_consumer_key="ns-consumer-key", oauth_token="ns-token-id", oauth_body_hash="TkE0KQImURkwXKv%2FyndfP86Pu9A%3D", oauth_signature="EEnEtAx5aJeSRqFAfoa1rmVaqtI7GZPRlo1m8skTTQw%3D""#;
        let mut params = parse_authorization(header).unwrap();
        params.extend([
            ("limit".to_owned(), "5".to_owned()),
            ("offset".to_owned(), "0".to_owned()),
        ]);
        let uri = base_uri("http", "127.0.0.1:8080", "/services/rest/query/v1/suiteql");
        let v = Verifier {
            consumer_key: "ns-consumer-key".into(),
            consumer_secret: "ns-consumer-secret".into(),
            token: Some(("ns-token-id".into(), "ns-token-secret".into())),
            window_secs: 300,
            methods: vec![SignatureMethod::HmacSha256],
        };
        let req = SignedRequest {
            method: "POST",
            base_uri: &uri,
            params: &params,
        };
        assert_eq!(v.verify(&req, 1_700_000_000, true), Ok(()));
        let get = SignedRequest {
            method: "GET",
            ..req
        };
        assert_eq!(
            v.verify(&get, 1_700_000_000, true),
            Err(OAuthError::BadSignature)
        );
    }

    #[test]
    fn hmac_sha256_round_trip_and_nonce_store() {
        let params = vec![
            ("oauth_consumer_key".to_owned(), "ck".to_owned()),
            (
                "oauth_signature_method".to_owned(),
                "HMAC-SHA256".to_owned(),
            ),
            ("oauth_timestamp".to_owned(), "1000".to_owned()),
            ("oauth_nonce".to_owned(), "n1".to_owned()),
            ("per_page".to_owned(), "100".to_owned()),
        ];
        let uri = base_uri("http", "127.0.0.1:8080", "/wp-json/wc/v3/orders");
        let signature = sign(
            SignatureMethod::HmacSha256,
            &signature_base_string("GET", &uri, &params),
            "cs",
            "",
        );
        let mut signed = params.clone();
        signed.push(("oauth_signature".into(), signature));
        let v = Verifier {
            consumer_key: "ck".into(),
            consumer_secret: "cs".into(),
            token: None,
            window_secs: 900,
            methods: vec![SignatureMethod::HmacSha1, SignatureMethod::HmacSha256],
        };
        let req = SignedRequest {
            method: "GET",
            base_uri: &uri,
            params: &signed,
        };
        assert_eq!(v.verify(&req, 1000 + 900, true), Ok(()));
        assert_eq!(
            v.verify(&req, 1000 + 901, true),
            Err(OAuthError::ExpiredTimestamp)
        );
        let store = NonceStore::default();
        assert!(store.spend("ck", "n1"));
        assert!(!store.spend("ck", "n1"));
        assert!(store.spend("ck2", "n1"));
    }
}
