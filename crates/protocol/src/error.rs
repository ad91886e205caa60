//! Error codes (the one place JSON-RPC codes are defined) and the crate's typed error.

use serde::{Deserialize, Serialize};

/// A JSON-RPC / MCP error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// Invalid method parameters (also: unknown tool, bad cursor, missing `_meta`, and in
    /// 2026-07-28 a resource that was not found).
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// Internal JSON-RPC error.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// Resource not found (2025-11-25 and earlier; reserved from 2026-07-28 on).
    pub const RESOURCE_NOT_FOUND: Self = Self(-32002);
    /// A header disagrees with the body, or a required header is missing or invalid (2026-07-28).
    pub const HEADER_MISMATCH: Self = Self(-32020);
    /// The request needs a client capability that the client did not declare (2026-07-28).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: Self = Self(-32021);
    /// The requested protocol version is not supported (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: Self = Self(-32022);
    /// URL-mode elicitation is required before the request can proceed (2025-11-25).
    pub const URL_ELICITATION_REQUIRED: Self = Self(-32042);
}

/// What can go wrong while reading or checking a protocol message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The bytes are not JSON (or not UTF-8).
    #[error("parse error: {0}")]
    Parse(String),
    /// The JSON is not a JSON-RPC 2.0 message of a known shape.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The JSON nests deeper than the configured limit.
    #[error("JSON nesting deeper than {limit} levels")]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// Parameters do not match the method's schema.
    #[error("invalid params: {0}")]
    InvalidParams(String),
}

impl ProtocolError {
    /// The JSON-RPC error code this error maps to.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Parse(_) | Self::TooDeep { .. } => ErrorCode::PARSE_ERROR,
            Self::InvalidRequest(_) => ErrorCode::INVALID_REQUEST,
            Self::InvalidParams(_) => ErrorCode::INVALID_PARAMS,
        }
    }
}
