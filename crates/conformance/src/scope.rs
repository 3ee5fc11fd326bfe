//! Spec 3.5: the generic scope secrets — `startDate` (first sync only) and `tables` (a subset of the tables).

use sandbox_apis::Difference;

use crate::Subject;
use crate::harness::{Session, Setup};

/// A `startDate` after every record gives a sync with no rows; one before every record gives the ground truth;
/// `tables` naming the subject's scope table ([`Subject::scope_table`]) gives that table alone, equal to its
/// ground truth.
pub async fn sync_scope(subject: &Subject) {
    let Some(table) = subject.scope_table.clone() else {
        panic!("the scope check needs a table that syncs on its own (Subject::scope_table)");
    };

    let mut session = Session::start(subject, Setup::default()).await;
    session
        .secrets
        .insert("startDate".to_owned(), "2999-01-01".into());
    let report = session.sync("a sync with startDate 2999-01-01").await;
    assert_eq!(
        report.rows,
        0,
        "{}: a startDate after every record must sync no rows",
        session.name()
    );
    session
        .secrets
        .insert("startDate".to_owned(), "2000-01-01T00:00:00Z".into());
    session.warehouse.reset(true).expect("the warehouse resets");
    session.sync("a sync with startDate 2000-01-01").await;
    session.assert_ground_truth("a sync with startDate 2000-01-01");

    let mut session = Session::start(subject, Setup::default()).await;
    session
        .secrets
        .insert("tables".to_owned(), table.clone().into());
    session.sync(&format!("a sync with tables={table}")).await;
    let rows = session.warehouse.read_all().expect("the warehouse reads");
    let others: Vec<&String> = rows
        .iter()
        .filter(|(name, rows)| **name != table && !rows.is_empty())
        .map(|(name, _)| name)
        .collect();
    assert!(
        others.is_empty(),
        "{}: tables={table} also synced {others:?}",
        session.name()
    );
    let differences: Vec<String> = session
        .sandbox
        .ground_truth()
        .diff_with(&rows, &subject.diff)
        .iter()
        .filter(|d| table_of(d) == table)
        .map(ToString::to_string)
        .collect();
    assert!(
        differences.is_empty(),
        "{}: tables={table}: {} differences with the ground truth of `{table}`; the first:\n{}",
        session.name(),
        differences.len(),
        differences[..differences.len().min(10)].join("\n")
    );
}

/// The table a difference is about.
fn table_of(difference: &Difference) -> &str {
    match difference {
        Difference::MissingRow { table, .. }
        | Difference::ExtraRow { table, .. }
        | Difference::StaleRow { table, .. }
        | Difference::NotDeleted { table, .. }
        | Difference::DuplicateKey { table, .. }
        | Difference::UnknownTable { table } => table,
    }
}
