//! Black-box tests of the Streamable HTTP endpoint: a real server on 127.0.0.1:0, driven over
//! HTTP. One test per rule, named as the rule.
#![allow(clippy::unwrap_used)] // Test helpers: a panic is the failure report.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{json, Value};
use switchyard_server::protocol::types::LoggingLevel;
use switchyard_server::*;

#[derive(Deserialize, JsonSchema)]
struct Echo {
    text: String,
}

/// What an authentication layer in front of the endpoint would put in the request.
#[derive(Clone)]
struct Principal(&'static str);

fn server() -> Server {
    Server::builder("test", "1.0.0")
        .tool(ToolDef::new(
            "whoami",
            "Names the caller the transport saw",
            |_: NoArgs, ctx: RequestContext| async move {
                ctx.extensions()
                    .get::<Principal>()
                    .map_or("nobody", |p| p.0)
                    .to_owned()
            },
        ))
        .tool(ToolDef::new(
            "echo",
            "Echoes text",
            |a: Echo, _| async move { a.text },
        ))
        .tool(ToolDef::new(
            "progress",
            "Reports progress twice",
            |_: NoArgs, ctx: RequestContext| async move {
                ctx.progress(1.0, Some(2.0), None);
                tokio::time::sleep(Duration::from_millis(20)).await;
                ctx.progress(2.0, Some(2.0), None);
                ctx.log(LoggingLevel::Info, None, json!("done"));
                "finished"
            },
        ))
        .tool(ToolDef::new(
            "ask",
            "Asks the user for a name",
            |_: NoArgs, ctx: RequestContext| async move {
                let r = ctx
                    .elicit_keyed(
                        Some("name"),
                        switchyard_server::protocol::types::ElicitParams {
                            mode: None,
                            message: "name?".into(),
                            requested_schema: serde_json::from_value(
                                json!({"type":"object","properties":{"name":{"type":"string"}}}),
                            )
                            .ok(),
                            url: None,
                            elicitation_id: None,
                            meta: None,
                        },
                    )
                    .await?;
                let name = r
                    .content
                    .and_then(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                Ok::<_, HandlerError>(format!("hello {name}"))
            },
        ))
        .build()
}

struct TestServer {
    url: String,
    svc: McpService,
    client: reqwest::Client,
}

async fn start(cfg: HttpConfig) -> TestServer {
    let svc = McpService::new(server(), cfg);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let s = svc.clone();
    tokio::spawn(async move {
        let app = axum::Router::new().route_service("/mcp", s);
        switchyard_server::serve(listener, app, std::future::pending()).await
    });
    TestServer {
        url: format!("http://{addr}/mcp"),
        svc,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap(),
    }
}

const MODERN_META: &str = r#"{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{"elicitation":{}}}"#;

fn modern_headers(method: &str, name: Option<&str>) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "accept",
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2026-07-28"),
    );
    h.insert("mcp-method", HeaderValue::from_str(method).unwrap());
    if let Some(n) = name {
        h.insert("mcp-name", HeaderValue::from_str(n).unwrap());
    }
    h
}

fn call_body(id: u64, tool: &str, args: Value) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"{tool}","arguments":{args},"_meta":{MODERN_META}}}}}"#
    )
}

impl TestServer {
    async fn post(
        &self,
        headers: HeaderMap,
        body: impl Into<reqwest::Body>,
    ) -> (StatusCode, HeaderMap, String) {
        let r = self
            .client
            .post(&self.url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let h = r.headers().clone();
        (status, h, r.text().await.unwrap())
    }

    async fn echo_works(&self) {
        let (s, _, b) = self
            .post(
                modern_headers("tools/call", Some("echo")),
                call_body(99, "echo", json!({"text":"still here"})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "server must keep serving: {b}");
        let v: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["result"]["content"][0]["text"], "still here");
    }

    async fn initialize(&self, version: &str) -> String {
        let mut h = HeaderMap::new();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h.insert(
            "accept",
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{"elicitation":{{}}}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
        );
        let (s, h, b) = self.post(h, body).await;
        assert_eq!(s, StatusCode::OK, "{b}");
        let v: Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["result"]["protocolVersion"], version);
        h.get("mcp-session-id")
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
    }
}

