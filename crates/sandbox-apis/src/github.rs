//! The GitHub REST API stand-in: issues (pull requests included), issue comments and pulls of fixed repositories, with
//! `Link` paging, `since`/`sort`/`direction`/`state`, bearer auth and rate-limit headers on every response.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use serde_json::json;

use crate::Changing;
use crate::credentials::GITHUB_TOKEN;
use crate::faults::FaultKind;
use crate::github_data::{GitHubData, Item};
use crate::ground_truth::GroundTruth;
use crate::paging::DataClock;
use crate::paging::{at_or_after, json_array, page_range, parse_rfc3339, total_pages};
use crate::server::{ApiRequest, Backend, Reply};

/// The primary rate limit reported in headers (never enforced: use the `quota` fault for that).
const RATE_LIMIT: u64 = 5000;

/// The GitHub stand-in.
pub struct GitHubBackend {
    data: Mutex<GitHubData>,
    used: AtomicU64,
    reset_at: u64,
}

impl GitHubBackend {
    /// `records` issues per repository from `seed`.
    pub fn new(seed: u64, records: usize, clock: DataClock) -> Self {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        GitHubBackend {
            data: Mutex::new(GitHubData::generate(seed, records, clock)),
            used: AtomicU64::new(0),
            reset_at: now + 3600,
        }
    }

    fn rate_headers(&self, reply: Reply) -> Reply {
        let used = self.used.fetch_add(1, Ordering::SeqCst) + 1;
        reply
            .with_header("x-ratelimit-limit", RATE_LIMIT.to_string())
            .with_header(
                "x-ratelimit-remaining",
                RATE_LIMIT.saturating_sub(used).to_string(),
            )
            .with_header("x-ratelimit-reset", self.reset_at.to_string())
            .with_header("x-ratelimit-used", used.to_string())
            .with_header("x-ratelimit-resource", "core")
    }
}

fn message(status: u16, text: &str) -> Reply {
    Reply::json(
        status,
        json!({"message": text, "documentation_url": "https://docs.github.com/rest", "status": status.to_string()}).to_string(),
    )
}

/// A sort key: the sorted value, then the id as a tie-break.
type SortKey = fn(&Item) -> (i64, u64);

#[derive(Clone, Copy, PartialEq)]
#[repr(u8)]
enum Endpoint {
    Issues,
    Comments,
    Pulls,
}

fn list(data: &mut GitHubData, r: usize, endpoint: Endpoint, req: &ApiRequest) -> Reply {
    let per_page = match req.param("per_page").map(str::parse::<usize>) {
        None => 30,
        Some(Ok(n)) => n.clamp(1, 100),
        Some(Err(_)) => return message(422, "Validation Failed: per_page"),
    };
    let page = match req.param("page").map(str::parse::<usize>) {
        None => 1,
        Some(Ok(n)) => n.max(1),
        Some(Err(_)) => return message(422, "Validation Failed: page"),
    };
    let state = req.param("state").unwrap_or("open");
    if endpoint != Endpoint::Comments && !matches!(state, "open" | "closed" | "all") {
        return message(422, "Validation Failed: state");
    }
    let since = match (req.param("since"), endpoint) {
        (Some(s), Endpoint::Issues | Endpoint::Comments) => match parse_rfc3339(s) {
            Some(t) => Some(t),
            None => return message(422, "Validation Failed: since"),
        },
        _ => None,
    };
    let sort = req.param("sort").unwrap_or("created");
    let (sort_id, key): (u8, SortKey) = match (sort, endpoint) {
        ("created", _) | ("long-running", Endpoint::Pulls) => (0, |i| (i.created, i.id)),
        ("updated", _) => (1, |i| (i.updated, i.id)),
        ("comments", Endpoint::Issues) | ("popularity", Endpoint::Pulls) => {
            (2, |i| (i.comments as i64, i.id))
        }
        _ => return message(422, "Validation Failed: sort"),
    };
    let default_desc = match endpoint {
        Endpoint::Issues => true,
        Endpoint::Comments => false,
        Endpoint::Pulls => sort == "created" || req.param("sort").is_none(),
    };
    let descending = match req.param("direction") {
        None => default_desc,
        Some("desc") => true,
        Some("asc") => false,
        Some(_) => return message(422, "Validation Failed: direction"),
    };
    let order = data.sorted(r, endpoint as u8, sort_id, key);
    let items = data.items(r, endpoint as u8);
    let mut selected: Vec<&Item> = order
        .iter()
        .map(|i| &items[*i as usize])
        .filter(|i| endpoint == Endpoint::Comments || state == "all" || (state == "open") == i.open)
        .filter(|i| since.is_none_or(|s| at_or_after(i.updated, s)))
        .collect();
    if descending {
        selected.reverse();
    }
    let total = selected.len();
    let pages = total_pages(total, per_page);
    let body = json_array(
        selected[page_range(total, page, per_page)]
            .iter()
            .map(|i| i.json.as_str()),
    );
    let mut links = Vec::new();
    if page < pages {
        links.push(format!("<{}>; rel=\"next\"", page_link(req, page + 1)));
        links.push(format!("<{}>; rel=\"last\"", page_link(req, pages)));
    }
    if page > 1 {
        links.push(format!("<{}>; rel=\"first\"", page_link(req, 1)));
        links.push(format!(
            "<{}>; rel=\"prev\"",
            page_link(req, (page - 1).min(pages.max(1)))
        ));
    }
    let reply = Reply::json(200, body);
    if links.is_empty() {
        reply
    } else {
        reply.with_header("link", links.join(", "))
    }
}

