//! Black-box tests of `switchyard-stream`, built as one target.

mod properties;
mod rebuild;
mod rules;
