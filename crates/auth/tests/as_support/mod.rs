//! Shared harness for the authorization-server tests: a real server on 127.0.0.1:0 over
//! SQLite (or PostgreSQL when `DATABASE_URL` is set), and a tiny cookie-keeping browser.
// Each test binary uses a different subset, and `pub` here means "shared with the tests".
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::header::{HeaderMap, COOKIE, LOCATION, SET_COOKIE};
use switchyard_auth::client::pkce::Pkce;
use switchyard_auth::client::SsrfPolicy;
use switchyard_auth::server::{
    add_user, register_static_client, AsConfig, AuthorizationServer, RateLimits, StaticClient,
};
use switchyard_store::{AuthStore, SqlStore};
use url::Url;

pub const RESOURCE: &str = "https://mcp.example.com/mcp";
pub const PUBLIC_CLIENT: &str = "public-client";
pub const CONFIDENTIAL_CLIENT: &str = "confidential-client";
pub const CONFIDENTIAL_SECRET: &str = "confidential-secret-value-0123456789";
pub const REDIRECT: &str = "https://app.example.com/callback";
pub const LOOPBACK_REDIRECT: &str = "http://127.0.0.1/callback";
pub const USER: &str = "alice";
pub const PASSWORD: &str = "correct horse battery";

pub struct Server {
    pub issuer: String,
    pub addr: SocketAddr,
    pub server: AuthorizationServer,
    pub store: Arc<dyn AuthStore>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }
}

/// SQLite in memory, or PostgreSQL when `DATABASE_URL` is set.
pub async fn default_store() -> Arc<dyn AuthStore> {
    match std::env::var("DATABASE_URL") {
        // A schema per server: tests share the database but not each other's rows.
        Ok(url) if !url.is_empty() => {
            let schema = unique("t").replace('-', "_");
            Arc::new(
                SqlStore::open_with_schema(&url, Some(&schema))
                    .await
                    .unwrap(),
            )
        }
        _ => {
            eprintln!("PostgreSQL run skipped: DATABASE_URL not set (this run uses SQLite)");
            Arc::new(SqlStore::open("sqlite::memory:").await.unwrap())
        }
    }
}

pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

#[derive(Default)]
pub struct Options {
    pub limits: RateLimits,
    pub path: &'static str,
    pub store: Option<Arc<dyn AuthStore>>,
    pub port: u16,
    /// Authorization-code lifetime override.
    pub code_ttl: Option<std::time::Duration>,
    /// A login step other than the built-in user store.
    pub identity: Option<Arc<dyn switchyard_auth::server::IdentityProvider>>,
}

pub async fn start() -> Server {
    start_with(Options::default()).await
}

pub async fn start_with(o: Options) -> Server {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", o.port))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let issuer = format!("http://{addr}{}", o.path);
    let store = match o.store {
        Some(s) => s,
        None => default_store().await,
    };
    seed(store.as_ref()).await;
    let cfg = AsConfig::new(&issuer)
        .with_resources(vec![
            RESOURCE.into(),
            "https://other.example.com/mcp".into(),
        ])
        .with_scopes(vec!["mcp:read".into(), "mcp:write".into(), "admin".into()])
        .with_limits(o.limits)
        .with_metadata_document_ssrf(SsrfPolicy::danger_allow_loopback_http());
    let mut cfg = cfg;
    if let Some(ttl) = o.code_ttl {
        cfg.code_ttl = ttl;
    }
    if let Some(identity) = o.identity {
        cfg = cfg.with_identity(identity);
    }
    let server = AuthorizationServer::new(cfg, store.clone()).await.unwrap();
    let app = server.router();
    let task = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });
    Server {
        issuer,
        addr,
        server,
        store,
        task,
    }
}

