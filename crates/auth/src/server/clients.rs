//! Clients: redirect-URI rules, pre-registration, dynamic registration (RFC 7591) and client
//! authentication at the token, revocation and introspection endpoints.

use std::net::IpAddr;

use axum::http::{header, HeaderMap};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::Deserialize;
use switchyard_store::{AuthStore, ClientRecord, SecretHash};
use url::{Host, Url};

use super::error::{err, ErrorCode, ServerError};
use super::{random_token, unix_now};

/// Longest accepted redirect URI, in bytes.
pub const MAX_REDIRECT_URI_LEN: usize = 2048;
/// Most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 16;
/// Longest client name kept; longer names are refused.
pub const MAX_CLIENT_NAME_LEN: usize = 200;

/// The grant types this server implements.
pub const GRANT_TYPES: &[&str] = &["authorization_code", "refresh_token", "client_credentials"];
/// The client authentication methods this server implements.
pub const AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post"];

/// Schemes that must never receive a redirect: they run code or read local data in the
/// user agent.
const FORBIDDEN_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "filesystem",
    "view-source",
    "ws",
    "wss",
    "ftp",
];

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks one redirect URI for registration: absolute, no fragment, no credentials, and
/// `https`, loopback `http` (RFC 8252 §7.3) or a private-use scheme with a dot (RFC 8252 §7.1).
pub fn validate_redirect_uri(raw: &str) -> Result<(), String> {
    if raw.len() > MAX_REDIRECT_URI_LEN {
        return Err("redirect URI is too long".into());
    }
    if raw.contains('#') {
        return Err(format!("redirect URI {raw:?} must not contain a fragment"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("redirect URI contains whitespace or control characters".into());
    }
    let url = Url::parse(raw).map_err(|e| format!("redirect URI {raw:?} is not absolute: {e}"))?;
    let scheme = url.scheme();
    if FORBIDDEN_SCHEMES.contains(&scheme) {
        return Err(format!("redirect URI scheme {scheme:?} is not allowed"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("redirect URI must not contain credentials".into());
    }
    match scheme {
        "https" if url.host().is_some() => Ok(()),
        "https" => Err("https redirect URI needs a host".into()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(format!(
            "plain http redirect URI {raw:?} is only allowed for loopback hosts"
        )),
        s if s.contains('.') => Ok(()),
        s => Err(format!(
            "redirect URI scheme {s:?} is neither https, loopback http, nor a private-use \
             (reverse domain) scheme"
        )),
    }
}

/// Whether `requested` matches one of `registered`: exact string equality, except that a
/// loopback `http` redirect may use any port (RFC 8252 §7.3). No normalisation is applied to
/// `requested` beyond what keeps it byte-identical, so case, path, dot-segment and
/// percent-encoding tricks do not match.
pub fn redirect_uri_matches(registered: &[String], requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    let Ok(req) = Url::parse(requested) else {
        return false;
    };
    // Only a URI that is already in canonical form may use the port exception.
    if req.as_str() != requested || req.scheme() != "http" || !is_loopback_host(&req) {
        return false;
    }
    registered.iter().any(|r| {
        Url::parse(r).is_ok_and(|reg| {
            reg.scheme() == "http"
                && is_loopback_host(&reg)
                && reg.host_str() == req.host_str()
                && reg.path() == req.path()
                && reg.query() == req.query()
                && reg.fragment().is_none()
                && req.fragment().is_none()
        })
    })
}

/// A client registered from configuration (`switchyard serve --config`).
#[derive(Clone, Default)]
pub struct StaticClient {
    /// The `client_id`.
    pub client_id: String,
    /// The secret for a confidential client; `None` for a public client.
    pub client_secret: Option<String>,
    /// The name shown on the consent page.
    pub client_name: String,
    /// Redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Grant types; empty means `authorization_code` and `refresh_token`.
    pub grant_types: Vec<String>,
    /// Allowed scopes (space-separated); `None` means any supported scope.
    pub scope: Option<String>,
}

impl std::fmt::Debug for StaticClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticClient")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("client_name", &self.client_name)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scope", &self.scope)
            .finish()
    }
}

/// Validates and stores a pre-registered client (its secret hashed).
pub async fn register_static_client(
    store: &dyn AuthStore,
    c: StaticClient,
) -> Result<(), ServerError> {
    if c.client_id.is_empty() || c.client_id.len() > 256 {
        return Err(ServerError::Config("client_id must be 1-256 bytes".into()));
    }
    for uri in &c.redirect_uris {
        validate_redirect_uri(uri).map_err(ServerError::Config)?;
    }
    let mut grant_types = c.grant_types.clone();
    if grant_types.is_empty() {
        grant_types = vec!["authorization_code".into(), "refresh_token".into()];
    }
    if let Some(g) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(ServerError::Config(format!("unsupported grant type {g:?}")));
    }
    if grant_types.iter().any(|g| g == "client_credentials") && c.client_secret.is_none() {
        return Err(ServerError::Config(
            "client_credentials needs a confidential client (a secret)".into(),
        ));
    }
    let method = if c.client_secret.is_some() {
        "client_secret_basic"
    } else {
        "none"
    };
    store
        .put_client(&ClientRecord {
            client_id: c.client_id.clone(),
            secret_hash: c.client_secret.as_deref().map(SecretHash::of),
            client_name: if c.client_name.is_empty() {
                c.client_id.clone()
            } else {
                c.client_name.clone()
            },
            redirect_uris: c.redirect_uris,
            grant_types,
            scope: c.scope,
            token_endpoint_auth_method: method.into(),
            origin: "static".into(),
            created_at: unix_now(),
        })
        .await?;
    Ok(())
}

/// The RFC 7591 registration request (the fields this server reads).
#[derive(Debug, Deserialize)]
pub(crate) struct RegistrationRequest {
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    grant_types: Option<Vec<String>>,
    #[serde(default)]
    response_types: Option<Vec<String>>,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

fn meta_err(msg: impl Into<String>) -> ServerError {
    err(ErrorCode::InvalidClientMetadata, msg.into())
}

/// Validates a registration request, stores the client and returns the RFC 7591 response.
pub(crate) async fn register(
    store: &dyn AuthStore,
    scopes_supported: &[String],
    req: RegistrationRequest,
) -> Result<serde_json::Value, ServerError> {
    let method = req
        .token_endpoint_auth_method
        .unwrap_or_else(|| "client_secret_basic".into());
    if !AUTH_METHODS.contains(&method.as_str()) {
        return Err(meta_err(format!(
            "token_endpoint_auth_method {method:?} is not supported"
        )));
    }
    let grant_types = req
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    if let Some(g) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(meta_err(format!("grant type {g:?} is not supported")));
    }
    if method == "none" && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(meta_err("client_credentials needs client authentication"));
    }
    if let Some(rt) = &req.response_types {
        if rt.iter().any(|t| t != "code") {
            return Err(meta_err("only the \"code\" response type is supported"));
        }
    }
    let redirect_uris = req.redirect_uris.unwrap_or_default();
    if grant_types.iter().any(|g| g == "authorization_code") && redirect_uris.is_empty() {
        return Err(err(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris is required for the authorization_code grant",
        ));
    }
    if redirect_uris.len() > MAX_REDIRECT_URIS {
        return Err(err(ErrorCode::InvalidRedirectUri, "too many redirect_uris"));
    }
    for uri in &redirect_uris {
        validate_redirect_uri(uri).map_err(|m| err(ErrorCode::InvalidRedirectUri, m))?;
    }
    if let Some(scope) = &req.scope {
        if let Some(s) = scope
            .split(' ')
            .find(|s| !scopes_supported.iter().any(|x| x == s))
        {
            return Err(meta_err(format!("scope {s:?} is not supported")));
        }
    }
    let client_name = req.client_name.unwrap_or_else(|| "Unnamed client".into());
    if client_name.len() > MAX_CLIENT_NAME_LEN {
        return Err(meta_err("client_name is too long"));
    }
    let client_id = random_token(16);
    let secret = (method != "none").then(|| random_token(32));
    let now = unix_now();
    store
        .put_client(&ClientRecord {
            client_id: client_id.clone(),
            secret_hash: secret.as_deref().map(SecretHash::of),
            client_name: client_name.clone(),
            redirect_uris: redirect_uris.clone(),
            grant_types: grant_types.clone(),
            scope: req.scope.clone(),
            token_endpoint_auth_method: method.clone(),
            origin: "dynamic".into(),
            created_at: now,
        })
        .await?;
    let mut body = serde_json::json!({
        "client_id": client_id,
        "client_id_issued_at": now,
        "client_name": client_name,
        "redirect_uris": redirect_uris,
        "grant_types": grant_types,
        "response_types": ["code"],
        "token_endpoint_auth_method": method,
    });
    if let Some(scope) = req.scope {
        body["scope"] = scope.into();
    }
    if let Some(secret) = secret {
        body["client_secret"] = secret.into();
        body["client_secret_expires_at"] = 0.into();
    }
    Ok(body)
}

