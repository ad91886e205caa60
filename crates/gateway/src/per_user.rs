//! Per-user OAuth for upstreams (`oauth_per_user`): each caller authorizes the gateway at the
//! upstream's authorization server once, and that caller's calls then carry their own upstream
//! token. The caller's gateway token is never sent upstream.
//!
//! - A caller without a stored token gets the JSON-RPC error `-32042`
//!   (URLElicitationRequiredError) whose `data.elicitations[0]` is a URL-mode elicitation
//!   pointing at `<public_url>/connect/<upstream>?request=<id>`: a single-use, expiring,
//!   random invitation bound to the caller's subject.
//! - That page ([`crate::connect`]) checks that the browser is signed in at the gateway as the
//!   same subject, then runs the connector OAuth client (discovery RFC 9728 + RFC 8414,
//!   pre-registered `client_id` or dynamic registration, PKCE S256, `resource` = the upstream,
//!   RFC 9207 `iss`) with the redirect `<public_url>/connect/callback`.
//! - Tokens are kept per (subject, upstream), sealed with XChaCha20-Poly1305 under a key
//!   derived (HKDF-SHA256) from the server's secret, with the subject and upstream as
//!   associated data, so a row copied to another user or upstream does not open.
//! - Calls use a bounded pool of per-(subject, upstream) clients; an expired token is
//!   refreshed with the refresh token; a token the upstream refuses (and cannot be refreshed)
//!   is dropped and the caller is sent back to the `-32042` path.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::json;
use switchyard_auth::client::{
    AuthError, Authorizer, BoxFuture as AuthFuture, CallbackParams, ClientRegistration,
    OAuthClient, OAuthConfig, PreRegistered, SsrfPolicy, StoreEntry, StoreKey, TokenStore,
};
use switchyard_client::{AuthProvider, BoxFuture, Client, ClientError};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::ErrorCode;

use crate::config::OAuthPerUser;
use crate::upstream::Upstream;

/// How long an invitation (the URL in a `-32042` error) stays usable.
pub const INVITE_TTL: Duration = Duration::from_secs(600);
/// How long the user has between the connect page and the callback.
pub const FLOW_TTL: Duration = Duration::from_secs(600);
/// Per-(subject, upstream) clients kept open at most; the least recently used is closed first.
pub const POOL_SIZE: usize = 256;
/// Invitations and flows kept at most (memory bound); the oldest are dropped beyond this.
const MAX_PENDING: usize = 10_000;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn random_id() -> String {
    URL_SAFE_NO_PAD.encode(rand::random::<[u8; 24]>())
}

/// What can go wrong with per-user tokens.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PerUserError {
    /// The secret the sealing key is derived from is too short.
    #[error("the token sealing secret must be at least 32 bytes")]
    WeakSecret,
    /// The public URL is not an absolute http(s) URL.
    #[error("public_url {0:?} is not an http(s) URL")]
    PublicUrl(String),
    /// Per-user OAuth was already enabled.
    #[error("per-user OAuth is already enabled")]
    AlreadyEnabled,
    /// A stored token blob does not open with this key (another server's secret, or tampering).
    #[error("a stored upstream token does not open with this server's key")]
    Unseal,
    /// Sealing failed.
    #[error("sealing an upstream token failed")]
    Seal,
    /// The backing store failed.
    #[error("token store: {0}")]
    Store(String),
    /// The stored entry is not valid JSON.
    #[error("stored upstream token: {0}")]
    Format(String),
}

/// A boxed `Send` future.
pub type StoreFuture<'a, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, PerUserError>> + Send + 'a>>;

/// Where sealed per-user token blobs live. The implementation sees ciphertext only (in
/// `switchyard serve`, switchyard-store's `upstream_user_tokens` table).
pub trait SealedTokenStore: Send + Sync {
    /// The blob of `subject` for `upstream`.
    fn load<'a>(&'a self, subject: &'a str, upstream: &'a str) -> StoreFuture<'a, Option<String>>;
    /// Stores or replaces the blob.
    fn save<'a>(
        &'a self,
        subject: &'a str,
        upstream: &'a str,
        sealed: &'a str,
    ) -> StoreFuture<'a, ()>;
}

/// A [`SealedTokenStore`] in memory (tests; tokens are lost on restart).
#[derive(Debug, Default)]
pub struct MemorySealedStore {
    rows: Mutex<HashMap<(String, String), String>>,
}