fn error_code(body: &str) -> i64 {
    let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    v["error"]["code"]
        .as_i64()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

fn session_headers(sid: &str, version: &'static str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert("content-type", HeaderValue::from_static("application/json"));
    h.insert(
        "accept",
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h.insert("mcp-protocol-version", HeaderValue::from_static(version));
    h.insert("mcp-session-id", HeaderValue::from_str(sid).unwrap());
    h
}

#[tokio::test]
async fn malformed_json_is_a_400_parse_error() {
    let t = start(HttpConfig::default()).await;
    let (s, _, b) = t
        .post(modern_headers("tools/call", None), "{\"jsonrpc\":")
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&b), -32700);
    t.echo_works().await;
}

#[tokio::test]
async fn wrong_jsonrpc_shape_is_a_400_invalid_request() {
    let t = start(HttpConfig::default()).await;
    for body in [
        r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
        r#"[1,2]"#,
        r#""hello""#,
        r#"{"id":1}"#,
    ] {
        let (s, _, b) = t.post(modern_headers("tools/call", None), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&b), -32600, "{body}: {b}");
    }
    t.echo_works().await;
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let t = start(HttpConfig {
        max_body_bytes: 1024,
        ..HttpConfig::default()
    })
    .await;
    let big = call_body(1, "echo", json!({"text": "x".repeat(4096)}));
    let (s, _, _) = t
        .post(modern_headers("tools/call", Some("echo")), big.clone())
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    // Without Content-Length the limit holds while streaming the body.
    let stream = futures_util::stream::iter(
        big.into_bytes()
            .chunks(100)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let (s, _, _) = t
        .post(
            modern_headers("tools/call", Some("echo")),
            reqwest::Body::wrap_stream(stream),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
    t.echo_works().await;
}

#[tokio::test]
async fn nesting_over_the_limit_is_rejected() {
    let t = start(HttpConfig::default()).await;
    let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
    let (s, _, b) = t
        .post(
            modern_headers("tools/call", Some("echo")),
            call_body(1, "echo", serde_json::from_str::<Value>("null").unwrap())
                .replace("null", &deep),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(b.contains("nesting deeper than 64"), "{b}");
    t.echo_works().await;
}

#[tokio::test]
async fn invalid_utf8_is_a_parse_error() {
    let t = start(HttpConfig::default()).await;
    let mut body = call_body(1, "echo", json!({"text":"AB"})).into_bytes();
    let i = body.windows(2).position(|w| w == b"AB").unwrap();
    body[i] = 0xff;
    let (s, _, b) = t
        .post(modern_headers("tools/call", Some("echo")), body)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&b), -32700);
    t.echo_works().await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let t = start(HttpConfig::default()).await;
    let mut h = modern_headers("tools/call", Some("echo"));
    h.insert("content-type", HeaderValue::from_static("text/plain"));
    let (s, _, _) = t.post(h, call_body(1, "echo", json!({"text":"a"}))).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    t.echo_works().await;
}

