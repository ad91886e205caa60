#![allow(clippy::unwrap_used)]
//! The authorization server's security battery: one test per attack, each asserting the exact
//! error. Listed in docs/security.md. Runs on SQLite, or on PostgreSQL when `DATABASE_URL` is
//! set.

mod as_support;

use std::time::Duration;

use as_support::*;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use switchyard_auth::client::pkce::Pkce;
use switchyard_auth::server::RateLimits;

/// Asserts an error page (not a redirect) with the OAuth code.
#[track_caller]
fn assert_error_page(r: &Resp, status: u16, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert!(r.header("location").is_none(), "must not redirect");
    assert!(
        r.body
            .contains(&format!("<code id=\"error\">{code}</code>")),
        "{}",
        r.body
    );
}

/// Asserts a redirect to the client carrying `error`, the original `state` and `iss`.
#[track_caller]
fn assert_error_redirect(r: &Resp, srv: &Server, error: &str, description: &str) {
    assert_eq!(r.status, 302, "{}", r.body);
    let loc = r.location().unwrap();
    assert!(loc.as_str().starts_with(REDIRECT), "{loc}");
    assert_eq!(query(&loc, "error").as_deref(), Some(error), "{loc}");
    assert_eq!(
        query(&loc, "error_description").as_deref(),
        Some(description),
        "{loc}"
    );
    assert_eq!(query(&loc, "iss").as_deref(), Some(srv.issuer.as_str()));
    assert!(query(&loc, "code").is_none());
}

fn drop_param(url: &str, key: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| k != key)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    u.query_pairs_mut().clear().extend_pairs(kept);
    u.into()
}

fn set_param(url: &str, key: &str, value: &str) -> String {
    let mut u = url::Url::parse(url).unwrap();
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == key {
                value.to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    u.query_pairs_mut().clear().extend_pairs(kept);
    u.into()
}

#[tokio::test]
async fn pkce_missing_challenge_is_invalid_request() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let url = drop_param(
        &AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv),
        "code_challenge",
    );
    let r = Browser::new().get(&url).await;
    assert_error_redirect(
        &r,
        &srv,
        "invalid_request",
        "code_challenge is required (PKCE)",
    );
    assert_eq!(
        query(&r.location().unwrap(), "state").as_deref(),
        Some("state-123")
    );
}

#[tokio::test]
async fn pkce_plain_method_is_invalid_request() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let url = set_param(
        &AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv),
        "code_challenge_method",
        "plain",
    );
    let r = Browser::new().get(&url).await;
    assert_error_redirect(
        &r,
        &srv,
        "invalid_request",
        "code_challenge_method must be S256",
    );
    let url = drop_param(
        &AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv),
        "code_challenge_method",
    );
    let r = Browser::new().get(&url).await;
    assert_error_redirect(
        &r,
        &srv,
        "invalid_request",
        "code_challenge_method must be S256",
    );
}

#[tokio::test]
async fn pkce_wrong_verifier_is_invalid_grant() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let code = code_for(&srv, &pkce).await;
    let r = redeem(&srv, &code, &Pkce::generate()).await;
    assert_oauth_error(&r, 400, "invalid_grant");
    assert_eq!(r.json()["error_description"], "PKCE verification failed");
}

#[tokio::test]
async fn pkce_missing_verifier_is_invalid_request() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let code = code_for(&srv, &pkce).await;
    let r = token(
        &srv,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_request");
    assert_eq!(
        r.json()["error_description"],
        "code_verifier is required (PKCE)"
    );
    // The code was not spent by the malformed request.
    assert_eq!(redeem(&srv, &code, &pkce).await.status, 200);
}

#[tokio::test]
async fn code_replay_is_invalid_grant_and_revokes_issued_tokens() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let code = code_for(&srv, &pkce).await;
    let first = redeem(&srv, &code, &pkce).await;
    assert_eq!(first.status, 200);
    let t = first.json();
    let (at, rt) = (
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    );
    assert!(active(&srv, at).await);
    let replay = redeem(&srv, &code, &pkce).await;
    assert_oauth_error(&replay, 400, "invalid_grant");
    assert_eq!(
        replay.json()["error_description"],
        "authorization code was already used; tokens issued from it are revoked"
    );
    assert!(
        !active(&srv, at).await,
        "access token from the replayed code is revoked"
    );
    let r = token(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_grant");
}

