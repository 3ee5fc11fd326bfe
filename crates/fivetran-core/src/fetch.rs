//! Building the request for one page of a stream: URL, query, template values, body.
//!
//! A followed next URL (body or `Link` header) must stay on the base URL's origin — credentials are never sent
//! elsewhere — and loses every credential parameter (`oauth_*`, the API-key parameter) before it is signed afresh
//! or stored in the state.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use url::Url;

use crate::auth::Auth;
use crate::connector::{Config, CursorFormat, Endpoint, Stream, Vars};
use crate::error::{Error, Result};
use crate::http::Call;
use crate::paginate::{Position, Style};
use crate::state::Window;

/// The pieces of one request, owned (a [`Call`] borrows them).
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    pub url: Url,
    pub body: Option<Bytes>,
}

impl Planned {
    /// The call for the HTTP client.
    pub fn call<'a>(&self, stream: &'a Stream) -> Call<'a> {
        Call {
            stream: &stream.key,
            method: stream.endpoint.method.clone(),
            url: self.url.clone(),
            body: self.body.clone(),
            headers: &stream.endpoint.headers,
            records: Some(&stream.records),
        }
    }
}

/// Formats a window bound for a stream.
pub(crate) fn format_bound(stream: &Stream, at: DateTime<Utc>) -> String {
    match &stream.incremental {
        Some(inc) => inc.format.format_at_offset(at, inc.utc_offset),
        None => CursorFormat::Rfc3339.format(at),
    }
}

/// Plans the request for `position` of `stream` in `window`. `size_override` replaces the page size (the
/// key-ordered probe asks for one record).
pub(crate) fn plan(
    config: &Config,
    stream: &Stream,
    window: &Window,
    position: &Position,
    size_override: Option<(u64, u64)>,
) -> Result<Planned> {
    let since = window.since.map(|s| format_bound(stream, s));
    let until = format_bound(stream, window.started);
    let (keyset_param, keyset_initial) = match &stream.pagination.style {
        Style::Keyset { param, initial, .. } => (param.as_deref(), initial.as_deref()),
        _ => (None, None),
    };
    let after = match position {
        Position::After(key) => Some(key.as_str()),
        _ => keyset_initial,
    };
    let body_vars = Vars {
        since: since.as_deref().or(stream
            .incremental
            .as_ref()
            .and_then(|i| i.initial.as_deref())),
        until: Some(&until),
        after,
    };
    let body = match &stream.endpoint.body {
        Some(template) => {
            let value = body_vars.render_json(template, &stream.key)?;
            Some(Bytes::from(serde_json::to_vec(&value).map_err(|e| {
                Error::Declaration(format!("stream `{}`: body: {e}", stream.key))
            })?))
        }
        None => None,
    };
    if let Position::Url(next) = position {
        let url = follow_url(config, next, &stream.key)?;
        return Ok(Planned { url, body });
    }
    let vars = Vars {
        since: since.as_deref(),
        until: Some(&until),
        after,
    };
    let mut url = endpoint_url(&config.base_url, &stream.endpoint);
    {
        let mut pairs = url.query_pairs_mut();
        for (name, value) in &stream.endpoint.query {
            if let Some(value) = vars.render(value) {
                pairs.append_pair(name, &value);
            }
        }
        if let (Some(inc), Some(since)) = (&stream.incremental, since.as_deref())
            && let Some(param) = &inc.param
        {
            pairs.append_pair(param, since);
        }
        let pagination = &stream.pagination;
        // A key-ordered page after the first is read as its overlapping block, when the stream declares them.
        let size_override = size_override.or_else(|| pagination.block(position));
        let size = size_override.map(|(_, s)| s).or(pagination.page_size());
        if let (Some((param, _)), Some(size)) = (&pagination.size, size) {
            pairs.append_pair(param, &size.to_string());
        }
        match (&pagination.style, position) {
            (Style::PageNumber { param, .. }, _) => {
                let page = size_override
                    .map(|(p, _)| p)
                    .unwrap_or_else(|| pagination.page_number_of(position));
                pairs.append_pair(param, &page.to_string());
            }
            (Style::Offset { param }, _) => {
                let offset = match position {
                    Position::Offset(o) => *o,
                    _ => 0,
                };
                pairs.append_pair(param, &offset.to_string());
            }
            (Style::Token { param, .. }, Position::Token(token)) => {
                pairs.append_pair(param, token);
            }
            _ => {}
        }
        if let (Some(param), Some(after)) = (keyset_param, after) {
            pairs.append_pair(param, after);
        }
    }
    if url.query() == Some("") {
        url.set_query(None);
    }
    Ok(Planned { url, body })
}

