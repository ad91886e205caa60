//! The client the official MCP conformance suite drives:
//! `conformance client --command target/release/examples/conformance_client …`.
//! The server URL is the last argument; `MCP_CONFORMANCE_SCENARIO`,
//! `MCP_CONFORMANCE_PROTOCOL_VERSION` and `MCP_CONFORMANCE_CONTEXT` say what to do.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use switchyard_client::handler::form_defaults;
use switchyard_client::{
    BoxFuture, Client, ClientError, ClientHandler, ClientOptions, ProtocolPreference,
    RequestOptions,
};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::types::{ClientCapabilities, Implementation};

struct Handler;

impl ClientHandler for Handler {
    fn create_message(&self, _params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(async {
            Ok(
                json!({"role":"assistant","content":{"type":"text","text":"This is a response from the Switchyard conformance client"},"model":"switchyard-conformance","stopReason":"endTurn"}),
            )
        })
    }
    fn elicit(&self, params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(async move {
            let schema = params
                .get("requestedSchema")
                .cloned()
                .unwrap_or(Value::Null);
            let mut content = form_defaults(&schema);
            // Fill fields without defaults so an "accept" carries every required value.
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (k, s) in props {
                    content.entry(k.clone()).or_insert_with(|| sample_value(s));
                }
            }
            Ok(json!({"action": "accept", "content": content}))
        })
    }
    fn list_roots(&self) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(async {
            Ok(json!({"roots": [{"uri": "file:///tmp/conformance", "name": "Conformance root"}]}))
        })
    }
}

fn sample_value(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
    {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("integer") => json!(1),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        Some("array") => json!([]),
        Some("object") => json!({}),
        _ => json!("test"),
    }
}

fn synth_args(tool: &Value) -> Value {
    let mut args = Map::new();
    let schema = tool.get("inputSchema").cloned().unwrap_or(Value::Null);
    let required: Vec<String> = schema
        .get("required")
        .and_then(|r| serde_json::from_value(r.clone()).ok())
        .unwrap_or_default();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (k, s) in props {
            if required.contains(k) {
                args.insert(k.clone(), sample_value(s));
            }
        }
    }
    Value::Object(args)
}

async fn run() -> Result<(), ClientError> {
    let url = std::env::args()
        .next_back()
        .ok_or_else(|| ClientError::Usage("usage: conformance_client <url>".into()))?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let version =
        std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").unwrap_or_else(|_| "2025-11-25".into());
    let context: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or(Value::Null);
    let caps: ClientCapabilities =
        serde_json::from_value(json!({"elicitation": {}, "sampling": {}, "roots": {}}))
            .unwrap_or_default();
    let opts = ClientOptions {
        client_info: Implementation::new(
            "switchyard-conformance-client",
            env!("CARGO_PKG_VERSION"),
        ),
        capabilities: caps,
        protocol: if version == "2026-07-28" {
            ProtocolPreference::Modern
        } else {
            ProtocolPreference::Legacy(version.clone())
        },
        request_timeout: Duration::from_secs(25),
        handler: Arc::new(Handler),
        auth: auth::provider(&scenario, &context),
        open_get_stream: scenario.starts_with("elicitation"),
        ..ClientOptions::default()
    };
    let client = Client::connect_http(&url, opts).await?;
    let ro = RequestOptions::default();
    let result = drive(&client, &scenario, &context, &ro).await;
    client.close().await;
    result
}

async fn drive(
    client: &Client,
    scenario: &str,
    context: &Value,
    ro: &RequestOptions,
) -> Result<(), ClientError> {
    match scenario {
        "initialize" | "json-schema-ref-no-deref" => {
            client.list_tools().await?;
        }
        "request-metadata" => {
            client.request("server/discover", None, ro).await?;
            client.list_tools().await?;
        }
        "tools_call" => {
            client.list_tools().await?;
            client
                .call_tool("add_numbers", json!({"a": 2, "b": 3}), ro)
                .await?;
        }
        "sse-retry" => {
            client.call_tool("test_reconnection", json!({}), ro).await?;
        }
        s if s.starts_with("elicitation") => {
            let tools = client.list_tools().await?;
            let name = tools
                .iter()
                .filter_map(|t| t["name"].as_str())
                .find(|n| n.contains("elicitation"))
                .unwrap_or("test_client_elicitation_defaults")
                .to_owned();
            client.call_tool(&name, json!({}), ro).await?;
        }
        "json-schema-2020-12-preservation" => {
            let tools = client.list_tools().await?;
            let schema = tools
                .iter()
                .find(|t| t["name"] == "json_schema_2020_12_tool")
                .map(|t| t["inputSchema"].clone())
                .ok_or_else(|| ClientError::Usage("json_schema_2020_12_tool not listed".into()))?;
            client
                .call_tool("json_schema_echo", json!({"schema": schema}), ro)
                .await?;
        }
        "http-custom-headers" => {
            client.list_tools().await?;
            for call in context["toolCalls"].as_array().cloned().unwrap_or_default() {
                let name = call["name"].as_str().unwrap_or_default().to_owned();
                client
                    .call_tool(&name, call["arguments"].clone(), ro)
                    .await?;
            }
        }
        s if s.starts_with("auth/") => {
            client.list_tools().await?;
            client.call_tool("test-tool", json!({}), ro).await?;
        }
        _ => {
            let tools = client.list_tools().await?;
            for t in &tools {
                let name = t["name"].as_str().unwrap_or_default();
                if let Err(e) = client.call_tool(name, synth_args(t), ro).await {
                    eprintln!("tools/call {name}: {e}");
                }
            }
            if scenario == "http-standard-headers" {
                for r in client.list_resources().await.unwrap_or_default() {
                    if let Some(uri) = r["uri"].as_str() {
                        let _ = client.read_resource(uri).await;
                    }
                }
                for p in client.list_prompts().await.unwrap_or_default() {
                    if let Some(name) = p["name"].as_str() {
                        let _ = client
                            .get_prompt(name, Some(synth_args(&json!({"inputSchema": {}}))))
                            .await;
                    }
                }
            }
        }
    }
    Ok(())
}