#[tokio::test]
async fn expired_code_is_invalid_grant_and_purged() {
    let srv = start_with(Options {
        code_ttl: Some(Duration::ZERO),
        ..Options::default()
    })
    .await;
    let pkce = Pkce::generate();
    let code = code_for(&srv, &pkce).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = redeem(&srv, &code, &pkce).await;
    assert_oauth_error(&r, 400, "invalid_grant");
    assert_eq!(r.json()["error_description"], "authorization code expired");
    let other = code_for(&srv, &pkce).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(srv.server.housekeeping().await.unwrap() >= 1);
    let r = redeem(&srv, &other, &pkce).await;
    assert_eq!(r.json()["error_description"], "unknown authorization code");
}

#[tokio::test]
async fn code_redeemed_by_another_client_is_invalid_grant() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let code = code_for(&srv, &pkce).await;
    let r = post_basic(
        &srv,
        "/token",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", pkce.verifier()),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_grant");
}

#[tokio::test]
async fn redirect_uri_mismatch_prefix_case_path_and_encoding_are_refused_without_redirect() {
    let srv = start().await;
    let pkce = Pkce::generate();
    for bad in [
        "https://app.example.com/callback/extra",       // prefix
        "https://app.example.com/callbackx",            // prefix
        "https://app.example.com/Callback",             // case (path)
        "https://APP.example.com/callback",             // case (host)
        "HTTPS://app.example.com/callback",             // case (scheme)
        "https://app.example.com/x/../callback",        // dot segments
        "https://app.example.com/%63allback",           // percent-encoding
        "https://app.example.com/callback%2F..%2Fevil", // encoded traversal
        "https://app.example.com/callback?next=evil",   // added query
        "https://app.example.com.evil.com/callback",    // host suffix
        "https://app.example.com:444/callback",         // port on a non-loopback host
        "http://app.example.com/callback",              // scheme downgrade
        "http://127.0.0.1:8080/callback/../evil",       // loopback with traversal
        "http://localhost/callback",                    // loopback by another name
    ] {
        let mut req = AuthReq::new(PUBLIC_CLIENT, &pkce);
        req.redirect_uri = bad;
        let r = Browser::new().get(&req.url(&srv)).await;
        assert_error_page(&r, 400, "invalid_request");
        assert!(r.body.contains("redirect_uri is not registered"), "{bad}");
    }
}

#[tokio::test]
async fn redirect_uri_mismatch_at_the_token_endpoint_is_invalid_grant() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let code = code_for(&srv, &pkce).await;
    let r = token(
        &srv,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", &code),
            ("redirect_uri", LOOPBACK_REDIRECT),
            ("code_verifier", pkce.verifier()),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_grant");
}

#[tokio::test]
async fn no_open_redirect_through_the_error_path() {
    let srv = start().await;
    let pkce = Pkce::generate();
    // Unknown client with an attacker's redirect URI and an error-provoking parameter.
    let mut req = AuthReq::new("no-such-client", &pkce);
    req.redirect_uri = "https://evil.example/steal";
    let url = set_param(&req.url(&srv), "response_type", "token");
    let r = Browser::new().get(&url).await;
    assert_error_page(&r, 400, "invalid_client");
    // Known client, unregistered redirect URI, invalid request: still no redirect.
    let mut req = AuthReq::new(PUBLIC_CLIENT, &pkce);
    req.redirect_uri = "https://evil.example/steal";
    let url = set_param(&req.url(&srv), "response_type", "token");
    let r = Browser::new().get(&url).await;
    assert_error_page(&r, 400, "invalid_request");
    // Missing client_id: no redirect either.
    let url = drop_param(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv), "client_id");
    assert_error_page(&Browser::new().get(&url).await, 400, "invalid_request");
    // A repeated redirect_uri is refused before anything is redirected.
    let url = format!(
        "{}&redirect_uri=https%3A%2F%2Fevil.example%2F",
        AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)
    );
    assert_error_page(&Browser::new().get(&url).await, 400, "invalid_request");
}

#[tokio::test]
async fn missing_state_is_invalid_request() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let url = drop_param(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv), "state");
    let r = Browser::new().get(&url).await;
    assert_error_redirect(&r, &srv, "invalid_request", "state is required");
    assert!(query(&r.location().unwrap(), "state").is_none());
}

