//! Pagination styles and their stop rules.
//!
//! A stream declares one [`Pagination`]: a [`Style`] plus optional signals (page size, totals, a `has_more` flag).
//! After each page the engine asks [`Pagination::next`] where to go, which applies these rules in order:
//!
//! 1. A `has_more`/`hasMore` flag that is `false` stops, even after a full page.
//! 2. Page number, offset and keyset stop on an empty page, and on a page shorter than the declared page size
//!    (unless a `has_more` flag says `true`).
//! 3. Known totals stop at the last page (`total_pages`) or item (`total_items`); a `null` or missing total is
//!    "unknown", never zero.
//! 4. Cursor token and next URL stop when the token or URL is absent, `null` or empty; the `Link` header stops
//!    when it has no `rel="next"`.
//! 5. A token or URL seen before stops (cycle guard): every token of this invocation is kept, and the state keeps a
//!    bounded window of hashes of the last [`SEEN_WINDOW`] tokens across invocations.
//! 6. More than `max_pages` pages in one sync window fail with [`Error::Pagination`] (a safety valve).

use crate::error::{Error, Result};

mod rules;

pub use rules::{Next, PageFacts, Position, Seen, fnv1a, link_next};

/// How many token hashes the state keeps across invocations.
pub const SEEN_WINDOW: usize = 64;

/// The default safety valve: pages per stream and sync window.
pub const DEFAULT_MAX_PAGES: u64 = 100_000;

/// How the next page is addressed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Style {
    /// One request, no pages.
    Single,
    /// `?{param}=1,2,3…` (the first page number is configurable).
    PageNumber { param: String, first: u64 },
    /// `?{param}=0,size,2·size…` (requires a page size).
    Offset { param: String },
    /// A token from the body (`pointer`) sent back as `?{param}=token`.
    Token { param: String, pointer: String },
    /// A full next-page URL from the body (`pointer`).
    NextUrl { pointer: String },
    /// RFC 8288 `Link` header with `rel="next"`.
    LinkHeader,
    /// The last record's `field` becomes the next request's `{after}` template value (and `?{param}=` if set).
    Keyset {
        field: String,
        param: Option<String>,
        initial: Option<String>,
    },
}

/// Where a total (pages or items) is read from.
#[derive(Debug, Clone, PartialEq)]
pub enum Total {
    /// A JSON pointer into the body, e.g. `/pagination/total_pages`.
    Body(String),
    /// A response header, e.g. `X-WP-TotalPages`.
    Header(String),
}

/// A stream's pagination: style, signals, and the safety valve.
#[derive(Debug, Clone, PartialEq)]
pub struct Pagination {
    pub(crate) style: Style,
    pub(crate) size: Option<(String, u64)>,
    pub(crate) total_pages: Option<Total>,
    pub(crate) total_items: Option<Total>,
    pub(crate) has_more: Option<String>,
    pub(crate) max_pages: u64,
    pub(crate) key_ordered: Option<String>,
    pub(crate) max_size: Option<u64>,
}

impl Pagination {
    fn with(style: Style) -> Self {
        Pagination {
            style,
            size: None,
            total_pages: None,
            total_items: None,
            has_more: None,
            max_pages: DEFAULT_MAX_PAGES,
            key_ordered: None,
            max_size: None,
        }
    }

    /// A single request.
    pub fn single() -> Self {
        Self::with(Style::Single)
    }

    /// Page numbers in `param`, starting at 1.
    pub fn page_number(param: &str) -> Self {
        Self::with(Style::PageNumber {
            param: param.into(),
            first: 1,
        })
    }

    /// Offsets in `param`; pair with [`Pagination::size`].
    pub fn offset(param: &str) -> Self {
        Self::with(Style::Offset {
            param: param.into(),
        })
    }

    /// A cursor token at `pointer` in the body, sent back in `param`.
    pub fn token(param: &str, pointer: &str) -> Self {
        Self::with(Style::Token {
            param: param.into(),
            pointer: pointer.into(),
        })
    }

