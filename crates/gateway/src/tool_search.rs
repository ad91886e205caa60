//! Tool search mode: instead of every upstream tool, `tools/list` shows a few pinned tools,
//! the tools this session has found, and two gateway tools — `search_tools` (query in,
//! ranked full tool definitions out, from a [`switchyard_search::Index`] over the merged
//! catalog) and `call_tool` (calls any catalog tool by name, for clients that never re-list).
//!
//! Which tools a client sees depends on its session:
//!
//! - **With an MCP session** (2025-11-25 and earlier over Streamable HTTP): the tools
//!   `search_tools` returns join that session's visible set, and a
//!   `notifications/tools/list_changed` goes to that session alone (its GET stream, else the
//!   `search_tools` response stream).
//! - **Without one, but authenticated** (2026-07-28 is stateless): the visible set belongs to
//!   the caller (the token's subject, from the [`Caller`] in the request extensions), and the
//!   list change goes as a targeted event to that caller's `subscriptions/listen` streams
//!   (tagged with their subscription ids), never to other callers'.
//! - **Anonymous and sessionless** (2026-07-28 with authorization off; stdio): there is nothing
//!   to key a visible set by, so `tools/list` stays pinned tools + `search_tools` + `call_tool`,
//!   no list change is announced, and found tools are called through `call_tool` or directly by
//!   name.
//!
//! Visibility is about context size, not access: any catalog tool (after the upstreams' allow
//! and deny lists) can be called by its exposed name whether it is listed or not.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use switchyard_protocol::jsonrpc::ErrorObject;
use switchyard_search::limits::MAX_RESULTS;
use switchyard_search::{Index, SearchError, ToolDoc};
use switchyard_server::{Audience, RequestContext, Server, ServerEvent};

use crate::access::Caller;

/// Name of the gateway tool that searches the catalog.
pub const SEARCH_TOOLS: &str = "search_tools";
/// Name of the gateway tool that calls any catalog tool by name.
pub const CALL_TOOL: &str = "call_tool";
/// Default number of results of `search_tools`.
pub const DEFAULT_TOP_K: usize = 8;
/// Most results one `search_tools` call may ask for: the point of the mode is a few
/// definitions, and each one costs the client context.
pub const MAX_TOP_K: usize = 50;
/// Sessions whose visible sets are remembered; beyond this the least recently used is
/// forgotten (it falls back to the pinned tools, and can search again). The gateway is not told
/// when a session ends, so the table needs a bound.
pub const MAX_TRACKED_SESSIONS: usize = 10_000;
/// Tools a session may discover; beyond this the earliest found leave its list again.
pub const MAX_DISCOVERED_PER_SESSION: usize = 256;

/// How `search_tools` reads its `query`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToolSearchMode {
    /// A task in words, ranked by BM25F over names, descriptions and parameters.
    #[default]
    Bm25,
    /// A Python-syntax regular expression (`re.search`), as the Claude API's regex tool search.
    Regex,
}

/// Settings of tool search mode.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSearchConfig {
    /// Exposed tool names (`*` globs) always listed, e.g. `"docs__search"` or `"github__*"`.
    #[serde(default)]
    pub pinned: Vec<String>,
    /// Results of `search_tools` when the caller gives no `top_k` (1–[`MAX_TOP_K`]).
    #[serde(default = "default_top_k")]
    pub top_k: usize,
    /// How queries are read.
    #[serde(default)]
    pub mode: ToolSearchMode,
}

fn default_top_k() -> usize {
    DEFAULT_TOP_K
}

impl Default for ToolSearchConfig {
    fn default() -> Self {
        Self {
            pinned: Vec::new(),
            top_k: DEFAULT_TOP_K,
            mode: ToolSearchMode::Bm25,
        }
    }
}

