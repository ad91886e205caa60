#![allow(clippy::unwrap_used)]
//! Black-box tests of the OAuth client against a fake AS and RS on 127.0.0.1.

mod fake;

use std::sync::Arc;

use fake::{spawn_pair, AsConfig, IssMode, MetadataAt, PrmAt, RsConfig};
use switchyard_auth::client::pkce::s256_challenge;
use switchyard_auth::client::{
    AuthError, FileTokenStore, HeadlessAuthorizer, MemoryTokenStore, OAuthClient, OAuthConfig,
    PreRegistered, SsrfPolicy, TokenStore,
};

const REDIRECT: &str = "http://localhost:3000/callback";

fn config(store: Arc<dyn TokenStore>) -> OAuthConfig {
    OAuthConfig::new("test-client", REDIRECT, store, Arc::new(HeadlessAuthorizer))
        .with_ssrf(SsrfPolicy::danger_allow_loopback_http())
}

fn client() -> OAuthClient {
    OAuthClient::new(config(Arc::new(MemoryTokenStore::new()))).unwrap()
}

/// Hits the RS without a token, then hands the challenge to the client.
async fn authorize(c: &OAuthClient, p: &fake::Pair) -> Result<String, AuthError> {
    let (status, www) = p.call(None).await;
    assert_eq!(status, 401);
    c.handle_challenge(&p.rs.mcp_url(), status, www.as_deref())
        .await
}

#[tokio::test]
async fn full_authorization_code_flow_with_dynamic_registration() {
    let p = spawn_pair(AsConfig::default(), RsConfig::default()).await;
    let c = client();
    let mcp = p.rs.mcp_url();
    assert_eq!(c.token_for(&mcp).await, None);

    let token = authorize(&c, &p).await.unwrap();
    assert_eq!(p.call(Some(&token)).await.0, 200);
    assert_eq!(c.token_for(&mcp).await.as_deref(), Some(token.as_str()));

    let log = p.as_.log();
    // Registration: native app, refresh_token grant, the auth method the AS supports.
    assert_eq!(log.registrations.len(), 1);
    let reg = &log.registrations[0];
    assert_eq!(reg["application_type"], "native");
    assert_eq!(reg["redirect_uris"][0], REDIRECT);
    assert!(reg["grant_types"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g == "refresh_token"));
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    // Authorization request: PKCE S256, state, resource verbatim, no scope (none known).
    assert_eq!(log.authorizations.len(), 1);
    let az = &log.authorizations[0];
    assert_eq!(az["response_type"], "code");
    assert_eq!(az["client_id"], "dcr-client");
    assert_eq!(az["code_challenge_method"], "S256");
    assert_eq!(az["resource"], mcp);
    assert_eq!(az["redirect_uri"], REDIRECT);
    assert!(az["state"].len() >= 16);
    assert!(!az.contains_key("scope"));
    // Token request: verifier matches the challenge, same resource and redirect URI.
    assert_eq!(log.token_requests.len(), 1);
    let (form, auth) = &log.token_requests[0];
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(s256_challenge(&form["code_verifier"]), az["code_challenge"]);
    assert_eq!(form["resource"], mcp);
    assert_eq!(form["redirect_uri"], REDIRECT);
    assert_eq!(form["client_id"], "dcr-client");
    assert!(auth.is_none());
    assert!(!form.contains_key("client_secret"));
}

#[tokio::test]
async fn pathless_resource_is_sent_without_trailing_slash() {
    let rs = RsConfig {
        prm_at: PrmAt::Root,
        header_has_prm: false,
        ..RsConfig::default()
    };
    let p = spawn_pair(AsConfig::default(), rs).await;
    authorize(&client(), &p).await.unwrap();
    // Path-based PRM first, then the root.
    assert_eq!(
        *p.rs.prm_hits.lock().unwrap(),
        vec![
            "/.well-known/oauth-protected-resource/mcp",
            "/.well-known/oauth-protected-resource"
        ]
    );
    let log = p.as_.log();
    assert_eq!(log.authorizations[0]["resource"], p.rs.base);
    assert!(!p.rs.base.ends_with('/'));
    assert_eq!(log.token_requests[0].0["resource"], p.rs.base);
}

