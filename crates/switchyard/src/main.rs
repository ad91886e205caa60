//! The `switchyard` command: serve MCP endpoints, and the client-side tools that go with them.

mod cmd;
mod demo;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Switchyard: a remote MCP platform.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve an MCP endpoint (the built-in demo server for now) over Streamable HTTP or stdio.
    Serve(cmd::serve::Args),
    /// Feed JSON to the incremental tool-input parser in chunks; print its events.
    JsonStream(cmd::json_stream::Args),
    /// Rank the tools of a catalog file for a query (BM25F, regex or hybrid).
    Search(cmd::search::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => cmd::serve::run(args),
        Command::JsonStream(args) => cmd::json_stream::run(args),
        Command::Search(args) => cmd::search::run(args),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
