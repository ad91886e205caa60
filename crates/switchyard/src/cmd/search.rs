//! `switchyard search`: rank the tools of a catalog file, or of live MCP servers, for a query,
//! by BM25F, by Python-syntax regex, or by BM25F fused with embeddings from an
//! OpenAI-compatible `/v1/embeddings` endpoint.

use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use serde_json::{json, Value};
use switchyard_search::limits::MAX_RESULTS;
use switchyard_search::{
    Catalog, CatalogServer, DocVectors, EmbedError, Embedder, Hit, Index, MemoryVectorCache,
    SearchError, VectorCache, VectorKey,
};

/// Largest catalog file read, in bytes. 10,000 tools with rich schemas take about 20 MB;
/// 64 MiB leaves room and stops an accidental multi-gigabyte file before it is read.
const MAX_CATALOG_BYTES: u64 = 64 * 1024 * 1024;

/// Largest embeddings response read, in bytes: 64 inputs × 3,072 dimensions as JSON text is
/// about 4 MB; 32 MiB bounds a misbehaving endpoint.
const MAX_EMBEDDINGS_RESPONSE_BYTES: u64 = 32 * 1024 * 1024;

/// Time allowed for one embeddings request.
const EMBEDDINGS_TIMEOUT: Duration = Duration::from_secs(60);

/// Largest embeddings cache file read, in bytes: 10,000 tools × 3,072 dimensions × 4 bytes is
/// 123 MB; 512 MiB bounds a wrong path pointing at some huge file.
const MAX_EMBEDDINGS_CACHE_BYTES: u64 = 512 * 1024 * 1024;

/// First bytes of an embeddings cache file (format version 1).
const CACHE_MAGIC: &[u8; 8] = b"SYVCACH1";

/// Exit code for a query, pattern or catalog that cannot be searched.
const EXIT_BAD_INPUT: u8 = 2;

/// How results are ranked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    /// BM25F over names, titles, descriptions, parameters, annotations and server names.
    Bm25,
    /// Python `re.search` syntax, as the Claude API's regex tool search (max 200 characters).
    Regex,
    /// BM25F fused with embedding similarity (needs --embeddings-url).
    Hybrid,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Output {
    /// One line per result: rank, score, server/tool.
    Text,
    /// A JSON array of {"server", "name", "score"}, best first.
    Json,
}