pub async fn seed(store: &dyn AuthStore) {
    register_static_client(
        store,
        StaticClient {
            client_id: PUBLIC_CLIENT.into(),
            client_name: "Public <Test> Client".into(),
            redirect_uris: vec![REDIRECT.into(), LOOPBACK_REDIRECT.into()],
            scope: Some("mcp:read mcp:write".into()),
            ..StaticClient::default()
        },
    )
    .await
    .unwrap();
    register_static_client(
        store,
        StaticClient {
            client_id: CONFIDENTIAL_CLIENT.into(),
            client_secret: Some(CONFIDENTIAL_SECRET.into()),
            client_name: "Confidential".into(),
            redirect_uris: vec![REDIRECT.into()],
            grant_types: vec![
                "authorization_code".into(),
                "refresh_token".into(),
                "client_credentials".into(),
            ],
            scope: None,
        },
    )
    .await
    .unwrap();
    if store.user(USER).await.unwrap().is_none() {
        add_user(store, USER, PASSWORD).await.unwrap();
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn location(&self) -> Option<Url> {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|s| Url::parse(s).ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// The value of a hidden form field.
    pub fn field(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }
}

/// A user agent that keeps cookies by name (ignoring attributes) and never follows redirects.
#[derive(Default)]
pub struct Browser {
    pub cookies: HashMap<String, String>,
    pub set_cookie_lines: Vec<String>,
    http: reqwest::Client,
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

impl Browser {
    pub fn new() -> Self {
        Self {
            http: http(),
            ..Self::default()
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for v in headers.get_all(SET_COOKIE) {
            let line = v.to_str().unwrap().to_owned();
            if let Some((k, rest)) = line.split(';').next().unwrap().split_once('=') {
                if rest.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_owned(), rest.to_owned());
                }
            }
            self.set_cookie_lines.push(line);
        }
        Resp {
            status,
            headers,
            body: r.text().await.unwrap(),
        }
    }

    pub async fn get(&mut self, url: &str) -> Resp {
        let r = self
            .http
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Resp {
        let r = self
            .http
            .post(url)
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.finish(r).await
    }
}

/// Authorization request parameters.
pub struct AuthReq<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub pkce: &'a Pkce,
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub state: &'a str,
}

impl<'a> AuthReq<'a> {
    pub fn new(client_id: &'a str, pkce: &'a Pkce) -> Self {
        Self {
            client_id,
            redirect_uri: REDIRECT,
            pkce,
            scope: Some("mcp:read"),
            resource: Some(RESOURCE),
            state: "state-123",
        }
    }

    pub fn url(&self, srv: &Server) -> String {
        let mut u = Url::parse(&srv.url("/authorize")).unwrap();
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("response_type", "code")
                .append_pair("client_id", self.client_id)
                .append_pair("redirect_uri", self.redirect_uri)
                .append_pair("code_challenge", self.pkce.challenge())
                .append_pair("code_challenge_method", "S256")
                .append_pair("state", self.state);
            if let Some(s) = self.scope {
                q.append_pair("scope", s);
            }
            if let Some(r) = self.resource {
                q.append_pair("resource", r);
            }
        }
        u.into()
    }
}

pub fn query(u: &Url, key: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Signs in on the login page the authorization request showed; returns the consent page.
pub async fn sign_in(b: &mut Browser, srv: &Server, login_page: &Resp) -> Resp {
    assert_eq!(login_page.status, 200, "{}", login_page.body);
    let req = login_page.field("req").unwrap();
    let csrf = login_page.field("csrf").unwrap();
    let r = b
        .post(
            &srv.url("/login"),
            &[
                ("req", &req),
                ("csrf", &csrf),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let next = r.location().unwrap();
    b.get(next.as_str()).await
}

/// Walks authorize → login → consent(approve) and returns the redirect back to the client.
pub async fn authorize(b: &mut Browser, srv: &Server, req: &AuthReq<'_>) -> Url {
    let first = b.get(&req.url(srv)).await;
    let consent = if first.field("password").is_some() || first.body.contains("Sign in") {
        sign_in(b, srv, &first).await
    } else {
        first
    };
    if consent.status == 302 || consent.status == 303 {
        return consent.location().unwrap();
    }
    assert_eq!(consent.status, 200, "{}", consent.body);
    let r = b
        .post(
            &srv.url("/consent"),
            &[
                ("req", &consent.field("req").unwrap()),
                ("csrf", &consent.field("csrf").unwrap()),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    r.location().unwrap()
}

/// A code for the public client.
pub async fn code_for(srv: &Server, pkce: &Pkce) -> String {
    let mut b = Browser::new();
    let back = authorize(&mut b, srv, &AuthReq::new(PUBLIC_CLIENT, pkce)).await;
    query(&back, "code").unwrap()
}

/// POSTs a token request as the public client (or with `extra` credentials).
pub async fn token(srv: &Server, form: &[(&str, &str)]) -> Resp {
    let r = http()
        .post(srv.url("/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Resp {
        status,
        headers,
        body: r.text().await.unwrap(),
    }
}

/// Exchanges a code for tokens as the public client.
pub async fn redeem(srv: &Server, code: &str, pkce: &Pkce) -> Resp {
    token(
        srv,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", pkce.verifier()),
            ("resource", RESOURCE),
        ],
    )
    .await
}

/// POSTs a form with Basic client credentials.
pub async fn post_basic(
    srv: &Server,
    path: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> Resp {
    let r = http()
        .post(srv.url(path))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    Resp {
        status,
        headers,
        body: r.text().await.unwrap(),
    }
}

/// Introspects a token as the confidential client; returns `active`.
pub async fn active(srv: &Server, token: &str) -> bool {
    let r = post_basic(
        srv,
        "/introspect",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[("token", token)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["active"] == true
}

/// Decodes a JWT's header and payload without verifying.
pub fn jwt_parts(token: &str) -> (serde_json::Value, serde_json::Value) {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let mut it = token.split('.');
    let h = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    let p = URL_SAFE_NO_PAD.decode(it.next().unwrap()).unwrap();
    (
        serde_json::from_slice(&h).unwrap(),
        serde_json::from_slice(&p).unwrap(),
    )
}

/// Asserts a JSON OAuth error.
#[track_caller]
pub fn assert_oauth_error(r: &Resp, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error"], error, "{}", r.body);
}
