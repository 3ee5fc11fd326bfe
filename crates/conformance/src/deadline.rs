//! Spec 4.3: no call runs past its deadline — with a short Lambda timeout and a slow source, every call returns in
//! time (with `hasMore: true` while there is more), and the sync still ends at the ground truth.

use std::time::Duration;

use sandbox_apis::Faults;

use crate::Subject;
use crate::harness::{Session, Setup};

/// The function's timeout: the engine's default 15 s margin leaves about 3 s of requests per call.
const SHORT_TIMEOUT: Duration = Duration::from_secs(18);

/// Every response of the stand-in takes 300 ms; the function has 18 s per call.
pub async fn deadline(subject: &Subject) {
    let mut session = Session::start(
        subject,
        Setup {
            small: true,
            ..Setup::default()
        },
    )
    .await;
    let mut faults = Faults::default();
    faults.add_spec("latency=300").expect("a latency spec");
    session.sandbox.set_faults(faults);
    session.host.set_timeout(SHORT_TIMEOUT);
    let report = session.sync("a slow source and a short timeout").await;
    assert_eq!(
        report.processes,
        1,
        "{}: a call ran past its deadline and the process was killed",
        session.name()
    );
    session.assert_ground_truth("a slow source and a short timeout");
}
