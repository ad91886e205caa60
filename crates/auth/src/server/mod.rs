//! The OAuth 2.1 authorization server: metadata (RFC 8414 and OpenID discovery), `/authorize`
//! with PKCE S256, login and consent pages, `/token` (authorization code, refresh-token
//! rotation with reuse detection, client credentials), `/register` (RFC 7591), Client ID
//! Metadata Documents, `/revoke` (RFC 7009), `/introspect` (RFC 7662) and `/jwks`. Access
//! tokens are RFC 9068 JWTs signed with a rotating ES256 key whose audience is the RFC 8707
//! resource.
//!
//! ```no_run
//! use std::sync::Arc;
//! use switchyard_auth::server::{AsConfig, AuthorizationServer};
//! use switchyard_store::SqlStore;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = Arc::new(SqlStore::open("sqlite::memory:").await?);
//! let cfg = AsConfig::new("https://auth.example.com")
//!     .with_resources(vec!["https://mcp.example.com/mcp".into()])
//!     .with_scopes(vec!["mcp:read".into(), "mcp:write".into()]);
//! let server = AuthorizationServer::new(cfg, store).await?;
//! let app = server.router(); // serve with axum, using connect info for per-address limits
//! # let _ = app; Ok(()) }
//! ```

mod authorize;
mod cimd;
pub mod clients;
pub mod error;
pub mod identity;
mod keys;
pub mod pages;
pub mod session;
mod token;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rand::RngCore as _;
use switchyard_store::{AuthStore, ClientRecord};
use url::Url;

pub use cimd::{CIMD_MAX_BYTES, CIMD_TIMEOUT};
pub use clients::{register_static_client, StaticClient};
pub use error::{ErrorCode, ServerError};
pub use identity::{
    add_user, list_users, remove_user, IdentityProvider, LoginStep, StoreIdentityProvider,
};
pub use keys::{AccessClaims, SIGNING_ALG};
pub use token::MAX_REQUEST_BYTES;

use crate::client::SsrfPolicy;
use error::err;

/// Rate limits for the endpoints a stranger can hit repeatedly.
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    /// Failed logins allowed per user name, and per client address, in one window.
    pub login_failures: u32,
    /// The login window.
    pub login_window: Duration,
    /// Dynamic registrations allowed per client address in one window.
    pub registrations: u32,
    /// The registration window.
    pub registration_window: Duration,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            login_failures: 5,
            login_window: Duration::from_secs(15 * 60),
            registrations: 20,
            registration_window: Duration::from_secs(3600),
        }
    }
}

/// The authorization server's configuration.
#[derive(Clone)]
pub struct AsConfig {
    /// The issuer identifier: `https` URL without query or fragment. Endpoints live under its
    /// path.
    pub issuer: String,
    /// Access-token lifetime (short: tokens are bearer JWTs).
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime.
    pub refresh_token_ttl: Duration,
    /// Authorization-code lifetime.
    pub code_ttl: Duration,
    /// Resources (token audiences) this server issues for; empty allows any absolute
    /// `http(s)` URI without a fragment.
    pub resources: Vec<String>,
    /// The resource assumed when a request names none; `None` makes `resource` required.
    pub default_resource: Option<String>,
    /// Scopes a client may request.
    pub scopes_supported: Vec<String>,
    /// Scopes granted when a request names none.
    pub default_scopes: Vec<String>,
    /// The login step; `None` uses the built-in user store.
    pub identity: Option<Arc<dyn IdentityProvider>>,
    /// Rate limits.
    pub limits: RateLimits,
    /// How long one signing key signs before a new one takes over.
    pub key_rotation: Duration,
    /// Which URLs may be fetched as Client ID Metadata Documents.
    pub metadata_document_ssrf: SsrfPolicy,
    /// Whether `/register` (RFC 7591) is open.
    pub dynamic_registration: bool,
}

impl std::fmt::Debug for AsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsConfig")
            .field("issuer", &self.issuer)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("resources", &self.resources)
            .field("scopes_supported", &self.scopes_supported)
            .finish_non_exhaustive()
    }
}

