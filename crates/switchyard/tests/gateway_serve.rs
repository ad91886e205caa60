//! `switchyard serve` as a gateway, run as users run it: a real process federating real stdio
//! upstreams (the binary's own demo server, `switchyard serve --stdio`), tokens from the
//! built-in authorization server, a config file rewritten and a real SIGHUP.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");
const MODERN: &str = "2026-07-28";

/// A running `switchyard serve`, its stderr lines, and a scratch directory.
struct Serve {
    child: Child,
    url: String,
    lines: mpsc::Receiver<String>,
    /// Every stderr line received so far.
    history: std::cell::RefCell<Vec<String>>,
    dir: PathBuf,
}

impl Serve {
    fn start(name: &str, config: &str, extra: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("switchyard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("switchyard.toml"), config).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(dir.join("switchyard.toml"))
            .args(extra)
            .env("XDG_DATA_HOME", &dir)
            .env("SWITCHYARD_ADMIN_PASSWORD", "admin-pass-for-tests")
            .env_remove("SWITCHYARD_CONFIG")
            .stdin(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let (tx, lines) = mpsc::channel();
        let err = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for l in err.lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        let mut s = Self {
            child,
            url: String::new(),
            lines,
            history: std::cell::RefCell::default(),
            dir,
        };
        let line = s.wait_for("switchyard: serving MCP at ");
        s.url = line
            .trim()
            .strip_prefix("switchyard: serving MCP at ")
            .unwrap()
            .to_owned();
        s
    }

    /// The next stderr line containing `needle` (earlier lines are dropped).
    fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.history.borrow_mut().push(l.clone());
                    if l.contains(needle) {
                        return l;
                    }
                    seen.push(l);
                }
                Err(_) => break,
            }
        }
        panic!("no stderr line with {needle:?}; saw:\n{}", seen.join("\n"));
    }

    /// Every stderr line so far.
    fn drain(&self) -> Vec<String> {
        let mut h = self.history.borrow_mut();
        h.extend(self.lines.try_iter());
        h.clone()
    }

    fn base(&self) -> String {
        self.url.trim_end_matches("/mcp").to_owned()
    }

    fn config_path(&self) -> PathBuf {
        self.dir.join("switchyard.toml")
    }

    fn hangup(&self) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).unwrap());
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGHUP).unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// One stateless (2026-07-28) request; returns the JSON-RPC response.
fn modern(url: &str, token: Option<&str>, method: &str, mut params: Value) -> Value {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {}
    });
    let mut r = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", method);
    if let Some(n) = params.get("name").and_then(Value::as_str) {
        r = r.header("mcp-name", n);
    }
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let resp = r
        .body(json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string())
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200, "{method}");
    serde_json::from_str(&resp.text().unwrap()).unwrap()
}

