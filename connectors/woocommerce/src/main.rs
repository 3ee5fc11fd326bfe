//! `woocommerce`: a Fivetran function connector for the WooCommerce REST API (v3) — orders with their line items,
//! products and customers. A declaration over `fivetran-core`; see the README for behaviour and secrets.

use std::time::Duration;

use fivetran_core::auth::{Auth, OAuth1, OAuth1Placement, OAuth1SignatureMethod};
use fivetran_core::connector::{Child, Config, Endpoint, Incremental, Stream};
use fivetran_core::paginate::{Pagination, Total};
use fivetran_core::{Error, Result, Secrets};

/// The REST API's root below the store URL.
const API: &str = "/wp-json/wc/v3";

/// Records per page (WooCommerce's maximum).
const PER_PAGE: u64 = 100;

/// `modified_after` is strictly "after" at one-second resolution, and store and Lambda clocks differ: each window
/// starts this long before the previous one did (the primary keys absorb the re-read rows).
const LOOKBACK: Duration = Duration::from_secs(120);

fn main() -> Result<(), lambda_runtime::Error> {
    fivetran_core::lambda::run(fivetran_core::Engine::new(configure))
}

/// The declaration for one set of secrets.
fn configure(secrets: &Secrets) -> Result<Config> {
    let store = secrets.required("storeUrl")?;
    let store = store.expose().trim_end_matches('/');
    let key = secrets.required("consumerKey")?;
    let secret = secrets.required("consumerSecret")?;
    // URL schemes are case-insensitive (RFC 3986 §3.1): `HTTPS://shop.example` is https.
    let scheme = store.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    let auth = if scheme.as_deref() == Some("https") {
        Auth::Basic {
            username: key,
            password: secret,
        }
    } else if scheme.as_deref() == Some("http") {
        let method = match secrets.optional("signatureMethod")? {
            None => OAuth1SignatureMethod::HmacSha1,
            Some(name) => OAuth1SignatureMethod::from_name(name.expose()).ok_or_else(|| {
                Error::invalid_secret("signatureMethod", "must be HMAC-SHA1 or HMAC-SHA256")
            })?,
        };
        Auth::OAuth1(
            OAuth1::new(key, secret)
                .signature_method(method)
                .placement(OAuth1Placement::Query),
        )
    } else {
        return Err(Error::invalid_secret(
            "storeUrl",
            "must be an https:// (Basic auth) or http:// (OAuth 1.0a) URL",
        ));
    };
    let base = Config::new(&format!("{store}{API}"), auth)
        .map_err(|_| Error::invalid_secret("storeUrl", "is not a valid URL"))?;
    Ok(base
        .setup_test(Endpoint::get("/orders").query("per_page", "1"))
        .stream(
            list("orders", "/orders", Changes::ModifiedAfter).child(Child::new(
                "line_items",
                "order_line_items",
                "order_id",
                &["id"],
            )),
        )
        .stream(list("products", "/products", Changes::ModifiedAfter))
        .stream(list("customers", "/customers", Changes::ReadAll)))
}

/// How a collection narrows each sync to recent changes.
enum Changes {
    /// The server filters: `modified_after` (UTC through `dates_are_gmt`).
    ModifiedAfter,
    /// No server-side filter (customers): every page is read, and records whose `date_modified_gmt` is older
    /// than the window are dropped here.
    ReadAll,
}

/// One collection, in id order (stable while records change), pages fetched concurrently once
/// `X-WP-TotalPages` is known.
fn list(table: &str, path: &str, changes: Changes) -> Stream {
    let mut endpoint = Endpoint::get(path)
        .query("orderby", "id")
        .query("order", "asc");
    let incremental = match changes {
        Changes::ModifiedAfter => {
            endpoint = endpoint.query("dates_are_gmt", "true");
            Incremental::query("modified_after")
        }
        Changes::ReadAll => Incremental::template().filter_field("date_modified_gmt"),
    };
    Stream::new(table, &["id"], endpoint)
        .paginate(
            Pagination::page_number("page")
                .size("per_page", PER_PAGE)
                .total_pages(Total::Header("x-wp-totalpages".into())),
        )
        .incremental(incremental.lookback(LOOKBACK))
}
