//! The JWT-bearer grant (RFC 7523 §2.1) for workloads and enterprise-managed authorization:
//! the client presents an assertion it holds (workload identity federation, SEP-1933) or one it
//! obtains from the enterprise IdP by token exchange (an ID-JAG, RFC 8693 and SEP-990).
//!
//! A rejected assertion is reported, never retried with the same assertion and never answered
//! by switching to another grant.

use std::fmt;

use serde::Deserialize;
use url::form_urlencoded;

use super::error::AuthError;
use super::http::{Http, PostBody, RESPONSE_LIMIT};
use super::registration::OAuthErrorBody;

/// `grant_type` of the JWT-bearer grant.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// `grant_type` of token exchange.
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Token type of an Identity Assertion JWT Authorization Grant.
pub const ID_JAG_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";
/// Token type of an OpenID Connect ID token.
pub const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";

/// Where the JWT-bearer assertion comes from. `Debug` hides tokens.
#[derive(Clone)]
#[non_exhaustive]
pub enum AssertionSource {
    /// A JWT the workload already holds (e.g. a platform-issued workload identity token whose
    /// audience is the authorization server).
    Jwt(String),
    /// Exchange the user's IdP ID token for an ID-JAG at the IdP, audience the AS issuer and
    /// resource the MCP server (SEP-990).
    IdJag {
        /// The IdP token endpoint.
        idp_token_endpoint: String,
        /// The client's `client_id` at the IdP.
        idp_client_id: String,
        /// The ID token from the user's IdP login.
        id_token: String,
    },
}

impl fmt::Debug for AssertionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Jwt(_) => f.write_str("Jwt(<redacted>)"),
            Self::IdJag {
                idp_token_endpoint,
                idp_client_id,
                ..
            } => f
                .debug_struct("IdJag")
                .field("idp_token_endpoint", idp_token_endpoint)
                .field("idp_client_id", idp_client_id)
                .field("id_token", &"<redacted>")
                .finish(),
        }
    }
}

#[derive(Deserialize)]
struct ExchangeResponse {
    access_token: String,
    #[serde(default)]
    issued_token_type: Option<String>,
}

impl AssertionSource {
    /// The assertion to present at the AS `issuer` for `resource`.
    pub(crate) async fn assertion(
        &self,
        http: &Http,
        issuer: &str,
        resource: &str,
        scope: Option<&str>,
    ) -> Result<String, AuthError> {
        let (endpoint, client_id, id_token) = match self {
            Self::Jwt(j) => return Ok(j.clone()),
            Self::IdJag {
                idp_token_endpoint,
                idp_client_id,
                id_token,
            } => (idp_token_endpoint, idp_client_id, id_token),
        };
        let body = {
            let mut f = form_urlencoded::Serializer::new(String::new());
            f.append_pair("grant_type", TOKEN_EXCHANGE_GRANT)
                .append_pair("requested_token_type", ID_JAG_TOKEN_TYPE)
                .append_pair("audience", issuer)
                .append_pair("resource", resource)
                .append_pair("subject_token", id_token)
                .append_pair("subject_token_type", ID_TOKEN_TYPE)
                .append_pair("client_id", client_id);
            if let Some(s) = scope {
                f.append_pair("scope", s);
            }
            f.finish()
        };
        tracing::debug!(idp = %endpoint, "exchanging the ID token for an ID-JAG");
        let r = http
            .post(
                "IdP token endpoint",
                endpoint,
                PostBody::Form(body),
                None,
                RESPONSE_LIMIT,
            )
            .await?;
        if !r.is_success() {
            let (error, description) = OAuthErrorBody::parse(&r.body);
            return Err(AuthError::TokenRequestFailed {
                status: r.status,
                error,
                description,
            });
        }
        let x: ExchangeResponse =
            serde_json::from_slice(&r.body).map_err(|e| AuthError::InvalidResponse {
                endpoint: "IdP token",
                reason: e.to_string(),
            })?;
        if x.issued_token_type
            .as_deref()
            .is_some_and(|t| t != ID_JAG_TOKEN_TYPE)
        {
            return Err(AuthError::InvalidResponse {
                endpoint: "IdP token",
                reason: "issued_token_type is not an ID-JAG".into(),
            });
        }
        if x.access_token.is_empty() {
            return Err(AuthError::InvalidResponse {
                endpoint: "IdP token",
                reason: "empty access_token".into(),
            });
        }
        Ok(x.access_token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens() {
        let a = AssertionSource::Jwt("eyJ.secret.jwt".into());
        assert!(!format!("{a:?}").contains("secret"));
        let b = AssertionSource::IdJag {
            idp_token_endpoint: "https://idp/token".into(),
            idp_client_id: "cid".into(),
            id_token: "eyJ.idtoken.secret".into(),
        };
        let s = format!("{b:?}");
        assert!(
            s.contains("https://idp/token") && !s.contains("idtoken"),
            "{s}"
        );
    }
}
