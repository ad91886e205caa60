//! The authorization flow behind [`OAuthClient`](super::OAuthClient): challenge → discovery →
//! identity → authorize → token.

use super::challenge::{split_scopes, BearerChallenge};
use super::discovery::{self, AuthorizationServerMetadata, ProtectedResourceMetadata};
use super::error::AuthError;
use super::grant::{AuthorizationParams, PendingAuthorization};
use super::http::Http;
use super::pkce;
use super::registration;
use super::store::{
    ClientKind, ClientRegistration, StoreEntry, StoreKey, TokenEndpointAuth, TokenSet,
};
use super::token;
use super::{GrantType, OAuthConfig, State};

/// A token this close to expiry counts as expired (clock skew, request latency); for short
/// lifetimes the margin is half the lifetime instead, so a 60-second token is still usable.
const EXPIRY_SKEW_SECS: u64 = 60;

fn is_fresh(t: &TokenSet) -> bool {
    t.expires_at.is_none_or(|at| {
        let skew = EXPIRY_SKEW_SECS.min(at.saturating_sub(t.obtained_at) / 2);
        at > token::now().saturating_add(skew)
    })
}

/// The stored key whose token serves `url`: the one bound in this process, else the newest
/// stored token whose resource covers `url`.
fn find_key(
    cfg: &OAuthConfig,
    st: &State,
    url: &str,
) -> Result<Option<(StoreKey, StoreEntry)>, AuthError> {
    if let Some(k) = st.bindings.get(url) {
        return Ok(cfg.store.load(k)?.map(|e| (k.clone(), e)));
    }
    let mut best: Option<(StoreKey, StoreEntry)> = None;
    for k in cfg.store.keys()? {
        if !discovery::resource_covers(&k.resource, url) {
            continue;
        }
        let Some(e) = cfg.store.load(&k)? else {
            continue;
        };
        let Some(t) = &e.tokens else { continue };
        if best
            .as_ref()
            .and_then(|(_, b)| b.tokens.as_ref())
            .is_none_or(|b| t.obtained_at > b.obtained_at)
        {
            best = Some((k, e));
        }
    }
    Ok(best)
}

pub(super) async fn token_for(
    cfg: &OAuthConfig,
    http: &Http,
    st: &mut State,
    url: &str,
) -> Result<Option<String>, AuthError> {
    let Some((key, mut entry)) = find_key(cfg, st, url)? else {
        return Ok(None);
    };
    let Some(tokens) = entry.tokens.clone() else {
        return Ok(None);
    };
    if is_fresh(&tokens) {
        st.bindings.insert(url.to_owned(), key);
        return Ok(Some(tokens.access_token));
    }
    let (Some(_), Some(endpoint), Some(client)) =
        (&tokens.refresh_token, &entry.token_endpoint, &entry.client)
    else {
        return Ok(None);
    };
    tracing::debug!(issuer = %key.issuer, "access token expired; refreshing");
    match token::refresh(http, endpoint, client, &tokens, &key.resource).await {
        Ok(t) => {
            let access = t.access_token.clone();
            entry.tokens = Some(t);
            cfg.store.save(&key, &entry)?;
            st.bindings.insert(url.to_owned(), key);
            Ok(Some(access))
        }
        Err(e) => {
            tracing::debug!(error = %e, "refresh failed; dropping tokens");
            entry.tokens = None;
            cfg.store.save(&key, &entry)?;
            Ok(None)
        }
    }
}

/// Adds `more` to `into`, keeping order and dropping duplicates.
fn extend_unique(into: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for s in more {
        if !into.contains(&s) {
            into.push(s);
        }
    }
}

/// Scopes for the next authorization (MCP authorization § Scope Selection Strategy).
pub(crate) fn select_scopes(
    challenge: &BearerChallenge,
    prm: &ProtectedResourceMetadata,
    asm: &AuthorizationServerMetadata,
    granted: &[String],
    extra: &[String],
    offline: bool,
) -> Vec<String> {
    let asked = challenge.scopes();
    let base = if asked.is_empty() {
        prm.scopes_supported.clone().unwrap_or_default()
    } else {
        asked
    };
    let mut scopes = granted.to_vec();
    extend_unique(&mut scopes, base);
    extend_unique(&mut scopes, extra.iter().cloned());
    if offline
        && !scopes.is_empty()
        && asm.lists_scope("offline_access")
        && !scopes.iter().any(|s| s == "offline_access")
    {
        scopes.push("offline_access".into());
    }
    scopes
}

