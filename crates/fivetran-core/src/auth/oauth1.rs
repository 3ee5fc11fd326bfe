//! OAuth 1.0a request signing (RFC 5849) through `oauth1-request`: HMAC-SHA1 or HMAC-SHA256, one-legged (consumer
//! only, WooCommerce) or with a token (NetSuite TBA), an optional `realm`, parameters in the `Authorization` header
//! or in the query string.
//!
//! Every call to [`OAuth1::sign`] draws a fresh nonce and timestamp, so every retry is a new signature (servers
//! spend a nonce even when they answer `500`). The crate wants the base URI without a query and the query
//! parameters as signed parameters: [`OAuth1::sign`] splits the URL itself, sorts the parameters by their encoded
//! form (RFC 5849 §3.4.1.3.2) and hands them over already encoded. `realm` is added to the header here, outside the
//! signature base string, as the RFC requires.
//!
//! Only the query takes part in the signature: JSON bodies (NetSuite's SuiteQL `POST`) are not part of the OAuth
//! 1.0a base string, and no connector sends form-encoded bodies, the one kind RFC 5849 §3.4.1.3.1 would include.
//!
//! Servers such as WooCommerce echo the `oauth_*` parameters (the consumer key among them) in their `Link` URLs.
//! Such a URL must not be followed as it is (a repeated `oauth_*` parameter is refused) nor stored in state (the
//! key is a credential): [`strip_oauth_parameters`] removes them so the URL can be stored and signed afresh.

use std::fmt::{self, Display};
use std::num::NonZeroU64;

use oauth1_request::serializer::Serializer;
use oauth1_request::signature_method::SignatureMethod;
use oauth1_request::{Builder, Credentials, HmacSha1};
use percent_encoding::{percent_decode_str, utf8_percent_encode};
use url::Url;

use super::hmac_sha256::{HmacSha256, RFC3986};
use crate::error::{Error, Result};
use crate::secrets::Secret;

/// Which OAuth 1.0a signature method signs the requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OAuth1SignatureMethod {
    /// `HMAC-SHA1` (the RFC's method; WooCommerce's default).
    #[default]
    HmacSha1,
    /// `HMAC-SHA256` (NetSuite TBA; WooCommerce accepts it).
    HmacSha256,
}

impl OAuth1SignatureMethod {
    /// The method named as in `oauth_signature_method` (`HMAC-SHA1`, `HMAC-SHA256`; case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.eq_ignore_ascii_case("HMAC-SHA1") {
            Some(OAuth1SignatureMethod::HmacSha1)
        } else if name.eq_ignore_ascii_case("HMAC-SHA256") {
            Some(OAuth1SignatureMethod::HmacSha256)
        } else {
            None
        }
    }

    /// The `oauth_signature_method` value.
    pub fn name(self) -> &'static str {
        match self {
            OAuth1SignatureMethod::HmacSha1 => "HMAC-SHA1",
            OAuth1SignatureMethod::HmacSha256 => "HMAC-SHA256",
        }
    }
}

/// Where the `oauth_*` parameters travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OAuth1Placement {
    /// In an `Authorization: OAuth ...` header (the RFC's preferred way; NetSuite).
    #[default]
    Header,
    /// In the query string (WooCommerce over plain HTTP). `realm` is not sent in this placement.
    Query,
}

/// OAuth 1.0a credentials and options. Build with [`OAuth1::new`] and the chained setters.
#[derive(Debug, Clone)]
pub struct OAuth1 {
    consumer_key: Secret<String>,
    consumer_secret: Secret<String>,
    token: Option<(Secret<String>, Secret<String>)>,
    method: OAuth1SignatureMethod,
    placement: OAuth1Placement,
    realm: Option<String>,
    version: bool,
    fixed: Option<(String, NonZeroU64)>,
}

/// The signed `oauth_*` parameters of one request, in the placement the [`OAuth1`] asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuth1Signed {
    /// The value of the `Authorization` header (`OAuth realm="...",oauth_consumer_key="...",...`).
    Header(Secret<String>),
    /// The `oauth_*` query parameters, decoded (the caller encodes them when it appends them to the URL).
    Query(Vec<(String, Secret<String>)>),
}