fn page_link(req: &ApiRequest, page: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in req.query.iter().filter(|(k, _)| k != "page") {
        query.append_pair(k, v);
    }
    query.append_pair("page", &page.to_string());
    format!(
        "{}://{}{}?{}",
        req.scheme(),
        req.host,
        req.path,
        query.finish()
    )
}

impl Backend for GitHubBackend {
    fn handle(&self, req: &ApiRequest) -> Reply {
        let token = req.header("authorization").and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("token "))
        });
        match token {
            None => return self.rate_headers(message(401, "Requires authentication")),
            Some(t) if t.trim() != GITHUB_TOKEN => return message(401, "Bad credentials"),
            Some(_) => {}
        }
        let path = req.path.trim_end_matches('/');
        // GitHub Enterprise serves the same API under `/api/v3`.
        let path = path.strip_prefix("/api/v3").unwrap_or(path);
        let Some(rest) = path.strip_prefix("/repos/") else {
            return self.rate_headers(message(404, "Not Found"));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let (full, endpoint) = match parts.as_slice() {
            [owner, repo, "issues"] => (format!("{owner}/{repo}"), Endpoint::Issues),
            [owner, repo, "issues", "comments"] => (format!("{owner}/{repo}"), Endpoint::Comments),
            [owner, repo, "pulls"] => (format!("{owner}/{repo}"), Endpoint::Pulls),
            _ => return self.rate_headers(message(404, "Not Found")),
        };
        let mut data = self.data.lock().expect("github data lock");
        let Some(r) = data
            .repos
            .iter()
            .position(|r| r.full_name.eq_ignore_ascii_case(&full))
        else {
            return self.rate_headers(message(404, "Not Found"));
        };
        if req.method != "GET" {
            return self.rate_headers(message(404, "Not Found"));
        }
        self.rate_headers(list(&mut data, r, endpoint, req))
    }

    fn change(&self, changing: &Changing) {
        self.data.lock().expect("github data lock").change(changing);
    }

    fn ground_truth(&self) -> GroundTruth {
        self.data.lock().expect("github data lock").ground_truth()
    }

    fn refusal(&self, kind: &FaultKind) -> Reply {
        match kind {
            FaultKind::Unauthorized => message(401, "Bad credentials"),
            FaultKind::RateLimited { .. } => message(429, "API rate limit exceeded."),
            FaultKind::QuotaExhausted { status, .. } => message(
                *status,
                "API rate limit exceeded for user ID 583231. If you reach out to GitHub Support for help, please include the request ID.",
            ),
            FaultKind::SecondaryRateLimit { status, .. } => message(
                *status,
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
            ),
            FaultKind::ServerError { status } => message(*status, "Server Error"),
            _ => message(500, "Server Error"),
        }
    }
}
