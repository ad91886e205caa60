//! The MCP server runtime: a handler API in which a tool is a typed Rust function, and the
//! transports that serve it — Streamable HTTP for both protocol eras on one endpoint
//! (2025-11-25 sessions with resumable SSE; 2026-07-28 stateless requests with input-required
//! results), stdio, and the 2024-11-05 HTTP+SSE transport for old clients.
//!
//! ```no_run
//! use schemars::JsonSchema;
//! use serde::Deserialize;
//! use switchyard_server::{HttpConfig, McpService, Server, ToolDef};
//!
//! #[derive(Deserialize, JsonSchema)]
//! struct Add { a: i64, b: i64 }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = Server::builder("calc", "1.0.0")
//!     .tool(ToolDef::new("add", "Adds two integers", |args: Add, _ctx| async move {
//!         (args.a + args.b).to_string()
//!     }))
//!     .build();
//! let svc = McpService::new(server, HttpConfig::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8787").await?;
//! switchyard_server::serve(listener, svc, std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`handler`] | tools, resources, templates, prompts |
//! | [`http`] | the Streamable HTTP endpoint as a tower `Service` |
//! | [`stdio`] | newline-delimited JSON-RPC over stdin/stdout |
//! | [`legacy_sse`] | the 2024-11-05 HTTP+SSE transport |
#![forbid(unsafe_code)]

mod conn;
mod context;
mod error;
pub mod handler;
pub mod http;
pub mod legacy_sse;
pub mod metrics;
pub mod mrtr;
mod registry;
mod serve;
mod server;
pub mod stdio;
mod subscriptions;

pub use context::{CancelToken, RequestContext};
pub use error::{HandlerError, ServeError};
pub use handler::prompt::PromptDef;
pub use handler::resource::{ResourceDef, TemplateDef};
pub use handler::tool::{IntoToolResult, Json, NoArgs, ToolDef};
pub use http::{HttpConfig, McpService};
pub use serve::serve;
pub use server::{
    method_not_found, Audience, RequestHandler, Server, ServerBuilder, ServerEvent,
    DEFAULT_PAGE_SIZE,
};
pub use switchyard_protocol as protocol;
