//! Tool definitions as the index sees them, and the catalog file format.

use serde::Deserialize;
use serde_json::Value;

use crate::limits::{MAX_FIELD_BYTES, MAX_PARAMS_PER_TOOL, MAX_SCHEMA_DEPTH};
use crate::SearchError;

/// One parameter of a tool: a property of its input schema, at any depth.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Param {
    /// Property name, e.g. `repo_path`.
    pub name: String,
    /// Its `description`, plus any string `enum` values, space-separated.
    pub description: String,
}

/// The searchable parts of one MCP tool definition, tagged with its server.
///
/// Build one with [`ToolDoc::from_mcp`] from a `Tool` object as `tools/list` returns it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ToolDoc {
    /// Name of the server that offers the tool.
    pub server: String,
    /// Tool name, unique within its server.
    pub name: String,
    /// Human-readable title (`title`, else `annotations.title`).
    pub title: String,
    /// The tool's description.
    pub description: String,
    /// Parameters from `inputSchema`.
    pub params: Vec<Param>,
    /// Behaviour hints from `annotations`, as words (`read only`, `destructive`, …).
    pub annotations: String,
}

fn cap(mut s: String) -> String {
    if s.len() > MAX_FIELD_BYTES {
        let mut cut = MAX_FIELD_BYTES;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
    s
}

fn str_field(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .map(cap)
        .unwrap_or_default()
}

impl ToolDoc {
    /// Reads a tool from an MCP `Tool` JSON object (`name`, `title`, `description`,
    /// `inputSchema`, `annotations`). Only `name` is required; unknown keys are ignored.
    ///
    /// ```
    /// use switchyard_search::ToolDoc;
    /// let tool = serde_json::json!({
    ///     "name": "read_file",
    ///     "description": "Read a file",
    ///     "inputSchema": {"type": "object", "properties": {"path": {"type": "string", "description": "File path"}}},
    ///     "annotations": {"readOnlyHint": true}
    /// });
    /// let doc = ToolDoc::from_mcp("filesystem", &tool)?;
    /// assert_eq!(doc.params[0].name, "path");
    /// assert_eq!(doc.annotations, "read only");
    /// # Ok::<(), switchyard_search::SearchError>(())
    /// ```
    pub fn from_mcp(server: &str, tool: &Value) -> Result<Self, SearchError> {
        let Some(obj) = tool.as_object() else {
            return Err(SearchError::InvalidTool {
                reason: "tool is not a JSON object".into(),
            });
        };
        let name = match obj.get("name") {
            Some(Value::String(n)) if !n.is_empty() => n.clone(),
            _ => {
                return Err(SearchError::InvalidTool {
                    reason: "tool has no non-empty string `name`".into(),
                })
            }
        };
        let mut title = str_field(tool, "title");
        let annotations = tool.get("annotations").unwrap_or(&Value::Null);
        if title.is_empty() {
            title = str_field(annotations, "title");
        }
        let mut params = Vec::new();
        if let Some(schema) = tool.get("inputSchema") {
            collect_params(schema, 0, &mut params);
        }
        Ok(Self {
            server: server.to_owned(),
            name,
            title,
            description: str_field(tool, "description"),
            params,
            annotations: annotation_words(annotations),
        })
    }
}

fn annotation_words(a: &Value) -> String {
    let hint = |k: &str| a.get(k).and_then(Value::as_bool);
    let mut words: Vec<&str> = Vec::new();
    if hint("readOnlyHint") == Some(true) {
        words.push("read only");
    }
    if hint("destructiveHint") == Some(true) {
        words.push("destructive");
    }
    if hint("idempotentHint") == Some(true) {
        words.push("idempotent");
    }
    if hint("openWorldHint") == Some(true) {
        words.push("open world");
    }
    words.join(" ")
}

fn collect_params(schema: &Value, depth: usize, out: &mut Vec<Param>) {
    if depth >= MAX_SCHEMA_DEPTH {
        return;
    }
    let Some(obj) = schema.as_object() else {
        return;
    };
    if let Some(Value::Object(props)) = obj.get("properties") {
        for (name, prop) in props {
            if out.len() >= MAX_PARAMS_PER_TOOL {
                return;
            }
            let mut description = str_field(prop, "description");
            if let Some(Value::Array(values)) = prop.get("enum") {
                for v in values.iter().filter_map(Value::as_str) {
                    if description.len() + v.len() + 1 > MAX_FIELD_BYTES {
                        break;
                    }
                    if !description.is_empty() {
                        description.push(' ');
                    }
                    description.push_str(v);
                }
            }
            out.push(Param {
                name: cap(name.clone()),
                description,
            });
            collect_params(prop, depth + 1, out);
        }
    }
    if let Some(items) = obj.get("items") {
        collect_params(items, depth + 1, out);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(alts)) = obj.get(key) {
            for alt in alts {
                collect_params(alt, depth + 1, out);
            }
        }
    }
}

