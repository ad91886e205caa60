use super::*;
use crate::tool::Param;

fn tool(server: &str, name: &str, description: &str) -> ToolDoc {
    ToolDoc {
        server: server.into(),
        name: name.into(),
        description: description.into(),
        ..ToolDoc::default()
    }
}

fn names<'a>(hits: &[Hit<'a>]) -> Vec<&'a str> {
    hits.iter().map(|h| h.name).collect()
}

fn sample() -> Index {
    let mut idx = Index::new();
    for t in [
        tool(
            "fs",
            "read_file",
            "Read the complete contents of a file from disk",
        ),
        tool(
            "fs",
            "write_file",
            "Create a new file or overwrite an existing file",
        ),
        tool(
            "fs",
            "list_directory",
            "List the files and directories in a directory",
        ),
        tool("git", "git_log", "Show the commit history of a repository"),
        tool("weather", "get_forecast", "Weather forecast for a city"),
    ] {
        idx.add(t).expect("add");
    }
    idx
}

#[test]
fn name_match_ranks_first() {
    let idx = sample();
    let hits = idx.search("read a file", 3).expect("search");
    assert_eq!(hits[0].name, "read_file");
    assert!(hits.windows(2).all(|w| w[0].score >= w[1].score));
}

#[test]
fn identifier_query_matches_any_spelling() {
    let idx = sample();
    for q in ["readFile", "read-file", "READ_FILE"] {
        assert_eq!(
            idx.search(q, 1).expect("search")[0].name,
            "read_file",
            "{q}"
        );
    }
}

#[test]
fn stemming_joins_inflections() {
    let idx = sample();
    assert_eq!(idx.search("commits", 1).expect("search")[0].name, "git_log");
    assert_eq!(
        idx.search("forecasting", 1).expect("search")[0].name,
        "get_forecast"
    );
}

#[test]
fn server_name_is_searchable() {
    let idx = sample();
    assert_eq!(idx.search("git", 1).expect("search")[0].server, "git");
}

#[test]
fn parameter_names_and_descriptions_are_searchable() {
    let mut idx = sample();
    let mut t = tool("maps", "geocode", "Convert an address");
    t.params = vec![Param {
        name: "postal_code".into(),
        description: "ZIP of the place".into(),
    }];
    idx.add(t).expect("add");
    assert_eq!(
        idx.search("postal code", 1).expect("search")[0].name,
        "geocode"
    );
    assert_eq!(idx.search("zip", 1).expect("search")[0].name, "geocode");
}

#[test]
fn no_matching_term_returns_no_hits() {
    let idx = sample();
    assert!(idx.search("kubernetes pods", 5).expect("search").is_empty());
    assert!(idx.search("查找文件", 5).expect("search").is_empty());
}

#[test]
fn non_latin_tools_are_found_by_non_latin_queries() {
    let mut idx = sample();
    idx.add(tool("docs", "suche", "Dokumente durchsuchen: 查找文件"))
        .expect("add");
    idx.add(tool("ru", "poisk", "Найти документ")).expect("add");
    assert_eq!(idx.search("文件", 1).expect("search")[0].name, "suche");
    assert_eq!(idx.search("найти", 1).expect("search")[0].name, "poisk");
}

#[test]
fn add_with_same_key_replaces() {
    let mut idx = sample();
    let before = idx.len();
    idx.add(tool("weather", "get_forecast", "Tide tables"))
        .expect("add");
    assert_eq!(idx.len(), before);
    assert!(idx
        .search("forecast weather city", 5)
        .expect("search")
        .iter()
        .all(|h| h.name != "get_forecast" || h.score > 0.0));
    assert_eq!(
        idx.search("tide", 1).expect("search")[0].name,
        "get_forecast"
    );
    assert!(idx.search("city", 5).expect("search").is_empty());
}

