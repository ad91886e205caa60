//! Relevance evaluation: Recall@1/@5/@10 and MRR@10 of regex, BM25F and hybrid search on the
//! evaluation set under `eval/`, printed as a markdown table.
//!
//! ```text
//! cargo run --release -p switchyard-search --example eval -- \
//!     [--catalog eval/catalog.json] [--queries eval/queries.jsonl] \
//!     [--embeddings-url http://127.0.0.1:8975/v1/embeddings] [--embeddings-model all-MiniLM-L6-v2] \
//!     [--misses]
//! ```
//!
//! A query counts as found at k when any of its labelled tools is in the top k ("Recall@k" is
//! the fraction of queries found). Regex mode needs a pattern, not a sentence: each query is
//! turned into `(?i)(?:w1|w2|…)` of its words that are not stop words (3+ letters), which is
//! the simplest pattern a model would write for it.
//!
//! Hybrid mode talks to an OpenAI-compatible embeddings endpoint over plain HTTP on the
//! loopback (see `eval/embed_server.py`); this example carries its own tiny HTTP client so the
//! library stays free of I/O.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{json, Value};
use switchyard_search::{
    is_stop_word, Bm25Config, Catalog, DocVectors, EmbedError, Embedder, Hit, Index,
    MemoryVectorCache, SearchError,
};

struct Query {
    text: String,
    relevant: Vec<(String, String)>,
}

#[derive(Default)]
struct Metrics {
    r1: f64,
    r5: f64,
    r10: f64,
    mrr: f64,
    n: usize,
}

impl Metrics {
    fn add(&mut self, rank: Option<usize>) {
        self.n += 1;
        if let Some(r) = rank {
            self.r1 += f64::from(u8::from(r <= 1));
            self.r5 += f64::from(u8::from(r <= 5));
            self.r10 += f64::from(u8::from(r <= 10));
            self.mrr += 1.0 / r as f64;
        }
    }
    fn row(&self, name: &str) -> String {
        let n = self.n.max(1) as f64;
        format!(
            "| {name} | {:.3} | {:.3} | {:.3} | {:.3} |",
            self.r1 / n,
            self.r5 / n,
            self.r10 / n,
            self.mrr / n
        )
    }
}

fn first_relevant(hits: &[Hit<'_>], q: &Query) -> Option<usize> {
    hits.iter()
        .take(10)
        .position(|h| q.relevant.iter().any(|(s, t)| s == h.server && t == h.name))
        .map(|p| p + 1)
}

/// The regex a model would write for a task: its content words, any of them, any case.
fn query_regex(text: &str) -> String {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 3 && !is_stop_word(w))
        .map(|w| regex_escape(&w))
        .collect();
    format!("(?i)(?:{})", words.join("|"))
}

fn regex_escape(w: &str) -> String {
    w.chars().fold(String::new(), |mut s, c| {
        if !c.is_alphanumeric() {
            s.push('\\');
        }
        s.push(c);
        s
    })
}

/// Minimal blocking HTTP/1.1 client for `http://host:port/path` embeddings endpoints.
struct HttpEmbedder {
    host_port: String,
    path: String,
    model: String,
}

impl HttpEmbedder {
    fn new(url: &str, model: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or("only http:// URLs in this example")?;
        let (host_port, path) = rest.split_once('/').unwrap_or((rest, ""));
        Ok(Self {
            host_port: host_port.into(),
            path: format!("/{path}"),
            model: model.into(),
        })
    }
}

