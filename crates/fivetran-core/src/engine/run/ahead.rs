//! Pages fetched ahead of the one being processed, when the number of pages is known.
//!
//! Two ways, chosen per stream:
//!
//! - **A sliding window** (page numbers and offsets): up to `concurrency` requests in flight, each a task of its
//!   own; every arrival sends the next planned one, so the source always has `concurrency` requests to answer
//!   while pages are parsed, and pages are taken in page order. The plan reaches one window past what the byte
//!   budget can still take: the call that fills up hands those requests to the next call (see `carry`). Within a
//!   round of the stream's last page, the next stream's first page goes out ([`Head`]); when it tells that
//!   stream's page count, the slots this stream's last round leaves free take that stream's next pages. So a
//!   stream neither starts with a round trip of its own nor ends with idle slots. A stream that starts without such
//!   a head requests its first page and the pages after it at once ([`Run::speculate`]), before it knows how many
//!   there are: a whole round on its first (historical) sync, later as many as its last window read.
//! - **A descending sweep** (key-ordered page numbers, see the crate docs, "Consistency"): the pages the budget
//!   can take are split into `concurrency` interleaved lanes; each lane reads its pages from the highest down, one
//!   after the other. Deletions only move records to *earlier* positions, so within a lane a later read of a lower
//!   page sees everything that moved down past a higher one. After every page arrived, one probe per lane — does
//!   the last key of the lane's first (highest) page still sit where it was read? — proves every boundary below it
//!   in that lane: no record before that key was deleted between the lane's first read and the probe, which spans
//!   every later read of the lane. The sweep starts on the page read last (see [`Run::fetch_ahead`]), whose
//!   overlap with what was read before proves that boundary. So `concurrency` probes prove a whole sweep instead of
//!   one probe per page; a boundary a failed probe leaves unproven falls back to [`Run::shift_check`]'s own probe
//!   and re-read.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use futures_util::future::join_all;
use futures_util::stream::FuturesUnordered;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::{Run, key_at, probe_page};
use crate::connector::Stream;
use crate::error::{Error, Result};
use crate::http::Fetched;
use crate::paginate::{Next, PageFacts, Position, Seen, Style};
use crate::records;
use crate::state::Window;

/// Pages fetched ahead, in page order: the pages of a sweep (`ready`) or the sliding window's requests
/// (`requested`: in flight or arrived, in page order), then positions still to request (`pending`).
#[derive(Default)]
pub(super) struct Ahead {
    ready: VecDeque<AheadPage>,
    requested: VecDeque<Requested>,
    /// The id of `requested`'s first entry; ids count up in request order.
    first_id: u64,
    flight: FuturesUnordered<Pending>,
    pending: VecDeque<Position>,
    /// The next stream's first page (then more of its pages), requested within a round of this stream's last page.
    head: Option<Head>,
}

/// The first request of the stream that runs after this one (and, once it told the page count, the next pages
/// in free slots), sent while this stream's last pages are in flight so that the next stream does not start with
/// a round trip of its own. It holds the window it was planned with, which that stream then opens (see
/// [`Run::adopt_head`]).
pub(super) struct Head {
    stream: String,
    window: Window,
    /// The next stream's look-ahead: its first request, then — once that told the page count, and only for a
    /// sliding-window stream — its next pages in the slots this stream leaves free.
    ahead: Box<Ahead>,
    /// Whether the pages after the first were planned.
    planned: bool,
}

/// A request of the sliding window: its position and, once it arrived, the page.
struct Requested {
    position: Position,
    arrived: Option<Result<Fetched>>,
    /// Sent by the previous call ([`Carry`]): a failure is no reason to stop, the page is read again.
    carried: bool,
    /// Sent by this call for this stream (what [`Run::await_own`] waits for).
    own: bool,
}

/// A request running as a task of its own, so that it can outlive the call that sent it; aborted when dropped.
pub(super) struct Task(JoinHandle<Result<Fetched>>);