#[tokio::test]
async fn missing_accept_is_406() {
    let t = start(HttpConfig::default()).await;
    // reqwest adds `Accept: */*` when none is set, so the header-less request goes over a raw socket.
    let body = call_body(1, "echo", json!({"text":"a"}));
    let addr = t
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_owned();
    let raw = format!(
        "POST /mcp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nMCP-Protocol-Version: 2026-07-28\r\nMcp-Method: tools/call\r\nMcp-Name: echo\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    sock.write_all(raw.as_bytes()).await.unwrap();
    let mut resp = String::new();
    sock.read_to_string(&mut resp).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 406"), "{resp}");
    let mut h = modern_headers("tools/call", Some("echo"));
    h.insert("accept", HeaderValue::from_static("application/json"));
    let (s, _, _) = t.post(h, call_body(1, "echo", json!({"text":"a"}))).await;
    assert_eq!(
        s,
        StatusCode::NOT_ACCEPTABLE,
        "Accept must list both media types"
    );
    t.echo_works().await;
}

#[tokio::test]
async fn unknown_session_is_404() {
    let t = start(HttpConfig::default()).await;
    let (s, _, b) = t
        .post(
            session_headers("no-such-session", "2025-11-25"),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(serde_json::from_str::<Value>(&b).unwrap()["id"], 1);
    t.echo_works().await;
}

#[tokio::test]
async fn expired_session_is_404() {
    let t = start(HttpConfig {
        session_idle: Duration::from_millis(50),
        ..HttpConfig::default()
    })
    .await;
    let sid = t.initialize("2025-11-25").await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    let (s, _, _) = t
        .post(
            session_headers(&sid, "2025-11-25"),
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(t.svc.session_count(), 0, "the expired session is dropped");
}

#[tokio::test]
async fn bad_origin_or_host_is_403() {
    let t = start(HttpConfig::default()).await;
    let mut h = modern_headers("tools/call", Some("echo"));
    h.insert(
        "origin",
        HeaderValue::from_static("http://evil.example.com"),
    );
    let (s, _, _) = t.post(h, call_body(1, "echo", json!({"text":"a"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let mut h = modern_headers("tools/call", Some("echo"));
    h.insert("host", HeaderValue::from_static("evil.example.com"));
    let (s, _, _) = t.post(h, call_body(1, "echo", json!({"text":"a"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    t.echo_works().await;
}

#[tokio::test]
async fn unsupported_version_is_400_with_32022_and_the_supported_list() {
    let t = start(HttpConfig::default()).await;
    let mut h = modern_headers("tools/call", Some("echo"));
    h.insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2099-01-01"),
    );
    let body = call_body(7, "echo", json!({"text":"a"})).replace("2026-07-28", "2099-01-01");
    let (s, _, b) = t.post(h, body).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["error"]["code"], -32022);
    assert_eq!(v["id"], 7);
    assert_eq!(v["error"]["data"]["requested"], "2099-01-01");
    assert_eq!(v["error"]["data"]["supported"], json!(["2026-07-28"]));
    t.echo_works().await;
}

#[tokio::test]
async fn header_body_mismatch_is_400_with_32020() {
    let t = start(HttpConfig::default()).await;
    let body = call_body(1, "echo", json!({"text":"a"}));
    // Wrong method header, wrong name header, missing name header, wrong version header.
    let mut cases = vec![
        modern_headers("tools/list", Some("echo")),
        modern_headers("tools/call", Some("other")),
        modern_headers("tools/call", None),
    ];
    let mut h = modern_headers("tools/call", Some("echo"));
    h.insert(
        "mcp-protocol-version",
        HeaderValue::from_static("2025-11-25"),
    );
    h.insert("mcp-session-id", HeaderValue::from_static("x"));
    let _ = h.remove("mcp-session-id");
    cases.push(h);
    for h in cases {
        let (s, _, b) = t.post(h.clone(), body.clone()).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{h:?}: {b}");
        assert_eq!(error_code(&b), -32020, "{h:?}: {b}");
    }
    t.echo_works().await;
}

#[tokio::test]
async fn modern_unknown_method_is_404_with_32601() {
    let t = start(HttpConfig::default()).await;
    let body =
        format!(r#"{{"jsonrpc":"2.0","id":3,"method":"ping","params":{{"_meta":{MODERN_META}}}}}"#);
    let (s, _, b) = t.post(modern_headers("ping", None), body).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(error_code(&b), -32601);
}

#[tokio::test]
async fn modern_progress_streams_as_sse_before_the_result() {
    let t = start(HttpConfig::default()).await;
    let body = call_body(5, "progress", json!({})).replace(
        r#""_meta":{"#,
        r#""_meta":{"progressToken":"p1","io.modelcontextprotocol/logLevel":"debug","#,
    );
    let (s, h, b) = t
        .post(modern_headers("tools/call", Some("progress")), body)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h["content-type"], "text/event-stream");
    let datas: Vec<Value> = b
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let methods: Vec<&str> = datas.iter().filter_map(|d| d["method"].as_str()).collect();
    assert_eq!(
        methods,
        [
            "notifications/progress",
            "notifications/progress",
            "notifications/message"
        ]
    );
    let last = datas.last().unwrap();
    assert_eq!(last["id"], 5);
    assert_eq!(last["result"]["resultType"], "complete");
    assert_eq!(last["result"]["content"][0]["text"], "finished");
}

#[tokio::test]
async fn modern_input_required_round_trip_and_tampering() {
    let t = start(HttpConfig::default()).await;
    let (_, _, b) = t
        .post(
            modern_headers("tools/call", Some("ask")),
            call_body(1, "ask", json!({})),
        )
        .await;
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["result"]["resultType"], "input_required");
    assert_eq!(
        v["result"]["inputRequests"]["name"]["method"],
        "elicitation/create"
    );
    let state = v["result"]["requestState"].as_str().unwrap().to_owned();
    let retry = |state: &str| {
        format!(
            r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"ask","arguments":{{}},"requestState":{},"inputResponses":{{"name":{{"action":"accept","content":{{"name":"Ada"}}}}}},"_meta":{MODERN_META}}}}}"#,
            Value::String(state.to_owned())
        )
    };
    let (_, _, b) = t
        .post(modern_headers("tools/call", Some("ask")), retry(&state))
        .await;
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["result"]["content"][0]["text"], "hello Ada", "{b}");
    let (_, _, b) = t
        .post(
            modern_headers("tools/call", Some("ask")),
            retry(&format!("{state}x")),
        )
        .await;
    assert_eq!(
        error_code(&b),
        -32602,
        "a tampered requestState is refused: {b}"
    );
}

#[tokio::test]
async fn legacy_session_lifecycle_initialize_call_delete() {
    let t = start(HttpConfig::default()).await;
    let sid = t.initialize("2025-11-25").await;
    assert!(sid.bytes().all(|b| (0x21..=0x7e).contains(&b)) && sid.len() >= 16);
    let h = session_headers(&sid, "2025-11-25");
    let (s, _, _) = t
        .post(
            h.clone(),
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let (s, _, b) = t.post(h.clone(), r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"legacy"}}}"#).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&b).unwrap();
    assert_eq!(v["result"]["content"][0]["text"], "legacy");
    assert!(
        v["result"].get("resultType").is_none(),
        "legacy results carry no resultType"
    );
    let (s, _, b) = t
        .post(h.clone(), r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#)
        .await;
    assert_eq!(
        (
            s,
            serde_json::from_str::<Value>(&b).unwrap()["result"].clone()
        ),
        (StatusCode::OK, json!({}))
    );
    let r = t
        .client
        .delete(&t.url)
        .headers(h.clone())
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let (s, _, _) = t
        .post(h, r#"{"jsonrpc":"2.0","id":3,"method":"tools/list"}"#)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batches_are_accepted_only_in_2025_03_26() {
    let t = start(HttpConfig::default()).await;
    let batch = r#"[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"a"}}},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"ping"}]"#;
    let old = t.initialize("2025-03-26").await;
    let (s, _, b) = t.post(session_headers(&old, "2025-03-26"), batch).await;
    assert_eq!(s, StatusCode::OK);
    let v: Vec<Value> = serde_json::from_str(&b).unwrap();
    assert_eq!(v.len(), 2);
    assert_eq!(v[0]["result"]["content"][0]["text"], "a");
    let new = t.initialize("2025-11-25").await;
    let (s, _, b) = t.post(session_headers(&new, "2025-11-25"), batch).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(error_code(&b), -32600);
}

#[tokio::test]
async fn legacy_elicitation_round_trips_over_the_post_stream() {
    let t = start(HttpConfig::default()).await;
    let sid = t.initialize("2025-11-25").await;
    let h = session_headers(&sid, "2025-11-25");
    let resp = t
        .client
        .post(&t.url)
        .headers(h.clone())
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask","arguments":{}}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    use futures_util::StreamExt;
    let request: Value = loop {
        let chunk = stream.next().await.unwrap().unwrap();
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        if let Some(v) = buf
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter(|d| !d.is_empty())
            .find_map(|d| serde_json::from_str::<Value>(d).ok())
        {
            break v;
        }
    };
    assert!(
        buf.starts_with("id: "),
        "a priming event opens the stream: {buf}"
    );
    assert!(buf.contains("retry: "), "{buf}");
    assert_eq!(request["method"], "elicitation/create");
    let answer = json!({"jsonrpc":"2.0","id":request["id"],"result":{"action":"accept","content":{"name":"Grace"}}});
    let (s, _, _) = t.post(h, answer.to_string()).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let mut rest = buf;
    while let Some(chunk) = stream.next().await {
        rest.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
    }
    assert!(rest.contains(r#""text":"hello Grace""#), "{rest}");
}

#[tokio::test]
async fn legacy_stream_resumes_with_last_event_id() {
    let t = start(HttpConfig::default()).await;
    let sid = t.initialize("2025-11-25").await;
    let h = session_headers(&sid, "2025-11-25");
    let resp = t
        .client
        .post(&t.url)
        .headers(h.clone())
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"ask","arguments":{}}}"#)
        .send()
        .await
        .unwrap();
    use futures_util::StreamExt;
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    while !buf.contains("elicitation/create") {
        buf.push_str(std::str::from_utf8(&stream.next().await.unwrap().unwrap()).unwrap());
    }
    let last_id = buf
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("id: "))
        .unwrap()
        .to_owned();
    let request: Value = serde_json::from_str(
        buf.lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .find(|d| d.contains("elicitation"))
            .unwrap(),
    )
    .unwrap();
    drop(stream); // the connection drops; the request keeps running
    let answer = json!({"jsonrpc":"2.0","id":request["id"],"result":{"action":"accept","content":{"name":"Lin"}}});
    t.post(h.clone(), answer.to_string()).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut gh = h.clone();
    gh.insert("accept", HeaderValue::from_static("text/event-stream"));
    gh.insert("last-event-id", HeaderValue::from_str(&last_id).unwrap());
    let r = t.client.get(&t.url).headers(gh).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(r#""text":"hello Lin""#),
        "the result is replayed after the last seen event: {body}"
    );
    assert!(
        !body.contains("elicitation/create"),
        "events up to Last-Event-ID are not repeated: {body}"
    );
}

#[tokio::test]
async fn get_stream_carries_list_changed_and_rejects_a_second_stream() {
    let t = start(HttpConfig::default()).await;
    let sid = t.initialize("2025-11-25").await;
    let mut h = session_headers(&sid, "2025-11-25");
    h.insert("accept", HeaderValue::from_static("text/event-stream"));
    let r = t
        .client
        .get(&t.url)
        .headers(h.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let second = t
        .client
        .get(&t.url)
        .headers(h.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::CONFLICT);
    tokio::time::sleep(Duration::from_millis(20)).await;
    t.svc
        .server()
        .add_tool(ToolDef::new("late", "Added later", |_: NoArgs, _| async {
            "late"
        }));
    use futures_util::StreamExt;
    let mut s = r.bytes_stream();
    let mut buf = String::new();
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        while !buf.contains("notifications/tools/list_changed") {
            buf.push_str(std::str::from_utf8(&s.next().await.unwrap().unwrap()).unwrap());
        }
    })
    .await;
    assert!(got.is_ok(), "list_changed arrives on the GET stream: {buf}");
}

#[tokio::test]
async fn subscriptions_listen_acknowledges_then_forwards_filtered_changes() {
    let t = start(HttpConfig::default()).await;
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":42,"method":"subscriptions/listen","params":{{"notifications":{{"toolsListChanged":true,"promptsListChanged":true}},"_meta":{MODERN_META}}}}}"#
    );
    let r = t
        .client
        .post(&t.url)
        .headers(modern_headers("subscriptions/listen", None))
        .body(body)
        .send()
        .await
        .unwrap();
    use futures_util::StreamExt;
    let mut s = r.bytes_stream();
    let mut buf = String::new();
    while !buf.contains("acknowledged") {
        buf.push_str(std::str::from_utf8(&s.next().await.unwrap().unwrap()).unwrap());
    }
    let ack: Value =
        serde_json::from_str(buf.lines().find_map(|l| l.strip_prefix("data: ")).unwrap()).unwrap();
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        42
    );
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true}),
        "prompts are not offered by this server, so not acknowledged"
    );
    t.svc
        .server()
        .add_tool(ToolDef::new("late", "Added later", |_: NoArgs, _| async {
            "late"
        }));
    tokio::time::timeout(Duration::from_secs(5), async {
        while !buf.contains("tools/list_changed") {
            buf.push_str(std::str::from_utf8(&s.next().await.unwrap().unwrap()).unwrap());
        }
    })
    .await
    .expect("list_changed arrives on the listen stream");
}