/// The base URL joined with an endpoint's path (the base's own path is a prefix).
pub(crate) fn endpoint_url(base: &Url, endpoint: &Endpoint) -> Url {
    let mut url = base.clone();
    let prefix = base.path().trim_end_matches('/');
    let path = endpoint.path.trim_start_matches('/');
    url.set_path(&format!("{prefix}/{path}"));
    url.set_query(None);
    url
}

/// A next-page URL made safe to follow and to store: resolved against the base URL, on the base URL's origin,
/// without credential parameters.
pub(crate) fn follow_url(config: &Config, next: &str, stream: &str) -> Result<Url> {
    let url = config.base_url.join(next).map_err(|_| Error::Pagination {
        stream: stream.into(),
        reason: "the next-page URL is not a valid URL".into(),
    })?;
    if url.origin() != config.base_url.origin() {
        return Err(Error::Pagination {
            stream: stream.into(),
            reason: format!(
                "the next-page URL points to another host ({}); credentials are not sent there",
                url.host_str().unwrap_or("?")
            ),
        });
    }
    Ok(strip_credentials(&url, &config.auth))
}

/// Removes `oauth_*` parameters and the API-key parameter from a URL's query (the auth's own helper, plus `oauth_*`
/// whatever the method: a server may echo them).
pub(crate) fn strip_credentials(url: &Url, auth: &Auth) -> Url {
    crate::auth::strip_oauth_parameters(&auth.strip_credentials(url))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector::Incremental;
    use crate::paginate::Pagination;
    use crate::secrets::Secret;
    use serde_json::json;

    fn window(since: Option<&str>) -> Window {
        Window::open(
            since.map(|s| s.parse().unwrap()),
            "2026-03-02T09:00:00Z".parse().unwrap(),
        )
    }

    #[test]
    fn page_requests_carry_their_parameters() {
        let config = Config::new("http://127.0.0.1:9/api/", Auth::None).unwrap();
        let stream = Stream::new(
            "t",
            &["id"],
            Endpoint::get("/v1/items").query("order", "asc"),
        )
        .paginate(Pagination::page_number("page").size("per_page", 50))
        .incremental(Incremental::query("modified_after"));
        let planned = plan(&config, &stream, &window(None), &Position::Page(3), None).unwrap();
        assert_eq!(
            planned.url.as_str(),
            "http://127.0.0.1:9/api/v1/items?order=asc&per_page=50&page=3"
        );
        let planned = plan(
            &config,
            &stream,
            &window(Some("2026-01-01T00:00:00Z")),
            &Position::Start,
            Some((7, 1)),
        )
        .unwrap();
        assert_eq!(
            planned.url.as_str(),
            "http://127.0.0.1:9/api/v1/items?order=asc&modified_after=2026-01-01T00%3A00%3A00Z&per_page=1&page=7"
        );
    }

    #[test]
    fn keyset_bodies_embed_the_last_key_and_the_frozen_bound() {
        let config = Config::new("http://127.0.0.1:9", Auth::None).unwrap();
        let stream = Stream::new(
            "customer",
            &["id"],
            Endpoint::post("/q", json!({"q": "SELECT id FROM customer WHERE id > {after} AND d >= '{since}' ORDER BY id"})),
        )
        .paginate(Pagination::keyset("id").after_initial("0").size("limit", 1000))
        .incremental(Incremental::template().initial("1970-01-01T00:00:00Z"));
        let planned = plan(&config, &stream, &window(None), &Position::Start, None).unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(planned.body.as_ref().unwrap()).unwrap();
        assert_eq!(
            body["q"],
            "SELECT id FROM customer WHERE id > 0 AND d >= '1970-01-01T00:00:00Z' ORDER BY id"
        );
        let planned = plan(
            &config,
            &stream,
            &window(None),
            &Position::After("42".into()),
            None,
        )
        .unwrap();
        let body: serde_json::Value =
            serde_json::from_slice(planned.body.as_ref().unwrap()).unwrap();
        assert!(body["q"].as_str().unwrap().contains("id > 42"));
        assert_eq!(planned.url.query(), Some("limit=1000"));
    }

    #[test]
    fn followed_urls_lose_credentials_and_stay_home() {
        let auth = Auth::ApiKeyQuery {
            name: "api_key".into(),
            key: Secret::new("k".into()),
        };
        let config = Config::new("https://shop.example/wp-json", auth).unwrap();
        let url = follow_url(
            &config,
            "https://shop.example/wp-json/wc/v3/orders?page=2&oauth_consumer_key=ck&oauth_signature=x&api_key=k",
            "orders",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://shop.example/wp-json/wc/v3/orders?page=2"
        );
        let error = follow_url(&config, "https://evil.example/x", "orders").unwrap_err();
        assert!(error.to_string().contains("another host"), "{error}");
        let relative = follow_url(&config, "/wp-json/wc/v3/orders?page=3", "orders").unwrap();
        assert_eq!(
            relative.as_str(),
            "https://shop.example/wp-json/wc/v3/orders?page=3"
        );
    }
}
