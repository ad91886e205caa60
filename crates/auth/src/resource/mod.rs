//! The resource-server side: a tower layer that admits only bearer tokens issued for this MCP
//! endpoint, plus the discovery documents clients read first.
//!
//! - [`BearerLayer`] checks `Authorization: Bearer` tokens: JWTs against the issuer's cached,
//!   rotating JWKS (`iss`, `aud` = the canonical resource URI, `exp`/`nbf`, algorithm allow-list),
//!   or opaque tokens by introspection (RFC 7662). It then checks the scopes the request needs
//!   (every request, per JSON-RPC method, per tool of `tools/call`). Refusals are `401` with
//!   `WWW-Authenticate: Bearer resource_metadata="…", scope="…"` or `403 insufficient_scope`. The
//!   accepted token becomes a [`Principal`] in the request extensions.
//! - [`protected_resource_metadata_router`] serves RFC 9728 metadata at the root and
//!   path-inserted well-known URIs.
//! - [`discovery::discovery_router`] serves the `/.well-known/mcp` manifest and the draft server
//!   card (SEP-2127).
//!
//! ```no_run
//! use switchyard_auth::resource::{
//!     protected_resource_metadata_router, BearerLayer, JwksSource, ResourceConfig, ScopePolicy,
//! };
//!
//! # fn run() -> Result<(), switchyard_auth::resource::ConfigError> {
//! let mut cfg = ResourceConfig::new(
//!     "https://mcp.example.com/mcp",
//!     "https://auth.example.com",
//!     JwksSource::Url("https://auth.example.com/jwks.json".into()),
//! );
//! cfg.scopes_supported = vec!["mcp:read".into(), "mcp:write".into()];
//! cfg.required_scopes = ScopePolicy::default()
//!     .always(["mcp:read"])
//!     .tool("delete_deal", ["mcp:write"]);
//! let app = axum::Router::new()
//!     .route("/mcp", axum::routing::post(|| async { "ok" }))
//!     .layer(BearerLayer::new(cfg.clone())?)
//!     .merge(protected_resource_metadata_router(&cfg));
//! # let _ = app; Ok(()) }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

pub use jsonwebtoken::jwk::JwkSet;
pub use jsonwebtoken::Algorithm;

mod cache;
mod error;
mod introspect;
mod jwks;
mod layer;
mod metadata;
mod verify;

pub mod discovery;

pub use error::{BearerError, ConfigError, WireError};
pub use jwks::{JwksFuture, JwksProvider};
pub use layer::{BearerLayer, BearerService, MAX_INSPECTED_BODY};
pub use metadata::{protected_resource_metadata, protected_resource_metadata_router};
pub use verify::TokenVerifier;

/// Everything the resource-server layer needs to know.
#[derive(Debug, Clone)]
pub struct ResourceConfig {
    /// Canonical resource URI of the MCP endpoint, e.g. `https://mcp.example.com/mcp`. Tokens
    /// must carry it in `aud`.
    pub resource: String,
    /// Authorization servers listed in the protected-resource metadata (at least one).
    pub authorization_servers: Vec<String>,
    /// The expected `iss` of JWTs (the built-in AS, or an external one).
    pub issuer: String,
    /// Where the issuer's signing keys come from.
    pub jwks: JwksSource,
    /// How a fetched JWKS is cached and refetched.
    pub jwks_cache: JwksCachePolicy,
    /// Introspection for opaque (non-JWT) tokens; `None` refuses opaque tokens.
    pub introspection: Option<IntrospectionConfig>,
    /// Scopes advertised in the protected-resource metadata.
    pub scopes_supported: Vec<String>,
    /// Scopes each request needs.
    pub required_scopes: ScopePolicy,
    /// Clock skew tolerated on `exp` and `nbf`.
    pub leeway: Duration,
    /// Accepted JWS algorithms. `none` cannot be expressed; HMAC algorithms are refused at
    /// construction. Default: RS256, ES256, EdDSA.
    pub allowed_algs: Vec<Algorithm>,
    /// Optional `resource_name` for the protected-resource metadata.
    pub resource_name: Option<String>,
    /// How long an accepted JWT is remembered (by SHA-256, never past its `exp`) so repeated
    /// requests with the same token skip the signature check. `Duration::ZERO` turns it off.
    /// A key dropped from the JWKS stops verifying new tokens at the next refetch; tokens it
    /// already verified stay accepted for at most this long. Default 60 s.
    pub accepted_token_cache: Duration,
}

