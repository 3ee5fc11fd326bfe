//! Terminal output, and the only place that writes to it: progress lines on stderr while a sync runs, the summary
//! table a person reads at a glance, and JSON for machines on stdout.

use std::io::{IsTerminal, Write};

use serde::Serialize;

use crate::sync::{Progress, Stop, SyncReport};

/// Writes one progress line to stderr: rewritten in place on a terminal, one line per call otherwise.
pub fn progress(update: &Progress) {
    let terminal = std::io::stderr().is_terminal();
    if update.waiting {
        if terminal {
            let mut err = std::io::stderr().lock();
            let _ = write!(
                err,
                "\r\x1b[2Kcall {:>4} · {:>7} rows · {:>9} · {:>6.1} s · waiting for the function…",
                update.call,
                update.rows,
                bytes(update.bytes),
                update.elapsed.as_secs_f64()
            );
            let _ = err.flush();
        }
        return;
    }
    let line = format!(
        "call {:>4} · {:>7} rows (+{}) · {:>9} · {:>6.1} s · {}",
        update.call,
        update.rows,
        update.call_rows,
        bytes(update.bytes),
        update.elapsed.as_secs_f64(),
        if update.has_more { "hasMore" } else { "done" }
    );
    let mut err = std::io::stderr().lock();
    if terminal {
        let _ = write!(err, "\r\x1b[2K{line}");
        if !update.has_more {
            let _ = writeln!(err);
        }
    } else {
        let _ = writeln!(err, "{line}");
    }
    let _ = err.flush();
}

/// Clears a progress line left on a terminal (after a sync that did not end with `hasMore: false`).
pub fn end_progress() {
    if std::io::stderr().is_terminal() {
        let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
    }
}

/// Writes a line to stderr (status messages).
pub fn status(text: &str) {
    let mut err = std::io::stderr().lock();
    if std::io::stderr().is_terminal() {
        let _ = write!(err, "\r\x1b[2K");
    }
    let _ = writeln!(err, "{text}");
}

/// Writes text to stdout.
pub fn stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}");
}

/// Writes a value as pretty JSON to stdout.
pub fn json<T: Serialize>(value: &T) {
    stdout(
        &serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
    );
}

/// A byte count for people.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn plural(n: u64, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The summary a person reads: one row per table, then totals and how the sync ended.
pub fn summary(report: &SyncReport) -> String {
    let with_rows = report.tables.values().any(|t| t.rows_now.is_some());
    let mut header = vec!["table", "inserted", "updated", "deleted", "soft-deleted"];
    if with_rows {
        header.push("rows now");
    }
    let mut rows: Vec<Vec<String>> = report
        .tables
        .iter()
        .map(|(name, t)| {
            let mut row = vec![
                name.clone(),
                t.counts.inserted.to_string(),
                t.counts.updated.to_string(),
                t.counts.deleted.to_string(),
                t.counts.soft_deleted.to_string(),
            ];
            if with_rows {
                row.push(t.rows_now.map_or_else(String::new, |n| n.to_string()));
            }
            row
        })
        .collect();
    rows.insert(0, header.iter().map(|s| (*s).to_owned()).collect());
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, row) in rows.iter().enumerate() {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == 0 {
                    format!("{cell:<width$}", width = widths[i])
                } else {
                    format!("{cell:>width$}", width = widths[i])
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
            out.push_str(&rule.join("  "));
            out.push('\n');
        }
    }
    if report.tables.is_empty() {
        out.push_str("(no rows)\n");
    }
    out.push_str(&format!(
        "\n{} · {} · {} rows · {} · {:.1} s\n",
        report.function,
        plural(report.calls, "call"),
        report.rows,
        bytes(report.bytes),
        report.elapsed_ms as f64 / 1000.0
    ));
    match &report.stop {
        Stop::Done => out.push_str("finished: hasMore false\n"),
        Stop::MaxCalls { limit } => out.push_str(&format!(
            "stopped: reached the limit of {limit} calls with hasMore still true (raise --max-calls)\n"
        )),
        Stop::Failed {
            call,
            cause,
            message,
        } => {
            let cause = serde_json::to_value(cause)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let kept = match (&report.warehouse, *call) {
                (None, _) => String::new(),
                (Some(_), 1) => "; the warehouse and its state are as they were before the sync".to_owned(),
                (Some(_), n) => format!(
                    "; the warehouse and its state are as they were after call {}",
                    n - 1
                ),
            };
            out.push_str(&format!("FAILED at call {call} ({cause}){kept}:\n{message}\n"));
        }
    }
    for warning in &report.warnings {
        out.push_str(&format!("warning: {warning}\n"));
    }
    if let Some(path) = &report.warehouse {
        out.push_str(&format!("warehouse: {}\n", path.display()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_people_write_them() {
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(6_291_556), "6.3 MB");
    }
}