#[tokio::test]
async fn challenge_resource_metadata_url_is_used_first() {
    let rs = RsConfig {
        prm_at: PrmAt::Custom,
        ..RsConfig::default()
    };
    let p = spawn_pair(AsConfig::default(), rs).await;
    authorize(&client(), &p).await.unwrap();
    assert_eq!(*p.rs.prm_hits.lock().unwrap(), vec!["/custom/prm.json"]);
}

#[tokio::test]
async fn issuer_with_path_walks_candidates_in_order_and_never_probes_the_root() {
    for (at, expect) in [
        (
            MetadataAt::OAuthInserted,
            vec!["/.well-known/oauth-authorization-server/tenant1"],
        ),
        (
            MetadataAt::OidcInserted,
            vec![
                "/.well-known/oauth-authorization-server/tenant1",
                "/.well-known/openid-configuration/tenant1",
            ],
        ),
        (
            MetadataAt::OidcAppended,
            vec![
                "/.well-known/oauth-authorization-server/tenant1",
                "/.well-known/openid-configuration/tenant1",
                "/tenant1/.well-known/openid-configuration",
            ],
        ),
    ] {
        let as_cfg = AsConfig {
            prefix: "/tenant1".into(),
            metadata_at: at,
            ..AsConfig::default()
        };
        let p = spawn_pair(as_cfg, RsConfig::default()).await;
        authorize(&client(), &p).await.unwrap();
        let log = p.as_.log();
        let discovery: Vec<&str> = log
            .paths
            .iter()
            .map(String::as_str)
            .filter(|x| x.contains(".well-known"))
            .collect();
        assert_eq!(discovery, expect, "{at:?}");
        assert_eq!(log.paths.last().map(String::as_str), Some("/tenant1/token"));
    }
}

