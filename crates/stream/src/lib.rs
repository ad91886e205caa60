//! Incremental JSON push parser for fine-grained tool-input streaming (no I/O).
