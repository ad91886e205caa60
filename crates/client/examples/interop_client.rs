//! Drives `switchyard-client` against a third-party MCP server and checks what comes back:
//! the official TypeScript `@modelcontextprotocol/server-everything` (profile `everything`) or
//! the Python FastMCP server in `tests/interop/fastmcp_server.py` (profile `fastmcp`).
//!
//! ```text
//! interop_client <profile> <url>            # Streamable HTTP (era detected)
//! interop_client <profile> -- <cmd> <args>  # stdio: the client spawns the server
//! ```
//!
//! Prints one `PASS <check>` or `FAIL <check>: <why>` line per check and exits non-zero if any
//! check failed. `tests/interop/client-run.sh` runs it against every server and transport.

use std::collections::HashSet;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_client::{Client, ClientOptions, Progress, RequestOptions, StdioCommand};

/// Each request gets this long; the servers answer in milliseconds.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Builds a request's arguments.
type Args = fn() -> Value;
/// Builds a prompt's arguments, if it takes any.
type PromptArgs = fn() -> Option<Value>;

/// What one server is expected to offer, and how to exercise it.
struct Profile {
    /// Tools that must be listed.
    tools: &'static [&'static str],
    /// At least this many tools (exactly this many when `exact` is set).
    min_tools: usize,
    /// Resources that must be listed (by URI).
    resources: &'static [&'static str],
    /// At least this many resources.
    min_resources: usize,
    /// Resource templates that must be listed (by `uriTemplate`).
    templates: &'static [&'static str],
    /// Prompts that must be listed.
    prompts: &'static [&'static str],
    /// At least this many prompts.
    min_prompts: usize,
    /// The counts above are exact (the server is ours, so we know them).
    exact: bool,
    /// The server pages its lists (so the first page must carry a `nextCursor`).
    paginates: bool,
    /// Tool that reports progress, its arguments, the number of progress events expected
    /// (at least one; exact when the server says so) and text its result must contain.
    progress_tool: (&'static str, Args, usize, &'static str),
    /// Echo-like calls: tool, arguments, text the result must contain.
    calls: &'static [(&'static str, Args, &'static str)],
    /// Resources to read: URI and text its first content must contain.
    reads: &'static [(&'static str, &'static str)],
    /// Prompts to get: name, arguments, text the messages must contain.
    get_prompts: &'static [(&'static str, PromptArgs, &'static str)],
}

const EVERYTHING: Profile = Profile {
    tools: &[
        "echo",
        "get-sum",
        "trigger-long-running-operation",
        "get-tiny-image",
    ],
    min_tools: 10,
    resources: &["demo://resource/static/document/features.md"],
    min_resources: 1,
    templates: &[
        "demo://resource/dynamic/text/{resourceId}",
        "demo://resource/dynamic/blob/{resourceId}",
    ],
    prompts: &["simple-prompt", "args-prompt"],
    min_prompts: 2,
    exact: false,
    paginates: false,
    progress_tool: (
        "trigger-long-running-operation",
        || json!({"duration": 1, "steps": 4}),
        4,
        "Long running operation completed",
    ),
    calls: &[
        (
            "echo",
            || json!({"message": "switchyard says héllo ✓"}),
            "Echo: switchyard says héllo ✓",
        ),
        ("get-sum", || json!({"a": 19, "b": 23}), "42"),
    ],
    reads: &[
        (
            "demo://resource/static/document/features.md",
            "Everything Server - Features",
        ),
        ("demo://resource/dynamic/text/7", "Resource 7"),
    ],
    get_prompts: &[
        ("simple-prompt", || None, "simple prompt"),
        (
            "args-prompt",
            || Some(json!({"city": "Reykjavík", "state": "Höfuðborgarsvæðið"})),
            "Reykjavík",
        ),
    ],
};

/// Mirrors `tests/interop/fastmcp_server.py`: 3 named tools plus 30 generated, 25 numbered
/// resources plus one, one template, 2 named prompts plus 12 generated, pages of 10.
const FASTMCP: Profile = Profile {
    tools: &["echo", "add", "count_slowly", "generated_tool_29"],
    min_tools: 33,
    resources: &["info://server", "data://items/0", "data://items/24"],
    min_resources: 26,
    templates: &["greeting://{name}"],
    prompts: &["review_code", "summarise", "generated_prompt_11"],
    min_prompts: 14,
    exact: true,
    paginates: true,
    progress_tool: ("count_slowly", || json!({"steps": 5}), 5, "counted to 5"),
    calls: &[
        (
            "echo",
            || json!({"text": "switchyard says héllo ✓"}),
            "echo: switchyard says héllo ✓",
        ),
        ("add", || json!({"a": 19, "b": 23}), "42"),
    ],
    reads: &[
        ("info://server", "switchyard interop fastmcp server"),
        ("data://items/17", "item 17"),
        ("greeting://Zoe", "Hello, Zoe!"),
    ],
    get_prompts: &[
        (
            "review_code",
            || Some(json!({"code": "fn main() {}"})),
            "fn main() {}",
        ),
        (
            "summarise",
            || Some(json!({"text": "a long text", "words": "7"})),
            "in 7 words",
        ),
    ],
};

