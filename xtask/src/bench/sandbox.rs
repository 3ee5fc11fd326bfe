//! A stand-in (`sandbox-apis serve`) as a child process: started with injected latency, asked for its
//! request statistics over its control endpoint, stopped when dropped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};

/// A running stand-in.
#[derive(Debug)]
pub struct Sandbox {
    child: Child,
    base_url: String,
}

/// `GET /_sandbox/stats`.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub requests: u64,
    pub max_in_flight: u64,
}

impl Sandbox {
    /// Starts `sandbox-apis serve --api API` with `records` records and `latency_ms` on every answer.
    pub fn start(binary: &Path, api: &str, records: u64, latency_ms: u64) -> Result<Sandbox> {
        let mut child = Command::new(binary)
            .args(["serve", "--api", api, "--port", "0", "--seed", "1"])
            .args(["--records", &records.to_string()])
            .args(["--fault", &format!("latency={latency_ms}")])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let base_url = line.trim().to_owned();
        if !base_url.starts_with("http://127.0.0.1:") {
            let _ = child.kill();
            bail!("the stand-in did not print its URL (got {base_url:?})");
        }
        Ok(Sandbox { child, base_url })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Requests served so far and the most served at once.
    pub fn stats(&self) -> Result<Stats> {
        let authority = self
            .base_url
            .strip_prefix("http://")
            .context("not an http URL")?;
        let mut stream = TcpStream::connect(authority)?;
        write!(
            stream,
            "GET /_sandbox/stats HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
        )?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        let json: serde_json::Value =
            serde_json::from_str(body.trim()).with_context(|| format!("stats body {body:?}"))?;
        let number = |name: &str| json.get(name).and_then(serde_json::Value::as_u64);
        Ok(Stats {
            requests: number("requests").context("no `requests` in stats")?,
            max_in_flight: number("max_in_flight").context("no `max_in_flight` in stats")?,
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
