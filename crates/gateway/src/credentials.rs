//! The gateway's own OAuth 2.1 token for an upstream: the client credentials grant (RFC 6749
//! §4.4), with the token endpoint from the config or discovered from the upstream's
//! protected-resource metadata (RFC 9728) and its authorization server's metadata (RFC 8414).
//!
//! The token is cached until shortly before it expires; a `401` from the upstream makes the
//! client ask [`AuthProvider::challenge`], which fetches a new one. The caller's token is never
//! involved. The secret is sent only to the token endpoint, only over `https` (plain `http` is
//! accepted for loopback addresses), never with redirects followed, and never logged.

use std::time::{Duration, Instant};

use serde::Deserialize;
use switchyard_auth::client::challenge::BearerChallenge;
use switchyard_auth::client::discovery::{
    as_candidates, prm_candidates, resource_covers, AuthorizationServerMetadata,
    ProtectedResourceMetadata,
};
use switchyard_auth::client::token::basic_auth_value;
use switchyard_client::{AuthProvider, BoxFuture};

use crate::config::OAuthCredentials;

/// A token this close to its expiry is renewed before use (clock skew, request latency); for
/// short lifetimes half the lifetime instead.
const EXPIRY_SKEW: Duration = Duration::from_secs(60);
/// A token fetched this recently is handed to a concurrent challenge instead of fetching
/// another (many requests that got the same `401` at once need one new token).
const RECENT: Duration = Duration::from_secs(5);
/// Largest token or metadata response read.
const RESPONSE_LIMIT: usize = 256 * 1024;

/// Why no token could be had. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CredentialError {
    #[error("{0}")]
    Config(#[from] crate::config::ConfigError),
    #[error("{what} {url}: {reason}")]
    Fetch {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error("{0}")]
    Discovery(String),
    #[error("token endpoint refused the client credentials: {0}")]
    Refused(String),
}

struct Token {
    access: String,
    obtained: Instant,
    /// When to stop using it (expiry less the skew), if the AS said.
    use_until: Option<Instant>,
}

#[derive(Default)]
struct State {
    token: Option<Token>,
    /// Token endpoint and resource indicator, once known.
    endpoint: Option<(String, String)>,
}

