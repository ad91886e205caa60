//! One module per subcommand; each exposes `run(args) -> anyhow::Result<ExitCode>`.

pub(crate) mod client;
pub(crate) mod json_stream;
pub(crate) mod search;
pub(crate) mod serve;
pub(crate) mod user;
