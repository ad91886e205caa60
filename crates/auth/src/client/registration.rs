//! Choosing the client identity at an AS, in the MCP priority order: pre-registered
//! credentials → Client ID Metadata Document → dynamic client registration (RFC 7591).

use serde::Deserialize;
use serde_json::json;

use super::discovery::AuthorizationServerMetadata;
use super::error::AuthError;
use super::http::{Http, PostBody, RESPONSE_LIMIT};
use super::store::{ClientKind, ClientRegistration, TokenEndpointAuth};
use super::OAuthConfig;

/// Auth methods this client can use, in order of preference when registering.
const PREFERRED_METHODS: [TokenEndpointAuth; 3] = [
    TokenEndpointAuth::ClientSecretBasic,
    TokenEndpointAuth::ClientSecretPost,
    TokenEndpointAuth::None,
];

/// `native` for loopback or custom-scheme redirect URIs (RFC 8252 apps), else `web`.
pub fn application_type(redirect_uri: &str) -> &'static str {
    let Ok(u) = url::Url::parse(redirect_uri) else {
        return "native";
    };
    if !matches!(u.scheme(), "http" | "https") {
        return "native";
    }
    match u.host() {
        Some(url::Host::Ipv4(ip)) if ip.is_loopback() => "native",
        Some(url::Host::Ipv6(ip)) if ip.is_loopback() => "native",
        Some(url::Host::Domain(d)) if d.eq_ignore_ascii_case("localhost") => "native",
        _ => "web",
    }
}

/// The method for a confidential client when the AS did not say which one it assigned.
pub(crate) fn secret_method(asm: &AuthorizationServerMetadata) -> TokenEndpointAuth {
    if !asm.supports_auth_method("client_secret_basic")
        && asm.supports_auth_method("client_secret_post")
    {
        TokenEndpointAuth::ClientSecretPost
    } else {
        TokenEndpointAuth::ClientSecretBasic
    }
}

/// Whether a registration made for redirect URI `registered` serves `wanted`: the same URI,
/// or loopback URIs differing only in port (RFC 8252 §7.3: the AS allows any port there, and
/// a loopback listener gets a new port each run).
pub fn redirect_matches(registered: &str, wanted: &str) -> bool {
    if registered == wanted {
        return true;
    }
    let (Ok(a), Ok(b)) = (url::Url::parse(registered), url::Url::parse(wanted)) else {
        return false;
    };
    a.scheme() == "http"
        && application_type(registered) == "native"
        && a.scheme() == b.scheme()
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
}

/// Picks (or obtains) the client identity for `asm`, for redirect URI `redirect_uri`.
/// `existing` is a stored identity for the same issuer; a dynamically registered one is reused
/// when its redirect URI still matches ([`redirect_matches`]).
pub(crate) async fn client_identity(
    http: &Http,
    cfg: &OAuthConfig,
    asm: &AuthorizationServerMetadata,
    existing: Option<&ClientRegistration>,
    redirect_uri: &str,
) -> Result<ClientRegistration, AuthError> {
    if let Some(p) = &cfg.pre_registered {
        // Credentials bound to another AS are never sent to this one.
        if p.issuer.as_deref().is_none_or(|i| i == asm.issuer) {
            let auth_method = match p.client_secret {
                Some(_) => secret_method(asm),
                None => TokenEndpointAuth::None,
            };
            return Ok(ClientRegistration {
                client_id: p.client_id.clone(),
                client_secret: p.client_secret.clone(),
                auth_method,
                redirect_uri: redirect_uri.to_owned(),
                kind: ClientKind::PreRegistered,
            });
        }
    }
    if let (Some(true), Some(url)) = (
        asm.client_id_metadata_document_supported,
        &cfg.client_id_metadata_url,
    ) {
        return Ok(ClientRegistration {
            client_id: url.clone(),
            client_secret: None,
            auth_method: TokenEndpointAuth::None,
            redirect_uri: redirect_uri.to_owned(),
            kind: ClientKind::MetadataDocument,
        });
    }
    if let Some(e) = existing {
        if e.kind == ClientKind::Dynamic && redirect_matches(&e.redirect_uri, redirect_uri) {
            return Ok(e.clone());
        }
    }
    match &asm.registration_endpoint {
        Some(endpoint) => register(http, cfg, asm, endpoint, redirect_uri).await,
        None => Err(AuthError::NoRegistrationMethod {
            issuer: asm.issuer.clone(),
        }),
    }
}

