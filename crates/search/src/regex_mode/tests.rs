use super::*;
use crate::tool::{Param, ToolDoc};

fn idx() -> Index {
    let mut idx = Index::new();
    let t = |name: &str, description: &str| ToolDoc {
        server: "s".into(),
        name: name.into(),
        description: description.into(),
        ..ToolDoc::default()
    };
    idx.add(t("get_weather", "Current weather for a location"))
        .expect("add");
    idx.add(t("get_forecast", "Daily weather forecast, next 7 days"))
        .expect("add");
    idx.add(t("search_issues", "Search GitHub issues {by label}"))
        .expect("add");
    let mut with_param = t("send_message", "Post to a channel");
    with_param.params = vec![Param {
        name: "channel_id".into(),
        description: "Slack channel".into(),
    }];
    idx.add(with_param).expect("add");
    idx
}

fn names(idx: &Index, p: &str) -> Vec<String> {
    idx.search_regex(p, 10)
        .expect("valid pattern")
        .iter()
        .map(|h| h.name.to_owned())
        .collect()
}

#[test]
fn search_semantics_match_anywhere() {
    assert_eq!(names(&idx(), "weather"), ["get_weather", "get_forecast"]);
    assert_eq!(names(&idx(), "^get_"), ["get_weather", "get_forecast"]);
}

#[test]
fn case_sensitive_unless_inline_i_flag() {
    assert!(names(&idx(), "WEATHER").is_empty());
    assert_eq!(
        names(&idx(), "(?i)WEATHER"),
        ["get_weather", "get_forecast"]
    );
    assert_eq!(names(&idx(), "(?i:github)"), ["search_issues"]);
}

#[test]
fn name_match_outranks_description_match() {
    // "weather" is in both names' descriptions but only one name.
    let idx = idx();
    let hits = idx.search_regex("weather", 2).expect("valid");
    assert_eq!(hits[0].name, "get_weather");
    assert!(hits[0].score > hits[1].score);
}

#[test]
fn parameter_names_and_descriptions_are_searched() {
    assert_eq!(names(&idx(), "channel_id"), ["send_message"]);
    assert_eq!(names(&idx(), "Slack"), ["send_message"]);
}

#[test]
fn python_syntax_is_translated() {
    assert_eq!(
        names(&idx(), r"(?P<verb>get)_\w+"),
        ["get_weather", "get_forecast"]
    );
    assert_eq!(names(&idx(), r"7 days\Z"), ["get_forecast"]);
    assert_eq!(names(&idx(), r"\{by"), ["search_issues"]);
    // A brace that is not a quantifier is a literal in Python.
    assert_eq!(names(&idx(), r"{by label}"), ["search_issues"]);
    assert_eq!(names(&idx(), r"ne{,1}xt"), ["get_forecast"]);
    assert_eq!(names(&idx(), r"[]x]|days(?#comment)"), ["get_forecast"]);
    assert_eq!(names(&idx(), r"Slack[[]?"), ["send_message"]);
    assert_eq!(
        names(&idx(), r"(?x) get _ weather  # verbose"),
        ["get_weather"]
    );
}

#[test]
fn dollar_matches_before_a_final_newline_as_in_python() {
    let mut idx = Index::new();
    let doc = ToolDoc {
        server: "s".into(),
        name: "t".into(),
        description: "Reads files\n".into(),
        ..ToolDoc::default()
    };
    idx.add(doc).expect("add");
    assert_eq!(names(&idx, "files$"), ["t"]);
}

#[test]
fn translate_outputs() {
    assert_eq!(translate(r"a{,3}").expect("ok"), r"a{0,3}");
    assert_eq!(translate(r"a{2,}?").expect("ok"), r"a{2,}?");
    assert_eq!(translate(r"{x}").expect("ok"), r"\{x\}");
    assert_eq!(translate(r"[a&&b~~c]").expect("ok"), r"[a\&\&b\~\~c]");
    assert_eq!(translate(r"[\b]").expect("ok"), r"[\x08]");
    assert_eq!(translate(r"x\Z").expect("ok"), r"x\z");
    assert_eq!(translate(r"(?u)x").expect("ok"), "x");
    assert_eq!(translate(r"\%").expect("ok"), "%");
    assert_eq!(translate(r"\>").expect("ok"), ">");
}

