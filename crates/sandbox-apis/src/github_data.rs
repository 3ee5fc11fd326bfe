//! GitHub dataset: issues (some of them pull requests), issue comments and pulls in two repositories, generated from a
//! seed, changed in seeded steps (creates and updates, never deletes), and the connector's tables for the ground truth.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Value, json};

use crate::Changing;
use crate::ground_truth::{GroundTruth, Row};
use crate::paging::{DataClock, rfc3339};
use crate::prng::{Rng, WORDS, sentence};

/// The repositories every GitHub stand-in serves.
pub const REPOSITORIES: &[&str] = &["octo-org/widgets", "octo-org/gadgets"];

const API: &str = "https://api.github.com";
const LOGINS: &[&str] = &[
    "octocat",
    "mona",
    "hubot",
    "søren-dev",
    "li-wei",
    "dependabot[bot]",
];
const LABELS: &[(&str, &str)] = &[
    ("bug", "d73a4a"),
    ("enhancement", "a2eeef"),
    ("good first issue", "7057ff"),
    ("ドキュメント", "0075ca"),
];

/// A record with its sort keys outside the JSON.
pub struct Item {
    pub id: u64,
    pub number: u64,
    pub created: i64,
    pub updated: i64,
    pub comments: u64,
    pub open: bool,
    /// The record as the API returns it (only the serialized form is kept, to save memory).
    pub json: String,
}

impl Item {
    /// The record as a JSON value.
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.json).unwrap_or(Value::Null)
    }

    fn edit(&mut self, change: impl FnOnce(&mut Value)) {
        let mut value = self.value();
        change(&mut value);
        self.json = value.to_string();
    }
}

/// One repository's records.
pub struct RepoData {
    pub full_name: &'static str,
    pub issues: Vec<Item>,
    /// Pull requests (the same numbers as their issues, other ids).
    pub pulls: Vec<Item>,
    pub comments: Vec<Item>,
}

/// All repositories.
pub struct GitHubData {
    pub repos: Vec<RepoData>,
    /// Sorted index per (repository, endpoint, sort), dropped whenever the data changes.
    sorted: HashMap<(usize, u8, u8), Arc<Vec<u32>>>,
    next_id: u64,
    clock: DataClock,
    step: u64,
    seed: u64,
}

fn user(rng: &mut Rng) -> Value {
    let i = rng.below(LOGINS.len() as u64);
    let login = LOGINS[i as usize];
    json!({"login": login, "id": 583_231 + i * 1_000_003, "node_id": format!("U_kgDO{i:04}"), "type": if login.ends_with("[bot]") { "Bot" } else { "User" }, "site_admin": false})
}