#[tokio::test]
async fn unknown_resource_is_invalid_target() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut req = AuthReq::new(PUBLIC_CLIENT, &pkce);
    req.resource = Some("https://attacker.example/mcp");
    let r = Browser::new().get(&req.url(&srv)).await;
    assert_error_redirect(
        &r,
        &srv,
        "invalid_target",
        "resource \"https://attacker.example/mcp\" is not served by this authorization server",
    );
    // A different resource at the token endpoint than the code was bound to.
    let code = code_for(&srv, &pkce).await;
    let r = token(
        &srv,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC_CLIENT),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", pkce.verifier()),
            ("resource", "https://other.example.com/mcp"),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_target");
}

#[tokio::test]
async fn unknown_or_unallowed_scope_is_invalid_scope() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut req = AuthReq::new(PUBLIC_CLIENT, &pkce);
    req.scope = Some("mcp:read admin");
    let r = Browser::new().get(&req.url(&srv)).await;
    assert_error_redirect(
        &r,
        &srv,
        "invalid_scope",
        "scope \"admin\" is not allowed for this client",
    );
    req.scope = Some("root");
    let r = Browser::new().get(&req.url(&srv)).await;
    assert_error_redirect(&r, &srv, "invalid_scope", "scope \"root\" is not supported");
}

async fn tokens_with_scope(srv: &Server, scope: &str) -> serde_json::Value {
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let mut req = AuthReq::new(PUBLIC_CLIENT, &pkce);
    req.scope = Some(scope);
    let code = query(&authorize(&mut b, srv, &req).await, "code").unwrap();
    redeem(srv, &code, &pkce).await.json()
}

#[tokio::test]
async fn refresh_reuse_revokes_the_whole_family() {
    let srv = start().await;
    let t = tokens_with_scope(&srv, "mcp:read").await;
    let rt1 = t["refresh_token"].as_str().unwrap();
    let refresh = |rt: String| {
        let srv = &srv;
        async move {
            token(
                srv,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", PUBLIC_CLIENT),
                    ("refresh_token", &rt),
                ],
            )
            .await
        }
    };
    let r2 = refresh(rt1.to_owned()).await;
    assert_eq!(r2.status, 200);
    let t2 = r2.json();
    let (at2, rt2) = (
        t2["access_token"].as_str().unwrap(),
        t2["refresh_token"].as_str().unwrap(),
    );
    // The attacker replays the first refresh token.
    let reuse = refresh(rt1.to_owned()).await;
    assert_oauth_error(&reuse, 400, "invalid_grant");
    assert_eq!(
        reuse.json()["error_description"],
        "refresh token was already used; the token family is revoked"
    );
    // The legitimate client's newer tokens are dead too.
    assert_oauth_error(&refresh(rt2.to_owned()).await, 400, "invalid_grant");
    assert!(!active(&srv, at2).await);
    assert!(!active(&srv, t["access_token"].as_str().unwrap()).await);
}

#[tokio::test]
async fn scope_escalation_on_refresh_is_invalid_scope() {
    let srv = start().await;
    let t = tokens_with_scope(&srv, "mcp:read").await;
    let rt = t["refresh_token"].as_str().unwrap();
    let r = token(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", rt),
            ("scope", "mcp:read mcp:write"),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_scope");
    assert_eq!(
        r.json()["error_description"],
        "scope \"mcp:write\" exceeds the original grant"
    );
    // The refused request did not spend the token.
    let r = token(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", rt),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn refresh_token_of_another_client_is_invalid_grant() {
    let srv = start().await;
    let t = tokens_with_scope(&srv, "mcp:read").await;
    let r = post_basic(
        &srv,
        "/token",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", t["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "invalid_grant");
}

#[tokio::test]
async fn registration_rejects_bad_redirect_uris() {
    let srv = start().await;
    for (bad, why) in [
        (
            "javascript:alert(document.cookie)",
            "scheme \"javascript\" is not allowed",
        ),
        (
            "data:text/html,<script>alert(1)</script>",
            "scheme \"data\" is not allowed",
        ),
        (
            "https://app.example.com/cb#fragment",
            "must not contain a fragment",
        ),
        ("https://app.example.com/cb#", "must not contain a fragment"),
        (
            "http://app.example.com/cb",
            "only allowed for loopback hosts",
        ),
        ("http://192.168.1.10/cb", "only allowed for loopback hosts"),
        ("file:///etc/passwd", "scheme \"file\" is not allowed"),
        ("/relative/cb", "is not absolute"),
        (
            "https://user:pass@app.example.com/cb",
            "must not contain credentials",
        ),
    ] {
        let r = http()
            .post(srv.url("/register"))
            .json(
                &serde_json::json!({"redirect_uris": [bad], "token_endpoint_auth_method": "none"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "invalid_redirect_uri", "{bad}");
        assert!(
            body["error_description"].as_str().unwrap().contains(why),
            "{bad}: {body}"
        );
    }
}

#[tokio::test]
async fn registration_is_rate_limited_per_address() {
    let srv = start_with(Options {
        limits: RateLimits {
            registrations: 3,
            ..RateLimits::default()
        },
        ..Options::default()
    })
    .await;
    let reg = || async {
        http()
            .post(srv.url("/register"))
            .json(&serde_json::json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "none"}))
            .send()
            .await
            .unwrap()
    };
    for _ in 0..3 {
        assert_eq!(reg().await.status(), 201);
    }
    let r = reg().await;
    assert_eq!(r.status(), 429);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "temporarily_unavailable"
    );
}

/// A local web server for metadata documents.
async fn doc_server(app: axum::Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(l, app).await;
    });
    format!("http://{addr}")
}