    /// A next-page URL at `pointer` in the body.
    pub fn next_url(pointer: &str) -> Self {
        Self::with(Style::NextUrl {
            pointer: pointer.into(),
        })
    }

    /// The RFC 8288 `Link` header's `rel="next"`.
    pub fn link_header() -> Self {
        Self::with(Style::LinkHeader)
    }

    /// Keyset paging on the records' `field` (ascending); the value is `{after}` in templates.
    pub fn keyset(field: &str) -> Self {
        Self::with(Style::Keyset {
            field: field.into(),
            param: None,
            initial: None,
        })
    }

    /// For keyset paging: also send the last key as `?{param}=`.
    pub fn after_param(mut self, param: &str) -> Self {
        if let Style::Keyset { param: p, .. } = &mut self.style {
            *p = Some(param.into());
        }
        self
    }

    /// For keyset paging: the `{after}` value of the first page (e.g. `0`); without it the parameter is omitted.
    pub fn after_initial(mut self, initial: &str) -> Self {
        if let Style::Keyset { initial: i, .. } = &mut self.style {
            *i = Some(initial.into());
        }
        self
    }

    /// For page numbers: the first page's number (default 1).
    pub fn first_page(mut self, number: u64) -> Self {
        if let Style::PageNumber { first, .. } = &mut self.style {
            *first = number;
        }
        self
    }

    /// The page size, sent as `?{param}={size}` and used by the short-page stop rule.
    pub fn size(mut self, param: &str, size: u64) -> Self {
        self.size = Some((param.into(), size.max(1)));
        self
    }

    /// Where the total number of pages is (enables concurrent fetching of the remaining pages; and a window
    /// expected to hold several pages — an incremental stream's first sync, or a window after one that read several
    /// — requests its first page and the pages after it at once, up to the concurrency, before the first page
    /// tells the total).
    pub fn total_pages(mut self, total: Total) -> Self {
        self.total_pages = Some(total);
        self
    }

    /// Where the total number of items is.
    pub fn total_items(mut self, total: Total) -> Self {
        self.total_items = Some(total);
        self
    }

    /// A boolean `has_more` flag at `pointer` in the body.
    pub fn has_more(mut self, pointer: &str) -> Self {
        self.has_more = Some(pointer.into());
        self
    }

    /// The safety valve: more pages than this in one sync window is an error.
    pub fn max_pages(mut self, pages: u64) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// For page numbers over results ordered ascending by the record field `field`: enables the deletion-shift
    /// correction (see the crate docs, "Consistency"). Records at or below the last key already read are skipped,
    /// and a page is accepted only when it provably continues where the previous one ended. Pages are still fetched
    /// concurrently when the totals are known, as descending sweeps whose boundaries a few probes prove.
    pub fn key_ordered(mut self, field: &str) -> Self {
        self.key_ordered = Some(field.into());
        self
    }

    /// For [`key_ordered`](Self::key_ordered) page numbers: the largest page size the source accepts. When it is at
    /// least twice the page size, each page after the first is requested as an *overlapping block* — a larger page
    /// (another `page`/`page_size` pair) that holds the whole page and a few records before it — so that its first key
    /// at or before the last key read proves the boundary, and pages go out as a sliding window with no probes (see
    /// the crate docs, "Consistency"). Needs [`total_items`](Self::total_items): a block's own `total_pages` counts
    /// pages of its size.
    pub fn max_size(mut self, size: u64) -> Self {
        self.max_size = Some(size);
        self
    }

    /// Whether key-ordered pages are read as descending sweeps proven by probes (key-ordered without blocks).
    pub(crate) fn sweeps(&self) -> bool {
        self.key_ordered.is_some() && !self.blocks()
    }