impl ResourceConfig {
    /// A configuration with defaults: no scopes required, 30 s leeway, RS256/ES256/EdDSA,
    /// `issuer` as the only authorization server.
    pub fn new(resource: impl Into<String>, issuer: impl Into<String>, jwks: JwksSource) -> Self {
        let issuer = issuer.into();
        Self {
            resource: resource.into(),
            authorization_servers: vec![issuer.clone()],
            issuer,
            jwks,
            jwks_cache: JwksCachePolicy::default(),
            introspection: None,
            scopes_supported: Vec::new(),
            required_scopes: ScopePolicy::default(),
            leeway: Duration::from_secs(30),
            allowed_algs: vec![Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA],
            resource_name: None,
            accepted_token_cache: Duration::from_secs(60),
        }
    }

    /// The RFC 9728 metadata URL for this resource: the well-known path inserted between the
    /// origin and the resource's path (`https://h/.well-known/oauth-protected-resource/mcp`).
    pub fn resource_metadata_url(&self) -> String {
        let (origin, path) = split_origin(&self.resource);
        format!("{origin}/.well-known/oauth-protected-resource{path}")
    }
}

/// Splits an absolute URI into `scheme://authority` and its path (no trailing `/`, no query).
pub(crate) fn split_origin(uri: &str) -> (&str, &str) {
    let after_scheme = uri.find("://").map_or(0, |i| i + 3);
    let path_start = uri[after_scheme..]
        .find('/')
        .map_or(uri.len(), |i| after_scheme + i);
    let rest = &uri[path_start..];
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    (&uri[..path_start], rest.trim_end_matches('/'))
}

/// Where the issuer's signing keys come from.
#[derive(Clone)]
#[non_exhaustive]
pub enum JwksSource {
    /// Fetched from this URL, cached, and refetched on an unknown `kid` (rate-limited) or when
    /// the cache is older than [`JwksCachePolicy::ttl`].
    Url(String),
    /// A fixed key set.
    Static(JwkSet),
    /// Keys supplied in-process by a provider (e.g. the built-in authorization server, whose
    /// keys rotate), cached and re-asked like a URL.
    Provider(std::sync::Arc<dyn JwksProvider>),
}

impl std::fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JwksSource::Url(u) => f.debug_tuple("Url").field(u).finish(),
            JwksSource::Static(s) => f.debug_tuple("Static").field(&s.keys.len()).finish(),
            JwksSource::Provider(_) => f.write_str("Provider(..)"),
        }
    }
}

/// Caching of a fetched JWKS.
#[derive(Debug, Clone, Copy)]
pub struct JwksCachePolicy {
    /// Refetch when the cached set is older than this.
    pub ttl: Duration,
    /// At most one refetch per this interval for unknown `kid`s, so forged kids cannot make us
    /// hammer the issuer.
    pub min_refetch_interval: Duration,
    /// Timeout of one fetch.
    pub fetch_timeout: Duration,
}

impl Default for JwksCachePolicy {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            min_refetch_interval: Duration::from_secs(30),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// RFC 7662 token introspection for opaque tokens.
#[derive(Clone)]
pub struct IntrospectionConfig {
    /// The introspection endpoint.
    pub endpoint: String,
    /// This resource server's client id at the authorization server.
    pub client_id: String,
    /// Its secret (HTTP Basic authentication).
    pub client_secret: String,
    /// Upper bound on how long an active answer is cached (it is never cached past the token's
    /// `exp`).
    pub max_cache: Duration,
}

impl std::fmt::Debug for IntrospectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionConfig")
            .field("endpoint", &self.endpoint)
            .field("client_id", &self.client_id)
            .field("max_cache", &self.max_cache)
            .finish_non_exhaustive()
    }
}

/// The scopes each request needs: for every request, per JSON-RPC method, and per tool of
/// `tools/call` (by `params.name`). A granted scope may imply others (scope hierarchy).
#[derive(Debug, Clone, Default)]
pub struct ScopePolicy {
    /// Needed by every request.
    pub always: BTreeSet<String>,
    /// Needed by requests of a method, in addition to `always`.
    pub methods: BTreeMap<String, BTreeSet<String>>,
    /// Needed by `tools/call` of a tool, in addition to `always` and the method's.
    pub tools: BTreeMap<String, BTreeSet<String>>,
    /// A granted scope (key) also grants these (values), transitively.
    pub implies: BTreeMap<String, BTreeSet<String>>,
}

