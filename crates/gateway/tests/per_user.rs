//! Per-user OAuth (`oauth_per_user`) with real parts on 127.0.0.1: an upstream MCP server
//! protected by a built-in authorization server (its own users), a gateway whose browser
//! pages sit next to the gateway's own built-in authorization server (whose login session
//! identifies the user in the browser), and a cookie-keeping HTTP client that walks the
//! connect page, the upstream's login and consent forms and the callback.
//!
//! Stand-in: the gateway's MCP endpoint takes the caller's subject from an `x-test-subject`
//! header instead of a verified bearer token (the bearer layer → `Caller` mapping of
//! `switchyard serve` is covered by its own tests); everything else is the product.
#![allow(clippy::unwrap_used)] // Test code: a panic is the failure report.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use switchyard_auth::client::pkce::Pkce;
use switchyard_auth::client::SsrfPolicy;
use switchyard_auth::resource::{
    protected_resource_metadata_router, BearerLayer, JwksSource, Principal, ResourceConfig,
};
use switchyard_auth::server::{
    add_user, register_static_client, AsConfig, AuthorizationServer, StaticClient,
};
use switchyard_client::{Client, ClientError, ClientOptions, RequestOptions};
use switchyard_gateway::{
    BrowserIdentity, Caller, Gateway, OAuthPerUser, PerUserError, PerUserOptions, SealedTokenStore,
    UpstreamConfig, UpstreamTarget,
};
use switchyard_server::{HttpConfig, McpService, NoArgs, RequestContext, Server, ToolDef};
use switchyard_store::SqlStore;

const PASSWORD: &str = "correct horse battery";

async fn listen() -> (tokio::net::TcpListener, SocketAddr) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

fn spawn(l: tokio::net::TcpListener, app: axum::Router) {
    tokio::spawn(async move {
        let _ = axum::serve(l, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
}

async fn auth_server(
    issuer: &str,
    resource: &str,
    users: &[&str],
    token_ttl: Option<std::time::Duration>,
) -> (AuthorizationServer, Arc<SqlStore>) {
    let store = Arc::new(SqlStore::open("sqlite::memory:").await.unwrap());
    for u in users {
        add_user(store.as_ref(), u, PASSWORD).await.unwrap();
    }
    let mut cfg = AsConfig::new(issuer)
        .with_resources(vec![resource.to_owned()])
        .with_scopes(vec!["mcp:read".into()]);
    if let Some(t) = token_ttl {
        cfg.access_token_ttl = t;
    }
    (
        AuthorizationServer::new(cfg, store.clone()).await.unwrap(),
        store,
    )
}

/// The upstream: one tool that answers with the subject of the token it was called with.
async fn start_upstream() -> String {
    start_upstream_with(None, Arc::default(), Arc::default()).await
}

/// The upstream with its access-token lifetime, and a switch that makes its MCP endpoint
/// refuse every token (as when a user revokes the grant at the upstream).
async fn start_upstream_with(
    token_ttl: Option<std::time::Duration>,
    refuse: Arc<std::sync::atomic::AtomicBool>,
    registrations: Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    let (l, addr) = listen().await;
    let issuer = format!("http://{addr}");
    let resource = format!("{issuer}/mcp");
    let (authz, _) = auth_server(&issuer, &resource, &["alice", "bob"], token_ttl).await;
    let server = Server::builder("upstream", "1.0.0")
        .tool(ToolDef::new(
            "whoami",
            "The subject of the caller's token",
            |_: NoArgs, ctx: RequestContext| async move {
                ctx.extensions()
                    .get::<Principal>()
                    .map(|p| format!("upstream sees {}", p.subject))
                    .unwrap_or_else(|| "anonymous".into())
            },
        ))
        .build();
    let mut rc = ResourceConfig::new(
        resource.clone(),
        issuer.clone(),
        JwksSource::Provider(Arc::new(authz.clone())),
    );
    rc.scopes_supported = vec!["mcp:read".into()];
    // Expired means expired: the refresh path is what keeps calls working.
    rc.leeway = std::time::Duration::ZERO;
    let layer = BearerLayer::new(rc.clone()).unwrap();
    let svc = McpService::new(server, HttpConfig::default());
    let refusing = move |req: axum::extract::Request, next: axum::middleware::Next| {
        let refuse = refuse.clone();
        async move {
            if refuse.load(std::sync::atomic::Ordering::SeqCst) {
                return axum::response::IntoResponse::into_response((
                    axum::http::StatusCode::UNAUTHORIZED,
                    [("www-authenticate", "Bearer error=\"invalid_token\"")],
                ));
            }
            next.run(req).await
        }
    };
    let app = axum::Router::new()
        .route_service(
            "/mcp",
            tower::Layer::layer(
                &axum::middleware::from_fn(refusing),
                tower::Layer::layer(&layer, svc),
            ),
        )
        .merge(protected_resource_metadata_router(&rc))
        .merge(authz.router())
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                if req.uri().path() == "/register" {
                    registrations.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
                next.run(req)
            },
        ));
    spawn(l, app);
    resource
}

/// The gateway's own AS login session tells the connect pages who is in the browser.
struct AsSession(AuthorizationServer);

impl BrowserIdentity for AsSession {
    fn subject(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        self.0.session_user(headers)
    }
}

/// Sealed blobs in switchyard-store, as `switchyard serve` keeps them.
struct Sql(Arc<SqlStore>);

impl SealedTokenStore for Sql {
    fn load<'a>(
        &'a self,
        subject: &'a str,
        upstream: &'a str,
    ) -> switchyard_gateway::per_user::StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            self.0
                .upstream_token(subject, upstream)
                .await
                .map_err(|e| PerUserError::Store(e.to_string()))
        })
    }
    fn save<'a>(
        &'a self,
        subject: &'a str,
        upstream: &'a str,
        sealed: &'a str,
    ) -> switchyard_gateway::per_user::StoreFuture<'a, ()> {
        Box::pin(async move {
            self.0
                .put_upstream_token(subject, upstream, sealed)
                .await
                .map_err(|e| PerUserError::Store(e.to_string()))
        })
    }
}

