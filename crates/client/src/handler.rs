//! Answers to server-to-client requests (sampling, elicitation, roots) and the sink for
//! notifications, the same in both eras.

use std::future::Future;
use std::pin::Pin;

use serde_json::{json, Map, Value};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_protocol::types::methods;
use switchyard_protocol::ErrorCode;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How the client answers the server. Every method has a safe default: sampling is refused,
/// elicitation is declined, roots are empty, notifications are ignored.
pub trait ClientHandler: Send + Sync + 'static {
    /// `sampling/createMessage`.
    fn create_message(&self, params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        let _ = params;
        Box::pin(async {
            Err(ErrorObject::new(
                ErrorCode::METHOD_NOT_FOUND,
                "this client does not offer sampling",
            ))
        })
    }

    /// `elicitation/create`.
    fn elicit(&self, params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        let _ = params;
        Box::pin(async { Ok(json!({"action": "decline"})) })
    }

    /// `roots/list`.
    fn list_roots(&self) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(async { Ok(json!({"roots": []})) })
    }

    /// Any notification (progress is also delivered to the request's own callback).
    fn notification(&self, method: &str, params: &Value) {
        let _ = (method, params);
    }
}

/// The default handler.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultHandler;
impl ClientHandler for DefaultHandler {}

/// Routes one server-to-client request to the handler.
pub(crate) async fn dispatch(
    h: &dyn ClientHandler,
    method: &str,
    params: Value,
) -> Result<Value, ErrorObject> {
    match method {
        methods::SAMPLING_CREATE_MESSAGE => h.create_message(params).await,
        methods::ELICITATION_CREATE => h.elicit(params).await,
        methods::ROOTS_LIST => h.list_roots().await,
        methods::PING => Ok(json!({})),
        _ => Err(ErrorObject::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("client does not handle {method}"),
        )),
    }
}

/// The values a form's schema defaults to: what a user who accepts without editing submits
/// (SEP-1034). Fields without a default are left out.
pub fn form_defaults(requested_schema: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(props) = requested_schema
        .get("properties")
        .and_then(Value::as_object)
    {
        for (k, s) in props {
            if let Some(d) = s.get("default") {
                out.insert(k.clone(), d.clone());
            }
        }
    }
    out
}

/// A handler that accepts every form with its defaults applied; useful for tests and for
/// non-interactive runs.
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptDefaults;

impl ClientHandler for AcceptDefaults {
    fn elicit(&self, params: Value) -> BoxFuture<'_, Result<Value, ErrorObject>> {
        Box::pin(async move {
            if params.get("mode").and_then(Value::as_str) == Some("url") {
                return Ok(json!({"action": "decline"}));
            }
            let content = form_defaults(params.get("requestedSchema").unwrap_or(&Value::Null));
            Ok(json!({"action": "accept", "content": content}))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_taken_from_the_schema() {
        let s = json!({"type":"object","properties":{
            "name":{"type":"string","default":"John Doe"},
            "age":{"type":"integer","default":30},
            "free":{"type":"string"}}});
        let d = form_defaults(&s);
        assert_eq!(d.get("name"), Some(&json!("John Doe")));
        assert_eq!(d.get("age"), Some(&json!(30)));
        assert!(!d.contains_key("free"));
    }
}
