//! Reserved `_meta` keys and HTTP header names.

/// `_meta` key: the protocol version of a 2026-07-28 request.
pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key: the client's capabilities on a 2026-07-28 request.
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key: the client's implementation info on a 2026-07-28 request.
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key: the log level a 2026-07-28 request asks for.
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key: the server's implementation info on a 2026-07-28 result.
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key: the subscription a notification belongs to (2026-07-28).
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key: the task a message relates to (tasks).
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";
/// `_meta` key: the progress token of a request.
pub const PROGRESS_TOKEN: &str = "progressToken";

/// HTTP header carrying the protocol version.
pub const HEADER_PROTOCOL_VERSION: &str = "mcp-protocol-version";
/// HTTP header carrying the legacy session id.
pub const HEADER_SESSION_ID: &str = "mcp-session-id";
/// HTTP header carrying the JSON-RPC method (2026-07-28).
pub const HEADER_METHOD: &str = "mcp-method";
/// HTTP header carrying `params.name` or `params.uri` (2026-07-28).
pub const HEADER_NAME: &str = "mcp-name";
/// Prefix of headers mirroring `x-mcp-header` tool parameters (2026-07-28).
pub const HEADER_PARAM_PREFIX: &str = "mcp-param-";
/// Header a client sends to resume an SSE stream.
pub const HEADER_LAST_EVENT_ID: &str = "last-event-id";
