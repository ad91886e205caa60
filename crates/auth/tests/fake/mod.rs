//! A fake authorization server and MCP resource server (both axum, on 127.0.0.1:0) that
//! record every request, for black-box tests of the OAuth client.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

pub(crate) fn parse_form(s: &str) -> HashMap<String, String> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

/// Which well-known document(s) the AS serves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum MetadataAt {
    /// `/.well-known/oauth-authorization-server{path}`
    OAuthInserted,
    /// `/.well-known/openid-configuration{path}`
    OidcInserted,
    /// `{path}/.well-known/openid-configuration`
    OidcAppended,
}

/// What the AS puts in `iss` on the redirect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum IssMode {
    Correct,
    Missing,
    Wrong,
    TrailingSlash,
}

#[derive(Clone, Debug)]
pub(crate) struct AsConfig {
    pub(crate) prefix: String,
    pub(crate) metadata_at: MetadataAt,
    pub(crate) issuer_override: Option<String>,
    pub(crate) iss: IssMode,
    pub(crate) advertise_iss: bool,
    pub(crate) pkce_methods: Option<Vec<String>>,
    pub(crate) registration: bool,
    pub(crate) auth_methods: Vec<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) cimd: bool,
    pub(crate) refresh_tokens: bool,
    pub(crate) expires_in: u64,
    /// Prefix of issued access tokens (lets the RS tell two ASs apart).
    pub(crate) token_prefix: String,
    pub(crate) client_id: String,
}

impl Default for AsConfig {
    fn default() -> Self {
        Self {
            prefix: String::new(),
            metadata_at: MetadataAt::OAuthInserted,
            issuer_override: None,
            iss: IssMode::Correct,
            advertise_iss: true,
            pkce_methods: Some(vec!["S256".into()]),
            registration: true,
            auth_methods: vec!["none".into()],
            scopes_supported: None,
            cimd: false,
            refresh_tokens: false,
            expires_in: 3600,
            token_prefix: "at".into(),
            client_id: "dcr-client".into(),
        }
    }
}

/// Everything the AS saw.
#[derive(Default, Debug)]
pub(crate) struct AsLog {
    pub(crate) paths: Vec<String>,
    pub(crate) registrations: Vec<Value>,
    pub(crate) authorizations: Vec<HashMap<String, String>>,
    /// (form, Authorization header)
    pub(crate) token_requests: Vec<(HashMap<String, String>, Option<String>)>,
    pub(crate) issued_refresh: Vec<String>,
}

pub(crate) struct FakeAs {
    pub(crate) base: String,
    pub(crate) cfg: AsConfig,
    pub(crate) log: Mutex<AsLog>,
    pub(crate) valid_tokens: Arc<Mutex<Vec<String>>>,
    counter: Mutex<u64>,
}

impl FakeAs {
    pub(crate) fn issuer(&self) -> String {
        format!("{}{}", self.base, self.cfg.prefix)
    }

    fn metadata(&self) -> Value {
        let iss = self.issuer();
        let mut m = json!({
            "issuer": self.cfg.issuer_override.clone().unwrap_or_else(|| iss.clone()),
            "authorization_endpoint": format!("{iss}/authorize"),
            "token_endpoint": format!("{iss}/token"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_methods_supported": self.cfg.auth_methods,
        });
        if self.cfg.registration {
            m["registration_endpoint"] = format!("{iss}/register").into();
        }
        if let Some(p) = &self.cfg.pkce_methods {
            m["code_challenge_methods_supported"] = json!(p);
        }
        if self.cfg.advertise_iss {
            m["authorization_response_iss_parameter_supported"] = true.into();
        }
        if let Some(s) = &self.cfg.scopes_supported {
            m["scopes_supported"] = json!(s);
        }
        if self.cfg.cimd {
            m["client_id_metadata_document_supported"] = true.into();
        }
        m
    }

    fn next(&self) -> u64 {
        let mut c = self.counter.lock().unwrap();
        *c += 1;
        *c
    }

    pub(crate) fn log(&self) -> std::sync::MutexGuard<'_, AsLog> {
        self.log.lock().unwrap()
    }
}

