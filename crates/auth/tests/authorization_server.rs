#![allow(clippy::unwrap_used)]
//! Black-box tests of the authorization server over real HTTP: metadata, the code flow with
//! login and consent, refresh rotation, client credentials, registration, revocation,
//! introspection, key rotation and persistence across restarts. Runs on SQLite, or on
//! PostgreSQL when `DATABASE_URL` is set.

mod as_support;

use std::sync::Arc;

use as_support::*;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use switchyard_auth::client::pkce::Pkce;
use switchyard_store::SqlStore;

#[tokio::test]
async fn metadata_advertises_s256_cimd_and_iss_parameter() {
    let srv = start().await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/openid-configuration",
    ] {
        let r = Browser::new().get(&srv.url(path)).await;
        assert_eq!(r.status, 200);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        let m = r.json();
        assert_eq!(m["issuer"], srv.issuer);
        assert_eq!(m["authorization_endpoint"], srv.url("/authorize"));
        assert_eq!(m["token_endpoint"], srv.url("/token"));
        assert_eq!(m["jwks_uri"], srv.url("/jwks"));
        assert_eq!(m["registration_endpoint"], srv.url("/register"));
        assert_eq!(
            m["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(m["response_types_supported"], serde_json::json!(["code"]));
        assert_eq!(m["client_id_metadata_document_supported"], true);
        assert_eq!(m["authorization_response_iss_parameter_supported"], true);
    }
}

#[tokio::test]
async fn metadata_is_served_at_path_inserted_urls_when_the_issuer_has_a_path() {
    let srv = start_with(Options {
        path: "/tenant1",
        ..Options::default()
    })
    .await;
    let origin = format!("http://{}", srv.addr);
    for path in [
        "/.well-known/oauth-authorization-server/tenant1",
        "/.well-known/openid-configuration/tenant1",
        "/tenant1/.well-known/openid-configuration",
    ] {
        let r = Browser::new().get(&format!("{origin}{path}")).await;
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.json()["issuer"], srv.issuer);
        assert_eq!(
            r.json()["token_endpoint"],
            format!("{origin}/tenant1/token")
        );
    }
    let root = Browser::new()
        .get(&format!("{origin}/.well-known/oauth-authorization-server"))
        .await;
    assert_eq!(root.status, 404);
}

#[tokio::test]
async fn code_flow_issues_an_rfc9068_jwt_bound_to_the_resource() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let back = authorize(&mut b, &srv, &AuthReq::new(PUBLIC_CLIENT, &pkce)).await;
    assert!(back.as_str().starts_with(REDIRECT));
    assert_eq!(query(&back, "state").as_deref(), Some("state-123"));
    assert_eq!(query(&back, "iss").as_deref(), Some(srv.issuer.as_str()));
    let code = query(&back, "code").unwrap();
    let r = redeem(&srv, &code, &pkce).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let t = r.json();
    assert_eq!(t["token_type"], "Bearer");
    assert_eq!(t["expires_in"], 600);
    assert_eq!(t["scope"], "mcp:read");
    assert!(t["refresh_token"].is_string());
    let at = t["access_token"].as_str().unwrap();
    let (header, claims) = jwt_parts(at);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["aud"], RESOURCE);
    assert_eq!(claims["iss"], srv.issuer);
    assert_eq!(claims["sub"], USER);
    assert_eq!(claims["client_id"], PUBLIC_CLIENT);
    assert_eq!(claims["scope"], "mcp:read");
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() == 600);

    // The signature verifies with the published key.
    let jwks = Browser::new().get(&srv.url("/jwks")).await.json();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .unwrap();
    let dk =
        DecodingKey::from_ec_components(key["x"].as_str().unwrap(), key["y"].as_str().unwrap())
            .unwrap();
    let mut v = Validation::new(Algorithm::ES256);
    v.set_audience(&[RESOURCE]);
    v.set_issuer(&[&srv.issuer]);
    jsonwebtoken::decode::<serde_json::Value>(at, &dk, &v).unwrap();
    assert!(active(&srv, at).await);
}

#[tokio::test]
async fn loopback_redirect_accepts_any_port() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let mut req = AuthReq::new(PUBLIC_CLIENT, &pkce);
    req.redirect_uri = "http://127.0.0.1:53682/callback";
    let back = authorize(&mut b, &srv, &req).await;
    assert!(
        back.as_str()
            .starts_with("http://127.0.0.1:53682/callback?code="),
        "{back}"
    );
}