impl Drop for Task {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A request in flight, with its id in the window.
struct Pending {
    id: u64,
    task: Task,
}

impl Future for Pending {
    type Output = (u64, Result<Fetched>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let id = self.id;
        Pin::new(&mut self.task.0).poll(cx).map(|joined| {
            let fetched = joined.unwrap_or_else(|e| {
                Err(Error::Pagination {
                    stream: String::new(),
                    reason: format!("internal: a request task stopped: {e}"),
                })
            });
            (id, fetched)
        })
    }
}

/// What a call leaves behind, in page order: a sweep's pages (with their proofs), or the sliding window's pages
/// arrived and requests in flight.
pub(super) enum Carried {
    Ready(Box<AheadPage>),
    Arrived(Result<Fetched>),
    Flying(Task),
}

/// A page fetched ahead, with what proves the boundary before it (key-ordered page numbers).
pub(super) struct AheadPage {
    pub position: Position,
    pub fetched: Result<Fetched>,
    pub proof: Proof,
    /// Fetched by this call (not handed on by the previous one).
    pub own: bool,
}

/// What proves that a key-ordered page continues the one before it.
pub(super) enum Proof {
    /// Nothing yet: [`Run::shift_check`] checks the boundary itself.
    Unchecked,
    /// A probe sent after the page arrived, to compare with `key` (the last key read before the boundary).
    Probe(Probe),
    /// A lane probe of the sweep proved it.
    Covered,
}

/// A one-record probe at the last position of the page before a boundary, sent after the page behind the boundary
/// arrived: the boundary is proven when it still finds `key` there.
pub(super) struct Probe {
    pub key: String,
    pub fetched: Result<Fetched>,
}

impl Ahead {
    /// Nothing fetched, in flight or planned.
    pub fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.requested.is_empty() && self.pending.is_empty()
    }

    /// Drops this stream's pages (requests in flight are cancelled); the next stream's head stays.
    pub fn clear(&mut self) {
        let head = self.head.take();
        *self = Ahead::default();
        self.head = head;
    }

    /// Whether everything ahead comes after `position` in page order (and something is ahead).
    pub fn starts_after(&self, position: &Position) -> bool {
        let front = self
            .ready
            .front()
            .map(|p| &p.position)
            .or(self.requested.front().map(|r| &r.position));
        match (front.and_then(order), position) {
            (Some(_), Position::Start) => true,
            (Some(front), p) => order(p).is_some_and(|p| front > p),
            (None, _) => false,
        }
    }

    /// The next stream's head request, if one was sent.
    pub fn take_head(&mut self) -> Option<Head> {
        self.head.take()
    }

    /// Requests in flight, the next stream's included.
    fn in_flight(&self) -> usize {
        self.flight.len() + self.head.as_ref().map_or(0, |h| h.ahead.flight.len())
    }

    /// Adds a request just sent, in page order after those before it.
    fn push_request(&mut self, position: Position, task: Task) {
        let id = self.first_id + self.requested.len() as u64;
        self.flight.push(Pending { id, task });
        self.requested.push_back(Requested {
            position,
            arrived: None,
            carried: false,
            own: true,
        });
    }

    /// Records a request's arrival in the window.
    fn arrived(&mut self, id: u64, fetched: Result<Fetched>) -> Option<()> {
        let index = usize::try_from(id.checked_sub(self.first_id)?).ok()?;
        self.requested.get_mut(index)?.arrived = Some(fetched);
        Some(())
    }

    /// Keeps no more than `pages` pages ahead (arrived, in flight and planned) beyond the one just taken: what the
    /// byte budget can still take.
    pub fn limit(&mut self, pages: usize) {
        let planned = pages.saturating_sub(self.ready.len() + self.requested.len());
        self.pending.truncate(planned);
    }

    /// The last position ahead: planned, requested or fetched.
    fn last_position(&self) -> Option<&Position> {
        self.pending
            .back()
            .or(self.requested.back().map(|r| &r.position))
            .or(self.ready.back().map(|p| &p.position))
    }

    /// Plans the `positions` (in page order) that come after everything already ahead, for the sliding window.
    pub fn extend(&mut self, positions: Vec<Position>) {
        let last = self.last_position().and_then(order);
        self.pending.extend(
            positions
                .into_iter()
                .filter(|p| last.is_none_or(|last| order(p).is_some_and(|o| o > last))),
        );
    }

    /// Replaces the look-ahead with the pages of a sweep.
    fn set_ready(&mut self, ready: VecDeque<AheadPage>) {
        self.clear();
        self.ready = ready;
    }

