//! RFC 7662 introspection of opaque tokens, cached by the token's SHA-256 until its `exp`.

use std::time::Duration;

use super::cache::{unix_now, TokenCache};
use super::{BearerError, ConfigError, IntrospectionConfig, Principal, ResourceConfig};

/// Largest introspection answer accepted.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

pub(crate) struct Introspector {
    cfg: IntrospectionConfig,
    resource: String,
    issuer: String,
    leeway: u64,
    http: reqwest::Client,
    /// Active answers, keyed by SHA-256 of the token.
    cache: TokenCache,
}

impl Introspector {
    pub(crate) fn new(cfg: &IntrospectionConfig, rc: &ResourceConfig) -> Result<Self, ConfigError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::HttpClient(e.to_string()))?;
        Ok(Self {
            cfg: cfg.clone(),
            resource: rc.resource.clone(),
            issuer: rc.issuer.clone(),
            leeway: rc.leeway.as_secs(),
            http,
            cache: TokenCache::default(),
        })
    }

    pub(crate) async fn introspect(&self, token: &str) -> Result<Principal, BearerError> {
        let key = TokenCache::hash(token);
        if let Some(p) = self.cache.get(&key) {
            return Ok(p);
        }
        let answer = self.ask(token).await?;
        let (principal, exp) = self.judge(answer)?;
        self.cache.insert(key, &principal, self.cfg.max_cache, exp);
        Ok(principal)
    }

    async fn ask(&self, token: &str) -> Result<serde_json::Value, BearerError> {
        let unavailable = |_| BearerError::IntrospectionUnavailable;
        let mut resp = self
            .http
            .post(&self.cfg.endpoint)
            .basic_auth(&self.cfg.client_id, Some(&self.cfg.client_secret))
            .header(http::header::ACCEPT, "application/json")
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(unavailable)?;
        if !resp.status().is_success() {
            return Err(BearerError::IntrospectionUnavailable);
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                return Err(BearerError::IntrospectionUnavailable);
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body).map_err(|_| BearerError::IntrospectionUnavailable)
    }

    /// Applies the same rules as for JWTs to an introspection answer: active, issuer, audience,
    /// validity window. Returns the principal and the token's `exp`.
    fn judge(
        &self,
        mut answer: serde_json::Value,
    ) -> Result<(Principal, Option<u64>), BearerError> {
        if answer.get("active").and_then(|v| v.as_bool()) != Some(true) {
            return Err(BearerError::Inactive);
        }
        if let Some(iss) = answer.get("iss") {
            if iss.as_str() != Some(self.issuer.as_str()) {
                return Err(BearerError::WrongIssuer);
            }
        }
        let for_us = match answer.get("aud") {
            Some(serde_json::Value::String(a)) => *a == self.resource,
            Some(serde_json::Value::Array(a)) => {
                a.iter().any(|v| v.as_str() == Some(&self.resource))
            }
            _ => false,
        };
        if !for_us {
            return Err(BearerError::WrongAudience);
        }
        let now = unix_now();
        let exp = answer.get("exp").and_then(|v| v.as_u64());
        if exp.is_some_and(|e| e.saturating_add(self.leeway) <= now) {
            return Err(BearerError::Expired);
        }
        if let Some(nbf) = answer.get("nbf").and_then(|v| v.as_u64()) {
            if nbf > now.saturating_add(self.leeway) {
                return Err(BearerError::NotYetValid);
            }
        }
        // Client-credentials tokens may name only the client.
        if answer.get("sub").is_none() {
            if let (Some(cid), Some(obj)) =
                (answer.get("client_id").cloned(), answer.as_object_mut())
            {
                obj.insert("sub".into(), cid);
            }
        }
        let p =
            Principal::from_claims(answer).ok_or_else(|| BearerError::BadClaim("sub".into()))?;
        Ok((p, exp))
    }
}