/// Why tool search mode could not be turned on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ToolSearchError {
    /// `top_k` is 0 or above [`MAX_TOP_K`].
    #[error("tool_search.top_k must be between 1 and {MAX_TOP_K}, not {0}")]
    TopK(usize),
    /// Tool search was already enabled on this gateway.
    #[error("tool search is already enabled")]
    AlreadyEnabled,
}

/// One indexed tool.
struct Entry {
    upstream: String,
    name: String,
    definition: Value,
    fingerprint: u64,
}

#[derive(Default)]
struct Catalog {
    index: Index,
    /// Exposed name → entry.
    tools: HashMap<String, Entry>,
    /// (upstream, upstream's tool name) → exposed name, to turn hits into definitions.
    exposed: HashMap<(String, String), String>,
}

struct SessionSet {
    tools: VecDeque<String>,
    last_used: u64,
}

#[derive(Default)]
struct Sessions {
    map: HashMap<String, SessionSet>,
    clock: u64,
}

/// What the gateway does with a `tools/call` in tool search mode.
pub(crate) enum Intercept {
    /// A gateway tool answered.
    Reply(Result<Vec<u8>, ErrorObject>),
    /// `call_tool`: route this call as if the client had made it.
    Forward {
        /// Exposed name of the target tool.
        name: String,
        /// Its arguments, verbatim.
        arguments: Option<Box<RawValue>>,
    },
    /// Not a gateway tool: route as usual.
    Pass,
}

/// The tool search state of one gateway: its index and the sessions' visible sets.
pub(crate) struct ToolSearch {
    cfg: ToolSearchConfig,
    catalog: RwLock<Catalog>,
    sessions: Mutex<Sessions>,
    /// The gateway's server, for list changes addressed to one sessionless caller.
    server: Arc<OnceLock<Server>>,
}

/// Whose visible set a request reads and grows: its session's, else its authenticated
/// caller's; none for an anonymous request without a session.
fn set_key(ctx: &RequestContext) -> Option<String> {
    match ctx.session_id() {
        Some(sid) => Some(format!("session:{sid}")),
        None => ctx
            .extensions()
            .get::<Caller>()
            .map(|c| format!("caller:{}", c.subject)),
    }
}

fn fingerprint(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    v.to_string().hash(&mut h);
    h.finish()
}

impl ToolSearch {
    /// Checks the settings.
    pub(crate) fn new(
        cfg: ToolSearchConfig,
        server: Arc<OnceLock<Server>>,
    ) -> Result<Self, ToolSearchError> {
        if !(1..=MAX_TOP_K).contains(&cfg.top_k) {
            return Err(ToolSearchError::TopK(cfg.top_k));
        }
        Ok(Self {
            cfg,
            catalog: RwLock::new(Catalog::default()),
            sessions: Mutex::new(Sessions::default()),
            server,
        })
    }