/// Arguments of `switchyard search`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Catalog file: {\"servers\": [{\"name\": \"…\", \"tools\": [<MCP Tool \
objects as tools/list returns them>]}]}. With --url, each server's tools/list is searched and \
the server is named by its URL.\n\
Exit status: 0 success (also with no results), 2 a query, pattern or catalog that cannot be \
searched (the reason is on stderr), 3 a server that cannot be reached, 4 a server that refuses \
the credentials, 7 a server that does not answer in time, 1 any other failure."
)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["catalog", "url"])))]
pub(crate) struct Args {
    /// The query: a task in words (bm25, hybrid) or a Python-syntax regex (regex).
    query: String,
    /// Catalog file of servers and their tools.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
    /// MCP server to list tools from (repeatable; Streamable HTTP or HTTP+SSE).
    #[arg(long, value_name = "URL")]
    url: Vec<String>,
    /// Extra HTTP header for the --url servers, `Name: value` (repeatable).
    #[arg(
        long = "header",
        short = 'H',
        value_name = "NAME: VALUE",
        requires = "url"
    )]
    headers: Vec<String>,
    /// Bearer token for the --url servers.
    #[arg(long, env = "SWITCHYARD_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Per-request timeout for the --url servers, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    timeout: u64,
    /// Ranking mode.
    #[arg(long, value_enum, default_value_t = Mode::Bm25)]
    mode: Mode,
    /// Number of results (1–100).
    #[arg(long, value_name = "N", default_value_t = 5,
          value_parser = clap::value_parser!(u16).range(1..=MAX_RESULTS as i64))]
    top: u16,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// OpenAI-compatible embeddings endpoint for --mode hybrid,
    /// e.g. https://api.openai.com/v1/embeddings.
    #[arg(long, value_name = "URL", env = "SWITCHYARD_EMBEDDINGS_URL")]
    embeddings_url: Option<String>,
    /// Embedding model name sent to the endpoint.
    #[arg(
        long,
        value_name = "NAME",
        env = "SWITCHYARD_EMBEDDINGS_MODEL",
        default_value = "text-embedding-3-small"
    )]
    embeddings_model: String,
    /// Bearer token for the embeddings endpoint.
    #[arg(
        long,
        value_name = "KEY",
        env = "SWITCHYARD_EMBEDDINGS_API_KEY",
        hide_env_values = true
    )]
    embeddings_api_key: Option<String>,
    /// File that keeps tool embeddings between runs (created if missing), so only new or
    /// changed tools are sent to the endpoint.
    #[arg(long, value_name = "FILE", env = "SWITCHYARD_EMBEDDINGS_CACHE")]
    embeddings_cache: Option<PathBuf>,
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let loaded = match &args.catalog {
        Some(path) => load(path),
        None => match live_catalog(&args) {
            Ok(catalog) => docs_index(&catalog),
            Err(code) => return Ok(code),
        },
    };
    let index = match loaded {
        Ok(index) => index,
        Err(e) => return bad_input(&e),
    };
    let top = usize::from(args.top);
    let (embedder, vectors);
    let hits = match args.mode {
        Mode::Bm25 => index.search(&args.query, top),
        Mode::Regex => index.search_regex(&args.query, top),
        Mode::Hybrid => {
            let Some(url) = &args.embeddings_url else {
                return bad_input(&anyhow::anyhow!(
                    "--mode hybrid needs an embeddings endpoint: set --embeddings-url or \
                     SWITCHYARD_EMBEDDINGS_URL"
                ));
            };
            embedder =
                HttpEmbedder::new(url, &args.embeddings_model, args.embeddings_api_key.clone())?;
            let mut v = DocVectors::new();
            // Vectors persist in --embeddings-cache until the store crate keeps them.
            match &args.embeddings_cache {
                Some(path) => {
                    let mut cache = match FileVectorCache::load(path) {
                        Ok(cache) => cache,
                        Err(e) => return bad_input(&e),
                    };
                    v.sync(&index, &embedder, &mut cache)
                        .context("embedding the catalog")?;
                    cache.save()?;
                }
                None => {
                    v.sync(&index, &embedder, &mut MemoryVectorCache::default())
                        .context("embedding the catalog")?;
                }
            }
            vectors = v;
            index.search_hybrid(&args.query, &vectors, &embedder, top)
        }
    };
    let hits = match hits {
        Ok(hits) => hits,
        Err(e @ SearchError::Embedding(_)) => return Err(e).context("embedding the query"),
        Err(e) => return bad_input(&e.into()),
    };
    match print(&hits, args.output) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}

fn bad_input(e: &anyhow::Error) -> anyhow::Result<ExitCode> {
    eprintln!("error: {e:#}");
    Ok(ExitCode::from(EXIT_BAD_INPUT))
}

fn load(path: &std::path::Path) -> anyhow::Result<Index> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open catalog {}", path.display()))?;
    let mut text = String::new();
    file.take(MAX_CATALOG_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read catalog {}", path.display()))?;
    if text.len() as u64 > MAX_CATALOG_BYTES {
        anyhow::bail!(
            "catalog {} is larger than {MAX_CATALOG_BYTES} bytes",
            path.display()
        );
    }
    let catalog =
        Catalog::from_json(&text).with_context(|| format!("catalog {}", path.display()))?;
    docs_index(&catalog).with_context(|| format!("catalog {}", path.display()))
}

fn docs_index(catalog: &Catalog) -> anyhow::Result<Index> {
    Ok(Index::from_docs(catalog.tool_docs()?)?)
}