impl OAuth1 {
    /// One-legged OAuth (consumer key and secret only), HMAC-SHA1, parameters in the header, `oauth_version=1.0`.
    pub fn new(consumer_key: Secret<String>, consumer_secret: Secret<String>) -> Self {
        OAuth1 {
            consumer_key,
            consumer_secret,
            token: None,
            method: OAuth1SignatureMethod::HmacSha1,
            placement: OAuth1Placement::Header,
            realm: None,
            version: true,
            fixed: None,
        }
    }

    /// Adds token credentials (NetSuite's token id and secret).
    pub fn token(mut self, token: Secret<String>, token_secret: Secret<String>) -> Self {
        self.token = Some((token, token_secret));
        self
    }

    /// Chooses the signature method.
    pub fn signature_method(mut self, method: OAuth1SignatureMethod) -> Self {
        self.method = method;
        self
    }

    /// Chooses where the `oauth_*` parameters travel.
    pub fn placement(mut self, placement: OAuth1Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Sends `realm="..."` first in the `Authorization` header (not signed; ignored in the query placement).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Whether to send `oauth_version="1.0"` (default: yes; the parameter is optional in RFC 5849).
    pub fn send_version(mut self, version: bool) -> Self {
        self.version = version;
        self
    }

    /// **Tests only:** signs every request with this nonce and timestamp instead of fresh ones, so that published
    /// examples can be reproduced. A server refuses the second request signed this way.
    pub fn fixed_nonce_and_timestamp(mut self, nonce: impl Into<String>, timestamp: u64) -> Self {
        self.fixed = NonZeroU64::new(timestamp).map(|t| (nonce.into(), t));
        self
    }

    /// The configured placement.
    pub fn configured_placement(&self) -> OAuth1Placement {
        self.placement
    }

    /// Signs one request: `method` and `url` exactly as they will be sent (the URL's query holds the request's own
    /// parameters). The URL must not hold `oauth_*` parameters; pass a server-provided URL through
    /// [`strip_oauth_parameters`] first.
    pub fn sign(&self, method: &str, url: &Url) -> Result<OAuth1Signed> {
        let params = SignedParameters::from_url(url)?;
        let base_uri = base_string_uri(url);
        let header = match self.method {
            OAuth1SignatureMethod::HmacSha1 => {
                self.header_with(HmacSha1::new(), method, &base_uri, &params)
            }
            OAuth1SignatureMethod::HmacSha256 => {
                self.header_with(HmacSha256, method, &base_uri, &params)
            }
        };
        Ok(match self.placement {
            OAuth1Placement::Header => OAuth1Signed::Header(Secret::new(match &self.realm {
                Some(realm) => {
                    let rest = header.strip_prefix("OAuth ").unwrap_or(&header);
                    format!(
                        "OAuth realm=\"{}\",{rest}",
                        utf8_percent_encode(realm, RFC3986)
                    )
                }
                None => header,
            })),
            OAuth1Placement::Query => OAuth1Signed::Query(header_parameters(&header)),
        })
    }

    fn header_with<SM: SignatureMethod + Clone>(
        &self,
        signature_method: SM,
        method: &str,
        base_uri: &str,
        params: &SignedParameters,
    ) -> String {
        let client = Credentials::new(
            self.consumer_key.expose().as_str(),
            self.consumer_secret.expose().as_str(),
        );
        let mut builder: Builder<'_, SM, &str, &str> = Builder::new(client, signature_method);
        if let Some((token, secret)) = &self.token {
            builder.token(Credentials::new(
                token.expose().as_str(),
                secret.expose().as_str(),
            ));
        }
        builder.version(self.version);
        if let Some((nonce, timestamp)) = &self.fixed {
            builder.nonce(nonce.as_str()).timestamp(*timestamp);
        }
        builder.authorize(method, base_uri, params)
    }
}

/// The URL without any `oauth_*` query parameter (the request's own parameters keep their order). Use it on every
/// URL a server hands back (`Link` headers, next URLs in bodies) before storing it in state or signing it.
pub fn strip_oauth_parameters(url: &Url) -> Url {
    let mut out = url.clone();
    if url.query().is_none() {
        return out;
    }
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| !k.starts_with("oauth_"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        out.set_query(None);
    } else {
        out.query_pairs_mut().clear().extend_pairs(kept);
    }
    out
}

/// The base string URI (RFC 5849 §3.4.1.2): scheme and host in lower case, default port dropped, path as sent,
/// no query or fragment. `url::Url` has already normalised scheme, host and port.
fn base_string_uri(url: &Url) -> String {
    let mut base = url.clone();
    base.set_query(None);
    base.set_fragment(None);
    base.to_string()
}

/// The `oauth_*` pairs of an `OAuth k="v",...` header, decoded. The crate writes every value percent-encoded, so
/// values contain neither `"` nor `,`.
fn header_parameters(header: &str) -> Vec<(String, Secret<String>)> {
    header
        .strip_prefix("OAuth ")
        .unwrap_or(header)
        .split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let value = value.trim_matches('"');
            let value = percent_decode_str(value).decode_utf8_lossy().into_owned();
            Some((key.trim().to_owned(), Secret::new(value)))
        })
        .collect()
}

