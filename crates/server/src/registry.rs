//! Named, ordered collections of handlers with cheap snapshots for readers.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// Something with a key (name or URI) that lists are keyed by.
pub(crate) trait Named {
    fn key(&self) -> &str;
}

/// An immutable, ordered set of handlers.
#[derive(Debug)]
pub(crate) struct Set<T> {
    pub(crate) items: Vec<T>,
    index: HashMap<String, usize>,
}

impl<T: Named> Set<T> {
    fn build(items: Vec<T>) -> Self {
        let index = items
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key().to_owned(), i))
            .collect();
        Self { items, index }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&T> {
        self.index.get(name).map(|&i| &self.items[i])
    }
}

/// A registry readers snapshot without blocking writers for long; list order is insertion order.
#[derive(Debug)]
pub(crate) struct Registry<T> {
    current: RwLock<Arc<Set<T>>>,
}

impl<T: Named + Clone> Registry<T> {
    pub(crate) fn new(items: Vec<T>) -> Self {
        Self {
            current: RwLock::new(Arc::new(Set::build(dedup(items)))),
        }
    }

    pub(crate) fn snapshot(&self) -> Arc<Set<T>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Adds or replaces by name.
    pub(crate) fn upsert(&self, item: T) {
        let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
        let mut items = cur.items.clone();
        match items.iter().position(|t| t.key() == item.key()) {
            Some(i) => items[i] = item,
            None => items.push(item),
        }
        *cur = Arc::new(Set::build(items));
    }

    /// Removes by name; returns whether something was removed.
    pub(crate) fn remove(&self, name: &str) -> bool {
        let mut cur = self.current.write().unwrap_or_else(|p| p.into_inner());
        let before = cur.items.len();
        let items: Vec<T> = cur
            .items
            .iter()
            .filter(|t| t.key() != name)
            .cloned()
            .collect();
        let removed = items.len() != before;
        *cur = Arc::new(Set::build(items));
        removed
    }
}

/// Later definitions win over earlier ones of the same name.
fn dedup<T: Named>(items: Vec<T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for it in items {
        if let Some(i) = out.iter().position(|t| t.key() == it.key()) {
            out[i] = it;
        } else {
            out.push(it);
        }
    }
    out
}

impl Named for crate::ToolDef {
    fn key(&self) -> &str {
        &self.tool.name
    }
}

impl Named for crate::PromptDef {
    fn key(&self) -> &str {
        &self.prompt.name
    }
}

impl Named for crate::ResourceDef {
    fn key(&self) -> &str {
        &self.resource.uri
    }
}

impl Named for crate::TemplateDef {
    fn key(&self) -> &str {
        &self.template.uri_template
    }
}
