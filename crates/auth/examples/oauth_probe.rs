//! A minimal MCP client that exercises the OAuth client: it lists and calls tools on the MCP
//! server given as the last argument, answering `401`/`403` challenges with
//! [`OAuthClient::handle_challenge`].
//!
//! ```text
//! cargo build -p switchyard-auth --example oauth_probe
//! target/debug/examples/oauth_probe http://localhost:3000/mcp
//! ```
//!
//! It understands the conformance harness's environment (`MCP_CONFORMANCE_PROTOCOL_VERSION`
//! chooses the stateful 2025-11-25 or stateless 2026-07-28 wire; `MCP_CONFORMANCE_CONTEXT`
//! may carry pre-registered credentials) and allows loopback `http`, so it is for local
//! testing only.

use std::sync::Arc;

use serde_json::{json, Value};
use switchyard_auth::client::{
    AssertionSource, GrantType, HeadlessAuthorizer, MemoryTokenStore, OAuthClient, OAuthConfig,
    PreRegistered, SigningKey, SsrfPolicy,
};

const REDIRECT_URI: &str = "http://localhost:3000/callback";
const CIMD_URL: &str = "https://conformance-test.local/client-metadata.json";
const STATELESS: &str = "2026-07-28";

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Probe {
    http: reqwest::Client,
    oauth: OAuthClient,
    url: String,
    version: String,
    stateless: bool,
    session: Option<String>,
    next_id: u64,
}

fn meta(version: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "oauth-probe", "version": "0.1.0"},
    })
}

impl Probe {
    /// Sends one JSON-RPC message; returns the response for requests.
    async fn send(
        &mut self,
        method: &str,
        params: Option<Value>,
        notify: bool,
    ) -> Result<Option<Value>, Error> {
        let mut params = params;
        if self.stateless {
            let mut p = params.unwrap_or_else(|| json!({}));
            p["_meta"] = meta(&self.version);
            params = Some(p);
        }
        let mut step_ups = 0;
        for _attempt in 0..6 {
            let mut msg = json!({"jsonrpc": "2.0", "method": method});
            if let Some(p) = &params {
                msg["params"] = p.clone();
            }
            let id = self.next_id;
            if !notify {
                msg["id"] = id.into();
                self.next_id += 1;
            }
            let mut req = self
                .http
                .post(&self.url)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream");
            if method != "initialize" || self.stateless {
                req = req.header("MCP-Protocol-Version", &self.version);
            }
            if let Some(s) = &self.session {
                req = req.header("Mcp-Session-Id", s);
            }
            if self.stateless {
                req = req.header("Mcp-Method", method);
                if method == "tools/call" {
                    if let Some(n) = params.as_ref().and_then(|p| p["name"].as_str()) {
                        req = req.header("Mcp-Name", n);
                    }
                }
            }
            if let Some(t) = self.oauth.token_for(&self.url).await {
                req = req.bearer_auth(t);
            }
            let resp = req.body(msg.to_string()).send().await?;
            let status = resp.status().as_u16();
            if status == 401 || status == 403 {
                let www = resp
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                eprintln!("[probe] {method}: HTTP {status}, WWW-Authenticate: {www:?}");
                if status == 403 {
                    step_ups += 1;
                    if step_ups > 1 {
                        return Err("insufficient_scope persists after step-up".into());
                    }
                }
                self.oauth
                    .handle_challenge(&self.url, status, www.as_deref())
                    .await?;
                eprintln!("[probe] authorized");
                continue;
            }
            if let Some(sid) = resp
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
            {
                if method == "initialize" && !self.stateless {
                    self.session = Some(sid.to_owned());
                }
            }
            if notify {
                return Ok(None);
            }
            let is_sse = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|c| c.contains("text/event-stream"));
            let body = if is_sse {
                read_sse(resp, id).await?
            } else {
                let text = resp.text().await?;
                serde_json::from_str(&text)
                    .map_err(|e| format!("{method}: HTTP {status}: {e}: {text}"))?
            };
            if let Some(err) = body.get("error") {
                return Err(format!("{method}: {err}").into());
            }
            return Ok(body.get("result").cloned());
        }
        Err(format!("{method}: too many attempts").into())
    }
}

