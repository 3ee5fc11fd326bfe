//! One invocation's run: the stream loop, page fetching (ahead when the page count is known, see [`ahead`]), the
//! deletion-shift check of key-ordered page numbers, and the record loop under the byte budget.

use std::cmp::Ordering as Cmp;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{HookKeys, Prepared, Stop, finish};
use crate::budget::TimeBudget;
use crate::connector::Stream;
use crate::error::{Error, Result};
use crate::fetch;
use crate::http::{Fetched, Stats};
use crate::lambda::Invocation;
use crate::paginate::{Next, PageFacts, Position, Seen, Style};
use crate::records;
use crate::row::{LazyRow, Page};
use crate::sink::{Payload, Sink};
use crate::state::{SyncState, Window};

mod ahead;
pub(crate) mod carry;
mod emit;

use ahead::{Ahead, AheadPage, Carried, Head, Probe, Proof};
use carry::Carry;

/// The most pages planned ahead at once.
const MAX_AHEAD: u64 = 1024;

/// Slack added to the measured state size: the state grows a little as positions and keys change.
const STATE_SLACK: usize = 2048;

/// One invocation in progress.
pub(crate) struct Run<'a> {
    p: &'a Prepared,
    shared: Arc<Prepared>,
    /// Where the engine keeps what one call leaves for the next ([`Carry`]).
    slot: &'a Mutex<Option<Carry>>,
    carry_in: Option<Carry>,
    carry_out: Option<Carry>,
    /// The next stream's first request, sent while the previous stream's last pages were in flight.
    head: Option<Head>,
    original: Map<String, Value>,
    state: SyncState,
    time: TimeBudget,
    stats: Arc<Stats>,
    sink: Box<dyn Sink>,
    payload: Payload,
    state_bytes: usize,
    pages: u64,
    hook_keys: HookKeys,
    now: DateTime<Utc>,
    buf: Vec<u8>,
    ranges: Vec<Option<(usize, usize)>>,
    retry_hint: Option<std::time::Duration>,
    /// Whether this call took a page it requested itself (see [`Run::await_own`]).
    own_taken: bool,
}

/// The outcome of emitting one page.
enum Emitted {
    /// Every record of the page is in the payload.
    All,
    /// The byte budget filled up before the page's end.
    Full,
}

impl<'a> Run<'a> {
    pub fn new(
        p: &'a Arc<Prepared>,
        slot: &'a Mutex<Option<Carry>>,
        original: Map<String, Value>,
        invocation: &Invocation,
        sink: Box<dyn Sink>,
    ) -> Result<Self> {
        let state = SyncState::decode(&original)?;
        let capacity = sink.capacity_hint();
        let carry_in = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(Run {
            p,
            shared: p.clone(),
            slot,
            carry_in,
            carry_out: None,
            head: None,
            original,
            state,
            time: TimeBudget::new(invocation.deadline, p.config.budget.time_margin),
            stats: Arc::default(),
            sink,
            payload: Payload::with_capacity(capacity),
            state_bytes: 0,
            pages: 0,
            hook_keys: HookKeys::new(),
            now: Utc::now(),
            buf: Vec::new(),
            ranges: Vec::new(),
            retry_hint: None,
            own_taken: false,
        })
    }

    /// Runs the selected streams and returns the body.
    pub async fn execute(mut self) -> Result<Box<RawValue>> {
        let p = self.p;
        for stream in &p.config.streams {
            if p.selected(&stream.table.name) {
                self.payload.declare(&stream.table);
            }
            for child in &stream.children {
                if p.selected(&child.table.name) {
                    self.payload.declare(&child.table);
                }
            }
        }
        for table in &p.config.tables {
            if p.selected(&table.name) {
                self.payload.declare(table);
            }
        }
        let mut stop = Stop::Done;
        for stream in &p.config.streams {
            if !p.runs(stream) {
                continue;
            }
            if self.state.streams.get(&stream.key).is_some_and(|s| s.done) {
                continue;
            }
            if let Some(s) = self.run_stream(stream).await? {
                stop = s;
                break;
            }
        }
        let encoded = self.state.encode();
        let (state, has_more) = if stop == Stop::Done {
            for stream in self.state.streams.values_mut() {
                stream.done = false;
            }
            (self.state.encode(), false)
        } else if self.payload.rows() == 0 && (stop == Stop::Quota || encoded == self.original) {
            // A quota with nothing gathered ends the sync (decisions.md); so does a call that could not move the
            // state at all. A call that moved the state without rows (streams with nothing new finished before
            // the time ran out) goes on.
            match self.retry_hint {
                Some(wait) => tracing::warn!(
                    stop = stop.as_str(),
                    retry_after_s = wait.as_secs(),
                    "nothing gathered: the source accepts requests again in about {} s; ending this sync with the state unchanged",
                    wait.as_secs()
                ),
                None => tracing::warn!(
                    stop = stop.as_str(),
                    "nothing gathered before the {}; ending this sync with the state unchanged",
                    stop.as_str()
                ),
            }
            (std::mem::take(&mut self.original), false)
        } else {
            (encoded, true)
        };
        let payload = std::mem::take(&mut self.payload);
        let body = finish(
            &*self.sink,
            payload,
            &state,
            has_more,
            stop,
            &self.stats,
            self.pages,
        )
        .await?;
        if has_more {
            *self.slot.lock().unwrap_or_else(|e| e.into_inner()) = self.carry_out.take();
        }
        Ok(body)
    }

