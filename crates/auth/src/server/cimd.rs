//! Client ID Metadata Documents: a `client_id` that is an `https` URL names a JSON document
//! describing the client. The fetch is an SSRF risk, so it goes through the client module's
//! SSRF policy and guarded resolver, follows no redirects, and has size and time limits;
//! documents are cached per their `Cache-Control`.
//!
//! Under the development policy (`SsrfPolicy::danger_allow_loopback_http`) a document on a
//! loopback IP literal may also be served over `https` with a self-signed certificate: clients
//! such as the official TypeScript SDK insist on an `https` metadata URL, and a certificate for
//! `127.0.0.1` proves nothing anyway (any local process can bind the port). Public hosts keep
//! full certificate checks under every policy.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CACHE_CONTROL};
use serde::Deserialize;
use switchyard_store::ClientRecord;
use url::Url;

use super::clients::validate_redirect_uri;
use super::unix_now;
use crate::client::ssrf::{classify, GuardedResolver, IpClass, SsrfPolicy};

/// Largest metadata document accepted: a client's name and a few redirect URIs fit easily.
pub const CIMD_MAX_BYTES: usize = 16 * 1024;
/// Whole-fetch deadline, so a slow host cannot hold an authorization request open.
pub const CIMD_TIMEOUT: Duration = Duration::from_secs(5);
/// Cache lifetime when the response gives none.
const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Cache lifetime ceiling, whatever the response says.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Cached documents kept at most (oldest evicted first).
const MAX_CACHED: usize = 1024;

#[derive(Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

/// Fetches and caches client metadata documents.
pub(crate) struct CimdResolver {
    http: reqwest::Client,
    /// For loopback IP literals under the development policy only: accepts self-signed
    /// certificates. `None` under the strict policy.
    loopback_dev: Option<reqwest::Client>,
    policy: SsrfPolicy,
    cache: Mutex<HashMap<String, (Instant, ClientRecord)>>,
}