pub(super) async fn handle_challenge(
    cfg: &OAuthConfig,
    http: &Http,
    st: &mut State,
    url: &str,
    status: u16,
    www_authenticate: Option<&str>,
) -> Result<String, AuthError> {
    let challenge = BearerChallenge::from_header(www_authenticate);
    let step_up = match status {
        401 => false,
        403 if challenge.error.as_deref() == Some("insufficient_scope") => true,
        _ => return Err(AuthError::NotAChallenge { status }),
    };

    // Discovery runs on every challenge: the server may have moved to another AS.
    let prm = discovery::discover_prm(http, url, challenge.resource_metadata.as_deref()).await?;
    let issuer = prm
        .authorization_servers
        .first()
        .cloned()
        .ok_or(AuthError::NoAuthorizationServer)?;
    let key = StoreKey {
        issuer: issuer.clone(),
        resource: prm.resource.clone(),
    };
    if let Some(old) = st.bindings.get(url).filter(|old| **old != key).cloned() {
        tracing::info!(from = %old.issuer, to = %issuer, "authorization server changed; old tokens dropped");
        if let Some(mut e) = cfg.store.load(&old)? {
            e.tokens = None;
            cfg.store.save(&old, &e)?;
        }
        st.bindings.remove(url);
    }
    let asm = discovery::discover_as(http, &issuer).await?;
    let mut entry = cfg.store.load(&key)?.unwrap_or_default();

    // A plain 401 with a refresh token in hand: try a refresh first, once.
    if !step_up && !st.refreshed.contains(&key) {
        if let (Some(tokens), Some(client), Some(endpoint)) = (
            entry.tokens.clone(),
            entry.client.clone(),
            asm.token_endpoint.clone(),
        ) {
            if tokens.refresh_token.is_some() {
                match token::refresh(http, &endpoint, &client, &tokens, &key.resource).await {
                    Ok(t) => {
                        let access = t.access_token.clone();
                        entry.tokens = Some(t);
                        entry.token_endpoint = Some(endpoint);
                        cfg.store.save(&key, &entry)?;
                        st.refreshed.insert(key.clone());
                        st.bindings.insert(url.to_owned(), key);
                        return Ok(access);
                    }
                    Err(e) => tracing::debug!(error = %e, "refresh on 401 failed; re-authorizing"),
                }
            }
        }
    }

    let granted = entry
        .tokens
        .as_ref()
        .and_then(|t| t.scope.as_deref())
        .map(split_scopes)
        .unwrap_or_default();
    if step_up {
        let asked = challenge.scopes();
        let asked = if asked.is_empty() {
            prm.scopes_supported.clone().unwrap_or_default()
        } else {
            asked
        };
        if asked.iter().all(|s| granted.contains(s)) {
            // The token already carries every scope asked for: another round cannot help.
            return Err(AuthError::InsufficientScope {
                required: asked.join(" "),
            });
        }
    }
    // Refresh tokens only make sense for user grants.
    let offline = cfg.grant == GrantType::AuthorizationCode;
    let scopes = select_scopes(&challenge, &prm, &asm, &granted, &cfg.extra_scopes, offline);

    let attempts = st.attempts.entry(url.to_owned()).or_insert(0);
    if *attempts >= cfg.max_authorizations {
        return Err(AuthError::RetryLimit {
            resource: url.to_owned(),
            limit: cfg.max_authorizations,
        });
    }
    *attempts += 1;

    let result = match cfg.grant {
        GrantType::ClientCredentials | GrantType::JwtBearer => {
            client_credentials(cfg, http, &prm, &asm, &mut entry, &scopes).await
        }
        _ => authorize(cfg, http, &prm, &asm, &mut entry, &scopes).await,
    };
    let tokens = match result {
        Ok(t) => t,
        Err(e) => {
            // Keep a registration made on the way, so a retry doesn't register again.
            if entry.client.is_some() {
                cfg.store.save(&key, &entry)?;
            }
            return Err(e);
        }
    };
    let access = tokens.access_token.clone();
    entry.tokens = Some(tokens);
    cfg.store.save(&key, &entry)?;
    st.refreshed.remove(&key);
    st.bindings.insert(url.to_owned(), key);
    Ok(access)
}