#[tokio::test]
async fn consent_is_remembered_per_user_and_client() {
    let srv = start().await;
    let mut b = Browser::new();
    let pkce = Pkce::generate();
    authorize(&mut b, &srv, &AuthReq::new(PUBLIC_CLIENT, &pkce)).await;
    // Same browser, same scopes: straight back with a code, no page.
    let again = b.get(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)).await;
    assert_eq!(again.status, 302, "{}", again.body);
    assert!(query(&again.location().unwrap(), "code").is_some());
    // A wider scope asks again.
    let mut wider = AuthReq::new(PUBLIC_CLIENT, &pkce);
    wider.scope = Some("mcp:read mcp:write");
    let page = b.get(&wider.url(&srv)).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("mcp:write"));
    assert!(
        page.body.contains("Public &lt;Test&gt; Client"),
        "client name escaped"
    );
}

#[tokio::test]
async fn user_can_deny_and_the_client_gets_access_denied() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let first = b.get(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)).await;
    let consent = sign_in(&mut b, &srv, &first).await;
    let r = b
        .post(
            &srv.url("/consent"),
            &[
                ("req", &consent.field("req").unwrap()),
                ("csrf", &consent.field("csrf").unwrap()),
                ("decision", "deny"),
            ],
        )
        .await;
    let back = r.location().unwrap();
    assert_eq!(query(&back, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&back, "state").as_deref(), Some("state-123"));
    assert_eq!(query(&back, "iss").as_deref(), Some(srv.issuer.as_str()));
}

