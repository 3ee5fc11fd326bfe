//! The `HMAC-SHA256` OAuth 1.0a signature method, which `oauth1-request` 0.6 lacks, over its public
//! [`SignatureMethod`]/[`Sign`] traits and the `hmac` and `sha2` crates.
//!
//! The signing key is `encode(consumer secret) & encode(token secret)` (RFC 5849 §3.4.2, with SHA-256 in place of
//! SHA-1 as NetSuite and WooCommerce use it); the base string arrives in pieces from the crate's serializer, already
//! encoded, and is fed straight into the MAC. The signature is base64, percent-encoded, as the crate expects.

use std::fmt::{self, Display, Write as _};

use base64::Engine as _;
use hmac::{Hmac, Mac};
use oauth1_request::signature_method::{Sign, SignatureMethod};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

/// RFC 3986 unreserved characters stay as they are; everything else is percent-encoded (RFC 5849 §3.6).
pub(crate) const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The `HMAC-SHA256` signature method.
#[derive(Debug, Clone, Copy, Default)]
pub struct HmacSha256;

/// Signs one signature base string with HMAC-SHA256.
#[derive(Clone)]
pub struct HmacSha256Sign {
    mac: Hmac<Sha256>,
}

/// The signature: base64 of the MAC, percent-encoded when displayed.
#[derive(Debug, Clone)]
pub struct HmacSha256Signature(String);

impl SignatureMethod for HmacSha256 {
    type Sign = HmacSha256Sign;

    fn sign_with(self, client_secret: &str, token_secret: Option<&str>) -> HmacSha256Sign {
        let mut key = String::new();
        // Writing into a String cannot fail.
        let _ = write!(key, "{}&", utf8_percent_encode(client_secret, RFC3986));
        if let Some(secret) = token_secret {
            let _ = write!(key, "{}", utf8_percent_encode(secret, RFC3986));
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        HmacSha256Sign { mac }
    }
}

impl HmacSha256Sign {
    fn feed(&mut self, args: fmt::Arguments<'_>) {
        struct Feed<'a>(&'a mut Hmac<Sha256>);
        impl fmt::Write for Feed<'_> {
            fn write_str(&mut self, s: &str) -> fmt::Result {
                self.0.update(s.as_bytes());
                Ok(())
            }
        }
        let _ = Feed(&mut self.mac).write_fmt(args);
    }
}

impl Sign for HmacSha256Sign {
    type Signature = HmacSha256Signature;

    fn get_signature_method_name(&self) -> &'static str {
        "HMAC-SHA256"
    }

    fn request_method(&mut self, method: &str) {
        self.feed(format_args!("{method}&"));
    }

    fn uri<T: Display>(&mut self, uri: T) {
        self.feed(format_args!("{uri}&"));
    }

    fn parameter<V: Display>(&mut self, key: &str, value: V) {
        self.feed(format_args!("{key}%3D{value}"));
    }

    fn delimiter(&mut self) {
        self.mac.update(b"%26");
    }

    fn end(self) -> HmacSha256Signature {
        let bytes = self.mac.finalize().into_bytes();
        HmacSha256Signature(base64::engine::general_purpose::STANDARD.encode(bytes))
    }
}

impl Display for HmacSha256Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", utf8_percent_encode(&self.0, RFC3986))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds a whole base string the way the serializer would and returns the base64 signature.
    fn sign(base: &str, consumer_secret: &str, token_secret: Option<&str>) -> String {
        let mut sign = HmacSha256.sign_with(consumer_secret, token_secret);
        let (method, rest) = base.split_once('&').unwrap();
        let (uri, params) = rest.split_once('&').unwrap();
        sign.request_method(method);
        sign.uri(uri);
        for (i, pair) in params.split("%26").enumerate() {
            if i > 0 {
                sign.delimiter();
            }
            let (k, v) = pair.split_once("%3D").unwrap();
            sign.parameter(k, v);
        }
        sign.end().0
    }

    #[test]
    fn matches_an_hmac_over_the_whole_base_string() {
        let base = "GET&http%3A%2F%2Fexample.com%2Fr&a%3D1%26b%3D2";
        let mut reference = <Hmac<Sha256> as Mac>::new_from_slice(b"c%20s&t%2Bs").unwrap();
        reference.update(base.as_bytes());
        let expected =
            base64::engine::general_purpose::STANDARD.encode(reference.finalize().into_bytes());
        assert_eq!(sign(base, "c s", Some("t+s")), expected);
    }

    #[test]
    fn signature_displays_percent_encoded() {
        let signature = HmacSha256Signature("a+b/c=".into());
        assert_eq!(signature.to_string(), "a%2Bb%2Fc%3D");
    }
}
