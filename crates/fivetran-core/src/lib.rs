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
//!   exist, so neither inserts nor deletions can skip a record.
//! - **Tokens, next URLs, `Link`**: the source's own continuation; the window bounds are frozen in the first
//!   request and carried by the source's links.
//! - **Deletions under page numbers** (the loan API): a deletion moves every later record one position *earlier*,
//!   also across a page boundary already read, so plain page numbers skip a record that is then never seen again
//!   (its `updated_at` does not move). Declare [`Pagination::key_ordered`](paginate::Pagination::key_ordered):
//!   the state keeps the last key read, and a page is accepted only when it provably continues the previous one —
//!   its first key is at or before the last key (an overlap), or a one-record probe (`page_size=1` at the
//!   previous page's last position, fetched *after* the page) still finds the last key there, proving no record
//!   moved across the boundary before the page was read. Otherwise the previous page is read again; its records
//!   after the last key (those that shifted across the boundary) are emitted first, then the page already fetched.
//!   Records at or before the last key are never emitted twice. Each round emits at least the current page, so
//!   every invocation makes progress under constant churn (cost: one small probe request per page, plus one page
//!   when a shift happened). A shift of more than a whole page between two requests is reported as an error
//!   rather than guessed. Limit: a deletion and a newly matching record (an update crossing the frozen `since`)
//!   both below the boundary between one page's request and its probe cancel out and go unnoticed; the skipped
//!   record is then read by the next sync only if it changes.
//! - **Deleted-records feeds** (`Stream::deletes`, e.g. `/v1/loan-applications/deleted?since=`) run after the
//!   row streams with the same frozen window rules, so a record deleted during a sync is deleted in this sync or the
//!   next one.
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
