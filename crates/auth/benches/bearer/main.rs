//! Cost of a bearer-token check per request in the switchyard-auth resource layer.
//!
//! `cargo bench -p switchyard-auth --bench bearer` prints Markdown rows:
//! - `TokenVerifier::verify` alone (signature + claims, JWKS cached in memory), per algorithm;
//! - a tiny axum app called in-process (`tower::ServiceExt::oneshot`, no sockets) without the
//!   layer (baseline) and with it, so the difference is what the layer adds to one request;
//! - the same with a JWKS fetched over HTTP once and then served from the cache, and with a
//!   per-tool scope policy (the JSON-RPC body is buffered and parsed);
//! - a repeated token answered by the accepted-token cache (all other rows turn it off, so
//!   they pay for the signature on every request).
//!
//! Each figure is the median of 7 rounds; a round is `N` sequential requests on one thread.
#![allow(clippy::unwrap_used)] // a benchmark: any failure should abort loudly
#![allow(missing_docs)] // a benchmark binary, not a library

mod keys;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use http::Request;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use switchyard_auth::resource::{
    BearerLayer, JwkSet, JwksSource, ResourceConfig, ScopePolicy, TokenVerifier,
};
use tower::ServiceExt as _;

const RESOURCE: &str = "https://mcp.example.com/mcp";
const ISSUER: &str = "https://auth.example.com";
const ROUNDS: usize = 7;

struct Key {
    alg: Algorithm,
    enc: EncodingKey,
    jwk: Value,
}

fn ed25519() -> Key {
    let secret = [7u8; 32];
    let public = ed25519_dalek::SigningKey::from_bytes(&secret)
        .verifying_key()
        .to_bytes();
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&secret);
    Key {
        alg: Algorithm::EdDSA,
        enc: EncodingKey::from_ed_der(&der),
        jwk: json!({"kty":"OKP","crv":"Ed25519","x":URL_SAFE_NO_PAD.encode(public),
                    "kid":"k","alg":"EdDSA","use":"sig"}),
    }
}

fn es256() -> Key {
    Key {
        alg: Algorithm::ES256,
        enc: EncodingKey::from_ec_der(&STANDARD.decode(keys::EC_P8).unwrap()),
        jwk: json!({"kty":"EC","crv":"P-256","x":keys::EC_X,"y":keys::EC_Y,
                    "kid":"k","alg":"ES256","use":"sig"}),
    }
}

fn rs256() -> Key {
    Key {
        alg: Algorithm::RS256,
        enc: EncodingKey::from_rsa_der(&STANDARD.decode(keys::RSA_DER.concat()).unwrap()),
        jwk: json!({"kty":"RSA","n":keys::RSA_N.concat(),"e":"AQAB",
                    "kid":"k","alg":"RS256","use":"sig"}),
    }
}

fn token(key: &Key) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut h = Header::new(key.alg);
    h.kid = Some("k".into());
    let claims = json!({"iss":ISSUER,"aud":RESOURCE,"sub":"user-1","client_id":"c",
                        "exp":now + 3600,"iat":now,"scope":"mcp:read mcp:write"});
    encode(&h, &claims, &key.enc).unwrap()
}

fn config(key: &Key, jwks: Option<JwksSource>) -> ResourceConfig {
    let set: JwkSet = serde_json::from_value(json!({"keys":[key.jwk]})).unwrap();
    let mut cfg = ResourceConfig::new(RESOURCE, ISSUER, jwks.unwrap_or(JwksSource::Static(set)));
    cfg.required_scopes = ScopePolicy::default().always(["mcp:read"]);
    // Every request checks the signature, unless a row says otherwise.
    cfg.accepted_token_cache = Duration::ZERO;
    cfg
}

fn app() -> Router {
    Router::new().route("/mcp", post(|| async { "ok" }))
}

const BODY: &str =
    r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"search","arguments":{}}}"#;

/// Median ns per call of `f` over `ROUNDS` rounds of `n` calls.
async fn measure<F, Fut>(n: usize, mut f: F) -> f64
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..n / 10 + 1 {
        f().await; // warm-up
    }
    let mut per: Vec<f64> = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for _ in 0..n {
            f().await;
        }
        per.push(t.elapsed().as_nanos() as f64 / n as f64);
    }
    per.sort_by(|a, b| a.total_cmp(b));
    per[ROUNDS / 2]
}