    /// Runs one stream until it is done (`None`) or the invocation must stop.
    async fn run_stream(&mut self, stream: &'a Stream) -> Result<Option<Stop>> {
        let pagination = &stream.pagination;
        let entry = self.state.stream(&stream.key).clone();
        let fresh = entry.window.is_none();
        let mut window = match entry.window {
            Some(w) => w,
            None => Window::open(self.lower_bound(stream, entry.cursor), self.now),
        };
        let mut seen = Seen::from_state(&window.seen_hashes());
        let mut ahead = match self.carry_in.take() {
            Some(carry) if carry.continues(&self.shared, stream, &window) => carry.into_ahead(),
            other => {
                self.carry_in = other;
                Ahead::default()
            }
        };
        if fresh && ahead.is_empty() {
            self.adopt_head(stream, &mut window, &mut ahead);
            let round = self.first_round(stream, entry.cursor.is_none(), entry.last_pages);
            self.speculate(&mut ahead, stream, &window, round);
        }
        // A window carried over from the previous call knows how many pages there are: fetch ahead at once.
        if window.total.is_some() {
            let room = self.sink.room(&self.payload, self.state_bytes);
            let fits = fits(room, window.page_bytes.unwrap_or(0) as usize);
            self.fetch_ahead(&mut ahead, stream, &mut window, fits)
                .await;
        }
        loop {
            self.save(stream, &window, &seen);
            pagination.check_pages(&stream.key, window.pages + 1)?;
            let position = window.position.clone();
            let (fetched, proof) = match self.take(&mut ahead, stream, &window, &position).await {
                Some(a) => {
                    self.own_taken |= a.own;
                    (a.fetched, a.proof)
                }
                None => {
                    // What is ahead stays when it all comes after this position (a first page read again).
                    if !ahead.starts_after(&position) {
                        ahead.clear();
                    }
                    if !self.time.may_start() {
                        return Ok(Some(self.unopen(stream, fresh, &window, Stop::Time)));
                    }
                    self.own_taken = true;
                    (
                        self.fetch(stream, &window, &position, None).await,
                        Proof::Unchecked,
                    )
                }
            };
            let fetched = match self.stop_for(fetched)? {
                Ok(f) => f,
                Err(stop) => return Ok(Some(self.unopen(stream, fresh, &window, stop))),
            };
            let page = &fetched.page;
            match self
                .shift_check(stream, &window, &position, page, proof)
                .await?
            {
                None => {}
                Some(Shift::Stop(stop)) => return Ok(Some(stop)),
                Some(Shift::Reread(earlier)) => {
                    self.own_taken = true;
                    // Emit the earlier pages again (records past the last key) before this verified page.
                    for earlier in &earlier {
                        window.pages += 1;
                        self.pages += 1;
                        if let Emitted::Full = self.emit(stream, &mut window, &earlier.page)? {
                            self.save(stream, &window, &seen);
                            return Ok(Some(Stop::Bytes));
                        }
                    }
                }
            }
            let facts = PageFacts {
                position: &position,
                body: &page.envelope,
                headers: &fetched.headers,
                count: page.len(),
                last_key: last_key_of(stream, page),
            };
            let next =
                self.clean_next(stream, pagination.next(&stream.key, &facts, &seen)?, &seen)?;
            let total = self.total(stream, &facts);
            window.pages += 1;
            self.pages += 1;
            let before = self.payload.bytes();
            if let Emitted::Full = self.emit(stream, &mut window, page)? {
                self.save(stream, &window, &seen);
                if !self.own_taken {
                    self.await_own(&mut ahead).await?;
                }
                self.leave(stream, &window, fetched, ahead);
                return Ok(Some(Stop::Bytes));
            }
            window.skip = 0;
            let page_bytes = self.payload.bytes() - before;
            window.total = total;
            window.page_bytes = Some(page_bytes as u64);
            match next {
                Next::Done => {
                    let s = self.state.stream(&stream.key);
                    s.cursor = Some(window.started);
                    s.last_pages = Some(window.pages);
                    s.window = None;
                    s.done = true;
                    self.head = ahead.take_head();
                    return Ok(None);
                }
                Next::Page(next) => {
                    if let Position::Token(t) | Position::Url(t) = &next {
                        seen.insert(t);
                    }
                    window.position = next;
                    // Fetch ahead no more pages than the byte budget can still take at this page's size.
                    let room = self.sink.room(&self.payload, self.state_bytes);
                    let fits = fits(room, page_bytes);
                    self.fetch_ahead(&mut ahead, stream, &mut window, fits)
                        .await;
                }
            }
        }
    }