    /// Brings the index in line with the merged catalog: `(upstream name, upstream's tool
    /// name, exposed definition)` for every exposed tool. Only new, changed and removed tools
    /// touch the index. Returns how many tools were (re)indexed and how many removed.
    pub(crate) fn sync<'a>(
        &self,
        tools: impl Iterator<Item = (&'a str, &'a str, &'a Value)>,
    ) -> (usize, usize) {
        let mut cat = self.catalog.write().unwrap_or_else(|p| p.into_inner());
        let mut fresh: HashMap<String, Entry> = HashMap::new();
        for (upstream, name, def) in tools {
            let Some(exposed) = def.get("name").and_then(Value::as_str) else {
                continue;
            };
            fresh.insert(
                exposed.to_owned(),
                Entry {
                    upstream: upstream.to_owned(),
                    name: name.to_owned(),
                    definition: def.clone(),
                    fingerprint: fingerprint(def),
                },
            );
        }
        let same = |a: &Entry, b: &Entry| {
            a.fingerprint == b.fingerprint && a.upstream == b.upstream && a.name == b.name
        };
        let stale: Vec<String> = cat
            .tools
            .iter()
            .filter(|(k, old)| fresh.get(*k).is_none_or(|new| !same(old, new)))
            .map(|(k, _)| k.clone())
            .collect();
        for k in &stale {
            if let Some(old) = cat.tools.remove(k) {
                cat.index.remove(&old.upstream, &old.name);
                cat.exposed.remove(&(old.upstream, old.name));
            }
        }
        let mut added = 0;
        for (exposed, entry) in fresh {
            if cat.tools.contains_key(&exposed) {
                continue;
            }
            let doc = ToolDoc::from_mcp(&entry.upstream, &entry.definition).map(|mut d| {
                // Indexed under the upstream's own name: the prefix is the server field's job.
                d.name.clone_from(&entry.name);
                d
            });
            match doc.and_then(|d| cat.index.add(d)) {
                Ok(_) => {
                    cat.exposed.insert(
                        (entry.upstream.clone(), entry.name.clone()),
                        exposed.clone(),
                    );
                    cat.tools.insert(exposed, entry);
                    added += 1;
                }
                Err(e) => {
                    tracing::warn!(tool = %exposed, error = %e, "tool left out of the search index");
                }
            }
        }
        (added, stale.len())
    }

    fn pinned(&self, name: &str) -> bool {
        self.cfg.pinned.iter().any(|p| crate::config::glob(p, name))
    }

    /// The `tools/list` of tool search mode: the gateway tools, then, in catalog order, the
    /// pinned tools and those this request's session discovered.
    pub(crate) fn visible_tools(&self, ctx: &RequestContext, catalog: &[Value]) -> Vec<Value> {
        let discovered: Vec<String> = set_key(ctx)
            .and_then(|sid| {
                let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
                s.clock += 1;
                let now = s.clock;
                s.map.get_mut(&sid).map(|set| {
                    set.last_used = now;
                    set.tools.iter().cloned().collect()
                })
            })
            .unwrap_or_default();
        let mut out = self.gateway_tools();
        out.extend(
            catalog
                .iter()
                .filter(|t| {
                    t.get("name")
                        .and_then(Value::as_str)
                        .is_some_and(|n| self.pinned(n) || discovered.iter().any(|d| d == n))
                })
                .cloned(),
        );
        out
    }