    /// The sweep's pages, then the sliding window's requests, arrived or in flight, in page order (planned
    /// positions are dropped).
    pub fn into_carried(mut self) -> Vec<(Position, Carried)> {
        let mut flying: HashMap<u64, Task> = std::mem::take(&mut self.flight)
            .into_iter()
            .map(|p| (p.id, p.task))
            .collect();
        let first = self.first_id;
        let ready = std::mem::take(&mut self.ready)
            .into_iter()
            .map(|page| (page.position.clone(), Carried::Ready(Box::new(page))));
        let requested = std::mem::take(&mut self.requested)
            .into_iter()
            .zip(first..)
            .filter_map(|(r, id)| {
                let entry = match r.arrived {
                    Some(fetched) => Carried::Arrived(fetched),
                    None => Carried::Flying(flying.remove(&id)?),
                };
                Some((r.position, entry))
            });
        ready.chain(requested).collect()
    }

    /// A window that starts with what the previous call left behind (and the next stream's head it sent).
    pub fn from_carried(carried: Vec<(Position, Carried)>, head: Option<Head>) -> Ahead {
        let mut ahead = Ahead {
            head,
            ..Ahead::default()
        };
        let mut id = 0;
        for (position, entry) in carried {
            let arrived = match entry {
                Carried::Ready(mut page) => {
                    page.own = false;
                    ahead.ready.push_back(*page);
                    continue;
                }
                Carried::Arrived(fetched) => Some(fetched),
                Carried::Flying(task) => {
                    ahead.flight.push(Pending { id, task });
                    None
                }
            };
            ahead.requested.push_back(Requested {
                position,
                arrived,
                carried: true,
                own: false,
            });
            id += 1;
        }
        ahead
    }
}

impl<'a> Run<'a> {
    /// Waits for the first request of this stream that this call sent itself, for a call that took only pages the
    /// previous call fetched: a source that fails from now on fails this call, not one several calls later. A
    /// request that is rate limited or runs into the deadline is no failure of the source.
    pub(super) async fn await_own(&self, ahead: &mut Ahead) -> Result<()> {
        loop {
            let Some(index) = ahead.requested.iter().position(|r| r.own) else {
                return Ok(());
            };
            match &ahead.requested[index].arrived {
                Some(Ok(_)) => return Ok(()),
                Some(Err(e)) if e.is_rate_limited() || matches!(e, Error::Deadline { .. }) => {
                    return Ok(());
                }
                Some(Err(_)) => {
                    return match ahead.requested[index].arrived.take() {
                        Some(Err(e)) => Err(e),
                        _ => Ok(()),
                    };
                }
                None => {}
            }
            let Some((id, fetched)) = ahead.flight.next().await else {
                return Ok(());
            };
            ahead.arrived(id, fetched);
        }
    }

    /// The page at `position` when it is the next one fetched ahead (waiting for it if it is in flight; every
    /// request that arrives meanwhile makes room for the next planned one); `None` when the look-ahead holds
    /// something else or nothing, or when a request the previous call sent failed (the page is read again).
    pub(super) async fn take(
        &self,
        ahead: &mut Ahead,
        stream: &Stream,
        window: &Window,
        position: &Position,
    ) -> Option<AheadPage> {
        if let Some(page) = ahead.ready.front() {
            return if page.position == *position {
                ahead.ready.pop_front()
            } else {
                None
            };
        }
        if ahead.requested.front()?.position != *position {
            return None;
        }
        loop {
            if ahead.requested.front()?.arrived.is_some() {
                ahead.first_id += 1;
                let taken = ahead.requested.pop_front()?;
                let fetched = taken.arrived?;
                if taken.carried && fetched.is_err() {
                    return None;
                }
                return Some(AheadPage {
                    position: taken.position,
                    fetched,
                    proof: Proof::Unchecked,
                    own: taken.own,
                });
            }
            // The next stream's requests arrive meanwhile too: its first page may tell its page count.
            let head_flying = ahead
                .head
                .as_ref()
                .is_some_and(|h| !h.ahead.flight.is_empty());
            let arrival = if head_flying && let Some(head) = ahead.head.as_mut() {
                tokio::select! {
                    Some(a) = ahead.flight.next() => Arrival::Own(a),
                    Some(a) = head.ahead.flight.next() => Arrival::Next(a),
                    else => return None,
                }
            } else {
                Arrival::Own(ahead.flight.next().await?)
            };
            match arrival {
                Arrival::Own((id, fetched)) => ahead.arrived(id, fetched)?,
                Arrival::Next((id, fetched)) => {
                    if let Some(head) = ahead.head.as_mut() {
                        head.ahead.arrived(id, fetched);
                        self.plan_head(head);
                    }
                }
            }
            self.refill(ahead, stream, window);
        }
    }