    /// Keeps the page the response filled up in and what was fetched ahead — the sliding window's requests, or
    /// the rest of a sweep with the proofs of its boundaries — for the next call ([`Carry`]). Only page numbers and
    /// offsets: their position stays on the page while it is emitted (keyset and token positions move with the
    /// records written). The key-ordered page the response filled up in has its boundary checked again by the
    /// next call (proven by the overlap when records of it were written; else by a probe); the rest of the sweep
    /// keeps the proofs its probes gave.
    fn leave(&mut self, stream: &Stream, window: &Window, page: Fetched, mut ahead: Ahead) {
        let numbered = matches!(
            &stream.pagination.style,
            Style::PageNumber { .. } | Style::Offset { .. }
        );
        if numbered && window.position == Position::Start {
            // A first page is read again by the next call (which so always sends a request of its own); the
            // pages requested after it, when the previous stream sent them already, go on.
            let head = ahead.take_head();
            let pages = ahead.into_carried();
            if !pages.is_empty() || head.is_some() {
                self.carry_out = Some(Carry::new(self.shared.clone(), stream, window, pages, head));
            }
            return;
        }
        let kept = matches!(
            (&stream.pagination.style, &window.position),
            (Style::PageNumber { .. }, Position::Page(_))
                | (Style::Offset { .. }, Position::Offset(_))
        );
        if !kept {
            return;
        }
        let first = if stream.pagination.key_ordered.is_some() {
            Carried::Ready(Box::new(AheadPage {
                position: window.position.clone(),
                fetched: Ok(page),
                proof: Proof::Unchecked,
                own: false,
            }))
        } else {
            Carried::Arrived(Ok(page))
        };
        let head = ahead.take_head();
        let mut pages = vec![(window.position.clone(), first)];
        pages.extend(ahead.into_carried());
        self.carry_out = Some(Carry::new(self.shared.clone(), stream, window, pages, head));
    }

    /// A window opened in this call whose first page could not be read is not kept: opening it is no progress.
    fn unopen(&mut self, stream: &Stream, fresh: bool, window: &Window, stop: Stop) -> Stop {
        if fresh && window.pages == 0 {
            self.state.stream(&stream.key).window = None;
        }
        stop
    }

    /// A next-page URL from the server as it is stored and compared: absolute and without the credentials it may
    /// echo (WooCommerce repeats every `oauth_*` parameter, consumer key and fresh nonce included). So the state
    /// never holds a credential, and the cycle guard recognises a page it has seen although its echoed nonce is new.
    fn clean_next(&self, stream: &Stream, next: Next, seen: &Seen) -> Result<Next> {
        let Next::Page(Position::Url(raw)) = &next else {
            return Ok(next);
        };
        let clean = fetch::follow_url(&self.p.config, raw, &stream.key)?.to_string();
        if seen.contains(&clean) {
            tracing::warn!(
                stream = %stream.key,
                "pagination returned a URL seen before; stopping this stream (cycle guard)"
            );
            return Ok(Next::Done);
        }
        Ok(Next::Page(Position::Url(clean)))
    }

    /// The window's lower bound: the previous window's start minus the lookback, else `startDate`.
    fn lower_bound(&self, stream: &Stream, cursor: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        let inc = stream.incremental.as_ref()?;
        match cursor {
            Some(c) => {
                let lookback = chrono::Duration::from_std(inc.lookback).unwrap_or_default();
                Some(c - lookback)
            }
            None => self.p.start_date,
        }
    }

    /// Writes the window into the state and re-measures the state.
    fn save(&mut self, stream: &Stream, window: &Window, seen: &Seen) {
        let mut window = window.clone();
        window.set_seen(seen.recent());
        self.state.stream(&stream.key).window = Some(window);
        self.state_bytes =
            serde_json::to_vec(&self.state.encode()).map_or(0, |v| v.len()) + STATE_SLACK;
    }