impl SealedTokenStore for MemorySealedStore {
    fn load<'a>(&'a self, subject: &'a str, upstream: &'a str) -> StoreFuture<'a, Option<String>> {
        let v = lock(&self.rows)
            .get(&(subject.to_owned(), upstream.to_owned()))
            .cloned();
        Box::pin(async move { Ok(v) })
    }
    fn save<'a>(
        &'a self,
        subject: &'a str,
        upstream: &'a str,
        sealed: &'a str,
    ) -> StoreFuture<'a, ()> {
        lock(&self.rows).insert((subject.to_owned(), upstream.to_owned()), sealed.to_owned());
        Box::pin(async { Ok(()) })
    }
}

/// Who is signed in at the gateway in this browser: the login session of the gateway's own
/// authorization server. The connect page and its callback only proceed for the subject the
/// invitation was issued to (the confused-deputy defence).
pub trait BrowserIdentity: Send + Sync {
    /// The subject of the browser's gateway session, if any.
    fn subject(&self, headers: &axum::http::HeaderMap) -> Option<String>;
    /// Where a browser without a session can sign in, if the gateway has such a page.
    fn sign_in_hint(&self) -> Option<String> {
        None
    }
}

/// Settings of per-user OAuth (see [`Gateway::enable_per_user`](crate::Gateway::enable_per_user)).
pub struct PerUserOptions {
    /// The gateway's public base URL (`https://gw.example.com`); the connect pages live under it.
    pub public_url: String,
    /// The server secret the sealing key is derived from (at least 32 bytes).
    pub secret: Vec<u8>,
    /// Where sealed tokens live.
    pub store: Arc<dyn SealedTokenStore>,
    /// Who is signed in at the gateway in a browser.
    pub browser: Arc<dyn BrowserIdentity>,
    /// Which URLs the OAuth client may fetch (discovery, registration, token endpoints).
    pub ssrf: SsrfPolicy,
}

impl std::fmt::Debug for PerUserOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerUserOptions")
            .field("public_url", &self.public_url)
            .field("ssrf", &self.ssrf)
            .finish_non_exhaustive()
    }
}

/// Seals token entries: XChaCha20-Poly1305 (random 192-bit nonces are safe to pick at random)
/// under a key derived from the server secret; subject and upstream are associated data.
pub(crate) struct Sealer(XChaCha20Poly1305);

impl Sealer {
    const INFO: &'static [u8] = b"switchyard gateway upstream user tokens v1";

    pub(crate) fn new(secret: &[u8]) -> Result<Self, PerUserError> {
        if secret.len() < 32 {
            return Err(PerUserError::WeakSecret);
        }
        let hk = hkdf::Hkdf::<sha2::Sha256>::new(Some(b"switchyard-sealing"), secret);
        let mut key = [0u8; 32];
        hk.expand(Self::INFO, &mut key)
            .map_err(|_| PerUserError::WeakSecret)?;
        Ok(Self(XChaCha20Poly1305::new(&key.into())))
    }

    fn aad(subject: &str, upstream: &str) -> Vec<u8> {
        // Lengths first, so ("ab", "c") and ("a", "bc") differ.
        let mut v = Vec::with_capacity(subject.len() + upstream.len() + 16);
        v.extend_from_slice(&(subject.len() as u64).to_be_bytes());
        v.extend_from_slice(subject.as_bytes());
        v.extend_from_slice(&(upstream.len() as u64).to_be_bytes());
        v.extend_from_slice(upstream.as_bytes());
        v
    }

    pub(crate) fn seal(
        &self,
        subject: &str,
        upstream: &str,
        plain: &[u8],
    ) -> Result<String, PerUserError> {
        let nonce: [u8; 24] = rand::random();
        let aad = Self::aad(subject, upstream);
        let ct = self
            .0
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: &aad,
                },
            )
            .map_err(|_| PerUserError::Seal)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("v1.{}", URL_SAFE_NO_PAD.encode(out)))
    }

    pub(crate) fn open(
        &self,
        subject: &str,
        upstream: &str,
        sealed: &str,
    ) -> Result<Vec<u8>, PerUserError> {
        let raw = sealed
            .strip_prefix("v1.")
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .filter(|r| r.len() > 24)
            .ok_or(PerUserError::Unseal)?;
        let (nonce, ct) = raw.split_at(24);
        let aad = Self::aad(subject, upstream);
        self.0
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| PerUserError::Unseal)
    }
}

/// One user's connector token store for one upstream: the OAuth client's synchronous
/// [`TokenStore`] in memory, written through (sealed) to the [`SealedTokenStore`].
pub(crate) struct SubjectStore {
    subject: String,
    upstream: String,
    entries: Mutex<BTreeMap<StoreKey, StoreEntry>>,
    hub: std::sync::Weak<PerUser>,
    /// Serialises writes, each of which writes the newest state (order does not matter).
    writing: tokio::sync::Mutex<()>,
    me: std::sync::Weak<SubjectStore>,
}