async fn as_get(State(s): State<Arc<FakeAs>>, uri: Uri, RawQuery(q): RawQuery) -> Response {
    let path = uri.path().to_owned();
    s.log().paths.push(path.clone());
    let p = s.cfg.prefix.clone();
    let meta_path = match s.cfg.metadata_at {
        MetadataAt::OAuthInserted => format!("/.well-known/oauth-authorization-server{p}"),
        MetadataAt::OidcInserted => format!("/.well-known/openid-configuration{p}"),
        MetadataAt::OidcAppended => format!("{p}/.well-known/openid-configuration"),
    };
    if path == meta_path {
        return axum::Json(s.metadata()).into_response();
    }
    if path == format!("{p}/authorize") {
        let params = parse_form(q.as_deref().unwrap_or(""));
        s.log().authorizations.push(params.clone());
        let mut loc = url::Url::parse(&params["redirect_uri"]).unwrap();
        {
            let mut qp = loc.query_pairs_mut();
            qp.append_pair("code", &format!("code-{}", s.next()));
            if let Some(st) = params.get("state") {
                qp.append_pair("state", st);
            }
            match s.cfg.iss {
                IssMode::Correct => {
                    qp.append_pair("iss", &s.issuer());
                }
                IssMode::Missing => {}
                IssMode::Wrong => {
                    qp.append_pair("iss", "https://evil.example.com");
                }
                IssMode::TrailingSlash => {
                    qp.append_pair("iss", &format!("{}/", s.issuer()));
                }
            }
        }
        return (StatusCode::FOUND, [("location", loc.to_string())], "").into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

async fn as_post(
    State(s): State<Arc<FakeAs>>,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let path = uri.path().to_owned();
    s.log().paths.push(path.clone());
    let p = s.cfg.prefix.clone();
    if path == format!("{p}/register") && s.cfg.registration {
        let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
        s.log().registrations.push(req.clone());
        let method = req["token_endpoint_auth_method"]
            .as_str()
            .unwrap_or("none")
            .to_owned();
        let mut r = json!({
            "client_id": s.cfg.client_id,
            "redirect_uris": req["redirect_uris"],
            "token_endpoint_auth_method": method,
        });
        if method != "none" {
            r["client_secret"] = "dcr-secret".into();
        }
        return (StatusCode::CREATED, axum::Json(r)).into_response();
    }
    if path == format!("{p}/token") {
        let form = parse_form(&body);
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        s.log().token_requests.push((form.clone(), auth));
        let grant = form.get("grant_type").map(String::as_str);
        if grant == Some("refresh_token") {
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            if !s.log().issued_refresh.contains(&rt) {
                return (
                    StatusCode::BAD_REQUEST,
                    axum::Json(json!({"error": "invalid_grant"})),
                )
                    .into_response();
            }
        }
        let n = s.next();
        let at = format!("{}-{n}", s.cfg.token_prefix);
        s.valid_tokens.lock().unwrap().push(at.clone());
        let mut r =
            json!({"access_token": at, "token_type": "Bearer", "expires_in": s.cfg.expires_in});
        let scope = s
            .log()
            .authorizations
            .last()
            .and_then(|a| a.get("scope").cloned());
        if let Some(sc) = scope {
            r["scope"] = sc.into();
        }
        if s.cfg.refresh_tokens {
            let rt = format!("rt-{n}");
            s.log().issued_refresh.push(rt.clone());
            r["refresh_token"] = rt.into();
        }
        return axum::Json(r).into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

pub(crate) async fn spawn_as(cfg: AsConfig, valid_tokens: Arc<Mutex<Vec<String>>>) -> Arc<FakeAs> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let s = Arc::new(FakeAs {
        base,
        cfg,
        log: Mutex::default(),
        valid_tokens,
        counter: Mutex::new(0),
    });
    let app = Router::new()
        .fallback(get(as_get).post(as_post))
        .with_state(s.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    s
}

/// Where the RS serves its PRM.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PrmAt {
    PathInserted,
    Root,
    /// At `/custom/prm.json`, only discoverable through the challenge.
    Custom,
}

#[derive(Clone, Debug)]
pub(crate) struct RsConfig {
    pub(crate) prm_at: PrmAt,
    pub(crate) header_has_prm: bool,
    pub(crate) resource_override: Option<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    pub(crate) challenge_scope: Option<String>,
    /// Scopes a token must carry (checked against the last authorization's scope).
    pub(crate) required_scope: Option<String>,
    /// Answer every valid token with 403 insufficient_scope for `required_scope`.
    pub(crate) forbid_all: bool,
    /// Answer PRM requests with a 302 to this URL.
    pub(crate) prm_redirect: Option<String>,
    /// Answer PRM requests with a 2 MiB body.
    pub(crate) prm_huge: bool,
}

impl Default for RsConfig {
    fn default() -> Self {
        Self {
            prm_at: PrmAt::PathInserted,
            header_has_prm: true,
            resource_override: None,
            scopes_supported: None,
            challenge_scope: None,
            required_scope: None,
            forbid_all: false,
            prm_redirect: None,
            prm_huge: false,
        }
    }
}

pub(crate) struct FakeRs {
    pub(crate) base: String,
    pub(crate) cfg: RsConfig,
    pub(crate) auth_servers: Mutex<Vec<String>>,
    pub(crate) valid_tokens: Arc<Mutex<Vec<String>>>,
    /// token → granted scope string
    pub(crate) token_scopes: Arc<Mutex<HashMap<String, String>>>,
    pub(crate) prm_hits: Mutex<Vec<String>>,
}

impl FakeRs {
    pub(crate) fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }
    pub(crate) fn resource(&self) -> String {
        self.cfg
            .resource_override
            .clone()
            .unwrap_or_else(|| match self.cfg.prm_at {
                PrmAt::Root => self.base.clone(),
                _ => self.mcp_url(),
            })
    }
    fn prm_path(&self) -> &'static str {
        match self.cfg.prm_at {
            PrmAt::PathInserted => "/.well-known/oauth-protected-resource/mcp",
            PrmAt::Root => "/.well-known/oauth-protected-resource",
            PrmAt::Custom => "/custom/prm.json",
        }
    }
    fn challenge(&self, error: &str, scope: Option<&str>) -> String {
        let mut h = format!("Bearer error=\"{error}\"");
        if let Some(s) = scope {
            h.push_str(&format!(", scope=\"{s}\""));
        }
        if self.cfg.header_has_prm {
            h.push_str(&format!(
                ", resource_metadata=\"{}{}\"",
                self.base,
                self.prm_path()
            ));
        }
        h
    }
}

async fn rs_get(State(s): State<Arc<FakeRs>>, uri: Uri) -> Response {
    s.prm_hits.lock().unwrap().push(uri.path().to_owned());
    if uri.path() == s.prm_path() {
        if let Some(to) = &s.cfg.prm_redirect {
            return (StatusCode::FOUND, [("location", to.clone())], "").into_response();
        }
        if s.cfg.prm_huge {
            return format!("{{\"resource\":\"{}\"}}", "x".repeat(2 << 20)).into_response();
        }
        let mut m = json!({
            "resource": s.resource(),
            "authorization_servers": *s.auth_servers.lock().unwrap(),
        });
        if let Some(sc) = &s.cfg.scopes_supported {
            m["scopes_supported"] = json!(sc);
        }
        return axum::Json(m).into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

async fn rs_mcp(State(s): State<Arc<FakeRs>>, headers: HeaderMap) -> Response {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let valid = token
        .as_ref()
        .is_some_and(|t| s.valid_tokens.lock().unwrap().contains(t));
    if !valid {
        let h = s.challenge("invalid_token", s.cfg.challenge_scope.as_deref());
        return (StatusCode::UNAUTHORIZED, [("www-authenticate", h)], "").into_response();
    }
    if let (Some(req), Some(t)) = (&s.cfg.required_scope, &token) {
        let granted = s
            .token_scopes
            .lock()
            .unwrap()
            .get(t)
            .cloned()
            .unwrap_or_default();
        let has = !s.cfg.forbid_all && req.split(' ').all(|r| granted.split(' ').any(|g| g == r));
        if !has {
            let h = s.challenge("insufficient_scope", Some(req));
            return (StatusCode::FORBIDDEN, [("www-authenticate", h)], "").into_response();
        }
    }
    axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": {}})).into_response()
}

pub(crate) async fn spawn_rs(
    cfg: RsConfig,
    auth_server: String,
    valid_tokens: Arc<Mutex<Vec<String>>>,
) -> Arc<FakeRs> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let s = Arc::new(FakeRs {
        base,
        cfg,
        auth_servers: Mutex::new(vec![auth_server]),
        valid_tokens,
        token_scopes: Arc::default(),
        prm_hits: Mutex::default(),
    });
    let app = Router::new()
        .route("/mcp", post(rs_mcp))
        .fallback(get(rs_get))
        .with_state(s.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    s
}

/// An AS and an RS that trusts it.
pub(crate) struct Pair {
    pub(crate) as_: Arc<FakeAs>,
    pub(crate) rs: Arc<FakeRs>,
}

pub(crate) async fn spawn_pair(as_cfg: AsConfig, rs_cfg: RsConfig) -> Pair {
    let tokens: Arc<Mutex<Vec<String>>> = Arc::default();
    let as_ = spawn_as(as_cfg, tokens.clone()).await;
    let rs = spawn_rs(rs_cfg, as_.issuer(), tokens).await;
    Pair { as_, rs }
}

impl Pair {
    /// POSTs to the RS with `token`; returns (status, WWW-Authenticate).
    pub(crate) async fn call(&self, token: Option<&str>) -> (u16, Option<String>) {
        // Record the token's scope as the AS granted it (the last authorization's scope).
        if let Some(t) = token {
            let scope = self
                .as_
                .log()
                .authorizations
                .last()
                .and_then(|a| a.get("scope").cloned())
                .unwrap_or_default();
            self.rs
                .token_scopes
                .lock()
                .unwrap()
                .entry(t.to_owned())
                .or_insert(scope);
        }
        let mut req = reqwest::Client::new().post(self.rs.mcp_url()).body("{}");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.unwrap();
        let www = r
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), www)
    }
}