/// The request's own query parameters, encoded per RFC 3986 and sorted by encoded name then value
/// (RFC 5849 §3.4.1.3.2), as a `Request` for `oauth1-request` with the protocol parameters interleaved in order.
struct SignedParameters(Vec<(String, String)>);

/// The protocol parameters `oauth1-request` emits, in byte order (callback and verifier are never set here, but
/// the crate expects each hook called once).
const PROTOCOL_PARAMETERS: [&str; 8] = [
    "oauth_callback",
    "oauth_consumer_key",
    "oauth_nonce",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_token",
    "oauth_verifier",
    "oauth_version",
];

impl SignedParameters {
    fn from_url(url: &Url) -> Result<Self> {
        let mut pairs = Vec::new();
        for (key, value) in url.query_pairs() {
            if key.starts_with("oauth_") {
                return Err(Error::Declaration(format!(
                    "the URL for {} still holds the OAuth parameter `{key}`; pass it through \
                     `strip_oauth_parameters` before signing",
                    url.path()
                )));
            }
            pairs.push((
                utf8_percent_encode(&key, RFC3986).to_string(),
                utf8_percent_encode(&value, RFC3986).to_string(),
            ));
        }
        pairs.sort();
        Ok(SignedParameters(pairs))
    }
}

impl oauth1_request::Request for SignedParameters {
    fn serialize<S: Serializer>(&self, mut serializer: S) -> S::Output {
        let mut next = 0;
        for (key, value) in &self.0 {
            while next < PROTOCOL_PARAMETERS.len() && PROTOCOL_PARAMETERS[next] < key.as_str() {
                emit_protocol_parameter(&mut serializer, next);
                next += 1;
            }
            // The crate writes keys into the base string as given and encodes values once more: pass the key
            // encoded twice and the value encoded once, which yields the double encoding the base string needs.
            serializer.serialize_parameter_encoded(&DoubleEncoded(key).to_string(), value);
        }
        while next < PROTOCOL_PARAMETERS.len() {
            emit_protocol_parameter(&mut serializer, next);
            next += 1;
        }
        serializer.end()
    }
}

fn emit_protocol_parameter<S: Serializer>(serializer: &mut S, index: usize) {
    match index {
        0 => serializer.serialize_oauth_callback(),
        1 => serializer.serialize_oauth_consumer_key(),
        2 => serializer.serialize_oauth_nonce(),
        3 => serializer.serialize_oauth_signature_method(),
        4 => serializer.serialize_oauth_timestamp(),
        5 => serializer.serialize_oauth_token(),
        6 => serializer.serialize_oauth_verifier(),
        _ => serializer.serialize_oauth_version(),
    }
}

/// An already encoded string, encoded once more.
struct DoubleEncoded<'a>(&'a str);

