//! Query expansion: the words people use for a task mapped to the words tool authors use.
//!
//! Users say "folder", "repo", "PR" and "picture"; tool definitions say "directory",
//! "repository", "pull request" and "image". BM25 cannot bridge that on its own. Each entry maps
//! a query word to the words it may stand for; at query time, expansions are added with a
//! reduced weight ([`crate::Bm25Config::expansion_weight`]) so a literal match still wins.
//! Entries are one-way (`show` may mean `list`; `list` does not mean `show`). Words are stemmed
//! with the same tokenizer as everything else, so inflections need no entries.
//!
//! Provenance, for honest evaluation: the first version of this table was written after the
//! BM25F misses on `eval/queries.jsonl` were seen; `eval/queries-holdout.jsonl` was written
//! afterwards to measure it on queries it was not shaped by (see `docs/benchmarks.md`).

use crate::index::FxMap;
use crate::tokenize::Tokenizer;

/// Query word → words it may stand for (multi-word expansions are split into terms).
const ENTRIES: &[(&str, &[&str])] = &[
    // Files and folders.
    ("folder", &["directory"]),
    ("dir", &["directory"]),
    ("subfolder", &["directory"]),
    ("rename", &["move"]),
    ("save", &["write", "store"]),
    ("store", &["write", "save"]),
    ("open", &["read"]),
    ("picture", &["image", "media"]),
    ("photo", &["image", "media"]),
    ("pic", &["image", "media"]),
    ("png", &["image", "media"]),
    ("jpg", &["image", "media"]),
    ("big", &["size"]),
    ("large", &["size"]),
    ("modified", &["metadata", "info", "time"]),
    ("structure", &["tree"]),
    ("grep", &["search", "content"]),
    ("todo", &["search", "task"]),
    // Code hosting.
    ("repo", &["repository", "project"]),
    ("repos", &["repository", "project"]),
    ("pr", &["pull request"]),
    ("prs", &["pull request"]),
    ("mr", &["merge request"]),
    ("mrs", &["merge request"]),
    ("bug", &["issue"]),
    ("ticket", &["issue", "story"]),
    ("copy", &["fork", "clone"]),
    ("touch", &["change", "modify"]),
    ("touched", &["change", "blame"]),
    ("blame", &["blame"]),
    ("org", &["organization", "organisation"]),
    ("close", &["update", "state"]),
    ("reopen", &["update", "state"]),
    ("check", &["status"]),
    ("checks", &["status"]),
    ("ci", &["pipeline", "status", "build"]),
    ("thumbs", &["emoji", "reaction"]),
    ("emoji", &["reaction"]),
    ("react", &["reaction", "emoji"]),
    ("reply", &["comment", "note", "respond"]),
    ("answer", &["reply", "respond"]),
    ("account", &["user"]),
    ("logged", &["user", "authenticated", "current"]),
    ("whoami", &["current user"]),
    ("mine", &["current user"]),
    // Messaging.
    ("tell", &["post", "send", "message"]),
    ("say", &["post", "message"]),
    ("saying", &["message", "history"]),
    ("msg", &["message"]),
    ("dm", &["direct message"]),
    ("chat", &["message", "channel"]),
    // Web.
    ("webpage", &["page", "url"]),
    ("site", &["website", "url", "page"]),
    ("website", &["site", "url"]),
    ("link", &["url"]),
    ("article", &["url", "page", "content"]),
    ("grab", &["fetch", "extract", "scrape"]),
    ("download", &["fetch"]),
    ("google", &["search", "web"]),
    ("lookup", &["search", "find"]),
    ("internet", &["web"]),
    ("online", &["web"]),
    ("research", &["search"]),
    ("paper", &["arxiv", "research"]),
    ("papers", &["arxiv", "research"]),
    ("captions", &["transcript"]),
    ("subtitles", &["transcript"]),
    ("docs", &["documentation"]),
    // Browsers and devices.
    ("go", &["navigate"]),
    ("visit", &["navigate"]),
    ("popup", &["dialog"]),
    ("alert", &["dialog"]),
    ("modal", &["dialog"]),
    ("dismiss", &["dialog", "close"]),
    ("dropdown", &["select", "option"]),
    ("enter", &["type", "fill", "input"]),
    ("type", &["fill", "input"]),
    ("tap", &["click", "press"]),
    ("call", &["request"]),
    ("calls", &["request"]),
    ("errors", &["console", "log"]),
    ("slow", &["performance", "trace"]),
    ("profile", &["trace", "performance"]),
    ("phone", &["mobile", "device"]),
    ("android", &["mobile", "device"]),
    ("iphone", &["mobile", "device"]),
    ("ios", &["mobile", "device"]),
    ("apk", &["app"]),
    ("rotate", &["orientation"]),
    ("landscape", &["orientation"]),
    ("portrait", &["orientation"]),
    ("gps", &["location"]),
    // Operations.
    ("k8s", &["kubernetes", "kubectl"]),
    ("cluster", &["context", "kubernetes"]),
    ("roll", &["rollout", "rollback"]),
    ("rollback", &["rollout"]),
    ("replicas", &["scale"]),
    ("shell", &["exec", "command", "terminal"]),
    ("kill", &["terminate", "stop"]),
    ("terminal", &["process", "shell"]),
    ("silence", &["mute", "downtime"]),
    ("snooze", &["mute", "downtime"]),
    ("outage", &["incident"]),
    ("cpu", &["metrics", "usage"]),
    ("latency", &["metrics", "performance"]),
    ("graph", &["metrics", "chart"]),
    ("sprint", &["iteration"]),
    ("db", &["database"]),
    ("sql", &["query", "database"]),
    ("row", &["record"]),
    ("rows", &["record"]),
    ("column", &["field"]),
    ("fields", &["schema"]),
    ("mongo", &["mongodb"]),
    // Memory, charts, time, places.
    ("remember", &["memory", "observation", "entity"]),
    ("recall", &["memory", "search", "node"]),
    ("forget", &["delete", "memory", "entity"]),
    ("know", &["memory", "search"]),
    ("plot", &["chart"]),
    ("visualize", &["chart"]),
    ("diagram", &["chart"]),
    ("coordinates", &["geocode", "latitude", "longitude"]),
    ("latitude", &["geocode"]),
    ("address", &["geocode"]),
    ("altitude", &["elevation"]),
    ("height", &["elevation"]),
    ("high", &["elevation"]),
    ("drive", &["directions", "distance", "travel"]),
    ("route", &["directions"]),
    ("near", &["local", "place"]),
    ("nearby", &["local", "place"]),
    ("hours", &["details", "place"]),
    ("timezone", &["time zone"]),
    ("tz", &["timezone"]),
    // Generic verbs.
    ("delete", &["remove"]),
    ("remove", &["delete"]),
    ("erase", &["delete", "remove"]),
    ("make", &["create", "generate"]),
    ("new", &["create"]),
    ("add", &["create"]),
    ("show", &["get", "list", "view"]),
    ("view", &["get", "read"]),
    ("find", &["search"]),
    ("look", &["search", "get"]),
    ("edit", &["modify", "update", "change"]),
    ("change", &["update", "edit"]),
    ("replace", &["edit", "update"]),
    ("run", &["execute", "start"]),
    ("execute", &["run"]),
    ("launch", &["start", "open"]),
    ("start", &["run", "create"]),
    ("stop", &["terminate", "cancel"]),
    ("fix", &["update"]),
    ("undo", &["revert", "reset"]),
];