/// An [`AuthProvider`] for one upstream, shared across its reconnects so the token survives.
pub(crate) struct ClientCredentials {
    upstream_url: String,
    cfg: OAuthCredentials,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("upstream_url", &self.upstream_url)
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

/// `https`, or `http` to a loopback host: where a secret may go.
fn secret_safe(url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    match u.scheme() {
        "https" => true,
        "http" => match u.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

impl ClientCredentials {
    pub(crate) fn new(upstream_url: &str, cfg: OAuthCredentials, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            // A redirect would carry the secret somewhere nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout.min(Duration::from_secs(30)))
            .build()
            .unwrap_or_default();
        Self {
            upstream_url: upstream_url.to_owned(),
            cfg,
            http,
            state: tokio::sync::Mutex::new(State::default()),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        url: &str,
    ) -> Result<Option<T>, CredentialError> {
        let fail = |reason: String| CredentialError::Fetch {
            what,
            url: url.to_owned(),
            reason,
        };
        let resp = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !resp.status().is_success() {
            return Ok(None);
        }
        let body = read_limited(resp).await.map_err(fail)?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| fail(e.to_string()))
    }

    /// The token endpoint and resource indicator: from the config, else discovered.
    async fn endpoint(
        &self,
        st: &mut State,
        www_authenticate: Option<&str>,
    ) -> Result<(String, String), CredentialError> {
        if let Some(e) = &st.endpoint {
            return Ok(e.clone());
        }
        let found = match &self.cfg.token_url {
            Some(t) => (
                t.clone(),
                self.cfg
                    .resource
                    .clone()
                    .unwrap_or_else(|| self.upstream_url.clone()),
            ),
            None => self.discover(www_authenticate).await?,
        };
        if !secret_safe(&found.0) {
            return Err(CredentialError::Discovery(format!(
                "token endpoint {} is not https (plain http only on loopback); the secret is not sent",
                found.0
            )));
        }
        st.endpoint = Some(found.clone());
        Ok(found)
    }

    async fn discover(
        &self,
        www_authenticate: Option<&str>,
    ) -> Result<(String, String), CredentialError> {
        let header = BearerChallenge::from_header(www_authenticate).resource_metadata;
        let candidates = prm_candidates(&self.upstream_url, header.as_deref())
            .map_err(|e| CredentialError::Discovery(e.to_string()))?;
        let mut prm = None;
        for c in &candidates {
            if let Some(p) = self
                .get_json::<ProtectedResourceMetadata>("protected resource metadata", c)
                .await?
            {
                prm = Some(p);
                break;
            }
        }
        let prm = prm.ok_or_else(|| {
            CredentialError::Discovery(format!(
                "no protected resource metadata for {} (tried {})",
                self.upstream_url,
                candidates.join(", ")
            ))
        })?;
        if !resource_covers(&prm.resource, &self.upstream_url) {
            return Err(CredentialError::Discovery(format!(
                "protected resource metadata names resource {} which does not cover {}",
                prm.resource, self.upstream_url
            )));
        }
        let issuer = prm.authorization_servers.first().ok_or_else(|| {
            CredentialError::Discovery(
                "protected resource metadata names no authorization server".into(),
            )
        })?;
        let mut asm = None;
        for c in as_candidates(issuer).map_err(|e| CredentialError::Discovery(e.to_string()))? {
            if let Some(m) = self
                .get_json::<AuthorizationServerMetadata>("authorization server metadata", &c)
                .await?
            {
                asm = Some(m);
                break;
            }
        }
        let asm = asm.ok_or_else(|| {
            CredentialError::Discovery(format!("no authorization server metadata for {issuer}"))
        })?;
        // RFC 8414 §3.3: a document for another issuer is not used at all.
        if &asm.issuer != issuer {
            return Err(CredentialError::Discovery(format!(
                "authorization server metadata is for issuer {}, not {issuer}",
                asm.issuer
            )));
        }
        let endpoint = asm.token_endpoint.ok_or_else(|| {
            CredentialError::Discovery(format!(
                "authorization server {issuer} has no token_endpoint"
            ))
        })?;
        let resource = self.cfg.resource.clone().unwrap_or(prm.resource);
        Ok((endpoint, resource))
    }

    /// One client credentials grant.
    async fn fetch(
        &self,
        st: &mut State,
        www_authenticate: Option<&str>,
    ) -> Result<String, CredentialError> {
        let (endpoint, resource) = self.endpoint(st, www_authenticate).await?;
        let secret = self.cfg.secret()?;
        let mut form = vec![
            ("grant_type", "client_credentials".to_owned()),
            ("resource", resource),
        ];
        if !self.cfg.scopes.is_empty() {
            form.push(("scope", self.cfg.scopes.join(" ")));
        }
        let fail = |reason: String| CredentialError::Fetch {
            what: "token endpoint",
            url: endpoint.clone(),
            reason,
        };
        let resp = self
            .http
            .post(&endpoint)
            .header(
                "authorization",
                basic_auth_value(&self.cfg.client_id, &secret),
            )
            .header("accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        let status = resp.status();
        let body = read_limited(resp).await.map_err(fail)?;
        if !status.is_success() {
            let e: TokenError = serde_json::from_slice(&body).unwrap_or_default();
            return Err(CredentialError::Refused(format!(
                "HTTP {}: {} {}",
                status.as_u16(),
                e.error.unwrap_or_default(),
                e.error_description.unwrap_or_default()
            )));
        }
        let t: TokenResponse = serde_json::from_slice(&body).map_err(|e| fail(e.to_string()))?;
        let obtained = Instant::now();
        let use_until = t.expires_in.map(|s| {
            let life = Duration::from_secs(s);
            obtained + life.saturating_sub(EXPIRY_SKEW.min(life / 2))
        });
        tracing::debug!(upstream = %self.upstream_url, client_id = %self.cfg.client_id, "fetched an upstream token (client credentials)");
        st.token = Some(Token {
            access: t.access_token.clone(),
            obtained,
            use_until,
        });
        Ok(t.access_token)
    }
}

async fn read_limited(mut resp: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
        if out.len() + chunk.len() > RESPONSE_LIMIT {
            return Err(format!("response larger than {RESPONSE_LIMIT} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

impl AuthProvider for ClientCredentials {
    fn token<'a>(&'a self, _url: &'a str) -> BoxFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut st = self.state.lock().await;
            if let Some(t) = &st.token {
                if t.use_until.is_none_or(|u| Instant::now() < u) {
                    return Some(t.access.clone());
                }
            }
            match self.fetch(&mut st, None).await {
                Ok(t) => Some(t),
                Err(e) => {
                    // Without a token the request goes out bare; the 401 brings a challenge.
                    tracing::warn!(upstream = %self.upstream_url, error = %e, "no upstream token yet");
                    None
                }
            }
        })
    }

    fn challenge<'a>(
        &'a self,
        _url: &'a str,
        status: u16,
        www_authenticate: Option<String>,
    ) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let mut st = self.state.lock().await;
            if status == 403 {
                return Err(format!(
                    "the upstream refused the gateway's token (HTTP 403): its scopes {:?} are not enough",
                    self.cfg.scopes
                ));
            }
            if let Some(t) = &st.token {
                if t.obtained.elapsed() < RECENT {
                    return Ok(t.access.clone());
                }
            }
            st.token = None;
            self.fetch(&mut st, www_authenticate.as_deref())
                .await
                .map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_go_only_to_https_or_loopback() {
        assert!(secret_safe("https://as.example.com/token"));
        assert!(secret_safe("http://127.0.0.1:9000/token"));
        assert!(secret_safe("http://[::1]:9000/token"));
        assert!(secret_safe("http://localhost/token"));
        assert!(!secret_safe("http://as.example.com/token"));
        assert!(!secret_safe("http://10.0.0.1/token"));
        assert!(!secret_safe("ftp://as.example.com/token"));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let cfg = OAuthCredentials {
            token_url: None,
            client_id: "gw".into(),
            client_secret: Some("hunter2-secret".into()),
            client_secret_env: None,
            scopes: vec![],
            resource: None,
        };
        let cc =
            ClientCredentials::new("https://u.example/mcp", cfg.clone(), Duration::from_secs(5));
        let target = crate::UpstreamTarget::Url {
            url: "https://u.example/mcp".into(),
            headers: [("x-api-key".to_owned(), "key-value-secret".to_owned())].into(),
            bearer_token: Some("static-token-secret".into()),
            oauth: Some(cfg),
            oauth_per_user: None,
        };
        for s in [format!("{cc:?}"), format!("{target:?}")] {
            assert!(s.contains("gw"), "{s}");
            assert!(
                !s.contains("hunter2") && !s.contains("key-value") && !s.contains("static-token"),
                "{s}"
            );
        }
    }
}
