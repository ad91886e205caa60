//! The issuer's signing keys: a static set, or a JWKS fetched over HTTP, cached, and refetched
//! when a token names an unknown `kid` (at most once per interval) or the cache grows old.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};

use super::{BearerError, ConfigError, JwksCachePolicy};

/// Largest JWKS document accepted. Real sets hold a handful of keys (a few KB); the cap keeps a
/// misbehaving issuer from making us buffer without bound.
pub(crate) const MAX_JWKS_BYTES: usize = 256 * 1024;

/// One usable verification key.
pub(crate) struct Key {
    pub(crate) decoding: DecodingKey,
    /// The key's `alg`, when the JWK names one; the token's `alg` must then equal it.
    pub(crate) alg: Option<Algorithm>,
    pub(crate) family: AlgorithmFamily,
}

/// A parsed key set, indexed by `kid`.
#[derive(Default)]
pub(crate) struct Keys {
    by_kid: HashMap<String, Arc<Key>>,
    all: Vec<Arc<Key>>,
}

impl Keys {
    /// Keeps the signature keys that can be turned into decoding keys; skips encryption keys,
    /// symmetric keys and keys of unknown types (`strict` turns a skipped key into an error).
    fn from_values(values: &[serde_json::Value], strict: bool) -> Result<Self, String> {
        let mut keys = Keys::default();
        for v in values {
            let key = serde_json::from_value::<Jwk>(v.clone())
                .map_err(|e| e.to_string())
                .and_then(|jwk| Self::usable(&jwk).map(|k| (jwk.common.key_id.clone(), k)));
            match key {
                Ok((kid, key)) => {
                    let key = Arc::new(key);
                    if let Some(kid) = kid {
                        keys.by_kid.insert(kid, key.clone());
                    }
                    keys.all.push(key);
                }
                Err(e) if strict => return Err(e),
                Err(e) => tracing::debug!(reason = %e, "JWKS key skipped"),
            }
        }
        Ok(keys)
    }

    fn usable(jwk: &Jwk) -> Result<Key, String> {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            return Err("encryption key".into());
        }
        let family = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
            AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
            AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
            // A symmetric key in a published set would let anyone who reads it sign tokens.
            _ => return Err("not an asymmetric signature key".into()),
        };
        let alg = match jwk.common.key_algorithm {
            Some(ka) => Some(Algorithm::try_from(ka).map_err(|e| e.to_string())?),
            None => None,
        };
        let decoding = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
        Ok(Key {
            decoding,
            alg,
            family,
        })
    }

    /// The key for `kid`, or the only key when the token names none.
    fn find(&self, kid: Option<&str>) -> Result<Arc<Key>, BearerError> {
        match kid {
            Some(kid) => self.by_kid.get(kid).cloned().ok_or(BearerError::UnknownKey),
            None if self.all.len() == 1 => Ok(self.all[0].clone()),
            None if self.all.is_empty() => Err(BearerError::UnknownKey),
            None => Err(BearerError::MissingKeyId),
        }
    }
}

/// Where keys come from at run time.
pub(crate) enum KeySource {
    Static(Keys),
    Remote(Box<Remote>),
}

pub(crate) struct Remote {
    origin: Origin,
    policy: JwksCachePolicy,
    state: RwLock<State>,
    /// One fetch at a time; others wait and then use its result.
    fetching: tokio::sync::Mutex<()>,
}

/// Where a refreshable key set is read from.
enum Origin {
    Http { url: String, http: reqwest::Client },
    Provider(Arc<dyn JwksProvider>),
}

impl Origin {
    fn name(&self) -> &str {
        match self {
            Origin::Http { url, .. } => url,
            Origin::Provider(_) => "in-process provider",
        }
    }
}

#[derive(Default)]
struct State {
    keys: Option<Arc<Keys>>,
    fetched_at: Option<Instant>,
    last_attempt: Option<Instant>,
}

