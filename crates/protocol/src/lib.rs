//! The Model Context Protocol wire model: JSON-RPC 2.0 framing, every MCP message of protocol
//! versions 2025-11-25 and 2026-07-28 (and what older versions need for negotiation), error codes,
//! and version selection. Pure data and pure functions: this crate does no I/O and needs no runtime.
//!
//! ```
//! use switchyard_protocol::jsonrpc::{Message, parse_message};
//!
//! let msg = parse_message(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#).unwrap();
//! match msg {
//!     Message::Request(req) => assert_eq!(req.method, "tools/list"),
//!     _ => unreachable!(),
//! }
//! ```
//!
//! Payloads that only pass through (tool arguments, results relayed by a gateway) are kept as
//! [`serde_json::value::RawValue`] so they are never re-serialised. Entity types keep fields they
//! do not know in an `extra` map, so a message survives a round trip unchanged.
#![forbid(unsafe_code)]

pub mod error;
pub mod jsonrpc;
pub mod limits;
pub mod meta;
pub mod types;
pub mod version;

pub use error::{ErrorCode, ProtocolError};
pub use version::ProtocolVersion;
