//! Pages a call fetched past its byte budget, handed to the next call.
//!
//! Every call ends before the next one begins, so without this each call would start with an empty pipeline and
//! end with requests cancelled in flight. When a sliding window (page numbers, offsets, key-ordered blocks) stops
//! because the response is full, the page it stopped in and the window's requests (arrived or still in flight, as
//! tasks of their own) are kept in the engine. The next call takes them only when it continues exactly there: the
//! same configuration, stream, frozen window bounds, position and records already sent — a Fivetran retry with an
//! older state, another stream, or another connection drops them (requests in flight are aborted). A kept request
//! that failed is simply sent again. When the stream's last page was already requested, the first request of the
//! stream that runs next (its [`Head`], with the window it was planned in) goes along, and that stream starts with
//! it once this one is done. Nothing is written to the state, so a restarted process just reads the pages again.
//! A call that took only pages handed on waits, before it returns, for a request it sent itself
//! ([`Run::await_own`](super::Run::await_own)): a source that fails from now on fails that call, not one several
//! calls later.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::ahead::{Ahead, Carried, Head};
use crate::connector::Stream;
use crate::engine::Prepared;
use crate::paginate::Position;
use crate::state::Window;

/// What one call left for the next.
pub(crate) struct Carry {
    prepared: Arc<Prepared>,
    stream: String,
    since: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
    position: Position,
    skip: u64,
    pages: Vec<(Position, Carried)>,
    /// The next stream's first page, when it was requested already.
    head: Option<Head>,
}

impl Carry {
    /// Keeps `pages` (from the window's position on, in page order) for a call that continues `window`.
    pub(super) fn new(
        prepared: Arc<Prepared>,
        stream: &Stream,
        window: &Window,
        pages: Vec<(Position, Carried)>,
        head: Option<Head>,
    ) -> Carry {
        Carry {
            prepared,
            stream: stream.key.clone(),
            since: window.since,
            started: window.started,
            position: window.position.clone(),
            skip: window.skip,
            pages,
            head,
        }
    }

    /// Whether a call of `prepared` that runs `stream` from `window` continues where this was left.
    pub(super) fn continues(
        &self,
        prepared: &Arc<Prepared>,
        stream: &Stream,
        window: &Window,
    ) -> bool {
        Arc::ptr_eq(&self.prepared, prepared)
            && self.stream == stream.key
            && self.since == window.since
            && self.started == window.started
            && self.position == window.position
            && self.skip == window.skip
    }

    /// The look-ahead the next call starts with.
    pub(super) fn into_ahead(self) -> Ahead {
        Ahead::from_carried(self.pages, self.head)
    }
}