impl AsConfig {
    /// Defaults: 10-minute access tokens, 30-day refresh tokens, 60-second codes, 30-day key
    /// rotation, strict SSRF policy, registration open, built-in user store.
    pub fn new(issuer: impl Into<String>) -> Self {
        Self {
            issuer: issuer.into().trim_end_matches('/').to_owned(),
            access_token_ttl: Duration::from_secs(600),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            code_ttl: Duration::from_secs(60),
            resources: Vec::new(),
            default_resource: None,
            scopes_supported: Vec::new(),
            default_scopes: Vec::new(),
            identity: None,
            limits: RateLimits::default(),
            key_rotation: Duration::from_secs(30 * 24 * 3600),
            metadata_document_ssrf: SsrfPolicy::strict(),
            dynamic_registration: true,
        }
    }

    /// Sets the allowed resources; the first becomes the default resource.
    pub fn with_resources(mut self, resources: Vec<String>) -> Self {
        self.default_resource = resources.first().cloned();
        self.resources = resources;
        self
    }

    /// Sets the supported scopes.
    pub fn with_scopes(mut self, scopes: Vec<String>) -> Self {
        self.scopes_supported = scopes;
        self
    }

    /// Sets the login step.
    pub fn with_identity(mut self, identity: Arc<dyn IdentityProvider>) -> Self {
        self.identity = Some(identity);
        self
    }

    /// Sets the rate limits.
    pub fn with_limits(mut self, limits: RateLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Sets the SSRF policy for metadata-document fetches.
    pub fn with_metadata_document_ssrf(mut self, policy: SsrfPolicy) -> Self {
        self.metadata_document_ssrf = policy;
        self
    }
}

pub(crate) struct AsState {
    cfg: AsConfig,
    /// The issuer's path without a trailing slash (`""` at the root).
    base: String,
    store: Arc<dyn AuthStore>,
    identity: Arc<dyn IdentityProvider>,
    keys: keys::KeyRing,
    cimd: cimd::CimdResolver,
    browser: session::Browser,
    login_user_limit: session::RateLimiter,
    login_ip_limit: session::RateLimiter,
    register_limit: session::RateLimiter,
}

/// A running authorization server: its router and key management.
#[derive(Clone)]
pub struct AuthorizationServer {
    state: Arc<AsState>,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("issuer", &self.state.cfg.issuer)
            .finish()
    }
}

/// Builds the router of an authorization server (see [`AuthorizationServer::new`]).
pub async fn authorization_server(
    cfg: AsConfig,
    store: Arc<dyn AuthStore>,
) -> Result<Router, ServerError> {
    Ok(AuthorizationServer::new(cfg, store).await?.router())
}

