//! Black-box tests of `switchyard search`, run through the binary.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_switchyard");

/// The real evaluation catalog: 37 MCP servers, 601 tools.
fn real_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../eval/catalog.json")
}

/// Runs `switchyard search` with a data directory of its own, so the default embeddings cache
/// of one run never serves another.
fn search(args: &[&str]) -> Output {
    static RUN: AtomicUsize = AtomicUsize::new(0);
    let data = std::env::temp_dir().join(format!(
        "switchyard-search-data-{}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    ));
    search_with_data(args, &data)
}

fn search_with_data(args: &[&str], data: &Path) -> Output {
    Command::new(BIN)
        .arg("search")
        .args(args)
        .env("XDG_DATA_HOME", data)
        .env_remove("SWITCHYARD_EMBEDDINGS_CACHE")
        .output()
        .expect("switchyard runs")
}

fn stdout_json(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .expect("JSON output")
        .as_array()
        .expect("a JSON array")
        .clone()
}

fn names(results: &[Value]) -> Vec<String> {
    results
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["server"].as_str().unwrap_or(""),
                r["name"].as_str().unwrap_or("")
            )
        })
        .collect()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A catalog file in a fresh temporary directory.
fn temp_catalog(name: &str, catalog: &Value) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-search-test-{}-{name}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("catalog.json");
    std::fs::write(&path, catalog.to_string()).expect("write catalog");
    path
}

