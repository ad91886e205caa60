//! Tools: typed Rust functions whose input schema comes from their argument type.

use std::future::Future;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use switchyard_protocol::types::{CallToolResult, ContentBlock, Tool, ToolAnnotations};

use super::BoxFuture;
use crate::{HandlerError, RequestContext};

pub(crate) type ToolFn = Arc<
    dyn Fn(Option<&RawValue>, RequestContext) -> BoxFuture<Result<CallToolResult, HandlerError>>
        + Send
        + Sync,
>;

/// A tool: its definition as `tools/list` shows it, and the function that runs it.
#[derive(Clone)]
pub struct ToolDef {
    pub(crate) tool: Tool,
    pub(crate) handler: ToolFn,
    pub(crate) output_validator: Option<Arc<jsonschema::Validator>>,
}

impl std::fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolDef")
            .field("name", &self.tool.name)
            .finish_non_exhaustive()
    }
}

/// Arguments of a tool that takes none.
#[derive(Debug, Clone, Copy, Default, Deserialize, JsonSchema)]
pub struct NoArgs {}

/// Structured output: serialised into `structuredContent` (and as JSON text into `content`),
/// with the tool's `outputSchema` derived from `T`.
#[derive(Debug, Clone)]
pub struct Json<T>(pub T);

/// What a tool function may return.
pub trait IntoToolResult {
    /// The output schema this return type implies, if any.
    fn output_schema() -> Option<Map<String, Value>> {
        None
    }
    /// Converts into a `tools/call` result.
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError>;
}

impl IntoToolResult for CallToolResult {
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError> {
        Ok(self)
    }
}

impl IntoToolResult for String {
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError> {
        Ok(CallToolResult::text(self))
    }
}

impl IntoToolResult for &'static str {
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError> {
        Ok(CallToolResult::text(self))
    }
}

impl IntoToolResult for ContentBlock {
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError> {
        Ok(CallToolResult {
            content: vec![self],
            ..CallToolResult::default()
        })
    }
}

impl IntoToolResult for Vec<ContentBlock> {
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError> {
        Ok(CallToolResult {
            content: self,
            ..CallToolResult::default()
        })
    }
}

impl<T: Serialize + JsonSchema> IntoToolResult for Json<T> {
    fn output_schema() -> Option<Map<String, Value>> {
        schema_map::<T>()
    }
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError> {
        let value =
            serde_json::to_value(&self.0).map_err(|e| HandlerError::internal(e.to_string()))?;
        // Text mirror of the structured value, for clients that only read `content`.
        let text = value.to_string();
        Ok(CallToolResult {
            content: vec![ContentBlock::text(text)],
            structured_content: Some(value),
            ..CallToolResult::default()
        })
    }
}

impl<R: IntoToolResult, E: Into<HandlerError>> IntoToolResult for Result<R, E> {
    fn output_schema() -> Option<Map<String, Value>> {
        R::output_schema()
    }
    fn into_tool_result(self) -> Result<CallToolResult, HandlerError> {
        self.map_err(Into::into).and_then(R::into_tool_result)
    }
}