async fn authorize_with_client_id(srv: &Server, client_id: &str) -> Resp {
    let pkce = Pkce::generate();
    let mut req = AuthReq::new(client_id, &pkce);
    req.redirect_uri = "http://127.0.0.1:7777/cb";
    Browser::new().get(&req.url(srv)).await
}

#[tokio::test]
async fn metadata_document_client_works_and_is_cached() {
    let srv = start().await;
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    let base_cell = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let b2 = base_cell.clone();
    let base = doc_server(axum::Router::new().route(
        "/client.json",
        get(move || {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let id = format!("{}/client.json", b2.get().unwrap());
            async move {
                (
                    [("cache-control", "max-age=600")],
                    axum::Json(serde_json::json!({
                        "client_id": id, "client_name": "CIMD App",
                        "redirect_uris": ["http://127.0.0.1:7777/cb"],
                        "token_endpoint_auth_method": "none",
                    })),
                )
            }
        }),
    ))
    .await;
    base_cell.set(base.clone()).unwrap();
    let id = format!("{base}/client.json");
    let r = authorize_with_client_id(&srv, &id).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("CIMD App"));
    let r = authorize_with_client_id(&srv, &id).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        hits.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "second request served from cache"
    );
}

#[tokio::test]
async fn metadata_document_at_private_or_metadata_addresses_is_refused() {
    let srv = start().await;
    for id in [
        "http://10.0.0.5/client.json",
        "http://192.168.1.1/client.json",
        "http://169.254.169.254/latest/meta-data/client.json",
        "http://[fd00::1]/client.json",
        "http://0xa9fea9fe/client.json",
    ] {
        let r = authorize_with_client_id(&srv, id).await;
        assert_error_page(&r, 400, "invalid_client");
        assert!(r.body.contains("address"), "{id}: {}", r.body);
    }
}

#[tokio::test]
async fn metadata_document_redirects_are_not_followed() {
    let srv = start().await;
    let base = doc_server(axum::Router::new().route(
        "/client.json",
        get(|| async {
            (
                StatusCode::FOUND,
                [("location", "http://169.254.169.254/latest")],
            )
                .into_response()
        }),
    ))
    .await;
    let r = authorize_with_client_id(&srv, &format!("{base}/client.json")).await;
    assert_error_page(&r, 400, "invalid_client");
    assert!(r.body.contains("redirects are not followed"), "{}", r.body);
}