#[tokio::test]
async fn stdio_transport_serves_a_session() {
    let (client, server_io) = tokio::io::duplex(64 * 1024);
    let (sr, sw) = tokio::io::split(server_io);
    tokio::spawn(switchyard_server::stdio::serve_io(server(), sr, sw));
    let (cr, mut cw) = tokio::io::split(client);
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut lines = tokio::io::BufReader::new(cr).lines();
    cw.write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}\n").await.unwrap();
    let v: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(v["result"]["protocolVersion"], "2025-11-25");
    cw.write_all(b"not json\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"via stdio\"}}}\n").await.unwrap();
    let e: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(
        e["error"]["code"], -32700,
        "garbage gets a parse error and the connection lives on"
    );
    let v: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(v["result"]["content"][0]["text"], "via stdio");
}

#[tokio::test]
async fn stdio_serves_subscriptions_listen_in_the_2026_era() {
    let (client, server_io) = tokio::io::duplex(64 * 1024);
    let (sr, sw) = tokio::io::split(server_io);
    let srv = server();
    tokio::spawn(switchyard_server::stdio::serve_io(srv.clone(), sr, sw));
    let (cr, mut cw) = tokio::io::split(client);
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
    let mut lines = tokio::io::BufReader::new(cr).lines();
    let listen = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"subscriptions/listen\",\"params\":{{\"notifications\":{{\"toolsListChanged\":true}},\"_meta\":{MODERN_META}}}}}\n"
    );
    cw.write_all(listen.as_bytes()).await.unwrap();
    let ack: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged");
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        7
    );
    srv.add_tool(ToolDef::new("late", "Added later", |_: NoArgs, _| async {
        "late"
    }));
    let n: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(n["method"], "notifications/tools/list_changed");
    assert_eq!(
        n["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"],
        7
    );
}

