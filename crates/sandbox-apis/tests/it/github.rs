//! The GitHub stand-in: bearer auth, `Link` paging, filters and sorting, pull requests inside issues, rate-limit headers,
//! changing data and determinism.

use std::collections::BTreeMap;

use sandbox_apis::credentials::GITHUB_TOKEN;
use sandbox_apis::{Api, Changing, Faults, Row, Sandbox, SandboxConfig, start};
use serde_json::{Value, json};

use crate::support::{Got, client, send};

const REPO: &str = "octo-org/widgets";

async fn github(records: usize, seed: u64) -> Sandbox {
    start(SandboxConfig {
        records,
        seed,
        ..SandboxConfig::new(Api::GitHub)
    })
    .await
    .unwrap()
}

async fn get_url(url: &str) -> Got {
    send(
        client()
            .get(url)
            .bearer_auth(GITHUB_TOKEN)
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header("user-agent", "sandbox-test"),
    )
    .await
}

fn next_link(got: &Got) -> Option<String> {
    let link = got.header("link")?;
    link.split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .map(|l| {
            l.trim_start_matches('<')
                .split(">;")
                .next()
                .unwrap()
                .to_owned()
        })
}

/// Follows `rel="next"` from `path_and_query` to the end.
async fn read_all(sandbox: &Sandbox, path_and_query: &str) -> Vec<Value> {
    let mut url = Some(format!("{}{path_and_query}", sandbox.base_url()));
    let mut out = Vec::new();
    while let Some(u) = url {
        let got = get_url(&u).await;
        assert_eq!(got.status, 200, "{}", got.text);
        out.extend(got.json().as_array().unwrap().iter().cloned());
        url = next_link(&got);
    }
    out
}