/// A catalog file: `{"servers": [{"name": "…", "tools": [<MCP Tool objects>]}]}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Catalog {
    /// The servers, each with its tools as `tools/list` returns them.
    pub servers: Vec<CatalogServer>,
}

/// One server of a [`Catalog`].
#[derive(Debug, Clone, Deserialize)]
pub struct CatalogServer {
    /// Server name; tools are identified by (server name, tool name).
    pub name: String,
    /// MCP `Tool` objects.
    #[serde(default)]
    pub tools: Vec<Value>,
}

impl Catalog {
    /// Parses a catalog document.
    pub fn from_json(text: &str) -> Result<Self, SearchError> {
        serde_json::from_str(text).map_err(|e| SearchError::InvalidCatalog {
            reason: e.to_string(),
        })
    }

    /// Every tool of every server as a [`ToolDoc`], in file order.
    pub fn tool_docs(&self) -> Result<Vec<ToolDoc>, SearchError> {
        let mut docs = Vec::new();
        for server in &self.servers {
            for (i, tool) in server.tools.iter().enumerate() {
                let doc = ToolDoc::from_mcp(&server.name, tool).map_err(|e| {
                    SearchError::InvalidCatalog {
                        reason: format!("server `{}`, tool #{i}: {e}", server.name),
                    }
                })?;
                docs.push(doc);
            }
        }
        Ok(docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tool_without_name_is_rejected() {
        let err = ToolDoc::from_mcp("s", &json!({"description": "x"}));
        assert!(matches!(err, Err(SearchError::InvalidTool { .. })));
        assert!(matches!(
            ToolDoc::from_mcp("s", &json!("x")),
            Err(SearchError::InvalidTool { .. })
        ));
    }

    #[test]
    fn nested_params_enums_and_title_fallback_are_read() {
        let tool = json!({
            "name": "create_issue",
            "annotations": {"title": "Create issue", "destructiveHint": true},
            "inputSchema": {"type": "object", "properties": {
                "state": {"type": "string", "enum": ["open", "closed"], "description": "State"},
                "labels": {"type": "array", "items": {"type": "object", "properties": {
                    "color": {"type": "string", "description": "Hex colour"}}}}
            }}
        });
        let doc = ToolDoc::from_mcp("github", &tool).expect("valid tool");
        assert_eq!(doc.title, "Create issue");
        assert_eq!(doc.annotations, "destructive");
        let mut names: Vec<_> = doc.params.iter().map(|p| p.name.as_str()).collect();
        names.sort_unstable();
        assert_eq!(names, ["color", "labels", "state"]);
        let state = doc
            .params
            .iter()
            .find(|p| p.name == "state")
            .expect("state param");
        assert_eq!(state.description, "State open closed");
    }

    #[test]
    fn max_schema_depth_stops_walking_deep_schemas() {
        let mut schema = json!({"type": "object", "properties": {"leaf": {"type": "string"}}});
        for i in 0..MAX_SCHEMA_DEPTH + 5 {
            schema = json!({"type": "object", "properties": {format!("p{i}"): schema}});
        }
        let doc = ToolDoc::from_mcp("s", &json!({"name": "deep", "inputSchema": schema}))
            .expect("valid tool");
        assert_eq!(doc.params.len(), MAX_SCHEMA_DEPTH);
    }

    #[test]
    fn max_params_per_tool_caps_parameters() {
        let props: serde_json::Map<String, Value> = (0..MAX_PARAMS_PER_TOOL + 10)
            .map(|i| (format!("p{i}"), json!({"type": "string"})))
            .collect();
        let tool = json!({"name": "wide", "inputSchema": {"type": "object", "properties": props}});
        let doc = ToolDoc::from_mcp("s", &tool).expect("valid tool");
        assert_eq!(doc.params.len(), MAX_PARAMS_PER_TOOL);
    }

    #[test]
    fn max_field_bytes_cuts_long_descriptions_at_char_boundary() {
        let desc = "é".repeat(MAX_FIELD_BYTES);
        let doc =
            ToolDoc::from_mcp("s", &json!({"name": "n", "description": desc})).expect("valid tool");
        assert!(doc.description.len() <= MAX_FIELD_BYTES);
        assert!(doc.description.len() > MAX_FIELD_BYTES - 2);
    }

    #[test]
    fn catalog_errors_name_the_server_and_tool() {
        let cat = Catalog::from_json(r#"{"servers":[{"name":"a","tools":[{"name":"x"},{}]}]}"#)
            .expect("valid json");
        match cat.tool_docs() {
            Err(SearchError::InvalidCatalog { reason }) => assert!(reason.contains("`a`, tool #1")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            Catalog::from_json("{"),
            Err(SearchError::InvalidCatalog { .. })
        ));
    }
}
