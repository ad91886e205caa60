//! Discovery documents: the `/.well-known/mcp` manifest and the draft server card (SEP-2127) at
//! `<endpoint>/server-card`.
//!
//! Both are public and cacheable: served with `Access-Control-Allow-Origin: *`,
//! `Cache-Control: public, max-age=3600` and a strong `ETag` (a matching `If-None-Match` gets
//! `304`). Neither carries secrets, and clients must not base security decisions on them.

use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use http::header::{
    HeaderMap, HeaderValue, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH,
};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{split_origin, ResourceConfig};

/// Media type of a server card (SEP-2127 draft).
pub const SERVER_CARD_MEDIA_TYPE: &str = "application/mcp-server-card+json";

/// JSON schema URL a server card declares in `$schema`.
pub const SERVER_CARD_SCHEMA: &str =
    "https://static.modelcontextprotocol.io/schemas/v1/server-card.schema.json";

/// The remote MCP server manifest served at `/.well-known/mcp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct McpManifest {
    /// Server name, e.g. `acme-crm`.
    pub name: String,
    /// Server version.
    pub version: String,
    /// The MCP endpoint URL.
    pub endpoint: String,
    /// How to obtain a token; absent for servers without authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<ManifestAuth>,
    /// Protocol versions the endpoint speaks, newest first.
    pub protocol_versions: Vec<String>,
    /// The transport of `endpoint` (`streamable-http`).
    pub transport: String,
    /// The RFC 9728 protected-resource metadata URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_metadata: Option<String>,
}

/// The `auth` object of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestAuth {
    /// Always `oauth2` for now.
    #[serde(rename = "type")]
    pub kind: String,
    /// The authorization endpoint.
    pub authorization_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// Scopes a client may request.
    pub scopes: Vec<String>,
}

impl McpManifest {
    /// A manifest for a Streamable HTTP endpoint without authorization.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        endpoint: impl Into<String>,
        protocol_versions: Vec<String>,
    ) -> Self {
        Self {
            name: name.into(),
            version: version.into(),
            endpoint: endpoint.into(),
            auth: None,
            protocol_versions,
            transport: "streamable-http".into(),
            resource_metadata: None,
        }
    }

    /// Adds OAuth 2 details: the authorization server's endpoints, the resource's
    /// `scopes_supported` and its protected-resource metadata URL.
    pub fn with_oauth(
        mut self,
        cfg: &ResourceConfig,
        authorization_url: impl Into<String>,
        token_url: impl Into<String>,
    ) -> Self {
        self.auth = Some(ManifestAuth {
            kind: "oauth2".into(),
            authorization_url: authorization_url.into(),
            token_url: token_url.into(),
            scopes: cfg.scopes_supported.clone(),
        });
        self.resource_metadata = Some(cfg.resource_metadata_url());
        self
    }
}

/// A server card (SEP-2127 draft): what a client needs to connect, without tool listings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerCard {
    /// The card's JSON schema ([`SERVER_CARD_SCHEMA`]).
    #[serde(rename = "$schema")]
    pub schema: String,
    /// Reverse-DNS name, `namespace/name`.
    pub name: String,
    /// Server version.
    pub version: String,
    /// What the server does.
    pub description: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Home page.
    #[serde(
        rename = "websiteUrl",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub website_url: Option<String>,
    /// Source repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    /// Where the server can be reached.
    pub remotes: Vec<Remote>,
    /// Extension metadata.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The `repository` of a server card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    /// Repository URL.
    pub url: String,
    /// Hosting service, e.g. `github`.
    pub source: String,
}

/// One entry of `remotes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    /// `streamable-http` or `sse`.
    #[serde(rename = "type")]
    pub transport: String,
    /// Endpoint URL (may be templated).
    pub url: String,
    /// Headers a client must or may send.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<RemoteHeader>,
    /// Protocol versions this remote speaks.
    #[serde(rename = "supportedProtocolVersions")]
    pub supported_protocol_versions: Vec<String>,
}

/// A header of a remote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteHeader {
    /// Header name.
    pub name: String,
    /// What it carries.
    pub description: String,
    /// Whether the client must send it.
    #[serde(rename = "isRequired", default)]
    pub is_required: bool,
    /// Whether its value is a secret.
    #[serde(rename = "isSecret", default)]
    pub is_secret: bool,
}

impl ServerCard {
    /// A card with one Streamable HTTP remote.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
        endpoint: impl Into<String>,
        protocol_versions: Vec<String>,
    ) -> Self {
        Self {
            schema: SERVER_CARD_SCHEMA.into(),
            name: name.into(),
            version: version.into(),
            description: description.into(),
            title: None,
            website_url: None,
            repository: None,
            remotes: vec![Remote {
                transport: "streamable-http".into(),
                url: endpoint.into(),
                headers: Vec::new(),
                supported_protocol_versions: protocol_versions,
            }],
            meta: None,
        }
    }
}

/// A serialized document with its ETag.
#[derive(Clone)]
struct Doc {
    body: bytes::Bytes,
    etag: HeaderValue,
    media_type: &'static str,
}

impl Doc {
    fn new<T: Serialize>(value: &T, media_type: &'static str) -> Self {
        // Serializing plain structs of strings cannot fail; an empty object is the fallback.
        let body = serde_json::to_vec_pretty(value).unwrap_or_else(|_| b"{}".to_vec());
        let digest = Sha256::digest(&body);
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"0\""));
        Self {
            body: body.into(),
            etag,
            media_type,
        }
    }

    fn respond(&self, headers: &HeaderMap) -> Response {
        let not_modified = headers
            .get_all(IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t.as_bytes() == self.etag.as_bytes());
        let common = [
            (ETAG, self.etag.clone()),
            (ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ];
        if not_modified {
            return (StatusCode::NOT_MODIFIED, common).into_response();
        }
        (
            common,
            [(CONTENT_TYPE, HeaderValue::from_static(self.media_type))],
            self.body.clone(),
        )
            .into_response()
    }
}

/// Serves `manifest` at `/.well-known/mcp` and `card` at `<endpoint path>/server-card`, where
/// the endpoint is the manifest's. Merge it outside any bearer layer: both are public.
pub fn discovery_router(manifest: McpManifest, card: ServerCard) -> Router {
    let (_, path) = split_origin(&manifest.endpoint);
    let card_path = format!("{path}/server-card");
    let manifest = Doc::new(&manifest, "application/json");
    let card = Doc::new(&card, SERVER_CARD_MEDIA_TYPE);
    Router::new()
        .route(
            "/.well-known/mcp",
            get(move |h: HeaderMap| async move { manifest.respond(&h) }),
        )
        .route(
            &card_path,
            get(move |h: HeaderMap| async move { card.respond(&h) }),
        )
}