#[tokio::test]
async fn issuer_without_path_falls_back_to_openid_configuration() {
    let as_cfg = AsConfig {
        metadata_at: MetadataAt::OidcInserted,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    authorize(&client(), &p).await.unwrap();
    assert_eq!(
        p.as_.log().paths[..2],
        [
            "/.well-known/oauth-authorization-server",
            "/.well-known/openid-configuration"
        ]
    );
}

#[tokio::test]
async fn metadata_with_another_issuer_is_refused_before_any_endpoint_is_used() {
    let as_cfg = AsConfig {
        issuer_override: Some("https://attacker.example.com".into()),
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let e = authorize(&client(), &p).await.unwrap_err();
    assert!(matches!(e, AuthError::IssuerMismatch { .. }), "{e}");
    let log = p.as_.log();
    assert_eq!(log.paths, vec!["/.well-known/oauth-authorization-server"]);
}

#[tokio::test]
async fn prm_naming_another_resource_is_refused_before_authorization() {
    let rs = RsConfig {
        resource_override: Some("https://evil.example.com/mcp".into()),
        ..RsConfig::default()
    };
    let p = spawn_pair(AsConfig::default(), rs).await;
    let e = authorize(&client(), &p).await.unwrap_err();
    assert!(matches!(e, AuthError::ResourceMismatch { .. }), "{e}");
    assert!(p.as_.log().paths.is_empty());
}

async fn iss_case(mode: IssMode, advertise: bool) -> (Result<String, AuthError>, usize) {
    let as_cfg = AsConfig {
        iss: mode,
        advertise_iss: advertise,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let r = authorize(&client(), &p).await;
    let log = p.as_.log();
    assert_eq!(log.authorizations.len(), 1);
    (r, log.token_requests.len())
}

#[tokio::test]
async fn iss_rules_are_enforced_before_the_token_request() {
    let (r, tokens) = iss_case(IssMode::Correct, true).await;
    assert!(r.is_ok() && tokens == 1);
    let (r, tokens) = iss_case(IssMode::Missing, false).await;
    assert!(r.is_ok() && tokens == 1);
    let (r, tokens) = iss_case(IssMode::Missing, true).await;
    assert!(matches!(r, Err(AuthError::IssMissing { .. })) && tokens == 0);
    let (r, tokens) = iss_case(IssMode::Wrong, true).await;
    assert!(matches!(r, Err(AuthError::IssMismatch { .. })) && tokens == 0);
    let (r, tokens) = iss_case(IssMode::Wrong, false).await;
    assert!(matches!(r, Err(AuthError::IssMismatch { .. })) && tokens == 0);
    let (r, tokens) = iss_case(IssMode::TrailingSlash, true).await;
    assert!(matches!(r, Err(AuthError::IssMismatch { .. })) && tokens == 0);
}

#[tokio::test]
async fn authorization_server_without_s256_is_refused() {
    for methods in [None, Some(vec!["plain".to_string()])] {
        let as_cfg = AsConfig {
            pkce_methods: methods,
            ..AsConfig::default()
        };
        let p = spawn_pair(as_cfg, RsConfig::default()).await;
        let e = authorize(&client(), &p).await.unwrap_err();
        assert!(matches!(e, AuthError::PkceUnsupported { .. }), "{e}");
        assert!(p.as_.log().authorizations.is_empty());
    }
}

#[tokio::test]
async fn scopes_come_from_the_challenge_then_step_up_requests_the_union() {
    let rs = RsConfig {
        challenge_scope: Some("mcp:basic".into()),
        scopes_supported: Some(vec!["mcp:profile".into()]),
        required_scope: Some("mcp:basic mcp:write".into()),
        ..RsConfig::default()
    };
    let as_cfg = AsConfig {
        scopes_supported: Some(vec!["mcp:basic".into(), "mcp:write".into()]),
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, rs).await;
    let c = client();
    let t1 = authorize(&c, &p).await.unwrap();
    let (status, www) = p.call(Some(&t1)).await;
    assert_eq!(status, 403);
    let t2 = c
        .handle_challenge(&p.rs.mcp_url(), status, www.as_deref())
        .await
        .unwrap();
    assert_eq!(p.call(Some(&t2)).await.0, 200);
    let log = p.as_.log();
    assert_eq!(log.authorizations[0]["scope"], "mcp:basic");
    assert_eq!(log.authorizations[1]["scope"], "mcp:basic mcp:write");
    // The registered client is reused for the step-up.
    assert_eq!(log.registrations.len(), 1);
}

#[tokio::test]
async fn offline_access_is_added_only_when_the_as_lists_it() {
    for (as_scopes, expect) in [
        (
            Some(vec!["mcp:basic".to_string(), "offline_access".to_string()]),
            "mcp:basic offline_access",
        ),
        (Some(vec!["mcp:basic".to_string()]), "mcp:basic"),
        (None, "mcp:basic"),
    ] {
        let rs = RsConfig {
            scopes_supported: Some(vec!["mcp:basic".into()]),
            ..RsConfig::default()
        };
        let as_cfg = AsConfig {
            scopes_supported: as_scopes,
            ..AsConfig::default()
        };
        let p = spawn_pair(as_cfg, rs).await;
        authorize(&client(), &p).await.unwrap();
        assert_eq!(p.as_.log().authorizations[0]["scope"], expect);
    }
}

#[tokio::test]
async fn step_up_for_scopes_already_granted_gives_up_and_retries_are_bounded() {
    let rs = RsConfig {
        challenge_scope: Some("mcp:admin".into()),
        required_scope: Some("mcp:admin".into()),
        forbid_all: true,
        ..RsConfig::default()
    };
    let p = spawn_pair(AsConfig::default(), rs).await;
    let c = OAuthClient::new(config(Arc::new(MemoryTokenStore::new())).with_max_authorizations(2))
        .unwrap();
    let t = authorize(&c, &p).await.unwrap();
    let (status, www) = p.call(Some(&t)).await;
    assert_eq!(status, 403);
    // The token already carries mcp:admin: another authorization cannot help.
    let e = c
        .handle_challenge(&p.rs.mcp_url(), status, www.as_deref())
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::InsufficientScope { .. }), "{e}");
    assert_eq!(p.as_.log().authorizations.len(), 1);
    // Plain 401s re-authorize up to the limit, then stop.
    authorize(&c, &p).await.unwrap();
    let e = authorize(&c, &p).await.unwrap_err();
    assert!(matches!(e, AuthError::RetryLimit { limit: 2, .. }), "{e}");
    assert_eq!(p.as_.log().authorizations.len(), 2);
}

#[tokio::test]
async fn non_challenges_are_rejected() {
    let c = client();
    let e = c
        .handle_challenge(
            "http://127.0.0.1:1/mcp",
            403,
            Some("Bearer error=\"invalid_token\""),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::NotAChallenge { status: 403 }));
    let e = c
        .handle_challenge("http://127.0.0.1:1/mcp", 500, None)
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::NotAChallenge { status: 500 }));
}

