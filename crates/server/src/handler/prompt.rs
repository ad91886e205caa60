//! Prompts and argument completion.

use std::future::Future;
use std::sync::Arc;

use serde_json::{Map, Value};
use switchyard_protocol::types::{CompleteParams, Completion, GetPromptResult, Prompt};

use super::BoxFuture;
use crate::{HandlerError, RequestContext};

type PromptFn = Arc<
    dyn Fn(Map<String, Value>, RequestContext) -> BoxFuture<Result<GetPromptResult, HandlerError>>
        + Send
        + Sync,
>;

/// A prompt and the function that renders it.
#[derive(Clone)]
pub struct PromptDef {
    pub(crate) prompt: Prompt,
    pub(crate) get: PromptFn,
}

impl std::fmt::Debug for PromptDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PromptDef")
            .field("name", &self.prompt.name)
            .finish_non_exhaustive()
    }
}

impl PromptDef {
    /// A prompt rendered by `get(arguments, ctx)`. Required arguments are checked before `get`
    /// runs.
    pub fn new<F, Fut>(prompt: Prompt, get: F) -> Self
    where
        F: Fn(Map<String, Value>, RequestContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, HandlerError>> + Send + 'static,
    {
        let get = Arc::new(get);
        Self {
            prompt,
            get: Arc::new(move |args, ctx| Box::pin(get(args, ctx))),
        }
    }

    pub(crate) fn check_required(&self, args: &Map<String, Value>) -> Result<(), HandlerError> {
        for a in self.prompt.arguments.iter().flatten() {
            if a.required == Some(true) && !args.contains_key(&a.name) {
                return Err(HandlerError::invalid_params(format!(
                    "missing required argument {:?}",
                    a.name
                )));
            }
        }
        Ok(())
    }
}

pub(crate) type CompleteFn = Arc<
    dyn Fn(CompleteParams, RequestContext) -> BoxFuture<Result<Completion, HandlerError>>
        + Send
        + Sync,
>;

/// Wraps a completion function.
pub(crate) fn complete_fn<F, Fut>(f: F) -> CompleteFn
where
    F: Fn(CompleteParams, RequestContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Completion, HandlerError>> + Send + 'static,
{
    let f = Arc::new(f);
    Arc::new(move |p, ctx| Box::pin(f(p, ctx)))
}
