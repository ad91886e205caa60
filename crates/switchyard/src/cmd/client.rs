//! `switchyard tools | call | login | logout`: the connector client from the command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Map, Value};
use switchyard_auth::client::{
    AuthError, Authorizer, BoxFuture, CallbackParams, FileTokenStore, LoopbackAuthorizer,
    OAuthClient, OAuthConfig, SsrfPolicy,
};
use switchyard_client::{
    AcceptDefaults, AuthProvider, Client, ClientError, ClientOptions, OAuth, ProtocolPreference,
    RequestOptions, StaticToken, StdioCommand,
};

/// Exit codes, distinct per failure class so scripts can react.
pub(crate) mod exit {
    /// The tool ran and reported an error (`isError: true`).
    pub(crate) const TOOL_ERROR: u8 = 5;
    /// Could not connect or the connection broke.
    pub(crate) const CONNECT: u8 = 3;
    /// Authorization required or refused.
    pub(crate) const AUTH: u8 = 4;
    /// The server answered with a protocol error.
    pub(crate) const SERVER: u8 = 6;
    /// The request timed out.
    pub(crate) const TIMEOUT: u8 = 7;
    /// Bad arguments.
    pub(crate) const USAGE: u8 = 2;
}

/// Options shared by the client commands.
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    /// Extra HTTP header, `Name: value` (repeatable).
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE")]
    headers: Vec<String>,
    /// Bearer token to send (instead of the stored OAuth login).
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    output: Output,
    /// Protocol era: auto-detect, or force one.
    #[arg(long, value_enum, default_value = "auto")]
    protocol: Protocol,
    /// Per-request timeout in seconds.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Allow plain-http OAuth endpoints on loopback even for a non-loopback server URL (local
    /// development only; a loopback server URL allows them already).
    #[arg(long)]
    dev_insecure_loopback: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Output {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Protocol {
    Auto,
    #[value(name = "2026-07-28")]
    Modern,
    #[value(name = "2025-11-25")]
    Legacy,
}

/// `switchyard tools`.
#[derive(Debug, clap::Args)]
pub(crate) struct ToolsArgs {
    /// MCP server URL (omit when a stdio command follows `--`).
    url: Option<String>,
    #[command(flatten)]
    common: Common,
    /// A stdio server to start instead: `-- <command> <args>…`.
    #[arg(last = true)]
    command: Vec<String>,
}

/// `switchyard call`.
#[derive(Debug, clap::Args)]
pub(crate) struct CallArgs {
    /// `<url> <tool> [key=value…]`, or `<tool> [key=value…]` with a stdio command after `--`.
    #[arg(required = true)]
    positional: Vec<String>,
    /// Arguments as a JSON object (instead of key=value pairs).
    #[arg(long)]
    json: Option<String>,
    #[command(flatten)]
    common: Common,
    /// A stdio server to start instead: `-- <command> <args>…`.
    #[arg(last = true)]
    command: Vec<String>,
}

/// `switchyard login` / `logout`.
#[derive(Debug, clap::Args)]
pub(crate) struct LoginArgs {
    /// MCP server URL.
    url: String,
    /// Print the authorization URL instead of opening a browser.
    #[arg(long)]
    no_browser: bool,
    /// Forget the client registration too, not just the tokens (logout only).
    #[arg(long)]
    all: bool,
    #[command(flatten)]
    common: Common,
}

fn data_dir() -> PathBuf {
    std::env::var_os("SWITCHYARD_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_DATA_HOME").map(|d| PathBuf::from(d).join("switchyard")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share/switchyard"))
        })
        .unwrap_or_else(|| PathBuf::from(".switchyard"))
}

/// Refuses to run a browser step: `tools`/`call` never start an interactive login.
struct NonInteractive;
impl Authorizer for NonInteractive {
    fn authorize(
        &self,
        _url: &str,
        _redirect: &str,
    ) -> BoxFuture<'_, Result<CallbackParams, AuthError>> {
        Box::pin(async {
            Err(AuthError::Config(
                "not logged in: run `switchyard login <url>` first".into(),
            ))
        })
    }
}

/// Whether a URL points at this machine (then plain-http OAuth endpoints are expected).
fn is_loopback_url(url: &str) -> bool {
    reqwest::Url::parse(url).is_ok_and(|u| match u.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    })
}

