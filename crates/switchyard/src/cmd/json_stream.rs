//! `switchyard json-stream`: feed JSON to the incremental parser in fixed-size
//! chunks and print each event as one JSON line.

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use switchyard_stream::{Completion, Event, Parser, Path};

/// Exit code for input that is not JSON or breaks a limit.
const EXIT_INVALID: u8 = 1;
/// Exit code for input that stopped before the value was complete.
const EXIT_TRUNCATED: u8 = 3;

/// Arguments of `switchyard json-stream`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Output: one JSON object per line, \
{\"event\":NAME,\"path\":POINTER[,\"value\":V]}; with --snapshot also \
{\"snapshot\":PARTIAL,\"offset\":N} after each chunk; last a \
{\"done\":\"complete\"|\"truncated\",...} line.\n\
Exit status: 0 complete, 1 invalid JSON (the byte offset is on stderr), \
3 truncated input.")]
pub(crate) struct Args {
    /// Bytes per chunk fed to the parser.
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..))]
    chunk: u32,
    /// Print the partial value (as JSON) after each chunk.
    #[arg(long)]
    snapshot: bool,
    /// Input file; `-` or none reads standard input.
    #[arg(value_name = "FILE|-")]
    input: Option<PathBuf>,
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input: Box<dyn Read> = match &args.input {
        Some(p) if p.as_os_str() != "-" => {
            Box::new(File::open(p).with_context(|| format!("cannot open {}", p.display()))?)
        }
        _ => Box::new(io::stdin().lock()),
    };
    let stdout = io::stdout().lock();
    match stream(input, BufWriter::new(stdout), &args) {
        Err(e) if is_broken_pipe(&e) => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<io::Error>()
        .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
}

fn stream(mut input: impl Read, mut out: impl Write, args: &Args) -> anyhow::Result<ExitCode> {
    let mut parser = Parser::new();
    let mut buf = vec![0u8; args.chunk as usize];
    let mut line = String::new();
    loop {
        let n = fill(&mut input, &mut buf).context("cannot read input")?;
        if n == 0 {
            break;
        }
        let fed = parser.feed(&buf[..n], |e, p| event_line(&mut line, e, p));
        out.write_all(line.as_bytes())?;
        line.clear();
        if let Err(e) = fed {
            out.flush()?;
            eprintln!("error: {e}");
            return Ok(ExitCode::from(EXIT_INVALID));
        }
        if args.snapshot {
            let partial = parser
                .snapshot()
                .map_or_else(|| "null".to_owned(), |s| s.to_compact_json());
            writeln!(
                out,
                "{{\"snapshot\":{partial},\"offset\":{}}}",
                parser.offset()
            )?;
        }
        out.flush()?;
    }
    let offset = parser.offset();
    // Taken before `finish`, which consumes the parser; if the input is
    // truncated this is the partial value `finish` reports.
    let partial = parser.snapshot().map(|s| s.to_compact_json());
    let done = parser.finish(|e, p| event_line(&mut line, e, p));
    out.write_all(line.as_bytes())?;
    let code = match done {
        Ok(Completion::Complete) => {
            writeln!(out, "{{\"done\":\"complete\",\"offset\":{offset}}}")?;
            ExitCode::SUCCESS
        }
        Ok(Completion::Truncated(t)) => {
            let partial = partial.as_deref().unwrap_or("null");
            let incomplete = serde_json::to_string(&t.incomplete)?;
            writeln!(
                out,
                "{{\"done\":\"truncated\",\"offset\":{},\"partial\":{partial},\"incomplete\":{incomplete}}}",
                t.offset
            )?;
            ExitCode::from(EXIT_TRUNCATED)
        }
        Err(e) => {
            out.flush()?;
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INVALID)
        }
    };
    out.flush()?;
    Ok(code)
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn fill(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Appends one event as a JSON line.
fn event_line(line: &mut String, e: Event<'_>, path: &Path<'_>) {
    let quote = |s: &str| serde_json::Value::from(s).to_string();
    line.push_str("{\"event\":\"");
    line.push_str(e.name());
    line.push_str("\",\"path\":");
    line.push_str(&quote(&path.to_pointer()));
    match e {
        Event::Key(s) | Event::StringDelta(s) => {
            line.push_str(",\"value\":");
            line.push_str(&quote(s));
        }
        // Number text passed the JSON number grammar, so it is valid JSON.
        Event::Number(n) => {
            line.push_str(",\"value\":");
            line.push_str(n);
        }
        Event::Bool(b) => line.push_str(if b {
            ",\"value\":true"
        } else {
            ",\"value\":false"
        }),
        _ => {}
    }
    line.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(Debug, clap::Parser)]
    struct Wrap {
        #[command(flatten)]
        args: Args,
    }

    fn run_on(input: &str, argv: &[&str]) -> (String, ExitCode) {
        let mut argv_full = vec!["json-stream"];
        argv_full.extend_from_slice(argv);
        let args = Wrap::try_parse_from(argv_full).expect("valid args").args;
        let mut out = Vec::new();
        let code = stream(input.as_bytes(), &mut out, &args).expect("no I/O error");
        (String::from_utf8(out).expect("UTF-8 output"), code)
    }

    #[test]
    fn chunk_flag_defaults_to_16_and_rejects_zero() {
        let w = Wrap::try_parse_from(["json-stream"]).expect("no args is fine");
        assert_eq!(w.args.chunk, 16);
        assert!(Wrap::try_parse_from(["json-stream", "--chunk", "0"]).is_err());
    }

    #[test]
    fn snapshot_flag_prints_partial_value_per_chunk() {
        let (out, code) = run_on(r#"{"a": "xyz"}"#, &["--chunk", "8", "--snapshot"]);
        assert_eq!(code, ExitCode::SUCCESS);
        let snaps: Vec<&str> = out
            .lines()
            .filter(|l| l.starts_with("{\"snapshot\""))
            .collect();
        assert_eq!(
            snaps,
            [
                r#"{"snapshot":{"a":"x"},"offset":8}"#,
                r#"{"snapshot":{"a":"xyz"},"offset":12}"#
            ]
        );
    }

    #[test]
    fn event_lines_carry_name_path_and_value() {
        let (out, _) = run_on(r#"{"a/b": [1.5, true, "q\""]}"#, &["--chunk", "64"]);
        assert!(out.contains(r#"{"event":"key","path":"/a~1b","value":"a/b"}"#));
        assert!(out.contains(r#"{"event":"number","path":"/a~1b/0","value":1.5}"#));
        assert!(out.contains(r#"{"event":"bool","path":"/a~1b/1","value":true}"#));
        // The escape is decoded and arrives as its own delta.
        assert!(out.contains(r#"{"event":"string_delta","path":"/a~1b/2","value":"q"}"#));
        assert!(out.contains(r#"{"event":"string_delta","path":"/a~1b/2","value":"\""}"#));
        assert!(
            out.ends_with("{\"done\":\"complete\",\"offset\":27}\n"),
            "{out}"
        );
    }
}