#[derive(Deserialize)]
struct RegistrationResponse {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct OAuthErrorBody {
    #[serde(default)]
    pub(crate) error: Option<String>,
    #[serde(default)]
    pub(crate) error_description: Option<String>,
}

impl OAuthErrorBody {
    pub(crate) fn parse(body: &[u8]) -> (String, Option<String>) {
        match serde_json::from_slice::<OAuthErrorBody>(body) {
            Ok(b) => (
                b.error.unwrap_or_else(|| "unknown".into()),
                b.error_description,
            ),
            Err(_) => ("unknown".into(), None),
        }
    }
}

/// The RFC 7591 registration request body, and the auth method it asks for: the first of
/// basic, post, none that the AS supports.
pub fn registration_request(
    client_name: &str,
    redirect_uri: &str,
    asm: &AuthorizationServerMetadata,
) -> (serde_json::Value, TokenEndpointAuth) {
    let requested = PREFERRED_METHODS
        .into_iter()
        .find(|m| asm.supports_auth_method(m.as_str()))
        .unwrap_or(TokenEndpointAuth::None);
    let body = json!({
        "client_name": client_name,
        "redirect_uris": [redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": requested.as_str(),
        "application_type": application_type(redirect_uri),
    });
    (body, requested)
}

/// RFC 7591 dynamic registration.
async fn register(
    http: &Http,
    cfg: &OAuthConfig,
    asm: &AuthorizationServerMetadata,
    endpoint: &str,
    redirect_uri: &str,
) -> Result<ClientRegistration, AuthError> {
    let (body, requested) = registration_request(&cfg.client_name, redirect_uri, asm);
    let bytes = serde_json::to_vec(&body)
        .map_err(|e| AuthError::Config(format!("registration body: {e}")))?;
    tracing::debug!(
        endpoint,
        method = requested.as_str(),
        "dynamic client registration"
    );
    let f = http
        .post(
            "registration endpoint",
            endpoint,
            PostBody::Json(bytes),
            None,
            RESPONSE_LIMIT,
        )
        .await?;
    if !f.is_success() {
        let (error, description) = OAuthErrorBody::parse(&f.body);
        return Err(AuthError::RegistrationFailed {
            status: f.status,
            error,
            description,
        });
    }
    let r: RegistrationResponse =
        serde_json::from_slice(&f.body).map_err(|e| AuthError::InvalidResponse {
            endpoint: "registration",
            reason: e.to_string(),
        })?;
    if r.client_id.is_empty() {
        return Err(AuthError::InvalidResponse {
            endpoint: "registration",
            reason: "empty client_id".into(),
        });
    }
    let auth_method = match r
        .token_endpoint_auth_method
        .as_deref()
        .and_then(TokenEndpointAuth::from_name)
    {
        Some(TokenEndpointAuth::None) => TokenEndpointAuth::None,
        // Never requested at registration; without a key the secret (if any) is the fallback.
        Some(TokenEndpointAuth::PrivateKeyJwt) if r.client_secret.is_some() => secret_method(asm),
        Some(TokenEndpointAuth::PrivateKeyJwt) => TokenEndpointAuth::None,
        Some(m) if r.client_secret.is_some() => m,
        // A secret-based method without a secret cannot work; act as a public client.
        Some(_) => TokenEndpointAuth::None,
        None if r.client_secret.is_some() => secret_method(asm),
        None => TokenEndpointAuth::None,
    };
    Ok(ClientRegistration {
        client_id: r.client_id,
        client_secret: r.client_secret,
        auth_method,
        redirect_uri: redirect_uri.to_owned(),
        kind: ClientKind::Dynamic,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn application_type_is_native_for_loopback_and_custom_schemes() {
        assert_eq!(application_type("http://localhost:3000/callback"), "native");
        assert_eq!(application_type("http://127.0.0.1:0/callback"), "native");
        assert_eq!(application_type("http://[::1]:9/cb"), "native");
        assert_eq!(application_type("com.example.app:/cb"), "native");
        assert_eq!(application_type("https://app.example.com/cb"), "web");
    }

    #[test]
    fn registration_request_body_is_pinned() {
        let asm: AuthorizationServerMetadata = serde_json::from_str(
            r#"{"issuer":"x","token_endpoint_auth_methods_supported":["none","client_secret_post"]}"#,
        )
        .unwrap();
        let (body, method) =
            registration_request("Switchyard", "http://127.0.0.1:8976/callback", &asm);
        assert_eq!(method, TokenEndpointAuth::ClientSecretPost);
        assert_eq!(
            body,
            json!({
                "client_name": "Switchyard",
                "redirect_uris": ["http://127.0.0.1:8976/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "client_secret_post",
                "application_type": "native",
            })
        );
        let only_none: AuthorizationServerMetadata = serde_json::from_str(
            r#"{"issuer":"x","token_endpoint_auth_methods_supported":["private_key_jwt"]}"#,
        )
        .unwrap();
        let (body, _) = registration_request("S", "https://app.example/cb", &only_none);
        assert_eq!(body["token_endpoint_auth_method"], "none");
        assert_eq!(body["application_type"], "web");
    }

    #[test]
    fn loopback_registrations_are_reused_across_ports_only() {
        assert!(redirect_matches(
            "http://127.0.0.1:1234/cb",
            "http://127.0.0.1:1234/cb"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1:1234/cb",
            "http://127.0.0.1:5678/cb"
        ));
        assert!(redirect_matches(
            "http://localhost:3000/callback",
            "http://localhost:4000/callback"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:1234/cb",
            "http://127.0.0.1:1234/other"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1:1234/cb",
            "http://localhost:1234/cb"
        ));
        assert!(!redirect_matches(
            "https://app.example:1/cb",
            "https://app.example:2/cb"
        ));
    }

    #[test]
    fn secret_method_prefers_basic_unless_only_post_is_listed() {
        let m = |j: &str| serde_json::from_str::<AuthorizationServerMetadata>(j).unwrap();
        assert_eq!(
            secret_method(&m(r#"{"issuer":"x"}"#)),
            TokenEndpointAuth::ClientSecretBasic
        );
        assert_eq!(
            secret_method(&m(
                r#"{"issuer":"x","token_endpoint_auth_methods_supported":["client_secret_post"]}"#
            )),
            TokenEndpointAuth::ClientSecretPost
        );
    }
}