fn oauth(
    common: &Common,
    authorizer: Arc<dyn Authorizer>,
    url: &str,
) -> anyhow::Result<OAuthClient> {
    let dir = data_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = FileTokenStore::open(dir.join("tokens.json")).context("opening the token store")?;
    let mut cfg = OAuthConfig::new(
        "Switchyard CLI",
        "http://127.0.0.1:0/callback",
        Arc::new(store),
        authorizer,
    );
    if common.dev_insecure_loopback || is_loopback_url(url) {
        cfg = cfg.with_ssrf(SsrfPolicy::danger_allow_loopback_http());
    }
    Ok(OAuthClient::new(cfg)?)
}

fn options(common: &Common, auth: Option<Arc<dyn AuthProvider>>) -> anyhow::Result<ClientOptions> {
    let mut headers = Vec::new();
    for h in &common.headers {
        let (k, v) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?} is not `Name: value`"))?;
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(ClientOptions {
        protocol: match common.protocol {
            Protocol::Auto => ProtocolPreference::Auto,
            Protocol::Modern => ProtocolPreference::Modern,
            Protocol::Legacy => ProtocolPreference::Legacy("2025-11-25".into()),
        },
        request_timeout: Duration::from_secs(common.timeout),
        headers,
        auth,
        handler: Arc::new(AcceptDefaults),
        capabilities: serde_json::from_value(json!({"elicitation": {}})).unwrap_or_default(),
        ..ClientOptions::default()
    })
}

async fn connect(
    url: Option<&str>,
    command: &[String],
    common: &Common,
) -> Result<Client, Failure> {
    if let Some((prog, args)) = command.split_first() {
        let cmd = StdioCommand {
            program: prog.clone(),
            args: args.to_vec(),
            ..StdioCommand::default()
        };
        let opts = options(common, None).map_err(Failure::Usage)?;
        return Client::connect_stdio(&cmd, opts)
            .await
            .map_err(Failure::Client);
    }
    let url = url.ok_or_else(|| {
        Failure::Usage(anyhow::anyhow!(
            "give a server URL, or a stdio command after `--`"
        ))
    })?;
    let auth: Arc<dyn AuthProvider> = match &common.token {
        Some(t) => Arc::new(StaticToken(t.clone())),
        None => Arc::new(OAuth(
            oauth(common, Arc::new(NonInteractive), url).map_err(Failure::Usage)?,
        )),
    };
    let opts = options(common, Some(auth)).map_err(Failure::Usage)?;
    Client::connect_http(url, opts)
        .await
        .map_err(Failure::Client)
}

enum Failure {
    Usage(anyhow::Error),
    Client(ClientError),
}