impl SubjectStore {
    /// The store of `subject` for `upstream`: the live one if a client or a connect flow holds
    /// it (one in-memory state per user and upstream, so a late write of one path never
    /// undoes another's), else loaded from the sealed row.
    async fn load(
        hub: &Arc<PerUser>,
        subject: &str,
        upstream: &str,
    ) -> Result<Arc<Self>, PerUserError> {
        let key = (subject.to_owned(), upstream.to_owned());
        if let Some(s) = lock(&hub.stores)
            .get(&key)
            .and_then(std::sync::Weak::upgrade)
        {
            return Ok(s);
        }
        let loaded = Self::read(hub, subject, upstream).await?;
        let mut live = lock(&hub.stores);
        if let Some(s) = live.get(&key).and_then(std::sync::Weak::upgrade) {
            return Ok(s);
        }
        live.retain(|_, w| w.strong_count() > 0);
        live.insert(key, Arc::downgrade(&loaded));
        Ok(loaded)
    }

    async fn read(
        hub: &Arc<PerUser>,
        subject: &str,
        upstream: &str,
    ) -> Result<Arc<Self>, PerUserError> {
        let mut entries = BTreeMap::new();
        if let Some(sealed) = hub.store.load(subject, upstream).await? {
            let plain = hub.sealer.open(subject, upstream, &sealed)?;
            let list: Vec<(StoreKey, StoreEntry)> =
                serde_json::from_slice(&plain).map_err(|e| PerUserError::Format(e.to_string()))?;
            entries.extend(list);
        }
        // A registration another user's flow made at this upstream's AS serves this user too
        // (same gateway, same redirect URI): one client per upstream, not one per user.
        for (key, client) in lock(&hub.registrations)
            .iter()
            .filter(|((u, _), _)| u == upstream)
            .map(|((_, k), c)| (k.clone(), c.clone()))
        {
            let e: &mut StoreEntry = entries.entry(key).or_default();
            if e.client.is_none() {
                e.client = Some(client);
            }
        }
        Ok(Arc::new_cyclic(|me| Self {
            subject: subject.to_owned(),
            upstream: upstream.to_owned(),
            entries: Mutex::new(entries),
            hub: Arc::downgrade(hub),
            writing: tokio::sync::Mutex::new(()),
            me: me.clone(),
        }))
    }

    /// Writes the current entries, sealed.
    pub(crate) async fn persist(&self) -> Result<(), PerUserError> {
        let Some(hub) = self.hub.upgrade() else {
            return Ok(());
        };
        let _one = self.writing.lock().await;
        let list: Vec<(StoreKey, StoreEntry)> = lock(&self.entries)
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let plain = serde_json::to_vec(&list).map_err(|e| PerUserError::Format(e.to_string()))?;
        let sealed = hub.sealer.seal(&self.subject, &self.upstream, &plain)?;
        hub.store.save(&self.subject, &self.upstream, &sealed).await
    }

    fn persist_later(&self) {
        let Some(me) = self.me.upgrade() else { return };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                if let Err(e) = me.persist().await {
                    tracing::warn!(upstream = %me.upstream, error = %e, "could not store an upstream token");
                }
            });
        }
    }

    /// Drops the tokens (kept: the client registration), e.g. after the upstream refused them.
    pub(crate) async fn forget_tokens(&self) -> Result<(), PerUserError> {
        for e in lock(&self.entries).values_mut() {
            e.tokens = None;
        }
        self.persist().await
    }
}

impl TokenStore for SubjectStore {
    fn load(&self, key: &StoreKey) -> Result<Option<StoreEntry>, AuthError> {
        Ok(lock(&self.entries).get(key).cloned())
    }
    fn save(&self, key: &StoreKey, entry: &StoreEntry) -> Result<(), AuthError> {
        if let (Some(c), Some(hub)) = (&entry.client, self.hub.upgrade()) {
            lock(&hub.registrations).insert((self.upstream.clone(), key.clone()), c.clone());
        }
        lock(&self.entries).insert(key.clone(), entry.clone());
        self.persist_later();
        Ok(())
    }
    fn remove(&self, key: &StoreKey) -> Result<(), AuthError> {
        lock(&self.entries).remove(key);
        self.persist_later();
        Ok(())
    }
    fn keys(&self) -> Result<Vec<StoreKey>, AuthError> {
        Ok(lock(&self.entries).keys().cloned().collect())
    }
}

