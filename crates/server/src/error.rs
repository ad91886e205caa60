//! Errors a handler returns, and how they reach the wire.

use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::ErrorCode;

/// What a tool, prompt or resource handler can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerError {
    /// The operation failed; for tools this becomes a result with `isError: true` so the model
    /// can see and correct it.
    #[error("{0}")]
    Failed(String),
    /// A JSON-RPC error to return as-is.
    #[error("{}", .0.message)]
    Protocol(ErrorObject),
    /// The handler needs input from the client (elicitation, sampling, roots). In the 2026-07-28
    /// era the runtime turns this into an `input_required` result; handlers just use `?`.
    #[error("input required from the client")]
    InputRequired,
    /// The request was cancelled.
    #[error("cancelled")]
    Cancelled,
}

impl HandlerError {
    /// A failure with a message.
    pub fn failed(msg: impl Into<String>) -> Self {
        Self::Failed(msg.into())
    }

    /// An invalid-params protocol error.
    pub fn invalid_params(msg: impl Into<String>) -> Self {
        Self::Protocol(ErrorObject::new(ErrorCode::INVALID_PARAMS, msg))
    }

    /// An internal protocol error.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::Protocol(ErrorObject::new(ErrorCode::INTERNAL_ERROR, msg))
    }
}

impl From<ErrorObject> for HandlerError {
    fn from(e: ErrorObject) -> Self {
        Self::Protocol(e)
    }
}

/// Errors from running a server (binding, serving).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// I/O while binding or accepting.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
