//! JSON-RPC 2.0 framing: classify incoming bytes into requests, notifications, responses and
//! errors, and write outgoing messages without intermediate trees.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;

use crate::{ErrorCode, ProtocolError};

/// The `jsonrpc` member every message carries.
pub const JSONRPC_VERSION: &str = "2.0";

/// A request id: a string or an integer. `null` and fractional numbers are not ids in MCP.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RequestId {
    /// An integer id.
    Number(i64),
    /// A string id.
    String(String),
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{s:?}"),
        }
    }
}

impl From<i64> for RequestId {
    fn from(n: i64) -> Self {
        Self::Number(n)
    }
}

impl From<&str> for RequestId {
    fn from(s: &str) -> Self {
        Self::String(s.to_owned())
    }
}

impl Serialize for RequestId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Number(n) => s.serialize_i64(*n),
            Self::String(v) => s.serialize_str(v),
        }
    }
}

impl<'de> Deserialize<'de> for RequestId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RequestId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or integer request id")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RequestId, E> {
                Ok(RequestId::Number(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RequestId, E> {
                i64::try_from(v)
                    .map(RequestId::Number)
                    .map_err(|_| E::custom("request id out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RequestId, E> {
                Ok(RequestId::String(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<RequestId, E> {
                Ok(RequestId::String(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The `error` member of an error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorObject {
    /// The error code.
    pub code: ErrorCode,
    /// A short description.
    pub message: String,
    /// Extra structured information.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<serde_json::Value>,
}

impl ErrorObject {
    /// An error with a code and message and no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data`.
    pub fn with_data(mut self, data: serde_json::Value) -> Self {
        self.data = Some(data);
        self
    }
}

impl From<ProtocolError> for ErrorObject {
    fn from(e: ProtocolError) -> Self {
        Self::new(e.code(), e.to_string())
    }
}

/// A request: it has an id and expects a response.
#[derive(Debug, Clone)]
pub struct Request {
    /// The id the response must echo.
    pub id: RequestId,
    /// The method name.
    pub method: String,
    /// Parameters, kept as raw JSON until the handler knows their type.
    pub params: Option<Box<RawValue>>,
}

/// A notification: no id, no response.
#[derive(Debug, Clone)]
pub struct Notification {
    /// The method name.
    pub method: String,
    /// Parameters, as raw JSON.
    pub params: Option<Box<RawValue>>,
}

/// A successful response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The id of the request this answers.
    pub id: RequestId,
    /// The result, as raw JSON.
    pub result: Box<RawValue>,
}

/// An error response. The id is absent when the request's id could not be read.
#[derive(Debug, Clone)]
pub struct ErrorResponse {
    /// The id of the request this answers, if known.
    pub id: Option<RequestId>,
    /// The error.
    pub error: ErrorObject,
}

/// One JSON-RPC message.
#[derive(Debug, Clone)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A successful response.
    Response(Response),
    /// An error response.
    Error(ErrorResponse),
}

impl Message {
    /// The method, for requests and notifications.
    pub fn method(&self) -> Option<&str> {
        match self {
            Self::Request(r) => Some(&r.method),
            Self::Notification(n) => Some(&n.method),
            _ => None,
        }
    }
}

/// A body that is one message or a batch (batches exist only in 2025-03-26).
#[derive(Debug)]
pub enum Incoming {
    /// A single message.
    Single(Message),
    /// A batch: each element parsed on its own, so one bad element does not spoil the rest.
    Batch(Vec<Result<Message, InvalidMessage>>),
}

/// A message that is JSON but not valid JSON-RPC; carries the id when one could be read so the
/// error response can echo it.
#[derive(Debug)]
pub struct InvalidMessage {
    /// The id, if the message had a readable one.
    pub id: Option<RequestId>,
    /// What is wrong.
    pub error: ProtocolError,
}

/// A JSON string that borrows from the input when it has no escapes (serde's own `Cow<str>`
/// borrows only as a bare field, not inside an `Option`). Expects what `String` expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CowStr<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for CowStr<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<CowStr<'de>, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_string(V)
    }
}

// Members are borrowed from the input: a request's envelope is read without copying its
// params or method, and only what the caller keeps is made owned.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default, borrow)]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default, borrow)]
    method: Option<CowStr<'a>>,
    #[serde(default, borrow)]
    params: Option<&'a RawValue>,
    #[serde(default, borrow)]
    result: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// A request whose method and params still point into the bytes it was parsed from.
#[derive(Debug, Clone)]
pub struct RequestRef<'a> {
    /// The id the response must echo.
    pub id: RequestId,
    /// The method name.
    pub method: Cow<'a, str>,
    /// Parameters, raw and borrowed.
    pub params: Option<&'a RawValue>,
}

impl RequestRef<'_> {
    /// The owned [`Request`].
    pub fn into_owned(self) -> Request {
        Request {
            id: self.id,
            method: self.method.into_owned(),
            params: self.params.map(ToOwned::to_owned),
        }
    }
}

/// One JSON-RPC message as [`parse_message_ref`] reads it: requests borrow from the input,
/// everything else is owned.
#[derive(Debug, Clone)]
pub enum MessageRef<'a> {
    /// A request, borrowed.
    Request(RequestRef<'a>),
    /// Any other message.
    Other(Message),
}

impl MessageRef<'_> {
    /// The owned [`Message`].
    pub fn into_owned(self) -> Message {
        match self {
            Self::Request(r) => Message::Request(r.into_owned()),
            Self::Other(m) => m,
        }
    }
}

/// Reads a request id from its raw JSON as a request's `id` member is read: `None` for `null`
/// and for anything that is not a string or an integer.
pub fn parse_request_id(raw: &str) -> Option<RequestId> {
    if raw == "null" {
        return None;
    }
    parse_id(raw).ok()
}

/// Reads a request id from its raw JSON. Plain non-negative integers, the usual case, are read
/// without a second JSON parse.
fn parse_id(raw: &str) -> Result<RequestId, serde_json::Error> {
    if !raw.is_empty() && raw.len() <= 18 && raw.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = raw.parse::<i64>() {
            return Ok(RequestId::Number(n));
        }
    }
    serde_json::from_str::<RequestId>(raw)
}

fn classify(env: Envelope<'_>) -> Result<MessageRef<'_>, InvalidMessage> {
    let id = match env.id {
        None => None,
        Some(raw) if raw.get() == "null" => None,
        Some(raw) => Some(parse_id(raw.get()).map_err(|_| InvalidMessage {
            id: None,
            error: ProtocolError::InvalidRequest("id must be a string or an integer".into()),
        })?),
    };
    let bad = |id: Option<RequestId>, why: &str| InvalidMessage {
        id,
        error: ProtocolError::InvalidRequest(why.to_owned()),
    };
    match env.jsonrpc.map(RawValue::get) {
        Some("\"2.0\"") => {}
        _ => return Err(bad(id, "jsonrpc must be \"2.0\"")),
    }
    if let Some(p) = env.params {
        let first = p.get().as_bytes().first().copied();
        if !matches!(first, Some(b'{') | Some(b'[')) {
            return Err(bad(id, "params must be an object or an array"));
        }
    }
    match (env.method, env.result, env.error) {
        (Some(method), None, None) => Ok(match id {
            Some(id) => MessageRef::Request(RequestRef {
                id,
                method: method.0,
                params: env.params,
            }),
            None if env.id.is_some() => return Err(bad(None, "request id must not be null")),
            None => MessageRef::Other(Message::Notification(Notification {
                method: method.0.into_owned(),
                params: env.params.map(ToOwned::to_owned),
            })),
        }),
        (None, Some(result), None) => match id {
            Some(id) => Ok(MessageRef::Other(Message::Response(Response {
                id,
                result: result.to_owned(),
            }))),
            None => Err(bad(None, "response without an id")),
        },
        (None, None, Some(error)) => {
            let error: ErrorObject = serde_json::from_str(error.get())
                .map_err(|e| bad(id.clone(), &format!("malformed error object: {e}")))?;
            Ok(MessageRef::Other(Message::Error(ErrorResponse {
                id,
                error,
            })))
        }
        _ => Err(bad(
            id,
            "a message has exactly one of method, result or error",
        )),
    }
}

/// Parses one message (not a batch).
pub fn parse_message(bytes: &[u8]) -> Result<Message, InvalidMessage> {
    parse_message_ref(bytes).map(MessageRef::into_owned)
}

/// Parses one message (not a batch) without copying a request's method or params: the same
/// checks and errors as [`parse_message`].
pub fn parse_message_ref(bytes: &[u8]) -> Result<MessageRef<'_>, InvalidMessage> {
    let env: Envelope<'_> = serde_json::from_slice(bytes).map_err(|e| InvalidMessage {
        id: None,
        error: if e.is_data() {
            ProtocolError::InvalidRequest(e.to_string())
        } else {
            ProtocolError::Parse(e.to_string())
        },
    })?;
    classify(env)
}