/// The authorizer of the calls path: a call never waits for a person, so an authorization
/// the stored tokens cannot satisfy (no token, refresh refused) fails at once and the caller
/// is sent to the `-32042` path instead.
struct NoInteraction;

impl Authorizer for NoInteraction {
    fn authorize(
        &self,
        _authorize_url: &str,
        _redirect_uri: &str,
    ) -> AuthFuture<'_, Result<CallbackParams, AuthError>> {
        Box::pin(async {
            Err(AuthError::Authorizer(
                "the user must authorize this upstream (URL elicitation)".into(),
            ))
        })
    }
}

/// A user's upstream token for the calls path. On a `401` the stored token set is consulted
/// first: an expired access token is refreshed there by its expiry time, as often as it
/// expires (the connector's challenge handler refreshes once per authorization, which suits
/// an interactive client but not a long-lived pooled connection). Only a token that is not
/// expired and still refused goes to the challenge handler (one refresh, then the
/// [`NoInteraction`] authorizer, which ends in `-32042`).
struct UserToken {
    oauth: OAuthClient,
    /// The token last handed to the connection: the one a `401` refers to.
    last: Mutex<Option<String>>,
}

impl AuthProvider for UserToken {
    fn token<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let t = self.oauth.token_for(url).await;
            lock(&self.last).clone_from(&t);
            t
        })
    }

    fn challenge<'a>(
        &'a self,
        url: &'a str,
        status: u16,
        www_authenticate: Option<String>,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            if status == 401 {
                if let Some(t) = self.oauth.token_for(url).await {
                    let mut last = lock(&self.last);
                    if last.as_deref() != Some(t.as_str()) {
                        *last = Some(t.clone());
                        return Ok(t);
                    }
                }
            }
            let t = self
                .oauth
                .handle_challenge(url, status, www_authenticate.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            *lock(&self.last) = Some(t.clone());
            Ok(t)
        })
    }
}

/// The authorizer of the connect page: hands the authorization URL to the page (which sends
/// the browser there) and waits for the callback's parameters.
struct Channel {
    url: Mutex<Option<tokio::sync::oneshot::Sender<String>>>,
    callback: tokio::sync::Mutex<Option<tokio::sync::oneshot::Receiver<CallbackParams>>>,
}

impl Authorizer for Channel {
    fn authorize(
        &self,
        authorize_url: &str,
        _redirect_uri: &str,
    ) -> AuthFuture<'_, Result<CallbackParams, AuthError>> {
        let url = authorize_url.to_owned();
        Box::pin(async move {
            let tx = lock(&self.url)
                .take()
                .ok_or_else(|| AuthError::Authorizer("a connect flow authorizes once".into()))?;
            let _ = tx.send(url);
            let rx =
                self.callback.lock().await.take().ok_or_else(|| {
                    AuthError::Authorizer("a connect flow authorizes once".into())
                })?;
            match tokio::time::timeout(FLOW_TTL, rx).await {
                Ok(Ok(p)) => Ok(p),
                _ => Err(AuthError::Authorizer(
                    "the browser did not come back from the authorization server".into(),
                )),
            }
        })
    }
}

/// An invitation: the URL of a `-32042` error.
struct Invite {
    subject: String,
    upstream: String,
    expires: Instant,
}

/// A connect flow waiting for its callback, keyed by its OAuth `state`.
pub(crate) struct Flow {
    pub(crate) subject: String,
    pub(crate) upstream: String,
    pub(crate) callback: tokio::sync::oneshot::Sender<CallbackParams>,
    pub(crate) done: tokio::task::JoinHandle<Result<(), String>>,
    expires: Instant,
}

struct Pooled {
    client: Arc<Client>,
    used: u64,
}

/// A per-(subject, upstream) connect lock, alive while someone holds or waits for it.
type Gate = std::sync::Weak<tokio::sync::Mutex<()>>;

/// The pool: clients by (subject, upstream), and the use counter that orders them.
type Pool = (HashMap<(String, String), Pooled>, u64);

/// The per-user machinery of one gateway: invitations, flows, sealed tokens and the client pool.
pub(crate) struct PerUser {
    pub(crate) public_url: String,
    sealer: Sealer,
    store: Arc<dyn SealedTokenStore>,
    pub(crate) browser: Arc<dyn BrowserIdentity>,
    ssrf: SsrfPolicy,
    invites: Mutex<HashMap<String, Invite>>,
    flows: Mutex<HashMap<String, Flow>>,
    /// Client registrations at upstream authorization servers, by (upstream, issuer and
    /// resource), shared by all users (in memory; after a restart the first flow registers).
    registrations: Mutex<HashMap<(String, StoreKey), ClientRegistration>>,
    /// The token stores in use, by (subject, upstream).
    stores: Mutex<HashMap<(String, String), std::sync::Weak<SubjectStore>>>,
    pool: Mutex<Pool>,
    /// One connection attempt per (subject, upstream) at a time.
    connecting: Mutex<HashMap<(String, String), Gate>>,
    me: std::sync::Weak<PerUser>,
}

