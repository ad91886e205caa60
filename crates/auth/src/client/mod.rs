//! The OAuth 2.1 client an MCP client uses to get past `401`/`403` challenges.
//!
//! [`OAuthClient::handle_challenge`] runs the whole MCP authorization flow:
//!
//! 1. parse `WWW-Authenticate` ([`challenge`]);
//! 2. fetch protected-resource metadata — the challenge's `resource_metadata`, else the
//!    path-inserted well-known URI, else the root one — on every challenge, and check that its
//!    `resource` covers the MCP server ([`discovery`]);
//! 3. fetch the first authorization server's metadata and require its `issuer` to match
//!    exactly;
//! 4. pick the client identity for that issuer: pre-registered → Client ID Metadata Document →
//!    dynamic registration ([`registration`]); credentials are stored per issuer, so a new AS
//!    gets a new registration and never sees another AS's `client_id`;
//! 5. choose scopes (challenge → PRM `scopes_supported` → none; the union with what was
//!    granted before; `offline_access` only when the AS lists it);
//! 6. authorize with PKCE S256, `state` and `resource`, through an [`Authorizer`]; check
//!    `state` and the RFC 9207 `iss` ([`grant`]);
//! 7. redeem the code at the token endpoint ([`token`]) and store the tokens ([`store`]).
//!
//! Machines without a user use [`GrantType::ClientCredentials`] (secret or `private_key_jwt`,
//! [`assertion`]) or [`GrantType::JwtBearer`] (a workload identity JWT, or an enterprise ID-JAG
//! from an IdP token exchange, [`federation`]) instead of steps 4 and 6–7.
//!
//! Every fetch goes through the [`SsrfPolicy`] with size limits and timeouts. Tokens,
//! secrets, codes and verifiers never appear in `Debug` output, errors or logs.

pub mod assertion;
pub mod authorizer;
pub mod challenge;
pub mod discovery;
mod error;
pub mod federation;
mod flow;
pub mod grant;
mod http;
pub mod pkce;
pub mod registration;
pub mod ssrf;
pub mod store;
pub mod token;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

pub use assertion::SigningKey;
pub use authorizer::{Authorizer, CallbackParams, HeadlessAuthorizer, LoopbackAuthorizer};
pub use challenge::BearerChallenge;
pub use error::AuthError;
pub use federation::AssertionSource;
pub use ssrf::SsrfPolicy;
pub use store::{
    ClientKind, ClientRegistration, FileTokenStore, MemoryTokenStore, StoreEntry, StoreKey,
    TokenEndpointAuth, TokenSet, TokenStore,
};

/// A boxed `Send` future, as returned by [`Authorizer`] methods.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Default for [`OAuthConfig::max_authorizations`].
pub const DEFAULT_MAX_AUTHORIZATIONS: u32 = 3;

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Client credentials issued out of band. `Debug` hides the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct PreRegistered {
    /// The `client_id`.
    pub client_id: String,
    /// The `client_secret`, for a confidential client.
    pub client_secret: Option<String>,
    /// The issuer these credentials belong to. When set, they are used with that AS only;
    /// when `None`, with whichever AS the server names.
    pub issuer: Option<String>,
}

impl fmt::Debug for PreRegistered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreRegistered")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("issuer", &self.issuer)
            .finish()
    }
}

/// How the client obtains tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantType {
    /// Authorization code with PKCE, through the [`Authorizer`] (users).
    #[default]
    AuthorizationCode,
    /// Client credentials (RFC 6749 §4.4) with the [`PreRegistered`] id and its secret or
    /// [`SigningKey`] (machines; no user, no authorizer, no refresh tokens).
    ClientCredentials,
    /// JWT-bearer (RFC 7523 §2.1) with the [`OAuthConfig::assertion`]: workload identity
    /// federation or an enterprise ID-JAG. The [`PreRegistered`] `client_id` (and secret, if
    /// any) identifies the client.
    JwtBearer,
}

