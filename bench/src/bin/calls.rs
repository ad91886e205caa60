//! A fixed number of stateless `tools/call`s, for instruction counts under callgrind:
//! `calls --url http://127.0.0.1:P/mcp --count N --concurrency C`. Every answer is validated
//! as in `loadgen`; exits non-zero on any invalid answer.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Instant;

use clap::Parser;
use switchyard_bench::{Conn, Mode, Target};

/// Send exactly `--count` calls over `--concurrency` keep-alive connections.
#[derive(Parser)]
struct Args {
    /// Endpoint, e.g. http://127.0.0.1:8800/mcp (loopback only).
    #[arg(long)]
    url: String,
    /// Calls in total.
    #[arg(long, default_value_t = 1000)]
    count: u64,
    /// Connections, each with one request in flight.
    #[arg(long, default_value_t = 4)]
    concurrency: u64,
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
    let c = args.concurrency.max(1);
    let left = Rc::new(Cell::new(args.count));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..c {
        let mut conn = Conn::open(&target).await?;
        let left = left.clone();
        tasks.push(tokio::task::spawn_local(async move {
            let mut id = i << 40;
            while left.get() > 0 {
                left.set(left.get() - 1);
                id += 1;
                conn.call(Mode::Stateless, id, true).await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    println!(
        "RESULT calls={} seconds={:.2}",
        args.count,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
