//! The WooCommerce REST API (v3) stand-in: `/wp-json/wc/v3/{orders,products,customers}` with WordPress paging headers,
//! OAuth 1.0a one-legged in the query string over http and Basic over https, as real WooCommerce does.

use std::sync::Mutex;
use std::time::SystemTime;

use base64::Engine;
use serde_json::json;

use crate::Changing;
use crate::credentials::{WOO_CONSUMER_KEY, WOO_CONSUMER_SECRET};
use crate::faults::FaultKind;
use crate::ground_truth::GroundTruth;
use crate::oauth::{NonceStore, OAuthError, SignatureMethod, SignedRequest, Verifier, base_uri};
use crate::paging::DataClock;
use crate::paging::{json_array, page_range, total_pages};
use crate::server::{ApiRequest, Backend, Reply};
use crate::woo_data::{Rec, SITE_OFFSET_SECS, WooData};

/// The WooCommerce stand-in.
pub struct WooBackend {
    data: Mutex<WooData>,
    nonces: NonceStore,
    verifier: Verifier,
}

impl WooBackend {
    /// A store with `records` orders generated from `seed`.
    pub fn new(seed: u64, records: usize, clock: DataClock) -> Self {
        WooBackend {
            data: Mutex::new(WooData::generate(seed, records, clock)),
            nonces: NonceStore::default(),
            verifier: Verifier {
                consumer_key: WOO_CONSUMER_KEY.into(),
                consumer_secret: WOO_CONSUMER_SECRET.into(),
                token: None,
                window_secs: 15 * 60,
                methods: vec![SignatureMethod::HmacSha1, SignatureMethod::HmacSha256],
            },
        }
    }

