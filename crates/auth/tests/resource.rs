#![allow(clippy::unwrap_used)]
//! Black-box tests of the resource-server layer and the discovery documents: a tiny axum app
//! behind `BearerLayer` on 127.0.0.1, tokens minted here with test Ed25519 keys, and a local
//! issuer serving the JWKS (and an introspection endpoint) so fetching, caching and rotation run
//! over real HTTP.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use switchyard_auth::resource::{
    protected_resource_metadata_router, BearerLayer, ConfigError, IntrospectionConfig, JwkSet,
    JwksCachePolicy, JwksFuture, JwksProvider, JwksSource, Principal, ResourceConfig, ScopePolicy,
};
use tokio::net::TcpListener;

// ---------- keys and tokens ----------

/// An Ed25519 test key from a fixed seed.
struct TestKey {
    kid: String,
    enc: EncodingKey,
    jwk: Value,
}

fn test_key(seed: u8, kid: &str) -> TestKey {
    let secret = [seed; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes();
    // PKCS#8 v1 wrapping of an Ed25519 private key (RFC 8410): fixed prefix + 32-byte seed.
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&secret);
    TestKey {
        kid: kid.into(),
        enc: EncodingKey::from_ed_der(&der),
        jwk: json!({"kty":"OKP","crv":"Ed25519","x":URL_SAFE_NO_PAD.encode(public),
                    "kid":kid,"alg":"EdDSA","use":"sig"}),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn mint(key: &TestKey, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some(key.kid.clone());
    h.typ = Some("at+jwt".into());
    encode(&h, claims, &key.enc).unwrap()
}

/// A token with an arbitrary (unverified) header and claims and a junk signature.
fn forge(header: &Value, claims: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

// ---------- the issuer (JWKS + introspection) and the protected app ----------

#[derive(Default)]
struct Issuer {
    jwks: Mutex<Value>,
    jwks_fetches: AtomicUsize,
    introspections: AtomicUsize,
    /// Opaque token → introspection answer.
    opaque: Mutex<Vec<(String, Value)>>,
}

struct Env {
    issuer: Arc<Issuer>,
    issuer_url: String,
    resource: String,
    base: String,
    http: reqwest::Client,
    key: TestKey,
}

impl Env {
    fn claims(&self, scope: &str) -> Value {
        json!({"iss": self.issuer_url, "aud": self.resource, "sub": "user-1",
               "client_id": "client-1", "exp": now() + 300, "nbf": now() - 10,
               "iat": now(), "scope": scope})
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut r = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }

    /// POSTs a `tools/call` of `tool` to /mcp.
    async fn call(&self, token: Option<&str>, tool: &str) -> reqwest::Response {
        let body = json!({"jsonrpc":"2.0","id":1,"method":"tools/call",
                          "params":{"name":tool,"arguments":{}}});
        self.post("/mcp", token, &body).await
    }

    fn metadata_url(&self) -> String {
        format!("{}/.well-known/oauth-protected-resource/mcp", self.base)
    }
}

async fn spawn_issuer(issuer: Arc<Issuer>) -> String {
    let app = Router::new()
        .route(
            "/jwks",
            get(|Extension(i): Extension<Arc<Issuer>>| async move {
                i.jwks_fetches.fetch_add(1, Ordering::SeqCst);
                Json(i.jwks.lock().unwrap().clone())
            }),
        )
        .route(
            "/introspect",
            post(
                |Extension(i): Extension<Arc<Issuer>>, body: String| async move {
                    i.introspections.fetch_add(1, Ordering::SeqCst);
                    let token = url::form_urlencoded::parse(body.as_bytes())
                        .find(|(k, _)| k == "token")
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                    let known = i.opaque.lock().unwrap().clone();
                    let answer = known
                        .into_iter()
                        .find(|(t, _)| *t == token)
                        .map_or(json!({"active": false}), |(_, a)| a);
                    Json(answer)
                },
            ),
        )
        .layer(Extension(issuer));
    serve(app).await
}

async fn serve(app: Router) -> String {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

/// Echoes what the handler saw: the principal, the body byte for byte, and whether the
/// `Authorization` header reached it.
async fn echo(
    Extension(p): Extension<Principal>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Json<Value> {
    Json(
        json!({"sub": p.subject, "client_id": p.client_id, "scopes": p.scopes, "body": body,
                "authorization_seen": headers.contains_key("authorization")}),
    )
}

/// The app on a fresh port, with `tweak` applied to the default config.
async fn spawn(tweak: impl FnOnce(&mut ResourceConfig)) -> Env {
    let issuer = Arc::new(Issuer::default());
    let key = test_key(1, "k1");
    *issuer.jwks.lock().unwrap() = json!({"keys": [key.jwk]});
    let issuer_url = spawn_issuer(issuer.clone()).await;
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let resource = format!("{base}/mcp");
    let mut cfg = ResourceConfig::new(
        resource.clone(),
        issuer_url.clone(),
        JwksSource::Url(format!("{issuer_url}/jwks")),
    );
    cfg.jwks_cache = JwksCachePolicy {
        min_refetch_interval: Duration::from_secs(3600),
        ..JwksCachePolicy::default()
    };
    cfg.scopes_supported = vec!["mcp:read".into(), "mcp:write".into()];
    cfg.required_scopes = ScopePolicy::default()
        .always(["mcp:read"])
        .tool("delete_deal", ["mcp:write"])
        .implies("mcp:admin", ["mcp:read", "mcp:write"]);
    tweak(&mut cfg);
    let app = Router::new()
        .route("/mcp", post(echo))
        .layer(BearerLayer::new(cfg.clone()).unwrap())
        .merge(protected_resource_metadata_router(&cfg));
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    Env {
        issuer,
        issuer_url,
        resource,
        base,
        http: reqwest::Client::new(),
        key,
    }
}

async fn json_of(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.unwrap()).unwrap()
}

fn www(r: &reqwest::Response) -> String {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Asserts a `401 invalid_token` with exactly this description and the full challenge.
async fn assert_invalid_token(env: &Env, token: &str, description: &str) {
    let r = env.call(Some(token), "echo").await;
    assert_eq!(r.status(), 401, "{description}");
    assert_eq!(
        www(&r),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"{description}\", \
             resource_metadata=\"{}\", scope=\"mcp:read\"",
            env.metadata_url()
        )
    );
    let body: Value = json_of(r).await;
    assert_eq!(
        body,
        json!({"error": "invalid_token", "error_description": description})
    );
}

// ---------- accepted tokens ----------

#[tokio::test]
async fn token_for_this_resource_is_accepted_and_principal_and_body_reach_the_handler() {
    let env = spawn(|_| {}).await;
    let token = mint(&env.key, &env.claims("mcp:read"));
    let body = json!({"jsonrpc":"2.0","id":7,"method":"tools/call",
                      "params":{"name":"echo","arguments":{"x":"ü"}}});
    let r = env.post("/mcp", Some(&token), &body).await;
    assert_eq!(r.status(), 200);
    let got: Value = json_of(r).await;
    assert_eq!(got["sub"], "user-1");
    assert_eq!(got["client_id"], "client-1");
    assert_eq!(got["scopes"], json!(["mcp:read"]));
    // The buffered body is handed on unchanged.
    assert_eq!(got["body"], body.to_string());
    // The token itself does not reach the handler, so it cannot be passed through.
    assert_eq!(got["authorization_seen"], false);
}

#[tokio::test]
async fn audience_given_as_array_containing_the_resource_is_accepted() {
    let env = spawn(|_| {}).await;
    let mut c = env.claims("mcp:read");
    c["aud"] = json!(["https://other.example/mcp", env.resource]);
    assert_eq!(
        env.call(Some(&mint(&env.key, &c)), "echo").await.status(),
        200
    );
}

// ---------- refused tokens: one test per rule, each asserting the exact error ----------

#[tokio::test]
async fn token_minted_for_another_resource_is_refused() {
    let env = spawn(|_| {}).await;
    let mut c = env.claims("mcp:read");
    c["aud"] = json!("https://other.example.com/mcp");
    assert_invalid_token(
        &env,
        &mint(&env.key, &c),
        "token issued for another resource",
    )
    .await;
    // A token minted for a sibling path on the same host is another resource too.
    c["aud"] = json!(format!("{}/other", env.base));
    assert_invalid_token(
        &env,
        &mint(&env.key, &c),
        "token issued for another resource",
    )
    .await;
}

#[tokio::test]
async fn expired_token_is_refused() {
    let env = spawn(|_| {}).await;
    let mut c = env.claims("mcp:read");
    c["exp"] = json!(now() - 120); // beyond the 30 s leeway
    assert_invalid_token(&env, &mint(&env.key, &c), "token expired").await;
}

#[tokio::test]
async fn not_yet_valid_token_is_refused() {
    let env = spawn(|_| {}).await;
    let mut c = env.claims("mcp:read");
    c["nbf"] = json!(now() + 120);
    assert_invalid_token(&env, &mint(&env.key, &c), "token not yet valid").await;
}

#[tokio::test]
async fn alg_none_token_is_refused() {
    let env = spawn(|_| {}).await;
    let c = env.claims("mcp:read");
    let t = forge(&json!({"alg":"none","typ":"JWT","kid":"k1"}), &c, "");
    assert_invalid_token(&env, &t, "unsigned token (alg none)").await;
    let t = forge(&json!({"alg":"None","kid":"k1"}), &c, "");
    assert_invalid_token(&env, &t, "unsigned token (alg none)").await;
}

#[tokio::test]
async fn token_signed_with_the_wrong_key_is_refused() {
    let env = spawn(|_| {}).await;
    // Same kid as the issuer's key, different private key.
    let impostor = test_key(2, "k1");
    let t = mint(&impostor, &env.claims("mcp:read"));
    assert_invalid_token(&env, &t, "signature does not verify").await;
}

#[tokio::test]
async fn hmac_token_is_refused_even_when_keyed_with_public_material() {
    let env = spawn(|_| {}).await;
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("k1".into());
    let secret = env.key.jwk["x"].as_str().unwrap().as_bytes().to_vec();
    let t = encode(
        &h,
        &env.claims("mcp:read"),
        &EncodingKey::from_secret(&secret),
    )
    .unwrap();
    assert_invalid_token(&env, &t, "signing algorithm HS256 is not accepted").await;
}

#[tokio::test]
async fn token_from_another_issuer_is_refused() {
    let env = spawn(|_| {}).await;
    let mut c = env.claims("mcp:read");
    c["iss"] = json!("https://evil.example.com");
    assert_invalid_token(&env, &mint(&env.key, &c), "token issued by another issuer").await;
}

#[tokio::test]
async fn token_without_sub_is_refused() {
    let env = spawn(|_| {}).await;
    let mut c = env.claims("mcp:read");
    c.as_object_mut().unwrap().remove("sub");
    assert_invalid_token(&env, &mint(&env.key, &c), "claim sub missing or invalid").await;
}

#[tokio::test]
async fn garbage_token_is_refused_as_malformed() {
    let env = spawn(|_| {}).await;
    assert_invalid_token(&env, "not-a-jwt", "token is not a well-formed JWT").await;
    assert_invalid_token(&env, "a.b.c", "token is not a well-formed JWT").await;
}

#[tokio::test]
async fn missing_token_gets_401_with_resource_metadata_and_scope() {
    let env = spawn(|_| {}).await;
    let r = env.call(None, "echo").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        www(&r),
        format!(
            "Bearer resource_metadata=\"{}\", scope=\"mcp:read\"",
            env.metadata_url()
        )
    );
}

#[tokio::test]
async fn insufficient_scope_gets_403_listing_every_scope_the_request_needs() {
    let env = spawn(|_| {}).await;
    let token = mint(&env.key, &env.claims("mcp:read"));
    assert_eq!(env.call(Some(&token), "echo").await.status(), 200);
    let r = env.call(Some(&token), "delete_deal").await;
    assert_eq!(r.status(), 403);
    assert_eq!(
        www(&r),
        format!(
            "Bearer error=\"insufficient_scope\", error_description=\"token lacks required \
             scopes\", resource_metadata=\"{}\", scope=\"mcp:read mcp:write\"",
            env.metadata_url()
        )
    );
    // With the scope, the same call goes through.
    let token = mint(&env.key, &env.claims("mcp:read mcp:write"));
    assert_eq!(env.call(Some(&token), "delete_deal").await.status(), 200);
}

#[tokio::test]
async fn scope_hierarchy_is_honoured() {
    let env = spawn(|_| {}).await;
    let token = mint(&env.key, &env.claims("mcp:admin"));
    assert_eq!(env.call(Some(&token), "delete_deal").await.status(), 200);
}

#[tokio::test]
async fn per_method_scopes_apply_to_every_message_of_a_batch() {
    let env = spawn(|c| {
        c.required_scopes = ScopePolicy::default().method("tools/list", ["mcp:list"]);
    })
    .await;
    let token = mint(&env.key, &env.claims("mcp:read"));
    let batch = json!([{"jsonrpc":"2.0","id":1,"method":"ping"},
                       {"jsonrpc":"2.0","id":2,"method":"tools/list"}]);
    let r = env.post("/mcp", Some(&token), &batch).await;
    assert_eq!(r.status(), 403);
    assert!(www(&r).ends_with("scope=\"mcp:list\""), "{}", www(&r));
}

#[tokio::test]
async fn token_in_query_string_is_refused() {
    let env = spawn(|_| {}).await;
    let token = mint(&env.key, &env.claims("mcp:read"));
    let url = format!("{}/mcp?access_token={token}", env.base);
    let r = env.http.post(&url).body("{}").send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert!(www(&r).starts_with(
        "Bearer error=\"invalid_request\", error_description=\"bearer token in the query \
         string is not accepted\""
    ));
    // Also when a valid header is sent alongside.
    let r = env
        .http
        .post(&url)
        .bearer_auth(&token)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn oversized_body_is_refused_before_parsing() {
    let env = spawn(|_| {}).await;
    let token = mint(&env.key, &env.claims("mcp:read"));
    let big = "x".repeat(switchyard_auth::resource::MAX_INSPECTED_BODY + 1);
    let r = env.post("/mcp", Some(&token), &json!({"pad": big})).await;
    assert_eq!(r.status(), 413);
}

// ---------- JWKS fetching, caching and rotation ----------

#[tokio::test]
async fn jwks_is_fetched_once_cached_and_refetched_for_a_rotated_key() {
    let env = spawn(|c| {
        c.jwks_cache.min_refetch_interval = Duration::ZERO;
        c.accepted_token_cache = Duration::ZERO;
    })
    .await;
    let t1 = mint(&env.key, &env.claims("mcp:read"));
    for _ in 0..3 {
        assert_eq!(env.call(Some(&t1), "echo").await.status(), 200);
    }
    assert_eq!(env.issuer.jwks_fetches.load(Ordering::SeqCst), 1);

    // The issuer rotates: k2 in, k1 out. A k2 token triggers one refetch and is accepted.
    let k2 = test_key(3, "k2");
    *env.issuer.jwks.lock().unwrap() = json!({"keys": [k2.jwk]});
    let t2 = mint(&k2, &env.claims("mcp:read"));
    assert_eq!(env.call(Some(&t2), "echo").await.status(), 200);
    assert_eq!(env.issuer.jwks_fetches.load(Ordering::SeqCst), 2);
    // The retired key's tokens now fail: its kid is unknown after a refetch.
    assert_invalid_token(&env, &t1, "signing key is unknown").await;
}

#[tokio::test]
async fn accepted_token_is_remembered_across_key_retirement_but_new_tokens_are_not() {
    let env = spawn(|c| c.jwks_cache.min_refetch_interval = Duration::ZERO).await;
    let t1 = mint(&env.key, &env.claims("mcp:read"));
    assert_eq!(env.call(Some(&t1), "echo").await.status(), 200);
    let k2 = test_key(3, "k2");
    *env.issuer.jwks.lock().unwrap() = json!({"keys": [k2.jwk]});
    let t2 = mint(&k2, &env.claims("mcp:read"));
    assert_eq!(env.call(Some(&t2), "echo").await.status(), 200);
    // t1 was verified before the rotation: remembered (at most accepted_token_cache, 60 s).
    assert_eq!(env.call(Some(&t1), "echo").await.status(), 200);
    // A token the retired key signs now is checked afresh and refused.
    let mut c = env.claims("mcp:read");
    c["sub"] = json!("user-2");
    assert_invalid_token(&env, &mint(&env.key, &c), "signing key is unknown").await;
}

#[tokio::test]
async fn remembered_token_still_expires_at_its_exp() {
    let env = spawn(|c| c.leeway = Duration::ZERO).await;
    let mut c = env.claims("mcp:read");
    c["exp"] = json!(now() + 2);
    let t = mint(&env.key, &c);
    assert_eq!(env.call(Some(&t), "echo").await.status(), 200);
    assert_eq!(env.call(Some(&t), "echo").await.status(), 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_invalid_token(&env, &t, "token expired").await;
}

#[tokio::test]
async fn unknown_kids_refetch_at_most_once_per_interval() {
    let env = spawn(|_| {}).await; // min_refetch_interval = 1 h
    let ok = mint(&env.key, &env.claims("mcp:read"));
    assert_eq!(env.call(Some(&ok), "echo").await.status(), 200);
    assert_eq!(env.issuer.jwks_fetches.load(Ordering::SeqCst), 1);
    for i in 0..5 {
        let forged = test_key(9, &format!("forged-{i}"));
        let t = mint(&forged, &env.claims("mcp:read"));
        assert_invalid_token(&env, &t, "signing key is unknown").await;
    }
    // The first fetch was within the interval, so forged kids caused no fetch at all.
    assert_eq!(env.issuer.jwks_fetches.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn static_jwks_needs_no_fetch() {
    let key = test_key(4, "s1");
    let set: JwkSet = serde_json::from_value(json!({"keys": [key.jwk]})).unwrap();
    let env = spawn(|c| c.jwks = JwksSource::Static(set)).await;
    let mut claims = env.claims("mcp:read");
    claims["iss"] = json!(env.issuer_url);
    assert_eq!(
        env.call(Some(&mint(&key, &claims)), "echo").await.status(),
        200
    );
    assert_eq!(env.issuer.jwks_fetches.load(Ordering::SeqCst), 0);
}

/// An in-process key provider, as the built-in authorization server would be.
struct Provider {
    set: Mutex<JwkSet>,
    asked: AtomicUsize,
}

impl JwksProvider for Provider {
    fn jwks(&self) -> JwksFuture<'_> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let set = self.set.lock().unwrap().clone();
        Box::pin(async move { Ok(set) })
    }
}

#[tokio::test]
async fn in_process_provider_keys_follow_rotation() {
    let k1 = test_key(5, "p1");
    let provider = Arc::new(Provider {
        set: Mutex::new(serde_json::from_value(json!({"keys": [k1.jwk]})).unwrap()),
        asked: AtomicUsize::new(0),
    });
    let p = provider.clone();
    let env = spawn(move |c| {
        c.jwks = JwksSource::Provider(p);
        c.jwks_cache.min_refetch_interval = Duration::ZERO;
    })
    .await;
    let t1 = mint(&k1, &env.claims("mcp:read"));
    assert_eq!(env.call(Some(&t1), "echo").await.status(), 200);
    assert_eq!(provider.asked.load(Ordering::SeqCst), 1);
    let k2 = test_key(6, "p2");
    *provider.set.lock().unwrap() = serde_json::from_value(json!({"keys": [k2.jwk]})).unwrap();
    let t2 = mint(&k2, &env.claims("mcp:read"));
    assert_eq!(env.call(Some(&t2), "echo").await.status(), 200);
    assert_eq!(provider.asked.load(Ordering::SeqCst), 2);
    assert_eq!(env.issuer.jwks_fetches.load(Ordering::SeqCst), 0);
}

// ---------- opaque tokens ----------

#[tokio::test]
async fn opaque_token_is_introspected_once_and_cached() {
    let env = spawn(|c| {
        c.introspection = Some(IntrospectionConfig {
            endpoint: format!("{}/introspect", c.issuer),
            client_id: "rs".into(),
            client_secret: "rs-secret".into(),
            max_cache: Duration::from_secs(60),
        });
    })
    .await;
    let answer = |aud: &str| {
        json!({"active": true, "iss": env.issuer_url, "aud": aud, "sub": "user-9",
               "scope": "mcp:read", "exp": now() + 300})
    };
    env.issuer.opaque.lock().unwrap().extend([
        ("opaque-good".to_owned(), answer(&env.resource)),
        (
            "opaque-elsewhere".to_owned(),
            answer("https://other.example/mcp"),
        ),
    ]);
    for _ in 0..3 {
        assert_eq!(env.call(Some("opaque-good"), "echo").await.status(), 200);
    }
    assert_eq!(env.issuer.introspections.load(Ordering::SeqCst), 1);
    assert_invalid_token(
        &env,
        "opaque-elsewhere",
        "token issued for another resource",
    )
    .await;
    assert_invalid_token(&env, "opaque-unknown", "token is not active").await;
}

// ---------- configuration ----------

#[test]
fn symmetric_algorithms_cannot_be_allowed() {
    let mut cfg = ResourceConfig::new(
        "https://mcp.example.com/mcp",
        "https://as.example.com",
        JwksSource::Static(JwkSet::default()),
    );
    cfg.allowed_algs = vec![Algorithm::HS256];
    assert_eq!(
        BearerLayer::new(cfg).unwrap_err(),
        ConfigError::SymmetricAlgorithm(Algorithm::HS256)
    );
}

#[test]
fn resource_with_fragment_is_refused() {
    let cfg = ResourceConfig::new(
        "https://mcp.example.com/mcp#x",
        "https://as.example.com",
        JwksSource::Static(JwkSet::default()),
    );
    assert!(matches!(
        BearerLayer::new(cfg),
        Err(ConfigError::InvalidResource(_))
    ));
}

// ---------- protected-resource metadata ----------

#[tokio::test]
async fn protected_resource_metadata_is_served_at_path_inserted_and_root_uris() {
    let env = spawn(|_| {}).await;
    for url in [
        env.metadata_url(),
        format!("{}/.well-known/oauth-protected-resource", env.base),
    ] {
        let r = env.http.get(&url).send().await.unwrap();
        assert_eq!(r.status(), 200, "{url}");
        assert_eq!(r.headers()["access-control-allow-origin"], "*");
        let doc: Value = json_of(r).await;
        assert_eq!(doc["resource"], env.resource);
        assert_eq!(doc["authorization_servers"], json!([env.issuer_url]));
        assert_eq!(doc["scopes_supported"], json!(["mcp:read", "mcp:write"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }
}
