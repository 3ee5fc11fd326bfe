//! The NetSuite SuiteQL REST stand-in: `POST /services/rest/query/v1/suiteql?limit&offset` with TBA (OAuth 1.0a,
//! consumer + token, `realm`, HMAC-SHA256) in the `Authorization` header, `Prefer: transient`, and the 100,000-row
//! offset ceiling.

use std::cmp::Ordering;
use std::sync::Mutex;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use crate::Changing;
use crate::credentials::{
    NETSUITE_ACCOUNT_ID, NETSUITE_CONSUMER_KEY, NETSUITE_CONSUMER_SECRET, NETSUITE_TOKEN_ID,
    NETSUITE_TOKEN_SECRET,
};
use crate::faults::FaultKind;
use crate::ground_truth::GroundTruth;
use crate::netsuite_data::{DATE_COLUMNS, NetSuiteData, NsRow, columns};
use crate::oauth::{
    NonceStore, SignatureMethod, SignedRequest, Verifier, base_uri, parse_authorization,
};
use crate::paging::DataClock;
use crate::server::{ApiRequest, Backend, Reply};
use crate::suiteql::{Literal, Query, SelectItem, parse};

/// Rows of one query reachable by offset paging.
pub const OFFSET_CEILING: usize = 100_000;

const QUERY_PATH: &str = "/services/rest/query/v1/suiteql";

/// The NetSuite stand-in.
pub struct NetSuiteBackend {
    data: Mutex<NetSuiteData>,
    nonces: NonceStore,
    verifier: Verifier,
}

impl NetSuiteBackend {
    /// `records` rows per record type from `seed`.
    pub fn new(seed: u64, records: usize, clock: DataClock) -> Self {
        NetSuiteBackend {
            data: Mutex::new(NetSuiteData::generate(seed, records, clock)),
            nonces: NonceStore::default(),
            verifier: Verifier {
                consumer_key: NETSUITE_CONSUMER_KEY.into(),
                consumer_secret: NETSUITE_CONSUMER_SECRET.into(),
                token: Some((NETSUITE_TOKEN_ID.into(), NETSUITE_TOKEN_SECRET.into())),
                window_secs: 300,
                methods: vec![SignatureMethod::HmacSha256],
            },
        }
    }

    fn authenticate(&self, req: &ApiRequest) -> Result<(), Reply> {
        let header = req.header("authorization").ok_or_else(unauthorized)?;
        let mut params = parse_authorization(header).map_err(|_| unauthorized())?;
        if !params
            .iter()
            .any(|(k, v)| k == "realm" && v == NETSUITE_ACCOUNT_ID)
        {
            return Err(unauthorized());
        }
        params.extend(req.query.iter().cloned());
        let uri = base_uri(req.scheme(), &req.host, &req.path);
        let signed = SignedRequest {
            method: &req.method,
            base_uri: &uri,
            params: &params,
        };
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.verifier
            .verify(&signed, now, req.nonce_fresh)
            .map_err(|_| unauthorized())
    }
}

/// NetSuite's error body.
fn ns_error(status: u16, title: &str, detail: &str, code: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "type": format!("https://www.rfc-editor.org/rfc/rfc9110.html#section-15.{}", if status >= 500 { "6.1" } else { "5.1" }),
            "title": title, "status": status,
            "o:errorDetails": [{"detail": detail, "o:errorCode": code}],
        })
        .to_string(),
    )
}

fn unauthorized() -> Reply {
    ns_error(
        401,
        "Unauthorized",
        "Invalid login attempt.",
        "INVALID_LOGIN",
    )
}

fn bad_query(why: &str) -> Reply {
    let detail = format!(
        "Invalid search query. Detailed unprocessed description follows. Search error occurred: {why}"
    );
    let mut reply = ns_error(400, "Bad Request", &detail, "INVALID_PARAMETER");
    if let Ok(mut v) = serde_json::from_slice::<Value>(&reply.body) {
        v["o:errorDetails"][0]["o:errorQueryParam"] = json!("q");
        reply.body = v.to_string().into();
    }
    reply
}

fn bad_param(detail: &str) -> Reply {
    ns_error(400, "Bad Request", detail, "INVALID_PARAMETER")
}