/// Parses a body that may be a single message or a batch.
///
/// Returns `Err` only when the body as a whole is unusable (not JSON, not an object or array, or
/// an empty batch); individual batch elements carry their own errors.
pub fn parse_incoming(bytes: &[u8]) -> Result<Incoming, InvalidMessage> {
    let first = bytes.iter().copied().find(|b| !b.is_ascii_whitespace());
    match first {
        Some(b'[') => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_slice(bytes).map_err(|e| InvalidMessage {
                    id: None,
                    error: ProtocolError::Parse(e.to_string()),
                })?;
            if items.is_empty() {
                return Err(InvalidMessage {
                    id: None,
                    error: ProtocolError::InvalidRequest("empty batch".into()),
                });
            }
            Ok(Incoming::Batch(
                items
                    .iter()
                    .map(|raw| parse_message(raw.get().as_bytes()))
                    .collect(),
            ))
        }
        Some(b'{') => parse_message(bytes).map(Incoming::Single),
        _ => {
            // Distinguish "not JSON at all" from "JSON, but not an object".
            match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
                Ok(_) => Err(InvalidMessage {
                    id: None,
                    error: ProtocolError::InvalidRequest(
                        "a JSON-RPC message must be an object".into(),
                    ),
                }),
                Err(e) => Err(InvalidMessage {
                    id: None,
                    error: ProtocolError::Parse(e.to_string()),
                }),
            }
        }
    }
}