impl AuthorizationServer {
    /// Validates the configuration and loads (or creates) the signing keys.
    pub async fn new(cfg: AsConfig, store: Arc<dyn AuthStore>) -> Result<Self, ServerError> {
        let issuer = Url::parse(&cfg.issuer)
            .map_err(|e| ServerError::Config(format!("issuer {:?}: {e}", cfg.issuer)))?;
        if !matches!(issuer.scheme(), "https" | "http")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(ServerError::Config(
                "the issuer is an http(s) URL without query or fragment".into(),
            ));
        }
        let base = issuer.path().trim_end_matches('/').to_owned();
        let overlap = cfg.access_token_ttl.max(Duration::from_secs(3600));
        let keys = keys::KeyRing::load(store.clone(), cfg.key_rotation, overlap).await?;
        let cimd = cimd::CimdResolver::new(cfg.metadata_document_ssrf)
            .map_err(|e| ServerError::Config(format!("metadata-document client: {e}")))?;
        let identity = cfg
            .identity
            .clone()
            .unwrap_or_else(|| Arc::new(StoreIdentityProvider::new(store.clone())));
        let l = cfg.limits;
        Ok(Self {
            state: Arc::new(AsState {
                base,
                store,
                identity,
                keys,
                cimd,
                browser: session::Browser::default(),
                login_user_limit: session::RateLimiter::new(l.login_failures, l.login_window),
                login_ip_limit: session::RateLimiter::new(
                    l.login_failures.saturating_mul(4),
                    l.login_window,
                ),
                register_limit: session::RateLimiter::new(l.registrations, l.registration_window),
                cfg,
            }),
        })
    }

    /// The router: mount it at the root of the issuer's origin (the well-known documents live
    /// at the origin root; the endpoints under the issuer's path).
    pub fn router(&self) -> Router {
        let b = &self.state.base;
        // Endpoints that browser-based clients call from script get CORS (no credentials).
        let mut api = Router::new();
        if b.is_empty() {
            api = api
                .route("/.well-known/oauth-authorization-server", get(metadata))
                .route("/.well-known/openid-configuration", get(metadata));
        } else {
            for path in [
                format!("/.well-known/oauth-authorization-server{b}"),
                format!("/.well-known/openid-configuration{b}"),
                format!("{b}/.well-known/openid-configuration"),
            ] {
                api = api.route(&path, get(metadata));
            }
        }
        let api = api
            .route(&format!("{b}/token"), post(token::token))
            .route(&format!("{b}/register"), post(token::register))
            .route(&format!("{b}/revoke"), post(token::revoke))
            .route(&format!("{b}/jwks"), get(jwks))
            .layer(axum::middleware::from_fn(cors));
        // Pages (top-level navigations) and server-to-server introspection get none.
        Router::new()
            .route(&format!("{b}/authorize"), get(authorize::authorize))
            .route(&format!("{b}/login"), post(authorize::login))
            .route(
                &format!("{b}/login/callback"),
                get(authorize::login_callback),
            )
            .route(
                &format!("{b}/consent"),
                get(authorize::consent_page).post(authorize::consent_submit),
            )
            .route(&format!("{b}/introspect"), post(token::introspect))
            .merge(api)
            .with_state(self.state.clone())
    }

    /// The user signed in at this authorization server in the browser that sent `headers` (its
    /// login session cookie), if any: lets pages served next to the AS (the gateway's
    /// per-user connect pages) tell which user is in front of them.
    pub fn session_user(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        self.state.browser.session(headers).map(|(_, s)| s.user)
    }

    /// Retires the current signing key and starts signing with a new one; returns its `kid`.
    pub async fn rotate_signing_key(&self) -> Result<String, ServerError> {
        self.state.keys.rotate().await
    }

    /// Deletes expired codes, refresh tokens and access-token records, and rotates the signing
    /// key if its period is over. Returns the number of rows removed.
    pub async fn housekeeping(&self) -> Result<u64, ServerError> {
        self.state.keys.rotate_if_due().await?;
        Ok(self.state.store.purge_expired(unix_now()).await?)
    }

    /// Runs [`housekeeping`](Self::housekeeping) every `every` on the current Tokio runtime
    /// until the returned handle is aborted; failures are logged and retried next time.
    pub fn spawn_housekeeping(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                match this.housekeeping().await {
                    Ok(n) if n > 0 => tracing::debug!(removed = n, "purged expired grants"),
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "authorization-server housekeeping failed")
                    }
                }
            }
        })
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> &str {
        &self.state.cfg.issuer
    }
}

/// The built-in server hands its rotating keys to an in-process resource layer directly, so
/// protecting an endpoint on the same host needs no HTTP round trip to `/jwks`.
impl crate::resource::JwksProvider for AuthorizationServer {
    fn jwks(&self) -> crate::resource::JwksFuture<'_> {
        Box::pin(async move {
            let v = self.state.keys.jwks().await;
            serde_json::from_value(v).map_err(|e| format!("key set: {e}"))
        })
    }
}

impl AsState {
    fn endpoint(&self, name: &str) -> String {
        format!("{}/{name}", self.cfg.issuer)
    }