    /// Whether pages after the first are requested as overlapping blocks ([`Pagination::max_size`]).
    pub(crate) fn blocks(&self) -> bool {
        match (&self.key_ordered, self.page_size(), self.max_size) {
            (Some(_), Some(size), Some(max)) => max >= size.saturating_mul(2),
            _ => false,
        }
    }

    /// The block requested for page-number `position` — `(page, page_size)`: the smallest page of a size from the
    /// page size plus the overlap up to the largest accepted size that holds the whole page and the `overlap` records
    /// before it — or `None` (the first page, no blocks declared, or no block fits).
    pub(crate) fn block(&self, position: &Position) -> Option<(u64, u64)> {
        if !self.blocks() {
            return None;
        }
        let (Style::PageNumber { first, .. }, Some(size), Some(max)) =
            (&self.style, self.page_size(), self.max_size)
        else {
            return None;
        };
        let Position::Page(n) = position else {
            return None;
        };
        let index = n.checked_sub(*first).filter(|i| *i > 0)?;
        let overlap = block_overlap(size);
        let from = index.checked_mul(size)?.checked_sub(overlap)?;
        let to = index.checked_add(1)?.checked_mul(size)?;
        (size + overlap..=max).find_map(|m| {
            let q = from / m;
            (q.checked_add(1)?.checked_mul(m)? >= to).then(|| (q.saturating_add(*first), m))
        })
    }

    /// Where pages report the total the engine fetches ahead by: `total_pages` (page numbers), `total_items`
    /// (offsets, and page numbers read as blocks, whose own `total_pages` counts pages of the block's size).
    pub(crate) fn look_ahead_total(&self) -> Option<&Total> {
        match &self.style {
            Style::PageNumber { .. } if self.blocks() => self.total_items.as_ref(),
            Style::PageNumber { .. } => self.total_pages.as_ref(),
            Style::Offset { .. } => self.total_items.as_ref(),
            _ => None,
        }
    }

    /// The position of the page after the first when the first is full: page number `first + 1`, or the offset of
    /// one page size. `None` for the other styles (their next position comes from the page).
    pub(crate) fn second(&self) -> Option<Position> {
        match &self.style {
            Style::PageNumber { first, .. } => Some(Position::Page(first.checked_add(1)?)),
            Style::Offset { .. } => Some(Position::Offset(self.page_size()?)),
            _ => None,
        }
    }

    /// The style.
    pub fn style(&self) -> &Style {
        &self.style
    }

    /// The declared page size.
    pub fn page_size(&self) -> Option<u64> {
        self.size.as_ref().map(|(_, s)| *s)
    }

    /// Checks the declaration.
    pub(crate) fn validate(&self, stream: &str) -> Result<()> {
        if matches!(self.style, Style::Offset { .. }) && self.size.is_none() {
            return Err(Error::Declaration(format!(
                "stream `{stream}`: offset paging needs a page size"
            )));
        }
        if self.key_ordered.is_some() && !matches!(self.style, Style::PageNumber { .. }) {
            return Err(Error::Declaration(format!(
                "stream `{stream}`: key_ordered applies to page-number paging only"
            )));
        }
        if self.max_size.is_some() && self.key_ordered.is_none() {
            return Err(Error::Declaration(format!(
                "stream `{stream}`: max_size applies to key_ordered paging only"
            )));
        }
        if self.blocks() && self.total_items.is_none() {
            return Err(Error::Declaration(format!(
                "stream `{stream}`: key_ordered blocks (max_size) need total_items: a block's total_pages counts pages of its own size"
            )));
        }
        if self.key_ordered.is_some() && self.size.is_none() {
            return Err(Error::Declaration(format!(
                "stream `{stream}`: key_ordered needs a page size (its probe requests one record)"
            )));
        }
        Ok(())
    }
}

/// Records each overlapping block repeats before its page: a few, so that a few deletions between two reads still
/// leave an overlap (more would shift the page past it, and its boundary is then probed).
fn block_overlap(size: u64) -> u64 {
    (size / 32).max(1)
}
