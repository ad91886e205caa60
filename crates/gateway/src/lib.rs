//! The gateway: many MCP servers — remote (Streamable HTTP, HTTP+SSE) or local (stdio) —
//! federated behind one MCP endpoint. Tools and prompts are namespaced (`<server>__<name>` by
//! default), listings merged and paginated, calls routed; arguments and results cross as raw
//! JSON; progress, logs and input requests are relayed in both protocol eras; a failing
//! upstream degrades only its own tools.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use switchyard_gateway::{Gateway, UpstreamConfig};
//! let (gateway, server) = Gateway::build(
//!     vec![UpstreamConfig::url("docs", "https://docs.example.com/mcp")],
//!     "switchyard-gateway",
//!     "0.1.0",
//! );
//! gateway.refresh_all().await;
//! let svc = switchyard_server::McpService::new(server, Default::default());
//! # let _ = svc; Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod access;
mod config;
mod connect;
mod credentials;
mod gateway;
mod park;
pub mod per_user;
pub mod tool_search;
mod upstream;

pub use access::Caller;
pub use config::{ConfigError, OAuthCredentials, OAuthPerUser, UpstreamConfig, UpstreamTarget};
pub use gateway::{Gateway, ReloadReport, PAGE_SIZE};
pub use per_user::{
    BrowserIdentity, MemorySealedStore, PerUserError, PerUserOptions, SealedTokenStore,
};
pub use tool_search::{ToolSearchConfig, ToolSearchError, ToolSearchMode};
pub use upstream::{BREAKER_COOLDOWN, BREAKER_THRESHOLD, LIST_ATTEMPTS};
