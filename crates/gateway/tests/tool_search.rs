//! Tool search mode of the gateway, over real upstream servers on 127.0.0.1 and real clients
//! in both protocol eras: what `tools/list` shows, `search_tools`, `call_tool`, per-session
//! visible sets with their list-changed notification, and the index following upstream changes.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;
use common::serve;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_client::{Client, ClientHandler, ClientOptions, ProtocolPreference, RequestOptions};
use switchyard_gateway::tool_search::{CALL_TOOL, SEARCH_TOOLS};
use switchyard_gateway::{
    Caller, Gateway, ToolSearchConfig, ToolSearchError, ToolSearchMode, UpstreamConfig,
};
use switchyard_server::{HttpConfig, McpService, Server, ToolDef};

/// An upstream whose tools answer with their own name and arguments.
fn upstream(tools: &[(&'static str, &'static str)]) -> Server {
    let mut b = Server::builder("up", "1.0.0");
    for &(name, description) in tools {
        b = b.tool(ToolDef::new(
            name,
            description,
            move |a: Value, _| async move { format!("{name}:{a}") },
        ));
    }
    b.build()
}

/// Two upstreams, `weather` and `files`, behind a gateway in tool search mode.
async fn gateway(cfg: ToolSearchConfig) -> (String, Server) {
    gateway_with_scopes(cfg, Vec::new()).await
}

/// [`gateway`], with `files` visible only to callers holding `files_scopes`.
async fn gateway_with_scopes(cfg: ToolSearchConfig, files_scopes: Vec<String>) -> (String, Server) {
    let weather = upstream(&[
        (
            "get_forecast",
            "Weather forecast for a city for the next days",
        ),
        ("get_alerts", "Severe weather alerts for a US state"),
    ]);
    let files = upstream(&[
        ("read_file", "Read the contents of a file from disk"),
        ("write_file", "Create or overwrite a file on disk"),
        ("list_directory", "List the entries of a directory"),
    ]);
    let w = serve(weather).await;
    let files_url = serve(files.clone()).await;
    let mut files_cfg = UpstreamConfig::url("files", files_url);
    files_cfg.required_scopes = files_scopes;
    let (gw, server) = Gateway::build(
        vec![UpstreamConfig::url("weather", w), files_cfg],
        "gw",
        "1.0.0",
    );
    gw.enable_tool_search(cfg).unwrap();
    gw.refresh_all().await;
    (serve(server).await, files)
}

/// Records every notification the client receives.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl ClientHandler for Recorder {
    fn notification(&self, method: &str, _params: &Value) {
        self.0.lock().unwrap().push(method.to_owned());
    }
}

async fn legacy_client(url: &str, rec: Arc<Recorder>) -> Client {
    legacy_client_with(url, rec, true).await
}