#[test]
fn backtracking_features_are_unsupported_errors() {
    for (p, feature) in [
        (r"(a)\1", "a backreference"),
        (r"(?P<x>a)(?P=x)", "a backreference"),
        (r"foo(?=bar)", "lookaround"),
        (r"foo(?!bar)", "lookaround"),
        (r"(?<=a)b", "lookaround"),
        (r"(?<!a)b", "lookaround"),
        (r"(?>a+)b", "an atomic group"),
        (r"a++", "a possessive quantifier"),
        (r"a{2}+", "a possessive quantifier"),
        (r"(a)?(?(1)b|c)", "a conditional group"),
        (r"(?a)\w", "the ASCII flag (?a)"),
    ] {
        assert_eq!(
            ToolPattern::new(p).err(),
            Some(SearchError::UnsupportedRegex { feature }),
            "{p}"
        );
    }
}

#[test]
fn invalid_patterns_are_clear_errors() {
    for p in ["(", "[abc", "a)", r"\", r"\q", "*a", r"(?<name>x)"] {
        match ToolPattern::new(p) {
            Err(SearchError::InvalidPattern { reason }) => assert!(!reason.is_empty(), "{p}"),
            other => panic!("{p}: expected InvalidPattern, got {other:?}"),
        }
    }
}

#[test]
fn empty_pattern_is_an_error() {
    assert_eq!(ToolPattern::new("").err(), Some(SearchError::EmptyQuery));
}

#[test]
fn max_pattern_chars_counts_characters_not_bytes() {
    let ok = "é".repeat(MAX_PATTERN_CHARS);
    assert!(ToolPattern::new(&ok).is_ok());
    let long = "é".repeat(MAX_PATTERN_CHARS + 1);
    assert_eq!(
        ToolPattern::new(&long).err(),
        Some(SearchError::PatternTooLong {
            len: MAX_PATTERN_CHARS + 1,
            limit: MAX_PATTERN_CHARS
        })
    );
}

#[test]
fn max_regex_program_bytes_rejects_exploding_repetition() {
    match ToolPattern::new(r"\w{1000}{1000}") {
        Err(SearchError::InvalidPattern { reason }) => {
            assert!(reason.contains("simplify"), "{reason}")
        }
        other => panic!("expected a size error, got {other:?}"),
    }
}

#[test]
fn max_matches_per_field_caps_scores() {
    let mut idx = Index::new();
    let many = "x ".repeat(MAX_MATCHES_PER_FIELD * 3);
    let few = "x ".repeat(MAX_MATCHES_PER_FIELD);
    for (name, d) in [("many", many), ("few", few)] {
        idx.add(ToolDoc {
            server: "s".into(),
            name: name.into(),
            description: d,
            ..ToolDoc::default()
        })
        .expect("add");
    }
    let hits = idx.search_regex("x", 2).expect("valid");
    assert_eq!(hits[0].score, hits[1].score);
}

#[test]
fn non_latin_patterns_work() {
    let mut idx = idx();
    idx.add(ToolDoc {
        server: "s".into(),
        name: "suche".into(),
        description: "Dateien durchsuchen 查找文件".into(),
        ..ToolDoc::default()
    })
    .expect("add");
    assert_eq!(names(&idx, "文件"), ["suche"]);
    assert_eq!(names(&idx, r"(?i)DATEIEN"), ["suche"]);
}

#[test]
fn pathological_pattern_runs_in_linear_time_and_matches() {
    // Catastrophic for a backtracking engine; linear for `regex`.
    let mut idx = Index::new();
    idx.add(ToolDoc {
        server: "s".into(),
        name: "a".into(),
        description: "a".repeat(5000),
        ..ToolDoc::default()
    })
    .expect("add");
    assert!(idx.search_regex(r"(a+)+b", 5).expect("valid").is_empty());
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_patterns_never_panic(p in "\\PC{0,40}") {
            let _ = idx().search_regex(&p, 5);
        }

        #[test]
        fn escaped_literals_always_match_themselves(s in "[ -~]{1,30}") {
            let escaped: String = s.chars().flat_map(|c| {
                if c.is_ascii_alphanumeric() || c == ' ' { vec![c] } else { vec!['\\', c] }
            }).collect();
            let p = ToolPattern::new(&escaped).expect("escaped literal compiles");
            prop_assert!(p.is_match(&s));
        }
    }
}
