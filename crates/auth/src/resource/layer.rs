//! The tower layer: bearer token → [`Principal`] → scope check → inner service.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{Method, Request, Response};
use http_body_util::BodyExt as _;

use super::{BearerError, ConfigError, Principal, ResourceConfig, ScopePolicy, TokenVerifier};

/// Largest request body buffered to find per-method or per-tool scopes. It matches the MCP
/// server's own request limit; a bigger body is refused (`413`) before anything parses it.
pub const MAX_INSPECTED_BODY: usize = 4 * 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A tower layer that admits only requests carrying a valid bearer token for this resource with
/// the scopes the request needs, and puts the [`Principal`] into the request extensions.
///
/// The body is read only when [`ScopePolicy::needs_body`]; it is buffered up to
/// [`MAX_INSPECTED_BODY`] and handed on unchanged. The `Authorization` header is removed before
/// the inner service runs, so the token cannot be passed through to upstream APIs.
#[derive(Clone, Debug)]
pub struct BearerLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    verifier: TokenVerifier,
    policy: ScopePolicy,
    metadata_url: String,
    body_limit: usize,
}

impl BearerLayer {
    /// Validates the configuration and builds the layer.
    pub fn new(cfg: ResourceConfig) -> Result<Self, ConfigError> {
        let verifier = TokenVerifier::new(&cfg)?;
        Ok(Self {
            shared: Arc::new(Shared {
                verifier,
                metadata_url: cfg.resource_metadata_url(),
                policy: cfg.required_scopes,
                body_limit: MAX_INSPECTED_BODY,
            }),
        })
    }

    /// The token verifier this layer uses.
    pub fn verifier(&self) -> &TokenVerifier {
        &self.shared.verifier
    }
}

impl<S> tower::Layer<S> for BearerLayer {
    type Service = BearerService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BearerService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`BearerLayer`] wraps around an inner service.
#[derive(Clone, Debug)]
pub struct BearerService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for BearerService<S>
where
    S: tower::Service<Request<Body>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqB: http_body::Body<Data = Bytes> + Send + 'static,
    ReqB::Error: Into<BoxError>,
    ResB: http_body::Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // The clone is not ready; keep the ready one for this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            match shared.admit(&parts, body).await {
                Ok((principal, body)) => {
                    // No handler can pass the client's token on (MCP forbids token
                    // passthrough); the principal carries what it needs.
                    parts.headers.remove(AUTHORIZATION);
                    parts.extensions.insert(principal);
                    let resp = inner.call(Request::from_parts(parts, body)).await?;
                    Ok(resp.map(Body::new))
                }
                Err(e) => {
                    tracing::debug!(reason = %e, "bearer check refused a request");
                    Ok(shared.refuse(&e))
                }
            }
        })
    }
}

impl Shared {
    async fn admit<B>(
        &self,
        parts: &http::request::Parts,
        body: B,
    ) -> Result<(Principal, Body), BearerError>
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let token = bearer_token(parts)?;
        let principal = self.verifier.verify(token).await?;
        let mut required = self.policy.always.clone();
        let body = if self.policy.needs_body() && parts.method == Method::POST {
            let bytes = http_body_util::Limited::new(body, self.body_limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        BearerError::BodyTooLarge {
                            limit: self.body_limit,
                        }
                    } else {
                        BearerError::BodyNotJsonRpc
                    }
                })?
                .to_bytes();
            add_body_scopes(&self.policy, &bytes, &mut required)?;
            Body::from(bytes)
        } else {
            Body::new(body)
        };
        if !required.is_empty() {
            let granted = self.policy.expand(&principal.scopes);
            if !required.is_subset(&granted) {
                return Err(BearerError::InsufficientScope {
                    required: required.into_iter().collect(),
                });
            }
        }
        Ok((principal, body))
    }

    /// The response for a refusal: status and challenge from [`BearerError::wire`].
    fn refuse(&self, e: &BearerError) -> Response<Body> {
        let wire = e.wire();
        let description = e.to_string();
        let mut body = serde_json::Map::new();
        if let Some(code) = wire.code {
            body.insert("error".into(), code.into());
        }
        body.insert("error_description".into(), description.clone().into());
        let mut resp = Response::new(Body::from(serde_json::Value::Object(body).to_string()));
        *resp.status_mut() = wire.status;
        resp.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if wire.challenge {
            let scope = match e {
                BearerError::InsufficientScope { required } => required.join(" "),
                _ => join(&self.policy.always),
            };
            let challenge = challenge(wire.code, &description, &self.metadata_url, &scope);
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.headers_mut().insert(WWW_AUTHENTICATE, v);
            }
        }
        resp
    }
}