/// Prefix of the `requestState` of the gateway's own connect question.
pub(crate) const STATE_PREFIX: &str = "gwu.";

/// Why a per-user call could not get a client.
pub(crate) enum Denied {
    /// The caller must (re)authorize: the `-32042` error, or a refusal for an anonymous caller.
    Rpc(ErrorObject),
    /// The caller must (re)authorize: an `input_required` result asking for it.
    Reply(Vec<u8>),
    /// The upstream failed otherwise (connect, timeout).
    Failed(ClientError),
}

impl Denied {
    /// What the request answers (a failure of the upstream itself is the caller's to render).
    pub(crate) fn answer(self) -> Result<Vec<u8>, ErrorObject> {
        match self {
            Self::Rpc(e) => Err(e),
            Self::Reply(r) => Ok(r),
            Self::Failed(e) => Err(ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string())),
        }
    }
}

impl PerUser {
    pub(crate) fn new(o: PerUserOptions) -> Result<Arc<Self>, PerUserError> {
        let public = o.public_url.trim_end_matches('/').to_owned();
        match url::Url::parse(&public) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(PerUserError::PublicUrl(o.public_url)),
        }
        let sealer = Sealer::new(&o.secret)?;
        Ok(Arc::new_cyclic(|me| Self {
            public_url: public,
            sealer,
            store: o.store,
            browser: o.browser,
            ssrf: o.ssrf,
            invites: Mutex::new(HashMap::new()),
            flows: Mutex::new(HashMap::new()),
            stores: Mutex::new(HashMap::new()),
            registrations: Mutex::new(HashMap::new()),
            pool: Mutex::new((HashMap::new(), 0)),
            connecting: Mutex::new(HashMap::new()),
            me: me.clone(),
        }))
    }

    fn arc(&self) -> Option<Arc<Self>> {
        self.me.upgrade()
    }

    pub(crate) fn redirect_uri(&self) -> String {
        format!("{}/connect/callback", self.public_url)
    }

    fn oauth_config(
        &self,
        p: &OAuthPerUser,
        store: Arc<SubjectStore>,
        authorizer: Arc<dyn Authorizer>,
    ) -> Result<OAuthConfig, String> {
        let mut cfg =
            OAuthConfig::new("Switchyard gateway", self.redirect_uri(), store, authorizer)
                .with_ssrf(self.ssrf)
                .with_extra_scopes(p.scopes.clone())
                // One authorization per connect page; the calls path never authorizes.
                .with_max_authorizations(1);
        if let Some(id) = &p.client_id {
            cfg = cfg.with_pre_registered(PreRegistered {
                client_id: id.clone(),
                client_secret: p.secret().map_err(|e| e.to_string())?,
                issuer: None,
            });
        }
        Ok(cfg)
    }

    /// Asks `subject` to connect `upstream`: a fresh invitation, as an `input_required` result
    /// with a URL-mode `elicitation/create` request (2026-07-28 callers that declared URL
    /// elicitation, on `tools/call`, `prompts/get` and `resources/read`), else as `-32042`.
    pub(crate) fn ask(&self, subject: &str, upstream: &str, input_required: bool) -> Denied {
        if !input_required {
            return Denied::Rpc(self.elicitation_error(subject, upstream));
        }
        let el = self.invitation(subject, upstream);
        let mut params = el.clone();
        params["mode"] = json!("url");
        // The state marks the retry as the answer to the gateway's own question: it is not
        // forwarded upstream (see `carry_inputs`).
        Denied::Reply(crate::gateway::input_required_result(
            "gateway.connect",
            "elicitation/create",
            params,
            format!("{STATE_PREFIX}{}", random_id()),
        ))
    }

    /// The `-32042` error for `subject` and upstream `u`: a fresh invitation URL.
    pub(crate) fn elicitation_error(&self, subject: &str, upstream: &str) -> ErrorObject {
        let el = self.invitation(subject, upstream);
        let message = el["message"].as_str().unwrap_or_default().to_owned();
        ErrorObject::new(ErrorCode::URL_ELICITATION_REQUIRED, message)
            .with_data(json!({ "elicitations": [el] }))
    }

    /// A fresh invitation: `{mode, elicitationId, url, message}`.
    fn invitation(&self, subject: &str, upstream: &str) -> serde_json::Value {
        let id = random_id();
        {
            let mut m = lock(&self.invites);
            let now = Instant::now();
            m.retain(|_, i| i.expires > now);
            if m.len() >= MAX_PENDING {
                if let Some(k) = m
                    .iter()
                    .min_by_key(|(_, i)| i.expires)
                    .map(|(k, _)| k.clone())
                {
                    m.remove(&k);
                }
            }
            m.insert(
                id.clone(),
                Invite {
                    subject: subject.to_owned(),
                    upstream: upstream.to_owned(),
                    expires: now + INVITE_TTL,
                },
            );
        }
        let url = format!(
            "{}/connect/{}?request={id}",
            self.public_url,
            url::form_urlencoded::byte_serialize(upstream.as_bytes()).collect::<String>()
        );
        let message = format!(
            "Authorize the gateway to use {upstream} on your behalf: open {url} (sign in to the gateway in the same browser), then retry."
        );
        json!({
            "mode": "url",
            "elicitationId": random_id(),
            "url": url,
            "message": message,
        })
    }

    /// Looks an invitation up without spending it.
    pub(crate) fn invite(&self, id: &str) -> Option<(String, String)> {
        lock(&self.invites)
            .get(id)
            .filter(|i| i.expires > Instant::now())
            .map(|i| (i.subject.clone(), i.upstream.clone()))
    }

    /// Spends an invitation.
    pub(crate) fn take_invite(&self, id: &str) {
        lock(&self.invites).remove(id);
    }

    /// Starts a connect flow for `subject` at upstream `u`: returns the authorization URL to
    /// send the browser to.
    pub(crate) async fn start_flow(&self, subject: &str, u: &Upstream) -> Result<String, String> {
        let (Some(p), crate::config::UpstreamTarget::Url { url, .. }) =
            (u.cfg.per_user(), &u.cfg.target)
        else {
            return Err("this upstream does not use per-user OAuth".into());
        };
        let hub = self.arc().ok_or("the gateway is shutting down")?;
        let store = SubjectStore::load(&hub, subject, &u.cfg.name)
            .await
            .map_err(|e| e.to_string())?;
        let (url_tx, url_rx) = tokio::sync::oneshot::channel();
        let (cb_tx, cb_rx) = tokio::sync::oneshot::channel();
        let authorizer = Arc::new(Channel {
            url: Mutex::new(Some(url_tx)),
            callback: tokio::sync::Mutex::new(Some(cb_rx)),
        });
        let cfg = self.oauth_config(p, store.clone(), authorizer)?;
        let client = OAuthClient::new(cfg).map_err(|e| e.to_string())?;
        let resource = url.clone();
        let done = tokio::spawn(async move {
            client
                .handle_challenge(&resource, 401, None)
                .await
                .map_err(|e| e.to_string())?;
            // Stored before the page says so, so the next call finds the token.
            store.persist().await.map_err(|e| e.to_string())
        });
        let authorize_url = match url_rx.await {
            Ok(a) => a,
            // The flow ended before asking the user: discovery or registration failed.
            Err(_) => {
                return Err(match done.await {
                    Ok(Err(e)) => e,
                    _ => "the authorization flow ended early".into(),
                })
            }
        };
        let state = url::Url::parse(&authorize_url)
            .ok()
            .and_then(|a| {
                a.query_pairs()
                    .find(|(k, _)| k == "state")
                    .map(|(_, v)| v.into_owned())
            })
            .ok_or("the authorization URL has no state")?;
        let mut flows = lock(&self.flows);
        let now = Instant::now();
        flows.retain(|_, f| f.expires > now);
        if flows.len() >= MAX_PENDING {
            return Err("too many authorizations in progress; try again later".into());
        }
        flows.insert(
            state,
            Flow {
                subject: subject.to_owned(),
                upstream: u.cfg.name.clone(),
                callback: cb_tx,
                done,
                expires: now + FLOW_TTL,
            },
        );
        Ok(authorize_url)
    }

    /// Takes the flow a callback's `state` names.
    pub(crate) fn take_flow(&self, state: &str) -> Option<Flow> {
        lock(&self.flows)
            .remove(state)
            .filter(|f| f.expires > Instant::now())
    }

    /// Closes and forgets the pooled client of `subject` for `upstream` (after a new
    /// authorization, or a refused token).
    pub(crate) fn evict(&self, subject: &str, upstream: &str) {
        let gone = lock(&self.pool)
            .0
            .remove(&(subject.to_owned(), upstream.to_owned()));
        if let Some(p) = gone {
            tokio::spawn(async move { p.client.close().await });
        }
    }

    /// The client of `subject` for upstream `u`, connecting with the stored token when needed.
    /// `input_required`: how to ask for a connection (see [`PerUser::ask`]).
    pub(crate) async fn client(
        &self,
        subject: &str,
        u: &Upstream,
        input_required: bool,
    ) -> Result<Arc<Client>, Denied> {
        let key = (subject.to_owned(), u.cfg.name.clone());
        if let Some(c) = self.pooled(&key) {
            return Ok(c);
        }
        // One connection attempt per user and upstream; other users' never wait for it.
        let gate = {
            let mut m = lock(&self.connecting);
            match m.get(&key).and_then(std::sync::Weak::upgrade) {
                Some(g) => g,
                None => {
                    m.retain(|_, w| w.strong_count() > 0);
                    let g = Arc::new(tokio::sync::Mutex::new(()));
                    m.insert(key.clone(), Arc::downgrade(&g));
                    g
                }
            }
        };
        let _one = gate.lock().await;
        if let Some(c) = self.pooled(&key) {
            return Ok(c);
        }
        let (Some(p), crate::config::UpstreamTarget::Url { url, .. }) =
            (u.cfg.per_user(), &u.cfg.target)
        else {
            return Err(Denied::Failed(ClientError::Connect(
                "this upstream does not use per-user OAuth".into(),
            )));
        };
        let hub = self.arc().ok_or_else(|| {
            Denied::Failed(ClientError::Connect("the gateway is shutting down".into()))
        })?;
        let store = match SubjectStore::load(&hub, subject, &u.cfg.name).await {
            Ok(s) => s,
            Err(e) => {
                // A blob that does not open (new server secret) is as good as none.
                tracing::warn!(upstream = %u.cfg.name, error = %e, "stored upstream token unusable; asking the user again");
                return Err(self.ask(subject, &u.cfg.name, input_required));
            }
        };
        let cfg = self
            .oauth_config(p, store.clone(), Arc::new(NoInteraction))
            .map_err(|e| Denied::Failed(ClientError::Connect(e)))?;
        let oauth =
            OAuthClient::new(cfg).map_err(|e| Denied::Failed(ClientError::Auth(e.to_string())))?;
        // No stored (or refreshable) token: the user has to authorize first.
        if oauth.token_for(url).await.is_none() {
            return Err(self.ask(subject, &u.cfg.name, input_required));
        }
        let mut opts = u.options();
        opts.auth = Some(Arc::new(UserToken {
            oauth,
            last: Mutex::new(None),
        }));
        let client = match Client::connect_http(url, opts).await {
            Ok(c) => Arc::new(c),
            Err(e @ (ClientError::Auth(_) | ClientError::Unauthorized { .. })) => {
                tracing::info!(upstream = %u.cfg.name, error = %e, "upstream refused a user's token; asking the user again");
                let _ = store.forget_tokens().await;
                return Err(self.ask(subject, &u.cfg.name, input_required));
            }
            Err(e) => return Err(Denied::Failed(e)),
        };
        let mut pool = lock(&self.pool);
        pool.1 += 1;
        let now = pool.1;
        if pool.0.len() >= POOL_SIZE {
            if let Some(k) = pool
                .0
                .iter()
                .min_by_key(|(_, p)| p.used)
                .map(|(k, _)| k.clone())
            {
                if let Some(old) = pool.0.remove(&k) {
                    tokio::spawn(async move { old.client.close().await });
                }
            }
        }
        pool.0.insert(
            key,
            Pooled {
                client: client.clone(),
                used: now,
            },
        );
        Ok(client)
    }

    /// The user whose client of `upstream` was used most recently.
    pub(crate) fn recent_subject(&self, upstream: &str) -> Option<String> {
        lock(&self.pool)
            .0
            .iter()
            .filter(|((_, u), _)| u == upstream)
            .max_by_key(|(_, p)| p.used)
            .map(|((s, _), _)| s.clone())
    }

    /// Closes every user's client of `upstream` (a reload changed or removed it).
    pub(crate) fn evict_upstream(&self, upstream: &str) {
        let mut pool = lock(&self.pool);
        let gone: Vec<(String, String)> = pool
            .0
            .keys()
            .filter(|(_, u)| u == upstream)
            .cloned()
            .collect();
        for k in gone {
            if let Some(p) = pool.0.remove(&k) {
                tokio::spawn(async move { p.client.close().await });
            }
        }
    }

    fn pooled(&self, key: &(String, String)) -> Option<Arc<Client>> {
        let mut pool = lock(&self.pool);
        pool.1 += 1;
        let now = pool.1;
        pool.0.get_mut(key).map(|p| {
            p.used = now;
            p.client.clone()
        })
    }

    /// After a call failed: a refused token sends the caller back to the `-32042` path.
    pub(crate) async fn failed(
        &self,
        subject: &str,
        u: &Upstream,
        e: &ClientError,
        input_required: bool,
    ) -> Option<Denied> {
        match e {
            ClientError::Auth(_) | ClientError::Unauthorized { .. } => {
                self.evict(subject, &u.cfg.name);
                if let Some(hub) = self.arc() {
                    if let Ok(s) = SubjectStore::load(&hub, subject, &u.cfg.name).await {
                        let _ = s.forget_tokens().await;
                    }
                }
                Some(self.ask(subject, &u.cfg.name, input_required))
            }
            ClientError::Closed(_)
            | ClientError::Transport(_)
            | ClientError::Connect(_)
            | ClientError::Timeout(_) => {
                self.evict(subject, &u.cfg.name);
                None
            }
            _ => None,
        }
    }
}