async fn per_request(router: Router, token: &str, n: usize) -> f64 {
    let auth = format!("Bearer {token}");
    measure(n, || {
        let req = Request::post("/mcp")
            .header("authorization", &auth)
            .header("content-type", "application/json")
            .body(Body::from(BODY))
            .unwrap();
        let r = router.clone();
        async move {
            let resp = r.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), 200);
        }
    })
    .await
}

fn row(what: &str, ns: f64, baseline: Option<f64>) {
    let added = baseline.map_or("—".to_owned(), |b| format!("{:.0}", ns - b));
    println!("| {what} | {ns:.0} | {added} |");
}

async fn serve_jwks(set: Value) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", l.local_addr().unwrap());
    let app = Router::new().route("/jwks", get(move || async move { axum::Json(set) }));
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    url
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // `cargo bench` passes `--bench`; an optional number scales the iterations.
    let scale: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1);
    println!("| measurement | ns per request | added by the check |");
    println!("|---|---:|---:|");

    let baseline = per_request(app(), "unused", 20_000 * scale).await;
    row("baseline: axum app, no bearer layer", baseline, None);

    for key in [ed25519(), es256(), rs256()] {
        let n = 2_000 * scale;
        let t = token(&key);
        let cfg = config(&key, None);
        let v = TokenVerifier::new(&cfg).unwrap();
        assert!(v.verify(&t).await.is_ok());
        let ns = measure(n, || async {
            v.verify(&t).await.unwrap();
        })
        .await;
        row(
            &format!("{:?}: TokenVerifier::verify, cached JWKS", key.alg),
            ns,
            None,
        );
        let layered = app().layer(BearerLayer::new(cfg).unwrap());
        let ns = per_request(layered, &t, n).await;
        row(
            &format!("{:?}: app + BearerLayer, static JWKS", key.alg),
            ns,
            Some(baseline),
        );
    }

    // A remote JWKS: fetched once over HTTP, then every check hits the cache.
    let key = ed25519();
    let t = token(&key);
    let url = serve_jwks(json!({"keys":[key.jwk]})).await;
    let mut cfg = config(&key, Some(JwksSource::Url(url)));
    cfg.jwks_cache.ttl = Duration::from_secs(3600);
    let layered = app().layer(BearerLayer::new(cfg.clone()).unwrap());
    let ns = per_request(layered, &t, 2_000 * scale).await;
    row(
        "EdDSA: app + BearerLayer, JWKS over HTTP (cached)",
        ns,
        Some(baseline),
    );

    // Per-tool scopes: the body is buffered and parsed for `params.name`.
    cfg.required_scopes = ScopePolicy::default()
        .always(["mcp:read"])
        .tool("delete", ["mcp:write"]);
    let layered = app().layer(BearerLayer::new(cfg).unwrap());
    let ns = per_request(layered, &t, 2_000 * scale).await;
    row(
        "EdDSA: same + per-tool scope policy (body parsed)",
        ns,
        Some(baseline),
    );

    // A client repeating its token: the accepted-token cache answers after the first check.
    for key in [ed25519(), rs256()] {
        let t = token(&key);
        let mut cfg = config(&key, None);
        cfg.accepted_token_cache = Duration::from_secs(60);
        let v = TokenVerifier::new(&cfg).unwrap();
        let ns = measure(20_000 * scale, || async {
            v.verify(&t).await.unwrap();
        })
        .await;
        row(
            &format!(
                "{:?}: TokenVerifier::verify, repeated token (cache hit)",
                key.alg
            ),
            ns,
            None,
        );
        let layered = app().layer(BearerLayer::new(cfg).unwrap());
        let ns = per_request(layered, &t, 20_000 * scale).await;
        row(
            &format!(
                "{:?}: app + BearerLayer, repeated token (cache hit)",
                key.alg
            ),
            ns,
            Some(baseline),
        );
    }

    // What a refusal costs: no token at all (no crypto).
    let layered = app().layer(BearerLayer::new(config(&key, None)).unwrap());
    let ns = measure(20_000 * scale, || {
        let req = Request::post("/mcp").body(Body::from(BODY)).unwrap();
        let r = layered.clone();
        async move {
            let resp = r.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), 401);
        }
    })
    .await;
    row("missing token → 401 challenge", ns, Some(baseline));
}