#[test]
fn remove_takes_tool_out_of_results_and_statistics() {
    let mut idx = sample();
    assert!(idx.remove("fs", "read_file"));
    assert!(!idx.remove("fs", "read_file"));
    assert_eq!(idx.len(), 4);
    assert!(idx
        .search("read", 5)
        .expect("search")
        .iter()
        .all(|h| h.name != "read_file"));
    assert!(idx.id_of("fs", "read_file").is_none());
    // A fresh index with the same tools scores identically: removal leaves no trace.
    let mut fresh = Index::new();
    for t in [
        tool(
            "fs",
            "write_file",
            "Create a new file or overwrite an existing file",
        ),
        tool(
            "fs",
            "list_directory",
            "List the files and directories in a directory",
        ),
        tool("git", "git_log", "Show the commit history of a repository"),
        tool("weather", "get_forecast", "Weather forecast for a city"),
    ] {
        fresh.add(t).expect("add");
    }
    let a: Vec<(String, f32)> = idx
        .search("file directory", 5)
        .expect("search")
        .iter()
        .map(|h| (h.name.to_owned(), h.score))
        .collect();
    let b: Vec<(String, f32)> = fresh
        .search("file directory", 5)
        .expect("search")
        .iter()
        .map(|h| (h.name.to_owned(), h.score))
        .collect();
    assert_eq!(a, b);
}

#[test]
fn removed_slots_are_reused() {
    let mut idx = sample();
    let id = idx.id_of("fs", "read_file").expect("present");
    idx.remove("fs", "read_file");
    let new = idx.add(tool("fs", "stat", "File metadata")).expect("add");
    assert_eq!(id, new);
    assert_eq!(idx.tool(new), Some(("fs", "stat")));
}

#[test]
fn remove_server_removes_all_its_tools() {
    let mut idx = sample();
    assert_eq!(idx.remove_server("fs"), 3);
    assert_eq!(idx.len(), 2);
    assert!(idx.search("file", 5).expect("search").is_empty());
}

#[test]
fn top_limits_results_and_ties_keep_index_order() {
    let mut idx = Index::new();
    for i in 0..10 {
        idx.add(tool("s", &format!("t{i}"), "same words here"))
            .expect("add");
    }
    let hits = idx.search("words", 3).expect("search");
    assert_eq!(names(&hits), ["t0", "t1", "t2"]);
    assert!(idx.search("words", 0).expect("search").is_empty());
}

#[test]
fn max_results_caps_top() {
    let mut idx = Index::new();
    for i in 0..MAX_RESULTS + 10 {
        idx.add(tool("s", &format!("t{i}"), "alpha")).expect("add");
    }
    assert_eq!(
        idx.search("alpha", usize::MAX).expect("search").len(),
        MAX_RESULTS
    );
}

#[test]
fn empty_query_is_an_error() {
    let idx = sample();
    assert_eq!(idx.search("", 5), Err(SearchError::EmptyQuery));
    assert_eq!(idx.search(" \t\n", 5), Err(SearchError::EmptyQuery));
}

#[test]
fn max_query_bytes_rejects_huge_queries() {
    let idx = sample();
    let ok = "file ".repeat(MAX_QUERY_BYTES / 5);
    assert!(idx.search(&ok, 5).is_ok());
    let huge = "x".repeat(MAX_QUERY_BYTES + 1);
    assert_eq!(
        idx.search(&huge, 5),
        Err(SearchError::QueryTooLong {
            len: MAX_QUERY_BYTES + 1,
            limit: MAX_QUERY_BYTES
        })
    );
}

#[test]
fn max_query_terms_rejects_queries_with_too_many_distinct_terms() {
    let idx = sample();
    let words: Vec<String> = (0..=MAX_QUERY_TERMS).map(|i| format!("word{i}")).collect();
    assert_eq!(
        idx.search(&words.join(" "), 5),
        Err(SearchError::TooManyTerms {
            count: MAX_QUERY_TERMS + 1,
            limit: MAX_QUERY_TERMS
        })
    );
    assert!(idx.search(&words[..MAX_QUERY_TERMS].join(" "), 5).is_ok());
}

#[test]
fn query_of_only_symbols_or_stop_words_is_an_error() {
    let idx = sample();
    assert_eq!(idx.search("?!? 🚀", 5), Err(SearchError::NoSearchableTerms));
    assert_eq!(
        idx.search("the of and", 5),
        Err(SearchError::NoSearchableTerms)
    );
}

