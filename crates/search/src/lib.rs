//! Tool search index: tokenizer, BM25F, regex and hybrid ranking over MCP tool definitions (no I/O).