fn tool_names(resp: &Value) -> Vec<String> {
    resp["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("no tools: {resp}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

/// A client-credentials token from the built-in authorization server.
fn token(base: &str, resource: &str, client: &str, secret: &str, scope: &str) -> String {
    let tok: Value = http()
        .post(format!("{base}/token"))
        .basic_auth(client, Some(secret))
        .form(&[
            ("grant_type", "client_credentials"),
            ("resource", resource),
            ("scope", scope),
        ])
        .send()
        .unwrap()
        .text()
        .unwrap()
        .parse()
        .unwrap();
    tok["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {tok}"))
        .to_owned()
}

/// An upstream entry running the binary's own demo server over stdio.
fn demo_upstream(name: &str, extra: &str) -> String {
    format!(
        "[[upstreams]]\nname = \"{name}\"\ncommand = {BIN:?}\nargs = [\"serve\", \"--stdio\"]\n{extra}\n"
    )
}

#[test]
fn callers_see_and_call_only_the_upstreams_their_scopes_allow() {
    let config = format!(
        r#"[auth]
scopes = ["mcp:read", "files:read"]

[[auth.clients]]
client_id = "reader"
client_secret_env = "READER_SECRET"
redirect_uris = []
grant_types = ["client_credentials"]

[[auth.clients]]
client_id = "robot"
client_secret_env = "ROBOT_SECRET"
redirect_uris = []
grant_types = ["client_credentials"]

{}
{}"#,
        demo_upstream("open", ""),
        demo_upstream("files", "required_scopes = [\"files:read\"]"),
    );
    let s = Serve::start(
        "scopes",
        &config,
        &[],
        &[
            ("READER_SECRET", "reader-secret"),
            ("ROBOT_SECRET", "robot-secret"),
        ],
    );
    let base = s.base();
    let reader = token(
        &base,
        &s.url,
        "reader",
        "reader-secret",
        "mcp:read files:read",
    );
    let robot = token(&base, &s.url, "robot", "robot-secret", "mcp:read");

    let seen_by_reader = tool_names(&modern(&s.url, Some(&reader), "tools/list", json!({})));
    let seen_by_robot = tool_names(&modern(&s.url, Some(&robot), "tools/list", json!({})));
    assert!(
        seen_by_reader.contains(&"files__add".to_owned()),
        "{seen_by_reader:?}"
    );
    assert!(
        seen_by_reader.contains(&"open__add".to_owned()),
        "{seen_by_reader:?}"
    );
    assert!(
        seen_by_robot.contains(&"open__add".to_owned()),
        "{seen_by_robot:?}"
    );
    assert!(
        seen_by_robot.iter().all(|n| !n.starts_with("files__")),
        "{seen_by_robot:?}"
    );

    let add = json!({"name": "files__add", "arguments": {"a": 2, "b": 40}});
    let ok = modern(&s.url, Some(&reader), "tools/call", add.clone());
    assert_eq!(ok["result"]["structuredContent"]["sum"], 42.0, "{ok}");

    // The hidden tool fails exactly like a tool that does not exist.
    let hidden = modern(&s.url, Some(&robot), "tools/call", add);
    let unknown = modern(
        &s.url,
        Some(&robot),
        "tools/call",
        json!({"name": "nothere__add", "arguments": {"a": 2, "b": 40}}),
    );
    assert!(hidden["result"].is_null(), "{hidden}");
    assert_eq!(hidden["error"]["code"], unknown["error"]["code"]);
    assert_eq!(
        hidden["error"]["message"]
            .as_str()
            .unwrap()
            .replace("files__add", "X"),
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .replace("nothere__add", "X"),
    );

    // Prompts and resources follow the same rule.
    let prompts = |t: &str| {
        modern(&s.url, Some(t), "prompts/list", json!({}))["result"]["prompts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(prompts(&reader).contains(&"files__summarize".to_owned()));
    assert!(!prompts(&robot).contains(&"files__summarize".to_owned()));
    let got = modern(
        &s.url,
        Some(&robot),
        "prompts/get",
        json!({"name": "files__summarize", "arguments": {"text": "x"}}),
    );
    assert!(got["error"]["message"]
        .as_str()
        .unwrap()
        .contains("unknown prompt"));
}

/// Opens a 2025-11-25 session; returns its id.
fn open_session(url: &str) -> String {
    let r = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "test", "version": "1"}}})
            .to_string(),
        )
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let sid = r.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let _ = r.text();
    let r = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", &sid)
        .header("mcp-protocol-version", "2025-11-25")
        .body(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 202);
    sid
}

/// `tools/list` in a 2025-11-25 session (the answer may come as JSON or as one SSE event).
fn session_tools(url: &str, sid: &str) -> Vec<String> {
    let r = http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-session-id", sid)
        .header("mcp-protocol-version", "2025-11-25")
        .body(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "the session is still alive");
    let text = r.text().unwrap();
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .unwrap_or(&text);
    tool_names(&serde_json::from_str(json.trim()).unwrap())
}

/// Reads the session's GET stream in a thread; sends each `data:` line.
fn listen(url: &str, sid: &str) -> mpsc::Receiver<String> {
    let resp = reqwest::blocking::Client::builder()
        .build()
        .unwrap()
        .get(url)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", sid)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut r = BufReader::new(resp);
        let mut line = String::new();
        while r.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(d) = line.trim().strip_prefix("data:") {
                if tx.send(d.trim().to_owned()).is_err() {
                    break;
                }
            }
            line.clear();
        }
        let _ = r.read_to_end(&mut Vec::new());
    });
    rx
}