#[derive(Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn check(&mut self, name: &str, r: Result<String, String>) {
        match r {
            Ok(detail) if detail.is_empty() => {
                self.passed += 1;
                println!("PASS {name}");
            }
            Ok(detail) => {
                self.passed += 1;
                println!("PASS {name} ({detail})");
            }
            Err(why) => {
                self.failed += 1;
                println!("FAIL {name}: {why}");
            }
        }
    }
}

/// All `text` fields in a result's `content` (and in prompt `messages`), joined.
fn texts(v: &Value) -> String {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(t)) = m.get("text") {
                    out.push(t.clone());
                }
                for (k, x) in m {
                    if k != "text" {
                        walk(x, out);
                    }
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out.join("\n")
}

fn short(s: &str) -> String {
    let s = s.replace('\n', " ");
    match s.char_indices().nth(160) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Checks a listing: no duplicates, the required keys present, the expected count.
fn check_list(
    items: &[Value],
    key: &str,
    required: &[&str],
    min: usize,
    exact: bool,
) -> Result<String, String> {
    let names: Vec<&str> = items
        .iter()
        .map(|i| i.get(key).and_then(Value::as_str).unwrap_or(""))
        .collect();
    if let Some(bad) = items
        .iter()
        .find(|i| !i.get(key).is_some_and(Value::is_string))
    {
        return Err(format!("an item has no string `{key}`: {bad}"));
    }
    let unique: HashSet<&str> = names.iter().copied().collect();
    if unique.len() != names.len() {
        return Err(format!(
            "{} items but {} distinct: pages overlap",
            names.len(),
            unique.len()
        ));
    }
    let missing: Vec<&&str> = required.iter().filter(|r| !unique.contains(**r)).collect();
    if !missing.is_empty() {
        return Err(format!("missing {missing:?}; got {names:?}"));
    }
    if (exact && names.len() != min) || names.len() < min {
        return Err(format!(
            "{} items, expected {}{min}",
            names.len(),
            if exact { "" } else { "at least " }
        ));
    }
    Ok(format!("{} items", names.len()))
}

async fn run(profile: &Profile, client: &Client, report: &mut Report) {
    if let Some(h) = client.http() {
        report.check(
            "initialise",
            Ok(format!("protocol {}", h.protocol_version())),
        );
    } else {
        report.check("initialise", Ok("stdio".into()));
    }

    if profile.paginates {
        let first = client
            .request("tools/list", None, &RequestOptions::default())
            .await;
        report.check(
            "tools/list first page has a nextCursor",
            match first {
                Ok(v) => match v.get("nextCursor").and_then(Value::as_str) {
                    Some(c) => Ok(format!(
                        "{} tools on page 1, cursor {c:?}",
                        v["tools"].as_array().map_or(0, Vec::len)
                    )),
                    None => Err(format!("no nextCursor: {}", short(&v.to_string()))),
                },
                Err(e) => Err(e.to_string()),
            },
        );
    }

    let r = client.list_tools().await;
    report.check(
        "list every tool",
        r.map_err(|e| e.to_string())
            .and_then(|t| check_list(&t, "name", profile.tools, profile.min_tools, profile.exact)),
    );
    let r = client.list_resources().await;
    report.check(
        "list every resource",
        r.map_err(|e| e.to_string()).and_then(|t| {
            check_list(
                &t,
                "uri",
                profile.resources,
                profile.min_resources,
                profile.exact,
            )
        }),
    );
    let r = client.list_resource_templates().await;
    report.check(
        "list every resource template",
        r.map_err(|e| e.to_string()).and_then(|t| {
            check_list(
                &t,
                "uriTemplate",
                profile.templates,
                profile.templates.len(),
                profile.exact,
            )
        }),
    );
    let r = client.list_prompts().await;
    report.check(
        "list every prompt",
        r.map_err(|e| e.to_string()).and_then(|t| {
            check_list(
                &t,
                "name",
                profile.prompts,
                profile.min_prompts,
                profile.exact,
            )
        }),
    );

    // A tool that reports progress, with a callback.
    let (tool, args, expected_events, expected_text) = profile.progress_tool;
    let events: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = events.clone();
    let ro = RequestOptions {
        progress: Some(Arc::new(move |p: Progress| {
            if let Ok(mut v) = sink.lock() {
                v.push(p);
            }
        })),
        timeout: Some(REQUEST_TIMEOUT),
        ..RequestOptions::default()
    };
    let r = client.call_tool(tool, args(), &ro).await;
    let got = events.lock().map(|v| v.clone()).unwrap_or_default();
    report.check(
        &format!("call {tool} with progress"),
        match r {
            Err(e) => Err(e.to_string()),
            Ok(v) if v.get("isError") == Some(&Value::Bool(true)) => {
                Err(format!("tool error: {}", short(&texts(&v))))
            }
            Ok(v) if !texts(&v).contains(expected_text) => Err(format!(
                "result lacks {expected_text:?}: {}",
                short(&v.to_string())
            )),
            Ok(_) if got.is_empty() => Err("no progress notification reached the callback".into()),
            Ok(_) if got.len() != expected_events => Err(format!(
                "{} progress events, the server sends {expected_events}",
                got.len()
            )),
            Ok(_) if got.windows(2).any(|w| w[1].progress <= w[0].progress) => {
                Err(format!("progress does not increase: {got:?}"))
            }
            Ok(_) => Ok(format!(
                "{} progress events, last {}/{}",
                got.len(),
                got[got.len() - 1].progress,
                got[got.len() - 1]
                    .total
                    .map_or("?".into(), |t| t.to_string())
            )),
        },
    );

    for (tool, args, expected) in profile.calls {
        let r = client
            .call_tool(tool, args(), &RequestOptions::default())
            .await;
        report.check(
            &format!("call {tool}"),
            match r {
                Err(e) => Err(e.to_string()),
                Ok(v) if v.get("isError") == Some(&Value::Bool(true)) => {
                    Err(format!("tool error: {}", short(&texts(&v))))
                }
                Ok(v) if texts(&v).contains(expected) => Ok(short(&texts(&v))),
                Ok(v) => Err(format!(
                    "result lacks {expected:?}: {}",
                    short(&v.to_string())
                )),
            },
        );
    }

    let r = client
        .call_tool("no-such-tool-xyz", json!({}), &RequestOptions::default())
        .await;
    report.check(
        "call an unknown tool fails",
        match r {
            // Either a JSON-RPC error or an `isError` result is allowed by the spec.
            Err(switchyard_client::ClientError::Rpc(e)) => {
                Ok(format!("JSON-RPC error {}", e.code.0))
            }
            Ok(v) if v.get("isError") == Some(&Value::Bool(true)) => Ok("isError result".into()),
            Err(e) => Err(format!("unexpected failure kind: {e}")),
            Ok(v) => Err(format!("succeeded: {}", short(&v.to_string()))),
        },
    );

    for (uri, expected) in profile.reads {
        let r = client.read_resource(uri).await;
        report.check(
            &format!("read {uri}"),
            match r {
                Err(e) => Err(e.to_string()),
                Ok(v) => {
                    let first = v.get("contents").and_then(|c| c.get(0));
                    match first {
                        None => Err(format!("no contents: {}", short(&v.to_string()))),
                        Some(c) if c.get("uri").and_then(Value::as_str) != Some(uri) => {
                            Err(format!("contents[0].uri is {}", c["uri"]))
                        }
                        Some(c) => match c.get("text").and_then(Value::as_str) {
                            Some(t) if t.contains(expected) => Ok(format!("{} bytes", t.len())),
                            _ => Err(format!(
                                "contents[0] lacks {expected:?}: {}",
                                short(&c.to_string())
                            )),
                        },
                    }
                }
            },
        );
    }

    for (name, args, expected) in profile.get_prompts {
        let r = client.get_prompt(name, args()).await;
        report.check(
            &format!("get prompt {name}"),
            match r {
                Err(e) => Err(e.to_string()),
                Ok(v) if !v.get("messages").is_some_and(Value::is_array) => {
                    Err(format!("no messages: {}", short(&v.to_string())))
                }
                Ok(v) if texts(&v["messages"]).contains(expected) => Ok(format!(
                    "{} messages",
                    v["messages"].as_array().map_or(0, Vec::len)
                )),
                Ok(v) => Err(format!(
                    "messages lack {expected:?}: {}",
                    short(&v.to_string())
                )),
            },
        );
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: interop_client <everything|fastmcp> <url> | -- <command> [args…]");
    ExitCode::from(2)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let profile = match args.first().map(String::as_str) {
        Some("everything") => &EVERYTHING,
        Some("fastmcp") => &FASTMCP,
        _ => return usage(),
    };
    let opts = ClientOptions {
        request_timeout: REQUEST_TIMEOUT,
        ..ClientOptions::default()
    };
    let connected = match args.get(1).map(String::as_str) {
        Some("--") if args.len() > 2 => {
            let cmd = StdioCommand {
                program: args[2].clone(),
                args: args[3..].to_vec(),
                env: Default::default(),
                cwd: None,
            };
            Client::connect_stdio(&cmd, opts).await
        }
        Some(url) if url.starts_with("http") && args.len() == 2 => {
            Client::connect_http(url, opts).await
        }
        _ => return usage(),
    };
    let mut report = Report::default();
    let client = match connected {
        Ok(c) => c,
        Err(e) => {
            report.check("initialise", Err(e.to_string()));
            return ExitCode::FAILURE;
        }
    };
    // The whole run is bounded, so a server that stops answering cannot hang the script.
    if tokio::time::timeout(Duration::from_secs(90), run(profile, &client, &mut report))
        .await
        .is_err()
    {
        report.check("run", Err("did not finish within 90 s".into()));
    }
    client.close().await;
    println!("{} passed, {} failed", report.passed, report.failed);
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