    fn authenticate(&self, req: &ApiRequest) -> Result<(), Reply> {
        if req.tls {
            if let Some(header) = req.header("authorization") {
                let decoded = header
                    .strip_prefix("Basic ")
                    .and_then(|b| {
                        base64::engine::general_purpose::STANDARD
                            .decode(b.trim())
                            .ok()
                    })
                    .and_then(|b| String::from_utf8(b).ok());
                return match decoded.as_deref().and_then(|d| d.split_once(':')) {
                    Some((WOO_CONSUMER_KEY, WOO_CONSUMER_SECRET)) => Ok(()),
                    Some((WOO_CONSUMER_KEY, _)) => Err(auth_error("Consumer secret is invalid.")),
                    _ => Err(auth_error("Consumer key is invalid.")),
                };
            }
            return match (req.param("consumer_key"), req.param("consumer_secret")) {
                (Some(WOO_CONSUMER_KEY), Some(WOO_CONSUMER_SECRET)) => Ok(()),
                (Some(_), _) => Err(auth_error("Consumer key is invalid.")),
                _ => Err(cannot_view()),
            };
        }
        // Plain http: only OAuth 1.0a in the query string (Basic is ignored there, as in WooCommerce).
        if req.param("oauth_consumer_key").is_none() {
            return Err(cannot_view());
        }
        let uri = base_uri(req.scheme(), &req.host, &req.path);
        let signed = SignedRequest {
            method: &req.method,
            base_uri: &uri,
            params: &req.query,
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.verifier
            .verify(&signed, now, req.nonce_fresh)
            .map_err(|e| {
                auth_error(match e {
                    OAuthError::BadSignature => {
                        "Invalid signature - provided signature does not match."
                    }
                    OAuthError::ExpiredTimestamp | OAuthError::BadTimestamp => "Invalid timestamp.",
                    OAuthError::NonceReused => "Invalid nonce - nonce has already been used.",
                    OAuthError::UnknownConsumer => "Consumer key is invalid.",
                    OAuthError::Duplicated(_) => "Duplicated OAuth parameter.",
                    OAuthError::UnsupportedMethod(_) => "Invalid signature method.",
                    _ => "Missing OAuth parameter.",
                })
            })
    }
}

fn auth_error(message: &str) -> Reply {
    Reply::json(
        401,
        json!({"code": "woocommerce_rest_authentication_error", "message": message, "data": {"status": 401}}).to_string(),
    )
}

fn cannot_view() -> Reply {
    Reply::json(
        401,
        json!({"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}})
            .to_string(),
    )
}

fn invalid_param(name: &str, why: &str) -> Reply {
    Reply::json(
        400,
        json!({"code": "rest_invalid_param", "message": format!("Invalid parameter(s): {name}"),
               "data": {"status": 400, "params": {name: why}}})
        .to_string(),
    )
}

#[derive(Clone, Copy, PartialEq)]
#[repr(u8)]
enum Collection {
    Orders,
    Products,
    Customers,
}

#[derive(Clone, Copy)]
#[repr(u8)]
enum OrderBy {
    Id,
    Date,
    Modified,
    Name,
}

fn list(data: &mut WooData, collection: Collection, req: &ApiRequest) -> Reply {
    let Ok(page) = req.param("page").unwrap_or("1").parse::<usize>() else {
        return invalid_param("page", "page is not of type integer.");
    };
    if page == 0 {
        return invalid_param("page", "page must be greater than or equal to 1");
    }
    let per_page = req
        .param("per_page")
        .unwrap_or("10")
        .parse::<usize>()
        .unwrap_or(0);
    if !(1..=100).contains(&per_page) {
        return invalid_param(
            "per_page",
            "per_page must be between 1 (inclusive) and 100 (inclusive)",
        );
    }
    let customers = collection == Collection::Customers;
    let descending = match req
        .param("order")
        .unwrap_or(if customers { "asc" } else { "desc" })
    {
        "asc" => false,
        "desc" => true,
        _ => return invalid_param("order", "order is not one of asc and desc."),
    };
    let orderby = match (
        req.param("orderby")
            .unwrap_or(if customers { "name" } else { "date" }),
        customers,
    ) {
        ("id" | "include", _) => OrderBy::Id,
        ("date", false) | ("registered_date", true) => OrderBy::Date,
        ("modified", false) => OrderBy::Modified,
        ("title" | "slug", false) | ("name", true) => OrderBy::Name,
        _ => return invalid_param("orderby", "orderby is not one of the allowed values."),
    };
    // Date filters (orders, products): `after`/`before` on the creation date, `modified_after`/`modified_before` on the
    // modification date, all strict, at one-second resolution.
    let gmt = req
        .param("dates_are_gmt")
        .is_some_and(|v| v == "true" || v == "1");
    let mut bounds = [None; 4];
    for (slot, name) in ["after", "before", "modified_after", "modified_before"]
        .into_iter()
        .enumerate()
    {
        if let (Some(value), false) = (req.param(name), customers) {
            match parse_wp_date(value, gmt) {
                Some(t) => bounds[slot] = Some(t),
                None => return invalid_param(name, "Invalid date."),
            }
        }
    }
    let [after, before, modified_after, modified_before] = bounds;
    let order = data.sorted(collection as u8, orderby as u8, |recs| {
        let mut index: Vec<u32> = (0..recs.len() as u32).collect();
        let rec = |i: &u32| &recs[*i as usize];
        match orderby {
            OrderBy::Id => {}
            OrderBy::Date => index.sort_by_key(|i| (rec(i).created, rec(i).id)),
            OrderBy::Modified => index.sort_by_key(|i| (rec(i).modified, rec(i).id)),
            OrderBy::Name => {
                index.sort_by(|a, b| (&rec(a).name, rec(a).id).cmp(&(&rec(b).name, rec(b).id)))
            }
        }
        index
    });
    let recs = match collection {
        Collection::Orders => &data.orders,
        Collection::Products => &data.products,
        Collection::Customers => &data.customers,
    };
    let mut selected: Vec<&Rec> = order
        .iter()
        .map(|i| &recs[*i as usize])
        .filter(|r| after.is_none_or(|t| r.created > t) && before.is_none_or(|t| r.created < t))
        .filter(|r| {
            modified_after.is_none_or(|t| r.modified > t)
                && modified_before.is_none_or(|t| r.modified < t)
        })
        .collect();
    if descending {
        selected.reverse();
    }
    let total = selected.len();
    let pages = total_pages(total, per_page);
    let body = json_array(
        selected[page_range(total, page, per_page)]
            .iter()
            .map(|r| r.json.as_str()),
    );
    let mut reply = Reply::json(200, body)
        .with_header("x-wp-total", total.to_string())
        .with_header("x-wp-totalpages", pages.to_string());
    let mut links = Vec::new();
    if page > 1 && pages > 0 {
        links.push(format!(
            "<{}>; rel=\"prev\"",
            page_link(req, (page - 1).min(pages))
        ));
    }
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", page_link(req, page + 1)));
    }
    if !links.is_empty() {
        reply = reply.with_header("link", links.join(", "));
    }
    reply
}

/// The request's own URL with `page` set: every other query parameter repeated, `oauth_*` included.
fn page_link(req: &ApiRequest, page: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let mut replaced = false;
    for (k, v) in &req.query {
        if k == "page" {
            if !replaced {
                query.append_pair("page", &page.to_string());
                replaced = true;
            }
        } else {
            query.append_pair(k, v);
        }
    }
    if !replaced {
        query.append_pair("page", &page.to_string());
    }
    format!(
        "{}://{}{}?{}",
        req.scheme(),
        req.host,
        req.path,
        query.finish()
    )
}

/// Parses a WordPress ISO 8601 date: with a zone as given; without one, UTC when `gmt`, else the site's local time.
fn parse_wp_date(s: &str, gmt: bool) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp());
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S"))
        .ok()?;
    let t = naive.and_utc().timestamp();
    Some(if gmt { t } else { t - SITE_OFFSET_SECS })
}

