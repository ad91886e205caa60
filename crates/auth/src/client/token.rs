//! Token endpoint requests: authorization-code exchange and refresh (RFC 6749 §4.1.3, §6),
//! with client authentication and the RFC 8707 `resource` parameter.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use reqwest::header::HeaderValue;
use serde::Deserialize;
use url::form_urlencoded;

use super::error::AuthError;
use super::grant::AuthorizationCode;
use super::http::{Http, PostBody, RESPONSE_LIMIT};
use super::registration::OAuthErrorBody;
use super::store::{ClientRegistration, TokenEndpointAuth, TokenSet};

/// Seconds since the Unix epoch.
pub(crate) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `Authorization: Basic` for `client_secret_basic`: the id and secret are each
/// form-urlencoded before joining with `:` and base64 encoding (RFC 6749 §2.3.1).
pub fn basic_auth_value(client_id: &str, client_secret: &str) -> String {
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", enc(client_id), enc(client_secret)))
    )
}

/// Adds client authentication to a token request: a header for `client_secret_basic`,
/// body fields otherwise.
fn authenticate(
    client: &ClientRegistration,
    form: &mut form_urlencoded::Serializer<'_, String>,
) -> Result<Option<HeaderValue>, AuthError> {
    match (client.auth_method, &client.client_secret) {
        (TokenEndpointAuth::ClientSecretBasic, Some(secret)) => {
            let v = HeaderValue::from_str(&basic_auth_value(&client.client_id, secret))
                .map_err(|_| AuthError::Config("client credentials are not header-safe".into()))?;
            Ok(Some(v))
        }
        (TokenEndpointAuth::ClientSecretPost, Some(secret)) => {
            form.append_pair("client_id", &client.client_id);
            form.append_pair("client_secret", secret);
            Ok(None)
        }
        _ => {
            form.append_pair("client_id", &client.client_id);
            Ok(None)
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

async fn token_request(
    http: &Http,
    endpoint: &str,
    client: &ClientRegistration,
    pairs: &[(&str, &str)],
    requested_scope: Option<&str>,
) -> Result<TokenSet, AuthError> {
    // The serializer is not `Send`; it must be gone before the first await so callers can
    // drive this future on a multi-threaded runtime.
    let (body, auth) = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            form.append_pair(k, v);
        }
        let auth = authenticate(client, &mut form)?;
        (form.finish(), auth)
    };
    let f = http
        .post(
            "token endpoint",
            endpoint,
            PostBody::Form(body),
            auth,
            RESPONSE_LIMIT,
        )
        .await?;
    if !f.is_success() {
        let (error, description) = OAuthErrorBody::parse(&f.body);
        return Err(AuthError::TokenRequestFailed {
            status: f.status,
            error,
            description,
        });
    }
    let r: TokenResponse =
        serde_json::from_slice(&f.body).map_err(|e| AuthError::InvalidResponse {
            endpoint: "token",
            reason: e.to_string(),
        })?;
    if r.access_token.is_empty() {
        return Err(AuthError::InvalidResponse {
            endpoint: "token",
            reason: "empty access_token".into(),
        });
    }
    if let Some(t) = &r.token_type {
        if !t.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::UnsupportedTokenType(t.clone()));
        }
    }
    let expires_in = match &r.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let obtained_at = now();
    Ok(TokenSet {
        access_token: r.access_token,
        refresh_token: r.refresh_token.filter(|t| !t.is_empty()),
        expires_at: expires_in.map(|s| obtained_at.saturating_add(s)),
        scope: r
            .scope
            .filter(|s| !s.trim().is_empty())
            .or_else(|| requested_scope.map(str::to_owned)),
        obtained_at,
    })
}

/// Redeems a checked authorization code (with its PKCE verifier) for tokens.
pub(crate) async fn exchange_code(
    http: &Http,
    endpoint: &str,
    client: &ClientRegistration,
    code: AuthorizationCode,
    resource: &str,
    requested_scope: Option<&str>,
) -> Result<TokenSet, AuthError> {
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.code.as_str()),
        ("redirect_uri", code.redirect_uri.as_str()),
        ("code_verifier", code.verifier.as_str()),
        ("resource", resource),
    ];
    token_request(http, endpoint, client, &pairs, requested_scope).await
}

/// The client credentials grant (RFC 6749 §4.4), with `resource`, an optional `scope` and, for
/// `private_key_jwt`, a signed client assertion.
pub(crate) async fn client_credentials(
    http: &Http,
    endpoint: &str,
    client: &ClientRegistration,
    resource: &str,
    scope: Option<&str>,
    assertion: Option<&str>,
) -> Result<TokenSet, AuthError> {
    let mut pairs = vec![("grant_type", "client_credentials"), ("resource", resource)];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    if let Some(a) = assertion {
        pairs.push((
            "client_assertion_type",
            super::assertion::JWT_BEARER_ASSERTION_TYPE,
        ));
        pairs.push(("client_assertion", a));
    }
    token_request(http, endpoint, client, &pairs, scope).await
}

/// The JWT-bearer grant (RFC 7523 §2.1) with `resource` and an optional `scope`.
pub(crate) async fn jwt_bearer(
    http: &Http,
    endpoint: &str,
    client: &ClientRegistration,
    assertion: &str,
    resource: &str,
    scope: Option<&str>,
) -> Result<TokenSet, AuthError> {
    let mut pairs = vec![
        ("grant_type", super::federation::JWT_BEARER_GRANT),
        ("assertion", assertion),
        ("resource", resource),
    ];
    if let Some(s) = scope {
        pairs.push(("scope", s));
    }
    token_request(http, endpoint, client, &pairs, scope).await
}

/// Uses `refresh_token`. A rotated refresh token replaces the old one; if the AS sends none,
/// the old one is kept. The scope stays what it was unless the AS says otherwise.
pub(crate) async fn refresh(
    http: &Http,
    endpoint: &str,
    client: &ClientRegistration,
    old: &TokenSet,
    resource: &str,
) -> Result<TokenSet, AuthError> {
    let Some(rt) = &old.refresh_token else {
        return Err(AuthError::Config("no refresh token".into()));
    };
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt.as_str()),
        ("resource", resource),
    ];
    let mut t = token_request(http, endpoint, client, &pairs, old.scope.as_deref()).await?;
    if t.refresh_token.is_none() {
        t.refresh_token = old.refresh_token.clone();
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_encodes_id_and_secret_before_base64() {
        assert_eq!(
            basic_auth_value("pre-registered-client", "pre-registered-secret"),
            format!(
                "Basic {}",
                STANDARD.encode("pre-registered-client:pre-registered-secret")
            )
        );
        // ':' and ' ' in credentials must not break the id/secret split.
        let v = basic_auth_value("a:b c", "s&e=t");
        let decoded = STANDARD.decode(v.trim_start_matches("Basic ")).unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "a%3Ab+c:s%26e%3Dt");
    }
}