/// Compares a row's column with a literal, or says why it cannot.
fn compare(row: &NsRow, column: &str, value: &Literal) -> Result<Ordering, String> {
    if let ("id", Literal::Number(n)) = (column, value) {
        return Ok(row.id.cmp(n));
    }
    if DATE_COLUMNS.contains(&column) {
        let Literal::Date(t) = value else {
            return Err(format!("compare {column} with TO_DATE(...)"));
        };
        return row
            .local_time(column)
            .map(|l| l.cmp(t))
            .ok_or_else(|| format!("Unknown identifier '{column}'"));
    }
    let Some(text) = row.value(column) else {
        return Ok(Ordering::Less);
    };
    match value {
        Literal::Number(n) => Ok(text.parse::<i64>().map_or(Ordering::Less, |v| v.cmp(n))),
        Literal::Text(t) => Ok(text.as_str().cmp(t.as_str())),
        Literal::Date(_) => Err(format!("{column} is not a date")),
    }
}

fn run(data: &NetSuiteData, query: &Query, req: &ApiRequest, limit: usize, offset: usize) -> Reply {
    let Some((record_type, rows)) = data.tables.iter().find(|(t, _)| **t == query.from) else {
        return bad_query(&format!("Record '{}' was not found.", query.from));
    };
    let used = query
        .conditions
        .iter()
        .map(|c| c.column.as_str())
        .chain(query.order.iter().map(|(c, _)| c.as_str()));
    let selected_columns = query.select.iter().filter_map(|s| match s {
        SelectItem::All => None,
        SelectItem::Column { column, .. } | SelectItem::ToChar { column, .. } => {
            Some(column.as_str())
        }
    });
    if let Some(unknown) = used
        .chain(selected_columns)
        .find(|c| !columns(record_type).contains(c))
    {
        return bad_query(&format!("Unknown identifier '{unknown}'."));
    }
    let mut matched = Vec::new();
    for row in rows {
        let mut keep = true;
        for c in &query.conditions {
            match compare(row, &c.column, &c.value) {
                Ok(ord) => keep &= c.op.holds(ord),
                Err(why) => return bad_query(&why),
            }
        }
        if keep {
            matched.push(row);
        }
    }
    if !query.order.iter().all(|(c, _)| c == "id") || query.order.iter().any(|(_, d)| *d) {
        matched.sort_by(|a, b| {
            for (column, descending) in &query.order {
                let ord = match column.as_str() {
                    "id" => a.id.cmp(&b.id),
                    c if DATE_COLUMNS.contains(&c) => a.local_time(c).cmp(&b.local_time(c)),
                    c => a.value(c).cmp(&b.value(c)),
                };
                let ord = if *descending { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    let total = matched.len();
    let end = (offset + limit).min(total).min(OFFSET_CEILING);
    let page = &matched[offset.min(end)..end];
    let star_only = query.select == [SelectItem::All];
    let mut items = String::from("[");
    for (i, row) in page.iter().enumerate() {
        if i > 0 {
            items.push(',');
        }
        if star_only {
            items.push_str(&row.star_json);
        } else {
            items.push_str(&Value::Object(project(row, record_type, query)).to_string());
        }
    }
    items.push(']');
    let has_more = offset + page.len() < total;
    let link = |o: usize| {
        format!(
            "{}://{}{QUERY_PATH}?limit={limit}&offset={o}",
            req.scheme(),
            req.host
        )
    };
    let mut links = Vec::new();
    if offset > 0 {
        links.push(json!({"rel": "previous", "href": link(offset.saturating_sub(limit))}));
        links.push(json!({"rel": "first", "href": link(0)}));
    }
    if has_more {
        links.push(json!({"rel": "next", "href": link(offset + limit)}));
        let last = total.saturating_sub(1) / limit * limit;
        links.push(json!({"rel": "last", "href": link(last)}));
    }
    links.push(json!({"rel": "self", "href": link(offset)}));
    let body = format!(
        r#"{{"links":{},"count":{},"hasMore":{has_more},"offset":{offset},"totalResults":{total},"items":{items}}}"#,
        Value::Array(links),
        page.len(),
    );
    Reply::json(200, body)
}

fn project(row: &NsRow, record_type: &str, query: &Query) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("links".into(), json!([]));
    for item in &query.select {
        match item {
            SelectItem::All => m.extend(row.star(record_type)),
            SelectItem::Column { column, name } => {
                if let Some(v) = row.value(column) {
                    m.insert(name.clone(), json!(v));
                }
            }
            SelectItem::ToChar {
                column,
                format,
                name,
            } => {
                let text = match row.local_time(column) {
                    Some(t) => chrono::DateTime::<chrono::Utc>::from_timestamp(t, 0)
                        .unwrap_or_default()
                        .naive_utc()
                        .format(format.chrono())
                        .to_string(),
                    None => row.value(column).unwrap_or_default(),
                };
                m.insert(name.clone(), json!(text));
            }
        }
    }
    m
}

impl Backend for NetSuiteBackend {
    fn handle(&self, req: &ApiRequest) -> Reply {
        if req.path.trim_end_matches('/') != QUERY_PATH {
            return ns_error(
                404,
                "Not Found",
                "The requested resource was not found.",
                "NONEXISTENT_ID",
            );
        }
        if let Err(reply) = self.authenticate(req) {
            return reply;
        }
        if req.method != "POST" {
            return ns_error(
                405,
                "Method Not Allowed",
                "Use POST for SuiteQL queries.",
                "INVALID_REQUEST",
            );
        }
        if !req
            .header("prefer")
            .is_some_and(|p| p.to_ascii_lowercase().contains("transient"))
        {
            return bad_param(
                "The request header 'Prefer: transient' is required for SuiteQL queries.",
            );
        }
        let limit = match req.param("limit").map(str::parse::<usize>) {
            None => 1000,
            Some(Ok(n)) if (1..=1000).contains(&n) => n,
            _ => {
                return bad_param(
                    "Invalid value for the 'limit' query parameter: it must be between 1 and 1000.",
                );
            }
        };
        let offset = match req.param("offset").map(str::parse::<usize>) {
            None => 0,
            Some(Ok(n)) => n,
            _ => return bad_param("Invalid value for the 'offset' query parameter."),
        };
        if offset % limit != 0 {
            return bad_param(
                "Invalid value for the 'offset' query parameter: it must be a multiple of 'limit'.",
            );
        }
        if offset >= OFFSET_CEILING {
            return bad_param(
                "Invalid value for the 'offset' query parameter: a query can be paged through its first 100000 results only.",
            );
        }
        let q = serde_json::from_slice::<Value>(&req.body)
            .ok()
            .and_then(|v| v.get("q").and_then(Value::as_str).map(str::to_owned));
        let Some(q) = q else {
            return bad_param("The request body must be a JSON object with a string member 'q'.");
        };
        let query = match parse(&q) {
            Ok(query) => query,
            Err(why) => return bad_query(&why),
        };
        run(
            &self.data.lock().expect("netsuite data lock"),
            &query,
            req,
            limit,
            offset,
        )
    }

    fn observe(&self, req: &mut ApiRequest) {
        let params = req
            .header("authorization")
            .and_then(|h| parse_authorization(h).ok())
            .unwrap_or_default();
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if let (Some(key), Some(nonce)) = (get("oauth_consumer_key"), get("oauth_nonce")) {
            req.nonce_fresh = self.nonces.spend(key, nonce);
        }
    }

    fn change(&self, changing: &Changing) {
        self.data
            .lock()
            .expect("netsuite data lock")
            .change(changing);
    }

    fn ground_truth(&self) -> GroundTruth {
        self.data.lock().expect("netsuite data lock").ground_truth()
    }

    fn refusal(&self, kind: &FaultKind) -> Reply {
        match kind {
            FaultKind::Unauthorized => unauthorized(),
            FaultKind::RateLimited { .. } => ns_error(
                429,
                "Too Many Requests",
                "Concurrent request limit exceeded. Request blocked.",
                "CONCURRENCY_LIMIT_EXCEEDED",
            ),
            FaultKind::QuotaExhausted { status, .. }
            | FaultKind::SecondaryRateLimit { status, .. } => ns_error(
                *status,
                "Too Many Requests",
                "Request limit exceeded.",
                "REQUEST_LIMIT_EXCEEDED",
            ),
            FaultKind::ServerError { status } => ns_error(
                *status,
                "Internal Server Error",
                "An unexpected error occurred.",
                "UNEXPECTED_ERROR",
            ),
            _ => ns_error(
                500,
                "Internal Server Error",
                "An unexpected error occurred.",
                "UNEXPECTED_ERROR",
            ),
        }
    }
}