    /// Fetches one page.
    async fn fetch(
        &self,
        stream: &Stream,
        window: &Window,
        position: &Position,
        size_override: Option<(u64, u64)>,
    ) -> Result<Fetched> {
        let planned = fetch::plan(&self.p.config, stream, window, position, size_override)?;
        self.p
            .http
            .fetch(&planned.call(stream), &self.time, &self.stats)
            .await
    }

    /// Requests in flight at once while fetching ahead.
    fn concurrency(&self) -> usize {
        self.p.http.settings().concurrency
    }

    /// Splits a fetch outcome into a page, a stop (quota, time) or an error.
    fn stop_for(&mut self, fetched: Result<Fetched>) -> Result<std::result::Result<Fetched, Stop>> {
        match fetched {
            Ok(f) => Ok(Ok(f)),
            Err(Error::RateLimited {
                retry_after,
                stream,
                status,
                ..
            }) => {
                tracing::warn!(stream = %stream, status, "rate limited beyond what this call can wait");
                self.retry_hint = retry_after;
                Ok(Err(Stop::Quota))
            }
            Err(Error::Deadline { .. }) => Ok(Err(Stop::Time)),
            Err(e) => Err(e),
        }
    }

    /// The number of pages (page numbers) or items (offsets) a page reports, when the stream declares where.
    fn total(&self, stream: &Stream, facts: &PageFacts<'_>) -> Option<u64> {
        let pagination = &stream.pagination;
        let total = pagination.total(pagination.look_ahead_total(), facts)?;
        if pagination.blocks() {
            // Blocks: the pages of the declared size that the items fill.
            return pagination.page_size().map(|size| total.div_ceil(size));
        }
        Some(total)
    }

    /// At most `count` positions from `from` on, up to `total` pages (page numbers) or items (offsets).
    fn plan_positions(stream: &Stream, from: &Position, total: u64, count: u64) -> Vec<Position> {
        let pagination = &stream.pagination;
        let count = count.min(MAX_AHEAD);
        match (&pagination.style, from) {
            (Style::PageNumber { .. }, Position::Page(n)) => (0..count)
                .map(|i| n.saturating_add(i))
                .take_while(|page| *page <= total)
                .map(Position::Page)
                .collect(),
            (Style::Offset { .. }, Position::Offset(o)) => {
                let Some(size) = pagination.page_size() else {
                    return Vec::new();
                };
                (0..count)
                    .map(|i| o.saturating_add(i.saturating_mul(size)))
                    .take_while(|off| *off < total)
                    .map(Position::Offset)
                    .collect()
            }
            _ => Vec::new(),
        }
    }

    /// Fetches ahead from the window's position when the window knows its total, as far as the byte budget can
    /// take (`fits` pages): a descending sweep for key-ordered page numbers (when nothing is ahead), else the
    /// sliding window. Nothing when pages are fetched one at a time.
    ///
    /// A sweep takes one round trip per `concurrency` pages, and a sweep the estimate left short means another
    /// sweep with its own round of probes; so a sweep plans a sixteenth more than the estimate and rounds up to
    /// whole rounds (pages past the budget's end are read and dropped, costing requests but no time). The sliding
    /// window keeps one window of requests past the budget's end, for the next call.
    async fn fetch_ahead(
        &self,
        ahead: &mut Ahead,
        stream: &'a Stream,
        window: &mut Window,
        fits: usize,
    ) {
        let k = self.concurrency();
        let Some(total) = window.total.filter(|_| k >= 2) else {
            return;
        };
        if stream.pagination.sweeps() {
            if !ahead.is_empty() {
                return;
            }
            // The sweep starts with the page already read (its records up to the last key are skipped when it is
            // emitted): it overlaps what was read before, so the boundary before the new pages is one of the
            // sweep's own, proven by a lane probe, and needs no probe of its own. Same requests, one round fewer.
            if let (Some(_), Style::PageNumber { first, .. }, Position::Page(n)) =
                (&window.last_key, &stream.pagination.style, &window.position)
                && n > first
            {
                window.position = Position::Page(n - 1);
            }
            let rounds = fits.saturating_add(fits / 16 + 1).div_ceil(k);
            let count = rounds.saturating_mul(k) as u64;
            let planned = Self::plan_positions(stream, &window.position, total, count);
            if !planned.is_empty() {
                self.sweep(ahead, stream, window, planned).await;
            }
        } else {
            // A window's worth past the budget's end: the call that fills up leaves those requests in flight
            // for the next call (see `carry`), whose pipeline then starts full.
            let ahead_pages = fits.saturating_add(k);
            ahead.limit(ahead_pages);
            ahead.extend(Self::plan_positions(
                stream,
                &window.position,
                total,
                ahead_pages as u64,
            ));
            self.refill(ahead, stream, window);
        }
    }