#[test]
fn max_tools_refuses_additions_past_the_limit() {
    let mut idx = Index::new();
    idx.live = MAX_TOOLS;
    assert_eq!(
        idx.add(tool("s", "t", "d")),
        Err(SearchError::IndexFull { limit: MAX_TOOLS })
    );
}

#[test]
fn heap_bytes_grows_with_content() {
    let empty = Index::new().heap_bytes();
    let idx = sample();
    assert!(idx.heap_bytes() > empty + 200);
}

#[test]
fn index_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Index>();
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Inline word keys hold exactly the word's bytes, zero padding and its length.
        #[test]
        fn short_keys_are_bytes_then_zeros_then_length(word in proptest::collection::vec(1u8.., 0..=30)) {
            let mut want = [0u8; 24];
            let key = ShortKey::new(&word);
            if word.len() <= ShortKey::MAX {
                want[..word.len()].copy_from_slice(&word);
                want[23] = word.len() as u8;
                let w = |i: usize| u64::from_le_bytes(want[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
                prop_assert_eq!(key, Some(ShortKey([w(0), w(1), w(2)])));
            } else {
                prop_assert_eq!(key, None);
            }
        }

        #[test]
        fn search_never_panics_and_scores_are_finite(q in "\\PC{0,64}") {
            let idx = sample();
            if let Ok(hits) = idx.search(&q, 10) {
                prop_assert!(hits.iter().all(|h| h.score.is_finite() && h.score > 0.0));
            }
        }

        #[test]
        fn add_then_remove_all_leaves_an_empty_index(names in proptest::collection::vec("[a-z_]{1,12}", 1..20)) {
            let mut idx = Index::new();
            for n in &names {
                idx.add(tool("s", n, "some description words")).expect("add");
            }
            for n in &names {
                idx.remove("s", n);
            }
            prop_assert_eq!(idx.len(), 0);
            prop_assert!(idx.postings.iter().all(Vec::is_empty));
            prop_assert_eq!(idx.total_len, [0; NFIELDS]);
        }
    }
}

#[test]
fn thesaurus_bridges_user_words_to_tool_words() {
    let idx = sample();
    // "folder" never occurs in the sample; "directory" does.
    assert_eq!(
        idx.search("folder", 1).expect("search")[0].name,
        "list_directory"
    );
}

#[test]
fn literal_match_outweighs_expansion() {
    let mut idx = Index::new();
    idx.add(tool("s", "list_folders", "Folders")).expect("add");
    idx.add(tool("s", "list_directories", "Directories"))
        .expect("add");
    let hits = idx.search("folder", 2).expect("search");
    assert_eq!(names(&hits), ["list_folders", "list_directories"]);
    assert!(hits[0].score > hits[1].score);
}

#[test]
fn expansion_weight_zero_turns_the_thesaurus_off() {
    let mut idx = Index::with_config(Bm25Config {
        expansion_weight: 0.0,
        ..Bm25Config::default()
    });
    idx.add(tool("fs", "list_directory", "List a directory"))
        .expect("add");
    assert!(idx.search("folder", 1).expect("search").is_empty());
}

#[test]
fn word_cache_slots_never_mix_up_words() {
    // Far more words than cache slots, so slots are shared and overwritten.
    let tok = Tokenizer::new();
    let mut vocab = Vocab::default();
    let words: Vec<String> = (0..RECENT_SLOTS * 3).map(|i| format!("w{i}x")).collect();
    let first: Vec<Option<u32>> = words
        .iter()
        .map(|w| vocab.word_term(&tok, w.as_bytes()))
        .collect();
    for (w, t) in words.iter().zip(&first).rev() {
        assert_eq!(vocab.word_term(&tok, w.as_bytes()), *t, "{w}");
        let stem = tok.word_term(w).expect("not a stop word");
        assert_eq!(vocab.terms.get(stem.as_bytes()).copied(), *t, "{w}");
    }
    assert_eq!(vocab.word_term(&tok, b"the"), None, "stop words stay out");
    let long = "a".repeat(ShortKey::MAX + 1);
    let t = vocab.word_term(&tok, long.as_bytes());
    assert!(t.is_some());
    assert_eq!(vocab.word_term(&tok, long.as_bytes()), t);
}

