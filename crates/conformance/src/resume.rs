//! Spec 3.2: resuming from any state the connector returned loses nothing, and repeating a call (a Fivetran
//! retry) is harmless — proved against the uninterrupted run of the same many-call sync.

use fivetran_local::sync::{self, Stop};
use serde_json::Map;

use crate::Subject;
use crate::harness::{Session, Setup, assert_done, open_warehouse, settled};

/// The most calls the interrupted run may take.
const MAX_CALLS: u64 = 400;

/// Runs the same many-call sync (small pages, small byte budget) twice against one unchanging stand-in: once
/// uninterrupted, once from every intermediate state in turn, where each call is first sent and its response
/// thrown away (a lost response that Fivetran retries with the same state), and the process is restarted before
/// every call. Both runs must end with the same warehouse, equal to the ground truth.
pub async fn resume_from_every_state(subject: &Subject) {
    let mut session = Session::start(
        subject,
        Setup {
            small: true,
            ..Setup::default()
        },
    )
    .await;
    let uninterrupted = session.sync("uninterrupted many-call sync").await;
    assert!(
        uninterrupted.calls >= 3,
        "{}: the sync took {} call(s); the resume check needs several (a smaller page size or byte budget)",
        session.name(),
        uninterrupted.calls
    );
    session.assert_ground_truth("uninterrupted many-call sync");
    let expected = settled(&session.warehouse);

    let mut warehouse = open_warehouse(&session.dir, "resumed");
    let options = session.options(1);
    let mut states = 0;
    loop {
        assert!(
            states < MAX_CALLS,
            "{}: no end after {MAX_CALLS} resumed calls (the uninterrupted sync took {})",
            session.name(),
            uninterrupted.calls
        );
        let state = warehouse.state().expect("the state reads");
        // The first try: its response is lost, Fivetran retries with the same state.
        session.host.stop().await;
        let lost = sync::run(
            &mut session.host,
            None,
            state.clone(),
            &options,
            &mut |_| {},
        )
        .await
        .expect("the call ran");
        if let Stop::Failed { message, .. } = &lost.stop {
            panic!(
                "{}: the call from state #{states} failed: {message}\nstate: {}",
                session.name(),
                serde_json::Value::Object(state)
            );
        }
        // The retry, in a fresh process, is the one that counts.
        session.host.stop().await;
        let report = sync::run(
            &mut session.host,
            Some(&mut warehouse),
            Map::new(),
            &options,
            &mut |_| {},
        )
        .await
        .expect("the call ran");
        states += 1;
        match report.stop {
            Stop::Done => break,
            Stop::MaxCalls { .. } => {}
            Stop::Failed { .. } => assert_done(session.name(), "a repeated call", &report),
        }
    }
    assert!(
        session.host.processes_started() >= 2 * states,
        "{}: the process was not restarted between calls",
        session.name()
    );
    let resumed = settled(&warehouse);
    for (table, rows) in &expected {
        let got = resumed.get(table).map_or(0, Vec::len);
        assert_eq!(
            Some(rows),
            resumed.get(table),
            "{}: resumed and repeated calls ({states} states) left table `{table}` different from the \
             uninterrupted run ({} rows expected, {got} found)",
            session.name(),
            rows.len()
        );
    }
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        resumed.keys().collect::<Vec<_>>(),
        "{}: resumed run has other tables",
        session.name()
    );
}