    fn gateway_tools(&self) -> Vec<Value> {
        let query = match self.cfg.mode {
            ToolSearchMode::Bm25 => "What you want to do, in words (e.g. \"open a pull request\").",
            ToolSearchMode::Regex => {
                "A Python-syntax regular expression (re.search, case-sensitive unless (?i), at \
                 most 200 characters) matched against tool names, descriptions and parameters."
            }
        };
        vec![
            json!({
                "name": SEARCH_TOOLS,
                "title": "Search tools",
                "description": "Finds the tools that fit a task among all the tools this \
                    gateway can reach, and returns their full definitions, best first. Found \
                    tools are added to your tool list; call them by name, or through call_tool.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": query},
                        "top_k": {
                            "type": "integer", "minimum": 1, "maximum": MAX_TOP_K,
                            "description": format!("How many tools to return (default {}).", self.cfg.top_k)
                        }
                    },
                    "required": ["query"]
                },
                "outputSchema": {
                    "type": "object",
                    "properties": {"tools": {"type": "array", "items": {"type": "object"}}},
                    "required": ["tools"]
                },
                "annotations": {"readOnlyHint": true, "openWorldHint": false}
            }),
            json!({
                "name": CALL_TOOL,
                "title": "Call a tool",
                "description": "Calls any tool by the name search_tools returned, with its \
                    arguments; for when the tool is not in your tool list.",
                "inputSchema": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string", "description": "The tool's name."},
                        "arguments": {"type": "object", "description": "The tool's arguments."}
                    },
                    "required": ["name"]
                }
            }),
        ]
    }

    /// Handles `search_tools` and `call_tool`; anything else passes. `allowed` says whether
    /// this caller may see a tool (by exposed name): search results never show others.
    pub(crate) fn intercept(
        &self,
        name: &str,
        arguments: Option<&RawValue>,
        ctx: &RequestContext,
        allowed: &dyn Fn(&str) -> bool,
    ) -> Intercept {
        let args = arguments.map_or("{}", RawValue::get);
        match name {
            SEARCH_TOOLS => Intercept::Reply(Ok(self.search_tools(args, ctx, allowed))),
            CALL_TOOL => {
                #[derive(Deserialize)]
                struct A {
                    name: String,
                    #[serde(default)]
                    arguments: Option<Box<RawValue>>,
                }
                match serde_json::from_str::<A>(args) {
                    Ok(a) if a.name == SEARCH_TOOLS || a.name == CALL_TOOL => {
                        Intercept::Reply(Ok(tool_error(
                            ctx,
                            &format!("call_tool calls catalog tools; call {} directly", a.name),
                        )))
                    }
                    Ok(a) => Intercept::Forward {
                        name: a.name,
                        arguments: a.arguments,
                    },
                    Err(e) => Intercept::Reply(Ok(tool_error(
                        ctx,
                        &format!(
                            "call_tool needs {{\"name\": string, \"arguments\": object}}: {e}"
                        ),
                    ))),
                }
            }
            _ => Intercept::Pass,
        }
    }

    fn search_tools(
        &self,
        args: &str,
        ctx: &RequestContext,
        allowed: &dyn Fn(&str) -> bool,
    ) -> Vec<u8> {
        #[derive(Deserialize)]
        struct A {
            query: String,
            #[serde(default)]
            top_k: Option<usize>,
        }
        let a = match serde_json::from_str::<A>(args) {
            Ok(a) => a,
            Err(e) => {
                return tool_error(
                    ctx,
                    &format!("search_tools needs {{\"query\": string, \"top_k\"?: integer}}: {e}"),
                )
            }
        };
        let top = a.top_k.unwrap_or(self.cfg.top_k).clamp(1, MAX_TOP_K);
        let found: Result<Vec<(String, Value)>, SearchError> = {
            let cat = self.catalog.read().unwrap_or_else(|p| p.into_inner());
            // Ranked deeper than `top`, since tools this caller may not see are dropped after.
            let hits = match self.cfg.mode {
                ToolSearchMode::Bm25 => cat.index.search(&a.query, MAX_RESULTS),
                ToolSearchMode::Regex => cat.index.search_regex(&a.query, MAX_RESULTS),
            };
            hits.map(|hits| {
                hits.iter()
                    .filter_map(|h| {
                        let exposed = cat.exposed.get(&(h.server.to_owned(), h.name.to_owned()))?;
                        let e = cat.tools.get(exposed)?;
                        allowed(exposed).then(|| (exposed.clone(), e.definition.clone()))
                    })
                    .take(top)
                    .collect()
            })
        };
        let found = match found {
            Ok(f) => f,
            Err(e) => return tool_error(ctx, &format!("search failed: {e}")),
        };
        if self.discover(ctx, found.iter().map(|(n, _)| n.as_str()))
            && !ctx.notify_session(&ServerEvent::ToolsListChanged)
        {
            self.notify_caller(ctx);
        }
        let tools: Vec<Value> = found.into_iter().map(|(_, d)| d).collect();
        let text = Value::Array(tools.clone()).to_string();
        let mut r = json!({
            "content": [{"type": "text", "text": text}],
            "structuredContent": {"tools": tools},
        });
        if ctx.protocol_version().is_modern() {
            r["resultType"] = json!("complete");
        }
        r.to_string().into_bytes()
    }

    /// Announces a list change to the `subscriptions/listen` streams of this request's
    /// authenticated caller (2026-07-28: no session to send it to).
    fn notify_caller(&self, ctx: &RequestContext) {
        let (Some(caller), Some(server)) = (ctx.extensions().get::<Caller>(), self.server.get())
        else {
            return;
        };
        let subject = caller.subject.clone();
        let audience =
            Audience::new(move |ext| ext.get::<Caller>().is_some_and(|c| c.subject == subject));
        server.notify(ServerEvent::Targeted(
            audience,
            Box::new(ServerEvent::ToolsListChanged),
        ));
    }

    /// Adds found tools to the session's visible set; `true` if its list changed.
    fn discover<'a>(&self, ctx: &RequestContext, names: impl Iterator<Item = &'a str>) -> bool {
        let Some(sid) = set_key(ctx) else {
            return false;
        };
        let names: Vec<&str> = names.filter(|n| !self.pinned(n)).collect();
        if names.is_empty() {
            return false;
        }
        let mut s = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        s.clock += 1;
        let now = s.clock;
        if !s.map.contains_key(&sid) && s.map.len() >= MAX_TRACKED_SESSIONS {
            let oldest = s
                .map
                .iter()
                .min_by_key(|(_, set)| set.last_used)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                s.map.remove(&k);
            }
        }
        let set = s.map.entry(sid).or_insert_with(|| SessionSet {
            tools: VecDeque::new(),
            last_used: now,
        });
        set.last_used = now;
        let mut changed = false;
        for n in names {
            if set.tools.iter().any(|t| t == n) {
                continue;
            }
            if set.tools.len() >= MAX_DISCOVERED_PER_SESSION {
                set.tools.pop_front();
            }
            set.tools.push_back(n.to_owned());
            changed = true;
        }
        changed
    }
}

