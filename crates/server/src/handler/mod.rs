//! Handler definitions: tools, resources, prompts and completions.

pub mod prompt;
pub mod resource;
pub mod tool;

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future; the erased form every handler takes.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