#[tokio::test]
async fn request_extensions_reach_the_handler() {
    let svc = McpService::new(server(), HttpConfig::default());
    let tagged = tower::ServiceExt::map_request(svc, |mut r: ::http::Request<axum::body::Body>| {
        r.extensions_mut().insert(Principal("alice"));
        r
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let app = axum::Router::new().route_service("/mcp", tagged);
        switchyard_server::serve(listener, app, std::future::pending()).await
    });
    let client = reqwest::Client::new();
    let r = client
        .post(format!("http://{addr}/mcp"))
        .headers(modern_headers("tools/call", Some("whoami")))
        .body(call_body(1, "whoami", json!({})))
        .send()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(v["result"]["content"][0]["text"], "alice");
}

#[tokio::test]
async fn finished_streams_do_not_accumulate_in_a_long_session() {
    let t = start(HttpConfig::default()).await;
    let sid = t.initialize("2025-11-25").await;
    let h = session_headers(&sid, "2025-11-25");
    for i in 0..40 {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{i},"method":"tools/call","params":{{"name":"progress","arguments":{{}},"_meta":{{"progressToken":"t{i}"}}}}}}"#
        );
        let (s, hdr, b) = t.post(h.clone(), body).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            hdr["content-type"], "text/event-stream",
            "the streamed path is exercised"
        );
        assert!(b.contains(r#""text":"finished""#), "{b}");
    }
    let n = t.svc.session_stream_count(&sid).unwrap();
    assert!(
        n <= switchyard_server::http::RESUMABLE_FINISHED_STREAMS,
        "{n} streams kept after 40 calls"
    );
}
