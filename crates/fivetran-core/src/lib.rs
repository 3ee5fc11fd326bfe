//! `fivetran-core`: everything a Fivetran function connector on AWS Lambda needs, solved once.
//!
//! A connector is a declaration: it turns the request's secrets into a [`connector::Config`] (base URL, auth,
//! HTTP settings, a setup-test request, streams) and hands it to the [`Engine`]. Its whole `main.rs` is the
//! declaration plus:
//!
//! ```no_run
//! # use fivetran_core::{auth::Auth, connector::Config, Result, Secrets};
//! # fn configure(secrets: &Secrets) -> Result<Config> {
//! #     Config::new(secrets.required("baseUrl")?.expose(), Auth::None)
//! # }
//! fn main() -> Result<(), lambda_runtime::Error> {
//!     fivetran_core::lambda::run(fivetran_core::Engine::new(configure))
//! }
//! ```
//!
//! Start with [`connector`] (the declaration API, with an example), then [`paginate`] (styles and stop rules).
//! Data flows one way: request → engine (state → plan → HTTP/paginate/auth → rows → budget) → sink → response.
//!
//! - [`protocol`]: the wire types of Fivetran's function protocol.
//! - [`connector`]: how a connector is declared: streams, endpoints, cursors, child tables, hooks.
//! - [`engine`]: runs the declared streams for one invocation; implements [`lambda::Function`].
//! - [`paginate`]: page number, offset, cursor token, next URL, `Link` header, keyset; stop rules.
//! - [`http`]: the shared client: timeouts, retries, `Retry-After`, rate limits.
//! - [`auth`]: how requests authenticate (API key, bearer, basic, OAuth 1.0a, OAuth2 client credentials).
//! - [`budget`]: the byte budget (response size, state included) and the time budget (deadline minus margin).
//! - [`sink`]: where rows go (the response body; the `CLOUD_STORAGE` seam).
//! - [`state`]: the small, versioned, bounded per-stream state.
//! - [`secrets`]: a redacting wrapper for every secret the request carries.
//! - [`error`]: the one error type, with predicates and a mapping to Lambda errors.
//! - [`storage`]: the `CLOUD_STORAGE` sync method: the object written as rows arrive, and a light S3 client.
//! - [`lambda`]: the Lambda runtime loop, tracing set-up and the named handler.
//!
//! # Consistency: how each stream gets a window that loses no record
//!
//! Sources change while a sync pages through them. The engine's rules, and what a declaration must pick:
//!
//! - **Frozen window.** When a stream starts a sync, its window is frozen in the state: the lower bound `since`
//!   (the previous completed window's *start* minus the cursor's lookback; `startDate` or nothing on the first
//!   sync) and the start time `until`. Every page of the window uses the same bounds, so the filtered set does not
//!   move under the paging. The next window starts at this window's start minus the lookback, never at the
//!   largest `updated_at` seen: a record updated after its page was read has an `updated_at` after this window's
//!   start and is picked up by the next sync. The lookback covers clock skew between source and Lambda and
//!   sources with strict or coarse filters (WooCommerce's `modified_after` is strictly "after", at 1 s).
//! - **Stable order.** Page through an order that changing records cannot disturb: by id or creation time
//!   (`orderby=id&order=asc` for WooCommerce, `sort=created&direction=asc` for GitHub), never by modification
//!   time (a record updated mid-sync would jump pages and be skipped). New records get larger ids and append at
//!   the end; a record whose update makes it newly match the frozen `since` can appear before the current page,
//!   which shifts later records one position *later*: a repeat, never a loss (primary keys absorb repeats).
//! - **Keyset** (NetSuite: `WHERE id > {after} AND lastmodifieddate >= {since} ORDER BY id`): positions do not
//!   exist, so neither inserts nor deletions can skip a record. A source that compares dates in its own time zone
//!   (NetSuite's `TO_DATE` reads account-local time) gets its bounds at that offset
//!   ([`Incremental::utc_offset`](connector::Incremental::utc_offset)).
//! - **Tokens, next URLs, `Link`**: the source's own continuation; the window bounds are frozen in the first
//!   request and carried by the source's links.
//! - **Deletions under page numbers** (the loan API): a deletion moves every later record one position *earlier*,
//!   also across a page boundary already read, so plain page numbers skip a record that is then never seen again
//!   (its `updated_at` does not move). Declare [`Pagination::key_ordered`](paginate::Pagination::key_ordered):
//!   the state keeps the last key read, and a page is accepted only when its boundary with what was read before is
//!   proven — the page's first key is at or before the last key (an overlap), or a one-record probe (`page_size=1`
//!   at the previous page's last position), sent *after* the page arrived, still finds that last key there.
//!   Deletions only move records earlier and new keys append at the end, so a key found at the same position after
//!   the page was read had not moved when it was read: the page starts right after it, and no record crossed the
//!   boundary. With [`Pagination::max_size`](paginate::Pagination::max_size) (the loan API takes up to 500 per
//!   page) each page after the first is requested as an *overlapping block*: the smallest `page`/`page_size` pair, of
//!   a size from the page size plus a few up to that maximum, that holds the whole page and the few records before
//!   it. Its first key is then at or before the last key read, which proves the boundary whatever order the blocks
//!   were read in, so blocks go out as a sliding window with one request per page and no probes (a shift larger
//!   than the overlap is probed as below); the stream after it (the deletion feed) is requested only once its last
//!   block arrived. Without it, when the totals are known, the pages the byte budget can take are read as a *descending sweep* in
//!   `concurrency` lanes ([`Config::concurrency`](connector::Config::concurrency), default 4): each lane reads its
//!   pages from the highest down, one after the other, so a record a deletion moves down past a page boundary is found
//!   by the lane's later read of the lower page. Once every page arrived, one probe per lane (the last key of the
//!   lane's first page, still at its position?) proves all the lane's boundaries below it — no record before that key
//!   was deleted between the lane's first read and the probe. A sweep starts on the page read last (its records up to
//!   the last key are skipped), so its boundary with what was read before is normally proven by that overlap and the
//!   boundary after it is one of the sweep's own (a probe of its own only when more than a page of records shifted).
//!   So a sweep of n pages costs `concurrency` probes and one page read again, not n probes. A boundary left unproven (a probe that did not find its key) is checked on its own when its page comes up: its
//!   probe, then the previous page read again (after the page), and further back one page at a time until a page starts
//!   at or before the last key; their records after the last key (those that shifted across the boundary) are emitted
//!   first, then the page already fetched, and the sweep goes on with its next boundary. Records at or before the last
//!   key are never emitted twice, rows come in key order, and the state only moves past pages whose rows are all in the
//!   response. Each round emits at least the current page, so every invocation makes progress under constant churn.
//!   Cost: `concurrency` small probes and one page read again per sweep (one more round trip, after the sweep's last
//!   pages, as the sweep plans whole rounds with the page read again among them), plus one page
//!   (more only if more than a page of records shifted) when a boundary is unproven. The rows wait until the whole
//!   sweep arrived, so a sweep holds up to a response's worth of raw pages. Limit: a deletion and a newly matching
//!   record (an update crossing the frozen `since`) both below the boundary between one page's request and its probe
//!   cancel out and go unnoticed; the skipped record is then read by the next sync only if it changes.
//! - **Deleted-records feeds** (`Stream::deletes`, e.g. `/v1/loan-applications/deleted?since=`) run after the
//!   row streams with the same frozen window rules, so a record deleted during a sync is deleted in this sync or the
//!   next one.
//! - **Checked against the stand-ins.** `tests/it/sandbox.rs` runs the loan, GitHub, WooCommerce and NetSuite
//!   declarations from the [`connector`] recipes against `sandbox-apis` while it changes (and, for the loan API,
//!   deletes) records, then once more after it stops, and compares the warehouse with the ground truth.
//! - **Resume and repeat.** The state accounts exactly for the rows in the response (page position, records of the
//!   page already returned, last key); a repeated state re-reads the same pages and returns the same rows or a
//!   superset.

pub mod auth;
pub mod budget;
pub mod connector;
pub mod engine;
pub mod error;
mod fetch;
pub mod http;
pub mod lambda;
pub mod paginate;
pub mod protocol;
mod records;
mod row;
pub mod secrets;
pub mod sink;
pub mod state;
pub mod storage;

pub use engine::Engine;
pub use error::{Error, Result};
pub use secrets::{Secret, Secrets};