/// The refusal for a request without an authenticated caller: per-user upstreams need to know
/// whose token to use.
pub(crate) fn anonymous_refusal(upstream: &str) -> ErrorObject {
    ErrorObject::new(
        ErrorCode::INVALID_REQUEST,
        format!("upstream {upstream} acts for each user with their own authorization; this request has no authenticated user"),
    )
}

/// The tool a per-user upstream lists until some user has connected it: calling it (like any
/// of the upstream's tools) asks the caller to authorize.
pub(crate) fn placeholder_tool(upstream: &str) -> serde_json::Value {
    json!({
        "name": "connect",
        "description": format!("Connect your {upstream} account. Calling this answers with a link (URL elicitation) where you authorize the gateway at {upstream}; {upstream}'s own tools are listed once an account is connected."),
        "inputSchema": {"type": "object", "properties": {}},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_tokens_open_only_for_their_subject_upstream_and_key() {
        let s = Sealer::new(&[7u8; 32]).unwrap();
        let blob = s.seal("alice", "gh", b"access-token-secret").unwrap();
        assert!(!blob.contains("access-token-secret"));
        assert_eq!(
            s.open("alice", "gh", &blob).unwrap(),
            b"access-token-secret"
        );
        assert!(s.open("bob", "gh", &blob).is_err());
        assert!(s.open("alice", "jira", &blob).is_err());
        assert!(Sealer::new(&[8u8; 32])
            .unwrap()
            .open("alice", "gh", &blob)
            .is_err());
        assert!(s.open("alice", "gh", "v1.garbage").is_err());
        // A fresh nonce each time: equal tokens do not give equal rows.
        assert_ne!(blob, s.seal("alice", "gh", b"access-token-secret").unwrap());
        assert!(matches!(
            Sealer::new(b"short"),
            Err(PerUserError::WeakSecret)
        ));
    }

    struct Nobody;
    impl BrowserIdentity for Nobody {
        fn subject(&self, _: &axum::http::HeaderMap) -> Option<String> {
            None
        }
    }

    #[test]
    fn the_elicitation_error_carries_a_single_user_url() {
        let hub = PerUser::new(PerUserOptions {
            public_url: "https://gw.example.com/".into(),
            secret: vec![1; 32],
            store: Arc::new(MemorySealedStore::default()),
            browser: Arc::new(Nobody),
            ssrf: SsrfPolicy::strict(),
        })
        .unwrap();
        let e = hub.elicitation_error("alice", "gh");
        assert_eq!(e.code, ErrorCode::URL_ELICITATION_REQUIRED);
        let el = &e.data.as_ref().unwrap()["elicitations"][0];
        assert_eq!(el["mode"], "url");
        assert!(el["elicitationId"].as_str().is_some_and(|s| s.len() >= 32));
        let url = url::Url::parse(el["url"].as_str().unwrap()).unwrap();
        assert_eq!(url.path(), "/connect/gh");
        let id = url
            .query_pairs()
            .find(|(k, _)| k == "request")
            .unwrap()
            .1
            .into_owned();
        assert_eq!(hub.invite(&id), Some(("alice".into(), "gh".into())));
        hub.take_invite(&id);
        assert_eq!(hub.invite(&id), None);
        assert!(PerUser::new(PerUserOptions {
            public_url: "not a url".into(),
            secret: vec![1; 32],
            store: Arc::new(MemorySealedStore::default()),
            browser: Arc::new(Nobody),
            ssrf: SsrfPolicy::strict(),
        })
        .is_err());
    }
}