    /// Once the next stream's first page arrived with its page count, plans its next pages (a window's worth) for
    /// the request slots this stream leaves free — sliding-window streams only (a key-ordered one reads sweeps).
    fn plan_head(&self, head: &mut Head) {
        if head.planned {
            return;
        }
        let Some(next) = self.head_stream(head) else {
            return;
        };
        let Some(Requested {
            position,
            arrived: Some(Ok(first)),
            ..
        }) = head.ahead.requested.front()
        else {
            return;
        };
        head.planned = true;
        if next.pagination.sweeps() {
            return;
        }
        let facts = PageFacts {
            position,
            body: &first.page.envelope,
            headers: &first.headers,
            count: first.page.len(),
            last_key: None,
        };
        let Some(total) = self.total(next, &facts) else {
            return;
        };
        let Ok(Next::Page(after)) = next.pagination.next(&next.key, &facts, &Seen::default())
        else {
            return;
        };
        let planned = Self::plan_positions(next, &after, total, self.concurrency() as u64);
        head.ahead.extend(planned);
    }

    /// Sends planned requests until `concurrency` are in flight: within a round of the stream's last page, the next
    /// stream's first page ([`Head`]) first; once nothing of this stream is left to request, the next stream's
    /// planned pages.
    pub(super) fn refill(&self, ahead: &mut Ahead, stream: &Stream, window: &Window) {
        let k = self.concurrency();
        while ahead.in_flight() < k {
            if !self.time.may_start() {
                ahead.pending.clear();
                break;
            }
            // Within a round of the stream's last page, the next stream's first page goes out (once): it comes back
            // while this stream's last pages are still in flight, and tells how many pages follow it, so the
            // slots this stream's last round leaves free can take them.
            if ahead.head.is_none()
                && ahead.pending.len() < k
                && self.plans_last(ahead, stream, window)
                && let Some(head) = self.next_head(stream)
            {
                ahead.head = Some(head);
                continue;
            }
            let Some(position) = ahead.pending.pop_front() else {
                if let Some(head) = ahead.head.as_mut() {
                    // This stream has nothing left to request: the free slots go to the next one's pages.
                    let free = k.saturating_sub(ahead.flight.len() + head.ahead.flight.len());
                    self.refill_head(head, free);
                }
                break;
            };
            let task = self.request(stream, window, &position);
            ahead.push_request(position, task);
        }
    }

    /// How many pages a stream's window requests at once before its first page tells how many there are
    /// ([`Run::speculate`]): on an incremental stream's first sync (no cursor yet: the historical sync, which reads
    /// everything since `startDate`) a whole round (`concurrency`); later, as many as the last completed window
    /// read, up to a round (a window of one page starts with its first page alone, as without this).
    pub(super) fn first_round(
        &self,
        stream: &Stream,
        first_sync: bool,
        last_pages: Option<u64>,
    ) -> usize {
        let k = self.concurrency();
        if first_sync && stream.incremental.is_some() {
            return k;
        }
        last_pages.map_or(1, |pages| usize::try_from(pages).unwrap_or(k).min(k))
    }

    /// Requests the first page of a window just opened together with the `round - 1` pages after it, before the
    /// first page tells how many there are, for a sliding-window stream whose pages report their totals: it is read as a sliding
    /// window from the start instead of after a round trip for its first page alone. Requests past the stream's
    /// end (the window is shorter than `round` pages) are answered empty and dropped unread.
    pub(super) fn speculate(
        &self,
        ahead: &mut Ahead,
        stream: &Stream,
        window: &Window,
        round: usize,
    ) {
        let pagination = &stream.pagination;
        if round < 2
            || !ahead.is_empty()
            || pagination.sweeps()
            || pagination.look_ahead_total().is_none()
        {
            return;
        }
        let Some(second) = pagination.second() else {
            return;
        };
        let mut positions = vec![Position::Start];
        positions.extend(Self::plan_positions(
            stream,
            &second,
            u64::MAX,
            round as u64 - 1,
        ));
        ahead.extend(positions);
        self.refill(ahead, stream, window);
    }

