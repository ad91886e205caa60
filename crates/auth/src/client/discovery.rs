//! Protected-resource metadata (RFC 9728) and authorization-server metadata (RFC 8414 and
//! OpenID Connect Discovery) lookup.
//!
//! The PRM `resource` and the AS `issuer` are kept as the exact strings the peers sent: they
//! are compared byte for byte and sent back verbatim, so they are never round-tripped through
//! a URL parser (which would, for one, add a trailing `/` to `http://host:port`).

use serde::Deserialize;
use url::Url;

use super::error::AuthError;
use super::http::{Http, METADATA_LIMIT};

const PRM: &str = "protected resource metadata";
const ASM: &str = "authorization server metadata";

/// An RFC 9728 protected-resource metadata document (the fields the client uses).
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource identifier, verbatim.
    pub resource: String,
    /// Issuer identifiers of the authorization servers, verbatim.
    #[serde(default)]
    pub authorization_servers: Vec<String>,
    /// Scopes the resource understands.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
}

/// An RFC 8414 / OIDC authorization-server metadata document (the fields the client uses).
#[derive(Clone, Debug, Deserialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier, verbatim.
    pub issuer: String,
    /// Where the user agent is sent.
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Where codes are exchanged for tokens.
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// Dynamic client registration (RFC 7591).
    #[serde(default)]
    pub registration_endpoint: Option<String>,
    /// Scopes the AS knows; `offline_access` here allows asking for refresh tokens.
    #[serde(default)]
    pub scopes_supported: Option<Vec<String>>,
    /// PKCE methods; must contain `S256`.
    #[serde(default)]
    pub code_challenge_methods_supported: Option<Vec<String>>,
    /// Client authentication methods at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Option<Vec<String>>,
    /// Grant types the AS supports.
    #[serde(default)]
    pub grant_types_supported: Option<Vec<String>>,
    /// RFC 9207: the AS always sends `iss` on the authorization response.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    /// The AS accepts Client ID Metadata Document URLs as `client_id`.
    #[serde(default)]
    pub client_id_metadata_document_supported: Option<bool>,
}

impl AuthorizationServerMetadata {
    /// Whether the AS lists `method` in `token_endpoint_auth_methods_supported`. An absent
    /// list means the RFC 8414 default, `client_secret_basic`.
    pub fn supports_auth_method(&self, method: &str) -> bool {
        match &self.token_endpoint_auth_methods_supported {
            Some(list) => list.iter().any(|m| m == method),
            None => method == "client_secret_basic",
        }
    }

    /// Whether `scopes_supported` lists `scope`.
    pub fn lists_scope(&self, scope: &str) -> bool {
        self.scopes_supported
            .as_ref()
            .is_some_and(|l| l.iter().any(|s| s == scope))
    }
}

fn parse_url(what: &'static str, raw: &str) -> Result<Url, AuthError> {
    Url::parse(raw).map_err(|e| AuthError::InvalidUrl {
        what,
        url: raw.to_owned(),
        reason: e.to_string(),
    })
}

/// The path of `url` without a trailing `/` (`""` for the root).
fn trimmed_path(url: &Url) -> &str {
    url.path().trim_end_matches('/')
}

/// Where to look for the PRM of `mcp_url`, in order: the challenge's `resource_metadata`, the
/// path-inserted well-known URI, then the root well-known URI (RFC 9728 §3.1).
pub fn prm_candidates(mcp_url: &str, header_url: Option<&str>) -> Result<Vec<String>, AuthError> {
    let u = parse_url("MCP server", mcp_url)?;
    let origin = u.origin().ascii_serialization();
    let mut out = Vec::new();
    if let Some(h) = header_url {
        out.push(h.to_owned());
    }
    let path = trimmed_path(&u);
    if !path.is_empty() {
        out.push(format!(
            "{origin}/.well-known/oauth-protected-resource{path}"
        ));
    }
    out.push(format!("{origin}/.well-known/oauth-protected-resource"));
    Ok(out)
}

