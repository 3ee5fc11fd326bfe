//! The one error type of `fivetran-local`: everything that stops it before or outside a function call.
//!
//! What a function does wrong during a call (an error, a crash, a timeout, a protocol violation) is not an error of
//! this crate: it is the outcome of the sync, reported in [`crate::sync::SyncReport`].

use std::path::{Path, PathBuf};

/// Shorthand for results whose error is [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can stop `fivetran-local` itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// The secrets file is missing, unreadable or not a JSON object.
    #[error("secrets file `{}` {reason}", path.display())]
    Secrets { path: PathBuf, reason: String },

    /// A state file (for `check`/`invoke`) is not a JSON object.
    #[error("state `{origin}` {reason}")]
    State { origin: String, reason: String },

    /// The function to run could not be found.
    #[error(
        "no function `{spec}`: not a file, and no connector of that name in {}",
        searched_text(searched)
    )]
    FunctionNotFound {
        spec: String,
        searched: Vec<PathBuf>,
    },

    /// The bootstrap exists but cannot be started.
    #[error("`{}` is not executable: {reason}", path.display())]
    NotExecutable { path: PathBuf, reason: String },

    /// The zip file has no `bootstrap` entry.
    #[error("zip `{}` has no `bootstrap` entry (entries: {})", path.display(), entries_text(entries))]
    ZipWithoutBootstrap { path: PathBuf, entries: Vec<String> },

    /// The zip file cannot be read.
    #[error("`{}` is not a readable zip file: {reason}", path.display())]
    BadZip { path: PathBuf, reason: String },

    /// The Runtime API host could not start.
    #[error("the Lambda Runtime API host could not start: {0}")]
    RuntimeApi(String),

    /// The warehouse file cannot be opened or holds something unexpected.
    #[error("warehouse `{}`: {reason}", path.display())]
    Warehouse { path: PathBuf, reason: String },

    /// A table's primary key differs from the one it was created with.
    #[error(
        "table `{table}`: the primary key changed from {before} to {after}; run `reset --drop-tables` to start over"
    )]
    PrimaryKeyChanged {
        table: String,
        before: String,
        after: String,
    },

    /// A table of that name exists but does not belong to this connection.
    #[error(
        "table `{table}` already exists in the warehouse and belongs to another connection (use a table prefix)"
    )]
    TableTaken { table: String },

    /// A delete names a table without primary key.
    #[error("table `{table}` has no primary key, so its rows cannot be deleted")]
    DeleteWithoutKey { table: String },

    /// SQLite failed.
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),

    /// The demo could not run (a missing binary, a stand-in that did not start).
    #[error("demo: {0}")]
    Demo(String),
}

impl Error {
    /// An I/O error naming what was attempted on which path.
    pub fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

fn searched_text(searched: &[PathBuf]) -> String {
    if searched.is_empty() {
        return "(no target folder found)".to_owned();
    }
    searched
        .iter()
        .map(|p| format!("`{}`", p.display()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn entries_text(entries: &[String]) -> String {
    if entries.is_empty() {
        return "none".to_owned();
    }
    let mut text = entries
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if entries.len() > 5 {
        text.push_str(&format!(", … {} more", entries.len() - 5));
    }
    text
}