/// The client credentials presented with a request.
pub(crate) struct Presented {
    pub(crate) client_id: String,
    pub(crate) secret: Option<String>,
}

fn form_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

/// Reads `client_secret_basic` (RFC 6749 §2.3.1: the id and secret are form-encoded inside
/// the Basic credentials) or `client_secret_post` / `none` from the form. Both at once is an
/// error.
pub(crate) fn presented(
    headers: &HeaderMap,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> Result<Presented, ServerError> {
    let bad = || err(ErrorCode::InvalidClient, "malformed Basic credentials");
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let h = h.to_str().map_err(|_| bad())?;
        let Some(b64) = h
            .strip_prefix("Basic ")
            .or_else(|| h.strip_prefix("basic "))
        else {
            return Err(err(
                ErrorCode::InvalidClient,
                "unsupported Authorization scheme",
            ));
        };
        if form_secret.is_some() {
            return Err(err(
                ErrorCode::InvalidRequest,
                "use one client authentication method, not two",
            ));
        }
        let raw = STANDARD.decode(b64.trim()).map_err(|_| bad())?;
        let raw = String::from_utf8(raw).map_err(|_| bad())?;
        let (id, secret) = raw.split_once(':').ok_or_else(bad)?;
        let (id, secret) = (
            form_decode(id).ok_or_else(bad)?,
            form_decode(secret).ok_or_else(bad)?,
        );
        if form_id.is_some_and(|f| f != id) {
            return Err(err(
                ErrorCode::InvalidRequest,
                "client_id differs from Basic credentials",
            ));
        }
        return Ok(Presented {
            client_id: id,
            secret: Some(secret),
        });
    }
    let Some(id) = form_id else {
        return Err(err(
            ErrorCode::InvalidClient,
            "client authentication is required",
        ));
    };
    Ok(Presented {
        client_id: id.to_owned(),
        secret: form_secret.map(str::to_owned),
    })
}

