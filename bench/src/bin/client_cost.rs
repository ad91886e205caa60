//! What `switchyard-client` costs per `tools/call`, against the same request sent as a raw
//! reqwest POST with a pre-built body (and its JSON answer parsed).
//!
//! ```text
//! cargo build --release --manifest-path bench/Cargo.toml --target-dir target/bench
//! taskset -c 1 target/bench/release/client_cost --server-cpu 0
//! ```
//!
//! Starts `bench-server --kind switchyard` (the sibling binary) on 127.0.0.1, pinned to
//! `--server-cpu` when given, so the CPU time from `getrusage(RUSAGE_SELF)` is the client's
//! alone. Then, in each era (2026-07-28 stateless; 2025-11-25 in a session), it times `--calls`
//! sequential calls and `--calls` calls spread over `--concurrency` tasks, through
//! `Client::call_tool` and through the raw POST, interleaved over `--rounds` rounds; the report
//! gives the median round. Both paths check every answer carries the echoed text.
//! Prints a markdown table for `docs/benchmarks.md` § "Connector client (switchyard-client)".

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use bytes::Bytes;
use clap::Parser;
use serde_json::{json, Value};
use switchyard_client::{Client, ClientOptions, ProtocolPreference, RequestOptions};

/// Time `tools/call` through switchyard-client and as a raw POST.
#[derive(Parser)]
struct Args {
    /// Calls per measurement.
    #[arg(long, default_value_t = 20_000)]
    calls: usize,
    /// Tasks sharing the calls in the concurrent measurement.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Interleaved rounds per measurement; the median round is reported.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Pin the spawned server to this CPU (taskset).
    #[arg(long)]
    server_cpu: Option<usize>,
    /// Use a running server instead of spawning one (loopback only).
    #[arg(long)]
    url: Option<String>,
    /// Tokio worker threads on the client side.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// The spawned server, killed on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn_server(cpu: Option<usize>) -> anyhow::Result<(Server, String)> {
    let exe = std::env::current_exe()?;
    let server = exe
        .parent()
        .ok_or_else(|| anyhow!("no directory for {exe:?}"))?
        .join("bench-server");
    let mut cmd = match cpu {
        Some(c) => {
            let mut t = Command::new("taskset");
            t.arg("-c").arg(c.to_string()).arg(&server);
            t
        }
        None => Command::new(&server),
    };
    let mut child = cmd
        .args(["--kind", "switchyard", "--port", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {server:?}"))?;
    let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    // bench-server prints "… listening on http://ADDR/mcp" once ready.
    for line in lines.by_ref() {
        let line = line?;
        if let Some(i) = line.find("http://") {
            let url = line[i..].trim().to_owned();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Ok((server, url));
        }
    }
    bail!("bench-server exited before listening")
}

/// CPU time (user + system) of this whole process so far. `getrusage` rather than
/// `/proc/self/stat`, whose clock ticks (10 ms) are too coarse for a run of a few hundred ms.
fn self_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given, which is zero-initialised and
    // owned here; RUSAGE_SELF is always valid.
    #[allow(unsafe_code)]
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// One measured run.
#[derive(Clone, Copy, Debug)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    p50: Duration,
    p99: Duration,
}

/// Something that performs one `tools/call` of `echo` and checks the answer.
trait Caller: Send + Sync + 'static {
    fn call(&self) -> impl std::future::Future<Output = anyhow::Result<()>> + Send;
}

/// The `text` of the first content block, which must be the echoed `hi`.
fn check_result(result: &Value) -> anyhow::Result<()> {
    match result["content"][0]["text"].as_str() {
        Some("hi") => Ok(()),
        _ => bail!("unexpected result: {result}"),
    }
}

struct ViaClient(Client);

impl Caller for ViaClient {
    async fn call(&self) -> anyhow::Result<()> {
        let r = self
            .0
            .call_tool("echo", json!({"text": "hi"}), &RequestOptions::default())
            .await?;
        check_result(&r)
    }
}

/// The request the client sends, pre-built: body bytes and headers.
struct Raw {
    http: reqwest::Client,
    url: String,
    body: Bytes,
    headers: reqwest::header::HeaderMap,
}

impl Caller for Raw {
    async fn call(&self) -> anyhow::Result<()> {
        let resp = self
            .http
            .post(&self.url)
            .headers(self.headers.clone())
            .body(self.body.clone())
            .send()
            .await?;
        if !resp.status().is_success() {
            bail!("HTTP {}", resp.status());
        }
        let bytes = resp.bytes().await?;
        let v: Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("not JSON: {}", String::from_utf8_lossy(&bytes)))?;
        check_result(&v["result"])
    }
}