/// Whether the PRM `resource` identifies the MCP server at `mcp_url`: same origin, and its path
/// is a whole-segment prefix of the server's path (`/mcp` covers `/mcp` and `/mcp/x`, not
/// `/mcpx`; an empty path covers everything on the origin).
pub fn resource_covers(resource: &str, mcp_url: &str) -> bool {
    let (Ok(r), Ok(m)) = (Url::parse(resource), Url::parse(mcp_url)) else {
        return false;
    };
    if r.fragment().is_some() || r.origin() != m.origin() || !r.origin().is_tuple() {
        return false;
    }
    let (rp, mp) = (trimmed_path(&r), trimmed_path(&m));
    rp.is_empty()
        || mp == rp
        || mp
            .strip_prefix(rp)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Fetches the PRM for `mcp_url` (candidates from [`prm_candidates`]; a candidate answering
/// with a non-2xx status is skipped) and checks that its `resource` covers `mcp_url`.
pub(crate) async fn discover_prm(
    http: &Http,
    mcp_url: &str,
    header_url: Option<&str>,
) -> Result<ProtectedResourceMetadata, AuthError> {
    let candidates = prm_candidates(mcp_url, header_url)?;
    let mut tried = Vec::new();
    for c in candidates {
        tried.push(c.clone());
        let f = http.get_json(PRM, &c, METADATA_LIMIT).await?;
        if !f.is_success() {
            tracing::debug!(url = %c, status = f.status, "no protected resource metadata here");
            continue;
        }
        let prm: ProtectedResourceMetadata =
            serde_json::from_slice(&f.body).map_err(|e| AuthError::InvalidMetadata {
                what: PRM,
                url: f.url.clone(),
                reason: e.to_string(),
            })?;
        if !resource_covers(&prm.resource, mcp_url) {
            return Err(AuthError::ResourceMismatch {
                resource: prm.resource,
                server: mcp_url.to_owned(),
            });
        }
        if prm.authorization_servers.is_empty() {
            return Err(AuthError::NoAuthorizationServer);
        }
        return Ok(prm);
    }
    Err(AuthError::MetadataNotFound { what: PRM, tried })
}

/// Where to look for the metadata of `issuer`, in order (RFC 8414 §3.1 and OIDC Discovery,
/// as the MCP spec orders them). An issuer with a path never probes the root documents.
pub fn as_candidates(issuer: &str) -> Result<Vec<String>, AuthError> {
    let u = parse_url("issuer", issuer)?;
    if u.query().is_some() || u.fragment().is_some() {
        return Err(AuthError::InvalidUrl {
            what: "issuer",
            url: issuer.to_owned(),
            reason: "an issuer has no query or fragment".into(),
        });
    }
    let origin = u.origin().ascii_serialization();
    let path = trimmed_path(&u);
    Ok(if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    })
}

/// Fetches the metadata of `issuer`. The first candidate with a 2xx answer is used, and only if
/// its `issuer` equals `issuer` exactly; otherwise discovery stops with
/// [`AuthError::IssuerMismatch`] and nothing in the document is used.
pub(crate) async fn discover_as(
    http: &Http,
    issuer: &str,
) -> Result<AuthorizationServerMetadata, AuthError> {
    let mut tried = Vec::new();
    for c in as_candidates(issuer)? {
        tried.push(c.clone());
        let f = http.get_json(ASM, &c, METADATA_LIMIT).await?;
        if !f.is_success() {
            tracing::debug!(url = %c, status = f.status, "no authorization server metadata here");
            continue;
        }
        let m: AuthorizationServerMetadata =
            serde_json::from_slice(&f.body).map_err(|e| AuthError::InvalidMetadata {
                what: ASM,
                url: f.url.clone(),
                reason: e.to_string(),
            })?;
        if m.issuer != issuer {
            return Err(AuthError::IssuerMismatch {
                expected: issuer.to_owned(),
                found: m.issuer,
                url: f.url,
            });
        }
        return Ok(m);
    }
    Err(AuthError::MetadataNotFound { what: ASM, tried })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prm_candidates_follow_header_then_path_then_root() {
        assert_eq!(
            prm_candidates(
                "http://localhost:3000/mcp",
                Some("http://localhost:3000/custom/x.json")
            )
            .unwrap(),
            vec![
                "http://localhost:3000/custom/x.json",
                "http://localhost:3000/.well-known/oauth-protected-resource/mcp",
                "http://localhost:3000/.well-known/oauth-protected-resource",
            ]
        );
        assert_eq!(
            prm_candidates("https://a.example/", None).unwrap(),
            vec!["https://a.example/.well-known/oauth-protected-resource"]
        );
        assert_eq!(
            prm_candidates("https://a.example/v1/mcp/", None).unwrap(),
            vec![
                "https://a.example/.well-known/oauth-protected-resource/v1/mcp",
                "https://a.example/.well-known/oauth-protected-resource",
            ]
        );
    }

    #[test]
    fn as_candidates_for_issuer_without_path() {
        assert_eq!(
            as_candidates("http://localhost:4000").unwrap(),
            vec![
                "http://localhost:4000/.well-known/oauth-authorization-server",
                "http://localhost:4000/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            as_candidates("https://as.example/").unwrap(),
            as_candidates("https://as.example").unwrap()
        );
    }

    #[test]
    fn as_candidates_for_issuer_with_path_insert_the_path_and_skip_the_root() {
        let c = as_candidates("http://localhost:4000/tenant1").unwrap();
        assert_eq!(
            c,
            vec![
                "http://localhost:4000/.well-known/oauth-authorization-server/tenant1",
                "http://localhost:4000/.well-known/openid-configuration/tenant1",
                "http://localhost:4000/tenant1/.well-known/openid-configuration",
            ]
        );
        assert!(!c
            .contains(&"http://localhost:4000/.well-known/oauth-authorization-server".to_string()));
        assert!(as_candidates("https://as.example/t?x=1").is_err());
        assert!(as_candidates("not a url").is_err());
    }

    #[test]
    fn resource_must_share_origin_and_be_a_segment_prefix() {
        let mcp = "http://localhost:3000/mcp";
        assert!(resource_covers("http://localhost:3000/mcp", mcp));
        assert!(resource_covers("http://localhost:3000", mcp));
        assert!(resource_covers("http://localhost:3000/", mcp));
        assert!(resource_covers("http://localhost:3000/mcp/", mcp));
        assert!(resource_covers(
            "http://localhost:3000/mcp",
            "http://localhost:3000/mcp/sub"
        ));
        assert!(!resource_covers("https://evil.example.com/mcp", mcp));
        assert!(!resource_covers("http://localhost:3001/mcp", mcp));
        assert!(!resource_covers("https://localhost:3000/mcp", mcp));
        assert!(!resource_covers("http://localhost:3000/other", mcp));
        assert!(!resource_covers("http://localhost:3000/mc", mcp));
        assert!(!resource_covers("http://localhost:3000/mcp#frag", mcp));
        assert!(!resource_covers("garbage", mcp));
    }

    #[test]
    fn auth_method_default_is_client_secret_basic() {
        let m: AuthorizationServerMetadata =
            serde_json::from_str(r#"{"issuer":"https://as"}"#).unwrap();
        assert!(m.supports_auth_method("client_secret_basic"));
        assert!(!m.supports_auth_method("none"));
        let m: AuthorizationServerMetadata = serde_json::from_str(
            r#"{"issuer":"https://as","token_endpoint_auth_methods_supported":["none"],"scopes_supported":["offline_access"]}"#,
        )
        .unwrap();
        assert!(m.supports_auth_method("none"));
        assert!(!m.supports_auth_method("client_secret_basic"));
        assert!(m.lists_scope("offline_access"));
    }
}