mod auth {
    use std::sync::Arc;

    use serde_json::Value;
    use switchyard_auth::client::{
        AssertionSource, GrantType, HeadlessAuthorizer, MemoryTokenStore, OAuthClient, OAuthConfig,
        PreRegistered, SigningKey, SsrfPolicy,
    };
    use switchyard_client::{AuthProvider, OAuth};

    /// Where the suite's authorization server redirects; nobody listens there, the headless
    /// authorizer reads the redirect instead of following it.
    const REDIRECT_URI: &str = "http://localhost:3000/callback";
    /// The client ID metadata document URL the suite expects.
    const CIMD_URL: &str = "https://conformance-test.local/client-metadata.json";

    /// The OAuth provider for `auth/*` scenarios (none otherwise).
    pub(super) fn provider(scenario: &str, context: &Value) -> Option<Arc<dyn AuthProvider>> {
        if !scenario.starts_with("auth/") {
            return None;
        }
        // The suite's servers are http://localhost; production configs keep the strict policy.
        let mut cfg = OAuthConfig::new(
            "Switchyard conformance client",
            REDIRECT_URI,
            Arc::new(MemoryTokenStore::new()),
            Arc::new(HeadlessAuthorizer),
        )
        .with_ssrf(SsrfPolicy::danger_allow_loopback_http())
        .with_client_id_metadata_url(CIMD_URL);
        let s = |k: &str| context.get(k).and_then(Value::as_str).map(str::to_owned);
        if let Some(id) = s("client_id") {
            let pre = |secret: Option<String>, issuer: Option<String>| PreRegistered {
                client_id: id.clone(),
                client_secret: secret,
                issuer,
            };
            cfg = match scenario {
                "auth/pre-registration" => {
                    cfg.with_pre_registered(pre(s("client_secret"), s("issuer")))
                }
                // Machine-to-machine: no user, so no authorization-code flow.
                "auth/client-credentials-basic" => cfg
                    .with_pre_registered(pre(s("client_secret"), None))
                    .with_grant(GrantType::ClientCredentials),
                "auth/client-credentials-jwt" => {
                    match s("private_key_pem").map(|pem| SigningKey::es256_pem(&pem)) {
                        Some(Ok(key)) => cfg
                            .with_pre_registered(pre(None, None))
                            .with_signing_key(key)
                            .with_grant(GrantType::ClientCredentials),
                        _ => cfg,
                    }
                }
                "auth/wif-jwt-bearer" => match s("valid_jwt") {
                    Some(jwt) => cfg
                        .with_pre_registered(pre(None, None))
                        .with_assertion(AssertionSource::Jwt(jwt))
                        .with_grant(GrantType::JwtBearer),
                    None => cfg,
                },
                "auth/enterprise-managed-authorization" => {
                    match (
                        s("idp_token_endpoint"),
                        s("idp_client_id"),
                        s("idp_id_token"),
                    ) {
                        (Some(ep), Some(idp), Some(tok)) => cfg
                            .with_pre_registered(pre(s("client_secret"), None))
                            .with_assertion(AssertionSource::IdJag {
                                idp_token_endpoint: ep,
                                idp_client_id: idp,
                                id_token: tok,
                            })
                            .with_grant(GrantType::JwtBearer),
                        _ => cfg,
                    }
                }
                _ => cfg,
            };
        }
        OAuthClient::new(cfg)
            .ok()
            .map(|c| Arc::new(OAuth(c)) as Arc<dyn AuthProvider>)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance_client: {e}");
            ExitCode::FAILURE
        }
    }
}