#[tokio::test]
async fn refresh_rotates_and_narrows_scope() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let mut req = AuthReq::new(PUBLIC_CLIENT, &pkce);
    req.scope = Some("mcp:read mcp:write");
    let code = query(&authorize(&mut b, &srv, &req).await, "code").unwrap();
    let t1 = redeem(&srv, &code, &pkce).await.json();
    let rt1 = t1["refresh_token"].as_str().unwrap();
    let r = token(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", rt1),
            ("scope", "mcp:read"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t2 = r.json();
    assert_eq!(t2["scope"], "mcp:read");
    let rt2 = t2["refresh_token"].as_str().unwrap();
    assert_ne!(rt1, rt2);
    assert_eq!(
        jwt_parts(t2["access_token"].as_str().unwrap()).1["aud"],
        RESOURCE
    );
    // The rotated token still carries the full original grant.
    let r = token(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", rt2),
            ("scope", "mcp:read mcp:write"),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn client_credentials_for_a_confidential_client_basic_and_post() {
    let srv = start().await;
    let r = post_basic(
        &srv,
        "/token",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[
            ("grant_type", "client_credentials"),
            ("scope", "admin"),
            ("resource", RESOURCE),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert!(t.get("refresh_token").is_none());
    let claims = jwt_parts(t["access_token"].as_str().unwrap()).1;
    assert_eq!(claims["sub"], CONFIDENTIAL_CLIENT);
    assert_eq!(claims["aud"], RESOURCE);
    let r = token(
        &srv,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CONFIDENTIAL_CLIENT),
            ("client_secret", CONFIDENTIAL_SECRET),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        jwt_parts(r.json()["access_token"].as_str().unwrap()).1["aud"],
        RESOURCE
    );
}

#[tokio::test]
async fn client_credentials_wrong_secret_is_invalid_client() {
    let srv = start().await;
    let r = post_basic(
        &srv,
        "/token",
        CONFIDENTIAL_CLIENT,
        "wrong",
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_oauth_error(&r, 401, "invalid_client");
    assert!(r.header("www-authenticate").unwrap().starts_with("Basic"));
    let r = token(
        &srv,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", PUBLIC_CLIENT),
        ],
    )
    .await;
    assert_oauth_error(&r, 400, "unauthorized_client");
}

#[tokio::test]
async fn dynamic_registration_then_code_flow() {
    let srv = start().await;
    let r = http()
        .post(srv.url("/register"))
        .json(&serde_json::json!({
            "client_name": "DCR client",
            "redirect_uris": ["http://127.0.0.1:9999/cb"],
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let reg: serde_json::Value = r.json().await.unwrap();
    assert!(reg.get("client_secret").is_none());
    let id = reg["client_id"].as_str().unwrap().to_owned();
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let mut req = AuthReq::new(&id, &pkce);
    req.redirect_uri = "http://127.0.0.1:9999/cb";
    let code = query(&authorize(&mut b, &srv, &req).await, "code").unwrap();
    let r = token(
        &srv,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", &id),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:9999/cb"),
            ("code_verifier", pkce.verifier()),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn confidential_registration_returns_a_secret_that_works() {
    let srv = start().await;
    let r = http()
        .post(srv.url("/register"))
        .json(&serde_json::json!({
            "redirect_uris": ["https://app.example.com/cb"],
            "grant_types": ["client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let reg: serde_json::Value = r.json().await.unwrap();
    let (id, secret) = (
        reg["client_id"].as_str().unwrap(),
        reg["client_secret"].as_str().unwrap(),
    );
    let r = token(
        &srv,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn revocation_of_refresh_token_kills_the_family_and_access_token() {
    let srv = start().await;
    let pkce = Pkce::generate();
    let code = code_for(&srv, &pkce).await;
    let t = redeem(&srv, &code, &pkce).await.json();
    let (at, rt) = (
        t["access_token"].as_str().unwrap(),
        t["refresh_token"].as_str().unwrap(),
    );
    assert!(
        !active(&srv, rt).await,
        "refresh tokens are only visible to their client"
    );
    let r = token(&srv, &[]).await; // sanity: empty form
    assert_oauth_error(&r, 400, "invalid_request");
    let r = http()
        .post(srv.url("/revoke"))
        .form(&[("client_id", PUBLIC_CLIENT), ("token", rt)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!active(&srv, at).await);
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
async fn revoking_an_access_token_makes_introspection_inactive() {
    let srv = start().await;
    let r = post_basic(
        &srv,
        "/token",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let at = r.json()["access_token"].as_str().unwrap().to_owned();
    assert!(active(&srv, &at).await);
    let r = post_basic(
        &srv,
        "/revoke",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[("token", &at)],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(!active(&srv, &at).await);
    assert!(!active(&srv, "not-a-token").await);
}

#[tokio::test]
async fn introspection_requires_a_confidential_client() {
    let srv = start().await;
    let r = http()
        .post(srv.url("/introspect"))
        .form(&[("client_id", PUBLIC_CLIENT), ("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn key_rotation_publishes_current_and_previous_keys() {
    let srv = start().await;
    let r = post_basic(
        &srv,
        "/token",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[("grant_type", "client_credentials")],
    )
    .await;
    let old = r.json()["access_token"].as_str().unwrap().to_owned();
    let old_kid = jwt_parts(&old).0["kid"].as_str().unwrap().to_owned();
    let new_kid = srv.server.rotate_signing_key().await.unwrap();
    assert_ne!(old_kid, new_kid);
    let jwks = Browser::new().get(&srv.url("/jwks")).await.json();
    let kids: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert!(
        kids.contains(&old_kid.as_str()) && kids.contains(&new_kid.as_str()),
        "{kids:?}"
    );
    assert!(
        active(&srv, &old).await,
        "tokens signed by the previous key stay valid"
    );
    let r = post_basic(
        &srv,
        "/token",
        CONFIDENTIAL_CLIENT,
        CONFIDENTIAL_SECRET,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(
        jwt_parts(r.json()["access_token"].as_str().unwrap()).0["kid"],
        new_kid.as_str()
    );
}

#[tokio::test]
async fn clients_codes_tokens_and_keys_survive_a_restart_on_sqlite() {
    let dir = std::env::temp_dir().join(unique("switchyard-as-restart"));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.join("auth.db").display());
    let pkce = Pkce::generate();
    let (port, code, rt, at, kid, dcr_id) = {
        let store: Arc<dyn switchyard_store::AuthStore> =
            Arc::new(SqlStore::open(&url).await.unwrap());
        let srv = start_with(Options {
            store: Some(store),
            ..Options::default()
        })
        .await;
        let r = http()
            .post(srv.url("/register"))
            .json(&serde_json::json!({"redirect_uris": ["https://x.example/cb"], "token_endpoint_auth_method": "none"}))
            .send()
            .await
            .unwrap();
        let dcr_id = r.json::<serde_json::Value>().await.unwrap()["client_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let first_code = code_for(&srv, &pkce).await;
        let t = redeem(&srv, &first_code, &pkce).await.json();
        let code = code_for(&srv, &pkce).await; // left unredeemed across the restart
        let at = t["access_token"].as_str().unwrap().to_owned();
        let kid = jwt_parts(&at).0["kid"].as_str().unwrap().to_owned();
        (
            srv.addr.port(),
            code,
            t["refresh_token"].as_str().unwrap().to_owned(),
            at,
            kid,
            dcr_id,
        )
    };
    let store: Arc<dyn switchyard_store::AuthStore> = Arc::new(SqlStore::open(&url).await.unwrap());
    // Same port, so the issuer is the same.
    let srv = start_with(Options {
        store: Some(store),
        port,
        ..Options::default()
    })
    .await;
    assert!(srv.store.client(&dcr_id).await.unwrap().is_some());
    assert!(
        active(&srv, &at).await,
        "access token still valid after restart"
    );
    let r = redeem(&srv, &code, &pkce).await;
    assert_eq!(r.status, 200, "code survives restart: {}", r.body);
    assert_eq!(
        jwt_parts(r.json()["access_token"].as_str().unwrap()).0["kid"],
        kid.as_str()
    );
    let r = token(
        &srv,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC_CLIENT),
            ("refresh_token", &rt),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "refresh token survives restart: {}", r.body);
}

#[tokio::test]
async fn users_are_managed_through_the_store() {
    let store = default_store().await;
    let name = unique("bob");
    switchyard_auth::server::add_user(store.as_ref(), &name, "a long password")
        .await
        .unwrap();
    assert!(switchyard_auth::server::list_users(store.as_ref())
        .await
        .unwrap()
        .contains(&name));
    let hash = store.user(&name).await.unwrap().unwrap().password_hash;
    assert!(hash.starts_with("$argon2id$"));
    assert!(
        switchyard_auth::server::add_user(store.as_ref(), "bad name", "a long password")
            .await
            .is_err()
    );
    assert!(switchyard_auth::server::remove_user(store.as_ref(), &name)
        .await
        .unwrap());
    assert!(!switchyard_auth::server::remove_user(store.as_ref(), &name)
        .await
        .unwrap());
}

#[tokio::test]
async fn script_facing_endpoints_allow_cross_origin_calls_but_pages_do_not() {
    let srv = start().await;
    let h = http();
    let pre = h
        .request(reqwest::Method::OPTIONS, srv.url("/token"))
        .header("origin", "https://inspector.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(pre.status(), 204);
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert!(pre.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    for path in ["/.well-known/oauth-authorization-server", "/jwks"] {
        let r = h.get(srv.url(path)).send().await.unwrap();
        assert_eq!(r.headers()["access-control-allow-origin"], "*", "{path}");
    }
    let r = token(&srv, &[("grant_type", "client_credentials")]).await;
    assert_eq!(
        r.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let page = Browser::new().get(&srv.url("/authorize")).await;
    assert!(page.header("access-control-allow-origin").is_none());
    let r = h.post(srv.url("/introspect")).send().await.unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
}

/// An upstream identity provider stand-in: "redirects" straight back to the callback as if the
/// user had signed in upstream as `bob`, carrying the pending handle and its own nonce.
struct FakeUpstream {
    nonces: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl switchyard_auth::server::IdentityProvider for FakeUpstream {
    async fn authenticate(
        &self,
        _: &str,
        _: &str,
    ) -> Result<Option<String>, switchyard_auth::server::ServerError> {
        Ok(None)
    }

    fn begin(&self, pending: &str, callback: &str) -> switchyard_auth::server::LoginStep {
        let nonce = unique("nonce");
        self.nonces.lock().unwrap().push(nonce.clone());
        switchyard_auth::server::LoginStep::Redirect(format!(
            "{callback}?user=bob&pending={pending}&nonce={nonce}"
        ))
    }

    async fn complete(
        &self,
        q: &std::collections::HashMap<String, String>,
    ) -> Result<Option<(String, String)>, switchyard_auth::server::ServerError> {
        let mut nonces = self.nonces.lock().unwrap();
        let Some(i) = nonces.iter().position(|n| Some(n) == q.get("nonce")) else {
            return Ok(None);
        };
        nonces.remove(i);
        Ok(Some((q["user"].clone(), q["pending"].clone())))
    }
}

#[tokio::test]
async fn an_upstream_identity_provider_can_replace_the_password_form() {
    let srv = start_with(Options {
        identity: Some(Arc::new(FakeUpstream {
            nonces: std::sync::Mutex::new(Vec::new()),
        })),
        ..Options::default()
    })
    .await;
    let pkce = Pkce::generate();
    let mut b = Browser::new();
    let first = b.get(&AuthReq::new(PUBLIC_CLIENT, &pkce).url(&srv)).await;
    assert_eq!(first.status, 302, "{}", first.body);
    let upstream = first.location().unwrap();
    assert!(upstream.as_str().starts_with(&srv.url("/login/callback?")));
    // A forged callback (unknown nonce) is refused.
    let forged = upstream.as_str().replace("nonce=", "nonce=x");
    let r = Browser::new().get(&forged).await;
    assert_eq!(r.status, 401);
    assert!(r.body.contains("access_denied"));
    let back = b.get(upstream.as_str()).await;
    assert_eq!(back.status, 303, "{}", back.body);
    let consent = b.get(back.location().unwrap().as_str()).await;
    assert!(
        consent.body.contains("Signed in as <strong>bob</strong>"),
        "{}",
        consent.body
    );
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
    let code = query(&r.location().unwrap(), "code").unwrap();
    let t = redeem(&srv, &code, &pkce).await;
    assert_eq!(
        jwt_parts(t.json()["access_token"].as_str().unwrap()).1["sub"],
        "bob"
    );
}