    fn path(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// A stored client, or a metadata-document client fetched (and cached) by URL.
    async fn lookup_client(&self, client_id: &str) -> Result<ClientRecord, String> {
        if self.cimd.is_document_url(client_id) {
            let rec = self.cimd.resolve(client_id).await?;
            self.store
                .put_client(&rec)
                .await
                .map_err(|e| format!("store: {e}"))?;
            return Ok(rec);
        }
        match self.store.client(client_id).await {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(format!("unknown client_id {client_id:?}")),
            Err(e) => Err(format!("store: {e}")),
        }
    }

    /// The RFC 8707 resource of a request: one absolute `http(s)` URI without a fragment,
    /// allowed by the configuration.
    fn resource(&self, values: &[&str]) -> Result<String, ServerError> {
        let raw = match values {
            [] => {
                return self.cfg.default_resource.clone().ok_or_else(|| {
                    err(
                        ErrorCode::InvalidTarget,
                        "the resource parameter is required",
                    )
                })
            }
            [one] => *one,
            _ => {
                return Err(err(
                    ErrorCode::InvalidTarget,
                    "only one resource per request",
                ))
            }
        };
        let ok = Url::parse(raw).is_ok_and(|u| {
            matches!(u.scheme(), "https" | "http") && u.fragment().is_none() && u.has_host()
        }) && !raw.contains('#');
        if !ok {
            return Err(err(
                ErrorCode::InvalidTarget,
                "resource must be an absolute http(s) URI without a fragment",
            ));
        }
        if !self.cfg.resources.is_empty() && !self.cfg.resources.iter().any(|r| r == raw) {
            return Err(err(
                ErrorCode::InvalidTarget,
                format!("resource {raw:?} is not served by this authorization server"),
            ));
        }
        Ok(raw.to_owned())
    }

    /// The scopes of a request, checked against the supported scopes and the client's.
    fn scopes(&self, raw: Option<&str>, client: &ClientRecord) -> Result<Vec<String>, ServerError> {
        let requested: Vec<String> = match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => self.cfg.default_scopes.clone(),
            Some(s) => s
                .split(' ')
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect(),
        };
        let client_allowed: Option<Vec<&str>> =
            client.scope.as_deref().map(|s| s.split(' ').collect());
        let mut out: Vec<String> = Vec::new();
        for s in requested {
            if !self.cfg.scopes_supported.contains(&s) {
                return Err(err(
                    ErrorCode::InvalidScope,
                    format!("scope {s:?} is not supported"),
                ));
            }
            if client_allowed
                .as_ref()
                .is_some_and(|a| !a.contains(&s.as_str()))
            {
                return Err(err(
                    ErrorCode::InvalidScope,
                    format!("scope {s:?} is not allowed for this client"),
                ));
            }
            if !out.contains(&s) {
                out.push(s);
            }
        }
        Ok(out)
    }

    fn metadata(&self) -> serde_json::Value {
        let mut m = serde_json::json!({
            "issuer": self.cfg.issuer,
            "authorization_endpoint": self.endpoint("authorize"),
            "token_endpoint": self.endpoint("token"),
            "jwks_uri": self.endpoint("jwks"),
            "revocation_endpoint": self.endpoint("revoke"),
            "introspection_endpoint": self.endpoint("introspect"),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": clients::GRANT_TYPES,
            "token_endpoint_auth_methods_supported": clients::AUTH_METHODS,
            "revocation_endpoint_auth_methods_supported": clients::AUTH_METHODS,
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": self.cfg.scopes_supported,
            "client_id_metadata_document_supported": true,
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [SIGNING_ALG],
        });
        if self.cfg.dynamic_registration {
            m["registration_endpoint"] = self.endpoint("register").into();
        }
        m
    }
}

/// CORS for the script-facing endpoints: any origin, no credentials; preflights answered here.
async fn cors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let preflight = req.method() == axum::http::Method::OPTIONS;
    let mut resp = if preflight {
        axum::http::StatusCode::NO_CONTENT.into_response()
    } else {
        next.run(req).await
    };
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if preflight {
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type, MCP-Protocol-Version"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("86400"),
        );
    }
    resp
}

async fn metadata(State(st): State<Arc<AsState>>) -> Response {
    let mut resp = Json(st.metadata()).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

async fn jwks(State(st): State<Arc<AsState>>) -> Response {
    let mut resp = Json(st.keys.jwks().await).into_response();
    resp.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    resp
}

/// `n` random bytes, base64url without padding.
pub(crate) fn random_token(n: usize) -> String {
    let mut buf = vec![0u8; n];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
