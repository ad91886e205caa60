//! The authorization server's error type and the one place that maps errors to OAuth `error=`
//! values and HTTP statuses.

use std::borrow::Cow;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchyard_store::StoreError;

/// The OAuth error codes this server emits (RFC 6749 §4.1.2.1, §5.2; RFC 7591 §3.2.2;
/// RFC 8707 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `invalid_request`: a parameter is missing, repeated, malformed or unsupported.
    InvalidRequest,
    /// `invalid_client`: client authentication failed or the client is unknown.
    InvalidClient,
    /// `invalid_grant`: the code or refresh token is invalid, expired, spent or not yours.
    InvalidGrant,
    /// `unauthorized_client`: the client may not use this grant type.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `unsupported_response_type`.
    UnsupportedResponseType,
    /// `invalid_scope`: unknown scope, or more than was granted.
    InvalidScope,
    /// `invalid_target`: the `resource` is malformed or not served by this AS (RFC 8707).
    InvalidTarget,
    /// `access_denied`: the user declined.
    AccessDenied,
    /// `invalid_redirect_uri` (registration).
    InvalidRedirectUri,
    /// `invalid_client_metadata` (registration).
    InvalidClientMetadata,
    /// `temporarily_unavailable`: rate limited.
    TemporarilyUnavailable,
    /// `server_error`.
    ServerError,
}

impl ErrorCode {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::InvalidScope => "invalid_scope",
            Self::InvalidTarget => "invalid_target",
            Self::AccessDenied => "access_denied",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::ServerError => "server_error",
        }
    }

    /// The HTTP status of a JSON error response carrying this code.
    pub const fn status(self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::AccessDenied => StatusCode::FORBIDDEN,
            Self::TemporarilyUnavailable => StatusCode::TOO_MANY_REQUESTS,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an authorization-server operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The peer (client or user agent) broke a protocol rule; carries the OAuth error code.
    #[error("{code}: {description}")]
    Protocol {
        /// The OAuth error code.
        code: ErrorCode,
        /// A human-readable explanation (never contains secrets).
        description: Cow<'static, str>,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing or key handling failed.
    #[error("signing key: {0}")]
    Signing(String),
    /// Password hashing failed.
    #[error("password hashing: {0}")]
    Password(String),
    /// The caller configured the server wrongly (bad issuer, invalid pre-registered client).
    #[error("configuration: {0}")]
    Config(String),
}

impl ServerError {
    /// A protocol error with `code` and `description`.
    pub fn protocol(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self::Protocol {
            code,
            description: description.into(),
        }
    }

    /// The OAuth error code this error is reported as.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Protocol { code, .. } => *code,
            Self::Config(_) => ErrorCode::InvalidRequest,
            Self::Store(_) | Self::Signing(_) | Self::Password(_) => ErrorCode::ServerError,
        }
    }

    /// The description sent to the peer: internal failures are not detailed on the wire.
    pub fn public_description(&self) -> String {
        match self {
            Self::Protocol { description, .. } => description.to_string(),
            Self::Config(m) => m.clone(),
            _ => "internal error".to_owned(),
        }
    }
}

/// Shorthand for a protocol error.
pub(crate) fn err(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> ServerError {
    ServerError::protocol(code, description)
}

impl IntoResponse for ServerError {
    /// A JSON error body (RFC 6749 §5.2) with `Cache-Control: no-store`.
    fn into_response(self) -> Response {
        let code = self.code();
        if code == ErrorCode::ServerError {
            tracing::error!(error = %self, "authorization server failure");
        }
        let body = serde_json::json!({
            "error": code.as_str(),
            "error_description": self.public_description(),
        });
        let mut resp = (code.status(), axum::Json(body)).into_response();
        let h = resp.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        if code == ErrorCode::InvalidClient {
            h.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"switchyard\""),
            );
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_wire_values_and_statuses() {
        assert_eq!(ErrorCode::InvalidGrant.as_str(), "invalid_grant");
        assert_eq!(ErrorCode::InvalidClient.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(ErrorCode::InvalidTarget.status(), StatusCode::BAD_REQUEST);
        let e = ServerError::Signing("boom with detail".into());
        assert_eq!(e.code(), ErrorCode::ServerError);
        assert_eq!(e.public_description(), "internal error");
    }
}