impl Embedder for HttpEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn embed(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let unavailable = |e: std::io::Error| EmbedError::Unavailable(e.to_string());
        let body = json!({"model": self.model, "input": inputs}).to_string();
        let mut s = TcpStream::connect(&self.host_port).map_err(unavailable)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))
            .map_err(unavailable)?;
        write!(
            s,
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
            self.path, self.host_port, body.len(), body
        )
        .map_err(unavailable)?;
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).map_err(unavailable)?;
        let text = String::from_utf8_lossy(&raw);
        let (head, body) = text
            .split_once("\r\n\r\n")
            .ok_or_else(|| EmbedError::BadResponse("no HTTP header end".into()))?;
        if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
            return Err(EmbedError::Unavailable(
                head.lines().next().unwrap_or("").into(),
            ));
        }
        let v: Value =
            serde_json::from_str(body).map_err(|e| EmbedError::BadResponse(e.to_string()))?;
        let data = v["data"]
            .as_array()
            .ok_or_else(|| EmbedError::BadResponse("no data".into()))?;
        let mut out = vec![Vec::new(); data.len()];
        for item in data {
            let i = item["index"].as_u64().unwrap_or(0) as usize;
            let vec = item["embedding"]
                .as_array()
                .ok_or_else(|| EmbedError::BadResponse("no embedding".into()))?
                .iter()
                .map(|x| x.as_f64().unwrap_or(0.0) as f32)
                .collect();
            if let Some(slot) = out.get_mut(i) {
                *slot = vec;
            }
        }
        Ok(out)
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../eval");
    let catalog_path = arg(&args, "--catalog").unwrap_or(format!("{root}/catalog.json"));
    let queries_path = arg(&args, "--queries").unwrap_or(format!("{root}/queries.jsonl"));
    let misses = args.iter().any(|a| a == "--misses");

    let catalog = Catalog::from_json(&std::fs::read_to_string(&catalog_path)?)?;
    let mut config = Bm25Config::default();
    let num = |name: &str| arg(&args, name).and_then(|v| v.parse::<f32>().ok());
    if let Some(v) = num("--k1") {
        config.k1 = v;
    }
    if let Some(v) = num("--expansion") {
        config.expansion_weight = v;
    }
    for (flag, field) in [
        ("--w-name", &mut config.name),
        ("--w-title", &mut config.title),
        ("--w-desc", &mut config.description),
        ("--w-pname", &mut config.param_names),
        ("--w-pdesc", &mut config.param_descriptions),
        ("--w-server", &mut config.server),
    ] {
        if let Some(v) = arg(&args, flag).and_then(|v| v.parse::<f32>().ok()) {
            field.weight = v;
        }
    }
    let mut index = Index::with_config(config);
    for doc in catalog.tool_docs()? {
        index.add(doc)?;
    }
    let mut queries = Vec::new();
    for line in std::fs::read_to_string(&queries_path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: Value = serde_json::from_str(line)?;
        let relevant: Vec<(String, String)> = v["relevant"]
            .as_array()
            .ok_or("query without relevant")?
            .iter()
            .filter_map(|p| Some((p[0].as_str()?.to_owned(), p[1].as_str()?.to_owned())))
            .collect();
        for (s, t) in &relevant {
            if index.id_of(s, t).is_none() {
                return Err(format!("label {s}/{t} is not in the catalog").into());
            }
        }
        queries.push(Query {
            text: v["query"].as_str().ok_or("query without text")?.into(),
            relevant,
        });
    }
    println!(
        "Catalog: {} servers, {} tools. Queries: {}.\n",
        catalog.servers.len(),
        index.len(),
        queries.len()
    );

    let mut rows = Vec::new();
    let mut regex = Metrics::default();
    for q in &queries {
        let hits = index
            .search_regex(&query_regex(&q.text), 10)
            .unwrap_or_default();
        regex.add(first_relevant(&hits, q));
    }
    rows.push(regex.row("regex (`(?i)` alternation of query words)"));

    let mut bm25 = Metrics::default();
    for q in &queries {
        let hits = match index.search(&q.text, 10) {
            Ok(h) => h,
            Err(SearchError::NoSearchableTerms) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let rank = first_relevant(&hits, q);
        if misses && rank.is_none_or(|r| r > 5) {
            let top: Vec<String> = hits
                .iter()
                .take(5)
                .map(|h| format!("{}/{}", h.server, h.name))
                .collect();
            eprintln!(
                "bm25 miss: {:?} rank {:?}; top: {}",
                q.text,
                rank,
                top.join(", ")
            );
        }
        bm25.add(rank);
    }
    rows.push(bm25.row("BM25F (switchyard-search)"));

    if let Some(url) = arg(&args, "--embeddings-url") {
        let model = arg(&args, "--embeddings-model").unwrap_or("all-MiniLM-L6-v2".into());
        let embedder = HttpEmbedder::new(&url, &model)?;
        let mut vectors = DocVectors::new();
        let sent = vectors.sync(&index, &embedder, &mut MemoryVectorCache::default())?;
        eprintln!("embedded {sent} tool texts");
        let mut hybrid = Metrics::default();
        let mut dense = Metrics::default();
        for q in &queries {
            let hits = index.search_hybrid(&q.text, &vectors, &embedder, 10)?;
            let rank = first_relevant(&hits, q);
            if misses && rank.is_none_or(|r| r > 5) {
                let top: Vec<String> = hits
                    .iter()
                    .take(5)
                    .map(|h| format!("{}/{}", h.server, h.name))
                    .collect();
                eprintln!(
                    "hybrid miss: {:?} rank {:?}; top: {}",
                    q.text,
                    rank,
                    top.join(", ")
                );
            }
            hybrid.add(rank);
            let qv = embedder
                .embed(&[q.text.as_str()])?
                .pop()
                .unwrap_or_default();
            let ranked = vectors.rank(&qv, 10)?;
            let hits: Vec<Hit<'_>> = ranked
                .into_iter()
                .filter_map(|(id, score)| {
                    let (server, name) = index.tool(id)?;
                    Some(Hit {
                        id,
                        server,
                        name,
                        score,
                    })
                })
                .collect();
            dense.add(first_relevant(&hits, q));
        }
        rows.push(dense.row(&format!("embeddings only ({model})")));
        rows.push(hybrid.row(&format!("hybrid: BM25F + {model}, RRF k=60")));
    }

    println!("| mode | Recall@1 | Recall@5 | Recall@10 | MRR@10 |");
    println!("|---|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    Ok(())
}
