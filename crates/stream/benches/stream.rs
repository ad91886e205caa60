//! Throughput of `switchyard-stream` against re-parsing with jiter's partial
//! mode on every chunk, and against serde_json on the whole input.
//!
//! Run: `cargo bench -p switchyard-stream --bench stream` (prints markdown).
//! Plain `std::time`: one warm-up run, then the best of several runs, so
//! other work on the machine inflates the figures as little as possible.

use std::hint::black_box;
use std::time::{Duration, Instant};

use jiter::{JsonValueScratch, PartialMode};
use switchyard_stream::{Event, Options, Parser};

const SIZES: [usize; 4] = [1 << 10, 10 << 10, 100 << 10, 1 << 20];
const CHUNKS: [usize; 3] = [1, 16, 64];
/// Re-parsing costs O(n²/chunk); past this many bytes re-parsed per run the
/// baseline times an evenly spaced sample of the prefixes and scales up.
const REPARSE_BUDGET: f64 = 256.0 * 1024.0 * 1024.0;
/// Each measurement repeats until this much time or `MAX_REPS` runs.
const TARGET: Duration = Duration::from_millis(300);
const MAX_REPS: usize = 15;

/// A tool-input-like document of about `size` bytes: a path, flags, and an
/// array of edits with code text (escapes, non-ASCII), numbers and literals.
fn document(size: usize) -> Vec<u8> {
    let mut s = String::from(r#"{"path": "src/handlers/upload.rs", "dry_run": false, "edits": ["#);
    let mut i = 0u32;
    while s.len() + 200 < size || i == 0 {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&format!(
            concat!(
                r#"{{"line": {}, "col": {}, "score": {}.25e-1, "ok": true, "note": null, "#,
                r#""old": "let x = {}; // naïve 日本", "#,
                r#""new": "fn upload_{}(req: &Request) -> Result<()> {{\n    log!(\"caf\u00e9 \\\"{}\\\" \u2713\");\n    Ok(())\n}}\n"}}"#
            ),
            i * 7 + 1,
            i % 80,
            i % 100,
            i,
            i,
            i
        ));
        i += 1;
    }
    s.push_str(r#"], "message": "apply edits"}"#);
    assert!(serde_json::from_str::<serde_json::Value>(&s).is_ok());
    s.into_bytes()
}

/// Best time of several runs after one warm-up.
fn best(mut f: impl FnMut()) -> Duration {
    f();
    let mut best = Duration::MAX;
    let start = Instant::now();
    let mut reps = 0;
    while reps < 3 || (start.elapsed() < TARGET && reps < MAX_REPS) {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed());
        reps += 1;
    }
    best
}

/// Our parser, events only (snapshot off).
fn ours_events(doc: &[u8], chunk: usize) -> Duration {
    let opts = Options {
        snapshot: false,
        ..Options::default()
    };
    best(|| {
        let mut p = Parser::with_options(opts);
        let mut count = 0usize;
        for c in doc.chunks(chunk) {
            p.feed(c, |e, _| {
                count += match e {
                    Event::StringDelta(s) => s.len(),
                    _ => 1,
                }
            })
            .expect("valid");
        }
        let done = p.finish(|_, _| {}).expect("valid");
        assert_eq!(black_box(done), switchyard_stream::Completion::Complete);
        black_box(count);
    })
}

/// Our parser with the snapshot kept, looked at after every chunk: what a
/// UI that renders the partial value needs.
fn ours_snapshot(doc: &[u8], chunk: usize) -> Duration {
    best(|| {
        let mut p = Parser::new();
        let mut count = 0usize;
        for c in doc.chunks(chunk) {
            p.feed(c, |_, _| count += 1).expect("valid");
            black_box(p.snapshot().map(|s| s.len()));
        }
        let done = p.finish(|_, _| {}).expect("valid");
        assert_eq!(black_box(done), switchyard_stream::Completion::Complete);
        black_box(count);
    })
}

/// jiter in partial mode, re-parsing the whole prefix after every chunk.
/// Returns the (possibly extrapolated) time and whether it was sampled.
fn jiter_reparse(doc: &[u8], chunk: usize) -> (Duration, bool) {
    let ends: Vec<usize> = (1..=doc.len().div_ceil(chunk))
        .map(|k| (k * chunk).min(doc.len()))
        .collect();
    let work = ends.len() as f64 * doc.len() as f64 / 2.0;
    let sample = if work > REPARSE_BUDGET {
        (ends.len() as f64 * REPARSE_BUDGET / work).ceil() as usize
    } else {
        ends.len()
    };
    let step = ends.len() as f64 / sample as f64;
    // The middle of each of `sample` equal slices of the prefixes.
    let picked: Vec<usize> = (0..sample)
        .map(|k| ends[((k as f64 + 0.5) * step) as usize])
        .collect();
    let t = best(|| {
        let mut scratch = JsonValueScratch::new();
        for &end in &picked {
            let v = scratch
                .parse(&doc[..end], false, PartialMode::TrailingStrings)
                .expect("valid prefix");
            black_box(v);
        }
    });
    let scale = ends.len() as f64 / picked.len() as f64;
    (t.mul_f64(scale), picked.len() < ends.len())
}