/// Configuration of an [`OAuthClient`].
#[derive(Clone)]
pub struct OAuthConfig {
    /// Human-readable client name, for dynamic registration.
    pub client_name: String,
    /// The redirect URI, e.g. `http://127.0.0.1:<port>/callback`.
    pub redirect_uri: String,
    /// Client ID Metadata Document URL, used as `client_id` when the AS advertises
    /// `client_id_metadata_document_supported`.
    pub client_id_metadata_url: Option<String>,
    /// Out-of-band credentials; preferred over CIMD and registration.
    pub pre_registered: Option<PreRegistered>,
    /// Which URLs may be fetched.
    pub ssrf: SsrfPolicy,
    /// Where registrations and tokens are kept.
    pub store: Arc<dyn TokenStore>,
    /// Runs the user-agent step.
    pub authorizer: Arc<dyn Authorizer>,
    /// Authorizations allowed per MCP server per process (default 3).
    pub max_authorizations: u32,
    /// Scopes requested in addition to the ones the server asks for.
    pub extra_scopes: Vec<String>,
    /// How tokens are obtained (default: authorization code).
    pub grant: GrantType,
    /// Key for `private_key_jwt` client authentication in the client credentials grant, used
    /// when the AS lists that method.
    pub signing_key: Option<SigningKey>,
    /// The assertion for [`GrantType::JwtBearer`].
    pub assertion: Option<AssertionSource>,
}

impl fmt::Debug for OAuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthConfig")
            .field("client_name", &self.client_name)
            .field("redirect_uri", &self.redirect_uri)
            .field("client_id_metadata_url", &self.client_id_metadata_url)
            .field("pre_registered", &self.pre_registered)
            .field("ssrf", &self.ssrf)
            .field("max_authorizations", &self.max_authorizations)
            .field("extra_scopes", &self.extra_scopes)
            .field("grant", &self.grant)
            .field("signing_key", &self.signing_key)
            .field("assertion", &self.assertion)
            .finish_non_exhaustive()
    }
}

impl OAuthConfig {
    /// A configuration with the strict SSRF policy, no CIMD URL, no pre-registered
    /// credentials, three authorizations and no extra scopes.
    pub fn new(
        client_name: impl Into<String>,
        redirect_uri: impl Into<String>,
        store: Arc<dyn TokenStore>,
        authorizer: Arc<dyn Authorizer>,
    ) -> Self {
        Self {
            client_name: client_name.into(),
            redirect_uri: redirect_uri.into(),
            client_id_metadata_url: None,
            pre_registered: None,
            ssrf: SsrfPolicy::strict(),
            store,
            authorizer,
            max_authorizations: DEFAULT_MAX_AUTHORIZATIONS,
            extra_scopes: Vec::new(),
            grant: GrantType::AuthorizationCode,
            signing_key: None,
            assertion: None,
        }
    }

    /// Sets the JWT-bearer assertion source.
    pub fn with_assertion(mut self, a: AssertionSource) -> Self {
        self.assertion = Some(a);
        self
    }

    /// Sets the `private_key_jwt` signing key.
    pub fn with_signing_key(mut self, key: SigningKey) -> Self {
        self.signing_key = Some(key);
        self
    }

    /// Sets the grant type. [`GrantType::ClientCredentials`] needs
    /// [`with_pre_registered`](Self::with_pre_registered) credentials with a secret.
    pub fn with_grant(mut self, grant: GrantType) -> Self {
        self.grant = grant;
        self
    }

    /// Sets the SSRF policy.
    pub fn with_ssrf(mut self, ssrf: SsrfPolicy) -> Self {
        self.ssrf = ssrf;
        self
    }

    /// Sets the CIMD URL.
    pub fn with_client_id_metadata_url(mut self, url: impl Into<String>) -> Self {
        self.client_id_metadata_url = Some(url.into());
        self
    }

    /// Sets pre-registered credentials.
    pub fn with_pre_registered(mut self, p: PreRegistered) -> Self {
        self.pre_registered = Some(p);
        self
    }