/// The JSON Schema (2020-12) of `T` as a JSON object.
pub fn schema_map<T: JsonSchema>() -> Option<Map<String, Value>> {
    match serde_json::to_value(schemars::schema_for!(T)) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

fn input_schema_of<A: JsonSchema>() -> Map<String, Value> {
    let mut m = schema_map::<A>().unwrap_or_default();
    // `inputSchema` must be an object schema even for argument types schemars renders otherwise.
    m.insert("type".into(), Value::String("object".into()));
    m.remove("title");
    m
}

fn parse_args<A: DeserializeOwned>(raw: Option<&RawValue>) -> Result<A, HandlerError> {
    let text = raw.map_or("{}", RawValue::get);
    serde_json::from_str(text).map_err(|e| HandlerError::failed(format!("invalid arguments: {e}")))
}

impl ToolDef {
    /// A tool from a typed async function `f(args, ctx)`. The input schema is derived from `A`,
    /// the output schema from the return type (see [`Json`]).
    pub fn new<A, F, Fut, R>(name: impl Into<String>, description: impl Into<String>, f: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(A, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = R> + Send + 'static,
        R: IntoToolResult,
    {
        let f = Arc::new(f);
        let handler: ToolFn = Arc::new(move |raw: Option<&RawValue>, ctx| {
            let args = parse_args::<A>(raw);
            let f = f.clone();
            Box::pin(async move {
                match args {
                    Ok(a) => f(a, ctx).await.into_tool_result(),
                    Err(e) => Err(e),
                }
            })
        });
        let output_schema = R::output_schema();
        let output_validator = output_schema
            .as_ref()
            .and_then(|s| jsonschema::validator_for(&Value::Object(s.clone())).ok())
            .map(Arc::new);
        Self {
            tool: Tool {
                name: name.into(),
                description: Some(description.into()),
                input_schema: input_schema_of::<A>(),
                output_schema,
                ..Tool::default()
            },
            handler,
            output_validator,
        }
    }

    /// A tool with a hand-written definition and untyped arguments; arguments are validated
    /// against `tool.input_schema` before `f` runs, and `structuredContent` against
    /// `tool.output_schema` after.
    pub fn dynamic<F, Fut>(tool: Tool, f: F) -> Result<Self, HandlerError>
    where
        F: Fn(Value, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, HandlerError>> + Send + 'static,
    {
        let input = jsonschema::validator_for(&Value::Object(tool.input_schema.clone()))
            .map_err(|e| HandlerError::invalid_params(format!("bad inputSchema: {e}")))?;
        let output_validator = match &tool.output_schema {
            Some(s) => Some(Arc::new(
                jsonschema::validator_for(&Value::Object(s.clone()))
                    .map_err(|e| HandlerError::invalid_params(format!("bad outputSchema: {e}")))?,
            )),
            None => None,
        };
        let input = Arc::new(input);
        let f = Arc::new(f);
        let handler: ToolFn = Arc::new(move |raw: Option<&RawValue>, ctx| {
            let args: Result<Value, HandlerError> = parse_args(raw);
            let args = args.and_then(|v| {
                let errors: Vec<String> = input.iter_errors(&v).map(|e| e.to_string()).collect();
                if errors.is_empty() {
                    Ok(v)
                } else {
                    Err(HandlerError::failed(format!(
                        "invalid arguments: {}",
                        errors.join("; ")
                    )))
                }
            });
            let f = f.clone();
            Box::pin(async move { f(args?, ctx).await })
        });
        Ok(Self {
            tool,
            handler,
            output_validator,
        })
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.tool.title = Some(title.into());
        self
    }

    /// Sets behaviour annotations.
    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.tool.annotations = Some(annotations);
        self
    }

    /// Edits the definition directly (icons, `_meta`, execution, …).
    pub fn with_definition(mut self, edit: impl FnOnce(&mut Tool)) -> Self {
        edit(&mut self.tool);
        self
    }

    /// The definition as `tools/list` shows it.
    pub fn definition(&self) -> &Tool {
        &self.tool
    }

    /// Checks a result against the output schema: a tool that declares one must return
    /// conforming `structuredContent` unless the result is an error.
    pub(crate) fn check_output(&self, result: &CallToolResult) -> Result<(), HandlerError> {
        let Some(v) = &self.output_validator else {
            return Ok(());
        };
        if result.is_error == Some(true) {
            return Ok(());
        }
        let Some(sc) = &result.structured_content else {
            return Err(HandlerError::internal(format!(
                "tool {} declares an outputSchema but returned no structuredContent",
                self.tool.name
            )));
        };
        let errors: Vec<String> = v.iter_errors(sc).map(|e| e.to_string()).collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(HandlerError::internal(format!(
                "tool {} returned structuredContent that does not match its outputSchema: {}",
                self.tool.name,
                errors.join("; ")
            )))
        }
    }
}