impl ScopePolicy {
    /// Adds scopes every request needs.
    pub fn always<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.always.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds scopes requests of `method` need.
    pub fn method<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        method: impl Into<String>,
        scopes: I,
    ) -> Self {
        self.methods
            .entry(method.into())
            .or_default()
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Adds scopes `tools/call` of `tool` needs.
    pub fn tool<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        tool: impl Into<String>,
        scopes: I,
    ) -> Self {
        self.tools
            .entry(tool.into())
            .or_default()
            .extend(scopes.into_iter().map(Into::into));
        self
    }

    /// Declares that `scope` also grants `implied` (e.g. `mcp:admin` grants `mcp:write`).
    pub fn implies<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        scope: impl Into<String>,
        implied: I,
    ) -> Self {
        self.implies
            .entry(scope.into())
            .or_default()
            .extend(implied.into_iter().map(Into::into));
        self
    }

    /// Whether checking needs the request body (per-method or per-tool scopes are configured).
    pub fn needs_body(&self) -> bool {
        !self.methods.is_empty() || !self.tools.is_empty()
    }

    /// Adds to `out` the scopes one JSON-RPC call needs.
    pub(crate) fn add_required(
        &self,
        method: &str,
        tool: Option<&str>,
        out: &mut BTreeSet<String>,
    ) {
        if let Some(s) = self.methods.get(method) {
            out.extend(s.iter().cloned());
        }
        if method == "tools/call" {
            if let Some(s) = tool.and_then(|t| self.tools.get(t)) {
                out.extend(s.iter().cloned());
            }
        }
    }

    /// The granted scopes closed under `implies`.
    pub(crate) fn expand(&self, granted: &[String]) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = BTreeSet::new();
        let mut todo: Vec<&str> = granted.iter().map(String::as_str).collect();
        while let Some(s) = todo.pop() {
            if all.insert(s.to_owned()) {
                if let Some(more) = self.implies.get(s) {
                    todo.extend(more.iter().map(String::as_str));
                }
            }
        }
        all
    }
}

/// Who made an authenticated request; inserted into the request extensions by [`BearerLayer`].
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The token's `sub`.
    pub subject: String,
    /// The OAuth client the token was issued to (`client_id`, else `azp`).
    pub client_id: Option<String>,
    /// Granted scopes (`scope`, space-separated, or `scp`).
    pub scopes: Vec<String>,
    /// All claims of the token (or of the introspection answer).
    pub claims: serde_json::Value,
}

impl Principal {
    /// Builds a principal from a claims object; `None` without a string `sub`.
    pub(crate) fn from_claims(claims: serde_json::Value) -> Option<Self> {
        let subject = claims.get("sub")?.as_str()?.to_owned();
        let client_id = ["client_id", "azp"]
            .iter()
            .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
            .map(str::to_owned);
        let scopes = match claims.get("scope").or_else(|| claims.get("scp")) {
            Some(serde_json::Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        Some(Self {
            subject,
            client_id,
            scopes,
            claims,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_well_known_before_the_path() {
        let cfg = ResourceConfig::new(
            "https://mcp.example.com/v1/mcp",
            "https://as",
            JwksSource::Static(JwkSet::default()),
        );
        assert_eq!(
            cfg.resource_metadata_url(),
            "https://mcp.example.com/.well-known/oauth-protected-resource/v1/mcp"
        );
        assert_eq!(split_origin("http://h:1"), ("http://h:1", ""));
        assert_eq!(split_origin("http://h:1/"), ("http://h:1", ""));
    }

    #[test]
    fn scope_hierarchy_is_transitive() {
        let p = ScopePolicy::default()
            .implies("admin", ["write"])
            .implies("write", ["read"]);
        let got = p.expand(&["admin".into()]);
        assert!(got.contains("read") && got.contains("write") && got.contains("admin"));
    }

    #[test]
    fn principal_reads_scope_string_and_scp_array() {
        let p = Principal::from_claims(serde_json::json!({"sub":"u","scope":"a b","azp":"c"}))
            .expect("sub");
        assert_eq!(p.scopes, ["a", "b"]);
        assert_eq!(p.client_id.as_deref(), Some("c"));
        let p = Principal::from_claims(serde_json::json!({"sub":"u","scp":["x"]})).expect("sub");
        assert_eq!(p.scopes, ["x"]);
        assert!(Principal::from_claims(serde_json::json!({"scope":"a"})).is_none());
    }
}
