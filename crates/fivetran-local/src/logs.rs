//! The function's logs: every line it writes to stdout or stderr, plus Lambda's `START`/`END`/`REPORT` lines, goes to
//! an optional log file, optionally to this process's stderr, and into a short tail kept for error messages.

use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use crate::error::{Error, Result};

/// How many recent lines are kept for error messages.
const TAIL_LINES: usize = 12;

/// Where the function's log lines go. Cheap to clone; clones share the sink.
#[derive(Debug, Clone)]
pub struct LogSink(Arc<Mutex<Inner>>);

#[derive(Debug)]
struct Inner {
    file: Option<File>,
    echo: bool,
    tail: VecDeque<String>,
}

impl LogSink {
    /// A sink appending to `file` (when given) and echoing to stderr when `echo`.
    pub fn new(file: Option<&Path>, echo: bool) -> Result<Self> {
        let file = match file {
            Some(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| Error::io("create the folder", parent, e))?;
                }
                Some(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                        .map_err(|e| Error::io("open the log file", path, e))?,
                )
            }
            None => None,
        };
        Ok(LogSink(Arc::new(Mutex::new(Inner {
            file,
            echo,
            tail: VecDeque::new(),
        }))))
    }

    /// Records one line.
    pub fn line(&self, text: &str) {
        let mut inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(file) = inner.file.as_mut() {
            let _ = writeln!(file, "{text}");
        }
        if inner.echo {
            let _ = writeln!(std::io::stderr().lock(), "  │ {text}");
        }
        if inner.tail.len() == TAIL_LINES {
            inner.tail.pop_front();
        }
        inner.tail.push_back(text.to_owned());
    }

    /// The most recent lines, oldest first.
    pub fn tail(&self) -> Vec<String> {
        let inner = self.0.lock().unwrap_or_else(|e| e.into_inner());
        inner.tail.iter().cloned().collect()
    }

    /// Forgets the tail (a new process starts).
    pub fn clear_tail(&self) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .tail
            .clear();
    }

    /// Copies every line of `stream` into the sink until it closes; invalid UTF-8 is replaced, not fatal.
    pub fn spawn_reader<R>(&self, stream: R) -> tokio::task::JoinHandle<()>
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let sink = self.clone();
        tokio::spawn(async move {
            let mut reader = BufReader::new(stream);
            let mut buffer = Vec::new();
            loop {
                buffer.clear();
                match reader.read_until(b'\n', &mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let text = String::from_utf8_lossy(&buffer);
                        sink.line(text.trim_end_matches(['\n', '\r']));
                    }
                }
            }
        })
    }
}