#[tokio::test]
async fn pre_registered_credentials_use_client_secret_basic() {
    let as_cfg = AsConfig {
        registration: false,
        auth_methods: vec!["client_secret_basic".into()],
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let cfg = config(Arc::new(MemoryTokenStore::new())).with_pre_registered(PreRegistered {
        client_id: "pre client".into(),
        client_secret: Some("s:cret".into()),
        issuer: Some(p.as_.issuer()),
    });
    let c = OAuthClient::new(cfg).unwrap();
    authorize(&c, &p).await.unwrap();
    let log = p.as_.log();
    assert!(log.registrations.is_empty());
    let (form, auth) = &log.token_requests[0];
    use base64::Engine as _;
    let b64 = auth.as_deref().unwrap().strip_prefix("Basic ").unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    assert_eq!(decoded, b"pre+client:s%3Acret");
    assert!(!form.contains_key("client_secret"));
}

#[tokio::test]
async fn pre_registered_credentials_for_another_issuer_are_not_used() {
    let as_cfg = AsConfig {
        registration: false,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let cfg = config(Arc::new(MemoryTokenStore::new())).with_pre_registered(PreRegistered {
        client_id: "other-as-client".into(),
        client_secret: Some("x".into()),
        issuer: Some("https://other.example".into()),
    });
    let e = authorize(&OAuthClient::new(cfg).unwrap(), &p)
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::NoRegistrationMethod { .. }), "{e}");
    assert!(p.as_.log().authorizations.is_empty());
}

