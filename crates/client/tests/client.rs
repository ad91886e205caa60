//! The client against a real Switchyard server on 127.0.0.1:0, in each era, plus fault cases.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use switchyard_client::{
    AcceptDefaults, Client, ClientError, ClientOptions, Progress, ProtocolPreference,
    RequestOptions, StdioCommand,
};
use switchyard_server::protocol::types::{ClientCapabilities, ElicitParams};
use switchyard_server::{
    HandlerError, HttpConfig, McpService, NoArgs, RequestContext, Server, ToolDef,
};

#[derive(Deserialize, JsonSchema)]
struct Count {
    n: u32,
    /// Close the SSE connection after every this many events (0: never).
    #[serde(default)]
    cut_every: u32,
}

/// Set when the `wait` tool sees its request cancelled.
static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn server() -> Server {
    Server::builder("client-test", "1.0.0")
        .tool(ToolDef::new(
            "wait",
            "Waits for 30 s; notes if it is stopped early",
            |_: NoArgs, _ctx: RequestContext| async move {
                // Dropped before the sleep ends only if the server cancelled the request.
                struct Stopped;
                impl Drop for Stopped {
                    fn drop(&mut self) {
                        CANCELLED.store(true, std::sync::atomic::Ordering::SeqCst);
                    }
                }
                let guard = Stopped;
                tokio::time::sleep(Duration::from_secs(30)).await;
                std::mem::forget(guard);
                "finished"
            },
        ))
        .page_size(2)
        .tool(ToolDef::new("echo", "Echoes text", |a: Value, _| async move { a.to_string() }).title("Echo"))
        .tool(ToolDef::new("a_tool", "Filler for pagination", |_: NoArgs, _| async { "a" }))
        .tool(ToolDef::new("b_tool", "Filler for pagination", |_: NoArgs, _| async { "b" }))
        .tool(ToolDef::new(
            "count",
            "Reports n progress notifications",
            |a: Count, ctx: RequestContext| async move {
                for i in 0..a.n {
                    ctx.progress(f64::from(i), Some(f64::from(a.n)), Some(&format!("seq {i}")));
                    if a.cut_every > 0 && (i + 1) % a.cut_every == 0 {
                        ctx.close_sse_stream();
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                format!("counted {}", a.n)
            },
        ))
        .tool(ToolDef::new("ask", "Elicits a name", |_: NoArgs, ctx: RequestContext| async move {
            let r = ctx
                .elicit_keyed(
                    Some("who"),
                    ElicitParams {
                        mode: None,
                        message: "name?".into(),
                        requested_schema: serde_json::from_value(json!({"type":"object","properties":{"name":{"type":"string","default":"Ada"}}})).ok(),
                        url: None,
                        elicitation_id: None,
                        meta: None,
                    },
                )
                .await?;
            Ok::<_, HandlerError>(format!("hello {}", r.content.unwrap_or_default()["name"].as_str().unwrap_or("?")))
        }))
        .build()
}

async fn start(cfg: HttpConfig, legacy_sse: bool) -> (String, McpService) {
    let srv = server();
    let svc = McpService::new(srv.clone(), cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut app = axum::Router::new().route_service("/mcp", svc.clone());
    if legacy_sse {
        app = axum::Router::new().merge(switchyard_server::legacy_sse::router(
            srv,
            switchyard_server::http::OriginPolicy::default(),
            "/sse",
            "/messages",
        ));
    }
    tokio::spawn(switchyard_server::serve(
        listener,
        app,
        std::future::pending(),
    ));
    let path = if legacy_sse { "sse" } else { "mcp" };
    (format!("http://{addr}/{path}"), svc)
}

fn opts(protocol: ProtocolPreference) -> ClientOptions {
    ClientOptions {
        protocol,
        capabilities: serde_json::from_value(json!({"elicitation": {}}))
            .unwrap_or_else(|_| ClientCapabilities::default()),
        handler: Arc::new(AcceptDefaults),
        request_timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    }
}

async fn exercise(client: &Client) {
    let tools = client.list_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(
        names,
        ["wait", "echo", "a_tool", "b_tool", "count", "ask"],
        "every page is fetched, in order"
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let ro = RequestOptions {
        progress: Some(Arc::new(move |p: Progress| {
            s.lock().unwrap().push(p.progress)
        })),
        ..RequestOptions::default()
    };
    let r = client
        .call_tool("count", json!({"n": 3}), &ro)
        .await
        .unwrap();
    assert_eq!(r["content"][0]["text"], "counted 3");
    assert_eq!(*seen.lock().unwrap(), [0.0, 1.0, 2.0]);
    let r = client
        .call_tool("ask", json!({}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(
        r["content"][0]["text"], "hello Ada",
        "elicitation answered with the schema default"
    );
}

#[tokio::test]
async fn auto_detects_the_modern_era_and_answers_input_required() {
    let (url, _svc) = start(HttpConfig::default(), false).await;
    let client = Client::connect_http(&url, opts(ProtocolPreference::Auto))
        .await
        .unwrap();
    assert_eq!(client.http().unwrap().protocol_version(), "2026-07-28");
    exercise(&client).await;
}

#[tokio::test]
async fn legacy_session_with_sse_requests_and_delete_on_close() {
    let (url, svc) = start(HttpConfig::default(), false).await;
    let client = Client::connect_http(&url, opts(ProtocolPreference::Legacy("2025-11-25".into())))
        .await
        .unwrap();
    assert_eq!(client.http().unwrap().protocol_version(), "2025-11-25");
    assert!(client.http().unwrap().session_id().is_some());
    exercise(&client).await;
    assert_eq!(svc.session_count(), 1);
    client.close().await;
    assert_eq!(svc.session_count(), 0, "close sends DELETE");
}

#[tokio::test]
async fn expired_session_is_reinitialised_transparently() {
    let (url, svc) = start(
        HttpConfig {
            session_idle: Duration::from_millis(100),
            ..HttpConfig::default()
        },
        false,
    )
    .await;
    let client = Client::connect_http(&url, opts(ProtocolPreference::Legacy("2025-11-25".into())))
        .await
        .unwrap();
    let first = client.http().unwrap().session_id().unwrap();
    tokio::time::sleep(Duration::from_millis(250)).await;
    let r = client
        .call_tool("echo", json!({"x": 1}), &RequestOptions::default())
        .await
        .unwrap();
    assert!(r["content"][0]["text"]
        .as_str()
        .unwrap()
        .contains("\"x\":1"));
    let second = client.http().unwrap().session_id().unwrap();
    assert_ne!(first, second, "a new session replaced the expired one");
    assert_eq!(svc.session_count(), 1);
}

#[tokio::test]
async fn a_2024_11_05_only_server_works_through_the_fallback() {
    let (url, _svc) = start(HttpConfig::default(), true).await;
    let client = Client::connect_http(&url, opts(ProtocolPreference::Auto))
        .await
        .unwrap();
    assert_eq!(client.http().unwrap().protocol_version(), "2024-11-05");
    exercise(&client).await;
}

#[tokio::test]
async fn cut_sse_streams_resume_with_last_event_id_without_loss_or_duplicates() {
    let cfg = HttpConfig {
        sse_retry_ms: 5,
        ..HttpConfig::default()
    };
    let (url, _svc) = start(cfg, false).await;
    let client = Client::connect_http(&url, opts(ProtocolPreference::Legacy("2025-11-25".into())))
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let ro = RequestOptions {
        progress: Some(Arc::new(move |p: Progress| {
            s.lock().unwrap().push(p.progress as u32)
        })),
        ..RequestOptions::default()
    };
    // 1,000 events; the server drops the connection after every 250 (under the resume limit).
    let r = client
        .call_tool("count", json!({"n": 1000, "cut_every": 250}), &ro)
        .await
        .unwrap();
    assert_eq!(r["content"][0]["text"], "counted 1000");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1000, "no event lost or duplicated");
    assert!(
        seen.iter().enumerate().all(|(i, &v)| v == i as u32),
        "events arrive in order"
    );
}

fn script_server(script: &str) -> StdioCommand {
    StdioCommand {
        program: "bash".into(),
        args: vec!["-c".into(), script.into()],
        ..StdioCommand::default()
    }
}

const INIT_REPLY: &str = r#"read -r l; echo '{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"sh","version":"1"}}}'; read -r l"#;

#[tokio::test]
async fn a_stdio_server_killed_mid_call_fails_the_call_promptly() {
    // Answers initialize, swallows `initialized`, reads the call and dies without answering.
    let cmd = script_server(&format!("{INIT_REPLY}; read -r l; kill -9 $$"));
    let client = Client::connect_stdio(
        &cmd,
        ClientOptions {
            request_timeout: Duration::from_secs(20),
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap();
    let started = Instant::now();
    let err = client
        .call_tool("anything", json!({}), &RequestOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Closed(_)), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the failure is prompt, not the 20 s timeout"
    );
}

#[tokio::test]
async fn a_hanging_stdio_server_times_out() {
    let cmd = script_server(&format!("{INIT_REPLY}; sleep 30"));
    let client = Client::connect_stdio(&cmd, ClientOptions::default())
        .await
        .unwrap();
    let ro = RequestOptions {
        timeout: Some(Duration::from_millis(300)),
        ..RequestOptions::default()
    };
    let err = client.call_tool("slow", json!({}), &ro).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout(_)), "{err}");
    client.close().await;
}

#[tokio::test]
async fn an_http_server_killed_mid_call_fails_the_call_within_the_timeout() {
    // A server that accepts, reads the request and closes the socket without answering.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut s, _) = listener.accept().await.unwrap();
            use tokio::io::AsyncReadExt;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            drop(s);
        }
    });
    let started = Instant::now();
    let err = Client::connect_http(
        &format!("http://{addr}/mcp"),
        ClientOptions {
            protocol: ProtocolPreference::Modern,
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap()
    .call_tool(
        "x",
        json!({}),
        &RequestOptions {
            timeout: Some(Duration::from_secs(5)),
            ..RequestOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, ClientError::Transport(_) | ClientError::Closed(_)),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_timed_out_legacy_request_is_cancelled_at_the_server() {
    let (url, _svc) = start(HttpConfig::default(), false).await;
    let client = Client::connect_http(&url, opts(ProtocolPreference::Legacy("2025-11-25".into())))
        .await
        .unwrap();
    let ro = RequestOptions {
        timeout: Some(Duration::from_millis(200)),
        ..RequestOptions::default()
    };
    let err = client.call_tool("wait", json!({}), &ro).await.unwrap_err();
    assert!(matches!(err, ClientError::Timeout(_)), "{err}");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !CANCELLED.load(std::sync::atomic::Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the server never saw notifications/cancelled"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
