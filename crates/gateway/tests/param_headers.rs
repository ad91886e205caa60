//! 2026-07-28 `Mcp-Param-*` headers on relayed tools: the gateway checks a caller's headers
//! against the upstream tool's `x-mcp-header` parameters as a server of its own would, and
//! its client sets them for the upstream.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

mod common;
use common::serve;

use serde_json::{json, Value};
use switchyard_gateway::{Gateway, UpstreamConfig};
use switchyard_protocol::types::{CallToolResult, Tool};
use switchyard_server::{Server, ToolDef};

fn upstream() -> Server {
    let schema = json!({
        "type": "object",
        "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
        "required": ["region"]
    });
    let tool = Tool {
        name: "where".into(),
        description: Some("Echoes its region".into()),
        input_schema: schema.as_object().cloned().unwrap(),
        ..Tool::default()
    };
    Server::builder("regional", "1.0.0")
        .tool(
            ToolDef::dynamic(tool, |args: Value, _| async move {
                let region = args.get("region").and_then(Value::as_str).unwrap_or("?");
                Ok(CallToolResult::text(format!("region={region}")))
            })
            .unwrap(),
        )
        .build()
}

/// A stateless 2026-07-28 `tools/call` of `up__where`, with an optional `Mcp-Param-Region`.
async fn call(url: &str, region: &str, header: Option<&str>) -> (u16, Value) {
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {
            "name": "up__where",
            "arguments": {"region": region},
            "_meta": {
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
                "io.modelcontextprotocol/protocolVersion": "2026-07-28"
            }
        }
    });
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", "up__where")
        .body(body.to_string());
    if let Some(h) = header {
        req = req.header("mcp-param-region", h);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    // One JSON body, or one SSE event carrying it.
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .unwrap_or(&text)
        .trim()
        .to_owned();
    (status, serde_json::from_str(&json).unwrap_or(Value::Null))
}

#[tokio::test]
async fn relayed_tools_have_their_param_headers_checked_and_set_upstream() {
    let up = serve(upstream()).await;
    let (gw, server) = Gateway::build(vec![UpstreamConfig::url("up", up)], "gw", "1.0.0");
    gw.refresh_all().await;
    let url = serve(server).await;

    // Matching header: relayed, and the gateway's own request to the upstream carries the header
    // too (the upstream checks it the same way, so a missing one would fail there).
    let (status, r) = call(&url, "eu-west", Some("eu-west")).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["result"]["content"][0]["text"], "region=eu-west", "{r}");

    // A header that disagrees with the argument, or none at all: refused by the gateway itself
    // with the header-mismatch error, as the upstream would.
    for header in [Some("us-east"), None] {
        let (status, r) = call(&url, "eu-west", header).await;
        assert_eq!(status, 400, "{header:?}: {r}");
        assert_eq!(r["error"]["code"], -32020, "{header:?}: {r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .unwrap()
                .to_ascii_lowercase()
                .contains("mcp-param-region"),
            "{r}"
        );
    }
}