async fn legacy_client_with(url: &str, rec: Arc<Recorder>, open_get_stream: bool) -> Client {
    Client::connect_http(
        url,
        ClientOptions {
            protocol: ProtocolPreference::Legacy("2025-11-25".into()),
            open_get_stream,
            handler: rec,
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap()
}

async fn modern_client(url: &str) -> Client {
    Client::connect_http(
        url,
        ClientOptions {
            protocol: ProtocolPreference::Modern,
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap()
}

async fn names(c: &Client) -> Vec<String> {
    c.list_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

async fn call(c: &Client, name: &str, args: Value) -> Value {
    c.call_tool(name, args, &RequestOptions::default())
        .await
        .unwrap()
}

fn text(r: &Value) -> &str {
    r["content"][0]["text"].as_str().unwrap_or_default()
}

/// Waits (up to a generous deadline, for slow CI machines) until `cond` holds.
async fn eventually(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn pinned(globs: &[&str]) -> ToolSearchConfig {
    ToolSearchConfig {
        pinned: globs.iter().map(|s| (*s).to_owned()).collect(),
        ..ToolSearchConfig::default()
    }
}

#[tokio::test]
async fn tools_list_shows_the_gateway_tools_and_the_pinned_ones_only() {
    let (url, _) = gateway(pinned(&["files__read_*"])).await;
    let c = legacy_client(&url, Arc::default()).await;
    assert_eq!(
        names(&c).await,
        [SEARCH_TOOLS, CALL_TOOL, "files__read_file"]
    );
    let tools = c.list_tools().await.unwrap();
    assert_eq!(tools[0]["inputSchema"]["required"], json!(["query"]));
}

#[tokio::test]
async fn search_returns_ranked_full_definitions_as_text_and_structured_content() {
    let (url, _) = gateway(ToolSearchConfig::default()).await;
    let c = legacy_client(&url, Arc::default()).await;
    let r = call(
        &c,
        SEARCH_TOOLS,
        json!({"query": "what is the weather forecast for Paris", "top_k": 2}),
    )
    .await;
    assert_ne!(r["isError"], true, "{r}");
    let tools = r["structuredContent"]["tools"].as_array().unwrap();
    assert_eq!(tools.len(), 2);
    assert_eq!(tools[0]["name"], "weather__get_forecast");
    assert_eq!(
        tools[0]["description"],
        "Weather forecast for a city for the next days"
    );
    assert!(tools[0]["inputSchema"].is_object(), "{}", tools[0]);
    let from_text: Value = serde_json::from_str(text(&r)).unwrap();
    assert_eq!(&from_text, &r["structuredContent"]["tools"]);
}

#[tokio::test]
async fn found_tools_join_the_sessions_list_with_a_list_changed_notification() {
    let (url, _) = gateway(ToolSearchConfig::default()).await;
    let rec = Arc::new(Recorder::default());
    let c = legacy_client(&url, rec.clone()).await;
    let other_rec = Arc::new(Recorder::default());
    let other = legacy_client(&url, other_rec.clone()).await;
    assert_eq!(names(&c).await, [SEARCH_TOOLS, CALL_TOOL]);

    let r = call(
        &c,
        SEARCH_TOOLS,
        json!({"query": "read a file", "top_k": 1}),
    )
    .await;
    assert_eq!(
        r["structuredContent"]["tools"][0]["name"],
        "files__read_file"
    );
    eventually(
        "tools/list_changed reached the searching session",
        async || {
            rec.0
                .lock()
                .unwrap()
                .iter()
                .any(|m| m == "notifications/tools/list_changed")
        },
    )
    .await;
    assert_eq!(
        names(&c).await,
        [SEARCH_TOOLS, CALL_TOOL, "files__read_file"]
    );
    // Another session's list is its own, and it was not told of the change.
    assert_eq!(names(&other).await, [SEARCH_TOOLS, CALL_TOOL]);
    assert!(other_rec.0.lock().unwrap().is_empty());
    // The found tool is called directly and routed as usual.
    let r = call(&c, "files__read_file", json!({"path": "/a"})).await;
    assert_eq!(text(&r), r#"read_file:{"path":"/a"}"#);

    // Searching again for the same tool changes nothing, so no second notification.
    let before = rec.0.lock().unwrap().len();
    call(
        &c,
        SEARCH_TOOLS,
        json!({"query": "read a file", "top_k": 1}),
    )
    .await;
    call(&c, "files__read_file", json!({})).await;
    assert_eq!(rec.0.lock().unwrap().len(), before);
}

#[tokio::test]
async fn call_tool_reaches_tools_that_are_not_listed() {
    let (url, _) = gateway(ToolSearchConfig::default()).await;
    let c = legacy_client(&url, Arc::default()).await;
    let r = call(
        &c,
        CALL_TOOL,
        json!({"name": "weather__get_alerts", "arguments": {"state": "CA"}}),
    )
    .await;
    assert_eq!(text(&r), r#"get_alerts:{"state":"CA"}"#);
    let err = c
        .call_tool(
            CALL_TOOL,
            json!({"name": "nope__nothing"}),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tool"), "{err}");
    let r = call(&c, CALL_TOOL, json!({"arguments": {}})).await;
    assert_eq!(r["isError"], true, "{r}");
    assert!(text(&r).contains("name"), "{r}");
}

#[tokio::test]
async fn stateless_2026_clients_get_search_and_call_tool_with_a_fixed_list() {
    let (url, _) = gateway(pinned(&["weather__get_alerts"])).await;
    let c = modern_client(&url).await;
    let listed = [SEARCH_TOOLS, CALL_TOOL, "weather__get_alerts"];
    assert_eq!(names(&c).await, listed);
    let r = call(
        &c,
        SEARCH_TOOLS,
        json!({"query": "list the files in a folder", "top_k": 1}),
    )
    .await;
    assert_eq!(r["resultType"], "complete", "{r}");
    assert_eq!(
        r["structuredContent"]["tools"][0]["name"],
        "files__list_directory"
    );
    // No session to remember it for: the list stays as it was.
    assert_eq!(names(&c).await, listed);
    let r = call(
        &c,
        CALL_TOOL,
        json!({"name": "files__list_directory", "arguments": {"path": "/"}}),
    )
    .await;
    assert_eq!(text(&r), r#"list_directory:{"path":"/"}"#);
    let r = call(&c, "files__list_directory", json!({})).await;
    assert_eq!(text(&r), "list_directory:{}");
}

#[tokio::test]
async fn the_index_follows_upstream_list_changes() {
    let (url, files) = gateway(ToolSearchConfig::default()).await;
    let c = legacy_client(&url, Arc::default()).await;
    let r = call(
        &c,
        SEARCH_TOOLS,
        json!({"query": "compress into a zip archive"}),
    )
    .await;
    assert_eq!(r["structuredContent"]["tools"], json!([]), "{r}");
    files.add_tool(ToolDef::new(
        "zip_archive",
        "Compress files into a zip archive",
        |a: Value, _| async move { format!("zip_archive:{a}") },
    ));
    eventually("the new upstream tool is found", async || {
        let r = call(
            &c,
            SEARCH_TOOLS,
            json!({"query": "compress into a zip archive"}),
        )
        .await;
        r["structuredContent"]["tools"][0]["name"] == "files__zip_archive"
    })
    .await;
    files.remove_tool("read_file");
    eventually("the removed upstream tool is no longer found", async || {
        let r = call(&c, SEARCH_TOOLS, json!({"query": "read file contents"})).await;
        !r["structuredContent"]["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "files__read_file")
    })
    .await;
}

#[tokio::test]
async fn regex_mode_reads_queries_as_python_patterns() {
    let (url, _) = gateway(ToolSearchConfig {
        mode: ToolSearchMode::Regex,
        ..ToolSearchConfig::default()
    })
    .await;
    let c = legacy_client(&url, Arc::default()).await;
    let r = call(&c, SEARCH_TOOLS, json!({"query": r"^(read|write)_file$"})).await;
    let mut found: Vec<&str> = r["structuredContent"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    found.sort_unstable();
    assert_eq!(found, ["files__read_file", "files__write_file"]);
}

#[tokio::test]
async fn bad_queries_fail_as_tool_errors_the_model_can_read() {
    let (url, _) = gateway(ToolSearchConfig {
        mode: ToolSearchMode::Regex,
        ..ToolSearchConfig::default()
    })
    .await;
    let c = legacy_client(&url, Arc::default()).await;
    for (args, says) in [
        (json!({"query": "(unclosed"}), "invalid pattern"),
        (json!({"query": "a".repeat(201)}), "longer than the limit"),
        (json!({"top_k": 3}), "query"),
        (json!({"query": r"(\w+)\1"}), "not supported"),
    ] {
        let r = call(&c, SEARCH_TOOLS, args.clone()).await;
        assert_eq!(r["isError"], true, "{args} -> {r}");
        assert!(text(&r).contains(says), "{args} -> {r}");
    }
}

#[tokio::test]
async fn invalid_settings_are_refused() {
    let (gw, _) = Gateway::build(Vec::new(), "gw", "1.0.0");
    let zero = ToolSearchConfig {
        top_k: 0,
        ..ToolSearchConfig::default()
    };
    assert_eq!(gw.enable_tool_search(zero), Err(ToolSearchError::TopK(0)));
    gw.enable_tool_search(ToolSearchConfig::default()).unwrap();
    assert_eq!(
        gw.enable_tool_search(ToolSearchConfig::default()),
        Err(ToolSearchError::AlreadyEnabled)
    );
}

#[tokio::test]
async fn search_never_reveals_tools_the_caller_may_not_see() {
    // The callers here carry no credentials, so `files` (scope-gated) is hidden from them.
    let (url, _) = gateway_with_scopes(pinned(&["files__*"]), vec!["files:read".into()]).await;
    let c = legacy_client(&url, Arc::default()).await;
    assert_eq!(names(&c).await, [SEARCH_TOOLS, CALL_TOOL]);
    let r = call(&c, SEARCH_TOOLS, json!({"query": "read a file from disk"})).await;
    let found = r["structuredContent"]["tools"].as_array().unwrap();
    assert!(
        found
            .iter()
            .all(|t| !t["name"].as_str().unwrap().starts_with("files__")),
        "{r}"
    );
    let err = c
        .call_tool(
            CALL_TOOL,
            json!({"name": "files__read_file"}),
            &RequestOptions::default(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tool"), "{err}");
    let r = call(&c, SEARCH_TOOLS, json!({"query": "weather alerts"})).await;
    assert_eq!(
        r["structuredContent"]["tools"][0]["name"],
        "weather__get_alerts"
    );
}

#[tokio::test]
async fn without_a_get_stream_the_list_change_rides_on_the_search_response() {
    let (url, _) = gateway(ToolSearchConfig::default()).await;
    let rec = Arc::new(Recorder::default());
    let c = legacy_client_with(&url, rec.clone(), false).await;
    call(
        &c,
        SEARCH_TOOLS,
        json!({"query": "weather alerts", "top_k": 1}),
    )
    .await;
    // Sent before the response on the same stream, so it has arrived when the call returns.
    assert_eq!(*rec.0.lock().unwrap(), ["notifications/tools/list_changed"]);
    assert_eq!(
        names(&c).await,
        [SEARCH_TOOLS, CALL_TOOL, "weather__get_alerts"]
    );
}

/// The gateway of [`gateway`] behind a stand-in for the bearer layer: the `x-test-user` header
/// becomes the request's [`Caller`] (token checking belongs to switchyard-auth and is tested
/// there; here only the identity matters).
async fn gateway_for_callers(cfg: ToolSearchConfig) -> String {
    let weather = upstream(&[("get_forecast", "Weather forecast for a city")]);
    let files = upstream(&[
        ("read_file", "Read the contents of a file from disk"),
        ("list_directory", "List the entries of a directory"),
    ]);
    let (w, f) = (serve(weather).await, serve(files).await);
    let (gw, server) = Gateway::build(
        vec![
            UpstreamConfig::url("weather", w),
            UpstreamConfig::url("files", f),
        ],
        "gw",
        "1.0.0",
    );
    gw.enable_tool_search(cfg).unwrap();
    gw.refresh_all().await;
    let app = axum::Router::new()
        .route_service("/mcp", McpService::new(server, HttpConfig::default()))
        .layer(axum::middleware::map_request(
            |mut req: axum::extract::Request| async move {
                let user = req
                    .headers()
                    .get("x-test-user")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                if let Some(u) = user {
                    req.extensions_mut().insert(Caller::new(u, Vec::new()));
                }
                req
            },
        ));
    common::serve_app(app).await
}

async fn modern_client_as(url: &str, user: &str, rec: Arc<Recorder>) -> Client {
    Client::connect_http(
        url,
        ClientOptions {
            protocol: ProtocolPreference::Modern,
            headers: vec![("x-test-user".into(), user.into())],
            handler: rec,
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap()
}

fn heard(rec: &Recorder, method: &str) -> usize {
    rec.0
        .lock()
        .unwrap()
        .iter()
        .filter(|m| *m == method)
        .count()
}

#[tokio::test]
async fn a_2026_callers_found_tools_join_that_callers_list_and_only_its_listen_streams_hear() {
    let url = gateway_for_callers(ToolSearchConfig::default()).await;
    let (alice_rec, alice2_rec, bob_rec) = (
        Arc::new(Recorder::default()),
        Arc::new(Recorder::default()),
        Arc::new(Recorder::default()),
    );
    let alice = modern_client_as(&url, "alice", alice_rec.clone()).await;
    // The same user on a second connection: the visible set is the caller's, not the socket's.
    let alice2 = modern_client_as(&url, "alice", alice2_rec.clone()).await;
    let bob = modern_client_as(&url, "bob", bob_rec.clone()).await;
    let want = json!({"toolsListChanged": true});
    let _streams = [
        alice.http().unwrap().listen(want.clone()).unwrap(),
        alice2.http().unwrap().listen(want.clone()).unwrap(),
        bob.http().unwrap().listen(want).unwrap(),
    ];
    let ack = "notifications/subscriptions/acknowledged";
    for rec in [&alice_rec, &alice2_rec, &bob_rec] {
        eventually("listen stream acknowledged", async || heard(rec, ack) == 1).await;
    }
    assert_eq!(names(&alice).await, [SEARCH_TOOLS, CALL_TOOL]);

    let r = call(
        &alice,
        SEARCH_TOOLS,
        json!({"query": "list the entries of a directory", "top_k": 1}),
    )
    .await;
    assert_eq!(
        r["structuredContent"]["tools"][0]["name"],
        "files__list_directory"
    );
    let changed = "notifications/tools/list_changed";
    eventually("alice hears of her list change", async || {
        heard(&alice_rec, changed) == 1 && heard(&alice2_rec, changed) == 1
    })
    .await;
    assert_eq!(
        names(&alice2).await,
        [SEARCH_TOOLS, CALL_TOOL, "files__list_directory"]
    );
    // Bob's list and stream are his own.
    assert_eq!(names(&bob).await, [SEARCH_TOOLS, CALL_TOOL]);
    let r = call(
        &bob,
        SEARCH_TOOLS,
        json!({"query": "weather forecast", "top_k": 1}),
    )
    .await;
    assert_eq!(
        r["structuredContent"]["tools"][0]["name"],
        "weather__get_forecast"
    );
    eventually("bob hears of his list change", async || {
        heard(&bob_rec, changed) == 1
    })
    .await;
    assert_eq!(
        names(&bob).await,
        [SEARCH_TOOLS, CALL_TOOL, "weather__get_forecast"]
    );
    // Alice heard nothing of Bob's search.
    assert_eq!(heard(&alice_rec, changed), 1);
    assert_eq!(heard(&alice2_rec, changed), 1);
}