/// Writes `{"jsonrpc":"2.0","id":…,"result":…}` into `out`.
pub fn write_response<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    result: &T,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut *out, id)?;
    out.extend_from_slice(br#","result":"#);
    serde_json::to_writer(&mut *out, result)?;
    out.push(b'}');
    Ok(())
}

/// Writes an error response into `out`.
pub fn write_error(out: &mut Vec<u8>, id: Option<&RequestId>, error: &ErrorObject) {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    match id {
        // Serialising an id or an ErrorObject into a Vec cannot fail: no maps with non-string keys.
        Some(id) => {
            let _ = serde_json::to_writer(&mut *out, id);
        }
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(br#","error":"#);
    let _ = serde_json::to_writer(&mut *out, error);
    out.push(b'}');
}

/// Writes a notification into `out`.
pub fn write_notification<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    method: &str,
    params: Option<&T>,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","method":"#);
    serde_json::to_writer(&mut *out, method)?;
    if let Some(p) = params {
        out.extend_from_slice(br#","params":"#);
        serde_json::to_writer(&mut *out, p)?;
    }
    out.push(b'}');
    Ok(())
}

/// Writes a request into `out`.
pub fn write_request<T: Serialize + ?Sized>(
    out: &mut Vec<u8>,
    id: &RequestId,
    method: &str,
    params: Option<&T>,
) -> Result<(), serde_json::Error> {
    out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
    serde_json::to_writer(&mut *out, id)?;
    out.extend_from_slice(br#","method":"#);
    serde_json::to_writer(&mut *out, method)?;
    if let Some(p) = params {
        out.extend_from_slice(br#","params":"#);
        serde_json::to_writer(&mut *out, p)?;
    }
    out.push(b'}');
    Ok(())
}

/// Serialises a message back to bytes (raw members are copied verbatim).
pub fn to_bytes(msg: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    // Raw values and plain strings always serialise; the results are ignored for that reason.
    match msg {
        Message::Request(r) => {
            let _ = write_request(&mut out, &r.id, &r.method, r.params.as_deref());
        }
        Message::Notification(n) => {
            let _ = write_notification(&mut out, &n.method, n.params.as_deref());
        }
        Message::Response(r) => {
            let _ = write_response(&mut out, &r.id, &*r.result);
        }
        Message::Error(e) => write_error(&mut out, e.id.as_ref(), &e.error),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_each_kind() {
        let m = parse_message(br#"{"jsonrpc":"2.0","id":"a","method":"x","params":{}}"#);
        assert!(matches!(m, Ok(Message::Request(ref r)) if r.id == RequestId::from("a")));
        let m = parse_message(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        assert!(matches!(m, Ok(Message::Notification(_))));
        let m = parse_message(br#"{"jsonrpc":"2.0","id":3,"result":{"ok":true}}"#);
        assert!(matches!(m, Ok(Message::Response(ref r)) if r.result.get() == r#"{"ok":true}"#));
        let m =
            parse_message(br#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"no"}}"#);
        assert!(
            matches!(m, Ok(Message::Error(ref e)) if e.error.code == ErrorCode::METHOD_NOT_FOUND)
        );
    }

    #[test]
    fn malformed_json_is_a_parse_error() {
        let e = parse_incoming(b"{\"jsonrpc\":").unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::PARSE_ERROR);
    }

    #[test]
    fn wrong_shapes_are_invalid_requests_and_keep_the_id() {
        let e = parse_message(br#"{"jsonrpc":"1.0","id":7,"method":"x"}"#).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::INVALID_REQUEST);
        assert_eq!(e.id, Some(RequestId::Number(7)));
        let e = parse_incoming(b"42").unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::INVALID_REQUEST);
        let e = parse_message(br#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::INVALID_REQUEST);
        let e = parse_message(br#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::INVALID_REQUEST);
    }

    #[test]
    fn batch_elements_are_parsed_independently() {
        let b = parse_incoming(br#"[{"jsonrpc":"2.0","id":1,"method":"a"},{"bad":true}]"#).unwrap();
        match b {
            Incoming::Batch(items) => {
                assert!(items[0].is_ok());
                assert!(items[1].is_err());
            }
            Incoming::Single(_) => panic!("expected a batch"),
        }
        assert!(parse_incoming(b"[]").is_err());
    }

    #[test]
    fn borrowed_requests_point_into_the_input() {
        let src = br#"{"jsonrpc":"2.0","id":12,"method":"tools/call","params":{"name":"x"}}"#;
        let Ok(MessageRef::Request(r)) = parse_message_ref(src) else {
            panic!("expected a request");
        };
        assert_eq!(r.id, RequestId::Number(12));
        assert!(matches!(r.method, Cow::Borrowed("tools/call")));
        assert_eq!(r.params.map(RawValue::get), Some(r#"{"name":"x"}"#));
        // An escaped method cannot be borrowed and is unescaped into an owned string.
        let src = br#"{"jsonrpc":"2.0","id":"a","method":"tools\/list"}"#;
        let Ok(MessageRef::Request(r)) = parse_message_ref(src) else {
            panic!("expected a request");
        };
        assert_eq!(r.method, "tools/list");
        assert_eq!(r.id, RequestId::from("a"));
        // Everything else is owned, as parse_message gives it.
        let m = parse_message_ref(br#"{"jsonrpc":"2.0","method":"n","params":[1]}"#).unwrap();
        assert!(matches!(m, MessageRef::Other(Message::Notification(ref n)) if n.method == "n"));
    }

    #[test]
    fn ids_read_without_a_second_parse_match_the_general_reader() {
        for (raw, want) in [
            ("0", Some(RequestId::Number(0))),
            (
                "123456789012345678",
                Some(RequestId::Number(123_456_789_012_345_678)),
            ),
            ("9223372036854775807", Some(RequestId::Number(i64::MAX))),
            ("-7", Some(RequestId::Number(-7))),
            ("9223372036854775808", None),
            ("1.5", None),
            ("-0", None),
            ("true", None),
        ] {
            let src = format!(r#"{{"jsonrpc":"2.0","id":{raw},"method":"m"}}"#);
            let got = parse_message(src.as_bytes());
            match want {
                Some(id) => assert!(
                    matches!(got, Ok(Message::Request(ref r)) if r.id == id),
                    "{raw}"
                ),
                None => assert_eq!(
                    got.unwrap_err().error.code(),
                    ErrorCode::INVALID_REQUEST,
                    "{raw}"
                ),
            }
        }
    }

    #[test]
    fn wrong_member_types_are_invalid_requests() {
        let e = parse_message(br#"{"jsonrpc":"2.0","id":1,"method":5}"#).unwrap_err();
        assert_eq!(e.error.code(), ErrorCode::INVALID_REQUEST);
        assert!(
            e.error.to_string().contains("expected a string"),
            "{}",
            e.error
        );
    }

    #[test]
    fn raw_params_round_trip_byte_for_byte() {
        let src = br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"b":1.50,"a":"\u00e9"}}}"#;
        let m = parse_message(src).unwrap();
        assert_eq!(to_bytes(&m), src.to_vec());
    }
}
