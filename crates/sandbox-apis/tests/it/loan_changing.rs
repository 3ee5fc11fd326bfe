//! The loan API stand-in under changing data: deletions shift positions, changes come between requests, a naive
//! client loses records, and a fresh read after changes equals the ground truth.

use sandbox_apis::{Api, Changing, SandboxConfig, start};
use serde_json::{Value, json};

use crate::loan::{get, loan, read_all, warehouse};

#[tokio::test]
async fn after_changes_a_full_fresh_read_equals_the_ground_truth() {
    let sandbox = loan(120, 4).await;
    let before = sandbox.ground_truth();
    for _ in 0..25 {
        sandbox.change();
    }
    let truth = sandbox.ground_truth();
    assert_ne!(before, truth);
    let apps = read_all(&sandbox, "/v1/loan-applications", 50).await;
    let deleted = read_all(&sandbox, "/v1/loan-applications/deleted", 50).await;
    let diffs = truth.diff(&warehouse(&apps, &deleted));
    assert!(diffs.is_empty(), "{diffs:#?}");
    // 25 steps of the default size: one create and one delete each.
    assert_eq!(truth.row_count("loan_applications"), 145);
}

#[tokio::test]
async fn a_deletion_shifts_later_records_one_position_earlier() {
    // `every_requests: 0`: no automatic steps; `change()` applies one delete-only step.
    let only_delete = Changing {
        every_requests: 0,
        creates: 0,
        updates: 0,
        deletes: 1,
    };
    let config = SandboxConfig {
        records: 60,
        seed: 8,
        changing: Some(only_delete),
        ..SandboxConfig::new(Api::Loan)
    };
    let sandbox = start(config).await.unwrap();
    let before: Vec<Value> = read_all(&sandbox, "/v1/loan-applications", 500).await;
    sandbox.change();
    let after: Vec<Value> = read_all(&sandbox, "/v1/loan-applications", 500).await;
    let gone: Vec<&Value> = before
        .iter()
        .filter(|b| !after.iter().any(|a| a["id"] == b["id"]))
        .collect();
    assert_eq!(gone.len(), 1);
    let position = before
        .iter()
        .position(|b| b["id"] == gone[0]["id"])
        .unwrap();
    assert!(
        position + 1 < before.len(),
        "seed 8 deletes a record that has a successor"
    );
    // Whatever sat at position + 1 now sits at position: pages are positions in the current set.
    assert_eq!(after[position]["id"], before[position + 1]["id"]);
    let page = get(
        &sandbox,
        &format!("/v1/loan-applications?page={}&page_size=1", position + 1),
    )
    .await
    .json();
    assert_eq!(page["data"][0]["id"], before[position + 1]["id"]);
}

#[tokio::test]
async fn changes_happen_between_requests_while_a_client_pages() {
    let changing = Changing {
        every_requests: 2,
        creates: 1,
        updates: 2,
        deletes: 1,
    };
    let sandbox = start(SandboxConfig {
        records: 100,
        seed: 11,
        changing: Some(changing),
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    get(&sandbox, "/v1/loan-applications?page_size=10").await;
    let first = sandbox.ground_truth();
    get(&sandbox, "/v1/loan-applications?page_size=10").await;
    assert!(
        first != sandbox.ground_truth(),
        "the second request came after a change step"
    );
    for _ in 0..8 {
        get(&sandbox, "/v1/loan-applications?page_size=10").await;
    }
    let truth = sandbox.ground_truth();
    // 10 requests → 5 change steps: 5 creates (5 deletes stay as soft-deleted rows).
    assert_eq!(truth.row_count("loan_applications"), 105);
    let deleted = truth.tables["loan_applications"]
        .rows
        .values()
        .filter(|r| r["_fivetran_deleted"] == json!(true))
        .count();
    let initial_deleted = loan(100, 11).await.ground_truth().tables["loan_applications"]
        .rows
        .values()
        .filter(|r| r["_fivetran_deleted"] == json!(true))
        .count();
    assert_eq!(deleted, initial_deleted + 5);
}

#[tokio::test]
async fn wall_clock_dates_changes_at_real_time() {
    let before = chrono::Utc::now().timestamp();
    let sandbox = start(SandboxConfig {
        records: 30,
        wall_clock: true,
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    let newest = |truth: &sandbox_apis::GroundTruth| {
        truth.tables["loan_applications"]
            .rows
            .values()
            .filter_map(|r| r.get("updated_at")?.as_str().map(str::to_owned))
            .max()
            .unwrap()
    };
    let initial = chrono::DateTime::parse_from_rfc3339(&newest(&sandbox.ground_truth()))
        .unwrap()
        .timestamp();
    assert!(
        initial < before + 2 && initial > before - 90 * 86_400,
        "initial data ends at the start"
    );
    sandbox.change();
    let changed = chrono::DateTime::parse_from_rfc3339(&newest(&sandbox.ground_truth()))
        .unwrap()
        .timestamp();
    assert!(
        changed >= before,
        "a change step is stamped at real time or later"
    );
}

/// The changing data bites: a client that pages by number while deletions happen loses live applications, and the
/// ground truth's diff names them.
#[tokio::test]
async fn naive_page_number_paging_loses_records_under_deletions() {
    let changing = Changing {
        every_requests: 2,
        creates: 0,
        updates: 0,
        deletes: 1,
    };
    let sandbox = start(SandboxConfig {
        records: 300,
        seed: 13,
        changing: Some(changing),
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    let mut apps = Vec::new();
    for page in 1.. {
        let body = get(
            &sandbox,
            &format!("/v1/loan-applications?page={page}&page_size=20"),
        )
        .await
        .json();
        let data = body["data"].as_array().unwrap().clone();
        if data.is_empty() {
            break;
        }
        apps.extend(data);
    }
    let deleted = read_all(&sandbox, "/v1/loan-applications/deleted", 500).await;
    let diffs = sandbox.ground_truth().diff(&warehouse(&apps, &deleted));
    let missing: Vec<String> = diffs
        .iter()
        .filter(|d| matches!(d, sandbox_apis::Difference::MissingRow { .. }))
        .map(ToString::to_string)
        .collect();
    assert!(!missing.is_empty(), "{diffs:?}");
    assert!(
        missing
            .iter()
            .all(|m| m.contains("missing from the warehouse"))
    );
}

#[tokio::test]
async fn changes_can_be_stopped_and_restarted_at_runtime() {
    let changing = Changing {
        every_requests: 1,
        creates: 1,
        updates: 0,
        deletes: 0,
    };
    let sandbox = start(SandboxConfig {
        records: 20,
        changing: Some(changing),
        ..SandboxConfig::new(Api::Loan)
    })
    .await
    .unwrap();
    get(&sandbox, "/v1/loan-applications").await;
    assert_eq!(sandbox.ground_truth().row_count("loan_applications"), 21);
    sandbox.set_changing(None);
    get(&sandbox, "/v1/loan-applications").await;
    assert_eq!(sandbox.ground_truth().row_count("loan_applications"), 21);
    sandbox.set_changing(Some(changing));
    get(&sandbox, "/v1/loan-applications").await;
    assert_eq!(sandbox.ground_truth().row_count("loan_applications"), 22);
}
