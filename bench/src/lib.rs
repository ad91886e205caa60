//! Shared pieces of the Streamable HTTP benchmark: the exact requests every load generator sends,
//! what a valid answer must contain, a small keep-alive HTTP/1.1 client and `/proc` readers.
//!
//! The binaries are `bench-server` (the servers under test), `loadgen` (throughput and latency)
//! and `sessions` (memory per idle legacy session); `bench/run.sh` drives them all in one run and
//! `docs/benchmarks.md` holds the results.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// The protocol version of stateless (modern) requests.
pub const MODERN: &str = "2026-07-28";
/// The protocol version of session (legacy) requests.
pub const LEGACY: &str = "2025-11-25";
/// The text every `echo` call sends and every answer must carry back.
pub const ECHO_TEXT: &str = "hi";
/// What a valid `echo` result contains, byte for byte, in all servers' compact JSON.
pub const EXPECT_RESULT: &str = r#""text":"hi""#;
/// What the progress notification of a session-mode call contains.
pub const EXPECT_PROGRESS: &str = "notifications/progress";
/// The tool that answers at once.
pub const TOOL_ECHO: &str = "echo";
/// The tool that emits one progress notification before answering (so the answer is SSE).
pub const TOOL_ECHO_PROGRESS: &str = "echo_progress";
/// Like `echo_progress`, but yields to the runtime between the notification and the answer,
/// so the answer cannot be ready when the notification is (the streamed SSE path).
pub const TOOL_ECHO_PROGRESS_YIELD: &str = "echo_progress_yield";

/// Which kind of traffic a load generator sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// 2026-07-28: no session, every request self-describing, JSON answer.
    Stateless,
    /// 2025-11-25: `initialize` once per connection, then `tools/call` of `echo_progress` in
    /// that session with a progress token, answered as SSE (one progress event + the result).
    Session,
    /// As `session`, but calling `echo_progress_yield`: the handler is still running when its
    /// progress event is ready, so the server must stream the SSE answer.
    SessionStream,
}

impl Mode {
    /// Whether this mode runs inside legacy sessions.
    pub fn is_session(self) -> bool {
        matches!(self, Mode::Session | Mode::SessionStream)
    }
}

/// Body of a stateless `tools/call` of `echo` with JSON-RPC id `id`.
pub fn stateless_call(id: u64) -> Bytes {
    Bytes::from(format!(
        concat!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"tools/call","params":{{"name":"echo","arguments":{{"text":"hi"}},"#,
            r#""_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
        ),
        id
    ))
}

/// Body of a session `tools/call` of `tool` with JSON-RPC id `id` (also the progress token).
pub fn session_call(tool: &str, id: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{{"text":"hi"}},"_meta":{{"progressToken":{id}}}}}}}"#
    ))
}

/// Body of a legacy `initialize`.
pub fn initialize(id: u64) -> Bytes {
    Bytes::from(format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"initialize","params":{{"protocolVersion":"2025-11-25","capabilities":{{}},"clientInfo":{{"name":"switchyard-bench","version":"0.1.0"}}}}}}"#
    ))
}

/// Body of the `notifications/initialized` that completes a legacy handshake.
pub const INITIALIZED: &str = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;

/// Where a load generator sends its requests.
#[derive(Clone, Debug)]
pub struct Target {
    /// `host:port` to connect to (loopback only).
    pub addr: String,
    /// Value of the `Host` header.
    pub authority: String,
    /// Request path, e.g. `/mcp`.
    pub path: String,
}

impl Target {
    /// Parses `http://127.0.0.1:PORT/path`; refuses anything that is not loopback.
    pub fn parse(url: &str) -> anyhow::Result<Self> {
        let uri: http::Uri = url.parse().context("bad --url")?;
        if uri.scheme_str() != Some("http") {
            bail!("only http:// URLs are supported");
        }
        let host = uri.host().ok_or_else(|| anyhow!("--url has no host"))?;
        if !(host == "localhost" || host.starts_with("127.") || host == "[::1]") {
            bail!("the benchmark only targets loopback addresses, not {host}");
        }
        let port = uri.port_u16().unwrap_or(80);
        Ok(Self {
            addr: format!("{host}:{port}"),
            authority: format!("{host}:{port}"),
            path: uri.path().to_owned(),
        })
    }
}

/// One keep-alive HTTP/1.1 connection.
pub struct Conn {
    send: SendRequest<Full<Bytes>>,
    target: Target,
    /// The legacy session this connection runs in, if any.
    pub session: Option<String>,
}