/// The client credentials or JWT-bearer grant with the pre-registered client for this issuer.
async fn client_credentials(
    cfg: &OAuthConfig,
    http: &Http,
    prm: &ProtectedResourceMetadata,
    asm: &AuthorizationServerMetadata,
    entry: &mut StoreEntry,
    scopes: &[String],
) -> Result<TokenSet, AuthError> {
    let token_endpoint =
        asm.token_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::InvalidMetadata {
                what: "authorization server metadata",
                url: asm.issuer.clone(),
                reason: "no token_endpoint".into(),
            })?;
    http.checked_url("token endpoint", token_endpoint)?;
    let no_identity = || AuthError::NoRegistrationMethod {
        issuer: asm.issuer.clone(),
    };
    // Credentials bound to another AS are never sent to this one.
    let p = cfg
        .pre_registered
        .as_ref()
        .filter(|p| p.issuer.as_deref().is_none_or(|i| i == asm.issuer))
        .ok_or_else(no_identity)?;
    // A signing key wins when the AS takes private_key_jwt; otherwise the secret.
    let key = cfg
        .signing_key
        .as_ref()
        .filter(|_| asm.supports_auth_method("private_key_jwt"));
    let jwt_bearer = cfg.grant == GrantType::JwtBearer;
    let auth_method = match (key, &p.client_secret) {
        (Some(_), _) if !jwt_bearer => TokenEndpointAuth::PrivateKeyJwt,
        (_, Some(_)) => registration::secret_method(asm),
        // A JWT-bearer client may be public: the assertion authenticates the workload.
        _ if jwt_bearer => TokenEndpointAuth::None,
        _ => return Err(no_identity()),
    };
    let assertion = match auth_method {
        TokenEndpointAuth::PrivateKeyJwt => key
            .map(|k| k.client_assertion(&p.client_id, &asm.issuer))
            .transpose()?,
        _ => None,
    };
    let client = ClientRegistration {
        client_id: p.client_id.clone(),
        client_secret: p.client_secret.clone(),
        auth_method,
        redirect_uri: cfg.redirect_uri.clone(),
        kind: ClientKind::PreRegistered,
    };
    entry.client = Some(client.clone());
    entry.token_endpoint = Some(token_endpoint.to_owned());
    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    tracing::debug!(issuer = %asm.issuer, client_id = %client.client_id, scope = ?scope, "client credentials grant");
    if jwt_bearer {
        let source = cfg
            .assertion
            .as_ref()
            .ok_or_else(|| AuthError::Config("no assertion for the JWT-bearer grant".into()))?;
        let grant = source
            .assertion(http, &asm.issuer, &prm.resource, scope.as_deref())
            .await?;
        return token::jwt_bearer(
            http,
            token_endpoint,
            &client,
            &grant,
            &prm.resource,
            scope.as_deref(),
        )
        .await;
    }
    token::client_credentials(
        http,
        token_endpoint,
        &client,
        &prm.resource,
        scope.as_deref(),
        assertion.as_deref(),
    )
    .await
}

