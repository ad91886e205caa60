//! The `switchyard` command: serve MCP endpoints, and the client-side tools that go with them.

mod cmd;
mod config;
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
    /// Serve a secured MCP endpoint: built-in authorization server, demo server or gateway.
    Serve(cmd::serve::Args),
    /// List the tools of an MCP server (URL, or a stdio command after `--`).
    Tools(cmd::client::ToolsArgs),
    /// Call a tool: `call <url> <tool> [key=value…|--json '{…}']`.
    Call(cmd::client::CallArgs),
    /// Log in to an OAuth-protected MCP server (opens the browser, loopback redirect).
    Login(cmd::client::LoginArgs),
    /// Forget the tokens (and with --all the registration) for a server.
    Logout(cmd::client::LoginArgs),
    /// Manage the users of the built-in authorization server.
    User(cmd::user::Args),
    /// Feed JSON to the incremental tool-input parser in chunks; print its events.
    JsonStream(cmd::json_stream::Args),
    /// Rank the tools of a catalog file for a query (BM25F, regex or hybrid).
    Search(cmd::search::Args),
}

/// Logs go to stderr: `SWITCHYARD_LOG` filters (default `info` for serve, `warn` otherwise),
/// `SWITCHYARD_LOG_FORMAT=json` makes them one JSON object per line.
fn init_logging(serving: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG").unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(if serving { "info" } else { "warn" })
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files and pipes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let json = std::env::var("SWITCHYARD_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(matches!(cli.command, Command::Serve(_)));
    let result = match cli.command {
        Command::Serve(args) => cmd::serve::run(args),
        Command::Tools(args) => cmd::client::tools(args),
        Command::User(args) => cmd::user::run(args),
        Command::Call(args) => cmd::client::call(args),
        Command::Login(args) => cmd::client::login(args),
        Command::Logout(args) => cmd::client::logout(args),
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