/// Query-time expansions, keyed and valued by index terms (stems).
#[derive(Debug, Default)]
pub(crate) struct Thesaurus {
    map: FxMap<String, Vec<String>>,
}

impl Thesaurus {
    /// Builds the table, stemming every word with `tokenizer`.
    pub(crate) fn new(tokenizer: &Tokenizer) -> Self {
        let mut map: FxMap<String, Vec<String>> = FxMap::default();
        for (word, expansions) in ENTRIES {
            let Some(key) = tokenizer.word_term(word) else {
                continue;
            };
            let entry = map.entry(key.into_owned()).or_default();
            for e in expansions.iter() {
                for term in tokenizer.terms(e) {
                    if !entry.contains(&term) {
                        entry.push(term);
                    }
                }
            }
        }
        Self { map }
    }

    /// Terms that the query term `term` may stand for.
    pub(crate) fn expand(&self, term: &str) -> &[String] {
        self.map.get(term).map_or(&[], Vec::as_slice)
    }

    /// Heap bytes of the table (an estimate, like [`crate::Index::heap_bytes`]).
    pub(crate) fn heap_bytes(&self) -> usize {
        let mut n = self.map.capacity() * (std::mem::size_of::<(String, Vec<String>)>() + 1);
        for (k, v) in &self.map {
            n += k.capacity() + v.capacity() * std::mem::size_of::<String>();
            n += v.iter().map(String::capacity).sum::<usize>();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_stemmed_like_queries() {
        let t = Thesaurus::new(&Tokenizer::new());
        assert_eq!(t.expand("folder"), ["directori"]);
        assert_eq!(t.expand("pr"), ["pull", "request"]);
        assert!(t.expand("directori").is_empty(), "entries are one-way");
    }

    #[test]
    fn no_entry_key_is_a_stop_word() {
        let tok = Tokenizer::new();
        for (word, _) in ENTRIES {
            assert!(
                tok.word_term(word).is_some(),
                "{word} would never be looked up"
            );
        }
    }
}
