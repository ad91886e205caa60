//! Incremental JSON push parser for fine-grained tool-input streaming (no I/O).
//!
//! Models stream tool input as JSON fragments split anywhere (Claude's
//! `eager_input_streaming`, OpenAI's `tool_calls[].function.arguments`
//! deltas). [`Parser`] takes those fragments as they come and reports each
//! field as it forms, as [`Event`]s with JSON Pointer [`Path`]s: string text
//! arrives as [`Event::StringDelta`]s, scalars when complete, and
//! [`Event::FieldComplete`] when a top-level argument is final. Work is O(n)
//! in the input however it is chunked; nothing is ever re-parsed.
//!
//! ```
//! use switchyard_stream::{Completion, Event, Parser};
//!
//! let mut parser = Parser::new();
//! let mut seen = Vec::new();
//! for chunk in [&br#"{"path": "src/ma"#[..], br#"in.rs", "lines": [1, 2"#] {
//!     parser.feed(chunk, |event, path| {
//!         if let Event::StringDelta(text) = event {
//!             seen.push(format!("{path} += {text:?}"));
//!         }
//!     })?;
//! }
//! assert_eq!(seen, [r#"/path += "src/ma""#, r#"/path += "in.rs""#]);
//!
//! // The partial value, kept up to date as the input grows.
//! let snapshot = parser.snapshot().expect("a value has started").to_json();
//! assert_eq!(snapshot, r#"{"path": "src/main.rs", "lines": [1]}"#);
//!
//! // The model stopped at max_tokens: `finish` says what is missing.
//! let Completion::Truncated(t) = parser.finish(|_, _| {})? else { panic!() };
//! assert_eq!(t.incomplete, ["", "/lines", "/lines/1"]);
//! # Ok::<(), switchyard_stream::Error>(())
//! ```
//!
//! # Features
//!
//! | feature | what it does | default |
//! | --- | --- | --- |
//! | `fuzzing` | exposes the hidden `fuzzing` module used by `fuzz/` (pulls in serde_json) | no |
//!
//! Hard limits ([`Limits`]) bound nesting depth, string length and total input.
#![forbid(unsafe_code)]

mod error;
mod event;
mod limits;
mod parser;
mod path;
mod snapshot;
mod string;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use error::{Error, Expected, LimitExceeded, SyntaxError};
pub use event::{Event, OwnedEvent};
pub use limits::{
    Limits, Options, DEFAULT_MAX_DEPTH, DEFAULT_MAX_STRING_LEN, DEFAULT_MAX_TOTAL_LEN,
};
pub use parser::{Completion, Parser, Truncated};
pub use path::{Path, Segment};
pub use snapshot::Snapshot;