impl CimdResolver {
    pub(crate) fn new(policy: SsrfPolicy) -> Result<Self, String> {
        let builder = || {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(GuardedResolver::shared(policy))
                .https_only(!policy.allows_http())
                .connect_timeout(CIMD_TIMEOUT)
                .timeout(CIMD_TIMEOUT)
                .user_agent(concat!("switchyard-auth/", env!("CARGO_PKG_VERSION")))
        };
        let http = builder().build().map_err(|e| e.to_string())?;
        let loopback_dev = if policy
            .check_ip(std::net::Ipv4Addr::LOCALHOST.into())
            .is_ok()
        {
            Some(
                builder()
                    .danger_accept_invalid_certs(true)
                    .build()
                    .map_err(|e| e.to_string())?,
            )
        } else {
            None
        };
        Ok(Self {
            http,
            loopback_dev,
            policy,
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// Whether `client_id` has the shape of a metadata-document URL: `https` (or `http` when
    /// the policy allows it) with a path other than `/`.
    pub(crate) fn is_document_url(&self, client_id: &str) -> bool {
        Url::parse(client_id).is_ok_and(|u| {
            (u.scheme() == "https" || (u.scheme() == "http" && self.policy.allows_http()))
                && u.path() != "/"
                && u.fragment().is_none()
        })
    }

    /// Resolves `client_id` to a public client, from cache or by fetching its document.
    pub(crate) async fn resolve(&self, client_id: &str) -> Result<ClientRecord, String> {
        if let Ok(cache) = self.cache.lock() {
            if let Some((until, rec)) = cache.get(client_id) {
                if *until > Instant::now() {
                    return Ok(rec.clone());
                }
            }
        }
        let (rec, ttl) = self.fetch(client_id).await?;
        if let (Some(ttl), Ok(mut cache)) = (ttl, self.cache.lock()) {
            if cache.len() >= MAX_CACHED {
                if let Some(oldest) = cache
                    .iter()
                    .min_by_key(|(_, (t, _))| *t)
                    .map(|(k, _)| k.clone())
                {
                    cache.remove(&oldest);
                }
            }
            cache.insert(client_id.to_owned(), (Instant::now() + ttl, rec.clone()));
        }
        Ok(rec)
    }

    async fn fetch(&self, client_id: &str) -> Result<(ClientRecord, Option<Duration>), String> {
        let url = Url::parse(client_id).map_err(|e| format!("client_id is not a URL: {e}"))?;
        self.policy.check_url(&url).map_err(|e| e.to_string())?;
        // Only an IP literal is sure to connect to loopback: a name could resolve elsewhere.
        let loopback_literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => classify(ip.into()) == IpClass::Loopback,
            Some(url::Host::Ipv6(ip)) => classify(ip.into()) == IpClass::Loopback,
            _ => false,
        };
        let http = match (&self.loopback_dev, loopback_literal) {
            (Some(dev), true) => dev,
            _ => &self.http,
        };
        let mut resp = http
            .get(url)
            .header(ACCEPT, "application/json")
            .send()
            .await
            .map_err(describe)?;
        let status = resp.status();
        if status.is_redirection() {
            return Err(format!(
                "metadata document fetch was redirected ({status}); redirects are not followed"
            ));
        }
        if !status.is_success() {
            return Err(format!("metadata document fetch returned {status}"));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > CIMD_MAX_BYTES as u64)
        {
            return Err(format!("metadata document exceeds {CIMD_MAX_BYTES} bytes"));
        }
        let ttl = cache_ttl(
            resp.headers()
                .get(CACHE_CONTROL)
                .and_then(|v| v.to_str().ok()),
        );
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > CIMD_MAX_BYTES {
                return Err(format!("metadata document exceeds {CIMD_MAX_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        let doc: Document = serde_json::from_slice(&body)
            .map_err(|e| format!("metadata document is not valid JSON: {e}"))?;
        if doc.client_id != client_id {
            return Err("metadata document client_id differs from its URL".into());
        }
        if doc.client_secret.is_some()
            || doc
                .token_endpoint_auth_method
                .as_deref()
                .is_some_and(|m| m != "none")
        {
            return Err(
                "metadata document clients are public (token_endpoint_auth_method none)".into(),
            );
        }
        if doc.redirect_uris.is_empty() {
            return Err("metadata document has no redirect_uris".into());
        }
        for uri in &doc.redirect_uris {
            validate_redirect_uri(uri)?;
        }
        let name = doc
            .client_name
            .filter(|n| !n.is_empty() && n.len() <= 200)
            .unwrap_or_else(|| client_id.to_owned());
        Ok((
            ClientRecord {
                client_id: client_id.to_owned(),
                secret_hash: None,
                client_name: name,
                redirect_uris: doc.redirect_uris,
                grant_types: vec!["authorization_code".into(), "refresh_token".into()],
                scope: doc.scope,
                token_endpoint_auth_method: "none".into(),
                origin: "metadata-document".into(),
                created_at: unix_now(),
            },
            ttl,
        ))
    }
}

fn describe(e: reqwest::Error) -> String {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(d) = s.downcast_ref::<crate::client::ssrf::ResolveDenied>() {
            return format!("blocked by the SSRF guard: {d}");
        }
        src = s.source();
    }
    if e.is_timeout() {
        return format!("metadata document fetch timed out after {CIMD_TIMEOUT:?}");
    }
    format!("metadata document fetch failed: {}", e.without_url())
}

/// How long to cache a response: `no-store`/`no-cache` → not at all, `max-age` clamped to a
/// day, else five minutes.
fn cache_ttl(cache_control: Option<&str>) -> Option<Duration> {
    let Some(cc) = cache_control else {
        return Some(DEFAULT_TTL);
    };
    let mut ttl = DEFAULT_TTL;
    for d in cc.split(',').map(str::trim) {
        let lower = d.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return None;
        }
        if let Some(v) = lower.strip_prefix("max-age=") {
            match v.trim_matches('"').parse::<u64>() {
                Ok(0) => return None,
                Ok(n) => ttl = Duration::from_secs(n).min(MAX_TTL),
                Err(_) => {}
            }
        }
    }
    Some(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_certificates_are_possible_only_under_the_development_policy() {
        let strict = CimdResolver::new(SsrfPolicy::strict()).unwrap();
        assert!(strict.loopback_dev.is_none());
        let dev = CimdResolver::new(SsrfPolicy::danger_allow_loopback_http()).unwrap();
        assert!(dev.loopback_dev.is_some());
    }

    #[test]
    fn cache_control_is_honoured_and_clamped() {
        assert_eq!(cache_ttl(None), Some(DEFAULT_TTL));
        assert_eq!(cache_ttl(Some("max-age=60")), Some(Duration::from_secs(60)));
        assert_eq!(cache_ttl(Some("public, max-age=999999999")), Some(MAX_TTL));
        assert_eq!(cache_ttl(Some("no-store")), None);
        assert_eq!(cache_ttl(Some("max-age=0")), None);
    }
}
