//! Data checks: a full sync equals the ground truth (spec 3.1), a second sync with no source changes leaves the
//! warehouse unchanged (3.4), and two consecutive syncs over changing data end at the ground truth (3.3).

use sandbox_apis::Changing;

use crate::Subject;
use crate::harness::{Session, Setup, settled};

/// Spec 3.1: a sync from `{}` leaves the stand-in's ground truth in the warehouse — every table, row and column,
/// soft deletes applied.
pub async fn full_sync(subject: &Subject) {
    let mut session = Session::start(subject, Setup::default()).await;
    session.sync("full sync from {}").await;
    session.assert_ground_truth("full sync from {}");
}

/// Spec 3.4: after a full sync, a second sync with no source changes leaves the warehouse as it was (ignoring
/// `_fivetran_synced`): rows re-sent by a lookback or an inclusive cursor must be identical.
pub async fn second_sync_unchanged(subject: &Subject) {
    let mut session = Session::start(subject, Setup::default()).await;
    session.sync("first sync").await;
    let before = settled(&session.warehouse);
    session.sync("second sync, no source changes").await;
    let after = settled(&session.warehouse);
    for (table, rows) in &before {
        assert_eq!(
            Some(rows),
            after.get(table),
            "{}: the second sync changed table `{table}`",
            session.name()
        );
    }
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{}: the second sync added tables",
        session.name()
    );
    session.assert_ground_truth("after the second sync");
}

/// Spec 3.3: the stand-in creates, updates and (where the API has a deletion feed) deletes records every few
/// requests while the connector pages with small pages over several calls; after the changes stop, a second
/// sync must leave exactly the ground truth.
pub async fn changing_data(subject: &Subject) {
    let changing = Changing {
        every_requests: 2,
        creates: 1,
        updates: 2,
        deletes: 1,
    };
    let setup = Setup {
        small: true,
        changing: Some(changing),
        wall_clock: true,
        ..Setup::default()
    };
    let mut session = Session::start(subject, setup).await;
    let first = session.sync("first sync, data changing while paging").await;
    let requests = session.sandbox.request_count();
    assert!(
        requests / changing.every_requests >= 3,
        "{}: only {requests} requests in {} calls: too few change steps to mean anything (lower the page size)",
        session.name(),
        first.calls
    );
    session.sandbox.set_changing(None);
    session.sync("second sync, after the changes stopped").await;
    session.assert_ground_truth(&format!(
        "two syncs over changing data ({} change steps during the first)",
        requests / changing.every_requests
    ));
}