#[test]
fn tool_keys_do_not_collide_across_the_server_name_boundary() {
    let mut idx = Index::new();
    idx.add(tool("a\u{0}b", "c", "one")).expect("add");
    idx.add(tool("a", "b\u{0}c", "two")).expect("add");
    idx.add(tool("ab", "c", "three")).expect("add");
    idx.add(tool("a", "bc", "four")).expect("add");
    assert_eq!(idx.len(), 4);
}

/// The postings of every real tool equal term counts taken the slow, obvious way: each field
/// through [`Tokenizer::terms`] (no word cache, no inline keys), counted per field. Guards the
/// indexing fast paths (byte tokenizer, word caches) against changing what is indexed.
#[test]
fn postings_match_plain_term_counts_on_the_eval_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../eval/catalog.json");
    let text = std::fs::read_to_string(path).expect("eval/catalog.json");
    let docs = crate::Catalog::from_json(&text)
        .and_then(|c| c.tool_docs())
        .expect("catalog");
    let idx = Index::from_docs(docs.clone()).expect("build");
    let tok = Tokenizer::new();
    let mut checked = 0;
    for doc in &docs {
        let slot = idx.id_of(&doc.server, &doc.name).expect("indexed").0;
        let mut want: std::collections::BTreeMap<String, [u8; NFIELDS]> = Default::default();
        let mut lens = [0u16; NFIELDS];
        let mut count = |field: usize, text: &str| {
            for t in tok.terms(text) {
                let tf = &mut want.entry(t).or_default()[field];
                *tf = tf.saturating_add(1);
                lens[field] = lens[field].saturating_add(1);
            }
        };
        count(0, &doc.name);
        count(1, &doc.title);
        count(2, &doc.description);
        for p in &doc.params {
            count(3, &p.name);
            count(4, &p.description);
        }
        count(5, &doc.annotations);
        count(6, &doc.server);
        let mut got = std::collections::BTreeMap::new();
        for (term, &id) in &idx.vocab.terms {
            if let Some(p) = idx.postings[id as usize].iter().find(|p| p.doc == slot) {
                got.insert(utf8(term).to_owned(), p.tf);
            }
        }
        assert_eq!(got, want, "{}/{}", doc.server, doc.name);
        assert_eq!(idx.lens[slot as usize], lens, "{}/{}", doc.server, doc.name);
        checked += 1;
    }
    assert_eq!(checked, 601);
}

#[test]
fn tool_keys_are_the_server_length_then_server_then_name() {
    for len in [0, 1, 9, 10, 11, 99, 100, 101, 1000, 12_345] {
        let server = "s".repeat(len);
        assert_eq!(key_of(&server, "tool"), format!("{len}:{server}tool"));
    }
}

/// Posting lists as comparable data: per term, (doc, tf) in list order.
fn posting_lists(idx: &Index) -> Vec<Vec<(u32, [u8; NFIELDS])>> {
    idx.postings
        .iter()
        .map(|l| l.iter().map(|p| (p.doc, p.tf)).collect())
        .collect()
}

#[test]
fn from_docs_builds_what_adding_one_by_one_builds_even_with_replacements() {
    let mut docs = Vec::new();
    for i in 0..40 {
        docs.push(tool(
            &format!("s{}", i % 5),
            &format!("tool_{}", i % 25), // tools 25.. replace tools 0..15
            &format!(
                "Reads file number {i} and lists directory {} entries",
                i * 7
            ),
        ));
    }
    let bulk = Index::from_docs(docs.clone()).expect("build");
    let mut one_by_one = Index::new();
    for d in docs {
        one_by_one.add(d).expect("add");
    }
    assert_eq!(bulk.len(), 25);
    assert_eq!(one_by_one.len(), 25);
    assert_eq!(posting_lists(&bulk), posting_lists(&one_by_one));
    assert_eq!(bulk.lens, one_by_one.lens);
    assert_eq!(bulk.total_len, one_by_one.total_len);
    assert_eq!(bulk.free, one_by_one.free);
    let q = "read file directory";
    assert_eq!(
        bulk.search(q, 10).expect("search"),
        one_by_one.search(q, 10).expect("search")
    );
}
