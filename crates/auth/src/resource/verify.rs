//! Turning a bearer token into a [`Principal`]: JWTs against the issuer's keys, opaque tokens
//! by introspection.

use std::str::FromStr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, AlgorithmFamily, Validation};

use super::cache::TokenCache;
use super::introspect::Introspector;
use super::jwks::KeySource;
use super::{BearerError, ConfigError, JwksSource, Principal, ResourceConfig};

/// Checks bearer tokens for one resource. [`BearerLayer`](super::BearerLayer) uses it; it is
/// public for transports that authenticate outside tower.
pub struct TokenVerifier {
    keys: KeySource,
    /// One validation per allowed algorithm (`jsonwebtoken` checks the header `alg` against it).
    validations: Vec<(Algorithm, Validation)>,
    introspection: Option<Introspector>,
    /// Accepted JWTs by hash, so a repeated token skips the signature check.
    accepted: TokenCache,
    accepted_ttl: Duration,
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field(
                "algorithms",
                &self.validations.iter().map(|v| v.0).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// The JWT header fields we read before trusting anything.
#[derive(serde::Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl TokenVerifier {
    /// Validates `cfg` and prepares the key source. No I/O happens here; a remote JWKS is
    /// fetched on first use.
    pub fn new(cfg: &ResourceConfig) -> Result<Self, ConfigError> {
        validate_resource(&cfg.resource)?;
        if cfg.authorization_servers.is_empty() {
            return Err(ConfigError::NoAuthorizationServer);
        }
        if cfg.allowed_algs.is_empty() {
            return Err(ConfigError::NoAlgorithm);
        }
        let mut validations = Vec::with_capacity(cfg.allowed_algs.len());
        for &alg in &cfg.allowed_algs {
            if alg.family() == AlgorithmFamily::Hmac {
                return Err(ConfigError::SymmetricAlgorithm(alg));
            }
            let mut v = Validation::new(alg);
            v.set_audience(&[cfg.resource.as_str()]);
            v.set_issuer(&[cfg.issuer.as_str()]);
            v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            v.validate_nbf = true;
            v.leeway = cfg.leeway.as_secs();
            validations.push((alg, v));
        }
        let keys = match &cfg.jwks {
            JwksSource::Static(set) => KeySource::from_static(set)?,
            JwksSource::Url(url) => KeySource::remote(url.clone(), cfg.jwks_cache)?,
            JwksSource::Provider(p) => KeySource::provider(p.clone(), cfg.jwks_cache),
        };
        let introspection = cfg
            .introspection
            .as_ref()
            .map(|i| Introspector::new(i, cfg))
            .transpose()?;
        Ok(Self {
            keys,
            validations,
            introspection,
            accepted: TokenCache::default(),
            accepted_ttl: cfg.accepted_token_cache,
        })
    }

    /// Checks `token` (signature or introspection, issuer, audience, validity window) and
    /// returns who it speaks for. Scopes are not checked here.
    ///
    /// An accepted JWT is remembered by its SHA-256 for
    /// [`ResourceConfig::accepted_token_cache`], never past its `exp`.
    pub async fn verify(&self, token: &str) -> Result<Principal, BearerError> {
        if token.bytes().filter(|&b| b == b'.').count() == 2 {
            let key = TokenCache::hash(token);
            if let Some(p) = self.accepted.get(&key) {
                return Ok(p);
            }
            let p = self.verify_jwt(token).await?;
            // `exp` passed validation, so it is a number; a fractional one is cut down.
            let exp = p
                .claims
                .get("exp")
                .and_then(|v| v.as_u64().or_else(|| v.as_f64().map(|f| f.max(0.0) as u64)));
            self.accepted
                .insert(key, &p, self.accepted_ttl, Some(exp.unwrap_or(0)));
            Ok(p)
        } else if let Some(i) = &self.introspection {
            i.introspect(token).await
        } else {
            Err(BearerError::Malformed)
        }
    }

    async fn verify_jwt(&self, token: &str) -> Result<Principal, BearerError> {
        let encoded = token.split('.').next().ok_or(BearerError::Malformed)?;
        let raw = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| BearerError::Malformed)?;
        let header: Header = serde_json::from_slice(&raw).map_err(|_| BearerError::Malformed)?;
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(BearerError::AlgNone);
        }
        let not_allowed = || BearerError::AlgNotAllowed(header.alg.clone());
        let alg = Algorithm::from_str(&header.alg).map_err(|_| not_allowed())?;
        let validation = self
            .validations
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, v)| v)
            .ok_or_else(not_allowed)?;
        let key = self.keys.key(header.kid.as_deref()).await?;
        if key.family != alg.family() || key.alg.is_some_and(|a| a != alg) {
            return Err(BearerError::KeyAlgMismatch);
        }
        let data = jsonwebtoken::decode::<serde_json::Value>(token, &key.decoding, validation)?;
        Principal::from_claims(data.claims).ok_or_else(|| BearerError::BadClaim("sub".into()))
    }
}

/// The canonical resource URI must be absolute http(s) and carry no fragment (RFC 8707 §2).
fn validate_resource(resource: &str) -> Result<(), ConfigError> {
    let bad = || ConfigError::InvalidResource(resource.to_owned());
    let url = url::Url::parse(resource).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") || url.fragment().is_some() || !url.has_host() {
        return Err(bad());
    }
    Ok(())
}