struct Gw {
    base: String,
    store: Arc<SqlStore>,
    gateway: Arc<Gateway>,
    upstream: UpstreamConfig,
}

const GW_CLIENT: &str = "gw-test-client";
const GW_REDIRECT: &str = "http://127.0.0.1/cb";

async fn start_gateway(upstream_url: &str) -> Gw {
    let (l, addr) = listen().await;
    let base = format!("http://{addr}");
    let (authz, store) = auth_server(&base, &format!("{base}/mcp"), &["alice", "bob"], None).await;
    register_static_client(
        store.as_ref(),
        StaticClient {
            client_id: GW_CLIENT.into(),
            client_name: "Gateway test client".into(),
            redirect_uris: vec![GW_REDIRECT.into()],
            ..StaticClient::default()
        },
    )
    .await
    .unwrap();
    let mut up = UpstreamConfig::url("up", upstream_url);
    if let UpstreamTarget::Url { oauth_per_user, .. } = &mut up.target {
        *oauth_per_user = Some(OAuthPerUser::default());
    }
    up.validate().unwrap();
    let (gw, server) = Gateway::build(vec![up.clone()], "gw", "1.0.0");
    gw.enable_per_user(PerUserOptions {
        public_url: base.clone(),
        secret: b"a server secret of at least thirty-two bytes".to_vec(),
        store: Arc::new(Sql(store.clone())),
        browser: Arc::new(AsSession(authz.clone())),
        ssrf: SsrfPolicy::danger_allow_loopback_http(),
    })
    .unwrap();
    gw.refresh_all().await;
    let svc = McpService::new(server, HttpConfig::default());
    let with_caller = |mut req: axum::http::Request<axum::body::Body>| {
        if let Some(s) = req
            .headers()
            .get("x-test-subject")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
        {
            req.extensions_mut().insert(Caller::new(s, vec![]));
        }
        req
    };
    let app = axum::Router::new()
        .route_service("/mcp", tower::util::MapRequest::new(svc, with_caller))
        .merge(gw.connect_router())
        .merge(authz.router());
    spawn(l, app);
    Gw {
        base,
        store,
        gateway: gw,
        upstream: up,
    }
}

async fn mcp_client(gw: &Gw, subject: &str) -> Client {
    Client::connect_http(
        &format!("{}/mcp", gw.base),
        ClientOptions {
            headers: vec![("x-test-subject".into(), subject.into())],
            ..ClientOptions::default()
        },
    )
    .await
    .unwrap()
}