fn serde_whole(doc: &[u8]) -> Duration {
    best(|| {
        black_box(serde_json::from_slice::<serde_json::Value>(doc).expect("valid"));
    })
}

/// serde_json checking the whole input without building anything.
fn serde_validate(doc: &[u8]) -> Duration {
    best(|| {
        black_box(serde_json::from_slice::<serde::de::IgnoredAny>(doc).expect("valid"));
    })
}

fn mbps(bytes: usize, t: Duration) -> f64 {
    bytes as f64 / t.as_secs_f64() / 1e6
}

fn human(n: usize) -> String {
    if n >= 1 << 20 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{} KiB", n >> 10)
    }
}

fn fmt_time(t: Duration) -> String {
    let s = t.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

struct Row {
    nominal: usize,
    size: usize,
    chunk: usize,
    events: Duration,
    snapshot: Duration,
    jiter: Duration,
    sampled: bool,
    serde: Duration,
    serde_validate: Duration,
}

fn main() {
    // `-- profile`: loop the parser alone on 1 MiB in 64-byte chunks, for perf.
    if std::env::args().any(|a| a == "profile") {
        let doc = document(1 << 20);
        for _ in 0..10 {
            black_box(if std::env::args().any(|a| a == "events") {
                ours_events(&doc, 64)
            } else {
                ours_snapshot(&doc, 64)
            });
        }
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument limits the sizes.
    let max: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(usize::MAX);
    let mut rows = Vec::new();
    for &size in SIZES.iter().filter(|&&s| s <= max) {
        let doc = document(size);
        let serde = serde_whole(&doc);
        let serde_validate = serde_validate(&doc);
        for &chunk in &CHUNKS {
            let (jiter, sampled) = jiter_reparse(&doc, chunk);
            rows.push(Row {
                nominal: size,
                size: doc.len(),
                chunk,
                events: ours_events(&doc, chunk),
                snapshot: ours_snapshot(&doc, chunk),
                jiter,
                sampled,
                serde,
                serde_validate,
            });
            eprintln!("measured {} / {chunk} B chunks", human(size));
        }
    }

    println!("### Throughput (MB/s of input; higher is better)\n");
    println!(
        "| input | chunk | stream: events | stream: events + snapshot | \
         jiter partial re-parse per chunk | serde_json → Value, whole input once | \
         serde_json validate-only, whole input once | events + snapshot vs re-parse | \
         events vs serde_json → Value | events vs serde_json validate-only |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in &rows {
        println!(
            "| {} | {} B | {:.0} | {:.0} | {:.2}{} | {:.0} | {:.0} | {:.0}x faster | {:.2}x | {:.2}x |",
            human(r.nominal),
            r.chunk,
            mbps(r.size, r.events),
            mbps(r.size, r.snapshot),
            mbps(r.size, r.jiter),
            if r.sampled { "*" } else { "" },
            mbps(r.size, r.serde),
            mbps(r.size, r.serde_validate),
            r.jiter.as_secs_f64() / r.snapshot.as_secs_f64(),
            r.serde.as_secs_f64() / r.events.as_secs_f64(),
            r.serde_validate.as_secs_f64() / r.events.as_secs_f64(),
        );
    }
    println!("\n\\* re-parse time extrapolated from an evenly spaced sample of the prefixes (O(n²/chunk) in full).\n");

    for chunk in [64, 16] {
        println!("### Cost against input size, {chunk}-byte chunks (ns per input byte)\n");
        println!("| input | bytes | stream, events: total | ns/B | stream + snapshot: total | ns/B | jiter re-parse: total | ns/B |");
        println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for r in rows.iter().filter(|r| r.chunk == chunk) {
            let per = |t: Duration| t.as_secs_f64() * 1e9 / r.size as f64;
            println!(
                "| {} | {} | {} | {:.2} | {} | {:.2} | {}{} | {:.0} |",
                human(r.nominal),
                r.size,
                fmt_time(r.events),
                per(r.events),
                fmt_time(r.snapshot),
                per(r.snapshot),
                fmt_time(r.jiter),
                if r.sampled { "*" } else { "" },
                per(r.jiter),
            );
        }
        println!();
    }
}