/// Authenticates the presented credentials against the stored client. Public clients must
/// not present a secret; confidential clients must present the right one.
pub(crate) async fn authenticate(
    store: &dyn AuthStore,
    p: &Presented,
) -> Result<ClientRecord, ServerError> {
    let unknown = || err(ErrorCode::InvalidClient, "client authentication failed");
    let client = store.client(&p.client_id).await?.ok_or_else(unknown)?;
    match (&client.secret_hash, &p.secret) {
        (Some(hash), Some(secret)) if hash.matches(secret) => Ok(client),
        (None, None) => Ok(client),
        _ => Err(unknown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        for ok in [
            "https://app.example/cb",
            "http://127.0.0.1/callback",
            "http://127.0.0.1:8080/callback",
            "http://[::1]:9/cb",
            "http://localhost:3000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(validate_redirect_uri(ok).is_ok(), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "https://app.example/cb#frag",
            "https://app.example/cb#",
            "http://app.example/cb",
            "http://10.0.0.1/cb",
            "/relative",
            "file:///etc/passwd",
            "https://user:pw@app.example/cb",
            "myapp:/cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirect_matching_is_exact_except_loopback_port() {
        let reg = vec![
            "https://app.example/cb".to_owned(),
            "http://127.0.0.1/callback".to_owned(),
        ];
        assert!(redirect_uri_matches(&reg, "https://app.example/cb"));
        assert!(redirect_uris_reject(&reg));
        assert!(redirect_uri_matches(
            &reg,
            "http://127.0.0.1:49152/callback"
        ));
        assert!(!redirect_uri_matches(
            &reg,
            "http://127.0.0.1:49152/callback/x"
        ));
        assert!(!redirect_uri_matches(
            &reg,
            "http://localhost:49152/callback"
        ));
    }

    fn redirect_uris_reject(reg: &[String]) -> bool {
        [
            "https://app.example/cb/extra",
            "https://app.example/cbx",
            "https://APP.example/cb",
            "https://app.example/CB",
            "https://app.example/%63b",
            "https://app.example/x/../cb",
            "https://app.example/cb?x=1",
            "https://app.example.evil/cb",
            "https://app.example/cb#x",
        ]
        .iter()
        .all(|r| !redirect_uri_matches(reg, r))
    }
}
