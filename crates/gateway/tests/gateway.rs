//! The gateway over real upstream servers on 127.0.0.1: namespacing, routing, relays, and what
//! happens when an upstream dies, hangs or talks garbage.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use switchyard_client::{Client, ClientOptions, Progress, ProtocolPreference, RequestOptions};
use switchyard_gateway::{Gateway, UpstreamConfig, BREAKER_COOLDOWN};
use switchyard_server::{HttpConfig, McpService, NoArgs, RequestContext, Server, ToolDef};

fn upstream(name: &'static str) -> Server {
    Server::builder(name, "1.0.0")
        .tool(ToolDef::new(
            "echo",
            "Echoes its arguments",
            move |a: Value, _| async move { format!("{name}:{a}") },
        ))
        .tool(ToolDef::new(
            "slow",
            "Never finishes in time",
            |_: NoArgs, _| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            },
        ))
        .tool(ToolDef::new(
            "steps",
            "Reports progress",
            |_: NoArgs, ctx: RequestContext| async move {
                for i in 1..=3 {
                    ctx.progress(f64::from(i), Some(3.0), None);
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                "done"
            },
        ))
        .build()
}

async fn serve_on(
    listener: tokio::net::TcpListener,
    server: Server,
) -> tokio::task::JoinHandle<()> {
    let svc = McpService::new(server, HttpConfig::default());
    let app = axum::Router::new().route_service("/mcp", svc);
    tokio::spawn(async move {
        let _ = switchyard_server::serve(listener, app, std::future::pending()).await;
    })
}

async fn start_upstream(
    name: &'static str,
) -> (
    String,
    std::net::SocketAddr,
    tokio::task::JoinHandle<()>,
    Server,
) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let s = upstream(name);
    let h = serve_on(l, s.clone()).await;
    (format!("http://{addr}/mcp"), addr, h, s)
}

async fn start_gateway(ups: Vec<UpstreamConfig>) -> Client {
    let (gw, server) = Gateway::build(ups, "gw", "1.0.0");
    gw.refresh_all().await;
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    serve_on(l, server).await;
    Client::connect_http(
        &format!("http://{addr}/mcp"),
        ClientOptions {
            protocol: ProtocolPreference::Auto,
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap()
}

fn text(r: &Value) -> String {
    r["content"][0]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn tools_are_namespaced_and_routed_to_their_server() {
    let (a, ..) = start_upstream("alpha").await;
    let (b, ..) = start_upstream("beta").await;
    let client = start_gateway(vec![
        UpstreamConfig::url("a", a),
        UpstreamConfig::url("b", b),
    ])
    .await;
    let names: Vec<String> = client
        .list_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["a__echo", "a__slow", "a__steps", "b__echo", "b__slow", "b__steps"]
    );
    let r = client
        .call_tool("b__echo", json!({"k": [1, 2]}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(text(&r), r#"beta:{"k":[1,2]}"#);
    let r = client
        .call_tool("a__echo", json!({}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(text(&r), "alpha:{}");
}

#[tokio::test]
async fn allow_and_deny_lists_filter_what_is_exposed() {
    let (a, ..) = start_upstream("alpha").await;
    let mut cfg = UpstreamConfig::url("a", a);
    cfg.deny_tools = vec!["slow".into()];
    cfg.prefix = Some("x_".into());
    let client = start_gateway(vec![cfg]).await;
    let names: Vec<String> = client
        .list_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["x_echo", "x_steps"]);
    let err = client
        .call_tool("x_slow", json!({}), &RequestOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unknown tool"), "{err}");
}

#[tokio::test]
async fn progress_crosses_the_gateway() {
    let (a, ..) = start_upstream("alpha").await;
    let client = start_gateway(vec![UpstreamConfig::url("a", a)]).await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = seen.clone();
    let ro = RequestOptions {
        progress: Some(std::sync::Arc::new(move |p: Progress| {
            s.lock().unwrap().push(p.progress)
        })),
        ..RequestOptions::default()
    };
    let r = client.call_tool("a__steps", json!({}), &ro).await.unwrap();
    assert_eq!(text(&r), "done");
    assert_eq!(*seen.lock().unwrap(), [1.0, 2.0, 3.0]);
}

#[tokio::test]
async fn a_hanging_upstream_fails_its_call_within_the_timeout_and_others_keep_working() {
    let (a, ..) = start_upstream("alpha").await;
    let (b, ..) = start_upstream("beta").await;
    let mut slow = UpstreamConfig::url("a", a);
    slow.timeout = Duration::from_millis(300);
    let client = start_gateway(vec![slow, UpstreamConfig::url("b", b)]).await;
    let started = Instant::now();
    let r = client
        .call_tool("a__slow", json!({}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(r["isError"], true, "{r}");
    assert!(text(&r).contains("upstream a failed"), "{r}");
    assert!(started.elapsed() < Duration::from_secs(3));
    let r = client
        .call_tool("b__echo", json!({}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(text(&r), "beta:{}");
}

#[tokio::test]
async fn a_garbage_speaking_upstream_fails_cleanly() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else {
                return;
            };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut buf = [0u8; 8192];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9\r\n\r\n{garbage!").await;
            });
        }
    });
    let (b, ..) = start_upstream("beta").await;
    let mut bad = UpstreamConfig::url("bad", format!("http://{addr}/mcp"));
    bad.timeout = Duration::from_secs(2);
    let client = start_gateway(vec![bad, UpstreamConfig::url("b", b)]).await;
    let names: Vec<String> = client
        .list_tools()
        .await
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["b__echo", "b__slow", "b__steps"],
        "the broken upstream is left out of listings"
    );
    let r = client
        .call_tool("b__echo", json!({}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(text(&r), "beta:{}");
}

#[tokio::test]
async fn a_killed_upstream_fails_cleanly_and_the_gateway_recovers_when_it_returns() {
    let (a, addr, handle, server) = start_upstream("alpha").await;
    let mut cfg = UpstreamConfig::url("a", a);
    cfg.timeout = Duration::from_secs(2);
    let client = start_gateway(vec![cfg]).await;
    assert_eq!(
        text(
            &client
                .call_tool("a__echo", json!({}), &RequestOptions::default())
                .await
                .unwrap()
        ),
        "alpha:{}"
    );
    handle.abort();
    let _ = handle.await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let r = client
        .call_tool("a__echo", json!({}), &RequestOptions::default())
        .await
        .unwrap();
    assert_eq!(r["isError"], true, "{r}");
    // The upstream comes back on the same port.
    let l = loop {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(l) => break l,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    serve_on(l, server).await;
    let deadline = Instant::now() + BREAKER_COOLDOWN + Duration::from_secs(5);
    loop {
        let r = client
            .call_tool("a__echo", json!({}), &RequestOptions::default())
            .await
            .unwrap();
        if r["isError"] != true {
            assert_eq!(text(&r), "alpha:{}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not recover: {r}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn upstream_list_changes_reach_the_gateways_clients() {
    let (a, _, _, server) = start_upstream("alpha").await;
    let client = start_gateway(vec![UpstreamConfig::url("a", a)]).await;
    assert_eq!(client.list_tools().await.unwrap().len(), 3);
    server.add_tool(ToolDef::new("fresh", "Added later", |_: NoArgs, _| async {
        "fresh"
    }));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let names: Vec<String> = client
            .list_tools()
            .await
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        if names.contains(&"a__fresh".to_owned()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new tool never appeared: {names:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