impl Backend for WooBackend {
    fn handle(&self, req: &ApiRequest) -> Reply {
        let collection = match req.path.trim_end_matches('/') {
            "/wp-json/wc/v3/orders" => Collection::Orders,
            "/wp-json/wc/v3/products" => Collection::Products,
            "/wp-json/wc/v3/customers" => Collection::Customers,
            _ => {
                return Reply::json(
                    404,
                    json!({"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
                           "data": {"status": 404}})
                    .to_string(),
                );
            }
        };
        if let Err(reply) = self.authenticate(req) {
            return reply;
        }
        if req.method != "GET" {
            return Reply::json(
                405,
                json!({"code": "rest_no_route", "data": {"status": 405}}).to_string(),
            );
        }
        list(
            &mut self.data.lock().expect("woo data lock"),
            collection,
            req,
        )
    }

    fn observe(&self, req: &mut ApiRequest) {
        if let (Some(key), Some(nonce)) =
            (req.param("oauth_consumer_key"), req.param("oauth_nonce"))
        {
            req.nonce_fresh = self.nonces.spend(key, nonce);
        }
    }

    fn change(&self, changing: &Changing) {
        self.data.lock().expect("woo data lock").change(changing);
    }

    fn ground_truth(&self) -> GroundTruth {
        self.data.lock().expect("woo data lock").ground_truth()
    }

    fn refusal(&self, kind: &FaultKind) -> Reply {
        let (status, code, message) = match kind {
            FaultKind::Unauthorized => (
                401,
                "woocommerce_rest_authentication_error",
                "Consumer key is invalid.",
            ),
            FaultKind::RateLimited { .. } => (
                429,
                "woocommerce_rest_too_many_requests",
                "Too many requests.",
            ),
            FaultKind::QuotaExhausted { status, .. }
            | FaultKind::SecondaryRateLimit { status, .. } => (
                *status,
                "woocommerce_rest_too_many_requests",
                "Too many requests.",
            ),
            FaultKind::ServerError { status } => (
                *status,
                "internal_server_error",
                "There has been a critical error on this website.",
            ),
            _ => (
                500,
                "internal_server_error",
                "There has been a critical error on this website.",
            ),
        };
        Reply::json(
            status,
            json!({"code": code, "message": message, "data": {"status": status}}).to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wp_dates() {
        assert_eq!(
            parse_wp_date("2026-01-01T00:00:00", true),
            Some(crate::paging::EPOCH_2026)
        );
        assert_eq!(
            parse_wp_date("2026-01-01T01:00:00", false),
            Some(crate::paging::EPOCH_2026)
        );
        assert_eq!(
            parse_wp_date("2026-01-01T00:00:00Z", false),
            Some(crate::paging::EPOCH_2026)
        );
        assert_eq!(parse_wp_date("yesterday", true), None);
    }
}
