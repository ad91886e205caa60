//! Memory of idle legacy sessions: creates `--count` sessions (`initialize` +
//! `notifications/initialized`, then nothing) and reports the server's resident set size
//! (`VmRSS` of `--pid`) before and after.

use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use switchyard_bench::{rss_kib, Conn, Target};

/// Open many idle legacy sessions and measure the server's memory.
#[derive(Parser)]
struct Args {
    /// Endpoint, e.g. http://127.0.0.1:8800/mcp (loopback only).
    #[arg(long)]
    url: String,
    /// Sessions to create.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// Server process to measure.
    #[arg(long)]
    pid: u32,
    /// Connections used to create the sessions.
    #[arg(long, default_value_t = 16)]
    concurrency: u64,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120.0)]
    timeout: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(tokio::task::LocalSet::new().run_until(run(args)))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let target = Target::parse(&args.url)?;
    let before = rss_kib(args.pid)?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.timeout);
    let mut tasks = Vec::new();
    for w in 0..args.concurrency {
        let target = target.clone();
        let (count, workers) = (args.count, args.concurrency);
        tasks.push(tokio::task::spawn_local(async move {
            let mut c = Conn::open(&target).await?;
            let mut made = 0u64;
            let mut i = w;
            while i < count {
                if Instant::now() > deadline {
                    bail!("timed out after {made} sessions on this connection");
                }
                c.session = None;
                c.handshake(i + 1).await?;
                made += 1;
                i += workers;
            }
            anyhow::Ok(made)
        }));
    }
    let mut made = 0;
    for t in tasks {
        made += t.await??;
    }
    let took = start.elapsed();
    // Let the server settle (spawned tasks, allocator) before reading its RSS.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(args.pid)?;
    let per = (after.saturating_sub(before) as f64 * 1024.0) / made.max(1) as f64;
    println!(
        "SESSIONS count={made} rss_before_kib={before} rss_after_kib={after} rss_after_mib={:.1} bytes_per_session={per:.0} seconds={:.1}",
        after as f64 / 1024.0,
        took.as_secs_f64()
    );
    Ok(())
}
