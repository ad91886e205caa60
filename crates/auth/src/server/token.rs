//! `/token`, `/register`, `/revoke` and `/introspect`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use switchyard_store::{ClientRecord, CodeRedemption, RefreshRecord, RefreshUse, SecretHash};

use super::clients::{self, authenticate, presented};
use super::error::{err, ErrorCode, ServerError};
use super::keys::AccessClaims;
use super::session::PeerIp;
use super::{random_token, unix_now, AsState};
use crate::client::pkce::s256_challenge;

/// Largest token, revocation, introspection or registration request body.
pub const MAX_REQUEST_BYTES: usize = 64 * 1024;

/// A parsed form body that refuses repeated parameters (RFC 6749 §3.2).
struct FormBody(HashMap<String, Vec<String>>);

impl FormBody {
    fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, ServerError> {
        let ct = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !ct
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(err(
                ErrorCode::InvalidRequest,
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        if body.len() > MAX_REQUEST_BYTES {
            return Err(err(ErrorCode::InvalidRequest, "request body too large"));
        }
        let mut m: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(body) {
            m.entry(k.into_owned()).or_default().push(v.into_owned());
        }
        if let Some(k) = m
            .iter()
            .find(|(k, v)| v.len() > 1 && k.as_str() != "resource")
            .map(|(k, _)| k.clone())
        {
            return Err(err(
                ErrorCode::InvalidRequest,
                format!("parameter {k} is repeated"),
            ));
        }
        Ok(Self(m))
    }

    fn get(&self, k: &str) -> Option<&str> {
        self.0
            .get(k)
            .and_then(|v| v.first())
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn all(&self, k: &str) -> Vec<&str> {
        self.0
            .get(k)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn require(&self, k: &'static str) -> Result<&str, ServerError> {
        self.get(k)
            .ok_or_else(|| err(ErrorCode::InvalidRequest, format!("{k} is required")))
    }
}

fn no_store(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    resp
}

fn respond(r: Result<serde_json::Value, ServerError>) -> Response {
    match r {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

/// `POST /token`.
pub(crate) async fn token(
    State(st): State<Arc<AsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(token_inner(&st, &headers, &body).await)
}

async fn token_inner(
    st: &AsState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, ServerError> {
    let f = FormBody::parse(headers, body)?;
    let grant = f.require("grant_type")?;
    let who = presented(headers, f.get("client_id"), f.get("client_secret"))?;
    let client = authenticate(st.store.as_ref(), &who).await?;
    if !clients::GRANT_TYPES.contains(&grant) {
        return Err(err(
            ErrorCode::UnsupportedGrantType,
            format!("grant_type {grant:?} is not supported"),
        ));
    }
    if !client.grant_types.iter().any(|g| g == grant) {
        return Err(err(
            ErrorCode::UnauthorizedClient,
            format!("this client may not use the {grant} grant"),
        ));
    }
    match grant {
        "authorization_code" => authorization_code(st, &client, &f).await,
        "refresh_token" => refresh(st, &client, &f).await,
        _ => client_credentials(st, &client, &f).await,
    }
}

/// A PKCE verifier: 43-128 unreserved characters (RFC 7636 §4.1).
fn is_verifier(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

async fn authorization_code(
    st: &AsState,
    client: &ClientRecord,
    f: &FormBody,
) -> Result<serde_json::Value, ServerError> {
    let code = f.require("code")?;
    let verifier = f.get("code_verifier").ok_or_else(|| {
        err(
            ErrorCode::InvalidRequest,
            "code_verifier is required (PKCE)",
        )
    })?;
    let now = unix_now();
    let hash = SecretHash::of(code);
    let rec = match st.store.take_code(&hash, now).await? {
        CodeRedemption::Fresh(rec) => rec,
        CodeRedemption::Replayed(rec) => {
            if let Some(family) = &rec.issued_family {
                st.store.revoke_family(family, now).await?;
            }
            tracing::warn!(client_id = %rec.client_id, "authorization code replayed; tokens revoked");
            return Err(err(
                ErrorCode::InvalidGrant,
                "authorization code was already used; tokens issued from it are revoked",
            ));
        }
        _ => return Err(err(ErrorCode::InvalidGrant, "unknown authorization code")),
    };
    if rec.client_id != client.client_id {
        return Err(err(
            ErrorCode::InvalidGrant,
            "the code was issued to another client",
        ));
    }
    if rec.expires_at < now {
        return Err(err(ErrorCode::InvalidGrant, "authorization code expired"));
    }
    if f.get("redirect_uri") != Some(rec.redirect_uri.as_str()) {
        return Err(err(
            ErrorCode::InvalidGrant,
            "redirect_uri differs from the authorization request",
        ));
    }
    if !is_verifier(verifier) || s256_challenge(verifier) != rec.code_challenge {
        return Err(err(ErrorCode::InvalidGrant, "PKCE verification failed"));
    }
    let resources = f.all("resource");
    if !resources.is_empty() && resources != [rec.resource.as_str()] {
        return Err(err(
            ErrorCode::InvalidTarget,
            "resource differs from the authorization request",
        ));
    }
    let family = random_token(16);
    let scopes: Vec<&str> = rec.scope.split(' ').filter(|s| !s.is_empty()).collect();
    let body = issue(
        st,
        client,
        &rec.user_id,
        &scopes,
        &rec.resource,
        Some(&family),
        Some(&rec.scope),
    )
    .await?;
    st.store.set_code_family(&hash, &family).await?;
    Ok(body)
}

async fn refresh(
    st: &AsState,
    client: &ClientRecord,
    f: &FormBody,
) -> Result<serde_json::Value, ServerError> {
    let token = f.require("refresh_token")?;
    let hash = SecretHash::of(token);
    let now = unix_now();
    let invalid = || err(ErrorCode::InvalidGrant, "unknown or revoked refresh token");
    // Check everything that does not spend the token first, so a bad request (wrong scope or
    // resource) leaves the client its token.
    let Some((peek, used, revoked)) = st.store.refresh(&hash).await? else {
        return Err(invalid());
    };
    if peek.client_id != client.client_id {
        return Err(err(
            ErrorCode::InvalidGrant,
            "the refresh token belongs to another client",
        ));
    }
    if revoked {
        return Err(invalid());
    }
    if !used {
        if peek.expires_at < now {
            return Err(err(ErrorCode::InvalidGrant, "refresh token expired"));
        }
        let resources = f.all("resource");
        if !resources.is_empty() && resources != [peek.resource.as_str()] {
            return Err(err(
                ErrorCode::InvalidTarget,
                "resource differs from the original grant",
            ));
        }
    }
    let granted: Vec<&str> = peek.scope.split(' ').filter(|s| !s.is_empty()).collect();
    let requested: Vec<&str> = match f.get("scope") {
        Some(s) => s.split(' ').filter(|x| !x.is_empty()).collect(),
        None => granted.clone(),
    };
    if !used {
        if let Some(extra) = requested.iter().find(|s| !granted.contains(s)) {
            return Err(err(
                ErrorCode::InvalidScope,
                format!("scope {extra:?} exceeds the original grant"),
            ));
        }
    }
    let rec = match st.store.use_refresh(&hash, now).await? {
        RefreshUse::Fresh(rec) => rec,
        RefreshUse::Reused(rec) => {
            st.store.revoke_family(&rec.family_id, now).await?;
            tracing::warn!(client_id = %rec.client_id, "refresh token reuse; family revoked");
            return Err(err(
                ErrorCode::InvalidGrant,
                "refresh token was already used; the token family is revoked",
            ));
        }
        _ => return Err(invalid()),
    };
    issue(
        st,
        client,
        &rec.user_id,
        &requested,
        &rec.resource,
        Some(&rec.family_id),
        Some(&rec.scope),
    )
    .await
}

async fn client_credentials(
    st: &AsState,
    client: &ClientRecord,
    f: &FormBody,
) -> Result<serde_json::Value, ServerError> {
    if client.secret_hash.is_none() {
        return Err(err(
            ErrorCode::UnauthorizedClient,
            "client_credentials needs a confidential client",
        ));
    }
    let resource = st.resource(&f.all("resource"))?;
    let scopes = st.scopes(f.get("scope"), client)?;
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    issue(
        st,
        client,
        &client.client_id,
        &scopes,
        &resource,
        None,
        None,
    )
    .await
}

/// Signs an access token and, with `family`, mints the next refresh token of that family
/// (carrying the full original grant `refresh_scope`).
async fn issue(
    st: &AsState,
    client: &ClientRecord,
    sub: &str,
    scopes: &[&str],
    resource: &str,
    family: Option<&str>,
    refresh_scope: Option<&str>,
) -> Result<serde_json::Value, ServerError> {
    let now = unix_now();
    let ttl = st.cfg.access_token_ttl.as_secs() as i64;
    let claims = AccessClaims {
        iss: st.cfg.issuer.clone(),
        sub: sub.to_owned(),
        aud: resource.to_owned(),
        exp: now + ttl,
        iat: now,
        nbf: now,
        jti: random_token(16),
        client_id: client.client_id.clone(),
        scope: scopes.join(" "),
    };
    st.keys.rotate_if_due().await?;
    let access = st.keys.sign(&claims).await?;
    st.store
        .record_access_token(&claims.jti, family, &client.client_id, claims.exp)
        .await?;
    let mut body = serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": ttl,
    });
    if !claims.scope.is_empty() {
        body["scope"] = claims.scope.clone().into();
    }
    if let Some(family) = family {
        let refresh = random_token(32);
        st.store
            .put_refresh(
                &RefreshRecord {
                    token_hash: SecretHash::of(&refresh),
                    family_id: family.to_owned(),
                    client_id: client.client_id.clone(),
                    user_id: sub.to_owned(),
                    scope: refresh_scope.unwrap_or_default().to_owned(),
                    resource: resource.to_owned(),
                    expires_at: now + st.cfg.refresh_token_ttl.as_secs() as i64,
                },
                now,
            )
            .await?;
        body["refresh_token"] = refresh.into();
    }
    Ok(body)
}

/// `POST /register` (RFC 7591), rate limited per client address.
pub(crate) async fn register(
    State(st): State<Arc<AsState>>,
    PeerIp(ip): PeerIp,
    body: Bytes,
) -> Response {
    if !st.cfg.dynamic_registration {
        return StatusCode::NOT_FOUND.into_response();
    }
    let key = ip.map_or_else(|| "ip:unknown".to_owned(), |ip| format!("ip:{ip}"));
    if !st.register_limit.hit(&key) {
        return err(
            ErrorCode::TemporarilyUnavailable,
            "too many registrations from this address; try again later",
        )
        .into_response();
    }
    if body.len() > MAX_REQUEST_BYTES {
        return err(
            ErrorCode::InvalidClientMetadata,
            "registration request too large",
        )
        .into_response();
    }
    let req = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return err(
                ErrorCode::InvalidClientMetadata,
                format!("invalid JSON: {e}"),
            )
            .into_response()
        }
    };
    match clients::register(st.store.as_ref(), &st.cfg.scopes_supported, req).await {
        Ok(v) => no_store((StatusCode::CREATED, Json(v)).into_response()),
        Err(e) => e.into_response(),
    }
}

/// `POST /revoke` (RFC 7009): always `200` for a token the client may not know about.
pub(crate) async fn revoke(
    State(st): State<Arc<AsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revoke_inner(&st, &headers, &body).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

async fn revoke_inner(st: &AsState, headers: &HeaderMap, body: &[u8]) -> Result<(), ServerError> {
    let f = FormBody::parse(headers, body)?;
    let who = presented(headers, f.get("client_id"), f.get("client_secret"))?;
    let client = authenticate(st.store.as_ref(), &who).await?;
    let token = f.require("token")?;
    let now = unix_now();
    if let Some((rec, _, _)) = st.store.refresh(&SecretHash::of(token)).await? {
        if rec.client_id == client.client_id {
            st.store.revoke_family(&rec.family_id, now).await?;
        }
        return Ok(());
    }
    if let Some(claims) = st.keys.verify(token, &st.cfg.issuer, true).await {
        if claims.client_id == client.client_id {
            st.store.revoke_access_token(&claims.jti, now).await?;
        }
    }
    Ok(())
}

/// `POST /introspect` (RFC 7662): confidential clients only.
pub(crate) async fn introspect(
    State(st): State<Arc<AsState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(introspect_inner(&st, &headers, &body).await)
}

async fn introspect_inner(
    st: &AsState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, ServerError> {
    let f = FormBody::parse(headers, body)?;
    let who = presented(headers, f.get("client_id"), f.get("client_secret"))?;
    let client = authenticate(st.store.as_ref(), &who).await?;
    if client.secret_hash.is_none() {
        return Err(err(
            ErrorCode::InvalidClient,
            "introspection needs client authentication",
        ));
    }
    let token = f.require("token")?;
    let inactive = serde_json::json!({ "active": false });
    if let Some(c) = st.keys.verify(token, &st.cfg.issuer, false).await {
        if st.store.access_token_revoked(&c.jti).await? {
            return Ok(inactive);
        }
        let mut v = serde_json::json!({
            "active": true, "token_type": "Bearer", "client_id": c.client_id, "sub": c.sub,
            "aud": c.aud, "iss": c.iss, "exp": c.exp, "iat": c.iat, "nbf": c.nbf, "jti": c.jti,
        });
        if !c.scope.is_empty() {
            v["scope"] = c.scope.into();
        }
        return Ok(v);
    }
    if let Some((rec, used, revoked)) = st.store.refresh(&SecretHash::of(token)).await? {
        if rec.client_id == client.client_id && !used && !revoked && rec.expires_at >= unix_now() {
            return Ok(serde_json::json!({
                "active": true, "token_type": "refresh_token", "client_id": rec.client_id,
                "sub": rec.user_id, "aud": rec.resource, "iss": st.cfg.issuer,
                "exp": rec.expires_at, "scope": rec.scope,
            }));
        }
    }
    Ok(inactive)
}