    /// Sets the authorization retry limit.
    pub fn with_max_authorizations(mut self, n: u32) -> Self {
        self.max_authorizations = n;
        self
    }

    /// Sets extra scopes.
    pub fn with_extra_scopes(mut self, scopes: Vec<String>) -> Self {
        self.extra_scopes = scopes;
        self
    }

    fn validate(&self) -> Result<(), AuthError> {
        let r = url::Url::parse(&self.redirect_uri)
            .map_err(|e| AuthError::Config(format!("redirect_uri {:?}: {e}", self.redirect_uri)))?;
        if r.fragment().is_some() {
            return Err(AuthError::Config(
                "redirect_uri must not have a fragment".into(),
            ));
        }
        if let Some(c) = &self.client_id_metadata_url {
            let u = url::Url::parse(c)
                .map_err(|e| AuthError::Config(format!("client_id_metadata_url {c:?}: {e}")))?;
            if u.scheme() != "https" || u.path().trim_matches('/').is_empty() {
                return Err(AuthError::Config(
                    "client_id_metadata_url must be an https URL with a path".into(),
                ));
            }
        }
        if self.grant == GrantType::ClientCredentials
            && self
                .pre_registered
                .as_ref()
                .is_none_or(|p| p.client_secret.is_none() && self.signing_key.is_none())
        {
            return Err(AuthError::Config(
                "the client_credentials grant needs a pre-registered client_id with a secret or a signing key"
                    .into(),
            ));
        }
        if self.grant == GrantType::JwtBearer
            && (self.assertion.is_none() || self.pre_registered.is_none())
        {
            return Err(AuthError::Config(
                "the JWT-bearer grant needs an assertion and a pre-registered client_id".into(),
            ));
        }
        if self.max_authorizations == 0 {
            return Err(AuthError::Config(
                "max_authorizations must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// Per-process state: which credentials serve which MCP URL, and the retry budget.
#[derive(Default)]
struct State {
    /// MCP server URL → the key whose token it uses.
    bindings: HashMap<String, StoreKey>,
    /// MCP server URL → authorizations started in this process.
    attempts: HashMap<String, u32>,
    /// Keys whose last challenge was answered by a refresh; the next 401 re-authorizes.
    refreshed: HashSet<StoreKey>,
}

struct Inner {
    cfg: OAuthConfig,
    http: http::Http,
    /// Held for the whole of a challenge so concurrent challenges run one flow.
    state: tokio::sync::Mutex<State>,
    /// Bumped whenever a challenge yields a token; lets a challenge that waited for the lock
    /// see that another one already obtained a token.
    generation: std::sync::atomic::AtomicU64,
}

/// The OAuth client. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct OAuthClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthClient")
            .field("cfg", &self.inner.cfg)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// Validates `cfg` and builds the client.
    pub fn new(cfg: OAuthConfig) -> Result<Self, AuthError> {
        cfg.validate()?;
        let http = http::Http::new(cfg.ssrf)?;
        Ok(Self {
            inner: Arc::new(Inner {
                cfg,
                http,
                state: tokio::sync::Mutex::new(State::default()),
                generation: std::sync::atomic::AtomicU64::new(0),
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OAuthConfig {
        &self.inner.cfg
    }

    /// The access token currently held for this MCP server URL, if any (refreshing it first if
    /// it is expired and a refresh token exists).
    pub async fn token_for(&self, resource_url: &str) -> Option<String> {
        let mut st = self.inner.state.lock().await;
        match flow::token_for(&self.inner.cfg, &self.inner.http, &mut st, resource_url).await {
            Ok(t) => t,
            Err(e) => {
                tracing::debug!(error = %e, "no usable stored token");
                None
            }
        }
    }

    /// Handles a 401 (or a 403 insufficient_scope) from the MCP server at `resource_url`:
    /// discovery → registration → PKCE authorize → token. Returns a new access token or an
    /// error (e.g. resource mismatch, issuer mismatch, missing/wrong iss, retry limit reached).
    pub async fn handle_challenge(
        &self,
        resource_url: &str,
        status: u16,
        www_authenticate: Option<&str>,
    ) -> Result<String, AuthError> {
        use std::sync::atomic::Ordering;
        let seen = self.inner.generation.load(Ordering::SeqCst);
        let mut st = self.inner.state.lock().await;
        if self.inner.generation.load(Ordering::SeqCst) != seen {
            // Another challenge finished while this one waited (requests sent in parallel all
            // got the same 401): its token answers this one too, without another authorization.
            if let Ok(Some(t)) =
                flow::token_for(&self.inner.cfg, &self.inner.http, &mut st, resource_url).await
            {
                return Ok(t);
            }
        }
        let r = flow::handle_challenge(
            &self.inner.cfg,
            &self.inner.http,
            &mut st,
            resource_url,
            status,
            www_authenticate,
        )
        .await;
        if r.is_ok() {
            self.inner.generation.fetch_add(1, Ordering::SeqCst);
        }
        r
    }

    /// Forgets tokens (and registrations if `all`) for a server: `switchyard logout`.
    pub async fn logout(&self, resource_url: &str, all: bool) -> Result<(), AuthError> {
        let mut st = self.inner.state.lock().await;
        let store = &self.inner.cfg.store;
        let bound = st.bindings.remove(resource_url);
        st.attempts.remove(resource_url);
        for key in store.keys()? {
            let covers = discovery::resource_covers(&key.resource, resource_url);
            if !covers && bound.as_ref() != Some(&key) {
                continue;
            }
            st.refreshed.remove(&key);
            if all {
                store.remove(&key)?;
            } else if let Some(mut e) = store.load(&key)? {
                e.tokens = None;
                store.save(&key, &e)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    /// Callers drive these futures on multi-threaded runtimes (`tokio::spawn`), so they must
    /// be `Send`; a non-`Send` value held across an await would break them at compile time.
    #[test]
    fn client_and_its_futures_are_send_and_sync() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<OAuthClient>();
        let c = OAuthClient::new(OAuthConfig::new(
            "t",
            "http://127.0.0.1:0/callback",
            Arc::new(MemoryTokenStore::new()),
            Arc::new(HeadlessAuthorizer),
        ))
        .unwrap();
        assert_send(&c.token_for("https://x/mcp"));
        assert_send(&c.handle_challenge("https://x/mcp", 401, None));
        assert_send(&c.logout("https://x/mcp", true));
    }

    #[test]
    fn config_is_validated() {
        let mk = |redirect: &str| {
            OAuthConfig::new(
                "t",
                redirect,
                Arc::new(MemoryTokenStore::new()),
                Arc::new(HeadlessAuthorizer),
            )
        };
        assert!(OAuthClient::new(mk("not a url")).is_err());
        assert!(OAuthClient::new(mk("http://localhost/cb#frag")).is_err());
        assert!(OAuthClient::new(mk("http://localhost/cb").with_max_authorizations(0)).is_err());
        assert!(OAuthClient::new(
            mk("http://localhost/cb").with_client_id_metadata_url("http://app.example/c.json")
        )
        .is_err());
        assert!(OAuthClient::new(
            mk("http://localhost/cb").with_client_id_metadata_url("https://app.example/c.json")
        )
        .is_ok());
    }

    #[test]
    fn debug_output_hides_the_pre_registered_secret() {
        let cfg = OAuthConfig::new(
            "t",
            "http://localhost/cb",
            Arc::new(MemoryTokenStore::new()),
            Arc::new(HeadlessAuthorizer),
        )
        .with_pre_registered(PreRegistered {
            client_id: "cid".into(),
            client_secret: Some("hunter2".into()),
            issuer: None,
        });
        let c = OAuthClient::new(cfg).unwrap();
        let s = format!("{c:?}");
        assert!(s.contains("cid") && !s.contains("hunter2"), "{s}");
    }
}