    /// Starts `stream` afresh with the head request the previous stream sent for it, when there is one for this
    /// stream's window: the window it was planned with becomes the stream's, its request the first page ahead.
    pub(super) fn adopt_head(&mut self, stream: &Stream, window: &mut Window, ahead: &mut Ahead) {
        let Some(head) = self.head.take() else {
            return;
        };
        if head.stream == stream.key && head.window.since == window.since {
            *window = head.window;
            *ahead = *head.ahead;
        }
    }

    /// The stream a head was sent for.
    fn head_stream(&self, head: &Head) -> Option<&'a Stream> {
        self.p.config.streams.iter().find(|s| s.key == head.stream)
    }

    /// Sends up to `free` of the next stream's planned requests.
    fn refill_head(&self, head: &mut Head, free: usize) {
        let Some(next) = self.head_stream(head) else {
            return;
        };
        let ahead = &mut head.ahead;
        for _ in 0..free {
            let Some(position) = ahead.pending.pop_front() else {
                break;
            };
            let task = self.request(next, &head.window, &position);
            ahead.push_request(position, task);
        }
    }

    /// Whether the last page of the stream (by the window's total) is planned, requested or fetched.
    fn plans_last(&self, ahead: &Ahead, stream: &Stream, window: &Window) -> bool {
        let Some(total) = window.total else {
            return false;
        };
        // At or past the last page: a first round requested before the total was known may reach past it.
        ahead
            .last_position()
            .is_some_and(|last| Self::plan_positions(stream, last, total, 2).len() <= 1)
    }

    /// Sends the first request of the stream that runs after `stream` in this sync, when that one starts afresh.
    /// None after a key-ordered stream: a stream after it (a deletion feed) is read only once its last page arrived,
    /// so that a deletion made while it was read is reported in the same sync.
    pub(super) fn next_head(&self, stream: &Stream) -> Option<Head> {
        if stream.pagination.key_ordered.is_some() {
            return None;
        }
        let streams = &self.p.config.streams;
        let at = streams.iter().position(|s| std::ptr::eq(s, stream))?;
        let next = streams[at + 1..].iter().find(|s| {
            self.p.runs(s) && !self.state.streams.get(&s.key).is_some_and(|st| st.done)
        })?;
        let entry = self.state.streams.get(&next.key);
        if entry.is_some_and(|e| e.window.is_some()) {
            return None;
        }
        let window = Window::open(
            self.lower_bound(next, entry.and_then(|e| e.cursor)),
            self.now,
        );
        let task = self.request(next, &window, &window.position);
        let ahead =
            Ahead::from_carried(vec![(window.position.clone(), Carried::Flying(task))], None);
        Some(Head {
            stream: next.key.clone(),
            window,
            ahead: Box::new(ahead),
            planned: false,
        })
    }

    /// A request for one page as a task of its own: it goes on while pages are emitted, and it can be handed to
    /// the next call (see [`Carry`](super::carry::Carry)).
    fn request(&self, stream: &Stream, window: &Window, position: &Position) -> Task {
        let shared = self.shared.clone();
        let planned = crate::fetch::plan(&shared.config, stream, window, position, None);
        let index = shared
            .config
            .streams
            .iter()
            .position(|s| std::ptr::eq(s, stream));
        let time = self.time;
        let stats = self.stats.clone();
        let key = stream.key.clone();
        // The task logs under the invocation that sent it (request and sync ids).
        let span = tracing::Span::current();
        let request = async move {
            let planned = planned?;
            let Some(stream) = index.and_then(|i| shared.config.streams.get(i)) else {
                return Err(Error::Pagination {
                    stream: key,
                    reason: "internal: the stream is not part of the configuration".into(),
                });
            };
            shared
                .http
                .fetch(&planned.call(stream), &time, &stats)
                .await
        };
        Task(tokio::spawn(request.instrument(span)))
    }

    /// Reads `positions` (consecutive key-ordered page numbers, ascending) as a descending sweep and probes its
    /// boundaries (see the module docs); the pages arrived without a gap from the first one become `ahead`'s ready
    /// pages, each with its proof.
    pub(super) async fn sweep(
        &self,
        ahead: &mut Ahead,
        stream: &Stream,
        window: &Window,
        positions: Vec<Position>,
    ) {
        let pagination = &stream.pagination;
        let (Some(field), Style::PageNumber { first, .. }) =
            (&pagination.key_ordered, &pagination.style)
        else {
            return;
        };
        let n = positions.len();
        let k = self.concurrency().min(n);
        if k == 0 || !self.time.may_start() {
            return;
        }
        let positions = &positions;
        let lanes = (0..k).map(|lane| async move {
            let mut read = Vec::new();
            let mut index = n - 1 - lane;
            loop {
                if !self.time.may_start() {
                    break;
                }
                let fetched = self.fetch(stream, window, &positions[index], None).await;
                let failed = fetched.is_err();
                read.push((index, fetched));
                if failed || index < k {
                    break;
                }
                index -= k;
            }
            read
        });
        let lanes = join_all(lanes).await;

        // Each lane's anchor: its highest page with records (read before every other page of the lane that has
        // any); the probe looks for that page's last key at its position.
        let size = pagination.page_size().unwrap_or(1);
        let mut slots: Vec<Option<Result<Fetched>>> = (0..n).map(|_| None).collect();
        let mut anchors: Vec<Option<(usize, String, u64)>> = vec![None; k];
        for (lane, read) in lanes.into_iter().enumerate() {
            for (index, fetched) in read {
                if anchors[lane].is_none()
                    && let Ok(f) = &fetched
                    && let Some(last) = f.page.len().checked_sub(1)
                {
                    let page = pagination.page_number_of(&positions[index]);
                    let at = page
                        .saturating_sub(*first)
                        .saturating_mul(size)
                        .saturating_add(last as u64)
                        .saturating_add(*first);
                    anchors[lane] = key_at(&f.page, last, field).map(|key| (index, key, at));
                }
                slots[index] = Some(fetched);
            }
        }
        let mut ready: VecDeque<AheadPage> = positions
            .iter()
            .zip(slots)
            .map_while(|(position, fetched)| {
                Some(AheadPage {
                    position: position.clone(),
                    fetched: fetched?,
                    proof: Proof::Unchecked,
                    own: true,
                })
            })
            .collect();
        let Some(front) = ready.front() else { return };

        // The boundary with what was read before the sweep: its own probe unless an overlap proves it.
        let front_number = pagination.page_number_of(&front.position);
        let before = match (&window.last_key, &front.fetched) {
            (Some(last), Ok(f)) if front_number > *first => {
                let overlaps =
                    key_at(&f.page, 0, field).is_some_and(|k| records::key_cmp(&k, last).is_le());
                (!overlaps).then(|| (last.clone(), probe_page(*first, size, front_number)))
            }
            _ => None,
        };
        if !self.time.may_start() {
            ahead.set_ready(ready);
            return;
        }
        // The probes, `concurrency` at a time: the boundary before the sweep first, then one per lane.
        let wanted: Vec<u64> = before
            .iter()
            .map(|(_, at)| *at)
            .chain(anchors.iter().flatten().map(|(_, _, at)| *at))
            .collect();
        let mut probes: VecDeque<Result<Fetched>> = futures_util::stream::iter(wanted)
            .map(|at| self.fetch(stream, window, &positions[0], Some((at, 1))))
            .buffered(k)
            .collect()
            .await;
        if let (Some((key, _)), Some(front)) = (before, ready.front_mut())
            && let Some(fetched) = probes.pop_front()
        {
            front.proof = Proof::Probe(Probe { key, fetched });
        }
        let mut lane_probes = probes.into_iter();
        let proven: Vec<Option<usize>> = anchors
            .iter()
            .map(|anchor| {
                let (index, key, _) = anchor.as_ref()?;
                let found = key_at(&lane_probes.next()?.ok()?.page, 0, field)?;
                (records::key_cmp(&found, key) == std::cmp::Ordering::Equal).then_some(*index)
            })
            .collect();
        // The boundary before page `i` (i ≥ 1) follows page `i - 1`; its lane's proven anchor covers it.
        for (i, page) in ready.iter_mut().enumerate().skip(1) {
            let lane = (n - i) % k;
            if proven[lane].is_some_and(|anchor| anchor >= i - 1) {
                page.proof = Proof::Covered;
            }
        }
        ahead.set_ready(ready);
    }
}

/// A request that arrived while waiting for a page: one of this stream's, or of the next stream's head.
enum Arrival {
    Own((u64, Result<Fetched>)),
    Next((u64, Result<Fetched>)),
}

/// Where a page-number or offset position falls in page order.
fn order(position: &Position) -> Option<u64> {
    match position {
        Position::Page(n) | Position::Offset(n) => Some(*n),
        _ => None,
    }
}
