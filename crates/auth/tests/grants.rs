#![allow(clippy::unwrap_used)]
//! Black-box tests of the machine grants (client credentials, JWT-bearer) against a fake AS
//! and RS on 127.0.0.1.

// Shared with tests/oauth.rs; this file uses only part of it.
#[allow(dead_code)]
mod fake;

use std::sync::Arc;

use fake::{spawn_pair, AsConfig, RsConfig};
use switchyard_auth::client::{
    AuthError, HeadlessAuthorizer, MemoryTokenStore, OAuthClient, OAuthConfig, PreRegistered,
    SsrfPolicy,
};

fn config() -> OAuthConfig {
    OAuthConfig::new(
        "test-client",
        "http://localhost:3000/callback",
        Arc::new(MemoryTokenStore::new()),
        Arc::new(HeadlessAuthorizer),
    )
    .with_ssrf(SsrfPolicy::danger_allow_loopback_http())
}

/// Hits the RS without a token, then hands the challenge to the client.
async fn authorize(c: &OAuthClient, p: &fake::Pair) -> Result<String, AuthError> {
    let (status, www) = p.call(None).await;
    assert_eq!(status, 401);
    c.handle_challenge(&p.rs.mcp_url(), status, www.as_deref())
        .await
}

/// The uncompressed point at the end of a P-256 SPKI PEM.
fn public_key(pem: &str) -> jsonwebtoken::DecodingKey {
    use base64::Engine as _;
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    jsonwebtoken::DecodingKey::from_ec_der(&der[der.len() - 65..])
}

#[tokio::test]
async fn client_credentials_grant_uses_the_pre_registered_secret_and_no_user_agent() {
    let as_cfg = AsConfig {
        registration: false,
        auth_methods: vec!["client_secret_basic".into()],
        scopes_supported: Some(vec!["mcp:basic".into(), "offline_access".into()]),
        ..AsConfig::default()
    };
    let rs = RsConfig {
        challenge_scope: Some("mcp:basic".into()),
        ..RsConfig::default()
    };
    let p = spawn_pair(as_cfg, rs).await;
    let cfg = config()
        .with_pre_registered(PreRegistered {
            client_id: "machine".into(),
            client_secret: Some("machine-secret".into()),
            issuer: None,
        })
        .with_grant(switchyard_auth::client::GrantType::ClientCredentials);
    let c = OAuthClient::new(cfg).unwrap();
    let t = authorize(&c, &p).await.unwrap();
    assert_eq!(p.call(Some(&t)).await.0, 200);
    let log = p.as_.log();
    assert!(log.authorizations.is_empty() && log.registrations.is_empty());
    let (form, auth) = &log.token_requests[0];
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["resource"], p.rs.mcp_url());
    assert_eq!(
        form["scope"], "mcp:basic",
        "no offline_access without refresh tokens"
    );
    use base64::Engine as _;
    let b64 = auth.as_deref().unwrap().strip_prefix("Basic ").unwrap();
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
        b"machine:machine-secret"
    );
    // Without a secret the configuration is refused up front.
    let bad = config()
        .with_pre_registered(PreRegistered {
            client_id: "machine".into(),
            client_secret: None,
            issuer: None,
        })
        .with_grant(switchyard_auth::client::GrantType::ClientCredentials);
    assert!(matches!(OAuthClient::new(bad), Err(AuthError::Config(_))));
}