impl Display for DoubleEncoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", utf8_percent_encode(self.0, RFC3986))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret<String> {
        Secret::new(s.to_owned())
    }

    /// The photos.example.net request of the OAuth 1.0 specification (Appendix A.5), with `oauth_version`.
    fn photos() -> OAuth1 {
        OAuth1::new(secret("dpf43f3p2l4k3l03"), secret("kd94hf93k423kf44"))
            .token(secret("nnch734d00sl2jdk"), secret("pfkkdhi9sl3r4s00"))
    }

    fn signature(header: &OAuth1Signed) -> String {
        let OAuth1Signed::Header(header) = header else {
            panic!("expected a header")
        };
        let value = header.expose().rsplit("oauth_signature=\"").next().unwrap();
        percent_decode_str(value.trim_end_matches('"'))
            .decode_utf8()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn reproduces_the_rfc_photos_example() {
        let url =
            Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap();
        let signed = photos()
            .fixed_nonce_and_timestamp("kllo9940pd9333jh", 1191242096)
            .sign("GET", &url)
            .unwrap();
        assert_eq!(signature(&signed), "tR3+Ty81lMeYAr/Fid0kMTYa/WM=");
    }

    #[test]
    fn reproduces_rfc_5849_section_1_2_with_realm() {
        let url =
            Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap();
        let signed = photos()
            .send_version(false)
            .realm("Photos")
            .fixed_nonce_and_timestamp("chapoH", 137131202)
            .sign("GET", &url)
            .unwrap();
        assert_eq!(signature(&signed), "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
        let OAuth1Signed::Header(header) = signed else {
            unreachable!()
        };
        assert!(
            header
                .expose()
                .starts_with("OAuth realm=\"Photos\",oauth_consumer_key=")
        );
    }

    #[test]
    fn every_signature_is_fresh() {
        let url = Url::parse("http://127.0.0.1/wp-json/wc/v3/orders?page=2").unwrap();
        let auth = photos().placement(OAuth1Placement::Query);
        let nonce = |signed: OAuth1Signed| match signed {
            OAuth1Signed::Query(pairs) => pairs
                .into_iter()
                .find(|(k, _)| k == "oauth_nonce")
                .map(|(_, v)| v.expose().clone())
                .unwrap(),
            OAuth1Signed::Header(_) => panic!("expected query parameters"),
        };
        let first = nonce(auth.sign("GET", &url).unwrap());
        let second = nonce(auth.sign("GET", &url).unwrap());
        assert_ne!(first, second);
    }

    #[test]
    fn query_placement_returns_decoded_protocol_parameters_without_realm() {
        let url = Url::parse("http://127.0.0.1/orders").unwrap();
        let signed = OAuth1::new(secret("ck_1"), secret("cs_1"))
            .realm("ignored")
            .placement(OAuth1Placement::Query)
            .signature_method(OAuth1SignatureMethod::HmacSha256)
            .sign("GET", &url)
            .unwrap();
        let OAuth1Signed::Query(pairs) = signed else {
            panic!("expected query parameters")
        };
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "oauth_consumer_key",
                "oauth_nonce",
                "oauth_signature_method",
                "oauth_timestamp",
                "oauth_version",
                "oauth_signature"
            ]
        );
        assert_eq!(pairs[0].1.expose(), "ck_1");
        assert_eq!(pairs[2].1.expose(), "HMAC-SHA256");
        assert!(
            !pairs[5].1.expose().contains('%'),
            "signature must be decoded"
        );
    }

    #[test]
    fn strips_echoed_protocol_parameters_and_keeps_the_rest() {
        let url = Url::parse(
            "http://127.0.0.1/orders?page=3&oauth_consumer_key=ck_1&per_page=10&oauth_signature=x%2B&oauth_nonce=n",
        )
        .unwrap();
        let stripped = strip_oauth_parameters(&url);
        assert_eq!(
            stripped.as_str(),
            "http://127.0.0.1/orders?page=3&per_page=10"
        );
        let only = Url::parse("http://127.0.0.1/orders?oauth_nonce=n").unwrap();
        assert_eq!(
            strip_oauth_parameters(&only).as_str(),
            "http://127.0.0.1/orders"
        );
    }

    #[test]
    fn refuses_to_sign_a_url_that_still_holds_protocol_parameters() {
        let url = Url::parse("http://127.0.0.1/orders?oauth_consumer_key=ck_secret").unwrap();
        let error = photos().sign("GET", &url).unwrap_err().to_string();
        assert!(
            error.contains("strip_oauth_parameters") && !error.contains("ck_secret"),
            "{error}"
        );
    }

    #[test]
    fn method_names_parse_case_insensitively() {
        assert_eq!(
            OAuth1SignatureMethod::from_name("hmac-sha256"),
            Some(OAuth1SignatureMethod::HmacSha256)
        );
        assert_eq!(OAuth1SignatureMethod::from_name("RSA-SHA1"), None);
        assert_eq!(OAuth1SignatureMethod::HmacSha1.name(), "HMAC-SHA1");
    }

    #[test]
    fn debug_shows_no_secret() {
        let text = format!("{:?}", photos());
        assert!(
            !text.contains("kd94hf93k423kf44") && !text.contains("pfkkdhi9sl3r4s00"),
            "{text}"
        );
    }
}