/// Calls a tool; the `-32042` URL on refusal.
async fn call(c: &Client, tool: &str) -> Result<String, String> {
    match c
        .call_tool(tool, serde_json::json!({}), &RequestOptions::default())
        .await
    {
        Ok(r) => Ok(r["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned()),
        Err(ClientError::Rpc(e)) => {
            assert_eq!(e.code.0, -32042, "{}", e.message);
            let el = &e.data.as_ref().unwrap()["elicitations"][0];
            assert_eq!(el["mode"], "url");
            assert!(el["elicitationId"].as_str().is_some());
            Err(el["url"].as_str().unwrap().to_owned())
        }
        Err(e) => panic!("{tool}: {e}"),
    }
}

/// A user agent with a cookie jar per host and port (the two servers share 127.0.0.1 and
/// the same cookie names), never following redirects.
#[derive(Default)]
struct Browser {
    jar: HashMap<String, HashMap<String, String>>,
    http: reqwest::Client,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Page {
    fn field(&self, name: &str) -> Option<String> {
        let needle = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&needle)? + needle.len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_owned())
    }
}

impl Browser {
    fn new() -> Self {
        Self {
            jar: HashMap::new(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn origin(url: &str) -> String {
        let u = url::Url::parse(url).unwrap();
        format!(
            "{}:{}",
            u.host_str().unwrap(),
            u.port_or_known_default().unwrap()
        )
    }

    async fn send(&mut self, url: &str, form: Option<&[(&str, &str)]>) -> Page {
        let origin = Self::origin(url);
        let cookies = self
            .jar
            .get(&origin)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_default();
        let req = match form {
            Some(f) => self.http.post(url).form(f),
            None => self.http.get(url),
        };
        let r = req.header("cookie", cookies).send().await.unwrap();
        let jar = self.jar.entry(origin).or_default();
        for v in r.headers().get_all("set-cookie") {
            let line = v.to_str().unwrap();
            if let Some((k, val)) = line.split(';').next().unwrap().split_once('=') {
                if val.is_empty() {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_owned(), val.to_owned());
                }
            }
        }
        let status = r.status().as_u16();
        let location = r.headers().get("location").map(|l| {
            url::Url::parse(url)
                .unwrap()
                .join(l.to_str().unwrap())
                .unwrap()
                .to_string()
        });
        Page {
            status,
            location,
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        self.send(url, None).await
    }

    /// On a login page: signs in; returns the page after the login redirect.
    async fn sign_in(&mut self, base: &str, login: &Page, user: &str) -> Page {
        assert_eq!(login.status, 200, "{}", login.body);
        let r = self
            .send(
                &format!("{base}/login"),
                Some(&[
                    ("req", &login.field("req").unwrap()),
                    ("csrf", &login.field("csrf").unwrap()),
                    ("username", user),
                    ("password", PASSWORD),
                ]),
            )
            .await;
        assert_eq!(r.status, 303, "{}", r.body);
        self.get(&r.location.unwrap()).await
    }

    /// Signs in at the gateway's own AS (as an MCP client's authorization would).
    async fn sign_in_at_gateway(&mut self, gw: &Gw, user: &str) {
        let pkce = Pkce::generate();
        let mut u = url::Url::parse(&format!("{}/authorize", gw.base)).unwrap();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", GW_CLIENT)
            .append_pair("redirect_uri", GW_REDIRECT)
            .append_pair("code_challenge", pkce.challenge())
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "s")
            .append_pair("resource", &format!("{}/mcp", gw.base));
        let login = self.get(u.as_str()).await;
        self.sign_in(&gw.base, &login, user).await;
    }

    /// Follows the connect URL through the upstream's login and consent to the callback's
    /// page; signs in at the upstream as `upstream_user`.
    async fn connect(&mut self, url: &str, upstream_user: &str) -> Page {
        let r = self.get(url).await;
        if r.status != 302 {
            return r;
        }
        let authorize = r.location.unwrap();
        let as_base = {
            let u = url::Url::parse(&authorize).unwrap();
            format!("http://{}", Self::origin(u.as_str()))
        };
        let first = self.get(&authorize).await;
        // A browser already signed in at the upstream skips its login page.
        let consent = if first.field("password").is_some() || first.body.contains("Sign in") {
            self.sign_in(&as_base, &first, upstream_user).await
        } else {
            first
        };
        let back = if consent.status == 200 {
            let r = self
                .send(
                    &format!("{as_base}/consent"),
                    Some(&[
                        ("req", &consent.field("req").unwrap()),
                        ("csrf", &consent.field("csrf").unwrap()),
                        ("decision", "approve"),
                    ]),
                )
                .await;
            assert_eq!(r.status, 303, "{}", r.body);
            r.location.unwrap()
        } else {
            consent.location.unwrap()
        };
        assert!(back.contains("/connect/callback"), "{back}");
        self.get(&back).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_authorizes_the_gateway_once_and_calls_carry_their_own_token() {
    let registrations = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let upstream = start_upstream_with(None, Arc::default(), registrations.clone()).await;
    let gw = start_gateway(&upstream).await;
    let alice = mcp_client(&gw, "alice").await;
    let bob = mcp_client(&gw, "bob").await;

    // Nobody has connected the upstream: it lists one tool that leads to connecting.
    let names = |tools: Vec<Value>| -> Vec<String> {
        tools
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(alice.list_tools().await.unwrap()), ["up__connect"]);
    let url = call(&alice, "up__connect").await.unwrap_err();
    assert!(
        url.starts_with(&format!("{}/connect/up?request=", gw.base)),
        "{url}"
    );

    // Without a gateway session in the browser the page asks to sign in, and the link stays
    // usable.
    let mut browser = Browser::new();
    let r = browser.get(&url).await;
    assert_eq!(r.status, 401, "{}", r.body);

    // Alice's link opened in Bob's signed-in browser is refused and spent.
    let mut bobs_browser = Browser::new();
    bobs_browser.sign_in_at_gateway(&gw, "bob").await;
    let r = bobs_browser.connect(&url, "bob").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = browser.get(&url).await;
    assert_eq!(r.status, 400, "a refused link is spent: {}", r.body);

    // Alice, signed in at the gateway, connects her upstream account (as alice upstream).
    let url = call(&alice, "up__connect").await.unwrap_err();
    browser.sign_in_at_gateway(&gw, "alice").await;
    let done = browser.connect(&url, "alice").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("close this window"), "{}", done.body);
    // The same link does not work twice.
    assert_eq!(browser.get(&url).await.status, 400);

    // The catalog now comes from the upstream, and Alice's calls carry her own token.
    assert_eq!(names(alice.list_tools().await.unwrap()), ["up__whoami"]);
    assert_eq!(
        call(&alice, "up__whoami").await.unwrap(),
        "upstream sees alice"
    );
    assert_eq!(
        call(&alice, "up__whoami").await.unwrap(),
        "upstream sees alice"
    );

    // Bob has not authorized: he is asked to, not served with Alice's token.
    let bob_url = call(&bob, "up__whoami").await.unwrap_err();
    assert_ne!(bob_url, url);

    // Tokens rest sealed: the row opens only with the server's key, and holds no token text.
    let row = gw
        .store
        .upstream_token("alice", "up")
        .await
        .unwrap()
        .unwrap();
    assert!(row.starts_with("v1."), "{row}");
    assert!(!row.contains("eyJ"), "a JWT in the clear: {row}");
    assert!(!row.contains("access_token") && !row.contains("refresh_token"));
    assert_eq!(gw.store.upstream_token("bob", "up").await.unwrap(), None);

    // Bob connects too, with his own upstream account; each gets their own identity upstream.
    let mut bob_browser = Browser::new();
    bob_browser.sign_in_at_gateway(&gw, "bob").await;
    let done = bob_browser.connect(&bob_url, "bob").await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(call(&bob, "up__whoami").await.unwrap(), "upstream sees bob");
    // The gateway registered itself at the upstream's AS once: Bob's flow reused the client
    // registered during Alice's.
    assert_eq!(registrations.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(
        call(&alice, "up__whoami").await.unwrap(),
        "upstream sees alice"
    );

    // A reload that changes the upstream keeps its tools listed (through a new connection of
    // the most recent user) and every user's calls working with their stored tokens.
    let mut changed = gw.upstream.clone();
    changed.timeout = std::time::Duration::from_secs(30);
    let report = gw.gateway.reload(vec![changed]).await;
    assert_eq!(report.changed, ["up"]);
    assert_eq!(names(bob.list_tools().await.unwrap()), ["up__whoami"]);
    assert_eq!(
        call(&alice, "up__whoami").await.unwrap(),
        "upstream sees alice"
    );
    assert_eq!(call(&bob, "up__whoami").await.unwrap(), "upstream sees bob");

    // A caller without an identity is refused outright (no -32042: nobody to bind it to).
    let anon = Client::connect_http(&format!("{}/mcp", gw.base), ClientOptions::default())
        .await
        .unwrap();
    match anon
        .call_tool(
            "up__whoami",
            serde_json::json!({}),
            &RequestOptions::default(),
        )
        .await
    {
        Err(ClientError::Rpc(e)) => assert_eq!(e.code.0, -32600, "{}", e.message),
        other => panic!("anonymous call: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_completed_in_another_users_browser_is_refused() {
    let upstream = start_upstream().await;
    let gw = start_gateway(&upstream).await;
    let alice = mcp_client(&gw, "alice").await;
    let url = call(&alice, "up__connect").await.unwrap_err();
    // Alice starts the flow in her browser...
    let mut alices = Browser::new();
    alices.sign_in_at_gateway(&gw, "alice").await;
    let r = alices.get(&url).await;
    assert_eq!(r.status, 302, "{}", r.body);
    let authorize = r.location.unwrap();
    // ...but the authorization (and its callback) is completed in Bob's browser, signed in at
    // the gateway as Bob: the code must not be redeemed for Alice (nor for Bob).
    let mut bobs = Browser::new();
    bobs.sign_in_at_gateway(&gw, "bob").await;
    let as_base = format!("http://{}", Browser::origin(&authorize));
    let login = bobs.get(&authorize).await;
    let consent = bobs.sign_in(&as_base, &login, "bob").await;
    let back = bobs
        .send(
            &format!("{as_base}/consent"),
            Some(&[
                ("req", &consent.field("req").unwrap()),
                ("csrf", &consent.field("csrf").unwrap()),
                ("decision", "approve"),
            ]),
        )
        .await
        .location
        .unwrap();
    let r = bobs.get(&back).await;
    assert_eq!(r.status, 403, "{}", r.body);
    // The flow is gone: replaying the callback in Alice's browser does nothing either.
    assert_eq!(alices.get(&back).await.status, 400);
    assert_eq!(gw.store.upstream_token("alice", "up").await.unwrap(), None);
    assert_eq!(gw.store.upstream_token("bob", "up").await.unwrap(), None);
    assert!(call(&alice, "up__connect").await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refreshed_and_refused_ones_lead_back_to_the_elicitation() {
    let refuse = Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Two-second access tokens: usable for one second (half the lifetime), then refreshed.
    let upstream = start_upstream_with(
        Some(std::time::Duration::from_secs(2)),
        refuse.clone(),
        Arc::default(),
    )
    .await;
    let gw = start_gateway(&upstream).await;
    let alice = mcp_client(&gw, "alice").await;
    let url = call(&alice, "up__connect").await.unwrap_err();
    let mut browser = Browser::new();
    browser.sign_in_at_gateway(&gw, "alice").await;
    assert_eq!(browser.connect(&url, "alice").await.status, 200);
    assert_eq!(
        call(&alice, "up__whoami").await.unwrap(),
        "upstream sees alice"
    );
    let before = gw
        .store
        .upstream_token("alice", "up")
        .await
        .unwrap()
        .unwrap();

    // Past the token's usable life the call still works: the refresh token got a new one,
    // and the new token set was stored (sealed) again.
    // (`exp` has whole seconds and the check is `exp < now`: three seconds are past it.)
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(
        call(&alice, "up__whoami").await.unwrap(),
        "upstream sees alice"
    );
    let mut after = before.clone();
    for _ in 0..50 {
        after = gw
            .store
            .upstream_token("alice", "up")
            .await
            .unwrap()
            .unwrap();
        if after != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_ne!(after, before, "the refreshed token set was not stored");

    // The upstream now refuses every token (the grant was revoked there): the call is answered
    // with a new elicitation, and the tokens are forgotten.
    refuse.store(true, std::sync::atomic::Ordering::SeqCst);
    let again = call(&alice, "up__whoami").await.unwrap_err();
    assert!(again.contains("/connect/up?request="), "{again}");
    refuse.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(
        call(&alice, "up__whoami").await.is_err(),
        "a refused token must not be used again"
    );
    // Authorizing again brings the calls back.
    let url = call(&alice, "up__whoami").await.unwrap_err();
    assert_eq!(browser.connect(&url, "alice").await.status, 200);
    assert_eq!(
        call(&alice, "up__whoami").await.unwrap(),
        "upstream sees alice"
    );
}