#[tokio::test]
async fn metadata_document_huge_bodies_are_refused() {
    let srv = start().await;
    let base = doc_server(
        axum::Router::new()
            .route("/declared.json", get(|| async { "x".repeat(1024 * 1024) }))
            .route(
                "/streamed.json",
                get(|| async {
                    let chunks = (0..256).map(|_| Ok::<_, std::io::Error>(vec![b' '; 4096]));
                    axum::body::Body::from_stream(futures_util::stream::iter(chunks))
                }),
            ),
    )
    .await;
    for path in ["/declared.json", "/streamed.json"] {
        let r = authorize_with_client_id(&srv, &format!("{base}{path}")).await;
        assert_error_page(&r, 400, "invalid_client");
        assert!(r.body.contains("exceeds 16384 bytes"), "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn metadata_document_slow_hosts_time_out() {
    let srv = start().await;
    let base = doc_server(axum::Router::new().route(
        "/slow.json",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "{}"
        }),
    ))
    .await;
    let started = std::time::Instant::now();
    let r = authorize_with_client_id(&srv, &format!("{base}/slow.json")).await;
    assert_error_page(&r, 400, "invalid_client");
    assert!(r.body.contains("timed out"), "{}", r.body);
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[tokio::test]
async fn consent_without_the_csrf_token_is_forbidden() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let first = b.get(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)).await;
    let consent = sign_in(&mut b, &srv, &first).await;
    let req = consent.field("req").unwrap();
    for csrf in ["", "forged-token", &first.field("csrf").unwrap()] {
        let r = b
            .post(
                &srv.url("/consent"),
                &[("req", &req), ("csrf", csrf), ("decision", "approve")],
            )
            .await;
        assert_error_page(&r, 403, "invalid_request");
        assert!(r.body.contains("CSRF check failed"));
    }
    // A cross-site POST carries no session cookie at all.
    let r = Browser::new()
        .post(
            &srv.url("/consent"),
            &[
                ("req", &req),
                ("csrf", &consent.field("csrf").unwrap()),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_error_page(&r, 403, "invalid_request");
    // The genuine form still works afterwards.
    let r = b
        .post(
            &srv.url("/consent"),
            &[
                ("req", &req),
                ("csrf", &consent.field("csrf").unwrap()),
                ("decision", "approve"),
            ],
        )
        .await;
    assert_eq!(r.status, 303);
}

#[tokio::test]
async fn login_without_the_csrf_cookie_is_forbidden() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let first = b.get(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)).await;
    let r = Browser::new()
        .post(
            &srv.url("/login"),
            &[
                ("req", &first.field("req").unwrap()),
                ("csrf", &first.field("csrf").unwrap()),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_error_page(&r, 403, "invalid_request");
}

#[tokio::test]
async fn pages_forbid_framing_and_cookies_are_host_prefixed() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let login = b.get(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)).await;
    let consent = sign_in(&mut b, &srv, &login).await;
    let error = Browser::new().get(&srv.url("/authorize")).await;
    for page in [&login, &consent, &error] {
        let csp = page.header("content-security-policy").unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(page.header("cache-control").as_deref(), Some("no-store"));
    }
    assert!(!b.set_cookie_lines.is_empty());
    for line in &b.set_cookie_lines {
        assert!(line.starts_with("__Host-"), "{line}");
        for attr in ["; Path=/", "; Secure", "; HttpOnly", "; SameSite=Lax"] {
            assert!(line.contains(attr), "{line}");
        }
        assert!(!line.to_ascii_lowercase().contains("domain="), "{line}");
    }
}

#[tokio::test]
async fn login_brute_force_is_rate_limited() {
    let srv = start_with(Options {
        limits: RateLimits {
            login_failures: 3,
            ..RateLimits::default()
        },
        ..Options::default()
    })
    .await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let mut page = b.get(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)).await;
    let req = page.field("req").unwrap();
    for _ in 0..3 {
        let r = b
            .post(
                &srv.url("/login"),
                &[
                    ("req", &req),
                    ("csrf", &page.field("csrf").unwrap()),
                    ("username", USER),
                    ("password", "guess"),
                ],
            )
            .await;
        assert_eq!(r.status, 401);
        assert!(r.body.contains("Invalid user name or password."));
        page = r;
    }
    // Now even the right password is refused for this account.
    let r = b
        .post(
            &srv.url("/login"),
            &[
                ("req", &req),
                ("csrf", &page.field("csrf").unwrap()),
                ("username", USER),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 429);
    assert!(r.body.contains("Too many failed sign-in attempts"));
    assert!(r.header("location").is_none());
}

#[tokio::test]
async fn public_client_presenting_a_secret_is_invalid_client() {
    let srv = start().await;
    let r = post_basic(
        &srv,
        "/token",
        PUBLIC_CLIENT,
        "made-up",
        &[("grant_type", "refresh_token"), ("refresh_token", "x")],
    )
    .await;
    assert_oauth_error(&r, 401, "invalid_client");
}

#[tokio::test]
async fn repeated_token_parameters_are_invalid_request() {
    let srv = start().await;
    let r = http()
        .post(srv.url("/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=authorization_code&code=a&code=b&client_id=public-client")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["error"],
        "invalid_request"
    );
}
