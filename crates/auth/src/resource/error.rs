//! Why a request was refused, and the one place that maps each reason to an HTTP status and an
//! RFC 6750 `error=` code.
//!
//! No variant carries the token, so every error is safe to log.

use http::StatusCode;

/// Why the resource-server layer refused a request.
///
/// The `Display` text is sent as `error_description`; it names the rule and never the token.
/// Match on the variant, not on the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BearerError {
    // ----- the request is malformed (RFC 6750 `invalid_request`) -----
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    MissingToken,
    /// The token was sent in the query string (`access_token=`), which MCP forbids.
    #[error("bearer token in the query string is not accepted")]
    TokenInQuery,
    /// More than one `Authorization` header.
    #[error("more than one Authorization header")]
    MultipleAuthorization,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("Authorization header is not a bearer token")]
    NotBearer,
    /// The body to inspect for per-method scopes is larger than the limit.
    #[error("request body larger than {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read, or is not a JSON-RPC message, so its scopes are unknown.
    #[error("request body is not a JSON-RPC message")]
    BodyNotJsonRpc,

    // ----- the token is invalid (RFC 6750 `invalid_token`) -----
    /// Not a compact JWS (three base64url segments with a JSON header and payload).
    #[error("token is not a well-formed JWT")]
    Malformed,
    /// The JWT header says `alg: none`.
    #[error("unsigned token (alg none)")]
    AlgNone,
    /// The JWT header names an algorithm this resource does not accept.
    #[error("signing algorithm {0} is not accepted")]
    AlgNotAllowed(String),
    /// The key named by `kid` is not in the issuer's key set (even after a refetch).
    #[error("signing key is unknown")]
    UnknownKey,
    /// The header has no `kid` and the key set has more than one candidate key.
    #[error("token names no key id")]
    MissingKeyId,
    /// The key's type or `alg` does not match the token's algorithm.
    #[error("signing key does not match the algorithm")]
    KeyAlgMismatch,
    /// The signature does not verify with the issuer's key.
    #[error("signature does not verify")]
    BadSignature,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    Expired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not yet valid")]
    NotYetValid,
    /// `iss` is not the trusted issuer.
    #[error("token issued by another issuer")]
    WrongIssuer,
    /// `aud` does not contain this resource's canonical URI: the token was minted for another
    /// resource.
    #[error("token issued for another resource")]
    WrongAudience,
    /// A required claim (`exp`, `iss`, `aud`, `sub`) is absent or has the wrong type.
    #[error("claim {0} missing or invalid")]
    BadClaim(String),
    /// Token introspection says the token is not active.
    #[error("token is not active")]
    Inactive,

    // ----- the token is fine but lacks scopes (RFC 6750 `insufficient_scope`) -----
    /// The token lacks scopes the request needs; `required` lists every scope it needs.
    #[error("token lacks required scopes")]
    InsufficientScope {
        /// All scopes this request needs (sent as the challenge's `scope=`).
        required: Vec<String>,
    },

    // ----- this server cannot check right now -----
    /// The issuer's JWKS could not be fetched or parsed.
    #[error("signing keys are unavailable")]
    KeysUnavailable,
    /// The introspection endpoint could not be reached or answered nonsense.
    #[error("token introspection is unavailable")]
    IntrospectionUnavailable,
}

/// Why a [`ResourceConfig`](super::ResourceConfig) cannot be used. Raised once, at construction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `resource` is not an absolute `http(s)` URI without a fragment.
    #[error("resource {0:?} is not an absolute http(s) URI without a fragment")]
    InvalidResource(String),
    /// Protected-resource metadata must list at least one authorization server.
    #[error("no authorization server configured")]
    NoAuthorizationServer,
    /// `allowed_algs` is empty.
    #[error("no signing algorithm allowed")]
    NoAlgorithm,
    /// An HMAC algorithm was allowed: a public JWKS must never verify symmetric signatures.
    #[error("symmetric algorithm {0:?} cannot be verified against a JWKS")]
    SymmetricAlgorithm(jsonwebtoken::Algorithm),
    /// A key of a static JWKS cannot be used.
    #[error("static JWKS key unusable: {0}")]
    InvalidKey(String),
    /// The HTTP client for JWKS fetching or introspection could not be built.
    #[error("HTTP client: {0}")]
    HttpClient(String),
}