impl Raw {
    /// The same request the client sends in `era`, byte for byte apart from the id (fixed here).
    async fn new(url: &str, modern: bool) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder().build()?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("content-type", "application/json".parse()?);
        headers.insert("accept", "application/json, text/event-stream".parse()?);
        let info = json!({"name": "switchyard", "version": env!("CARGO_PKG_VERSION")});
        let body = if modern {
            headers.insert("mcp-protocol-version", "2026-07-28".parse()?);
            headers.insert("mcp-method", "tools/call".parse()?);
            headers.insert("mcp-name", "echo".parse()?);
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
            "name": "echo", "arguments": {"text": "hi"},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": info,
            }}})
        } else {
            // One legacy session, opened by hand.
            let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": info}});
            let resp = http
                .post(url)
                .headers(headers.clone())
                .body(init.to_string())
                .send()
                .await?;
            let sid = resp
                .headers()
                .get("mcp-session-id")
                .cloned()
                .ok_or_else(|| anyhow!("initialize answered without a session id"))?;
            let _ = resp.bytes().await?;
            headers.insert("mcp-session-id", sid);
            headers.insert("mcp-protocol-version", "2025-11-25".parse()?);
            let done = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            http.post(url)
                .headers(headers.clone())
                .body(done.to_string())
                .send()
                .await?
                .error_for_status()?;
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"text": "hi"}}})
        };
        Ok(Self {
            http,
            url: url.to_owned(),
            body: Bytes::from(serde_json::to_vec(&body)?),
            headers,
        })
    }
}

/// `calls` calls over `tasks` tasks; per-call latencies are kept for the percentiles.
async fn measure<C: Caller>(caller: &Arc<C>, calls: usize, tasks: usize) -> anyhow::Result<Sample> {
    let per_task = calls / tasks;
    let cpu0 = self_cpu();
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        let c = caller.clone();
        handles.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let t = Instant::now();
                c.call().await?;
                lat.push(t.elapsed());
            }
            anyhow::Ok(lat)
        }));
    }
    let mut lat = Vec::with_capacity(per_task * tasks);
    for h in handles {
        lat.extend(h.await??);
    }
    let wall = t0.elapsed();
    let cpu = self_cpu() - cpu0;
    lat.sort_unstable();
    let n = lat.len() as u32;
    Ok(Sample {
        wall: wall / n,
        cpu: cpu / n,
        p50: lat[lat.len() / 2],
        p99: lat[lat.len() * 99 / 100],
    })
}

fn median(mut v: Vec<Sample>) -> Sample {
    v.sort_by_key(|s| s.wall);
    v[v.len() / 2]
}

fn us(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1e6)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.concurrency == 0 || args.calls < args.concurrency || args.rounds == 0 {
        bail!("need --calls ≥ --concurrency ≥ 1 and --rounds ≥ 1");
    }
    let (_server, url) = match &args.url {
        Some(u) => (None, u.clone()),
        None => {
            let (s, u) = spawn_server(args.server_cpu)?;
            (Some(s), u)
        }
    };
    switchyard_bench::Target::parse(&url)?; // loopback only
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(run(args, url))
}

async fn run(args: Args, url: String) -> anyhow::Result<()> {
    let started = Instant::now();
    let load_before = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut rows = Vec::new();
    for (era, modern) in [("2026-07-28", true), ("2025-11-25 session", false)] {
        let opts = ClientOptions {
            protocol: if modern {
                ProtocolPreference::Modern
            } else {
                ProtocolPreference::Legacy("2025-11-25".into())
            },
            ..ClientOptions::default()
        };
        let client = Arc::new(ViaClient(Client::connect_http(&url, opts).await?));
        let version = client
            .0
            .http()
            .map(|h| h.protocol_version())
            .unwrap_or_default();
        if !era.starts_with(&version) {
            bail!("asked for {era}, the client negotiated {version}");
        }
        let raw = Arc::new(Raw::new(&url, modern).await?);
        // Warm-up: connections open, allocator and caches settled.
        measure(&client, 2_000.min(args.calls), args.concurrency).await?;
        measure(&raw, 2_000.min(args.calls), args.concurrency).await?;
        for tasks in [1, args.concurrency] {
            let (mut c, mut r) = (Vec::new(), Vec::new());
            for _ in 0..args.rounds {
                c.push(measure(&client, args.calls, tasks).await?);
                r.push(measure(&raw, args.calls, tasks).await?);
            }
            rows.push((era, tasks, median(c), median(r)));
        }
        client.0.close().await;
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "Run of {} s; {} calls per measurement, median of {} interleaved rounds; {cpus} CPUs; \
         load average before: {}, after: {}.",
        started.elapsed().as_secs(),
        args.calls,
        args.rounds,
        load_before
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        load_after
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    println!();
    println!(
        "| era | concurrency | path | µs/call (wall) | p50 µs | p99 µs | client CPU µs/call | client ÷ raw (wall) | client ÷ raw (CPU) |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for (era, tasks, c, r) in rows {
        for (path, s) in [("raw reqwest POST", r), ("`Client::call_tool`", c)] {
            let ratio =
                |a: Duration, b: Duration| format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64());
            let (rw, rc) = if path.starts_with('`') {
                (ratio(c.wall, r.wall), ratio(c.cpu, r.cpu))
            } else {
                ("1.00×".into(), "1.00×".into())
            };
            println!(
                "| {era} | {tasks} | {path} | {} | {} | {} | {} | {rw} | {rc} |",
                us(s.wall),
                us(s.p50),
                us(s.p99),
                us(s.cpu)
            );
        }
    }
    Ok(())
}