#[tokio::test]
async fn bearer_token_is_checked() {
    let sandbox = github(5, 1).await;
    let url = format!("{}/repos/{REPO}/issues", sandbox.base_url());
    let got = send(client().get(&url).header("user-agent", "t")).await;
    assert_eq!(
        (got.status, got.json()["message"].as_str()),
        (401, Some("Requires authentication"))
    );
    let got = send(
        client()
            .get(&url)
            .bearer_auth("ghp_wrong")
            .header("user-agent", "t"),
    )
    .await;
    assert_eq!(
        (got.status, got.json()["message"].as_str()),
        (401, Some("Bad credentials"))
    );
    let got = send(
        client()
            .get(&url)
            .header("authorization", format!("token {GITHUB_TOKEN}")),
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(
        get_url(&format!(
            "{}/repos/nobody/nothing/issues",
            sandbox.base_url()
        ))
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn link_paging_reads_everything_with_per_page_capped_at_100() {
    let sandbox = github(250, 2).await;
    let first = get_url(&format!(
        "{}/repos/{REPO}/issues?state=all&per_page=500",
        sandbox.base_url()
    ))
    .await;
    assert_eq!(first.json().as_array().unwrap().len(), 100);
    let link = first.header("link").unwrap();
    assert!(
        link.contains("rel=\"next\"") && link.contains("rel=\"last\"") && link.contains("page=2"),
        "{link}"
    );
    let all = read_all(
        &sandbox,
        &format!("/repos/{REPO}/issues?state=all&per_page=30"),
    )
    .await;
    assert_eq!(all.len(), 250);
    let ids: std::collections::BTreeSet<u64> =
        all.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids.len(), 250);
    assert!(
        all.iter()
            .all(|i| i["id"].as_u64().unwrap() > u64::from(u32::MAX)),
        "ids beyond 32 bits"
    );
    let last = get_url(&format!(
        "{}/repos/{REPO}/issues?state=all&per_page=100&page=3",
        sandbox.base_url()
    ))
    .await;
    assert!(next_link(&last).is_none());
    let past = get_url(&format!(
        "{}/repos/{REPO}/issues?state=all&page=99",
        sandbox.base_url()
    ))
    .await;
    assert_eq!(past.json(), json!([]));
}

#[tokio::test]
async fn state_sort_direction_and_since() {
    let sandbox = github(120, 3).await;
    let open = read_all(&sandbox, &format!("/repos/{REPO}/issues?per_page=100")).await;
    assert!(
        !open.is_empty() && open.iter().all(|i| i["state"] == "open"),
        "state defaults to open"
    );
    let all = read_all(
        &sandbox,
        &format!("/repos/{REPO}/issues?state=all&per_page=100"),
    )
    .await;
    let closed = read_all(
        &sandbox,
        &format!("/repos/{REPO}/issues?state=closed&per_page=100"),
    )
    .await;
    assert_eq!(open.len() + closed.len(), all.len());
    let created: Vec<&str> = all
        .iter()
        .map(|i| i["created_at"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "created desc by default"
    );
    let by_updated = read_all(
        &sandbox,
        &format!("/repos/{REPO}/issues?state=all&sort=updated&direction=asc&per_page=50"),
    )
    .await;
    let updated: Vec<&str> = by_updated
        .iter()
        .map(|i| i["updated_at"].as_str().unwrap())
        .collect();
    assert!(updated.windows(2).all(|w| w[0] <= w[1]));
    let cut = updated[60];
    let since = read_all(
        &sandbox,
        &format!("/repos/{REPO}/issues?state=all&since={cut}&per_page=100"),
    )
    .await;
    assert_eq!(since.len(), updated.iter().filter(|u| **u >= cut).count());
    assert_eq!(
        get_url(&format!(
            "{}/repos/{REPO}/issues?sort=bogus",
            sandbox.base_url()
        ))
        .await
        .status,
        422
    );
}

#[tokio::test]
async fn pull_requests_appear_in_issues_and_pulls() {
    let sandbox = github(90, 4).await;
    let issues = read_all(
        &sandbox,
        &format!("/repos/{REPO}/issues?state=all&per_page=100"),
    )
    .await;
    let pulls = read_all(
        &sandbox,
        &format!("/repos/{REPO}/pulls?state=all&per_page=100"),
    )
    .await;
    let pr_numbers: Vec<u64> = issues
        .iter()
        .filter(|i| i.get("pull_request").is_some())
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert!(!pr_numbers.is_empty());
    let mut pull_numbers: Vec<u64> = pulls
        .iter()
        .map(|p| p["number"].as_u64().unwrap())
        .collect();
    pull_numbers.sort_unstable();
    let mut expected = pr_numbers.clone();
    expected.sort_unstable();
    assert_eq!(pull_numbers, expected);
    assert!(
        pulls
            .iter()
            .all(|p| p["head"]["sha"].is_string() && p["base"]["ref"] == "main")
    );
    let comments = read_all(
        &sandbox,
        &format!("/repos/{REPO}/issues/comments?per_page=100"),
    )
    .await;
    let counted: u64 = issues.iter().map(|i| i["comments"].as_u64().unwrap()).sum();
    assert_eq!(comments.len() as u64, counted);
    let created: Vec<&str> = comments
        .iter()
        .map(|c| c["created_at"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] <= w[1]),
        "comments ascending by default"
    );
}

#[tokio::test]
async fn rate_limit_headers_and_quota_exhaustion() {
    let mut faults = Faults::default();
    faults.add_spec("quota:120@at=3").unwrap();
    faults.add_spec("secondary:7@at=4").unwrap();
    let sandbox = start(SandboxConfig {
        records: 5,
        faults,
        ..SandboxConfig::new(Api::GitHub)
    })
    .await
    .unwrap();
    let url = format!("{}/repos/{REPO}/issues", sandbox.base_url());
    let a = get_url(&url).await;
    let b = get_url(&url).await;
    assert_eq!(a.header("x-ratelimit-limit"), Some("5000"));
    let remaining = |g: &Got| {
        g.header("x-ratelimit-remaining")
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert_eq!(remaining(&a), remaining(&b) + 1);
    assert!(
        a.header("x-ratelimit-reset")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > crate::oauth_client::now()
    );
    let quota = get_url(&url).await;
    assert_eq!(
        (quota.status, quota.header("x-ratelimit-remaining")),
        (403, Some("0"))
    );
    assert!(
        quota.json()["message"]
            .as_str()
            .unwrap()
            .contains("rate limit")
    );
    let secondary = get_url(&url).await;
    assert_eq!(
        (secondary.status, secondary.header("retry-after")),
        (403, Some("7"))
    );
    assert!(
        secondary.json()["message"]
            .as_str()
            .unwrap()
            .contains("secondary rate limit")
    );
}

#[tokio::test]
async fn after_changes_a_full_fresh_read_equals_the_ground_truth() {
    let changing = Changing {
        every_requests: 0,
        creates: 2,
        updates: 4,
        deletes: 1,
    };
    let sandbox = start(SandboxConfig {
        records: 40,
        seed: 6,
        changing: Some(changing),
        ..SandboxConfig::new(Api::GitHub)
    })
    .await
    .unwrap();
    for _ in 0..12 {
        sandbox.change();
    }
    let truth = sandbox.ground_truth();
    assert_eq!(truth.row_count("issues"), 2 * 40 + 24);
    let mut warehouse: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for repo in ["octo-org/widgets", "octo-org/gadgets"] {
        for issue in read_all(
            &sandbox,
            &format!("/repos/{repo}/issues?state=all&per_page=100"),
        )
        .await
        {
            let mut row = issue.as_object().unwrap().clone();
            row.insert("repository".into(), json!(repo));
            warehouse.entry("issues".into()).or_default().push(row);
        }
        for c in read_all(
            &sandbox,
            &format!("/repos/{repo}/issues/comments?per_page=100"),
        )
        .await
        {
            warehouse
                .entry("issue_comments".into())
                .or_default()
                .push(c.as_object().unwrap().clone());
        }
        for p in read_all(
            &sandbox,
            &format!("/repos/{repo}/pulls?state=all&per_page=100"),
        )
        .await
        {
            warehouse
                .entry("pull_requests".into())
                .or_default()
                .push(p.as_object().unwrap().clone());
        }
    }
    let diffs = truth.diff(&warehouse);
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[tokio::test]
async fn same_seed_same_data() {
    let (a, b) = (github(30, 8).await, github(30, 8).await);
    assert_eq!(a.ground_truth(), b.ground_truth());
    let pa = get_url(&format!("{}/repos/{REPO}/issues?state=all", a.base_url()))
        .await
        .text;
    let pb = get_url(&format!("{}/repos/{REPO}/issues?state=all", b.base_url()))
        .await
        .text;
    assert_eq!(pa, pb);
    assert_ne!(a.ground_truth(), github(30, 9).await.ground_truth());
}

#[tokio::test]
async fn github_enterprise_api_v3_prefix_is_served() {
    let sandbox = github(12, 10).await;
    let all = read_all(
        &sandbox,
        &format!("/api/v3/repos/{REPO}/issues?state=all&per_page=5"),
    )
    .await;
    assert_eq!(all.len(), 12);
}