/// A response read to its end.
pub struct Answer {
    /// HTTP status.
    pub status: StatusCode,
    /// Response headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Conn {
    /// Opens a connection with `TCP_NODELAY` and drives it on the current runtime.
    pub async fn open(target: &Target) -> anyhow::Result<Self> {
        let tcp = tokio::net::TcpStream::connect(&target.addr).await?;
        tcp.set_nodelay(true)?;
        let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Self {
            send,
            target: target.clone(),
            session: None,
        })
    }

    /// Opens a connection and, in session mode, runs the legacy handshake on it.
    pub async fn open_mode(target: &Target, mode: Mode, id: u64) -> anyhow::Result<Self> {
        let mut c = Self::open(target).await?;
        if mode.is_session() {
            c.handshake(id).await?;
        }
        Ok(c)
    }

    /// `initialize` + `notifications/initialized`; remembers the session id.
    pub async fn handshake(&mut self, id: u64) -> anyhow::Result<()> {
        let a = self.post(initialize(id), None).await?;
        if a.status != StatusCode::OK {
            bail!("initialize: HTTP {}", a.status);
        }
        let sid = a
            .headers
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow!("initialize answer has no Mcp-Session-Id"))?
            .to_owned();
        if !contains(&a.body, b"\"result\"") {
            bail!("initialize answer has no result");
        }
        self.session = Some(sid);
        let a = self.post(Bytes::from_static(INITIALIZED.as_bytes()), None).await?;
        if a.status != StatusCode::ACCEPTED {
            bail!("notifications/initialized: HTTP {}", a.status);
        }
        Ok(())
    }

    /// Sends one POST. `mcp_name` adds the modern `Mcp-Method`/`Mcp-Name` headers for a
    /// stateless `tools/call`; otherwise the session headers (if any) are sent.
    pub async fn post(&mut self, body: Bytes, mcp_name: Option<&str>) -> anyhow::Result<Answer> {
        let mut b = Request::post(self.target.path.as_str())
            .header("host", self.target.authority.as_str())
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream");
        if let Some(name) = mcp_name {
            b = b
                .header("mcp-protocol-version", MODERN)
                .header("mcp-method", "tools/call")
                .header("mcp-name", name);
        } else if let Some(sid) = &self.session {
            b = b
                .header("mcp-protocol-version", LEGACY)
                .header("mcp-session-id", sid.as_str());
        }
        let req = b.body(Full::new(body))?;
        self.send.ready().await?;
        let resp = self.send.send_request(req).await?;
        let (parts, body) = resp.into_parts();
        let body = body.collect().await?.to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// One benchmark call in `mode` with JSON-RPC id `id`; errors if the answer is not valid
    /// or, with `check_id`, does not carry `id` (the bare-hyper baseline answers fixed bytes,
    /// so its runs turn the id check off; the search is made either way, to cost the same).
    pub async fn call(&mut self, mode: Mode, id: u64, check_id: bool) -> anyhow::Result<()> {
        let a = match mode {
            Mode::Stateless => self.post(stateless_call(id), Some(TOOL_ECHO)).await?,
            Mode::Session => self.post(session_call(TOOL_ECHO_PROGRESS, id), None).await?,
            Mode::SessionStream => {
                self.post(session_call(TOOL_ECHO_PROGRESS_YIELD, id), None)
                    .await?
            }
        };
        validate(mode, &a)?;
        let has_id = contains(&a.body, format!("\"id\":{id},").as_bytes());
        if check_id && !has_id {
            bail!("answer does not carry id {id}");
        }
        Ok(())
    }
}

/// Whether `a` is a valid answer to a benchmark call: status 200, the right content type, the
/// echoed text in a result, no JSON-RPC error and, in session mode, the progress event first.
///
/// The JSON-RPC id is compared by [`Conn::call`].
pub fn validate(mode: Mode, a: &Answer) -> anyhow::Result<()> {
    if a.status != StatusCode::OK {
        bail!("HTTP {}", a.status);
    }
    let ct = a
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let want_ct = match mode {
        Mode::Stateless => "application/json",
        Mode::Session | Mode::SessionStream => "text/event-stream",
    };
    if !ct.starts_with(want_ct) {
        bail!("content-type {ct:?}, want {want_ct}");
    }
    let body = &a.body[..];
    if contains(body, b"\"error\"") {
        bail!("JSON-RPC error: {}", String::from_utf8_lossy(body));
    }
    let Some(r) = find(body, EXPECT_RESULT.as_bytes()) else {
        bail!("no echoed result in {}", String::from_utf8_lossy(body));
    };
    if mode.is_session() {
        match find(body, EXPECT_PROGRESS.as_bytes()) {
            Some(p) if p < r => {}
            _ => bail!("no progress event before the result"),
        }
    }
    Ok(())
}

/// Whether `needle` occurs in `hay`.
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

/// Offset of the first `needle` in `hay`.
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// CPU time (user + system) a process has used, from `/proc/<pid>/stat`.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .ok_or_else(|| anyhow!("odd /proc/{pid}/stat"))?
        .1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = f.get(11).ok_or_else(|| anyhow!("no utime"))?.parse()?;
    let stime: u64 = f.get(12).ok_or_else(|| anyhow!("no stime"))?.parse()?;
    Ok(Duration::from_secs_f64((utime + stime) as f64 / clock_ticks()))
}

/// Clock ticks per second (`getconf CLK_TCK`).
fn clock_ticks() -> f64 {
    let t = sysconf_clk_tck();
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

#[allow(unsafe_code)] // sysconf(_SC_CLK_TCK) takes and returns integers only.
fn sysconf_clk_tck() -> i64 {
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as i64 }
}

/// Resident set size of a process in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    for line in status.lines() {
        if let Some(v) = line.strip_prefix("VmRSS:") {
            return Ok(v.trim().trim_end_matches("kB").trim().parse()?);
        }
    }
    bail!("no VmRSS in /proc/{pid}/status")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies_are_valid_json() {
        for b in [stateless_call(7), session_call(TOOL_ECHO_PROGRESS, 7), initialize(7)] {
            let v: serde_json::Value = serde_json::from_slice(&b).expect("json");
            assert_eq!(v["id"], 7);
        }
        let v: serde_json::Value = serde_json::from_slice(&session_call(TOOL_ECHO_PROGRESS, 9)).expect("json");
        assert_eq!(v["params"]["_meta"]["progressToken"], 9);
    }

    #[test]
    fn target_refuses_non_loopback() {
        assert!(Target::parse("http://127.0.0.1:1/mcp").is_ok());
        assert!(Target::parse("http://10.0.0.1:1/mcp").is_err());
    }
}