/// Lists the tools of every `--url` server into a catalog, each server named by its URL.
/// A server that cannot be listed ends the command with the client commands' exit codes.
fn live_catalog(args: &Args) -> Result<Catalog, ExitCode> {
    use crate::cmd::client::exit;
    use switchyard_client::{Client, ClientError, ClientOptions, StaticToken};

    let fail = |code: u8, msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(code)
    };
    let mut headers = Vec::new();
    for h in &args.headers {
        let Some((k, v)) = h.split_once(':') else {
            return Err(fail(
                exit::USAGE,
                format!("--header {h:?} is not `Name: value`"),
            ));
        };
        headers.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    let opts = ClientOptions {
        request_timeout: Duration::from_secs(args.timeout),
        headers,
        auth: args.token.as_ref().map(|t| {
            std::sync::Arc::new(StaticToken(t.clone()))
                as std::sync::Arc<dyn switchyard_client::AuthProvider>
        }),
        ..ClientOptions::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(1, format!("starting the runtime: {e}")))?;
    // The runtime ends here, before any blocking embeddings request is made.
    rt.block_on(async {
        let mut servers = Vec::new();
        for url in &args.url {
            let listed = match Client::connect_http(url, opts.clone()).await {
                Ok(client) => {
                    let r = client.list_tools().await;
                    client.close().await;
                    r
                }
                Err(e) => Err(e),
            };
            let tools = listed.map_err(|e| {
                let code = match e {
                    ClientError::Unauthorized { .. } | ClientError::Auth(_) => exit::AUTH,
                    ClientError::Timeout(_) => exit::TIMEOUT,
                    ClientError::Usage(_) => exit::USAGE,
                    _ => exit::CONNECT,
                };
                fail(code, format!("{url}: {e}"))
            })?;
            servers.push(CatalogServer {
                name: url.clone(),
                tools,
            });
        }
        Ok(Catalog { servers })
    })
}

fn print(hits: &[Hit<'_>], output: Output) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    match output {
        Output::Json => {
            // Written by hand to keep the documented key order: server, name, score.
            writeln!(out, "[")?;
            for (i, h) in hits.iter().enumerate() {
                let sep = if i + 1 < hits.len() { "," } else { "" };
                writeln!(
                    out,
                    "  {{\"server\": {}, \"name\": {}, \"score\": {}}}{sep}",
                    Value::from(h.server),
                    Value::from(h.name),
                    Value::from(h.score)
                )?;
            }
            writeln!(out, "]")?;
        }
        Output::Text => {
            for (rank, h) in hits.iter().enumerate() {
                writeln!(
                    out,
                    "{:>3}  {:>8.3}  {}/{}",
                    rank + 1,
                    h.score,
                    h.server,
                    h.name
                )?;
            }
        }
    }
    out.flush()
}

/// A [`VectorCache`] kept in a file: the magic bytes, then records of a 32-byte key, a
/// little-endian `u32` dimension count and that many little-endian `f32`s.
struct FileVectorCache {
    path: PathBuf,
    map: std::collections::HashMap<VectorKey, std::sync::Arc<[f32]>>,
    dirty: bool,
}

impl FileVectorCache {
    fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let mut cache = Self {
            path: path.to_owned(),
            map: Default::default(),
            dirty: false,
        };
        let bytes = match std::fs::metadata(path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(cache),
            Err(e) => {
                return Err(e).with_context(|| format!("embeddings cache {}", path.display()))
            }
            Ok(m) if m.len() > MAX_EMBEDDINGS_CACHE_BYTES => anyhow::bail!(
                "embeddings cache {} is larger than {MAX_EMBEDDINGS_CACHE_BYTES} bytes",
                path.display()
            ),
            Ok(_) => std::fs::read(path)
                .with_context(|| format!("cannot read embeddings cache {}", path.display()))?,
        };
        let corrupt =
            || anyhow::anyhow!("embeddings cache {} is corrupt; delete it", path.display());
        let mut rest = bytes
            .strip_prefix(CACHE_MAGIC.as_slice())
            .ok_or_else(corrupt)?;
        while !rest.is_empty() {
            let (key, tail) = rest.split_first_chunk::<32>().ok_or_else(corrupt)?;
            let (dims, tail) = tail.split_first_chunk::<4>().ok_or_else(corrupt)?;
            let n = u32::from_le_bytes(*dims) as usize;
            let len = n
                .checked_mul(4)
                .filter(|&l| l <= tail.len())
                .ok_or_else(corrupt)?;
            let (raw, tail) = tail.split_at(len);
            let v: Vec<f32> = raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            cache.map.insert(VectorKey(*key), v.into());
            rest = tail;
        }
        Ok(cache)
    }

    /// Writes the cache if it changed: to a temporary file, then renamed over the old one.
    fn save(&self) -> anyhow::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut out = CACHE_MAGIC.to_vec();
        for (key, v) in &self.map {
            out.extend_from_slice(&key.0);
            out.extend_from_slice(&(v.len() as u32).to_le_bytes());
            v.iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes()));
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, &out)
            .and_then(|()| std::fs::rename(&tmp, &self.path))
            .with_context(|| format!("cannot write embeddings cache {}", self.path.display()))
    }
}