/// The `Bearer` token of the request. The query string must not carry one (MCP: "never in the
/// query string"), and exactly one `Authorization` header must be present.
fn bearer_token(parts: &http::request::Parts) -> Result<&str, BearerError> {
    if let Some(q) = parts.uri.query() {
        if url::form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == "access_token") {
            return Err(BearerError::TokenInQuery);
        }
    }
    let mut values = parts.headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(BearerError::MissingToken)?;
    if values.next().is_some() {
        return Err(BearerError::MultipleAuthorization);
    }
    let value = value.to_str().map_err(|_| BearerError::NotBearer)?;
    let (scheme, token) = value.split_once(' ').ok_or(BearerError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return Err(BearerError::NotBearer);
    }
    Ok(token)
}

/// Adds the scopes of every JSON-RPC message in `body` (one message or a batch). A body that is
/// not JSON-RPC is refused: its scopes cannot be known.
fn add_body_scopes(
    policy: &ScopePolicy,
    body: &[u8],
    out: &mut BTreeSet<String>,
) -> Result<(), BearerError> {
    // Duplicate keys make derive-based parsing fail, so "method" cannot mean one thing here and
    // another in the server.
    #[derive(serde::Deserialize)]
    struct Msg {
        #[serde(default)]
        method: Option<String>,
        #[serde(default)]
        params: Option<serde_json::Value>,
    }
    let msgs = match serde_json::from_slice::<Msg>(body) {
        Ok(m) => vec![m],
        Err(_) => {
            serde_json::from_slice::<Vec<Msg>>(body).map_err(|_| BearerError::BodyNotJsonRpc)?
        }
    };
    for m in &msgs {
        if let Some(method) = &m.method {
            let tool = m
                .params
                .as_ref()
                .and_then(|p| p.get("name"))
                .and_then(|n| n.as_str());
            policy.add_required(method, tool, out);
        }
    }
    Ok(())
}

fn join(scopes: &BTreeSet<String>) -> String {
    scopes
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `Bearer error="…", error_description="…", resource_metadata="…", scope="…"`, with the
/// parameters that apply.
fn challenge(code: Option<&str>, description: &str, metadata_url: &str, scope: &str) -> String {
    let mut params = Vec::with_capacity(4);
    if let Some(code) = code {
        params.push(format!("error=\"{}\"", quote(code)));
        params.push(format!("error_description=\"{}\"", quote(description)));
    }
    params.push(format!("resource_metadata=\"{}\"", quote(metadata_url)));
    if !scope.is_empty() {
        params.push(format!("scope=\"{}\"", quote(scope)));
    }
    format!("Bearer {}", params.join(", "))
}

/// Escapes a quoted-string (RFC 9110 §5.6.4) and drops control characters.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, auth: &[&str]) -> http::request::Parts {
        let mut b = Request::builder().uri(uri);
        for a in auth {
            b = b.header(AUTHORIZATION, *a);
        }
        b.body(()).expect("request").into_parts().0
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token(&parts("/", &["bearer abc"])), Ok("abc"));
        assert_eq!(
            bearer_token(&parts("/", &["Basic abc"])),
            Err(BearerError::NotBearer)
        );
        assert_eq!(
            bearer_token(&parts("/", &["Bearer a", "Bearer b"])),
            Err(BearerError::MultipleAuthorization)
        );
    }

    #[test]
    fn query_token_is_refused_even_with_a_header() {
        assert_eq!(
            bearer_token(&parts("/mcp?x=1&access_token=abc", &["Bearer abc"])),
            Err(BearerError::TokenInQuery)
        );
    }

    #[test]
    fn batch_bodies_need_the_union_of_scopes() {
        let p = ScopePolicy::default()
            .method("tools/list", ["list"])
            .tool("rm", ["write"]);
        let mut out = BTreeSet::new();
        let body = br#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"},
            {"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"rm"}}]"#;
        add_body_scopes(&p, body, &mut out).expect("json-rpc");
        assert_eq!(out.into_iter().collect::<Vec<_>>(), ["list", "write"]);
        let dup = br#"{"method":"ping","method":"tools/call","params":{"name":"rm"}}"#;
        assert_eq!(
            add_body_scopes(&p, dup, &mut BTreeSet::new()),
            Err(BearerError::BodyNotJsonRpc)
        );
    }

    #[test]
    fn challenge_quotes_values() {
        assert_eq!(
            challenge(Some("invalid_token"), "a \"b\"", "https://h/m", "x y"),
            r#"Bearer error="invalid_token", error_description="a \"b\"", resource_metadata="https://h/m", scope="x y""#
        );
    }
}