#[tokio::test]
async fn client_credentials_with_private_key_jwt_sends_a_verifiable_assertion() {
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgY/Pr7hrIA99DEFNZ
lsXocxjikR4sJZjySgwbjC5FSXihRANCAAS/YkiwlFl8FcKLLmiGJlfiNyoUn0KN
Y3FiCwID2FqU39QT+JZcFHUxr0KvFW6/0LeOZb4a0W5V1D7rU9xyfdTz
-----END PRIVATE KEY-----
";
    const PUB: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEv2JIsJRZfBXCiy5ohiZX4jcqFJ9C
jWNxYgsCA9halN/UE/iWXBR1Ma9CrxVuv9C3jmW+GtFuVdQ+61Pccn3U8w==
-----END PUBLIC KEY-----
";
    let as_cfg = AsConfig {
        registration: false,
        auth_methods: vec!["private_key_jwt".into()],
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let cfg = config()
        .with_pre_registered(PreRegistered {
            client_id: "workload".into(),
            client_secret: None,
            issuer: None,
        })
        .with_signing_key(switchyard_auth::client::SigningKey::es256_pem(KEY).unwrap())
        .with_grant(switchyard_auth::client::GrantType::ClientCredentials);
    let t = authorize(&OAuthClient::new(cfg).unwrap(), &p)
        .await
        .unwrap();
    assert_eq!(p.call(Some(&t)).await.0, 200);
    let log = p.as_.log();
    let (form, auth) = &log.token_requests[0];
    assert!(auth.is_none());
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(
        form["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::ES256);
    v.set_audience(&[p.as_.issuer()]);
    v.set_issuer(&["workload"]);
    let claims =
        jsonwebtoken::decode::<serde_json::Value>(&form["client_assertion"], &public_key(PUB), &v)
            .unwrap()
            .claims;
    assert_eq!(claims["sub"], "workload");
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
}

#[tokio::test]
async fn jwt_bearer_presents_the_workload_assertion_once() {
    let as_cfg = AsConfig {
        registration: false,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let cfg = config()
        .with_pre_registered(PreRegistered {
            client_id: "workload-1".into(),
            client_secret: None,
            issuer: None,
        })
        .with_assertion(switchyard_auth::client::AssertionSource::Jwt(
            "eyJ.workload.jwt".into(),
        ))
        .with_grant(switchyard_auth::client::GrantType::JwtBearer);
    let t = authorize(&OAuthClient::new(cfg).unwrap(), &p)
        .await
        .unwrap();
    assert_eq!(p.call(Some(&t)).await.0, 200);
    let log = p.as_.log();
    assert!(log.authorizations.is_empty());
    let (form, auth) = &log.token_requests[0];
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    assert_eq!(form["assertion"], "eyJ.workload.jwt");
    assert_eq!(form["client_id"], "workload-1");
    assert_eq!(form["resource"], p.rs.mcp_url());
    assert!(auth.is_none());
}

#[tokio::test]
async fn enterprise_id_jag_is_exchanged_at_the_idp_then_presented_with_basic_auth() {
    use std::collections::HashMap;
    use std::sync::Mutex;
    // A fake IdP token endpoint that records the exchange.
    let seen: Arc<Mutex<Vec<HashMap<String, String>>>> = Arc::default();
    let s2 = seen.clone();
    let idp = axum::Router::new().route(
        "/token",
        axum::routing::post(move |body: String| {
            let seen = s2.clone();
            async move {
                seen.lock().unwrap().push(fake::parse_form(&body));
                axum::Json(serde_json::json!({
                    "access_token": "id-jag-xyz",
                    "issued_token_type": "urn:ietf:params:oauth:token-type:id-jag",
                    "token_type": "N_A",
                }))
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let idp_url = format!("http://{}/token", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, idp).await.unwrap() });

    let as_cfg = AsConfig {
        registration: false,
        auth_methods: vec!["client_secret_basic".into()],
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let cfg = config()
        .with_pre_registered(PreRegistered {
            client_id: "xaa-client".into(),
            client_secret: Some("xaa-secret".into()),
            issuer: None,
        })
        .with_assertion(switchyard_auth::client::AssertionSource::IdJag {
            idp_token_endpoint: idp_url,
            idp_client_id: "idp-client".into(),
            id_token: "eyJ.id.token".into(),
        })
        .with_grant(switchyard_auth::client::GrantType::JwtBearer);
    let t = authorize(&OAuthClient::new(cfg).unwrap(), &p)
        .await
        .unwrap();
    assert_eq!(p.call(Some(&t)).await.0, 200);

    let x = &seen.lock().unwrap()[0];
    assert_eq!(
        x["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(
        x["requested_token_type"],
        "urn:ietf:params:oauth:token-type:id-jag"
    );
    assert_eq!(x["audience"], p.as_.issuer());
    assert_eq!(x["resource"], p.rs.mcp_url());
    assert_eq!(x["subject_token"], "eyJ.id.token");
    assert_eq!(
        x["subject_token_type"],
        "urn:ietf:params:oauth:token-type:id_token"
    );
    assert_eq!(x["client_id"], "idp-client");

    let log = p.as_.log();
    let (form, auth) = &log.token_requests[0];
    assert_eq!(form["assertion"], "id-jag-xyz");
    assert!(auth.as_deref().unwrap().starts_with("Basic "));
    assert!(!form.contains_key("client_secret"));
}