/// A failed tool call the model can read and correct.
fn tool_error(ctx: &RequestContext, msg: &str) -> Vec<u8> {
    crate::gateway::tool_failure(msg, ctx.protocol_version().is_modern())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, description: &str) -> Value {
        json!({"name": name, "description": description, "inputSchema": {"type": "object"}})
    }

    #[test]
    fn top_k_out_of_range_is_refused() {
        for top_k in [0, MAX_TOP_K + 1] {
            let cfg = ToolSearchConfig {
                top_k,
                ..ToolSearchConfig::default()
            };
            assert_eq!(
                ToolSearch::new(cfg, Arc::default()).err(),
                Some(ToolSearchError::TopK(top_k))
            );
        }
    }

    #[test]
    fn sync_touches_only_new_changed_and_removed_tools() {
        let ts =
            ToolSearch::new(ToolSearchConfig::default(), Arc::default()).expect("valid config");
        let a = tool("a__read_file", "Read a file");
        let b = tool("a__get_forecast", "Weather forecast");
        let catalog = [("a", "read_file", &a), ("a", "get_forecast", &b)];
        assert_eq!(ts.sync(catalog.iter().copied()), (2, 0));
        assert_eq!(ts.sync(catalog.iter().copied()), (0, 0));
        let b2 = tool("a__get_forecast", "Weather forecast for a city");
        assert_eq!(
            ts.sync([("a", "read_file", &a), ("a", "get_forecast", &b2)].into_iter()),
            (1, 1)
        );
        assert_eq!(ts.sync([("a", "read_file", &a)].into_iter()), (0, 1));
        let cat = ts.catalog.read().expect("lock");
        assert_eq!(cat.index.len(), 1);
        assert!(cat.index.id_of("a", "read_file").is_some());
    }

    #[test]
    fn config_keys_deserialize_with_defaults() {
        let cfg: ToolSearchConfig =
            serde_json::from_value(json!({"pinned": ["x__*"], "mode": "regex"})).expect("parse");
        assert_eq!(cfg.top_k, DEFAULT_TOP_K);
        assert_eq!(cfg.mode, ToolSearchMode::Regex);
        assert!(serde_json::from_value::<ToolSearchConfig>(json!({"topk": 3})).is_err());
    }
}