#[tokio::test]
async fn client_id_metadata_document_is_preferred_over_registration() {
    let as_cfg = AsConfig {
        cimd: true,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let cimd = "https://app.example/client.json";
    let cfg = config(Arc::new(MemoryTokenStore::new())).with_client_id_metadata_url(cimd);
    authorize(&OAuthClient::new(cfg).unwrap(), &p)
        .await
        .unwrap();
    let log = p.as_.log();
    assert!(log.registrations.is_empty());
    assert_eq!(log.authorizations[0]["client_id"], cimd);
    assert_eq!(log.token_requests[0].0["client_id"], cimd);
}

#[tokio::test]
async fn secret_from_registration_is_sent_with_the_method_the_as_assigned() {
    let as_cfg = AsConfig {
        auth_methods: vec!["client_secret_post".into()],
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    authorize(&client(), &p).await.unwrap();
    let log = p.as_.log();
    assert_eq!(
        log.registrations[0]["token_endpoint_auth_method"],
        "client_secret_post"
    );
    let (form, auth) = &log.token_requests[0];
    assert!(auth.is_none());
    assert_eq!(form["client_secret"], "dcr-secret");
}

#[tokio::test]
async fn new_authorization_server_gets_a_new_registration_and_never_the_old_client_id() {
    let as1 = AsConfig {
        client_id: "as1-client-id-LEAKED-IF-SEEN-AT-AS2".into(),
        token_prefix: "as1".into(),
        ..AsConfig::default()
    };
    let p = spawn_pair(as1, RsConfig::default()).await;
    let as2 = fake::spawn_as(
        AsConfig {
            client_id: "as2-client-id".into(),
            token_prefix: "as2".into(),
            ..AsConfig::default()
        },
        p.rs.valid_tokens.clone(),
    )
    .await;
    let c = client();
    let mcp = p.rs.mcp_url();
    let t1 = authorize(&c, &p).await.unwrap();
    // The server moves to AS2 and stops accepting AS1's tokens.
    *p.rs.auth_servers.lock().unwrap() = vec![as2.issuer()];
    p.rs.valid_tokens.lock().unwrap().retain(|t| t != &t1);
    let (status, www) = p.call(Some(&t1)).await;
    assert_eq!(status, 401);
    let t2 = c
        .handle_challenge(&mcp, status, www.as_deref())
        .await
        .unwrap();
    assert!(t2.starts_with("as2-"), "{t2}");
    assert_eq!(p.call(Some(&t2)).await.0, 200);
    assert_eq!(c.token_for(&mcp).await.as_deref(), Some(t2.as_str()));
    let log2 = as2.log();
    assert_eq!(log2.registrations.len(), 1);
    assert_eq!(log2.authorizations[0]["client_id"], "as2-client-id");
    assert_eq!(log2.token_requests[0].0["client_id"], "as2-client-id");
    let seen = format!("{:?}", *log2);
    assert!(!seen.contains("LEAKED"), "AS1 credentials reached AS2");
}

#[tokio::test]
async fn expired_token_is_refreshed_with_rotation_and_resource() {
    let as_cfg = AsConfig {
        refresh_tokens: true,
        expires_in: 0,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let c = client();
    let mcp = p.rs.mcp_url();
    let t1 = authorize(&c, &p).await.unwrap();
    let t2 = c.token_for(&mcp).await.unwrap();
    assert_ne!(t1, t2);
    let t3 = c.token_for(&mcp).await.unwrap();
    assert_ne!(t2, t3);
    let log = p.as_.log();
    assert_eq!(log.authorizations.len(), 1);
    assert_eq!(log.token_requests.len(), 3);
    let r1 = &log.token_requests[1].0;
    assert_eq!(r1["grant_type"], "refresh_token");
    assert_eq!(r1["refresh_token"], log.issued_refresh[0]);
    assert_eq!(r1["resource"], mcp);
    // The rotated refresh token replaced the first one.
    assert_eq!(
        log.token_requests[2].0["refresh_token"],
        log.issued_refresh[1]
    );
}

#[tokio::test]
async fn a_401_is_answered_by_one_refresh_then_by_a_new_authorization() {
    let as_cfg = AsConfig {
        refresh_tokens: true,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let c = client();
    let mcp = p.rs.mcp_url();
    let revoke = |t: &str| p.rs.valid_tokens.lock().unwrap().retain(|x| x != t);
    let t1 = authorize(&c, &p).await.unwrap();
    revoke(&t1);
    let (status, www) = p.call(Some(&t1)).await;
    let t2 = c
        .handle_challenge(&mcp, status, www.as_deref())
        .await
        .unwrap();
    assert_eq!(p.call(Some(&t2)).await.0, 200);
    assert_eq!(p.as_.log().authorizations.len(), 1);
    assert_eq!(
        p.as_.log().token_requests[1].0["grant_type"],
        "refresh_token"
    );
    revoke(&t2);
    let (status, www) = p.call(Some(&t2)).await;
    let t3 = c
        .handle_challenge(&mcp, status, www.as_deref())
        .await
        .unwrap();
    assert_eq!(p.call(Some(&t3)).await.0, 200);
    assert_eq!(p.as_.log().authorizations.len(), 2);
}

#[tokio::test]
async fn file_store_keeps_tokens_across_clients_and_logout_forgets_them() {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-auth-it-{}-{}",
        std::process::id(),
        switchyard_auth::client::pkce::new_state()
    ));
    let path = dir.join("tokens.json");
    let p = spawn_pair(AsConfig::default(), RsConfig::default()).await;
    let mcp = p.rs.mcp_url();
    let c1 = OAuthClient::new(config(Arc::new(FileTokenStore::open(&path).unwrap()))).unwrap();
    let t = authorize(&c1, &p).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let store2 = Arc::new(FileTokenStore::open(&path).unwrap());
    let c2 = OAuthClient::new(config(store2.clone())).unwrap();
    assert_eq!(c2.token_for(&mcp).await.as_deref(), Some(t.as_str()));
    // A URL outside the resource gets nothing.
    assert_eq!(c2.token_for(&format!("{}/other", p.rs.base)).await, None);

    c2.logout(&mcp, false).await.unwrap();
    assert_eq!(c2.token_for(&mcp).await, None);
    let keys = store2.keys().unwrap();
    assert_eq!(keys.len(), 1, "registration kept");
    assert!(store2.load(&keys[0]).unwrap().unwrap().client.is_some());
    // Re-authorizing reuses the stored registration.
    authorize(&c2, &p).await.unwrap();
    assert_eq!(p.as_.log().registrations.len(), 1);

    c2.logout(&mcp, true).await.unwrap();
    assert!(FileTokenStore::open(&path)
        .unwrap()
        .keys()
        .unwrap()
        .is_empty());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn strict_policy_refuses_plain_http_and_loopback() {
    let p = spawn_pair(AsConfig::default(), RsConfig::default()).await;
    let strict =
        OAuthClient::new(config(Arc::new(MemoryTokenStore::new())).with_ssrf(SsrfPolicy::strict()))
            .unwrap();
    let e = authorize(&strict, &p).await.unwrap_err();
    assert!(matches!(e, AuthError::SsrfBlocked { .. }), "{e}");
    assert!(p.rs.prm_hits.lock().unwrap().is_empty());
    let https_loopback = format!(
        "https://localhost:{}/mcp",
        p.rs.base.rsplit(':').next().unwrap()
    );
    let e = strict
        .handle_challenge(&https_loopback, 401, None)
        .await
        .unwrap_err();
    assert!(matches!(e, AuthError::SsrfBlocked { .. }), "{e}");
}

#[tokio::test]
async fn redirect_to_a_metadata_address_is_refused() {
    for target in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://10.0.0.1/",
        "file:///etc/passwd",
    ] {
        let rs = RsConfig {
            prm_redirect: Some(target.into()),
            ..RsConfig::default()
        };
        let p = spawn_pair(AsConfig::default(), rs).await;
        let e = authorize(&client(), &p).await.unwrap_err();
        assert!(matches!(e, AuthError::SsrfBlocked { .. }), "{target}: {e}");
        assert!(p.as_.log().paths.is_empty());
    }
}

#[tokio::test]
async fn oversized_metadata_is_refused() {
    let rs = RsConfig {
        prm_huge: true,
        ..RsConfig::default()
    };
    let p = spawn_pair(AsConfig::default(), rs).await;
    let e = authorize(&client(), &p).await.unwrap_err();
    assert!(
        matches!(e, AuthError::ResponseTooLarge { limit: 1048576, .. }),
        "{e}"
    );
}

/// Stands in for a loopback listener that picks its port in `prepare`.
struct PortPicking;

impl switchyard_auth::client::Authorizer for PortPicking {
    fn prepare(
        &self,
        redirect_uri: &str,
    ) -> switchyard_auth::client::BoxFuture<'_, Result<String, AuthError>> {
        let r = redirect_uri.replace(":0/", ":39123/");
        Box::pin(async move { Ok(r) })
    }
    fn authorize(
        &self,
        authorize_url: &str,
        redirect_uri: &str,
    ) -> switchyard_auth::client::BoxFuture<
        '_,
        Result<switchyard_auth::client::CallbackParams, AuthError>,
    > {
        HeadlessAuthorizer.authorize(authorize_url, redirect_uri)
    }
}

#[tokio::test]
async fn the_prepared_redirect_uri_is_registered_authorized_and_redeemed() {
    use switchyard_auth::client::Authorizer as _;
    // The default `prepare` keeps the configured URI.
    assert_eq!(
        HeadlessAuthorizer
            .prepare("http://127.0.0.1:0/cb")
            .await
            .unwrap(),
        "http://127.0.0.1:0/cb"
    );
    let p = spawn_pair(AsConfig::default(), RsConfig::default()).await;
    let cfg = OAuthConfig::new(
        "t",
        "http://127.0.0.1:0/callback",
        Arc::new(MemoryTokenStore::new()),
        Arc::new(PortPicking),
    )
    .with_ssrf(SsrfPolicy::danger_allow_loopback_http());
    authorize(&OAuthClient::new(cfg).unwrap(), &p)
        .await
        .unwrap();
    let want = "http://127.0.0.1:39123/callback";
    let log = p.as_.log();
    assert_eq!(log.registrations[0]["redirect_uris"][0], want);
    assert_eq!(log.authorizations[0]["redirect_uri"], want);
    assert_eq!(log.token_requests[0].0["redirect_uri"], want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_challenges_share_one_authorization() {
    let p = Arc::new(spawn_pair(AsConfig::default(), RsConfig::default()).await);
    let c = client();
    let (status, www) = p.call(None).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (c, url, www) = (c.clone(), p.rs.mcp_url(), www.clone());
        tasks.push(tokio::spawn(async move {
            c.handle_challenge(&url, status, www.as_deref()).await
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap());
    }
    tokens.dedup();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(p.as_.log().authorizations.len(), 1);
}

#[tokio::test]
async fn a_registration_survives_a_failed_authorization() {
    let as_cfg = AsConfig {
        iss: IssMode::Wrong,
        ..AsConfig::default()
    };
    let p = spawn_pair(as_cfg, RsConfig::default()).await;
    let c = client();
    for _ in 0..2 {
        let e = authorize(&c, &p).await.unwrap_err();
        assert!(matches!(e, AuthError::IssMismatch { .. }), "{e}");
    }
    let log = p.as_.log();
    assert_eq!(log.authorizations.len(), 2);
    assert_eq!(log.registrations.len(), 1);
    assert!(log.token_requests.is_empty());
}