impl KeySource {
    pub(crate) fn from_static(set: &jsonwebtoken::jwk::JwkSet) -> Result<Self, ConfigError> {
        let values = set
            .keys
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| ConfigError::InvalidKey(e.to_string()))?;
        Keys::from_values(&values, true)
            .map(KeySource::Static)
            .map_err(ConfigError::InvalidKey)
    }

    pub(crate) fn remote(url: String, policy: JwksCachePolicy) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(policy.fetch_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Self::refreshable(Origin::Http { url, http }, policy))
    }

    pub(crate) fn provider(p: Arc<dyn JwksProvider>, policy: JwksCachePolicy) -> Self {
        Self::refreshable(Origin::Provider(p), policy)
    }

    fn refreshable(origin: Origin, policy: JwksCachePolicy) -> Self {
        KeySource::Remote(Box::new(Remote {
            origin,
            policy,
            state: RwLock::new(State::default()),
            fetching: tokio::sync::Mutex::new(()),
        }))
    }

    /// The key a token with this `kid` must verify against.
    pub(crate) async fn key(&self, kid: Option<&str>) -> Result<Arc<Key>, BearerError> {
        match self {
            KeySource::Static(keys) => keys.find(kid),
            KeySource::Remote(r) => r.key(kid).await,
        }
    }
}

impl Remote {
    async fn key(&self, kid: Option<&str>) -> Result<Arc<Key>, BearerError> {
        let (keys, fresh) = self.snapshot();
        if let (Some(keys), true) = (&keys, fresh) {
            match keys.find(kid) {
                Err(BearerError::UnknownKey) if kid.is_some() => {}
                found => return found,
            }
        }
        // Missing, stale, or an unknown kid: refetch if allowed, then look again.
        let keys = self.refetch().await?;
        keys.find(kid)
    }

    /// The cached keys and whether they are younger than the TTL.
    fn snapshot(&self) -> (Option<Arc<Keys>>, bool) {
        let st = self.state.read().unwrap_or_else(|p| p.into_inner());
        let fresh = st.fetched_at.is_some_and(|t| t.elapsed() < self.policy.ttl);
        (st.keys.clone(), fresh)
    }

    /// Fetches the set unless a fetch was attempted within the rate limit (which also covers a
    /// fetch another request made while this one waited). Keeps serving the old set when a fetch
    /// fails.
    async fn refetch(&self) -> Result<Arc<Keys>, BearerError> {
        let _guard = self.fetching.lock().await;
        {
            let st = self.state.read().unwrap_or_else(|p| p.into_inner());
            let recent = st
                .last_attempt
                .is_some_and(|t| t.elapsed() < self.policy.min_refetch_interval);
            if recent {
                return st.keys.clone().ok_or(BearerError::KeysUnavailable);
            }
        }
        let fetched = self.fetch().await;
        let mut st = self.state.write().unwrap_or_else(|p| p.into_inner());
        st.last_attempt = Some(Instant::now());
        match fetched {
            Ok(keys) => {
                let keys = Arc::new(keys);
                st.keys = Some(keys.clone());
                st.fetched_at = Some(Instant::now());
                Ok(keys)
            }
            Err(reason) => {
                tracing::warn!(from = %self.origin.name(), %reason, "JWKS fetch failed");
                st.keys.clone().ok_or(BearerError::KeysUnavailable)
            }
        }
    }

    async fn fetch(&self) -> Result<Keys, String> {
        let (url, http) = match &self.origin {
            Origin::Http { url, http } => (url, http),
            Origin::Provider(p) => {
                let set = p.jwks().await?;
                let values = set
                    .keys
                    .iter()
                    .map(serde_json::to_value)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                return Keys::from_values(&values, false);
            }
        };
        let mut resp = http
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("status {}", resp.status()));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("document larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        #[derive(serde::Deserialize)]
        struct Set {
            keys: Vec<serde_json::Value>,
        }
        let set: Set = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
        Keys::from_values(&set.keys, false)
    }
}

/// A future returned by [`JwksProvider::jwks`].
pub type JwksFuture<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<JwkSet, String>> + Send + 'a>>;

/// Supplies the issuer's current key set in-process, e.g. the built-in authorization server,
/// whose keys rotate. Asked like a JWKS URL: on first use, on an unknown `kid` (rate-limited)
/// and when the cached set is older than [`JwksCachePolicy::ttl`].
pub trait JwksProvider: Send + Sync {
    /// The current key set; an `Err` (a reason, for logs) keeps the previous set in use.
    fn jwks(&self) -> JwksFuture<'_>;
}