    /// The deletion-shift check (see the crate docs, "Consistency"): a key-ordered page that does not start at or
    /// before the last key read is accepted only if a one-record probe, sent after the page, finds the key before
    /// the boundary still at the end of the previous page (`proof`: a lane probe of the sweep that fetched the page
    /// covers it, or its own probe was sent by the sweep; else it is sent now). Otherwise earlier pages are read
    /// again, from the previous one backwards until one starts at or before the last key, and emitted first.
    async fn shift_check(
        &mut self,
        stream: &Stream,
        window: &Window,
        position: &Position,
        page: &Page,
        proof: Proof,
    ) -> Result<Option<Shift>> {
        let pagination = &stream.pagination;
        let (Some(field), Style::PageNumber { first, .. }, Some(last)) =
            (&pagination.key_ordered, &pagination.style, &window.last_key)
        else {
            return Ok(None);
        };
        let n = pagination.page_number_of(position);
        if n <= *first || matches!(proof, Proof::Covered) {
            return Ok(None);
        }
        let first_key = key_at(page, 0, field);
        if first_key.is_some_and(|k| records::key_cmp(&k, last).is_le()) {
            return Ok(None);
        }
        let size = pagination.page_size().unwrap_or(1);
        let (key, probe) = match proof {
            Proof::Probe(Probe { key, fetched }) => (key, fetched),
            Proof::Unchecked | Proof::Covered => {
                let at = probe_page(*first, size, n);
                let fetched = self.fetch(stream, window, position, Some((at, 1))).await;
                (last.clone(), fetched)
            }
        };
        let probe = match self.stop_for(probe)? {
            Ok(f) => f,
            Err(stop) => return Ok(Some(Shift::Stop(stop))),
        };
        let probe_key = key_at(&probe.page, 0, field);
        if probe_key.is_some_and(|k| records::key_cmp(&k, &key) == Cmp::Equal) {
            return Ok(None);
        }
        tracing::info!(stream = %stream.key, page = n, "records shifted since the previous page; reading it again");
        // Read backwards (each request after the previous one) until a page starts at or before the last key: the
        // pages read again and this one then cover every record after the last key (positions only move earlier).
        let mut earlier = Vec::new();
        for m in (*first..n).rev() {
            let fetched = self.fetch(stream, window, &Position::Page(m), None).await;
            let fetched = match self.stop_for(fetched)? {
                Ok(f) => f,
                Err(stop) => return Ok(Some(Shift::Stop(stop))),
            };
            let reaches = m == *first
                || key_at(&fetched.page, 0, field)
                    .is_some_and(|k| records::key_cmp(&k, last).is_le());
            earlier.push(fetched);
            if reaches {
                break;
            }
            tracing::info!(stream = %stream.key, page = m, "more than a page of records shifted; reading one more page back");
        }
        earlier.reverse();
        Ok(Some(Shift::Reread(earlier)))
    }
}

/// Pages the byte budget can still take at `page_bytes` each, plus one that may end the response part-way
/// (unbounded when a page gave no rows).
fn fits(room: usize, page_bytes: usize) -> usize {
    room.checked_div(page_bytes).map_or(usize::MAX, |n| n + 1)
}

/// The page number of the one-record probe at the last position of the page before page `n`.
fn probe_page(first: u64, size: u64, n: u64) -> u64 {
    // Saturating: a page number comes from the state, and a tampered one must not overflow.
    n.saturating_sub(first)
        .saturating_mul(size)
        .saturating_sub(1)
        .saturating_add(first)
}

/// What the deletion-shift check decided.
enum Shift {
    /// Stop the invocation (quota or time).
    Stop(Stop),
    /// Emit these earlier pages (read again, in page order) before the current one.
    Reread(Vec<Fetched>),
}

/// The text of `field` in record `index` of a page.
fn key_at(page: &Page, index: usize, field: &str) -> Option<String> {
    if index >= page.len() {
        return None;
    }
    LazyRow::parse(page.record(index))?.get(field)?.text()
}

/// The keyset field of the last record, for keyset paging.
fn last_key_of(stream: &Stream, page: &Page) -> Option<String> {
    match &stream.pagination.style {
        Style::Keyset { field, .. } => key_at(page, page.len().checked_sub(1)?, field),
        _ => None,
    }
}