fn report(f: Failure) -> ExitCode {
    match f {
        Failure::Usage(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(exit::USAGE)
        }
        Failure::Client(e) => {
            eprintln!("error: {e}");
            ExitCode::from(match e {
                ClientError::Unauthorized { .. } | ClientError::Auth(_) => exit::AUTH,
                ClientError::Timeout(_) => exit::TIMEOUT,
                ClientError::Rpc(_) | ClientError::Protocol(_) | ClientError::Http { .. } => {
                    exit::SERVER
                }
                ClientError::Usage(_) => exit::USAGE,
                _ => exit::CONNECT,
            })
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub(crate) fn tools(args: ToolsArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let client = match connect(args.url.as_deref(), &args.command, &args.common).await {
            Ok(c) => c,
            Err(f) => return Ok(report(f)),
        };
        let r = client.list_tools().await;
        client.close().await;
        let tools = match r {
            Ok(t) => t,
            Err(e) => return Ok(report(Failure::Client(e))),
        };
        match args.common.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&tools)?),
            Output::Text => {
                for t in &tools {
                    let name = t["name"].as_str().unwrap_or("?");
                    let desc = t["description"]
                        .as_str()
                        .unwrap_or("")
                        .lines()
                        .next()
                        .unwrap_or("");
                    println!("{name:<32} {desc}");
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// Parses `key=value` pairs; values that are JSON (numbers, booleans, objects) stay typed.
fn kv_args(pairs: &[String]) -> anyhow::Result<Value> {
    let mut m = Map::new();
    for p in pairs {
        let (k, v) = p
            .split_once('=')
            .with_context(|| format!("argument {p:?} is not key=value"))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()));
        m.insert(k.to_owned(), value);
    }
    Ok(Value::Object(m))
}

pub(crate) fn call(args: CallArgs) -> anyhow::Result<ExitCode> {
    let stdio = !args.command.is_empty();
    let (url, rest) = if stdio {
        (None, &args.positional[..])
    } else {
        match args.positional.split_first() {
            Some((u, rest)) => (Some(u.as_str()), rest),
            None => return Ok(report(Failure::Usage(anyhow::anyhow!("missing URL")))),
        }
    };
    let Some((tool, pairs)) = rest.split_first() else {
        return Ok(report(Failure::Usage(anyhow::anyhow!("missing tool name"))));
    };
    let arguments = match &args.json {
        Some(j) if !pairs.is_empty() => {
            let _ = j;
            return Ok(report(Failure::Usage(anyhow::anyhow!(
                "use --json or key=value pairs, not both"
            ))));
        }
        Some(j) => match serde_json::from_str::<Value>(j) {
            Ok(v @ Value::Object(_)) => v,
            _ => {
                return Ok(report(Failure::Usage(anyhow::anyhow!(
                    "--json must be a JSON object"
                ))))
            }
        },
        None => match kv_args(pairs) {
            Ok(v) => v,
            Err(e) => return Ok(report(Failure::Usage(e))),
        },
    };
    runtime()?.block_on(async move {
        let client = match connect(url, &args.command, &args.common).await {
            Ok(c) => c,
            Err(f) => return Ok(report(f)),
        };
        let ro = RequestOptions {
            progress: Some(Arc::new(|p: switchyard_client::Progress| match p.total {
                Some(t) => eprintln!(
                    "progress: {}/{t}{}",
                    p.progress,
                    p.message.map(|m| format!(" {m}")).unwrap_or_default()
                ),
                None => eprintln!("progress: {}", p.progress),
            })),
            ..RequestOptions::default()
        };
        let r = client.call_tool(tool, arguments, &ro).await;
        client.close().await;
        let result = match r {
            Ok(v) => v,
            Err(e) => return Ok(report(Failure::Client(e))),
        };
        match args.common.output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&result)?),
            Output::Text => {
                for c in result["content"].as_array().into_iter().flatten() {
                    match c["type"].as_str() {
                        Some("text") => println!("{}", c["text"].as_str().unwrap_or_default()),
                        Some(other) => println!("[{other} content]"),
                        None => {}
                    }
                }
            }
        }
        Ok(if result["isError"] == Value::Bool(true) {
            ExitCode::from(exit::TOOL_ERROR)
        } else {
            ExitCode::SUCCESS
        })
    })
}

pub(crate) fn login(args: LoginArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let authorizer = LoopbackAuthorizer {
            open_browser: !args.no_browser,
            ..LoopbackAuthorizer::default()
        };
        let oauth = oauth(&args.common, Arc::new(authorizer), &args.url)?;
        let opts = options(&args.common, Some(Arc::new(OAuth(oauth))))?;
        // Connecting triggers the server's 401 and so the whole authorization flow.
        let client = match Client::connect_http(&args.url, opts).await {
            Ok(c) => c,
            Err(e) => return Ok(report(Failure::Client(e))),
        };
        let r = client.list_tools().await;
        client.close().await;
        match r {
            Ok(t) => {
                eprintln!("logged in to {} ({} tools visible)", args.url, t.len());
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => Ok(report(Failure::Client(e))),
        }
    })
}

pub(crate) fn logout(args: LoginArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async move {
        let oauth = oauth(&args.common, Arc::new(NonInteractive), &args.url)?;
        oauth.logout(&args.url, args.all).await?;
        eprintln!("logged out of {}", args.url);
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_value_arguments_keep_json_types() {
        let v = kv_args(&[
            "n=3".into(),
            "flag=true".into(),
            "name=Ada Lovelace".into(),
            "o={\"a\":1}".into(),
        ])
        .unwrap();
        assert_eq!(
            v,
            json!({"n": 3, "flag": true, "name": "Ada Lovelace", "o": {"a": 1}})
        );
        assert!(kv_args(&["novalue".into()]).is_err());
    }
}
