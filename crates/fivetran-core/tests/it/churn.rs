//! Page numbers over a set that loses records while it is read: the deletion-shift correction.
//!
//! The server below follows the loan API's contract: results ordered by id, new ids larger, and before every
//! list request one pseudo-random record is deleted (every third request also creates one). A deletion moves
//! every later record one position earlier, across page boundaries already read.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fivetran_core::Secrets;
use fivetran_core::auth::Auth;
use fivetran_core::budget::BudgetSettings;
use fivetran_core::connector::{Config, Endpoint, Incremental, Stream};
use fivetran_core::paginate::{Pagination, Total};
use serde_json::{Value, json};

use crate::harness::{Hit, Reply, Server, engine, sync};

const INITIAL: u64 = 300;

struct Data {
    live: Vec<u64>,
    deleted: Vec<u64>,
    next_id: u64,
    seed: u64,
    requests: u64,
}

impl Data {
    fn new(seed: u64) -> Self {
        Data {
            live: (1..=INITIAL).collect(),
            deleted: Vec::new(),
            next_id: INITIAL + 1,
            seed,
            requests: 0,
        }
    }

    fn random(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.seed >> 33
    }

    fn churn(&mut self) {
        self.requests += 1;
        if !self.live.is_empty() {
            let index = (self.random() % self.live.len() as u64) as usize;
            let id = self.live.remove(index);
            self.deleted.push(id);
        }
        if self.requests.is_multiple_of(3) {
            self.live.push(self.next_id);
            self.next_id += 1;
        }
    }
}

fn record(id: u64) -> Value {
    json!({"id": format!("la_{id:06}"), "updated_at": "2026-03-01T00:00:00Z", "status": "submitted", "pad": "p".repeat(60)})
}

fn loan_server(data: Arc<Mutex<Data>>, delay: Duration) -> impl Fn(&Hit) -> Reply {
    move |hit| {
        let mut data = data.lock().unwrap();
        let size = hit.num("page_size").unwrap_or(100);
        let page = hit.num("page").unwrap_or(1);
        let ids: Vec<u64> = if hit.path.ends_with("/deleted") {
            let mut d = data.deleted.clone();
            d.sort_unstable();
            d
        } else {
            data.churn();
            data.live.clone()
        };
        let total_pages = (ids.len() as u64).div_ceil(size);
        let rows: Vec<Value> = ids
            .iter()
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
            .map(|id| {
                if hit.path.ends_with("/deleted") {
                    json!({"id": format!("la_{id:06}"), "deleted_at": "2026-03-02T00:00:00Z"})
                } else {
                    record(*id)
                }
            })
            .collect();
        Reply::json(
            json!({"data": rows, "pagination": {"page": page, "page_size": size, "total_pages": total_pages, "total_items": ids.len()}}),
        )
        .delay(delay)
    }
}

/// How the list is paged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// Plain page numbers (the control).
    Plain,
    /// Key-ordered: descending sweeps proven by probes.
    Sweeps,
    /// Key-ordered with overlapping blocks (`max_size`).
    Blocks,
}

fn loan_config(
    url: &str,
    mode: Mode,
    bytes: usize,
    concurrency: usize,
) -> fivetran_core::Result<Config> {
    let mut pages = Pagination::page_number("page")
        .size("page_size", 10)
        .total_pages(Total::Body("/pagination/total_pages".into()))
        .total_items(Total::Body("/pagination/total_items".into()));
    match mode {
        Mode::Plain => {}
        Mode::Sweeps => pages = pages.key_ordered("id"),
        Mode::Blocks => pages = pages.key_ordered("id").max_size(500),
    }
    Ok(Config::new(url, Auth::None)?
        .concurrency(concurrency)
        .budget(BudgetSettings {
            bytes,
            time_margin: Duration::from_secs(1),
        })
        .stream(
            Stream::new(
                "loan_applications",
                &["id"],
                Endpoint::get("/v1/loan-applications"),
            )
            .records("/data")
            .paginate(pages)
            .incremental(Incremental::query("updated_since")),
        )
        .stream(
            Stream::deletes(
                "loan_applications",
                &["id"],
                Endpoint::get("/v1/loan-applications/deleted"),
            )
            .soft_deletes()
            .records("/data")
            .paginate(Pagination::page_number("page").size("page_size", 50))
            .incremental(Incremental::query("since")),
        ))
}

/// Runs a sync under churn and returns (ids emitted, ids that lived through the whole sync, ids deleted, deletes).
async fn run(
    mode: Mode,
    bytes: usize,
    seed: u64,
) -> (BTreeSet<u64>, BTreeSet<u64>, Vec<u64>, BTreeSet<u64>, usize) {
    let outcome = run_with(mode, bytes, seed, 4, Duration::ZERO).await;
    (
        outcome.emitted,
        outcome.survivors,
        outcome.deleted,
        outcome.deletes,
        outcome.calls,
    )
}

