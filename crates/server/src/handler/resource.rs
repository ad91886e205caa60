//! Resources (fixed URIs) and resource templates (RFC 6570 level-1 URI templates).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use switchyard_protocol::types::{Resource, ResourceContents, ResourceTemplate};

use super::BoxFuture;
use crate::{HandlerError, RequestContext};

type ReadFn = Arc<
    dyn Fn(String, BTreeMap<String, String>, RequestContext) -> BoxFuture<ReadOutcome>
        + Send
        + Sync,
>;

type ReadOutcome = Result<Vec<ResourceContents>, HandlerError>;

/// A resource with a fixed URI.
#[derive(Clone)]
pub struct ResourceDef {
    pub(crate) resource: Resource,
    pub(crate) read: ReadFn,
}

impl std::fmt::Debug for ResourceDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResourceDef")
            .field("uri", &self.resource.uri)
            .finish_non_exhaustive()
    }
}

impl ResourceDef {
    /// A resource whose contents come from `read(uri, ctx)`.
    pub fn new<F, Fut>(resource: Resource, read: F) -> Self
    where
        F: Fn(String, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ReadOutcome> + Send + 'static,
    {
        let read = Arc::new(read);
        Self {
            resource,
            read: Arc::new(move |uri, _vars, ctx| Box::pin(read(uri, ctx))),
        }
    }

    /// A resource with fixed text contents.
    pub fn text(resource: Resource, text: impl Into<String>) -> Self {
        let text: Arc<str> = Arc::from(text.into());
        let mime = resource.mime_type.clone();
        Self::new(resource, move |uri, _ctx| {
            let c = ResourceContents::text(uri, mime.as_deref(), &*text);
            async move { Ok(vec![c]) }
        })
    }
}

/// A family of resources matched by a URI template.
#[derive(Clone)]
pub struct TemplateDef {
    pub(crate) template: ResourceTemplate,
    pub(crate) pattern: UriTemplate,
    pub(crate) read: ReadFn,
}

impl std::fmt::Debug for TemplateDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateDef")
            .field("uri_template", &self.template.uri_template)
            .finish_non_exhaustive()
    }
}

impl TemplateDef {
    /// A template whose reads get the matched variables.
    pub fn new<F, Fut>(template: ResourceTemplate, read: F) -> Self
    where
        F: Fn(String, BTreeMap<String, String>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ReadOutcome> + Send + 'static,
    {
        let pattern = UriTemplate::parse(&template.uri_template);
        let read = Arc::new(read);
        Self {
            template,
            pattern,
            read: Arc::new(move |uri, vars, ctx| Box::pin(read(uri, vars, ctx))),
        }
    }
}

/// A parsed level-1 URI template: literals and `{var}` expressions.
#[derive(Debug, Clone)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone)]
enum Part {
    Lit(String),
    Var(String),
}

impl UriTemplate {
    /// Parses a template; an unclosed `{` is taken literally.
    pub fn parse(t: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = t;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            if open > 0 {
                parts.push(Part::Lit(rest[..open].to_owned()));
            }
            parts.push(Part::Var(rest[open + 1..open + close].to_owned()));
            rest = &rest[open + close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        Self { parts }
    }

    /// Matches `uri`, returning the variables. A variable matches one or more characters up to
    /// the next literal and never spans a `/`.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        let mut pos = 0;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Lit(l) => {
                    if !uri[pos..].starts_with(l.as_str()) {
                        return None;
                    }
                    pos += l.len();
                }
                Part::Var(name) => {
                    let end = match self.parts.get(i + 1) {
                        Some(Part::Lit(next)) => pos + uri[pos..].find(next.as_str())?,
                        _ => uri.len(),
                    };
                    let value = &uri[pos..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    vars.insert(name.clone(), value.to_owned());
                    pos = end;
                }
            }
        }
        (pos == uri.len()).then_some(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_matches_and_extracts_variables() {
        let t = UriTemplate::parse("test://template/{id}/data");
        let v = t.matches("test://template/42/data").unwrap();
        assert_eq!(v.get("id").map(String::as_str), Some("42"));
        assert!(t.matches("test://template//data").is_none());
        assert!(t.matches("test://template/a/b/data").is_none());
        assert!(t.matches("test://template/42/datax").is_none());
    }

    #[test]
    fn trailing_variable_takes_the_rest_without_slashes() {
        let t = UriTemplate::parse("file:///{name}");
        assert_eq!(
            t.matches("file:///x.txt").unwrap().get("name").unwrap(),
            "x.txt"
        );
        assert!(t.matches("file:///a/b").is_none());
    }
}
