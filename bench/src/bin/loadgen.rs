//! Closed-loop load generator: `--concurrency` keep-alive HTTP/1.1 connections, each sending
//! `tools/call` requests back to back (unique JSON-RPC ids), for `--warmup` + `--duration`
//! seconds. Reports requests/s, p50/p99/max latency and errors over the measured window, and,
//! with `--server-pid`, the server's CPU time (user + system) per call over the same window.
//!
//! Every answer is validated (status 200, content type, the echoed text, the request's id, no
//! JSON-RPC error and, in session mode, the progress event before the result); invalid answers
//! count as errors.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::Parser;
use switchyard_bench::{cpu_time, Conn, Mode, Target};

/// Load a Streamable HTTP MCP endpoint with `tools/call` requests.
#[derive(Parser)]
struct Args {
    /// Endpoint, e.g. http://127.0.0.1:8800/mcp (loopback only).
    #[arg(long)]
    url: String,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Measured seconds.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Unmeasured seconds first.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Stateless JSON (2026-07-28) or session + SSE (2025-11-25).
    #[arg(long, value_enum, default_value = "stateless")]
    mode: Mode,
    /// Server process whose CPU time per call to report.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Don't require the answer to carry the request's JSON-RPC id (for fixed-bytes servers).
    #[arg(long)]
    no_id_check: bool,
}

#[derive(Default)]
struct Tally {
    /// Latencies of the calls completed in the measured window, in microseconds.
    lat_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // One thread: the load generator is pinned to one core, and a single-threaded runtime
    // spends the least of it on itself.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::task::LocalSet::new().run_until(run(args)))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.url)?;
    let mode = args.mode;
    let check_id = !args.no_id_check;
    // Open (and in session mode, initialize) every connection before the clock starts.
    let mut conns = Vec::with_capacity(args.concurrency);
    for i in 0..args.concurrency {
        conns.push(Conn::open_mode(&target, mode, 1_000_000_000 + i as u64).await?);
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup);
    let until = measure_from + Duration::from_secs_f64(args.duration);
    let tally = Rc::new(RefCell::new(Tally::default()));

    let mut tasks = Vec::new();
    for (i, mut conn) in conns.into_iter().enumerate() {
        let tally = tally.clone();
        let target = target.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut lat = Vec::with_capacity(1 << 16);
            // Ids are unique across connections: connection index in the high bits.
            let mut id = (i as u64) << 40;
            loop {
                let t0 = Instant::now();
                if t0 >= until {
                    break;
                }
                id += 1;
                let r = conn.call(mode, id, check_id).await;
                let t1 = Instant::now();
                let measured = t0 >= measure_from && t1 <= until;
                match r {
                    Ok(()) => {
                        if measured {
                            lat.push((t1 - t0).as_micros().min(u32::MAX as u128) as u32);
                        }
                    }
                    Err(e) => {
                        {
                            let mut t = tally.borrow_mut();
                            if measured {
                                t.errors += 1;
                            }
                            t.first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                        // The connection may be gone: open a new one (and a new session).
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        match Conn::open_mode(&target, mode, id).await {
                            Ok(c) => conn = c,
                            Err(_) => continue,
                        }
                    }
                }
            }
            tally.borrow_mut().lat_us.extend_from_slice(&lat);
        }));
    }

    // Server CPU over the measured window.
    tokio::time::sleep_until(measure_from.into()).await;
    let cpu0 = args.server_pid.map(cpu_time).transpose()?;
    tokio::time::sleep_until(until.into()).await;
    let cpu1 = args.server_pid.map(cpu_time).transpose()?;
    for t in tasks {
        t.await?;
    }

    let mut t = tally.borrow_mut();
    let n = t.lat_us.len();
    t.lat_us.sort_unstable();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return f64::NAN;
        }
        let i = ((p / 100.0) * n as f64).ceil() as usize;
        t.lat_us[i.clamp(1, n) - 1] as f64
    };
    let rps = n as f64 / args.duration;
    let cpu_us = match (cpu0, cpu1) {
        (Some(a), Some(b)) if n > 0 => (b - a).as_secs_f64() * 1e6 / n as f64,
        _ => f64::NAN,
    };
    println!(
        "RESULT mode={:?} c={} requests={} rps={:.0} p50_us={:.0} p99_us={:.0} max_us={:.0} errors={} cpu_us_per_call={:.2}",
        mode,
        args.concurrency,
        n,
        rps,
        pct(50.0),
        pct(99.0),
        pct(100.0),
        t.errors,
        cpu_us
    );
    if let Some(e) = &t.first_error {
        eprintln!("first error: {e}");
    }
    Ok(())
}