/// What a sync under churn did.
struct Outcome {
    /// Ids emitted, as a set and in emission order.
    emitted: BTreeSet<u64>,
    order: Vec<u64>,
    /// Ids that lived through the whole sync.
    survivors: BTreeSet<u64>,
    deleted: Vec<u64>,
    /// Ids reported as soft deletes.
    deletes: BTreeSet<u64>,
    calls: usize,
    max_in_flight: usize,
    probes: usize,
    /// List requests of another size than the page size and the probes' 1: overlapping blocks.
    blocks: usize,
}

async fn run_with(
    mode: Mode,
    bytes: usize,
    seed: u64,
    concurrency: usize,
    delay: Duration,
) -> Outcome {
    let data = Arc::new(Mutex::new(Data::new(seed)));
    let server = Server::start(loan_server(data.clone(), delay)).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| loan_config(&url, mode, bytes, concurrency));
    let responses = sync(&engine, json!({}), json!({}), 200).await;
    let parse = |v: &Value| v["id"].as_str().unwrap()[3..].parse::<u64>().unwrap();
    let order: Vec<u64> = responses
        .iter()
        .flat_map(|r| {
            r["insert"]["loan_applications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|r| parse(&r))
        .collect();
    let emitted: BTreeSet<u64> = order.iter().copied().collect();
    let deletes: BTreeSet<u64> = responses
        .iter()
        .flat_map(|r| {
            r["delete"]["loan_applications"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .map(|r| parse(&r))
        .collect();
    for r in &responses {
        if r["delete"]["loan_applications"].is_array() {
            assert_eq!(r["softDelete"], json!(["loan_applications"]));
        }
    }
    let data = data.lock().unwrap();
    let survivors: BTreeSet<u64> = data
        .live
        .iter()
        .copied()
        .filter(|id| *id <= INITIAL)
        .collect();
    let hits = server.hits();
    let lists: Vec<_> = hits
        .iter()
        .filter(|h| !h.path.ends_with("/deleted"))
        .collect();
    Outcome {
        emitted,
        order,
        survivors,
        deleted: data.deleted.clone(),
        deletes,
        calls: responses.len(),
        max_in_flight: server.max_in_flight(),
        probes: lists
            .iter()
            .filter(|h| h.num("page_size") == Some(1))
            .count(),
        blocks: lists
            .iter()
            .filter(|h| !matches!(h.num("page_size"), Some(1 | 10)))
            .count(),
    }
}

/// A sync under churn that lost nothing: every survivor emitted, rows in page order (within one sync window each id
/// once, ascending), every deletion reported; a small budget split it over several calls.
fn assert_complete(outcome: Outcome, seed: u64, bytes: usize) {
    let lost: Vec<&u64> = outcome.survivors.difference(&outcome.emitted).collect();
    assert!(lost.is_empty(), "seed {seed}: lost {lost:?}");
    assert!(
        outcome.order.windows(2).all(|w| w[0] < w[1]),
        "seed {seed}: rows out of order"
    );
    let deleted: BTreeSet<u64> = outcome.deleted.into_iter().collect();
    assert_eq!(outcome.deletes, deleted, "seed {seed}");
    if bytes < 20_000 {
        assert!(outcome.calls > 5, "seed {seed}: {} calls", outcome.calls);
    }
}

#[tokio::test]
async fn plain_page_numbers_lose_records_under_deletions() {
    // The control: without the correction, the same churn loses records (so the next test means something).
    let (emitted, survivors, _, _, _) = run(Mode::Plain, 5 << 20, 7).await;
    let lost = survivors.difference(&emitted).count();
    assert!(lost > 0, "expected plain page numbers to skip records");
}

#[tokio::test]
async fn key_ordered_page_numbers_lose_nothing_in_one_call() {
    for seed in [7, 11, 23] {
        let (emitted, survivors, deleted, deletes, _) = run(Mode::Sweeps, 5 << 20, seed).await;
        let lost: Vec<&u64> = survivors.difference(&emitted).collect();
        assert!(lost.is_empty(), "seed {seed}: lost {lost:?}");
        let deleted: BTreeSet<u64> = deleted.into_iter().collect();
        assert_eq!(
            deletes, deleted,
            "every deletion is reported as a soft delete"
        );
    }
}

#[tokio::test]
async fn key_ordered_page_numbers_lose_nothing_across_many_calls() {
    for seed in [3, 5] {
        let (emitted, survivors, _, _, calls) = run(Mode::Sweeps, 5_000, seed).await;
        assert!(calls > 5, "{calls} calls");
        let lost: Vec<&u64> = survivors.difference(&emitted).collect();
        assert!(lost.is_empty(), "seed {seed}: lost {lost:?}");
    }
}

#[tokio::test]
async fn key_ordered_batches_are_fetched_concurrently_and_lose_nothing() {
    // Pages and probes go out 4 at a time while every request deletes a record (and every third creates one); the
    // small byte budget splits the sync over many calls, so batches are also cut by the budget.
    for (seed, bytes) in [(3, 5_000), (13, 8_000), (29, 5 << 20)] {
        let outcome = run_with(Mode::Sweeps, bytes, seed, 4, Duration::from_millis(5)).await;
        assert!(
            outcome.max_in_flight > 1,
            "seed {seed}: pages were fetched one at a time"
        );
        assert!(
            outcome.max_in_flight <= 4,
            "seed {seed}: {}",
            outcome.max_in_flight
        );
        assert!(outcome.probes > 0, "seed {seed}");
        assert_complete(outcome, seed, bytes);
    }
}

#[tokio::test]
async fn key_ordered_batches_need_no_rereads_without_churn() {
    // A set that does not change: the first page, then one descending sweep over the rest in 4 lanes that starts
    // on the first page again (the overlap proves the boundary with what was read before), proven by one probe
    // per lane; nothing else is read twice.
    let server = Server::start(unchanging_server()).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| loan_config(&url, Mode::Sweeps, 5 << 20, 4));
    let responses = sync(&engine, json!({}), json!({}), 10).await;
    assert_eq!(responses.len(), 1);
    let hits = server.hits();
    let lists: Vec<_> = hits
        .iter()
        .filter(|h| !h.path.ends_with("/deleted"))
        .collect();
    let pages = INITIAL / 10;
    let probes = lists
        .iter()
        .filter(|h| h.num("page_size") == Some(1))
        .count() as u64;
    assert_eq!(
        lists.len() as u64 - probes,
        pages + 1,
        "each page read once, the first one twice"
    );
    assert_eq!(probes, 4, "one probe per lane");
    assert_eq!(server.max_in_flight(), 4);
}

/// The loan API over a set that does not change (the deletion feed is empty), answering after 5 ms.
fn unchanging_server() -> impl Fn(&Hit) -> Reply {
    let data = Data::new(1);
    move |hit: &Hit| {
        let size = hit.num("page_size").unwrap_or(100);
        let page = hit.num("page").unwrap_or(1);
        let ids: Vec<u64> = if hit.path.ends_with("/deleted") {
            Vec::new()
        } else {
            data.live.clone()
        };
        let rows: Vec<Value> = ids
            .iter()
            .skip(((page - 1) * size) as usize)
            .take(size as usize)
            .map(|id| record(*id))
            .collect();
        let total_pages = (ids.len() as u64).div_ceil(size);
        Reply::json(
            json!({"data": rows, "pagination": {"page": page, "page_size": size, "total_pages": total_pages, "total_items": ids.len()}}),
        )
        .delay(Duration::from_millis(5))
    }
}

#[tokio::test]
async fn overlapping_blocks_lose_nothing_under_churn() {
    // The same churn as above, the list paged as overlapping blocks: a sliding window of 4, no sweeps.
    for (seed, bytes) in [(3, 5_000), (13, 8_000), (29, 5 << 20)] {
        let outcome = run_with(Mode::Blocks, bytes, seed, 4, Duration::from_millis(5)).await;
        assert!(outcome.blocks > 0, "seed {seed}: no blocks requested");
        assert!(
            (2..=4).contains(&outcome.max_in_flight),
            "seed {seed}: {} in flight",
            outcome.max_in_flight
        );
        assert_complete(outcome, seed, bytes);
    }
    // One call, one seed at a time, with every request deleting a record: still nothing lost.
    for seed in [7, 11, 23] {
        let (emitted, survivors, _, _, _) = run(Mode::Blocks, 5 << 20, seed).await;
        let lost: Vec<&u64> = survivors.difference(&emitted).collect();
        assert!(lost.is_empty(), "seed {seed}: lost {lost:?}");
    }
}

#[tokio::test]
async fn overlapping_blocks_read_each_page_once_without_churn() {
    // A set that does not change: one request per page, no probes; each request after the first is a larger page
    // that holds the whole page and the record before it.
    let server = Server::start(unchanging_server()).await;
    let url = server.url.clone();
    let engine = engine(move |_: &Secrets| loan_config(&url, Mode::Blocks, 5 << 20, 4));
    let responses = sync(&engine, json!({}), json!({}), 10).await;
    assert_eq!(responses.len(), 1);
    let rows = responses[0]["insert"]["loan_applications"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(rows as u64, INITIAL, "every record once");
    let hits = server.hits();
    let lists: Vec<_> = hits
        .iter()
        .filter(|h| !h.path.ends_with("/deleted"))
        .collect();
    assert_eq!(lists.len() as u64, INITIAL / 10, "one request per page");
    let mut nominal: Vec<u64> = Vec::new();
    for hit in &lists {
        let (page, size) = (hit.num("page").unwrap(), hit.num("page_size").unwrap());
        let (from, to) = ((page - 1) * size, page * size);
        if size == 10 {
            assert_eq!(page, 1, "only the first page at the page size");
            nominal.push(0);
            continue;
        }
        assert!(size > 10 && size <= 500, "block size {size}");
        // The page this block holds: the one whose records and the record before it fall inside.
        let held = (from + 1).div_ceil(10);
        assert!(
            held * 10 > from && (held + 1) * 10 <= to,
            "block {from}..{to}"
        );
        nominal.push(held);
    }
    nominal.sort_unstable();
    assert_eq!(
        nominal,
        (0..INITIAL / 10).collect::<Vec<_>>(),
        "every page held by one request"
    );
    assert_eq!(server.max_in_flight(), 4);
}
