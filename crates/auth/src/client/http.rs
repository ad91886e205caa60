//! The guarded HTTP fetcher every OAuth request goes through: SSRF checks on each URL and
//! redirect hop, DNS answers checked before connecting, timeouts and body size limits.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue, ACCEPT, CONTENT_TYPE, LOCATION};
use url::Url;

use super::error::AuthError;
use super::ssrf::{GuardedResolver, ResolveDenied, SsrfPolicy};

/// Metadata documents (PRM, AS metadata) are small; 1 MiB bounds memory use against a hostile
/// server streaming an endless body.
pub(crate) const METADATA_LIMIT: usize = 1024 * 1024;
/// Token and registration responses are a few hundred bytes; 256 KiB is generous.
pub(crate) const RESPONSE_LIMIT: usize = 256 * 1024;
/// Redirect hops followed for a GET before giving up.
const MAX_REDIRECTS: usize = 5;
/// Time to establish a TCP/TLS connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request deadline, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A fully read response.
pub(crate) struct Fetched {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
    /// The URL finally fetched (after redirects).
    pub(crate) url: String,
}

impl Fetched {
    pub(crate) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// The request body of a POST.
pub(crate) enum PostBody {
    Form(String),
    Json(Vec<u8>),
}

#[derive(Clone)]
pub(crate) struct Http {
    client: reqwest::Client,
    policy: SsrfPolicy,
}

impl Http {
    pub(crate) fn new(policy: SsrfPolicy) -> Result<Self, AuthError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            // A proxy would resolve names itself and bypass the resolver check.
            .no_proxy()
            .dns_resolver(GuardedResolver::shared(policy))
            .https_only(!policy.allows_http())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("switchyard-auth/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AuthError::Config(format!("HTTP client: {e}")))?;
        Ok(Self { client, policy })
    }

    /// Parses and checks a URL against the SSRF policy.
    pub(crate) fn checked_url(&self, what: &'static str, raw: &str) -> Result<Url, AuthError> {
        let url = Url::parse(raw).map_err(|e| AuthError::InvalidUrl {
            what,
            url: raw.to_owned(),
            reason: e.to_string(),
        })?;
        self.policy.check_url(&url)?;
        Ok(url)
    }

    /// GET `raw` expecting JSON, following up to five redirects, each hop checked.
    pub(crate) async fn get_json(
        &self,
        what: &'static str,
        raw: &str,
        limit: usize,
    ) -> Result<Fetched, AuthError> {
        let mut url = self.checked_url(what, raw)?;
        for _ in 0..=MAX_REDIRECTS {
            let resp = self
                .client
                .get(url.clone())
                .header(ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| map_send_error(url.as_str(), e))?;
            let status = resp.status();
            if status.is_redirection() {
                let next = location(resp.headers(), &url)?;
                tracing::debug!(from = %url, to = %next, "following metadata redirect");
                self.policy.check_url(&next)?;
                url = next;
                continue;
            }
            return read_body(resp, url.as_str(), limit).await;
        }
        Err(AuthError::UnexpectedRedirect {
            url: url.as_str().to_owned(),
            status: 310,
        })
    }

    /// POST to `raw` without following redirects (an endpoint that redirects a POST is
    /// refused, so a body holding credentials is never re-sent somewhere else).
    pub(crate) async fn post(
        &self,
        what: &'static str,
        raw: &str,
        body: PostBody,
        authorization: Option<HeaderValue>,
        limit: usize,
    ) -> Result<Fetched, AuthError> {
        let url = self.checked_url(what, raw)?;
        let mut req = self
            .client
            .post(url.clone())
            .header(ACCEPT, "application/json");
        req = match body {
            PostBody::Form(s) => req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(s),
            PostBody::Json(b) => req.header(CONTENT_TYPE, "application/json").body(b),
        };
        if let Some(mut auth) = authorization {
            auth.set_sensitive(true);
            req = req.header(reqwest::header::AUTHORIZATION, auth);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| map_send_error(url.as_str(), e))?;
        if resp.status().is_redirection() {
            return Err(AuthError::UnexpectedRedirect {
                url: url.as_str().to_owned(),
                status: resp.status().as_u16(),
            });
        }
        read_body(resp, url.as_str(), limit).await
    }
}

/// Resolves a `Location` header against the URL that returned it.
pub(crate) fn location(headers: &HeaderMap, base: &Url) -> Result<Url, AuthError> {
    let raw = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AuthError::UnexpectedRedirect {
            url: base.as_str().to_owned(),
            status: 0,
        })?;
    base.join(raw).map_err(|e| AuthError::InvalidUrl {
        what: "redirect",
        url: raw.to_owned(),
        reason: e.to_string(),
    })
}

async fn read_body(
    mut resp: reqwest::Response,
    url: &str,
    limit: usize,
) -> Result<Fetched, AuthError> {
    let too_large = || AuthError::ResponseTooLarge {
        url: url.to_owned(),
        limit,
    };
    if resp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| map_send_error(url, e))? {
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status,
        body,
        url: url.to_owned(),
    })
}

/// Turns a reqwest error into [`AuthError`], surfacing resolver refusals as SSRF blocks.
pub(crate) fn map_send_error(url: &str, e: reqwest::Error) -> AuthError {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = src {
        if let Some(d) = s.downcast_ref::<ResolveDenied>() {
            return AuthError::SsrfBlocked {
                url: url.to_owned(),
                reason: d.to_string(),
            };
        }
        src = s.source();
    }
    AuthError::Http {
        url: url.to_owned(),
        source: e.without_url(),
    }
}