/// Reads SSE events until the JSON-RPC response with `id` arrives.
async fn read_sse(mut resp: reqwest::Response, id: u64) -> Result<Value, Error> {
    let mut buf = String::new();
    let mut data = String::new();
    while let Some(chunk) = resp.chunk().await? {
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(nl) = buf.find('\n') {
            let line = buf[..nl].trim_end_matches('\r').to_owned();
            buf.drain(..=nl);
            if line.is_empty() {
                if !data.trim().is_empty() {
                    let v: Value = serde_json::from_str(&data)?;
                    if v.get("id").and_then(Value::as_u64) == Some(id) && v.get("method").is_none()
                    {
                        return Ok(v);
                    }
                }
                data.clear();
            } else if let Some(d) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(d.strip_prefix(' ').unwrap_or(d));
            }
        }
    }
    Err("SSE stream ended without a response".into())
}

async fn run() -> Result<(), Error> {
    let url = std::env::args()
        .next_back()
        .ok_or("usage: oauth_probe <mcp-url>")?;
    let version =
        std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").unwrap_or_else(|_| "2025-11-25".into());
    let ctx: Value = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok())
        .unwrap_or(Value::Null);
    let mut cfg = OAuthConfig::new(
        "oauth-probe",
        REDIRECT_URI,
        Arc::new(MemoryTokenStore::new()),
        Arc::new(HeadlessAuthorizer),
    )
    .with_ssrf(SsrfPolicy::danger_allow_loopback_http())
    .with_client_id_metadata_url(CIMD_URL);
    if let (Some(id), Some(name)) = (ctx["client_id"].as_str(), ctx["name"].as_str()) {
        if name == "auth/client-credentials-basic" {
            cfg = cfg
                .with_pre_registered(PreRegistered {
                    client_id: id.to_owned(),
                    client_secret: ctx["client_secret"].as_str().map(str::to_owned),
                    issuer: None,
                })
                .with_grant(GrantType::ClientCredentials);
        }
        if name == "auth/client-credentials-jwt" {
            if let Some(pem) = ctx["private_key_pem"].as_str() {
                cfg = cfg
                    .with_pre_registered(PreRegistered {
                        client_id: id.to_owned(),
                        client_secret: None,
                        issuer: None,
                    })
                    .with_signing_key(SigningKey::es256_pem(pem)?)
                    .with_grant(GrantType::ClientCredentials);
            }
        }
        if name == "auth/wif-jwt-bearer" {
            if let Some(jwt) = ctx["valid_jwt"].as_str() {
                cfg = cfg
                    .with_pre_registered(PreRegistered {
                        client_id: id.to_owned(),
                        client_secret: None,
                        issuer: None,
                    })
                    .with_assertion(AssertionSource::Jwt(jwt.to_owned()))
                    .with_grant(GrantType::JwtBearer);
            }
        }
        if name == "auth/enterprise-managed-authorization" {
            let s = |k: &str| ctx[k].as_str().map(str::to_owned);
            if let (Some(ep), Some(idp_id), Some(tok)) = (
                s("idp_token_endpoint"),
                s("idp_client_id"),
                s("idp_id_token"),
            ) {
                cfg = cfg
                    .with_pre_registered(PreRegistered {
                        client_id: id.to_owned(),
                        client_secret: s("client_secret"),
                        issuer: None,
                    })
                    .with_assertion(AssertionSource::IdJag {
                        idp_token_endpoint: ep,
                        idp_client_id: idp_id,
                        id_token: tok,
                    })
                    .with_grant(GrantType::JwtBearer);
            }
        }
        if name == "auth/pre-registration" {
            cfg = cfg.with_pre_registered(PreRegistered {
                client_id: id.to_owned(),
                client_secret: ctx["client_secret"].as_str().map(str::to_owned),
                issuer: ctx["issuer"].as_str().map(str::to_owned),
            });
        }
    }
    let mut p = Probe {
        http: reqwest::Client::new(),
        oauth: OAuthClient::new(cfg)?,
        url,
        stateless: version == STATELESS,
        version,
        session: None,
        next_id: 1,
    };
    if !p.stateless {
        let init = p
            .send(
                "initialize",
                Some(json!({
                    "protocolVersion": p.version,
                    "capabilities": {},
                    "clientInfo": {"name": "oauth-probe", "version": "0.1.0"},
                })),
                false,
            )
            .await?
            .ok_or("initialize: no result")?;
        if let Some(v) = init["protocolVersion"].as_str() {
            p.version = v.to_owned();
        }
        p.send("notifications/initialized", None, true).await?;
    }
    let tools = p.send("tools/list", None, false).await?;
    println!("tools/list: {}", tools.unwrap_or(Value::Null));
    let call = p
        .send(
            "tools/call",
            Some(json!({"name": "test-tool", "arguments": {}})),
            false,
        )
        .await?;
    println!("tools/call: {}", call.unwrap_or(Value::Null));
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("[probe] error: {e}");
        std::process::exit(1);
    }
}
