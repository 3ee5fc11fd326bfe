//! `netsuite`: a Fivetran function connector for NetSuite SuiteQL over token-based authentication (OAuth 1.0a,
//! HMAC-SHA256, realm) — one table per record type, keyset-paged by id, incremental on `lastmodifieddate`.
//! A declaration over `fivetran-core`; see the README for behaviour and secrets.

use std::time::Duration;

use fivetran_core::auth::{Auth, OAuth1, OAuth1SignatureMethod};
use fivetran_core::connector::{Config, CursorFormat, Endpoint, Incremental, Stream};
use fivetran_core::paginate::Pagination;
use fivetran_core::{Error, Result, Secrets};
use serde_json::json;

/// The SuiteQL endpoint.
const SUITEQL: &str = "/services/rest/query/v1/suiteql";

/// Rows per request (SuiteQL's maximum).
const LIMIT: u64 = 1000;

/// The record types synced when `recordTypes` is not set.
const DEFAULT_RECORD_TYPES: &str = "customer,transaction,item";

/// `TO_DATE` reads the bound in the account's time zone while the engine's window is in UTC: the lookback covers
/// the most negative offset (UTC−12:00) plus an hour of clock skew, so no time zone can make the window start late.
const LOOKBACK: Duration = Duration::from_secs(13 * 3600);

/// The explicit date form: NetSuite's default rendering follows account preferences (`1/15/2026`, no time).
const DATE_FORM: &str = "YYYY-MM-DD HH24:MI:SS";

fn main() -> Result<(), lambda_runtime::Error> {
    fivetran_core::lambda::run(fivetran_core::Engine::new(configure))
}

/// The declaration for one set of secrets.
fn configure(secrets: &Secrets) -> Result<Config> {
    let account = secrets.required("accountId")?;
    let account = account.expose();
    if !account
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(Error::invalid_secret(
            "accountId",
            "must be letters, digits, `_` or `-`",
        ));
    }
    let realm = account.to_ascii_uppercase().replace('-', "_");
    let host = format!(
        "https://{}.suitetalk.api.netsuite.com",
        account.to_ascii_lowercase().replace('_', "-")
    );
    let base = secrets
        .optional("baseUrl")?
        .map_or(host, |url| url.expose().clone());
    let auth = Auth::OAuth1(
        OAuth1::new(
            secrets.required("consumerKey")?,
            secrets.required("consumerSecret")?,
        )
        .token(
            secrets.required("tokenId")?,
            secrets.required("tokenSecret")?,
        )
        .signature_method(OAuth1SignatureMethod::HmacSha256)
        .realm(realm),
    );
    let types = secrets.list("recordTypes")?.unwrap_or_default();
    let types: Vec<String> = if types.is_empty() {
        DEFAULT_RECORD_TYPES.split(',').map(str::to_owned).collect()
    } else {
        types.iter().map(|t| t.to_ascii_lowercase()).collect()
    };
    if let Some(bad) = types
        .iter()
        .find(|t| !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        return Err(Error::invalid_secret(
            "recordTypes",
            format!("`{bad}` is not a record type name"),
        ));
    }
    let probe = format!("SELECT id FROM {} WHERE id > 0 ORDER BY id", types[0]);
    let mut config = Config::new(&base, auth)?
        .setup_test(query(&probe).query("limit", "1"))
        .concurrency(1);
    for record_type in &types {
        config = config.stream(record_stream(record_type));
    }
    Ok(config)
}

/// One record type: `SELECT *` plus the modification time in an explicit form, keyset-paged by id (offsets stop
/// at 100,000 rows), over the frozen window `lastmodifieddate >= {since}`.
fn record_stream(record_type: &str) -> Stream {
    let q = format!(
        "SELECT t.*, TO_CHAR(t.lastmodifieddate, 'YYYY-MM-DD\"T\"HH24:MI:SS') AS lastmodifieddate_iso \
         FROM {record_type} t WHERE t.id > {{after}} \
         AND t.lastmodifieddate >= TO_DATE('{{since}}', '{DATE_FORM}') ORDER BY t.id"
    );
    Stream::new(record_type, &["id"], query(&q))
        .records("/items")
        .paginate(
            Pagination::keyset("id")
                .after_initial("0")
                .size("limit", LIMIT)
                .has_more("/hasMore"),
        )
        .incremental(
            Incremental::template()
                .format(CursorFormat::Strftime("%Y-%m-%d %H:%M:%S".into()))
                .initial("1900-01-01 00:00:00")
                .lookback(LOOKBACK),
        )
        .exclude("links")
}

/// A SuiteQL request (`Prefer: transient` is required).
fn query(q: &str) -> Endpoint {
    Endpoint::post(SUITEQL, json!({ "q": q })).header("prefer", "transient")
}
