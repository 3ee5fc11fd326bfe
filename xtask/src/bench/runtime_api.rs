//! A tiny AWS Lambda Runtime API host on 127.0.0.1 for the benchmarks: hands invocations to one function process,
//! collects its responses, and times its cold start (process start → first `/invocation/next`). Blocking std I/O,
//! one thread per connection, so xtask needs no async runtime.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};

/// What the function did, as seen by the host.
#[derive(Debug)]
enum Event {
    /// A `GET /invocation/next` arrived.
    Polled(Instant),
    Response {
        id: String,
        body: Vec<u8>,
    },
    Error {
        id: String,
        body: Vec<u8>,
    },
    InitError(Vec<u8>),
}

/// One invocation waiting for a `/invocation/next` poll.
#[derive(Debug)]
struct Invocation {
    id: String,
    body: Vec<u8>,
}

/// A Runtime API host serving one function process.
#[derive(Debug)]
pub struct Host {
    addr: SocketAddr,
    invocations: Sender<Invocation>,
    events: Receiver<Event>,
    next_id: u64,
}

impl Host {
    /// Listens on a free loopback port; connections are served until the host is dropped.
    pub fn start() -> Result<Host> {
        let listener =
            TcpListener::bind("127.0.0.1:0").context("binding the Runtime API listener")?;
        let addr = listener.local_addr()?;
        let (invocations, pending) = channel::<Invocation>();
        let pending = Arc::new(Mutex::new(pending));
        let (events_tx, events) = channel();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let pending = Arc::clone(&pending);
                let events = events_tx.clone();
                thread::spawn(move || serve_connection(stream, &pending, &events));
            }
        });
        Ok(Host {
            addr,
            invocations,
            events,
            next_id: 0,
        })
    }

    /// The value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits for the function's next `/invocation/next` poll; returns when it arrived.
    pub fn wait_polled(&mut self, child: &mut Child, timeout: Duration) -> Result<Instant> {
        match self.next_event(child, timeout)? {
            Event::Polled(at) => Ok(at),
            Event::InitError(body) => bail!("init error: {}", String::from_utf8_lossy(&body)),
            other => bail!("unexpected event while waiting for a poll: {other:?}"),
        }
    }

    /// Makes one invocation and waits for its response body.
    pub fn invoke(
        &mut self,
        child: &mut Child,
        body: Vec<u8>,
        timeout: Duration,
    ) -> Result<Vec<u8>> {
        self.next_id += 1;
        let id = format!("bench-{:06}", self.next_id);
        self.invocations
            .send(Invocation {
                id: id.clone(),
                body,
            })
            .context("the Runtime API host stopped")?;
        loop {
            match self.next_event(child, timeout)? {
                Event::Polled(_) => {}
                Event::Response { id: got, body } if got == id => return Ok(body),
                Event::Error { id: got, body } if got == id => {
                    bail!("invocation {id} failed: {}", String::from_utf8_lossy(&body))
                }
                Event::InitError(body) => bail!("init error: {}", String::from_utf8_lossy(&body)),
                other => bail!("unexpected event for invocation {id}: {other:?}"),
            }
        }
    }

    fn next_event(&mut self, child: &mut Child, timeout: Duration) -> Result<Event> {
        let start = Instant::now();
        loop {
            match self.events.recv_timeout(Duration::from_millis(200)) {
                Ok(event) => return Ok(event),
                Err(RecvTimeoutError::Disconnected) => bail!("the Runtime API host stopped"),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(status) = child.try_wait()? {
                        bail!("the function exited ({status})");
                    }
                    if start.elapsed() > timeout {
                        bail!("the function did not answer within {timeout:?}");
                    }
                }
            }
        }
    }
}

/// The environment Lambda gives a function (the subset `lambda_runtime` reads), for a host at `api`.
pub fn lambda_env(command: &mut Command, api: &str, name: &str) {
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "us-east-1")
        .env("TZ", ":UTC");
}

/// Starts `binary` once against a fresh listener and returns the time from just before the spawn to the arrival of
/// its first `/invocation/next` request line. The process is killed afterwards.
pub fn cold_start(binary: &Path) -> Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let api = listener.local_addr()?.to_string();
    let mut command = Command::new(binary);
    lambda_env(&mut command, &api, "bench-cold-start");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    listener.set_nonblocking(true)?;
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let result = wait_first_poll(&listener, &mut child, start);
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn wait_first_poll(listener: &TcpListener, child: &mut Child, start: Instant) -> Result<Duration> {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false)?;
                let mut line = String::new();
                BufReader::new(stream).read_line(&mut line)?;
                if line.contains("/invocation/next") {
                    return Ok(start.elapsed());
                }
            }
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(status) = child.try_wait()? {
                    bail!("the function exited before polling ({status})");
                }
                if start.elapsed() > Duration::from_secs(10) {
                    bail!("no /invocation/next within 10 s");
                }
                thread::sleep(Duration::from_micros(50));
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// One HTTP/1.1 request as the runtime client sends it.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

fn serve_connection(
    stream: TcpStream,
    pending: &Mutex<Receiver<Invocation>>,
    events: &Sender<Event>,
) {
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader) {
        let path = request
            .path
            .split_once("/runtime/")
            .map_or(request.path.as_str(), |(_, rest)| rest);
        let reply = if request.method == "GET" && path == "invocation/next" {
            let _ = events.send(Event::Polled(Instant::now()));
            // Hold the poll until an invocation is queued, as Lambda does.
            let next = pending.lock().map(|receiver| receiver.recv());
            let Ok(Ok(invocation)) = next else {
                return;
            };
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis()
                + 300_000;
            let headers = format!(
                "Lambda-Runtime-Aws-Request-Id: {}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\n\
                 Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:000000000000:function:bench\r\n\
                 Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n\
                 Content-Type: application/json\r\n",
                invocation.id
            );
            response(200, &headers, &invocation.body)
        } else if let Some(rest) = path.strip_prefix("invocation/") {
            let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
            let event = match kind {
                "response" => Event::Response {
                    id: id.to_owned(),
                    body: request.body,
                },
                _ => Event::Error {
                    id: id.to_owned(),
                    body: request.body,
                },
            };
            let _ = events.send(event);
            response(202, "", b"{\"status\":\"OK\"}")
        } else if path == "init/error" {
            let _ = events.send(Event::InitError(request.body));
            response(202, "", b"{\"status\":\"OK\"}")
        } else {
            response(404, "", b"{}")
        };
        if writer.write_all(&reply).is_err() {
            return;
        }
    }
}

fn response(status: u16, headers: &str, body: &[u8]) -> Vec<u8> {
    let reason = match status {
        200 => "OK",
        202 => "Accepted",
        _ => "Not Found",
    };
    let mut out = format!(
        "HTTP/1.1 {status} {reason}\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}

/// Reads one request; `None` when the client closed the connection. Handles `Content-Length` and chunked bodies.
fn read_request(reader: &mut BufReader<TcpStream>) -> Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 {
            return Ok(None);
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().context("bad Content-Length")?;
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let size = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                .context("bad chunk size")?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk)?;
            chunk.truncate(size);
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk);
        }
    } else {
        // `vec!` of zeros allocates zeroed memory at once; `resize` would write byte by byte in a debug build.
        body = vec![0; length];
        reader.read_exact(&mut body)?;
    }
    Ok(Some(Request { method, path, body }))
}
