//! What can go wrong talking to an MCP server.

use switchyard_protocol::jsonrpc::ErrorObject;

/// A client-side failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with a JSON-RPC error.
    #[error("server error {}: {}", .0.code.0, .0.message)]
    Rpc(ErrorObject),
    /// The HTTP exchange failed (connect, TLS, reset).
    #[error("transport: {0}")]
    Transport(String),
    /// An HTTP status the protocol does not allow here.
    #[error("unexpected HTTP status {status}: {body}")]
    Http {
        /// Status code.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// The server sent something that is not valid MCP.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// The request took longer than its timeout.
    #[error("timed out after {0:?}")]
    Timeout(std::time::Duration),
    /// The caller cancelled the request.
    #[error("cancelled")]
    Cancelled,
    /// Authorization failed or was refused.
    #[error("authorization: {0}")]
    Auth(String),
    /// The server needs authorization and no provider is configured.
    #[error("the server requires authorization (HTTP {status}); log in first")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// The `WWW-Authenticate` header.
        www_authenticate: Option<String>,
    },
    /// The connection is closed (child exited, stream ended).
    #[error("connection closed: {0}")]
    Closed(String),
    /// No protocol era worked against this URL.
    #[error("could not connect: {0}")]
    Connect(String),
    /// A caller-side mistake (unknown tool, bad arguments).
    #[error("{0}")]
    Usage(String),
}

impl From<reqwest::Error> for ClientError {
    fn from(e: reqwest::Error) -> Self {
        Self::Transport(e.to_string())
    }
}
