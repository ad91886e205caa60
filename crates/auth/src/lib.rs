//! OAuth 2.1 for MCP: the client, the authorization server and the resource-server layer.
//!
//! The [`resource`] module protects an MCP endpoint: a tower layer that admits only bearer
//! tokens issued for it (JWTs against the issuer's cached JWKS, or introspection; `iss`, `aud`,
//! `exp`/`nbf`, per-method and per-tool scopes) and answers `401`/`403` with RFC 6750
//! challenges that point at its RFC 9728 metadata; plus the `/.well-known/mcp` manifest and the
//! server card.
//!
//! The [`client`] module turns an MCP server's `401`/`403` challenge into an access token:
//! protected-resource metadata (RFC 9728) → authorization-server metadata (RFC 8414 / OIDC) →
//! client identity (pre-registered, Client ID Metadata Document, or dynamic registration) →
//! authorization code with PKCE (S256) and `resource` indicators (RFC 8707) → token, with the
//! RFC 9207 `iss` check, issuer-bound credentials and an SSRF guard on every fetch.
//!
//! ```no_run
//! use std::sync::Arc;
//! use switchyard_auth::client::{
//!     HeadlessAuthorizer, MemoryTokenStore, OAuthClient, OAuthConfig, SsrfPolicy,
//! };
//!
//! # async fn run() -> Result<(), switchyard_auth::client::AuthError> {
//! let cfg = OAuthConfig::new(
//!     "my-mcp-client",
//!     "http://127.0.0.1:8976/callback",
//!     Arc::new(MemoryTokenStore::new()),
//!     Arc::new(HeadlessAuthorizer),
//! )
//! .with_ssrf(SsrfPolicy::strict());
//! let oauth = OAuthClient::new(cfg)?;
//! let mcp = "https://mcp.example.com/mcp";
//! let token = match oauth.token_for(mcp).await {
//!     Some(t) => t,
//!     // ... POST to the server; on a 401 pass its WWW-Authenticate header:
//!     None => oauth.handle_challenge(mcp, 401, Some(r#"Bearer scope="mcp:read""#)).await?,
//! };
//! # let _ = token; Ok(()) }
//! ```
//!
//! `examples/oauth_probe.rs`
//! is a small MCP client built on this API; it passes the conformance suite's `auth/*` client
//! scenarios (`cargo build -p switchyard-auth --example oauth_probe`).
//!
//! The [`server`] module is an OAuth 2.1 authorization server for MCP: RFC 8414/OIDC metadata,
//! `/authorize` with PKCE S256 and server-rendered login and consent pages, `/token`
//! (authorization code, refresh rotation with reuse detection, client credentials), RFC 7591
//! registration, Client ID Metadata Documents, revocation, introspection and RFC 9068 JWT access
//! tokens bound to the RFC 8707 resource, persisted through `switchyard-store`
//! (`examples/auth_server.rs` runs one).
//!
//! The crate has no cargo features.
#![forbid(unsafe_code)]

pub mod client;
pub mod resource;
pub mod server;