fn reactions(url: &str) -> Value {
    json!({"url": format!("{url}/reactions"), "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0, "confused": 0, "heart": 0, "rocket": 0, "eyes": 0})
}

impl GitHubData {
    /// `records` issues per repository (about a third are pull requests), with 0–3 comments each.
    pub fn generate(seed: u64, records: usize, clock: DataClock) -> GitHubData {
        let mut data = GitHubData {
            repos: Vec::new(),
            sorted: HashMap::new(),
            next_id: 4_300_000_000,
            clock,
            step: 0,
            seed,
        };
        for full_name in REPOSITORIES {
            data.repos.push(RepoData {
                full_name,
                issues: Vec::new(),
                pulls: Vec::new(),
                comments: Vec::new(),
            });
        }
        let span = 500 * 86_400_i64;
        for r in 0..data.repos.len() {
            for i in 0..records {
                let created =
                    clock.epoch - span + span * i as i64 / (records as i64 + 1) + r as i64 * 17;
                data.add_issue(r, created, false);
            }
        }
        data
    }

    fn take_id(&mut self, rng: &mut Rng) -> u64 {
        self.next_id += 1 + rng.below(1000);
        self.next_id
    }

    fn add_issue(&mut self, r: usize, created: i64, fresh: bool) {
        let number = self.repos[r].issues.len() as u64 + 1;
        let mut rng = Rng::new(self.seed, (r as u64) << 40 | number);
        let id = self.take_id(&mut rng);
        let full = self.repos[r].full_name;
        let is_pr = rng.chance(0.33);
        let open = fresh || rng.chance(0.4);
        let updated = if fresh {
            created
        } else {
            (created + rng.range(0, 40 * 86_400)).min(self.clock.epoch - 1)
        };
        let closed_at = if open {
            Value::Null
        } else {
            json!(rfc3339(updated))
        };
        let url = format!("{API}/repos/{full}/issues/{number}");
        let (label, color) = *rng.pick(LABELS);
        let author = user(&mut rng);
        let title = format!("{} #{number}", sentence(&mut rng, 3));
        let body = if rng.chance(0.2) {
            Value::Null
        } else {
            json!(format!(
                "Steps: {}\n\n```\n{}\n```",
                sentence(&mut rng, 6),
                rng.pick_str(WORDS)
            ))
        };
        let mut value = json!({
            "url": url, "repository_url": format!("{API}/repos/{full}"), "labels_url": format!("{url}/labels{{/name}}"),
            "comments_url": format!("{url}/comments"), "events_url": format!("{url}/events"),
            "html_url": format!("https://github.com/{full}/{}/{number}", if is_pr { "pull" } else { "issues" }),
            "id": id, "node_id": format!("I_kwDO{id:x}"), "number": number, "title": title, "user": author,
            "labels": if rng.chance(0.5) { json!([]) } else { json!([{"id": 208_045_946 + color.len() as u64, "name": label, "color": color, "default": false, "description": Value::Null}]) },
            "state": if open { "open" } else { "closed" }, "state_reason": if open { Value::Null } else { json!("completed") },
            "locked": false, "assignee": Value::Null, "assignees": [], "milestone": Value::Null, "comments": 0,
            "created_at": rfc3339(created), "updated_at": rfc3339(updated), "closed_at": closed_at,
            "author_association": "CONTRIBUTOR", "body": body, "reactions": reactions(&url),
        });
        if is_pr {
            value["pull_request"] = json!({
                "url": format!("{API}/repos/{full}/pulls/{number}"), "html_url": format!("https://github.com/{full}/pull/{number}"),
                "diff_url": format!("https://github.com/{full}/pull/{number}.diff"),
                "patch_url": format!("https://github.com/{full}/pull/{number}.patch"),
                "merged_at": if open { Value::Null } else { json!(rfc3339(updated)) },
            });
            let pr_id = self.take_id(&mut rng) + 1_000_000_000;
            let sha = format!(
                "{:016x}{:016x}{:08x}",
                rng.next_u64(),
                rng.next_u64(),
                rng.below(1 << 32)
            );
            let pull = json!({
                "url": format!("{API}/repos/{full}/pulls/{number}"), "id": pr_id, "node_id": format!("PR_kwDO{pr_id:x}"),
                "html_url": format!("https://github.com/{full}/pull/{number}"), "number": number,
                "state": value["state"], "locked": false, "title": value["title"], "user": value["user"], "body": value["body"],
                "labels": value["labels"], "milestone": Value::Null, "created_at": value["created_at"],
                "updated_at": value["updated_at"], "closed_at": value["closed_at"], "merged_at": value["pull_request"]["merged_at"],
                "merge_commit_sha": if open { Value::Null } else { json!(sha) }, "assignee": Value::Null, "assignees": [],
                "draft": rng.chance(0.1), "author_association": "CONTRIBUTOR",
                "head": {"label": format!("octo-org:feature-{number}"), "ref": format!("feature-{number}"), "sha": sha},
                "base": {"label": "octo-org:main", "ref": "main", "sha": format!("{:040x}", rng.next_u64())},
            });
            let item = Item {
                id: pr_id,
                number,
                created,
                updated,
                comments: 0,
                open,
                json: pull.to_string(),
            };
            self.repos[r].pulls.push(item);
        }
        let comment_times: Vec<i64> = if fresh {
            Vec::new()
        } else {
            (0..rng.below(4))
                .map(|_| (created + rng.range(60, 20 * 86_400)).min(updated))
                .collect()
        };
        value["comments"] = json!(comment_times.len());
        let issue = Item {
            id,
            number,
            created,
            updated,
            comments: comment_times.len() as u64,
            open,
            json: value.to_string(),
        };
        self.repos[r].issues.push(issue);
        for at in comment_times {
            let comment = self.make_comment(r, number, at, &mut rng);
            self.repos[r].comments.push(comment);
        }
    }

    fn make_comment(&mut self, r: usize, number: u64, at: i64, rng: &mut Rng) -> Item {
        let id = self.take_id(rng) + 500_000_000;
        let full = self.repos[r].full_name;
        let value = json!({
            "url": format!("{API}/repos/{full}/issues/comments/{id}"),
            "html_url": format!("https://github.com/{full}/issues/{number}#issuecomment-{id}"),
            "issue_url": format!("{API}/repos/{full}/issues/{number}"), "id": id, "node_id": format!("IC_kwDO{id:x}"),
            "user": user(rng), "created_at": rfc3339(at), "updated_at": rfc3339(at), "author_association": "MEMBER",
            "body": format!("{} 👍", sentence(rng, 5)), "reactions": reactions(&format!("{API}/repos/{full}/issues/comments/{id}")),
        });
        Item {
            id,
            number,
            created: at,
            updated: at,
            comments: 0,
            open: true,
            json: value.to_string(),
        }
    }

    /// A new comment at `at` (after every existing record): moves its issue's (and pull's) `updated_at`.
    fn add_comment(&mut self, r: usize, issue_idx: usize, at: i64, rng: &mut Rng) {
        let number = self.repos[r].issues[issue_idx].number;
        let comment = self.make_comment(r, number, at, rng);
        let repo = &mut self.repos[r];
        repo.comments.push(comment);
        let issue = &mut repo.issues[issue_idx];
        issue.comments += 1;
        issue.updated = issue.updated.max(at);
        let (count, updated) = (issue.comments, rfc3339(issue.updated));
        issue.edit(|v| {
            v["comments"] = json!(count);
            v["updated_at"] = json!(updated);
        });
        if let Some(pull) = repo.pulls.iter_mut().find(|p| p.number == number) {
            pull.updated = pull.updated.max(at);
            let updated = rfc3339(pull.updated);
            pull.edit(|v| v["updated_at"] = json!(updated));
        }
    }

    /// Indexes into repository `r`'s list for `endpoint` (0 issues, 1 comments, 2 pulls), ascending by `key`, built
    /// once per data version.
    pub fn sorted(
        &mut self,
        r: usize,
        endpoint: u8,
        sort: u8,
        key: fn(&Item) -> (i64, u64),
    ) -> Arc<Vec<u32>> {
        if let Some(index) = self.sorted.get(&(r, endpoint, sort)) {
            return index.clone();
        }
        let items = self.items(r, endpoint);
        let mut index: Vec<u32> = (0..items.len() as u32).collect();
        index.sort_by_key(|i| key(&items[*i as usize]));
        let index = Arc::new(index);
        self.sorted.insert((r, endpoint, sort), index.clone());
        index
    }

    /// Repository `r`'s list for `endpoint` (0 issues, 1 comments, 2 pulls).
    pub fn items(&self, r: usize, endpoint: u8) -> &[Item] {
        let repo = &self.repos[r];
        match endpoint {
            0 => &repo.issues,
            1 => &repo.comments,
            _ => &repo.pulls,
        }
    }

    /// One change step: new issues, new comments (which touch their issue), edits and state changes.
    pub fn change(&mut self, changing: &Changing) {
        self.step += 1;
        self.sorted.clear();
        let mut rng = Rng::new(self.seed ^ 0x617B, self.step);
        let now = self.clock.advance(&mut rng);
        for _ in 0..changing.creates {
            let r = rng.below(self.repos.len() as u64) as usize;
            self.add_issue(r, now, true);
        }
        for _ in 0..changing.updates {
            let r = rng.below(self.repos.len() as u64) as usize;
            let idx = rng.below(self.repos[r].issues.len() as u64) as usize;
            if rng.chance(0.5) {
                self.add_comment(r, idx, now, &mut rng);
                continue;
            }
            let title = json!(format!(
                "{} #{}",
                sentence(&mut rng, 3),
                self.repos[r].issues[idx].number
            ));
            let repo = &mut self.repos[r];
            let issue = &mut repo.issues[idx];
            issue.open = !issue.open;
            issue.updated = now;
            let open = issue.open;
            let state = if open { "open" } else { "closed" };
            let closed_at = if open {
                Value::Null
            } else {
                json!(rfc3339(now))
            };
            let edit = |v: &mut Value| {
                v["state"] = json!(state);
                v["closed_at"] = closed_at.clone();
                v["updated_at"] = json!(rfc3339(now));
                v["title"] = title.clone();
            };
            issue.edit(|v| {
                edit(v);
                v["state_reason"] = if open {
                    json!("reopened")
                } else {
                    json!("completed")
                };
            });
            let number = issue.number;
            if let Some(pull) = repo.pulls.iter_mut().find(|p| p.number == number) {
                pull.open = open;
                pull.updated = now;
                pull.edit(edit);
            }
        }
    }

    /// The connector's tables: `issues` (+ `repository`), `issue_comments`, `pull_requests`.
    pub fn ground_truth(&self) -> GroundTruth {
        let mut truth = GroundTruth::default();
        for name in ["issues", "issue_comments", "pull_requests"] {
            truth.table(name, &["id"]);
        }
        let object = |v: &Value| -> Row { v.as_object().cloned().unwrap_or_default() };
        for repo in &self.repos {
            for issue in &repo.issues {
                let mut row = object(&issue.value());
                row.insert("repository".into(), json!(repo.full_name));
                truth.table("issues", &[]).insert(row);
            }
            for c in &repo.comments {
                truth
                    .table("issue_comments", &[])
                    .insert(object(&c.value()));
            }
            for p in &repo.pulls {
                truth.table("pull_requests", &[]).insert(object(&p.value()));
            }
        }
        truth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_pulls_and_comments_are_consistent() {
        let d = GitHubData::generate(2, 30, DataClock::fixed());
        for repo in &d.repos {
            assert_eq!(repo.issues.len(), 30);
            let prs = repo
                .issues
                .iter()
                .filter(|i| i.value().get("pull_request").is_some())
                .count();
            assert_eq!(prs, repo.pulls.len());
            let counted: u64 = repo.issues.iter().map(|i| i.comments).sum();
            assert_eq!(counted as usize, repo.comments.len());
        }
        let truth = d.ground_truth();
        assert_eq!(truth.row_count("issues"), 60);
        assert!(
            truth.tables["issues"]
                .rows
                .values()
                .all(|r| r["repository"].as_str().unwrap().starts_with("octo-org/"))
        );
    }

    #[test]
    fn changes_are_reproducible() {
        let (mut a, mut b) = (
            GitHubData::generate(3, 10, DataClock::fixed()),
            GitHubData::generate(3, 10, DataClock::fixed()),
        );
        for _ in 0..10 {
            a.change(&Changing::default());
            b.change(&Changing::default());
        }
        assert_eq!(a.ground_truth(), b.ground_truth());
        assert_eq!(a.ground_truth().row_count("issues"), 30);
    }
}