/// Identity, PKCE authorization request, callback checks and code exchange. Updates
/// `entry.client` and `entry.token_endpoint`; returns the new tokens.
async fn authorize(
    cfg: &OAuthConfig,
    http: &Http,
    prm: &ProtectedResourceMetadata,
    asm: &AuthorizationServerMetadata,
    entry: &mut StoreEntry,
    scopes: &[String],
) -> Result<TokenSet, AuthError> {
    let missing = |field: &str| AuthError::InvalidMetadata {
        what: "authorization server metadata",
        url: asm.issuer.clone(),
        reason: format!("no {field}"),
    };
    let az_endpoint = asm
        .authorization_endpoint
        .as_deref()
        .ok_or_else(|| missing("authorization_endpoint"))?;
    let token_endpoint = asm
        .token_endpoint
        .as_deref()
        .ok_or_else(|| missing("token_endpoint"))?;
    let az_url = http.checked_url("authorization endpoint", az_endpoint)?;
    http.checked_url("token endpoint", token_endpoint)?;
    if !asm
        .code_challenge_methods_supported
        .as_ref()
        .is_some_and(|m| m.iter().any(|x| x == pkce::METHOD_S256))
    {
        // Checked before registering: no point creating a client we cannot use.
        return Err(AuthError::PkceUnsupported {
            issuer: asm.issuer.clone(),
        });
    }

    let existing = entry
        .client
        .as_ref()
        .filter(|c| c.kind == ClientKind::Dynamic);
    // The authorizer fixes the redirect URI first (a loopback listener picks its port), so
    // the registration names the URI the AS will actually see.
    let redirect_uri = cfg.authorizer.prepare(&cfg.redirect_uri).await?;
    let client = registration::client_identity(http, cfg, asm, existing, &redirect_uri).await?;
    entry.client = Some(client.clone());
    entry.token_endpoint = Some(token_endpoint.to_owned());

    let scope = (!scopes.is_empty()).then(|| scopes.join(" "));
    let pending = PendingAuthorization::new(
        asm,
        az_url,
        AuthorizationParams {
            client_id: &client.client_id,
            redirect_uri: &redirect_uri,
            resource: &prm.resource,
            scope: scope.as_deref(),
        },
    )?;
    tracing::debug!(issuer = %asm.issuer, client_id = %client.client_id, scope = ?scope, "authorizing");
    let cb = cfg
        .authorizer
        .authorize(pending.url(), pending.redirect_uri())
        .await?;
    let code = pending.accept(&cb)?;
    token::exchange_code(
        http,
        token_endpoint,
        &client,
        code,
        &prm.resource,
        scope.as_deref(),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn asm(json: &str) -> AuthorizationServerMetadata {
        serde_json::from_str(json).unwrap()
    }

    fn prm(json: &str) -> ProtectedResourceMetadata {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn freshness_allows_for_skew_and_short_lifetimes() {
        let now = token::now();
        let t = |obtained_at: u64, expires_at: Option<u64>| TokenSet {
            access_token: "a".into(),
            refresh_token: None,
            expires_at,
            scope: None,
            obtained_at,
        };
        assert!(is_fresh(&t(now, None)));
        assert!(is_fresh(&t(now, Some(now + 3600))));
        // Within a minute of expiry: treated as expired.
        assert!(!is_fresh(&t(now - 3600, Some(now + 30))));
        // A 60-second token is usable for its first half.
        assert!(is_fresh(&t(now, Some(now + 60))));
        assert!(!is_fresh(&t(now - 40, Some(now + 20))));
        assert!(!is_fresh(&t(now, Some(now))));
    }

    #[test]
    fn scope_selection_order_union_and_offline_access() {
        let ch = BearerChallenge::from_header(Some(r#"Bearer scope="mcp:write""#));
        let none = BearerChallenge::default();
        let p = prm(r#"{"resource":"r","scopes_supported":["mcp:basic","mcp:read"]}"#);
        let p_empty = prm(r#"{"resource":"r"}"#);
        let plain = asm(r#"{"issuer":"http://localhost:9"}"#);
        let offline = asm(r#"{"issuer":"x","scopes_supported":["mcp:basic","offline_access"]}"#);
        // Challenge scope wins over scopes_supported.
        assert_eq!(
            select_scopes(&ch, &p, &plain, &[], &[], true),
            vec!["mcp:write"]
        );
        // Else scopes_supported.
        assert_eq!(
            select_scopes(&none, &p, &plain, &[], &[], true),
            vec!["mcp:basic", "mcp:read"]
        );
        // Else nothing.
        assert!(select_scopes(&none, &p_empty, &offline, &[], &[], true).is_empty());
        // Union with what was granted, without duplicates.
        assert_eq!(
            select_scopes(
                &ch,
                &p,
                &plain,
                &["mcp:basic".into(), "mcp:write".into()],
                &[],
                true
            ),
            vec!["mcp:basic", "mcp:write"]
        );
        // offline_access only when the AS lists it.
        assert_eq!(
            select_scopes(&none, &p, &offline, &[], &[], true),
            vec!["mcp:basic", "mcp:read", "offline_access"]
        );
        assert!(!select_scopes(&none, &p, &plain, &[], &[], true)
            .contains(&"offline_access".to_string()));
        // Never for grants without refresh tokens.
        assert_eq!(
            select_scopes(&none, &p, &offline, &[], &[], false),
            vec!["mcp:basic", "mcp:read"]
        );
    }
}
