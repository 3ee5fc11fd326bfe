//! The GitHub connector: issues (pull requests included), issue comments and pull requests of a list of
//! repositories, declared over `fivetran-core` (one stream per repository and table; the streams share the table).
//!
//! Every list is read in a stable order — `sort=created&direction=asc` — so a record updated while the sync pages
//! cannot jump over the page being read (see `fivetran_core`'s crate docs, "Consistency"). Issues and comments are
//! filtered on the server with `since`; pulls have no `since`, so they are read in full and records older than the
//! window are dropped before they reach the response.

use std::time::Duration;

use fivetran_core::auth::Auth;
use fivetran_core::connector::{Config, Endpoint, Incremental, Stream};
use fivetran_core::http::HttpSettings;
use fivetran_core::paginate::Pagination;
use fivetran_core::{Error, Result, Secrets};

/// The API used when `baseUrl` is not given (GitHub Enterprise: `https://HOST/api/v3`).
const DEFAULT_BASE_URL: &str = "https://api.github.com";

/// GitHub's largest page, the default of the optional `pageSize` secret.
const PAGE_SIZE: u64 = 100;

/// How far before the previous sync's start the next window begins: clock skew between GitHub and Lambda, and the
/// short delay before an update shows in GitHub's lists.
const LOOKBACK: Duration = Duration::from_secs(300);

/// The longest primary-rate-limit wait (GitHub's window is one hour); a wait that does not fit the invocation's
/// deadline is never taken: the call returns what it gathered with `hasMore: true`.
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// The tables: name, path under `/repos/{owner}/{repo}/`, and whether the endpoint filters on `updated_at` with
/// `since` (pulls do not: their records are filtered here).
const TABLES: [(&str, &str, bool); 3] = [
    ("issues", "issues", true),
    ("issue_comments", "issues/comments", true),
    ("pull_requests", "pulls", false),
];

fn configure(secrets: &Secrets) -> Result<Config> {
    let token = secrets.required("token")?;
    let repositories = repositories(secrets)?;
    let page_size = match secrets.parsed::<u64>("pageSize", "a whole number from 1 to 100")? {
        None => PAGE_SIZE,
        Some(size @ 1..=PAGE_SIZE) => size,
        Some(_) => return Err(Error::invalid_secret("pageSize", "must be from 1 to 100")),
    };
    let base_url = secrets
        .optional("baseUrl")?
        .map_or_else(|| DEFAULT_BASE_URL.to_owned(), |url| url.expose().clone());
    let http = HttpSettings {
        retry_after_cap: LONGEST_WAIT,
        ..HttpSettings::default()
    };
    let mut config = Config::new(&base_url, Auth::Bearer(token))?
        .http(http)
        .header("accept", "application/vnd.github+json")
        .header("x-github-api-version", "2022-11-28")
        .header(
            "user-agent",
            concat!("fivetran-github-connector/", env!("CARGO_PKG_VERSION")),
        );
    // One request per repository: a misspelt or inaccessible one fails the setup test, not the first sync.
    for repository in &repositories {
        config = config.setup_test(
            Endpoint::get(&format!("/repos/{repository}/issues")).query("per_page", "1"),
        );
    }
    for (table, path, server_since) in TABLES {
        for repository in &repositories {
            let mut endpoint = Endpoint::get(&format!("/repos/{repository}/{path}"))
                .query("sort", "created")
                .query("direction", "asc");
            if table != "issue_comments" {
                // Issues and pulls list only open ones by default.
                endpoint = endpoint.query("state", "all");
            }
            let incremental = if server_since {
                Incremental::query("since")
            } else {
                Incremental::template().filter_field("updated_at")
            };
            let mut stream = Stream::new(table, &["id"], endpoint)
                .state_key(&format!("{table}:{repository}"))
                .paginate(Pagination::link_header().size("per_page", page_size))
                .incremental(incremental.lookback(LOOKBACK));
            if table == "issues" {
                // Issue ids are global, but the API's issue objects do not name their repository.
                stream = stream.constant("repository", repository.as_str());
            }
            config = config.stream(stream);
        }
    }
    Ok(config)
}

/// The `repositories` secret: comma-separated `owner/repo` names, each once (GitHub's names are case-insensitive).
fn repositories(secrets: &Secrets) -> Result<Vec<String>> {
    let names = secrets.list("repositories")?.unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let valid = name.split('/').count() == 2
            && name.split('/').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            });
        if !valid {
            return Err(Error::invalid_secret(
                "repositories",
                format!("`{name}` is not an `owner/repo` name"),
            ));
        }
        if !out.iter().any(|known| known.eq_ignore_ascii_case(&name)) {
            out.push(name);
        }
    }
    if out.is_empty() {
        return Err(Error::invalid_secret(
            "repositories",
            "must list at least one `owner/repo`",
        ));
    }
    Ok(out)
}

fn main() -> Result<(), lambda_runtime::Error> {
    fivetran_core::lambda::run(fivetran_core::Engine::new(configure))
}
