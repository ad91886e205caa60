//! The one error type of the OAuth client.
//!
//! Variants are grouped by whose fault the failure is. No variant carries a token, a client
//! secret, an authorization code or a PKCE verifier, so errors are safe to log.

use std::fmt;

/// Everything that can go wrong while obtaining or using OAuth credentials.
///
/// The `Display` text is for humans and may change; match on the variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    // ----- malformed input from a peer -----
    /// A URL (from configuration or from a peer) could not be parsed or has the wrong shape.
    #[error("invalid {what} URL {url:?}: {reason}")]
    InvalidUrl {
        /// Which URL: "resource metadata", "issuer", "token endpoint", …
        what: &'static str,
        /// The offending URL.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A metadata document (PRM or AS metadata) is not valid JSON of the expected shape.
    #[error("invalid {what} document from {url}: {reason}")]
    InvalidMetadata {
        /// "protected resource metadata" or "authorization server metadata".
        what: &'static str,
        /// Where it came from.
        url: String,
        /// The parse error.
        reason: String,
    },
    /// A registration or token endpoint answered 2xx with a body that is not the expected JSON.
    #[error("invalid response from the {endpoint} endpoint: {reason}")]
    InvalidResponse {
        /// "registration" or "token".
        endpoint: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The authorization redirect could not be read (no `Location`, no `code`, bad query…).
    #[error("invalid authorization callback: {0}")]
    InvalidCallback(String),

    // ----- the peer broke a rule -----
    /// The PRM `resource` does not identify the MCP server that was contacted.
    #[error(
        "protected resource metadata names resource {resource:?}, which does not cover {server:?}"
    )]
    ResourceMismatch {
        /// The PRM `resource` value.
        resource: String,
        /// The MCP server URL in use.
        server: String,
    },
    /// The AS metadata `issuer` differs from the issuer used to discover it (RFC 8414 §3.3).
    #[error(
        "authorization server metadata at {url} names issuer {found:?}, expected {expected:?}"
    )]
    IssuerMismatch {
        /// The issuer from the PRM.
        expected: String,
        /// The `issuer` inside the document.
        found: String,
        /// Where the document came from.
        url: String,
    },
    /// The callback's `iss` differs from the AS issuer (RFC 9207 §2.4).
    #[error("authorization response iss {found:?} does not equal issuer {expected:?}")]
    IssMismatch {
        /// The AS issuer.
        expected: String,
        /// The `iss` parameter received.
        found: String,
    },
    /// The AS advertises `authorization_response_iss_parameter_supported` but sent no `iss`.
    #[error("authorization response lacks iss although {issuer} advertises it")]
    IssMissing {
        /// The AS issuer.
        issuer: String,
    },
    /// The callback's `state` is missing or differs from the one sent.
    #[error("authorization response state does not match the request")]
    StateMismatch,
    /// An endpoint redirected where redirects are not allowed (POST endpoints), or too often.
    #[error("unexpected redirect from {url} (status {status})")]
    UnexpectedRedirect {
        /// The URL that redirected.
        url: String,
        /// The HTTP status.
        status: u16,
    },

    // ----- the peer lacks support -----
    /// The PRM lists no authorization server.
    #[error("protected resource metadata lists no authorization server")]
    NoAuthorizationServer,
    /// No metadata document was found at any candidate URL.
    #[error("no {what} found (tried {tried:?})")]
    MetadataNotFound {
        /// "protected resource metadata" or "authorization server metadata".
        what: &'static str,
        /// The URLs tried, in order.
        tried: Vec<String>,
    },
    /// The AS does not advertise PKCE with S256 (`code_challenge_methods_supported`).
    #[error("authorization server {issuer} does not advertise PKCE S256 support")]
    PkceUnsupported {
        /// The AS issuer.
        issuer: String,
    },
    /// No pre-registered client matches, CIMD is unavailable and the AS has no registration endpoint.
    #[error("no way to obtain a client_id at {issuer}: no pre-registration, CIMD or registration endpoint")]
    NoRegistrationMethod {
        /// The AS issuer.
        issuer: String,
    },
    /// The token endpoint issued a token type other than Bearer.
    #[error("unsupported token type {0:?}")]
    UnsupportedTokenType(String),

    // ----- the peer refused -----
    /// The user or AS refused the authorization request (`error=` on the callback).
    #[error("authorization denied: {error}{}", fmt_desc(.description))]
    AuthorizationDenied {
        /// The OAuth `error` code.
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// The registration endpoint refused the request.
    #[error("client registration failed with HTTP {status}: {error}{}", fmt_desc(.description))]
    RegistrationFailed {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code, or "unknown".
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// The token endpoint refused the request.
    #[error("token request failed with HTTP {status}: {error}{}", fmt_desc(.description))]
    TokenRequestFailed {
        /// The HTTP status.
        status: u16,
        /// The OAuth `error` code, or "unknown".
        error: String,
        /// `error_description`, if any.
        description: Option<String>,
    },
    /// The server answered 403 `insufficient_scope` for scopes the current token already has,
    /// so another authorization would not help.
    #[error("insufficient scope: the server still requires {required:?} after authorization")]
    InsufficientScope {
        /// The scopes the server asked for.
        required: String,
    },

    // ----- our own policy -----
    /// The SSRF policy forbids fetching this URL.
    #[error("refusing to fetch {url}: {reason}")]
    SsrfBlocked {
        /// The URL.
        url: String,
        /// Which rule it broke.
        reason: String,
    },
    /// A response body exceeded its size limit.
    #[error("response from {url} exceeds {limit} bytes")]
    ResponseTooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// More than `max_authorizations` authorizations for one server in this process.
    #[error("authorization retry limit ({limit}) reached for {resource}")]
    RetryLimit {
        /// The MCP server URL.
        resource: String,
        /// The configured limit.
        limit: u32,
    },
    /// The status passed to `handle_challenge` is neither 401 nor 403 `insufficient_scope`.
    #[error("HTTP {status} is not an authorization challenge")]
    NotAChallenge {
        /// The status passed in.
        status: u16,
    },

    // ----- environment -----
    /// A network or HTTP-level failure (connect, TLS, timeout).
    #[error("request to {url} failed: {source}")]
    Http {
        /// The URL.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The user agent step failed (browser, loopback listener, timeout).
    #[error("authorization step failed: {0}")]
    Authorizer(String),
    /// The token store could not be read or written.
    #[error("token store: {0}")]
    Store(String),
    /// The configuration is unusable.
    #[error("invalid OAuth configuration: {0}")]
    Config(String),
}

fn fmt_desc(d: &Option<String>) -> DescFmt<'_> {
    DescFmt(d.as_deref())
}

struct DescFmt<'a>(Option<&'a str>);

impl fmt::Display for DescFmt<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, " ({d})"),
            None => Ok(()),
        }
    }
}

impl AuthError {
    /// The OAuth `error=` code this failure corresponds to, when it came from the AS.
    pub fn oauth_error(&self) -> Option<&str> {
        match self {
            Self::AuthorizationDenied { error, .. }
            | Self::RegistrationFailed { error, .. }
            | Self::TokenRequestFailed { error, .. } => Some(error),
            Self::InsufficientScope { .. } => Some("insufficient_scope"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denial_display_includes_description_only_when_present() {
        let e = AuthError::AuthorizationDenied {
            error: "access_denied".into(),
            description: None,
        };
        assert_eq!(e.to_string(), "authorization denied: access_denied");
        let e = AuthError::AuthorizationDenied {
            error: "access_denied".into(),
            description: Some("user said no".into()),
        };
        assert_eq!(
            e.to_string(),
            "authorization denied: access_denied (user said no)"
        );
        assert_eq!(e.oauth_error(), Some("access_denied"));
    }
}