/// How a [`BearerError`] looks on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The RFC 6750 `error=` code; `None` when the challenge carries no code (missing token,
    /// RFC 6750 §3.1) or no challenge is sent at all.
    pub code: Option<&'static str>,
    /// Whether the response carries a `WWW-Authenticate: Bearer` challenge.
    pub challenge: bool,
}

impl BearerError {
    /// The status, `error=` code and whether a challenge is sent. This is the only mapping from
    /// refusal reason to wire form.
    pub fn wire(&self) -> WireError {
        use BearerError as E;
        let (status, code, challenge) = match self {
            E::MissingToken => (StatusCode::UNAUTHORIZED, None, true),
            E::TokenInQuery | E::MultipleAuthorization | E::NotBearer => {
                (StatusCode::BAD_REQUEST, Some("invalid_request"), true)
            }
            E::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, None, false),
            E::BodyNotJsonRpc => (StatusCode::BAD_REQUEST, None, false),
            E::Malformed
            | E::AlgNone
            | E::AlgNotAllowed(_)
            | E::UnknownKey
            | E::MissingKeyId
            | E::KeyAlgMismatch
            | E::BadSignature
            | E::Expired
            | E::NotYetValid
            | E::WrongIssuer
            | E::WrongAudience
            | E::BadClaim(_)
            | E::Inactive => (StatusCode::UNAUTHORIZED, Some("invalid_token"), true),
            E::InsufficientScope { .. } => {
                (StatusCode::FORBIDDEN, Some("insufficient_scope"), true)
            }
            E::KeysUnavailable | E::IntrospectionUnavailable => {
                (StatusCode::SERVICE_UNAVAILABLE, None, false)
            }
        };
        WireError {
            status,
            code,
            challenge,
        }
    }
}

impl From<jsonwebtoken::errors::Error> for BearerError {
    fn from(e: jsonwebtoken::errors::Error) -> Self {
        use jsonwebtoken::errors::ErrorKind as K;
        match e.kind() {
            K::InvalidSignature => Self::BadSignature,
            K::ExpiredSignature => Self::Expired,
            K::ImmatureSignature => Self::NotYetValid,
            K::InvalidIssuer => Self::WrongIssuer,
            K::InvalidAudience => Self::WrongAudience,
            K::MissingRequiredClaim(c) | K::InvalidClaimFormat(c) => Self::BadClaim(c.clone()),
            K::InvalidAlgorithm
            | K::InvalidEcdsaKey
            | K::InvalidEddsaKey
            | K::InvalidRsaKey(_)
            | K::InvalidKeyFormat => Self::KeyAlgMismatch,
            _ => Self::Malformed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_invalid_token_reason_is_401_invalid_token() {
        for e in [
            BearerError::AlgNone,
            BearerError::Expired,
            BearerError::WrongAudience,
            BearerError::BadSignature,
        ] {
            let w = e.wire();
            assert_eq!(w.status, StatusCode::UNAUTHORIZED);
            assert_eq!(w.code, Some("invalid_token"));
        }
    }

    #[test]
    fn missing_token_challenge_has_no_error_code() {
        assert_eq!(BearerError::MissingToken.wire().code, None);
    }

    #[test]
    fn insufficient_scope_is_403() {
        let w = BearerError::InsufficientScope { required: vec![] }.wire();
        assert_eq!(w.status, StatusCode::FORBIDDEN);
        assert_eq!(w.code, Some("insufficient_scope"));
    }
}
