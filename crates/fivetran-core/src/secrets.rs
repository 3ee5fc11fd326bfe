//! Redacting holders for the secrets Fivetran sends with every request.
//!
//! [`Secret`] wraps one value: `Debug` and `Display` print `***`, and the value is reached only through
//! [`Secret::expose`], so a secret cannot slip into a log line or an error message by formatting. [`Secrets`] holds
//! the request's whole `secrets` object (string values, or nested JSON on legacy connections) and hands out typed,
//! validated values whose errors name the secret but never show it.

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One secret value. Formatting it prints `***`; [`Secret::expose`] is the only way to the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The secret value itself: use it only to authenticate, never to log or to build a message.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T> From<T> for Secret<T> {
    fn from(value: T) -> Self {
        Secret(value)
    }
}

/// The request's `secrets` object: every value redacted, typed accessors with errors that name the secret.
#[derive(Clone, Default, PartialEq)]
pub struct Secrets(Map<String, Value>);

impl Secrets {
    /// Wraps a decoded `secrets` object.
    pub fn new(values: Map<String, Value>) -> Self {
        Secrets(values)
    }

    /// The names of the secrets present, for diagnostics.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Whether a secret is present and not blank.
    pub fn contains(&self, name: &str) -> bool {
        self.optional(name).ok().flatten().is_some()
    }

    /// A required string secret. Numbers and booleans are accepted as their text; nested JSON is not a string.
    pub fn required(&self, name: &str) -> Result<Secret<String>> {
        self.optional(name)?
            .ok_or_else(|| Error::invalid_secret(name, "is required but missing or empty"))
    }

    /// An optional string secret: `None` when absent, `null` or blank.
    pub fn optional(&self, name: &str) -> Result<Option<Secret<String>>> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(Secret(s.trim().to_owned()))),
            Some(Value::Number(n)) => Ok(Some(Secret(n.to_string()))),
            Some(Value::Bool(b)) => Ok(Some(Secret(b.to_string()))),
            Some(Value::Array(_) | Value::Object(_)) => Err(Error::invalid_secret(
                name,
                "must be a string, found nested JSON",
            )),
        }
    }

    /// An optional secret parsed into `T` (a page size, a flag). The error names the secret and the expected form.
    pub fn parsed<T: FromStr>(&self, name: &str, expected: &str) -> Result<Option<T>> {
        match self.optional(name)? {
            None => Ok(None),
            Some(text) => text
                .expose()
                .parse()
                .map(Some)
                .map_err(|_| Error::invalid_secret(name, format!("must be {expected}"))),
        }
    }

    /// An optional comma-separated list (blank items dropped).
    pub fn list(&self, name: &str) -> Result<Option<Vec<String>>> {
        Ok(self.optional(name)?.map(|text| {
            text.expose()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        }))
    }

    /// A secret as raw JSON, for legacy connections whose secrets hold nested objects.
    pub fn json(&self, name: &str) -> Option<Secret<&Value>> {
        self.0.get(name).map(Secret)
    }

    /// Every secret string value, including those nested in JSON, for redaction checks.
    pub fn values(&self) -> Vec<Secret<String>> {
        fn collect(value: &Value, out: &mut Vec<Secret<String>>) {
            match value {
                Value::String(s) if !s.is_empty() => out.push(Secret(s.clone())),
                Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
                Value::Object(map) => map.values().for_each(|v| collect(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        self.0.values().for_each(|v| collect(v, &mut out));
        out
    }

    /// The raw object, for serializing the request back out (tests and fixtures only).
    pub fn expose_all(&self) -> &Map<String, Value> {
        &self.0
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for name in self.0.keys() {
            map.entry(&name, &format_args!("***"));
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secrets(value: Value) -> Secrets {
        Secrets::new(value.as_object().cloned().unwrap_or_default())
    }

    #[test]
    fn formatting_never_shows_a_value() {
        let s = secrets(json!({"apiKey": "sk_live_123", "nested": {"token": "tok_456"}}));
        let debug = format!(
            "{s:?} {:?} {}",
            s.required("apiKey").unwrap(),
            s.required("apiKey").unwrap()
        );
        assert!(
            !debug.contains("sk_live_123") && !debug.contains("tok_456"),
            "{debug}"
        );
        assert!(debug.contains("apiKey") && debug.contains("***"));
    }

    #[test]
    fn accessors_validate_and_name_the_secret() {
        let s = secrets(
            json!({"apiKey": " k ", "blank": "  ", "size": "250", "bad": "x", "n": 7, "obj": {"a": 1},
                              "list": "a/b, c/d,,"}),
        );
        assert_eq!(s.required("apiKey").unwrap().expose(), "k");
        assert!(s.optional("blank").unwrap().is_none());
        let missing = s.required("baseUrl").unwrap_err().to_string();
        assert_eq!(
            missing,
            "invalid secret `baseUrl`: is required but missing or empty"
        );
        assert_eq!(
            s.parsed::<u32>("size", "a whole number").unwrap(),
            Some(250)
        );
        assert_eq!(s.parsed::<u32>("n", "a whole number").unwrap(), Some(7));
        let bad = s
            .parsed::<u32>("bad", "a whole number")
            .unwrap_err()
            .to_string();
        assert_eq!(bad, "invalid secret `bad`: must be a whole number");
        assert!(
            s.required("obj")
                .unwrap_err()
                .to_string()
                .contains("nested JSON")
        );
        assert_eq!(s.list("list").unwrap().unwrap(), vec!["a/b", "c/d"]);
        assert_eq!(s.values().len(), 5);
    }
}