fn small_catalog(name: &str) -> PathBuf {
    temp_catalog(
        name,
        &json!({"servers": [
            {"name": "weather", "tools": [
                {"name": "get_forecast", "description": "Weather forecast for a city",
                 "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}]},
            {"name": "files", "tools": [
                {"name": "read_file", "description": "Read a file from disk"},
                {"name": "查找文件", "description": "按名称查找文件"}]}
        ]}),
    )
}

#[test]
fn json_output_is_a_ranked_list_of_server_name_score() {
    let cat = small_catalog("json");
    let out = search(&[
        "will it rain tomorrow in the city",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--output",
        "json",
    ]);
    let results = stdout_json(&out);
    assert_eq!(names(&results), ["weather/get_forecast"]);
    let keys: Vec<&str> = results[0]
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 3);
    assert!(results[0]["score"].as_f64().expect("numeric score") > 0.0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.find("\"server\"") < text.find("\"name\"")
            && text.find("\"name\"") < text.find("\"score\"")
    );
}

#[test]
fn finds_screenshot_tools_in_the_real_catalog() {
    let out = search(&[
        "take a screenshot of the current web page",
        "--catalog",
        real_catalog().to_str().expect("utf8"),
        "--output",
        "json",
    ]);
    let results = stdout_json(&out);
    assert_eq!(results.len(), 5, "--top defaults to 5");
    let found = names(&results);
    assert!(
        found.iter().any(|n| [
            "playwright/browser_take_screenshot",
            "puppeteer/puppeteer_screenshot",
            "chrome-devtools/take_screenshot"
        ]
        .contains(&n.as_str())),
        "{found:?}"
    );
    let scores: Vec<f64> = results.iter().filter_map(|r| r["score"].as_f64()).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "ranked best first: {scores:?}"
    );
}

#[test]
fn top_limits_the_number_of_results() {
    let out = search(&[
        "file",
        "--catalog",
        real_catalog().to_str().expect("utf8"),
        "--output",
        "json",
        "--top",
        "12",
    ]);
    assert_eq!(stdout_json(&out).len(), 12);
    let out = search(&[
        "file",
        "--catalog",
        real_catalog().to_str().expect("utf8"),
        "--top",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = search(&[
        "file",
        "--catalog",
        real_catalog().to_str().expect("utf8"),
        "--top",
        "101",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn regex_mode_uses_python_syntax_and_is_case_sensitive() {
    let cat = real_catalog();
    let cat = cat.to_str().expect("utf8");
    let out = search(&[
        "^git_diff",
        "--mode",
        "regex",
        "--catalog",
        cat,
        "--output",
        "json",
        "--top",
        "10",
    ]);
    let mut found = names(&stdout_json(&out));
    found.sort();
    assert_eq!(
        found,
        [
            "git/git_diff",
            "git/git_diff_staged",
            "git/git_diff_unstaged"
        ]
    );
    let out = search(&[
        "^GIT_DIFF",
        "--mode",
        "regex",
        "--catalog",
        cat,
        "--output",
        "json",
    ]);
    assert!(stdout_json(&out).is_empty());
    let out = search(&[
        "(?i)^GIT_DIFF",
        "--mode",
        "regex",
        "--catalog",
        cat,
        "--output",
        "json",
    ]);
    assert_eq!(stdout_json(&out).len(), 3);
}

#[test]
fn text_output_has_one_line_per_result() {
    let cat = small_catalog("text");
    let out = search(&["read a file", "--catalog", cat.to_str().expect("utf8")]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].ends_with("files/read_file"));
}

#[test]
fn empty_query_is_a_clear_error() {
    let cat = small_catalog("empty");
    for q in ["", "   "] {
        let out = search(&[q, "--catalog", cat.to_str().expect("utf8")]);
        assert_eq!(out.status.code(), Some(2));
        assert!(stderr(&out).contains("query is empty"), "{}", stderr(&out));
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn huge_query_is_a_clear_error() {
    let cat = small_catalog("huge");
    let q = "weather ".repeat(1000);
    let out = search(&[&q, "--catalog", cat.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("longer than the limit of 4096 bytes"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn query_without_words_is_a_clear_error() {
    let cat = small_catalog("symbols");
    let out = search(&["?!… 🚀", "--catalog", cat.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no searchable words"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn non_latin_queries_search_and_succeed() {
    let cat = small_catalog("cjk");
    let out = search(&[
        "查找文件",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--output",
        "json",
    ]);
    assert_eq!(names(&stdout_json(&out))[0], "files/查找文件");
    // No tool shares a word with this query: success, empty list.
    let out = search(&[
        "Прогноз погоды",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--output",
        "json",
    ]);
    assert!(stdout_json(&out).is_empty());
}

#[test]
fn invalid_regex_is_a_clear_error() {
    let cat = small_catalog("badregex");
    let cat = cat.to_str().expect("utf8");
    let out = search(&["(unclosed", "--mode", "regex", "--catalog", cat]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("invalid pattern"), "{}", stderr(&out));
    let out = search(&["foo(?=bar)", "--mode", "regex", "--catalog", cat]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("lookaround"), "{}", stderr(&out));
}

#[test]
fn oversized_regex_is_a_clear_error() {
    let cat = small_catalog("longregex");
    let p = "a".repeat(201);
    let out = search(&[
        &p,
        "--mode",
        "regex",
        "--catalog",
        cat.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("201 characters, longer than the limit of 200"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn missing_or_invalid_catalog_is_a_clear_error() {
    let out = search(&["x", "--catalog", "/nonexistent/catalog.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot open catalog /nonexistent/catalog.json"),
        "{}",
        stderr(&out)
    );
    let bad = temp_catalog(
        "invalid",
        &json!({"servers": [{"name": "s", "tools": [{"description": "no name"}]}]}),
    );
    let out = search(&["x", "--catalog", bad.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("server `s`, tool #0"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn max_catalog_bytes_rejects_oversized_catalog_files() {
    let dir = std::env::temp_dir().join(format!(
        "switchyard-search-test-{}-bigcat",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("catalog.json");
    // One byte past the 64 MiB limit; a sparse file, so this costs no disk.
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(64 * 1024 * 1024 + 1))
        .expect("sparse file");
    let out = search(&["x", "--catalog", path.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("larger than 67108864 bytes"),
        "{}",
        stderr(&out)
    );
    std::fs::remove_file(&path).ok();
}

#[test]
fn hybrid_without_an_endpoint_is_a_clear_error() {
    let cat = small_catalog("hybrid-none");
    let out = Command::new(BIN)
        .args([
            "search",
            "weather",
            "--mode",
            "hybrid",
            "--catalog",
            cat.to_str().expect("utf8"),
        ])
        .env_remove("SWITCHYARD_EMBEDDINGS_URL")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--embeddings-url"),
        "{}",
        stderr(&out)
    );
}

/// Serves `/v1/embeddings` on 127.0.0.1 for `requests` requests: each input is embedded as
/// [1, 0] if it mentions rain or weather, else [0, 1]. Returns the URL.
fn fake_embeddings_server(requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).expect("body");
            let req: Value = serde_json::from_slice(&body).expect("JSON request");
            let data: Vec<Value> = req["input"]
                .as_array()
                .expect("input array")
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let t = t.as_str().unwrap_or("").to_lowercase();
                    let v = if t.contains("rain") || t.contains("weather") {
                        [1.0, 0.0]
                    } else {
                        [0.0, 1.0]
                    };
                    json!({"object": "embedding", "index": i, "embedding": v})
                })
                .collect();
            let resp = json!({"object": "list", "data": data, "model": req["model"]}).to_string();
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{resp}", resp.len());
        }
    });
    format!("http://{addr}/v1/embeddings")
}

#[test]
fn hybrid_fuses_bm25_with_embeddings_from_the_endpoint() {
    let cat = small_catalog("hybrid");
    // One request embeds the catalog's three tools, one the query.
    let url = fake_embeddings_server(2);
    // "rain" shares no word with any tool; only the embeddings can find the forecast.
    let out = search(&[
        "rain",
        "--mode",
        "hybrid",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--output",
        "json",
        "--embeddings-url",
        &url,
        "--embeddings-model",
        "fake",
    ]);
    let results = stdout_json(&out);
    assert_eq!(names(&results)[0], "weather/get_forecast");
}

#[test]
fn hybrid_with_an_unreachable_endpoint_fails_with_the_reason() {
    let cat = small_catalog("hybrid-down");
    // Bind then drop: nothing listens on this loopback port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}/v1/embeddings");
    let out = search(&[
        "weather",
        "--mode",
        "hybrid",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--embeddings-url",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("embedding"), "{}", stderr(&out));
}

#[test]
fn max_embeddings_response_bytes_cuts_off_a_runaway_endpoint() {
    let cat = small_catalog("hybrid-huge");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        if let Some(Ok(mut stream)) = listener.incoming().next() {
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                line.clear();
            }
            // A valid-looking start, then 33 MiB of padding: past the 32 MiB read limit.
            let pad = 33 * 1024 * 1024;
            let head = r#"{"data":[{"index":0,"embedding":[1.0]}],"pad":""#;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{head}",
                head.len() + pad + 2
            );
            let chunk = vec![b' '; 1024 * 1024];
            for _ in 0..33 {
                if stream.write_all(&chunk).is_err() {
                    return;
                }
            }
            let _ = stream.write_all(b"\"}");
        }
    });
    let url = format!("http://{addr}/v1/embeddings");
    let out = search(&[
        "weather",
        "--mode",
        "hybrid",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--embeddings-url",
        &url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("bad embeddings response"),
        "{}",
        stderr(&out)
    );
}

/// What a counting embeddings endpoint has been asked.
#[derive(Default)]
struct Calls {
    requests: AtomicUsize,
    inputs: AtomicUsize,
}

/// An OpenAI-compatible `/v1/embeddings` endpoint on 127.0.0.1 that counts its requests and
/// inputs, answering as [`fake_embeddings_server`] does. It stands in for an embedding model
/// service, which is outside the product.
fn counting_embeddings_server() -> (String, Arc<Calls>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let calls = Arc::new(Calls::default());
    let seen = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let req: Value = serde_json::from_slice(&body).unwrap_or_default();
            let inputs = req["input"].as_array().cloned().unwrap_or_default();
            seen.requests.fetch_add(1, Ordering::SeqCst);
            seen.inputs.fetch_add(inputs.len(), Ordering::SeqCst);
            let data: Vec<Value> = inputs
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let t = t.as_str().unwrap_or("").to_lowercase();
                    let v = if t.contains("rain") || t.contains("weather") {
                        [1.0, 0.0]
                    } else {
                        [0.0, 1.0]
                    };
                    json!({"object": "embedding", "index": i, "embedding": v})
                })
                .collect();
            let resp = json!({"object": "list", "data": data}).to_string();
            let _ = write!(stream, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{resp}", resp.len());
        }
    });
    (format!("http://{addr}/v1/embeddings"), calls)
}

fn hybrid_run(cat: &Path, url: &str, extra: &[&str], data: &Path) -> Vec<String> {
    let mut args = vec![
        "rain",
        "--mode",
        "hybrid",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--output",
        "json",
        "--embeddings-url",
        url,
    ];
    args.extend_from_slice(extra);
    names(&stdout_json(&search_with_data(&args, data)))
}

/// Texts embedded since the last call (the query is one of them on every run).
fn embedded_since(calls: &Calls, last: &mut usize) -> usize {
    let now = calls.inputs.load(Ordering::SeqCst);
    let n = now - *last;
    *last = now;
    n
}

#[test]
fn embeddings_cached_in_the_store_spare_the_endpoint_on_the_next_run() {
    let cat = small_catalog("store-cache");
    let db = cat.with_file_name("vectors.db");
    std::fs::remove_file(&db).ok();
    let data = cat.with_file_name("data");
    let (url, calls) = counting_embeddings_server();
    let cache = ["--embeddings-cache", db.to_str().expect("utf8")];
    let mut last = 0;

    // First build: the three tools and the query.
    let hits = hybrid_run(&cat, &url, &cache, &data);
    assert_eq!(hits[0], "weather/get_forecast");
    assert_eq!(embedded_since(&calls, &mut last), 3 + 1);
    // Second build over unchanged tools: only the query is embedded.
    let requests = calls.requests.load(Ordering::SeqCst);
    let hits = hybrid_run(&cat, &url, &cache, &data);
    assert_eq!(hits[0], "weather/get_forecast");
    assert_eq!(embedded_since(&calls, &mut last), 1);
    assert_eq!(calls.requests.load(Ordering::SeqCst), requests + 1);

    // One tool changes: only it (and the query) is embedded again.
    std::fs::write(
        &cat,
        json!({"servers": [
            {"name": "weather", "tools": [
                {"name": "get_forecast", "description": "Weather forecast for a city, hourly",
                 "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}}}]},
            {"name": "files", "tools": [
                {"name": "read_file", "description": "Read a file from disk"},
                {"name": "查找文件", "description": "按名称查找文件"}]}
        ]})
        .to_string(),
    )
    .expect("rewrite catalog");
    hybrid_run(&cat, &url, &cache, &data);
    assert_eq!(embedded_since(&calls, &mut last), 1 + 1);

    // Without a cache everything is embedded every time.
    hybrid_run(&cat, &url, &["--no-embeddings-cache"], &data);
    assert_eq!(embedded_since(&calls, &mut last), 3 + 1);
    assert!(!data.join("switchyard").join("search.db").exists());
}

#[test]
fn the_default_embeddings_cache_is_search_db_in_the_data_directory() {
    let cat = small_catalog("default-cache");
    let data = cat.with_file_name("data");
    std::fs::remove_dir_all(&data).ok();
    let (url, calls) = counting_embeddings_server();
    let mut last = 0;
    hybrid_run(&cat, &url, &[], &data);
    assert_eq!(embedded_since(&calls, &mut last), 3 + 1);
    assert!(data.join("switchyard").join("search.db").exists());
    hybrid_run(&cat, &url, &[], &data);
    assert_eq!(embedded_since(&calls, &mut last), 1);
}

#[test]
fn an_embeddings_cache_that_is_not_a_database_is_a_clear_error() {
    let cat = small_catalog("cache-corrupt");
    let cache = cat.with_file_name("vectors.bin");
    std::fs::write(&cache, vec![0x5a; 4096]).expect("write");
    let out = search(&[
        "rain",
        "--mode",
        "hybrid",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--embeddings-url",
        "http://127.0.0.1:9/v1/embeddings",
        "--embeddings-cache",
        cache.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot use the embeddings cache"),
        "{}",
        stderr(&out)
    );
}

/// `switchyard serve` with the built-in demo server and no authorization, stopped on drop.
struct Served(std::process::Child, String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve_demo(extra: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env(
            "XDG_DATA_HOME",
            std::env::temp_dir().join(format!("switchyard-search-serve-{}", std::process::id())),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("switchyard serve starts");
    let mut r = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    while r.read_line(&mut line).unwrap_or(0) > 0 && !line.contains("serving MCP at") {
        line.clear();
    }
    // Keep draining stderr: a closed pipe would fail the server's later messages.
    std::thread::spawn(move || std::io::copy(&mut r, &mut std::io::sink()));
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_owned();
    Served(child, url)
}

#[test]
fn url_mode_searches_the_tools_of_live_servers() {
    let a = serve_demo(&["--danger-no-auth"]);
    let b = serve_demo(&["--danger-no-auth"]);
    let out = search(&[
        "sum of two numbers",
        "--url",
        &a.1,
        "--url",
        &b.1,
        "--output",
        "json",
        "--top",
        "2",
    ]);
    let results = stdout_json(&out);
    // The demo server's `add` tool, from each server, each server named by its URL.
    assert_eq!(
        names(&results),
        [format!("{}/add", a.1), format!("{}/add", b.1)]
    );
    let out = search(&[
        "^current_",
        "--mode",
        "regex",
        "--url",
        &a.1,
        "--output",
        "json",
    ]);
    assert_eq!(names(&stdout_json(&out)), [format!("{}/current_time", a.1)]);
}

#[test]
fn url_mode_text_output_and_bad_queries_match_catalog_mode() {
    let a = serve_demo(&["--danger-no-auth"]);
    let out = search(&["echo text back", "--url", &a.1]);
    assert!(out.status.success(), "{}", stderr(&out));
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    assert!(first.ends_with(&format!("{}/echo", a.1)), "{first}");
    let out = search(&["", "--url", &a.1]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("query is empty"), "{}", stderr(&out));
}

#[test]
fn url_mode_reports_an_unreachable_server_by_its_url() {
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let out = search(&["anything", "--url", &url]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains(&url), "{}", stderr(&out));
}

/// Answers every request with 401 and hands the first request's header lines to the test.
fn refusing_server() -> (String, std::sync::mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line.to_ascii_lowercase());
            }
            let _ = tx.send(head);
            let _ = write!(
                stream,
                "HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (format!("http://{addr}/mcp"), rx)
}

#[test]
fn url_mode_sends_the_token_and_headers_and_reports_a_refusal() {
    let (url, heads) = refusing_server();
    let out = search(&[
        "anything",
        "--url",
        &url,
        "--token",
        "tok-123",
        "--header",
        "X-Team: blue",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let head = heads.recv().expect("the server saw a request");
    assert!(head.contains("authorization: bearer tok-123"), "{head}");
    assert!(head.contains("x-team: blue"), "{head}");
    let out = search(&["anything", "--url", &url, "--header", "no colon here"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("Name: value"), "{}", stderr(&out));
}

#[test]
fn catalog_and_url_are_alternatives() {
    let cat = small_catalog("alternatives");
    let both = search(&[
        "x",
        "--catalog",
        cat.to_str().expect("utf8"),
        "--url",
        "http://127.0.0.1:1/mcp",
    ]);
    assert_eq!(both.status.code(), Some(2));
    let neither = search(&["x"]);
    assert_eq!(neither.status.code(), Some(2));
    assert!(
        stderr(&neither).contains("--catalog"),
        "{}",
        stderr(&neither)
    );
}

#[test]
fn serve_with_gateway_tool_search_lists_the_search_tools_and_finds_upstream_tools() {
    let upstream = serve_demo(&["--danger-no-auth"]);
    let dir = std::env::temp_dir().join(format!("switchyard-ts-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("switchyard.toml");
    std::fs::write(
        &config,
        format!(
            "[gateway]\ntool_search = {{ enabled = true, pinned = [\"demo__echo\"], top_k = 3 }}\n\n\
             [[upstreams]]\nname = \"demo\"\nurl = \"{}\"\n",
            upstream.1
        ),
    )
    .expect("write config");
    let gw = serve_demo(&[
        "--danger-no-auth",
        "--config",
        config.to_str().expect("utf8"),
    ]);
    let tools = Command::new(BIN)
        .args(["tools", &gw.1, "--output", "json"])
        .env("SWITCHYARD_DATA_DIR", &dir)
        .output()
        .expect("switchyard tools runs");
    assert!(tools.status.success(), "{}", stderr(&tools));
    let listed: Vec<Value> = serde_json::from_slice(&tools.stdout).expect("JSON");
    let listed: Vec<&str> = listed.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(listed, ["search_tools", "call_tool", "demo__echo"]);
    let found = Command::new(BIN)
        .args([
            "call",
            &gw.1,
            "search_tools",
            "query=add two numbers",
            "--output",
            "json",
        ])
        .env("SWITCHYARD_DATA_DIR", &dir)
        .output()
        .expect("switchyard call runs");
    assert!(found.status.success(), "{}", stderr(&found));
    let r: Value = serde_json::from_slice(&found.stdout).expect("JSON");
    assert_eq!(
        r["structuredContent"]["tools"][0]["name"], "demo__add",
        "{r}"
    );
}