impl VectorCache for FileVectorCache {
    fn get(&self, key: &VectorKey) -> Option<std::sync::Arc<[f32]>> {
        self.map.get(key).cloned()
    }
    fn put(&mut self, key: VectorKey, vector: std::sync::Arc<[f32]>) {
        self.map.insert(key, vector);
        self.dirty = true;
    }
}

/// [`Embedder`] over an OpenAI-compatible `POST /v1/embeddings` endpoint.
struct HttpEmbedder {
    client: reqwest::blocking::Client,
    url: String,
    model: String,
    api_key: Option<String>,
}

impl HttpEmbedder {
    fn new(url: &str, model: &str, api_key: Option<String>) -> anyhow::Result<Self> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            anyhow::bail!("--embeddings-url must be an http:// or https:// URL, not {url:?}");
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(EMBEDDINGS_TIMEOUT)
            .build()
            .context("building the HTTP client")?;
        Ok(Self {
            client,
            url: url.to_owned(),
            model: model.to_owned(),
            api_key,
        })
    }
}

impl Embedder for HttpEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn embed(&self, inputs: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let body = json!({"model": self.model, "input": inputs}).to_string();
        let mut req = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &self.api_key {
            req = req.bearer_auth(key);
        }
        let resp = req
            .send()
            .map_err(|e| EmbedError::Unavailable(format!("{}: {e}", self.url)))?;
        let status = resp.status();
        let mut text = String::new();
        resp.take(MAX_EMBEDDINGS_RESPONSE_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| EmbedError::Unavailable(e.to_string()))?;
        if !status.is_success() {
            let snippet: String = text.chars().take(200).collect();
            return Err(EmbedError::Unavailable(format!(
                "{} answered {status}: {snippet}",
                self.url
            )));
        }
        parse_embeddings(&text, inputs.len())
    }
}

/// Reads `{"data": [{"index": i, "embedding": [..]}, ..]}` into vectors in input order.
fn parse_embeddings(text: &str, expected: usize) -> Result<Vec<Vec<f32>>, EmbedError> {
    let bad = |m: &str| EmbedError::BadResponse(m.to_owned());
    let v: Value = serde_json::from_str(text).map_err(|e| bad(&e.to_string()))?;
    let data = v
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no `data` array"))?;
    let mut out: Vec<Option<Vec<f32>>> = vec![None; expected];
    for (pos, item) in data.iter().enumerate() {
        let index = item
            .get("index")
            .and_then(Value::as_u64)
            .map_or(pos, |i| i as usize);
        let vector = item
            .get("embedding")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("item without an `embedding` array"))?
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|f| f as f32)
                    .ok_or_else(|| bad("non-numeric embedding"))
            })
            .collect::<Result<Vec<f32>, _>>()?;
        let slot = out
            .get_mut(index)
            .ok_or_else(|| bad("embedding index out of range"))?;
        *slot = Some(vector);
    }
    out.into_iter()
        .map(|v| v.ok_or_else(|| bad("fewer embeddings than inputs")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embeddings_come_back_in_input_order() {
        let text = r#"{"data":[{"index":1,"embedding":[2.0]},{"index":0,"embedding":[1.0]}]}"#;
        assert_eq!(parse_embeddings(text, 2), Ok(vec![vec![1.0], vec![2.0]]));
    }

    #[test]
    fn short_or_malformed_embeddings_are_errors() {
        assert!(parse_embeddings(r#"{"data":[{"index":0,"embedding":[1.0]}]}"#, 2).is_err());
        assert!(parse_embeddings(r#"{"data":[{"index":5,"embedding":[1.0]}]}"#, 1).is_err());
        assert!(parse_embeddings(r#"{"data":[{"embedding":["x"]}]}"#, 1).is_err());
        assert!(parse_embeddings("not json", 1).is_err());
    }

    #[test]
    fn max_catalog_bytes_is_above_a_full_10k_catalog() {
        // 10,000 tools at the real catalog's average of ~1.9 KB each.
        const { assert!(MAX_CATALOG_BYTES > 10_000 * 1_900) };
    }
}