fn rewrite(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn sighup_applies_a_new_upstream_to_live_sessions_and_keeps_the_old_config_when_invalid() {
    let one = demo_upstream("a", "");
    let s = Serve::start("reload", &one, &["--danger-no-auth"], &[]);
    let sid = open_session(&s.url);
    let before = session_tools(&s.url, &sid);
    assert!(before.contains(&"a__add".to_owned()), "{before:?}");
    assert!(before.iter().all(|n| !n.starts_with("b__")));
    let events = listen(&s.url, &sid);

    // A second upstream, gated by a scope: with authorization off it is visible all the same.
    let two = format!("{one}{}", demo_upstream("b", "required_scopes = [\"x\"]"));
    rewrite(&s.config_path(), &two);
    s.hangup();
    let line = s.wait_for("switchyard: config reloaded");
    assert!(
        line.contains("added [\"b\"]") && line.contains("unchanged 1"),
        "{line}"
    );
    let after = session_tools(&s.url, &sid);
    assert!(after.contains(&"a__add".to_owned()), "{after:?}");
    assert!(after.contains(&"b__add".to_owned()), "{after:?}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match events.recv_timeout(left) {
            Ok(d) if d.contains("notifications/tools/list_changed") => break,
            Ok(d) => got.push(d),
            Err(e) => panic!("no tools/list_changed on the session's stream ({e}); got {got:?}"),
        }
    }

    // An invalid file: the error names the key and line; the running config stays.
    let bad = format!("{two}\n[server]\nlisten_port = 3\n");
    let bad_line = 1 + bad
        .lines()
        .position(|l| l.starts_with("listen_port"))
        .unwrap();
    rewrite(&s.config_path(), &bad);
    s.hangup();
    let line = s.wait_for("switchyard: config reload failed");
    assert!(
        line.contains("unknown field `listen_port`") && line.contains(&format!("line {bad_line},")),
        "{line}"
    );
    let still = session_tools(&s.url, &sid);
    assert_eq!(still, after);

    // A fixed setting is reported, not applied; removing an upstream applies.
    rewrite(
        &s.config_path(),
        &format!("{one}\n[server]\npath = \"/other\"\n"),
    );
    s.hangup();
    let line = s.wait_for("switchyard: config reload: server.path");
    assert!(line.contains("needs a restart"), "{line}");
    let line = s.wait_for("switchyard: config reloaded");
    assert!(line.contains("removed [\"b\"]"), "{line}");
    let last = session_tools(&s.url, &sid);
    assert_eq!(last, before);
}

#[test]
fn the_gateway_gets_its_own_token_for_a_protected_upstream_with_client_credentials() {
    // The upstream: serve with the built-in authorization server in front of its demo server,
    // which knows the gateway as a confidential client.
    let up = Serve::start(
        "cc-upstream",
        "[[auth.clients]]\nclient_id = \"gateway\"\nclient_secret_env = \"GW_SECRET\"\nredirect_uris = []\ngrant_types = [\"client_credentials\"]\n",
        &[],
        &[("GW_SECRET", "gw-secret-for-tests")],
    );
    let bare = modern_status(&up.url, "tools/list");
    assert_eq!(bare, 401, "the upstream is protected");
    let add = json!({"name": "up__add", "arguments": {"a": 2, "b": 40}});
    // Token endpoint discovered from the upstream's metadata, then given explicitly.
    for token_url in [
        String::new(),
        format!(", token_url = \"{}/token\"", up.base()),
    ] {
        let cfg = format!(
            "[[upstreams]]\nname = \"up\"\nurl = \"{}\"\noauth = {{ client_id = \"gateway\", client_secret_env = \"GW_SECRET\", scopes = [\"mcp:read\"]{token_url} }}\n",
            up.url
        );
        let gw = Serve::start(
            "cc-gateway",
            &cfg,
            &["--danger-no-auth"],
            &[("GW_SECRET", "gw-secret-for-tests")],
        );
        let names = tool_names(&modern(&gw.url, None, "tools/list", json!({})));
        assert!(
            names.contains(&"up__add".to_owned()),
            "{token_url}: {names:?}"
        );
        let r = modern(&gw.url, None, "tools/call", add.clone());
        assert_eq!(r["result"]["structuredContent"]["sum"], 42.0, "{r}");
    }
    // A wrong secret: the upstream is left out, and the secret appears in no log line.
    let cfg = format!(
        "[[upstreams]]\nname = \"up\"\nurl = \"{}\"\noauth = {{ client_id = \"gateway\", client_secret_env = \"GW_SECRET\" }}\n",
        up.url
    );
    let gw = Serve::start(
        "cc-wrong",
        &cfg,
        &["--danger-no-auth"],
        &[
            ("GW_SECRET", "not-the-secret-xyzzy"),
            ("SWITCHYARD_LOG", "debug"),
        ],
    );
    let names = tool_names(&modern(&gw.url, None, "tools/list", json!({})));
    assert!(names.is_empty(), "{names:?}");
    let r = modern(&gw.url, None, "tools/call", add);
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown tool"),
        "{r}"
    );
    let logs = gw.drain();
    assert!(
        logs.iter()
            .any(|l| l.contains("invalid_client") || l.contains("refused")),
        "the refusal is logged: {logs:?}"
    );
    assert!(logs.iter().all(|l| !l.contains("xyzzy")), "{logs:?}");
}

/// The HTTP status of a bare (unauthenticated) stateless request.
fn modern_status(url: &str, method: &str) -> u16 {
    http()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", MODERN)
        .header("mcp-method", method)
        .body(
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {}}}})
            .to_string(),
        )
        .send()
        .unwrap()
        .status()
        .as_u16()
}
